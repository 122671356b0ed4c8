"""What changed between crawls: new, edited and withdrawn articles."""

from __future__ import annotations

import difflib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Change:
    change: str  # new | edited | withdrawn
    article_id: int
    url: str
    title: str | None
    date: str  # when it was seen (first_seen of the version, or detection)
    crawl_id: str
    version: int | None = None
    changed_fields: list[str] = field(default_factory=list)
    how: str | None = None  # withdrawals: 404 | 410 | redirect_home | gone_from_listing
    diff: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def text_diff(old: sqlite3.Row, new: sqlite3.Row) -> str:
    """A readable unified diff of title and body, one paragraph per line."""
    def lines(row: sqlite3.Row) -> list[str]:
        return [f"标题: {row['title'] or ''}", f"日期: {row['published'] or ''}  来源: {row['source'] or ''}", ""] + (
            (row["body_text"] or "").split("\n\n"))

    return "\n".join(difflib.unified_diff(lines(old), lines(new), f"version {old['version']}",
                                          f"version {new['version']}", lineterm="", n=1))


def list_changes(conn: sqlite3.Connection, *, since: str | None = None, crawl: str | None = None,
                 with_diff: bool = True) -> Iterator[Change]:
    """New and edited versions, then withdrawals, oldest first."""
    where, params = [], []
    if since:
        where.append("v.first_seen >= ?")
        params.append(since)
    if crawl:
        where.append("v.crawl_id = ?")
        params.append(crawl)
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    rows = conn.execute(
        "SELECT v.*, a.url FROM versions v JOIN articles a ON a.id = v.article_id" + clause
        + " ORDER BY v.first_seen, v.id", params)
    for row in rows:
        change = Change("new" if row["version"] == 1 else "edited", row["article_id"], row["url"], row["title"],
                        row["first_seen"], row["crawl_id"], row["version"],
                        json.loads(row["changed_fields"] or "[]"))
        if change.change == "edited" and with_diff:
            old = conn.execute("SELECT * FROM versions WHERE article_id = ? AND version = ?",
                               (row["article_id"], row["version"] - 1)).fetchone()
            if old is not None:
                change.diff = text_diff(old, row)
        yield change
    where = [w.replace("v.first_seen", "w.detected").replace("v.crawl_id", "w.crawl_id") for w in where]
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    rows = conn.execute(
        "SELECT w.*, a.url, v.title FROM withdrawals w JOIN articles a ON a.id = w.article_id"
        " LEFT JOIN versions v ON v.id = a.current_version" + clause + " ORDER BY w.detected, w.id", params)
    for row in rows:
        yield Change("withdrawn", row["article_id"], row["url"], row["title"], row["detected"], row["crawl_id"],
                     how=row["how"])
