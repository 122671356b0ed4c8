"""The 工业经济 section spider: list pages → articles → items.

    scrapy crawl gongye                              # the real portal (polite)
    scrapy crawl gongye -a replica=http://127.0.0.1:8000
    scrapy crawl gongye -a start_url=http://…/index.html

It follows the script-written pagination (`createPageHTML`) and plain pager
links alike, and never leaves the profile's section.  Incremental by
default: paging stops after ARCHIVE_KNOWN_PAGES_STOP list pages that hold
only known articles (unless ARCHIVE_FULL_LISTING), and known articles are
rechecked by the policy in `crawler.recheck`.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response

from archive.catalogue import KnownArticle
from crawler.capture import capture_start
from crawler.extensions.incremental import IncrementalState, rebase
from crawler.items import ArticleItem, ListingItem, content_hash
from crawler.pages.article import EXTRACTOR_VERSION, ArticlePage
from crawler.pages.listing import ListPage
from crawler.politeness import apply_user_agent, is_loopback
from crawler.profile import SiteProfile, load_profile
from crawler.recheck import RecheckPolicy, conditional_headers
from crawler.urls import canonical_url

logger = logging.getLogger(__name__)

# Answers a recheck must see rather than have middlewares act on.
RECHECK_STATUSES = [301, 302, 303, 307, 308, 304, 404, 410]


def new_crawl_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z"


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
        if start_url:
            profile = profile.with_start_url(start_url)
        self.profile = profile
        self.start_url = profile.start_url
        self.allowed_domains = list(profile.allowed_domains)
        self.crawl_id = crawl_id or new_crawl_id()
        # What the archive holds; the Incremental extension fills it when the spider opens.
        self.incremental = IncrementalState(hosts=profile.host_map())
        # Keys of the known articles rechecked so far (memory must not grow with
        # the section); Scrapy's dupefilter already drops a new URL seen twice.
        self.rechecked: set[str] = set()
        self.known_pages_in_a_row = 0
        self.stale_pages_in_a_row = 0
        self.recent_pages: deque[frozenset[str]] = deque(maxlen=5)
        self.list_pages = 0
        self.listing_complete = False
        self.resumed = False

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> "GongyeSpider":
        settings = crawler.settings
        kwargs.setdefault("profile", settings.get("ARCHIVE_PROFILE"))
        resumed = resumed_crawl_id(settings.get("JOBDIR"))
        kwargs.setdefault("crawl_id", settings.get("ARCHIVE_CRAWL_ID") or resumed)
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.resumed = bool(resumed and resumed == spider.crawl_id)
        # Built here, from the settings as given (-s included), and refused for
        # a real portal without a contact (crawler.politeness).
        apply_user_agent(crawler.settings, spider.start_url)
        if settings.getbool("ARCHIVE_LOOPBACK_UNTHROTTLED") and is_loopback(spider.start_url):
            # The replica is ours: no need to be polite to it.
            for name, value in {
                "AUTOTHROTTLE_ENABLED": False,
                "DOWNLOAD_DELAY": 0,
                "CONCURRENT_REQUESTS": 32,
                "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
            }.items():
                crawler.settings.set(name, value, priority="spider")
        spider.policy = RecheckPolicy(
            settings.get("ARCHIVE_RECHECK"),
            settings.getint("ARCHIVE_RECHECK_RECENT_DAYS"),
            settings.getint("ARCHIVE_RECHECK_EVERY_DAYS"),
        )
        spider.full_listing = settings.getbool("ARCHIVE_FULL_LISTING")
        spider.stop_after = settings.getint("ARCHIVE_KNOWN_PAGES_STOP")
        spider.max_list_pages = settings.getint("ARCHIVE_MAX_LIST_PAGES")
        spider.tracking = settings.getlist("ARCHIVE_TRACKING_PARAMS")
        if settings.get("JOBDIR"):
            remember_crawl_id(settings["JOBDIR"], spider.crawl_id)
        return spider

    @property
    def may_stop_early(self) -> bool:
        """Stopping at pages of known articles is safe only if all deeper pages were seen before."""
        return not self.full_listing and self.incremental.settled

    async def start(self) -> Any:
        if self.resumed:
            self.crawler.stats.set_value("archive/resumed", 1)
        yield scrapy.Request(self.start_url, callback=self.parse_list)

    def in_section(self, url: str) -> bool:
        return self.profile.in_scope(url)

    # -- list pages ------------------------------------------------------
    def parse_list(self, response: Response) -> Iterator[Any]:
        page = ListPage(response, self.profile)
        stats = self.crawler.stats
        stats.inc_value("archive/list_pages")
        self.list_pages += 1
        urls = list(dict.fromkeys(canonical_url(entry.url, self.tracking) for entry in page.entries))
        in_scope = [url for url in urls if self.in_section(url)]
        stats.inc_value("archive/out_of_scope", len(urls) - len(in_scope))
        urls = in_scope
        yield ListingItem(response.url, urls, page.current_index, page.page_count,
                          warc=response.meta.get("archive_warc"))
        # A page that shows nothing this crawl has not seen is what a pagination trap looks like.
        fresh = [url for url in urls if not any(url in page for page in self.recent_pages)]
        self.recent_pages.append(frozenset(urls))
        self.stale_pages_in_a_row = 0 if fresh else self.stale_pages_in_a_row + 1
        all_known = bool(urls)
        for url in urls:
            known = self.incremental.get(url)
            if known is None:
                all_known = False
                yield response.follow(url, callback=self.parse_article)
            elif known.key in self.rechecked:
                continue
            elif self.policy.due(known, datetime.now(timezone.utc)):
                yield self.recheck(known, url)
        self.known_pages_in_a_row = self.known_pages_in_a_row + 1 if all_known else 0
        next_url = page.next_page_url
        if next_url and self.stale_pages_in_a_row >= 2:
            stats.inc_value("archive/traps/pagination")
            logger.warning("List pages repeat nothing new (a pagination trap?); stopped at %s", response.url)
            next_url = None
        elif next_url and self.list_pages >= self.max_list_pages:
            stats.inc_value("archive/traps/max_list_pages")
            logger.warning("Reached ARCHIVE_MAX_LIST_PAGES (%d) at %s", self.max_list_pages, response.url)
            next_url = None
        if next_url and self.in_section(next_url):
            if not self.may_stop_early or self.known_pages_in_a_row < self.stop_after:
                yield response.follow(next_url, callback=self.parse_list)
                return
            stats.set_value("archive/listing_stopped_at", response.url)
        else:
            self.listing_complete = True
        # The listing is settled: everything it shows is now known or requested.
        stats.set_value("archive/listing_settled", 1)
        yield from self.remaining_rechecks()

    def remaining_rechecks(self) -> Iterator[scrapy.Request]:
        """Due articles the listing did not reach (deeper pages, or gone from it)."""
        now = datetime.now(timezone.utc)
        for key, known in self.incremental.known.items():
            if key not in self.rechecked and self.policy.due(known, now):
                # Where the crawl runs now: the site may have moved host or scheme since.
                yield self.recheck(known, rebase(known.url, self.start_url))

    def recheck(self, known: KnownArticle, url: str) -> scrapy.Request:
        self.rechecked.add(known.key)
        self.crawler.stats.inc_value("archive/rechecks")
        return scrapy.Request(
            url,
            headers=conditional_headers(known),
            callback=self.parse_recheck,
            meta={"dont_redirect": True, "handle_httpstatus_list": RECHECK_STATUSES},
        )

    def parse_recheck(self, response: Response) -> Iterator[Any]:
        status = response.status
        stats = self.crawler.stats
        if status == 200:
            yield from self.parse_article(response)
        elif status == 304:
            stats.inc_value("archive/unchanged")
        elif status in (404, 410):
            stats.inc_value("archive/withdrawn_seen")
        elif 300 <= status < 400:
            location = response.headers.get(b"Location", b"").decode("latin-1")
            target = response.urljoin(location) if location else ""
            if target and self.in_section(target):
                yield scrapy.Request(target, callback=self.parse_article)
            else:
                stats.inc_value("archive/withdrawn_seen")

    # -- articles --------------------------------------------------------
    def parse_article(self, response: Response) -> Iterator[ArticleItem]:
        ref = response.meta.get("archive_warc")
        if ref and ref.get("revisit") and self.incremental.get(response.url) is not None:
            # Same bytes as the capture its version was parsed from: nothing new.
            # (An unknown URL's earlier capture may never have been parsed, if
            # a crash came in between: then it is parsed now.)
            self.crawler.stats.inc_value("archive/unchanged")
            return
        fields = ArticlePage(response, self.profile).fields()
        fields["url"] = response.url
        item = ArticleItem(
            **fields,
            fetched_at=capture_start(response.request).isoformat(timespec="seconds"),
            http_status=response.status,
            crawl_id=self.crawl_id,
            extractor=EXTRACTOR_VERSION,
            warc=ref,
            site=self.profile.name,
            section=self.profile.section,
        )
        item.content_hash = content_hash(item)
        yield item


def _state_file(jobdir: str) -> Path:
    return Path(jobdir) / "portal-archive.crawl-id"


def resumed_crawl_id(jobdir: str | None) -> str | None:
    """A resumed crawl (same JOBDIR) keeps its crawl id."""
    if jobdir and _state_file(jobdir).is_file():
        return _state_file(jobdir).read_text(encoding="utf-8").strip() or None
    return None


def remember_crawl_id(jobdir: str, crawl_id: str) -> None:
    Path(jobdir).mkdir(parents=True, exist_ok=True)
    _state_file(jobdir).write_text(crawl_id + "\n", encoding="utf-8")
