"""`portal-archive parse` on list answers of every CMS family: rows, place in the list, the next request.

What an archivist runs when a profile walks a column wrongly: save the list
answer, parse it, follow `next` by hand.  Each replica family's list is walked
that way for three answers (HTML pages, Hanweb dataproxy POSTs, a JSON API)
and every row must be one of the site's articles, each shown once.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest

from replica import registry
from replica.launch import ReplicaProcess
from tests.conftest import portal_archive

pytestmark = pytest.mark.e2e
ARTICLES = 200


def _fetch(request: dict, out: Path) -> Path:
    data = urlencode(request["form"]).encode() if request.get("form") else None
    headers = {"X-Requested-With": "XMLHttpRequest"} if request["kind"] != "page" else {}
    with urllib.request.urlopen(urllib.request.Request(request["url"], data=data, headers=headers),
                                timeout=30) as answer:
        out.write_bytes(answer.read())
    return out


def _parse(path: Path, url: str, *options: str) -> dict:
    return json.loads(portal_archive("parse", str(path), "--url", url, *options).stdout)


@pytest.mark.parametrize("site", registry.site_names())
def test_a_column_walked_by_hand_with_parse(site, tmp_path):
    with ReplicaProcess(articles=ARTICLES, site=site) as replica:
        profile = tmp_path / f"{site}.toml"
        portal_archive("profile", "new", replica.section_url, "--name", site, "--out", str(profile))
        truth = {json.loads(line)["url"] for line in portal_archive(
            "replica", "truth", "--site", site, "--articles", str(ARTICLES), "--base-url",
            replica.base_url).stdout.splitlines() if line.strip()}
        request, seen, answers = {"url": replica.section_url, "kind": "page"}, [], []
        for number in range(3):
            if request is None:
                break
            saved = _fetch(request, tmp_path / f"answer-{number}")
            reading = _parse(saved, request["url"], "--profile", str(profile))
            assert reading["page"] == "list", reading
            answers.append((reading["family"], len(reading["rows"])))
            seen += [row["url"] for row in reading["rows"]]
            request = reading["next"]
        assert len(answers) >= 2, answers  # every family's list goes on past its first answer here
        assert seen and set(seen) <= truth, set(seen) - truth
        assert len(seen) == len(set(seen))  # no row shown twice along the walk


def test_auto_tells_an_article_from_a_list_and_as_forces_it(tmp_path):
    with ReplicaProcess(articles=ARTICLES) as replica:
        column = _fetch({"url": replica.section_url, "kind": "page"}, tmp_path / "list.html")
        listing = _parse(column, replica.section_url, "--profile", "generic")  # no profile: the rows tell
        assert listing["page"] == "list" and len(listing["rows"]) >= 3
        article_url = listing["rows"][0]["url"]
        article = _fetch({"url": article_url, "kind": "page"}, tmp_path / "article.html")
        read = _parse(article, article_url, "--profile", "generic")
        assert read["page"] == "article" and read["title"] and read["body_text"]
        forced = _parse(column, replica.section_url, "--as", "article", "--profile", "generic")
        assert forced["page"] == "article" and {"missing_body", "body_guessed"} & set(forced["problems"])
        forced = _parse(article, article_url, "--as", "list")
        assert forced["page"] == "list" and forced["next"] is None


def test_bad_section_and_bad_as_are_usage_errors(tmp_path):
    page = tmp_path / "p.html"
    page.write_text("<html><body>x</body></html>", encoding="utf-8")
    result = portal_archive("parse", str(page), "--url", "http://x/", "--section", "nosuch", check=False)
    assert result.returncode == 2 and "no section 'nosuch'" in result.stderr
    result = portal_archive("parse", str(page), "--url", "http://x/", "--as", "feed", check=False)
    assert result.returncode == 2 and "--as" in result.stderr
