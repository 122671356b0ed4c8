"""The Frictionless data package descriptor written beside every export.

For `--out DIR/NAME.EXT` it is `DIR/NAME.EXT.datapackage.json`: one per
export file, so several exports (say CSV and Parquet of the same rows) share a
folder, and a plain `datapackage.json` is never touched.  An existing
descriptor is replaced only when it is ours and describes that same file.  It
names each file with its `bytes` and `hash` (sha256), its format and, for
tables, a Table Schema (field names, types, descriptions).  Beyond the
standard properties it records where the rows come from: `crawls` (ids,
start and end), `coverage` (published and captured date ranges), `filters`
(the selection used), `rows`, and `sources` (the site and its address).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from archive.export.errors import CannotWrite
from archive.export.fields import published_date

SUFFIX = ".datapackage.json"
GENERATOR = "portal-archive export"


def descriptor_path(out: Path) -> Path:
    """Where the descriptor of the export `out` goes: `NAME.EXT.datapackage.json` beside it."""
    out = Path(out)
    return out.with_name(out.name + SUFFIX)


def check_descriptor_free(path: Path, out: Path) -> None:
    """Refuse to overwrite a descriptor that describes some other file (raises CannotWrite)."""
    if not path.exists():
        return
    try:
        existing = json.loads(path.read_text(encoding="utf-8"))
        ours = existing.get("generator", "").startswith(GENERATOR)
        same = existing["resources"][0]["path"] == Path(out).name
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError):
        ours = same = False
    if not (ours and same):
        raise CannotWrite(f"{path} exists and does not describe {Path(out).name}; "
                          "move it, or choose another --out name")


def resource_name(text: str) -> str:
    """A Frictionless resource name (lowercase letters, digits, '-', '_', '.')."""
    name = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-.")
    return name or "export"


@dataclass
class Coverage:
    """What the exported rows span, gathered while they stream past (small sets only)."""

    rows: int = 0
    crawl_ids: set[str] = field(default_factory=set)
    sites: dict[str, str | None] = field(default_factory=dict)  # origin -> site name
    published: list[str] = field(default_factory=list)  # [first, last]
    captured: list[str] = field(default_factory=list)

    def add(self, row: Any) -> None:
        self.rows += 1
        self.crawl_ids.add(row["crawl_id"])
        origin = _origin(row["url"])
        if self.sites.get(origin) is None:
            self.sites[origin] = row["site_name"]
        _widen(self.published, published_date(row["published"]))
        _widen(self.captured, row["capture_time"])

    def describe(self) -> dict[str, Any]:
        span = lambda values: {"from": values[0], "to": values[1]} if values else None  # noqa: E731
        return {"published": span(self.published), "captured": span(self.captured)}


def _origin(url: str) -> str:
    """`scheme://host/` of a URL (cheaper than urlsplit, once per row)."""
    start = url.find("//")
    end = url.find("/", start + 2) if start >= 0 else -1
    if start < 0:
        return url
    return url + "/" if end < 0 else url[: end + 1]


def _widen(bounds: list[str], value: str | None) -> None:
    if value is None:
        return
    if not bounds:
        bounds += [value, value]
    elif value < bounds[0]:
        bounds[0] = value
    elif value > bounds[1]:
        bounds[1] = value


def build_descriptor(*, name: str, resources: list[dict[str, Any]], coverage: Coverage,
                     crawls: list[dict[str, Any]], filters: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """The descriptor as a dict; `resources` carry name, path, bytes, hash and format properties."""
    site = next((s for s in coverage.sites.values() if s), None)
    return {
        "profile": "data-package",
        "name": resource_name(name),
        "title": f"{site or 'Portal'}: archived articles ({name})",
        "description": "Articles exported from a portal-archive catalogue: one row per article version, "
                       "with the WARC record each version was parsed from.",
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "generator": GENERATOR,
        "sources": [{"title": title or origin, "path": origin} for origin, title in sorted(coverage.sites.items())],
        "rows": coverage.rows,
        "crawls": crawls,
        "coverage": coverage.describe(),
        "filters": {**filters, "fields": fields},
        "resources": resources,
    }


def descriptor_bytes(descriptor: dict[str, Any]) -> bytes:
    return (json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
