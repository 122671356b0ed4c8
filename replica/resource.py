"""What the site answers for one path, before HTTP framing is applied."""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from datetime import datetime

NOT_FOUND_HTML = (
    b"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
    b"<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
MOVED_HTML = (
    b"<html>\r\n<head><title>302 Found</title></head>\r\n<body>\r\n"
    b"<center><h1>302 Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


@dataclass
class Resource:
    """A response body and the facts the server needs to frame it.

    `html` bodies may be gzipped when the client accepts it; `force_gzip`
    gzips regardless.  `declared_length` makes the server announce that many
    bytes while sending only `body` and then dropping the connection.
    """

    status: int
    body: bytes = b""
    content_type: str | None = "text/html"
    etag: str | None = None
    last_modified: float | None = None  # POSIX seconds
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    chunked: bool = False
    html: bool = False
    force_gzip: bool = False
    declared_length: int | None = None
    _gzipped: bytes | None = None

    def gzipped(self) -> bytes:
        """The body gzipped (mtime 0, so the bytes are stable), computed once."""
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.body, compresslevel=6, mtime=0)
        return self._gzipped


def ok(body: bytes, content_type: str, modified: datetime, *, html: bool = False, chunked: bool = False) -> Resource:
    """A 200 with an nginx-style ETag ("mtime-length" in hex) and Last-Modified."""
    stamp = modified.timestamp()
    return Resource(
        status=200,
        body=body,
        content_type=content_type,
        etag=f'"{int(stamp):x}-{len(body):x}"',
        last_modified=stamp,
        html=html,
        chunked=chunked,
    )


def not_found() -> Resource:
    return Resource(status=404, body=NOT_FOUND_HTML)


def redirect(location: str) -> Resource:
    return Resource(status=302, body=MOVED_HTML, headers=[("Location", location.encode("ascii"))])


ERROR_TITLES = {
    400: "400 Bad Request",
    405: "405 Not Allowed",
    413: "413 Request Entity Too Large",
    429: "429 Too Many Requests",
    500: "500 Internal Server Error",
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
}


def error_page(status: int, retry_after: int | None = None) -> Resource:
    """An nginx-style error answer (400, 405, 413, 429, 500, 502, 503), with Retry-After when given."""
    title = ERROR_TITLES[status].encode("ascii")
    body = (
        b"<html>\r\n<head><title>" + title + b"</title></head>\r\n<body>\r\n<center><h1>" + title
        + b"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    headers = [("Retry-After", str(retry_after).encode("ascii"))] if retry_after is not None else []
    return Resource(status=status, body=body, headers=headers)
