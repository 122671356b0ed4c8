"""Reading the events back out of WARC files, for reindex and reconciliation."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from archive.catalogue.events import (
    Capture, Event, FileStart, Metadata, Position, http_fields, metadata_payload,
)
from archive.warc.errors import GzipMemberError, WarcFormatError
from archive.warc.http import read_head
from archive.warc.members import MemberReader
from archive.warc.reader import Block, read_warc_head
from archive.warc.records import page_of


def events_from_file(path: Path, start: int = 0, crawl_hint: str | None = None) -> Iterator[Event]:
    """The events of one finished WARC file, from byte `start` (a record boundary)."""
    name = os.path.basename(path)
    crawl_id = crawl_hint
    with open(path, "rb") as stream:
        stream.seek(start)
        for member in MemberReader(stream, start):
            head = read_warc_head(member)
            get = head.get
            kind = head.type
            event: Event | None = None
            if kind == "warcinfo":
                info = member.read(head.content_length or 0).decode("utf-8", "replace")
                for line in info.splitlines():
                    key, _, value = line.partition(":")
                    if key.strip() == "isPartOf":
                        crawl_id = value.strip()
                member.drain()
                position = Position(name, member.offset, member.length)
                event = FileStart(crawl_id or "", get("warc-date") or "", position)
            elif kind in ("response", "revisit"):
                try:
                    status, headers = http_fields(read_head(Block(member, head.content_length or 0)))
                except GzipMemberError:
                    raise
                except WarcFormatError:  # a bad block: kept as a capture all the same; verify reports it
                    status, headers = None, {}
                member.drain()
                event = Capture(
                    crawl_id=crawl_id or "", record_id=head.record_id or "", warc_type=kind,
                    url=get("warc-target-uri") or "", date=get("warc-date") or "", status=status,
                    content_type=headers.get("content-type"), location=headers.get("location"),
                    payload_digest=get("warc-payload-digest"), refers_to=get("warc-refers-to"),
                    truncated=get("warc-truncated"), etag=headers.get("etag"),
                    last_modified=headers.get("last-modified"),
                    position=Position(name, member.offset, member.length or 0),
                )
            elif kind == "metadata" and (get("content-type") or "").startswith("application/json"):
                payload = metadata_payload(member.read(head.content_length or 0))
                member.drain()
                event = Metadata(
                    crawl_id=crawl_id or "", record_id=head.record_id or "",
                    url=page_of(get("warc-target-uri") or ""),
                    date=get("warc-date") or "", concurrent_to=get("warc-concurrent-to"),
                    payload=payload, position=Position(name, member.offset, member.length or 0),
                )
            else:
                member.drain()
            if event is not None:
                yield event


def crawl_of(path: Path) -> str | None:
    """The crawl id in a file's first warcinfo record."""
    for event in events_from_file(path):
        return event.crawl_id if isinstance(event, FileStart) else None
    return None
