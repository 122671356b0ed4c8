"""A script-and-JSON portal: list pages are empty shells a script fills from a JSON API.

`/news/KEY/index.html` holds no rows: list.js asks
`/api/content/list?channel=KEY&page=N&size=20` and renders its answer
`{"total": …, "pages": …, "page": N, "size": 20, "list": [{"id", "title", "url", "date", "channel"}, …]}`.
Article pages are server-rendered HTML5 whose body stays hidden (`v-cloak`)
until article.js runs.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from replica.families.base import FamilySite, attr, dynamic, text
from replica.families.doc import Doc
from replica.families.urls import JsonUrls
from replica.resource import Resource
from replica.spec import Column

DEFAULT_SIZE, MAX_SIZE = 20, 100


def _json(data: dict, status: int = 200) -> Resource:
    res = dynamic(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
                  "application/json;charset=UTF-8")
    res.status = status
    return res


class JsonSite(FamilySite):
    urls: JsonUrls

    def _column(self, path: str) -> Column | None:
        for column in self.spec.columns:
            if path in (f"/news/{column.key}/", f"/news/{column.key}/index.html"):
                return column
        return None

    def is_list(self, path: str) -> bool:
        return self._column(path) is not None

    def head(self, title: str, metas: list[tuple[str, str]]) -> list[str]:
        return [
            "<!DOCTYPE html>",
            '<html lang="zh-CN">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{text(title)}</title>",
            *(f'<meta name="{name}" content="{attr(value)}">' for name, value in metas),
            '<link rel="stylesheet" href="/css/main.css">',
            "<style>[v-cloak]{display:none}</style>",
            "</head>",
        ]

    def header(self) -> list[str]:
        nav = "".join(f'<a href="/news/{c.key}/index.html">{c.name}</a>' for c in self.spec.columns)
        return [
            '<header class="header">',
            f'<a class="logo" href="/"><img src="/images/logo.png" alt="{self.spec.site_name}"></a>',
            f'<nav class="nav"><a href="/">首页</a>{nav}<a href="/zwgk/">政务公开</a><a href="/hdjl/">互动交流</a></nav>',
            "</header>",
        ]

    def crumbs(self, column: Column) -> str:
        return (f'<div class="crumb">当前位置：<a href="/">首页</a> &gt; <a href="/news/">{column.parent}</a> &gt; '
                f"<span>{column.name}</span></div>")

    def footer(self) -> list[str]:
        return [
            '<footer class="footer">',
            f"<p>{self.spec.site_name} 版权所有　主办：{self.spec.site_name}办公室</p>",
            f'<p>网站标识码 {self.spec.id_code}　<a href="javascript:;">鲁ICP备11023659号</a>　'
            '<a href="javascript:;">鲁公网安备 37083102000087号</a></p>',
            "</footer>",
        ]

    def render_list(self, path: str) -> str:
        column = self._column(path)
        lines = [
            *self.head(f"{column.name}-{self.spec.site_name}", [
                ("SiteName", self.spec.site_name), ("SiteDomain", self.spec.domain), ("SiteIDCode", self.spec.id_code),
                ("ColumnName", column.name), ("ColumnType", "工作动态"),
            ]),
            "<body>",
            *self.header(),
            '<main class="main">',
            self.crumbs(column),
            f'<section class="list-wrap" id="app" data-channel="{column.key}" data-api="{JsonUrls.API}" '
            f'data-size="{DEFAULT_SIZE}">',
            f'<h2 class="list-title">{column.name}</h2>',
            '<ul class="news-list" id="newsList"></ul>',
            '<div class="pager" id="pager"></div>',
            "<noscript>请开启浏览器的JavaScript功能以浏览本栏目。</noscript>",
            "</section>",
            "</main>",
            *self.footer(),
            '<script src="/static/js/list.js"></script>',
            "<script>NewsList.init({el:'#newsList', pager:'#pager', api:'" + JsonUrls.API + "', channel:'"
            + column.key + f"', size:{DEFAULT_SIZE}}});</script>",
            "</body>",
            "</html>",
            "",
        ]
        return "\n".join(lines)

    def render_home(self) -> str:
        lines = [*self.head(self.spec.site_name, [("SiteName", self.spec.site_name), ("SiteIDCode", self.spec.id_code)]),
                 "<body>", *self.header(), '<main class="main">']
        for column in self.spec.columns:
            lines.append(f'<h2><a href="/news/{column.key}/index.html">{column.name}</a></h2>')
        lines += ["</main>", *self.footer(), "</body>", "</html>", ""]
        return "\n".join(lines)

    def render_article(self, doc: Doc) -> str:
        spec, traps, column = self.spec, doc.traps, doc.column
        metas = [
            ("SiteName", spec.site_name), ("SiteDomain", spec.domain), ("SiteIDCode", spec.id_code),
            ("ColumnName", column.name), ("ColumnType", "工作动态"), ("ArticleTitle", doc.title),
            ("PubDate", doc.pubdate_meta), ("ContentSource", doc.meta_source), ("Keywords", column.name),
            ("Description", doc.description), ("Url", f"http://{spec.domain}{self.urls.article_path(doc.entry)}"),
        ]
        meta = [f'<span class="time">发布时间：{doc.shown_date}</span>']
        if traps.updated_shown:
            meta.append(f'<span class="updated">更新时间：{doc.made_at:%Y-%m-%d %H:%M}</span>')
        meta.append(f'<span class="source">来源：{text(doc.source or "")}</span>')
        if traps.commented_source:
            meta.append(f"<!-- <span class=\"source\">来源：{text(traps.commented_source)}</span> -->")
        meta.append('<span class="views">浏览量：<em id="views">--</em></span>')
        lines = [
            *self.head(f"{doc.title}-{spec.site_name}", metas),
            "<body>",
            *self.header(),
            '<main class="main">',
            self.crumbs(column),
            '<article class="article" id="article">',
            f'<h1 class="article-title">{text(doc.title)}</h1>',
            '<div class="article-meta">' + "".join(meta) + "</div>",
            '<div class="article-body" id="articleBody" v-cloak>',
            *self.body_lines(doc),
        ]
        if traps.qr_in_body:
            lines.append('<div class="qrcode"><img src="/images/ewm.png" alt="扫码在手机上阅读"></div>')
        lines.append("</div>")
        if doc.attachments:
            lines.append('<div class="article-files"><h4>附件下载</h4><ul>')
            lines += [f'<li><a href="{attr(self.media_url(doc, a.name))}" download>{text(a.label)}</a></li>'
                      for a in doc.attachments]
            lines.append("</ul></div>")
        lines += [
            '<div class="article-share"><span>分享：</span><a href="javascript:;"><img src="/images/share_wx.png" alt="微信"></a>'
            '<a href="javascript:;"><img src="/images/share_wb.png" alt="微博"></a></div>',
            '<div class="article-qr"><img src="/images/ewm.png" alt="扫一扫在手机打开当前页"><p>扫一扫在手机打开当前页</p></div>',
            "</article>",
            "</main>",
            *self.footer(),
            '<script src="/static/js/article.js"></script>',
            "</body>",
            "</html>",
            "",
        ]
        return "\n".join(lines)

    # -- the list API -----------------------------------------------------------------------------

    def _query(self, query: str) -> tuple[Column | None, int | None, int | None]:
        params = dict(parse_qsl(query, keep_blank_values=True))
        column = self.spec.column(params.get("channel", ""))
        page, size = params.get("page", "1") or "1", params.get("size", str(DEFAULT_SIZE)) or str(DEFAULT_SIZE)
        if not (page.isdigit() and size.isdigit() and 0 < int(page) < 10**9 and 0 < int(size)):
            return column, None, None
        return column, int(page), min(int(size), MAX_SIZE)

    def route(self, path: str, query: str, host: str) -> Resource | None:
        if path != JsonUrls.API:
            return None
        column, page, size = self._query(query)
        if page is None:
            return _json({"total": 0, "pages": 0, "list": [], "error": "page and size must be positive integers"}, 400)
        entries = [] if column is None else self.corpus.columns[self.spec.columns.index(column)]
        start = (page - 1) * size
        rows = [
            {"id": e.docid, "title": title, "url": url, "date": f"{day:%Y-%m-%d}", "channel": column.key}
            for e, (url, title, day) in zip(entries[start : start + size], self.rows(entries[start : start + size]))
        ]
        return _json({"total": len(entries), "pages": -(-len(entries) // size), "page": page, "size": size,
                      "list": rows})

    def fault_key(self, path: str, query: str, form: dict[str, str] | None) -> tuple[str, str] | None:
        if path == JsonUrls.API:
            column, page, size = self._query(query)
            return "list", f"{path}?channel={column.key if column else ''}&page={page}&size={size}"
        return super().fault_key(path, query, form)
