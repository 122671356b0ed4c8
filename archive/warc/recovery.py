"""Repairing `.warc.gz.open` files left behind by a crash.

The writer flushes whole gzip members, so after a kill -9 an `.open` file is a
run of complete records followed by at most a partial member.  `recover()`
cuts each file back to its last complete record and renames it; a file with
no complete record is renamed `.corrupt`, never deleted.

Files still locked by a live writer (another run in the same folder) are left
alone: the writer holds an exclusive `flock` on its `.open` file.
"""

from __future__ import annotations

import fcntl
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from archive.warc.errors import WarcFormatError, WarcWriteError
from archive.warc.members import MemberReader
from archive.warc.reader import read_warc_head

log = logging.getLogger(__name__)

OPEN_SUFFIX = ".open"
CORRUPT_SUFFIX = ".corrupt"
COPY_SIZE = 64 * 1024


@dataclass(frozen=True, slots=True)
class RecoveryResult:
    """What `recover()` did with one `.open` file.

    `outcome` is "recovered" (cut back if needed and renamed to `new_path`),
    "set-aside" (no complete record; renamed `.corrupt`) or "in-use" (locked
    by a running writer; untouched).  `reason` says why bytes were dropped.
    """

    path: Path
    outcome: str
    new_path: Path | None
    records: int
    bytes_kept: int
    bytes_dropped: int
    reason: str | None


def complete_prefix(fh: BinaryIO) -> tuple[int, int, str | None]:
    """(records, end offset) of the leading run of complete records, and why it stops.

    A record counts when its gzip member decompresses to its end and holds
    exactly one whole WARC record (head, Content-Length bytes, CRLF CRLF).
    The writer puts a response (or revisit) and then its request in one write;
    a kill inside that write can leave the response alone, so a response
    counts only once the record after it is complete too.
    """
    records, end = 0, 0  # what is safe to keep
    seen = 0
    reader = MemberReader(fh)
    try:
        for member in reader:
            head = read_warc_head(member)
            size = head.content_length
            if size is None:
                return records, end, f"record at {member.offset} has no valid Content-Length"
            while size > 0:
                piece = member.read(min(size, COPY_SIZE))
                if not piece:
                    return records, end, f"record at {member.offset} is shorter than its Content-Length"
                size -= len(piece)
            if member.read(4) != b"\r\n\r\n" or member.drain():
                return records, end, f"record at {member.offset} does not end where its Content-Length says"
            assert member.length is not None
            seen += 1
            if head.type in ("response", "revisit"):
                continue  # its request record follows; keep both or neither
            records, end = seen, member.offset + member.length
    except WarcFormatError as exc:
        return records, end, f"{exc.message} at offset {exc.offset}"
    if seen != records:
        return records, end, "a response without the request record written with it"
    return records, end, None


def fsync_dir(directory: Path) -> None:
    """Make a rename or a new file in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def recover_file(path: Path) -> RecoveryResult:
    """Recover one `.warc.gz.open` file (see `recover`)."""
    final = path.with_name(path.name[: -len(OPEN_SUFFIX)])
    try:
        with open(path, "r+b") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return RecoveryResult(path, "in-use", None, 0, 0, 0, "locked by a running writer")
            size = os.fstat(fh.fileno()).st_size
            records, end, reason = complete_prefix(fh)
            if records == 0:
                target = final.with_name(final.name + CORRUPT_SUFFIX)
                outcome = "set-aside"
            else:
                target, outcome = final, "recovered"
                if end < size:
                    fh.truncate(end)
            fh.flush()
            os.fsync(fh.fileno())
            # Still under the lock, so no other recovery can race this rename.
            if target.exists():
                raise WarcWriteError(f"cannot recover {path}: {target.name} already exists")
            os.rename(path, target)
        fsync_dir(path.parent)
    except OSError as exc:
        raise WarcWriteError(f"cannot recover {path}: {exc}") from exc
    kept = end if records else 0
    result = RecoveryResult(path, outcome, target, records, kept, size - kept, reason)
    log.warning("recovered leftover WARC %s: %s with %d records, %d bytes dropped (%s)",
                path.name, outcome, records, size - kept, reason or "intact")
    return result


def recover(directory: str | os.PathLike[str]) -> list[RecoveryResult]:
    """Repair every leftover `*.warc.gz.open` file in `directory`.

    Each is cut back to the end of its last complete record (truncated in
    place, fsynced) and renamed to `.warc.gz`.  One with no complete record is
    renamed `.warc.gz.corrupt` and kept.  Files locked by a running writer are
    skipped ("in-use").  I/O failures raise WarcWriteError.
    """
    folder = Path(directory)
    if not folder.is_dir():
        return []
    return [recover_file(path) for path in sorted(folder.glob("*.warc.gz" + OPEN_SUFFIX))]
