"""Chinese full-text search over the catalogue.

    from archive.search import ensure_index, rebuild_index, index_versions, search
    rebuild_index(conn)                       # once (or after a reindex)
    index_versions(conn, new_version_ids)     # after writing versions (triggers queue the rest)
    results = search(conn, "工业强市 -化工", since="2021-01-01", order="date")
    results.total, [hit.title for hit in results]

Any string of one character or more is found (one index of character
bigrams and single characters); see `archive.search.query` for the syntax.
"""

from archive.search.engine import search
from archive.search.errors import ArticleNotFound, IndexMissing, QueryError, SearchError
from archive.search.index import ensure_index, index_ready, index_versions, pending, rebuild_index
from archive.search.query import Query, parse_query
from archive.search.results import Hit, SearchResults

__all__ = [
    "ArticleNotFound", "Hit", "IndexMissing", "Query", "QueryError", "SearchError", "SearchResults",
    "ensure_index", "index_ready", "index_versions", "parse_query", "pending", "rebuild_index", "search",
]
