"""`portal-archive replica`: serve the replica portal, or print its ground truth."""

from __future__ import annotations

import io
import signal
import sys
import threading

import click

from replica.corpus import MAX_ARTICLES, MAX_EDITION, Corpus
from replica.errors import ReplicaError
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


@click.group(name="replica")
def command() -> None:
    """A local stand-in for the Tengzhou 工业经济 section (see docs/replica.md)."""


@command.command()
@corpus_options(default_articles=300)
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on; 0 picks a free one (printed on start).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to bind.")
@click.option("--verbose", is_flag=True, help="Log every request to stderr.")
def serve(articles: int, edition: int, seed: int, port: int, host: str, verbose: bool) -> None:
    """Serve the replica until SIGINT or SIGTERM."""
    try:
        server = ReplicaServer(articles=articles, edition=edition, seed=seed, port=port, host=host, verbose=verbose)
    except ReplicaError as exc:
        raise click.ClickException(str(exc)) from exc
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    server.start()
    click.echo(f"Replica portal serving {server.section_url} ({articles} articles, edition {edition})")
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
def truth(articles: int, edition: int, seed: int, removed: bool, base_url: str) -> None:
    """Print the ground truth as JSON lines (UTF-8), newest article first."""
    try:
        corpus = Corpus(articles, edition, seed)
    except ReplicaError as exc:
        raise click.ClickException(str(exc)) from exc
    records = removed_records(corpus, base_url.rstrip("/")) if removed else truth_records(corpus, base_url.rstrip("/"))
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n", write_through=False)
    try:
        write_jsonl(records, out)
        out.flush()
    finally:
        out.detach()
