"""`portal-archive profile`: infer a site profile from a column's list page, or check one against the live site."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from archive.cli.options import http_url
from archive.exits import ExitCode, Failed, UsageProblem

CONTACT_ENV = "PORTAL_ARCHIVE_CONTACT"


def polite_options(func):
    """--contact, --delay, --samples and --list-pages, shared by `new` and `check`."""
    func = click.option("--list-pages", default=3, show_default=True, type=click.IntRange(1, 20),
                        help="List answers to walk per section (pages, dataproxy groups, API pages).")(func)
    func = click.option("--samples", default=6, show_default=True, type=click.IntRange(1, 50),
                        help="Articles to read per section.")(func)
    func = click.option("--delay", type=click.FloatRange(0, 60), default=None,
                        help="Seconds between two requests to the site (default 1; none on loopback).")(func)
    func = click.option("--contact", envvar=CONTACT_ENV, metavar="URL",
                        help=f"Contact for the site's owners, put in the user agent (default ${CONTACT_ENV}; "
                             "needed for a real portal).")(func)
    return func


def _fetcher(contact: str | None, delay: float | None, url: str):
    from scrapy.settings import Settings

    from crawler.politeness import check_contact
    from crawler.profiler.fetch import Fetcher

    chosen = check_contact(Settings({"ARCHIVE_CONTACT": contact}), url)
    return Fetcher(contact=chosen, delay=delay)


@click.group(name="profile")
def command() -> None:
    """Site profiles: infer one from a column's first list page, or check one against the live site.

    Both look at the site as a crawl would (robots.txt, a delay between
    requests, the crawler's user agent with your contact) and archive nothing.
    """


@command.command()
@click.argument("urls", nargs=-1, required=True, metavar="URL [URL…]", callback=http_url)
@click.option("--name", help="The profile's short name (default: from the site's domain).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Write the profile here (a .toml file).")
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@polite_options
def new(urls, name, out, force, contact, delay, samples, list_pages) -> None:
    """Infer a profile from the first list page of one column (URL), or of several columns of one portal.

    Fetches a few list pages and articles, infers the list rows, the
    pagination (TRS createPageHTML, 下一页 links, a Hanweb datastore with
    dataproxy.jsp, a JSON API, xxgk tables), the article URL pattern, the
    section path, the site's name, place name and 政府网站标识码, and the
    selectors, writes a commented TOML profile to OUT, then prints a
    validation report: articles sampled, the coverage of each field, pages
    without title or date, and what could not be inferred.

    A column whose page shows no article links is left out, and the report
    says why and what to do (a frame shell: give the framed page; an article:
    give its column's list; links on another host; a list a script draws
    from an API not understood).

    Exit codes: 0 the profile reads every sampled page, 1 written with problems
    (see the report; also a column left out), 2 bad usage (also: every URL
    given is an article or a frame shell, not a list page), 3 the list page
    could not be fetched, 5 no article links found on any column's page.
    """
    from crawler.profile import ProfileError, load_profile
    from crawler.profiler.infer import infer_profile
    from crawler.profiler.validate import validate_inference
    from crawler.profiler.write import profile_toml

    if name is not None and not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise UsageProblem(f"--name {name!r}: use letters, digits, '.', '_' or '-'")
    if out.exists() and not force:
        raise UsageProblem(f"{out} exists: choose another --out, or --force to overwrite it")
    fetcher = _fetcher(contact, delay, urls[0])
    started = time.monotonic()
    inference = infer_profile(list(urls), fetcher, name=name, samples=samples, list_requests=list_pages)
    elapsed = time.monotonic() - started
    header = []
    if inference.declared_domain:
        header.append(f"The pages declare SiteDomain {inference.declared_domain}: the canonical host.")
    header += [f"Not inferred: {note}" for note in inference.notes]
    text = profile_toml(inference.profile, header, {f.section.name: f.notes for f in inference.sections})
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")
    try:
        partial.write_text(text, encoding="utf-8")
        try:
            read_back = load_profile(partial)
        except ProfileError as error:  # a bug here, never the site's fault: say so plainly
            raise Failed(f"the inferred profile does not load back ({error}); nothing written") from None
        if read_back != inference.profile:
            raise Failed("the inferred profile does not read back as inferred ("
                         + ", ".join(_differences(read_back, inference.profile)) + "); nothing written")
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    report = validate_inference(inference, len(fetcher.log), elapsed)
    for line in report.lines():
        click.echo(line)
    click.echo(f"Wrote {out}")
    sys.exit(ExitCode.OK if report.ok else ExitCode.PROBLEMS)


def _differences(read_back, inferred) -> list[str]:
    """The fields a written profile reads back differently (`key: read … inferred …`), so a report of
    this internal error says where the writer and the loader disagree."""
    import dataclasses

    out = []
    for field in dataclasses.fields(inferred):
        mine, theirs = getattr(read_back, field.name), getattr(inferred, field.name)
        if mine != theirs:
            out.append(f"{field.name}: read {mine!r}, inferred {theirs!r}"[:300])
    return out or ["no field differs"]


@command.command()
@click.argument("file", metavar="FILE")
@click.option("--section", "sections", multiple=True, metavar="NAME", help="Check only this section (repeatable).")
@polite_options
def check(file, sections, contact, delay, samples, list_pages) -> None:
    """Re-run the validation of a profile FILE (a path, or a bundled profile's name) against the live site.

    What an archivist runs when a redesign breaks a crawl: walks each
    section's list as the crawl would, reads a sample of articles with the
    profile, and reports list rows, pagination, field coverage, pages without
    title or date, and selectors that find nothing.

    Exit codes: 0 ok, 1 problems found, 2 bad usage or a bad profile, 3 nothing could be fetched.
    """
    from crawler.profile import load_profile
    from crawler.profiler.validate import check_profile

    profile = load_profile(file).only(tuple(sections))
    fetcher = _fetcher(contact, delay, profile.start_url)
    report = check_profile(profile, fetcher, samples=samples, list_requests=list_pages)
    for line in report.lines():
        click.echo(line)
    if not any(section.rows for section in report.sections):
        raise Failed("no list page of the profile could be fetched")
    sys.exit(ExitCode.OK if report.ok else ExitCode.PROBLEMS)
