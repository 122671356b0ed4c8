"""One article as the article page shows it: a version, its media, its history.

`load_article(catalogue, article_id, version, links)` reads the catalogue
and returns plain data for the template.  Nothing here fetches anything: images
and attachments point at our media route (bytes read from the WARC files),
links to other archived articles at their article pages, and every other
link at the replayed capture in pywb.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from typing import Any

from markupsafe import Markup

from archive.catalogue import ArticleNotFound, Catalogue
from archive.replay import replay_url, timemap_url
from archive.web.diffs import field_changes, text_diff
from archive.web.sanitize import sanitize

SHORT_FIELDS = ("title", "published", "source", "column_name", "site_name")
FLAG_LABELS = {
    "hijacked_city_name": "城市名被篡改 hijacked city name",
    "spam_keywords": "垃圾关键词 spam keywords",
    "hidden_links": "隐藏链接 hidden links",
    "injected_script": "注入脚本 injected script",
}


ArticleMissing = ArticleNotFound  # no article with that id, or it has no such version


@dataclass(frozen=True)
class Links:
    """Where the pages live: Datasette's base path and the replay server's base URL (None: no replay)."""

    prefix: str = "/"
    replay: str | None = None

    def media(self, capture_id: int) -> str:
        return f"{self.prefix}-/media/{capture_id}"

    def article(self, article_id: int, version: int | None = None) -> str:
        return f"{self.prefix}-/article/{article_id}" + (f"?version={version}" if version else "")

    def replay_capture(self, date: str | None, url: str, mode: str = "") -> str | None:
        """The pywb page of `url` as captured at `date` (an ISO time), or None without replay."""
        if not self.replay or not date:
            return None
        return replay_url(self.replay, timestamp(date), url, mode)

    def replay_all(self, url: str) -> str | None:
        return replay_url(self.replay, "*", url) if self.replay else None

    def timemap(self, url: str) -> str | None:
        return timemap_url(self.replay, url) if self.replay else None


def timestamp(date: str) -> str:
    """A 14-digit WARC timestamp from an ISO 8601 time."""
    return re.sub(r"\D", "", date)[:14].ljust(14, "0")


def json_list(value: Any) -> list:
    """A decoded JSON list column, or [] for anything else."""
    return value if isinstance(value, list) else []


def flag_labels(flags: list[str]) -> list[dict]:
    return [{"name": flag, "label": FLAG_LABELS.get(flag, flag)} for flag in flags]


def _media_entries(catalogue: Catalogue, entries: list, links: Links) -> list[dict]:
    """Images or attachments with the capture they were archived in (`href` None when not archived)."""
    entries = [entry for entry in entries if isinstance(entry, dict) and entry.get("url")]
    records = [(entry.get("warc") or {}).get("record_id") for entry in entries]
    ids = catalogue.capture_ids([record for record in records if record])
    out = []
    for entry, record in zip(entries, records):
        capture = ids.get(record) if record else None
        out.append({**entry, "capture_id": capture, "href": links.media(capture) if capture else None,
                    "label": entry.get("name") or entry.get("alt") or entry["url"].rsplit("/", 1)[-1]})
    return out


def _body(catalogue: Catalogue, row: dict, url: str, media: dict[str, str], links: Links) -> Markup:
    """The version's body, sanitized, with images and links pointing into the archive."""

    def link(target: str) -> str | None:
        bare = target.split("#", 1)[0]
        if bare in media:
            return media[bare]
        found = catalogue.article_id_at(bare)
        if found is not None:
            return links.article(found)
        return links.replay_capture(row["capture_date"], target)

    if row["body_html"]:
        return Markup(sanitize(row["body_html"], base_url=url, image=lambda src: media.get(src.split("#", 1)[0]),
                               link=link))
    return Markup("".join(f"<p>{escape(part)}</p>" for part in (row["body_text"] or "").split("\n\n") if part))


def _timeline(history: list[dict], withdrawals: list[dict], url: str, links: Links) -> list[dict]:
    """The article's life in captures, oldest first: when each version was first and last seen and when the
    article left the portal, each linked to its memento in replay (the TimeMap lists every capture)."""
    events = []
    for row in history:
        first = row.get("capture_date") or row["first_seen"]
        events.append({"date": first, "label": "新版本 new version", "version": row["version"], "new_version": True,
                       "live": True})
        if row.get("last_seen") and row["last_seen"] > first:
            events.append({"date": row["last_seen"], "label": "最后一次见到 last seen", "version": row["version"],
                           "new_version": False, "live": True})
    for withdrawal in withdrawals:
        events.append({"date": withdrawal["detected"], "label": f"撤下 withdrawn ({withdrawal['how']})",
                       "version": None, "new_version": False, "live": False})
        if withdrawal.get("restored"):
            events.append({"date": withdrawal["restored"], "label": "恢复 restored (answering again)",
                           "version": None, "new_version": False, "live": True})
    events.sort(key=lambda event: event["date"])
    return [{**event, "memento": links.replay_capture(event["date"], url)} for event in events]


def _changes(previous: dict, row: dict) -> dict:
    """What changed from the previous version to this one."""
    def short(version: dict) -> dict[str, str | None]:
        fields: dict[str, str | None] = {name: version[name] for name in SHORT_FIELDS}
        for kind in ("images", "attachments"):
            fields[kind] = "\n".join(entry.get("url", "") for entry in json_list(version[kind]) if isinstance(entry, dict))
        return fields

    return {"from": previous["version"], "to": row["version"],
            "fields": json_list(row["changed_fields"]),
            "short": field_changes(short(previous), short(row)),
            "text": text_diff(previous["body_text"], row["body_text"])}


def load_article(catalogue: Catalogue, article_id: int, version: int | None = None,
                 links: Links = Links()) -> dict:
    """Everything the article page shows; ArticleMissing when there is no such article or version."""
    article = catalogue.find_article(article_id)
    history = catalogue.versions_of(article_id)
    if not history:
        raise ArticleMissing(f"article {article_id} has no versions")
    current = next((row for row in history if row["id"] == article["current_version"]), history[-1])
    row = current if version is None else next((r for r in history if r["version"] == version), None)
    if row is None:
        raise ArticleMissing(f"article {article_id} has no version {version}")
    images = _media_entries(catalogue, json_list(row["images"]), links)
    attachments = _media_entries(catalogue, json_list(row["attachments"]), links)
    media = {entry["url"]: entry["href"] for entry in [*images, *attachments] if entry["href"]}
    index = history.index(row)
    withdrawals = catalogue.withdrawals_of(article_id)
    return {
        "article": dict(article),
        "version": {**{key: row[key] for key in row.keys() if key not in ("body_html", "body_text")},
                    "url": article["url"], "is_current": row["id"] == current["id"],
                    "flags": flag_labels(json_list(row["flags"])), "problems": json_list(row["problems"]),
                    "breadcrumb": json_list(row["breadcrumb"]), "changed_fields": json_list(row["changed_fields"])},
        "body": _body(catalogue, row, article["url"], media, links),
        "images": images,
        "attachments": attachments,
        "versions": [{"version": r["version"], "title": r["title"], "published": r["published"],
                      "first_seen": r["first_seen"], "last_seen": r["last_seen"],
                      "changed_fields": json_list(r["changed_fields"]), "href": links.article(article_id, r["version"]),
                      "memento": links.replay_capture(r["capture_date"], article["url"]),
                      "selected": r["id"] == row["id"], "current": r["id"] == current["id"]} for r in history],
        "changes": _changes(history[index - 1], row) if index > 0 else None,
        "withdrawals": withdrawals,
        "urls": catalogue.urls_of(article_id),
        "replay": links.replay_capture(row["capture_date"], article["url"]),
        "replay_all": links.replay_all(article["url"]),
        "timemap": links.timemap(article["url"]),
        "timeline": _timeline(history, withdrawals, article["url"], links),
    }
