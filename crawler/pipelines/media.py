"""Fetch each article's images and attachments through Scrapy's MediaPipeline.

Media responses go through the downloader like any other, so the WARC
pipeline captures them at `response_downloaded`; here each image and
attachment entry gets its own record reference, digest, size and content
type.  With ARCHIVE_MEDIA_FILES, a copy is also written under DATA/media/,
named by the SHA-256 of its bytes and never by anything taken from the URL.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.pipelines.media import MediaPipeline
from twisted.python.failure import Failure

from crawler.items import ArticleItem
from crawler.urls import host_allowed

logger = logging.getLogger(__name__)

_KINDS = ("images", "attachments")
CACHED = 1024  # media results kept for other articles of the crawl that embed the same file


class _RecentResults(OrderedDict):
    """MediaPipeline's cache of results, holding the last CACHED (memory must not grow with the crawl).

    Scrapy checks `fp in downloaded`, yields to the reactor, then reads `downloaded[fp]`: an entry taken out
    in between (the pipeline dropped each result as its article completed) failed the other article's media
    with KeyError(fingerprint), 'Could not fetch …: b"…"'.  Here a lookup makes an entry the newest, and only
    the oldest are dropped, on insertion."""

    def __contains__(self, key: object) -> bool:
        found = super().__contains__(key)
        if found:
            self.move_to_end(key)
        return found

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > CACHED:
            self.popitem(last=False)


class ArticleMediaPipeline(MediaPipeline):
    def __init__(self, *, crawler: Crawler):
        super().__init__(crawler=crawler)
        settings = crawler.settings
        self.enabled = settings.getbool("ARCHIVE_MEDIA_ENABLED")
        self.media_dir = (
            Path(settings["ARCHIVE_DATA_DIR"]) / "media"
            if settings.getbool("ARCHIVE_MEDIA_FILES")
            else None
        )

    def open_spider(self) -> None:
        super().open_spider()
        self.spiderinfo.downloaded = _RecentResults()

    def get_media_requests(self, item: ArticleItem, info: Any) -> list[Request]:
        if not self.enabled or not isinstance(item, ArticleItem):
            return []
        requests = []
        domains = getattr(self.crawler.spider, "allowed_domains", None) or []
        for kind in _KINDS:
            for index, entry in enumerate(getattr(item, kind)):
                if not host_allowed(entry["url"], domains):
                    # Off-site or internal addresses (10.x, 169.254…, file:) are never fetched.
                    entry.setdefault("error", "not fetched: outside the crawl's hosts")
                    continue
                requests.append(
                    Request(entry["url"], meta={"archive_media": (kind, index)}, dont_filter=True)
                )
        return requests

    def media_to_download(self, request: Request, info: Any, *, item: Any = None) -> None:
        return None

    def media_downloaded(
        self, response: Response, request: Request, info: Any, *, item: Any = None
    ) -> dict[str, Any]:
        body = response.body
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1") or None
        result: dict[str, Any] = {
            "status": response.status,
            "content_type": content_type,
            "size": len(body),
            "digest": "sha256:" + hashlib.sha256(body).hexdigest(),
            "warc": response.meta.get("archive_warc"),
        }
        if response.status != 200:
            result["error"] = f"HTTP {response.status}"
        elif self.media_dir is not None:
            result["file"] = self._store(body, result["digest"], content_type)
        return result

    def media_failed(self, failure: Failure, request: Request, info: Any) -> None:
        failure.raiseException()

    def item_completed(self, results: list[tuple[bool, Any]], item: ArticleItem, info: Any) -> ArticleItem:
        stats = self.crawler.stats
        # Results come back in request order, which is the entries' order.
        requests = self.get_media_requests(item, info)
        for request, (ok, value) in zip(requests, results):
            kind, index = request.meta["archive_media"]
            entry = getattr(item, kind)[index]
            if ok:
                entry.update(value)
                stats.inc_value(f"archive/{kind}" if "error" not in value else f"archive/{kind}_failed")
            else:
                entry["error"] = value.getErrorMessage()
                stats.inc_value(f"archive/{kind}_failed")
                logger.warning("Could not fetch %s of %s: %s", entry["url"], item.url, entry["error"])
        return item

    def file_path(self, request: Request, response: Response | None = None, info: Any = None, *, item: Any = None) -> str:
        digest = hashlib.sha256(response.body).hexdigest() if response is not None else ""
        return self._relative_path(digest, None)

    def _store(self, body: bytes, digest: str, content_type: str | None) -> str:
        assert self.media_dir is not None
        hexdigest = digest.split(":", 1)[1]
        relative = self._relative_path(hexdigest, content_type)
        path = self.media_dir / relative
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".part")
            tmp.write_bytes(body)
            os.replace(tmp, path)
        return relative

    @staticmethod
    def _relative_path(hexdigest: str, content_type: str | None) -> str:
        mime = (content_type or "").split(";")[0].strip().lower()
        extension = mimetypes.guess_extension(mime) or ".bin" if mime else ".bin"
        return f"{hexdigest[:2]}/{hexdigest}{extension}"
