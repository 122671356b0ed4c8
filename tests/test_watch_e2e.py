"""Watching the replica: edition 1, then a `--full --recheck all` crawl of edition 2 with alerts and feed files.

What issue 14 asks to be true afterwards: the crawl's Atom feed parses with
one entry per change; every edit's `body_diff` rebuilds both versions
exactly; a `json://` webhook on 127.0.0.1 got the summary naming the edited
articles (and its password appears nowhere); pywb's TimeMap of an edited
article lists both captures and its TimeGate answers with the nearest; the
UI shows the capture timeline, Memento links and a character diff.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import quote, urlsplit

import feedparser
import lxml.html
import pytest

from archive.replay import find_wayback, timemap_url
from archive.watch.diff import new_text, old_text
from replica.launch import ReplicaProcess, free_port
from tests.conftest import ROOT, portal_archive
from tests.test_watch_notify import Webhook

ARTICLES = 600
SECRET = "hook-Pa55word"
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _crawl(port: int, data, edition: int, *extra: str) -> subprocess.CompletedProcess:
    with ReplicaProcess(articles=ARTICLES, edition=edition, port=port) as replica:
        return subprocess.run(
            [sys.executable, "-m", "archive", "crawl", "--replica", replica.base_url, "--data", str(data),
             "--quiet", *extra], cwd=ROOT, capture_output=True, text=True, timeout=600)


def _truth(edition: int) -> dict[str, dict]:
    out = portal_archive("replica", "truth", "--articles", str(ARTICLES), "--edition", str(edition)).stdout
    return {record["url"]: record for record in map(json.loads, out.splitlines())}


@pytest.fixture(scope="module")
def watched(tmp_path_factory):
    work = tmp_path_factory.mktemp("watch")
    data, feeds = work / "data", work / "feeds"
    port, dead = free_port(), free_port()
    hook = Webhook()
    try:
        first = _crawl(port, data, 1)
        assert first.returncode == 0, first.stdout + first.stderr
        second = _crawl(port, data, 2, "--full", "--recheck", "all", "--feeds-dir", str(feeds),
                        "--notify", f"json://watcher:{SECRET}@127.0.0.1:{hook.port}/hook",
                        "--notify", f"json://watcher:{SECRET}@127.0.0.1:{dead}/nobody-listens")
        conn = sqlite3.connect(data / "catalog.sqlite")
        crawls = [row[0] for row in conn.execute("SELECT id FROM crawls ORDER BY started")]
        conn.close()
        yield {"data": data, "feeds": feeds, "second": second, "crawl": crawls[-1], "hook": hook,
               "port": port, "truth1": _truth(1), "truth2": _truth(2)}
    finally:
        hook.close()


def _changes(watched, *args: str) -> subprocess.CompletedProcess:
    return portal_archive("changes", "--data", str(watched["data"]), "--crawl", watched["crawl"], *args)


def _path(url: str) -> str:
    return urlsplit(url).path


def test_a_failed_alert_target_does_not_change_the_exit_code(watched):
    second = watched["second"]
    assert second.returncode == 0, second.stdout + second.stderr
    assert "alerts: sent to 1 of 2 targets" in second.stdout
    assert "failed: json://watcher:****@127.0.0.1:" in second.stdout
    assert "1 alert(s) failed" in second.stderr and "exit code is unchanged" in second.stderr


def test_webhook_got_the_summary_naming_the_edited_articles(watched):
    [request] = watched["hook"].received
    found = [json.loads(line) for line in _changes(watched, "--json").stdout.splitlines()]
    edited = [change for change in found if change["change"] == "edited"]
    assert edited
    message = request["body"]["message"]
    counts = {kind: sum(change["change"] == kind for change in found) for kind in ("new", "edited", "withdrawn")}
    assert f"{counts['new']} new, {counts['edited']} edited, {counts['withdrawn']} withdrawn" in message
    for change in edited:
        assert change["title"] in message
        assert f"/-/article/{change['article_id']}?version={change['version']}" in message


def test_no_secret_reaches_output_or_logs(watched):
    second = watched["second"]
    logs = "".join(path.read_text(encoding="utf-8") for path in (watched["data"] / "logs").glob("*.log"))
    assert "alert sent to json://watcher:****@" in logs and "alert FAILED" in logs
    for text in (second.stdout, second.stderr, logs):
        assert SECRET not in text
    conn = sqlite3.connect(watched["data"] / "catalog.sqlite")
    settings = " ".join(row[0] or "" for row in conn.execute("SELECT settings FROM crawls"))
    conn.close()
    assert SECRET not in settings and "hook" not in settings


def test_atom_feed_has_one_entry_per_change(watched):
    found = [json.loads(line) for line in _changes(watched, "--json").stdout.splitlines()]
    feed = feedparser.parse(_changes(watched, "--format", "atom", "--ui-url", "https://archive.test/").stdout)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10" and len(feed.entries) == len(found) >= 10
    assert len({entry.id for entry in feed.entries}) == len(found)
    assert {entry.tags[0].term for entry in feed.entries} == {"new", "edited", "withdrawn"}
    for entry in feed.entries:
        assert re.fullmatch(r"https://archive\.test/-/article/\d+(\?version=\d+#changes)?", entry.link)
        related = [link.href for link in entry.links if link.rel == "related"]
        assert len(related) == 1 and re.match(r"http://127\.0\.0\.1:8090/archive/\d{14}/http", related[0])
    edits = [entry for entry in feed.entries if entry.tags[0].term == "edited"]
    assert all("<ins>" in entry.content[0].value or "<del>" in entry.content[0].value for entry in edits)
    rss = feedparser.parse(_changes(watched, "--format", "rss").stdout)
    assert not rss.bozo and len(rss.entries) == len(found)


def test_every_edit_diff_rebuilds_both_versions(watched):
    found = [json.loads(line) for line in _changes(watched, "--json").stdout.splitlines()]
    old_truth = {_path(url): record for url, record in watched["truth1"].items()}
    new_truth = {_path(url): record for url, record in watched["truth2"].items()}
    edited = [change for change in found if change["change"] == "edited"]
    assert len(edited) >= 3 and any("title_diff" in change for change in edited)
    conn = sqlite3.connect(watched["data"] / "catalog.sqlite")
    for change in edited:
        before, after = old_truth[_path(change["url"])], new_truth[_path(change["url"])]
        assert old_text(change["body_diff"]) == before["body_text"]
        assert new_text(change["body_diff"]) == after["body_text"]
        stored = dict(conn.execute("SELECT version, body_text FROM versions WHERE article_id = ?",
                                   (change["article_id"],)).fetchall())
        assert old_text(change["body_diff"]) == stored[change["version"] - 1]
        assert new_text(change["body_diff"]) == stored[change["version"]]
        if before["title"] != after["title"]:
            assert old_text(change["title_diff"]) == before["title"]
            assert new_text(change["title_diff"]) == after["title"]
        else:
            assert "title_diff" not in change
    conn.close()


def test_text_output_marks_the_changed_characters(watched):
    text = _changes(watched).stdout
    assert "«+" in text and "\x1b[" not in text  # not a terminal: marks, no colour
    assert re.search(r"\d+ new, \d+ edited, \d+ withdrawn", text)


def test_feed_files_for_a_static_server(watched):
    for name in ("changes.atom", "changes.rss"):
        feed = feedparser.parse((watched["feeds"] / name).read_bytes())
        assert not feed.bozo and 10 <= len(feed.entries) <= 200
    assert not list(watched["feeds"].glob(".changes*"))  # no temporary file left


@pytest.fixture(scope="module")
def replay(watched):
    try:
        find_wayback()
    except Exception as error:  # noqa: BLE001
        pytest.fail(f"pywb is part of the install (make install): {error}")
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "archive", "replay", "--data", str(watched["data"]),
                                "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError("pywb did not start") from None
                time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        process.stderr.close()


def _mementos(timemap: str) -> list[tuple[str, datetime]]:
    found = re.findall(r'<([^>]+)>; rel="memento"; datetime="([^"]+)"', timemap)
    return [(url, parsedate_to_datetime(when)) for url, when in found]


def _timegate(base: str, url: str, when: datetime) -> http.client.HTTPResponse:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.request("GET", f"/archive/{url}", headers={"Accept-Datetime": format_datetime(when, usegmt=True)})
    return conn.getresponse()


def test_memento_timemap_and_timegate(watched, replay):
    edited = next(json.loads(line) for line in _changes(watched, "--json").stdout.splitlines()
                  if '"edited"' in line)
    with urllib.request.urlopen(timemap_url(replay, edited["url"]), timeout=30) as answer:
        assert answer.headers.get_content_type() == "application/link-format"
        mementos = _mementos(answer.read().decode())
    assert len(mementos) >= 2
    (first_url, first), (last_url, last) = mementos[0], mementos[-1]
    assert last > first
    for asked, expected in ((first - timedelta(days=1), first_url), (first + (last - first) / 4, first_url),
                            (last - (last - first) / 4, last_url), (last + timedelta(days=365), last_url)):
        answer = _timegate(replay, edited["url"], asked.astimezone(timezone.utc))
        assert answer.status in (302, 307), answer.status
        assert answer.getheader("Vary", "").lower() == "accept-datetime"
        location = answer.getheader("Location")
        assert re.sub(r"mp_/", "/", expected) == location, (asked, location)
        assert 'rel="original"' in answer.getheader("Link") and 'rel="timemap"' in answer.getheader("Link")
        answer.close()


def _app(watched, tmp_path):
    from tests.test_web_routes import App

    copy = tmp_path / "catalog.sqlite"
    shutil.copy(watched["data"] / "catalog.sqlite", copy)
    return App(copy)


def test_article_page_shows_timeline_mementos_and_both_diff_views(watched, tmp_path):
    app = _app(watched, tmp_path)
    edited = next(json.loads(line) for line in _changes(watched, "--json").stdout.splitlines()
                  if '"edited"' in line and '"body_text"' in line)
    _, doc = app.page(f"/-/article/{edited['article_id']}")
    timeline = doc.find_class("timeline")[0].findall("li")
    assert len(timeline) >= 2
    links = [li.find("a").get("href") for li in timeline]
    assert all(re.match(r"http://127\.0\.0\.1:8090/archive/\d{14}/http", href) for href in links)
    assert doc.xpath("//a[text()='Memento TimeMap']")[0].get("href").endswith("/archive/timemap/link/" + edited["url"])
    assert len(doc.find_class("memento-link")) == edited["version"]
    inline = lxml.html.tostring(doc.get_element_by_id("diff-inline"), encoding="unicode")
    added = next(text for op, text in edited["body_diff"] if op == "+")
    assert f"<ins>{added}</ins>" in inline
    _, side = app.page(f"/-/article/{edited['article_id']}?diff=side")
    table = side.get_element_by_id("diff-side")
    assert [td.text_content() for td in table.find_class("diff-new") if added in td.text_content()]
    assert not [td for td in table.find_class("diff-old") if added in td.text_content()]


def _mentions(watched, article_id: int, word: str) -> bool:
    """Whether any version of the article has `word` in its title, body, image texts or attachment names."""
    conn = sqlite3.connect(watched["data"] / "catalog.sqlite")
    rows = conn.execute("SELECT title, body_text, images, attachments FROM versions WHERE article_id = ?",
                        (article_id,)).fetchall()
    conn.close()
    for title, body, images, attachments in rows:
        texts = [title, body] + [str(image.get(key) or "") for image in json.loads(images or "[]")
                                 for key in ("alt", "caption")]
        texts += [str(item.get("name") or "") for item in json.loads(attachments or "[]")]
        if any(word in (text or "") for text in texts):
            return True
    return False


def test_serve_publishes_feeds_per_crawl_section_and_search(watched, tmp_path):
    app = _app(watched, tmp_path)
    found = [json.loads(line) for line in _changes(watched, "--json").stdout.splitlines()]
    response = app.get(f"/-/feeds/changes.atom?crawl={watched['crawl']}")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo and len(feed.entries) == len(found)
    assert feed.feed.links[0].href.endswith(f"/-/feeds/changes.atom?crawl={watched['crawl']}")
    word = "招商"
    searched = feedparser.parse(app.get(f"/-/feeds/changes.rss?crawl={watched['crawl']}&q={quote(word)}").content)
    expected = [change for change in found if _mentions(watched, change["article_id"], word)]
    assert 0 < len(searched.entries) == len(expected) < len(found)
    section = feedparser.parse(app.get(f"/-/feeds/changes.atom?section={quote('工业经济')}&limit=5").content)
    assert len(section.entries) == 5
    nowhere = feedparser.parse(app.get(f"/-/feeds/changes.atom?site={quote('别的网站')}").content)
    assert not nowhere.bozo and not nowhere.entries
    for bad in ("limit=0", "limit=x", "since=yesterday", "q=%22"):
        assert app.get(f"/-/feeds/changes.atom?{bad}").status_code == 400, bad
    _, search = app.page(f"/-/search?q={quote(word)}")
    assert search.get_element_by_id("feed-link").get("href") == f"/-/feeds/changes.atom?q={quote(word)}"


@pytest.mark.browser
def test_browser_shows_a_character_diff(watched, tmp_path):
    from tests.test_browser import dump_dom, find_chromium, screenshot

    find_chromium()
    data = tmp_path / "data"
    shutil.copytree(watched["data"], data, ignore=shutil.ignore_patterns("items", ".lock", "*.open"))
    # One more edit, of the kind an editor makes: a figure corrected inside a sentence.
    conn = sqlite3.connect(data / "catalog.sqlite")
    article, version, body = conn.execute(
        "SELECT a.id, v.version, v.body_text FROM articles a JOIN versions v ON v.id = a.current_version"
        " WHERE v.body_text GLOB '*[0-9].[0-9]*' AND v.version = 2 ORDER BY a.id LIMIT 1").fetchone()
    figure = re.search(r"\d+\.\d", body).group()
    digit = str((int(figure[-1]) + 1) % 10)
    corrected = body.replace(figure, figure[:-1] + digit, 1)
    conn.execute(
        "INSERT INTO versions (article_id, version, content_hash, title, published, source, body_text, body_html,"
        " images, attachments, breadcrumb, site_name, column_name, flags, changed_fields, first_seen, last_seen,"
        " crawl_id, capture_id, extractor) SELECT article_id, version + 1, 'sha256:corrected', title, published,"
        " source, ?, NULL, images, attachments, breadcrumb, site_name, column_name, flags, '[\"body_text\"]',"
        " last_seen, last_seen, crawl_id, capture_id, extractor FROM versions WHERE article_id = ? AND version = ?",
        (corrected, article, version))
    conn.execute("UPDATE articles SET current_version = last_insert_rowid() WHERE id = ?", (article,))
    conn.commit()
    conn.close()
    port, replay_port = free_port(), free_port()
    process = subprocess.Popen([sys.executable, "-m", "archive", "serve", "--data", str(data), "--port", str(port),
                                "--replay-port", str(replay_port)], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, encoding="utf-8")
    try:
        for line in process.stdout:
            if line.startswith("Press Ctrl-C"):
                break
        else:
            pytest.fail(f"serve exited {process.wait()}")
        shots = tmp_path / "shots"
        shots.mkdir()
        for view in ("inline", "side"):
            url = f"http://127.0.0.1:{port}/-/article/{article}?diff={view}#changes"
            doc = dump_dom(url)
            diff = doc.get_element_by_id(f"diff-{view}")
            inserted = [el.text_content() for el in diff.iter("ins")]
            deleted = [el.text_content() for el in diff.iter("del")]
            # Only the corrected digit is marked, not the paragraph around it.
            assert deleted == [figure[-1]] and inserted == [digit], (deleted, inserted)
            assert figure[:-1] in diff.text_content()
            screenshot(url, shots, f"character-diff-{view}", height=2000)
    finally:
        process.terminate()
        process.wait(timeout=20)
        process.stdout.close()


def test_the_newest_changes_are_the_last_of_all_changes(watched):
    from archive.catalogue import open_catalogue
    from archive.watch.select import ChangeFilter, select

    conn = open_catalogue(watched["data"], readonly=True)
    try:
        def key(change):
            return change.change, change.article_id, change.version, change.date

        every = [key(change) for change in select(conn, ChangeFilter())]
        for selection in (ChangeFilter(), ChangeFilter(crawl=watched["crawl"]), ChangeFilter(sections=("工业经济",))):
            kept = [key(change) for change in select(conn, selection)]
            assert [key(change) for change in select(conn, selection, newest=7)] == kept[-7:]
        assert len(every) > ARTICLES
    finally:
        conn.close()


def test_a_crawl_id_that_is_none_is_not_an_empty_list(watched):
    """A mistyped --crawl listed nothing and exited 0, as if that crawl had found no change; "" listed all."""
    unknown = portal_archive("changes", "--data", str(watched["data"]), "--crawl", "20990101T000000000Z", check=False)
    assert unknown.returncode == 5 and "no crawl '20990101T000000000Z'" in unknown.stderr
    empty = portal_archive("changes", "--data", str(watched["data"]), "--crawl", "", check=False)
    assert empty.returncode == 2 and "--crawl needs a crawl id" in empty.stderr
