"""Crawl jobs on a shared queue: many workers, on one machine or many, each crawling one site at a time.

The unit of distribution is one section crawl (`CrawlJob`: a profile, carried
whole so that a worker on another machine needs no copy of the file, and a
section name).  Jobs, retries and leases run on RQ over Redis (the reasons,
measured, are in docs/deployment.md); this package is the thin layer that
maps our jobs onto it:

    queue = open_queue("redis://127.0.0.1:6379/0")   # Unavailable when Redis cannot be reached
    queue.enqueue(jobs_for_profile(Path("county.toml")))
    queue.status()                                     # {"pending": N, "running": N, "done": N, "failed": N, ...}

* `spec.py`     what a job is (`CrawlJob`), built from a profile file;
* `queue.py`    enqueueing (one chain per site) and `status()`, on RQ;
* `lease.py`    the per-site lease, a redis-py `Lock` the running job extends;
* `task.py`     what a worker runs for one job: the crawl in a child process;
* `worker.py`   the worker: RQ's forking worker with our heartbeat, shutdown and work folder.

A queue is chosen by URL scheme from `QUEUES` (only Redis today).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from archive.exits import UsageProblem
from archive.jobs.spec import CrawlJob, jobs_for_profile

# URL scheme -> how to reach it.
QUEUES = {"redis": "redis", "rediss": "redis", "unix": "redis"}

__all__ = ["CrawlJob", "QUEUES", "check_queue_url", "jobs_for_profile", "open_queue"]


def check_queue_url(url: str) -> str:
    """The URL itself when it names a queue we know; UsageProblem otherwise (a port or a database number that
    is not a number: redis-py would raise on the one and quietly use database 0 for the other)."""
    from archive.redact import redact

    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in QUEUES:
        raise UsageProblem(f"{redact(url)!r} is not a queue URL: use redis://HOST:PORT/DB "
                           f"(schemes known: {', '.join(sorted(QUEUES))})")
    try:
        parts.port
    except ValueError:
        raise UsageProblem(f"{redact(url)!r}: the port is not a number (redis://HOST:PORT/DB)") from None
    database = parts.path.strip("/") if scheme != "unix" else ""
    if database and not database.isdigit():
        raise UsageProblem(f"{redact(url)!r}: the database {database!r} is not a number (redis://HOST:PORT/DB)")
    return url


def open_queue(url: str):
    """The job queue at `url` (`archive.jobs.queue.JobQueue`); Unavailable when it cannot be reached."""
    from archive.jobs.queue import JobQueue

    return JobQueue.connect(check_queue_url(url))
