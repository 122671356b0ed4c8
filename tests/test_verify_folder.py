"""`verify --data` holds the WARC files to everything that says they exist: the catalogue, the crawls'
digest lists, the revisits' originals.  A data folder that lost files, or whose catalogue points at the
wrong bytes, is never "OK"."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3

import pytest

from replica.launch import ReplicaProcess
from tests.conftest import portal_archive

ARTICLES = 30


@pytest.fixture(scope="module")
def two_crawls(tmp_path_factory):
    """Edition 1, then edition 2 rechecked: two crawls, two WARC files, revisits of the first's images."""
    data = tmp_path_factory.mktemp("verify") / "data"
    with ReplicaProcess(articles=ARTICLES) as replica:
        portal_archive("crawl", "--replica", replica.base_url, "--data", str(data), "--quiet")
    with ReplicaProcess(articles=ARTICLES, edition=2) as replica:
        portal_archive("crawl", "--replica", replica.base_url, "--data", str(data), "--quiet", "--full",
                       "--recheck", "all")
    return data


@pytest.fixture
def data(two_crawls, tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(two_crawls, copy)
    return copy


def verify(data, *args):
    result = portal_archive("verify", "--data", str(data), "--json", "--quiet", *args, check=False)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout) if result.stdout.strip() else None


def messages(report) -> list[str]:
    return [f"{p['file']}: {p['message']}" for p in report["problems"]]


def warc_files(data):
    return sorted((data / "warc").glob("*.warc.gz"))


def test_a_sound_folder_is_checked_against_its_catalogue(data):
    code, report = verify(data)
    assert code == 0 and report["ok"] and report["catalogue"] == "catalog.sqlite", report["problems"]
    assert len(warc_files(data)) == 2
    text = portal_archive("verify", "--data", str(data), "--quiet").stdout
    assert "against the catalogue: OK" in text or "the catalogue: OK" in text


def test_every_warc_file_and_item_deleted_is_not_ok(data):
    names = [path.name for path in warc_files(data)]
    for path in warc_files(data):
        path.unlink()
    shutil.rmtree(data / "items")
    code, report = verify(data)
    assert code == 1 and not report["ok"]
    for name in names:
        assert any(name in message and "missing" in message for message in messages(report)), messages(report)


def test_one_crawls_warc_file_deleted_is_named(data):
    gone = warc_files(data)[-1]  # the second crawl's: its new articles' items name it too, or only revisits
    gone.unlink()
    code, report = verify(data)
    assert code == 1
    assert any(p["file"] == f"warc/{gone.name}" and "the catalogue holds records of it" in p["message"]
               for p in report["problems"]), messages(report)


def test_catalogue_offsets_that_point_at_other_bytes_are_found(data):
    conn = sqlite3.connect(data / "catalog.sqlite")
    conn.execute('UPDATE captures SET "offset" = "offset" + 7 WHERE id % 5 = 0')
    moved = conn.execute("SELECT count(*) FROM captures WHERE id % 5 = 0").fetchone()[0]
    conn.commit()
    conn.close()
    code, report = verify(data)
    assert code == 1
    found = [m for m in messages(report) if "the catalogue's capture" in m or "more of the catalogue's" in m]
    assert found and moved > 0, messages(report)


def test_a_catalogue_that_cannot_be_read_is_a_problem_but_a_missing_one_is_not(data):
    (data / "catalog.sqlite").write_bytes(b"not a database" * 100)
    for suffix in ("-wal", "-shm"):
        (data / f"catalog.sqlite{suffix}").unlink(missing_ok=True)
    code, report = verify(data)
    assert code == 1 and "the catalogue cannot be read" in messages(report)[0], messages(report)
    (data / "catalog.sqlite").unlink()
    code, report = verify(data)
    assert code == 0 and report["catalogue"] is None  # reindex makes one: nothing is lost
    assert "no catalogue" in portal_archive("verify", "--data", str(data), "--quiet").stdout


def test_a_revisit_whose_original_is_gone_is_named(data):
    conn = sqlite3.connect(data / "catalog.sqlite")
    revisit, original = conn.execute(
        "SELECT r.record_id, r.refers_to FROM captures r JOIN captures o ON o.record_id = r.refers_to"
        " WHERE r.warc_type = 'revisit' AND o.id NOT IN (SELECT capture_id FROM versions)"
        " AND o.id NOT IN (SELECT capture_id FROM withdrawals WHERE capture_id IS NOT NULL) LIMIT 1").fetchone()
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("DELETE FROM captures WHERE record_id = ?", (original,))
    conn.commit()
    conn.close()
    code, report = verify(data)
    assert code == 1
    assert any(f"revisit {revisit} refers to {original}" in m for m in messages(report)), messages(report)


def test_a_crawls_digest_list_holds_its_files_to_their_bytes(data):
    first, second = warc_files(data)
    digest = hashlib.sha256(first.read_bytes()).hexdigest()
    listing = data / "warc" / "20260101T000000000Z.sha256"
    listing.write_text(f"{digest}  {first.name}\n{'0' * 64}  {second.name}\n{'1' * 64}  gone.warc.gz\n")
    code, report = verify(data)
    assert code == 1 and report["digest_lists"] == 1
    found = messages(report)
    assert any(m.startswith(f"warc/{second.name}: SHA-256") and "differs" in m for m in found), found
    assert any("lists gone.warc.gz, which is missing" in m for m in found), found
    assert not any(m.startswith(f"warc/{first.name}") for m in found), found
    listing.write_text(f"{digest}  {first.name}\n")
    assert verify(data)[0] == 0


def test_verify_changes_nothing(data):
    def digests():  # SQLite's own -wal and -shm files come and go with any reader of the catalogue
        return {p.relative_to(data): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(data.rglob("*")) if p.is_file() and not p.name.endswith(("-wal", "-shm"))}

    before = digests()
    verify(data)
    assert digests() == before


def test_damage_mid_file_is_one_problem_not_one_per_record_after_it(data):
    """After a corrupt gzip member nothing more of the file is read: its records' partners and the items'
    metadata records past the damage were each called missing (about 40 lines for one flipped byte)."""
    first = warc_files(data)[0]
    raw = bytearray(first.read_bytes())
    raw[len(raw) // 3] ^= 0xFF
    first.write_bytes(bytes(raw))
    code, report = verify(data)
    assert code == 1
    found = messages(report)
    assert sum("the rest of the file was not checked" in m for m in found) == 1, found
    assert not any("no metadata record is WARC-Concurrent-To" in m for m in found), found
    assert not any("has no request record" in m for m in found), found
    assert sum("could not be matched with their metadata records" in m for m in found) <= 1
