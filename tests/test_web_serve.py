"""`portal-archive serve` refusing to start, with a reason: no data, port taken, pywb missing or failing."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from click.testing import CliRunner

from archive.cli import main
from tests.test_web_media import build_archive


@pytest.fixture
def data(tmp_path):
    build_archive(tmp_path / "data")
    return tmp_path / "data"


def serve(*args: str):
    return CliRunner().invoke(main, ["serve", *args])


def test_missing_data_folder_is_a_usage_error(tmp_path):
    result = serve("--data", str(tmp_path / "nothing"))
    assert result.exit_code == 2
    assert "crawl something first" in result.output


def test_port_taken(data, monkeypatch):
    monkeypatch.setattr("archive.cli.serve.find_wayback", lambda: "/bin/false")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = serve("--data", str(data), "--port", str(port), "--replay-port", "0")
        assert result.exit_code == 2  # bad usage: choose another port
        assert f"cannot listen on 127.0.0.1:{port}" in result.output and "--port" in result.output
        result = serve("--data", str(data), "--port", "0", "--replay-port", str(port))
        assert result.exit_code == 2 and "--replay-port" in result.output


def test_pywb_missing(data, tmp_path, monkeypatch):
    monkeypatch.delenv("PORTAL_ARCHIVE_WAYBACK", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr("archive.replay.PROJECT_ROOT", tmp_path)  # no .venv-pywb beside it
    result = serve("--data", str(data))
    assert result.exit_code == 8  # a program unavailable
    assert "wayback` was not found" in result.output


def test_a_child_that_dies_is_reported_with_its_log(data, tmp_path, monkeypatch):
    broken = tmp_path / "wayback"
    broken.write_text("#!/bin/sh\necho 'pywb cannot start: broken on purpose' >&2\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setattr("archive.cli.serve.find_wayback", lambda: str(broken))
    result = serve("--data", str(data), "--port", "0", "--replay-port", "0")
    assert result.exit_code == 3  # failed
    assert "pywb exited with code 3" in result.output and "broken on purpose" in result.output


def test_a_running_crawl_makes_serve_read_the_catalogue_live(data, capsys):
    from archive.cli.serve import prepare

    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from archive.lock import DataLock; DataLock(sys.argv[1]).acquire();"
         " print('held', flush=True); time.sleep(60)", str(data)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert prepare(data) is False  # not immutable: the crawl may write while we serve
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert prepare(data) is True
    assert "serving the catalogue live" in capsys.readouterr().err


def test_a_data_folder_that_cannot_be_written_is_one_line_and_exit_3(data, monkeypatch):
    import errno

    def read_only(folder):
        raise OSError(errno.EROFS, "Read-only file system", str(folder / ".lock"))

    monkeypatch.setattr("archive.cli.serve.find_wayback", lambda: "/bin/false")
    monkeypatch.setattr("archive.cli.serve.prepare", read_only)
    result = serve("--data", str(data), "--port", "0", "--replay-port", "0")
    assert result.exit_code == 3 and "Read-only file system" in result.output and ".lock" in result.output
    assert "Traceback" not in result.output


def test_working_folders_of_serves_killed_with_9_are_removed_by_the_next(tmp_path, monkeypatch):
    import os
    import tempfile

    from archive.cli.serve import WORKDIR_PREFIX, serve_workdir

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    gone = tmp_path / f"{WORKDIR_PREFIX}{dead.pid}-abcd"
    mine = tmp_path / f"{WORKDIR_PREFIX}{os.getpid()}-efgh"
    unknown = tmp_path / f"{WORKDIR_PREFIX}xyz"  # an older serve's: whether it runs is unknown, so it stays
    for folder in (gone, mine, unknown):
        folder.mkdir()
        (folder / "catalog.sqlite").write_bytes(b"x" * 1000)
    made = serve_workdir()
    assert made.parent == tmp_path and made.name.startswith(f"{WORKDIR_PREFIX}{os.getpid()}-")
    assert not gone.exists() and mine.exists() and unknown.exists()


def test_a_snapshot_says_when_it_was_taken_on_datasettes_pages():
    from archive.web.app import metadata

    described = metadata(snapshot_taken="2026-12-03 04:00:00 +0000")["databases"]["catalog"]["description"]
    assert "snapshot" in described and "2026-12-03 04:00:00" in described
    assert "description" not in metadata()["databases"]["catalog"]
