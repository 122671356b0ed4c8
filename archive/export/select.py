"""Which article versions an export holds, read from the catalogue as a stream.

A `Selection` is the filters; `selected_rows` yields one dict per article
version (its columns: see `_COLUMNS`), in (article_id, version) order,
straight from the cursor.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from archive.catalogue.db import CatalogueError, connect
from archive.export.errors import BadRequest, CatalogueUnreadable

VERSIONS = ("latest", "all")

# The columns every row carries; body_html is only read when asked for.
_COLUMNS = """
    v.id AS version_id, v.article_id, v.version, a.url, v.title, v.published, v.source, {body_text}, {body_html},
    v.images, v.attachments, v.breadcrumb, v.site_name, v.site_id_code, v.column_name, v.charset, v.problems,
    v.flags, v.changed_fields, v.content_hash, a.status AS article_status, w.detected AS withdrawn_at,
    w.how AS withdrawn_how, (v.id = {current}) AS is_current, v.first_seen, v.last_seen, v.extractor,
    v.crawl_id, c.date AS capture_time, c.url AS capture_url, c.file AS warc_file, c.offset AS warc_offset,
    c.length AS warc_length, c.record_id AS warc_record_id"""

_FROM = """
FROM versions v
JOIN articles a ON a.id = v.article_id
JOIN captures c ON c.id = v.capture_id
LEFT JOIN withdrawals w ON a.status = 'withdrawn' AND w.id = (
    SELECT id FROM withdrawals WHERE article_id = a.id ORDER BY detected DESC, id DESC LIMIT 1)"""

_HITS_TABLE = "temp.export_hits"
# The current version; the newest one while articles.current_version is not set yet (as search does).
CURRENT = ("COALESCE(a.current_version,"
           " (SELECT n.id FROM versions n WHERE n.article_id = a.id ORDER BY n.version DESC LIMIT 1))")


@dataclass(frozen=True)
class Selection:
    """Filters of an export; every one is optional and they combine with AND.

    * `query`: free text, run through `archive.search` (see archive.export.query).
    * `since` / `until`: inclusive bounds on the date of `published`; an
      undated version is left out when either is set.
    * `sources`: keep versions whose source contains any of these strings.
    * `flags`: keep versions carrying any of these integrity flags.
    * `versions`: "latest" (each article's current version) or "all".
    * `withdrawn`: keep only withdrawn articles.
    * `with_html`: also read body_html (`export` sets it when that field is asked for).
    """

    query: str | None = None
    since: date | None = None
    until: date | None = None
    sources: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    versions: str = "latest"
    withdrawn: bool = False
    with_html: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        if self.versions not in VERSIONS:
            raise BadRequest(f"--versions must be one of {', '.join(VERSIONS)}, not {self.versions!r}")
        if self.since and self.until and self.since > self.until:
            raise BadRequest(f"--since {self.since} is after --until {self.until}")

    def describe(self) -> dict[str, Any]:
        """The filters as JSON-ready values (for datapackage.json)."""
        return {
            "query": self.query,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "source": list(self.sources),
            "flag": list(self.flags),
            "versions": self.versions,
            "withdrawn_only": self.withdrawn,
        }

    def where(self) -> tuple[str, list[Any]]:
        """The WHERE clause (with its parameters) for these filters."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.versions == "latest":
            clauses.append(f"v.id = {CURRENT}")
        if self.since:
            clauses.append("v.published >= ?")
            params.append(self.since.isoformat())
        if self.until:
            # published is a date or a datetime starting with its date: compare as text.
            clauses.append("v.published < ?")
            params.append((self.until + timedelta(days=1)).isoformat())
        if self.sources:
            clauses.append("(" + " OR ".join("instr(v.source, ?) > 0" for _ in self.sources) + ")")
            params += list(self.sources)
        if self.flags:
            marks = ",".join("?" for _ in self.flags)
            clauses.append(f"EXISTS (SELECT 1 FROM json_each(v.flags) WHERE value IN ({marks}))")
            params += list(self.flags)
        if self.withdrawn:
            clauses.append("a.status = 'withdrawn'")
        if self.query is not None:
            clauses.append(f"v.id IN (SELECT version_id FROM {_HITS_TABLE})")
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def open_catalogue(path: Path) -> sqlite3.Connection:
    """The catalogue, read-only (raises CatalogueUnreadable)."""
    try:
        return connect(path, readonly=True)
    except CatalogueError as error:
        raise CatalogueUnreadable(str(error)) from error


def load_hits(conn: sqlite3.Connection, version_ids: Iterable[int]) -> None:
    """Store the search hits the `query` filter keeps (a temp table: the catalogue stays read-only)."""
    conn.execute(f"CREATE TABLE IF NOT EXISTS {_HITS_TABLE} (version_id INTEGER PRIMARY KEY)")
    conn.execute(f"DELETE FROM {_HITS_TABLE}")
    conn.executemany(f"INSERT OR IGNORE INTO {_HITS_TABLE} VALUES (?)", ((int(i),) for i in version_ids))


def count_rows(conn: sqlite3.Connection, selection: Selection) -> int:
    """How many rows `selected_rows` will yield."""
    where, params = selection.where()
    return _guard(lambda: conn.execute("SELECT count(*)" + _FROM + where, params).fetchone()[0])


def selected_rows(conn: sqlite3.Connection, selection: Selection) -> Iterator[dict[str, Any]]:
    """Each selected version as a dict of its columns, streamed; raises CatalogueUnreadable on a database error."""
    where, params = selection.where()
    columns = _COLUMNS.format(body_text="v.body_text", current=CURRENT,
                              body_html="v.body_html" if selection.with_html else "NULL AS body_html")
    sql = "SELECT" + columns + _FROM + where + " ORDER BY v.article_id, v.version"
    cursor = conn.cursor()
    cursor.row_factory = None  # plain tuples: a dict per row is cheaper than sqlite3.Row's lookups by name
    _guard(lambda: cursor.execute(sql, params))
    names = [column[0] for column in cursor.description]
    try:
        for values in cursor:  # one row at a time: memory does not grow with the export
            yield dict(zip(names, values))
    except sqlite3.DatabaseError as error:
        raise CatalogueUnreadable(f"catalogue read failed: {error}") from error


def crawls_of(conn: sqlite3.Connection, crawl_ids: set[str]) -> list[dict[str, Any]]:
    """The crawls table rows for these ids, oldest first."""
    marks = ",".join("?" for _ in crawl_ids)
    rows = _guard(lambda: conn.execute(
        f"SELECT id, started, finished, status FROM crawls WHERE id IN ({marks}) ORDER BY started, id",
        sorted(crawl_ids)).fetchall())
    return [dict(row) for row in rows]


def _guard(call):
    try:
        return call()
    except sqlite3.DatabaseError as error:
        raise CatalogueUnreadable(f"catalogue read failed: {error}") from error
