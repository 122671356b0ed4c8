"""The portal as a function from path to Resource, rendered on demand.

`Site(corpus)` never renders the whole section: each page is made when first
asked for and kept in a small LRU cache.
"""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta
from functools import lru_cache

from replica import chrome, fixtures
from replica.article import Article, make_article
from replica.corpus import CST, SECTION, Corpus, edition_time
from replica.media import CONTENT_TYPES, jpeg_bytes, media_bytes
from replica.render_article import render_article
from replica.render_list import PAGE_SIZE, page_count, render_home, render_list
from replica.resource import Resource, not_found, ok, redirect

ROBOTS = b"User-agent: *\r\nDisallow: /protect/\r\nDisallow: /search/\r\n"
STATIC_TIME = datetime(2018, 6, 1, 9, 30, tzinfo=CST)
STATIC = {
    "/css/style.css": ("text/css", chrome.STYLE_CSS.encode("utf-8")),
    "/js/common.js": ("application/javascript", chrome.COMMON_JS.encode("utf-8")),
    "/js/jquery.min.js": ("application/javascript", chrome.JQUERY_STUB.encode("utf-8")),
    "/images/logo.jpg": ("image/jpeg", jpeg_bytes("logo")),
}
_LIST = re.compile(r"^/xwzx/gyjj/index(?:_([1-9]\d*))?\.html$")
_ARTICLE = re.compile(r"^/xwzx/gyjj/(\d{6})/t(\d{8})_(\d{7})\.html$")
_MEDIA = re.compile(r"^/xwzx/gyjj/(\d{6})/([WP]0(\d{8})(\d{7})\d{5}\.(jpg|pdf|doc|xls))$")
HTML_TYPES = {"utf-8": "text/html; charset=utf-8", "gbk": "text/html; charset=GBK"}


class Site:
    """Answers paths for one corpus edition.  Thread-safe; holds the flaky-fixture state."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        self.made_at = edition_time(corpus.edition) - timedelta(minutes=10)
        self.article = lru_cache(maxsize=2048)(self._article)
        self._page = lru_cache(maxsize=512)(self._render_page)
        self.flaky_seen: set[str] = set()
        self.lock = threading.Lock()

    def _article(self, docid: int) -> Article:
        return make_article(self.corpus.entry(docid), self.corpus.seed)

    def resolve(self, path: str, query: str = "", host: str = "127.0.0.1") -> Resource:
        """The resource at `path`; `host` (the request's Host) makes absolute redirects."""
        if path.startswith("/fixtures/"):
            return fixtures.resolve(self, path[len("/fixtures/"):], query, host)
        if path == "/robots.txt":
            return ok(ROBOTS, "text/plain", STATIC_TIME)
        if path in STATIC:
            content_type, body = STATIC[path]
            return ok(body, content_type, STATIC_TIME)
        match = _MEDIA.match(path)
        if match:
            return self._media(*match.groups())
        match = _ARTICLE.match(path)
        if match:
            docid = int(match.group(3))
            if self.corpus.gone.get(docid) == "redirect":
                return redirect(f"http://{host}/")
            entry = self.corpus.entry(docid)
            if entry is None or entry.path != path:
                return not_found()
            return self._page(path)
        if path in ("/", "/index.html", SECTION) or _LIST.match(path):
            return self._page(path) or not_found()
        return not_found()

    def _render_page(self, path: str) -> Resource | None:
        corpus = self.corpus
        if path in ("/", "/index.html"):
            body = render_home(self.rows(0, 8), self.made_at).encode("utf-8")
            return ok(body, HTML_TYPES["utf-8"], self.made_at, html=True)
        match = _LIST.match(path) if path != SECTION else _LIST.match(SECTION + "index.html")
        if match:
            page = int(match.group(1) or 0)
            pages = page_count(len(corpus.entries))
            if page >= pages:
                return None
            rows = self.rows(page * PAGE_SIZE, PAGE_SIZE)
            body = render_list(rows, page, pages, self.made_at).encode("utf-8")
            return ok(body, HTML_TYPES["utf-8"], self.made_at, html=True, chunked=True)
        docid = int(path.rsplit("_", 1)[1][:7])
        article = self.article(docid)
        body = render_article(article).encode(article.entry.charset)
        return ok(body, HTML_TYPES[article.entry.charset], article.made_at, html=True, chunked=article.entry.chunked)

    def rows(self, start: int, count: int) -> list[tuple[str, str, object]]:
        """(path, title, date) for `count` list rows from position `start`."""
        out = []
        for entry in self.corpus.entries[start : start + count]:
            out.append((entry.path, self.article(entry.docid).title, entry.day))
        return out

    def _media(self, month: str, filename: str, day: str, docid: str, ext: str) -> Resource:
        entry = self.corpus.entry(int(docid))
        if entry is None or f"{entry.day:%Y%m}" != month:
            return not_found()
        article = self.article(entry.docid)
        names = [p.filename for p in article.photos] + [a.filename for a in article.attachments]
        if filename not in names:
            return not_found()
        uploaded = article.published_at - timedelta(minutes=30)
        return ok(media_bytes(filename), CONTENT_TYPES[ext], uploaded)
