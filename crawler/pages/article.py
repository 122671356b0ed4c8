"""`ArticlePage`: every field of one article, read from its response.

Each field is tried in three layers: the national government-site meta tags
(``ArticleTitle``, ``PubDate``, ``ContentSource``, ``SiteName``, ``SiteIDCode``,
``ColumnName``), then the site profile's selectors, then generic rules meant
for templates never seen.  Two exceptions, because CMSs fill those meta tags
carelessly: the visible meta line wins for ``published`` (``PubDate`` often
holds a page-regeneration time) and for ``source`` (``ContentSource`` often
defaults to the site name; an empty visible 来源 means no source).  On a
信息公开 page the metadata table (索引号, 发布机构, 生成日期 …) is read as
``xxgk`` and its publication date wins over everything else.

    page = ArticlePage(response, profile)
    item_fields = page.fields()

Pure: no crawl state, no I/O, and the response's tree is never modified.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any, Iterator

from lxml import etree
from scrapy.http import TextResponse
from w3lib.encoding import resolve_encoding

from crawler.pages import body as body_rules
from crawler.pages.integrity import integrity_flags
from crawler.pages.breadcrumb import find_breadcrumb
from crawler.pages.markup import (SKIP_TAGS, Page, base_url_of, block_of, header_charset, honest_response,
                                  meta_tags, select, visible_text)
from crawler.pages.text import (Published, clean_paragraph, has_meta_label, labeled_date,
                                labeled_source, parse_date, source_field)
from crawler.pages.xxgk import find_xxgk, table_date
from crawler.profile import SiteProfile

EXTRACTOR_VERSION = "gov-article/2"

# Reason codes in `ArticlePage.problems`.  The first three mean a field could
# not be read; the others describe the page (its PubDate meta is a
# regeneration time, its date came only from that meta, its body was found by
# text density) and a crawl may count them apart from failures.
# `undecodable_bytes`: bytes no charset decodes became U+FFFD (a page mixing UTF-8 and GBK: the WARC keeps
# the bytes); `error_page`: a 200 whose page says it does not exist (a soft 404).
MISSING_CODES = frozenset({"missing_title", "missing_date", "missing_body"})
NOTICE_CODES = frozenset({"pubdate_meta_disagrees", "date_from_meta", "body_guessed", "undecodable_bytes",
                          "error_page"})
_ERROR_PAGE = re.compile(r"页面不存在|页面已删除|已被删除|找不到(?:该|此|您要访问的)?页面|\b404\b.{0,12}(?:Not Found|页面|错误)",
                         re.IGNORECASE)

_META_LINE_NODES = etree.XPath(
    "//body//text()[contains(., '时间') or contains(., '日期') or contains(., '来源')]")
_FOOTER_NODES = etree.XPath("//body//text()[contains(., '标识码')]")
_TITLE_CANDIDATES = etree.XPath(
    "//body//*[self::h1 or self::h2 or self::h3 or contains(@class, 'title') or contains(@class, 'tit ')"
    " or substring(@class, string-length(@class) - 2) = 'tit']")
# Where a site's name is shown, not an article's: the logo, the banner, the page header.
_CHROME_WORD = re.compile(r"logo|banner", re.I)
_CHROME_TOKENS = frozenset({"header", "head", "top", "topbar", "site-header", "site-name", "sitename"})
_PAGE_TITLE = etree.XPath("string(/html/head/title)")

# The page header's date of today: 今天是：2024年7月1日 星期一.
_TODAY = re.compile(r"今天是|今日是|今天[:：]")
_META_LINE_CHARS = 200
_INDEX_NUMBER = re.compile("索[\\s\u3000\xa0]*引[\\s\u3000\xa0]*号")
_SITE_ID = re.compile(r"(?:政府)?网站标识码\s*[:：]?\s*([0-9A-Za-z]+)", re.ASCII)
_TITLE_SEPARATOR = re.compile(r"\s*[_|｜]\s*|\s+[-–—]\s+")
# A breadcrumb's last entry that names the page, not the column.
_NOT_A_COLUMN = frozenset({"正文", "详情", "内容", "详细内容", "文章详情", "阅读正文"})


def _in_chrome(el: etree._Element) -> bool:
    """Is `el` inside the page's logo, banner, header or navigation (where the site's name and
    today's date are shown)?  A <header> inside an <article> or <main> is the article's own."""
    ancestors = (el, *el.iterancestors())
    for block in ancestors:
        if block.tag in ("nav", "footer"):
            return True
        if block.tag == "header" and not any(a.tag in ("article", "main") for a in block.iterancestors()):
            return True
        names = f"{block.get('class') or ''} {block.get('id') or ''}"
        if _CHROME_WORD.search(names) or any(token.lower() in _CHROME_TOKENS for token in names.split()):
            return True
    return False


class ArticlePage(Page):
    """The fields of one article page.  `profile=None` means generic rules only."""

    def __init__(self, response: TextResponse, profile: SiteProfile | None = None):
        super().__init__(honest_response(response), profile)

    # -- shared lookups --------------------------------------------------

    @cached_property
    def _meta(self) -> tuple[dict[str, str], str | None]:
        return meta_tags(self.root)

    def _meta_tag(self, name: str) -> str | None:
        return self._meta[0].get(name.lower())

    def meta_tag(self, name: str) -> str | None:
        """The content of the page's <meta name=NAME> (any case), or None."""
        return self._meta_tag(name)

    @cached_property
    def _base_url(self) -> str:
        return base_url_of(self.response, self.root)

    @cached_property
    def _body(self) -> tuple[etree._Element | None, list[body_rules.Paragraph], bool]:
        return body_rules.find_body(self.root, self.profile.selectors.body)

    @property
    def _paragraphs(self) -> list[body_rules.Paragraph]:
        return self._body[1]

    @cached_property
    def _meta_line_cache(self) -> tuple[list[tuple[str, bool, etree._Element]], Iterator]:
        return [], self._find_meta_lines()

    def _meta_lines(self) -> Iterator[tuple[str, bool, etree._Element]]:
        """The meta-line candidates, each found once however many fields read them, and only
        as far as a reader goes (the first ones usually suffice: the rest mean scanning the page)."""
        found, rest = self._meta_line_cache
        index = 0
        while True:
            if index < len(found):
                yield found[index]
            else:
                following = next(rest, None)
                if following is None:
                    return
                found.append(following)
                yield following
            index += 1

    def _find_meta_lines(self) -> Iterator[tuple[str, bool, etree._Element]]:
        """(text, trusted, block) of each block that may be the meta line, best first.

        Trusted: the profile's meta line.  Then the blocks holding a 来源 label, then the others,
        each group nearest the title first; the page's header (今天是… 日期：…), logo and footer
        never count, so the header's date of today is not the article's.  A block inside the
        article body must carry both a date label and a 来源 label to count at all, so a notice's
        ``一、时间：2021年4月1日`` is not taken for its publication date."""
        for el in select(self.root, self.profile.selectors.meta_line):
            yield visible_text(el, " "), True, el
        body = self._body[0]
        seen: set[etree._Element] = set()
        found: list[tuple[str, etree._Element]] = []
        for node in _META_LINE_NODES(self.root):
            parent = node.getparent()
            if node.is_tail:
                parent = parent.getparent()
            if parent is None or parent.tag in SKIP_TAGS:
                continue
            block = block_of(parent)
            if block.tag in ("td", "th") and block.getparent() is not None and block.getparent().tag == "tr":
                block = block.getparent()  # <td>发布时间</td><td>2024-01-02</td>: the label's row is its line
            if block in seen:
                continue
            seen.add(block)
            text = visible_text(block, " ")
            if not has_meta_label(text) or _TODAY.search(text):
                continue
            if body is not None and (block is body or body in block.iterancestors()):
                if not (labeled_date(text) and labeled_source(text)):
                    continue
            if _in_chrome(block) or body_rules.is_footer(block):
                continue
            found.append((text, block))
        if len(found) > 1:
            order = self._order
            title = self._title_element
            anchor = order.get(title, 0) if title is not None else 0
            found.sort(key=lambda pair: (not source_field(pair[0])[0], abs(order[pair[1]] - anchor)))
        for text, block in found:
            yield text, False, block

    @cached_property
    def _visible_date(self) -> Published | None:
        return self._dated_line[0]

    @cached_property
    def _dated_line(self) -> tuple[Published | None, etree._Element | None]:
        """(the visible publication date, the block it was read from): the xxgk table's, else the meta line's."""
        found = table_date(self.xxgk) if self.xxgk else None
        if found is not None:
            return found, self._xxgk[1]
        for text, trusted, block in self._meta_lines():
            # An unlabelled date counts on the profile's meta line, and on a short line holding a 来源
            # label (<span>2024-01-02 09:30</span><span>信息来源：县政府办公室</span>).
            found = labeled_date(text) or (parse_date(text) if trusted or (
                len(text) <= _META_LINE_CHARS and source_field(text)[0]) else None)
            if found is not None:
                return found, block
        return None, None

    @cached_property
    def _meta_date(self) -> Published | None:
        value = self._meta_tag("PubDate")
        return parse_date(value) if value else None

    # -- fields ----------------------------------------------------------

    @cached_property
    def title(self) -> str | None:
        """ArticleTitle meta (unless the 信息公开 table's 名称 disagrees: the table wins), else the
        profile's title element, else the longest heading the <title> repeats, else the heading
        nearest before the body, else the first <h1>, else the <title>'s first part.

        The site's name is never the title: a heading in the logo, banner or page header, and any
        text equal to the SiteName meta or to the last part of a <title> of several parts, is skipped
        (a logo <h1> is in the <title> too, and every article was titled with the site's name)."""
        value = self._meta_tag("ArticleTitle")
        named = clean_paragraph((self.xxgk or {}).get("名称", ""))
        if named and clean_paragraph(value or "") != named:
            return named  # the 信息公开 table's 名称 wins over a meta tag that disagrees
        if value:
            return clean_paragraph(value)
        site_names = self._site_names
        for el in select(self.root, self.profile.selectors.title):
            text = clean_paragraph(visible_text(el))
            if text and text not in site_names:
                return text
        page_title = clean_paragraph(_PAGE_TITLE(self.root))
        candidates = [(el, text) for el in _TITLE_CANDIDATES(self.root)
                      if (text := clean_paragraph(visible_text(el))) and text not in site_names
                      and not _in_chrome(el)]
        repeated = ""
        for _, text in candidates:
            if len(text) > max(len(repeated), 3) and text in page_title:
                repeated = text
        if repeated:
            return repeated
        nearest = self._heading_before_body([el for el, _ in candidates])
        if nearest is not None:
            return clean_paragraph(visible_text(nearest))
        first_h1 = next((text for el, text in candidates if el.tag == "h1"), None)
        if first_h1:
            return first_h1
        head = _TITLE_SEPARATOR.split(page_title)[0] if page_title else ""
        return head if head and head not in site_names else None

    @cached_property
    def _order(self) -> dict[etree._Element, int]:
        """Each element's place in the document (the meta line and the title both measure nearness by it)."""
        return {el: n for n, el in enumerate(self.root.iter())}

    @cached_property
    def _site_names(self) -> frozenset[str]:
        """What names the site, never an article: SiteName / og:site_name, the last part of a <title>
        of several parts (县政府召开常务会议 - 测试县人民政府)."""
        names = {clean_paragraph(v) for v in (self._meta_tag("SiteName"), self._meta_tag("og:site_name")) if v}
        parts = [p for p in _TITLE_SEPARATOR.split(clean_paragraph(_PAGE_TITLE(self.root))) if p]
        if len(parts) > 1:
            names.add(parts[-1])
        return frozenset(names)

    def _heading_before_body(self, candidates: list[etree._Element]) -> etree._Element | None:
        """Of the heading candidates (document order), the last one before the body starts, when
        the body was found; an h1-h3 or a title class outside the body and nearest it is the title."""
        body = self._body[0]
        if body is None or not candidates:
            return None
        order = self._order
        start = order.get(body)
        before = [el for el in candidates if order.get(el, start) < start and el not in body.iterancestors()]
        return before[-1] if before else None

    @cached_property
    def published(self) -> str | None:
        """The visible meta line's date (`YYYY-MM-DD`, with `THH:MM:SS+08:00`
        when a time is shown); PubDate meta only when no date is visible."""
        found = self._visible_date or self._meta_date
        return found.isoformat() if found else None

    @cached_property
    def source(self) -> str | None:
        """The 来源 of the visible meta line (None when it is shown empty), else the 信息公开 table's
        发布机构, else ContentSource meta.

        Text inside HTML comments (an older, commented-out source line) never counts."""
        for text, _, _ in self._meta_lines():
            labeled, found = source_field(text)
            if labeled:
                return found
        # No 来源 shown: the 信息公开 table's 发布机构 wins over the meta tag.
        value = (self.xxgk or {}).get("发布机构") or self._meta_tag("ContentSource")
        return clean_paragraph(value) or None if value else None

    @cached_property
    def xxgk(self) -> dict[str, str] | None:
        """A 信息公开 page's metadata table (索引号, 主题分类, 发布机构, 生成日期 …) as printed, or None."""
        return self._xxgk[0]

    @cached_property
    def _xxgk(self) -> tuple[dict[str, str] | None, etree._Element | None]:
        if not self.profile.selectors.xxgk and not _INDEX_NUMBER.search(self.response.text):
            return None, None  # no 索引号 anywhere: no table to look for (saves two scans of the tree)
        return find_xxgk(self.root, self.profile.selectors.xxgk)

    @cached_property
    def body_text(self) -> str:
        """Body paragraphs, edge-stripped, joined by a blank line; photo paragraphs left out."""
        return body_rules.body_text(self._paragraphs)

    @cached_property
    def body_html(self) -> str:
        """The main block, cleaned (no script/style/comments/on*), links absolute."""
        body = self._body[0]
        return body_rules.body_html(body, self._base_url) if body is not None else ""

    @cached_property
    def images(self) -> list[dict[str, Any]]:
        """``{url, alt, caption}`` for each photo of the body, in document order."""
        return body_rules.images(self._paragraphs, self._base_url)

    @cached_property
    def attachments(self) -> list[dict[str, Any]]:
        """``{url, name}`` for each document linked from the body or the block after it."""
        body = self._body[0]
        if body is None:
            return []
        return body_rules.attachments(body, self.root, self.profile.selectors.attachments,
                                      self._base_url)

    @cached_property
    def breadcrumb(self) -> list[str]:
        """Breadcrumb entries without the 您的位置 label, e.g. ["首页", "新闻中心", "工业经济"]."""
        return find_breadcrumb(self.root, self.profile.selectors.breadcrumb)[0]

    @cached_property
    def site_name(self) -> str | None:
        """SiteName meta only: pages without it have no declared site name."""
        return self._meta_tag("SiteName") or self._meta_tag("og:site_name")

    @cached_property
    def site_id_code(self) -> str | None:
        """SiteIDCode meta, else the footer's 政府网站标识码."""
        value = self._meta_tag("SiteIDCode")
        if value:
            return value
        for node in _FOOTER_NODES(self.root):
            parent = node.getparent()
            if node.is_tail:
                parent = parent.getparent()
            if parent is None:
                continue
            found = _SITE_ID.search(visible_text(block_of(parent)))
            if found:
                return found.group(1)
        return None

    @cached_property
    def column_name(self) -> str | None:
        """ColumnName meta, else the breadcrumb's last entry naming a column."""
        value = self._meta_tag("ColumnName")
        if value:
            return clean_paragraph(value)
        for entry in reversed(self.breadcrumb):
            if entry not in _NOT_A_COLUMN:
                return entry
        return None

    @cached_property
    def charset(self) -> dict[str, str | None]:
        """``{declared, used}``: the header's (else the <meta>'s) charset, and
        the encoding the response was decoded with; both lower-case.

        When the declared charset is the one honoured, `used` gives its declared
        name: Scrapy decodes a page declared ``gbk`` with the GB18030 codec (a
        superset, as browsers do), and the page was still read as GBK."""
        declared = header_charset(self.response) or self._meta[1]
        used = self.response.encoding.lower()
        if declared and resolve_encoding(declared) == resolve_encoding(used):
            used = declared
        return {"declared": declared, "used": used}

    @cached_property
    def problems(self) -> list[str]:
        """Reason codes (MISSING_CODES, NOTICE_CODES) for what could not be read
        or looks wrong, in a fixed order."""
        problems = []
        if not self.title:
            problems.append("missing_title")
        if self._visible_date is None:
            problems.append("missing_date" if self._meta_date is None else "date_from_meta")
        elif self._meta_date is not None and self._meta_date.day != self._visible_date.day:
            problems.append("pubdate_meta_disagrees")
        if not self.body_text and not self.images:
            problems.append("missing_body")
        elif self._body[2]:
            problems.append("body_guessed")
        if "\ufffd" in (self.title or "") + self.body_text and "\ufffd".encode() not in self.response.body:
            problems.append("undecodable_bytes")
        # A soft 404 is a small page: a title that is the message, or a short body saying it.  An article about
        # a takedown ("关于网络不实信息已被删除的情况通报", with its full text) is no error page.
        title = self.title or ""
        if len(self.body_text) < 200 and ((len(title) <= 30 and _ERROR_PAGE.search(title))
                                          or _ERROR_PAGE.search(self.body_text)):
            problems.append("error_page")
        return problems

    @cached_property
    def flags(self) -> list[str]:
        """Integrity flags (hijacked city name, spam, hidden links, injected
        script), read from the raw page before any cleaning."""
        return integrity_flags(self.title, self.body_text, self._body[0], self.profile.city)

    def elements(self) -> dict[str, etree._Element | None]:
        """The element each field was read from (title, meta_line, body, breadcrumb, xxgk), or None.

        For `portal-archive profile new`, which turns them into a profile's selectors; the
        title element is the visible heading that shows the title, wherever the title was read."""
        return {
            "title": self._title_element,
            "meta_line": self._dated_line[1] if self._dated_line[1] is not self._xxgk[1] else None,
            "body": self._body[0],
            "breadcrumb": find_breadcrumb(self.root, self.profile.selectors.breadcrumb)[1],
            "xxgk": self._xxgk[1],
        }

    @cached_property
    def _title_element(self) -> etree._Element | None:
        if not self.title:
            return None
        for el in select(self.root, self.profile.selectors.title):
            if clean_paragraph(visible_text(el)) == self.title:
                return el
        best = None
        for el in _TITLE_CANDIDATES(self.root):
            if clean_paragraph(visible_text(el)) == self.title:
                if el.tag in ("h1", "h2", "h3"):
                    return el
                best = best if best is not None else el
        return best

    def fields(self) -> dict[str, Any]:
        """All extracted fields, keyed like `crawler.items.ArticleItem` (crawl
        state such as fetched_at, and `extractor`, are the caller's to add;
        EXTRACTOR_VERSION names this extractor)."""
        return {
            "url": self.url,
            "title": self.title,
            "published": self.published,
            "source": self.source,
            "body_text": self.body_text,
            "body_html": self.body_html,
            "images": self.images,
            "attachments": self.attachments,
            "breadcrumb": self.breadcrumb,
            "site_name": self.site_name,
            "site_id_code": self.site_id_code,
            "column_name": self.column_name,
            "charset": self.charset,
            "xxgk": self.xxgk,
            "problems": self.problems,
            "flags": self.flags,
        }
