"""`portal-archive enqueue`: queue crawls of a profile's sections for the workers."""

from __future__ import annotations

import json

import click

from archive.cli.options import queue_option
from archive.cli.schedule import parse_every


@click.command()
@queue_option()
@click.option("--profile", "profiles", multiple=True, required=True, metavar="NAME|FILE",
              help="Site profile: a bundled name or a TOML file; repeatable.")
@click.option("--section", metavar="NAME", help="Only this section (default: every section of each profile).")
@click.option("--full", is_flag=True, help="Walk every list page.")
@click.option("--timeout", default="24h", show_default=True, metavar="INTERVAL",
              help="Stop and retry a crawl running longer than this (90m, 12h...).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON line per job.")
def command(queue_url, profiles, section, full, timeout, as_json) -> None:
    """Queue a crawl of each section of each profile, for `portal-archive worker` to run.

    A job of a site that already has one queued or running waits until that
    one ends (one worker per site); a section already waiting is not queued
    twice.  Exit codes: 0 queued, 2 bad profile or section, 8 Redis unreachable.
    """
    from archive.jobs import jobs_for_profile, open_queue

    jobs = [job for profile in profiles for job in jobs_for_profile(profile, section, full=full)]
    queue = open_queue(queue_url)
    for result in queue.enqueue(jobs, timeout=int(parse_every(timeout))):
        if as_json:
            click.echo(json.dumps({"id": result.id, "site": result.job.site, "section": result.job.section,
                                   "profile": result.job.profile_name, "state": result.state,
                                   "after": result.after}, ensure_ascii=False))
        else:
            note = {"queued": "queued", "waiting": f"queued, waits for {result.after} (same site)",
                    "duplicate": "already waiting, not queued again"}[result.state]
            click.echo(f"{result.id}  {result.job.label}: {note}")
