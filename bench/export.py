"""Export speed and memory: a synthetic catalogue to Parquet and to CSV.

    python bench/export.py [--articles 100000] [--formats parquet,csv,jsonl,xlsx]

Each export runs as `portal-archive export` in a child process, so its
seconds (wall clock, and the child's CPU time: other load on the machine
shows as the difference) include interpreter start-up; its peak memory is the child's own
high-water mark (VmHWM, read by the child as it ends: a forked child's
ru_maxrss would include this parent's memory).  A second, ten-times smaller catalogue shows
whether memory grows with the number of rows (it should not).
Goal (Parquet, 100,000 articles): at most 10 s.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from replica.synthetic_catalogue import build_synthetic_catalogue  # noqa: E402

GOAL_PARQUET_SECONDS = 10.0


# Runs the CLI in the child, then prints the child's peak resident memory.
_CHILD = """
import os, sys
from archive.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    status = open("/proc/self/status").read()
    times = os.times()
    print("VmHWM", status.split("VmHWM:")[1].split()[0], "CPU", times.user + times.system, file=sys.stderr)
"""


def run_export(data: Path, out: Path, fmt: str) -> tuple[float, float, int, int]:
    """(seconds, CPU seconds, peak RSS in bytes, output bytes) of one export in a child process."""
    command = [sys.executable, "-c", _CHILD, "export", "--format", fmt, "--out", str(out), "--data", str(data)]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"export {fmt} failed ({done.returncode}): {done.stderr[-2000:]}")
    figures = done.stderr.rsplit("VmHWM", 1)[1].split()
    return seconds, float(figures[2]), int(figures[0]) * 1024, out.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--formats", default="parquet,csv")
    args = parser.parse_args()
    formats = args.formats.split(",")
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        results = {}
        for articles in (args.articles // 10, args.articles):
            data = Path(tmp) / f"data{articles}"
            started = time.perf_counter()
            build_synthetic_catalogue(data / "catalog.sqlite", articles)
            print(f"synthetic catalogue of {articles} articles: {time.perf_counter() - started:.1f} s, "
                  f"{(data / 'catalog.sqlite').stat().st_size / 1e6:.0f} MB", flush=True)
            for fmt in formats:
                seconds, cpu, peak, size = run_export(data, Path(tmp) / f"out{articles}.{fmt}", fmt)
                results[(fmt, articles)] = (seconds, peak)
                print(f"  {fmt:8} {articles:>7} rows: {seconds:6.2f} s ({cpu:6.2f} s CPU), "
                      f"{articles / seconds:6.0f} rows/s, peak RSS {peak / 2**20:6.1f} MiB, "
                      f"output {size / 1e6:7.1f} MB", flush=True)
        small, large = args.articles // 10, args.articles
        for fmt in formats:
            growth = results[(fmt, large)][1] / results[(fmt, small)][1]
            print(f"{fmt}: peak memory x{growth:.2f} for x10 rows")
        if "parquet" in formats:
            seconds = results[("parquet", large)][0]
            verdict = "met" if seconds <= GOAL_PARQUET_SECONDS else "MISSED"
            print(f"goal Parquet <= {GOAL_PARQUET_SECONDS:.0f} s for {large} articles: {verdict} ({seconds:.2f} s)")


if __name__ == "__main__":
    main()
