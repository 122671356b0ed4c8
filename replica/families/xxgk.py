"""A 政府信息公开 (xxgk) platform, served in GBK: paged list tables and articles with a metadata table.

List pages are tables (索引号, 名称, 发布机构, 生成日期) with page-number links
(`index.html`, `index_2.html` …).  Articles carry the metadata table
(索引号, 发布机构, 生成日期 or 发布日期, 成文日期, 文号, 主题分类 …) as a
`<table class="xxgk-table">` or a `<ul class="xxgk-info">`; the page's meta
tags may disagree with it (PubDate a regeneration time, ContentSource the
site name), and the table is right.
"""

from __future__ import annotations

from replica.families.base import FamilySite, attr, long_date, text
from replica.families.doc import Doc
from replica.families.urls import XxgkUrls
from replica.spec import Column

PAGE_SIZE = 15
WINDOW = 4  # page-number links either side of the current page
TITLE_CUT = 30
XHTML = ('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
         '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">')


def _shown(title: str) -> str:
    return title if len(title) <= TITLE_CUT else title[: TITLE_CUT - 1] + "…"


class XxgkSite(FamilySite):
    urls: XxgkUrls

    def is_list(self, path: str) -> bool:
        found = self.urls.list_page(path)
        return found is not None and found[1] < self._pages(found[0])

    def _entries(self, column: Column):
        return self.corpus.columns[self.spec.columns.index(column)]

    def _pages(self, column: Column) -> int:
        return max(1, -(-len(self._entries(column)) // PAGE_SIZE))

    def head(self, title: str, metas: list[tuple[str, str]]) -> list[str]:
        return [
            XHTML,
            '<html xmlns="http://www.w3.org/1999/xhtml">',
            "<head>",
            '<meta http-equiv="Content-Type" content="text/html; charset=gbk" />',
            f"<title>{text(title)}</title>",
            *(f'<meta name="{name}" content="{attr(value)}" />' for name, value in metas),
            '<link href="/css/main.css" rel="stylesheet" type="text/css" />',
            "</head>",
        ]

    def header(self, moment) -> list[str]:
        return [
            '<div class="xxgk-top">',
            f'<a href="/"><img src="/images/logo.png" alt="{self.spec.site_name}" /></a>',
            f'<span class="xxgk-name">{self.spec.site_name}　政府信息公开</span>',
            f'<span class="xxgk-date">{long_date(moment)}</span>',
            "</div>",
            '<div class="nav"><ul><li><a href="/">首页</a></li><li><a href="/xxgk/">政府信息公开</a></li>'
            '<li><a href="/xxgk/zn/">信息公开指南</a></li><li><a href="/xxgk/nb/">信息公开年报</a></li>'
            '<li><a href="/xxgk/ysq/">依申请公开</a></li></ul></div>',
        ]

    def crumbs(self, column: Column) -> str:
        return (f'<div class="dqwz">当前位置：<a href="/">首页</a> &gt; <a href="/xxgk/">{column.parent}</a> &gt; '
                f'<a href="/xxgk/{column.key}/index.html">{column.name}</a></div>')

    def footer(self) -> list[str]:
        return [
            '<div class="footer">',
            f"<p>主办单位：{self.spec.site_name}办公室　技术支持：{self.spec.city}大数据中心</p>",
            f'<p>网站标识码：{self.spec.id_code}　<a href="javascript:void(0);">鲁ICP备05043127号</a>　'
            '<a href="javascript:void(0);">鲁公网安备 37082702000031号</a></p>',
            "</div>",
        ]

    def _pager(self, page: int, pages: int, total: int) -> str:
        def name(p: int) -> str:
            return "index.html" if p == 0 else f"index_{p + 1}.html"

        parts = [f"<span>共{total}条　{page + 1}/{pages}页</span>"]
        if page > 0:
            parts += [f'<a href="{name(0)}">首页</a>', f'<a href="{name(page - 1)}">上一页</a>']
        else:
            parts += ["<span>首页</span>", "<span>上一页</span>"]
        for p in range(max(0, page - WINDOW), min(pages, page + WINDOW + 1)):
            parts.append(f'<span class="current">{p + 1}</span>' if p == page else f'<a href="{name(p)}">{p + 1}</a>')
        if page + 1 < pages:
            parts += [f'<a href="{name(page + 1)}">下一页</a>', f'<a href="{name(pages - 1)}">尾页</a>']
        else:
            parts += ["<span>下一页</span>", "<span>尾页</span>"]
        return '<div class="page">' + " ".join(parts) + "</div>"

    def render_list(self, path: str) -> str:
        column, page = self.urls.list_page(path)
        entries = self._entries(column)
        pages = self._pages(column)
        lines = [
            *self.head(f"{column.name}_{self.spec.site_name}", [
                ("SiteName", self.spec.site_name), ("SiteDomain", self.spec.domain), ("SiteIDCode", self.spec.id_code),
                ("ColumnName", column.name), ("ColumnType", "信息公开"),
            ]),
            "<body>",
            *self.header(self.made_at),
            '<div class="main">',
            self.crumbs(column),
            '<table class="xxgk-list" width="100%" border="0" cellspacing="0" cellpadding="0">',
            '<tr class="head"><th width="220">索引号</th><th>名称</th><th width="180">发布机构</th>'
            '<th width="100">生成日期</th></tr>',
        ]
        folder = f"/xxgk/{column.key}/"
        for entry in entries[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]:
            doc = self.doc(entry.docid)
            table = dict(doc.xxgk)
            href = "./" + self.urls.article_path(entry)[len(folder):]
            lines.append(
                f'<tr><td>{text(table["索引号"])}</td><td class="mc"><a href="{href}" target="_blank" '
                f'title="{attr(doc.title)}">{text(_shown(doc.title))}</a></td><td>{text(table["发布机构"])}</td>'
                f"<td>{entry.day:%Y-%m-%d}</td></tr>"
            )
        lines += ["</table>", self._pager(page, pages, len(entries)), "</div>", *self.footer(), "</body>", "</html>", ""]
        return "\r\n".join(lines)

    def render_home(self) -> str:
        lines = [*self.head(self.spec.site_name, [("SiteName", self.spec.site_name), ("SiteIDCode", self.spec.id_code)]),
                 "<body>", *self.header(self.made_at), '<div class="main">']
        for column in self.spec.columns:
            lines.append(f'<div class="home-title"><a href="/xxgk/{column.key}/index.html">{column.name}</a></div><ul>')
            for path, title, day in self.rows(self._entries(column)[:6]):
                lines.append(f'<li><a href="{path}" title="{attr(title)}">{text(_shown(title))}</a>'
                             f"<span>{day:%Y-%m-%d}</span></li>")
            lines.append("</ul>")
        lines += ["</div>", *self.footer(), "</body>", "</html>", ""]
        return "\r\n".join(lines)

    def _table(self, doc: Doc) -> list[str]:
        if doc.xxgk_layout == "list":
            items = [f"<li><b>{label}：</b><span>{text(value)}</span></li>" for label, value in doc.xxgk]
            return ['<ul class="xxgk-info">', *items, "</ul>"]
        rows, pending = [], []
        for label, value in doc.xxgk:
            cell = f"<th>{label}：</th><td>{text(value)}</td>"
            if label == "名称":
                if pending:
                    rows.append("<tr>" + "".join(pending) + "</tr>")
                    pending = []
                rows.append(f'<tr><th>{label}：</th><td colspan="3">{text(value)}</td></tr>')
                continue
            pending.append(cell)
            if len(pending) == 2:
                rows.append("<tr>" + "".join(pending) + "</tr>")
                pending = []
        if pending:
            rows.append("<tr>" + "".join(pending) + "<th></th><td></td></tr>")
        return ['<table class="xxgk-table" width="100%" border="0" cellspacing="0" cellpadding="0">', *rows, "</table>"]

    def render_article(self, doc: Doc) -> str:
        spec, traps, column = self.spec, doc.traps, doc.column
        metas = [
            ("SiteName", spec.site_name), ("SiteDomain", spec.domain), ("SiteIDCode", spec.id_code),
            ("ColumnName", column.name), ("ColumnType", "信息公开"), ("ArticleTitle", doc.title),
            ("PubDate", f"{doc.made_at if traps.pubdate_is_maketime else doc.published_at:%Y-%m-%d %H:%M:%S}"),
            ("ContentSource", doc.meta_source), ("Keywords", column.name), ("Description", doc.description),
            ("Url", f"http://{spec.domain}{self.urls.article_path(doc.entry)}"),
        ]
        source = f'<span class="ly">来源：<span id="source">{text(doc.source or "")}</span></span>'
        if traps.commented_source:
            source += f"<!--<span class=\"ly\">来源：{text(traps.commented_source)}</span>-->"
        hidden = ' style="display:none"' if traps.script_reveal else ""
        head = [
            *self.head(doc.title, metas),
            "<body>",
            *self.header(doc.made_at),
            '<div class="main">',
            self.crumbs(column),
            '<div class="xxgk-meta">',
            *self._table(doc),
            "</div>",
            '<div class="xxgk-article">',
            f'<h1 class="xxgk-title">{text(doc.title)}</h1>',
            f'<div class="xxgk-sub"><span>发布时间：{doc.published_at:%Y-%m-%d}</span>　{source}　'
            '<span>浏览次数：<span id="hits">--</span></span></div>',
            f'<div class="xxgk-content" id="Zoom"{hidden}>',
        ]
        body = self.body_lines(doc)
        tail = ["</div>"]
        if traps.script_reveal:
            tail.append('<script type="text/javascript">document.getElementById("Zoom").style.display = "";</script>')
        if doc.attachments:
            links = "".join(f'<p><a href="{attr(self.media_url(doc, a.name))}">{text(a.label)}</a></p>'
                            for a in doc.attachments)
            tail.append(f'<div class="xxgk-fj"><p>附件：</p>{links}</div>')
        tail += [
            '<div class="share"><span>分享到：</span><a href="javascript:void(0);"><img src="/images/share_wx.png" '
            'alt="微信" /></a><a href="javascript:void(0);"><img src="/images/share_wb.png" alt="微博" /></a></div>',
            '<div class="ewm"><img src="/images/ewm.png" alt="手机扫一扫" /><span>手机扫一扫</span></div>',
            "</div>",
            "</div>",
            *self.footer(),
            "</body>",
            "</html>",
            "",
        ]
        return "\r\n".join(head + body + tail)
