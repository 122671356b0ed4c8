"""Getting the catalogue ready to be served read-only.

Datasette serves the catalogue immutable, so whatever it needs is written
before it starts, in one read-write pass: the search index (built, or
brought up to date), and the `web_articles` view (one row per article, its
current version if it has one, and a `year` column to facet on).  The WAL is then folded
back into the database file, which an immutable reader requires.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from archive.catalogue.db import connect
from archive.search import index_ready, index_versions, rebuild_index

VIEW = "web_articles"
VIEW_SQL = f"""CREATE VIEW {VIEW} AS
SELECT a.id AS article_id, v.title, v.published, substr(v.published, 1, 4) AS year, v.source, v.column_name,
       a.status, v.flags, json_array_length(v.images) AS images, json_array_length(v.attachments) AS attachments,
       (SELECT count(*) FROM versions w WHERE w.article_id = a.id) AS versions,
       a.first_seen, a.last_seen, a.url
FROM articles a LEFT JOIN versions v ON v.id = COALESCE(a.current_version,
    (SELECT w.id FROM versions w WHERE w.article_id = a.id ORDER BY w.version DESC LIMIT 1))"""


@dataclass(frozen=True)
class Prepared:
    """What `prepare_catalogue` did."""

    articles: int
    versions: int
    indexed: int  # versions (re)indexed now
    rebuilt: bool  # the index was built from nothing


def create_view(conn: sqlite3.Connection) -> None:
    """(Re)create the `web_articles` view, so that its definition follows this code."""
    conn.execute(f"DROP VIEW IF EXISTS {VIEW}")
    conn.execute(VIEW_SQL)


def prepare_catalogue(path: Path, progress: Callable[[int, int], None] | None = None) -> Prepared:
    """Build or update the search index and the view in the catalogue at `path`, then checkpoint it.

    `progress(done, total)` is called while a new index is being built.
    Raises archive.catalogue.db.CatalogueError when `path` is not a catalogue.
    """
    conn = connect(path)
    try:
        rebuilt = not index_ready(conn)
        if rebuilt:
            indexed = rebuild_index(conn, progress)
        else:
            indexed = index_versions(conn, [])
        create_view(conn)
        conn.commit()
        articles = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        versions = conn.execute("SELECT count(*) FROM versions").fetchone()[0]
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return Prepared(articles=articles, versions=versions, indexed=indexed, rebuilt=rebuilt)
