"""`portal-archive worker`: take crawl jobs from the queue until stopped."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click

from archive.cli.crawl import parse_setting
from archive.cli.options import queue_option, store_option
from archive.exits import UsageProblem


@click.command()
@queue_option()
@store_option("Where each crawl uploads its finished WARC files, CDXJ indexes and items (a file leaves the work "
              "folder once stored and checked); on start, the worker stores what its folder still holds.")
@click.option("--work", type=click.Path(file_okay=False, path_type=Path), default=Path("work"), show_default=True,
              help="Folder of work folders: this worker crawls into the first free WORK/HOST-N.")
@click.option("--heartbeat", type=click.FloatRange(1, 3600), default=10.0, show_default=True, metavar="SECONDS",
              help="Seconds between heartbeats; a worker silent for 3 heartbeats has its job and site lease taken "
                   "over by another (its retry enqueued by a scheduler: up to about 60 s more when the silent "
                   "worker held RQ's scheduler lock).")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty instead of waiting for more jobs.")
@click.option("--max-jobs", type=click.IntRange(1), help="Stop after this many jobs.")
@click.option("-s", "--set", "extra", multiple=True, metavar="NAME=VALUE",
              help="A Scrapy setting for every crawl (repeatable), as `crawl -s`.")
@click.option("--quiet", is_flag=True, help="Log warnings and errors only.")
def command(queue_url, store, work, heartbeat, burst, max_jobs, extra, quiet) -> None:
    """Take crawl jobs from the queue and run them, one at a time, until stopped.

    Each job crawls one section of one site in a child `portal-archive crawl`,
    into this worker's own work folder, with the catalogue from
    $PORTAL_ARCHIVE_CATALOGUE (a postgresql:// URL, so that every worker
    writes one catalogue).  Run as many workers as you like, on one machine or
    many: a site is crawled by one worker at a time, cluster-wide.

    SIGTERM or Ctrl+C stops the current crawl cleanly, hands its job back to
    the queue and exits 0; a second one stops at once.  A worker killed
    outright loses its jobs' leases after 3 heartbeats, and another worker
    takes the job over (within about a minute more: RQ's scheduler lock).
    Exit codes: 0 stopped, 2 bad usage, 8 Redis
    unreachable at start.
    """
    from archive.catalogue import ENVIRONMENT, backend

    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = parse_setting(extra)  # bad NAME=VALUE: bad usage now, not a failed job later
    options = tuple(arg for value in extra for arg in ("-s", value))
    catalogue = settings.get("ARCHIVE_CATALOGUE") or os.environ.get(ENVIRONMENT, "")
    if catalogue:
        try:  # a URL no crawl can use: bad usage now, not every job failing later
            backend(work, catalogue)
        except UsageProblem as error:
            raise click.BadParameter(str(error), param_hint="-s ARCHIVE_CATALOGUE") from None
    for where, url in (("--store", store), ("-s ARCHIVE_STORE", settings.get("ARCHIVE_STORE"))):
        if url:
            from archive.storage import open_store

            try:  # a store URL no crawl can use: every job would fail for good (exit 2), the queue emptied
                open_store(url)
            except UsageProblem as error:
                raise click.BadParameter(str(error), param_hint=where) from None
    if catalogue.partition(":")[0].lower() not in ("postgresql", "postgres"):
        click.echo("Warning: no PostgreSQL catalogue ($PORTAL_ARCHIVE_CATALOGUE or --catalogue): each work folder "
                   "gets a SQLite catalogue of its own", err=True)
    from archive.jobs.worker import run_worker

    done = run_worker(queue_url, work, store=store, heartbeat=heartbeat, crawl_options=options, burst=burst,
                      max_jobs=max_jobs)
    click.echo(f"Worker stopped after {done} job{'s' if done != 1 else ''}.", err=True)
