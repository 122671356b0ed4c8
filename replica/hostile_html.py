"""Text transforms of the hostile replica: broken markup, foreign links, traps, padding.

Each function takes a rendered page (text) and returns the hostile version.
They never remove what the ground truth needs: title, meta line, body
paragraphs, photos, attachments, breadcrumb and the footer's site code.
"""

from __future__ import annotations

import base64
import random
import re
from datetime import date, datetime, timedelta
from functools import lru_cache
from html import escape

from replica import chrome
from replica.corpus import SECTION

# Links planted in article bodies ("offsite"): other hosts and internal addresses.
# Nothing may ever fetch them; they are bait for a crawler that follows everything.
OFFSITE_LINKS = (
    ("http://www.example.com/xwzx/gyjj/index.html", "中国政府网"),
    ("http://evil.example/login.html", "点击领取补贴"),
    ("http://10.0.0.1/admin", "后台管理"),
    ("http://192.168.1.1/", "内网门户"),
    ("http://169.254.169.254/latest/meta-data/", "云服务器元数据"),
    ("file:///etc/passwd", "本地文件"),
)
OFFSITE_TEXT = "相关链接：" + "、".join(text for _, text in OFFSITE_LINKS)
# Foreign rows planted in list pages: article-shaped URLs on other hosts.
OFFSITE_ROWS = (
    ("http://www.example.com/xwzx/gyjj/{month}/t{day}_1000001.html", "【转载】全国工业经济运行情况通报"),
    ("http://evil.example/xwzx/gyjj/{month}/t{day}_1000002.html", "【推广】工业企业申报补贴入口"),
    ("//evil.example/xwzx/gyjj/{month}/t{day}_1000003.html", "【推广】扫码查看更多工业资讯"),
    ("http://10.0.0.1/xwzx/gyjj/{month}/t{day}_1000004.html", "【内网】工业经济数据填报系统"),
)
# Tracking decorations for "dupes" links (queries and fragments on the same article).
TRACKING = (
    "?utm_source=wx", "?from=timeline", "?from=timeline&spm=a2c4g.11186623.0.0",
    "?utm_source=wx&utm_medium=social&utm_campaign=gyjj", "#content", "?utm_source=wx#comment",
    "?from=groupmessage&isappinstalled=0", "?spm=zm5099-001.0.0.1.Gz1tAa#",
)
_ROW = re.compile(r'^<li><a href="(\./\d{6}/t\d{8}_\d{7}\.html)"')
_LIST_END = "</ul>\r\n<!--列表结束-->"
_PAGER_END = '"index", "html");</script>\r\n</div>'


def add_offsite_paragraph(text: str, old: bool, tag: str) -> str:
    """The article with a last body paragraph of links to other hosts and internal addresses."""
    links = "、".join(f'<a href="{href}" target="_blank">{label}</a>' for href, label in OFFSITE_LINKS)
    para = f"<{tag}>相关链接：{links}</{tag}>"
    marker = "<!--ZOOM结束-->" if old else "<!--TRS正文结束-->"
    end = text.rindex("\n</div", 0, text.index(marker))  # the editor's closing line
    return text[:end] + "\n" + para + text[end:]


def malform(text: str, old: bool) -> str:
    """Tag soup a tolerant parser still reads: unclosed paragraphs and spans, stray end
    tags, broken attributes, NUL bytes, and a document cut off inside the footer."""
    if old:
        swaps = (
            ("<HEAD>", "<HEAD>\r\n<!--\x00\x00-->"),
            ('<TD class="top">', '<TD class=top" >'),
            ('<A href="../">工业经济</A></TD></TR>\r\n</TABLE>', '<A href="../">工业经济</A></TD></TR>\r\n</TABLE></div></FONT>'),
            ('<A href="javascript:window.print()">', '<A href="javascript:window.print()>'),
            (f"政府网站标识码:{chrome.SITE_ID_CODE}<BR>", f"政府网站标识码:{chrome.SITE_ID_CODE}<BR>\x00"),
        )
        body_start, body_end, closer = '<div id="zoom">', "<!--ZOOM结束-->", "</P>"
    else:
        swaps = (
            ("<head>", "<head>\r\n<!--\x00\x00-->"),
            ('<span class="top-date">', '<span class=="top-date">'),
            ('<div class="nav"><ul>', '<div class="nav><ul>'),  # an unterminated quote
            ('</span><img src="/images/logo.jpg"', '<img src="/images/logo.jpg"'),  # logo span left open
            ('<a href="../">工业经济</a></div>', '<a href="../">工业经济</a></div></div></span>'),
            ('<a href="javascript:window.print();">', '<a href="javascript:window.print();>'),
            (f"政府网站标识码:{chrome.SITE_ID_CODE}</p>", f"政府网站标识码:{chrome.SITE_ID_CODE}</p>\x00"),
        )
        body_start, body_end, closer = '<div class="TRS_Editor">', "<!--TRS正文结束-->", "</p>"
    for before, after in swaps:
        text = text.replace(before, after, 1)
    start, end = text.index(body_start), text.index(body_end)
    text = text[:start] + text[start:end].replace(closer, "") + text[end:]
    cut = text.rfind("鲁公网安备 ")
    return text[: cut + len("鲁公网安备 3704")] if cut >= 0 else text


def swap_charset(text: str, used: str) -> tuple[str, str]:
    """(page declaring the other charset in its meta, that declared charset)."""
    declared = "utf-8" if used == "gbk" else "gbk"
    return text.replace(f"charset={used}", f"charset={declared}", 1), declared


@lru_cache(maxsize=2)
def padding(size: int) -> bytes:
    """An HTML comment of about `size` bytes that gzip cannot shrink much (stable bytes)."""
    noise = random.Random(f"oversize/{size}").randbytes(size * 3 // 4 + 3)
    return b"\r\n<!--" + base64.b64encode(noise)[:size] + b"-->\r\n"


def dupe_links(text: str, wanted, pick) -> str:
    """Rows whose article path satisfies `wanted(path)` link with a tracking variant and get
    a second row linking the same article with another variant.  `pick(path, salt)` chooses."""
    out = []
    for line in text.split("\r\n"):
        match = _ROW.match(line)
        path = SECTION + match.group(1)[2:] if match else ""
        if not match or not wanted(path):
            out.append(line)
            continue
        first = pick(path, 1)
        second = pick(path, 2)
        if second == first:
            second = TRACKING[(TRACKING.index(first) + 1) % len(TRACKING)]
        href = match.group(1)
        out.append(line.replace(f'href="{href}"', f'href="{href}{first}"', 1))
        out.append(line.replace(f'href="{href}"', f'href="{href}{second}"', 1))
    return "\r\n".join(out)


def offsite_rows(text: str, day: date) -> str:
    """A list page with foreign, article-shaped rows at the end of its list and a links box."""
    rows = [
        f'<li><a href="{href.format(month=f"{day:%Y%m}", day=f"{day:%Y%m%d}")}" target="_blank" '
        f'title="{escape(title, quote=True)}">{escape(title, quote=False)}</a><span>{day:%Y-%m-%d}</span></li>'
        for href, title in OFFSITE_ROWS
    ]
    box = ('<div class="links">友情链接:<a href="http://www.example.com/" target="_blank">中国政府网</a> '
           '<a href="http://evil.example/" target="_blank">工业资讯网</a></div>')
    text = text.replace(_LIST_END, "\r\n".join(rows) + "\r\n" + _LIST_END, 1)
    return text.replace(_PAGER_END, _PAGER_END + "\r\n" + box, 1)


def pager_links(text: str, page: int, calendar_day: date | None) -> str:
    """A plain 下一页 link to index_{page+1}.html (and a calendar link) after the pager script."""
    extra = f'<div class="page-next"><a href="./index_{page + 1}.html">下一页</a></div>'
    if calendar_day is not None:
        extra += f'\r\n<div class="calendar"><a href="./{calendar_path(calendar_day)[len(SECTION):]}">按日期浏览</a></div>'
    return text.replace(_PAGER_END, _PAGER_END + "\r\n" + extra, 1)


def calendar_path(day: date) -> str:
    return f"{SECTION}calendar/{day:%Y/%m/%d}.html"


def render_calendar(day: date, made_at: datetime) -> str:
    """A day of the endless calendar: links to the day before and after, and no articles."""
    links = []
    for delta, label in ((-1, "前一天"), (1, "后一天")):
        try:
            links.append(f'<a href="{calendar_path(day + timedelta(days=delta))}">{label}</a>')
        except OverflowError:  # the ends of the calendar (years 1 and 9999)
            pass
    lines = [
        chrome.XHTML_DOCTYPE,
        '<html xmlns="http://www.w3.org/1999/xhtml">',
        "<head>",
        '<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />',
        f"<title>{chrome.COLUMN_NAME} {day.year}年{day.month}月{day.day}日_{chrome.SITE_NAME}</title>",
        f'<meta name="others" content="页面生成时间 {made_at:%Y-%m-%d %H:%M:%S}" />',
        "</head>",
        "<body>",
        f'<div class="calendar-title">{chrome.COLUMN_NAME} {day.year}年{day.month}月{day.day}日</div>',
        '<ul class="list-ul"></ul>',
        "<p>本日无信息。</p>",
        f'<div class="calendar-nav">{" ".join(links)} <a href="{SECTION}index.html">返回列表</a></div>',
        "</body>",
        "</html>",
        "",
    ]
    return "\r\n".join(lines)
