"""The URL map of each family: where list pages, articles, photos and attachments live.

`url_map(spec)` gives an object that builds paths from entries and reads
docids back out of paths, so pages, truth and routing share one map.
Media file names carry the docid (`<docid:07d><index:02d><tail:03d>.<ext>`),
so a photo or attachment can be traced to its article without a lookup table.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from replica.corpus import mix
from replica.families.corpus import FamilyEntry
from replica.spec import Column, SiteSpec

_NAME = r"(?P<name>(\d{7})\d{5}\.(?:jpg|pdf|doc|xls))"


def media_name(entry: FamilyEntry, index: int, ext: str) -> str:
    """The stored file name of photo or attachment `index` of `entry` (attachments count from 50)."""
    return f"{entry.docid:07d}{index:02d}{mix(entry.docid, index, 91) % 1000:03d}.{ext}"


class UrlMap:
    """Paths of one site.  Subclasses fix the family's patterns."""

    def __init__(self, spec: SiteSpec) -> None:
        self.spec = spec

    def column_of(self, entry: FamilyEntry) -> Column:
        return self.spec.columns[entry.column]

    def list_path(self, column: Column, page: int) -> str:
        """List page `page` (0 for the first) of `column`."""
        raise NotImplementedError

    def article_path(self, entry: FamilyEntry) -> str:
        raise NotImplementedError

    def media_path(self, entry: FamilyEntry, name: str) -> str:
        raise NotImplementedError

    def article_docid(self, path: str) -> int | None:
        """The docid an article path names (the caller checks it is this entry's path)."""
        match = self._article.match(path)
        return int(match.group("docid")) if match else None

    def media_docid(self, path: str, query: str) -> tuple[int, str] | None:
        """(docid, file name) of a photo or attachment path, or None."""
        match = self._media.match(path)
        return (int(match.group(2)), match.group("name")) if match else None


class HanwebUrls(UrlMap):
    """Hanweb JCMS: /col/colNNN/index.html, /art/YYYY/M/D/art_COL_DOC.html, /picture/…, downfile.jsp?…"""

    DATAPROXY = "/module/web/jpage/dataproxy.jsp"
    DOWNLOAD = "/module/download/downfile.jsp"
    _article = re.compile(r"^/art/\d{4}/\d{1,2}/\d{1,2}/art_\d+_(?P<docid>\d+)\.html$")
    _media = re.compile(r"^/picture/0/\d{6}(?P<name>(\d{7})\d{5}\.jpg)$")
    _file = re.compile(r"^\d{6}(?P<name>(\d{7})\d{5}\.(?:pdf|doc|xls))$")

    def list_path(self, column: Column, page: int) -> str:
        return f"/col/col{column.key}/index.html"

    def article_path(self, entry: FamilyEntry) -> str:
        d = entry.day
        return f"/art/{d.year}/{d.month}/{d.day}/art_{self.column_of(entry).key}_{entry.docid}.html"

    def media_path(self, entry: FamilyEntry, name: str) -> str:
        if name.endswith(".jpg"):
            return f"/picture/0/{entry.day:%y%m%d}{name}"
        return f"{self.DOWNLOAD}?classid=0&filename={entry.day:%y%m%d}{name}"

    def media_docid(self, path: str, query: str) -> tuple[int, str] | None:
        if path == self.DOWNLOAD:
            params = dict(parse_qsl(query))
            match = self._file.match(params.get("filename", "")) if params.get("classid") == "0" else None
        else:
            match = self._media.match(path)
        return (int(match.group(2)), match.group("name")) if match else None


class XxgkUrls(UrlMap):
    """xxgk: /xxgk/KEY/index.html, index_2.html …; /xxgk/KEY/YYYYMM/content_DOC.html; /uploadfiles/YYYYMM/…"""

    _article = re.compile(r"^/xxgk/[a-z]+/\d{6}/content_(?P<docid>\d+)\.html$")
    _media = re.compile(r"^/uploadfiles/\d{6}/" + _NAME + "$")
    _list = re.compile(r"^/xxgk/([a-z]+)/(?:index(?:_([1-9]\d*))?\.html)?$")

    def list_path(self, column: Column, page: int) -> str:
        return f"/xxgk/{column.key}/index.html" if page == 0 else f"/xxgk/{column.key}/index_{page + 1}.html"

    def list_page(self, path: str) -> tuple[Column, int] | None:
        """(column, page) of a list path; index_1.html is no page (page 2 is index_2.html)."""
        match = self._list.match(path)
        column = self.spec.column(match.group(1)) if match else None
        if column is None or match.group(2) == "1":
            return None
        return column, int(match.group(2) or 1) - 1

    def article_path(self, entry: FamilyEntry) -> str:
        return f"/xxgk/{self.column_of(entry).key}/{entry.day:%Y%m}/content_{entry.docid}.html"

    def media_path(self, entry: FamilyEntry, name: str) -> str:
        return f"/uploadfiles/{entry.day:%Y%m}/{name}"


class JsonUrls(UrlMap):
    """Script-and-JSON: /news/KEY/index.html shells, /api/content/list, /news/KEY/YYYYMMDD/DOC.html, /uploads/…"""

    API = "/api/content/list"
    _article = re.compile(r"^/news/[a-z]+/\d{8}/(?P<docid>\d+)\.html$")
    _media = re.compile(r"^/uploads/(?:image|file)/\d{4}/\d{4}/" + _NAME + "$")

    def list_path(self, column: Column, page: int) -> str:
        return f"/news/{column.key}/index.html"

    def article_path(self, entry: FamilyEntry) -> str:
        return f"/news/{self.column_of(entry).key}/{entry.day:%Y%m%d}/{entry.docid}.html"

    def media_path(self, entry: FamilyEntry, name: str) -> str:
        kind = "image" if name.endswith(".jpg") else "file"
        return f"/uploads/{kind}/{entry.day:%Y}/{entry.day:%m%d}/{name}"


def url_map(spec: SiteSpec) -> UrlMap:
    return {"hanweb": HanwebUrls, "xxgk": XxgkUrls, "json": JsonUrls}[spec.cms](spec)
