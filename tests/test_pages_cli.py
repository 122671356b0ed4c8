"""`portal-archive parse`: a saved page's fields as UTF-8 JSON."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from archive.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "pages"
OLD_URL = "http://www.tengzhou.gov.cn/xwzx/gyjj/201503/t20150315_1234567.html"


def run(*args: str):
    return CliRunner().invoke(main, ["parse", *args])


def test_parse_prints_unescaped_utf8_json():
    result = run(str(FIXTURES / "tengzhou_old_template.gbk.html"), "--url", OLD_URL)
    assert result.exit_code == 0, result.output
    assert "我市一季度工业经济实现开门红" in result.stdout_bytes.decode("utf-8")
    fields = json.loads(result.stdout_bytes)
    assert (fields["title"], fields["published"], fields["charset"]["used"], fields["extractor"]) == (
        "我市一季度工业经济实现开门红", "2015-03-15", "gbk", "gov-article/2")


def test_parse_with_forced_encoding_and_generic_profile():
    result = run(str(FIXTURES / "tengzhou_old_template.gbk.html"), "--url", OLD_URL,
                 "--encoding", "gbk", "--profile", "generic")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout_bytes)["source"] == "滕州日报"


def test_missing_file_exits_2_with_a_message(tmp_path):
    result = run(str(tmp_path / "nope.html"), "--url", OLD_URL)
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_unknown_profile_and_encoding_are_clean_errors():
    page = str(FIXTURES / "empty_page.html")
    result = run(page, "--url", OLD_URL, "--profile", "nosuch")
    assert (result.exit_code, result.output.strip()) == (2, "Error: no bundled profile named 'nosuch'")
    result = run(page, "--url", OLD_URL, "--encoding", "klingon")
    assert result.exit_code == 2 and "unknown encoding 'klingon'" in result.output
