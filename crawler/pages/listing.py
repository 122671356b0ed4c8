"""`ListPage`: the article links and the pager of one section list page.

TRS portals draw their pager with a script,
``createPageHTML(PAGECOUNT, CURRENT, "index", "html")``, where page 0 is
``index.html`` and page N is ``index_N.html``; there is no plain next link to
follow.  Other CMSs show a 下一页 (or ``rel=next``) link, used when no such
script is present.  Pure: no crawl state, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urljoin, urlsplit

from lxml import etree

from crawler.pages.markup import Page, base_url_of, select, visible_text
from crawler.pages.text import clean_paragraph, parse_date

_PAGER_SCRIPTS = etree.XPath("//script[contains(., 'createPageHTML')]/text()")
# An optional leading element-id argument is seen on some TRS sites.
_PAGER_CALL = re.compile(
    r"createPageHTML\(\s*(?:['\"][^'\"]*['\"]\s*,\s*)?(\d+)\s*,\s*(\d+)\s*,"
    r"\s*['\"]([^'\"]+)['\"]\s*,\s*['\"]([^'\"]+)['\"]\s*\)"
)
_LINKS = etree.XPath("//a[@href]")
_NEXT_LINKS = etree.XPath(
    "//a[@href][@rel='next' or contains(normalize-space(.), '下一页') "
    "or normalize-space(.)='下页' or normalize-space(.)='后页']")
# Article URLs of common Chinese government CMSs, for pages without a profile:
# TRS t20210315_123.html, Hanweb art_1234_5678.html, content_123.html, info/12/345.htm.
_GENERIC_ARTICLE = re.compile(
    r"/t\d{8}_\d+\.s?html?$|/art_\d+_\d+\.s?html?$|/content_\d+\.s?html?$"
    r"|/info/\d+/\d+\.s?html?$|/\d{4}-?\d{2}/\d{2}/[^/]+\.s?html?$"
)
_ROW_TAGS = frozenset({"li", "tr", "dd", "dt"})


@dataclass(frozen=True)
class ListEntry:
    """One row of a list page: absolute article URL, full title, date (YYYY-MM-DD) or None."""

    url: str
    title: str | None
    date: str | None


class ListPage(Page):
    """Entries and pager of a list page.  `profile=None` means generic rules only."""

    @cached_property
    def _base_url(self) -> str:
        return base_url_of(self.response, self.root)

    @cached_property
    def entries(self) -> list[ListEntry]:
        """Article links in document order, one per URL.

        With a profile: links matching its article pattern, inside its list
        rows when those are found.  Without: links inside list rows (li/tr/dd)
        whose URL looks like a CMS article."""
        if self.profile.article_url_pattern:
            rows = select(self.root, self.profile.selectors.list_rows)
            links = [a for row in rows for a in row.iter("a") if a.get("href")] or _LINKS(self.root)
            wanted = self.profile.is_article_url
        else:
            links = [a for a in _LINKS(self.root) if _row_of(a) is not None]
            wanted = _looks_like_article
        out, seen = [], set()
        for a in links:
            url = urljoin(self._base_url, a.get("href").strip())
            if url in seen or not wanted(url):
                continue
            seen.add(url)
            out.append(_entry(a, url))
        return out

    @cached_property
    def _pager(self) -> tuple[int, int, str, str] | None:
        for script in _PAGER_SCRIPTS(self.root):
            found = _PAGER_CALL.search(script)
            if found:
                count, current, name, ext = found.groups()
                return int(count), int(current), name, ext
        return None

    @property
    def page_count(self) -> int | None:
        """Number of pages createPageHTML declares, or None without the script."""
        return self._pager[0] if self._pager else None

    @property
    def current_index(self) -> int | None:
        """This page's index (0 for index.html), or None without the script."""
        return self._pager[1] if self._pager else None

    @cached_property
    def page_urls(self) -> list[str]:
        """Every page URL the pager script implies, page 0 first ([] without it)."""
        if not self._pager:
            return []
        count, _, name, ext = self._pager
        return [self._page_url(name, ext, i) for i in range(count)]

    @cached_property
    def next_page_url(self) -> str | None:
        """The following page: from the pager script when present (None on the
        last page), else from a 下一页 / rel=next link; None at the end."""
        if self._pager:
            count, current, name, ext = self._pager
            return self._page_url(name, ext, current + 1) if current + 1 < count else None
        for a in _NEXT_LINKS(self.root):
            href = a.get("href").strip()
            if not href or href.startswith(("javascript:", "#")):
                continue
            url = urljoin(self._base_url, href)
            if urlsplit(url)._replace(fragment="") != urlsplit(self.url)._replace(fragment=""):
                return url
        return None

    def _page_url(self, name: str, ext: str, index: int) -> str:
        page = f"{name}.{ext}" if index == 0 else f"{name}_{index}.{ext}"
        return urljoin(self._base_url, page)


def _looks_like_article(url: str) -> bool:
    return bool(_GENERIC_ARTICLE.search(urlsplit(url).path))


def _row_of(a: etree._Element) -> etree._Element | None:
    for el in a.iterancestors():
        if el.tag in _ROW_TAGS:
            return el
    return None


def _entry(a: etree._Element, url: str) -> ListEntry:
    text = clean_paragraph(visible_text(a))
    title = clean_paragraph(a.get("title") or "") or text or None
    row = _row_of(a)
    date = None
    if row is not None:
        # Read the date outside the link: a title may mention another date.
        found = parse_date(visible_text(row).replace(visible_text(a), " ", 1))
        date = found.day.isoformat() if found else None
    return ListEntry(url, title, date)
