"""Scrapy's downloader, holding each slot to its concurrency under the asyncio reactor.

Politeness rests on `CONCURRENT_REQUESTS_PER_DOMAIN`: one site, at most that
many requests at once.  Scrapy 2.19's `Downloader._process_queue` starts a
download as an asyncio task and counts it in `slot.transferring` only once
the task runs, on the loop's next turn; the loop that fills the slot sees no
request in flight and starts every queued one at once.  With no download
delay (or answers slower than the delay) a site set to one request at a time
received a dozen.  Here a request is counted when its download is scheduled.

This overrides a private method (pyproject.toml pins Scrapy to the tested
minor release); `check_internals` says which piece is gone if one is, and the
crawl stops at its start (exit 3) rather than hammer a portal.
"""

from __future__ import annotations

from time import monotonic

from scrapy.core.downloader import Downloader, Slot
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import _schedule_coro

from crawler.capture import _refuse, _unsupported


def _missing(piece: str, detail: str) -> NotConfigured:
    return NotConfigured(_unsupported(piece, detail, "Per-site concurrency", "crawler/downloader.py"))


def check_internals() -> None:
    """Raise NotConfigured, naming the piece, unless the parts this class relies on are there."""
    for name in ("_process_queue", "_latercall", "_wait_for_download", "_download"):
        if not callable(getattr(Downloader, name, None)):
            raise _missing(f"scrapy.core.downloader.Downloader.{name}", "no such method")
    for name in ("queue", "transferring", "latercall", "lastseen"):
        if not hasattr(Slot(1, 0, 0), name):
            raise _missing(f"scrapy.core.downloader.Slot.{name}", "no such attribute")


class PoliteDownloader(Downloader):
    """`DOWNLOADER`: Scrapy's own, with a request counted against its slot as soon as it is scheduled."""

    def __init__(self, crawler):  # type: ignore[no-untyped-def]
        try:
            check_internals()
        except NotConfigured as error:
            _refuse(crawler, str(error))
        super().__init__(crawler)

    def _process_queue(self, slot: Slot) -> None:
        if slot.latercall:
            return  # a delayed turn is already booked
        now = monotonic()
        delay = slot.download_delay()
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
