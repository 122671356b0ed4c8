"""The free-text filter, through the project's search module.

`archive.search.search(conn, query, ...)` is written elsewhere; it is imported
only when a query is given, so exports without one never depend on it.  An
export wants every hit, not a first page, so a `limit` argument, when the
function takes one, is set to None.
"""

from __future__ import annotations

import importlib
import inspect
import sqlite3
from collections.abc import Iterator
from typing import Any

from archive.export.errors import SearchUnavailable

SEARCH_MODULE = "archive.search"


def matching_version_ids(conn: sqlite3.Connection, query: str) -> Iterator[int]:
    """The version ids `archive.search` finds for `query` (raises SearchUnavailable)."""
    try:
        module = importlib.import_module(SEARCH_MODULE)
        search = module.search
    except (ImportError, AttributeError) as error:
        raise SearchUnavailable(
            f"free-text QUERY needs {SEARCH_MODULE}.search, which is not available ({error}); "
            "export without a QUERY, or use --since/--until/--source/--flag"
        ) from error
    kwargs: dict[str, Any] = {}
    try:
        if "limit" in inspect.signature(search).parameters:
            kwargs["limit"] = None
    except (TypeError, ValueError):
        pass
    try:
        hits = search(conn, query, **kwargs)
        for hit in hits:
            yield int(hit["version_id"] if isinstance(hit, dict) else hit.version_id)
    except SearchUnavailable:
        raise
    except Exception as error:  # the search module's own failure: report it with its reason
        raise SearchUnavailable(f"search for {query!r} failed: {type(error).__name__}: {error}") from error
