"""`portal-archive changes`: new, edited and withdrawn articles."""

from __future__ import annotations

import json

import click

from archive.catalogue.changes import list_changes
from archive.catalogue.db import CatalogueError, catalogue_path, connect
from archive.cli.options import data_option, json_option, parse_date


@click.command()
@data_option
@click.option("--since", callback=parse_date, metavar="DATE", help="Only changes seen on or after DATE (YYYY-MM-DD).")
@click.option("--crawl", metavar="ID", help="Only changes found by this crawl (see `portal-archive runs`).")
@click.option("--no-diff", is_flag=True, help="Do not show the text diff of edits.")
@json_option
def command(data, since, crawl, no_diff, as_json) -> None:
    """List new, edited and withdrawn articles; edits show a diff of title and body."""
    try:
        conn = connect(catalogue_path(data), readonly=True)
    except CatalogueError as error:
        raise click.ClickException(str(error)) from error
    counts = {"new": 0, "edited": 0, "withdrawn": 0}
    for change in list_changes(conn, since=since, crawl=crawl, with_diff=not no_diff):
        counts[change.change] += 1
        if as_json:
            click.echo(json.dumps(change.as_dict(), ensure_ascii=False))
            continue
        label = {"new": "NEW", "edited": f"EDITED v{change.version}", "withdrawn": f"WITHDRAWN ({change.how})"}
        click.echo(f"{label[change.change]:<28} {change.date[:19]}  #{change.article_id}  {change.title or ''}")
        click.echo(f"{'':28} {change.url}")
        if change.changed_fields:
            click.echo(f"{'':28} changed: {', '.join(change.changed_fields)}")
        if change.diff:
            for line in change.diff.splitlines():
                click.echo(f"{'':4}{line}")
    if not as_json:
        click.echo(f"{counts['new']} new, {counts['edited']} edited, {counts['withdrawn']} withdrawn")
