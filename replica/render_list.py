"""The section's list pages and the small home page.

Rows are (path, full title, date).  The only pager is the
`createPageHTML(count, current, "index", "html")` script call.
"""

from __future__ import annotations

from datetime import date, datetime
from html import escape

from replica import chrome
from replica.corpus import SECTION

PAGE_SIZE = 20
TITLE_CUT = 30

Row = tuple[str, str, date]


def page_count(n_articles: int) -> int:
    return max(1, -(-n_articles // PAGE_SIZE))


def _shown(title: str) -> str:
    return title if len(title) <= TITLE_CUT else title[: TITLE_CUT - 2] + "…"


def render_list(rows: list[Row], page: int, pages: int, made_at: datetime) -> str:
    """List page `page` (0 for index.html) of `pages`."""
    stamp = f"{made_at:%Y-%m-%d %H:%M:%S}"
    lines = [
        chrome.XHTML_DOCTYPE,
        '<html xmlns="http://www.w3.org/1999/xhtml">',
        "<head>",
        '<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />',
        f"<title>{chrome.COLUMN_NAME}_{chrome.SITE_NAME}</title>",
        f'<meta name="SiteName" content="{chrome.SITE_NAME}" />',
        f'<meta name="SiteDomain" content="{chrome.SITE_DOMAIN}" />',
        f'<meta name="SiteIDCode" content="{chrome.SITE_ID_CODE}" />',
        f'<meta name="ColumnName" content="{chrome.COLUMN_NAME}" />',
        '<meta name="ColumnType" content="工作动态" />',
        f'<meta name="others" content="页面生成时间 {stamp}" />',
        *chrome.head_assets(),
        chrome.PAGER_FUNCTION,
        "</head>",
        "<body>",
        *chrome.header(),
        '<div class="main">',
        '<div class="position">您的位置:<a href="../../">首页</a> &gt; <a href="../">新闻中心</a> &gt; '
        '<a href="./">工业经济</a></div>',
        *chrome.news_menu(),
        '<div class="list">',
        f'<div class="list-title"><span>{chrome.COLUMN_NAME}</span></div>',
        "<!--列表开始-->",
        '<ul class="list-ul">',
    ]
    for path, title, day in rows:
        href = "./" + path[len(SECTION):]
        lines.append(
            f'<li><a href="{href}" target="_blank" title="{escape(title, quote=True)}">'
            f"{escape(_shown(title), quote=False)}</a><span>{day:%Y-%m-%d}</span></li>"
        )
    lines += [
        "</ul>",
        "<!--列表结束-->",
        '<div class="page">',
        f'<script type="text/javascript">createPageHTML({pages}, {page}, "index", "html");</script>',
        "</div>",
        "</div>",
        "</div>",
        *chrome.footer(),
        "</body>",
        "</html>",
        "",
    ]
    return "\r\n".join(lines)


def render_home(rows: list[Row], made_at: datetime) -> str:
    """A small home page: the latest few rows and a link to the section."""
    lines = [
        chrome.XHTML_DOCTYPE,
        '<html xmlns="http://www.w3.org/1999/xhtml">',
        "<head>",
        '<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />',
        f"<title>{chrome.SITE_NAME}</title>",
        f'<meta name="SiteName" content="{chrome.SITE_NAME}" />',
        f'<meta name="SiteIDCode" content="{chrome.SITE_ID_CODE}" />',
        f'<meta name="others" content="页面生成时间 {made_at:%Y-%m-%d %H:%M:%S}" />',
        *chrome.head_assets(),
        "</head>",
        "<body>",
        *chrome.header(),
        '<div class="main"><div class="home-news">',
        f'<div class="home-title"><a href="{SECTION[1:]}index.html">{chrome.COLUMN_NAME}</a>'
        f'<a class="more" href="{SECTION[1:]}index.html">更多&gt;&gt;</a></div>',
        '<ul class="list-ul">',
    ]
    for path, title, day in rows:
        lines.append(
            f'<li><a href="{path[1:]}" target="_blank" title="{escape(title, quote=True)}">'
            f"{escape(_shown(title), quote=False)}</a><span>{day:%m-%d}</span></li>"
        )
    lines += ["</ul>", "</div></div>", *chrome.footer(), "</body>", "</html>", ""]
    return "\r\n".join(lines)
