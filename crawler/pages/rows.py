"""The rows of a list page, found by its structure: links repeated in rows that look alike.

A column's list is a run of sibling elements of one kind (``<li>`` in a
``<ul>``, ``<tr>`` in a table, ``<div class="item">`` …), each holding a link
to an article and, nearly always, its date.  Menus repeat too, but their rows
are short and undated; so every group of look-alike rows is scored by how
many of its rows show a date (with or without its year: ``[01-05]``) and how
long their link texts are, halved when every link is a folder's index page
(a menu of sub-columns), and the best group is the list.  No URL pattern or class name of any CMS is needed.

    group = repeated_rows(root)          # RowGroup or None
    group.rows, group.links, group.selector
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from lxml import etree

from crawler.pages.markup import SKIP_TAGS, visible_text
from crawler.pages.text import clean_paragraph, parse_date

MIN_ROWS = 2
MIN_TITLE_CHARS = 5
_LINKS = etree.XPath("//body//a[@href]")
# Where a page's chrome lives; rows inside it are menus, not the list.
_CHROME = frozenset({"nav", "header", "footer"})
_ROW_TAGS = frozenset({"li", "tr", "dd", "dt", "div", "p", "article", "section", "span", "a", "td", "h3", "h4"})


@dataclass
class RowGroup:
    """Look-alike rows of a list page: each row, its article link, and a selector for the rows."""

    rows: list[etree._Element]
    links: list[etree._Element]
    dated: int
    score: float
    signature: tuple

    @property
    def selector(self) -> str:
        """A CSS selector for these rows (`container > row`), as a profile's list_rows."""
        return css_path(self.rows[0])


def _classes(el: etree._Element) -> str:
    return " ".join(sorted((el.get("class") or "").split()))


def _key(el: etree._Element) -> tuple[str, str]:
    return el.tag, _classes(el)


def _row_of(a: etree._Element, kinds: dict[etree._Element, Counter]) -> etree._Element | None:
    """The element that repeats: the nearest ancestor-or-self of the link whose parent
    holds two or more element children of its own tag and classes.  `kinds` keeps each
    parent's count of children by tag and classes, counted once (counting them again for
    every link made a list of 4,000 rows take 29 s)."""
    el = a
    for _ in range(6):
        parent = el.getparent()
        if parent is None or parent.tag in ("body", "html"):
            return None
        # A table's cell is no row: its <tr> is (the 成文日期 cell beside the title's is the row's date).
        if el.tag in _ROW_TAGS and not (el.tag in ("td", "th") and parent.tag == "tr"):
            counted = kinds.get(parent)
            if counted is None:
                counted = kinds[parent] = Counter(_key(child) for child in parent if isinstance(child.tag, str))
            if counted[_key(el)] >= MIN_ROWS:
                return el
        el = parent
    return None


def _in_chrome(el: etree._Element) -> bool:
    return any(ancestor.tag in _CHROME for ancestor in el.iterancestors())


def _signature(row: etree._Element) -> tuple:
    path = [_key(row)]
    for ancestor in row.iterancestors():
        if ancestor.tag in ("body", "html"):
            break
        path.append((ancestor.tag, _classes(ancestor), ancestor.get("id") or ""))
        if len(path) > 4:
            break
    return tuple(path)


def _link_text(a: etree._Element) -> str:
    return clean_paragraph(a.get("title") or "") or clean_paragraph(visible_text(a))


def row_date(row: etree._Element, link: etree._Element | None) -> str | None:
    """The date a row shows outside its link (a title may mention another date), YYYY-MM-DD."""
    text = visible_text(row, " ")
    if link is not None:
        text = text.replace(visible_text(link, " "), " ", 1)
    found = parse_date(text)
    return found.day.isoformat() if found else None


# A date without its year, as lists print them: [01-05], 01-05, 01/05, 1月5日.
_YEARLESS_DATE = re.compile(r"(?<![\d.:/-])(?:0?[1-9]|1[0-2])\s*(?:[-/.]\s*(?:0?[1-9]|[12]\d|3[01])(?![\d.:/-])"
                            r"|月\s*(?:0?[1-9]|[12]\d|3[01])\s*日)")
# A link to a folder's index page (a menu of sub-columns or departments), not to an article.
_FOLDER_INDEX = re.compile(r"(?:/|/(?:index|default|list)\w*\.\w+)$", re.I)


def _shows_date(row: etree._Element, link: etree._Element) -> bool:
    """Does the row show a date outside its link, with or without its year?"""
    if row_date(row, link):
        return True
    text = visible_text(row, " ").replace(visible_text(link, " "), " ", 1)
    return _YEARLESS_DATE.search(text) is not None


def _folder_link(a: etree._Element) -> bool:
    href = (a.get("href") or "").strip().split("#", 1)[0].split("?", 1)[0]
    return bool(_FOLDER_INDEX.search(href))


def repeated_rows(root: etree._Element, wanted=None) -> RowGroup | None:
    """The list of a list page: the best group of look-alike rows holding links, or None.

    `wanted(href)` may refuse links (another host, javascript:)."""
    groups: dict[tuple, dict[int, tuple[etree._Element, etree._Element]]] = defaultdict(dict)
    kinds: dict[etree._Element, Counter] = {}
    for a in _LINKS(root):
        href = (a.get("href") or "").strip()
        if not href or href.startswith(("javascript:", "#", "mailto:")) or (wanted and not wanted(href)):
            continue
        if any(ancestor.tag in SKIP_TAGS for ancestor in a.iterancestors()):
            continue
        row = _row_of(a, kinds)
        if row is None or _in_chrome(row):
            continue
        rows = groups[_signature(row)]
        # One link per row: the one with the longest text (a row may link its category too).
        held = rows.get(id(row))
        if held is None or len(_link_text(a)) > len(_link_text(held[1])):
            rows[id(row)] = (row, a)
    best: RowGroup | None = None
    for signature, found in groups.items():
        pairs = list(found.values())
        if len(pairs) < MIN_ROWS:
            continue
        texts = [_link_text(a) for _, a in pairs]
        mean = sum(len(t) for t in texts) / len(texts)
        if mean < MIN_TITLE_CHARS:
            continue
        # A date without its year ([01-05]) counts: without it, a long menu of undated departments
        # outscored a list of ten dated articles.  A group linking only folder index pages is a menu.
        dated = sum(1 for row, a in pairs if _shows_date(row, a))
        score = len(pairs) + 3 * dated + min(mean, 30) / 10
        if all(_folder_link(a) for _, a in pairs):
            score /= 2
        if best is None or score > best.score:
            best = RowGroup([row for row, _ in pairs], [a for _, a in pairs], dated, score, signature)
    return best


def css_path(row: etree._Element) -> str:
    """`container > row` in CSS for a row element: the parent by id or classes (or its own
    parent's), then the row's tag and classes."""
    def part(el: etree._Element, with_id: bool = True) -> str:
        ident = el.get("id") or ""
        if with_id and ident and _plain_name(ident):
            return f"{el.tag}#{ident}"
        classes = [c for c in (el.get("class") or "").split() if _plain_name(c)]
        return el.tag + "".join("." + c for c in classes)

    parent = row.getparent()
    row_part = part(row, with_id=False)
    if parent is None:
        return row_part
    container = part(parent)
    if container == parent.tag and parent.getparent() is not None and parent.getparent().tag not in ("body", "html"):
        container = f"{part(parent.getparent())} > {container}"
    return f"{container} > {row_part}"


def _plain_name(name: str) -> bool:
    """A class or id usable in CSS as written, and not a generated one (all digits or very long)."""
    return bool(name) and len(name) <= 40 and name.replace("-", "").replace("_", "").isalnum() \
        and name.isascii() and not name[0].isdigit()
