"""Running a search on the SQLite index: the FTS5 expression, the matches, the hits.

Filters (state, source, column, site, section, images, flags) are tokens of
the index and dates are a row-id range, and row ids sort by date, so FTS5
lists matches newest first and stops when it has enough: no match is looked
up in another table until it is ranked or on the page, but for the few the
index cannot decide (a text holding the private-use characters it stores
punctuation as: `_Check`; a version of an article waiting to be indexed
again, when the index cannot be brought up to date: `Behind`).  Which
matches make the page, in which order, and the count are
`archive.search.paging` (the same for every backend); relevance is
`archive.search.rank`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import date

from archive.catalogue.fts.dates import row_range
from archive.catalogue.fts.index import index_versions, outdated, require_index
from archive.catalogue.hits import STATE_COLUMNS, Behind, Filters, Wanted, hit_columns, make_hits, text_holds
from archive.search.errors import QueryError
from archive.search.paging import COUNT_CAP, check, page
from archive.search.query import NOTHING, Query, Term, parse_query
from archive.search.rank import RANK_POOL, RankDoc
from archive.search.results import SearchResults
from archive.search.text import SECTION_MARK, SOURCE_MARK, clashes, meta_token, place_tokens

_MATCH = "FROM search_fts WHERE search_fts MATCH ? AND rowid BETWEEN ? AND ?"
_CHUNK = 500
_TEXT_COLUMNS = f"d.length, {STATE_COLUMNS}"  # what relevance and `_Check.holds` read
NARROW_ROWS = 200  # rows whose text `_Matches` checks at most (reading and folding one: ~0.1 ms)
_CHECK_ROWS = 2_000  # matches a checked search reads from FTS5 at a time


def _words(value: str, name: str, mark: str) -> str:
    term = Term.parse(value)
    if term is None:
        raise QueryError(f"{name}: {value!r} {NOTHING}")
    return term.fts(mark)


def _any(words: Iterable[str]) -> str:
    return "(" + " OR ".join(f'"{meta_token(word)}"' for word in sorted(set(words))) + ")"


def fts_expression(query: Query, *, source: str | None = None, column: str | None = None,
                   site: str | Sequence[str] | None = None, section: str | Sequence[str] | None = None,
                   has_images: bool | None = None,
                   flags: Sequence[str] | None = None, all_versions: bool = False,
                   include_withdrawn: bool = False, narrow: bool = False, clash: bool | None = None) -> str:
    """The FTS5 MATCH expression for a query and its filters (passed to SQL as a parameter).

    `narrow`: one that every match matches, and more (`Query.fts`): its rows are checked with `Query.holds`.
    `clash`: only versions the index marks |mclash (True) or only the others (False); see `_Check`.
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
    if clash:
        parts.append(_any(["clash"]))
    hidden = [unwanted] if unwanted else []
    states = [name for name, shown in (("old", all_versions), ("gone", include_withdrawn)) if not shown]
    if has_images is False:
        states.append("img")
    if clash is False:
        states.append("clash")
    if states:
        hidden.append(_any(states))
    expression = " AND ".join(f"({part})" for part in parts)
    return f"({expression}) NOT ({' OR '.join(hidden)})" if hidden else expression


def _catch_up(conn: sqlite3.Connection) -> bool:
    """Apply queued index changes (and bring an `outdated` index up to date) if this connection can; True when
    some remain."""
    if not conn.execute("SELECT EXISTS (SELECT 1 FROM search_queue)").fetchone()[0] and not outdated(conn):
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


class _Check:
    """Matches the index's tokens cannot decide: which versions they are, and how their text decides.

    The index stores ASCII punctuation and controls as private-use characters
    (`archive.search.text.token_safe`), so its tokens cannot tell 用! from
    用\ue021 (old CMSs put rare characters in the private-use area).  The
    PostgreSQL index stores the characters themselves.  So that both answer
    alike, a query whose words (or source or column filter) hold either kind
    (`needed`) is answered in two parts:
    - versions whose text holds none of those private-use characters (the
      index says which: |mclash, `archive.catalogue.fts.index._CLASH`), where
      the tokens are exact: `exact_query`, without the words holding
      private-use characters (no such version holds them);
    - the few that do: every match of `checked_query` (the query without the
      excluded words the tokens cannot decide), their text checked (`holds`).
    """

    def __init__(self, query: Query, source: str | None = None, column: str | None = None) -> None:
        self.query, self.source, self.column = query, source, column
        fields = [term for value in (source, column) if value and (term := Term.parse(value)) is not None]
        self.fields_clash = any(_clashes(term)[1] for term in fields)
        self.needed = any(any(_clashes(term)) for term in [*query.terms, *query.excluded, *fields])

    def exact_query(self) -> Query | None:
        """The query for versions the index marks without |mclash; None when none of them can match."""
        if self.fields_clash:
            return None
        groups = tuple(tuple(term for term in group if not _clashes(term)[1]) for group in self.query.groups)
        if not all(groups):
            return None
        return replace(self.query, groups=groups,
                       excluded=tuple(term for term in self.query.excluded if not _clashes(term)[1]))

    def checked_query(self) -> Query:
        """The query for versions marked |mclash: it matches every match there, and `holds` decides."""
        return replace(self.query, excluded=tuple(term for term in self.query.excluded if not any(_clashes(term))))

    def holds(self, row: sqlite3.Row) -> bool:
        """Whether a version's text matches the query and the source and column filters (`text_holds`)."""
        return text_holds(row, self.query, self.source, self.column)


def _clashes(term: Term) -> tuple[bool, bool]:
    """Whether a term holds ASCII punctuation or controls, and whether it holds what `token_safe` writes for them."""
    return clashes("".join(term.runs))


class _Part:
    """One FTS5 expression's share of a search's matches within a row-id range, newest first: every match, or
    with `check` those whose catalogue row (`_TEXT_COLUMNS`) it accepts; never the row ids in `without`."""

    def __init__(self, conn: sqlite3.Connection, expression: str, low: int, high: int,
                 check: Callable[[sqlite3.Row], bool] | None = None, without: frozenset[int] = frozenset()) -> None:
        self.conn, self.expression, self.low, self.high = conn, expression, low, high
        self.check, self.without = check, without
        self._found: list[int] = []  # checked matches so far, newest first
        self._below: int | None = high  # and the row id the next ones are at or below (None: no more)

    def _rows(self, below: int, limit: int) -> list[int]:
        return [row[0] for row in self.conn.execute(f"SELECT rowid {_MATCH} ORDER BY rowid DESC LIMIT ?",
                                                    (self.expression, self.low, below, limit))]

    def newest(self, count: int | None) -> list[int]:
        if self.check is None:
            rows = self._rows(self.high, -1 if count is None else count + len(self.without))
            found = [key for key in rows if key not in self.without] if self.without else rows
            return found if count is None else found[:count]
        while self._below is not None and (count is None or len(self._found) < count):
            size = _CHECK_ROWS if count is None else min(max(count - len(self._found), 100), _CHECK_ROWS)
            rows = self._rows(self._below, size)
            self._below = rows[-1] - 1 if len(rows) == size else None
            rows = [key for key in rows if key not in self.without]
            texts = _by_row_id(self.conn, _TEXT_COLUMNS, rows)
            self._found.extend(key for key in rows if key in texts and self.check(texts[key]))
        return self._found if count is None else self._found[:count]

    def count(self) -> int:
        if self.check is not None:
            return len(self.newest(None))
        found = self.conn.execute(f"SELECT count(*) {_MATCH}", (self.expression, self.low, self.high)).fetchone()[0]
        left_out = sorted(self.without)
        for start in range(0, len(left_out), _CHUNK):
            chunk = left_out[start:start + _CHUNK]
            found -= self.conn.execute(f"SELECT count(*) {_MATCH} AND rowid IN ({','.join('?' * len(chunk))})",
                                       (self.expression, self.low, self.high, *chunk)).fetchone()[0]
        return found


class _Matches:
    """The matches of a search (`archive.search.paging.Matches`): those of its `parts` (disjoint), merged.

    With `narrow` (an expression every match matches, see `fts_expression`)
    and `check`: when the narrow one has at most `NARROW_ROWS` rows, those
    rows' text is checked instead (`_Check.holds`).  A phrase of pairs common
    to most articles (img_5158: im mg g_ _5 51 15 58) is checked by FTS5 in
    every row holding all its pairs, however few match; the trigrams of its
    ASCII stretches (515, 158) name a few rows, and their text says which.
    """

    def __init__(self, conn: sqlite3.Connection, parts: list[_Part], low: int, high: int,
                 narrow: str | None = None, check: _Check | None = None) -> None:
        self.conn, self.parts, self.low, self.high = conn, parts, low, high
        self.narrow, self.check = (narrow if check is not None else None), check
        self._checked: list[int] | None = None
        self._texts: dict[int, sqlite3.Row] = {}

    def _few(self) -> list[int] | None:
        """The matches, newest first, found through the narrow expression; None when it has too many rows."""
        if self.narrow is None:
            return None
        if self._checked is None:
            rows = [row[0] for row in self.conn.execute(f"SELECT rowid {_MATCH} ORDER BY rowid DESC LIMIT ?",
                                                        (self.narrow, self.low, self.high, NARROW_ROWS + 1))]
            if len(rows) > NARROW_ROWS:
                self.narrow = None
                return None
            self._texts = _by_row_id(self.conn, _TEXT_COLUMNS, rows)  # kept: the ranking reads the same rows
            self._checked = [key for key, row in self._texts.items() if self.check.holds(row)]
            self._checked.sort(reverse=True)
        return self._checked

    def newest(self, count: int | None) -> list[int]:
        few = self._few()
        if few is not None:
            return few if count is None else few[:count]
        if len(self.parts) == 1:
            return self.parts[0].newest(count)
        found = sorted((key for part in self.parts for key in part.newest(count)), reverse=True)
        return found if count is None else found[:count]

    def count(self) -> int:
        few = self._few()
        if few is not None:
            return len(few)
        return sum(part.count() for part in self.parts)

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
    checking = _Check(parsed, source, column)
    if checking.needed:  # see `_Check`
        exact = checking.exact_query()
        expressions = [] if exact is None else [(fts_expression(exact, **filters, clash=False), None)]
        expressions.append((fts_expression(checking.checked_query(), **filters, clash=True), checking.holds))
    else:
        expressions = [(fts_expression(parsed, **filters), None)]
    require_index(conn)
    stale = _catch_up(conn)
    # The index behind the catalogue: its own word on what matches, not the catalogue's text, except for the
    # versions of the articles waiting to be indexed again (`Behind`).
    behind = _by_row_id(conn, STATE_COLUMNS, [row[0] for row in conn.execute(
        "SELECT docid FROM search_docs WHERE article_id IN (SELECT article_id FROM search_queue)")]) if stale else {}
    parts = [_Part(conn, expression, low, high, holds, frozenset(behind)) for expression, holds in expressions]
    narrow = fts_expression(parsed, **filters, narrow=True) if parsed.narrowable and not stale else None
    matches = _Matches(conn, parts, low, high, narrow, checking)
    if behind:
        matches = Behind(matches, behind, Wanted(parsed, low, high, Filters(**filters)))
    found = page(matches, parsed.terms, order=order, limit=limit, offset=offset, rank_pool=rank_pool,
                 count_cap=count_cap)
    with_snippets = limit is not None if snippets is None else snippets
    rows = _by_row_id(conn, hit_columns(with_snippets), [key for key, _ in found.rows])
    hits = make_hits(rows, found.rows, parsed, with_snippets)
    return SearchResults(query=query, total=found.total, hits=hits, offset=offset, limit=limit, order=order,
                         ranked=found.ranked, exact=found.exact, stale=stale)
