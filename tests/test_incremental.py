"""Incremental recrawls against the replica's editions, compared with its ground truth.

Edition 1 (1,000 articles), the same edition again (nothing may change), then
edition 2 with every known article rechecked: every new, edited and removed
article must be found exactly, with no false changes.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.catalogue.sqlite import catalogue_path
from archive.catalogue.sqlite import SqliteCatalogue
from replica.launch import ReplicaProcess, free_port
from tests.conftest import ROOT, portal_archive

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ARTICLES = 1000
TABLES = SqliteCatalogue.TABLES


def _path(url: str) -> str:
    return urlsplit(url).path


def _crawl(port: int, data, edition: int, *extra: str) -> subprocess.CompletedProcess:
    with ReplicaProcess(articles=ARTICLES, edition=edition, port=port) as replica:
        return subprocess.run(
            [sys.executable, "-m", "archive", "crawl", "--replica", replica.base_url, "--data", str(data),
             "--quiet", *extra],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
        )


def _truth(edition: int, *extra: str) -> list[dict]:
    out = portal_archive("replica", "truth", "--articles", str(ARTICLES), "--edition", str(edition), *extra).stdout
    return [json.loads(line) for line in out.splitlines()]


@pytest.fixture(scope="module")
def editions(tmp_path_factory):
    data = tmp_path_factory.mktemp("editions") / "data"
    port = free_port()
    first = _crawl(port, data, 1)
    assert first.returncode == 0, first.stdout + first.stderr
    again = _crawl(port, data, 1)
    assert again.returncode == 0, again.stdout + again.stderr
    second = _crawl(port, data, 2, "--full", "--recheck", "all")
    assert second.returncode == 0, second.stdout + second.stderr
    conn = sqlite3.connect(catalogue_path(data))
    conn.row_factory = sqlite3.Row
    crawls = [row["id"] for row in conn.execute("SELECT id FROM crawls ORDER BY started")]
    yield {"data": data, "conn": conn, "crawls": crawls, "port": port}
    conn.close()


def _changes(data, crawl: str) -> list[dict]:
    out = portal_archive("changes", "--data", str(data), "--crawl", crawl, "--json").stdout
    return [json.loads(line) for line in out.splitlines()]


def test_first_crawl_catalogues_every_article(editions):
    conn = editions["conn"]
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] >= ARTICLES
    first = editions["crawls"][0]
    assert conn.execute("SELECT count(*) FROM versions WHERE crawl_id = ?", (first,)).fetchone()[0] == ARTICLES


def test_unchanged_recrawl_changes_nothing_and_fetches_little(editions):
    conn = editions["conn"]
    first, again = editions["crawls"][:2]
    assert _changes(editions["data"], again) == []
    stats = {row[0]: json.loads(row[1]) for row in conn.execute("SELECT id, stats FROM crawls")}
    assert stats[again]["downloader/request_count"] <= 0.05 * stats[first]["downloader/request_count"]


def test_edition_2_changes_exactly_as_the_truth(editions):
    second = editions["crawls"][2]
    found = _changes(editions["data"], second)
    truth = _truth(2)
    removed = _truth(2, "--removed")
    expect_new = {_path(t["url"]) for t in truth if t["change"] == "new"}
    expect_edited = {_path(t["url"]) for t in truth if t["change"] == "edited"}
    expect_removed = {(_path(t["url"]), {"404": "404", "redirect": "redirect_home"}[t["how"]]) for t in removed}
    assert expect_new and expect_edited and expect_removed
    assert {_path(c["url"]) for c in found if c["change"] == "new"} == expect_new
    assert {_path(c["url"]) for c in found if c["change"] == "edited"} == expect_edited
    assert {(_path(c["url"]), c["how"]) for c in found if c["change"] == "withdrawn"} == expect_removed
    for change in found:
        if change["change"] == "edited":
            assert change["changed_fields"] and change["diff"].startswith("--- version 1")


def test_withdrawn_articles_keep_their_versions(editions):
    conn = editions["conn"]
    rows = conn.execute(
        "SELECT a.status, count(v.id) FROM withdrawals w JOIN articles a ON a.id = w.article_id"
        " JOIN versions v ON v.article_id = a.id GROUP BY a.id").fetchall()
    assert rows and all(status == "withdrawn" and versions >= 1 for status, versions in rows)


def test_revisit_records_of_both_profiles(editions):
    profiles = {}
    for path in sorted((editions["data"] / "warc").glob("*.warc.gz")):
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "revisit":
                    profile = record.rec_headers.get_header("WARC-Profile").rsplit("/", 1)[-1]
                    profiles[profile] = profiles.get(profile, 0) + 1
                    assert record.rec_headers.get_header("WARC-Refers-To-Target-URI")
                    assert record.rec_headers.get_header("WARC-Refers-To-Date")
                    assert record.rec_headers.get_header("WARC-Refers-To")
    assert profiles.get("server-not-modified", 0) > 0
    assert profiles.get("identical-payload-digest", 0) > 0


def test_verify_passes_after_recrawls(editions):
    result = portal_archive("verify", "--data", str(editions["data"]), check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_reindex_equals_the_live_catalogue(editions, tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(editions["data"], copy, ignore=shutil.ignore_patterns("catalog.sqlite*", "media"))
    portal_archive("reindex", "--data", str(copy))
    with SqliteCatalogue.open(catalogue_path(editions["data"]), readonly=True) as live, \
            SqliteCatalogue.open(catalogue_path(copy), readonly=True) as rebuilt:
        for table in TABLES:
            assert rebuilt.dump_table(table) == live.dump_table(table), table


def test_runs_lists_every_crawl(editions):
    out = portal_archive("runs", "--data", str(editions["data"]), "--json").stdout
    runs = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in runs] == list(reversed(editions["crawls"]))
    assert all(r["status"] == "ok" and r["exit_code"] == 0 for r in runs)
