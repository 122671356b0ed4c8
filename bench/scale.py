"""Scale: our full crawl at 5,000 and 50,000 articles, with the bare spider alongside.

    python bench/scale.py [--small 5000] [--large 50000]

Goals: peak memory under 200 MB, growing less than 10% from the small to the
large crawl; pages per second reported against the bare Scrapy spider
(bench/bare_spider.py) measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from crawl import timed  # noqa: E402

from replica.launch import ReplicaProcess  # noqa: E402


def run(articles: int, work: Path) -> dict:
    python = sys.executable
    out = {}
    log = work / f"bare{articles}.log"
    with ReplicaProcess(articles=articles) as replica:
        seconds, rss, code = timed([python, "-m", "scrapy", "runspider", str(ROOT / "bench" / "bare_spider.py"),
                                    "-a", f"start={replica.section_url}", "-o", str(work / f"bare{articles}.jsonl"),
                                    "-s", "LOG_LEVEL=INFO", "-s", f"LOG_FILE={log}"], work)
        match = re.search(r"'response_received_count': (\d+)", log.read_text(encoding="utf-8"))
        out["bare"] = (seconds, rss, code, int(match.group(1)) if match else 0)
    data = work / f"data{articles}"
    with ReplicaProcess(articles=articles) as replica:
        seconds, rss, code = timed([python, "-m", "archive", "crawl", "--replica", replica.base_url, "--data",
                                    str(data), "--quiet"], ROOT)
        stats = json.loads(sqlite3.connect(data / "catalog.sqlite").execute("SELECT stats FROM crawls").fetchone()[0])
        out["ours"] = (seconds, rss, code, stats.get("response_received_count", 0))
    shutil.rmtree(data, ignore_errors=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=5000)
    parser.add_argument("--large", type=int, default=50000)
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        results = {n: run(n, work) for n in (options.small, options.large)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'articles':>9} {'who':>5} {'seconds':>8} {'responses':>9} {'pages/s':>8} {'peak MiB':>9} exit")
    for n, result in results.items():
        for who, (seconds, rss, code, responses) in result.items():
            print(f"{n:>9} {who:>5} {seconds:8.1f} {responses:9d} {responses / seconds:8.0f} {rss:9.1f} {code:>4}")
    small, large = results[options.small]["ours"][1], results[options.large]["ours"][1]
    print(f"\nour peak memory: {small:.1f} MiB at {options.small}, {large:.1f} MiB at {options.large} "
          f"(+{100 * (large - small) / small:.1f}%; goals: < 200 MiB, < +10%)")
    for n, result in results.items():
        print(f"speed at {n}: ours / bare = {result['ours'][0] / result['bare'][0]:.2f}x the time")


if __name__ == "__main__":
    main()
