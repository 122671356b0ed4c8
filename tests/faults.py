"""Fault injection for tests: outputs whose disk fills up, a pipeline that fails unexpectedly."""

from __future__ import annotations

import errno
import os

from archive.warc.writer import WarcWriter
from crawler.pipelines.jsonl import JsonLinesPipeline
from crawler.pipelines.warc import WarcPipeline


class DiskFullWriter(WarcWriter):
    """Fails with ENOSPC once it has written $FAULT_AFTER_EXCHANGES exchanges."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.left = int(os.environ.get("FAULT_AFTER_EXCHANGES", "20"))

    def write_exchange(self, **kwargs):
        if self.left <= 0:
            raise OSError(errno.ENOSPC, "No space left on device (injected)")
        self.left -= 1
        return super().write_exchange(**kwargs)


class _FullAfter:
    """A file whose writes fail with ENOSPC once `budget` lines have been written (half of the next one first)."""

    def __init__(self, file, budget: int):
        self._file, self._budget = file, budget

    def write(self, data) -> int:
        if self._budget <= 0:
            if self._budget == 0:
                self._budget -= 1
                return self._file.write(bytes(data[: len(data) // 2]))  # a torn line, as a full disk leaves
            raise OSError(errno.ENOSPC, "No space left on device (injected)")
        self._budget -= 1
        return self._file.write(data)

    def __getattr__(self, name):
        return getattr(self._file, name)


class DiskFullJsonLines(JsonLinesPipeline):
    """The JSONL pipeline on a disk that fills after $FAULT_AFTER_LINES lines."""

    def open_spider(self) -> None:
        super().open_spider()
        self.file = _FullAfter(self.file, int(os.environ.get("FAULT_AFTER_LINES", "5")))


class CatalogueFullAtFinish(WarcPipeline):
    """The WARC pipeline whose catalogue commits fail once the crawl finishes (a disk that fills at the end).

    Mid-crawl commits depend on the clock; this one fails the same way on a fast or a slow machine.
    """

    def finish(self, spider, reason: str) -> None:
        import sqlite3

        if self.catalogue is not None:
            def full() -> None:
                raise sqlite3.OperationalError("database or disk is full (injected)")

            self.catalogue.commit = full
        super().finish(spider, reason)


class ExplodingPipeline:
    """Raises an unexpected error (not DropItem) for every $FAULT_EVERY_NTH article: Scrapy's item_error."""

    def __init__(self):
        self.every = int(os.environ.get("FAULT_EVERY_NTH", "10"))
        self.seen = 0

    def process_item(self, item):
        from crawler.items import ArticleItem

        if isinstance(item, ArticleItem):
            self.seen += 1
            if self.seen % self.every == 0:
                raise RuntimeError(f"injected failure for {item.url}")
        return item


# The project's pipelines with one of them swapped, as a JSON value for `-s ITEM_PIPELINES=...`.
def pipelines_with(**swaps: str) -> str:
    import json

    from crawler import settings

    pipelines = dict(settings.ITEM_PIPELINES)
    for old, new in swaps.items():
        priority = pipelines.pop(next(name for name in pipelines if name.endswith(old)))
        pipelines[new] = priority
    return json.dumps(pipelines)
