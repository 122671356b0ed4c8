-- The catalogue (SQLite backend): derived from the WARC files alone
-- (portal-archive reindex rebuilds it); written during the crawl by the same
-- code.  Every statement against these tables is in archive/catalogue/.
-- Times are ISO 8601 UTC strings ending in Z (WARC-Date precision, microseconds).
-- JSON columns hold UTF-8 JSON text (Chinese unescaped).

PRAGMA foreign_keys = ON;

-- The layout of these tables; a catalogue of another layout is rebuilt by reindex.
CREATE TABLE IF NOT EXISTS catalogue_info (
    name    TEXT PRIMARY KEY,
    value   TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS crawls (
    id          TEXT PRIMARY KEY,          -- crawl id, e.g. 20261127T034548110Z
    started     TEXT NOT NULL,             -- first warcinfo of the crawl
    finished    TEXT,                      -- NULL while running or when it was killed
    status      TEXT NOT NULL,             -- running | ok | partial | failed | interrupted
    exit_code   INTEGER,
    stats       TEXT,                      -- JSON: Scrapy and archive stats at the end
    settings    TEXT,                      -- JSON: the crawl's options (start URL, profile, policy, host map...)
    site        TEXT                       -- the profile's short name
);

CREATE TABLE IF NOT EXISTS captures (
    id              INTEGER PRIMARY KEY,
    record_id       TEXT NOT NULL UNIQUE,  -- WARC-Record-ID, <urn:uuid:...>
    crawl_id        TEXT NOT NULL REFERENCES crawls(id),
    warc_type       TEXT NOT NULL,         -- response | revisit
    url             TEXT NOT NULL,         -- WARC-Target-URI
    date            TEXT NOT NULL,         -- WARC-Date
    status          INTEGER,               -- HTTP status
    content_type    TEXT,
    location        TEXT,                  -- Location header of a 3xx
    file            TEXT NOT NULL,         -- WARC file name (in DATA/warc/)
    offset          INTEGER NOT NULL,      -- of the gzip member
    length          INTEGER NOT NULL,
    payload_digest  TEXT,                  -- sha1:BASE32 (of the original, for a revisit)
    refers_to       TEXT,                  -- revisit: WARC-Refers-To
    truncated       TEXT,                  -- WARC-Truncated, if any
    etag            TEXT,                  -- ETag and Last-Modified the server sent
    last_modified   TEXT
);
CREATE INDEX IF NOT EXISTS captures_url ON captures(url, date);
CREATE INDEX IF NOT EXISTS captures_digest ON captures(payload_digest);

CREATE TABLE IF NOT EXISTS articles (
    id              INTEGER PRIMARY KEY,   -- stable article id
    key             TEXT NOT NULL UNIQUE,  -- canonical key: SURT without scheme, host aliases folded (keys.py)
    url             TEXT NOT NULL,         -- the URL it was last fetched at
    site            TEXT,                  -- the profile's short name
    section         TEXT,                  -- the section (column) it was listed in
    first_seen      TEXT NOT NULL,
    last_seen       TEXT NOT NULL,         -- last capture that showed it live (200 or revisit/304)
    status          TEXT NOT NULL,         -- live | withdrawn
    current_version INTEGER REFERENCES versions(id),
    etag            TEXT,                  -- validators of the last 200, for conditional rechecks
    last_modified   TEXT,
    last_checked    TEXT                   -- last capture of the URL, whatever its answer
);

CREATE TABLE IF NOT EXISTS versions (
    id              INTEGER PRIMARY KEY,
    article_id      INTEGER NOT NULL REFERENCES articles(id),
    version         INTEGER NOT NULL,      -- 1, 2, ... per article
    content_hash    TEXT NOT NULL,         -- sha256 of title/date/source/body/media URLs
    title           TEXT,
    published       TEXT,                  -- ISO 8601 date or datetime with +08:00
    source          TEXT,
    body_text       TEXT,
    body_html       TEXT,
    images          TEXT,                  -- JSON [{url, alt, caption, warc, digest, size, content_type, file?}]
    attachments     TEXT,                  -- JSON [{url, name, warc, digest, size, content_type}]
    breadcrumb      TEXT,                  -- JSON list
    site_name       TEXT,
    site_id_code    TEXT,
    column_name     TEXT,
    charset         TEXT,                  -- JSON {declared, used}
    problems        TEXT,                  -- JSON list of parse problem codes
    flags           TEXT,                  -- JSON list of integrity flags (hijacked_city_name, spam_keywords, hidden_links, injected_script)
    changed_fields  TEXT,                  -- JSON list of fields that differ from the previous version (NULL for version 1)
    first_seen      TEXT NOT NULL,         -- capture date that first showed this version
    last_seen       TEXT NOT NULL,
    crawl_id        TEXT NOT NULL REFERENCES crawls(id),
    capture_id      INTEGER NOT NULL REFERENCES captures(id),  -- the response record it was parsed from
    extractor       TEXT,
    xxgk            TEXT,                  -- JSON {索引号, 发布机构, ...}: a 信息公开 page's metadata table
    UNIQUE (article_id, version)
);
CREATE INDEX IF NOT EXISTS versions_published ON versions(published);
CREATE INDEX IF NOT EXISTS versions_crawl ON versions(crawl_id);
CREATE INDEX IF NOT EXISTS articles_site ON articles(site, section);

-- Every URL an article was fetched at (a move from http to https, or to
-- another host of the site, stays on the same article).
CREATE TABLE IF NOT EXISTS article_urls (
    url         TEXT PRIMARY KEY,
    article_id  INTEGER NOT NULL REFERENCES articles(id),
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS article_urls_article ON article_urls(article_id);
CREATE INDEX IF NOT EXISTS versions_capture ON versions(capture_id);

CREATE TABLE IF NOT EXISTS withdrawals (
    id          INTEGER PRIMARY KEY,
    article_id  INTEGER NOT NULL REFERENCES articles(id),
    crawl_id    TEXT NOT NULL REFERENCES crawls(id),
    detected    TEXT NOT NULL,             -- capture date (or crawl end for gone_from_listing)
    how         TEXT NOT NULL,             -- 404 | 410 | redirect_home | error_page | gone_from_listing
    capture_id  INTEGER REFERENCES captures(id),   -- the evidence, when it is one capture
    -- The article answering again after it (a 404 for a day, a page put back): when, by which crawl, and the
    -- capture that showed it.  NULL while the withdrawal stands.  Added by layout 3 (`sql.UPGRADES`).
    restored    TEXT,
    restored_crawl_id TEXT REFERENCES crawls(id),
    restored_capture_id INTEGER REFERENCES captures(id),
    UNIQUE (article_id, crawl_id)
);

-- How far each WARC file has been folded into the catalogue (reconciliation
-- after a crash resumes from here; reindex starts from nothing).
CREATE TABLE IF NOT EXISTS ingested (
    file    TEXT PRIMARY KEY,
    offset  INTEGER NOT NULL              -- end of the last record applied
);

-- Articles (keys) the list pages of a running crawl showed; emptied when the
-- crawl ends (withdrawals "gone from listing" are computed from it).
CREATE TABLE IF NOT EXISTS listed (
    crawl_id TEXT NOT NULL,
    key      TEXT NOT NULL,                -- article key
    PRIMARY KEY (crawl_id, key)
) WITHOUT ROWID;
