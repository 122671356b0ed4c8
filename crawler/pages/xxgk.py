"""The metadata table of a 政府信息公开 (xxgk) page: 索引号, 发布机构, 生成日期, 文号 …

Information-disclosure platforms print a table of label/value pairs above
the document, as a ``<table>`` (``<th>索引号：</th><td>…</td>`` pairs, two or
three a row, a wide ``colspan`` cell for 名称) or as a list
(``<li><b>索引号：</b><span>…</span></li>``, or ``<dt>``/``<dd>``).  The table is
the record the platform keeps; where the page's meta tags disagree with it
(a ``PubDate`` that is the page's regeneration time), the table is right.

    table, element = find_xxgk(root, selector)   # {"索引号": "…", "发布机构": "…", "生成日期": "2024-09-21", …}
                                                 # and its element, or (None, None)
"""

from __future__ import annotations

import re

from lxml import etree

from crawler.pages.markup import SKIP_TAGS, select, visible_text
from crawler.pages.text import EDGE_SPACE, Published, clean_paragraph, parse_date

# Labels an xxgk table always or often has; a block holding 索引号 and one of
# the others is taken for the table.
INDEX_LABEL = "索引号"
OTHER_LABELS = ("发布机构", "主题分类", "文号", "发文字号", "生成日期", "成文日期", "发布日期", "公开方式", "有效性")
# Labels whose date is the publication date, best first.  成文日期 (written)
# and 发文日期 (issued) come before it and are never the publication date.
PUBLICATION_LABELS = ("发布日期", "生成日期", "公开日期", "发布时间")

# "索 引 号" is spaced out on some platforms: spaces are dropped before looking.
_HAS_INDEX = "contains(translate(., ' \u3000\u00a0', ''), '索引号')"
_TABLES = etree.XPath(
    f"//table[.//text()[{_HAS_INDEX}]][not(.//table[.//text()[{_HAS_INDEX}]])]")
_LISTS = etree.XPath(
    f"//*[self::ul or self::dl or self::ol][.//text()[{_HAS_INDEX}]]"
    f"[not(.//*[self::ul or self::dl or self::ol][.//text()[{_HAS_INDEX}]])]")
_COLON = "：:"
_SPACES = re.compile(r"\s+")


def find_xxgk(root: etree._Element, selector: str = "") -> tuple[dict[str, str] | None, etree._Element | None]:
    """(the metadata table as {label: value}, labels as printed without their colon, values as printed
    ("" for an empty cell), in page order; and its element), or (None, None).

    The profile's `selector` (the table or list element) is tried first."""
    for el in select(root, selector):
        found = _pairs(el)
        if _is_table(found):
            return found, el
    for xpath in (_TABLES, _LISTS):
        for el in xpath(root):
            found = _pairs(el)
            if _is_table(found):
                return found, el
    return None, None


def table_date(table: dict[str, str]) -> Published | None:
    """The publication date a metadata table gives (发布日期, else 生成日期 …), or None."""
    for label in PUBLICATION_LABELS:
        value = table.get(label)
        if value:
            found = parse_date(value)
            if found is not None:
                return found
    return None


def _is_table(pairs: dict[str, str]) -> bool:
    return INDEX_LABEL in {_SPACES.sub("", label) for label in pairs} and any(
        _SPACES.sub("", label) in OTHER_LABELS for label in pairs)


def _pairs(el: etree._Element) -> dict[str, str]:
    if el.tag == "table":
        return _table_pairs(el)
    return _list_pairs(el)


def _label(text: str) -> str | None:
    """The label a cell holds (its text without the colon), or None if it is not a label cell."""
    text = clean_paragraph(text)
    if not text:
        return None
    if text[-1] in _COLON:
        return text[:-1].strip(EDGE_SPACE) or None
    return None


def _table_pairs(table: etree._Element) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for row in table.iter("tr"):
        cells = [cell for cell in row if isinstance(cell.tag, str) and cell.tag in ("th", "td")]
        i = 0
        while i < len(cells):
            cell = cells[i]
            label = _label(visible_text(cell))
            # A label cell is a <th>, or a <td> whose text ends in a colon.
            if label is None and cell.tag == "th":
                label = clean_paragraph(visible_text(cell)) or None
            if label is not None and i + 1 < len(cells):
                pairs.setdefault(label, clean_paragraph(visible_text(cells[i + 1])))
                i += 2
            else:
                i += 1
    return pairs


def _list_pairs(block: etree._Element) -> dict[str, str]:
    pairs: dict[str, str] = {}
    pending: str | None = None
    for item in block:
        if not isinstance(item.tag, str) or item.tag in SKIP_TAGS:
            continue
        if item.tag == "dt":
            pending = _label(visible_text(item)) or clean_paragraph(visible_text(item)) or None
            continue
        if item.tag == "dd" and pending is not None:
            pairs.setdefault(pending, clean_paragraph(visible_text(item)))
            pending = None
            continue
        label_el = next((child for child in item if isinstance(child.tag, str) and child.tag not in SKIP_TAGS), None)
        if label_el is not None:
            label = _label(visible_text(label_el))
            if label is not None:
                whole = visible_text(item)
                head = visible_text(label_el)
                value = whole.split(head, 1)[1] if head in whole else ""
                pairs.setdefault(label, clean_paragraph(value))
                continue
        text = clean_paragraph(visible_text(item))
        for colon in _COLON:
            if colon in text:
                label, _, value = text.partition(colon)
                if label.strip(EDGE_SPACE):
                    pairs.setdefault(label.strip(EDGE_SPACE), value.strip(EDGE_SPACE))
                break
    return pairs
