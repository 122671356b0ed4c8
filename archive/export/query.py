"""The free-text filter, through the project's search module.

`archive.search` is imported only when a query is given, so exports without
one never depend on it (nor on its index).  The search is asked for every
match among all versions of all articles, withdrawn ones included; the
export's own filters (--versions, --withdrawn, dates...) then apply as for
any other export.
"""

from __future__ import annotations

import importlib
import sqlite3

from archive.export.errors import BadRequest, SearchUnavailable

SEARCH_MODULE = "archive.search"


def matching_version_ids(conn: sqlite3.Connection, query: str) -> list[int]:
    """The version ids `archive.search` finds for `query`.

    Raises BadRequest for a query the search cannot take, and
    SearchUnavailable when the module or its index is missing.
    """
    try:
        module = importlib.import_module(SEARCH_MODULE)
        search = module.search
    except (ImportError, AttributeError) as error:
        raise SearchUnavailable(
            f"free-text QUERY needs {SEARCH_MODULE}.search, which is not available ({error}); "
            "export without a QUERY, or use --since/--until/--source/--flag"
        ) from error
    query_error = getattr(module, "QueryError", ())
    index_missing = getattr(module, "IndexMissing", ())
    search_error = getattr(module, "SearchError", ())
    try:
        results = search(conn, query, all_versions=True, include_withdrawn=True, limit=None, snippets=False)
        return [int(hit.version_id) for hit in results]
    except query_error as error:
        raise BadRequest(f"cannot search for {query!r}: {error}") from error
    except index_missing as error:
        raise SearchUnavailable(f"{error}; build the search index first, or export without a QUERY") from error
    except search_error as error:
        raise SearchUnavailable(f"search for {query!r} failed: {error}") from error
