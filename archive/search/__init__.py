"""Chinese full-text search: the query language, how text becomes tokens, snippets and results.

The index itself belongs to the catalogue's backend (SQLite: FTS5 over
character trigrams with 1- and 2-character prefix indexes, in
`archive.catalogue.fts`), and a search is a catalogue operation:

    catalogue = open_catalogue(data)
    results = catalogue.search("工业强市 -化工", since="2021-01-01", order="date")
    results.total, [hit.title for hit in results]

Any run of characters is found, from one character up, as an exact
substring; see `archive.search.query` for the syntax.  `searchable()` opens
a catalogue with its index brought up to date first.
"""

from archive.search.errors import ArticleNotFound, IndexMissing, QueryError, SearchError
from archive.search.query import Query, parse_query
from archive.search.results import Hit, SearchResults
from archive.search.ready import searchable

__all__ = ["ArticleNotFound", "Hit", "IndexMissing", "Query", "QueryError", "SearchError", "SearchResults",
           "parse_query", "searchable"]
