"""Which WARC headers each record type must (and must not) carry in our archive.

These follow WARC 1.1 plus this project's own stricter choices (every record
has a block digest, responses carry their IP address).  `check_head` applies
the table to one record's head and returns plain-language problems.
"""

from __future__ import annotations

import re

from archive.warc.reader import WarcHead

COMMON = ("WARC-Record-ID", "WARC-Date", "WARC-Type", "Content-Length", "WARC-Block-Digest")

# type -> (required headers beyond COMMON, forbidden headers)
RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "warcinfo": ((), ("WARC-Target-URI",)),
    "response": (("WARC-Target-URI", "WARC-IP-Address", "WARC-Payload-Digest"), ()),
    "request": (("WARC-Target-URI", "WARC-Concurrent-To"), ()),
    "metadata": (("WARC-Target-URI",), ()),
    "revisit": (("WARC-Target-URI", "WARC-Profile", "WARC-Refers-To-Target-URI",
                 "WARC-Refers-To-Date"), ()),
    "resource": (("WARC-Target-URI",), ()),
    "conversion": (("WARC-Target-URI",), ()),
    "continuation": (("WARC-Target-URI", "WARC-Segment-Origin-ID"), ()),
}

# Fields the first warcinfo of every file must declare (WARC.md, requirement 2).
WARCINFO_FIELDS = ("software", "version", "format", "conformsTo", "robots",
                   "http-header-user-agent", "operator", "isPartOf")

RECORD_ID = re.compile(r"<[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>]+>\Z")
UTC_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z\Z")
DIGEST = re.compile(r"[A-Za-z0-9\-]+:[A-Za-z0-9+/=_\-]+\Z")
TRUNCATED = ("length", "time", "disconnect", "unspecified")


def check_head(head: WarcHead) -> list[str]:
    """Problems with one record's headers, per the table above."""
    problems = []
    rtype = head.type
    if rtype is not None and rtype not in RULES:
        problems.append(f"unknown WARC-Type {rtype!r}")
    required, forbidden = RULES.get(rtype or "", ((), ()))
    for name in COMMON + required:
        if head.get(name) is None:
            problems.append(f"{rtype or 'record'} has no {name}")
    for name in forbidden:
        if head.get(name) is not None:
            problems.append(f"{rtype} must not carry {name}")
    for name in ("WARC-Record-ID", "WARC-Type", "WARC-Date", "Content-Length"):
        if len(head.get_all(name)) > 1:
            problems.append(f"{name} appears more than once")
    record_id = head.record_id
    if record_id is not None and not RECORD_ID.match(record_id):
        problems.append(f"WARC-Record-ID {record_id!r} is not a <URI>")
    for name in ("WARC-Date", "WARC-Refers-To-Date"):
        value = head.get(name)
        if value is not None and not UTC_DATE.match(value):
            problems.append(f"{name} {value!r} is not a UTC timestamp (YYYY-MM-DDThh:mm:ss[.f]Z)")
    for name in ("WARC-Block-Digest", "WARC-Payload-Digest"):
        value = head.get(name)
        if value is not None and not DIGEST.match(value):
            problems.append(f"{name} {value!r} is not algorithm:value")
    if head.get("Content-Length") is not None and head.content_length is None:
        problems.append(f"Content-Length {head.get('Content-Length')!r} is not a number")
    if head.content_length and not head.get("Content-Type"):
        problems.append("non-empty block has no Content-Type")
    truncated = head.get("WARC-Truncated")
    if truncated is not None and truncated not in TRUNCATED:
        problems.append(f"WARC-Truncated {truncated!r} is not one of {', '.join(TRUNCATED)}")
    if rtype == "revisit":
        profile = head.get("WARC-Profile") or ""
        if profile.endswith("/identical-payload-digest") and not head.get("WARC-Payload-Digest"):
            problems.append("identical-payload-digest revisit has no WARC-Payload-Digest")
    return problems


def check_warcinfo_fields(block: bytes) -> list[str]:
    """Problems with a warcinfo block: it must be warc-fields declaring WARCINFO_FIELDS."""
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        return ["warcinfo block is not UTF-8"]
    names = {line.partition(":")[0].strip() for line in text.splitlines() if ":" in line}
    missing = [name for name in WARCINFO_FIELDS if name not in names]
    return [f"warcinfo does not declare {', '.join(missing)}"] if missing else []


def warcinfo_value(block: bytes, name: str) -> str | None:
    """The value of field `name` in a warcinfo block, or None."""
    for line in block.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == name:
            return value.strip()
    return None
