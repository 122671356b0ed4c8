"""One page of a search, the same way on every backend.

A backend finds matches; this module decides which of them make the page,
in which order, and how many there are, so that two backends holding the
same versions answer alike hit for hit:

- matches are listed newest first, by the index's date key (published day,
  then version id; higher is newer): `Matches.newest`;
- the count is exact up to `COUNT_CAP` (or up to the end of the page asked
  for, when that is further); past it, the results say "at least" (`exact`
  False), because counting every match of a word in most of a million
  articles means walking its whole posting list.  `limit=None` (an export)
  and `count_cap=None` count exactly;
- in relevance order the newest `rank_pool` matches are scored by
  `archive.search.rank.rank` from their text, and the older ones follow
  newest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from archive.search.errors import QueryError
from archive.search.query import Term
from archive.search.rank import RANK_POOL, RankDoc, rank

COUNT_CAP = 1_000
ORDERS = ("relevance", "date")


class Matches(Protocol):
    """What a backend answers about the matches of one query with its filters."""

    def newest(self, count: int | None) -> list[int]:
        """Date keys of the newest `count` matches (None: all), newest first."""

    def count(self) -> int:
        """How many matches there are, exactly."""

    def texts(self, keys: Sequence[int]) -> list[RankDoc]:
        """The searchable text of these matches (any order)."""


@dataclass(frozen=True)
class Page:
    rows: list[tuple[int, float | None]]  # (date key, score) in the order shown
    total: int
    exact: bool
    ranked: int


def check(order: str, limit: int | None, offset: int, rank_pool: int | None, count_cap: int | None) -> None:
    """QueryError for arguments no backend can answer."""
    if order not in ORDERS:
        raise QueryError(f"order must be one of {', '.join(ORDERS)}, not {order!r}")
    if (limit is not None and limit < 0) or offset < 0:
        raise QueryError("limit and offset cannot be negative")
    if rank_pool is not None and rank_pool < 1:
        raise QueryError("rank_pool must be at least 1 (or None)")
    if count_cap is not None and count_cap < 1:
        raise QueryError("count_cap must be at least 1 (or None)")


def page(matches: Matches, terms: Sequence[Term], *, order: str = "relevance", limit: int | None = 20,
         offset: int = 0, rank_pool: int | None = RANK_POOL, count_cap: int | None = COUNT_CAP) -> Page:
    """The page `offset`..`offset+limit` of the matches, their total, and how many were ranked."""
    check(order, limit, offset, rank_pool, count_cap)
    relevance = order == "relevance"
    if limit is None or (relevance and rank_pool is None):
        needed = None
    else:
        needed = offset + limit
        if relevance:
            needed = max(needed, rank_pool)
    if needed is None:
        keys = matches.newest(None)
        total, exact = len(keys), True
    elif count_cap is None:
        total, exact = matches.count(), True
        keys = matches.newest(min(needed, total))
    else:
        cap = max(count_cap, needed)
        keys = matches.newest(cap + 1)
        total, exact = min(len(keys), cap), len(keys) <= cap
    ranked = 0
    if relevance and keys:
        pool = keys if rank_pool is None else keys[:rank_pool]
        ranked = len(pool)
        scored: list[tuple[int, float | None]] = list(rank(terms, matches.texts(pool)))
        ordered = scored + [(key, None) for key in keys[ranked:]]
    else:
        ordered = [(key, None) for key in keys]
    end = None if limit is None else offset + limit
    return Page(rows=ordered[offset:end], total=total, exact=exact, ranked=min(ranked, total))
