"""The replica over real HTTP on 127.0.0.1: framing, caching headers, editions, fixtures, CLI."""

from __future__ import annotations

import gzip
import http.client
import signal
import socket
import subprocess
import sys
import time

import pytest

from replica.corpus import Corpus
from replica.server import ReplicaServer, accepts_gzip
from replica.truth import removed_records, truth_records

SEED_PATH = "/xwzx/gyjj/202103/t20210315_6187593.html"


@pytest.fixture(scope="module")
def server():
    with ReplicaServer(articles=300, edition=1, seed=1, port=0) as running:
        yield running


def get(server, path, headers=None, method="GET", conn=None):
    """(response, body bytes) over a fresh connection unless one is given."""
    conn = conn or http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request(method, path, headers=headers or {})
    response = conn.getresponse()
    return response, response.read()


def raw_exchange(server, request: bytes) -> bytes:
    """Send raw bytes and read until the server closes (for framing the client would hide)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
    return b"".join(chunks)


def test_urls_and_basic_headers(server):
    assert server.base_url == f"http://127.0.0.1:{server.port}"
    assert server.section_url == server.base_url + "/xwzx/gyjj/index.html"
    response, body = get(server, "/xwzx/gyjj/index.html")
    assert response.status == 200 and response.version == 11
    for name in ("Server", "Date", "ETag", "Last-Modified", "Accept-Ranges"):
        assert response.getheader(name), name
    assert response.getheader("Content-Type") == "text/html; charset=utf-8"
    assert b"createPageHTML(15, 0" in body


def test_robots_txt(server):
    response, body = get(server, "/robots.txt")
    assert response.status == 200 and response.getheader("Content-Type").startswith("text/plain")
    assert body.split(b"\r\n")[:3] == [b"User-agent: *", b"Disallow: /protect/", b"Disallow: /search/"]


def test_gzip_only_when_accepted_and_only_html(server):
    plain, body = get(server, SEED_PATH)
    zipped, zbody = get(server, SEED_PATH, {"Accept-Encoding": "gzip, deflate"})
    assert plain.getheader("Content-Encoding") is None
    assert zipped.getheader("Content-Encoding") == "gzip" and gzip.decompress(zbody) == body
    refused, rbody = get(server, SEED_PATH, {"Accept-Encoding": "gzip;q=0, identity"})
    assert refused.getheader("Content-Encoding") is None and rbody == body
    css, _ = get(server, "/css/style.css", {"Accept-Encoding": "gzip"})
    assert css.getheader("Content-Encoding") is None
    assert accepts_gzip("br, gzip;q=0.5") and not accepts_gzip("deflate")


def test_chunked_on_list_pages_and_some_articles(server):
    raw = raw_exchange(server, b"GET /xwzx/gyjj/index_1.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head and b"Content-Length" not in head
    assert body.endswith(b"0\r\n\r\n")
    chunked = [e for e in server.corpus.entries if e.chunked]
    plain = [e for e in server.corpus.entries if not e.chunked]
    response, body = get(server, chunked[0].path)
    assert response.getheader("Transfer-Encoding") == "chunked" and body.startswith(b"<!DOCTYPE")
    response, body = get(server, plain[0].path)
    assert int(response.getheader("Content-Length")) == len(body)
    # an HTTP/1.0 client never gets chunks
    raw = raw_exchange(server, b"GET /xwzx/gyjj/index.html HTTP/1.0\r\n\r\n")
    assert b"Content-Length:" in raw.partition(b"\r\n\r\n")[0]


def test_304_on_etag_and_date(server):
    first, body = get(server, SEED_PATH)
    etag, modified = first.getheader("ETag"), first.getheader("Last-Modified")
    again, empty = get(server, SEED_PATH, {"If-None-Match": etag})
    assert again.status == 304 and empty == b"" and again.getheader("ETag") == etag
    again, _ = get(server, SEED_PATH, {"If-Modified-Since": modified})
    assert again.status == 304
    changed, body2 = get(server, SEED_PATH, {"If-None-Match": '"other"'})
    assert changed.status == 200 and body2 == body
    older, _ = get(server, SEED_PATH, {"If-Modified-Since": "Mon, 01 Jan 2018 00:00:00 GMT"})
    assert older.status == 200


def test_keep_alive_serves_many_requests_on_one_connection(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    for entry in server.corpus.entries[:30]:
        response, body = get(server, entry.path, {"Accept-Encoding": "gzip"}, conn=conn)
        assert response.status == 200 and response.getheader("Connection") == "keep-alive"
    response, _ = get(server, "/xwzx/gyjj/index.html", method="HEAD", conn=conn)
    assert response.status == 200 and int(response.getheader("Content-Length")) > 1000
    conn.close()


def test_gbk_article_over_http(server):
    entry = next(e for e in server.corpus.entries if e.charset == "gbk")
    response, body = get(server, entry.path)
    assert response.getheader("Content-Type") == "text/html; charset=GBK"
    assert "工业经济" in body.decode("gbk")


def test_images_attachments_and_404(server):
    seed = next(r for r in truth_records(server.corpus) if r["url"] == SEED_PATH)
    response, body = get(server, seed["images"][0]["url"])
    assert response.getheader("Content-Type") == "image/jpeg" and body[:3] == b"\xff\xd8\xff"
    with_pdf = next(r for r in truth_records(server.corpus) if any(a["url"].endswith(".pdf") for a in r["attachments"]))
    pdf = next(a for a in with_pdf["attachments"] if a["url"].endswith(".pdf"))
    response, body = get(server, pdf["url"])
    assert response.getheader("Content-Type") == "application/pdf" and body.startswith(b"%PDF-1.4")
    assert body.rstrip().endswith(b"%%EOF")
    for path in ("/nope.html", "/xwzx/gyjj/202103/t20210315_1234567.html", "/xwzx/", "/xwzx/gyjj/index_99.html"):
        assert get(server, path)[0].status == 404, path
    home, body = get(server, "/")
    assert home.status == 200 and b"xwzx/gyjj/index.html" in body


def test_editions_differ_over_http_as_truth_says():
    one = {r["url"]: r for r in truth_records(Corpus(300, 1))}
    with ReplicaServer(articles=300, edition=1) as first, ReplicaServer(articles=300, edition=2) as second:
        truth = list(truth_records(second.corpus))
        for record in truth:
            if record["change"] is None:
                a, b = get(first, record["url"]), get(second, record["url"])
                assert a[1] == b[1] and a[0].getheader("ETag") == b[0].getheader("ETag")
                break
        edited = [r for r in truth if r["change"] == "edited"]
        for record in edited:
            a, b = get(first, record["url"]), get(second, record["url"])
            assert a[1] != b[1] and a[0].getheader("ETag") != b[0].getheader("ETag")
            assert a[0].getheader("Last-Modified") != b[0].getheader("Last-Modified")
        new = [r for r in truth if r["change"] == "new"]
        assert new and all(r["url"] not in one for r in new)
        assert get(first, new[0]["url"])[0].status == 404 and get(second, new[0]["url"])[0].status == 200
        for record in removed_records(second.corpus):
            response, _ = get(second, record["url"])
            if record["how"] == "404":
                assert response.status == 404
            else:
                assert response.status == 302 and response.getheader("Location") == f"http://127.0.0.1:{second.port}/"
            assert get(second, record["images"][0]["url"])[0].status == 404 if record["images"] else True


def test_fixture_gzip_chunked(server):
    raw = raw_exchange(server, b"GET /fixtures/gzip-chunked.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head and b"Content-Encoding: gzip" in head
    payload, rest = b"", body
    while True:
        size, _, rest = rest.partition(b"\r\n")
        if int(size, 16) == 0:
            break
        payload, rest = payload + rest[: int(size, 16)], rest[int(size, 16) + 2 :]
    assert gzip.decompress(payload).startswith(b"<!DOCTYPE html>")


def test_fixture_redirect_cookies_query_and_gbk_filename(server):
    response, _ = get(server, "/fixtures/redirect")
    assert response.status == 302 and response.getheader("Location").endswith(SEED_PATH)
    response, _ = get(server, "/fixtures/cookies")
    assert len(response.headers.get_all("Set-Cookie")) == 2
    response, body = get(server, "/fixtures/query?a=1&b=2")
    assert body == b"a=1&b=2"
    response, body = get(server, "/fixtures/attachment-gbk.xls")
    disposition = response.getheader("Content-Disposition").encode("latin-1")  # http.client decodes as latin-1
    assert disposition == b'attachment; filename="' + "2021年工业运行.xls".encode("gbk") + b'"'
    assert body.startswith(b"\xd0\xcf\x11\xe0")


def test_fixture_flaky_fails_once_per_key(server):
    assert get(server, "/fixtures/flaky?key=t1")[0].status == 503
    assert get(server, "/fixtures/flaky?key=t1")[0].status == 200
    assert get(server, "/fixtures/flaky?key=t2")[0].status == 503


def test_fixture_dropped_connection(server):
    raw = raw_exchange(server, b"GET /fixtures/dropped HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"Content-Length: 20000" in head and len(body) == 5000
    with pytest.raises(http.client.IncompleteRead):
        get(server, "/fixtures/dropped")


def test_serve_command_prints_its_url_and_stops_on_sigterm():
    proc = subprocess.Popen(
        [sys.executable, "-c", "from archive.cli import main; main()", "replica", "serve", "--articles", "50"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("Replica portal serving http://127.0.0.1:")
        assert line.endswith("/xwzx/gyjj/index.html (50 articles, edition 1)")
        port = int(line.split(":")[2].split("/")[0])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/xwzx/gyjj/index.html")
        assert conn.getresponse().status == 200
        conn.close()
        time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert proc.stderr.read() == ""  # quiet by default
    finally:
        if proc.poll() is None:
            proc.kill()


def test_server_refuses_non_loopback_hosts():
    from replica.errors import ReplicaConfigError

    with pytest.raises(ReplicaConfigError):
        ReplicaServer(articles=10, host="0.0.0.0")


def test_latency_delays_every_answer_and_bad_latency_is_refused():
    from replica.errors import ReplicaConfigError

    slow = ReplicaServer(articles=3, latency=0.4, host="127.0.0.2").start()
    try:
        for path in ("/robots.txt", "/xwzx/gyjj/index.html"):
            started = time.monotonic()
            conn = http.client.HTTPConnection(slow.host, slow.port, timeout=10)
            conn.request("GET", path)
            assert conn.getresponse().status == 200
            assert time.monotonic() - started >= 0.4
            conn.close()
    finally:
        started = time.monotonic()
        slow.stop()
        assert time.monotonic() - started < 5
    for bad in (-0.1, 61):
        with pytest.raises(ReplicaConfigError, match="latency"):
            ReplicaServer(articles=3, latency=bad)
    result = subprocess.run([sys.executable, "-m", "archive", "replica", "serve", "--latency", "-1"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--latency" in result.stderr
