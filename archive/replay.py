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

A recheck answered 304 is a server-not-modified revisit: an HTTP head
without a body.  pywb replays any revisit whose status is a 3xx as it is,
so the latest capture of every unchanged article would be an empty 304.
Its index line is pointed at the response it says is unchanged instead
(`point_at_originals`), the same record the revisit's payload digest names.
"""

from __future__ import annotations

import gzip
import json
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


# What the index files hold, in DATA/index/.layout (and DATA/replay/store-index/.layout): an index made
# before (no such file, or another value) is made (or copied) again, once.  2: 304 revisits pointed at their originals, cut captures beside whole ones left out.
LAYOUT = "2"


@dataclass
class ReplayIndex:
    data: Path
    # WARC files the indexer could not read, with the modification time they had: not tried again until changed
    unreadable: dict[Path, float] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.data / "index"

    def update(self) -> list[Path]:
        """Index every finished WARC file that has no index yet (or one of an older LAYOUT); return them.

        A file the indexer cannot read (damaged: `portal-archive verify` says where) is left out with a
        warning, and the others replay; an index folder that cannot be written is a Failed (exit 3)."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise Failed(f"cannot write the replay index in {self.folder}: {error.strerror or error}") from error
        added = []
        made_by = self.folder / ".layout"
        current = _layout_is_current(made_by)
        try:
            warcs = sorted(entry.path for entry in os.scandir(self.data / "warc") if entry.name.endswith(".warc.gz"))
        except OSError as error:  # not listable now (unmounted, no permission): keep every index, try again later
            logger.warning("cannot list %s: %s", self.data / "warc", error.strerror or error)
            return []
        self._forget_gone({Path(path).name for path in warcs})
        for warc in map(Path, warcs):
            target = self.folder / (warc.name + ".cdxj")
            try:
                changed = warc.stat().st_mtime
                if self.unreadable.get(warc) == changed:
                    continue
                if current and target.exists() and target.stat().st_mtime >= changed:
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
        try:  # after the loop: an original may be in a file indexed after its revisit
            point_at_originals([self.folder / (warc.name + ".cdxj") for warc in added],
                               [self.folder, self.data / STORE_INDEX])
        except OSError as error:
            raise Failed(f"cannot write the replay index in {self.folder}: {error.strerror or error}") from error
        if not current:
            try:
                made_by.write_text(LAYOUT + "\n", encoding="ascii")
            except OSError as error:
                raise Failed(f"cannot write {made_by}: {error.strerror or error}") from error
        return added

    def _forget_gone(self, present: set[str]) -> None:
        """Remove the index of each WARC file no longer in DATA/warc/ (deleted, moved away by hand, stored
        and released): pywb would list its captures and answer each with a 503."""
        for index in self.folder.glob("*.warc.gz.cdxj"):
            if index.name.removesuffix(".cdxj") not in present:
                try:
                    index.unlink()
                except FileNotFoundError:
                    continue
                except OSError as error:
                    raise Failed(f"cannot remove {index}: {error.strerror or error}") from error
                logger.warning("%s is gone from %s: its captures are no longer replayed",
                               index.name.removesuffix(".cdxj"), self.data / "warc")

    def _unreadable(self, warc: Path, changed: float, error: BaseException) -> None:
        self.unreadable[warc] = changed
        said = str(error).encode("ascii", "backslashreplace").decode("ascii")[:200]  # a record's raw bytes
        logger.warning("%s cannot be indexed, so it is not replayed (%s: %s); run portal-archive verify",
                       warc.name, type(error).__name__, said)


def _layout_is_current(made_by: Path) -> bool:
    try:
        return made_by.read_text(encoding="ascii", errors="replace").strip() == LAYOUT
    except OSError:
        return False


def index_warc(warc: Path, target: Path) -> Path:
    """Write the sorted CDXJ index of one WARC file to `target` (via TARGET.part, renamed when whole).

    Its records name the file by its bare name, which is how pywb finds it
    under any archive path (DATA/warc/, or a store's warc/ prefix).  A body
    cut in transfer is archived (WARC-Truncated) and fetched again, usually
    within the same second: that cut capture is left out when the file holds
    a whole one of the same URL, or pywb might serve half an image (see
    `leave_out_cut_captures`).
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
        write_cdx_index(str(partial), [str(warc)], {"sort": True, "post_append": True, "fields": TRUNCATED})
        leave_out_cut_captures(partial)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


TRUNCATED = "warc-truncated"  # the WARC header, as a field of the index lines (pywb ignores it)


def leave_out_cut_captures(index: Path) -> None:
    """Drop from `index` each line of a WARC-Truncated record whose URL key also has a line without one.

    pywb picks among captures of one second by their order in the index,
    and a page's images are looked up at the page's time, the closest
    first: a cut image captured a moment before its whole retry was served
    with the page.  A URL whose every capture was cut keeps them (part of a
    page is what there is).  The records stay in the WARC file.
    """
    text = index.read_text(encoding="utf-8")
    if f'"{TRUNCATED}"' not in text:
        return
    lines = text.splitlines(keepends=True)
    whole = {line.split(" ", 1)[0] for line in lines if TRUNCATED not in split_line(line)[2]}
    kept = [line for line in lines if TRUNCATED not in split_line(line)[2] or line.split(" ", 1)[0] not in whole]
    index.write_text("".join(kept), encoding="utf-8")


def _not_modified(line: str) -> tuple[str, str, str, dict] | None:
    """(urlkey, timestamp, digest, fields) of a server-not-modified revisit's index line, else None."""
    key, stamp, fields = split_line(line)
    if fields.get("mime") == "warc/revisit" and fields.get("status") == "304" and fields.get("digest"):
        return key, stamp, fields["digest"], fields
    return None


def split_line(line: str) -> tuple[str, str, dict]:
    parts = line.rstrip("\n").split(" ", 2)
    try:
        fields = json.loads(parts[2]) if len(parts) == 3 else {}
    except ValueError:
        fields = {}
    return parts[0], parts[1] if len(parts) > 1 else "", fields if isinstance(fields, dict) else {}


def point_at_originals(indexes: list[Path], folders: list[Path]) -> int:
    """Point each 304 revisit line of `indexes` at the response it says is unchanged; return how many.

    The response is found as pywb finds a revisit's original: in any index
    file of `folders`, the same URL key and payload digest, not a revisit,
    captured at or before the revisit (the latest such).  A revisit whose
    response is in no index keeps its line (pywb then replays it empty).
    The line keeps its own URL key and time, so the TimeMap still lists the
    recheck, and takes the response's file, offset, length, type and status.
    The folders are read once for all `indexes` (every file, after an upgrade).
    An index file gone meanwhile (stored and released) is passed over.
    """
    found: dict[Path, tuple[list[str], dict[int, tuple[str, str, str, dict]]]] = {}
    for index in indexes:
        try:
            lines = index.read_text(encoding="utf-8").splitlines(keepends=True)
        except FileNotFoundError:
            continue
        revisits = {n: seen for n, line in enumerate(lines) if (seen := _not_modified(line))}
        if revisits:
            found[index] = lines, revisits
    wanted = {(key, digest) for _, revisits in found.values() for key, _, digest, _ in revisits.values()}
    originals = _originals(wanted, folders) if wanted else {}
    pointed = 0
    for index, (lines, revisits) in found.items():
        changed = 0
        for n, (key, stamp, digest, fields) in revisits.items():
            earlier = [seen for seen in originals.get((key, digest), []) if seen[0] <= stamp]
            if earlier:
                moved = max(earlier, key=lambda seen: seen[0])[1]
                lines[n] = f"{key} {stamp} {json.dumps({**fields, **moved})}\n"
                changed += 1
        if changed:
            partial = index.with_name(index.name + ".part")
            try:
                partial.write_text("".join(lines), encoding="utf-8")
                os.replace(partial, index)
            finally:
                partial.unlink(missing_ok=True)
        pointed += changed
    return pointed


# What a pointed 304 line takes from its response: the record's place, type and status (and, in a WACZ
# index, py-wacz's recordDigest of those bytes, which `verify --package` checks).
WHERE = ("mime", "status", "length", "offset", "filename", "recordDigest")


def _originals(wanted: set[tuple[str, str]], folders: list[Path]) -> dict[tuple[str, str], list[tuple[str, dict]]]:
    """(URL key, digest) -> [(time, where)] of the responses (not revisits) in the index files of `folders`."""
    keys = {key for key, _ in wanted}
    originals: dict[tuple[str, str], list[tuple[str, dict]]] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.cdxj")) if folder.is_dir() else []:
            with open(path, encoding="utf-8", errors="replace") as lines:
                for line in lines:
                    if line.split(" ", 1)[0] not in keys:
                        continue
                    key, stamp, fields = split_line(line)
                    if fields.get("mime") != "warc/revisit" and (key, fields.get("digest")) in wanted:
                        where = {name: fields[name] for name in WHERE if name in fields}
                        originals.setdefault((key, fields["digest"]), []).append((stamp, where))
    return originals


STORE_INDEX = "replay/store-index"


@dataclass
class StoredIndex:
    """The CDXJ indexes of a store's WARC files (`index/*.cdxj`), copied into DATA/replay/store-index/.

    pywb merges them with the local index and reads the WARC records
    themselves from the store, with range requests (`write_config`).  A file
    still in DATA/warc/ is indexed locally instead.  A copy's 304 revisits
    are pointed at their originals (`point_at_originals`), which changes its
    size, so NAME.cdxj.stored keeps the size of what was copied.
    """

    data: Path
    store: "Store"

    @property
    def folder(self) -> Path:
        return self.data / STORE_INDEX

    def update(self) -> list[str]:
        """Copy the indexes not copied yet; return the WARC file names they index."""
        from archive.storage import ObjectMissing
        from archive.storage.api import INDEX

        self.folder.mkdir(parents=True, exist_ok=True)
        added = []
        made_by = self.folder / ".layout"
        current = _layout_is_current(made_by)
        for stored in self.store.list(INDEX):
            name = stored.name
            if not name.endswith(".cdxj"):
                continue
            target = self.folder / name
            if (self.data / "warc" / name.removesuffix(".cdxj")).is_file():
                target.unlink(missing_ok=True)  # still local: DATA/index/ has it
                continue
            copied = target.with_name(name + ".stored")
            if current and target.is_file() and _size_copied(target, copied) == stored.size:
                continue
            try:
                self.store.get(stored.key, target)
            except ObjectMissing:
                continue  # deleted meanwhile
            copied.write_text(str(stored.size), encoding="ascii")
            added.append(name)
        point_at_originals([self.folder / name for name in added], [self.folder, self.data / "index"])
        if not current:
            made_by.write_text(LAYOUT + "\n", encoding="ascii")
        return [name.removesuffix(".cdxj") for name in added]


def _size_copied(target: Path, copied: Path) -> int:
    """The size of the store's index when it was copied to `target` (its own size, if never rewritten)."""
    try:
        return int(copied.read_text(encoding="ascii"))
    except (OSError, ValueError):
        return target.stat().st_size


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
