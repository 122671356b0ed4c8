"""Report articles that parsed badly: counted in stats and logged with their URL.

Such an item is neither dropped silently nor passed on silently: it goes on
to the archive (the capture is still evidence) carrying its `problems`.
"""

from __future__ import annotations

import logging

from scrapy.crawler import Crawler

from crawler.items import ArticleItem

logger = logging.getLogger(__name__)


class ProblemsPipeline:
    def __init__(self, crawler: Crawler):
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "ProblemsPipeline":
        return cls(crawler)

    def process_item(self, item: ArticleItem) -> ArticleItem:
        self.stats.inc_value("archive/articles")
        for problem in item.problems:
            self.stats.inc_value(f"archive/problems/{problem}")
            logger.warning("Article %s: %s", item.url, problem.replace("_", " "))
        if item.problems:
            self.stats.inc_value("archive/articles_with_problems")
        return item
