"""A catalogue writer that outlives its database connection (a PostgreSQL restart under a running crawl).

The crawl folds its events in as it writes them and commits every few
seconds.  When the server goes away, the uncommitted events are lost with
the transaction; this keeps them (`unsaved`, a few seconds' worth), opens
the catalogue again with growing pauses for at most `wait` seconds, and
applies them again (the fold is idempotent, so an event that did reach the
catalogue changes nothing the second time).  Only then does it give up,
with `CatalogueLost` (the crawl stops, exit 3).

    writer = Reconnecting(lambda: open_catalogue(data, url), wait=120)
    writer.apply(event); writer.commit()
    writer.last_response(url)          # any other operation: as `read(lambda c: c.last_response(url))`

Only an unreachable database (`archive.exits.Unavailable`) is waited out;
any other catalogue error is raised at once.  The backend decides which is
which: PostgreSQL's errors are sorted by SQLSTATE in one place
(`archive.catalogue.postgres.archive_error`), so a server that is down or
restarting is waited for, but a full disk on it (53100) fails the crawl now.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from archive.catalogue.api import Catalogue
from archive.catalogue.events import Event
from archive.exits import Failed, Unavailable

logger = logging.getLogger(__name__)
T = TypeVar("T")


class CatalogueLost(Failed):
    """The catalogue stayed unreachable for longer than the crawl waits."""


class Reconnecting:
    """The catalogue (`catalogue`, or one `opener` opens), its uncommitted events kept for a replay after a reconnect.

    `opener` opens it again after the connection was lost."""

    def __init__(self, opener: Callable[[], Catalogue], wait: float = 120.0, *, catalogue: Catalogue | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic):
        self.opener = opener
        self.wait = wait
        self.sleep = sleep
        self.clock = clock
        self.catalogue: Catalogue = catalogue if catalogue is not None else opener()
        self.unsaved: list[Event] = []
        self.reconnects = 0

    def apply(self, event: Event) -> None:
        """Fold `event` in (kept until the next commit)."""
        self.unsaved.append(event)
        try:
            self.catalogue.apply(event)
        except Unavailable as error:
            self._reconnect(error)  # replays `unsaved`, this event included

    def commit(self) -> None:
        """Make everything applied durable; after a reconnect, the replayed events are committed."""
        while True:
            try:
                self.catalogue.commit()
                break
            except Unavailable as error:
                self._reconnect(error)
        self.unsaved.clear()

    def read(self, question: Callable[[Catalogue], T]) -> T:
        """Ask the catalogue something, reconnecting (and replaying) if the connection was lost."""
        while True:
            try:
                return question(self.catalogue)
            except Unavailable as error:
                self._reconnect(error)

    def __getattr__(self, name: str) -> Any:
        """Any other operation of the catalogue (its reads), through `read`: it survives a reconnect too."""
        if name.startswith("_"):
            raise AttributeError(name)
        operation = getattr(self.catalogue, name)
        if not callable(operation):
            return operation
        return lambda *args, **kwargs: self.read(lambda catalogue: getattr(catalogue, name)(*args, **kwargs))

    def rollback(self) -> None:
        """Drop what was applied since the last commit (it is not replayed either)."""
        self.unsaved.clear()
        self.catalogue.rollback()

    def close(self) -> None:
        self.catalogue.close()

    def _reconnect(self, error: BaseException) -> None:
        """Open the catalogue again and replay the unsaved events; CatalogueLost after `wait` seconds."""
        deadline = self.clock() + self.wait
        pause = 0.5
        logger.warning("Catalogue unreachable (%s); reconnecting for up to %.0f s, %d events to replay",
                       error, self.wait, len(self.unsaved))
        close_quietly(self.catalogue)
        while True:
            if self.clock() + pause > deadline:
                raise CatalogueLost(f"the catalogue stayed unreachable for {self.wait:.0f} s: {error}") from error
            self.sleep(pause)
            pause = min(pause * 2, 15.0)
            try:
                catalogue = self.opener()
            except Unavailable as again:
                error = again
                continue
            try:
                for event in self.unsaved:
                    catalogue.apply(event)
            except Unavailable as again:  # it went away again while we replayed
                close_quietly(catalogue)
                error = again
                continue
            self.catalogue = catalogue
            self.reconnects += 1
            logger.warning("Catalogue reachable again; %d events replayed", len(self.unsaved))
            return


def close_quietly(catalogue: Any) -> None:
    try:
        catalogue.close()
    except Exception:  # noqa: BLE001 - a connection that already broke
        pass
