"""ArticlePage on saved HTML: the replica's two Tengzhou templates, other CMSs, and traps."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.items import TRUTH_FIELDS, ArticleItem
from crawler.pages.article import EXTRACTOR_VERSION, MISSING_CODES, NOTICE_CODES, ArticlePage
from crawler.profile import load_profile

FIXTURES = Path(__file__).parent / "fixtures" / "pages"
TENGZHOU = load_profile("tengzhou")
SEED_URL = "http://www.tengzhou.gov.cn/xwzx/gyjj/202103/t20210315_6187593.html"
SEED_TITLE = "【工业强市 产业兴市】(二)官桥镇召开工业强市、产业兴市“攻坚五问”大调研大讨论活动动员大会"
SEED_FIRST = ("为深入贯彻落实全国“两会”、全省工作动员大会和枣庄滕州两级市“工业强市、产业兴市”"
              "三年攻坚突破动员大会精神,")
SEED_LAST = "党委委员、纪委书记李居鹏传达《官桥镇工业强市、产业兴市“攻坚五问”大调研大讨论活动方案》"
UTF8 = {"Content-Type": "text/html; charset=utf-8"}


def page(name: str, url: str, profile=TENGZHOU, headers=None) -> ArticlePage:
    return ArticlePage.from_bytes((FIXTURES / name).read_bytes(), url, headers, profile)


def photo(month: str, name: str, alt, caption=None, host="http://www.tengzhou.gov.cn") -> dict:
    return {"url": f"{host}/xwzx/gyjj/{month}/{name}.jpg", "alt": alt, "caption": caption}


# -- the current TRS template, built around the seed article ------------------


@pytest.fixture(params=["tengzhou", "generic"])
def seed(request) -> ArticlePage:
    """The seed page, read with the site profile and with generic rules only."""
    profile = TENGZHOU if request.param == "tengzhou" else None
    return page("tengzhou_current_seed.html", SEED_URL, profile, UTF8)


def test_seed_header_fields(seed):
    assert seed.title == SEED_TITLE
    assert seed.published == "2021-03-15"
    assert seed.source == "官桥镇信息中心"
    assert seed.breadcrumb == ["首页", "新闻中心", "工业经济"]
    assert seed.site_name == "滕州市人民政府"
    assert seed.site_id_code == "3704810032"
    assert seed.column_name == "工业经济"
    assert seed.charset == {"declared": "utf-8", "used": "utf-8"}
    assert seed.problems == []


def test_seed_body_text_runs_from_first_sentence_to_last(seed):
    expected = (FIXTURES / "tengzhou_seed.expected.txt").read_text(encoding="utf-8")
    assert seed.body_text == expected
    assert seed.body_text.startswith(SEED_FIRST)
    assert seed.body_text.endswith(SEED_LAST)
    assert len(seed.body_text.split("\n\n")) == 8
    assert "IMG_5158" not in seed.body_text  # photo paragraphs are left out
    assert ".TRS_Editor" not in seed.body_text  # the <style> block is not text


def test_seed_images_in_order_with_the_one_caption(seed):
    assert seed.images == [
        photo("202103", "W020210315384756192837", "IMG_5158_副本.jpg"),
        photo("202103", "W020210315384756205514", "IMG_5195_副本.jpg"),
        photo("202103", "W020210315384756218806", "IMG_5222_副本.jpg"),
        photo("202103", "W020210315384756231290", "IMG_5176_副本.jpg", SEED_LAST),
        photo("202103", "W020210315384756244771", "IMG_5143_副本.jpg"),
    ]


def test_seed_fields_fill_an_article_item(seed):
    fields = seed.fields()
    assert set(fields) == set(TRUTH_FIELDS) | {"body_html", "problems", "flags", "xxgk"}
    item = ArticleItem(**fields, extractor=EXTRACTOR_VERSION)
    assert (item.url, item.attachments, item.extractor, item.xxgk) == (SEED_URL, [], "gov-article/2", None)


def test_body_html_is_cleaned_and_absolute(seed):
    html = seed.body_html
    assert html.startswith('<div class="TRS_Editor">')
    assert "<style" not in html and "<script" not in html
    assert 'src="http://www.tengzhou.gov.cn/xwzx/gyjj/202103/W020210315384756192837.jpg"' in html
    assert 'src="./' not in html


def test_page_tree_is_not_modified_by_extraction(seed):
    before = seed.response.selector.root.xpath("count(//style | //script)")
    seed.fields()
    assert seed.response.selector.root.xpath("count(//style | //script)") == before > 0


# -- the older template, GBK ---------------------------------------------------

OLD_URL = "http://www.tengzhou.gov.cn/xwzx/gyjj/201503/t20150315_1234567.html"
OLD_BODY = ("今年以来，我市坚持把工业经济作为稳增长的主引擎，一季度规模以上工业增加值同比增长百分之九点八，实现开门红。"
            "\n\n全市重点项目建设加快推进，镕锋机械、堃鑫新材料等一批项目相继投产，新增产值十二亿元。"
            "\n\n图为滕州经济开发区一家企业的生产车间"
            "\n\n下一步，我市将继续优化营商环境，推动工业经济持续健康发展。")


@pytest.mark.parametrize("headers, declared", [
    ({"Content-Type": "text/html; charset=GBK"}, "gbk"),
    (None, "gbk"),  # no header: the <meta http-equiv> declares it
])
@pytest.mark.parametrize("profile", [TENGZHOU, None], ids=["tengzhou", "generic"])
def test_old_template_in_gbk(headers, declared, profile):
    old = page("tengzhou_old_template.gbk.html", OLD_URL, profile, headers)
    assert old.fields() | {"body_html": None} == {
        "url": OLD_URL,
        "title": "我市一季度工业经济实现开门红",
        "published": "2015-03-15",
        "source": "滕州日报",
        "body_text": OLD_BODY,
        "body_html": None,
        "images": [photo("201503", "W020150315510203040506", "2014年05月20日",
                         "图为滕州经济开发区一家企业的生产车间")],
        "attachments": [],
        "breadcrumb": ["首页", "新闻中心", "工业经济"],
        "site_name": None,
        "site_id_code": "3704810032",
        "column_name": "工业经济",
        # Scrapy decodes it with GB18030 (a superset), but the declared GBK was honoured.
        "charset": {"declared": declared, "used": "gbk"},
        "xxgk": None,
        "problems": [],
        "flags": [],
    }


# -- other CMS templates, generic rules only ----------------------------------


def test_hanweb_art_page():
    url = "http://www.zaozhuang.gov.cn/art/2021/3/15/art_1234_5678.html"
    art = page("hanweb_art.html", url, None)
    assert art.title == "市工信局召开全市工业运行调度会议"
    assert art.published == "2021-03-15T09:12:30+08:00"  # the visible line shows seconds
    assert art.source == "市工业和信息化局"
    assert art.body_text == ("3月15日，市工信局召开全市工业运行调度会议，分析一季度工业运行形势。\n\n"
                             "会议要求，各区（市）要盯紧重点企业、重点项目，确保完成一季度目标任务。")
    assert art.images == [{"url": "http://www.zaozhuang.gov.cn/picture/0/2103151012345678.jpg",
                           "alt": "", "caption": None}]
    assert art.attachments == [{
        "url": "http://www.zaozhuang.gov.cn/module/download/downfile.jsp?classid=0&filename=2103151.pdf",
        "name": "调度表"}]
    assert art.breadcrumb == ["首页", "新闻中心", "部门动态"]
    assert (art.site_name, art.site_id_code, art.column_name) == ("枣庄市人民政府", "3704000029", "部门动态")
    assert art.problems == []


def test_ucap_content_page_with_span_meta_line():
    url = "http://www.example.gov.cn/xwdt/bmdt/202103/t20210305_100.html"
    art = page("ucap_content.html", url, None)
    assert art.title == "我县新增三家省级专精特新企业"  # not the logo <h1>, also in <title>
    assert art.published == "2021-03-05"
    assert art.source == "县发展和改革局"
    assert art.body_text == ("日前，省工业和信息化厅公布了新一批专精特新中小企业名单，我县三家企业入选。\n\n"
                             "截至目前，我县省级专精特新企业总数达到二十一家。")
    assert art.breadcrumb == ["首页", "新闻动态", "部门动态"]
    assert (art.site_name, art.site_id_code, art.column_name) == (None, "3700000099", "部门动态")
    assert art.problems == []


def test_full_width_colons_source_before_date():
    url = "http://gxj.tengzhou.gov.cn/gzdt/202103/t20210305_200.html"
    art = page("fullwidth_colons.html", url, None)
    assert art.title == "滕州市工业和信息化局2021年工作要点"
    assert art.published == "2021-03-05T10:30:00+08:00"
    assert art.source == "滕州市工业和信息化局"
    assert art.body_text.split("\n\n")[0] == "一、聚力推进工业强市、产业兴市。"
    assert art.breadcrumb == ["首页", "部门信息", "工作动态"]
    assert art.column_name == "工作动态"
    assert art.problems == []


def test_unknown_template_uses_the_densest_block():
    url = "http://www.example.gov.cn/tzgg/2020/12/01/abc.html"
    art = page("densest_block.html", url, None)
    assert art.title == "关于开展2021年度企业技术改造项目申报工作的通知"  # from <title>
    assert art.published == "2020-12-01"
    assert art.source == "区工业和信息化局"
    assert art.body_text == (
        "各镇街、有关企业：\n\n"
        "为加快推动企业技术改造，提升产业发展质量，现就开展2021年度企业技术改造项目申报工作通知如下。\n\n"
        "一、申报范围为在本区注册、具有独立法人资格、生产经营正常的工业企业。\n\n"
        "二、请各单位于2021年1月15日前将申报材料报送区工业和信息化局。")
    assert art.body_html.startswith('<div class="zw">')
    assert art.breadcrumb == [] and art.column_name is None
    assert art.problems == ["body_guessed"]


# -- traps ---------------------------------------------------------------------

TRAP_URL = "http://www.tengzhou.gov.cn/xwzx/gyjj/202305/t20230512_7000002.html"
TRAP_LONG_CENTRED = ("会议要求，各镇街、各部门要进一步压实责任，强化要素保障，聚焦重点企业和重点项目，"
                     "加强运行监测和调度，及时协调解决企业生产经营中遇到的困难和问题，确保全年目标任务圆满完成。")


@pytest.fixture(params=["tengzhou", "generic"])
def trap(request) -> ArticlePage:
    return page("tengzhou_traps.html", TRAP_URL, TENGZHOU if request.param == "tengzhou" else None)


def test_visible_date_beats_regenerated_pubdate(trap):
    assert trap.published == "2023-05-12T09:30:00+08:00"
    assert trap.problems == ["pubdate_meta_disagrees"]


def test_empty_content_source_meta_falls_back_to_the_visible_source(trap):
    assert trap.source == "滕州市 工业和信息化局"


def test_div_paragraphs_styles_scripts_and_indents(trap):
    assert trap.body_text == "\n\n".join([
        "5月12日上午，全市工业经济运行分析会召开。",
        "会议通报了1—4月份工业经济运行情况，部署下一阶段重点工作。",
        "图为会议现场(王延平 拍摄)",
        "会议强调，要坚定信心、抢抓机遇，全力以赴稳增长。",
        TRAP_LONG_CENTRED,
        "详见运行分析报告。",
    ])


def test_captions_stale_alts_and_missing_alts(trap):
    assert len(TRAP_LONG_CENTRED) > 80  # too long to be a caption
    assert trap.images == [
        photo("202305", "W020230512593812345678", "2019年01月01日", "图为会议现场(王延平 拍摄)"),
        photo("202305", "W020230512593812345679", None),
        photo("202305", "W020230512593812345680", ""),
    ]


def test_attachments_from_body_and_attachment_block_deduplicated(trap):
    base = "http://www.tengzhou.gov.cn/xwzx/gyjj/202305/"
    assert trap.attachments == [
        {"url": base + "P020230512593812345681.pdf", "name": "运行分析报告"},
        {"url": base + "P020230512593812345682.doc", "name": "2.重点企业名单"},
        {"url": base + "P020230512593812345683.xls", "name": "3.统计表"},
    ]


def test_body_html_drops_handlers_comments_and_scripts(trap):
    html = trap.body_html
    for gone in ("onclick", "<!--", "<script", "<style", "1999-09-09", 'src="./'):
        assert gone not in html
    assert 'href="http://www.tengzhou.gov.cn/xwzx/gyjj/202305/P020230512593812345681.pdf"' in html


# -- missing fields: reported, never raised -------------------------------------


def test_missing_title_and_date_are_problems():
    art = page("missing_title_date.html", "http://x.gov.cn/a.html", None)
    assert (art.title, art.published, art.source) == (None, None, None)
    assert art.body_text == "本页既没有标题，也没有发布日期，只有一段正文。"
    assert art.problems == ["missing_title", "missing_date"]


def test_empty_page_reports_everything_missing():
    fields = page("empty_page.html", "http://x.gov.cn/b.html", TENGZHOU).fields()
    assert (fields["body_text"], fields["body_html"], fields["images"]) == ("", "", [])
    assert fields["problems"] == ["missing_title", "missing_date", "missing_body"]


def test_charset_used_is_the_decoder_when_the_declaration_was_overridden():
    body = "<html><head><meta charset='gbk'></head><body><p>滕州</p></body></html>".encode("utf-8")
    art = ArticlePage.from_bytes(body, "http://x.gov.cn/f.html", {"Content-Type": "text/html"},
                                 encoding="utf-8")
    assert art.charset == {"declared": "gbk", "used": "utf-8"}


def test_pubdate_meta_is_used_only_without_a_visible_date():
    html = ('<html><head><meta name="PubDate" content="2021-03-15 16:42:10"></head>'
            '<body><h1>标题文字</h1><div id="zoom"><p>正文。</p></div></body></html>')
    art = ArticlePage.from_bytes(html.encode(), "http://x.gov.cn/c.html")
    assert art.published == "2021-03-15T16:42:10+08:00"
    assert art.problems == ["date_from_meta"]


def test_a_date_in_an_attribute_or_a_word_label_is_not_a_publication_date():
    html = ('<html><body><h1>标题文字</h1><div id="zoom"><p>报名时间：2021年4月1日</p>'
            '<p><img src="a.jpg" alt="时间:2019-01-01"></p></div></body></html>')
    art = ArticlePage.from_bytes(html.encode(), "http://x.gov.cn/d.html")
    assert art.published is None
    assert art.problems == ["missing_date"]


def test_br_separated_paragraphs_in_one_block():
    html = ('<html><body><div id="zoom">　　第一段。<br>&nbsp;&nbsp;第二段。<br><br>'
            '<span>第三段</span>。</div></body></html>')
    art = ArticlePage.from_bytes(html.encode(), "http://x.gov.cn/e.html")
    assert art.body_text == "第一段。\n\n第二段。\n\n第三段。"


def test_every_reported_code_is_a_documented_one():
    seen = set()
    for name, url in [("tengzhou_traps.html", TRAP_URL), ("empty_page.html", "http://x.gov.cn/b.html"),
                      ("densest_block.html", "http://x.gov.cn/g.html")]:
        seen |= set(page(name, url, None).problems)
    assert seen == {"pubdate_meta_disagrees", "missing_title", "missing_date", "missing_body",
                    "body_guessed"}
    assert seen <= MISSING_CODES | NOTICE_CODES and not MISSING_CODES & NOTICE_CODES


@pytest.mark.parametrize("paragraph, published", [
    ("一、时间：2021年4月1日上午", None),  # a notice's schedule, not a meta line
    ("发布时间：2021-03-15　来源：县政府办", "2021-03-15"),  # a meta line inside the body block
])
def test_dates_inside_the_body_count_only_on_a_meta_line(paragraph, published):
    html = (f'<html><body><div id="zoom"><p>{paragraph}</p><p>正文第一段。</p></div></body></html>')
    art = ArticlePage.from_bytes(html.encode(), "http://x.gov.cn/h.html")
    assert art.published == published


def test_lazy_loaded_photos_and_ofd_attachments():
    """The loading.gif placeholder was archived and the photo never; .ofd files were no attachments."""
    html = ('<html><body><h1>标题文字</h1><div id="zoom"><p>　　正文第一段，介绍了有关情况。</p>'
            '<p><img src="/static/images/loading.gif" data-original="/uploads/2024/0102/photo1.jpg" alt="图一"></p>'
            '<p><img src="/static/images/loading.gif" data-src="/uploads/2024/0102/photo2.jpg"></p>'
            '<p><img src="/uploads/2024/0102/photo3.jpg"></p>'
            '<p>附件：<a href="/uploads/2024/0102/gzyd.ofd">工作要点.ofd</a> <a href="/uploads/b.7z">b</a></p>'
            '</div></body></html>')
    art = ArticlePage.from_bytes(html.encode(), "http://x.gov.cn/xwzx/202401/t20240102_1.html")
    assert [image["url"] for image in art.images] == [
        f"http://x.gov.cn/uploads/2024/0102/photo{n}.jpg" for n in (1, 2, 3)]
    assert [a["url"] for a in art.attachments] == ["http://x.gov.cn/uploads/2024/0102/gzyd.ofd",
                                                   "http://x.gov.cn/uploads/b.7z"]
    assert 'data-original="http://x.gov.cn/uploads/2024/0102/photo1.jpg"' in art.body_html


# -- chrome never read as the article: the footer, the logo, the header's date -------------------

FOOTER = ('<div class="bottom"><p>主办单位：测试县人民政府办公室　承办单位：测试县大数据中心　地址：测试县人民路1号'
          '　邮编：273000</p><p>网站标识码：3799990001　鲁ICP备12345678号-1　鲁公网安备 37048102000123号'
          '　联系电话：0537-1234567</p></div>')


def chrome_page(main: str, title: str = "测试县人民政府", head: str = "", profile=None,
                url: str = "http://www.ceshi.gov.cn/xwzx/tzgg/202401/t20240102_1.html") -> ArticlePage:
    """An article of an unknown template: a logo, a header with today's date, `main`, the footer."""
    html = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title>{head}</head><body>
<div class="header"><div class="logo"><h1>测试县人民政府</h1></div>
<div class="top-date">今天是：<span>2024年7月1日</span> 星期一 <span>日期：2024年7月1日</span></div></div>
<div class="nav"><a href="/">首页</a><a href="/xwzx/">新闻中心</a></div>
<div class="main">{main}</div>{FOOTER}</body></html>"""
    return ArticlePage.from_bytes(html.encode(), url, UTF8, profile)


SHORT_NOTICE = """<div class="wz"><h2>关于2024年度拟表彰先进集体的公示</h2>
<div class="wz_info">发布日期：2024-01-02　来源：县人社局</div>
<div class="wz_con"><p>现将2024年度拟表彰先进集体名单予以公示，公示期为5个工作日。</p>
<p>附件：<a href="/uploads/mingdan.xls">拟表彰名单.xls</a></p></div></div>"""


@pytest.mark.parametrize("stale", [False, True])
def test_a_short_notice_body_is_its_text_never_the_longer_footer(stale):
    """The footer held more text than a one-sentence notice, so text density chose it (and `profile new`
    then baked `body = 'div.bottom'`): a footer is never the body, whatever the profile's selector says."""
    from crawler.profile import Selectors, generic_profile
    import dataclasses

    profile = None
    if stale:
        generic = generic_profile()
        section = dataclasses.replace(generic.first, selectors=Selectors(body="div.bottom"))
        profile = dataclasses.replace(generic, sections=(section,))
    art = chrome_page(SHORT_NOTICE, profile=profile)
    assert art.body_text == "现将2024年度拟表彰先进集体名单予以公示，公示期为5个工作日。\n\n附件：拟表彰名单.xls"
    assert art.attachments == [{"url": "http://www.ceshi.gov.cn/uploads/mingdan.xls", "name": "拟表彰名单.xls"}]
    assert "标识码" not in art.body_text
    assert art.problems == ["body_guessed"]


ARTICLE_MAIN = """<div class="tit">县政府召开常务会议研究部署重点工作</div>
<div class="info"><span>发布时间：2024-01-02 09:30</span><span>信息来源：县政府办公室</span></div>
<div class="con"><p>1月2日，县政府召开常务会议，研究部署近期重点工作。</p>
<p>会议强调，要认真贯彻落实上级决策部署，扎实做好各项工作。</p></div>"""


@pytest.mark.parametrize("main, page_title", [
    # The title in a <div class="tit">: the <title>'s leading part names it, the logo <h1> is its last part.
    (ARTICLE_MAIN, "县政府召开常务会议研究部署重点工作 - 测试县人民政府"),
    # The <title> is the site's name only; the article's heading sits right before the body.
    (ARTICLE_MAIN.replace('<div class="tit">', '<h2 class="tit">').replace("工作</div>", "工作</h2>", 1),
     "测试县人民政府"),
])
def test_the_logo_heading_is_never_the_title(main, page_title):
    """No ArticleTitle meta: the logo's <h1> (the site name, also in the <title>) won as "the longest
    heading the <title> repeats", and every article was titled 测试县人民政府."""
    art = chrome_page(main, page_title)
    assert art.title == "县政府召开常务会议研究部署重点工作"
    assert "missing_title" not in art.problems


def test_a_profile_title_selector_naming_the_site_is_passed_over():
    """A profile inferred before the fix says title = 'div.logo > h1': its site name is not a title."""
    from crawler.profile import Selectors, generic_profile
    import dataclasses

    generic = generic_profile()
    profile = dataclasses.replace(generic, sections=(
        dataclasses.replace(generic.first, selectors=Selectors(title="div.logo > h1")),))
    art = chrome_page(ARTICLE_MAIN, "县政府召开常务会议研究部署重点工作_测试县人民政府", profile=profile)
    assert art.title == "县政府召开常务会议研究部署重点工作"
    # With nothing but the site's name to go on, the title is missing, not the site's name.
    named = chrome_page("<div class='con'><p>正文。</p></div>", "测试县人民政府",
                        '<meta name="SiteName" content="测试县人民政府">')
    assert named.title is None and "missing_title" in named.problems


@pytest.mark.parametrize("main, footer", [
    # The header's 今天是：… 日期：2024年7月1日 came first in the document and won over 发布时间.
    (ARTICLE_MAIN, ""),
    # A header date in a <div id="top"> with no 今天是, after the article in the markup.
    (ARTICLE_MAIN + '<div id="top"><span>日期：2024年7月1日</span></div>', ""),
    # The meta line's date has no label: the footer's 发布日期 (the site's update) won; the 来源 line's date counts.
    (ARTICLE_MAIN.replace("发布时间：", ""), "<p>发布日期：2024-06-30 本站更新</p>"),
])
def test_the_meta_line_date_beats_header_and_footer_dates(main, footer):
    art = chrome_page(main)
    if footer:
        html = art.response.text.replace("</div></body>", footer + "</div></body>")
        art = ArticlePage.from_bytes(html.encode(), art.url, UTF8)
    assert art.published == "2024-01-02T09:30:00+08:00"
    assert art.source == "县政府办公室"
    assert art.problems == ["body_guessed"]


@pytest.mark.parametrize("label", ["您的位置：", "您现在的位置是：", "您当前的位置：", "您当前所在位置：", "您所在的位置：",
                                   "当前所在位置："])
def test_breadcrumb_labels(label):
    """您当前的位置 and 您当前所在位置 (Hanweb templates) were not known: no breadcrumb, no column name."""
    main = ARTICLE_MAIN.replace('<div class="tit">', f'<div class="crumb"><span>{label}</span><a href="/">首页</a> &gt; '
                                f'<a href="/xwzx/">新闻中心</a> &gt; <a href="./">工作动态</a></div><div class="tit">')
    art = chrome_page(main)
    assert art.breadcrumb == ["首页", "新闻中心", "工作动态"]
    assert art.column_name == "工作动态"


@pytest.mark.parametrize("line", [
    '<div class="info"><span>发布时间</span><span>2024-01-02 09:30</span><span>来源</span><span>县政府办公室</span></div>',
    '<table class="info"><tr><td>发布时间</td><td>2024-01-02 09:30</td><td>来源</td><td>县政府办公室</td></tr></table>',
])
def test_meta_line_labels_without_a_colon(line):
    """发布时间 / 来源 with no colon, in spans or table cells: missing_date, and no source at all."""
    main = ARTICLE_MAIN.replace(
        '<div class="info"><span>发布时间：2024-01-02 09:30</span><span>信息来源：县政府办公室</span></div>', line)
    art = chrome_page(main)
    assert (art.published, art.source) == ("2024-01-02T09:30:00+08:00", "县政府办公室")
    assert art.problems == ["body_guessed"]


def test_attachments_named_only_by_their_text_and_listed_a_few_blocks_below_the_body():
    """A download script's link (`/attachment/download?id=8812`) named a file only in its text, and a 相关附件
    list below a share box and the editor's name was not the block right after the body: both were lost.
    The footer's document links stay out."""
    html = ('<html><body><h1>标题文字</h1><div class="main"><div id="zoom"><p>　　正文第一段，介绍了有关情况。</p></div>'
            '<div class="fenxiang">分享到：<a href="http://share.example/x">微博</a></div>'
            '<div class="editor">责任编辑：张三</div>'
            '<div>相关附件：</div><ul class="fj-list"><li><a href="/uploads/fj3.docx">三</a></li></ul>'
            '<div class="fj"><a href="/attachment/download?id=8812">附件2：任务分解表.xlsx（25KB）</a>'
            '<a href="/news/other.html">另一篇新闻</a><a href="/attachment/download?id=9" title="名单.PDF">下载</a></div>'
            '</div><div class="bottom">网站标识码：3799990001 <a href="/report.xls">年度报表.xls</a></div></body></html>')
    art = ArticlePage.from_bytes(html.encode(), "http://x.gov.cn/xwzx/202401/t20240102_1.html")
    assert art.attachments == [
        {"url": "http://x.gov.cn/uploads/fj3.docx", "name": "三"},
        {"url": "http://x.gov.cn/attachment/download?id=8812", "name": "附件2：任务分解表.xlsx（25KB）"},
        {"url": "http://x.gov.cn/attachment/download?id=9", "name": "下载"}]
