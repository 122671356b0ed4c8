"""The store contract, held by every backend: a local folder (file://) and S3 (moto's server).

Put checks by digest and never leaves a damaged object under a key; get
checks what it reads; range reads, listing, exists, delete; typed errors
when the store is away or its bytes are wrong; a full local disk on get
leaves nothing half-written.
"""

from __future__ import annotations

import errno
import hashlib
import os

import pytest

from archive.exits import ExitCode
from archive.storage import (ObjectMissing, StoreDamaged, StoreUnavailable, index_key, items_key, open_store,
                             warc_key)
from archive.storage.api import LocalWriteFailed
from archive.storage.local import LocalStore
from archive.storage.s3 import S3Store, file_checksums
from tests.services import S3Service


@pytest.fixture(params=["file", "s3"])
def store(request, tmp_path):
    if request.param == "file":
        root = tmp_path / "store"
        root.mkdir()
        return open_store(f"file://{root}")
    return open_store(request.getfixturevalue("s3_url") + "/archive/one")


def _file(tmp_path, name: str, size: int, seed: int = 1):
    path = tmp_path / name
    path.write_bytes(hashlib.shake_256(f"{seed}".encode()).digest(size))
    return path


def test_registry_picks_backend_by_scheme_and_refuses_others(tmp_path):
    assert isinstance(open_store(f"file://{tmp_path}"), LocalStore)
    s3 = open_store("s3://bucket/some/prefix")
    assert isinstance(s3, S3Store) and (s3.bucket, s3.prefix) == ("bucket", "some/prefix/")
    assert open_store("s3://bucket?verify=read").read_back
    for bad in ("ftp://x/y", "bucket/prefix", "file://host/path", "file:relative", "s3://b?verify=maybe"):
        with pytest.raises(Exception) as caught:
            open_store(bad)
        assert caught.value.exit_code == ExitCode.USAGE, bad


def test_keys_mirror_the_data_folder():
    assert warc_key("A.warc.gz") == "warc/A.warc.gz"
    assert index_key("A.warc.gz") == "index/A.warc.gz.cdxj"
    assert items_key("20240101") == "items/20240101.jsonl"


def test_put_get_range_list_exists_delete(store, tmp_path):
    path = _file(tmp_path, "A.warc.gz", 300_000)
    data = path.read_bytes()
    stored = store.put(path, warc_key(path.name))
    assert stored.sha256 == hashlib.sha256(data).hexdigest() and stored.size == len(data)
    assert stored.name == "A.warc.gz"
    assert store.exists("warc/A.warc.gz") and not store.exists("warc/B.warc.gz")
    assert store.stat("warc/A.warc.gz").size == len(data)
    with store.open("warc/A.warc.gz", 1000, 5000) as stream:
        assert stream.read() == data[1000:6000]
    with store.open("warc/A.warc.gz", len(data) - 10) as stream:
        assert stream.read() == data[-10:]
    out = store.get("warc/A.warc.gz", tmp_path / "out" / "A.warc.gz")
    assert (tmp_path / "out" / "A.warc.gz").read_bytes() == data and out.sha256 == stored.sha256
    other = _file(tmp_path, "B.jsonl", 10, seed=2)
    store.put(other, items_key("B"))
    assert [o.key for o in store.list()] == ["items/B.jsonl", "warc/A.warc.gz"]
    assert [o.key for o in store.list("warc/")] == ["warc/A.warc.gz"]
    assert store.digest("warc/A.warc.gz") == stored.sha256
    store.delete("warc/A.warc.gz")
    store.delete("warc/A.warc.gz")  # twice is fine
    assert not store.exists("warc/A.warc.gz")
    with pytest.raises(ObjectMissing):
        store.get("warc/A.warc.gz", tmp_path / "gone")
    assert not (tmp_path / "gone").exists()


def test_put_twice_keeps_the_object_and_never_overwrites_other_bytes(store, tmp_path):
    (tmp_path / "1").mkdir()
    first = _file(tmp_path / "1", "A.warc.gz", 5000, seed=1)
    store.put(first, "warc/A.warc.gz")
    store.put(first, "warc/A.warc.gz")  # the same bytes: nothing to do
    (tmp_path / "2").mkdir()
    other = _file(tmp_path / "2", "A.warc.gz", 5000, seed=2)
    with pytest.raises(StoreDamaged, match="already holds other bytes"):
        store.put(other, "warc/A.warc.gz")
    assert store.digest("warc/A.warc.gz") == hashlib.sha256(first.read_bytes()).hexdigest()
    store.put(other, "warc/A.warc.gz", replace=True)  # items files grow and are replaced
    assert store.digest("warc/A.warc.gz") == hashlib.sha256(other.read_bytes()).hexdigest()


def test_a_missing_local_file_is_the_callers_error_not_the_stores(store, tmp_path):
    with pytest.raises(FileNotFoundError):
        store.put(tmp_path / "nope.warc.gz", "warc/nope.warc.gz")
    assert not store.exists("warc/nope.warc.gz")


def test_full_local_disk_on_get_leaves_nothing_half_written(store, tmp_path, monkeypatch):
    path = _file(tmp_path, "A.warc.gz", 3 * 1024 * 1024)
    store.put(path, "warc/A.warc.gz")

    class FullFile:
        def __init__(self, inner):
            self.inner, self.written = inner, 0

        def write(self, data):
            if self.written > 1024 * 1024:
                raise OSError(errno.ENOSPC, "No space left on device (injected)")
            self.written += len(data)
            return self.inner.write(data)

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.inner.close()

    import builtins

    real_open = builtins.open

    def full_open(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        if "w" in mode and str(file).endswith(".part") and "fetched" in str(file):
            return FullFile(handle)
        return handle

    monkeypatch.setattr(builtins, "open", full_open)
    dest = tmp_path / "fetched" / "A.warc.gz"
    with pytest.raises(LocalWriteFailed, match="No space left") as caught:
        store.get("warc/A.warc.gz", dest)
    assert caught.value.exit_code == ExitCode.FAILED
    assert not dest.exists() and not dest.with_name(dest.name + ".part").exists()


def test_local_store_whose_folder_is_missing_is_unavailable_and_writes_nothing(tmp_path):
    store = open_store(f"file://{tmp_path}/not-mounted")
    path = _file(tmp_path, "A.warc.gz", 100)
    with pytest.raises(StoreUnavailable, match="is it mounted") as caught:
        store.put(path, "warc/A.warc.gz")
    assert caught.value.exit_code == ExitCode.UNAVAILABLE
    assert not (tmp_path / "not-mounted").exists()
    with pytest.raises(StoreUnavailable):
        store.check()


def test_local_store_that_corrupts_is_caught_before_the_key_holds_anything(tmp_path, monkeypatch):
    root = tmp_path / "store"
    root.mkdir()
    store = open_store(f"file://{root}")

    def corrupting_copy(source, out):
        data = bytearray(source.read())
        data[len(data) // 2] ^= 0xFF
        out.write(data)

    monkeypatch.setattr(store, "_copy", corrupting_copy)
    path = _file(tmp_path, "A.warc.gz", 10_000)
    with pytest.raises(StoreDamaged, match="SHA-256 after upload") as caught:
        store.put(path, "warc/A.warc.gz")
    assert caught.value.exit_code == ExitCode.DAMAGED
    assert not store.exists("warc/A.warc.gz") and list(store.list()) == []
    assert path.is_file()


def test_local_store_full_disk_is_unavailable_and_leaves_no_part(tmp_path, monkeypatch):
    root = tmp_path / "store"
    root.mkdir()
    store = open_store(f"file://{root}")

    def full(source, out):
        out.write(source.read(100))
        raise OSError(errno.ENOSPC, "No space left on device (injected)")

    monkeypatch.setattr(store, "_copy", full)
    with pytest.raises(StoreUnavailable, match="No space left"):
        store.put(_file(tmp_path, "A.warc.gz", 1000), "warc/A.warc.gz")
    assert [p for p in root.rglob("*") if p.is_file()] == []


# -- S3 specifics -----------------------------------------------------------------

def test_s3_multipart_upload_is_checked_against_the_composite_checksum(s3_url, tmp_path):
    store = open_store(s3_url)
    store.part_size = 5 * 1024 * 1024  # S3's smallest part
    # One part at a time: moto's request recorder (which lets the test server restart) interleaves the
    # lines of requests it records at once, and a later restart could not replay them.
    store.concurrency = 1
    path = _file(tmp_path, "big.warc.gz", 12 * 1024 * 1024 + 17)
    stored = store.put(path, "warc/big.warc.gz")
    head = store.client.head_object(Bucket=store.bucket, Key="warc/big.warc.gz", ChecksumMode="ENABLED")
    sha256, composite, size = file_checksums(path, store.part_size)
    assert head["ETag"].strip('"').endswith("-3")  # three parts, checked without reading back
    assert head["ChecksumSHA256"].split("-")[0] == composite and size == path.stat().st_size
    assert stored.sha256 == sha256 == head["Metadata"]["sha256"]


def test_s3_checksum_mismatch_after_upload_removes_the_object(s3_url, tmp_path, monkeypatch):
    store = open_store(s3_url)
    real_head = store._head

    def lying_head(key):
        head = real_head(key)
        if head is not None:
            head = dict(head, ChecksumSHA256="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
        return head

    monkeypatch.setattr(store, "_head", lying_head)
    path = _file(tmp_path, "A.warc.gz", 1000)
    with pytest.raises(StoreDamaged, match="checksum"):
        store.put(path, "warc/A.warc.gz")
    monkeypatch.setattr(store, "_head", real_head)
    assert not store.exists("warc/A.warc.gz") and path.is_file()


def test_s3_endpoint_without_checksums_is_read_back(s3_url, tmp_path, monkeypatch):
    store = open_store(s3_url)
    real_head, reads = store._head, []

    def no_checksum(key):
        head = real_head(key)
        return None if head is None else {k: v for k, v in head.items() if not k.startswith("Checksum")}

    real_digest = store.digest
    monkeypatch.setattr(store, "_head", no_checksum)
    monkeypatch.setattr(store, "digest", lambda key: reads.append(key) or real_digest(key))
    store.put(_file(tmp_path, "A.warc.gz", 1000), "warc/A.warc.gz")
    assert reads == ["warc/A.warc.gz"]


def test_s3_get_checks_the_recorded_digest(s3_url, tmp_path):
    store = open_store(s3_url)
    path = _file(tmp_path, "A.warc.gz", 1000)
    store.put(path, "warc/A.warc.gz")
    # Rot in the store: other bytes under the key, the old digest still recorded.
    store.client.put_object(Bucket=store.bucket, Key="warc/A.warc.gz", Body=b"x" * 1000,
                            Metadata={"sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
    with pytest.raises(StoreDamaged, match="it was stored as"):
        store.get("warc/A.warc.gz", tmp_path / "out.warc.gz")
    assert not (tmp_path / "out.warc.gz").exists()
    # put() sees the damage and uploads the good local copy again.
    store.put(path, "warc/A.warc.gz")
    assert store.digest("warc/A.warc.gz") == hashlib.sha256(path.read_bytes()).hexdigest()


def test_s3_unreachable_or_refusing_is_unavailable(s3_url, tmp_path, monkeypatch):
    path = _file(tmp_path, "A.warc.gz", 100)
    no_bucket = open_store("s3://no-such-bucket-here")
    with pytest.raises(StoreUnavailable, match="bucket does not exist"):
        no_bucket.check()
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    away = open_store(s3_url)
    for action in (away.check, lambda: away.put(path, "warc/A.warc.gz"), lambda: list(away.list()),
                   lambda: away.get("warc/A.warc.gz", tmp_path / "x")):
        with pytest.raises(StoreUnavailable) as caught:
            action()
        assert caught.value.exit_code == ExitCode.UNAVAILABLE
    assert path.is_file()


def test_s3_service_stopped_then_back(tmp_path, monkeypatch):
    # A server of its own: a restart replays only this test's requests.
    with S3Service() as s3:
        for key, value in s3.client_environ().items():
            monkeypatch.setenv(key, value)
        store = open_store(f"s3://{s3.create_bucket()}")
        path = _file(tmp_path, "A.warc.gz", 1000)
        store.put(path, "warc/A.warc.gz")
        s3.stop()
        with pytest.raises(StoreUnavailable):
            store.put(_file(tmp_path, "B.warc.gz", 1000, seed=3), "warc/B.warc.gz")
        s3.start()
        assert store.exists("warc/A.warc.gz") and not store.exists("warc/B.warc.gz")
        assert os.environ["AWS_ENDPOINT_URL"] == s3.url


def test_verify_store_reports_objects_deleted_after_the_listing(tmp_path):
    """A WARC file or an index removed between the listing and the read is a problem in the report (exit 1),
    not the end of the check."""
    from archive.storage.verify import verify_store

    class Vanishing(LocalStore):
        def get(self, key, dest):
            if key in gone:
                raise ObjectMissing(f"{self.url}/{key} is not in the store")
            return super().get(key, dest)

    root = tmp_path / "store"
    root.mkdir()
    store = Vanishing(root)
    for name in ("A-1.warc.gz", "B-2.warc.gz"):
        store.put(_file(tmp_path, name, 100), warc_key(name))
        store.put(_file(tmp_path, name + ".cdxj", 50), index_key(name))
    gone = {warc_key("A-1.warc.gz"), index_key("B-2.warc.gz")}
    report = verify_store(store)
    messages = {(problem.file.rsplit("/", 1)[-1], problem.message) for problem in report.problems}
    assert any(file == "A-1.warc.gz" and "not in the store" in message for file, message in messages), messages
    assert any(file == "B-2.warc.gz" and "CDXJ index" in message and "not in the store" in message
               for file, message in messages), messages


def test_verify_store_reports_a_warc_file_deleted_from_the_store(tmp_path):
    """A stored WARC file deleted by hand (its CDXJ index left behind) is missing, not "OK": the store's own
    index remembers it."""
    from archive.storage.uploads import store_leftovers
    from archive.storage.verify import verify_store
    from tests.test_dedup import HTML, JPEG, Worker

    url = f"sqlite:///{tmp_path}/catalogue.sqlite"
    for crawl, page in (("crawl-1", "a"), ("crawl-2", "b")):
        worker = Worker(tmp_path / "w", url, crawl)
        worker.fetch(f"http://a.example/{page}.jpg", JPEG if page == "a" else JPEG + b"b", "image/jpeg", media=True)
        worker.fetch(f"http://a.example/{page}.html", HTML, "text/html")
        worker.close()
    (tmp_path / "store").mkdir()
    store = LocalStore(tmp_path / "store")
    assert store_leftovers(tmp_path / "w", store, catalogue_url=url, wait=5).ok
    stored = sorted(o.key for o in store.list("warc/") if o.key.endswith(".warc.gz"))
    # (These responses lack an IP address, a problem of their own: only what the deletion adds counts here.)
    before = {(p.file, p.message) for p in verify_store(store).problems}
    assert len(stored) == 2 and not any("missing" in message for _, message in before)
    store.delete(stored[-1])  # the last one: no later file's records point into it
    report = verify_store(store)
    added = [p for p in report.problems if (p.file, p.message) not in before]
    assert not report.ok and report.files == 1
    assert [(p.file, "missing from the store" in p.message) for p in added] == [
        (f"{store.url}/{stored[-1]}", True)], added


def test_verify_store_against_a_catalogue_notes_files_of_running_crawls_and_finds_lost_ones(tmp_path):
    """Against the catalogue: a file waiting in the data folder is fine, one of a running crawl (perhaps being
    written) a note, one of an ended crawl that is nowhere a problem."""
    from archive.storage.verify import verify_store

    class Catalogue:
        def ingested(self):
            return {"A-1-0-h-1.warc.gz": 10, "B-1-0-h-2.warc.gz": 10, "C-1-0-h-3.warc.gz": 10}

        def running_files(self):
            return {"B-1-0-h-2.warc.gz"}

    (tmp_path / "store").mkdir()
    (tmp_path / "warc").mkdir()
    (tmp_path / "warc" / "A-1-0-h-1.warc.gz").write_bytes(b"waiting to be stored")
    report = verify_store(LocalStore(tmp_path / "store"), catalogue=Catalogue(), local=tmp_path / "warc")
    assert [p.file.rsplit("/", 1)[-1] for p in report.problems] == ["C-1-0-h-3.warc.gz"], report.problems
    assert len(report.notes) == 1 and "B-1-0-h-2.warc.gz" in report.notes[0] and "running" in report.notes[0]


def test_verify_store_flags_an_s3_object_without_its_recorded_digest(s3_url, tmp_path):
    """A WARC file put in the bucket by something else (no x-amz-meta-sha256) is reported, one HEAD per file."""
    from archive.storage.verify import verify_store

    store = open_store(s3_url)
    ours, theirs = _file(tmp_path, "A-1.warc.gz", 100), _file(tmp_path, "B-2.warc.gz", 100, seed=3)
    store.put(ours, warc_key(ours.name))
    store.client.put_object(Bucket=store.bucket, Key=warc_key(theirs.name), Body=theirs.read_bytes())
    assert store.get(warc_key(ours.name), tmp_path / "a").recorded == hashlib.sha256(ours.read_bytes()).hexdigest()
    assert store.get(warc_key(theirs.name), tmp_path / "b").recorded is None
    heads = []
    real_head = store._head
    store._head = lambda key: heads.append(key) or real_head(key)
    report = verify_store(store)
    flagged = [p.file.rsplit("/", 1)[-1] for p in report.problems if "without its SHA-256" in p.message]
    assert flagged == [theirs.name]
    assert sorted(key for key in heads if key.endswith(".warc.gz")) == [warc_key(ours.name), warc_key(theirs.name)]
