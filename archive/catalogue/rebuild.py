"""Rebuilding the catalogue from the WARC files (reindex) and catching up after a crash (reconcile)."""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from archive.catalogue.db import catalogue_path, connect
from archive.catalogue.fold import Catalogue
from archive.catalogue.replay_warc import crawl_of, events_from_file
from archive.warc.errors import WarcError

logger = logging.getLogger(__name__)


def warc_files(data: Path) -> list[Path]:
    """Finished WARC files in the order they were written (names start with a timestamp)."""
    return sorted((Path(data) / "warc").glob("*.warc.gz"), key=lambda p: p.name.split("-", 1)[-1])


def catch_up(catalogue: Catalogue, data: Path, progress: Callable[[Path], None] | None = None) -> int:
    """Apply every record not yet folded in; returns the number of files touched.

    Run after `recover()` at the start of a crawl: a crawl killed before its
    last commit left records on disk that the catalogue does not have yet.
    """
    done = dict(catalogue.conn.execute("SELECT file, offset FROM ingested").fetchall())
    touched = 0
    for path in warc_files(data):
        start = done.get(path.name, 0)
        if start >= path.stat().st_size:
            continue
        if progress:
            progress(path)
        try:
            hint = crawl_of(path) if start else None
            for event in events_from_file(path, start, crawl_hint=hint):
                catalogue.apply(event)
        except WarcError as error:
            # Keep what was read; the file itself is left as it is for `verify` to report.
            logger.error("Could not fold all of %s into the catalogue: %s", path.name, error)
        catalogue.commit()
        touched += 1
    # The caller holds the data folder's lock, so no crawl is running: one
    # that never wrote its end record was interrupted.
    catalogue.conn.execute("UPDATE crawls SET status = 'interrupted' WHERE status = 'running'")
    catalogue.conn.execute("DELETE FROM listed")
    catalogue.commit()
    return touched


def reindex(data: Path, progress: Callable[[Path], None] | None = None) -> Path:
    """Rebuild DATA/catalog.sqlite from the WARC files alone, atomically."""
    target = catalogue_path(data)
    fresh = target.with_name(target.name + ".rebuild")
    for leftover in (fresh, Path(str(fresh) + "-wal"), Path(str(fresh) + "-shm")):
        leftover.unlink(missing_ok=True)
    conn = connect(fresh)
    catalogue = Catalogue(conn)
    try:
        for path in warc_files(data):
            if progress:
                progress(path)
            for event in events_from_file(path):
                catalogue.apply(event)
            catalogue.commit()
        conn.execute("UPDATE crawls SET status = 'interrupted' WHERE status = 'running'")
        conn.execute("DELETE FROM listed")
        conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except BaseException:
        conn.close()
        for leftover in (fresh, Path(str(fresh) + "-wal"), Path(str(fresh) + "-shm")):
            leftover.unlink(missing_ok=True)
        raise
    conn.close()
    for suffix in ("-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    os.replace(fresh, target)
    return target


def table_dump(conn: sqlite3.Connection, table: str) -> list[tuple]:
    """Every row of a table in id order, for comparing two catalogues."""
    order = "file" if table == "ingested" else "id"
    return [tuple(row) for row in conn.execute(f"SELECT * FROM {table} ORDER BY {order}")]  # noqa: S608
