"""The allowlist sanitizer that article bodies go through before our pages show them."""

from __future__ import annotations

import lxml.html
import pytest

from archive.web.sanitize import absolute_url, clean_style, sanitize

BASE = "http://www.tengzhou.gov.cn/xwzx/gyjj/202103/t20210315_6187593.html"


def tree(html: str):
    return lxml.html.fragment_fromstring(html or "<p></p>", create_parent="div")


def test_keeps_text_structure_and_chinese():
    html = ('<div class="TRS_Editor"><p style="text-indent: 2em;">为深入贯彻落实<strong>工业强市</strong>、'
            '<em>产业兴市</em><br>会议</p><table border="1"><tr><td colspan="2">化工</td></tr></table></div>')
    out = sanitize(html, base_url=BASE)
    assert '<p style="text-indent: 2em">为深入贯彻落实<strong>工业强市</strong>、<em>产业兴市</em><br>会议</p>' in out
    assert '<td colspan="2">化工</td>' in out
    assert 'class=' not in out


@pytest.mark.parametrize("html", [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<style>body{display:none}</style>",
    "<iframe src='http://evil.example/'></iframe>",
    "<object data='x.swf'></object><embed src='x.swf'>",
    "<svg onload=alert(1)><script>alert(1)</script></svg>",
    "<math><mtext><script>alert(1)</script></mtext></math>",
    "<noscript><img src=x onerror=alert(1)></noscript>",
    "<form action='http://evil.example/'><input name=q></form>",
    "<base href='http://evil.example/'><meta http-equiv=refresh content='0;url=http://evil.example/'>",
])
def test_drops_active_content_with_its_insides(html):
    out = sanitize("<p>前</p>" + html + "<p>后</p>", base_url=BASE)
    assert out == "<p>前</p><p>后</p>"


def test_drops_event_handlers_and_script_urls():
    html = ('<p onclick="alert(1)" onmouseover=x>段落</p>'
            '<img src="x" onerror="alert(1)">'
            '<a href="javascript:alert(1)">一</a><a href=" JaVa\tScRiPt:alert(1)">二</a>'
            '<a href="data:text/html,<script>alert(1)</script>">三</a><a href="vbscript:msgbox(1)">四</a>'
            '<a href="/xwzx/" onfocus="x()" target="_top">五</a>')
    out = sanitize(html, base_url=BASE, image=lambda url: None)
    root = tree(out)
    for element in root.iter():
        assert not [name for name in element.attrib if name.lower().startswith("on")]
        assert "javascript" not in element.get("href", "").lower()
        assert "target" not in element.attrib
    hrefs = [a.get("href") for a in root.iter("a")]
    assert hrefs == [None, None, None, None, "http://www.tengzhou.gov.cn/xwzx/"]
    assert root.find(".//a[@href]").get("rel") == "noopener noreferrer nofollow"
    assert "<img" not in out and "image not archived" in out  # an image we do not hold becomes a note


def test_images_and_links_go_through_the_rewriters():
    seen = []

    def image(url):
        seen.append(url)
        return "/-/media/7" if url.endswith("a.jpg") else None

    out = sanitize('<p><img src="a.jpg" alt="IMG_5158_副本.jpg" oldsrc="a.jpg" style="border-width: 0px"></p>'
                   '<p><img src="http://elsewhere.example/b.png" alt="b"></p><a href="t1.html">文章</a>',
                   base_url=BASE, image=image, link=lambda url: "/-/article/3" if url.endswith("t1.html") else None)
    assert seen == ["http://www.tengzhou.gov.cn/xwzx/gyjj/202103/a.jpg", "http://elsewhere.example/b.png"]
    root = tree(out)
    images = root.findall(".//img")
    assert [(img.get("src"), img.get("alt")) for img in images] == [("/-/media/7", "IMG_5158_副本.jpg")]
    assert "oldsrc" not in out and "border-width" not in out
    assert "image not archived: b" in out
    assert root.find(".//a").get("href") == "/-/article/3"


def test_text_is_escaped_and_markup_balanced():
    out = sanitize('<p>1 &lt; 2 &amp; "引号"</p><p><b>未闭合', base_url=BASE)
    assert out == '<p>1 &lt; 2 &amp; "引号"</p><p><b>未闭合</b></p>'
    assert sanitize('前言 <!-- 注释 --> &lt;script&gt;') == "前言  &lt;script&gt;"
    assert sanitize("") == "" and sanitize(None) == "" and sanitize("   ") == ""


def test_unknown_tags_are_unwrapped_keeping_text():
    out = sanitize('<section><custom-tag>甲</custom-tag><font color="red" face="x">乙</font><o:p>丙</o:p></section>')
    assert out == "甲<font>乙</font>丙"


@pytest.mark.parametrize("style, kept", [
    ("text-indent: 2em;", "text-indent: 2em"),
    ("TEXT-ALIGN:center; color: red", "text-align: center"),
    ("background: url(http://evil.example/x.png)", ""),
    ("display: none; behavior: url(x.htc)", "display: none"),
    ("text-indent: expression(alert(1))", ""),
    ("font-weight: bold; text-align: \\63 enter", "font-weight: bold"),
])
def test_style_keeps_only_plain_layout_properties(style, kept):
    assert clean_style(style) == kept


@pytest.mark.parametrize("value, expected", [
    ("a.jpg", "http://www.tengzhou.gov.cn/xwzx/gyjj/202103/a.jpg"),
    ("//cdn.example/x.jpg", "http://cdn.example/x.jpg"),
    ("https://www.tengzhou.gov.cn/", "https://www.tengzhou.gov.cn/"),
    ("javascript:alert(1)", None),
    ("\x01javascript:alert(1)", None),
    ("data:image/png;base64,AAAA", None),
    ("file:///etc/passwd", None),
    ("", None),
])
def test_absolute_url(value, expected):
    assert absolute_url(value, BASE) == expected
