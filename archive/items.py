"""JSONL item files, `DATA/items/<crawl-id>.jsonl`: one article per line, appended and flushed line by line.

Items are derived from the WARC files: every article metadata record holds
the fields of a line, so a line that a crash or a full disk kept from being
written can be written again from the record (`restore_lines`).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

_TAIL_CHUNK = 64 * 1024


def repair_torn_tail(path: Path) -> int:
    """Cut a line left half-written by a kill back to the last complete line.

    The cut bytes are kept beside the file as `NAME.torn` (appended), never
    thrown away; the article they described is still in the WARC files.
    Returns the number of bytes cut.
    """
    with open(path, "rb+") as stream:
        size = stream.seek(0, os.SEEK_END)
        end = size
        while end > 0:
            start = max(0, end - _TAIL_CHUNK)
            stream.seek(start)
            chunk = stream.read(end - start)
            newline = chunk.rfind(b"\n")
            if newline != -1:
                keep = start + newline + 1
                break
            end = start
        else:
            keep = 0
        if keep == size:
            return 0
        stream.seek(keep)
        torn = stream.read()
        with open(path.with_name(path.name + ".torn"), "ab") as side:
            side.write(torn + b"\n")
            side.flush()
            os.fsync(side.fileno())
        stream.truncate(keep)
        stream.flush()
        os.fsync(stream.fileno())
    logger.warning("Cut a half-written line (%d bytes) from %s; kept in %s.torn", len(torn), path, path.name)
    return len(torn)


def item_line(fields: dict[str, Any]) -> str:
    """One article as its JSONL line (UTF-8 text, Chinese unescaped, newline-terminated)."""
    return json.dumps(fields, ensure_ascii=False) + "\n"


class ItemFiles:
    """The JSONL files of DATA/items/: which articles have their line, and writing the ones missing.

    An article's line is found by its response record id (`warc.record_id`).
    One crawl's ids are held in memory at a time (records come in crawl order).
    """

    def __init__(self, data: Path):
        self.folder = Path(data) / "items"
        self._crawl: str | None = None
        self._ids: set[str] = set()
        self.restored = 0

    def path(self, crawl_id: str) -> Path:
        return self.folder / f"{crawl_id}.jsonl"

    def _load(self, crawl_id: str) -> None:
        if self._crawl == crawl_id:
            return
        self._crawl, self._ids = crawl_id, set()
        path = self.path(crawl_id)
        if not path.is_file():
            return
        repair_torn_tail(path)
        with open(path, "rb") as lines:
            for line in lines:
                try:  # a damaged line (not JSON, not UTF-8) holds no article: `verify` reports it
                    record = (json.loads(line).get("warc") or {}).get("record_id")
                except (ValueError, AttributeError):
                    continue
                if record:
                    self._ids.add(record)

    def has(self, crawl_id: str, record_id: str) -> bool:
        self._load(crawl_id)
        return record_id in self._ids

    def restore(self, crawl_id: str, fields: dict[str, Any], warc: dict[str, Any]) -> bool:
        """Write the article's line from its metadata record's fields unless it is there; True if written.

        Raises OSError when the line cannot be written.
        """
        record_id = warc.get("record_id")
        if not record_id or self.has(crawl_id, record_id):
            return False
        line = {key: value for key, value in fields.items() if key != "type"}
        line["warc"] = warc
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.path(crawl_id), "a", encoding="utf-8", newline="\n") as out:
            out.write(item_line(line))
            out.flush()
            os.fsync(out.fileno())
        self._ids.add(record_id)
        self.restored += 1
        logger.warning("Restored the JSONL line of %s (crawl %s) from its WARC metadata record",
                       fields.get("url"), crawl_id)
        return True
