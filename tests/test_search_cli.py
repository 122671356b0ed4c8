"""`portal-archive search` and `show` through the real command line (click's CliRunner), on both backends."""

from __future__ import annotations

import json
import re

import pytest

from archive.catalogue import ENVIRONMENT, open_catalogue
from archive.catalogue.sqlite import SqliteCatalogue, catalogue_path
from replica.synthetic_catalogue import BASE_URL, fill_synthetic
from tests.conftest import cli
from tests.test_search import withdraw

SEED_URL = BASE_URL + "/xwzx/gyjj/202103/t20210315_6187593.html"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend(request, tmp_path_factory):
    """(data folder, catalogue URL or None): a 150-article catalogue with, at first, no search index."""
    folder = tmp_path_factory.mktemp("data")
    if request.param == "sqlite":
        catalogue, url = SqliteCatalogue.open(catalogue_path(folder)), None
    else:
        server = request.getfixturevalue("postgres")
        url = server.create_database()
        request.addfinalizer(lambda: server.drop_database(url))
        catalogue = open_catalogue(folder, url)
    fill_synthetic(catalogue, 150, bulk=True)
    catalogue.close()
    return folder, url


@pytest.fixture
def data(backend, monkeypatch):
    folder, url = backend
    if url:
        monkeypatch.setenv(ENVIRONMENT, url)
    else:
        monkeypatch.delenv(ENVIRONMENT, raising=False)
    return folder


run = cli


def seed_id(data) -> int:
    with open_catalogue(data, readonly=True) as catalogue:
        return catalogue.article_id_at(SEED_URL)


def test_first_search_builds_the_index_then_lists_hits(data):
    first = run("search", "攻坚五问", "--data", str(data))
    assert first.exit_code == 0, first.output
    assert "Building the search index" in first.stderr
    assert "攻坚五问" in first.stdout and f"#{seed_id(data)}" in first.stdout and "2021-03-15" in first.stdout
    assert "«攻坚五问»" in first.stdout and re.search(r"^1 match\b", first.stdout, re.M)
    again = run("search", "攻坚五问", "--data", str(data))
    assert again.exit_code == 0 and "Building" not in again.stderr


def test_options_and_json_lines(data):
    result = run("search", "化工", "-园区", "--data", str(data), "--order", "date", "--limit", "3", "--json")
    assert result.exit_code == 0, result.output
    hits = [json.loads(line) for line in result.stdout.splitlines()]
    assert 0 < len(hits) <= 3 and re.search(r"^\d+ match", result.stderr)
    dates = [hit["published"][:10] for hit in hits]
    assert dates == sorted(dates, reverse=True)
    assert all("化工" in hit["snippet"] or "化工" in hit["title"] for hit in hits)
    seed = run("search", "工业强市", "--data", str(data), "--since", "2021-03-15", "--until", "2021-03-15",
               "--flag", "any", "--has-images", "--source", "官桥镇", "--json")
    assert [json.loads(line)["article_id"] for line in seed.stdout.splitlines()] == [seed_id(data)]


@pytest.mark.parametrize("args, message", [
    (["化工", "--since", "2021-02-30"], "not a date"),
    (["化工", "--until", "yesterday"], "not a date"),
    (["，。！"], "nothing to search for"),
    (["-化工"], "only excludes"),
    (["化工", "--limit", "0"], "--limit"),
    (["化工", "--nonsense"], "No such option"),
])
def test_bad_usage_exits_2(data, args, message):
    result = run("search", *args, "--data", str(data))
    assert result.exit_code == 2 and message in result.output


def test_words_after_a_double_dash_are_the_query_even_when_they_look_like_options(data):
    """--help says `--` stops option parsing, but `search -- ----` and `search -- --since` were refused as
    unknown options: the words reach the query language, which decides."""
    dashes = run("search", "--data", str(data), "--", "----")
    assert dashes.exit_code == 2 and "nothing to search for" in dashes.output and "No such option" not in dashes.output
    since = run("search", "--data", str(data), "--", "--since")
    assert since.exit_code == 2 and "only excludes" in since.output
    quoted = run("search", "--data", str(data), "--", '"--since"')
    assert quoted.exit_code == 0 and re.search(r"^0 matches", quoted.stdout, re.M), quoted.output
    excluded = run("search", "--data", str(data), "--json", "--", "化工", "--since")  # 化工, without "-since"
    plain = run("search", "--data", str(data), "--json", "化工")
    assert excluded.exit_code == 0 and excluded.stdout == plain.stdout and excluded.stdout
    # Before a `--` (or with `--` as an option's value) a mistyped option is still one.
    for args in (["化工", "--bogus", "--", "园区"], ["--source", "--", "化工", "--bogus"]):
        typo = run("search", "--data", str(data), *args)
        assert typo.exit_code == 2 and "No such option '--bogus'" in typo.output, args


def test_missing_catalogue_is_one_line_and_exit_6(tmp_path, monkeypatch):
    monkeypatch.delenv(ENVIRONMENT, raising=False)
    result = run("search", "化工", "--data", str(tmp_path / "nowhere"))
    assert result.exit_code == 6
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1 and "no catalogue" in result.stderr
    assert not (tmp_path / "nowhere").exists()  # searching creates nothing
    shown = run("show", "1", "--data", str(tmp_path / "nowhere"))
    assert shown.exit_code == 6 and "no catalogue" in shown.stderr


def test_changes_since_indexing_are_applied_before_searching(data):
    assert run("search", "化工", "--data", str(data)).exit_code == 0  # the index exists
    with open_catalogue(data) as catalogue:
        withdraw(catalogue, seed_id(data))
    result = run("search", "攻坚五问", "--data", str(data))
    assert "Indexing 1 changed articles" in result.stderr and result.stdout.startswith("0 matches")
    withdrawn = run("search", "攻坚五问", "--withdrawn", "--data", str(data))
    assert "[withdrawn" in withdrawn.stdout and "Indexing" not in withdrawn.stderr
