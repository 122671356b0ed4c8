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


def test_parse_without_a_profile_reads_another_portal_generically(tmp_path):
    """The Tengzhou profile was the default for any URL: another portal's list read as 0 rows, 工业经济."""
    rows = "".join(f'<li><a href="/col/col1234/art_1234_{n}.html">县政府召开常务会议第{n}项</a><span>2024-01-0{n}</span></li>'
                   for n in range(1, 5))
    page = tmp_path / "list.html"
    page.write_text(f"<html><body><ul class='news'>{rows}</ul></body></html>", encoding="utf-8")
    other = json.loads(run(str(page), "--url", "http://www.ceshi.gov.cn/col/col1234/index.html").stdout_bytes)
    assert (other["profile"], other["section"], len(other["rows"]), other["notes"]) == ("generic", None, 4, [])
    # Asked for by name, the profile says why its rows are none.
    named = json.loads(run(str(page), "--url", "http://www.ceshi.gov.cn/col/col1234/index.html", "--as", "list",
                           "--profile", "tengzhou").stdout_bytes)
    assert named["profile"] == "tengzhou" and named["rows"] == []
    assert any("not one of profile tengzhou's hosts" in note for note in named["notes"])
    assert any("no link fits the article pattern of profile tengzhou" in note for note in named["notes"])
    # A Tengzhou URL is still read with the Tengzhou profile.
    own = json.loads(run(str(FIXTURES / "tengzhou_old_template.gbk.html"), "--url", OLD_URL).stdout_bytes)
    assert own["profile"] == "tengzhou"
