"""The catalogue in SQL: the fold and every read, written once for both backends.

`SqlCatalogue` implements `archive.catalogue.api.Catalogue` in the SQL that
SQLite and PostgreSQL share (`?` placeholders, `ON CONFLICT`, `RETURNING`,
double-quoted `"offset"`); what differs between them is a handful of
expressions a backend supplies (`Dialect`), its connection, its schema and
its search index.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, timedelta
from functools import partial
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from archive.catalogue.api import (VERSIONED, ArticleNotFound, Catalogue, KnownArticle, VersionFilter, decode_json,
                                   decoded)
from archive.catalogue.events import Capture, Event, Metadata
from archive.catalogue.keys import HOME_PATHS, article_key, cached_article_key

LAYOUT = "3"  # of the tables; a catalogue of another layout must be rebuilt (reindex), unless UPGRADES has it
# A catalogue of an older layout brought to this one in place, by statements in SQLite's words (PostgreSQL's
# translates them as it does the schema).  Layout 3: a withdrawal's end, the article answering again.
UPGRADES = {"2": ("ALTER TABLE withdrawals ADD COLUMN restored TEXT",
                  "ALTER TABLE withdrawals ADD COLUMN restored_crawl_id TEXT REFERENCES crawls(id)",
                  "ALTER TABLE withdrawals ADD COLUMN restored_capture_id INTEGER REFERENCES captures(id)")}
_CHUNK = 500

# The current version of article `a`; the newest one while current_version is not set yet.
CURRENT = ("COALESCE(a.current_version,"
           " (SELECT n.id FROM versions n WHERE n.article_id = a.id ORDER BY n.version DESC LIMIT 1))")

_SELECT_COLUMNS = """
    v.id AS version_id, v.article_id, v.version, a.url, a.site, a.section, v.title, v.published, v.source,
    {body_text}, {body_html}, v.images, v.attachments, v.breadcrumb, v.site_name, v.site_id_code, v.column_name,
    v.charset, v.problems, v.flags, v.changed_fields, v.xxgk, v.content_hash, a.status AS article_status,
    w.detected AS withdrawn_at, w.how AS withdrawn_how, CASE WHEN v.id = {current} THEN 1 ELSE 0 END AS is_current,
    v.first_seen, v.last_seen,
    v.extractor, v.crawl_id, c.date AS capture_time, c.url AS capture_url, c.file AS warc_file,
    c."offset" AS warc_offset, c.length AS warc_length, c.record_id AS warc_record_id"""
_SELECT_FROM = """
FROM versions v
JOIN articles a ON a.id = v.article_id
JOIN captures c ON c.id = v.capture_id
LEFT JOIN withdrawals w ON a.status = 'withdrawn' AND w.id = (
    SELECT id FROM withdrawals WHERE article_id = a.id ORDER BY detected DESC, id DESC LIMIT 1)"""


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _no_nul(value: Any) -> Any:
    """`value` with every NUL in its strings as U+FFFD: PostgreSQL's text cannot hold NUL, and both backends
    must hold the same text (the WARC record keeps the byte the page held)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_no_nul(item) for item in value]
    if isinstance(value, dict):
        return {_no_nul(key): _no_nul(item) for key, item in value.items()}
    return value


def _media(name: str, entries: Any, key: Callable[[str], str]) -> list:
    """What `content_hash` digests of a media list (image URLs; attachment URLs and names), each URL as `key`
    gives it."""
    found = [(key(e["url"]) if e.get("url") else e.get("url"), e.get("name"))
             for e in entries or [] if isinstance(e, dict)]
    return found if name == "attachments" else [url for url, _ in found]


def changed_fields(old: dict[str, Any], new: dict[str, Any], old_key: Callable[[str], str] = str,
                   new_key: Callable[[str], str] = str) -> list[str]:
    """The versioned fields that differ between a stored version and newly extracted fields: what
    `content_hash` digests, media URLs compared as `old_key` and `new_key` give them (a crawl's article
    keys: the same image reached through another of the site's hosts is the same image)."""
    changed = []
    for name in VERSIONED:
        before, after = old[name], new.get(name)
        if name in ("images", "attachments"):
            if _media(name, decode_json(before, []), old_key) != _media(name, after, new_key):
                changed.append(name)
        elif before != after:
            changed.append(name)
    return changed


class Dialect:
    """The expressions SQLite and PostgreSQL write differently (SQLite's here)."""

    def greatest(self, a: str, b: str) -> str:
        return f"max({a}, {b})"

    def contains(self, column: str) -> str:
        """`column` contains the text of one parameter."""
        return f"instr({column}, ?) > 0"

    def json_array_has_any(self, column: str, count: int) -> str:
        """The JSON array in `column` holds any of `count` parameters."""
        return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE value IN ({','.join('?' * count)}))"

    def by_codepoint(self, column: str) -> str:
        """`column` to ORDER BY in code point order, as Python sorts strings."""
        return column  # SQLite's BINARY collation

    def dated(self, column: str) -> str:
        """`column` starts with a real YYYY-MM-DD day."""
        return f"date(substr({column}, 1, 10)) = substr({column}, 1, 10)"


class SqlCatalogue(Catalogue):
    """The fold and the reads over a DB-API connection whose rows can be read by column name."""

    dialect = Dialect()
    round_trips = False  # True where each statement is a round trip to a server (see `rebuild.reindex`)

    def __init__(self, conn: Any, *, readonly: bool = False):
        self.conn = conn
        self.readonly = readonly
        self._crawl_keys: dict[str, tuple[tuple[tuple[str, str], ...], tuple[str, ...]]] = {}
        # Kept for the commit (see `_flush`), dropped with a rollback.
        self._folded_to: dict[str, int] = {}  # file: end of the last record applied
        self._crawls_made: set[str] = set()  # crawls this transaction or an earlier one made sure of

    # -- plumbing (a backend may translate placeholders here) ---------------
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)

    def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.execute(sql, params).fetchone()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.execute(sql, params).fetchone()
        return None if row is None else next(iter(dict(row).values()))

    def insert(self, sql: str, params: Sequence[Any]) -> int:
        """Run an INSERT ... RETURNING id; the new row's id."""
        return self.scalar(sql + " RETURNING id", params)

    def commit(self) -> None:
        self._flush()
        self.conn.commit()

    def rollback(self) -> None:
        self._forget()
        self.conn.rollback()

    def _flush(self) -> None:
        """Write what `apply` keeps for the commit: how far each file is folded (a statement a file, not a record)."""
        if self._folded_to:
            folded, self._folded_to = self._folded_to, {}
            self.executemany(
                'INSERT INTO ingested (file, "offset") VALUES (?, ?) ON CONFLICT (file) DO UPDATE SET "offset" = '
                + self.dialect.greatest('ingested."offset"', 'excluded."offset"'), sorted(folded.items()))

    def _forget(self) -> None:
        """Drop what the transaction being rolled back did or was to do."""
        self._folded_to.clear()
        self._crawls_made.clear()

    def close(self) -> None:
        self.conn.close()

    def ids_given(self) -> None:
        """After rows were inserted with explicit ids (`archive.catalogue.bulk`): let new rows follow them."""

    # -- the fold -----------------------------------------------------------
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
        if position.file and position.end > self._folded_to.get(position.file, -1):
            self._folded_to[position.file] = position.end  # written at the commit, in the same transaction

    def ingested(self) -> dict[str, int]:
        self._flush()
        return {row["file"]: row["offset"] for row in self.all('SELECT file, "offset" FROM ingested')}

    def capture_positions(self) -> Iterator[tuple[str, int, str]]:
        order = self.dialect.by_codepoint("file")
        for row in self._stream(f'SELECT file, "offset", record_id FROM captures ORDER BY {order}, "offset"', ()):
            yield row["file"], row["offset"], row["record_id"]

    def running_files(self) -> set[str]:
        return {row["file"] for row in self.all(
            "SELECT DISTINCT c.file FROM captures c JOIN crawls k ON k.id = c.crawl_id WHERE k.status = 'running'")}

    def orphan_revisits(self) -> Iterator[dict[str, Any]]:
        yield from self._stream(
            'SELECT c.file, c."offset", c.record_id, c.refers_to FROM captures c WHERE c.warc_type = \'revisit\''
            " AND c.refers_to IS NOT NULL AND NOT EXISTS (SELECT 1 FROM captures o WHERE o.record_id = c.refers_to)"
            ' ORDER BY c.file, c."offset"', ())

    def settle(self, crawl_ids: Iterable[str] | None = None) -> None:
        if crawl_ids is None:
            self.execute("UPDATE crawls SET status = 'interrupted' WHERE status = 'running'")
            self.execute("DELETE FROM listed")
            return
        for crawl_id in sorted(set(crawl_ids)):
            self.execute("UPDATE crawls SET status = 'interrupted' WHERE status = 'running' AND id = ?", (crawl_id,))
            self.execute("DELETE FROM listed WHERE crawl_id = ?", (crawl_id,))

    def _ensure_crawl(self, crawl_id: str, date: str, settings: dict | None = None) -> None:
        if crawl_id in self._crawls_made:  # a row is never deleted: once made, it stays
            return
        settings = settings or {}
        self.execute("INSERT INTO crawls (id, started, status, settings, site) VALUES (?, ?, 'running', ?, ?)"
                     " ON CONFLICT (id) DO NOTHING",
                     (crawl_id, date, _dumps(settings), settings.get("site") or settings.get("ARCHIVE_PROFILE")))
        self._crawls_made.add(crawl_id)

    def _keys_of(self, crawl_id: str) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
        """The host map (as sorted pairs) and tracking parameters a crawl recorded (for article keys)."""
        found = self._crawl_keys.get(crawl_id)
        if found is None:
            settings = decode_json(self.scalar("SELECT settings FROM crawls WHERE id = ?", (crawl_id,)), {}) or {}
            found = (tuple(sorted((settings.get("hosts") or {}).items())), tuple(settings.get("tracking") or ()))
            self._crawl_keys[crawl_id] = found
        return found

    def _key(self, crawl_id: str, url: str) -> str:
        hosts, tracking = self._keys_of(crawl_id)
        return cached_article_key(url, hosts, tracking)

    def _crawl_start(self, event: Metadata) -> None:
        settings = event.payload.get("settings") or {}
        self._ensure_crawl(event.crawl_id, event.date, settings)
        self.execute("UPDATE crawls SET settings = ?, site = ? WHERE id = ?",
                     (_dumps(settings), settings.get("site") or settings.get("ARCHIVE_PROFILE"), event.crawl_id))
        self._crawl_keys.pop(event.crawl_id, None)

    def _crawl_end(self, event: Metadata) -> None:
        payload = event.payload
        self._ensure_crawl(event.crawl_id, event.date)
        self.execute("UPDATE crawls SET finished = ?, status = ?, exit_code = ?, stats = ? WHERE id = ?",
                     (event.date, payload.get("status"), payload.get("exit_code"),
                      _dumps(payload.get("stats") or {}), event.crawl_id))
        crawl = self.one("SELECT site, settings FROM crawls WHERE id = ?", (event.crawl_id,))
        settings = decode_json(crawl["settings"], {}) or {}
        where, params = ["status = 'live'", "first_seen < ?",
                         "key NOT IN (SELECT key FROM listed WHERE crawl_id = ?)"], [event.date, event.crawl_id]
        # Only the crawled site's (and walked sections') articles can be gone from its listing.
        if crawl["site"]:
            where.append("(site = ? OR site IS NULL)")
            params.append(crawl["site"])
        complete = payload.get("sections_complete")
        if complete is not None and "sections" in settings:
            # A crawl of sections: those walked to the end, each on its own.
            if not complete:
                where = []
            else:
                where.append(f"section IN ({','.join('?' * len(complete))})")
                params.extend(complete)
        elif not payload.get("listing_complete"):
            where = []
        elif settings.get("section"):
            where.append("(section = ? OR section IS NULL)")
            params.append(settings["section"])
        if where:
            # In id order: the withdrawals' ids then follow the articles', on either backend.
            for row in self.all(f"SELECT id FROM articles WHERE {' AND '.join(where)} ORDER BY id", params):
                self._withdraw(row["id"], event.crawl_id, event.date, "gone_from_listing", None)
        self.execute("DELETE FROM listed WHERE crawl_id = ?", (event.crawl_id,))

    def _listing(self, event: Metadata) -> None:
        self._ensure_crawl(event.crawl_id, event.date)
        keys = {self._key(event.crawl_id, url) for url in event.payload.get("entries") or []}
        self.executemany("INSERT INTO listed (crawl_id, key) VALUES (?, ?) ON CONFLICT DO NOTHING",
                         [(event.crawl_id, key) for key in sorted(keys)])
        section = event.payload.get("section")
        if section:
            # An article moved to another column is that column's now: a crawl of its old column no longer
            # takes it for gone (it was withdrawn by every crawl of the old column, for good).
            chosen = sorted(keys)
            for start in range(0, len(chosen), _CHUNK):
                part = chosen[start:start + _CHUNK]
                self.execute(f"UPDATE articles SET section = ? WHERE key IN ({','.join('?' * len(part))})"
                             " AND (section IS NULL OR section <> ?)", [section, *part, section])

    def _capture(self, event: Capture) -> None:
        # Before the row that refers to it: a crawl whose first file (its crawl-start record) is lost still folds.
        self._ensure_crawl(event.crawl_id, event.date)
        capture_id = self.scalar(
            'INSERT INTO captures (record_id, crawl_id, warc_type, url, date, status, content_type, location, file,'
            ' "offset", length, payload_digest, refers_to, truncated, etag, last_modified)'
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (record_id) DO NOTHING RETURNING id",
            (event.record_id, event.crawl_id, event.warc_type, event.url, event.date, event.status,
             event.content_type, event.location, event.position.file, event.position.offset,
             event.position.length, event.payload_digest, event.refers_to, event.truncated, event.etag,
             event.last_modified))
        if capture_id is None:
            return  # applied before
        key = self._key(event.crawl_id, event.url)
        article = self.one("SELECT id, key, status, current_version FROM articles WHERE key = ?", (key,))
        if article is None:
            return
        self.execute("UPDATE articles SET last_checked = ? WHERE id = ?", (event.date, article["id"]))
        status = event.status
        if event.warc_type == "revisit" or status == 304:
            self._seen(article, event.date, event.crawl_id, capture_id,
                       event.payload_digest if status != 304 else None)
            self.execute("UPDATE articles SET url = ? WHERE id = ?", (event.url, article["id"]))
            self._seen_at(article["id"], event.url, event.date)
        elif status in (404, 410):
            self._withdraw(article["id"], event.crawl_id, event.date, str(status), capture_id)
        elif status is not None and 300 <= status < 400 and self._is_home(event.crawl_id, event.location, event.url):
            self._withdraw(article["id"], event.crawl_id, event.date, "redirect_home", capture_id)

    def _is_home(self, crawl_id: str, location: str | None, url: str) -> bool:
        """Whether a redirect from `url` to `location` goes to its site's home page: on any of the site's hosts
        (the crawl's host map: `www.` or bare, http or https), whatever its query (`/?from=old`)."""
        if not location:
            return False
        try:
            target = urlsplit(urljoin(url, location))
            if target.path not in HOME_PATHS or not target.netloc:
                return False
            home = urlunsplit((target.scheme, target.netloc, "/", "", ""))
            return self._key(crawl_id, home) == self._key(crawl_id, urljoin(url, "/"))
        except ValueError:  # a Location that is no URL (`http://[::1`)
            return False

    def _withdrawal_stands(self, article: Any, crawl_id: str, payload_digest: str | None = None) -> bool:
        """Whether a withdrawn article's withdrawal stands although its page answered: it was withdrawn for
        being gone from its listing and this crawl's listing does not show it, or for a soft 404 that is
        still the page answering (`payload_digest`).  Each recheck revived such an article, then the crawl's
        end (or the page's parse) withdrew it again: a new withdrawal, and an alert, every crawl."""
        if article["status"] != "withdrawn":
            return False
        last = self.one("SELECT w.how, c.payload_digest FROM withdrawals w LEFT JOIN captures c ON c.id = w.capture_id"
                        " WHERE w.article_id = ? ORDER BY w.id DESC LIMIT 1", (article["id"],))
        if last is None:
            return False
        if last["how"] == "error_page":
            return payload_digest is not None and payload_digest == last["payload_digest"]
        return last["how"] == "gone_from_listing" and self.scalar(
            "SELECT count(*) AS n FROM listed WHERE crawl_id = ? AND key = ?", (crawl_id, article["key"])) == 0

    def _seen(self, article: Any, date: str, crawl_id: str, capture_id: int,
              payload_digest: str | None = None) -> None:
        greatest = self.dialect.greatest("last_seen", "?")
        status = self._status_seen(article, crawl_id, date, capture_id, payload_digest)
        self.execute(f"UPDATE articles SET last_seen = {greatest}, status = {status} WHERE id = ?",
                     (date, article["id"]))
        if article["current_version"] is not None:
            self.execute(f"UPDATE versions SET last_seen = {greatest} WHERE id = ?",
                         (date, article["current_version"]))

    def _status_seen(self, article: Any, crawl_id: str, date: str, capture_id: int,
                     payload_digest: str | None) -> str:
        """The status (an SQL expression) of an article whose page answered in capture `capture_id`: live,
        unless its withdrawal stands (`_withdrawal_stands`).  A withdrawn article live again ends its last
        withdrawal: `changes` and the feeds report it restored (a site's outage of a day otherwise left
        "withdrawn" as the last word on every article it touched)."""
        if self._withdrawal_stands(article, crawl_id, payload_digest):
            return "status"
        if article["status"] == "withdrawn":
            self.execute("UPDATE withdrawals SET restored = ?, restored_crawl_id = ?, restored_capture_id = ?"
                         " WHERE id = (SELECT max(id) FROM withdrawals WHERE article_id = ?) AND restored IS NULL",
                         (date, crawl_id, capture_id, article["id"]))
        return "'live'"

    def _withdraw(self, article_id: int, crawl_id: str, date: str, how: str, capture_id: int | None) -> None:
        if self.scalar("SELECT status FROM articles WHERE id = ?", (article_id,)) == "withdrawn":
            return
        # Withdrawn again by the crawl that restored it: that withdrawal stands again (one row a crawl).
        self.execute("INSERT INTO withdrawals (article_id, crawl_id, detected, how, capture_id) VALUES (?,?,?,?,?)"
                     " ON CONFLICT (article_id, crawl_id) DO UPDATE SET restored = NULL, restored_crawl_id = NULL,"
                     " restored_capture_id = NULL", (article_id, crawl_id, date, how, capture_id))
        self.execute("UPDATE articles SET status = 'withdrawn' WHERE id = ?", (article_id,))

    def _article(self, event: Metadata) -> None:
        fields = event.payload
        capture = self.one("SELECT id, url, date, etag, last_modified FROM captures WHERE record_id = ?",
                           (event.concurrent_to,))
        if capture is None:
            return  # its response record was never applied: nothing to hang the version on
        if self.one("SELECT 1 AS found FROM versions WHERE capture_id = ?", (capture["id"],)):
            return  # applied before
        url, date = fields.get("url") or capture["url"], capture["date"]
        key = self._key(event.crawl_id, url)
        article = self._article_for_update(key)
        if article is None:
            site = fields.get("site") or self.scalar("SELECT site FROM crawls WHERE id = ?", (event.crawl_id,))
            # ON CONFLICT: another crawl writing the same catalogue may claim the key first.
            article_id = self.scalar(
                "INSERT INTO articles (key, url, site, section, first_seen, last_seen, status, etag, last_modified,"
                " last_checked) VALUES (?,?,?,?,?,?,'live',?,?,?) ON CONFLICT (key) DO NOTHING RETURNING id",
                (key, url, site, fields.get("section") or fields.get("column_name"), date, date, capture["etag"],
                 capture["last_modified"], date))
            if article_id is not None:
                self._seen_at(article_id, url, date)
                self._add_version(article_id, 1, fields, None, event.crawl_id, capture["id"], date)
                return
            article = self._article_for_update(key)
        greatest = self.dialect.greatest
        checked = greatest("COALESCE(last_checked, '')", "?")
        problems = fields.get("problems") or []
        soft_404 = "error_page" in problems and not fields.get("published")  # a message page, no article
        if article["current_version"] is not None and (soft_404 or (
                "missing_title" in problems and "missing_body" in problems)):
            # A known article's URL answering 200 with a page saying it does not exist (a soft 404) is withdrawn,
            # not edited into that page; one answering an empty page keeps its version (the crawl counted the
            # problem).  The capture stays in the catalogue and the WARC either way.
            self.execute(f"UPDATE articles SET last_checked = {checked} WHERE id = ?", (date, article["id"]))
            if soft_404:
                self._withdraw(article["id"], event.crawl_id, date, "error_page", capture["id"])
            return
        status = self._status_seen(article, event.crawl_id, date, capture["id"], None)
        self.execute(
            f"UPDATE articles SET url = ?, last_seen = {greatest('last_seen', '?')}, last_checked = {checked},"
            f" status = {status}, etag = ?, last_modified = ? WHERE id = ?",
            (url, date, date, capture["etag"], capture["last_modified"], article["id"]))
        self._seen_at(article["id"], url, date)
        current = self.one("SELECT * FROM versions WHERE id = ?", (article["current_version"],))
        changed = None
        if current is not None and current["content_hash"] != fields.get("content_hash"):
            # Another hash may still be the same version: its media reached through another of the site's
            # hosts (each side's URLs folded by the host map of the crawl that saw them).
            changed = changed_fields(dict(current), _no_nul(fields), partial(self._key, current["crawl_id"]),
                                     partial(self._key, event.crawl_id))
        if current is not None and not changed:
            self.execute(f"UPDATE versions SET last_seen = {greatest('last_seen', '?')} WHERE id = ?",
                         (date, current["id"]))
            return
        number = (current["version"] + 1) if current is not None else 1
        self._add_version(article["id"], number, fields, changed, event.crawl_id, capture["id"], date)

    def _seen_at(self, article_id: int, url: str, date: str) -> None:
        """Keep the URL history: a host or scheme move is one more URL of the same article."""
        self.execute("INSERT INTO article_urls (url, article_id, first_seen, last_seen) VALUES (?,?,?,?)"
                     " ON CONFLICT (url) DO UPDATE SET last_seen = "
                     + self.dialect.greatest("article_urls.last_seen", "excluded.last_seen"),
                     (url, article_id, date, date))

    def _add_version(self, article_id: int, number: int, fields: dict[str, Any], changed: list[str] | None,
                     crawl_id: str, capture_id: int, date: str) -> None:
        content = self._content(fields)
        if any("\x00" in value or "\\u0000" in value for value in content if isinstance(value, str)):
            content = self._content(_no_nul(fields))
        version_id = self.insert(
            "INSERT INTO versions (article_id, version, changed_fields, first_seen, last_seen, crawl_id, capture_id,"
            " content_hash, title, published, source, body_text, body_html, images, attachments, breadcrumb,"
            " site_name, site_id_code, column_name, charset, problems, flags, extractor, xxgk)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (article_id, number, None if changed is None else _dumps(changed), date, date, crawl_id, capture_id,
             *content))
        self.execute("UPDATE articles SET current_version = ? WHERE id = ?", (version_id, article_id))

    @staticmethod
    def _content(fields: dict[str, Any]) -> tuple:
        """A version's columns that come from its page, content_hash to xxgk in the order `_add_version` names."""
        xxgk = fields.get("xxgk")
        return (fields.get("content_hash") or "", fields.get("title"), fields.get("published"),
                fields.get("source"), fields.get("body_text"), fields.get("body_html"),
                _dumps(fields.get("images") or []), _dumps(fields.get("attachments") or []),
                _dumps(fields.get("breadcrumb") or []), fields.get("site_name"), fields.get("site_id_code"),
                fields.get("column_name"), _dumps(fields.get("charset") or {}), _dumps(fields.get("problems") or []),
                _dumps(fields.get("flags") or []), fields.get("extractor"), _dumps(xxgk) if xxgk else None)

    def _article_for_update(self, key: str) -> Any:
        """The article with this key, locked until commit where the backend has row locks."""
        return self.one("SELECT * FROM articles WHERE key = ?", (key,))

    # -- what the crawler asks -----------------------------------------------
    def known_articles(self, site: str | None = None) -> Iterator[KnownArticle]:
        sql = ("SELECT a.key, a.url, a.status, v.published, a.etag, a.last_modified, a.last_checked, a.section,"
               " c.payload_digest FROM articles a LEFT JOIN versions v ON v.id = a.current_version"
               " LEFT JOIN captures c ON c.id = v.capture_id")
        params: list[Any] = []
        if site:
            sql += " WHERE a.site = ? OR a.site IS NULL"
            params.append(site)
        for row in self.all(sql, params):
            yield KnownArticle(row["key"], row["url"], row["status"], row["published"], row["etag"],
                               row["last_modified"], row["last_checked"], row["section"], row["payload_digest"])

    def listing_settled(self, site: str | None = None, section: str | None = None) -> bool:
        sql, params = "SELECT status, stats, settings FROM crawls", []
        if site:
            sql += " WHERE site = ? OR site IS NULL"
            params.append(site)
        for row in self.all(sql + " ORDER BY started DESC LIMIT 200", params):
            settings = decode_json(row["settings"], {}) or {}
            walked = settings.get("sections")
            if section and walked is not None and section not in walked:
                continue  # a crawl of other sections says nothing of this one
            if section and walked is None and settings.get("section") not in (None, section):
                continue
            if row["status"] != "ok":  # a partial crawl may have missed articles
                return False
            stats = decode_json(row["stats"], {}) or {}
            if section and f"archive/listing_settled/{section}" in stats:
                return bool(stats[f"archive/listing_settled/{section}"])
            return bool(stats.get("archive/listing_settled"))
        return False

    def last_response(self, url: str) -> dict[str, Any] | None:
        row = self.one("SELECT record_id, url, date, payload_digest FROM captures WHERE url = ?"
                       " AND warc_type = 'response' AND status = 200 AND truncated IS NULL ORDER BY date DESC LIMIT 1",
                       (url,))
        return None if row is None else dict(row)

    def first_response_with_payload(self, payload_digest: str) -> dict[str, Any] | None:
        # captures_digest finds the few rows; the earliest is the one every later copy refers to.
        row = self.one("SELECT record_id, url, date, payload_digest, file FROM captures WHERE payload_digest = ?"
                       " AND warc_type = 'response' AND status = 200 AND truncated IS NULL ORDER BY date, id LIMIT 1",
                       (payload_digest,))
        return None if row is None else dict(row)

    # -- crawls ---------------------------------------------------------------
    def crawls(self, limit: int = 20) -> list[dict[str, Any]]:
        out = []
        for row in self.all("SELECT * FROM crawls ORDER BY started DESC LIMIT ?", (limit,)):
            crawl = dict(row)
            crawl["stats"] = decode_json(crawl["stats"], {}) or {}
            crawl["settings"] = decode_json(crawl["settings"], {}) or {}
            crawl.update(self.crawl_changes(row["id"]))
            out.append(crawl)
        return out

    def crawl_changes(self, crawl_id: str) -> dict[str, int]:
        return {
            "new": self.scalar("SELECT count(*) AS n FROM versions WHERE crawl_id = ? AND version = 1", (crawl_id,)),
            "edited": self.scalar("SELECT count(*) AS n FROM versions WHERE crawl_id = ? AND version > 1",
                                  (crawl_id,)),
            "withdrawn": self.scalar("SELECT count(*) AS n FROM withdrawals WHERE crawl_id = ?", (crawl_id,)),
            "restored": self.scalar("SELECT count(*) AS n FROM withdrawals WHERE restored_crawl_id = ?", (crawl_id,)),
        }

    def crawls_by_id(self, crawl_ids: Iterable[str]) -> list[dict[str, Any]]:
        ids = sorted(set(crawl_ids))
        if not ids:
            return []
        rows = self.all(f"SELECT id, started, finished, status FROM crawls WHERE id IN ({','.join('?' * len(ids))})"
                        " ORDER BY started, id", ids)
        return [dict(row) for row in rows]

    def counts(self) -> dict[str, int]:
        return {table: self.scalar(f"SELECT count(*) AS n FROM {table}")  # noqa: S608 - fixed names
                for table in ("crawls", "captures", "articles", "versions", "withdrawals")}

    # -- articles, versions, captures -----------------------------------------
    def find_article(self, ref: str | int) -> dict[str, Any]:
        text = str(ref).strip()
        if text.startswith("#") and text[1:].isascii() and text[1:].isdigit():
            text = text[1:]  # as `search` and `show` print it (#123)
        row = None
        if text.isascii() and text.isdigit():
            if int(text) < 2**63:  # no id is larger (SQLite and PostgreSQL refuse the number itself)
                row = self.one("SELECT * FROM articles WHERE id = ?", (int(text),))
        else:
            found = self.article_id_at(text)
            if found is not None:
                row = self.one("SELECT * FROM articles WHERE id = ?", (found,))
        if row is None:
            raise ArticleNotFound(f"no article with {'id' if text.isascii() and text.isdigit() else 'URL'} {text}")
        return dict(row)

    def article_id_at(self, url: str) -> int | None:
        found = self.scalar("SELECT article_id FROM article_urls WHERE url = ?", (url,))
        if found is None and "://" in url:
            # The same page at another scheme, or on a host the site's crawls folded onto its own.
            try:
                keys = {article_key(url)}
                for row in self.all("SELECT DISTINCT settings FROM crawls"):
                    settings = decode_json(row["settings"], {}) or {}
                    keys.add(article_key(url, settings.get("hosts") or {}, settings.get("tracking") or ()))
            except ValueError:  # no URL at all (`http://[::1`): no article is at it
                return None
            for key in sorted(keys):
                found = self.scalar("SELECT id FROM articles WHERE key = ?", (key,))
                if found is not None:
                    break
        return found

    def versions_of(self, article_id: int) -> list[dict[str, Any]]:
        rows = self.all("SELECT v.*, c.date AS capture_date FROM versions v LEFT JOIN captures c"
                        " ON c.id = v.capture_id WHERE v.article_id = ? ORDER BY v.version", (article_id,))
        return [decoded(row) for row in rows]

    def withdrawals_of(self, article_id: int) -> list[dict[str, Any]]:
        return [dict(row) for row in self.all(
            "SELECT * FROM withdrawals WHERE article_id = ? ORDER BY detected, id", (article_id,))]

    def urls_of(self, article_id: int) -> list[dict[str, Any]]:
        return [dict(row) for row in self.all(
            "SELECT url, first_seen, last_seen FROM article_urls WHERE article_id = ? ORDER BY first_seen, url",
            (article_id,))]

    def capture(self, capture_id: int) -> dict[str, Any] | None:
        row = self.one("SELECT * FROM captures WHERE id = ?", (capture_id,))
        return None if row is None else dict(row)

    def capture_by_record(self, record_id: str) -> dict[str, Any] | None:
        row = self.one("SELECT * FROM captures WHERE record_id = ?", (record_id,))
        return None if row is None else dict(row)

    def capture_ids(self, record_ids: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        ids = list(dict.fromkeys(record_ids))
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            for row in self.all(f"SELECT record_id, id FROM captures WHERE record_id IN ({','.join('?' * len(chunk))})",
                                chunk):
                found[row["record_id"]] = row["id"]
        return found

    def original_of(self, revisit: dict[str, Any]) -> dict[str, Any] | None:
        if revisit.get("refers_to"):
            found = self.capture_by_record(revisit["refers_to"])
            if found is not None:
                return found
        row = self.one("SELECT * FROM captures WHERE warc_type = 'response' AND url = ? AND payload_digest = ?"
                       " ORDER BY date DESC LIMIT 1", (revisit["url"], revisit["payload_digest"]))
        return None if row is None else dict(row)

    # -- changes -------------------------------------------------------------
    def _change_filter(self, date_column: str, crawl_column: str, since: str | None, crawl: str | None,
                       sites: Sequence[str], sections: Sequence[str]) -> tuple[str, list[Any]]:
        where, params = [], []
        if since:
            where.append(f"{date_column} >= ?")
            params.append(since)
        if crawl:
            where.append(f"{crawl_column} = ?")
            params.append(crawl)
        for column, values in (("a.site", sites), ("a.section", sections)):
            if values:
                where.append(f"{column} IN ({','.join('?' * len(values))})")
                params.extend(values)
        return (" WHERE " + " AND ".join(where)) if where else "", params

    def version_changes(self, since: str | None = None, crawl: str | None = None,
                        sites: Sequence[str] = (), sections: Sequence[str] = ()) -> Iterator[dict[str, Any]]:
        clause, params = self._change_filter("v.first_seen", "v.crawl_id", since, crawl, sites, sections)
        for row in self._stream("SELECT v.*, a.url, a.site, a.section FROM versions v JOIN articles a"
                                f" ON a.id = v.article_id{clause} ORDER BY v.first_seen, v.id", params):
            yield decoded(row)

    def version(self, article_id: int, number: int) -> dict[str, Any] | None:
        row = self.one("SELECT * FROM versions WHERE article_id = ? AND version = ?", (article_id, number))
        return None if row is None else decoded(row)

    def withdrawal_changes(self, since: str | None = None, crawl: str | None = None,
                           sites: Sequence[str] = (), sections: Sequence[str] = ()) -> Iterator[dict[str, Any]]:
        clause, params = self._change_filter("w.detected", "w.crawl_id", since, crawl, sites, sections)
        for row in self._stream("SELECT w.*, a.url, a.site, a.section, v.title, v.flags FROM withdrawals w"
                                " JOIN articles a ON a.id = w.article_id LEFT JOIN versions v"
                                f" ON v.id = a.current_version{clause} ORDER BY w.detected, w.id", params):
            yield decoded(row)

    def restoration_changes(self, since: str | None = None, crawl: str | None = None,
                            sites: Sequence[str] = (), sections: Sequence[str] = ()) -> Iterator[dict[str, Any]]:
        clause, params = self._change_filter("w.restored", "w.restored_crawl_id", since, crawl, sites, sections)
        clause = (clause + " AND" if clause else " WHERE") + " w.restored IS NOT NULL"
        for row in self._stream("SELECT w.*, a.url, a.site, a.section, v.title, v.flags FROM withdrawals w"
                                " JOIN articles a ON a.id = w.article_id LEFT JOIN versions v"
                                f" ON v.id = a.current_version{clause} ORDER BY w.restored, w.id", params):
            yield decoded(row)

    # -- selections ------------------------------------------------------------
    def _selection_where(self, selection: VersionFilter) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if selection.versions == "latest":
            clauses.append(f"v.id = {CURRENT}")
        if selection.since or selection.until:
            # A text that is no date ('昨天', '', '2021-13-45') is undated, whatever it compares to.
            clauses.append(self.dialect.dated("v.published"))
        if selection.since:
            clauses.append("v.published >= ?")
            params.append(selection.since.isoformat())
        if selection.until:
            # published is a date or a datetime starting with its date: compare as text.
            clauses.append("v.published < ?")
            params.append((selection.until + timedelta(days=1)).isoformat() if selection.until < date.max
                          else "9999-12-31\U0010ffff")
        if selection.sources:
            clauses.append("(" + " OR ".join(self.dialect.contains("v.source") for _ in selection.sources) + ")")
            params += list(selection.sources)
        if selection.flags:
            clauses.append(self.dialect.json_array_has_any("v.flags", len(selection.flags)))
            params += list(selection.flags)
        if selection.withdrawn:
            clauses.append("a.status = 'withdrawn'")
        for column, values in (("a.site", selection.sites), ("a.section", selection.sections)):
            if values:
                clauses.append(f"{column} IN ({','.join('?' * len(values))})")
                params += list(values)
        if selection.version_ids is not None:
            clause, extra = self._ids_clause(selection.version_ids)
            clauses.append(clause)
            params += extra
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def _ids_clause(self, version_ids: Iterable[int]) -> tuple[str, list[Any]]:
        """`v.id` is one of these (a search's hits): here through a temporary table, the catalogue untouched."""
        self.execute("CREATE TEMPORARY TABLE IF NOT EXISTS selected_ids (version_id INTEGER PRIMARY KEY)")
        self.execute("DELETE FROM selected_ids")
        self.executemany("INSERT INTO selected_ids (version_id) VALUES (?) ON CONFLICT DO NOTHING",
                         [(int(i),) for i in version_ids])
        return "v.id IN (SELECT version_id FROM selected_ids)", []

    def count_versions(self, selection: VersionFilter) -> int:
        where, params = self._selection_where(selection)
        return self.scalar("SELECT count(*) AS n" + _SELECT_FROM + where, params)

    def select_versions(self, selection: VersionFilter) -> Iterator[dict[str, Any]]:
        where, params = self._selection_where(selection)
        columns = _SELECT_COLUMNS.format(body_text="v.body_text", current=CURRENT,
                                         body_html="v.body_html" if selection.with_html else "NULL AS body_html")
        yield from self._stream("SELECT" + columns + _SELECT_FROM + where + " ORDER BY v.article_id, v.version",
                                params)

    def _stream(self, sql: str, params: Sequence[Any]) -> Iterator[dict[str, Any]]:
        """Rows as dicts, one at a time from the cursor (memory does not grow with the result)."""
        for row in self.execute(sql, params):
            yield dict(row)

    def top_sources(self, limit: int = 100) -> list[str]:
        rows = self.all("SELECT v.source, count(*) AS n FROM articles a JOIN versions v ON v.id = a.current_version"
                        " WHERE v.source IS NOT NULL AND v.source != '' GROUP BY v.source ORDER BY n DESC, v.source"
                        " LIMIT ?", (limit,))
        return [row["source"] for row in rows]

    def facet_values(self, column: str) -> list[str]:
        if column not in ("site", "section"):
            raise ValueError(f"no facet {column!r}")
        rows = self.all(f"SELECT DISTINCT {column} AS value FROM articles WHERE {column} IS NOT NULL"
                        f" ORDER BY {column}")
        return [row["value"] for row in rows]

    # -- copies ------------------------------------------------------------------------
    def snapshot_rows(self, selection: VersionFilter | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        if selection is None:
            for table in ("crawls", "captures", "articles", "article_urls", "versions", "withdrawals"):
                for row in self._stream(f"SELECT * FROM {table} ORDER BY " + ("url" if table == "article_urls"
                                                                              else "id"), ()):
                    yield table, row
            return
        where, params = self._selection_where(selection)
        versions = [dict(row) for row in self.all("SELECT v.*" + _SELECT_FROM + where + " ORDER BY v.id", params)]
        articles = sorted({row["article_id"] for row in versions})
        records = []
        for row in versions:
            for column in ("images", "attachments"):
                entries = decode_json(row[column], [])
                for entry in entries if isinstance(entries, list) else ():
                    warc = entry.get("warc") if isinstance(entry, dict) else None
                    record = warc.get("record_id") if isinstance(warc, dict) else None
                    if isinstance(record, str) and record:
                        records.append(record)
        withdrawals = self._rows_in("withdrawals", "article_id", articles)
        captures = ({row["capture_id"] for row in versions}
                    | {row["capture_id"] for row in withdrawals if row["capture_id"]}
                    | set(self.capture_ids(records).values()))
        originals = {row["refers_to"] for row in self._rows_in("captures", "id", sorted(captures))
                     if row["refers_to"]}
        captures |= set(self.capture_ids(sorted(originals)).values())
        capture_rows = self._rows_in("captures", "id", sorted(captures))
        crawls = ({row["crawl_id"] for row in versions} | {row["crawl_id"] for row in withdrawals}
                  | {row["crawl_id"] for row in capture_rows})
        for table, rows in (("crawls", self._rows_in("crawls", "id", sorted(crawls))), ("captures", capture_rows),
                            ("articles", self._rows_in("articles", "id", articles)),
                            ("article_urls", self._rows_in("article_urls", "article_id", articles)),
                            ("versions", versions), ("withdrawals", withdrawals)):
            for row in rows:
                yield table, row

    def _rows_in(self, table: str, column: str, values: list[Any]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for start in range(0, len(values), _CHUNK):
            chunk = values[start:start + _CHUNK]
            rows += [dict(row) for row in self.all(
                f"SELECT * FROM {table} WHERE {column} IN ({','.join('?' * len(chunk))})", chunk)]  # noqa: S608
        return rows

    # -- comparing catalogues ------------------------------------------------------
    TABLES = ("crawls", "captures", "articles", "article_urls", "versions", "withdrawals", "ingested")

    def table_rows(self, table: str) -> Iterator[dict[str, Any]]:
        """Every row of a catalogue table (`TABLES`), streamed in key order: for a copy into another backend."""
        if table not in self.TABLES:
            raise ValueError(f"no catalogue table {table!r}")
        self._flush()
        order = {"ingested": "file", "article_urls": "url"}.get(table, "id")
        return self._stream(f"SELECT * FROM {table} ORDER BY {order}", ())  # noqa: S608 - fixed names

    def dump_table(self, table: str) -> list[tuple]:
        if table not in self.TABLES:
            raise ValueError(f"no catalogue table {table!r}")
        self._flush()
        order = {"ingested": "file", "article_urls": "url"}.get(table, "id")
        return [tuple(dict(row).values()) for row in self.all(f"SELECT * FROM {table} ORDER BY {order}")]  # noqa: S608
