"""One worker per site, cluster-wide: a lease on the site, held while its crawl runs.

The lease is redis-py's `Lock` (a key set with NX and an expiry, a random
token, Lua scripts to extend and release only one's own): taken before the
crawl starts, extended by a thread every `interval` seconds while the crawl
runs, released when it ends.  A worker that dies stops extending it, so it
expires `ttl` seconds later and another worker may take the site.

A Redis outage does not cost the lease: extending is retried, and a lease
whose key vanished meanwhile (expired while Redis was down) is taken again
with the same token, unless another worker holds it by then, in which case
the lease is lost and `on_lost` is called (the job stops its crawl).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable

logger = logging.getLogger(__name__)

KEY = "portal-archive:lease:{site}"


class SiteBusy(Exception):
    """Another worker holds the site's lease."""


class SiteLease:
    """The lease on `site`; `acquire()`, then `keep()` while working, then `release()`."""

    def __init__(self, connection, site: str, ttl: float, interval: float | None = None,
                 on_lost: Callable[[], None] | None = None, owner: str = ""):
        from redis.lock import Lock

        self.site = site
        self.owner = owner  # the job holding it, the token's first part: a retry can tell its own earlier attempt
        self.ttl = ttl
        self.interval = interval or ttl / 3
        self.on_lost = on_lost
        self.lock = Lock(connection, KEY.format(site=site), timeout=ttl, thread_local=False)
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self, wait: float = 0, redis_wait: float = 120.0) -> None:
        """Take the lease, waiting up to `wait` seconds for it; SiteBusy when another worker keeps it.

        Redis unreachable (a restart) is waited out for up to `redis_wait` seconds, then raised.
        """
        from redis.exceptions import ConnectionError, TimeoutError

        deadline = time.monotonic() + redis_wait
        while True:
            try:
                token = f"{self.owner}:{uuid.uuid4().hex}" if self.owner else None
                taken = self.lock.acquire(blocking=wait > 0, blocking_timeout=wait or None, token=token)
                break
            except (ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(1.0)
        if not taken:
            raise SiteBusy(f"another worker holds the lease on {self.site}")

    def holder(self) -> str | None:
        """The token of whoever holds the site now (None: free)."""
        value = self.lock.redis.get(self.lock.name)
        return value.decode() if isinstance(value, bytes) else value

    def held_by_owner(self) -> bool:
        """Whether the site is held under this lease's owner (an earlier attempt of the same job), not by us."""
        holder = self.holder()
        return bool(self.owner and holder and holder.startswith(self.owner + ":"))

    def keep(self) -> None:
        """Extend the lease every `interval` seconds, in a thread, until `release()`."""
        self._thread = threading.Thread(target=self._extend_loop, name=f"lease {self.site}", daemon=True)
        self._thread.start()

    def _extend_loop(self) -> None:
        from redis.exceptions import ConnectionError, LockError, TimeoutError

        while not self._stop.wait(self.interval):
            try:
                self.lock.extend(self.ttl, replace_ttl=True)
            except (ConnectionError, TimeoutError) as error:
                logger.warning("Cannot extend the lease on %s (Redis unreachable: %s); trying again", self.site, error)
            except LockError:
                # The key expired (a long Redis outage) or another worker took it.
                try:
                    if self.lock.acquire(blocking=False, token=self.lock.local.token):
                        logger.warning("Lease on %s had expired; taken again", self.site)
                        continue
                except (ConnectionError, TimeoutError):
                    continue
                logger.error("Lease on %s lost: another worker holds the site", self.site)
                self.lost.set()
                if self.on_lost:
                    self.on_lost()
                return

    def release(self) -> None:
        """Stop extending and give the site back (a lease already lost or expired is left alone)."""
        from redis.exceptions import ConnectionError, LockError, TimeoutError

        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.lost.is_set():
            return
        try:
            self.lock.release()
        except LockError:
            pass  # expired meanwhile: nothing to give back
        except (ConnectionError, TimeoutError) as error:
            logger.warning("Cannot release the lease on %s (%s); it expires in %.0f s", self.site, error, self.ttl)
