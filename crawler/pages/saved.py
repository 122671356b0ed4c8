"""Reading a saved page the way a crawl would, article or list answer: what `portal-archive parse` prints.

    read_saved(body, url, profile)              # {"page": "article", ...fields} or {"page": "list", ...}
    read_saved(body, url, profile, as_="list")  # a list answer whatever it looks like

A list answer shows its rows (URL, title, date), its place in the list and
the request a crawl would make next (`crawler.pagination.read_list`), so an
archivist can see why a profile walks a column wrongly.  Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from crawler.pages.article import EXTRACTOR_VERSION, ArticlePage
from crawler.pages.markup import response_from_bytes
from crawler.pagination import ListRequest, read_list, request_of
from crawler.profile import Section, SiteProfile, generic_profile

KINDS = ("auto", "article", "list")
# A page with no article body of its own (none, or only guessed) but this many list rows is a list page (auto).
LIST_ROWS = 3


def read_saved(body: bytes, url: str, profile: SiteProfile | None = None, *, as_: str = "auto",
               section: str | None = None, encoding: str | None = None) -> dict[str, Any]:
    """The page's reading as a JSON-ready dict; `section` picks the profile's section (default: by URL)."""
    profile = profile or generic_profile()
    focused = profile.for_section(section) if section else _focus(profile, url)
    kind = _answer_kind(body)
    if as_ == "article" or (as_ == "auto" and kind == "page" and focused.is_article_url(url)):
        return _article(body, url, focused, encoding)
    if as_ == "list" or kind != "page" or focused.is_list_page_url(url) or _same_page(url, focused.start_url):
        return _list(body, url, focused, kind, encoding)
    article = _article(body, url, focused, encoding)
    if {"missing_body", "body_guessed"} & set(article["problems"]):  # no article body of its own
        listing = _list(body, url, focused, kind, encoding)
        if len(listing["rows"]) >= LIST_ROWS:
            return listing
    return article


def _article(body: bytes, url: str, profile: SiteProfile, encoding: str | None) -> dict[str, Any]:
    page = ArticlePage.from_bytes(body, url, profile=profile, encoding=encoding)
    return {"page": "article", "profile": profile.name, **page.fields(), "extractor": EXTRACTOR_VERSION}


def _list(body: bytes, url: str, profile: SiteProfile, kind: str, encoding: str | None) -> dict[str, Any]:
    response = response_from_bytes(body, url, encoding=encoding)
    view = read_list(request_of(url, kind, profile), response, profile)
    return {
        "page": "list",
        "profile": profile.name,
        "url": url,
        "section": profile.first.name or None,
        "family": view.family,
        "page_index": view.page_index,
        "page_count": view.page_count,
        "rows": [{"url": e.url, "title": e.title, "date": e.date} for e in view.entries],
        "next": _request(view.next),
        "notes": view.notes + _profile_notes(url, profile, view.entries),
    }


def _profile_notes(url: str, profile: SiteProfile, rows: list) -> list[str]:
    """Why a list may read wrongly with this profile: the URL is not on its hosts, or no link fits
    its article pattern (another portal's rows are all hidden by it)."""
    notes = []
    if profile.allowed_domains and not profile.on_site(url):
        notes.append(f"the URL's host is not one of profile {profile.name}'s hosts "
                     f"({', '.join(profile.allowed_domains)}): is it the right profile?")
    if not rows and profile.article_url_pattern:
        notes.append(f"no link fits the article pattern of profile {profile.name} "
                     f"({profile.article_url_pattern}); --profile generic reads the rows from the page's structure")
    return notes


def _request(request: ListRequest | None) -> dict[str, Any] | None:
    if request is None:
        return None
    out = {"url": request.url, "method": request.method, "kind": request.kind}
    if request.form:
        out["form"] = dict(request.form)
    return out


def _answer_kind(body: bytes) -> str:
    """"json" (an API's answer), "records" (a Hanweb dataproxy answer) or "page" (HTML)."""
    head = body[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] in (b"{", b"["):
        return "json"
    lowered = head.lower()
    if b"<datastore" in lowered or b"<totalrecord>" in lowered:
        if b"<html" not in lowered:
            return "records"
    return "page"


def _focus(profile: SiteProfile, url: str) -> SiteProfile:
    """The profile focused on the section `url` belongs to (its list pages first), else its first section."""
    sections: tuple[Section, ...] = profile.sections
    for test in (lambda s: _same_page(url, s.start_url), lambda s: s.is_list_page_url(url),
                 lambda s: s.is_article_url(url), lambda s: profile.in_scope(url, s)):
        for candidate in sections:
            if candidate.name and test(candidate):
                return profile.for_section(candidate.name)
    return profile


def _same_page(url: str, start_url: str) -> bool:
    return bool(start_url) and url.split("#")[0].rstrip("/") == start_url.split("#")[0].rstrip("/")
