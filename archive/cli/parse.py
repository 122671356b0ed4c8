"""`portal-archive parse FILE --url URL`: extract a saved article page and print its fields.

The page is decoded exactly as in a crawl (an HtmlResponse is built from the
bytes), so a page that parses wrongly here parses wrongly in the crawl too.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from crawler.pages.article import EXTRACTOR_VERSION, ArticlePage
from archive.exits import Failed
from crawler.profile import load_profile


@click.command(name="parse")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", required=True, help="The URL the page was fetched from (resolves links).")
@click.option("--encoding", default=None,
              help="Decode with this encoding instead of detecting it (e.g. gbk).")
@click.option("--profile", "profile_name", default="tengzhou", show_default=True,
              help="Site profile: a bundled name, a TOML path, or 'generic' for no site rules.")
def command(file: Path, url: str, encoding: str | None, profile_name: str) -> None:
    """Print the fields of the article saved in FILE as JSON (UTF-8)."""
    profile = None if profile_name == "generic" else load_profile(profile_name)
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
    page = ArticlePage.from_bytes(body, url, profile=profile, encoding=encoding)
    # Echo bytes: the JSON must be UTF-8 whatever the terminal's locale.
    fields = {**page.fields(), "extractor": EXTRACTOR_VERSION}
    click.echo(json.dumps(fields, ensure_ascii=False, indent=2).encode("utf-8"))
