"""Every HTTP exchange into WARC files, folded into the catalogue as it is written.

One component owns the WARC writer and the catalogue, so records and
catalogue rows follow the crawl in the same order (which is what lets
`reindex` rebuild the same catalogue from the WARC files alone):

* at `response_downloaded` (before any middleware decodes anything) it
  writes the exchange: a request/response pair, or a `revisit` when the
  server answered 304 or sent the payload it sent last time.  A reference
  to the record goes into `response.meta["archive_warc"]`;
* as an item pipeline it writes a `metadata` record per article (the
  extracted fields) and per list page (the article URLs it showed), named
  `urn:pageinfo:<page URL>` so that no indexer takes it for the page, and
  linked to the page's response by WARC-Concurrent-To and WARC-Refers-To;
* at start and end it writes `crawl-start` and `crawl-end` metadata records.

A repeated image or attachment (any non-HTML payload) whose digest the
archive already holds, at any URL and from any crawl or worker sharing the
catalogue, is written as an `identical-payload-digest` revisit of the first
capture (`Catalogue.first_response_with_payload`); HTML pages are kept in
full unless the same URL answered the same bytes before.

Each WARC file the writer finishes is announced with the `warc_file_finished`
signal (`path=`), where the store extension (`crawler.extensions.store`)
starts its upload.

A catalogue that goes away mid-crawl (a PostgreSQL restart) is waited for:
the events applied since the last commit are kept, the catalogue is opened
again with growing pauses for up to ARCHIVE_CATALOGUE_WAIT seconds, and they
are applied again (the fold is idempotent) before the crawl goes on
(`archive.catalogue.reconnect`).  Only then does the crawl stop.

A write error, in the WARC writer or the catalogue, stops the crawl loudly:
it is logged, counted, and the spider is closed with reason
`warc_write_error` or `catalogue_write_error`.  Signal handlers would
otherwise swallow it.

An article reaches the catalogue only once its JSONL line is written
(`item_scraped`); an article the JSONL pipeline could not write (dropped,
or failed with an error) never does, so the next crawl fetches it again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import time
from base64 import b32encode
from collections import OrderedDict, deque
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.misc import load_object
from twisted.internet import task

from archive.catalogue import CatalogueError, open_catalogue
from archive.catalogue.events import CRAWL_URI, Capture, Metadata, Position, http_fields
from archive.catalogue.rebuild import catch_up
from archive.catalogue.reconnect import CatalogueLost, Reconnecting
from archive.lock import DataLock
from archive.warc.http import HttpHeadError, parse_head
from archive.warc.records import pageinfo_uri
from archive.warc.writer import RecordRef, recover
from crawler import __version__
from crawler.capture import capture_start, request_head, response_head, truncation
from crawler.items import ArticleItem, ListingItem, item_fields
from crawler.outcome import crawl_outcome
from crawler.politeness import UNNAMED_OPERATOR, resolved

logger = logging.getLogger(__name__)

META_KEY = "archive_warc"
WRITE_ERROR = "warc_write_error"
CATALOGUE_ERROR = "catalogue_write_error"
COMMIT_EVERY = 2.0  # seconds between catalogue commits during a crawl
SEEN_PAYLOADS = 10_000  # payloads of this crawl remembered for deduplication before the catalogue has them

# Sent with `path=` (a finished WARC file in DATA/warc/) each time the writer finishes one.
warc_file_finished = object()


def _sha1(data: bytes) -> str:
    return "sha1:" + b32encode(hashlib.sha1(data).digest()).decode("ascii")


class WarcPipeline:
    def __init__(self, crawler: Crawler):
        settings = crawler.settings
        if not settings.getbool("ARCHIVE_WARC_ENABLED"):
            raise NotConfigured("ARCHIVE_WARC_ENABLED is off")
        self.crawler = crawler
        self.stats = crawler.stats
        self.data = Path(settings["ARCHIVE_DATA_DIR"])
        self.writer = None
        self.catalogue: Reconnecting | None = None
        self.lock = DataLock(self.data)
        self.failed = False
        self.failed_what = "WARC writer"  # which part failed, for the items dropped after it
        self.uncommitted = False
        # Folds are committed every COMMIT_EVERY seconds by a timer, never per event, and never left open
        # while the crawl waits for the site (a polite delay, a slow server): an open transaction would hold
        # the rows of the articles it touched from every other crawl meanwhile.
        self.committer = task.LoopingCall(self._commit_due)
        # Events reach the catalogue in record order, but an article's record
        # only once its JSONL line is written (item_scraped): a kill in between
        # leaves the article unknown, so the next crawl fetches it again and
        # its line is not lost.  Events behind a waiting article wait too.
        self.queue: deque[list] = deque()  # [event or None, ready]; None: an article not delivered
        # Non-HTML payloads written in full by this crawl (digest -> what a revisit refers to): their
        # captures may wait in `queue` behind an article, so the catalogue may not have them yet.
        self.seen_payloads: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.waiting: dict[int, list] = {}  # id(item) -> its queue entry
        crawler.signals.connect(self.capture, signal=signals.response_downloaded)
        crawler.signals.connect(self.item_delivered, signal=signals.item_scraped)
        crawler.signals.connect(self.item_lost, signal=signals.item_dropped)
        crawler.signals.connect(self.item_lost, signal=signals.item_error)
        crawler.signals.connect(self.finish, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "WarcPipeline":
        return cls(crawler)

    # -- start and end ---------------------------------------------------
    def open_spider(self) -> None:
        try:
            self._open()
        except Exception as error:  # noqa: BLE001 - reported (the crawl then fails, exit 3), then re-raised
            self._fail(error, CATALOGUE_ERROR if isinstance(error, CatalogueError) else WRITE_ERROR)
            raise

    def _open(self) -> None:
        self.lock.acquire()
        directory = self.data / "warc"
        directory.mkdir(parents=True, exist_ok=True)
        for result in recover(directory):
            logger.warning("Recovered an unfinished WARC file: %s", result)
            self.stats.inc_value("archive/warc_recovered")
        url = settings_catalogue(self.crawler)
        catalogue = open_catalogue(self.data, url)
        try:
            touched = catch_up(catalogue, self.data)
        except BaseException:
            catalogue.close()
            raise
        if touched:
            logger.warning("Catalogue caught up with %d WARC files it had not fully folded in", touched)
            self.stats.inc_value("archive/catalogue_reconciled", touched)
        self.catalogue = Reconnecting(lambda: open_catalogue(self.data, url), catalogue=catalogue,
                                      wait=self.crawler.settings.getfloat("ARCHIVE_CATALOGUE_WAIT"))
        self.committer.start(COMMIT_EVERY, now=False)
        settings = self.crawler.settings
        spider = self.crawler.spider
        self.crawl_id = spider.crawl_id
        writer_class = load_object(settings["ARCHIVE_WARC_WRITER"])
        self.writer = writer_class(
            directory,
            prefix=warc_prefix(settings, spider),
            max_size=settings.getint("ARCHIVE_WARC_MAX_SIZE"),
            compresslevel=settings.getint("ARCHIVE_WARC_COMPRESSLEVEL"),
            warcinfo={
                "software": f"portal-archive/{__version__} (Scrapy; Python {platform.python_version()})",
                "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
                "http-header-user-agent": settings["USER_AGENT"],
                "operator": resolved(settings, "ARCHIVE_OPERATOR") or UNNAMED_OPERATOR,
                "isPartOf": self.crawl_id,
                "description": describe(spider),
            },
            on_finish=self._file_finished,
        )
        self._write_metadata(CRAWL_URI + self.crawl_id, None,
                             {"type": "crawl-start", "settings": crawl_settings(spider)})

    def _file_finished(self, path: Path) -> None:
        self.stats.inc_value("archive/warc_files")
        self.crawler.signals.send_catch_log(signal=warc_file_finished, path=path)

    def item_delivered(self, item: Any) -> None:
        """Its JSONL line is written: the article may enter the catalogue."""
        entry = self.waiting.pop(id(item), None)
        if entry is not None:
            entry[1] = True
            self._drain()

    def item_lost(self, item: Any, **kwargs: Any) -> None:
        """Dropped or failed after its records were written: the catalogue must not know it."""
        entry = self.waiting.pop(id(item), None)
        if entry is not None:
            self._discard(entry)

    def _discard(self, entry: list) -> None:
        event = entry[0]
        entry[0], entry[1] = None, True
        self.stats.inc_value("archive/articles_not_delivered")
        logger.error("Article %s was archived in the WARC files but not delivered to JSONL; the catalogue "
                     "leaves it unknown, so the next crawl fetches it again", event.url if event else "?")
        self._drain()

    def finish(self, spider: Any, reason: str) -> None:
        if self.committer.running:
            self.committer.stop()
        try:
            # An article still waiting never had its line written.
            for entry in list(self.waiting.values()):
                self._discard(entry)
            self.waiting.clear()
            self._drain()
            # The crawl's end is recorded unless the WARC files themselves failed: a crawl stopped by its
            # catalogue (a database gone too long) is then folded, by the next crawl or a reindex, as failed
            # with its exit code, not as interrupted.
            if self.writer is not None and not (self.failed and self.failed_what == "WARC writer"):
                stats = dict(self.stats.get_stats())
                stats["finish_reason"] = reason
                outcome = crawl_outcome(stats)
                self._write_metadata(CRAWL_URI + self.crawl_id, None, {
                    "type": "crawl-end",
                    "status": outcome.label,
                    "exit_code": outcome.code,
                    "reasons": list(outcome.reasons),
                    "listing_complete": bool(getattr(spider, "listing_complete", False)) and reason == "finished",
                    # Only these sections' articles can be gone from their listing (the fold withdraws them).
                    "sections_complete": list(getattr(spider, "sections_complete", [])) if reason == "finished"
                    else [],
                    "stats": {k: v for k, v in stats.items() if isinstance(v, (int, float, str))},
                })
            if self.writer is not None:
                self.writer.close()
                self._attest()
            if self.catalogue is not None and not self.failed:
                self._update_search_index()
        except Exception as error:  # noqa: BLE001 - reported, then re-raised
            self._fail(error)
            raise
        finally:
            if self.catalogue is not None:
                try:
                    self.catalogue.commit()
                except Exception as error:  # noqa: BLE001 - reported; the next crawl catches up from the WARC files
                    self._fail(error, CATALOGUE_ERROR)
                if self.catalogue.reconnects:
                    self.stats.set_value("archive/catalogue_reconnects", self.catalogue.reconnects)
                self.catalogue.close()
                self.catalogue = None
            self.lock.release()

    def _attest(self) -> None:
        """Timestamp the SHA-256 list of this crawl's WARC files (ARCHIVE_TIMESTAMP_URL): capture time attested now.

        A dead authority leaves the list without its token and an error in the log; the crawl itself stands.
        """
        url = resolved(self.crawler.settings, "ARCHIVE_TIMESTAMP_URL")
        if not url or self.failed or not self.writer.finished:
            return
        from archive.evidence.attest import attest_crawl
        from archive.exits import ArchiveError

        try:
            _, token = attest_crawl(self.data / "warc", self.crawl_id, self.writer.finished, url)
        except (ArchiveError, OSError) as error:
            self.stats.inc_value("archive/attestation_failed")
            logger.error("WARC digests of crawl %s not timestamped: %s", self.crawl_id, error)
            return
        self.stats.set_value("archive/attested_files", len(self.writer.finished))
        logger.info("WARC digests of crawl %s timestamped: %s", self.crawl_id, token)

    def _update_search_index(self) -> None:
        """Bring the Chinese search index up to date with this crawl's versions.

        A failure here loses nothing (the versions are in the catalogue; the
        next search or `serve` indexes them): it is logged, not fatal.
        """
        assert self.catalogue is not None
        try:
            self.catalogue.commit()  # the crawl's versions: a failure here is the catalogue's, and fatal
        except Exception as error:  # noqa: BLE001 - a full disk, a dead database
            self._fail(error, CATALOGUE_ERROR)
            return
        started = time.monotonic()
        try:
            written = self.catalogue.update_index()
        except Exception as error:  # noqa: BLE001 - see the docstring
            self.stats.inc_value("archive/search_index_failed")
            logger.error("The search index was not brought up to date (the next search does it): %s", error)
            try:
                self.catalogue.rollback()
            except Exception:  # noqa: BLE001
                pass
            return
        self.stats.set_value("archive/search_index_rows", written)
        logger.info("Search index updated (%d rows) in %.1fs", written, time.monotonic() - started)

    # -- captures --------------------------------------------------------
    def capture(self, response: Response, request: Request) -> None:
        if self.writer is None or self.failed or "cached" in response.flags:
            return
        truncated = truncation(response)
        date = capture_start(request)
        ip = str(response.ip_address) if response.ip_address else None
        http_head = response_head(response)
        try:
            ref, warc_type, revisit_of = self._write_capture(request, response, date, ip, http_head, truncated)
        except (CatalogueError, CatalogueLost) as error:  # asking for the previous capture (a full disk, a lost database)
            self._fail(error, CATALOGUE_ERROR)
            return
        except Exception as error:  # noqa: BLE001 - reported, then the crawl stops
            self._fail(error)
            return
        try:
            status, headers = http_fields(parse_head(http_head))
        except HttpHeadError:  # over 1 MiB: kept as a capture all the same, as reindex keeps it
            status, headers = None, {}
        self._enqueue(Capture(
            crawl_id=self.crawl_id, record_id=ref.record_id, warc_type=warc_type, url=request.url,
            date=ref.date, status=status, content_type=headers.get("content-type"),
            location=headers.get("location"), payload_digest=ref.payload_digest,
            refers_to=revisit_of, truncated=truncated, etag=headers.get("etag"),
            last_modified=headers.get("last-modified"), position=Position(ref.file, ref.offset, ref.length),
        ))
        request.meta[META_KEY] = dict(ref.as_dict(), date=ref.date, revisit=warc_type == "revisit")
        self.stats.inc_value(f"archive/warc_{warc_type}s")
        if truncated:
            self.stats.inc_value(f"archive/truncated/{truncated}")
            logger.warning("Truncated response archived (%s): %s", truncated, request.url)

    def _write_capture(self, request: Request, response: Response, date: datetime, ip: str | None,
                       http_head: bytes, truncated: str | None) -> tuple[RecordRef, str, str | None]:
        complete = response.status in (200, 304) and not truncated
        previous = self._previous(request.url) if complete else None
        # Media and files are deduplicated across URLs; a page only against its own URL's last capture.
        shared = response.status == 200 and not truncated and _deduplicated(request, response)
        digest = _sha1(response.body) if shared or (previous is not None and response.status == 200) else None
        original, profile = None, None
        if previous is not None:
            if response.status == 304:
                original, profile = previous, "server-not-modified"
            elif digest == previous["payload_digest"]:
                original, profile = previous, "identical-payload-digest"
        if profile is None and shared:
            original = self._same_payload(digest)
            if original is not None:
                profile = "identical-payload-digest"
                self.stats.inc_value("archive/dedup_revisits")
                self.stats.inc_value("archive/dedup_bytes_saved", len(response.body))
        if profile is not None:
            ref = self.writer.write_revisit(
                target_uri=request.url, date=date, ip_address=ip, request_head=request_head(request),
                response_head=http_head, profile=profile, refers_to=original["record_id"],
                refers_to_uri=original["url"], refers_to_date=original["date"],
                payload_digest=original["payload_digest"],
            )
            return ref, "revisit", original["record_id"]
        ref = self.writer.write_exchange(
            target_uri=request.url, date=date, ip_address=ip, request_head=request_head(request),
            request_body=request.body, response_head=http_head, response_body=response.body, truncated=truncated,
        )
        if shared:
            self._remember_payload(digest, ref, request.url)
        return ref, "response", None

    def _same_payload(self, digest: str) -> dict[str, Any] | None:
        """The first full capture of this payload: this crawl's own, else any the catalogue holds."""
        found = self.seen_payloads.get(digest)
        if found is None:
            assert self.catalogue is not None
            found = self.catalogue.first_response_with_payload(digest)
        return found

    def _remember_payload(self, digest: str, ref: RecordRef, url: str) -> None:
        if digest in self.seen_payloads:
            return
        self.seen_payloads[digest] = {"record_id": ref.record_id, "url": url, "date": ref.date,
                                      "payload_digest": digest}
        if len(self.seen_payloads) > SEEN_PAYLOADS:
            self.seen_payloads.popitem(last=False)

    def _previous(self, url: str) -> dict[str, Any] | None:
        """The last full 200 capture of this URL, which a revisit refers to."""
        assert self.catalogue is not None
        return self.catalogue.last_response(url)

    # -- items -----------------------------------------------------------
    def process_item(self, item: ArticleItem | ListingItem) -> ArticleItem | ListingItem:
        if self.failed:
            raise DropItem(f"{self.failed_what} failed, the crawl is stopping; {item.url} not archived")
        if not item.warc or self.writer is None:
            return item
        if isinstance(item, ListingItem):
            payload = {"type": "listing", "url": item.url, "entries": item.entries,
                       "page_index": item.page_index, "page_count": item.page_count, "section": item.section}
        else:
            payload = item_fields(item)
            payload.pop("warc")
            payload["type"] = "article"
        try:
            event = self._write_metadata(item.url, item.warc["record_id"], payload, apply=False, page=True)
        except Exception as error:  # noqa: BLE001
            self._fail(error)
            raise DropItem(f"WARC writer failed; {item.url} not archived") from error
        if isinstance(item, ArticleItem):
            self.waiting[id(item)] = self._enqueue(event, ready=False)
        else:
            self._enqueue(event)
        return item

    def _write_metadata(self, url: str, concurrent_to: str | None, payload: dict[str, Any],
                        apply: bool = True, page: bool = False) -> Metadata:
        """A metadata record; one about a `page` is named `urn:pageinfo:<url>` and refers to its capture."""
        data = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
        ref = self.writer.write_metadata(target_uri=pageinfo_uri(url) if page else url, concurrent_to=concurrent_to,
                                         refers_to=concurrent_to if page else None,
                                         date=datetime.now(timezone.utc), payload=data)
        event = Metadata(crawl_id=self.crawl_id, record_id=ref.record_id, url=url, date=ref.date,
                         concurrent_to=concurrent_to, payload=payload,
                         position=Position(ref.file, ref.offset, ref.length))
        if apply:
            self._enqueue(event)
        return event

    def _enqueue(self, event: Capture | Metadata, ready: bool = True) -> list:
        entry = [event, ready]
        self.queue.append(entry)
        self._drain()
        return entry

    def _drain(self) -> None:
        while self.queue and self.queue[0][1]:
            event = self.queue.popleft()[0]
            if event is not None:
                self._apply(event)

    def _apply(self, event: Capture | Metadata) -> None:
        if self.catalogue is None or self.failed:
            return  # after a failure nothing more is folded; the next crawl catches up from the WARC files
        try:
            self.catalogue.apply(event)
            self.uncommitted = True
        except Exception as error:  # noqa: BLE001 - a full disk, a dead database: reported, the crawl stops
            self._fail(error, CATALOGUE_ERROR)

    def _commit_due(self) -> None:
        """Every COMMIT_EVERY seconds: commit what was folded since the last commit, if anything was."""
        if self.catalogue is None or self.failed or not self.uncommitted:
            return
        try:
            self.catalogue.commit()
            self.uncommitted = False
        except Exception as error:  # noqa: BLE001 - as in _apply
            self._fail(error, CATALOGUE_ERROR)

    def _fail(self, error: BaseException, reason: str = WRITE_ERROR) -> None:
        if self.failed:
            return
        self.failed = True
        what = "catalogue" if reason == CATALOGUE_ERROR else "WARC writer"
        self.failed_what = what[0].upper() + what[1:]
        self.stats.inc_value("archive/catalogue_write_errors" if reason == CATALOGUE_ERROR
                             else "archive/warc_write_errors")
        self.stats.set_value("archive/fatal", f"{what}: {type(error).__name__}: {error}")
        logger.critical("%s failed, stopping the crawl: %s", self.failed_what, error, exc_info=error)
        if self.crawler.engine is not None:
            deferred_from_coro(self.crawler.engine.close_spider_async(reason=reason))


def _deduplicated(request: Request, response: Response) -> bool:
    """Is this a payload to deduplicate across URLs: not HTML (images, attachments, other files)?

    Without a Content-Type, only the media pipeline's requests (images and attachments) are.
    """
    kind = response.headers.get(b"Content-Type", b"").split(b";")[0].strip().lower()
    if kind:
        return b"html" not in kind
    return "archive_media" in request.meta


def warc_prefix(settings: Any, spider: Any) -> str:
    """ARCHIVE_WARC_PREFIX when set, else the profile's prefix (its `warc_prefix`, or its name in capitals)."""
    profile = getattr(spider, "profile", None)
    return settings.get("ARCHIVE_WARC_PREFIX") or (profile.prefix if profile is not None else "PORTAL")


def describe(spider: Any) -> str:
    profile = getattr(spider, "profile", None)
    start = getattr(spider, "start_url", "")
    if profile is None:
        return f"spider {spider.name} {start}".strip()
    sections = ", ".join(f"{s.name} {s.start_url}" for s in profile.sections)
    return f"{profile.site_name or profile.name}: {sections}"


def crawl_settings(spider: Any) -> dict[str, Any]:
    """What the crawl was asked to do, kept in its crawl-start record."""
    settings = spider.crawler.settings
    keys = ("ARCHIVE_PROFILE", "ARCHIVE_FULL_LISTING", "ARCHIVE_KNOWN_PAGES_STOP", "ARCHIVE_RECHECK",
            "ARCHIVE_RECHECK_RECENT_DAYS", "ARCHIVE_RECHECK_EVERY_DAYS", "ARCHIVE_MEDIA_ENABLED",
            "ROBOTSTXT_OBEY", "DOWNLOAD_DELAY", "AUTOTHROTTLE_ENABLED", "USER_AGENT")
    values = {key: settings.get(key) for key in keys}
    values["start_url"] = getattr(spider, "start_url", None)
    values["spider"] = spider.name
    profile = getattr(spider, "profile", None)
    if profile is not None:
        # What the fold needs to key articles the same way, live and in reindex.
        values["site"] = profile.name
        values["sections"] = profile.section_names
        # One section: named as before (crawls of one section read this).
        values["section"] = profile.section if len(profile.sections) == 1 else None
        values["hosts"] = profile.host_map()
    values["tracking"] = settings.getlist("ARCHIVE_TRACKING_PARAMS")
    return values


def settings_catalogue(crawler: Crawler) -> str | None:
    """The catalogue URL the crawl writes to (setting, else $PORTAL_ARCHIVE_CATALOGUE, else DATA/catalog.sqlite)."""
    return crawler.settings.get("ARCHIVE_CATALOGUE") or None
