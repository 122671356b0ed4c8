"""The crawl queue on a real redis-server: enqueueing, one chain per site, the site lease, status, bad input.

Whole crawls under workers (kill -9, SIGTERM, restarts) are in test_cluster.py.
"""

from __future__ import annotations

import json
import re
import threading
import time

import pytest

from archive.exits import ExitCode
from tests.cluster_kit import cluster_env, queue_status, replica_profile, run
from tests.services import free_port


@pytest.fixture
def profiles(tmp_path):
    """Profiles of two sites (A and A2: two sections of site A; B another), on replicas not running."""
    return {
        "a": replica_profile(tmp_path, "http://127.0.0.1:9/xwzx/gyjj/index.html", "county-a", "www.a.gov.cn"),
        "a2": replica_profile(tmp_path, "http://127.0.0.1:9/xwzx/gyjj/index.html", "county-a2", "www.a.gov.cn",
                              section="政务要闻"),
        "b": replica_profile(tmp_path, "http://127.0.0.2:9/xwzx/gyjj/index.html", "county-b", "www.b.gov.cn"),
    }


def enqueue(redis_url, *profiles, env=None):
    args = ["enqueue", "--queue", redis_url, "--json"]
    for profile in profiles:
        args += ["--profile", str(profile)]
    result = run(*args, env=env or cluster_env())
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_enqueue_queues_each_site_once_and_chains_jobs_of_one_site(redis_url, profiles):
    first = enqueue(redis_url, profiles["a"], profiles["b"])
    assert [(job["site"], job["state"]) for job in first] == [("www.a.gov.cn", "queued"), ("www.b.gov.cn", "queued")]
    # The same section again, while it still waits: not queued twice.
    again = enqueue(redis_url, profiles["a"])
    assert again[0]["state"] == "duplicate" and again[0]["id"] == first[0]["id"]
    # Another profile of site A waits for A's job (one worker per site), B's stays free.
    chained = enqueue(redis_url, profiles["a2"])
    assert chained[0]["state"] == "waiting" and chained[0]["after"] == first[0]["id"]
    status = queue_status(redis_url, cluster_env())
    assert status["pending"] == 3 and status["queued"] == 2 and status["waiting_for_site"] == 1
    assert (status["running"], status["done"], status["failed"]) == (0, 0, 0)
    text = run("queue", "status", "--queue", redis_url, env=cluster_env())
    assert text.returncode == 0 and text.stdout.startswith("pending 3 (queued 2, waiting for their site 1")


def test_enqueued_job_carries_the_profile_itself(redis_url, profiles):
    """A worker on another machine has no copy of the file: the job holds its text."""
    from archive.jobs import open_queue

    [job] = enqueue(redis_url, profiles["b"])
    queue = open_queue(redis_url)
    [queued] = queue.rq.get_jobs()
    assert queued.id == job["id"] and queued.func_name == "archive.jobs.task.crawl_section"
    carried = queued.kwargs["job"]
    assert carried["profile_text"] == profiles["b"].read_text(encoding="utf-8")
    assert carried["site"] == "www.b.gov.cn" and queued.meta["profile"] == "county-b"


def test_a_bundled_profile_is_queued_by_name_as_crawl_takes_it(redis_url):
    from importlib import resources

    from archive.jobs import open_queue

    [job] = enqueue(redis_url, "tengzhou")
    [queued] = open_queue(redis_url).rq.get_jobs()
    bundled = resources.files("crawler.profiles").joinpath("tengzhou.toml").read_text(encoding="utf-8")
    assert queued.kwargs["job"]["profile_text"] == bundled and queued.meta["profile"] == "tengzhou"


def test_enqueue_and_status_refuse_bad_input(redis_url, profiles, tmp_path):
    env = cluster_env()
    broken = tmp_path / "broken.toml"
    broken.write_text("name = [", encoding="utf-8")
    dead = f"redis://127.0.0.1:{free_port()}/0"
    cases = [
        (["enqueue", "--queue", redis_url, "--profile", str(tmp_path / "missing.toml")], ExitCode.USAGE, "missing"),
        (["enqueue", "--queue", redis_url, "--profile", str(broken)], ExitCode.USAGE, "not valid TOML"),
        (["enqueue", "--queue", redis_url, "--profile", str(profiles["a"]), "--section", "农业"], ExitCode.USAGE,
         "no section"),
        (["enqueue", "--queue", "http://127.0.0.1/0", "--profile", str(profiles["a"])], ExitCode.USAGE, "redis://"),
        (["enqueue", "--queue", redis_url, "--profile", str(profiles["a"]), "--timeout", "soon"], ExitCode.USAGE,
         "soon"),
        (["enqueue", "--queue", dead, "--profile", str(profiles["a"])], ExitCode.UNAVAILABLE, "cannot reach"),
        (["queue", "status", "--queue", dead], ExitCode.UNAVAILABLE, "cannot reach"),
        (["queue", "status", "--queue", "redis://:s3cret@127.0.0.1:notaport/0"], ExitCode.USAGE,
         "port is not a number"),
        # redis-py would take a database that is not a number for database 0: another queue than meant.
        (["enqueue", "--queue", redis_url.rsplit("/", 1)[0] + "/crawls", "--profile", str(profiles["a"])],
         ExitCode.USAGE, "'crawls' is not a number"),
        (["queue", "status", "--queue", dead.replace("//", "//:s3cret@")], ExitCode.UNAVAILABLE, ":***@"),
        (["worker", "--queue", dead, "--work", str(tmp_path / "work")], ExitCode.UNAVAILABLE, "cannot reach"),
        (["worker", "--queue", redis_url, "--work", str(tmp_path / "work"), "-s", "NOEQUALS"], ExitCode.USAGE,
         "NAME=VALUE"),
        # A store URL no crawl can use would fail every job it took for good (exit 2): refused at start.
        (["worker", "--queue", redis_url, "--work", str(tmp_path / "work"), "--store", "s3://"], ExitCode.USAGE,
         "needs a bucket"),
        (["worker", "--queue", redis_url, "--work", str(tmp_path / "work"), "-s", "ARCHIVE_STORE=ftp://x/y"],
         ExitCode.USAGE, "not a store URL"),
        (["schedule", "--every", "1h", "--queue", redis_url], ExitCode.USAGE, "--profile"),
        (["schedule", "--every", "1h", "--queue", redis_url, "--profile", str(profiles["a"]), "--", "--full"],
         ExitCode.USAGE, "workers"),
    ]
    for args, code, words in cases:
        result = run(*args, env=env, timeout=60)
        assert result.returncode == code, (args, result.stdout, result.stderr)
        assert words in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and "s3cret" not in result.stderr
    # Nothing was queued by any of them.
    assert queue_status(redis_url, env)["pending"] == 0


def test_schedule_queues_due_crawls_instead_of_running_them(redis_url, profiles, tmp_path):
    env = cluster_env()
    result = run("schedule", "--every", "1s", "--max-runs", "2", "--queue", redis_url, "--profile",
                 str(profiles["a"]), "--profile", str(profiles["b"]), "--data", str(tmp_path / "data"), env=env)
    assert result.returncode == 0, result.stderr
    assert len(re.findall(r"www\.a\.gov\.cn/\S+: queued", result.stdout)) == 1
    assert len(re.findall(r"www\.a\.gov\.cn/\S+: already waiting", result.stdout)) == 1  # the second run: nothing
    status = queue_status(redis_url, env)
    assert status["queued"] == 2 and status["running"] == 0
    assert not (tmp_path / "data" / "warc").exists()  # nothing crawled here


def test_a_scheduled_run_skips_a_profile_removed_since_and_queues_the_others(redis_url, profiles, tmp_path, capsys):
    """`schedule --queue` runs for months: a profile file deleted or broken since it started is reported (the
    run counts exit 2), not the end of the scheduler, and the other profiles are still queued."""
    from archive.cli.schedule import enqueue_due

    gone = tmp_path / "gone.toml"
    broken = tmp_path / "broken.toml"
    broken.write_text("name = [", encoding="utf-8")
    assert enqueue_due(redis_url, (str(gone), str(profiles["b"]), str(broken)), None) == ExitCode.USAGE
    out, err = capsys.readouterr()
    assert "www.b.gov.cn/county-b: queued" in out
    assert err.count("not queued:") == 2 and "gone.toml" in err and "broken.toml" in err
    assert queue_status(redis_url, cluster_env())["queued"] == 1


def test_a_job_put_in_redis_by_hand_fails_for_good_and_runs_nothing_else(redis_url, tmp_path):
    """RQ calls whatever function a job names: a worker runs only crawl jobs, and a payload `enqueue` did not
    make fails at once, with its reason, instead of being retried for 16 minutes."""
    from rq import Queue, Retry
    from rq.serializers import JSONSerializer

    import redis

    rq = Queue("portal-archive-crawls", connection=redis.Redis.from_url(redis_url), serializer=JSONSerializer)
    made = tmp_path / "made-by-a-stranger"
    retry = Retry(max=3, interval=[1])
    rq.enqueue("os.mkdir", args=[str(made)], retry=retry)
    rq.enqueue("archive.jobs.task.crawl_section", kwargs={"job": {"profile_name": "x"}}, retry=retry)
    rq.enqueue("archive.jobs.task.crawl_section", kwargs={"job": "hello"}, retry=retry)
    worker = run("worker", "--queue", redis_url, "--work", str(tmp_path / "work"), "--burst", "--heartbeat", "1",
                 env=cluster_env(), timeout=300)
    assert worker.returncode == 0, worker.stderr[-3000:]
    assert not made.exists()
    status = queue_status(redis_url, cluster_env())
    assert (status["failed"], status["done"], status["pending"]) == (3, 0, 0), status
    reasons = [job["reason"] for job in status["failed_jobs"]]
    assert sum("not a crawl job: it names 'os.mkdir'" in reason for reason in reasons) == 1, reasons
    assert sum("not a crawl job's payload" in reason for reason in reasons) == 2, reasons


def test_queue_status_names_a_job_record_it_cannot_read_instead_of_a_traceback(redis_url, client):
    client.hset("rq:job:by-hand", mapping={"data": b"\x00not json", "status": "failed", "created_at": "soon"})
    client.zadd("rq:failed:portal-archive-crawls", {"by-hand": time.time() + 3600})
    status = queue_status(redis_url, cluster_env())
    assert status["failed"] == 1
    [failed] = status["failed_jobs"]
    assert failed["id"] == "by-hand" and failed["reason"].startswith("unreadable job record")


# -- the site lease ---------------------------------------------------------------------------------


@pytest.fixture
def client(redis_url):
    import redis

    return redis.Redis.from_url(redis_url)


def test_lease_keeps_other_workers_away_until_released(client):
    from archive.jobs.lease import SiteBusy, SiteLease

    first = SiteLease(client, "www.a.gov.cn", ttl=2)
    first.acquire()
    with pytest.raises(SiteBusy, match="www.a.gov.cn"):
        SiteLease(client, "www.a.gov.cn", ttl=2).acquire()
    SiteLease(client, "www.b.gov.cn", ttl=2).acquire()  # another site is free
    first.release()
    second = SiteLease(client, "www.a.gov.cn", ttl=2)
    second.acquire()
    assert second.holder() is not None and second.holder() != first.lock.local.token
    second.release()
    assert second.holder() is None


def test_lease_expires_when_its_holder_stops_extending_it(client):
    from archive.jobs.lease import SiteBusy, SiteLease

    dead = SiteLease(client, "www.a.gov.cn", ttl=1)
    dead.acquire()  # and never kept: its worker died
    waiting = SiteLease(client, "www.a.gov.cn", ttl=1)
    with pytest.raises(SiteBusy):
        waiting.acquire()
    started = time.monotonic()
    waiting.acquire(wait=5)
    assert 0.3 < time.monotonic() - started < 3


def test_a_kept_lease_outlives_its_ttl_and_reports_when_taken(client):
    from archive.jobs.lease import SiteBusy, SiteLease

    lost = threading.Event()
    kept = SiteLease(client, "www.a.gov.cn", ttl=1, interval=0.2, on_lost=lost.set)
    kept.acquire()
    kept.keep()
    time.sleep(2.5)
    with pytest.raises(SiteBusy):
        SiteLease(client, "www.a.gov.cn", ttl=1).acquire()
    # Its key vanishes (an outage longer than the ttl): the lease is simply taken again.
    client.delete(kept.lock.name)
    time.sleep(0.6)
    assert kept.holder() == kept.lock.local.token.decode() and not lost.is_set()
    # Another worker holds it by then: lost, and the job is told.
    client.set(kept.lock.name, "someone-else", px=5000)
    assert lost.wait(3) and kept.lost.is_set()
    kept.release()
    assert kept.holder() == "someone-else"  # a lost lease is not released over its new holder


# -- the catalogue writer that waits out a database restart -------------------------------------


class FakeServer:
    """A database whose connections die on a restart, losing what they had not committed."""

    def __init__(self):
        self.durable: list = []
        self.up = True
        self.generation = 0
        self.opens = 0

    def open(self):
        from archive.catalogue.postgres import CatalogueUnavailable

        self.opens += 1
        if not self.up:
            raise CatalogueUnavailable("connection refused")
        return FakeCatalogue(self)


class FakeCatalogue:
    def __init__(self, server):
        self.server, self.generation, self.pending = server, server.generation, []

    def _check(self):
        from archive.catalogue.postgres import CatalogueUnavailable

        if not self.server.up or self.generation != self.server.generation:
            raise CatalogueUnavailable("server closed the connection unexpectedly")

    def apply(self, event):
        self._check()
        if event == "bad":
            from archive.catalogue import CatalogueError

            raise CatalogueError("a constraint failed")
        self.pending.append(event)

    def commit(self):
        self._check()
        self.server.durable += [e for e in self.pending if e not in self.server.durable]  # idempotent fold
        self.pending = []

    def status(self):
        self._check()
        return "fine"

    def close(self):
        pass


def test_reconnecting_writer_replays_what_a_restart_lost():
    from archive.catalogue.reconnect import Reconnecting

    server = FakeServer()
    slept = []
    writer = Reconnecting(server.open, wait=60, sleep=slept.append)
    writer.apply(1)
    writer.apply(2)
    writer.commit()
    writer.apply(3)
    server.generation += 1  # restarted: event 3 was never committed
    server.up = False
    attempts = iter([False, False, True])

    def sleep(seconds):
        slept.append(seconds)
        server.up = next(attempts)

    writer.sleep = sleep
    writer.apply(4)  # finds the connection dead, waits, reconnects, replays 3 and 4
    writer.commit()
    assert server.durable == [1, 2, 3, 4]
    assert writer.reconnects == 1 and slept == [0.5, 1.0, 2.0]
    assert writer.read(lambda catalogue: catalogue.generation) == server.generation
    # Any other operation goes through `read`: a lost connection is waited out there too.
    server.generation += 1
    attempts = iter([True])
    assert writer.status() == "fine" and writer.reconnects == 2


def test_reconnecting_writer_gives_up_after_its_wait_and_other_errors_pass_at_once():
    from archive.catalogue import CatalogueError
    from archive.catalogue.reconnect import CatalogueLost, Reconnecting

    server = FakeServer()
    now = [0.0]
    writer = Reconnecting(server.open, wait=20, sleep=lambda s: now.__setitem__(0, now[0] + s),
                          clock=lambda: now[0])
    writer.apply(1)
    server.up = False
    with pytest.raises(CatalogueLost, match="20 s") as lost:
        writer.commit()
    assert lost.value.exit_code == ExitCode.FAILED and now[0] <= 20
    server.up = True
    writer = Reconnecting(server.open, wait=20, sleep=lambda s: pytest.fail("no wait for a real error"))
    with pytest.raises(CatalogueError, match="constraint"):
        writer.apply("bad")


def test_a_crawl_that_fails_for_good_is_not_retried_and_says_why(redis_url, tmp_path):
    """Exit 2 (here: a real portal and no contact for its owners) fails the job at once, with the reason."""
    profile = replica_profile(tmp_path, "http://www.x.gov.cn/xwzx/gyjj/index.html", "county-x", "www.x.gov.cn")
    env = cluster_env()
    assert run("enqueue", "--queue", redis_url, "--profile", str(profile), env=env).returncode == 0
    worker = run("worker", "--queue", redis_url, "--work", str(tmp_path / "work"), "--burst", "--heartbeat", "1",
                 env=env, timeout=300)
    assert worker.returncode == 0, worker.stderr[-3000:]
    status = queue_status(redis_url, env)
    assert (status["failed"], status["pending"], status["done"]) == (1, 0, 0), status
    [failed] = status["failed_jobs"]
    assert failed["site"] == "www.x.gov.cn" and "exited 2 (usage)" in failed["reason"]
    assert "contact" in failed["reason"].lower()
    text = run("queue", "status", "--queue", redis_url, env=env).stdout
    assert "failed   " in text and "exited 2" in text


def test_a_worker_refuses_an_rq_without_what_it_overrides(monkeypatch):
    """The worker overrides RQ's heartbeats, shutdown and job function by name: a release that renamed one
    would have the worker run without it (a hand-made job's function run, heartbeats lost in a Redis outage)."""
    from rq import Worker

    from archive.exits import Failed
    from archive.jobs.worker import check_rq_internals

    check_rq_internals()
    monkeypatch.setattr(Worker, "set_current_job_working_time", None)  # as if gone (it is a base class's)
    with pytest.raises(Failed, match="Worker.set_current_job_working_time"):
        check_rq_internals()
