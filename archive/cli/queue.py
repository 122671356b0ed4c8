"""`portal-archive queue status`: what the crawl queue holds and who works on it."""

from __future__ import annotations

import json

import click

from archive.cli.options import MOST, queue_option


@click.group(name="queue")
def command() -> None:
    """Look at the crawl queue that `enqueue` and `schedule --queue` fill and `worker` empties."""


@command.command()
@queue_option()
@click.option("--json", "as_json", is_flag=True,
              help='Print one JSON object: {"pending": N, "running": N, "done": N, "failed": N, ...}.')
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, MOST), help="Most jobs listed per state.")
def status(queue_url, as_json, limit) -> None:
    """Pending (queued, waiting for their site, retrying), running (worker, site), done and failed (reason) jobs.

    Done jobs are kept for a week, failed ones for 30 days.  Reading the
    status also settles jobs whose worker died: RQ retries them.
    Exit codes: 0, 8 Redis unreachable.
    """
    from archive.jobs import open_queue

    report = open_queue(queue_url).status(limit=limit)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=1))
        return
    click.echo(f"pending {report['pending']} (queued {report['queued']}, waiting for their site "
               f"{report['waiting_for_site']}, retrying {report['retrying']}), running {report['running']}, "
               f"done {report['done']}, failed {report['failed']}")
    for job in report["running_jobs"]:
        click.echo(f"  running  {job['id']}  {_label(job)}  on {job.get('worker')} since {job.get('started')}")
    for job in report["failed_jobs"]:
        click.echo(f"  failed   {job['id']}  {_label(job)}  {job.get('reason') or ''}")
    for worker in report["workers"]:
        click.echo(f"  worker   {worker['name']}  {worker['state']}" + (f"  job {worker['job']}" if worker["job"] else ""))


def _label(job: dict) -> str:
    return f"{job.get('site')}/{job.get('section') or job.get('profile')}"
