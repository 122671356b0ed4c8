"""Crash recovery: an `.open` file cut anywhere is repaired to its complete records."""

from __future__ import annotations

import fcntl
import itertools
import random
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from archive.warc.reader import iter_records
from archive.warc.recovery import recover
from archive.warc.writer import WarcWriter

VENV_BIN = Path(sys.executable).parent
T0 = datetime(2024, 5, 1, 8, tzinfo=timezone.utc)
INFO = {"robots": "obey", "http-header-user-agent": "UA", "operator": "op", "isPartOf": "crawl-1"}


@pytest.fixture(scope="module")
def crashed_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, list[int]]:
    """Bytes of an `.open` file as a killed writer leaves it, and its member ends."""
    directory = tmp_path_factory.mktemp("crash")
    counter = itertools.count()
    writer = WarcWriter(directory, host="h", warcinfo=INFO, clock=lambda: T0,
                        new_id=lambda: f"<urn:uuid:00000000-0000-4000-8000-{next(counter):012d}>")
    rng = random.Random(7)
    for n in range(6):
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(100, 5000)))
        writer.write_exchange(target_uri=f"http://x/{n}", date=T0, ip_address="127.0.0.1",
                              request_head=b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                              response_head=b"HTTP/1.1 200 OK\r\n\r\n", response_body=body)
    path = writer.current_path
    assert path is not None
    data = path.read_bytes()
    writer.close()
    ends = [r.offset + r.length for r in iter_records(writer.finished[0])]
    return data, ends


def cut_positions(size: int, ends: list[int]) -> list[int]:
    rng = random.Random(2024)
    around_ends = [e + d for e in ends for d in (-1, 0, 1) if 0 < e + d <= size]
    return sorted(set(rng.sample(range(1, size), 40) + around_ends + [1, 2, 10, size]))


def test_recover_cuts_back_to_the_last_complete_record(tmp_path: Path, crashed_file) -> None:
    data, ends = crashed_file
    for cut in cut_positions(len(data), ends):
        folder = tmp_path / f"cut-{cut}"
        folder.mkdir()
        leftover = folder / "T-20240501080000000-00000-h.warc.gz.open"
        leftover.write_bytes(data[:cut])
        [result] = recover(folder)
        # Safe cut points: after warcinfo and after each request (a response is
        # written together with the request that follows it).
        complete = [e for i, e in enumerate(ends) if i % 2 == 0 and e <= cut]
        if not complete:
            assert result.outcome == "set-aside"
            assert result.new_path == folder / "T-20240501080000000-00000-h.warc.gz.corrupt"
            assert result.new_path.read_bytes() == data[:cut]  # kept, not deleted
            continue
        final = folder / "T-20240501080000000-00000-h.warc.gz"
        assert result.outcome == "recovered" and result.new_path == final
        assert not leftover.exists()
        assert final.read_bytes() == data[:complete[-1]]
        assert result.records == ends.index(complete[-1]) + 1
        assert result.bytes_dropped == cut - complete[-1]
        assert (result.reason is None) == (cut == complete[-1])
        assert [r.offset + r.length for r in iter_records(final)] == [e for e in ends if e <= complete[-1]]


def test_recovered_files_pass_external_validators(tmp_path: Path, crashed_file) -> None:
    data, ends = crashed_file
    for cut in (ends[2] + 5, ends[-1] - 3, len(data)):
        folder = tmp_path / f"cut-{cut}"
        folder.mkdir()
        (folder / "T-1-00000-h.warc.gz.open").write_bytes(data[:cut])
        [result] = recover(folder)
        gz = subprocess.run(["gzip", "-t", str(result.new_path)], capture_output=True)
        assert gz.returncode == 0, gz.stderr
        check = subprocess.run([str(VENV_BIN / "python"), "-m", "warcio.cli", "check",
                                str(result.new_path)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout


def test_flipped_compressed_byte_stops_recovery_at_that_member(tmp_path: Path, crashed_file) -> None:
    data, ends = crashed_file
    broken = bytearray(data)
    broken[ends[3] + 200] ^= 0xFF  # inside the fifth member
    (tmp_path / "T-1-00000-h.warc.gz.open").write_bytes(bytes(broken))
    [result] = recover(tmp_path)
    # The fourth record is a response whose request is the broken fifth: both go.
    assert result.records == 3 and result.bytes_kept == ends[2]
    assert "corrupt" in (result.reason or "")


def test_empty_open_file_is_set_aside(tmp_path: Path) -> None:
    (tmp_path / "T-1-00000-h.warc.gz.open").write_bytes(b"")
    [result] = recover(tmp_path)
    assert result.outcome == "set-aside" and (tmp_path / "T-1-00000-h.warc.gz.corrupt").exists()


def test_locked_file_is_left_alone(tmp_path: Path, crashed_file) -> None:
    data, _ = crashed_file
    leftover = tmp_path / "T-1-00000-h.warc.gz.open"
    leftover.write_bytes(data[:-7])
    with leftover.open("rb") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        [result] = recover(tmp_path)
    assert result.outcome == "in-use"
    assert leftover.read_bytes() == data[:-7]


def test_recover_ignores_finished_files_and_missing_folders(tmp_path: Path, crashed_file) -> None:
    data, ends = crashed_file
    (tmp_path / "T-1-00000-h.warc.gz").write_bytes(data[: ends[1] + 9])  # not ours to touch
    assert recover(tmp_path) == []
    assert recover(tmp_path / "absent") == []
    shutil.rmtree(tmp_path)
