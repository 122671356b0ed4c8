"""The one table of exit codes, shared by every command, and the errors that carry them.

Library code raises a subclass of `ArchiveError` (or of one of the kinds
below) that says why; only the CLI turns it into a message and an exit code
(`archive.cli.main`), so a code means the same thing whichever command
returns it.  Cron and systemd can act on the code alone:

    0  OK            finished; everything asked for was done
    1  PROBLEMS      finished, but with problems (a partial crawl, a verify that found faults)
    2  USAGE         bad usage: unknown flag, bad value, missing folder, placeholder contact
    3  FAILED        stopped before the end: a write error, no list page readable, output not written
    4  BUSY          another crawl holds the data folder's lock
    5  NOT_FOUND     nothing to act on: no such article or version, an empty selection
    6  NO_CATALOGUE  the catalogue is missing, unreadable, of an older layout, or has no search index
    7  DAMAGED       archive files do not match what refers to them (a WARC record or digest)
    8  UNAVAILABLE   a service or program is unreachable or missing (PostgreSQL, Redis, S3, pywb)
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    PROBLEMS = 1
    USAGE = 2
    FAILED = 3
    BUSY = 4
    NOT_FOUND = 5
    NO_CATALOGUE = 6
    DAMAGED = 7
    UNAVAILABLE = 8


MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "finished; everything asked for was done",
    ExitCode.PROBLEMS: "finished with problems (pages without title or date, failed media, requests given up "
                       "after retries, a listed article or list page that gave no page to archive: a download "
                       "error, a redirect loop, an answer too large or that does not decode, an HTTP error; "
                       "verify found faults)",
    ExitCode.USAGE: "bad usage (unknown flag, bad value, missing folder, placeholder contact for a real portal)",
    ExitCode.FAILED: "failed (a write error on WARC, JSONL or catalogue, no list page readable, crawl stopped "
                     "before the end, output not written)",
    ExitCode.BUSY: "another crawl holds the data folder's lock",
    ExitCode.NOT_FOUND: "nothing to act on (no such article or version, an empty selection)",
    ExitCode.NO_CATALOGUE: "the catalogue is missing, unreadable or of an older layout (run `portal-archive "
                           "reindex`; layout 2 is upgraded in place by any command that may write it)",
    ExitCode.DAMAGED: "archive files do not match what refers to them (a missing or corrupt WARC record, a "
                      "digest mismatch)",
    ExitCode.UNAVAILABLE: "a service or program is unreachable or missing (PostgreSQL, Redis, S3, pywb)",
}


class ArchiveError(Exception):
    """Base of every error a command reports; `exit_code` says which row of the table."""

    exit_code: ExitCode = ExitCode.FAILED


class UsageProblem(ArchiveError):
    exit_code = ExitCode.USAGE


class Failed(ArchiveError):
    exit_code = ExitCode.FAILED


class Busy(ArchiveError):
    exit_code = ExitCode.BUSY


class NotFound(ArchiveError):
    exit_code = ExitCode.NOT_FOUND


class NoCatalogue(ArchiveError):
    exit_code = ExitCode.NO_CATALOGUE


class Damaged(ArchiveError):
    exit_code = ExitCode.DAMAGED


class Unavailable(ArchiveError):
    exit_code = ExitCode.UNAVAILABLE


def markdown_table() -> str:
    """The README's exit-code table (a test keeps the two equal)."""
    lines = ["| code | meaning |", "|---|---|"]
    lines += [f"| {code.value} | {MEANINGS[code]} |" for code in ExitCode]
    return "\n".join(lines)
