"""List families walked by crawler.pagination, and the generic repeated-rows reader.

Each replica column is walked through `Site.resolve` (no HTTP) with a
profile that knows only the pagination kind (and, for the JSON family, the
API): no row selector, no article pattern.  The walk must reach every
article of the column's truth, in list order, exactly once.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from crawler.pagination import ListRequest, first_request, json_page, read_list, records_request
from crawler.pages.listing import JsonList, ListPage, RecordList
from crawler.pages.markup import response_from_bytes
from crawler.pages.rows import repeated_rows
from crawler.profile import Pagination, Section, SiteProfile
from replica import registry

BASE = "http://127.0.0.1:8000"


def bare(url: str, pagination: Pagination, pattern: str = "") -> SiteProfile:
    section = Section(name="列表", start_url=url, section_path="/", article_url_pattern=pattern,
                      pagination=pagination)
    return SiteProfile(name="t", site_name=None, city=None, sections=(section,), allowed_domains=("127.0.0.1",))


def answer(site, request: ListRequest):
    parts = urlsplit(request.url)
    if request.form:
        got = site.resolve(parts.path, parts.query, "127.0.0.1:8000", dict(request.form))
    else:
        got = site.resolve(parts.path, parts.query, "127.0.0.1:8000")
    assert got.status == 200, (request, got.status)
    return response_from_bytes(got.body, request.url, {"Content-Type": got.content_type})


def walk(site, profile: SiteProfile, limit: int = 200) -> tuple[list[str], list[ListRequest]]:
    urls, asked = [], []
    request = first_request(profile.first)
    while request is not None and len(asked) < limit:
        asked.append(request)
        view = read_list(request, answer(site, request), profile)
        urls += [entry.url for entry in view.entries]
        request = view.next
    return urls, asked


def _pagination(spec, column) -> Pagination:
    if spec.cms == "json":
        return Pagination(kind="json", api_url="/api/content/list", params=(("channel", column.key),))
    return Pagination(kind="auto")


@pytest.mark.parametrize("name", registry.site_names())
def test_every_column_is_walked_to_its_truth_in_order(name):
    spec = registry.site_spec(name)
    corpus = registry.make_corpus(spec, 260, 1, 1)
    site = registry.make_site(spec, corpus)
    truth = list(registry.truth(spec, corpus, BASE))
    for column in spec.columns:
        urls, asked = walk(site, bare(BASE + column.start_path, _pagination(spec, column)))
        assert urls == [record["url"] for record in truth if record["section"] == column.name]
        kinds = {request.kind for request in asked}
        assert kinds == {"trs": {"page"}, "xxgk": {"page"}, "hanweb": {"page", "records"},
                         "json": {"page", "json"}}[spec.cms]


def test_hanweb_pager_is_read_from_the_page_and_posted_as_jpage_does():
    spec = registry.site_spec("weishan")
    site = registry.make_site(spec, registry.make_corpus(spec, 300, 1, 1))
    column = spec.columns[0]
    profile = bare(BASE + column.start_path, Pagination(kind="hanweb"))
    page = ListPage(answer(site, first_request(profile.first)), profile)
    declared = page.hanweb
    assert (declared.per_page, declared.group_size, declared.inline_rows) == (15, 3, 45)
    assert declared.proxy_url == BASE + "/module/web/jpage/dataproxy.jsp"
    assert declared.form["columnid"] == column.key and declared.form["webname"] == spec.site_name
    view = read_list(first_request(profile.first), answer(site, first_request(profile.first)), profile)
    nxt = view.next
    assert (nxt.kind, nxt.method, nxt.start, nxt.end) == ("records", "POST", 46, 90)
    assert dict(parse_qsl(urlsplit(nxt.url).query)) == {"startrecord": "46", "endrecord": "90", "perpage": "15"}
    assert dict(parse_qsl(nxt.body.decode("ascii"))) == declared.form  # UTF-8, percent-encoded
    assert nxt.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert ListRequest.from_dict(nxt.as_dict()) == nxt  # survives a crawl's queue


def test_hanweb_walk_stops_at_the_total_and_on_an_empty_answer():
    empty = RecordList(b"<datastore><totalrecord>0</totalrecord><recordset></recordset></datastore>", BASE + "/p")
    assert (empty.total, empty.entries) == (0, [])
    profile = bare(BASE + "/col/col1/index.html", Pagination(kind="hanweb"))
    request = records_request(BASE + "/p", {"columnid": "1"}, 46, 45, 15, 100)
    response = response_from_bytes(b"<datastore><totalrecord>100</totalrecord><recordset>"
                                   b"<record><![CDATA[<li><a href='/art/2024/1/2/art_1_9.html'>\xe6\xa0\x87\xe9\xa2\x98"
                                   b"\xe6\x96\x87\xe5\xad\x97</a><span>2024-01-02</span></li>]]></record>"
                                   b"</recordset></datastore>", request.url, {"Content-Type": "text/xml"})
    view = read_list(request, response, profile)
    assert [e.url for e in view.entries] == [BASE + "/art/2024/1/2/art_1_9.html"]
    assert (view.next.start, view.next.end) == (91, 100)  # the last group is cut at the total
    nothing = response_from_bytes(b"<datastore><recordset></recordset></datastore>", view.next.url,
                                  {"Content-Type": "text/xml"})
    assert read_list(view.next, nothing, profile).next is None


def test_a_hanweb_page_without_module_fields_asks_nothing_more():
    html = ("<html><body><div id='1'><script type='text/xml'><datastore><recordset>"
            "<record><![CDATA[<li><a href='/art/2024/1/2/art_1_9.html'>标题文字</a><span>2024-01-02</span></li>]]>"
            "</record></recordset></datastore></script></div></body></html>")
    profile = bare(BASE + "/col/col1/index.html", Pagination(kind="auto"))
    view = read_list(first_request(profile.first), response_from_bytes(html.encode(), profile.start_url), profile)
    assert len(view.entries) == 1 and view.next is None and view.family == "hanweb"


def json_answer(data: bytes, url: str):
    return response_from_bytes(data, url, {"Content-Type": "application/json"})


def test_json_walk_stops_at_the_declared_pages_or_a_short_page():
    pagination = Pagination(kind="json", api_url="/api/list?lang=zh", params=(("channel", "a"),), size=2,
                            list_key="data.rows", url_key="link", title_key="name", date_key="time",
                            pages_key="data.pageCount")
    profile = bare(BASE + "/news/a/", pagination)
    request = json_page(profile, 1)
    assert request.url == BASE + "/api/list?lang=zh&channel=a&page=1&size=2"
    body = ('{"data": {"pageCount": 2, "rows": [{"link": "/news/a/1.html", "name": "第一篇文章", "time": "2024-01-02 08:00"},'
            '{"link": "/news/a/2.html", "name": "第二篇文章", "time": "2024-01-01"}]}}').encode()
    view = read_list(request, json_answer(body, request.url), profile)
    assert [(e.url, e.title, e.date) for e in view.entries] == [
        (BASE + "/news/a/1.html", "第一篇文章", "2024-01-02"), (BASE + "/news/a/2.html", "第二篇文章", "2024-01-01")]
    assert view.next.number == 2
    assert read_list(view.next, json_answer(body, view.next.url), profile).next is None  # page 2 of 2
    # Without a page count, a page shorter than the size is the last.
    counted = bare(BASE + "/news/a/", Pagination(**{**pagination.__dict__, "pages_key": ""}))
    short = b'{"data": {"rows": [{"link": "/news/a/3.html", "name": "x", "time": ""}]}}'
    assert read_list(json_page(counted, 3), json_answer(short, request.url), counted).next is None


@pytest.mark.parametrize("body", [b"<html>not json</html>", b'{"list": "nope"}', b"[]"])
def test_a_json_answer_without_rows_ends_the_walk_and_says_why(body):
    profile = bare(BASE + "/news/a/", Pagination(kind="json", api_url="/api"))
    view = read_list(json_page(profile, 1), json_answer(body, BASE + "/api"), profile)
    assert view.entries == [] and view.next is None
    assert view.notes == ["no list at 'list' in the JSON answer"]
    assert not JsonList(body, BASE + "/api").ok


def test_none_and_links_kinds():
    html = ("<html><body><ul class='l'><li><a href='/a/1.html'>第一篇文章标题</a><span>2024-01-02</span></li>"
            "<li><a href='/a/2.html'>第二篇文章标题</a><span>2024-01-01</span></li></ul>"
            "<div class='pg'><a href='list_2.html' class='go'>更多</a> <a href='list_3.html'>下一页</a></div>"
            "<script>createPageHTML(5, 0, 'index', 'html');</script></body></html>").encode()
    start = BASE + "/a/list_1.html"
    for kind, selector, expected in (("none", "", None), ("links", "", BASE + "/a/list_3.html"),
                                     ("links", "a.go", BASE + "/a/list_2.html"), ("trs", "", BASE + "/a/index_1.html"),
                                     ("auto", "", BASE + "/a/index_1.html")):
        profile = bare(start, Pagination(kind=kind, next_selector=selector))
        view = read_list(first_request(profile.first), response_from_bytes(html, start), profile)
        assert (view.next.url if view.next else None) == expected, kind
        assert len(view.entries) == 2


GENERIC_LIST = """<html><body>
<nav><ul><li><a href='/'>首页</a></li><li><a href='/a/'>政务公开</a></li><li><a href='/b/'>政民互动</a></li>
<li><a href='/c/'>走进本县</a></li><li><a href='/d/'>办事服务</a></li></ul></nav>
<div class='side'><div class='lnk'><a href='/x/1.html'>友情链接甲</a></div><div class='lnk'><a href='/x/2.html'>友情链接乙</a></div></div>
<div class='news'>
  <div class='item'><a href='/n/2024/0302/a1.shtml' title='全县春耕生产工作推进会召开'>全县春耕生产工作推进会召开</a><em>2024/03/02</em></div>
  <div class='item'><a href='/n/2024/0301/a2.shtml'>县长到乡镇调研乡村振兴工作</a><em>2024/03/01</em></div>
  <div class='item'><a class='cat' href='/n/'>[动态]</a><a href='/n/2024/0228/a3.shtml'>2023年全县经济运行情况通报</a><em>2024/02/28</em></div>
</div>
<table class='t'><tr class='h'><th>标题</th><th>日期</th></tr></table>
</body></html>"""


def test_generic_rows_are_the_dated_look_alike_rows_not_the_menus():
    response = response_from_bytes(GENERIC_LIST.encode(), "http://www.x.gov.cn/n/index.shtml")
    group = repeated_rows(response.selector.root)
    assert group.selector == "div.news > div.item"
    page = ListPage(response, None)
    assert [(e.url, e.title, e.date) for e in page.entries] == [
        ("http://www.x.gov.cn/n/2024/0302/a1.shtml", "全县春耕生产工作推进会召开", "2024-03-02"),
        ("http://www.x.gov.cn/n/2024/0301/a2.shtml", "县长到乡镇调研乡村振兴工作", "2024-03-01"),
        # The row's category link is not its article; the date in the title is not the row's.
        ("http://www.x.gov.cn/n/2024/0228/a3.shtml", "2023年全县经济运行情况通报", "2024-02-28"),
    ]


def test_a_page_with_no_list_has_no_rows():
    response = response_from_bytes(b"<html><body><p>\xe6\x97\xa0</p><a href='/a'>a</a></body></html>",
                                   "http://www.x.gov.cn/")
    assert repeated_rows(response.selector.root) is None
    assert ListPage(response, None).entries == []
