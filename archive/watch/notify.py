"""Alerts after a crawl, sent through apprise (e-mail over SMTP, JSON webhooks, chat services...).

    summary = Summary.of(catalogue, crawl_id, status="ok", failed=False, links=links)
    if should_notify(("changes",), summary):
        delivery = send(urls, summary)       # never raises; delivery.failed counts the targets that failed

A target is an apprise URL: `mailtos://user:password@smtp.example.org?to=a@example.org`,
`json://user:password@hooks.example.org/path`, ...  Credentials in these
URLs never reach our output or logs: targets are shown as apprise's privacy
form (`mailtos://user:****@smtp.example.org`), apprise's own log records
are kept from the root logger and redacted before we repeat them, and every
error text is scrubbed of each URL's secret parts.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from archive.redact import hide
from archive.watch import NOTIFY_ON  # noqa: F401 - re-exported
from archive.watch import diff as diffs
from archive.watch.feeds import LABELS, FeedLinks
from archive.watch.select import ChangeFilter, WatchedChange, select, watch

MAX_LISTED = 50  # articles named in one message; the rest are counted
EXCERPT = 80  # characters of context around an edit in a message
SHOWN = 300  # at most this many characters of one title, title diff or body excerpt in a message
_SECRET_KEYS = {"pass", "password", "pw", "token", "apikey", "api_key", "key", "secret", "access_token", "webhook"}


@dataclass
class Summary:
    """What a crawl found, for a message."""

    crawl_id: str
    status: str  # ok | partial | failed
    failed: bool
    reasons: tuple[str, ...] = ()
    counts: dict[str, int] = field(default_factory=lambda: {kind: 0 for kind in LABELS})
    items: list[WatchedChange] = field(default_factory=list)  # the first MAX_LISTED changes
    flagged: dict[str, int] = field(default_factory=dict)  # integrity flag -> changed articles carrying it
    links: FeedLinks | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @classmethod
    def of(cls, catalogue, crawl_id: str, *, status: str, failed: bool, reasons: Sequence[str] = (),
           links: FeedLinks | None = None) -> "Summary":
        """Read the crawl's changes from `catalogue` (None when there is none)."""
        summary = cls(crawl_id, status, failed, tuple(reasons), links=links)
        if catalogue is None:
            return summary
        for change in select(catalogue, ChangeFilter(crawl=crawl_id)):
            summary.counts[change.change] += 1
            listed = len(summary.items) < MAX_LISTED
            item = watch(catalogue, change, diffs=listed)
            for flag in item.flags:
                summary.flagged[flag] = summary.flagged.get(flag, 0) + 1
            if listed:
                summary.items.append(item)
        return summary

    def title(self) -> str:
        counts = ", ".join(f"{n} {kind}" for kind, n in self.counts.items() if n) or "no changes"
        warning = " ⚠ " + ", ".join(sorted(self.flagged)) if self.flagged else ""
        if self.failed:
            return f"portal-archive: crawl {self.crawl_id} FAILED ({counts}){warning}"
        return f"portal-archive: {counts}{warning} (crawl {self.crawl_id})"

    def body(self) -> str:
        lines = [f"Crawl {self.crawl_id} {self.status}: {self.counts['new']} new, {self.counts['edited']} edited, "
                 f"{self.counts['withdrawn']} withdrawn, {self.counts.get('restored', 0)} restored."]
        lines += [f"  - {reason}" for reason in self.reasons]
        if self.flagged:
            lines.append("Integrity flags on changed articles (a hijacked or spammed page is news): "
                         + ", ".join(f"{n} × {flag}" for flag, n in sorted(self.flagged.items())))
        for item in self.items:
            lines += [""] + _describe(item, self.links)
        if self.total > len(self.items):
            lines += ["", f"… and {self.total - len(self.items)} more changes: portal-archive changes --crawl "
                          f"{self.crawl_id}"]
        if self.links is not None and self.total:
            lines += ["", f"Feed: {self.links.feed('atom', ChangeFilter(crawl=self.crawl_id))}"]
        return "\n".join(lines)


def _excerpt(diff: diffs.Diff) -> str:
    """The changed stretch of a diff with a little context, as «-…» «+…» marks."""
    text = diffs.marks(diff)
    first, last = text.find("«"), text.rfind("»")
    if first < 0:
        return ""
    start, end = max(0, first - EXCERPT // 2), min(len(text), last + 1 + EXCERPT // 2)
    return _clipped(("…" if start else "") + text[start:end].replace("\n", " ") + ("…" if end < len(text) else ""))


def _clipped(text: str) -> str:
    """`text` cut to SHOWN characters (a hijacked page's 10,000-character title must not fill the message),
    a mark left open by the cut closed."""
    text = text.replace("\n", " ")
    if len(text) <= SHOWN:
        return text
    cut = text[:SHOWN]
    return cut + ("…»" if cut.count("«") > cut.count("»") else "…")


def _describe(item: WatchedChange, links: FeedLinks | None) -> list[str]:
    change = item.change
    how = f" ({change.how})" if change.how else ""
    lines = [f"[{LABELS[change.change]}{how}] {_clipped(diffs.printable(item.title or change.url))}"]
    if item.flags:
        lines.append(f"  ⚠ integrity flags: {', '.join(item.flags)}")
    if change.changed_fields:
        lines.append(f"  changed: {', '.join(change.changed_fields)}")
    if item.title_diff:
        title = diffs.marks(item.title_diff)
        lines.append(f"  title: {title if len(title) <= SHOWN else _excerpt(item.title_diff)}")
    if item.body_diff and diffs.is_changed(item.body_diff):
        lines.append(f"  body: {_excerpt(item.body_diff)}")
    if links is not None:
        lines.append(f"  archive: {links.article(item)}")
        capture = links.capture(item)
        if capture:
            lines.append(f"  capture: {capture}")
    lines.append(f"  original: {diffs.printable(change.url)}")
    return lines


def should_notify(notify_on: Iterable[str], summary: Summary) -> bool:
    """`changes`: the crawl found changes; `failure`: the crawl failed; `always`: every crawl."""
    wanted = set(notify_on)
    return ("always" in wanted or ("changes" in wanted and summary.total > 0)
            or ("failure" in wanted and summary.failed))


# -- secrets -------------------------------------------------------------------------------------------


def _instantiate(url: str):
    import apprise

    try:
        return apprise.Apprise.instantiate(url, suppress_exceptions=True) or None
    except Exception:  # noqa: BLE001 - a bad URL is reported as such, whatever apprise raised
        return None


def shown(url: str) -> str:
    """A target as it may be printed: apprise's privacy form without the query, or only its scheme."""
    plugin = _instantiate(url)
    if plugin is not None:
        try:
            return plugin.url(privacy=True).split("?", 1)[0]
        except Exception:  # noqa: BLE001
            pass
    scheme = url.split("://", 1)[0] if "://" in url else "?"
    return f"{scheme[:20]}://…"


def secrets(url: str) -> set[str]:
    """The parts of `url` that must not be printed: password, secret query values, and every
    part apprise's privacy form leaves out (tokens in host or path)."""
    found = {url}
    try:
        parts = urlsplit(url)
        if parts.password:
            found |= {parts.password, unquote(parts.password)}
        found |= {value for key, value in parse_qsl(parts.query) if key.lower() in _SECRET_KEYS and value}
    except ValueError:
        pass
    plugin = _instantiate(url)
    public = plugin.url(privacy=True) if plugin is not None else ""
    for token in re.split(r"[/:@?&=#]+", url.split("://", 1)[-1]):
        if len(token) >= 4 and token not in public:
            found |= {token, unquote(token)}
    return {secret for secret in found if len(secret) >= 3}


def redact(text: str, urls: Iterable[str]) -> str:
    """`text` with every secret of the alert targets `urls` masked."""
    return hide(text, {secret for url in urls for secret in secrets(url)}, mask="****")


# -- sending -------------------------------------------------------------------------------------------


@dataclass
class Delivery:
    sent: list[str] = field(default_factory=list)  # targets, as `shown`
    failed: list[str] = field(default_factory=list)  # "target: why", redacted


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _within(seconds: float, call):
    """`call()`'s result, or None when it has not returned within `seconds`: it goes on in a daemon thread,
    which does not keep the process alive (a receiver answering a byte at a time kept the crawl from
    exiting for as long as it went on: the socket's timeout is per read)."""
    import threading

    result: list = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(call())
        except BaseException as error:  # noqa: BLE001 - raised again in the caller's thread
            failure.append(error)

    worker = threading.Thread(target=run, name="portal-archive-alert", daemon=True)
    worker.start()
    worker.join(seconds)
    if failure:
        raise failure[0]
    return result[0] if result else None


def send(urls: Sequence[str], summary: Summary, *, timeout: float = 30.0) -> Delivery:
    """Send the summary to each target; never raises.  Each failure says why, without secrets."""
    import apprise

    delivery = Delivery()
    logger = logging.getLogger("apprise")
    collect = _Collect()
    saved = logger.propagate, logger.level
    logger.propagate = False  # apprise's records stay out of the crawl log: we repeat them redacted
    logger.addHandler(collect)
    logger.setLevel(logging.WARNING)
    notify_type = apprise.NotifyType.WARNING if summary.failed or summary.flagged else apprise.NotifyType.INFO
    try:
        for url in urls:
            target = shown(url)
            collect.messages.clear()
            try:
                # No redirects: a webhook answering 301 had apprise send a GET without the message, "sent".
                sender = apprise.Apprise(asset=apprise.AppriseAsset(async_mode=False, http_redirects=False))
                if not sender.add(url):
                    delivery.failed.append(f"{target}: not a notification URL apprise knows")
                    continue
                for plugin in sender:
                    plugin.socket_connect_timeout = plugin.socket_read_timeout = timeout
                ok = _within(2 * timeout + 5, lambda: sender.notify(
                    title=summary.title(), body=summary.body(), notify_type=notify_type,
                    body_format=apprise.NotifyFormat.TEXT))
                if ok is None:
                    ok = False
                    collect.messages.append(f"no answer within {2 * timeout + 5:g} s (the receiver is still "
                                            "sending, or stuck)")
            except Exception as error:  # noqa: BLE001 - one bad target must not stop the others
                ok = False
                collect.messages.append(f"{type(error).__name__}: {error}")
            if ok:
                delivery.sent.append(target)
            else:
                why = "; ".join(dict.fromkeys(collect.messages)) or "the service did not accept it"
                delivery.failed.append(f"{target}: {redact(why, urls)}")
    finally:
        logger.removeHandler(collect)
        logger.propagate, _ = saved
        logger.setLevel(saved[1])
    return delivery
