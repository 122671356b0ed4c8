"""`portal-archive runs`: the crawls recorded in the catalogue."""

from __future__ import annotations

import json

import click

from archive.catalogue.db import CatalogueError, catalogue_path, connect
from archive.cli.options import data_option, json_option


@click.command()
@data_option
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1), help="How many, newest first.")
@json_option
def command(data, limit, as_json) -> None:
    """List crawls: id, start, end, status, exit code and what each archived."""
    try:
        conn = connect(catalogue_path(data), readonly=True)
    except CatalogueError as error:
        raise click.ClickException(str(error)) from error
    rows = conn.execute("SELECT * FROM crawls ORDER BY started DESC LIMIT ?", (limit,)).fetchall()
    if not as_json:
        click.echo(f"{'crawl':22} {'started':20} {'finished':20} {'status':12} exit  articles  new/edited")
    for row in rows:
        stats = json.loads(row["stats"] or "{}")
        new = conn.execute("SELECT count(*) FROM versions WHERE crawl_id = ? AND version = 1", (row["id"],)).fetchone()[0]
        edited = conn.execute("SELECT count(*) FROM versions WHERE crawl_id = ? AND version > 1",
                              (row["id"],)).fetchone()[0]
        if as_json:
            click.echo(json.dumps({**dict(row), "stats": stats, "new": new, "edited": edited}, ensure_ascii=False))
            continue
        click.echo(f"{row['id']:22} {row['started'][:19]:20} {(row['finished'] or '')[:19]:20} {row['status']:12} "
                   f"{'' if row['exit_code'] is None else row['exit_code']:>4}  {stats.get('archive/items_written', 0):>8}"
                   f"  {new}/{edited}")
