"""A one-line progress report on stderr every few seconds during a crawl."""

from __future__ import annotations

import sys
import time

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet import task


class ProgressReport:
    def __init__(self, crawler: Crawler, interval: float):
        self.stats = crawler.stats
        self.interval = interval
        self.started = time.monotonic()
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "ProgressReport":
        interval = crawler.settings.getfloat("ARCHIVE_PROGRESS_INTERVAL")
        if not interval:
            raise NotConfigured("ARCHIVE_PROGRESS_INTERVAL is 0")
        extension = cls(crawler, interval)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self) -> None:
        self.started = time.monotonic()
        self.loop = task.LoopingCall(self.report)
        self.loop.start(self.interval, now=False)

    def spider_closed(self) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()

    def report(self) -> None:
        get = self.stats.get_value
        elapsed = time.monotonic() - self.started
        pages = get("response_received_count", 0)
        print(
            f"  {elapsed:6.0f}s  {pages} responses ({pages / max(elapsed, 1e-9):.0f}/s), "
            f"{get('archive/list_pages', 0)} list pages, {get('archive/items_written', get('archive/articles', 0))} articles, "
            f"{get('archive/images', 0)} images, {get('archive/attachments', 0)} attachments",
            file=sys.stderr,
            flush=True,
        )
