"""The crawl queue on RQ: enqueueing one chain per site, and what `queue status` reports.

Jobs of one site never run side by side: each new job of a site is made to
depend on the site's previous job (RQ's `depends_on`, allowing failure), so
it waits in RQ's deferred registry until that one has finished or failed,
and only then enters the queue.  The site lease (`lease.py`) is the second
guard, for a job that RQ let go of while its crawl still ran.

A section that already has a job waiting is not queued twice (a schedule
that fires while a backlog drains would otherwise pile jobs up).

Failed jobs are retried by RQ (`RETRY`, with growing pauses; the worker runs
RQ's scheduler for them), including jobs abandoned by a worker that died.
Finished jobs are kept for a week (`DONE_TTL`), failed ones for 30 days.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from archive.exits import Unavailable
from archive.jobs.spec import CrawlJob
from archive.redact import redact

logger = logging.getLogger(__name__)

QUEUE_NAME = "portal-archive-crawls"
TASK = "archive.jobs.task.crawl_section"
SITE_LAST = "portal-archive:site-last:{site}"  # the site's newest job id
SECTION_LAST = "portal-archive:section-last:{label}"  # the section's newest job id
ENQUEUE_LOCK = "portal-archive:enqueue:{site}"
RETRY_PAUSES = [10, 30, 60, 300, 600]  # seconds before each retry
DONE_TTL = 7 * 86400
FAILED_TTL = 30 * 86400
DEFAULT_TIMEOUT = 24 * 3600  # a crawl running longer is stopped and retried
WAITING = ("queued", "deferred", "scheduled")  # RQ states of a job that has not started


class QueueUnavailable(Unavailable):
    """Redis cannot be reached (or refused us)."""


def redis_connection(url: str):
    """A redis-py client for `url`, checked with a PING; QueueUnavailable when Redis does not answer."""
    try:
        import redis
    except ImportError:  # the `cluster` extra is not installed
        raise QueueUnavailable("the job queue needs redis and rq: pip install 'portal-archive[cluster]'") from None
    client = redis.Redis.from_url(url, socket_connect_timeout=10, socket_timeout=60, health_check_interval=30)
    try:
        client.ping()
    except redis.exceptions.RedisError as error:
        raise QueueUnavailable(f"cannot reach the job queue at {redact(url)}: {error}") from error
    return client


@dataclass(frozen=True)
class Enqueued:
    """What became of one job given to `enqueue`: its RQ id, and `queued`, `waiting` (after `after`) or `duplicate`."""

    job: CrawlJob
    id: str
    state: str
    after: str | None = None


class JobQueue:
    """The crawl queue in one Redis database."""

    def __init__(self, connection, url: str = ""):
        from rq import Queue
        from rq.serializers import JSONSerializer

        self.connection = connection
        self.url = url
        self.rq = Queue(QUEUE_NAME, connection=connection, serializer=JSONSerializer)

    @classmethod
    def connect(cls, url: str) -> "JobQueue":
        return cls(redis_connection(url), url)

    # -- enqueueing -------------------------------------------------------------
    def enqueue(self, jobs: list[CrawlJob], timeout: int = DEFAULT_TIMEOUT) -> list[Enqueued]:
        """Queue each job behind its site's previous one; a section already waiting is not queued again."""
        return [self._enqueue_one(job, timeout) for job in jobs]

    def _enqueue_one(self, job: CrawlJob, timeout: int) -> Enqueued:
        from redis.lock import Lock
        from rq import Retry
        from rq.job import Dependency

        # Two enqueuers of one site (a schedule and a hand) must not both chain onto the same job.
        with Lock(self.connection, ENQUEUE_LOCK.format(site=job.site), timeout=30, blocking_timeout=30):
            pending = self._job_state(self.connection.get(SECTION_LAST.format(label=job.label)))
            if pending and pending[1] in WAITING:
                return Enqueued(job, pending[0], "duplicate")
            previous = self._job_state(self.connection.get(SITE_LAST.format(site=job.site)))
            after = previous[0] if previous and previous[1] in (*WAITING, "started") else None
            queued = self.rq.enqueue(
                TASK, kwargs={"job": job.as_dict()}, job_timeout=timeout, result_ttl=DONE_TTL,
                failure_ttl=FAILED_TTL, retry=Retry(max=len(RETRY_PAUSES), interval=RETRY_PAUSES),
                depends_on=Dependency(jobs=[after], allow_failure=True) if after else None,
                description=f"crawl {job.label}",
                meta={"site": job.site, "section": job.section, "profile": job.profile_name,
                      "enqueued": datetime.now(timezone.utc).isoformat(timespec="seconds")},
            )
            self.connection.set(SITE_LAST.format(site=job.site), queued.id)
            self.connection.set(SECTION_LAST.format(label=job.label), queued.id)
        return Enqueued(job, queued.id, "waiting" if after and queued.get_status() == "deferred" else "queued",
                        after)

    def _job_state(self, job_id: bytes | str | None) -> tuple[str, str] | None:
        """(id, RQ status) of a job, or None when there is no such job (any more)."""
        from rq.exceptions import NoSuchJobError
        from rq.job import Job

        if not job_id:
            return None
        job_id = job_id.decode() if isinstance(job_id, bytes) else job_id
        try:
            job = Job.fetch(job_id, connection=self.connection, serializer=self.rq.serializer)
        except NoSuchJobError:
            return None
        status = job.get_status()
        return job_id, str(getattr(status, "value", status))

    # -- status -----------------------------------------------------------------
    def status(self, limit: int = 50) -> dict[str, Any]:
        """Counts and details: pending (queued + waiting for its site + retrying), running, done, failed.

        Reading the running jobs also settles abandoned ones (a worker that
        died): RQ retries them or marks them failed.
        """
        from rq.registry import DeferredJobRegistry, FailedJobRegistry, FinishedJobRegistry, ScheduledJobRegistry
        from rq.registry import StartedJobRegistry

        queue = self.rq
        started = StartedJobRegistry(queue=queue)
        running_ids = started.get_job_ids()  # cleans up first: abandoned jobs are retried or failed
        queued = queue.count
        waiting = DeferredJobRegistry(queue=queue).count
        retrying = ScheduledJobRegistry(queue=queue).count
        done = FinishedJobRegistry(queue=queue).count
        failed_registry = FailedJobRegistry(queue=queue)
        failed = failed_registry.count
        return {
            "pending": queued + waiting + retrying,
            "running": len(running_ids),
            "done": done,
            "failed": failed,
            "queued": queued,
            "waiting_for_site": waiting,
            "retrying": retrying,
            "running_jobs": [self._describe(job_id) for job_id in running_ids[:limit]],
            "failed_jobs": [self._describe(job_id, reason=True)
                            for job_id in failed_registry.get_job_ids(0, limit - 1, desc=True)],
            "workers": self.workers(),
        }

    def _describe(self, job_id: str, reason: bool = False) -> dict[str, Any]:
        from rq.exceptions import NoSuchJobError
        from rq.job import Job

        job_id = job_id.split(":", 1)[0]  # started entries are job_id:execution_id
        try:
            job = Job.fetch(job_id, connection=self.connection, serializer=self.rq.serializer)
        except NoSuchJobError:
            return {"id": job_id, "gone": True}
        except Exception as error:  # noqa: BLE001 - a job hash written by hand or by another program
            return {"id": job_id, "site": None, "section": None, "profile": None, "worker": None, "started": None,
                    **({"reason": f"unreadable job record: {error}", "ended": None} if reason else {})}
        out = {"id": job.id, "site": job.meta.get("site"), "section": job.meta.get("section"),
               "profile": job.meta.get("profile"), "worker": job.worker_name or None,
               "started": job.started_at.isoformat(timespec="seconds") if job.started_at else None}
        if reason:
            out["reason"] = job.meta.get("reason") or _last_line(job)
            out["ended"] = job.ended_at.isoformat(timespec="seconds") if job.ended_at else None
        return out

    def workers(self) -> list[dict[str, Any]]:
        from rq import Worker

        out = []
        for worker in Worker.all(queue=self.rq):
            job = worker.get_current_job_id()
            out.append({"name": worker.name, "state": str(getattr(worker.state, "value", worker.state)),
                        "job": job, "host": worker.hostname, "pid": worker.pid})
        return sorted(out, key=lambda w: w["name"])


def _last_line(job) -> str | None:
    """The last line of a failed job's traceback (its exception), when no reason was recorded."""
    try:
        result = job.latest_result()
    except Exception:  # noqa: BLE001 - an old or odd result record: no reason rather than no status
        return None
    text = (getattr(result, "exc_string", None) or "").strip()
    return text.splitlines()[-1] if text else None
