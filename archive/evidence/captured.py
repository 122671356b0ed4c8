"""One article as a package holds it: its capture, its parsed fields, its images, each with its record.

`articles_in_package(path, url=..., article=...)` finds the article's pages
in `pages/pages.jsonl` (by URL, or by the "<article id>-<version>" page id),
then for each:

* the response record the index lists for that URL and time, its record id,
  and its payload digest recomputed from the packaged bytes;
* the `metadata` record concurrent to it (our crawler's parsed fields:
  title, date, source, text, images), found after it in the same WARC file;
* each image and attachment named there: the record with the id the
  metadata gives (a revisit followed to the record it refers to), its
  payload digest, and the SHA-256 of its bytes, which must match the
  metadata's `digest`.

Anything missing or different is listed under `problems`.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

from archive.evidence.package import INDEX, PAGES, open_package
from archive.evidence.zipped import entry_file
from archive.exits import NotFound, UsageProblem
from archive.warc.errors import WarcError
from archive.warc.http import read_http
from archive.warc.members import MemberReader
from archive.warc.reader import read_member_at, read_warc_head

MEDIA_KINDS = ("images", "attachments")


def select_pages(package: zipfile.ZipFile, *, url: str | None, article: str | None) -> list[dict[str, Any]]:
    """The pages.jsonl entries for this URL (either scheme) or article id; raises NotFound when none."""
    if (url is None) == (article is None):
        raise UsageProblem("give either --url or --article")
    try:
        lines = package.read(PAGES).decode("utf-8").splitlines()
    except (KeyError, zipfile.BadZipFile, UnicodeDecodeError) as error:
        raise NotFound(f"the package has no readable {PAGES}: {error}") from error
    wanted = {url, _other_scheme(url)} if url else set()
    pages = []
    for line in lines[1:]:
        try:
            page = json.loads(line)
        except ValueError:
            continue
        if not isinstance(page, dict):
            continue
        if url and page.get("url") in wanted:
            pages.append(page)
        elif article and str(page.get("id", "")).split("-")[0] == article.lstrip("#"):
            pages.append(page)
    if not pages:
        raise NotFound(f"no page for {'URL ' + url if url else 'article ' + str(article)} in this package "
                       f"({PAGES} lists what it holds)")
    return pages


def _other_scheme(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    return f"{ {'http': 'https', 'https': 'http'}.get(scheme.lower(), scheme)}{sep}{rest}"


class _Records:
    """Index entries looked up by URL, and records read from the package's WARC files."""

    def __init__(self, path: Path, package: zipfile.ZipFile) -> None:
        self.path = path
        self.package = package
        self.names = {info.filename: info for info in package.infolist()}
        self._entries: dict[str, list[dict[str, Any]]] = {}
        self._files: dict[str, BinaryIO] = {}

    def entries(self, url: str) -> list[dict[str, Any]]:
        """The index entries for `url` (one streamed pass over the index per new URL; only matches are kept)."""
        if url not in self._entries:
            found: list[dict[str, Any]] = []
            with self.package.open(INDEX) as compressed, gzip.GzipFile(fileobj=compressed) as lines:
                for line in lines:
                    try:
                        _, timestamp, text = line.decode("utf-8").split(" ", 2)
                        entry = json.loads(text)
                    except ValueError:
                        continue
                    if entry.get("url") == url:
                        entry["timestamp"] = timestamp
                        found.append(entry)
            self._entries[url] = found
        return self._entries[url]

    def file(self, filename: str) -> BinaryIO:
        name = f"archive/{filename}"
        if name not in self._files:
            self._files[name] = entry_file(str(self.path), self.names[name])
        return self._files[name]

    def read(self, entry: dict[str, Any]) -> tuple[Any, bytes]:
        head, block = read_member_at(self.file(entry["filename"]), int(entry["offset"]), int(entry["length"]),
                                     keep_block=True)
        assert block is not None
        return head, block

    def find(self, url: str, *, record_id: str | None = None,
             date: str | None = None) -> tuple[dict, Any, bytes] | None:
        """The record for `url` with this record id, or at this WARC-Date (14 digits); None if not packaged."""
        for entry in self.entries(url):
            if date and entry["timestamp"][:14] != date[:14]:
                continue
            head, block = self.read(entry)
            if record_id and head.record_id != record_id:
                continue
            if not record_id and head.type not in ("response", "revisit"):
                continue
            return entry, head, block
        return None

    def metadata_after(self, entry: dict[str, Any], record_id: str) -> tuple[dict[str, Any], Any] | None:
        """The metadata record concurrent to `record_id`: after `entry`'s record in its file, else in a later file."""
        later = sorted(name.removeprefix("archive/") for name in self.names
                       if name.startswith("archive/") and name > f"archive/{entry['filename']}")
        for filename, start in [(entry["filename"], int(entry["offset"]))] + [(name, 0) for name in later]:
            stream = self.file(filename)
            stream.seek(start)
            for member in MemberReader(stream, start):
                head = read_warc_head(member)
                if head.type == "metadata" and record_id in head.get_all("WARC-Concurrent-To"):
                    size = head.content_length or 0
                    return json.loads(member.read(size).decode("utf-8")), head
                member.drain()
        return None

    def close(self) -> None:
        for stream in self._files.values():
            stream.close()


def _sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def articles_in_package(path: Path, *, url: str | None = None, article: str | None = None) -> list[dict[str, Any]]:
    """Each matching page with its capture, parsed fields and media records (see the module docstring)."""
    path = Path(path)
    with open_package(path) as package:
        pages = select_pages(package, url=url, article=article)
        records = _Records(path, package)
        try:
            return [_article(records, page) for page in pages]
        finally:
            records.close()


def _article(records: _Records, page: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"page": page, "capture": None, "metadata": None, "fields": None,
                              "media": [], "problems": []}
    problems = result["problems"]
    date = "".join(ch for ch in str(page.get("ts", "")) if ch.isdigit())[:14]
    try:
        found = records.find(page["url"], date=date)
    except (WarcError, KeyError, ValueError) as error:
        problems.append(f"{page['url']}: its record cannot be read: {error}")
        return result
    if found is None:
        problems.append(f"{page['url']}: no record at {page.get('ts')} in the index")
        return result
    entry, head, block = found
    payload = read_http(head, io.BytesIO(block)).raw().read() if head.type == "response" else b""
    recomputed = _sha1_b32(payload) if head.type == "response" else None
    result["capture"] = {"record_id": head.record_id, "type": head.type, "date": head.get("WARC-Date"),
                         "file": entry["filename"], "offset": int(entry["offset"]),
                         "payload_digest": head.get("WARC-Payload-Digest"), "payload_digest_recomputed": recomputed}
    if recomputed and recomputed != head.get("WARC-Payload-Digest"):
        problems.append(f"{entry['filename']} @{entry['offset']}: the payload hashes to {recomputed}, "
                        f"the record says {head.get('WARC-Payload-Digest')}")
    try:
        found_metadata = records.metadata_after(entry, head.record_id)
    except (WarcError, ValueError, UnicodeDecodeError) as error:
        problems.append(f"{entry['filename']}: reading past the capture failed: {error}")
        found_metadata = None
    if found_metadata is None:
        problems.append(f"{page['url']}: no metadata record for {head.record_id} in this package")
        return result
    fields, metadata_head = found_metadata
    result["metadata"] = {"record_id": metadata_head.record_id, "date": metadata_head.get("WARC-Date"),
                          "block_digest": metadata_head.get("WARC-Block-Digest"),
                          "extractor": fields.get("extractor")}
    result["fields"] = {name: fields.get(name) for name in ("title", "published", "source", "body_text", "flags")}
    for kind in MEDIA_KINDS:
        for item in fields.get(kind) or []:
            if isinstance(item, dict) and item.get("url"):
                result["media"].append(_media(records, kind, item, problems))
    return result


def _media(records: _Records, kind: str, item: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    ref = item.get("warc") or {}
    out: dict[str, Any] = {"kind": kind[:-1], "url": item["url"], "record_id": ref.get("record_id"),
                           "payload_digest": None, "sha256": None, "expected_sha256": item.get("digest"),
                           "ok": False}
    label = f"{kind[:-1]} {item['url']}"
    if not ref.get("record_id"):
        out["note"] = "not archived" + (f" ({item.get('error')})" if item.get("error") else "")
        out["ok"] = True  # nothing is claimed, so nothing can be wrong
        return out
    try:
        found = records.find(item["url"], record_id=ref["record_id"])
        if found is not None and found[1].type == "revisit":
            out["revisit_of"] = found[1].get("WARC-Refers-To")
            found = records.find(found[1].get("WARC-Refers-To-Target-URI") or item["url"],
                                 record_id=found[1].get("WARC-Refers-To"))
    except (WarcError, KeyError, ValueError) as error:
        problems.append(f"{label}: its record cannot be read: {error}")
        return out
    if found is None:
        problems.append(f"{label}: record {ref['record_id']} (or the one it revisits) is not in this package")
        return out
    _, head, block = found
    out["payload_digest"] = head.get("WARC-Payload-Digest")
    try:
        content = read_http(head, io.BytesIO(block), label).decoded().read() if head.type == "response" else block
    except WarcError as error:
        problems.append(f"{label}: its payload cannot be decoded: {error}")
        return out
    out["sha256"] = "sha256:" + hashlib.sha256(content).hexdigest()
    out["bytes"] = len(content)
    expected = item.get("digest")
    if expected and expected.removeprefix("sha256:") != out["sha256"].removeprefix("sha256:"):
        problems.append(f"{label}: record {head.record_id} holds {out['sha256']}, the metadata says {expected}")
    else:
        out["ok"] = True
    return out
