"""`portal-archive export`: articles to CSV, JSONL, Parquet or xlsx, or a WACZ package."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from archive.cli.options import evidence_options, store_option
from archive.export import BadRequest, ExportRequest, ExportResult, Selection, export
from archive.export.fields import FIELDS
from archive.export.run import FORMATS

class BarProgress:
    """A progress bar on stderr (only used when stderr is a terminal)."""

    def __init__(self) -> None:
        self._bar = None

    def start(self, total: int) -> None:
        self._bar = click.progressbar(length=total, label="exporting", file=sys.stderr, show_pos=True)
        self._bar.__enter__()

    def advance(self, rows: int) -> None:
        if self._bar is not None:
            self._bar.update(rows)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def summary(result: ExportResult, request: ExportRequest) -> str:
    line = (f"Exported {result.rows} rows ({request.format}) to {request.out}: "
            f"{len(result.files) + result.media_files} files, {result.bytes} bytes")
    if request.with_media:
        line += f" ({result.media_entries} media entries, {result.media_files} new media files)"
    return line


def _fields(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    if not names:
        raise click.BadParameter("name at least one field", param_hint="--fields")
    return names


_DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.command()
@click.argument("query", required=False)
@click.option("--format", "format_", required=True, type=click.Choice(sorted(FORMATS), case_sensitive=False),
              help="Output format.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Output file (its folder is created).")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), default=Path("data"), show_default=True,
              help="Data folder (catalog.sqlite, warc/).")
@click.option("--since", type=_DATE, metavar="YYYY-MM-DD", help="Published on or after this date.")
@click.option("--until", type=_DATE, metavar="YYYY-MM-DD", help="Published on or before this date.")
@click.option("--source", "sources", multiple=True, metavar="TEXT",
              help="Source line contains TEXT (repeatable: any of them).")
@click.option("--flag", "flags", multiple=True, metavar="FLAG",
              help="Carries this integrity flag, e.g. spam_keywords (repeatable: any of them).")
@click.option("--versions", type=click.Choice(["latest", "all"]), default="latest", show_default=True,
              help="Each article's current version, or every version.")
@click.option("--withdrawn", is_flag=True, help="Only articles withdrawn from the portal.")
@click.option("--site", "sites", multiple=True, metavar="NAME", help="Only this site (profile name); repeatable.")
@click.option("--section", "sections", multiple=True, metavar="NAME", help="Only this section; repeatable.")
@click.option("--fields", metavar="a,b,c",
              help="Columns, in this order (provenance columns are always added). "
                   "Default: all but body_html. Known: " + ", ".join(FIELDS) + ".")
@click.option("--no-bom", is_flag=True, help="CSV without the UTF-8 byte-order mark (Excel needs it for Chinese).")
@click.option("--raw-csv", is_flag=True,
              help="CSV cells exactly as archived. By default a text cell starting with = + - @ (a formula to a "
                   "spreadsheet program: a hijacked page's title can be one) gets a leading '.")
@click.option("--with-media", is_flag=True,
              help="Also write images and attachments from the WARC files to media/ab/<sha256>.<ext>, "
                   "listed in NAME.EXT.media.csv.")
@evidence_options
@store_option("With --format wacz: fetch the WARC files not in DATA/warc/ from this store.")
@click.pass_context
def command(ctx, query, format_, out, data, since, until, sources, flags, versions, withdrawn, sites, sections,
            fields, no_bom, raw_csv, with_media, sign, signing_key, signing_cert, timestamp_url, store) -> None:
    """Export archived articles, one row per article version, or package them as WACZ.

    QUERY, if given, keeps the versions the project's free-text search finds.
    Filters combine with AND.  Beside --out NAME.EXT it writes
    NAME.EXT.datapackage.json (Frictionless: schema, filters, crawls, sha256 of
    each file); nothing appears under a final name unless the export
    succeeds.  A wacz can be signed (--sign) and timestamped
    (--timestamp-url); docs/evidence.md says what that proves.

    \b
    Exit codes:
      0  exported
      2  bad usage (unknown format or field, bad date, options that do not go
         together, a query the search cannot take)
      3  the output (or the WACZ package) could not be written, or Ctrl-C
      5  no article version matches the filters
      6  catalogue missing or unreadable, or QUERY given without a search index
      7  a WARC file or record the catalogue names is missing or does not match
      8  the catalogue's server (PostgreSQL), the timestamp authority or the
         store (--store) did not answer
    """
    evidence = None
    if format_.lower() == "wacz":
        from archive.evidence.seal import choose_evidence

        evidence = choose_evidence(data, sign=sign, key_file=signing_key, timestamp_url=timestamp_url,
                                   cert_file=signing_cert)
    elif sign or signing_key or signing_cert or _given(ctx, "timestamp_url"):
        raise BadRequest("--sign, --signing-key and --timestamp-url apply to wacz packages only")
    if format_.lower() != "wacz" and _given(ctx, "store"):
        raise BadRequest("--store applies to wacz packages only (the other formats read the catalogue alone)")
    stored = None
    if store and format_.lower() == "wacz":
        from archive.storage import open_store

        stored = open_store(store)
    request = ExportRequest(
        data=data, out=out, format=format_.lower(), fields=_fields(fields), bom=not no_bom, raw_csv=raw_csv,
        with_media=with_media,
        selection=_selection(query, since, until, sources, flags, versions, withdrawn, sites, sections),
        evidence=evidence, store=stored,
    )
    progress = BarProgress() if sys.stderr.isatty() else None
    result = export(request, progress=progress)
    click.echo(summary(result, request))


def _given(ctx: click.Context, name: str) -> bool:
    """True when the option was on the command line (not only in the environment)."""
    return ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE


def _selection(query, since, until, sources, flags, versions, withdrawn, sites=(), sections=()) -> Selection:
    return Selection(query=query, since=since.date() if since else None, until=until.date() if until else None,
                     sources=tuple(sources), flags=tuple(flags), versions=versions, withdrawn=withdrawn,
                     sites=tuple(sites), sections=tuple(sections))
