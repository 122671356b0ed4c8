"""A site set to N requests at a time never sees more than N (crawler/downloader.py).

Scrapy 2.19's downloader, under the asyncio reactor, started every queued
request of a slot at once when there was no download delay: a portal asked
to bear one request at a time got a dozen.  The server here counts the
requests it is answering at once, each answer taking a while, as a distant
portal's does.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler

import pytest

from replica.server import QuietHTTPServer
from tests.conftest import ROOT

PAGES = 24


class _Counting(QuietHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.now = self.most = self.served = 0


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        server = self.server
        with server.lock:
            server.now += 1
            server.most = max(server.most, server.now)
        try:
            time.sleep(0.05)
            # Done counting before the answer goes out: once the client has it, it may send the next request
            # before this thread runs another line, and two at once would be counted where there never were.
            with server.lock:
                server.now -= 1
            if self.path == "/":
                # Every other link by another name of the same server, as portals link www. and bare alike.
                port = server.server_address[1]
                body = "".join(f'<a href="http://{"localhost" if i % 2 else "127.0.0.1"}:{port}/p{i}">{i}</a>'
                               for i in range(PAGES)).encode()
            else:
                body = b"<p>page</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        finally:
            with server.lock:
                server.served += 1

    def log_message(self, *args) -> None:  # quiet
        pass


SPIDER = textwrap.dedent("""
    import sys
    import scrapy
    from scrapy.crawler import CrawlerProcess
    from crawler import settings as project

    class Links(scrapy.Spider):
        name = "links"
        start_urls = [sys.argv[1]]
        site_hosts = {"127.0.0.1": "127.0.0.1", "localhost": "127.0.0.1"}  # one site, as a profile's hosts say

        def parse(self, response):
            yield from response.follow_all(css="a", callback=self.page)

        def page(self, response):
            pass

    process = CrawlerProcess({
        "DOWNLOADER": project.DOWNLOADER,
        "CONCURRENT_REQUESTS": 32,
        "CONCURRENT_REQUESTS_PER_DOMAIN": int(sys.argv[2]),
        "DOWNLOAD_DELAY": float(sys.argv[3]),
        "ROBOTSTXT_OBEY": False,
        "LOG_LEVEL": "WARNING",
    })
    process.crawl(Links)
    process.start()
""")


@pytest.mark.parametrize(("limit", "delay"), [(1, 0), (2, 0), (1, 0.01)])
def test_a_site_never_gets_more_requests_at_once_than_its_limit(limit, delay):
    server = _Counting()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        result = subprocess.run([sys.executable, "-c", SPIDER, url, str(limit), str(delay)], cwd=ROOT,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr[-3000:]
    finally:
        server.shutdown()
        server.server_close()
    assert server.served == PAGES + 1
    assert server.most <= limit, f"{server.most} requests at once with CONCURRENT_REQUESTS_PER_DOMAIN={limit}"
    if limit > 1:
        assert server.most == limit  # the limit is used, not just respected


def test_a_site_is_one_slot_whatever_name_it_is_reached_by():
    from crawler.downloader import site_slot

    hosts = {"tengzhou.gov.cn": "www.tengzhou.gov.cn", "www.tengzhou.gov.cn": "www.tengzhou.gov.cn",
             "127.0.0.1": "www.tengzhou.gov.cn", "localhost": "www.tengzhou.gov.cn"}
    names = ("www.tengzhou.gov.cn", "tengzhou.gov.cn", "WWW.Tengzhou.gov.cn.", "127.0.0.1", "localhost")
    assert {site_slot(name, hosts) for name in names} == {"tengzhou.gov.cn"}
    assert site_slot("www.other.org", {}) == site_slot("other.org", {}) == "other.org"
    assert site_slot("img.tengzhou.gov.cn", hosts) == "img.tengzhou.gov.cn"  # another server: its own slot


@pytest.mark.parametrize("piece", ["_process_queue", "_wait_for_download"])
def test_a_missing_downloader_piece_is_named(monkeypatch, piece):
    from scrapy.core.downloader import Downloader
    from scrapy.exceptions import NotConfigured

    from crawler import downloader

    monkeypatch.delattr(Downloader, piece)
    with pytest.raises(NotConfigured, match=f"Downloader.{piece}: no such method"):
        downloader.check_internals()


def test_a_crawl_without_the_downloader_piece_fails_loudly_and_fetches_nothing(tmp_path):
    from tests.test_capture_contract import crawl_with_a_piece_broken

    # As if Scrapy had renamed it.
    result = crawl_with_a_piece_broken(
        "from scrapy.core.downloader import Downloader\ndel Downloader._wait_for_download", tmp_path)
    assert result.returncode == 3, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Per-site concurrency cannot work" in result.stdout
    assert "Downloader._wait_for_download: no such method" in result.stdout and "crawler/downloader.py" in result.stdout
