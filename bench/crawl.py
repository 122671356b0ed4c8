"""Crawl one replica three ways in turn and print the ratios.

    python bench/crawl.py [--articles 5000]

1. bare: a bare Scrapy spider (bench/bare_spider.py) to a JSONL feed;
2. nowarc: our crawl with WARC writing switched off;
3. full: our full crawl (WARC, metadata records, JSONL, media).

Each run gets a fresh replica process of its own, so no run profits from
another's warm caches.  Times are wall-clock; peak memory is the crawl
process's maximum resident set (ru_maxrss).  Compare the ratios, which are
measured in one run on one machine, not the absolute figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from replica.launch import ReplicaProcess  # noqa: E402


def timed(args: list[str], cwd: Path) -> tuple[float, float, int]:
    """Run a command; return (seconds, peak RSS in MiB, exit code)."""
    started = time.perf_counter()
    process = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        sys.stderr.write(process.stderr.read().decode(errors="replace")[-3000:])
    return elapsed, usage.ru_maxrss / 1024, process.returncode


def count_lines(path: Path) -> int:
    with open(path, "rb") as lines:
        return sum(1 for _ in lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-crawl-"))
    python = sys.executable
    results = {}
    try:
        runs = {
            "bare": lambda base: [python, "-m", "scrapy", "runspider", str(ROOT / "bench" / "bare_spider.py"),
                                  "-a", f"start={base}/xwzx/gyjj/index.html", "-o", str(work / "bare.jsonl")],
            "nowarc": lambda base: [python, "-m", "archive", "crawl", "--replica", base, "--data",
                                    str(work / "nowarc"), "--quiet", "--no-warc"],
            "full": lambda base: [python, "-m", "archive", "crawl", "--replica", base, "--data",
                                  str(work / "full"), "--quiet"],
        }
        for name, make_args in runs.items():
            # The bare spider runs outside the project, so no project settings apply.
            cwd = work if name == "bare" else ROOT
            with ReplicaProcess(articles=options.articles) as replica:
                seconds, rss, code = timed(make_args(replica.base_url), cwd)
            results[name] = {"seconds": round(seconds, 2), "peak_rss_mib": round(rss, 1), "exit": code}
            print(f"{name:7s} {seconds:7.2f} s  peak {rss:6.1f} MiB  exit {code}", file=sys.stderr, flush=True)
        results["articles"] = {
            "bare": count_lines(work / "bare.jsonl"),
            "nowarc": sum(count_lines(p) for p in (work / "nowarc" / "items").glob("*.jsonl")),
            "full": sum(count_lines(p) for p in (work / "full" / "items").glob("*.jsonl")),
        }
        warc_bytes = sum(p.stat().st_size for p in (work / "full" / "warc").glob("*.warc.gz"))
        results["warc_mib"] = round(warc_bytes / 2**20, 1)
        bare = results["bare"]["seconds"]
        results["ratio_nowarc"] = round(results["nowarc"]["seconds"] / bare, 3)
        results["ratio_full"] = round(results["full"]["seconds"] / bare, 3)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if options.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"\nReplica of {options.articles} articles; articles archived: {results['articles']}")
        print(f"bare Scrapy spider : {results['bare']['seconds']:7.2f} s  peak {results['bare']['peak_rss_mib']} MiB")
        print(f"ours, no WARC      : {results['nowarc']['seconds']:7.2f} s  peak {results['nowarc']['peak_rss_mib']} MiB"
              f"  ratio {results['ratio_nowarc']:.2f}x")
        print(f"ours, full         : {results['full']['seconds']:7.2f} s  peak {results['full']['peak_rss_mib']} MiB"
              f"  ratio {results['ratio_full']:.2f}x  (goal <= 1.25x)  WARC {results['warc_mib']} MiB")


if __name__ == "__main__":
    main()
