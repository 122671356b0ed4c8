"""`portal-archive replay`: serve the archive's WARCs through pywb on 127.0.0.1."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from archive.children import death_signal
from archive.cli.options import store_option
from archive.cli.ports import claim_port
from archive.exits import Failed
from archive.replay import COLLECTION, ReplayIndex, StoredIndex, find_wayback, write_config


@click.command()
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), default=Path("data"), show_default=True,
              help="Data folder holding warc/.")
@click.option("--port", default=8090, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback unless told otherwise).")
@click.option("--reindex-every", default=10.0, show_default=True, type=click.FloatRange(0.5),
              help="Seconds between checks for new WARC files.")
@store_option("Also replay the WARC files stored here: pywb reads them from the store (range requests), with "
              "the CDXJ indexes uploaded beside them.")
def command(data: Path, port: int, host: str, reindex_every: float, store: str | None) -> None:
    """Replay captured pages in pywb, keeping the index up to date.

    Open http://HOST:PORT/archive/*/URL to list the captures of a URL.
    With --store, files in the store replay too (and files not yet stored,
    from DATA/warc/).

    Exit codes: 0 stopped (Ctrl-C, SIGTERM), 2 bad usage (no DATA/warc/, the
    port taken), 3 pywb ended though replay was not stopped, or the index
    cannot be written, 8 pywb not installed or the store unreachable.
    """
    stored = None
    if store:
        from archive.storage import open_store

        stored = StoredIndex(data, open_store(store))
        (data / "warc").mkdir(parents=True, exist_ok=True)
    elif not (data / "warc").is_dir():
        raise click.UsageError(f"{data}/warc does not exist: crawl something first (portal-archive crawl)")
    wayback = find_wayback()
    port = claim_port(host, port, "--port")  # taken: say so now, not after pywb died
    index = ReplayIndex(data)
    added = index.update()
    config = write_config(data, stored.store if stored else None)
    click.echo(f"Indexed {len(added)} new WARC files into {index.folder}", err=True)
    if stored is not None:
        click.echo(f"Copied the indexes of {len(stored.update())} stored WARC files from {stored.store.url}", err=True)
    process = subprocess.Popen([wayback, "-b", host, "-p", str(port)], cwd=config.parent,
                               stdout=subprocess.DEVNULL, stderr=open(config.parent / "pywb.log", "ab"),
                               preexec_fn=death_signal())
    click.echo(f"Replay: http://{host}:{port}/{COLLECTION}/*/<url>  (pywb log: {config.parent / 'pywb.log'})")
    sys.stdout.flush()

    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    next_check = time.monotonic() + reindex_every
    try:
        while not stopping and process.poll() is None:
            time.sleep(0.2)
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + reindex_every
                new = index.update()
                if stored is not None:
                    from archive.storage import StoreError

                    try:
                        new += stored.update()
                    except StoreError as error:  # the store is away: replay what is indexed, try again later
                        click.echo(f"Could not read the store's indexes: {error}", err=True)
                if new:
                    click.echo(f"Indexed {len(new)} new WARC files", err=True)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
    if not stopping:  # pywb ended though nobody stopped replay: killed, or it quit; either way nothing replays
        how = (f"was stopped by signal {-process.returncode}" if process.returncode < 0
               else f"exited with code {process.returncode}")
        raise Failed(f"pywb {how}; see {config.parent / 'pywb.log'}")
