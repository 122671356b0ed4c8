"""`portal-archive changes`: new, edited, withdrawn and restored articles, as text, JSON lines or a feed."""

from __future__ import annotations

import json
import os
import sys

import click

from archive.catalogue import open_catalogue
from archive.cli.options import MOST, data_option, http_url, json_option, parse_date
from archive.exits import NotFound, UsageProblem
from archive.watch import diff as diffs
from archive.watch.feeds import FORMATS, NEWEST, FeedLinks, build_feed
from archive.watch.select import ChangeFilter, watched_changes
from crawler.options import default

LABELS = {"new": "NEW", "edited": "EDITED v{version}", "withdrawn": "WITHDRAWN ({how})",
          "restored": "RESTORED (was {how})"}


def filter_options(command):
    """--since, --crawl, --site, --section, --query: the filters `changes` and the feeds share."""
    for option in reversed([
        click.option("--since", callback=parse_date, metavar="DATE",
                     help="Only changes seen on or after DATE (YYYY-MM-DD)."),
        click.option("--crawl", metavar="ID", help="Only changes found by this crawl (see `portal-archive runs`)."),
        click.option("--site", "sites", multiple=True, metavar="SITE",
                     help="Only articles of this site (its profile name, e.g. tengzhou; repeatable)."),
        click.option("--section", "sections", multiple=True, metavar="SECTION",
                     help="Only articles of this section (as the profile names it; repeatable)."),
        click.option("--query", "-q", metavar="WORDS",
                     help="Only articles the full-text search finds (same syntax as `portal-archive search`)."),
    ]):
        command = option(command)
    return command


def _show(diff: diffs.Diff, color: bool) -> str:
    return diffs.ansi(diff) if color else diffs.marks(diff)


def print_change(item, *, color: bool, with_diff: bool) -> None:
    change = item.change
    label = LABELS[change.change].format(version=change.version, how=change.how)
    click.echo(f"{label:<28} {change.date[:19]}  #{change.article_id}  {diffs.printable(item.title or '')}")
    place = "/".join(part for part in (change.site, change.section) if part)
    click.echo(f"{'':28} {diffs.printable(change.url)}" + (f"  ({diffs.printable(place)})" if place else ""))
    if change.withdrawn_at:
        click.echo(f"{'':28} withdrawn since {change.withdrawn_at[:19]}")
    if change.changed_fields:
        click.echo(f"{'':28} changed: {', '.join(change.changed_fields)}")
    if item.flags:
        click.echo(f"{'':28} integrity flags: {', '.join(item.flags)}")
    if not with_diff:
        return
    if item.title_diff:
        click.echo(f"    标题 title: {_show(item.title_diff, color)}", color=color)
    if item.body_diff and diffs.is_changed(item.body_diff):
        for block in diffs.folded(item.body_diff, context=0):
            text = f"… {block.gap} 段未变 unchanged" if block.gap else _show(block.parts, color)
            click.echo("    " + text.replace("\n", "\n    "), color=color)


@click.command()
@data_option
@filter_options
@click.option("--no-diff", is_flag=True, help="Do not show the diffs of edits.")
@json_option
@click.option("--format", "fmt", type=click.Choice(("text", "json", *FORMATS)), default=None,
              help="text (default), json (one change a line, as --json), or an Atom or RSS feed.")
@click.option("--limit", type=click.IntRange(0, MOST), default=None,
              help=f"Feeds: only the newest N changes (default {NEWEST}; 0: all).  Other formats: all unless given.")
@click.option("--ui-url", default=lambda: default("ARCHIVE_UI_URL"), show_default="ARCHIVE_UI_URL",
              callback=lambda ctx, param, value: value and http_url(ctx, param, value),
              help="Address of `portal-archive serve` that feed entries link to.")
@click.option("--replay-url", default=lambda: default("ARCHIVE_REPLAY_URL"), show_default="ARCHIVE_REPLAY_URL",
              callback=lambda ctx, param, value: value and http_url(ctx, param, value),
              help="Address of pywb replay that feed entries link to (empty: none).")
def command(data, since, crawl, sites, sections, query, no_diff, as_json, fmt, limit, ui_url, replay_url) -> None:
    """List new, edited, withdrawn and restored articles; edits show a character diff of title and body.

    The diff marks deleted text «-like this» and inserted text «+like this»
    (in colour on a terminal).  --json adds `body_diff` and `title_diff` to
    edits: lists of [op, text] with op "=", "-" or "+".  --format atom/rss
    writes a feed of the same changes, newest first, linking each to the UI
    and to the archived capture.  A withdrawn article whose page answers
    again (a portal's outage of a day, a page put back) is listed as
    restored, with the withdrawal it ends (`how`, `withdrawn_at`).

    Exit codes: 0 listed (even none), 2 bad usage (an empty --query,
    --crawl, --site or --section among them), 5 a --crawl, --site or
    --section the catalogue has never seen (the message names the known
    sites or sections), 6 no catalogue.
    """
    if as_json and fmt not in (None, "json"):
        raise UsageProblem(f"--json and --format {fmt} contradict each other; give one")
    fmt = "json" if as_json else fmt or "text"
    selection = ChangeFilter(since=since, crawl=crawl, sites=tuple(sites), sections=tuple(sections), query=query)
    newest = (limit if limit is not None else NEWEST) if fmt in FORMATS else limit
    if crawl is not None and not crawl.strip():
        raise UsageProblem("--crawl needs a crawl id (see portal-archive runs)")
    for option, values in (("--site", sites), ("--section", sections)):
        if any(not value.strip() for value in values):
            raise UsageProblem(f"{option} needs a name")
    if query is not None:
        _parse(query)  # an empty query listed every change, as if none had been given
    with _open(data, query) as catalogue:
        if crawl is not None and not catalogue.crawls_by_id([crawl]):
            # An id mistyped listed nothing, exit 0: as if that crawl had found no change.
            raise NotFound(f"no crawl {crawl!r} in the catalogue (see portal-archive runs)")
        for kind, values in (("site", sites), ("section", sections)):
            _known(catalogue, kind, values)  # a name mistyped listed nothing, as if nothing had changed
        _write(catalogue, selection, fmt, newest, no_diff, FeedLinks(ui=ui_url, replay=replay_url or None))


def _parse(query: str) -> None:
    from archive.search import QueryError, parse_query

    try:
        parse_query(query)
    except QueryError as error:
        raise UsageProblem(f"--query: {error}") from error


_SHOWN = 30  # known names listed at most in the message


def _known(catalogue, kind: str, values: tuple[str, ...]) -> None:
    """NotFound naming the known ones when a --site or --section value is no article's site or section."""
    if not values:
        return
    known = catalogue.facet_values(kind)
    unknown = [value for value in values if value not in known]
    if unknown:
        listed = ", ".join(known[:_SHOWN]) + (f" and {len(known) - _SHOWN} more" if len(known) > _SHOWN else "")
        raise NotFound(f"no {kind} {unknown[0]!r} in the catalogue; its {kind}s: {listed or 'none'}")


def _write(catalogue, selection: ChangeFilter, fmt: str, newest: int | None, no_diff: bool, links: FeedLinks) -> None:
    from archive.search import QueryError

    try:
        items = watched_changes(catalogue, selection, newest=newest or None, diffs=not no_diff,
                                with_line_diff=fmt == "json" and not no_diff)
        if fmt in FORMATS:
            sys.stdout.buffer.write(build_feed(items, links=links, selection=selection, fmt=fmt))
            sys.stdout.buffer.flush()
            return
        counts = {"new": 0, "edited": 0, "withdrawn": 0, "restored": 0}
        color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        for item in items:
            counts[item.change.change] += 1
            if fmt == "json":
                click.echo(json.dumps(item.as_dict(), ensure_ascii=False))
            else:
                print_change(item, color=color, with_diff=not no_diff)
    except QueryError as error:
        raise UsageProblem(f"--query: {error}") from error
    if fmt == "text":
        click.echo(f"{counts['new']} new, {counts['edited']} edited, {counts['withdrawn']} withdrawn, "
                   f"{counts['restored']} restored")


def _open(data, query: str | None):
    """The catalogue, read-only; with a query, one whose search index is up to date (built when missing)."""
    if query:
        from archive.search import searchable

        return searchable(data, note=lambda line: click.echo(line, err=True))
    return open_catalogue(data, readonly=True)
