"""WARC trap fixtures under /fixtures/: responses a faithful capture must keep.

None is linked from the section.  See docs/replica.md ("Fixtures") for what
each one does and what a capture of it should contain.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from replica.corpus import CST
from replica.media import ole_bytes
from replica.resource import Resource, not_found, ok, redirect

if TYPE_CHECKING:
    from replica.site import Site

FIXTURE_TIME = datetime(2021, 5, 20, 10, 0, tzinfo=CST)
GBK_FILENAME = "2021年工业运行.xls"


def _page(title: str, text: str) -> bytes:
    return (
        '<!DOCTYPE html>\r\n<html><head><meta charset="utf-8" />'
        f"<title>{title}</title></head>\r\n<body><h1>{title}</h1>\r\n<p>{text}</p>\r\n</body></html>\r\n"
    ).encode("utf-8")


def _gzip_chunked() -> Resource:
    body = _page("gzip-chunked", "这个页面总是以 gzip 压缩、分块传输发送。" * 40)
    res = ok(body, "text/html; charset=utf-8", FIXTURE_TIME, html=True, chunked=True)
    res.force_gzip = True
    return res


def _flaky(site: Site, query: str) -> Resource:
    key = dict(p.partition("=")[::2] for p in query.split("&") if p).get("key", "")
    with site.lock:
        first = key not in site.flaky_seen
        site.flaky_seen.add(key)
    if first:
        return Resource(status=503, body=b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>\r\n")
    return ok(_page("flaky", f"第二次请求成功 key={key}"), "text/html; charset=utf-8", FIXTURE_TIME, html=True)


def _cookies() -> Resource:
    res = ok(_page("cookies", "两个 Set-Cookie 头。"), "text/html; charset=utf-8", FIXTURE_TIME, html=True)
    res.headers += [
        ("Set-Cookie", b"JSESSIONID=8F1C2D3E4A5B6C7D8E9F0A1B2C3D4E5F; Path=/; HttpOnly"),
        ("Set-Cookie", b"_trs_uv=replica_uv_1; Path=/; Expires=Fri, 31 Dec 2027 16:00:00 GMT"),
    ]
    return res


def _attachment() -> Resource:
    res = ok(ole_bytes(GBK_FILENAME), "application/vnd.ms-excel", FIXTURE_TIME)
    raw_name = GBK_FILENAME.encode("gbk")
    res.headers.append(("Content-Disposition", b'attachment; filename="' + raw_name + b'"'))
    return res


def _dropped() -> Resource:
    body = (b"<html><body><p>" + b"truncated " * 600)[:5000]
    res = ok(body, "text/html; charset=utf-8", FIXTURE_TIME)
    res.declared_length = 20000
    res.etag = f'"{int(FIXTURE_TIME.timestamp()):x}-{20000:x}"'
    return res


def resolve(site: Site, name: str, query: str, host: str) -> Resource:
    """The fixture called `name` (the path after /fixtures/)."""
    if name == "gzip-chunked.html":
        return _gzip_chunked()
    if name == "redirect":
        return redirect(f"http://{host}{site.corpus.seed_entry.path}")
    if name == "flaky":
        return _flaky(site, query)
    if name == "cookies":
        return _cookies()
    if name == "attachment-gbk.xls":
        return _attachment()
    if name == "query":
        return ok(query.encode("latin-1", "replace"), "text/plain; charset=utf-8", FIXTURE_TIME)
    if name == "dropped":
        return _dropped()
    return not_found()
