"""A reindex meeting what a user or a broken machine does to it: files lost or not files at all, a second
reindex, readers holding the old catalogue, a stop signal, a role's statement_timeout.

Whatever happens, the old catalogue stays whole until the new one replaces it,
and the message names what went wrong with its exit code.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import psycopg
import pytest

from archive.catalogue import open_catalogue
from archive.catalogue.events import FileStart, Metadata
from archive.catalogue.postgres import PostgresCatalogue
from archive.catalogue.rebuild import STAGE_PREFIX, warc_files
from archive.catalogue.sqlite import SqliteCatalogue
from archive.catalogue.warc_events import events_from_file
from archive.exits import ExitCode
from tests.conftest import portal_archive, sigterm_when

pytestmark = pytest.mark.e2e


@pytest.fixture
def data(crawled_copy) -> Path:
    return crawled_copy


def _counts(url: str | None, data: Path) -> dict:
    with open_catalogue(data, url, readonly=True) as catalogue:
        return catalogue.counts()


def test_a_crawl_whose_first_records_are_lost_still_folds(data, tmp_path):
    """The crawl-start record lives in a crawl's first file: with that file lost, the rest still folds."""
    events = [event for path in warc_files(data) for event in events_from_file(path)]
    whole = SqliteCatalogue.open(tmp_path / "whole.sqlite")
    cut = SqliteCatalogue.open(tmp_path / "cut.sqlite")
    try:
        for event in events:
            whole.apply(event)
        for event in events:
            if not isinstance(event, FileStart) and not (isinstance(event, Metadata) and event.kind == "crawl-start"):
                cut.apply(event)
        whole.commit()
        cut.commit()
        assert cut.counts()["versions"] == whole.counts()["versions"] > 100
    finally:
        whole.close()
        cut.close()


@pytest.mark.parametrize("damage", ["not a warc", "a directory", "a dangling link"])
def test_a_bad_warc_file_is_exit_7_naming_it_and_the_old_catalogue_stays(data, damage):
    portal_archive("reindex", "--data", str(data))
    before = _counts(None, data)
    bad = data / "warc" / "ZZZ-20990101000000000-00000-bad.warc.gz"
    if damage == "not a warc":
        bad.write_bytes(b"this is not a WARC file\n" * 100)
    elif damage == "a directory":
        bad.mkdir()
    else:
        bad.symlink_to(data / "nowhere")
    result = portal_archive("reindex", "--data", str(data), check=False)
    assert result.returncode == ExitCode.DAMAGED, result.stderr
    assert bad.name in result.stderr and "old catalogue is unchanged" in result.stderr
    assert "Traceback" not in result.stderr and _counts(None, data) == before


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sigterm_stops_a_reindex_as_ctrl_c_does(data, backend, request):
    """systemd's stop, `timeout`: exit 3, one line, what was half built removed, the old catalogue kept."""
    url = request.getfixturevalue("postgres_url") if backend == "postgresql" else None
    given = ["--catalogue", url] if url else []
    portal_archive(*given, "reindex", "--data", str(data))
    before = _counts(url, data)
    fifo = data / "warc" / "ZZZ-20990101000000000-00000-fifo.warc.gz"
    os.mkfifo(fifo)  # reading it waits for a writer that never comes: the reindex is busy until stopped
    building = data / "catalog.sqlite.rebuild"  # SQLite's new catalogue, beside the old one until the end

    def half_built() -> bool:
        return building.exists() or bool(list(data.glob(STAGE_PREFIX + "*")))

    code, err = sigterm_when([*given, "reindex", "--data", str(data)], half_built)
    assert code == ExitCode.FAILED, err
    assert "stopped before the end" in err and "Traceback" not in err
    assert not half_built() and _counts(url, data) == before
    if url:
        with psycopg.connect(url) as conn:
            assert {row[0] for row in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'portal%'")} == {"portal_archive"}


def test_a_second_reindex_of_one_postgresql_catalogue_is_busy(postgres_url, data):
    portal_archive("--catalogue", postgres_url, "reindex", "--data", str(data))
    before = _counts(postgres_url, data)
    with psycopg.connect(postgres_url, autocommit=True) as holder:  # as a reindex under way holds it
        holder.execute("SELECT pg_advisory_lock(hashtext('portal_archive_reindex:portal_archive'))")
        other = shutil.copytree(data, data.parent / "other")
        result = portal_archive("--catalogue", postgres_url, "reindex", "--data", str(other), check=False)
    assert result.returncode == ExitCode.BUSY and "another reindex" in result.stderr, result.stderr
    assert _counts(postgres_url, data) == before


def test_a_reader_holding_the_old_tables_neither_stops_the_swap_nor_is_stopped(postgres_url, data):
    """The swap renames schemas (no table locks); the old one is dropped once its readers let go."""
    portal_archive("--catalogue", postgres_url, "reindex", "--data", str(data))
    with psycopg.connect(postgres_url) as reader:
        reader.execute("SELECT count(*) FROM portal_archive.articles").fetchone()  # holds it, transaction open
        started = time.monotonic()
        portal_archive("--catalogue", postgres_url, "reindex", "--data", str(data), timeout=300)
        assert time.monotonic() - started < 120
        assert reader.execute("SELECT count(*) FROM portal_archive__old1.articles").fetchone()[0] > 0
        found = portal_archive("--catalogue", postgres_url, "search", "化工", "--data", str(data), "--json")
        assert '"article_id"' in found.stdout and found.returncode == 0
    portal_archive("--catalogue", postgres_url, "reindex", "--data", str(data))  # drops what was kept
    with psycopg.connect(postgres_url) as conn:
        schemas = {row[0] for row in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'portal%'")}
    assert schemas == {"portal_archive"}


def test_a_roles_statement_timeout_does_not_reach_the_reindexs_own_statements(postgres_url, tmp_path):
    database = postgres_url.rsplit("/", 1)[1]
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{database}" SET statement_timeout = \'5s\'')
    seen = []

    def fold(catalogue):
        seen.append(catalogue.conn.execute("SHOW statement_timeout").fetchone()["statement_timeout"])

    PostgresCatalogue.rebuilt(postgres_url, fold)
    assert seen == ["0"]


def test_a_reindex_from_one_folder_of_a_shared_catalogue_does_not_drop_the_others_crawls(postgres_url, data, tmp_path):
    """Two data folders crawl into one PostgreSQL catalogue: reindexing from one of them would lose the
    other's crawls; refused (exit 2, naming the files) unless --drop-missing."""
    other = tmp_path / "other"
    shutil.copytree(data, other)
    for path in warc_files(other):  # the other folder's files: the same records under other names
        path.rename(path.with_name(path.name.replace("-00000-", "-00077-")))
    portal_archive("--catalogue", postgres_url, "reindex", "--data", str(data))
    with open_catalogue(other, postgres_url) as catalogue:  # as the other folder's crawl would have folded them
        for path in warc_files(other):
            for event in events_from_file(path):
                catalogue.apply(event)
        catalogue.commit()
    before = _counts(postgres_url, data)
    result = portal_archive("--catalogue", postgres_url, "reindex", "--data", str(data), check=False)
    assert result.returncode == ExitCode.USAGE and "-00077-" in result.stderr and "--drop-missing" in result.stderr
    assert _counts(postgres_url, data) == before
    portal_archive("--catalogue", postgres_url, "reindex", "--drop-missing", "--data", str(data))


def test_a_reindex_and_crawls_of_one_postgresql_catalogue_never_overlap(postgres_url, data):
    """A crawl folding while the schemas swap would leave its rows behind in the old one: a reindex waits for
    no writer (exit 4 while one writes), and no writer starts while a reindex runs (exit 4)."""
    from archive.exits import Busy

    portal_archive("--catalogue", postgres_url, "reindex", "--data", str(data))
    before = _counts(postgres_url, data)
    with open_catalogue(data, postgres_url):  # a crawl's catalogue, open for writing
        result = portal_archive("--catalogue", postgres_url, "reindex", "--data", str(data), check=False)
    assert result.returncode == ExitCode.BUSY and "are writing" in result.stderr, result.stderr
    assert _counts(postgres_url, data) == before
    with psycopg.connect(postgres_url, autocommit=True) as reindexing:  # as a reindex under way holds it
        reindexing.execute("SELECT pg_advisory_lock(hashtext('portal_archive_writers:portal_archive'))")
        with pytest.raises(Busy, match="a reindex is rebuilding"):
            open_catalogue(data, postgres_url)
        open_catalogue(data, postgres_url, readonly=True).close()  # readers go on
    open_catalogue(data, postgres_url).close()
