"""Standard output that outlives its reader: `portal-archive crawl | head -3` still ends as the crawl ends.

When the program reading our output exits early (`head`, a pager quit, a
log shipper restarted), writes fail with EPIPE.  Left alone, that
BrokenPipeError ends the command wherever it happens to print: a crawl's
summary, before its alerts are sent and with exit 1 whatever the crawl's
outcome; a `verify` report, hiding its exit 7.  Instead, once the reader is
gone, further output is dropped and the command finishes with its own exit
code (README: exit codes).
"""

from __future__ import annotations

import io
import os
import sys


class _Forgiving(io.RawIOBase):
    """A file descriptor whose writes are dropped, not failed, once its reader has gone."""

    def __init__(self, fd: int):
        super().__init__()
        self.fd = fd
        self.gone = False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.fd

    def isatty(self) -> bool:
        return os.isatty(self.fd)

    def write(self, data) -> int:  # type: ignore[override]
        if self.gone:
            return len(data)
        try:
            return os.write(self.fd, data)
        except BrokenPipeError:
            self.gone = True
            return len(data)


def forgive_closed_stdout() -> None:
    """Make sys.stdout drop output after its reader exits; only for the process's own stdout (not a test's)."""
    stream = sys.stdout
    if stream is None or stream is not sys.__stdout__:
        return  # a test's captured output, or none at all
    if isinstance(getattr(getattr(stream, "buffer", None), "raw", None), _Forgiving):
        return  # done already
    try:
        fd = stream.fileno()
    except (OSError, ValueError, io.UnsupportedOperation):
        return
    stream.flush()
    wrapped = io.TextIOWrapper(io.BufferedWriter(_Forgiving(fd)), encoding=stream.encoding, errors=stream.errors,
                               line_buffering=stream.line_buffering)
    sys.stdout = sys.__stdout__ = wrapped
