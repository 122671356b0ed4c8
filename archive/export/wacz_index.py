"""A WACZ's index made to replay as `portal-archive replay` replays (`archive.replay`).

py-wacz's `wacz create` indexes every record as it is.  A player then
replays a recheck answered 304 (a server-not-modified revisit) as an empty
page, the latest capture of every unchanged article, and may serve a body
cut in transfer (WARC-Truncated) instead of its whole retry of the same
second.  `replay_index` rewrites the package's index with replay's own two
steps, `leave_out_cut_captures` and `point_at_originals`, before the
package is verified and sealed: `indexes/index.cdx.gz` (ZipNum blocks of
py-wacz's size, each gzipped alone, stored so a player reads it by range),
`indexes/index.idx` (each block's first key, offset, length and sha256),
their hash and size in `datapackage.json`, and `datapackage-digest.json`.
The WARC records are left as they are.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tempfile
import warnings
import zipfile
from collections import Counter
from pathlib import Path
from typing import BinaryIO

from archive.evidence.package import INDEX, INDEX_IDX, open_package
from archive.evidence.seal import DATAPACKAGE, DIGEST_FILE, replace_entries
from archive.evidence.zipped import entry_file
from archive.replay import TRUNCATED, leave_out_cut_captures, point_at_originals, split_line
from archive.warc.errors import WarcError
from archive.warc.reader import read_member_at

BLOCK_LINES = 1024  # py-wacz's DEFAULT_NUM_LINES: index lines per gzip block of index.cdx.gz


def replay_index(path: Path) -> int:
    """Rewrite the index of the WACZ at `path` as replay's; return how many lines changed (0: left as it was)."""
    path = Path(path)
    with open_package(path) as package:
        if INDEX not in package.namelist():
            return 0
        with package.open(INDEX) as compressed, gzip.GzipFile(fileobj=compressed) as lines:
            text = lines.read().decode("utf-8")  # streamed: not bound by open_package's whole-entry limit
        marked = _mark_cut_captures(path, package, text.splitlines(keepends=True))
    with tempfile.TemporaryDirectory(prefix="wacz-index-") as folder:
        index = Path(folder) / "index.cdxj"
        index.write_text("".join(marked), encoding="utf-8")
        leave_out_cut_captures(index)
        pointed = point_at_originals([index], [Path(folder)])
        lines = [_unmarked(line) for line in index.read_text(encoding="utf-8").splitlines(keepends=True)]
    left_out = len(marked) - len(lines)
    if not pointed and not left_out:
        return 0
    write_index(path, lines)
    return pointed + left_out


def write_index(path: Path, lines: list[str]) -> None:
    """Make `lines` (sorted CDXJ) the index of the WACZ at `path`, with datapackage.json and its digest to match
    (unsigned: the package is sealed afterwards)."""
    with open_package(path) as package:
        datapackage = json.loads(package.read(DATAPACKAGE))
    cdx, idx = _compressed(lines)
    for resource in datapackage.get("resources", []):
        made = {INDEX: cdx, INDEX_IDX: idx}.get(resource.get("path"))
        if made is not None:
            resource["hash"], resource["bytes"] = "sha256:" + hashlib.sha256(made).hexdigest(), len(made)
    described = json.dumps(datapackage, indent=2).encode("utf-8")
    digest = json.dumps({"path": DATAPACKAGE, "hash": "sha256:" + hashlib.sha256(described).hexdigest()},
                        indent=2).encode("utf-8")
    replace_entries(path, {INDEX: cdx, INDEX_IDX: idx, DATAPACKAGE: described, DIGEST_FILE: digest},
                    stored=frozenset({INDEX}))


def _mark_cut_captures(path: Path, package: zipfile.ZipFile, lines: list[str]) -> list[str]:
    """`lines` with replay's WARC-Truncated field added to each cut record's line (py-wacz's index lacks it).

    Only the lines of a URL key indexed more than once are read: a cut
    capture is left out only beside a whole one."""
    keys = Counter(line.split(" ", 1)[0] for line in lines)
    names = {info.filename: info for info in package.infolist()}
    streams: dict[str, BinaryIO] = {}
    marked = []
    try:
        for line in lines:
            key, stamp, fields = split_line(line)
            name = f"archive/{fields.get('filename')}"
            if keys[key] > 1 and name in names and "offset" in fields:
                if name not in streams:
                    streams[name] = entry_file(str(path), names[name])
                try:
                    head, _ = read_member_at(streams[name], int(fields["offset"]), int(fields["length"]))
                    cut = head.get("WARC-Truncated")
                except (WarcError, ValueError, KeyError):
                    cut = None  # verify_package names it
                if cut:
                    line = f"{key} {stamp} {json.dumps({**fields, TRUNCATED: cut})}\n"
            marked.append(line)
    finally:
        for stream in streams.values():
            stream.close()
    return marked


def _unmarked(line: str) -> str:
    """The line as py-wacz wrote it, without the WARC-Truncated field `_mark_cut_captures` added."""
    key, stamp, fields = split_line(line)
    if TRUNCATED not in fields:
        return line
    del fields[TRUNCATED]
    return f"{key} {stamp} {json.dumps(fields)}\n"


def _compressed(lines: list[str]) -> tuple[bytes, bytes]:
    """index.cdx.gz and index.idx of `lines`, laid out as cdxj-indexer's CompressedWriter lays out py-wacz's."""
    with warnings.catch_warnings():
        # cdxj-indexer pulls in pyamf, which imports the deprecated pkg_resources.
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
        from cdxj_indexer.main import CompressedWriter

    idx, cdx = io.StringIO(), io.BytesIO()
    writer = CompressedWriter(idx, cdx, num_lines=BLOCK_LINES, data_out_name="index.cdx.gz", digest_records=True)
    for line in lines:
        writer.write(line)
    if writer.block:
        writer.flush()
    return cdx.getvalue(), idx.getvalue().encode("utf-8")
