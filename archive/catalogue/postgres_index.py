"""The PostgreSQL catalogue's search index kept in step with its versions, and searches answered as hits.

`postgres_search` is the index itself (its table, the GIN of week-salted character and pair codes, queries);
this module is the catalogue's side: triggers on `versions` and `articles`
queue the articles whose versions or state changed (as the SQLite index's
triggers do), `update` re-indexes them, `rebuild` indexes everything, and
`search` pages its matches (`archive.search.paging`, as for SQLite) and
turns them into `Hit`s (`archive.catalogue.hits`, shared with `archive.catalogue.fts.engine`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

from psycopg.pq import TransactionStatus

from archive.catalogue import postgres_search as index
from archive.catalogue.api import IndexStatus
from archive.catalogue.fts.dates import row_range
from archive.catalogue.hits import STATE_COLUMNS, Behind, Wanted, hit_columns, make_hits
from archive.search.errors import IndexMissing
from archive.search.paging import COUNT_CAP, check, page
from archive.search.query import parse_query
from archive.search.rank import RANK_POOL
from archive.search.results import SearchResults

BATCH = 500

_QUEUE = """
CREATE TABLE IF NOT EXISTS search_queue (article_id bigint PRIMARY KEY);
CREATE OR REPLACE FUNCTION search_queue_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO search_queue (article_id) VALUES (OLD.article_id) ON CONFLICT DO NOTHING;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO search_queue (article_id) VALUES (NEW.article_id) ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION search_queue_article() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status IS DISTINCT FROM NEW.status OR OLD.current_version IS DISTINCT FROM NEW.current_version
       OR OLD.site IS DISTINCT FROM NEW.site OR OLD.section IS DISTINCT FROM NEW.section THEN
        INSERT INTO search_queue (article_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER search_version_changed AFTER INSERT OR UPDATE OR DELETE ON versions
    FOR EACH ROW EXECUTE FUNCTION search_queue_version();
CREATE OR REPLACE TRIGGER search_article_changed AFTER UPDATE ON articles
    FOR EACH ROW EXECUTE FUNCTION search_queue_article();
"""

# Every version of some articles with what the index needs of it and of its article.
_ROWS = """SELECT v.id AS version_id, v.article_id, v.title, v.body_text, v.images, v.attachments, v.source,
    v.column_name, a.site, a.section, v.published, v.flags, a.status = 'live' AS live,
    v.id = COALESCE(a.current_version, (SELECT w.id FROM versions w WHERE w.article_id = v.article_id
                                        ORDER BY w.version DESC LIMIT 1)) AS current
FROM versions v JOIN articles a ON a.id = v.article_id"""


@contextmanager
def _tuples(conn) -> Iterator[None]:
    """`postgres_search` reads rows by position: plain tuples for the time it runs."""
    from psycopg.rows import tuple_row

    previous, conn.row_factory = conn.row_factory, tuple_row
    try:
        yield
    finally:
        conn.row_factory = previous


def _mapped(function):
    """psycopg's errors as the archive's (`PostgresCatalogue.errors`) in a function given the catalogue:
    `postgres_search` uses its connection directly, so a server that dies (or a full disk) mid-search or
    mid-build says so (exit 8, or 3) instead of escaping as a psycopg traceback."""
    @wraps(function)
    def mapped(catalogue, *args, **kwargs):
        with catalogue.errors():
            return function(catalogue, *args, **kwargs)
    return mapped


def _ready(catalogue) -> bool:
    row = catalogue.one("SELECT to_regclass('search_meta') IS NOT NULL AND to_regclass('search_queue') IS NOT NULL"
                        " AS ready")
    if not row or not row["ready"]:
        return False
    layout = catalogue.scalar("SELECT value FROM search_meta WHERE key = 'layout'")
    return layout == index.LAYOUT


@_mapped
def status(catalogue) -> IndexStatus:
    if not _ready(catalogue):
        return IndexStatus(ready=False, pending=0)
    return IndexStatus(ready=True, pending=catalogue.scalar("SELECT count(*) AS n FROM search_queue"))


@contextmanager
def _exclusive(catalogue) -> Iterator[None]:
    """One index writer at a time per catalogue (two crawls may end together); a session lock, as COPY commits."""
    key = f"portal_archive_search:{catalogue.schema}"
    catalogue.conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (key,))
    try:
        yield
    finally:
        try:
            catalogue.conn.rollback()
            catalogue.conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (key,))
            catalogue.conn.commit()
        except Exception:  # noqa: BLE001 - a broken connection drops its locks itself
            pass


@_mapped
def update(catalogue) -> int:
    """Index what the queue holds (creating the index first when missing); returns versions written."""
    with _exclusive(catalogue):
        if not _ready(catalogue):
            return _rebuild(catalogue, None)
        written = _update(catalogue)
        catalogue.commit()
        return written


def _update(catalogue) -> int:
    written = 0
    while True:
        queued = [row["article_id"] for row in catalogue.all(
            "SELECT article_id FROM search_queue ORDER BY article_id LIMIT ?", (BATCH,))]
        if not queued:
            return written
        rows = [dict(row) for row in catalogue.all(_ROWS + " WHERE v.article_id = ANY(?)", (queued,))]
        with _tuples(catalogue.conn):
            indexed = index.indexed_versions(catalogue.conn, queued)
            index.unindex(catalogue.conn, indexed - {row["version_id"] for row in rows})
            written += index.index_versions(catalogue.conn, rows)
        catalogue.execute("DELETE FROM search_queue WHERE article_id = ANY(?)", (queued,))


@_mapped
def rebuild(catalogue, progress: Callable[[int, int], None] | None = None) -> int:
    """Drop the index and index every version again, in bulk (COPY); returns versions indexed."""
    with _exclusive(catalogue):
        return _rebuild(catalogue, progress)


def _rebuild(catalogue, progress: Callable[[int, int], None] | None) -> int:
    start_queue(catalogue)
    catalogue.commit()
    # COPY holds this connection: the rows are read on another one, in batches.
    reader = type(catalogue).open(catalogue.url, readonly=True)
    try:
        return _load(catalogue, reader, progress)
    finally:
        reader.close()


def start_queue(catalogue) -> None:
    """The queue of articles to index again and the triggers that fill it, made or emptied (not committed):
    the index about to be built from every version has nothing left to do."""
    catalogue.execute(_QUEUE)
    catalogue.execute("DELETE FROM search_queue")


def _load(catalogue, source, progress: Callable[[int, int], None] | None,
          stop: Callable[[], bool] | None = None, copied: Callable[[], None] | None = None) -> int:
    """Index every version `source` (a catalogue, perhaps another backend's) holds, with COPY; commits."""
    total = source.scalar("SELECT count(*) AS n FROM versions")

    def rows() -> Iterator[dict[str, Any]]:
        last, done = 0, 0
        while batch := source.all(_ROWS + " WHERE v.id > ? ORDER BY v.id LIMIT ?", (last, BATCH)):
            if stop is not None and stop():
                raise InterruptedError("the search index build was stopped")
            yield from (dict(row) for row in batch)
            last, done = batch[-1]["version_id"], done + len(batch)
            if progress:
                progress(done, total)

    with _tuples(catalogue.conn):
        count, _ = index.load(catalogue.conn, rows(), copied)
    catalogue.commit()
    return count


@_mapped
def load_from(catalogue, source, progress: Callable[[int, int], None] | None = None,
              stop: Callable[[], bool] | None = None, copied: Callable[[], None] | None = None) -> int:
    """Build this catalogue's index from the versions of `source`, a copy of its tables (a reindex's staging
    file), on this connection while another copies the tables; returns versions indexed.  `stop` is asked
    between batches; `copied` is called once the rows are in, before the GIN build.  The queue and its
    triggers are the copier's to make (`start_queue`, on its connection): they would wait for its locks."""
    return _load(catalogue, source, progress, stop, copied)


@_mapped
def size(catalogue) -> dict[str, int]:
    with _tuples(catalogue.conn):
        found = index.size(catalogue.conn)
    catalogue.commit()
    return found


@_mapped
def search(catalogue, query: str, *, since=None, until=None, source=None, column=None, site=None, section=None,
           has_images=None, flags=None, all_versions=False, include_withdrawn=False, order="relevance",
           limit: int | None = 20, offset: int = 0, snippets: bool | None = None,
           rank_pool: int | None = RANK_POOL, count_cap: int | None = COUNT_CAP) -> SearchResults:
    """The same search as `archive.catalogue.fts.engine.search`, on this backend's index."""
    parsed = parse_query(query)
    check(order, limit, offset, rank_pool, count_cap)
    state = status(catalogue)
    if not state.ready:
        raise IndexMissing("the catalogue has no search index yet (portal-archive reindex builds it)")
    filters = index.Filters(since=since, until=until, source=source, column=column, site=site, section=section,
                            has_images=has_images, flags=flags, all_versions=all_versions,
                            include_withdrawn=include_withdrawn)
    stale = False
    if state.pending:
        if catalogue.readonly:
            stale = True
        else:
            update(catalogue)
            catalogue.commit()
    idle = catalogue.conn.info.transaction_status == TransactionStatus.IDLE
    with _tuples(catalogue.conn):
        # The index behind the catalogue: its own word on what matches, except for the versions of the articles
        # waiting to be indexed again, which the catalogue decides (`Behind`).
        behind = index.queued(catalogue.conn) if stale else {}
        matches = index.Matches(catalogue.conn, parsed, filters, without=list(behind))
    paged = matches
    if behind:
        by_version = {row["id"]: row for row in catalogue.all(
            f"SELECT v.id, {STATE_COLUMNS} FROM versions v JOIN articles a ON a.id = v.article_id"
            " WHERE v.id = ANY(?)", (list(behind.values()),))}
        matches.versions.update(behind)
        rows = {key: by_version[version] for key, version in behind.items() if version in by_version}
        paged = Behind(matches, rows, Wanted(parsed, *row_range(since, until), filters))
    with _tuples(catalogue.conn):
        found = page(paged, parsed.terms, order=order, limit=limit, offset=offset, rank_pool=rank_pool,
                     count_cap=count_cap)
        pairs = [(matches.versions[key], score) for key, score in found.rows]
    with_snippets = limit is not None if snippets is None else snippets
    ids = [int(version_id) for version_id, _ in pairs]
    rows = {row["id"]: row for row in catalogue.all(
        f"SELECT {hit_columns(with_snippets)} FROM versions v JOIN articles a ON a.id = v.article_id"
        " WHERE v.id = ANY(?)", (ids,))} if ids else {}
    hits = make_hits(rows, pairs, parsed, with_snippets)
    if idle:
        catalogue.rollback()  # end our read transaction: a long-lived reader must not hold back vacuum
    else:
        index.restore_plans(catalogue.conn)  # the caller's transaction goes on as it was
    return SearchResults(query=query, total=found.total, hits=hits, offset=offset, limit=limit, order=order,
                         ranked=found.ranked, exact=found.exact, stale=stale)
