"""An article proof: one article version as a small signed WACZ that anyone can check.

The package holds, copied byte for byte from the archive's WARC files:

* the version's response record and its request record;
* the `metadata` record concurrent to the response (the parsed fields:
  title, date, source, text, images, extractor version);
* each image's and attachment's response and request records (a revisit
  also brings the response it refers to, when an earlier version names it);
* the `warcinfo` record of each file those records come from.

Records keep their files: each goes into a WARC file of the same name as
the one it was written to (holding only the records above, in their
original order), so every record id, date, digest and warcinfo stays as it
was.  py-wacz indexes them and writes pages.jsonl (one page); the package is
signed with the archive's key (or the one given) and timestamped when an
authority is given, then checked with `verify_package` before it is kept.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from archive.evidence.seal import Evidence
from archive.evidence.source import article_version
from archive.exits import Damaged, Failed
from archive.warc.errors import WarcError
from archive.warc.members import MemberReader
from archive.warc.reader import WarcHead, read_member_at, read_warc_head


@dataclass(frozen=True)
class Placed:
    """One record to copy: where it is and its head."""

    file: str
    offset: int
    length: int
    head: WarcHead


@dataclass
class ProofResult:
    path: Path
    article_id: int
    version: int
    records: int
    files: list[str]
    signed_by: str | None
    timestamp: dict[str, Any] | None
    notes: list[str]


class _Archive:
    """Records read from DATA/warc, by position, with the files kept open."""

    def __init__(self, warc_dir: Path) -> None:
        self.warc_dir = warc_dir
        self._open: dict[str, BinaryIO] = {}

    def file(self, name: str) -> BinaryIO:
        if "/" in name or name.startswith("."):
            raise Damaged(f"the catalogue names a WARC file outside the archive: {name!r}")
        if name not in self._open:
            try:
                self._open[name] = open(self.warc_dir / name, "rb")
            except OSError as error:
                raise Damaged(f"WARC file {name} cannot be opened: {error.strerror or error}") from error
        return self._open[name]

    def at(self, name: str, offset: int, length: int | None = None) -> Placed:
        """The record whose gzip member starts at `offset` (its length found when not given)."""
        stream = self.file(name)
        try:
            if length is not None:
                head, _ = read_member_at(stream, offset, length)
                return Placed(name, offset, length, head)
            stream.seek(offset)
            member = next(iter(MemberReader(stream, offset)), None)
            if member is None:
                raise WarcError(f"no record at offset {offset}")
            head = read_warc_head(member)
            member.drain()
            assert member.length is not None
            return Placed(name, offset, member.length, head)
        except WarcError as error:
            raise Damaged(f"{name} @{offset}: {error}") from error

    def raw(self, placed: Placed) -> bytes:
        stream = self.file(placed.file)
        stream.seek(placed.offset)
        return stream.read(placed.length)

    def scan(self, name: str, start: int):
        stream = self.file(name)
        stream.seek(start)
        for member in MemberReader(stream, start):
            head = read_warc_head(member)
            member.drain()
            assert member.length is not None
            yield Placed(name, member.offset, member.length, head)

    def close(self) -> None:
        for stream in self._open.values():
            stream.close()


def _exchange(archive: _Archive, name: str, offset: int, length: int, record_id: str | None) -> list[Placed]:
    """A response (or revisit) record and the request record written right after it."""
    response = archive.at(name, offset, length)
    if record_id and response.head.record_id != record_id:
        raise Damaged(f"{name} @{offset} holds {response.head.record_id}, the catalogue says {record_id}")
    placed = [response]
    try:
        request = archive.at(name, offset + length)
    except Damaged:
        return placed
    if request.head.type == "request" and response.head.record_id in request.head.get_all("WARC-Concurrent-To"):
        placed.append(request)
    return placed


def _metadata(archive: _Archive, name: str, offset: int, record_id: str) -> Placed | None:
    """The metadata record concurrent to `record_id`: after it in its file, or in the next files of its crawl."""
    crawl_id = _is_part_of(archive, name)
    files = sorted(path.name for path in archive.warc_dir.glob("*.warc.gz"))
    later = [n for n in files if n > name]
    for file_name, start in [(name, offset)] + [(n, 0) for n in later]:
        if file_name != name and _is_part_of(archive, file_name) != crawl_id:
            break
        for placed in archive.scan(file_name, start):
            if placed.head.type == "metadata" and record_id in placed.head.get_all("WARC-Concurrent-To"):
                return placed
    return None


def _is_part_of(archive: _Archive, name: str) -> str | None:
    stream = archive.file(name)
    stream.seek(0)
    member = next(iter(MemberReader(stream, 0)), None)
    if member is None:
        return None
    head = read_warc_head(member)
    block = member.read(head.content_length or 0).decode("utf-8", "replace")
    member.drain()
    for line in block.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "isPartOf":
            return value.strip()
    return None


def _media(archive: _Archive, entry: dict[str, Any], earlier: list[dict[str, Any]], notes: list[str]) -> list[Placed]:
    ref = entry.get("warc") or {}
    if not (ref.get("file") and ref.get("offset") is not None and ref.get("length")):
        return []
    placed = _exchange(archive, ref["file"], int(ref["offset"]), int(ref["length"]), ref.get("record_id"))
    head = placed[0].head
    if head.type == "revisit":
        original = head.get("WARC-Refers-To")
        named = next((e.get("warc") for e in earlier if (e.get("warc") or {}).get("record_id") == original), None)
        if named and named.get("file"):
            placed += _exchange(archive, named["file"], int(named["offset"]), int(named["length"]), original)
        else:
            notes.append(f"{entry.get('url')}: a revisit of {original}, which no earlier version of this article "
                         "names; the proof holds the revisit only")
    return placed


def collect_records(data: Path, record: dict[str, Any]) -> tuple[list[Placed], list[str], _Archive]:
    """Every record the proof of this article version holds (see the module docstring)."""
    archive = _Archive(Path(data) / "warc")
    notes: list[str] = []
    capture = record["capture"]
    placed = _exchange(archive, capture["file"], int(capture["offset"]), int(capture["length"]), capture["record_id"])
    metadata = _metadata(archive, capture["file"], int(capture["offset"]), capture["record_id"])
    if metadata is None:
        notes.append(f"no metadata record for {capture['record_id']} was found after it")
    else:
        placed.append(metadata)
    version = record["version"]
    for entry in (version.get("images") or []) + (version.get("attachments") or []):
        if isinstance(entry, dict):
            placed += _media(archive, entry, record["earlier"], notes)
    for name in sorted({p.file for p in placed}):
        placed.append(archive.at(name, 0))  # the file's warcinfo
    unique = {(p.file, p.offset): p for p in placed}
    return sorted(unique.values(), key=lambda p: (p.file, p.offset)), notes, archive


def build_proof(data: Path, ref: str | int, out: Path, evidence: Evidence, *,
                version: int | None = None) -> ProofResult:
    """Write the proof package of one article version to `out` (only once it is complete and checked)."""
    from archive.evidence.package import verify_package
    from archive.export.errors import ExportError
    from archive.export.wacz import WaczWriter

    record = article_version(data, ref, version)
    chosen, capture = record["version"], record["capture"]
    out = Path(out)
    part = out.with_name(out.name + ".part")
    placed, notes, archive = collect_records(data, record)
    try:
        with tempfile.TemporaryDirectory(prefix="proof-") as folder:
            for name in sorted({p.file for p in placed}):
                with open(Path(folder) / name, "wb") as target:
                    for item in (p for p in placed if p.file == name):
                        target.write(archive.raw(item))
            try:
                out.parent.mkdir(parents=True, exist_ok=True)
                writer = WaczWriter(part, Path(folder), evidence=evidence, title=f"Proof: {chosen.get('title')}",
                                    description=f"portal-archive article proof: article {record['article_id']} "
                                                f"version {chosen['version']}, captured {capture['date']}",
                                    attestations=False)
                writer.write({"site_name": None, "warc_file": capture["file"], "images": "[]", "attachments": "[]",
                              "article_id": record["article_id"], "version": chosen["version"],
                              "capture_url": capture["url"], "title": chosen.get("title"), "url": record["url"],
                              "capture_time": capture["date"]})
                for name in {p.file for p in placed}:
                    writer.add_warc(name)
                writer.close()
            except ExportError as error:
                if isinstance(error, Damaged):  # a record it needs is damaged: exit 7, as `show --help` says
                    raise Damaged(f"the proof package could not be built: {error}") from error
                raise Failed(f"the proof package could not be built: {error}") from error
            except OSError as error:
                raise Failed(f"cannot write {part}: {error.strerror or error}") from error
        report = verify_package(part)
        if not report.ok:
            raise Damaged(f"the proof package does not verify: {report.problems[0]}")
        # What `verify --package --article N` (the check the user is told to run) shows must read too: every
        # record of the article, its images and attachments decoded and held to their digests.
        from archive.evidence.captured import articles_in_package

        for found in articles_in_package(part, article=str(record["article_id"])):
            if found["problems"]:
                raise Damaged(f"the proof package does not verify: {found['problems'][0]}")
        os.replace(part, out)
    finally:
        archive.close()
        part.unlink(missing_ok=True)
    return ProofResult(path=out, article_id=record["article_id"], version=chosen["version"], records=len(placed),
                       files=sorted({p.file for p in placed}),
                       signed_by=report.signature.key_fingerprint if report.signature else None,
                       timestamp=report.timestamp, notes=notes)
