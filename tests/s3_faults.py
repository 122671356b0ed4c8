"""An S3 endpoint that misbehaves, for fault tests: a proxy on 127.0.0.1 in front of moto's server.

    with FaultyS3(s3.url, cut_puts=3) as proxy:        # the first 3 uploads are cut off half-way
        env["AWS_ENDPOINT_URL"] = proxy.url
    with FaultyS3(s3.url, corrupt=".warc.gz") as proxy: # uploads of WARC files stored with a byte flipped,
                                                        # and no checksum in any answer (as some endpoints)

A cut upload reads half the body, then drops the connection without an
answer, as a network failure or a killed proxy does.  `corrupt` flips one
byte of the body of each PUT whose key ends so and strips x-amz-checksum-*
headers from every answer, so only a client that reads the object back
can tell.
"""

from __future__ import annotations

import http.client
import http.server
import threading
from urllib.parse import urlsplit

from replica.server import QuietHTTPServer
from tests.services import HOST, free_port

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


class FaultyS3:
    def __init__(self, target: str, *, cut_puts: int = 0, corrupt: str | None = None) -> None:
        self.target = urlsplit(target)
        self.cut_left = cut_puts
        self.corrupt = corrupt
        self.port = free_port()
        self.cut = 0
        self.corrupted = 0
        self.lock = threading.Lock()
        self.server: QuietHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> "FaultyS3":
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if self.command == "PUT":
                    with proxy.lock:
                        cut = proxy.cut_left > 0
                        proxy.cut_left -= cut
                        proxy.cut += cut
                    if cut:
                        self.rfile.read(length // 2)
                        self.close_connection = True
                        self.connection.shutdown(2)  # cut off: no answer at all
                        return
                body = self.rfile.read(length) if length else b""
                if self.command == "PUT" and proxy.corrupt and self.path.split("?")[0].endswith(proxy.corrupt) \
                        and body:
                    body = bytearray(body)
                    body[len(body) // 2] ^= 0x20
                    body = bytes(body)
                    with proxy.lock:
                        proxy.corrupted += 1
                upstream = http.client.HTTPConnection(proxy.target.hostname, proxy.target.port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"expect"}}
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                upstream.close()
                self.send_response(answer.status, answer.reason)
                for name, value in answer.getheaders():
                    lower = name.lower()
                    if lower in HOP_BY_HOP or (lower == "content-length" and self.command != "HEAD"):
                        continue  # (a HEAD answer says the object's length; it has no body of its own)
                    if proxy.corrupt and lower.startswith("x-amz-checksum-"):
                        continue
                    self.send_header(name, value)
                if self.command != "HEAD":
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _forward

        self.server = QuietHTTPServer((HOST, self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
