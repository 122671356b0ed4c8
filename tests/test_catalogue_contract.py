"""One contract, two backends: SQLite and PostgreSQL catalogues give the same answers to the same WARC records.

Two crawls (edition 1, then edition 2 rechecked in full: new, edited and
withdrawn articles) are folded live into a SQLite catalogue, and the same
WARC files into a PostgreSQL one: every named operation of the catalogue API
and every command must then answer alike.  Two more crawls go live into
PostgreSQL, whose catalogue must equal a rebuild from their WARC files; and
applying every record again must change nothing on either backend.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from archive.catalogue import VersionFilter, open_catalogue
from archive.catalogue.changes import list_changes
from archive.catalogue.rebuild import warc_files
from archive.catalogue.warc_events import events_from_file
from replica.launch import ReplicaProcess, free_port
from tests.conftest import ROOT, portal_archive

pytestmark = pytest.mark.e2e

ARTICLES = 60


def _crawl(data: Path, port: int, edition: int, catalogue: str | None, *extra: str) -> None:
    env = dict(os.environ)
    env.pop("PORTAL_ARCHIVE_CATALOGUE", None)
    if catalogue:
        env["PORTAL_ARCHIVE_CATALOGUE"] = catalogue
    with ReplicaProcess(articles=ARTICLES, edition=edition, port=port) as replica:
        portal_archive("crawl", "--replica", replica.base_url, "--data", str(data), "--quiet", *extra, env=env)


@pytest.fixture(scope="module")
def archives(tmp_path_factory, postgres):
    """Crawls into SQLite, their WARC files folded into PostgreSQL; and crawls live into PostgreSQL."""
    root = tmp_path_factory.mktemp("contract")
    port = free_port()
    _crawl(root / "sqlite", port, 1, None)
    _crawl(root / "sqlite", port, 2, None, "--full", "--recheck", "all")
    pg_url = postgres.create_database()
    portal_archive("--catalogue", pg_url, "reindex", "--data", str(root / "sqlite"))
    live_url = postgres.create_database()
    _crawl(root / "live", port, 1, live_url)
    _crawl(root / "live", port, 2, live_url, "--full", "--recheck", "all")
    return {"sqlite": root / "sqlite", "pg": root / "sqlite", "pg_url": pg_url, "live": root / "live",
            "live_url": live_url, "root": root}


def _open(archives, which: str, *, readonly: bool = True):
    if which == "sqlite":
        return open_catalogue(archives["sqlite"], readonly=readonly)
    return open_catalogue(archives["pg"], archives["pg_url"], readonly=readonly)


def _answers(catalogue) -> dict:
    """What every read operation says, keyed by operation."""
    crawls = catalogue.crawls(10)
    ids = [crawl["id"] for crawl in crawls]
    first = catalogue.find_article(1)
    out = {
        "counts": catalogue.counts(),
        "crawls": [{k: v for k, v in crawl.items() if k != "stats"} for crawl in crawls],
        "crawls_by_id": catalogue.crawls_by_id(ids),
        "known": sorted((a.key, a.status, a.published, a.etag, a.last_modified) for a in
                        catalogue.known_articles("tengzhou")),
        "settled": catalogue.listing_settled("tengzhou"),
        "changes": [change.as_dict() for change in list_changes(catalogue)],
        "article": first,
        "by_url": catalogue.find_article(first["url"])["id"],
        "versions": [catalogue.versions_of(i) for i in range(1, 8)],
        "withdrawals": [catalogue.withdrawals_of(i) for i in range(1, ARTICLES + 1)],
        "urls": catalogue.urls_of(1),
        "top_sources": catalogue.top_sources(5),
        "sites": catalogue.facet_values("site"),
        "ingested": catalogue.ingested(),
        "first_payload": [catalogue.first_response_with_payload(catalogue.capture(i)["payload_digest"] or "-")
                          for i in range(1, 12)],
    }
    for name, selection in {"latest": VersionFilter(), "all": VersionFilter(versions="all", with_html=True),
                            "withdrawn": VersionFilter(withdrawn=True),
                            "flagged": VersionFilter(versions="all", flags=("hijacked_city_name", "spam_keywords")),
                            "source": VersionFilter(sources=("日报",)),
                            "ids": VersionFilter(versions="all", version_ids=(1, 3, 5, 999))}.items():
        out[f"count_{name}"] = catalogue.count_versions(selection)
        out[f"rows_{name}"] = list(catalogue.select_versions(selection))
    return out


def _tables(catalogue) -> dict:
    return {table: catalogue.dump_table(table) for table in catalogue.TABLES}


def test_live_folds_answer_alike(archives):
    with _open(archives, "sqlite") as lite, _open(archives, "pg") as pg:
        expected, got = _answers(lite), _answers(pg)
        assert expected["counts"]["versions"] > ARTICLES and expected["counts"]["withdrawals"] > 0
        for key in expected:
            assert json.loads(json.dumps(got[key], default=str)) == json.loads(json.dumps(expected[key], default=str)), key
        assert _tables(pg) == _tables(lite)


def test_reindex_equals_the_live_fold_on_postgresql(archives, postgres):
    copy = archives["root"] / "live-copy"
    shutil.copytree(archives["live"], copy)
    url = postgres.create_database()
    portal_archive("--catalogue", url, "reindex", "--data", str(copy))
    with open_catalogue(copy, url, readonly=True) as rebuilt, \
            open_catalogue(archives["live"], archives["live_url"], readonly=True) as live:
        assert live.counts()["versions"] > ARTICLES and live.counts()["withdrawals"] > 0
        assert _tables(rebuilt) == _tables(live)
        status = rebuilt.index_status()
        assert status.ready and status.pending == 0


@pytest.mark.parametrize("which", ["sqlite", "pg"])
def test_applying_every_record_again_changes_nothing(archives, which):
    with _open(archives, which, readonly=False) as catalogue:
        before = _tables(catalogue)
        for path in warc_files(archives[which]):
            for event in events_from_file(path):
                catalogue.apply(event)
        catalogue.commit()
        assert _tables(catalogue) == before


def test_the_cli_answers_alike_on_both(archives):
    def run(which: str, *args: str) -> str:
        env = dict(os.environ)
        env.pop("PORTAL_ARCHIVE_CATALOGUE", None)
        if which == "pg":
            env["PORTAL_ARCHIVE_CATALOGUE"] = archives["pg_url"]
        return portal_archive(*args, "--data", str(archives[which]), env=env).stdout

    def hits(which: str, query: str, order: str) -> list[dict]:
        out = run(which, "search", query, "--json", "--limit", "100", "--order", order)
        return [json.loads(line) for line in out.splitlines()]

    for query in ("化", "化工", "园区", "工业强市", "化工 园区"):
        # Both orders hit for hit: one ranking (archive.search.rank) scores both backends' matches.
        for order in ("date", "relevance"):
            pg, lite = hits("pg", query, order), hits("sqlite", query, order)
            assert lite and pg == lite, (query, order)
    assert run("pg", "changes", "--json") == run("sqlite", "changes", "--json")
    out = archives["root"]
    run("pg", "export", "--format", "jsonl", "--versions", "all", "--out", str(out / "pg.jsonl"))
    run("sqlite", "export", "--format", "jsonl", "--versions", "all", "--out", str(out / "lite.jsonl"))
    assert (out / "pg.jsonl").read_bytes() == (out / "lite.jsonl").read_bytes()
    for which in ("pg", "sqlite"):
        assert "0 problems" in run(which, "verify") or "OK" in run(which, "verify")


def test_two_crawls_write_one_postgresql_catalogue_at_once(tmp_path, postgres_url):
    """Two sections (two replicas of different corpora) crawled at the same time into one catalogue."""
    url = postgres_url
    profile = (ROOT / "crawler" / "profiles" / "tengzhou.toml").read_text(encoding="utf-8")
    other = tmp_path / "other.toml"
    other.write_text(profile.replace('name = "tengzhou"', 'name = "other"')
                     .replace("www.tengzhou.gov.cn", "www.other.gov.cn")
                     .replace('section = "工业经济"', 'section = "其他"'), encoding="utf-8")
    env = dict(os.environ, PORTAL_ARCHIVE_CATALOGUE=url)
    results: dict[str, object] = {}
    with ReplicaProcess(articles=ARTICLES) as first, ReplicaProcess(articles=ARTICLES, seed=2) as second:
        def crawl(key: str, base: str, *extra: str) -> None:
            results[key] = portal_archive("crawl", "--replica", base, "--data", str(tmp_path / key), "--quiet",
                                          *extra, env=env, check=False)

        threads = [threading.Thread(target=crawl, args=("a", first.base_url)),
                   threading.Thread(target=crawl, args=("b", second.base_url, "--profile", str(other)))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    for key in "ab":
        assert results[key].returncode == 0, results[key].stdout + results[key].stderr
    with open_catalogue(tmp_path, url, readonly=True) as catalogue:
        assert catalogue.counts()["articles"] == 2 * ARTICLES
        assert catalogue.counts()["versions"] == 2 * ARTICLES
        assert sorted(catalogue.facet_values("site")) == ["other", "tengzhou"]
    # Both again, at once: everything is known, nothing is new, nothing is doubled.
    with ReplicaProcess(articles=ARTICLES) as first, ReplicaProcess(articles=ARTICLES, seed=2) as second:
        threads = [threading.Thread(target=crawl, args=("a", first.base_url, "--full", "--recheck", "all")),
                   threading.Thread(target=crawl, args=("b", second.base_url, "--profile", str(other), "--full",
                                                        "--recheck", "all"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    with open_catalogue(tmp_path, url, readonly=True) as catalogue:
        assert catalogue.counts()["versions"] == 2 * ARTICLES


def test_a_postgresql_catalogue_that_is_down_is_a_clear_error(tmp_path):
    port = free_port()
    result = portal_archive("--catalogue", f"postgresql://nobody:secret@127.0.0.1:{port}/none", "runs",
                            "--data", str(tmp_path), check=False)
    assert result.returncode == 8, result.stderr
    assert "cannot reach the catalogue" in result.stderr and "secret" not in result.stderr
    assert "Traceback" not in result.stderr


def test_the_browser_ui_on_postgresql_reads_it_live_and_browses_a_snapshot(archives, tmp_path, monkeypatch):
    """`serve` with PostgreSQL: Datasette's tables from a SQLite snapshot; search, article and media pages live."""
    import asyncio

    from archive.catalogue import ENVIRONMENT
    from archive.catalogue.snapshot import snapshot
    from archive.web.app import build_datasette

    monkeypatch.setenv(ENVIRONMENT, archives["pg_url"])  # as under `serve`

    with _open(archives, "pg") as pg:
        counts = snapshot(pg, tmp_path / "catalog.sqlite")
        article = pg.find_article(3)
        image = next(((row, entry) for row in pg.versions_of(article["id"]) for entry in row["images"]
                      if (entry.get("warc") or {}).get("record_id")), None)
        media_id = pg.capture_ids([image[1]["warc"]["record_id"]])[image[1]["warc"]["record_id"]] if image else None
        assert counts["versions"] == pg.counts()["versions"]
    datasette = build_datasette(tmp_path / "catalog.sqlite", live=archives["pg_url"], data=archives["pg"])

    def get(path: str):
        return asyncio.run(datasette.client.get(path))

    found = get("/-/search.json?q=%E5%8C%96%E5%B7%A5")  # 化工
    assert found.status_code == 200 and found.json()["total"] > 0
    page = get(f"/-/article/{article['id']}")
    assert page.status_code == 200 and article["url"] in page.text
    if media_id:
        assert get(f"/-/media/{media_id}").status_code == 200
    table = get("/catalog/web_articles.json?_shape=array&_size=5")
    assert table.status_code == 200 and len(table.json()) == 5
    # A proof package: the records from the data folder, not from the snapshot's folder; its key kept in DATA.
    proof = get(f"/-/article/{article['id']}/proof.wacz")
    assert proof.status_code == 200, proof.text[:300]
    assert not (tmp_path / "keys").exists() and (archives["pg"] / "keys" / "signing-key.pem").is_file()
    # Live: a change in PostgreSQL shows in the pages at once, not in the snapshot's tables.
    with _open(archives, "pg", readonly=False) as pg:
        pg.execute("UPDATE versions SET title = '已更新的标题' WHERE id = ?", (article["current_version"],))
        pg.commit()
        try:
            assert "已更新的标题" in get(f"/-/article/{article['id']}").text
        finally:  # the module's other tests compare this catalogue with the SQLite one
            with _open(archives, "sqlite") as lite:
                title = next(v["title"] for v in lite.versions_of(article["id"])
                             if v["id"] == article["current_version"])
            pg.execute("UPDATE versions SET title = ? WHERE id = ?", (title, article["current_version"]))
            pg.commit()
