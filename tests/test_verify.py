"""verify_archive: passes a clean archive, and names each kind of damage."""

from __future__ import annotations

import gzip
import itertools
import json
import shutil
import subprocess
import sys
import tracemalloc
import zlib
from datetime import datetime, timezone
from pathlib import Path

import pytest

from archive.warc import records as rec
from archive.warc.errors import ArchiveNotFoundError
from archive.warc.reader import iter_records
from archive.warc.verify import Report, verify_archive
from archive.warc.writer import WarcWriter

VENV_BIN = Path(sys.executable).parent
T0 = datetime(2024, 5, 1, 8, tzinfo=timezone.utc)
INFO = {"robots": "obey", "http-header-user-agent": "UA", "operator": "op", "isPartOf": "crawl-1"}
REQ = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"


def http_response(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(body)


def make_writer(warc_dir: Path, **kwargs) -> WarcWriter:
    counter = itertools.count(1)
    return WarcWriter(warc_dir, host="h", warcinfo=INFO, clock=lambda: T0,
                      new_id=lambda: f"<urn:uuid:00000000-0000-4000-8000-{next(counter):012d}>",
                      **kwargs)


def fetch(writer: WarcWriter, uri: str, body: bytes):
    return writer.write_exchange(target_uri=uri, date=T0, ip_address="127.0.0.1", request_head=REQ,
                                 response_head=http_response(body), response_body=body)


def build_archive(root: Path, *, articles: int = 4, skip_metadata: tuple[int, ...] = (),
                  **writer_options) -> Path:
    """A data folder: articles with a metadata record, an image each, attachments on the first."""
    (root / "items").mkdir(parents=True)
    lines = []
    with make_writer(root / "warc", max_size=4000, **writer_options) as writer:
        for n in range(articles):
            uri = f"http://www.tengzhou.gov.cn/a/{n}.html"
            body = f"<html><p>第{n}篇文章</p></html>".encode("gbk") * 30
            ref = fetch(writer, uri, body)
            if n not in skip_metadata:
                writer.write_metadata(target_uri=rec.pageinfo_uri(uri), concurrent_to=ref.record_id,
                                      refers_to=ref.record_id, date=T0,
                                      payload=json.dumps({"title": f"文章{n}"}).encode())
            image = fetch(writer, uri + ".jpg", b"\xff\xd8\xff" + bytes(range(256)) * 4)
            item = {"url": uri, "warc": ref.as_dict(),
                    "images": [{"url": uri + ".jpg", "warc": image.as_dict(), "size": 1027}],
                    "attachments": []}
            if n == 0:
                pdf = fetch(writer, uri + ".pdf", b"%PDF-1.4 " * 50)
                item["attachments"] = [{"url": uri + ".pdf", "warc": pdf.as_dict()},
                                       {"url": uri + ".doc", "error": "404"}]
            lines.append(json.dumps(item, ensure_ascii=False))
    (root / "items" / "crawl-1.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return build_archive(tmp_path / "data")


def warcs(root: Path) -> list[Path]:
    return sorted((root / "warc").glob("*.warc.gz"))


def messages(report: Report) -> list[str]:
    return [str(p) for p in report.problems]


def test_clean_archive_passes(archive: Path) -> None:
    seen: list[str] = []
    report = verify_archive(archive, progress=lambda f, n, total: seen.append(f))
    assert report.ok, messages(report)
    assert report.files == len(warcs(archive)) > 1
    assert report.records["response"] == 4 + 4 + 1
    assert report.records["request"] == 9
    assert report.records["metadata"] == 4
    assert report.records["warcinfo"] == report.files
    assert report.items_checked == 4 and report.refs_checked == 9
    assert seen[-1] == "items/crawl-1.jsonl" and len(seen) == report.files + 1
    assert "OK" in report.summary()


def test_flipped_payload_byte_fails_the_digests(tmp_path: Path) -> None:
    # Level 0 stores bytes as is: flip one payload byte and fix the gzip CRC, so
    # only our digests can notice.
    root = build_archive(tmp_path / "data", compresslevel=0)
    path = warcs(root)[0]
    response = [r for r in iter_records(path) if r.head.type == "response"][0]
    raw = bytearray(path.read_bytes())
    member = bytes(raw[response.offset:response.offset + response.length])
    record = bytearray(zlib.decompress(member, 31))
    where = record.index("篇".encode("gbk"))
    record[where] ^= 0x01
    raw[response.offset:response.offset + response.length] = (
        member[:-8] + zlib.crc32(record).to_bytes(4, "little") + member[-4:])
    raw[response.offset + bytes(member).index("篇".encode("gbk"))] ^= 0x01
    path.write_bytes(bytes(raw))
    assert gzip.decompress(path.read_bytes())  # still valid gzip
    report = verify_archive(root)
    found = [p for p in report.problems if p.offset == response.offset]
    assert [p.message.split(" does not")[0] for p in found] == ["WARC-Block-Digest",
                                                               "WARC-Payload-Digest"]
    assert len(report.problems) == 2


def test_flipped_compressed_byte_is_a_gzip_error(archive: Path) -> None:
    path = warcs(archive)[0]
    records = list(iter_records(path))
    raw = bytearray(path.read_bytes())
    raw[records[1].offset + 40] ^= 0xFF
    path.write_bytes(bytes(raw))
    report = verify_archive(archive)
    first = report.problems[0]
    assert first.file == f"warc/{path.name}" and first.offset == records[1].offset
    assert "gzip member is corrupt" in first.message and "rest of the file" in first.message


def test_wrong_digest_in_jsonl_is_reported_with_its_line(archive: Path) -> None:
    items = archive / "items" / "crawl-1.jsonl"
    lines = items.read_text(encoding="utf-8").splitlines()
    item = json.loads(lines[2])
    item["warc"]["payload_digest"] = "sha1:" + "A" * 32
    lines[2] = json.dumps(item)
    items.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = verify_archive(archive)
    assert len(report.problems) == 1
    problem = report.problems[0]
    assert (problem.file, problem.line) == ("items/crawl-1.jsonl", 3)
    assert "payload digest sha1:AAAA" in problem.message
    assert str(problem).startswith("items/crawl-1.jsonl:3: item: ")


def test_wrong_offset_and_record_id_in_jsonl(archive: Path) -> None:
    items = archive / "items" / "crawl-1.jsonl"
    lines = items.read_text(encoding="utf-8").splitlines()
    first, second = json.loads(lines[0]), json.loads(lines[1])
    first["warc"]["offset"] += 1
    second["images"][0]["warc"]["record_id"] = second["warc"]["record_id"]
    lines[0], lines[1] = json.dumps(first), json.dumps(second)
    items.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = verify_archive(archive)
    assert [(p.line, p.message.split(":")[0]) for p in report.problems] == [(1, "item"),
                                                                          (2, "images[0]")]
    assert "no record at" in report.problems[0].message
    assert "not <urn:uuid" in report.problems[1].message


def test_missing_metadata_record_is_reported(tmp_path: Path) -> None:
    root = build_archive(tmp_path / "data", skip_metadata=(2,))
    report = verify_archive(root)
    assert len(report.problems) == 1
    assert report.problems[0].line == 3
    assert "no metadata record is WARC-Concurrent-To" in report.problems[0].message


def test_metadata_refers_to_a_capture_of_its_own_crawl(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "warc").mkdir(parents=True)
    with make_writer(root / "warc") as writer:  # crawl-1
        first = fetch(writer, "http://x/a", b"<p>a</p>")
    later = T0.replace(minute=5)
    ids = itertools.count(100)
    with WarcWriter(root / "warc", host="h", warcinfo={**INFO, "isPartOf": "crawl-2"}, clock=lambda: later,
                    new_id=lambda: f"<urn:uuid:{next(ids)}>") as writer:
        second = fetch(writer, "http://x/b", b"<p>b</p>")
        request_id = "<urn:uuid:102>"  # the request record written with the response above
        notes = {
            "good": writer.write_metadata(target_uri=rec.pageinfo_uri("http://x/b"), concurrent_to=second.record_id,
                                          refers_to=second.record_id, date=later, payload=b"{}"),
            "other crawl": writer.write_metadata(target_uri=rec.pageinfo_uri("http://x/a"),
                                                 concurrent_to=first.record_id, refers_to=first.record_id,
                                                 date=later, payload=b"{}"),
            "a request": writer.write_metadata(target_uri=rec.pageinfo_uri("http://x/b"), concurrent_to=None,
                                               refers_to=request_id, date=later, payload=b"{}"),
            "no link": writer.write_metadata(target_uri=rec.pageinfo_uri("http://x/b"),
                                             concurrent_to=second.record_id, date=later, payload=b"{}"),
            "crawl note": writer.write_metadata(target_uri="urn:portal-archive:crawl:crawl-2", concurrent_to=None,
                                                date=later, payload=b"{}"),
        }
    report = verify_archive(root)
    found = {(p.file, p.offset): p.message for p in report.problems}
    where = {name: (f"warc/{ref.file}", ref.offset) for name, ref in notes.items()}
    assert where["good"] not in found and where["crawl note"] not in found
    assert found[where["other crawl"]] == (f"metadata record refers to {first.record_id} (WARC-Refers-To), "
                                           "which is no response or revisit of crawl crawl-2")
    assert request_id in found[where["a request"]]
    assert "has no WARC-Refers-To" in found[where["no link"]]
    assert len(report.problems) == 3


def test_metadata_may_refer_to_a_response_in_an_earlier_file_of_its_crawl(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "warc").mkdir(parents=True)
    with make_writer(root / "warc") as writer:
        ref = fetch(writer, "http://x/a", b"<p>a</p>")
        writer.rotate()
        note = writer.write_metadata(target_uri=rec.pageinfo_uri("http://x/a"), concurrent_to=ref.record_id,
                                     refers_to=ref.record_id, date=T0, payload=b"{}")
    assert note.file != ref.file
    report = verify_archive(root)
    assert report.ok, messages(report)


def test_truncated_last_member_is_caught_where_warcio_check_is_not(archive: Path) -> None:
    path = warcs(archive)[-1]
    last = list(iter_records(path))[-1]
    path.write_bytes(path.read_bytes()[:-10])
    warcio = subprocess.run([str(VENV_BIN / "python"), "-m", "warcio.cli", "check", str(path)],
                            capture_output=True)
    assert warcio.returncode == 0  # the trap: warcio is satisfied
    report = verify_archive(archive)
    truncated = [p for p in report.problems if "truncated" in p.message]
    assert len(truncated) == 1
    assert (truncated[0].file, truncated[0].offset) == (f"warc/{path.name}", last.offset)


def test_missing_warc_file_is_reported_for_each_reference(archive: Path) -> None:
    gone = warcs(archive)[0]
    gone.unlink()
    report = verify_archive(archive)
    assert report.problems
    assert all(f"WARC file {gone.name} is missing" in p.message for p in report.problems)
    assert {p.line for p in report.problems} >= {1}


def test_reference_into_an_unfinished_file(archive: Path) -> None:
    path = warcs(archive)[0]
    path.rename(path.with_name(path.name + ".open"))
    report = verify_archive(archive)
    assert report.problems[0].file == f"warc/{path.name}.open"
    assert "unfinished WARC file" in report.problems[0].message
    assert any("still unfinished (.open)" in p.message for p in report.problems[1:])


def test_corrupt_jsonl_line_is_reported_with_file_and_line(archive: Path) -> None:
    items = archive / "items" / "crawl-1.jsonl"
    with items.open("ab") as fh:
        fh.write(b'{"url": "http://x/cut-by-a-crash", "warc": {"fi\n')
        fh.write(b"\xff\xfe not utf-8\n")
        fh.write(b"[1, 2]\n")
    report = verify_archive(archive)
    assert messages(report) == [
        "items/crawl-1.jsonl:5: line is not valid JSON: Unterminated string starting at (column 45)",
        "items/crawl-1.jsonl:6: line is not UTF-8",
        "items/crawl-1.jsonl:7: line is not a JSON object",
    ]


def test_item_without_reference(archive: Path) -> None:
    with (archive / "items" / "crawl-1.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"url": "http://x/none"}) + "\n")
        fh.write(json.dumps({"url": "http://x/bad", "warc": {"file": "../etc/passwd"}}) + "\n")
    report = verify_archive(archive)
    assert [p.line for p in report.problems] == [5, 6]
    assert "has no warc reference" in report.problems[0].message
    assert "must have file, offset, length" in report.problems[1].message


def write_raw(path: Path, *records: rec.Record) -> None:
    with path.open("wb") as fh:
        for record in records:
            fh.write(gzip.compress(record.to_bytes()))


def test_record_rules_and_pairs(tmp_path: Path) -> None:
    (tmp_path / "warc").mkdir()
    date, other = "2024-05-01T08:00:00.000000Z", "2024-05-01T08:00:01.000000Z"
    response = rec.response_record(record_id="<urn:uuid:r1>", date=date, target_uri="http://x/",
                                   ip_address=None, http_head=http_response(b"abc"), body=b"ab")
    request = rec.request_record(record_id="<urn:uuid:q1>", date=other, target_uri="http://x/",
                                 concurrent_to="<urn:uuid:r1>", http_head=REQ)
    orphan = rec.request_record(record_id="<urn:uuid:q2>", date=date, target_uri="http://x/",
                                concurrent_to="<urn:uuid:gone>", http_head=REQ)
    write_raw(tmp_path / "warc" / "bad.warc.gz", response, request, orphan)
    report = verify_archive(tmp_path)
    assert messages(report) == [
        "warc/bad.warc.gz @0: response has no WARC-IP-Address",
        "warc/bad.warc.gz @0: the file's first record is response, not warcinfo",
        "warc/bad.warc.gz @0: HTTP Content-Length 3 but the stored body has 2 bytes",
        f"warc/bad.warc.gz @{report.problems[3].offset}: request WARC-Date {other} differs "
        f"from its response's {date}",
        f"warc/bad.warc.gz @{report.problems[4].offset}: request is not linked by "
        "WARC-Concurrent-To to a response in this file",
    ]


def test_warcinfo_rules(tmp_path: Path) -> None:
    (tmp_path / "warc").mkdir()
    block = rec.warc_fields([("software", "x"), ("isPartOf", "c")])
    info = rec.warcinfo_record(record_id="<urn:uuid:i>", date="2024-05-01T08:00:00Z",
                               filename="other.warc.gz", block=block)
    forged = rec.Record("warcinfo", "<urn:uuid:i2>", "", info.head.replace(
        b"WARC-Filename", b"WARC-Target-URI: http://x/\r\nWARC-Filename").replace(
        b"WARC-Date: 2024-05-01T08:00:00Z", b"WARC-Date: 2024-05-01 08:00"), info.block, None)
    write_raw(tmp_path / "warc" / "info.warc.gz", info, forged)
    problems = messages(verify_archive(tmp_path))
    assert problems[0] == ("warc/info.warc.gz @0: warcinfo does not declare version, format, "
                           "conformsTo, robots, http-header-user-agent, operator")
    assert problems[1] == "warc/info.warc.gz @0: WARC-Filename 'other.warc.gz' is not this file's name"
    assert "warcinfo must not carry WARC-Target-URI" in problems[2]
    assert "is not a UTC timestamp" in problems[3]


def test_two_records_in_one_member_and_garbage(tmp_path: Path) -> None:
    (tmp_path / "warc").mkdir()
    info = rec.warcinfo_record(record_id="<urn:uuid:i>", date="2024-05-01T08:00:00Z",
                               filename="x.warc.gz", block=b"")
    path = tmp_path / "warc" / "x.warc.gz"
    path.write_bytes(gzip.compress(info.to_bytes() * 2) + b"not gzip")
    problems = messages(verify_archive(tmp_path))
    assert any("gzip member holds" in p and "one record per member" in p for p in problems)
    assert problems[-1].endswith("data that is not a gzip member; the rest of the file was not checked")


def test_set_aside_files_are_listed_not_failed(archive: Path) -> None:
    (archive / "warc" / "T-1-00000-h.warc.gz.corrupt").write_bytes(b"")
    report = verify_archive(archive)
    assert report.ok and report.set_aside == ["warc/T-1-00000-h.warc.gz.corrupt"]


def test_missing_folders_raise(tmp_path: Path) -> None:
    with pytest.raises(ArchiveNotFoundError, match="does not exist"):
        verify_archive(tmp_path / "absent")
    with pytest.raises(ArchiveNotFoundError, match="no warc/ folder"):
        verify_archive(tmp_path)


def test_memory_does_not_grow_with_payload_size(tmp_path: Path) -> None:
    root = tmp_path / "data"
    body = bytes(range(256)) * (24 * 4096)  # 24 MiB
    with make_writer(root / "warc") as writer:
        ref = fetch(writer, "http://x/big", body)
        writer.write_metadata(target_uri="http://x/big", concurrent_to=ref.record_id, date=T0,
                              payload=b"{}")
    (root / "items").mkdir()
    (root / "items" / "c.jsonl").write_text(json.dumps({"url": "http://x/big", "warc": ref.as_dict()}))
    del body
    tracemalloc.start()
    report = verify_archive(root)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert report.ok, messages(report)
    assert peak < 2 * 1024 * 1024
    shutil.rmtree(root)


# -- the command line -------------------------------------------------------

def cli(*args: str):
    from click.testing import CliRunner

    from archive.cli import main

    return CliRunner().invoke(main, ["verify", *args])


def test_cli_clean_archive_exits_0_with_a_summary(archive: Path) -> None:
    result = cli("--data", str(archive))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1].endswith(", 9 references, no catalogue: OK")
    assert "checking warc/" in result.stderr and "(1/" in result.stderr
    assert cli("--data", str(archive), "--quiet").stderr == ""


def test_cli_problems_exit_1_and_are_listed(archive: Path) -> None:
    warcs(archive)[0].unlink()
    result = cli("--data", str(archive), "-q")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("items/crawl-1.jsonl:1: item: WARC file ")
    assert lines[-1].endswith("problem(s)")


def test_cli_json_report(archive: Path) -> None:
    with (archive / "items" / "crawl-1.jsonl").open("a") as fh:
        fh.write("{oops\n")
    result = cli("--data", str(archive), "--json", "-q")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["items_checked"] == 4
    assert report["problems"] == [{"file": "items/crawl-1.jsonl", "offset": None, "line": 5,
                                   "message": report["problems"][0]["message"]}]


def test_cli_missing_data_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = cli("--data", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert result.stderr == f"Error: data folder {tmp_path / 'nowhere'} does not exist\n"
    assert result.stdout == ""
