"""A throwaway RFC 3161 timestamp authority on 127.0.0.1, answering with `openssl ts -reply`.

`TestAuthority(folder)` makes a root CA and a TSA certificate under it with
`openssl` (RSA, or EC with `key="ec"`), then serves `POST /` as a timestamp
authority.  `mode` makes it misbehave: "error" answers 500, "garbage" sends
bytes that are not a timestamp response, "reject" a refusal status, "slow"
waits before answering.  `ca_file` is the root to verify tokens against.
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from replica.server import QuietHTTPServer

TSA_CONFIG = """\
[ tsa ]
default_tsa = tsa_config

[ tsa_config ]
dir = {folder}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/chain.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.5
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""

TSA_EXTENSIONS = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
"""


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _new_key(kind: str) -> list[str]:
    if kind == "ec":
        return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    return ["-newkey", "rsa:2048"]


def make_authority(folder: Path, *, key: str = "rsa", name: str = "Test TSA") -> None:
    """A root CA (ca.pem) and a TSA certificate under it (tsa.pem, tsa.key), with openssl's TSA config."""
    folder.mkdir(parents=True, exist_ok=True)
    openssl("req", "-x509", *_new_key(key), "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650",
            "-subj", f"/CN={name} Root CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=folder)
    openssl("req", "-new", *_new_key(key), "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr",
            "-subj", f"/CN={name}", cwd=folder)
    (folder / "tsa.ext").write_text(TSA_EXTENSIONS)
    openssl("x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "tsa.pem", "-days", "3650", "-extfile", "tsa.ext", cwd=folder)
    (folder / "chain.pem").write_bytes((folder / "ca.pem").read_bytes())
    (folder / "serial").write_text("01\n")
    (folder / "tsa.cnf").write_text(TSA_CONFIG.format(folder=folder))


class TestAuthority:
    """A timestamp authority serving on 127.0.0.1 (use as a context manager)."""

    __test__ = False  # not a pytest test class

    def __init__(self, folder: Path | None = None, *, key: str = "rsa", mode: str = "ok",
                 delay: float = 0.0) -> None:
        self._tmp = None if folder else tempfile.TemporaryDirectory(prefix="tsa-")
        self.folder = Path(folder or self._tmp.name)
        if not (self.folder / "tsa.cnf").exists():
            make_authority(self.folder, key=key)
        self.mode = mode
        self.delay = delay
        self.requests = 0
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server: QuietHTTPServer | None = None

    @property
    def ca_file(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def cert_file(self) -> Path:
        return self.folder / "tsa.pem"

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/tsa"

    def reply(self, query: bytes) -> tuple[int, bytes]:
        self.requests += 1
        if self.mode == "error":
            return 500, b"internal error"
        if self.mode == "garbage":
            return 200, b"\x30\x03\x02\x01\x07 this is not a timestamp response"
        if self.mode == "slow" and self._closing.wait(self.delay):
            return 503, b"closing"
        with self._lock, tempfile.TemporaryDirectory(prefix="tsq-") as work:
            (Path(work) / "q.tsq").write_bytes(query)
            done = subprocess.run(["openssl", "ts", "-reply", "-config", str(self.folder / "tsa.cnf"),
                                   "-queryfile", "q.tsq", "-out", "r.tsr", "-chain", str(self.folder / "chain.pem")],
                                  cwd=work, capture_output=True)
            if done.returncode != 0:
                return 500, done.stderr
            answer = (Path(work) / "r.tsr").read_bytes()
        if self.mode == "reject":
            # PKIStatusInfo { status rejection(2), failInfo badAlg } with no token.
            return 200, bytes.fromhex("3009" "3007" "020102" "03020780")
        return 200, answer

    def __enter__(self) -> "TestAuthority":
        authority = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                query = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, body = authority.reply(query)
                self.send_response(status)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self._closing.clear()
        self._server = QuietHTTPServer(("127.0.0.1", 0), Handler)  # quiet to its timed-out callers
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._closing.set()  # a "slow" answer still waiting gives up instead of writing to a later test's stderr
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._tmp is not None:
            self._tmp.cleanup()


def free_port() -> int:
    """A loopback port with nothing listening on it (for 'authority unreachable')."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
