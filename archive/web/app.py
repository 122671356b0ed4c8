"""Datasette configured for the archive: metadata, templates, our plugin.

The same configuration serves two callers: `portal-archive serve`, which
runs `python -m datasette serve` with `datasette_args(...)` in a child
process, and tests, which build the app in-process with `build_datasette`.

The plugin finds the data folder next to the catalogue (DATA/catalog.sqlite,
DATA/warc/), and the replay server's base URL in the plugin settings
(`plugins: {"portal-archive": {"replay": "http://127.0.0.1:8090"}}`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
PLUGINS = HERE / "plugins"  # loaded with --plugins-dir: one module re-exporting archive.web.plugin's hooks
METADATA = HERE / "metadata.json"
PLUGIN_NAME = "portal-archive"
DATABASE = "catalog"  # Datasette names a database after its file: DATA/catalog.sqlite


def metadata(replay: str | None = None, catalogue: str | None = None, data: Path | None = None,
             snapshot_taken: str | None = None) -> dict:
    """The metadata Datasette is given: metadata.json plus the plugin's settings.

    `catalogue` is the URL of a catalogue the plugin's pages read live instead
    of Datasette's database (PostgreSQL: Datasette itself browses a SQLite
    snapshot of it); `data` the data folder whose warc/ holds the records.
    Datasette shows its metadata to anyone (`/-/metadata.json`): the URL,
    which may hold a password, is named as Datasette's `{"$env": ...}` secret
    when it is $PORTAL_ARCHIVE_CATALOGUE (as under `serve`); a URL with a
    password that is not is refused (ValueError).  `snapshot_taken`: when
    the tables Datasette browses were copied from the live catalogue (said
    on its pages, which do not follow later crawls).
    """
    from archive.catalogue import ENVIRONMENT
    from archive.catalogue.sqlite import DATASETTE_QUERIES
    from archive.redact import redact

    live: str | dict | None = catalogue
    if catalogue and os.environ.get(ENVIRONMENT) == catalogue:
        live = {"$env": ENVIRONMENT}
    elif catalogue and redact(catalogue) != catalogue:
        raise ValueError(f"{redact(catalogue)}: a catalogue URL with a password is given to Datasette through "
                         f"${ENVIRONMENT} only")
    loaded = json.loads(METADATA.read_text(encoding="utf-8"))
    loaded["databases"][DATABASE]["queries"] = DATASETTE_QUERIES
    if snapshot_taken:
        loaded["databases"][DATABASE]["description"] = (
            f"These tables are a snapshot of the catalogue taken at {snapshot_taken}: later crawls are not in "
            "them until serve starts again. The search, article, feed and media pages read the catalogue live.")
    loaded.setdefault("plugins", {})[PLUGIN_NAME] = {"replay": replay.rstrip("/") if replay else None,
                                                     "catalogue": live, "data": str(data) if data else None}
    return loaded


def settings() -> dict:
    """Datasette settings: room for slower queries on large catalogues, no writes of any kind."""
    return {"sql_time_limit_ms": 5000, "facet_time_limit_ms": 1000, "default_page_size": 50,
            "allow_csv_stream": True, "suggest_facets": False, "truncate_cells_html": 300}


def build_datasette(catalogue: Path, *, replay: str | None = None, immutable: bool = True,
                    live: str | None = None, data: Path | None = None):
    """A Datasette instance over `catalogue` with our metadata, templates and plugin (for tests).

    `live`: a catalogue URL the plugin's pages read instead (see `metadata`)."""
    from datasette.app import Datasette

    files = [str(catalogue)]
    return Datasette(
        [] if immutable else files, immutables=files if immutable else [], metadata=metadata(replay, live, data),
        template_dir=str(TEMPLATES), plugins_dir=str(PLUGINS), settings=settings(),
    )


def datasette_args(catalogue: Path, *, host: str, port: int, metadata_file: Path, immutable: bool = True) -> list[str]:
    """Arguments after `python -m datasette` that serve the catalogue read-only."""
    args = ["serve", *(["--immutable", str(catalogue)] if immutable else [str(catalogue)]),
            "--host", host, "--port", str(port), "--metadata", str(metadata_file),
            "--template-dir", str(TEMPLATES), "--plugins-dir", str(PLUGINS)]
    for name, value in settings().items():
        args += ["--setting", name, str(value).lower() if isinstance(value, bool) else str(value)]
    return args
