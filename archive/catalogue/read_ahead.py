"""Reading WARC files' events in a second process while this one folds them (reindex on two cores).

    with ReadAhead() as reader:
        for event in reader.events(path):   # the events of `events_from_file(path)`, in order
            catalogue.apply(event)

Parsing a file (inflating, WARC and HTTP heads, JSON payloads) costs about
as much as folding it; a worker process does it a file at a time and sends
the events in batches through a bounded queue (memory stays bounded: a few
batches in flight).  The events are exactly `events_from_file`'s, in file
order.  When the worker fails (a damaged file, a worker killed), this
process reads the file itself from the first event it did not get, so the
error raised is the one, at the event, a reading without the worker raises.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from archive.catalogue.events import Event
from archive.catalogue.warc_events import events_from_file

BATCH = 256  # events a message
DEPTH = 8  # messages in flight
_END, _FAILED = "end", "failed"


def _work(paths: Any, out: Any, batch: int, parent: int) -> None:
    """The worker: for each path it is given, its events in batches, then _END (or _FAILED)."""
    from archive.children import death_signal

    # Forked, the worker has the parent's Python signal handlers: a SIGTERM handler that raises would be
    # caught below and the worker would wait for the next file forever.  `close()`'s SIGTERM ends it;
    # Ctrl-C reaches the whole process group, and the parent, which handles it, closes the worker.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    dies_with_parent = death_signal(signal.SIGKILL)
    if dies_with_parent is not None:
        dies_with_parent()  # a reindex killed with -9 leaves no worker blocked on a full queue
    if os.getppid() != parent:
        return  # the parent died before the line above
    while (path := paths.get()) is not None:
        pending: list[Event] = []
        try:
            for event in events_from_file(Path(path)):
                pending.append(event)
                if len(pending) >= batch:
                    out.put(pending)
                    pending = []
            if pending:
                out.put(pending)
            out.put(_END)
        except BaseException:  # noqa: BLE001 - the caller reads the file again and raises it
            out.put(_FAILED)


def cores() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class ReadAhead:
    """A worker process reading the events of one WARC file after another (see the module docstring)."""

    def __init__(self, batch: int = BATCH, depth: int = DEPTH) -> None:
        self._batch, self._depth = batch, depth
        self._worker: Any = None

    def _start(self) -> None:
        # fork: the worker starts at once and needs nothing but this module (it never touches the catalogue).
        context = multiprocessing.get_context("fork")
        self._paths = context.Queue()
        self._out = context.Queue(maxsize=self._depth)
        self._worker = context.Process(target=_work, args=(self._paths, self._out, self._batch, os.getpid()),
                                       daemon=True,
                                       name="portal-archive-read-ahead")
        self._worker.start()

    def _next(self) -> Any:
        while True:
            try:
                return self._out.get(timeout=1.0)
            except queue.Empty:
                if not self._worker.is_alive():
                    return _FAILED

    def events(self, path: Path) -> Iterator[Event]:
        """The events of `path`, as `events_from_file(path)` gives them."""
        if self._worker is None:
            self._start()
        self._paths.put(str(path))
        given, finished = 0, False
        try:
            while (message := self._next()) != _END:
                if message == _FAILED:
                    self.close()  # started again for the next file
                    finished = True
                    yield from islice(events_from_file(path), given, None)
                    return
                for event in message:
                    given += 1
                    yield event
            finished = True
        finally:
            if not finished:  # the caller stopped early: what the worker still sends is of no use
                self.close()

    def close(self) -> None:
        worker, self._worker = self._worker, None
        if worker is None:
            return
        if worker.is_alive():
            worker.terminate()
        worker.join(5)
        if worker.is_alive():  # stopped (SIGSTOP) or stuck in the kernel: it must not outlive the reindex
            worker.kill()
            worker.join(5)
        for channel in (self._paths, self._out):
            channel.cancel_join_thread()
            channel.close()

    def __enter__(self) -> "ReadAhead":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
