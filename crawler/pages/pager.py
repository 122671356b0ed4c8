"""The next page of a list whose pager is plain links, and what says a list has more pages.

County portals draw their 翻页 bars in many hands: a 下一页 (下 一 页, 下一頁,
后一页) link, the same label only in an icon's `alt` or the link's `title`,
arrows (`>`, `>>`, `›`, `»`), an English Next, a button whose onclick goes to
the page, or page numbers alone (1 2 3 … 尾页).  `next_link` tries them from the
plainest to the weakest: a link labelled 下一页 (or rel=next) first, then
arrows and Next, then the number after the current one.  Arrows and numbers
are weak evidence (a sidebar's » more link, a year archive's 2024), so they
are taken only for a page of the same list: same host, same folder or one
below it.  上一页 / 首页 / 尾页 are never the next page.

`more_pages_shown` says what on a page claims the list goes on (尾页, 共N页,
page numbers, a 下一页 that is no usable link), so `profile new` can say that
a column's pager was not understood instead of taking the list as one page.

Pure: no I/O.
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import urlsplit

from lxml import etree

from crawler.pages.markup import joined, visible_text

_LINKS = etree.XPath("//a[@href] | //input[@onclick] | //button[@onclick]")
_REL_NEXT = etree.XPath("//a[@href][@rel='next'] | //link[@href][@rel='next']")
# Labels of a next-page link, spaces removed: 下一页 and its spellings, anywhere in the label
# (下一页>>, [下一页]).
_NEXT_WORDS = re.compile(r"下一?[页頁]|[后後]一?[页頁]")
_PREVIOUS_WORDS = re.compile(r"上一?[页頁]|前一?[页頁]|首[页頁]|[尾末][页頁]|最后一?[页頁]")
# Arrow-only or English labels: weak (a sidebar's » more link looks the same).
_NEXT_ARROWS = re.compile(r"(?i)(?:next(?:page)?)?[>›»→]{0,2}")
_NUMBER = re.compile(r"\[?(\d{1,4})\]?")
_CURRENT_CLASS = re.compile(r"(?i)\b(?:cur\w*|active|on|sel\w*|now|this\w*)\b")
_GOTO = re.compile(r"""location(?:\.href)?\s*=\s*['"]([^'"]+)['"]""")
_PAGE_TOTAL = re.compile(r"共\s*(\d+)\s*页")
_LAST_WORDS = re.compile(r"[尾末][页頁]|最后一?[页頁]")
_LABEL_MAX = 10  # 下一页>>, [下一页], 下一页 »


def _label(el: etree._Element) -> str:
    """What a reader sees on a link or button, spaces removed: its text, else an icon's alt, else its title."""
    if el.tag == "input":
        text = el.get("value") or ""
    else:
        text = "".join(el.itertext()) if el.tag == "button" else visible_text(el)
    if not text.strip():
        text = " ".join(img.get("alt") or "" for img in el.iter("img")) or ""
    if not text.strip():
        text = el.get("title") or ""
    return re.sub(r"\s+", "", text)


def _says_next(label: str) -> bool:
    """A label naming the next page: short (以下页面 in a title is no pager), and not 上一页/首页/尾页."""
    return len(label) <= _LABEL_MAX and bool(_NEXT_WORDS.search(label)) and not _PREVIOUS_WORDS.search(label)


def _target(el: etree._Element, base_url: str) -> str | None:
    """Where a link or button goes: its href, else the location its onclick sets; None for script links."""
    href = (el.get("href") or "").strip()
    if href and not href.lower().startswith(("javascript:", "#")):
        return joined(base_url, href)
    found = _GOTO.search(el.get("onclick") or "")
    return joined(base_url, found.group(1)) if found else None


def _other_page(url: str | None, page_url: str) -> bool:
    if not url or urlsplit(url).scheme not in ("http", "https"):
        return False
    return urlsplit(url)._replace(fragment="") != urlsplit(page_url)._replace(fragment="")


def _same_list(url: str, page_url: str) -> bool:
    """Is `url` a page of the same list as `page_url`: same host, same folder or below it?"""
    here, there = urlsplit(page_url), urlsplit(url)
    folder = posixpath.dirname(here.path) + "/" if not here.path.endswith("/") else here.path
    return there.hostname == here.hostname and there.path.startswith(folder)


def next_link(root: etree._Element, base_url: str, page_url: str, candidates: list | None = None) -> str | None:
    """The next page's URL from the page's links (or from `candidates`, a profile's next_selector
    matches), or None."""
    if candidates:
        return next((url for a in candidates if _other_page(url := _target(a, base_url), page_url)), None)
    links = _LINKS(root)
    labelled = [(el, _label(el)) for el in links]
    strong = list(_REL_NEXT(root)) + [el for el, label in labelled if _says_next(label)]
    for el in strong:
        url = _target(el, base_url)
        if _other_page(url, page_url):
            return url
    for el, label in labelled:
        if label and _NEXT_ARROWS.fullmatch(label):
            url = _target(el, base_url)
            if _other_page(url, page_url) and _same_list(url, page_url):
                return url
    return _numbered_next(labelled, base_url, page_url)


def _numbered_next(labelled: list, base_url: str, page_url: str) -> str | None:
    """The link numbered one more than the current page, in a bar of page numbers."""
    by_bar: dict[etree._Element, list[tuple[int, etree._Element]]] = {}
    for el, label in labelled:
        found = _NUMBER.fullmatch(label)
        if found and el.tag == "a" and el.getparent() is not None:
            by_bar.setdefault(el.getparent(), []).append((int(found.group(1)), el))
    for bar, numbered in by_bar.items():
        current = _current_number(bar, numbered, base_url, page_url)
        for number, el in numbered:
            url = _target(el, base_url)
            if number == current + 1 and _other_page(url, page_url) and _same_list(url, page_url):
                return url
    return None


def _current_number(bar: etree._Element, numbered: list, base_url: str, page_url: str) -> int:
    """This page's number in a bar: the link to this very page, else the one marked current (a class
    such as cur/active, or a number that is no link), else 1 (page 1 often shows no 1)."""
    for number, el in numbered:
        if not _other_page(_target(el, base_url), page_url) or _CURRENT_CLASS.search(el.get("class") or ""):
            return number
    for text in _texts_outside_links(bar):
        found = _NUMBER.fullmatch(re.sub(r"\s+", "", text))
        if found:
            return int(found.group(1))
    return 1


def _texts_outside_links(bar: etree._Element) -> list[str]:
    """The bits of text of a pager bar that are no link (the current page's number is often one)."""
    out = [bar.text or ""]
    for el in bar.iterdescendants():
        if not isinstance(el.tag, str):
            continue
        inside_link = el.tag == "a" or any(up.tag == "a" for up in el.iterancestors() if up is not bar)
        if not inside_link:
            out.append(el.text or "")
        if el.getparent() is bar or not inside_link:
            out.append(el.tail or "")
    return [text for text in out if text.strip()]


def more_pages_shown(root: etree._Element) -> list[str]:
    """What on the page says its list has more pages: a 尾页/末页 link, 共N页 (N > 1), page numbers, a
    下一页 that leads nowhere a crawl can follow (a script)."""
    flat = re.sub(r"\s+", "", visible_text(root))
    total = _PAGE_TOTAL.search(flat)
    if total and int(total.group(1)) <= 1:
        return []  # 共1页: the page says it is the only one
    out = []
    labels = [_label(el) for el in _LINKS(root)]
    if any(_LAST_WORDS.search(label) for label in labels):
        out.append("a 尾页 link")
    if total:
        out.append(total.group(0))
    if sum(1 for label in labels if _NUMBER.fullmatch(label)) >= 2:
        out.append("page numbers")
    words = [el for el in root.iter() if isinstance(el.tag, str) and el.tag not in ("script", "style")
             and _NEXT_WORDS.search(re.sub(r"\s+", "", (el.text or "") + (el.get("value") or "")))]
    if words:
        out.append("a 下一页 that is no link a crawl can follow")
    return out
