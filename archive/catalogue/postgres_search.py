"""Chinese full-text search on stock PostgreSQL 15: an n-gram GIN index, exact for any length.

    create(conn)                              # tables, functions, indexes (idempotent)
    index_versions(conn, rows)                # add or replace versions (dicts, see `Doc`)
    load(conn, rows)                          # the same, in bulk with COPY, for a rebuild
    unindex(conn, version_ids)
    total, hits = search(conn, parse_query("化工 -园区"), Filters(since="2021-01-01"), "relevance", 20, 0)

Text is searched in the form of `archive.search.text.plain`: folded, runs
joined by one space.  A term is found where its joined runs are a substring
of the title, the body or the media text (image alt texts and captions,
attachment names), which are the semantics of the SQLite index
(`archive.search`); the query language is `archive.search.query`.

The index: one GIN over a `tsvector` that no table stores, computed from
each row by `search_lexemes()`: every distinct substring of one to four
characters (GRAM) of the three text fields, the same marked with \\x03 for
the source and \\x04 for the column name, and state tags (\\x05old, \\x05gone,
\\x05img, \\x05anyflag, \\x05f<flag>, \\x05site:<site>, \\x05section:<section>).
So a term of up to four characters is one lexeme, looked up exactly in the
index with no recheck; NOT, OR and the state filters are exact in the index
too.  A longer term is looked up as the four-character grams that cover it,
and each candidate is then checked with `strpos` on the stored text.  Why not
character pairs with phrase queries (`'人民' <-> '民政'`): GIN stores no
positions, so every candidate of a phrase is rechecked against the row, and
in this archive a four-character word is in a third of the articles.

Dates are a btree on the published day (`archive.search.dates.day_of`).
Relevance: the newest `rank_pool` matches are scored, bm25-like, from their
stored text (title weighted 10, media 2, body 1; term frequency counted with
`replace`), the rest follow newest first, as in the SQLite engine.

Every SQL statement against these tables is in this module.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from archive.catalogue.fts.dates import day_of, to_day
from archive.search.errors import QueryError
from archive.search.query import Query, Term
from archive.search.text import media_text, plain

GRAM = 4  # terms up to this many characters are exact lexemes
LAYOUT = "1"
SOURCE, COLUMN, TAG = "\x03", "\x04", "\x05"
FIELD_SEPARATOR = "\x02"  # between title, body and media: no gram spans two fields
WEIGHTS = {"title": 10.0, "body": 1.0, "media": 2.0}
RANK_POOL = 200
K1, B = 1.2, 0.75

# Substrings of 1..GRAM characters: regexp_replace cuts the text (from each
# offset) into pieces of n characters; every piece, the short last one
# included, is a substring.  C-level functions only, yet ~5 ms for an
# article, and array_to_tsvector as much again: see bench/search_pg.py.
_PIECES = " || ".join(
    f"string_to_array(regexp_replace(substr(t, {offset + 1}), '{'.' * n}', E'\\\\&\\x01', 'g'), E'\\x01')"
    for n in range(2, GRAM + 1) for offset in range(n))
# search_lexemes is PL/pgSQL so that the planner never inlines it, and costly
# so that it never evaluates it row by row where the index can answer.
_FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION search_grams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT array_remove(string_to_array(t, NULL) || {_PIECES}, '')
$$;
CREATE OR REPLACE FUNCTION search_lexemes(title text, body text, media text, source text, column_name text,
                                          tags text) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE COST 100000 AS $$
BEGIN
    RETURN array_to_tsvector(
        search_grams(title || E'\\x02' || body || E'\\x02' || media)
        || string_to_array(E'\\x03' || array_to_string(search_grams(source), E'\\x01\\x03'), E'\\x01')
        || string_to_array(E'\\x04' || array_to_string(search_grams(column_name), E'\\x01\\x04'), E'\\x01')
        || string_to_array(tags, ' '));
END
$$;
"""
_LEXEMES = "search_lexemes(title, body, media, source, column_name, tags)"
_TABLES = """
CREATE TABLE IF NOT EXISTS search_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS search_docs (
    version_id  bigint PRIMARY KEY,
    article_id  bigint NOT NULL,
    day         integer NOT NULL,          -- archive.search.dates.day_of(published): 0 without a date
    title       text NOT NULL,             -- archive.search.text.plain of each field
    body        text NOT NULL,
    media       text NOT NULL,
    source      text NOT NULL,
    column_name text NOT NULL,
    tags        text NOT NULL              -- state tags, space-separated (see the module's docstring)
);
ALTER TABLE search_docs ALTER COLUMN body SET STORAGE EXTENDED;
CREATE INDEX IF NOT EXISTS search_docs_day ON search_docs (day, version_id);
CREATE INDEX IF NOT EXISTS search_docs_article ON search_docs (article_id);
"""
_GIN = f"CREATE INDEX IF NOT EXISTS search_docs_lexemes ON search_docs USING gin ({_LEXEMES})"
# ANALYZE would compute the lexemes of 30,000 rows again for statistics the plans do not need.
_NO_STATISTICS = "ALTER INDEX search_docs_lexemes ALTER COLUMN 1 SET STATISTICS 0"
_COLUMNS = ("version_id", "article_id", "day", "title", "body", "media", "source", "column_name", "tags")


@dataclass(frozen=True)
class Filters:
    """What `archive.search.search` filters on, besides the query.

    `since`/`until`: published dates (inclusive, whole days).  `source` and
    `column`: the field contains these words in order (query-term rules).
    `site`, `section`: equal to.  `has_images`: with (True) or without
    (False) images.  `flags`: any of these integrity flags ("any": any flag).
    By default only current versions of live articles.
    """

    since: str | date | None = None
    until: str | date | None = None
    source: str | None = None
    column: str | None = None
    site: str | None = None
    section: str | None = None
    has_images: bool | None = None
    flags: Sequence[str] | None = None
    all_versions: bool = False
    include_withdrawn: bool = False


# -- writing -------------------------------------------------------------------------------------


def create(conn) -> None:
    """Create the functions, tables and indexes where missing (does not commit)."""
    conn.execute(_FUNCTIONS)
    conn.execute(_TABLES)
    conn.execute(_GIN)
    conn.execute(_NO_STATISTICS)
    conn.execute("INSERT INTO search_meta (key, value) VALUES ('layout', %s) ON CONFLICT (key) DO NOTHING",
                 (LAYOUT,))


def drop(conn) -> None:
    """Remove the index, its tables and functions (does not commit)."""
    conn.execute("DROP TABLE IF EXISTS search_docs, search_meta")
    conn.execute("DROP FUNCTION IF EXISTS search_lexemes(text, text, text, text, text, text)")
    conn.execute("DROP FUNCTION IF EXISTS search_grams(text)")


def _json_list(value: Any) -> list:
    if isinstance(value, str):
        try:
            value = json.loads(value or "[]")
        except ValueError:
            return []
    return list(value) if isinstance(value, (list, tuple)) else []


def tag(word: str) -> str:
    """A state tag as the index stores it (no spaces inside)."""
    return TAG + "".join(word.split())


def document(row: dict[str, Any]) -> tuple:
    """One index row (in `_COLUMNS` order) from a version dict.

    Keys: version_id, article_id, title, body_text, images and attachments
    (JSON text or lists; or `media`, the text itself), source, column_name,
    site, section, published, flags (JSON text or list), has_images (default:
    any images), current and live (default True).
    """
    images = _json_list(row.get("images"))
    media = row["media"] if "media" in row else media_text(json.dumps(images), json.dumps(
        _json_list(row.get("attachments"))))
    flags = sorted({str(flag) for flag in _json_list(row.get("flags"))})
    words = []
    if not row.get("current", True):
        words.append("old")
    if not row.get("live", True):
        words.append("gone")
    if row.get("has_images", bool(images)):
        words.append("img")
    if flags:
        words.append("anyflag")
        words.extend("f" + flag for flag in flags)
    for key in ("site", "section"):
        if row.get(key):
            words.append(f"{key}:{row[key]}")
    return (int(row["version_id"]), int(row["article_id"]), day_of(row.get("published")), plain(row.get("title")),
            plain(row.get("body_text")), plain(media), plain(row.get("source")), plain(row.get("column_name")),
            " ".join(tag(word) for word in words))


def index_versions(conn, rows: Iterable[dict[str, Any]]) -> int:
    """Add these versions to the index, replacing any indexed before (does not commit)."""
    docs = [document(row) for row in rows]
    if docs:
        updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in _COLUMNS[1:])
        with conn.cursor() as cur:
            cur.executemany(f"INSERT INTO search_docs ({', '.join(_COLUMNS)}) VALUES ({', '.join(['%s'] * 9)})"
                            f" ON CONFLICT (version_id) DO UPDATE SET {updates}", docs)
    return len(docs)


def set_state(conn, version_id: int, *, current: bool | None = None, live: bool | None = None) -> bool:
    """Change a version's current/live state in the index; False when it is not indexed."""
    row = conn.execute("SELECT tags FROM search_docs WHERE version_id = %s", (version_id,)).fetchone()
    if row is None:
        return False
    words = set(row[0].split())
    for name, value in (("old", None if current is None else not current), ("gone", None if live is None else not live)):
        if value is not None:
            (words.add if value else words.discard)(tag(name))
    conn.execute("UPDATE search_docs SET tags = %s WHERE version_id = %s", (" ".join(sorted(words)), version_id))
    return True


def unindex(conn, version_ids: Iterable[int]) -> int:
    """Remove these versions from the index (does not commit); returns how many were there."""
    ids = [int(vid) for vid in version_ids]
    if not ids:
        return 0
    return conn.execute("DELETE FROM search_docs WHERE version_id = ANY(%s)", (ids,)).rowcount


def load(conn, rows: Iterable[dict[str, Any]], *, rebuild: bool = False) -> int:
    """Bulk-add versions with COPY (new version ids only); commits.

    With `rebuild`, the index is emptied first and its GIN index dropped
    while rows are copied and built once at the end (several times faster
    than keeping it up to date row by row).
    """
    if rebuild:
        drop(conn)
        conn.execute(_FUNCTIONS)
        conn.execute(_TABLES)
        conn.execute("INSERT INTO search_meta (key, value) VALUES ('layout', %s)", (LAYOUT,))
    count = 0
    with conn.cursor() as cur, cur.copy(f"COPY search_docs ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(document(row))
            count += 1
    conn.commit()
    if rebuild:
        build_index(conn)
    return count


def build_index(conn) -> None:
    """Create the GIN index (if missing), then ANALYZE and VACUUM (commits).

    VACUUM marks pages all-visible: counts then come from the index alone.
    """
    conn.execute(_GIN)
    conn.execute(_NO_STATISTICS)
    conn.commit()
    autocommit = conn.autocommit
    conn.autocommit = True
    try:
        conn.execute("VACUUM ANALYZE search_docs")
    finally:
        conn.autocommit = autocommit


def size(conn) -> dict[str, int]:
    """Bytes on disk: the GIN index, the other indexes, the table (with its TOAST)."""
    row = conn.execute("""SELECT pg_relation_size('search_docs_lexemes'),
        pg_relation_size('search_docs_day') + pg_relation_size('search_docs_article')
            + pg_relation_size('search_docs_pkey'),
        pg_table_size('search_docs')""").fetchone()
    return {"gin": row[0], "btree": row[1], "table": row[2]}


# -- searching -----------------------------------------------------------------------------------


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def _covering(text: str) -> list[str]:
    """GRAM-character substrings of `text` that cover it: at 0, GRAM, 2*GRAM..., and the last one."""
    starts = list(range(0, len(text) - GRAM + 1, GRAM))
    if starts[-1] != len(text) - GRAM:
        starts.append(len(text) - GRAM)
    return list(dict.fromkeys(text[start:start + GRAM] for start in starts))


def _lexemes(text: str, mark: str = "") -> str:
    """A tsquery that every row containing `text` (in the field `mark` stands for) matches."""
    if len(text) <= GRAM:
        return _quote(mark + text)
    return "(" + " & ".join(_quote(mark + gram) for gram in _covering(text)) + ")"


def _contains(text: str, fields: Sequence[str], params: list) -> str:
    """SQL true when one of `fields` contains `text` (params appended)."""
    params.extend([text] * len(fields))
    return "(" + " OR ".join(f"strpos({field}, %s) > 0" for field in fields) + ")"


_TEXT = ("title", "body", "media")


class _Plan:
    """The WHERE clause of a query: a tsquery for the GIN, and checks of the longer terms."""

    def __init__(self, query: Query, filters: Filters) -> None:
        self.params: list = []
        tsquery = [" | ".join(_lexemes(term.plain) for term in group) for group in query.groups]
        checks = []
        for group in query.groups:
            if any(len(term.plain) > GRAM for term in group):
                checks.append("(" + " OR ".join(_contains(term.plain, _TEXT, self.params) for term in group) + ")")
        for term in query.excluded:
            if len(term.plain) > GRAM:
                checks.append("NOT " + _contains(term.plain, _TEXT, self.params))
            else:
                tsquery.append("!" + _quote(term.plain))
        for name, value, mark, field in (("source", filters.source, SOURCE, "source"),
                                         ("column", filters.column, COLUMN, "column_name")):
            if value:
                term = Term.parse(value)
                if term is None:
                    raise QueryError(f"{name}: {value!r} has no letters or digits")
                tsquery.append(_lexemes(term.plain, mark))
                if len(term.plain) > GRAM:
                    checks.append(_contains(term.plain, (field,), self.params))
        for name in ("site", "section"):
            if getattr(filters, name):
                tsquery.append(_quote(tag(f"{name}:{getattr(filters, name)}")))
        if filters.has_images:
            tsquery.append(_quote(tag("img")))
        elif filters.has_images is False:
            tsquery.append("!" + _quote(tag("img")))
        if filters.flags:
            words = sorted({"anyflag" if flag == "any" else "f" + flag for flag in filters.flags})
            tsquery.append("(" + " | ".join(_quote(tag(word)) for word in words) + ")")
        if not filters.all_versions:
            tsquery.append("!" + _quote(tag("old")))
        if not filters.include_withdrawn:
            tsquery.append("!" + _quote(tag("gone")))
        self.tsquery = " & ".join(f"({part})" for part in tsquery)
        self.low, self.high = _days(filters.since, filters.until)
        self.checks = checks

    def where(self, extra: str = "") -> tuple[str, list]:
        sql = f"{_LEXEMES} @@ %s::tsquery AND day BETWEEN %s AND %s"
        params = [self.tsquery, self.low, self.high]
        if self.checks:
            sql += " AND " + " AND ".join(self.checks)
            params += self.params
        return sql + extra, params


def _days(since, until) -> tuple[int, int]:
    first, last = to_day(since, "since"), to_day(until, "until")
    low = day_of(first) if first is not None else 0
    high = day_of(last) if last is not None else 2**31 - 1
    if last is not None:
        low = max(low, 1)  # undated versions match no date filter
    return low, high


def count(conn, plan: _Plan) -> int:
    where, params = plan.where()
    return conn.execute(f"SELECT count(*) FROM search_docs WHERE {where}", params).fetchone()[0]


def _newest(conn, plan: _Plan, count_: int, offset: int) -> list[tuple[int, int]]:
    """(version_id, day) of matches `offset`..`offset+count_`, newest first."""
    where, params = plan.where()
    # Materialized, so that the planner finds the matches in the GIN index
    # rather than walk the day index and compute every row's lexemes.
    return conn.execute(f"WITH m AS MATERIALIZED (SELECT version_id, day FROM search_docs WHERE {where})"
                        " SELECT version_id, day FROM m ORDER BY day DESC, version_id DESC LIMIT %s OFFSET %s",
                        [*params, count_, offset]).fetchall()


def _scores(conn, query: Query, version_ids: list[int], total_docs: int, frequencies: list[int]) -> dict[int, float]:
    """bm25-like scores of these versions for the query's wanted terms (title 10, media 2, body 1).

    Term frequencies are counted here from the stored text: str.count takes
    microseconds where replace() in SQL took ~50 per field.
    """
    rows = conn.execute("SELECT version_id, title, body, media FROM search_docs WHERE version_id = ANY(%s)",
                        (version_ids,)).fetchall()
    if not rows:
        return {}
    average = max(sum(len(row[2]) for row in rows) / len(rows), 1.0)
    idfs = [math.log(1 + (total_docs - df + 0.5) / (df + 0.5)) for df in frequencies]
    scores = {}
    for version_id, title, body, media in rows:
        norm = K1 * (1 - B + B * len(body) / average)
        score = 0.0
        for term, idf in zip(query.terms, idfs):
            tf = (WEIGHTS["title"] * title.count(term.plain) + WEIGHTS["body"] * body.count(term.plain)
                  + WEIGHTS["media"] * media.count(term.plain))
            score += idf * tf * (K1 + 1) / (tf + norm)
        scores[version_id] = score
    return scores


def search(conn, query: Query, filters: Filters | None = None, order: str = "relevance", limit: int | None = 20,
           offset: int = 0, *, rank_pool: int | None = RANK_POOL) -> tuple[int, list[tuple[int, float | None]]]:
    """(number of matches, [(version_id, score)]) for one page, as `archive.search.search` pages.

    order "date": newest published first (score None); "relevance": the
    newest `rank_pool` matches by score (None: all), then the rest newest
    first.  Raises QueryError for a bad filter or order.
    """
    filters = filters or Filters()
    if order not in ("relevance", "date"):
        raise QueryError(f"order must be relevance or date, not {order!r}")
    if (limit is not None and limit < 0) or offset < 0:
        raise QueryError("limit and offset cannot be negative")
    plan = _Plan(query, filters)
    total = count(conn, plan)
    wanted = total - offset if limit is None else min(limit, total - offset)
    if wanted <= 0:
        return total, []
    if order == "date":
        return total, [(vid, None) for vid, _ in _newest(conn, plan, wanted, offset)]
    ranked = total if rank_pool is None else min(total, rank_pool)
    page: list[tuple[int, float | None]] = []
    if offset < ranked:
        pool = [vid for vid, _ in _newest(conn, plan, ranked, 0)]
        docs = _total_docs(conn)
        frequencies = [_frequency(conn, term, total, len(query.terms)) for term in query.terms]
        scores = _scores(conn, query, pool, docs, frequencies)
        order_ = {vid: index for index, vid in enumerate(pool)}
        pool.sort(key=lambda vid: (-scores.get(vid, 0.0), order_[vid]))
        page = [(vid, scores.get(vid)) for vid in pool[offset:offset + wanted]]
    if len(page) < wanted:
        start = max(ranked, offset)
        page += [(vid, None) for vid, _ in _newest(conn, plan, wanted - len(page), start)]
    return total, page


def _total_docs(conn) -> int:
    row = conn.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = 'search_docs'::regclass").fetchone()
    return max(int(row[0]), 1) if row and row[0] and row[0] > 0 else max(
        conn.execute("SELECT count(*) FROM search_docs").fetchone()[0], 1)


def _frequency(conn, term: Term, total: int, terms: int) -> int:
    """How many versions hold `term` (for its idf): the match count itself for a one-term query."""
    if terms == 1:
        return total
    return conn.execute(f"SELECT count(*) FROM search_docs WHERE {_LEXEMES} @@ %s::tsquery",
                        (_lexemes(term.plain),)).fetchone()[0]
