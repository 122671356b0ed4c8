"""WarcWriter: exact output, one gzip member per record, rotation, names, failures."""

from __future__ import annotations

import gzip
import itertools
import os
import re
import subprocess
import sys
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from archive.warc.http import parse_head
from archive.warc.reader import iter_records, read_record
from archive.warc.writer import RecordRef, WarcWriteError, WarcWriter, recover

DATA = Path(__file__).parent / "data" / "warc"
VENV_BIN = Path(sys.executable).parent
T0 = datetime(2024, 5, 1, 8, 0, 0, 123456, tzinfo=timezone.utc)
INFO = {"software": "portal-archive/test", "version": "test", "robots": "obey",
        "http-header-user-agent": "portal-archive-test/1.0 (+mailto:ops@example.org)",
        "operator": "Archive team", "isPartOf": "crawl-2024-05-01"}
URI = "http://www.tengzhou.gov.cn/xwzx/gyjj/202103/t20210315_6187593.html?a=1"
REQ = b"GET /xwzx/gyjj/202103/t20210315_6187593.html?a=1 HTTP/1.1\r\nHost: www.tengzhou.gov.cn\r\n\r\n"
RESP = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=GBK\r\n"
        b"X-Title: " + "滕州".encode("gbk") + b"\r\nContent-Length: 11\r\n\r\n")
BODY = "<p>滕州</p>".encode("gbk")


def make_writer(directory: Path, **kwargs) -> WarcWriter:
    counter = itertools.count(1)
    options = {"host": "testhost", "pid": 4242, "warcinfo": INFO, "clock": lambda: T0,
               "new_id": lambda: f"<urn:uuid:00000000-0000-4000-8000-{next(counter):012d}>"}
    return WarcWriter(directory, **(options | kwargs))


def exchange(writer: WarcWriter, uri: str = URI, body: bytes = BODY) -> RecordRef:
    return writer.write_exchange(target_uri=uri, date=T0, ip_address="127.0.0.1",
                                 request_head=REQ, response_head=RESP, response_body=body)


def run(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True)


def session(directory: Path) -> tuple[WarcWriter, list[RecordRef]]:
    """The scripted session whose decompressed output is the golden file."""
    with make_writer(directory) as writer:
        response = exchange(writer)
        meta = writer.write_metadata(target_uri=URI, concurrent_to=response.record_id, date=T0,
                                     payload='{"title":"滕州"}'.encode())
        revisit = writer.write_revisit(
            target_uri=URI, date=T0 + timedelta(days=1), ip_address="127.0.0.1", request_head=REQ,
            response_head=RESP, profile="identical-payload-digest", refers_to=response.record_id,
            refers_to_uri=URI, refers_to_date=response.date, payload_digest=response.payload_digest)
    return writer, [response, meta, revisit]


def test_session_matches_golden_file(tmp_path: Path) -> None:
    writer, _ = session(tmp_path)
    assert [p.name for p in writer.finished] == ["TENGZHOU-20240501080000123-00000-testhost-4242.warc.gz"]
    with gzip.open(writer.finished[0]) as fh:
        assert fh.read() == (DATA / "golden-session.warc").read_bytes()


def test_each_record_is_its_own_gzip_member_at_its_reference(tmp_path: Path) -> None:
    writer, refs = session(tmp_path)
    raw = writer.finished[0].read_bytes()
    stored = list(iter_records(writer.finished[0]))
    assert [r.head.type for r in stored] == ["warcinfo", "response", "request", "metadata",
                                             "revisit", "request"]
    assert sum(r.length for r in stored) == len(raw)
    for ref in refs:
        member = raw[ref.offset:ref.offset + ref.length]
        inflate = zlib.decompressobj(31)
        record = inflate.decompress(member)
        assert inflate.eof and not inflate.unused_data
        assert record.startswith(b"WARC/1.1\r\n") and record.count(b"WARC/1.1\r\n") == 1
        head, block = read_record(writer.finished[0], ref.offset, ref.length)
        assert head.record_id == ref.record_id
        assert head.get("WARC-Payload-Digest") == ref.payload_digest
        assert head.get("WARC-Date") == ref.date
    head, block = read_record(writer.finished[0], refs[0].offset, refs[0].length)
    http = parse_head(block)
    assert (http.raw, block[len(http.raw):]) == (RESP, BODY)  # GBK header bytes verbatim


def test_record_ref_as_dict_is_the_items_warc_field(tmp_path: Path) -> None:
    _, refs = session(tmp_path)
    assert refs[0].as_dict() == {
        "file": "TENGZHOU-20240501080000123-00000-testhost-4242.warc.gz", "offset": refs[0].offset,
        "length": refs[0].length, "record_id": "<urn:uuid:00000000-0000-4000-8000-000000000002>",
        "payload_digest": refs[0].payload_digest}
    assert refs[0].date == "2024-05-01T08:00:00.123456Z"


def test_external_validators_accept_written_files(tmp_path: Path) -> None:
    writer, _ = session(tmp_path)
    path = writer.finished[0]
    assert run("gzip", "-t", path).returncode == 0
    check = run(VENV_BIN / "python", "-m", "warcio.cli", "check", "-v", path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("digest pass") == 5  # all but the revisit, which warcio skips
    index = run(VENV_BIN / "cdxj-indexer", path)
    assert index.returncode == 0, index.stderr
    lines = index.stdout.splitlines()
    assert any('"status": "200"' in line and '"mime": "text/html"' in line for line in lines)
    assert any('"mime": "warc/revisit"' in line for line in lines)


def test_rotation_starts_every_file_with_warcinfo_and_keeps_pairs_together(tmp_path: Path) -> None:
    with make_writer(tmp_path, max_size=1500) as writer:
        refs = [exchange(writer, f"{URI}&n={n}", BODY * 40) for n in range(8)]
    files = writer.finished
    assert len(files) >= 3
    assert len({p.name for p in files}) == len(files)
    assert [p.name.split("-")[2] for p in files] == [f"{n:05d}" for n in range(len(files))]
    for path in files:
        records = list(iter_records(path))
        assert records[0].head.type == "warcinfo"
        assert records[0].head.get("WARC-Filename") == path.name
        pairs = records[1:]
        assert [r.head.type for r in pairs] == ["response", "request"] * (len(pairs) // 2)
        assert run("gzip", "-t", path).returncode == 0
    assert {r.file for r in refs} == {p.name for p in files}
    assert not list(tmp_path.glob("*.open"))


def test_file_names_are_unique_across_runs_in_the_same_millisecond(tmp_path: Path) -> None:
    pattern = re.compile(r"TENGZHOU-\d{17}-\d{5}-testhost-4242\.warc\.gz\Z")
    first, second = make_writer(tmp_path), make_writer(tmp_path)
    exchange(first)
    exchange(second)  # first's file is still open: the name is taken
    first.close()
    third = make_writer(tmp_path)
    exchange(third)  # first's finished file now holds serial 00000
    second.close()
    third.close()
    names = [w.finished[0].name for w in (first, second, third)]
    assert len(set(names)) == 3
    assert all(pattern.match(name) for name in names)


def test_host_is_made_safe_for_the_name(tmp_path: Path) -> None:
    with make_writer(tmp_path, host="crawl-01.example/x") as writer:
        exchange(writer)
    assert writer.finished[0].name.endswith("-crawl_01.example_x-4242.warc.gz")


def test_current_path_is_the_open_file_until_close(tmp_path: Path) -> None:
    writer = make_writer(tmp_path)
    assert writer.current_path is None  # no file until the first record
    exchange(writer)
    assert writer.current_path is not None
    assert writer.current_path.name.endswith(".warc.gz.open") and writer.current_path.exists()
    writer.close()
    writer.close()
    assert writer.current_path is None
    with pytest.raises(WarcWriteError, match="closed"):
        exchange(writer)


def test_warcinfo_must_name_the_crawl_and_policy(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="isPartOf"):
        WarcWriter(tmp_path, warcinfo={"robots": "obey", "http-header-user-agent": "UA",
                                       "operator": "me"})


def test_default_warcinfo_names_software_and_format(tmp_path: Path) -> None:
    info = {k: v for k, v in INFO.items() if k not in ("software", "version")}
    with WarcWriter(tmp_path, warcinfo=info, host="h") as writer:
        exchange(writer)
    head, block = read_record(writer.finished[0], 0, next(iter_records(writer.finished[0])).length)
    text = block.decode()
    assert text.startswith("software: portal-archive/")
    for field in ("version: ", "format: WARC File Format 1.1\r\n", "conformsTo: http",
                  "robots: obey\r\n", "isPartOf: crawl-2024-05-01\r\n"):
        assert field in text


def test_naive_capture_date_is_refused(tmp_path: Path) -> None:
    with make_writer(tmp_path) as writer, pytest.raises(ValueError, match="timezone"):
        writer.write_exchange(target_uri=URI, date=datetime(2024, 5, 1), ip_address=None,
                              request_head=REQ, response_head=RESP, response_body=BODY)


class FailingFile:
    """Stands in for the open file once the disk is full."""

    def __init__(self, real) -> None:
        self.real = real

    def write(self, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    def __getattr__(self, name: str):
        return getattr(self.real, name)


def test_io_error_raises_and_stops_the_writer(tmp_path: Path) -> None:
    writer = make_writer(tmp_path)
    good = exchange(writer)
    writer._file = FailingFile(writer._file)
    with pytest.raises(WarcWriteError, match="No space left"):
        exchange(writer)
    with pytest.raises(WarcWriteError, match="failed earlier"):
        exchange(writer)
    writer.close()  # leaves the .open file for recovery, does not pretend it finished
    assert writer.finished == []
    [result] = recover(tmp_path)
    assert result.outcome == "recovered" and result.records == 3
    assert result.new_path is not None and result.new_path.name == good.file


def test_failure_to_create_the_directory_is_typed(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(WarcWriteError):
        make_writer(blocker / "warc")


def test_live_file_is_not_touched_by_another_runs_recovery(tmp_path: Path) -> None:
    writer = make_writer(tmp_path)
    exchange(writer)
    [result] = recover(tmp_path)
    assert result.outcome == "in-use"
    exchange(writer)
    writer.close()
    assert len(list(iter_records(writer.finished[0]))) == 5


def test_writer_recovers_leftovers_on_start(tmp_path: Path) -> None:
    crashed = make_writer(tmp_path)
    exchange(crashed)
    leftover = crashed.current_path
    assert leftover is not None
    crashed._file.close()  # the process "dies": no rename, lock released
    with leftover.open("ab") as fh:
        fh.write(b"\x1f\x8b\x08\x00partial")
    crashed._file = None
    writer = make_writer(tmp_path)
    assert [r.outcome for r in writer.recovered] == ["recovered"]
    assert writer.recovered[0].bytes_dropped == 11
    assert (tmp_path / leftover.name.removesuffix(".open")).exists()


def test_names_carry_host_and_process_id_and_finished_files_are_announced(tmp_path: Path) -> None:
    announced = []
    with WarcWriter(tmp_path, host="worker-7", warcinfo=INFO, max_size=1, on_finish=announced.append) as writer:
        exchange(writer)
        exchange(writer)  # past max_size: the first file is finished and announced before the second starts
        assert announced == writer.finished[:1]
    assert announced == writer.finished and len(announced) == 2
    assert all(p.name.endswith(f"-worker_7-{os.getpid()}.warc.gz") and p.is_file() for p in announced)
