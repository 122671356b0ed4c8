"""One article as `portal-archive show` presents it: a version, its capture, its history."""

from __future__ import annotations

import re
from typing import Any

from archive.catalogue import ArticleNotFound, Catalogue


def capture_timestamp(date: str | None) -> str | None:
    """A WARC date as the 14-digit timestamp replay URLs use (20260101000000)."""
    digits = re.sub(r"\D", "", date or "")
    return digits[:14] if len(digits) >= 14 else None


def article_record(catalogue: Catalogue, ref: str | int, version: int | None = None) -> dict[str, Any]:
    """Everything known about one article, as JSON-ready data.

    `ref` is an article id, or a URL it was fetched at (any scheme or host of
    its site).  `version` is a version number (1, 2...); by default the
    current one.  Raises ArticleNotFound for an unknown article or version.
    """
    article = catalogue.find_article(ref)
    versions = catalogue.versions_of(article["id"])
    if version is not None:
        chosen = next((row for row in versions if row["version"] == version), None)
        if chosen is None:
            raise ArticleNotFound(f"article {article['id']} has no version {version} "
                                  f"(it has {', '.join(str(row['version']) for row in versions) or 'none'})")
    else:
        chosen = next((row for row in versions if row["id"] == article["current_version"]),
                      versions[-1] if versions else None)
    capture = catalogue.capture(chosen["capture_id"]) if chosen is not None else None
    return {
        "article_id": article["id"],
        "url": article["url"],
        "key": article["key"],
        "site": article["site"],
        "section": article["section"],
        "status": article["status"],
        "first_seen": article["first_seen"],
        "last_seen": article["last_seen"],
        "urls": catalogue.urls_of(article["id"]),
        "withdrawals": [{key: row[key] for key in ("crawl_id", "detected", "how", "restored", "restored_crawl_id")}
                        for row in catalogue.withdrawals_of(article["id"])],
        "version": None if chosen is None else {
            "version": chosen["version"], "version_id": chosen["id"],
            "current": chosen["id"] == article["current_version"],
            "title": chosen["title"], "published": chosen["published"], "source": chosen["source"],
            "column": chosen["column_name"], "body_text": chosen["body_text"],
            "images": chosen["images"], "attachments": chosen["attachments"],
            "flags": chosen["flags"], "problems": chosen["problems"],
            "changed_fields": chosen["changed_fields"], "xxgk": chosen["xxgk"],
            "first_seen": chosen["first_seen"], "last_seen": chosen["last_seen"], "crawl_id": chosen["crawl_id"],
            "content_hash": chosen["content_hash"],
        },
        "capture": None if capture is None else {
            "record_id": capture["record_id"], "url": capture["url"], "date": capture["date"],
            "timestamp": capture_timestamp(capture["date"]), "status": capture["status"],
            "file": capture["file"], "offset": capture["offset"], "length": capture["length"],
            "payload_digest": capture["payload_digest"],
        },
        "versions": [{
            "version": row["version"], "version_id": row["id"], "title": row["title"],
            "first_seen": row["first_seen"], "last_seen": row["last_seen"],
            "changed_fields": row["changed_fields"], "flags": row["flags"],
        } for row in versions],
    }
