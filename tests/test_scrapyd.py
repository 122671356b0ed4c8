"""The spider under a real Scrapyd on loopback: deploy, schedule.json, items archived."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from replica.launch import ReplicaProcess, free_port
from tests.conftest import ROOT, read_jsonl

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BIN = Path(sys.executable).parent


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


def _post(url: str, fields: list[tuple[str, str]]) -> dict:
    data = urllib.parse.urlencode(fields).encode()
    with urllib.request.urlopen(url, data=data, timeout=30) as answer:
        return json.loads(answer.read())


@pytest.fixture
def scrapyd(tmp_path):
    port = free_port()
    (tmp_path / "scrapyd.conf").write_text(
        f"[scrapyd]\nbind_address = 127.0.0.1\nhttp_port = {port}\n"
        f"eggs_dir = {tmp_path / 'eggs'}\nlogs_dir = {tmp_path / 'logs'}\nitems_dir =\n"
        f"dbs_dir = {tmp_path / 'dbs'}\njobs_to_keep = 5\nmax_proc = 2\n", encoding="utf-8")
    process = subprocess.Popen([str(BIN / "scrapyd")], cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if _get(base + "/daemonstatus.json")["status"] == "ok":
                break
        except OSError:
            time.sleep(0.3)
    else:
        process.kill()
        raise AssertionError("scrapyd did not start: " + process.stderr.read().decode(errors="replace"))
    yield base, tmp_path
    process.terminate()
    process.wait(timeout=30)


def test_deploy_schedule_and_archive(scrapyd):
    base, folder = scrapyd
    env = dict(os.environ, PORTAL_ARCHIVE_SCRAPYD_URL=base + "/")
    deploy = subprocess.run([str(BIN / "scrapyd-deploy"), "other", "-v", "test1"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert deploy.returncode == 0 and '"status": "ok"' in deploy.stdout, deploy.stdout + deploy.stderr
    assert "gongye" in _get(base + "/listspiders.json?project=portal_archive")["spiders"]
    data = folder / "data"
    with ReplicaProcess(articles=40) as replica:
        job = _post(base + "/schedule.json", [
            ("project", "portal_archive"), ("spider", "gongye"), ("replica", replica.base_url),
            ("setting", f"ARCHIVE_DATA_DIR={data}"),
        ])
        assert job["status"] == "ok", job
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            jobs = _get(base + "/listjobs.json?project=portal_archive")
            if any(j["id"] == job["jobid"] for j in jobs["finished"]):
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"the job did not finish: {jobs}")
    items = read_jsonl(next((data / "items").glob("*.jsonl")))
    assert len(items) == 40
    assert list((data / "warc").glob("*.warc.gz"))
    verify = subprocess.run([sys.executable, "-m", "archive", "verify", "--data", str(data)], cwd=ROOT,
                            capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
