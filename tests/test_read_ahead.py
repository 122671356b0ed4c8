"""Parsing WARC files in a worker process (`archive.catalogue.read_ahead`) gives exactly `events_from_file`'s events."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from archive.catalogue.read_ahead import ReadAhead
from archive.catalogue.rebuild import warc_files
from archive.catalogue.warc_events import events_from_file

pytestmark = pytest.mark.e2e


@pytest.fixture
def warc(crawled) -> Path:
    return warc_files(crawled["data"])[0]


def _read(events) -> tuple[list, BaseException | None]:
    got = []
    try:
        for event in events:
            got.append(event)
    except Exception as error:  # noqa: BLE001 - compared below
        return got, error
    return got, None


def test_the_same_events_in_the_same_order(warc):
    expected = list(events_from_file(warc))
    assert len(expected) > 300
    with ReadAhead(batch=7, depth=2) as reader:
        assert list(reader.events(warc)) == expected
        assert list(reader.events(warc)) == expected  # the worker goes on with the next file


def test_a_damaged_file_raises_what_reading_it_here_raises(warc, tmp_path):
    cut = tmp_path / warc.name
    data = warc.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    expected, error = _read(events_from_file(cut))
    assert error is not None and len(expected) > 100
    with ReadAhead(batch=16) as reader:
        got, raised = _read(reader.events(cut))
        assert got == expected
        assert type(raised) is type(error) and str(raised) == str(error)
        assert list(reader.events(warc)) == list(events_from_file(warc))  # and it reads the next file


def test_a_worker_killed_midway_leaves_the_file_to_this_process(warc):
    expected = list(events_from_file(warc))
    with ReadAhead(batch=1, depth=1) as reader:
        events = reader.events(warc)
        got = [next(events) for _ in range(10)]
        reader._worker.kill()
        got += list(events)
    assert got == expected


def test_stopping_early_leaves_no_stale_events_for_the_next_file(warc, tmp_path):
    other = tmp_path / ("other-" + warc.name)
    shutil.copy(warc, other)
    with ReadAhead(batch=4, depth=2) as reader:
        for _ in zip(range(5), reader.events(warc)):
            pass
        assert list(reader.events(other)) == list(events_from_file(other))


def test_the_worker_dies_with_a_reindex_killed_with_9(warc, tmp_path):
    """Its queue full and nobody reading, a worker whose parent was killed would wait forever."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script = ("import os, sys\n"
              "from pathlib import Path\n"
              "from archive.catalogue.read_ahead import ReadAhead\n"
              "reader = ReadAhead(batch=1, depth=1)\n"
              "events = reader.events(Path(sys.argv[1]))\n"
              "next(events)\n"
              "print(reader._worker.pid, flush=True)\n"
              "os.kill(os.getpid(), 9)\n")
    child = subprocess.run([sys.executable, "-c", script, str(warc)], capture_output=True, text=True, timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr
    worker = int(child.stdout.split()[0])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return
        if open(f"/proc/{worker}/stat").read().split()[2] == "Z":
            return  # dead, waiting for init to reap it
        time.sleep(0.1)
    os.kill(worker, signal.SIGKILL)
    raise AssertionError("the read-ahead worker outlived its parent")


def test_closing_ends_the_worker_even_when_this_process_handles_sigterm(warc):
    """A forked worker inherits Python's signal handlers; a SIGTERM handler that raises must not keep it alive."""
    import signal

    def refuse(signum, frame):
        raise SystemExit("this process stops its own way")

    previous = signal.signal(signal.SIGTERM, refuse)
    try:
        reader = ReadAhead(batch=8, depth=2)
        assert list(reader.events(warc)) == list(events_from_file(warc))
        worker = reader._worker
        reader.close()
        assert not worker.is_alive() and worker.exitcode == -signal.SIGTERM
    finally:
        signal.signal(signal.SIGTERM, previous)
