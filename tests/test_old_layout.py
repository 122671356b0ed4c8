"""Archives written before metadata records moved to `urn:pageinfo:` targets still reindex the same.

`tests/data/old-layout/warc/` holds two crawls of a 6-article replica
(edition 1, then edition 2 with every article rechecked: a new article, an
edited one, a withdrawal, revisits of both profiles) written by the crawler
as it was at commit 7a883f7, when each metadata record had its page's URL as
`WARC-Target-URI` and no `WARC-Refers-To`.  `catalogue.json` is what the live
crawl's own catalogue held then, in the form `summary()` gives.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
from pathlib import Path

from archive.catalogue.sqlite import catalogue_path
from archive.warc.verify import verify_archive
from tests.conftest import cli

FIXTURE = Path(__file__).parent / "data" / "old-layout"

QUERIES = {
    "crawls": "SELECT id, status, exit_code, started, finished FROM crawls ORDER BY id",
    "captures": "SELECT record_id, crawl_id, warc_type, url, date, status, content_type, location, file, offset,"
                " length, payload_digest, refers_to, truncated, etag, last_modified FROM captures ORDER BY record_id",
    "articles": "SELECT url, first_seen, last_seen, status, etag, last_modified, last_checked FROM articles"
                " ORDER BY url",
    "versions": "SELECT a.url, v.version, v.content_hash, v.title, v.published, v.source, length(v.body_text), v.images,"
                " v.attachments, v.flags, v.changed_fields, v.first_seen, v.last_seen, v.crawl_id, c.record_id"
                " FROM versions v JOIN articles a ON a.id = v.article_id JOIN captures c ON c.id = v.capture_id"
                " ORDER BY a.url, v.version",
    "withdrawals": "SELECT a.url, w.crawl_id, w.detected, w.how, c.record_id FROM withdrawals w"
                   " JOIN articles a ON a.id = w.article_id LEFT JOIN captures c ON c.id = w.capture_id"
                   " ORDER BY a.url",
    "current": "SELECT a.url, v.version FROM articles a JOIN versions v ON v.id = a.current_version ORDER BY a.url",
}


def summary(conn: sqlite3.Connection) -> dict[str, list[list]]:
    """What the catalogue says, by URL and record id (never by row id, which a new layout may number anew)."""
    return {name: [list(row) for row in conn.execute(query)] for name, query in QUERIES.items()}


def test_old_layout_reindexes_to_the_same_catalogue(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(FIXTURE / "warc", data / "warc")
    result = cli("reindex", "--data", str(data))
    assert result.exit_code == 0, result.output
    conn = sqlite3.connect(catalogue_path(data))
    try:
        rebuilt = summary(conn)
    finally:
        conn.close()
    expected = json.loads((FIXTURE / "catalogue.json").read_text(encoding="utf-8"))
    assert rebuilt["versions"] and rebuilt["withdrawals"]  # the fixture covers what it claims to
    for name in QUERIES:
        assert rebuilt[name] == expected[name], name


def test_old_layout_still_verifies(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(FIXTURE / "warc", data / "warc")
    report = verify_archive(data)
    assert report.ok, [str(problem) for problem in report.problems]
    assert report.records["metadata"] == 14


if __name__ == "__main__":  # python -m tests.test_old_layout DATA: print a live catalogue's summary
    live = sqlite3.connect(catalogue_path(Path(sys.argv[1])))
    print(json.dumps(summary(live), ensure_ascii=False, indent=1))
