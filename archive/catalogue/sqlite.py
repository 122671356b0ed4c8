"""The embedded backend: the catalogue in one SQLite file, `DATA/catalog.sqlite`.

Nothing to install or run.  WAL mode, so a reader (search, serve) never
waits for the crawl writing.  The Chinese search index lives in the same
file (`archive.catalogue.fts`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from archive.catalogue.api import CatalogueError, CatalogueFailed, IndexStatus
from archive.catalogue.sql import LAYOUT, UPGRADES, SqlCatalogue

# Read through importlib.resources: under Scrapyd the code runs from a zipped egg.
SCHEMA = resources.files("archive.catalogue").joinpath("sqlite_schema.sql")
FILENAME = "catalog.sqlite"

# One row per article with its current version, for Datasette to browse and facet.
WEB_VIEW = "web_articles"
_WEB_VIEW_SQL = f"""CREATE VIEW {WEB_VIEW} AS
SELECT a.id AS article_id, v.title, v.published, substr(v.published, 1, 4) AS year, a.site, a.section, v.source,
       v.column_name, a.status, v.flags, json_array_length(v.images) AS images,
       json_array_length(v.attachments) AS attachments,
       (SELECT count(*) FROM versions w WHERE w.article_id = a.id) AS versions,
       a.first_seen, a.last_seen, a.url
FROM articles a LEFT JOIN versions v ON v.id = COALESCE(a.current_version,
    (SELECT w.id FROM versions w WHERE w.article_id = a.id ORDER BY w.version DESC LIMIT 1))"""

# Canned queries Datasette offers over the catalogue (its SQL lives here, with the tables').
DATASETTE_QUERIES = {
    "new_this_month": {
        "title": "本月新增 New this month",
        "description": "Articles first archived in a month (YYYY-MM; empty: this month, UTC).",
        "sql": "SELECT article_id, title, published, site, section, source, first_seen, status, url\nFROM web_articles\nWHERE substr(first_seen, 1, 7) = coalesce(nullif(:month, ''), strftime('%Y-%m', 'now'))\nORDER BY first_seen DESC, article_id DESC"
    },
    "edited": {
        "title": "已修改 Edited",
        "description": "Versions after the first: articles the portal changed after publishing them, newest change first.",
        "sql": "SELECT v.article_id, v.version, v.title, v.published, a.site, a.section, v.changed_fields, v.first_seen AS detected, v.crawl_id\nFROM versions v JOIN articles a ON a.id = v.article_id\nWHERE v.version > 1\nORDER BY v.first_seen DESC, v.article_id"
    },
    "withdrawn": {
        "title": "已撤稿 Withdrawn",
        "description": "Articles that left the portal (restored: when one answered again); their archived versions stay readable and searchable.",
        "sql": "SELECT w.article_id, a.title, a.published, a.site, a.section, w.how, w.detected, w.crawl_id, w.restored, a.status, a.url\nFROM withdrawals w JOIN web_articles a ON a.article_id = w.article_id\nORDER BY w.detected DESC, w.article_id"
    }
}


def catalogue_path(data: Path) -> Path:
    return Path(data) / FILENAME


def _layout_of(conn: sqlite3.Connection) -> str | None:
    """The layout a catalogue file declares (None for an empty file; "1" for the first, unlabelled one)."""
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "catalogue_info" in names:
        row = conn.execute("SELECT value FROM catalogue_info WHERE name = 'layout'").fetchone()
        return row[0] if row else None
    return "1" if "versions" in names else None


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    if readonly:
        if not path.is_file():
            raise CatalogueError(f"no catalogue at {path} (run a crawl, or portal-archive reindex)")
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    return conn


UPGRADE_WAIT = 60.0  # seconds an upgrade waits for a writer (a crawl's commit) to let go of the file


def _upgrade(path: Path, layout: str, readonly: bool) -> None:
    """Bring the catalogue file from `layout` to this version's, in place and in one transaction (a few
    columns added: seconds, where a reindex takes an hour at a million articles).  A read-only command
    upgrades it too, where it may write the file; where it may not, CatalogueError says who can."""
    conn = sqlite3.connect(path, timeout=UPGRADE_WAIT, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")  # a second process upgrading at the same moment waits, then finds it done
        if _layout_of(conn) == layout:
            for statement in UPGRADES[layout]:
                conn.execute(statement)
            conn.execute("UPDATE catalogue_info SET value = ? WHERE name = 'layout'", (LAYOUT,))
        conn.execute("COMMIT")
    except sqlite3.Error as error:
        if not readonly:
            raise
        raise CatalogueError(f"{path} is a catalogue of layout {layout}; this version reads layout {LAYOUT}, "
                             f"which it makes in place where it can write the file, and here it cannot ({error}): "
                             "run any crawl into it, or `portal-archive reindex`") from error
    finally:
        conn.close()


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open (and, writable, create) the catalogue file; rows come back as sqlite3.Row.

    A read-only connection never creates anything, but upgrades a catalogue
    of an older layout that `UPGRADES` brings to this one, in place, where
    it may write the file.  Raises CatalogueError when the file is missing
    (read-only), is not a catalogue, or holds a catalogue of another layout
    (`portal-archive reindex` rebuilds it from the WARC files).
    """
    path = Path(path)
    try:
        conn = _connect(path, readonly)
        layout = _layout_of(conn)
        if layout is not None and layout != LAYOUT:
            conn.close()
            if layout not in UPGRADES:
                raise CatalogueError(f"{path} is a catalogue of layout {layout}, this version reads layout "
                                     f"{LAYOUT}: rebuild it from the WARC files with `portal-archive reindex`")
            _upgrade(path, layout, readonly)
            conn = _connect(path, readonly)
        if not readonly:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(SCHEMA.read_text(encoding="utf-8"))
            conn.execute("INSERT INTO catalogue_info (name, value) VALUES ('layout', ?) ON CONFLICT DO NOTHING",
                         (LAYOUT,))
            conn.commit()
        conn.execute("SELECT count(*) FROM versions").fetchone()
    except sqlite3.DatabaseError as error:
        # Damaged (not a database, malformed) rather than busy or unreadable: the WARC files can rebuild it.
        hint = "" if isinstance(error, sqlite3.OperationalError) else (
            f"; rebuild it from the WARC files with `portal-archive reindex --data {Path(path).parent}`")
        if _kind(error) is CatalogueFailed:
            raise CatalogueFailed(f"catalogue {path} cannot be written: {error}") from error
        raise CatalogueError(f"{path} is not a readable catalogue: {error}{hint}") from error
    return conn


# SQLite result codes of a catalogue that is there but cannot write (exit 3), not one missing or damaged (exit 6).
_FAILURES = ("SQLITE_FULL", "SQLITE_IOERR", "SQLITE_NOMEM")


def _kind(error: sqlite3.Error) -> type[CatalogueError]:
    name = getattr(error, "sqlite_errorname", "") or ""
    return CatalogueFailed if name.startswith(_FAILURES) else CatalogueError


def _failure(error: sqlite3.DatabaseError, path: Path | None) -> CatalogueError:
    """A database error as the catalogue's own (a full disk, a corrupt page, a locked file)."""
    return _kind(error)(f"catalogue {path or ''} failed: {error}".replace("  ", " "))


class SqliteCatalogue(SqlCatalogue):
    """The catalogue in a SQLite file."""

    def __init__(self, conn: sqlite3.Connection, *, readonly: bool = False, path: Path | None = None):
        super().__init__(conn, readonly=readonly)
        self.path = path

    @classmethod
    def open(cls, path: Path, *, readonly: bool = False, scratch: bool = False) -> "SqliteCatalogue":
        """The catalogue in file `path`; `scratch`: a throwaway file (never synced to disk, its journal in memory)."""
        conn = connect(path, readonly=readonly)
        if scratch:
            conn.execute("PRAGMA journal_mode=MEMORY")
            conn.execute("PRAGMA synchronous=OFF")
        return cls(conn, readonly=readonly, path=Path(path))

    @classmethod
    def wrap(cls, conn: sqlite3.Connection) -> "SqliteCatalogue":
        """A catalogue over a connection someone else opened (Datasette's, read-only)."""
        conn.row_factory = sqlite3.Row
        return cls(conn, readonly=True)

    @contextmanager
    def errors(self) -> Iterator[None]:
        """SQLite's errors as the catalogue's (see `_failure`), for every use of the connection."""
        try:
            yield
        except sqlite3.DatabaseError as error:
            raise _failure(error, self.path) from error

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self.errors():
            return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows) -> None:
        with self.errors():
            self.conn.executemany(sql, rows)

    def commit(self) -> None:
        with self.errors():
            self._flush()
            self.conn.commit()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def _stream(self, sql, params):
        cursor = self.conn.cursor()
        cursor.row_factory = None  # plain tuples: a dict per row is cheaper than sqlite3.Row's lookups by name
        with self.errors():
            cursor.execute(sql, params)
            names = [column[0] for column in cursor.description]
            for values in cursor:  # one row at a time: memory does not grow with the result
                yield dict(zip(names, values))

    def load_rows(self, table: str, rows: list[dict[str, Any]]) -> None:
        """Insert whole rows (ids included) into a catalogue table: a snapshot being filled."""
        if table not in self.TABLES or not rows:
            raise ValueError(f"cannot load {table!r}")
        columns = list(rows[0])
        names = ", ".join(f'"{name}"' for name in columns)
        self.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})",  # noqa: S608
                         [[row[name] for name in columns] for row in rows])

    # -- search ---------------------------------------------------------------
    def search(self, query: str, **filters: Any):
        from archive.catalogue.fts.engine import search

        with self.errors():
            return search(self.conn, query, **filters)

    def index_status(self) -> IndexStatus:
        from archive.catalogue.fts.index import index_ready, outdated, pending

        with self.errors():
            ready = index_ready(self.conn)
            return IndexStatus(ready=ready, pending=pending(self.conn) if ready else 0,
                               outdated=ready and outdated(self.conn))

    def update_index(self) -> int:
        from archive.catalogue.fts.index import index_versions

        with self.errors():
            written = index_versions(self.conn, [])
        self.commit()
        return written

    def rebuild_index(self, progress: Callable[[int, int], None] | None = None) -> int:
        from archive.catalogue.fts.index import rebuild_index

        with self.errors():
            return rebuild_index(self.conn, progress)

    def index_size(self) -> dict[str, int]:
        from archive.catalogue.fts.index import index_size

        with self.errors():
            return index_size(self.conn)

    # -- serving ----------------------------------------------------------------
    def prepare_for_web(self) -> None:
        """(Re)create the `web_articles` view and fold the WAL into the file, as an immutable reader needs."""
        self.execute(f"DROP VIEW IF EXISTS {WEB_VIEW}")
        self.execute(_WEB_VIEW_SQL)
        self.commit()
        self.checkpoint()

    def checkpoint(self) -> None:
        self.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @classmethod
    def rebuilt(cls, location: Path, fold: Callable[["SqliteCatalogue"], None],
                before: Callable[[], None] | None = None) -> None:
        """Build the catalogue anew with `fold` and put it in place atomically (see `rebuild`).  The caller
        holds the data folder's lock, so no crawl of this folder writes meanwhile: `before()` runs first."""
        if before is not None:
            before()
        rebuild(Path(location).parent, fold, Path(location))


def remove_database(path: Path) -> None:
    """A SQLite file and its WAL and shared-memory files, gone (missing ones are fine)."""
    for leftover in (Path(path), Path(str(path) + "-wal"), Path(str(path) + "-shm")):
        leftover.unlink(missing_ok=True)


def rebuild(data: Path, fold: Callable[[SqliteCatalogue], None], path: Path | None = None) -> Path:
    """Build a new catalogue file with `fold`, then put it in place of the old one in one rename.

    Until the rename the old catalogue stays as it was; a failure (or a kill)
    leaves it untouched and removes the half-built file.  The new file is
    built as a scratch file (no WAL, nothing synced: a half-built one is
    thrown away), then synced once, before the rename.
    """
    import os

    from archive.warc.recovery import fsync_dir

    target = Path(path) if path else catalogue_path(data)
    fresh = target.with_name(target.name + ".rebuild")

    remove_database(fresh)
    catalogue = SqliteCatalogue.open(fresh, scratch=True)
    try:
        fold(catalogue)
        catalogue.commit()
        catalogue.conn.execute("PRAGMA journal_mode=WAL")  # the catalogue's own mode, kept in the file
    except BaseException:
        catalogue.close()
        remove_database(fresh)
        raise
    catalogue.close()
    with open(fresh, "rb") as written:
        os.fsync(written.fileno())
    swap_in(fresh, target)
    fsync_dir(target.parent)
    return target


def swap_in(fresh: Path, target: Path) -> None:
    """Put the finished database `fresh` in place of `target` in one rename.

    The old file's WAL is checkpointed into it first, so that a kill between
    removing its WAL and the rename leaves the old catalogue whole (its last
    commits may live only in the WAL).  A stale WAL must not stay beside the
    new file either: SQLite would replay its frames into it.
    """
    import os
    import sqlite3

    if Path(target).exists():
        old = sqlite3.connect(target)
        try:
            old.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.DatabaseError:
            pass  # not a database (a file an export overwrites): no WAL of its own to keep
        finally:
            old.close()
    for suffix in ("-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    os.replace(fresh, target)
