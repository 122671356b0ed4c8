"""A PostgreSQL reindex folds into a temporary SQLite file, then copies its tables (`rebuild.fold_staged`).

The copy must equal what SQLite folds from the same records; the temporary
file must be gone after a success, a failure and (at the next reindex) a
kill; and the old PostgreSQL catalogue must stay as it was until the new
one is complete.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archive.catalogue import open_catalogue
from archive.catalogue.postgres import split_url
from archive.catalogue.rebuild import STAGE_PREFIX, reindex
from archive.exits import ExitCode
from tests.conftest import ROOT, portal_archive

pytestmark = pytest.mark.e2e


@pytest.fixture
def data(crawled_copy) -> Path:
    return crawled_copy


def _tables(data: Path, url: str | None = None) -> dict:
    with open_catalogue(data, url, readonly=True) as catalogue:
        return {table: catalogue.dump_table(table) for table in catalogue.TABLES}


def _stages(data: Path) -> list[Path]:
    return sorted(data.glob(STAGE_PREFIX + "*"))


def _schemas(url: str) -> set[str]:
    import psycopg

    target, _ = split_url(url)
    with psycopg.connect(target) as conn:
        return {row[0] for row in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'portal%'")}


def test_a_postgresql_reindex_equals_a_sqlite_one_and_leaves_no_temporary_file(data, postgres_url):
    reindex(data)
    portal_archive("--catalogue", postgres_url, "reindex", "--data", str(data))
    lite, pg = _tables(data), _tables(data, postgres_url)
    assert len(lite["versions"]) > 100 and len(lite["ingested"]) >= 1
    assert pg == lite
    assert _stages(data) == []
    with open_catalogue(data, postgres_url, readonly=True) as catalogue:
        status = catalogue.index_status()
        assert status.ready and status.pending == 0


def test_new_rows_follow_the_copied_ids(data, postgres_url):
    """The identity sequences are set past the copied ids: a later crawl's rows do not collide."""
    portal_archive("--catalogue", postgres_url, "reindex", "--data", str(data))
    with open_catalogue(data, postgres_url) as catalogue:
        before = catalogue.counts()
        last = catalogue.scalar("SELECT max(id) AS n FROM captures")
        new = catalogue.insert(
            "INSERT INTO captures (record_id, crawl_id, warc_type, url, date, file, \"offset\", length)"
            " VALUES (?, (SELECT min(id) FROM crawls), 'response', 'http://x.test/', '2026-01-01T00:00:00Z',"
            " 'x.warc.gz', 0, 1)", ("<urn:uuid:test-follows>",))
        assert before["captures"] > 100 and new == last + 1
        catalogue.rollback()


def _shape(url: str, schema: str) -> tuple[set, set]:
    """The definitions of a schema's catalogue indexes and constraints, its name taken out of them."""
    import psycopg

    target, _ = split_url(url)
    with psycopg.connect(target) as conn:
        indexes = {row[0].replace(f"{schema}.", "") for row in conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND tablename NOT LIKE 'search%%'", (schema,))}
        constraints = {(row[0], row[1], row[2].replace(f"{schema}.", "")) for row in conn.execute(
            "SELECT t.relname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c"
            " JOIN pg_class t ON t.oid = c.conrelid WHERE c.connamespace = %s::regnamespace"
            " AND t.relname NOT LIKE 'search%%'", (schema,))}
    return indexes, constraints


def test_a_postgresql_reindex_keeps_every_index_and_foreign_key_of_the_tables(data, postgres_url):
    """The tables are copied without their indexes and foreign keys, which are made again after the rows."""
    from archive.catalogue.postgres import PostgresCatalogue, _with_schema

    portal_archive("--catalogue", postgres_url, "reindex", "--data", str(data))
    PostgresCatalogue.open(_with_schema(postgres_url, "fresh")).close()
    rebuilt, fresh = _shape(postgres_url, split_url(postgres_url)[1]), _shape(postgres_url, "fresh")
    assert len(fresh[0]) > 10 and any("FOREIGN KEY" in definition for _, _, definition in fresh[1])
    assert rebuilt == fresh


def test_a_failed_postgresql_reindex_keeps_the_old_catalogue_and_removes_its_temporary_file(data, postgres_url):
    portal_archive("--catalogue", postgres_url, "reindex", "--data", str(data))
    before = _tables(data, postgres_url)
    # A damaged file, folded last (names sort by what follows the first "-").
    (data / "warc" / "ZZZ-99999999999999999-00000-x.warc.gz").write_bytes(b"not gzip at all\n" * 100)
    result = portal_archive("--catalogue", postgres_url, "reindex", "--data", str(data), check=False)
    assert result.returncode == ExitCode.DAMAGED, result.stderr
    assert "old catalogue is unchanged" in result.stderr
    assert _tables(data, postgres_url) == before
    assert _stages(data) == []
    assert _schemas(postgres_url) == {"portal_archive"}


def test_a_postgresql_reindex_interrupted_midway_keeps_the_old_catalogue(data, postgres_url, monkeypatch):
    import archive.catalogue.rebuild as rebuild

    reindex(data, postgres_url)
    before = _tables(data, postgres_url)
    folded = []
    real = rebuild.apply_with_item

    def interrupted(catalogue, items, event):
        if len(folded) == 200:
            assert len(_stages(data)) == 1  # the fold is in the temporary file
            raise KeyboardInterrupt
        folded.append(event)
        real(catalogue, items, event)

    monkeypatch.setattr(rebuild, "apply_with_item", interrupted)
    with pytest.raises(KeyboardInterrupt):
        reindex(data, postgres_url)
    assert _tables(data, postgres_url) == before
    assert _stages(data) == []
    assert _schemas(postgres_url) == {"portal_archive"}


@pytest.mark.slow
def test_a_killed_postgresql_reindex_keeps_the_old_catalogue_and_the_next_one_clears_up(data, postgres_url):
    portal_archive("--catalogue", postgres_url, "reindex", "--data", str(data))
    before = _tables(data, postgres_url)
    env = dict(os.environ, PORTAL_ARCHIVE_CATALOGUE=postgres_url)
    process = subprocess.Popen([sys.executable, "-m", "archive", "reindex", "--data", str(data)], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not _stages(data) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert _stages(data), "the reindex ended before its temporary file was seen"
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert len(_stages(data)) == 1  # a kill cleans nothing up...
    assert _tables(data, postgres_url) == before  # ...and the old catalogue is still the one in place
    portal_archive("--catalogue", postgres_url, "reindex", "--data", str(data))
    assert _stages(data) == []  # the next reindex removed what the killed one left
    assert _tables(data, postgres_url) == before


@pytest.mark.slow
def test_a_full_disk_under_the_staging_file_keeps_the_old_catalogue(data, postgres_url, tmp_path):
    """The temporary SQLite file of a PostgreSQL reindex lives on DATA's disk: a real full disk there is
    exit 3 naming it, the old catalogue stays, and nothing is left behind."""
    from tests.test_write_errors import tiny_disk

    portal_archive("--catalogue", postgres_url, "reindex", "--data", str(data))
    before = _tables(data, postgres_url)
    room = sum(path.stat().st_size for path in data.rglob("*") if path.is_file())
    small = tmp_path / "small"
    with tiny_disk(small, f"{room // 1024 + 64}k"):  # the WARC files and items, and 64 KB to spare
        shutil.copytree(data / "warc", small / "warc")
        shutil.copytree(data / "items", small / "items")
        result = portal_archive("--catalogue", postgres_url, "reindex", "--data", str(small), check=False)
        assert result.returncode == ExitCode.FAILED, result.stdout + result.stderr
        assert "Traceback" not in result.stderr and ("full" in result.stderr or "space" in result.stderr)
        assert _stages(small) == []
    assert _tables(data, postgres_url) == before
    assert _schemas(postgres_url) == {"portal_archive"}


@pytest.mark.slow
def test_a_full_disk_under_a_sqlite_reindex_keeps_the_old_catalogue(data, tmp_path):
    """The new SQLite file is built beside the old one: a full disk is exit 3 (not 6, "no catalogue"),
    and the old file is untouched."""
    from tests.test_write_errors import tiny_disk

    small = tmp_path / "small"
    room = sum(path.stat().st_size for path in data.rglob("*") if path.is_file())
    with tiny_disk(small, f"{room // 1024 + 40 * 1024}k"):
        shutil.copytree(data / "warc", small / "warc")
        shutil.copytree(data / "items", small / "items")
        portal_archive("reindex", "--data", str(small))  # the old catalogue, in the room there was
        before = _tables(small)
        free = os.statvfs(small).f_bavail * os.statvfs(small).f_frsize
        leave = (small / "catalog.sqlite").stat().st_size // 2  # half what a second catalogue needs
        (small / "filler").write_bytes(b"\0" * max(0, free - leave))
        result = portal_archive("reindex", "--data", str(small), check=False)
        assert result.returncode == ExitCode.FAILED, result.stdout + result.stderr
        assert "Traceback" not in result.stderr and "full" in result.stderr
        (small / "filler").unlink()
        assert _tables(small) == before
        assert not (small / "catalog.sqlite.rebuild").exists()


def test_a_reindex_without_the_read_ahead_worker_builds_the_same_catalogue(data, tmp_path):
    """PORTAL_ARCHIVE_READ_AHEAD=0 (one process, for measuring, or a one-core machine) folds the same rows."""
    import os

    portal_archive("reindex", "--data", str(data))
    with_worker = _tables(data)
    env = {**os.environ, "PORTAL_ARCHIVE_READ_AHEAD": "0"}
    result = subprocess.run([sys.executable, "-m", "archive", "reindex", "--data", str(data)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert _tables(data) == with_worker and len(with_worker["versions"]) > 100


def _index_threads() -> list:
    import threading

    return [thread for thread in threading.enumerate() if thread.name == "portal-archive-search-index"]


def test_a_search_index_failing_beside_the_table_copy_fails_the_reindex_and_keeps_the_old_catalogue(
        data, postgres_url, monkeypatch):
    """The search index is built from the staging file on a second connection while the first copies the
    tables (`load_staged`): a full database disk on the index's side is the reindex's error (exit 3)."""
    import psycopg

    import archive.catalogue.postgres_search as search
    from archive.catalogue.api import CatalogueFailed

    reindex(data, postgres_url)
    before = _tables(data, postgres_url)
    real = search.load

    def full(conn, rows, *rest):
        def some():
            for count, row in enumerate(rows):
                if count == 50:
                    raise psycopg.errors.DiskFull("could not extend file: No space left on device")
                yield row
        return real(conn, some(), *rest)

    monkeypatch.setattr(search, "load", full)
    with pytest.raises(CatalogueFailed, match="disk is full") as failure:
        reindex(data, postgres_url)
    assert failure.value.exit_code == ExitCode.FAILED
    assert _tables(data, postgres_url) == before
    assert _stages(data) == [] and _schemas(postgres_url) == {"portal_archive"}
    assert _index_threads() == []


def test_a_table_copy_failing_while_the_gin_builds_stops_the_build_at_once(data, postgres_url, monkeypatch):
    """The copy's failure cancels the index's statement under way on the server (here a GIN build that would
    take ten minutes): the reindex ends with the copy's error, leaving no thread, query or schema behind."""
    import psycopg

    import archive.catalogue.postgres_search as search
    from archive.catalogue.postgres import PostgresCatalogue

    reindex(data, postgres_url)
    before = _tables(data, postgres_url)
    monkeypatch.setattr(search, "_GIN", "SELECT pg_sleep(600)")
    target, _ = split_url(postgres_url)
    real = PostgresCatalogue.load_tables

    def copy_then_fail(self, source):
        real(self, source)
        # autocommit: in a transaction, pg_stat_activity keeps showing what it showed first
        with psycopg.connect(target, autocommit=True) as watcher:
            deadline = time.monotonic() + 120
            while not watcher.execute("SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(600)'"
                                      " AND state = 'active'").fetchone():
                assert time.monotonic() < deadline, "the index never reached its GIN build"
                time.sleep(0.05)
        raise KeyboardInterrupt

    monkeypatch.setattr(PostgresCatalogue, "load_tables", copy_then_fail)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        reindex(data, postgres_url)
    assert time.monotonic() - started < 300  # not the ten minutes of the statement it cancelled
    assert _index_threads() == []
    with psycopg.connect(target, autocommit=True) as watcher:
        assert not watcher.execute("SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'"
                                   " AND state = 'active'").fetchone()
    assert _tables(data, postgres_url) == before
    assert _stages(data) == [] and _schemas(postgres_url) == {"portal_archive"}
