"""`portal-archive demo`: start a replica, crawl it, stop it, verify, summarise."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from crawler.outcome import crawl_outcome


@click.command()
@click.option("--articles", default=300, show_default=True, type=click.IntRange(1, 1_000_000),
              help="Size of the replica section.")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), default=Path("data"), show_default=True,
              help="Data folder to crawl into.")
def command(articles: int, data: Path) -> None:
    """Crawl a local replica of the portal into DATA and check the result."""
    from archive.cli.crawl import print_summary, run_crawl
    from archive.cli.verify import verify_folder
    from replica.launch import ReplicaProcess

    started = time.monotonic()
    with ReplicaProcess(articles=articles) as replica:
        click.echo(f"Replica portal ({articles} articles) at {replica.section_url}")
        stats = run_crawl(data=data, replica=replica.base_url)
    print_summary(stats, time.monotonic() - started, data)
    report = verify_folder(Path(data), quiet=True)
    click.echo(f"  verify: {'ok' if report.ok else f'{len(report.problems)} problems'} ({report.summary()})")
    click.echo(f"\nNext: portal-archive search 工业强市 --data {data}    (Chinese full-text search)")
    click.echo(f"      portal-archive serve --data {data}              (browse, read, replay in a browser)")
    code = crawl_outcome(stats).code
    sys.exit(code if report.ok else max(code, 1))
