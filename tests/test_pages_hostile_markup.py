"""Pages that broke the page objects: deep nesting from pasted bodies, "digits" int() refuses, links and
<base href> that are no URL, JSON nested past the parser's stack.  Each was an article (or a list page)
lost from a crawl and a traceback from `portal-archive parse`; each now parses."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from archive.cli import main

ARTICLE = "http://www.tengzhou.gov.cn/xwzx/gyjj/202103/t20210315_1.html"
LIST = "http://www.tengzhou.gov.cn/xwzx/gyjj/index.html"


def parse(tmp_path, html: str, url: str = ARTICLE, *args: str) -> dict:
    page = tmp_path / "page.html"
    page.write_text(html, encoding="utf-8")
    result = CliRunner().invoke(main, ["parse", str(page), "--url", url, *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout_bytes)


def article(body: str, head: str = "") -> str:
    return (f"<html><head>{head}<title>标题</title></head><body><h1 class='detail-title'>标题</h1>"
            f"<div class='TRS_Editor'>{body}</div></body></html>")


def test_unclosed_inline_tags_a_thousand_deep_keep_every_paragraph(tmp_path):
    """Word-pasted bodies leave <font> and <span> unclosed: libxml2 nests them, one inside the other (2,000
    elements deep here; past its own limit of about 2,048, libxml2 keeps no more, and nothing fails)."""
    fields = parse(tmp_path, article("<p><font>段落文字" * 1000))
    assert fields["body_text"].count("段落文字") == 1000
    assert parse(tmp_path, article("<p><font>段落文字" * 5000))["body_text"].count("段落文字") >= 1000


def test_text_and_tails_around_nested_blocks_are_kept_in_order(tmp_path):
    fields = parse(tmp_path, article("<p>一<b>二<i>三</i>四</b>五</p><div>六<p>七</p>八</div>九"))
    assert fields["body_text"].split("\n\n") == ["一二三四五", "六", "七", "八", "九"]


def test_a_size_that_is_a_superscript_digit_is_no_size(tmp_path):
    fields = parse(tmp_path, article("<p>正文<img src='a.jpg' width='²' height='²'></p>"))
    assert [image["url"] for image in fields["images"]] == ["http://www.tengzhou.gov.cn/xwzx/gyjj/202103/a.jpg"]


def test_links_that_are_no_url_are_skipped(tmp_path):
    fields = parse(tmp_path, article("<p>正文<a href='http://[::1/x.pdf'>附件</a><a href='http://h:99999/y.pdf'>"
                                     "二</a><a href='b.pdf'>附件二</a><img src='http://[::1/i.jpg'></p>"))
    assert [a["url"] for a in fields["attachments"]] == ["http://www.tengzhou.gov.cn/xwzx/gyjj/202103/b.pdf"]
    assert fields["images"][0]["url"] is None


def test_a_base_href_that_is_no_url_falls_back_to_the_page(tmp_path):
    fields = parse(tmp_path, article("<p>正文<a href='b.pdf'>附件</a></p>", head="<base href='http://[::1'>"))
    assert fields["body_text"] == "正文附件"
    assert [a["url"] for a in fields["attachments"]] == ["http://www.tengzhou.gov.cn/xwzx/gyjj/202103/b.pdf"]


def test_a_list_page_with_a_next_link_that_is_no_url(tmp_path):
    rows = "".join(f"<li><a href='./202103/t20210315_{n}.html'>标题{n}</a><span>2021-03-15</span></li>"
                   for n in range(1, 6))
    fields = parse(tmp_path, f"<html><body><ul>{rows}</ul><a href='http://[::1/next'>下一页</a></body></html>",
                   LIST)
    assert len(fields["rows"]) == 5 and fields["next"] is None


def test_a_hanweb_pager_with_superscript_numbers(tmp_path):
    script = ("<script>var jpage = new JPage({totalRecord:'²',perPage:'²',groupSize:'3',"
              "proxyUrl:'http://[::1/dataproxy.jsp'});</script>")
    parse(tmp_path, f"<html><body><div id='123'>{script}</div></body></html>", LIST)  # no traceback


def test_json_nested_past_the_parsers_stack_is_no_list(tmp_path):
    fields = parse(tmp_path, "[" * 100_000 + "]" * 100_000, "http://www.tengzhou.gov.cn/api/list?page=1")
    assert fields.get("rows") in ([], None)


def test_retry_after_that_is_not_ascii_digits_is_not_waited_for():
    import asyncio

    from scrapy import Request
    from scrapy.http import Response
    from scrapy.utils.test import get_crawler

    from crawler.middlewares import RetryAfterMiddleware

    middleware = RetryAfterMiddleware.from_crawler(get_crawler())
    answer = Response("http://x/", status=503, headers={"Retry-After": b"\xb2"})
    assert asyncio.run(middleware.process_response(Request("http://x/"), answer)) is answer


def test_a_generic_list_of_ten_thousand_rows_is_read_in_one_pass(tmp_path):
    """The generic row finder counted every sibling again for every link: 4,000 rows took 29 s, 10,000 never
    ended (`parse --profile generic`, `profile new`, any section without list_rows).  Timed by its work, not
    the clock: each parent's children are counted once."""
    from crawler.pages import rows as rows_module

    calls = 0
    key = rows_module._key

    def counted(el):
        nonlocal calls
        calls += 1
        return key(el)

    rows = "".join(f"<li><a href='./202103/t20210315_{n}.html'>第{n}篇工业经济新闻</a><span>2021-03-15</span></li>"
                   for n in range(10_000))
    import unittest.mock

    with unittest.mock.patch.object(rows_module, "_key", counted):
        fields = parse(tmp_path, f"<html><body><ul>{rows}</ul></body></html>", LIST, "--profile", "generic")
    assert len(fields["rows"]) == 10_000
    assert calls < 20 * 10_000  # a few per row; counting siblings per link was 10,000 per row


def test_a_base_href_that_is_javascript_is_ignored_as_browsers_do(tmp_path):
    fields = parse(tmp_path, article("<p>正文<img src='a.jpg'><a href='x.pdf'>附件</a></p>",
                                     head="<base href='javascript:void(0)'>"))
    assert fields["images"][0]["url"] == "http://www.tengzhou.gov.cn/xwzx/gyjj/202103/a.jpg"
    assert fields["attachments"][0]["url"] == "http://www.tengzhou.gov.cn/xwzx/gyjj/202103/x.pdf"


def test_an_answer_parsel_reads_as_json_is_still_a_page_tree():
    """An article URL without .html answering JSON: parsel's selector root is a dict, and the article was a
    TypeError in the crawl (lost), `profile new` an AttributeError traceback."""
    from scrapy.http import TextResponse

    from crawler.pages.markup import tree_of

    response = TextResponse(ARTICLE.replace(".html", ".jsp"), body='{"title": "标题"}'.encode(), encoding="utf-8",
                            headers={"Content-Type": "application/json"})
    assert tree_of(response).tag == "html"


@pytest.mark.parametrize("url", ["http://[::1/x", "http://127.0.0.1:99999/a.html", "not a url", "javascript:x"])
def test_a_url_argument_that_is_no_http_url_is_bad_usage(tmp_path, url):
    page = tmp_path / "page.html"
    page.write_text("<html></html>")
    for args in (["parse", str(page), "--url", url], ["profile", "new", url, "--out", str(tmp_path / "p.toml")]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2 and "URL" in result.output and result.exception is None or \
            isinstance(result.exception, SystemExit), (args, result.output)


def test_each_parse_error_is_counted_once():
    from crawler.outcome import crawl_outcome

    stats = {"finish_reason": "finished", "archive/list_pages": 1, "spider_exceptions/count": 3,
             "spider_exceptions/RecursionError": 1, "spider_exceptions/ValueError": 2}
    assert "3 × parse error" in crawl_outcome(stats).reasons


def test_a_hanweb_pager_with_a_negative_page_size_is_no_page_size():
    from crawler.pages.listing import _positive

    assert [_positive(v) for v in (-15, "-15", 0, "0", "15", 15, "²", None)] == [None, None, None, None, 15, 15,
                                                                               None, None]


def test_a_page_mixing_charsets_says_its_text_lost_bytes(tmp_path):
    """meta utf-8, one paragraph UTF-8 and one GBK: the GBK bytes became U+FFFD with no problem code."""
    page = tmp_path / "page.html"
    page.write_bytes(article("<p>第一段UTF8内容。</p><p>{gbk}</p>").encode("utf-8").replace(
        b"{gbk}", "第二段GBK内容。".encode("gbk")).replace(b"<head>", b"<head><meta charset='utf-8'>"))
    result = CliRunner().invoke(main, ["parse", str(page), "--url", ARTICLE])
    fields = json.loads(result.stdout_bytes)
    assert "第一段UTF8内容。" in fields["body_text"] and "undecodable_bytes" in fields["problems"]
    assert "undecodable_bytes" not in parse(tmp_path, article("<p>正文</p>"))["problems"]


def test_a_page_that_says_it_does_not_exist_is_flagged(tmp_path):
    fields = parse(tmp_path, "<html><head><title>页面不存在</title></head><body><h1>页面不存在</h1>"
                             "<p>404 对不起，您访问的页面不存在或已被删除！</p></body></html>")
    assert "error_page" in fields["problems"]
    assert "error_page" not in parse(tmp_path, article("<p>园区404个项目开工，页面设计获奖。</p>"))["problems"]
