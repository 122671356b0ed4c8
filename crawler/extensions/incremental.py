"""What the archive already holds, handed to the spider: the state of an incremental crawl.

The spider does not read storage.  This extension asks the catalogue, once,
when the spider opens: which articles of the site are known (by article
key, with the validators for a conditional recheck, and their section), and,
for each section the spider walks, whether the last crawl of that section
settled its listing (so paging may stop at pages of known articles).  The
spider finds the answer in `spider.incremental`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from scrapy import signals
from scrapy.crawler import Crawler

from archive.catalogue import CatalogueError, KnownArticle, open_catalogue
from archive.catalogue.keys import article_key

logger = logging.getLogger(__name__)


@dataclass
class IncrementalState:
    """Known articles by key, and which sections' listings the last crawl of each settled."""

    known: dict[str, KnownArticle] = field(default_factory=dict)
    settled: bool = False  # every section's
    hosts: dict[str, str] = field(default_factory=dict)
    tracking: tuple[str, ...] = ()
    settled_sections: dict[str, bool] = field(default_factory=dict)

    def settled_for(self, section: str) -> bool:
        """Whether the last crawl that walked `section` settled its listing (paging may stop early)."""
        return self.settled_sections.get(section, self.settled)

    def key(self, url: str) -> str:
        return article_key(url, self.hosts, self.tracking)

    def get(self, url: str) -> KnownArticle | None:
        return self.known.get(self.key(url)) if self.known else None


def rebase(url: str, origin: str) -> str:
    """`url` at the scheme and host of `origin` (a known article fetched again where the crawl now runs)."""
    old, new = urlsplit(url), urlsplit(origin)
    return urlunsplit((new.scheme, new.netloc, old.path, old.query, ""))


class Incremental:
    """Loads the incremental state when the spider opens (enabled in crawler/settings.py EXTENSIONS)."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "Incremental":
        return cls(crawler)

    def spider_opened(self, spider: Any) -> None:
        settings = self.crawler.settings
        profile = getattr(spider, "profile", None)
        state = IncrementalState(hosts=profile.host_map() if profile else {},
                                 tracking=tuple(settings.getlist("ARCHIVE_TRACKING_PARAMS")))
        site = profile.name if profile else None
        try:
            catalogue = open_catalogue(Path(settings["ARCHIVE_DATA_DIR"]), settings.get("ARCHIVE_CATALOGUE"),
                                       readonly=True)
        except CatalogueError as error:
            logger.info("No catalogue to crawl incrementally from (%s): every article is new", error)
        else:
            with catalogue:
                state.known = {article.key: article for article in catalogue.known_articles(site)}
                names = profile.section_names if profile else []
                state.settled_sections = {name: catalogue.listing_settled(site, name) for name in names}
                state.settled = bool(names) and all(state.settled_sections.values()) if names else \
                    catalogue.listing_settled(site)
        self.crawler.stats.set_value("archive/known_articles", len(state.known))
        spider.incremental = state
