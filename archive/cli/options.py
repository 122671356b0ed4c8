"""Options shared by several commands, defined once."""

from __future__ import annotations

from pathlib import Path

import click

data_option = click.option(
    "--data", type=click.Path(file_okay=False, path_type=Path), default=Path("data"), show_default=True,
    help="Data folder (warc/, items/, catalog.sqlite).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of text.")

# The largest --limit or --offset taken (the databases hold 64-bit integers; no archive holds more rows).
MOST = 10**12

STORE_ENV = "PORTAL_ARCHIVE_STORE"


def store_option(help: str):
    """--store URL (default $PORTAL_ARCHIVE_STORE): file:///PATH or s3://BUCKET/PREFIX; see docs/storage.md."""
    return click.option("--store", metavar="URL", envvar=STORE_ENV, show_envvar=True,
                        help=help + " A store is file:///PATH or s3://BUCKET/PREFIX (AWS_ENDPOINT_URL, "
                                    "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY); see docs/storage.md.")


def parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Accept YYYY-MM-DD (or a full ISO timestamp); give back an ISO string."""
    from archive.watch.select import iso_moment

    if value is None:
        return None
    try:
        return iso_moment(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _http_url(value: str) -> str:
    from crawler.urls import http_url_problem

    problem = http_url_problem(value.strip())
    if problem:
        raise click.BadParameter(f"{value!r} {problem}")
    return value.strip()


def http_url(ctx: click.Context, param: click.Parameter, value: str | tuple[str, ...] | None):
    """An http(s) URL with a host (and a port that is one), or several: a bad one is exit 2, never a traceback."""
    if value is None:
        return None
    if isinstance(value, tuple):
        return tuple(_http_url(one) for one in value)
    return _http_url(value)


TIMESTAMP_URL_ENV = "PORTAL_ARCHIVE_TIMESTAMP_URL"

sign_option = click.option(
    "--sign", is_flag=True,
    help="Sign the package with the archive's key (DATA/keys/signing-key.pem, made on first use; "
         "see portal-archive keys).")
signing_key_option = click.option(
    "--signing-key", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
    help="Sign with this ECDSA P-384 private key (PEM, mode 0600) instead of the archive's; implies --sign.")
signing_cert_option = click.option(
    "--signing-cert", type=click.Path(dir_okay=False, exists=True, path_type=Path), metavar="CHAIN.pem",
    help="Sign as a domain instead (the WACZ signature `wacz validate --verify-auth` checks): this certificate "
         "chain, leaf first up to its root, for the key given with --signing-key; needs --timestamp-url.")
timestamp_url_option = click.option(
    "--timestamp-url", metavar="URL", envvar=TIMESTAMP_URL_ENV,
    help=f"Add an RFC 3161 timestamp from this authority over the package digest "
         f"(default: ${TIMESTAMP_URL_ENV}; e.g. https://freetsa.org/tsr).")


def evidence_options(command):
    """--sign, --signing-key FILE, --signing-cert CHAIN.pem, --timestamp-url URL (export --format wacz)."""
    return sign_option(signing_key_option(signing_cert_option(timestamp_url_option(command))))


def watch_options(command):
    """--notify, --notify-on, --feeds-dir: what `crawl` (and `schedule`, for each crawl) does after a crawl."""
    from archive.watch import NOTIFY_ON

    options = [
        click.option("--notify", multiple=True, metavar="URL",
                     help="Send a summary of the crawl's changes to this apprise URL (mailtos://user:pass@host?to=..., "
                          "json://host/path, ...; repeatable; also $PORTAL_ARCHIVE_NOTIFY). See docs/watch.md."),
        click.option("--notify-on", multiple=True, type=click.Choice(NOTIFY_ON),
                     help="When to send: changes (the crawl found some; default), failure (the crawl failed), "
                          "always (every crawl). Repeatable."),
        click.option("--feeds-dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
                     help="After the crawl, write changes.atom and changes.rss here (for a static web server)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


QUEUE_ENV = "PORTAL_ARCHIVE_QUEUE"


def _check_queue(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from archive.exits import UsageProblem
    from archive.jobs import check_queue_url

    try:
        return check_queue_url(value)
    except UsageProblem as error:
        raise click.BadParameter(str(error)) from None


def queue_option(required: bool = True, help: str = "The job queue: redis://HOST:PORT/DB"):
    """--queue URL (default: $PORTAL_ARCHIVE_QUEUE)."""
    return click.option("--queue", "queue_url", metavar="URL", envvar=QUEUE_ENV, required=required,
                        callback=_check_queue, help=f"{help} (default: ${QUEUE_ENV}).")
