"""What a worker runs for one job: take the site's lease, crawl in a child process, give the lease back.

The crawl runs as `portal-archive crawl` in a child process (Twisted's
reactor cannot start twice in one process), in the worker's own work
folder, with the catalogue from $PORTAL_ARCHIVE_CATALOGUE.  The child dies
with the process that started it (PR_SET_PDEATHSIG), so a worker killed
with -9 leaves no crawl behind to race the worker that takes its site over.

How a crawl's exit code ends the job:

    0, 1            done (1: finished with problems, which the crawl recorded)
    2, 5, 6, 7      failed for good: bad usage, nothing to crawl, no catalogue, damaged files
    3, 4, 8, killed failed, and retried by RQ after a pause (a dead database, a busy folder)
    stopped         handed back: the worker was asked to stop (SIGTERM); the crawl stopped
                    cleanly and the job is queued again without using up a retry
"""

from __future__ import annotations

import logging
import re
import signal
import subprocess
import sys
import time
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archive.children import death_signal
from archive.exits import ExitCode
from archive.jobs.lease import SiteBusy, SiteLease
from archive.jobs.spec import CrawlJob

logger = logging.getLogger(__name__)

PERMANENT = {ExitCode.USAGE, ExitCode.NOT_FOUND, ExitCode.NO_CATALOGUE, ExitCode.DAMAGED}
DONE = {ExitCode.OK, ExitCode.PROBLEMS}
# Seconds a crawl stopped for its job's timeout has to close its files (RQ kills the work horse 60 s past it).
STOP_GRACE = 50.0


@dataclass(frozen=True)
class WorkerContext:
    """What a job needs from the worker running it."""

    connection: Any  # redis-py client
    work: Path  # the worker's own data folder
    store: str | None = None  # s3://BUCKET/PREFIX, passed to the crawl as --store
    heartbeat: float = 10.0  # seconds between lease extensions
    lease_ttl: float = 30.0  # a lease not extended for this long expires
    crawl_options: tuple[str, ...] = ()  # more options for every crawl (e.g. -s NAME=VALUE)


CURRENT: ContextVar[WorkerContext] = ContextVar("portal_archive_worker")


class JobFailed(Exception):
    """The crawl failed; RQ retries it unless the job's retries were cleared (a permanent failure)."""


class HandedBack(JobFailed):
    """The worker was stopped mid-crawl; the job goes back to the queue."""


class StillCrawling(HandedBack):
    """An earlier attempt of this job still crawls the site: RQ took it for abandoned when its worker lost touch
    with Redis for 3 heartbeats.  This attempt stands down without using a retry: that crawl ends the job."""


# A crawl (and a work horse) dies with its worker: nothing races the worker that takes the site over.
DEATH_SIGNAL = death_signal(signal.SIGKILL)


def crawl_section(job: dict[str, Any]) -> dict[str, Any]:
    """Run one crawl job (RQ calls this in the worker's work horse); the crawl's summary when it is done."""
    from rq import get_current_job

    try:
        context = CURRENT.get()
    except LookupError:
        raise JobFailed("crawl jobs run only inside `portal-archive worker`") from None
    rq_job = get_current_job()
    try:
        spec = CrawlJob.from_dict(job)
    except (TypeError, ValueError, AttributeError) as error:  # a payload not made by `enqueue`: never retried
        if rq_job is not None:
            rq_job.retries_left = 0
            rq_job.meta["reason"] = f"not a crawl job's payload: {error}"
            rq_job.save_meta()
        raise JobFailed(f"not a crawl job's payload: {error}") from None
    run = CrawlRun(spec, context, rq_job.id if rq_job else "local")
    try:
        return run.execute()
    except JobFailed as error:
        if rq_job is not None:
            rq_job.meta["reason"] = str(error)
            if run.permanent:
                rq_job.retries_left = 0
            elif isinstance(error, HandedBack) and rq_job.retries_left is not None:
                rq_job.retries_left += 1  # a stop is not the job's fault
            rq_job.save_meta()
        raise


class CrawlRun:
    """One attempt at a job: the lease, the child crawl, and what its exit code means."""

    def __init__(self, spec: CrawlJob, context: WorkerContext, job_id: str):
        self.spec = spec
        self.context = context
        self.job_id = job_id
        self.child: subprocess.Popen | None = None
        self.stopping = False
        self.permanent = False
        self.lease_lost = False

    def execute(self) -> dict[str, Any]:
        command = self.command()  # first: its imports take seconds, and a lease must not wait on them
        lease = SiteLease(self.context.connection, self.spec.site, ttl=self.context.lease_ttl,
                          interval=self.context.heartbeat, on_lost=self._lease_lost, owner=self.job_id)
        try:
            # A worker that died a moment ago still holds it until it expires.
            lease.acquire(wait=self.context.lease_ttl * 1.5)
        except SiteBusy as error:
            if lease.held_by_owner():
                raise StillCrawling(f"an earlier attempt of job {self.job_id} still crawls {self.spec.site}") \
                    from None
            raise JobFailed(str(error)) from None
        previous = signal.signal(signal.SIGTERM, self._stop)
        try:
            code = self._crawl(command, lease)
        finally:
            lease.release()
            signal.signal(signal.SIGTERM, previous)
        return self._outcome(code)

    def command(self) -> list[str]:
        work = self.context.work
        profiles = work / "profiles"
        profiles.mkdir(parents=True, exist_ok=True)
        profile = profiles / f"{self.spec.profile_name}-{self.spec.profile_digest}.toml"
        if not profile.exists():
            partial = profile.with_suffix(".toml.part")
            partial.write_text(self.spec.profile_text, encoding="utf-8")
            partial.replace(profile)
        from crawler.spiders.gongye import new_crawl_id

        # Crawl ids are times; two workers may start in the same millisecond, so the job's id follows.
        self.crawl_id = f"{new_crawl_id()}-{self.job_id[:8]}"
        command = [sys.executable, "-m", "archive", "crawl", "--profile", str(profile), "--data", str(work),
                   "--crawl-id", self.crawl_id, "--quiet"]
        if self.spec.section:
            command += ["--section", self.spec.section]
        if self.spec.full:
            command.append("--full")
        if self.context.store:
            command += ["--store", self.context.store]
        return command + list(self.context.crawl_options)

    def _crawl(self, command: list[str], lease: SiteLease) -> int:
        logs = self.context.work / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.output = logs / f"job-{self.crawl_id}.out"
        logger.info("Job %s: crawling %s (%s)", self.job_id, self.spec.label, " ".join(command[2:]))
        with open(self.output, "ab") as out:
            # Started before the lease's thread: a fork with no other thread running.
            self.child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                          start_new_session=True, preexec_fn=DEATH_SIGNAL)
            lease.keep()
            if self.stopping:
                self.child.send_signal(signal.SIGTERM)
            try:
                return self.child.wait()
            except BaseException:
                # RQ's job timeout (JobTimeoutException, raised here by its SIGALRM): stop the crawl cleanly,
                # its WARC file closed and its end recorded, the lease still held, before RQ retries the job
                # (otherwise the crawl would be killed with -9 when this work horse exits).
                self._stop_child()
                raise

    def _stop_child(self) -> None:
        """SIGTERM to the crawl, then SIGKILL if it has not stopped within STOP_GRACE seconds."""
        if self.child is None or self.child.poll() is not None:
            return
        logger.warning("Job %s: stopping crawl %s", self.job_id, self.crawl_id)
        self.child.send_signal(signal.SIGTERM)
        try:
            self.child.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            self.child.kill()
            self.child.wait()

    def _stop(self, signum: int, frame: Any) -> None:
        """SIGTERM (the worker is stopping): stop the crawl cleanly, once; the job is then handed back."""
        if self.stopping:
            return
        self.stopping = True
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signal.SIGTERM)

    def _lease_lost(self) -> None:
        """Another worker took the site: stop crawling it at once."""
        self.lease_lost = True
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signal.SIGTERM)

    def _outcome(self, code: int) -> dict[str, Any]:
        summary = {"crawl_id": self.crawl_id, "exit_code": code, "site": self.spec.site,
                   "section": self.spec.section, "output": str(self.output)}
        if self.lease_lost:
            raise JobFailed(f"lease on {self.spec.site} lost mid-crawl (exit {code}); {self._tail()}")
        if self.stopping:
            raise HandedBack(f"worker stopped mid-crawl; crawl {self.crawl_id} ended with exit {code}")
        if code in DONE:
            return summary
        try:
            meaning = ExitCode(code).name.lower().replace("_", " ")
        except ValueError:
            meaning = f"killed by signal {-code}" if code < 0 else "unknown"
        self.permanent = code in PERMANENT
        raise JobFailed(f"crawl {self.crawl_id} exited {code} ({meaning}): {self._tail()}")

    def _tail(self) -> str:
        """The crawl's last error line, for the failure's reason."""
        try:
            lines = self.output.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return "no output"
        wanted = [line for line in lines if re.match(r"^\s*(Error|-)", line)]
        return (wanted or lines or ["no output"])[-1].strip()[:300]


def wait_for_redis(connection, timeout: float = 120.0) -> bool:
    """Wait (with backoff, at most `timeout` s) until Redis answers; False if it never did."""
    from redis.exceptions import ConnectionError, TimeoutError

    deadline = time.monotonic() + timeout
    pause = 0.5
    while True:
        try:
            connection.ping()
            return True
        except (ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 10)
