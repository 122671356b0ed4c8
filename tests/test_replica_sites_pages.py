"""The family sites' pages, read back by parsers written only from docs/replica.md.

For every family site: walking its list pages as the docs describe (the
Hanweb datastore, then dataproxy.jsp by POST; xxgk page-number links; the
JSON list API) reaches every truth article exactly once and in list order,
and every article page parses, field by field, to its truth record.  The
parsers know nothing of the replica's code, so pages and truth cannot have
drifted apart.  No HTTP here (tests/test_replica_sites_http.py does that).
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode, urljoin, urlsplit

import lxml.html
import pytest

from replica import registry

BASE = "http://127.0.0.1:8000"
FAMILY_SITES = [name for name in registry.site_names() if registry.site_spec(name).cms != "trs"]
WS = " \t\r\n\u3000\xa0"


def fetch(site, url: str, form: dict | None = None):
    parts = urlsplit(url)
    res = site.resolve(parts.path, parts.query, "127.0.0.1:8000", form)
    assert res.status == 200, (url, res.status)
    return res


def decode(raw: bytes) -> str:
    charset = re.search(rb'charset=["\']?([\w-]+)', raw[:800], re.I).group(1).decode().lower()
    return raw.decode(charset)


# -- list pages -------------------------------------------------------------------------------------

def hanweb_column(site, url: str) -> list[str]:
    page = decode(fetch(site, url).body)
    store = re.search(r'<script type="text/xml">(.*?)</script>', page, re.S).group(1)
    records = re.findall(r"<record><!\[CDATA\[(.*?)\]\]></record>", store, re.S)
    declared = re.search(r"var param_\d+ = \{([^}]*)\};", page).group(1)
    form = {k: v for k, a, b in re.findall(r"(\w+):(?:'([^']*)'|(\d+))", declared) for v in [a or b]}
    config = {k: int(v) for k, v in re.findall(r"(totalRecord|perPage|groupSize):(\d+)", page)}
    group = config["perPage"] * config["groupSize"]
    proxy = urljoin(url, re.search(r"proxyUrl:'([^']+)'", page).group(1))
    start = len(records) + 1
    while start <= config["totalRecord"]:
        query = urlencode({"startrecord": start, "endrecord": start + group - 1, "perpage": config["perPage"]})
        res = fetch(site, f"{proxy}?{query}", form)
        assert res.content_type.startswith("text/xml")
        answer = res.body.decode("utf-8")
        assert int(re.search(r"<totalrecord>(\d+)</totalrecord>", answer).group(1)) == config["totalRecord"]
        more = re.findall(r"<record><!\[CDATA\[(.*?)\]\]></record>", answer, re.S)
        assert more, "dataproxy answered no rows before the total"
        records += more
        start += len(more)
    return [urljoin(url, re.search(r"href='([^']+)'", r).group(1)) for r in records]


def xxgk_column(site, url: str) -> list[str]:
    found = []
    while url:
        doc = lxml.html.fromstring(decode(fetch(site, url).body))
        found += [urljoin(url, a.get("href")) for a in doc.xpath('//table[@class="xxgk-list"]//td[@class="mc"]/a')]
        nxt = doc.xpath('//div[@class="page"]/a[.="下一页"]/@href')
        url = urljoin(url, nxt[0]) if nxt else None
    return found


def json_column(site, url: str) -> list[str]:
    doc = lxml.html.fromstring(decode(fetch(site, url).body))
    assert not doc.xpath('//ul[@id="newsList"]/li'), "the shell holds no rows"
    box = doc.xpath('//*[@id="app"]')[0]
    api, channel, size = box.get("data-api"), box.get("data-channel"), box.get("data-size")
    found, page, pages = [], 1, 1
    while page <= pages:
        res = fetch(site, urljoin(url, f"{api}?channel={channel}&page={page}&size={size}"))
        assert res.content_type.startswith("application/json")
        answer = json.loads(res.body)
        pages = answer["pages"]
        assert answer["total"] >= len(answer["list"]) and {"title", "url", "date"} <= set(answer["list"][0])
        found += [urljoin(url, row["url"]) for row in answer["list"]]
        page += 1
    return found


WALKERS = {"hanweb": hanweb_column, "xxgk": xxgk_column, "json": json_column}


# -- article pages ----------------------------------------------------------------------------------

def _centred(el) -> bool:
    return "text-align: center" in (el.get("style") or "")


def _hidden_inside(el, container) -> bool:
    while el is not None and el is not container:
        if "display:none" in (el.get("style") or "").replace(" ", ""):
            return True
        el = el.getparent()
    return False


def body_of(container, url: str):
    """Paragraphs (hidden boxes left out) and photos (site icons under /images/ are not photos)."""
    paras, images, last = [], [], None
    leaves = [el for el in container.iter("p", "div") if not any(c.tag in ("p", "div") for c in el)]
    for el in leaves:
        if _hidden_inside(el, container):
            continue
        imgs = [i for i in el.iter("img") if not i.get("src").startswith("/images/")]
        text = el.text_content().strip(WS)
        if imgs and not text:
            last = {"url": urljoin(url, imgs[0].get("src")), "alt": imgs[0].get("alt"), "caption": None}
            images.append(last)
            continue
        if not text:
            continue
        if last is not None and _centred(el):
            last["caption"] = text
        last = None
        paras.append(text)
    return "\n\n".join(paras), images


def _published(shown: str) -> str:
    return shown if len(shown) == 10 else shown.replace(" ", "T") + ":00+08:00"


def parse_hanweb(text: str, doc, url: str) -> dict:
    def marked(name: str) -> str:
        return re.search(rf"<!--<\$\[{name}\]>begin-->(.*?)<!--<\$\[{name}\]>end-->", text, re.S).group(1)

    content = lxml.html.fragment_fromstring(marked("信息内容"), create_parent="div")
    body, images = body_of(content, url)
    source = lxml.html.fragment_fromstring(marked("信息来源") or "-", create_parent="div").text_content()
    return {
        "title": lxml.html.fragment_fromstring(marked("标题名称"), create_parent="div").text_content(),
        "published": _published(marked("发布日期")), "source": None if source == "-" else source,
        "body_text": body, "images": images,
        "attachments": [{"url": urljoin(url, a.get("href")), "name": a.text_content()}
                        for a in doc.xpath('//div[@class="fujian"]//a')],
        "breadcrumb": [a.text_content() for a in doc.xpath('//div[@class="position"]/a')],
    }


def parse_xxgk(text: str, doc, url: str) -> dict:
    if doc.xpath('//table[@class="xxgk-table"]'):
        cells = doc.xpath('//table[@class="xxgk-table"]//th | //table[@class="xxgk-table"]//td')
        pairs = [(cells[i].text_content(), cells[i + 1].text_content()) for i in range(0, len(cells), 2)]
    else:
        pairs = [(li.find("b").text_content(), li.find("span").text_content())
                 for li in doc.xpath('//ul[@class="xxgk-info"]/li')]
    table = {k.rstrip("："): v for k, v in pairs if k}
    body, images = body_of(doc.xpath('//div[@id="Zoom"]')[0], url)
    source = doc.xpath('//span[@id="source"]')[0].text_content()
    return {
        "title": doc.xpath('//h1[@class="xxgk-title"]')[0].text_content(),
        "published": table.get("生成日期") or table["发布日期"], "source": source or None,
        "body_text": body, "images": images,
        "attachments": [{"url": urljoin(url, a.get("href")), "name": a.text_content()}
                        for a in doc.xpath('//div[@class="xxgk-fj"]//a')],
        "breadcrumb": [a.text_content() for a in doc.xpath('//div[@class="dqwz"]/a')],
        "xxgk": table,
    }


def parse_json(text: str, doc, url: str) -> dict:
    body, images = body_of(doc.xpath('//div[@id="articleBody"]')[0], url)
    source = doc.xpath('//span[@class="source"]')[0].text_content().removeprefix("来源：")
    return {
        "title": doc.xpath('//h1[@class="article-title"]')[0].text_content(),
        "published": _published(doc.xpath('//span[@class="time"]')[0].text_content().removeprefix("发布时间：")),
        "source": source or None, "body_text": body, "images": images,
        "attachments": [{"url": urljoin(url, a.get("href")), "name": a.text_content()}
                        for a in doc.xpath('//div[@class="article-files"]//a')],
        "breadcrumb": [e.text_content() for e in doc.xpath('//div[@class="crumb"]/*')],
    }


PARSERS = {"hanweb": parse_hanweb, "xxgk": parse_xxgk, "json": parse_json}


def parse_article(cms: str, raw: bytes, url: str) -> dict:
    charset = re.search(rb'charset=["\']?([\w-]+)', raw[:800], re.I).group(1).decode().lower()
    text = raw.decode(charset)
    doc = lxml.html.fromstring(text)
    fields = PARSERS[cms](text, doc, url)
    fields.update({
        "url": url,
        "site_name": doc.xpath('//meta[@name="SiteName"]/@content')[0],
        "site_id_code": re.search(r"标识码[：:\s]*(\d{10})", doc.xpath("//body")[0].text_content()).group(1),
        "column_name": doc.xpath('//meta[@name="ColumnName"]/@content')[0],
        "charset": {"declared": charset, "used": charset},
    })
    return fields


# -- the tests --------------------------------------------------------------------------------------

@pytest.fixture(scope="module", params=FAMILY_SITES)
def family(request):
    spec = registry.site_spec(request.param)
    corpus = registry.make_corpus(spec, articles=300, edition=2, seed=1)
    site = registry.make_site(spec, corpus)
    return spec, site, list(registry.truth(spec, corpus, BASE))


def test_list_pages_reach_every_article_once_in_order(family):
    spec, site, truth = family
    found = []
    for column in spec.columns:
        urls = WALKERS[spec.cms](site, BASE + column.start_path)
        assert urls == [t["url"] for t in truth if t["section"] == column.name], column.name
        found += urls
    assert found == [t["url"] for t in truth] and len(set(found)) == len(found) == len(site.corpus.entries)


def test_every_article_parses_to_its_truth(family):
    spec, site, truth = family
    for record in truth:
        parsed = parse_article(spec.cms, fetch(site, record["url"]).body, record["url"])
        expected = {k: v for k, v in record.items() if k not in ("change", "site", "section")}
        assert parsed == expected, record["url"]
        assert record["site"] == spec.name and record["section"] == record["column_name"]


def test_truth_fields_are_visible_text_of_the_page(family):
    """Each truth value is in the page as a reader sees it (comments and markup stripped)."""
    spec, site, truth = family
    for record in truth[:120]:
        raw = fetch(site, record["url"]).body
        visible = lxml.html.fromstring(decode(raw)).xpath("//body")[0].text_content()
        values = [record["title"], record["published"][:10], record["site_id_code"], *record["breadcrumb"]]
        values += [p for p in record["body_text"].split("\n\n")] + [a["name"] for a in record["attachments"]]
        values += [record["source"]] if record["source"] else []
        values += list(record.get("xxgk", {}).values())
        for value in values:
            assert value in visible, (record["url"], value)


def test_media_answer_and_icons_are_not_photos(family):
    spec, site, truth = family
    with_images = [r for r in truth if r["images"]][:10]
    with_files = [r for r in truth if r["attachments"]][:10]
    assert with_images and with_files
    for record in with_images:
        for image in record["images"]:
            res = fetch(site, image["url"])
            assert res.content_type == "image/jpeg" and res.body[:2] == b"\xff\xd8"
            assert not image["url"][len(BASE):].startswith("/images/")
    for record in with_files:
        for attachment in record["attachments"]:
            res = fetch(site, attachment["url"])
            ext = attachment["name"].rsplit(".", 1)[1]
            assert res.body.startswith(b"%PDF-" if ext == "pdf" else b"\xd0\xcf\x11\xe0"), attachment
    for icon in ("/images/ewm.png", "/images/share_wx.png"):
        res = fetch(site, BASE + icon)
        assert res.content_type == "image/png" and res.body.startswith(b"\x89PNG\r\n\x1a\n")


TRAP_MARKS = {
    # (pattern in the page, what it shows) — every family must show each trap somewhere in 300 articles
    "regeneration PubDate": lambda r, t: re.search(r'name="PubDate" content="(\d{4}-\d\d-\d\d)', t).group(1)
    > r["published"][:10],
    "hidden box": lambda r, t: 'style="display:none">' in t and "wx-share" in t,
    "commented source": lambda r, t: re.search(r"<!--\s*<span[^>]*>(信息)?来源：", t) is not None,
    "empty source": lambda r, t: r["source"] is None,
    "source is the site name": lambda r, t: r["source"] == r["site_name"],
    "meta source is only the site name": lambda r, t: r["source"] not in (None, r["site_name"])
    and f'name="ContentSource" content="{r["site_name"]}"' in t,
    "stale date alt": lambda r, t: any(re.fullmatch(r"20\d\d-?\d\d-?\d\d", i["alt"]) for i in r["images"]),
    "QR code and share icons": lambda r, t: "/images/ewm.png" in t and "/images/share_wx.png" in t,
    "body revealed by a script": lambda r, t: 'id="zoom" style="display:none"' in t
    or 'id="Zoom" style="display:none"' in t or "v-cloak>" in t,
    "attachment": lambda r, t: bool(r["attachments"]),
    "caption": lambda r, t: any(i["caption"] for i in r["images"]),
}


def test_every_family_sets_every_trap(family):
    spec, site, truth = family
    seen = {name: 0 for name in TRAP_MARKS}
    for record in truth:
        page = decode(fetch(site, record["url"]).body)
        for name, check in TRAP_MARKS.items():
            seen[name] += bool(check(record, page))
    assert all(seen.values()), {k: v for k, v in seen.items() if not v}


def test_xxgk_table_disagrees_with_the_meta_tags():
    spec = registry.site_spec("yutai")
    corpus = registry.make_corpus(spec, articles=200)
    site = registry.make_site(spec, corpus)
    later = dated = 0
    for record in registry.truth(spec, corpus):
        table = record["xxgk"]
        assert record["published"] == table.get("生成日期", table.get("发布日期"))
        assert set(table) >= {"索引号", "发布机构", "文号"} and len({"生成日期", "发布日期"} & set(table)) == 1
        page = decode(fetch(site, BASE + record["url"]).body)
        later += re.search(r'name="PubDate" content="([^"]+)"', page).group(1)[:10] > record["published"]
        dated += "成文日期" in table and table["成文日期"] < record["published"]
    assert later > 20 and dated > 20
