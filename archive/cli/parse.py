"""`portal-archive parse FILE --url URL`: how a saved page reads, article or list answer, as JSON.

The page is decoded exactly as in a crawl (an HtmlResponse is built from the
bytes) and read by the crawl's page objects (`crawler.pages.saved`), so a
page that parses wrongly here parses wrongly in the crawl too.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from archive.cli.options import http_url
from archive.exits import Failed
from crawler.pages.saved import KINDS, read_saved
from crawler.profile import SiteProfile, bundled_profile_names, load_profile


@click.command(name="parse")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", required=True, callback=http_url,
              help="The http(s) URL the page was fetched from (resolves links).")
@click.option("--encoding", default=None,
              help="Decode with this encoding instead of detecting it (e.g. gbk).")
@click.option("--profile", "profile_name", default=None,
              help="Site profile: a bundled name, a TOML path, or 'generic' for no site rules (default: the "
                   "bundled profile whose hosts hold the URL's host, else generic).")
@click.option("--section", default=None,
              help="The profile's section to read with (default: the one the URL belongs to).")
@click.option("--as", "as_", type=click.Choice(KINDS), default="auto", show_default=True,
              help="Read FILE as an article, as a list answer (rows and next request), or decide from the "
                   "profile and the page.")
def command(file: Path, url: str, encoding: str | None, profile_name: str, section: str | None,
            as_: str) -> None:
    """Print how the page saved in FILE reads, as JSON (UTF-8).

    An article: {"page": "article", title, published, source, body_text, images,
    attachments, ... , problems, flags}.  A list page or a list API's answer
    (JSON, Hanweb dataproxy XML): {"page": "list", section, family, page_index,
    page_count, rows: [{url, title, date}], next: {url, method, kind, form} or null, notes}.
    Both say the `profile` they were read with.
    """
    profile = _profile(profile_name, url)
    if encoding is not None:
        try:
            "".encode(encoding)
        except LookupError:
            raise click.BadParameter(f"unknown encoding {encoding!r}",
                                     param_hint="--encoding") from None
    try:
        body = file.read_bytes()
    except OSError as exc:
        raise Failed(f"cannot read {file}: {exc.strerror}") from None
    fields = read_saved(body, url, profile, as_=as_, section=section, encoding=encoding)
    # Echo bytes: the JSON must be UTF-8 whatever the terminal's locale.
    click.echo(json.dumps(fields, ensure_ascii=False, indent=2).encode("utf-8"))


def _profile(name: str | None, url: str) -> SiteProfile | None:
    """The profile named, or with no name the bundled one whose hosts hold the URL's host, else None (the
    generic rules).  The Tengzhou profile was the default for every URL: its article pattern hid the rows
    of any other portal's list, which then read as empty."""
    if name == "generic":
        return None
    if name is not None:
        return load_profile(name)
    for bundled in bundled_profile_names():
        profile = load_profile(bundled)
        if profile.on_site(url):
            return profile
    return None
