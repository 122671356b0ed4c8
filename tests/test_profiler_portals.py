"""`profile new` on hand-made portals the replica's four families do not cover.

Each test serves a few pages of its own (a dict of path -> HTML, or a
function for answers that depend on the request) from a loopback server in
this process, the way an odd county portal shows them: no SiteName meta,
pagers of other TRS templates, a Hanweb column declaring its form inline,
lists in frames, and so on.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from archive.cli import main
from crawler.profile import load_profile
from replica.server import QuietHTTPServer

SITE = "测试县人民政府"
TITLES = ["县政府召开常务会议研究部署重点工作", "我县开展安全生产大检查行动", "全县农业农村工作会议召开",
          "县领导调研乡村振兴示范村建设", "我县举办春季招聘会暨就业援助月活动", "县市场监管局开展食品安全专项整治"]


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def article_html(title: str, day: str, column: str, site_name: str | None = SITE) -> str:
    """A TRS-style article page (its SiteName meta only when `site_name`)."""
    site_meta = f'<meta name="SiteName" content="{site_name}">' if site_name else ""
    paras = "".join(f"<p>　　{day}，{title}。第{n}段正文，介绍了有关情况，要求各部门切实抓好落实。</p>" for n in range(3))
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}_{column}</title>{site_meta}
<meta name="ColumnName" content="{column}"><meta name="ArticleTitle" content="{title}"></head><body>
<div class="position">您的位置：<a href="/">首页</a> &gt; <a href="./">{column}</a></div>
<div class="article"><h2 class="art-title">{title}</h2>
<div class="art-info">发布时间：{day}　来源：县政府办公室</div>
<div class="TRS_Editor">{paras}</div></div>
<div class="footer"><p>网站标识码：3799990001</p></div></body></html>"""


def list_html(column: str, rows: str, pager: str, site_name: str | None = SITE) -> str:
    site_meta = f'<meta name="SiteName" content="{site_name}">' if site_name else ""
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{column}</title>{site_meta}
<meta name="ColumnName" content="{column}"></head><body>
<div class="nav"><a href="/">网站首页</a> <a href="/xwzx/">新闻中心</a></div>
<div class="right">{rows}{pager}</div><div class="footer">主办：县政府办公室</div></body></html>"""


def trs_column(folder: str, column: str, count: int, per: int, pager, site_name: str | None = SITE,
               first: int = 1000) -> dict[str, str]:
    """A column of `count` articles, `per` a page (index.html, index_1.html …), `pager(pages, index)`
    drawing each page's pager."""
    pages: dict[str, str] = {}
    chunks = [range(i, min(i + per, count)) for i in range(0, count, per)]
    for index, chunk in enumerate(chunks):
        rows = []
        for i in chunk:
            day = f"2024-01-{i % 28 + 1:02d}"
            path = f"{folder}202401/t202401{i % 28 + 1:02d}_{first + i}.html"
            title = f"{TITLES[i % len(TITLES)]}（第{i + 1}期）"
            pages[path] = article_html(title, day, column, site_name)
            rows.append(f'<li><a href="{path}" title="{title}">{title}</a><span>{day}</span></li>')
        name = "index.html" if index == 0 else f"index_{index}.html"
        pages[folder + name] = list_html(column, '<ul class="list">' + "".join(rows) + "</ul>",
                                         pager(len(chunks), index), site_name)
    return pages


class _Pages(BaseHTTPRequestHandler):
    pages: dict = {}
    asked: list[tuple[str, str]] = []

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._answer("GET", {})

    def do_POST(self) -> None:  # noqa: N802
        size = int(self.headers.get("Content-Length") or 0)
        self._answer("POST", parse_qs(self.rfile.read(size).decode("utf-8")))

    def _answer(self, method: str, form: dict) -> None:
        type(self).asked.append((method, self.path))
        parts = urlsplit(self.path)
        found = self.pages.get(self.path, self.pages.get(parts.path))
        if callable(found):
            found = found({**parse_qs(parts.query), **form})
        if found is None:
            body, status, kind = b"not found", 404, "text/plain"
        else:
            body, status = found.encode("utf-8"), 200
            kind = "text/xml; charset=utf-8" if found.lstrip().startswith("<?xml") else "text/html; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def serving(pages: dict):
    """Serve `pages` on loopback; yields the base URL (http://127.0.0.1:PORT)."""
    handler = type("Pages", (_Pages,), {"pages": pages, "asked": []})
    server = QuietHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _trs4(pages: int, index: int) -> str:
    return f'<script>createPageHTML({pages}, {index}, "index", "html");</script>'


# -- the site's name ------------------------------------------------------------------------------


@pytest.mark.parametrize("site_name", [None, "测试门户"])
def test_a_portal_without_a_site_name_or_place_gets_a_profile(site_name, tmp_path):
    """No SiteName meta (or a name without a place): the profile was refused as "does not read back
    as inferred" (exit 3, nothing written), '' written for a None inferred."""
    pages = trs_column("/xwzx/gzdt/", "工作动态", 12, 10, _trs4, site_name=site_name)
    out = tmp_path / "p.toml"
    with serving(pages) as base:
        result = run("profile", "new", base + "/xwzx/gzdt/index.html", "--name", "ceshi", "--out", str(out))
    assert result.exit_code == 0, result.output
    profile = load_profile(out)
    assert profile.site_name == site_name and profile.city is None
    text = out.read_text(encoding="utf-8")
    assert "Not inferred: the site's own place name was not found" in text


# -- pagers ---------------------------------------------------------------------------------------


def _trs6(pages: int, index: int) -> str:
    return f"<div id='page_div'></div><script>createPageHTML('page_div',{pages}, {index},'index','html',25);</script>"


def _trs_vars(pages: int, index: int) -> str:
    return (f"<script>var currentPage = {index};//所在页从0开始\nvar nextPage = currentPage+1\n"
            f"var countPage = {pages}//共多少页\ndocument.write(\"共\"+countPage+\"页\");\n"
            "if(countPage>1&&currentPage!=(countPage-1)){document.write(\"<a href=\\\"index\"+\"_\" + nextPage"
            " + \".\"+\"html\\\">下一页</a>\");}</script>")


def _numbers(pages: int, index: int) -> str:
    links = " ".join(f'<a href="{"index.html" if n == 0 else f"index_{n}.html"}"'
                     f'{" class=cur" if n == index else ""}>{n + 1}</a>' for n in range(pages))
    return f"<div class='page'>{links} <a href='index_{pages - 1}.html'>尾页</a></div>"


@pytest.mark.parametrize("pager, kind", [(_trs6, "trs"), (_trs_vars, "trs"), (_numbers, "links")])
def test_other_pagers_are_walked(pager, kind, tmp_path):
    """The 6-argument createPageHTML, the countPage variables, a bar of page numbers: page 1 only was
    crawled, result ok."""
    pages = trs_column("/xwzx/gzdt/", "工作动态", 25, 10, pager)
    out = tmp_path / "p.toml"
    with serving(pages) as base:
        result = run("profile", "new", base + "/xwzx/gzdt/index.html", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "list answers walked: 3 (rows: 10, 10, 5)" in result.output
    assert load_profile(out).sections[0].pagination.kind == kind


def test_a_list_without_a_pager_it_can_read_is_a_problem(tmp_path):
    """`result: ok`, exit 0, and a crawl of page 1 only, when the pager was one it could not read."""
    def pager(pages, index):
        return f"<div>共{pages}页 <a href='javascript:void(0)' onclick='goPage({index + 2})'>下一页</a></div>"

    pages = trs_column("/xwzx/gzdt/", "工作动态", 25, 10, pager)
    out = tmp_path / "p.toml"
    with serving(pages) as base:
        result = run("profile", "new", base + "/xwzx/gzdt/index.html", "--out", str(out))
    assert result.exit_code == 1, result.output
    assert "PROBLEM: no pager found" in result.output and "first list page only (10 rows)" in result.output
    assert "yet the page shows 共3页, a 下一页 that is no link a crawl can follow" in result.output
    assert "result: problems" in result.output
    assert load_profile(out).sections[0].pagination.kind == "none"


def test_a_column_of_one_page_with_nothing_claiming_more_is_a_note_not_a_problem(tmp_path):
    """A small county's column of one page is common: exit 0, said in a note."""
    pages = trs_column("/xwzx/gzdt/", "工作动态", 8, 10, lambda pages, index: "")
    out = tmp_path / "p.toml"
    with serving(pages) as base:
        result = run("profile", "new", base + "/xwzx/gzdt/index.html", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "no pager found: the column shows one page (8 rows)" in result.output and "PROBLEM" not in result.output
    assert load_profile(out).sections[0].pagination.kind == "none"


# -- Hanweb ---------------------------------------------------------------------------------------


HANWEB_TOTAL = 50


def _hanweb_record(i: int) -> str:
    title = f"{TITLES[i % len(TITLES)]}（第{i + 1}期）"
    return (f'<record><![CDATA[<li><a href="/art/2024/1/{i % 28 + 1}/art_1234_{900 + i}.html" title="{title}">'
            f"{title}</a><span>2024-01-{i % 28 + 1:02d}</span></li>]]></record>")


def _dataproxy(query: dict) -> str:
    """jpage's dataproxy.jsp: records startrecord..endrecord of column 1234 (none for a form without it)."""
    if query.get("columnid") != ["1234"] or query.get("unitid") != ["4463869"]:
        return '<?xml version="1.0" encoding="UTF-8"?><datastore><totalrecord>0</totalrecord></datastore>'
    start, end = int(query["startrecord"][0]), int(query["endrecord"][0])
    records = "".join(_hanweb_record(i - 1) for i in range(start, min(end, HANWEB_TOTAL) + 1))
    return (f'<?xml version="1.0" encoding="UTF-8"?><datastore><totalrecord>{HANWEB_TOTAL}</totalrecord>'
            f"<recordset>{records}</recordset></datastore>")


def hanweb_column(pager: str) -> dict:
    """A Hanweb column of 50 articles, 15 in the page's datastore, `pager` declaring the rest."""
    nextgroup = ("/module/web/jpage/dataproxy.jsp?page=1&amp;appid=1&amp;webid=1&amp;path=/&amp;columnid=1234"
                 "&amp;unitid=4463869&amp;webname=%25E6%25B5%258B&amp;permissiontype=0")
    column = f"""<html><head><meta charset="utf-8"><title>政务要闻</title><meta name="SiteName" content="{SITE}">
<meta name="ColumnName" content="政务要闻"></head><body><div id="4463869"><script type="text/xml"><datastore>
<nextgroup><![CDATA[<a href="{nextgroup}"></a>]]></nextgroup><recordset>
{"".join(_hanweb_record(i) for i in range(15))}</recordset></datastore></script></div>{pager}</body></html>"""
    pages = {"/col/col1234/index.html": column, "/module/web/jpage/dataproxy.jsp": _dataproxy}
    for i in range(HANWEB_TOTAL):
        pages[f"/art/2024/1/{i % 28 + 1}/art_1234_{900 + i}.html"] = article_html(
            f"{TITLES[i % len(TITLES)]}（第{i + 1}期）", f"2024-01-{i % 28 + 1:02d}", "政务要闻")
    return pages


INLINE_JPAGE = """<script>$(document).ready(function(){ $('#4463869').jpage({
    totalRecord:50, perPage:15, groupSize:3, barPosition:'bottom', proxyUrl:'/module/web/jpage/dataproxy.jsp',
    ajaxParam:{col:1,appid:1,webid:1,path:'/',columnid:1234,sourceContentType:1,unitid:'4463869',webname:'测试县',permissiontype:0}
  });
});</script>"""


@pytest.mark.parametrize("pager", [INLINE_JPAGE, ""], ids=["inline-ajaxParam", "nextgroup-only"])
def test_a_hanweb_form_written_inline_or_only_in_the_nextgroup_link(pager, tmp_path):
    """Only the 15 inline rows were seen (no param_ variable), result ok, a crawl of 15 of 50."""
    out = tmp_path / "p.toml"
    with serving(hanweb_column(pager)) as base:
        result = run("profile", "new", base + "/col/col1234/index.html", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "list answers walked: 2 (rows: 15, 35)" in result.output
    form = dict(load_profile(out).sections[0].pagination.form)
    assert form["columnid"] == "1234" and form["unitid"] == "4463869"


def test_a_hanweb_total_the_walk_cannot_reach_is_a_problem(tmp_path):
    out = tmp_path / "p.toml"
    pages = hanweb_column("<script>$('#4463869').jpage({totalRecord:50, perPage:15, groupSize:3});</script>")
    pages["/col/col1234/index.html"] = pages["/col/col1234/index.html"].replace("<nextgroup>", "<x>")
    with serving(pages) as base:
        result = run("profile", "new", base + "/col/col1234/index.html", "--out", str(out))
    assert result.exit_code == 1, result.output
    assert "PROBLEM: the Hanweb list declares 50 rows (totalRecord) but only 15 could be asked for" in result.output


# -- columns that give nothing ----------------------------------------------------------------------


def _shell(body: str) -> str:
    return f'<html><head><meta charset="utf-8"><title>部门动态</title></head><body>{body}</body></html>'


GOOD = trs_column("/xwzx/gzdt/", "工作动态", 12, 10, _trs4)
ARTICLE = "/xwzx/gzdt/202401/t20240101_1000.html"


@pytest.mark.parametrize("path, body, code, said", [
    ("/xwzx/bmdt/index.html", '<iframe src="/xwzx/gzdt/index.html" width="100%"></iframe>', 2,
     "the page is a frame shell (<iframe> or <frameset>)"),
    ("/frames/index.html", None, 2, "give the framed page instead, e.g. `profile new http://127.0.0.1:"),
    (ARTICLE, None, 2, "this is an article page («县政府召开常务会议研究部署重点工作（第1期）», 2024-01-01), not a "
                       "column's list page: give the URL of the list page of its column (its column: 工作动态)"),
    ("/xwzx/abs/index.html", None, 5, "article links are on host localhost, not 127.0.0.1"),
    ("/xzdt/index.html", "<ul id='list'></ul><script>$(function(){ $.ajax({url:'/api/news/list', type:'GET', "
                         "data:{channelId:'xzdt', pageNo:1, pageSize:15}, success:function(r){}}); });</script>", 5,
     "a script draws the list from /api/news/list, an API this tool did not understand"),
    ("/xzdt2/index.html", "<ul id='list'></ul><script>$.getJSON('/api/news/list?channelId=xzdt&pageNo='+p, "
                          "function(res){});</script>", 5, "a script draws the list from /api/news/list?channelId"),
])
def test_a_column_that_gives_nothing_says_what_it_found(path, body, code, said, tmp_path):
    """Each of these was "does not load back (…: missing keys: article_url_pattern)", exit 3."""
    pages = dict(GOOD)
    if body is not None:
        pages[path] = _shell(body)
    pages["/frames/index.html"] = ('<html><frameset rows="80,*"><frame src="/top.html">'
                                   '<frame src="/xwzx/gzdt/index.html"></frameset></html>')
    out = tmp_path / "p.toml"
    with serving(pages) as base:
        if path == "/xwzx/abs/index.html":
            pages[path] = GOOD["/xwzx/gzdt/index.html"].replace('href="/', f'href="{base.replace("127.0.0.1", "localhost")}/')
        result = run("profile", "new", base + path, "--out", str(out))
    assert result.exit_code == code, result.output
    assert said in result.output and "missing keys" not in result.output
    assert not out.exists() and not list(tmp_path.iterdir())


def test_one_bad_column_leaves_the_others_and_says_which(tmp_path):
    """A bad column discarded the whole profile (exit 3, nothing written)."""
    pages = {**GOOD, "/xwzx/bmdt/index.html": _shell('<iframe src="list.html"></iframe>')}
    out = tmp_path / "p.toml"
    with serving(pages) as base:
        result = run("profile", "new", base + "/xwzx/gzdt/index.html", base + "/xwzx/bmdt/index.html",
                     "--out", str(out))
    assert result.exit_code == 1, result.output
    assert (f"PROBLEM: column left out of the profile: {base}/xwzx/bmdt/index.html: the page is a frame shell") in result.output
    assert load_profile(out).section_names == ["工作动态"]


def test_every_column_bad_says_each(tmp_path):
    pages = {**GOOD, "/xwzx/bmdt/index.html": _shell('<iframe src="list.html"></iframe>')}
    with serving(pages) as base:
        result = run("profile", "new", base + "/xwzx/bmdt/index.html", base + ARTICLE, "--out", str(tmp_path / "p.toml"))
    assert result.exit_code == 2, result.output
    assert "no column gave a profile; nothing written" in result.output
    assert f"{base}/xwzx/bmdt/index.html: the page is a frame shell" in result.output
    assert f"{base}{ARTICLE}: this is an article page" in result.output


# -- chrome taken for the article: the footer, the logo ---------------------------------------------

FOOTER = ('<div class="bottom"><p>主办单位：测试县人民政府办公室　承办单位：测试县大数据中心　地址：测试县人民路1号</p>'
          '<p>网站标识码：3799990001　鲁ICP备12345678号-1　联系电话：0537-1234567</p></div>')


def chrome_article(title: str, day: str, paras: list[str], meta_title: bool = True,
                   page_title: str | None = None, heading: str = "h2") -> str:
    """An article of a template no generic selector knows (div.wz_con), with a logo <h1> and a footer."""
    meta = f'<meta name="ArticleTitle" content="{title}">' if meta_title else ""
    body = "".join(f"<p>{p}</p>" for p in paras)
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{page_title or title + ' - ' + SITE}</title>
{meta}</head><body><div class="header"><div class="logo"><h1>{SITE}</h1></div></div>
<div class="position">您的位置：<a href="/">首页</a> &gt; <a href="./">通知公告</a></div>
<div class="wz"><{heading} class="tit">{title}</{heading}>
<div class="wz_info">发布日期：{day}　来源：县人社局</div>
<div class="wz_con">{body}</div></div>{FOOTER}</body></html>"""


def chrome_column(folder: str, count: int, article) -> dict[str, str]:
    """One list page of `count` articles, `article(i, title, day)` drawing each."""
    pages, rows = {}, []
    for i in range(count):
        day = f"2024-01-{i + 1:02d}"
        path = f"{folder}202401/t202401{i + 1:02d}_{6000 + i}.html"
        title = f"{TITLES[i % len(TITLES)]}（第{i + 1}期）"
        pages[path] = article(i, title, day)
        rows.append(f'<li><a href="{path}">{title}</a><span>{day}</span></li>')
    pages[folder + "index.html"] = list_html("通知公告", '<ul class="list">' + "".join(rows) + "</ul>", "")
    return pages


def test_a_column_of_short_notices_never_makes_the_footer_the_body(tmp_path):
    """Sampled notices of one sentence: text density chose the longer footer, `profile new` baked
    `body = 'div.bottom'`, and every article of the crawl, long ones included, had the footer as its body."""
    long_paras = [f"第{n}段：根据有关规定，现将工作安排通知如下，请各单位认真贯彻执行。" for n in range(7)]

    def article(i: int, title: str, day: str) -> str:
        paras = long_paras if i >= 6 else [f"现将{title}予以公示，公示期为5个工作日。"]
        return chrome_article(title, day, paras)

    profile, art = inferred_then_read(chrome_column("/xwzx/gsgg/", 8, article), "/xwzx/gsgg/",
                                      "/xwzx/gsgg/202401/t20240107_6006.html", tmp_path)
    assert "bottom" not in profile.selectors.body
    assert art.body_text == "\n\n".join(long_paras)


def inferred_then_read(pages: dict, column: str, path: str, tmp_path):
    """`profile new` on the served column (exit 0), then the page at `path` read with the profile it wrote."""
    from crawler.pages.article import ArticlePage

    out = tmp_path / "p.toml"
    with serving(pages) as base:
        result = run("profile", "new", base + column + "index.html", "--name", "p", "--out", str(out))
    assert result.exit_code == 0, result.output
    profile = load_profile(out)
    return profile, ArticlePage.from_bytes(pages[path].encode(), base + path, None, profile)


@pytest.mark.parametrize("page_title, heading", [(None, "div"), (SITE, "h2")])
def test_the_logo_heading_is_not_the_title_selector(page_title, heading, tmp_path):
    """No ArticleTitle meta: every sampled title was the logo's site name and `profile new` wrote
    title = 'div.logo > h1' (result: ok); an element showing the same text on every page is no title."""
    def article(i: int, title: str, day: str) -> str:
        return chrome_article(title, day, [f"{title}。正文第一段，介绍了有关情况。", "正文第二段。"],
                              meta_title=False, page_title=page_title, heading=heading)

    profile, art = inferred_then_read(chrome_column("/xwzx/logo/", 6, article), "/xwzx/logo/",
                                      "/xwzx/logo/202401/t20240103_6002.html", tmp_path)
    assert "logo" not in profile.selectors.title
    assert art.title == f"{TITLES[2]}（第3期）"
