"""`verify_archive`: check a data folder's WARC files and the items pointing into them.

Layout: `DATA/warc/*.warc.gz` (finished), `DATA/warc/*.warc.gz.open` (being
written or left by a crash), `DATA/items/*.jsonl` (one item per line, each with
a `warc` reference, as do its images and attachments).

Everything is streamed.  Memory grows only with the number of metadata
records (their links are kept to match items against), with the number of
captures in one crawl (to check that each metadata record refers to one of
its crawl's responses) and, per file, with its number of records, never with
payload sizes.
"""

from __future__ import annotations

import json
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
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        kinds = ", ".join(f"{n} {t}" for t, n in sorted(self.records.items()))
        verdict = "OK" if self.ok else f"{len(self.problems)} problem(s)"
        return (f"{self.files} WARC files, {sum(self.records.values())} records ({kinds or 'none'}), "
                f"{self.items_checked} items, {self.refs_checked} references: {verdict}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "data_dir": str(self.data_dir), "ok": self.ok, "files": self.files,
            "records": dict(self.records), "items_checked": self.items_checked,
            "refs_checked": self.refs_checked, "set_aside": self.set_aside,
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


class _Verifier:
    def __init__(self, data_dir: Path, progress: Progress | None) -> None:
        self.report = Report(data_dir)
        self.warc_dir = data_dir / "warc"
        self.progress = progress
        self.described: set[str] = set()  # ids that some metadata record is concurrent to
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

        try:
            scan = scan_file(path, report, self._note_metadata)
        except OSError as exc:
            self.problem(rel, f"cannot read: {exc}")
            return
        self.report.records.update(scan.records)
        self._check_described(rel, scan)

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
        paths = sorted((self.report.data_dir / "items").glob("*.jsonl"))
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
        if not path.is_file():
            unfinished = path.with_name(name + OPEN_SUFFIX).is_file()
            problem(f"WARC file {name} is {'still unfinished (.open)' if unfinished else 'missing'}")
            return None
        try:
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


def verify_archive(data_dir: str | Path, *, progress: Progress | None = None) -> Report:
    """Check every WARC file and every item reference under `data_dir`.

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
    verifier = _Verifier(root, progress)
    try:
        verifier.scan_warcs()
        verifier.check_items()
    finally:
        verifier.handles.close()
    return verifier.report
