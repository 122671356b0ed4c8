"""Running unattended: the lock, scheduled runs, and resuming after SIGTERM."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

from pathlib import Path

import pytest

from archive.lock import DataLock
from replica.launch import ReplicaProcess, free_port
from tests.conftest import ROOT, portal_archive, read_jsonl


def test_second_crawl_on_a_locked_folder_exits_4(tmp_path):
    data = tmp_path / "data"
    with DataLock(data):
        result = portal_archive("crawl", "--replica", "http://127.0.0.1:9", "--data", str(data), check=False)
    assert result.returncode == 4
    assert "in use by pid" in result.stderr
    assert not (data / "warc").exists()


@pytest.mark.e2e
@pytest.mark.slow
def test_schedule_runs_two_ticks(tmp_path):
    data = tmp_path / "data"
    with ReplicaProcess(articles=60, port=free_port()) as replica:
        result = portal_archive("schedule", "--every", "1s", "--max-runs", "2", "--data", str(data),
                                "--", "--replica", replica.base_url, timeout=300)
    assert result.stdout.count("exited 0") == 2, result.stdout + result.stderr
    conn = sqlite3.connect(data / "catalog.sqlite")
    runs = conn.execute("SELECT status FROM crawls ORDER BY started").fetchall()
    assert runs == [("ok",), ("ok",)]
    # The second tick found nothing new.
    assert conn.execute("SELECT count(DISTINCT crawl_id) FROM versions").fetchone()[0] == 1


def test_schedule_rejects_bad_timers(tmp_path):
    assert portal_archive("schedule", "--every", "often", check=False).returncode == 2
    assert portal_archive("schedule", "--cron", "not a cron", check=False).returncode == 2
    assert portal_archive("schedule", check=False).returncode == 2
    # Timers that pass the shape but never come, or overflow the clock after the first crawl: tracebacks.
    for args in (["--cron", "0 0 31 2 *"], ["--every", "1000000000d"]):
        result = portal_archive("schedule", *args, "--data", str(tmp_path / "d"), check=False)
        assert result.returncode == 2 and "Traceback" not in result.stderr, (args, result.stderr)


def test_schedule_stops_when_its_crawl_is_refused_as_bad_usage(tmp_path):
    """A crawl option the crawl refuses (a typo after --) was refused again at every run, and schedule went on
    for ever, never crawling, only `run N exited 2` lines to tell."""
    result = portal_archive("schedule", "--every", "1s", "--max-runs", "3", "--data", str(tmp_path / "d"),
                            "--", "--no-such-option", check=False, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "run 1 exited 2" in result.stdout and "run 2" not in result.stdout
    assert "bad usage" in result.stderr


def test_a_stop_while_schedule_starts_its_crawl_still_stops_the_crawl(tmp_path, monkeypatch):
    """SIGTERM arriving while the crawl's process was being started found no child to pass it on to, and the
    crawl then ran to its end (hours, for a large site) before schedule stopped."""
    from click.testing import CliRunner

    from archive.cli import main

    signalled = []

    class Crawl:
        def __init__(self, *args, **kwargs):
            os.kill(os.getpid(), signal.SIGTERM)  # the stop comes in the middle of starting the crawl

        def send_signal(self, sig):
            signalled.append(sig)

        def poll(self):
            return None

        def wait(self):
            return 3 if signalled else 0

    monkeypatch.setattr("archive.cli.schedule.subprocess.Popen", Crawl)
    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    try:
        result = CliRunner().invoke(main, ["schedule", "--every", "1h", "--data", str(tmp_path / "d"), "--",
                                           "--replica", "http://127.0.0.1:9"])
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
    assert signalled == [signal.SIGTERM], result.output
    assert result.exit_code == 3 and "run 1 exited 3" in result.output


def test_a_cron_schedule_after_a_long_crawl_waits_for_the_next_slot_from_now():
    """A crawl that outlasted several slots made every missed slot due at once: crawls back to back."""
    from datetime import datetime, timedelta, timezone

    from archive.cli.schedule import Timer

    timer = Timer(None, "*/5 * * * *")
    long_ago = datetime.now(timezone.utc) - timedelta(hours=3)
    assert timer.next_after(long_ago) > datetime.now(timezone.utc)


def test_schedule_never_prints_a_password_given_to_the_crawl():
    from archive.cli.schedule import _shown

    shown = _shown(["--replica", "http://127.0.0.1:1", "-s", "ARCHIVE_NOTIFY=json://user:s3cret-pw@127.0.0.1/x"])
    assert "s3cret-pw" not in shown and "ARCHIVE_NOTIFY=json://user:***@127.0.0.1/x" in shown


@pytest.mark.e2e
def test_sigterm_stops_cleanly_and_the_crawl_resumes(tmp_path):
    data, jobdir = tmp_path / "data", tmp_path / "job"
    port = free_port()
    with ReplicaProcess(articles=600, port=port) as replica:
        args = [sys.executable, "-m", "archive", "crawl", "--replica", replica.base_url, "--data", str(data),
                "--quiet", "--jobdir", str(jobdir), "-s", "CONCURRENT_REQUESTS=4"]
        first = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Stop it once it is really crawling (a WARC file open), however slow the machine is.
        deadline = time.monotonic() + 120
        while not list((data / "warc").glob("*.open")) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        first.send_signal(signal.SIGTERM)
        out, err = first.communicate(timeout=120)
        assert first.returncode == 3, out + err  # stopped before the end: not a success
        assert "shutdown" in out
        second = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert second.returncode == 0, second.stdout + second.stderr
    # Same crawl id, resumed: one items file, and every article once.
    items = list((data / "items").glob("*.jsonl"))
    assert len(items) == 1
    urls = [item["url"] for item in read_jsonl(items[0])]
    conn = sqlite3.connect(data / "catalog.sqlite")
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 600
    assert conn.execute("SELECT count(*) FROM versions").fetchone()[0] == 600
    assert len(set(urls)) == 600
    verify = portal_archive("verify", "--data", str(data), check=False)
    assert verify.returncode == 0, verify.stdout


def _stop_once_crawling(process: subprocess.Popen, data: Path, stop) -> tuple[str, str]:
    """Call `stop` once the crawl is really crawling (a WARC file open), however slow the machine is."""
    deadline = time.monotonic() + 120
    while not list((data / "warc").glob("*.open")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    time.sleep(0.3)
    stop()
    return process.communicate(timeout=120)


@pytest.mark.e2e
def test_ctrl_c_on_schedule_stops_its_crawl_cleanly(tmp_path):
    """Ctrl+C in a terminal signals the whole foreground group: the crawl got SIGINT from the terminal and
    SIGTERM from schedule, Scrapy took the second for "force", and the WARC file was left open, the catalogue
    unfolded, the run reported partial (exit 1)."""
    data = tmp_path / "data"
    with ReplicaProcess(articles=150, extra=["--latency", "0.1"]) as replica:
        schedule = subprocess.Popen(
            [sys.executable, "-m", "archive", "schedule", "--every", "1h", "--data", str(data), "--",
             "--replica", replica.base_url, "-s", "CONCURRENT_REQUESTS=2"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        out, err = _stop_once_crawling(schedule, data, lambda: os.killpg(schedule.pid, signal.SIGINT))
    assert schedule.returncode == 3 and "run 1 exited 3" in out, out + err
    assert "crawl stopped: shutdown" in out, out
    assert not list((data / "warc").glob("*.open"))
    log = next((data / "logs").glob("*.log")).read_text(encoding="utf-8")
    assert "forcing unclean shutdown" not in log


@pytest.mark.e2e
def test_a_crawl_forced_to_stop_says_failed_not_partial(tmp_path):
    """A second SIGTERM forces Scrapy down before the spider closes: no finish reason, and the crawl said
    "partial" (exit 1) with every article not yet answered counted as dropped."""
    data = tmp_path / "data"
    with ReplicaProcess(articles=150, extra=["--latency", "0.1"]) as replica:
        crawl = subprocess.Popen([sys.executable, "-m", "archive", "crawl", "--replica", replica.base_url, "--data",
                                  str(data), "--quiet", "-s", "CONCURRENT_REQUESTS=2"],
                                 cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        def twice() -> None:
            crawl.send_signal(signal.SIGTERM)
            time.sleep(0.05)
            crawl.send_signal(signal.SIGTERM)

        out, err = _stop_once_crawling(crawl, data, twice)
    assert crawl.returncode == 3, out + err
    assert "forced to stop" in out and "dropped unanswered" not in out, out


def test_servers_started_by_serve_die_with_it_even_when_it_is_killed(tmp_path):
    """`serve` killed with -9 (the OOM killer, a lost terminal) leaves no Datasette or pywb holding a port."""
    data = tmp_path / "data"
    with ReplicaProcess(articles=5) as replica:
        portal_archive("crawl", "--replica", replica.base_url, "--data", str(data), "--quiet")
    serve = subprocess.Popen([sys.executable, "-m", "archive", "serve", "--data", str(data), "--port",
                              str(free_port()), "--replay-port", str(free_port())], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        children: list[int] = []
        deadline = time.monotonic() + 120
        while len(children) < 2 and time.monotonic() < deadline:
            children = _children(serve.pid)
            time.sleep(0.5)
        assert len(children) >= 2, f"serve started {children}"
    finally:
        serve.send_signal(signal.SIGKILL)
        serve.wait(timeout=30)
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in children if _alive(pid)], "a server outlived the serve that started it"


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("verb", ["serve", "replay"])
def test_a_taken_port_is_a_usage_error_before_anything_starts(crawled, verb):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = portal_archive(verb, "--data", str(crawled["data"]), "--port", port, check=False, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"127.0.0.1:{port}" in result.stderr and "choose another with --port" in result.stderr
    assert "Replay: http" not in result.stdout  # no address announced for a server that never listened
