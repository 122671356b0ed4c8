"""An article's identity is its canonical key, not its URL: a move of scheme, host or port is the same article."""

from __future__ import annotations

import json
import sqlite3

import pytest

from archive.catalogue import open_catalogue
from archive.catalogue.events import CRAWL_URI, Capture, Metadata, Position
from archive.catalogue.keys import article_key, host_map
from crawler.items import ArticleItem, content_hash
from replica.launch import ReplicaProcess
from tests.conftest import portal_archive

ARTICLES = 120
PATH = "/xwzx/gyjj/202103/t20210315_6187593.html"


@pytest.mark.parametrize("url", [
    "http://www.tengzhou.gov.cn" + PATH,
    "https://www.tengzhou.gov.cn" + PATH,
    "http://tengzhou.gov.cn" + PATH,
    "https://TENGZHOU.gov.cn:443" + PATH,
    "http://www.tengzhou.gov.cn:80" + PATH + "#top",
    "http://www.tengzhou.gov.cn" + PATH + "?utm_source=wechat",
])
def test_scheme_www_default_port_fragment_and_tracking_are_folded(url):
    assert article_key(url, tracking=["utm_source"]) == "cn,gov,tengzhou)" + PATH


def test_query_order_does_not_matter_but_its_values_do():
    a = article_key("http://x.gov.cn/art.jsp?id=1&col=2")
    assert a == article_key("http://x.gov.cn/art.jsp?col=2&id=1")
    assert a != article_key("http://x.gov.cn/art.jsp?col=2&id=3")


def test_hosts_of_a_site_fold_onto_its_canonical_host():
    hosts = host_map("www.tengzhou.gov.cn", ["127.0.0.1", "localhost", "tz.example.org"])
    expected = "cn,gov,tengzhou)" + PATH
    for origin in ("http://127.0.0.1:8123", "http://localhost:9000", "https://tz.example.org"):
        assert article_key(origin + PATH, hosts) == expected
    # A host that is not the site's stays itself.
    assert article_key("http://10.0.0.1:8123" + PATH, hosts) == article_key("http://10.0.0.1:8123" + PATH)


def test_a_non_default_port_is_kept_without_a_host_map():
    assert article_key("http://127.0.0.1:8123/a.html") != article_key("http://127.0.0.1:9000/a.html")


@pytest.mark.e2e
def test_the_same_section_on_another_host_is_not_new_again(tmp_path):
    data = tmp_path / "data"
    with ReplicaProcess(articles=ARTICLES) as replica:
        port = replica.base_url.rsplit(":", 1)[1]
        portal_archive("crawl", "--replica", f"http://127.0.0.1:{port}", "--data", str(data), "--quiet")
        portal_archive("crawl", "--replica", f"http://localhost:{port}", "--data", str(data), "--quiet",
                       "--full", "--recheck", "all")
    changes = [json.loads(line) for line in
               portal_archive("changes", "--data", str(data), "--json").stdout.splitlines()]
    assert len(changes) == ARTICLES and {c["change"] for c in changes} == {"new"}
    conn = sqlite3.connect(data / "catalog.sqlite")
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == ARTICLES
    # The move is recorded on each article: its URL history holds both hosts.
    hosts = {row[0].split("/")[2].split(":")[0] for row in conn.execute("SELECT url FROM article_urls")}
    assert hosts == {"127.0.0.1", "localhost"}
    article_id, = conn.execute("SELECT id FROM articles WHERE key LIKE ?", (f"%{PATH.rsplit('/', 1)[1]}",)).fetchone()
    conn.close()
    shown = json.loads(portal_archive("show", f"http://localhost:{port}{PATH}", "--data", str(data),
                                      "--json").stdout)
    assert shown["article_id"] == article_id
    assert {u["url"] for u in shown["urls"]} == {f"http://127.0.0.1:{port}{PATH}", f"http://localhost:{port}{PATH}"}
    # And the other scheme finds it too.
    assert json.loads(portal_archive("show", f"https://127.0.0.1:{port}{PATH}", "--data", str(data),
                                     "--json").stdout)["article_id"] == article_id


class Crawls:
    """Crawls folded into one catalogue by hand: each a crawl-start naming its host map, then articles."""

    def __init__(self, catalogue) -> None:
        self.catalogue, self.records = catalogue, 0

    def start(self, crawl: str, hosts: dict[str, str], date: str) -> None:
        self.catalogue.apply(Metadata(crawl_id=crawl, record_id=f"<urn:start:{crawl}>", url=CRAWL_URI + crawl,
                                      date=date, concurrent_to=None,
                                      payload={"type": "crawl-start", "settings": {"hosts": hosts}},
                                      position=Position(f"{crawl}.warc.gz", 0, 1)))

    def article(self, crawl: str, origin: str, date: str, **fields) -> None:
        """The article at PATH on `origin`, its image and attachment on `origin` too, unless `fields` say."""
        self.records += 1
        record, url = f"<urn:{self.records}>", origin + PATH
        self.catalogue.apply(Capture(
            crawl_id=crawl, record_id=record, warc_type="response", url=url, date=date, status=200,
            content_type="text/html", location=None, payload_digest=f"sha1:{self.records}", refers_to=None,
            truncated=None, etag=None, last_modified=None, position=Position(f"{crawl}.warc.gz", self.records, 1)))
        item = ArticleItem(url=url, title="工业强市", published="2021-03-15", source="滕州市工信局",
                           body_text="正文", body_html="<p>正文</p>", images=[{"url": origin + "/img/1.jpg"}],
                           attachments=[{"url": origin + "/f/1.pdf", "name": "附件1.pdf"}])
        item.__dict__.update(fields)
        item.content_hash = content_hash(item)
        self.catalogue.apply(Metadata(crawl_id=crawl, record_id=f"<urn:meta:{self.records}>", url=url, date=date,
                                      concurrent_to=record, payload=dict(item.__dict__, type="article"),
                                      position=Position(f"{crawl}.warc.gz", self.records, 1)))
        self.catalogue.commit()

    def versions(self) -> list[tuple[int, list[str] | None]]:
        return [(row["version"], None if row["changed_fields"] is None else json.loads(row["changed_fields"]))
                for row in self.catalogue.all("SELECT version, changed_fields FROM versions ORDER BY version")]


def test_media_reached_through_another_host_of_the_site_is_not_a_new_version(tmp_path, catalogue_url):
    """Two crawls of one portal through two of its hosts (`www.` and bare, a mirror, a replica's ports): the
    page's images and attachments resolve against the host crawled, their URLs differ, nothing else does.
    Each side is folded with the host map of the crawl that saw it."""
    with open_catalogue(tmp_path, catalogue_url) as catalogue:
        crawls = Crawls(catalogue)
        crawls.start("a", host_map("tengzhou.gov.cn", ["127.0.0.1:8001"]), "2024-01-01T00:00:00Z")
        crawls.article("a", "http://127.0.0.1:8001", "2024-01-01T00:00:01Z")
        crawls.start("b", host_map("tengzhou.gov.cn", ["127.0.0.1:8002"]), "2024-02-01T00:00:00Z")
        crawls.article("b", "http://127.0.0.1:8002", "2024-02-01T00:00:01Z")
        crawls.start("c", host_map("tengzhou.gov.cn", ["www.tengzhou.gov.cn"]), "2024-03-01T00:00:00Z")
        crawls.article("c", "https://www.tengzhou.gov.cn", "2024-03-01T00:00:01Z")
        assert crawls.versions() == [(1, None)]
        assert catalogue.scalar("SELECT last_seen FROM versions") == "2024-03-01T00:00:01Z"
        # A real change still is one, its media compared the same way: only the body changed here.
        crawls.article("c", "https://www.tengzhou.gov.cn", "2024-03-02T00:00:00Z", body_text="正文改了")
        # An image that is not the site's own host is another image; a renamed attachment is a change.
        crawls.article("c", "https://www.tengzhou.gov.cn", "2024-03-03T00:00:00Z", body_text="正文改了",
                       images=[{"url": "https://cdn.example.org/img/1.jpg"}])
        crawls.article("c", "https://www.tengzhou.gov.cn", "2024-03-04T00:00:00Z", body_text="正文改了",
                       images=[{"url": "https://cdn.example.org/img/1.jpg"}],
                       attachments=[{"url": "https://www.tengzhou.gov.cn/f/1.pdf", "name": "附件一.pdf"}])
        assert crawls.versions() == [(1, None), (2, ["body_text"]), (3, ["images"]), (4, ["attachments"])]


def test_a_catalogue_of_an_older_layout_asks_for_reindex(tmp_path):
    conn = sqlite3.connect(tmp_path / "catalog.sqlite")
    conn.execute("CREATE TABLE versions (id INTEGER PRIMARY KEY)")  # layout 1 had no catalogue_info
    conn.commit()
    conn.close()
    for args in (("changes",), ("runs",), ("search", "化工"), ("show", "1")):
        result = portal_archive(*args, "--data", str(tmp_path), check=False)
        assert result.returncode == 6, (args, result.stderr)
        assert "reindex" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.e2e
def test_reindex_migrates_an_old_catalogue(crawled, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(crawled["data"], data)
    conn = sqlite3.connect(data / "catalog.sqlite")
    conn.execute("DROP TABLE catalogue_info")  # what a layout-1 catalogue looks like to this version
    conn.commit()
    conn.close()
    assert portal_archive("runs", "--data", str(data), check=False).returncode == 6
    portal_archive("reindex", "--data", str(data))
    runs = portal_archive("runs", "--data", str(data), "--json").stdout.splitlines()
    assert len(runs) == 1
