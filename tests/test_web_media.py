"""Media read back from WARC files: gzip decoding, revisits, unknown ids; and the /-/media route."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path

import pytest

from archive.catalogue.keys import article_key
from archive.catalogue.sqlite import SqliteCatalogue, connect
from archive.warc.records import response_record, revisit_record
from archive.web.app import build_datasette
from archive.web.media import MediaNotFound, MediaUnreadable, load_media
from archive.web.prepare import prepare_catalogue

SITE = "http://www.tengzhou.gov.cn"
ARTICLE_URL = SITE + "/xwzx/gyjj/202103/t20210315_6187593.html"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
CRAWL = "20260101T000000000Z"
DATE = "2026-01-01T00:00:00.000000Z"
HOSTILE_BODY = ('<p style="text-indent: 2em">官桥镇召开<b>化工</b>会议。</p>'
                '<p><img src="W1.jpg" alt="IMG_5158_副本.jpg" onerror="document.body.dataset.pwned=1"></p>'
                '<script>document.title="pwned"</script><iframe src="http://evil.example/"></iframe>'
                '<p><a href="javascript:alert(1)">点击</a> <a href="t20210316_1.html">另一篇</a></p>')


def _record_id(n: int) -> str:
    return f"<urn:uuid:00000000-0000-4000-8000-{n:012d}>"


def _http(status: str, headers: list[tuple[str, str]]) -> bytes:
    return ("HTTP/1.1 " + status + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode()


def build_archive(data: Path) -> dict:
    """A small data folder: one WARC file, a catalogue whose captures point into it, one article.

    Returns the capture ids by name and the article id.
    """
    (data / "warc").mkdir(parents=True)
    warc = data / "warc" / "TEST-00000.warc.gz"
    gzipped = gzip.compress(JPEG)
    page = ('<html><body><script>alert(1)</script>' + HOSTILE_BODY + '</body></html>').encode()
    records = {
        "jpeg_gzip": response_record(record_id=_record_id(1), date=DATE, target_uri=SITE + "/xwzx/gyjj/202103/W1.jpg",
                                     ip_address=None, body=gzipped, http_head=_http("200 OK", [
                                         ("Content-Type", "image/jpeg"), ("Content-Encoding", "gzip"),
                                         ("Content-Length", str(len(gzipped)))])),
        "png": response_record(record_id=_record_id(2), date=DATE, target_uri=SITE + "/xwzx/gyjj/202103/W2.png",
                               ip_address=None, body=PNG, http_head=_http("200 OK", [("Content-Type", "image/png")])),
        "page": response_record(record_id=_record_id(3), date=DATE, target_uri=ARTICLE_URL, ip_address=None,
                                body=page, http_head=_http("200 OK", [("Content-Type", "text/html; charset=utf-8")])),
        "revisit": revisit_record(record_id=_record_id(4), date="2026-02-01T00:00:00.000000Z",
                                  target_uri=SITE + "/xwzx/gyjj/202103/W1.jpg", ip_address=None,
                                  http_head=_http("304 Not Modified", []), profile="server-not-modified",
                                  refers_to=_record_id(1), refers_to_uri=SITE + "/xwzx/gyjj/202103/W1.jpg",
                                  refers_to_date=DATE, payload_digest=None),
    }
    positions = {}
    with open(warc, "wb") as out:
        for name, record in records.items():
            member = gzip.compress(record.to_bytes())
            positions[name] = (out.tell(), len(member))
            out.write(member)
    conn = connect(data / "catalog.sqlite")
    conn.execute("INSERT INTO crawls (id, started, status) VALUES (?, ?, 'ok')", (CRAWL, DATE))
    ids = {}
    for name, record in records.items():
        offset, length = positions[name]
        uri = next(v for k, v in _fields(record) if k == "WARC-Target-URI")
        ids[name] = conn.execute(
            "INSERT INTO captures (record_id, crawl_id, warc_type, url, date, status, content_type, file, offset,"
            " length, payload_digest, refers_to) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (record.record_id, CRAWL, record.warc_type, uri, record.date, 304 if name == "revisit" else 200,
             None, warc.name, offset, length, record.payload_digest,
             _record_id(1) if name == "revisit" else None)).lastrowid
    ids["missing_file"] = conn.execute(
        "INSERT INTO captures (record_id, crawl_id, warc_type, url, date, status, file, offset, length)"
        " VALUES (?,?,?,?,?,?,?,?,?)", (_record_id(9), CRAWL, "response", SITE + "/gone.jpg", DATE, 200,
                                        "NOT-THERE.warc.gz", 0, 100)).lastrowid
    article = conn.execute("INSERT INTO articles (key, url, first_seen, last_seen, status) VALUES (?,?,?,?,'live')",
                           (article_key(ARTICLE_URL), ARTICLE_URL, DATE, DATE)).lastrowid
    other = SITE + "/xwzx/gyjj/202103/t20210316_1.html"
    conn.execute("INSERT INTO articles (key, url, first_seen, last_seen, status) VALUES (?,?,?,?,'live')",
                 (article_key(other), other, DATE, DATE))
    images = [{"url": SITE + "/xwzx/gyjj/202103/W1.jpg", "alt": "IMG_5158_副本.jpg", "content_type": "image/jpeg",
               "size": len(JPEG), "warc": {"record_id": _record_id(1), "file": warc.name}}]
    attachments = [{"url": SITE + "/xwzx/gyjj/202103/W2.png", "name": "附件1.png", "content_type": "image/png",
                    "warc": {"record_id": _record_id(2)}}]
    version = conn.execute(
        "INSERT INTO versions (article_id, version, content_hash, title, published, source, body_text, body_html,"
        " images, attachments, flags, first_seen, last_seen, crawl_id, capture_id)"
        " VALUES (?,1,'h1',?,?,?,?,?,?,?,?,?,?,?,?)",
        (article, "官桥镇召开化工会议", "2021-03-15", "官桥镇信息中心", "官桥镇召开化工会议。", HOSTILE_BODY,
         json.dumps(images, ensure_ascii=False), json.dumps(attachments, ensure_ascii=False),
         json.dumps(["injected_script"]), DATE, DATE, CRAWL, ids["page"])).lastrowid
    conn.execute("UPDATE articles SET current_version = ? WHERE id = ?", (version, article))
    conn.commit()
    conn.close()
    return {"captures": ids, "article": article}


def _fields(record) -> list[tuple[str, str]]:
    lines = record.head.decode().split("\r\n")[1:]
    return [tuple(part.strip() for part in line.split(":", 1)) for line in lines if ":" in line]


@pytest.fixture
def archive(tmp_path):
    data = tmp_path / "data"
    built = build_archive(data)
    return {"data": data, **built}


def _load(archive, capture_id):
    with SqliteCatalogue.open(archive["data"] / "catalog.sqlite", readonly=True) as catalogue:
        return load_media(catalogue, archive["data"] / "warc", capture_id)


def _body(media) -> bytes:
    return b"".join(media.chunks())


def test_gzip_encoded_payload_is_decoded(archive):
    media = _load(archive, archive["captures"]["jpeg_gzip"])
    assert _body(media) == JPEG
    assert [len(piece) for piece in media.chunks(100)][:3] == [100, 100, 100]  # read piece by piece
    assert media.content_type == "image/jpeg" and media.inline
    assert media.filename == "W1.jpg"


def test_identity_payload_and_revisit_followed_to_its_original(archive):
    assert _body(_load(archive, archive["captures"]["png"])) == PNG
    revisit = _load(archive, archive["captures"]["revisit"])
    assert _body(revisit) == JPEG and revisit.content_type == "image/jpeg"


def test_unknown_capture_and_missing_file(archive):
    with pytest.raises(MediaNotFound):
        _load(archive, 999_999)
    with pytest.raises(MediaUnreadable, match="NOT-THERE.warc.gz"):
        _load(archive, archive["captures"]["missing_file"])


def _get(data: Path, path: str):
    prepare_catalogue(data / "catalog.sqlite")
    datasette = build_datasette(data / "catalog.sqlite")

    async def fetch():
        return await datasette.client.get(path)

    return asyncio.run(fetch())


def test_media_route_serves_archived_bytes(archive):
    response = _get(archive["data"], f"/-/media/{archive['captures']['jpeg_gzip']}")
    assert response.status_code == 200
    assert response.content == JPEG
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]
    assert response.headers["x-archive-original-url"] == SITE + "/xwzx/gyjj/202103/W1.jpg"


def test_media_route_offers_html_as_a_download(archive):
    response = _get(archive["data"], f"/-/media/{archive['captures']['page']}")
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment;")
    assert "sandbox" in response.headers["content-security-policy"]


def test_media_route_unknown_ids(archive):
    assert _get(archive["data"], "/-/media/999999").status_code == 404
    assert _get(archive["data"], "/-/media/abc").status_code == 404
    assert _get(archive["data"], f"/-/media/{archive['captures']['missing_file']}").status_code == 500


def test_a_revisit_is_served_as_itself_with_its_originals_bytes(archive):
    """The same bytes under another URL and name (a portal's logo, an attachment posted twice) are a digest
    revisit: its own URL, date and type were replaced by the original's (doc.pdf downloaded as W1.jpg)."""
    conn = connect(archive["data"] / "catalog.sqlite")
    other = conn.execute(
        "INSERT INTO captures (record_id, crawl_id, warc_type, url, date, status, content_type, file, offset,"
        " length, refers_to) SELECT ?, crawl_id, 'revisit', ?, ?, 200, 'application/pdf', file, offset, length,"
        " refers_to FROM captures WHERE id = ?",
        (_record_id(20), SITE + "/files/doc.pdf", "2026-03-01T00:00:00.000000Z",
         archive["captures"]["revisit"])).lastrowid
    conn.commit()
    conn.close()
    media = _load(archive, other)
    assert _body(media) == JPEG
    assert (media.url, media.date, media.content_type, media.filename) == (
        SITE + "/files/doc.pdf", "2026-03-01T00:00:00.000000Z", "application/pdf", "doc.pdf")
    revisit = _load(archive, archive["captures"]["revisit"])  # a 304 says no type: the original's
    assert revisit.content_type == "image/jpeg" and revisit.date == "2026-02-01T00:00:00.000000Z"


@pytest.mark.parametrize("sent, served", [
    ("image/png", "image/png"), ("IMAGE/PNG; charset=\"x-user\"", "image/png; charset=x-user"),
    ("image/png\x00", "application/octet-stream"), ("image/png\x01x", "application/octet-stream"),
    ("image/png\x7f", "application/octet-stream"), ("image/png; name=图片.png", "application/octet-stream"),
    ("png", "application/octet-stream"), ("", "application/octet-stream"), (None, "application/octet-stream"),
])
def test_an_archived_content_type_is_sent_only_as_a_valid_one(sent, served):
    """A hostile server's Content-Type with a NUL closed the connection unanswered (h11 refused the header)."""
    from archive.web.media import media_type

    assert media_type(sent) == served


@pytest.mark.parametrize("url, name", [
    ("http://x/附件/%E9%80%9A%E7%9F%A5.pdf", "通知.pdf"), ("http://x/%22%3E%3Cscript%3Ex.pdf", '"><script>x.pdf'),
    ("http://x/a%2Fb%5Cc.pdf?download=1", "abc.pdf"), ("http://x/%0A%00.pdf", "pdf"), ("http://x/", "capture-7"),
    ("http://x/..", "capture-7"),
])
def test_a_media_file_name_is_its_url_segment_decoded_once(url, name):
    """It was sent percent-encoded and then quoted again: 通知.pdf was saved as %E9%80%9A%E7%9F%A5.pdf."""
    from archive.web.media import Media

    assert Media(capture_id=7, url=url, date="", content_type="application/pdf", truncated=False,
                 path=Path("x"), offset=0, length=1).filename == name
