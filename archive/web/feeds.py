"""The change feeds `serve` publishes, at stable URLs.

    /-/feeds/changes.atom                      every new, edited, withdrawn and restored article (newest 200)
    /-/feeds/changes.rss                       the same as RSS 2.0
    ...?site=滕州市人民政府&section=工业经济    one site, one section (repeatable)
    ...?q=化工                                  a saved search: changes to articles it finds
    ...&since=2026-04-01&crawl=ID&limit=50      as `portal-archive changes`

The filters are `archive.watch.select.ChangeFilter`'s, so a feed holds what
`portal-archive changes --format atom` with the same options prints.
"""

from __future__ import annotations

from urllib.parse import urlencode

from datasette.utils.asgi import BadRequest, Response

from archive.watch.feeds import MEDIA_TYPES, NEWEST, FeedLinks, build_feed
from archive.watch.select import ChangeFilter, iso_moment, watched_changes

MAX_ENTRIES = 1000


def feed_url(datasette, query: str | None = None, fmt: str = "atom") -> str:
    """The path of a feed (of a saved search when `query` is given)."""
    return datasette.urls.path(f"/-/feeds/changes.{fmt}") + (f"?{urlencode({'q': query})}" if query else "")


def _since(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return iso_moment(value)
    except ValueError:
        raise BadRequest(f"since: {value!r} is not a date (YYYY-MM-DD)") from None


def _no_control_characters(args) -> None:
    """BadRequest for a value holding a control character or a lone surrogate: no name or word holds one, and
    neither PostgreSQL (NUL) nor the feed's XML could take it."""
    for name in ("crawl", "site", "section", "q", "since", "limit"):
        for value in args.getlist(name):
            if any(ord(c) < 0x20 or ord(c) == 0x7F or 0xD800 <= ord(c) <= 0xDFFF for c in value):
                raise BadRequest(f"{name}: control characters are not allowed")


def request_filter(args) -> tuple[ChangeFilter, int]:
    """The filter and entry count a feed request asks for; BadRequest for bad values."""
    _no_control_characters(args)
    limit = args.get("limit") or str(NEWEST)
    if not (limit.isascii() and limit.isdigit()) or not 1 <= int(limit) <= MAX_ENTRIES:
        raise BadRequest(f"limit must be a number from 1 to {MAX_ENTRIES}")
    selection = ChangeFilter(since=_since(args.get("since")), crawl=args.get("crawl") or None,
                             sites=tuple(v for v in args.getlist("site") if v),
                             sections=tuple(v for v in args.getlist("section") if v),
                             query=(args.get("q") or "").strip() or None)
    return selection, int(limit)


async def feed_response(datasette, request, ask, replay: str | None) -> Response:
    """The feed the request asks for; `ask(question)` runs `question(catalogue)` on the served catalogue."""
    from archive.search import QueryError

    fmt = request.url_vars["format"]
    selection, limit = request_filter(request.args)
    links = FeedLinks(ui=datasette.absolute_url(request, datasette.urls.path("/")), replay=replay)

    def work(catalogue):
        items = list(watched_changes(catalogue, selection, newest=limit))
        return build_feed(items, links=links, selection=selection, fmt=fmt, self_url=request.url)

    try:
        body = await ask(work)
    except QueryError as error:
        raise BadRequest(f"q: {error}") from None
    return Response(body, status=200, content_type=MEDIA_TYPES[fmt],
                    headers={"Cache-Control": "max-age=300", "Vary": "Host"})  # its links follow the Host asked for
