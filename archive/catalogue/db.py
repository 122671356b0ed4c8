"""Opening the catalogue database."""

from __future__ import annotations

import sqlite3
from importlib import resources
from pathlib import Path

# Read through importlib.resources: under Scrapyd the code runs from a zipped egg.
SCHEMA = resources.files("archive.catalogue").joinpath("schema.sql")
FILENAME = "catalog.sqlite"


class CatalogueError(Exception):
    """The catalogue is missing, unreadable or not ours."""


def catalogue_path(data: Path) -> Path:
    return Path(data) / FILENAME


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open (and, writable, create) the catalogue; rows come back as sqlite3.Row.

    A read-only connection never creates anything and fails with
    CatalogueError when the file is missing or is not a catalogue.
    """
    path = Path(path)
    try:
        if readonly:
            if not path.is_file():
                raise CatalogueError(f"no catalogue at {path} (run a crawl, or portal-archive reindex)")
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(SCHEMA.read_text(encoding="utf-8"))
        conn.row_factory = sqlite3.Row
        conn.execute("SELECT count(*) FROM versions").fetchone()
    except sqlite3.DatabaseError as error:
        raise CatalogueError(f"{path} is not a readable catalogue: {error}") from error
    return conn
