"""Who the crawler says it is: the user agent is built from the settings when the crawl starts.

`-s ARCHIVE_CONTACT=...` used to be ignored (the user agent was computed at
import, from the environment); and a real portal must not be crawled with the
placeholder contact, as Heritrix refuses to start without an operator contact.
"""

from __future__ import annotations

import os

import pytest
from scrapy.utils.test import get_crawler
from warcio.archiveiterator import ArchiveIterator

from crawler.politeness import PLACEHOLDER_CONTACT, ContactMissing, apply_user_agent
from crawler.spiders.gongye import GongyeSpider
from replica.launch import ReplicaProcess
from tests.conftest import portal_archive

REAL = "http://www.tengzhou.gov.cn/xwzx/gyjj/index.html"


def _user_agents(data) -> set[str]:
    agents = set()
    for path in (data / "warc").glob("*.warc.gz"):
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "request":
                    agents.add(record.http_headers.get_header("User-Agent"))
    return agents


@pytest.mark.e2e
def test_a_contact_given_with_set_or_the_environment_reaches_the_user_agent(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PORTAL_ARCHIVE_CONTACT"}
    with ReplicaProcess(articles=20) as replica:
        portal_archive("crawl", "--replica", replica.base_url, "--data", str(tmp_path / "a"), "--quiet",
                       "-s", "ARCHIVE_CONTACT=mailto:archivist@example.org", env=env)
        portal_archive("crawl", "--replica", replica.base_url, "--data", str(tmp_path / "b"), "--quiet",
                       env=dict(env, PORTAL_ARCHIVE_CONTACT="https://library.example.org/crawler"))
        portal_archive("crawl", "--replica", replica.base_url, "--data", str(tmp_path / "c"), "--quiet",
                       "-s", "USER_AGENT=MyArchive/2.0 (+mailto:me@example.org)", env=env)
    agents_a, agents_b, agents_c = (_user_agents(tmp_path / n) for n in "abc")
    assert len(agents_a) == 1 and "+mailto:archivist@example.org" in agents_a.pop()
    assert len(agents_b) == 1 and "+https://library.example.org/crawler" in agents_b.pop()
    assert agents_c == {"MyArchive/2.0 (+mailto:me@example.org)"}  # one set by hand is kept


def test_a_real_portal_without_a_contact_is_refused_before_anything_starts(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PORTAL_ARCHIVE_CONTACT"}
    data = tmp_path / "data"
    for extra in ((), ("-s", f"ARCHIVE_CONTACT={PLACEHOLDER_CONTACT}")):
        result = portal_archive("crawl", "--data", str(data), "--quiet", *extra, check=False, env=env)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "PORTAL_ARCHIVE_CONTACT" in result.stderr and "ARCHIVE_CONTACT" in result.stderr
        assert "www.tengzhou.gov.cn" in result.stderr
    assert not data.exists()  # nothing fetched, nothing written


def test_the_spider_refuses_too_under_scrapy_crawl_or_scrapyd(monkeypatch):
    monkeypatch.delenv("PORTAL_ARCHIVE_CONTACT", raising=False)
    crawler = get_crawler(GongyeSpider, {"ARCHIVE_DATA_DIR": "unused"})
    with pytest.raises(ContactMissing):
        GongyeSpider.from_crawler(crawler)


def test_a_replica_needs_no_contact_and_the_setting_wins_over_the_environment(monkeypatch):
    from scrapy.settings import Settings

    monkeypatch.setenv("PORTAL_ARCHIVE_CONTACT", "mailto:env@example.org")
    settings = Settings({"ARCHIVE_CONTACT": "mailto:set@example.org"})
    apply_user_agent(settings, REAL)
    assert settings["USER_AGENT"].endswith("+mailto:set@example.org)")
    monkeypatch.delenv("PORTAL_ARCHIVE_CONTACT")
    local = Settings()
    apply_user_agent(local, "http://127.0.0.1:8000/xwzx/gyjj/index.html")
    assert PLACEHOLDER_CONTACT in local["USER_AGENT"] and local["ARCHIVE_OPERATOR"] == "unnamed operator"


def test_a_crawl_delay_in_robots_txt_spaces_the_sites_requests(tmp_path):
    """Scrapy reads Crawl-delay but never applies it: a portal asking for 0.5 s between requests got them as
    fast as DOWNLOAD_DELAY and AutoThrottle allowed (here, at once)."""
    from tests.inprocess import ScriptedServer, reply
    from tests.test_list_walks import PROFILE, three_pages

    routes = three_pages()
    routes["/robots.txt"] = lambda hit: reply(200, b"User-agent: *\nCrawl-delay: 0.5\n")
    with ScriptedServer(routes) as server:
        profile = tmp_path / "links.toml"
        profile.write_text(PROFILE.format(start=server.url("/news/index.html"), pagination="trs"), encoding="utf-8")
        result = portal_archive("crawl", "--profile", str(profile), "--data", str(tmp_path / "data"), "--quiet",
                                "--no-media", "-s", "ARCHIVE_LOOPBACK_UNTHROTTLED=0", "-s", "DOWNLOAD_DELAY=0",
                                "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "ARCHIVE_CONTACT=test@example.org", check=False)
        starts = [hit.at for hit in server.hits if hit.path != "/robots.txt"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(starts) == 9  # three list pages, six articles
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:])]
    assert min(gaps) >= 0.45, [round(gap, 2) for gap in gaps]


@pytest.mark.parametrize("answer", ["500", "no answer", "404"])
def test_a_robots_txt_the_site_cannot_serve_disallows_the_site(tmp_path, answer):
    """RFC 9309 (2.3.1.4): an unreachable robots.txt (5xx, no answer) means complete disallow.  Scrapy read the
    error page as robots.txt, or none at all, and crawled everything, a section the site disallows included,
    whenever its server was failing.  A 404 is no robots.txt: everything is allowed."""
    from tests.inprocess import Answer, ScriptedServer, reply
    from tests.test_list_walks import PROFILE, three_pages

    routes = three_pages()
    if answer == "500":
        routes["/robots.txt"] = lambda hit: reply(500, b"<html>Internal Server Error</html>")
    elif answer == "no answer":
        routes["/robots.txt"] = lambda hit: Answer(b"", close=True)
    with ScriptedServer(routes) as server:
        profile = tmp_path / "links.toml"
        profile.write_text(PROFILE.format(start=server.url("/news/index.html"), pagination="trs"), encoding="utf-8")
        result = portal_archive("crawl", "--profile", str(profile), "--data", str(tmp_path / "data"), "--quiet",
                                "--no-media", "-s", "ARCHIVE_CONTACT=test@example.org", check=False)
        fetched = {hit.path for hit in server.hits}
    if answer == "404":
        assert result.returncode == 0, result.stdout + result.stderr
        return
    assert result.returncode == 3, result.stdout + result.stderr
    assert fetched == {"/robots.txt"}
    assert "no list page could be read" in result.stdout and "robots txt unreachable" in result.stdout
