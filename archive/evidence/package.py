"""Verifying a WACZ package offline, trusting nothing in it until it is checked.

`verify_package(path)` checks, in this order, and collects every mismatch
as a `Problem` naming the file or record:

1. the zip opens (a truncated or foreign file fails at once, `Damaged`);
2. every file listed in `datapackage.json` is there with that sha256 and
   size (zip CRCs are checked on the way), and nothing unlisted is there;
3. `datapackage-digest.json` holds the sha256 of `datapackage.json`;
4. `signedData`, if any, signs that hash (`archive.evidence.signature`),
   and its `created` is the package's;
5. the `timestamp` token, if any, covers `datapackage.json`
   (`archive.evidence.tsa`), and chains to `tsa_roots` when given;
6. the CDXJ index: each block's digest (index.idx), and each entry points
   at one whole record (recordDigest) with that URL, date and digest (a
   304 recheck's entry points at an earlier response with its digest, and
   the package must hold that recheck: `archive.export.wacz_index`);
7. every WARC record: gzip framing, WARC fields, block and payload digests,
   request/response pairs (`archive.warc.scan`);
8. crawl attestations under `logs/` (see `archive.evidence.attest`).

`expect_key` (a fingerprint) makes an unsigned package, or one signed by
any other key, a problem; `tsa_roots` does the same for the timestamp.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import io
import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from archive.evidence.seal import DATAPACKAGE, DIGEST_FILE
from archive.evidence.signature import SignatureFacts, SignatureInvalid, check_signed_data
from archive.evidence.tsa import TimestampInvalid, check_chain, check_response
from archive.evidence.zipped import entry_file
from archive.exits import Damaged
from archive.warc.errors import WarcError
from archive.warc.reader import read_member_at
from archive.warc.scan import scan_file

CHUNK = 1 << 20
INDEX = "indexes/index.cdx.gz"
INDEX_IDX = "indexes/index.idx"
PAGES = "pages/pages.jsonl"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Problem:
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


@dataclass
class PackageReport:
    """What was checked in one package, what it proves, and every problem found."""

    package: str
    problems: list[Problem] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    datapackage_hash: str | None = None
    created: str | None = None
    sealed: bool = False  # signed or timestamped
    signed: bool = False  # a signature is there (whether or not it holds)
    signature: SignatureFacts | None = None
    timestamp: dict[str, Any] | None = None
    index_entries: int = 0
    index_blocks: int = 0
    records: int = 0
    warc_files: int = 0
    attestations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, where: str, what: str) -> None:
        self.problems.append(Problem(where, what))

    def as_dict(self) -> dict[str, Any]:
        return {
            "package": self.package, "ok": self.ok,
            "problems": [{"where": p.where, "problem": p.what} for p in self.problems],
            "files": self.files, "datapackage_hash": self.datapackage_hash, "created": self.created,
            "signature": self.signature.as_dict() if self.signature else None, "timestamp": self.timestamp,
            "index": {"entries": self.index_entries, "blocks": self.index_blocks},
            "records": {"warc_files": self.warc_files, "records": self.records},
            "attestations": self.attestations,
        }


MAX_READ = 256 * 2**20  # an entry read whole (datapackage.json, digests, index.idx, pages.jsonl): at most this
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


class _Package(zipfile.ZipFile):
    """A zip whose entries read whole are bounded by MAX_READ (a 1 MB zip bomb's datapackage.json inflated
    to 800 MiB), every read error being Damaged."""

    def read(self, name: Any, pwd: Any = None) -> bytes:
        info = name if isinstance(name, zipfile.ZipInfo) else self.getinfo(name)
        if info.file_size > MAX_READ:
            raise Damaged(f"{info.filename} is {info.file_size} bytes: more than any package of ours holds "
                          "(a zip bomb?)")
        try:
            return super().read(info, pwd)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, zlib.error) as error:
            raise Damaged(f"{info.filename} cannot be read back ({error}): its bytes were changed or cut") from error


def open_package(path: Path) -> zipfile.ZipFile:
    """The package as a zip; raises Damaged for a truncated or foreign file, or one laid out as no WACZ of ours:
    an entry encrypted, or compressed other than stored or deflated."""
    try:
        package = _Package(path)
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise Damaged(f"{path} is not a readable zip file (truncated, or not a WACZ): {error}") from error
    for info in package.infolist():
        if info.flag_bits & 0x1 or info.compress_type not in _METHODS:
            package.close()
            raise Damaged(f"{path}: {info.filename} is encrypted or compressed with method {info.compress_type}: "
                          "not a WACZ entry")
    return package


def _check_layout(path: Path, package: zipfile.ZipFile, report: PackageReport) -> None:
    """Bytes the listed entries do not cover, which their digests and the signature cannot vouch for: a name
    twice (readers disagree on which copy they take: a forged one first is what `unzip` shows), a folder
    entry holding data, bytes before the first entry or after the zip's end record."""
    seen: dict[str, int] = {}
    for info in package.infolist():
        name = info.filename.replace("\\", "/").removeprefix("./").rstrip("/")
        seen[name] = seen.get(name, 0) + 1
        if info.is_dir() and info.file_size:
            report.problem(info.filename, f"is a folder entry holding {info.file_size} bytes")
    for name, count in seen.items():
        if count > 1:
            report.problem(name, f"appears {count} times in the package: which copy a reader takes depends on "
                                 "the reader")
    infos = package.infolist()
    first = min((info.header_offset for info in infos), default=0)
    if first:
        report.problem(path.name, f"{first} bytes before its first entry are in no entry")
    with open(path, "rb") as raw:
        size = raw.seek(0, 2)
        end = size - 22 - len(package.comment)
        raw.seek(max(end, 0))
        if end < 0 or raw.read(4) != b"PK\x05\x06":
            report.problem(path.name, "bytes after the zip's end record are in no entry")
    if package.comment:
        report.problem(path.name, f"carries a zip comment of {len(package.comment)} bytes")


def verify_package(path: Path, *, expect_key: str | None = None, tsa_roots: list | None = None,
                   progress: Progress | None = None) -> PackageReport:
    """Check the package at `path` (see the module docstring); raises Damaged only when it cannot be read at all."""
    path = Path(path)
    report = PackageReport(package=str(path))
    say = progress or (lambda message: None)
    with open_package(path) as package:
        _check_layout(path, package, report)
        names = {info.filename: info for info in package.infolist() if not info.is_dir()}
        if DATAPACKAGE not in names:
            raise Damaged(f"{path} has no {DATAPACKAGE}: it is not a WACZ package")
        try:
            datapackage_bytes = package.read(DATAPACKAGE)
            datapackage = json.loads(datapackage_bytes)
        except (zipfile.BadZipFile, ValueError) as error:
            raise Damaged(f"{path}: {DATAPACKAGE} cannot be read: {error}") from error
        report.datapackage_hash = "sha256:" + hashlib.sha256(datapackage_bytes).hexdigest()
        report.created = datapackage.get("created") if isinstance(datapackage, dict) else None
        say("checking file digests")
        _check_files(package, names, datapackage, report)
        _check_digest(package, names, datapackage_bytes, report, expect_key, tsa_roots)
        say("checking the index")
        claims = _check_index(path, package, names, report)
        say("checking WARC records")
        rechecks = _check_records(path, names, report)
        _check_rechecks(claims, rechecks, report)
        from archive.evidence.attest import check_package_attestations

        check_package_attestations(path, package, names, report, tsa_roots)
    return report


def hash_entry(package: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[str, int]:
    """sha256:<hex> and size of one entry (zip CRC checked: raises BadZipFile on a mismatch)."""
    digest = hashlib.sha256()
    size = 0
    with package.open(info) as stream:
        while piece := stream.read(CHUNK):
            digest.update(piece)
            size += len(piece)
    return "sha256:" + digest.hexdigest(), size


def _check_files(package: zipfile.ZipFile, names: dict[str, zipfile.ZipInfo], datapackage: Any,
                 report: PackageReport) -> None:
    resources = datapackage.get("resources") if isinstance(datapackage, dict) else None
    if not isinstance(resources, list) or not resources:
        report.problem(DATAPACKAGE, "lists no resources")
        return
    listed: set[str] = set()
    for resource in resources:
        name = resource.get("path") if isinstance(resource, dict) else None
        if not isinstance(name, str):
            report.problem(DATAPACKAGE, f"a resource has no path: {resource!r}")
            continue
        listed.add(name)
        info = names.get(name)
        if info is None:
            report.problem(name, "listed in datapackage.json but missing from the package")
            continue
        try:
            digest, size = hash_entry(package, info)
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as error:
            report.problem(name, f"cannot be read back ({error}): its bytes were changed or cut")
            report.files.append({"path": name, "ok": False})
            continue
        ok = digest == resource.get("hash") and size == resource.get("bytes", size)
        if digest != resource.get("hash"):
            report.problem(name, f"sha256 is {digest}, datapackage.json says {resource.get('hash')}")
        elif size != resource.get("bytes", size):
            report.problem(name, f"{size} bytes, datapackage.json says {resource.get('bytes')}")
        report.files.append({"path": name, "bytes": size, "hash": digest, "ok": ok})
    for name in sorted(set(names) - listed - {DATAPACKAGE, DIGEST_FILE}):
        report.problem(name, "is in the package but not listed in datapackage.json")


def _check_digest(package: zipfile.ZipFile, names: dict[str, zipfile.ZipInfo], datapackage_bytes: bytes,
                  report: PackageReport, expect_key: str | None, tsa_roots: list | None) -> None:
    actual = report.datapackage_hash
    assert actual is not None
    document: Any = None
    if DIGEST_FILE in names:
        try:
            document = json.loads(package.read(DIGEST_FILE))
        except (zipfile.BadZipFile, ValueError) as error:
            report.problem(DIGEST_FILE, f"cannot be read: {error}")
    if not isinstance(document, dict):
        if DIGEST_FILE in names and document is not None:
            report.problem(DIGEST_FILE, "is not a JSON object")
        document = {}
    elif document.get("hash") != actual:
        report.problem(DIGEST_FILE, f"says datapackage.json is {document.get('hash')}, it is {actual}")
    signed = document.get("signedData")
    if signed is not None:
        report.sealed = report.signed = True
        try:
            report.signature = check_signed_data(signed, actual)
        except SignatureInvalid as error:
            report.problem(f"{DIGEST_FILE} signedData", str(error))
        if isinstance(signed, dict) and signed.get("created") != report.created:
            report.problem(f"{DIGEST_FILE} signedData",
                           f"created {signed.get('created')!r} is not the package's {report.created!r}")
    if expect_key:
        wanted = normalise_fingerprint(expect_key)
        if signed is None:
            report.problem(DIGEST_FILE, f"the package is not signed (expected key {wanted})")
        elif report.signature is not None and report.signature.key_fingerprint != wanted:
            report.problem(f"{DIGEST_FILE} signedData",
                           f"signed by key {report.signature.key_fingerprint}, not the expected {wanted}")
    stamp_entry = document.get("timestamp")
    if stamp_entry is not None:
        report.sealed = True
        report.timestamp = _check_timestamp(stamp_entry, datapackage_bytes, report, tsa_roots)
    elif tsa_roots is not None:
        report.problem(DIGEST_FILE, "the package has no timestamp (a trusted timestamp was required)")


def _check_timestamp(entry: Any, datapackage_bytes: bytes, report: PackageReport,
                     tsa_roots: list | None) -> dict[str, Any] | None:
    where = f"{DIGEST_FILE} timestamp"
    try:
        response = base64.b64decode(entry["response"], validate=True)
    except (binascii.Error, ValueError, KeyError, TypeError):
        report.problem(where, "has no base64 'response'")
        return None
    try:
        stamp = check_response(response, hashlib.sha256(datapackage_bytes).digest())
    except TimestampInvalid as error:
        report.problem(where, str(error))
        return None
    facts: dict[str, Any] = {**stamp.as_dict(), "covers": DATAPACKAGE, "authority_url": entry.get("authority"),
                             "chain": None}
    if tsa_roots is not None:
        try:
            facts["chain"] = check_chain(stamp, tsa_roots)
        except TimestampInvalid as error:
            report.problem(where, str(error))
    return facts


def normalise_fingerprint(text: str) -> str:
    """`sha256:<hex>` from "sha256:HEX", "HEX" or "AB:CD:..." (any case)."""
    value = text.strip().lower().removeprefix("sha256:").replace(":", "")
    return "sha256:" + value


# -- the index -------------------------------------------------------------

# An index line of a 304 recheck pointed at its original, to be matched to the recheck's record:
# (where, URL, the line's time, payload digest, the original's WARC-Date).
Claim = tuple[str, str, str, str, str]


def _check_index(path: Path, package: zipfile.ZipFile, names: dict[str, zipfile.ZipInfo],
                 report: PackageReport) -> list[Claim]:
    """Each index block against index.idx, then each entry against its record (both streamed).

    Returns the entries dated after their record that point at a response
    with their payload digest: a 304 recheck's line pointed at the page it
    says is unchanged (`archive.export.wacz_index`), if the package holds
    that recheck (`_check_rechecks`)."""
    claims: list[Claim] = []
    if INDEX not in names:
        report.problem(INDEX, "missing: the package has no index")
        return claims
    if INDEX_IDX in names:
        try:
            with package.open(INDEX) as compressed:
                _check_blocks(package.read(INDEX_IDX), compressed, report)
        except (zipfile.BadZipFile, OSError, zlib.error) as error:
            report.problem(INDEX, f"cannot be read: {error}")
            return claims
    warcs: dict[str, Any] = {}
    try:
        with package.open(INDEX) as compressed, gzip.GzipFile(fileobj=compressed) as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                report.index_entries += 1
                _check_entry(path, names, warcs, number, line.rstrip(b"\r\n"), report, claims)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as error:
        report.problem(INDEX, f"cannot be read to its end: {error}")
    finally:
        for stream in warcs.values():
            if stream is not None:
                stream.close()
    return claims


def _check_blocks(idx: bytes, compressed: Any, report: PackageReport) -> None:
    """Each block of index.cdx.gz against its digest in index.idx (blocks are read in order, never all at once)."""
    position = 0
    for number, line in enumerate(idx.decode("utf-8", "replace").splitlines(), 1):
        if not line.strip() or line.startswith("!meta"):
            continue
        try:
            block = json.loads(line.split(" ", 2)[2])
            start, length = int(block["offset"]), int(block["length"])
        except (IndexError, ValueError, KeyError, TypeError):
            report.problem(f"{INDEX_IDX} line {number}", "is not a block entry")
            continue
        report.index_blocks += 1
        if start < position:
            compressed.seek(start)
        else:
            compressed.read(start - position)
        data = compressed.read(length)
        position = start + len(data)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if block.get("digest") and block["digest"] != digest:
            report.problem(f"{INDEX_IDX} line {number}", f"block at {start} has {digest}, "
                                                         f"the index says {block['digest']}")


def _check_entry(path: Path, names: dict[str, zipfile.ZipInfo], warcs: dict[str, Any], number: int, line: bytes,
                 report: PackageReport, claims: list[Claim]) -> None:
    where = f"{INDEX} line {number}"
    try:
        key, timestamp, text = line.decode("utf-8").split(" ", 2)
        entry = json.loads(text)
        filename, offset, length = entry["filename"], int(entry["offset"]), int(entry["length"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        report.problem(where, "is not a CDXJ entry")
        return
    name = f"archive/{filename}"
    if name not in warcs:
        warcs[name] = entry_file(str(path), names[name]) if name in names else None
    stream = warcs[name]
    if stream is None:
        report.problem(where, f"points into {name}, which is not in the package")
        return
    where = f"{where} ({name} @{offset})"
    if offset < 0 or length <= 0 or offset + length > names[name].file_size:
        report.problem(where, f"length {length} at offset {offset} is not inside {name}")
        return
    stream.seek(offset)
    raw = stream.read(length)
    if entry.get("recordDigest"):
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        if digest != entry["recordDigest"]:
            report.problem(where, f"the record's bytes hash to {digest}, the index says {entry['recordDigest']}")
            return
    try:
        head, _ = read_member_at(io.BytesIO(raw), 0, length)
    except WarcError as error:
        report.problem(where, f"no whole record there: {error}")
        return
    if head.get("WARC-Target-URI") != entry.get("url"):
        report.problem(where, f"the record is for {head.get('WARC-Target-URI')}, the index says {entry.get('url')}")
    date_digits = "".join(ch for ch in head.get("WARC-Date") or "" if ch.isdigit())[:14]
    if date_digits != timestamp[:14]:
        if (head.get("WARC-Type") == "response" and date_digits < timestamp[:14] and entry.get("digest")
                and entry["digest"] == head.get("WARC-Payload-Digest")):
            claims.append((where, entry.get("url"), timestamp[:14], entry["digest"], head.get("WARC-Date")))
        else:
            report.problem(where, f"the record is dated {head.get('WARC-Date')}, the index says {timestamp}")
    if entry.get("digest") and head.get("WARC-Payload-Digest") and entry["digest"] != head.get("WARC-Payload-Digest"):
        report.problem(where, f"the record's payload digest is {head.get('WARC-Payload-Digest')}, "
                              f"the index says {entry['digest']}")


# -- the records -----------------------------------------------------------

def _check_rechecks(claims: list[Claim], rechecks: set[tuple[str, str, str]], report: PackageReport) -> None:
    """Each index line pointed at an earlier capture must be a 304 recheck the package holds, of that URL,
    at the line's time, saying that payload is unchanged; any other such line misdates what it points at."""
    for where, url, stamp, digest, dated in claims:
        if (url, stamp, digest) not in rechecks:
            report.problem(where, f"the record is dated {dated}, the index says {stamp}, and the package holds no "
                                  "304 recheck of that URL then with that payload")


def _recheck(head: Any) -> tuple[str, str, str] | None:
    """(URL, time, payload digest) of a server-not-modified revisit record (a 304 recheck), else None."""
    if head.get("WARC-Type") != "revisit" or not (head.get("WARC-Profile") or "").endswith("server-not-modified"):
        return None
    stamp = "".join(ch for ch in head.get("WARC-Date") or "" if ch.isdigit())[:14]
    return head.get("WARC-Target-URI"), stamp, head.get("WARC-Payload-Digest")


def _check_records(path: Path, names: dict[str, zipfile.ZipInfo], report: PackageReport) -> set[tuple[str, str, str]]:
    """Every record of every WARC file; returns the 304 rechecks seen (`_recheck`)."""
    rechecks: set[tuple[str, str, str]] = set()

    def seen(head: Any) -> None:
        if (recheck := _recheck(head)) is not None:
            rechecks.add(recheck)

    for name in sorted(names):
        if not name.startswith("archive/"):
            continue
        report.warc_files += 1
        try:
            stream = entry_file(str(path), names[name])
        except (zipfile.BadZipFile, OSError) as error:
            report.problem(name, f"cannot be opened: {error}")
            continue
        with stream:
            scan = scan_file(Path(name), lambda offset, message, n=name: report.problem(f"{n} @{offset}", message),
                             seen, stream=stream)
        report.records += sum(scan.records.values())
    return rechecks
