"""The family sites over real HTTP on 127.0.0.1: POST to dataproxy.jsp, the JSON API, caching headers,
gzip, removals, wire faults, and the replica started in a child process with --site."""

from __future__ import annotations

import gzip
import http.client
import json
import re
from urllib.parse import urlencode, urlsplit

import pytest

from replica import registry
from replica.launch import ReplicaProcess
from replica.server import ReplicaServer

FAMILY_SITES = [name for name in registry.site_names() if registry.site_spec(name).cms != "trs"]
DATAPROXY = "/module/web/jpage/dataproxy.jsp"
FORM_TYPE = {"Content-Type": "application/x-www-form-urlencoded"}


def request(port: int, method: str, target: str, body: bytes | str | None = None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        return response, response.read()
    finally:
        conn.close()


@pytest.fixture(scope="module", params=FAMILY_SITES)
def served(request):
    with ReplicaServer(site=request.param, articles=200, edition=2) as server:
        yield server, list(registry.truth(server.spec, server.corpus))


def test_start_page_robots_and_caching_headers(served):
    server, truth = served
    assert server.section_url == server.base_url + server.spec.start_path
    assert list(server.column_urls.values()) == [server.base_url + c.start_path for c in server.spec.columns]
    response, body = request(server.port, "GET", server.spec.start_path)
    assert response.status == 200 and response.getheader("Transfer-Encoding") == "chunked"
    assert response.getheader("Content-Type").endswith("charset=GBK" if server.spec.charset == "gbk" else "utf-8")
    robots, text = request(server.port, "GET", "/robots.txt")
    assert robots.status == 200 and text.startswith(b"User-agent: *")
    for path in (server.spec.start_path, truth[0]["url"]):
        first, body = request(server.port, "GET", path)
        etag, modified = first.getheader("ETag"), first.getheader("Last-Modified")
        assert etag and modified
        assert request(server.port, "GET", path, headers={"If-None-Match": etag})[0].status == 304
        assert request(server.port, "GET", path, headers={"If-Modified-Since": modified})[0].status == 304
        zipped, zbody = request(server.port, "GET", path, headers={"Accept-Encoding": "gzip"})
        assert zipped.getheader("Content-Encoding") == "gzip" and gzip.decompress(zbody) == body
        head, empty = request(server.port, "HEAD", path)
        assert head.status == 200 and empty == b""


def test_removed_articles_answer_404_or_redirect_home(served):
    server, _ = served
    removed = list(registry.removed(server.spec, server.corpus))
    assert removed
    for record in removed:
        response, _ = request(server.port, "GET", record["url"])
        if record["how"] == "404":
            assert response.status == 404
        else:
            assert response.status == 302 and response.getheader("Location") == f"http://127.0.0.1:{server.port}/"
    assert request(server.port, "GET", "/")[0].status == 200


def test_post_is_refused_off_the_data_endpoints(served):
    server, truth = served
    response, _ = request(server.port, "POST", truth[0]["url"], "a=1", FORM_TYPE)
    assert response.status == 405
    too_big = request(server.port, "POST", DATAPROXY, "a=" + "x" * 70_000, FORM_TYPE)[0]
    assert too_big.status == 413


def test_hanweb_dataproxy_by_post_walks_a_column():
    with ReplicaServer(site="weishan", articles=400) as server:
        spec = server.spec
        for column in spec.columns:
            _, page = request(server.port, "GET", column.start_path)
            text = page.decode("utf-8")
            declared = re.search(r"var param_\d+ = \{([^}]*)\};", text).group(1)
            form = {k: a or b for k, a, b in re.findall(r"(\w+):(?:'([^']*)'|(\d+))", declared)}
            assert set(form) == {"col", "appid", "webid", "path", "columnid", "sourceContentType", "unitid", "webname",
                                 "permissiontype"}
            total = int(re.search(r"totalRecord:(\d+)", text).group(1))
            hrefs = re.findall(r"<li><a href='([^']+)'", text)
            while len(hrefs) < total:
                query = urlencode({"startrecord": len(hrefs) + 1, "endrecord": len(hrefs) + 45, "perpage": 15})
                response, answer = request(server.port, "POST", f"{DATAPROXY}?{query}", urlencode(form), FORM_TYPE)
                assert response.status == 200 and response.getheader("Content-Type") == "text/xml;charset=UTF-8"
                assert response.getheader("ETag") is None  # a generated answer
                xml = answer.decode("utf-8")
                assert f"<totalrecord>{total}</totalrecord>" in xml and f"<totalpage>{-(-total // 15)}</totalpage>" in xml
                hrefs += re.findall(r"<li><a href='([^']+)'", xml)
            assert hrefs == [r["url"] for r in registry.truth(spec, server.corpus) if r["section"] == column.name]
        # the same fields in a GET query answer the same
        query = urlencode({"startrecord": 46, "endrecord": 90, "perpage": 15, **form})
        by_get = request(server.port, "GET", f"{DATAPROXY}?{query}")[1]
        by_post = request(server.port, "POST", f"{DATAPROXY}?startrecord=46&endrecord=90&perpage=15",
                          urlencode(form), FORM_TYPE)[1]
        assert by_get == by_post and b"<record>" in by_get


def test_json_api_over_http():
    with ReplicaServer(site="sishui", articles=150) as server:
        response, body = request(server.port, "GET", "/api/content/list?channel=xzdt&page=1&size=20",
                                 headers={"Accept-Encoding": "gzip"})
        assert response.status == 200 and response.getheader("Content-Type") == "application/json;charset=UTF-8"
        answer = json.loads(gzip.decompress(body))
        assert answer["page"] == 1 and answer["size"] == 20 and len(answer["list"]) == 20
        assert answer["pages"] == -(-answer["total"] // 20)
        row = answer["list"][0]
        assert request(server.port, "GET", row["url"])[0].status == 200
        bad, body = request(server.port, "GET", "/api/content/list?channel=xzdt&page=-1")
        assert bad.status == 400 and "error" in json.loads(body)
        assert request(server.port, "GET", "/static/js/list.js")[0].status == 200


def test_wire_faults_hit_family_sites_as_their_truth_says():
    rates = {"5xx": 0.25, "429": 0.1, "reset": 0.1}
    with ReplicaServer(site="weishan", articles=120, faults=rates, fault_seed=3) as server:
        truth = list(registry.truth(server.spec, server.corpus, "", server.plan))
        assert any(r["fault"] for r in truth) and any(r["faults"] and not r["fault"] for r in truth)
        for record in truth:
            statuses = []
            for _ in range(3):
                try:
                    statuses.append(request(server.port, "GET", record["url"])[0].status)
                except (ConnectionError, http.client.RemoteDisconnected):
                    statuses.append("reset")
            if record["fault"]:
                assert 200 not in statuses, (record["url"], statuses)
            else:
                assert statuses[-1] == 200 and (statuses[0] == 200) == (not record["faults"]), (record, statuses)
        # list answers only fail transiently: three tries always get through
        column = server.spec.columns[0]
        form = urlencode(server.site.params(column))
        for start in (46, 91):
            target = f"{DATAPROXY}?startrecord={start}&endrecord={start + 44}&perpage=15"
            statuses = []
            for _ in range(3):
                try:
                    statuses.append(request(server.port, "POST", target, form, FORM_TYPE)[0].status)
                except (ConnectionError, http.client.RemoteDisconnected):
                    statuses.append("reset")
            assert 200 in statuses


def test_trs_site_refuses_post_and_is_still_the_default():
    with ReplicaServer(articles=30) as server:
        assert server.spec.name == "tengzhou" and server.section_url.endswith("/xwzx/gyjj/index.html")
        assert request(server.port, "POST", "/xwzx/gyjj/index.html", "a=1", FORM_TYPE)[0].status == 405
        assert request(server.port, "GET", "/xwzx/gyjj/index.html")[0].status == 200


def test_replica_process_serves_a_site_by_name():
    with ReplicaProcess(articles=50, site="sishui") as replica:
        assert replica.section_url == replica.base_url + "/news/xzdt/index.html"
        assert set(replica.column_urls) == {"乡镇动态", "通知公告"}
        port = urlsplit(replica.base_url).port
        for url in replica.column_urls.values():
            assert request(port, "GET", urlsplit(url).path)[0].status == 200
    line = replica.process.args  # the command line asked for the site
    assert "--site" in line and "sishui" in line
    with pytest.raises(Exception, match="tengzhou"):
        ReplicaProcess(site="atlantis")
