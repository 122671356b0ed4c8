"""ListPage on saved list pages: the TRS createPageHTML pager and plain 下一页 links."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.pages.listing import ListEntry, ListPage
from crawler.profile import load_profile

FIXTURES = Path(__file__).parent / "fixtures" / "pages"
TENGZHOU = load_profile("tengzhou")
SECTION = "http://www.tengzhou.gov.cn/xwzx/gyjj/"
ALL_PAGES = [SECTION + "index.html"] + [SECTION + f"index_{n}.html" for n in range(1, 5)]
ENTRIES = [
    ListEntry(SECTION + "202103/t20210315_6187593.html",
              "【工业强市 产业兴市】(二)官桥镇召开工业强市、产业兴市“攻坚五问”大调研大讨论活动动员大会",
              "2021-03-15"),
    ListEntry(SECTION + "202103/t20210312_6185120.html", "滕州市2021年一季度重点工业项目集中开工",
              "2021-03-12"),
    ListEntry(SECTION + "202103/t20210308_6180044.html", "我市召开工业经济高质量发展推进会",
              "2021-03-08"),
]


def list_page(name: str, url: str, profile=TENGZHOU) -> ListPage:
    return ListPage.from_bytes((FIXTURES / name).read_bytes(), url, profile=profile)


@pytest.mark.parametrize("profile", [TENGZHOU, None], ids=["tengzhou", "generic"])
@pytest.mark.parametrize("name, page_url, current, next_url, entries", [
    ("list_first.html", SECTION + "index.html", 0, SECTION + "index_1.html", ENTRIES),
    ("list_middle.html", SECTION + "index_2.html", 2, SECTION + "index_3.html", ENTRIES[1:]),
    ("list_last.html", SECTION + "index_4.html", 4, None, ENTRIES[2:]),
])
def test_create_page_html_pager(profile, name, page_url, current, next_url, entries):
    page = list_page(name, page_url, profile)
    assert (page.page_count, page.current_index) == (5, current)
    assert page.next_page_url == next_url
    assert page.page_urls == ALL_PAGES
    # The full title comes from the title attribute, not the cut link text;
    # the 热点 link outside the list rows is left out.
    assert page.entries == entries


def test_replica_served_locally_resolves_against_its_own_url():
    page = list_page("list_first.html", "http://127.0.0.1:8123/xwzx/gyjj/index.html",
                     TENGZHOU.with_base_url("http://127.0.0.1:8123"))
    assert page.next_page_url == "http://127.0.0.1:8123/xwzx/gyjj/index_1.html"
    assert page.entries[0].url == "http://127.0.0.1:8123/xwzx/gyjj/202103/t20210315_6187593.html"


def test_plain_next_link_and_generic_rows():
    url = "http://www.zaozhuang.gov.cn/col/col1234/index.html?uid=9&pageNum=2"
    page = list_page("list_plain_next.html", url, None)
    assert (page.page_count, page.current_index, page.page_urls) == (None, None, [])
    assert page.next_page_url == "http://www.zaozhuang.gov.cn/col/col1234/index.html?uid=9&pageNum=3"
    art = "http://www.zaozhuang.gov.cn/art/2021/3/"
    assert page.entries == [
        ListEntry(art + "15/art_1234_5678.html", "市工信局召开全市工业运行调度会议", "2021-03-15"),
        ListEntry(art + "10/art_1234_5601.html", "关于公布2020年度市级企业技术中心名单的通知", "2021-03-10"),
        # The date in the title is not the row's date.
        ListEntry(art + "9/art_1234_5600.html", "2021年3月9日全市工业运行简报", "2021-03-09"),
    ]


def test_plain_pager_at_the_end_has_no_next_page():
    page = list_page("list_plain_end.html",
                     "http://www.zaozhuang.gov.cn/col/col1234/index.html?uid=9&pageNum=9", None)
    assert page.next_page_url is None
    assert page.entries == [ListEntry("http://www.zaozhuang.gov.cn/art/2020/1/2/art_1234_100.html",
                                      "最早的一篇", "2020-01-02")]


def test_pager_with_an_element_id_argument_and_single_quotes():
    html = ("<html><body><script>createPageHTML('page_div', 3, 1, 'index', 'shtml');</script>"
            "</body></html>")
    page = ListPage.from_bytes(html.encode(), SECTION + "index_1.shtml")
    assert (page.page_count, page.current_index) == (3, 1)
    assert page.next_page_url == SECTION + "index_2.shtml"
    assert page.entries == []


@pytest.mark.parametrize("script, url, current, next_url", [
    # The newer TRS WCM call: element id first, record count last (page 1 only was crawled).
    ("createPageHTML('page_div',5, 0,'index','html',96);", SECTION + "index.html", 0, SECTION + "index_1.html"),
    ("createPageHTML('page_div', 5, 4, 'index', 'html', 96);", SECTION + "index_4.html", 4, None),
    # The call with variables.
    ("var countPage = 5; var currentPage = 2; createPageHTML(countPage, currentPage, 'index', 'html');",
     SECTION + "index_2.html", 2, SECTION + "index_3.html"),
    # No call: the variables and a document.write of the link.
    ("var currentPage = 1;//所在页从0开始\nvar nextPage = currentPage+1\nvar countPage = 5//共多少页\n"
     "if(countPage>1&&currentPage!=(countPage-1)){document.write(\"<a href=\\\"index\"+\"_\" + nextPage + "
     "\".\"+\"html\\\">下一页</a>\");}", SECTION + "index_1.html", 1, SECTION + "index_2.html"),
    ("var currentPage = 0;\nvar countPage = 5", SECTION, 0, SECTION + "index_1.html"),
    ("var currentPage = 0;\nvar countPage = 5", SECTION + "index.shtml", 0, SECTION + "index_1.shtml"),
])
def test_other_trs_pager_forms(script, url, current, next_url):
    html = f"<html><body><ul><li><a href='./202401/t20240102_1.html'>一</a></li></ul><script>{script}</script></body></html>"
    page = ListPage.from_bytes(html.encode(), url)
    assert (page.page_count, page.current_index) == (5, current)
    assert page.next_page_url == next_url


ROWS = "".join(f'<li><a href="/xwzx/gzdt/202401/t2024010{n}_{n}.html">县政府召开常务会议第{n}项</a>'
               f'<span>2024-01-0{n}</span></li>' for n in range(1, 6))
GZDT = "http://127.0.0.1/xwzx/gzdt/"


def _paged(pager: str, sidebar: str = "") -> ListPage:
    html = f"<html><body><ul class='l'>{ROWS}</ul><div class='page'>{pager}</div>{sidebar}</body></html>"
    return ListPage.from_bytes(html.encode(), GZDT + "index.html")


@pytest.mark.parametrize("pager", [
    '<a href="index_1.html"><img alt="下一页" src="next.gif"></a>',
    '<a href="index_1.html" title="下一页" class="next"></a>',
    '<a href="index_1.html">&gt;&gt;</a>',
    '<a href="index_1.html">»</a>',
    '<a href="index_1.html">Next</a>',
    '<a href="index_1.html">后一页</a>',
    '<a href="index_1.html">下 一 页</a>',
    '<a href="index_1.html">下一頁</a>',
    '<a href="index_1.html">[下一页]</a>',
    '<input type="button" value="下一页" onclick="location.href=\'index_1.html\'">',
    # Page numbers only: the one after the current page.
    '<a href="index.html" class="cur">1</a> <a href="index_1.html">2</a> <a href="index_2.html">3</a> '
    '<a href="index_4.html">尾页</a>',
    '1 <a href="index_1.html">2</a> <a href="index_2.html">3</a>',
    '<span>1</span><a href="index_1.html">2</a><a href="index_2.html">3</a><a href="index_4.html">末页</a>',
])
def test_next_links_of_many_hands(pager):
    """Each of these was missed: kind none, page 1 only, exit 0."""
    assert _paged(pager).next_page_url == GZDT + "index_1.html"


@pytest.mark.parametrize("pager, sidebar", [
    ('<a href="index.html">首页</a> <a href="index_5.html">上一页</a> <a href="index_4.html">尾页</a>', ""),
    ('<a href="index_5.html"><img alt="上一页"></a> <a href="index_4.html" title="末页"></a>', ""),
    ('<a href="index_5.html">&lt;&lt;</a> <a href="index_5.html">«</a>', ""),
    # Arrows and numbers out of the list's folder are a sidebar's more link and a year archive.
    ("", '<div class="side"><a href="/xwzx/tzgg/">»</a> <a href="/xwzx/2023/">2023</a> '
         '<a href="/xwzx/2024/">2024</a></div>'),
    ('<a href="javascript:void(0)" onclick="goPage(2)">下一页</a>', ""),
    # A title that happens to say 以下页面 is no pager.
    ("", '<a href="/xwzx/gzdt/x.html">关于以下页面内容调整的说明</a>'),
])
def test_no_next_link_from_previous_first_last_or_other_sections(pager, sidebar):
    assert _paged(pager, sidebar).next_page_url is None


def test_a_page_says_when_its_list_goes_on():
    assert _paged('<a href="index.html">首页</a> <a href="index_4.html">尾页</a>').more_pages_shown == ["a 尾页 link"]
    assert "共3页" in _paged("共3页 <a href='javascript:goPage(2)'>下一页</a>").more_pages_shown
    assert _paged('<a href="#" onclick="goPage(2)">下一页</a>').more_pages_shown == [
        "a 下一页 that is no link a crawl can follow"]
    assert _paged("共1页 <span>下一页</span> <span>尾页</span>").more_pages_shown == []
    assert _paged("").more_pages_shown == []


@pytest.mark.parametrize("day", ["[01-{:02d}]", "01-{:02d}", "1月{}日"])
def test_a_list_dated_without_years_beats_a_longer_menu(day):
    """The list's dates have no year: its rows scored like the undated department menu beside it,
    and the 25 departments (folder index pages) became the list."""
    from crawler.pages.markup import response_from_bytes

    menu = "".join(f'<li><a href="/xwzx/bmdt/d{n}/index.html">县第{n}个职能部门名称</a></li>' for n in range(25))
    rows = "".join(f'<li><a href="/xwzx/bmdt/202401/t202401{n:02d}_{900 + n}.html">部门工作动态第{n}期</a>'
                   f'<span>{day.format(n)}</span></li>' for n in range(1, 11))
    html = (f'<html><head><meta charset="utf-8"></head><body><div class="left"><ul class="bm">{menu}</ul></div>'
            f'<div class="right"><ul class="news">{rows}</ul></div></body></html>')
    page = ListPage(response_from_bytes(html.encode(), "http://www.ceshi.gov.cn/xwzx/bmdt/index.html"), None)
    urls = [entry.url for entry in page.entries]
    assert urls == [f"http://www.ceshi.gov.cn/xwzx/bmdt/202401/t202401{n:02d}_{900 + n}.html" for n in range(1, 11)]


def test_a_table_list_row_is_its_tr_and_shows_its_date():
    """A 信息公开 table list: the title's <td> was taken for the row, so the 成文日期 cell beside it was
    outside the row and every date was null."""
    from crawler.pages.markup import response_from_bytes

    rows = "".join(f'<tr><td>11370000/2024-0000{n}</td><td><a href="/xxgk/zcwj/202401/content_50{n}.html">'
                   f'测试县人民政府关于第{n}项工作的通知</a></td><td>县政府办公室</td><td>2024年1月{n}日</td></tr>'
                   for n in range(1, 4))
    html = (f'<html><head><meta charset="utf-8"></head><body><table class="xxgk-list"><tr><td>索引号</td>'
            f'<td>名称</td><td>发布机构</td><td>成文日期</td></tr>{rows}</table></body></html>')
    page = ListPage(response_from_bytes(html.encode(), "http://www.ceshi.gov.cn/xxgk/zcwj/index.html"), None)
    assert [(entry.url.rsplit("/", 1)[1], entry.date) for entry in page.entries] == [
        (f"content_50{n}.html", f"2024-01-0{n}") for n in range(1, 4)]


def test_a_gbk_list_declaring_utf8_is_read_as_gbk():
    """List pages were not charset-corrected as articles are: GBK bytes declared utf-8 gave mojibake titles."""
    html = ('<html><head><meta charset="utf-8"><title>部门动态</title></head><body><ul class="list">'
            + "".join(f'<li><a href="/xwzx/bmdt/202401/t2024010{n}_{n}.html">县教育局部署第{n}项工作</a>'
                      f'<em>(2024.01.0{n})</em></li>' for n in range(1, 4)) + "</ul></body></html>")
    page = ListPage.from_bytes(html.encode("gbk"), "http://www.ceshi.gov.cn/xwzx/bmdt/index.html",
                               {"Content-Type": "text/html; charset=utf-8"})
    assert [(entry.title, entry.date) for entry in page.entries] == [
        (f"县教育局部署第{n}项工作", f"2024-01-0{n}") for n in range(1, 4)]
