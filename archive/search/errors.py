"""The search package's exceptions: each says why; the CLI turns them into messages and exit codes."""

from __future__ import annotations

from archive.catalogue.api import ArticleNotFound
from archive.exits import ArchiveError, NoCatalogue, UsageProblem


class SearchError(ArchiveError):
    """Base class of everything the search raises on purpose."""


class QueryError(SearchError, UsageProblem, ValueError):
    """The query text or a filter cannot be searched (empty, punctuation only, bad date...)."""


class IndexMissing(SearchError, NoCatalogue):
    """The catalogue has no search index, or one from an older layout: build it first."""


__all__ = ["ArticleNotFound", "IndexMissing", "QueryError", "SearchError"]
