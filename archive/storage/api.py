"""The interface of a store: where finished WARC files, their indexes and items go to live.

A store holds objects under keys laid out as a data folder is
(`warc/NAME.warc.gz`, `index/NAME.warc.gz.cdxj`, `items/CRAWL.jsonl`), so a
file's name is always its key's last part and the catalogue's references
(file, offset, length) stay valid wherever the file is.  Every backend
(`archive.storage.STORES`) implements `Store` and is held to the same tests
(`tests/test_storage.py`).

Errors are typed: `StoreUnavailable` (exit 8) when the store cannot be
reached or refuses us, `StoreDamaged` (exit 7) when what it holds does not
match its digest, `ObjectMissing` (exit 5) for a key that is not there.
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from archive.exits import Damaged, Failed, NotFound, Unavailable

WARC = "warc/"
INDEX = "index/"
ITEMS = "items/"
CHUNK = 1024 * 1024


class StoreError(Exception):
    """Base of the store's own errors (each also carries an exit code)."""


class StoreUnavailable(StoreError, Unavailable):
    """The store cannot be reached, or refuses (credentials, no such bucket, a server error)."""


class StoreDamaged(StoreError, Damaged):
    """An object's bytes do not match the digest they were stored with."""


class ObjectMissing(StoreError, NotFound):
    """No object under that key."""


class LocalWriteFailed(StoreError, Failed):
    """A fetched object cannot be written locally (a full disk, a read-only folder)."""


@dataclass(frozen=True)
class StoredObject:
    """One object: its key, size in bytes and SHA-256 (hex) when the store knows it without reading."""

    key: str
    size: int
    sha256: str | None = None
    recorded: str | None = None  # from `get`: the SHA-256 the store keeps beside the object, if it keeps one

    @property
    def name(self) -> str:
        """The key's last part: the file's name."""
        return self.key.rsplit("/", 1)[-1]


def warc_key(name: str) -> str:
    return WARC + name


def index_key(warc_name: str) -> str:
    """The CDXJ index of one WARC file, as `portal-archive replay` names it locally."""
    return INDEX + warc_name + ".cdxj"


def items_key(crawl_id: str) -> str:
    return ITEMS + crawl_id + ".jsonl"


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a local file, streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def copy_out(source: BinaryIO, dest: Path, *, what: str) -> str:
    """Stream `source` into `dest` (via DEST.part, renamed when complete); returns its SHA-256.

    A local write error (a full disk) leaves no partial file and raises LocalWriteFailed.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    digest = hashlib.sha256()
    try:
        with open(part, "wb") as out:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(part, dest)
    except OSError as error:
        part.unlink(missing_ok=True)
        raise LocalWriteFailed(f"cannot write {what} to {dest}: {error}") from error
    return digest.hexdigest()


class Store(ABC):
    """Objects under keys.  Open one with `archive.storage.open_store(url)`.

    Methods may be called from any one thread at a time; a store holds no
    state about a crawl.
    """

    url: str

    @abstractmethod
    def put(self, path: Path, key: str, *, sha256: str | None = None, replace: bool = False) -> StoredObject:
        """Upload a local file under `key` and check it by digest once it is there.

        `sha256` is the file's digest if the caller has it (computed otherwise).
        An object already under `key` with the same digest is kept as it is
        (putting twice is safe); one with other bytes is replaced only with
        `replace` (items files grow; WARC files never change), else
        StoreDamaged.  A mismatch after upload removes the bad object and
        raises StoreDamaged; the local file is never touched.
        """

    @abstractmethod
    def get(self, key: str, dest: Path) -> StoredObject:
        """Download `key` into `dest` (streamed; nothing left half-written), checked against its stored digest."""

    @abstractmethod
    def open(self, key: str, start: int = 0, length: int | None = None) -> BinaryIO:
        """A stream of `length` bytes of `key` from `start` (to the end when None): a range read."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        """Every object whose key starts with `prefix`, in key order."""

    @abstractmethod
    def stat(self, key: str) -> StoredObject | None:
        """The object under `key`, or None."""

    def exists(self, key: str) -> bool:
        return self.stat(key) is not None

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove `key` (no error if it is not there)."""

    @abstractmethod
    def reader_url(self, key: str = "") -> str:
        """Where a reader such as pywb finds `key` (a folder when `key` ends with '/'): a path or an s3:// URL."""

    @abstractmethod
    def check(self) -> None:
        """Raise StoreUnavailable unless the store answers and can be listed."""

    def digest(self, key: str) -> str:
        """The SHA-256 of what is stored under `key`, read back in full."""
        digest = hashlib.sha256()
        with self.open(key) as stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"
