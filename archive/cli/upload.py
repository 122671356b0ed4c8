"""`portal-archive upload`: store what crawls left in a data folder (the store was down, a crawl was killed)."""

from __future__ import annotations

import click

from archive.cli.options import data_option, store_option
from archive.exits import UsageProblem


@click.command()
@data_option
@store_option("The store to upload to (required).")
@click.option("--wait", default=60.0, show_default=True, type=click.FloatRange(0),
              help="Keep retrying failed uploads (1 s, then doubling) for up to this many seconds.")
def command(data, store, wait) -> None:
    """Store the WARC files, CDXJ indexes, items and digest lists a crawl left in DATA.

    A crawl with --store does this itself at its start; run it when a worker
    starts, or after the store was down.  It holds DATA's lock (no crawl runs
    meanwhile), recovers unfinished WARC files, folds into the catalogue
    what it missed, then uploads.  A WARC file is deleted from DATA/warc/
    only once stored, checked by digest and in the catalogue.

    \b
    Exit codes:
      0  everything is stored
      2  bad usage (no --store, a URL of no known kind)
      4  a crawl is using DATA
      7  the store holds other bytes under a file's name, or keeps damaging them,
         or a WARC file in DATA is damaged (it cannot be indexed; it stays there)
      8  the store did not answer (the files stay in DATA)
    """
    from archive.exits import Damaged, Unavailable
    from archive.storage import open_store
    from archive.storage.uploads import store_leftovers

    if not store:
        raise UsageProblem("--store URL (or $PORTAL_ARCHIVE_STORE) is required")
    target = open_store(store)
    if not data.is_dir():
        raise UsageProblem(f"{data} does not exist")
    summary = store_leftovers(data, target, wait=wait)
    click.echo(f"Stored {len(summary.stored)} objects ({summary.bytes} bytes) in {target.url}; "
               f"{len(summary.pending)} WARC files and {len(summary.sidecars_pending)} other files wait in {data}; "
               f"{len(summary.kept)} stored files kept until the catalogue holds them")
    if not summary.ok:
        kind = Damaged if summary.damaged and summary.damaged == summary.failures else Unavailable
        raise kind(f"not everything is stored (last error: {summary.last_error})")
