"""A catalogue filled straight from the replica's generator, no crawl needed.

For benchmarks and tests of search, export and the UI at sizes a crawl would
take too long to make (100,000 articles and more).  Each article becomes the
events a crawl's WARC records would give (a response capture and its article
metadata), folded in through the catalogue's one writer, `apply`; WARC
references point at no real file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from archive.catalogue import Catalogue
from archive.catalogue.bulk import add_new_articles
from archive.catalogue.events import CRAWL_URI, Capture, Metadata, Position
from archive.catalogue.sqlite import SqliteCatalogue, remove_database
from replica.corpus import MAX_ARTICLES, Corpus
from replica.truth import truth_records

BASE_URL = "http://www.tengzhou.gov.cn"
CRAWL_ID = "20260101T000000000Z"
_CAPTURE_DATE = "2026-01-01T00:00:00.000000Z"


def _record_id(url: str) -> str:
    digest = hashlib.sha1(url.encode()).hexdigest()
    return f"<urn:uuid:{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}>"


def _records(articles: int, seed: int):
    """Truth records of `articles` articles: blocks of the generator's largest corpus past its size.

    Each further block has the next seed and a host of its own (b2.www..., b3.www...), so no two
    articles share a URL; block 1 is the corpus of `articles` (up to 200,000) as before.
    """
    done, block = 0, 0
    while done < articles:
        size = min(MAX_ARTICLES, articles - done)
        base = BASE_URL if block == 0 else BASE_URL.replace("://", f"://b{block + 1}.")
        yield from truth_records(Corpus(articles=size, seed=seed + block), base)
        done, block = done + size, block + 1


def _events(record: dict, count: int) -> tuple[Capture, Metadata]:
    """The response capture and article metadata events of one truth record."""
    url = record["url"]
    for kind, content_type in (("images", "image/jpeg"), ("attachments", "application/octet-stream")):
        for media in record[kind]:
            media.update({"digest": "sha256:" + hashlib.sha256(media["url"].encode()).hexdigest(),
                          "size": 1000, "content_type": content_type})
    record_id = _record_id(url)
    capture = Capture(
        crawl_id=CRAWL_ID, record_id=record_id, warc_type="response", url=url, date=_CAPTURE_DATE, status=200,
        content_type="text/html", location=None, payload_digest="sha1:" + hashlib.sha1(url.encode()).hexdigest(),
        refers_to=None, truncated=None, etag=None, last_modified=None,
        position=Position("SYNTHETIC.warc.gz", count * 1000, 1000))
    fields = dict(record)
    fields.update({
        "type": "article", "site": "tengzhou", "section": "工业经济",
        "content_hash": "sha256:" + hashlib.sha256(record["body_text"].encode()).hexdigest(),
        "body_html": "".join(f"<p>{p}</p>" for p in record["body_text"].split("\n\n")),
        "flags": ["hijacked_city_name"] if "江城足球网" in record["body_text"] else [],
        "problems": [], "extractor": "synthetic",
    })
    return capture, Metadata(CRAWL_ID, _record_id(url + "#metadata"), url, _CAPTURE_DATE, record_id, fields)


def fill_synthetic(catalogue: Catalogue, articles: int, *, seed: int = 1, batch: int = 5000,
                   bulk: bool = False) -> int:
    """Fold `articles` generated articles (one version each) into `catalogue`; returns how many.

    With `bulk`, the same rows are written in batches (`archive.catalogue.bulk`), many times faster.
    """
    catalogue.apply(Metadata(CRAWL_ID, _record_id(CRAWL_URI), CRAWL_URI + CRAWL_ID, _CAPTURE_DATE, None,
                             {"type": "crawl-start", "settings": {"synthetic": True, "site": "tengzhou",
                                                                   "section": "工业经济"}}))
    pairs = (_events(record, count) for count, record in enumerate(_records(articles, seed), 1))
    if bulk:
        count = add_new_articles(catalogue, pairs)
    else:
        count = 0
        for capture, meta in pairs:
            catalogue.apply(capture)
            catalogue.apply(meta)
            count += 1
            if count % batch == 0:
                catalogue.commit()
    catalogue.apply(Metadata(CRAWL_ID, _record_id(CRAWL_URI + "end"), CRAWL_URI + CRAWL_ID, _CAPTURE_DATE, None,
                             {"type": "crawl-end", "status": "ok", "exit_code": 0, "stats": {}}))
    catalogue.commit()
    return count


def build_synthetic_catalogue(path: Path, articles: int, *, seed: int = 1, batch: int = 5000,
                              bulk: bool = False) -> int:
    """Write `articles` articles (one version each) into a new SQLite catalogue at `path`."""
    path = Path(path)
    remove_database(path)
    catalogue = SqliteCatalogue.open(path)
    try:
        return fill_synthetic(catalogue, articles, seed=seed, batch=batch, bulk=bulk)
    finally:
        catalogue.close()
