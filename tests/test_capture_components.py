"""The capture download handler, the two downloader middlewares and the WARC
pipeline, built with Scrapy's `get_crawler` and run in this process against a
scripted HTTP server on 127.0.0.1 (see `tests/inprocess.py`)."""

from __future__ import annotations

import hashlib
import logging
import time
from base64 import b32encode
from datetime import datetime, timezone
from pathlib import Path

import pytest
import scrapy
from scrapy.utils.test import get_crawler
from warcio.archiveiterator import ArchiveIterator

from crawler.capture import CAPTURE_START, WIRE, CaptureDownloadHandler, response_head, truncation
from tests.capture_spider import CaptureSpider
from tests.inprocess import Answer, ScriptedServer, in_reactor, reply, running_reactor

CHUNKED = (b"HTTP/1.1 200 Fine Thanks\r\nContent-Type: text/html; charset=utf-8\r\n"
           b"Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
           b"6\r\n\xe5\xb7\xa5\xe4\xb8\x9a\r\n0\r\n\r\n")
TRUNCATED = Answer(reply(200, b"x" * 5000, length=20000), close=True)


def project_settings(data: Path, *, warc: bool = True, **overrides) -> dict:
    """This project's settings writing into DATA, fast, without robots.txt or media."""
    import crawler.settings as project

    settings = {name: getattr(project, name) for name in dir(project) if name.isupper()}
    settings.update(DOWNLOAD_DELAY=0, AUTOTHROTTLE_ENABLED=False, ROBOTSTXT_OBEY=False, LOG_LEVEL="INFO",
                    ARCHIVE_MEDIA_ENABLED=False, ARCHIVE_WARC_ENABLED=warc, ARCHIVE_DATA_DIR=str(data),
                    RETRY_TIMES=2)
    settings.update(overrides)
    return settings


def crawl(spider_class, settings: dict, **spider_args) -> dict:
    """Run one crawl in the reactor thread; its stats."""
    running_reactor()
    crawler = get_crawler(spider_class, settings)
    in_reactor(crawler.crawl, **spider_args)
    return crawler.stats.get_stats()


def warc_records(data: Path) -> list[dict]:
    records = []
    for path in sorted((data / "warc").glob("*.warc.gz")):
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream):
                head = record.http_headers
                records.append({
                    "type": record.rec_type, "uri": record.rec_headers.get_header("WARC-Target-URI"),
                    "headers": dict(record.rec_headers.headers),
                    "status_line": head.protocol + " " + head.statusline if head else None,
                    "host": head.get_header("Host") if head else None,
                    "body": record.content_stream().read(),
                })
    return records


# -- the download handler ------------------------------------------------------

@pytest.fixture()
def handler(tmp_path):
    running_reactor()
    crawler = get_crawler(CaptureSpider, project_settings(tmp_path, warc=False))
    built = in_reactor(CaptureDownloadHandler, crawler)
    yield built
    in_reactor(built.close)


def test_handler_keeps_reason_phrase_and_connection_headers(handler):
    with ScriptedServer({"/chunked": lambda hit: CHUNKED}) as server:
        response = in_reactor(handler.download_request, scrapy.Request(server.url("/chunked")))
    assert response.body == "工业".encode()
    assert response.headers.getlist(WIRE + b"Reason") == [b"Fine Thanks"]
    assert response_head(response) == (
        b"HTTP/1.1 200 Fine Thanks\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n"
        b"X-Orig-Transfer-Encoding: chunked\r\n"
        b"Connection: keep-alive\r\n"
        b"Content-Length: 6\r\n"
        b"\r\n"
    )


def test_handler_stamps_when_the_request_left(handler):
    with ScriptedServer({"/a": lambda hit: reply(200, b"a")}) as server:
        request = scrapy.Request(server.url("/a"))
        asked = datetime.now(timezone.utc)
        in_reactor(handler.download_request, request)
        [hit] = server.hits
    started = request.meta[CAPTURE_START]
    assert started.tzinfo is not None
    assert asked <= started <= hit.wall


def test_handler_keeps_phrase_of_an_error_and_of_a_304(handler):
    routes = {"/gone": lambda hit: reply(404, b"no", reason="Nicht Gefunden"),
              "/same": lambda hit: reply(304, reason="Still The Same", headers=[("ETag", '"v1"')])}
    with ScriptedServer(routes) as server:
        gone = in_reactor(handler.download_request, scrapy.Request(server.url("/gone")))
        same = in_reactor(handler.download_request, scrapy.Request(server.url("/same")))
    assert response_head(gone).startswith(b"HTTP/1.1 404 Nicht Gefunden\r\n")
    head = response_head(same)
    assert head.startswith(b"HTTP/1.1 304 Still The Same\r\n") and b'\r\nEtag: "v1"\r\n' in head


# -- TruncatedRetryMiddleware --------------------------------------------------------

def test_truncated_body_is_retried_and_the_complete_one_parsed(tmp_path):
    full = reply(200, b"y" * 20000)
    with ScriptedServer({"/dropped": lambda hit: TRUNCATED if hit == 0 else full}) as server:
        stats = crawl(CaptureSpider, project_settings(tmp_path), urls=server.url("/dropped"))
        assert server.paths() == ["/dropped", "/dropped"]
    assert stats["capture/ok"] == 1 and "capture/failed" not in stats
    assert stats["retry/count"] == 1 and "archive/gave_up/truncated" not in stats
    responses = [r for r in warc_records(tmp_path) if r["type"] == "response"]
    # Both attempts are evidence: the cut one marked as such.
    assert [r["headers"].get("WARC-Truncated") for r in responses] == ["disconnect", None]
    assert [len(r["body"]) for r in responses] == [5000, 20000]


def test_truncated_body_is_given_up_after_the_retries(tmp_path):
    with ScriptedServer({"/dropped": lambda hit: TRUNCATED}) as server:
        stats = crawl(CaptureSpider, project_settings(tmp_path, RETRY_TIMES=2), urls=server.url("/dropped"))
        assert server.paths() == ["/dropped"] * 3
    assert "capture/ok" not in stats  # a cut body is never parsed
    assert stats["capture/failed"] == 1
    assert stats["archive/gave_up/truncated"] == 1
    assert stats["retry/count"] == 2
    responses = [r for r in warc_records(tmp_path) if r["type"] == "response"]
    assert [r["headers"].get("WARC-Truncated") for r in responses] == ["disconnect"] * 3


def _close_delimited(body: bytes) -> bytes:
    """HTTP/1.1 without a length: the body ends where the server closes the connection."""
    return b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n" + body


def test_a_body_without_length_cut_by_a_reset_is_truncated_and_retried(tmp_path):
    """Twisted calls every body without a length 'potential data loss', closed or reset alike: a reset one
    was archived as complete (no WARC-Truncated), parsed, and the crawl said ok."""
    routes = {"/reset": lambda hit: Answer(_close_delimited(b"y" * 3000), reset=True) if hit == 0
              else Answer(_close_delimited(b"y" * 20000), close=True)}
    with ScriptedServer(routes) as server:
        stats = crawl(CaptureSpider, project_settings(tmp_path), urls=server.url("/reset"))
        assert server.paths() == ["/reset", "/reset"]
    assert stats["capture/ok"] == 1 and stats["retry/count"] == 1
    responses = [r for r in warc_records(tmp_path) if r["type"] == "response"]
    assert [r["headers"].get("WARC-Truncated") for r in responses] == ["disconnect", None]  # a clean close is whole
    assert len(responses[1]["body"]) == 20000


def test_server_headers_that_look_like_the_wire_prefix_are_archived_as_sent(handler):
    """The prefix that carries what Twisted parses away is a per-process secret: a server's own
    X-Archive-Wire-Reason no longer replaced the status line's phrase (nor a Cut header faked a truncation)."""
    answer = (b"HTTP/1.1 200\r\nX-Archive-Wire-Reason: Forged\r\nX-Archive-Wire-Cut: disconnect\r\n"
              b"Content-Length: 2\r\n\r\nok")
    with ScriptedServer({"/a": lambda hit: answer}) as server:
        response = in_reactor(handler.download_request, scrapy.Request(server.url("/a")))
    head = response_head(response)
    assert head.startswith(b"HTTP/1.1 200\r\n")  # no phrase sent, none invented
    assert b"X-Archive-Wire-Reason: Forged\r\n" in head and b"X-Archive-Wire-Cut: disconnect\r\n" in head
    assert truncation(response) is None


# -- RetryAfterMiddleware ------------------------------------------------------------

def _busy_then_ok(retry_after: str):
    def route(hit: int) -> bytes:
        if hit == 0:
            return reply(503, b"busy", headers=[("Retry-After", retry_after)])
        return reply(200, b"ok")
    return route


def test_retry_after_is_honoured(tmp_path, caplog):
    with ScriptedServer({"/busy": _busy_then_ok("1")}) as server:
        with caplog.at_level(logging.INFO, logger="crawler.middlewares"):
            stats = crawl(CaptureSpider, project_settings(tmp_path, warc=False, ARCHIVE_RETRY_AFTER_MAX=30),
                          urls=server.url("/busy"))
        first, second = server.hits
    assert stats["capture/ok"] == 1 and stats["archive/retry_after_waits"] == 1
    assert second.at - first.at >= 1.0
    assert "answered 503 with Retry-After: 1; its site waits 1.0s" in caplog.text


def test_retry_after_is_capped(tmp_path, caplog):
    # Uncapped, this would wait an hour and `in_reactor` would time out.
    with ScriptedServer({"/busy": _busy_then_ok("3600")}) as server:
        with caplog.at_level(logging.INFO, logger="crawler.middlewares"):
            stats = crawl(CaptureSpider, project_settings(tmp_path, warc=False, ARCHIVE_RETRY_AFTER_MAX=0.3),
                          urls=server.url("/busy"))
        first, second = server.hits
    assert stats["capture/ok"] == 1 and stats["archive/retry_after_waits"] == 1
    assert second.at - first.at >= 0.3
    assert "answered 503 with Retry-After: 3600; its site waits 0.3s" in caplog.text


def test_retry_after_given_as_a_date_is_honoured(tmp_path):
    """RFC 9110 allows an HTTP-date as well as seconds; a date was taken for no wait, and the retry came at once."""
    from email.utils import formatdate

    when = formatdate(time.time() + 2.5, usegmt=True)  # whole seconds: 1.5 s to 2.5 s from now
    with ScriptedServer({"/busy": _busy_then_ok(when)}) as server:
        stats = crawl(CaptureSpider, project_settings(tmp_path, warc=False, ARCHIVE_RETRY_AFTER_MAX=30),
                      urls=server.url("/busy"))
        first, second = server.hits
    assert stats["capture/ok"] == 1 and stats["archive/retry_after_waits"] == 1
    assert second.at - first.at >= 1.0


def test_retry_after_holds_every_request_to_the_site_not_only_the_retry(tmp_path):
    """Only the refused request waited: the site, having said it had too many, got the others meanwhile."""
    seen = []

    def route(hit: int) -> bytes:
        seen.append(hit)
        if len(seen) == 1:  # the first request of the crawl, whichever it is
            return reply(429, b"too many", headers=[("Retry-After", "1")])
        return reply(200, b"ok")

    paths = ["/a", "/b", "/c"]
    with ScriptedServer({path: route for path in paths}) as server:
        stats = crawl(CaptureSpider, project_settings(tmp_path, warc=False, ARCHIVE_RETRY_AFTER_MAX=30,
                                                      CONCURRENT_REQUESTS_PER_DOMAIN=1),
                      urls=",".join(server.url(path) for path in paths))
        refused, *others = server.hits
    assert stats["capture/ok"] == 3 and len(others) == 3
    assert all(hit.at - refused.at >= 1.0 for hit in others), [round(hit.at - refused.at, 2) for hit in others]


@pytest.mark.parametrize("value", ["Wed, 21 Oct 2015 07:28:00 GMT", "-5", "soon", ""])
def test_retry_after_that_is_not_seconds_is_not_waited_for(tmp_path, value):
    with ScriptedServer({"/busy": _busy_then_ok(value)}) as server:
        stats = crawl(CaptureSpider, project_settings(tmp_path, warc=False, ARCHIVE_RETRY_AFTER_MAX=30),
                      urls=server.url("/busy"))
        assert server.paths() == ["/busy", "/busy"]
    assert stats["capture/ok"] == 1 and "archive/retry_after_waits" not in stats


# -- the WARC pipeline ------------------------------------------------------------------

class TwiceSpider(scrapy.Spider):
    """Fetches each URL, then once more after the first answer (so the second can be a revisit)."""

    name = "twice"
    crawl_id = "twice"

    def __init__(self, urls: str, **kwargs):
        super().__init__(**kwargs)
        self.urls = urls.split(",")

    async def start(self):
        for url in self.urls:
            yield scrapy.Request(url, callback=self.again, dont_filter=True)

    def again(self, response):
        yield scrapy.Request(response.url, callback=self.done, dont_filter=True,
                             meta={"handle_httpstatus_list": [304]})

    def done(self, response):
        self.crawler.stats.inc_value("twice/done")


def _sha1(data: bytes) -> str:
    return "sha1:" + b32encode(hashlib.sha1(data).digest()).decode("ascii")


def test_pipeline_writes_exchanges_and_revisits(tmp_path):
    page = "<p>工业经济</p>".encode()
    routes = {
        "/page": lambda hit: reply(200, page, reason="Fine", headers=[("Content-Type", "text/html; charset=utf-8")]),
        "/etag": lambda hit: (reply(200, b"v1", headers=[("ETag", '"v1"')]) if hit == 0
                              else reply(304, headers=[("ETag", '"v1"')])),
    }
    with ScriptedServer(routes) as server:
        stats = crawl(TwiceSpider, project_settings(tmp_path, CONCURRENT_REQUESTS=1),
                      urls=server.url("/page") + "," + server.url("/etag"))
        first_hit = next(hit for hit in server.hits if hit.path == "/page")
    assert stats["twice/done"] == 2
    assert stats["archive/warc_responses"] == 2 and stats["archive/warc_revisits"] == 2
    records = warc_records(tmp_path)
    assert records[0]["type"] == "warcinfo"
    by_id = {r["headers"]["WARC-Record-ID"]: r for r in records}

    def of(path, kind):
        return [r for r in records if r["uri"] == server.url(path) and r["type"] == kind]

    # Each response or revisit has its request record, concurrent to it, at the same date.
    for kind in ("response", "revisit"):
        for record in of("/page", kind) + of("/etag", kind):
            [request] = [r for r in records if r["type"] == "request"
                         and r["headers"]["WARC-Concurrent-To"] == record["headers"]["WARC-Record-ID"]]
            assert request["headers"]["WARC-Date"] == record["headers"]["WARC-Date"]
            assert request["status_line"] == "GET " + record["uri"].split(str(server.port), 1)[1] + " HTTP/1.1"
            assert request["host"] == f"127.0.0.1:{server.port}"
    [first] = of("/page", "response")
    assert first["status_line"] == "HTTP/1.1 200 Fine"
    assert first["body"] == page
    assert first["headers"]["WARC-Payload-Digest"] == _sha1(page)
    # The WARC-Date is when the request left: no later than the server saw it.
    stamped = datetime.strptime(first["headers"]["WARC-Date"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert stamped <= first_hit.wall

    [same] = of("/page", "revisit")
    assert same["headers"]["WARC-Profile"].endswith("/revisit/identical-payload-digest")
    assert same["headers"]["WARC-Refers-To"] == first["headers"]["WARC-Record-ID"]
    assert same["headers"]["WARC-Refers-To-Target-URI"] == server.url("/page")
    assert same["headers"]["WARC-Refers-To-Date"] == first["headers"]["WARC-Date"]
    assert same["headers"]["WARC-Payload-Digest"] == _sha1(page)

    [v1] = of("/etag", "response")
    [not_modified] = of("/etag", "revisit")
    assert not_modified["headers"]["WARC-Profile"].endswith("/revisit/server-not-modified")
    assert by_id[not_modified["headers"]["WARC-Refers-To"]] is v1
    assert not_modified["status_line"] == "HTTP/1.1 304 Not Modified"

    crawl_records = [r for r in records if r["type"] == "metadata"]
    assert [b'"crawl-start"' in r["body"] for r in crawl_records] == [True, False]
    assert b'"crawl-end"' in crawl_records[-1]["body"]


def test_a_304_and_a_204_sent_without_a_length_are_archived_without_one(handler):
    """Twisted gives a 204 or 304 the length 0 and Scrapy writes it as a header: the record said the server
    sent `Content-Length: 0`; one the server did send is kept."""
    routes = {"/same": lambda hit: reply(304, headers=[("ETag", '"v1"')]),
              "/none": lambda hit: reply(204),
              "/sized": lambda hit: reply(204, headers=[("Content-Length", "0")])}
    with ScriptedServer(routes) as server:
        same = in_reactor(handler.download_request, scrapy.Request(server.url("/same")))
        none = in_reactor(handler.download_request, scrapy.Request(server.url("/none")))
        sized = in_reactor(handler.download_request, scrapy.Request(server.url("/sized")))
    assert b"Content-Length" not in response_head(same) and b"Content-Length" not in response_head(none)
    assert b"\r\nContent-Length: 0\r\n" in response_head(sized)
