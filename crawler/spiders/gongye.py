"""The section spider: every section of a profile, list pages → articles → items.

    scrapy crawl gongye                              # the Tengzhou 工业经济 column (polite)
    scrapy crawl gongye -a profile=weishan.toml -a sections=政务要闻
    scrapy crawl gongye -a replica=http://127.0.0.1:8000
    scrapy crawl gongye -a start_url=http://…/index.html

Each section's list is walked as its pagination says (`crawler.pagination`:
createPageHTML and 下一页 links, Hanweb datastores and dataproxy.jsp POSTs,
JSON APIs), and the crawl never leaves a section's path.  Incremental by
default, section by section: paging stops after ARCHIVE_KNOWN_PAGES_STOP list
pages that hold only known articles (unless ARCHIVE_FULL_LISTING, or the
section's last listing was not settled), and known articles are rechecked by
the policy in `crawler.recheck`.  (The name `gongye` is kept for Scrapyd jobs.)
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
from archive.catalogue.keys import HOME_PATHS
from crawler.capture import capture_start
from crawler.extensions.incremental import IncrementalState, rebase
from crawler.items import ArticleItem, ListingItem, content_hash
from crawler.pages.article import EXTRACTOR_VERSION, MISSING_CODES, ArticlePage
from crawler.pagination import ListRequest, first_request, read_list
from crawler.politeness import apply_user_agent, is_loopback
from crawler.profile import ProfileError, Section, SiteProfile, load_profile
from crawler.recheck import RecheckPolicy, conditional_headers
from crawler.urls import canonical_url

logger = logging.getLogger(__name__)

# Answers a recheck must see rather than have middlewares act on.
RECHECK_STATUSES = [301, 302, 303, 307, 308, 304, 404, 410]


class SectionWalk:
    """Where the walk of one section's list stands (its own incremental state)."""

    def __init__(self, profile: SiteProfile, section: Section):
        self.section = section
        self.profile = profile.for_section(section.name)  # what page objects see
        self.known_pages_in_a_row = 0
        self.stale_pages_in_a_row = 0
        self.recent_pages: deque[frozenset[str]] = deque(maxlen=5)
        self.list_pages = 0
        self.walked: set[tuple[str, bytes]] = set()  # the list requests answered (a next link back to one ends the walk)
        self.announced = 0  # the most pages any list answer of this walk said the list has
        self.complete = False  # every list page was walked
        self.settled = False  # everything the listing shows is known or requested

    @property
    def name(self) -> str:
        return self.section.name


def new_crawl_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z"


class GongyeSpider(scrapy.Spider):
    name = "gongye"
    unthrottled = False  # delays lifted for a loopback target (ARCHIVE_LOOPBACK_UNTHROTTLED)

    def __init__(
        self,
        profile: str | SiteProfile | None = None,
        replica: str | None = None,
        start_url: str | None = None,
        crawl_id: str | None = None,
        sections: str | list[str] | tuple[str, ...] | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.profile = select_profile(profile, replica, start_url, sections)
        self.start_url = self.profile.start_url
        self.allowed_domains = list(self.profile.allowed_domains)
        self.crawl_id = crawl_id or new_crawl_id()
        # What the archive holds; the Incremental extension fills it when the spider opens.
        self.incremental = IncrementalState(hosts=self.profile.host_map())
        # The site's host names, one download slot for all of them (crawler.downloader): one server's politeness.
        self.site_hosts = self.profile.host_map()
        # Keys of the known articles rechecked so far (memory must not grow with
        # the section); Scrapy's dupefilter already drops a new URL seen twice.
        self.rechecked: set[str] = set()
        self.asked: set[str] = set()  # new articles requested and not yet answered (parsed, or failed)
        # New articles requested this crawl: one listed twice (a pinned row, a row that moved to the next page
        # while the list was walked) is requested once, not asked again for the dupefilter to drop unanswered.
        self.requested: set[str] = set()
        self.walks = {section.name: SectionWalk(self.profile, section) for section in self.profile.sections}
        self.resumed = False

    @property
    def listing_complete(self) -> bool:
        """Every section's list was walked to its end."""
        return all(walk.complete for walk in self.walks.values())

    @property
    def sections_complete(self) -> list[str]:
        """The sections whose list was walked to its end (their articles missing from it are gone)."""
        return [walk.name for walk in self.walks.values() if walk.complete]

    def walk_of(self, response_or_meta: Any) -> SectionWalk:
        meta = getattr(response_or_meta, "meta", response_or_meta) or {}
        return self.walks.get(meta.get("section")) or next(iter(self.walks.values()))

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> "GongyeSpider":
        settings = crawler.settings
        kwargs.setdefault("profile", settings.get("ARCHIVE_PROFILE"))
        kwargs.setdefault("sections", settings.get("ARCHIVE_SECTIONS"))
        resumed = resumed_crawl_id(settings.get("JOBDIR"))
        kwargs.setdefault("crawl_id", settings.get("ARCHIVE_CRAWL_ID") or resumed)
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.resumed = bool(resumed and resumed == spider.crawl_id)
        # Built here, from the settings as given (-s included), and refused for
        # a real portal without a contact (crawler.politeness).
        apply_user_agent(crawler.settings, spider.start_url)
        if settings.getbool("ARCHIVE_LOOPBACK_UNTHROTTLED") and is_loopback(spider.start_url):
            # The replica is ours: no need to be polite to it (nor to a Crawl-delay: crawler.downloader).
            spider.unthrottled = True
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

    def may_stop_early(self, walk: SectionWalk) -> bool:
        """Stopping at pages of known articles is safe only if all deeper pages were seen before."""
        return not self.full_listing and self.incremental.settled_for(walk.name)

    async def start(self) -> Any:
        if self.resumed:
            self.crawler.stats.set_value("archive/resumed", 1)
        for walk in self.walks.values():
            yield self.list_request(walk, first_request(walk.section))

    def in_section(self, url: str, walk: SectionWalk) -> bool:
        return self.profile.in_scope(url, walk.section)

    def list_request(self, walk: SectionWalk, request: ListRequest) -> scrapy.Request:
        """A request of the section's list walk (a page, a dataproxy POST, an API page)."""
        return scrapy.Request(request.url, method=request.method, body=request.body or None,
                              headers=request.headers or None, callback=self.parse_list, errback=self.not_fetched,
                              meta={"section": walk.name, "list_request": request.as_dict()})

    def not_fetched(self, failure: Any) -> None:
        """A list page or article that gave no page to parse: a download error, a redirect loop, an answer
        too large or that does not decode, an HTTP error, robots.txt.  Counted as a problem, so that the
        crawl never says everything was archived when a page it meant to archive is not (what reached
        the wire is in the WARC files all the same)."""
        request = getattr(failure, "request", None)
        kind = "list_page" if request is not None and request.callback == self.parse_list else "article"
        self.crawler.stats.inc_value(f"archive/problems/{kind}_not_fetched")
        if request is not None:
            self.answered(request)
        logger.warning("Not archived: %s %s: %s", kind.replace("_", " "), getattr(request, "url", "?"),
                       failure.getErrorMessage() or failure.type.__name__)

    # -- list pages ------------------------------------------------------
    def parse_list(self, response: Response) -> Iterator[Any]:
        walk = self.walk_of(response)
        asked = response.meta.get("list_request")
        request = ListRequest.from_dict(asked) if asked else first_request(walk.section)
        view = read_list(request, response, walk.profile)
        stats = self.crawler.stats
        stats.inc_value("archive/list_pages")
        walk.list_pages += 1
        walk.walked.add((request.url, request.body))
        walk.announced = max(walk.announced, view.page_count or 0)
        urls = list(dict.fromkeys(canonical_url(entry.url, self.tracking) for entry in view.entries))
        in_scope = [url for url in urls if self.in_section(url, walk)]
        stats.inc_value("archive/out_of_scope", len(urls) - len(in_scope))
        urls = in_scope
        yield ListingItem(response.url, urls, view.page_index, view.page_count,
                          warc=response.meta.get("archive_warc"), section=walk.name)
        # A page that shows nothing this crawl has not seen is what a pagination trap looks like.
        fresh = [url for url in urls if not any(url in page for page in walk.recent_pages)]
        walk.recent_pages.append(frozenset(urls))
        walk.stale_pages_in_a_row = 0 if fresh else walk.stale_pages_in_a_row + 1
        all_known = bool(urls)
        for url in urls:
            known = self.incremental.get(url)
            if known is None:
                all_known = False
                request = response.follow(url, callback=self.parse_article, errback=self.not_fetched,
                                          meta={"section": walk.name})
                if request.url in self.requested:
                    continue
                self.requested.add(request.url)
                self.ask(request.url)  # as Scrapy escaped it (a space, Chinese characters): what answers carry
                yield request
            elif known.key in self.rechecked:
                continue
            elif self.policy.due(known, datetime.now(timezone.utc)) or (
                    known.status == "withdrawn" and self.policy.mode != "none"):
                # A withdrawn article the listing shows again is looked at again: it may be back.
                yield self.recheck(known, url, walk)
        walk.known_pages_in_a_row = walk.known_pages_in_a_row + 1 if all_known else 0
        following, cut_short = view.next, False
        if following and (following.url, following.body) in walk.walked:
            # The last page's 下一页 back to the first (or to any page walked): the listing ends here.
            following = None
        elif following and walk.stale_pages_in_a_row >= 2:
            stats.inc_value("archive/traps/pagination")
            logger.warning("List pages repeat nothing new (a pagination trap?); stopped at %s", response.url)
            following, cut_short = None, True
        elif following and walk.list_pages >= self.max_list_pages:
            stats.inc_value("archive/traps/max_list_pages")
            logger.warning("Reached ARCHIVE_MAX_LIST_PAGES (%d) at %s", self.max_list_pages, response.url)
            following, cut_short = None, True
        # A next page must stay in the section; a data request (dataproxy, API) on the site.
        allowed = following is not None and (
            self.in_section(following.url, walk) if following.kind == "page" else self.profile.on_site(following.url))
        if allowed:
            if not self.may_stop_early(walk) or walk.known_pages_in_a_row < self.stop_after:
                yield self.list_request(walk, following)
                return
            stats.set_value(f"archive/listing_stopped_at/{walk.name}", response.url)
        else:
            # Only a walk that reached the listing's real end may withdraw what it did not see (gone_from_listing).
            walk.complete = following is None and not cut_short and self.listing_ended(walk, view, urls, response.url)
        # The listing is settled: everything it shows is now known or requested.  Not when a guard cut the
        # walk short: later crawls, stopping early at known pages, would never reach the pages it did not.
        walk.settled = True
        if not cut_short:
            stats.set_value(f"archive/listing_settled/{walk.name}", 1)
            if all(w.settled for w in self.walks.values()):
                stats.set_value("archive/listing_settled", 1)
        yield from self.remaining_rechecks(walk)

    def listing_ended(self, walk: SectionWalk, view: Any, urls: list[str], url: str) -> bool:
        """Whether a list answer with no next page is the end of the listing: not when it lists no article (a
        soft 404, a maintenance or firewall page answering 200), nor when its pager announced more pages."""
        # The most pages any answer of the walk announced: a stale page 2 saying 2 pages (a CDN's old copy) or a
        # short API answer without counts, after page 1 said 4, is not the listing's end.
        pages = max(view.page_count or 0, walk.announced)
        if view.page_index is not None and view.page_index + 1 < pages:
            self.crawler.stats.inc_value("archive/problems/list_page_without_next")
            logger.warning("List page %s is page %d of %d but leads to no next page: the listing was not walked to "
                           "its end", url, view.page_index + 1, pages)
            return False
        if urls:
            return True
        if walk.list_pages > 1 or any(known.section == walk.name for known in self.incremental.known.values()):
            # A column that had articles does not empty itself: what answered is not its listing.
            self.crawler.stats.inc_value("archive/problems/empty_list_page")
            logger.warning("List page %s lists no article of the section: the listing was not walked to its end "
                           "(no article is taken for withdrawn)", url)
        return False

    def remaining_rechecks(self, walk: SectionWalk) -> Iterator[scrapy.Request]:
        """Due articles of the section the listing did not reach (deeper pages, or gone from it).

        Articles of no section this crawl walks wait for the last section to settle."""
        now = datetime.now(timezone.utc)
        last = all(w.settled for w in self.walks.values())
        for key, known in self.incremental.known.items():
            if key in self.rechecked or not self.policy.due(known, now):
                continue
            if known.section == walk.name or (last and known.section not in self.walks):
                # Where the crawl runs now: the site may have moved host or scheme since.
                yield self.recheck(known, rebase(known.url, walk.section.start_url), walk)

    def recheck(self, known: KnownArticle, url: str, walk: SectionWalk) -> scrapy.Request:
        self.rechecked.add(known.key)
        self.crawler.stats.inc_value("archive/rechecks")
        return scrapy.Request(
            url,
            headers=conditional_headers(known),
            callback=self.parse_recheck,
            errback=self.not_fetched,
            meta={"dont_redirect": True, "handle_httpstatus_list": RECHECK_STATUSES, "section": walk.name},
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
            walk = self.walk_of(response)
            if target and self.in_section(target, walk):
                yield scrapy.Request(target, callback=self.parse_article, errback=self.not_fetched,
                                     meta={"section": walk.name})
            elif target and self.profile.on_site(target) and urlsplit(target).path in HOME_PATHS:
                stats.inc_value("archive/withdrawn_seen")  # the catalogue records it (redirect_home)
            else:
                # To an error page, another site: whether the article is gone, the answer does not say.
                stats.inc_value("archive/problems/article_redirected_away")
                logger.warning("Recheck of %s redirects to %s, which is no article of the section: not known "
                               "whether it was withdrawn", response.url, target or "(no Location)")

    # -- articles --------------------------------------------------------
    def ask(self, url: str) -> None:
        """A new article requested: it must be answered, by its page or by `not_fetched`."""
        if url not in self.asked:
            self.asked.add(url)
            self.crawler.stats.inc_value("archive/articles_asked")

    def answered(self, request: Any) -> None:
        """The request (or the first of its redirects) of an asked article got its page, or failed."""
        first = (request.meta.get("redirect_urls") or [request.url])[0]
        if first in self.asked:
            self.asked.discard(first)
            self.crawler.stats.inc_value("archive/articles_answered")

    def closed(self, reason: str) -> None:
        # Asked, never answered: dropped on the way without an error (a redirect into a URL the crawl
        # had fetched already, say).  `crawl_outcome` counts them from the two stats; here, which.
        for url in sorted(self.asked)[:20]:
            logger.warning("Not archived: article %s got no answer the crawl could parse", url)

    def parse_article(self, response: Response) -> Iterator[ArticleItem]:
        self.answered(response.request)
        ref = response.meta.get("archive_warc")
        known = self.incremental.get(response.url)
        if (ref and ref.get("revisit") and known is not None and known.payload_digest
                and ref.get("payload_digest") == known.payload_digest):
            # Same bytes as the capture its current version was parsed from: nothing new.  (The same bytes as
            # an earlier capture that was never parsed, when a crawl was killed in between, are parsed now:
            # that capture may hold an edit.)
            self.crawler.stats.inc_value("archive/unchanged")
            return
        walk = self.walk_of(response)
        if response.meta.get("redirect_urls") and not self.in_section(response.url, walk):
            # Redirected out of the section (to the home page, an error page, another site): no article of it.
            self.crawler.stats.inc_value("archive/problems/article_redirected_away")
            logger.warning("Not archived: article %s redirects to %s, which is no article of the section",
                           response.meta["redirect_urls"][0], response.url)
            return
        fields = ArticlePage(response, walk.profile).fields()
        fields["url"] = response.url
        problems = fields.get("problems") or []
        if "error_page" in problems and not fields.get("published"):  # a soft 404: a message page, no article
            if known is None:
                # Listed, but answering "页面不存在": not archivable now (the next crawl asks again).
                self.crawler.stats.inc_value("archive/problems/article_error_page")
                logger.warning("Not archived: article %s answers a page saying it does not exist", response.url)
                return
            # A known article's soft 404: its withdrawal (the catalogue's), not missing fields to count.
            fields["problems"] = [code for code in problems if code not in MISSING_CODES]
        item = ArticleItem(
            **fields,
            fetched_at=capture_start(response.request).isoformat(timespec="seconds"),
            http_status=response.status,
            crawl_id=self.crawl_id,
            extractor=EXTRACTOR_VERSION,
            warc=ref,
            site=self.profile.name,
            section=walk.name,
        )
        item.content_hash = content_hash(item)
        yield item


def select_profile(profile: str | SiteProfile | None, replica: str | None = None, start_url: str | None = None,
                   sections: str | list[str] | tuple[str, ...] | None = None) -> SiteProfile:
    """The profile a crawl walks: loaded (a name or a path), moved to the replica, cut to
    `sections` (names, or one comma-separated string), started at `start_url` (its first section).

    Raises ProfileError for a bad profile or an unknown section."""
    if not isinstance(profile, SiteProfile):
        profile = load_profile(profile or "tengzhou")
    if isinstance(sections, str):
        sections = [name.strip() for name in sections.split(",") if name.strip()]
    profile = profile.only(tuple(sections or ()))
    if start_url and len(profile.sections) > 1:
        raise ProfileError(f"a start URL is for one section: name it (--section), one of "
                           f"{', '.join(profile.section_names)}")
    if replica:
        profile = profile.with_base_url(replica)
    if start_url:
        profile = profile.with_start_url(start_url)
    return profile


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
