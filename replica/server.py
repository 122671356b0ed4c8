"""The replica over real HTTP/1.1: keep-alive, gzip, chunked transfer, 304s.

    with ReplicaServer(articles=300, edition=1, seed=1, port=0) as server:
        fetch(server.section_url)
    with ReplicaServer(site="weishan") as server:   # another CMS family (replica.registry)
        fetch(server.section_url)

The server binds 127.0.0.1 (any loopback address is accepted, nothing else)
and runs in a background thread; each connection gets its own thread.
`faults={"5xx": 0.05, ...}` makes it hostile (see replica.faults and
docs/replica.md, "Hostile mode"); without faults it is the normal site.
POST bodies (application/x-www-form-urlencoded, at most 64 KiB) reach the
sites that have a data endpoint (Hanweb's dataproxy.jsp); elsewhere a POST
gets nginx's 405.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import sys
import threading
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from urllib.parse import parse_qsl

from replica import hostile_wire
from replica.errors import ReplicaConfigError
from replica.faults import DEFAULT_OVERSIZE_BYTES, DEFAULT_SLOW_SECONDS, FaultPlan
from replica.registry import DEFAULT_SITE, make_corpus, make_site, site_spec
from replica.resource import Resource, error_page

log = logging.getLogger(__name__)
REASONS = {
    200: "OK", 302: "Moved Temporarily", 304: "Not Modified", 400: "Bad Request", 404: "Not Found",
    405: "Not Allowed", 413: "Request Entity Too Large", 429: "Too Many Requests",
    500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Temporarily Unavailable",
}
CHUNK = 8192
MAX_FORM_BYTES = 64 * 1024


def accepts_gzip(header: str | None) -> bool:
    """True when an Accept-Encoding value allows gzip (a q=0 refuses it)."""
    for part in (header or "").lower().split(","):
        name, _, params = part.strip().partition(";")
        if name.strip() in ("gzip", "x-gzip"):
            q = params.replace(" ", "")
            if not q.startswith("q="):
                return True
            try:
                return float(q[2:]) > 0
            except ValueError:  # a malformed weight: be generous, as nginx is
                return True
    return False


def _not_modified(res: Resource, headers) -> bool:
    if res.status != 200 or res.etag is None:
        return False
    tags = headers.get("If-None-Match")
    if tags is not None:
        wanted = [t.strip().removeprefix("W/") for t in tags.split(",")]
        return "*" in wanted or res.etag in wanted
    since = headers.get("If-Modified-Since")
    if since and res.last_modified is not None:
        try:
            return int(res.last_modified) <= parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError):
            return False
    return False


def _chunked(body: bytes) -> bytes:
    parts = [b"%x\r\n%s\r\n" % (len(body[i : i + CHUNK]), body[i : i + CHUNK]) for i in range(0, len(body), CHUNK)]
    return b"".join(parts) + b"0\r\n\r\n"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    timeout = 30  # idle keep-alive connections are closed after this many seconds
    server: _HTTPServer

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        if self.server.verbose:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_FORM_BYTES:
            self.close_connection = True
            self.wfile.write(self._frame(error_page(413 if length > 0 else 400), head=False))
            return
        body = self.rfile.read(length) if length else b""
        self._serve(head=False, form=dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)))

    def _serve(self, head: bool, form: dict[str, str] | None = None) -> None:
        target = self.path
        if target.startswith(("http://", "https://")):  # absolute-form, as proxies send
            target = "/" + target.split("/", 3)[-1] if target.count("/") >= 3 else "/"
        path, _, query = target.partition("?")
        host = self.headers.get("Host") or f"127.0.0.1:{self.server.server_address[1]}"
        host = "".join(c for c in host if c.isprintable() and c not in " \r\n")
        site = self.server.site
        if self.server.latency:  # a distant server: every answer starts this much later
            self.server.stopping.wait(self.server.latency)
        failure = site.failure(path, query, form) if hasattr(site, "failure") else None
        if failure is not None:
            kind, attempt = failure
            self.log_message('"%s" fault %s (attempt %d)', self.requestline, kind, attempt)
            if kind == "slow":
                self.server.stopping.wait(site.plan.slow_seconds)
            elif kind != "drop":
                hostile_wire.refuse(self, kind, path, attempt, head)
                return
        try:
            if form is None:
                res = site.resolve(path, query, host)
            elif hasattr(site, "post"):
                res = site.resolve(path, query, host, form)
            else:  # the TRS site is static files: nginx refuses a POST
                res = error_page(405)
        except Exception:  # a bug in the replica: answer 500 and say so loudly
            log.exception("replica failed on %s", self.path)
            self.send_error(500)
            return
        self.log_request(res.status)
        if failure is not None and failure[0] == "drop":
            hostile_wire.drop(self, res, head)
            return
        self.wfile.write(self._frame(res, head))
        if res.declared_length is not None:
            self.close_connection = True

    def _frame(self, res: Resource, head: bool, allow_chunked: bool = True) -> bytes:
        status = 304 if _not_modified(res, self.headers) else res.status
        lines = [
            f"HTTP/1.1 {status} {REASONS.get(status, 'OK')}",
            "Server: nginx",
            f"Date: {formatdate(usegmt=True)}",
        ]
        raw: list[tuple[str, bytes]] = []
        body = b"" if status == 304 else res.body
        if status != 304 and res.content_type:
            lines.append(f"Content-Type: {res.content_type}")
        gzipped = status != 304 and (res.force_gzip or (res.html and accepts_gzip(self.headers.get("Accept-Encoding"))))
        if gzipped:
            body = res.gzipped()
        chunked = allow_chunked and res.chunked and status != 304 and not head and self.request_version == "HTTP/1.1"
        if status != 304:
            if chunked:
                lines.append("Transfer-Encoding: chunked")
            else:
                lines.append(f"Content-Length: {res.declared_length or len(body)}")
        lines.append("Connection: " + ("close" if self.close_connection or res.declared_length else "keep-alive"))
        if res.html:
            lines.append("Vary: Accept-Encoding")
        if res.last_modified is not None:
            lines.append(f"Last-Modified: {formatdate(res.last_modified, usegmt=True)}")
        if res.etag:
            lines.append(f"ETag: {res.etag}")
        if gzipped:
            lines.append("Content-Encoding: gzip")
        if status == 200:
            lines.append("Accept-Ranges: bytes")
        raw += res.headers
        head_bytes = "\r\n".join(lines).encode("latin-1") + b"\r\n"
        head_bytes += b"".join(name.encode("ascii") + b": " + value + b"\r\n" for name, value in raw) + b"\r\n"
        if head or status == 304:
            return head_bytes
        return head_bytes + (_chunked(body) if chunked else body)


MAX_LATENCY = 60.0


class QuietHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that says nothing when a client hangs up before its answer (normal for a
    crawler, and for a test's caller that timed out); any other error in a handler is still printed.

    The replica and the tests' loopback servers (a timestamp authority, an S3 proxy, webhooks) all use it:
    `socketserver` prints a handler's traceback to whatever `sys.stderr` is at that moment, which for a
    late answer is another test's captured output.
    """

    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _HTTPServer(QuietHTTPServer):
    block_on_close = False
    request_queue_size = 256  # crawlers open dozens of connections at once

    def __init__(self, address: tuple[str, int], site, verbose: bool, latency: float = 0.0) -> None:
        self.site, self.verbose, self.latency = site, verbose, latency
        self.open_sockets: set[socket.socket] = set()
        self.stopping = threading.Event()  # set on stop(): cuts "slow" waits short
        self.sockets_lock = threading.Lock()
        super().__init__(address, _Handler)

    def finish_request(self, request, client_address) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        try:
            super().finish_request(request, client_address)
        finally:
            with self.sockets_lock:
                self.open_sockets.discard(request)

    def close_open_sockets(self) -> None:
        with self.sockets_lock:
            for sock in list(self.open_sockets):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def _loopback(host: str) -> str:
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ReplicaConfigError(f"host must be a loopback IPv4 address, not {host!r}") from None
    if address.version != 4 or not address.is_loopback:
        raise ReplicaConfigError(f"the replica only binds loopback addresses (127.0.0.1), not {host}")
    return host


class ReplicaServer:
    """The replica portal on a loopback port.  Use as a context manager, or start()/stop().

    Raises ReplicaConfigError for bad sizes, editions, addresses or faults, or
    when the port cannot be bound.  `port=0` picks a free port; read `.port` after.
    `faults` maps fault kinds to rates (replica.faults.KINDS); `.plan` is the
    resulting FaultPlan (inactive without faults, and then the site is unchanged).
    `site` names one of replica.registry.SITES (ReplicaConfigError if unknown);
    `.spec` is its SiteSpec, `.section_url` its first column's list page.
    `latency` delays every answer by that many seconds (a distant server).
    """

    def __init__(
        self,
        articles: int = 300,
        edition: int = 1,
        seed: int = 1,
        port: int = 0,
        host: str = "127.0.0.1",
        verbose: bool = False,
        faults: dict[str, float] | None = None,
        fault_seed: int = 1,
        slow_seconds: float = DEFAULT_SLOW_SECONDS,
        oversize_bytes: int = DEFAULT_OVERSIZE_BYTES,
        site: str = DEFAULT_SITE,
        latency: float = 0.0,
    ) -> None:
        host = _loopback(host)
        if not 0 <= latency <= MAX_LATENCY:
            raise ReplicaConfigError(f"latency must be between 0 and {MAX_LATENCY} seconds, not {latency}")
        self.spec = site_spec(site)
        self.corpus = make_corpus(self.spec, articles, edition, seed)
        self.plan = FaultPlan(faults, fault_seed, slow_seconds=slow_seconds, oversize_bytes=oversize_bytes)
        self.site = make_site(self.spec, self.corpus, self.plan)
        try:
            self._httpd = _HTTPServer((host, port), self.site, verbose, latency)
        except OSError as exc:
            raise ReplicaConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        self.host, self.port = host, self._httpd.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def section_url(self) -> str:
        """The first column's first list page (the TRS site: /xwzx/gyjj/index.html)."""
        return f"{self.base_url}{self.spec.start_path}"

    @property
    def column_urls(self) -> dict[str, str]:
        """Every column's first list page, by column name."""
        return {c.name: f"{self.base_url}{c.start_path}" for c in self.spec.columns}

    def start(self) -> ReplicaServer:
        """Serve in a background thread and return at once."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                            name=f"replica-{self.port}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, drop open connections and release the port.  Safe to call twice."""
        self._httpd.stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.close_open_sockets()
        self._httpd.server_close()

    def __enter__(self) -> ReplicaServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
