"""Getting the catalogue ready to be served read-only.

Datasette serves the catalogue immutable, so whatever it needs is written
before it starts, in one read-write pass: the search index (built, or
brought up to date), and the `web_articles` view (one row per article, its
current version if it has one, and a `year` column to facet on).  The WAL
is then folded back into the database file, which an immutable reader
requires.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from archive.catalogue.sqlite import SqliteCatalogue


@dataclass(frozen=True)
class Prepared:
    """What `prepare_catalogue` did."""

    articles: int
    versions: int
    indexed: int  # versions (re)indexed now
    rebuilt: bool  # the index was built from nothing


def prepare_catalogue(path: Path, progress: Callable[[int, int], None] | None = None) -> Prepared:
    """Build or update the search index and the view in the catalogue file at `path`, then checkpoint it.

    `progress(done, total)` is called while a new index is being built.
    Raises archive.catalogue.CatalogueError when `path` is not a catalogue.
    """
    catalogue = SqliteCatalogue.open(path)
    try:
        rebuilt = not catalogue.index_status().ready
        indexed = catalogue.rebuild_index(progress) if rebuilt else catalogue.update_index()
        catalogue.prepare_for_web()
        counts = catalogue.counts()
    finally:
        catalogue.close()
    return Prepared(articles=counts["articles"], versions=counts["versions"], indexed=indexed, rebuilt=rebuilt)
