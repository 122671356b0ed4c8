"""What `portal-archive crawl` does once a crawl has ended: write the feed files, send the alerts.

Both are reports about the archive, not part of it: when one fails (a full
disk under --feeds-dir, a mail server that refuses us) the failure is
printed on stderr and appended to the crawl's log, counted, and the crawl's
exit code stays what the crawl earned.  The exit code says whether the
archive is complete; cron and systemd act on it, and a flaky webhook must
not make a good crawl look failed (nor hide a failed one).  See
docs/watch.md.
"""

from __future__ import annotations

import os
import re
import sqlite3
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from typing import TYPE_CHECKING

from archive.exits import ArchiveError
from archive.watch import NOTIFY_ON

if TYPE_CHECKING:  # imported when used: the crawl starts before any of this is needed
    from archive.watch.feeds import FeedLinks
    from archive.watch.notify import Delivery


# Targets are separated by white space, or by a comma that starts another URL: an apprise URL holds commas
# of its own (mailto://...?to=a@x,b@x), which a split at every comma cut into a broken target.
_TARGETS = re.compile(r"\s+|,(?=\s*[A-Za-z][A-Za-z0-9+.-]*://)")


def _split(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [target for part in _TARGETS.split(value) if part and (target := part.strip().strip(","))]
    return [str(part) for part in value if part]


@dataclass(frozen=True)
class WatchConfig:
    """Where alerts go and when, where feed files are written, and the public addresses they link to."""

    notify: tuple[str, ...] = ()
    notify_on: tuple[str, ...] = ("changes",)
    feeds_dir: Path | None = None
    ui_url: str = "http://127.0.0.1:8001/"
    replay_url: str | None = "http://127.0.0.1:8090/"

    @property
    def links(self) -> FeedLinks:
        from archive.watch.feeds import FeedLinks

        return FeedLinks(ui=self.ui_url, replay=self.replay_url or None)

    @classmethod
    def resolve(cls, settings: dict, *, notify: Sequence[str] = (), notify_on: Sequence[str] = (),
                feeds_dir: Path | None = None) -> "WatchConfig":
        """Command-line options first, then `-s NAME=VALUE` settings (removed from `settings`: Scrapy
        never sees them), then the environment (ARCHIVE_NOTIFY: $PORTAL_ARCHIVE_NOTIFY, read now), then
        the defaults of `crawler.options`.

        Raises ValueError for an unknown --notify-on value, or a UI or replay URL that is no http(s) URL.
        """
        from crawler.options import FROM_ENVIRONMENT, WATCH_SETTINGS, default
        from crawler.urls import http_url_problem

        given = {name: settings.pop(name) for name in WATCH_SETTINGS if name in settings}

        def value(name: str):
            if name in given:
                return given[name]
            return os.environ.get(FROM_ENVIRONMENT.get(name, ""), "") or default(name)

        urls = list(dict.fromkeys([*notify, *_split(value("ARCHIVE_NOTIFY"))]))
        when = tuple(notify_on) or tuple(_split(value("ARCHIVE_NOTIFY_ON")))
        unknown = [name for name in when if name not in NOTIFY_ON]
        if unknown:
            raise ValueError(f"--notify-on {', '.join(unknown)}: choose from {', '.join(NOTIFY_ON)}")
        folder = feeds_dir or value("ARCHIVE_FEEDS_DIR")
        for name in ("ARCHIVE_UI_URL", "ARCHIVE_REPLAY_URL"):  # they go into feeds and messages as links
            link = value(name)
            if link and (problem := http_url_problem(link)):
                raise ValueError(f"{name} {link!r} {problem}")
        return cls(notify=tuple(urls), notify_on=when or ("changes",), feeds_dir=Path(folder) if folder else None,
                   ui_url=value("ARCHIVE_UI_URL"), replay_url=value("ARCHIVE_REPLAY_URL"))


def _delivery() -> Delivery:
    from archive.watch.notify import Delivery

    return Delivery()


@dataclass
class AfterCrawl:
    """What happened after the crawl: feed files written, alerts sent or failed."""

    feeds: list[Path] = field(default_factory=list)
    feed_error: str | None = None
    notified: bool = False
    delivery: Delivery = field(default_factory=lambda: _delivery())

    def lines(self) -> list[str]:
        out = []
        if self.feeds:
            out.append(f"  feeds: {', '.join(str(path) for path in self.feeds)}")
        if self.feed_error:
            out.append(f"  feeds NOT written: {self.feed_error}")
        if self.notified:
            total = len(self.delivery.sent) + len(self.delivery.failed)
            out.append(f"  alerts: sent to {len(self.delivery.sent)} of {total} targets"
                       + "".join(f"\n    failed: {why}" for why in self.delivery.failed))
        return out


def write_feeds(catalogue, folder: Path, links: FeedLinks, newest: int | None = None) -> list[Path]:
    """changes.atom and changes.rss (the archive's newest changes) in `folder`, each replaced whole."""
    from archive.watch.feeds import FORMATS, NEWEST, build_feed
    from archive.watch.select import ChangeFilter, watched_changes

    newest = newest or NEWEST
    folder.mkdir(parents=True, exist_ok=True)
    items = list(watched_changes(catalogue, ChangeFilter(), newest=newest))
    written = []
    for fmt in FORMATS:
        target = folder / f"changes.{fmt}"
        handle, partial = tempfile.mkstemp(prefix=f".changes.{fmt}.", dir=folder)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(build_feed(items, links=links, fmt=fmt))
            os.chmod(partial, 0o644)  # for the web server
            os.replace(partial, target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        written.append(target)
    return written


def after_crawl(data: Path, crawl_id: str, *, status: str, failed: bool, reasons: Sequence[str],
                config: WatchConfig, log: Callable[[str], None], catalogue_url: str | None = None) -> AfterCrawl:
    """Write feeds and send alerts as `config` asks, from the catalogue at `catalogue_url` (the crawl's: None,
    the default one); never raises for a failure of either.

    `log` receives each line worth keeping in the crawl's log (no secrets).
    """
    from archive.catalogue import open_catalogue
    from archive.watch.notify import Summary, send, should_notify

    done = AfterCrawl()
    if not config.notify and config.feeds_dir is None:
        return done
    try:
        catalogue = open_catalogue(data, catalogue_url, readonly=True)
    except Exception:  # noqa: BLE001 - missing, unreadable, a backend down: alerts can still say how the crawl ended
        catalogue = None
    try:
        if config.feeds_dir is not None:
            try:
                if catalogue is None:
                    raise OSError(f"no readable catalogue for {data}")
                done.feeds = write_feeds(catalogue, config.feeds_dir, config.links)
                log(f"feeds written: {', '.join(map(str, done.feeds))}")
            except (OSError, sqlite3.Error, ArchiveError) as error:
                done.feed_error = f"{config.feeds_dir}: {getattr(error, 'strerror', None) or error}"
                log(f"feeds NOT written: {done.feed_error}")
        if config.notify:
            try:
                summary = Summary.of(catalogue, crawl_id, status=status, failed=failed, reasons=reasons,
                                     links=config.links)
            except (sqlite3.Error, ArchiveError) as error:  # a damaged catalogue: still say how the crawl ended
                log(f"alerts: cannot read the crawl's changes ({error}); sending the outcome only")
                summary = Summary.of(None, crawl_id, status=status, failed=failed,
                                     reasons=[*reasons, f"changes unreadable: {error}"], links=config.links)
            if should_notify(config.notify_on, summary):
                done.notified = True
                done.delivery = send(config.notify, summary)
                for target in done.delivery.sent:
                    log(f"alert sent to {target}")
                for why in done.delivery.failed:
                    log(f"alert FAILED: {why}")
    finally:
        if catalogue is not None:
            catalogue.close()
    return done
