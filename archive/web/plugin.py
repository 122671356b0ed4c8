"""The Datasette plugin: our search, article and media pages.

    /-/search?q=化工&since=&until=&source=&site=&section=&flag=&order=relevance|date&page=N   (and /-/search.json)
    /-/article/<article id>[?version=N]   body (sanitized), images, attachments, versions, diffs, replay link
    /-/media/<capture id>                 a payload read from the WARC files (never fetched live)
    /-/article/<article id>/proof.wacz[?version=N]   a signed proof package of that version (archive.evidence.proof)
    /-/feeds/changes.atom|rss?q=&site=&section=&since=&crawl=&limit=   new, edited, withdrawn and restored articles

Datasette loads it from `archive/web/plugins/` (`--plugins-dir`); see
`archive.web.app`.  Views read through Datasette's read-only connection with
`execute_fn`; templates are Jinja with autoescape, and the only markup they
receive unescaped is built by `archive.web.sanitize`, `archive.web.diffs`
and the search module's snippet renderer, each of which escapes text.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

from datasette import hookimpl
from datasette.utils.asgi import BadRequest, NotFound, Response
from datasette.views.base import DatasetteError
from markupsafe import Markup

from archive.exits import Unavailable
from archive.web.app import DATABASE, PLUGIN_NAME
from archive.web.article import FLAG_LABELS, ArticleMissing, Links, flag_labels, load_article
from archive.warc.errors import BodyDecodeError
from archive.web.media import MediaNotFound, MediaUnreadable, load_media
from archive.web.feeds import feed_response, feed_url
from archive.web.search_page import ORDERS, PAGE_SIZE, SearchForm, page_links, places, run_search, top_sources

# Datasette's last-resort error handler prints the exception with rich when rich is importable (frictionless
# brings it), and rich refuses outside an except block: every unknown deep path (a 404) became a 500.  Without
# rich it prints a plain traceback for real errors, as before.  (datasette.handle_exception is internal: the
# bound in pyproject.toml and tests/test_web_routes.py's 404 test hold it.)
import datasette.handle_exception as _datasette_errors  # noqa: E402

_datasette_errors.rich = None

# Our pages show archived, untrusted text: no inline script may run, nothing loads from elsewhere.
def _datasette_inline_scripts() -> str:
    """CSP sources for the inline scripts every Datasette page carries (closing its open menus), hashed from
    Datasette's own template, so that our pages' policy lets exactly those run."""
    import base64
    import hashlib
    import re
    from importlib.resources import files

    try:
        text = (files("datasette") / "templates" / "_close_open_menus.html").read_text(encoding="utf-8")
    except OSError:
        return ""
    return "".join(f" 'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
                   for body in re.findall(r"<script[^>]*>(.*?)</script>", text, re.S))


PAGE_POLICY = (f"default-src 'self'; script-src 'self'{_datasette_inline_scripts()}; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data:; object-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'self'")
MEDIA_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"

logger = logging.getLogger(__name__)


class StreamedResponse(Response):
    """A response whose body is sent piece by piece as `pieces` yields it (read in a worker thread).

    `first` was read before the status was chosen.  If a later piece fails,
    the response is left unfinished, so the client sees a cut-off transfer
    rather than a complete-looking file.
    """

    def __init__(self, first: bytes, pieces: Iterator[bytes], **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(b"", **kwargs)
        self._first = first
        self._pieces = pieces

    async def asgi_send(self, send) -> None:  # type: ignore[no-untyped-def]
        headers = {**self.headers, "content-type": self.content_type}
        raw_headers = [[key.encode("utf-8"), value.encode("utf-8")] for key, value in headers.items()]
        raw_headers += [[b"set-cookie", cookie.encode("utf-8")] for cookie in self._set_cookie_headers]
        await send({"type": "http.response.start", "status": self.status, "headers": raw_headers})
        piece = self._first
        try:
            while piece:
                await send({"type": "http.response.body", "body": piece, "more_body": True})
                piece = await asyncio.to_thread(next, self._pieces, b"")
        except (MediaUnreadable, BodyDecodeError) as error:
            logger.error("Media response cut off: %s", error)
            return
        finally:
            self._pieces.close()  # type: ignore[attr-defined]
        await send({"type": "http.response.body", "body": b""})


def _database(datasette):
    """The catalogue's Datasette database (named `catalog`, else the first one)."""
    if DATABASE in datasette.databases:
        return datasette.get_database(DATABASE)
    for name, database in datasette.databases.items():
        if not name.startswith("_") and database.path:
            return database
    raise NotFound("no catalogue database is being served")


async def _ask(datasette, question):
    """Run `question(catalogue)` on the catalogue: Datasette's read-only connection to it, or the live one.

    With PostgreSQL, Datasette browses a SQLite snapshot while these pages
    read the catalogue itself (plugin setting `catalogue`); when its server
    cannot be reached, or goes away mid-request, the page is a 503 that says so.
    """
    config = datasette.plugin_config(PLUGIN_NAME) or {}
    if config.get("catalogue"):
        from archive.catalogue import open_catalogue

        def ask_live():
            with open_catalogue(Path(config.get("data") or "."), config["catalogue"], readonly=True) as catalogue:
                return question(catalogue)

        try:
            return await asyncio.to_thread(ask_live)
        except Unavailable as error:
            logger.error("Catalogue unavailable: %s", error)
            raise DatasetteError(f"The catalogue is unavailable right now; try again later. ({error})",
                                 title="Catalogue unavailable", status=503) from None
    from archive.catalogue.sqlite import SqliteCatalogue

    return await _database(datasette).execute_fn(lambda conn: question(SqliteCatalogue.wrap(conn)))


def _data_folder(datasette) -> Path:
    """The data folder whose warc/ holds the records: the plugin's setting (`serve` on PostgreSQL, where
    Datasette's database is a snapshot in a folder of its own), else the served catalogue's folder."""
    config = datasette.plugin_config(PLUGIN_NAME) or {}
    return Path(config["data"]) if config.get("data") else Path(_database(datasette).path).parent


def _links(datasette) -> Links:
    config = datasette.plugin_config(PLUGIN_NAME) or {}
    return Links(prefix=datasette.urls.path("/"), replay=config.get("replay"))


async def _page(datasette, request, template: str, context: dict, status: int = 200) -> Response:
    html = await datasette.render_template(template, context, request=request)
    response = Response.html(html, status=status)
    response.headers["Content-Security-Policy"] = PAGE_POLICY  # nosniff: on every response (`asgi_wrapper`)
    return response


async def _search(datasette, request, sources: bool = True) -> tuple[SearchForm, object, str | None, dict]:
    form = SearchForm.from_args(request.args)

    def work(catalogue):
        results, error = run_search(catalogue, form)
        return results, error, {"sources": top_sources(catalogue), **places(catalogue)} if sources else {}

    results, error, choices = await _ask(datasette, work)
    return form, results, error, choices


async def search_view(datasette, request):
    form, results, error, choices = await _search(datasette, request)
    links = _links(datasette)
    hits = [{"hit": hit, "href": links.article(hit.article_id, None if hit.current else hit.version),
             "snippet": Markup(hit.snippet_html), "flags": flag_labels(hit.flags)}
            for hit in (results.hits if results else [])]
    context = {"form": form, "results": results, "hits": hits, "error": error, **choices,
               "flags": FLAG_LABELS, "orders": ORDERS, "pages": page_links(form, results),
               "first": (form.page - 1) * PAGE_SIZE + 1, "search_path": datasette.urls.path("/-/search"),
               "feed": feed_url(datasette, form.q)}
    return await _page(datasette, request, "portal_search.html", context, status=400 if error else 200)


async def search_json(datasette, request):
    form, results, error, _ = await _search(datasette, request, sources=False)
    if error:
        return Response.json({"ok": False, "error": error}, status=400)
    if results is None:
        return Response.json({"ok": False, "error": "add ?q=words"}, status=400)
    return Response.json({"ok": True, "query": form.q, "total": results.total, "exact": results.exact, "offset": results.offset,
                          "stale": results.stale, "hits": [hit.to_dict() for hit in results.hits]})


async def article_view(datasette, request):
    article_id = int(request.url_vars["article_id"])
    version = request.args.get("version")
    if version is not None and not (version.isascii() and version.isdigit()):
        raise BadRequest("version must be a number")
    links = _links(datasette)
    try:
        context = await _ask(datasette, lambda catalogue: load_article(catalogue, article_id,
                                                                        int(version) if version else None, links))
    except ArticleMissing as error:
        raise NotFound(str(error)) from None
    context["search_path"] = datasette.urls.path("/-/search")
    context["diff_view"] = "side" if request.args.get("diff") == "side" else "inline"
    base = {"version": version} if version else {}
    context["diff_links"] = {view: datasette.urls.path(f"/-/article/{article_id}?" + urlencode({**base, "diff": view}))
                             + "#changes" for view in ("inline", "side")}
    context["row_path"] = datasette.urls.path(f"/{DATABASE}/articles/{article_id}")
    context["proof_path"] = datasette.urls.path(f"/-/article/{article_id}/proof.wacz") + (
        f"?version={context['version']['version']}" if version else "")
    return await _page(datasette, request, "portal_article.html", context)


async def proof_view(datasette, request):
    """Build the proof package of one article version and send it (signed; timestamped when configured)."""
    import asyncio

    from archive.web.proof import build_proof_bytes

    article_id = int(request.url_vars["article_id"])
    version = request.args.get("version")
    if version is not None and not (version.isascii() and version.isdigit()):
        raise BadRequest("version must be a number")
    data = _data_folder(datasette)
    status, body, name = await asyncio.to_thread(build_proof_bytes, data, article_id, int(version) if version else None)
    if status != 200:
        return Response.text(body.decode("utf-8"), status=status)
    return Response(body, status=200, content_type="application/wacz+zip", headers={
        "Content-Disposition": f'attachment; filename="{name}"'})


async def feed_view(datasette, request):
    return await feed_response(datasette, request, lambda question: _ask(datasette, question),
                               _links(datasette).replay)


async def media_view(datasette, request):
    capture_id = int(request.url_vars["capture_id"])
    warc = _data_folder(datasette) / "warc"
    try:
        media = await _ask(datasette, lambda catalogue: load_media(catalogue, warc, capture_id))
    except MediaNotFound as error:
        raise NotFound(str(error)) from None
    except MediaUnreadable as error:
        return Response.text(f"The archive cannot return this capture: {error}", status=500)
    pieces = media.chunks()
    try:  # the first piece before the status, so a body that does not decode at all is a clean 500
        first = await asyncio.to_thread(next, pieces, b"")
    except (MediaUnreadable, BodyDecodeError) as error:
        return Response.text(f"The archive cannot return this capture: {error}", status=500)
    disposition = "inline" if media.inline else "attachment"
    headers = {
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(media.filename)}",
        "Content-Security-Policy": MEDIA_POLICY,
        "Cache-Control": "max-age=3600",
        "X-Archive-Capture-Date": media.date,
        "X-Archive-Original-URL": quote(media.url, safe=":/?&=%#;,+@"),
    }
    if media.truncated:
        headers["X-Archive-Truncated"] = "true"
    return StreamedResponse(first, pieces, status=200, headers=headers, content_type=media.content_type)


def _reads_only(view):
    """`view` for GET and HEAD; any other method is a 405 (a DELETE of an article page answered 200)."""
    @functools.wraps(view)
    async def only(datasette, request, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return Response.text("405 method not allowed: this archive is read only", status=405,
                                 headers={"Allow": "GET, HEAD"})
        return await view(datasette=datasette, request=request, **kwargs)
    return only


@hookimpl
def register_routes():
    return [(pattern, _reads_only(view)) for pattern, view in (
        (r"^/-/search$", search_view),
        (r"^/-/search\.json$", search_json),
        (r"^/-/article/(?P<article_id>[0-9]{1,15})$", article_view),
        (r"^/-/media/(?P<capture_id>[0-9]{1,15})$", media_view),
        (r"^/-/article/(?P<article_id>[0-9]{1,15})/proof\.wacz$", proof_view),
        (r"^/-/feeds/changes\.(?P<format>atom|rss)$", feed_view),
    )]


@hookimpl
def menu_links(datasette):
    return [
        {"href": datasette.urls.path("/-/search"), "label": "全文搜索 Search"},
        {"href": datasette.urls.table(DATABASE, "web_articles"), "label": "文章 Articles"},
        {"href": feed_url(datasette), "label": "变更订阅 Changes feed (Atom)"},
    ]


def _row_value(row, key: str):
    try:
        return row[key]
    except (KeyError, IndexError, TypeError):
        return None


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    """Article ids and titles link to the article page; portal URLs to their archived captures, never the live site."""
    if database != DATABASE:
        return None
    if isinstance(value, int) and (column == "article_id" or (column == "id" and table == "articles")):
        return Markup('<a href="{}">{}</a>').format(datasette.urls.path(f"/-/article/{value}"), value)
    if column == "title" and isinstance(value, str) and isinstance(_row_value(row, "article_id"), int):
        return Markup('<a href="{}">{}</a>').format(
            datasette.urls.path(f"/-/article/{_row_value(row, 'article_id')}"), value)
    if column == "url" and isinstance(value, str) and value.startswith(("http://", "https://")):
        replay = _links(datasette).replay_all(value)
        if replay is None:
            return Markup("{}").format(value)
        return Markup('<a href="{}" title="存档 archived captures">{}</a>').format(replay, value)
    return None


@hookimpl
def asgi_wrapper(datasette):
    """Every response of the app, Datasette's table pages and error pages included, says nosniff: archived
    text shown there must never be sniffed into another type."""
    def wrap(app):
        async def with_nosniff(scope, receive, send):
            async def sending(message):
                if message["type"] == "http.response.start":
                    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-content-type-options"]
                    message = {**message, "headers": [*headers, (b"x-content-type-options", b"nosniff")]}
                await send(message)
            await app(scope, receive, sending if scope["type"] == "http" else send)
        return with_nosniff
    return wrap
