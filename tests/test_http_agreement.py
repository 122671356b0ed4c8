"""The catalogue, the web media page and export media read HTTP out of WARC records the same way.

Each archive here is made the way a crawl makes one (WarcWriter records, then
`reindex` folds them into the catalogue), and each consumer is used through
its public door: the catalogue's captures, the `/-/media/<id>` route, and
`export --with-media`.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import itertools
import json
import random
import sqlite3
import zlib
from datetime import datetime, timezone
from pathlib import Path

import brotli
import pytest

from archive.catalogue.sqlite import SqliteCatalogue, catalogue_path
from archive.catalogue.events import CRAWL_URI
from archive.catalogue.rebuild import reindex
from archive.exits import Damaged, ExitCode
from archive.export import ExportRequest, export
from archive.warc.errors import WarcError
from archive.warc.writer import WarcWriter
from archive.web.app import build_datasette
from archive.web.prepare import prepare_catalogue
from tests.conftest import cli

T0 = datetime(2024, 5, 1, 8, tzinfo=timezone.utc)
INFO = {"robots": "obey", "http-header-user-agent": "UA", "operator": "op", "isPartOf": "crawl-1"}
REQ = b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n"
SITE = "http://www.tengzhou.gov.cn/xwzx/gyjj/202103/"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16


def _head(*headers: tuple[str, str]) -> bytes:
    return b"HTTP/1.1 200 OK\r\n" + b"".join(f"{k}: {v}\r\n".encode() for k, v in headers) + b"\r\n"


def build(data: Path, media: list[tuple[str, bytes, bytes, str]], truncated: str | None = None) -> dict[str, str]:
    """One article whose images are `media` = [(name, http head, stored body, decoded bytes' digest)].

    `truncated` marks every image record WARC-Truncated.
    Returns the record id of each image by name.
    """
    counter = itertools.count(1)
    ids = {}
    with WarcWriter(data / "warc", host="h", warcinfo=INFO, clock=lambda: T0,
                    new_id=lambda: f"<urn:uuid:00000000-0000-4000-8000-{next(counter):012d}>") as writer:
        writer.write_metadata(target_uri=CRAWL_URI + "crawl-1", concurrent_to=None, date=T0,
                              payload=b'{"type": "crawl-start", "settings": {}}')
        page_url = SITE + "t20210315_1.html"
        page = writer.write_exchange(target_uri=page_url, date=T0, ip_address="127.0.0.1", request_head=REQ,
                                     response_head=_head(("Content-Type", "text/html")), response_body=b"<p>x</p>")
        images = []
        for name, head, body, digest in media:
            ref = writer.write_exchange(target_uri=SITE + name, date=T0, ip_address="127.0.0.1", request_head=REQ,
                                        response_head=head, response_body=body, truncated=truncated)
            ids[name] = ref.record_id
            images.append({"url": SITE + name, "status": 200, "content_type": "image/png", "digest": digest,
                           "size": len(PNG), "warc": ref.as_dict()})
        fields = {"type": "article", "url": page_url, "title": "标题", "published": "2021-03-15",
                  "content_hash": "h", "body_text": "x", "images": images, "attachments": []}
        writer.write_metadata(target_uri=page_url, concurrent_to=page.record_id, date=T0,
                              payload=json.dumps(fields, ensure_ascii=False).encode())
        writer.write_metadata(target_uri=CRAWL_URI + "crawl-1", concurrent_to=None, date=T0,
                              payload=b'{"type": "crawl-end", "status": "ok", "exit_code": 0}')
    reindex(data)
    return ids


def capture(data: Path, record_id: str) -> sqlite3.Row:
    conn = sqlite3.connect(catalogue_path(data))
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM captures WHERE record_id = ?", (record_id,)).fetchone()
    finally:
        conn.close()


def web_get(data: Path, capture_id: int):
    prepare_catalogue(catalogue_path(data))
    datasette = build_datasette(catalogue_path(data))

    async def fetch():
        return await datasette.client.get(f"/-/media/{capture_id}")

    return asyncio.run(fetch())


def exported(data: Path, out: Path) -> dict[str, bytes]:
    """Export with media; the bytes of each media file by URL."""
    export(ExportRequest(data=data, out=out, format="jsonl", with_media=True))
    import csv

    with open(out.with_name(out.name + ".media.csv"), encoding="utf-8-sig", newline="") as fh:
        return {row["url"]: (out.parent / row["path"]).read_bytes() for row in csv.DictReader(fh) if row["path"]}


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def one_image(tmp_path: Path, name: str, coding: str, body: bytes):
    """An archive whose article has one PNG stored with this Content-Encoding: its data folder, the
    image's record id, and what the web media page answers for it."""
    data = tmp_path / "data"
    head = _head(("Content-Type", "image/png"), ("Content-Encoding", coding))
    record_id = build(data, [(name, head, body, sha(PNG))])[name]
    return data, record_id, web_get(data, capture(data, record_id)["id"])


def test_repeated_content_type_is_read_the_same_by_catalogue_and_web(tmp_path):
    data = tmp_path / "data"
    head = _head(("Content-Type", "image/png"), ("Content-Type", "text/html"))
    ids = build(data, [("two.png", head, PNG, sha(PNG))])
    row = capture(data, ids["two.png"])
    answer = web_get(data, row["id"])
    assert answer.status_code == 200
    assert answer.headers["content-type"] == row["content_type"] == "image/png"  # the first value, in both


@pytest.mark.parametrize("coding, body", [
    ("br", brotli.compress(PNG)),
    ("gzip", gzip.compress(PNG)),
    ("x-gzip", gzip.compress(PNG)),
    ("deflate", zlib.compress(PNG)),
    ("deflate, br", brotli.compress(zlib.compress(PNG))),
])
def test_encoded_bodies_decode_the_same_in_export_and_web(tmp_path, coding, body):
    data, _, answer = one_image(tmp_path, "a.png", coding, body)
    assert answer.status_code == 200
    assert answer.content == PNG
    assert exported(data, tmp_path / "out" / "a.jsonl") == {SITE + "a.png": PNG}


@pytest.mark.parametrize("coding, body", [
    ("gzip", b"not gzip at all, whatever the header says"),
    ("gzip", gzip.compress(PNG)[:40] + b"\x00" * 40 + gzip.compress(PNG)[80:]),  # corrupt in the middle
    ("br", b"\xff\xff not brotli"),
    ("compress", b"an encoding nobody can undo here"),
])
def test_undecodable_body_is_the_typed_error_in_export_and_web(tmp_path, coding, body):
    data, record_id, answer = one_image(tmp_path, "bad.png", coding, body)
    assert answer.status_code == 500
    assert record_id in answer.text  # names the record
    with pytest.raises(WarcError) as caught:
        exported(data, tmp_path / "out" / "a.jsonl")
    assert isinstance(caught.value, Damaged) and record_id in str(caught.value)
    result = cli("export", "--data", str(data), "--format", "csv", "--out", str(tmp_path / "b.csv"), "--with-media")
    assert result.exit_code == ExitCode.DAMAGED, result.output


def test_a_record_marked_truncated_is_served_as_far_as_it_decodes(tmp_path):
    data = tmp_path / "data"
    zipped = gzip.compress(PNG)
    head = _head(("Content-Type", "image/png"), ("Content-Encoding", "gzip"))
    ids = build(data, [("cut.png", head, zipped[: len(zipped) // 2], sha(PNG))], truncated="length")
    answer = web_get(data, capture(data, ids["cut.png"])["id"])
    assert answer.status_code == 200 and answer.headers["x-archive-truncated"] == "true"
    assert 0 < len(answer.content) < len(PNG) and PNG.startswith(answer.content)


def test_a_body_that_fails_after_its_first_piece_is_cut_off_not_completed(tmp_path):
    from archive.web.media import load_media
    from archive.web.plugin import StreamedResponse

    data = tmp_path / "data"
    big = bytes(random.Random(1).randbytes(400_000))
    zipped = bytearray(gzip.compress(big))
    zipped[-2000:-1000] = bytes(1000)  # damaged near its end: the first pieces decode
    head = _head(("Content-Type", "application/octet-stream"), ("Content-Encoding", "gzip"))
    ids = build(data, [("big.bin", head, bytes(zipped), sha(big))])
    with SqliteCatalogue.open(catalogue_path(data), readonly=True) as catalogue:
        media = load_media(catalogue, data / "warc", capture(data, ids["big.bin"])["id"])
    pieces = media.chunks()
    response = StreamedResponse(next(pieces), pieces, status=200, content_type=media.content_type)
    sent = []

    async def send(message):
        sent.append(message)

    asyncio.run(response.asgi_send(send))
    bodies = [m for m in sent if m["type"] == "http.response.body"]
    assert sent[0]["status"] == 200 and bodies
    assert all(m.get("more_body") for m in bodies)  # never finished: the client sees a cut-off transfer
    received = b"".join(m["body"] for m in bodies)
    assert 0 < len(received) < len(big) and big.startswith(received)


def test_export_streams_a_large_body_to_disk(tmp_path):
    import tracemalloc

    data = tmp_path / "data"
    big = bytes(range(256)) * (24 * 4096)  # 24 MiB decoded, a few KB encoded
    head = _head(("Content-Type", "application/octet-stream"), ("Content-Encoding", "gzip"))
    build(data, [("big.bin", head, gzip.compress(big, compresslevel=9), sha(big))])
    out = tmp_path / "out" / "a.jsonl"
    tracemalloc.start()
    try:
        export(ExportRequest(data=data, out=out, format="jsonl", with_media=True))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert exported(data, out) == {SITE + "big.bin": big}  # (read back outside the measure)
    assert peak < len(big) // 4, f"export held {peak} bytes at its peak for a {len(big)}-byte body"
