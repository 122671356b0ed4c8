"""--with-media on WARC records made here: content encodings, revisits, shared files, bad digests."""

from __future__ import annotations

import csv
import gzip
import hashlib
import itertools
import json
import sqlite3
import zlib
from datetime import datetime, timezone
from pathlib import Path

import pytest

from replica.synthetic_catalogue import build_synthetic_catalogue
from archive.export import ArchiveUnreadable, ExportRequest, export
from archive.export.media import media_path
from archive.export.xlsx_writer import CELL_LIMIT, fit_cell
from archive.warc.writer import WarcWriter

T0 = datetime(2024, 5, 1, 8, tzinfo=timezone.utc)
INFO = {"robots": "obey", "http-header-user-agent": "UA", "operator": "op", "isPartOf": "crawl-1"}
REQ = b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n"
JPEG = b"\xff\xd8\xff" + bytes(range(256)) * 8
PDF = b"%PDF-1.4 " + "附件".encode() * 100


def head(content_type: str, length: int, encoding: str | None = None) -> bytes:
    lines = [b"HTTP/1.1 200 OK", b"Content-Type: " + content_type.encode(), b"Content-Length: %d" % length]
    if encoding:
        lines.append(b"Content-Encoding: " + encoding.encode())
    return b"\r\n".join(lines) + b"\r\n\r\n"


def sha(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """Two articles: a gzip image (the second article's is a revisit of it), a deflate PDF, a failed fetch."""
    data = tmp_path / "data"
    counter = itertools.count(1)
    with WarcWriter(data / "warc", host="h", warcinfo=INFO, clock=lambda: T0,
                    new_id=lambda: f"<urn:uuid:00000000-0000-4000-8000-{next(counter):012d}>") as writer:
        zipped = gzip.compress(JPEG)
        image = writer.write_exchange(target_uri="http://x/a.jpg", date=T0, ip_address=None, request_head=REQ,
                                      response_head=head("image/jpeg", len(zipped), "gzip"), response_body=zipped)
        deflated = zlib.compress(PDF)
        pdf = writer.write_exchange(target_uri="http://x/b.pdf", date=T0, ip_address=None, request_head=REQ,
                                    response_head=head("application/pdf", len(deflated), "deflate"),
                                    response_body=deflated)
        revisit = writer.write_revisit(target_uri="http://x/a.jpg", date=T0, ip_address=None, request_head=REQ,
                                       response_head=b"HTTP/1.1 304 Not Modified\r\n\r\n",
                                       profile="server-not-modified", refers_to=image.record_id,
                                       refers_to_uri="http://x/a.jpg", refers_to_date=image.date,
                                       payload_digest=None)
    build_synthetic_catalogue(data / "catalog.sqlite", 2)
    conn = sqlite3.connect(data / "catalog.sqlite")
    conn.execute("INSERT INTO captures (record_id, crawl_id, warc_type, url, date, file, offset, length)"
                 " SELECT ?, id, 'response', 'http://x/a.jpg', ?, ?, ?, ? FROM crawls",
                 (image.record_id, image.date, image.file, image.offset, image.length))
    first, second = [row[0] for row in conn.execute("SELECT id FROM versions ORDER BY article_id")]
    image_entry = {"url": "http://x/a.jpg", "alt": "图", "caption": None, "status": 200,
                   "content_type": "image/jpeg", "size": len(JPEG), "digest": sha(JPEG), "warc": image.as_dict()}
    pdf_entry = {"url": "http://x/b.pdf", "name": "附件.pdf", "status": 200, "content_type": "application/pdf",
                 "size": len(PDF), "digest": sha(PDF), "warc": pdf.as_dict()}
    # A failed fetch whose (error) answer was archived all the same: no file for it.
    failed = {"url": "http://x/c.doc", "name": "c.doc", "error": "HTTP 404", "status": 404, "digest": sha(b"gone"),
              "warc": pdf.as_dict()}
    again = {**image_entry, "warc": revisit.as_dict()}
    for version, images, attachments in ((first, [image_entry], [pdf_entry, failed]), (second, [again], [])):
        conn.execute("UPDATE versions SET images = ?, attachments = ? WHERE id = ?",
                     (json.dumps(images), json.dumps(attachments), version))
    conn.commit()
    conn.close()
    return data


def read_mapping(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_media_decoded_deduplicated_and_revisits_followed(data, tmp_path):
    out = tmp_path / "out" / "a.jsonl"
    result = export(ExportRequest(data=data, out=out, format="jsonl", with_media=True))
    rows = read_mapping(out.with_name("a.jsonl.media.csv"))
    assert [(r["kind"], r["url"]) for r in rows] == [
        ("image", "http://x/a.jpg"), ("attachment", "http://x/b.pdf"), ("attachment", "http://x/c.doc"),
        ("image", "http://x/a.jpg")]
    jpeg, pdf, failed, revisited = rows
    assert jpeg["path"] == revisited["path"] == media_path(hashlib.sha256(JPEG).hexdigest(), "image/jpeg")
    assert jpeg["path"].endswith(".jpg") and pdf["path"].endswith(".pdf")
    assert (out.parent / jpeg["path"]).read_bytes() == JPEG
    assert (out.parent / pdf["path"]).read_bytes() == PDF
    assert pdf["digest"] == sha(PDF) and pdf["size"] == str(len(PDF))
    assert (failed["path"], failed["digest"], failed["problem"]) == ("", "", "not archived: HTTP 404")
    assert (result.media_entries, result.media_files) == (4, 2)
    again = export(ExportRequest(data=data, out=out, format="jsonl", with_media=True))
    assert again.media_files == 0  # files already there are reused


def test_digest_mismatch_fails_and_leaves_no_output(data, tmp_path):
    conn = sqlite3.connect(data / "catalog.sqlite")
    images = json.loads(conn.execute("SELECT images FROM versions ORDER BY id LIMIT 1").fetchone()[0])
    images[0]["digest"] = "sha256:" + "0" * 64
    conn.execute("UPDATE versions SET images = ? WHERE id = (SELECT min(id) FROM versions)", (json.dumps(images),))
    conn.commit()
    conn.close()
    out = tmp_path / "a.csv"
    with pytest.raises(ArchiveUnreadable, match="the catalogue says sha256:0000"):
        export(ExportRequest(data=data, out=out, format="csv", with_media=True))
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == []


def test_media_path_never_uses_the_url():
    digest = "ab" + "c" * 62
    assert media_path(digest, "image/jpeg; charset=binary") == f"media/ab/{digest}.jpg"
    assert media_path(digest, None) == f"media/ab/{digest}.bin"
    assert media_path(digest, "application/x-unknown-thing") == f"media/ab/{digest}.bin"


def test_fit_cell_counts_utf16_units():
    assert fit_cell("短") == ("短", False)
    text, cut = fit_cell("字" * (CELL_LIMIT + 5))
    assert cut and len(text) == CELL_LIMIT
    emoji = "𠀀" * CELL_LIMIT  # outside the BMP: two UTF-16 units each
    text, cut = fit_cell(emoji)
    assert cut and len(text) == CELL_LIMIT // 2 and set(text) == {"𠀀"}


@pytest.mark.parametrize("raw", [False, True])
def test_mapping_cells_a_spreadsheet_would_run_are_text(data, tmp_path, raw):
    """A hostile server's Content-Type reaches the mapping's content_type column as it was sent."""
    sent = "=cmd|' /C calc'!A0"
    conn = sqlite3.connect(data / "catalog.sqlite")
    attachments = json.loads(conn.execute("SELECT attachments FROM versions ORDER BY id LIMIT 1").fetchone()[0])
    attachments[1]["content_type"] = sent  # the failed fetch: nothing to extract, only its row
    conn.execute("UPDATE versions SET attachments = ? WHERE id = (SELECT min(id) FROM versions)",
                 (json.dumps(attachments),))
    conn.commit()
    conn.close()
    out = tmp_path / "a.csv"
    export(ExportRequest(data=data, out=out, format="csv", with_media=True, raw_csv=raw))
    rows = read_mapping(out.with_name("a.csv.media.csv"))
    assert [r["content_type"] for r in rows if r["url"] == "http://x/c.doc"] == [sent if raw else "'" + sent]
    assert [r["content_type"] for r in rows if r["url"] == "http://x/b.pdf"] == ["application/pdf"]
