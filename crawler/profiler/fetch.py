"""A small, polite HTTP client for looking at a portal before crawling it.

`portal-archive profile` fetches a handful of pages (a column's first list
pages and a few of its articles) and archives none of them.  It asks as a
crawl would: robots.txt first (a disallowed URL is never fetched), one
request at a time with a delay between requests to a host (1 s, or the
robots.txt's Crawl-delay; none on loopback, as crawls of the replica); a
robots.txt the site cannot serve (a 5xx or 429 after the retries, no
answer) disallows the whole site, as a crawl reads it (RFC 9309); the crawler's honest user agent with
the operator's contact (refused for a real portal without one), and bounded
bodies and timeouts; a 5xx, a 429 or a dropped connection is tried twice
more (after its Retry-After, at most 30 s, or the delay).  Answers come back
as Scrapy responses, decoded as a crawl decodes them, so the page objects
read them unchanged.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from protego import Protego
from scrapy.http import HtmlResponse, TextResponse

from archive.exits import Failed
from crawler.middlewares import retry_after_seconds
from crawler.pagination import ListRequest
from crawler.politeness import is_loopback, user_agent

DEFAULT_DELAY = 1.0
TIMEOUT = 30.0
MAX_BYTES = 8 * 1024 * 1024
RETRIES = 2  # as a crawl retries: 5xx, 429 and dropped connections, twice more
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 522, 524, 408})
RETRY_AFTER_MAX = 30.0
CRAWL_DELAY_MAX = 30.0  # as a crawl caps a Crawl-delay (AUTOTHROTTLE_MAX_DELAY)
_DISALLOW_ALL = Protego.parse("User-agent: *\nDisallow: /\n")


class FetchError(Failed):
    """A page could not be fetched (refused by robots.txt, an HTTP error, a dead host); says which and why."""

    def __init__(self, url: str, reason: str):
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class Dropped(FetchError):
    """The connection failed or was cut (tried again, as a crawl would)."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are followed by hand, so each hop is checked against robots.txt and the hosts."""

    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003 - urllib's signature
        return None


@dataclass
class Fetcher:
    """Fetches pages politely; `log` keeps (method, url, status) of every request made."""

    contact: str
    delay: float | None = None  # None: DEFAULT_DELAY, or 0 on loopback
    timeout: float = TIMEOUT
    max_bytes: int = MAX_BYTES
    log: list[tuple[str, str, int | None]] = field(default_factory=list)
    _robots: dict[str, Protego | None] = field(default_factory=dict)
    _last: dict[str, float] = field(default_factory=dict)
    _unreachable: dict[str, str] = field(default_factory=dict)  # origin -> why its robots.txt could not be read
    _crawl_delays: dict[str, float] = field(default_factory=dict)  # host -> its robots.txt's Crawl-delay

    def __post_init__(self) -> None:
        self.agent = user_agent(self.contact)
        self._opener = urllib.request.build_opener(_NoRedirect)

    # -- what callers use ----------------------------------------------------------------------------
    def get(self, url: str) -> TextResponse:
        return self.fetch(ListRequest(url))

    def fetch(self, request: ListRequest) -> TextResponse:
        """The answer to one list request (or a plain GET): a decoded response, or FetchError."""
        url, hops = request.url, 0
        while True:
            self._allowed(url)
            status, headers, body, final = self._send_retrying(url, request.method, request.body, request.headers)
            if status in (301, 302, 303, 307, 308) and headers.get("location") and hops < 5:
                target = urllib.parse.urljoin(url, headers["location"])
                if urlsplit(target).scheme not in ("http", "https"):
                    raise FetchError(url, f"redirected to {target}")
                url, hops = target, hops + 1
                if status in (301, 302, 303):
                    request = ListRequest(url, request.kind)
                continue
            if status != 200:
                raise FetchError(url, f"HTTP {status}")
            return _response(final, headers, body)

    # -- politeness ----------------------------------------------------------------------------------
    def _allowed(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(url, "not an http(s) URL")
        origin = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
        if origin not in self._robots:
            self._robots[origin] = self._read_robots(origin)
        robots = self._robots[origin]
        if robots is not None and not robots.can_fetch(url, self.agent):
            why = self._unreachable.get(origin)
            raise FetchError(url, f"robots.txt could not be read ({why}): nothing on the site is fetched until it "
                                  "can (RFC 9309), as a crawl would" if why else "disallowed by robots.txt")

    def _read_robots(self, origin: str) -> Protego | None:
        """The site's rules as a crawl reads them: none (everything allowed) where it has no robots.txt (a 4xx),
        everything disallowed where it cannot serve one (a 5xx or 429 after the retries, no answer), and its
        Crawl-delay kept as the host's least delay (not on loopback, as a crawl's)."""
        try:
            status, _, body, _ = self._send_retrying(origin + "/robots.txt", "GET", b"", {})
        except FetchError as error:
            self._unreachable[origin] = error.reason
            return _DISALLOW_ALL
        if status >= 500 or status == 429:
            self._unreachable[origin] = f"HTTP {status}"
            return _DISALLOW_ALL
        if status != 200:
            return None
        robots = Protego.parse(body.decode("utf-8", "replace"))
        asked = robots.crawl_delay(self.agent)
        if asked and asked > 0 and not is_loopback(origin):
            self._crawl_delays[urlsplit(origin).netloc] = min(float(asked), CRAWL_DELAY_MAX)
        return robots

    def _wait(self, host: str, url: str) -> None:
        delay = self.delay if self.delay is not None else (0.0 if is_loopback(url) else DEFAULT_DELAY)
        delay = max(delay, self._crawl_delays.get(host, 0.0))
        last = self._last.get(host)
        if last is not None and delay > 0:
            pause = last + delay - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        self._last[host] = time.monotonic()

    # -- the wire ------------------------------------------------------------------------------------
    def _send_retrying(self, url: str, method: str, body: bytes, headers: dict[str, str]
                       ) -> tuple[int, dict[str, str], bytes, str]:
        for attempt in range(RETRIES + 1):
            last = attempt == RETRIES
            try:
                answer = self._send(url, method, body, headers)
            except Dropped:
                if last:
                    raise
                self._pause(url, None)
                continue
            if answer[0] not in RETRY_STATUSES or last:
                return answer
            self._pause(url, answer[1].get("retry-after"))
        raise AssertionError("unreachable")

    def _pause(self, url: str, retry_after: str | None) -> None:
        wait = self.delay if self.delay is not None else (0.2 if is_loopback(url) else DEFAULT_DELAY)
        asked = retry_after_seconds(retry_after) if retry_after else None  # seconds or an HTTP date
        if asked:
            wait = max(wait, min(asked, RETRY_AFTER_MAX))
        time.sleep(wait)

    def _send(self, url: str, method: str, body: bytes, headers: dict[str, str]
              ) -> tuple[int, dict[str, str], bytes, str]:
        self._wait(urlsplit(url).netloc, url)
        wanted = urllib.request.Request(url, data=body or None, method=method,
                                        headers={"User-Agent": self.agent, "Accept-Encoding": "identity",
                                                 "Accept-Language": "zh-CN,zh;q=0.9", **headers})
        try:
            with self._opener.open(wanted, timeout=self.timeout) as answer:
                data = self._read(url, answer)
                status, got, final = answer.status, answer.headers, answer.geturl()
        except urllib.error.HTTPError as error:
            self.log.append((method, url, error.code))
            return error.code, {k.lower(): v for k, v in error.headers.items()}, b"", url
        except (urllib.error.URLError, OSError, ValueError) as error:
            self.log.append((method, url, None))
            raise Dropped(url, str(getattr(error, "reason", error))) from None
        self.log.append((method, url, status))
        if len(data) > self.max_bytes:
            raise FetchError(url, f"larger than {self.max_bytes} bytes")
        return status, {k.lower(): v for k, v in got.items()}, data, final


    def _read(self, url: str, answer: Any) -> bytes:
        """The body, up to max_bytes + 1, by a deadline of `timeout` seconds for the whole of it: the socket's
        timeout is per read, and a page sending a byte every few seconds was read forever."""
        deadline = time.monotonic() + self.timeout
        pieces, size = [], 0
        while size <= self.max_bytes:
            piece = answer.read1(min(1 << 16, self.max_bytes + 1 - size))
            if not piece:
                break
            pieces.append(piece)
            size += len(piece)
            if time.monotonic() > deadline:
                raise FetchError(url, f"still sending after {self.timeout:g} s")
        return b"".join(pieces)


def _response(url: str, headers: dict[str, str], body: bytes) -> TextResponse:
    content_type = headers.get("content-type", "")
    flat = {"Content-Type": content_type} if content_type else {}
    if "html" in content_type or not content_type or body.lstrip()[:1] == b"<" and b"<html" in body[:2048].lower():
        return HtmlResponse(url=url, body=body, headers=flat)
    return TextResponse(url=url, body=body, headers=flat, encoding=_charset(content_type) or "utf-8")


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";"):
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            return value.strip("\"' ")
    return None
