"""Opening a catalogue to search it, its index built or brought up to date first when it can be."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from archive.catalogue import Catalogue, open_catalogue
from archive.exits import Failed, Unavailable
from archive.search.errors import IndexMissing


def _quiet(text: str) -> None:
    pass


def searchable(data: Path, url: str | None = None, note: Callable[[str], None] = _quiet) -> Catalogue:
    """The catalogue of DATA, read-only, with a search index that is up to date when that can be done.

    Builds the index (once) or applies queued changes, saying so through
    `note`.  When the catalogue cannot be written (read-only, or a crawl
    holds it), the index is searched as it is (results say `stale`).
    Raises CatalogueError (no catalogue), IndexMissing (no index, and
    none can be built), and Unavailable or Failed when the catalogue's server
    went away or failed while it was built.
    """
    reader = open_catalogue(data, url, readonly=True)
    status = reader.index_status()
    if status.ready and not status.pending and not status.outdated:
        return reader
    try:
        writer = open_catalogue(data, url)
        if not status.ready:
            note("Building the search index (once; it is kept up to date after this)...")
            started = time.monotonic()
            count = writer.rebuild_index()
            note(f"Indexed {count} versions in {time.monotonic() - started:.1f}s.")
        elif status.outdated:
            note("Bringing the search index to this version's layout (once; no rebuild)...")
            writer.update_index()
        else:
            note(f"Indexing {status.pending} changed articles...")
            writer.update_index()
        writer.close()
    except (Unavailable, Failed):  # the server went away or its disk is full: say that, not "no index"
        reader.close()
        raise
    except Exception as error:  # noqa: BLE001 - read-only file, a crawl holding the lock, a backend's own errors
        if not status.ready:
            reader.close()
            raise IndexMissing(f"the catalogue has no search index and none can be built now: {error}") from error
        return reader  # search() reports the index as stale
    reader.close()
    return open_catalogue(data, url, readonly=True)
