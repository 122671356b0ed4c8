"""Replay the archive through pywb, run as a separate process.

pywb cannot live in the crawler's environment (see DEPENDENCIES in the
README), so it is found as a `wayback` executable: $PORTAL_ARCHIVE_WAYBACK,
then `.venv-pywb/bin/wayback` beside the project, then PATH.

The index is ours: one sorted CDXJ file per finished WARC file under
DATA/index/, made with cdxj-indexer and its default record types, POST
bodies appended to their keys (``--post-append``: a Hanweb dataproxy.jsp
POST replays when the same form is posted to pywb).  Our
metadata records are named `urn:pageinfo:<url>`, so they are indexed under
that name and never stand in for the page.  pywb merges every file in that
folder on each lookup, so indexing a new WARC is adding one file.
"""

from __future__ import annotations

import gzip
import logging
import os
import shutil
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from typing import TYPE_CHECKING

from archive.exits import Failed, Unavailable

if TYPE_CHECKING:
    from archive.storage import Store

logger = logging.getLogger(__name__)
COLLECTION = "archive"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ReplayError(Unavailable):
    """pywb cannot be found or started."""


def find_wayback() -> str:
    candidates = [os.environ.get("PORTAL_ARCHIVE_WAYBACK"), str(PROJECT_ROOT / ".venv-pywb" / "bin" / "wayback")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("wayback")
    if found:
        return found
    raise ReplayError(
        "pywb's `wayback` was not found: run `make install` (it creates .venv-pywb) "
        "or set PORTAL_ARCHIVE_WAYBACK to its path"
    )


@dataclass
class ReplayIndex:
    data: Path
    # WARC files the indexer could not read, with the modification time they had: not tried again until changed
    unreadable: dict[Path, float] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.data / "index"

    def update(self) -> list[Path]:
        """Index every finished WARC file that has no index yet; return the new ones.

        A file the indexer cannot read (damaged: `portal-archive verify` says where) is left out with a
        warning, and the others replay; an index folder that cannot be written is a Failed (exit 3)."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise Failed(f"cannot write the replay index in {self.folder}: {error.strerror or error}") from error
        added = []
        for warc in sorted((self.data / "warc").glob("*.warc.gz")):
            target = self.folder / (warc.name + ".cdxj")
            try:
                changed = warc.stat().st_mtime
                if target.exists() and target.stat().st_mtime >= changed or self.unreadable.get(warc) == changed:
                    continue
                index_warc(warc, target)
            except FileNotFoundError:
                continue  # moved to the store meanwhile (archive.storage.uploads)
            except (gzip.BadGzipFile, EOFError, zlib.error) as error:
                self._unreadable(warc, changed, error)
                continue
            except OSError as error:
                raise Failed(f"cannot write the replay index of {warc.name} in {self.folder}: "
                             f"{error.strerror or error}") from error
            except Exception as error:  # noqa: BLE001 - warcio's errors on a damaged file
                self._unreadable(warc, changed, error)
                continue
            added.append(warc)
        return added

    def _unreadable(self, warc: Path, changed: float, error: BaseException) -> None:
        self.unreadable[warc] = changed
        said = str(error).encode("ascii", "backslashreplace").decode("ascii")[:200]  # a record's raw bytes
        logger.warning("%s cannot be indexed, so it is not replayed (%s: %s); run portal-archive verify",
                       warc.name, type(error).__name__, said)


def index_warc(warc: Path, target: Path) -> Path:
    """Write the sorted CDXJ index of one WARC file to `target` (via TARGET.part, renamed when whole).

    Its records name the file by its bare name, which is how pywb finds it
    under any archive path (DATA/warc/, or a store's warc/ prefix).
    Raises OSError when it cannot be written (the partial file is removed).
    """
    with warnings.catch_warnings():
        # cdxj-indexer pulls in pyamf, which imports the deprecated pkg_resources.
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
        from cdxj_indexer.main import write_cdx_index

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    try:
        if not Path(warc).is_file():
            raise FileNotFoundError(2, "No such file", str(warc))
        # POST bodies go into the key (--post-append): a dataproxy.jsp POST replays when the same form is posted.
        write_cdx_index(str(partial), [str(warc)], {"sort": True, "post_append": True})
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


@dataclass
class StoredIndex:
    """The CDXJ indexes of a store's WARC files (`index/*.cdxj`), copied into DATA/replay/store-index/.

    pywb merges them with the local index and reads the WARC records
    themselves from the store, with range requests (`write_config`).  A file
    still in DATA/warc/ is indexed locally instead.
    """

    data: Path
    store: "Store"

    @property
    def folder(self) -> Path:
        return self.data / "replay" / "store-index"

    def update(self) -> list[str]:
        """Copy the indexes not copied yet; return the WARC file names they index."""
        from archive.storage import ObjectMissing
        from archive.storage.api import INDEX

        self.folder.mkdir(parents=True, exist_ok=True)
        added = []
        for stored in self.store.list(INDEX):
            name = stored.name
            if not name.endswith(".cdxj"):
                continue
            target = self.folder / name
            if (self.data / "warc" / name.removesuffix(".cdxj")).is_file():
                target.unlink(missing_ok=True)  # still local: DATA/index/ has it
                continue
            if target.is_file() and target.stat().st_size == stored.size:
                continue
            try:
                self.store.get(stored.key, target)
            except ObjectMissing:
                continue  # deleted meanwhile
            added.append(name.removesuffix(".cdxj"))
        return added


def write_config(data: Path, store: "Store | None" = None) -> Path:
    """A pywb config.yaml under DATA/replay/ pointing at our index and WARCs (and the store's, if given).

    With a store, pywb reads records from `store.reader_url("warc/")` (an
    s3:// URL: through boto3, with range requests, at AWS_ENDPOINT_URL) after
    trying DATA/warc/.
    """
    folder = data / "replay"
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.yaml"
    lines = ["# Written by portal-archive replay; rewritten on every start.", "collections:", f"  {COLLECTION}:"]
    local_index, local_warc = f"{(data / 'index').resolve()}/", f"{(data / 'warc').resolve()}/"
    if store is None:
        lines += [f"    index_paths: {local_index}", f"    archive_paths: {local_warc}"]
    else:
        (data / "index").mkdir(parents=True, exist_ok=True)
        lines += ["    index_group:", f"      local: {local_index}",
                  f"      stored: {StoredIndex(data, store).folder.resolve()}/",
                  "    archive_paths:", f"      - {local_warc}", f"      - {store.reader_url('warc/')}"]
    # Memento (RFC 7089): TimeMaps at /archive/timemap/link/URL; a TimeGate request (/archive/URL with
    # Accept-Datetime) is redirected to the nearest memento's own URL, as Memento clients expect.
    lines += ["framed_replay: true", "enable_memento: true", "redirect_to_exact: true", ""]
    config.write_text("\n".join(lines), encoding="utf-8")
    return config


def replay_url(base: str, timestamp: str, url: str, mode: str = "") -> str:
    """`mode` is '' (framed page), 'mp_' (rewritten content) or 'id_' (as captured)."""
    return f"{base.rstrip('/')}/{COLLECTION}/{timestamp}{mode}/{url}"


def timemap_url(base: str, url: str) -> str:
    """pywb's Memento TimeMap (RFC 7089, link format) of `url`: every capture, with its datetime."""
    return f"{base.rstrip('/')}/{COLLECTION}/timemap/link/{url}"


def timegate_url(base: str, url: str) -> str:
    """pywb's Memento TimeGate for `url`: send Accept-Datetime, get redirected to the nearest capture."""
    return f"{base.rstrip('/')}/{COLLECTION}/{url}"
