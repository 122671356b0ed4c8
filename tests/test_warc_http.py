"""archive.warc.http: heads read once (every header kept), bodies streamed raw or decoded, one typed error."""

from __future__ import annotations

import gzip
import io
import itertools
import random
import zlib
from datetime import datetime, timezone
from pathlib import Path

import brotli
from backports.zstd import compress as zstd_compress
import pytest

from archive.exits import Damaged
from archive.warc import records as rec
from archive.warc.errors import BodyDecodeError, WarcError, WarcFormatError
from archive.warc.http import MAX_HEAD, HttpHeadError, open_http, parse_head, read_head
from archive.warc.writer import WarcWriter

T0 = datetime(2024, 5, 1, 8, tzinfo=timezone.utc)
INFO = {"robots": "obey", "http-header-user-agent": "UA", "operator": "op", "isPartOf": "crawl-1"}
REQ = b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n"
# 120 KB that compresses to about half: more than one piece, encoded or not.
TEXT = "".join(random.Random(1).choices("滕州市工业经济运行平稳企业项目建设。", k=40000)).encode("utf-8")


def head(*headers: tuple[str, str], status: bytes = b"200 OK") -> bytes:
    return b"HTTP/1.1 " + status + b"\r\n" + b"".join(f"{k}: {v}\r\n".encode() for k, v in headers) + b"\r\n"


def deflate_raw(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-15)
    return packer.compress(data) + packer.flush()


def write(tmp_path: Path, http_head: bytes, body: bytes, truncated: str | None = None):
    """One response record; returns (file path, its RecordRef)."""
    counter = itertools.count(1)
    with WarcWriter(tmp_path / "warc", host="h", warcinfo=INFO, clock=lambda: T0,
                    new_id=lambda: f"<urn:uuid:00000000-0000-4000-8000-{next(counter):012d}>") as writer:
        ref = writer.write_exchange(target_uri="http://x/a", date=T0, ip_address=None, request_head=REQ,
                                    response_head=http_head, response_body=body, truncated=truncated)
    return writer.finished[0], ref


def decoded(tmp_path: Path, http_head: bytes, body: bytes, truncated: str | None = None) -> bytes:
    path, ref = write(tmp_path, http_head, body, truncated)
    with open_http(path, ref.offset, ref.length) as message:
        stream = message.decoded()
        return b"".join(iter(lambda: stream.read(1000), b""))


# -- heads ---------------------------------------------------------------------------------------------

def test_every_header_kept_first_value_is_the_value():
    raw = (b"HTTP/1.1 404 Not  Found\r\nContent-Type: text/html\r\nSet-Cookie: a=1\r\n"
           b"content-type: text/plain\r\nSet-Cookie: b=2\r\nX-Folded: one\r\n  two\r\n"
           b"X-Source: \xcc\xd9\xd6\xdd\r\n\r\nbody")
    parsed = parse_head(raw)
    assert (parsed.protocol, parsed.status, parsed.reason) == ("HTTP/1.1", 404, "Not  Found")
    assert parsed.get("CONTENT-TYPE") == "text/html"
    assert parsed.get_all("content-type") == ["text/html", "text/plain"]
    assert parsed.get_all("Set-Cookie") == ["a=1", "b=2"]
    assert parsed.get("X-Folded") == "one  two"
    assert parsed.get("X-Source").encode("latin-1") == b"\xcc\xd9\xd6\xdd"  # GBK bytes, recoverable
    assert parsed.raw == raw[:-4] and parsed.get("missing") is None


def test_content_encodings_are_a_list_across_lines():
    parsed = parse_head(head(("Content-Encoding", "gzip, identity"), ("Content-Encoding", "BR")))
    assert parsed.content_encodings == ["gzip", "br"]


def test_status_line_without_a_number():
    assert parse_head(b"HTTP/1.1 abc\r\n\r\n").status is None
    assert parse_head(b"HTTP/1.0\r\n\r\n").status is None


@pytest.mark.parametrize("raw, message", [
    (b"", "empty"),
    (b"HTTP/1.1 200 OK\r\nA: b\r\n", "no blank line"),
    (b"HTTP/1.1 200 OK\r\nA: " + b"x" * MAX_HEAD + b"\r\n\r\n", "longer than"),
])
def test_unreadable_heads(raw, message):
    with pytest.raises(HttpHeadError, match=message):
        parse_head(raw)


def test_read_head_leaves_the_stream_at_the_body():
    stream = io.BytesIO(head(("A", "b")) + b"\r\nbody starts with a blank line")
    read_head(stream)
    assert stream.read() == b"\r\nbody starts with a blank line"


# -- bodies --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("codings, body", [
    ([], TEXT),
    (["identity"], TEXT),
    (["gzip"], gzip.compress(TEXT)),
    (["x-gzip"], gzip.compress(TEXT)),
    (["deflate"], zlib.compress(TEXT)),
    (["deflate"], deflate_raw(TEXT)),  # raw deflate, as some servers send it
    (["br"], brotli.compress(TEXT)),
    (["deflate", "br"], brotli.compress(zlib.compress(TEXT))),
    (["gzip", "gzip"], gzip.compress(gzip.compress(TEXT))),
    # zstd: Scrapy decodes it, so the archive's readers must too (a proof of such an image failed its own check).
    (["zstd"], zstd_compress(TEXT)),
    (["zstd"], zstd_compress(TEXT[:40000]) + zstd_compress(TEXT[40000:])),  # two frames
    (["gzip", "zstd"], zstd_compress(gzip.compress(TEXT))),
], ids=["none", "identity", "gzip", "x-gzip", "deflate", "raw-deflate", "br", "deflate-br", "gzip-gzip", "zstd",
        "zstd-frames", "gzip-zstd"])
def test_decodes_each_coding_and_chains(tmp_path, codings, body):
    headers = [("Content-Encoding", ", ".join(codings))] if codings else []
    assert decoded(tmp_path, head(("Content-Type", "text/plain"), *headers), body) == TEXT


def test_two_content_encoding_lines_make_a_chain(tmp_path):
    body = brotli.compress(gzip.compress(TEXT))
    assert decoded(tmp_path, head(("Content-Encoding", "gzip"), ("Content-Encoding", "br")), body) == TEXT


def test_gzip_members_decoded_and_trailing_bytes_ignored(tmp_path):
    body = gzip.compress(TEXT[:50000]) + gzip.compress(TEXT[50000:]) + b"\x00\x00junk after the stream"
    assert decoded(tmp_path, head(("Content-Encoding", "gzip")), body) == TEXT


def test_empty_body_whatever_its_coding(tmp_path):
    assert decoded(tmp_path, head(("Content-Encoding", "gzip")), b"") == b""


def test_raw_is_the_payload_as_archived(tmp_path):
    body = gzip.compress(TEXT)
    path, ref = write(tmp_path, head(("Content-Encoding", "gzip")), body)
    with open_http(path, ref.offset, ref.length) as message:
        raw = message.raw().read()
        assert message.warc.get("WARC-Payload-Digest") == rec.sha1_digest(raw)
        with pytest.raises(RuntimeError, match="only once"):
            message.decoded()
    assert raw == body


@pytest.mark.parametrize("coding, body, reason", [
    ("gzip", b"not gzip", "gzip:"),
    ("gzip", gzip.compress(TEXT)[:-8], "stops before its end"),  # no trailer, not marked truncated
    ("gzip", gzip.compress(TEXT)[:5000], "stops before its end"),
    ("deflate", b"\x00\xffnot deflate in any form", "deflate:"),
    ("br", b"\xff\xff not brotli", "br:"),
    ("br", brotli.compress(TEXT) + b"junk", "br:"),
    ("compress", b"x", "unsupported Content-Encoding 'compress'"),
    ("zstd", b"\x28\xb5\x2f\xfd not zstd at all", "zstd:"),
    ("zstd", zstd_compress(TEXT)[:3000], "stops before its end"),
], ids=["not-gzip", "no-trailer", "gzip-cut", "not-deflate", "not-br", "br-junk", "compress", "not-zstd", "zstd-cut"])
def test_undecodable_bodies_raise_one_typed_error_naming_the_record(tmp_path, coding, body, reason):
    with pytest.raises(BodyDecodeError, match=reason) as caught:
        decoded(tmp_path, head(("Content-Encoding", coding)), body)
    error = caught.value
    assert isinstance(error, WarcError) and isinstance(error, Damaged)
    assert error.record_id == "<urn:uuid:00000000-0000-4000-8000-000000000002>"  # the response (1 is warcinfo)
    assert error.record_id in str(error) and "http://x/a" in str(error) and "at offset" in str(error)


def test_a_record_marked_truncated_gives_what_decodes(tmp_path):
    zipped = gzip.compress(TEXT)
    body = decoded(tmp_path, head(("Content-Encoding", "gzip")), zipped[: len(zipped) // 2], truncated="length")
    assert 0 < len(body) < len(TEXT) and TEXT.startswith(body)


def test_only_http_records(tmp_path):
    counter = itertools.count(1)
    with WarcWriter(tmp_path / "warc", host="h", warcinfo=INFO, clock=lambda: T0,
                    new_id=lambda: f"<urn:uuid:{next(counter)}>") as writer:
        ref = writer.write_metadata(target_uri=rec.pageinfo_uri("http://x/a"), concurrent_to=None, date=T0,
                                    payload=b"{}")
    with pytest.raises(WarcFormatError, match="metadata record"):
        with open_http(writer.finished[0], ref.offset, ref.length):
            pass


def test_a_block_shorter_than_its_content_length(tmp_path):
    record = rec.response_record(record_id="<urn:uuid:1>", date="2024-05-01T08:00:00Z", target_uri="http://x/",
                                 ip_address=None, http_head=head(), body=TEXT)
    data = record.to_bytes()
    cut = data.replace(b"Content-Length: %d" % (len(head()) + len(TEXT)),
                       b"Content-Length: %d" % (len(head()) + len(TEXT) + 10))
    path = tmp_path / "short.warc.gz"
    path.write_bytes(gzip.compress(cut))
    with open_http(path, 0, path.stat().st_size) as message:
        with pytest.raises(WarcFormatError, match="short of its Content-Length"):
            message.raw().read()


# -- memory --------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_memory_stays_flat_reading_a_50_mb_gzip_body(tmp_path):
    from bench.warc_read import MB, read_in_child, write_big_record

    path = tmp_path / "big.warc.gz"
    length, expected = write_big_record(path, 50)
    result = read_in_child(path, length, "decoded")
    assert result["sha256"] == expected and result["bytes"] == 50 * MB
    # The body is 50 MiB decoded and 50 MiB encoded; reading it must not hold either.
    assert result["grew_mib"] < 10, result
