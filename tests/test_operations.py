"""Running unattended: the lock, scheduled runs, and resuming after SIGTERM."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time

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
