"""Helpers for the job-queue tests: replica profiles, workers in child processes, the queue's status."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRS_PROFILE = (ROOT / "crawler" / "profiles" / "tengzhou.toml").read_text(encoding="utf-8")


def replica_profile(folder: Path, section_url: str, name: str, host: str, section: str = "工业经济") -> Path:
    """A profile of the TRS family crawling the replica at `section_url`, its articles keyed under `host`,
    its one section called `section`.

    Three replicas of one family stand for three county sites: each profile
    folds its replica's 127.0.0.x:PORT onto a host of its own.
    """
    origin = re.match(r"https?://[^/]+", section_url).group(0)
    hostname = re.match(r"https?://([^/:]+)", section_url).group(1)
    text = TRS_PROFILE.replace('name = "tengzhou"', f'name = "{name}"', 1)
    # Either profile layout: the flat first one, or a portal with [[sections]] (host at the top).
    if re.search(r"^host = ", text, re.M):
        text = re.sub(r"^host = .*$", f'host = "{host}"', text, count=1, flags=re.M)
    else:
        text = text.replace('start_url = "http://www.tengzhou.gov.cn', f'host = "{host}"\nstart_url = "http://www.tengzhou.gov.cn', 1)
    text = text.replace("http://www.tengzhou.gov.cn", origin)
    text = re.sub(r'^(section|name) = "工业经济"', lambda m: f'{m.group(1)} = "{section}"', text, flags=re.M)
    text = re.sub(r"^(allowed_domains|hosts) = \[.*\]", lambda m: f'{m.group(1)} = ["{hostname}"]', text, flags=re.M)
    path = Path(folder) / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def cluster_env(catalogue: str | None = None, **extra: str) -> dict[str, str]:
    """The environment of a worker or a command: the catalogue, and no contact (loopback only)."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("PORTAL_ARCHIVE_CONTACT", "PORTAL_ARCHIVE_CATALOGUE", "PORTAL_ARCHIVE_QUEUE")}
    if catalogue:
        env["PORTAL_ARCHIVE_CATALOGUE"] = catalogue
    env.update(extra)
    return env


def run(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archive", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=ROOT)


def start_worker(queue_url: str, work: Path, env: dict[str, str], *extra: str, log: Path | None = None,
                 heartbeat: float = 2) -> subprocess.Popen:
    """`portal-archive worker` in a child process, its output in `log` (default WORK/worker-N.log)."""
    work.mkdir(parents=True, exist_ok=True)
    log = log or work / f"worker-{time.monotonic_ns()}.log"
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "archive", "worker", "--queue", queue_url, "--work", str(work),
             "--heartbeat", str(heartbeat), *extra],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    process.log = log  # type: ignore[attr-defined]
    return process


def queue_status(queue_url: str, env: dict[str, str]) -> dict:
    result = run("queue", "status", "--queue", queue_url, "--json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def wait_until(check: Callable[[], object], timeout: float, what: str, every: float = 0.5):
    """Poll `check` until it returns something true; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def stop(process: subprocess.Popen, timeout: float = 60) -> int:
    """SIGTERM, then wait (SIGKILL if it will not stop); the exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def log_tail(process: subprocess.Popen, lines: int = 40) -> str:
    try:
        return "\n".join(Path(process.log).read_text(errors="replace").splitlines()[-lines:])  # type: ignore[attr-defined]
    except OSError:
        return "(no log)"
