"""`portal-archive serve` over a real crawl, driven by headless Chromium.

The crawl (the session's `crawled` fixture) is copied, one article gets a
hostile version by hand, and serve runs on free ports as a user would start
it.  Chromium loads the pages (`--dump-dom` gives the DOM after scripts ran,
`--screenshot` a PNG).  Screenshots go to a pytest temporary folder; their
paths are printed (see them with `pytest -rP tests/test_browser.py`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from urllib.parse import quote

import lxml.html
import pytest

from replica.launch import free_port

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parent.parent
SEED_IMAGES = {"IMG_5158_副本.jpg", "IMG_5195_副本.jpg", "IMG_5222_副本.jpg", "IMG_5176_副本.jpg", "IMG_5143_副本.jpg"}
HOSTILE_MARK = "注入测试"
HOSTILE_BODY = (
    f"<p>{HOSTILE_MARK}：这段正文带有脚本。</p>"
    "<script>document.title='pwned';document.body.setAttribute('data-pwned','script')</script>"
    "<img src='http://127.0.0.1:9/x.jpg' onerror=\"document.body.setAttribute('data-pwned','onerror')\">"
    "<p onmouseover=\"document.body.setAttribute('data-pwned','mouse')\">悬停</p>"
    "<a href=\"javascript:document.body.setAttribute('data-pwned','js')\">链接</a>"
    "<iframe src=\"javascript:parent.document.body.setAttribute('data-pwned','iframe')\"></iframe>"
    "<svg onload=\"document.body.setAttribute('data-pwned','svg')\"></svg>"
    "<style>body{display:none}</style>"
)


def find_chromium() -> str:
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        found = candidate and shutil.which(candidate)
        if found:
            return found
    pytest.fail("Chromium is not installed (looked for $CHROMIUM, chromium, chromium-browser, google-chrome): "
                "`make test` installs it (Debian package `chromium`)", pytrace=False)


def chromium(*args: str, timeout: float = 180) -> str:
    """Run headless Chromium once with a fresh profile; its stdout (a loaded machine may take its time)."""
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    try:
        result = subprocess.run(
            [find_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
             f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, encoding="utf-8", timeout=timeout)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert result.returncode == 0, f"chromium {args} exited {result.returncode}:\n{result.stderr[-2000:]}"
    return result.stdout


def dump_dom(url: str):
    """The page's DOM after it loaded and its scripts ran, parsed."""
    return lxml.html.fromstring(chromium("--dump-dom", "--virtual-time-budget=5000", url))


def screenshot(url: str, folder: Path, name: str, height: int = 1600) -> Path:
    path = folder / f"{name}.png"
    chromium(f"--screenshot={path}", f"--window-size=1280,{height}", "--virtual-time-budget=3000", url)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"screenshot: {path}")
    return path


def fetch(url: str) -> tuple[str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.headers.get("Content-Type", ""), response.read()


def add_hostile_version(catalogue: Path) -> int:
    """Give one ordinary article a second, current version whose body carries script; its id."""
    conn = sqlite3.connect(catalogue)
    article, version_id = conn.execute(
        "SELECT a.id, a.current_version FROM articles a JOIN versions v ON v.id = a.current_version"
        " WHERE v.images = '[]' AND v.title NOT LIKE '%攻坚五问%' ORDER BY a.id LIMIT 1").fetchone()
    conn.execute(
        "INSERT INTO versions (article_id, version, content_hash, title, published, source, body_text, body_html,"
        " images, attachments, breadcrumb, site_name, column_name, flags, changed_fields, first_seen, last_seen,"
        " crawl_id, capture_id, extractor)"
        " SELECT article_id, version + 1, 'sha256:hostile', title, published, source, ?, ?, '[]', '[]', breadcrumb,"
        " site_name, column_name, '[\"injected_script\"]', '[\"body_text\", \"body_html\"]', last_seen, last_seen,"
        " crawl_id, capture_id, extractor FROM versions WHERE id = ?",
        (f"{HOSTILE_MARK}：这段正文带有脚本。\n\n悬停\n\n链接", HOSTILE_BODY, version_id))
    conn.execute("UPDATE articles SET current_version = last_insert_rowid() WHERE id = ?", (article,))
    conn.commit()
    conn.close()
    return article


@pytest.fixture(scope="module")
def served(crawled, tmp_path_factory):
    """serve running over a copy of the crawl: its URLs, data folder, log and screenshot folder."""
    find_chromium()
    work = tmp_path_factory.mktemp("browser")
    data = work / "data"
    shutil.copytree(crawled["data"], data, ignore=shutil.ignore_patterns("media", "items", ".lock", "*.open"))
    hostile = add_hostile_version(data / "catalog.sqlite")
    port, replay_port = free_port(), free_port()
    stderr = open(work / "serve.stderr", "w+", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "archive", "serve", "--data", str(data), "--port", str(port),
         "--replay-port", str(replay_port)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True, encoding="utf-8")
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        else:
            stderr.seek(0)
            pytest.fail(f"serve exited {process.wait()} before it was ready:\n{''.join(lines)}\n{stderr.read()}")
        logs = re.search(r"^Logs:\s+(\S+),", "".join(lines), re.M).group(1)
        yield {"ui": f"http://127.0.0.1:{port}", "replay": f"http://127.0.0.1:{replay_port}", "data": data,
               "hostile": hostile, "process": process, "ports": (port, replay_port), "log": Path(logs),
               "shots": tmp_path_factory.mktemp("screenshots"), "stdout": "".join(lines)}
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        stderr.close()


def search_url(served, query: str, **filters: str) -> str:
    extra = "".join(f"&{name}={quote(value)}" for name, value in filters.items())
    return f"{served['ui']}/-/search?q={quote(query)}{extra}"


@pytest.fixture(scope="module")
def seed_href(served) -> str:
    """Search 工业强市 in the browser; the seed article's link among the hits."""
    doc = dump_dom(search_url(served, "工业强市"))
    links = [hit.find(".//a") for hit in doc.find_class("hit")]
    seed = [a for a in links if "攻坚五问" in a.text_content()]
    assert seed, f"the seed article is not among {[a.text_content() for a in links]}"
    return seed[0].get("href")


def test_serve_prints_its_urls(served):
    assert f"Archive UI: {served['ui']}/" in served["stdout"]
    assert f"Replay:     {served['replay']}/archive/*/<url>" in served["stdout"]


def test_search_finds_the_seed_article(served, seed_href):
    assert re.fullmatch(r"/-/article/\d+", seed_href)
    screenshot(search_url(served, "工业强市"), served["shots"], "search-gongye-qiangshi", height=1000)


def test_seed_article_shows_its_body_and_five_archived_images(served, seed_href):
    url = served["ui"] + seed_href
    doc = dump_dom(url)
    assert "攻坚五问" in doc.get_element_by_id("article-title").text_content()
    body = doc.get_element_by_id("article-body")
    assert "官桥镇召开工业强市、产业兴市“攻坚五问”大调研大讨论活动动员大会" in body.text_content()
    images = list(body.iter("img"))
    assert {img.get("alt") for img in images} == SEED_IMAGES and len(images) == 5
    sources = [img.get("src") for img in images]
    assert all(re.fullmatch(r"/-/media/\d+", src) for src in sources), sources
    for src in sources:
        content_type, payload = fetch(served["ui"] + src)
        assert content_type == "image/jpeg" and payload[:3] == b"\xff\xd8\xff", src
    # Chromium itself loaded each image from our media route (the UI's access log says so).
    log = served["log"].read_text(encoding="utf-8")
    assert all(f'"GET {src} HTTP/1.1" 200' in log for src in sources)
    screenshot(url, served["shots"], "seed-article", height=2400)


def test_replay_link_renders_the_archived_page(served, seed_href):
    _, page = fetch(served["ui"] + seed_href)
    doc = lxml.html.fromstring(page)
    framed = doc.get_element_by_id("replay-link").get("href")
    assert framed.startswith(served["replay"] + "/archive/") and re.search(r"/archive/\d{14}/http", framed)
    # pywb's frame page takes its title from the archived page once that has rendered in its iframe.
    page = dump_dom(framed)
    assert "攻坚五问" in page.findtext(".//title"), page.findtext(".//title")
    # The archived page itself, rewritten (a top-level mp_ page is moved back into the frame by
    # pywb's script, so it is read over HTTP).
    content_type, payload = fetch(re.sub(r"/archive/(\d{14})/", r"/archive/\1mp_/", framed))
    text = payload.decode("utf-8")
    assert content_type.startswith("text/html") and "攻坚五问" in text
    assert "江城足球网" in text  # the hijacked mirror, as archived
    screenshot(framed, served["shots"], "seed-replay", height=1200)


def test_two_character_word_finds_every_article_containing_it(served):
    conn = sqlite3.connect(served["data"] / "catalog.sqlite")
    expected = set()
    for article, title, body, images, attachments in conn.execute(
            "SELECT a.id, v.title, v.body_text, v.images, v.attachments FROM articles a"
            " JOIN versions v ON v.id = a.current_version WHERE a.status = 'live'"):
        media = [str(e.get(k) or "") for e in json.loads(images) for k in ("alt", "caption")]
        media += [str(e.get("name") or "") for e in json.loads(attachments)]
        if any("化工" in (text or "") for text in [title, body, *media]):
            expected.add(article)
    conn.close()
    doc = dump_dom(search_url(served, "化工"))
    assert int(doc.get_element_by_id("result-count").get("data-total")) == len(expected)
    assert "<mark>化工</mark>" in lxml.html.tostring(doc.find_class("hits")[0], encoding="unicode")
    found, page = set(), 1
    while True:
        _, payload = fetch(f"{served['ui']}/-/search.json?q={quote('化工')}&page={page}")
        hits = json.loads(payload)["hits"]
        if not hits:
            break
        found |= {hit["article_id"] for hit in hits}
        page += 1
    assert found == expected
    screenshot(search_url(served, "化工"), served["shots"], "search-huagong", height=1000)


def test_hostile_body_is_rendered_inert(served):
    hits = json.loads(fetch(f"{served['ui']}/-/search.json?q={quote(HOSTILE_MARK)}")[1])["hits"]
    assert [hit["article_id"] for hit in hits] == [served["hostile"]]
    url = f"{served['ui']}/-/article/{served['hostile']}"
    doc = dump_dom(url)
    assert doc.find(".//body").get("data-pwned") is None
    assert doc.findtext(".//title") != "pwned"
    body = doc.get_element_by_id("article-body")
    assert HOSTILE_MARK in body.text_content()
    assert not [el.tag for el in body.iter() if el.tag in ("script", "style", "iframe", "svg", "object")]
    for element in body.iter():
        assert not [name for name in element.attrib if name.lower().startswith("on")], element.attrib
        assert not element.get("href", "").lower().startswith("javascript")
    assert "injected_script" in [flag.get("title") for flag in doc.find_class("flag")]
    assert doc.find_class("diff-row"), "version 2 is shown with its diff against version 1"
    screenshot(url, served["shots"], "hostile-article", height=1400)


def test_serve_stops_both_servers_on_sigterm(served):
    process = served["process"]
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    for port in served["ports"]:
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers after serve stopped"
