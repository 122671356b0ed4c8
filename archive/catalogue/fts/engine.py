"""Running a search on the SQLite index: the FTS5 expression, the matches, the hits.

Filters (state, source, column, site, section, images, flags) are tokens of
the index and dates are a row-id range, and row ids sort by date, so FTS5
lists matches newest first and stops when it has enough: no match is looked
up in another table until it is ranked or on the page.  Which matches make
the page, in which order, and the count are `archive.search.paging` (the
same for every backend); relevance is `archive.search.rank`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import date

from archive.catalogue.fts.dates import row_range
from archive.catalogue.fts.index import index_versions, require_index
from archive.catalogue.hits import confirmed, hit_columns, make_hits
from archive.search.errors import QueryError
from archive.search.paging import COUNT_CAP, check, page
from archive.search.query import Query, Term, parse_query
from archive.search.rank import RANK_POOL, RankDoc
from archive.search.results import SearchResults
from archive.search.text import SECTION_MARK, SOURCE_MARK, media_text, meta_token, place_tokens, plain

_MATCH = "FROM search_fts WHERE search_fts MATCH ? AND rowid BETWEEN ? AND ?"
_CHUNK = 500
_TEXT_COLUMNS = "v.title, v.body_text, v.images, v.attachments, d.length"  # what relevance and `Query.holds` read
NARROW_ROWS = 200  # rows whose text `_Matches` checks at most (reading and folding one: ~0.1 ms)


def _words(value: str, name: str, mark: str) -> str:
    term = Term.parse(value)
    if term is None:
        raise QueryError(f"{name}: {value!r} has no letters or digits")
    return term.fts(mark)


def _any(words: Iterable[str]) -> str:
    return "(" + " OR ".join(f'"{meta_token(word)}"' for word in sorted(set(words))) + ")"


def fts_expression(query: Query, *, source: str | None = None, column: str | None = None,
                   site: str | Sequence[str] | None = None, section: str | Sequence[str] | None = None,
                   has_images: bool | None = None,
                   flags: Sequence[str] | None = None, all_versions: bool = False,
                   include_withdrawn: bool = False, narrow: bool = False) -> str:
    """The FTS5 MATCH expression for a query and its filters (passed to SQL as a parameter).

    `narrow`: one that every match matches, and more (`Query.fts`): its rows are checked with `Query.holds`.
    """
    wanted, unwanted = query.fts(narrow=narrow)
    parts = [wanted]
    if source:
        parts.append(_words(source, "source", SOURCE_MARK))
    if column:
        parts.append(_words(column, "column", SECTION_MARK))
    for kind, value in (("site", site), ("sect", section)):
        if value:
            parts.append("(" + " OR ".join(f'"{token}"' for token in place_tokens(kind, value)) + ")")
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


class _Matches:
    """The matches of one FTS5 expression within a row-id range (`archive.search.paging.Matches`).

    With `narrow` (an expression every match matches, see `fts_expression`)
    and `query`: when the narrow one has at most `NARROW_ROWS` rows, those
    rows' text is checked instead (`Query.holds`).  A phrase of pairs common
    to most articles (img_5158: im mg g_ _5 51 15 58) is checked by FTS5 in
    every row holding all its pairs, however few match; the trigrams of its
    ASCII stretches (515, 158) name a few rows, and their text says which.
    """

    def __init__(self, conn: sqlite3.Connection, expression: str, low: int, high: int,
                 narrow: str | None = None, query: Query | None = None) -> None:
        self.conn, self.params = conn, (expression, low, high)
        self.narrow, self.query = (narrow, query) if narrow is not None and query is not None else (None, None)
        self._checked: list[int] | None = None
        self._texts: dict[int, sqlite3.Row] = {}

    def _few(self) -> list[int] | None:
        """The matches, newest first, found through the narrow expression; None when it has too many rows."""
        if self.narrow is None:
            return None
        if self._checked is None:
            _, low, high = self.params
            rows = [row[0] for row in self.conn.execute(f"SELECT rowid {_MATCH} ORDER BY rowid DESC LIMIT ?",
                                                        (self.narrow, low, high, NARROW_ROWS + 1))]
            if len(rows) > NARROW_ROWS:
                self.narrow = None
                return None
            self._texts = _by_row_id(self.conn, _TEXT_COLUMNS, rows)  # kept: the ranking reads the same rows
            self._checked = [key for key, row in self._texts.items() if self.query.holds(
                [plain(row["title"]), plain(row["body_text"]), plain(media_text(row["images"], row["attachments"]))])]
            self._checked.sort(reverse=True)
        return self._checked

    def newest(self, count: int | None) -> list[int]:
        few = self._few()
        if few is not None:
            return few if count is None else few[:count]
        return [row[0] for row in self.conn.execute(f"SELECT rowid {_MATCH} ORDER BY rowid DESC LIMIT ?",
                                                    (*self.params, -1 if count is None else count))]

    def count(self) -> int:
        few = self._few()
        if few is not None:
            return len(few)
        return self.conn.execute(f"SELECT count(*) {_MATCH}", self.params).fetchone()[0]

    def texts(self, keys: Sequence[int]) -> list[RankDoc]:
        rows = self._texts  # read by `_few` when it checked them
        if not all(key in rows for key in keys):
            rows = _by_row_id(self.conn, _TEXT_COLUMNS, list(keys))
        found = [(key, rows[key]) for key in keys if key in rows]
        return [RankDoc(key, row["title"], row["body_text"], row["length"], images=row["images"],
                        attachments=row["attachments"]) for key, row in found]


def _by_row_id(conn: sqlite3.Connection, columns: str, row_ids: list[int]) -> dict[int, sqlite3.Row]:
    """Catalogue rows (versions v, articles a) for index row ids, keyed by row id."""
    found = {}
    for start in range(0, len(row_ids), _CHUNK):
        chunk = row_ids[start:start + _CHUNK]
        found.update((row["docid"], row) for row in conn.execute(
            f"SELECT d.docid, {columns} FROM search_docs d JOIN versions v ON v.id = d.version_id"
            f" JOIN articles a ON a.id = v.article_id WHERE d.docid IN ({','.join('?' * len(chunk))})", chunk))
    return found


def search(conn: sqlite3.Connection, query: str, *, since: str | date | None = None,
           until: str | date | None = None, source: str | None = None, column: str | None = None,
           site: str | Sequence[str] | None = None, section: str | Sequence[str] | None = None,
           has_images: bool | None = None,
           flags: Sequence[str] | None = None, all_versions: bool = False, include_withdrawn: bool = False,
           order: str = "relevance", limit: int | None = 20, offset: int = 0, snippets: bool | None = None,
           rank_pool: int | None = RANK_POOL, count_cap: int | None = COUNT_CAP) -> SearchResults:
    """Search the catalogue's versions; by default current versions of live articles only.

    `since`/`until` bound the published date (inclusive, whole days).
    `source`/`column` keep versions whose source/column contains those words
    in order; `site`/`section` those of articles of that site/section (a
    name, or any of several names; exact).
    `has_images` True/False keeps versions with/without images.  `flags`
    keeps versions with any of these integrity flags ('any': any flag).
    `limit=None` returns every match.  Snippets are made unless
    `snippets=False` (default: only when `limit` is not None).  Relevance
    order ranks the newest `rank_pool` matches (None: all); the count is
    exact up to `count_cap` (None: always); see `archive.search.paging`.

    Raises QueryError (bad query or filter) and IndexMissing (build the index
    first: `rebuild_index`).  On a writable connection, changes queued since
    the last indexing are applied (and committed) first.
    """
    parsed = parse_query(query)
    check(order, limit, offset, rank_pool, count_cap)
    low, high = row_range(since, until)
    filters = dict(source=source, column=column, site=site, section=section, has_images=has_images, flags=flags,
                   all_versions=all_versions, include_withdrawn=include_withdrawn)
    expression = fts_expression(parsed, **filters)
    require_index(conn)
    stale = _catch_up(conn)
    # The index behind the catalogue: its own word on what matches, not the catalogue's text.
    narrow = fts_expression(parsed, **filters, narrow=True) if parsed.narrowable and not stale else None
    found = page(_Matches(conn, expression, low, high, narrow, parsed), parsed.terms, order=order, limit=limit,
                 offset=offset, rank_pool=rank_pool, count_cap=count_cap)
    with_snippets = limit is not None if snippets is None else snippets
    rows = _by_row_id(conn, hit_columns(with_snippets), [key for key, _ in found.rows])
    hits = make_hits(rows, found.rows, parsed, with_snippets)
    if stale:  # the index may be behind the catalogue: keep only what the catalogue confirms
        hits = confirmed(hits, all_versions=all_versions, include_withdrawn=include_withdrawn)
    return SearchResults(query=query, total=found.total, hits=hits, offset=offset, limit=limit, order=order,
                         ranked=found.ranked, exact=found.exact, stale=stale)
