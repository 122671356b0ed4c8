"""`portal-archive replay`: its index of the data folder, and what pywb serves from it."""

from __future__ import annotations

import itertools
import json
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from archive.replay import ReplayIndex, find_wayback, replay_url
from archive.warc.writer import WarcWriter
from tests.conftest import ROOT, wait_for_server

T0 = datetime(2024, 5, 1, 8, tzinfo=timezone.utc)
INFO = {"robots": "obey", "http-header-user-agent": "UA", "operator": "op", "isPartOf": "crawl-1"}
URL = "http://www.tengzhou.gov.cn/xwzx/gyjj/202405/t20240501_1.html"
REQUEST = b"GET /xwzx/gyjj/202405/t20240501_1.html HTTP/1.1\r\nHost: www.tengzhou.gov.cn\r\n\r\n"
PAGE = "<html><head><title>滕州市工业经济</title></head><body><p>原文</p></body></html>".encode()


def _writer(warc: Path, crawl: str, when: datetime) -> WarcWriter:
    ids = itertools.count(1)
    return WarcWriter(warc, host="h", warcinfo={**INFO, "isPartOf": crawl}, clock=lambda: when,
                      new_id=lambda: f"<urn:uuid:00000000-0000-4000-8000-{crawl[-1]}{next(ids):011d}>")


def _not_modified_archive(data: Path) -> tuple[datetime, datetime]:
    """A page captured (200), then rechecked an hour later and answered 304: a server-not-modified revisit."""
    later = T0 + timedelta(hours=1)
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nETag: \"e1\"\r\n"
            b"Content-Length: %d\r\n\r\n" % len(PAGE))
    with _writer(data / "warc", "crawl-1", T0) as writer:
        first = writer.write_exchange(target_uri=URL, date=T0, ip_address="127.0.0.1", request_head=REQUEST,
                                      response_head=head, response_body=PAGE)
    with _writer(data / "warc", "crawl-2", later) as writer:
        writer.write_revisit(target_uri=URL, date=later, ip_address="127.0.0.1", request_head=REQUEST,
                             response_head=b"HTTP/1.1 304 Not Modified\r\nETag: \"e1\"\r\n\r\n",
                             profile="server-not-modified", refers_to=first.record_id, refers_to_uri=URL,
                             refers_to_date=first.date, payload_digest=first.payload_digest)
    return T0, later


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S")


def _lines(data: Path) -> list[tuple[str, str, dict]]:
    out = []
    for path in sorted((data / "index").glob("*.cdxj")):
        for line in path.read_text(encoding="utf-8").splitlines():
            key, stamp, fields = line.split(" ", 2)
            out.append((key, stamp, json.loads(fields)))
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def replaying():
    """Start `portal-archive replay` on a data folder; yields a function DATA -> base URL."""
    try:
        find_wayback()
    except Exception as error:  # noqa: BLE001
        pytest.fail(f"pywb is part of the install (make install): {error}")
    started = []

    def start(data: Path) -> str:
        port = _free_port()
        process = subprocess.Popen([sys.executable, "-m", "archive", "replay", "--data", str(data), "--port",
                                    str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(process)
        base = f"http://127.0.0.1:{port}"
        wait_for_server(base + "/", process)
        return base

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=20)


def test_a_304_recheck_is_indexed_as_the_page_it_says_is_unchanged(tmp_path):
    """pywb replays any 3xx revisit as it is: each rechecked, unchanged article's latest capture was an
    empty 304, and so was the TimeGate's answer and the web UI's "last seen" link."""
    data = tmp_path / "data"
    first, later = _not_modified_archive(data)
    assert len(ReplayIndex(data).update()) == 2
    pages = {stamp: fields for key, stamp, fields in _lines(data) if fields["url"] == URL}
    original, recheck = pages[_stamp(first)], pages[_stamp(later)]
    assert recheck["status"] == "200" and recheck["mime"] == "text/html"
    assert {name: recheck[name] for name in ("filename", "offset", "length")} == \
        {name: original[name] for name in ("filename", "offset", "length")}
    assert ReplayIndex(data).update() == []  # nothing indexed again


def test_a_304_whose_original_is_in_no_index_keeps_its_line(tmp_path):
    data = tmp_path / "data"
    _, later = _not_modified_archive(data)
    first_file = sorted((data / "warc").glob("*.warc.gz"))[0]
    first_file.rename(tmp_path / first_file.name)  # the original's file is elsewhere (a store, a backup)
    ReplayIndex(data).update()
    [(_, stamp, fields)] = [line for line in _lines(data) if line[2]["url"] == URL]
    assert stamp == _stamp(later) and fields["status"] == "304" and fields["mime"] == "warc/revisit"


def test_pywb_replays_a_304_recheck_as_the_page(tmp_path, replaying):
    data = tmp_path / "data"
    first, later = _not_modified_archive(data)
    base = replaying(data)
    for moment in (first, later):
        with urllib.request.urlopen(replay_url(base, _stamp(moment), URL, "id_"), timeout=30) as answer:
            assert answer.status == 200 and answer.read() == PAGE, moment
    # The TimeGate (/archive/URL) sends a reader to the latest capture, the recheck, whose frame shows the page.
    with urllib.request.urlopen(f"{base}/archive/{URL}", timeout=30) as answer:
        assert f"/{_stamp(later)}/" in answer.url
    with urllib.request.urlopen(replay_url(base, _stamp(later), URL, "mp_"), timeout=30) as answer:
        assert "原文" in answer.read().decode("utf-8")


def test_stored_indexes_are_copied_once_with_their_304s_pointed_at_the_page(tmp_path):
    """With --store, the indexes come from the store: the same rewrite, and a rewritten copy (another size
    than the store's) is not taken for a changed one and copied again at every --reindex-every."""
    from archive.replay import StoredIndex, index_warc
    from archive.storage import open_store
    from archive.storage.api import index_key, warc_key

    crawled = tmp_path / "crawled"
    first, later = _not_modified_archive(crawled)
    (tmp_path / "store").mkdir()
    store = open_store((tmp_path / "store").as_uri())
    for warc in sorted((crawled / "warc").glob("*.warc.gz")):
        index = index_warc(warc, tmp_path / "made" / (warc.name + ".cdxj"))
        store.put(warc, warc_key(warc.name))
        store.put(index, index_key(warc.name))
    data = tmp_path / "data"
    (data / "warc").mkdir(parents=True)
    stored = StoredIndex(data, store)
    assert len(stored.update()) == 2
    lines = {}
    for path in stored.folder.glob("*.cdxj"):
        for line in path.read_text(encoding="utf-8").splitlines():
            key, stamp, fields = line.split(" ", 2)
            lines[stamp] = json.loads(fields)
    assert lines[_stamp(later)]["status"] == "200"
    assert lines[_stamp(later)]["offset"] == lines[_stamp(first)]["offset"]
    assert stored.update() == []


def test_serve_replays_the_warc_files_a_crawl_finishes_while_it_runs(tmp_path):
    """serve indexed the WARC files once, at start: with --live the article pages showed a running crawl's
    new articles at once, and their replay links found nothing in pywb until serve was restarted."""
    import time

    from tests.test_web_media import build_archive

    try:
        find_wayback()
    except Exception as error:  # noqa: BLE001
        pytest.fail(f"pywb is part of the install (make install): {error}")
    data = tmp_path / "data"
    build_archive(data)
    port, replay_port = _free_port(), _free_port()
    process = subprocess.Popen([sys.executable, "-m", "archive", "serve", "--data", str(data), "--live",
                                "--port", str(port), "--replay-port", str(replay_port), "--reindex-every", "0.5"],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{replay_port}"
        wait_for_server(f"http://127.0.0.1:{port}/-/versions.json", process)
        wait_for_server(base + "/", process)
        _not_modified_archive(data)  # a crawl finishes two WARC files
        deadline, answer = time.monotonic() + 60, None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(replay_url(base, _stamp(T0), URL, "id_"), timeout=30) as found:
                    answer = found.read()
                break
            except urllib.error.HTTPError:
                time.sleep(0.3)
        assert answer == PAGE
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stderr.close()


IMAGE = "http://www.tengzhou.gov.cn/xwzx/gyjj/202405/W1.jpg"
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8 + b"\xff\xd9"


def _cut_then_whole(data: Path) -> None:
    """An image whose first fetch was cut (archived with WARC-Truncated) and whose retry, the same second,
    came whole; and an attachment that was cut every time."""
    cut_head = b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\nX-Orig-Content-Length: %d\r\n\r\n"
    whole_head = b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(JPEG)
    with _writer(data / "warc", "crawl-1", T0) as writer:
        for url in (IMAGE, IMAGE + ".only-cut"):
            half = JPEG[:len(JPEG) // 2]
            writer.write_exchange(target_uri=url, date=T0, ip_address="127.0.0.1", request_head=REQUEST,
                                  response_head=cut_head % (len(half), len(JPEG)), response_body=half,
                                  truncated="disconnect")
        writer.write_exchange(target_uri=IMAGE, date=T0 + timedelta(milliseconds=300), ip_address="127.0.0.1",
                              request_head=REQUEST, response_head=whole_head, response_body=JPEG)


def test_a_cut_capture_is_not_indexed_beside_a_whole_one_of_the_same_url(tmp_path):
    """pywb takes the first of the captures of one second as the index orders them: an image cut in transfer
    and fetched again whole a moment later replayed cut, in its page, about half the time."""
    data = tmp_path / "data"
    _cut_then_whole(data)
    ReplayIndex(data).update()
    lines = [(fields["url"], fields.get("warc-truncated")) for _, _, fields in _lines(data)
             if fields["url"].startswith("http")]
    assert sorted(lines) == [(IMAGE, None), (IMAGE + ".only-cut", "disconnect")]


def test_pywb_replays_the_whole_capture_of_an_image_cut_once(tmp_path, replaying):
    data = tmp_path / "data"
    _cut_then_whole(data)
    base = replaying(data)
    with urllib.request.urlopen(replay_url(base, _stamp(T0), IMAGE, "id_"), timeout=30) as answer:
        assert answer.read() == JPEG
    with urllib.request.urlopen(replay_url(base, _stamp(T0), IMAGE + ".only-cut", "id_"), timeout=30) as answer:
        assert answer.read() == JPEG[:len(JPEG) // 2]  # all there is


def test_an_index_made_by_an_earlier_release_is_made_again_once(tmp_path):
    """The index files of an archive replayed before this layout still held the empty 304s: they were kept,
    being newer than their WARC files, so an upgrade changed nothing until DATA/index/ was deleted by hand."""
    data = tmp_path / "data"
    _not_modified_archive(data)
    index = ReplayIndex(data)
    assert len(index.update()) == 2
    (data / "index" / ".layout").unlink()  # as an earlier release left the folder
    recheck = sorted((data / "index").glob("*.cdxj"))[-1]
    recheck.write_text(recheck.read_text(encoding="utf-8").replace('"status": "200"', '"status": "304"'),
                       encoding="utf-8")
    assert len(ReplayIndex(data).update()) == 2
    assert '"status": "304"' not in recheck.read_text(encoding="utf-8")
    assert ReplayIndex(data).update() == []


def test_the_store_gets_the_index_of_its_own_file_not_replays_pointed_copy(tmp_path):
    """With `replay` running beside a crawl that stores its files, the uploader sent replay's copy of the index,
    whose 304 line names the original's file: verify --store then called the stored index damaged."""
    from archive.storage import open_store
    from archive.storage.uploads import Uploads
    from archive.storage.verify import verify_store

    data = tmp_path / "data"
    _not_modified_archive(data)
    ReplayIndex(data).update()  # replay ran first: DATA/index/ holds its pointed copies
    (tmp_path / "store").mkdir()
    store = open_store((tmp_path / "store").as_uri())
    uploads = Uploads(data, store)
    uploads.sweep()
    assert uploads.run_now(30).ok
    report = verify_store(store)
    assert report.files == 2 and not report.problems, [p.message for p in report.problems]


@pytest.mark.parametrize("ending, said", [("kill -TERM $$", "was stopped by signal 15"), ("exit 0", "exited with code 0")])
def test_replay_whose_pywb_ends_unasked_fails(tmp_path, ending, said):
    """pywb killed with SIGTERM (or quitting with 0) while nobody stopped replay made replay exit 0 and
    silently: no replay, and a supervisor restarting on failure left it down."""
    import os

    data = tmp_path / "data"
    _not_modified_archive(data)
    wayback = tmp_path / "wayback"
    wayback.write_text(f"#!/bin/sh\nsleep 0.3\n{ending}\n")
    wayback.chmod(0o755)
    result = subprocess.run([sys.executable, "-m", "archive", "replay", "--data", str(data), "--port", "0"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PORTAL_ARCHIVE_WAYBACK": str(wayback)})
    assert result.returncode == 3, result.stderr
    assert f"pywb {said}" in result.stderr and "pywb.log" in result.stderr


def test_the_index_of_a_warc_file_gone_from_the_folder_is_removed(tmp_path, caplog):
    """A WARC file deleted or moved away by hand kept its index: pywb listed its captures and answered each
    with a 503 (an empty page with pywb's error) instead of the capture still in the archive."""
    data = tmp_path / "data"
    _not_modified_archive(data)
    index = ReplayIndex(data)
    index.update()
    gone, kept = sorted((data / "warc").glob("*.warc.gz"))
    gone.rename(tmp_path / gone.name)
    with caplog.at_level("WARNING"):
        assert index.update() == []
    assert sorted(p.name for p in (data / "index").glob("*.cdxj")) == [kept.name + ".cdxj"]
    assert any(gone.name in record.getMessage() and "no longer replayed" in record.getMessage()
               for record in caplog.records)
    (tmp_path / gone.name).rename(gone)  # brought back: replayed again
    assert index.update() == [gone]


def test_store_index_copies_made_by_an_earlier_release_are_copied_again_once(tmp_path):
    from archive.replay import StoredIndex, index_warc
    from archive.storage import open_store
    from archive.storage.api import index_key, warc_key

    crawled = tmp_path / "crawled"
    _, later = _not_modified_archive(crawled)
    (tmp_path / "store").mkdir()
    store = open_store((tmp_path / "store").as_uri())
    data = tmp_path / "data"
    (data / "warc").mkdir(parents=True)
    stored = StoredIndex(data, store)
    stored.folder.mkdir(parents=True)
    for warc in sorted((crawled / "warc").glob("*.warc.gz")):
        index = index_warc(warc, tmp_path / "made" / (warc.name + ".cdxj"))
        store.put(warc, warc_key(warc.name))
        store.put(index, index_key(warc.name))
        (stored.folder / index.name).write_bytes(index.read_bytes())  # as an earlier release copied it: no .stored
    assert len(stored.update()) == 2
    assert '"status": "304"' not in "".join(p.read_text(encoding="utf-8") for p in stored.folder.glob("*.cdxj"))
    assert stored.update() == []
