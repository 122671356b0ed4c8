"""Throughput of the crawl workers: pages per second for 1, 2 and 4 workers on the same job set.

    python bench/cluster.py [--sites 4] [--articles 30] [--delay 0.5] [--latency 0.05] [--workers 1,2,4]
                            [--cpu-sites 4] [--cpu-articles 150] [--skip-cpu]

Part 1, polite (what real crawls are): --sites replica sites, each on a
loopback address of its own (127.0.1.N) answering after --latency seconds,
each crawled with one request at a time and --delay seconds between
requests (the delay a polite crawl of a county portal keeps).  One job per
site is queued on a fresh Redis, a fresh PostgreSQL database takes the
catalogue, and N `portal-archive worker --burst` processes empty the queue.
Pages per second is responses archived (catalogue captures) over the time
from the moment the jobs are queued (the workers already up and waiting:
they run for days, their start is not throughput) to the last job done;
the ratios to one worker are printed (goal: >= 1.8x at 2 workers, >= 3.2x
at 4).

Part 2, where this machine's CPU becomes the limit: the same with no delay
and no latency (a crawl of a loopback host is not throttled), --cpu-sites
sites of --cpu-articles articles, so every worker crawls as fast as the
cores allow; it prints pages per second, CPU
milliseconds per page (the workers' and crawls' user+system time), how
many cores they kept busy, and how busy the whole machine was (replicas,
PostgreSQL and whatever else runs on it included).

PostgreSQL and redis-server are started in temporary folders as the tests
start them (tests/services.py).  Prints one table; exit 1 when part 1
misses a goal.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from replica.launch import ReplicaProcess  # noqa: E402
from tests.cluster_kit import cluster_env, replica_profile  # noqa: E402
from tests.services import PostgresService, RedisService  # noqa: E402

GOALS = {2: 1.8, 4: 3.2}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine so far, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [float(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def run_workers(count: int, profiles: list[Path], redis: RedisService, postgres: PostgresService,
                crawl_settings: list[str], work: Path) -> dict:
    """Start `count` workers, queue one job per profile, time until every job is done; what they did.

    The clock starts once every worker is up and waiting (workers run for days: their start is not
    throughput), and stops when the last job is done.
    """
    import psycopg

    from archive.jobs import jobs_for_profile, open_queue

    redis.flush()
    catalogue = postgres.create_database()
    env = cluster_env(catalogue)
    queue = open_queue(redis.url)
    log = open(work.with_suffix(".log"), "ab")
    workers = [subprocess.Popen([sys.executable, "-m", "archive", "worker", "--queue", redis.url, "--work", str(work),
                                 "--heartbeat", "5", *crawl_settings],
                                env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
               for _ in range(count)]
    try:
        deadline = time.monotonic() + 300
        while len([w for w in queue.workers() if w["state"] == "idle"]) < count:
            if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
                raise RuntimeError(f"the workers did not start (see {work.with_suffix('.log')})")
            time.sleep(0.2)
        cpu, busy = children_cpu(), machine_busy()
        started = time.monotonic()
        queue.enqueue([job for profile in profiles for job in jobs_for_profile(profile)])
        while True:
            status = queue.status()
            if status["done"] + status["failed"] >= len(profiles):
                break
            time.sleep(0.25)
        elapsed = time.monotonic() - started
        busy_after = machine_busy()
    finally:
        for worker in workers:
            worker.terminate()
        codes = [worker.wait() for worker in workers]
        log.close()
    cpu = children_cpu() - cpu  # the workers' own time and that of their (waited-for) crawls
    with psycopg.connect(catalogue) as conn:
        conn.execute("SET search_path TO portal_archive")
        pages = conn.execute("SELECT count(*) FROM captures").fetchone()[0]
        crawls = dict(conn.execute("SELECT status, count(*) FROM crawls GROUP BY status").fetchall())
    postgres.drop_database(catalogue)
    if any(codes) or status["failed"] or crawls.get("ok", 0) != len(profiles):
        print(f"  warning: workers exited {codes}, {status['failed']} jobs failed, crawls {crawls} "
              f"(see {work.with_suffix('.log')})", file=sys.stderr)
    return {"workers": count, "seconds": elapsed, "pages": pages, "rate": pages / elapsed, "cpu": cpu,
            "machine": (busy_after[0] - busy[0]) / max(busy_after[1] - busy[1], 1.0)}


def start_sites(count: int, articles: int, latency: float, folder: Path, base: int) -> tuple[list, list[Path]]:
    replicas, profiles = [], []
    for number in range(count):
        host = f"127.0.{base}.{number + 1}"
        replica = ReplicaProcess(articles=articles, seed=number + 1, extra=["--latency", str(latency), "--host", host])
        replica.__enter__()
        replicas.append(replica)
        profiles.append(replica_profile(folder, replica.section_url, f"county-{base}-{number + 1}",
                                        f"www.county{base}x{number + 1}.gov.cn"))
    return replicas, profiles


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=4)
    parser.add_argument("--articles", type=int, default=30)
    parser.add_argument("--delay", type=float, default=0.5)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--cpu-sites", type=int, default=4)
    parser.add_argument("--cpu-articles", type=int, default=150)
    parser.add_argument("--skip-cpu", action="store_true")
    options = parser.parse_args()
    counts = [int(n) for n in options.workers.split(",")]
    failed = False
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as temp, RedisService() as redis, \
            PostgresService(settings={"synchronous_commit": "off"}) as postgres:
        folder = Path(temp)
        polite = ["-s", "ARCHIVE_LOOPBACK_UNTHROTTLED=False", "-s", f"DOWNLOAD_DELAY={options.delay}",
                  "-s", "RANDOMIZE_DOWNLOAD_DELAY=False", "-s", "AUTOTHROTTLE_ENABLED=False",
                  "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1"]
        replicas, profiles = start_sites(options.sites, options.articles, options.latency, folder, base=1)
        print(f"Part 1, polite: {options.sites} sites of {options.articles} articles, {options.delay} s between "
              f"requests to a site, {options.latency} s latency, one request at a time per site")
        print(f"{'workers':>8} {'pages':>7} {'seconds':>8} {'pages/s':>8} {'ratio':>6} {'goal':>6}")
        results = []
        try:
            for count in counts:
                result = run_workers(count, profiles, redis, postgres, polite, folder / f"polite-{count}")
                results.append(result)
                ratio = result["rate"] / results[0]["rate"]
                goal = GOALS.get(count)
                failed |= goal is not None and ratio < goal
                print(f"{count:>8} {result['pages']:>7} {result['seconds']:>8.1f} {result['rate']:>8.2f} "
                      f"{ratio:>5.2f}x {(f'{goal}x' if goal else ''):>6}", flush=True)
        finally:
            for replica in replicas:
                replica.stop()
        if options.skip_cpu:
            return 1 if failed else 0
        replicas, profiles = start_sites(options.cpu_sites, options.cpu_articles, 0.0, folder, base=2)
        print(f"\nPart 2, CPU-bound: {options.cpu_sites} sites of {options.cpu_articles} articles, no delay, "
              f"no latency ({os.cpu_count()} cores)")
        print(f"{'workers':>8} {'pages':>7} {'seconds':>8} {'pages/s':>8} {'ratio':>6} {'CPU ms/page':>12} "
              f"{'cores busy':>11} {'machine busy':>13}")
        results = []
        try:
            for count in counts:
                result = run_workers(count, profiles, redis, postgres, [], folder / f"cpu-{count}")
                results.append(result)
                print(f"{count:>8} {result['pages']:>7} {result['seconds']:>8.1f} {result['rate']:>8.2f} "
                      f"{result['rate'] / results[0]['rate']:>5.2f}x {1000 * result['cpu'] / result['pages']:>12.1f} "
                      f"{result['cpu'] / result['seconds']:>11.2f} {100 * result['machine']:>12.0f}%", flush=True)
        finally:
            for replica in replicas:
                replica.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
