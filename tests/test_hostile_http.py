"""Answer faults over real HTTP: 5xx, 429, reset, drop and slow, transient and persistent."""

from __future__ import annotations

import http.client
import signal
import socket
import subprocess
import sys
import time

import pytest

from replica.server import ReplicaServer

SLOW = 0.6
RATES = {"5xx": 0.1, "429": 0.1, "reset": 0.1, "drop": 0.1, "slow": 0.1}


@pytest.fixture(scope="module")
def server():
    with ReplicaServer(articles=300, faults=RATES, fault_seed=1, slow_seconds=SLOW) as running:
        yield running


def fetch(server, path, timeout=10.0, headers=None):
    """(status, headers, body) or the exception class the client saw."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response, response.read()
    except (OSError, http.client.HTTPException) as exc:
        return type(exc)
    finally:
        conn.close()


def raw_get(server, path: str) -> bytes:
    """Raw bytes of one GET, read until the server closes or resets."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
    return b"".join(chunks)


def articles_with(server, kind, persistent):
    out = []
    for entry in server.corpus.entries:
        fault = server.plan.request_fault(entry.path, article=True)
        if fault is not None and fault.kind == kind and fault.persistent == persistent:
            out.append((entry.path, fault))
    return out


def test_the_configured_rate_is_served(server):
    faulted = [e for e in server.corpus.entries if server.plan.request_fault(e.path, True)]
    assert 0.25 * 300 < len(faulted) < 0.55 * 300  # five kinds at 0.1, exclusive
    clean = [e.path for e in server.corpus.entries if not server.plan.request_fault(e.path, True)][:20]
    for path in clean:
        assert fetch(server, path)[0] == 200


def test_5xx_transient_then_ok_and_persistent_forever(server):
    for path, fault in articles_with(server, "5xx", persistent=False)[:4]:
        results = [fetch(server, path) for _ in range(fault.failures + 2)]
        statuses = [r[0] for r in results]
        assert statuses[: fault.failures] == [server.plan.status_5xx(path, n + 1) for n in range(fault.failures)]
        assert all(s in (500, 502, 503) for s in statuses[: fault.failures])
        assert statuses[fault.failures:] == [200, 200]
    path, _ = articles_with(server, "5xx", persistent=True)[0]
    statuses = [fetch(server, path)[0] for _ in range(5)]
    assert all(s in (500, 502, 503) for s in statuses)
    assert statuses == [server.plan.status_5xx(path, n) for n in range(1, 6)]


def test_429_has_retry_after_and_is_never_persistent(server):
    assert not articles_with(server, "429", persistent=True)
    path, fault = articles_with(server, "429", persistent=False)[0]
    status, response, body = fetch(server, path)
    assert status == 429 and response.getheader("Retry-After") == "1" and b"429 Too Many Requests" in body
    for _ in range(fault.failures - 1):
        assert fetch(server, path)[0] == 429
    assert fetch(server, path)[0] == 200


def test_reset_sends_rst_before_any_response(server):
    path, fault = articles_with(server, "reset", persistent=False)[0]
    with pytest.raises(ConnectionResetError):
        raw_get(server, path)
    for _ in range(fault.failures - 1):
        assert fetch(server, path) is ConnectionResetError
    assert fetch(server, path)[0] == 200
    path, _ = articles_with(server, "reset", persistent=True)[0]
    assert [fetch(server, path) for _ in range(3)] == [ConnectionResetError] * 3


def test_drop_declares_the_length_and_sends_half(server):
    path, fault = articles_with(server, "drop", persistent=True)[0]
    for _ in range(2):
        raw = raw_get(server, path)
        head, _, body = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and b"Transfer-Encoding" not in head
        declared = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        assert len(body) == declared // 2 and body.startswith(b"<!DOCTYPE")
    assert fetch(server, path, headers={"Accept-Encoding": "gzip"}) is http.client.IncompleteRead
    path, fault = articles_with(server, "drop", persistent=False)[0]
    for _ in range(fault.failures):
        assert fetch(server, path) is http.client.IncompleteRead
    assert fetch(server, path)[0] == 200


def test_slow_waits_longer_than_a_client_timeout(server):
    path, fault = articles_with(server, "slow", persistent=False)[0]
    assert fetch(server, path, timeout=SLOW / 3) in (TimeoutError, socket.timeout)
    for _ in range(fault.failures - 1):
        started = time.monotonic()
        assert fetch(server, path)[0] == 200
        assert time.monotonic() - started >= SLOW * 0.9
    started = time.monotonic()
    assert fetch(server, path)[0] == 200 and time.monotonic() - started < SLOW / 2
    path, _ = articles_with(server, "slow", persistent=True)[0]
    for _ in range(2):
        started = time.monotonic()
        assert fetch(server, path)[0] == 200 and time.monotonic() - started >= SLOW * 0.9


def test_list_pages_and_media_only_get_transient_faults(server):
    site = server.site
    lists = ["/xwzx/gyjj/index.html"] + [f"/xwzx/gyjj/index_{n}.html" for n in range(1, site.pages)]
    faulted = [p for p in lists if server.plan.request_fault(p, article=False)]
    assert faulted  # 15 pages at about 40%
    for path in faulted:
        for _ in range(3):
            fetch(server, path, timeout=SLOW * 3)
        assert fetch(server, path)[0] == 200  # the third request at the latest succeeds
    assert fetch(server, "/xwzx/gyjj/")[0] == 200  # the section folder counts as index.html
    for path in ("/robots.txt", "/css/style.css", "/", "/fixtures/cookies"):
        assert server.site.path_kind(path) is None and fetch(server, path)[0] == 200


def test_same_flags_same_faults_on_a_new_server():
    def outcomes(seed):
        with ReplicaServer(articles=60, faults={"5xx": 0.3, "429": 0.2}, fault_seed=seed) as srv:
            return [fetch(srv, e.path)[0] for e in srv.corpus.entries]

    first = outcomes(9)
    assert first == outcomes(9) and first != outcomes(10)
    assert {500, 502, 503, 429, 200} >= set(first) and 200 in first and 429 in first


def test_serve_command_takes_fault_flags():
    proc = subprocess.Popen(
        [sys.executable, "-m", "archive", "replica", "serve", "--articles", "40", "--fault", "5xx=1",
         "--fault", "trap=0.5", "--fault-seed", "2", "--slow-seconds", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.endswith("(40 articles, edition 1, faults 5xx=1 trap=0.5, fault seed 2)")
        port = int(line.split(":")[2].split("/")[0])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/xwzx/gyjj/index.html")
        response = conn.getresponse()
        assert response.status in (500, 502, 503)
        response.read()
        conn.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    bad = subprocess.run([sys.executable, "-m", "archive", "replica", "serve", "--fault", "5xx=2"],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0 and "between 0 and 1" in bad.stderr
