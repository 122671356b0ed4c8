"""`HostileSite(corpus, plan)`: the portal with the faults of a `FaultPlan` switched on.

It answers like `Site` and adds: the pagination and calendar traps, redirect
loops, and the content faults of article and list pages (charset, malformed,
oversize, dupes, offsite).  The answer faults (5xx, 429, reset, drop, slow)
need the connection, so the server applies them: it asks `failure(path)`
before resolving each request.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from urllib.parse import parse_qsl

from replica.corpus import SECTION, Corpus
from replica.faults import FaultPlan
from replica.hostile_html import (
    TRACKING, add_offsite_paragraph, dupe_links, malform, offsite_rows, padding, pager_links,
    render_calendar, swap_charset,
)
from replica.render_article import render_article
from replica.render_list import PAGE_SIZE, page_count, render_list
from replica.resource import Resource, ok, redirect
from replica.site import _ARTICLE, _LIST, _MEDIA, HTML_TYPES, Site

_CALENDAR = re.compile(r"^/xwzx/gyjj/calendar/(\d{4})/(\d{2})/(\d{2})\.html$")
FIRST_LIST = SECTION + "index.html"


class HostileSite(Site):
    """A `Site` with faults.  Thread-safe; counts requests per path for the transient faults."""

    def __init__(self, corpus: Corpus, plan: FaultPlan) -> None:
        super().__init__(corpus)
        self.plan = plan
        self.pages = page_count(len(corpus.entries))
        self.attempts: dict[str, int] = {}  # requests seen so far, for paths with an answer fault
        self._plain_article = lru_cache(maxsize=256)(self._hostile_article)
        self._big_article = lru_cache(maxsize=4)(self._hostile_article)  # oversize bodies are megabytes
        self._list = lru_cache(maxsize=256)(self._hostile_list)
        self._trap_page = lru_cache(maxsize=64)(self._render_trap_page)

    def path_kind(self, path: str) -> str | None:
        """"article", "list" or "media" for the paths answer faults may hit (not traps), else None."""
        if _ARTICLE.match(path):
            return "article"
        if _MEDIA.match(path):
            return "media"
        match = _LIST.match(path)
        if path == SECTION or (match and int(match.group(1) or 0) < self.pages):
            return "list"
        return None

    def failure(self, path: str, query: str = "", form: dict[str, str] | None = None) -> tuple[str, int] | None:
        """Count a request for `path`; (fault kind, attempt number) if this one must fail (the query is ignored)."""
        path = FIRST_LIST if path == SECTION else path  # one page, one counter
        kind = self.path_kind(path)
        fault = self.plan.request_fault(path, article=kind == "article") if kind else None
        if fault is None:
            return None
        with self.lock:
            attempt = self.attempts[path] = self.attempts.get(path, 0) + 1
        return (fault.kind, attempt) if fault.fails(attempt) else None

    def resolve(self, path: str, query: str = "", host: str = "127.0.0.1") -> Resource:
        if self.plan.rates["trap"]:
            trap = self._trap(path)
            if trap is not None:
                return trap
        article = _ARTICLE.match(path)
        if article and self.plan.hits("redirect-loop", path) and self._present(path, article):
            return self._loop(path, query, host)
        res = super().resolve(path, query, host)
        if res.status != 200:
            return res
        if article:
            if not any(self.plan.hits(k, path) for k in ("charset", "malformed", "oversize", "offsite")):
                return res
            docid = int(article.group(3))
            return self._big_article(docid) if self.plan.hits("oversize", path) else self._plain_article(docid)
        if path == SECTION or _LIST.match(path):
            return self._list(FIRST_LIST if path == SECTION else path)
        return res

    def _present(self, path: str, match: re.Match) -> bool:
        entry = self.corpus.entry(int(match.group(3)))
        return entry is not None and entry.path == path

    def _loop(self, path: str, query: str, host: str) -> Resource:
        params = dict(parse_qsl(query))
        if self.plan.loop_style(path) == "pingpong":
            target = path if params.get("loop") == "1" else path + "?loop=1"
        else:
            step = params.get("x", "")
            target = f"{path}?x={int(step) + 1 if step.isdigit() and len(step) < 9 else 1}"
        return redirect(f"http://{host}{target}")

    def _hostile_article(self, docid: int) -> Resource:
        article = self.article(docid)
        entry, hits = article.entry, self.plan.hits
        old = entry.template == "old"
        text = render_article(article)
        if hits("offsite", entry.path):
            text = add_offsite_paragraph(text, old, "P" if old else article.look.para_tag)
        if hits("malformed", entry.path):
            text = malform(text, old)
        declared = entry.charset
        if hits("charset", entry.path):
            text, declared = swap_charset(text, entry.charset)
        body = text.encode(entry.charset)
        if hits("oversize", entry.path):
            body += padding(self.plan.oversize_bytes)
        return ok(body, HTML_TYPES[declared], article.made_at, html=True, chunked=entry.chunked)

    def _hostile_list(self, path: str) -> Resource:
        page = int(_LIST.match(path).group(1) or 0)
        text = self._page(path).body.decode("utf-8")
        return self._list_resource(text, path, page, self.corpus.entries[page * PAGE_SIZE].day)

    def _list_resource(self, text: str, path: str, page: int, first_day: date) -> Resource:
        plan = self.plan
        if plan.rates["dupes"]:
            text = dupe_links(text, lambda p: plan.hits("dupes", p),
                              lambda p, salt: plan.pick("dupes", p, f"variant/{salt}", TRACKING))
        if plan.hits("offsite", path):
            text = offsite_rows(text, first_day)
        if plan.rates["trap"]:
            calendar = page == 0 or plan.hits("trap", path)
            text = pager_links(text, page, first_day if calendar else None)
        return ok(text.encode("utf-8"), HTML_TYPES["utf-8"], self.made_at, html=True, chunked=True)

    def _trap(self, path: str) -> Resource | None:
        match = _CALENDAR.match(path)
        if match:
            try:
                day = date(*map(int, match.groups()))
            except ValueError:
                return None
            return ok(render_calendar(day, self.made_at).encode("utf-8"), HTML_TYPES["utf-8"], self.made_at, html=True)
        match = _LIST.match(path)
        if match and int(match.group(1) or 0) >= self.pages:
            return self._trap_page(int(match.group(1)))
        return None

    def _render_trap_page(self, page: int) -> Resource:
        """Page `page` past the end: the last real page's rows, and a pager that always goes on."""
        start = (self.pages - 1) * PAGE_SIZE
        text = render_list(self.rows(start, PAGE_SIZE), page, page + 2, self.made_at)
        return self._list_resource(text, f"{SECTION}index_{page}.html", page, self.corpus.entries[start].day)
