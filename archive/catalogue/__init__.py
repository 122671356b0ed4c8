"""The catalogue: crawls, captures, articles, versions, withdrawals, and their search index.

Derived from the WARC files (`portal-archive reindex` rebuilds it).  Every
question asked of it is a named operation of `Catalogue` (api.py); the SQL
behind them lives in this package alone.  The backend is chosen by URL
scheme from `BACKENDS`:

    catalogue = open_catalogue(Path("data"))                          # DATA/catalog.sqlite
    catalogue = open_catalogue(Path("data"), "sqlite:///tmp/c.sqlite")
    catalogue = open_catalogue(Path("data"), readonly=True)          # never creates anything

`PORTAL_ARCHIVE_CATALOGUE` gives the URL when the caller does not.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

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

    Raises UsageProblem for a URL of no known backend.
    """
    target = catalogue_url(data, url)
    scheme = urlsplit(target).scheme.lower()
    found = BACKENDS.get(scheme)
    if found is None:
        raise UsageProblem(f"{target!r} is not a catalogue URL: the schemes known are {', '.join(sorted(BACKENDS))}")
    module, _, name = found.partition(":")
    cls = getattr(importlib.import_module(module), name)
    if scheme == "sqlite":
        return cls, Path("/" + unquote(urlsplit(target).path).lstrip("/"))
    return cls, target


def open_catalogue(data: Path, url: str | None = None, *, readonly: bool = False) -> Catalogue:
    """Open the catalogue of the archive in DATA (see the module docstring).

    Raises CatalogueError (missing, unreadable, other layout) or
    UsageProblem (a URL of no known backend).
    """
    cls, location = backend(data, url)
    return cls.open(location, readonly=readonly)
