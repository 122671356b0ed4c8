"""The page objects on every CMS family, generic rules only, and on the same traps in markup the replica never serves.

The replica's family pages are read through `Site.resolve` (no HTTP); each
article's fields must equal its ground truth, field by field, with no site
profile at all: meta tags, then generic rules.  The hand-written pages below
put the traps (hidden boxes, empty or commented sources, QR codes, content
marks, 信息公开 tables) in other markup, as real portals do.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from crawler.items import TRUTH_FIELDS
from crawler.pages.article import ArticlePage
from crawler.pages.markup import response_from_bytes
from replica import registry

BASE = "http://127.0.0.1:8000"
ARTICLES = 240


def _fields(page: ArticlePage) -> dict:
    fields = page.fields()
    fields["images"] = [{k: i[k] for k in ("url", "alt", "caption")} for i in fields["images"]]
    fields["attachments"] = [{k: a[k] for k in ("url", "name")} for a in fields["attachments"]]
    return fields


@pytest.mark.parametrize("name", registry.site_names())
def test_every_family_page_reads_to_its_truth_with_generic_rules(name):
    spec = registry.site_spec(name)
    corpus = registry.make_corpus(spec, ARTICLES, 1, 1)
    site = registry.make_site(spec, corpus)
    mismatches, compared = [], 0
    for record in registry.truth(spec, corpus, BASE):
        parts = urlsplit(record["url"])
        answer = site.resolve(parts.path, parts.query, "127.0.0.1:8000")
        page = ArticlePage(response_from_bytes(answer.body, record["url"], {"Content-Type": answer.content_type}))
        fields = _fields(page)
        for field in (*TRUTH_FIELDS, *(["xxgk"] if "xxgk" in record else [])):
            if fields[field] != record[field]:
                mismatches.append((record["url"], field, record[field], fields[field]))
        if "xxgk" not in record:
            assert fields["xxgk"] is None
        compared += 1
    assert compared == ARTICLES
    assert mismatches == []


def page(body: str, head: str = "", url: str = "http://www.example.gov.cn/art/2024/3/5/art_1_2.html") -> ArticlePage:
    html = (f"<html><head><meta charset='utf-8'>{head}</head><body>{body}"
            "<div class='footer'>网站标识码：1234567890</div></body></html>")
    return ArticlePage.from_bytes(html.encode("utf-8"), url)


def test_boxes_hidden_inside_the_body_are_not_the_article():
    found = page("<h1>标题文字在这里</h1><div class='info'>发布时间：2024-03-05</div>"
                 "<div id='zoom'><p>第一段。</p><div hidden>编辑：某某</div>"
                 "<p style='visibility: hidden'>上一篇：另一篇文章</p><p>第二段。</p></div>")
    assert found.body_text == "第一段。\n\n第二段。"


def test_a_body_hidden_until_a_script_shows_it_is_the_article():
    found = page("<h1>标题文字在这里</h1><div class='info'>发布时间：2024-03-05</div>"
                 "<div class='article-content' style='display:none'><p>正文第一段。</p><p>正文第二段。</p></div>"
                 "<script>document.querySelector('.article-content').style.display='block'</script>")
    assert found.body_text == "正文第一段。\n\n正文第二段。"


def test_only_what_the_content_marks_enclose_is_the_body():
    found = page("<div id='zoom'><p>模板前言</p><meta name='ContentStart'><p>真正的正文。</p>"
                 "<meta name='ContentEnd'><p>分享到微信</p></div>")
    assert found.body_text == "真正的正文。"


@pytest.mark.parametrize("img", [
    "<img src='/res/erweima.jpg' alt=''>",
    "<img src='/res/qrcode_site.png' alt=''>",
    "<img src='/photo/a.jpg' alt='微信扫一扫关注'>",
    "<img src='/photo/b.gif' alt='' width='16' height='16'>",
    "<span class='bdshare'><img src='/photo/c.jpg' alt='分享'></span>",
])
def test_qr_codes_share_buttons_and_icons_are_not_photos(img):
    found = page(f"<div class='TRS_Editor'><p>正文。</p><p style='text-align:center'>"
                 f"<img src='/photo/real.jpg' alt='现场'></p><p>{img}</p></div>")
    assert [image["url"] for image in found.images] == ["http://www.example.gov.cn/photo/real.jpg"]
    assert found.body_text == "正文。"


META = "<meta name='ContentSource' content='某某县人民政府'><meta name='ArticleTitle' content='标题'>"


@pytest.mark.parametrize("line, source", [
    ("<span>来源：县融媒体中心</span>", "县融媒体中心"),  # the visible source beats the meta's site name
    ("<span>来源：</span><span>浏览次数：3</span>", None),  # shown empty: no source
    ("<span>来源：某某县人民政府</span>", "某某县人民政府"),  # the site itself, shown
    ("<!--<span>来源：旧日报</span>--><span>发布时间：2024-03-05</span>", "某某县人民政府"),  # no label: the meta
])
def test_the_visible_source_wins_and_comments_never_count(line, source):
    found = page(f"<h1>标题</h1><div class='meta'><span>发布时间：2024-03-05</span>{line}</div>"
                 "<div id='zoom'><p>正文。</p></div>", META)
    assert found.source == source


XXGK_DL = """
<dl class='info'><dt>索 引 号：</dt><dd>000014349/2024-00012</dd><dt>发布机构：</dt><dd>县教育局</dd>
<dt>成文日期：</dt><dd>2024年02月20日</dd><dt>发布日期：</dt><dd>2024年03月01日</dd><dt>文号：</dt><dd></dd></dl>
"""
XXGK_WIDE = """
<table><tr><td>索引号:</td><td>11370000/2023-1</td><td>主题分类:</td><td>其他</td><td>公开方式:</td><td>主动公开</td></tr>
<tr><td>发布机构:</td><td>县政府办公室</td><td>生成日期:</td><td>2023-07-09</td><td>成文日期:</td><td>2023-07-01</td></tr></table>
"""


def test_an_xxgk_list_of_dt_and_dd_pairs_is_read_as_printed_and_its_date_wins():
    found = page(XXGK_DL + "<h1>关于某事的通知</h1><div id='zoom'><p>正文。</p><p>2024年2月20日</p></div>",
                 "<meta name='PubDate' content='2024-05-30 10:00:00'>")
    assert found.xxgk == {"索 引 号": "000014349/2024-00012", "发布机构": "县教育局", "成文日期": "2024年02月20日",
                          "发布日期": "2024年03月01日", "文号": ""}
    assert found.published == "2024-03-01"


def test_an_xxgk_table_of_three_pairs_a_row():
    found = page(XXGK_WIDE + "<h1>通知</h1><div id='zoom'><p>正文。</p></div>")
    assert list(found.xxgk) == ["索引号", "主题分类", "公开方式", "发布机构", "生成日期", "成文日期"]
    assert found.published == "2023-07-09"


@pytest.mark.parametrize("body", [
    "<h1>通知</h1><div id='zoom'><p>正文。</p></div>",
    "<h1>通知</h1><div id='zoom'><p>索引号：这是正文里的一句话。</p></div>",  # 索引号 alone is no table
])
def test_pages_without_an_xxgk_table_have_none(body):
    assert page(body).xxgk is None


def test_attachments_after_a_reveal_script_are_found():
    found = page("<div id='zoom' style='display:none'><p>正文。</p></div>"
                 "<script>document.getElementById('zoom').style.display='';</script>"
                 "<div class='fj'><a href='/files/a.pdf'>附件1：名单.pdf</a></div>")
    assert found.attachments == [{"url": "http://www.example.gov.cn/files/a.pdf", "name": "附件1：名单.pdf"}]


def test_the_xxgk_table_wins_over_meta_tags_that_disagree():
    table = ("<table><tr><th>索引号：</th><td>1/2024-1</td><th>发布机构：</th><td>县财政局</td></tr>"
             "<tr><th>名称：</th><td>县财政局关于预算公开的通知</td><th>生成日期：</th><td>2024-03-01</td></tr></table>")
    found = page(table + "<h1>关于预算公开的通知</h1><div id='zoom'><p>正文。</p></div>",
                 "<meta name='ArticleTitle' content='关于预算公开的通知'><meta name='ContentSource' content='某县人民政府'>"
                 "<meta name='PubDate' content='2024-06-30 08:00:00'>")
    assert (found.title, found.source, found.published) == ("县财政局关于预算公开的通知", "县财政局", "2024-03-01")
    # A shown 来源 still wins over the table's 发布机构.
    shown = page(table + "<div class='sub'><span>发布时间：2024-03-01</span><span>来源：县政府办公室</span></div>"
                 "<div id='zoom'><p>正文。</p></div>")
    assert shown.source == "县政府办公室"
