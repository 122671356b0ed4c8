"""An article's identity: a canonical key, as Wayback and pywb key captures by SURT.

The same article is reached over http and https, on `www.` and bare hosts,
on a replica's 127.0.0.1 or localhost, with tracking parameters and with its
query in any order.  Its key is the SURT of its URL with all of that folded:

    http://127.0.0.1:8000/xwzx/gyjj/202103/t20210315_1.html?utm_source=x
    https://tengzhou.gov.cn/xwzx/gyjj/202103/t20210315_1.html
        -> cn,gov,tengzhou)/xwzx/gyjj/202103/t20210315_1.html

* the scheme is dropped, and so are default ports and a leading `www.`;
* a host the crawl knows as an alias of the site (`hosts`, from the profile:
  its allowed domains, or the replica standing in for it) becomes the
  site's canonical host;
* tracking parameters are dropped and the query is sorted.

The crawl records its host map in its crawl-start record, so `reindex`
computes the same keys from the WARC files alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

import surt
from w3lib.url import url_query_cleaner


# A redirect to one of these paths of a site is a redirect to its home page (a withdrawal).
HOME_PATHS = frozenset({"", "/", "/index.html", "/index.htm", "/index.shtml", "/index.jsp"})


def article_key(url: str, hosts: Mapping[str, str] | None = None, tracking: Iterable[str] = ()) -> str:
    """The canonical key of `url` (see the module docstring).

    `hosts` maps a lower-case host name (optionally `host:port`) to the
    site's canonical host name.  `tracking` lists query parameters to drop.
    """
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().rstrip(".")
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    if hosts:
        netloc = hosts.get(netloc) or hosts.get(host) or netloc
    path = parts.path or "/"
    rebuilt = urlunsplit(("http", netloc, path, parts.query, ""))
    tracking = tuple(tracking)
    if tracking and parts.query:
        rebuilt = url_query_cleaner(rebuilt, parameterlist=tracking, remove=True, keep_fragments=False)
    return surt.surt(rebuilt, with_scheme=False)


@lru_cache(maxsize=1 << 16)
def cached_article_key(url: str, hosts: tuple[tuple[str, str], ...] = (), tracking: tuple[str, ...] = ()) -> str:
    """`article_key` with its settings as hashable tuples, remembered for the last 65,536 URLs.

    A fold keys the same URL again and again (its listing entries, its
    response, its metadata record, its rechecks); SURT costs ~0.1 ms a URL.
    """
    return article_key(url, dict(hosts), tracking)


def host_map(canonical: str, aliases: Iterable[str]) -> dict[str, str]:
    """A `hosts` mapping that folds each alias (and the canonical host) onto `canonical`."""
    canonical = canonical.lower()
    return {alias.lower(): canonical for alias in (*aliases, canonical) if alias}
