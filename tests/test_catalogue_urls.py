"""What a user can write as the catalogue's URL (`--catalogue`, $PORTAL_ARCHIVE_CATALOGUE), and what it may touch.

A URL no backend can use is exit 2 with one line, before any data folder is
created or locked, and never shows its password; a schema named in the URL
is the catalogue's alone: nothing else in the database is read, replaced or
dropped through it.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import psycopg
import pytest

from archive.catalogue import ENVIRONMENT, backend, open_catalogue
from archive.catalogue.api import CatalogueError
from archive.catalogue.postgres import split_url
from archive.catalogue.sqlite import SqliteCatalogue
from archive.exits import ExitCode, UsageProblem
from archive.redact import redact, scrub
from replica.synthetic_catalogue import fill_synthetic
from tests.conftest import portal_archive
from tests.services import rows_only_role

SECRET = "s3cr3tPW"


# -- the URL itself ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url, shown", [
    (f"postgresql://u:{SECRET}@h:5432/db", "postgresql://u:***@h:5432/db"),
    (f"postgresql://u:pa#{SECRET}@h:1/db", "postgresql://u:***@h:1/db"),  # a URL parser would stop at #
    (f"postgresql://u:pa?{SECRET}@h:1/db", "postgresql://u:***@h:1/db"),
    (f"postgresql://u:p@{SECRET}@h/db", "postgresql://u:***@h/db"),
    (f"postgresql://u@h/db?password={SECRET}&port=1", "postgresql://u@h/db?password=***&port=1"),
    ("postgresql://u@h:5432/db?application_name=a", "postgresql://u@h:5432/db?application_name=a"),
    (f"redis://:{SECRET}@h:6379/0", "redis://:***@h:6379/0"),
])
def test_redact_masks_every_password_a_url_can_hold(url, shown):
    assert redact(url) == shown


def test_scrub_masks_the_pieces_of_a_password_a_driver_quotes():
    url = f"postgresql://u:pa?{SECRET}@h:1/db"
    message = f'invalid URI query parameter: "{SECRET}@h:1/db"'
    assert scrub(message, url) == 'invalid URI query parameter: "***@h:1/db"'


def test_the_other_parameters_reach_libpq_as_written():
    target, schema = split_url("postgres://u@h/db?options=-c%20statement_timeout%3D1234&schema=cat&application_name=a+b")
    assert target == "postgresql://u@h/db?options=-c%20statement_timeout%3D1234&application_name=a+b"
    assert schema == "cat"
    assert split_url("postgresql:///db?host=127.0.0.1&port=5") == ("postgresql:///db?host=127.0.0.1&port=5",
                                                                    "portal_archive")


@pytest.mark.parametrize("name", ["public", "information_schema", "pg_cat", "a__b", "Cat", "a-b", "a'b", "",
                                  "x" * 51, "1abc"])
def test_a_schema_the_catalogue_cannot_own_alone_is_refused(name):
    with pytest.raises(UsageProblem, match="schema"):
        split_url(f"postgresql://u@h/db?schema={name}")


def test_a_schema_named_twice_is_refused():
    with pytest.raises(UsageProblem, match="2 times"):
        split_url("postgresql://u@h/db?schema=a&schema=b")


@pytest.mark.parametrize("url, says", [
    ("mysql://u:%s@h/db", "scheme 'mysql'"),
    ("postgresql://u:%s@[bad/pw", "not valid"),
    ("postgresql://u:%s@127.0.0.1:5432", "names no database"),
    ("postgresql://u:%s@127.0.0.1:notaport/db", "not a number"),
    ("postgresql://u:%s@127.0.0.1/db?frobnicate=1", "not valid"),
    ("sqlite://%s/x.sqlite", "names no host"),
    ("sqlite:///%s.sqlite?mode=ro", "no parameters"),
])
def test_a_url_no_backend_can_use_is_a_usage_problem_without_its_password(url, says, monkeypatch):
    monkeypatch.delenv("PGDATABASE", raising=False)
    with pytest.raises(UsageProblem) as raised:
        backend(Path("."), url % SECRET if "sqlite" not in url else url % "secretfile")
    assert says in str(raised.value) and SECRET not in str(raised.value)


def test_sqlite_urls_name_absolute_and_relative_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert backend(Path("."), "sqlite:///abs/c.sqlite")[1] == Path("/abs/c.sqlite")
    assert backend(Path("."), "SQLITE:c.sqlite")[1] == tmp_path / "c.sqlite"
    assert backend(Path("."), "sqlite:./sub/c%20d.sqlite")[1] == tmp_path / "sub" / "c d.sqlite"


@pytest.mark.parametrize("given", ["option", "environment"])
@pytest.mark.parametrize("url", [f"mysql://u:{SECRET}@127.0.0.1/db", f"postgresql://u:{SECRET}@[bad/db",
                                 f"postgresql://u:{SECRET}@127.0.0.1:1/db?schema=public"])
def test_every_command_refuses_a_bad_url_in_one_line_before_touching_the_data_folder(given, url, tmp_path):
    import os

    data = tmp_path / "data"
    env = {**os.environ, ENVIRONMENT: url} if given == "environment" else None
    args = ["--catalogue", url] if given == "option" else []
    for command in (["runs", "--data", str(data)], ["crawl", "--replica", "http://127.0.0.1:9", "--data", str(data)],
                    ["reindex", "--data", str(data)], ["search", "x", "--data", str(data)]):
        result = portal_archive(*args, *command, check=False, env=env)
        assert result.returncode == ExitCode.USAGE, (command, result.stderr)
        assert SECRET not in result.stderr + result.stdout and "Traceback" not in result.stderr
        assert not data.exists(), command
    assert portal_archive(*args, "runs", "--help", env=env).returncode == 0  # help still works


# -- what a schema may touch ------------------------------------------------------------------------------------------

def _tables(url: str) -> set[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return {tuple(row) for row in conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')")}


@pytest.fixture
def folder(tmp_path) -> Path:
    """A data folder whose one WARC file holds a crawl (a reindex needs no more to run)."""
    data = tmp_path / "data"
    (data / "warc").mkdir(parents=True)
    return data


def test_reindex_never_replaces_a_schema_that_holds_no_catalogue(postgres_url, folder):
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA shared; CREATE TABLE shared.important (x int); INSERT INTO shared.important VALUES (42)")
    result = portal_archive("--catalogue", postgres_url + "?schema=shared", "reindex", "--data", str(folder),
                            check=False)
    assert result.returncode == ExitCode.USAGE and "holds important and no catalogue" in result.stderr
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT x FROM shared.important").fetchone() == (42,)
    # nor does a crawl make its tables among someone else's
    with pytest.raises(UsageProblem, match="holds important"):
        open_catalogue(folder, postgres_url + "?schema=shared")
    assert ("shared", "crawls") not in _tables(postgres_url)


def test_reindex_of_one_catalogue_leaves_a_catalogue_named_like_its_helpers_alone(postgres_url, folder):
    with open_catalogue(folder, postgres_url + "?schema=cat_old") as other:
        fill_synthetic(other, 5, bulk=True)
    portal_archive("--catalogue", postgres_url + "?schema=cat", "reindex", "--data", str(folder))
    portal_archive("--catalogue", postgres_url + "?schema=cat", "reindex", "--data", str(folder))
    with open_catalogue(folder, postgres_url + "?schema=cat_old", readonly=True) as other:
        assert other.scalar("SELECT count(*) AS n FROM articles") == 5
    assert {schema for schema, _ in _tables(postgres_url)} == {"cat", "cat_old"}


def test_a_schema_without_a_catalogue_is_missing_not_read_from_public(postgres_url, folder):
    with open_catalogue(folder, postgres_url + "?schema=cat") as catalogue:
        fill_synthetic(catalogue, 3, bulk=True)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA empty_s; CREATE TABLE public.catalogue_info (name text, value text)")
    with pytest.raises(CatalogueError, match="no catalogue in schema empty_s"):
        open_catalogue(folder, postgres_url + "?schema=empty_s", readonly=True)


def test_schema_names_that_are_sql_words_work(postgres_url, folder):
    with open_catalogue(folder, postgres_url + "?schema=select") as catalogue:
        fill_synthetic(catalogue, 3, bulk=True)
    portal_archive("--catalogue", postgres_url + "?schema=select", "reindex", "--drop-missing", "--data", str(folder))
    result = portal_archive("--catalogue", postgres_url + "?schema=select", "runs", "--data", str(folder), check=False)
    assert result.returncode in (0, ExitCode.NOT_FOUND) and "Traceback" not in result.stderr


def test_a_role_that_may_only_write_rows_crawls_into_an_existing_catalogue(postgres, postgres_url, folder):
    with open_catalogue(folder, postgres_url) as catalogue:
        fill_synthetic(catalogue, 3, bulk=True)
    writer = rows_only_role(postgres, postgres_url, "writer")
    with open_catalogue(folder, writer) as catalogue:  # writable: no CREATE needed for a catalogue that exists
        catalogue.execute("UPDATE crawls SET status = status")
        catalogue.commit()
    with pytest.raises(CatalogueError, match="may not create the catalogue in schema other"):
        open_catalogue(folder, writer + "?schema=other")


@pytest.mark.parametrize("given", ["url", "environment"])
def test_connect_timeout_in_the_url_or_the_environment_is_honoured(folder, given, monkeypatch):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts, never answers
    port = listener.getsockname()[1]
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True).start()
    try:
        started = time.monotonic()
        with pytest.raises(CatalogueError, match="cannot reach"):
            if given == "environment":
                monkeypatch.setenv("PGCONNECT_TIMEOUT", "2")
            url = f"postgresql://u@127.0.0.1:{port}/db" + ("?connect_timeout=2" if given == "url" else "")
            open_catalogue(folder, url, readonly=True)
        assert time.monotonic() - started < 8  # the default is 10 s
    finally:
        listener.close()
        for conn in accepted:
            conn.close()


def test_the_sqlite_backend_is_unaffected(tmp_path):
    catalogue = SqliteCatalogue.open(tmp_path / "c.sqlite")
    catalogue.close()
    assert backend(tmp_path, "sqlite:///" + str(tmp_path / "c.sqlite").lstrip("/"))[1] == tmp_path / "c.sqlite"


@pytest.mark.e2e
def test_a_crawl_given_its_catalogue_with_s_writes_its_feeds_from_that_catalogue(postgres_url, tmp_path):
    """`-s ARCHIVE_CATALOGUE=URL` is the crawl's catalogue for everything it does, its feeds too: not an
    old SQLite catalogue lying in DATA."""
    from replica.launch import ReplicaProcess

    data, feeds = tmp_path / "data", tmp_path / "feeds"
    data.mkdir()
    SqliteCatalogue.open(data / "catalog.sqlite").close()  # an empty catalogue of an earlier life
    with ReplicaProcess(articles=4) as replica:
        result = portal_archive("crawl", "--replica", replica.base_url, "--data", str(data), "--quiet",
                                "--feeds-dir", str(feeds), "-s", f"ARCHIVE_CATALOGUE={postgres_url}", timeout=300)
    assert "feeds NOT written" not in result.stdout + result.stderr
    atom = (feeds / "changes.atom").read_text(encoding="utf-8")
    assert atom.count("<entry>") >= 4, atom[:2000]


def test_an_absolute_path_after_three_slashes_is_still_that_path():
    assert backend(Path("."), "sqlite:////tmp/c.sqlite")[1] == Path("/tmp/c.sqlite")


def test_a_server_that_refuses_the_connection_is_not_waited_for_as_an_outage(postgres, folder):
    """A missing database or an unknown user: the server answered, and waiting 120 s will not change it."""
    from archive.catalogue.postgres import CatalogueUnavailable

    with pytest.raises(CatalogueError, match='database "nosuchdb" does not exist') as raised:
        open_catalogue(folder, postgres.database_url("nosuchdb"), readonly=True)
    assert not isinstance(raised.value, CatalogueUnavailable) and raised.value.exit_code == ExitCode.NO_CATALOGUE
    with pytest.raises(UsageProblem, match='role "nobody" does not exist'):
        open_catalogue(folder, postgres.url.replace(f"{postgres.user}@", "nobody@"), readonly=True)


def test_a_page_holding_nul_folds_alike_into_both_backends(postgres_url, tmp_path):
    """PostgreSQL's text cannot hold NUL: a page that held one must not stop a crawl or a reindex into it,
    and both backends hold (and find) the same text, the NUL as U+FFFD."""
    from archive.catalogue.events import Capture, Metadata, Position
    from replica.synthetic_catalogue import CRAWL_ID

    url, date = "http://www.tengzhou.gov.cn/art/2024/5/1/art_1_1.html", "2026-06-01T00:00:00.000000Z"
    capture = Capture(crawl_id=CRAWL_ID, record_id="<urn:uuid:nul-1>", warc_type="response", url=url, date=date,
                      status=200, content_type="text/html", location=None, payload_digest="sha1:NUL",
                      refers_to=None, truncated=None, etag=None, last_modified=None,
                      position=Position("X.warc.gz", 10_000, 5))
    fields = {"type": "article", "url": url, "title": "标题\x00一", "body_text": "正文\x00含空字符", "published": "2024-05-01",
              "source": "来源", "images": [{"url": url + ".png", "alt": "图\x00说"}], "attachments": [],
              "content_hash": "sha256:nul", "site": "tengzhou", "section": "工业经济", "flags": [], "problems": []}
    found = {}
    for name, where in (("sqlite", f"sqlite:{tmp_path / 'c.sqlite'}"), ("postgresql", postgres_url)):
        with open_catalogue(tmp_path, where) as catalogue:
            fill_synthetic(catalogue, 0, bulk=True)
            catalogue.apply(capture)
            catalogue.apply(Metadata(CRAWL_ID, "<urn:uuid:nul-meta-1>", url, date, capture.record_id, fields))
            catalogue.commit()
            catalogue.rebuild_index()
            hits = catalogue.search("含空字符", limit=None).hits
            found[name] = [(hit.title, hit.snippet_html) for hit in hits]
    assert found["sqlite"] == found["postgresql"] and found["sqlite"][0][0] == "标题\ufffd一"


def test_a_bad_url_given_as_a_setting_is_bad_usage_before_anything_starts(tmp_path):
    """`-s ARCHIVE_CATALOGUE=URL` (crawl, worker) is checked as `--catalogue` is: exit 2, no folder, no secret."""
    data, work = tmp_path / "data", tmp_path / "work"
    setting = f"ARCHIVE_CATALOGUE=postgresql://u:{SECRET}@127.0.0.1:1/db?schema=a__b"
    for command in (["crawl", "--replica", "http://127.0.0.1:9", "--data", str(data), "-s", setting],
                    ["worker", "--queue", "redis://127.0.0.1:9/0", "--work", str(work), "-s", setting]):
        result = portal_archive(*command, check=False, timeout=60)
        assert result.returncode == ExitCode.USAGE and "ARCHIVE_CATALOGUE" in result.stderr, result.stderr
        assert SECRET not in result.stdout + result.stderr and "Traceback" not in result.stderr
    assert not data.exists() and not work.exists()


def _server_keepalives(catalogue) -> tuple[str, str, str]:
    return tuple(catalogue.scalar(f"SHOW tcp_keepalives_{name}") for name in ("idle", "interval", "count"))


def test_a_silent_peer_is_found_out_within_a_minute_at_both_ends(folder, postgres_url):
    """A network partition: without keepalives a statement waits for its answer for hours, and the server keeps
    the session (and a crawl's writer lock, which keeps every reindex Busy) for the kernel's two hours."""
    with open_catalogue(folder, postgres_url) as catalogue:
        assert _server_keepalives(catalogue) == ("30", "10", "3")
        client = catalogue.conn.info.get_parameters()
        assert (client["keepalives_idle"], client["keepalives_interval"], client["keepalives_count"]) == (
            "30", "10", "3")
    # The URL's own settings win, at both ends; keepalives=0 leaves both as the system has them.
    with open_catalogue(folder, postgres_url + "?keepalives_idle=5&keepalives_count=2") as catalogue:
        assert _server_keepalives(catalogue) == ("5", "10", "2")
        assert catalogue.conn.info.get_parameters()["keepalives_idle"] == "5"
    with open_catalogue(folder, postgres_url + "?keepalives=0") as catalogue:
        assert "keepalives_idle" not in catalogue.conn.info.get_parameters()
        assert _server_keepalives(catalogue)[0] != "30"


def test_a_keepalive_that_is_not_a_number_is_bad_usage(folder):
    with pytest.raises(UsageProblem, match="keepalives_idle must be a whole number"):
        open_catalogue(folder, "postgresql://u@127.0.0.1:1/db?keepalives_idle=soon")
    result = portal_archive("--catalogue", "postgresql://u:secret@127.0.0.1:1/db?keepalives_count=x", "runs",
                            "--data", str(folder / "d"), check=False)
    assert result.returncode == 2 and "keepalives_count" in result.stderr and "secret" not in result.stderr
    assert not (folder / "d").exists()
