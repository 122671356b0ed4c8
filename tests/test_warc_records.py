"""Record building: exact bytes, digests, dates, and the refusals that protect them."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta, timezone

import pytest

from archive.warc import records as rec

RID = "<urn:uuid:11111111-1111-1111-1111-111111111111>"
RID2 = "<urn:uuid:22222222-2222-2222-2222-222222222222>"
DATE = "2024-05-01T08:00:00.000001Z"
URI = "http://www.tengzhou.gov.cn/xwzx/gyjj/202103/t20210315_6187593.html?a=1&b=2"
# A GBK header value (藤州) and a gzip body: both must be stored byte for byte.
GBK_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=GBK\r\n"
            b"X-Source: \xcc\xd9\xd6\xdd\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\n")
GZIP_BODY = b"\x1f\x8b\x08\x00"
REQUEST_HEAD = (b"GET /xwzx/gyjj/202103/t20210315_6187593.html?a=1&b=2 HTTP/1.1\r\n"
                b"Host: www.tengzhou.gov.cn\r\nAccept-Encoding: gzip\r\n\r\n")


def b32sha1(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def test_sha1_digest_is_base32_of_the_concatenation() -> None:
    assert rec.sha1_digest(b"") == "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ"
    assert rec.sha1_digest(b"ab", b"cd") == b32sha1(b"abcd")


def test_format_date_is_utc_with_microseconds() -> None:
    beijing = timezone(timedelta(hours=8))
    assert rec.format_date(datetime(2024, 5, 1, 16, 0, 0, 1, tzinfo=beijing)) == DATE
    assert rec.format_date(datetime(2024, 5, 1, 8, tzinfo=timezone.utc)) == "2024-05-01T08:00:00.000000Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        rec.format_date(datetime(2024, 5, 1, 8))


def test_new_record_id_is_a_urn_uuid() -> None:
    rid = rec.new_record_id()
    assert rid.startswith("<urn:uuid:") and rid.endswith(">") and len(rid) == 47
    assert rid != rec.new_record_id()


def test_response_record_golden_bytes_keep_gbk_header_and_gzip_body() -> None:
    record = rec.response_record(record_id=RID, date=DATE, target_uri=URI, ip_address="127.0.0.1",
                                 http_head=GBK_HEAD, body=GZIP_BODY)
    expected = (
        b"WARC/1.1\r\n"
        b"WARC-Type: response\r\n"
        b"WARC-Record-ID: <urn:uuid:11111111-1111-1111-1111-111111111111>\r\n"
        b"WARC-Date: 2024-05-01T08:00:00.000001Z\r\n"
        b"WARC-Target-URI: http://www.tengzhou.gov.cn/xwzx/gyjj/202103/t20210315_6187593.html?a=1&b=2\r\n"
        b"WARC-IP-Address: 127.0.0.1\r\n"
        b"WARC-Block-Digest: sha1:MKPX2DW74LK5TIXHFHUI6722VAS5MKMS\r\n"
        b"WARC-Payload-Digest: sha1:E6H5ZBMQ7BMX32OE6CEGAJ6Z3PNFMRQ3\r\n"
        b"Content-Type: application/http;msgtype=response\r\n"
        b"Content-Length: 120\r\n"
        b"\r\n"
        b"HTTP/1.1 200 OK\r\n"
        b"Content-Type: text/html; charset=GBK\r\n"
        b"X-Source: \xcc\xd9\xd6\xdd\r\n"
        b"Content-Encoding: gzip\r\n"
        b"Content-Length: 4\r\n"
        b"\r\n"
        b"\x1f\x8b\x08\x00"
        b"\r\n\r\n"
    )
    assert record.to_bytes() == expected
    assert record.payload_digest == b32sha1(GZIP_BODY)  # the body as sent, still gzip
    assert b"sha1:MKPX2DW74LK5TIXHFHUI6722VAS5MKMS" == b32sha1(GBK_HEAD + GZIP_BODY).encode()
    assert len(GBK_HEAD + GZIP_BODY) == 120
    assert record.parts[1] is GBK_HEAD  # framed, never re-serialised or copied


def test_truncated_response_and_missing_ip() -> None:
    record = rec.response_record(record_id=RID, date=DATE, target_uri=URI, ip_address=None,
                                 http_head=GBK_HEAD, body=b"\x1f", truncated="disconnect")
    head = record.head.decode()
    assert "WARC-IP-Address" not in head
    assert "WARC-Payload-Digest: " + b32sha1(b"\x1f") + "\r\nWARC-Truncated: disconnect\r\n" in head


def test_request_record_golden_bytes() -> None:
    record = rec.request_record(record_id=RID2, date=DATE, target_uri=URI, concurrent_to=RID,
                                http_head=REQUEST_HEAD)
    assert record.to_bytes() == (
        b"WARC/1.1\r\n"
        b"WARC-Type: request\r\n"
        b"WARC-Record-ID: <urn:uuid:22222222-2222-2222-2222-222222222222>\r\n"
        b"WARC-Date: 2024-05-01T08:00:00.000001Z\r\n"
        b"WARC-Target-URI: http://www.tengzhou.gov.cn/xwzx/gyjj/202103/t20210315_6187593.html?a=1&b=2\r\n"
        b"WARC-Concurrent-To: <urn:uuid:11111111-1111-1111-1111-111111111111>\r\n"
        b"WARC-Block-Digest: " + b32sha1(REQUEST_HEAD).encode() + b"\r\n"
        b"Content-Type: application/http;msgtype=request\r\n"
        b"Content-Length: " + str(len(REQUEST_HEAD)).encode() + b"\r\n"
        b"\r\n" + REQUEST_HEAD + b"\r\n\r\n"
    )
    assert record.payload_digest is None


def test_request_with_body_has_payload_digest() -> None:
    head = b"POST /search HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n"
    record = rec.request_record(record_id=RID2, date=DATE, target_uri="http://x/search",
                                concurrent_to=RID, http_head=head, body=b"q=1")
    assert record.payload_digest == b32sha1(b"q=1")
    assert record.to_bytes().endswith(b"Content-Length: 3\r\n\r\nq=1\r\n\r\n")


def test_warcinfo_record_golden_bytes() -> None:
    block = rec.warc_fields([("software", "portal-archive/0.1.0"), ("isPartOf", "crawl-1")])
    record = rec.warcinfo_record(record_id=RID, date=DATE, filename="T-1.warc.gz", block=block)
    assert record.to_bytes() == (
        b"WARC/1.1\r\n"
        b"WARC-Type: warcinfo\r\n"
        b"WARC-Record-ID: <urn:uuid:11111111-1111-1111-1111-111111111111>\r\n"
        b"WARC-Date: 2024-05-01T08:00:00.000001Z\r\n"
        b"WARC-Filename: T-1.warc.gz\r\n"
        b"WARC-Block-Digest: " + b32sha1(block).encode() + b"\r\n"
        b"Content-Type: application/warc-fields\r\n"
        b"Content-Length: 51\r\n"
        b"\r\n"
        b"software: portal-archive/0.1.0\r\n"
        b"isPartOf: crawl-1\r\n"
        b"\r\n\r\n"
    )


def test_metadata_record_golden_bytes() -> None:
    payload = '{"title":"滕州"}'.encode()
    record = rec.metadata_record(record_id=RID2, date=DATE, target_uri=URI, concurrent_to=RID,
                                 payload=payload)
    assert record.to_bytes() == (
        b"WARC/1.1\r\n"
        b"WARC-Type: metadata\r\n"
        b"WARC-Record-ID: <urn:uuid:22222222-2222-2222-2222-222222222222>\r\n"
        b"WARC-Date: 2024-05-01T08:00:00.000001Z\r\n"
        b"WARC-Target-URI: http://www.tengzhou.gov.cn/xwzx/gyjj/202103/t20210315_6187593.html?a=1&b=2\r\n"
        b"WARC-Concurrent-To: <urn:uuid:11111111-1111-1111-1111-111111111111>\r\n"
        b"WARC-Block-Digest: " + b32sha1(payload).encode() + b"\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: 18\r\n"
        b"\r\n" + payload + b"\r\n\r\n"
    )


def test_revisit_record_golden_bytes() -> None:
    head = b"HTTP/1.1 304 Not Modified\r\nETag: \"abc\"\r\n\r\n"
    record = rec.revisit_record(record_id=RID2, date=DATE, target_uri=URI, ip_address="127.0.0.1",
                                http_head=head, profile="server-not-modified", refers_to=RID,
                                refers_to_uri=URI, refers_to_date="2024-04-01T08:00:00.000000Z",
                                payload_digest=None)
    assert record.to_bytes() == (
        b"WARC/1.1\r\n"
        b"WARC-Type: revisit\r\n"
        b"WARC-Record-ID: <urn:uuid:22222222-2222-2222-2222-222222222222>\r\n"
        b"WARC-Date: 2024-05-01T08:00:00.000001Z\r\n"
        b"WARC-Target-URI: http://www.tengzhou.gov.cn/xwzx/gyjj/202103/t20210315_6187593.html?a=1&b=2\r\n"
        b"WARC-IP-Address: 127.0.0.1\r\n"
        b"WARC-Profile: http://netpreserve.org/warc/1.1/revisit/server-not-modified\r\n"
        b"WARC-Refers-To: <urn:uuid:11111111-1111-1111-1111-111111111111>\r\n"
        b"WARC-Refers-To-Target-URI: http://www.tengzhou.gov.cn/xwzx/gyjj/202103/t20210315_6187593.html?a=1&b=2\r\n"
        b"WARC-Refers-To-Date: 2024-04-01T08:00:00.000000Z\r\n"
        b"WARC-Block-Digest: " + b32sha1(head).encode() + b"\r\n"
        b"Content-Type: application/http;msgtype=response\r\n"
        b"Content-Length: 42\r\n"
        b"\r\n" + head + b"\r\n\r\n"
    )


def test_identical_payload_revisit_carries_the_earlier_payload_digest() -> None:
    record = rec.revisit_record(record_id=RID2, date=DATE, target_uri=URI, ip_address=None,
                                http_head=GBK_HEAD, profile="identical-payload-digest",
                                refers_to=RID, refers_to_uri=URI, refers_to_date=DATE,
                                payload_digest=b32sha1(GZIP_BODY))
    assert record.payload_digest == b32sha1(GZIP_BODY)
    assert b"/revisit/identical-payload-digest\r\n" in record.head
    assert record.block == (GBK_HEAD,)  # the head only, no body


@pytest.mark.parametrize("kwargs, message", [
    ({"http_head": b"HTTP/1.1 200 OK\r\n"}, "CRLF CRLF"),
    ({"http_head": b"HTTP/1.1 200 OK\r\n\r\nX: y\r\n\r\n"}, "CRLF CRLF"),
    ({"truncated": "because"}, "WARC-Truncated"),
    ({"target_uri": "http://x/\r\nWARC-Type: forged"}, "line break"),
])
def test_response_record_refuses_bad_input(kwargs: dict, message: str) -> None:
    args = {"record_id": RID, "date": DATE, "target_uri": URI, "ip_address": None,
            "http_head": GBK_HEAD, "body": b""} | kwargs
    with pytest.raises(ValueError, match=message):
        rec.response_record(**args)


def test_revisit_refuses_unknown_profile_and_missing_digest() -> None:
    args = {"record_id": RID, "date": DATE, "target_uri": URI, "ip_address": None,
            "http_head": GBK_HEAD, "refers_to": RID, "refers_to_uri": URI, "refers_to_date": DATE}
    with pytest.raises(ValueError, match="profile"):
        rec.revisit_record(profile="same", payload_digest="sha1:X", **args)
    with pytest.raises(ValueError, match="payload digest"):
        rec.revisit_record(profile="identical-payload-digest", payload_digest=None, **args)
