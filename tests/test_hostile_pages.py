"""Content faults over real HTTP: charset, malformed, redirect loops, traps, oversize, dupes, offsite."""

from __future__ import annotations

import gzip
import http.client
import re
from urllib.parse import urljoin, urlsplit

import lxml.html
import pytest

from replica.faults import FaultPlan
from replica.hostile_html import OFFSITE_LINKS, OFFSITE_TEXT, TRACKING
from replica.server import ReplicaServer
from replica.truth import truth_records
from tests.test_replica_pages import parse_article

OVERSIZE = 200_000
RATES = {"charset": 0.2, "malformed": 0.3, "redirect-loop": 0.1, "trap": 0.3, "oversize": 0.05,
         "dupes": 0.2, "offsite": 0.2}


@pytest.fixture(scope="module")
def server():
    with ReplicaServer(articles=300, faults=RATES, fault_seed=1, oversize_bytes=OVERSIZE) as running:
        yield running


@pytest.fixture(scope="module")
def truth(server):
    return {r["url"]: r for r in truth_records(server.corpus, plan=server.plan)}


def get(server, target, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", target, headers=headers or {})
        response = conn.getresponse()
        return response, response.read()
    finally:
        conn.close()


def with_faults(truth, *kinds, without=()):
    return [r for r in truth.values() if all(k in r["faults"] for k in kinds) and not set(without) & set(r["faults"])]


def test_pages_a_crawler_can_archive_parse_to_their_truth(server, truth):
    """Every article without a breaking fault reads back, through lxml, as its truth says."""
    checked = 0
    for url, record in truth.items():
        if record["fault"] is not None:
            continue
        response, body = get(server, url)
        assert response.status == 200
        declared = response.getheader("Content-Type").rsplit("=", 1)[1].lower()
        assert declared == record["charset"]["declared"]
        used = record["charset"]["used"]
        fixed = body.replace(b"charset=" + declared.encode(), b"charset=" + used.encode(), 1)
        parsed = parse_article(fixed, url)
        parsed["charset"] = record["charset"]
        assert parsed == {k: v for k, v in record.items() if k not in ("change", "fault", "faults", "site", "section")}, url
        checked += 1
    assert checked > 200


def test_charset_lies_in_header_and_meta(server, truth):
    records = with_faults(truth, "charset")
    assert {r["charset"]["used"] for r in records} == {"utf-8", "gbk"}
    for record in records:
        response, body = get(server, record["url"])
        if record["fault"]:
            continue
        declared, used = record["charset"]["declared"], record["charset"]["used"]
        assert declared != used
        assert response.getheader("Content-Type") == ("text/html; charset=GBK" if declared == "gbk"
                                                      else "text/html; charset=utf-8")
        assert f'charset={declared}"'.encode() in body[:1500]
        assert record["title"] in body.decode(used)
        assert record["title"] not in body.decode(declared, "replace")  # believing the declaration garbles it
        if used == "gbk":
            with pytest.raises(UnicodeDecodeError):
                body.decode("utf-8")


def test_malformed_pages_are_tag_soup_with_the_text_intact(server, truth):
    records = with_faults(truth, "malformed", without=("redirect-loop", "oversize"))
    assert len(records) > 50
    templates = set()
    for record in records:
        _, body = get(server, record["url"])
        text = body.decode(record["charset"]["used"])
        templates.add("old" if "<HTML>" in text else "current")
        assert "\x00" in text and text.endswith("鲁公网安备 3704")  # NUL bytes, cut off in the footer
        assert "</html>" not in text.lower() and "</body>" not in text.lower()
        assert "</p>" not in text.split("<!--TRS正文结束-->")[0].split('class="TRS_Editor"')[-1]
        assert re.search(r'class=="top-date"|class=top"', text)  # broken attributes
        doc = lxml.html.fromstring(text)
        assert record["title"] in doc.text_content()
    assert templates == {"old", "current"}


def test_redirect_loops_go_round_forever(server, truth):
    records = with_faults(truth, "redirect-loop")
    assert records and all(r["fault"] == "redirect-loop" for r in records)
    styles = set()
    for record in records:
        path, style = record["url"], server.plan.loop_style(record["url"])
        styles.add(style)
        target, seen = path, []
        for _ in range(6):
            response, _ = get(server, target)
            assert response.status == 302
            location = response.getheader("Location")
            assert location.startswith(server.base_url)
            target = location[len(server.base_url):]
            seen.append(target)
        if style == "pingpong":
            assert seen == [path + "?loop=1", path] * 3
        else:
            assert seen == [f"{path}?x={n}" for n in range(1, 7)]
        assert get(server, path + "?utm_source=wx")[0].status == 302
    assert styles == {"pingpong", "growing"}


def test_pagination_trap_answers_every_page_and_links_the_next(server):
    pages = server.site.pages
    _, last = get(server, f"/xwzx/gyjj/index_{pages - 1}.html")
    assert f'<a href="./index_{pages}.html">下一页</a>'.encode() in last
    for n in (pages, pages + 1, 999, 123456789):
        response, body = get(server, f"/xwzx/gyjj/index_{n}.html")
        assert response.status == 200
        assert f'createPageHTML({n + 2}, {n}, "index", "html")'.encode() in body
        assert f'<a href="./index_{n + 1}.html">下一页</a>'.encode() in body
        assert body.count(b'<li><a href="./') >= 20  # the last real page's rows again
    assert get(server, "/xwzx/gyjj/index_0.html")[0].status == 404


def test_calendar_trap_is_linked_and_endless(server):
    _, first = get(server, "/xwzx/gyjj/index.html")
    link = re.search(rb'<a href="(\./calendar/\d{4}/\d\d/\d\d\.html)">', first).group(1).decode()
    path = urljoin("/xwzx/gyjj/index.html", link)
    for _ in range(40):  # forty days onwards, and it keeps going
        response, body = get(server, path)
        assert response.status == 200 and b'<li><a href' not in body
        path = re.search(rb'<a href="([^"]+)">\xe5\x90\x8e\xe4\xb8\x80\xe5\xa4\xa9</a>', body).group(1).decode()
    assert get(server, "/xwzx/gyjj/calendar/2027/11/27.html")[0].status == 200
    assert get(server, "/xwzx/gyjj/calendar/2027/02/30.html")[0].status == 404
    lists = ["/xwzx/gyjj/index.html"] + [f"/xwzx/gyjj/index_{n}.html" for n in range(1, server.site.pages)]
    linked = sum(b"./calendar/" in get(server, p)[1] for p in lists)
    assert 1 <= linked < len(lists)  # index.html always, others at the trap rate


def test_oversize_bodies_exceed_the_limit_even_gzipped(server, truth):
    records = with_faults(truth, "oversize", without=("redirect-loop",))
    assert records and all(r["fault"] == "oversize" for r in records)
    for record in records[:3]:
        response, body = get(server, record["url"])
        assert response.status == 200 and len(body) > OVERSIZE
        assert record["title"] in body.decode(record["charset"]["used"], "replace")
        response, zipped = get(server, record["url"], {"Accept-Encoding": "gzip"})
        assert response.getheader("Content-Encoding") == "gzip" and len(zipped) > OVERSIZE * 0.7
        assert gzip.decompress(zipped) == body
    with ReplicaServer(articles=40, faults={"oversize": 1.0}) as big:  # the default: over 3 MB
        _, body = get(big, big.corpus.entries[0].path)
        assert len(body) > 3 * 1024 * 1024


def _list_links(server):
    links = []
    for n in range(server.site.pages):
        _, body = get(server, "/xwzx/gyjj/index.html" if n == 0 else f"/xwzx/gyjj/index_{n}.html")
        doc = lxml.html.fromstring(body.decode("utf-8"))
        links += [a.get("href") for a in doc.xpath('//ul[@class="list-ul"]/li/a')]
    return links  # as written: urljoin would drop an empty "#"


def test_dupes_link_articles_with_tracking_parameters_and_fragments(server, truth):
    local = [href for href in _list_links(server) if href.startswith("./")]
    canonical = [urljoin(server.section_url, href.split(".html")[0] + ".html") for href in local]
    canonical = [urlsplit(u).path for u in canonical]
    assert set(canonical) == set(truth)  # every article still listed, no other local page
    for record in truth.values():
        count = canonical.count(record["url"])
        assert count == (2 if "dupes" in record["faults"] else 1)
        tails = [href.split(".html", 1)[1] for href, path in zip(local, canonical) if path == record["url"]]
        if "dupes" in record["faults"]:
            assert all(tail in TRACKING for tail in tails) and len(set(tails)) == 2
        else:
            assert tails == [""]
    record = next(r for r in with_faults(truth, "dupes", without=("redirect-loop",)))
    _, plain = get(server, record["url"])
    assert get(server, record["url"] + "?utm_source=wx&spm=a.b.c")[1] == plain


def test_offsite_links_in_lists_and_bodies_are_links_only(server, truth):
    links = [urljoin(server.section_url, href) for href in _list_links(server)]
    foreign = {urlsplit(u).hostname for u in links} - {"127.0.0.1"}
    assert foreign == {"www.example.com", "evil.example", "10.0.0.1"}
    records = with_faults(truth, "offsite", without=("redirect-loop", "oversize", "malformed"))
    assert records
    for record in records[:5]:
        assert record["body_text"].endswith(OFFSITE_TEXT)
        _, body = get(server, record["url"])
        doc = lxml.html.fromstring(body.decode(record["charset"]["used"]))
        hrefs = doc.xpath("//a/@href")
        for href, _ in OFFSITE_LINKS:
            assert href in hrefs
    clean = with_faults(truth, without=("offsite",))[0]
    _, body = get(server, clean["url"])
    assert b"169.254.169.254" not in body and b"evil.example" not in body


def test_zero_rates_leave_pages_byte_identical(truth):
    with ReplicaServer(articles=300) as normal, ReplicaServer(articles=300, faults={k: 0 for k in RATES}) as zero:
        for path in ["/xwzx/gyjj/index.html", "/xwzx/gyjj/index_14.html", *list(truth)[:30]]:
            a, b = get(normal, path), get(zero, path)
            assert a[0].status == b[0].status and a[1] == b[1]
        assert get(zero, "/xwzx/gyjj/index_15.html")[0].status == 404
        assert get(zero, "/xwzx/gyjj/calendar/2026/03/31.html")[0].status == 404
    assert not FaultPlan({k: 0 for k in RATES}).active
