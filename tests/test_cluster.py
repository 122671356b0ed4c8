"""Whole crawls under workers, with PostgreSQL and Redis started by the tests: faults taken away under them.

* a PostgreSQL restart under a running crawl: it waits, reconnects, replays, and finishes;
* SIGTERM to a worker mid-crawl hands its job back, and another worker finishes it;
* a Redis restart under running workers: they wait, and no job is lost;
* the done-when test of the cluster: three sites, two workers, the first killed with -9 mid-site and a third
  started after it: every job ends done, every article is in the catalogue once per version, every WARC file
  in the store (S3, moto) passes gzip -t, warcio check and verify --store.

Each site is a replica of the TRS family on its own loopback address, with latency, so crawls take long
enough to be interrupted; each has a profile that keys its articles under a host of its own.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archive.catalogue import ENVIRONMENT
from replica.launch import ReplicaProcess
from tests.cluster_kit import (ROOT, cluster_env, log_tail, queue_status, replica_profile, run, start_worker, stop,
                               wait_until)
from tests.conftest import portal_archive

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
ARTICLES = 40


def truth_urls(articles: int, seed: int) -> set[str]:
    result = run("replica", "truth", "--articles", str(articles), "--seed", str(seed), env=cluster_env())
    return {json.loads(line)["url"] for line in result.stdout.splitlines() if line.strip()}


def catalogue_rows(url: str, sql: str, params=()) -> list[tuple]:
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("SET search_path TO portal_archive")
        return conn.execute(sql, params).fetchall()


def articles_by_site(url: str) -> dict[str, list[tuple]]:
    """site -> [(article url path, versions)] from the catalogue."""
    out: dict[str, list[tuple]] = {}
    for site, key, versions in catalogue_rows(
            url, "SELECT a.site, a.key, count(v.id) FROM articles a LEFT JOIN versions v ON v.article_id = a.id"
                 " GROUP BY a.site, a.key ORDER BY a.key"):
        out.setdefault(site, []).append((key, versions))
    return out


def replica(seed: int, host: str, latency: float = 0.05, articles: int = ARTICLES) -> ReplicaProcess:
    return ReplicaProcess(articles=articles, seed=seed, extra=["--latency", str(latency), "--host", host])


# One request at a time per site: slow enough to be interrupted, still polite.
POLITE = ("-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1")


def _polite_crawl(site, folder, data, env, *extra: str) -> subprocess.Popen:
    """A crawl of `site` as county-c, one request at a time, running in a child process."""
    profile = replica_profile(folder, site.section_url, "county-c", "www.c.gov.cn")
    return subprocess.Popen(
        [sys.executable, "-m", "archive", "crawl", "--profile", str(profile), "--data", str(data), "--quiet",
         *extra, *POLITE], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)


def test_crawl_waits_out_a_postgres_restart_and_folds_everything_once(postgres, postgres_url, tmp_path):
    env = cluster_env(postgres_url)
    with replica(seed=3, host="127.0.0.3", latency=0.08) as site:
        data = tmp_path / "data"
        crawl = _polite_crawl(site, tmp_path, data, env)
        # Restart the server once the crawl has folded articles in and committed them.
        wait_until(lambda: _count(postgres_url, "versions") >= 5 or crawl.poll() is not None, 120,
                   "the crawl's first committed articles")
        assert crawl.poll() is None, "the crawl ended before the restart: make it slower"
        postgres.restart()
        output, _ = crawl.communicate(timeout=600)
    assert crawl.returncode == 0, output[-3000:]
    log = next((data / "logs").glob("*.log")).read_text(encoding="utf-8")
    assert "Catalogue reachable again" in log, "the crawl never noticed the restart"
    expected = truth_urls(ARTICLES, seed=3)
    [(site_name, rows)] = articles_by_site(postgres_url).items()
    assert site_name == "county-c" and len(rows) == len(expected)
    assert all(versions == 1 for _, versions in rows), "an article got two versions from one crawl"
    assert catalogue_rows(postgres_url, "SELECT status FROM crawls") == [("ok",)]
    # Nothing the crawl wrote is missing from the catalogue: reindexing its files gives the same counts.
    assert _count(postgres_url, "captures") == len(
        catalogue_rows(postgres_url, "SELECT DISTINCT record_id FROM captures"))


def test_crawl_stops_loudly_when_postgres_stays_away(postgres, postgres_url, tmp_path):
    env = cluster_env(postgres_url)
    with replica(seed=3, host="127.0.0.3", latency=0.08) as site:
        data = tmp_path / "data"
        crawl = _polite_crawl(site, tmp_path, data, env, "-s", "ARCHIVE_CATALOGUE_WAIT=4")
        wait_until(lambda: _count(postgres_url, "versions") >= 3 or crawl.poll() is not None, 120, "articles")
        postgres.stop()
        try:
            started = time.monotonic()
            output, _ = crawl.communicate(timeout=300)
            waited = time.monotonic() - started
        finally:
            postgres.start()
    assert crawl.returncode == 3, output[-3000:]
    assert "unreachable for 4 s" in output and waited < 120
    # What it wrote is intact: the WARC files are whole, and the next crawl folds in what was not committed.
    verified = run("verify", "--data", str(data), env=cluster_env(postgres_url), timeout=300)
    assert verified.returncode == 0, verified.stdout[-2000:] + verified.stderr[-2000:]
    # Its end was recorded all the same: once folded in (here by a reindex), it is a failed crawl, exit 3.
    run("reindex", "--data", str(data), env=env, timeout=300)
    rows = catalogue_rows(postgres_url, "SELECT status, exit_code FROM crawls")
    assert [tuple(row) for row in rows] == [("failed", 3)], rows


def _sites_with_articles(url: str) -> set[str]:
    try:
        return {row[0] for row in catalogue_rows(url, "SELECT DISTINCT site FROM articles")}
    except Exception:  # noqa: BLE001 - no tables yet
        return set()


def _count(url: str, table: str) -> int:
    try:
        return catalogue_rows(url, f"SELECT count(*) FROM {table}")[0][0]  # noqa: S608 - fixed names
    except Exception:  # noqa: BLE001 - no tables yet, or the server restarting
        return 0


def test_sigterm_hands_the_job_back_and_another_worker_finishes_it(redis_url, postgres_url, tmp_path):
    env = cluster_env(postgres_url)
    with replica(seed=4, host="127.0.0.4", latency=0.1) as site:
        profile = replica_profile(tmp_path, site.section_url, "county-d", "www.d.gov.cn")
        assert run("enqueue", "--queue", redis_url, "--profile", str(profile), env=env).returncode == 0
        first = start_worker(redis_url, tmp_path / "work", env, *POLITE)
        wait_until(lambda: _count(postgres_url, "versions") >= 3, 120, "the first articles")
        started = time.monotonic()
        assert stop(first) == 0, log_tail(first)
        assert time.monotonic() - started < 30, "SIGTERM waited for the crawl to end"
        assert "handed back" in log_tail(first) or "stopped cleanly" in log_tail(first)
        status = queue_status(redis_url, env)
        assert (status["pending"], status["running"], status["failed"]) == (1, 0, 0), status
        crawls = catalogue_rows(postgres_url, "SELECT status FROM crawls")
        assert crawls and crawls[0][0] != "running"  # the stopped crawl ended cleanly, with its end record
        second = start_worker(redis_url, tmp_path / "work", env, *POLITE)
        try:
            wait_until(lambda: queue_status(redis_url, env)["done"] == 1, 300, "the job to be done")
        finally:
            assert stop(second) == 0, log_tail(second)
    rows = articles_by_site(postgres_url)["county-d"]
    assert len(rows) == ARTICLES and all(versions == 1 for _, versions in rows)


def _settled(status: dict) -> bool:
    return (status["done"], status["pending"], status["running"]) == (2, 0, 0) or status["failed"] > 0


def test_workers_wait_out_a_redis_restart_without_losing_a_job(redis, redis_url, postgres_url, tmp_path):
    env = cluster_env(postgres_url)
    with replica(seed=5, host="127.0.0.5", latency=0.1) as five, replica(seed=6, host="127.0.0.6", latency=0.1) as six:
        profiles = [replica_profile(tmp_path, five.section_url, "county-e", "www.e.gov.cn"),
                    replica_profile(tmp_path, six.section_url, "county-f", "www.f.gov.cn")]
        args = [arg for profile in profiles for arg in ("--profile", str(profile))]
        assert run("enqueue", "--queue", redis_url, *args, env=env).returncode == 0
        workers = [start_worker(redis_url, tmp_path / "work", env, *POLITE) for _ in range(2)]
        try:
            wait_until(lambda: queue_status(redis_url, env)["running"] == 2, 120, "both jobs running")
            wait_until(lambda: len(_sites_with_articles(postgres_url)) == 2, 120, "both crawls folding articles")
            redis.restart()
            # A job RQ took for abandoned during the outage is crawled once more, briefly, after it was done
            # (RQ's retry; the site lease keeps the two apart): settled means both done and nothing left.
            wait_until(lambda: _settled(queue_status(redis_url, env)), 300, "both jobs done, nothing pending")
            status = queue_status(redis_url, env)
            assert (status["pending"], status["running"], status["failed"]) == (0, 0, 0), status
            dead = [(worker.returncode, log_tail(worker, 80)) for worker in workers if worker.poll() is not None]
            assert not dead, f"a worker died with Redis: {dead}"
        finally:
            for worker in workers:
                stop(worker)
    rows = articles_by_site(postgres_url)
    assert sorted(rows) == ["county-e", "county-f"]
    assert all(len(site) == ARTICLES and all(v == 1 for _, v in site) for site in rows.values())


def test_three_sites_two_workers_one_killed_a_third_takes_over(redis_url, postgres_url, tmp_path, request):
    """The done-when test: kill -9 mid-site, the lease expires, another worker finishes; nothing twice.

    The workers upload to S3 (moto): every stored WARC file passes gzip -t, warcio check and verify --store.
    """
    store = request.getfixturevalue("s3_url") + "/archive"
    env = cluster_env(postgres_url, PORTAL_ARCHIVE_STORE=store)
    work = tmp_path / "work"
    seeds = {"county-g": (7, "127.0.0.7", "www.g.gov.cn"), "county-h": (8, "127.0.0.8", "www.h.gov.cn"),
             "county-i": (9, "127.0.0.9", "www.i.gov.cn")}
    replicas = {name: replica(seed, host, latency=0.1) for name, (seed, host, _) in seeds.items()}
    for process in replicas.values():
        process.__enter__()
    workers: list[subprocess.Popen] = []
    try:
        args = []
        for name, (_, _, host) in seeds.items():
            args += ["--profile", str(replica_profile(tmp_path, replicas[name].section_url, name, host))]
        assert run("enqueue", "--queue", redis_url, *args, env=env).returncode == 0
        workers = [start_worker(redis_url, work, env, *POLITE) for _ in range(2)]
        running = wait_until(lambda: _running_on(redis_url, env, workers[0]), 120, "the first worker's job")
        wait_until(lambda: _count(postgres_url, "versions") >= 3, 120, "articles folded in")
        workers[0].send_signal(signal.SIGKILL)  # mid-site
        workers[0].wait()
        killed_site = running["profile"]  # the catalogue names sites by profile
        time.sleep(0.5)
        assert not _orphan_crawls(work), "the killed worker's crawl outlived it"
        workers.append(start_worker(redis_url, work, env, *POLITE))
        wait_until(lambda: queue_status(redis_url, env)["done"] == 3, 600,
                   "every job done\n" + "\n".join(log_tail(w) for w in workers))
        status = queue_status(redis_url, env)
        assert (status["pending"], status["running"], status["failed"]) == (0, 0, 0), status
    finally:
        for worker in workers:
            stop(worker)
        for process in replicas.values():
            process.stop()
    rows = articles_by_site(postgres_url)
    assert sorted(rows) == sorted(seeds)
    for name, (seed, _, _) in seeds.items():
        keys = [key for key, _ in rows[name]]
        assert len(keys) == len(set(keys)) == len(truth_urls(ARTICLES, seed)), name
        assert all(versions == 1 for _, versions in rows[name]), f"{name}: an article version came twice"
    # The killed site was crawled twice (once cut short); the fold kept one version per article.
    crawls = dict(catalogue_rows(postgres_url, "SELECT site, count(*) FROM crawls GROUP BY site"))
    assert crawls[killed_site] >= 2
    # The third worker took the dead worker's folder and recovered its unfinished WARC file.
    assert not list(work.glob("*/warc/*.open")), "an unfinished WARC file was left behind"
    assert not list(work.glob("*/warc/*.warc.gz")), "a WARC file was not stored"
    check_stored_warc_files(store, request.getfixturevalue("s3"), tmp_path / "fetched", env)


def _running_on(redis_url, env, worker) -> dict | None:
    for job in queue_status(redis_url, env)["running_jobs"]:
        if job.get("worker") and f".{worker.pid}." in job["worker"]:
            return job
    return None


def _orphan_crawls(work: Path) -> list[int]:
    """Crawls into WORK still running whose worker is gone (they should die with it)."""
    found = subprocess.run(["pgrep", "-f", f"--data {work}/"], capture_output=True, text=True).stdout
    alive = []
    for pid in map(int, found.split()):
        try:
            with open(f"/proc/{pid}/status") as status:
                parent = next(int(line.split()[1]) for line in status if line.startswith("PPid:"))
        except (OSError, StopIteration):
            continue
        if parent == 1 or not Path(f"/proc/{parent}").exists():
            alive.append(pid)
    return alive


def check_stored_warc_files(store: str, s3, folder: Path, env: dict[str, str]) -> None:
    """Every WARC file in the store passes gzip -t and warcio check, and `verify --store` passes."""
    bucket, _, prefix = store.removeprefix("s3://").partition("/")
    client = s3.client()
    keys = [item["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for item in page.get("Contents", []) if item["Key"].endswith(".warc.gz")]
    assert keys
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for key in keys:
        path = folder / key.rsplit("/", 1)[-1]
        assert not path.exists(), "two workers made the same WARC file name"
        client.download_file(bucket, key, str(path))
        assert subprocess.run(["gzip", "-t", str(path)]).returncode == 0, key
        files.append(str(path))
    result = subprocess.run([str(Path(sys.executable).parent / "warcio"), "check", *files], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    result = run("verify", "--store", store, "--quiet", env=env, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_a_crawl_waiting_for_a_slow_site_holds_no_transaction_open(postgres_url, tmp_path):
    """While the crawl waits for the next answer its folds are committed: no `idle in transaction` session
    holds the rows of the articles it touched from other crawls for the length of a download."""
    import threading

    import psycopg

    from crawler.pipelines.warc import COMMIT_EVERY

    longest = [0.0]
    done = threading.Event()

    def watch() -> None:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            while not done.is_set():
                row = conn.execute("SELECT max(extract(epoch FROM now() - state_change)) FROM pg_stat_activity"
                                   " WHERE state = 'idle in transaction' AND datname = current_database()").fetchone()
                longest[0] = max(longest[0], float(row[0] or 0))
                time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    with ReplicaProcess(articles=3, extra=["--latency", "4"]) as replica:
        watcher.start()
        try:
            portal_archive("crawl", "--replica", replica.base_url, "--data", str(tmp_path / "data"), "--quiet",
                           "-s", "CONCURRENT_REQUESTS=1", env={**os.environ, ENVIRONMENT: postgres_url},
                           timeout=300)
        finally:
            done.set()
            watcher.join(10)
    assert longest[0] < COMMIT_EVERY + 1.5, f"a transaction stayed open {longest[0]:.1f} s between answers"


def test_a_crawl_past_its_job_timeout_is_stopped_cleanly_then_retried(redis_url, tmp_path):
    """`enqueue --timeout`: RQ stops the job; the crawl is stopped as SIGTERM stops it (WARC file closed, its
    end recorded), not killed with -9 when the work horse exits, and the job waits for its retry."""
    from archive.catalogue import open_catalogue

    env = cluster_env()  # no PostgreSQL: the work folder's own catalogue
    with replica(seed=10, host="127.0.0.10", latency=0.3) as site:
        profile = replica_profile(tmp_path, site.section_url, "county-j", "www.j.gov.cn")
        assert run("enqueue", "--queue", redis_url, "--profile", str(profile), "--timeout", "20s",
                   env=env).returncode == 0
        worker = run("worker", "--queue", redis_url, "--work", str(tmp_path / "work"), "--max-jobs", "1",
                     "--heartbeat", "1", *POLITE, env=env, timeout=400)
    assert worker.returncode == 0, worker.stderr[-3000:]
    status = queue_status(redis_url, env)
    assert (status["retrying"], status["done"], status["failed"]) == (1, 0, 0), status
    [folder] = (tmp_path / "work").glob("*-1")
    assert not list((folder / "warc").glob("*.open")), "the crawl was killed mid-file"
    with open_catalogue(folder, readonly=True) as catalogue:
        [crawl] = catalogue.crawls()
    assert crawl["status"] != "running" and crawl["exit_code"] is not None, crawl


def test_a_redis_outage_mid_crawl_does_not_send_the_next_jobs_into_the_busy_folder(redis, redis_url, tmp_path):
    """One worker, two sites queued; Redis away for a few heartbeats while the first crawls.  RQ's loop that
    watches the crawl must outlive the outage: a new loop started beside the running crawl took the next job
    into the folder the crawl held, and failed it (exit 4, busy) while the crawl went on."""
    env = cluster_env()
    with replica(seed=11, host="127.0.0.11", latency=0.2) as first, replica(seed=12, host="127.0.0.12") as second:
        profiles = [replica_profile(tmp_path, first.section_url, "county-k", "www.k.gov.cn"),
                    replica_profile(tmp_path, second.section_url, "county-l", "www.l.gov.cn")]
        for profile in profiles:
            assert run("enqueue", "--queue", redis_url, "--profile", str(profile), env=env).returncode == 0
        worker = start_worker(redis_url, tmp_path / "work", env, *POLITE, heartbeat=1)
        try:
            wait_until(lambda: queue_status(redis_url, env)["running"] == 1, 120, "the first job running")
            wait_until(lambda: list((tmp_path / "work").glob("*/warc/*.open")), 120, "the first crawl writing")
            redis.stop()
            time.sleep(4)  # four heartbeats without Redis
            redis.start()
            wait_until(lambda: queue_status(redis_url, env)["done"] == 2, 400, "both jobs done\n" + log_tail(worker))
        finally:
            stop(worker)
    log = Path(worker.log).read_text(errors="replace")
    assert "exited 4" not in log, log[-3000:]


def test_a_retry_of_a_job_still_crawling_elsewhere_stands_down_without_using_a_retry(redis_url, tmp_path):
    """A worker out of touch with Redis for more than 3 heartbeats (an outage, a partition; here: stopped)
    while its crawl goes on: RQ takes the job for abandoned and retries it.  The retry finds the site's lease
    held by its own job's earlier attempt: it stands down without using a retry (each such attempt used one,
    so a crawl of hours ran the job's retries out, failing it for good, and its site's next jobs with it,
    while it crawled)."""
    from archive.jobs.queue import RETRY_PAUSES

    env = cluster_env()
    with replica(seed=13, host="127.0.0.13", latency=0.3, articles=60) as site:
        profile = replica_profile(tmp_path, site.section_url, "county-m", "www.m.gov.cn")
        queued = run("enqueue", "--queue", redis_url, "--profile", str(profile), "--json", env=env)
        job_id = json.loads(queued.stdout)["id"]
        workers = [start_worker(redis_url, tmp_path / "work", env, *POLITE, heartbeat=1)]
        try:
            wait_until(lambda: _running_on(redis_url, env, workers[0]), 120, "the job running")
            wait_until(lambda: list((tmp_path / "work").glob("*/warc/*.open")), 120, "the crawl writing")
            workers[0].send_signal(signal.SIGSTOP)  # its heartbeats stop; its crawl (and lease) go on
            workers.append(start_worker(redis_url, tmp_path / "work", env, *POLITE, heartbeat=1))
            time.sleep(5)  # five heartbeats
            queue_status(redis_url, env)  # the registry's clean-up: the job counts as abandoned, and is retried
            wait_until(lambda: f"Job {job_id}: scheduled for retry" in Path(workers[1].log).read_text(errors="replace"),
                       120, "the retry's attempt to end\n" + log_tail(workers[1]))
            workers[0].send_signal(signal.SIGCONT)
            wait_until(lambda: queue_status(redis_url, env)["done"] == 1, 400, "the job done")
        finally:
            workers[0].send_signal(signal.SIGCONT)
            for worker in workers:
                stop(worker)
    assert queue_status(redis_url, env)["failed"] == 0
    # Only the abandonment used a retry: every retry the second worker scheduled still had the rest.
    left = [int(n) for n in re.findall(rf"Job {job_id}: scheduled for retry at .*, (\d+) remaining",
                                       Path(workers[1].log).read_text(errors="replace"))]
    assert left and min(left) == len(RETRY_PAUSES) - 1, left
    assert "still crawls" in Path(workers[1].log).read_text(errors="replace")
