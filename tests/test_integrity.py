"""Integrity flags: hijacked city names, spam, hidden links, injected scripts."""

from __future__ import annotations

from pathlib import Path

from crawler.pages.article import ArticlePage
from crawler.pages.integrity import hijacked_city_name, integrity_flags
from crawler.profile import load_profile

FIXTURES = Path(__file__).parent / "fixtures" / "pages"
PROFILE = load_profile("tengzhou")


def _page(body: str, title: str = "标题") -> ArticlePage:
    html = (f"<html><head><meta charset='utf-8'><meta name='ArticleTitle' content='{title}'></head><body>"
            f"<h1>{title}</h1><div>时间:2024-05-01 来源:市工信局</div><div class='TRS_Editor'>{body}</div></body></html>")
    return ArticlePage.from_bytes(html.encode("utf-8"), "http://www.tengzhou.gov.cn/xwzx/gyjj/202405/t20240501_1.html",
                                  profile=PROFILE)


def test_the_seed_is_flagged_as_hijacked():
    text = "是江城足球网内唯一一个拥有2个省级经济园区的乡镇;中共江城足球网委、江城足球网人民政府版权所有"
    assert hijacked_city_name(text, "滕州市")


def test_own_city_is_not_hijacked():
    assert not hijacked_city_name("是滕州市内唯一一个拥有2个省级经济园区的乡镇。中共滕州市委、滕州市人民政府", "滕州市")
    assert not hijacked_city_name("枣庄市人民政府与滕州市委共同部署", "滕州市")


def test_clean_page_has_no_flags():
    assert _page("<p>全市化工园区项目建设加快推进。</p>").flags == []


def test_each_flag_on_its_own():
    assert _page("<p>江城足球网内唯一一个省级化工园区。</p>").flags == ["hijacked_city_name", "spam_keywords"]
    assert _page("<p>欢迎访问百家乐娱乐城。</p>").flags == ["spam_keywords"]
    assert _page('<p>园区建设。<span style="display:none"><a href="http://spam.example/">x</a></span></p>').flags == [
        "hidden_links"]
    assert _page("<p>园区建设。</p><script>document.write('x')</script>").flags == ["injected_script"]
    assert _page('<p>园区建设。<img src="a.jpg" onerror="alert(1)"></p>').flags == ["injected_script"]


def test_visible_links_are_fine():
    assert integrity_flags("t", "x", None, "滕州市") == []
    assert _page('<p><a href="./P020240501.pdf">附件</a></p>').flags == []
