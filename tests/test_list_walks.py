"""List pages as real portals write and misserve them, crawled end to end against a scripted server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3

import pytest

from tests.conftest import portal_archive, read_jsonl
from tests.inprocess import ScriptedServer, reply

PROFILE = """name = "links"
site_name = "滕州市人民政府"
city = "滕州市"
host = "127.0.0.1"
hosts = ["127.0.0.1", "localhost"]

[[sections]]
name = "工业经济"
start_url = "{start}"
section_path = "/news/"
article_url_pattern = '/\\d{{6}}/t\\d{{8}}_\\d+.*\\.s?html?$'
list_page_pattern = '/index(?:_\\d+)?\\.s?html?$'

[sections.pagination]
kind = "{pagination}"

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
            f'<h1>文章{n}</h1><div class="TRS_Editor"><p>正文{n}，工业经济运行平稳。</p>'
            '<p><img src="/images/logo.png" alt="会议现场"></p></div></body></html>').encode()  # one image in every article

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\0" * 64


def html(body: bytes):
    return lambda hit: reply(200, body, headers=[("Content-Type", "text/html; charset=utf-8")])


def test_a_link_with_a_space_and_chinese_characters_is_archived_and_the_crawl_is_ok(tmp_path):
    """The spider counted the link as asked in its raw form and as answered in Scrapy's escaped one: an
    archived article was reported 'dropped unanswered', and every crawl of such a list was partial."""
    routes = {"/news/index.html": html(LIST.encode()),
              "/news/202401/t20240101_1%20%E4%B8%AD%E6%96%87.html": html(article(1)),
              "/news/202401/t20240102_2.html": html(article(2)), "/images/logo.png": logo}
    with ScriptedServer(routes) as server:
        profile = tmp_path / "links.toml"
        result = crawl(server, tmp_path, tmp_path / "data", "none")
        heads = [hit.head for hit in server.hits]
    assert result.returncode == 0, result.stdout + result.stderr
    # Only the codings every WARC tool reads are asked for (warcio cannot read br with brotli 1.2, nor zstd).
    assert all(b"\r\nAccept-Encoding: gzip, deflate\r\n" in head + b"\r\n" for head in heads), heads
    items = [item for path in (tmp_path / "data" / "items").glob("*.jsonl") for item in read_jsonl(path)]
    assert sorted(item["title"] for item in items) == ["文章1", "文章2"]


def crawl(server: ScriptedServer, tmp_path, data, pagination: str, *extra: str, env=None):
    profile = tmp_path / "links.toml"
    profile.write_text(PROFILE.format(start=server.url("/news/index.html"), pagination=pagination), encoding="utf-8")
    return portal_archive("crawl", "--profile", str(profile), "--data", str(data), "--quiet",
                          "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "ROBOTSTXT_OBEY=False",
                          "-s", "ARCHIVE_CONTACT=test@example.org", *extra, check=False, env=env)


def trs_page(index: int, count: int, numbers: list[int]) -> bytes:
    rows = "".join(f'<li><a href="/news/202401/t202401{n:02d}_{n}.html">文章{n}</a><span>2024-01-{n:02d}</span></li>'
                   for n in numbers)
    return (f'<html><head><meta charset="utf-8"><title>工业经济</title></head><body><ul class="list">{rows}</ul>'
            f'<script>createPageHTML({count}, {index}, "index", "html");</script></body></html>').encode()


SOFT_404 = '<html><head><meta charset="utf-8"><title>页面不存在</title></head><body>您访问的页面不存在</body></html>'


def three_pages(broken: dict[str, bytes] | None = None) -> dict:
    """A TRS column of 6 articles on 3 pages; `broken`: paths answered otherwise."""
    pages = {"/news/index.html": trs_page(0, 3, [1, 2]), "/news/index_1.html": trs_page(1, 3, [3, 4]),
             "/news/index_2.html": trs_page(2, 3, [5, 6])}
    pages.update({f"/news/202401/t202401{n:02d}_{n}.html": article(n) for n in range(1, 7)})
    pages.update(broken or {})
    routes = {path: html(body) for path, body in pages.items()}
    routes["/images/logo.png"] = logo
    return routes


def logo(hit: int) -> bytes:
    return reply(200, PNG, headers=[("Content-Type", "image/png")])


def withdrawals(data) -> list[str]:
    conn = sqlite3.connect(data / "catalog.sqlite")
    try:
        return [row[0] for row in conn.execute("SELECT how FROM withdrawals")]
    finally:
        conn.close()


def test_an_empty_list_page_mid_listing_withdraws_nothing_and_says_so(tmp_path):
    """A list page answering 200 without rows (a soft 404, a firewall or maintenance page) was taken for the
    end of the listing: every article on the pages after it was withdrawn (gone_from_listing), exit 0."""
    data = tmp_path / "data"
    with ScriptedServer(three_pages()) as server:
        assert crawl(server, tmp_path, data, "trs").returncode == 0
    with ScriptedServer(three_pages({"/news/index_1.html": SOFT_404.encode()})) as server:
        result = crawl(server, tmp_path, data, "trs", "--full")
    assert withdrawals(data) == []
    assert result.returncode == 1 and "empty list page" in result.stdout, result.stdout


def test_a_walk_stopped_by_the_list_page_cap_withdraws_nothing(tmp_path):
    """ARCHIVE_MAX_LIST_PAGES (and the pagination-trap guard) ended the walk as if the listing ended there."""
    data = tmp_path / "data"
    with ScriptedServer(three_pages()) as server:
        assert crawl(server, tmp_path, data, "trs").returncode == 0
        result = crawl(server, tmp_path, data, "trs", "--full", "-s", "ARCHIVE_MAX_LIST_PAGES=2")
    assert withdrawals(data) == [], result.stdout


def test_a_listing_walked_to_its_end_still_withdraws_what_it_no_longer_shows(tmp_path):
    data = tmp_path / "data"
    with ScriptedServer(three_pages()) as server:
        assert crawl(server, tmp_path, data, "trs").returncode == 0
    with ScriptedServer(three_pages({"/news/index_2.html": trs_page(2, 3, [5])})) as server:
        result = crawl(server, tmp_path, data, "trs", "--full")
    assert result.returncode == 0, result.stdout
    assert withdrawals(data) == ["gone_from_listing"]
    # The crawl's summary and `runs` say what it found, withdrawals included (they said nothing of them).
    assert "changes: 0 new, 0 edited, 1 withdrawn" in result.stdout
    assert portal_archive("runs", "--data", str(data)).stdout.splitlines()[1].endswith(" 0/0/1/0")


def test_an_edit_whose_crawl_was_killed_before_it_was_parsed_is_found_by_the_next_crawl(tmp_path):
    """The response of an edited article was in the WARC, its parsed item not (kill -9 in between): every later
    crawl fetched the same bytes, archived them as a revisit of that unparsed capture and skipped them as
    'unchanged', so the edit never became a version."""
    from crawler.settings import ITEM_PIPELINES

    data = tmp_path / "data"
    with ScriptedServer(three_pages()) as server:
        assert crawl(server, tmp_path, data, "trs").returncode == 0
    edited = {"/news/202401/t20240101_1.html": article(1).replace("正文1".encode(), "正文1，已更正".encode())}
    pipelines = json.dumps({**ITEM_PIPELINES, "tests.kill_pipeline.KillAt": 150})
    with ScriptedServer(three_pages(edited)) as server:
        killed = crawl(server, tmp_path, data, "trs", "--recheck", "all", "-s", f"ITEM_PIPELINES={pipelines}",
                       env={**os.environ, "PORTAL_ARCHIVE_TEST_KILL_AT": "t20240101_1.html"})
        assert killed.returncode == -signal.SIGKILL
        result = crawl(server, tmp_path, data, "trs", "--recheck", "all")
    assert result.returncode == 0, result.stdout + result.stderr
    changes = [json.loads(line) for line in portal_archive("changes", "--data", str(data), "--json").stdout.splitlines()]
    assert [(c["change"], c["url"].rsplit("/", 1)[1]) for c in changes if c["change"] == "edited"] == [
        ("edited", "t20240101_1.html")]


def versions_of(data, name: str) -> list[str]:
    conn = sqlite3.connect(data / "catalog.sqlite")
    try:
        return [row[0] for row in conn.execute(
            "SELECT v.title FROM versions v JOIN articles a ON a.id = v.article_id WHERE a.url LIKE ? ORDER BY v.id",
            (f"%/{name}",))]
    finally:
        conn.close()


def test_a_known_article_answering_a_soft_404_is_withdrawn_not_edited(tmp_path):
    """A 200 whose page says 页面不存在 became the article's version 2 ('EDITED'), and its real text dropped out
    of search; an empty 200 did the same."""
    data = tmp_path / "data"
    with ScriptedServer(three_pages()) as server:
        assert crawl(server, tmp_path, data, "trs").returncode == 0
    broken = {"/news/202401/t20240102_2.html": SOFT_404.encode(), "/news/202401/t20240103_3.html": b""}
    with ScriptedServer(three_pages(broken)) as server:
        crawl(server, tmp_path, data, "trs", "--recheck", "all")
    assert withdrawals(data) == ["error_page"]
    assert versions_of(data, "t20240102_2.html") == ["文章2"] and versions_of(data, "t20240103_3.html") == ["文章3"]
    with ScriptedServer(three_pages()) as server:  # back again: live, and still the one version
        crawl(server, tmp_path, data, "trs", "--recheck", "all")
    conn = sqlite3.connect(data / "catalog.sqlite")
    assert conn.execute("SELECT count(*) FROM articles WHERE status != 'live'").fetchone()[0] == 0
    assert versions_of(data, "t20240102_2.html") == ["文章2"]


def test_a_redirect_to_the_home_page_on_another_host_of_the_site_or_with_a_query_is_a_withdrawal(tmp_path):
    """Only a Location on the article's own host, without a query, was taken for the home page: `localhost`
    for `127.0.0.1` (as `www.` for a bare host) or `/index.html?from=old` left the article live, exit 0."""
    data = tmp_path / "data"
    routes = three_pages()
    with ScriptedServer(routes) as server:
        assert crawl(server, tmp_path, data, "trs").returncode == 0

        def moved(location: str):
            return lambda hit: reply(301, headers=[("Location", location)])

        routes["/news/202401/t20240102_2.html"] = moved(f"http://localhost:{server.port}/")
        routes["/news/202401/t20240103_3.html"] = moved("/index.html?from=old")
        crawl(server, tmp_path, data, "trs", "--recheck", "all")
    assert withdrawals(data) == ["redirect_home", "redirect_home"]


def test_a_listed_article_redirecting_to_the_home_page_is_not_catalogued_as_an_article(tmp_path):
    """The redirect was followed and the home page parsed as the article (NEW 滕州市人民政府 at `/`), then
    withdrawn as gone from the listing; the lost article itself was not reported."""
    routes = three_pages({"/": b"<html><head><title>\xe6\xbb\x95\xe5\xb7\x9e</title></head><body>home</body></html>"})
    routes["/news/202401/t20240102_2.html"] = lambda hit: reply(302, headers=[("Location", "/")])
    with ScriptedServer(routes) as server:
        result = crawl(server, tmp_path, tmp_path / "data", "trs")
    assert result.returncode == 1 and "article redirected away" in result.stdout, result.stdout
    conn = sqlite3.connect(tmp_path / "data" / "catalog.sqlite")
    assert [row[0].rsplit("/", 1)[1] for row in conn.execute("SELECT url FROM articles ORDER BY url")] == [
        f"t202401{n:02d}_{n}.html" for n in (1, 3, 4, 5, 6)]


def test_an_article_listed_on_two_pages_is_requested_once_and_the_crawl_is_ok(tmp_path):
    """A pinned (置顶) row on every page was asked again after its answer; the dupefilter dropped the second
    request and the crawl reported it 'dropped unanswered' (partial, exit 1) although it was archived."""
    routes = three_pages({"/news/index_1.html": trs_page(1, 3, [1, 3, 4]), "/news/index_2.html": trs_page(2, 3, [1, 5, 6])})
    with ScriptedServer(routes) as server:
        result = crawl(server, tmp_path, tmp_path / "data", "trs")
    assert result.returncode == 0, result.stdout
    items = [item for path in (tmp_path / "data" / "items").glob("*.jsonl") for item in read_jsonl(path)]
    assert sorted(item["title"] for item in items) == [f"文章{n}" for n in range(1, 7)]
    # The image every article embeds is archived for each of them (a shared file failed for some: KeyError).
    assert all(item["images"][0].get("warc") and not item["images"][0].get("error") for item in items), items
    assert "0 media" in result.stdout


def links_page(numbers: list[int], following: str) -> bytes:
    rows = "".join(f'<li><a href="/news/202401/t202401{n:02d}_{n}.html">文章{n}</a><span>2024-01-{n:02d}</span></li>'
                   for n in numbers)
    return (f'<html><head><meta charset="utf-8"><title>工业经济</title></head><body><ul class="list">{rows}</ul>'
            f'<div class="page"><a href="{following}">下一页</a></div></body></html>').encode()


def test_a_last_page_whose_next_link_goes_back_to_the_first_ends_the_listing(tmp_path):
    """The link back was dropped by the dupefilter: the walk never ended, so the listing was never complete
    (nothing removed was ever withdrawn) and the section's remaining rechecks never ran."""
    data = tmp_path / "data"

    def site(last: list[int]) -> dict:
        return three_pages({"/news/index.html": links_page([1, 2], "index_1.html"),
                            "/news/index_1.html": links_page([3, 4], "index_2.html"),
                            "/news/index_2.html": links_page(last, "index.html")})

    with ScriptedServer(site([5, 6])) as server:
        assert crawl(server, tmp_path, data, "links").returncode == 0
    with ScriptedServer(site([5])) as server:
        result = crawl(server, tmp_path, data, "links", "--full")
    assert result.returncode == 0, result.stdout
    assert withdrawals(data) == ["gone_from_listing"]


def status_of(data, name: str) -> str:
    conn = sqlite3.connect(data / "catalog.sqlite")
    try:
        return conn.execute("SELECT status FROM articles WHERE url LIKE ?", (f"%/{name}",)).fetchone()[0]
    finally:
        conn.close()


def test_an_unlisted_page_still_online_is_withdrawn_once_and_comes_back_when_listed_again(tmp_path):
    """Each recheck (a 304 or the same bytes) revived the unlisted article and each crawl's end withdrew it
    again: one more withdrawal, and one more alert, every crawl.  Listed again, it stayed withdrawn under the
    default policy, which never looked at a withdrawn article."""
    data = tmp_path / "data"
    with ScriptedServer(three_pages()) as server:
        assert crawl(server, tmp_path, data, "trs").returncode == 0
    with ScriptedServer(three_pages({"/news/index_2.html": trs_page(2, 3, [5])})) as server:
        for _ in range(3):
            crawl(server, tmp_path, data, "trs", "--full", "--recheck", "all")
    assert withdrawals(data) == ["gone_from_listing"] and status_of(data, "t20240106_6.html") == "withdrawn"
    with ScriptedServer(three_pages()) as server:
        assert crawl(server, tmp_path, data, "trs", "--full").returncode == 0
    assert status_of(data, "t20240106_6.html") == "live" and withdrawals(data) == ["gone_from_listing"]


TWO_SECTIONS = """name = "links"
site_name = "滕州市人民政府"
city = "滕州市"
host = "127.0.0.1"
hosts = ["127.0.0.1"]
{sections}
"""
SECTION = """
[[sections]]
name = "{name}"
start_url = "{start}"
section_path = "/"
article_url_pattern = '/art/\\d{{6}}/t\\d{{8}}_\\d+\\.html$'
list_page_pattern = '/index(?:_\\d+)?\\.html$'
[sections.pagination]
kind = "none"
[sections.selectors]
title = "h1"
body = "div.TRS_Editor"
list_rows = "ul.list > li"
"""


def test_an_article_moved_to_another_section_is_not_withdrawn_by_a_crawl_of_its_old_one(tmp_path):
    """The catalogue kept an article's first section for good: once another column listed it, every crawl of
    its old column withdrew it (gone_from_listing), and `enqueue` crawls one section at a time."""
    def column(numbers: list[int]) -> bytes:
        rows = "".join(f'<li><a href="/art/202401/t202401{n:02d}_{n}.html">文章{n}</a><span>2024-01-{n:02d}</span>'
                       "</li>" for n in numbers)
        return f'<html><head><meta charset="utf-8"></head><body><ul class="list">{rows}</ul></body></html>'.encode()

    def site(news: list[int], dept: list[int]) -> dict:
        pages = {"/news/index.html": column(news), "/dept/index.html": column(dept)}
        pages.update({f"/art/202401/t202401{n:02d}_{n}.html": article(n) for n in range(1, 5)})
        return {**{path: html(body) for path, body in pages.items()}, "/images/logo.png": logo}

    data, profile = tmp_path / "data", tmp_path / "two.toml"

    def crawl_of(server: ScriptedServer, *extra: str):
        sections = "".join(SECTION.format(name=name, start=server.url(path))
                           for name, path in (("政务要闻", "/news/index.html"), ("部门动态", "/dept/index.html")))
        profile.write_text(TWO_SECTIONS.format(sections=sections), encoding="utf-8")
        return portal_archive("crawl", "--profile", str(profile), "--data", str(data), "--quiet", "--full",
                              "-s", "DOWNLOAD_DELAY=0", "-s", "ROBOTSTXT_OBEY=False",
                              "-s", "ARCHIVE_CONTACT=test@example.org", *extra, check=False)

    with ScriptedServer(site([1, 2], [3, 4])) as server:
        assert crawl_of(server).returncode == 0
    with ScriptedServer(site([1], [2, 3, 4])) as server:  # article 2 moved from 政务要闻 to 部门动态
        assert crawl_of(server, "--section", "部门动态").returncode == 0
        assert crawl_of(server, "--section", "政务要闻").returncode == 0
    assert withdrawals(data) == []
    conn = sqlite3.connect(data / "catalog.sqlite")
    assert conn.execute("SELECT section FROM articles WHERE url LIKE '%_2.html'").fetchone()[0] == "部门动态"


def test_a_stale_page_announcing_fewer_pages_than_the_first_is_not_the_listing_end(tmp_path):
    """Completeness was judged by the last page's own pager: a CDN's old index_1.html saying 2 pages (page 1
    says 3, page 3 is online) ended the walk as complete, and page 3's articles were withdrawn, exit 0."""
    data = tmp_path / "data"
    with ScriptedServer(three_pages()) as server:
        assert crawl(server, tmp_path, data, "trs").returncode == 0
    with ScriptedServer(three_pages({"/news/index_1.html": trs_page(1, 2, [3, 4])})) as server:
        result = crawl(server, tmp_path, data, "trs", "--full")
    assert withdrawals(data) == []
    assert result.returncode == 1 and "list page without next" in result.stdout, result.stdout


def test_an_article_about_a_takedown_is_an_edit_not_a_soft_404(tmp_path):
    """A title like 关于网络不实信息已被删除的情况通报 (with its date and text) was taken for an error page: the
    article was withdrawn and its edit never versioned."""
    data = tmp_path / "data"
    with ScriptedServer(three_pages()) as server:
        assert crawl(server, tmp_path, data, "trs").returncode == 0
    notice = article(2).replace("<h1>文章2</h1>".encode(), "<h1>关于网络不实信息已被删除的情况通报</h1>".encode())
    with ScriptedServer(three_pages({"/news/202401/t20240102_2.html": notice})) as server:
        crawl(server, tmp_path, data, "trs", "--recheck", "all")
    assert withdrawals(data) == []
    assert versions_of(data, "t20240102_2.html") == ["文章2", "关于网络不实信息已被删除的情况通报"]


def test_a_soft_404_that_stays_is_one_withdrawal_and_no_problem(tmp_path):
    """Each recheck revived the article (the same error page, archived as a revisit) and its parse withdrew it
    again: one withdrawal and alert a crawl, and every crawl exit 1 for the error page's missing date."""
    data = tmp_path / "data"
    with ScriptedServer(three_pages()) as server:
        assert crawl(server, tmp_path, data, "trs").returncode == 0
    with ScriptedServer(three_pages({"/news/202401/t20240102_2.html": SOFT_404.encode()})) as server:
        results = [crawl(server, tmp_path, data, "trs", "--recheck", "all") for _ in range(3)]
    assert withdrawals(data) == ["error_page"] and status_of(data, "t20240102_2.html") == "withdrawn"
    assert [result.returncode for result in results] == [0, 0, 0], results[-1].stdout


def test_a_listed_article_answering_a_soft_404_at_first_is_not_archived_as_one(tmp_path):
    """It was catalogued as version 1 页面不存在 with no date, and its real text arrived as an 'edit' later."""
    with ScriptedServer(three_pages({"/news/202401/t20240102_2.html": SOFT_404.encode()})) as server:
        result = crawl(server, tmp_path, tmp_path / "data", "trs")
    assert result.returncode == 1 and "article error page" in result.stdout, result.stdout
    conn = sqlite3.connect(tmp_path / "data" / "catalog.sqlite")
    assert conn.execute("SELECT count(*) FROM articles WHERE url LIKE '%_2.html'").fetchone()[0] == 0


def test_a_walk_cut_short_by_the_cap_leaves_the_deeper_pages_to_the_next_crawl(tmp_path):
    """A first crawl stopped by ARCHIVE_MAX_LIST_PAGES was taken as having seen the listing: later crawls
    stopped early at its known pages and never archived the deeper ones, every crawl 'ok'."""
    data = tmp_path / "data"
    with ScriptedServer(three_pages()) as server:
        crawl(server, tmp_path, data, "trs", "-s", "ARCHIVE_MAX_LIST_PAGES=2")
        crawl(server, tmp_path, data, "trs")
    conn = sqlite3.connect(data / "catalog.sqlite")
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 6


def test_a_recheck_redirected_to_an_error_page_is_a_problem(tmp_path):
    """A recheck answered by a redirect to /404.html (or another site) was neither a withdrawal nor a problem:
    the article stayed live, freshly checked, exit 0."""
    data = tmp_path / "data"
    routes = three_pages()
    with ScriptedServer(routes) as server:
        assert crawl(server, tmp_path, data, "trs").returncode == 0
        routes["/news/202401/t20240102_2.html"] = lambda hit: reply(302, headers=[("Location", "/404.html")])
        result = crawl(server, tmp_path, data, "trs", "--recheck", "all")
    assert result.returncode == 1 and "article redirected away" in result.stdout, result.stdout



def test_a_proof_whose_article_does_not_read_back_is_not_sealed(tmp_path):
    """An image sent with a coding the archive's readers cannot undo: `show --proof` signed the package (exit 0)
    and the check it then printed, `verify --package … --article N`, rejected it (exit 7)."""
    data = tmp_path / "data"
    routes = three_pages()
    routes["/images/logo.png"] = lambda hit: reply(200, PNG, headers=[("Content-Type", "image/png"),
                                                                      ("Content-Encoding", "compress")])
    with ScriptedServer(routes) as server:
        crawl(server, tmp_path, data, "trs")
        url = server.url("/news/202401/t20240101_1.html")
    out = tmp_path / "proof.wacz"
    result = portal_archive("show", url, "--data", str(data), "--proof", str(out), check=False)
    assert result.returncode == 7, result.stdout + result.stderr
    assert "does not verify" in result.stdout + result.stderr and not out.exists()


def rebuilt_alike(data, tmp_path) -> None:
    """`reindex` of DATA's WARC files gives the catalogue the crawls folded live, table by table: the WARC
    files hold everything the withdrawals, revivals and section moves were decided from."""
    from archive.catalogue.sqlite import SqliteCatalogue, catalogue_path

    copy = tmp_path / "rebuilt"
    shutil.copytree(data, copy, ignore=shutil.ignore_patterns("catalog.sqlite*", "media"))
    portal_archive("reindex", "--data", str(copy))
    with SqliteCatalogue.open(catalogue_path(data), readonly=True) as live, \
            SqliteCatalogue.open(catalogue_path(copy), readonly=True) as rebuilt:
        for table in SqliteCatalogue.TABLES:
            assert rebuilt.dump_table(table) == live.dump_table(table), table


@pytest.mark.parametrize("scenario", ["soft_404", "unlisted", "moved"])
def test_a_reindex_decides_withdrawals_as_the_live_fold_did(scenario, tmp_path):
    """The fold's new decisions (a soft 404 that stays, an unlisted page revived by a recheck, a listed
    article's section) read only what the WARC files hold, so a rebuilt catalogue is the live one."""
    if scenario == "moved":
        test_an_article_moved_to_another_section_is_not_withdrawn_by_a_crawl_of_its_old_one(tmp_path)
    elif scenario == "unlisted":
        test_an_unlisted_page_still_online_is_withdrawn_once_and_comes_back_when_listed_again(tmp_path)
    else:
        test_a_soft_404_that_stays_is_one_withdrawal_and_no_problem(tmp_path)
    rebuilt_alike(tmp_path / "data", tmp_path)


def test_withdrawals_are_decided_alike_on_both_backends(catalogue_url, tmp_path):
    """A soft 404 that stays and an unlisted page still online, crawled twice, then both back: one withdrawal
    each, and both live again, in a SQLite and in a PostgreSQL catalogue."""
    from archive.catalogue import open_catalogue

    data = tmp_path / "data"
    env = {**os.environ, "PORTAL_ARCHIVE_CATALOGUE": catalogue_url}
    broken = {"/news/202401/t20240102_2.html": SOFT_404.encode(), "/news/index_2.html": trs_page(2, 3, [5])}
    with ScriptedServer(three_pages()) as server:
        assert crawl(server, tmp_path, data, "trs", env=env).returncode == 0
    with ScriptedServer(three_pages(broken)) as server:
        for _ in range(2):
            crawl(server, tmp_path, data, "trs", "--full", "--recheck", "all", env=env)
    with open_catalogue(data, catalogue_url, readonly=True) as catalogue:
        assert sorted(row["how"] for row in catalogue.all("SELECT how FROM withdrawals")) == [
            "error_page", "gone_from_listing"]
    with ScriptedServer(three_pages()) as server:
        assert crawl(server, tmp_path, data, "trs", "--full", env=env).returncode == 0
    with open_catalogue(data, catalogue_url, readonly=True) as catalogue:
        assert catalogue.scalar("SELECT count(*) AS n FROM articles WHERE status <> 'live'") == 0
        assert catalogue.scalar("SELECT count(*) AS n FROM withdrawals") == 2
