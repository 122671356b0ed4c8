"""`portal-archive verify`: check the WARC files and the items that point into them.

Exit status: 0 when the archive is sound, 1 when problems were found, 2 for
usage errors (such as a data folder that does not exist).
"""

from __future__ import annotations

import json
import sys

import click

from archive.warc.errors import ArchiveNotFoundError
from archive.warc.verify import verify_archive


def _progress(file: str, number: int, total: int) -> None:
    click.echo(f"checking {file} ({number}/{total})", err=True)


@click.command("verify")
@click.option("--data", "data_dir", default="./data", show_default=True,
              type=click.Path(file_okay=False), help="Data folder holding warc/ and items/.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="No per-file progress on stderr.")
def command(data_dir: str, as_json: bool, quiet: bool) -> None:
    """Check every WARC file (gzip members, record fields, digests, request/response
    pairs) and every item's WARC references and metadata record."""
    try:
        report = verify_archive(data_dir, progress=None if quiet else _progress)
    except ArchiveNotFoundError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        for problem in report.problems:
            click.echo(str(problem))
        for name in report.set_aside:
            click.echo(f"note: {name} was set aside by crash recovery (it held no complete record)")
        click.echo(report.summary())
    sys.exit(0 if report.ok else 1)
