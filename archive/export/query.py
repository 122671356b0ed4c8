"""The free-text filter, through the catalogue's Chinese search.

The search is asked for every match among all versions of all articles,
withdrawn ones included; the export's own filters (--versions, --withdrawn,
dates...) then apply as for any other export.
"""

from __future__ import annotations

from archive.catalogue import Catalogue
from archive.export.errors import BadRequest, SearchUnavailable
from archive.search import IndexMissing, QueryError, SearchError


def matching_version_ids(catalogue: Catalogue, query: str) -> list[int]:
    """The version ids the search finds for `query`.

    Raises BadRequest for a query the search cannot take, and
    SearchUnavailable when the catalogue has no search index.
    """
    try:
        results = catalogue.search(query, all_versions=True, include_withdrawn=True, limit=None, snippets=False)
        return [int(hit.version_id) for hit in results]
    except QueryError as error:
        raise BadRequest(f"cannot search for {query!r}: {error}") from error
    except IndexMissing as error:
        raise SearchUnavailable(f"{error}; build the search index first (portal-archive search, or reindex), "
                                "or export without a QUERY") from error
    except SearchError as error:
        raise SearchUnavailable(f"search for {query!r} failed: {error}") from error
