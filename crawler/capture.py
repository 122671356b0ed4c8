"""What went over the wire, rebuilt as HTTP bytes for a WARC record.

Scrapy hands us the response at `response_downloaded`, before any downloader
middleware has decoded it: the body is still content-encoded and redirects
are still visible.  What Scrapy does not keep we reconstruct as faithfully as
it allows, and say so where we change anything (`X-Orig-*` headers).
"""

from __future__ import annotations

from datetime import datetime, timezone
from http import HTTPStatus
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.core.downloader.handlers import http11
from scrapy.http import Response

CAPTURE_START = "archive_capture_start"

# What Twisted parses away before Scrapy sees a response (the reason phrase
# and the connection-control headers) is passed along under this prefix and
# taken back out by `response_head`.
WIRE = b"X-Archive-Wire-"
# Framing that Twisted has undone: it describes bytes we no longer hold, so it
# is kept only as X-Orig-*.
_FRAMING = {b"transfer-encoding", b"te", b"trailers"}


class _WireParser(http11._LenientHTTPClientParser):
    def allHeadersReceived(self) -> None:
        # The Response object shares this Headers instance; add before the
        # body is handed on, so even an empty body carries them.
        headers = self.headers
        for name, values in self.connHeaders.getAllRawHeaders():
            if name.lower() != b"content-length":  # Scrapy restores it itself
                for value in values:
                    headers.addRawHeader(WIRE + name, value)
        if self.response is not None and self.response.phrase:
            headers.addRawHeader(WIRE + b"Reason", self.response.phrase)
        super().allHeadersReceived()


class _WireProtocol(http11._LenientHTTP11ClientProtocol):
    def request(self, request):  # type: ignore[no-untyped-def]
        deferred = super().request(request)
        # Same trick as Scrapy's own: swap the class of the parser it made.
        self._parser.__class__ = _WireParser
        return deferred


class _WireFactory(http11._LenientHTTP11ClientFactory):
    def buildProtocol(self, addr):  # type: ignore[no-untyped-def]
        return _WireProtocol(self._quiescentCallback)


class CaptureDownloadHandler(http11.HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 handler, keeping what a WARC record needs.

    * It stamps when each exchange really starts: downloader middlewares run
      before the slot delay, so only the handler knows the moment the request
      leaves; that moment is the WARC-Date.
    * It keeps the reason phrase and the connection-control headers
      (Transfer-Encoding, Connection…) that Twisted consumes.
    """

    def __init__(self, crawler):  # type: ignore[no-untyped-def]
        super().__init__(crawler)
        self._pool._factory = _WireFactory

    async def download_request(self, request: Request) -> Response:
        request.meta[CAPTURE_START] = datetime.now(timezone.utc)
        return await super().download_request(request)


def capture_start(request: Request) -> datetime:
    return request.meta.get(CAPTURE_START) or datetime.now(timezone.utc)


def request_head(request: Request) -> bytes:
    """The request line and headers as sent, `Host` first, query kept."""
    parts = urlsplit(request.url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    lines = [f"{request.method} {target} HTTP/1.1".encode("latin-1")]
    host = parts.netloc.rsplit("@", 1)[-1].encode("idna" if not parts.netloc.isascii() else "ascii")
    lines.append(b"Host: " + host)
    for name, values in request.headers.items():
        if name.lower() == b"host":
            continue
        for value in values:
            lines.append(name + b": " + value)
    if request.body and b"Content-Length" not in request.headers:
        lines.append(b"Content-Length: " + str(len(request.body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n"


def response_head(response: Response) -> bytes:
    """Status line from the real protocol, every value of every header, bytes kept.

    Twisted strips the framing headers and Scrapy re-adds `Content-Length`
    only when the server sent one, so a missing length is written as the
    length of the body we hold, and the change is marked `X-Orig-*`.
    """
    protocol = (response.protocol or "HTTP/1.1").encode("ascii")
    reason = response.headers.get(WIRE + b"Reason")
    if reason is None:
        try:
            reason = HTTPStatus(response.status).phrase.encode("ascii")
        except ValueError:
            reason = b""
    lines = [protocol + b" " + str(response.status).encode() + (b" " + reason if reason else b"")]
    has_length = False
    for name, values in response.headers.items():
        if name.startswith(WIRE):
            name = name[len(WIRE):]
            if name == b"Reason":
                continue
        lowered = name.lower()
        if lowered in _FRAMING:
            for value in values:
                lines.append(b"X-Orig-" + name + b": " + value)
            continue
        if lowered == b"content-length":
            has_length = True
            declared = values[-1] if values else b""
            if declared.strip() != str(len(response.body)).encode():
                # A truncated body: keep what the server declared.
                lines.extend(b"X-Orig-Content-Length: " + v for v in values)
                lines.append(b"Content-Length: " + str(len(response.body)).encode())
                continue
        lines.extend(name + b": " + value for value in values)
    if not has_length and (response.body or response.status not in (204, 304)):
        lines.append(b"Content-Length: " + str(len(response.body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n"


def truncation(response: Response) -> str | None:
    """The WARC-Truncated reason for a response, if its body is incomplete."""
    if "dataloss" in response.flags:
        return "disconnect"
    return None
