"""A whole crawl against a hostile replica: every fault at once.

The crawl must finish, count each kind of trouble, mark truncations in the
WARC, keep the catalogue consistent, never leave its hosts, and archive
exactly the articles a correct crawler can (the replica's truth says which).
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from crawler.items import TRUTH_FIELDS
from replica.launch import ReplicaProcess
from tests.conftest import ROOT, portal_archive, read_jsonl

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ARTICLES = 150
FAULTS = ["--fault", "all=0.12", "--slow-seconds", "3", "--oversize-bytes", str(3 * 1024 * 1024)]
CRAWL_SETTINGS = ["-s", "DOWNLOAD_TIMEOUT=1.5", "-s", "DOWNLOAD_MAXSIZE=1048576", "-s", "RETRY_TIMES=3",
                  "-s", "ARCHIVE_RETRY_AFTER_MAX=2"]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    data = tmp_path_factory.mktemp("hostile") / "data"
    with ReplicaProcess(articles=ARTICLES, extra=FAULTS) as replica:
        result = subprocess.run(
            [sys.executable, "-m", "archive", "crawl", "--replica", replica.base_url, "--data", str(data),
             "--quiet", *CRAWL_SETTINGS],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
        )
        host = urlsplit(replica.base_url).netloc
    truth = [json.loads(line) for line in portal_archive(
        "replica", "truth", "--articles", str(ARTICLES), "--fault", "all=0.12").stdout.splitlines()]
    items = [item for path in (data / "items").glob("*.jsonl") for item in read_jsonl(path)]
    stats = json.loads(sqlite3.connect(data / "catalog.sqlite").execute("SELECT stats FROM crawls").fetchone()[0])
    return {"data": data, "result": result, "truth": truth, "items": items, "stats": stats, "host": host}


def test_the_crawl_finishes_with_a_partial_exit_code(hostile):
    result = hostile["result"]
    assert result.returncode == 1, result.stdout + result.stderr
    assert "gave up after retries" in result.stdout


def test_archives_exactly_the_archivable_articles(hostile):
    expected = {urlsplit(t["url"]).path: t for t in hostile["truth"] if t["fault"] is None}
    unreachable = {urlsplit(t["url"]).path for t in hostile["truth"] if t["fault"] is not None}
    assert unreachable, "the fault rate is too low to test anything"
    got = {urlsplit(item["url"]).path: item for item in hostile["items"]}
    assert len(got) == len(hostile["items"]), "an article was archived twice (tracking parameters?)"
    assert set(got) == set(expected)
    for path, truth in expected.items():
        for name in TRUTH_FIELDS:
            if name == "url":
                continue
            value = got[path][name]
            if name in ("images", "attachments"):
                value = [{k: urlsplit(v).path if k == "url" else v for k, v in e.items()
                          if k in ("url", "alt", "caption", "name")} for e in value]
                want = [{k: urlsplit(v).path if k == "url" else v for k, v in e.items()} for e in truth[name]]
            else:
                want = truth[name]
            assert value == want, (path, name)


def test_each_kind_of_trouble_is_counted(hostile):
    stats = hostile["stats"]
    assert stats.get("retry/count", 0) > 0
    assert stats.get("retry/max_reached", 0) > 0
    assert stats.get("archive/truncated/disconnect", 0) > 0
    assert stats.get("archive/retry_after_waits", 0) > 0
    assert any(k.startswith("downloader/exception_type_count/") for k in stats)


def test_truncations_are_marked_in_the_warc(hostile):
    conn = sqlite3.connect(hostile["data"] / "catalog.sqlite")
    assert conn.execute("SELECT count(*) FROM captures WHERE truncated = 'disconnect'").fetchone()[0] > 0


def test_never_leaves_its_host_nor_walks_into_traps(hostile):
    conn = sqlite3.connect(hostile["data"] / "catalog.sqlite")
    hosts = {urlsplit(url).netloc for (url,) in conn.execute("SELECT url FROM captures")}
    assert hosts == {hostile["host"]}
    paths = [urlsplit(url).path for (url,) in conn.execute("SELECT url FROM captures")]
    assert not [p for p in paths if "/calendar/" in p]
    real_pages = -(-ARTICLES // 20)
    assert hostile["stats"]["archive/list_pages"] <= real_pages + 2


def test_archive_stays_valid(hostile):
    result = portal_archive("verify", "--data", str(hostile["data"]), check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("fault", ["redirect-loop", "oversize"])
def test_articles_that_give_no_page_make_the_crawl_partial(tmp_path, fault):
    """A redirect loop or an answer over DOWNLOAD_MAXSIZE never reaches the spider: such an article used to
    vanish from a crawl that said "ok", exit 0 (only a debug or warning line told)."""
    rates = ["--fault", f"{fault}=0.25", "--oversize-bytes", str(3 * 1024 * 1024)]
    truth = [json.loads(line) for line in portal_archive(
        "replica", "truth", "--articles", "40", *rates[:2]).stdout.splitlines()]
    lost = [t for t in truth if t["fault"] == fault]
    assert lost, "the fault rate is too low to test anything"
    data = tmp_path / "data"
    with ReplicaProcess(articles=40, extra=rates) as replica:
        result = portal_archive("crawl", "--replica", replica.base_url, "--data", str(data), "--quiet",
                                "-s", "DOWNLOAD_MAXSIZE=1048576", "-s", "DOWNLOAD_WARNSIZE=0", check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    # Each lost article is named as one: failed (its error in the log), or dropped without an error (a redirect
    # into a URL another article's loop had fetched already: Scrapy's duplicate filter).
    counted = re.findall(r"(\d+) × article (?:not fetched|dropped unanswered)", result.stdout)
    assert sum(int(n) for n in counted) == len(lost), result.stdout
    items = [item for path in (data / "items").glob("*.jsonl") for item in read_jsonl(path)]
    assert len(items) == len(truth) - len(lost)
