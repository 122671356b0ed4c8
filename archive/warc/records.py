"""Pure WARC 1.1 record building: headers, digests, ids and dates.

Records are built from raw bytes.  HTTP heads are passed exactly as they went
over the wire (non-ASCII header bytes included) and are never re-serialised;
bodies are stored as sent (still content-encoded).  Nothing here does I/O, so
tests can compare exact bytes.

A `Record` is a WARC head plus its block as a tuple of byte strings, so that a
25 KB body is never copied just to be framed.

Why not warcio's `WARCWriter`/`create_warc_record`: it re-serialises the HTTP
head from parsed `StatusAndHeaders`, which percent-encodes every header value
that is not ASCII (`to_ascii_bytes`), so a GBK `Content-Disposition` or
`X-Source` would no longer be what the server sent, and the block digest
would describe bytes nobody sent.  Reading is warcio's (`archive.warc.http`
parses with its `StatusAndHeadersParser`); writing stays here.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable

WARC_VERSION = "WARC/1.1"
CRLF2 = b"\r\n\r\n"
HTTP_REQUEST = "application/http;msgtype=request"
HTTP_RESPONSE = "application/http;msgtype=response"
WARC_FIELDS = "application/warc-fields"
CONFORMS_TO = "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"
FORMAT = "WARC File Format 1.1"
REVISIT_PROFILES = {
    "identical-payload-digest": "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest",
    "server-not-modified": "http://netpreserve.org/warc/1.1/revisit/server-not-modified",
}
TRUNCATED_REASONS = frozenset({"length", "time", "disconnect", "unspecified"})
# Metadata about a page is named by this prefix + the page's URL, as browsertrix does, so that no
# indexer or replay tool mistakes it for the page itself.
PAGEINFO = "urn:pageinfo:"


def pageinfo_uri(url: str) -> str:
    """The WARC-Target-URI of a metadata record about the page at `url`."""
    return PAGEINFO + url


def page_of(target_uri: str) -> str:
    """The page a metadata record describes: `urn:pageinfo:` taken off (other targets are returned as they are,
    such as the page URL itself in archives written before metadata records had their own URN)."""
    return target_uri.removeprefix(PAGEINFO)


@dataclass(frozen=True, slots=True)
class Record:
    """One serialised record: `head` (WARC headers and blank line) and `block`.

    `parts` is everything to write, in order, including the closing CRLF CRLF.
    """

    warc_type: str
    record_id: str
    date: str
    head: bytes
    block: tuple[bytes, ...]
    payload_digest: str | None

    @property
    def parts(self) -> tuple[bytes, ...]:
        return (self.head, *self.block, CRLF2)

    def to_bytes(self) -> bytes:
        return b"".join(self.parts)


def sha1_digest(*parts: bytes) -> str:
    """`sha1:` + base32 digest of the concatenation of `parts`."""
    h = hashlib.sha1()
    for part in parts:
        h.update(part)
    return "sha1:" + base64.b32encode(h.digest()).decode("ascii")


def format_date(moment: datetime) -> str:
    """WARC-Date: UTC with microseconds, `YYYY-MM-DDThh:mm:ss.ffffffZ`.

    Naive datetimes are refused: a capture time in an unknown zone is a bug.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"WARC dates need a timezone-aware datetime, got {moment!r}")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_record_id() -> str:
    """A fresh `<urn:uuid:…>` record id."""
    return f"<urn:uuid:{uuid.uuid4()}>"


def warc_head(fields: Iterable[tuple[str, str]], content_length: int) -> bytes:
    """Serialise WARC headers (UTF-8), ending with Content-Length and a blank line."""
    lines = [WARC_VERSION]
    for name, value in fields:
        # A CR or LF in a value would let it forge headers of its own.
        if "\r" in value or "\n" in value:
            raise ValueError(f"WARC header {name} contains a line break: {value!r}")
        lines.append(f"{name}: {value}")
    lines.append(f"Content-Length: {content_length}")
    lines.append("\r\n")
    return "\r\n".join(lines).encode("utf-8")


def warc_fields(fields: Iterable[tuple[str, str]]) -> bytes:
    """An `application/warc-fields` block (used by warcinfo)."""
    out = []
    for name, value in fields:
        if "\r" in value or "\n" in value:
            raise ValueError(f"warcinfo field {name} contains a line break: {value!r}")
        out.append(f"{name}: {value}\r\n")
    return "".join(out).encode("utf-8")


def _check_http_head(head: bytes, what: str) -> None:
    # The payload starts after the first blank line; a head without one would
    # make every reader (and the payload digest) split the block elsewhere.
    if not head.endswith(CRLF2) or head.find(CRLF2) != len(head) - 4:
        raise ValueError(f"{what} must end with exactly one CRLF CRLF (the end of the HTTP head)")


def _record(warc_type: str, record_id: str, date: str, fields: list[tuple[str, str]],
            block: tuple[bytes, ...], payload_digest: str | None) -> Record:
    length = sum(len(part) for part in block)
    head = warc_head(fields, length)
    return Record(warc_type, record_id, date, head, block, payload_digest)


def warcinfo_record(*, record_id: str, date: str, filename: str, block: bytes,
                    block_digest: str | None = None) -> Record:
    """A warcinfo record; `block` comes from `warc_fields()` (its digest may be precomputed)."""
    fields = [
        ("WARC-Type", "warcinfo"),
        ("WARC-Record-ID", record_id),
        ("WARC-Date", date),
        ("WARC-Filename", filename),
        ("WARC-Block-Digest", block_digest or sha1_digest(block)),
        ("Content-Type", WARC_FIELDS),
    ]
    return _record("warcinfo", record_id, date, fields, (block,), None)


def response_record(*, record_id: str, date: str, target_uri: str, ip_address: str | None,
                    http_head: bytes, body: bytes, truncated: str | None = None) -> Record:
    """A response record: raw HTTP head + body as sent (content-encoded)."""
    _check_http_head(http_head, "response_head")
    if truncated is not None and truncated not in TRUNCATED_REASONS:
        raise ValueError(f"WARC-Truncated must be one of {sorted(TRUNCATED_REASONS)}, got {truncated!r}")
    payload_digest = sha1_digest(body)
    fields = [
        ("WARC-Type", "response"),
        ("WARC-Record-ID", record_id),
        ("WARC-Date", date),
        ("WARC-Target-URI", target_uri),
    ]
    if ip_address:
        fields.append(("WARC-IP-Address", ip_address))
    fields.append(("WARC-Block-Digest", sha1_digest(http_head, body)))
    fields.append(("WARC-Payload-Digest", payload_digest))
    if truncated:
        fields.append(("WARC-Truncated", truncated))
    fields.append(("Content-Type", HTTP_RESPONSE))
    return _record("response", record_id, date, fields, (http_head, body), payload_digest)


def request_record(*, record_id: str, date: str, target_uri: str, concurrent_to: str,
                   http_head: bytes, body: bytes = b"") -> Record:
    """A request record pointing at its response (or revisit) by WARC-Concurrent-To."""
    _check_http_head(http_head, "request_head")
    fields = [
        ("WARC-Type", "request"),
        ("WARC-Record-ID", record_id),
        ("WARC-Date", date),
        ("WARC-Target-URI", target_uri),
        ("WARC-Concurrent-To", concurrent_to),
        ("WARC-Block-Digest", sha1_digest(http_head, body)),
    ]
    payload_digest = None
    if body:
        payload_digest = sha1_digest(body)
        fields.append(("WARC-Payload-Digest", payload_digest))
    fields.append(("Content-Type", HTTP_REQUEST))
    return _record("request", record_id, date, fields, (http_head, body), payload_digest)


def metadata_record(*, record_id: str, date: str, target_uri: str, concurrent_to: str | None,
                    payload: bytes, content_type: str = "application/json",
                    refers_to: str | None = None) -> Record:
    """A metadata record about the record `concurrent_to` (e.g. extracted fields as JSON),
    or, with `concurrent_to` None, about the crawl itself.

    `refers_to` is the id of the record it describes (WARC 1.1, 5.11): for a
    page, its response or revisit, with `target_uri` from `pageinfo_uri`.
    """
    fields = [
        ("WARC-Type", "metadata"),
        ("WARC-Record-ID", record_id),
        ("WARC-Date", date),
        ("WARC-Target-URI", target_uri),
    ]
    if concurrent_to is not None:
        fields.append(("WARC-Concurrent-To", concurrent_to))
    if refers_to is not None:
        fields.append(("WARC-Refers-To", refers_to))
    fields += [
        ("WARC-Block-Digest", sha1_digest(payload)),
        ("Content-Type", content_type),
    ]
    return _record("metadata", record_id, date, fields, (payload,), None)


def revisit_record(*, record_id: str, date: str, target_uri: str, ip_address: str | None,
                   http_head: bytes, profile: str, refers_to: str | None, refers_to_uri: str,
                   refers_to_date: str, payload_digest: str | None) -> Record:
    """A revisit record: the new HTTP head only, pointing at the earlier capture.

    `profile` is "identical-payload-digest" (needs `payload_digest`, the
    earlier payload's) or "server-not-modified" (a 304).
    """
    _check_http_head(http_head, "response_head")
    if profile not in REVISIT_PROFILES:
        raise ValueError(f"revisit profile must be one of {sorted(REVISIT_PROFILES)}, got {profile!r}")
    if profile == "identical-payload-digest" and not payload_digest:
        raise ValueError("an identical-payload-digest revisit needs the payload digest")
    fields = [
        ("WARC-Type", "revisit"),
        ("WARC-Record-ID", record_id),
        ("WARC-Date", date),
        ("WARC-Target-URI", target_uri),
    ]
    if ip_address:
        fields.append(("WARC-IP-Address", ip_address))
    fields.append(("WARC-Profile", REVISIT_PROFILES[profile]))
    if refers_to:
        fields.append(("WARC-Refers-To", refers_to))
    fields.append(("WARC-Refers-To-Target-URI", refers_to_uri))
    fields.append(("WARC-Refers-To-Date", refers_to_date))
    fields.append(("WARC-Block-Digest", sha1_digest(http_head)))
    if payload_digest:
        fields.append(("WARC-Payload-Digest", payload_digest))
    fields.append(("Content-Type", HTTP_RESPONSE))
    return _record("revisit", record_id, date, fields, (http_head,), payload_digest)
