"""`verify --store`: check every WARC file in a store as `verify` checks a data folder's.

For each stored `warc/*.warc.gz`, fetched into a temporary folder one at a
time (memory and disk do not grow with the store):

* its SHA-256 against the digest it was stored with (`x-amz-meta-sha256`)
  and against its crawl's digest list (`warc/CRAWL.sha256`), when there is one;
* every gzip member, every record's fields and both WARC digests, the
  request/response pairs, metadata records naming a capture of their crawl
  (`archive.warc.verify`, warcio's rules);
* its CDXJ index (`index/NAME.cdxj`) is there, not empty, and names this file.

A WARC file that is gone from the store while its CDXJ index or its
crawl's digest list is still there (deleted by hand, by a lifecycle rule)
is a problem too: the store itself remembers that it held it.

Files of one writer (host and process) are checked together, in order, so
a metadata record in a file after its capture's is matched across workers'
interleaved files.  Items files are not checked here (`verify --data`
checks items against local WARC files).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from archive.storage.api import INDEX, WARC, ObjectMissing, Store, StoreDamaged, index_key, warc_key
from archive.warc.verify import Problem, Progress, Report, _Verifier

DIGEST_LIST = ".sha256"


def writer_order(name: str) -> tuple[str, str]:
    """Sort key: the writer (HOST-PID after PREFIX-STAMP-SERIAL-), then the name (its timestamp)."""
    parts = name.split("-", 3)
    return (parts[3] if len(parts) == 4 else "", name)


def verify_store(store: Store, *, progress: Progress | None = None, workdir: Path | None = None,
                 catalogue: Any = None, local: Path | None = None) -> Report:
    """Check every WARC file in `store`; problems go in the report (StoreUnavailable if it cannot be read).

    With a `catalogue`, each WARC file it holds records of must be in the
    store or in `local` (a data folder's warc/, where files wait to be
    stored); one of a crawl still running is a note (it may be the file
    being written), any other a problem.
    """
    from archive.evidence.attest import parse_manifest

    with tempfile.TemporaryDirectory(prefix="verify-store-", dir=workdir) as tmp:
        verifier = _Verifier(Path(tmp), progress)
        verifier.report.data_dir = store.url
        listed = list(store.list(WARC))
        warcs = sorted((o for o in listed if o.name.endswith(".warc.gz")), key=lambda o: writer_order(o.name))
        indexes = {o.name: o for o in store.list(INDEX)}
        listed_digests: dict[str, str] = {}
        for manifest in (o for o in listed if o.name.endswith(DIGEST_LIST)):
            with store.open(manifest.key) as stream:
                text = stream.read().decode("utf-8", "replace")
            listed_digests.update({name: digest for digest, name in parse_manifest(text)})
        _check_missing({o.name for o in warcs}, indexes, listed_digests, store, verifier.problem)
        fetched_into = Path(tmp) / "warc"
        for number, stored in enumerate(warcs, 1):
            rel = f"{store.url}/{stored.key}"
            if progress:
                progress(rel, number, len(warcs))
            path = fetched_into / stored.name
            try:
                fetched = store.get(stored.key, path)
            except (StoreDamaged, ObjectMissing) as error:  # damaged, or deleted since it was listed
                verifier.report.files += 1
                verifier.problem(rel, str(error))
                continue
            try:
                if fetched.recorded is None and store.url.startswith("s3:"):
                    verifier.problem(rel, "stored without its SHA-256 (x-amz-meta-sha256): not uploaded by "
                                          "portal-archive, or metadata lost")
                if stored.name in listed_digests and listed_digests[stored.name] != fetched.sha256:
                    verifier.problem(rel, f"SHA-256 {fetched.sha256} differs from its crawl's digest list "
                                          f"({listed_digests[stored.name]})")
                verifier.scan_path(path, rel)
                _check_index(store, stored.name, indexes, verifier.problem, Path(tmp))
            finally:
                path.unlink(missing_ok=True)
        if catalogue is not None:
            _check_catalogue(catalogue, {o.name for o in warcs}, local, store, verifier.report)
        return verifier.report


def _check_catalogue(catalogue: Any, present: set[str], local: Path | None, store: Store, report: Report) -> None:
    """The files the catalogue holds records of that are neither in the store nor waiting in `local`."""
    from archive.warc.recovery import OPEN_SUFFIX

    waiting = {p.name.removesuffix(OPEN_SUFFIX) for p in local.glob("*.warc.gz*")} if local and local.is_dir() \
        else set()
    missing = sorted(set(catalogue.ingested()) - present - waiting)
    running = catalogue.running_files() if missing else set()
    for name in missing:
        where = f"{store.url}/{warc_key(name)}"
        if name in running:
            report.notes.append(f"{where} is not in the store yet: its crawl is still running (or was killed "
                                f"and its folder not crawled since)")
        else:
            report.problems.append(Problem(where, "missing: the catalogue holds records of it, but it is neither "
                                                  "in the store nor in the data folder (still in a worker's "
                                                  "folder? `portal-archive upload` there stores it)"))


def _check_missing(present: set[str], indexes: dict, listed_digests: dict[str, str], store: Store,
                   problem: Callable[..., None]) -> None:
    """WARC files the store's own indexes and digest lists name that are not in the store (any more)."""
    suffix = index_key("")[len(INDEX):]
    named = {name.removesuffix(suffix): f"its CDXJ index {INDEX}{name} is there" for name in indexes
             if name.endswith(".warc.gz" + suffix)}
    named.update({name: "its crawl's digest list names it" for name in listed_digests})
    for name in sorted(set(named) - present):
        problem(f"{store.url}/{warc_key(name)}", f"missing from the store, though {named[name]} (deleted? "
                                                 "replay and reindex cannot read the records it held)")


def _check_index(store: Store, name: str, indexes: dict, problem: Callable[..., None], tmp: Path) -> None:
    key = index_key(name)
    rel = f"{store.url}/{warc_key(name)}"
    found = indexes.get(key[len(INDEX):])
    if found is None:
        problem(rel, f"no CDXJ index ({key}): replay from the store will not find its records")
        return
    path = tmp / "index.cdxj"
    try:
        store.get(found.key, path)
    except (StoreDamaged, ObjectMissing) as error:
        problem(rel, f"its CDXJ index {found.key}: {error}")
        return
    lines = 0
    try:
        with open(path, encoding="utf-8") as index:
            for line in index:
                if not line.strip() or line.startswith("!"):
                    continue
                lines += 1
                fields = json.loads(line.split(" ", 2)[2])
                if fields.get("filename") != name:
                    problem(rel, f"its CDXJ index names {fields.get('filename')!r}, not this file")
                    return
    except (ValueError, IndexError) as error:
        problem(rel, f"its CDXJ index is not CDXJ: {error}")
        return
    finally:
        path.unlink(missing_ok=True)
    if not lines:
        problem(rel, "its CDXJ index is empty")
