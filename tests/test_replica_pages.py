"""Rendered pages, read back with lxml by a parser written only from docs/replica.md.

The parser here knows nothing of the replica's code: if it and the ground
truth agree on every article, pages and truth cannot have drifted apart.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

import lxml.html
import pytest

from replica.corpus import Corpus
from replica.site import Site
from replica.truth import truth_records

BASE = "http://127.0.0.1:8000"
BLOCKS = {"p", "div"}
WS = " \t\r\n\u3000\xa0"


def _charset(raw: bytes) -> str:
    match = re.search(rb'charset=["\']?([\w-]+)', raw[:1500], re.I)
    return match.group(1).decode().lower()


def _centred(el) -> bool:
    return "text-align: center" in (el.get("style") or "") or (el.get("align") or "").lower() == "center"


def _leaf_blocks(root):
    """Paragraph-like elements with no paragraph-like children, in order (style blocks skipped)."""
    return [el for el in root.iter("p", "div") if not any(c.tag in BLOCKS for c in el)]


def _body(root, url: str):
    paras, images, last_photo = [], [], None
    for el in _leaf_blocks(root):
        imgs = el.findall(".//img")
        text = el.text_content().strip(WS)
        if imgs and not text:
            img = imgs[0]
            last_photo = {"url": urljoin(url, img.get("src")), "alt": img.get("alt"), "caption": None}
            images.append(last_photo)
            continue
        if not text:
            continue  # an empty <p>&nbsp;</p> is not a paragraph
        if last_photo is not None and _centred(el):
            last_photo["caption"] = text
        last_photo = None
        paras.append(text)
    return "\n\n".join(paras), images


def parse_article(raw: bytes, url: str) -> dict:
    charset = _charset(raw)
    doc = lxml.html.fromstring(raw.decode(charset))
    footer_id = re.search(r"政府网站标识码:(\d+)", doc.text_content()).group(1)
    if doc.xpath('//div[@class="TRS_Editor"]'):
        info = doc.xpath('//div[@class="detail-info"]')[0]
        spans = [s.text_content() for s in info.findall("span")]
        shown = spans[0].removeprefix("时间:")
        published = shown if len(shown) == 10 else shown.replace(" ", "T") + ":00+08:00"
        source = spans[1].removeprefix("来源:")
        title = doc.xpath('//h1[@class="detail-title"]')[0].text_content()
        crumbs = [a.text_content() for a in doc.xpath('//div[@class="position"]/a')]
        site_name = doc.xpath('//meta[@name="SiteName"]/@content')[0]
        body, images = _body(doc.xpath('//div[@class="TRS_Editor"]')[0], url)
        attachments = [{"url": urljoin(url, a.get("href")), "name": a.text_content()}
                       for a in doc.xpath('//div[@class="detail-attach"]/a')]
    else:
        info = doc.xpath('//td[@class="info"]')[0].text_content()
        match = re.match(r"发布日期：(\d{4})年(\d{2})月(\d{2})日\u3000\u3000信息来源：(.+)$", info)
        published = "-".join(match.groups()[:3])
        source = match.group(4)
        title = doc.xpath('//td[@class="title"]')[0].text_content()
        crumbs = [a.text_content() for a in doc.xpath('//td[@class="dqwz"]/a')]
        site_name = None
        body, images = _body(doc.xpath('//div[@id="zoom"]')[0], url)
        attachments = []
    return {
        "url": url, "title": title, "published": published, "source": source, "body_text": body,
        "images": images, "attachments": attachments, "breadcrumb": crumbs, "site_name": site_name,
        "site_id_code": footer_id, "column_name": crumbs[-1], "charset": {"declared": charset, "used": charset},
    }


@pytest.fixture(scope="module")
def site() -> Site:
    return Site(Corpus(300))


@pytest.fixture(scope="module")
def pages(site):
    """(truth record, raw page bytes, page text) for every article."""
    out = []
    for record in truth_records(site.corpus, BASE):
        raw = site.resolve(record["url"][len(BASE):]).body
        out.append((record, raw, raw.decode(record["charset"]["used"])))
    return out


def test_every_page_parses_to_its_truth(pages):
    for record, raw, _ in pages:
        parsed = parse_article(raw, record["url"])
        expected = {k: v for k, v in record.items() if k not in ("change", "site", "section")}
        assert parsed == expected, record["url"]


def test_gbk_pages_are_gbk_bytes_with_both_declarations(site, pages):
    gbk = [(r, raw) for r, raw, _ in pages if r["charset"]["used"] == "gbk"]
    assert gbk
    for record, raw in gbk:
        assert b'charset=gbk"' in raw
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
        assert site.resolve(record["url"][len(BASE):]).content_type == "text/html; charset=GBK"


def test_both_templates_and_the_documented_traps_occur(pages):
    texts = [text for _, _, text in pages]
    assert any("<td class=\"title\"" in t.replace("TD", "td") or 'class="title"' in t for t in texts)
    assert any('<div id="zoom">' in t for t in texts) and any('class="TRS_Editor"' in t for t in texts)
    assert any("<style type=\"text/css\">.TRS_Editor" in t for t in texts)
    assert any(re.search(r"<div>\u3000\u3000", t) for t in texts)  # <div> paragraphs
    assert any("<p>&nbsp;&nbsp;&nbsp;&nbsp;" in t for t in texts)
    assert any("<p>&nbsp;</p>" in t for t in texts)
    assert any(re.search(r'alt="20\d\d-?\d\d-?\d\d"', t) for t in texts)  # stale date alts
    assert any(re.search(r"时间:\d{4}-\d\d-\d\d \d\d:\d\d<", t) for t in texts)
    assert any(re.search(r"拍摄\)</p>", t) for t in texts)
    assert any(re.search(r">附件1:\d{4}年[^<]*\.(xls|pdf|doc)</a>", t) for t in texts)
    for t in (t for t in texts if 'class="TRS_Editor"' in t):
        assert "\r\n" in t and re.search(r"[^\r]\n", t)  # CRLF template, LF editor body
        assert "<!--TRS正文开始-->" in t and "鲁公网安备 37048102000005号" in t and "鲁ICP备12014628号" in t
    assert all(t.startswith("<!DOCTYPE") for t in texts)


def test_pubdate_meta_is_sometimes_a_regeneration_time(pages):
    later = 0
    for record, _, text in pages:
        pubdate = re.search(r'name="PubDate" content="([^"]+)"', text)
        maketime = re.search(r'name="Maketime" content="([^"]+)"', text)
        if pubdate:
            assert maketime.group(1) >= record["published"][:10]
            later += pubdate.group(1)[:10] > record["published"][:10]
    assert later > 10


def test_seed_page_keeps_the_hijacked_header_and_footer(site):
    page = site.resolve("/xwzx/gyjj/202103/t20210315_6187593.html").body.decode("utf-8")
    assert '<span class="logo-text">江城足球网</span>' in page
    assert "中共江城足球网委、江城足球网人民政府版权所有" in page
    assert '<meta name="SiteName" content="滕州市人民政府" />' in page
    assert page.count('OLDSRC="W020210315') == 5


def test_list_pages_have_twenty_rows_and_only_a_script_pager(site):
    corpus = site.corpus
    first = site.resolve("/xwzx/gyjj/index.html").body.decode("utf-8")
    assert 'createPageHTML(15, 0, "index", "html");' in first
    doc = lxml.html.fromstring(first)
    rows = doc.xpath('//ul[@class="list-ul"]/li')
    assert len(rows) == 20
    assert rows[0].find("a").get("href") == "./" + corpus.entries[0].path[len("/xwzx/gyjj/"):]
    assert not doc.xpath('//a[contains(., "下一页")]')
    last = site.resolve("/xwzx/gyjj/index_14.html").body.decode("utf-8")
    assert 'createPageHTML(15, 14, "index", "html");' in last
    assert site.resolve("/xwzx/gyjj/index_15.html").status == 404
    assert site.resolve("/xwzx/gyjj/index_0.html").status == 404
    titles = {r["url"]: r["title"] for r in truth_records(corpus)}
    hrefs = []
    for page in range(15):
        name = "index.html" if page == 0 else f"index_{page}.html"
        doc = lxml.html.fromstring(site.resolve("/xwzx/gyjj/" + name).body.decode("utf-8"))
        for a in doc.xpath('//ul[@class="list-ul"]/li/a'):
            path = urljoin("/xwzx/gyjj/", a.get("href"))
            assert a.get("title") == titles[path]
            hrefs.append(path)
    assert hrefs == list(titles)  # every article once, newest first


def test_media_bytes_are_real_files(site):
    seed = next(r for r in truth_records(site.corpus) if r["published"] == "2021-03-15")
    photo = site.resolve(seed["images"][0]["url"])
    assert photo.status == 200 and photo.content_type == "image/jpeg"
    assert photo.body[:2] == b"\xff\xd8" and photo.body[-2:] == b"\xff\xd9"
    other = site.resolve(seed["images"][1]["url"]).body
    assert other != photo.body  # unique per image
    _walk_jpeg(photo.body)
    with_attachment = next(r for r in truth_records(site.corpus) if r["attachments"])
    for att in with_attachment["attachments"]:
        body = site.resolve(att["url"]).body
        assert body.startswith(b"%PDF-") if att["url"].endswith(".pdf") else body.startswith(b"\xd0\xcf\x11\xe0")
    assert site.resolve(seed["images"][0]["url"].replace("W02021", "W02020")).status == 404


def _walk_jpeg(data: bytes) -> None:
    """Check the marker structure: SOI, length-prefixed segments, scan data, EOI."""
    assert data[:2] == b"\xff\xd8"
    i, seen = 2, []
    while data[i + 1] != 0xDA:
        assert data[i] == 0xFF
        seen.append(data[i + 1])
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    assert {0xE0, 0xDB, 0xC0, 0xC4, 0xFE} <= set(seen)
    scan = data[i + 2 + int.from_bytes(data[i + 2 : i + 4], "big") : -2]
    assert b"\xff" not in scan.replace(b"\xff\x00", b"")
