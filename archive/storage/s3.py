"""`s3://BUCKET/PREFIX`: S3-compatible object storage (AWS, MinIO, Ceph, SeaweedFS), through boto3.

The endpoint and credentials come from boto3's standard sources:
`AWS_ENDPOINT_URL` (any S3-compatible server), `AWS_ACCESS_KEY_ID`,
`AWS_SECRET_ACCESS_KEY`, `AWS_DEFAULT_REGION`, or a profile.

Digests: every upload asks the server for a SHA-256 checksum
(`ChecksumAlgorithm=SHA256`; S3 verifies the bytes it received against it
and rejects a mismatch) and records the file's own SHA-256 as object
metadata (`x-amz-meta-sha256`), which later readers check against.  After
the upload the object's checksum is compared with the file's: the whole
file's SHA-256 for a single-part upload, S3's checksum of part checksums
for a multipart one (computed locally with the same part size).  An
endpoint that keeps no checksums is read back in full instead, and
`?verify=read` on the URL reads back always (for an endpoint that echoes a
checksum without checking it).
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import parse_qs, urlsplit

from archive.exits import UsageProblem
from archive.storage.api import (CHUNK, ObjectMissing, Store, StoreDamaged, StoredObject, StoreUnavailable,
                                 copy_out)

PART_SIZE = 64 * 1024 * 1024  # multipart above this size, in parts of this size
METADATA_KEY = "sha256"
_MISSING = {"NoSuchKey", "404", "NotFound"}
_REFUSED = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403", "InvalidToken", "ExpiredToken"}
_BAD_DIGEST = {"BadDigest", "XAmzContentSHA256Mismatch", "InvalidDigest"}


@contextmanager
def _translated(what: str):
    """boto3's exceptions as the store's typed errors."""
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        yield
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        message = error.response.get("Error", {}).get("Message") or code
        if code in _MISSING:
            raise ObjectMissing(f"{what}: not in the store") from error
        if code == "NoSuchBucket":
            raise StoreUnavailable(f"{what}: the bucket does not exist") from error
        if code in _REFUSED:
            raise StoreUnavailable(f"{what}: refused ({code}: {message}); check AWS_ACCESS_KEY_ID and "
                                   "AWS_SECRET_ACCESS_KEY") from error
        if code in _BAD_DIGEST or "checksum" in message.lower():
            raise StoreDamaged(f"{what}: the store rejected the bytes it received ({code}: {message})") from error
        raise StoreUnavailable(f"{what}: {code}: {message}") from error
    except NoCredentialsError as error:
        raise StoreUnavailable(f"{what}: no credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)") from error
    except S3UploadFailedError as error:
        text = str(error)
        if any(code in text for code in _BAD_DIGEST):
            raise StoreDamaged(f"{what}: the store rejected the bytes it received ({text})") from error
        raise StoreUnavailable(f"{what}: upload failed: {text}") from error
    except BotoCoreError as error:  # cannot connect, connection dropped, timeouts, a body cut off
        raise StoreUnavailable(f"{what}: {error}") from error


class _Body(io.RawIOBase):
    """A response body whose read errors are the store's (StoreUnavailable), not botocore's."""

    def __init__(self, body: Any, what: str) -> None:
        self._body = body
        self._what = what

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        with _translated(self._what):
            return self._body.read(None if size is None or size < 0 else size)

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self._body.close()
        finally:
            super().close()


def file_checksums(path: Path, part_size: int = PART_SIZE) -> tuple[str, str, int]:
    """(SHA-256 hex, S3's multipart checksum base64 for `part_size` parts, size), in one read."""
    whole = hashlib.sha256()
    parts: list[bytes] = []
    size = 0
    with open(path, "rb") as stream:
        while True:
            part = hashlib.sha256()
            taken = 0
            while taken < part_size and (chunk := stream.read(min(CHUNK, part_size - taken))):
                whole.update(chunk)
                part.update(chunk)
                taken += len(chunk)
            if not taken:
                break
            size += taken
            parts.append(part.digest())
    composite = base64.b64encode(hashlib.sha256(b"".join(parts)).digest()).decode("ascii")
    return whole.hexdigest(), composite, size


class S3Store(Store):
    def __init__(self, bucket: str, prefix: str = "", *, read_back: bool = False, client: Any = None,
                 part_size: int = PART_SIZE, concurrency: int = 4) -> None:
        if not bucket:
            raise UsageProblem("an S3 store needs a bucket: s3://BUCKET/PREFIX")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.read_back = read_back
        self.part_size = part_size
        self.concurrency = concurrency  # parts of one multipart upload sent at once
        self.url = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self._client = client

    @classmethod
    def from_url(cls, url: str) -> "S3Store":
        parts = urlsplit(url)
        options = parse_qs(parts.query)
        verify = (options.pop("verify", ["checksum"]) or ["checksum"])[-1]
        if verify not in ("checksum", "read") or options:
            raise UsageProblem(f"{url!r}: the only option is ?verify=read (read every upload back)")
        return cls(parts.netloc, parts.path, read_back=verify == "read")

    @property
    def client(self) -> Any:
        if self._client is None:
            try:
                import boto3
                from botocore.config import Config
            except ImportError as error:
                raise StoreUnavailable(f"{self.url}: boto3 is not installed (pip install "
                                       "'portal-archive[cluster]')") from error

            # Fail fast when the endpoint is down (uploads are retried by the caller, with backoff);
            # boto3 reads AWS_ENDPOINT_URL and the credentials itself.
            config = Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"})
            self._client = boto3.client("s3", config=config)
        return self._client

    def _key(self, key: str) -> str:
        if not key or key.startswith("/"):
            raise UsageProblem(f"{key!r} is not a store key")
        return self.prefix + key

    def _where(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            with _translated(self._where(key)):
                return self.client.head_object(Bucket=self.bucket, Key=self._key(key), ChecksumMode="ENABLED")
        except ObjectMissing:
            return None

    # -- the interface -------------------------------------------------------
    def put(self, path: Path, key: str, *, sha256: str | None = None, replace: bool = False) -> StoredObject:
        from boto3.s3.transfer import TransferConfig

        where = self._where(key)
        sha256, composite, size = file_checksums(path, self.part_size)
        existing = self._head(key)
        if existing is not None:
            recorded = (existing.get("Metadata") or {}).get(METADATA_KEY)
            if recorded == sha256 and existing.get("ContentLength") == size:
                try:
                    self._check(key, existing, sha256, composite, size)
                    return StoredObject(key, size, sha256)
                except StoreDamaged:
                    pass  # what is there is damaged: upload it again from the good local copy
            elif not replace:
                raise StoreDamaged(f"{where} already holds other bytes than {path.name} (SHA-256 {recorded}); "
                                   "not replaced")
        config = TransferConfig(multipart_threshold=self.part_size, multipart_chunksize=self.part_size,
                                max_concurrency=self.concurrency, use_threads=self.concurrency > 1)
        with _translated(where):
            self.client.upload_file(str(path), self.bucket, self._key(key), Config=config,
                                    ExtraArgs={"ChecksumAlgorithm": "SHA256", "Metadata": {METADATA_KEY: sha256}})
        stored = self._head(key)
        if stored is None:
            raise StoreUnavailable(f"{where}: the object is not there after its upload")
        try:
            self._check(key, stored, sha256, composite, size)
        except StoreDamaged:
            try:
                self.delete(key)  # nobody must read damaged bytes; the local file stays for a retry
            except StoreUnavailable:
                pass
            raise
        return StoredObject(key, size, sha256)

    def _check(self, key: str, head: dict[str, Any], sha256: str, composite: str, size: int) -> None:
        """StoreDamaged unless the object under `key` holds the file's bytes."""
        where = self._where(key)
        if head.get("ContentLength") != size:
            raise StoreDamaged(f"{where}: {head.get('ContentLength')} bytes stored, the file has {size}")
        checksum = (head.get("ChecksumSHA256") or "").split("-")[0]
        if checksum and not self.read_back:
            whole = base64.b64encode(bytes.fromhex(sha256)).decode("ascii")
            if checksum not in (whole, composite):
                raise StoreDamaged(f"{where}: the store's SHA-256 checksum {checksum} is not the file's ({whole})")
            return
        found = self.digest(key)  # no checksum kept by this endpoint: read it back
        if found != sha256:
            raise StoreDamaged(f"{where}: SHA-256 read back is {found}, the file's is {sha256}")

    def get(self, key: str, dest: Path) -> StoredObject:
        where = self._where(key)
        head = self._head(key)
        if head is None:
            raise ObjectMissing(f"{where} is not in the store")
        with self.open(key) as stream:
            digest = copy_out(stream, dest, what=where)
        recorded = (head.get("Metadata") or {}).get(METADATA_KEY)
        if recorded and recorded != digest:
            dest.unlink(missing_ok=True)
            raise StoreDamaged(f"{where}: SHA-256 is {digest}, it was stored as {recorded}")
        return StoredObject(key, dest.stat().st_size, digest, recorded)

    def open(self, key: str, start: int = 0, length: int | None = None) -> BinaryIO:
        where = self._where(key)
        arguments: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key(key)}
        if length is not None:
            if length <= 0:
                return io.BytesIO(b"")  # type: ignore[return-value]
            arguments["Range"] = f"bytes={start}-{start + length - 1}"
        elif start:
            arguments["Range"] = f"bytes={start}-"
        with _translated(where):
            body = self.client.get_object(**arguments)["Body"]
        return io.BufferedReader(_Body(body, where), CHUNK)

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        where = f"s3://{self.bucket}/{self.prefix}{prefix}"
        with _translated(where):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix + prefix)
            for page in pages:
                for item in page.get("Contents", []):
                    yield StoredObject(item["Key"][len(self.prefix):], item["Size"])

    def stat(self, key: str) -> StoredObject | None:
        head = self._head(key)
        if head is None:
            return None
        return StoredObject(key, head["ContentLength"], (head.get("Metadata") or {}).get(METADATA_KEY))

    def delete(self, key: str) -> None:
        with _translated(self._where(key)):
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def reader_url(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{self.prefix}{key}"

    def check(self) -> None:
        try:
            with _translated(f"s3://{self.bucket}"):
                self.client.head_bucket(Bucket=self.bucket)
        except ObjectMissing as error:  # HEAD answers a bare 404 for a missing bucket
            raise StoreUnavailable(f"s3://{self.bucket}: the bucket does not exist") from error
