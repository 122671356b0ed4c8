"""Reading records back: WARC heads, record offsets, one record by reference.

Our files hold one record per gzip member, so a record is addressed by the
member's (offset, length), exactly as items store it in their `warc` field.
`open_block` gives a record's block as a stream; `archive.warc.http` reads
the HTTP message inside it.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import BinaryIO, Iterator

from archive.warc.errors import WarcFormatError, WarcTruncatedError
from archive.warc.members import Member, MemberReader

MAX_HEAD = 1 << 20  # a WARC head larger than this is not one of ours: refuse it
WARC_VERSIONS = ("WARC/1.1", "WARC/1.0")


@dataclass(frozen=True, slots=True)
class WarcHead:
    """The parsed WARC headers of one record (names compared case-insensitively)."""

    version: str
    fields: tuple[tuple[str, str], ...]
    size: int  # bytes of the head, blank line included
    _first: dict[str, str] = field(init=False, repr=False, compare=False)  # lower-case name -> first value

    def __post_init__(self) -> None:
        first: dict[str, str] = {}
        for key, value in self.fields:
            first.setdefault(key.lower(), value)
        object.__setattr__(self, "_first", first)  # one pass, then a lookup per header asked for

    def get(self, name: str) -> str | None:
        """The first value of header `name`, or None."""
        return self._first.get(name.lower())

    def get_all(self, name: str) -> list[str]:
        lname = name.lower()
        return [value for key, value in self.fields if key.lower() == lname]

    @property
    def type(self) -> str | None:
        return self.get("WARC-Type")

    @property
    def record_id(self) -> str | None:
        return self.get("WARC-Record-ID")

    @property
    def content_length(self) -> int | None:
        """Content-Length as an int, or None when missing or not a plain number."""
        value = self.get("Content-Length")
        if value is None or not value.isascii() or not value.isdigit():
            return None
        return int(value)


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """Where a record sits (`file` is the basename) and its WARC head."""

    file: str
    offset: int
    length: int
    head: WarcHead


def read_warc_head(member: Member) -> WarcHead:
    """Parse the WARC head at the start of `member` (raises WarcFormatError)."""
    return _whole_head(member) or _head_by_lines(member)


def _whole_head(member: Member) -> WarcHead | None:
    """The head parsed from one piece of the member's buffer, or None when it is not a plain, valid one.

    The fast way for the usual head; anything unusual (too long, not UTF-8,
    a malformed line) is left unread for `_head_by_lines`, whose errors are
    the ones to report.
    """
    raw = member.peek_head(MAX_HEAD)
    if raw is None:
        return None
    try:
        lines = raw.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        return None
    version = lines[0].rstrip("\r")
    if version not in WARC_VERSIONS or len(lines[0]) >= 64:
        return None
    fields: list[tuple[str, str]] = []
    for line in lines[1:-2]:  # the last two: the empty line's "" or "\r", and what follows its LF
        text = line.rstrip("\r")
        if text[:1] in (" ", "\t"):
            if not fields:
                return None
            name, value = fields[-1]
            fields[-1] = (name, value + " " + text.strip())
            continue
        name, sep, value = text.partition(":")
        if not sep or not name.strip():
            return None
        fields.append((name.strip(), value.strip()))
    member.read(len(raw))
    return WarcHead(version, tuple(fields), len(raw))


def _head_by_lines(member: Member) -> WarcHead:
    first = member.readline(64)
    version = first.rstrip(b"\r\n").decode("ascii", "replace")
    if version not in WARC_VERSIONS:
        raise WarcFormatError(f"record does not start with a WARC version line (found {first[:20]!r})",
                              member.offset)
    size = len(first)
    fields: list[tuple[str, str]] = []
    while True:
        line = member.readline(MAX_HEAD)
        size += len(line)
        if size > MAX_HEAD:
            raise WarcFormatError("WARC head is larger than 1 MiB", member.offset)
        if not line.endswith(b"\n"):
            raise WarcFormatError("WARC head ends before its blank line", member.offset)
        if line in (b"\r\n", b"\n"):
            break
        try:
            text = line.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            raise WarcFormatError("WARC header line is not UTF-8", member.offset) from None
        if text[:1] in (" ", "\t") and fields:  # folded continuation line
            name, value = fields[-1]
            fields[-1] = (name, value + " " + text.strip())
            continue
        name, sep, value = text.partition(":")
        if not sep or not name.strip():
            raise WarcFormatError(f"malformed WARC header line {text[:80]!r}", member.offset)
        fields.append((name.strip(), value.strip()))
    return WarcHead(version, tuple(fields), size)


def iter_records(path: str | os.PathLike[str]) -> Iterator[StoredRecord]:
    """Each record of a `.warc.gz` file with its member offset and length.

    Only heads are parsed; blocks are streamed past.  Raises WarcFormatError
    at the first bad member.
    """
    name = os.path.basename(os.fspath(path))
    with open(path, "rb") as fh:
        for member in MemberReader(fh):
            head = read_warc_head(member)
            member.drain()
            assert member.length is not None
            yield StoredRecord(name, member.offset, member.length, head)


def read_member_at(fh: BinaryIO, offset: int, length: int, *,
                   keep_block: bool = False) -> tuple[WarcHead, bytes | None]:
    """The record in the gzip member at exactly (`offset`, `length`).

    Checks that one whole member spans those bytes.  Returns the head, and the
    block too when `keep_block` (it is then held in memory).
    """
    if offset < 0 or length <= 0:
        raise WarcFormatError(f"bad record position offset={offset} length={length}", offset)
    fh.seek(offset)
    reader = MemberReader(fh, offset, limit=length)
    member = next(iter(reader), None)
    if member is None:
        raise WarcFormatError("no gzip member at this offset (past the end of the file)", offset)
    try:
        head = read_warc_head(member)
        block = None
        if keep_block:
            size = head.content_length
            if size is None:
                raise WarcFormatError("record has no valid Content-Length", offset)
            block = member.read(size)
            if len(block) < size:
                raise WarcFormatError("record block is shorter than its Content-Length", offset)
        member.drain()
    except WarcTruncatedError:
        raise WarcTruncatedError(f"the gzip member here does not end within {length} bytes", offset) from None
    if member.length != length or not reader.at_end():
        raise WarcFormatError(f"the gzip member here is {member.length} bytes long, not {length}", offset)
    return head, block


def read_record(path: str | os.PathLike[str], offset: int, length: int) -> tuple[WarcHead, bytes]:
    """Head and whole block of the record referenced by (file, offset, length).

    The block is held in memory: for small records and tests.  Stream
    anything else with `open_block`.
    """
    with open(path, "rb") as fh:
        head, block = read_member_at(fh, offset, length, keep_block=True)
    assert block is not None
    return head, block


class Block:
    """A record's block as a stream: the `size` bytes after the WARC head, read in pieces.

    Reading stops at the end of the block (the record's closing CRLF CRLF is
    not part of it).  A member that ends before `size` bytes raises
    WarcFormatError.  `left` is how many bytes are still unread.
    """

    def __init__(self, member: Member, size: int) -> None:
        self._member = member
        self.left = size

    @property
    def offset(self) -> int:
        """The file offset of the record's gzip member."""
        return self._member.offset

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes (all that is left when negative); b"" at the end of the block."""
        wanted = self.left if size < 0 else min(size, self.left)
        data = self._member.read(wanted)
        self.left -= len(data)
        if len(data) < wanted:
            raise WarcFormatError(f"record block ends {self.left} bytes short of its Content-Length",
                                  self._member.offset)
        return data

    def peek_head(self, limit: int) -> bytes | None:
        """The bytes up to the block's first empty line, left unread; None if not within `limit` bytes."""
        return self._member.peek_head(min(limit, self.left))

    def readline(self, limit: int) -> bytes:
        """One line with its LF, at most `limit` bytes, never past the block."""
        line = self._member.readline(min(limit, self.left))
        self.left -= len(line)
        if not line and self.left:
            raise WarcFormatError(f"record block ends {self.left} bytes short of its Content-Length",
                                  self._member.offset)
        return line


@contextmanager
def open_block(path: str | os.PathLike[str], offset: int, length: int) -> Iterator[tuple[WarcHead, Block]]:
    """The record in the gzip member at (`offset`, `length`) of `path`: its head and its block as a stream.

    Only what the caller reads is decompressed, so memory does not grow with
    the block.  Raises WarcFormatError (or OSError) when no record is there.
    """
    if offset < 0 or length <= 0:
        raise WarcFormatError(f"bad record position offset={offset} length={length}", offset)
    with open(path, "rb") as fh:
        fh.seek(offset)
        member = next(iter(MemberReader(fh, offset, limit=length)), None)
        if member is None:
            raise WarcFormatError("no gzip member at this offset (past the end of the file)", offset)
        try:
            head = read_warc_head(member)
        except WarcTruncatedError:
            raise WarcTruncatedError(f"the gzip member here does not end within {length} bytes", offset) from None
        size = head.content_length
        if size is None:
            raise WarcFormatError("record has no valid Content-Length", offset)
        yield head, Block(member, size)
