"""portal-archive export failures: one line, its own exit code, and never a file under the final name."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive.cli import main
from tests.conftest import sigterm_when
from tests.test_export import make_catalogue


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("export-errors") / "data"
    folder.mkdir()
    make_catalogue(folder)
    return folder


def run(*args: str):
    return CliRunner().invoke(main, ["export", *args], catch_exceptions=False)


def assert_failed(result, code: int, out: Path, words: str, *, existing: tuple[str, ...] = ()) -> None:
    """Exit `code`, `words` in one line on stderr, and nothing written beside `out` (but `existing` files)."""
    assert result.exit_code == code, result.output
    message = result.stderr.strip()
    assert words in message
    assert len(message.splitlines()) == 1 or code == 2 and "Usage:" in message
    assert result.stdout == ""
    folder = out.parent
    if folder.is_dir():
        leftovers = [p.name for p in folder.iterdir() if p.name.startswith(out.name) and p.name not in existing]
        assert leftovers == [], leftovers


def test_unknown_format(data, tmp_path):
    out = tmp_path / "a.doc"
    assert_failed(run("--format", "doc", "--out", str(out), "--data", str(data)), 2, out, "'doc' is not one of")


def test_unknown_field(data, tmp_path):
    out = tmp_path / "a.csv"
    assert_failed(run("--format", "csv", "--out", str(out), "--data", str(data), "--fields", "title,nope"),
                  2, out, "unknown field 'nope'")


def test_out_dash_is_refused_not_a_file_named_dash(data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("--data", str(data), "--format", "jsonl", "--out", "-")
    assert result.exit_code == 2 and "an export is a file" in result.output
    assert not (tmp_path / "-").exists() and not (tmp_path / "-.datapackage.json").exists()


def test_options_that_do_not_go_together(data, tmp_path):
    out = tmp_path / "a.wacz"
    assert_failed(run("--format", "wacz", "--with-media", "--out", str(out), "--data", str(data)), 2, out,
                  "--with-media does not apply to wacz")
    assert_failed(run("--format", "csv", "--since", "2024-01-02", "--until", "2024-01-01", "--out",
                      str(tmp_path / "b.csv"), "--data", str(data)), 2, tmp_path / "b.csv", "is after --until")
    assert_failed(run("--format", "csv", "--since", "2024-13-01", "--out", str(tmp_path / "c.csv"),
                      "--data", str(data)), 2, tmp_path / "c.csv", "Invalid value for '--since'")


def test_empty_selection(data, tmp_path):
    out = tmp_path / "a.parquet"
    assert_failed(run("--format", "parquet", "--since", "2099-01-01", "--out", str(out), "--data", str(data)),
                  5, out, "no article version matches")


@pytest.mark.parametrize("damage", ["missing", "garbage", "not-a-catalogue"])
def test_catalogue_unreadable(tmp_path, damage):
    folder = tmp_path / "data"
    folder.mkdir()
    if damage == "garbage":
        (folder / "catalog.sqlite").write_bytes(b"this is not SQLite" * 100)
    elif damage == "not-a-catalogue":
        sqlite3.connect(folder / "catalog.sqlite").execute("CREATE TABLE t (x)").connection.close()
    out = tmp_path / "out" / "a.csv"
    assert_failed(run("--format", "csv", "--out", str(out), "--data", str(folder)), 6, out, "catalog")


def test_cannot_write(data, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a folder")
    out = blocker / "a.csv"
    assert_failed(run("--format", "csv", "--out", str(out), "--data", str(data)), 3, out, "cannot write")
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    assert_failed(run("--format", "csv", "--out", str(folder), "--data", str(data)), 3, folder, "is a folder",
                  existing=("folder.csv",))


def test_failure_mid_write_leaves_nothing(data, tmp_path, monkeypatch):
    from archive.export import text_writers

    written = []
    original = text_writers.CsvWriter.write

    def write(self, row):
        if len(written) == 10:
            raise OSError(28, "No space left on device")
        written.append(row)
        original(self, row)

    monkeypatch.setattr(text_writers.CsvWriter, "write", write)
    out = tmp_path / "a.csv"
    assert_failed(run("--format", "csv", "--out", str(out), "--data", str(data)), 3, out, "No space left")


def test_an_earlier_export_survives_a_failed_one(data, tmp_path):
    out = tmp_path / "a.csv"
    assert run("--format", "csv", "--out", str(out), "--data", str(data)).exit_code == 0
    before = out.read_bytes()
    result = run("--format", "csv", "--since", "2099-01-01", "--out", str(out), "--data", str(data))
    assert result.exit_code == 5  # nothing selected
    assert out.read_bytes() == before
    assert not list(tmp_path.glob("*.part"))


def test_descriptor_of_another_file_is_not_clobbered(data, tmp_path):
    out = tmp_path / "a.csv"
    unrelated = tmp_path / "a.csv.datapackage.json"
    unrelated.write_text(json.dumps({"name": "someone else's", "resources": [{"path": "other.csv"}]}))
    assert_failed(run("--format", "csv", "--out", str(out), "--data", str(data)), 3, out, "does not describe",
                  existing=(unrelated.name,))
    assert "someone else's" in unrelated.read_text()
    plain = tmp_path / "datapackage.json"
    plain.write_text("{}")
    unrelated.unlink()
    assert run("--format", "csv", "--out", str(out), "--data", str(data)).exit_code == 0
    assert plain.read_text() == "{}"  # a plain datapackage.json is never touched


def point_an_image_at(data: Path, warc_file: str) -> tuple[int, str]:
    """Make the first version with images say its first image is in `warc_file`; (version id, images before)."""
    conn = sqlite3.connect(data / "catalog.sqlite")
    version_id, images = conn.execute("SELECT id, images FROM versions WHERE images != '[]' LIMIT 1").fetchone()
    entries = json.loads(images)
    entries[0]["warc"] = {"file": warc_file, "offset": 0, "length": 100, "record_id": "<urn:uuid:x>"}
    conn.execute("UPDATE versions SET images = ? WHERE id = ?", (json.dumps(entries), version_id))
    conn.commit()
    conn.close()
    return version_id, images


def test_missing_warc_for_media(data, tmp_path):
    version_id, images = point_an_image_at(data, "GONE.warc.gz")
    try:
        out = tmp_path / "m.csv"
        assert_failed(run("--format", "csv", "--with-media", "--out", str(out), "--data", str(data)), 7, out,
                      "GONE.warc.gz")
    finally:
        conn = sqlite3.connect(data / "catalog.sqlite")
        conn.execute("UPDATE versions SET images = ? WHERE id = ?", (images, version_id))
        conn.commit()
        conn.close()


def test_missing_warc_for_wacz(data, tmp_path):
    out = tmp_path / "a.wacz"
    assert_failed(run("--format", "wacz", "--out", str(out), "--data", str(data)), 7, out, "missing")


def test_wacz_packaging_failure(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    make_catalogue(folder)
    (folder / "warc").mkdir()
    for name in ("SYNTHETIC.warc.gz", "SECOND.warc.gz"):
        (folder / "warc" / name).write_bytes(b"not a WARC file at all")
    out = tmp_path / "a.wacz"
    assert_failed(run("--format", "wacz", "--out", str(out), "--data", str(folder)), 3, out,
                  "no record in the packaged WARC")


def test_help_documents_exit_codes():
    result = CliRunner().invoke(main, ["export", "--help"])
    assert result.exit_code == 0
    for line in ("2  bad usage", "5  no article version", "6  catalogue", "3  the output", "7  a WARC"):
        assert line in result.output


def test_query_needs_the_search_index(data, tmp_path):
    """Without an index, an export with a QUERY builds it where it can (as `search` does), else says so."""
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    (copy / "catalog.sqlite").chmod(0o444)
    copy.chmod(0o555)
    try:
        out = tmp_path / "q.csv"
        result = run("--format", "csv", "--out", str(out), "--data", str(copy), "经济")
        if os.geteuid() != 0:  # root writes anyway
            assert_failed(result, 6, out, "search index")
    finally:
        copy.chmod(0o755)
        (copy / "catalog.sqlite").chmod(0o644)
    out = tmp_path / "built.csv"
    assert run("--format", "csv", "--out", str(out), "--data", str(copy), "经济").exit_code == 0


def test_a_query_finds_what_the_index_has_not_caught_up_with(tmp_path):
    """An edit still queued for the index (a crawl interrupted before indexing) was not found by `export QUERY`
    while `search` found it: the export brings the index up to date first, as `search` does."""
    data = tmp_path / "data"
    data.mkdir()
    ids = make_catalogue(data)
    assert CliRunner().invoke(main, ["search", "--data", str(data), "经济"]).exit_code == 0  # the index is built
    conn = sqlite3.connect(data / "catalog.sqlite")
    conn.execute("UPDATE versions SET title = 'zzqx 独一无二的标题' WHERE article_id = ?", (ids["spam"],))
    conn.commit()
    conn.close()
    out = tmp_path / "q.jsonl"
    result = run("--format", "jsonl", "--out", str(out), "--data", str(data), "独一无二")
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["article_id"] for line in out.read_text(encoding="utf-8").splitlines()] == [ids["spam"]]


def test_query_the_search_cannot_take(data, tmp_path):
    out = tmp_path / "q.csv"
    assert_failed(run("--format", "csv", "--out", str(out), "--data", str(data), "！！"), 2, out, "cannot search")


@pytest.mark.parametrize("fmt, images, words", [
    ("csv", "[{not json", "malformed JSON"),
    ("parquet", '[{"url": "http://x/a.jpg", "size": "big"}]', "do not fit"),
    # A hand-edited catalogue: tracebacks (exit 1) before.
    ("jsonl", '[{"url": "http://x/\\ud800"}]', "malformed JSON"),
    ("csv", '{"url": "x"}', "not a list of objects"),
    ("xlsx", '["a", 1, null]', "not a list of objects"),
    ("parquet", '5', "not a list of objects"),
    ("csv", '[{"url": "http://x/a.jpg", "warc": "file.warc.gz"}]', "not a list of objects"),
    # The SQLite copy and Parquet: tracebacks (exit 1) before, in the copy's search index or in pyarrow.
    ("sqlite", '{"url": "x"}', "not a list of objects"),
    ("sqlite", '[{"url": "http://x/a.jpg", "warc": "file.warc.gz"}]', "not a list of objects"),
    ("sqlite", '[{"url": "http://x/\\ud800", "alt": "\\udfff"}]', "malformed JSON"),
    ("parquet", '[{"url": "http://x/a.jpg", "size": 1180591620717411303424}]', "do not fit"),
])
def test_damaged_values_in_the_catalogue(tmp_path, fmt, images, words):
    damaged_value_refused(tmp_path, fmt, "images", images, words)


@pytest.mark.parametrize("fmt, column, value, words", [
    ("parquet", "charset", '"utf-8"', "charset value that is not an object"),
    ("parquet", "xxgk", '["a", "b"]', "xxgk value that is not an object"),
    ("sqlite", "flags", '[{not json', "malformed JSON"),
])
def test_damaged_objects_in_the_catalogue(tmp_path, fmt, column, value, words):
    damaged_value_refused(tmp_path, fmt, column, value, words)


def damaged_value_refused(tmp_path, fmt, column, value, words):
    folder = tmp_path / "data"
    folder.mkdir()
    make_catalogue(folder)
    conn = sqlite3.connect(folder / "catalog.sqlite")
    conn.execute(f"UPDATE versions SET {column} = ? WHERE id = (SELECT max(id) FROM versions)", (value,))
    conn.commit()
    conn.close()
    out = tmp_path / f"a.{fmt}"
    assert_failed(run("--format", fmt, "--out", str(out), "--data", str(folder)), 6, out, words)


def test_sqlite_copy_takes_no_columns_or_media(data, tmp_path):
    out = tmp_path / "a.sqlite"
    assert_failed(run("--format", "sqlite", "--fields", "title", "--out", str(out), "--data", str(data)), 2, out,
                  "--fields does not apply to sqlite")
    assert_failed(run("--format", "sqlite", "--with-media", "--out", str(out), "--data", str(data)), 2, out,
                  "--with-media does not apply to sqlite")


def test_sqlite_copy_is_a_searchable_catalogue_of_the_selection(data, tmp_path):
    from datetime import date

    from archive.catalogue import VersionFilter, open_catalogue
    from archive.search import searchable

    data = shutil.copytree(data, tmp_path / "data")  # the search index built below must stay out of the others' way
    out = tmp_path / "copy" / "sel.sqlite"
    result = run("--format", "sqlite", "--since", "2024-01-01", "--out", str(out), "--data", str(data))
    assert result.exit_code == 0, result.output
    with open_catalogue(tmp_path, f"sqlite:///{out}", readonly=True) as copy, searchable(data) as source:
        selection = list(source.select_versions(VersionFilter(since=date(2024, 1, 1))))
        assert copy.counts()["versions"] == len(selection) > 0
        assert copy.index_status().ready
        word = "化工"
        expected = {hit.version_id for hit in source.search(word, since="2024-01-01", limit=None)
                    if hit.version_id in {row["version_id"] for row in selection}}
        assert {hit.version_id for hit in copy.search(word, limit=None)} == expected
    assert not list((tmp_path / "copy").glob("*.part"))


def test_an_export_never_writes_over_the_catalogue_it_reads_or_into_the_archive(data, tmp_path):
    data = shutil.copytree(data, tmp_path / "data")
    (data / "warc").mkdir(exist_ok=True)
    catalogue = data / "catalog.sqlite"
    before = catalogue.read_bytes()
    for out in (catalogue, data / "warc" / "x.warc.gz", data / "items" / "x.jsonl"):
        result = run("--format", "sqlite" if out == catalogue else "jsonl", "--since", "2024-01-01",
                     "--out", str(out), "--data", str(data))
        assert result.exit_code == 2 and "somewhere else" in result.output, result.output
    assert catalogue.read_bytes() == before and not (data / "warc" / "x.warc.gz").exists()


def test_a_sqlite_copy_is_one_file_that_opens_read_only(data, tmp_path):
    import sqlite3

    out = tmp_path / "copy.sqlite"
    assert run("--format", "sqlite", "--out", str(out), "--data", str(data)).exit_code == 0
    assert not Path(str(out) + "-wal").exists()
    conn = sqlite3.connect(f"file:{out}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("SELECT count(*) FROM versions").fetchone()[0] > 0
    finally:
        conn.close()


def test_a_copy_of_old_versions_refers_only_to_versions_it_holds(data, tmp_path):
    """An article edited since: its first version alone in the copy, which must not name the current one."""
    import sqlite3

    from archive.catalogue import VersionFilter, open_catalogue
    from archive.catalogue.snapshot import snapshot

    with open_catalogue(data, readonly=True) as catalogue:
        row = catalogue.one(
            "SELECT v.article_id AS article, min(v.id) AS first, a.current_version AS current FROM versions v"
            " JOIN articles a ON a.id = v.article_id GROUP BY v.article_id HAVING count(*) > 1 LIMIT 1")
        article, first, current = row["article"], row["first"], row["current"]
        assert first != current
        snapshot(catalogue, tmp_path / "old.sqlite", VersionFilter(versions="all", version_ids=(first,)))
    conn = sqlite3.connect(tmp_path / "old.sqlite")
    try:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("SELECT current_version FROM articles WHERE id = ?", (article,)).fetchone() == (first,)
    finally:
        conn.close()


def test_sigterm_mid_export_is_exit_3_and_leaves_nothing(tmp_path):
    """systemd's stop, `timeout`: the export died with 143 and left its 81 MB NAME.part."""
    data = tmp_path / "data"
    data.mkdir()
    make_catalogue(data)
    point_an_image_at(data, "SLOW.warc.gz")
    (data / "warc").mkdir()
    os.mkfifo(data / "warc" / "SLOW.warc.gz")  # reading it waits for a writer that never comes
    out = tmp_path / "out" / "a.csv"
    code, err = sigterm_when(["export", "--format", "csv", "--with-media", "--out", str(out), "--data", str(data)],
                             lambda: (out.parent / "a.csv.part").exists())
    assert code == 3, err
    assert "interrupted" in err and "Traceback" not in err
    assert [p.name for p in out.parent.iterdir() if not p.name.startswith("media")] == []


@pytest.mark.parametrize("name", ["catalog.sqlite-wal", "catalog.sqlite-shm", "catalog.sqlite-journal", ".lock"])
def test_out_onto_a_file_of_the_catalogue_is_refused(tmp_path, name):
    """--out DATA/catalog.sqlite-wal replaced the WAL: commits not yet in the file were lost."""
    data = tmp_path / "data"
    data.mkdir()
    make_catalogue(data)
    target = data / name
    target.write_bytes(b"kept")
    result = run("--format", "jsonl", "--out", str(target), "--data", str(data))
    assert result.exit_code == 2 and "write the export somewhere else" in result.output
    assert target.read_bytes() == b"kept"


def test_until_the_last_day_there_is_and_dates_that_are_no_dates(tmp_path):
    """--until 9999-12-31 was an OverflowError traceback; '昨天', '' and '2021-13-45' passed date filters as
    text although their published_date is null."""
    data = tmp_path / "data"
    data.mkdir()
    ids = make_catalogue(data)
    conn = sqlite3.connect(data / "catalog.sqlite")
    odd = ids["all"][10:13]
    for article, value in zip(odd, ["昨天", "", "2021-13-45"]):
        conn.execute("UPDATE versions SET published = ? WHERE article_id = ?", (value, article))
    conn.commit()
    dated = conn.execute("SELECT count(*) FROM versions v JOIN articles a ON a.current_version = v.id"
                         " WHERE v.published GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]*'"
                         " AND v.published NOT LIKE '2021-13%'").fetchone()[0]
    conn.close()
    for args in (["--until", "9999-12-31"], ["--since", "1900-01-01"], ["--since", "1900-01-01", "--until", "9999-12-31"]):
        out = tmp_path / "out.jsonl"
        result = run("--format", "jsonl", "--out", str(out), "--data", str(data), *args)
        assert result.exit_code == 0, result.output
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert len(rows) == dated and not {row["article_id"] for row in rows} & set(odd), args
        assert all(row["published_date"] for row in rows)


def test_no_bom_applies_to_csv_only(data, tmp_path):
    out = tmp_path / "a.jsonl"
    result = run("--format", "jsonl", "--no-bom", "--out", str(out), "--data", str(data))
    assert result.exit_code == 2 and "--no-bom applies to csv" in result.output
