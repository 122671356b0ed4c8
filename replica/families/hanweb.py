"""A Hanweb JCMS (大汉) county portal: jpage columns, dataproxy.jsp, art_COL_DOC pages.

Column pages hold their first group of rows (perPage × groupSize = 45) in an
inline `<script type="text/xml"><datastore>`; the jpage script asks
`/module/web/jpage/dataproxy.jsp?startrecord=S&endrecord=E&perpage=P` for the
rest by POST, with the list module's fields (col, appid, webid, path,
columnid, sourceContentType, unitid, webname, permissiontype) as the form.
Article pages carry Hanweb's meta tags and `<!--<$[信息内容]>begin-->` markers.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote

from replica.families.base import FamilySite, attr, dynamic, long_date, text
from replica.families.doc import Doc
from replica.families.urls import HanwebUrls
from replica.resource import Resource
from replica.spec import Column

PER_PAGE, GROUP_SIZE = 15, 3
FIRST_GROUP = PER_PAGE * GROUP_SIZE
MAX_RECORDS = 300  # the most records one dataproxy answer holds
TITLE_CUT = 28
XHTML = ('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
         '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">')
NEWS_CENTRE = "25830"  # the parent column: linked, never served (404), like the TRS site's menus
NAV = (("/", "首页"), (f"/col/col{NEWS_CENTRE}/index.html", "新闻中心"), ("/col/col25850/index.html", "政务公开"),
       ("/col/col25860/index.html", "政民互动"), ("/col/col25870/index.html", "走进微山"))
_COLUMN = re.compile(r"^/col/col(\d+)/(?:index\.html)?$")


def _shown(title: str) -> str:
    return title if len(title) <= TITLE_CUT else title[:TITLE_CUT] + "..."


def _int(value: str | None, default: int) -> int | None:
    """A positive integer parameter; None when it is there but not a positive integer."""
    if value is None or value == "":
        return default
    return int(value) if value.isdigit() and 0 < int(value) < 10**9 else None


class HanwebSite(FamilySite):
    urls: HanwebUrls

    def _column(self, path: str) -> Column | None:
        match = _COLUMN.match(path)
        return self.spec.column(match.group(1)) if match else None

    def is_list(self, path: str) -> bool:
        return self._column(path) is not None

    def params(self, column: Column) -> dict[str, str]:
        """The list module's fields, as param_UNIT declares them and jpage posts them."""
        return {
            "col": "1", "appid": "1", "webid": self.spec.web_id, "path": "/", "columnid": column.key,
            "sourceContentType": "1", "unitid": column.unit, "webname": self.spec.site_name, "permissiontype": "0",
        }

    def record(self, path: str, title: str, day) -> str:
        return (f"<record><![CDATA[\n<li><a href='{path}' title='{attr(title)}' target=\"_blank\">"
                f"{text(_shown(title))}</a><span>{day:%Y-%m-%d}</span></li>]]></record>")

    # -- pages ------------------------------------------------------------------------------------

    def head(self, title: str, metas: list[tuple[str, str]]) -> list[str]:
        return [
            XHTML,
            '<html xmlns="http://www.w3.org/1999/xhtml">',
            "<head>",
            '<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />',
            f"<title>{text(title)}</title>",
            *(f'<meta name="{name}" content="{attr(value)}">' for name, value in metas),
            '<link href="/css/main.css" rel="stylesheet" type="text/css" />',
            '<script type="text/javascript" src="/module/jslib/jquery/jquery.js"></script>',
            '<script type="text/javascript" src="/module/jslib/jquery/jpage/jquery.page.js"></script>',
            "</head>",
        ]

    def header(self, moment) -> list[str]:
        lines = [
            '<div class="top"><div class="top-in">',
            f'<span class="today">{long_date(moment)}</span>',
            '<span class="top-links"><a href="javascript:void(0);">设为首页</a> | <a href="javascript:void(0);">加入收藏</a> | '
            '<a href="/col/col25880/index.html">无障碍浏览</a></span>',
            "</div></div>",
            f'<div class="header"><a href="/"><img src="/images/logo.png" alt="{self.spec.site_name}" /></a></div>',
            '<div class="nav"><ul>',
            *(f'<li><a href="{href}">{label}</a></li>' for href, label in NAV),
            "</ul></div>",
        ]
        return lines

    def crumbs(self, column: Column) -> str:
        return (f'<div class="position">当前位置：<a href="/">首页</a> &gt; <a href="/col/col{NEWS_CENTRE}/index.html">'
                f'{column.parent}</a> &gt; <a href="/col/col{column.key}/index.html">{column.name}</a></div>')

    def footer(self) -> list[str]:
        return [
            '<div class="footer">',
            f"<p>主办：{self.spec.site_name}办公室　承办：{self.spec.city}大数据中心</p>",
            f'<p>政府网站标识码：{self.spec.id_code}　<a href="javascript:void(0);">鲁ICP备05012876号-1</a>　'
            '<a href="javascript:void(0);"><img src="/images/logo.png" alt="" width="16" height="16" />'
            "鲁公网安备 37082602000118号</a></p>",
            "</div>",
        ]

    def render_list(self, path: str) -> str:
        column = self._column(path)
        entries = self.corpus.columns[self.spec.columns.index(column)]
        unit = column.unit
        params = self.params(column)
        webname = quote(quote(self.spec.site_name))  # Hanweb double-encodes webname in the nextgroup link
        nextgroup = (f"{HanwebUrls.DATAPROXY}?page=1&appid=1&webid={self.spec.web_id}&path=/&columnid={column.key}"
                     f"&unitid={unit}&webname={webname}&permissiontype=0")
        declared = ",".join(f"{k}:{v}" if v.isdigit() else f"{k}:'{v}'" for k, v in params.items())
        on = ' class="on"'
        side = [f'<li{on if c == column else ""}><a href="/col/col{c.key}/index.html">{c.name}</a></li>'
                for c in self.spec.columns]
        lines = [
            *self.head(f"{column.name} {self.spec.site_name}", [
                ("SiteName", self.spec.site_name), ("SiteDomain", self.spec.domain), ("SiteIdcode", self.spec.id_code),
                ("ColumnName", column.name), ("ColumnType", "要闻动态"),
            ]),
            "<body>",
            *self.header(self.made_at),
            '<div class="main">',
            self.crumbs(column),
            f'<div class="side"><div class="side-title">{column.parent}</div><ul>', *side, "</ul></div>",
            f'<div class="list"><div class="list-title"><span>{column.name}</span></div>',
            f'<div id="{unit}"><script type="text/xml"><datastore>',
            f'<nextgroup><![CDATA[<a href="{nextgroup}"></a>]]></nextgroup>',
            "<recordset>",
            *(self.record(*row) for row in self.rows(entries[:FIRST_GROUP])),
            "</recordset></datastore></script></div>",
            "</div>",
            "</div>",
            '<script type="text/javascript">',
            f"var param_{unit} = {{{declared}}};",
            "$(document).ready(function(){",
            f"  $('#{unit}').jpage({{totalRecord:{len(entries)}, perPage:{PER_PAGE}, groupSize:{GROUP_SIZE}, "
            f"proxyUrl:'{HanwebUrls.DATAPROXY}', ajaxParam:param_{unit}, dataBefore:'<ul class=\"list\">', "
            "dataAfter:'</ul>', barPosition:'bottom'});",
            "});",
            "</script>",
            *self.footer(),
            "</body>",
            "</html>",
            "",
        ]
        return "\r\n".join(lines)

    def render_home(self) -> str:
        lines = [*self.head(self.spec.site_name, [("SiteName", self.spec.site_name), ("SiteIdcode", self.spec.id_code)]),
                 "<body>", *self.header(self.made_at), '<div class="main">']
        for i, column in enumerate(self.spec.columns):
            lines.append(f'<div class="home-news"><div class="home-title"><a href="/col/col{column.key}/index.html">'
                         f'{column.name}</a></div><ul class="list">')
            for path, title, day in self.rows(self.corpus.columns[i][:6]):
                lines.append(f'<li><a href="{path}" target="_blank" title="{attr(title)}">{text(_shown(title))}</a>'
                             f"<span>{day:%m-%d}</span></li>")
            lines.append("</ul></div>")
        lines += ["</div>", *self.footer(), "</body>", "</html>", ""]
        return "\r\n".join(lines)

    def render_article(self, doc: Doc) -> str:
        spec, traps, column = self.spec, doc.traps, doc.column
        url = f"http://{spec.domain}{self.urls.article_path(doc.entry)}"
        metas = [
            ("SiteName", spec.site_name), ("SiteDomain", spec.domain), ("SiteIdcode", spec.id_code),
            ("ColumnName", column.name), ("ColumnDescription", f"{spec.city}{column.name}"),
            ("ColumnKeywords", column.name), ("ColumnType", "要闻动态"), ("ArticleTitle", doc.title),
            ("PubDate", doc.pubdate_meta), ("ContentSource", doc.meta_source), ("Keywords", column.name),
            ("Author", ""), ("Description", doc.description), ("Url", url),
        ]
        source = text(doc.source or "")
        info = [
            '<div class="art-info">',
            f"<span>发布日期：<!--<$[发布日期]>begin-->{doc.shown_date}<!--<$[发布日期]>end--></span>",
            *([f"<span>更新日期：{doc.made_at:%Y-%m-%d}</span>"] if traps.updated_shown else []),
            f"<span>信息来源：<!--<$[信息来源]>begin-->{source}<!--<$[信息来源]>end--></span>",
        ]
        if traps.commented_source:
            info.append(f"<!--<span>信息来源：{text(traps.commented_source)}</span>-->")
        info += ['<span>浏览次数：<span id="hits">--</span></span>',
                 '<span>字体：[<a href="javascript:doZoom(18)">大</a> <a href="javascript:doZoom(16)">中</a> '
                 '<a href="javascript:doZoom(14)">小</a>]</span>', "</div>"]
        hidden = ' style="display:none"' if traps.script_reveal else ""
        body = [f'<div class="art-content" id="zoom"{hidden}>',
                '<!--<$[信息内容]>begin--><meta name="ContentStart">', *self.body_lines(doc),
                '<meta name="ContentEnd"><!--<$[信息内容]>end-->']
        if traps.qr_in_body:
            body.append('<div class="ewm"><img src="/images/ewm.png" alt="扫一扫在手机打开当前页" /></div>')
        body.append("</div>")
        if traps.script_reveal:
            body.append('<script type="text/javascript">document.getElementById("zoom").style.display = "block";</script>')
        tail = []
        if doc.attachments:
            links = "".join(f'<li><a href="{attr(self.media_url(doc, a.name))}" target="_blank">{text(a.label)}</a></li>'
                            for a in doc.attachments)
            tail.append(f'<div class="fujian"><span>相关附件：</span><ul>{links}</ul></div>')
        tail += [
            '<div class="art-share">分享到：<a href="javascript:void(0);"><img src="/images/share_wx.png" alt="微信" /></a>'
            '<a href="javascript:void(0);"><img src="/images/share_wb.png" alt="微博" /></a>'
            '<a href="javascript:void(0);"><img src="/images/share_qq.png" alt="QQ空间" /></a></div>',
            '<div class="art-ewm"><img src="/images/ewm.png" alt="扫一扫在手机打开当前页" /><p>扫一扫在手机打开当前页</p></div>',
            '<div class="art-tools"><a href="javascript:window.print();">【打印本页】</a> '
            '<a href="javascript:window.close();">【关闭窗口】</a></div>',
        ]
        head = [
            *self.head(f"{doc.title} {column.name} {spec.site_name}", metas),
            "<body>",
            *self.header(doc.made_at),
            '<div class="main">',
            self.crumbs(column),
            '<div class="article">',
            f'<div class="art-title"><!--<$[标题名称]>begin-->{text(doc.title)}<!--<$[标题名称]>end--></div>',
            *info,
        ]
        end = ["</div>", "</div>", *self.footer(), "</body>", "</html>", ""]
        return "\r\n".join(head) + "\r\n" + "\n".join(body) + "\r\n" + "\r\n".join(tail + end)

    # -- dataproxy.jsp ----------------------------------------------------------------------------

    def _dataproxy(self, fields: dict[str, str]) -> Resource:
        column = self.spec.column(fields.get("columnid", ""))
        if column is not None and fields.get("unitid") not in (None, "", column.unit):
            column = None  # another module's unitid: Hanweb finds no list for it
        start = _int(fields.get("startrecord"), 1)
        per_page = _int(fields.get("perpage"), PER_PAGE)
        end = _int(fields.get("endrecord"), (start or 1) + FIRST_GROUP - 1)
        entries = [] if column is None else self.corpus.columns[self.spec.columns.index(column)]
        rows = []
        if None not in (start, end, per_page):
            end = min(end, start + MAX_RECORDS - 1, len(entries))
            rows = self.rows(entries[start - 1 : end]) if start <= end else []
        total = len(entries)
        pages = -(-total // (per_page or PER_PAGE))
        lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<datastore>", f"<totalrecord>{total}</totalrecord>",
                 f"<totalpage>{pages}</totalpage>", "<recordset>", *(self.record(*row) for row in rows),
                 "</recordset>", "</datastore>", ""]
        return dynamic("\n".join(lines).encode("utf-8"), "text/xml;charset=UTF-8")

    def _fields(self, query: str, form: dict[str, str] | None) -> dict[str, str]:
        fields = dict(parse_qsl(query, keep_blank_values=True))
        fields.update(form or {})
        return fields

    def post(self, path: str, query: str, form: dict[str, str]) -> Resource:
        if path == HanwebUrls.DATAPROXY:
            return self._dataproxy(self._fields(query, form))
        return super().post(path, query, form)

    def route(self, path: str, query: str, host: str) -> Resource | None:
        if path == HanwebUrls.DATAPROXY:  # the same fields in the query string answer a GET
            return self._dataproxy(self._fields(query, None))
        return None

    def fault_key(self, path: str, query: str, form: dict[str, str] | None) -> tuple[str, str] | None:
        if path == HanwebUrls.DATAPROXY:
            fields = self._fields(query, form)
            key = "&".join(f"{k}={fields.get(k, '')}" for k in ("columnid", "startrecord", "endrecord", "perpage"))
            return "list", f"{path}?{key}"
        return super().fault_key(path, query, form)
