"""The breadcrumb: ``您的位置:首页 > 新闻中心 > 工业经济`` as a list of entries."""

from __future__ import annotations

import re

from lxml import etree

from crawler.pages.markup import SKIP_TAGS, select, visible_text
from crawler.pages.text import clean_paragraph

# 您的位置, 当前位置, 您现在的位置, 您当前的位置, 您当前所在位置, 您所在的位置, 当前所在位置 …
_LABEL_NODES = etree.XPath("//body//text()[contains(., '的位置') or contains(., '当前位置') "
                           "or contains(., '所在位置')]")
_LABEL = re.compile(r"^\s*(?:您|你)?(?:现在|当前)?(?:所在)?的?位置\s*(?:是)?\s*[:：]?\s*")
_SEPARATOR = re.compile(r"\s*(?:>>|>|»|›|＞|→|->)\s*")
# Loose text between links that is only a separator ("/", "|", "-").
_FILLER = re.compile(r"[\s/|\\·\-]*")


def read_breadcrumb(root: etree._Element, selector: str) -> list[str]:
    """Entries of the profile's breadcrumb element, else of the element whose
    text starts with 您的位置/当前位置/您现在的位置; [] when there is none."""
    return find_breadcrumb(root, selector)[0]


def find_breadcrumb(root: etree._Element, selector: str) -> tuple[list[str], etree._Element | None]:
    """(the breadcrumb's entries, its element), as `read_breadcrumb` finds them; ([], None) for none."""
    for el in select(root, selector):
        entries = crumbs(el)
        if entries:
            return entries, el
    for node in _LABEL_NODES(root):
        el = node.getparent()
        if node.is_tail:
            el = el.getparent()
        if el is None or el.tag in SKIP_TAGS:
            continue
        # The label may sit alone in a <span>: climb until entries appear.
        while not _LABEL.sub("", visible_text(el).strip(), count=1).strip():
            if el.getparent() is None:
                break
            el = el.getparent()
        if _LABEL.match(visible_text(el)):
            entries = crumbs(el)
            if entries:
                return entries, el
    return [], None


def crumbs(el: etree._Element) -> list[str]:
    """Entries of a breadcrumb element: each link is one entry, loose text is
    split at > / >> / » separators; the 您的位置 label is dropped."""
    pieces: list[str] = []

    def add_text(text: str | None) -> None:
        for part in _SEPARATOR.split(text or ""):
            part = clean_paragraph(part)
            if part and not _FILLER.fullmatch(part):
                pieces.append(part)

    def walk(node: etree._Element) -> None:
        add_text(node.text)
        for child in node:
            if child.tag == "a":
                text = clean_paragraph(child.text_content())
                if text:
                    pieces.append(text)
            elif isinstance(child.tag, str) and child.tag not in SKIP_TAGS:
                walk(child)
            add_text(child.tail)

    walk(el)
    if pieces and _LABEL.match(pieces[0]):
        rest = _LABEL.sub("", pieces[0], count=1)
        pieces[0:1] = [rest] if rest else []
    return pieces
