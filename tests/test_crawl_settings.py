"""A crawl option given as a setting (-s NAME=VALUE) does what the option does; an option given wins.

Last wave's defect was `-s ARCHIVE_CONTACT` ignored; the same held for
`-s ARCHIVE_FULL_LISTING` and `-s ARCHIVE_RECHECK` (overwritten by the options'
defaults), `-s ARCHIVE_CRAWL_ID` (the summary and the log named another id)
and `-s ARCHIVE_DATA_DIR` (the summary and the checks looked at ./data).
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from replica.launch import ReplicaProcess

pytestmark = pytest.mark.e2e
ARTICLES = 90  # five list pages of 20


def _crawl(cwd, *args):
    return subprocess.run([sys.executable, "-m", "archive", "crawl", "--quiet", *args], cwd=cwd,
                          capture_output=True, text=True, encoding="utf-8", timeout=600)


def _list_pages(result) -> int:
    return int(re.search(r"(\d+) list pages", result.stdout).group(1))


def test_settings_given_with_s_are_the_options(tmp_path):
    with ReplicaProcess(articles=ARTICLES) as replica:
        first = _crawl(tmp_path, "--replica", replica.base_url, "-s", "ARCHIVE_DATA_DIR=elsewhere",
                       "-s", "ARCHIVE_CRAWL_ID=first-crawl", "-s", "ARCHIVE_MEDIA_ENABLED=0")
        assert first.returncode == 0, first.stdout + first.stderr
        data = tmp_path / "elsewhere"
        assert not (tmp_path / "data").exists()  # nothing went to the default folder
        assert (data / "items" / "first-crawl.jsonl").is_file() and (data / "logs" / "first-crawl.log").is_file()
        assert "Crawl first-crawl " in first.stdout and "items: elsewhere/items/first-crawl.jsonl" in first.stdout
        assert " 0 images" in first.stdout
        # Incremental: the next crawl stops after list pages of known articles ...
        again = _crawl(tmp_path, "--replica", replica.base_url, "--data", str(data))
        assert again.returncode == 0, again.stdout + again.stderr
        # ... unless told to walk them all, as an option or as a setting.
        by_option = _crawl(tmp_path, "--replica", replica.base_url, "--data", str(data), "--full")
        by_setting = _crawl(tmp_path, "--replica", replica.base_url, "--data", str(data),
                            "-s", "ARCHIVE_FULL_LISTING=True")
        assert _list_pages(again) < _list_pages(by_option) == _list_pages(by_setting), (
            again.stdout, by_option.stdout, by_setting.stdout)


def test_an_option_given_wins_over_the_setting(tmp_path):
    with ReplicaProcess(articles=20) as replica:
        result = _crawl(tmp_path, "--replica", replica.base_url, "--data", "chosen", "--no-media",
                        "-s", "ARCHIVE_DATA_DIR=not-this", "-s", "ARCHIVE_MEDIA_ENABLED=1")
        assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "chosen" / "warc").is_dir() and not (tmp_path / "not-this").exists()
    assert " 0 images" in result.stdout


def test_a_bad_value_given_as_a_setting_is_a_usage_error(tmp_path):
    result = _crawl(tmp_path, "--replica", "http://127.0.0.1:9", "-s", "ARCHIVE_RECHECK=sometimes")
    assert result.returncode == 2 and "-s ARCHIVE_RECHECK" in result.stderr and "sometimes" in result.stderr
    assert not (tmp_path / "data").exists()


def test_a_log_file_that_cannot_be_written_is_one_line_not_a_traceback_per_line(tmp_path, capsys):
    import logging

    from archive.cli.crawl import one_line_when_the_log_fails

    path = tmp_path / "crawl.log"
    handler = logging.FileHandler(path)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        one_line_when_the_log_fails(str(path))

        class Full:
            def write(self, text):
                raise OSError(28, "No space left on device")

            def flush(self):
                pass

        handler.stream.close()
        handler.stream = Full()
        for n in range(50):
            logging.getLogger("crawler").warning("line %d of a crawl", n)
    finally:
        root.removeHandler(handler)
    err = capsys.readouterr().err
    assert err.count("cannot be written") == 1 and "No space left on device" in err and "Traceback" not in err
