"""What researchers type at `search`, `show`, `runs` and `changes` that the commands must refuse or answer
plainly: no traceback, the documented exit code."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from archive.cli import main
from tests.test_export import make_catalogue


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("researcher") / "data"
    folder.mkdir()
    return folder, make_catalogue(folder)


def run(*args):
    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize("args", [
    ("search", "经济", "--offset", "9223372036854775807"),
    ("search", "经济", "--limit", "99999999999999999999"),
    ("runs", "--limit", "99999999999999999999"),
    ("changes", "--limit", "99999999999999999999"),
])
def test_numbers_past_what_the_database_holds_are_bad_usage(data, args):
    """They were tracebacks on SQLite (OverflowError) and exit 6 ('catalogue outdated') on PostgreSQL."""
    result = run(*args, "--data", str(data[0]))
    assert result.exit_code == 2, result.output
    assert "range" in result.output and not isinstance(result.exception, OverflowError)


@pytest.mark.parametrize("ref", ["99999999999999999999", "9223372036854775808", "http://[::1", "http://[::1]:99999/x"])
def test_show_of_what_names_no_article_is_nothing_found(data, ref):
    result = run("show", ref, "--data", str(data[0]))
    assert result.exit_code == 5, result.output
    assert "no article with" in result.output


def test_show_takes_the_id_as_search_prints_it(data):
    folder, ids = data
    article = next(iter(ids.values()))
    plain, marked = run("show", str(article), "--data", str(folder)), run("show", f"#{article}", "--data", str(folder))
    assert plain.exit_code == marked.exit_code == 0, marked.output
    assert plain.output == marked.output


def test_runs_does_not_call_a_killed_crawl_plainly_running(tmp_path):
    """A crawl killed with -9 stayed 'running' in `runs` until the next crawl settled it."""
    import sqlite3

    from archive.lock import DataLock

    folder = tmp_path / "data"
    folder.mkdir()
    make_catalogue(folder)
    conn = sqlite3.connect(folder / "catalog.sqlite")
    conn.execute("UPDATE crawls SET status = 'running', finished = NULL, exit_code = NULL")
    conn.commit()
    conn.close()
    shown = run("runs", "--data", str(folder)).output
    assert " running? " in shown and "no crawl holds" in shown
    with DataLock(folder):  # a crawl at work in the folder: running it is
        shown = run("runs", "--data", str(folder)).output
    assert " running? " not in shown and " running " in shown
