"""One crawl at a time per data folder: an flock on DATA/.lock.

Re-entrant within a process (the CLI takes it, then the crawl's pipeline
takes it again), exclusive between processes; the kernel drops it when the
holder dies, so a kill -9 never leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from archive.exits import Busy

_held: dict[str, tuple[int, int]] = {}  # resolved path -> (fd, depth)


class DataFolderBusy(Busy):
    """Another process is crawling into this data folder."""


class DataLock:
    def __init__(self, data: Path):
        self.path = str((Path(data) / ".lock").resolve())

    def acquire(self) -> None:
        if self.path in _held:
            fd, depth = _held[self.path]
            _held[self.path] = (fd, depth + 1)
            return
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise DataFolderBusy(f"{Path(self.path).parent} is in use by {holder}; try again when it has finished") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}\n".encode(), 0)
        _held[self.path] = (fd, 1)

    def release(self) -> None:
        fd, depth = _held.get(self.path, (-1, 0))
        if depth > 1:
            _held[self.path] = (fd, depth - 1)
        elif depth == 1:
            del _held[self.path]
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> "DataLock":
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def held(data: Path) -> bool:
    """Whether a process (a crawl, a reindex) holds DATA's lock now; the lock file is never created here."""
    path = (Path(data) / ".lock").resolve()
    if str(path) in _held:
        return True
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # no lock file: nothing ever locked this folder
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a lock taken just now
    return False
