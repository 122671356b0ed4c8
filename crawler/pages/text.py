"""Text rules shared by the page objects: whitespace, dates and the meta line.

A Chinese government article shows a "meta line" under its title, such as
``时间:2021-03-15 来源:官桥镇信息中心 浏览次数:`` or
``发布日期：2015年03月15日　　信息来源：滕州日报``.  These helpers read the date
and the source out of such a line, whatever the template around it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time

# Edge whitespace of a paragraph: ASCII, the ideographic space used for
# indents (　　) and the no-break space that &nbsp; decodes to.
EDGE_SPACE = " \t\r\n\f\v\u3000\xa0"

# Newlines inside one paragraph come from the HTML source, not the author.
_SOURCE_BREAK = re.compile(r"[ \t]*[\r\n]+[ \t]*")

_CJK = r"\u3400-\u9fff\uf900-\ufaff"

# A date as gov templates write it: 2021-03-15, 2021/3/15, 2021.03.15,
# 2021年3月5日, with an optional time HH:MM or HH:MM:SS.
DATE_PATTERN = (
    r"(?P<y>(?:19|20)\d{2})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:\s*(?P<H>\d{1,2})\s*[:：时]\s*(?P<M>\d{2})(?:\s*[:：分]\s*(?P<S>\d{2}))?)?"
)
_DATE = re.compile(DATE_PATTERN)

# A date label.  The look-behind refuses labels that end a longer word, so
# 报名时间：… or 截止日期：… inside an article are not taken for the publication date.
_DATE_LABELED = re.compile(
    rf"(?<![{_CJK}])(?:发布时间|发布日期|发表时间|时间|日期)\s*[:：]?\s*" + DATE_PATTERN
)

# The source runs to the next label, a bracket (【字号】), a date or the end of the line.
# A label may go without its colon when a space or a cell ends it: <span>来源</span><span>县政府办</span>
# (来源于… in a sentence is no label).
_SOURCE_LABELED = re.compile(
    rf"(?<![{_CJK}])(?:信息来源|文章来源|来源)(?:\s*[:：]|[ \t\u3000\xa0]+(?=\S))[ \t\u3000\xa0]*"
    r"(?P<source>.*?)"
    r"[ \t\u3000\xa0|丨]*"
    r"(?=(?:作者|责任编辑|编辑|审核|发布时间|发布日期|时间|日期|访问量|阅读|浏览)(?:\s*[:：]|[ \t\u3000\xa0])"
    r"|浏览次数|浏览量|点击|字号|字体|打印|【|\[|〖|(?:19|20)\d{2}\s*[-/年]|[\r\n]|$)"
)


@dataclass(frozen=True)
class Published:
    """A publication date read from a page; `time` is None when none was shown."""

    day: date
    time: time | None = None

    def isoformat(self) -> str:
        """`YYYY-MM-DD`, or `YYYY-MM-DDTHH:MM:SS+08:00` when a time was shown
        (Chinese portals show Beijing time)."""
        if self.time is None:
            return self.day.isoformat()
        return f"{self.day.isoformat()}T{self.time.isoformat()}+08:00"


def clean_paragraph(text: str) -> str:
    """A paragraph as archived: source line breaks folded, edge spaces stripped."""
    if "\n" in text or "\r" in text:
        text = _SOURCE_BREAK.sub(" ", text)
    return text.strip(EDGE_SPACE)


def _published(match: re.Match[str]) -> Published | None:
    try:
        day = date(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError:  # 2021-02-30: not a date at all
        return None
    if match["H"] is None:
        return Published(day)
    try:
        return Published(day, time(int(match["H"]), int(match["M"]), int(match["S"] or 0)))
    except ValueError:  # 2021-03-15 25:61: the day stands, the time is no time
        return Published(day)


def parse_date(text: str) -> Published | None:
    """The first valid date anywhere in `text` (no label needed), or None."""
    for match in _DATE.finditer(text):
        found = _published(match)
        if found is not None:
            return found
    return None


def labeled_date(text: str) -> Published | None:
    """The first date that follows a 时间/发布时间/发布日期/日期 label in `text`, or None."""
    for match in _DATE_LABELED.finditer(text):
        found = _published(match)
        if found is not None:
            return found
    return None


def labeled_source(text: str) -> str | None:
    """The text after a 来源/信息来源/文章来源 label, up to the next label; None if empty."""
    return source_field(text)[1]


def source_field(text: str) -> tuple[bool, str | None]:
    """(whether `text` has a 来源 label at all, the source it gives or None when the field is empty).

    A page that shows an empty 来源： has no source, whatever its meta tags say."""
    found = False
    for match in _SOURCE_LABELED.finditer(text):
        found = True
        source = match["source"].strip(EDGE_SPACE)
        if source:
            return True, source
    return found, None


# A site footer: 网站标识码 / ICP备案 / 公网安备 alone say it; 版权所有 (Copyright) says it next to a
# 主办 / 承办 / 技术支持 / 地址 / 电话 line.  An event notice naming its 主办单位 and 承办单位 is no footer.
_FOOTER_STRONG = re.compile(r"标识码|ICP\s*[备证]|公网安备")
_FOOTER_COPYRIGHT = re.compile(r"版权所有|Copyright|©", re.I)
_FOOTER_WITH_COPYRIGHT = re.compile(r"主办|承办|技术支持|地址|电话|维护")
FOOTER_MAX_CHARS = 600


def looks_like_footer(text: str) -> bool:
    """Is `text` a site footer's (网站标识码, ICP备, 公网安备, or 版权所有 with 主办单位 …)?

    Only short text counts: a long article (a 网站年度报表 lists its 网站标识码) is no footer."""
    if len(text) > FOOTER_MAX_CHARS:
        return False
    if _FOOTER_STRONG.search(text):
        return True
    return bool(_FOOTER_COPYRIGHT.search(text)) and bool(_FOOTER_WITH_COPYRIGHT.search(text))


def has_meta_label(text: str) -> bool:
    """Cheap pre-check: could `text` hold a labeled date or source?"""
    return "时间" in text or "日期" in text or "来源" in text
