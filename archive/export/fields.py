"""The columns of an export: names, types, descriptions, and their values.

One export row is one article version, joined with its article and the
capture it was parsed from.  Each `Field` turns a catalogue row (see
`archive.export.select.SELECT`) into a plain value: str, int, bool, None, or
lists and dicts of those.  Times stay ISO 8601 text here; each format decides
how to store them (Parquet turns them into timestamps).

Images and attachments are lists of flat entries (`MEDIA_KEYS`), the same in
every format: the catalogue's nested `warc` reference becomes `warc_file`,
`warc_offset`, `warc_length` and `warc_record_id`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from archive.export.errors import BadRequest, CatalogueUnreadable

IMAGE_KEYS = ("url", "alt", "caption", "status", "content_type", "size", "digest",
              "warc_file", "warc_offset", "warc_length", "warc_record_id", "error")
ATTACHMENT_KEYS = ("url", "name", "status", "content_type", "size", "digest",
                   "warc_file", "warc_offset", "warc_length", "warc_record_id", "error")

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, slots=True)
class Field:
    """One export column.

    `type` is its Table Schema type in the text formats (CSV, JSONL, xlsx),
    where arrays and objects are JSON; Parquet's types are in
    `archive.export.parquet_writer`.
    """

    name: str
    type: str
    description: str
    value: Callable[[Any], Any]


def _json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        value = json.loads(text)
        json.dumps(value, ensure_ascii=False).encode("utf-8")  # a lone surrogate (\ud800) no file can hold
    except (ValueError, RecursionError) as error:  # UnicodeEncodeError is a ValueError
        raise CatalogueUnreadable(f"the catalogue holds malformed JSON ({error}): {text[:80]!r}") from None
    return value


def flatten_media(text: str | None, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """A catalogue images/attachments JSON list as flat entries with exactly `keys`; CatalogueUnreadable for one
    that is not a list of objects (a hand-edited or damaged catalogue: a traceback before)."""
    found = _json(text) or []
    if not isinstance(found, list) or not all(
            isinstance(entry, dict) and isinstance(entry.get("warc") or {}, dict) for entry in found):
        raise CatalogueUnreadable(f"the catalogue holds media that are not a list of objects: {text[:80]!r} "
                                  "(portal-archive reindex rebuilds the catalogue from the WARC files)")
    entries = []
    for entry in found:
        warc = entry.get("warc") or {}
        flat = {key: entry.get(key) for key in keys}
        flat.update(warc_file=warc.get("file"), warc_offset=warc.get("offset"),
                    warc_length=warc.get("length"), warc_record_id=warc.get("record_id"))
        entries.append(flat)
    return entries


def published_date(published: str | None) -> str | None:
    """The date part of `published` as written (the portal's local date), or None."""
    if published and _DATE.match(published):
        try:
            return date.fromisoformat(published[:10]).isoformat()
        except ValueError:
            return None
    return None


def _column(name: str) -> Callable[[Any], Any]:
    return lambda row: row[name]


def _json_column(name: str) -> Callable[[Any], Any]:
    return lambda row: _json(row[name])


_ALL = (
    Field("article_id", "integer", "Stable article id in the catalogue.", _column("article_id")),
    Field("version", "integer", "Version number of the article (1, 2, ...).", _column("version")),
    Field("url", "string", "Canonical URL of the article.", _column("url")),
    Field("title", "string", "Title.", _column("title")),
    Field("published", "string",
          "Publication date or time as the page shows it (ISO 8601: YYYY-MM-DD, or a time with +08:00).",
          _column("published")),
    Field("published_date", "date", "Date part of `published` (local date, +08:00).",
          lambda row: published_date(row["published"])),
    Field("source", "string", "Source (来源) line of the article.", _column("source")),
    Field("column_name", "string", "Section (栏目) the article was found in.", _column("column_name")),
    Field("site", "string", "Site (the profile's short name) the article belongs to.", _column("site")),
    Field("section", "string", "Section (the profile's column) whose list showed the article.", _column("section")),
    Field("site_name", "string", "Site name from the page's metadata.", _column("site_name")),
    Field("site_id_code", "string", "Site identification code (网站标识码).", _column("site_id_code")),
    Field("xxgk", "object", "信息公开 metadata table (索引号, 发布机构, 生成日期 …) as printed, or null.",
          _json_column("xxgk")),
    Field("breadcrumb", "array", "Breadcrumb trail, as a list of labels.", _json_column("breadcrumb")),
    Field("body_text", "string", "Plain text of the body; paragraphs separated by a blank line.",
          _column("body_text")),
    Field("body_html", "string", "Cleaned HTML of the main block (not exported unless asked for).",
          _column("body_html")),
    Field("images", "array",
          "Images: list of {" + ", ".join(IMAGE_KEYS) + "}; digest is sha256 of the bytes.",
          lambda row: flatten_media(row["images"], IMAGE_KEYS)),
    Field("attachments", "array",
          "Attachments: list of {" + ", ".join(ATTACHMENT_KEYS) + "}; digest is sha256 of the bytes.",
          lambda row: flatten_media(row["attachments"], ATTACHMENT_KEYS)),
    Field("flags", "array", "Integrity flags (hijacked_city_name, spam_keywords, hidden_links, injected_script).",
          _json_column("flags")),
    Field("problems", "array", "Parse problem codes.", _json_column("problems")),
    Field("charset", "object", "Character set: {declared, used}.", _json_column("charset")),
    Field("changed_fields", "array", "Fields that differ from the previous version (null for version 1).",
          _json_column("changed_fields")),
    Field("content_hash", "string", "sha256 of title, date, source, body and media URLs.", _column("content_hash")),
    Field("article_status", "string", "live or withdrawn.", _column("article_status")),
    Field("withdrawn_at", "datetime", "When the withdrawal was detected (UTC), if the article is withdrawn.",
          _column("withdrawn_at")),
    Field("withdrawn_how", "string", "How it was withdrawn: 404, 410, redirect_home, error_page (a page saying it does not exist) or gone_from_listing.",
          _column("withdrawn_how")),
    Field("is_current", "boolean", "True for the article's current version.", lambda row: bool(row["is_current"])),
    Field("first_seen", "datetime", "First capture that showed this version (UTC).", _column("first_seen")),
    Field("last_seen", "datetime", "Last capture that showed this version (UTC).", _column("last_seen")),
    Field("extractor", "string", "Extractor name and version.", _column("extractor")),
    Field("crawl_id", "string", "Crawl that captured this version.", _column("crawl_id")),
    Field("capture_time", "datetime", "WARC-Date of the response record this version was parsed from (UTC).",
          _column("capture_time")),
    Field("warc_file", "string", "WARC file holding that record.", _column("warc_file")),
    Field("warc_offset", "integer", "Offset of the record's gzip member in the WARC file.", _column("warc_offset")),
    Field("warc_length", "integer", "Length of the record's gzip member.", _column("warc_length")),
    Field("warc_record_id", "string", "WARC-Record-ID of that record.", _column("warc_record_id")),
)

FIELDS: dict[str, Field] = {field.name: field for field in _ALL}
# Always exported, whatever --fields says: where each row comes from.
PROVENANCE = ("article_id", "version", "url", "crawl_id", "capture_time", "warc_file", "warc_record_id")
DEFAULT_FIELDS = tuple(name for name in FIELDS if name != "body_html")


def choose_fields(names: Iterable[str] | None) -> list[Field]:
    """The columns to export, in order.

    None gives DEFAULT_FIELDS (all but body_html).  Otherwise the named fields
    in the order given, then any provenance field not named.  Raises
    BadRequest for an unknown or repeated name.
    """
    if names is None:
        return [FIELDS[name] for name in DEFAULT_FIELDS]
    chosen: list[str] = []
    for name in names:
        if name not in FIELDS:
            raise BadRequest(f"unknown field {name!r} (known: {', '.join(FIELDS)})")
        if name in chosen:
            raise BadRequest(f"field {name!r} is named twice")
        chosen.append(name)
    chosen += [name for name in PROVENANCE if name not in chosen]
    return [FIELDS[name] for name in chosen]
