"""Which known articles an incremental crawl fetches again, and how.

Policy (settings): articles published in the last ARCHIVE_RECHECK_RECENT_DAYS
are rechecked on every run; older ones once their last check is more than
ARCHIVE_RECHECK_EVERY_DAYS old.  ARCHIVE_RECHECK = "all" rechecks every
known article, "none" none.  Rechecks are conditional (If-None-Match,
If-Modified-Since), so an unchanged page costs a 304 and a revisit record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from archive.catalogue import KnownArticle

POLICIES = ("policy", "all", "none")


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
