"""Golden bytes of the HTTP heads rebuilt from Scrapy's request and response."""

from __future__ import annotations

from scrapy import Request
from scrapy.http import Headers, Response

from crawler.capture import WIRE, request_head, response_head, truncation


def test_request_head_keeps_query_and_host_first():
    request = Request("http://127.0.0.1:8000/xwzx/gyjj/index.html?a=1&b=%E4%B8%AD",
                      headers={"User-Agent": "portal-archive/0.1", "Accept-Encoding": "gzip, deflate"})
    assert request_head(request) == (
        b"GET /xwzx/gyjj/index.html?a=1&b=%E4%B8%AD HTTP/1.1\r\n"
        b"Host: 127.0.0.1:8000\r\n"
        b"User-Agent: portal-archive/0.1\r\n"
        b"Accept-Encoding: gzip, deflate\r\n"
        b"\r\n"
    )


def test_response_head_from_the_wire():
    headers = Headers()
    headers.appendlist(b"Content-Type", b"application/vnd.ms-excel")
    headers.appendlist(b"Set-Cookie", b"a=1")
    headers.appendlist(b"Set-Cookie", b"b=2")
    headers.appendlist(b"Content-Disposition", 'attachment; filename="工业.xls"'.encode("gbk"))
    headers.appendlist(WIRE + b"Transfer-Encoding", b"chunked")
    headers.appendlist(WIRE + b"Connection", b"keep-alive")
    headers.appendlist(WIRE + b"Reason", b"Okay Then")
    response = Response("http://x/a.xls", status=200, headers=headers, body=b"12345", protocol="HTTP/1.0")
    assert response_head(response) == (
        b"HTTP/1.0 200 Okay Then\r\n"
        b"Content-Type: application/vnd.ms-excel\r\n"
        b"Set-Cookie: a=1\r\n"
        b"Set-Cookie: b=2\r\n"
        b"Content-Disposition: " + 'attachment; filename="工业.xls"'.encode("gbk") + b"\r\n"
        b"X-Orig-Transfer-Encoding: chunked\r\n"
        b"Connection: keep-alive\r\n"
        b"Content-Length: 5\r\n"
        b"\r\n"
    )


def test_truncated_body_keeps_declared_length():
    headers = Headers({b"Content-Length": b"20000"})
    response = Response("http://x/", status=200, headers=headers, body=b"x" * 5000, flags=["dataloss"])
    head = response_head(response)
    assert b"X-Orig-Content-Length: 20000\r\nContent-Length: 5000\r\n" in head
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert truncation(response) == "disconnect"


def test_304_has_no_invented_length():
    response = Response("http://x/", status=304, headers=Headers({b"ETag": b'"abc"'}), body=b"")
    assert response_head(response) == b"HTTP/1.1 304 Not Modified\r\nEtag: \"abc\"\r\n\r\n"
