"""The search package's exceptions: each says why, the CLI turns them into messages."""

from __future__ import annotations


class SearchError(Exception):
    """Base class of everything `archive.search` raises on purpose."""


class QueryError(SearchError, ValueError):
    """The query text or a filter cannot be searched (empty, punctuation only, bad date...)."""


class IndexMissing(SearchError):
    """The catalogue has no search index, or one from an older layout: build it first."""


class ArticleNotFound(SearchError, LookupError):
    """No article has that id or URL (or it has no such version)."""
