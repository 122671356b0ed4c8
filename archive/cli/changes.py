"""`portal-archive changes`: new, edited and withdrawn articles."""

from __future__ import annotations

import json

import click

from archive.catalogue import open_catalogue
from archive.catalogue.changes import list_changes
from archive.cli.options import data_option, json_option, parse_date


@click.command()
@data_option
@click.option("--since", callback=parse_date, metavar="DATE", help="Only changes seen on or after DATE (YYYY-MM-DD).")
@click.option("--crawl", metavar="ID", help="Only changes found by this crawl (see `portal-archive runs`).")
@click.option("--site", "sites", multiple=True, metavar="NAME", help="Only this site (profile name); repeatable.")
@click.option("--section", "sections", multiple=True, metavar="NAME", help="Only this section; repeatable.")
@click.option("--no-diff", is_flag=True, help="Do not show the text diff of edits.")
@json_option
def command(data, since, crawl, sites, sections, no_diff, as_json) -> None:
    """List new, edited and withdrawn articles; edits show a diff of title and body."""
    counts = {"new": 0, "edited": 0, "withdrawn": 0}
    with open_catalogue(data, readonly=True) as catalogue:
        for change in list_changes(catalogue, since=since, crawl=crawl, with_diff=not no_diff, sites=sites,
                                   sections=sections):
            counts[change.change] += 1
            if as_json:
                click.echo(json.dumps(change.as_dict(), ensure_ascii=False))
                continue
            label = {"new": "NEW", "edited": f"EDITED v{change.version}",
                     "withdrawn": f"WITHDRAWN ({change.how})"}
            click.echo(f"{label[change.change]:<28} {change.date[:19]}  #{change.article_id}  {change.title or ''}")
            click.echo(f"{'':28} {change.url}")
            if change.changed_fields:
                click.echo(f"{'':28} changed: {', '.join(change.changed_fields)}")
            if change.diff:
                for line in change.diff.splitlines():
                    click.echo(f"{'':4}{line}")
    if not as_json:
        click.echo(f"{counts['new']} new, {counts['edited']} edited, {counts['withdrawn']} withdrawn")
