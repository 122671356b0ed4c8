"""What went over the wire, rebuilt as HTTP bytes for a WARC record.

Scrapy hands us the response at `response_downloaded`, before any downloader
middleware has decoded it: the body is still content-encoded and redirects
are still visible.  What Scrapy does not keep we reconstruct as faithfully as
it allows, and say so where we change anything (`X-Orig-*` headers).

Keeping the reason phrase and the connection headers means relying on
private parts of Scrapy's HTTP/1.1 handler and of Twisted's HTTP client:

* `http11._LenientHTTPClientParser`, `_LenientHTTP11ClientProtocol` and
  `_LenientHTTP11ClientFactory`, subclassed here;
* the parser's `headers`, `connHeaders`, `response.phrase` and its
  `allHeadersReceived` hook; the protocol's `_parser`, whose class is swapped
  as Scrapy itself does; the factory's `_quiescentCallback`;
* the handler's `_pool`, a Twisted `HTTPConnectionPool` whose `_factory`
  builds every connection and can be replaced.

They can change in any release (pyproject.toml pins the tested versions), so
the handler checks them all when the crawl starts (`check_internals`) and, if
one is gone, stops the crawl (exit 3) with a message that names it: a crawl
that fetched without capturing would lose its evidence.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timezone
from http import HTTPStatus
from importlib.metadata import version
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.core.downloader.handlers import http11
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.python.failure import Failure
from twisted.web import client as twisted_client
from twisted.web.http_headers import Headers as TwistedHeaders

logger = logging.getLogger(__name__)

CAPTURE_START = "archive_capture_start"
# The versions this module was tested with (pyproject.toml pins the same).
TESTED_WITH = {"Scrapy": "2.19", "Twisted": "25.5, 26.4 and 26.10"}
STOPPED = "capture_unavailable"  # the finish reason of a crawl the check stopped

# What Twisted parses away before Scrapy sees a response (the reason phrase
# and the connection-control headers) is passed along under this prefix and
# taken back out by `response_head`.  Its number is this process's secret: a
# server's own `X-Archive-Wire-…` header is archived as sent and can fake nothing.
WIRE = b"X-Archive-Wire-%d-" % secrets.randbelow(10**12)
# Under WIRE: a body without a length (ended by the connection's close) whose connection was reset, not closed.
CUT = b"Cut"
# Under WIRE: the server sent no Content-Length (Scrapy writes Twisted's `length`, 0 for a 204 or a 304).
UNSIZED = b"Unsized"
# Framing that Twisted has undone: it describes bytes we no longer hold, so it
# is kept only as X-Orig-*.
_FRAMING = {b"transfer-encoding", b"te", b"trailers"}


def _private(name: str) -> type:
    # A class Scrapy no longer has leaves an inert stand-in, so this module
    # still imports and `check_internals` can say what is missing.
    return getattr(http11, name, object)


class _WireParser(_private("_LenientHTTPClientParser")):
    def allHeadersReceived(self) -> None:
        # The Response object shares this Headers instance; add before the
        # body is handed on, so even an empty body carries them.
        headers = self.headers
        if not self.connHeaders.hasHeader(b"content-length"):
            headers.addRawHeader(WIRE + UNSIZED, b"1")
        for name, values in self.connHeaders.getAllRawHeaders():
            if name.lower() != b"content-length":  # Scrapy restores it itself
                for value in values:
                    headers.addRawHeader(WIRE + name, value)
        phrase = getattr(self.response, "phrase", None)  # its absence is reported by `check_internals`
        if phrase is not None:  # empty: the server sent none (none is written, not "OK")
            headers.addRawHeader(WIRE + b"Reason", phrase)
        super().allHeadersReceived()

    def connectionLost(self, reason=None):  # type: ignore[no-untyped-def]
        # A body with no length ends when the connection does: Twisted calls it potential data loss (Scrapy's
        # `partial`) whether the server closed it or it was reset mid-body.  A reset is a cut body.
        decoder = self.bodyDecoder
        if (decoder is not None and getattr(decoder, "contentLength", 0) is None and reason is not None
                and not reason.check(ConnectionDone)):
            self.headers.addRawHeader(WIRE + CUT, b"disconnect")
        super().connectionLost(reason)


class _WireProtocol(_private("_LenientHTTP11ClientProtocol")):
    def request(self, request):  # type: ignore[no-untyped-def]
        deferred = super().request(request)
        # Same trick as Scrapy's own: swap the class of the parser it made.
        self._parser.__class__ = _WireParser
        return deferred


class _WireFactory(_private("_LenientHTTP11ClientFactory")):
    def buildProtocol(self, addr):  # type: ignore[no-untyped-def]
        return _WireProtocol(self._quiescentCallback)


class CaptureDownloadHandler(http11.HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 handler, keeping what a WARC record needs.

    * It stamps when each exchange really starts: downloader middlewares run
      before the slot delay, so only the handler knows the moment the request
      leaves; that moment is the WARC-Date.
    * It keeps the reason phrase and the connection-control headers
      (Transfer-Encoding, Connection…) that Twisted consumes.

    It is built when the engine starts (not lazily).  If Scrapy or Twisted
    lack what it relies on, it raises `NotConfigured`; Scrapy would only
    note that and fail each request with "Unsupported URL scheme", so it
    first marks the crawl failed (`archive/fatal`, exit 3) and stops the
    spider as soon as it opens.
    """

    lazy = False

    def __init__(self, crawler):  # type: ignore[no-untyped-def]
        try:
            check_internals()
            try:
                super().__init__(crawler)
            except NotConfigured as error:  # e.g. TWISTED_REACTOR_ENABLED is off
                raise NotConfigured(f"WARC capture needs Scrapy's Twisted HTTP/1.1 handler: {error}") from error
            if not isinstance(getattr(self, "_pool", None), twisted_client.HTTPConnectionPool):
                raise NotConfigured(_unsupported(
                    "HTTP11DownloadHandler._pool", "the handler no longer keeps a Twisted HTTPConnectionPool"))
        except NotConfigured as error:
            _refuse(crawler, str(error))
            raise
        self._pool._factory = _WireFactory

    async def download_request(self, request: Request) -> Response:
        request.meta[CAPTURE_START] = datetime.now(timezone.utc)
        return await super().download_request(request)


def versions_found() -> dict[str, str]:
    return {"Scrapy": version("scrapy"), "Twisted": version("twisted")}


def _unsupported(piece: str, detail: str, what: str = "WARC capture", module: str = "crawler/capture.py") -> str:
    found = ", ".join(f"{name} {number}" for name, number in versions_found().items())
    tested = ", ".join(f"{name} {number}" for name, number in TESTED_WITH.items())
    return (f"{what} cannot work with this Scrapy/Twisted: {piece}: {detail}. "
            f"Found {found}; tested with {tested}. Install the tested versions "
            f"(pip install -e . in the project) or adapt {module}.")


def check_internals() -> None:
    """Raise `NotConfigured`, naming the piece, unless capture's private hooks all work here.

    Beyond checking that the names exist, it drives one response through the
    wire factory, protocol and parser over an in-memory transport, and one
    connection through a pool whose factory was swapped: no socket, no
    reactor, a few hundred microseconds.
    """
    for name, method in (("_LenientHTTPClientParser", "allHeadersReceived"),
                         ("_LenientHTTP11ClientProtocol", "request"),
                         ("_LenientHTTP11ClientFactory", "buildProtocol")):
        base = getattr(http11, name, None)
        if not isinstance(base, type):
            raise NotConfigured(_unsupported(f"scrapy.core.downloader.handlers.http11.{name}", "no such class"))
        if not callable(getattr(base, method, None)):
            raise NotConfigured(_unsupported(f"http11.{name}.{method}", "no such method"))
    _probe_pool()
    _probe_parser()


class _ProbeTransport:
    """Just enough of a TCP transport (`ITCPTransport`) for one exchange in memory: writes are dropped.

    Twisted's own `StringTransport` would do, but importing it brings trial,
    unittest and pdb into every crawl.
    """

    disconnecting = False

    def write(self, data: bytes) -> None:
        pass

    def writeSequence(self, data) -> None:  # type: ignore[no-untyped-def]
        pass

    def loseConnection(self) -> None:
        self.disconnecting = True

    abortConnection = loseConnection

    def getPeer(self):  # type: ignore[no-untyped-def]
        return IPv4Address("TCP", "127.0.0.1", 0)

    getHost = getPeer

    def pauseProducing(self) -> None:
        pass

    resumeProducing = stopProducing = pauseProducing


class _ProbeEndpoint:
    """An endpoint that records the factory it is asked to connect with, and connects nothing."""

    factory = None

    def connect(self, factory):  # type: ignore[no-untyped-def]
        self.factory = factory
        return defer.Deferred()


def _probe_pool() -> None:
    piece = "twisted.web.client.HTTPConnectionPool._factory"
    if not hasattr(twisted_client.HTTPConnectionPool, "_factory"):
        raise NotConfigured(_unsupported(piece, "no such attribute"))
    pool = twisted_client.HTTPConnectionPool(None, persistent=False)
    pool._factory = _WireFactory
    endpoint = _ProbeEndpoint()
    try:
        pool.getConnection(("capture-probe",), endpoint)
    except Exception as error:  # noqa: BLE001 - any failure means the contract broke
        raise NotConfigured(_unsupported(piece, f"opening a connection with a swapped factory failed ({error!r})"))
    if not isinstance(endpoint.factory, _WireFactory):
        raise NotConfigured(_unsupported(piece, "the pool no longer builds connections with its _factory, "
                                                "so the wire factory cannot be swapped in"))
    if not hasattr(endpoint.factory, "_quiescentCallback"):
        raise NotConfigured(_unsupported("http11._LenientHTTP11ClientFactory._quiescentCallback",
                                         "the factory no longer keeps the pool's callback"))


def _exchange(answer: bytes, lost: Failure | None = None) -> Any:
    """The Twisted response the wire protocol makes of `answer` over an in-memory transport; the connection
    then closed, or lost for `lost`."""
    factory = _WireFactory(lambda protocol: None, "capture-probe")
    protocol = factory.buildProtocol(None)
    if not isinstance(protocol, _WireProtocol):
        raise NotConfigured(_unsupported("http11._LenientHTTP11ClientFactory.buildProtocol",
                                         f"built {type(protocol).__name__}, not the wire protocol"))
    transport = _ProbeTransport()
    protocol.makeConnection(transport)
    responses: list = []
    try:
        deferred = protocol.request(twisted_client.Request(b"GET", b"/", TwistedHeaders({b"Host": [b"probe"]}), None))
        deferred.addCallbacks(responses.append, responses.append)
    except Exception as error:  # noqa: BLE001
        raise NotConfigured(_unsupported("http11._LenientHTTP11ClientProtocol.request", repr(error)))
    parser = getattr(protocol, "_parser", None)
    if not isinstance(parser, _WireParser):
        raise NotConfigured(_unsupported("twisted.web._newclient.HTTP11ClientProtocol._parser",
                                         "the protocol's parser could not be replaced by the wire parser"))
    if not isinstance(getattr(parser, "connHeaders", None), TwistedHeaders):
        raise NotConfigured(_unsupported("twisted.web._newclient.HTTPClientParser.connHeaders",
                                         "the parser no longer keeps connection headers apart"))
    try:
        protocol.dataReceived(answer)
        if lost is not None:
            protocol.connectionLost(lost)
    except Exception as error:  # noqa: BLE001
        raise NotConfigured(_unsupported("twisted.web._newclient.HTTPClientParser", f"parsing failed ({error!r})"))
    finally:
        transport.loseConnection()
    response = responses[0] if responses else None
    if not isinstance(response, twisted_client.Response):
        raise NotConfigured(_unsupported("twisted.web._newclient.HTTP11ClientProtocol.request",
                                         f"no response came back ({response!r})"))
    return response


def _probe_parser() -> None:
    response = _exchange(b"HTTP/1.1 299 Probe Phrase\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    if getattr(response, "phrase", None) != b"Probe Phrase":
        raise NotConfigured(_unsupported("twisted.web._newclient.Response.phrase", "the reason phrase is not kept"))
    kept = (response.headers.getRawHeaders(WIRE + b"Reason"), response.headers.getRawHeaders(WIRE + b"Connection"))
    if kept != ([b"Probe Phrase"], [b"close"]):
        raise NotConfigured(_unsupported("http11._LenientHTTPClientParser.allHeadersReceived",
                                         "the wire parser's hook did not run on the response headers"))
    # A body without a length cut by a reset must be told from one the server closed (WARC-Truncated).
    cut = _exchange(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npart of a body", Failure(ConnectionLost()))
    if cut.headers.getRawHeaders(WIRE + CUT) != [b"disconnect"]:
        raise NotConfigured(_unsupported("twisted.web._newclient._IdentityTransferDecoder.contentLength",
                                         "a body without a length cut by a reset is no longer told from a whole one"))


def _refuse(crawler, message: str) -> None:  # type: ignore[no-untyped-def]
    """Mark the crawl failed and stop it once its spider opens (Scrapy carries on after NotConfigured)."""
    if crawler.stats.get_value("archive/fatal") == message:
        return  # the handler of the other scheme (http, https) found the same
    logger.critical("%s", message)
    crawler.stats.set_value("archive/fatal", message)

    def stop() -> None:
        deferred_from_coro(crawler.engine.close_spider_async(reason=STOPPED))

    # weak=False: nothing else holds this closure.
    crawler.signals.connect(stop, signal=signals.spider_opened, weak=False)


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
    # A 204 or 304 sent without a length: the Content-Length: 0 Scrapy adds is none of the server's.
    bodiless = response.headers.get(WIRE + UNSIZED) and not response.body and response.status in (204, 304)
    for name, values in response.headers.items():
        if name.startswith(WIRE):
            name = name[len(WIRE):]
            if name in (b"Reason", CUT, UNSIZED):
                continue
        lowered = name.lower()
        if bodiless and lowered == b"content-length":
            continue
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
    if "dataloss" in response.flags or response.headers.get(WIRE + CUT):
        return "disconnect"
    return None
