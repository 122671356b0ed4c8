"""`file:///PATH`: a store in a local (or mounted) folder, for one machine and for tests.

The folder must exist: a store whose mount is missing is unavailable, and
nothing is written to the disk underneath instead.  An object is written to
a temporary name, fsynced, read back and checked, and only then renamed to
its key, so a key never holds a partial or damaged file.
"""

from __future__ import annotations

import io
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from archive.exits import UsageProblem
from archive.storage.api import (CHUNK, ObjectMissing, Store, StoreDamaged, StoredObject, StoreUnavailable,
                                 copy_out, file_sha256)
from archive.warc.recovery import fsync_dir

PART = ".part-"


class _Window(io.RawIOBase):
    """`length` bytes of an open file from where it stands (a range read)."""

    def __init__(self, stream: BinaryIO, length: int | None) -> None:
        self._stream = stream
        self._left = length

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._left is not None:
            size = self._left if size is None or size < 0 else min(size, self._left)
        data = self._stream.read(size)
        if self._left is not None:
            self._left -= len(data)
        return data

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self._stream.close()
        super().close()


class LocalStore(Store):
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.url = "file://" + str(self.root)

    @classmethod
    def from_url(cls, url: str) -> "LocalStore":
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise UsageProblem(f"{url!r}: a file store is file:///ABSOLUTE/PATH")
        return cls(Path(unquote(parts.path)).resolve())

    # -- helpers ------------------------------------------------------------
    def _path(self, key: str) -> Path:
        if not key or key.startswith("/") or any(part in ("", ".", "..") for part in key.split("/")):
            raise UsageProblem(f"{key!r} is not a store key")
        return self.root / key

    def _root_ready(self) -> None:
        if not self.root.is_dir():
            raise StoreUnavailable(f"store folder {self.root} does not exist (is it mounted?)")

    # -- the interface -------------------------------------------------------
    def put(self, path: Path, key: str, *, sha256: str | None = None, replace: bool = False) -> StoredObject:
        self._root_ready()
        target = self._path(key)
        sha256 = sha256 or file_sha256(path)
        if target.is_file():
            if file_sha256(target) == sha256:
                return StoredObject(key, target.stat().st_size, sha256)
            if not replace:
                raise StoreDamaged(f"{self.url}/{key} already holds other bytes than {path.name}; not replaced")
        part = target.with_name(f"{target.name}{PART}{uuid.uuid4().hex[:12]}")
        with open(path, "rb") as source:  # an error here is the local file's, raised as it is
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with open(part, "wb") as out:
                    self._copy(source, out)
                    out.flush()
                    os.fsync(out.fileno())
                written = file_sha256(part)  # read back what the store holds
                if written != sha256:
                    raise StoreDamaged(f"{self.url}/{key}: SHA-256 after upload is {written}, the file's is {sha256}")
                os.replace(part, target)
                fsync_dir(target.parent)
            except OSError as error:
                raise StoreUnavailable(f"cannot write {self.url}/{key}: {error}") from error
            finally:
                part.unlink(missing_ok=True)
        return StoredObject(key, target.stat().st_size, sha256)

    @staticmethod
    def _copy(source: BinaryIO, out: BinaryIO) -> None:
        """Copy the bytes across (tests wrap this to play a store that corrupts or fills up)."""
        shutil.copyfileobj(source, out, CHUNK)

    def get(self, key: str, dest: Path) -> StoredObject:
        with self.open(key) as stream:
            digest = copy_out(stream, dest, what=f"{self.url}/{key}")
        return StoredObject(key, dest.stat().st_size, digest)

    def open(self, key: str, start: int = 0, length: int | None = None) -> BinaryIO:
        self._root_ready()
        try:
            stream = open(self._path(key), "rb")
        except FileNotFoundError:
            raise ObjectMissing(f"{self.url}/{key} is not in the store") from None
        except OSError as error:
            raise StoreUnavailable(f"cannot read {self.url}/{key}: {error}") from error
        stream.seek(start)
        return io.BufferedReader(_Window(stream, length), CHUNK)

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        self._root_ready()
        folder, _, start = prefix.rpartition("/")
        base = self.root / folder if folder else self.root
        if not base.is_dir():
            return
        found = []
        for dirpath, _, files in os.walk(base):
            for name in files:
                if PART in name:
                    continue
                full = Path(dirpath) / name
                key = full.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    found.append((key, full))
        for key, full in sorted(found):
            try:
                yield StoredObject(key, full.stat().st_size)
            except FileNotFoundError:
                continue

    def stat(self, key: str) -> StoredObject | None:
        self._root_ready()
        try:
            return StoredObject(key, self._path(key).stat().st_size)
        except FileNotFoundError:
            return None
        except OSError as error:
            raise StoreUnavailable(f"cannot read {self.url}/{key}: {error}") from error

    def delete(self, key: str) -> None:
        self._root_ready()
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as error:
            raise StoreUnavailable(f"cannot delete {self.url}/{key}: {error}") from error

    def reader_url(self, key: str = "") -> str:
        return str(self.root / key) + ("/" if key.endswith("/") else "")

    def check(self) -> None:
        self._root_ready()
        if not os.access(self.root, os.R_OK | os.W_OK | os.X_OK):
            raise StoreUnavailable(f"store folder {self.root} is not readable and writable")

    def digest(self, key: str) -> str:
        try:
            return file_sha256(self._path(key))
        except FileNotFoundError:
            raise ObjectMissing(f"{self.url}/{key} is not in the store") from None

