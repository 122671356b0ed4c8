"""Page objects against the replica's ground truth, in process (no HTTP).

The replica renders every article from the same objects its truth is built
from, so every truth field must come out of the rendered page exactly, with the
Tengzhou profile and with generic rules alone.
"""

from __future__ import annotations

import pytest

from crawler.items import TRUTH_FIELDS
from crawler.pages.article import ArticlePage
from crawler.pages.listing import ListPage
from crawler.profile import load_profile

corpus_module = pytest.importorskip("replica.corpus")
site_module = pytest.importorskip("replica.site")
truth_module = pytest.importorskip("replica.truth")

BASE = "http://127.0.0.1:8000"
PROFILE = load_profile("tengzhou").with_base_url(BASE)


def site(edition: int):
    return site_module.Site(corpus_module.Corpus(articles=300, edition=edition, seed=1))


def fetch(the_site, url: str) -> tuple[bytes, dict]:
    res = the_site.resolve(url[len(BASE):])
    assert res.status == 200, url
    return res.body, {"Content-Type": res.content_type}


@pytest.mark.parametrize("profile", [PROFILE, None], ids=["tengzhou", "generic"])
@pytest.mark.parametrize("edition", [1, 2])
def test_every_article_matches_the_ground_truth(edition, profile):
    the_site = site(edition)
    wrong: dict[str, list[str]] = {}
    count = 0
    for truth in truth_module.truth_records(the_site.corpus, BASE):
        body, headers = fetch(the_site, truth["url"])
        fields = ArticlePage.from_bytes(body, truth["url"], headers, profile).fields()
        for name in TRUTH_FIELDS:
            if fields[name] != truth[name]:
                wrong.setdefault(name, []).append(truth["url"])
        count += 1
    assert count == len(the_site.corpus.entries) >= 300
    assert wrong == {}


def test_list_pages_lead_to_every_article_in_order():
    the_site = site(1)
    url, found, pages = BASE + "/xwzx/gyjj/index.html", [], 0
    while url:
        body, headers = fetch(the_site, url)
        page = ListPage.from_bytes(body, url, headers, PROFILE)
        found += [entry.url for entry in page.entries]
        pages += 1
        url = page.next_page_url
    assert pages == page.page_count == 15
    assert found == [BASE + entry.path for entry in the_site.corpus.entries]
