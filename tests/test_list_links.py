"""Links of a list page as real portals write them, crawled end to end against a scripted server."""

from __future__ import annotations

from tests.conftest import portal_archive, read_jsonl
from tests.inprocess import ScriptedServer, reply

PROFILE = """name = "links"
site_name = "滕州市人民政府"
city = "滕州市"
host = "127.0.0.1"
hosts = ["127.0.0.1"]

[[sections]]
name = "工业经济"
start_url = "{start}"
section_path = "/news/"
article_url_pattern = '/\\d{{6}}/t\\d{{8}}_\\d+.*\\.s?html?$'
list_page_pattern = '/index(?:_\\d+)?\\.s?html?$'

[sections.pagination]
kind = "none"

[sections.selectors]
title = "h1"
body = "div.TRS_Editor"
list_rows = "ul.list > li"
"""

LIST = """<html><head><meta charset="utf-8"><title>工业经济</title></head><body><ul class="list">
<li><a href="/news/202401/t20240101_1 中文.html">第一篇 空格与中文</a><span>2024-01-01</span></li>
<li><a href="/news/202401/t20240102_2.html">第二篇</a><span>2024-01-02</span></li>
</ul></body></html>"""


def article(n: int) -> bytes:
    return (f'<html><head><meta charset="utf-8"><meta name="PubDate" content="2024-01-0{n} 10:00"></head><body>'
            f'<h1>文章{n}</h1><div class="TRS_Editor"><p>正文{n}，工业经济运行平稳。</p></div></body></html>').encode()


def html(body: bytes):
    return lambda hit: reply(200, body, headers=[("Content-Type", "text/html; charset=utf-8")])


def test_a_link_with_a_space_and_chinese_characters_is_archived_and_the_crawl_is_ok(tmp_path):
    """The spider counted the link as asked in its raw form and as answered in Scrapy's escaped one: an
    archived article was reported 'dropped unanswered', and every crawl of such a list was partial."""
    routes = {"/news/index.html": html(LIST.encode()),
              "/news/202401/t20240101_1%20%E4%B8%AD%E6%96%87.html": html(article(1)),
              "/news/202401/t20240102_2.html": html(article(2))}
    with ScriptedServer(routes) as server:
        profile = tmp_path / "links.toml"
        profile.write_text(PROFILE.format(start=server.url("/news/index.html")), encoding="utf-8")
        result = portal_archive("crawl", "--profile", str(profile), "--data", str(tmp_path / "data"), "--quiet",
                                "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
                                "-s", "ROBOTSTXT_OBEY=False", "-s", "ARCHIVE_CONTACT=test@example.org", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    items = [item for path in (tmp_path / "data" / "items").glob("*.jsonl") for item in read_jsonl(path)]
    assert sorted(item["title"] for item in items) == ["文章1", "文章2"]
