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


def test_changes_with_an_empty_query_is_bad_usage(data):
    """`changes -q ''` listed every change, as if no query had been given; `search ''` is exit 2."""
    for query in ("", "   ", "。"):
        result = run("changes", "-q", query, "--data", str(data[0]))
        assert result.exit_code == 2, (query, result.output)
        assert "--query" in result.output and "nothing to search for" in result.output


@pytest.mark.parametrize("option", ["--site", "--section"])
def test_changes_of_a_site_or_section_never_seen_is_nothing_found(data, option):
    """A mistyped --site or --section listed "0 new, 0 edited, 0 withdrawn", exit 0, as if nothing had changed
    (a mistyped --crawl is exit 5 for the same reason): exit 5, naming the known ones."""
    from archive.catalogue import open_catalogue

    with open_catalogue(data[0], readonly=True) as catalogue:
        known = catalogue.facet_values(option[2:])
    assert known
    listed = run("changes", option, known[0], "--data", str(data[0]), "--no-diff")
    assert listed.exit_code == 0 and "new" in listed.output
    for value in (known[0].upper() + "x", "nope"):
        for args in ((option, value), (option, known[0], option, value)):
            result = run("changes", *args, "--data", str(data[0]))
            assert result.exit_code == 5, (args, result.output)
            assert f"no {option[2:]} {value!r} in the catalogue" in result.output and known[0] in result.output
    blank = run("changes", option, " ", "--data", str(data[0]))
    assert blank.exit_code == 2 and f"{option} needs a name" in blank.output


def test_changes_checks_its_filters_alike_on_postgresql(tmp_path, postgres_url, monkeypatch):
    from archive.catalogue import ENVIRONMENT, open_catalogue
    from replica.synthetic_catalogue import fill_synthetic

    monkeypatch.setenv(ENVIRONMENT, postgres_url)
    with open_catalogue(tmp_path, postgres_url) as catalogue:
        fill_synthetic(catalogue, 20, bulk=True)
        site, section = catalogue.facet_values("site")[0], catalogue.facet_values("section")[0]
    assert run("changes", "-q", "", "--data", str(tmp_path)).exit_code == 2
    for option, known in (("--site", site), ("--section", section)):
        result = run("changes", option, "nope", "--data", str(tmp_path))
        assert result.exit_code == 5 and known in result.output, result.output
    found = run("changes", "--site", site, "--section", section, "-q", "化", "--data", str(tmp_path), "--no-diff")
    assert found.exit_code == 0 and "new" in found.output, found.output


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_changes_are_listed_in_date_order_and_the_newest_n_are_the_last_n(tmp_path, backend, request, monkeypatch):
    """`changes` listed every new and edited version, then every withdrawal, so a withdrawal seen before an
    edit came after it (docs/watch.md: oldest first), and `--limit N` (the newest N, by date) was not the last
    N lines.  One order now, the two lists merged as they are read."""
    import json

    from archive.catalogue import ENVIRONMENT, open_catalogue
    from replica.synthetic_catalogue import CRAWL_ID, fill_synthetic

    url = request.getfixturevalue("postgres_url") if backend == "postgresql" else f"sqlite:{tmp_path / 'c.sqlite'}"
    monkeypatch.setenv(ENVIRONMENT, url)
    with open_catalogue(tmp_path, url) as catalogue:
        fill_synthetic(catalogue, 12, bulk=True)
        seen = catalogue.scalar("SELECT max(first_seen) AS t FROM versions")
        catalogue.execute("UPDATE versions SET first_seen = '2099-03-01T00:00:00.000000Z' WHERE article_id = 2")
        for article, detected in ((3, "2099-02-15T00:00:00.000000Z"), (4, "2099-03-02T00:00:00.000000Z")):
            catalogue.execute("INSERT INTO withdrawals (article_id, crawl_id, detected, how) VALUES (?, ?, ?, '404')",
                              (article, CRAWL_ID, detected))
            catalogue.execute("UPDATE articles SET status = 'withdrawn' WHERE id = ?", (article,))
        catalogue.commit()
    listed = run("changes", "--json", "--no-diff", "--data", str(tmp_path))
    assert listed.exit_code == 0, listed.output
    changes = [json.loads(line) for line in listed.output.splitlines()]
    assert [change["date"] for change in changes] == sorted(change["date"] for change in changes)
    assert [(change["change"], change["article_id"]) for change in changes[-3:]] == [
        ("withdrawn", 3), ("new", 2), ("withdrawn", 4)]
    assert changes[0]["date"] <= seen < changes[-3]["date"]
    for newest in (1, 2, 3, 5):
        limited = run("changes", "--json", "--no-diff", "--limit", str(newest), "--data", str(tmp_path))
        assert [json.loads(line) for line in limited.output.splitlines()] == changes[-newest:]
    text = run("changes", "--no-diff", "--data", str(tmp_path)).output
    assert text.index("WITHDRAWN (404)") < text.index("2099-03-01T00:00:00")
