"""`portal-archive show` through the real command line (click's CliRunner)."""

from __future__ import annotations

import json
import re

import pytest

from archive.catalogue.sqlite import catalogue_path, connect
from replica.synthetic_catalogue import build_synthetic_catalogue
from tests.conftest import SEED_DOCID, cli, seed_article_id

@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    build_synthetic_catalogue(catalogue_path(folder), 40)
    return folder


run = cli
seed_id = seed_article_id


def test_show_prints_the_article_its_evidence_and_history(data):
    result = run("show", str(seed_id(data)), "--data", str(data))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "攻坚五问" in out and "2021-03-15" in out and "官桥镇信息中心" in out and "live" in out
    assert "IMG_5158_副本.jpg" in out and "sha256:" in out
    assert re.search(r"http://127\.0\.0\.1:8090/archive/\d{14}mp_/http://www\.tengzhou\.gov\.cn/\S+" + SEED_DOCID, out)
    assert "Versions (1):" in out and "flags: hijacked_city_name" in out


def test_show_by_url_as_json_with_a_replay_base(data):
    conn = connect(catalogue_path(data), readonly=True)
    url = conn.execute("SELECT url FROM articles WHERE id = ?", (seed_id(data),)).fetchone()[0]
    conn.close()
    result = run("show", url, "--data", str(data), "--json", "--replay-base", "http://replay.test/archive")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["article_id"] == seed_id(data) and record["version"]["version"] == 1
    assert record["capture"]["timestamp"] == "20260101000000"
    assert record["replay_url"] == f"http://replay.test/archive/20260101000000mp_/{url}"
    assert record["version"]["images"][0]["digest"].startswith("sha256:")
    assert [v["version"] for v in record["versions"]] == [1]


@pytest.mark.parametrize("ref, extra", [("999999", []), ("http://example.com/none.html", []), ("1", ["--version", "7"])])
def test_show_unknown_article_or_version_exits_5(data, ref, extra):
    result = run("show", ref, "--data", str(data), *extra)
    assert result.exit_code == 5 and result.stderr.startswith("Error: ")


def test_show_versions_and_withdrawal(tmp_path):
    build_synthetic_catalogue(catalogue_path(tmp_path), 10)
    conn = connect(catalogue_path(tmp_path))
    article, old = conn.execute("SELECT id, current_version FROM articles ORDER BY id LIMIT 1").fetchone()
    row = dict(conn.execute("SELECT * FROM versions WHERE id = ?", (old,)).fetchone())
    row.update(id=None, version=2, body_text="第二版正文。", changed_fields='["body_text"]', first_seen="2026-02-01T00:00:00Z")
    new = conn.execute(f"INSERT INTO versions ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                       list(row.values())).lastrowid
    conn.execute("UPDATE articles SET current_version = ?, status = 'withdrawn' WHERE id = ?", (new, article))
    conn.execute("INSERT INTO withdrawals (article_id, crawl_id, detected, how) SELECT ?, id, '2026-03-01T00:00:00Z',"
                 " '404' FROM crawls", (article,))
    conn.commit()
    conn.close()
    current = run("show", str(article), "--data", str(tmp_path))
    assert current.exit_code == 0, current.output
    assert "第二版正文。" in current.stdout and "withdrawn" in current.stdout and "404" in current.stdout
    assert "Versions (2):" in current.stdout and "changed: body_text" in current.stdout
    first = run("show", str(article), "--data", str(tmp_path), "--version", "1", "--json")
    record = json.loads(first.stdout)
    assert record["version"]["version"] == 1 and not record["version"]["current"]
    assert record["version"]["body_text"] != "第二版正文。" and record["status"] == "withdrawn"
