"""Typed errors raised by the WARC library.

Callers catch `WarcError` for anything from this package; the CLI turns these
into messages and exit codes, nothing below it does.
"""

from __future__ import annotations

from archive.exits import ArchiveError, Damaged, Failed, UsageProblem


class WarcError(ArchiveError):
    """Base class of every error raised by `archive.warc` (each kind has its exit code)."""


class WarcWriteError(WarcError, Failed, OSError):
    """Writing, flushing, syncing or renaming a WARC file failed.

    It is also an OSError, so callers guarding file I/O catch it too.

    The writer is unusable afterwards; records already flushed stay on disk in
    the `.open` file, which `recover()` repairs on the next start.
    """


class WarcFormatError(WarcError, Damaged):
    """Bytes that are not a well-formed gzip member or WARC record.

    `offset` is the file offset of the gzip member where the problem was found.
    """

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


class ArchiveNotFoundError(WarcError, UsageProblem):
    """The data folder (or its `warc/` folder) does not exist."""


class GzipMemberError(WarcFormatError):
    """A gzip member is corrupt, cut short, or not gzip at all: nothing after it can be trusted."""


class WarcTruncatedError(GzipMemberError):
    """The bytes end inside a gzip member (a crash, or a length too short)."""


class BodyDecodeError(WarcError, Damaged):
    """An HTTP body in a record whose Content-Encoding cannot be undone.

    The coding is unknown here, the bytes are not what it says, or the stream
    stops before its end in a record that does not say it was truncated.  The
    message names the record (id, target URI, file and offset); `record_id`
    holds its id.  It is a `Damaged` error: the CLI exits 7.
    """

    def __init__(self, message: str, record_id: str | None = None) -> None:
        super().__init__(message)
        self.record_id = record_id
