"""The worker: RQ's forking worker, tuned for crawls that run for hours, in a work folder of its own.

RQ runs each job in a forked work horse while the worker's main process
sends heartbeats; a worker that dies stops them, and after `3 × heartbeat`
seconds its job counts as abandoned: RQ retries it on another worker (the
measurements behind this choice are in docs/deployment.md).  What we change:

* the heartbeat: RQ waits `interval + 60` s before calling a job abandoned;
  we wait `3 × interval`, and extend the site lease at the same pace;
* a kill -9 takes everything down: every process the worker forks (the
  work horse, RQ's scheduler) gets PR_SET_PDEATHSIG, and so does the crawl,
  so no orphan keeps crawling a site that another worker has taken over;
* SIGTERM hands the current job back: the crawl is stopped cleanly (its WARC
  files closed, its catalogue committed) and the job queued again;
* a Redis outage is waited out: heartbeats that fail are retried, and a
  worker loop that RQ gave up on is started again once Redis answers.

The work folder: each worker takes the first free slot `WORK/HOST-N` (an
flock held for its life) and crawls into it.  A worker started after one
was killed takes the dead worker's slot, so its first crawl recovers the
unfinished WARC file there and folds what the catalogue missed (at once, on
start: `recover_folder`).
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis

from archive.exits import Busy
from archive.jobs.queue import QueueUnavailable, redis_connection
from archive.jobs.task import CURRENT, DEATH_SIGNAL, WorkerContext, wait_for_redis
from archive.redact import redact

logger = logging.getLogger(__name__)


class WorkFolder:
    """A slot `ROOT/HOST-N` held with an flock for as long as the worker lives."""

    def __init__(self, root: Path, limit: int = 1000):
        self.root = Path(root)
        host = re.sub(r"[^A-Za-z0-9.]+", "_", socket.gethostname()) or "host"
        self._fd = -1
        for number in range(1, limit + 1):
            path = self.root / f"{host}-{number}"
            path.mkdir(parents=True, exist_ok=True)
            fd = os.open(path / ".worker.lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()}\n".encode(), 0)
            self._fd, self.path, self.number = fd, path, number
            return
        raise Busy(f"every work folder under {self.root} is held by a running worker ({limit})")

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def recover_folder(folder: Path, store: str | None = None) -> int:
    """Finish what a dead worker left in `folder`; returns the WARC files recovered (-1: handed to `upload`).

    With a store, `portal-archive upload` does it all (recovers unfinished
    WARC files, folds what the catalogue missed, uploads what was not
    stored); without one, unfinished WARC files are cut back to their last
    whole record here and folded in.  A catalogue or store that cannot be
    reached now is left for the folder's next crawl, which does the same.
    """
    if store:
        result = subprocess.run([sys.executable, "-m", "archive", "upload", "--data", str(folder), "--store", store],
                                stdin=subprocess.DEVNULL, capture_output=True, text=True)
        (logger.info if result.returncode == 0 else logger.warning)(
            "Leftovers in %s: %s", folder, (result.stdout.strip() or result.stderr.strip())[-500:])
        return -1
    from archive.catalogue.rebuild import settle_folder
    from archive.exits import ArchiveError
    from archive.lock import DataLock
    from archive.warc.recovery import OPEN_SUFFIX

    unfinished = list((folder / "warc").glob(f"*{OPEN_SUFFIX}"))
    if not unfinished:
        return 0
    with DataLock(folder):
        try:
            settle_folder(folder)  # recovers the files first, whatever the catalogue does
        except ArchiveError as error:
            logger.warning("Catalogue not caught up with %s yet (%s); the next crawl here does it", folder, error)
    return len(unfinished)


class NotACrawlJob(Exception):
    """A job in the queue that names another function than ours (put there by hand, or by another program)."""


# What the classes below override or rely on, by name: RQ calls them itself, so one renamed in a later 2.x release
# would be silently skipped (heartbeats lost in a Redis outage, any function a hand-made job names run).
RQ_INTERNALS = {"Worker": ("execute_job", "get_heartbeat_ttl", "maintain_heartbeats", "set_current_job_working_time",
                           "request_stop", "handle_warm_shutdown_request"),
                "Job": ("func", "func_name")}


def check_rq_internals() -> None:
    """Failed (exit 3), naming the piece and the version, unless RQ has what the worker overrides."""
    import rq
    from rq import Worker
    from rq.job import Job

    from archive.exits import Failed

    for cls in (Worker, Job):
        for name in RQ_INTERNALS[cls.__name__]:
            if getattr(cls, name, None) is None:
                raise Failed(f"rq {rq.__version__} has no {cls.__name__}.{name}, which the worker overrides or relies "
                             "on (archive/jobs/worker.py): install the rq release pyproject.toml names")


def make_job_class():
    """RQ's Job that runs only crawl jobs: the queue lives in a Redis others may write to, and RQ would
    import and call any function a job names."""
    from rq.job import Job

    from archive.jobs.queue import TASK

    class CrawlJobOnly(Job):
        @property
        def func(self):  # what `perform()` calls
            if self.func_name != TASK:
                self.retries_left = 0  # the same job fails the same way: no retry
                raise NotACrawlJob(f"not a crawl job: it names {self.func_name!r}, workers run only {TASK}")
            return super().func

    return CrawlJobOnly


def make_worker_class():
    """RQ's Worker with our heartbeat, shutdown and context (built on first use: rq is an optional extra)."""
    from redis.exceptions import ConnectionError, TimeoutError
    from rq import Worker

    class CrawlWorker(Worker):
        context: WorkerContext
        stopping = False
        jobs_run = 0

        def execute_job(self, job, queue) -> None:
            super().execute_job(job, queue)
            self.jobs_run += 1

        def get_heartbeat_ttl(self, job) -> int:
            return int(self.job_monitoring_interval * 3)

        def maintain_heartbeats(self, job) -> None:
            try:
                super().maintain_heartbeats(job)
            except (ConnectionError, TimeoutError) as error:
                self.log.warning("Worker %s: heartbeat not sent (Redis unreachable: %s); trying again", self.name,
                                 error)

        def set_current_job_working_time(self, *args, **kwargs) -> None:
            # Called beside each heartbeat while the crawl runs: a Redis outage must not end the loop that
            # watches the crawl (a new loop would take jobs into the folder the crawl still holds).
            try:
                super().set_current_job_working_time(*args, **kwargs)
            except (ConnectionError, TimeoutError) as error:
                self.log.warning("Worker %s: working time not recorded (Redis unreachable: %s)", self.name, error)

        def request_stop(self, signum, frame) -> None:
            self.stopping = True
            super().request_stop(signum, frame)

        def handle_warm_shutdown_request(self) -> None:
            # Hand the job back rather than wait hours for the crawl to end.
            if self.horse_pid:
                self.log.info("Worker %s: stopping; the current crawl is stopped cleanly and its job handed back",
                              self.name)
                try:
                    os.kill(self.horse_pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass

        def setup_work_horse_signals(self) -> None:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the job installs its own while it crawls

        def perform_job(self, job, queue) -> bool:
            token = CURRENT.set(self.context)
            try:
                return super().perform_job(job, queue)
            finally:
                CURRENT.reset(token)

    return CrawlWorker


def wait_for_horse(worker) -> None:
    """Wait for the work horse a worker loop left running (RQ's loop ended on an error mid-job): until its crawl
    ends, the work folder is the crawl's, and a new loop would take jobs only to fail them (exit 4, busy)."""
    horse = getattr(worker, "_horse_pid", 0)
    if not horse:
        return
    logger.warning("Worker loop ended while its job ran; waiting for that crawl (work horse %d) to end", horse)
    try:
        os.waitpid(horse, 0)
    except ChildProcessError:
        pass
    worker._horse_pid = 0


def run_worker(queue_url: str, work_root: Path, *, store: str | None = None, heartbeat: float = 10.0,
               crawl_options: tuple[str, ...] = (), burst: bool = False, max_jobs: int | None = None) -> int:
    """Take jobs from the queue until stopped (or, with `burst`, until it is empty); returns jobs run.

    Raises QueueUnavailable when Redis cannot be reached at start, Busy when no work folder is free.
    """
    from rq.serializers import JSONSerializer

    check_rq_internals()  # before any folder is taken: an RQ without them would run jobs unguarded

    from archive.jobs.queue import JobQueue

    connection = redis_connection(queue_url)
    folder = WorkFolder(work_root)
    # Loaded once here, so each job's work horse (a fork) starts with them instead of importing Scrapy again.
    import archive.cli.crawl  # noqa: F401
    import crawler.spiders.gongye  # noqa: F401
    recover_folder(folder.path, store)
    # Every process forked from here on (the work horse, RQ's scheduler) dies with this one.
    if DEATH_SIGNAL is not None:
        os.register_at_fork(after_in_child=DEATH_SIGNAL)
    context = WorkerContext(connection=connection, work=folder.path, store=store, heartbeat=heartbeat,
                            lease_ttl=heartbeat * 3, crawl_options=tuple(crawl_options))
    worker_class, job_class = make_worker_class(), make_job_class()
    done = 0
    logger.info("Worker taking crawl jobs from %s into %s", redact(queue_url), folder.path)
    try:
        while True:
            name = f"{folder.path.name}.{os.getpid()}.{int(time.time())}"
            worker = worker_class([JobQueue(connection).rq], job_class=job_class,
                                  connection=connection, serializer=JSONSerializer, name=name,
                                  job_monitoring_interval=max(1, int(heartbeat)),
                                  worker_ttl=int(heartbeat * 3) + 15, maintenance_interval=int(heartbeat * 3))
            worker.context = context
            try:
                worker.work(burst=burst, with_scheduler=True,
                            logging_level=logging.getLevelName(logger.getEffectiveLevel()),
                            max_jobs=None if max_jobs is None else max_jobs - done)
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as error:
                # RQ's own teardown (recording the worker's death) talks to Redis: with Redis down it raises.
                logger.warning("Redis went away under the worker: %s", error)
            done += worker.jobs_run
            wait_for_horse(worker)
            if worker.stopping or burst or (max_jobs is not None and done >= max_jobs):
                return done
            # RQ's loop ended on an error (Redis went away mid-job, say): wait for Redis and start again.
            logger.warning("Worker loop ended unexpectedly; waiting for Redis at %s", redact(queue_url))
            if not wait_for_redis(connection, timeout=float("inf")):
                raise QueueUnavailable(f"the job queue at {redact(queue_url)} did not come back")
    finally:
        folder.close()
