"""Uploads from a data folder to a store (archive.storage.uploads), as units on a file:// store.

A file is deleted locally only once stored, checked and folded into the
catalogue; every failure (store away, damaged bytes, full local disk) is
retried with backoff and leaves the file where it was.
"""

from __future__ import annotations

import errno
import hashlib
import time

import pytest

from archive.replay import index_warc as real_index_warc
from archive.storage import open_store
from archive.storage.uploads import CatalogueFolds, Uploads, store_leftovers
from tests.test_dedup import HTML, JPEG, Worker


def _data(tmp_path, names=("A-20240101000000000-00000-h-1.warc.gz", "A-20240101000000001-00001-h-1.warc.gz")):
    data = tmp_path / "data"
    (data / "warc").mkdir(parents=True)
    (data / "items").mkdir()
    paths = []
    for number, name in enumerate(names):
        path = data / "warc" / name
        path.write_bytes(b"WARC bytes %d " % number * 1000)
        paths.append(path)
    return data, paths


@pytest.fixture
def store(tmp_path):
    (tmp_path / "store").mkdir()
    return open_store(f"file://{tmp_path}/store")


@pytest.fixture(autouse=True)
def plain_index(monkeypatch):
    """These files are not real WARC files: index them as cdxj-indexer would name its output, with one line."""
    def index_warc(warc, target):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f'x 2024 {{"filename": "{warc.name}"}}\n')
        return target

    monkeypatch.setattr("archive.replay.index_warc", index_warc)


def test_files_go_up_with_their_index_and_leave_only_when_folded(tmp_path, store):
    data, paths = _data(tmp_path)
    folded = {paths[0]}
    uploads = Uploads(data, store, folded=lambda path: path in folded)
    uploads.start()
    for path in paths:
        uploads.submit(path)
    deadline = time.monotonic() + 10
    while paths[0].exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not paths[0].exists() and paths[1].exists()  # the second waits for the catalogue
    assert not (data / "index" / (paths[0].name + ".cdxj")).exists()
    folded.add(paths[1])
    summary = uploads.finish(5)
    assert summary.ok and summary.failures == 0 and not summary.kept
    assert not paths[1].exists()
    assert sorted(o.key for o in store.list()) == sorted(
        [f"warc/{p.name}" for p in paths] + [f"index/{p.name}.cdxj" for p in paths])
    assert summary.bytes == sum(o.size for o in store.list())


def test_unfolded_files_are_stored_but_kept(tmp_path, store):
    data, paths = _data(tmp_path)
    uploads = Uploads(data, store, folded=lambda path: False)
    uploads.sweep()
    summary = uploads.run_now(2)
    assert summary.ok and summary.kept == sorted(p.name for p in paths)
    assert all(p.exists() for p in paths) and store.exists(f"warc/{paths[0].name}")
    # The next sweep (the catalogue has them now) only releases them: nothing is uploaded again.
    again = Uploads(data, store, folded=lambda path: True)
    again.sweep()
    assert again.run_now(2).ok and not any(p.exists() for p in paths)


def test_store_away_keeps_files_and_retries_with_backoff_until_it_returns(tmp_path):
    data, paths = _data(tmp_path)
    root = tmp_path / "later"
    store = open_store(f"file://{root}")  # not mounted yet
    uploads = Uploads(data, store, retry_max=0.2)
    uploads.sweep()
    started = time.monotonic()
    summary = uploads.run_now(1.0)
    assert time.monotonic() - started < 3
    assert summary.pending == sorted(p.name for p in paths) and not summary.ok
    assert summary.failures >= 4 and "is it mounted" in summary.last_error  # 1 s budget, pauses of at most 0.2 s
    assert all(p.exists() for p in paths)
    root.mkdir()
    later = Uploads(data, store)
    later.sweep()
    assert later.run_now(5).ok and not any(p.exists() for p in paths)


def test_backoff_doubles_to_its_cap(tmp_path, store, monkeypatch):
    data, paths = _data(tmp_path, names=("A-1-0-h-1.warc.gz",))
    clock = [0.0]
    uploads = Uploads(data, store, retry_max=8, clock=lambda: clock[0])
    calls = []

    def failing_put(path, key, **kwargs):
        calls.append(clock[0])
        from archive.storage import StoreUnavailable

        raise StoreUnavailable("down")

    monkeypatch.setattr(store, "put", failing_put)
    uploads.submit(paths[0])
    for _ in range(7):
        job = uploads._jobs[0]
        clock[0] = job.due
        uploads._deadline = clock[0] + 1e-9
        uploads._run()
        uploads._deadline = None
    assert [b - a for a, b in zip(calls, calls[1:])] == [1, 2, 4, 8, 8, 8]
    assert paths[0].exists()


def test_store_that_corrupts_never_keeps_a_damaged_object_nor_loses_the_file(tmp_path, store, monkeypatch):
    data, paths = _data(tmp_path, names=("A-1-0-h-1.warc.gz",))

    def corrupting_copy(source, out):
        chunk = bytearray(source.read())
        chunk[3] ^= 0x01
        out.write(chunk)

    monkeypatch.setattr(store, "_copy", corrupting_copy)
    uploads = Uploads(data, store, retry_max=0.1)
    uploads.sweep()
    summary = uploads.run_now(0.5)
    assert summary.pending == [paths[0].name] and summary.damaged == summary.failures >= 2
    assert "SHA-256 after upload" in summary.last_error
    assert paths[0].exists() and not store.exists(f"warc/{paths[0].name}")


def test_full_local_disk_while_indexing_is_retried_and_leaves_no_partial_index(tmp_path, store, monkeypatch):
    data, paths = _data(tmp_path, names=("A-1-0-h-1.warc.gz",))
    tries = []

    def full(warc, target):
        tries.append(target)
        target.with_name(target.name + ".part").unlink(missing_ok=True)
        raise OSError(errno.ENOSPC, "No space left on device (injected)")

    monkeypatch.setattr("archive.replay.index_warc", full)
    uploads = Uploads(data, store, retry_max=0.1)
    uploads.sweep()
    summary = uploads.run_now(0.5)
    assert len(tries) >= 2 and "No space left" in summary.last_error and summary.pending == [paths[0].name]
    assert paths[0].exists() and list(store.list()) == [] and not list((data / "index").glob("*"))


def test_a_damaged_local_warc_file_is_reported_damaged_not_the_store_away(tmp_path, store, monkeypatch, caplog):
    """A leftover that cdxj-indexer cannot read is the file's fault: counted damaged (`upload` exits 7, not 8
    "the store did not answer"), one line a try instead of a traceback, and the file kept."""
    monkeypatch.setattr("archive.replay.index_warc", real_index_warc)
    data, paths = _data(tmp_path, names=("A-1-0-h-1.warc.gz",))
    paths[0].write_bytes(hashlib.shake_256(b"rot").digest(5000))  # not WARC at all
    uploads = Uploads(data, store, retry_max=0.1)
    uploads.sweep()
    summary = uploads.run_now(0.5)
    assert summary.pending == [paths[0].name] and summary.damaged == summary.failures >= 2
    assert "cannot be indexed, it is damaged" in summary.last_error
    assert "Unexpected error" not in caplog.text
    assert paths[0].exists() and list(store.list()) == []


def test_sweep_takes_leftovers_items_and_digest_lists_but_not_a_crawl_still_writing(tmp_path, store):
    data, paths = _data(tmp_path)
    (data / "warc" / "c1.sha256").write_text("digests\n")
    (data / "warc" / "c1.sha256.tsr").write_bytes(b"token")
    (data / "warc" / "B-1-0-h-2.warc.gz.open").write_bytes(b"being written")
    (data / "items" / "c1.jsonl").write_text('{"a": 1}\n')
    (data / "items" / "c2.jsonl").write_text('{"b": 1}\n')
    uploads = Uploads(data, store)
    assert uploads.sweep(skip_items={"c2"}) == 2
    assert uploads.run_now(5).ok
    keys = {o.key for o in store.list()}
    assert {"warc/c1.sha256", "warc/c1.sha256.tsr", "items/c1.jsonl"} <= keys
    assert "items/c2.jsonl" not in keys and not any(k.endswith(".open") for k in keys)
    assert (data / "items" / "c1.jsonl").exists() and (data / "warc" / "c1.sha256").exists()  # kept: small, grow
    # An items file that grew (a resumed crawl) replaces its stored copy.
    (data / "items" / "c1.jsonl").write_text('{"a": 1}\n{"a": 2}\n')
    again = Uploads(data, store)
    again.sweep()
    assert again.run_now(5).ok
    with store.open("items/c1.jsonl") as stream:
        assert stream.read().count(b"\n") == 2


def test_catalogue_folds_only_files_it_holds_to_their_last_record(tmp_path):
    url = f"sqlite:///{tmp_path}/catalogue.sqlite"
    worker = Worker(tmp_path / "w", url, "crawl-1")
    worker.fetch("http://a.example/1.jpg", JPEG, "image/jpeg", media=True)
    worker.fetch("http://a.example/a.html", HTML, "text/html")
    worker.close()
    (path,) = sorted((tmp_path / "w" / "warc").glob("*.warc.gz"))
    assert CatalogueFolds(tmp_path / "w", url)(path)
    assert not CatalogueFolds(tmp_path / "w", f"sqlite:///{tmp_path}/other.sqlite")(path)  # (no such catalogue)
    from archive.warc.writer import WarcWriter

    info = {"robots": "obey", "http-header-user-agent": "t", "operator": "t", "isPartOf": "crawl-1"}
    with WarcWriter(tmp_path / "other", warcinfo=info) as other:
        other.write_metadata(target_uri="urn:x", concurrent_to=None, date=other._clock(),
                             payload=b'{"type": "listing", "entries": []}')
    with open(path, "ab") as extra:  # records the catalogue never saw
        extra.write(other.finished[0].read_bytes())
    assert not CatalogueFolds(tmp_path / "w", url)(path)


def test_store_leftovers_recovers_catches_up_and_stores(tmp_path, store):
    url = f"sqlite:///{tmp_path}/catalogue.sqlite"
    worker = Worker(tmp_path / "w", url, "crawl-1")
    worker.fetch("http://a.example/1.jpg", JPEG, "image/jpeg", media=True)
    worker.close()
    summary = store_leftovers(tmp_path / "w", store, catalogue_url=url, wait=5)
    assert summary.ok and not list((tmp_path / "w" / "warc").glob("*.warc.gz"))
    assert any(k.startswith("warc/") and k.endswith(".warc.gz") for k in (o.key for o in store.list()))


def test_the_extension_hands_files_to_the_upload_thread_without_waiting(tmp_path, store, monkeypatch):
    """The reactor thread only queues: a store that hangs does not hold up the crawl."""
    import threading

    from crawler.extensions.store import StoreUploads
    from crawler.pipelines.warc import warc_file_finished
    from tests.test_pipelines import project_crawler

    data, paths = _data(tmp_path)
    crawler = project_crawler(ARCHIVE_DATA_DIR=str(data), ARCHIVE_STORE=store.url, ARCHIVE_STORE_RETRY_MAX=1,
                              ARCHIVE_CATALOGUE=f"sqlite:///{tmp_path}/none.sqlite")
    crawler.stats.open_spider()
    extension = StoreUploads.from_crawler(crawler)
    extension.uploads.folded = lambda path: True
    release, entered = threading.Event(), threading.Event()
    real_put = store.put

    def hanging_put(path, key, **kwargs):
        entered.set()
        release.wait(30)
        return real_put(path, key, **kwargs)

    monkeypatch.setattr(extension.uploads.store, "put", hanging_put)
    extension.uploads.start()
    started = time.monotonic()
    crawler.signals.send_catch_log(signal=warc_file_finished, path=paths[0])
    assert entered.wait(10)  # the upload thread is inside put() ...
    crawler.signals.send_catch_log(signal=warc_file_finished, path=paths[1])
    assert time.monotonic() - started < 5  # ... and the sender was never held up
    assert paths[0].exists()
    release.set()
    summary = extension.uploads.finish(10)
    extension._report(summary)
    stats = crawler.stats.get_stats()
    assert stats["archive/store_pending"] == 0 and stats["archive/store_objects"] == 4
    assert not any(p.exists() for p in paths)


def test_reindex_refuses_a_local_copy_that_differs_from_the_stored_one(tmp_path, store):
    """A local WARC file cut short at a record boundary (still valid WARC) beside its stored copy: folding the
    local one would rebuild a catalogue missing records, exit 0; the reindex refuses instead (exit 7)."""
    from warcio.archiveiterator import ArchiveIterator

    from archive.catalogue import open_catalogue
    from archive.catalogue.rebuild import reindex
    from archive.exits import Damaged

    data = tmp_path / "w"
    url = f"sqlite:///{data}/catalog.sqlite"
    worker = Worker(data, url, "crawl-1")
    worker.fetch("http://a.example/1.jpg", JPEG, "image/jpeg", media=True)
    worker.fetch("http://a.example/a.html", HTML, "text/html")
    worker.close()
    (path,) = (data / "warc").glob("*.warc.gz")
    store.put(path, f"warc/{path.name}")
    reindex(data, store=store)  # the same bytes in both places: fine
    with open_catalogue(data, readonly=True) as catalogue:
        before = catalogue.counts()
    assert before["captures"] == 2
    with open(path, "rb") as stream:
        offsets = list(_offsets(ArchiveIterator(stream)))
    with open(path, "r+b") as stream:
        stream.truncate(offsets[-1])  # the last record gone: what is left is whole records
    with pytest.raises(Damaged, match=f"{path.name}.*in the store"):
        reindex(data, store=store)
    with open_catalogue(data, readonly=True) as catalogue:
        assert catalogue.counts() == before


def _offsets(records):
    for record in records:
        yield records.get_record_offset()
