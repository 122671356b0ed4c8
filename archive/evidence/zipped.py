"""Reading entries of a zip (a WACZ) as seekable files, without unpacking them.

WACZ stores its WARC files uncompressed, so an entry's bytes are one span of
the zip file: `entry_file` opens that span directly, and records are read
with plain seeks.  (zipfile's own reader would re-read the entry from its
start for every backward seek.)  A compressed entry falls back to zipfile.
"""

from __future__ import annotations

import io
import struct
import zipfile
from typing import BinaryIO

LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
LOCAL_MAGIC = b"PK\x03\x04"


class Span(io.RawIOBase):
    """A read-only, seekable view of `size` bytes of `raw` starting at `start`."""

    def __init__(self, raw: BinaryIO, start: int, size: int) -> None:
        self._raw = raw
        self._start = start
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:  # type: ignore[override]
        left = self._size - self._pos
        if left <= 0:
            return 0
        view = memoryview(buffer)[: min(len(buffer), left)]
        self._raw.seek(self._start + self._pos)
        count = self._raw.readinto(view)
        self._pos += count or 0
        return count or 0

    def close(self) -> None:
        self._raw.close()
        super().close()


def entry_file(path: str, info: zipfile.ZipInfo) -> BinaryIO:
    """The entry's bytes as a seekable binary file (close it when done)."""
    if info.compress_type != zipfile.ZIP_STORED:
        return zipfile.ZipFile(path).open(info)
    raw = open(path, "rb")
    try:
        raw.seek(info.header_offset)
        header = raw.read(LOCAL_HEADER.size)
        fields = LOCAL_HEADER.unpack(header) if len(header) == LOCAL_HEADER.size else None
        if fields is None or fields[0] != LOCAL_MAGIC:
            raise zipfile.BadZipFile(f"no local header for {info.filename} at {info.header_offset}")
        name_length, extra_length = fields[9], fields[10]
        start = info.header_offset + LOCAL_HEADER.size + name_length + extra_length
    except BaseException:
        raw.close()
        raise
    return io.BufferedReader(Span(raw, start, info.file_size), buffer_size=64 * 1024)
