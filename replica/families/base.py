"""What every family site shares: routing, media, removed articles, caching and wire faults.

A family site answers `resolve(path, query, host, form)` like replica.site.Site
(`form` is the decoded body of a POST, None for GET and HEAD).  Subclasses
render their family's pages (`render_article`, `render_home`) and answer their
own list routes (`route`, `post`).  Pages are made on demand and kept in
small LRU caches; nothing renders the whole site.

With an active FaultPlan the site also says, before each request is
resolved, whether it must fail on the wire (`failure`): the answer faults of
replica.faults (5xx, 429, reset, drop, slow).  Page-level faults are TRS-only.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from functools import lru_cache
from html import escape

from replica.corpus import CST, edition_time
from replica.families.assets import static_files
from replica.families.corpus import FamilyCorpus
from replica.families.doc import Doc, Photo, make_doc
from replica.families.urls import url_map
from replica.faults import FaultPlan
from replica.media import CONTENT_TYPES, media_bytes
from replica.resource import Resource, error_page, not_found, ok, redirect
from replica.site import HTML_TYPES

STATIC_TIME = datetime(2019, 9, 1, 9, 30, tzinfo=CST)
WEEKDAYS = "一二三四五六日"


def attr(value: str) -> str:
    return escape(value, quote=True)


def text(value: str) -> str:
    return escape(value, quote=False)


def long_date(moment: datetime) -> str:
    """2024年05月21日 星期二, as the header of a regenerated page shows it."""
    return f"{moment:%Y年%m月%d日} 星期{WEEKDAYS[moment.weekday()]}"


def dynamic(body: bytes, content_type: str) -> Resource:
    """A generated answer (JSP, JSON API): no ETag or Last-Modified, gzip when accepted."""
    return Resource(status=200, body=body, content_type=content_type, html=True,
                    headers=[("Cache-Control", b"no-cache")])


class FamilySite:
    """Answers paths for one edition of a family corpus.  Thread-safe."""

    robots = b"User-agent: *\r\nDisallow: /admin/\r\nDisallow: /search/\r\n"

    def __init__(self, corpus: FamilyCorpus, plan: FaultPlan | None = None) -> None:
        self.corpus, self.spec = corpus, corpus.spec
        self.urls = url_map(self.spec)
        self.plan = plan if plan is not None else FaultPlan()
        self.made_at = edition_time(corpus.edition) - timedelta(minutes=10)
        self.static = static_files(self.spec.cms)
        self.doc = lru_cache(maxsize=4096)(self._doc)
        self._article = lru_cache(maxsize=1024)(self._render_article)
        self._page = lru_cache(maxsize=512)(self._render_page)
        self.attempts: dict[str, int] = {}  # requests seen so far, for keys with an answer fault
        self.lock = threading.Lock()

    # -- what subclasses provide -------------------------------------------------------------

    def render_article(self, doc: Doc) -> str:
        raise NotImplementedError

    def render_home(self) -> str:
        raise NotImplementedError

    def is_list(self, path: str) -> bool:
        """Whether `path` is a list page the site answers (cheap: nothing is rendered)."""
        raise NotImplementedError

    def render_list(self, path: str) -> str:
        """The list page at `path` (is_list(path) is true)."""
        raise NotImplementedError

    def route(self, path: str, query: str, host: str) -> Resource | None:
        """A GET the family answers itself (JSON API, dataproxy by GET), or None."""
        return None

    def post(self, path: str, query: str, form: dict[str, str]) -> Resource:
        """A POST: nginx refuses them except where a family has a data endpoint."""
        return error_page(405)

    def fault_key(self, path: str, query: str, form: dict[str, str] | None) -> tuple[str, str] | None:
        """(kind, key) for requests answer faults may hit: kind "article", "list" or "media"."""
        if self.urls.article_docid(path) is not None:
            return "article", path
        if self.urls.media_docid(path, query) is not None:
            return "media", path + ("?" + query if query else "")
        if self.is_list(path):  # a folder and its index.html are one page, with one counter
            return "list", path + "index.html" if path.endswith("/") else path
        return None

    # -- shared behaviour ---------------------------------------------------------------------

    def _doc(self, docid: int) -> Doc:
        return make_doc(self.spec, self.corpus.entry(docid), self.corpus.seed)

    def rows(self, entries) -> list[tuple[str, str, object]]:
        """(path, title, date) of list rows."""
        return [(self.urls.article_path(e), self.doc(e.docid).title, e.day) for e in entries]

    def media_url(self, doc: Doc, name: str) -> str:
        return self.urls.media_path(doc.entry, name)

    def resolve(self, path: str, query: str = "", host: str = "127.0.0.1",
                form: dict[str, str] | None = None) -> Resource:
        """The resource at `path`; `host` (the request's Host) makes absolute redirects."""
        if form is not None:
            return self.post(path, query, form)
        if path == "/robots.txt":
            return ok(self.robots, "text/plain", STATIC_TIME)
        if path in self.static:
            content_type, body = self.static[path]
            return ok(body, content_type, STATIC_TIME)
        media = self.urls.media_docid(path, query)
        if media is not None:
            return self._media(path, *media)
        docid = self.urls.article_docid(path)
        if docid is not None:
            if self.corpus.gone.get(docid) == "redirect":
                return redirect(f"http://{host}/")
            entry = self.corpus.entry(docid)
            if entry is None or self.urls.article_path(entry) != path:
                return not_found()
            return self._article(docid)
        return self.route(path, query, host) or self._page(path) or not_found()

    def _render_article(self, docid: int) -> Resource:
        doc = self.doc(docid)
        body = self.render_article(doc).encode(self.spec.charset)
        return ok(body, HTML_TYPES[self.spec.charset], doc.made_at, html=True, chunked=doc.entry.chunked)

    def _render_page(self, path: str) -> Resource | None:
        if path in ("/", "/index.html"):
            page = self.render_home()
        elif self.is_list(path):
            page = self.render_list(path)
        else:
            return None
        return ok(page.encode(self.spec.charset), HTML_TYPES[self.spec.charset], self.made_at, html=True,
                  chunked=path not in ("/", "/index.html"))

    def _media(self, path: str, docid: int, name: str) -> Resource:
        entry = self.corpus.entry(docid)
        if entry is None or self.urls.media_path(entry, name).partition("?")[0] != path:
            return not_found()
        doc = self.doc(docid)
        names = [p.name for p in doc.photos] + [a.name for a in doc.attachments]
        if name not in names:
            return not_found()
        res = ok(media_bytes(name), CONTENT_TYPES[name.rsplit(".", 1)[1]], doc.published_at - timedelta(minutes=30))
        if not name.endswith(".jpg"):
            res.headers.append(("Content-Disposition", f'attachment; filename="{name}"'.encode("ascii")))
        return res

    def failure(self, path: str, query: str = "", form: dict[str, str] | None = None) -> tuple[str, int] | None:
        """Count a request; (fault kind, attempt number) if this one must fail on the wire."""
        if not self.plan.active:
            return None
        found = self.fault_key(path, query, form)
        if found is None:
            return None
        kind, key = found
        fault = self.plan.request_fault(key, article=kind == "article")
        if fault is None:
            return None
        with self.lock:
            attempt = self.attempts[key] = self.attempts.get(key, 0) + 1
        return (fault.kind, attempt) if fault.fails(attempt) else None

    # -- markup helpers the families share --------------------------------------------------

    def body_lines(self, doc: Doc, para: str = "p") -> list[str]:
        """The body paragraphs: text (indented per the page's look), photos with captions, the hidden box."""
        lines = []
        for i, block in enumerate(doc.blocks):
            if isinstance(block, Photo):
                lines += self.photo_lines(doc, block, para)
            else:
                lines.append(self.text_line(doc, block, para))
            if doc.traps.hidden_box is not None and i == doc.traps.hidden_after:
                lines.append(f'<div class="wx-share" style="display:none">{text(doc.traps.hidden_box)}</div>')
        return lines

    def text_line(self, doc: Doc, value: str, para: str) -> str:
        indent = doc.traps.indent
        if doc.kind == "notice" and (value == doc.blocks[-1] or value == doc.blocks[-2]):
            return f'<{para} style="text-align: right;">{text(value)}</{para}>'
        if indent == "ideographic":
            return f"<{para}>\u3000\u3000{text(value)}</{para}>"
        if indent == "css":
            return f'<{para} style="text-indent: 2em;">{text(value)}</{para}>'
        return f"<{para}>{text(value)}</{para}>"

    def photo_lines(self, doc: Doc, photo: Photo, para: str) -> list[str]:
        src = self.media_url(doc, photo.name)
        lines = [f'<{para} style="text-align: center;"><img src="{attr(src)}" alt="{attr(photo.alt)}" border="0" /></{para}>']
        if photo.caption is not None:
            lines.append(f'<{para} style="text-align: center;">{text(photo.caption)}</{para}>')
        return lines
