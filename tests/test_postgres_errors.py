"""A PostgreSQL catalogue whose server stops, dies mid-command or fills its disk: every command says so.

* server stopped after the catalogue was made: `search`, `show`, `changes`, `export` exit 8 with `Error: ...`,
  no traceback, the password not shown;
* server gone between opening the catalogue and the work (its backends terminated, as a crash or a restart
  does): the same, for paths that read through the catalogue and for the search index's own SQL;
* a full disk on the database server (SQLSTATE 53100) is a failure, not an outage: exit 3 at once, never
  waited out as a restart is (`archive.catalogue.reconnect`) — injected at the connection, and for real on a
  tablespace on a small tmpfs (as root) under a whole crawl;
* `serve`'s pages with the server stopped: 503 and a message, not a 500.
"""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from archive.catalogue import ENVIRONMENT, open_catalogue
from archive.catalogue.api import CatalogueFailed
from archive.catalogue.postgres import CatalogueUnavailable, archive_error
from archive.exits import ExitCode
from replica.launch import ReplicaProcess
from replica.synthetic_catalogue import fill_synthetic
from tests.conftest import cli, portal_archive

PASSWORD = "hunter2-not-shown"
ARTICLES = 60


def _with_password(url: str) -> str:
    """The URL with a password (trust authentication ignores it): it must never be printed."""
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user}:{PASSWORD}@{host}"


@pytest.fixture(scope="module")
def archive(postgres, tmp_path_factory):
    """(data folder, catalogue URL with a password, an article id): a catalogue with its search index built."""
    folder = tmp_path_factory.mktemp("pg-errors")
    url = postgres.create_database()
    with open_catalogue(folder, url) as catalogue:
        fill_synthetic(catalogue, ARTICLES, bulk=True)
        catalogue.rebuild_index()
        article = catalogue.scalar("SELECT min(id) AS id FROM articles")
    yield folder, _with_password(url), article
    postgres.ensure_running()
    postgres.drop_database(url)


@pytest.fixture
def server(postgres):
    """The session's PostgreSQL, started again after a test that stopped it."""
    yield postgres
    postgres.ensure_running()


@pytest.fixture
def env(archive, monkeypatch):
    folder, url, _ = archive
    monkeypatch.setenv(ENVIRONMENT, url)
    return dict(os.environ, **{ENVIRONMENT: url})


def _commands(folder: Path, article: int, out: Path) -> dict[str, list[str]]:
    data = ["--data", str(folder)]
    return {"search": ["search", "化工", *data], "show": ["show", str(article), *data], "changes": ["changes", *data],
            "export": ["export", "--format", "jsonl", "--out", str(out / "out.jsonl"), *data]}


def _says_unavailable(code: int, stderr: str) -> None:
    assert code == ExitCode.UNAVAILABLE, stderr
    assert ("\n" + stderr).count("\nError: ") == 1 and "catalogue" in stderr, stderr
    assert "Traceback" not in stderr and PASSWORD not in stderr and "***" in stderr, stderr


def test_every_command_says_the_server_is_down_when_it_was_stopped(archive, server, env, tmp_path):
    folder, _, article = archive
    for name, args in _commands(folder, article, tmp_path).items():  # the catalogue answers: the commands work
        assert portal_archive(*args, env=env, check=False).returncode == 0, name
    server.stop()
    for name, args in _commands(folder, article, tmp_path).items():
        started = time.monotonic()
        result = portal_archive(*args, env=env, check=False)
        _says_unavailable(result.returncode, result.stderr)
        assert "cannot reach the catalogue" in result.stderr, (name, result.stderr)
        assert time.monotonic() - started < 60, name  # no command waits for the server to come back
    # A crawl says so before Scrapy starts: nothing fetched, no WARC file begun, no Twisted traceback.
    data = tmp_path / "crawl-data"
    result = portal_archive("crawl", "--replica", "http://127.0.0.1:9", "--data", str(data), "--quiet", env=env,
                            check=False)
    _says_unavailable(result.returncode, result.stderr)
    assert not (data / "warc").exists() and "Unhandled error" not in result.stdout + result.stderr


def _terminate_backends(postgres, url: str) -> int:
    """End every connection to the database of `url`, as a crash or a restart of the server does."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(postgres.url, autocommit=True) as conn:
        return len(conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                " WHERE datname = %s AND pid <> pg_backend_pid()", (name,)).fetchall())


def _opened_then_cut(monkeypatch, module: str, postgres, url: str, opener: str = "open_catalogue") -> list[int]:
    """`module.<opener>` opens the catalogue, then its connection is cut before it is used."""
    import importlib

    target = importlib.import_module(module)
    original = getattr(target, opener)
    cut = []

    def opened(*args, **kwargs):
        catalogue = original(*args, **kwargs)
        cut.append(_terminate_backends(postgres, url))
        return catalogue

    monkeypatch.setattr(target, opener, opened)
    return cut


@pytest.mark.parametrize("name, module", [("show", "archive.cli.show"), ("changes", "archive.cli.changes"),
                                          ("export", "archive.export.select")])
def test_a_server_gone_after_the_catalogue_was_opened_is_exit_8(archive, server, env, monkeypatch, tmp_path,
                                                              name, module):
    folder, url, article = archive
    opener = "open_any" if module == "archive.export.select" else "open_catalogue"
    cut = _opened_then_cut(monkeypatch, module, server, url, opener)
    result = cli(*_commands(folder, article, tmp_path)[name])
    assert cut and cut[0] >= 1, "no connection was cut: the test did not test"
    _says_unavailable(result.exit_code, result.stderr)
    assert "terminating connection" in result.stderr or "closed" in result.stderr or "lost" in result.stderr


def test_a_server_gone_mid_search_is_exit_8_not_a_psycopg_traceback(archive, server, env, monkeypatch):
    """The search index's SQL (`postgres_search`, on the raw connection) meets the cut connection."""
    from archive.catalogue import postgres_search

    folder, url, _ = archive
    original = postgres_search.Matches.__init__
    cut = []

    def matches(self, conn, *args, **kwargs):
        cut.append(_terminate_backends(server, url))
        original(self, conn, *args, **kwargs)

    monkeypatch.setattr(postgres_search.Matches, "__init__", matches)
    result = cli("search", "化工", "--data", str(folder))
    assert cut == [1], cut
    _says_unavailable(result.exit_code, result.stderr)
    # The web page's search is the same call: the error is the archive's, for `serve` to turn into a 503.
    with open_catalogue(folder, url, readonly=True) as catalogue, pytest.raises(CatalogueUnavailable):
        catalogue.search("化工")


def test_a_server_gone_mid_index_build_is_exit_8_not_no_index(postgres, monkeypatch, tmp_path):
    """The first search builds the index; the server going away meanwhile is not "no search index" (exit 6)."""
    from archive.catalogue import postgres_search

    url = _with_password(postgres.create_database())
    try:
        with open_catalogue(tmp_path, url) as catalogue:
            fill_synthetic(catalogue, 20, bulk=True)
        monkeypatch.setenv(ENVIRONMENT, url)
        original = postgres_search.load

        def load(conn, rows, *rest):
            _terminate_backends(postgres, url)
            return original(conn, rows, *rest)

        monkeypatch.setattr(postgres_search, "load", load)
        result = cli("search", "化工", "--data", str(tmp_path))
        _says_unavailable(result.exit_code, result.stderr)
        assert "Building the search index" in result.stderr
    finally:
        postgres.drop_database(url)


# -- failures that waiting does not mend ------------------------------------------------------------


@pytest.mark.parametrize("state, kind, code", [
    ("53100", CatalogueFailed, ExitCode.FAILED),        # disk full
    ("53200", CatalogueFailed, ExitCode.FAILED),        # out of memory
    ("57014", CatalogueFailed, ExitCode.FAILED),        # statement cancelled (a timeout)
    ("58030", CatalogueFailed, ExitCode.FAILED),        # the server's own I/O error
    ("57P04", CatalogueFailed, ExitCode.FAILED),        # the database was dropped
    ("57P01", CatalogueUnavailable, ExitCode.UNAVAILABLE),  # admin shutdown: a restart
    ("57P03", CatalogueUnavailable, ExitCode.UNAVAILABLE),  # starting up
    ("08006", CatalogueUnavailable, ExitCode.UNAVAILABLE),  # connection failure
    ("53300", CatalogueUnavailable, ExitCode.UNAVAILABLE),  # too many connections: one frees up
    ("40P01", CatalogueUnavailable, ExitCode.UNAVAILABLE),  # deadlock: replayed on a fresh connection
])
def test_sqlstates_sort_outages_from_failures(state, kind, code):
    error = archive_error(psycopg.errors.lookup(state)("injected"), f"postgresql://u:{PASSWORD}@h/db")
    assert type(error) is kind and error.exit_code == code and PASSWORD not in str(error)
    lost = archive_error(psycopg.OperationalError("server closed the connection unexpectedly"), "postgresql://h/db")
    assert isinstance(lost, CatalogueUnavailable)
    query = archive_error(psycopg.errors.UndefinedTable("no such table"), "postgresql://h/db")
    assert query.exit_code == ExitCode.NO_CATALOGUE


class _DiskFullAt:
    """A psycopg connection whose INSERTs fail as a full disk fails them (SQLSTATE 53100)."""

    def __init__(self, conn):
        self.conn = conn

    def execute(self, sql, *args, **kwargs):
        if sql.lstrip().upper().startswith("INSERT"):
            raise psycopg.errors.DiskFull('could not extend file "base/1/2": No space left on device (injected)')
        return self.conn.execute(sql, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.conn, name)


def test_a_full_disk_during_a_fold_fails_at_once_and_says_so(postgres_url, tmp_path):
    """A crawl's writer waits out an outage for ARCHIVE_CATALOGUE_WAIT; a full disk is not one (injected)."""
    from archive.catalogue.reconnect import Reconnecting
    from replica.synthetic_catalogue import CRAWL_ID, CRAWL_URI, _CAPTURE_DATE, _record_id
    from archive.catalogue.events import Metadata

    with open_catalogue(tmp_path, postgres_url):
        pass  # the tables exist
    opened = []

    def opener():
        catalogue = open_catalogue(tmp_path, postgres_url)
        catalogue.conn = _DiskFullAt(catalogue.conn)
        opened.append(catalogue)
        return catalogue

    writer = Reconnecting(opener, wait=600, sleep=lambda seconds: pytest.fail("waited for a full disk"))
    event = Metadata(CRAWL_ID, _record_id(CRAWL_URI), CRAWL_URI + CRAWL_ID, _CAPTURE_DATE, None,
                     {"type": "crawl-start", "settings": {}})
    with pytest.raises(CatalogueFailed, match="disk is full") as failed:
        writer.apply(event)
    assert failed.value.exit_code == ExitCode.FAILED and len(opened) == 1 and writer.reconnects == 0
    writer.close()


# -- a real full disk: a tablespace on a small tmpfs ---------------------------------------------------


@pytest.fixture
def small_disk(postgres, tmp_path):
    """(catalogue URL, filler): a database whose tables live on a 4 MiB tmpfs; `filler()` fills what is left."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    postgres.ensure_running()
    mount = Path(tempfile.mkdtemp(prefix="portal-archive-pgdisk-"))
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mount)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        mount.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    space = f"small_{os.getpid()}"
    url = None
    try:
        shutil.chown(mount, postgres.user, postgres.user)
        (mount / "pg").mkdir()
        shutil.chown(mount / "pg", postgres.user, postgres.user)
        postgres.execute(f"CREATE TABLESPACE {space} LOCATION '{mount / 'pg'}'")
        url = postgres.create_database()
        postgres.execute(f"ALTER DATABASE \"{url.rsplit('/', 1)[1]}\" SET default_tablespace = {space}")

        def fill() -> None:
            assert shutil.disk_usage(mount).free > 8192, "the catalogue's tables filled the disk already"
            filler = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                while os.write(filler, b"\0" * 4096):
                    pass
            except OSError as error:
                assert error.errno == errno.ENOSPC, error
            finally:
                os.close(filler)
            assert shutil.disk_usage(mount).free < 8192

        yield url, fill
    finally:
        postgres.ensure_running()
        if url:
            postgres.drop_database(url)
        postgres.execute(f"DROP TABLESPACE IF EXISTS {space}")
        subprocess.run(["umount", str(mount)], check=True)
        mount.rmdir()


@pytest.mark.slow
def test_a_crawl_whose_database_disk_fills_stops_at_once_with_exit_3(small_disk, tmp_path):
    url, fill = small_disk
    data = tmp_path / "data"
    with open_catalogue(data, url):
        pass  # the catalogue's tables, on the small disk
    fill()
    env = dict(os.environ, **{ENVIRONMENT: url})
    with ReplicaProcess(articles=5) as replica:
        started = time.monotonic()
        result = portal_archive("crawl", "--replica", replica.base_url, "--data", str(data), "--quiet",
                                "-s", "ARCHIVE_CATALOGUE_WAIT=600", env=env, check=False, timeout=300)
        elapsed = time.monotonic() - started
    assert result.returncode == ExitCode.FAILED, result.stdout[-3000:] + result.stderr[-3000:]
    assert elapsed < 120, f"the crawl waited {elapsed:.0f} s for a full disk"
    log = next((data / "logs").glob("*.log")).read_text(encoding="utf-8")
    assert "the database server's disk is full" in log and "53100" in log
    assert "reconnecting" not in log.lower()


@pytest.mark.slow
def test_a_search_index_rebuild_on_a_full_database_disk_fails_with_exit_3_and_keeps_the_index(small_disk, tmp_path):
    """The rebuild drops and copies both index tables in one transaction: a full disk mid-COPY is exit 3
    ("disk is full"), and the index built before is still there, ready, answering as it did."""
    url, fill = small_disk
    with open_catalogue(tmp_path, url) as catalogue:
        fill_synthetic(catalogue, 20, bulk=True)
        catalogue.rebuild_index()
        before = [(hit.version_id, hit.score) for hit in catalogue.search("化工", limit=None).hits]
        assert before
    fill()
    with open_catalogue(tmp_path, url) as catalogue:
        with pytest.raises(CatalogueFailed, match="disk is full") as failed:
            catalogue.rebuild_index()
        assert failed.value.exit_code == ExitCode.FAILED
    with open_catalogue(tmp_path, url, readonly=True) as reader:
        assert reader.index_status().ready
        assert [(hit.version_id, hit.score) for hit in reader.search("化工", limit=None).hits] == before


# -- serve ------------------------------------------------------------------------------------------------


def test_serve_pages_with_the_server_stopped_are_503_with_a_message(archive, server, tmp_path, monkeypatch):
    from archive.catalogue import ENVIRONMENT
    from archive.catalogue.snapshot import snapshot
    from archive.web.app import build_datasette

    folder, url, article = archive
    with open_catalogue(folder, url, readonly=True) as catalogue:
        snapshot(catalogue, tmp_path / "catalog.sqlite")
    with pytest.raises(ValueError, match="password"):  # never in Datasette's metadata, which anyone may read
        build_datasette(tmp_path / "catalog.sqlite", live=url, data=folder)
    monkeypatch.setenv(ENVIRONMENT, url)  # as `serve` gives it to Datasette: named in the metadata, not written
    datasette = build_datasette(tmp_path / "catalog.sqlite", live=url, data=folder)

    def get(path: str):
        return asyncio.run(datasette.client.get(path))

    assert get(f"/-/article/{article}").status_code == 200
    shown = get("/-/metadata.json")
    assert shown.status_code == 200 and ENVIRONMENT in shown.text and PASSWORD not in shown.text
    server.stop()
    for path in (f"/-/article/{article}", "/-/search?q=%E5%8C%96%E5%B7%A5", "/-/feeds/changes.atom"):
        page = get(path)
        assert page.status_code == 503, (path, page.status_code, page.text[:500])
        assert "catalogue is unavailable" in page.text and PASSWORD not in page.text, path
    found = get("/-/search.json?q=%E5%8C%96%E5%B7%A5")
    assert found.status_code == 503 and found.json()["ok"] is False and "unavailable" in found.json()["error"]


def test_a_copy_cut_short_by_a_lost_connection_is_reported_once(caplog):
    """psycopg's own warning about ending the COPY adds nothing to the error raised; other warnings pass."""
    import logging

    import archive.catalogue.postgres  # noqa: F401 - installs the filter

    with caplog.at_level(logging.WARNING, logger="psycopg"):
        logging.getLogger("psycopg").warning("error ignored terminating %r: %s", "<psycopg.Copy>", "lost")
        logging.getLogger("psycopg").warning("something else")
    assert [record.getMessage() for record in caplog.records] == ["something else"]
