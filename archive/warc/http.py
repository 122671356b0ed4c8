"""The one reader of HTTP inside WARC records: the head parsed once, the body as a stream.

Everything that reads an HTTP message out of our WARC files comes here: the
catalogue (status and a few headers, live and on reindex), the web media
page and export media (decoded bodies), verify (framing and the payload
digest).

    with open_http(path, offset, length) as message:
        message.head.status, message.head.get("Content-Type")
        for piece in iter(lambda: message.decoded().read(PIECE), b""): ...

**Head.**  Parsed by warcio's `StatusAndHeadersParser`, as pywb and
cdxj-indexer read it: every header line is kept, in order, repeated ones
included (`HttpHead.headers`, `get_all`); folded lines are joined; bytes that
are not UTF-8 are read as ISO-8859-1.  `HttpHead.raw` holds the head's bytes
exactly as archived.

**"The" value of a header** is its first one (`HttpHead.get`), the value
warcio's `StatusAndHeaders.get_header` returns and so the one pywb and
cdxj-indexer (the `mime` of the index) use.  Content-Encoding is the
exception: it is a list (RFC 9110, 8.4), so every value of every
Content-Encoding line counts, in the order they were applied.

**Body.**  `raw()` is the payload as archived, still content-encoded (what
the payload digest covers).  `decoded()` undoes the Content-Encoding: gzip,
x-gzip, deflate (zlib-wrapped or raw), br, zstd and identity, and chains of them
(`deflate, br` is undone br first).  Both are read piece by piece; memory
never grows with the body.  Bodies are stored de-chunked by our writer, so no
Transfer-Encoding is undone (verify reports a chunked head over a stored
body).

**When a body cannot be decoded** (an unknown coding, bytes that are not
what the coding says, a stream that stops before its end), reading raises
`BodyDecodeError` naming the record.  Two leniencies, as browsers and Scrapy
(which computed the digests in our items) allow: bytes after the end of a
gzip or deflate stream are ignored (further gzip members are decoded), and a
record marked `WARC-Truncated` yields what decodes of its cut body.  An
empty body decodes to nothing whatever its coding says.

Why not warcio's `content_stream()`: it undoes one coding only (`deflate, br`
and `x-gzip` come back raw), and on bytes that do not decode it hands them
back undecoded, or prints to stderr and ends the stream, so a damaged body
looks like a good one.
"""

from __future__ import annotations

import io
import os
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Protocol

import brotli
from warcio.statusandheaders import StatusAndHeadersParser

try:  # Python 3.14's; Scrapy (which decodes zstd answers) brings the backport before it
    from compression.zstd import ZstdDecompressor, ZstdError
except ImportError:
    from backports.zstd import ZstdDecompressor, ZstdError

from archive.warc.errors import BodyDecodeError, WarcFormatError
from archive.warc.reader import Block, WarcHead, open_block

MAX_HEAD = 1 << 20  # an HTTP head larger than this is refused
PIECE = 64 * 1024
HTTP_TYPES = ("response", "revisit")
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # a zstd frame

_PARSER = StatusAndHeadersParser(["HTTP/"], verify=False)


class HttpHeadError(WarcFormatError):
    """A block whose HTTP head cannot be read: empty, longer than MAX_HEAD, or without its blank line."""


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class LineReadable(Readable, Protocol):
    def readline(self, limit: int, /) -> bytes: ...


@dataclass(frozen=True, slots=True)
class HttpHead:
    """An HTTP response head: status line, every header in order, and its bytes as archived."""

    protocol: str  # "HTTP/1.1"
    status: int | None  # None when the status line holds no number
    reason: str
    headers: tuple[tuple[str, str], ...]
    raw: bytes  # the head exactly as archived, its blank line included

    def get(self, name: str) -> str | None:
        """The value of header `name` (case-insensitive): the first one when it is repeated."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None

    def get_all(self, name: str) -> list[str]:
        """Every value of header `name`, in order."""
        lname = name.lower()
        return [value for key, value in self.headers if key.lower() == lname]

    @property
    def content_encodings(self) -> list[str]:
        """The codings applied to the body, first applied first, lower-cased, `identity` left out."""
        codings = []
        for value in self.get_all("Content-Encoding"):
            codings += [c.strip().lower() for c in value.split(",") if c.strip()]
        return [c for c in codings if c != "identity"]


class _HeadLines:
    """Lines for warcio's parser (which calls `readline()` unbounded), bounded by MAX_HEAD, kept raw."""

    def __init__(self, source: LineReadable) -> None:
        self._source = source
        self.raw = bytearray()
        self.ended = False  # a blank line ended the head

    def readline(self) -> bytes:
        if self.ended:
            return b""
        line = self._source.readline(MAX_HEAD + 1 - len(self.raw))
        self.raw += line
        if len(self.raw) > MAX_HEAD:
            raise HttpHeadError(f"HTTP head is longer than {MAX_HEAD} bytes")
        if line.endswith(b"\n") and not line.strip():
            self.ended = True
        return line


def read_head(source: LineReadable) -> HttpHead:
    """Parse the HTTP head at the start of `source`, leaving it at the first byte of the body.

    A request's head parses too (its method lands in `protocol`, the rest of
    its request line in `reason`).  Raises HttpHeadError when the block ends
    before the head's blank line.
    """
    peek = getattr(source, "peek_head", None)
    if peek is not None:  # a record's block: its head found in the buffer at once, parsed from memory
        raw = peek(MAX_HEAD)
        if raw is not None:
            head = read_head(io.BytesIO(raw))
            source.read(len(raw))
            return head
    lines = _HeadLines(source)
    try:
        parsed = _PARSER.parse(lines)
    except EOFError:
        raise HttpHeadError("HTTP block is empty") from None
    if not lines.ended:
        raise HttpHeadError("HTTP block has no blank line ending its head")
    code = parsed.statusline.split(" ", 1)[0]
    reason = parsed.statusline[len(code):].strip()
    status = int(code) if code.isascii() and code.isdigit() else None
    return HttpHead(parsed.protocol, status, reason, tuple(parsed.headers), bytes(lines.raw))


def parse_head(data: bytes) -> HttpHead:
    """Parse the HTTP head at the start of `data` (which may go on with the body)."""
    return read_head(io.BytesIO(data))


class _Stream(io.RawIOBase):
    """A readable stream made of a function that returns the next bytes (b"" at the end)."""

    def __init__(self, pull: Callable[[int], bytes]) -> None:
        super().__init__()
        self._pull = pull
        self._left = b""
        self._ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        while not self._left and not self._ended:
            self._left = self._pull(len(buffer))
            self._ended = not self._left
        count = min(len(buffer), len(self._left))
        buffer[:count] = self._left[:count]
        self._left = self._left[count:]
        return count


class _Undo:
    """Undoes one coding, reading the encoded bytes from `source`, yielding decoded pieces."""

    def __init__(self, source: Readable, coding: str, fail: Callable[[str], BodyDecodeError],
                 truncated: bool) -> None:
        self._source = source
        self._coding = coding
        self._fail = fail
        self._truncated = truncated
        self._seen_input = False
        self._done = False
        self._first = True
        self._pending = b""  # input not yet given to the decoder
        self._input_ended = False
        self._new()

    def _new(self) -> None:
        coding = self._coding
        if coding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif coding == "deflate":
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS)  # raw deflate is tried on the first error
        elif coding == "br":
            self._zlib = None
            self._brotli = brotli.Decompressor()
        elif coding == "zstd":
            self._zlib = self._brotli = None
            self._zstd = ZstdDecompressor()
        else:
            raise self._fail(f"unsupported Content-Encoding {coding!r}")

    def _input(self) -> bytes:
        data, self._pending = self._pending or self._source.read(PIECE), b""
        self._seen_input = self._seen_input or bool(data)
        return data

    def _end_of_input(self) -> bytes:
        self._done = True
        if self._seen_input and not self._truncated:
            raise self._fail(f"the {self._coding} stream stops before its end (the body is cut short or damaged)")
        return b""

    def pull(self, size: int) -> bytes:
        size = max(size, 1)
        while not self._done:
            if self._zlib is not None:
                out = self._zlib_pull(size)
            else:
                out = self._brotli_pull(size) if self._brotli is not None else self._zstd_pull(size)
            if out:
                return out
        return b""

    def _zlib_pull(self, size: int) -> bytes:
        inflate = self._zlib
        data = inflate.unconsumed_tail or self._input()
        if not data:
            return self._end_of_input()
        try:
            out = inflate.decompress(data, size)
        except zlib.error as error:
            if self._coding == "deflate" and self._first:  # no zlib wrapper: raw deflate, as some servers send
                self._first = False
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                self._pending = data
                return b""
            raise self._fail(f"{self._coding}: {error}") from None
        self._first = False
        if inflate.eof:
            rest = inflate.unused_data
            if self._coding == "deflate":
                self._done = True
            else:
                self._next_member(rest)
        return out

    def _next_member(self, rest: bytes) -> None:
        """After a gzip member: another one follows, or what follows is ignored (as browsers do)."""
        while len(rest) < len(GZIP_MAGIC):
            more = self._source.read(PIECE)
            if not more:
                break
            rest += more
        if rest.startswith(GZIP_MAGIC):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
            self._pending = rest
        else:
            self._done = True

    def _zstd_pull(self, size: int) -> bytes:
        decoder = self._zstd
        data = b""
        if decoder.needs_input:
            data = self._input()
            if not data:
                return self._end_of_input()
        try:
            out = decoder.decompress(data, max_length=size)
        except ZstdError as error:
            raise self._fail(f"zstd: {error}") from None
        if decoder.eof:  # another frame may follow (as Scrapy decodes them); anything else is ignored
            rest = decoder.unused_data
            while len(rest) < len(ZSTD_MAGIC) and (more := self._source.read(PIECE)):
                rest += more
            if rest.startswith(ZSTD_MAGIC):
                self._zstd, self._pending = ZstdDecompressor(), rest
            else:
                self._done = True
        return out

    def _brotli_pull(self, size: int) -> bytes:
        decoder = self._brotli
        data = b""
        if decoder.can_accept_more_data() and not self._input_ended:
            data = self._input()
            self._input_ended = not data
        try:  # with no new input, this gives what the decoder still holds
            out = decoder.process(data, output_buffer_limit=size)
        except brotli.error as error:
            raise self._fail(f"br: {error}") from None
        if decoder.is_finished():
            self._done = True
        elif self._input_ended and not out:
            return self._end_of_input()
        return out


class HttpMessage:
    """The HTTP response in one WARC record: its head, and its body read once, as a stream.

    Made by `open_http` or `read_http`; `raw()` or `decoded()` may be called
    once, and only while the record is open.
    """

    def __init__(self, warc: WarcHead, head: HttpHead, body: Readable, where: str) -> None:
        self.warc = warc
        self.head = head
        self._body = body
        self._where = where
        self._taken = False

    @property
    def truncated(self) -> bool:
        return self.warc.get("WARC-Truncated") is not None

    def describe(self) -> str:
        """The record, as error messages name it."""
        return f"record {self.warc.record_id} ({self.warc.get('WARC-Target-URI')}) in {self._where}"

    def _take(self) -> Readable:
        if self._taken:
            raise RuntimeError("the body of an HttpMessage can be read only once")
        self._taken = True
        return self._body

    def raw(self) -> io.BufferedReader:
        """The payload as archived, still content-encoded."""
        body = self._take()
        return io.BufferedReader(_Stream(lambda size: body.read(min(size, PIECE))), PIECE)

    def decoded(self) -> io.BufferedReader:
        """The payload with its Content-Encoding undone; reading raises BodyDecodeError if it cannot be."""
        source: Readable = self._take()
        codings = self.head.content_encodings
        for coding in reversed(codings):  # an unknown coding raises here, before anything is read
            undo = _Undo(source, coding, self._failure, self.truncated)
            source = io.BufferedReader(_Stream(undo.pull), PIECE)
        if not codings:
            body = source
            source = io.BufferedReader(_Stream(lambda size: body.read(min(size, PIECE))), PIECE)
        return source  # type: ignore[return-value]

    def _failure(self, reason: str) -> BodyDecodeError:
        return BodyDecodeError(f"cannot decode the body of {self.describe()}: {reason}", self.warc.record_id)


def read_http(warc: WarcHead, block: Block | LineReadable, where: str = "") -> HttpMessage:
    """The HTTP message in `block` (an open record's block, e.g. from `open_block`, or a BytesIO of one)."""
    content_type = (warc.get("Content-Type") or "").lower()
    offset = getattr(block, "offset", None)
    if warc.type not in HTTP_TYPES or not content_type.startswith("application/http"):
        raise WarcFormatError(f"record {warc.record_id} in {where or 'this file'} is a {warc.type} record "
                              f"of {content_type or 'no content type'}, not an HTTP response", offset)
    try:
        head = read_head(block)
    except HttpHeadError as error:
        raise HttpHeadError(f"record {warc.record_id} in {where or 'this file'}: {error}", offset) from None
    return HttpMessage(warc, head, block, where or f"offset {offset}")


@contextmanager
def open_http(path: str | os.PathLike[str], offset: int, length: int) -> Iterator[HttpMessage]:
    """The HTTP response in the record at (`offset`, `length`) of WARC file `path`, open while in the block."""
    with open_block(path, offset, length) as (warc, block):
        yield read_http(warc, block, f"{os.path.basename(path)} at offset {offset}")
