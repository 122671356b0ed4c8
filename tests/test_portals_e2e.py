"""Four portals of four CMS families in one archive, each from a profile inferred from its start URL.

For every replica site: `profile new` on its columns' start URLs, then a crawl
with the inferred profile, with no hand edits, into one shared data folder.
Every archived article must equal its ground truth field by field (including
`site`, `section` and, on the 信息公开 site, `xxgk`); the CSV export names
each site and section; search, changes, export and serve work across the
sites; pywb replays a Hanweb dataproxy.jsp POST; and a complete listing of one
section withdraws only that section's articles.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import urllib.request
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest

from crawler.items import TRUTH_FIELDS
from replica import registry
from replica.launch import ReplicaProcess
from tests.conftest import ROOT, portal_archive, read_jsonl

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ARTICLES = 160  # per site: every site archives at least 150


def _media(entries: list[dict], keys: tuple[str, ...]) -> list[dict]:
    return [{key: entry.get(key) for key in keys} for entry in entries]


def mismatches(items: list[dict], truth: list[dict]) -> list[tuple]:
    by_url = {item["url"]: item for item in items}
    out = []
    for record in truth:
        item = by_url.get(record["url"])
        if item is None:
            out.append((record["url"], "missing"))
            continue
        for field in (*TRUTH_FIELDS, "site", "section", *(["xxgk"] if "xxgk" in record else [])):
            have = item.get(field)
            if field == "images":
                have = _media(have, ("url", "alt", "caption"))
            elif field == "attachments":
                have = _media(have, ("url", "name"))
            if have != record[field]:
                out.append((record["url"], field, record[field], have))
    return out


def truth_of(name: str, base_url: str, edition: int = 1, removed: bool = False) -> list[dict]:
    args = ["replica", "truth", "--site", name, "--articles", str(ARTICLES), "--edition", str(edition),
            "--base-url", base_url] + (["--removed"] if removed else [])
    return [json.loads(line) for line in portal_archive(*args).stdout.splitlines() if line.strip()]


def infer(replica: ReplicaProcess, name: str, out: Path) -> subprocess.CompletedProcess:
    return portal_archive("profile", "new", *replica.column_urls.values(), "--name", name, "--out", str(out))


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """Every replica site inferred and crawled into one data folder."""
    work = tmp_path_factory.mktemp("portals")
    data = work / "data"
    sites = {}
    for name in registry.site_names():
        with ReplicaProcess(articles=ARTICLES, site=name) as replica:
            profile = work / f"{name}.toml"
            inferred = infer(replica, name, profile)
            before = set((data / "items").glob("*.jsonl")) if (data / "items").exists() else set()
            crawl = portal_archive("crawl", "--profile", str(profile), "--data", str(data), "--quiet", check=False)
            new_items = sorted(set((data / "items").glob("*.jsonl")) - before)
            sites[name] = {"profile": profile, "report": inferred.stdout, "crawl": crawl,
                           "items": [item for path in new_items for item in read_jsonl(path)],
                           "truth": truth_of(name, replica.base_url), "base_url": replica.base_url}
    return {"data": data, "work": work, "sites": sites}


@pytest.mark.parametrize("name", registry.site_names())
def test_an_inferred_profile_crawls_its_site_to_the_truth(archive, name):
    site = archive["sites"][name]
    assert "result: ok" in site["report"], site["report"]
    assert site["crawl"].returncode == 0, site["crawl"].stdout + site["crawl"].stderr
    assert len(site["truth"]) == ARTICLES >= 150
    assert sorted(item["url"] for item in site["items"]) == sorted(record["url"] for record in site["truth"])
    assert mismatches(site["items"], site["truth"]) == []


def test_warc_files_are_named_by_each_profile(archive):
    prefixes = {path.name.split("-", 1)[0] for path in (archive["data"] / "warc").glob("*.warc.gz")}
    assert prefixes == {name.upper() for name in registry.site_names()}


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_the_csv_export_names_every_site_and_section(archive, tmp_path):
    out = tmp_path / "all.csv"
    portal_archive("export", "--format", "csv", "--out", str(out), "--data", str(archive["data"]))
    rows = read_csv(out)
    expected = Counter((record["site"], record["section"]) for site in archive["sites"].values()
                       for record in site["truth"])
    assert Counter((row["site"], row["section"]) for row in rows) == expected
    assert len(expected) == sum(len(registry.site_spec(n).columns) for n in registry.site_names())
    xxgk = [json.loads(row["xxgk"]) for row in rows if row["site"] == "yutai"]
    assert xxgk and all("索引号" in table for table in xxgk)
    assert all(row["xxgk"] == "" for row in rows if row["site"] != "yutai")
    # --site and --section choose rows.
    one = tmp_path / "one.csv"
    portal_archive("export", "--format", "csv", "--out", str(one), "--data", str(archive["data"]),
                   "--site", "weishan", "--section", "部门动态")
    assert {(row["site"], row["section"]) for row in read_csv(one)} == {("weishan", "部门动态")}
    assert len(read_csv(one)) == expected[("weishan", "部门动态")]


def test_search_filters_by_site_and_section(archive):
    data = str(archive["data"])
    every = [json.loads(line) for line in portal_archive("search", "的", "--data", data, "--json", "--limit", "2000")
             .stdout.splitlines()]
    assert {hit["site"] for hit in every} == set(registry.site_names())
    for name in ("weishan", "sishui"):
        hits = [json.loads(line) for line in portal_archive(
            "search", "的", "--data", data, "--site", name, "--json", "--limit", "2000").stdout.splitlines()]
        assert hits and {hit["site"] for hit in hits} == {name}
        assert len(hits) == sum(1 for hit in every if hit["site"] == name)
    notices = [json.loads(line) for line in portal_archive(
        "search", "通知", "--data", data, "--section", "通知公告", "--json", "--limit", "2000").stdout.splitlines()]
    assert notices and {(hit["site"], hit["section"]) for hit in notices} == {("sishui", "通知公告")}
    nothing = portal_archive("search", "县", "--data", data, "--site", "nosuch")
    assert nothing.stdout.startswith("0 matches")
    text = portal_archive("search", "县", "--data", data, "--site", "yutai", "--limit", "1").stdout
    assert "yutai/政策文件" in text


def test_changes_by_site_and_section(archive):
    data = str(archive["data"])
    for name, site in archive["sites"].items():
        lines = portal_archive("changes", "--data", data, "--site", name, "--json").stdout.splitlines()
        changes = [json.loads(line) for line in lines]
        assert len(changes) == len(site["truth"]) and {c["site"] for c in changes} == {name}
        assert all(c["change"] == "new" for c in changes)
    lines = portal_archive("changes", "--data", data, "--section", "乡镇动态", "--json").stdout.splitlines()
    assert {json.loads(line)["section"] for line in lines} == {"乡镇动态"}


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return answer.status, answer.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def served(archive):
    """`portal-archive serve` (Datasette and pywb) over the four-site archive."""
    from tests.test_crawl_warc import _free_port

    port, replay_port = _free_port(), _free_port()
    process = subprocess.Popen([sys.executable, "-m", "archive", "serve", "--data", str(archive["data"]),
                                "--port", str(port), "--replay-port", str(replay_port)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               encoding="utf-8")
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        else:
            pytest.fail(f"serve exited {process.wait()}:\n{''.join(lines)}")
        yield {"ui": f"http://127.0.0.1:{port}", "replay": f"http://127.0.0.1:{replay_port}"}
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


def test_serve_facets_and_pages_say_site_and_section(archive, served):
    ui = served["ui"]
    status, body = _get(f"{ui}/catalog/web_articles.json?_facet=site&_facet=section&_size=1")
    assert status == 200
    facets = json.loads(body)["facet_results"]
    facets = facets.get("results", facets)
    counts = {row["value"]: row["count"] for row in facets["site"]["results"]}
    assert counts == {name: len(site["truth"]) for name, site in archive["sites"].items()}
    assert {row["value"] for row in facets["section"]["results"]} == {
        column.name for name in registry.site_names() for column in registry.site_spec(name).columns}
    status, page = _get(f"{ui}/-/search?q={quote('县')}&site=yutai")
    assert status == 200
    sites = set(re.findall(r'class="hit-site">([^<]+)<', page))
    assert sites == {"yutai"} and "政策文件" in page
    assert '<option value="sishui">' in page and '<option value="通知公告">' in page
    status, found = _get(f"{ui}/-/search.json?q={quote('通知')}&section={quote('通知公告')}")
    hits = json.loads(found)["hits"]
    assert hits and {(hit["site"], hit["section"]) for hit in hits} == {("sishui", "通知公告")}
    article_id = hits[0]["article_id"]
    status, article = _get(f"{ui}/-/article/{article_id}")
    assert status == 200
    assert re.search(r'class="article-site">sishui<', article) and re.search(
        r'class="article-section">通知公告<', article)


def test_pywb_replays_a_dataproxy_post(archive, served):
    """The dataproxy.jsp POSTs are indexed with their form (cdxj-indexer --post-append); pywb answers the
    same POST with the archived rows.  (A GET of that URL has no capture to replay.)"""
    from warcio.archiveiterator import ArchiveIterator

    requests, responses = {}, {}
    for path in sorted((archive["data"] / "warc").glob("WEISHAN-*.warc.gz")):
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream):
                uri = record.rec_headers.get_header("WARC-Target-URI") or ""
                if "dataproxy.jsp" not in uri:
                    continue
                if record.rec_type == "request":
                    requests.setdefault(uri, record.content_stream().read())
                elif record.rec_type == "response":
                    responses.setdefault(uri, (record.rec_headers.get_header("WARC-Date"),
                                               record.content_stream().read()))
    uri = next(uri for uri in responses if uri in requests)
    posted = (uri, requests[uri], *responses[uri])
    uri, form, date, archived = posted
    stamp = re.sub(r"\D", "", date)[:14]
    request = urllib.request.Request(f"{served['replay']}/archive/{stamp}id_/{uri}", data=form, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        replayed = answer.read()
    assert replayed.count(b"<record>") == archived.count(b"<record>") > 0
    assert replayed == archived


def test_a_complete_listing_of_one_section_withdraws_only_its_own(tmp_path):
    """weishan, two sections: later editions remove articles from both; a full crawl of one section
    withdraws that section's removed articles only, then one of the other section its own."""
    data, profile = tmp_path / "data", tmp_path / "weishan.toml"
    with ReplicaProcess(articles=ARTICLES, site="weishan") as first:
        infer(first, "weishan", profile)
        portal_archive("crawl", "--profile", str(profile), "--data", str(data), "--quiet")
        port = int(first.base_url.rsplit(":", 1)[1])
    archived = {r["url"] for r in truth_of("weishan", first.base_url)}
    # Each edition removes about 0.5% (at least one): go on until both sections lost some archived ones.
    removed: list[dict] = []
    for edition in range(2, 20):
        removed += [r for r in truth_of("weishan", first.base_url, edition=edition, removed=True)
                    if r["url"] in archived]
        by_section = {name: {r["url"].split("/", 3)[3] for r in removed if r["section"] == name}
                      for name in ("政务要闻", "部门动态")}
        if all(by_section.values()):
            break
    with ReplicaProcess(articles=ARTICLES, site="weishan", edition=edition, port=port) as second:
        assert all(by_section.values())

        def withdrawn() -> dict[str, set[str]]:
            lines = portal_archive("changes", "--data", str(data), "--json").stdout.splitlines()
            out: dict[str, set[str]] = {}
            for change in map(json.loads, lines):
                if change["change"] == "withdrawn":
                    out.setdefault(change["section"], set()).add(change["url"].split("/", 3)[3])
            return out

        # The second section is chosen with a setting: `-s ARCHIVE_SECTIONS` chooses as `--section` does.
        for section, choose in (("政务要闻", ("--section", "政务要闻")), ("部门动态", ("-s", "ARCHIVE_SECTIONS=部门动态"))):
            portal_archive("crawl", "--profile", str(profile), "--replica", second.base_url, "--data", str(data),
                           *choose, "--full", "--quiet", check=False)
            done = withdrawn()
            assert done.get(section) == by_section[section]
            if section == "政务要闻":
                assert "部门动态" not in done  # its listing was not walked
    from archive.catalogue import open_catalogue

    with open_catalogue(data, readonly=True) as catalogue:
        assert catalogue.listing_settled("weishan", "政务要闻") and catalogue.listing_settled("weishan", "部门动态")
        last = catalogue.crawls(1)[0]
        assert last["settings"]["sections"] == ["部门动态"]
