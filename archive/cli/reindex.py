"""`portal-archive reindex`: rebuild the catalogue from the WARC files alone."""

from __future__ import annotations

import time

import click

from archive.catalogue import open_catalogue
from archive.catalogue.rebuild import reindex, warc_names
from archive.cli.options import data_option, store_option
from archive.exits import Damaged, Failed
from archive.lock import DataLock
from archive.warc.errors import WarcError


@click.command()
@data_option
@store_option("Fold in the WARC files stored here too (each fetched in turn into a temporary file).")
@click.option("--drop-missing", is_flag=True,
              help="Rebuild even though the catalogue holds records of WARC files that are not here (nor in "
                   "--store): their crawls leave the catalogue. Without it, such a reindex is refused (exit 2).")
def command(data, store, drop_missing) -> None:
    """Rebuild the catalogue (and its search index) from DATA/warc/ (and a store's WARC files).

    The old catalogue is replaced only at the end; a catalogue of an older
    layout is migrated this way.  JSONL lines missing from DATA/items/ (a
    crash, a full disk) are written again from the WARC metadata records
    of local files.
    """
    stored = None
    if store:
        from archive.storage import open_store

        stored = open_store(store)
        data.mkdir(parents=True, exist_ok=True)
    elif not (data / "warc").is_dir():
        raise click.UsageError(f"{data}/warc does not exist: nothing to index")
    files = warc_names(data, stored)
    started = time.monotonic()
    done = 0

    def progress(path) -> None:
        nonlocal done
        done += 1
        click.echo(f"  [{done}/{len(files)}] {path.name}", err=True)

    def index_progress(indexed: int, total: int) -> None:
        if indexed == total or indexed % 10_000 < 250:
            click.echo(f"  search index: {indexed}/{total} versions", err=True)

    try:  # SIGTERM stops as Ctrl-C does (archive.cli): cleaned up, the old catalogue kept
        with DataLock(data):
            reindex(data, progress=progress, index_progress=index_progress, store=stored, drop_missing=drop_missing)
    except WarcError as error:
        raise Damaged(f"cannot read a WARC file: {error} (the old catalogue is unchanged)") from error
    except OSError as error:
        raise Failed(f"cannot write: {error} (the old catalogue is unchanged)") from error
    except KeyboardInterrupt:
        raise Failed("reindex stopped before the end (the old catalogue is unchanged)") from None
    if stored is not None:
        click.echo(f"  (WARC files from {stored.url} and {data / 'warc'})", err=True)
    with open_catalogue(data, readonly=True) as catalogue:
        counts = catalogue.counts()
    click.echo(f"Rebuilt the catalogue from {len(files)} WARC files in {time.monotonic() - started:.1f}s: "
               + ", ".join(f"{n} {t}" for t, n in counts.items()))
