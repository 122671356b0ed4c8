"""Downloader middlewares for servers that misbehave.

Both sit above Scrapy's RetryMiddleware (550), so they see a response first.
The WARC capture has already happened (at `response_downloaded`), so every
attempt, truncated or refused, stays in the archive as evidence.
"""

from __future__ import annotations

import asyncio
import logging

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware as _MetaRefresh
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest
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


class RetryAfterMiddleware:
    """Wait what a 429 or 503 asks (Retry-After, seconds) before the retry, up to a cap."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.cap = crawler.settings.getfloat("ARCHIVE_RETRY_AFTER_MAX")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "RetryAfterMiddleware":
        return cls(crawler)

    async def process_response(self, request: Request, response: Response) -> Response:
        if response.status not in (429, 503):
            return response
        value = response.headers.get(b"Retry-After", b"").decode("latin-1").strip()
        if value.isascii() and value.isdigit() and self.cap > 0:  # '²' isdigit(), and float() refuses it
            delay = min(float(value), self.cap)
            self.crawler.stats.inc_value("archive/retry_after_waits")
            logger.info("%s asked to retry after %ss; waiting %ss", request.url, value, delay)
            await asyncio.sleep(delay)
        return response


class MetaRefreshMiddleware(_MetaRefresh):
    """Scrapy's, except that a page whose <base href> is no URL (`http://[::1`) stays a page to parse: Scrapy's
    raises ValueError resolving it, and the page was lost before the spider saw it."""

    def process_response(self, request: Request, response: Response) -> Request | Response:
        try:
            return super().process_response(request, response)
        except ValueError as error:
            logger.warning("Meta refresh of %s not followed: %s", request.url, error)
            return response
