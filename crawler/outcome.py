"""How a crawl ended, as an exit code cron and systemd can act on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archive.exits import ExitCode

OK = ExitCode.OK
PARTIAL = ExitCode.PROBLEMS
FAILED = ExitCode.FAILED


@dataclass(frozen=True)
class Outcome:
    code: int
    label: str
    reasons: tuple[str, ...]


def stopped(reason: str | None) -> str:
    """Why a crawl that did not finish stopped.  No reason at all: Scrapy never closed the spider (a second
    SIGTERM or Ctrl+C forces the reactor down), so what it fetched last is not all folded or closed yet."""
    if reason is None:
        return ("crawl forced to stop before it could close (a second stop signal): the next crawl recovers its "
                "unfinished WARC file and folds what the catalogue missed")
    return f"crawl stopped: {reason}"


def crawl_outcome(stats: dict[str, Any]) -> Outcome:
    """Success, partial success or failure, with the reasons."""
    reason = stats.get("finish_reason")
    fatal = stats.get("archive/fatal")
    if fatal or reason != "finished":
        return Outcome(FAILED, "failed", (fatal or stopped(reason),))
    if not stats.get("archive/list_pages") and not stats.get("archive/resumed"):
        # With the why, when the crawl knows it (a robots.txt that could not be read disallows the site).
        unreachable = stats.get("archive/problems/robots_txt_unreachable")
        why = (f"{unreachable} × robots txt unreachable",) if unreachable else ()
        return Outcome(FAILED, "failed", ("no list page could be read", *why))
    problems = []
    for key, value in sorted(stats.items()):
        if key.startswith("archive/problems/"):
            problems.append(f"{value} × {key.rsplit('/', 1)[1].replace('_', ' ')}")
    for key in ("archive/images_failed", "archive/attachments_failed", "archive/items_without_record",
                "archive/articles_not_delivered"):
        if stats.get(key):
            problems.append(f"{stats[key]} × {key.split('/', 1)[1].replace('_', ' ')}")
    dropped = stats.get("archive/articles_asked", 0) - stats.get("archive/articles_answered", 0)
    if dropped > 0:  # requested, never parsed nor failed: dropped on the way (the log names them)
        problems.append(f"{dropped} × article dropped unanswered")
    # Scrapy counts each exception twice: by its type, and in spider_exceptions/count.
    errors = stats.get("spider_exceptions/count") or sum(
        v for k, v in stats.items() if k.startswith("spider_exceptions/") and k != "spider_exceptions/count")
    if errors:
        problems.append(f"{errors} × parse error")
    if stats.get("retry/max_reached"):
        problems.append(f"{stats['retry/max_reached']} × gave up after retries")
    if stats.get("archive/store_pending") or stats.get("archive/store_pending_other"):
        # Nothing is lost (the files wait in the data folder), but the archive is not where it belongs yet.
        problems.append(f"{stats.get('archive/store_pending', 0)} WARC files and {stats.get('archive/store_pending_other', 0)}"
                        f" other files not stored in {stats.get('archive/store_url')}: they wait in the data folder "
                        f"for the next crawl or `portal-archive upload` (last error: {stats.get('archive/store_error')})")
    if problems:
        return Outcome(PARTIAL, "partial", tuple(problems))
    return Outcome(OK, "ok", ())
