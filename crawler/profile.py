"""Site profiles: what a portal looks like, as data.

A profile is a TOML file (``crawler/profiles/<name>.toml``, or any path) loaded
into a frozen `SiteProfile`: one portal (its name, place name, 政府网站标识码,
hosts, canonical host and WARC prefix) and one or more `Section`s, the columns
(栏目) to archive, each with its start URL, path, article URL pattern,
pagination and selectors.  The spider reads URLs, scope and pagination from
it; the page objects read a section's selectors, trying them after the
national meta tags and before their generic rules.  Nothing in a profile is
code: a new portal is a new TOML file (`portal-archive profile new` writes one).

    profile = load_profile("tengzhou")
    local = profile.with_base_url("http://127.0.0.1:8000")   # for --replica
    one = profile.for_section("工业经济")                      # a profile of that section alone

A profile seen by a page object is focused on one section: `profile.selectors`,
`profile.start_url`, `profile.in_scope(url)` … are its first section's.

The file format (docs/portals.md shows a whole one)::

    name = "weishan"            # and site_name, city, site_id_code, host, hosts, warc_prefix
    [[sections]]
    name = "政务要闻"             # and start_url, section_path, article_url_pattern, list_page_pattern
    [sections.pagination]
    kind = "hanweb"             # trs, links, hanweb, json, none or auto, and the kind's parameters
    [sections.selectors]
    body = "#zoom"

Files of the first format (one section: start_url, section_path … and
`section` at the top level, `[selectors]`) still load, as a profile of one section.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from cssselect import HTMLTranslator, SelectorError
from lxml import etree

from archive.exits import UsageProblem
from crawler.urls import host_allowed


class ProfileError(UsageProblem, ValueError):
    """A profile cannot be loaded; `reason` says why, `source` says which file."""

    def __init__(self, reason: str, source: str | None = None):
        self.reason = reason
        self.source = source
        super().__init__(f"{source}: {reason}" if source else reason)


def _help(text: str, default: Any = dataclasses.MISSING, **kwargs: Any) -> Any:
    return field(default=default, metadata={"help": text}, **kwargs)


@dataclass(frozen=True)
class Selectors:
    """CSS or XPath strings (XPath when they start with ``/``, ``./`` or ``(``).
    An empty string means "no site rule": the generic rules apply."""

    title: str = _help("The article title element.", "")
    meta_line: str = _help("The line under the title holding 时间/来源.", "")
    body: str = _help("The article body block.", "")
    breadcrumb: str = _help("The 您的位置 breadcrumb element.", "")
    attachments: str = _help("Attachment links outside the body (附件 block).", "")
    list_rows: str = _help("One row per article on a list page.", "")
    xxgk: str = _help("The 信息公开 metadata table (索引号, 发布机构, 生成日期 …) of an article.", "")


PAGINATION_KINDS = ("auto", "trs", "links", "hanweb", "json", "none")


@dataclass(frozen=True)
class Pagination:
    """How a section's list goes on past its first page.

    * ``trs``: the ``createPageHTML(COUNT, CURRENT, "index", "html")`` script (index.html, index_1.html …),
      or its variants (an element id first and a record count last; ``var countPage``/``currentPage``);
    * ``links``: a 下一页 / ``rel=next`` link (or the one `next_selector` finds);
    * ``hanweb``: Hanweb JCMS: the first rows in the page's inline ``<datastore>``, the rest by POST to
      ``dataproxy.jsp?startrecord=S&endrecord=E&perpage=P`` with the list module's fields as the form;
    * ``json``: the page is a shell a script fills from a JSON API, asked page by page;
    * ``none``: one page;
    * ``auto``: whichever of trs, hanweb and links the page shows.
    """

    kind: str = _help("trs, links, hanweb, json, none or auto.", "auto")
    next_selector: str = _help("links: the next-page link (CSS or XPath); empty: 下一页 or rel=next.", "")
    proxy_url: str = _help("hanweb: the dataproxy URL (relative to the start URL); empty: the page's proxyUrl.", "")
    per_page: int = _help("hanweb: rows per page (jpage perPage); 0: the page's.", 0)
    records_per_request: int = _help("hanweb: rows asked for in one POST (perPage × groupSize); 0: the page's.", 0)
    form: tuple[tuple[str, str], ...] = _help(
        "hanweb: the list module's fields posted with each request (param_UNIT); empty: the page's.", ())
    api_url: str = _help("json: the list API (relative to the start URL).", "")
    params: tuple[tuple[str, str], ...] = _help("json: fixed query parameters of the API (the channel …).", ())
    page_param: str = _help("json: the query parameter holding the page number.", "page")
    size_param: str = _help("json: the query parameter holding the page size (empty: none sent).", "size")
    size: int = _help("json: rows asked for per page.", 20)
    first_page: int = _help("json: the number of the first page (1, or 0 for zero-based APIs).", 1)
    list_key: str = _help("json: where the rows are in the answer (a dotted path, e.g. data.list).", "list")
    url_key: str = _help("json: the key of a row's article URL.", "url")
    title_key: str = _help("json: the key of a row's title.", "title")
    date_key: str = _help("json: the key of a row's date.", "date")
    pages_key: str = _help("json: the key of the page count in the answer (dotted; empty: none).", "pages")

    def form_dict(self) -> dict[str, str]:
        return dict(self.form)


@dataclass(frozen=True)
class Section:
    """One column (栏目) of a portal, to be archived."""

    name: str = _help("The column's name as the portal calls it, e.g. 工业经济; every item says it as `section`.")
    start_url: str = _help("First list page of the column.")
    section_path: str = _help("URL path prefix the column's list pages and articles share, e.g. /xwzx/gyjj/ "
                              "(/ when they share none, as on Hanweb sites); the crawl stays inside it.")
    article_url_pattern: str = _help("Regex (re.search on the URL path) for the column's article pages.")
    list_page_pattern: str = _help("Regex (re.search on the URL path) for the column's list pages.", "")
    pagination: Pagination = _help("How the list goes on past its first page.", default_factory=Pagination)
    selectors: Selectors = _help("Site-specific selectors, tried before the generic rules.",
                                 default_factory=Selectors)

    def is_article_url(self, url: str) -> bool:
        return bool(self.article_url_pattern) and bool(re.search(self.article_url_pattern, urlsplit(url).path))

    def is_list_page_url(self, url: str) -> bool:
        return bool(self.list_page_pattern) and bool(re.search(self.list_page_pattern, urlsplit(url).path))


# A section with no site knowledge (what a generic profile holds).
_NO_SECTION = Section(name="", start_url="", section_path="/", article_url_pattern="")


@dataclass(frozen=True)
class SiteProfile:
    """One portal and the sections of it to archive.  Load with `load_profile`."""

    name: str = _help("Short name of the profile, e.g. tengzhou; every item says it as `site`.")
    site_name: str | None = _help("The portal's own name (SiteName meta), e.g. 滕州市人民政府; '' when not known.")
    city: str | None = _help("The site's own place name; text naming another place is suspect ('' when not "
                             "known: no such check).")
    sections: tuple[Section, ...] = _help("The columns to archive, in crawl order.", ())
    site_id_code: str | None = _help("Government-site identifier code (政府网站标识码).", None)
    host: str = _help("The site's canonical host; its other hosts (allowed_domains, a replica) fold onto it "
                      "in article keys.  Defaults to the first start URL's host.", "")
    allowed_domains: tuple[str, ...] = _help(
        "Host names the crawl may fetch from (`hosts` in the file); defaults to the start URLs' hosts.", ())
    warc_prefix: str = _help("First part of every WARC file name; defaults to the name in capitals.", "")

    # -- the focused section (the first) ------------------------------------------------------
    @property
    def first(self) -> Section:
        if not self.sections:
            return _NO_SECTION
        return self.sections[0]

    @property
    def section(self) -> str | None:
        """The first section's name (a profile handed to a page object has only the one)."""
        return (self.sections[0].name or None) if self.sections else None

    @property
    def start_url(self) -> str:
        return self.first.start_url

    @property
    def section_path(self) -> str:
        return self.first.section_path

    @property
    def article_url_pattern(self) -> str:
        return self.first.article_url_pattern

    @property
    def list_page_pattern(self) -> str:
        return self.first.list_page_pattern

    @property
    def selectors(self) -> Selectors:
        return self.first.selectors

    @property
    def pagination(self) -> Pagination:
        return self.first.pagination

    @property
    def section_names(self) -> list[str]:
        return [section.name for section in self.sections]

    @property
    def base_url(self) -> str:
        """Scheme and host of the start URL, e.g. ``http://www.tengzhou.gov.cn``."""
        parts = urlsplit(self.start_url)
        return urlunsplit((parts.scheme, parts.netloc, "", "", ""))

    def for_section(self, name: str) -> SiteProfile:
        """The same portal with only the section `name` (ProfileError naming the sections if none)."""
        return dataclasses.replace(self, sections=(self.get_section(name),))

    def get_section(self, name: str) -> Section:
        for section in self.sections:
            if section.name == name:
                return section
        raise ProfileError(f"no section {name!r} in profile {self.name!r}; its sections: "
                           f"{', '.join(self.section_names) or 'none'}")

    def only(self, names: list[str] | tuple[str, ...]) -> SiteProfile:
        """The same portal with only these sections, in the profile's order (all when `names` is empty)."""
        if not names:
            return self
        wanted = [self.get_section(name) for name in names]
        return dataclasses.replace(self, sections=tuple(s for s in self.sections if s in wanted))

    def with_base_url(self, base_url: str) -> SiteProfile:
        """The same profile served from another origin (the local replica): every start
        URL keeps its path, the allowed domain becomes the new host."""
        new = urlsplit(base_url)
        if not new.scheme or not new.hostname:
            raise ProfileError(f"base URL needs a scheme and a host: {base_url!r}")

        def moved(section: Section) -> Section:
            old = urlsplit(section.start_url)
            start = urlunsplit((new.scheme, new.netloc, old.path, old.query, ""))
            return dataclasses.replace(section, start_url=start)

        # The machine's own names are one host: a replica on 127.0.0.1 redirecting to localhost (its home page,
        # a moved article) is the same site, as `www.` and bare are for a portal.
        loopback = ("127.0.0.1", "localhost")
        domains = loopback if new.hostname in loopback else (new.hostname,)
        return dataclasses.replace(self, sections=tuple(moved(s) for s in self.sections),
                                   allowed_domains=domains, host=self.host or self._start_host())

    def with_start_url(self, url: str) -> SiteProfile:
        """The first section started from `url` (its host becomes an allowed domain too)."""
        host = urlsplit(url).hostname
        domains = self.allowed_domains
        if host and host not in domains:
            domains = (*domains, host)
        first = dataclasses.replace(self.first, start_url=url)
        return dataclasses.replace(self, sections=(first, *self.sections[1:]), allowed_domains=domains,
                                   host=self.host or self._start_host())

    def _start_host(self) -> str:
        return urlsplit(self.start_url).hostname or ""

    def host_map(self) -> dict[str, str]:
        """Every host this crawl may fetch from, mapped to the site's canonical host (for article keys)."""
        from archive.catalogue.keys import host_map

        canonical = self.host or self._start_host()
        starts = [urlsplit(s.start_url).hostname or "" for s in self.sections]
        return host_map(canonical, (*self.allowed_domains, *starts))

    def is_article_url(self, url: str) -> bool:
        """Does `url`'s path look like one of the (first) section's articles?"""
        return self.first.is_article_url(url)

    def is_list_page_url(self, url: str) -> bool:
        """Does `url`'s path look like one of the (first) section's list pages?"""
        return self.first.is_list_page_url(url)

    def in_scope(self, url: str, section: Section | None = None) -> bool:
        """Is `url` http(s) on an allowed host and inside the (first) section's path?"""
        section = section or self.first
        return self.on_site(url) and urlsplit(url).path.startswith(section.section_path)

    def on_site(self, url: str) -> bool:
        """Is `url` http(s) on one of the site's allowed hosts?"""
        return host_allowed(url, self.allowed_domains)

    @property
    def prefix(self) -> str:
        """The WARC file prefix: `warc_prefix`, else the name in capitals."""
        return self.warc_prefix or re.sub(r"[^A-Z0-9]+", "-", self.name.upper()).strip("-") or "PORTAL"


def field_help(cls: type) -> dict[str, str]:
    """Each field of a profile dataclass with its help line (used by docs and tests)."""
    return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}


def generic_profile() -> SiteProfile:
    """A profile with no site knowledge: only meta tags and generic rules apply."""
    return SiteProfile(name="generic", site_name=None, city=None, sections=(_NO_SECTION,))



def load_profile(name_or_path: str | Path) -> SiteProfile:
    """Load a bundled profile by name (``"tengzhou"``) or a TOML file by path.

    Raises `ProfileError` when the file is missing, is not valid TOML, lacks a
    required key, has an unknown key, or holds a value of the wrong kind."""
    text, source = read_profile_text(name_or_path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"not valid TOML: {exc}", source) from None
    return profile_from_dict(data, source)


def read_profile_text(name_or_path: str | Path) -> tuple[str, str]:
    """(TOML text, where it came from) of a bundled profile's name or a file's path (ProfileError if none)."""
    raw = str(name_or_path)
    if isinstance(name_or_path, Path) or raw.endswith(".toml") or "/" in raw or "\\" in raw:
        path = Path(raw)
        try:
            # utf-8-sig: a byte-order mark, as Windows editors write, is not part of the TOML.
            return path.read_text(encoding="utf-8-sig"), str(path)
        except OSError as exc:
            raise ProfileError(f"cannot read profile file: {exc.strerror}", str(path)) from None
        except UnicodeDecodeError as exc:
            raise ProfileError(f"not UTF-8 text (byte {exc.start}): TOML files are UTF-8; save it as UTF-8 "
                               "(not GBK)", str(path)) from None
    if not re.fullmatch(r"[A-Za-z0-9_-]+", raw):
        raise ProfileError(f"not a profile name: {raw!r}")
    bundled = resources.files("crawler.profiles").joinpath(f"{raw}.toml")
    if not bundled.is_file():
        raise ProfileError(f"no bundled profile named {raw!r}")
    return bundled.read_text(encoding="utf-8"), f"{raw}.toml"


def bundled_profile_names() -> list[str]:
    """The names of the profiles shipped in crawler/profiles, sorted."""
    folder = resources.files("crawler.profiles")
    return sorted(entry.name[:-5] for entry in folder.iterdir() if entry.name.endswith(".toml"))


_SITE_KEYS = {"name", "site_name", "city", "site_id_code", "host", "hosts", "allowed_domains", "warc_prefix",
              "sections"}
_SITE_REQUIRED = ("name", "site_name", "city")
_SITE_UNKNOWN_EMPTY = ("site_name", "city", "site_id_code")  # '' in the file: not known (None)
# Keys of the first format, one section at the top level.
_LEGACY_SECTION_KEYS = {"start_url", "section_path", "article_url_pattern", "list_page_pattern", "section",
                        "selectors", "pagination"}
_SECTION_REQUIRED = ("name", "start_url", "section_path", "article_url_pattern")


def profile_from_dict(data: dict[str, Any], source: str | None = None) -> SiteProfile:
    """Validate a parsed TOML table and build the profile (see `load_profile`)."""
    legacy = _LEGACY_SECTION_KEYS & set(data)
    if legacy and "sections" in data:
        raise ProfileError(f"{', '.join(sorted(legacy))} belong inside a [[sections]] table when the profile has "
                           "[[sections]]: move them there (one [[sections]] table per column)", source)
    if legacy:
        # The first format: one section, its keys at the top level.
        section = {key: data[key] for key in legacy if key != "section"}
        section["name"] = data.get("section") or data.get("name")
        data = {key: value for key, value in data.items() if key not in legacy}
        data["sections"] = [section]
    unknown = sorted(set(data) - _SITE_KEYS)
    if unknown:
        raise ProfileError(f"unknown keys: {', '.join(unknown)}", source)
    missing = [key for key in _SITE_REQUIRED if key not in data]
    if "sections" not in data:
        missing.append("sections (one [[sections]] table per column, with start_url …)")
    if missing:
        raise ProfileError(f"missing keys: {', '.join(missing)}", source)
    values: dict[str, Any] = {}
    for key in ("name", "site_name", "city", "site_id_code", "host", "warc_prefix"):
        if key in data:
            if not isinstance(data[key], str):
                raise ProfileError(f"{key} must be a string", source)
            values[key] = data[key]
    # TOML has no null: `profile new` writes '' for a name or place it could not find, and an
    # empty value means "not known", as None does (a profile of a site without a SiteName meta
    # must read back as the one inferred).
    for key in _SITE_UNKNOWN_EMPTY:
        if key in values and not values[key].strip():
            values[key] = None
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", values["name"]):
        raise ProfileError(f"name must be letters, digits, '.', '_' or '-' (it names the site in the archive): "
                           f"{values['name']!r}", source)
    if values.get("warc_prefix") and not re.fullmatch(r"[A-Za-z0-9_-]+", values["warc_prefix"]):
        raise ProfileError("warc_prefix must be letters, digits, '_' or '-'", source)
    tables = data["sections"]
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise ProfileError("sections must be one or more [[sections]] tables", source)
    sections = tuple(_section(table, n, source) for n, table in enumerate(tables, 1))
    names = [section.name for section in sections]
    if len(set(names)) != len(names):
        raise ProfileError(f"two sections have the same name: {', '.join(sorted({n for n in names if names.count(n) > 1}))}",
                           source)
    if "hosts" in data and "allowed_domains" in data:
        raise ProfileError("give the hosts once: hosts (allowed_domains is its older name)", source)
    starts = list(dict.fromkeys(urlsplit(s.start_url).hostname for s in sections))
    domains = data.get("hosts", data.get("allowed_domains", starts))
    if not isinstance(domains, list) or not all(isinstance(d, str) and d for d in domains):
        raise ProfileError("hosts must be a list of host names", source)
    values["allowed_domains"] = tuple(domains)
    values["sections"] = sections
    values.setdefault("host", starts[0])
    return SiteProfile(**values)


def _section(table: dict[str, Any], number: int, source: str | None) -> Section:
    where = f"sections[{number}]"
    known = {f.name for f in dataclasses.fields(Section)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ProfileError(f"{where}: unknown keys: {', '.join(unknown)}", source)
    missing = [key for key in _SECTION_REQUIRED if not table.get(key)]
    if missing:
        raise ProfileError(f"{where}: missing keys: {', '.join(missing)}", source)
    values: dict[str, Any] = {}
    for key in known - {"selectors", "pagination"}:
        if key in table:
            if not isinstance(table[key], str):
                raise ProfileError(f"{where}: {key} must be a string", source)
            values[key] = table[key]
    for key in ("article_url_pattern", "list_page_pattern"):
        try:
            re.compile(values.get(key, ""))
        except re.error as exc:
            raise ProfileError(f"{where}: {key} is not a valid regex: {exc}", source) from None
    start = urlsplit(values["start_url"])
    if start.scheme not in ("http", "https") or not start.hostname:
        raise ProfileError(f"{where}: start_url must be an http(s) URL: {values['start_url']!r}", source)
    if not values["section_path"].startswith("/"):
        raise ProfileError(f"{where}: section_path must start with /", source)
    values["selectors"] = _selectors(table.get("selectors", {}), where, source)
    values["pagination"] = _pagination(table.get("pagination", {}), where, source)
    return Section(**values)


def _selectors(table: Any, where: str, source: str | None) -> Selectors:
    if not isinstance(table, dict):
        raise ProfileError(f"{where}: selectors must be a table", source)
    known = {f.name for f in dataclasses.fields(Selectors)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ProfileError(f"{where}: unknown selectors: {', '.join(unknown)}", source)
    for key, value in table.items():
        if not isinstance(value, str):
            raise ProfileError(f"{where}: selectors.{key} must be a string", source)
        _check_selector(value, f"{where}: selectors.{key}", source)
    return Selectors(**table)


def _check_selector(value: str, what: str, source: str | None) -> None:
    try:
        etree.XPath(selector_xpath(value)) if value else None
    except (SelectorError, etree.XPathError) as exc:
        raise ProfileError(f"{what} is not valid CSS or XPath: {exc}", source) from None


def _pagination(table: Any, where: str, source: str | None) -> Pagination:
    if isinstance(table, str):
        table = {"kind": table}
    if not isinstance(table, dict):
        raise ProfileError(f"{where}: pagination must be a table (kind = …) or a kind", source)
    fields = {f.name: f for f in dataclasses.fields(Pagination)}
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise ProfileError(f"{where}: unknown pagination keys: {', '.join(unknown)}", source)
    values: dict[str, Any] = {}
    for key, value in table.items():
        default = fields[key].default
        if isinstance(default, tuple):
            if not isinstance(value, dict) or not all(isinstance(v, (str, int)) for v in value.values()):
                raise ProfileError(f"{where}: pagination.{key} must be a table of strings", source)
            values[key] = tuple((str(k), str(v)) for k, v in value.items())
        elif isinstance(default, int) and not isinstance(default, bool):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ProfileError(f"{where}: pagination.{key} must be a whole number, 0 or more", source)
            values[key] = value
        else:
            if not isinstance(value, str):
                raise ProfileError(f"{where}: pagination.{key} must be a string", source)
            values[key] = value
    pagination = Pagination(**values)
    if pagination.kind not in PAGINATION_KINDS:
        raise ProfileError(f"{where}: pagination.kind must be one of {', '.join(PAGINATION_KINDS)}, "
                           f"not {pagination.kind!r}", source)
    if pagination.kind == "json" and not pagination.api_url:
        raise ProfileError(f"{where}: pagination kind json needs api_url", source)
    if pagination.next_selector:
        _check_selector(pagination.next_selector, f"{where}: pagination.next_selector", source)
    return pagination


def selector_xpath(selector: str) -> str:
    """A profile selector as XPath: XPath is kept, CSS is translated.

    Raises cssselect's `SelectorError` for bad CSS."""
    selector = selector.strip()
    if selector.startswith(("/", "./", "(")):
        return selector
    return _CSS.css_to_xpath(selector)


# lxml.html lower-cases tag names, as HTMLTranslator expects.
_CSS = HTMLTranslator()
