"""What a search returns."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from archive.search import snippet as snippets


@dataclass(frozen=True)
class Hit:
    """One matching version.  `score` is higher for better matches (bm25, title weighted)."""

    article_id: int
    version_id: int
    version: int
    url: str
    title: str | None
    published: str | None
    source: str | None
    column: str | None
    score: float | None
    flags: list[str]
    status: str  # live | withdrawn
    current: bool  # the article's current version
    parts: snippets.Parts = ()
    site: str | None = None  # the profile the article was archived with
    section: str | None = None  # the section whose list showed it

    @property
    def snippet(self) -> str:
        """The snippet as plain text, matches in «…»."""
        return snippets.marked(self.parts)

    @property
    def snippet_html(self) -> str:
        """The snippet as escaped HTML, matches in <mark>."""
        return snippets.html(self.parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "article_id": self.article_id, "version_id": self.version_id, "version": self.version,
            "url": self.url, "title": self.title, "published": self.published, "source": self.source,
            "column": self.column, "site": self.site, "section": self.section, "score": self.score,
            "flags": self.flags, "status": self.status, "current": self.current, "snippet": self.snippet,
        }


@dataclass(frozen=True)
class SearchResults:
    """One page of hits and the number of matches in all.

    `total` is exact when `exact` is True; otherwise there are more matches
    than that (the count stops at `archive.search.paging.COUNT_CAP`, or at
    the end of the page asked for: show it as "1,000+").  `ranked` is how
    many of the matches were put in relevance order (the newest
    `archive.search.rank.RANK_POOL`; the rest follow newest first).
    `stale` is True when the index had changes waiting that this (read-only
    or busy) connection could not apply.
    """

    query: str
    total: int
    hits: list[Hit] = field(default_factory=list)
    offset: int = 0
    limit: int | None = 20
    order: str = "relevance"
    ranked: int = 0
    exact: bool = True
    stale: bool = False

    @property
    def count_text(self) -> str:
        """The number of matches as shown: "1,234", or "1,000+" when the count stopped there."""
        return f"{self.total:,}" + ("" if self.exact else "+")

    def __iter__(self) -> Iterator[Hit]:
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)
