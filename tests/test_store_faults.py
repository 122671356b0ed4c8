"""Faults between a crawl and its store: S3 stopped mid-crawl, uploads cut off, a store that corrupts.

In every case no WARC file is lost: what the store did not take (or took
damaged) stays in DATA/warc/, the crawl says so (exit 1, the files named in
its summary), and the next run stores it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from archive.catalogue import open_catalogue
from replica.launch import ReplicaProcess
from tests.conftest import ROOT, portal_archive
from tests.s3_faults import FaultyS3
from tests.services import S3Service
from tests.test_store_crawl import client_store, s3_env

pytestmark = pytest.mark.e2e

ROTATE = "ARCHIVE_WARC_MAX_SIZE=100000"


def _local_warcs(data):
    return sorted((data / "warc").glob("*.warc.gz"))


def _stored_warcs(store) -> set[str]:
    return {o.name for o in store.list("warc/") if o.name.endswith(".warc.gz")}


def _log(data) -> str:
    return "".join(path.read_text(encoding="utf-8") for path in (data / "logs").glob("*.log"))


@pytest.fixture
def own_s3():
    """An S3 server of its own, for a test that stops it: its restart replays only this test's requests."""
    with S3Service() as service:
        yield service


@pytest.mark.slow
def test_s3_stopped_mid_crawl_keeps_files_local_then_they_are_stored(own_s3, tmp_path):
    s3 = own_s3
    url = f"s3://{s3.create_bucket()}/archive"
    store = client_store(url, s3)
    data = tmp_path / "data"
    env = s3_env(s3)
    with ReplicaProcess(articles=150) as replica:
        crawl = subprocess.Popen(
            [sys.executable, "-m", "archive", "crawl", "--replica", replica.base_url, "--data", str(data),
             "--store", url, "--quiet", "-s", ROTATE, "-s", "ARCHIVE_STORE_WAIT=3", "-s", "ARCHIVE_STORE_RETRY_MAX=1"],
            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 120
            while not _stored_warcs(store) and time.monotonic() < deadline and crawl.poll() is None:
                time.sleep(0.1)
            assert _stored_warcs(store), "no file was stored while the crawl ran"
            s3.stop()  # mid-crawl: the store goes away
            out, err = crawl.communicate(timeout=300)
        finally:
            if crawl.poll() is None:
                crawl.kill()
            s3.start()
    assert crawl.returncode == 1, out + err
    assert "not stored in" in out and "wait in the data folder" in out
    left = _local_warcs(data)
    assert left, "the files the store did not take stay local"
    assert "Could not store" in _log(data)
    stored_before = _stored_warcs(store)
    # The store is back: `upload` (what a worker runs at start) stores what waited.
    result = portal_archive("upload", "--data", str(data), "--store", url, env=env)
    assert "0 WARC files" in result.stdout
    assert not _local_warcs(data)
    assert _stored_warcs(store) == stored_before | {p.name for p in left}
    assert portal_archive("verify", "--store", url, "--quiet", env=env, check=False).returncode == 0
    with open_catalogue(data, readonly=True) as catalogue:
        files = {name for name in catalogue.ingested()}
        assert catalogue.counts()["articles"] == 150
    assert files == _stored_warcs(store)


def test_store_down_for_the_whole_crawl_then_the_next_crawl_stores_the_leftovers(s3, tmp_path):
    url = f"s3://{s3.create_bucket()}/archive"
    store = client_store(url, s3)
    data = tmp_path / "data"
    env = s3_env(s3)
    away = dict(env, AWS_ENDPOINT_URL="http://127.0.0.1:9")
    with ReplicaProcess(articles=20) as replica:
        first = portal_archive("crawl", "--replica", replica.base_url, "--data", str(data), "--store", url,
                               "--quiet", "-s", ROTATE, "-s", "ARCHIVE_STORE_WAIT=1", env=away, check=False)
        assert first.returncode == 1 and "Warning:" in first.stderr and "not stored" in first.stdout
        left = {p.name for p in _local_warcs(data)}
        assert left and not _stored_warcs(store)
        second = portal_archive("crawl", "--replica", replica.base_url, "--data", str(data), "--store", url,
                                "--quiet", env=env, check=False)
    assert second.returncode == 0, second.stdout + second.stderr
    assert not _local_warcs(data) and left < _stored_warcs(store)
    items = {o.name for o in store.list("items/")}
    assert {p.name for p in (data / "items").glob("*.jsonl")} == items  # both crawls' items


def test_uploads_cut_off_are_retried_and_nothing_is_lost(s3, tmp_path):
    url = f"s3://{s3.create_bucket()}/archive"
    store = client_store(url, s3)
    data = tmp_path / "data"
    with FaultyS3(s3.url, cut_puts=5) as proxy, ReplicaProcess(articles=20) as replica:
        env = dict(s3_env(s3), AWS_ENDPOINT_URL=proxy.url)
        result = portal_archive("crawl", "--replica", replica.base_url, "--data", str(data), "--store", url,
                                "--quiet", "-s", ROTATE, "-s", "ARCHIVE_STORE_RETRY_MAX=1", env=env, check=False)
        assert proxy.cut == 5
    assert result.returncode == 0, result.stdout + result.stderr
    assert not _local_warcs(data) and _stored_warcs(store)
    assert "Could not store" in _log(data)  # botocore retried some cuts itself; ours retried the rest
    assert portal_archive("verify", "--store", url, "--quiet", env=s3_env(s3), check=False).returncode == 0


def test_a_store_that_corrupts_is_caught_by_reading_back_and_keeps_the_files(s3, tmp_path):
    url = f"s3://{s3.create_bucket()}/archive"
    store = client_store(url, s3)
    data = tmp_path / "data"
    with FaultyS3(s3.url, corrupt=".warc.gz") as proxy, ReplicaProcess(articles=20) as replica:
        env = dict(s3_env(s3), AWS_ENDPOINT_URL=proxy.url)
        result = portal_archive("crawl", "--replica", replica.base_url, "--data", str(data), "--store", url,
                                "--quiet", "-s", ROTATE, "-s", "ARCHIVE_STORE_WAIT=2",
                                "-s", "ARCHIVE_STORE_RETRY_MAX=0.5", env=env, check=False)
        assert proxy.corrupted >= 2
    assert result.returncode == 1, result.stdout + result.stderr
    assert "SHA-256 read back" in result.stdout
    kept = _local_warcs(data)
    assert kept and not _stored_warcs(store)  # nothing damaged left in the store
    # Straight to the store (no corrupting proxy): the kept files go up intact.
    portal_archive("upload", "--data", str(data), "--store", url, env=s3_env(s3))
    assert _stored_warcs(store) == {p.name for p in kept} and not _local_warcs(data)
    assert portal_archive("verify", "--store", url, "--quiet", env=s3_env(s3), check=False).returncode == 0


def test_upload_command_usage_and_store_away(s3, tmp_path):
    data = tmp_path / "data"
    (data / "warc").mkdir(parents=True)
    env = s3_env(s3)
    assert portal_archive("upload", "--data", str(data), env=env, check=False).returncode == 2
    assert portal_archive("upload", "--data", str(data), "--store", "ftp://x/y", env=env, check=False).returncode == 2
    assert portal_archive("upload", "--data", str(data), "--store", "s3://b", "--help", env=env).returncode == 0
    # A leftover WARC file (made by a crawl of nothing but robots.txt) and a store that is away: exit 8, kept.
    from tests.test_dedup import JPEG, Worker

    url = f"sqlite:///{data}/catalog.sqlite"
    worker = Worker(data, url, "crawl-1")
    worker.fetch("http://a.example/1.jpg", JPEG, "image/jpeg", media=True)
    worker.close()
    away = dict(env, AWS_ENDPOINT_URL="http://127.0.0.1:9")
    result = portal_archive("upload", "--data", str(data), "--store", f"s3://{s3.create_bucket()}", "--wait", "1",
                            env=away, check=False)
    assert result.returncode == 8 and "1 WARC files" in result.stdout
    assert _local_warcs(data)
    assert os.environ.get("AWS_ENDPOINT_URL") != "http://127.0.0.1:9"
