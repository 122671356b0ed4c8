"""One export, start to finish: select, stream through a writer, describe, commit.

Nothing appears under a final name until everything has been written: each
file is staged as `NAME.part` and renamed at the end, and on any failure the
`.part` files are removed (media files already extracted stay: each is
complete and named by its hash).
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from archive.catalogue import Catalogue, VersionFilter
from archive.export import datapackage
from archive.export.errors import BadRequest, CannotWrite, EmptySelection
from archive.export.fields import choose_fields
from archive.export.media import MediaWriter
from archive.export.output import Staging, sha256_file
from archive.export.query import matching_version_ids
from archive.export.select import Selection, guarded, open_catalogue

# format -> (module, class); modules are imported only when their format is used.
FORMATS: dict[str, tuple[str, str]] = {
    "csv": ("archive.export.text_writers", "CsvWriter"),
    "jsonl": ("archive.export.text_writers", "JsonlWriter"),
    "parquet": ("archive.export.parquet_writer", "ParquetWriter"),
    "xlsx": ("archive.export.xlsx_writer", "XlsxWriter"),
    "wacz": ("archive.export.wacz", "WaczWriter"),
    "sqlite": ("archive.export.sqlite_writer", "SqliteWriter"),
}
MEDIA_SUFFIX = ".media.csv"
PROGRESS_EVERY = 256


class Progress(Protocol):
    """What `export` reports while it runs (the CLI draws a bar from it)."""

    def start(self, total: int) -> None: ...
    def advance(self, rows: int) -> None: ...
    def finish(self) -> None: ...


@dataclass(frozen=True)
class ExportRequest:
    """What to export: the data folder (catalogue + warc/), where, in which format, which rows and columns.

    `fields` None means the default columns; `bom` and `raw_csv` (cells exactly as archived, none made
    safe for spreadsheets: `archive.export.text_writers.csv_cell`) apply to CSV files;
    `with_media` also extracts images and attachments (not for wacz);
    `evidence` signs and/or timestamps a wacz (`archive.evidence.seal.Evidence`);
    `store` (`archive.storage.Store`) is where a wacz finds the WARC files not in DATA/warc/.
    """

    data: Path
    out: Path
    format: str
    selection: Selection = field(default_factory=Selection)
    fields: tuple[str, ...] | None = None
    bom: bool = True
    raw_csv: bool = False
    with_media: bool = False
    evidence: Any = None
    store: Any = None


@dataclass
class ExportResult:
    """What an export wrote.  `bytes` counts every file in `files` plus new media files."""

    rows: int
    files: list[Path]
    bytes: int
    media_entries: int = 0
    media_files: int = 0


def _check(request: ExportRequest) -> None:
    if str(request.out) == "-":
        raise BadRequest("--out -: an export is a file, written whole with its NAME.datapackage.json beside it; "
                         "give a file name (`search --json` streams hits to standard output)")
    if request.format not in FORMATS:
        raise BadRequest(f"unknown format {request.format!r} (known: {', '.join(FORMATS)})")
    if request.format == "wacz" and request.with_media:
        raise BadRequest("--with-media does not apply to wacz: its WARC files already hold the media")
    if request.format in ("wacz", "sqlite") and request.with_media:
        raise BadRequest(f"--with-media does not apply to {request.format}")
    if request.format in ("wacz", "sqlite") and request.fields is not None:
        raise BadRequest(f"--fields does not apply to {request.format}: it holds records or tables, not columns")
    if request.format != "wacz" and request.evidence is not None and request.evidence.wanted:
        raise BadRequest("--sign, --signing-key and --timestamp-url apply to wacz packages only")
    if request.format != "csv" and request.raw_csv:
        raise BadRequest("--raw-csv applies to csv files only (the other formats keep every value as archived)")
    if request.format != "csv" and not request.bom and not request.with_media:
        raise BadRequest("--no-bom applies to csv files (and the media list of --with-media) only")
    if request.format != "wacz" and request.store is not None:
        raise BadRequest("--store applies to wacz packages only (the other formats read the catalogue alone)")
    _check_not_the_archive(Path(request.out), Path(request.data))


def _check_not_the_archive(out: Path, data: Path) -> None:
    """BadRequest when `--out` would replace the catalogue being read, or land among DATA's WARC files and items."""
    from archive.catalogue import backend

    target = out.resolve()
    _, location = backend(data)
    # The catalogue and SQLite's files beside it (-wal holds commits not yet in the file: replacing it lost them).
    if isinstance(location, Path) and target.parent == location.resolve().parent and (
            target.name == location.name or target.name.startswith(location.name + "-")):
        raise BadRequest(f"--out {out} is the catalogue this export reads (or one of its files): write the export "
                         "somewhere else")
    if target == (Path(data) / ".lock").resolve():
        raise BadRequest(f"--out {out} is the data folder's lock: write the export somewhere else")
    for kept in ("warc", "items"):
        if target.is_relative_to((data / kept).resolve()):
            raise BadRequest(f"--out {out} is inside {data / kept}, which holds the archive itself: "
                             "write the export somewhere else")


def _open_writer(request: ExportRequest, part: Path, fields: list, catalogue: Catalogue,
                 chosen: VersionFilter) -> Any:
    module, name = FORMATS[request.format]
    writer_class = getattr(importlib.import_module(module), name)
    if request.format == "sqlite":
        return writer_class(part, catalogue, chosen)
    if request.format == "wacz":
        return writer_class(part, Path(request.data) / "warc", evidence=request.evidence, store=request.store,
                            originals=lambda record_ids: original_files(catalogue, record_ids),
                            description="portal-archive export; filters: "
                                        + json.dumps(request.selection.describe(), ensure_ascii=False))
    if request.format == "csv":
        return writer_class(part, fields, bom=request.bom, raw=request.raw_csv)
    return writer_class(part, fields, bom=request.bom)


def export(request: ExportRequest, *, progress: Progress | None = None) -> ExportResult:
    """Run one export; raises an `ExportError` subclass saying why it failed."""
    _check(request)
    fields = choose_fields(request.fields)
    selection = request.selection
    if any(f.name == "body_html" for f in fields):
        selection = replace(selection, with_html=True)
    out = Path(request.out)
    descriptor = datapackage.descriptor_path(out)
    datapackage.check_descriptor_free(descriptor, out)
    media_map = out.with_name(out.name + MEDIA_SUFFIX)
    catalogue = open_catalogue(request.data, searching=selection.query is not None)
    staging = Staging()
    writer = media = None
    try:
        hits = None
        if selection.query is not None:
            hits = tuple(matching_version_ids(catalogue, selection.query))
        chosen = selection.filter(hits)
        out_part = staging.part(out)
        writer = _open_writer(request, out_part, fields, catalogue, chosen)
        if request.with_media:
            media_part = staging.part(media_map)
            media = MediaWriter(catalogue, Path(request.data) / "warc", out.parent, media_part, bom=request.bom,
                                raw=request.raw_csv)
        coverage = _stream(catalogue, chosen, writer, media, progress)
        resources = [_resource(writer.resource(), out, out_part)]
        if media:
            resources.append(_resource(media.resource(), media_map, media_part))
        described = datapackage.build_descriptor(
            name=out.name, resources=resources, coverage=coverage, crawls=guarded(lambda: catalogue.crawls_by_id(coverage.crawl_ids)),
            filters=selection.describe(),
            fields=[f.name for f in fields] if request.format not in ("wacz", "sqlite") else [])
        descriptor_part = staging.part(descriptor)
        descriptor_part.write_bytes(datapackage.descriptor_bytes(described))
        total = sum(r["bytes"] for r in resources) + descriptor_part.stat().st_size
        files = staging.commit()
    except BaseException as error:
        for open_writer in (writer, media):
            if open_writer is not None:
                try:
                    open_writer.abort()
                except Exception:  # already failing: the first error is the one to report
                    pass
        staging.discard()
        if isinstance(error, OSError):
            raise CannotWrite(f"writing {out} failed: {error.strerror or error}") from error
        raise
    finally:
        catalogue.close()
    return ExportResult(
        rows=coverage.rows, files=files, bytes=total + (media.bytes_written if media else 0),
        media_entries=media.entries if media else 0, media_files=media.files_written if media else 0)


def _stream(catalogue: Catalogue, chosen: VersionFilter, writer: Any, media: MediaWriter | None,
            progress: Progress | None) -> datapackage.Coverage:
    """Every selected row through the writer (and media); raises EmptySelection when there is none."""
    coverage = datapackage.Coverage()
    if progress:
        progress.start(guarded(lambda: catalogue.count_versions(chosen)))
    try:
        for row in guarded_rows(catalogue, chosen):
            writer.write(row)
            if media:
                media.add(row)
            coverage.add(row)
            if progress and coverage.rows % PROGRESS_EVERY == 0:
                progress.advance(PROGRESS_EVERY)
    finally:
        if progress:
            progress.advance(coverage.rows % PROGRESS_EVERY)
            progress.finish()
    if coverage.rows == 0:
        raise EmptySelection("no article version matches these filters")
    writer.close()
    if media:
        media.close()
    return coverage


def original_files(catalogue: Catalogue, revisit_ids: set[str]) -> set[str]:
    """The WARC files holding the records these revisits refer to (those the catalogue knows)."""
    files = set()
    for record_id in sorted(revisit_ids):
        capture = guarded(lambda: catalogue.capture_by_record(record_id))
        original = guarded(lambda: catalogue.original_of(capture)) if capture else None
        if original and original.get("file"):
            files.add(original["file"])
    return files


def guarded_rows(catalogue: Catalogue, chosen: VersionFilter):
    """The selected rows; a catalogue failing mid-stream becomes CatalogueUnreadable."""
    rows = catalogue.select_versions(chosen)
    while True:
        row = guarded(lambda: next(rows, None))
        if row is None:
            return
        yield row


def _resource(properties: dict[str, Any], final: Path, part: Path) -> dict[str, Any]:
    digest, size = sha256_file(part)
    kind = "tabular-data-resource" if "schema" in properties else "data-resource"
    return {"name": datapackage.resource_name(final.name), "path": final.name, "profile": kind,
            **properties, "bytes": size, "hash": digest}
