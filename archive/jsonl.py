"""JSONL item files: one article per line, appended and flushed line by line."""

from __future__ import annotations

import logging
import os
from pathlib import Path

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
