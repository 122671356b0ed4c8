"""Making an archived article body safe to show on our own pages.

Portal HTML is untrusted (the seed article comes from a hijacked mirror), so
it goes through nh3 (the binding to Ammonia, an html5ever-based allowlist
sanitiser) with our allowlist: known text and table tags stay, script-like
elements go with their content, every other tag is unwrapped (its text
kept), attributes are kept only when listed for their tag, URLs only when
http(s) or relative, and `style` only for a few layout properties with plain
values.  Image and link targets are handed to the caller's `rewrite`
functions, so that nothing on the page points at the live portal; an image
the archive does not hold becomes a visible note.

    html = sanitize(body_html, base_url=url, image=lambda u: media_url_or_None, link=lambda u: u)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape
from urllib.parse import urljoin, urlsplit

import lxml.html
import nh3

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
LINK_REL = "noopener noreferrer nofollow"
# style="..." keeps only these properties, and only with plain values (no url(), no expression()).
# Ammonia's own style filter checks property names only, not values, so this stays ours.
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

    def attribute(tag: str, name: str, value: str) -> str | None:
        # Called by Ammonia for each attribute its allowlist kept, after its
        # own URL-scheme check; returning None drops the attribute.
        if name == "style":
            return clean_style(value) or None
        if name in ("href", "src"):
            url = absolute_url(value, base_url)
            if url is None:
                return None
            return image(url) if tag == "img" else link(url)
        return value

    cleaned = nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_TAGS),
        attributes={"*": set(COMMON_ATTRIBUTES), **{tag: set(names) for tag, names in TAG_ATTRIBUTES.items()}},
        attribute_filter=attribute,
        url_schemes=set(_SAFE_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )
    return _note_missing_images(cleaned)


def _note_missing_images(html: str) -> str:
    """Replace each image left without a source by a visible note (never a live URL).

    Ammonia can drop an attribute but not swap an element, so this one step
    runs on its output, which is already safe and well formed.
    """
    if "<img" not in html:
        return html
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    missing = [element for element in root.iter("img") if element.get("src") is None]
    if not missing:
        return html
    for element in missing:
        note = lxml.html.Element("span")
        note.attrib["class"] = "missing-image"
        alt = element.get("alt")
        note.text = f"[图片未存档 image not archived{': ' + alt if alt else ''}]"
        note.tail = element.tail
        element.getparent().replace(element, note)
    inner = (lxml.html.tostring(child, encoding="unicode", method="html") for child in root)
    return escape(root.text or "", quote=False) + "".join(inner)
