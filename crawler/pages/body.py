"""The article body: finding the main block, splitting it into paragraphs, and
reading its photos, captions and attachments.

A paragraph is the text of one block element (``<p>``, ``<div>`` …, however
deeply wrapped), split again at ``<br>``.  Photo-only paragraphs carry images
and no text; they are kept in the paragraph list (so a caption can be matched
to the photo before it) but never reach ``body_text``.

What a reader of the page never sees as the article is left out: boxes hidden
inside the body (``style="display:none"``, ``hidden``: share texts, editors'
notes, 相关阅读), QR-code and share boxes with their icons, and, where the CMS
marks its content (Hanweb's ``<!--<$[信息内容]>begin-->`` … ``end-->``, or
``<meta name="ContentStart">`` … ``ContentEnd``), anything outside the marks.
A body container that is itself hidden is a script reveal, not a hidden box:
its text is the article.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from lxml import etree

from crawler.pages.markup import BLOCK_TAGS, SKIP_TAGS, joined, select, visible_text
from crawler.pages.text import clean_paragraph, labeled_date, looks_like_footer, source_field

# Generic body blocks, most specific first (TRS, Hanweb, UCAP, then common names).
_CLASS = "*[contains(concat(' ', normalize-space(@class), ' '), ' {} ')]"
GENERIC_BODY = tuple(etree.XPath(f"(//{path})[1]") for path in (
    "div[contains(concat(' ', normalize-space(@class), ' '), ' TRS_Editor ')]",
    "*[translate(@id, 'ZOM', 'zom')='zoom']",
    "*[@id='UCAP-CONTENT']",
    _CLASS.format("article-content"),
    _CLASS.format("article-body"),
    _CLASS.format("TRS_UEDITOR"),
    "*[@id='content']",
    _CLASS.format("detail-content"),
    _CLASS.format("content"),
))

# .ofd is the national layout format (GB/T 33190) official documents are published in.
ATTACHMENT_EXTENSIONS = frozenset(
    ".pdf .ofd .doc .docx .xls .xlsx .csv .wps .et .zip .rar .7z .txt .ppt .pptx".split()
)
CAPTION_MAX_CHARS = 80
_CENTRED_STYLE = re.compile(r"text-align\s*:\s*center", re.I)
# Where an <img> keeps its picture.  A lazy loader's attribute comes first: its `src` is a placeholder
# (loading.gif) until a script swaps the real one in, so src first archived the placeholder and never
# the photo.  `oldsrc` (TRS: the editor's original file name) is the last resort.
_IMAGE_SRC = ("data-original", "data-src", "data-echo", "lazy-src", "data-lazy-src", "src", "oldsrc")
# Attributes holding URLs that body_html makes absolute (lxml.html lower-cases names).
_LINK_ATTRIBUTES = ("href", "src", "data-src", "data-original", "data-echo", "lazy-src", "data-lazy-src", "oldsrc",
                    "background", "poster")
# Inline styles a reader never sees (a hidden box inside the body).
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
# A class or id word of a QR-code, share or print box (ewm = 二维码, fenxiang = 分享): ewm, art-share, qrcode.
_DECORATION_NAME = re.compile(
    r"(?:^|[\s_-])(?:ewm|qr|qrcode|erweima|share|bdshare|fenxiang|jiathis)(?:$|[\s_-])", re.I)
# Image files that are QR codes, share buttons or icons, by a word of their name (ewm_site.png, share_wx.png).
_DECORATION_FILE = re.compile(
    r"(?:^|[-_.\s])(?:ewm|erweima|qr|qrcode|wxcode|weixin|share\w*|fenxiang\w*|icon\w*|ico)(?:[-_.\s]|$)", re.I)
_DECORATION_ALT = re.compile(r"扫一扫|二维码|扫码|扫描|分享到")
# Content marks of CMS templates: Hanweb's <!--<$[信息内容]>begin--> and end, TRS-style ContentStart/End metas.
_CONTENT_BEGIN = re.compile(r"<\$\[信息内容\]>\s*begin", re.I)
_CONTENT_END = re.compile(r"<\$\[信息内容\]>\s*end", re.I)
_CANDIDATE_BLOCKS = etree.XPath("//body//*[self::div or self::td or self::article or "
                                "self::section or self::main]")


@dataclass
class Paragraph:
    """One paragraph of the body: its cleaned text, its images, and whether it is centred."""

    text: str
    images: list[etree._Element] = field(default_factory=list)
    centred: bool = False


def find_body(root: etree._Element, selector: str
              ) -> tuple[etree._Element | None, list[Paragraph], bool]:
    """(the main block, its paragraphs, whether the block was only guessed by text density).

    The profile's selector is tried first, then the generic selectors; a match
    counts only if it holds a paragraph (text or a photo) and is not the site's
    footer (网站标识码, ICP备, 版权所有 …: a profile inferred from short notices
    once named the footer as the body of every article)."""
    for el in select(root, selector):
        paras = paragraphs(el)
        if paras and not is_footer(el):
            return el, paras, False
    for xpath in GENERIC_BODY:
        for el in xpath(root):
            paras = paragraphs(el)
            if paras and not is_footer(el):
                return el, paras, False
    el = densest_block(root)
    return el, paragraphs(el) if el is not None else [], True


def densest_block(root: etree._Element) -> etree._Element | None:
    """Last resort: the block whose own paragraphs hold the most non-link text.

    Each block scores the text of its direct text nodes and of its direct
    paragraph children (a <p>, or a <div>/<span>/<font> holding no block), less
    the text of links (menus are link lists).  Wrappers of wrappers score low,
    so the innermost block of paragraphs wins.  The site's footer and the meta
    line never win: next to a short notice they hold more text than its body."""
    best, best_score = None, 0
    for el in _CANDIDATE_BLOCKS(root):
        score = len((el.text or "").strip())
        for child in el:
            tag = child.tag
            if tag == "p" or (tag in ("div", "span", "font")
                              and not any(c.tag in BLOCK_TAGS for c in child)):
                score += len(visible_text(child).strip())
            elif tag == "a":
                score -= len(child.text_content())
            score += len((child.tail or "").strip())
        score -= sum(len(a.text_content()) for a in el.iterfind(".//a") if a.getparent() is not el)
        if score > best_score and not is_footer(el) and not _is_meta_line(el):
            best, best_score = el, score
    return best


def is_footer(el: etree._Element) -> bool:
    """Is `el` the site's footer or inside it?  Its own text says so (网站标识码, ICP备, 版权所有 and
    主办单位 …), or an enclosing block does: a <footer>, a footer/bottom/copyright class or id, or a short
    block without headings whose text says so (a wrapper of the article holds its title heading)."""
    if looks_like_footer(el.text_content()):
        return True
    for block in el.iterancestors():
        if block.tag in ("body", "html"):
            return False
        if block.tag == "footer" or _FOOTER_NAME.search(f"{block.get('class') or ''} {block.get('id') or ''}"):
            return True
        if looks_like_footer(block.text_content()) and not _HEADINGS(block):
            return True
    return False


_FOOTER_NAME = re.compile(r"(?:^|[\s_-])(?:footer|foot|bottom|copyright|banquan)(?:$|[\s_-])", re.I)
_HEADINGS = etree.XPath(".//h1 | .//h2 | .//h3")


def _is_meta_line(el: etree._Element) -> bool:
    """A short line of labels (发布日期：… 来源：…), not a paragraph of prose."""
    text = visible_text(el, " ")
    if len(text) > 120 or "。" in text:
        return False
    return labeled_date(text) is not None or source_field(text)[0]


def paragraphs(body: etree._Element) -> list[Paragraph]:
    """The body's non-empty paragraphs in document order (photo-only ones included)."""
    out: list[Paragraph] = []
    _Walker(body, out, marked=_has_content_marks(body)).walk(body, body)
    return out


def _has_content_marks(body: etree._Element) -> bool:
    for node in body.iter(etree.Comment, "meta"):
        if node.tag == "meta":
            if (node.get("name") or "").lower() == "contentstart":
                return True
        elif _CONTENT_BEGIN.search(node.text or ""):
            return True
    return False


def _content_mark(node: etree._Element) -> bool | None:
    """True at a content-begin mark, False at a content-end mark, None elsewhere."""
    if node.tag is etree.Comment:
        text = node.text or ""
        if _CONTENT_BEGIN.search(text):
            return True
        if _CONTENT_END.search(text):
            return False
    elif node.tag == "meta":
        name = (node.get("name") or "").lower()
        if name == "contentstart":
            return True
        if name == "contentend":
            return False
    return None


def is_hidden(el: etree._Element) -> bool:
    """Is `el` itself hidden from readers (inline display:none, visibility:hidden, or `hidden`)?"""
    return el.get("hidden") is not None or bool(_HIDDEN_STYLE.search(el.get("style") or ""))


def is_decoration_box(el: etree._Element) -> bool:
    """Is `el` a QR-code, share or print box (by a class or id word such as ewm, qrcode, art-share)?"""
    names = el.get("class") or ""
    ident = el.get("id")
    if ident:
        names = f"{names} {ident}"
    return bool(names) and _DECORATION_NAME.search(names) is not None


def is_decoration_image(img: etree._Element) -> bool:
    """Is `img` a QR code, share button or icon rather than a photo of the article?

    By a word of its file name (ewm.png, qrcode_site.jpg, share_wx.png, icon_x.gif), its alt
    (扫一扫, 二维码, 扫码), or a declared size of an icon (both sides 32 px or less)."""
    src = next((img.get(a).strip() for a in _IMAGE_SRC if (img.get(a) or "").strip()), "")
    if src:
        name = src.split("?", 1)[0].split("#", 1)[0].rsplit("/", 1)[-1]
        if _DECORATION_FILE.search(name.rsplit(".", 1)[0] if "." in name else name):
            return True
    alt = img.get("alt")
    if alt and _DECORATION_ALT.search(alt):
        return True
    width, height = img.get("width"), img.get("height")
    return bool(width and height) and all(size.isdecimal() and 0 < int(size) <= 32 for size in (width, height))


class _Walker:
    """Flattens nested blocks: text gathers until a block starts or ends, or a <br>.

    With content marks (`marked`), only what lies between a begin and an end mark counts."""

    def __init__(self, body: etree._Element, out: list[Paragraph], marked: bool = False):
        self.body = body
        self.out = out
        self.text: list[str] = []
        self.images: list[etree._Element] = []
        self.marked = marked
        self.inside = not marked

    def flush(self, owner: etree._Element) -> None:
        if not self.text and not self.images:
            return
        text = clean_paragraph("".join(self.text)) if self.text else ""
        if text or self.images:
            self.out.append(Paragraph(text, self.images, _centred(owner, self.body)))
            self.images = []
        self.text = []

    def _enter(self, el: etree._Element, owner: etree._Element) -> tuple[etree._Element, bool]:
        """Start an element: (the owner of its children, whether it is a block)."""
        block = el.tag in BLOCK_TAGS
        if block:
            self.flush(owner)
            owner = el
        if el.text and self.inside:
            self.text.append(el.text)
        return owner, block

    def walk(self, root: etree._Element, owner: etree._Element) -> None:
        """Walk `root` depth first, with a stack of its open elements, not recursion: pasted bodies nest
        unclosed <font> and <span> a thousand deep, past Python's recursion limit."""
        # Frames: (element, owner of its children, block?, its children left, append its tail once done?)
        stack = [(root, *self._enter(root, owner), iter(root), False)]
        while stack:
            el, owner, block, children, tail_after = stack[-1]
            for child in children:
                tag = child.tag
                descend = tail = False
                if self.marked and (mark := _content_mark(child)) is not None:
                    self.flush(owner)
                    self.inside = mark
                    tail = True
                elif not self.inside:
                    descend = isinstance(tag, str) and tag not in SKIP_TAGS  # a begin mark may be inside
                elif not isinstance(tag, str) or tag in SKIP_TAGS:
                    tail = True  # comments, scripts, styles: their text is not page text
                elif tag == "br":
                    self.flush(owner)
                    tail = True
                elif tag == "img":
                    if not is_decoration_image(child):
                        self.images.append(child)
                    tail = True
                elif child.attrib and (is_hidden(child) or is_decoration_box(child)):
                    tail = True  # a box no reader sees as the article
                else:
                    descend = tail = True
                if descend:
                    stack.append((child, *self._enter(child, owner), iter(child), tail))
                    break
                if tail and child.tail and self.inside:
                    self.text.append(child.tail)
            else:
                stack.pop()
                if block:
                    self.flush(owner)
                if tail_after and el.tail and self.inside:
                    self.text.append(el.tail)


def _centred(owner: etree._Element, body: etree._Element) -> bool:
    el = owner
    while el is not None and el is not body:
        if el.tag == "center" or (el.get("align") or "").lower() == "center":
            return True
        if _CENTRED_STYLE.search(el.get("style") or ""):
            return True
        el = el.getparent()
    return False


def body_text(paras: list[Paragraph]) -> str:
    """Paragraph texts joined by a blank line; photo-only paragraphs left out."""
    return "\n\n".join(p.text for p in paras if p.text)


def images(paras: list[Paragraph], base_url: str) -> list[dict]:
    """``{url, alt, caption}`` per photo, in document order.

    The caption is the next paragraph's text when that paragraph is centred,
    short and holds no photo; it goes to the last photo before it."""
    out = []
    for i, para in enumerate(paras):
        following = paras[i + 1] if i + 1 < len(paras) else None
        caption = None
        if (following is not None and following.centred and not following.images
                and following.text and len(following.text) <= CAPTION_MAX_CHARS):
            caption = following.text
        for n, img in enumerate(para.images):
            src = next((img.get(a).strip() for a in _IMAGE_SRC if (img.get(a) or "").strip()), "")
            out.append({
                "url": joined(base_url, src) if src else None,
                "alt": img.get("alt"),
                "caption": caption if n == len(para.images) - 1 else None,
            })
    return out


def attachments(body: etree._Element, root: etree._Element, selector: str,
                base_url: str) -> list[dict]:
    """``{url, name}`` for document links in the body, in the profile's
    attachment block, in the block right after the body, or in a labelled
    附件 block a little further down; first link per URL wins.  A link is a
    document by its URL (`is_document_url`) or, for a download script
    (``/attachment/download?id=8812``), by its text or title (``任务分解表.xlsx``)."""
    links = list(body.iter("a"))
    links += select(root, selector)
    links += _links_after(body)
    seen: set[str] = set()
    out = []
    for a in links:
        href = (a.get("href") or "").strip()
        if not href or href.startswith(("javascript:", "mailto:", "#")):
            continue
        url = joined(base_url, href)
        name = clean_paragraph(a.text_content()) or (a.get("title") or "").strip() or None
        if url is None or url in seen or not (is_document_url(url) or _names_document(a)):
            continue
        seen.add(url)
        out.append({"url": url, "name": name})
    return out


# A link text or title naming a file: 任务分解表.xlsx, 通知.pdf（120KB）, 附件1.docx [下载].
_DOCUMENT_NAME = re.compile(r"\.(?:%s)\s*(?:[(（\[【][^)）\]】]{0,20}[)）\]】]\s*)?$"
                            % "|".join(sorted(ext[1:] for ext in ATTACHMENT_EXTENSIONS)), re.I)
_ATTACHMENT_LABEL = re.compile(r"附\s*件")
_BLOCKS_AFTER = 8  # blocks after the body looked at for a labelled attachment list


def _names_document(a: etree._Element) -> bool:
    return any(_DOCUMENT_NAME.search(text) for text in (a.text_content().strip(), (a.get("title") or "").strip())
               if text)


def _links_after(body: etree._Element) -> list[etree._Element]:
    """The links of the block right after the body, and of the next few blocks that say 附件 or follow one
    that does (a label 相关附件： then its list; a share box or the editor's name often sits between), up to
    the footer."""
    links: list[etree._Element] = []
    block, labelled = _block_after(body), True
    for _ in range(_BLOCKS_AFTER):
        if block is None or is_footer(block):
            break
        says = bool(_ATTACHMENT_LABEL.search(block.text_content()))
        if labelled or says:
            links += list(block.iter("a"))
        block, labelled = _block_after(block), says
    return links


def _block_after(el: etree._Element) -> etree._Element | None:
    """The first element after `el` in document order that is not inside it:
    its next sibling, or its wrapper's (bodies often sit in a content div)."""
    while el is not None:
        after = el.getnext()
        while after is not None and (not isinstance(after.tag, str) or after.tag in SKIP_TAGS):
            after = after.getnext()  # comments such as <!--TRS正文结束-->, a script revealing the body
        if after is not None:
            return after
        el = el.getparent()
    return None


def is_document_url(url: str) -> bool:
    """Does `url` name a document file, by its path or (download scripts such as
    ``downfile.jsp?filename=a.pdf``) by a query value?"""
    parts = urlsplit(url)
    names = [parts.path] + [value for _, _, value in
                            (pair.partition("=") for pair in parts.query.split("&"))]
    for name in names:
        name = name.lower()
        dot = name.rfind(".")
        if dot >= 0 and name[dot:] in ATTACHMENT_EXTENSIONS:
            return True
    return False


def body_html(body: etree._Element, base_url: str) -> str:
    """The main block as archived HTML: no scripts, styles, comments or on*
    handlers, every link absolute.  Works on a copy; the page tree is untouched."""
    block = copy.deepcopy(body)
    block.tail = None
    # XPath hands back only the elements to fix: touching every element from
    # Python costs more than the rest of the page's extraction.
    for el in _DOOMED(block):
        _drop_keep_tail(el)
    for el in _WITH_HANDLERS(block):
        for name in [n for n in el.attrib if n.lower().startswith("on")]:
            del el.attrib[name]
    for el in _WITH_LINKS(block):
        attrib = el.attrib
        for name in _LINK_ATTRIBUTES:
            value = attrib.get(name)
            if value and not value.startswith(("javascript:", "data:", "#", "mailto:")):
                try:
                    attrib[name] = urljoin(base_url, value.strip())
                except ValueError:  # a malformed URL (bad IPv6 host) stays as written
                    pass
    return etree.tostring(block, encoding="unicode", method="html")


_DOOMED = etree.XPath(".//script | .//style | .//noscript | .//comment() | .//processing-instruction()")
_WITH_HANDLERS = etree.XPath(".//*[@*[starts-with(translate(name(), 'ON', 'on'), 'on')]]"
                             " | self::*[@*[starts-with(translate(name(), 'ON', 'on'), 'on')]]")
_WITH_LINKS = etree.XPath(
    "descendant-or-self::*[" + " or ".join(f"@{name}" for name in _LINK_ATTRIBUTES) + "]")


def _drop_keep_tail(el: etree._Element) -> None:
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)
