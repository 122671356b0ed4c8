"""Shared fixtures: a replica in a child process and one crawl of it, reused."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from replica.launch import ReplicaProcess

ROOT = Path(__file__).resolve().parent.parent
# postgres, redis, s3 (and postgres_url, redis_url, s3_url): servers the tests start themselves.
pytest_plugins = ["tests.services"]
CRAWLED_ARTICLES = 150


def portal_archive(*args: str, check: bool = True, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    """Run the CLI in a child process, as a user would."""
    result = subprocess.run(
        [sys.executable, "-m", "archive", *args],
        capture_output=True, text=True, encoding="utf-8", timeout=timeout, cwd=ROOT, **kwargs,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"portal-archive {' '.join(args)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
        )
    return result


@contextmanager
def pywb_with(wayback: str, root: Path, collection: str, packages: list[Path]):
    """pywb (`wayback`, from `find_wayback()`) serving the WACZ `packages` unpacked into `collection` under
    `root`, on a free loopback port; yields the collection's URL (http://127.0.0.1:PORT/COLLECTION)."""
    from tests.timestamp_authority import free_port

    root.mkdir(parents=True, exist_ok=True)
    manager = str(Path(wayback).with_name("wb-manager"))
    for args in (["init", collection], ["add", "--unpack-wacz", collection, *map(str, packages)]):
        done = subprocess.run([manager, *args], cwd=root, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    port = free_port()
    process = subprocess.Popen([wayback, "-b", "127.0.0.1", "-p", str(port)], cwd=root,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_server(f"http://127.0.0.1:{port}/", process)
        yield f"http://127.0.0.1:{port}/{collection}"
    finally:
        process.terminate()
        process.wait(timeout=20)


def wait_for_server(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    """Wait until `url` answers; fail if `process` (the server) exits first or the time runs out."""
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{process.args[0]} exited {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing answered at {url}")


def sigterm_when(args: list[str], ready, *, settle: float = 1.0) -> tuple[int, str]:
    """Run the CLI with `args`, send it SIGTERM once `ready()` holds (and `settle` seconds more), as systemd's
    stop or `timeout` would; (exit code, standard error)."""
    import signal
    import time

    process = subprocess.Popen([sys.executable, "-m", "archive", *args], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not ready():
            time.sleep(0.1)
        time.sleep(settle)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, err


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="session")
def crawled(tmp_path_factory):
    """A crawl of a 150-article replica: data folder, crawl output, ground truth."""
    data = tmp_path_factory.mktemp("crawl") / "data"
    with ReplicaProcess(articles=CRAWLED_ARTICLES) as replica:
        result = portal_archive("crawl", "--replica", replica.base_url, "--data", str(data),
                                "--quiet", "--media-files", check=False)
        truth = portal_archive("replica", "truth", "--articles", str(CRAWLED_ARTICLES)).stdout
        base_url = replica.base_url
        items_files = sorted((data / "items").glob("*.jsonl"))
        # The replica stays up for the session: replay tests compare with it.
        yield {
            "data": data,
            "result": result,
            "items": read_jsonl(items_files[0]) if items_files else [],
            "truth": [json.loads(line) for line in truth.splitlines() if line.strip()],
            "base_url": base_url,
        }


@pytest.fixture
def crawled_copy(crawled, tmp_path) -> Path:
    """A copy of the session crawl's WARC files and items, without a catalogue: a data folder to reindex."""
    copy = tmp_path / "data"
    shutil.copytree(crawled["data"] / "warc", copy / "warc")
    shutil.copytree(crawled["data"] / "items", copy / "items")
    return copy


SEED_DOCID = "6187593"  # the seed article's docid in the replica


def cli(*args: str):
    """Run the CLI in this process (click's runner), for fast command tests."""
    from click.testing import CliRunner

    from archive.cli import main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def seed_article_id(data: Path) -> int:
    """The catalogue id of the seed article in DATA."""
    from archive.catalogue.sqlite import catalogue_path, connect

    conn = connect(catalogue_path(data), readonly=True)
    row = conn.execute("SELECT id FROM articles WHERE url LIKE ?", (f"%{SEED_DOCID}%",)).fetchone()
    conn.close()
    return row[0]
