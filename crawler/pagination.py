"""How a column's list is walked: which request comes after which answer, for every list family.

A walk starts at the section's start URL (an HTML page) and goes on by the
section's pagination kind (`crawler.profile.Pagination`):

* ``trs`` / ``links`` / ``auto``: the next HTML page (createPageHTML, a 下一页 link);
* ``hanweb``: after the column page (whose inline datastore holds the first
  rows), POSTs to ``dataproxy.jsp?startrecord=S&endrecord=E&perpage=P`` with
  the list module's fields as the form, group after group, to the total;
  ``auto`` does the same when the page has a datastore;
* ``json``: after the shell page, the API's pages (``?channel=…&page=N&size=S``)
  until one comes back short or the declared page count is reached;
* ``none``: the first page only.

`ListRequest` is a plain, picklable description of one request (a resumed
crawl keeps it in its queue); the spider turns it into a Scrapy request, and
`portal-archive profile` into an HTTP request of its own, so both walk a list
the same way.  `read_list` reads an answer into its entries and the next request.
Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from scrapy.http import TextResponse

from crawler.pages.listing import JsonList, ListEntry, ListPage, RecordList
from crawler.profile import Section, SiteProfile

# Hanweb's defaults when neither the page nor the profile says (jpage: 15 a page, groups of 3).
HANWEB_PER_PAGE, HANWEB_GROUP = 15, 3
HANWEB_PROXY = "/module/web/jpage/dataproxy.jsp"
FORM_TYPE = "application/x-www-form-urlencoded; charset=UTF-8"
# What a browser's XMLHttpRequest (jQuery) sends with a data request.
XHR_HEADERS = {"X-Requested-With": "XMLHttpRequest"}
JSON_ACCEPT = "application/json, text/javascript, */*; q=0.01"
XML_ACCEPT = "application/xml, text/xml, */*; q=0.01"


@dataclass(frozen=True)
class ListRequest:
    """One request of a list walk.

    `kind`: "page" (an HTML list page), "records" (a Hanweb dataproxy answer)
    or "json" (a JSON API page).  `form`: the POST form, in order (empty: a GET).
    `start`, `end`, `total`: the record range asked for and the list's total
    (records); `number`: the API page number."""

    url: str
    kind: str = "page"
    form: tuple[tuple[str, str], ...] = ()
    start: int = 0
    end: int = 0
    total: int = 0
    per_page: int = 0
    number: int = 0
    step: int = 0  # records a dataproxy request asks for (its `end` is cut to the total on the last one)

    @property
    def method(self) -> str:
        return "POST" if self.form else "GET"

    @property
    def body(self) -> bytes:
        return urlencode(self.form).encode("utf-8") if self.form else b""

    @property
    def headers(self) -> dict[str, str]:
        if self.kind == "records":
            return {"Content-Type": FORM_TYPE, "Accept": XML_ACCEPT, **XHR_HEADERS}
        if self.kind == "json":
            return {"Accept": JSON_ACCEPT, **XHR_HEADERS}
        return {}

    def as_dict(self) -> dict[str, Any]:
        return {"url": self.url, "kind": self.kind, "form": [list(pair) for pair in self.form], "start": self.start,
                "end": self.end, "total": self.total, "per_page": self.per_page, "number": self.number,
                "step": self.step}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ListRequest":
        return cls(**{**data, "form": tuple(tuple(pair) for pair in data.get("form") or ())})


@dataclass
class ListView:
    """What one list answer shows: its entries, its place in the list, and the request after it."""

    entries: list[ListEntry]
    next: ListRequest | None
    page_index: int | None = None
    page_count: int | None = None
    family: str = "html"  # html, trs, hanweb, json: what the answer turned out to be
    notes: list[str] = field(default_factory=list)


def first_request(section: Section) -> ListRequest:
    return ListRequest(section.start_url)


def read_list(request: ListRequest, response: TextResponse, profile: SiteProfile) -> ListView:
    """Read one list answer (`profile` focused on its section) and say what to ask next."""
    pagination = profile.pagination
    if request.kind == "records":
        return _records(request, RecordList(response.body, response.url, profile), profile)
    if request.kind == "json":
        return _json(request, JsonList(response.body, response.url, profile), profile)
    page = ListPage(response, profile)
    kind = pagination.kind
    if kind == "json":
        return ListView([], json_page(profile, pagination.first_page), family="json")
    if kind == "hanweb" or (kind == "auto" and page.datastore_records is not None):
        return ListView(page.entries, _first_records(page, profile), family="hanweb")
    if kind == "none":
        nxt = None
    elif kind == "links":
        nxt = page.next_link_url
    elif kind == "trs":
        nxt = page.next_page_url if page.page_count is not None else None
    else:
        nxt = page.next_page_url
    family = "trs" if page.page_count is not None else "html"
    return ListView(page.entries, ListRequest(nxt) if nxt else None, page.current_index, page.page_count, family)


# -- Hanweb -----------------------------------------------------------------------------------------


def _first_records(page: ListPage, profile: SiteProfile) -> ListRequest | None:
    pagination = profile.pagination
    declared = page.hanweb
    per_page = pagination.per_page or (declared.per_page if declared else None) or HANWEB_PER_PAGE
    step = (pagination.records_per_request or (declared.records_per_request if declared else None)
            or per_page * HANWEB_GROUP)
    total = declared.total if declared and declared.total is not None else 0
    form = (declared.form if declared and declared.form else None) or pagination.form_dict()
    if pagination.proxy_url:
        proxy = urljoin(page.url, pagination.proxy_url)
    elif declared and declared.proxy_url:
        proxy = declared.proxy_url
    else:
        proxy = urljoin(page.url, HANWEB_PROXY)
    start = (declared.inline_rows if declared else 0) + 1
    if not form or (total and start > total) or (not total and start == 1):
        return None  # no module fields to post, or everything is on the page
    return records_request(proxy, form, start, step, per_page, total)


def request_of(url: str, kind: str, profile: SiteProfile) -> ListRequest:
    """The list request that asked for `url`, as far as its URL tells (for a saved answer, `parse`).

    A JSON API page: its number, from the page parameter.  A Hanweb dataproxy
    answer: its record range and page size, from the query; the form (sent in
    the POST's body, not the URL) is the profile's.
    """
    query = dict(parse_qsl(urlsplit(url).query))
    pagination = profile.pagination
    if kind == "json":
        number = _int_or(query.get(pagination.page_param), pagination.first_page)
        return ListRequest(url, "json", number=number)
    if kind == "records":
        start, end = _int_or(query.get("startrecord"), 1), _int_or(query.get("endrecord"), 0)
        per_page = _int_or(query.get("perpage"), pagination.per_page or HANWEB_PER_PAGE)
        return ListRequest(url, "records", tuple(pagination.form_dict().items()), start, max(end, start), 0, per_page)
    return ListRequest(url)


def _int_or(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def records_request(proxy: str, form: dict[str, str], start: int, step: int, per_page: int,
                    total: int) -> ListRequest:
    """The dataproxy POST for records start .. start+step-1 (1-based, inclusive, as jpage asks)."""
    end = start + step - 1
    if total:
        end = min(end, total)
    query = urlencode({"startrecord": start, "endrecord": end, "perpage": per_page})
    parts = urlsplit(proxy)
    url = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
    return ListRequest(url, "records", tuple(form.items()), start, end, total, per_page, step=step)


def _records(request: ListRequest, answer: RecordList, profile: SiteProfile) -> ListView:
    total = answer.total if answer.total is not None else request.total
    step = request.step or request.end - request.start + 1  # no step: a request queued by an older version
    start = request.end + 1
    nxt = None
    if answer.records and (not total or start <= total):
        nxt = records_request(request.url, dict(request.form), start, step, request.per_page, total)
    # The column page's own rows count as the first group.
    index = (request.start - 1) // step if step > 0 else None
    count = -(-total // step) if step > 0 and total else None
    return ListView(answer.entries, nxt, index, count, family="hanweb")


# -- JSON ---------------------------------------------------------------------------------------------


def json_page(profile: SiteProfile, number: int) -> ListRequest:
    """The API request for page `number` of the section's list."""
    pagination = profile.pagination
    params = list(pagination.params)
    params.append((pagination.page_param, str(number)))
    if pagination.size_param:
        params.append((pagination.size_param, str(pagination.size)))
    base = urljoin(profile.start_url, pagination.api_url)
    parts = urlsplit(base)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return ListRequest(urlunsplit((parts.scheme, parts.netloc, parts.path, query, "")), "json", number=number)


def _json(request: ListRequest, answer: JsonList, profile: SiteProfile) -> ListView:
    pagination = profile.pagination
    pages = answer.pages
    last = None if pages is None else pages - 1 + pagination.first_page
    nxt = None
    if answer.rows and (last is None or request.number < last) and (
            last is not None or len(answer.rows) >= pagination.size):
        nxt = json_page(profile, request.number + 1)
    notes = [] if answer.ok else [f"no list at {pagination.list_key!r} in the JSON answer"]
    return ListView(answer.entries, nxt, request.number - pagination.first_page, pages, family="json", notes=notes)
