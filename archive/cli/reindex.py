"""`portal-archive reindex`: rebuild the catalogue from the WARC files alone."""

from __future__ import annotations

import time

import click

from archive.catalogue.db import connect
from archive.catalogue.rebuild import reindex, warc_files
from archive.cli.options import data_option
from archive.lock import DataFolderBusy, DataLock
from archive.warc.errors import WarcError


@click.command()
@data_option
def command(data) -> None:
    """Rebuild DATA/catalog.sqlite from DATA/warc/ (the old one is replaced only at the end)."""
    if not (data / "warc").is_dir():
        raise click.UsageError(f"{data}/warc does not exist: nothing to index")
    files = warc_files(data)
    started = time.monotonic()
    done = 0

    def progress(path) -> None:
        nonlocal done
        done += 1
        click.echo(f"  [{done}/{len(files)}] {path.name}", err=True)

    try:
        with DataLock(data):
            target = reindex(data, progress)
    except DataFolderBusy as error:
        raise click.ClickException(f"{error}; try again when the crawl has finished") from error
    except WarcError as error:
        raise click.ClickException(f"cannot read a WARC file: {error}") from error
    from archive.search import rebuild_index

    conn = connect(target)
    click.echo("Rebuilding the search index…", err=True)
    rebuild_index(conn)
    conn.commit()
    counts = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
              for table in ("crawls", "captures", "articles", "versions", "withdrawals")}
    click.echo(f"Rebuilt {target} from {len(files)} WARC files in {time.monotonic() - started:.1f}s: "
               + ", ".join(f"{n} {t}" for t, n in counts.items()))
