"""URL rules: one canonical form per article, and the hosts a crawl may touch."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from w3lib.url import url_query_cleaner


def canonical_url(url: str, tracking: Iterable[str]) -> str:
    """The URL without its #fragment and without tracking parameters (utm_*, from, spm…)."""
    return url_query_cleaner(url, parameterlist=tuple(tracking), remove=True, keep_fragments=False)


def host_allowed(url: str, domains: Iterable[str]) -> bool:
    """http(s) on one of `domains` (or a subdomain of one); nothing else, ever."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    host = parts.hostname.lower()
    return any(host == d or host.endswith("." + d) for d in (d.lower() for d in domains if d))
