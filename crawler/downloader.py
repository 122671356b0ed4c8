"""Scrapy's downloader, holding each slot to its concurrency under the asyncio reactor.

Politeness rests on `CONCURRENT_REQUESTS_PER_DOMAIN`: one site, at most that
many requests at once.  Scrapy 2.19's `Downloader._process_queue` starts a
download as an asyncio task and counts it in `slot.transferring` only once
the task runs, on the loop's next turn; the loop that fills the slot sees no
request in flight and starts every queued one at once.  With no download
delay (or answers slower than the delay) a site set to one request at a time
received a dozen.  Here a request is counted when its download is scheduled.

A site is also one slot whatever host name a request uses: Scrapy keys a
slot by host name, so a portal linked as both `www.` and bare (or the
replica as 127.0.0.1 and localhost) got its delay, its concurrency and
AutoThrottle's back-off once per name.  Here the names the spider knows as
the site's (`site_hosts`, from the profile) and a leading `www.` fold onto
one slot.

And a site's robots.txt `Crawl-delay` (for our user agent, else for `*`),
which Scrapy reads but never applies, is the least delay between the site's
requests, up to AUTOTHROTTLE_MAX_DELAY, whatever DOWNLOAD_DELAY and
AutoThrottle say.

This overrides a private method (pyproject.toml pins Scrapy to the tested
minor release); `check_internals` says which piece is gone if one is, and the
crawl stops at its start (exit 3) rather than hammer a portal.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from time import monotonic
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.core.downloader import Downloader, Slot
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import _schedule_coro

from crawler.capture import _refuse, _unsupported

logger = logging.getLogger(__name__)


def _missing(piece: str, detail: str) -> NotConfigured:
    return NotConfigured(_unsupported(piece, detail, "Per-site concurrency", "crawler/downloader.py"))


def check_internals() -> None:
    """Raise NotConfigured, naming the piece, unless the parts this class relies on are there."""
    for name in ("_process_queue", "_latercall", "_wait_for_download", "_download", "get_slot_key"):
        if not callable(getattr(Downloader, name, None)):
            raise _missing(f"scrapy.core.downloader.Downloader.{name}", "no such method")
    for name in ("queue", "transferring", "latercall", "lastseen"):
        if not hasattr(Slot(1, 0, 0), name):
            raise _missing(f"scrapy.core.downloader.Slot.{name}", "no such attribute")


def site_slot(host: str, hosts: Mapping[str, str]) -> str:
    """The slot of a request to `host`: the site's canonical host for any of its names (`hosts`), without `www.`."""
    host = host.lower().rstrip(".")
    bare = host[4:] if host.startswith("www.") else host
    key = hosts.get(host) or hosts.get(bare) or host
    return key[4:] if key.startswith("www.") else key


class PoliteDownloader(Downloader):
    """`DOWNLOADER`: Scrapy's own, with a request counted against its slot as soon as it is scheduled."""

    def __init__(self, crawler):  # type: ignore[no-untyped-def]
        try:
            check_internals()
        except NotConfigured as error:
            _refuse(crawler, str(error))
        super().__init__(crawler)
        self._site_hosts: Mapping[str, str] | None = None
        self._paused: dict[Slot, float] = {}  # a slot's sites wait until then (monotonic), as a Retry-After asked
        self._crawl_delays: dict[str, float] = {}  # slot key -> the robots.txt Crawl-delay of its site
        crawler.signals.connect(self._robots_parsed, signal=signals.robots_parsed)

    def _robots_parsed(self, robotparser, request, **kwargs) -> None:  # type: ignore[no-untyped-def]
        """Keep the Crawl-delay a site's robots.txt asks of us, capped as AutoThrottle's own delays are."""
        if getattr(self.crawler.spider, "unthrottled", False):
            return
        crawl_delay = getattr(robotparser, "crawl_delay", None)
        settings = self.crawler.settings
        agent = settings.get("ROBOTSTXT_USER_AGENT") or settings.get("USER_AGENT") or ""
        asked = crawl_delay(agent) if crawl_delay else None
        if not asked or asked <= 0:
            return
        delay = min(float(asked), settings.getfloat("AUTOTHROTTLE_MAX_DELAY"))
        key = self.get_slot_key(request)
        self._crawl_delays[key] = max(delay, self._crawl_delays.get(key, 0.0))
        logger.info("robots.txt of %s asks for %ss between requests: waiting %.1fs", urlsplit(request.url).netloc,
                    asked, delay)

    def _least_delay(self, slot: Slot) -> float:
        """The Crawl-delay of the slot's site, if its robots.txt gave one."""
        if not self._crawl_delays:
            return 0.0
        key = next((key for key, known in self.slots.items() if known is slot), None)
        return self._crawl_delays.get(key, 0.0) if key is not None else 0.0

    def pause(self, key: str | None, seconds: float) -> None:
        """No request to the slot `key` (a site) starts for `seconds`: a 429 or 503 with Retry-After asks the
        site's visitor to wait, not one request of it while the others go on."""
        slot = self.slots.get(key)
        if slot is not None:
            self._paused[slot] = max(self._paused.get(slot, 0.0), monotonic() + seconds)

    def get_slot_key(self, request) -> str:  # type: ignore[no-untyped-def]
        key = super().get_slot_key(request)
        if request.meta.get(self.DOWNLOAD_SLOT) is not None or self.ip_concurrency:
            return key  # a slot chosen by hand, or by IP address (which already joins a site's names)
        if self._site_hosts is None and self.crawler.spider is not None:
            self._site_hosts = getattr(self.crawler.spider, "site_hosts", None) or {}
        return site_slot(key, self._site_hosts or {})

    def _process_queue(self, slot: Slot) -> None:
        if slot.latercall:
            return  # a delayed turn is already booked
        now = monotonic()
        paused = self._paused.get(slot, now) - now
        if paused > 0:
            slot.latercall = call_later(paused, self._latercall, slot)
            return
        self._paused.pop(slot, None)
        delay = max(slot.download_delay(), self._least_delay(slot))
        if delay:
            penalty = delay - now + slot.lastseen
            if penalty > 0:
                slot.latercall = call_later(penalty, self._latercall, slot)
                return
        while slot.queue and slot.free_transfer_slots() > 0:
            slot.lastseen = now
            request, queue_dfd = slot.queue.popleft()
            # Counted now; `_download` adds it again (a set) and removes it when the answer is in.
            slot.transferring.add(request)
            _schedule_coro(self._wait_for_download(slot, request, queue_dfd))
            if delay:  # one at a time, `delay` apart
                self._process_queue(slot)
                break
