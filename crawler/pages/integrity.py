"""Signs that a page was hijacked or injected, as distinct flags.

Government sites get hijacked: spam replaces the city's name with a gambling
site's ("中共江城足球网委"), links are hidden in the body, scripts injected.
The archive keeps the page exactly as it was and flags it; each flag is its
own code, so researchers can tell them apart:

* ``hijacked_city_name``: a spam-looking name stands where the site's own
  place name belongs (中共X委, X人民政府, X内 …);
* ``spam_keywords``: gambling or spam vocabulary in the title or body;
* ``hidden_links``: links in the body that a reader cannot see;
* ``injected_script``: script in the body (inline, or an on* handler).
"""

from __future__ import annotations

import re

from lxml import etree

# A spam site's name: a few Han characters around a gambling/sport word, ending in 网/城/站.
SPAM_NAME = re.compile(
    r"[\u4e00-\u9fff]{0,6}(?:足球|彩票|博彩|体育|娱乐|棋牌|赌|真人|捕鱼|电竞|百家乐|六合彩|时时彩|葡京|威尼斯人|皇冠)"
    r"[\u4e00-\u9fff]{0,3}(?:网|城|站|平台)"
)
# Where a civic text names its own place.
CIVIC_CONTEXT = re.compile(r"中共(?P<a>[^，。、\s]{2,12}?)委|(?P<b>[^，。、\s“”]{2,12}?)(?:人民政府|市委|市政府|内唯一|境内)")
SPAM_WORDS = (
    "博彩", "赌场", "百家乐", "六合彩", "时时彩", "娱乐城", "真人视讯", "体育投注", "足球投注",
    "线上赌", "网上赌", "棋牌游戏", "彩票网", "足球网", "葡京", "威尼斯人", "老虎机", "澳门赌",
)

# The words SPAM_NAME needs; a plain substring test rules most pages out cheaply.
_SPAM_CORE = ("足球", "彩票", "博彩", "体育", "娱乐", "棋牌", "赌", "真人", "捕鱼", "电竞", "百家乐", "六合彩",
              "时时彩", "葡京", "威尼斯人", "皇冠")

_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:px)?\b|"
    r"(?:left|top|text-indent)\s*:\s*-\d{3,}px|opacity\s*:\s*0(?:\.0+)?\b|(?:height|width)\s*:\s*0(?:px)?\b",
    re.I,
)
_HIDDEN_LINKS = etree.XPath(
    ".//a[@href][ancestor-or-self::*[@style or @hidden]]")
_SCRIPTS = etree.XPath(".//script | .//iframe[@src] | .//*[@*[starts-with(translate(name(), 'ON', 'on'), 'on')]]")


def hijacked_city_name(text: str, city: str | None) -> bool:
    """True when a spam-looking name stands in a civic phrase instead of `city`."""
    if not any(word in text for word in _SPAM_CORE):
        return False
    for match in CIVIC_CONTEXT.finditer(text):
        name = match.group("a") or match.group("b")
        if city and city.rstrip("市县区") in name:
            continue
        if SPAM_NAME.search(name):
            return True
    return False


def _hidden(link: etree._Element) -> bool:
    for el in link.iterancestors():
        if el.get("hidden") is not None or _HIDDEN_STYLE.search(el.get("style") or ""):
            return True
    return link.get("hidden") is not None or bool(_HIDDEN_STYLE.search(link.get("style") or ""))


def integrity_flags(title: str | None, body_text: str, body: etree._Element | None, city: str | None) -> list[str]:
    """The flags for one page, in a fixed order; [] for a clean page."""
    text = f"{title or ''}\n{body_text}"
    flags = []
    if hijacked_city_name(text, city):
        flags.append("hijacked_city_name")
    if any(word in text for word in SPAM_WORDS) or (
            any(word in text for word in _SPAM_CORE) and SPAM_NAME.search(text)):
        flags.append("spam_keywords")
    if body is not None:
        if any(_hidden(link) for link in _HIDDEN_LINKS(body)):
            flags.append("hidden_links")
        if _SCRIPTS(body):
            flags.append("injected_script")
    return flags
