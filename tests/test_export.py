"""portal-archive export on a synthetic catalogue: every format round-trips, filters, fields, datapackage."""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
import types
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from replica.synthetic_catalogue import build_synthetic_catalogue
from archive.cli import main
from archive.export import ExportRequest, Selection, export

ARTICLES = 60
LONG_BODY = "长" * 40_000
TRICKY_BODY = '第一段,含"引号"和逗号。\n\n第二段\r\n第三段 "end"'
SECOND_CRAWL = "20260201T000000000Z"
MEDIA_KEYS = {
    "images": ("url", "alt", "caption", "status", "content_type", "size", "digest",
               "warc_file", "warc_offset", "warc_length", "warc_record_id", "error"),
    "attachments": ("url", "name", "status", "content_type", "size", "digest",
                    "warc_file", "warc_offset", "warc_length", "warc_record_id", "error"),
}


def make_catalogue(data: Path) -> dict:
    """A synthetic catalogue with the cases exports must handle; returns their article ids."""
    path = data / "catalog.sqlite"
    build_synthetic_catalogue(path, ARTICLES)
    conn = sqlite3.connect(path)
    ids = [row[0] for row in conn.execute("SELECT id FROM articles ORDER BY id")]
    tricky, versioned, withdrawn, long_body, spam, timed = ids[:6]
    conn.execute("UPDATE versions SET body_text = ?, title = '=SUM(1,2) 标题' WHERE article_id = ?",
                 (TRICKY_BODY, tricky))
    conn.execute("UPDATE versions SET body_text = ? WHERE article_id = ?", (LONG_BODY, long_body))
    conn.execute("UPDATE versions SET flags = '[\"spam_keywords\"]' WHERE article_id = ?", (spam,))
    conn.execute("UPDATE versions SET published = '2024-05-06T09:30:00+08:00' WHERE article_id = ?", (timed,))
    # A second version of one article, from a second crawl.
    conn.execute("INSERT INTO crawls (id, started, finished, status) VALUES (?,?,?,?)",
                 (SECOND_CRAWL, "2026-02-01T00:00:00.000000Z", "2026-02-01T01:00:00.000000Z", "ok"))
    capture = conn.execute(
        "INSERT INTO captures (record_id, crawl_id, warc_type, url, date, status, content_type, file, offset, length)"
        " SELECT '<urn:uuid:00000000-0000-4000-8000-000000000002>', ?, 'response', url,"
        " '2026-02-01T00:10:00.123456Z', 200, 'text/html', 'SECOND.warc.gz', 0, 500"
        " FROM articles WHERE id = ?", (SECOND_CRAWL, versioned)).lastrowid
    version = conn.execute(
        "INSERT INTO versions (article_id, version, content_hash, title, published, source, body_text, images,"
        " attachments, breadcrumb, flags, changed_fields, first_seen, last_seen, crawl_id, capture_id)"
        " SELECT article_id, 2, 'sha256:2', title || '(更新)', published, source, body_text, images, attachments,"
        " breadcrumb, flags, '[\"title\"]', '2026-02-01T00:10:00.123456Z', '2026-02-01T00:10:00.123456Z', ?, ?"
        " FROM versions WHERE article_id = ?", (SECOND_CRAWL, capture, versioned)).lastrowid
    conn.execute("UPDATE articles SET current_version = ? WHERE id = ?", (version, versioned))
    conn.execute("UPDATE articles SET status = 'withdrawn' WHERE id = ?", (withdrawn,))
    conn.execute("INSERT INTO withdrawals (article_id, crawl_id, detected, how) VALUES (?,?,?,?)",
                 (withdrawn, SECOND_CRAWL, "2026-02-01T00:20:00.000000Z", "404"))
    conn.commit()
    conn.close()
    return {"tricky": tricky, "versioned": versioned, "withdrawn": withdrawn, "long": long_body, "spam": spam,
            "timed": timed, "all": ids}


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    data = tmp_path_factory.mktemp("export") / "data"
    data.mkdir()
    return {"data": data, **make_catalogue(data)}


def run(*args: str) -> "click.testing.Result":  # noqa: F821
    return CliRunner().invoke(main, ["export", *args], catch_exceptions=False)


def expected_rows(data: Path, where: str = "v.id = a.current_version", params: tuple = ()) -> list[dict]:
    """The catalogue's own rows, read with plain SQL, in export order."""
    conn = sqlite3.connect(data / "catalog.sqlite")
    conn.row_factory = sqlite3.Row
    rows = conn.execute(
        "SELECT v.*, a.url, a.status AS article_status, c.date AS capture_time, c.file AS warc_file,"
        " c.record_id AS warc_record_id, (a.current_version = v.id) AS is_current"
        " FROM versions v JOIN articles a ON a.id = v.article_id JOIN captures c ON c.id = v.capture_id"
        f" WHERE {where} ORDER BY v.article_id, v.version", params).fetchall()
    conn.close()
    return [dict(row) for row in rows]


def flat_media(text: str, kind: str) -> list[dict]:
    out = []
    for entry in json.loads(text or "[]"):
        warc = entry.get("warc") or {}
        flat = {key: entry.get(key) for key in MEDIA_KEYS[kind]}
        flat.update(warc_file=warc.get("file"), warc_offset=warc.get("offset"), warc_length=warc.get("length"),
                    warc_record_id=warc.get("record_id"))
        out.append(flat)
    return out


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_csv_round_trip(catalogue, tmp_path):
    out = tmp_path / "articles.csv"
    result = run("--format", "csv", "--out", str(out), "--data", str(catalogue["data"]))
    assert result.exit_code == 0, result.output
    assert f"Exported {ARTICLES} rows (csv)" in result.stdout
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.split(b"\r\n", 1)[0].decode("utf-8-sig").startswith("article_id,version,url,title")
    rows, expected = read_csv(out), expected_rows(catalogue["data"])
    assert len(rows) == len(expected) == ARTICLES
    for row, want in zip(rows, expected):
        assert int(row["article_id"]) == want["article_id"] and int(row["version"]) == want["version"]
        for name in ("url", "title", "published", "source", "body_text", "crawl_id", "capture_time", "warc_file",
                     "warc_record_id", "content_hash", "article_status"):
            assert row[name] == spreadsheet_safe(want[name] or ""), name
        assert row["published_date"] == want["published"][:10]
        assert row["is_current"] == "true"
        for kind in ("images", "attachments"):
            assert json.loads(row[kind]) == flat_media(want[kind], kind)
        assert json.loads(row["flags"]) == json.loads(want["flags"])
        charset = json.loads(row["charset"]) if row["charset"] else None
        assert charset == (json.loads(want["charset"]) if want["charset"] else None)
        assert "body_html" not in row
    tricky = next(r for r in rows if int(r["article_id"]) == catalogue["tricky"])
    assert tricky["body_text"] == TRICKY_BODY  # quotes, commas, \n and \r\n inside one cell
    assert "第二段\r\n第三段" in raw.decode("utf-8-sig")


def spreadsheet_safe(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@pytest.mark.parametrize("raw", [False, True])
def test_csv_cells_that_a_spreadsheet_would_run_are_text(catalogue, tmp_path, raw):
    """A hijacked page's title or source can be a formula (=HYPERLINK, +cmd|..., @SUM): Excel would run it."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "catalog.sqlite").write_bytes((catalogue["data"] / "catalog.sqlite").read_bytes())
    conn = sqlite3.connect(data / "catalog.sqlite")
    cells = {"title": '=HYPERLINK("http://evil.example/","滕州")', "source": "+cmd|' /C calc'!A0",
             "body_text": "-1+1", "column_name": "@SUM(1)", "site_name": "\t=1"}
    conn.execute(f"UPDATE versions SET {', '.join(f'{name} = ?' for name in cells)} WHERE article_id = ?",
                 (*cells.values(), catalogue["tricky"]))
    conn.commit()
    conn.close()
    out = tmp_path / "a.csv"
    result = run("--format", "csv", *(["--raw-csv"] if raw else []), "--out", str(out), "--data", str(data),
                 "--fields", ",".join(cells))
    assert result.exit_code == 0, result.output
    row = next(r for r in read_csv(out) if int(r["article_id"]) == catalogue["tricky"])
    for name, value in cells.items():
        assert row[name] == (value if raw else "'" + value), name
    # Only text that starts a formula: the other rows' cells are as archived either way.
    for other in read_csv(out):
        if int(other["article_id"]) != catalogue["tricky"]:
            assert not other["title"].startswith("'")
    descriptor = json.loads((tmp_path / "a.csv.datapackage.json").read_text(encoding="utf-8"))
    assert ("formulas" in descriptor["resources"][0].get("description", "")) is not raw
    # Every other format keeps such text exactly, and says --raw-csv is not for it.
    jsonl = tmp_path / "a.jsonl"
    assert run("--format", "jsonl", "--out", str(jsonl), "--data", str(data)).exit_code == 0
    kept = next(json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()
                if json.loads(line)["article_id"] == catalogue["tricky"])
    assert kept["title"] == cells["title"]
    refused = run("--format", "jsonl", "--raw-csv", "--out", str(tmp_path / "b.jsonl"), "--data", str(data))
    assert refused.exit_code == 2 and "--raw-csv applies to csv" in refused.output
    assert not (tmp_path / "b.jsonl").exists()


def test_csv_without_bom(catalogue, tmp_path):
    out = tmp_path / "a.csv"
    assert run("--format", "csv", "--no-bom", "--out", str(out), "--data", str(catalogue["data"])).exit_code == 0
    assert out.read_bytes().startswith(b"article_id,")
    descriptor = json.loads((tmp_path / "a.csv.datapackage.json").read_text(encoding="utf-8"))
    assert descriptor["resources"][0]["encoding"] == "utf-8"


def test_jsonl_round_trip(catalogue, tmp_path):
    out = tmp_path / "a.jsonl"
    assert run("--format", "jsonl", "--out", str(out), "--data", str(catalogue["data"])).exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert "\\u" not in text  # Chinese unescaped
    rows = [json.loads(line) for line in text.splitlines()]
    for row, want in zip(rows, expected_rows(catalogue["data"]), strict=True):
        for name in ("article_id", "version", "url", "title", "published", "body_text", "capture_time",
                     "warc_record_id", "crawl_id"):
            assert row[name] == want[name], name
        assert row["images"] == flat_media(want["images"], "images")
        assert row["breadcrumb"] == json.loads(want["breadcrumb"])
        assert row["is_current"] is True
        assert (row["withdrawn_at"] is None) == (row["article_status"] == "live")


def test_parquet_round_trip(catalogue, tmp_path, monkeypatch):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    monkeypatch.setattr("archive.export.parquet_writer.ROWS_PER_GROUP", 7)
    out = tmp_path / "a.parquet"
    assert run("--format", "parquet", "--out", str(out), "--data", str(catalogue["data"])).exit_code == 0
    meta = pq.ParquetFile(out).metadata
    assert meta.num_row_groups == -(-ARTICLES // 7)  # written in row groups
    assert meta.row_group(0).column(0).compression == "ZSTD"
    table = pq.read_table(out)
    schema = table.schema
    assert schema.field("published").type == pa.timestamp("us", tz="+08:00")
    assert schema.field("published_date").type == pa.date32()
    assert schema.field("capture_time").type == pa.timestamp("us", tz="UTC")
    assert schema.field("images").type.value_type.names == list(MEDIA_KEYS["images"])
    assert schema.field("attachments").type.value_type.names == list(MEDIA_KEYS["attachments"])
    rows = table.to_pylist()
    for row, want in zip(rows, expected_rows(catalogue["data"]), strict=True):
        assert (row["article_id"], row["version"], row["title"], row["body_text"]) == \
               (want["article_id"], want["version"], want["title"], want["body_text"])
        assert row["published_date"] == date.fromisoformat(want["published"][:10])
        if len(want["published"]) > 10:
            assert row["published"] == datetime.fromisoformat(want["published"])
        else:
            assert row["published"] is None
        assert row["capture_time"] == datetime.fromisoformat(want["capture_time"])
        assert row["capture_time"].utcoffset() == timedelta(0)
        assert row["images"] == flat_media(want["images"], "images")
        assert row["flags"] == json.loads(want["flags"])
    timed = next(r for r in rows if r["article_id"] == catalogue["timed"])
    assert timed["published"] == datetime(2024, 5, 6, 1, 30, tzinfo=timezone.utc)
    # The descriptor's arrowType is the type the file holds (lists' items are named `element` in both).
    described = json.loads((tmp_path / "a.parquet.datapackage.json").read_text(encoding="utf-8"))
    for field in described["resources"][0]["schema"]["fields"]:
        if not pa.types.is_map(schema.field(field["name"]).type):  # a map's entries are named after its column
            assert field["arrowType"] == str(schema.field(field["name"]).type), field["name"]


def test_parquet_published_before_year_one_in_utc_is_left_to_published_date():
    from archive.export.parquet_writer import parse_published

    assert parse_published("0001-01-01T00:00:00+08:00") is None  # year 0 in UTC: no reader could read it back
    assert parse_published("0001-01-01T09:00:00+08:00") == datetime(1, 1, 1, 1, tzinfo=timezone.utc)


def test_xlsx_readable_with_truncation_flag(catalogue, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    out = tmp_path / "a.xlsx"
    assert run("--format", "xlsx", "--out", str(out), "--data", str(catalogue["data"])).exit_code == 0
    sheet = openpyxl.load_workbook(out, read_only=True).active
    rows = sheet.iter_rows(values_only=True)
    header = list(next(rows))
    assert header[-1] == "body_truncated"
    records = [dict(zip(header, values)) for values in rows]
    assert len(records) == ARTICLES
    by_id = {r["article_id"]: r for r in records}
    long_row = by_id[catalogue["long"]]
    assert long_row["body_truncated"] is True and long_row["body_text"] == LONG_BODY[:32_767]
    assert by_id[catalogue["tricky"]]["body_truncated"] is False
    assert by_id[catalogue["tricky"]]["body_text"] == TRICKY_BODY
    assert by_id[catalogue["tricky"]]["title"] == "=SUM(1,2) 标题"  # text, not a formula
    for want in expected_rows(catalogue["data"]):
        assert by_id[want["article_id"]]["warc_record_id"] == want["warc_record_id"]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet", "xlsx"])
def test_datapackage_describes_the_file(catalogue, tmp_path, fmt):
    out = tmp_path / f"articles.{fmt}"
    assert run("--format", fmt, "--out", str(out), "--data", str(catalogue["data"]), "--versions", "all",
               "--since", "2015-01-01").exit_code == 0
    descriptor = json.loads((tmp_path / f"articles.{fmt}.datapackage.json").read_text(encoding="utf-8"))
    resource = descriptor["resources"][0]
    assert resource["path"] == out.name and resource["format"] == fmt
    assert resource["bytes"] == out.stat().st_size
    assert resource["hash"] == "sha256:" + hashlib.sha256(out.read_bytes()).hexdigest()
    names = [f["name"] for f in resource["schema"]["fields"]]
    assert names[:4] == ["article_id", "version", "url", "title"]
    assert all(f["type"] and f["description"] for f in resource["schema"]["fields"])
    assert {c["id"] for c in descriptor["crawls"]} == {"20260101T000000000Z", SECOND_CRAWL}
    assert descriptor["filters"]["versions"] == "all" and descriptor["filters"]["since"] == "2015-01-01"
    assert descriptor["rows"] == ARTICLES + 1
    assert descriptor["sources"][0]["path"] == "http://www.tengzhou.gov.cn/"
    assert descriptor["coverage"]["published"]["from"] >= "2015-01-01"
    assert not list(tmp_path.glob("*.part"))


def test_frictionless_validates_the_csv_package(catalogue, tmp_path):
    frictionless = pytest.importorskip("frictionless")
    out = tmp_path / "a.csv"
    assert run("--format", "csv", "--out", str(out), "--data", str(catalogue["data"])).exit_code == 0
    report = frictionless.validate(str(tmp_path / "a.csv.datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]


def test_fields_selects_and_orders_columns(catalogue, tmp_path):
    out = tmp_path / "a.csv"
    result = run("--format", "csv", "--out", str(out), "--data", str(catalogue["data"]),
                 "--fields", "title,body_html,published")
    assert result.exit_code == 0, result.output
    rows = read_csv(out)
    assert list(rows[0]) == ["title", "body_html", "published", "article_id", "version", "url", "crawl_id",
                             "capture_time", "warc_file", "warc_record_id"]
    assert rows[0]["body_html"].startswith("<p>")


def ids_of(path: Path) -> list[tuple[int, int]]:
    return [(int(r["article_id"]), int(r["version"])) for r in read_csv(path)]


def test_filters(catalogue, tmp_path):
    data = catalogue["data"]

    def export_ids(*args):
        out = tmp_path / "f.csv"
        result = run("--format", "csv", "--out", str(out), "--data", str(data), *args)
        assert result.exit_code == 0, result.output
        return ids_of(out)

    want = [(r["article_id"], r["version"]) for r in expected_rows(
        data, "v.id = a.current_version AND substr(v.published, 1, 10) BETWEEN ? AND ?", ("2020-01-01", "2022-12-31"))]
    assert want and export_ids("--since", "2020-01-01", "--until", "2022-12-31") == want
    assert export_ids("--flag", "spam_keywords") == [(catalogue["spam"], 1)]
    assert export_ids("--withdrawn") == [(catalogue["withdrawn"], 1)]
    every = export_ids("--versions", "all")
    assert len(every) == ARTICLES + 1
    assert (catalogue["versioned"], 1) in every and (catalogue["versioned"], 2) in every
    assert (catalogue["versioned"], 1) not in export_ids()
    source = expected_rows(data)[10]["source"]
    assert export_ids("--source", source[1:4]) == [
        (r["article_id"], r["version"]) for r in expected_rows(data) if source[1:4] in (r["source"] or "")]


def test_withdrawn_and_versions_columns(catalogue, tmp_path):
    out = tmp_path / "w.jsonl"
    result = run("--format", "jsonl", "--out", str(out), "--data", str(catalogue["data"]), "--versions", "all")
    assert result.exit_code == 0
    rows = {(r["article_id"], r["version"]): r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    gone = rows[(catalogue["withdrawn"], 1)]
    assert (gone["article_status"], gone["withdrawn_at"], gone["withdrawn_how"]) == \
           ("withdrawn", "2026-02-01T00:20:00.000000Z", "404")
    old, new = rows[(catalogue["versioned"], 1)], rows[(catalogue["versioned"], 2)]
    assert (old["is_current"], new["is_current"]) == (False, True)
    assert new["crawl_id"] == SECOND_CRAWL and new["changed_fields"] == ["title"]
    assert new["warc_record_id"] == "<urn:uuid:00000000-0000-4000-8000-000000000002>"


def test_query_uses_the_search_module(catalogue, tmp_path, monkeypatch):
    wanted = expected_rows(catalogue["data"])[3:6]
    calls = []

    def search(self, query, *, all_versions=False, include_withdrawn=False, limit=20, snippets=None):
        calls.append((query, all_versions, include_withdrawn, limit))
        return [types.SimpleNamespace(version_id=row["id"]) for row in wanted]

    monkeypatch.setattr("archive.catalogue.sqlite.SqliteCatalogue.search", search)
    out = tmp_path / "q.csv"
    result = run("--format", "csv", "--out", str(out), "--data", str(catalogue["data"]), "工业 经济")
    assert result.exit_code == 0, result.output
    assert calls == [("工业 经济", True, True, None)]  # every hit; the export's own filters do the rest
    assert ids_of(out) == [(r["article_id"], r["version"]) for r in wanted]
    descriptor = json.loads((tmp_path / "q.csv.datapackage.json").read_text(encoding="utf-8"))
    assert descriptor["filters"]["query"] == "工业 经济"


def test_progress_is_reported(catalogue, tmp_path):
    seen = {"total": None, "advanced": 0, "finished": False}

    class Recorder:
        def start(self, total):
            seen["total"] = total

        def advance(self, rows):
            seen["advanced"] += rows

        def finish(self):
            seen["finished"] = True

    result = export(ExportRequest(data=catalogue["data"], out=tmp_path / "p.jsonl", format="jsonl",
                                  selection=Selection(versions="all")), progress=Recorder())
    assert seen == {"total": ARTICLES + 1, "advanced": ARTICLES + 1, "finished": True}
    assert result.rows == ARTICLES + 1 and len(result.files) == 2
    assert result.bytes == sum(path.stat().st_size for path in result.files)


def test_no_progress_bar_when_stderr_is_not_a_terminal(catalogue, tmp_path):
    result = run("--format", "csv", "--out", str(tmp_path / "a.csv"), "--data", str(catalogue["data"]))
    assert result.stderr == ""
    assert result.stdout.count("\n") == 1  # the summary line only


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_memory_stays_flat(tmp_path_factory, tmp_path, monkeypatch, fmt):
    """Ten times the rows, about the same peak of Python memory: rows stream from cursor to file."""
    import tracemalloc

    monkeypatch.setattr("archive.export.parquet_writer.ROWS_PER_GROUP", 100)
    peaks = []
    for articles in (600, 3000):
        data = tmp_path_factory.mktemp(f"flat{articles}")
        build_synthetic_catalogue(data / "catalog.sqlite", articles)
        tracemalloc.start()
        export(ExportRequest(data=data, out=tmp_path / f"{articles}.{fmt}", format=fmt))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < peaks[0] * 1.5 + 1_000_000, peaks
