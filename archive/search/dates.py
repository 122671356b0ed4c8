"""Index row ids that sort by publication date.

Each indexed version gets the row id `minute * SPAN + version_id`, where
`minute` counts minutes from 1970-01-01 00:00 to the article's published
date and time as written (the portal's local time; a date alone is its
midnight).  The full-text index then walks matches newest first without a
sort, and a date range is a row-id range.  Undated versions get minute 0.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from archive.search.errors import QueryError

SPAN = 10**11  # version ids stay below this
MAX_MINUTE = (2**63 - 1) // SPAN - 1
_EPOCH = datetime(1970, 1, 1)
_PUBLISHED = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2}))?")


def minute_of(published: str | None) -> int:
    """Minutes since 1970 of a published value (0 when it has no readable date)."""
    match = _PUBLISHED.match((published or "").strip())
    if not match:
        return 0
    year, month, day, hour, minute = (int(g) if g else 0 for g in match.groups())
    try:
        moment = datetime(year, month, day, hour, minute)
    except ValueError:
        return 0
    minutes = int((moment - _EPOCH).total_seconds() // 60)
    return min(max(minutes, 1), MAX_MINUTE)


def docid(published: str | None, version_id: int) -> int:
    """The index row id of a version."""
    return minute_of(published) * SPAN + version_id


def version_of(row_id: int) -> int:
    """The version id inside an index row id."""
    return row_id % SPAN


def to_day(value: str | date | None, name: str) -> date | None:
    """A `since`/`until` argument as a date; QueryError when it is not one."""
    if value is None or isinstance(value, date):
        return value.date() if isinstance(value, datetime) else value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise QueryError(f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None


def row_range(since: str | date | None, until: str | date | None) -> tuple[int, int]:
    """The inclusive row-id range of versions published from `since` to `until` (whole days)."""
    first, last = to_day(since, "since"), to_day(until, "until")
    low, high = 0, 2**63 - 1
    if first is not None:
        low = max(minute_of(first.isoformat()), 1) * SPAN
    if last is not None:
        low = max(low, SPAN)  # undated versions match no date filter
        try:
            end = minute_of((last + timedelta(days=1)).isoformat())
        except OverflowError:
            end = MAX_MINUTE + 1
        high = end * SPAN - 1
    return low, high
