"""Reindex speed: rebuilding the catalogue from the WARC files, against warcio reading the same records.

    python bench/reindex.py [--articles 100000] [--data DIR] [--keep] [--repeat N]

A crawl of the replica (--articles articles, unthrottled on loopback) makes
the archive, unless --data names one already made (its WARC files are read,
never changed).  Then, on the same files:

  warcio     every record read with warcio's ArchiveIterator, each payload
             read to its end: the speed of reading the records at all;
  sqlite     `portal-archive reindex` into a new SQLite catalogue;
  postgresql `portal-archive reindex --catalogue postgresql://...` into a new
             database of a PostgreSQL started as the tests start it
             (tests/services.py: fsync off, a throwaway cluster).

Each reindex folds every record and rebuilds the search index, as a user's
does.  Prints records per second and the ratio to warcio; the goal is a
PostgreSQL reindex no slower than warcio (ratio >= 1.0): exit 1 when missed.
Also the CPU seconds each used (this process's for warcio; the reindex's and
its worker's, not PostgreSQL's server processes): on a machine shared with
others, wall times swing with their load, CPU seconds much less.  --repeat N
times each reader N times and keeps its fastest run.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from warcio.archiveiterator import ArchiveIterator  # noqa: E402

from replica.launch import ReplicaProcess  # noqa: E402
from tests.services import PostgresService  # noqa: E402

GOAL = 1.0  # PostgreSQL reindex records/s over warcio's


def crawl(articles: int, data: Path) -> None:
    started = time.perf_counter()
    with ReplicaProcess(articles=articles) as replica:
        result = subprocess.run([sys.executable, "-m", "archive", "crawl", "--replica", replica.base_url,
                                 "--data", str(data), "--quiet"], cwd=ROOT, capture_output=True, text=True)
    if result.returncode not in (0, 1):
        sys.exit(f"the crawl failed (exit {result.returncode}):\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    print(f"crawled {articles} articles in {time.perf_counter() - started:.0f} s", flush=True)


def warcio_read(files: list[Path]) -> tuple[int, float, float]:
    """(records, seconds, CPU seconds) for reading every record and its payload with warcio alone."""
    records = 0
    started, cpu = time.perf_counter(), time.process_time()
    for path in files:
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream):
                body = record.content_stream()
                while body.read(1 << 16):
                    pass
                records += 1
    return records, time.perf_counter() - started, time.process_time() - cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def reindex(data: Path, catalogue: str) -> tuple[float, float]:
    """(seconds, CPU seconds of the reindex and its worker) of one `portal-archive reindex`."""
    started, cpu = time.perf_counter(), _children_cpu()
    result = subprocess.run([sys.executable, "-m", "archive", "--catalogue", catalogue, "reindex", "--data",
                             str(data)], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"reindex into {catalogue} failed (exit {result.returncode}):\n"
                 f"{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return seconds, _children_cpu() - cpu


def fastest(runs: int, measure) -> tuple[float, float]:
    """The (seconds, CPU seconds) of the fastest of `runs` measurements."""
    return min((measure() for _ in range(runs)), key=lambda timing: timing[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--data", type=Path, help="an archive already made (its WARC files are only read)")
    parser.add_argument("--keep", action="store_true", help="keep the crawled archive (its path is printed)")
    parser.add_argument("--repeat", type=int, default=1, help="time each reader this many times, keep the fastest")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-reindex-"))
    try:
        data = options.data or work / "data"
        if options.data is None:
            crawl(options.articles, data)
        files = sorted((data / "warc").glob("*.warc.gz"))
        if not files:
            sys.exit(f"no WARC files in {data / 'warc'}")
        size = sum(path.stat().st_size for path in files)
        records = warcio_read(files)[0]
        warcio = fastest(options.repeat, lambda: warcio_read(files)[1:])
        # The reindexes read the archive's WARC files through a copy of its folder without a catalogue.
        copy = work / "copy"
        copy.mkdir()
        (copy / "warc").symlink_to((data / "warc").resolve())
        if (data / "items").exists():  # copied: reindex may write lines it finds missing
            shutil.copytree(data / "items", copy / "items")
        rows = [("warcio", warcio)]
        rows.append(("sqlite", fastest(options.repeat, lambda: reindex(
            copy, "sqlite:///" + str(work / "catalog.sqlite").lstrip("/")))))
        with PostgresService() as postgres:
            rows.append(("postgresql", fastest(options.repeat, lambda: reindex(copy, postgres.create_database()))))
        print(f"{len(files)} WARC files, {size / 2**20:.0f} MiB, {records} records"
              + (f"; fastest of {options.repeat} runs each" if options.repeat > 1 else ""))
        print(f"{'reader':>11} {'seconds':>8} {'records/s':>10} {'vs warcio':>10} {'CPU s':>7} {'CPU vs warcio':>14}")
        rates = {}
        for name, (seconds, cpu) in rows:
            rates[name] = records / seconds
            print(f"{name:>11} {seconds:>8.1f} {rates[name]:>10.0f} {rates[name] / rates['warcio']:>9.2f}x"
                  f" {cpu:>7.1f} {warcio[1] / cpu:>13.2f}x")
        ratio = rates["postgresql"] / rates["warcio"]
        print(f"goal: PostgreSQL reindex >= {GOAL:.1f}x warcio: {'met' if ratio >= GOAL else 'MISSED'}")
        return 0 if ratio >= GOAL else 1
    finally:
        if options.keep and options.data is None:
            print(f"archive kept in {work / 'data'}")
            shutil.rmtree(work / "copy", ignore_errors=True)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
