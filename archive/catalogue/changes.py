"""What changed between crawls: new, edited, withdrawn and restored articles."""

from __future__ import annotations

import difflib
import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from archive.catalogue.api import Catalogue


@dataclass
class Change:
    change: str  # new | edited | withdrawn | restored (a withdrawn article answering again)
    article_id: int
    url: str
    title: str | None
    date: str  # when it was seen (first_seen of the version, or detection)
    crawl_id: str
    version: int | None = None
    changed_fields: list[str] = field(default_factory=list)
    how: str | None = None  # withdrawals (and the one a restoration ended): 404 | 410 | redirect_home | error_page
    #                          | gone_from_listing
    withdrawn_at: str | None = None  # restorations: when the withdrawal they end was detected
    diff: str | None = None
    site: str | None = None
    section: str | None = None
    flags: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def text_diff(old: dict[str, Any], new: dict[str, Any]) -> str:
    """A readable unified diff of title and body, one paragraph per line."""
    def lines(row: dict[str, Any]) -> list[str]:
        return [f"标题: {row['title'] or ''}", f"日期: {row['published'] or ''}  来源: {row['source'] or ''}", ""] + (
            (row["body_text"] or "").split("\n\n"))

    return "\n".join(difflib.unified_diff(lines(old), lines(new), f"version {old['version']}",
                                          f"version {new['version']}", lineterm="", n=1))


def list_changes(catalogue: Catalogue, *, since: str | None = None, crawl: str | None = None,
                 with_diff: bool = True, sites: Sequence[str] = (), sections: Sequence[str] = ()) -> Iterator[Change]:
    """New and edited versions, withdrawals and restorations, oldest first: by when each was seen (a version's
    `first_seen`, a withdrawal's `detected`, a restoration's `restored`; at the same moment a restoration first,
    then a version: an article back with new text reads "restored", then "edited").

    The three lists come from the catalogue in that order and are merged as they
    are read: memory does not grow with the archive.
    """
    def versions() -> Iterator[Change]:
        for row in catalogue.version_changes(since, crawl, sites, sections):
            change = Change("new" if row["version"] == 1 else "edited", row["article_id"], row["url"],
                            row["title"], row["first_seen"], row["crawl_id"], row["version"],
                            row["changed_fields"] or [], site=row["site"], section=row["section"],
                            flags=row["flags"] or [])
            if change.change == "edited" and with_diff:
                old = catalogue.version(row["article_id"], row["version"] - 1)
                if old is not None:
                    change.diff = text_diff(old, row)
            yield change

    def withdrawals() -> Iterator[Change]:
        for row in catalogue.withdrawal_changes(since, crawl, sites, sections):
            yield Change("withdrawn", row["article_id"], row["url"], row["title"], row["detected"], row["crawl_id"],
                         how=row["how"], site=row["site"], section=row["section"], flags=row["flags"] or [])

    def restorations() -> Iterator[Change]:
        for row in catalogue.restoration_changes(since, crawl, sites, sections):
            yield Change("restored", row["article_id"], row["url"], row["title"], row["restored"],
                         row["restored_crawl_id"], how=row["how"], withdrawn_at=row["detected"], site=row["site"],
                         section=row["section"], flags=row["flags"] or [])

    yield from heapq.merge(restorations(), versions(), withdrawals(), key=lambda change: change.date)
