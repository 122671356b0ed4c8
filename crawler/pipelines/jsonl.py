"""One JSONL file per crawl, `DATA/items/<crawl-id>.jsonl`, flushed line by line.

It runs last, so a line is written only after the article's WARC records are
on disk; a kill loses at most the line being written.  A write error (a full
disk, a read-only folder) is handled like a WARC write error: logged as
critical, counted, and the crawl stops (exit 3).  The article whose line
failed is dropped, so the catalogue never learns of it and the next crawl
fetches it again.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import BinaryIO

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro

from archive.items import item_line, repair_torn_tail
from crawler.items import ArticleItem, item_fields

logger = logging.getLogger(__name__)

WRITE_ERROR = "jsonl_write_error"


class JsonLinesPipeline:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.require_warc = crawler.settings.getbool("ARCHIVE_WARC_ENABLED")
        self.file: BinaryIO | None = None
        self.size = 0  # bytes of complete lines in the file
        self.failed: str | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "JsonLinesPipeline":
        return cls(crawler)

    def open_spider(self) -> None:
        spider = self.crawler.spider
        folder = Path(self.crawler.settings["ARCHIVE_DATA_DIR"]) / "items"
        self.path = folder / f"{spider.crawl_id}.jsonl"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            # A crawl killed mid-line leaves a torn last line; mend it first.
            for path in folder.glob("*.jsonl"):
                if repair_torn_tail(path):
                    self.crawler.stats.inc_value("archive/jsonl_repaired")
            # Append: a resumed crawl (same crawl id) keeps what it already wrote.
            # Unbuffered: a line is on its way to the disk when write() returns, and no
            # half-line waits in a buffer to be written after a failure.
            self.file = open(self.path, "ab", buffering=0)
            self.size = self.file.seek(0, os.SEEK_END)
        except OSError as error:
            self._fail(error)
            raise

    def close_spider(self) -> None:
        if self.file is None:
            return
        file, self.file = self.file, None
        try:
            os.fsync(file.fileno())
        except OSError as error:
            self._fail(error)
        finally:
            try:
                file.close()
            except OSError as error:
                self._fail(error)

    def process_item(self, item: ArticleItem) -> ArticleItem:
        if not isinstance(item, ArticleItem):
            return item  # list pages are archived as metadata records only
        if self.failed:
            raise DropItem(f"JSONL writer failed earlier ({self.failed}); {item.url} not written")
        if self.require_warc and not item.warc:
            self.crawler.stats.inc_value("archive/items_without_record")
            raise DropItem(f"no WARC record for {item.url}; not writing it to JSONL")
        assert self.file is not None
        line = item_line(item_fields(item)).encode("utf-8")
        try:
            view = memoryview(line)
            while view:
                view = view[self.file.write(view):]
        except OSError as error:
            self._cut_back()
            self._fail(error)
            raise DropItem(f"could not write {item.url} to {self.path.name}: {error}") from error
        self.size += len(line)
        self.crawler.stats.inc_value("archive/items_written")
        return item

    def _cut_back(self) -> None:
        """Take a half-written line back out, so the file holds whole lines only (cutting frees space)."""
        assert self.file is not None
        try:
            os.ftruncate(self.file.fileno(), self.size)
        except OSError as error:
            logger.error("Could not cut the half-written line from %s (%s); the next crawl mends it", self.path,
                         error)

    def _fail(self, error: OSError) -> None:
        if self.failed:
            return
        self.failed = f"{type(error).__name__}: {error}"
        stats = self.crawler.stats
        stats.inc_value("archive/jsonl_write_errors")
        if not stats.get_value("archive/fatal"):
            stats.set_value("archive/fatal", f"JSONL writer: {self.failed}")
        logger.critical("JSONL writer failed, stopping the crawl: %s", error, exc_info=error)
        engine = self.crawler.engine
        if engine is not None and engine.spider is not None:
            deferred_from_coro(engine.close_spider_async(reason=WRITE_ERROR))
