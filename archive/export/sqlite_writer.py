"""`--format sqlite`: the selected versions as a catalogue of their own, ready for Datasette.

Not a table of rows but a copy of the catalogue's tables (the selected
versions, their articles, captures, crawls and withdrawals, ids kept) with
the Chinese search index built inside it and the `web_articles` view, so
`datasette FILE` (or `portal-archive --catalogue sqlite:FILE search`)
browses and searches exactly the selection.  It is also how `serve` browses
a PostgreSQL catalogue.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archive.catalogue import Catalogue, CatalogueError
from archive.catalogue.snapshot import snapshot
from archive.export.errors import CannotWrite
from archive.export.fields import FIELDS
from archive.exits import Failed, Unavailable


# JSON values a hand-edited catalogue may hold malformed (CatalogueUnreadable, exit 6, as in every format).
_CHECKED = ("images", "attachments", "flags", "problems", "charset", "xxgk", "breadcrumb", "changed_fields")


class SqliteWriter:
    format = "sqlite"
    mediatype = "application/vnd.sqlite3"

    def __init__(self, path: Path, catalogue: Catalogue, selection: Any) -> None:
        self.path = Path(path)
        self._catalogue = catalogue
        self._selection = selection
        self._ids: list[int] = []
        self.counts: dict[str, int] = {}

    def write(self, row: Any) -> None:
        for name in _CHECKED:  # the values the copy's search index reads, refused as every other format does
            FIELDS[name].value(row)
        self._ids.append(int(row["version_id"]))

    def close(self) -> None:
        from dataclasses import replace

        chosen = replace(self._selection, versions="all", version_ids=tuple(self._ids))
        try:
            self.counts = snapshot(self._catalogue, self.path, chosen)
        except (Unavailable, Failed):  # the catalogue's server, not the copy
            raise
        except CatalogueError as error:
            raise CannotWrite(f"cannot write the SQLite copy {self.path}: {error}") from error

    def abort(self) -> None:
        from archive.catalogue.sqlite import remove_database

        for suffix in ("", ".part"):  # and their -wal and -shm files: a full disk must not stay full
            remove_database(Path(str(self.path) + suffix))

    def resource(self) -> dict[str, Any]:
        return {"format": "sqlite", "mediatype": self.mediatype,
                "description": "A portal-archive catalogue of the selection (tables crawls, captures, articles, "
                               "article_urls, versions, withdrawals; search_* is its Chinese search index; "
                               "web_articles a view). Open it with Datasette or `portal-archive --catalogue "
                               "sqlite:FILE search ...`.",
                "rows": self.counts}
