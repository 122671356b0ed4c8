"""Upload each finished WARC file to the store (ARCHIVE_STORE) while the crawl goes on.

The uploads run on a thread of their own (`archive.storage.uploads`), so
the reactor keeps crawling while a file goes up.  At start, whatever an
earlier crawl left in DATA (a store that was down, a crash mid-upload) is
queued first; each file the WARC writer finishes (`warc_file_finished`) is
queued as it closes; at the end (`engine_stopped`, after the WARC pipeline
has closed its last file and committed the catalogue) the crawl's items and
digest lists follow, and the crawl waits up to ARCHIVE_STORE_WAIT seconds
for the queue to empty.

Files not stored by then stay in DATA/warc/ and are counted in
`archive/store_pending`: the crawl then exits 1 (finished with problems:
nothing is lost, but the archive is not where it belongs yet), and the next
crawl into DATA, or `portal-archive upload`, stores them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from archive.storage import open_store
from archive.storage.uploads import CatalogueFolds, Uploads, UploadSummary
from crawler.pipelines.warc import warc_file_finished
from crawler.politeness import resolved

logger = logging.getLogger(__name__)


class StoreUploads:
    def __init__(self, crawler: Crawler, uploads: Uploads, wait: float) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.uploads = uploads
        self.wait = wait

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "StoreUploads":
        settings = crawler.settings
        url = resolved(settings, "ARCHIVE_STORE")
        if not url:
            raise NotConfigured("no store (ARCHIVE_STORE): WARC files stay in DATA/warc/")
        if not settings.getbool("ARCHIVE_WARC_ENABLED"):
            raise NotConfigured("ARCHIVE_WARC_ENABLED is off: nothing to store")
        store = open_store(url)  # a URL of no known scheme stops the crawl before it starts
        data = Path(settings["ARCHIVE_DATA_DIR"])
        uploads = Uploads(data, store, folded=CatalogueFolds(data, resolved(settings, "ARCHIVE_CATALOGUE")),
                          retry_max=settings.getfloat("ARCHIVE_STORE_RETRY_MAX"))
        extension = cls(crawler, uploads, settings.getfloat("ARCHIVE_STORE_WAIT"))
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.file_finished, signal=warc_file_finished)
        crawler.signals.connect(extension.engine_stopped, signal=signals.engine_stopped)
        return extension

    def spider_opened(self, spider: Any) -> None:
        self.uploads.start()
        crawl_id = getattr(spider, "crawl_id", None)
        leftovers = self.uploads.sweep(skip_items={crawl_id} if crawl_id else set())
        if leftovers:
            logger.info("Storing %d WARC files an earlier crawl left in %s", leftovers, self.uploads.data / "warc")
        self.stats.set_value("archive/store_leftovers", leftovers)

    def file_finished(self, path: Path) -> None:
        self.uploads.submit(path)

    async def engine_stopped(self) -> None:
        self.uploads.sweep()  # the last file, this crawl's items and digest list
        logger.info("Waiting up to %.0fs for uploads to %s", self.wait, self.uploads.store.url)
        self._report(await maybe_deferred_to_future(deferToThread(self.uploads.finish, self.wait)))

    def _report(self, summary: UploadSummary) -> None:
        stats = self.stats
        stats.set_value("archive/store_url", self.uploads.store.url)
        stats.set_value("archive/store_objects", len(summary.stored))
        stats.set_value("archive/store_bytes", summary.bytes)
        stats.set_value("archive/store_pending", len(summary.pending))
        stats.set_value("archive/store_pending_other", len(summary.sidecars_pending))
        stats.set_value("archive/store_kept_for_catalogue", len(summary.kept))
        stats.set_value("archive/store_failed_attempts", summary.failures)
        if summary.damaged:
            stats.set_value("archive/store_damaged", summary.damaged)
        if summary.last_error:
            stats.set_value("archive/store_error", summary.last_error)
        if summary.ok:
            logger.info("Stored %d objects (%d bytes) in %s", len(summary.stored), summary.bytes,
                        self.uploads.store.url)
        else:
            logger.error("%d WARC files and %d other files are not stored in %s yet (%s); they stay in %s and are "
                         "stored by the next crawl or `portal-archive upload`", len(summary.pending),
                         len(summary.sidecars_pending), self.uploads.store.url, summary.last_error,
                         self.uploads.data)
