"""The private Scrapy and Twisted hooks that capture relies on are checked at start.

Each test removes or breaks one of them (monkeypatch) and expects the check
to name it; the last one runs `portal-archive crawl` with a hook missing and
expects exit 3, the piece named, and not one request sent.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from scrapy.core.downloader.handlers import http11
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler
from twisted.web import _newclient, client
from warcio.archiveiterator import ArchiveIterator

from crawler import capture
from crawler.outcome import FAILED, crawl_outcome
from tests.conftest import ROOT
from tests.inprocess import ScriptedServer
from tests.test_capture_components import project_settings


def test_the_tested_versions_pass():
    capture.check_internals()
    found = capture.versions_found()
    for name, tested in capture.TESTED_WITH.items():
        release = ".".join(found[name].split(".")[:2])
        assert release in tested.replace(" and", ",").split(", "), (name, found[name], tested)


def _no_conn_headers(self):
    self.headers = _newclient.Headers()
    self.state = _newclient.STATUS
    self._partialHeader = None


def _pool_ignoring_factory(self, key, endpoint):
    return endpoint.connect(client._HTTP11ClientFactory(lambda protocol: None, repr(endpoint)))


def _response_without_phrase(original):
    def construct(cls, *args):
        response = original.__func__(cls, *args)
        del response.phrase
        return response
    return classmethod(construct)


BREAKS = {
    "parser class": (lambda mp: mp.delattr(http11, "_LenientHTTPClientParser"),
                     "http11._LenientHTTPClientParser: no such class"),
    "protocol class": (lambda mp: mp.delattr(http11, "_LenientHTTP11ClientProtocol"),
                       "http11._LenientHTTP11ClientProtocol: no such class"),
    "factory class": (lambda mp: mp.delattr(http11, "_LenientHTTP11ClientFactory"),
                      "http11._LenientHTTP11ClientFactory: no such class"),
    "parser hook": (lambda mp: mp.delattr(_newclient.HTTPParser, "allHeadersReceived")
                    or mp.delattr(_newclient.HTTPClientParser, "allHeadersReceived"),
                    "_LenientHTTPClientParser.allHeadersReceived: no such method"),
    "pool factory attribute": (lambda mp: mp.delattr(client.HTTPConnectionPool, "_factory"),
                               "HTTPConnectionPool._factory: no such attribute"),
    "pool ignores its factory": (lambda mp: mp.setattr(client.HTTPConnectionPool, "_newConnection",
                                                       _pool_ignoring_factory),
                                 "the wire factory cannot be swapped in"),
    "factory callback": (lambda mp: mp.setattr(client._HTTP11ClientFactory, "__init__",
                                               lambda self, callback, metadata: None),
                         "_quiescentCallback"),
    "protocol parser": (lambda mp: mp.setattr(capture._WireProtocol, "request",
                                              http11._LenientHTTP11ClientProtocol.__mro__[1].request),
                        "HTTP11ClientProtocol._parser"),
    "connection headers": (lambda mp: mp.setattr(_newclient.HTTPParser, "connectionMade", _no_conn_headers),
                           "HTTPClientParser.connHeaders"),
    "reason phrase": (lambda mp: mp.setattr(_newclient.Response, "_construct",
                                            _response_without_phrase(_newclient.Response._construct)),
                      "Response.phrase: the reason phrase is not kept"),
    "hook not called": (lambda mp: mp.setattr(capture._WireParser, "allHeadersReceived",
                                               http11._LenientHTTPClientParser.allHeadersReceived),
                        "the wire parser's hook did not run"),
    # How a reset close-delimited body is told from a whole one (WARC-Truncated): the decoder's length, read
    # when the connection is lost.
    "reset not told": (lambda mp: mp.setattr(capture._WireParser, "connectionLost",
                                             http11._LenientHTTPClientParser.connectionLost),
                       "_IdentityTransferDecoder.contentLength"),
}


@pytest.mark.parametrize("broken", sorted(BREAKS))
def test_a_missing_piece_is_named_with_the_versions(monkeypatch, broken):
    breaks, named = BREAKS[broken]
    breaks(monkeypatch)
    with pytest.raises(NotConfigured) as raised:
        capture.check_internals()
    message = str(raised.value)
    assert named in message
    found = capture.versions_found()
    assert f"Found Scrapy {found['Scrapy']}, Twisted {found['Twisted']}" in message
    assert "tested with Scrapy 2.19, Twisted 25.5, 26.4 and 26.10" in message


def test_the_handler_refuses_and_marks_the_crawl_failed(tmp_path, monkeypatch, caplog):
    monkeypatch.delattr(http11, "_LenientHTTP11ClientFactory")
    crawler = get_crawler(settings_dict=project_settings(tmp_path))
    for scheme in ("http", "https"):  # Scrapy builds one handler per scheme
        with pytest.raises(NotConfigured, match="_LenientHTTP11ClientFactory"):
            capture.CaptureDownloadHandler(crawler)
    fatal = crawler.stats.get_value("archive/fatal")
    assert "_LenientHTTP11ClientFactory: no such class" in fatal
    assert [r.levelname for r in caplog.records if r.name == "crawler.capture"] == ["CRITICAL"]
    outcome = crawl_outcome({"finish_reason": capture.STOPPED, "archive/fatal": fatal})
    assert outcome.code == FAILED and outcome.reasons == (fatal,)


def crawl_with_a_piece_broken(breaking: str, data) -> subprocess.CompletedProcess:
    """`portal-archive crawl` of a scripted server after running `breaking` (Python) in the same process;
    asserts that nothing at all was fetched."""
    script = f"import sys\n{breaking}\nfrom archive.cli import main\nsys.argv[0] = 'portal-archive'\nmain()\n"
    with ScriptedServer({}) as server:
        result = subprocess.run(
            [sys.executable, "-c", script, "crawl", "--replica", server.url(""), "--data", str(data), "--quiet"],
            capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert server.hits == []  # not even robots.txt: nothing was fetched without being captured
    return result


def test_crawl_with_a_missing_piece_fails_loudly_and_fetches_nothing(tmp_path):
    # As if Twisted had renamed it.
    result = crawl_with_a_piece_broken("from twisted.web import client\ndel client.HTTPConnectionPool._factory",
                                       tmp_path)
    assert result.returncode == 3, result.stderr[-3000:]
    assert "HTTPConnectionPool._factory: no such attribute" in result.stdout
    assert "tested with Scrapy 2.19, Twisted 25.5, 26.4 and 26.10" in result.stdout
    records = []
    for path in (tmp_path / "warc").glob("*.warc.gz"):
        with open(path, "rb") as stream:
            records += [(r.rec_type, r.content_stream().read()) for r in ArchiveIterator(stream)]
    assert {kind for kind, _ in records} <= {"warcinfo", "metadata"}
    [end] = [json.loads(body) for kind, body in records if kind == "metadata" and b'"crawl-end"' in body]
    assert end["status"] == "failed" and end["exit_code"] == 3
    assert "HTTPConnectionPool._factory" in end["reasons"][0]
