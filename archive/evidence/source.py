"""What evidence needs from the catalogue, in one place (no SQL here: it reuses what `show` reads).

When the catalogue API lands, `article_version` is the one function to move.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archive.catalogue.db import CatalogueError, catalogue_path, connect
from archive.exits import NoCatalogue, NotFound


def article_version(data: Path, ref: str | int, version: int | None = None) -> dict[str, Any]:
    """`show`'s record of one article version (archive.search.record.article_record), plus `earlier`:
    the media entries of its earlier versions, where the original of a revisited image is named.

    Raises NoCatalogue, or NotFound for an unknown article or version.
    """
    from archive.search import ArticleNotFound
    from archive.search.record import article_record

    try:
        conn = connect(catalogue_path(data), readonly=True)
    except CatalogueError as error:
        raise NoCatalogue(str(error)) from error
    try:
        record = article_record(conn, ref, version)
        chosen = record["version"]
        if chosen is None or record["capture"] is None:
            raise NotFound(f"article {record['article_id']} has no archived version")
        earlier = []
        for row in record["versions"]:
            if row["version"] < chosen["version"]:
                older = article_record(conn, record["article_id"], row["version"])["version"] or {}
                earlier += (older.get("images") or []) + (older.get("attachments") or [])
        record["earlier"] = earlier
        return record
    except ArticleNotFound as error:
        raise NotFound(str(error)) from error
    finally:
        conn.close()
