"""Checking one `.warc.gz` file end to end, streaming.

Every gzip member must decompress to its end and hold exactly one record;
heads follow `rules`; block and payload digests are recomputed from the
stored bytes; request/response pairs are matched within the file.  Blocks are
hashed piece by piece, so memory does not grow with payload sizes.  HTTP
heads are read by `archive.warc.http`, as every other reader reads them, so
the payload digest is checked over the same bytes the others call the body.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable

from archive.warc.errors import GzipMemberError, WarcFormatError
from archive.warc.http import HttpHead, HttpHeadError, read_head
from archive.warc.members import Member, MemberReader
from archive.warc.reader import Block, WarcHead, read_warc_head
from archive.warc.records import PAGEINFO
from archive.warc.rules import check_head, check_warcinfo_fields, warcinfo_value

PIECE = 64 * 1024
MAX_INFO = 1 << 20  # how much of a warcinfo block is kept to check its fields

ProblemSink = Callable[[int, str], None]  # (offset, message)


@dataclass
class FileScan:
    """What scanning one file found, besides the problems it reported."""

    records: Counter[str] = field(default_factory=Counter)
    # record id of each response/revisit -> (offset, date, uri, has a request)
    exchanges: dict[str, list] = field(default_factory=dict)
    # (offset, concurrent-to ids, date, uri) of each request
    requests: list[tuple[int, list[str], str | None, str | None]] = field(default_factory=list)
    record_ids: set[str] = field(default_factory=set)
    # (offset, WARC-Refers-To) of each metadata record that names the record it describes
    described: list[tuple[int, str]] = field(default_factory=list)
    crawl_id: str | None = None  # isPartOf in the file's warcinfo
    unchecked_from: int | None = None  # a damaged gzip member there ended the scan


class _Digest:
    """A running sha1 to compare with a stored `sha1:BASE32` value."""

    def __init__(self, stored: str | None, name: str, report: Callable[[str], None]) -> None:
        self.stored = stored
        self.name = name
        self.hash = None
        if stored is None:
            return
        algo = stored.partition(":")[0]
        if algo.lower() != "sha1":
            report(f"{name} uses {algo!r}; this archive uses sha1")
        else:
            self.hash = hashlib.sha1()

    def update(self, data: bytes) -> None:
        if self.hash is not None:
            self.hash.update(data)

    def check(self, report: Callable[[str], None]) -> None:
        if self.hash is None or self.stored is None:
            return
        actual = "sha1:" + base64.b32encode(self.hash.digest()).decode("ascii")
        if actual.upper() != self.stored.upper():
            report(f"{self.name} does not match the stored bytes (stored {self.stored}, computed {actual})")


class _Digested:
    """A block whose every byte read also goes through its block digest."""

    def __init__(self, block: Block, digest: _Digest) -> None:
        self._block = block
        self._digest = digest

    @property
    def left(self) -> int:
        return self._block.left

    def read(self, size: int = -1) -> bytes:
        data = self._block.read(size)
        self._digest.update(data)
        return data

    def readline(self, limit: int) -> bytes:
        line = self._block.readline(limit)
        self._digest.update(line)
        return line


def _check_block(member: Member, head: WarcHead, size: int, problem: Callable[[str], None],
                 is_first: bool) -> tuple[HttpHead | None, int, bytes]:
    """Stream the block through its digests; returns (HTTP head, payload length, warcinfo block)."""
    rtype = head.type
    content_type = (head.get("Content-Type") or "").lower()
    is_http = rtype in ("request", "response", "revisit") and content_type.startswith("application/http")
    block_digest = _Digest(head.get("WARC-Block-Digest"), "WARC-Block-Digest", problem)
    # A revisit's payload digest is the earlier capture's: it cannot be recomputed here.
    stored_payload = None if rtype == "revisit" else head.get("WARC-Payload-Digest")
    payload_digest = _Digest(stored_payload, "WARC-Payload-Digest", problem)
    block = _Digested(Block(member, size), block_digest)
    http_head = None
    payload_len = 0
    info = b""
    try:
        if is_http:
            try:
                http_head = read_head(block)  # the same reading as every other consumer's
            except HttpHeadError as error:
                problem(error.message)
                payload_digest = _Digest(None, "", problem)  # no payload to check without its head
        while piece := block.read(PIECE):
            if rtype == "warcinfo" and len(info) < MAX_INFO:
                info += piece
            payload_len += len(piece)
            payload_digest.update(piece)
    except GzipMemberError:
        raise
    except WarcFormatError:
        problem(f"block ends after {size - block.left} of its {size} bytes (Content-Length)")
        return http_head, payload_len, info
    block_digest.check(problem)
    payload_digest.check(problem)
    if rtype == "warcinfo" and is_first:
        for message in check_warcinfo_fields(info):
            problem(message)
    return http_head, payload_len, info


def _check_http_response(head: WarcHead, http_head: HttpHead, payload_len: int,
                         problem: Callable[[str], None]) -> None:
    if not http_head.protocol.upper().startswith("HTTP/"):
        problem(f"HTTP response does not start with a status line ({http_head.raw[:20]!r})")
        return
    if any("chunked" in value.lower() for value in http_head.get_all("Transfer-Encoding")):
        problem("HTTP head says Transfer-Encoding: chunked over a stored body "
                "(bodies are stored de-chunked; keep the original as x-orig-transfer-encoding)")
    declared = (http_head.get("Content-Length") or "").strip()
    if declared.isascii() and declared.isdigit() and payload_len and int(declared) != payload_len \
            and head.get("WARC-Truncated") is None:
        problem(f"HTTP Content-Length {int(declared)} but the stored body has {payload_len} bytes")


def _record(member: Member, file_name: str, scan: FileScan, report: ProblemSink) -> WarcHead:
    """Check the record in one member."""
    offset = member.offset

    def problem(message: str) -> None:
        report(offset, message)

    head = read_warc_head(member)
    rtype = head.type or "?"
    is_first = not scan.records
    scan.records[rtype] += 1
    for message in check_head(head):
        problem(message)
    if is_first and rtype != "warcinfo":
        problem(f"the file's first record is {rtype}, not warcinfo")
    record_id = head.record_id
    if record_id:
        if record_id in scan.record_ids:
            problem(f"record id {record_id} appears twice in this file")
        scan.record_ids.add(record_id)
    size = head.content_length
    if size is None:
        member.drain()
        return head
    http_head, payload_len, info = _check_block(member, head, size, problem, is_first)
    if member.read(4) != b"\r\n\r\n":
        problem("record does not end with CRLF CRLF right after Content-Length bytes")
    leftover = member.drain()
    if leftover:
        problem(f"gzip member holds {leftover} bytes after its record (one record per member expected)")
    if rtype == "warcinfo":
        filename = head.get("WARC-Filename")
        if filename is not None and filename != file_name:
            problem(f"WARC-Filename {filename!r} is not this file's name")
        if is_first:
            scan.crawl_id = warcinfo_value(info, "isPartOf")
    elif rtype == "response" and http_head is not None:
        _check_http_response(head, http_head, payload_len, problem)
    date, uri = head.get("WARC-Date"), head.get("WARC-Target-URI")
    if rtype in ("response", "revisit") and record_id:
        scan.exchanges[record_id] = [offset, date, uri, False]
    elif rtype == "request":
        scan.requests.append((offset, head.get_all("WARC-Concurrent-To"), date, uri))
    elif rtype == "metadata":
        refers_to = head.get("WARC-Refers-To")
        if refers_to:
            scan.described.append((offset, refers_to))
        elif (uri or "").startswith(PAGEINFO):
            problem("metadata record about a page (urn:pageinfo:) has no WARC-Refers-To naming its response")
    return head


def _check_pairs(scan: FileScan, report: ProblemSink) -> None:
    # Where damage ended the scan, the last records' partners may lie past it: they are not called missing.
    damaged = scan.unchecked_from is not None
    last_request = max((offset for offset, *_ in scan.requests), default=-1)
    last_exchange = max((exchange[0] for exchange in scan.exchanges.values()), default=-1)
    for offset, targets, date, uri in scan.requests:
        linked = [scan.exchanges[t] for t in targets if t in scan.exchanges]
        if not linked:
            if not (damaged and offset > last_exchange):
                report(offset, "request is not linked by WARC-Concurrent-To to a response in this file")
            continue
        exchange = linked[0]
        exchange[3] = True
        if exchange[1] != date:
            report(offset, f"request WARC-Date {date} differs from its response's {exchange[1]}")
        if exchange[2] != uri:
            report(offset, f"request WARC-Target-URI differs from its response's ({uri} vs {exchange[2]})")
    for offset, _, _, paired in scan.exchanges.values():
        if not paired and not (damaged and offset > last_request):
            report(offset, "response has no request record (WARC-Concurrent-To) in this file")


def scan_file(path: Path, report: ProblemSink, on_record: Callable[[WarcHead], None] | None = None, *,
              stream: BinaryIO | None = None) -> FileScan:
    """Check every record of one `.warc.gz` file, calling `report(offset, message)` per problem.

    `on_record` sees each record's head (the verifier collects metadata links
    with it).  A corrupt or truncated gzip member ends the scan of the file.
    `stream`, if given, is read instead of opening `path` (a WARC inside a
    package); `path` still names the file.
    """
    scan = FileScan()
    name = path.name.removesuffix(".open")
    with nullcontext(stream) if stream is not None else open(path, "rb") as fh:
        reader = MemberReader(fh)
        try:
            for member in reader:
                try:
                    head = _record(member, name, scan, report)
                except GzipMemberError:
                    raise
                except WarcFormatError as exc:
                    # A malformed WARC head: the gzip member itself may still be sound.
                    report(member.offset, exc.message)
                    member.drain()
                    continue
                if on_record is not None:
                    on_record(head)
        except GzipMemberError as exc:
            scan.unchecked_from = exc.offset if exc.offset is not None else reader.position
            report(scan.unchecked_from, f"{exc.message}; the rest of the file was not checked")
    if not scan.records:
        report(0, "file holds no records")
    _check_pairs(scan, report)
    return scan
