"""Where finished WARC files live: a store chosen by URL scheme from `STORES`.

    store = open_store("s3://archive/tengzhou")      # boto3; AWS_ENDPOINT_URL and keys from the environment
    store = open_store("file:///srv/archive-store")   # a local or mounted folder
    store.put(Path("data/warc/X.warc.gz"), warc_key("X.warc.gz"))   # checked by digest once there

Unset (no `--store`, no ARCHIVE_STORE, no $PORTAL_ARCHIVE_STORE), WARC
files stay in DATA/warc/ as always.  With a store, DATA/warc/ is where files
are written and wait for their upload (`archive.storage.uploads`); readers
(`replay`, `export --format wacz`, `verify`, `reindex`) take `--store` too.
A new backend is a class implementing `archive.storage.api.Store`,
registered here under its scheme.
"""

from __future__ import annotations

import importlib
from urllib.parse import urlsplit

from archive.exits import UsageProblem
from archive.storage.api import (ObjectMissing, Store, StoreDamaged, StoredObject, StoreError, StoreUnavailable,
                                 index_key, items_key, warc_key)

ENVIRONMENT = "PORTAL_ARCHIVE_STORE"  # read by every --store option and the crawl's ARCHIVE_STORE
# URL scheme -> "module:class" of the backend (as Scrapy's FEED_STORAGES).
STORES = {
    "file": "archive.storage.local:LocalStore",
    "s3": "archive.storage.s3:S3Store",
}

__all__ = ["ENVIRONMENT", "ObjectMissing", "STORES", "Store", "StoreDamaged", "StoreError", "StoreUnavailable",
           "StoredObject", "index_key", "items_key", "open_store", "warc_key"]


def open_store(url: str) -> Store:
    """The store at `url` (nothing is contacted yet).  UsageProblem for a scheme with no backend."""
    scheme = urlsplit(url).scheme.lower()
    found = STORES.get(scheme)
    if found is None:
        raise UsageProblem(f"{url!r} is not a store URL: use one of {', '.join(s + '://' for s in sorted(STORES))}")
    module, _, name = found.partition(":")
    return getattr(importlib.import_module(module), name).from_url(url)
