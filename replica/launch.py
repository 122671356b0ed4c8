"""Run the replica in a child process (its own core), for the demo, tests and benchmarks."""

from __future__ import annotations

import re
import subprocess
import sys
from types import TracebackType

from replica.registry import DEFAULT_SITE, site_spec

_READY = re.compile(r"serving (http://[^/\s]+)(/\S*)")


class ReplicaProcess:
    """`with ReplicaProcess(articles=300) as replica: replica.base_url`.

    Starts `portal-archive replica serve` and waits for the line that names
    its URL.  Port 0 takes a free one; recrawls of later editions pass the
    port of the first so that article URLs stay the same.  `site` names one
    of replica.registry.SITES (the TRS site by default); `section_url` is its
    first column's list page and `column_urls` maps every column's name to its
    list page.
    """

    def __init__(self, articles: int = 300, edition: int = 1, seed: int = 1, extra: list[str] | None = None,
                 port: int = 0, site: str = DEFAULT_SITE):
        self.spec = site_spec(site)
        self.args = [
            sys.executable, "-m", "archive", "replica", "serve", "--port", str(port),
            "--articles", str(articles), "--edition", str(edition), "--seed", str(seed), *(extra or []),
        ]
        if site != DEFAULT_SITE:
            self.args += ["--site", site]
        self.process: subprocess.Popen[str] | None = None
        self.base_url = ""
        self.section_url = ""
        self.column_urls: dict[str, str] = {}

    def __enter__(self) -> "ReplicaProcess":
        self.process = subprocess.Popen(self.args, stdout=subprocess.PIPE, text=True, encoding="utf-8")
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        match = _READY.search(line)
        if not match:
            self.stop()
            raise RuntimeError(f"the replica did not start: {line.strip() or 'no output'}")
        self.base_url = match.group(1)
        self.section_url = match.group(1) + match.group(2)
        self.column_urls = {c.name: self.base_url + c.start_path for c in self.spec.columns}
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def free_port() -> int:
    """A port that was free a moment ago on 127.0.0.1."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
