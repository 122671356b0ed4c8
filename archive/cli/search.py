"""`portal-archive search`: full-text search of the catalogue."""

from __future__ import annotations

import json
import sys
import time
from datetime import date

import click

from archive.cli.options import MOST, data_option, json_option

def parse_day(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


_LITERAL = "portal-archive.search.literal"  # ctx.meta: how many query words came after `--`


class _Search(click.Command):
    """Notes how many arguments follow a `--` (click drops it, and passes what follows as QUERY words, so the
    command could not tell `search -- --since` from `search --since`)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        takes_value = {name for param in self.get_params(ctx) if isinstance(param, click.Option)
                       and not param.is_flag and not param.count for name in param.opts + param.secondary_opts}
        at, literal = 0, 0
        while at < len(args):
            if args[at] == "--":  # the separator, not an option's value (`--source --` takes it as the value)
                literal = len(args) - at - 1
                break
            at += 2 if args[at] in takes_value else 1
        ctx.meta[_LITERAL] = literal
        return super().parse_args(ctx, args)


def print_hit(hit, marks: tuple[str, str]) -> None:
    from archive.search.snippet import marked

    day = (hit.published or "")[:10] or "undated"
    extra = []
    if hit.status != "live":
        extra.append(hit.status)
    if not hit.current:
        extra.append(f"version {hit.version}, not current")
    if hit.flags:
        extra.append("flags: " + ", ".join(hit.flags))
    click.echo(f"{day}  {click.style(hit.title or '(no title)', bold=True)}")
    place = "/".join(part for part in (hit.site, hit.section) if part)
    click.echo(f"    {hit.source or '-'}  #{hit.article_id}" + (f"  {place}" if place else "")
               + (f"  [{'; '.join(extra)}]" if extra else ""))
    if hit.parts:
        click.echo(f"    {marked(hit.parts, marks)}")


@click.command(cls=_Search, context_settings={"ignore_unknown_options": True})  # lets `-word` through to QUERY
@click.argument("query", nargs=-1, required=True)
@data_option
@click.option("--since", callback=parse_day, metavar="DATE", help="Published on or after this day (YYYY-MM-DD).")
@click.option("--until", callback=parse_day, metavar="DATE", help="Published on or before this day (YYYY-MM-DD).")
@click.option("--source", metavar="S", help="Only articles whose source contains these words (e.g. 滕州日报).")
@click.option("--column", metavar="C", help="Only articles whose column (栏目) contains these words.")
@click.option("--site", metavar="NAME", help="Only articles of this site (the profile's name, e.g. tengzhou).")
@click.option("--section", metavar="NAME", help="Only articles of this section (the profile's column, e.g. 工业经济).")
@click.option("--has-images", is_flag=True, help="Only articles with images.")
@click.option("--flag", "flags", multiple=True, metavar="F",
              help="Only articles with this integrity flag ('any' for any); repeatable.")
@click.option("--all-versions", is_flag=True, help="Search earlier versions too, not only the current ones.")
@click.option("--withdrawn", is_flag=True, help="Include withdrawn articles.")
@click.option("--order", type=click.Choice(["relevance", "date"]), default="relevance", show_default=True,
              help="Best matches first (title counts most), or newest first.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, MOST), help="How many hits to show.")
@click.option("--offset", default=0, show_default=True, type=click.IntRange(0, MOST), help="Skip this many hits first.")
@json_option
def command(query, data, since, until, source, column, site, section, has_images, flags, all_versions, withdrawn,
            order, limit, offset, as_json) -> None:
    """Search titles, text, image captions and attachment names.

    Any run of characters is found, from one character up (化, 化工, 工业强市,
    ★, an emoji), punctuation included (IMG_5158, 工业强市、产业兴市); letters
    match in any case or width; a word of punctuation alone is dropped.  Words separated by spaces must all match; `A OR B`
    either; `-A` or `NOT A` excludes (OR never joins an excluded word);
    quotes make a phrase ('"工业强市 产业兴市"').  A repeated word counts
    once; a query holds at most 32 different words.  Dates after 2100-12-31
    are searched as that day.  By default only the current version of live
    articles is searched.

    Exit codes: 0 searched (even with no hits), 2 bad usage or a bad query,
    6 no catalogue (or no search index) in DATA.  With --json, each hit is a
    JSON line and the total goes to stderr.  (`--` before the query also
    stops option parsing: `search -- '"--since"'` looks for --since; unquoted,
    a leading - still excludes the word.)
    """
    from archive.search import searchable

    # An option mistyped reaches QUERY too (ignore_unknown_options): refused, unless it came after `--`.
    typed = query[:len(query) - click.get_current_context().meta.get(_LITERAL, 0)]
    unknown = [word for word in typed if word.startswith("--") and len(word) > 2]
    if unknown:
        raise click.NoSuchOption(unknown[0])
    text = " ".join(query)
    with searchable(data, note=lambda line: click.echo(line, err=True)) as catalogue:
        started = time.perf_counter()
        places = {key: value for key, value in (("site", site), ("section", section)) if value}
        results = catalogue.search(text, since=since, until=until, source=source, column=column, **places,
                                   has_images=True if has_images else None, flags=list(flags) or None,
                                   all_versions=all_versions, include_withdrawn=withdrawn, order=order,
                                   limit=limit, offset=offset)
    elapsed = (time.perf_counter() - started) * 1000
    summary = (f"{results.count_text} {'match' if results.total == 1 and results.exact else 'matches'}"
               + (f", showing {offset + 1}-{offset + len(results)}" if results.hits else "") + f" ({elapsed:.0f} ms)")
    if order == "relevance" and results.ranked < results.total:
        summary += f"; the newest {results.ranked} ranked by relevance, older ones follow by date"
    if results.stale:
        summary += "; the index has unapplied changes (read-only catalogue?)"
    if as_json:
        for hit in results:
            click.echo(json.dumps(hit.to_dict(), ensure_ascii=False))
        click.echo(summary, err=True)
        return
    colour = sys.stdout.isatty()
    marks = (click.style("", fg="red", bold=True, reset=False), "\x1b[0m") if colour else ("«", "»")
    for hit in results:
        print_hit(hit, marks)
        click.echo()
    click.echo(summary)
