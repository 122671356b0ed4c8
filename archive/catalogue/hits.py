"""Search hits from catalogue rows: the one place that turns a backend's matches into `Hit`s, and that
checks a version's catalogue row against a search where the index cannot (`text_holds`, `Behind`).

Both search backends (`archive.catalogue.fts.engine` on SQLite,
`archive.catalogue.postgres_index` on PostgreSQL) page their matches as
(key, score) pairs, read the rows these columns name for the keys (each
with its own statement: the SQLite index's row ids, PostgreSQL's version
ids), and call `make_hits`; so a hit's fields, its flags and its snippet
are built the same way on both, and both answer alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from archive.catalogue.api import decode_json
from archive.catalogue.fts.dates import SLOTS, day_of
from archive.search.query import Query, Term
from archive.search.rank import RankDoc
from archive.search.results import Hit
from archive.search.snippet import make_snippet
from archive.search.text import media_text, meta_token, plain

_COLUMNS = ("v.id, v.article_id, v.version, v.title, v.published, v.source, v.column_name, v.flags, a.url,"
            " a.status, a.site, a.section, v.id = COALESCE(a.current_version, v.id) AS current")
_SNIPPET_COLUMNS = ", v.body_text, v.images, v.attachments"


def hit_columns(with_snippets: bool) -> str:
    """The select list (versions `v` joined to their articles `a`) that `make_hits` reads."""
    return _COLUMNS + (_SNIPPET_COLUMNS if with_snippets else "")


def make_hits(rows: Mapping[int, Mapping[str, Any]], pairs: Sequence[tuple[int, float | None]], query: Query,
              with_snippets: bool) -> list[Hit]:
    """Hits in the order of `pairs` (key, score), from `rows` (`hit_columns`) by key.

    A key without a row (its version removed since it was indexed) is left out.
    """
    hits = []
    for key, score in pairs:
        row = rows.get(key)
        if row is None:
            continue
        parts = make_snippet([row["body_text"], media_text(row["images"], row["attachments"]), row["title"]],
                             query.terms) if with_snippets else ()
        flags = decode_json(row["flags"], [])
        hits.append(Hit(article_id=row["article_id"], version_id=row["id"], version=row["version"], url=row["url"],
                        title=row["title"], published=row["published"], source=row["source"],
                        column=row["column_name"], score=score,
                        flags=[str(flag) for flag in flags] if isinstance(flags, list) else [],
                        status=row["status"], current=bool(row["current"]), parts=parts,
                        site=row["site"], section=row["section"]))
    return hits


# What `text_holds` and `Wanted.holds` read of a version (versions v joined to their articles a).
STATE_COLUMNS = ("v.title, v.body_text, v.images, v.attachments, v.source, v.column_name, v.published, v.flags,"
                 " a.status, a.site, a.section, v.id = COALESCE(a.current_version, v.id) AS current")


def text_holds(row: Mapping[str, Any], query: Query, source: str | None = None, column: str | None = None) -> bool:
    """Whether a version's text matches `query` (title, body, media) and the `source` and `column` filters, as
    substrings in the form of `archive.search.text.plain`: what both indexes find, decided by the text."""
    texts = [plain(row["title"]), plain(row["body_text"]), plain(media_text(row["images"], row["attachments"]))]
    if not query.holds(texts):
        return False
    for value, name in ((source, "source"), (column, "column_name")):
        term = Term.parse(value) if value else None
        if term is not None and term.plain not in plain(row[name]):
            return False
    return True


@dataclass(frozen=True)
class Filters:
    """What a search filters on besides the query (see `archive.catalogue.fts.engine.search`), on either
    backend."""

    since: str | date | None = None
    until: str | date | None = None
    source: str | None = None
    column: str | None = None
    site: str | Sequence[str] | None = None
    section: str | Sequence[str] | None = None
    has_images: bool | None = None
    flags: Sequence[str] | None = None
    all_versions: bool = False
    include_withdrawn: bool = False


@dataclass(frozen=True)
class Wanted:
    """Everything a search asks of a version, to check its catalogue row (`STATE_COLUMNS`) against: for the
    versions an index behind its catalogue may describe wrongly (`Behind`).  `low`/`high`: the row-id range
    of the dates asked for (`archive.catalogue.fts.dates.row_range`, from the filters' since and until)."""

    query: Query
    low: int
    high: int
    filters: Filters = Filters()

    def holds(self, row: Mapping[str, Any]) -> bool:
        filters = self.filters
        if not (filters.all_versions or row["current"]) or not (filters.include_withdrawn or row["status"] == "live"):
            return False
        if not self.low <= day_of(row["published"]) * SLOTS <= self.high:
            return False
        for value, name in ((filters.site, "site"), (filters.section, "section")):
            if value and row[name] not in ([value] if isinstance(value, str) else value):
                return False
        if filters.has_images is not None and bool(decode_json(row["images"], [])) != filters.has_images:
            return False
        if filters.flags:  # as the indexes' filter tokens compare them
            have = decode_json(row["flags"], [])
            have = have if isinstance(have, list) else []
            words = {meta_token("f" + str(flag)) for flag in have} | ({meta_token("anyflag")} if have else set())
            if not words & {meta_token("anyflag" if flag == "any" else "f" + flag) for flag in filters.flags}:
                return False
        return text_holds(row, self.query, filters.source, filters.column)


class _Matches(Protocol):  # archive.search.paging.Matches
    def newest(self, count: int | None) -> list[int]: ...
    def count(self) -> int: ...
    def texts(self, keys: Sequence[int]) -> list[RankDoc]: ...


class Behind:
    """The matches of a search on an index that is behind its catalogue (changes queued, and the catalogue
    read-only: a stale search), for `archive.search.paging.page`.

    `matches` are the index's own, leaving out the versions of the articles
    waiting to be indexed again; `rows` are those versions' catalogue rows
    (`STATE_COLUMNS`) by their key in the index, and the ones `wanted` holds
    for join them.  So the count and the pages hold only what the catalogue
    says matches now (a version withdrawn, no longer current or whose text
    changed is not counted and then dropped), the same on both backends;
    versions the index has not seen yet are not found.
    """

    def __init__(self, matches: _Matches, rows: Mapping[int, Mapping[str, Any]], wanted: Wanted) -> None:
        self.matches, self.rows = matches, rows
        self.found = sorted((key for key, row in rows.items() if wanted.holds(row)), reverse=True)

    def newest(self, count: int | None) -> list[int]:
        found = sorted([*self.matches.newest(count), *self.found[:count]], reverse=True)
        return found if count is None else found[:count]

    def count(self) -> int:
        return self.matches.count() + len(self.found)

    def texts(self, keys: Sequence[int]) -> list[RankDoc]:
        docs = self.matches.texts([key for key in keys if key not in self.rows])
        for key in keys:
            if (row := self.rows.get(key)) is not None:
                docs.append(RankDoc(key, row["title"], row["body_text"], len(plain(row["body_text"])),
                                    images=row["images"], attachments=row["attachments"]))
        return docs
