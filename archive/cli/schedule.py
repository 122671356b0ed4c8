"""`portal-archive schedule`: run crawls on a timer, in the foreground.

Each run is a child `portal-archive crawl` process (Twisted's reactor cannot
restart in one process), so one run's crash never takes the scheduler down.
With `--queue`, a run queues the crawls for `portal-archive worker` instead.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import click

from archive.children import death_signal
from archive.cli.options import data_option, queue_option, watch_options
from archive.exits import ExitCode

_EVERY = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _shown(args: tuple[str, ...] | list[str]) -> str:
    """The crawl's arguments as printed: a password in any URL among them (-s ARCHIVE_NOTIFY=json://u:PW@h/)
    masked."""
    from archive.redact import hide, secrets

    found = [secret for arg in args for url in re.findall(r"[A-Za-z][A-Za-z0-9+.-]*://\S+", arg)
             for secret in secrets(url)]
    return hide(" ".join(args), found)


MAX_EVERY = 366 * 86400  # a year: 1000000000d overflowed the clock after the first crawl


def parse_every(value: str) -> float:
    match = _EVERY.match(value.strip().lower())
    if not match or float(match.group(1)) <= 0:
        raise click.BadParameter(f"{value!r}: use a number and a unit, e.g. 90s, 30m, 6h, 1d")
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds > MAX_EVERY:
        raise click.BadParameter(f"{value!r}: at most 366d between crawls")
    return seconds


class Timer:
    """When the next run is due: every N seconds, or at the times of a cron expression."""

    def __init__(self, every: float | None, cron: str | None):
        self.every = every
        self.cron = None
        if cron:
            from croniter import croniter

            if not croniter.is_valid(cron):
                raise click.BadParameter(f"{cron!r} is not a cron expression (e.g. '0 */6 * * *')", param_hint="--cron")
            self.cron = cron
            try:
                self.next_after(datetime.now(timezone.utc))
            except Exception:  # noqa: BLE001 - croniter's own errors: a day that never comes (31 Feb)
                raise click.BadParameter(f"{cron!r} never comes (e.g. the 31st of February)",
                                         param_hint="--cron") from None

    def next_after(self, moment: datetime) -> datetime:
        """The first time after `moment`: after a crawl that outlasted several slots, the next one from now,
        not each missed slot in a row."""
        if self.cron is not None:
            from croniter import croniter

            return croniter(self.cron, max(moment, datetime.now(timezone.utc))).get_next(datetime)
        return moment + timedelta(seconds=self.every or 0)


def enqueue_due(queue_url: str, profiles: tuple[str, ...], section: str | None, wait: float = 60.0) -> int:
    """Queue a crawl of each profile's sections; the exit code of this run (8: Redis unreachable for `wait` s,
    2: a profile that no longer loads, whose sections are skipped while the others' are queued)."""
    from archive.exits import ArchiveError, ExitCode, UsageProblem
    from archive.jobs import jobs_for_profile, open_queue

    jobs, code = [], 0
    for profile in profiles:  # read again each run: a profile edited since is queued as it is now
        try:
            jobs += jobs_for_profile(profile, section)
        except UsageProblem as error:  # removed or broken since the start: the other profiles still go
            click.echo(f"  not queued: {error}", err=True)
            code = int(ExitCode.USAGE)
    if not jobs:
        return code
    deadline = time.monotonic() + wait
    pause = 1.0
    while True:
        try:
            results = open_queue(queue_url).enqueue(jobs)
            break
        except ArchiveError as error:  # a Redis restart: try again for a while, then give this run up
            if time.monotonic() + pause > deadline:
                click.echo(f"  not queued: {error}", err=True)
                return int(error.exit_code)
            time.sleep(pause)
            pause = min(pause * 2, 15)
    for result in results:
        note = "already waiting" if result.state == "duplicate" else result.state
        click.echo(f"  {result.job.label}: {note} ({result.id})")
    return code


@click.command()
@click.option("--every", metavar="INTERVAL", help="Run every INTERVAL (90s, 30m, 6h, 1d), the first run at once.")
@click.option("--cron", metavar="EXPR", help="Run at the times of a cron expression (UTC), e.g. '0 */6 * * *'.")
@click.option("--max-runs", type=click.IntRange(1), help="Stop after this many runs (default: run until stopped).")
@data_option
@watch_options
@queue_option(required=False, help="Queue the due crawls here for `portal-archive worker` instead of running them")
@click.option("--profile", "profiles", multiple=True, metavar="NAME|FILE",
              help="With --queue: the profiles whose sections to queue, bundled names or TOML files (repeatable).")
@click.option("--section", metavar="NAME", help="With --queue: only this section of each profile.")
@click.argument("crawl_args", nargs=-1, type=click.UNPROCESSED)
def command(every, cron, max_runs, data, notify, notify_on, feeds_dir, queue_url, profiles, section,
            crawl_args) -> None:
    """Run `portal-archive crawl` on a timer until stopped (SIGINT/SIGTERM); or, with --queue, queue the crawls.

    Options after `--` go to every crawl, e.g.
    `portal-archive schedule --every 6h -- --replica http://127.0.0.1:8000`.
    Exits with the worst exit code of its runs (0 ok, 1 partial, 2 a profile
    that no longer loads with --queue, 3 failed, 4 locked, 8 queue unreachable); a run
    refused as bad usage (exit 2: an unknown crawl option, a bad setting)
    stops it at once, exit 2.
    --notify, --notify-on and --feeds-dir apply to every crawl (alert URLs
    reach each crawl through its environment, not its command line).
    With `--queue URL --profile FILE...`, each due run queues a crawl of every
    section of those profiles for the workers instead (a section still
    waiting from the last run is not queued twice; a profile deleted or
    broken since the start is reported and skipped, the others queued), e.g.
    `portal-archive schedule --every 6h --queue redis://db:6379/0 --profile a.toml --profile b.toml`.
    """
    if bool(every) == bool(cron):
        raise click.UsageError("give exactly one of --every and --cron")
    if queue_url and not profiles:
        raise click.UsageError("--queue needs at least one --profile")
    if queue_url and crawl_args:
        raise click.UsageError("crawl options after -- belong to the workers (portal-archive worker -s NAME=VALUE)")
    if profiles and not queue_url:
        raise click.UsageError("--profile is for --queue; a local crawl takes it after --: -- --profile FILE")
    if queue_url and (notify or notify_on or feeds_dir):
        raise click.UsageError("with --queue the workers crawl: give them PORTAL_ARCHIVE_NOTIFY, not --notify here")
    if queue_url:
        from archive.jobs import jobs_for_profile

        for profile in profiles:
            jobs_for_profile(profile, section)  # a bad profile or section: bad usage now, not at the first run
    timer = Timer(parse_every(every) if every else None, cron)
    watch_args = [arg for value in notify_on for arg in ("--notify-on", value)]
    watch_args += ["--feeds-dir", str(feeds_dir)] if feeds_dir else []
    env = dict(os.environ)
    if notify:  # through the environment: a crawl's command line is visible to every user of the machine
        env["PORTAL_ARCHIVE_NOTIFY"] = " ".join([*notify, *env.get("PORTAL_ARCHIVE_NOTIFY", "").split()])
    stopping = False
    child: subprocess.Popen | None = None

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)  # the crawl stops cleanly and can resume

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    worst, runs = 0, 0
    due = datetime.now(timezone.utc) if every else timer.next_after(datetime.now(timezone.utc))
    while not stopping:
        wait = (due - datetime.now(timezone.utc)).total_seconds()
        if wait > 0:
            click.echo(f"Next crawl at {due.isoformat(timespec='seconds')}", err=True)
            while wait > 0 and not stopping:
                time.sleep(min(wait, 0.5))
                wait = (due - datetime.now(timezone.utc)).total_seconds()
            if stopping:
                break
        runs += 1
        started = datetime.now(timezone.utc)
        if queue_url:
            click.echo(f"[{started.isoformat(timespec='seconds')}] run {runs}: queueing {len(profiles)} profile(s)")
            code = enqueue_due(queue_url, profiles, section)
        else:
            click.echo(f"[{started.isoformat(timespec='seconds')}] run {runs}: portal-archive crawl "
                       f"{_shown(crawl_args)}")
            # In a session of its own: Ctrl+C in a terminal signals the whole foreground group, and a crawl
            # given that SIGINT and then our SIGTERM stops uncleanly (Scrapy's "send again to force").
            child = subprocess.Popen([sys.executable, "-m", "archive", "crawl", "--data", str(data), "--quiet",
                                      *watch_args, *crawl_args], env=env, preexec_fn=death_signal(),
                                     start_new_session=True)
            if stopping:  # the stop came while the crawl was being started, before `stop` could see it
                child.send_signal(signal.SIGTERM)
            code = child.wait()
            child = None
        worst = max(worst, code if code >= 0 else 3)
        click.echo(f"[{datetime.now(timezone.utc).isoformat(timespec='seconds')}] run {runs} exited {code}")
        if code == ExitCode.USAGE and not queue_url:
            # (Queueing, a profile broken since the start is skipped and the others still go: see enqueue_due.)
            # An option or setting the crawl refuses is refused again at every later run: say so now, and stop,
            # rather than sit in the foreground (or as a service seen running) never crawling.
            click.echo(f"Error: run {runs} was refused as bad usage (its message is above); fix the crawl's "
                       "options or environment and start schedule again", err=True)
            break
        if max_runs and runs >= max_runs:
            break
        due = timer.next_after(max(due, started))
    sys.exit(worst)
