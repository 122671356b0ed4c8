"""Which job engine survives a worker killed with -9?  Celery on Redis, RQ, and scrapy-redis, measured.

    .venv/bin/python bench/queue_engines.py            # every engine (about 4 minutes)
    .venv/bin/python bench/queue_engines.py rq celery  # some of them

For Celery and RQ, one job (a 6 s sleep standing for a section crawl) is
queued on a fresh redis-server; worker A takes it and is killed with -9
once the job has started, worker B is started at once, and the script
watches for up to 150 s: whether the job runs again, how long after the
kill, and whether it runs twice (two finishes, or two runs at once).
Two kills are measured: the whole worker (its process group: a machine or
a container dying) and only the process running the job (the OOM killer).
For Celery a second case runs a job longer than the visibility timeout on
a live worker, with a second worker idle: a job redelivered while it still
runs is a job run twice at once.

For scrapy-redis (its unit is a URL, not a site) a spider with the
scrapy-redis scheduler and dupefilter crawls a loopback site of 400 pages,
is killed with -9 part-way, is started again on the same Redis, and the
script counts the pages never fetched.

Every log line an execution writes goes to a Redis list, so the figures
come from what the jobs did, not from what the engine reports.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.services import RedisService  # noqa: E402

JOB_SECONDS = 6.0
WATCH_SECONDS = 150.0
LOG = "bench:log"


# -- the job every engine runs -------------------------------------------------------
def sleep_job(redis_url: str, name: str, seconds: float) -> str:
    """Log a start, sleep, log an end (what a crawl looks like from the queue's side)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    client.rpush(LOG, json.dumps({"event": "start", "job": name, "pid": os.getpid(), "t": time.time()}))
    time.sleep(seconds)
    client.rpush(LOG, json.dumps({"event": "end", "job": name, "pid": os.getpid(), "t": time.time()}))
    return name


def read_log(client) -> list[dict]:
    return [json.loads(line) for line in client.lrange(LOG, 0, -1)]


# -- Celery ---------------------------------------------------------------------------
def celery_app(redis_url: str, visibility: float):
    from celery import Celery

    app = Celery("bench", broker=redis_url, backend=None)
    app.conf.update(
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        broker_transport_options={"visibility_timeout": visibility, "unacked_restore_interval": 2},
        broker_connection_retry_on_startup=True, worker_hijack_root_logger=False,
    )
    app.task(name="sleep_job")(sleep_job)
    return app


def celery_worker(redis_url: str, visibility: float) -> None:
    app = celery_app(redis_url, visibility)
    app.worker_main(["worker", "-c", "1", "--pool", "prefork", "-l", "ERROR", "--without-gossip",
                     "--without-mingle", "--without-heartbeat"])


def celery_enqueue(redis_url: str, visibility: float, name: str, seconds: float) -> None:
    celery_app(redis_url, visibility).send_task("sleep_job", args=[redis_url, name, seconds])


# -- RQ -------------------------------------------------------------------------------
def rq_worker(redis_url: str) -> None:
    import redis
    from rq import Queue, Worker

    connection = redis.Redis.from_url(redis_url)
    # Shorter than the defaults (30 s, 420 s, 600 s) so a run takes a minute or two, not ten.
    worker = Worker([Queue("bench", connection=connection)], connection=connection, job_monitoring_interval=5,
                    worker_ttl=30, maintenance_interval=10)
    worker.work(logging_level="ERROR")


def rq_enqueue(redis_url: str, name: str, seconds: float) -> None:
    import redis
    from rq import Queue, Retry

    queue = Queue("bench", connection=redis.Redis.from_url(redis_url))
    queue.enqueue("queue_engines.sleep_job", redis_url, name, seconds, job_timeout=600, retry=Retry(max=3))


# -- the kill-and-watch experiment ----------------------------------------------------------
def spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, *args], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)


def descendants(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    found = [int(p) for p in out]
    for child in list(found):
        found += descendants(child)
    return found


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def summarise(log: list[dict], killed_at: float | None, killed: set[int] = frozenset()) -> dict:
    starts = [e for e in log if e["event"] == "start"]
    ends = [e for e in log if e["event"] == "end"]
    again = [e for e in starts[1:]]
    overlapping = 0
    # A run ends with its end line, or when its process was killed; else it is still going.
    spans = [(s["t"], next((e["t"] for e in ends if e["pid"] == s["pid"] and e["t"] >= s["t"]),
                           killed_at if s["pid"] in killed else None))
             for s in starts]
    for i, (start, end) in enumerate(spans):
        for other_start, other_end in spans[i + 1:]:
            if end is None or other_start < end:
                if other_end is None or start < other_end:
                    overlapping += 1
    return {
        "runs": len(starts),
        "finishes": len(ends),
        "came_back_after_s": round(again[0]["t"] - killed_at, 1) if again and killed_at else None,
        "runs_at_once": overlapping,
    }


def experiment(engine: str, kill: str, redis_url: str, client, visibility: float = 20.0) -> dict:
    """Queue one job, start worker A, kill it (`group` or `job` process) once the job started, start B, watch."""
    client.flushall()
    extra = [str(visibility)] if engine == "celery" else []
    enqueue = spawn("enqueue", engine, redis_url, *extra, "job-1", str(JOB_SECONDS))
    enqueue.wait(60)
    a = spawn("worker", engine, redis_url, *extra)
    started = wait_for(lambda: any(e["event"] == "start" for e in read_log(client)), 60)
    if not started:
        os.killpg(a.pid, signal.SIGKILL)
        return {"error": "job never started"}
    time.sleep(1.0)
    runner = next(e["pid"] for e in read_log(client) if e["event"] == "start")
    # The whole worker: every process under it, in whatever group (RQ's work horse makes its own).
    killed = {a.pid, *descendants(a.pid)} if kill == "group" else {runner}
    killed_at = time.time()
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    b = spawn("worker", engine, redis_url, *extra)
    deadline = time.monotonic() + WATCH_SECONDS
    while time.monotonic() < deadline:
        log = read_log(client)
        if len([e for e in log if e["event"] == "end"]) >= 1 and len([e for e in log if e["event"] == "start"]) >= 2:
            time.sleep(JOB_SECONDS + 2)  # a third run, or the orphan's own end, would show by now
            break
        time.sleep(0.5)
    for process in (a, b):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
    result = summarise(read_log(client), killed_at, killed)
    result["watched_s"] = round(time.time() - killed_at, 1)
    return result


def celery_long_job(redis_url: str, client, visibility: float = 8.0) -> dict:
    """A job longer than the visibility timeout on a live worker; a second worker idles beside it."""
    client.flushall()
    spawn("enqueue", "celery", redis_url, str(visibility), "long-job", str(visibility * 2.5)).wait(60)
    a = spawn("worker", "celery", redis_url, str(visibility))
    wait_for(lambda: read_log(client), 60)
    b = spawn("worker", "celery", redis_url, str(visibility))
    time.sleep(visibility * 2.5 + 10)
    for process in (a, b):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return summarise(read_log(client), None)


# -- scrapy-redis -------------------------------------------------------------------------
PAGES = 400


class Pages(BaseHTTPRequestHandler):
    fetched: set[str] = set()
    lock = threading.Lock()

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        time.sleep(0.05)  # a little latency, so requests are in flight when the kill comes
        if self.path == "/":
            body = "".join(f'<a href="/p/{i}">{i}</a>' for i in range(PAGES)).encode()
        else:
            with self.lock:
                self.fetched.add(self.path)
            body = b"<p>page</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def scrapy_redis_spider(redis_url: str, site: str) -> None:
    import scrapy
    from scrapy.crawler import CrawlerProcess

    class Pages(scrapy.Spider):
        name = "pages"

        async def start(self):
            yield scrapy.Request(site + "/")

        def parse(self, response):
            if response.url.endswith("/"):
                yield from response.follow_all(css="a")

    process = CrawlerProcess({
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler", "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_PERSIST": True, "REDIS_URL": redis_url, "CONCURRENT_REQUESTS": 16, "LOG_LEVEL": "ERROR",
        "ROBOTSTXT_OBEY": False, "TELNETCONSOLE_ENABLED": False,
    })
    process.crawl(Pages)
    process.start()


def scrapy_redis_experiment(redis_url: str, client) -> dict:
    client.flushall()
    Pages.fetched = set()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site = f"http://127.0.0.1:{server.server_port}"
    a = spawn("spider", redis_url, site)
    wait_for(lambda: len(Pages.fetched) >= PAGES // 4, 120)
    os.killpg(a.pid, signal.SIGKILL)
    a.wait()
    before = len(Pages.fetched)
    queued = client.zcard("pages:requests")
    b = spawn("spider", redis_url, site)
    # scrapy-redis spiders idle instead of closing; wait until the queue is empty and fetching stops.
    last, still = -1, 0
    while still < 6:
        time.sleep(0.5)
        now = len(Pages.fetched)
        still = still + 1 if now == last and client.zcard("pages:requests") == 0 else 0
        last = now
    os.killpg(b.pid, signal.SIGKILL)
    b.wait()
    server.shutdown()
    return {"pages": PAGES, "fetched_before_kill": before, "queued_in_redis_at_kill": queued,
            "fetched_in_the_end": len(Pages.fetched), "lost": PAGES - len(Pages.fetched),
            "fingerprints": client.scard("pages:dupefilter")}


def main(engines: list[str]) -> None:
    with RedisService() as service:
        import redis

        client = redis.Redis.from_url(service.url)
        results = {}
        for engine in engines:
            if engine in ("celery", "rq"):
                for kill in ("group", "job"):
                    results[f"{engine}, kill -9 of the {'whole worker' if kill == 'group' else 'job process'}"] = \
                        experiment(engine, kill, service.url, client)
                if engine == "celery":
                    results["celery, job longer than the visibility timeout (8 s), worker alive"] = \
                        celery_long_job(service.url, client)
            elif engine == "scrapy-redis":
                results["scrapy-redis, kill -9 of the spider mid-crawl, then restart"] = \
                    scrapy_redis_experiment(service.url, client)
            for name, result in results.items():
                if name.startswith(engine):
                    print(f"{name}: {json.dumps(result)}", flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["worker"]:
        celery_worker(args[2], float(args[3])) if args[1] == "celery" else rq_worker(args[2])
    elif args[:1] == ["enqueue"]:
        if args[1] == "celery":
            celery_enqueue(args[2], float(args[3]), args[4], float(args[5]))
        else:
            rq_enqueue(args[2], args[3], float(args[4]))
    elif args[:1] == ["spider"]:
        scrapy_redis_spider(args[1], args[2])
    else:
        main(args or ["celery", "rq", "scrapy-redis"])
