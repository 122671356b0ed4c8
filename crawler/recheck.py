"""Which known articles an incremental crawl fetches again, and how.

Policy (settings): articles published in the last ARCHIVE_RECHECK_RECENT_DAYS
are rechecked on every run; older ones once their last check is more than
ARCHIVE_RECHECK_EVERY_DAYS old.  ARCHIVE_RECHECK = "all" rechecks every
known article, "none" none.  Rechecks are conditional (If-None-Match,
If-Modified-Since), so an unchanged page costs a 304 and a revisit record.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from archive.catalogue.db import CatalogueError, catalogue_path, connect

POLICIES = ("policy", "all", "none")


@dataclass(frozen=True)
class KnownArticle:
    url: str
    status: str
    published: str | None
    etag: str | None
    last_modified: str | None
    last_checked: str | None


@dataclass(frozen=True)
class RecheckPolicy:
    mode: str = "policy"
    recent_days: int = 30
    every_days: int = 30

    def due(self, article: KnownArticle, now: datetime) -> bool:
        if self.mode == "all":
            return True
        if self.mode == "none" or article.status != "live":
            return False
        published = _parse(article.published)
        if published is not None and now - published <= timedelta(days=self.recent_days):
            return True
        checked = _parse(article.last_checked)
        return checked is None or now - checked >= timedelta(days=self.every_days)


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone(timedelta(hours=8)))
    return moment


def conditional_headers(article: KnownArticle) -> dict[str, str]:
    headers = {}
    if article.etag:
        headers["If-None-Match"] = article.etag
    if article.last_modified:
        headers["If-Modified-Since"] = article.last_modified
    return headers


def known_articles(data: Path) -> dict[str, KnownArticle]:
    """Every article the catalogue knows, by URL ({} for a new data folder)."""
    try:
        conn = connect(catalogue_path(data), readonly=True)
    except CatalogueError:
        return {}
    try:
        rows = conn.execute(
            "SELECT a.url, a.status, v.published, a.etag, a.last_modified, a.last_checked"
            " FROM articles a LEFT JOIN versions v ON v.id = a.current_version"
        ).fetchall()
    except sqlite3.DatabaseError:
        return {}
    finally:
        conn.close()
    return {row[0]: KnownArticle(*row) for row in rows}


def listing_settled(data: Path) -> bool:
    """Whether everything the section lists is already known.

    True when the last crawl ended ok with its listing settled: it walked to the
    last list page, or it stopped at pages of known articles while the crawl
    before it was settled.  After an interrupted crawl, or one whose list
    pages failed, the next crawl walks the whole listing again.
    """
    try:
        conn = connect(catalogue_path(data), readonly=True)
    except CatalogueError:
        return False
    try:
        row = conn.execute("SELECT status, stats FROM crawls ORDER BY started DESC LIMIT 1").fetchone()
    except sqlite3.DatabaseError:
        return False
    finally:
        conn.close()
    if row is None or row[0] != "ok":  # a partial crawl may have missed articles
        return False
    import json

    return bool(json.loads(row[1] or "{}").get("archive/listing_settled"))
