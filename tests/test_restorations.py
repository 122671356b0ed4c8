"""A withdrawn article whose page answers again is reported restored; catalogues of layout 2 are upgraded in place.

A withdrawal was the last word on an article: after a portal's outage of a
day (every page 404) or a page put back, the articles came back live without
a line in `changes`, the feeds, the alerts or `runs`, and a reader of the
feed believed them gone.
"""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

from archive.catalogue import CatalogueError, open_catalogue
from archive.catalogue.sql import LAYOUT
from archive.catalogue.sqlite import SCHEMA, SqliteCatalogue, catalogue_path
from tests.conftest import portal_archive
from tests.inprocess import ScriptedServer
from tests.services import rows_only_role
from tests.test_list_walks import crawl, three_pages, trs_page

EDITED = ('<html><head><meta charset="utf-8"><meta name="PubDate" content="2024-01-02 10:00"></head><body>'
          '<h1>文章2</h1><div class="TRS_Editor"><p>正文2，放回网站时改过。</p></div></body></html>').encode()


def changes(data, env, *args: str) -> list[dict]:
    result = portal_archive("changes", "--data", str(data), "--json", *args, env=env)
    return [json.loads(line) for line in result.stdout.splitlines()]


def newest_crawl(data, env) -> dict:
    return json.loads(portal_archive("runs", "--data", str(data), "--json", env=env).stdout.splitlines()[0])


def test_articles_back_after_a_withdrawal_are_reported_restored_everywhere(catalogue_url, tmp_path):
    """Article 2 answers 404 for a crawl, then comes back with new text; article 6 leaves the listing for a
    crawl, then is listed again unchanged (a revisit): both withdrawn once and restored once, on either
    backend, in `changes`, the feed, `runs`, the crawl's summary, `show`, and a reindex decides the same."""
    data = tmp_path / "data"
    env = {**os.environ, "PORTAL_ARCHIVE_CATALOGUE": catalogue_url}
    with ScriptedServer(three_pages()) as server:
        assert crawl(server, tmp_path, data, "trs", env=env).returncode == 0
    gone = three_pages({"/news/index_2.html": trs_page(2, 3, [5])})
    del gone["/news/202401/t20240102_2.html"]  # unknown paths answer 404
    with ScriptedServer(gone) as server:
        crawl(server, tmp_path, data, "trs", "--full", "--recheck", "all", env=env)
    assert sorted(change["how"] for change in changes(data, env) if change["change"] == "withdrawn") == [
        "404", "gone_from_listing"]
    withdrawn_crawl = newest_crawl(data, env)
    assert (withdrawn_crawl["withdrawn"], withdrawn_crawl["restored"]) == (2, 0)

    back = three_pages({"/news/202401/t20240102_2.html": EDITED})
    with ScriptedServer(back) as server:
        result = crawl(server, tmp_path, data, "trs", "--full", "--recheck", "all", env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "changes: 0 new, 1 edited, 0 withdrawn, 2 restored" in result.stdout, result.stdout
        restoring = newest_crawl(data, env)
        found = changes(data, env, "--crawl", restoring["id"])
        # The article back with new text reads "restored", then "edited", at the same moment.
        assert [(change["change"], change.get("how"), change["url"].rsplit("/", 1)[1]) for change in found] == [
            ("restored", "404", "t20240102_2.html"), ("edited", None, "t20240102_2.html"),
            ("restored", "gone_from_listing", "t20240106_6.html")]
        assert all(change["crawl_id"] == restoring["id"] for change in found)
        assert found[0]["date"] == found[1]["date"] and found[0]["withdrawn_at"] < found[0]["date"]
        assert found[0]["title"] == "文章2"  # the version it came back as
        assert (restoring["withdrawn"], restoring["restored"]) == (0, 2)

        feed = portal_archive("changes", "--data", str(data), "--format", "atom", "--crawl", restoring["id"],
                              "--ui-url", "http://127.0.0.1:8001/", env=env).stdout
        assert feed.count("<title>恢复 restored: ") == 2 and "back on the portal" in feed, feed
        text = portal_archive("changes", "--data", str(data), "--crawl", restoring["id"], env=env).stdout
        assert "RESTORED (was 404)" in text and text.rstrip().endswith("0 new, 1 edited, 0 withdrawn, 2 restored")
        shown = portal_archive("show", server.url("/news/202401/t20240106_6.html"), "--data", str(data),
                               env=env).stdout
        assert "restored:" in shown and restoring["id"] in shown

        # Crawled again, nothing was restored: a restoration is reported once.
        crawl(server, tmp_path, data, "trs", "--full", "--recheck", "all", env=env)
    assert newest_crawl(data, env)["restored"] == 0
    assert [change["change"] for change in changes(data, env)].count("restored") == 2
    if catalogue_url.startswith("sqlite"):  # the WARC files hold every restoration: a reindex finds them all
        portal_archive("reindex", "--data", str(data))  # into DATA/catalog.sqlite, beside the live one
        with SqliteCatalogue.open(tmp_path / "shared-catalogue.sqlite", readonly=True) as live, \
                SqliteCatalogue.open(catalogue_path(data), readonly=True) as rebuilt:
            for table in SqliteCatalogue.TABLES:
                assert rebuilt.dump_table(table) == live.dump_table(table), table


def test_withdrawn_again_by_the_crawl_that_restored_it_the_withdrawal_stands(tmp_path):
    """One withdrawal row a crawl: an article restored and withdrawn again by the same crawl keeps that
    withdrawal standing (not reported restored)."""
    with SqliteCatalogue.open(tmp_path / "catalog.sqlite") as catalogue:
        catalogue.execute("INSERT INTO crawls (id, started, status) VALUES ('c1', '2024-01-01T00:00:00Z', 'ok')")
        catalogue.execute("INSERT INTO articles (id, key, url, first_seen, last_seen, status) VALUES"
                          " (1, 'k', 'http://x/a', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z', 'live')")
        catalogue._withdraw(1, "c1", "2024-01-01T00:00:01Z", "404", None)
        article = catalogue.one("SELECT * FROM articles WHERE id = 1")
        assert catalogue._status_seen(article, "c1", "2024-01-01T00:00:02Z", None, None) == "'live'"
        catalogue.execute("UPDATE articles SET status = 'live' WHERE id = 1")
        assert catalogue.one("SELECT restored FROM withdrawals")["restored"] == "2024-01-01T00:00:02Z"
        catalogue._withdraw(1, "c1", "2024-01-01T00:00:03Z", "410", None)
        row = catalogue.one("SELECT * FROM withdrawals")
        assert (row["restored"], row["restored_crawl_id"], row["detected"]) == (None, None, "2024-01-01T00:00:01Z")
        assert catalogue.scalar("SELECT count(*) AS n FROM withdrawals") == 1


# -- catalogues of layout 2 ----------------------------------------------------------------------------------

LAYOUT_2 = "\n".join(line for line in SCHEMA.read_text(encoding="utf-8").splitlines()
                     if not line.lstrip().startswith("restored"))  # the schema before layout 3's columns


def as_layout_2(source, target) -> None:
    """A copy of catalogue file `source` in layout 2's tables (without the restoration columns)."""
    conn = sqlite3.connect(target)
    try:
        conn.executescript(LAYOUT_2)
        conn.execute("PRAGMA foreign_keys = OFF")  # articles and versions refer to each other
        conn.execute("ATTACH DATABASE ? AS src", (str(source),))
        for table in SqliteCatalogue.TABLES:
            columns = ", ".join(f'"{row[1]}"' for row in conn.execute(f"PRAGMA main.table_info({table})"))
            conn.execute(f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM src.{table}")
        conn.execute("INSERT INTO main.catalogue_info (name, value) VALUES ('layout', '2')")
        conn.commit()
    finally:
        conn.close()


def test_a_sqlite_catalogue_of_layout_2_is_upgraded_in_place_by_a_read_only_command(crawled, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    as_layout_2(catalogue_path(crawled["data"]), catalogue_path(data))
    before = portal_archive("changes", "--data", str(crawled["data"]), "--json", "--no-diff").stdout
    assert before.count("\n") >= 100
    after = portal_archive("changes", "--data", str(data), "--json", "--no-diff")
    assert after.returncode == 0 and after.stdout == before, after.stderr
    conn = sqlite3.connect(catalogue_path(data))
    try:
        assert conn.execute("SELECT value FROM catalogue_info WHERE name = 'layout'").fetchone()[0] == LAYOUT
        assert "restored_capture_id" in {row[1] for row in conn.execute("PRAGMA table_info(withdrawals)")}
    finally:
        conn.close()
    assert portal_archive("runs", "--data", str(data), "--json").returncode == 0  # and opened again as it is


def test_a_layout_2_catalogue_that_cannot_be_written_says_who_can_upgrade_it(tmp_path, monkeypatch):
    """A read-only command that cannot write the file (here: another process holds its write lock) says so,
    exit 6, and leaves it as it was."""
    from archive.catalogue import sqlite as backend

    path = tmp_path / "catalog.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(LAYOUT_2)
    conn.execute("INSERT INTO catalogue_info (name, value) VALUES ('layout', '2')")
    conn.commit()
    monkeypatch.setattr(backend, "UPGRADE_WAIT", 0.2)
    conn.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(CatalogueError, match="layout 2.*run any crawl into it"):
            SqliteCatalogue.open(path, readonly=True)
    finally:
        conn.rollback()
    assert conn.execute("SELECT value FROM catalogue_info WHERE name = 'layout'").fetchone()[0] == "2"
    conn.close()


def test_a_postgresql_catalogue_of_layout_2_is_upgraded_by_its_owner_not_by_a_row_writer(postgres, postgres_url,
                                                                                        tmp_path):
    with open_catalogue(tmp_path, postgres_url) as catalogue:
        catalogue.execute("ALTER TABLE withdrawals DROP COLUMN restored, DROP COLUMN restored_crawl_id,"
                          " DROP COLUMN restored_capture_id")
        catalogue.execute("UPDATE catalogue_info SET value = '2' WHERE name = 'layout'")
        catalogue.commit()
    rows_only = rows_only_role(postgres, postgres_url, "rows_only")
    with pytest.raises(CatalogueError, match="layout 2.*this role cannot"):
        open_catalogue(tmp_path, rows_only, readonly=True)
    result = portal_archive("--catalogue", rows_only, "runs", "--data", str(tmp_path), check=False)
    assert result.returncode == 6 and "Traceback" not in result.stderr, result.stderr
    with open_catalogue(tmp_path, postgres_url, readonly=True) as catalogue:  # the owner, even read-only
        assert catalogue.scalar("SELECT value FROM catalogue_info WHERE name = 'layout'") == LAYOUT
        assert catalogue.scalar("SELECT count(*) AS n FROM withdrawals WHERE restored IS NULL") == 0
    with open_catalogue(tmp_path, rows_only, readonly=True) as catalogue:  # and then anyone reads it
        assert list(catalogue.restoration_changes()) == []
