"""The WARC files of a real crawl, checked by outside validators and pywb."""

from __future__ import annotations

import gzip
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.replay import find_wayback, replay_url
from tests.conftest import portal_archive, wait_for_server

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent


def _warcs(crawled) -> list[Path]:
    files = sorted((crawled["data"] / "warc").glob("*.warc.gz"))
    assert files, "the crawl wrote no WARC file"
    return files


def test_gzip_t(crawled):
    for path in _warcs(crawled):
        subprocess.run(["gzip", "-t", str(path)], check=True)


def test_warcio_check(crawled):
    result = subprocess.run([str(BIN / "warcio"), "check", "-v", *map(str, _warcs(crawled))],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cdxj_indexer(crawled):
    result = subprocess.run([str(BIN / "cdxj-indexer"), *map(str, _warcs(crawled))],
                            capture_output=True, text=True, check=True)
    lines = result.stdout.splitlines()
    assert any("t20210315_" in line for line in lines)
    assert all(json.loads(line.split(" ", 2)[2])["status"] for line in lines if " {" in line and '"status"' in line)


def test_portal_archive_verify(crawled):
    result = portal_archive("verify", "--data", str(crawled["data"]), check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_exchange_captured(crawled):
    """List pages, articles, images, attachments and robots.txt are all in the WARCs."""
    responses = {}
    for path in _warcs(crawled):
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "response":
                    responses[record.rec_headers.get_header("WARC-Target-URI")] = record.rec_headers
    assert any(uri.endswith("/robots.txt") for uri in responses)
    assert any(uri.endswith("/xwzx/gyjj/index.html") for uri in responses)
    assert any(uri.endswith("/xwzx/gyjj/index_1.html") for uri in responses)
    for item in crawled["items"]:
        assert item["url"] in responses
        for media in item["images"] + item["attachments"]:
            assert media["url"] in responses
    for headers in responses.values():
        assert headers.get_header("WARC-IP-Address") == "127.0.0.1"


def test_gzip_payload_stored_encoded(crawled):
    """A gzip response keeps its gzip bytes as the payload, with its Content-Encoding."""
    found = 0
    for path in _warcs(crawled):
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type != "response":
                    continue
                if record.http_headers.get_header("Content-Encoding") == "gzip":
                    raw = record.raw_stream.read()
                    assert raw[:2] == b"\x1f\x8b"
                    assert gzip.decompress(raw)
                    found += 1
    assert found > 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def replay(crawled):
    try:
        find_wayback()
    except Exception as error:  # noqa: BLE001
        pytest.fail(f"pywb is part of the install (make install): {error}")
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "archive", "replay", "--data", str(crawled["data"]), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/", timeout=2).read()
            break
        except OSError:
            time.sleep(0.3)
    else:
        process.kill()
        raise AssertionError("pywb did not start: " + process.stderr.read())
    yield base
    process.terminate()
    process.wait(timeout=20)


@pytest.mark.parametrize("which", ["seed", "gbk"])
def test_pywb_replays_articles_as_served(crawled, replay, which):
    items = crawled["items"]
    if which == "seed":
        item = next(i for i in items if "攻坚五问" in (i["title"] or ""))
    else:
        item = next(i for i in items if i["charset"]["declared"] == "gbk")
    record = _record(crawled["data"], item["warc"])
    timestamp = _timestamp(record)
    served = urllib.request.urlopen(item["url"], timeout=30).read()  # the replica, still up
    assert _decoded_body(record) == served
    with urllib.request.urlopen(replay_url(replay, timestamp, item["url"], "id_"), timeout=30) as answer:
        replayed = answer.read()
        if answer.headers.get("Content-Encoding") == "gzip":
            replayed = gzip.decompress(replayed)
    assert replayed == served
    framed = urllib.request.urlopen(replay_url(replay, timestamp, item["url"], "mp_"), timeout=30).read()
    charset = item["charset"]["used"]
    assert item["title"] in framed.decode(charset, errors="replace")
    for image in item["images"]:
        data = urllib.request.urlopen(replay_url(replay, timestamp, image["url"], "id_"), timeout=30).read()
        assert data[:2] == b"\xff\xd8"


def _record(data: Path, ref: dict):
    with open(data / "warc" / ref["file"], "rb") as stream:
        stream.seek(ref["offset"])
        record = next(iter(ArchiveIterator(stream)))
        assert record.rec_headers.get_header("WARC-Record-ID") == ref["record_id"]
        return {
            "headers": record.rec_headers,
            "http": record.http_headers,
            "raw": record.raw_stream.read(),
        }


def _decoded_body(record) -> bytes:
    raw = record["raw"]
    if record["http"].get_header("Content-Encoding") == "gzip":
        return gzip.decompress(raw)
    return raw


def _timestamp(record) -> str:
    date = record["headers"].get_header("WARC-Date")
    return "".join(ch for ch in date if ch.isdigit())[:14]


def _replayed(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as answer:
        body = answer.read()
        return gzip.decompress(body) if answer.headers.get("Content-Encoding") == "gzip" else body


def test_stock_cdxj_index_replays_pages_not_their_metadata(crawled, tmp_path):
    """cdxj-indexer with its default record types (metadata included), then pywb: every page is the page."""
    wayback = find_wayback()
    manager = str(Path(wayback).with_name("wb-manager"))
    root = tmp_path / "pywb"
    root.mkdir()
    subprocess.run([manager, "init", "stock"], cwd=root, check=True, capture_output=True)
    collection = root / "collections" / "stock"
    for path in _warcs(crawled):
        (collection / "archive" / path.name).symlink_to(path)
    # Sorted, as pywb looks lines up by binary search; every other option left as it comes.
    subprocess.run([str(BIN / "cdxj-indexer"), "--sort", "-o", str(collection / "indexes" / "index.cdxj"),
                    *(path.name for path in _warcs(crawled))], cwd=collection / "archive", check=True,
                   capture_output=True)
    lines = (collection / "indexes" / "index.cdxj").read_text(encoding="utf-8").splitlines()
    # The metadata records are indexed, under their own name; ask pywb for each page at exactly the
    # second of its metadata record, the moment the JSON would have stood in for the page.
    described = {}
    for line in lines:
        _, stamp, fields = line.split(" ", 2)
        target = json.loads(fields)["url"]
        if target.startswith("urn:pageinfo:"):
            described[target.removeprefix("urn:pageinfo:")] = stamp
    items = crawled["items"]
    assert {item["url"] for item in items} <= described.keys()
    section = crawled["base_url"] + "/xwzx/gyjj/index.html"
    assert section in described
    port = _free_port()
    process = subprocess.Popen([wayback, "-b", "127.0.0.1", "-p", str(port)], cwd=root,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_server(base + "/", process)
        for url in [section, *(item["url"] for item in items[:12])]:
            served = urllib.request.urlopen(url, timeout=30).read()  # the replica, still up
            assert _replayed(f"{base}/stock/{described[url]}id_/{url}") == served, url
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_replay_index_leaves_out_a_damaged_file_and_replays_the_rest(crawled, tmp_path, caplog):
    """One damaged WARC file (a flipped byte, garbage with the right suffix) made `replay` die with warcio's
    traceback at start, and every --reindex-every later: nothing replayed."""
    from archive.exits import Failed
    from archive.replay import ReplayIndex

    data = tmp_path / "data"
    (data / "warc").mkdir(parents=True)
    good = _warcs(crawled)[0]
    (data / "warc" / good.name).symlink_to(good)
    bad = data / "warc" / "TENGZHOU-20000101000000000-00000-x-1.warc.gz"
    bad.write_bytes(gzip.compress(b"WARC/1.1\r\nnot a record at all\r\n\r\n") + b"\x1f\x8b\x08garbage")
    index = ReplayIndex(data)
    with caplog.at_level("WARNING"):
        assert index.update() == [data / "warc" / good.name]
    assert (data / "index" / (good.name + ".cdxj")).stat().st_size > 0
    assert not (data / "index" / (bad.name + ".cdxj")).exists()
    assert any(bad.name in record.getMessage() and "verify" in record.getMessage() for record in caplog.records)
    caplog.clear()
    assert index.update() == [] and not caplog.records  # not tried again until it changes
    blocked = tmp_path / "blocked"
    (blocked / "warc").mkdir(parents=True)
    (blocked / "index").write_text("a file where the index folder goes")
    with pytest.raises(Failed, match="cannot write the replay index"):
        ReplayIndex(blocked).update()
