"""What every page object needs from the HTML: the response, the tree, the meta
tags, the declared charset, and profile selectors compiled to XPath."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

from lxml import etree
from w3lib.encoding import resolve_encoding
from scrapy.http import HtmlResponse, TextResponse

from crawler.profile import selector_xpath

# Elements that start a new paragraph (or a new row) in a rendered page.
BLOCK_TAGS = frozenset(
    "p div h1 h2 h3 h4 h5 h6 li ul ol dl dt dd table tbody thead tfoot tr td th "
    "caption blockquote section article aside header footer nav main figure "
    "figcaption pre center form fieldset address hr html body".split()
)
# Elements whose text is never page text.
SKIP_TAGS = frozenset("script style noscript template iframe object embed select "
                      "textarea button head title".split())

_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.I)
_BASE_HREF = etree.XPath("/html/head/base/@href")
_METAS = etree.XPath("//meta")


def response_from_bytes(body: bytes, url: str, headers: dict | None = None,
                        encoding: str | None = None) -> HtmlResponse:
    """An HtmlResponse as a crawl would build it, so encoding detection
    (header, then <meta>, then BOM/sniffing) is the crawl's own."""
    return HtmlResponse(url=url, body=body, headers=headers or {}, encoding=encoding)


def honest_response(response: TextResponse) -> TextResponse:
    """The response decoded with the charset its bytes are really in.

    Hijacked or misconfigured servers declare the wrong charset (GBK bytes
    as UTF-8, and the reverse).  Valid UTF-8 with non-ASCII bytes is UTF-8
    whatever the label says (GBK text almost never validates as UTF-8); bytes
    the declared codec cannot decode are tried as GBK, then GB18030.
    """
    body = response.body
    declared = response.encoding
    if not body.isascii():
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return response if resolve_encoding(declared) == "utf-8" else response.replace(encoding="utf-8")
    try:
        body.decode(declared)
        return response
    except (UnicodeDecodeError, LookupError):
        pass
    for candidate in ("gbk", "gb18030"):
        try:
            body.decode(candidate)
        except UnicodeDecodeError:
            continue
        return response.replace(encoding=candidate)
    return response


def tree_of(response: TextResponse) -> etree._Element:
    """The lxml tree of a response.  Reuses the response's parsel selector, so a
    spider that already queried the response does not pay for a second parse."""
    try:
        root = response.selector.root
    except ValueError:  # Scrapy's selector resolves <base href> first: one that is no URL (http://[::1)
        root = None
    if not isinstance(root, etree._Element):  # also a JSON answer, which parsel reads as JSON (a dict)
        from parsel import Selector

        root = Selector(text=response.text, type="html", base_url=response.url).root
    return root


def joined(base: str, href: str) -> str | None:
    """`href` resolved against `base`, or None for a link that is no URL (`http://[::1`, a port of 99999)."""
    try:
        url = urljoin(base, href)
        urlsplit(url).port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError:
        return None
    return url


def base_url_of(response: TextResponse, root: etree._Element) -> str:
    """The URL relative links resolve against: <base href> if any (and a URL), else the page URL."""
    href = _BASE_HREF(root)
    base = joined(response.url, href[0].strip()) if href else None
    # A browser ignores a base that is no http(s) URL (javascript:, data:): links resolve against the page.
    return base if base and urlsplit(base).scheme in ("http", "https") else response.url


def meta_tags(root: etree._Element) -> tuple[dict[str, str], str | None]:
    """(name -> content with names lower-cased, the charset a <meta> declares).

    The first tag of a name wins; empty contents are kept out."""
    names: dict[str, str] = {}
    charset = None
    for meta in _METAS(root):
        get = meta.get
        name = get("name") or get("property")
        if name:
            content = (get("content") or "").strip()
            if content:
                names.setdefault(name.strip().lower(), content)
        elif charset is None:
            if get("charset"):
                charset = get("charset").strip().lower() or None
            elif (get("http-equiv") or "").lower() == "content-type":
                found = _CHARSET.search(get("content") or "")
                charset = found.group(1).lower() if found else None
    return names, charset


def header_charset(response: TextResponse) -> str | None:
    """The charset of the Content-Type header, lower-case, or None."""
    value = response.headers.get(b"Content-Type")
    if not value:
        return None
    found = _CHARSET.search(value.decode("latin-1"))
    return found.group(1).lower() if found else None


@lru_cache(maxsize=512)
def compiled(selector: str) -> etree.XPath | None:
    """A profile selector compiled once (a pure memo: same string, same XPath).
    None for an empty selector."""
    if not selector.strip():
        return None
    return etree.XPath(selector_xpath(selector))


def select(root: etree._Element, selector: str) -> list:
    """Elements a profile selector matches, in document order ([] when unset)."""
    xpath = compiled(selector)
    if xpath is None:
        return []
    return [el for el in xpath(root) if isinstance(el, etree._Element)]


def block_of(el: etree._Element) -> etree._Element:
    """`el` or its nearest block-level ancestor."""
    while el.tag not in BLOCK_TAGS:
        parent = el.getparent()
        if parent is None:
            break
        el = parent
    return el


def visible_text(el: etree._Element, sep: str = "") -> str:
    """The text of `el` without script/style contents or comments.

    `sep` goes between the text of different elements: a meta line written as
    ``<span>日期：2021年3月5日</span><span>来源：…</span>`` needs one to keep its
    labels apart."""
    parts: list[str] = []
    _collect(el, parts, sep)
    return "".join(parts)


def _collect(root: etree._Element, parts: list[str], sep: str) -> None:
    """The text of `root` and its descendants (not SKIP_TAGS'), `sep` around each element, with a stack, not
    recursion (pasted pages nest a thousand deep)."""
    if root.text and root.tag not in SKIP_TAGS and isinstance(root.tag, str):
        parts.append(root.text)
    stack = [(root, iter(root))]
    while stack:
        el, children = stack[-1]
        for child in children:
            if isinstance(child.tag, str) and child.tag not in SKIP_TAGS:
                if sep:
                    parts.append(sep)
                if child.text:
                    parts.append(child.text)
                stack.append((child, iter(child)))
                break
            if child.tail:
                parts.append(child.tail)
        else:
            stack.pop()
            if stack:  # a child done: its closing separator, then its tail
                if sep:
                    parts.append(sep)
                if el.tail:
                    parts.append(el.tail)


class Page:
    """What every page object starts from: the response, its tree, a profile.

    Subclasses add one property per field; `profile=None` means generic rules only.
    """

    def __init__(self, response: TextResponse, profile=None):
        from crawler.profile import generic_profile

        self.response = response
        self.profile = profile or generic_profile()
        self.url = response.url
        self.root = tree_of(response)

    @classmethod
    def from_bytes(cls, body: bytes, url: str, headers: dict | None = None, profile=None,
                   encoding: str | None = None):
        """A page from saved bytes, decoded exactly as a crawl would decode them
        (pass the response headers, or force `encoding`)."""
        return cls(response_from_bytes(body, url, headers, encoding), profile)
