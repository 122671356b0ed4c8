"""The Datasette app in-process: search page, article page, metadata, canned queries."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import sqlite3
from urllib.parse import quote

import lxml.html
import pytest

from archive.catalogue.sqlite import connect
from replica.synthetic_catalogue import build_synthetic_catalogue
from archive.web.app import build_datasette
from archive.web.prepare import prepare_catalogue
from tests.test_web_media import ARTICLE_URL, build_archive

REPLAY = "http://127.0.0.1:8090"


class App:
    """A Datasette app over one catalogue, fetched through its in-process client."""

    def __init__(self, catalogue, replay=REPLAY):
        prepare_catalogue(catalogue)
        self.catalogue = catalogue
        self.datasette = build_datasette(catalogue, replay=replay)

    def get(self, path: str):
        async def fetch():
            return await self.datasette.client.get(path)

        return asyncio.run(fetch())

    def request(self, method: str, path: str):
        async def fetch():
            return await self.datasette.client.request(method, path)

        return asyncio.run(fetch())

    def page(self, path: str, status: int = 200):
        response = self.get(path)
        assert response.status_code == status, response.text[:2000]
        return response, lxml.html.fromstring(response.text)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    path = tmp_path_factory.mktemp("web") / "catalog.sqlite"
    build_synthetic_catalogue(path, 80)
    return App(path)


@pytest.fixture
def archived(tmp_path):
    built = build_archive(tmp_path / "data")
    return App(tmp_path / "data" / "catalog.sqlite"), built


def articles_containing(catalogue, word: str) -> set[int]:
    """Articles whose current title, body, image captions or attachment names contain `word`."""
    conn = sqlite3.connect(catalogue)
    found = set()
    for article, title, body, images, attachments in conn.execute(
            "SELECT a.id, v.title, v.body_text, v.images, v.attachments FROM articles a"
            " JOIN versions v ON v.id = a.current_version WHERE a.status = 'live'"):
        media = [str(entry.get(key) or "") for entry in json.loads(images) for key in ("alt", "caption")]
        media += [str(entry.get("name") or "") for entry in json.loads(attachments)]
        if any(word in (text or "") for text in [title, body, *media]):
            found.add(article)
    conn.close()
    return found


def test_search_two_character_word_finds_every_matching_article(synthetic):
    expected = articles_containing(synthetic.catalogue, "化工")
    assert expected
    response, doc = synthetic.page("/-/search?q=" + quote("化工"))
    assert int(doc.get_element_by_id("result-count").get("data-total")) == len(expected)
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    hits = doc.find_class("hit")
    assert len(hits) == 20
    assert all("<mark>化工</mark>" in lxml.html.tostring(hit, encoding="unicode") for hit in hits)
    assert all(re.fullmatch(r"/-/article/\d+", hit.find(".//a").get("href")) for hit in hits)
    found, page = set(), 1
    while True:
        body = synthetic.get(f"/-/search.json?q={quote('化工')}&page={page}").json()
        found |= {hit["article_id"] for hit in body["hits"]}
        if not body["hits"]:
            break
        page += 1
    assert found == expected


def test_search_filters_and_order(synthetic):
    _, doc = synthetic.page("/-/search?q=" + quote("工业强市") + "&flag=hijacked_city_name")
    titles = [hit.find(".//a").text_content() for hit in doc.find_class("hit")]
    assert len(titles) == 1 and "攻坚五问" in titles[0]
    body = synthetic.get("/-/search.json?q=" + quote("化工") + "&source=" + quote("市发改局") + "&order=date").json()
    assert body["hits"] and all("市发改局" in hit["source"] for hit in body["hits"])
    dates = [hit["published"] for hit in body["hits"]]
    assert dates == sorted(dates, reverse=True)
    body = synthetic.get("/-/search.json?q=" + quote("化工") + "&since=2030-01-01").json()
    assert body["total"] == 0


def test_search_input_is_escaped_and_bad_filters_explained(synthetic):
    hostile = '"><script>alert(1)</script>化工'
    response = synthetic.get("/-/search?q=" + quote(hostile) + "&source=" + quote("<img src=x onerror=alert(1)>"))
    assert "<script>alert(1)" not in response.text and "<img src=x" not in response.text
    assert "&lt;script&gt;" in response.text
    response, doc = synthetic.page("/-/search?q=" + quote("化工") + "&since=yesterday", status=400)
    assert "yesterday" in doc.find_class("error-box")[0].text_content()
    assert synthetic.get("/-/search.json?q=%20%2C").status_code == 400
    _, doc = synthetic.page("/-/search")
    assert not doc.find_class("hit") and doc.forms[0].get("action") == "/-/search"
    # Over 200 characters, a query was cut silently: an exclusion past the cut was dropped.
    long = "化工 " + "园区 " * 66 + "-官桥"
    response = synthetic.get("/-/search.json?q=" + quote(long))
    assert response.status_code == 400 and "at most 200" in response.json()["error"]
    response, doc = synthetic.page("/-/search?q=化工&source=" + quote("来" * 201), status=400)
    assert "source is 201 characters long" in doc.find_class("error-box")[0].text_content()


def test_index_database_and_menu_lead_to_search(synthetic):
    _, doc = synthetic.page("/")
    assert doc.forms[0].get("action") == "/-/search"
    assert any(a.get("href") == "/-/search" for a in doc.iter("a"))  # the navigation menu
    _, doc = synthetic.page("/catalog")
    assert any(form.get("action") == "/-/search" for form in doc.forms)


def test_metadata_hides_internal_tables_and_labels_the_rest(synthetic):
    tables = {table["name"]: table for table in synthetic.get("/catalog.json").json()["tables"]}
    hidden = {name for name, table in tables.items() if table["hidden"]}
    assert {"ingested", "search_fts", "search_docs", "search_queue", "search_meta"} <= hidden
    assert not {"articles", "versions", "captures", "crawls", "withdrawals"} & hidden
    _, doc = synthetic.page("/catalog/web_articles")
    assert "文章 Articles" in doc.find(".//h1").text_content()


def test_web_articles_view_facets_by_source_and_year(synthetic):
    body = synthetic.get("/catalog/web_articles.json?_facet=year&_facet=source&_size=1").json()
    years = {item["value"]: item["count"] for item in body["facet_results"]["year"]["results"]}
    conn = sqlite3.connect(synthetic.catalogue)
    expected = dict(conn.execute("SELECT substr(published, 1, 4), count(*) FROM versions GROUP BY 1"))
    assert years == expected
    assert body["facet_results"]["source"]["results"]


def test_canned_queries(archived):
    app, built = archived
    conn = connect(app.catalogue)
    conn.execute("INSERT INTO versions (article_id, version, content_hash, title, published, body_text, first_seen,"
                 " last_seen, crawl_id, capture_id, changed_fields) SELECT article_id, 2, 'h2', title || '（更新）',"
                 " published, body_text, '2026-02-01T00:00:00Z', '2026-02-01T00:00:00Z', crawl_id, capture_id,"
                 " '[\"title\"]' FROM versions WHERE id = 1")
    conn.execute("INSERT INTO withdrawals (article_id, crawl_id, detected, how) VALUES (2, ?, ?, '404')",
                 ("20260101T000000000Z", "2026-03-01T00:00:00Z"))
    conn.commit()
    conn.close()
    app = App(app.catalogue)
    rows = app.get("/catalog/edited.json?_shape=array").json()
    assert [(row["article_id"], row["version"]) for row in rows] == [(built["article"], 2)]
    rows = app.get("/catalog/withdrawn.json?_shape=array").json()
    assert [(row["article_id"], row["how"]) for row in rows] == [(2, "404")]
    rows = app.get("/catalog/new_this_month.json?_shape=array&month=2026-01").json()
    assert {row["article_id"] for row in rows} == {1, 2}
    assert app.get("/catalog/new_this_month.json?_shape=array&month=1999-01").json() == []


def test_article_page_is_sanitized_with_archived_media_and_replay(archived):
    app, built = archived
    response, doc = app.page(f"/-/article/{built['article']}")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    # Datasette's own inline script (it closes an open menu) may run, by its hash; the archived body's may not.
    raw = response.text
    inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", raw, re.S)
    assert inline, "Datasette's pages carry an inline script"
    for body_text in inline:
        digest = base64.b64encode(hashlib.sha256(body_text.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert doc.get_element_by_id("article-title").text_content() == "官桥镇召开化工会议"
    body = doc.get_element_by_id("article-body")
    assert "官桥镇召开化工会议。" in body.text_content()
    assert body.findall(".//script") == [] and body.findall(".//iframe") == []
    for element in body.iter():
        assert not [name for name in element.attrib if name.startswith("on")]
    assert [img.get("src") for img in body.iter("img")] == [f"/-/media/{built['captures']['jpeg_gzip']}"]
    hrefs = [a.get("href") for a in body.iter("a")]
    assert hrefs == [None, "/-/article/2"]
    attachments = [a.get("href") for a in doc.find_class("attachments")[0].iter("a")]
    assert attachments == [f"/-/media/{built['captures']['png']}"]
    replay = doc.get_element_by_id("replay-link").get("href")
    assert replay == f"{REPLAY}/archive/20260101000000/{ARTICLE_URL}"
    assert "pwned" not in response.text  # neither the script nor the handler survives, even as text
    flags = [flag.get("title") for flag in doc.find_class("flag")]
    assert flags == ["injected_script"]


def test_article_versions_and_diff(archived):
    app, built = archived
    conn = connect(app.catalogue)
    conn.execute(
        "INSERT INTO versions (article_id, version, content_hash, title, published, source, body_text, body_html,"
        " images, attachments, flags, changed_fields, first_seen, last_seen, crawl_id, capture_id)"
        " SELECT article_id, 2, 'h2', '官桥镇召开化工园区会议', published, source, body_text || '\n\n新增段落。',"
        " body_html || '<p>新增段落。</p>', images, attachments, '[]', '[\"title\", \"body_text\"]',"
        " '2026-02-01T00:00:00.000000Z', '2026-02-01T00:00:00.000000Z', crawl_id, capture_id FROM versions WHERE id = 1")
    conn.execute("UPDATE articles SET current_version = (SELECT max(id) FROM versions) WHERE id = ?",
                 (built["article"],))
    conn.commit()
    conn.close()
    app = App(app.catalogue)
    _, doc = app.page(f"/-/article/{built['article']}")
    assert doc.get_element_by_id("article-title").text_content() == "官桥镇召开化工园区会议"
    assert len(doc.find_class("versions")[0].findall(".//tbody/tr")) == 2
    diff = lxml.html.tostring(doc.get_element_by_id("changes").getparent(), encoding="unicode")
    assert "<ins>园区</ins>" in diff
    assert "新增段落。" in doc.find_class("diff-added")[0].text_content()
    _, old = app.page(f"/-/article/{built['article']}?version=1")
    assert old.get_element_by_id("article-title").text_content() == "官桥镇召开化工会议"
    assert "not the current version" in old.text_content()
    app.page(f"/-/article/{built['article']}?version=9", status=404)
    app.page(f"/-/article/{built['article']}?version=x", status=400)
    app.page(f"/-/article/{built['article']}?version=%C2%B2", status=400)  # '²': isdigit(), and int() refuses
    app.page(f"/-/article/{built['article']}/proof.wacz?version=%C2%B2", status=400)
    app.page("/-/article/999999", status=404)


@pytest.mark.parametrize("path", ["/article/1/versions/9/diff", "/catalog/no_such_table/1/x", "/a/b/c/d",
                                  "/catalog/no_such_table.json"])
def test_a_page_that_does_not_exist_is_a_404_not_a_500(synthetic, path):
    """Datasette's default error handler prints a rich traceback when rich is installed (it is: frictionless
    needs it), which fails outside an except block: every unknown deep path was a 500."""
    response = synthetic.get(path)
    assert response.status_code == 404, (path, response.status_code, response.text[:300])


@pytest.mark.parametrize("query", ["crawl=%01", "site=a%01b", "section=%00", "crawl=%00", "q=%E5%B7%A5%01",
                                   "since=%00"])
def test_a_feed_asked_for_with_a_control_character_is_a_400(synthetic, query):
    response = synthetic.get(f"/-/feeds/changes.atom?{query}")
    assert response.status_code == 400, response.text[:500]
    assert "control characters" in response.text


def test_a_feed_limit_that_is_a_superscript_digit_is_a_400(synthetic):
    response = synthetic.get("/-/feeds/changes.atom?limit=%C2%B2")
    assert response.status_code == 400, response.text[:300]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_the_archive_pages_answer_reads_only(synthetic, method):
    for path in ("/-/search?q=化工", "/-/search.json?q=化工", "/-/article/1", "/-/feeds/changes.atom"):
        response = synthetic.request(method, path)
        assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD", (method, path)
    assert synthetic.get("/-/article/1").status_code == 200


def test_a_feed_made_from_the_host_asked_for_varies_by_it(synthetic):
    """Its links follow the request's Host: a shared cache must not hand one host's feed to another."""
    response = synthetic.get("/-/feeds/changes.atom?limit=1")
    assert response.status_code == 200 and "Host" in response.headers["vary"].split(", ")


@pytest.mark.parametrize("path", ["/catalog/web_articles", "/catalog/no_such_table", "/-/feeds/changes.atom?since=x",
                                  "/-/article/999999", "/"])
def test_every_page_says_nosniff(synthetic, path):
    assert synthetic.get(path).headers.get("x-content-type-options") == "nosniff", path
