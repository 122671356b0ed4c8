"""The answer faults on the wire: error statuses, reset and dropped connections.

Called by the server's request handler when `HostileSite.failure(path)` says
the request must fail.  "slow" needs no help here: the handler waits, then
answers normally.
"""

from __future__ import annotations

import socket
import struct
from typing import TYPE_CHECKING

from replica.resource import Resource, error_page

if TYPE_CHECKING:
    from replica.server import _Handler

RETRY_AFTER_SECONDS = 1


def refuse(handler: _Handler, kind: str, path: str, attempt: int, head: bool) -> None:
    """Answer a failing request of kind "5xx", "429" or "reset"."""
    if kind == "reset":
        reset(handler.connection)
        handler.close_connection = True
        return
    if kind == "429":
        res = error_page(429, retry_after=RETRY_AFTER_SECONDS)
    else:
        res = error_page(handler.server.site.plan.status_5xx(path, attempt))
    handler.wfile.write(handler._frame(res, head))


def reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0, so the peer gets a TCP RST instead of a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        sock.close()


def drop(handler: _Handler, res: Resource, head: bool) -> None:
    """Send the headers (with Content-Length, never chunked) and half the body, then close."""
    frame = handler._frame(res, head, allow_chunked=False)
    split = frame.index(b"\r\n\r\n") + 4
    handler.wfile.write(frame[: split + (len(frame) - split) // 2])
    handler.close_connection = True
