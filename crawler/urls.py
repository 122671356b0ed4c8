"""URL rules: one canonical form per article, and the hosts a crawl may touch."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from w3lib.url import url_query_cleaner


def canonical_url(url: str, tracking: Iterable[str]) -> str:
    """The URL without its #fragment and without tracking parameters (utm_*, from, spm…)."""
    return url_query_cleaner(url, parameterlist=tuple(tracking), remove=True, keep_fragments=False)


def http_url_problem(value: str) -> str | None:
    """Why `value` is no http(s) URL with a host (and a port that is one), or None: what a user gives as a
    page to read or a link to publish (a space or a control character in it is refused, not cut away)."""
    if not value.isprintable() or any(ch.isspace() for ch in value):
        return "is not an http(s) URL (it holds a space or a control character)"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as error:
        return f"is not a URL ({error})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "is not an http(s) URL"
    return None


def host_allowed(url: str, domains: Iterable[str]) -> bool:
    """http(s) on one of `domains` (or a subdomain of one); nothing else, ever."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    host = parts.hostname.lower()
    return any(host == d or host.endswith("." + d) for d in (d.lower() for d in domains if d))
