"""A catalogue filled straight from the replica's generator, no crawl needed.

For benchmarks and tests of search, export and the UI at sizes a crawl would
take too long to make (100,000 articles).  The rows have the shape a crawl
writes; WARC references point at no real file.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from archive.catalogue.db import connect
from replica.corpus import Corpus
from replica.truth import truth_records

BASE_URL = "http://www.tengzhou.gov.cn"
CRAWL_ID = "20260101T000000000Z"
_CAPTURE_DATE = "2026-01-01T00:00:00.000000Z"


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def build_synthetic_catalogue(path: Path, articles: int, *, seed: int = 1, batch: int = 5000) -> int:
    """Write `articles` articles (one version each) into a new catalogue at `path`."""
    path = Path(path)
    if path.exists():
        path.unlink()
    conn = connect(path)
    conn.execute(
        "INSERT INTO crawls (id, started, finished, status, exit_code, stats, settings) VALUES (?,?,?,?,?,?,?)",
        (CRAWL_ID, _CAPTURE_DATE, _CAPTURE_DATE, "ok", 0, "{}", _dumps({"synthetic": True})),
    )
    count = 0
    for record in truth_records(Corpus(articles=articles, seed=seed), BASE_URL):
        count += 1
        url = record["url"]
        digest = hashlib.sha1(url.encode()).hexdigest()
        for kind, content_type in (("images", "image/jpeg"), ("attachments", "application/octet-stream")):
            for media in record[kind]:
                media.update({"digest": "sha256:" + hashlib.sha256(media["url"].encode()).hexdigest(),
                              "size": 1000, "content_type": content_type})
        capture = conn.execute(
            "INSERT INTO captures (record_id, crawl_id, warc_type, url, date, status, content_type, file, offset,"
            " length, payload_digest) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (f"<urn:uuid:{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}>", CRAWL_ID,
             "response", url, _CAPTURE_DATE, 200, "text/html", "SYNTHETIC.warc.gz", count * 1000, 1000,
             "sha1:" + digest.upper()),
        ).lastrowid
        article = conn.execute(
            "INSERT INTO articles (url, first_seen, last_seen, status, last_checked) VALUES (?,?,?,?,?)",
            (url, _CAPTURE_DATE, _CAPTURE_DATE, "live", _CAPTURE_DATE),
        ).lastrowid
        flags = ["hijacked_city_name"] if "江城足球网" in record["body_text"] else []
        version = conn.execute(
            "INSERT INTO versions (article_id, version, content_hash, title, published, source, body_text, body_html,"
            " images, attachments, breadcrumb, site_name, site_id_code, column_name, charset, problems, flags,"
            " first_seen, last_seen, crawl_id, capture_id, extractor)"
            " VALUES (?,1,?,?,?,?,?,?,?,?,?,?,?,?,?,'[]',?,?,?,?,?,?)",
            (article, "sha256:" + hashlib.sha256(record["body_text"].encode()).hexdigest(), record["title"],
             record["published"], record["source"], record["body_text"],
             "".join(f"<p>{p}</p>" for p in record["body_text"].split("\n\n")),
             _dumps(record["images"]), _dumps(record["attachments"]), _dumps(record["breadcrumb"]),
             record["site_name"], record["site_id_code"], record["column_name"], _dumps(record["charset"]),
             _dumps(flags), _CAPTURE_DATE, _CAPTURE_DATE, CRAWL_ID, capture, "synthetic"),
        ).lastrowid
        conn.execute("UPDATE articles SET current_version = ? WHERE id = ?", (version, article))
        if count % batch == 0:
            conn.commit()
    conn.commit()
    conn.close()
    return count
