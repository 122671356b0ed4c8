"""Chinese search on stock PostgreSQL 15: character and pair codes, salted by week, in one GIN.

    create(conn)                                # tables and indexes (idempotent)
    index_versions(conn, rows)                  # add or replace versions (dicts, see `document`)
    load(conn, rows, versions=N)                # every version, in bulk with COPY, for a rebuild
    unindex(conn, version_ids)
    matches = Matches(conn, parse_query("化工 -园区"), Filters(since="2021-01-01"))
    matches.newest(20), matches.count()          # what `archive.search.paging` asks

Semantics are those of the SQLite index (`archive.catalogue.fts`): a term is
found where its folded runs, joined by one space (`archive.search.text.plain`),
are a substring of the title, the body or the media text; the filters are
the same tokens (`meta_token`, `place_word`); and every match has the
SQLite index's row id as its date key (`docid`: published day, then version
id), so both list matches in the same order.

The index is two tables, one row per version in each: `search_docs`, narrow
(the date key, ids, filter fields, tags and codes: about a hundred bytes in
the row, the codes moved out of it), which every search reads, and
`search_texts`, the plain text, read only where a term's codes do not prove
it and for the ranking (with the text in one row, every candidate's check
of its tags or of an excluded word read a page of text: 化工 OR 园区 -招商
read 13,423 heap blocks at 200,000 articles):
- a *code* is a UTF-16 unit of the text, a pair of adjacent units within a
  run, an ASCII trigram, or a filter token (`text_codes`, `tag_code`), computed in Python
  (computing n-grams in SQL took 30 ms an article);
- `grams int8[]` holds each code *salted with the week* the version was
  published in (`week << 32 | code`), and a GIN indexes them.  A query walks
  the weeks newest first in one statement (`generate_series` of weeks, each
  joined LATERAL to a scan of the GIN for its codes salted with that week)
  that stops once it has the matches it needs: a word in most articles costs
  the GIN lookups and heap rows of a week or two, a rare one a lookup per
  week and code; never the walk of a posting list over the whole archive,
  which is what a GIN without dates costs (a bitmap of every match, then a
  sort by date), nor the rows of a wide window past the ones needed;
- a term of one character, one pair or three ASCII characters is found
  exactly by its code; a longer one is narrowed to the versions holding all
  its pairs and ASCII trigrams, then checked with `strpos` on its plain text
  (`search_texts`, one lookup by key a candidate);
- a source or column filter is narrowed by the codes of its words, hashed
  among the tags (`field_codes`), then checked with `strpos` on that field.
(Tried first: the table partitioned by month, each partition with its own
GIN: a query over 135 partitions took 130 ms to plan.)
Relevance and paging are `archive.search.rank` and `archive.search.paging`.

Every SQL statement against these tables is in this module.
"""

from __future__ import annotations

import itertools
import json
import re
import struct
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from psycopg import postgres
from psycopg.adapt import Dumper
from psycopg.pq import Format

from archive.catalogue.fts.dates import SLOTS, allocate, row_range
from archive.catalogue.hits import Filters
from archive.search.errors import QueryError
from archive.search.query import NOTHING, Query, Term
from archive.search.rank import RankDoc
from archive.search.text import ASCII_STRETCH, media_text, meta_token, place_tokens, place_word, plain

LAYOUT = "6"  # 5: ASCII trigram codes, source and column codes among the tags; 6: the text in its own table
DAYS_PER_SALT = 7  # a week
_TAG_BASE, _TAG_SPAN = 0x10000, 0xF0000  # tag codes: above every UTF-16 unit, below every trigram code
_TRIGRAMS_FROM = _TAG_BASE + _TAG_SPAN  # ASCII trigram codes: 94^3 of them, below every pair code
_PAIRS_FROM = 0x200000
_NAME, _TEXTS = "search_docs", "search_texts"
_COLUMNS = ("docid", "version_id", "article_id", "title", "body", "media", "source", "column_name", "tags", "grams")
_DOC_COLUMNS = ("docid", "version_id", "article_id", "source", "column_name", "tags", "grams")
_TEXT_COLUMNS = ("docid", "title", "body", "media")
_DOC_AT = [_COLUMNS.index(name) for name in _DOC_COLUMNS]  # where `document`'s tuple holds each
_TEXT_AT = [_COLUMNS.index(name) for name in _TEXT_COLUMNS]


def _split(doc: tuple) -> tuple[tuple, tuple]:
    """A `document` as its `search_docs` row (`_DOC_COLUMNS`, grams last) and its `search_texts` row."""
    return tuple(doc[at] for at in _DOC_AT), tuple(doc[at] for at in _TEXT_AT)

_TABLES = f"""
CREATE TABLE IF NOT EXISTS search_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS {_NAME} (
    docid       bigint PRIMARY KEY,        -- archive.catalogue.fts.dates: day * 2^20 + slot
    version_id  bigint NOT NULL UNIQUE,
    article_id  bigint NOT NULL,
    source      text NOT NULL,             -- archive.search.text.plain of each field
    column_name text NOT NULL,
    tags        text NOT NULL,             -- ' ' + filter tokens + ' ' (archive.search.text.meta_token...)
    grams       int8[] NOT NULL            -- codes salted with the week (_salted)
) WITH (toast_tuple_target = 128);
-- The codes (read only to build the GIN) are compressed and moved out of the row, however few:
-- a search reads a row of each candidate, and many fit in a page.
CREATE TABLE IF NOT EXISTS {_TEXTS} (
    docid       bigint PRIMARY KEY,        -- search_docs.docid
    title       text NOT NULL,
    body        text NOT NULL,
    media       text NOT NULL
) WITH (toast_tuple_target = 8160);
-- The text stays in the row, for the checks and the ranking to read.
ALTER TABLE {_TEXTS} ALTER COLUMN body SET STORAGE MAIN;
ALTER TABLE {_TEXTS} ALTER COLUMN title SET STORAGE MAIN;
ALTER TABLE {_TEXTS} ALTER COLUMN media SET STORAGE MAIN;
-- Searches scan the GIN as bitmaps whatever the codes' statistics say: ANALYZE skips them (most of its time).
ALTER TABLE {_NAME} ALTER COLUMN grams SET STATISTICS 0;
CREATE INDEX IF NOT EXISTS search_docs_article ON {_NAME} (article_id);
"""
BUILD_MEMORY = "512MB"  # maintenance_work_mem while the GIN is built (the server's default is 64MB)
_GIN = f"CREATE INDEX IF NOT EXISTS search_docs_grams ON {_NAME} USING gin (grams) WITH (fastupdate = off)"


# -- codes ---------------------------------------------------------------------------------------


_CONTROLS = re.compile("[\x00-\x1f]")


def _run_codes(run: str) -> list[int]:
    """Codes of a run's UTF-16 code units and of its pairs of adjacent units (C-level unpacking)."""
    data = run.encode("utf-16-be", "surrogatepass")
    count = len(data) // 2
    codes = list(struct.unpack(f">{count}H", data))
    if count > 1:
        pairs = struct.unpack_from(f">{count // 2}i", data, 0) + struct.unpack_from(f">{(count - 1) // 2}i", data, 2)
        if _CONTROLS.search(run):  # a pair led by a control would read as a unit or tag code
            pairs = tuple(code for code in pairs if not 0 <= code < _PAIRS_FROM)
        codes.extend(pairs)
    return codes




def _trigrams(run: str) -> set[int]:
    """Codes of the ASCII trigrams of a run (in `_TRIGRAMS_FROM` up): digits and Latin letters are few
    (a pair of them is in most articles), so a word such as img_5158 or 2021 needs longer grams."""
    codes = set()
    for match in ASCII_STRETCH.finditer(run):
        text = match.group().encode("ascii")
        codes.update(_TRIGRAMS_FROM + ((a - 33) * 94 + b - 33) * 94 + c - 33
                     for a, b, c in zip(text, text[1:], text[2:]))
    return codes


def tag_code(token: str) -> int:
    """A filter token's code (a hash: the `tags` column is checked too, so a clash costs time, not truth)."""
    return _TAG_BASE + zlib.crc32(token.encode()) % _TAG_SPAN


_FIELD_MARKS = {"source": "\x01s", "column_name": "\x01c"}  # no filter token starts with \x01


def field_codes(field: str, codes: Iterable[int]) -> set[int]:
    """Tag codes of a filter field's text codes (`source`, `column_name`): its words in the GIN."""
    mark = _FIELD_MARKS[field]
    return {tag_code(f"{mark}{code}") for code in codes}


@lru_cache(maxsize=4096)
def _field_labels(field: str, text: str) -> frozenset[int]:
    """`field_codes` of a field's plain text: a few hundred sources and columns, each in many versions."""
    return frozenset(field_codes(field, text_codes(text)))


def code_array(text: str) -> np.ndarray:
    """`text_codes` as unsigned 32-bit numbers (`code & 0xFFFFFFFF`), repeats left in: whole arrays at a time.

    The runs are the text's pieces between spaces, so a pair is two adjacent
    units neither of which is a space; a pair led by a control (below 0x20)
    would read as a unit, tag or trigram code and is not one; a trigram is
    three adjacent printable ASCII units.
    """
    units = np.frombuffer(text.encode("utf-16-be", "surrogatepass"), ">u2").astype(np.uint32)
    first, second = units[:-1], units[1:]
    parts = [units[units != 0x20], ((first << 16) | second)[(first > 0x20) & (second != 0x20)]]
    if len(units) > 2:
        printable = (units > 0x20) & (units < 0x7F)  # [!-~]
        at = printable[:-2] & printable[1:-1] & printable[2:]
        if at.any():
            a, b, c = (units[i:len(units) - 2 + i][at] for i in range(3))
            parts.append(_TRIGRAMS_FROM + ((a - 33) * 94 + b - 33) * 94 + c - 33)
    return np.concatenate(parts)


def text_codes(text: str) -> set[int]:
    """Codes of plain text: each UTF-16 unit, each pair of adjacent units within a run, each ASCII trigram.

    A unit is its value (below 0x10000), a pair `first << 16 | second` read
    as a signed 32-bit number (0x200000 and up, or negative: its first unit
    is 0x20 or more), and tags (`tag_code`) and ASCII trigrams (`_trigrams`)
    sit between.
    """
    return set(code_array(text).view(np.int32).tolist())


def term_codes(term: Term) -> tuple[list[int], bool]:
    """Codes every version holding `term` has, and whether they prove it (else the text is checked)."""
    runs = [run.encode("utf-16-be", "surrogatepass") for run in term.plain.split(" ")]
    if len(runs) == 1 and len(runs[0]) == 2:
        return [struct.unpack(">H", runs[0])[0]], True
    if len(runs) == 1 and len(runs[0]) == 4:
        code = struct.unpack(">i", runs[0])[0]
        if not 0 <= code < _PAIRS_FROM:
            return [code], True
    trigrams = {code for run in term.plain.split(" ") for code in _trigrams(run)}
    if len(runs) == 1 and len(runs[0]) == 6 and trigrams:  # one ASCII trigram
        return sorted(trigrams), True
    # A pair inside one of the term's ASCII trigrams is in every version holding that trigram.
    implied = {_run_codes(ascii[i:i + 2])[-1] for run in term.plain.split(" ")
               for ascii in ASCII_STRETCH.findall(run) for i in range(len(ascii) - 1)}
    pairs = {code for run in term.plain.split(" ") for code in _run_codes(run) if not 0 <= code < _PAIRS_FROM}
    if pairs or trigrams:
        return sorted((pairs - implied) | trigrams), False
    return sorted({code for run in term.plain.split(" ") for code in _run_codes(run)}), False


def week_of(docid: int) -> int:
    """The salt of a date key: weeks since 1970 (0 for undated versions)."""
    return docid // SLOTS // DAYS_PER_SALT


def _salted(codes: Iterable[int], week: int) -> list[int]:
    base = week << 32
    return [base | (code & 0xFFFFFFFF) for code in codes]


def salted_grams(codes: np.ndarray, week: int) -> np.ndarray:
    """`_salted` of unsigned codes (`code_array`) as a sorted int64 array without repeats: a row's `grams`."""
    codes = np.sort(codes)  # np.unique (numpy 2) hashes first: ten times slower on a row's few thousand codes
    first = np.ones(len(codes), bool)
    first[1:] = codes[1:] != codes[:-1]
    codes = codes[first]
    return codes.astype(np.int64) | np.int64(week << 32)


# -- rows ----------------------------------------------------------------------------------------


def _json_list(value: Any) -> list:
    if isinstance(value, str):
        try:
            value = json.loads(value or "[]")
        except ValueError:
            return []
    return list(value) if isinstance(value, (list, tuple)) else []


def tags_of(row: dict[str, Any]) -> list[str]:
    """The filter tokens of a version, as the SQLite index's meta column holds them."""
    words = []
    if not row.get("current", True):
        words.append("old")
    if not row.get("live", True):
        words.append("gone")
    if _json_list(row.get("images")):
        words.append("img")
    flags = sorted({str(flag) for flag in _json_list(row.get("flags"))})
    if flags:
        words.append("anyflag")
        words.extend("f" + flag for flag in flags)
    tokens = [meta_token(word) for word in words]
    tokens.extend(meta_token(place_word(kind, row[column])) for kind, column in (("site", "site"), ("sect", "section"))
                  if row.get(column))
    return tokens


def document(row: dict[str, Any], docid: int) -> tuple:
    """One index row (in `_COLUMNS` order) from a version dict; its `grams` a numpy int64 array (`salted_grams`).

    Keys: version_id, article_id, title, body_text, images, attachments
    (JSON text or lists), source, column_name, site, section, published,
    flags (JSON text or list), current and live (default True).
    """
    title, body = plain(row.get("title")), plain(row.get("body_text"))
    media = plain(media_text(row.get("images"), row.get("attachments")))
    source, column = plain(row.get("source")), plain(row.get("column_name"))
    tags = tags_of(row)
    labels = {tag_code(tag) for tag in tags} | _field_labels("source", source) | _field_labels("column_name", column)
    # One pass over the three texts joined by a space: no pair or trigram spans a space, so the codes are
    # those of each text on its own (a third of the numpy calls).
    codes = np.concatenate([code_array(f"{title} {body} {media}"), np.fromiter(labels, np.uint32, len(labels))])
    grams = salted_grams(codes, week_of(docid))
    return (docid, int(row["version_id"]), int(row["article_id"]), title, body, media, source, column,
            " " + " ".join(tags) + " ", grams)


# -- writing -------------------------------------------------------------------------------------


# The server compresses each row's codes as it stores them: with pglz that was most of a COPY's time
# (20,000 rows: 17-21 s; lz4 5.8 s, its table 10% larger).  lz4 where the server was built with it.
_LZ4 = "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"


def _create_tables(conn) -> None:
    conn.execute(_TABLES)
    if conn.execute(_LZ4).fetchone():
        conn.execute(f"ALTER TABLE {_NAME} ALTER COLUMN grams SET COMPRESSION lz4")


def create(conn) -> None:
    """Create the tables and indexes where missing (does not commit)."""
    _create_tables(conn)
    conn.execute(_GIN)
    conn.execute("INSERT INTO search_meta (key, value) VALUES ('layout', %s) ON CONFLICT (key) DO NOTHING",
                 (LAYOUT,))


def drop(conn) -> None:
    """Remove the index and its tables (does not commit)."""
    conn.execute(f"DROP TABLE IF EXISTS {_NAME}, {_TEXTS}, search_meta")


def _taken(conn, claimed: set[int]):
    def taken(docid: int) -> bool:
        return docid in claimed or conn.execute(f"SELECT 1 FROM {_NAME} WHERE docid = %s", (docid,)).fetchone() is not None
    return taken


def index_versions(conn, rows: Iterable[dict[str, Any]]) -> int:
    """Add these versions to the index, replacing any indexed before (does not commit)."""
    rows = sorted(rows, key=lambda row: int(row["version_id"]))
    if not rows:
        return 0
    unindex(conn, [row["version_id"] for row in rows])
    claimed: set[int] = set()
    taken = _taken(conn, claimed)
    docs, texts = [], []
    for row in rows:
        docid = allocate(row.get("published"), int(row["version_id"]), taken)
        claimed.add(docid)
        codes, text = _split(document(row, docid))
        docs.append((*codes[:-1], codes[-1].tolist()))
        texts.append(text)
    with conn.cursor() as cur:
        cur.executemany(f"INSERT INTO {_NAME} ({', '.join(_DOC_COLUMNS)}) "
                        f"VALUES ({', '.join(['%s'] * (len(_DOC_COLUMNS) - 1))}, %s::int8[])", docs)
        cur.executemany(f"INSERT INTO {_TEXTS} ({', '.join(_TEXT_COLUMNS)}) VALUES (%s, %s, %s, %s)", texts)
    return len(docs)


def unindex(conn, version_ids: Iterable[int]) -> int:
    """Remove these versions from the index (does not commit); returns how many were there."""
    ids = [int(vid) for vid in version_ids]
    if not ids:
        return 0
    gone = [row[0] for row in conn.execute(f"DELETE FROM {_NAME} WHERE version_id = ANY(%s) RETURNING docid", (ids,))]
    if gone:
        conn.execute(f"DELETE FROM {_TEXTS} WHERE docid = ANY(%s)", (gone,))
    return len(gone)


def indexed_versions(conn, article_ids: Sequence[int]) -> set[int]:
    """Version ids indexed for these articles."""
    return {row[0] for row in conn.execute(f"SELECT version_id FROM {_NAME} WHERE article_id = ANY(%s)",
                                           (list(article_ids),))}


_DOC_TYPES = ("int8", "int8", "int8", "text", "text", "text", "int8[]")  # of `_DOC_COLUMNS`
_TEXT_TYPES = ("int8", "text", "text", "text")  # of `_TEXT_COLUMNS`
_ELEMENT = np.dtype([("size", ">i4"), ("value", ">i8")])  # an int8[] element in the binary format: length, value


class _GramsDumper(Dumper):
    """A row's `grams` (`salted_grams`) in PostgreSQL's binary int8[] format, written by numpy at once
    (psycopg's own list dumper makes a Python call per element)."""

    format = Format.BINARY
    oid = postgres.types["int8"].array_oid

    def dump(self, grams: np.ndarray) -> bytes:
        if not len(grams):
            return struct.pack(">iiI", 0, 0, postgres.types["int8"].oid)
        elements = np.empty(len(grams), _ELEMENT)
        elements["size"], elements["value"] = 8, grams
        # dimensions, has nulls, element type; the dimension's length and lower bound
        return struct.pack(">iiIii", 1, 0, postgres.types["int8"].oid, len(grams), 1) + elements.tobytes()


_COPY_BATCH = 2_000  # versions a pair of COPYs carries (their texts wait in memory for the second)


def load(conn, rows: Iterable[dict[str, Any]], copied: Callable[[], None] | None = None) -> tuple[int, int]:
    """Rebuild the index from every version (in version id order) with COPY; commits.  `copied` is called
    once the rows are in, before the GIN is built.

    Each batch of versions is two COPYs in the same transaction: their codes
    into `search_docs`, then their texts into `search_texts` (one COPY at a
    time per connection; a batch's texts are held in memory meanwhile, never
    written to a temporary file).  The GIN index is built once the rows are
    in, several times faster than keeping it up to date row by row.  Returns
    (versions, text bytes indexed).  The build is maintenance: the role's
    `statement_timeout`, if any, is lifted for this connection.
    """
    conn.execute("SET statement_timeout = 0")
    drop(conn)
    _create_tables(conn)  # in this transaction, so COPY may write its rows frozen
    used: set[int] = set()
    count = size = 0
    rows = iter(rows)
    with conn.cursor() as cur:
        cur.adapters.register_dumper(None, _GramsDumper)  # only where asked for by type: the COPY below
        while batch := list(itertools.islice(rows, _COPY_BATCH)):
            texts = []
            with cur.copy(f"COPY {_NAME} ({', '.join(_DOC_COLUMNS)}) FROM STDIN (FORMAT BINARY, FREEZE)") as copy:
                copy.set_types(_DOC_TYPES)
                for row in batch:
                    docid = allocate(row.get("published"), int(row["version_id"]), used.__contains__)
                    used.add(docid)
                    codes, text = _split(document(row, docid))
                    copy.write_row(codes)
                    texts.append(text)
                    size += sum(len(text.encode()) for text in (row.get("title") or "", row.get("body_text") or "",
                                                                media_text(row.get("images"), row.get("attachments"))))
            with cur.copy(f"COPY {_TEXTS} ({', '.join(_TEXT_COLUMNS)}) FROM STDIN (FORMAT BINARY, FREEZE)") as copy:
                copy.set_types(_TEXT_TYPES)
                for text in texts:
                    copy.write_row(text)
            count += len(batch)
    conn.execute("INSERT INTO search_meta (key, value) VALUES ('text_bytes', %s)", (str(size),))
    conn.commit()
    if copied is not None:
        copied()
    # For this transaction only: the GIN build flushes its entries less often (2.9 -> 2.0 s at 2,000 articles).
    conn.execute(f"SET LOCAL maintenance_work_mem = '{BUILD_MEMORY}'")
    conn.execute(_GIN)
    # Ready only with its GIN: a build cut short in between is built again, not searched by a full scan.
    conn.execute("INSERT INTO search_meta (key, value) VALUES ('layout', %s)", (LAYOUT,))
    conn.commit()
    # Statistics for the planner.  No VACUUM: COPY FREEZE wrote the pages frozen and all-visible, and a
    # VACUUM would read the whole new GIN for nothing.
    conn.execute(f"ANALYZE {_NAME}")
    conn.commit()
    return count, size


def size(conn) -> dict[str, int]:
    """Bytes on disk of the index (table, TOAST, indexes) and of the text it indexed."""
    total = conn.execute("SELECT coalesce(pg_total_relation_size(to_regclass(%s)), 0)"
                         " + coalesce(pg_total_relation_size(to_regclass(%s)), 0)", (_NAME, _TEXTS)).fetchone()[0]
    row = conn.execute("SELECT value FROM search_meta WHERE key = 'text_bytes'").fetchone()
    return {"bytes": int(total), "text_bytes": int(row[0]) if row else 0}


# -- searching -----------------------------------------------------------------------------------


_TEXT = ("title", "body", "media")
_SALT = "{salted}"  # in `Matches.where`: the codes of one parameter salted with the weeks searched


@dataclass(frozen=True)
class _Salt:
    """A parameter resolved per window of weeks: these codes salted with each week (any of them matches)."""

    codes: tuple[int, ...]

    def resolve(self, first: int, last: int) -> list[int]:
        return [key for week in range(first, last + 1) for key in _salted(self.codes, week)]

    def unsalted(self) -> list[int]:
        return _salted(self.codes, 0)


def _contains(text: str, fields: Sequence[str], params: list) -> str:
    params.extend([text] * len(fields))
    return "(" + " OR ".join(f"strpos({field}, %s) > 0" for field in fields) + ")"


def _in_text(text: str, params: list) -> str:
    """SQL true when a `search_docs` row's title, body or media holds `text`: its `search_texts` row, by key
    (a scalar subquery, run for each candidate left, never turned into a join reading the whole table)."""
    return f"(SELECT {_contains(text, _TEXT, params)} FROM {_TEXTS} t WHERE t.docid = {_NAME}.docid)"


def _has_all(codes: Iterable[int], params: list) -> str:
    """SQL true when a row holds every one of `codes` (in the window's weeks)."""
    codes = list(codes)
    params.extend(_Salt((code,)) for code in codes)
    return "(" + " AND ".join([f"grams && {_SALT}"] * len(codes)) + ")"


def _term(term: Term, params: list) -> str:
    codes, exact = term_codes(term)
    sql = _has_all(codes, params)
    return sql if exact else f"({sql} AND {_in_text(term.plain, params)})"


def _tag(token: str, params: list, *, present: bool) -> str:
    params.append(f" {token} ")
    return f"strpos(tags, %s) {'>' if present else '='} 0"


def restore_plans(conn) -> None:
    """Undo what `Matches` set for the rest of a transaction (index scans allowed again)."""
    conn.execute("SET LOCAL enable_seqscan = on; SET LOCAL enable_indexscan = on")  # one round trip


def queued(conn) -> dict[int, int]:
    """docid -> version id of the indexed versions of the articles waiting in `search_queue` to be indexed
    again (`archive.catalogue.postgres_index`'s): those the index may describe wrongly until then."""
    return dict(conn.execute(f"SELECT docid, version_id FROM {_NAME}"
                             " WHERE article_id IN (SELECT article_id FROM search_queue)").fetchall())


class Matches:
    """The matches of a query with its filters (`archive.search.paging.Matches`), newest weeks first; never
    the rows `without` (docids)."""

    def __init__(self, conn, query: Query, filters: Filters | None = None, without: Sequence[int] = ()) -> None:
        filters = filters or Filters()
        params: list = []
        where = []
        for group in query.groups:
            where.append("(" + " OR ".join(_term(term, params) for term in group) + ")")
        # Words excluded that their codes prove (one character, one pair, three ASCII characters) are left out
        # of `where`: the week-by-week walk adds a clause for them (`proved`), a window of weeks subtracts
        # them in Python (`_all_weeks`).
        self.excluded: list[list[int]] = []
        proved: list[str] = []
        proved_params: list = []
        for term in query.excluded:
            codes, exact = term_codes(term)
            if not exact:
                where.append("NOT " + _in_text(term.plain, params))
                continue
            self.excluded.append(codes)
            # The rows holding it among those the wanted words' codes name, from the GIN, their heap rows
            # read for the key alone.  `strpos` on the text of every candidate cost more, most when the word
            # is in most of them (化工 OR 园区 -招商: 312 of every 334 candidates hold 招商).  Over a window
            # of weeks this clause tested each such row's codes against arrays of every week's codes (the
            # planner's filter, not the GIN): 13 s for 化工 OR 园区 -招商 at 2,000 articles.
            named = " AND ".join("(" + " OR ".join(_has_all(term_codes(wanted)[0], proved_params)
                                                   for wanted in group) + ")" for group in query.groups)
            proved.append(f"docid NOT IN (SELECT docid FROM {_NAME} WHERE {named}"
                          f" AND {_has_all(codes, proved_params)})")
        for name, value, field in (("source", filters.source, "source"), ("column", filters.column, "column_name")):
            if value:
                term = Term.parse(value)
                if term is None:
                    raise QueryError(f"{name}: {value!r} {NOTHING}")
                # Its codes (hashed among the tags) in the GIN narrow the rows; the field's text proves it.
                codes = field_codes(field, term_codes(term)[0])
                where.append(f"({_has_all(sorted(codes), params)} AND {_contains(term.plain, (field,), params)})")
        wanted = [[meta_token("img")]] if filters.has_images else []
        wanted += [tokens for kind, value in (("site", filters.site), ("sect", filters.section))
                   if (tokens := place_tokens(kind, value))]
        if filters.flags:
            wanted.append(sorted({meta_token("anyflag" if flag == "any" else "f" + flag) for flag in filters.flags}))
        for tokens in wanted:  # each: any of these tokens
            params.append(_Salt(tuple(tag_code(token) for token in tokens)))
            where.append(f"grams && {_SALT} AND (" + " OR ".join(_tag(t, params, present=True) for t in tokens) + ")")
        hidden = [name for name, shown in (("old", filters.all_versions), ("gone", filters.include_withdrawn))
                  if not shown]
        if filters.has_images is False:
            hidden.append("img")
        where.extend(_tag(meta_token(name), params, present=False) for name in hidden)
        if without:
            params.append(sorted(without))
            where.append("docid <> ALL(%s::int8[])")
        # `+ 0`: the date bounds filter the GIN's rows; through the key's index they would read the codes
        # of every row in the range.
        dated = "docid + 0 BETWEEN %s AND %s"
        self.conn, self.where, self.params = conn, " AND ".join([*where, dated]), params
        self._walk_where, self._walk_params = " AND ".join([*where, *proved, dated]), params + proved_params
        self.low, self.high = row_range(filters.since, filters.until)
        self.versions: dict[int, int] = {}
        span = conn.execute(f"SELECT min(docid), max(docid) FROM {_NAME}").fetchone()
        # From here on, bitmap scans of the GIN (and of the key) only: the planner's guess of how many rows
        # a code matches is rough, and a scan in key order reads every row's text.
        conn.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off")
        self.weeks = None
        if span[0] is not None:
            first, last = week_of(max(span[0], self.low)), week_of(min(span[1], self.high))
            if first <= last:
                self.weeks = (first, last)

    def _window(self, first: int, last: int) -> tuple[str, list]:
        """The condition and parameters for the weeks first..last, all in one scan of the GIN."""
        params = [param.resolve(first, last) if isinstance(param, _Salt) else param for param in self.params]
        return self.where.replace(_SALT, "%s::int8[]"), params + [self.low, self.high]

    def _all_weeks(self, count: int | None) -> list[tuple[int, int]]:
        where, params = self._window(*self.weeks)
        limit = "" if count is None or self.excluded else f" LIMIT {int(count)}"
        found = self.conn.execute(f"SELECT docid, version_id FROM {_NAME} WHERE {where} ORDER BY docid DESC{limit}",
                                  params).fetchall()
        if self.excluded:
            gone = self._holding_excluded()
            found = [row for row in found if row[0] not in gone][:count]
        return found

    def _holding_excluded(self) -> set[int]:
        """The rows of the window holding any of the excluded words that their codes prove: one GIN scan each."""
        gone: set[int] = set()
        for codes in self.excluded:
            params: list = []
            where = _has_all(codes, params).replace(_SALT, "%s::int8[]")
            params = [param.resolve(*self.weeks) for param in params] + [self.low, self.high]
            gone.update(row[0] for row in self.conn.execute(
                f"SELECT docid FROM {_NAME} WHERE {where} AND docid + 0 BETWEEN %s AND %s", params))
        return gone

    def newest(self, count: int | None) -> list[int]:
        if self.weeks is None:
            return []
        first, last = self.weeks
        if count is None:
            found = self._all_weeks(None)
        else:
            # A week at a time, newest first, in one statement that stops at `count`: each week is one small
            # scan of the GIN and its rows (a window of weeks would read every row it holds, however many
            # more than `count`), and a rare word costs a lookup per week and code.
            where = self._walk_where.replace(_SALT, "ARRAY(SELECT (w.week << 32) | c FROM unnest(%s::int8[]) c)")
            params = [param.unsalted() if isinstance(param, _Salt) else param for param in self._walk_params]
            found = self.conn.execute(
                f"SELECT d.docid, d.version_id FROM generate_series(%s::int8, %s::int8, -1) AS w(week)"
                f" CROSS JOIN LATERAL (SELECT docid, version_id FROM {_NAME} WHERE {where}"
                f" ORDER BY docid DESC) d LIMIT %s", [last, first, *params, self.low, self.high, count]).fetchall()
            if any(newer[0] <= older[0] for newer, older in zip(found, found[1:])):
                found = self._all_weeks(count)  # a plan not in week order (never seen): the slower sure way
        self.versions.update(found)
        return [row[0] for row in found]

    def count(self) -> int:
        if self.weeks is None:
            return 0
        if self.excluded:
            return len(self._all_weeks(None))
        where, params = self._window(*self.weeks)
        return self.conn.execute(f"SELECT count(*) FROM {_NAME} WHERE {where}", params).fetchone()[0]

    def texts(self, keys: Sequence[int]) -> list[RankDoc]:
        rows = self.conn.execute(f"SELECT docid, title, body, media FROM {_TEXTS} WHERE docid = ANY(%s)",
                                 (list(keys),)).fetchall()
        return [RankDoc(row[0], row[1], row[2], len(row[2]), media=row[3], plain=True) for row in rows]
