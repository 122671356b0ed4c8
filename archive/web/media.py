"""Images and attachments served from the WARC files, never from the live site.

A capture is addressed by its row id in the catalogue's `captures` table.  A
revisit record holds no payload, so it is followed to the response it
refers to (by WARC-Refers-To, else by URL and payload digest).  The body is
returned decoded from its HTTP Content-Encoding, with its content type.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

from archive.catalogue import Catalogue
from archive.warc.errors import WarcFormatError
from archive.warc.reader import read_record, split_http

# Served inline; anything else is offered as a download (an archived HTML
# page or SVG must never run in our origin).
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/x-icon",
                          "image/vnd.microsoft.icon", "application/pdf", "text/plain"})
_MAX_FOLLOW = 5


class MediaNotFound(LookupError):
    """The catalogue has no such capture, or the archive holds no payload for it."""


class MediaUnreadable(Exception):
    """The WARC record is missing or damaged."""


@dataclass(frozen=True)
class Media:
    """A payload read back from the archive."""

    capture_id: int
    url: str
    date: str
    content_type: str  # from the HTTP head, without parameters when unknown
    body: bytes
    truncated: bool

    @property
    def media_type(self) -> str:
        return self.content_type.split(";")[0].strip().lower()

    @property
    def inline(self) -> bool:
        return self.media_type in INLINE_TYPES

    @property
    def filename(self) -> str:
        name = self.url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        return name or f"capture-{self.capture_id}"


def http_headers(http_head: bytes) -> dict[str, str]:
    """An HTTP head's headers, lower-cased names, last value wins."""
    headers = {}
    for line in http_head.decode("latin-1").split("\r\n")[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers


def decode_body(body: bytes, content_encoding: str | None) -> bytes:
    """The body without its Content-Encoding (gzip, deflate); as much as decodes when cut short."""
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    for coding in reversed(codings):
        if coding in ("gzip", "x-gzip"):
            decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif coding == "deflate":
            decoder = zlib.decompressobj(zlib.MAX_WBITS if body[:1] == b"\x78" else -zlib.MAX_WBITS)
        elif coding == "identity":
            continue
        else:
            return body  # an encoding we cannot undo: hand over the bytes as stored
        try:
            body = decoder.decompress(body) + decoder.flush()
        except zlib.error:
            return body
    return body


def load_media(catalogue: Catalogue, warc_folder: Path, capture_id: int) -> Media:
    """The payload of capture `capture_id`, decoded; MediaNotFound or MediaUnreadable otherwise."""
    row = catalogue.capture(capture_id)
    if row is None:
        raise MediaNotFound(f"no capture {capture_id} in the catalogue")
    for _ in range(_MAX_FOLLOW):
        if row["warc_type"] != "revisit":
            break
        row = catalogue.original_of(row)
        if row is None:
            raise MediaNotFound(f"capture {capture_id} is a revisit whose original is not in the catalogue")
    if row["warc_type"] != "response":
        raise MediaNotFound(f"capture {capture_id} holds no payload ({row['warc_type']})")
    path = Path(warc_folder) / Path(row["file"]).name
    try:
        _, block = read_record(path, row["offset"], row["length"])
        http_head, body = split_http(block)
    except FileNotFoundError:
        raise MediaUnreadable(f"WARC file {row['file']} is not in {warc_folder}") from None
    except (WarcFormatError, OSError) as error:
        raise MediaUnreadable(f"cannot read capture {capture_id} from {row['file']}: {error}") from error
    headers = http_headers(http_head)
    content_type = headers.get("content-type") or row["content_type"] or "application/octet-stream"
    return Media(capture_id=capture_id, url=row["url"], date=row["date"], content_type=content_type,
                 body=decode_body(body, headers.get("content-encoding")), truncated=bool(row["truncated"]))
