"""The catalogue: crawls, captures, articles, versions, withdrawals, and their search index.

Derived from the WARC files (`portal-archive reindex` rebuilds it).  Every
question asked of it is a named operation of `Catalogue` (api.py); the SQL
behind them lives in this package alone.  The backend is chosen by URL
scheme from `BACKENDS`:

    catalogue = open_catalogue(Path("data"))                          # DATA/catalog.sqlite
    catalogue = open_catalogue(Path("data"), "sqlite:///tmp/c.sqlite")      # or sqlite:c.sqlite, from here
    catalogue = open_catalogue(Path("data"), readonly=True)          # never creates anything

`PORTAL_ARCHIVE_CATALOGUE` gives the URL when the caller does not.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from urllib.parse import unquote

from archive.catalogue.api import ArticleNotFound, Catalogue, CatalogueError, KnownArticle, VersionFilter
from archive.exits import UsageProblem

ENVIRONMENT = "PORTAL_ARCHIVE_CATALOGUE"
# URL scheme -> "module:class" of the backend.
BACKENDS = {
    "sqlite": "archive.catalogue.sqlite:SqliteCatalogue",
    "postgresql": "archive.catalogue.postgres:PostgresCatalogue",
    "postgres": "archive.catalogue.postgres:PostgresCatalogue",
}

__all__ = ["ArticleNotFound", "BACKENDS", "Catalogue", "CatalogueError", "KnownArticle", "VersionFilter",
           "backend", "catalogue_url", "open_catalogue"]


def catalogue_url(data: Path, url: str | None = None) -> str:
    """The catalogue's URL: `url`, else $PORTAL_ARCHIVE_CATALOGUE, else the SQLite file in DATA."""
    chosen = url or os.environ.get(ENVIRONMENT) or ""
    if chosen:
        return chosen
    return "sqlite:///" + str(Path(data).resolve() / "catalog.sqlite").lstrip("/")


def backend(data: Path, url: str | None = None) -> tuple[type, str | Path]:
    """The backend class for the catalogue's URL, and where it is (a path for SQLite, else the URL).

    Raises UsageProblem (its message without the URL's password) for a URL
    of no known backend, or one its backend cannot use.
    """
    target = catalogue_url(data, url)
    scheme, colon, rest = target.partition(":")
    found = BACKENDS.get(scheme.lower()) if colon else None
    if found is None:
        shown = f"a URL of scheme {scheme!r}" if colon else repr(target)
        raise UsageProblem(f"the catalogue is {shown}: use sqlite:///PATH or postgresql://USER@HOST:PORT/DB")
    module, _, name = found.partition(":")
    cls = getattr(importlib.import_module(module), name)
    if scheme.lower() == "sqlite":
        return cls, sqlite_path(target, rest)
    cls.check_url(target)
    return cls, target


def sqlite_path(url: str, rest: str) -> Path:
    """The file a SQLite URL names: `sqlite:///ABSOLUTE/PATH`, or `sqlite:RELATIVE/PATH` (from the current folder)."""
    path, question, _ = rest.partition("?")
    if question:
        raise UsageProblem(f"{url!r}: a SQLite catalogue URL takes no parameters")
    if path.startswith("//"):
        host, _, path = path[2:].partition("/")
        if host:
            raise UsageProblem(f"{url!r}: a SQLite catalogue URL names no host: sqlite:///ABSOLUTE/PATH "
                               "or sqlite:RELATIVE/PATH")
        path = "/" + path.lstrip("/")  # sqlite:////abs too (POSIX keeps a leading // as it is)
    if not path.strip("/"):
        raise UsageProblem(f"{url!r} names no file: sqlite:///ABSOLUTE/PATH or sqlite:RELATIVE/PATH")
    return Path(unquote(path)).absolute()


def open_catalogue(data: Path, url: str | None = None, *, readonly: bool = False) -> Catalogue:
    """Open the catalogue of the archive in DATA (see the module docstring).

    Raises CatalogueError (missing, unreadable, other layout) or
    UsageProblem (a URL of no known backend).
    """
    cls, location = backend(data, url)
    return cls.open(location, readonly=readonly)
