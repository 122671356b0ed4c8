"""What the catalogue is folded from: one event per WARC record that matters.

The crawl builds these from what it has just written; `reindex` builds the
same ones by reading the WARC files.  Both feed `Catalogue.apply`, which is
why a rebuilt catalogue equals the live one.

Metadata records carry JSON with a `type` (and name what they describe by
`urn:pageinfo:<page URL>`, or `urn:portal-archive:crawl:<id>`):
`crawl-start` (settings), `listing` (the article URLs a list page showed),
`article` (the fields extracted from a response, concurrent to it) and
`crawl-end` (status, exit code, stats, whether the listing was complete).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from archive.warc.http import HttpHead

CRAWL_URI = "urn:portal-archive:crawl:"
# The headers a capture keeps, each by `HttpHead.get` (its first value).
CAPTURE_HEADERS = ("content-type", "location", "etag", "last-modified")


@dataclass(frozen=True)
class Position:
    """Where the record an event came from sits."""

    file: str
    offset: int
    length: int

    @property
    def end(self) -> int:
        return self.offset + self.length


@dataclass(frozen=True)
class Capture:
    """A response or revisit record."""

    crawl_id: str
    record_id: str
    warc_type: str
    url: str
    date: str
    status: int | None
    content_type: str | None
    location: str | None
    payload_digest: str | None
    refers_to: str | None
    truncated: str | None
    etag: str | None
    last_modified: str | None
    position: Position


@dataclass(frozen=True)
class Metadata:
    """A metadata record of ours: `payload["type"]` says which kind.

    `url` is the page it describes (`page_of` its target: `urn:pageinfo:`
    taken off, or the page's own URL in archives written before), or the
    crawl's urn for crawl-start and crawl-end.
    """

    crawl_id: str
    record_id: str
    url: str
    date: str
    concurrent_to: str | None
    payload: dict[str, Any] = field(hash=False)
    position: Position = field(default=Position("", 0, 0))

    @property
    def kind(self) -> str:
        return self.payload.get("type", "article")


@dataclass(frozen=True)
class FileStart:
    """A warcinfo record: a file of the crawl begins."""

    crawl_id: str
    date: str
    position: Position


Event = Capture | Metadata | FileStart


def http_fields(head: HttpHead) -> tuple[int | None, dict[str, str]]:
    """Status and the few headers the catalogue keeps (CAPTURE_HEADERS), from a parsed response head."""
    return head.status, {name: value for name in CAPTURE_HEADERS if (value := head.get(name)) is not None}


def metadata_payload(payload: bytes) -> dict[str, Any]:
    return json.loads(payload.decode("utf-8"))
