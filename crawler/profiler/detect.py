"""Finding a list that a script renders from a JSON API: where the API is, how it pages, where its rows are.

A list shell holds no rows; its script asks an API.  The API's address and
its fixed parameters are found where such pages put them: ``data-api`` /
``data-url`` attributes (with ``data-channel``, ``data-size`` … beside them)
or an object literal handed to the list script (``{api: '/api/…', channel:
'xzdt', size: 20}``).  The names of the page and size parameters come from
the query strings the scripts build (``'&page=' + page``), read in the page's
own scripts and the site's script files it loads; the usual names are the
fallback.  The answer is then searched for a list of objects holding article
URLs, and the keys of their URL, title and date, and the page count beside it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from crawler.pages.listing import ListPage, _js_object
from crawler.pages.text import parse_date

PAGE_NAMES = ("page", "pageNo", "pageNum", "pageIndex", "currentPage", "curPage", "pageNumber", "p")
SIZE_NAMES = ("size", "pageSize", "limit", "rows", "perPage", "pagesize", "num")
PAGES_NAMES = ("pages", "totalPage", "totalPages", "pageCount", "pagecount", "total_pages", "pageTotal")
API_KEYS = ("api", "url", "apiUrl", "dataUrl", "dataurl", "listUrl", "source")
# Keys of a list script's options that are not query parameters.
NOT_PARAMS = frozenset({"el", "pager", "container", "template", "tpl", "target", "wrap", "box", "callback",
                        *API_KEYS})
_LITERALS = re.compile(r"\{([^{}]{0,800})\}", re.S)
_QUERY_NAMES = re.compile(r"[?&]([A-Za-z_]\w*)=")
_ARTICLE_LIKE = re.compile(r"\.s?html?(?:[?#]|$)|/(?:art|content|detail|info)[/_]", re.I)
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class ApiGuess:
    """An API found on a list shell: its URL (absolute) and fixed parameters, and the paging names."""

    url: str
    params: dict[str, str]
    page_param: str = "page"
    size_param: str = "size"
    size: int = 20
    notes: list[str] = field(default_factory=list)


@dataclass
class RowsShape:
    """Where the rows are in an API answer, and what their keys are."""

    list_key: str
    url_key: str
    title_key: str
    date_key: str
    pages_key: str


def api_guesses(page: ListPage, scripts: list[str]) -> list[ApiGuess]:
    """APIs the shell page points at, best first.  `scripts`: the text of the script files it loads."""
    inline = "\n".join(el.text or "" for el in page.root.iter("script"))
    names = set(_QUERY_NAMES.findall(inline + "\n" + "\n".join(scripts)))
    guesses: list[ApiGuess] = []
    for el in page.root.xpath("//*[@data-api or @data-url]"):
        api = el.get("data-api") or el.get("data-url")
        params = {key[5:]: value for key, value in el.attrib.items()
                  if key.startswith("data-") and key[5:] not in ("api", "url")}
        guesses.append(_guess(page.url, api, params, names))
    for body in _LITERALS.findall(inline):
        values = _js_object(body)
        api = next((values[k] for k in API_KEYS if isinstance(values.get(k), str)), None)
        if not api or not _path_like(api):
            continue
        params = {k: str(v) for k, v in values.items() if k not in NOT_PARAMS and not _selector_like(v)}
        guesses.append(_guess(page.url, api, params, names))
    unique: dict[str, ApiGuess] = {}
    for guess in guesses:
        key = guess.url + json.dumps(guess.params, sort_keys=True)
        unique.setdefault(key, guess)
    return list(unique.values())


def _guess(base: str, api: str, params: dict[str, str], names: set[str]) -> ApiGuess:
    # Attributes come lower-cased (data-pagesize): spell them as the scripts' query strings do.
    spelled = {name.lower(): name for name in names}
    params = {spelled.get(key.lower(), key): value for key, value in params.items()}
    sizes = {name.lower() for name in SIZE_NAMES}
    pages = {name.lower() for name in PAGE_NAMES}
    size_param = next((k for k in params if k.lower() in sizes), None) or next(
        (k for k in SIZE_NAMES if k in names), "size")
    size = params.pop(size_param, None)
    page_param = next((k for k in PAGE_NAMES if k in names), None) or next(
        (k for k in params if k.lower() in pages), "page")
    params.pop(page_param, None)
    if names:
        # Options the scripts never put in a query (an element, a template) are not parameters.
        params = {k: v for k, v in params.items() if k in names}
    guess = ApiGuess(urljoin(base, api), params, page_param, size_param)
    if size and str(size).isdecimal():
        guess.size = int(size)
    return guess


def _path_like(value: str) -> bool:
    return value.startswith(("/", "./", "../", "http://", "https://")) and not re.search(
        r"\.(?:js|css|png|jpe?g|gif|html?)$", urlsplit(value).path, re.I)


def _selector_like(value: Any) -> bool:
    return isinstance(value, str) and value[:1] in ("#", ".")


def script_sources(page: ListPage) -> list[str]:
    """Same-host script files the page loads (absolute URLs), first three."""
    host = urlsplit(page.url).hostname
    out = []
    for el in page.root.iter("script"):
        src = (el.get("src") or "").strip()
        if src:
            url = urljoin(page.url, src)
            if urlsplit(url).hostname == host and "jquery" not in url.lower():
                out.append(url)
    return out[:3]


def rows_shape(data: Any) -> RowsShape | None:
    """Where the article rows of a JSON answer are (the longest list of objects with article URLs)."""
    best: tuple[int, RowsShape] | None = None
    for path, value, parent in _lists(data, "", None, 0):
        rows = [row for row in value if isinstance(row, dict)]
        if not rows:
            continue
        url_key = _key_where(rows, lambda v: isinstance(v, str) and _ARTICLE_LIKE.search(v) is not None,
                             prefer=("url", "link", "href", "linkurl", "docpuburl"))
        if url_key is None:
            continue
        title_key = _key_where(rows, lambda v: isinstance(v, str) and len(v) >= 4 and bool(_CJK.search(v)),
                               prefer=("title", "name", "doctitle", "subject")) or "title"
        date_key = _key_where(rows, lambda v: isinstance(v, str) and parse_date(v) is not None,
                              prefer=("date", "pubdate", "publishdate", "time", "pubtime", "createtime")) or "date"
        pages_key = ""
        for holder, prefix in ((parent, path.rpartition(".")[0]), (data, "")):
            if isinstance(holder, dict):
                found = next((k for k in PAGES_NAMES if isinstance(holder.get(k), int)), None)
                if found:
                    pages_key = f"{prefix}.{found}" if prefix else found
                    break
        shape = RowsShape(path, url_key, title_key, date_key, pages_key)
        if best is None or len(rows) > best[0]:
            best = (len(rows), shape)
    return best[1] if best else None


def _lists(data: Any, path: str, parent: Any, depth: int):
    if depth > 4:
        return
    if isinstance(data, list):
        yield path, data, parent
        return
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, str) and "." not in key:
                yield from _lists(value, f"{path}.{key}" if path else key, data, depth + 1)


def _key_where(rows: list[dict], test, prefer: tuple[str, ...]) -> str | None:
    counts: dict[str, int] = {}
    for row in rows:
        for key, value in row.items():
            if test(value):
                counts[key] = counts.get(key, 0) + 1
    wanted = [k for k, n in counts.items() if n >= max(1, len(rows) // 2)]
    if not wanted:
        return None
    for name in prefer:
        for key in wanted:
            if key.lower() == name:
                return key
    return max(wanted, key=lambda k: counts[k])
