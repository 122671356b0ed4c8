"""Site profiles: what a portal looks like, as data.

A profile is a TOML file (``crawler/profiles/<name>.toml``) loaded into a frozen
`SiteProfile`.  The spider reads its URLs and scope from it; the page objects
read its selectors, trying them after the national meta tags and before their
generic rules.  Nothing in a profile is code: a new portal is a new TOML file.

    profile = load_profile("tengzhou")
    local = profile.with_base_url("http://127.0.0.1:8000")   # for --replica
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

from crawler.urls import host_allowed
from lxml import etree

from archive.exits import UsageProblem


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


@dataclass(frozen=True)
class SiteProfile:
    """One portal section to archive.  Load with `load_profile`."""

    name: str = _help("Short name of the profile, e.g. tengzhou.")
    site_name: str | None = _help("The portal's own name (SiteName meta), e.g. 滕州市人民政府.")
    city: str | None = _help("The site's own place name; text naming another place is suspect.")
    start_url: str = _help("First list page of the section to crawl.")
    section_path: str = _help("URL path prefix the crawl must stay inside, e.g. /xwzx/gyjj/.")
    article_url_pattern: str = _help("Regex (re.search on the URL path) for article pages.")
    list_page_pattern: str = _help("Regex (re.search on the URL path) for the section's list pages.")
    site_id_code: str | None = _help("Government-site identifier code (政府网站标识码).", None)
    section: str | None = _help("The section's (column's) name, e.g. 工业经济.", None)
    host: str = _help("The site's canonical host; its other hosts (allowed_domains, a replica) fold onto it "
                      "in article keys.  Defaults to the start URL's host.", "")
    allowed_domains: tuple[str, ...] = _help(
        "Host names the crawl may fetch from; defaults to the start URL's host.", ()
    )
    selectors: Selectors = _help("Site-specific selectors, tried before the generic rules.",
                                 default_factory=Selectors)

    @property
    def base_url(self) -> str:
        """Scheme and host of the start URL, e.g. ``http://www.tengzhou.gov.cn``."""
        parts = urlsplit(self.start_url)
        return urlunsplit((parts.scheme, parts.netloc, "", "", ""))

    def with_base_url(self, base_url: str) -> SiteProfile:
        """The same profile served from another origin (the local replica):
        the start URL keeps its path, the allowed domain becomes the new host."""
        new = urlsplit(base_url)
        if not new.scheme or not new.hostname:
            raise ProfileError(f"base URL needs a scheme and a host: {base_url!r}")
        old = urlsplit(self.start_url)
        start = urlunsplit((new.scheme, new.netloc, old.path, old.query, ""))
        return dataclasses.replace(self, start_url=start, allowed_domains=(new.hostname,))

    def host_map(self) -> dict[str, str]:
        """Every host this crawl may fetch from, mapped to the site's canonical host (for article keys)."""
        from archive.catalogue.keys import host_map

        canonical = self.host or (urlsplit(self.start_url).hostname or "")
        return host_map(canonical, (*self.allowed_domains, urlsplit(self.start_url).hostname or ""))

    def is_article_url(self, url: str) -> bool:
        """Does `url`'s path look like one of this site's articles?"""
        return bool(self.article_url_pattern) and bool(
            re.search(self.article_url_pattern, urlsplit(url).path)
        )

    def is_list_page_url(self, url: str) -> bool:
        """Does `url`'s path look like one of the section's list pages?"""
        return bool(self.list_page_pattern) and bool(
            re.search(self.list_page_pattern, urlsplit(url).path)
        )

    def with_start_url(self, url: str) -> SiteProfile:
        """The same profile started from `url` (its host becomes an allowed domain too)."""
        host = urlsplit(url).hostname
        domains = self.allowed_domains
        if host and host not in domains:
            domains = (*domains, host)
        return dataclasses.replace(self, start_url=url, allowed_domains=domains)

    def in_scope(self, url: str) -> bool:
        """Is `url` http(s) on an allowed host and inside the section path?"""
        return host_allowed(url, self.allowed_domains) and urlsplit(url).path.startswith(self.section_path)


def field_help(cls: type) -> dict[str, str]:
    """Each field of a profile dataclass with its help line (used by docs and tests)."""
    return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}


def generic_profile() -> SiteProfile:
    """A profile with no site knowledge: only meta tags and generic rules apply."""
    return SiteProfile(name="generic", site_name=None, city=None, start_url="",
                       section_path="/", article_url_pattern="", list_page_pattern="")


_REQUIRED = ("name", "site_name", "city", "start_url", "section_path",
             "article_url_pattern", "list_page_pattern")


def load_profile(name_or_path: str | Path) -> SiteProfile:
    """Load a bundled profile by name (``"tengzhou"``) or a TOML file by path.

    Raises `ProfileError` when the file is missing, is not valid TOML, lacks a
    required key, has an unknown key, or holds a value of the wrong kind."""
    text, source = _read(name_or_path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"not valid TOML: {exc}", source) from None
    return profile_from_dict(data, source)


def _read(name_or_path: str | Path) -> tuple[str, str]:
    raw = str(name_or_path)
    if isinstance(name_or_path, Path) or raw.endswith(".toml") or "/" in raw or "\\" in raw:
        path = Path(raw)
        try:
            return path.read_text(encoding="utf-8"), str(path)
        except OSError as exc:
            raise ProfileError(f"cannot read profile file: {exc.strerror}", str(path)) from None
    if not re.fullmatch(r"[A-Za-z0-9_-]+", raw):
        raise ProfileError(f"not a profile name: {raw!r}")
    bundled = resources.files("crawler.profiles").joinpath(f"{raw}.toml")
    if not bundled.is_file():
        raise ProfileError(f"no bundled profile named {raw!r}")
    return bundled.read_text(encoding="utf-8"), f"{raw}.toml"


def profile_from_dict(data: dict[str, Any], source: str | None = None) -> SiteProfile:
    """Validate a parsed TOML table and build the profile (see `load_profile`)."""
    known = {f.name for f in dataclasses.fields(SiteProfile)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ProfileError(f"unknown keys: {', '.join(unknown)}", source)
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise ProfileError(f"missing keys: {', '.join(missing)}", source)
    values: dict[str, Any] = {}
    for key in known - {"selectors", "allowed_domains"}:
        if key in data:
            if not isinstance(data[key], str):
                raise ProfileError(f"{key} must be a string", source)
            values[key] = data[key]
    for key in ("article_url_pattern", "list_page_pattern"):
        try:
            re.compile(values[key])
        except re.error as exc:
            raise ProfileError(f"{key} is not a valid regex: {exc}", source) from None
    start = urlsplit(values["start_url"])
    if start.scheme not in ("http", "https") or not start.hostname:
        raise ProfileError(f"start_url must be an http(s) URL: {values['start_url']!r}", source)
    if not values["section_path"].startswith("/"):
        raise ProfileError("section_path must start with /", source)
    domains = data.get("allowed_domains", [start.hostname])
    if not isinstance(domains, list) or not all(isinstance(d, str) and d for d in domains):
        raise ProfileError("allowed_domains must be a list of host names", source)
    values["allowed_domains"] = tuple(domains)
    values["selectors"] = _selectors(data.get("selectors", {}), source)
    values.setdefault("host", start.hostname)
    return SiteProfile(**values)


def _selectors(table: Any, source: str | None) -> Selectors:
    if not isinstance(table, dict):
        raise ProfileError("[selectors] must be a table", source)
    known = {f.name for f in dataclasses.fields(Selectors)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ProfileError(f"unknown selectors: {', '.join(unknown)}", source)
    for key, value in table.items():
        if not isinstance(value, str):
            raise ProfileError(f"selectors.{key} must be a string", source)
        try:
            etree.XPath(selector_xpath(value)) if value else None
        except (SelectorError, etree.XPathError) as exc:
            raise ProfileError(f"selectors.{key} is not valid CSS or XPath: {exc}", source) from None
    return Selectors(**table)


def selector_xpath(selector: str) -> str:
    """A profile selector as XPath: XPath is kept, CSS is translated.

    Raises cssselect's `SelectorError` for bad CSS."""
    selector = selector.strip()
    if selector.startswith(("/", "./", "(")):
        return selector
    return _CSS.css_to_xpath(selector)


# lxml.html lower-cases tag names, as HTMLTranslator expects.
_CSS = HTMLTranslator()
