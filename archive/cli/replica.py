"""`portal-archive replica`: list the replica sites, serve one, or print its ground truth."""

from __future__ import annotations

import io
import json
import signal
import sys
import threading

import click

from archive.exits import UsageProblem
from replica import registry
from replica.corpus import MAX_ARTICLES, MAX_EDITION
from replica.errors import ReplicaError
from replica.faults import (
    DEFAULT_OVERSIZE_BYTES, DEFAULT_SLOW_SECONDS, MAX_SLOW_SECONDS, FaultPlan, format_faults, parse_faults,
)
from replica.server import ReplicaServer
from replica.truth import write_jsonl


def corpus_options(default_articles: int):
    """--site, --articles, --edition and --seed, shared by both sub-commands."""

    def decorate(func):
        func = click.option("--seed", default=1, show_default=True, type=int,
                            help="Seed number; the same seed always gives the same site.")(func)
        func = click.option("--edition", default=1, show_default=True, type=click.IntRange(1, MAX_EDITION),
                            help="Site state: 1 is the base; each later edition adds, edits and removes articles.")(func)
        func = click.option("--articles", default=default_articles, show_default=True,
                            type=click.IntRange(1, MAX_ARTICLES), help="Number of articles in edition 1.")(func)
        func = click.option("--site", default=registry.DEFAULT_SITE, show_default=True,
                            type=click.Choice(registry.site_names()),
                            help="Which site (one per CMS family); `replica sites` lists them.")(func)
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
    """Local stand-ins for county portals, one site per CMS family (see docs/replica.md)."""


@command.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of {name, cms, start_path, …}.")
def sites(as_json: bool) -> None:
    """List the replica's sites: name, CMS family, start path, site name and columns."""
    described = [registry.site_spec(name).describe() for name in registry.site_names()]
    if as_json:
        click.echo(json.dumps(described, ensure_ascii=False, indent=1))
        return
    for site in described:
        columns = ", ".join(c["name"] for c in site["columns"])
        click.echo(f"{site['name']:<10} {site['cms']:<7} {site['start_path']:<26} {site['site_name']}  ({columns})")


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
@click.option("--latency", default=0.0, show_default=True, type=click.FloatRange(0, 60), metavar="SECONDS",
              help="Delay every answer by this long (a distant server; for benchmarks of polite crawls).")
def serve(site: str, articles: int, edition: int, seed: int, port: int, host: str, verbose: bool,
          fault_specs: tuple[str, ...], fault_seed: int, slow_seconds: float, oversize_bytes: int,
          latency: float) -> None:
    """Serve a replica site until SIGINT or SIGTERM."""
    try:
        faults = parse_faults(fault_specs)
        server = ReplicaServer(articles=articles, edition=edition, seed=seed, port=port, host=host, verbose=verbose,
                               faults=faults, fault_seed=fault_seed, slow_seconds=slow_seconds,
                               oversize_bytes=oversize_bytes, site=site, latency=latency)
    except ReplicaError as exc:
        raise UsageProblem(str(exc)) from exc
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    server.start()
    hostile = f", faults {format_faults(faults)}, fault seed {fault_seed}" if server.plan.active else ""
    named = f", site {site}" if site != registry.DEFAULT_SITE else ""
    named += f", latency {latency:g} s" if latency else ""
    click.echo(f"Replica portal serving {server.section_url} ({articles} articles, edition {edition}{named}{hostile})")
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
def truth(site: str, articles: int, edition: int, seed: int, removed: bool, base_url: str,
          fault_specs: tuple[str, ...], fault_seed: int) -> None:
    """Print a site's ground truth as JSON lines (UTF-8), column by column, newest article first.

    Every record says its `site` and `section`; xxgk sites add `xxgk`, the
    metadata table.  With --fault, each record also says `fault` (why a
    correct crawler cannot archive it, or null) and `faults` (every fault kind
    touching it).
    """
    try:
        spec = registry.site_spec(site)
        corpus = registry.make_corpus(spec, articles, edition, seed)
        plan = FaultPlan(parse_faults(fault_specs), fault_seed)
    except ReplicaError as exc:
        raise UsageProblem(str(exc)) from exc
    base = base_url.rstrip("/")
    records = registry.removed(spec, corpus, base) if removed else registry.truth(spec, corpus, base, plan)
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n", write_through=False)
    try:
        write_jsonl(records, out)
        out.flush()
    finally:
        out.detach()
