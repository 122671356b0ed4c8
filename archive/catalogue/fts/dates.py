"""Index row ids that sort by publication date.

Each indexed version gets the row id `day * SLOTS + slot`: `day` counts days
from 1970-01-01 to the article's published date (as written, the portal's
local date; 0 when there is none) and `slot` is the version id modulo SLOTS
(the next free one on a clash).  The full-text index then walks matches
newest first without a sort, a date range is a row-id range, and row ids
stay dense enough for FTS5's delta-encoded lists (minutes * 10^11 made the
index a third bigger).  `search_docs` maps row ids to version ids.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime

from archive.search.errors import QueryError

SLOTS = 2**20
_EPOCH = date(1970, 1, 1)
# Dates after this one are indexed as this one: a portal's typo (9999-12-31) must not make a search walk
# thousands of years of empty weeks (PostgreSQL's index salts its codes with every week in range).
_LAST = date(2100, 12, 31)
_PUBLISHED = re.compile(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})")


def day_of(published: str | date | None) -> int:
    """Days since 1970 of a published value (0 when it has no readable date, 1 at least otherwise, and no
    later than 2100-12-31's)."""
    if isinstance(published, date):
        day = published.date() if isinstance(published, datetime) else published
    else:
        match = _PUBLISHED.match(published or "")
        if not match:
            return 0
        try:
            day = date(*(int(group) for group in match.groups()))
        except ValueError:
            return 0
    return max((min(day, _LAST) - _EPOCH).days, 1)


def allocate(published: str | None, version_id: int, taken: Callable[[int], bool]) -> int:
    """A free row id for a version: its day's slot `version_id % SLOTS`, or the next free one."""
    base = day_of(published) * SLOTS
    slot = version_id % SLOTS
    for step in range(SLOTS):
        row_id = base + (slot + step) % SLOTS
        if not taken(row_id):
            return row_id
    raise OverflowError(f"more than {SLOTS} versions published on one day")


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
        low = day_of(first) * SLOTS
    if last is not None:
        low = max(low, SLOTS)  # undated versions match no date filter
        high = (day_of(last) + 1) * SLOTS - 1
    return low, high
