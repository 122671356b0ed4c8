"""`portal-archive serve`: the browser UI (Datasette) and replay (pywb), on loopback.

Two child processes, stopped together: Datasette over the catalogue,
read-only, with our search, article and media pages (`archive.web`), and
pywb over the WARC files (`archive.replay`).  Before they start, the search
index, the replay index and the `web_articles` view are brought up to date;
while they run, the replay index takes in each WARC file a crawl finishes,
as `replay` does, so a live catalogue's new captures replay from their links.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import click

from archive.catalogue.sqlite import catalogue_path
from archive.children import death_signal
from archive.cli.options import data_option
from archive.cli.ports import base_url, claim_port
from archive.exits import Failed, NoCatalogue
from archive.lock import DataFolderBusy, DataLock
from archive.replay import COLLECTION, ReplayIndex, find_wayback, write_config
from archive.web.app import datasette_args, metadata
from archive.web.prepare import prepare_catalogue

READY_TIMEOUT = 60.0


class Reindexer:
    """Indexes the WARC files finished since the last look, at most every `every` seconds.

    The article pages read the catalogue as it is, so a crawl's new
    versions appear there at once; without this their replay links would
    find nothing in pywb until the next start.  A failure is said once (not
    every few seconds) and what is indexed goes on replaying.
    """

    def __init__(self, index: ReplayIndex, every: float, clock=time.monotonic):
        self.index, self.every, self.clock = index, every, clock
        self.due = clock() + every
        self.said = ""

    def __call__(self) -> list[Path]:
        if self.clock() < self.due:
            return []
        self.due = self.clock() + self.every
        try:
            added = self.index.update()
        except Failed as error:
            if str(error) != self.said:
                click.echo(f"Replay index: {error}", err=True)
            self.said = str(error)
            return []
        self.said = ""
        if added:
            click.echo(f"Replay index: {len(added)} new WARC files indexed", err=True)
        return added


class Child:
    """A server we started, with its log file."""

    def __init__(self, name: str, args: list[str], log: Path, cwd: Path | None = None):
        self.name, self.log = name, log
        with open(log, "ab") as out:
            self.process = subprocess.Popen(args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                            stderr=subprocess.STDOUT, preexec_fn=death_signal())

    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def stop(self) -> None:
        if self.running():
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_ready(children: list[tuple[Child, str]], stopping) -> None:
    """Wait until each child answers HTTP at its URL; Failed if one exits or never answers."""
    deadline = time.monotonic() + READY_TIMEOUT
    waiting = list(children)
    while waiting and not stopping():
        for child, url in list(waiting):
            if not child.running():
                if stopping():
                    return
                raise Failed(f"{child.name} exited with code {child.process.returncode} before it "
                                           f"was ready; its log ({child.log}):\n{child.log_tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    waiting.remove((child, url))
            except urllib.error.HTTPError:
                waiting.remove((child, url))  # it answered
            except OSError:
                pass
        if time.monotonic() > deadline:
            names = ", ".join(child.name for child, _ in waiting)
            raise Failed(f"{names} did not answer within {READY_TIMEOUT:.0f} s")
        time.sleep(0.1)


def _progress(done: int, total: int) -> None:
    click.echo(f"Building the search index: {done}/{total} versions", err=True)


WORKDIR_PREFIX = "portal-archive-serve-"


def serve_workdir() -> Path:
    """A folder of this serve's own in the temporary folder (TMPDIR/portal-archive-serve-PID-XXXX), for
    Datasette's metadata and, on PostgreSQL, the catalogue's snapshot; removed when serve stops.  Those of
    serves no longer running (killed with -9) are removed first: a snapshot is the catalogue's size."""
    base = Path(tempfile.gettempdir())
    for old in base.glob(WORKDIR_PREFIX + "*"):
        pid = old.name[len(WORKDIR_PREFIX):].split("-", 1)[0]
        if pid.isascii() and pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-"))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's
        return True
    return True


def prepare_live(data: Path, url: str, workdir: Path) -> Path:
    """A catalogue on another backend (PostgreSQL): its index brought up to date, and a SQLite snapshot
    for Datasette to browse; returns the snapshot's path."""
    from archive.catalogue.snapshot import snapshot
    from archive.search.ready import searchable

    # Read-only, its index brought up to date first where the role may write (as `search` does).
    with searchable(data, url, lambda line: click.echo(line, err=True)) as catalogue:
        click.echo("Taking a SQLite snapshot of the catalogue for Datasette's tables...", err=True)
        started = time.monotonic()
        # No search index inside: the search pages read the catalogue itself.
        counts = snapshot(catalogue, workdir / "catalog.sqlite", index=False,
                          progress=lambda table, n: click.echo(f"  {table}: {n}", err=True))
    click.echo(f"Snapshot: {counts.get('articles', 0)} articles, {counts.get('versions', 0)} versions in "
               f"{time.monotonic() - started:.1f}s. The tables show the catalogue as it was now; search, "
               "article and media pages read it live.", err=True)
    added = ReplayIndex(data).update()
    click.echo(f"Replay index: {len(added)} new WARC files indexed", err=True)
    return workdir / "catalog.sqlite"


def prepare(data: Path) -> bool:
    """Bring the search index, the view and the replay index up to date; True when serving immutable."""
    immutable = True
    try:
        with DataLock(data):
            summary = prepare_catalogue(catalogue_path(data), _progress)
    except DataFolderBusy as busy:
        # A crawl is writing the catalogue: serve it read-only but not immutable, so reads stay consistent.
        click.echo(f"{busy}: serving the catalogue live (read-only, not immutable)", err=True)
        immutable = False
        summary = prepare_catalogue(catalogue_path(data), _progress)
    built = "built" if summary.rebuilt else "updated"
    click.echo(f"Catalogue: {summary.articles} articles, {summary.versions} versions; search index {built} "
               f"({summary.indexed} changes)", err=True)
    added = ReplayIndex(data).update()
    click.echo(f"Replay index: {len(added)} new WARC files indexed", err=True)
    return immutable


@click.command()
@data_option
@click.option("--port", default=8001, show_default=True, type=click.IntRange(0, 65535),
              help="Port of the browser UI (0: any free port).")
@click.option("--replay-port", default=8090, show_default=True, type=click.IntRange(0, 65535),
              help="Port of pywb replay (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback unless told otherwise).")
@click.option("--live", is_flag=True,
              help="Serve the catalogue read-only but not immutable, for a data folder a crawl keeps writing to.")
@click.option("--reindex-every", default=10.0, show_default=True, type=click.FloatRange(0.5),
              help="Seconds between checks for new WARC files to replay.")
def command(data: Path, port: int, replay_port: int, host: str, live: bool, reindex_every: float) -> None:
    """Browse, search and replay the archive in a web browser.

    Starts Datasette over the catalogue (read-only) with a Chinese full-text
    search page, article pages (sanitized text, images from the archive,
    versions and diffs) and links into pywb, which replays the WARC files.
    With a PostgreSQL catalogue, Datasette's tables are a SQLite snapshot
    taken at start, and the search, article and media pages read PostgreSQL
    live.  Stop with Ctrl-C.
    """
    from archive.catalogue import catalogue_url

    if not (data / "warc").is_dir():
        raise click.UsageError(f"{data} holds no warc/ folder: crawl something first "
                               "(portal-archive crawl) or point --data at a data folder")
    url = catalogue_url(data)
    live_url = None if url.startswith("sqlite:") else url
    if live_url is None and not catalogue_path(data).is_file():
        raise NoCatalogue(f"{data} holds no catalogue: run portal-archive reindex (or a crawl) first")
    wayback = find_wayback()
    port = claim_port(host, port, "--port")
    replay_port = claim_port(host, replay_port, "--replay-port")
    if port == replay_port:
        raise click.UsageError("--port and --replay-port must differ")
    try:
        workdir = serve_workdir()
    except OSError as error:
        raise Failed(f"cannot make serve's working folder in {tempfile.gettempdir()}: "
                     f"{error.strerror or error}") from error
    try:
        if live_url:
            served, immutable = prepare_live(data, live_url, workdir), True
            taken = time.strftime("%Y-%m-%d %H:%M:%S %z")
        else:
            served, immutable = catalogue_path(data).resolve(), prepare(data) and not live
            taken = None
    except OSError as error:  # a read-only data folder, a full disk: one line, not a traceback
        shutil.rmtree(workdir, ignore_errors=True)
        raise Failed(f"cannot write {error.filename or data}: {error.strerror or error}") from error
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    ui, replay = base_url(host, port), base_url(host, replay_port)

    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    children: list[Child] = []
    try:
        try:
            config = write_config(data)
        except OSError as error:
            raise Failed(f"cannot write pywb's configuration {error.filename or data}: "
                         f"{error.strerror or error}") from error
        children.append(Child("pywb", [wayback, "-b", host, "-p", str(replay_port)], config.parent / "pywb.log",
                              cwd=config.parent))
        metadata_file = workdir / "metadata.json"
        described = metadata(replay, live_url, data.resolve(), snapshot_taken=taken)
        metadata_file.write_text(json.dumps(described, ensure_ascii=False),
                                 encoding="utf-8")
        args = datasette_args(served, host=host, port=port, metadata_file=metadata_file, immutable=immutable)
        children.append(Child("Datasette", [sys.executable, "-m", "datasette", *args], workdir / "datasette.log"))
        wait_ready([(children[1], ui + "/-/versions.json"), (children[0], replay + "/")], lambda: stopping)
        if not stopping:
            click.echo(f"Archive UI: {ui}/\n"
                       f"Search:     {ui}/-/search?q=\n"
                       f"Feeds:      {ui}/-/feeds/changes.atom (?q=, ?site=, ?section=; see docs/watch.md)\n"
                       f"Replay:     {replay}/{COLLECTION}/*/<url>\n"
                       f"Logs:       {children[1].log}, {children[0].log}\n"
                       "Press Ctrl-C to stop.")
            sys.stdout.flush()
        keep_indexed = Reindexer(ReplayIndex(data), reindex_every)
        while not stopping:
            for child in children:
                # Ctrl-C in a terminal reaches the children too: only an exit nobody asked for is an error.
                if not child.running() and not stopping:
                    raise Failed(f"{child.name} stopped (exit code {child.process.returncode}); "
                                               f"its log ({child.log}):\n{child.log_tail()}")
            time.sleep(0.2)
            keep_indexed()
    finally:
        for child in children:
            child.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
