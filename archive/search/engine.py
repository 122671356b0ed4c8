"""Running a search: the FTS5 expression, the page, the hits.

Matches are counted and paged inside FTS5: filters (state, source, column,
images, flags) are tokens of the index and dates are a row-id range, so no
match is looked up in another table until it is on the page.  Relevance is
FTS5's bm25 with the title weighted 10, image/attachment text 2, body 1.  When
a query matches more than RANK_POOL versions, the newest RANK_POOL of them are
put in relevance order and the older ones follow newest first (bm25 costs
about a microsecond a match, and the answer must stay interactive).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import date

from archive.search.dates import row_range, version_of
from archive.search.errors import QueryError
from archive.search.index import index_versions, require_index
from archive.search.query import Query, Term, parse_query
from archive.search.results import Hit, SearchResults
from archive.search.snippet import make_snippet
from archive.search.text import SECTION_MARK, SOURCE_MARK, media_text, meta_token, searched_fields

ORDERS = ("relevance", "date")
RANK_POOL = 20_000
WEIGHTS = (10.0, 1.0, 2.0, 0.0, 0.0, 0.0)  # title, body, media, source, section, meta
_SCORE = f"-bm25(search_fts, {', '.join(map(str, WEIGHTS))})"
_MATCH = "FROM search_fts WHERE search_fts MATCH ? AND rowid BETWEEN ? AND ?"
_CHUNK = 500


def _words(value: str, name: str, mark: str) -> str:
    term = Term.parse(value)
    if term is None:
        raise QueryError(f"{name}: {value!r} has no letters or digits")
    return term.fts(mark)


def _any(words: Iterable[str]) -> str:
    return "(" + " OR ".join(f'"{meta_token(word)}"' for word in sorted(set(words))) + ")"


def fts_expression(query: Query, *, source: str | None = None, column: str | None = None,
                   has_images: bool | None = None, flags: Sequence[str] | None = None,
                   all_versions: bool = False, include_withdrawn: bool = False) -> str:
    """The FTS5 MATCH expression for a query and its filters (passed to SQL as a parameter)."""
    wanted, unwanted = query.fts()
    parts = [wanted]
    if source:
        parts.append(_words(source, "source", SOURCE_MARK))
    if column:
        parts.append(_words(column, "column", SECTION_MARK))
    if has_images:
        parts.append(_any(["img"]))
    if flags:
        parts.append(_any("flagged" if flag == "any" else "f" + flag for flag in flags))
    hidden = [unwanted] if unwanted else []
    states = [name for name, shown in (("old", all_versions), ("gone", include_withdrawn)) if not shown]
    if has_images is False:
        states.append("img")
    if states:
        hidden.append(_any(states))
    expression = " AND ".join(f"({part})" for part in parts)
    return f"({expression}) NOT ({' OR '.join(hidden)})" if hidden else expression


def _catch_up(conn: sqlite3.Connection) -> bool:
    """Apply queued index changes if this connection can; True when some remain."""
    if not conn.execute("SELECT EXISTS (SELECT 1 FROM search_queue)").fetchone()[0]:
        return False
    if conn.in_transaction:
        return True  # the caller's own transaction: not ours to commit
    timeout = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.execute("PRAGMA busy_timeout = 200")
    try:
        index_versions(conn, [])
        conn.commit()
        return False
    except sqlite3.OperationalError:  # read-only, or a writer holds the lock
        conn.rollback()
        return True
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout)}")


def _by_date(conn, expression, low, high, limit, offset) -> list[tuple[int, float | None]]:
    # No score: bm25 would first read every doclist of the query for its idf.
    return conn.execute(f"SELECT rowid, NULL {_MATCH} ORDER BY rowid DESC LIMIT ? OFFSET ?",
                        (expression, low, high, -1 if limit is None else limit, offset)).fetchall()


def _indexed(conn, expression, low, high, order, limit, offset) -> tuple[list, int, int]:
    total = conn.execute(f"SELECT count(*) {_MATCH}", (expression, low, high)).fetchone()[0]
    if order == "date" or total == 0:
        return _by_date(conn, expression, low, high, limit, offset), total, 0
    ranked, cut = total, low
    if total > RANK_POOL:
        ranked = RANK_POOL
        cut = conn.execute(f"SELECT rowid {_MATCH} ORDER BY rowid DESC LIMIT 1 OFFSET ?",
                           (expression, low, high, RANK_POOL - 1)).fetchone()[0]
    rows = []
    if offset < ranked:
        count = ranked - offset if limit is None else min(limit, ranked - offset)
        rows = conn.execute(f"SELECT rowid, {_SCORE} AS score {_MATCH} ORDER BY score DESC, rowid DESC LIMIT ? OFFSET ?",
                            (expression, cut, high, count, offset)).fetchall()
    rest = None if limit is None else limit - len(rows)
    if total > ranked and (rest is None or rest > 0):
        rows += _by_date(conn, expression, low, cut - 1, rest, max(0, offset - ranked))
    return rows, total, ranked


def _texts(conn: sqlite3.Connection, version_ids: list[int]) -> dict[int, sqlite3.Row]:
    found = {}
    for start in range(0, len(version_ids), _CHUNK):
        chunk = version_ids[start:start + _CHUNK]
        found.update((row["id"], row) for row in conn.execute(
            f"SELECT id, title, body_text, images, attachments FROM versions WHERE id IN ({','.join('?' * len(chunk))})",
            chunk))
    return found


def _checked(conn, query, expression, low, high, order, limit, offset) -> tuple[list, int, int]:
    """Candidates from the index, each checked against its text (queries with punctuation inside words)."""
    candidates = conn.execute(f"SELECT rowid, {_SCORE} {_MATCH}", (expression, low, high)).fetchall()
    kept = []
    for start in range(0, len(candidates), _CHUNK):
        chunk = candidates[start:start + _CHUNK]
        texts = _texts(conn, [version_of(row[0]) for row in chunk])
        for row in chunk:
            text = texts.get(version_of(row[0]))
            if text is not None and query.matches(searched_fields(
                    text["title"], text["body_text"], media_text(text["images"], text["attachments"]))):
                kept.append(row)
    if order == "date":
        kept.sort(key=lambda row: -row[0])
    else:
        kept.sort(key=lambda row: (-row[1], -row[0]))
    end = None if limit is None else offset + limit
    return kept[offset:end], len(kept), len(kept) if order == "relevance" else 0


def _hits(conn, rows: Iterable[tuple[int, float]], query: Query, with_snippets: bool) -> list[Hit]:
    rows = list(rows)
    ids = [version_of(row[0]) for row in rows]
    extra = ", v.body_text, v.images, v.attachments" if with_snippets else ""
    details = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        details.update((row["id"], row) for row in conn.execute(
            "SELECT v.id, v.article_id, v.version, v.title, v.published, v.source, v.column_name, v.flags,"
            f" a.url, a.status, v.id = COALESCE(a.current_version, v.id) AS current{extra}"
            f" FROM versions v JOIN articles a ON a.id = v.article_id WHERE v.id IN ({','.join('?' * len(chunk))})",
            chunk))
    hits = []
    for (_, score), vid in zip(rows, ids):
        row = details.get(vid)
        if row is None:
            continue  # removed since it was indexed
        parts = make_snippet([row["body_text"], media_text(row["images"], row["attachments"]), row["title"]],
                             query.terms) if with_snippets else ()
        hits.append(Hit(article_id=row["article_id"], version_id=vid, version=row["version"], url=row["url"],
                        title=row["title"], published=row["published"], source=row["source"],
                        column=row["column_name"], score=score, flags=json.loads(row["flags"] or "[]"),
                        status=row["status"], current=bool(row["current"]), parts=parts))
    return hits


def search(conn: sqlite3.Connection, query: str, *, since: str | date | None = None,
           until: str | date | None = None, source: str | None = None, column: str | None = None,
           has_images: bool | None = None, flags: Sequence[str] | None = None, all_versions: bool = False,
           include_withdrawn: bool = False, order: str = "relevance", limit: int | None = 20, offset: int = 0,
           snippets: bool | None = None) -> SearchResults:
    """Search the catalogue's versions; by default current versions of live articles only.

    `since`/`until` bound the published date (inclusive, whole days).
    `source`/`column` keep versions whose source/column contains those words
    in order.  `has_images` True/False keeps versions with/without images.
    `flags` keeps versions with any of these integrity flags ('any': any
    flag).  `limit=None` returns every match.  Snippets are made unless
    `snippets=False` (default: only when `limit` is not None).

    Raises QueryError (bad query or filter) and IndexMissing (build the index
    first: `rebuild_index`).  On a writable connection, changes queued since
    the last indexing are applied (and committed) first.
    """
    parsed = parse_query(query)
    if order not in ORDERS:
        raise QueryError(f"order must be one of {', '.join(ORDERS)}, not {order!r}")
    if (limit is not None and limit < 0) or offset < 0:
        raise QueryError("limit and offset cannot be negative")
    low, high = row_range(since, until)
    expression = fts_expression(parsed, source=source, column=column, has_images=has_images, flags=flags,
                                all_versions=all_versions, include_withdrawn=include_withdrawn)
    require_index(conn)
    stale = _catch_up(conn)
    run = _checked if parsed.needs_check else _indexed
    args = (parsed, expression) if parsed.needs_check else (expression,)
    rows, total, ranked = run(conn, *args, low, high, order, limit, offset)
    hits = _hits(conn, rows, parsed, limit is not None if snippets is None else snippets)
    if stale:  # the index may be behind the catalogue: keep only what the catalogue confirms
        hits = [hit for hit in hits if (all_versions or hit.current) and (include_withdrawn or hit.status == "live")]
    return SearchResults(query=query, total=total, hits=hits, offset=offset, limit=limit, order=order,
                         ranked=ranked, stale=stale)
