"""Reindex speed: rebuilding the catalogue from the WARC files, against warcio reading the same records.

    python bench/reindex.py [--articles 100000] [--data DIR] [--keep] [--repeat N]
                            [--fastwarc PYTHON] [--server-log FILE] [--trace FILE]

A crawl of the replica (--articles articles, unthrottled on loopback) makes
the archive, unless --data names one already made (its WARC files are read,
never changed).  Then, on the same files:

  warcio     every record read with warcio's ArchiveIterator, each payload
             read to its end: the speed of reading the records at all;
  zlib       only the files' gzip members inflated (Python's zlib, no WARC
             parsing): what reading costs at the least in Python;
  fastwarc   every record read with FastWARC, each payload to its end, in
             a child run by --fastwarc PYTHON (a venv's python that has
             FastWARC; the row is left out without it): a compiled reader's cost;
  sqlite     `portal-archive reindex` into a new SQLite catalogue;
  postgresql `portal-archive reindex --catalogue postgresql://...` into a new
             database of a PostgreSQL started as the tests start it
             (tests/services.py: fsync off, a throwaway cluster).

Each reindex folds every record and rebuilds the search index, as a user's
does.  Prints records per second and the ratio to warcio; the goal is a
PostgreSQL reindex no slower than warcio (ratio >= 1.0): exit 1 when missed.
Also the CPU seconds each used (the reader's own, FastWARC's in its child;
the reindex's and its worker's), and, for PostgreSQL, the CPU seconds of the
server's processes during the reindex (the postmaster's own and its exited
children's, from /proc/PID/stat, plus its live children's: backends,
checkpointer, autovacuum...).  On a machine shared with others, wall times
swing with their load, CPU seconds less (they too grow by a fifth or a
third when both cores are contended).  The reindex's and the
server's CPU seconds together, spread perfectly over this machine's cores,
are the least wall time a reindex can take here: printed as the best
possible ratio to warcio's CPU seconds (it reads on one core: its time on
an idle machine) and to its seconds.  --repeat N times each reader N times
and keeps its fastest run.

--server-log FILE keeps PostgreSQL's log: each statement's CPU seconds in
its backend (log_statement_stats), and the text and duration of each that
took 1 s or more.
--trace FILE writes, every second of the PostgreSQL reindex, the seconds
since its start, the CPU seconds so far of the reindex and of the server,
each server process's CPU seconds and title (what it is doing: COPY,
CREATE INDEX...) and the reindex's parsing worker's; the reindex's
progress lines are written as they come.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from warcio.archiveiterator import ArchiveIterator  # noqa: E402

from replica.launch import ReplicaProcess  # noqa: E402
from tests.services import PostgresService  # noqa: E402

GOAL = 1.0  # PostgreSQL reindex records/s over warcio's
TICK = os.sysconf("SC_CLK_TCK")  # the unit of /proc/PID/stat's times
SLOW = 1000  # ms: statements the server's log keeps (--server-log)

# Runs in the child (--fastwarc): every record and its payload read with FastWARC; prints records, s, CPU s.
_FASTWARC = """
import json, sys, time
from fastwarc.stream_io import GzipReader
from fastwarc.warc import ArchiveIterator
records, started, cpu = 0, time.perf_counter(), time.process_time()
for path in sys.argv[1:]:
    for record in ArchiveIterator(GzipReader(path)):
        while record.reader.read(1 << 16):
            pass
        records += 1
print(json.dumps([records, time.perf_counter() - started, time.process_time() - cpu]))
"""


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


def zlib_read(files: list[Path]) -> tuple[int, float, float]:
    """(gzip members, seconds, CPU seconds) for only inflating every gzip member of the files.

    The input goes in pieces of 16 KiB: zlib copies what follows a member's
    end into `unused_data`, a copy of a whole 1 MiB read for each member
    would double the time.
    """
    members = 0
    started, cpu = time.perf_counter(), time.process_time()
    for path in files:
        with open(path, "rb") as stream:
            inflate = zlib.decompressobj(31)
            while block := stream.read(1 << 20):
                block, at = memoryview(block), 0
                while at < len(block):
                    piece = block[at:at + (1 << 14)]
                    inflate.decompress(piece)
                    at += len(piece) - len(inflate.unused_data)
                    if inflate.eof:  # the next member starts at `at`
                        members += 1
                        inflate = zlib.decompressobj(31)
    return members, time.perf_counter() - started, time.process_time() - cpu


def fastwarc_read(python: str, files: list[Path]) -> tuple[int, float, float]:
    """(records, seconds, CPU seconds) for reading every record and its payload with FastWARC, in a child."""
    result = subprocess.run([python, "-c", _FASTWARC, *map(str, files)], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"FastWARC's reading failed (exit {result.returncode}):\n{result.stderr[-2000:]}")
    records, seconds, cpu = json.loads(result.stdout)
    return records, seconds, cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _stat(pid: int) -> tuple[int, float, float]:
    """(parent pid, own CPU seconds, CPU seconds of its exited children that it waited for) of a process."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()  # after the name, which may hold spaces
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK, (int(fields[13]) + int(fields[14])) / TICK


def _processes() -> dict[int, tuple[int, float, float]]:
    """`_stat` of every process, by pid (one pass over /proc)."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                found[int(entry)] = _stat(int(entry))
            except (OSError, IndexError):
                pass  # gone meanwhile
    return found


def trees_cpu(*pids: int) -> tuple[list[float], dict[int, tuple[int, float, float]]]:
    """CPU seconds so far of each process with its exited children and its live children (and theirs, once
    waited); and the processes read.

    An exited child's seconds move to its parent's once it is reaped: read
    again when that happened during the pass over /proc, so none is counted
    twice or missed.
    """
    while True:
        waited = [_stat(pid)[2] for pid in pids]
        processes = _processes()
        if [_stat(pid)[2] for pid in pids] == waited:
            return [sum(own + reaped for pid_, (parent, own, reaped) in processes.items() if pid in (pid_, parent))
                    for pid in pids], processes


def tree_cpu(pid: int) -> float:
    return trees_cpu(pid)[0][0]


def _title(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "(gone)"


def _children(pid: int, processes: dict[int, tuple[int, float, float]]) -> str:
    """pid:CPU seconds:title of each live child of `pid` among `processes`."""
    return " ".join(f"{child}:{own + reaped:.2f}:{_title(child)!r}"
                    for child, (parent, own, reaped) in processes.items() if parent == pid)


def _trace(out, reindex_pid: int, server_pid: int, started: float, done: threading.Event) -> None:
    """Every second: seconds since start, CPU s of the reindex and of the server, each server process's,
    each of the reindex's children's (its parsing worker)."""
    while not done.wait(1.0):
        try:
            (ours, server), processes = trees_cpu(reindex_pid, server_pid)
        except OSError:
            return  # the reindex ended
        out.write(f"{time.perf_counter() - started:.1f}\t{ours:.2f}\t{server:.2f}"
                  f"\t{_children(server_pid, processes)}\t{_children(reindex_pid, processes)}\n")
        out.flush()


def reindex(data: Path, catalogue: str, server: int | None = None,
            trace: Path | None = None) -> tuple[float, float, float | None]:
    """(seconds, CPU seconds of the reindex and its worker, CPU seconds of the server whose postmaster is
    `server`, if any) of one `portal-archive reindex`; `trace`: write what `_trace` samples there."""
    server_cpu = tree_cpu(server) if server else None
    started, cpu = time.perf_counter(), _children_cpu()
    process = subprocess.Popen([sys.executable, "-m", "archive", "--catalogue", catalogue, "reindex", "--data",
                                str(data)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with open(trace or os.devnull, "a") as out:
        done = threading.Event()
        sampler = threading.Thread(target=_trace, args=(out, process.pid, server, started, done), daemon=True)
        if trace and server:
            sampler.start()
        lines = []
        for line in process.stderr:  # the progress lines, timed
            lines.append(line)
            out.write(f"{time.perf_counter() - started:.1f}\t# {line}")
        stdout = process.stdout.read()
        process.wait()
        seconds = time.perf_counter() - started
        done.set()
        if sampler.is_alive():
            sampler.join()
    if process.returncode != 0:
        sys.exit(f"reindex into {catalogue} failed (exit {process.returncode}):\n"
                 f"{stdout[-2000:]}{''.join(lines)[-2000:]}")
    if server:
        time.sleep(1.0)  # its connections' backends exit once it closed them
        server_cpu = tree_cpu(server) - server_cpu
    return seconds, _children_cpu() - cpu, server_cpu


def fastest(runs: int, measure) -> tuple:
    """The (seconds, CPU seconds...) of the fastest of `runs` measurements."""
    return min((measure() for _ in range(runs)), key=lambda timing: timing[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--data", type=Path, help="an archive already made (its WARC files are only read)")
    parser.add_argument("--keep", action="store_true", help="keep the crawled archive (its path is printed)")
    parser.add_argument("--repeat", type=int, default=1, help="time each reader this many times, keep the fastest")
    parser.add_argument("--fastwarc", metavar="PYTHON", help="a python that has FastWARC: its reading as a row too")
    parser.add_argument("--server-log", type=Path, metavar="FILE",
                        help="keep PostgreSQL's log here (statements of 1 s or more, with their CPU)")
    parser.add_argument("--trace", type=Path, metavar="FILE",
                        help="write the PostgreSQL reindex's CPU seconds, ours and the server's, every second")
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
        members = zlib_read(files)[0]
        if members != records:
            print(f"{members} gzip members, {records} records")
        rows = [("warcio", warcio), ("zlib", fastest(options.repeat, lambda: zlib_read(files)[1:]))]
        if options.fastwarc:
            read = fastwarc_read(options.fastwarc, files)
            if read[0] != records:
                print(f"FastWARC read {read[0]} records, warcio {records}")
            rows.append(("fastwarc", fastest(options.repeat, lambda: fastwarc_read(options.fastwarc, files)[1:])))
        # The reindexes read the archive's WARC files through a copy of its folder without a catalogue.
        copy = work / "copy"
        copy.mkdir()
        (copy / "warc").symlink_to((data / "warc").resolve())
        if (data / "items").exists():  # copied: reindex may write lines it finds missing
            shutil.copytree(data / "items", copy / "items")
        rows.append(("sqlite", fastest(options.repeat, lambda: reindex(
            copy, "sqlite:///" + str(work / "catalog.sqlite").lstrip("/")))))
        settings = {"log_min_duration_statement": str(SLOW), "log_statement_stats": "on"} if options.server_log else {}
        with PostgresService(settings=settings) as postgres:
            try:
                rows.append(("postgresql", fastest(options.repeat, lambda: reindex(
                    copy, postgres.create_database(), postgres.process.pid, options.trace))))
            finally:
                if options.server_log:
                    shutil.copyfile(postgres.log_path, options.server_log)
        print(f"{len(files)} WARC files, {size / 2**20:.0f} MiB, {records} records"
              + (f"; fastest of {options.repeat} runs each" if options.repeat > 1 else ""))
        print(f"{'reader':>11} {'seconds':>8} {'records/s':>10} {'vs warcio':>10} {'CPU s':>7} {'CPU vs warcio':>14}"
              f" {'server CPU s':>13}")
        rates = {}
        for name, (seconds, cpu, *server) in rows:
            rates[name] = records / seconds
            print(f"{name:>11} {seconds:>8.1f} {rates[name]:>10.0f} {rates[name] / rates['warcio']:>9.2f}x"
                  f" {cpu:>7.1f} {warcio[1] / cpu:>13.2f}x" + (f" {server[0]:>13.1f}" if server and server[0] else ""))
        seconds, cpu, server_cpu = rows[-1][1]
        cores = os.cpu_count() or 1
        bound = (cpu + server_cpu) / cores
        print(f"postgresql CPU: {cpu:.1f} s reindex + {server_cpu:.1f} s server = {cpu + server_cpu:.1f} s;"
              f" on {cores} cores at least {bound:.1f} s")
        print(f"best possible on {cores} cores if perfectly parallel: {warcio[1] / bound:.2f}x warcio's CPU seconds"
              f" ({warcio[0] / bound:.2f}x its seconds)")
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
