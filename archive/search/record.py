"""One article as `portal-archive show` presents it: a version, its capture, its history."""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

from archive.search.errors import ArticleNotFound


def _json(text: str | None, default: Any) -> Any:
    try:
        return json.loads(text) if text else default
    except ValueError:
        return default


def find_article(conn: sqlite3.Connection, ref: str | int) -> sqlite3.Row:
    """The article with this id, or this URL; ArticleNotFound otherwise."""
    text = str(ref).strip()
    if text.isdigit():
        row = conn.execute("SELECT * FROM articles WHERE id = ?", (int(text),)).fetchone()
    else:
        row = conn.execute("SELECT * FROM articles WHERE url = ?", (text,)).fetchone()
        if row is None and "://" in text:  # the same page over the other scheme
            scheme, rest = text.split("://", 1)
            other = {"http": "https", "https": "http"}.get(scheme.lower())
            if other:
                row = conn.execute("SELECT * FROM articles WHERE url = ?", (f"{other}://{rest}",)).fetchone()
    if row is None:
        raise ArticleNotFound(f"no article with {'id' if text.isdigit() else 'URL'} {text}")
    return row


def capture_timestamp(date: str | None) -> str | None:
    """A WARC date as the 14-digit timestamp replay URLs use (20260101000000)."""
    digits = re.sub(r"\D", "", date or "")
    return digits[:14] if len(digits) >= 14 else None


def article_record(conn: sqlite3.Connection, ref: str | int, version: int | None = None) -> dict[str, Any]:
    """Everything known about one article, as JSON-ready data.

    `version` is a version number (1, 2...); by default the current one.
    Raises ArticleNotFound for an unknown id/URL or version number.
    """
    article = find_article(conn, ref)
    versions = conn.execute("SELECT * FROM versions WHERE article_id = ? ORDER BY version", (article["id"],)).fetchall()
    if version is not None:
        chosen = next((row for row in versions if row["version"] == version), None)
        if chosen is None:
            raise ArticleNotFound(f"article {article['id']} has no version {version} "
                                  f"(it has {', '.join(str(row['version']) for row in versions) or 'none'})")
    else:
        chosen = next((row for row in versions if row["id"] == article["current_version"]),
                      versions[-1] if versions else None)
    capture = None
    if chosen is not None:
        capture = conn.execute("SELECT * FROM captures WHERE id = ?", (chosen["capture_id"],)).fetchone()
    withdrawals = conn.execute("SELECT crawl_id, detected, how FROM withdrawals WHERE article_id = ? ORDER BY detected",
                               (article["id"],)).fetchall()
    return {
        "article_id": article["id"],
        "url": article["url"],
        "status": article["status"],
        "first_seen": article["first_seen"],
        "last_seen": article["last_seen"],
        "withdrawals": [dict(row) for row in withdrawals],
        "version": None if chosen is None else {
            "version": chosen["version"], "version_id": chosen["id"],
            "current": chosen["id"] == article["current_version"],
            "title": chosen["title"], "published": chosen["published"], "source": chosen["source"],
            "column": chosen["column_name"], "body_text": chosen["body_text"],
            "images": _json(chosen["images"], []), "attachments": _json(chosen["attachments"], []),
            "flags": _json(chosen["flags"], []), "problems": _json(chosen["problems"], []),
            "changed_fields": _json(chosen["changed_fields"], None),
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
            "changed_fields": _json(row["changed_fields"], None), "flags": _json(row["flags"], []),
        } for row in versions],
    }
