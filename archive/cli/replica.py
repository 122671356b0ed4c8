"""`portal-archive replica`: serve the replica portal, or print its ground truth."""

from __future__ import annotations

import io
import signal
import sys
import threading

import click

from replica.corpus import MAX_ARTICLES, MAX_EDITION, Corpus
from replica.errors import ReplicaError
from replica.faults import (
    DEFAULT_OVERSIZE_BYTES, DEFAULT_SLOW_SECONDS, MAX_SLOW_SECONDS, FaultPlan, format_faults, parse_faults,
)
from replica.server import ReplicaServer
from replica.truth import removed_records, truth_records, write_jsonl


def corpus_options(default_articles: int):
    """--articles, --edition and --seed, shared by both sub-commands."""

    def decorate(func):
        func = click.option("--seed", default=1, show_default=True, type=int,
                            help="Seed number; the same seed always gives the same site.")(func)
        func = click.option("--edition", default=1, show_default=True, type=click.IntRange(1, MAX_EDITION),
                            help="Site state: 1 is the base; each later edition adds, edits and removes articles.")(func)
        func = click.option("--articles", default=default_articles, show_default=True,
                            type=click.IntRange(1, MAX_ARTICLES), help="Number of articles in edition 1.")(func)
        return func

    return decorate


def fault_options(func):
    """--fault and --fault-seed, shared by both sub-commands (hostile mode)."""
    func = click.option("--fault-seed", default=1, show_default=True, type=int,
                        help="Seed of the fault plan; the same seed and rates always fault the same URLs.")(func)
    func = click.option("--fault", "fault_specs", multiple=True, metavar="KIND=RATE",
                        help="Switch a fault on at a rate in 0..1, e.g. 5xx=0.05 (repeatable, or comma-separated; "
                             "all=RATE sets every kind).  Kinds: 5xx 429 reset drop slow charset malformed "
                             "redirect-loop oversize dupes offsite trap.  See docs/replica.md, Hostile mode.")(func)
    return func


@click.group(name="replica")
def command() -> None:
    """A local stand-in for the Tengzhou 工业经济 section (see docs/replica.md)."""


@command.command()
@corpus_options(default_articles=300)
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on; 0 picks a free one (printed on start).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to bind.")
@click.option("--verbose", is_flag=True, help="Log every request to stderr.")
@fault_options
@click.option("--slow-seconds", default=DEFAULT_SLOW_SECONDS, show_default=True,
              type=click.FloatRange(0, MAX_SLOW_SECONDS), help="How long a slow answer waits before it starts.")
@click.option("--oversize-bytes", default=DEFAULT_OVERSIZE_BYTES, show_default=True, type=click.IntRange(1024),
              help="Oversize article bodies are larger than this.")
def serve(articles: int, edition: int, seed: int, port: int, host: str, verbose: bool,
          fault_specs: tuple[str, ...], fault_seed: int, slow_seconds: float, oversize_bytes: int) -> None:
    """Serve the replica until SIGINT or SIGTERM."""
    try:
        faults = parse_faults(fault_specs)
        server = ReplicaServer(articles=articles, edition=edition, seed=seed, port=port, host=host, verbose=verbose,
                               faults=faults, fault_seed=fault_seed, slow_seconds=slow_seconds,
                               oversize_bytes=oversize_bytes)
    except ReplicaError as exc:
        raise click.ClickException(str(exc)) from exc
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    server.start()
    hostile = f", faults {format_faults(faults)}, fault seed {fault_seed}" if server.plan.active else ""
    click.echo(f"Replica portal serving {server.section_url} ({articles} articles, edition {edition}{hostile})")
    sys.stdout.flush()
    try:
        while not stopping.wait(0.5):
            pass
    finally:
        server.stop()


@command.command()
@corpus_options(default_articles=300)
@click.option("--removed", is_flag=True, help="Print the articles this edition removed, with how they answer.")
@click.option("--base-url", default="", metavar="URL",
              help="Prefix for every URL, e.g. http://127.0.0.1:8000 (default: root-relative paths).")
@fault_options
def truth(articles: int, edition: int, seed: int, removed: bool, base_url: str,
          fault_specs: tuple[str, ...], fault_seed: int) -> None:
    """Print the ground truth as JSON lines (UTF-8), newest article first.

    With --fault, each record also says `fault` (why a correct crawler cannot
    archive it, or null) and `faults` (every fault kind touching it).
    """
    try:
        corpus = Corpus(articles, edition, seed)
        plan = FaultPlan(parse_faults(fault_specs), fault_seed)
    except ReplicaError as exc:
        raise click.ClickException(str(exc)) from exc
    base = base_url.rstrip("/")
    records = removed_records(corpus, base) if removed else truth_records(corpus, base, plan)
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n", write_through=False)
    try:
        write_jsonl(records, out)
        out.flush()
    finally:
        out.detach()
