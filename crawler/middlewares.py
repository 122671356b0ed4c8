"""Downloader middlewares for servers that misbehave.

The first two sit above Scrapy's RetryMiddleware (550), so they see a response first; the robots.txt one
below it, so it sees what the retries ended with.
The WARC capture has already happened (at `response_downloaded`), so every
attempt, truncated or refused, stays in the archive as evidence.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware as _MetaRefresh
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response

from crawler.capture import truncation

logger = logging.getLogger(__name__)


class TruncatedRetryMiddleware:
    """Retry a response whose connection dropped mid-body; give up loudly.

    DOWNLOAD_FAIL_ON_DATALOSS is off so that the partial body reaches the
    WARC (with WARC-Truncated); here the request is retried like a 5xx, and a
    body still incomplete after RETRY_TIMES is never parsed as an article.
    """

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "TruncatedRetryMiddleware":
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if truncation(response) is None:
            return response
        retry = get_retry_request(request, spider=self.crawler.spider, reason="truncated body")
        if retry is not None:
            return retry
        self.crawler.stats.inc_value("archive/gave_up/truncated")
        raise IgnoreRequest(f"body still truncated after retries: {request.url}")


def retry_after_seconds(value: str) -> float | None:
    """How long a Retry-After header asks to wait: delay-seconds or an HTTP-date (RFC 9110, 10.2.3), a date
    past being 0; None for anything else."""
    value = value.strip()
    if value.isascii() and value.isdigit():  # '²' isdigit(), and float() refuses it
        return float(value)
    if value.isdigit() or not re.search(r"[A-Za-z]{3}", value):
        return None  # a number of another script, -5, 2.5: no delay-seconds, and no date either
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)  # an HTTP-date is GMT
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class RetryAfterMiddleware:
    """Wait what a 429 or 503 asks (Retry-After: seconds or a date) before the retry, up to a cap.

    The whole site waits, not only the request that was refused: its download slot is paused
    (`PoliteDownloader.pause`) as the answer arrives, before the slot starts its next request, so the retry
    and every other request to the site start after the wait.  Under another DOWNLOADER, the refused request
    waits alone.
    """

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.cap = crawler.settings.getfloat("ARCHIVE_RETRY_AFTER_MAX")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "RetryAfterMiddleware":
        middleware = cls(crawler)
        crawler.signals.connect(middleware.response_downloaded, signal=signals.response_downloaded)
        return middleware

    def _wait(self, request: Request, response: Response) -> float | None:
        """The wait this answer asks for, capped (counted and logged); None if it asks for none."""
        if response.status not in (429, 503):
            return None
        value = response.headers.get(b"Retry-After", b"").decode("latin-1").strip()
        asked = retry_after_seconds(value)
        if asked is None or asked <= 0 or self.cap <= 0:
            return None
        delay = min(asked, self.cap)
        self.crawler.stats.inc_value("archive/retry_after_waits")
        logger.info("%s answered %d with Retry-After: %s; its site waits %.1fs", request.url, response.status,
                    value, delay)
        return delay

    def _site_wide(self) -> bool:
        try:
            downloader = self.crawler.engine.downloader
        except (AttributeError, RuntimeError):  # no engine yet (Scrapy raises RuntimeError): one request waits
            return False
        return callable(getattr(downloader, "pause", None))

    def response_downloaded(self, response: Response, request: Request, spider: object = None) -> None:
        # Every response passes here: the status first, the downloader's kind only for a 429 or 503.
        if response.status not in (429, 503) or not self._site_wide():
            return
        delay = self._wait(request, response)
        if delay is not None:
            self.crawler.engine.downloader.pause(request.meta.get("download_slot"), delay)

    async def process_response(self, request: Request, response: Response) -> Response:
        if not self._site_wide():
            delay = self._wait(request, response)
            if delay is not None:
                await asyncio.sleep(delay)
        return response


DISALLOW_ALL = b"User-agent: *\nDisallow: /\n"


def is_robots_request(request: Request) -> bool:
    """The robots.txt request Scrapy's RobotsTxtMiddleware makes for a host (not one the spider asked for)."""
    return bool(request.meta.get("dont_obey_robotstxt")) and urlsplit(request.url).path == "/robots.txt"


class RobotsUnreachableMiddleware:
    """A robots.txt the site cannot serve disallows the whole site for this crawl, as RFC 9309 (2.3.1.4) asks.

    Scrapy read a 5xx error page as robots.txt (no rules: everything allowed) and took a robots.txt that
    never answered (a timeout, a refused connection) for none at all, so a section the site disallows was
    crawled whenever its server was failing.  Below RetryMiddleware (550): it sees the answer once the
    retries are spent.  The answer as sent is in the WARC files already; the crawl counts the site's
    pages it then cannot fetch, and a 404 (no robots.txt) still allows everything.
    """

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "RobotsUnreachableMiddleware":
        if not crawler.settings.getbool("ROBOTSTXT_OBEY"):
            raise NotConfigured
        return cls(crawler)

    def _unreachable(self, request: Request, why: str) -> Response:
        self.crawler.stats.inc_value("archive/problems/robots_txt_unreachable")
        logger.warning("%s could not be read (%s): nothing on %s is fetched this crawl (RFC 9309: an "
                       "unreachable robots.txt disallows everything)", request.url, why, urlsplit(request.url).netloc)
        return Response(request.url, status=200, body=DISALLOW_ALL, request=request)

    def process_response(self, request: Request, response: Response) -> Response:
        if is_robots_request(request) and (response.status >= 500 or response.status == 429):
            return self._unreachable(request, f"HTTP {response.status}")
        return response

    def process_exception(self, request: Request, exception: Exception) -> Response | None:
        if is_robots_request(request) and not isinstance(exception, IgnoreRequest):
            return self._unreachable(request, f"{type(exception).__name__}: {exception}".rstrip(": "))
        return None


class MetaRefreshMiddleware(_MetaRefresh):
    """Scrapy's, except that a page whose <base href> is no URL (`http://[::1`) stays a page to parse: Scrapy's
    raises ValueError resolving it, and the page was lost before the spider saw it."""

    def process_response(self, request: Request, response: Response) -> Request | Response:
        try:
            return super().process_response(request, response)
        except ValueError as error:
            logger.warning("Meta refresh of %s not followed: %s", request.url, error)
            return response
