"""A write error on any output (WARC, JSONL, catalogue) stops the crawl loudly, loses nothing, and the next
crawl completes the set.

The catalogue must never hold an article whose JSONL line was not written:
otherwise the next crawl takes it as known and the JSONL set stays short for
ever.  Real full disks are small tmpfs mounts (when the tests run as root, as
CI does); injected ones work anywhere.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from replica.launch import ReplicaProcess
from tests.conftest import ROOT, portal_archive, read_jsonl
from tests.faults import pipelines_with

pytestmark = pytest.mark.e2e

ARTICLES = 120


def _crawl(base_url: str, data: Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "archive", "crawl", "--replica", base_url, "--data", str(data), "--quiet", *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, PYTHONPATH=str(ROOT), **(env or {})))


def _jsonl_urls(data: Path) -> list[str]:
    return [item["url"] for path in sorted((data / "items").glob("*.jsonl")) for item in read_jsonl(path)]


def _catalogue_urls(catalogue: Path) -> set[str]:
    conn = sqlite3.connect(catalogue)
    try:
        return {row[0] for row in conn.execute("SELECT url FROM articles")}
    finally:
        conn.close()


def _truth_urls(base_url: str) -> set[str]:
    import json

    out = portal_archive("replica", "truth", "--articles", str(ARTICLES), "--base-url", base_url).stdout
    return {json.loads(line)["url"] for line in out.splitlines()}


@contextlib.contextmanager
def tiny_disk(path: Path, size: str = "40k"):
    """A tmpfs of `size` mounted at `path` (root only); its files are copied out before it goes."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a real full disk needs a tmpfs mount (root); the injected-fault tests cover the rest")
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    saved = path.with_name(path.name + ".saved")
    try:
        yield path
    finally:
        shutil.copytree(path, saved)
        subprocess.run(["umount", str(path)], check=True)
        shutil.rmtree(path)
        saved.rename(path)


def _assert_consistent(data: Path) -> None:
    """Every article the catalogue holds has its JSONL line, and no line is there twice."""
    lines = _jsonl_urls(data)
    assert len(lines) == len(set(lines))
    assert _catalogue_urls(data / "catalog.sqlite") <= set(lines)


def test_full_disk_under_items_stops_loudly_then_the_next_crawl_completes_the_set(tmp_path):
    data = tmp_path / "data"
    with ReplicaProcess(articles=ARTICLES) as replica:
        with tiny_disk(data / "items"):
            first = _crawl(replica.base_url, data)
            assert first.returncode == 3, first.stdout + first.stderr
            assert "failed" in first.stdout and "No space left on device" in first.stdout
            _assert_consistent(data)
        log = next((data / "logs").glob("*.log")).read_text(encoding="utf-8")
        assert "JSONL writer failed, stopping the crawl" in log
        assert len(_jsonl_urls(data)) < ARTICLES
        second = _crawl(replica.base_url, data)
        assert second.returncode == 0, second.stdout + second.stderr
        truth = _truth_urls(replica.base_url)
    assert set(_jsonl_urls(data)) == truth
    assert _catalogue_urls(data / "catalog.sqlite") == truth
    _assert_consistent(data)
    verify = portal_archive("verify", "--data", str(data), check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_injected_jsonl_write_error_is_handled_like_a_warc_write_error(tmp_path):
    data = tmp_path / "data"
    with ReplicaProcess(articles=ARTICLES) as replica:
        first = _crawl(replica.base_url, data, "-s",
                       "ITEM_PIPELINES=" + pipelines_with(JsonLinesPipeline="tests.faults.DiskFullJsonLines"),
                       env={"FAULT_AFTER_LINES": "7"})
        assert first.returncode == 3, first.stdout + first.stderr
        assert len(_jsonl_urls(data)) == 7
        _assert_consistent(data)
        assert len(_catalogue_urls(data / "catalog.sqlite")) == 7
        second = _crawl(replica.base_url, data)
        assert second.returncode == 0, second.stdout + second.stderr
        truth = _truth_urls(replica.base_url)
    assert set(_jsonl_urls(data)) == truth == _catalogue_urls(data / "catalog.sqlite")


def test_an_unexpected_pipeline_error_never_leaves_an_article_waiting(tmp_path):
    data = tmp_path / "data"
    pipelines = pipelines_with(JsonLinesPipeline="crawler.pipelines.jsonl.JsonLinesPipeline")
    import json

    swapped = json.loads(pipelines)
    swapped["tests.faults.ExplodingPipeline"] = 350  # between the WARC and the JSONL pipelines
    with ReplicaProcess(articles=ARTICLES) as replica:
        first = _crawl(replica.base_url, data, "-s", "ITEM_PIPELINES=" + json.dumps(swapped),
                       env={"FAULT_EVERY_NTH": "10"})
        # Finished, but not everything was delivered: a problem, not an "ok".
        assert first.returncode == 1, first.stdout + first.stderr
        assert "articles not delivered" in first.stdout
        _assert_consistent(data)
        assert len(_catalogue_urls(data / "catalog.sqlite")) == ARTICLES - ARTICLES // 10
        second = _crawl(replica.base_url, data)
        assert second.returncode == 0, second.stdout + second.stderr
        truth = _truth_urls(replica.base_url)
    assert set(_jsonl_urls(data)) == truth == _catalogue_urls(data / "catalog.sqlite")


def test_full_disk_under_the_catalogue_stops_loudly_and_the_warc_files_stay_whole(tmp_path):
    data = tmp_path / "data"
    disk = tmp_path / "small"
    with ReplicaProcess(articles=ARTICLES) as replica:
        with tiny_disk(disk, "512k"):
            first = _crawl(replica.base_url, data, "-s", f"ARCHIVE_CATALOGUE=sqlite:///{disk / 'catalog.sqlite'}")
            assert first.returncode == 3, first.stdout + first.stderr
        # With room again (the default catalogue in DATA), the next crawl catches up and completes.
        _assert_catalogue_failure_then_catch_up(first, data, replica)


def test_a_catalogue_that_fills_as_the_crawl_finishes_is_a_catalogue_failure(tmp_path):
    data = tmp_path / "data"
    with ReplicaProcess(articles=ARTICLES) as replica:
        first = _crawl(replica.base_url, data, "-s",
                       "ITEM_PIPELINES=" + pipelines_with(WarcPipeline="tests.faults.CatalogueFullAtFinish"))
        assert first.returncode == 3, first.stdout + first.stderr
        _assert_catalogue_failure_then_catch_up(first, data, replica)


def _assert_catalogue_failure_then_catch_up(first, data, replica) -> None:
    """`first` stopped on a full catalogue, said so and logged it as the catalogue's; the WARC files are whole;
    the next crawl catches up and the catalogue holds every article."""
    assert "catalogue" in first.stdout and "full" in first.stdout
    log = next((data / "logs").glob("*.log")).read_text(encoding="utf-8")
    assert "Catalogue failed, stopping the crawl" in log
    assert "WARC writer failed" not in log
    # Items still in flight when it stopped are dropped in the catalogue's name, not the WARC writer's.
    dropped = [line for line in log.splitlines() if "Dropped:" in line]
    assert all("Catalogue failed, the crawl is stopping" in line for line in dropped), dropped[:3]
    verify = portal_archive("verify", "--data", str(data), check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    second = _crawl(replica.base_url, data)
    assert second.returncode == 0, second.stdout + second.stderr
    assert _catalogue_urls(data / "catalog.sqlite") == _truth_urls(replica.base_url)
    _assert_consistent(data)


def test_full_disk_under_the_warc_files_keeps_the_catalogue_and_jsonl_in_step(tmp_path):
    data = tmp_path / "data"
    with ReplicaProcess(articles=ARTICLES) as replica:
        first = _crawl(replica.base_url, data, "-s", "ARCHIVE_WARC_WRITER=tests.faults.DiskFullWriter",
                       env={"FAULT_AFTER_EXCHANGES": "40"})
        assert first.returncode == 3, first.stdout + first.stderr
        _assert_consistent(data)
        second = _crawl(replica.base_url, data)
        assert second.returncode == 0, second.stdout + second.stderr
        truth = _truth_urls(replica.base_url)
    assert set(_jsonl_urls(data)) == truth == _catalogue_urls(data / "catalog.sqlite")
    verify = portal_archive("verify", "--data", str(data), check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
