"""Every HTTP exchange into WARC files, and a metadata record for each article.

One component owns the WARC writer, so captures and metadata records share a
file and the order of records on disk follows the crawl:

* at `response_downloaded` (before any middleware decodes anything) it
  writes the request/response pair and leaves a reference to the response
  record in `response.meta["archive_warc"]`;
* as an item pipeline it writes the article's `metadata` record, holding the
  extracted fields and the extractor version, concurrent to that response.

A writer error stops the crawl loudly: it is logged, counted, and the spider
is closed with reason `warc_write_error`.  Signal handlers would otherwise
swallow it.
"""

from __future__ import annotations

import json
import logging
import platform
from datetime import datetime, timezone
from pathlib import Path

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.misc import load_object

from archive.warc.writer import recover
from crawler import __version__
from crawler.capture import capture_start, request_head, response_head, truncation
from crawler.items import ArticleItem, item_fields

logger = logging.getLogger(__name__)

META_KEY = "archive_warc"
WRITE_ERROR = "warc_write_error"


class WarcPipeline:
    def __init__(self, crawler: Crawler):
        settings = crawler.settings
        if not settings.getbool("ARCHIVE_WARC_ENABLED"):
            raise NotConfigured("ARCHIVE_WARC_ENABLED is off")
        self.crawler = crawler
        self.stats = crawler.stats
        self.directory = Path(settings["ARCHIVE_DATA_DIR"]) / "warc"
        self.writer = None
        self.failed = False
        crawler.signals.connect(self.capture, signal=signals.response_downloaded)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "WarcPipeline":
        return cls(crawler)

    def open_spider(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for result in recover(self.directory):
            logger.warning("Recovered an unfinished WARC file: %s", result)
            self.stats.inc_value("archive/warc_recovered")
        settings = self.crawler.settings
        spider = self.crawler.spider
        writer_class = load_object(settings["ARCHIVE_WARC_WRITER"])
        self.writer = writer_class(
            self.directory,
            prefix=settings["ARCHIVE_WARC_PREFIX"],
            max_size=settings.getint("ARCHIVE_WARC_MAX_SIZE"),
            compresslevel=settings.getint("ARCHIVE_WARC_COMPRESSLEVEL"),
            warcinfo={
                "software": f"portal-archive/{__version__} (Scrapy; Python {platform.python_version()})",
                "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
                "http-header-user-agent": settings["USER_AGENT"],
                "operator": settings["ARCHIVE_OPERATOR"],
                "isPartOf": spider.crawl_id,
                "description": describe(spider),
            },
        )

    def close_spider(self) -> None:
        if self.writer is not None:
            try:
                self.writer.close()
            except OSError as error:
                self._fail(error)
                raise

    def capture(self, response: Response, request: Request) -> None:
        if self.writer is None or self.failed or "cached" in response.flags:
            return
        truncated = truncation(response)
        try:
            ref = self.writer.write_exchange(
                target_uri=request.url,
                date=capture_start(request),
                ip_address=str(response.ip_address) if response.ip_address else None,
                request_head=request_head(request),
                request_body=request.body,
                response_head=response_head(response),
                response_body=response.body,
                truncated=truncated,
            )
        except Exception as error:  # noqa: BLE001 - reported, then the crawl stops
            self._fail(error)
            return
        request.meta[META_KEY] = ref.as_dict()
        self.stats.inc_value("archive/warc_records", 2)
        if truncated:
            self.stats.inc_value(f"archive/truncated/{truncated}")
            logger.warning("Truncated response archived (%s): %s", truncated, request.url)

    def process_item(self, item: ArticleItem) -> ArticleItem:
        if self.failed:
            raise DropItem(f"WARC writer failed; {item.url} not archived")
        if not item.warc or self.writer is None:
            return item
        fields = item_fields(item)
        fields.pop("warc")
        payload = json.dumps(fields, ensure_ascii=False, sort_keys=True).encode("utf-8")
        try:
            self.writer.write_metadata(
                target_uri=item.url,
                concurrent_to=item.warc["record_id"],
                date=datetime.now(timezone.utc),
                payload=payload,
            )
        except Exception as error:  # noqa: BLE001
            self._fail(error)
            raise DropItem(f"WARC writer failed; {item.url} not archived") from error
        return item

    def _fail(self, error: BaseException) -> None:
        if self.failed:
            return
        self.failed = True
        self.stats.inc_value("archive/warc_write_errors")
        self.stats.set_value("archive/fatal", f"{type(error).__name__}: {error}")
        logger.critical("WARC writer failed, stopping the crawl: %s", error, exc_info=error)
        deferred_from_coro(self.crawler.engine.close_spider_async(reason=WRITE_ERROR))


def describe(spider) -> str:
    profile = getattr(spider, "profile", None)
    start = getattr(spider, "start_url", "")
    return f"{profile.site_name}: {start}" if profile else f"spider {spider.name} {start}".strip()
