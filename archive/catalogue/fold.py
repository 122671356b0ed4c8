"""Folding WARC events into the catalogue: articles, versions, withdrawals.

`Catalogue.apply(event)` is the only writer.  It is idempotent (a record
already applied changes nothing), so reconciliation after a crash can simply
re-apply what may have been lost.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any
from urllib.parse import urlsplit

from archive.catalogue.events import Capture, Event, Metadata

# The fields whose change makes a new version, and that `changes` diffs.
VERSIONED = ("title", "published", "source", "body_text", "images", "attachments")
HOME_PATHS = {"", "/", "/index.html", "/index.htm", "/index.shtml", "/index.jsp"}


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _media_urls(entries: list[dict[str, Any]] | None) -> list[str]:
    return [entry.get("url") for entry in entries or []]


def changed_fields(old: sqlite3.Row, new: dict[str, Any]) -> list[str]:
    changed = []
    for name in VERSIONED:
        before = old[name]
        after = new.get(name)
        if name in ("images", "attachments"):
            if _media_urls(json.loads(before or "[]")) != _media_urls(after):
                changed.append(name)
        elif before != after:
            changed.append(name)
    return changed


class Catalogue:
    """The catalogue database, written by folding events in record order."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    # -- the fold --------------------------------------------------------
    def apply(self, event: Event) -> None:
        if isinstance(event, Capture):
            self._capture(event)
        elif isinstance(event, Metadata):
            handler = {
                "crawl-start": self._crawl_start,
                "listing": self._listing,
                "article": self._article,
                "crawl-end": self._crawl_end,
            }.get(event.kind)
            if handler is not None:
                handler(event)
        else:
            # A warcinfo record: the crawl's own records (crawl-start first)
            # say all the catalogue needs, live or rebuilt.
            return
        position = event.position
        if position.file:
            self.conn.execute(
                "INSERT INTO ingested (file, offset) VALUES (?, ?) "
                "ON CONFLICT(file) DO UPDATE SET offset = max(offset, excluded.offset)",
                (position.file, position.end),
            )

    def commit(self) -> None:
        self.conn.commit()

    def _ensure_crawl(self, crawl_id: str, date: str, settings: dict | None = None) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO crawls (id, started, status, settings) VALUES (?, ?, 'running', ?)",
            (crawl_id, date, _dumps(settings or {})),
        )

    def _crawl_start(self, event: Metadata) -> None:
        self._ensure_crawl(event.crawl_id, event.date, event.payload.get("settings"))
        self.conn.execute("UPDATE crawls SET settings = ? WHERE id = ?",
                          (_dumps(event.payload.get("settings") or {}), event.crawl_id))

    def _crawl_end(self, event: Metadata) -> None:
        payload = event.payload
        self._ensure_crawl(event.crawl_id, event.date)
        self.conn.execute(
            "UPDATE crawls SET finished = ?, status = ?, exit_code = ?, stats = ? WHERE id = ?",
            (event.date, payload.get("status"), payload.get("exit_code"), _dumps(payload.get("stats") or {}),
             event.crawl_id),
        )
        if payload.get("listing_complete"):
            gone = self.conn.execute(
                "SELECT id FROM articles WHERE status = 'live' AND first_seen < ?"
                " AND url NOT IN (SELECT url FROM listed WHERE crawl_id = ?)", (event.date, event.crawl_id),
            ).fetchall()
            for row in gone:
                self._withdraw(row["id"], event.crawl_id, event.date, "gone_from_listing", None)
        self.conn.execute("DELETE FROM listed WHERE crawl_id = ?", (event.crawl_id,))

    def _listing(self, event: Metadata) -> None:
        self.conn.executemany("INSERT OR IGNORE INTO listed (crawl_id, url) VALUES (?, ?)",
                              [(event.crawl_id, url) for url in event.payload.get("entries") or []])

    def _capture(self, event: Capture) -> None:
        cursor = self.conn.execute(
            "INSERT OR IGNORE INTO captures (record_id, crawl_id, warc_type, url, date, status, content_type,"
            " location, file, offset, length, payload_digest, refers_to, truncated, etag, last_modified)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (event.record_id, event.crawl_id, event.warc_type, event.url, event.date, event.status,
             event.content_type, event.location, event.position.file, event.position.offset,
             event.position.length, event.payload_digest, event.refers_to, event.truncated, event.etag,
             event.last_modified),
        )
        if cursor.rowcount == 0:
            return  # applied before
        self._ensure_crawl(event.crawl_id, event.date)
        article = self.conn.execute("SELECT id, status, current_version FROM articles WHERE url = ?",
                                    (event.url,)).fetchone()
        if article is None:
            return
        self.conn.execute("UPDATE articles SET last_checked = ? WHERE id = ?", (event.date, article["id"]))
        status = event.status
        if event.warc_type == "revisit" or status == 304:
            self._seen(article, event.date)
        elif status in (404, 410):
            self._withdraw(article["id"], event.crawl_id, event.date, str(status), cursor.lastrowid)
        elif status is not None and 300 <= status < 400 and self._is_home(event.location, event.url):
            self._withdraw(article["id"], event.crawl_id, event.date, "redirect_home", cursor.lastrowid)

    @staticmethod
    def _is_home(location: str | None, url: str) -> bool:
        if not location:
            return False
        target = urlsplit(location)
        if target.netloc and target.netloc != urlsplit(url).netloc:
            return False
        return target.path in HOME_PATHS and not target.query

    def _seen(self, article: sqlite3.Row, date: str) -> None:
        self.conn.execute("UPDATE articles SET last_seen = max(last_seen, ?), status = 'live' WHERE id = ?",
                          (date, article["id"]))
        if article["current_version"] is not None:
            self.conn.execute("UPDATE versions SET last_seen = max(last_seen, ?) WHERE id = ?",
                              (date, article["current_version"]))

    def _withdraw(self, article_id: int, crawl_id: str, date: str, how: str, capture_id: int | None) -> None:
        row = self.conn.execute("SELECT status FROM articles WHERE id = ?", (article_id,)).fetchone()
        if row["status"] == "withdrawn":
            return
        self.conn.execute(
            "INSERT OR IGNORE INTO withdrawals (article_id, crawl_id, detected, how, capture_id) VALUES (?,?,?,?,?)",
            (article_id, crawl_id, date, how, capture_id),
        )
        self.conn.execute("UPDATE articles SET status = 'withdrawn' WHERE id = ?", (article_id,))

    def _article(self, event: Metadata) -> None:
        fields = event.payload
        capture = self.conn.execute(
            "SELECT id, url, date, etag, last_modified FROM captures WHERE record_id = ?", (event.concurrent_to,)
        ).fetchone()
        if capture is None:
            return  # its response record was never applied: nothing to hang the version on
        if self.conn.execute("SELECT 1 FROM versions WHERE capture_id = ?", (capture["id"],)).fetchone():
            return  # applied before
        url, date = fields.get("url") or capture["url"], capture["date"]
        article = self.conn.execute("SELECT * FROM articles WHERE url = ?", (url,)).fetchone()
        if article is None:
            article_id = self.conn.execute(
                "INSERT INTO articles (url, first_seen, last_seen, status, etag, last_modified, last_checked)"
                " VALUES (?,?,?,'live',?,?,?)",
                (url, date, date, capture["etag"], capture["last_modified"], date),
            ).lastrowid
            self._add_version(article_id, 1, fields, None, event.crawl_id, capture["id"], date)
            return
        self.conn.execute(
            "UPDATE articles SET last_seen = max(last_seen, ?), last_checked = max(coalesce(last_checked, ''), ?),"
            " status = 'live', etag = ?, last_modified = ? WHERE id = ?",
            (date, date, capture["etag"], capture["last_modified"], article["id"]),
        )
        current = self.conn.execute("SELECT * FROM versions WHERE id = ?", (article["current_version"],)).fetchone()
        if current is not None and current["content_hash"] == fields.get("content_hash"):
            self.conn.execute("UPDATE versions SET last_seen = max(last_seen, ?) WHERE id = ?", (date, current["id"]))
            return
        number = (current["version"] + 1) if current is not None else 1
        changed = changed_fields(current, fields) if current is not None else None
        self._add_version(article["id"], number, fields, changed, event.crawl_id, capture["id"], date)

    def _add_version(self, article_id: int, number: int, fields: dict[str, Any], changed: list[str] | None,
                     crawl_id: str, capture_id: int, date: str) -> None:
        version_id = self.conn.execute(
            "INSERT INTO versions (article_id, version, content_hash, title, published, source, body_text,"
            " body_html, images, attachments, breadcrumb, site_name, site_id_code, column_name, charset,"
            " problems, flags, changed_fields, first_seen, last_seen, crawl_id, capture_id, extractor)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (article_id, number, fields.get("content_hash") or "", fields.get("title"), fields.get("published"),
             fields.get("source"), fields.get("body_text"), fields.get("body_html"),
             _dumps(fields.get("images") or []), _dumps(fields.get("attachments") or []),
             _dumps(fields.get("breadcrumb") or []), fields.get("site_name"), fields.get("site_id_code"),
             fields.get("column_name"), _dumps(fields.get("charset") or {}), _dumps(fields.get("problems") or []),
             _dumps(fields.get("flags") or []), None if changed is None else _dumps(changed), date, date,
             crawl_id, capture_id, fields.get("extractor")),
        ).lastrowid
        self.conn.execute("UPDATE articles SET current_version = ? WHERE id = ?", (version_id, article_id))
