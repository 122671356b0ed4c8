"""`--with-media`: the images and attachments of the exported rows, out of the WARC files.

Each entry's bytes are the body of the response record its `warc` reference
points at (a revisit is followed to the record it refers to), with the
HTTP content encoding undone (by `archive.warc.http`, whose
`BodyDecodeError` stops the export when a body does not decode), so they
hash to the entry's `digest`.  Bodies are streamed: written to a `.part`
file while hashed, never held whole.  Files are named by that SHA-256 only,
`media/ab/<sha256>.<ext>` with the extension from the content type (never
anything from the URL), and a file already present is reused.  The mapping file lists one
line per entry: article_id, version, kind, url, digest, path, content_type,
size, problem (empty, or why there is no file: the fetch failed, or the
entry has no WARC record).
"""

from __future__ import annotations

import csv
import hashlib
import mimetypes
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from archive.catalogue import Catalogue
from archive.export.errors import ArchiveUnreadable, CannotWrite
from archive.export.fields import ATTACHMENT_KEYS, IMAGE_KEYS, flatten_media
from archive.export.text_writers import csv_cell
from archive.warc.errors import BodyDecodeError, WarcError
from archive.warc.http import PIECE, read_http
from archive.warc.reader import open_block

MEDIA_DIR = "media"
MAPPING_FIELDS = ("article_id", "version", "kind", "url", "digest", "path", "content_type", "size", "problem")
MAPPING_SCHEMA = [
    {"name": "article_id", "type": "integer", "description": "Article id."},
    {"name": "version", "type": "integer", "description": "Article version."},
    {"name": "kind", "type": "string", "description": "image or attachment."},
    {"name": "url", "type": "string", "description": "URL the file was fetched from."},
    {"name": "digest", "type": "string", "description": "sha256:HEX of the file's bytes."},
    {"name": "path", "type": "string", "description": "The file, relative to this folder (empty if none)."},
    {"name": "content_type", "type": "string", "description": "Content-Type the server sent."},
    {"name": "size", "type": "integer", "description": "Bytes."},
    {"name": "problem", "type": "string", "description": "Why there is no file, if there is none."},
]


def media_path(hexdigest: str, content_type: str | None) -> str:
    """`media/ab/<sha256>.<ext>`, the extension from the content type alone."""
    mime = (content_type or "").split(";")[0].strip().lower()
    extension = (mimetypes.guess_extension(mime) if mime else None) or ".bin"
    return f"{MEDIA_DIR}/{hexdigest[:2]}/{hexdigest}{extension}"


@dataclass(frozen=True, slots=True)
class _RecordAt:
    file: str
    offset: int
    length: int
    record_id: str | None


class MediaWriter:
    """Writes media files under `folder` and their mapping to `mapping` (a .part path)."""

    def __init__(self, catalogue: Catalogue, warc_dir: Path, folder: Path, mapping: Path, *,
                 bom: bool = True, raw: bool = False) -> None:
        self._catalogue = catalogue
        self._raw = raw  # cells exactly as archived (a server's Content-Type can start a formula too)
        self._warc_dir = Path(warc_dir)
        self._folder = Path(folder)
        self._file = open(mapping, "w", encoding="utf-8-sig" if bom else "utf-8", newline="")
        self._csv = csv.writer(self._file, lineterminator="\r\n")
        self._csv.writerow(MAPPING_FIELDS)
        self.entries = 0
        self.files_written = 0
        self.bytes_written = 0

    def add(self, row: Any) -> None:
        """Extract every image and attachment of one catalogue row."""
        for kind, text, keys in (("image", row["images"], IMAGE_KEYS),
                                 ("attachment", row["attachments"], ATTACHMENT_KEYS)):
            for entry in flatten_media(text, keys):
                self.entries += 1
                path, digest, problem = "", entry["digest"] or "", ""
                failed = entry.get("error") or (entry["status"] not in (None, 200) and f"HTTP {entry['status']}")
                if failed:  # its record, if any, holds an error answer, not the file
                    digest, problem = "", f"not archived: {failed}"
                elif entry["warc_file"] and entry["warc_offset"] is not None and entry["warc_length"]:
                    ref = _RecordAt(entry["warc_file"], entry["warc_offset"], entry["warc_length"],
                                    entry["warc_record_id"])
                    path, digest = self._extract(ref, entry)
                else:
                    problem = "not archived"
                self._csv.writerow([csv_cell(value, self._raw) for value in (
                    row["article_id"], row["version"], kind, entry["url"], digest, path, entry["content_type"],
                    entry["size"], problem)])

    def _extract(self, ref: _RecordAt, entry: dict[str, Any]) -> tuple[str, str]:
        """Copy one entry's bytes to its file while hashing them; returns (path, digest)."""
        expected = (entry["digest"] or "").removeprefix("sha256:")
        known = self._folder / media_path(expected, entry["content_type"]) if expected else None
        media_dir = self._folder / MEDIA_DIR
        part = None
        try:
            if known is None or not known.is_file():  # else only hashed: the file is there already
                media_dir.mkdir(parents=True, exist_ok=True)
                handle, name = tempfile.mkstemp(dir=media_dir, prefix=".export-", suffix=".part")
                part = (os.fdopen(handle, "wb"), Path(name))
        except OSError as error:
            raise CannotWrite(f"cannot write under {media_dir}: {error.strerror or error}") from error
        try:
            digest, size = hashlib.sha256(), 0
            with self._payload(ref) as body:
                while piece := body.read(PIECE):
                    digest.update(piece)
                    size += len(piece)
                    if part is not None:
                        self._write(part, piece)
            if part is not None:
                self._write(part, None)
            hexdigest = digest.hexdigest()
            if expected and expected != hexdigest:
                raise ArchiveUnreadable(
                    f"{entry['url']}: the record at {ref.file}:{ref.offset} holds sha256:{hexdigest}, "
                    f"the catalogue says sha256:{expected} (run portal-archive verify)")
            relative = media_path(hexdigest, entry["content_type"])
            target = self._folder / relative
            if part is not None and not (target.is_file() and target.stat().st_size == size):
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(part[1], target)
                except OSError as error:
                    raise CannotWrite(f"cannot write {target}: {error.strerror or error}") from error
                part = None
                self.files_written += 1
                self.bytes_written += size
            return relative, "sha256:" + hexdigest
        finally:
            if part is not None:
                part[0].close()
                part[1].unlink(missing_ok=True)

    @staticmethod
    def _write(part: tuple[BinaryIO, Path], piece: bytes | None) -> None:
        """Append `piece` to the part file, or (None) finish it."""
        try:
            if piece is None:
                part[0].close()
            else:
                part[0].write(piece)
        except OSError as error:
            raise CannotWrite(f"cannot write {part[1]}: {error.strerror or error}") from error

    @contextmanager
    def _payload(self, ref: _RecordAt, *, follow: bool = True) -> Iterator[Any]:
        """The entry's bytes as a stream: a response's body decoded, a resource's block."""
        where = f"{ref.file} at offset {ref.offset}"
        try:
            with open_block(self._warc_dir / ref.file, ref.offset, ref.length) as (head, block):
                if ref.record_id and head.record_id != ref.record_id:
                    raise ArchiveUnreadable(f"the record in {where} is {head.record_id}, not {ref.record_id}")
                if head.type == "revisit" and follow:
                    original = self._catalogue.capture_by_record(head.get("WARC-Refers-To") or "")
                    if original is None:
                        raise ArchiveUnreadable(
                            f"the revisit in {where} refers to a record the catalogue does not know")
                    with self._payload(_RecordAt(original["file"], original["offset"], original["length"],
                                                 original["record_id"]), follow=False) as body:
                        yield body
                elif head.type == "resource":
                    yield block
                elif head.type != "response":
                    raise ArchiveUnreadable(f"the record in {where} is a {head.type} record, not a response")
                else:
                    yield read_http(head, block, where).decoded()
        except BodyDecodeError:
            raise  # names the record; the CLI exits 7
        except (OSError, WarcError) as error:
            raise ArchiveUnreadable(f"cannot read the WARC record in {where}: {error}") from error

    def close(self) -> None:
        self._file.close()

    abort = close

    def resource(self) -> dict[str, Any]:
        return {"format": "csv", "mediatype": "text/csv", "encoding": self._file.encoding,
                "dialect": {"delimiter": ",", "lineTerminator": "\r\n", "header": True},
                "schema": {"fields": MAPPING_SCHEMA}}
