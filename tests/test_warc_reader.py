"""Member-by-member reading: offsets, lengths and errors, at every buffer boundary."""

from __future__ import annotations

import gzip
import io
import zlib

import pytest

from archive.warc import members
from archive.warc.errors import GzipMemberError, WarcFormatError, WarcTruncatedError
from archive.warc.members import MemberReader
from archive.warc.reader import read_member_at, read_warc_head

RECORD = (b"WARC/1.1\r\nWARC-Type: resource\r\nWARC-Record-ID: <urn:uuid:%d>\r\n"
          b"Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s\r\n\r\n")


def record(n: int, size: int) -> bytes:
    body = bytes((n + i) % 251 for i in range(size))
    return RECORD % (n, size, body)


def gz(data: bytes, level: int = 6) -> bytes:
    deflate = zlib.compressobj(level, zlib.DEFLATED, 31)
    return deflate.compress(data) + deflate.flush()


PLAIN = [record(n, size) for n, size in enumerate([0, 10, 3000, 70_000, 5])]
MEMBERS = [gz(p, level) for p, level in zip(PLAIN, [6, 0, 9, 1, 6])]
FILE = b"".join(MEMBERS)
OFFSETS = [sum(len(m) for m in MEMBERS[:i]) for i in range(len(MEMBERS))]


@pytest.mark.parametrize("read_size, out_size", [(7, 5), (64, 1), (1 << 16, 1 << 16), (3, 100_000)])
def test_members_are_found_at_any_buffer_size(monkeypatch, read_size: int, out_size: int) -> None:
    monkeypatch.setattr(members, "READ_SIZE", read_size)
    monkeypatch.setattr(members, "OUT_SIZE", out_size)
    seen = []
    for member in MemberReader(io.BytesIO(FILE)):
        head = read_warc_head(member)
        rest = member.read(10**6)
        seen.append((member.offset, member.length, head.size + len(rest)))
        assert member.read(1) == b""
    assert seen == [(o, len(m), len(p)) for o, m, p in zip(OFFSETS, MEMBERS, PLAIN)]


def test_undrained_members_are_skipped_correctly(monkeypatch) -> None:
    monkeypatch.setattr(members, "READ_SIZE", 11)
    offsets = [(m.offset, m.readline(100)) for m in MemberReader(io.BytesIO(FILE))]
    assert offsets == [(o, b"WARC/1.1\r\n") for o in OFFSETS]


def test_truncated_and_corrupt_members_raise_with_their_offset() -> None:
    with pytest.raises(WarcTruncatedError) as info:
        for member in MemberReader(io.BytesIO(FILE[:-3])):
            member.drain()
    assert info.value.offset == OFFSETS[-1]
    with pytest.raises(WarcTruncatedError):
        list(MemberReader(io.BytesIO(FILE + b"\x1f")))
    broken = bytearray(FILE)
    broken[OFFSETS[2] + 30] ^= 0x55
    with pytest.raises(GzipMemberError, match="corrupt") as info:
        for member in MemberReader(io.BytesIO(bytes(broken))):
            member.drain()
    assert info.value.offset == OFFSETS[2]
    with pytest.raises(GzipMemberError, match="not a gzip member"):
        list(MemberReader(io.BytesIO(FILE + b"\r\n")))


def test_read_member_at_checks_the_exact_span() -> None:
    fh = io.BytesIO(FILE)
    head, block = read_member_at(fh, OFFSETS[2], len(MEMBERS[2]), keep_block=True)
    assert head.record_id == "<urn:uuid:2>" and block == bytes((2 + i) % 251 for i in range(3000))
    with pytest.raises(WarcTruncatedError, match="does not end within"):
        read_member_at(fh, OFFSETS[2], len(MEMBERS[2]) - 1)
    with pytest.raises(WarcFormatError, match="bytes long, not"):
        read_member_at(fh, OFFSETS[2], len(MEMBERS[2]) + 1)
    with pytest.raises(WarcFormatError):
        read_member_at(fh, OFFSETS[2] + 1, len(MEMBERS[2]))
    with pytest.raises(WarcFormatError, match="past the end"):
        read_member_at(fh, len(FILE), 10)


@pytest.mark.parametrize("data, message", [
    (b"HTTP/1.1 200 OK\r\n\r\n", "WARC version line"),
    (b"WARC/1.1\r\nWARC-Type: x\r\n", "before its blank line"),
    (b"WARC/1.1\r\nno colon here\r\n\r\n", "malformed"),
    (b"WARC/1.1\r\nX: \xff\r\n\r\n", "not UTF-8"),
])
def test_bad_heads_are_format_errors(data: bytes, message: str) -> None:
    member = next(iter(MemberReader(io.BytesIO(gzip.compress(data)))))
    with pytest.raises(WarcFormatError, match=message):
        read_warc_head(member)


def test_folded_header_lines_and_case_insensitive_names() -> None:
    data = b"WARC/1.0\r\nwarc-type: response\r\nX-Long: a\r\n  b\r\n\r\n"
    head = read_warc_head(next(iter(MemberReader(io.BytesIO(gzip.compress(data))))))
    assert head.version == "WARC/1.0" and head.type == "response"
    assert head.get("x-long") == "a b" and head.content_length is None
