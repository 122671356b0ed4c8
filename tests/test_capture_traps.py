"""Each WARC trap of the replica, captured by the real pipeline over real HTTP.

The records are read back with our own member reader, so header bytes are
seen exactly as stored (warcio would decode them).
"""

from __future__ import annotations

import gzip
import subprocess
import sys

import pytest

from archive.warc.http import parse_head
from archive.warc.reader import iter_records, read_record
from replica.launch import ReplicaProcess
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e

FIXTURES = [
    "/fixtures/gzip-chunked.html",
    "/fixtures/redirect",
    "/fixtures/flaky?key=warc",
    "/fixtures/cookies",
    "/fixtures/attachment-gbk.xls",
    "/fixtures/query?a=1&b=%E4%B8%AD",
    "/fixtures/dropped",
]


@pytest.fixture(scope="module")
def captured(tmp_path_factory):
    data = tmp_path_factory.mktemp("traps")
    with ReplicaProcess(articles=30) as replica:
        urls = ",".join(replica.base_url + path for path in FIXTURES)
        result = subprocess.run(
            [sys.executable, "-m", "scrapy", "runspider", str(ROOT / "tests" / "capture_spider.py"),
             "-a", f"urls={urls}", "-s", f"ARCHIVE_DATA_DIR={data}", "-s", "LOG_LEVEL=INFO",
             "-s", "RETRY_TIMES=2", "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        base = replica.base_url
    records = []
    for path in sorted((data / "warc").glob("*.warc.gz")):
        for stored in iter_records(path):
            head, block = read_record(path, stored.offset, stored.length)
            records.append((head, block))
    return base, records, result.stderr


def _responses(captured, path):
    base, records, _ = captured
    found = []
    for head, block in records:
        if head.get("WARC-Type") == "response" and head.get("WARC-Target-URI") == base + path:
            http_head = parse_head(block).raw
            body = block[len(http_head):]
            found.append((head, http_head, body))
    return found


def _requests(captured, path):
    base, records, _ = captured
    return [(head, block) for head, block in records
            if head.get("WARC-Type") == "request" and head.get("WARC-Target-URI") == base + path]


def test_gzip_over_chunked_keeps_gzip_bytes(captured):
    [(head, http_head, body)] = _responses(captured, "/fixtures/gzip-chunked.html")
    assert body[:2] == b"\x1f\x8b" and gzip.decompress(body)
    assert b"\r\nContent-Encoding: gzip\r\n" in http_head
    assert b"\r\nTransfer-Encoding:" not in http_head
    assert b"\r\nX-Orig-Transfer-Encoding: chunked\r\n" in http_head
    assert f"\r\nContent-Length: {len(body)}\r\n".encode() in http_head


def test_redirect_is_its_own_capture(captured):
    [(head, http_head, body)] = _responses(captured, "/fixtures/redirect")
    assert http_head.startswith(b"HTTP/1.1 302 ")
    assert b"\r\nLocation: " in http_head


def test_each_retried_attempt_is_captured(captured):
    statuses = sorted(http_head.split(b" ", 2)[1] for _, http_head, _ in _responses(captured, "/fixtures/flaky?key=warc"))
    assert statuses == [b"200", b"503"]


def test_repeated_headers_all_kept(captured):
    [(head, http_head, body)] = _responses(captured, "/fixtures/cookies")
    assert http_head.count(b"\r\nSet-Cookie: ") == 2


def test_gbk_header_bytes_verbatim(captured):
    [(head, http_head, body)] = _responses(captured, "/fixtures/attachment-gbk.xls")
    assert "2021年工业运行.xls".encode("gbk") in http_head


def test_query_string_in_request_line_and_uri(captured):
    [(head, block)] = _requests(captured, "/fixtures/query?a=1&b=%E4%B8%AD")
    assert block.startswith(b"GET /fixtures/query?a=1&b=%E4%B8%AD HTTP/1.1\r\n")
    host = captured[0].split("//", 1)[1]
    assert f"\r\nHost: {host}\r\n".encode() in block or block.split(b"\r\n")[1] == f"Host: {host}".encode()


def test_dropped_connection_is_truncated(captured):
    attempts = _responses(captured, "/fixtures/dropped")
    assert len(attempts) == 3  # the first try and RETRY_TIMES=2 retries, each kept
    for head, http_head, body in attempts:
        assert head.get("WARC-Truncated") in ("disconnect", "length")
        assert len(body) == 5000
        assert b"\r\nX-Orig-Content-Length: 20000\r\n" in http_head


def test_pairs_share_date_and_link(captured):
    _, records, _ = captured
    responses = {h.get("WARC-Record-ID"): h for h, _ in records if h.get("WARC-Type") == "response"}
    requests = [h for h, _ in records if h.get("WARC-Type") == "request"]
    assert requests and len(requests) == len(responses)
    for request in requests:
        response = responses[request.get("WARC-Concurrent-To")]
        assert response.get("WARC-Date") == request.get("WARC-Date")
        assert response.get("WARC-Target-URI") == request.get("WARC-Target-URI")
        assert response.get("WARC-IP-Address") == "127.0.0.1"
