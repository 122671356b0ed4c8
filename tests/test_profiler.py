"""`portal-archive profile new/check`: inference from each family's list page, politeness, the report, the faults.

The replica runs in this process (ReplicaServer, a thread); a tiny server
of our own stands in for a site with robots.txt rules, redirects and errors.
"""

from __future__ import annotations

import re
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive.cli import main
from crawler.pages.listing import ListPage
from crawler.pages.markup import response_from_bytes
from crawler.profile import load_profile
from crawler.profiler.detect import api_guesses, rows_shape
from crawler.profiler.fetch import Fetcher, FetchError
from crawler.profiler.infer import infer_profile
from crawler.profiler.patterns import common_folder, css_for, path_pattern
from crawler.profiler.validate import validate_inference
from crawler.profiler.write import profile_toml
from replica import registry
from replica.server import QuietHTTPServer, ReplicaServer

ARTICLES = 120


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


# -- patterns -------------------------------------------------------------------------------------


@pytest.mark.parametrize("paths, pattern, missed", [
    (["/xwzx/gyjj/202103/t20210315_6187593.html", "/xwzx/gyjj/202103/t20210312_6185120.html"],
     r"^/xwzx/gyjj/\d{6}/t\d{8}_\d+\.html$", 0),
    # The column id stays (it tells columns apart); dates and ids are generalised.
    (["/art/2026/2/4/art_25831_8152404.html", "/art/2026/2/13/art_25831_8161719.html"],
     r"^/art/\d{4}/\d{1,2}/\d{1,2}/art_25831_\d+\.html$", 0),
    # One example cannot tell an id from a column number.
    (["/xxgk/zcwj/202409/content_3731921.html"], r"^/xxgk/zcwj/\d{6}/content_\d+\.html$", 0),
    # The largest family of look-alike paths wins; the odd one is counted.
    (["/news/a/20230618/5390991.html", "/news/a/20230611/5390900.html", "/files/x.pdf"],
     r"^/news/a/\d{8}/\d+\.html$", 1),
    (["/a/b-1.html", "/a/c.htm"], r"^/a/[^/]+$", 0),
    ([], "", 0),
])
def test_path_patterns(paths, pattern, missed):
    assert path_pattern(paths) == (pattern, missed)


def test_common_folder():
    assert common_folder(["/col/col1/index.html", "/art/2024/1/2/art_1_2.html"]) == "/"
    assert common_folder(["/xwzx/gyjj/index.html", "/xwzx/gyjj/202103/t.html"]) == "/xwzx/gyjj/"
    assert common_folder([]) == "/"


def test_css_for_finds_a_selector_whose_first_match_is_the_element():
    root = response_from_bytes(b"<html><body><div class='a b'>x</div><div class='a'>y</div><p id='9'>z</p>"
                               b"<section><p>w</p></section></body></html>", "http://x/").selector.root
    first, second, digits, inner = root.xpath("//div[1]")[0], root.xpath("//div[2]")[0], root.xpath("//p")[0], \
        root.xpath("//section/p")[0]
    assert css_for(first, root) == "div.a.b"
    assert css_for(second, root) is None  # div.a finds the first div first
    assert css_for(digits, root) == "p"  # an id starting with a digit is not used; the first <p> is it
    assert css_for(inner, root) == "section > p"


# -- JSON API detection ---------------------------------------------------------------------------


SHELL = """<html><body><div id='list' data-api='/open/api/docs' data-column='tzgg' data-pagesize='15'></div>
<script>Docs.render({el:'#list', url:'/open/api/docs', column:'tzgg', pageSize:15, tpl:'#row'});</script>
<script>function go(p){ $.get(o.url + '?column=' + o.column + '&pageNo=' + p + '&pageSize=' + o.pageSize); }</script>
</body></html>"""


def test_api_guesses_read_attributes_literals_and_the_query_names_scripts_build():
    page = ListPage(response_from_bytes(SHELL.encode(), "http://www.x.gov.cn/tzgg/index.html"), None)
    guesses = api_guesses(page, [])
    assert len(guesses) == 1  # the attribute and the literal say the same
    guess = guesses[0]
    assert (guess.url, guess.params, guess.page_param, guess.size_param, guess.size) == (
        "http://www.x.gov.cn/open/api/docs", {"column": "tzgg"}, "pageNo", "pageSize", 15)


def test_rows_shape_finds_the_article_rows_in_nested_json():
    data = {"code": 0, "data": {"totalPage": 9, "records": [
        {"docId": 1, "docTitle": "关于做好春耕工作的通知", "pubDate": "2024-03-02", "docUrl": "/tzgg/2024/1.html"},
        {"docId": 2, "docTitle": "县政府常务会议召开", "pubDate": "2024-03-01", "docUrl": "/tzgg/2024/2.html"}]},
        "menus": [{"name": "首页", "link": "/"}]}
    shape = rows_shape(data)
    assert (shape.list_key, shape.url_key, shape.title_key, shape.date_key, shape.pages_key) == (
        "data.records", "docUrl", "docTitle", "pubDate", "data.totalPage")
    assert rows_shape({"list": [{"a": 1}]}) is None


# -- the polite fetcher ---------------------------------------------------------------------------


class _Site(BaseHTTPRequestHandler):
    seen: list[tuple[str, str, float]] = []

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        type(self).seen.append((self.path, self.headers.get("User-Agent", ""), time.monotonic()))
        if self.path == "/robots.txt":
            self._send(200, b"User-agent: *\nDisallow: /private/\n", "text/plain")
        elif self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/page")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path in ("/page", "/private/x"):
            self._send(200, "<html><body>页面</body></html>".encode(), "text/html; charset=utf-8")
        elif self.path == "/big":
            self._send(200, b"x" * 5000, "text/html")
        elif self.path == "/flaky":
            tries = sum(1 for path, _, _ in type(self).seen if path == "/flaky")
            if tries == 1:
                self._send(503, b"busy", "text/plain")
            else:
                self._send(200, "<html><body>好了</body></html>".encode(), "text/html; charset=utf-8")
        elif self.path == "/down":
            self._send(502, b"bad gateway", "text/plain")
        elif self.path == "/drip":  # a byte every 0.2 s, for 20 s: each read is quick, the whole never ends
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "100")
            self.end_headers()
            try:
                for _ in range(100):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass  # the fetcher gave up
        else:
            self._send(404, b"no", "text/plain")

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def little_site():
    _Site.seen = []
    server = QuietHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_fetcher_obeys_robots_waits_and_says_who_it_is(little_site):
    fetcher = Fetcher(contact="mailto:archivist@example.org", delay=0.3, max_bytes=4000)
    page = fetcher.get(little_site + "/moved")
    assert page.url == little_site + "/page" and "页面" in page.text
    with pytest.raises(FetchError, match="disallowed by robots.txt"):
        fetcher.get(little_site + "/private/x")
    with pytest.raises(FetchError, match="HTTP 404"):
        fetcher.get(little_site + "/nothing")
    with pytest.raises(FetchError, match="larger than 4000 bytes"):
        fetcher.get(little_site + "/big")
    paths = [path for path, _, _ in _Site.seen]
    assert paths == ["/robots.txt", "/moved", "/page", "/nothing", "/big"]  # /private/x never asked
    assert all("mailto:archivist@example.org" in agent and agent.startswith("portal-archive/")
               for _, agent, _ in _Site.seen)
    times = [moment for _, _, moment in _Site.seen]
    assert min(b - a for a, b in zip(times, times[1:])) >= 0.28


def test_the_fetcher_retries_what_a_crawl_retries(little_site):
    fetcher = Fetcher(contact="x", delay=0)
    assert "好了" in fetcher.get(little_site + "/flaky").text
    with pytest.raises(FetchError, match="HTTP 502"):
        fetcher.get(little_site + "/down")
    asked = [path for path, _, _ in _Site.seen]
    assert asked.count("/flaky") == 2 and asked.count("/down") == 3  # twice more, then given up


def test_a_page_that_drips_is_given_up_by_a_deadline_for_the_whole(little_site):
    """The socket's timeout is per read: `profile new` read a slow-drip page forever."""
    fetcher = Fetcher(contact="x", delay=0, timeout=1.5)
    started = time.monotonic()
    with pytest.raises(FetchError, match="still sending after 1.5 s"):
        fetcher.get(little_site + "/drip")
    assert time.monotonic() - started < 10  # within a read or two of the deadline, not 20 s


def test_a_dead_host_is_a_fetch_error():
    fetcher = Fetcher(contact="x", delay=0)
    with pytest.raises(FetchError):
        fetcher.get("http://127.0.0.1:9/col/index.html")


# -- inference on every family --------------------------------------------------------------------


EXPECTED_KIND = {"trs": "trs", "hanweb": "hanweb", "xxgk": "links", "json": "json"}


@pytest.mark.parametrize("name", registry.site_names())
def test_inference_on_every_family(name, tmp_path):
    spec = registry.site_spec(name)
    with ReplicaServer(site=name, articles=ARTICLES, port=0) as server:
        urls = list(server.column_urls.values()) if hasattr(server, "column_urls") else [server.section_url]
        fetcher = Fetcher(contact="x", delay=0)
        inference = infer_profile(urls, fetcher, name=name, samples=4)
        profile = inference.profile
        assert (profile.name, profile.site_name, profile.city, profile.site_id_code) == (
            name, spec.site_name, spec.city, spec.id_code)
        assert profile.host == spec.domain  # the SiteDomain the pages declare
        assert profile.section_names == [column.name for column in spec.columns]
        truth = list(registry.truth(spec, registry.make_corpus(spec, ARTICLES, 1, 1), server.base_url))
        for section in profile.sections:
            assert section.pagination.kind == EXPECTED_KIND[spec.cms]
            mine = [r["url"] for r in truth if r["section"] == section.name]
            others = [r["url"] for r in truth if r["section"] != section.name]
            # The pattern takes every article of its column and none of another's.
            assert all(section.is_article_url(url) for url in mine)
            assert not any(section.is_article_url(url) for url in others)
        report = validate_inference(inference)
        assert report.ok, "\n".join(report.lines())
        assert report.coverage("title") == report.coverage("published") == (report.sampled, report.sampled)
        # The commented TOML reads back to the same profile.
        path = tmp_path / "p.toml"
        path.write_text(profile_toml(profile, ["a note"]), encoding="utf-8")
        assert load_profile(path) == profile
        lines = path.read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines):
            if re.match(r"^[a-z_]+\s*=", line):
                assert lines[n - 1].startswith("#"), f"uncommented key: {line}"


# -- the commands -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def weishan():
    with ReplicaServer(site="weishan", articles=ARTICLES, port=0) as server:
        yield server


def test_profile_new_writes_a_profile_and_reports(weishan, tmp_path):
    out = tmp_path / "weishan.toml"
    result = run("profile", "new", weishan.section_url, "--name", "weishan", "--out", str(out), "--samples", "3")
    assert result.exit_code == 0, result.output
    assert "articles sampled: 3" in result.output and "result: ok" in result.output
    assert re.search(r"title\s+3/3", result.output)
    profile = load_profile(out)
    assert profile.sections[0].pagination.kind == "hanweb"
    # An existing file is kept unless asked.
    again = run("profile", "new", weishan.section_url, "--out", str(out))
    assert again.exit_code == 2 and "exists" in again.output
    assert run("profile", "check", str(out), "--samples", "2").exit_code == 0


def test_profile_check_reports_a_redesign(weishan, tmp_path):
    out = tmp_path / "weishan.toml"
    assert run("profile", "new", weishan.section_url, "--out", str(out), "--samples", "2").exit_code == 0
    text = out.read_text(encoding="utf-8")
    # The site "moved" its articles and renamed its body block.
    text = re.sub(r"article_url_pattern = .*", r"article_url_pattern = '^/art/\\d{4}/new_\\d+\\.html$'", text)
    text = re.sub(r"body = .*", "body = 'div.article-text'", text)
    out.write_text(text, encoding="utf-8")
    result = run("profile", "check", str(out), "--samples", "2")
    assert result.exit_code == 1, result.output
    found = re.search(r"PROBLEM: (\d+) of (\d+) list links do not fit the article pattern", result.output)
    assert found and found.group(1) == found.group(2) and int(found.group(1)) > 0, result.output
    assert "PROBLEM: no article could be read" in result.output


@pytest.mark.parametrize("args, code, message", [
    (["--name", "two words"], 2, "--name 'two words'"),
    (["--delay", "-1"], 2, "--delay"),
])
def test_profile_new_bad_usage(weishan, tmp_path, args, code, message):
    result = run("profile", "new", weishan.section_url, "--out", str(tmp_path / "x.toml"), *args)
    assert result.exit_code == code and message in result.output
    assert not (tmp_path / "x.toml").exists()


def test_profile_new_on_a_dead_site_fails_and_writes_nothing(tmp_path):
    out = tmp_path / "x.toml"
    result = CliRunner().invoke(main, ["profile", "new", "http://127.0.0.1:9/col/index.html", "--out", str(out)])
    assert result.exit_code == 3 and "Error:" in result.output
    assert not out.exists() and not list(tmp_path.iterdir())


def test_a_real_portal_needs_a_contact(tmp_path, monkeypatch):
    monkeypatch.delenv("PORTAL_ARCHIVE_CONTACT", raising=False)
    result = CliRunner().invoke(main, ["profile", "new", "http://www.example.gov.cn/col/index.html", "--out",
                                       str(tmp_path / "x.toml")])
    assert result.exit_code == 2 and "without a contact" in result.output


def test_profile_check_of_a_dead_site_fails(tmp_path):
    path = tmp_path / "dead.toml"
    bundled = Path(__file__).parents[1] / "crawler" / "profiles" / "tengzhou.toml"
    path.write_text(bundled.read_text(encoding="utf-8").replace("http://www.tengzhou.gov.cn", "http://127.0.0.1:9"),
                    encoding="utf-8")
    result = CliRunner().invoke(main, ["profile", "check", str(path)])
    assert result.exit_code == 3 and "no list page of the profile could be fetched" in result.output
    assert "PROBLEM: the first list page" in result.output


def test_profile_check_of_an_unknown_section_is_bad_usage():
    result = CliRunner().invoke(main, ["profile", "check", "tengzhou", "--section", "no such"])
    assert result.exit_code == 2 and "no section 'no such'" in result.output


class _RobotsSite(BaseHTTPRequestHandler):
    robots: tuple[int, bytes] = (200, b"")
    seen: list[tuple[str, float]] = []

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        type(self).seen.append((self.path, time.monotonic()))
        status, body = type(self).robots if self.path == "/robots.txt" else (200, b"<html><body>page</body></html>")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if self.path == "/robots.txt" else "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def robots_site():
    _RobotsSite.seen = []
    server = QuietHTTPServer(("127.0.0.1", 0), _RobotsSite)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("status", [500, 503, 429])
def test_the_fetcher_fetches_nothing_where_robots_txt_cannot_be_read(robots_site, status):
    """`profile new` read a robots.txt answering 5xx as "allow everything", where a crawl (RFC 9309) fetches
    nothing from the site: it looked at pages a crawl would never fetch."""
    _RobotsSite.robots = (status, b"busy")
    fetcher = Fetcher(contact="mailto:archivist@example.org", delay=0.0)
    with pytest.raises(FetchError, match=f"robots.txt could not be read \\(HTTP {status}\\)"):
        fetcher.get(robots_site + "/xwzx/index.html")
    assert {path for path, _ in _RobotsSite.seen} == {"/robots.txt"}  # asked again as a crawl retries, nothing else


def test_the_fetcher_fetches_where_there_is_no_robots_txt_and_waits_its_crawl_delay(robots_site, monkeypatch):
    from crawler.profiler import fetch

    _RobotsSite.robots = (404, b"")
    assert "page" in Fetcher(contact="mailto:a@example.org", delay=0.0).get(robots_site + "/a.html").text
    _RobotsSite.robots, _RobotsSite.seen = (200, b"User-agent: *\nCrawl-delay: 0.5\n"), []
    monkeypatch.setattr(fetch, "is_loopback", lambda url: False)  # a loopback site's delays are lifted
    fetcher = Fetcher(contact="mailto:a@example.org", delay=0.0)
    for name in ("a", "b", "c"):
        fetcher.get(f"{robots_site}/{name}.html")
    times = [moment for _, moment in _RobotsSite.seen]
    assert len(times) == 4 and min(b - a for a, b in zip(times, times[1:])) >= 0.45
