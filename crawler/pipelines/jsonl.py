"""One JSONL file per crawl, `DATA/items/<crawl-id>.jsonl`, flushed line by line.

It runs last, so a line is written only after the article's WARC records are
on disk; a kill loses at most the line being written.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import IO

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from archive.jsonl import repair_torn_tail
from crawler.items import ArticleItem, item_fields

logger = logging.getLogger(__name__)


class JsonLinesPipeline:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.require_warc = crawler.settings.getbool("ARCHIVE_WARC_ENABLED")
        self.file: IO[str] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "JsonLinesPipeline":
        return cls(crawler)

    def open_spider(self) -> None:
        spider = self.crawler.spider
        folder = Path(self.crawler.settings["ARCHIVE_DATA_DIR"]) / "items"
        folder.mkdir(parents=True, exist_ok=True)
        # A crawl killed mid-line leaves a torn last line; mend it first.
        for path in folder.glob("*.jsonl"):
            if repair_torn_tail(path):
                self.crawler.stats.inc_value("archive/jsonl_repaired")
        self.path = folder / f"{spider.crawl_id}.jsonl"
        # Append: a resumed crawl (same crawl id) keeps what it already wrote.
        self.file = open(self.path, "a", encoding="utf-8", newline="\n")

    def close_spider(self) -> None:
        if self.file is not None:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            self.file = None

    def process_item(self, item: ArticleItem) -> ArticleItem:
        if not isinstance(item, ArticleItem):
            return item  # list pages are archived as metadata records only
        if self.require_warc and not item.warc:
            self.crawler.stats.inc_value("archive/items_without_record")
            raise DropItem(f"no WARC record for {item.url}; not writing it to JSONL")
        assert self.file is not None
        self.file.write(json.dumps(item_fields(item), ensure_ascii=False) + "\n")
        self.file.flush()
        self.crawler.stats.inc_value("archive/items_written")
        return item
