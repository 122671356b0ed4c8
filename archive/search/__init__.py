"""Chinese full-text search: the query language, how text becomes tokens, snippets and results.

The index itself belongs to the catalogue's backend (SQLite: FTS5 over
character pairs with a 1-character prefix index, `archive.catalogue.fts`;
PostgreSQL: a GIN of character and pair codes salted by week,
`archive.catalogue.postgres_search`), and a search is a catalogue
operation.  Both page and rank alike (`archive.search.paging`,
`archive.search.rank`), so they give the same hits in the same order:

    catalogue = open_catalogue(data)
    results = catalogue.search("工业强市 -化工", since="2021-01-01", order="date")
    results.count_text, [hit.title for hit in results]     # "1,000+" past the count's cap

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
