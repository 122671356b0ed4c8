"""Inferring a site profile from a column's first list page.

`infer_profile(urls, fetcher)` fetches each column's first list page, finds
how its list goes on (a TRS createPageHTML pager, a Hanweb datastore and its
dataproxy.jsp, a JSON API behind an empty shell, 下一页 links, or one page),
walks a few list answers the way the crawl will (`crawler.pagination`), and
learns from the links it saw: the article URL pattern, the section's path,
the list rows' selector.  It then reads a few articles with the generic page
objects and learns the site's name, place name and 政府网站标识码, the
column's name, and selectors for title, meta line, body, breadcrumb and the
信息公开 table, keeping a selector only where it finds what the generic rules
found on every sampled page.  What it could not infer is said in `notes`.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from lxml import etree
from scrapy.http import TextResponse

from archive.exits import ArchiveError, NotFound, UsageProblem

from crawler.pagination import ListRequest, first_request, json_page
from crawler.pages.article import ArticlePage
from crawler.pages.listing import JsonList, ListEntry, ListPage, entries_of
from crawler.pages.markup import joined, meta_tags, select, visible_text
from crawler.pages.rows import repeated_rows
from crawler.pages.text import clean_paragraph
from crawler.profile import Pagination, Section, Selectors, SiteProfile
from crawler.profiler.detect import ApiGuess, api_guesses, rows_shape, script_sources
from crawler.profiler.fetch import Fetcher, FetchError
from crawler.profiler.patterns import agreed, common_folder, css_for, path_pattern
from crawler.profiler.walk import ListWalk, walk_list

LIST_REQUESTS = 3  # list answers walked per section
SAMPLES = 6  # articles read per section
# Article fields whose element becomes a selector (the others have no single element).
SELECTOR_ROLES = ("title", "meta_line", "body", "breadcrumb", "xxgk")
_PLACE = re.compile(r"^(?:中共)?(.{2,12}?[省市县区旗州盟])(?:人民政府|政府|委员会|门户网站|政务网)")


@dataclass
class Sample:
    """One article read while inferring: its URL, its response, its page (generic rules)."""

    url: str
    response: TextResponse
    page: ArticlePage


@dataclass
class SectionFindings:
    """What was learnt about one column, and what could not be."""

    section: Section
    kind: str
    list_requests: list[ListRequest]
    rows: list[int]  # rows per list answer walked
    entries: list[ListEntry]
    samples: list[Sample]
    failed: list[tuple[str, str]]  # (url, why) of articles that could not be fetched
    notes: list[str] = field(default_factory=list)
    list_meta: dict[str, str] = field(default_factory=dict)
    paging_error: str | None = None  # why a further list answer could not be fetched
    unpaged: str | None = None  # why the list may go on past what the crawl will see (a problem)


@dataclass
class Inference:
    profile: SiteProfile
    sections: list[SectionFindings]
    notes: list[str]
    declared_domain: str | None = None
    left_out: list[ColumnError] = field(default_factory=list)  # columns given that gave no section


class ColumnError(ArchiveError):
    """A column URL gave nothing to profile: `why` says what its page shows instead, and what to do."""

    def __init__(self, url: str, why: str):
        self.url = url
        self.why = why
        super().__init__(f"{url}: {why}" if url else why)


class NotAList(ColumnError, UsageProblem):
    """The URL given is no column's list page (an article, a frame shell): the user can give the right one."""


class NoArticles(ColumnError, NotFound):
    """The list page was read, and no article links were found on it."""


def infer_profile(urls: list[str], fetcher: Fetcher, name: str | None = None, samples: int = SAMPLES,
                  list_requests: int = LIST_REQUESTS) -> Inference:
    """Infer a profile of one portal from the first list page of each of its columns (`urls`).

    A column whose page shows no article links is left out (`Inference.left_out` says why); when
    every column is, the first one's ColumnError is raised.  Raises FetchError when a start page
    cannot be fetched."""
    hosts = {urlsplit(url).hostname for url in urls}
    if len(hosts) != 1:
        raise FetchError(urls[0], "the columns of one profile must be on one host: "
                                  + ", ".join(sorted(h or "?" for h in hosts)))
    findings, left_out = [], []
    for url in urls:
        try:
            findings.append(_section(url, fetcher, samples, list_requests))
        except ColumnError as error:
            left_out.append(error)
    if not findings:
        raise _all_left_out(left_out)
    inference = _site(findings, name)
    inference.left_out = left_out
    return inference


def _all_left_out(errors: list[ColumnError]) -> ColumnError:
    """One error for columns that all gave nothing: bad usage when every URL was the wrong page."""
    if len(errors) == 1:
        return errors[0]
    kind = NotAList if all(isinstance(e, NotAList) for e in errors) else NoArticles
    return kind("", "no column gave a profile; nothing written:\n" + "\n".join(f"  {e.url}: {e.why}" for e in errors))


# -- one column -------------------------------------------------------------------------------------


def _bare(url: str, pagination: Pagination) -> SiteProfile:
    """A profile knowing nothing yet but where the list starts and how it pages."""
    section = Section(name="?", start_url=url, section_path="/", article_url_pattern="", pagination=pagination)
    return SiteProfile(name="inferring", site_name=None, city=None, sections=(section,),
                       allowed_domains=(urlsplit(url).hostname or "",))


def _section(url: str, fetcher: Fetcher, samples: int, list_requests: int) -> SectionFindings:
    notes: list[str] = []
    response = fetcher.get(url)
    start = response.url  # after redirects
    page = ListPage(response, None)
    pagination = _pagination(page, fetcher, notes)
    probe = _bare(start, pagination)
    walk = walk_list(first_request(probe.first), fetcher, probe, list_requests, response)
    notes += walk.notes
    entries, html_pages = walk.entries, walk.html_paths
    if len(walk.requests) < 2 and pagination.kind != "none" and walk.next is None and walk.error is None:
        notes.append("the list shows no next page: only its first page was seen")
    host = urlsplit(start).hostname
    on_host = [e for e in entries if urlsplit(e.url).hostname == host]
    pattern, missed = path_pattern(urlsplit(e.url).path for e in on_host)
    if not pattern:
        raise _why_no_articles(page, response, entries)
    if missed:
        notes.append(f"{missed} of {len(on_host)} list links do not fit the article pattern (left out)")
    articles = [e for e in on_host if pattern and re.search(pattern, urlsplit(e.url).path)]
    folder = common_folder([urlsplit(start).path, *html_pages, *(urlsplit(e.url).path for e in articles)])
    selectors = Selectors(list_rows=_rows_selector(page, pagination, start, pattern))
    listing_pattern = path_pattern(html_pages)[0] if len(html_pages) > 1 else (
        "^" + re.escape(urlsplit(start).path) + "$")
    list_meta = meta_tags(page.root)[0]
    section = Section(name="?", start_url=start, section_path=folder, article_url_pattern=pattern,
                      list_page_pattern=listing_pattern, pagination=pagination, selectors=selectors)
    picked, failed = _samples(articles, samples, fetcher)
    unpaged = _unpaged(page, pagination, walk)
    if unpaged is None and pagination.kind == "none":
        # A column of one page is common (a small county's column): said, not a problem.
        notes.append(f"no pager found: the column shows one page ({walk.rows[0] if walk.rows else 0} rows) and "
                     "nothing on it claims more; if it grows one, `profile check` tells")
    findings = SectionFindings(section, pagination.kind, walk.requests, walk.rows, entries, picked, failed, notes,
                               list_meta, walk.error, unpaged)
    findings.section = dataclasses.replace(section, name=_column_name(findings, page),
                                           selectors=_article_selectors(findings, selectors))
    return findings


_FRAMES = etree.XPath("//iframe[@src] | //frame[@src]")
# A script that fetches the list itself: $.ajax({url: …}), $.getJSON('…'), $.get/$.post, fetch('…'), axios.
_SCRIPT_API = re.compile(r"""(?:\$\.(?:ajax|getJSON|get|post)\s*\(\s*\{?[^'"]{0,200}?|fetch\s*\(\s*|axios\.\w+\s*\(\s*"""
                         r"""|\burl\s*:\s*)['"]([^'"\s]+)['"]""")


def _why_no_articles(page: ListPage, response: TextResponse, entries: list[ListEntry]) -> ColumnError:
    """Why a column's page gave no article links, with what to do: a frame shell (give the framed
    page), links on another host (start there), an article (give its column's list), a list a
    script draws from an API this tool did not understand (write the json pagination by hand)."""
    url = page.url
    host = urlsplit(url).hostname
    frames = [u for el in _FRAMES(page.root) if (u := joined(page.url, el.get("src").strip()))
              and urlsplit(u).scheme in ("http", "https")]
    if frames:
        return NotAList(url, f"the page is a frame shell (<iframe> or <frameset>) holding no article links "
                             f"itself: give the framed page instead, e.g. `profile new {frames[0]}`")
    elsewhere = Counter(urlsplit(e.url).hostname for e in entries if urlsplit(e.url).hostname != host)
    if elsewhere:
        other, count = elsewhere.most_common(1)[0]
        there = urlsplit(url)._replace(netloc=other + (f":{urlsplit(url).port}" if urlsplit(url).port else ""))
        return NoArticles(url, f"the list's {count} article links are on host {other}, not {host}: a profile "
                               f"crawls one host; start from the list on that host (`profile new "
                               f"{there.geturl()}`)")
    article = ArticlePage(response, None)
    if article.title and article.published and not page.more_pages_shown and len(article.body_text) >= 100:
        column = f" (its column: {article.column_name})" if article.column_name else ""
        return NotAList(url, f"this is an article page («{article.title}», {article.published}), not a "
                             f"column's list page: give the URL of the list page of its column{column}")
    scripts = "\n".join(el.text or "" for el in page.root.iter("script"))
    api = _SCRIPT_API.search(scripts)
    if api:
        return NoArticles(url, f"no article links in the page: a script draws the list from {api.group(1)}, an "
                               "API this tool did not understand; write the section's pagination by hand "
                               "(kind = 'json', api_url, list_key …: docs/portals.md)")
    return NoArticles(url, f"no article links found on the page ({len(_LINK_COUNT(page.root))} links, none in "
                           "rows that repeat like a list's): is it a column's list page?")


_LINK_COUNT = etree.XPath("//a[@href]")


def _pagination(page: ListPage, fetcher: Fetcher, notes: list[str]) -> Pagination:
    declared = page.hanweb
    if declared is not None and (page.datastore_records is not None or declared.proxy_url):
        path = urlsplit(declared.proxy_url).path if declared.proxy_url else ""
        if not declared.form:
            notes.append("Hanweb list without a param_ declaration, inline ajaxParam or nextgroup link: the "
                         "dataproxy form is unknown")
        return Pagination(kind="hanweb", proxy_url=path, per_page=declared.per_page or 0,
                          records_per_request=declared.records_per_request or 0,
                          form=tuple(declared.form.items()))
    if page.page_count is not None:
        return Pagination(kind="trs")
    if len(page.entries) < 2:
        found = _json_api(page, fetcher, notes)
        if found is not None:
            return found
    if page.next_link_url:
        return Pagination(kind="links")
    return Pagination(kind="none")


def _unpaged(page: ListPage, pagination: Pagination, walk: ListWalk) -> str | None:
    """Why a list may hold more than the crawl will see: no pager the inference could read, or a
    Hanweb pager declaring more rows than it could ask for.  A crawl would archive what it saw and
    say ok, so `profile new` says it (a problem, not a note)."""
    rows = walk.rows
    declared = page.hanweb if pagination.kind == "hanweb" else None
    if declared is not None and declared.total and walk.next is None and walk.error is None \
            and sum(rows) < declared.total:
        return (f"the Hanweb list declares {declared.total} rows (totalRecord) but only {sum(rows)} could be "
                "asked for (no dataproxy form found: no param_ variable, inline ajaxParam or nextgroup link): "
                "set [sections.pagination] form by hand (docs/portals.md)")
    if pagination.kind != "none":
        return None
    shown = page.more_pages_shown
    if not shown:
        return None  # one page, and nothing on it claims more: a note (the caller's), not a problem
    return (f"no pager found (createPageHTML, 下一页, page numbers, a datastore or an API): the crawl will take "
            f"the first list page only ({rows[0] if rows else 0} rows); yet the page shows {', '.join(shown)}: "
            "its pager is one this tool cannot read: set [sections.pagination] by hand (docs/portals.md)")


def _json_api(page: ListPage, fetcher: Fetcher, notes: list[str]) -> Pagination | None:
    scripts = []
    for url in script_sources(page):
        try:
            scripts.append(fetcher.get(url).text)
        except FetchError:
            continue
    for guess in api_guesses(page, scripts):
        found = _try_api(page, guess, fetcher)
        if found is not None:
            return found
    notes.append("the page holds no list rows and no JSON API was found behind it")
    return None


def _try_api(page: ListPage, guess: ApiGuess, fetcher: Fetcher) -> Pagination | None:
    api = urlsplit(guess.url)
    base = urlsplit(page.url)
    relative = api.path + (f"?{api.query}" if api.query else "") if api.netloc == base.netloc else guess.url
    for first in (1, 0):
        pagination = Pagination(kind="json", api_url=relative, params=tuple(guess.params.items()),
                                page_param=guess.page_param, size_param=guess.size_param, size=guess.size,
                                first_page=first)
        probe = _bare(page.url, pagination)
        try:
            answer = fetcher.fetch(json_page(probe, first))
        except FetchError:
            continue
        shape = rows_shape(JsonList(answer.body, answer.url).data)
        if shape is None:
            continue
        return dataclasses.replace(pagination, list_key=shape.list_key, url_key=shape.url_key,
                                   title_key=shape.title_key, date_key=shape.date_key, pages_key=shape.pages_key)
    return None


def _rows_selector(page: ListPage, pagination: Pagination, start: str, pattern: str) -> str:
    """The list rows' selector, when the rows are in the page itself and the selector finds the
    same article links as the pattern alone does."""
    if pagination.kind in ("hanweb", "json") or not pattern:
        return ""
    host = urlsplit(start).hostname
    group = repeated_rows(page.root, lambda href: urlsplit(page.response.urljoin(href)).hostname == host)
    if group is None:
        return ""
    bare = _bare(start, pagination)
    section = dataclasses.replace(bare.first, article_url_pattern=pattern)
    plain = dataclasses.replace(bare, sections=(section,))
    rowed = dataclasses.replace(bare, sections=(
        dataclasses.replace(section, selectors=Selectors(list_rows=group.selector)),))
    urls = [e.url for e in entries_of(page.root, page.url, plain)]
    if urls and [e.url for e in entries_of(page.root, page.url, rowed)] == urls:
        return group.selector
    return ""


def _samples(entries: list[ListEntry], count: int, fetcher: Fetcher) -> tuple[list[Sample], list[tuple[str, str]]]:
    """Up to `count` articles spread over the entries, fetched and read with the generic rules."""
    if not entries or count <= 0:
        return [], []
    step = max(1, len(entries) // count)
    chosen = entries[::step][:count]
    picked, failed = [], []
    for entry in chosen:
        try:
            response = fetcher.get(entry.url)
        except FetchError as error:
            failed.append((entry.url, error.reason))
            continue
        picked.append(Sample(entry.url, response, ArticlePage(response, None)))
    return picked, failed


def _column_name(findings: SectionFindings, page: ListPage) -> str:
    declared = clean_paragraph(findings.list_meta.get("columnname", ""))
    if declared:
        return declared
    named = Counter(s.page.column_name for s in findings.samples if s.page.column_name)
    if named:
        return named.most_common(1)[0][0]
    from crawler.pages.breadcrumb import read_breadcrumb

    crumbs = read_breadcrumb(page.root, "")
    if crumbs:
        return crumbs[-1]
    findings.notes.append("the column's name was not found (no ColumnName meta, breadcrumb or article column)")
    title = clean_paragraph(page.root.findtext(".//title") or "")
    return re.split(r"[-_|｜\s]", title)[0] or "column"


# Roles whose element shows something of its own article: the same text on every sampled page means the
# generic rules read the page's chrome (the logo's site name, the footer, a header date), not the article.
_PER_ARTICLE_ROLES = ("title", "meta_line", "body")


def _article_selectors(findings: SectionFindings, selectors: Selectors) -> Selectors:
    """Selectors for the article fields: one that most samples agree on, kept only if it finds
    on every sample the element the generic rules used (so the profile changes no result).

    A title, meta line or body element that shows the same text on every sampled page is chrome
    (the logo's site name, the footer): no selector is made of it, and a note says so."""
    chosen: dict[str, str] = {}
    for role in SELECTOR_ROLES:
        found = [(s, s.page.elements().get(role)) for s in findings.samples]
        found = [(s, el) for s, el in found if el is not None]
        if not found:
            continue
        if role in _PER_ARTICLE_ROLES and len(found) > 1 and len({clean_paragraph(visible_text(el, " "))
                                                                   for _, el in found}) == 1:
            findings.notes.append(f"no {role} selector: the element the generic rules read shows the same text "
                                  f"on all {len(found)} sampled pages (the site's logo or footer, or pages alike): the generic "
                                  "rules read it")
            continue
        each = [css_for(el, s.page.root) for s, el in found]
        # The selector most pages agree on; else, for templates that vary, all of theirs as one group.
        for candidate in (agreed(each), ", ".join(dict.fromkeys(c for c in each if c))):
            if candidate and all((hits := select(s.page.root, candidate)) and hits[0] is el for s, el in found):
                chosen[role] = candidate
                break
    return dataclasses.replace(selectors, **chosen)


# -- the site ---------------------------------------------------------------------------------------


def _site(findings: list[SectionFindings], name: str | None) -> Inference:
    notes: list[str] = []
    pages = [s.page for f in findings for s in f.samples]
    metas = [f.list_meta for f in findings]

    def majority(values) -> str | None:
        counted = Counter(v for v in values if v)
        return counted.most_common(1)[0][0] if counted else None

    site_name = majority([p.site_name for p in pages] + [m.get("sitename") for m in metas])
    if not site_name:
        notes.append("the site's name was not found (no SiteName meta on the sampled pages)")
    site_id = majority([p.site_id_code for p in pages] + [m.get("siteidcode") for m in metas])
    if not site_id:
        notes.append("no 政府网站标识码 found (no SiteIDCode meta, no 网站标识码 in the footers)")
    city = None
    if site_name:
        found = _PLACE.match(site_name)
        city = found.group(1) if found else None
    if not city:
        notes.append("the site's own place name was not found in its name (hijacked-city checks are off)")
    start = findings[0].section.start_url
    host = urlsplit(start).hostname or ""
    declared = majority([m.get("sitedomain") for m in metas] + [p.meta_tag("SiteDomain") for p in pages])
    declared_host = urlsplit(declared if "//" in (declared or "") else f"//{declared}").hostname if declared else None
    canonical = declared_host if declared_host and "." in declared_host else host
    hosts = list(dict.fromkeys(h for h in (host, canonical) if h))
    name = name or _short_name(canonical)
    names = [f.section.name for f in findings]
    for n, finding in enumerate(findings):
        if names.count(finding.section.name) > 1:
            finding.section = dataclasses.replace(finding.section, name=f"{finding.section.name}-{n + 1}")
    profile = SiteProfile(name=name, site_name=site_name or None, city=city, site_id_code=site_id,
                          sections=tuple(f.section for f in findings), host=canonical,
                          allowed_domains=tuple(hosts))
    profile = dataclasses.replace(profile, warc_prefix=profile.prefix)
    return Inference(profile, findings, notes, declared_host)


def _short_name(host: str) -> str:
    """A profile name from a host: www.weishan.gov.cn -> weishan; an address -> site-127-0-0-1."""
    labels = [label for label in host.lower().split(".") if label]
    if labels and all(label.isdigit() for label in labels):
        return "site-" + "-".join(labels)
    labels = [label for label in labels if label not in ("www", "gov", "cn", "com", "org", "net")]
    name = re.sub(r"[^a-z0-9-]+", "-", labels[0] if labels else host).strip("-")
    return name or "portal"
