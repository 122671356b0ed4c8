"""The article item: what one crawled article page becomes.

Fields compared with the replica's ground truth are listed in TRUTH_FIELDS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Fields a parser must get right; the replica's ground truth carries exactly these.
TRUTH_FIELDS = (
    "url",
    "title",
    "published",
    "source",
    "body_text",
    "images",
    "attachments",
    "breadcrumb",
    "site_name",
    "site_id_code",
    "column_name",
    "charset",
)


@dataclass
class ArticleItem:
    url: str
    title: str | None
    published: str | None  # ISO 8601: YYYY-MM-DD, or with time and +08:00
    source: str | None
    body_text: str  # paragraphs joined by a blank line; captions are paragraphs
    body_html: str  # the cleaned main block
    images: list[dict[str, Any]] = field(default_factory=list)  # {url, alt, caption, ...}
    attachments: list[dict[str, Any]] = field(default_factory=list)  # {url, name, ...}
    breadcrumb: list[str] = field(default_factory=list)
    site_name: str | None = None
    site_id_code: str | None = None
    column_name: str | None = None
    charset: dict[str, str | None] = field(default_factory=dict)  # {declared, used}
    fetched_at: str | None = None
    http_status: int | None = None
    content_hash: str | None = None
    crawl_id: str | None = None
    extractor: str | None = None  # extractor name and version
    problems: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # integrity flags, see crawler.pages.integrity
    warc: dict[str, Any] | None = None  # {file, offset, length, record_id, payload_digest}
    site: str | None = None  # the profile's short name
    section: str | None = None  # the section (column) crawled
    xxgk: dict[str, str] | None = None  # a 信息公开 page's metadata table (索引号, 发布机构, ...)


@dataclass
class ListingItem:
    """What one list page showed: the article URLs, in order.

    Archived as a metadata record concurrent to the list page's response,
    so that the WARC alone says which articles the section listed."""

    url: str
    entries: list[str]
    page_index: int | None = None
    page_count: int | None = None
    warc: dict[str, Any] | None = None
    section: str | None = None  # the section whose list this is


def item_fields(item: ArticleItem) -> dict[str, Any]:
    """The item as a plain dict, shallow: cheaper than dataclasses.asdict's deep copy."""
    return dict(item.__dict__)


def content_hash(item: ArticleItem) -> str:
    """SHA-256 over what a reader sees: title, date, source, body, media URLs.

    Two captures with the same hash hold the same article version.
    """
    import hashlib
    import json

    visible = {
        "title": item.title,
        "published": item.published,
        "source": item.source,
        "body_text": item.body_text,
        "images": [image["url"] for image in item.images],
        "attachments": [(a["url"], a.get("name")) for a in item.attachments],
    }
    data = json.dumps(visible, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return "sha256:" + hashlib.sha256(data).hexdigest()
