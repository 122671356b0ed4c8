"""Build a large synthetic catalogue, index it, and time searches.

    python bench/search.py [--articles 100000] [--repeat 5] [--data DIR]

1. a catalogue of --articles articles from the replica generator
   (`archive.catalogue.synthetic`), in a temporary folder unless --data
   names one (an existing catalogue there is reused);
2. the search index: build time and size on disk;
3. each query class, several queries each, ordered by relevance and by date
   (limit 20, snippets included), each query run --repeat times after one
   warm-up run: p50, p95 and max in milliseconds.

The goal is p95 <= 50 ms in every row; the exit code is 1 when a row misses it.
Timings vary with the machine's load: compare rows measured in one run.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.catalogue.sqlite import catalogue_path, connect  # noqa: E402
from replica.synthetic_catalogue import build_synthetic_catalogue  # noqa: E402
from archive.catalogue.fts.engine import search  # noqa: E402
from archive.catalogue.fts.index import rebuild_index  # noqa: E402

GOAL_MS = 50.0
CLASSES: dict[str, list[tuple[str, dict]]] = {
    "1 char": [("化", {}), ("工", {}), ("镇", {}), ("新", {}), ("园", {})],
    "2 chars": [("化工", {}), ("园区", {}), ("招商", {}), ("企业", {}), ("发展", {})],
    "4 chars": [("工业强市", {}), ("攻坚五问", {}), ("招商引资", {}), ("安全生产", {}), ("项目建设", {})],
    "phrase": [('"工业强市 产业兴市"', {}), ('"【工业强市 产业兴市】"', {}), ('"“专精特新”企业"', {}),
               ('"“双招双引”工作"', {}), ("工业强市、产业兴市", {})],
    "filtered": [("化工", {"since": "2020-01-01", "until": "2020-12-31"}), ("园区", {"source": "滕州日报"}),
                 ("企业", {"since": "2025-01-01"}), ("招商", {"source": "市商务局", "since": "2018-01-01"}),
                 ("工业强市", {"until": "2016-12-31", "has_images": True})],
    "mixed": [("IMG_5158", {}), ("2021", {}), ("2021年", {}), ("jpg", {}), ("化工 OR 园区 -招商", {})],
}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def index_size(conn) -> int:
    names = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'search%'")]
    return sum(conn.execute("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = ?", (name,)).fetchone()[0]
               for name in names)


def time_queries(conn, repeat: int) -> list[tuple[str, str, list[float], list[int]]]:
    rows = []
    for name, queries in CLASSES.items():
        for order in ("relevance", "date"):
            times, totals = [], []
            for query, filters in queries:
                totals.append(search(conn, query, order=order, **filters).total)  # warm-up
                for _ in range(repeat):
                    started = time.perf_counter()
                    search(conn, query, order=order, **filters)
                    times.append((time.perf_counter() - started) * 1000)
            rows.append((name, order, times, totals))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data", type=Path, help="Folder for the catalogue (kept; reused when present).")
    args = parser.parse_args(argv)

    folder = args.data or Path(tempfile.mkdtemp(prefix="bench-search-"))
    path = catalogue_path(folder)
    try:
        if not path.exists():
            started = time.perf_counter()
            count = build_synthetic_catalogue(path, args.articles)
            print(f"catalogue: {count:,} articles in {time.perf_counter() - started:.1f}s "
                  f"({path.stat().st_size / 1e6:,.0f} MB)")
        conn = connect(path)
        started = time.perf_counter()
        indexed = rebuild_index(conn)
        built = time.perf_counter() - started
        print(f"index: {indexed:,} versions in {built:.1f}s, {index_size(conn) / 1e6:,.0f} MB")
        print(f"\n{'class':10} {'order':10} {'runs':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  matches")
        failed = 0
        for name, order, times, totals in time_queries(conn, args.repeat):
            p95 = percentile(times, 0.95)
            failed += p95 > GOAL_MS
            print(f"{name:10} {order:10} {len(times):5} {percentile(times, 0.5):8.1f} {p95:8.1f} {max(times):8.1f}"
                  f"  {min(totals):,}-{max(totals):,}{'  OVER GOAL' if p95 > GOAL_MS else ''}")
        print(f"\ngoal: p95 <= {GOAL_MS:.0f} ms in every row: {'met' if not failed else f'missed in {failed} rows'}")
        conn.close()
        return 1 if failed else 0
    finally:
        if args.data is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
