"""Crashes: kill -9 at random moments, and a disk that fills up mid-crawl.

After any of these, what was already archived must stay valid: every WARC
file passes gzip -t, warcio check and verify, and every JSONL item points at
an existing record.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlite3

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.items import repair_torn_tail
from replica.launch import ReplicaProcess
from tests.conftest import ROOT, portal_archive, read_jsonl

KILLS = 20
ARTICLES = 3000


def _crawl(base_url: str, data: Path, *extra: str, env=None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "archive", "crawl", "--replica", base_url, "--data", str(data), "--quiet", *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def _check_files(data: Path) -> None:
    warcs = sorted((data / "warc").glob("*.warc.gz"))
    assert warcs
    for path in warcs:
        subprocess.run(["gzip", "-t", str(path)], check=True)
    bin_dir = Path(sys.executable).parent
    result = subprocess.run([str(bin_dir / "warcio"), "check", *map(str, warcs)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.e2e
@pytest.mark.slow
def test_kill_9_at_20_random_moments_then_resume(tmp_path):
    data = tmp_path / "data"
    # Moments after the crawl has opened its WARC file (however long starting takes on a busy machine).
    moments = random.Random(os.environ.get("CRASH_SEED", "7")).sample([x / 20 for x in range(0, 46)], KILLS)
    killed_with_output = 0
    # Big and slow enough that every kill lands in the middle of real work.
    with ReplicaProcess(articles=ARTICLES) as replica:
        for moment in moments:
            before = {path.name for path in (data / "warc").glob("*.open")} if (data / "warc").is_dir() else set()
            crawl = _crawl(replica.base_url, data, "-s", "CONCURRENT_REQUESTS=4")
            deadline = time.monotonic() + 120
            while (crawl.poll() is None and time.monotonic() < deadline
                   and not {p.name for p in (data / "warc").glob("*.open")} - before):
                time.sleep(0.02)
            time.sleep(moment)
            crawl.send_signal(signal.SIGKILL)
            crawl.communicate()
            if list((data / "warc").glob("*.open")):
                killed_with_output += 1
        final = _crawl(replica.base_url, data)
        out, err = final.communicate(timeout=300)
        assert final.returncode == 0, out + err
        truth = portal_archive("replica", "truth", "--articles", str(ARTICLES)).stdout.count("\n")
    assert killed_with_output >= KILLS // 2, "too few kills landed while a WARC file was open"
    assert not list((data / "warc").glob("*.open"))
    _check_files(data)
    verify = portal_archive("verify", "--data", str(data), check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # Every article is archived once, whatever the kills left behind, and the
    # catalogue holds every capture record the WARC files hold.
    conn = sqlite3.connect(data / "catalog.sqlite")
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == truth
    assert conn.execute("SELECT count(*) FROM versions").fetchone()[0] == truth
    assert conn.execute("SELECT count(*) FROM articles WHERE current_version IS NULL").fetchone()[0] == 0
    records = 0
    for path in (data / "warc").glob("*.warc.gz"):
        with open(path, "rb") as stream:
            records += sum(1 for r in ArchiveIterator(stream) if r.rec_type in ("response", "revisit"))
    assert conn.execute("SELECT count(*) FROM captures").fetchone()[0] == records
    items = [item for path in (data / "items").glob("*.jsonl") for item in read_jsonl(path)]
    assert {item["url"] for item in items} == {row[0] for row in conn.execute("SELECT url FROM articles")}


@pytest.mark.e2e
def test_disk_full_stops_loudly_and_keeps_what_was_written(tmp_path):
    data = tmp_path / "data"
    env = dict(os.environ, FAULT_AFTER_EXCHANGES="40", PYTHONPATH=str(ROOT))
    with ReplicaProcess(articles=200) as replica:
        crawl = _crawl(replica.base_url, data, "-s", "ARCHIVE_WARC_WRITER=tests.faults.DiskFullWriter", env=env)
        out, err = crawl.communicate(timeout=300)
    assert crawl.returncode == 3, out + err
    assert "No space left on device" in out
    log = next((data / "logs").glob("*.log")).read_text(encoding="utf-8")
    assert "WARC writer failed, stopping the crawl" in log
    items = read_jsonl(next((data / "items").glob("*.jsonl")))
    assert 0 < len(items) < 200
    # The writer left its file for recovery; the next start recovers it.
    from archive.warc.writer import recover

    recover(data / "warc")
    _check_files(data)
    verify = portal_archive("verify", "--data", str(data), check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_torn_jsonl_tail_is_cut_and_kept(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"a": 1}\n{"b": 2}\n{"c": ')
    assert repair_torn_tail(path) == len(b'{"c": ')
    assert path.read_bytes() == b'{"a": 1}\n{"b": 2}\n'
    assert (tmp_path / "c.jsonl.torn").read_bytes() == b'{"c": \n'
    assert repair_torn_tail(path) == 0
