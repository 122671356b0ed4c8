"""Run the benchmarks one after another (`make bench`) and say which met their goals.

    python bench/run.py [--full] [--only NAME[,NAME...]] [--list]

Each benchmark runs in a process of its own and prints its own table of
figures measured in that run.  By default the sizes are cut down so the
whole set takes well under an hour on a 2-core machine; `--full` runs each at
the size the README's Benchmarks table reports (hours: a million-article
search index among them).  A benchmark that exits non-zero (a goal missed,
or a failure) is listed at the end, and this script then exits 1.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name: (arguments for the quick run, arguments for --full)
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "warc_write": ([], []),
    "warc_read": ([], []),
    "crawl": (["--articles", "2000"], ["--articles", "5000"]),
    "recrawl": (["--articles", "2000"], ["--articles", "5000"]),
    "scale": (["--small", "2000", "--large", "10000"], []),
    "replica_sites": (["--articles", "5000"], []),
    "profiles": ([], []),
    "dedup": ([], []),
    "diff_readability": (["--articles", "500"], []),
    "evidence": ([], []),
    "export": (["--articles", "20000"], []),
    "search": (["--articles", "20000", "--backend", "both"], ["--articles", "1000000", "--backend", "both"]),
    "reindex": (["--articles", "2000"], []),
    "queue_engines": ([], []),
    "cluster": (["--skip-cpu"], []),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the sizes the README reports (hours)")
    parser.add_argument("--only", help="comma-separated names (see --list)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and their arguments")
    options = parser.parse_args()
    chosen = list(BENCHMARKS)
    if options.only:
        chosen = [name.strip() for name in options.only.split(",") if name.strip()]
        unknown = [name for name in chosen if name not in BENCHMARKS]
        if unknown:
            parser.error(f"no benchmark {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    if options.list:
        for name in chosen:
            quick, full = BENCHMARKS[name]
            print(f"{name:18} quick: {' '.join(quick) or '(defaults)':40} full: {' '.join(full) or '(defaults)'}")
        return 0
    failed = []
    started = time.monotonic()
    for number, name in enumerate(chosen, 1):
        args = BENCHMARKS[name][1 if options.full else 0]
        print(f"\n=== [{number}/{len(chosen)}] bench/{name}.py {' '.join(args)}", flush=True)
        began = time.monotonic()
        code = subprocess.call([sys.executable, str(HERE / f"{name}.py"), *args])
        print(f"=== bench/{name}.py exited {code} after {time.monotonic() - began:.0f} s", flush=True)
        if code != 0:
            failed.append(f"{name} (exit {code})")
    print(f"\n{len(chosen)} benchmarks in {(time.monotonic() - started) / 60:.1f} min; "
          + (f"not met or failed: {', '.join(failed)}" if failed else "every goal met"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
