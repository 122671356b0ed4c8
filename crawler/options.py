"""Our own settings: one place for each name, its default and a line of help.

`scrapy` settings we merely set are in `crawler/settings.py`; the ones below
are ours.  A test checks that each is documented in the README.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Option:
    name: str
    default: Any
    help: str


# Options whose unset value is taken from an environment variable when the crawl starts.
FROM_ENVIRONMENT = {"ARCHIVE_OPERATOR": "PORTAL_ARCHIVE_OPERATOR", "ARCHIVE_CONTACT": "PORTAL_ARCHIVE_CONTACT",
                    "ARCHIVE_CATALOGUE": "PORTAL_ARCHIVE_CATALOGUE",
                    "ARCHIVE_TIMESTAMP_URL": "PORTAL_ARCHIVE_TIMESTAMP_URL",
                    "ARCHIVE_NOTIFY": "PORTAL_ARCHIVE_NOTIFY", "ARCHIVE_STORE": "PORTAL_ARCHIVE_STORE"}

SETTINGS: tuple[Option, ...] = (
    Option("ARCHIVE_DATA_DIR", "data", "Folder holding warc/, items/, media/ and the catalogue."),
    Option("ARCHIVE_PROFILE", "tengzhou", "Site profile name or path to a profile TOML file."),
    Option("ARCHIVE_SECTIONS", None,
           "Sections of the profile to crawl, by name (a list, or names separated by commas); unset: all of them."),
    Option("ARCHIVE_CRAWL_ID", None, "Crawl id; one is made from the start time when unset."),
    Option("ARCHIVE_WARC_ENABLED", True, "Write every HTTP exchange to WARC files."),
    Option("ARCHIVE_WARC_WRITER", "archive.warc.writer.WarcWriter",
           "Class that writes WARC records (a subclass can add storage or inject faults)."),
    Option("ARCHIVE_WARC_PREFIX", None,
           "First part of every WARC file name; unset: the profile's warc_prefix (its name in capitals)."),
    Option("ARCHIVE_WARC_MAX_SIZE", 1_000_000_000, "Rotate to a new WARC file past this many bytes."),
    Option("ARCHIVE_WARC_COMPRESSLEVEL", 6, "gzip level of WARC records (1 fastest, 9 smallest)."),
    Option("ARCHIVE_MEDIA_ENABLED", True, "Fetch and archive each article's images and attachments."),
    Option("ARCHIVE_MEDIA_FILES", False, "Also store media as plain files under DATA/media/, named by digest."),
    Option("ARCHIVE_OPERATOR", None, "Who runs the crawl; written to every warcinfo record."),
    Option("ARCHIVE_CONTACT", None,
           "Contact URL or e-mail put in the user agent, so site owners can reach you; a crawl of a real "
           "(non-loopback) portal refuses to start without one."),
    Option("ARCHIVE_CATALOGUE", None,
           "Catalogue URL (sqlite:///PATH, or postgresql://...); unset: $PORTAL_ARCHIVE_CATALOGUE, else "
           "DATA/catalog.sqlite."),
    Option("ARCHIVE_STORE", None,
           "Store for finished WARC files, their CDXJ indexes and the JSONL items: file:///PATH or "
           "s3://BUCKET/PREFIX (endpoint and keys from AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY). "
           "A WARC file leaves DATA/warc/ once stored, checked by digest and in the catalogue. Unset: files stay "
           "in DATA/warc/ (docs/storage.md)."),
    Option("ARCHIVE_STORE_WAIT", 60,
           "Seconds a crawl waits at its end for uploads still failing; files not stored by then stay in "
           "DATA/warc/ for the next crawl or `portal-archive upload`, and the crawl exits 1."),
    Option("ARCHIVE_STORE_RETRY_MAX", 60, "Longest pause, in seconds, between retries of a failed upload "
           "(1 s, then doubling)."),
    Option("ARCHIVE_CATALOGUE_WAIT", 120,
           "Seconds a crawl waits for a catalogue that went away (a database restart), reconnecting and replaying "
           "what it had not committed, before it stops (exit 3)."),
    Option("ARCHIVE_FULL_LISTING", False, "Walk every list page, even when the newest ones hold only known articles."),
    Option("ARCHIVE_KNOWN_PAGES_STOP", 2, "Stop paging after this many list pages in a row with only known articles."),
    Option("ARCHIVE_RECHECK", "policy", "Which known articles to recheck: policy, all or none."),
    Option("ARCHIVE_RECHECK_RECENT_DAYS", 30, "Articles published within this many days are rechecked on every run."),
    Option("ARCHIVE_RECHECK_EVERY_DAYS", 30, "Older articles are rechecked once their last check is this many days old."),
    Option("ARCHIVE_MAX_LIST_PAGES", 5000, "Never walk more list pages than this (a guard against pagination traps)."),
    Option("ARCHIVE_RETRY_AFTER_MAX", 30, "Longest wait, in seconds, that a 429 or 503's Retry-After (seconds or a "
           "date) can ask for; the whole site waits, not only the refused request."),
    Option("ARCHIVE_TRACKING_PARAMS", ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
                                       "from", "spm", "isappinstalled", "share_token", "timestamp"],
           "Query parameters dropped from article URLs (tracking; they make duplicates)."),
    Option("ARCHIVE_PROGRESS_INTERVAL", 0, "Seconds between progress lines on stderr (0: none)."),
    Option("ARCHIVE_LOOPBACK_UNTHROTTLED", True, "Lift delay and throttle when the target is a loopback host."),
    Option("ARCHIVE_TIMESTAMP_URL", None,
           "RFC 3161 timestamp authority: at the end of each crawl its WARC files' SHA-256 list "
           "(warc/CRAWL.sha256) is timestamped (warc/CRAWL.sha256.tsr). Unset: no attestation."),
    # Watching (archive/watch/, docs/watch.md): read by `portal-archive crawl` after the crawl, never sent to Scrapy.
    Option("ARCHIVE_NOTIFY", None, "Apprise URLs to alert after a crawl (mailtos://, json://...); space-separated."),
    Option("ARCHIVE_NOTIFY_ON", ["changes"], "When to alert: changes (the crawl found some), failure, always."),
    Option("ARCHIVE_FEEDS_DIR", None, "Write changes.atom and changes.rss here after each crawl (for a static server)."),
    Option("ARCHIVE_UI_URL", "http://127.0.0.1:8001/", "Public address of `serve`'s UI, for links in feeds and alerts."),
    Option("ARCHIVE_REPLAY_URL", "http://127.0.0.1:8090/", "Public address of pywb replay, for links in feeds and alerts."),
)

@dataclass(frozen=True)
class Number:
    """What a setting read as a number may be: `kind` (int or float), at least `least` (more than it, if
    `strict`), at most `most`."""

    kind: type
    least: float = 0
    strict: bool = False
    most: float | None = None


# The settings a crawl reads as numbers, Scrapy's (politeness above all) and ours.  A value Scrapy cannot
# read stopped the crawl inside Scrapy (exit 3, or a traceback); a concurrency of 0 hung it for ever.
NUMBERS: dict[str, Number] = {
    "DOWNLOAD_DELAY": Number(float), "CONCURRENT_REQUESTS": Number(int, 1), "CONCURRENT_ITEMS": Number(int, 1),
    "CONCURRENT_REQUESTS_PER_DOMAIN": Number(int, 1), "CONCURRENT_REQUESTS_PER_IP": Number(int),
    "AUTOTHROTTLE_START_DELAY": Number(float), "AUTOTHROTTLE_MAX_DELAY": Number(float),
    "AUTOTHROTTLE_TARGET_CONCURRENCY": Number(float, 0, strict=True), "RETRY_TIMES": Number(int),
    "DOWNLOAD_TIMEOUT": Number(float, 0, strict=True), "DOWNLOAD_MAXSIZE": Number(int),
    "DOWNLOAD_WARNSIZE": Number(int), "REDIRECT_MAX_TIMES": Number(int),
    "ARCHIVE_WARC_MAX_SIZE": Number(int, 1), "ARCHIVE_WARC_COMPRESSLEVEL": Number(int, 0, most=9),
    "ARCHIVE_STORE_WAIT": Number(float), "ARCHIVE_STORE_RETRY_MAX": Number(float),
    "ARCHIVE_CATALOGUE_WAIT": Number(float), "ARCHIVE_KNOWN_PAGES_STOP": Number(int, 1),
    "ARCHIVE_RECHECK_RECENT_DAYS": Number(int), "ARCHIVE_RECHECK_EVERY_DAYS": Number(int),
    "ARCHIVE_MAX_LIST_PAGES": Number(int, 1), "ARCHIVE_RETRY_AFTER_MAX": Number(float),
    "ARCHIVE_PROGRESS_INTERVAL": Number(float),
}
SWITCHES = ("ROBOTSTXT_OBEY", "AUTOTHROTTLE_ENABLED", "RETRY_ENABLED", "RANDOMIZE_DOWNLOAD_DELAY", "COOKIES_ENABLED",
            "DOWNLOAD_FAIL_ON_DATALOSS", "ARCHIVE_WARC_ENABLED", "ARCHIVE_MEDIA_ENABLED", "ARCHIVE_MEDIA_FILES",
            "ARCHIVE_FULL_LISTING", "ARCHIVE_LOOPBACK_UNTHROTTLED")


def value_problem(name: str, value: Any) -> str | None:
    """Why `value` (as given with -s NAME=VALUE) is no value for the setting `name`, or None."""
    if name in SWITCHES:
        if str(value) not in ("0", "1", "True", "true", "False", "false"):
            return f"{value!r} is not a switch: use 1 or 0, True or False"
        return None
    number = NUMBERS.get(name)
    if number is None:
        return None
    try:
        read = number.kind(value)
    except (TypeError, ValueError):
        return f"{value!r} is not {'a whole number' if number.kind is int else 'a number'}"
    if read != read or read in (float("inf"), float("-inf")):  # nan, inf: a float() that reads but never compares
        return f"{value!r} is not a finite number"
    if read < number.least or (number.strict and read == number.least):
        return f"{value!r} is too small: {name} must be {'more than' if number.strict else 'at least'} {number.least:g}"
    if number.most is not None and read > number.most:
        return f"{value!r} is too large: {name} must be at most {number.most:g}"
    return None


WATCH_SETTINGS = ("ARCHIVE_NOTIFY", "ARCHIVE_NOTIFY_ON", "ARCHIVE_FEEDS_DIR", "ARCHIVE_UI_URL", "ARCHIVE_REPLAY_URL")


def default(name: str) -> Any:
    """The default value of one option."""
    return next(o.default for o in SETTINGS if o.name == name)


def defaults() -> dict[str, Any]:
    """The default value of every option, for `crawler/settings.py`.

    Options read from the environment (`FROM_ENVIRONMENT`) are resolved when
    a crawl starts (`crawler.politeness`), not here at import.  The watch
    settings stay out: the crawl never needs them, and alert URLs carry
    credentials that have no business in Scrapy's settings.
    """
    return {o.name: o.default for o in SETTINGS if o.name not in WATCH_SETTINGS}


def markdown_table() -> str:
    """The settings table of the README (a test keeps the two equal)."""
    lines = ["| setting | default | meaning |", "|---|---|---|"]
    for option in SETTINGS:
        default = f"`{option.default!r}`"
        if option.name in FROM_ENVIRONMENT:
            default = f"`${FROM_ENVIRONMENT[option.name]}`"
        lines.append(f"| `{option.name}` | {default} | {option.help} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
