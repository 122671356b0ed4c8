"""Adding many new articles at once, with the rows the fold would write (benchmarks' large catalogues).

`apply()` folds one event at a time, with a lookup or two per statement:
about a millisecond an article, an hour for the million articles of
`bench/search.py --articles 1000000`.  `add_new_articles` writes the same
rows in batches, for the one case a synthetic catalogue needs: each pair
is a 200 response capture and its article metadata record, for an article
whose key the catalogue does not hold yet (nor does any earlier pair), in
a crawl already started with `apply()`.  Ids are given in the order the fold
would give them, so the catalogue equals one folded event by event
(`tests/test_bulk.py` compares every table on both backends).
"""

from __future__ import annotations

from collections.abc import Iterable

from archive.catalogue.api import batches
from archive.catalogue.events import Capture, Metadata
from archive.catalogue.sql import SqlCatalogue, _dumps
from archive.exits import UsageProblem

_CAPTURES = ('INSERT INTO captures (id, record_id, crawl_id, warc_type, url, date, status, content_type, location,'
             ' file, "offset", length, payload_digest, refers_to, truncated, etag, last_modified)'
             " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
_ARTICLES = ("INSERT INTO articles (id, key, url, site, section, first_seen, last_seen, status, etag, last_modified,"
             " last_checked) VALUES (?,?,?,?,?,?,?,'live',?,?,?)")
_URLS = "INSERT INTO article_urls (url, article_id, first_seen, last_seen) VALUES (?,?,?,?)"
_VERSIONS = ("INSERT INTO versions (id, article_id, version, content_hash, title, published, source, body_text,"
             " body_html, images, attachments, breadcrumb, site_name, site_id_code, column_name, charset, problems,"
             " flags, changed_fields, first_seen, last_seen, crawl_id, capture_id, extractor, xxgk)"
             " VALUES (?,?,1,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,NULL,?,?,?,?,?,?)")
_CURRENT = "UPDATE articles SET current_version = ? WHERE id = ?"


def add_new_articles(catalogue: SqlCatalogue, pairs: Iterable[tuple[Capture, Metadata]], *,
                     batch: int = 2000) -> int:
    """Add new articles (one version each) from (capture, article metadata) pairs; commits each batch.

    Raises UsageProblem when a pair is not a new article's 200 response and
    its metadata record (then `apply()` is the way to fold it).
    """
    next_ids = {table: (catalogue.scalar(f"SELECT max(id) AS n FROM {table}") or 0) + 1  # noqa: S608
                for table in ("captures", "articles", "versions")}
    sites: dict[str, str | None] = {}
    ends: dict[str, int] = {}
    count = 0
    for chunk in batches(pairs, batch):
        captures, articles, urls, versions, current = [], [], [], [], []
        for capture, meta in chunk:
            fields = meta.payload
            if (capture.warc_type != "response" or capture.status != 200 or meta.kind != "article"
                    or meta.concurrent_to != capture.record_id or meta.crawl_id != capture.crawl_id):
                raise UsageProblem(f"{capture.url}: not a new article's response and metadata pair")
            capture_id, article_id, version_id = next_ids["captures"], next_ids["articles"], next_ids["versions"]
            next_ids["captures"], next_ids["articles"], next_ids["versions"] = (
                capture_id + 1, article_id + 1, version_id + 1)
            position = capture.position
            captures.append((capture_id, capture.record_id, capture.crawl_id, capture.warc_type, capture.url,
                             capture.date, capture.status, capture.content_type, capture.location, position.file,
                             position.offset, position.length, capture.payload_digest, capture.refers_to,
                             capture.truncated, capture.etag, capture.last_modified))
            for where in (position, meta.position):
                if where.file:
                    ends[where.file] = max(ends.get(where.file, 0), where.end)
            url, date = fields.get("url") or capture.url, capture.date
            if meta.crawl_id not in sites:
                sites[meta.crawl_id] = catalogue.scalar("SELECT site FROM crawls WHERE id = ?", (meta.crawl_id,))
            articles.append((article_id, catalogue._key(meta.crawl_id, url), url,
                             fields.get("site") or sites[meta.crawl_id],
                             fields.get("section") or fields.get("column_name"), date, date, capture.etag,
                             capture.last_modified, date))
            urls.append((url, article_id, date, date))
            xxgk = fields.get("xxgk")
            versions.append((
                version_id, article_id, fields.get("content_hash") or "", fields.get("title"),
                fields.get("published"), fields.get("source"), fields.get("body_text"), fields.get("body_html"),
                _dumps(fields.get("images") or []), _dumps(fields.get("attachments") or []),
                _dumps(fields.get("breadcrumb") or []), fields.get("site_name"), fields.get("site_id_code"),
                fields.get("column_name"), _dumps(fields.get("charset") or {}), _dumps(fields.get("problems") or []),
                _dumps(fields.get("flags") or []), date, date, meta.crawl_id, capture_id, fields.get("extractor"),
                _dumps(xxgk) if xxgk else None))
            current.append((version_id, article_id))
        keys = [row[1] for row in articles]
        if len(set(keys)) < len(keys) or catalogue.scalar(
                f"SELECT count(*) AS n FROM articles WHERE key IN ({','.join('?' * len(keys))})", keys):
            raise UsageProblem("add_new_articles: an article of this batch is in the catalogue already")
        catalogue.executemany(_CAPTURES, captures)
        catalogue.executemany(_ARTICLES, articles)
        catalogue.executemany(_URLS, urls)
        catalogue.executemany(_VERSIONS, versions)
        catalogue.executemany(_CURRENT, current)
        count += len(chunk)
        catalogue.commit()
    for file, end in ends.items():
        catalogue.execute('INSERT INTO ingested (file, "offset") VALUES (?, ?) ON CONFLICT (file) DO UPDATE SET'
                          ' "offset" = ' + catalogue.dialect.greatest('ingested."offset"', 'excluded."offset"'),
                          (file, end))
    catalogue.ids_given()
    catalogue.commit()
    return count
