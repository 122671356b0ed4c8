"""Running a search: the FTS5 expression, the page, the hits.

Matches are counted and paged inside FTS5: filters (state, source, column,
images, flags, site, section) are tokens of the index and dates are a row-id range, so no
match is looked up in another table until it is on the page.

Relevance is FTS5's bm25 with the title weighted 10, image/attachment text 2,
body 1 (for a phrase that matches most of the archive, scored on the first
token of each wanted term: see `_score_newest`).  When a query matches more
than RANK_POOL versions, the newest RANK_POOL of them are put in relevance
order and the older ones follow newest first: bm25 costs 1-3 microseconds a
match, and an answer must come within 50 ms at 100,000 articles
(bench/search.py).  `rank_pool=None` ranks every match.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import date

from archive.catalogue.api import decode_json
from archive.catalogue.fts.dates import row_range
from archive.search.errors import QueryError
from archive.catalogue.fts.index import index_versions, require_index
from archive.search.query import Query, Term, parse_query
from archive.search.results import Hit, SearchResults
from archive.search.snippet import make_snippet
from archive.search.text import SECTION_MARK, SOURCE_MARK, media_text, meta_token, place_word

ORDERS = ("relevance", "date")
RANK_POOL = 5_000
SCORE_WHOLE_BELOW = 8  # score whole phrases unless the matches outnumber the ranked ones this many times
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
                   all_versions: bool = False, include_withdrawn: bool = False,
                   site: str | Sequence[str] | None = None, section: str | Sequence[str] | None = None) -> str:
    """The FTS5 MATCH expression for a query and its filters (passed to SQL as a parameter)."""
    wanted, unwanted = query.fts()
    parts = [wanted]
    if source:
        parts.append(_words(source, "source", SOURCE_MARK))
    if column:
        parts.append(_words(column, "column", SECTION_MARK))
    for kind, value in (("site", site), ("sect", section)):
        if value:
            parts.append(_any(place_word(kind, name) for name in ([value] if isinstance(value, str) else value)))
    if has_images:
        parts.append(_any(["img"]))
    if flags:
        parts.append(_any("anyflag" if flag == "any" else "f" + flag for flag in flags))
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


def _score_newest(conn, query: Query, expression, low, high, total, ranked, count, offset) -> list:
    """Rows `offset`..`offset+count` of the newest `ranked` matches in score order."""
    scored = query.rank_fts()
    if scored == query.fts()[0] or total < SCORE_WHOLE_BELOW * ranked:
        return conn.execute(f"SELECT rowid, score FROM (SELECT rowid, {_SCORE} AS score {_MATCH}"
                            " ORDER BY rowid DESC LIMIT ?) ORDER BY score DESC, rowid DESC LIMIT ? OFFSET ?",
                            (expression, low, high, ranked, count, offset)).fetchall()
    # Before scoring, bm25 reads every match of every phrase for its idf: for
    # a common phrase as long again as the count.  The newest matches are few
    # against all of them here, so score the documents in their date range on
    # each term's first token instead (every match holds it) and keep theirs.
    newest = [row[0] for row in _by_date(conn, expression, low, high, ranked, 0)]
    scores = dict(conn.execute(f"SELECT rowid, {_SCORE} {_MATCH}", (scored, newest[-1], newest[0])))
    newest.sort(key=lambda row_id: (-scores.get(row_id, 0.0), -row_id))
    return [(row_id, scores.get(row_id)) for row_id in newest[offset:offset + count]]


def _ranked(conn, query: Query, expression, low, high, order, limit, offset, pool) -> tuple[list, int, int]:
    total = conn.execute(f"SELECT count(*) {_MATCH}", (expression, low, high)).fetchone()[0]
    if order == "date" or total == 0:
        return _by_date(conn, expression, low, high, limit, offset), total, 0
    ranked = total if pool is None else min(total, pool)
    rows = []
    if offset < ranked:
        count = ranked - offset if limit is None else min(limit, ranked - offset)
        rows = _score_newest(conn, query, expression, low, high, total, ranked, count, offset)
    rest = None if limit is None else limit - len(rows)
    if total > ranked and (rest is None or rest > 0):
        rows += _by_date(conn, expression, low, high, rest, ranked + max(0, offset - ranked))
    return rows, total, ranked


def _by_row_id(conn: sqlite3.Connection, columns: str, row_ids: list[int]) -> dict[int, sqlite3.Row]:
    """Catalogue rows (versions v, articles a) for index row ids, keyed by row id."""
    found = {}
    for start in range(0, len(row_ids), _CHUNK):
        chunk = row_ids[start:start + _CHUNK]
        found.update((row["docid"], row) for row in conn.execute(
            f"SELECT d.docid, {columns} FROM search_docs d JOIN versions v ON v.id = d.version_id"
            f" JOIN articles a ON a.id = v.article_id WHERE d.docid IN ({','.join('?' * len(chunk))})", chunk))
    return found


def _flags(text: str | None) -> list[str]:
    flags = decode_json(text, [])
    return [str(flag) for flag in flags] if isinstance(flags, list) else []


def _hits(conn, rows: Sequence[tuple[int, float | None]], query: Query, with_snippets: bool) -> list[Hit]:
    columns = ("v.id, v.article_id, v.version, v.title, v.published, v.source, v.column_name, v.flags, a.url,"
               " a.status, a.site, a.section, v.id = COALESCE(a.current_version, v.id) AS current")
    if with_snippets:
        columns += ", v.body_text, v.images, v.attachments"
    details = _by_row_id(conn, columns, [row[0] for row in rows])
    hits = []
    for row_id, score in rows:
        row = details.get(row_id)
        if row is None:
            continue  # removed since it was indexed
        parts = make_snippet([row["body_text"], media_text(row["images"], row["attachments"]), row["title"]],
                             query.terms) if with_snippets else ()
        hits.append(Hit(article_id=row["article_id"], version_id=row["id"], version=row["version"], url=row["url"],
                        title=row["title"], published=row["published"], source=row["source"],
                        column=row["column_name"], score=score, flags=_flags(row["flags"]),
                        status=row["status"], current=bool(row["current"]), parts=parts,
                        site=row["site"], section=row["section"]))
    return hits


def search(conn: sqlite3.Connection, query: str, *, since: str | date | None = None,
           until: str | date | None = None, source: str | None = None, column: str | None = None,
           has_images: bool | None = None, flags: Sequence[str] | None = None, all_versions: bool = False,
           include_withdrawn: bool = False, order: str = "relevance", limit: int | None = 20, offset: int = 0,
           snippets: bool | None = None, rank_pool: int | None = RANK_POOL, site: str | Sequence[str] | None = None,
           section: str | Sequence[str] | None = None) -> SearchResults:
    """Search the catalogue's versions; by default current versions of live articles only.

    `since`/`until` bound the published date (inclusive, whole days).
    `source`/`column` keep versions whose source/column contains those words
    in order.  `site`/`section` keep articles of that site/section (a name, or
    any of several names; exact).  `has_images` True/False keeps versions with/without images.
    `flags` keeps versions with any of these integrity flags ('any': any
    flag).  `limit=None` returns every match.  Snippets are made unless
    `snippets=False` (default: only when `limit` is not None).  Relevance
    order ranks the newest `rank_pool` matches (None: all; see RANK_POOL).

    Raises QueryError (bad query or filter) and IndexMissing (build the index
    first: `rebuild_index`).  On a writable connection, changes queued since
    the last indexing are applied (and committed) first.
    """
    parsed = parse_query(query)
    if order not in ORDERS:
        raise QueryError(f"order must be one of {', '.join(ORDERS)}, not {order!r}")
    if (limit is not None and limit < 0) or offset < 0:
        raise QueryError("limit and offset cannot be negative")
    if rank_pool is not None and rank_pool < 1:
        raise QueryError("rank_pool must be at least 1 (or None)")
    low, high = row_range(since, until)
    expression = fts_expression(parsed, source=source, column=column, has_images=has_images, flags=flags,
                                all_versions=all_versions, include_withdrawn=include_withdrawn, site=site,
                                section=section)
    require_index(conn)
    stale = _catch_up(conn)
    rows, total, ranked = _ranked(conn, parsed, expression, low, high, order, limit, offset, rank_pool)
    hits = _hits(conn, rows, parsed, limit is not None if snippets is None else snippets)
    if stale:  # the index may be behind the catalogue: keep only what the catalogue confirms
        hits = [hit for hit in hits if (all_versions or hit.current) and (include_withdrawn or hit.status == "live")]
    return SearchResults(query=query, total=total, hits=hits, offset=offset, limit=limit, order=order,
                         ranked=ranked, stale=stale)
