"""Deduplication by payload digest across URLs, crawls and workers sharing one catalogue.

A repeated image or attachment becomes an identical-payload-digest revisit
of the first capture of those bytes, wherever and by whichever worker it was
captured; HTML pages stay whole.  Component tests drive the WARC pipeline
through get_crawler with responses made here, on both catalogue backends.
"""

from __future__ import annotations

import hashlib

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, Response
from warcio.archiveiterator import ArchiveIterator

from archive.catalogue import open_catalogue
from archive.catalogue.events import CRAWL_URI, Capture, Metadata, Position
from crawler.pipelines.warc import WarcPipeline
from crawler.spiders.gongye import GongyeSpider
from tests.test_pipelines import project_crawler

JPEG = b"\xff\xd8\xff\xe0" + hashlib.shake_256(b"photo").digest(20_000) + b"\xff\xd9"
PDF = b"%PDF-1.4\n" + hashlib.shake_256(b"attachment").digest(5_000)
HTML = "<html><head><title>同一页</title></head><body><p>同样的内容</p></body></html>".encode()


class Worker:
    """One crawl's WARC pipeline in its own data folder, writing the shared catalogue."""

    def __init__(self, data, catalogue_url: str, crawl_id: str) -> None:
        crawler = project_crawler(ARCHIVE_DATA_DIR=str(data), ARCHIVE_CATALOGUE=catalogue_url)
        crawler.spider = GongyeSpider(crawl_id=crawl_id)
        crawler.spider._set_crawler(crawler)
        crawler.stats.open_spider()
        self.crawler = crawler
        self.pipeline = WarcPipeline.from_crawler(crawler)
        self.pipeline.open_spider()
        self.data = data

    def fetch(self, url: str, body: bytes, content_type: str | None, media: bool = False) -> dict:
        request = Request(url, meta={"archive_media": ("images", 0)} if media else {})
        headers = {"Content-Type": content_type} if content_type else {}
        cls = HtmlResponse if content_type and "html" in content_type else Response
        response = cls(url, status=200, headers=headers, body=body, request=request, ip_address=None)
        self.pipeline.capture(response, request)
        return request.meta["archive_warc"]

    def close(self) -> list:
        self.pipeline.finish(self.crawler.spider, "finished")
        return list(self.crawler.stats.get_stats().items())

    def records(self) -> list:
        out = []
        for path in sorted((self.data / "warc").glob("*.warc.gz")):
            with open(path, "rb") as stream:
                for record in ArchiveIterator(stream):
                    if record.rec_type in ("response", "revisit"):
                        out.append((record.rec_headers, record.content_stream().read()))
        return out


def test_repeated_payloads_become_revisits_across_urls_and_workers(tmp_path, catalogue_url):
    one = Worker(tmp_path / "w1", catalogue_url, "crawl-1")
    first = one.fetch("http://a.example/img/1.jpg", JPEG, "image/jpeg", media=True)
    again = one.fetch("http://a.example/other/copy.jpg", JPEG, "image/jpeg", media=True)
    pdf = one.fetch("http://a.example/files/a.pdf", PDF, "application/pdf", media=True)
    untyped = one.fetch("http://a.example/files/a-copy", PDF, None, media=True)
    page = one.fetch("http://a.example/a.html", HTML, "text/html; charset=utf-8")
    same_page = one.fetch("http://a.example/b.html", HTML, "text/html; charset=utf-8")
    stats = dict(one.close())
    assert not first["revisit"] and again["revisit"] and not pdf["revisit"] and untyped["revisit"]
    assert not page["revisit"] and not same_page["revisit"]  # HTML articles are kept whole
    assert stats["archive/dedup_revisits"] == 2
    assert stats["archive/dedup_bytes_saved"] == len(JPEG) + len(PDF)
    records = one.records()
    revisit = next(h for h, _ in records if h.get_header("WARC-Target-URI") == "http://a.example/other/copy.jpg")
    assert revisit.get_header("WARC-Type") == "revisit"
    assert revisit.get_header("WARC-Profile").endswith("/identical-payload-digest")
    assert revisit.get_header("WARC-Refers-To") == first["record_id"]
    assert revisit.get_header("WARC-Refers-To-Target-URI") == "http://a.example/img/1.jpg"
    assert revisit.get_header("WARC-Refers-To-Date") == first["date"]
    assert revisit.get_header("WARC-Payload-Digest") == first["payload_digest"]

    # Another worker, another data folder, the same catalogue: its copies refer to worker one's captures.
    two = Worker(tmp_path / "w2", catalogue_url, "crawl-2")
    elsewhere = two.fetch("http://b.example/uploads/x.jpg", JPEG, "image/jpeg", media=True)
    new = two.fetch("http://b.example/uploads/new.jpg", JPEG[:-10] + b"new bytes\xd9", "image/jpeg", media=True)
    two_page = two.fetch("http://b.example/a.html", HTML, "text/html")
    two.close()
    assert elsewhere["revisit"] and not new["revisit"] and not two_page["revisit"]
    headers = {h.get_header("WARC-Target-URI"): h for h, _ in two.records()}
    assert headers["http://b.example/uploads/x.jpg"].get_header("WARC-Refers-To") == first["record_id"]
    assert first["file"] in {p.name for p in (tmp_path / "w1" / "warc").iterdir()}
    with open_catalogue(tmp_path / "w2", catalogue_url, readonly=True) as catalogue:
        capture = catalogue.capture_by_record(elsewhere["record_id"])
        assert capture["warc_type"] == "revisit"
        assert catalogue.original_of(capture)["record_id"] == first["record_id"]


def test_first_response_with_payload_is_the_earliest_complete_200(tmp_path, catalogue_url):
    with open_catalogue(tmp_path, catalogue_url) as catalogue:
        assert catalogue.first_response_with_payload("sha1:NOTHING") is None
        catalogue.apply(Metadata(crawl_id="c", record_id="<urn:start>", url=CRAWL_URI + "c",
                                 date="2024-01-01T00:00:00Z", concurrent_to=None,
                                 payload={"type": "crawl-start", "settings": {}}, position=Position("s.warc.gz", 0, 1)))

        def capture(record, url, date, *, status=200, kind="response", truncated=None, digest="sha1:SAME"):
            catalogue.apply(Capture(
                crawl_id="c", record_id=record, warc_type=kind, url=url, date=date, status=status,
                content_type="image/png", location=None, payload_digest=digest, refers_to=None,
                truncated=truncated, etag=None, last_modified=None, position=Position(f"{record}.warc.gz", 0, 10)))

        capture("<urn:4>", "http://x/4.png", "2024-01-04T00:00:00Z")
        capture("<urn:1>", "http://x/1.png", "2024-01-01T00:00:00Z", status=404)
        capture("<urn:2>", "http://x/2.png", "2024-01-02T00:00:00Z", truncated="disconnect")
        capture("<urn:3>", "http://x/3.png", "2024-01-03T00:00:00Z", kind="revisit")
        capture("<urn:5>", "http://x/5.png", "2024-01-05T00:00:00Z")
        capture("<urn:0>", "http://x/0.png", "2024-01-01T00:00:00Z", digest="sha1:OTHER")
        found = catalogue.first_response_with_payload("sha1:SAME")
        assert found["record_id"] == "<urn:4>" and found["url"] == "http://x/4.png"
        assert found["file"] == "<urn:4>.warc.gz" and found["payload_digest"] == "sha1:SAME"
