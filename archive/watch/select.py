"""Which changes a reader asked for, with what a feed or an alert shows of each.

    selection = ChangeFilter(since="2026-04-01", sites=("滕州市人民政府",), query="化工")
    for item in watched_changes(catalogue, selection, newest=100):
        item.change.change, item.title, item.flags, item.body_diff

`changes`, the feeds (`changes --format atom`, `serve`'s /-/feeds/, `crawl
--feeds-dir`) and the alerts (`crawl --notify`) all select through here, so
a filter means the same thing everywhere.  Every catalogue read goes through
the small functions under "catalogue reads", which call the `Catalogue` API.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from archive.catalogue import Catalogue
from archive.catalogue.api import decode_json
from archive.catalogue.changes import Change, list_changes
from archive.watch.diff import Diff, char_diff

KINDS = ("new", "edited", "withdrawn", "restored")


@dataclass(frozen=True)
class ChangeFilter:
    """What to select; every part optional, combined with AND.

    `since` (ISO date or time) and `crawl` (id) bound when and by which
    crawl a change was found.  `sites`/`sections` keep articles of any of
    these sites/sections (the profile's names, as the catalogue records
    them).  `query` keeps articles any version of which the Chinese
    full-text search finds (see `archive.search.query` for the syntax).
    """

    since: str | None = None
    crawl: str | None = None
    sites: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    query: str | None = None

    def describe(self) -> str:
        """A short human description, for feed titles."""
        parts = []
        if self.query:
            parts.append(f"“{self.query}”")
        parts += list(self.sites) + list(self.sections)
        if self.crawl:
            parts.append(f"crawl {self.crawl}")
        if self.since:
            parts.append(f"since {self.since}")
        return ", ".join(parts)

    def as_params(self) -> dict[str, Any]:
        """The filter as URL query parameters (lists for repeated ones)."""
        params: dict[str, Any] = {}
        for name in ("since", "crawl"):
            if getattr(self, name):
                params[name] = getattr(self, name)
        if self.query:
            params["q"] = self.query
        if self.sites:
            params["site"] = list(self.sites)
        if self.sections:
            params["section"] = list(self.sections)
        return params


@dataclass
class WatchedChange:
    """One change with what readers see of it.

    `old`/`new` are the version before and the version the change is about
    (for a withdrawal, `new` is None and `old` is the last archived version;
    for a restoration, `new` is the article's current version).
    """

    change: Change
    old: dict[str, Any] | None = None
    new: dict[str, Any] | None = None
    title_diff: Diff | None = None
    body_diff: Diff | None = None

    @property
    def shown(self) -> dict[str, Any]:
        """The version a reader sees: the new one, or the last one archived."""
        return self.new or self.old or {}

    @property
    def title(self) -> str | None:
        return self.shown.get("title") or self.change.title

    @property
    def flags(self) -> list[str]:
        return _json_list(self.shown.get("flags"))

    @property
    def capture_date(self) -> str | None:
        """When the shown version was captured (the memento to link to)."""
        return self.shown.get("capture_date") or self.shown.get("first_seen")

    def as_dict(self) -> dict[str, Any]:
        """The change for `changes --json`: its fields, flags, and the diffs of an edit."""
        out = self.change.as_dict()
        out["flags"] = self.flags
        if self.title_diff is not None:
            out["title_diff"] = self.title_diff
        if self.body_diff is not None:
            out["body_diff"] = self.body_diff
        return out


# -- catalogue reads (through the Catalogue API) ---------------------------------------------------------

# How far back the newest changes are looked for first (then further), from the newest crawl's start.
_LOOK_BACK = (timedelta(days=8), timedelta(days=64), timedelta(days=512))


def _changes(catalogue: Catalogue, selection: ChangeFilter, with_diff: bool = False,
             since: str | None = None) -> Iterator[Change]:
    return list_changes(catalogue, since=max(filter(None, (selection.since, since)), default=None),
                        crawl=selection.crawl, with_diff=with_diff, sites=selection.sites,
                        sections=selection.sections)


def _last_crawl_start(catalogue: Catalogue) -> datetime | None:
    crawls = catalogue.crawls(limit=1)
    if not crawls or not crawls[0].get("started"):
        return None
    return datetime.fromisoformat(crawls[0]["started"].replace("Z", "+00:00"))


def _version(catalogue: Catalogue, article_id: int, number: int | None) -> dict[str, Any] | None:
    """Version `number` of an article (None: its current version, with its `capture_date`)."""
    if number is not None:
        return catalogue.version(article_id, number)
    versions = catalogue.versions_of(article_id)
    current = catalogue.find_article(article_id).get("current_version")
    return next((row for row in versions if row["id"] == current), versions[-1] if versions else None)


def _matching_articles(catalogue: Catalogue, query: str) -> set[int]:
    """Ids of articles any version of which matches `query` (raises QueryError, IndexMissing)."""
    results = catalogue.search(query, all_versions=True, include_withdrawn=True, limit=None, snippets=False)
    return {hit.article_id for hit in results.hits}


# -- selection -----------------------------------------------------------------------------------------


def _json_list(value: Any) -> list:
    loaded = decode_json(value, [])
    return loaded if isinstance(loaded, list) else []


def iso_moment(value: str) -> str:
    """A `--since` value (YYYY-MM-DD, or a full ISO time) as an ISO string; ValueError when it is neither."""
    if len(value) == 10:
        return date.fromisoformat(value).isoformat()
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    # The catalogue's times are UTC text with microseconds, ending in Z (2026-12-03T09:56:20.123098Z), compared
    # as text: written the same way, or 2026-12-03T08:00:00+08:00 was 8 hours off and ...:20Z sorted after
    # every change of that second ('.' < 'Z').  A time without a zone is UTC, as before.
    moment = moment.astimezone(timezone.utc) if moment.tzinfo else moment
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def select(catalogue: Catalogue, selection: ChangeFilter, *, newest: int | None = None,
           with_diff: bool = False) -> Iterator[Change]:
    """The changes `selection` keeps, oldest first; only the `newest` N of them when given.

    Streams: memory holds at most `newest` changes.  For the newest N (a
    feed), the changes of the last week before the newest crawl are read
    first, then of longer stretches until N are found, so a feed does not
    read the whole history of a large archive.  `with_diff` keeps the
    catalogue's line diff (`Change.diff`) on each.
    """
    articles = _matching_articles(catalogue, selection.query) if selection.query else None

    def kept(changes: Iterator[Change]) -> Iterator[Change]:
        return (change for change in changes if articles is None or change.article_id in articles)

    if newest is None:
        yield from kept(_changes(catalogue, selection, with_diff))
        return
    last = _last_crawl_start(catalogue)
    for back in (*_LOOK_BACK, None) if last else (None,):
        since = (last - back).isoformat().replace("+00:00", "Z") if back else None
        # The newest N, and of changes seen at the same moment the last ones listed, as `list_changes` lists them.
        window = heapq.nlargest(newest, enumerate(kept(_changes(catalogue, selection, with_diff, since))),
                                key=lambda pair: (pair[1].date, pair[0]))
        if len(window) == newest or back is None:
            yield from (change for _, change in sorted(window, key=lambda pair: (pair[1].date, pair[0])))
            return


def watch(catalogue: Catalogue, change: Change, *, diffs: bool = True) -> WatchedChange:
    """`change` with its versions and, for an edit, the character diffs of title and body."""
    if change.change == "withdrawn":
        return WatchedChange(change, old=_version(catalogue, change.article_id, None))
    if change.change == "restored":  # back as its current version
        return WatchedChange(change, new=_version(catalogue, change.article_id, None))
    new = _version(catalogue, change.article_id, change.version)
    old = _version(catalogue, change.article_id, change.version - 1) if change.version and change.version > 1 else None
    item = WatchedChange(change, old=old, new=new)
    if diffs and change.change == "edited" and old is not None and new is not None:
        item.body_diff = char_diff(old.get("body_text"), new.get("body_text"))
        if (old.get("title") or "") != (new.get("title") or ""):
            item.title_diff = char_diff(old.get("title"), new.get("title"))
    return item


def watched_changes(catalogue: Catalogue, selection: ChangeFilter, *, newest: int | None = None,
                    diffs: bool = True, with_line_diff: bool = False) -> Iterator[WatchedChange]:
    """`select` then `watch`: each selected change with its versions and diffs, oldest first."""
    for change in select(catalogue, selection, newest=newest, with_diff=with_line_diff):
        yield watch(catalogue, change, diffs=diffs)
