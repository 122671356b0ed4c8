"""Images and attachments served from the WARC files, never from the live site.

A capture is addressed by its row id in the catalogue's `captures` table.  A
revisit record holds no payload, so it is followed to the response it
refers to (by WARC-Refers-To, else by URL and payload digest).  The body is
read through `archive.warc.http` (its rules for headers and encodings),
decoded from its Content-Encoding piece by piece as it is sent, never whole.
"""

from __future__ import annotations

import re

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from archive.catalogue import Catalogue
from archive.warc.errors import WarcFormatError
from archive.warc.http import PIECE, open_http

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
    """A payload in the archive: what is known of it, and `chunks()` to read it."""

    capture_id: int
    url: str
    date: str
    content_type: str  # from the HTTP head (its first Content-Type), else the catalogue's
    truncated: bool
    path: Path  # the WARC file, and the record's gzip member in it
    offset: int
    length: int

    def chunks(self, size: int = PIECE) -> Iterator[bytes]:
        """The body with its Content-Encoding undone, piece by piece, read from the WARC file as it goes.

        Raises MediaUnreadable when the record is gone or damaged, and
        `archive.warc.errors.BodyDecodeError` when the body does not decode.
        """
        try:
            with open_http(self.path, self.offset, self.length) as message:
                body = message.decoded()
                while piece := body.read(size):
                    yield piece
        except (WarcFormatError, OSError) as error:
            raise MediaUnreadable(f"cannot read capture {self.capture_id} from {self.path.name}: {error}") from error

    @property
    def media_type(self) -> str:
        return self.content_type.split(";")[0].strip().lower()

    @property
    def inline(self) -> bool:
        return self.media_type in INLINE_TYPES

    @property
    def filename(self) -> str:
        """The URL's last path segment as the reader would name the file (its percent-escapes decoded once: the
        header quotes it again), without separators or control characters."""
        name = unquote(urlsplit(self.url).path.rstrip("/").rsplit("/", 1)[-1])
        name = "".join(c for c in name if c.isprintable() and c not in "/\\").strip(" .")
        return name or f"capture-{self.capture_id}"


def load_media(catalogue: Catalogue, warc_folder: Path, capture_id: int) -> Media:
    """The payload of capture `capture_id` (its head read, its body not yet); MediaNotFound or MediaUnreadable."""
    row = catalogue.capture(capture_id)
    if row is None:
        raise MediaNotFound(f"no capture {capture_id} in the catalogue")
    asked = row  # a revisit is served as itself (its URL, date, type); only its payload is the original's
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
        with open_http(path, row["offset"], row["length"]) as message:
            content_type = message.head.get("Content-Type")
    except FileNotFoundError:
        raise MediaUnreadable(f"WARC file {row['file']} is not in {warc_folder}") from None
    except (WarcFormatError, OSError) as error:
        raise MediaUnreadable(f"cannot read capture {capture_id} from {row['file']}: {error}") from error
    if asked is not row:
        content_type = asked["content_type"] or content_type  # a 304's head may say none: the original's then
    return Media(capture_id=capture_id, url=asked["url"], date=asked["date"],
                 content_type=media_type(content_type or row["content_type"]),
                 truncated=bool(row["truncated"]), path=path, offset=row["offset"], length=row["length"])


_TOKEN = r"[A-Za-z0-9!#$&^_.+-]+"
_MEDIA_TYPE = re.compile(rf"\s*({_TOKEN}/{_TOKEN})\s*(?:;.*?\bcharset\s*=\s*\"?({_TOKEN})\"?)?", re.IGNORECASE)


def media_type(value: str | None) -> str:
    """A Content-Type the archived server sent, as one this server may send: `type/subtype` and a charset
    (of token characters), or application/octet-stream (a NUL in it closed the connection unanswered; other
    control or non-ASCII bytes went out as an invalid header)."""
    found = _MEDIA_TYPE.match(value or "")
    if not found or not (value or "").isascii() or any(ord(c) < 32 and c != "\t" or c == "\x7f" for c in value):
        return "application/octet-stream"
    kind, charset = found.groups()
    return f"{kind.lower()}; charset={charset}" if charset else kind.lower()
