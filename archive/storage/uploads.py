"""Moving a data folder's finished files to a store, in a thread of its own, never losing one.

What goes up, under the same names (`archive.storage.api` keys):

* each finished WARC file (`warc/NAME.warc.gz`) with its CDXJ index
  (`index/NAME.warc.gz.cdxj`, made here with cdxj-indexer as `replay` makes
  it, before `replay` points its 304 lines at other files);
* the JSONL items (`items/CRAWL.jsonl`) and the crawls' digest lists and
  timestamps (`warc/CRAWL.sha256`, `.tsr`), replaced when they change.

A WARC file and its local index are deleted only after both are stored and
checked by digest *and* the catalogue has folded every record of the file
in (`folded`), so a crash at any moment leaves the file either in DATA/warc/
or in the store, and the next crawl's catch-up can still read what the
catalogue missed.  JSONL items and digest lists stay in DATA too (they are
small, and a resumed crawl appends to its items file).

An upload that fails (the store is down, the connection was cut, the digest
did not match, the local disk is full) is retried with backoff: 1 s, 2 s,
4 s... up to `retry_max`.  `finish(timeout)` waits that long at most for
what is still queued; whatever is not stored by then stays in DATA/warc/ and
is picked up by the next `sweep()` (the next crawl, or `portal-archive
upload`).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from archive.storage.api import Store, StoreError, index_key, items_key, warc_key
from archive.warc.errors import WarcError, WarcFormatError

logger = logging.getLogger(__name__)

WARC_SUFFIX = ".warc.gz"
DIGEST_LISTS = ("*.sha256", "*.sha256.tsr")  # archive.evidence.attest: a crawl's WARC digests, timestamped
RECHECK_FOLD = 2.0  # seconds between checks whether the catalogue has folded a stored file in


@dataclass
class UploadSummary:
    """What the uploads did: keys stored, WARC files still only local (and why), files kept for the catalogue."""

    stored: list[str] = field(default_factory=list)
    bytes: int = 0
    pending: list[str] = field(default_factory=list)  # WARC files not stored: they wait in DATA/warc/
    kept: list[str] = field(default_factory=list)  # stored, kept locally until the catalogue folds them in
    sidecars_pending: list[str] = field(default_factory=list)
    failures: int = 0
    damaged: int = 0
    last_error: str | None = None

    @property
    def ok(self) -> bool:
        return not self.pending and not self.sidecars_pending


@dataclass(order=True)
class _Job:
    due: float
    seq: int
    kind: str = field(compare=False)  # "warc", "sidecar" (items, digest lists), "release"
    path: Path = field(compare=False)
    key: str = field(compare=False, default="")
    attempt: int = field(compare=False, default=0)


class Uploads:
    """Uploads from DATA to `store` on a worker thread: `start()`, `submit()` / `sweep()`, then `finish()`.

    `folded(path)` says whether the catalogue holds every record of a
    finished WARC file (`archive.storage.folds.CatalogueFolds`); None means
    there is no catalogue to wait for.  Methods are safe to call from
    another thread (the reactor's); the work itself runs on one thread, one
    job at a time.
    """

    def __init__(self, data: Path, store: Store, *, folded: Callable[[Path], bool] | None = None,
                 retry_max: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.data = Path(data)
        self.store = store
        self.folded = folded
        self.retry_max = retry_max
        self.clock = clock
        self.summary = UploadSummary()
        self._jobs: list[_Job] = []
        self._queued: set[tuple[str, Path]] = set()
        self._stored: set[Path] = set()  # WARC files stored and checked, waiting for the catalogue
        self._seq = itertools.count()
        self._lock = threading.Condition()
        self._deadline: float | None = None
        self._thread: threading.Thread | None = None

    # -- what callers do ----------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="store-uploads", daemon=True)
            self._thread.start()

    def submit(self, path: Path) -> None:
        """Queue a finished WARC file (with its index) for upload (once stored, only its release waits)."""
        path = Path(path)
        if path in self._stored:
            self._add("release", path, warc_key(path.name))
        else:
            self._add("warc", path, warc_key(path.name))

    def sweep(self, skip_items: set[str] = frozenset()) -> int:
        """Queue everything in DATA that belongs in the store: leftover WARC files, items, digest lists.

        `skip_items` names crawls whose items file is still being written.
        Returns the number of WARC files queued.
        """
        warc_dir, items_dir = self.data / "warc", self.data / "items"
        found = 0
        for path in sorted(warc_dir.glob("*" + WARC_SUFFIX)) if warc_dir.is_dir() else ():
            self.submit(path)
            found += 1
        for pattern in DIGEST_LISTS:
            for path in sorted(warc_dir.glob(pattern)) if warc_dir.is_dir() else ():
                self._add("sidecar", path, warc_key(path.name))
        for path in sorted(items_dir.glob("*.jsonl")) if items_dir.is_dir() else ():
            if path.stem not in skip_items:
                self._add("sidecar", path, items_key(path.stem))
        return found

    def run_now(self, timeout: float) -> UploadSummary:
        """Without a thread: do what is queued here and now (for `portal-archive upload`)."""
        self._deadline = self.clock() + timeout
        self._run()
        return self._summarise()

    def finish(self, timeout: float) -> UploadSummary:
        """Wait up to `timeout` seconds for the queue to empty, stop the thread, and say what is left."""
        with self._lock:
            now = self.clock()
            self._deadline = now + timeout
            # The crawl has committed its catalogue: whatever waited for it can go now.
            for job in self._jobs:
                if job.kind == "release":
                    job.due = now
            heapq.heapify(self._jobs)
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        else:
            self._run()
        return self._summarise()

    # -- the worker ------------------------------------------------------------------
    def _add(self, kind: str, path: Path, key: str, due: float | None = None, attempt: int = 0) -> None:
        with self._lock:
            if (kind, path) in self._queued:
                return
            self._queued.add((kind, path))
            heapq.heappush(self._jobs, _Job(self.clock() if due is None else due, next(self._seq), kind, path,
                                            key, attempt))
            self._lock.notify_all()

    def _next(self) -> _Job | None:
        """The next job once it is due; None when finishing and nothing more can run before the deadline."""
        with self._lock:
            while True:
                now = self.clock()
                if self._deadline is not None and (not self._jobs or now >= self._deadline
                                                   or self._jobs[0].due >= self._deadline):
                    return None
                if self._jobs and self._jobs[0].due <= now:
                    job = heapq.heappop(self._jobs)
                    self._queued.discard((job.kind, job.path))
                    return job
                wait = (self._jobs[0].due - now) if self._jobs else None
                if self._deadline is not None:
                    wait = min(wait if wait is not None else self._deadline - now, self._deadline - now)
                self._lock.wait(timeout=wait)

    def _run(self) -> None:
        while (job := self._next()) is not None:
            try:
                if job.kind == "warc":
                    self._upload_warc(job)
                elif job.kind == "sidecar":
                    self._upload_sidecar(job)
                else:
                    self._release(job)
            except (StoreError, WarcError, OSError) as error:
                self._failed(job, error)
            except Exception as error:  # noqa: BLE001 - never let the thread die with files queued
                logger.exception("Unexpected error uploading %s", job.path)
                self._failed(job, error)

    def _failed(self, job: _Job, error: BaseException) -> None:
        from archive.exits import Damaged

        self.summary.failures += 1
        self.summary.damaged += isinstance(error, Damaged)
        self.summary.last_error = f"{job.path.name}: {error}"
        delay = min(self.retry_max, 2.0 ** job.attempt)
        logger.warning("Could not store %s (attempt %d; next in %.0fs; the file stays in %s): %s",
                       job.path.name, job.attempt + 1, delay, job.path.parent, error)
        self._add(job.kind, job.path, job.key, due=self.clock() + delay, attempt=job.attempt + 1)

    def _upload_warc(self, job: _Job) -> None:
        from archive.replay import index_warc

        path = job.path
        if not path.is_file():
            return  # stored and released already (a sweep queued it twice)
        # Made afresh, not replay's copy in DATA/index/: there a 304 revisit's line names the file of the response
        # it points at (archive.replay.point_at_originals), and the store's index names only its own file.
        index = self.data / "index" / (path.name + ".cdxj.store")
        try:
            try:
                index_warc(path, index)
            except OSError:
                raise  # a full disk, say: retried
            except Exception as error:  # noqa: BLE001 - warcio's and zlib's many errors on bytes that are not WARC
                raise WarcFormatError(f"cannot be indexed, it is damaged ({str(error)[:200]}); "
                                      "`portal-archive verify` names the damage") from error
            stored = self.store.put(path, job.key)
            stored_index = self.store.put(index, index_key(path.name), replace=True)
        finally:
            index.unlink(missing_ok=True)
        self._note(job.key, stored.size)
        self._note(stored_index.key, stored_index.size)
        logger.info("Stored %s (%d bytes, SHA-256 %s) in %s", path.name, stored.size, stored.sha256, self.store.url)
        self._stored.add(path)
        self._release(job)

    def _upload_sidecar(self, job: _Job) -> None:
        if job.path.is_file():
            stored = self.store.put(job.path, job.key, replace=True)
            self._note(job.key, stored.size)

    def _release(self, job: _Job) -> None:
        """Delete a stored WARC file (and its local index) once the catalogue holds all of it."""
        path = job.path
        if not path.is_file():
            return
        if self.folded is not None and not self.folded(path):
            self._add("release", path, job.key, due=self.clock() + RECHECK_FOLD)
            return
        path.unlink()
        (self.data / "index" / (path.name + ".cdxj")).unlink(missing_ok=True)
        self._stored.discard(path)
        logger.info("Deleted %s locally: stored in %s and folded into the catalogue", path.name, self.store.url)

    def _note(self, key: str, size: int) -> None:
        if key not in self.summary.stored:
            self.summary.stored.append(key)
            self.summary.bytes += size

    def _summarise(self) -> UploadSummary:
        summary = self.summary
        with self._lock:
            left = list(self._jobs)
        summary.pending = sorted({j.path.name for j in left if j.kind == "warc" and j.path.is_file()})
        summary.kept = sorted({j.path.name for j in left if j.kind == "release" and j.path.is_file()})
        summary.sidecars_pending = sorted({j.path.name for j in left if j.kind == "sidecar" and j.path.is_file()})
        return summary


class CatalogueFolds:
    """`folds(path)`: does the catalogue hold every record of this finished WARC file?

    True once the offset the catalogue has ingested is followed in the file
    only by records it takes nothing from (the request of the last
    exchange).  Opens its own read-only connection each time, so it can be
    asked from the upload thread while the crawl writes.
    """

    def __init__(self, data: Path, url: str | None = None) -> None:
        self.data = Path(data)
        self.url = url

    def __call__(self, path: Path) -> bool:
        from archive.catalogue import open_catalogue
        from archive.catalogue.events import FileStart
        from archive.catalogue.warc_events import events_from_file
        from archive.exits import ArchiveError

        try:
            with open_catalogue(self.data, self.url, readonly=True) as catalogue:
                start = catalogue.ingested().get(path.name)
            if start is None:
                return False
            return all(isinstance(event, FileStart) for event in events_from_file(path, start))
        except ArchiveError as error:  # the catalogue is away, or the file is damaged: keep it local
            logger.warning("Keeping %s locally: cannot tell whether the catalogue holds it all: %s", path.name, error)
            return False


def store_leftovers(data: Path, store: Store, *, catalogue_url: str | None = None, wait: float = 60.0,
                    retry_max: float = 60.0) -> UploadSummary:
    """Store what crawls left in DATA (no crawl running): what a worker runs when it starts.

    Holds DATA's lock; recovers unfinished WARC files and folds into the
    catalogue what it missed (as a crawl does at its start), then uploads
    every finished WARC file, items file and digest list, trying for up to
    `wait` seconds.  Raises Busy when a crawl holds DATA.
    """
    from archive.catalogue.rebuild import settle_folder
    from archive.lock import DataLock

    data = Path(data)
    with_lock = DataLock(data)
    with_lock.acquire()
    try:
        if (data / "warc").is_dir():
            settle_folder(data, catalogue_url)
        uploads = Uploads(data, store, folded=CatalogueFolds(data, catalogue_url), retry_max=retry_max)
        uploads.sweep()
        return uploads.run_now(wait)
    finally:
        with_lock.release()
