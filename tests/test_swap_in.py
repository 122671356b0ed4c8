"""Putting a rebuilt SQLite catalogue (reindex, snapshots, exports) in place of the old one."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from archive.catalogue.sqlite import swap_in


def _database(path, rows):
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")  # the rows stay in the WAL, as after a crawl's last commits
    conn.execute("CREATE TABLE t (x)")
    conn.executemany("INSERT INTO t VALUES (?)", [(r,) for r in rows])
    conn.commit()
    return conn


def _killed_writer(path, rows):
    """A crawl that committed `rows` and died: the commits are in the file's WAL only."""
    script = ("import os, sqlite3, sys\n"
              "conn = sqlite3.connect(sys.argv[1])\n"
              "conn.execute('PRAGMA journal_mode=WAL')\n"
              "conn.execute('PRAGMA wal_autocheckpoint=0')\n"
              "conn.execute('CREATE TABLE t (x)')\n"
              f"conn.executemany('INSERT INTO t VALUES (?)', [(r,) for r in {list(rows)!r}])\n"
              "conn.commit()\n"
              "os._exit(0)\n")
    subprocess.run([sys.executable, "-c", script, str(path)], check=True)


def _rows(path):
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("SELECT x FROM t ORDER BY x")]
    finally:
        conn.close()


def test_a_kill_before_the_rename_leaves_the_old_catalogue_with_its_last_commits(tmp_path, monkeypatch):
    old, fresh = tmp_path / "catalog.sqlite", tmp_path / "catalog.sqlite.rebuild"
    _killed_writer(old, [1, 2, 3])
    assert (tmp_path / "catalog.sqlite-wal").stat().st_size > 0
    _database(fresh, [9]).close()

    def killed(*args):
        raise KeyboardInterrupt  # the process dies between removing the WAL and the rename

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        swap_in(fresh, old)
    monkeypatch.undo()
    assert _rows(old) == [1, 2, 3]


def test_the_new_file_takes_the_place_and_no_stale_wal_is_replayed_into_it(tmp_path):
    old, fresh = tmp_path / "catalog.sqlite", tmp_path / "catalog.sqlite.rebuild"
    _killed_writer(old, [1, 2, 3])
    _database(fresh, [9]).close()
    swap_in(fresh, old)
    assert _rows(old) == [9] and not fresh.exists()


def test_a_file_that_is_not_a_database_is_replaced(tmp_path):
    target, fresh = tmp_path / "export.sqlite", tmp_path / "export.sqlite.part"
    target.write_bytes(b"not a database, just bytes the user named")
    _database(fresh, [7]).close()
    swap_in(fresh, target)
    assert _rows(target) == [7]
