"""Exports over a real crawl: media out of the WARC files, and a WACZ that validates and replays in pywb.

The crawl fixture has no catalogue yet, so `catalogue_from_items` builds one
from the crawl's JSONL items, following schema.sql.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive.catalogue.keys import article_key
from archive.catalogue.sqlite import SqliteCatalogue, connect
from archive.cli import main
from archive.warc.http import open_http
from archive.warc.reader import read_record
from tests.conftest import wait_for_server

pytestmark = pytest.mark.e2e

VENV_BIN = Path(sys.executable).parent
MEDIA_PATH = re.compile(r"media/[0-9a-f]{2}/([0-9a-f]{64})\.[a-z0-9]+")


def catalogue_from_items(data: Path, items: list[dict]) -> Path:
    """Fill DATA/catalog.sqlite from crawl items: one crawl, one capture, article and version per item."""
    path = data / "catalog.sqlite"
    conn = connect(path)
    dumps = lambda value: json.dumps(value, ensure_ascii=False)  # noqa: E731
    crawls: set[str] = set()
    for item in items:
        warc = item["warc"]
        head, _ = read_record(data / "warc" / warc["file"], warc["offset"], warc["length"])
        date = head.get("WARC-Date")
        if item["crawl_id"] not in crawls:
            crawls.add(item["crawl_id"])
            conn.execute("INSERT INTO crawls (id, started, finished, status) VALUES (?,?,?,'ok')",
                         (item["crawl_id"], date, date))
        capture = conn.execute(
            "INSERT INTO captures (record_id, crawl_id, warc_type, url, date, status, content_type, file, offset,"
            " length, payload_digest) VALUES (?,?,'response',?,?,?,'text/html',?,?,?,?)",
            (warc["record_id"], item["crawl_id"], item["url"], date, item["http_status"], warc["file"],
             warc["offset"], warc["length"], warc["payload_digest"])).lastrowid
        article = conn.execute(
            "INSERT INTO articles (key, url, first_seen, last_seen, status, last_checked) VALUES (?,?,?,?,'live',?)",
            (article_key(item["url"]), item["url"], date, date, date)).lastrowid
        version = conn.execute(
            "INSERT INTO versions (article_id, version, content_hash, title, published, source, body_text,"
            " body_html, images, attachments, breadcrumb, site_name, site_id_code, column_name, charset, problems,"
            " flags, first_seen, last_seen, crawl_id, capture_id, extractor)"
            " VALUES (?,1,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'[]',?,?,?,?,?)",
            (article, item["content_hash"], item["title"], item["published"], item["source"], item["body_text"],
             item["body_html"], dumps(item["images"]), dumps(item["attachments"]), dumps(item["breadcrumb"]),
             item["site_name"], item["site_id_code"], item["column_name"], dumps(item["charset"]),
             dumps(item["problems"]), date, date, item["crawl_id"], capture, item["extractor"])).lastrowid
        conn.execute("UPDATE articles SET current_version = ? WHERE id = ?", (version, article))
    conn.commit()
    conn.close()
    return path


@pytest.fixture(scope="module")
def archive(crawled, tmp_path_factory):
    """A data folder of our own: the crawl's WARC files (linked) and a catalogue built from its items."""
    if not crawled["items"]:
        pytest.fail(f"the crawl produced no items:\n{crawled['result'].stderr[-2000:]}")
    data = tmp_path_factory.mktemp("export-archive") / "data"
    data.mkdir()
    (data / "warc").symlink_to(crawled["data"] / "warc", target_is_directory=True)
    catalogue_from_items(data, crawled["items"])
    return {"data": data, "items": crawled["items"], "crawl_media": crawled["data"] / "media"}


def run(*args: str):
    return CliRunner().invoke(main, ["export", *args], catch_exceptions=False)


def payload(data: Path, warc: dict) -> bytes:
    """The HTTP body of a response record, as stored (content encoding kept)."""
    with open_http(data / "warc" / warc["file"], warc["offset"], warc["length"]) as message:
        return message.raw().read()


def test_with_media_writes_files_named_by_digest(archive, tmp_path):
    out = tmp_path / "export" / "articles.csv"
    result = run("--format", "csv", "--with-media", "--out", str(out), "--data", str(archive["data"]))
    assert result.exit_code == 0, result.output
    mapping = out.with_name("articles.csv.media.csv")
    with open(mapping, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    entries = [(kind, entry) for item in archive["items"]
               for kind, key in (("image", "images"), ("attachment", "attachments")) for entry in item[key]]
    assert len(rows) == len(entries) > 20
    assert {"image", "attachment"} == {row["kind"] for row in rows}
    by_url = {entry["url"]: entry for _, entry in entries}
    for row in rows:
        entry = by_url[row["url"]]
        if "warc" not in entry or entry.get("error"):
            assert row["path"] == "" and row["problem"].startswith("not archived")
            continue
        match = MEDIA_PATH.fullmatch(row["path"])
        assert match, row["path"]  # named by digest, never from the URL
        body = (out.parent / row["path"]).read_bytes()
        assert "sha256:" + hashlib.sha256(body).hexdigest() == row["digest"] == entry["digest"]
        assert match.group(1) == entry["digest"].split(":")[1]
        assert int(row["size"]) == entry["size"] == len(body)
        assert row["content_type"] == entry["content_type"]
        if entry.get("file"):  # the crawl's own --media-files copy agrees
            assert (archive["crawl_media"] / entry["file"]).read_bytes() == body
    descriptor = json.loads(out.with_name("articles.csv.datapackage.json").read_text(encoding="utf-8"))
    media_resource = descriptor["resources"][1]
    assert media_resource["path"] == mapping.name
    assert media_resource["hash"] == "sha256:" + hashlib.sha256(mapping.read_bytes()).hexdigest()
    assert f"{len(rows)} media entries" in result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> bytes:
    """The body as served; accepting gzip, so a gzip-encoded capture comes back byte for byte as stored."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()


def test_wacz_validates_and_replays_in_pywb(archive, tmp_path):
    from archive.replay import ReplayError, find_wayback

    out = tmp_path / "share" / "articles.wacz"
    result = run("--format", "wacz", "--out", str(out), "--data", str(archive["data"]), "--since", "2020-01-01")
    assert result.exit_code == 0, result.output
    selected = [item for item in archive["items"] if item["published"] and item["published"][:10] >= "2020-01-01"]
    assert 0 < len(selected) < len(archive["items"])

    validated = subprocess.run([str(VENV_BIN / "wacz"), "validate", "-f", str(out)], capture_output=True, text=True)
    assert validated.returncode == 0 and "is valid" in validated.stdout, validated.stdout + validated.stderr

    with zipfile.ZipFile(out) as package:
        pages = [json.loads(line) for line in package.read("pages/pages.jsonl").decode().splitlines()][1:]
        names = package.namelist()
    assert {page["url"] for page in pages} == {item["url"] for item in selected}
    holding = {item["warc"]["file"] for item in selected} | {
        entry["warc"]["file"] for item in selected for key in ("images", "attachments") for entry in item[key]
        if entry.get("warc")}
    assert {name for name in names if name.startswith("archive/")} == {"archive/" + name for name in holding}
    descriptor = json.loads(out.with_name("articles.wacz.datapackage.json").read_text(encoding="utf-8"))
    assert descriptor["resources"][0]["hash"] == "sha256:" + hashlib.sha256(out.read_bytes()).hexdigest()

    try:
        wayback = find_wayback()
    except ReplayError as error:
        pytest.skip(str(error))
    # pywb unpacks the WACZ into a collection: its WARC files and its own index, nothing re-indexed.
    root = tmp_path / "pywb"
    root.mkdir()
    manager = str(Path(wayback).with_name("wb-manager"))
    for args in (["init", "shared"], ["add", "--unpack-wacz", "shared", str(out)]):
        done = subprocess.run([manager, *args], cwd=root, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    port = free_port()
    process = subprocess.Popen([wayback, "-b", "127.0.0.1", "-p", str(port)], cwd=root,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_server(base + "/", process)
        checked = 0
        for item in selected[:3]:
            stamp = next(page["ts"] for page in pages if page["url"] == item["url"])
            ts = re.sub(r"\D", "", stamp)[:14]
            assert fetch(f"{base}/shared/{ts}id_/{item['url']}") == payload(archive["data"], item["warc"])
            for image in item["images"][:1]:
                assert fetch(f"{base}/shared/{ts}id_/{image['url']}") == payload(archive["data"], image["warc"])
            checked += 1
        assert checked == min(3, len(selected))
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_query_through_the_search_index(archive, tmp_path):
    with SqliteCatalogue.open(archive["data"] / "catalog.sqlite") as catalogue:
        catalogue.rebuild_index()
        word = "专精特新"
        expected = {hit.article_id for hit in catalogue.search(word, all_versions=True, include_withdrawn=True,
                                                                 limit=None)}
    assert 0 < len(expected) < len(archive["items"])
    out = tmp_path / "q.jsonl"
    result = run("--format", "jsonl", "--out", str(out), "--data", str(archive["data"]), word)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {row["article_id"] for row in rows} == expected
    assert all(word in json.dumps(row, ensure_ascii=False) for row in rows)


def test_export_from_the_crawls_own_catalogue(crawled, tmp_path):
    """The catalogue the crawl itself wrote (copied: the fixture's folder stays untouched)."""
    pq = pytest.importorskip("pyarrow.parquet")
    source = crawled["data"] / "catalog.sqlite"
    if not source.exists():
        pytest.skip("this crawl writes no catalogue")
    data = tmp_path / "data"
    data.mkdir()
    (data / "warc").symlink_to(crawled["data"] / "warc", target_is_directory=True)
    for suffix in ("", "-wal"):
        if Path(str(source) + suffix).exists():
            (data / ("catalog.sqlite" + suffix)).write_bytes(Path(str(source) + suffix).read_bytes())
    out = tmp_path / "out" / "all.parquet"
    result = run("--format", "parquet", "--with-media", "--out", str(out), "--data", str(data))
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert sorted(table.column("url").to_pylist()) == sorted(item["url"] for item in crawled["items"])
    by_url = {item["url"]: item for item in crawled["items"]}
    for row in table.select(["url", "warc_record_id", "title"]).to_pylist():
        assert row["warc_record_id"] == by_url[row["url"]]["warc"]["record_id"]
        assert row["title"] == by_url[row["url"]]["title"]
    with open(out.with_name("all.parquet.media.csv"), encoding="utf-8-sig", newline="") as fh:
        media = [row for row in csv.DictReader(fh) if row["path"]]
    assert media and all(
        "sha256:" + hashlib.sha256((out.parent / row["path"]).read_bytes()).hexdigest() == row["digest"]
        for row in media)
