"""Rebuilding the catalogue from the WARC files (reindex) and catching up after a crash.

Both fold the same events that the crawl folds live (`warc_events`), which
is why a rebuilt catalogue equals the live one.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from archive.catalogue.api import Catalogue
from archive.catalogue.events import Event, Metadata
from archive.catalogue.read_ahead import ReadAhead, cores
from archive.catalogue.warc_events import crawl_of, events_from_file
from archive.exits import Damaged, Unavailable, UsageProblem
from archive.items import ItemFiles
from archive.warc.errors import WarcError, WarcFormatError

logger = logging.getLogger(__name__)
READ_AHEAD = os.environ.get("PORTAL_ARCHIVE_READ_AHEAD", "1") != "0"  # 0: parse in this process (measuring)


def warc_files(data: Path) -> list[Path]:
    """Finished WARC files in the order they were written (names start with a timestamp)."""
    return sorted((Path(data) / "warc").glob("*.warc.gz"), key=lambda p: p.name.split("-", 1)[-1])


def apply_with_item(catalogue: Catalogue, items: ItemFiles | None, event: Event) -> None:
    """Fold `event` in; for an article record, make sure its JSONL line exists too (unless `items` is None).

    The catalogue must never hold an article whose line is missing: a crawl
    killed (or out of disk space) between the record and the line left it
    unwritten, and the record holds everything the line says.
    """
    catalogue.apply(event)
    if items is not None and isinstance(event, Metadata) and event.kind == "article" and event.concurrent_to:
        capture = catalogue.capture_by_record(event.concurrent_to)
        if capture is not None:
            warc = {"file": capture["file"], "offset": capture["offset"], "length": capture["length"],
                    "record_id": capture["record_id"], "payload_digest": capture["payload_digest"],
                    "date": capture["date"], "revisit": capture["warc_type"] == "revisit"}
            items.restore(event.crawl_id, event.payload, warc)


def settle_folder(data: Path, catalogue_url: str | None = None) -> list:
    """Finish what a dead crawl left in DATA; the caller holds DATA's lock.

    Unfinished WARC files are cut back to their last whole record, then the
    catalogue folds in what it missed (`catch_up`), as a crawl does at its
    start.  Returns the recovery results; a catalogue that cannot be opened
    raises its error after the files were recovered.
    """
    from archive.catalogue import open_catalogue
    from archive.warc.recovery import recover

    results = list(recover(Path(data) / "warc")) if (Path(data) / "warc").is_dir() else []
    for result in results:
        logger.warning("Recovered an unfinished WARC file: %s", result)
    with open_catalogue(data, catalogue_url) as catalogue:
        catch_up(catalogue, data)
    return results


def catch_up(catalogue: Catalogue, data: Path, progress: Callable[[Path], None] | None = None) -> int:
    """Apply every record not yet folded in; returns the number of files touched.

    Run after `recover()` at the start of a crawl: a crawl killed before its
    last commit left records on disk that the catalogue does not have yet
    (and perhaps articles without their JSONL line, which are written now).
    The caller holds the data folder's lock, so no crawl of this folder is
    running: one whose files are here and that never wrote its end record
    was interrupted.
    """
    items = ItemFiles(data)
    done = catalogue.ingested()
    touched = 0
    crawls_here: set[str] = set()
    for path in warc_files(data):
        try:
            crawls_here.add(crawl_of(path) or "")
        except WarcError:
            pass  # a damaged first record: `verify` reports the file
        start = done.get(path.name, 0)
        if start >= path.stat().st_size:
            continue
        if progress:
            progress(path)
        try:
            hint = crawl_of(path) if start else None
            for event in events_from_file(path, start, crawl_hint=hint):
                apply_with_item(catalogue, items, event)
        except WarcError as error:
            # Keep what was read; the file itself is left as it is for `verify` to report.
            logger.error("Could not fold all of %s into the catalogue: %s", path.name, error)
        catalogue.commit()
        touched += 1
    # Only this folder's crawls: other crawls writing a shared catalogue (other workers) are running.
    catalogue.settle(crawls_here - {""})
    catalogue.commit()
    return touched


def fold_all(catalogue: Catalogue, data: Path, progress: Callable[[Path], None] | None = None,
             store: Any = None, *, read_ahead: bool = READ_AHEAD, names: set[str] | None = None) -> None:
    """Fold every record of every WARC file into an empty catalogue, restoring missing JSONL lines.

    With a `store` (`archive.storage.Store`), its WARC files are folded too,
    each fetched into a temporary file in turn (no JSONL line is restored
    for those: their items files are in the store).  Raises WarcError on a
    damaged file, OSError when a line cannot be written, a StoreError when
    the store cannot be read.  `read_ahead`: parse in a worker process
    (`archive.catalogue.read_ahead`) where there is a second core.
    """
    items = ItemFiles(data)
    with ExitStack() as stack:
        # With a second core, a worker process parses each file while this one folds its events.
        events = stack.enter_context(ReadAhead()).events if read_ahead and cores() > 1 else events_from_file
        for path, stored in all_warc_files(data, store, names):
            if progress:
                progress(path)
            for event in _named(path, events(path)):
                apply_with_item(catalogue, None if stored else items, event)
            catalogue.commit()
    catalogue.settle()
    catalogue.commit()


def _named(path: Path, events: Iterator[Event]) -> Iterator[Event]:
    """`events`, a damaged or unreadable file raising WarcFormatError that names it (and the offset, if known);
    an OSError of the caller's own writing is not this function's."""
    while True:
        try:
            event = next(events)
        except StopIteration:
            return
        except WarcFormatError as error:
            where = f" at offset {error.offset}" if error.offset is not None else ""
            raise WarcFormatError(f"{path.name}{where}: {error.message}", error.offset) from error
        except WarcError as error:
            raise WarcFormatError(f"{path.name}: {error}") from error
        except OSError as error:  # a directory or a dangling link where a WARC file should be, a read error
            raise WarcFormatError(f"{path.name} cannot be read: {error.strerror or error}") from error
        yield event


def warc_names(data: Path, store: Any = None) -> set[str]:
    """The names of the finished WARC files in DATA/warc/ and in the store."""
    names = {path.name for path in warc_files(data)}
    if store is not None:
        from archive.storage import warc_key

        names |= {o.name for o in store.list(warc_key("")) if o.name.endswith(".warc.gz")}
    return names


def differing_copies(data: Path, store: Any) -> list[str]:
    """The local WARC files whose namesake in the store holds other bytes (size, or the SHA-256 recorded at
    upload), each named with both sizes.

    A finished WARC file never changes, so two copies that differ mean one
    was cut short or damaged; a reindex reading the local one would fold
    fewer records, or other ones, and call the result the catalogue.
    """
    from archive.storage import warc_key
    from archive.storage.api import file_sha256

    differ = []
    for path in warc_files(data):
        stored = store.stat(warc_key(path.name))
        if stored is None:
            continue
        size = path.stat().st_size
        if stored.size != size or (stored.sha256 and stored.sha256 != file_sha256(path)):
            differ.append(f"{path.name} ({size} bytes here, {stored.size} in the store)")
    return differ


def missing_files(data: Path, url: str | None, present: set[str]) -> list[str]:
    """The WARC files the present catalogue holds records of that are not among `present` (`warc_names`):
    what a reindex from here would drop (other data folders' crawls in a shared catalogue, files lost).
    Empty where there is no catalogue, or one this version cannot read (a reindex migrates it)."""
    from archive.catalogue import CatalogueError, open_catalogue

    try:
        with open_catalogue(data, url, readonly=True) as catalogue:
            held = set(catalogue.ingested())
    except CatalogueError as error:
        if isinstance(error, Unavailable):
            raise
        return []
    return sorted(held - present)


def all_warc_files(data: Path, store: Any = None, names: set[str] | None = None) -> Iterator[tuple[Path, bool]]:
    """(path, from the store?) of every finished WARC file, in DATA/warc/ or the store, in the order written.

    A stored file is fetched when its turn comes and deleted after, so one
    stored file at a time is on the local disk; a file in both places is
    read from DATA/warc/.
    """
    local = {path.name: path for path in warc_files(data)}
    names = warc_names(data, store) if names is None else names  # `names`: listed already
    with tempfile.TemporaryDirectory(prefix="reindex-") as tmp:
        for name in sorted(names, key=lambda n: n.split("-", 1)[-1]):
            if name in local:
                yield local[name], False
                continue
            from archive.storage import warc_key

            path = Path(tmp) / name
            store.get(warc_key(name), path)
            try:
                yield path, True
            finally:
                path.unlink(missing_ok=True)


STAGE_PREFIX = ".reindex-stage-"


def fold_staged(catalogue: Any, data: Path, progress: Callable[[Path], None] | None = None,
                store: Any = None, index_progress: Callable[[int, int], None] | None = None,
                names: set[str] | None = None) -> None:
    """`fold_all` into a temporary SQLite catalogue, then its tables copied into `catalogue` while its search
    index is built from them (`load_staged`).

    For a catalogue on a server (PostgreSQL), where the fold's five or so
    statements a record would each wait for a round trip: the same fold
    runs in-process, and the rows travel in one COPY per table.  The
    temporary file is in a directory `DATA/.reindex-stage-*` removed after,
    whether the fold succeeded or not (one a killed reindex left is removed
    by the next); it needs about the catalogue's size without its search
    index on DATA's disk while the reindex runs.
    """
    from archive.catalogue.sqlite import SqliteCatalogue

    for stale in Path(data).glob(STAGE_PREFIX + "*"):  # the caller holds DATA's lock: no reindex is using it
        shutil.rmtree(stale, ignore_errors=True)
    Path(data).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=STAGE_PREFIX, dir=data) as tmp:
        stage = SqliteCatalogue.open(Path(tmp) / "stage.sqlite", scratch=True)
        try:
            fold_all(stage, data, progress, store, names=names)
            catalogue.load_staged(stage, index_progress)
        finally:
            stage.close()


def reindex(data: Path, url: str | None = None, progress: Callable[[Path], None] | None = None,
            index_progress: Callable[[int, int], None] | None = None, store: Any = None, *,
            drop_missing: bool = False) -> None:
    """Rebuild the catalogue (and its search index) from DATA's WARC files (and a store's) alone, atomically.

    The old catalogue stays in place until the new one is complete.  A
    catalogue on a server is folded locally first (`fold_staged`).  Refused
    (UsageProblem) when the catalogue holds records of WARC files that are
    not here (`missing_files`), unless `drop_missing`.
    """
    from archive.catalogue import backend

    cls, location = backend(data, url)
    names = warc_names(data, store)  # listed once: what is checked is what is folded
    differ = differing_copies(data, store) if store is not None else []
    if differ:
        raise Damaged(
            f"{len(differ)} WARC file(s) in {Path(data) / 'warc'} differ from their copy in {store.url} "
            f"({', '.join(differ[:3])}{', ...' if len(differ) > 3 else ''}): nothing was rebuilt. `portal-archive "
            "verify --store` checks the stored copies; move the local copy that is wrong out of the folder")

    def nothing_dropped() -> None:
        """Called by the backend once no writer can add files any more (PostgreSQL: its locks held)."""
        missing = [] if drop_missing else missing_files(data, url, names)
        if missing:
            raise UsageProblem(
                f"the catalogue holds records of {len(missing)} WARC file(s) that are neither in "
                f"{Path(data) / 'warc'} nor in a store given ({', '.join(missing[:3])}"
                f"{', ...' if len(missing) > 3 else ''}): a reindex from here would drop their crawls. Reindex "
                "with the data folder or --store that holds them, or with --drop-missing to rebuild without them")

    def fold(catalogue: Catalogue) -> None:
        if getattr(catalogue, "round_trips", False):
            fold_staged(catalogue, data, progress, store, index_progress, names)
        else:
            fold_all(catalogue, data, progress, store, names=names)
            catalogue.rebuild_index(index_progress)

    cls.rebuilt(location, fold, before=nothing_dropped)
