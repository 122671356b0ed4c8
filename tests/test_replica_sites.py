"""The site registry and its commands: `replica sites`, --site, editions, determinism, GBK (no HTTP)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from archive.cli import main
from crawler.items import TRUTH_FIELDS
from replica import registry
from replica.errors import ReplicaConfigError
from replica.faults import REQUEST_KINDS, FaultPlan
from replica.server import ReplicaServer

FAMILY_SITES = [name for name in registry.site_names() if registry.site_spec(name).cms != "trs"]


def build(name: str, articles: int = 300, edition: int = 1, seed: int = 1, plan: FaultPlan | None = None):
    spec = registry.site_spec(name)
    corpus = registry.make_corpus(spec, articles, edition, seed)
    return spec, corpus, registry.make_site(spec, corpus, plan)


def test_sites_json_lists_every_family_with_its_start_path():
    result = CliRunner().invoke(main, ["replica", "sites", "--json"])
    assert result.exit_code == 0, result.output
    sites = json.loads(result.output)
    assert isinstance(sites, list) and [s["name"] for s in sites] == registry.site_names()
    assert sites[0]["name"] == registry.DEFAULT_SITE == "tengzhou"
    assert {s["cms"] for s in sites} == {"trs", "hanweb", "xxgk", "json"}
    for site in sites:
        assert all(isinstance(site[k], str) and site[k] for k in ("name", "cms", "start_path", "site_name", "city"))
        assert site["start_path"].startswith("/") and site["start_path"] == site["columns"][0]["start_path"]
        assert len(site["site_id_code"]) == 10 and site["site_id_code"].isdigit()
        spec, _, served = build(site["name"], articles=30)
        for column in site["columns"]:
            assert served.resolve(column["start_path"]).status == 200, column
    assert any(len(s["columns"]) >= 2 for s in sites)
    assert len({s["city"] for s in sites}) == len(sites) and len({s["site_id_code"] for s in sites}) == len(sites)
    assert "gbk" in {s["charset"] for s in sites if s["cms"] != "trs"}
    plain = CliRunner().invoke(main, ["replica", "sites"])
    assert plain.exit_code == 0 and all(s["name"] in plain.output and s["start_path"] in plain.output for s in sites)


def test_an_unknown_site_is_a_usage_error_naming_the_sites():
    for verb in ("truth", "serve"):
        result = CliRunner().invoke(main, ["replica", verb, "--site", "atlantis"])
        assert result.exit_code == 2, result.output
        assert all(name in result.output for name in registry.site_names())
    with pytest.raises(ReplicaConfigError, match="weishan"):
        ReplicaServer(site="atlantis")
    with pytest.raises(ReplicaConfigError, match="tengzhou"):
        registry.site_spec("")


def test_bad_sizes_are_config_errors_on_every_site():
    for name in FAMILY_SITES:
        spec = registry.site_spec(name)
        for articles, edition in ((0, 1), (10, 0), (10, 101), (300_000, 1)):
            with pytest.raises(ReplicaConfigError):
                registry.make_corpus(spec, articles, edition)


@pytest.mark.parametrize("name", FAMILY_SITES)
def test_truth_cli_prints_every_field(name):
    args = ["replica", "truth", "--site", name, "--articles", "60", "--edition", "2"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    spec, corpus, _ = build(name, 60, 2)
    assert records == list(registry.truth(spec, corpus))
    assert len(records) == len(corpus.entries) and {r["change"] for r in records} >= {None, "new", "edited"}
    extra = {"site", "section", "change"} | ({"xxgk"} if spec.cms == "xxgk" else set())
    for record in records:
        assert set(record) == set(TRUTH_FIELDS) | extra
        assert record["site"] == name and record["section"] in [c.name for c in spec.columns]
    removed = CliRunner().invoke(main, [*args, "--removed", "--base-url", "http://127.0.0.1:9/"])
    lines = [json.loads(line) for line in removed.output.splitlines()]
    assert lines and all(r["how"] in ("404", "redirect") and r["url"].startswith("http://127.0.0.1:9/") for r in lines)


def test_truth_with_faults_names_only_wire_faults_on_family_sites():
    args = ["replica", "truth", "--site", "weishan", "--articles", "200", "--fault", "all=0.3", "--fault-seed", "2"]
    result = CliRunner().invoke(main, args)
    records = [json.loads(line) for line in result.output.splitlines()]
    assert all(set(r["faults"]) <= set(REQUEST_KINDS) for r in records)
    assert any(r["fault"] for r in records) and any(r["faults"] and r["fault"] is None for r in records)
    spec, corpus, _ = build("weishan", 200)
    assert records == list(registry.truth(spec, corpus, "", FaultPlan({"all": 0.3}, 2)))
    plain = CliRunner().invoke(main, ["replica", "truth", "--site", "weishan", "--articles", "20"])
    assert "fault" not in json.loads(plain.output.splitlines()[0])


def _everything(site, corpus) -> list[bytes]:
    """The bytes of every list answer, article and media file of a site, in a fixed order."""
    spec, out = site.spec, []
    for column in spec.columns:
        out.append(site.resolve(column.start_path).body)
    if spec.cms == "hanweb":
        form = site.params(spec.columns[0])
        out.append(site.resolve("/module/web/jpage/dataproxy.jsp", "startrecord=46&endrecord=90&perpage=15", "h",
                                form).body)
    if spec.cms == "json":
        out.append(site.resolve("/api/content/list", "channel=xzdt&page=3&size=20").body)
    if spec.cms == "xxgk":
        out.append(site.resolve("/xxgk/zcwj/index_3.html").body)
    for record in registry.truth(spec, corpus):
        out.append(site.resolve(record["url"]).body)
        for media in record["images"] + record["attachments"]:
            path, _, query = media["url"].partition("?")
            out.append(site.resolve(path, query).body)
    return out


@pytest.mark.parametrize("name", FAMILY_SITES)
def test_same_seed_same_bytes(name):
    _, corpus, site = build(name, 120, 2)
    _, again_corpus, again = build(name, 120, 2)
    assert _everything(site, corpus) == _everything(again, again_corpus)
    _, other_corpus, _ = build(name, 120, 2, seed=2)
    assert [e.docid for e in other_corpus.entries] != [e.docid for e in corpus.entries]


def test_truth_is_the_same_in_another_process():
    """Nothing depends on Python's per-process hash seed: a child process prints the same truth."""
    for name in FAMILY_SITES:
        env = {**os.environ, "PYTHONHASHSEED": "12345"}
        out = subprocess.run([sys.executable, "-m", "archive", "replica", "truth", "--site", name, "--articles", "40",
                              "--edition", "2"], capture_output=True, text=True, encoding="utf-8", env=env, check=True)
        spec, corpus, _ = build(name, 40, 2)
        assert [json.loads(line) for line in out.stdout.splitlines()] == list(registry.truth(spec, corpus))


@pytest.mark.parametrize("name", FAMILY_SITES)
def test_editions_add_edit_and_remove(name):
    spec, one, first = build(name, 400, 1)
    _, two, second = build(name, 400, 2)
    before = {r["url"]: r for r in registry.truth(spec, one)}
    after = list(registry.truth(spec, two))
    changes = {c: [r for r in after if r["change"] == c] for c in ("new", "edited", None)}
    assert changes["new"] and changes["edited"] and two.removed_last
    for record in changes[None][:50]:
        a, b = first.resolve(record["url"]), second.resolve(record["url"])
        assert a.body == b.body and a.etag == b.etag and a.last_modified == b.last_modified
        assert record == {**before[record["url"]], "change": None}
    for record in changes["edited"]:
        a, b = first.resolve(record["url"]), second.resolve(record["url"])
        assert a.body != b.body and a.etag != b.etag and a.last_modified < b.last_modified
        old = before[record["url"]]
        assert (old["title"], old["body_text"]) != (record["title"], record["body_text"])
    for record in changes["new"]:
        assert record["url"] not in before and first.resolve(record["url"]).status == 404
        assert second.resolve(record["url"]).status == 200
    for record in registry.removed(spec, two):
        assert record["url"] in before and record["url"] not in {r["url"] for r in after}
        res = second.resolve(record["url"], "", "127.0.0.1:8000")
        if record["how"] == "404":
            assert res.status == 404
        else:
            assert res.status == 302 and dict(res.headers)["Location"] == b"http://127.0.0.1:8000/"
        for media in record["images"] + record["attachments"]:
            path, _, query = media["url"].partition("?")
            assert first.resolve(path, query).status == 200 and second.resolve(path, query).status == 404
    _, later, _ = build(name, 400, 3)
    assert all(e.docid in later.gone for e, _ in two.removed_last)  # removed stays removed


def test_the_gbk_site_serves_gbk_bytes_everywhere():
    spec, corpus, site = build("yutai", 150)
    assert spec.charset == "gbk"
    undecodable = 0
    for record in registry.truth(spec, corpus):
        res = site.resolve(record["url"])
        assert res.content_type == "text/html; charset=GBK" and b'charset=gbk"' in res.body
        assert res.body.decode("gbk")
        try:
            res.body.decode("utf-8")
        except UnicodeDecodeError:
            undecodable += 1
        json.dumps(record, ensure_ascii=False).encode("gbk")  # every value encodes in GBK
    assert undecodable == len(corpus.entries)
    assert site.resolve(spec.start_path).body.decode("gbk").count("content_") == 15


def test_unknown_paths_and_bad_requests():
    _, corpus, hanweb = build("weishan", 100)
    for path in ("/col/col25830/index.html", "/col/col99999/index.html", "/art/2020/1/1/art_25831_1.html",
                 "/picture/0/2001010000001000123.jpg", "/nope.html"):
        assert hanweb.resolve(path).status == 404, path
    path = hanweb.urls.article_path(corpus.entries[0])  # an article of the first column, 政务要闻 (25831)
    assert hanweb.resolve(path).status == 200 and hanweb.resolve(path.replace("art_25831_", "art_25834_")).status == 404
    assert hanweb.resolve("/col/col25831/index.html", "", "h", {}).status == 405  # POST off the data endpoint
    empty = hanweb.resolve("/module/web/jpage/dataproxy.jsp", "startrecord=1&endrecord=45", "h", {"columnid": "1"})
    assert b"<totalrecord>0</totalrecord>" in empty.body and b"<record>" not in empty.body
    junk = hanweb.resolve("/module/web/jpage/dataproxy.jsp", "startrecord=x", "h", {"columnid": "25831"})
    assert junk.status == 200 and b"<record>" not in junk.body
    _, _, sishui = build("sishui", 100)
    assert sishui.resolve("/api/content/list", "channel=xzdt&page=0").status == 400
    assert json.loads(sishui.resolve("/api/content/list", "channel=nope").body)["total"] == 0
    big = json.loads(sishui.resolve("/api/content/list", "channel=xzdt&size=1000").body)
    assert big["size"] == 100 and len(big["list"]) == min(100, big["total"])
    past = json.loads(sishui.resolve("/api/content/list", "channel=xzdt&page=99").body)
    assert past["list"] == [] and past["total"] > 0
    _, _, yutai = build("yutai", 100)
    assert yutai.resolve("/xxgk/zcwj/index_1.html").status == 404  # page 2 is index_2.html
    assert yutai.resolve("/xxgk/zcwj/index_8.html").status == 404 and yutai.resolve("/xxgk/zcwj/index_7.html").status == 200
