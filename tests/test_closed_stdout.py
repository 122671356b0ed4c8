"""A reader that goes away (`| head`, a pager quit, a dead log shipper) changes no command's outcome.

The crawl still sends its alerts and exits with its own code; a command's exit
code is its own, not 1 for a broken pipe; no traceback.  The reader here is
gone before the command writes its first byte, so every write meets EPIPE.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from replica.launch import ReplicaProcess
from tests.conftest import ROOT
from tests.test_watch_notify import Webhook


def _run_without_reader(*args: str) -> tuple[int, str]:
    process = subprocess.Popen([sys.executable, "-m", "archive", *args], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, encoding="utf-8")
    process.stdout.close()  # the reader is gone before the command says anything
    stderr = process.stderr.read()
    return process.wait(timeout=600), stderr


@pytest.mark.e2e
def test_a_crawl_whose_reader_left_still_alerts_and_exits_with_its_outcome(tmp_path):
    hook = Webhook()
    try:
        with ReplicaProcess(articles=30) as replica:
            code, stderr = _run_without_reader("crawl", "--replica", replica.base_url, "--data",
                                               str(tmp_path / "data"), "--quiet",
                                               "--notify", f"json://127.0.0.1:{hook.port}/hook")
    finally:
        hook.close()
    assert code == 0, stderr
    assert "Traceback" not in stderr and "Broken pipe" not in stderr
    assert len(hook.received) == 1 and "30" in str(hook.received[0]["body"])
    assert len(list((tmp_path / "data" / "items").glob("*.jsonl"))) == 1


def test_read_only_commands_keep_their_exit_codes(crawled):
    data = str(crawled["data"])
    for args, expected in ((("search", "化工", "--data", data), 0), (("verify", "--data", data), 0),
                           (("changes", "--data", data, "--json"), 0), (("runs", "--data", data), 0),
                           (("search", "no-such-word-anywhere", "--data", data), 0),
                           (("show", "999999", "--data", data), 5)):
        code, stderr = _run_without_reader(*args)
        assert (code, "Traceback" in stderr) == (expected, False), (args, stderr)
