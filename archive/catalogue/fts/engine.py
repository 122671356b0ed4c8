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
from dataclasses import replace
from datetime import date

from archive.catalogue.fts.dates import row_range
from archive.catalogue.fts.index import index_versions, outdated, require_index
from archive.catalogue.hits import confirmed, hit_columns, make_hits
from archive.search.errors import QueryError
from archive.search.paging import COUNT_CAP, check, page
from archive.search.query import NOTHING, Query, Term, parse_query
from archive.search.rank import RANK_POOL, RankDoc
from archive.search.results import SearchResults
from archive.search.text import SECTION_MARK, SOURCE_MARK, clashes, media_text, meta_token, place_tokens, plain

_MATCH = "FROM search_fts WHERE search_fts MATCH ? AND rowid BETWEEN ? AND ?"
_CHUNK = 500
# What relevance and `_Check.holds` read.
_TEXT_COLUMNS = "v.title, v.body_text, v.images, v.attachments, v.source, v.column_name, d.length"
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
        self.query = query
        self.fields = [(term, name) for name, value in (("source", source), ("column_name", column))
                       if value and (term := Term.parse(value)) is not None]
        terms = [*query.terms, *query.excluded, *(term for term, _ in self.fields)]
        self.needed = any(any(_clashes(term)) for term in terms)

    def exact_query(self) -> Query | None:
        """The query for versions the index marks without |mclash; None when none of them can match."""
        if any(_clashes(term)[1] for term, _ in self.fields):
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
        """Whether a version's text (`_TEXT_COLUMNS`) matches the query and the source and column filters, as
        substrings in the form of `archive.search.text.plain` (what the PostgreSQL index compares)."""
        texts = [plain(row["title"]), plain(row["body_text"]), plain(media_text(row["images"], row["attachments"]))]
        return self.query.holds(texts) and all(term.plain in plain(row[name]) for term, name in self.fields)

    def confirmed(self, conn: sqlite3.Connection, row_ids: list[int]) -> list[int]:
        """The row ids (in their order) whose text `holds`."""
        texts = _by_row_id(conn, _TEXT_COLUMNS, row_ids)
        return [key for key in row_ids if key in texts and self.holds(texts[key])]


def _clashes(term: Term) -> tuple[bool, bool]:
    """Whether a term holds ASCII punctuation or controls, and whether it holds what `token_safe` writes for them."""
    return clashes("".join(term.runs))


class _Matches:
    """The matches of one FTS5 expression within a row-id range (`archive.search.paging.Matches`).

    With `narrow` (an expression every match matches, see `fts_expression`)
    and `check`: when the narrow one has at most `NARROW_ROWS` rows, those
    rows' text is checked instead (`_Check.holds`).  A phrase of pairs common
    to most articles (img_5158: im mg g_ _5 51 15 58) is checked by FTS5 in
    every row holding all its pairs, however few match; the trigrams of its
    ASCII stretches (515, 158) name a few rows, and their text says which.
    With `checked`, an expression whose matches `check` confirms (`_Check`),
    the matches are those of `expression` (None: none) and those confirmed.
    """

    def __init__(self, conn: sqlite3.Connection, expression: str | None, low: int, high: int,
                 narrow: str | None = None, check: _Check | None = None, checked: str | None = None) -> None:
        self.conn, self.expression, self.low, self.high = conn, expression, low, high
        self.narrow, self.check = (narrow if check is not None else None), check
        self.checked = checked if check is not None else None
        self._checked: list[int] | None = None
        self._texts: dict[int, sqlite3.Row] = {}
        self._confirmed: list[int] = []  # matches of `checked` confirmed so far, newest first
        self._below: int | None = high  # and the row id its next ones are at or below (None: no more)

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

    def _checked_matches(self, count: int | None) -> list[int]:
        """The newest `count` matches of `checked` (None: all) that `check` confirms, read as needed."""
        while self._below is not None and (count is None or len(self._confirmed) < count):
            size = _CHECK_ROWS if count is None else min(max(count - len(self._confirmed), 100), _CHECK_ROWS)
            rows = [row[0] for row in self.conn.execute(f"SELECT rowid {_MATCH} ORDER BY rowid DESC LIMIT ?",
                                                        (self.checked, self.low, self._below, size))]
            self._below = rows[-1] - 1 if len(rows) == size else None
            self._confirmed.extend(self.check.confirmed(self.conn, rows))
        return self._confirmed if count is None else self._confirmed[:count]

    def newest(self, count: int | None) -> list[int]:
        few = self._few()
        if few is not None:
            return few if count is None else few[:count]
        found = [] if self.expression is None else [row[0] for row in self.conn.execute(
            f"SELECT rowid {_MATCH} ORDER BY rowid DESC LIMIT ?",
            (self.expression, self.low, self.high, -1 if count is None else count))]
        if self.checked is not None:
            found = sorted([*found, *self._checked_matches(count)], reverse=True)[:count]
        return found

    def count(self) -> int:
        few = self._few()
        if few is not None:
            return len(few)
        found = 0 if self.expression is None else self.conn.execute(
            f"SELECT count(*) {_MATCH}", (self.expression, self.low, self.high)).fetchone()[0]
        return found + (len(self._checked_matches(None)) if self.checked is not None else 0)

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
        expression = None if exact is None else fts_expression(exact, **filters, clash=False)
        checked = fts_expression(checking.checked_query(), **filters, clash=True)
    else:
        expression, checked = fts_expression(parsed, **filters), None
    require_index(conn)
    stale = _catch_up(conn)
    # The index behind the catalogue: its own word on what matches, not the catalogue's text.
    narrow = fts_expression(parsed, **filters, narrow=True) if parsed.narrowable and not stale else None
    found = page(_Matches(conn, expression, low, high, narrow, checking, checked), parsed.terms, order=order,
                 limit=limit, offset=offset, rank_pool=rank_pool, count_cap=count_cap)
    with_snippets = limit is not None if snippets is None else snippets
    rows = _by_row_id(conn, hit_columns(with_snippets), [key for key, _ in found.rows])
    hits = make_hits(rows, found.rows, parsed, with_snippets)
    if stale:  # the index may be behind the catalogue: keep only what the catalogue confirms
        hits = confirmed(hits, all_versions=all_versions, include_withdrawn=include_withdrawn)
    return SearchResults(query=query, total=found.total, hits=hits, offset=offset, limit=limit, order=order,
                         ranked=found.ranked, exact=found.exact, stale=stale)
