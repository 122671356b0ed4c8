"""Which article versions an export holds: the filters, as the export command takes them.

The catalogue streams the rows (`Catalogue.select_versions`, one dict per
article version in (article_id, version) order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from archive.catalogue import Catalogue, CatalogueError, VersionFilter
from archive.catalogue import open_catalogue as open_any
from archive.export.errors import BadRequest, CatalogueUnreadable
from archive.exits import Failed, Unavailable
from archive.search.errors import IndexMissing

VERSIONS = ("latest", "all")


@dataclass(frozen=True)
class Selection:
    """Filters of an export; every one is optional and they combine with AND.

    * `query`: free text, run through `archive.search` (see archive.export.query).
    * `since` / `until`: inclusive bounds on the date of `published`; an
      undated version is left out when either is set.
    * `sources`: keep versions whose source contains any of these strings.
    * `flags`: keep versions carrying any of these integrity flags.
    * `versions`: "latest" (each article's current version) or "all".
    * `withdrawn`: keep only withdrawn articles.
    * `with_html`: also read body_html (`export` sets it when that field is asked for).
    """

    query: str | None = None
    since: date | None = None
    until: date | None = None
    sources: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    versions: str = "latest"
    withdrawn: bool = False
    sites: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    with_html: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        if self.versions not in VERSIONS:
            raise BadRequest(f"--versions must be one of {', '.join(VERSIONS)}, not {self.versions!r}")
        if self.since and self.until and self.since > self.until:
            raise BadRequest(f"--since {self.since} is after --until {self.until}")

    def describe(self) -> dict[str, Any]:
        """The filters as JSON-ready values (for datapackage.json)."""
        return {
            "query": self.query,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "source": list(self.sources),
            "flag": list(self.flags),
            "versions": self.versions,
            "withdrawn_only": self.withdrawn,
            "site": list(self.sites),
            "section": list(self.sections),
        }

    def filter(self, version_ids: tuple[int, ...] | None = None) -> VersionFilter:
        """These filters as the catalogue takes them (`version_ids`: the hits of `query`)."""
        return VersionFilter(versions=self.versions, since=self.since, until=self.until, sources=self.sources,
                             flags=self.flags, withdrawn=self.withdrawn, version_ids=version_ids,
                             sites=self.sites, sections=self.sections, with_html=self.with_html)


def open_catalogue(data: Path, *, searching: bool = False) -> Catalogue:
    """The archive's catalogue, read-only (raises CatalogueUnreadable); `searching`: its search index brought
    up to date first where it can be (as `search` does: changes still queued were not found)."""
    try:
        if searching:
            from archive.search.ready import searchable

            return searchable(data)
        return open_any(data, readonly=True)
    except (Unavailable, Failed):  # a server away or failing: not an unreadable catalogue
        raise
    except IndexMissing:
        return open_any(data, readonly=True)  # the search says so, as SearchUnavailable
    except CatalogueError as error:
        raise CatalogueUnreadable(str(error)) from error


def guarded(call):
    """Run `call()`; a catalogue that fails while being read becomes CatalogueUnreadable."""
    try:
        return call()
    except (Unavailable, Failed):
        raise
    except CatalogueError as error:
        raise CatalogueUnreadable(f"catalogue read failed: {error}") from error
