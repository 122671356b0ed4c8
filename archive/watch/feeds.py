"""Atom and RSS feeds of new, edited, withdrawn and restored articles (built with feedgen).

    xml = build_feed(items, links=FeedLinks("http://archive.example/", "http://archive.example:8090/"),
                     selection=ChangeFilter(q="化工"), fmt="atom")

One entry per change, newest first.  Each links to the article page in the
UI (for an edit: the page of the new version, at its diff) and, as
`rel="related"`, to the archived capture in pywb; its content is escaped
HTML: for an edit the changed fields and the character diff of title and
body (`<del>`/`<ins>`, unchanged paragraphs folded), for a new article its
first paragraphs, for a withdrawal how and when it left the portal, for a
restoration when it came back and since when it had been gone.

Entry ids are `urn:uuid:` names derived from the article's URL and the
version (or the crawl of the withdrawal or restoration), so they stay the same whichever host
serves the feed and however often it is rebuilt.
"""

from __future__ import annotations

import re

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from urllib.parse import urlencode

from archive.watch import diff as diffs
from archive.watch.select import ChangeFilter, WatchedChange
from archive.web.article import FLAG_LABELS, Links

FORMATS = ("atom", "rss")
MEDIA_TYPES = {"atom": "application/atom+xml; charset=utf-8", "rss": "application/rss+xml; charset=utf-8"}
NEWEST = 200  # entries in a feed unless told otherwise
LABELS = {"new": "新增 new", "edited": "修改 edited", "withdrawn": "撤下 withdrawn", "restored": "恢复 restored"}
EXCERPT_PARAGRAPHS = 2
_NAMESPACE = uuid.UUID("5b0c2f4e-6a43-5d1e-9a57-2f1d8e0c7b31")  # ours; fixed forever


@dataclass(frozen=True)
class FeedLinks:
    """Absolute base URLs of the browser UI and of pywb replay (None: no replay links)."""

    ui: str
    replay: str | None = None

    @property
    def pages(self) -> Links:
        return Links(prefix=self.ui.rstrip("/") + "/", replay=self.replay.rstrip("/") if self.replay else None)

    def article(self, item: WatchedChange) -> str:
        change = item.change
        if change.change == "edited":
            return self.pages.article(change.article_id, change.version) + "#changes"
        return self.pages.article(change.article_id)

    def capture(self, item: WatchedChange) -> str | None:
        return self.pages.replay_capture(item.capture_date, item.change.url)

    def feed(self, fmt: str, selection: ChangeFilter) -> str:
        """Where `serve` publishes this feed."""
        query = urlencode(selection.as_params(), doseq=True)
        return f"{self.ui.rstrip('/')}/-/feeds/changes.{fmt}" + (f"?{query}" if query else "")


def _when(value: str | None) -> datetime:
    if not value:
        return datetime.now(timezone.utc)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _shown_time(value: str) -> str:
    return value[:19].replace("T", " ") + " UTC"


def entry_id(item: WatchedChange) -> str:
    change = item.change
    which = f"v{change.version}" if change.version else f"{change.change}/{change.crawl_id}"
    return uuid.uuid5(_NAMESPACE, f"{change.url}#{which}").urn


def entry_title(item: WatchedChange) -> str:
    return f"{LABELS[item.change.change]}: {item.title or item.change.url}"


def _paragraphs(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(diffs.PARAGRAPH) if part.strip()]


def diff_html(diff: diffs.Diff, context: int = 1) -> str:
    """A body diff as escaped HTML paragraphs, unchanged ones folded."""
    out = []
    for block in diffs.folded(diff, context):
        if block.gap:
            out.append(f"<p>… {block.gap} 段未变 unchanged paragraph(s) …</p>")
        else:
            out.append(f"<p>{diffs.html_inline(block.parts)}</p>")
    return "".join(out)


def entry_html(item: WatchedChange, links: FeedLinks) -> str:
    """The entry's content: escaped HTML (every text from the archive goes through `escape`)."""
    change, shown = item.change, item.shown
    meta = [escape(part) for part in (shown.get("published"), shown.get("source"), shown.get("column_name")) if part]
    out = [f"<p>{' · '.join(meta)}</p>"] if meta else []
    if item.flags:
        labels = ", ".join(escape(FLAG_LABELS.get(flag, flag)) for flag in item.flags)
        out.append(f"<p><strong>完整性警告 integrity flags: {labels}</strong></p>")
    if change.change == "edited":
        if change.changed_fields:
            out.append(f"<p>修改字段 changed: {escape(', '.join(change.changed_fields))}</p>")
        if item.title_diff:
            out.append(f"<p>标题 title: {diffs.html_inline(item.title_diff)}</p>")
        if item.body_diff and diffs.is_changed(item.body_diff):
            out.append(diff_html(item.body_diff))
    elif change.change == "new":
        paragraphs = _paragraphs(shown.get("body_text"))
        out += [f"<p>{escape(part)}</p>" for part in paragraphs[:EXCERPT_PARAGRAPHS]]
        if len(paragraphs) > EXCERPT_PARAGRAPHS:
            out.append("<p>…</p>")
    elif change.change == "restored":
        out.append(f"<p>重新出现在网站上 back on the portal, detected {escape(_shown_time(change.date))}; withdrawn "
                   f"({escape(change.how or '')}) since {escape(_shown_time(change.withdrawn_at or ''))}; "
                   f"当前存档版本 current archived version {escape(str(shown.get('version', '?')))}.</p>")
    else:
        out.append(f"<p>已从网站撤下 left the portal ({escape(change.how or '')}), detected {escape(_shown_time(change.date))}; "
                   f"最后存档版本 last archived version {escape(str(shown.get('version', '?')))}.</p>")
    capture = links.capture(item)
    out.append(f'<p><a href="{escape(links.article(item))}">存档文章 article in the archive</a>'
               + (f' · <a href="{escape(capture)}">存档网页 archived capture</a>' if capture else "")
               + f' · 原网址 original: {escape(change.url)}</p>')
    return "".join(out)


class _RelatedLinks:
    """A feedgen entry extension: `<link rel="related">` elements in Atom entries.

    feedgen 1.0 drops `rel` and `title` from entry links (it sets them on the
    wrong element), which would make the capture link a second "alternate".
    """

    def __init__(self) -> None:
        self.links: list[dict[str, str]] = []

    def add(self, href: str, title: str) -> None:
        self.links.append({"href": href, "rel": "related", "title": title})

    def extend_ns(self) -> dict:
        return {}

    def extend_rss(self, item):
        return item

    def extend_atom(self, entry):
        from lxml import etree

        for link in self.links:
            etree.SubElement(entry, "link", **link)
        return entry


# What XML 1.0 cannot hold (C0 controls but tab and newlines, U+FFFE, U+FFFF, lone surrogates): a hijacked
# page's title can carry them, and one such entry made lxml refuse the whole feed.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """`text` with every character XML cannot hold as U+FFFD (the archive keeps what the page held)."""
    return _NOT_XML.sub("\ufffd", text)


def build_feed(items: Iterable[WatchedChange], *, links: FeedLinks, selection: ChangeFilter = ChangeFilter(),
               fmt: str = "atom", self_url: str | None = None) -> bytes:
    """The feed as UTF-8 XML; `items` oldest first (entries come out newest first)."""
    from feedgen.feed import FeedGenerator

    if fmt not in FORMATS:
        raise ValueError(f"feed format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    from feedgen.ext.base import BaseExtension

    feed = FeedGenerator()
    feed.register_extension("related", BaseExtension, _RelatedLinks, atom=True, rss=False)
    described = selection.describe()
    feed.id(uuid.uuid5(_NAMESPACE, "changes?" + urlencode(sorted(selection.as_params().items()), doseq=True)).urn)
    feed.title(xml_text("存档变更 Archive changes" + (f": {described}" if described else "")))
    feed.subtitle("新增、修改、撤下和恢复的文章 New, edited, withdrawn and restored articles, as the archive's crawls found them")
    feed.author({"name": "portal-archive"})
    feed.generator("portal-archive")
    feed.language("zh")
    feed.link(href=self_url or links.feed(fmt, selection), rel="self")
    feed.link(href=links.ui, rel="alternate")  # last: RSS's one channel link
    newest = None
    for item in items:  # oldest first; feedgen prepends, so the feed reads newest first
        when = _when(item.change.date)
        newest = max(newest, when) if newest else when
        entry = feed.add_entry()
        entry.id(entry_id(item))
        entry.guid(entry_id(item), permalink=False)
        entry.title(xml_text(entry_title(item)))
        entry.link(href=xml_text(links.article(item)), rel="alternate")
        capture = links.capture(item)
        if capture:
            entry.related.add(xml_text(capture), "archived capture")
        entry.category(term=item.change.change, label=LABELS[item.change.change])
        for flag in item.flags:
            entry.category(term=xml_text(flag), label=xml_text(FLAG_LABELS.get(flag, flag)))
        entry.updated(when)
        entry.published(when)
        entry.content(xml_text(entry_html(item, links)), type="CDATA" if fmt == "rss" else "html")
    feed.updated(newest or datetime.now(timezone.utc))
    return feed.atom_str(pretty=True) if fmt == "atom" else feed.rss_str(pretty=True)
