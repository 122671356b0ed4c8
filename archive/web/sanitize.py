"""Making an archived article body safe to show on our own pages.

Portal HTML is untrusted (the seed article comes from a hijacked mirror), so
it goes through an allowlist: known text and table tags stay, script-like
elements go with their content, every other tag is unwrapped (its text
kept), attributes are kept only when listed for their tag, URLs only when
http(s) or relative, and `style` only for a few layout properties with plain
values.  Image and link targets are handed to the caller's `rewrite`
functions, so that nothing on the page points at the live portal.

    html = sanitize(body_html, base_url=url, image=lambda u: media_url_or_None, link=lambda u: u)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

# Tags kept as they are (with their allowed attributes).
ALLOWED_TAGS = frozenset({
    "p", "div", "br", "hr", "span", "strong", "b", "em", "i", "u", "sub", "sup", "small", "blockquote",
    "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "dl", "dt", "dd", "pre", "code", "center", "font",
    "a", "img", "figure", "figcaption",
    "table", "caption", "thead", "tbody", "tfoot", "tr", "td", "th", "colgroup", "col",
})
# Removed together with everything inside them.  Void elements (embed, link,
# meta, input...) are not listed: like any tag not allowed, they are unwrapped,
# keeping the text a parser may have nested inside them.
DROPPED_TAGS = frozenset({
    "script", "style", "iframe", "frame", "frameset", "object", "applet", "noscript", "template", "svg", "math",
    "button", "select", "textarea", "audio", "video", "canvas", "head", "title", "portal",
})
COMMON_ATTRIBUTES = frozenset({"title", "lang", "dir", "style"})
TAG_ATTRIBUTES = {
    "a": frozenset({"href"}),
    "img": frozenset({"src", "alt", "width", "height"}),
    "td": frozenset({"colspan", "rowspan", "align", "valign", "width"}),
    "th": frozenset({"colspan", "rowspan", "align", "valign", "width"}),
    "table": frozenset({"border", "cellpadding", "cellspacing", "width", "align"}),
    "col": frozenset({"span", "width"}),
    "colgroup": frozenset({"span", "width"}),
    "p": frozenset({"align"}),
    "div": frozenset({"align"}),
    "ol": frozenset({"start", "type"}),
}
# style="..." keeps only these properties, and only with plain values (no url(), no expression()).
STYLE_PROPERTIES = frozenset({"text-indent", "text-align", "display", "font-weight", "font-style"})
_PLAIN_VALUE = re.compile(r"^[a-zA-Z0-9.%# -]+$")
_SAFE_SCHEMES = ("http", "https")

Rewrite = Callable[[str], "str | None"]


def clean_style(style: str) -> str:
    """The allowed declarations of a style attribute, or '' when none is left."""
    kept = []
    for declaration in style.split(";"):
        name, sep, value = declaration.partition(":")
        name, value = name.strip().lower(), value.strip()
        if sep and name in STYLE_PROPERTIES and _PLAIN_VALUE.match(value):
            kept.append(f"{name}: {value}")
    return "; ".join(kept)


def absolute_url(value: str, base_url: str | None) -> str | None:
    """`value` made absolute against `base_url`, or None unless it is http(s)."""
    # Browsers ignore tabs, newlines and leading control characters in URLs ("java\tscript:").
    value = re.sub(r"[\x00-\x20]+", "", value)
    if not value:
        return None
    try:
        url = urljoin(base_url or "", value)
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in _SAFE_SCHEMES else None


def _drop(element: etree._Element) -> None:
    """Remove an element and its content, keeping the text that follows it."""
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail
    previous = element.getprevious()
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(element)


def _clean_attributes(element: etree._Element, base_url: str | None, image: Rewrite, link: Rewrite) -> bool:
    """Filter an element's attributes in place; False when the element should go (an image with no source)."""
    tag = element.tag
    allowed = COMMON_ATTRIBUTES | TAG_ATTRIBUTES.get(tag, frozenset())
    for name in list(element.attrib):
        value = element.attrib[name]
        lname = name.lower()
        if lname not in allowed:
            del element.attrib[name]
        elif lname == "style":
            style = clean_style(value)
            if style:
                element.attrib[name] = style
            else:
                del element.attrib[name]
        elif lname in ("href", "src"):
            url = absolute_url(value, base_url)
            target = None if url is None else (image(url) if lname == "src" else link(url))
            if target is None:
                del element.attrib[name]
            else:
                element.attrib[name] = target
    if tag == "a" and "href" in element.attrib:
        element.attrib["rel"] = "noopener noreferrer nofollow"
    return tag != "img" or "src" in element.attrib


def _missing_image(element: etree._Element) -> None:
    """Replace an image we do not hold with a visible note (never a live URL)."""
    note = lxml.html.Element("span")
    note.attrib["class"] = "missing-image"
    note.text = f"[图片未存档 image not archived{': ' + element.get('alt') if element.get('alt') else ''}]"
    note.tail = element.tail
    element.getparent().replace(element, note)


def sanitize(html: str | None, *, base_url: str | None = None, image: Rewrite | None = None,
             link: Rewrite | None = None) -> str:
    """Safe HTML for an untrusted body fragment.

    `image(url)` returns the URL to show an image from (our media route), or
    None when the archive does not hold it: the image is then replaced by a
    note.  `link(url)` returns where a link should point, or None to drop the
    href.  Both receive absolute http(s) URLs only.  By default images are
    dropped and links kept.
    """
    if not html or not html.strip():
        return ""
    image = image or (lambda url: None)
    link = link or (lambda url: url)
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return ""
    for element in list(root.iter()):
        # Elements inside one dropped earlier are still visited: harmless, they left the tree.
        if element is root:
            continue
        if not isinstance(element.tag, str):  # comments, processing instructions
            _drop(element)
            continue
        tag = element.tag.lower()
        element.tag = tag
        if tag in DROPPED_TAGS:
            _drop(element)
        elif tag not in ALLOWED_TAGS:  # unknown, void and namespaced (o:p) tags: unwrapped, their text kept
            element.attrib.clear()
            element.drop_tag()
        elif not _clean_attributes(element, base_url, image, link):
            _missing_image(element)
    root.attrib.clear()
    inner = (lxml.html.tostring(child, encoding="unicode", method="html") for child in root)
    return escape(root.text or "", quote=False) + "".join(inner)
