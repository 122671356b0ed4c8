"""`verify_archive`: check a data folder's WARC files and what points into them.

Layout: `DATA/warc/*.warc.gz` (finished), `DATA/warc/*.warc.gz.open` (being
written or left by a crash), `DATA/items/*.jsonl` (one item per line, each with
a `warc` reference, as do its images and attachments), `DATA/warc/CRAWL.sha256`
(a crawl's digest list, where it was attested), and the catalogue (given by
the caller, if any).  Whatever says a WARC file or record exists is held to
it: a file a digest list or the catalogue names must be there with the same
bytes, each capture the catalogue holds must be the record at its offset,
and each revisit's original must be archived.

Everything is streamed.  Memory grows only with the number of metadata
records (their links are kept to match items against), with the number of
captures in one crawl (to check that each metadata record refers to one of
its crawl's responses) and, per file, with its number of records, never with
payload sizes.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable

from archive.warc.errors import ArchiveNotFoundError, WarcFormatError
from archive.warc.reader import WarcHead, read_member_at
from archive.warc.recovery import CORRUPT_SUFFIX, OPEN_SUFFIX
from archive.warc.scan import FileScan, scan_file

Progress = Callable[[str, int, int], None]  # (file relative to data dir, number, total)
REF_KEYS = ("file", "offset", "length", "record_id", "payload_digest")
CAPTURE_TYPES = ("response", "revisit")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong: `file` is relative to the data folder; `offset` (WARC) or `line` (JSONL)."""

    file: str
    message: str
    offset: int | None = None
    line: int | None = None

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.file}:{self.line}: {self.message}"
        if self.offset is not None:
            return f"{self.file} @{self.offset}: {self.message}"
        return f"{self.file}: {self.message}"


@dataclass
class Report:
    """What `verify_archive` checked and the problems it found; `ok` when none."""

    data_dir: Path | str  # or a store's URL (archive.storage.verify)
    files: int = 0
    records: Counter[str] = field(default_factory=Counter)
    items_checked: int = 0
    refs_checked: int = 0
    set_aside: list[str] = field(default_factory=list)  # `.corrupt` files kept by recovery
    notes: list[str] = field(default_factory=list)  # worth knowing, not wrong (verify --store: files still coming)
    catalogue: str | None = None  # the catalogue checked against the files, if any
    digest_lists: int = 0  # crawls' digest lists checked
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        kinds = ", ".join(f"{n} {t}" for t, n in sorted(self.records.items()))
        verdict = "OK" if self.ok else f"{len(self.problems)} problem(s)"
        against = (["the catalogue"] if self.catalogue else []) + (
            [f"{self.digest_lists} digest list(s)"] if self.digest_lists else [])
        checked = f", checked against {' and '.join(against)}" if against else ""
        return (f"{self.files} WARC files, {sum(self.records.values())} records ({kinds or 'none'}), "
                f"{self.items_checked} items, {self.refs_checked} references{checked}"
                f"{'' if self.catalogue else ', no catalogue'}: {verdict}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "data_dir": str(self.data_dir), "ok": self.ok, "files": self.files,
            "records": dict(self.records), "items_checked": self.items_checked,
            "refs_checked": self.refs_checked, "set_aside": self.set_aside, "notes": self.notes,
            "catalogue": self.catalogue,
            "digest_lists": self.digest_lists,
            "problems": [{"file": p.file, "offset": p.offset, "line": p.line, "message": p.message}
                         for p in self.problems],
        }


class _Handles:
    """A few open WARC files for reference checks (items jump between files)."""

    def __init__(self, size: int = 8) -> None:
        self._open: OrderedDict[Path, BinaryIO] = OrderedDict()
        self._size = size

    def get(self, path: Path) -> BinaryIO:
        fh = self._open.pop(path, None) or open(path, "rb")
        self._open[path] = fh
        while len(self._open) > self._size:
            self._open.popitem(last=False)[1].close()
        return fh

    def close(self) -> None:
        for fh in self._open.values():
            fh.close()


class _Peekable:
    """An iterator whose next item can be looked at first."""

    _END = object()

    def __init__(self, items: Any) -> None:
        self._items, self._next = iter(items), self._END

    def peek(self) -> Any:
        if self._next is self._END:
            self._next = next(self._items, None)
        return self._next

    def take(self) -> Any:
        item, self._next = self.peek(), self._END
        return item


class _Hashed:
    """A file read through, its SHA-256 taken as it is read: the scan's one pass over the bytes serves both."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw, self._hash = raw, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._hash.update(data)
        return data

    def to_the_end(self) -> str:
        """The hex SHA-256 of the whole file, reading what the scan left (damage ends a scan early)."""
        while self.read(1 << 20):
            pass
        return self._hash.hexdigest()


MAX_PER_FILE = 20  # problems listed one by one for a file's catalogue captures; the rest are counted


class _Verifier:
    def __init__(self, data_dir: Path, progress: Progress | None, catalogue: Any = None) -> None:
        self.report = Report(data_dir)
        # The catalogue's captures, by file, read alongside the files scanned in the same (name) order.
        self.catalogue = catalogue
        self.captures = _Peekable(catalogue.capture_positions()) if catalogue is not None else None
        self.warc_dir = data_dir / "warc"
        self.progress = progress
        self.described: set[str] = set()  # ids that some metadata record is concurrent to
        self.unchecked: dict[str, int] = {}  # file -> offset where damage ended its scan
        # Files the crawls' digest lists name: their SHA-256 is taken as the scan reads them (read once).
        self.listed: dict[str, list[tuple[str, str]]] = {}  # digest list -> its (sha256, file name) entries
        self.sha256: dict[str, str] = {}  # file name -> its SHA-256, for the files listed
        self.unmatched: Counter[str] = Counter()  # file -> items whose metadata record may lie past that damage
        self.handles = _Handles()
        # The responses and revisits of the crawl whose files are being scanned (a crawl's files
        # are consecutive in name order, and a metadata record follows the response it describes).
        self.crawl_id: str | None = None
        self.crawl_captures: set[str] = set()

    def problem(self, file: str, message: str, *, offset: int | None = None,
                line: int | None = None) -> None:
        self.report.problems.append(Problem(file, message, offset, line))

    def scan_warcs(self) -> None:
        for path in sorted(self.warc_dir.glob("*.warc.gz" + OPEN_SUFFIX)):
            self.problem(f"warc/{path.name}", "unfinished WARC file: a crawl is running, or crashed "
                         "(the next crawl recovers it)")
        self.report.set_aside = [f"warc/{p.name}" for p in sorted(self.warc_dir.glob("*" + CORRUPT_SUFFIX))]
        self._read_digest_lists()
        paths = sorted(self.warc_dir.glob("*.warc.gz"))
        for number, path in enumerate(paths, 1):
            rel = f"warc/{path.name}"
            if self.progress:
                self.progress(rel, number, len(paths))
            self.scan_path(path, rel)

    def scan_path(self, path: Path, rel: str) -> None:
        """Check one finished WARC file (`rel` names it in problems): members, records, digests, pairs."""
        self.report.files += 1

        def report(offset: int, message: str) -> None:
            self.problem(rel, message, offset=offset)

        wanted = any(name == path.name for entries in self.listed.values() for _, name in entries)
        try:
            with open(path, "rb") as raw:
                stream = _Hashed(raw) if wanted else raw
                scan = scan_file(path, report, self._note_metadata, stream=stream)
                if wanted:
                    self.sha256[path.name] = stream.to_the_end()
        except OSError as exc:
            self.problem(rel, f"cannot read: {exc}")
            self._catalogue_captures(path.name, rel, None)
            return
        self.report.records.update(scan.records)
        if scan.unchecked_from is not None:
            self.unchecked[path.name] = scan.unchecked_from
        self._check_described(rel, scan)
        self._catalogue_captures(path.name, rel, scan)

    def _catalogue_captures(self, name: str, rel: str, scan: FileScan | None) -> None:
        """The catalogue's captures in file `name` (None: unreadable, already reported) are its records."""
        if self.captures is None:
            return
        while (row := self.captures.peek()) is not None and row[0] < name:
            self.captures.take()  # a file that is not here: `check_catalogue` names it once
        wrong = 0
        while (row := self.captures.peek()) is not None and row[0] == name:
            _, offset, record_id = self.captures.take()
            if scan is None:
                continue
            found = scan.exchanges.get(record_id)
            if found is not None and found[0] == offset:
                continue
            wrong += 1
            if wrong <= MAX_PER_FILE:
                where = (f"is at offset {found[0]}" if found is not None
                         else "is no response or revisit read in this file")
                self.problem(rel, f"the catalogue's capture {record_id} {where}", offset=offset)
        if wrong > MAX_PER_FILE:
            self.problem(rel, f"and {wrong - MAX_PER_FILE} more of the catalogue's captures are not where it says")

    def check_catalogue(self, own: bool) -> None:
        """Files the catalogue holds records of must be here (when it is this folder's `own`: a catalogue on a
        server may hold other data folders' files too); each revisit's original must be archived."""
        if self.catalogue is None:
            return
        here = {path.name for path in self.warc_dir.glob("*.warc.gz")}
        here |= {path.name.removesuffix(OPEN_SUFFIX) for path in self.warc_dir.glob("*.warc.gz" + OPEN_SUFFIX)}
        for name in sorted(set(self.catalogue.ingested()) - here) if own else ():
            self.problem(f"warc/{name}", "missing: the catalogue holds records of it (moved to a store? "
                         "`verify --store URL` checks the files there)")
        for row in self.catalogue.orphan_revisits():
            self.problem(f"warc/{row['file']}", f"revisit {row['record_id']} refers to {row['refers_to']}, "
                         "which no WARC file the catalogue holds has", offset=row["offset"])

    def _read_digest_lists(self) -> None:
        """Each crawl's digest list (`warc/CRAWL.sha256`, written where the crawl was attested), read before the
        files are scanned."""
        from archive.evidence.attest import SUFFIX, parse_manifest

        for listing in sorted(self.warc_dir.glob("*" + SUFFIX)):
            rel = f"warc/{listing.name}"
            try:
                self.listed[rel] = parse_manifest(listing.read_text(encoding="utf-8", errors="replace"))
            except OSError as exc:
                self.problem(rel, f"cannot read: {exc}")

    def check_digest_lists(self) -> None:
        """The files each digest list names are here with the same SHA-256 (taken by the scan)."""
        for rel, entries in self.listed.items():
            self.report.digest_lists += 1
            if not entries:
                self.problem(rel, "lists no WARC file (not a sha256sum list)")
            for digest, name in entries:
                actual = self.sha256.get(name)
                if actual is None:
                    if not (self.warc_dir / name).is_file():
                        self.problem(rel, f"lists {name}, which is missing")
                    continue  # here but unreadable: the scan said so
                if actual != digest:
                    self.problem(f"warc/{name}", f"SHA-256 {actual} differs from {digest} in {rel}: the file "
                                 "changed after its crawl listed it")

    def _check_described(self, rel: str, scan: FileScan) -> None:
        """Each metadata record's WARC-Refers-To must name a response or revisit of the same crawl."""
        if scan.crawl_id != self.crawl_id:
            self.crawl_id, self.crawl_captures = scan.crawl_id, set()
        self.crawl_captures.update(scan.exchanges)
        for offset, refers_to in scan.described:
            if refers_to not in self.crawl_captures:
                self.problem(rel, f"metadata record refers to {refers_to} (WARC-Refers-To), which is no "
                             f"response or revisit of crawl {scan.crawl_id}", offset=offset)

    def _note_metadata(self, head: WarcHead) -> None:
        if head.type == "metadata":
            self.described.update(head.get_all("WARC-Concurrent-To"))

    def check_items(self) -> None:
        folder = Path(self.report.data_dir) / "items"
        try:
            paths = sorted(folder / entry.name for entry in os.scandir(folder) if entry.name.endswith(".jsonl"))
        except FileNotFoundError:
            paths = []
        except OSError as exc:
            self.problem("items", f"cannot be listed: {exc.strerror or exc}")
            paths = []
        for number, path in enumerate(paths, 1):
            rel = f"items/{path.name}"
            if self.progress:
                self.progress(rel, number, len(paths))
            try:
                with open(path, "rb") as fh:
                    for line_no, raw in enumerate(fh, 1):
                        if raw.strip():
                            self._item(rel, line_no, raw)
            except OSError as exc:
                self.problem(rel, f"cannot read: {exc}")

    def _item(self, rel: str, line: int, raw: bytes) -> None:
        try:
            item = json.loads(raw.decode("utf-8").rstrip("\r\n"))
        except UnicodeDecodeError:
            self.problem(rel, "line is not UTF-8", line=line)
            return
        except json.JSONDecodeError as exc:
            self.problem(rel, f"line is not valid JSON: {exc.msg} (column {exc.colno})", line=line)
            return
        if not isinstance(item, dict):
            self.problem(rel, "line is not a JSON object", line=line)
            return
        self.report.items_checked += 1
        if item.get("warc") is None:
            self.problem(rel, f"item {item.get('url')!r} has no warc reference", line=line)
            return
        head = self._ref(rel, line, item["warc"], "item")
        if head is not None and head.record_id not in self.described:
            if item["warc"]["file"] in self.unchecked:  # its metadata record may be past the damage, unread
                self.unmatched[item["warc"]["file"]] += 1
            else:
                self.problem(rel, f"no metadata record is WARC-Concurrent-To the item's {head.type} "
                             f"{head.record_id}", line=line)
        for kind in ("images", "attachments"):
            entries = item.get(kind) or []
            if not isinstance(entries, list):
                self.problem(rel, f"item's {kind} is not a list", line=line)
                continue
            for index, entry in enumerate(entries):
                if isinstance(entry, dict) and entry.get("warc") is not None:
                    self._ref(rel, line, entry["warc"], f"{kind}[{index}]")

    def report_unmatched(self) -> None:
        for name, count in sorted(self.unmatched.items()):
            self.problem(f"warc/{name}", f"{count} item(s) could not be matched with their metadata records, "
                         f"which lie past the damage at offset {self.unchecked[name]}", offset=self.unchecked[name])

    def _ref(self, rel: str, line: int, ref: Any, what: str) -> WarcHead | None:
        """Check one `warc` reference; returns the record's head when it resolves."""
        self.report.refs_checked += 1

        def problem(message: str) -> None:
            self.problem(rel, f"{what}: {message}", line=line)

        if not isinstance(ref, dict) or any(key not in ref for key in REF_KEYS):
            problem(f"warc reference must have {', '.join(REF_KEYS)}")
            return None
        name, offset, length = ref["file"], ref["offset"], ref["length"]
        if not isinstance(name, str) or not name or "/" in name or "\\" in name or name.startswith("."):
            problem(f"warc file {name!r} is not a plain file name")
            return None
        if not isinstance(offset, int) or not isinstance(length, int):
            problem("warc offset and length must be integers")
            return None
        path = self.warc_dir / name
        try:
            if not path.is_file():
                unfinished = path.with_name(name + OPEN_SUFFIX).is_file()
                problem(f"WARC file {name} is {'still unfinished (.open)' if unfinished else 'missing'}")
                return None
            head, _ = read_member_at(self.handles.get(path), offset, length)
        except WarcFormatError as exc:
            problem(f"no record at {name} offset {offset} length {length}: {exc.message}")
            return None
        except OSError as exc:
            problem(f"cannot read {name}: {exc}")
            return None
        if head.record_id != ref["record_id"]:
            problem(f"record at {name} offset {offset} is {head.record_id}, not {ref['record_id']}")
            return None
        stored = head.get("WARC-Payload-Digest")
        if stored != ref["payload_digest"]:
            problem(f"payload digest {ref['payload_digest']} differs from the record's {stored}")
        if head.type not in CAPTURE_TYPES:
            problem(f"record {head.record_id} is a {head.type} record, not a response or revisit")
        return head


def verify_archive(data_dir: str | Path, *, progress: Progress | None = None, catalogue: Any = None,
                   catalogue_name: str | None = None, own_catalogue: bool = True) -> Report:
    """Check every WARC file, every crawl's digest list and every item reference under `data_dir`, and the
    captures of `catalogue` (an open `archive.catalogue.Catalogue`, named `catalogue_name` in the report;
    not `own_catalogue`: shared with other data folders, whose files are not looked for here).

    Raises ArchiveNotFoundError when `data_dir` or its `warc/` folder is
    missing; everything else wrong is a `Problem` in the returned report.
    `progress(file, number, total)` is called before each file.
    """
    root = Path(data_dir)
    if not root.exists():
        raise ArchiveNotFoundError(f"data folder {root} does not exist")
    if not root.is_dir():
        raise ArchiveNotFoundError(f"data folder {root} is not a folder")
    if not (root / "warc").is_dir():
        raise ArchiveNotFoundError(f"data folder {root} has no warc/ folder")
    verifier = _Verifier(root, progress, catalogue)
    verifier.report.catalogue = catalogue_name if catalogue is not None else None
    try:
        verifier.scan_warcs()
        verifier.check_catalogue(own_catalogue)
        verifier.check_digest_lists()
        verifier.check_items()
        verifier.report_unmatched()
    finally:
        verifier.handles.close()
    return verifier.report
