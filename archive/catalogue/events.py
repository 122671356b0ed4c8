"""What the catalogue is folded from: one event per WARC record that matters.

The crawl builds these from what it has just written; `reindex` builds the
same ones by reading the WARC files.  Both feed `Catalogue.apply`, which is
why a rebuilt catalogue equals the live one.

Metadata records carry JSON with a `type`:
`crawl-start` (settings), `listing` (the article URLs a list page showed),
`article` (the fields extracted from a response, concurrent to it) and
`crawl-end` (status, exit code, stats, whether the listing was complete).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

CRAWL_URI = "urn:portal-archive:crawl:"


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
    """A metadata record of ours: `payload["type"]` says which kind."""

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


def http_fields(http_head: bytes) -> tuple[int | None, dict[str, str]]:
    """Status and the few headers the catalogue keeps, from an HTTP response head."""
    lines = http_head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    wanted = {"content-type", "location", "etag", "last-modified"}
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        key = name.strip().lower().decode("latin-1")
        if sep and key in wanted and key not in headers:
            headers[key] = value.strip().decode("latin-1")
    return status, headers


def metadata_payload(payload: bytes) -> dict[str, Any]:
    return json.loads(payload.decode("utf-8"))
