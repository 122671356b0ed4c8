"""Documentation kept honest: every setting and every command is in the README."""

from __future__ import annotations

from click.testing import CliRunner

from archive.cli import VERBS, main
from crawler.options import markdown_table
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_settings_table_is_current():
    start = README.index("<!-- settings-table -->") + len("<!-- settings-table -->\n")
    end = README.index("<!-- /settings-table -->")
    assert README[start:end].strip() == markdown_table(), "run: python -m crawler.options, paste into README.md"


def test_every_command_has_help_and_is_documented():
    runner = CliRunner()
    assert runner.invoke(main, ["--help"]).exit_code == 0
    for verb in VERBS:
        result = runner.invoke(main, [verb, "--help"])
        assert result.exit_code == 0, (verb, result.output)
        assert f"portal-archive {verb}" in README, f"{verb} is not in the README"


def test_readme_gives_the_two_commands():
    assert "make demo" in README and "make test" in README


def test_exit_code_table_is_current():
    from archive.exits import markdown_table as exit_codes

    start = README.index("<!-- exit-codes -->") + len("<!-- exit-codes -->\n")
    end = README.index("<!-- /exit-codes -->")
    assert README[start:end].strip() == exit_codes(), "run: python -c 'from archive.exits import markdown_table'"
