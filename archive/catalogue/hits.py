"""Search hits from catalogue rows: the one place that turns a backend's matches into `Hit`s.

Both search backends (`archive.catalogue.fts.engine` on SQLite,
`archive.catalogue.postgres_index` on PostgreSQL) page their matches as
(key, score) pairs, read the rows these columns name for the keys (each
with its own statement: the SQLite index's row ids, PostgreSQL's version
ids), and call `make_hits`; so a hit's fields, its flags and its snippet
are built the same way on both, and both answer alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from archive.catalogue.api import decode_json
from archive.search.query import Query
from archive.search.results import Hit
from archive.search.snippet import make_snippet
from archive.search.text import media_text

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


def confirmed(hits: list[Hit], *, all_versions: bool, include_withdrawn: bool) -> list[Hit]:
    """The hits the catalogue itself confirms, for an index that is behind it (a stale search)."""
    return [hit for hit in hits if (all_versions or hit.current) and (include_withdrawn or hit.status == "live")]
