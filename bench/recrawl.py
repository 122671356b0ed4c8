"""The unchanged recrawl against the first full crawl, on one replica.

    python bench/recrawl.py [--articles 5000]

Goal: the recrawl of an unchanged section makes at most 5% of the first
crawl's requests and is at least 10x faster.  Both crawls use the default
incremental policy (list pages until two pages hold only known articles;
known articles rechecked when published in the last 30 days, or checked
more than 30 days ago).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from replica.launch import ReplicaProcess, free_port  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=5000)
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-recrawl-"))
    port = free_port()
    timings = []
    try:
        for _ in range(2):
            with ReplicaProcess(articles=options.articles, port=port) as replica:
                started = time.perf_counter()
                result = subprocess.run([sys.executable, "-m", "archive", "crawl", "--replica", replica.base_url,
                                         "--data", str(work / "data"), "--quiet"], cwd=ROOT, capture_output=True,
                                        text=True)
                timings.append(time.perf_counter() - started)
                if result.returncode != 0:
                    sys.exit(f"crawl failed ({result.returncode}):\n{result.stdout}\n{result.stderr[-2000:]}")
        conn = sqlite3.connect(work / "data" / "catalog.sqlite")
        stats = [json.loads(row[0]) for row in conn.execute("SELECT stats FROM crawls ORDER BY started")]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    first, again = (s["downloader/request_count"] for s in stats)
    print(f"Replica of {options.articles} articles")
    print(f"first crawl      : {timings[0]:7.2f} s  {first} requests")
    print(f"unchanged recrawl: {timings[1]:7.2f} s  {again} requests")
    print(f"requests {100 * again / first:.2f}% of the first (goal <= 5%), "
          f"{timings[0] / timings[1]:.1f}x faster (goal >= 10x; both include ~1 s of process start)")


if __name__ == "__main__":
    main()
