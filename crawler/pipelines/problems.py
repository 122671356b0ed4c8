"""Report articles that parsed badly: counted in stats and logged with their URL.

Such an item is neither dropped silently nor passed on silently: it goes on
to the archive (the capture is still evidence) carrying its `problems`.
Codes in NOTICE_CODES (a regeneration-time PubDate, a guessed body…) are
observations, counted under `archive/notices/`; the rest are problems.
"""

from __future__ import annotations

import logging

from scrapy.crawler import Crawler

from crawler.items import ArticleItem
from crawler.pages.article import NOTICE_CODES

logger = logging.getLogger(__name__)


class ProblemsPipeline:
    def __init__(self, crawler: Crawler):
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "ProblemsPipeline":
        return cls(crawler)

    def process_item(self, item: ArticleItem) -> ArticleItem:
        if not isinstance(item, ArticleItem):
            return item
        self.stats.inc_value("archive/articles")
        serious = False
        for code in item.problems:
            if code in NOTICE_CODES:
                self.stats.inc_value(f"archive/notices/{code}")
                logger.info("Article %s: %s", item.url, code.replace("_", " "))
            else:
                serious = True
                self.stats.inc_value(f"archive/problems/{code}")
                logger.warning("Article %s: %s", item.url, code.replace("_", " "))
        if serious:
            self.stats.inc_value("archive/articles_with_problems")
        for flag in item.flags:
            self.stats.inc_value(f"archive/flags/{flag}")
            logger.warning("Article %s is flagged: %s", item.url, flag.replace("_", " "))
        return item
