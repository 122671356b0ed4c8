"""A SQLite copy of a catalogue (or of a selection of its versions), ready for Datasette, with its search.

Datasette reads only SQLite: `serve` makes one from a PostgreSQL catalogue to
browse its tables, and `export --format sqlite` gives an analyst one on
purpose.  The copy holds the same tables with the same ids, the Chinese
search index built inside it, and the `web_articles` view; it is written to
`PATH.part` and renamed only once complete.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from archive.catalogue.api import Catalogue, VersionFilter
from archive.catalogue.sqlite import SqliteCatalogue, remove_database, swap_in

BATCH = 1000


def snapshot(source: Catalogue, path: Path, selection: VersionFilter | None = None,
             progress: Callable[[str, int], None] | None = None, *, index: bool = True) -> dict[str, int]:
    """Copy `source` (everything, or the versions `selection` keeps and what they need) into a new SQLite file.

    Returns the rows copied per table.  Raises CatalogueError (reading the
    source, or writing the copy); nothing is left at `path` unless it
    succeeds.  `index`: build the search index inside (`serve`'s copy, whose
    search pages read the catalogue itself, goes without).  The file is left
    in rollback-journal mode, a single file that opens read-only anywhere.
    """
    path = Path(path)
    part = path.with_name(path.name + ".part")
    remove_database(part)
    counts: dict[str, int] = {}
    copy = None
    try:
        copy = SqliteCatalogue.open(part)
        copy.conn.execute("PRAGMA foreign_keys = OFF")  # articles and versions refer to each other
        batch: list[dict] = []
        table = None
        for name, row in source.snapshot_rows(selection):
            if name != table or len(batch) >= BATCH:
                if batch:
                    copy.load_rows(table, batch)
                batch, table = [], name
            batch.append(row)
            counts[name] = counts.get(name, 0) + 1
            if progress and counts[name] % 10_000 == 0:
                progress(name, counts[name])
        if batch:
            copy.load_rows(table, batch)
        # An article whose current version is not in the selection: its newest version in the copy is the
        # copy's current one, so that no row refers to a version the file does not hold.
        copy.execute("UPDATE articles SET current_version = (SELECT max(id) FROM versions v"
                     " WHERE v.article_id = articles.id) WHERE current_version IS NOT NULL"
                     " AND current_version NOT IN (SELECT id FROM versions)")
        copy.commit()
        copy.conn.execute("PRAGMA foreign_keys = ON")
        if index:
            copy.rebuild_index()
        copy.prepare_for_web()  # which folds the WAL into the file
        copy.conn.execute("PRAGMA journal_mode = DELETE")
    except BaseException:
        if copy is not None:
            copy.close()
        remove_database(part)
        raise
    copy.close()
    swap_in(part, path)
    return counts
