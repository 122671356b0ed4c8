"""The 工业经济 section spider: list pages → articles → items.

    scrapy crawl gongye                              # the real portal (polite)
    scrapy crawl gongye -a replica=http://127.0.0.1:8000
    scrapy crawl gongye -a start_url=http://…/index.html

It follows the script-written pagination (`createPageHTML`) and plain pager
links alike, and never leaves the profile's section.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response

from crawler.capture import capture_start
from crawler.items import ArticleItem, content_hash
from crawler.pages.article import EXTRACTOR_VERSION, ArticlePage
from crawler.pages.listing import ListPage
from crawler.profile import SiteProfile, load_profile

logger = logging.getLogger(__name__)


def new_crawl_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z"


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class GongyeSpider(scrapy.Spider):
    name = "gongye"

    def __init__(
        self,
        profile: str | SiteProfile | None = None,
        replica: str | None = None,
        start_url: str | None = None,
        crawl_id: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if not isinstance(profile, SiteProfile):
            profile = load_profile(profile or "tengzhou")
        if replica:
            profile = profile.with_base_url(replica)
        self.profile = profile
        self.start_url = start_url or profile.start_url
        self.allowed_domains = list(profile.allowed_domains) + [urlsplit(self.start_url).hostname]
        self.crawl_id = crawl_id or new_crawl_id()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> "GongyeSpider":
        kwargs.setdefault("profile", crawler.settings.get("ARCHIVE_PROFILE"))
        kwargs.setdefault("crawl_id", crawler.settings.get("ARCHIVE_CRAWL_ID"))
        spider = super().from_crawler(crawler, *args, **kwargs)
        if crawler.settings.getbool("ARCHIVE_LOOPBACK_UNTHROTTLED") and is_loopback(spider.start_url):
            # The replica is ours: no need to be polite to it.
            for name, value in {
                "AUTOTHROTTLE_ENABLED": False,
                "DOWNLOAD_DELAY": 0,
                "CONCURRENT_REQUESTS": 32,
                "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
            }.items():
                crawler.settings.set(name, value, priority="spider")
        return spider

    async def start(self) -> Any:
        yield scrapy.Request(self.start_url, callback=self.parse_list)

    def in_section(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.hostname in self.allowed_domains and parts.path.startswith(self.profile.section_path)

    def parse_list(self, response: Response) -> Iterator[scrapy.Request]:
        page = ListPage(response, self.profile)
        self.crawler.stats.inc_value("archive/list_pages")
        for entry in page.entries:
            if self.in_section(entry.url):
                yield response.follow(entry.url, callback=self.parse_article)
            else:
                self.crawler.stats.inc_value("archive/out_of_scope")
        next_url = page.next_page_url
        if next_url and self.in_section(next_url):
            yield response.follow(next_url, callback=self.parse_list)

    def parse_article(self, response: Response) -> Iterator[ArticleItem]:
        fields = ArticlePage(response, self.profile).fields()
        fields["url"] = response.url
        item = ArticleItem(
            **fields,
            fetched_at=capture_start(response.request).isoformat(timespec="seconds"),
            http_status=response.status,
            crawl_id=self.crawl_id,
            extractor=EXTRACTOR_VERSION,
            warc=response.meta.get("archive_warc"),
        )
        item.content_hash = content_hash(item)
        yield item
