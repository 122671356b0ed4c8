"""Reading a `.warc.gz` file gzip member by gzip member, streaming.

Each member is exposed as a small stream of its decompressed bytes, so a
record can be parsed and digested without holding its block in memory.  The
member's compressed offset and length are known once it has been read to its
end, which is what the offsets in our item references point at.

Unlike `warcio check`, a member cut short by a crash is an error here
(`GzipMemberError`, or its subclass `WarcTruncatedError`).
"""

from __future__ import annotations

import re
import zlib
from typing import BinaryIO, Iterator

from archive.warc.errors import GzipMemberError, WarcTruncatedError

GZIP_MAGIC = b"\x1f\x8b"
READ_SIZE = 64 * 1024
OUT_SIZE = 64 * 1024
_EMPTY_LINE = re.compile(rb"\n\r?\n")


class Member:
    """The decompressed bytes of one gzip member, read in pieces.

    `offset` is where the member starts in the file; `length` (compressed
    size) is set once the member has been read or drained to its end.
    """

    def __init__(self, source: "MemberReader", offset: int) -> None:
        self._source = source
        self._inflate = zlib.decompressobj(31)
        self._buf = b""
        self._pos = 0
        self.offset = offset
        self.length: int | None = None
        self.size = 0  # decompressed bytes produced so far

    @property
    def ended(self) -> bool:
        return self.length is not None

    def _more(self) -> bool:
        """Decompress another piece into the buffer; False once the member has ended."""
        if self.length is not None:
            return False
        inflate = self._inflate
        try:
            if inflate.unconsumed_tail:
                out = inflate.decompress(inflate.unconsumed_tail, OUT_SIZE)
            else:
                data = self._source._take()
                # With no input left, zlib may still hold output it had no room for.
                out = inflate.decompress(data, OUT_SIZE) if data else inflate.decompress(b"", OUT_SIZE)
                if not data and not out and not inflate.eof:
                    raise WarcTruncatedError("gzip member is truncated (the file ends inside it)", self.offset)
        except zlib.error as exc:
            raise GzipMemberError(f"gzip member is corrupt ({exc})", self.offset) from None
        if inflate.eof:
            self.length = self._source._give_back(inflate.unused_data) - self.offset
        self.size += len(out)
        if self._pos:
            self._buf = self._buf[self._pos:] + out
            self._pos = 0
        else:
            self._buf += out
        return bool(out) or self.length is None

    def read(self, size: int) -> bytes:
        """Up to `size` bytes; fewer only at the end of the member."""
        while len(self._buf) - self._pos < size and self._more():
            pass
        start = self._pos
        end = min(start + size, len(self._buf))
        self._pos = end
        return self._buf[start:end]

    def readline(self, limit: int) -> bytes:
        """One line including its LF, at most `limit` bytes (a longer line is cut)."""
        while True:
            nl = self._buf.find(b"\n", self._pos)
            if nl >= 0 and nl - self._pos < limit:
                return self.read(nl - self._pos + 1)
            if len(self._buf) - self._pos >= limit or not self._more():
                return self.read(limit)

    def peek_head(self, limit: int) -> bytes | None:
        """The bytes up to and including the first empty line (LF or CRLF) after the first, left unread.

        None when no empty line is in the next `limit` bytes (then read line
        by line to find out what is wrong).  One search instead of a
        `readline` a line: a WARC or HTTP head at C speed.
        """
        while True:
            end = _EMPTY_LINE.search(self._buf, self._pos, self._pos + limit)
            if end is not None:
                return self._buf[self._pos:end.end()]
            if len(self._buf) - self._pos >= limit or not self._more():
                return None

    def drain(self) -> int:
        """Read to the end of the member; returns how many bytes were left unread."""
        left = len(self._buf) - self._pos
        self._buf, self._pos = b"", 0
        while self._more():
            left += len(self._buf)
            self._buf = b""
        return left


class MemberReader:
    """Iterates the gzip members of a binary file from `offset` on.

    Iteration stops cleanly at end of file.  A member that is corrupt,
    truncated, or not gzip at all raises `WarcFormatError` with its offset.
    `limit` bounds how many bytes are read (for a member at a known offset).
    """

    def __init__(self, raw: BinaryIO, offset: int = 0, limit: int | None = None) -> None:
        self._raw = raw
        self._pending = b""
        self._pending_at = offset  # file offset of self._pending[0]
        self._fed_to = offset  # file offset just past everything handed out
        self._left = limit

    def _read_raw(self) -> bytes:
        size = READ_SIZE if self._left is None else min(READ_SIZE, self._left)
        if size <= 0:
            return b""
        data = self._raw.read(size)
        if self._left is not None:
            self._left -= len(data)
        return data

    def _take(self) -> bytes:
        data = self._pending or self._read_raw()
        self._pending = b""
        self._fed_to = self._pending_at + len(data)
        self._pending_at = self._fed_to
        return data

    def _give_back(self, unused: bytes) -> int:
        """Return bytes read past a member's end; gives the offset where it ended."""
        end = self._fed_to - len(unused)
        self._pending = unused
        self._pending_at = end
        self._fed_to = end
        return end

    @property
    def position(self) -> int:
        """Offset of the next unread compressed byte."""
        return self._pending_at

    def at_end(self) -> bool:
        if not self._pending:
            self._pending = self._read_raw()
        return not self._pending

    def __iter__(self) -> Iterator[Member]:
        while not self.at_end():
            if len(self._pending) < 2:
                self._pending += self._read_raw()
            if len(self._pending) < 2 and GZIP_MAGIC.startswith(self._pending):  # cut inside the magic
                raise WarcTruncatedError("gzip member is truncated (the file ends inside it)", self._pending_at)
            if not self._pending.startswith(GZIP_MAGIC):
                raise GzipMemberError("data that is not a gzip member", self._pending_at)
            member = Member(self, self._pending_at)
            yield member
            member.drain()
