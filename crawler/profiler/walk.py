"""Walking a few answers of a column's list the way the crawl will, for `profile new` and `profile check`."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from scrapy.http import TextResponse

from crawler.pagination import ListRequest, read_list
from crawler.pages.listing import ListEntry
from crawler.profile import SiteProfile
from crawler.profiler.fetch import Fetcher, FetchError


@dataclass
class ListWalk:
    """What a walk saw: the answers asked for, the rows each showed, their links (one per URL, in order)."""

    requests: list[ListRequest] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    entries: list[ListEntry] = field(default_factory=list)
    html_paths: list[str] = field(default_factory=list)  # paths of the HTML list pages walked
    notes: list[str] = field(default_factory=list)
    error: str | None = None  # why the next answer could not be fetched
    next: ListRequest | None = None  # where the walk stopped; None when the list itself ended


def walk_list(request: ListRequest | None, fetcher: Fetcher, profile: SiteProfile, limit: int,
              answer: TextResponse | None = None) -> ListWalk:
    """Ask for up to `limit` list answers from `request` on (its `answer` given when already fetched)."""
    walk = ListWalk()
    seen: set[str] = set()
    while request is not None and len(walk.requests) < limit:
        if answer is None:
            try:
                answer = fetcher.fetch(request)
            except FetchError as error:
                walk.error = error.reason
                break
        view = read_list(request, answer, profile)
        walk.requests.append(request)
        walk.rows.append(len(view.entries))
        if request.kind == "page":
            walk.html_paths.append(urlsplit(answer.url).path)
        for entry in view.entries:
            if entry.url not in seen:
                seen.add(entry.url)
                walk.entries.append(entry)
        walk.notes += view.notes
        request, answer = view.next, None
    walk.next = request
    return walk
