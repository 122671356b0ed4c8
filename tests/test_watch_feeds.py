"""Feeds (archive.watch.feeds) from hand-made changes: valid XML whatever the archived text holds."""

from __future__ import annotations

import dataclasses

import feedparser
import lxml.etree
import lxml.html
import pytest

from archive.catalogue.changes import Change
from archive.watch.diff import char_diff
from archive.watch.feeds import FeedLinks, build_feed, entry_id
from archive.watch.select import ChangeFilter, WatchedChange

HOSTILE = "标题<script>alert(1)</script>]]>&amp;\"'"
LINKS = FeedLinks("http://archive.test/", "http://archive.test:8090/")


def items() -> list[WatchedChange]:
    new = WatchedChange(Change("new", 1, "http://portal.test/1.html?a=1&b=2", HOSTILE, "2026-04-01T00:00:00Z", "C", 1),
                        new={"title": HOSTILE, "body_text": f"第一段{HOSTILE}\n\n第二段\n\n第三段", "flags": "[]",
                             "capture_date": "2026-04-01T00:00:00Z", "version": 1})
    edited = WatchedChange(Change("edited", 1, "http://portal.test/1.html?a=1&b=2", HOSTILE, "2026-04-02T00:00:00Z",
                                  "C", 2, ["body_text"]),
                           old=new.new, new={**new.new, "body_text": f"第一段{HOSTILE}<img src=x>\n\n第二段",
                                             "flags": '["injected_script"]', "version": 2,
                                             "capture_date": "2026-04-02T00:00:00Z"})
    edited.body_diff = char_diff(edited.old["body_text"], edited.new["body_text"])
    gone = WatchedChange(Change("withdrawn", 1, "http://portal.test/1.html?a=1&b=2", HOSTILE, "2026-04-03T00:00:00Z",
                                "C", how="404"), old=edited.new)
    return [new, edited, gone]


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_hostile_text_stays_text(fmt):
    xml = build_feed(items(), links=LINKS, selection=ChangeFilter(query="<化工>"), fmt=fmt)
    lxml.etree.fromstring(xml)  # well-formed
    feed = feedparser.parse(xml)
    assert not feed.bozo and len(feed.entries) == 3
    assert [entry.title.split(":")[0] for entry in feed.entries] == ["撤下 withdrawn", "修改 edited", "新增 new"]
    root = lxml.etree.fromstring(xml)
    contents = [node.text for node in root.iter() if node.tag.endswith(("content", "description")) and node.text]
    assert len(contents) >= 3
    for content in contents:
        html = lxml.html.fragment_fromstring(content, create_parent="div")
        assert not html.xpath("//script|//img"), content
    [edited] = [content for content in contents if "修改字段" in content]
    assert "<ins>&lt;img src=x&gt;</ins>" in edited and "<p><del>第三段</del></p>" in edited


def test_entry_ids_are_stable_and_distinct():
    first, second = items(), items()
    assert [entry_id(item) for item in first] == [entry_id(item) for item in second]
    assert len({entry_id(item) for item in first}) == 3


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="atom, rss"):
        build_feed(items(), links=LINKS, fmt="json")


def test_an_empty_feed_is_still_valid():
    feed = feedparser.parse(build_feed([], links=LINKS))
    assert not feed.bozo and feed.entries == [] and feed.feed.title.startswith("存档变更")


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_characters_xml_cannot_hold_do_not_take_the_feed_down(fmt):
    """A hijacked page's title held \\x0b and its body \\x01: lxml refused the whole feed (HTTP 500 on the web
    feed, a traceback from `changes --format atom`), so one page silenced the feed that would report it."""
    hostile = "签约落地\x0b\x0b控制\x01\ufffe"
    changed = items()
    for item in changed:
        item.change = dataclasses.replace(item.change, url=item.change.url + "\x0b", title=hostile)
        for version in (item.old, item.new):
            if version:
                version.update(title=hostile, body_text=f"第一段{hostile}\n\n第二段")
    xml = build_feed(changed, links=LINKS, fmt=fmt)
    feed = feedparser.parse(xml)
    assert not feed.bozo and len(feed.entries) == 3
    assert "签约落地\ufffd\ufffd控制\ufffd\ufffd" in feed.entries[0].title
