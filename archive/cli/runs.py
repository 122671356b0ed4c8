"""`portal-archive runs`: the crawls recorded in the catalogue."""

from __future__ import annotations

import json

import click

from archive.catalogue import open_catalogue
from archive.cli.options import MOST, data_option, json_option
from archive.lock import held


@click.command()
@data_option
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, MOST), help="How many, newest first.")
@json_option
def command(data, limit, as_json) -> None:
    """List crawls: id, start, end, status, exit code and what each archived."""
    with open_catalogue(data, readonly=True) as catalogue:
        crawls = catalogue.crawls(limit)
    # A crawl killed (-9, power cut) stays 'running' until the next crawl into its folder settles it.
    stopped = any(crawl["status"] == "running" for crawl in crawls) and not held(data)
    if not as_json:
        click.echo(f"{'crawl':22} {'site':12} {'started':20} {'finished':20} {'status':12} exit  articles  "
                   "new/edited/withdrawn/restored")
    for crawl in crawls:
        if as_json:
            click.echo(json.dumps(crawl, ensure_ascii=False))
            continue
        code = "" if crawl["exit_code"] is None else crawl["exit_code"]
        if stopped and crawl["status"] == "running":
            crawl["status"] = "running?"
        click.echo(f"{crawl['id']:22} {(crawl['site'] or '-'):12} {crawl['started'][:19]:20} "
                   f"{(crawl['finished'] or '')[:19]:20} {crawl['status']:12} {code:>4}  "
                   f"{crawl['stats'].get('archive/items_written', 0):>8}  {crawl['new']}/{crawl['edited']}/"
                   f"{crawl['withdrawn']}/{crawl['restored']}")
    if stopped and not as_json:
        click.echo(f"running?: no crawl holds {data}'s lock now: a crawl shown running that wrote here was stopped "
                   "(the next crawl into this folder records it as interrupted); on a catalogue shared by several "
                   "folders, it may be running elsewhere")
