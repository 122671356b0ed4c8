"""In-process helpers for component tests of the crawler: a Twisted reactor
running in a background thread, and an HTTP server on 127.0.0.1 that answers
from a script with raw bytes.

Scrapy components need a running reactor, and a reactor cannot be restarted
in one process; so it runs once, in a daemon thread (as crochet does), and a
test hands it work with `in_reactor`.  Its asyncio loop belongs to that thread
only, so tests that call `asyncio.run` in the main thread are unaffected.

    with ScriptedServer({"/a": lambda hit: reply(200, b"body")}) as server:
        response = in_reactor(handler.download_request, Request(server.url("/a")))
"""

from __future__ import annotations

import atexit
import inspect
import queue
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
_started = threading.Lock()
_reactor: Any = None


def running_reactor() -> Any:
    """The process's reactor, started in a daemon thread on first use (the asyncio reactor, as Scrapy's default)."""
    global _reactor
    with _started:
        if _reactor is None:
            ready: queue.Queue = queue.Queue()

            def run() -> None:
                from scrapy.utils.reactor import install_reactor, is_reactor_installed

                if not is_reactor_installed():
                    install_reactor(ASYNCIO_REACTOR)  # its asyncio loop is made for this thread
                from twisted.internet import reactor

                reactor.callWhenRunning(ready.put, reactor)
                reactor.run(installSignalHandlers=False)

            threading.Thread(target=run, name="twisted-reactor", daemon=True).start()
            _reactor = ready.get(timeout=30)
            atexit.register(lambda: _reactor.callFromThread(_reactor.stop))
    return _reactor


def in_reactor(function: Callable[..., Any], *args: Any, timeout: float = 60, **kwargs: Any) -> Any:
    """Call `function` in the reactor thread and return its result, waiting for a Deferred or coroutine.

    An exception (or a failed Deferred) is raised here; after `timeout` seconds, TimeoutError.
    """
    from scrapy.utils.defer import deferred_from_coro
    from twisted.internet import defer

    reactor = running_reactor()
    outcome: queue.Queue = queue.Queue()

    def start() -> None:
        try:
            result = function(*args, **kwargs)
            if inspect.isawaitable(result) and not isinstance(result, defer.Deferred):
                result = deferred_from_coro(result)
            deferred = defer.maybeDeferred(lambda: result)
        except BaseException as error:  # noqa: BLE001 - handed to the test thread
            outcome.put((False, error))
            return
        deferred.addCallbacks(lambda value: outcome.put((True, value)),
                              lambda failure: outcome.put((False, failure.value)))

    reactor.callFromThread(start)
    try:
        ok, value = outcome.get(timeout=timeout)
    except queue.Empty:
        raise TimeoutError(f"{getattr(function, '__name__', function)} did not finish in {timeout}s") from None
    if not ok:
        raise value
    return value


def reply(status: int, body: bytes = b"", *, reason: str | None = None, headers: list[tuple[str, str]] = (),
          length: int | None = None) -> bytes:
    """Raw HTTP/1.1 response bytes.

    A Content-Length is added (but not to a 204 or 304): `length` declares one
    other than the body's, as a server that then drops the connection does.
    """
    phrase = reason if reason is not None else {200: "OK", 304: "Not Modified", 429: "Too Many Requests",
                                                503: "Service Unavailable"}.get(status, "Status")
    lines = [f"HTTP/1.1 {status} {phrase}"]
    names = {name.lower() for name, _ in headers}
    lines += [f"{name}: {value}" for name, value in headers]
    if "transfer-encoding" not in names and "content-length" not in names and status not in (204, 304):
        lines.append(f"Content-Length: {len(body) if length is None else length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass
class Answer:
    """What the server sends for one request, and whether it then closes the connection."""

    data: bytes
    close: bool = False
    reset: bool = False  # end the connection with a TCP reset (RST) after the bytes, not a close (FIN)


@dataclass
class Hit:
    path: str
    head: bytes
    at: float = field(default_factory=time.monotonic)
    wall: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


Route = Callable[[int], "bytes | Answer"]  # called with how many times the path was hit before


class ScriptedServer:
    """An HTTP/1.1 server on 127.0.0.1:<free port>, keep-alive, answering each path from `routes`.

    Unknown paths get a 404.  `hits` records every request in order, with its
    arrival time; a route returning `Answer(..., close=True)` closes the
    connection after its bytes (a dropped body, for example).
    """

    def __init__(self, routes: dict[str, Route]):
        self.routes = routes
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                connection: socket.socket = self.request
                buffer = b""
                while True:
                    while b"\r\n\r\n" not in buffer:
                        chunk = connection.recv(65536)
                        if not chunk:
                            return
                        buffer += chunk
                    head, buffer = buffer.split(b"\r\n\r\n", 1)
                    answer = server._answer(head)
                    connection.sendall(answer.data)
                    if answer.reset:
                        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        connection.close()
                        return
                    if answer.close:
                        connection.shutdown(socket.SHUT_RDWR)
                        return

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="scripted-server", daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def paths(self) -> list[str]:
        return [hit.path for hit in self.hits]

    def _answer(self, head: bytes) -> Answer:
        path = head.split(b"\r\n", 1)[0].split(b" ")[1].decode("latin-1")
        with self._lock:
            before = sum(1 for hit in self.hits if hit.path == path)
            self.hits.append(Hit(path, head))
        route = self.routes.get(path)
        if route is None:
            return Answer(reply(404, b"not found", reason="Not Found"))
        answer = route(before)
        return answer if isinstance(answer, Answer) else Answer(answer)

    def __enter__(self) -> "ScriptedServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
