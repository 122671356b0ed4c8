"""Bad input to every command: a clear one-line message, a non-zero exit, nothing half-written."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import portal_archive


def _fails(*args: str, code: int | None = None, says: str = "") -> str:
    result = portal_archive(*args, check=False, timeout=120)
    assert result.returncode != 0, (args, result.stdout)
    if code is not None:
        assert result.returncode == code, (args, result.returncode, result.stdout + result.stderr)
    output = result.stdout + result.stderr
    assert "Traceback" not in output, (args, output)
    assert says in output, (args, output)
    return output


@pytest.mark.parametrize("verb", ["crawl", "verify", "reindex", "changes", "runs", "replay", "schedule",
                                  "replica", "parse", "demo", "profile"])
def test_unknown_flag(verb):
    _fails(verb, "--no-such-flag", code=2, says="No such option")


def test_unknown_command():
    _fails("frobnicate", code=2, says="No such command")


def test_missing_data_folder(tmp_path):
    missing = str(tmp_path / "nowhere")
    _fails("verify", "--data", missing, code=2)
    _fails("reindex", "--data", missing, code=2, says="does not exist")
    _fails("replay", "--data", missing, code=2, says="does not exist")
    _fails("changes", "--data", missing, code=6, says="no catalogue")
    _fails("runs", "--data", missing, code=6, says="no catalogue")
    _fails("search", "化工", "--data", missing, code=6, says="no catalogue")
    _fails("show", "1", "--data", missing, code=6, says="no catalogue")
    _fails("export", "--format", "csv", "--out", str(tmp_path / "x.csv"), "--data", missing, code=6,
           says="no catalogue")
    assert not (tmp_path / "nowhere").exists()


def test_bad_values(tmp_path):
    _fails("changes", "--since", "yesterday", code=2, says="is not a date")
    _fails("crawl", "--data", str(tmp_path), "-s", "NOEQUALS", code=2, says="NAME=VALUE")
    _fails("crawl", "--data", str(tmp_path), "--profile", "no-such-portal", code=2)
    _fails("crawl", "--data", str(tmp_path), "--recheck", "sometimes", code=2)
    _fails("schedule", "--every", "0s", code=2)
    _fails("replica", "serve", "--articles", "0", code=2)
    _fails("parse", str(tmp_path / "missing.html"), "--url", "http://x/", code=2)


@pytest.mark.parametrize(("setting", "says"), [
    ("DOWNLOAD_DELAY=abc", "not a number"), ("DOWNLOAD_DELAY=-1", "at least 0"),
    ("CONCURRENT_REQUESTS_PER_DOMAIN=0", "at least 1"),  # hung the crawl for ever
    ("ARCHIVE_KNOWN_PAGES_STOP=x", "not a whole number"),  # a traceback
    ("ARCHIVE_RETRY_AFTER_MAX=nan", "not a finite number"), ("ROBOTSTXT_OBEY=yes", "not a switch"),
    ("AUTOTHROTTLE_TARGET_CONCURRENCY=0", "more than 0"), ("ARCHIVE_WARC_COMPRESSLEVEL=12", "at most 9"),
])
def test_a_setting_given_a_value_it_cannot_hold_is_bad_usage(tmp_path, setting, says):
    """Such values stopped the crawl inside Scrapy (exit 3 with a ValueError, or a traceback), or hung it."""
    output = _fails("crawl", "--data", str(tmp_path / "d"), "--replica", "http://127.0.0.1:9", "-s", setting,
                    code=2, says=says)
    assert f"-s {setting.partition('=')[0]}: " in output
    assert not (tmp_path / "d").exists()


def test_bad_sections(tmp_path):
    _fails("crawl", "--data", str(tmp_path / "d"), "--section", "no such", code=2,
           says="no section 'no such' in profile 'tengzhou'; its sections: 工业经济")
    # Given as settings, the same are checked before anything starts.
    _fails("crawl", "--data", str(tmp_path / "d"), "-s", "ARCHIVE_SECTIONS=no such", code=2,
           says="no section 'no such' in profile 'tengzhou'")
    _fails("crawl", "--data", str(tmp_path / "d"), "-s", f"ARCHIVE_PROFILE={tmp_path / 'missing.toml'}", code=2,
           says="missing.toml")
    two = tmp_path / "two.toml"
    bundled = (Path(__file__).parents[1] / "crawler" / "profiles" / "tengzhou.toml").read_text(encoding="utf-8")
    second = bundled[bundled.index("\n[[sections]]"):].replace('name = "工业经济"', 'name = "政务要闻"')
    two.write_text(bundled + "\n" + second, encoding="utf-8")
    _fails("crawl", "--data", str(tmp_path / "d"), "--profile", str(two), "--url", "http://127.0.0.1:9/x/index.html",
           code=2, says="a start URL is for one section: name it (--section)")
    _fails("profile", "new", "--out", str(tmp_path / "x.toml"), code=2, says="Missing argument")
    _fails("profile", "check", str(tmp_path / "missing.toml"), code=2, says="cannot read profile file")
    assert not (tmp_path / "d").exists() and not (tmp_path / "x.toml").exists()


def test_unreachable_portal_fails_with_3(tmp_path):
    out = _fails("crawl", "--url", "http://127.0.0.1:9/xwzx/gyjj/index.html", "--data", str(tmp_path / "d"),
                 "--quiet", "-s", "RETRY_TIMES=0", code=3)
    assert "no list page could be read" in out


def test_corrupt_catalogue(tmp_path):
    (tmp_path / "catalog.sqlite").write_bytes(b"this is not a database" * 100)
    _fails("changes", "--data", str(tmp_path), code=6, says="not a readable catalogue")
    _fails("runs", "--data", str(tmp_path), code=6, says="not a readable catalogue")
    _fails("search", "化工", "--data", str(tmp_path), code=6, says="not a readable catalogue")


@pytest.mark.e2e
def test_corrupt_warc_is_reported_and_the_catalogue_kept(crawled, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(crawled["data"], data)
    before = sqlite3.connect(data / "catalog.sqlite").execute("SELECT count(*) FROM versions").fetchone()[0]
    warc = next((data / "warc").glob("*.warc.gz"))
    raw = bytearray(warc.read_bytes())
    raw[len(raw) // 2: len(raw) // 2 + 64] = b"\x00" * 64
    warc.write_bytes(bytes(raw))
    out = _fails("verify", "--data", str(data), code=1)
    assert warc.name in out
    _fails("reindex", "--data", str(data), code=7, says="cannot read a WARC file")
    after = sqlite3.connect(data / "catalog.sqlite").execute("SELECT count(*) FROM versions").fetchone()[0]
    assert after == before
    assert not list(data.glob("catalog.sqlite.rebuild*"))


def test_a_crawl_on_a_damaged_catalogue_says_how_to_rebuild_it_before_starting(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "catalog.sqlite").write_bytes(b"\x00garbage" * 4096)
    output = _fails("crawl", "--replica", "http://127.0.0.1:9", "--data", str(data), "--quiet", code=6,
                    says="portal-archive reindex --data")
    assert "Unhandled error" not in output
    assert not (data / "warc").exists() or not any((data / "warc").iterdir())  # nothing was fetched


def test_a_crawl_that_cannot_open_its_outputs_fails_in_its_summary_not_in_a_traceback(tmp_path):
    from replica.launch import ReplicaProcess

    data = tmp_path / "data"
    data.mkdir()
    (data / "warc").write_text("a file where the WARC folder goes")
    with ReplicaProcess(articles=10) as replica:
        output = _fails("crawl", "--replica", replica.base_url, "--data", str(data), "--quiet", code=3,
                        says="WARC writer: FileExistsError")
    assert "Unhandled error" not in output
