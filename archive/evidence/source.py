"""What evidence needs from the catalogue, in one place (no SQL here: it reuses what `show` reads)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archive.catalogue import open_catalogue
from archive.exits import NotFound


def article_version(data: Path, ref: str | int, version: int | None = None) -> dict[str, Any]:
    """`show`'s record of one article version (archive.show.article_record), plus `earlier`:
    the media entries of its earlier versions, where the original of a revisited image is named.

    Raises NoCatalogue, or NotFound for an unknown article or version.
    """
    from archive.show import article_record

    with open_catalogue(data, readonly=True) as catalogue:
        record = article_record(catalogue, ref, version)
        chosen = record["version"]
        if chosen is None or record["capture"] is None:
            raise NotFound(f"article {record['article_id']} has no archived version")
        earlier = []
        for row in record["versions"]:
            if row["version"] < chosen["version"]:
                older = article_record(catalogue, record["article_id"], row["version"])["version"] or {}
                earlier += (older.get("images") or []) + (older.get("attachments") or [])
        record["earlier"] = earlier
        return record
