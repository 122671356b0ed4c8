"""`WarcWriter`: appends records to rotating `.warc.gz` files, crash-safely.

Files are named `PREFIX-YYYYMMDDhhmmssfff-SERIAL-HOST-PID.warc.gz` (host and
process id, as Heritrix and browsertrix name theirs, so that workers on many
machines never make the same name for one store) and written as
`NAME.warc.gz.open`: one gzip member per record, flushed (not fsynced) after
each call, so a crash loses at most the record being written and `recover()`
repairs the rest.  Closing or rotating fsyncs and renames the file.  Every
file starts with its own warcinfo record.

Not thread-safe: Scrapy calls it from its one reactor thread.

It writes our own records (`archive.warc.records`) instead of using warcio's
`WARCWriter`, because warcio re-serialises HTTP heads and percent-encodes
every non-ASCII header byte (GBK values included): our records keep the
bytes the server sent.  It is also 1.2× faster (`bench/warc_write.py`).
"""

from __future__ import annotations

import fcntl
import os
import re
import socket
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Callable

from archive.warc import records as rec
from archive.warc.errors import WarcWriteError
from archive.warc.recovery import OPEN_SUFFIX, RecoveryResult, recover

__all__ = ["WarcWriter", "RecordRef", "WarcWriteError", "RecoveryResult", "recover"]

# Fields every warcinfo must carry that only the caller can know.
REQUIRED_WARCINFO = ("robots", "http-header-user-agent", "operator", "isPartOf")


@dataclass(frozen=True, slots=True)
class RecordRef:
    """Where a written record is: its gzip member's `offset` and `length` in `file`.

    `file` is the finished basename (without `.open`), `date` the WARC-Date.
    """

    file: str
    offset: int
    length: int
    record_id: str
    payload_digest: str | None
    date: str

    def as_dict(self) -> dict[str, object]:
        """The item's `warc` field: file, offset, length, record_id, payload_digest."""
        return {"file": self.file, "offset": self.offset, "length": self.length,
                "record_id": self.record_id, "payload_digest": self.payload_digest}


def _software() -> tuple[str, str]:
    try:
        ours = version("portal-archive")
    except PackageNotFoundError:
        ours = "unknown"
    return f"portal-archive/{ours}", ours


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class WarcWriter:
    """Writes WARC records for one crawl into `directory`.

    `warcinfo` must hold robots, http-header-user-agent, operator and
    isPartOf (the crawl id); software, version, format and conformsTo are
    filled in unless given.  `clock` returns aware datetimes and `new_id`
    returns `<urn:uuid:…>` ids; both are injectable for exact tests.
    Leftover `.open` files in `directory` are recovered at construction
    (`self.recovered`) unless `recover_leftovers=False`.  `pid` defaults to
    this process's.  `on_finish(path)` is called with each file once it is
    finished (fsynced and renamed): where an upload to a store starts.

    Every I/O failure raises `WarcWriteError`, and the writer then refuses
    further records.
    """

    def __init__(self, directory: str | os.PathLike[str], *, prefix: str = "TENGZHOU",
                 host: str | None = None, max_size: int = 1_000_000_000,
                 warcinfo: dict[str, str], clock: Callable[[], datetime] | None = None,
                 new_id: Callable[[], str] | None = None, compresslevel: int = 6,
                 recover_leftovers: bool = True, pid: int | None = None,
                 on_finish: Callable[[Path], None] | None = None) -> None:
        missing = [name for name in REQUIRED_WARCINFO if not warcinfo.get(name)]
        if missing:
            raise ValueError(f"warcinfo is missing {', '.join(missing)}")
        software, ours = _software()
        fields = {"software": software, "version": ours, "format": rec.FORMAT,
                  "conformsTo": rec.CONFORMS_TO}
        fields.update(warcinfo)
        self._warcinfo_block = rec.warc_fields(fields.items())
        self._warcinfo_digest = rec.sha1_digest(self._warcinfo_block)
        self.directory = Path(directory)
        self.prefix = prefix
        # '-' separates the name's parts, so it cannot appear inside the host.
        self.host = re.sub(r"[^A-Za-z0-9.]+", "_", host or socket.gethostname()) or "host"
        self.pid = os.getpid() if pid is None else int(pid)
        self._on_finish = on_finish
        self.max_size = max_size
        self._clock = clock or _utc_now
        self._new_id = new_id or rec.new_record_id
        self._level = compresslevel
        self._serial = 0
        self._file = None
        self._name = ""
        self._size = 0
        self._failed: str | None = None
        self._closed = False
        self.finished: list[Path] = []
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WarcWriteError(f"cannot create {self.directory}: {exc}") from exc
        self.recovered: list[RecoveryResult] = recover(self.directory) if recover_leftovers else []

    # -- public API ---------------------------------------------------------

    @property
    def current_path(self) -> Path | None:
        """The `.open` file being written, or None between files."""
        return self.directory / (self._name + OPEN_SUFFIX) if self._file else None

    def write_exchange(self, *, target_uri: str, date: datetime, ip_address: str | None,
                       request_head: bytes, request_body: bytes = b"", response_head: bytes,
                       response_body: bytes, truncated: str | None = None) -> RecordRef:
        """Write a response and its request record (same file, date and URI).

        Heads are raw HTTP bytes ending in CRLF CRLF, kept verbatim; the body
        is stored as sent.  `date` is when the capture started.  Returns the
        response record's reference.
        """
        when = rec.format_date(date)
        self._ready()
        response = rec.response_record(
            record_id=self._new_id(), date=when, target_uri=target_uri, ip_address=ip_address,
            http_head=response_head, body=response_body, truncated=truncated)
        request = rec.request_record(
            record_id=self._new_id(), date=when, target_uri=target_uri,
            concurrent_to=response.record_id, http_head=request_head, body=request_body)
        return self._write(response, request)

    def write_metadata(self, *, target_uri: str, concurrent_to: str | None, date: datetime,
                       payload: bytes, content_type: str = "application/json",
                       refers_to: str | None = None) -> RecordRef:
        """Write a metadata record about record `concurrent_to` (e.g. extracted fields).

        The returned ref has no payload digest.  For replay: cdxj-indexer
        indexes metadata records by their target URI (unless their
        Content-Type is application/warc-fields), so a record about a page
        must not carry the page's URL, or pywb may serve it for the page: give
        it `records.pageinfo_uri(url)` and the page's record id as `refers_to`.
        """
        when = rec.format_date(date)
        self._ready()
        record = rec.metadata_record(
            record_id=self._new_id(), date=when, target_uri=target_uri,
            concurrent_to=concurrent_to, payload=payload, content_type=content_type,
            refers_to=refers_to)
        return self._write(record)

    def write_revisit(self, *, target_uri: str, date: datetime, ip_address: str | None,
                      request_head: bytes, response_head: bytes, profile: str,
                      refers_to: str | None, refers_to_uri: str, refers_to_date: str,
                      payload_digest: str | None) -> RecordRef:
        """Write a revisit record (HTTP head only) and its request record.

        `profile` is "identical-payload-digest" or "server-not-modified";
        `refers_to*` describe the earlier capture (`refers_to_date` as its
        WARC-Date string, e.g. `RecordRef.date`).
        """
        when = rec.format_date(date)
        self._ready()
        revisit = rec.revisit_record(
            record_id=self._new_id(), date=when, target_uri=target_uri, ip_address=ip_address,
            http_head=response_head, profile=profile, refers_to=refers_to,
            refers_to_uri=refers_to_uri, refers_to_date=refers_to_date,
            payload_digest=payload_digest)
        request = rec.request_record(
            record_id=self._new_id(), date=when, target_uri=target_uri,
            concurrent_to=revisit.record_id, http_head=request_head)
        return self._write(revisit, request)

    def rotate(self) -> None:
        """Finish the current file now; the next record starts a new one."""
        if self._file is not None:
            self._finish()

    def close(self) -> None:
        """Finish the current file (fsync, rename).  Safe to call twice.

        After a write failure the `.open` file is left for `recover()`.
        """
        if self._closed:
            return
        self._closed = True
        if self._file is None:
            return
        if self._failed:
            self._abandon()
            return
        self._finish()

    def __enter__(self) -> "WarcWriter":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------

    def _ready(self) -> None:
        """Make sure a file is open for the next record, rotating if it is full."""
        if self._failed:
            raise WarcWriteError(f"the WARC writer failed earlier: {self._failed}")
        if self._closed:
            raise WarcWriteError("the WARC writer is closed")
        if self._file is None or self._size >= self.max_size:
            self.rotate()
            self._start_file()

    def _write(self, *records: rec.Record) -> RecordRef:
        """Append records (already built after `_ready()`) as one flushed write."""
        first_offset = self._size
        members = [self._compress(record) for record in records]
        self._append(b"".join(members))
        first = records[0]
        return RecordRef(self._name, first_offset, len(members[0]), first.record_id,
                         first.payload_digest, first.date)

    def _compress(self, record: rec.Record) -> bytes:
        # One compressor per record gives one gzip member per record.
        gz = zlib.compressobj(self._level, zlib.DEFLATED, 31)
        out = [gz.compress(part) for part in record.parts]
        out.append(gz.flush())
        return b"".join(out)

    def _append(self, data: bytes) -> None:
        try:
            self._file.write(data)
            self._file.flush()
        except OSError as exc:
            self._failed = f"writing {self._name}{OPEN_SUFFIX}: {exc}"
            raise WarcWriteError(self._failed) from exc
        self._size += len(data)

    def _start_file(self) -> None:
        """Create the next `.open` file, exclusively and locked, and write its warcinfo."""
        for _ in range(1000):
            now = self._clock()
            stamp = now.astimezone(timezone.utc).strftime("%Y%m%d%H%M%S%f")[:17]
            name = f"{self.prefix}-{stamp}-{self._serial:05d}-{self.host}-{self.pid}.warc.gz"
            self._serial += 1
            path = self.directory / (name + OPEN_SUFFIX)
            if (self.directory / name).exists():
                continue
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                continue
            except OSError as exc:
                self._failed = f"creating {path}: {exc}"
                raise WarcWriteError(self._failed) from exc
            if self._claim(fd, path):
                break
        else:
            raise WarcWriteError(f"no free WARC file name in {self.directory} after 1000 tries")
        self._file = os.fdopen(fd, "wb")
        self._name = name
        self._size = 0
        info = rec.warcinfo_record(record_id=self._new_id(), date=rec.format_date(now),
                                   filename=name, block=self._warcinfo_block,
                                   block_digest=self._warcinfo_digest)
        self._append(self._compress(info))

    @staticmethod
    def _claim(fd: int, path: Path) -> bool:
        """Lock a new file; False if another run's recover() moved it first."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            ours = os.fstat(fd)
            there = os.stat(path)
            if (ours.st_dev, ours.st_ino) == (there.st_dev, there.st_ino):
                return True
        except FileNotFoundError:
            pass
        except OSError as exc:
            os.close(fd)
            raise WarcWriteError(f"locking {path}: {exc}") from exc
        os.close(fd)
        return False

    def _finish(self) -> None:
        opened = self.directory / (self._name + OPEN_SUFFIX)
        final = self.directory / self._name
        file, self._file = self._file, None
        try:
            try:
                file.flush()
                os.fsync(file.fileno())
                if final.exists():
                    self._failed = f"cannot finish {opened.name}: {final.name} already exists"
                    raise WarcWriteError(self._failed)
                os.rename(opened, final)
            finally:
                file.close()  # releases the lock, only after the rename
            dir_fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)  # makes the rename itself durable
            finally:
                os.close(dir_fd)
        except WarcWriteError:
            raise
        except OSError as exc:
            self._failed = f"finishing {opened.name}: {exc}"
            raise WarcWriteError(self._failed) from exc
        self.finished.append(final)
        if self._on_finish is not None:
            self._on_finish(final)

    def _abandon(self) -> None:
        file, self._file = self._file, None
        try:
            file.close()
        except OSError:
            pass  # the write already failed and was reported; recover() repairs the file
