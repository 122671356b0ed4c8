"""List pages and list answers: the article links of a column, and how its list goes on.

Government CMSs page a column's list in a few ways, and each has a page object here:

* `ListPage`, an HTML list page.  TRS portals draw their pager with a script,
  ``createPageHTML(PAGECOUNT, CURRENT, "index", "html")`` (page 0 is
  ``index.html``, page N ``index_N.html``); others show a 下一页 (or
  ``rel=next``) link, an arrow or page numbers (`crawler.pages.pager`).  A Hanweb JCMS column page holds its first rows in an
  inline ``<script type="text/xml"><datastore>`` and declares its pager
  (``jpage({totalRecord, perPage, groupSize, proxyUrl, ajaxParam})`` and the
  ``param_UNIT`` fields posted to ``dataproxy.jsp``): `hanweb` reads both.
* `RecordList`, the XML a Hanweb ``dataproxy.jsp`` answers: ``<totalrecord>`` and
  ``<record><![CDATA[<li>…</li>]]></record>`` rows.
* `JsonList`, a JSON list API's answer, read with the section's pagination keys.

Rows are found, in this order, by the profile's `list_rows` selector, by its
article URL pattern, and by the generic rule of `crawler.pages.rows` (links
repeated in look-alike rows, with dates).  Pure: no crawl state, no I/O.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from html import unescape
from typing import Any
from urllib.parse import parse_qsl, unquote, urljoin, urlsplit

import lxml.html
from lxml import etree

from crawler.pages.markup import Page, base_url_of, honest_response, joined, select, visible_text
from crawler.pages.pager import more_pages_shown, next_link
from crawler.pages.rows import repeated_rows, row_date
from crawler.pages.text import clean_paragraph, parse_date

_PAGER_SCRIPTS = etree.XPath("//script[contains(., 'createPageHTML') or contains(., 'countPage')]/text()")
# TRS templates call the pager in a few ways: createPageHTML(7, 0, "index", "html"); with a leading
# element id and a trailing record count, createPageHTML('page_div', 7, 0, 'index', 'html', 96) (the
# newer WCM templates); with variables for the count and the index, createPageHTML(countPage,
# currentPage, …).  Count and index are numbers or variable names.
_PAGER_CALL = re.compile(
    r"createPageHTML\(\s*(?:['\"][^'\"]*['\"]\s*,\s*)?(\w+)\s*,\s*(\w+)\s*,"
    r"\s*['\"]([^'\"]+)['\"]\s*,\s*['\"]([^'\"]+)['\"]\s*(?:,\s*[\w'\"]*\s*)?\)"
)
# The older TRS template with no call at all: `var currentPage = 0; var countPage = 7` and a
# document.write of "index" + "_" + nextPage + ".html" links.
_PAGER_VARS = ("countPage", "currentPage")
_PAGE_FILE = re.compile(r"/([A-Za-z]\w*?)(?:_\d+)?\.(s?html?)$")
_LINKS = etree.XPath("//a[@href]")
# Article URLs of common Chinese government CMSs, for pages whose rows the
# generic row rule cannot find: TRS t20210315_123.html, Hanweb
# art_1234_5678.html, content_123.html, info/12/345.htm.
_GENERIC_ARTICLE = re.compile(
    r"/t\d{8}_\d+\.s?html?$|/art_\d+_\d+\.s?html?$|/content_\d+\.s?html?$"
    r"|/info/\d+/\d+\.s?html?$|/\d{4}-?\d{2}/\d{2}/[^/]+\.s?html?$"
)
_ROW_TAGS = frozenset({"li", "tr", "dd", "dt"})

# Hanweb JCMS: the inline datastore, its records, and the pager declaration.
_DATASTORES = etree.XPath("//script[contains(., '<datastore')]")
_RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S)
_JPAGE = re.compile(r"\.jpage\(\s*\{(.*?)\}\s*\)", re.S)
_PARAM_VAR = re.compile(r"var\s+(param_\w+)\s*=\s*\{(.*?)\}\s*;", re.S)
# The form written inside the jpage call itself: ajaxParam: {col: 1, appid: 1, …}.
_INLINE_PARAM = re.compile(r"\bajaxParam\s*:\s*\{([^{}]*)\}", re.S)
# The datastore's own link to its next group carries the whole form in its query.
_NEXTGROUP = re.compile(r"<nextgroup>\s*<!\[CDATA\[.*?href\s*=\s*['\"]([^'\"]+)['\"]", re.S)
_JS_PAIR = re.compile(r"(\w+)\s*:\s*(?:'([^']*)'|\"([^\"]*)\"|(-?\d+(?:\.\d+)?)|(\w+))")


@dataclass(frozen=True)
class ListEntry:
    """One row of a list: absolute article URL, full title, date (YYYY-MM-DD) or None."""

    url: str
    title: str | None
    date: str | None


@dataclass(frozen=True)
class HanwebPager:
    """What a Hanweb column page declares about its list (jpage and param_UNIT)."""

    total: int | None
    per_page: int | None
    group_size: int | None
    proxy_url: str | None  # absolute
    form: dict[str, str]
    inline_rows: int  # rows in the page's own datastore

    @property
    def records_per_request(self) -> int | None:
        if self.per_page and self.group_size:
            return self.per_page * self.group_size
        return None


def _entry(a: etree._Element, url: str, row: etree._Element | None) -> ListEntry:
    text = clean_paragraph(visible_text(a))
    title = clean_paragraph(a.get("title") or "") or text or None
    return ListEntry(url, title, row_date(row, a) if row is not None else None)


def _legacy_row(a: etree._Element) -> etree._Element | None:
    for el in a.iterancestors():
        if el.tag in _ROW_TAGS:
            return el
    return None


def entries_of(root: etree._Element, base_url: str, profile) -> list[ListEntry]:
    """Article links of a list (an HTML page or fragment), in document order, one per URL.

    With the profile's list rows: the links in them (matching its article
    pattern, when it has one).  With only an article pattern: every link
    matching it.  Without either: the generic repeated rows."""
    selectors = profile.selectors
    pattern = profile.is_article_url if profile.article_url_pattern else None
    pairs: list[tuple[etree._Element, etree._Element | None]] = []
    rows = select(root, selectors.list_rows)
    if rows:
        pairs = [(a, row) for row in rows for a in row.iter("a") if a.get("href")]
    elif pattern is not None:
        pairs = [(a, _legacy_row(a)) for a in _LINKS(root)]
    else:
        host = urlsplit(base_url).hostname

        def same_host(href: str) -> bool:
            url = joined(base_url, href)
            target = urlsplit(url) if url else None
            return target is not None and target.scheme in ("http", "https") and target.hostname == host

        group = repeated_rows(root, same_host)
        if group is not None:
            pairs = list(zip(group.links, group.rows))
        else:
            pattern = _looks_like_article
            pairs = [(a, row) for a in _LINKS(root) if (row := _legacy_row(a)) is not None]
    out, seen = [], set()
    for a, row in pairs:
        href = a.get("href").strip()
        if href.startswith(("javascript:", "#", "mailto:")):
            continue
        try:
            url = urljoin(base_url, href)
        except ValueError:
            continue
        if url in seen or (pattern is not None and not pattern(url)):
            continue
        seen.add(url)
        out.append(_entry(a, url, row))
    return out


def fragment_root(html: str) -> etree._Element:
    """An HTML fragment (list rows) parsed under one <div>."""
    return lxml.html.fragment_fromstring(html or "<span></span>", create_parent="div")


class ListPage(Page):
    """Entries and pager of an HTML list page.  `profile=None` means generic rules only.

    Read in the charset its bytes are really in, as articles are (`honest_response`): a GBK list
    declaring utf-8 gave mojibake titles, and Chinese characters in its hrefs wrong article URLs."""

    def __init__(self, response, profile=None):
        super().__init__(honest_response(response), profile)

    @cached_property
    def _base_url(self) -> str:
        return base_url_of(self.response, self.root)

    @cached_property
    def datastore_records(self) -> list[str] | None:
        """The rows of a Hanweb inline datastore (HTML fragments), or None when the page has none."""
        scripts = _DATASTORES(self.root)
        if not scripts:
            return None
        return [record for script in scripts for record in _RECORD.findall(script.text or "")]

    @cached_property
    def entries(self) -> list[ListEntry]:
        """Article links in document order (the datastore's rows on a Hanweb column page), one per URL."""
        records = self.datastore_records
        if records is not None:
            return entries_of(fragment_root("".join(records)), self._base_url, self.profile)
        return entries_of(self.root, self._base_url, self.profile)

    @cached_property
    def hanweb(self) -> HanwebPager | None:
        """The page's Hanweb pager declaration, or None when it has neither datastore nor jpage."""
        text = "\n".join(script.text or "" for script in self.root.iter("script"))
        found = _JPAGE.search(text)
        if found is None and self.datastore_records is None:
            return None
        jpage = found.group(1) if found else ""
        inline = _INLINE_PARAM.search(jpage)
        # The inline form's keys are the form's, not the pager's (its columnid is no perPage).
        config = _js_object(_INLINE_PARAM.sub("", jpage))
        nextgroup = self._nextgroup
        proxy = config.get("proxyUrl")
        proxy_url = joined(self._base_url, str(proxy)) if proxy else None
        if proxy_url is None and nextgroup is not None:
            proxy_url = joined(self._base_url, urlsplit(nextgroup).path)
        return HanwebPager(
            total=_int(config.get("totalRecord")), per_page=_positive(config.get("perPage")),
            group_size=_positive(config.get("groupSize")), proxy_url=proxy_url,
            form=self._hanweb_form(text, config, inline.group(1) if inline else None, nextgroup),
            inline_rows=len(self.datastore_records or []))

    @staticmethod
    def _hanweb_form(text: str, config: dict[str, Any], inline: str | None,
                     nextgroup: str | None) -> dict[str, str]:
        """The list module's fields: the param_UNIT variable the pager names (or the only one), else
        the object written inline as ajaxParam, else the query of the datastore's nextgroup link
        (without its page number; Hanweb encodes webname twice there)."""
        declared = dict((name, body) for name, body in _PARAM_VAR.findall(text))
        wanted = config.get("ajaxParam")
        body = declared.get(wanted) if wanted else next(iter(declared.values()), None)
        if body is None:
            body = inline
        if body is not None:
            return {key: str(value) for key, value in _js_object(body).items()}
        if nextgroup is None:
            return {}
        pairs = parse_qsl(urlsplit(nextgroup).query, keep_blank_values=True)
        return {key: unquote(value) if "%" in value else value for key, value in pairs if key != "page"}

    @cached_property
    def _nextgroup(self) -> str | None:
        """The href of a Hanweb datastore's <nextgroup> link (its form in the query), or None."""
        for script in _DATASTORES(self.root):
            found = _NEXTGROUP.search(script.text or "")
            if found:
                return unescape(found.group(1)).strip() or None
        return None

    @cached_property
    def _pager(self) -> tuple[int, int, str, str] | None:
        for script in _PAGER_SCRIPTS(self.root):
            numbers = _js_numbers(script)
            found = _PAGER_CALL.search(script)
            if found:
                count, current, name, ext = found.groups()
                count, current = _js_int(count, numbers), _js_int(current, numbers)
                if count is not None and current is not None:
                    return count, current, name, ext
            elif all(name in numbers for name in _PAGER_VARS):
                return numbers["countPage"], numbers["currentPage"], *self._page_file()
        return None

    def _page_file(self) -> tuple[str, str]:
        """The name and extension of this column's pages (index, html from index_2.html), for a
        pager that writes them in pieces; index.html when the URL names no page (a folder)."""
        found = _PAGE_FILE.search(urlsplit(self.url).path)
        return (found.group(1), found.group(2)) if found else ("index", "html")

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
        return [url for i in range(count) if (url := self._page_url(name, ext, i))]

    @cached_property
    def next_page_url(self) -> str | None:
        """The following page: from the pager script when present (None on the
        last page), else from the profile's next link, a 下一页 or a rel=next link;
        None at the end."""
        if self._pager:
            count, current, name, ext = self._pager
            return self._page_url(name, ext, current + 1) if current + 1 < count else None
        return self.next_link_url

    @cached_property
    def next_link_url(self) -> str | None:
        """The URL of the page's next-page link (the profile's `next_selector`, else a 下一页 /
        rel=next link, an arrow, the next page number: `crawler.pages.pager`), or None."""
        chosen = select(self.root, self.profile.pagination.next_selector)
        return next_link(self.root, self._base_url, self.url, chosen)

    @cached_property
    def more_pages_shown(self) -> list[str]:
        """What on the page says the list goes on (尾页, 共N页, page numbers …): see `crawler.pages.pager`."""
        return more_pages_shown(self.root)

    def _page_url(self, name: str, ext: str, index: int) -> str | None:
        """A page the pager script names; None when its name is no page of the site (a hostile script's
        `javascript:...`, a link that is no URL)."""
        page = f"{name}.{ext}" if index == 0 else f"{name}_{index}.{ext}"
        url = joined(self._base_url, page)
        return url if url and urlsplit(url).scheme in ("http", "https") else None


class RecordList:
    """A Hanweb ``dataproxy.jsp`` answer: ``<totalrecord>`` and rows in ``<record>`` CDATA."""

    def __init__(self, body: bytes | str, url: str, profile=None):
        from crawler.profile import generic_profile

        self.url = url
        self.profile = profile or generic_profile()
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        self.records = _RECORD.findall(text)
        found = re.search(r"<totalrecord>\s*(\d+)\s*</totalrecord>", text)
        self.total = int(found.group(1)) if found else None
        found = re.search(r"<totalpage>\s*(\d+)\s*</totalpage>", text)
        self.pages = int(found.group(1)) if found else None

    @cached_property
    def entries(self) -> list[ListEntry]:
        return entries_of(fragment_root("".join(self.records)), self.url, self.profile)


class JsonList:
    """A JSON list API's answer, read with the section's pagination keys (list_key, url_key …)."""

    def __init__(self, body: bytes | str, url: str, profile=None):
        from crawler.profile import generic_profile

        self.url = url
        self.profile = profile or generic_profile()
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        try:
            self.data: Any = json.loads(text)
        except (ValueError, RecursionError):  # not JSON; JSON nested deeper than the parser's stack
            self.data = None

    @property
    def ok(self) -> bool:
        """Whether the answer is JSON with a list where the profile says the rows are."""
        return isinstance(dig(self.data, self.profile.pagination.list_key), list)

    @cached_property
    def rows(self) -> list[dict]:
        found = dig(self.data, self.profile.pagination.list_key)
        return [row for row in found if isinstance(row, dict)] if isinstance(found, list) else []

    @cached_property
    def pages(self) -> int | None:
        key = self.profile.pagination.pages_key
        return _int(dig(self.data, key)) if key else None

    @cached_property
    def entries(self) -> list[ListEntry]:
        pagination = self.profile.pagination
        out, seen = [], set()
        for row in self.rows:
            href = row.get(pagination.url_key)
            if not isinstance(href, str) or not href.strip():
                continue
            url = joined(self.url, href.strip())
            if url is None or url in seen or (self.profile.article_url_pattern and not self.profile.is_article_url(url)):
                continue
            seen.add(url)
            title = row.get(pagination.title_key)
            day = parse_date(str(row.get(pagination.date_key) or ""))
            out.append(ListEntry(url, clean_paragraph(title) if isinstance(title, str) else None,
                                 day.day.isoformat() if day else None))
        return out


def dig(data: Any, path: str) -> Any:
    """`data[a][b]…` for a dotted path ``a.b`` (None when a step is missing; "" is `data` itself)."""
    for step in [p for p in (path or "").split(".") if p]:
        if isinstance(data, dict):
            data = data.get(step)
        elif isinstance(data, list) and step.isdecimal() and int(step) < len(data):
            data = data[int(step)]
        else:
            return None
    return data


def _js_object(body: str) -> dict[str, Any]:
    """The flat key: value pairs of a JavaScript object literal (strings, numbers, names)."""
    out: dict[str, Any] = {}
    for key, single, double, number, name in _JS_PAIR.findall(body):
        if single or double or (not number and not name):
            out.setdefault(key, single or double)
        elif number:
            out.setdefault(key, int(number) if number.lstrip("-").isdecimal() else float(number))
        else:
            out.setdefault(key, name)
    return out


_JS_NUMBER_VAR = re.compile(r"\bvar\s+(\w+)\s*=\s*(\d+)\b")


def _js_numbers(script: str) -> dict[str, int]:
    """A script's `var NAME = 123` declarations (the first of each name)."""
    out: dict[str, int] = {}
    for name, number in _JS_NUMBER_VAR.findall(script):
        out.setdefault(name, int(number))
    return out


def _js_int(token: str, numbers: dict[str, int]) -> int | None:
    """A pager argument: a number, or a variable the script declares as one."""
    return int(token) if token.isdecimal() else numbers.get(token)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdecimal():
        return int(value.strip())
    return None


def _positive(value: Any) -> int | None:
    """A count that must be one: a hostile pager's perPage of -15 walked record ranges downwards."""
    number = _int(value)
    return number if number is not None and number > 0 else None


def _looks_like_article(url: str) -> bool:
    return bool(_GENERIC_ARTICLE.search(urlsplit(url).path))
