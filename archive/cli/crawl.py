"""`portal-archive crawl`: run the section spider into a data folder (every section of the profile, or some)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from archive.cli.options import store_option, watch_options
from archive.exits import ExitCode, UsageProblem
from crawler.outcome import crawl_outcome
from crawler.recheck import POLICIES


def run_crawl(
    *,
    data: Path,
    replica: str | None = None,
    start_url: str | None = None,
    profile: str = "tengzhou",
    crawl_id: str | None = None,
    settings: dict | None = None,
    progress: float = 5.0,
    sections: tuple[str, ...] = (),
) -> dict:
    """Run one crawl in this process and return its stats (`sections`: those to walk, default all)."""
    from scrapy.crawler import CrawlerProcess

    from crawler.spiders.gongye import GongyeSpider, new_crawl_id, resumed_crawl_id

    # A crawl resumed from its JOBDIR keeps its id (and so its items file).
    crawl_id = crawl_id or resumed_crawl_id((settings or {}).get("JOBDIR")) or new_crawl_id()
    log_dir = data / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    conf = scrapy_settings(data, profile, settings, {
        "ARCHIVE_CRAWL_ID": crawl_id,
        "ARCHIVE_PROGRESS_INTERVAL": progress,
        "LOG_FILE": str(log_dir / f"{crawl_id}.log"),
        "LOG_FILE_APPEND": True,
    })
    process = CrawlerProcess(conf)
    one_line_when_the_log_fails(conf["LOG_FILE"])
    crawler = process.create_crawler(GongyeSpider)
    failures: list = []
    # A component that failed to open (already logged by it) is reported in the summary, not by Twisted as an
    # "Unhandled error in Deferred" on the terminal.
    process.crawl(crawler, replica=replica, start_url=start_url, sections=list(sections) or None).addErrback(
        failures.append)
    process.start()
    stats = dict(crawler.stats.get_stats())
    if failures:
        import logging

        error = failures[0].value
        logging.getLogger(__name__).error("The crawl could not run:\n%s", failures[0].getTraceback())
        stats.setdefault("archive/fatal", f"crawl: {type(error).__name__}: {error}")
    stats["archive/crawl_id"] = crawl_id
    stats["archive/log_file"] = conf["LOG_FILE"]
    return stats


def one_line_when_the_log_fails(path: str) -> None:
    """The crawl's log file failing (a full disk): one line on stderr, then nothing more is tried there.

    Python's logging would print a traceback, and the whole record (items,
    article text), on stderr for every line logged after: thousands of
    lines burying the crawl's summary and its one line saying what failed.
    """
    import logging
    import os

    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler) and handler.baseFilename == os.path.abspath(path):
            def handle_error(record: logging.LogRecord, handler: logging.FileHandler = handler) -> None:
                error = sys.exc_info()[1]
                handler.setLevel(logging.CRITICAL + 1)  # no further line is tried
                sys.stderr.write(f"Warning: the crawl's log {handler.baseFilename} cannot be written ({error}); "
                                 "its lines from here on are lost\n")

            handler.handleError = handle_error  # type: ignore[method-assign]


def scrapy_settings(data: Path, profile: str, settings: dict | None, extra: dict | None = None):
    """The crawl's Scrapy settings: the project's, then ours, then the user's (-s) on top."""
    from scrapy.settings import Settings

    conf = Settings()
    conf.setmodule("crawler.settings", priority="project")
    conf.setdict({"ARCHIVE_DATA_DIR": str(data), "ARCHIVE_PROFILE": profile, **(extra or {})}, priority="cmdline")
    conf.setdict(settings or {}, priority="cmdline")
    return conf


def preflight(data: Path, profile: str, replica: str | None, start_url: str | None, settings: dict,
              sections: tuple[str, ...] = ()) -> None:
    """Refuse, before anything starts, what would fail inside Scrapy: a bad profile, an unknown
    section, no contact for a real portal, a store URL of no known kind.  A store that does not answer
    is only a warning: the crawl goes on and its files wait in DATA/warc/."""
    from crawler.politeness import check_contact
    from crawler.spiders.gongye import select_profile

    if settings.get("ARCHIVE_STORE"):
        from archive.storage import StoreUnavailable, open_store

        store = open_store(settings["ARCHIVE_STORE"])
        try:
            store.check()
        except StoreUnavailable as error:
            click.echo(f"Warning: {error}; WARC files will wait in {data / 'warc'} until the store answers", err=True)

    site = select_profile(profile, replica, start_url, sections)
    for section in site.sections:
        check_contact(scrapy_settings(data, profile, settings), section.start_url)


def parse_setting(values: tuple[str, ...]) -> dict[str, str]:
    """-s NAME=VALUE, each value a setting can hold (crawler.options.value_problem), checked before anything starts."""
    from crawler.options import value_problem

    settings = {}
    for value in values:
        name, sep, setting = value.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {value!r}", param_hint="-s")
        problem = value_problem(name, setting)
        if problem:
            raise click.BadParameter(problem, param_hint=f"-s {name}")
        settings[name] = setting
    return settings


# Options that are settings too.  An option given on the command line wins over -s NAME=VALUE, which wins over
# the option's default: `-s ARCHIVE_FULL_LISTING=1` walks every list page, `-s ARCHIVE_DATA_DIR=X` is the
# folder locked, summarised and written.  (parameter: setting, and for a flag the setting's value when given)
OPTION_SETTINGS: dict[str, tuple[str, object]] = {
    "data": ("ARCHIVE_DATA_DIR", None),
    "profile": ("ARCHIVE_PROFILE", None),
    "crawl_id": ("ARCHIVE_CRAWL_ID", None),
    "full": ("ARCHIVE_FULL_LISTING", True),
    "recheck": ("ARCHIVE_RECHECK", None),
    "jobdir": ("JOBDIR", None),
    "store": ("ARCHIVE_STORE", None),
    "no_media": ("ARCHIVE_MEDIA_ENABLED", False),
    "media_files": ("ARCHIVE_MEDIA_FILES", True),
    "no_warc": ("ARCHIVE_WARC_ENABLED", False),
}


def merge_options(ctx: click.Context, values: dict, settings: dict) -> dict:
    """The options' values with -s settings folded in (see OPTION_SETTINGS); `settings` gets the options given."""
    from click.core import ParameterSource
    from scrapy.settings import BaseSettings

    out = dict(values)
    for param, (name, flag_value) in OPTION_SETTINGS.items():
        given = ctx.get_parameter_source(param) not in (None, ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)
        if given and values[param] not in (None, False):
            settings[name] = flag_value if flag_value is not None else str(values[param])
        elif name in settings:
            raw = settings[name]
            if flag_value is not None:  # a flag: is the setting what the flag would set?
                out[param] = BaseSettings({name: raw}).getbool(name) == flag_value
            elif param == "data":
                out[param] = Path(raw)
            else:
                out[param] = raw or None
    if out["recheck"] not in POLICIES:
        raise click.BadParameter(f"{out['recheck']!r} is not one of {', '.join(POLICIES)}",
                                 param_hint="-s ARCHIVE_RECHECK")
    return out


def print_summary(stats: dict, elapsed: float, data: Path, catalogue_url: str | None = None) -> None:
    get = stats.get
    outcome = crawl_outcome(stats)
    warcs = sorted((data / "warc").glob("*.warc.gz"))
    click.echo(
        f"\nCrawl {get('archive/crawl_id')} {outcome.label} in {elapsed:.1f}s: "
        f"{get('archive/items_written', 0)} articles, {get('archive/images', 0)} images, "
        f"{get('archive/attachments', 0)} attachments, {get('archive/list_pages', 0)} list pages, "
        f"{get('response_received_count', 0)} responses."
    )
    changes = _changes(data, catalogue_url, str(get("archive/crawl_id")))
    if changes is not None:
        click.echo(f"  changes: {changes['new']} new, {changes['edited']} edited, {changes['withdrawn']} withdrawn, "
                   f"{changes['restored']} restored")
    problems = sum(v for k, v in stats.items() if k.startswith("archive/problems/"))
    click.echo(f"  problems: {problems} parse, {get('archive/images_failed', 0) + get('archive/attachments_failed', 0)} media")
    for reason in outcome.reasons:
        click.echo(f"  - {reason}")
    flags = {k.rsplit("/", 1)[1]: v for k, v in stats.items() if k.startswith("archive/flags/")}
    if flags:
        click.echo("  integrity flags (kept as captured): "
                   + ", ".join(f"{n} × {flag.replace('_', ' ')}" for flag, n in sorted(flags.items())))
    click.echo(f"  items: {data / 'items' / (str(get('archive/crawl_id')) + '.jsonl')}")
    click.echo(f"  WARC:  {data / 'warc'} ({len(warcs)} files)")
    if get("archive/store_url"):
        click.echo(f"  store: {get('archive/store_url')} ({get('archive/store_objects', 0)} objects stored, "
                   f"{get('archive/store_pending', 0)} WARC files waiting in the data folder)")
    click.echo(f"  log:   {get('archive/log_file')}")


def _changes(data: Path, catalogue_url: str | None, crawl_id: str) -> dict[str, int] | None:
    """The crawl's new, edited, withdrawn and restored articles as the catalogue folded them; None if it cannot be read
    (the crawl's own outcome says why)."""
    from archive.catalogue import open_catalogue

    try:
        with open_catalogue(data, catalogue_url, readonly=True) as catalogue:
            return catalogue.crawl_changes(crawl_id)
    except Exception:  # noqa: BLE001 - a summary line, never the crawl's exit code
        return None


@click.command()
@click.option("--replica", metavar="URL", help="Crawl the replica at this base URL (e.g. http://127.0.0.1:8000).")
@click.option("--url", "start_url", metavar="URL", help="Start from this list page instead of the profile's.")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), default=Path("data"), show_default=True,
              help="Data folder (warc/, items/, logs/).")
@click.option("--profile", default="tengzhou", show_default=True, help="Site profile name or TOML path.")
@click.option("--section", "sections", multiple=True, metavar="NAME",
              help="Crawl only this section of the profile (repeatable; default: every section).")
@click.option("--crawl-id", help="Crawl id (default: made from the start time).")
@click.option("--full", is_flag=True, help="Walk every list page (default: stop after pages of known articles).")
@click.option("--recheck", type=click.Choice(POLICIES), default="policy", show_default=True,
              help="Which known articles to fetch again (conditionally).")
@click.option("--jobdir", type=click.Path(file_okay=False), help="Keep crawl state here so a stopped crawl can resume.")
@click.option("--no-media", is_flag=True, help="Do not fetch images and attachments.")
@click.option("--media-files", is_flag=True, help="Also store media as plain files under DATA/media/.")
@click.option("--no-warc", is_flag=True, help="Do not write WARC files (testing only: the archive loses its evidence).")
@click.option("--quiet", is_flag=True, help="No progress lines; only the summary.")
@store_option("Upload each finished WARC file, its CDXJ index and the items here (ARCHIVE_STORE); a file leaves "
              "DATA/warc/ once stored, checked by digest and in the catalogue.")
@click.option("-s", "--set", "extra", multiple=True, metavar="NAME=VALUE", help="Extra Scrapy setting (repeatable).")
@watch_options
def command(replica, start_url, data, profile, sections, crawl_id, full, recheck, jobdir, no_media, media_files,
            no_warc, quiet, store, extra, notify, notify_on, feeds_dir) -> None:
    """Crawl the profile's sections into DATA: WARC files, JSONL items, a log.

    By default it crawls every section of the profile (--section NAME for
    some), on the real portal, politely, and incrementally: list pages until
    they hold only known articles, then the known articles due for a
    recheck.  WARC files are named by the profile's warc_prefix.  A real
    portal is crawled only with a contact for its owners
    (PORTAL_ARCHIVE_CONTACT, or --set ARCHIVE_CONTACT=...).
    With --store, finished WARC files go to the store while the crawl goes
    on; files the store did not take (it was down) wait in DATA/warc/ for
    the next crawl, and the crawl exits 1.

    Exit codes: 0 all archived, 1 finished with problems (files not stored
    yet included), 2 bad usage, 3 failed (a write error included), 4
    another crawl is using DATA.
    """
    settings = parse_setting(extra)
    # What is checked here, locked, crawled and summarised is the same whether given as an option or with -s.
    values = merge_options(click.get_current_context(), {
        "data": data, "profile": profile, "crawl_id": crawl_id, "full": full, "recheck": recheck, "jobdir": jobdir,
        "store": store, "no_media": no_media, "media_files": media_files, "no_warc": no_warc}, settings)
    data, profile, crawl_id = values["data"], values["profile"], values["crawl_id"]
    sections = sections or tuple(name.strip() for name in (settings.get("ARCHIVE_SECTIONS") or "").split(",")
                                 if name.strip())
    watch = watch_config(settings, notify, notify_on, feeds_dir)
    settings.pop("ARCHIVE_DATA_DIR", None)  # `data` is passed on as itself
    settings.pop("ARCHIVE_CRAWL_ID", None)  # and so is the crawl id (it names the log file)
    from archive.lock import DataLock

    preflight(data, profile, replica, start_url, settings, sections)  # here, in plain words, rather than in Scrapy
    from archive.catalogue import backend, open_catalogue

    catalogue_url = settings.get("ARCHIVE_CATALOGUE") or None  # -s ARCHIVE_CATALOGUE=URL, else --catalogue's
    try:
        backend(data, catalogue_url)  # a URL no backend can use: bad usage, before the folder is made or locked
    except UsageProblem as error:
        raise click.BadParameter(str(error), param_hint="-s ARCHIVE_CATALOGUE") from None
    started = time.monotonic()
    with DataLock(data):
        # A catalogue that cannot be opened (damaged, of another layout, its server away) is one clear error
        # and its exit code here, before Scrapy starts; the crawl settles what a dead crawl left, in its log.
        open_catalogue(data, catalogue_url).close()
        stats = run_crawl(
            data=data, replica=replica, start_url=start_url, profile=profile, crawl_id=crawl_id,
            settings=settings, progress=0 if quiet else 5.0, sections=sections,
        )
    print_summary(stats, time.monotonic() - started, data, catalogue_url)
    outcome = crawl_outcome(stats)
    report_after_crawl(data, stats, outcome, watch, catalogue_url)
    sys.exit(outcome.code)


def watch_config(settings: dict, notify, notify_on, feeds_dir):
    """Alert and feed options (taken out of `settings`: they are not Scrapy's business)."""
    from archive.watch.after_crawl import WatchConfig

    try:
        return WatchConfig.resolve(settings, notify=notify, notify_on=notify_on, feeds_dir=feeds_dir)
    except ValueError as error:
        raise click.BadParameter(str(error)) from error


def report_after_crawl(data: Path, stats: dict, outcome, watch, catalogue_url: str | None = None) -> None:
    """Feeds and alerts (archive.watch.after_crawl) from the catalogue the crawl wrote: printed, logged, never a
    change of exit code."""
    from archive.watch.after_crawl import after_crawl

    log_file = stats.get("archive/log_file")

    def log(line: str) -> None:
        if log_file:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            with open(log_file, "a", encoding="utf-8") as out:
                out.write(f"{stamp} [portal-archive.watch] INFO: {line}\n")

    done = after_crawl(data, str(stats.get("archive/crawl_id")), status=outcome.label,
                       failed=outcome.code == ExitCode.FAILED, reasons=outcome.reasons, config=watch, log=log,
                       catalogue_url=catalogue_url)
    for line in done.lines():
        click.echo(line)
    if done.feed_error or done.delivery.failed:
        click.echo(f"Warning: {len(done.delivery.failed)} alert(s) failed"
                   + (", feeds not written" if done.feed_error else "") + "; the crawl's exit code is unchanged.",
                   err=True)
