"""Pipelines as components, through Scrapy's get_crawler."""

from __future__ import annotations

import json
import logging

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from crawler.items import ArticleItem, content_hash
from crawler.outcome import FAILED, OK, PARTIAL, crawl_outcome
from crawler.pipelines.jsonl import JsonLinesPipeline
from crawler.pipelines.problems import ProblemsPipeline
from crawler.spiders.gongye import GongyeSpider


def project_crawler(**overrides):
    """A crawler with this project's settings, as `scrapy crawl` would have."""
    import crawler.settings as project

    settings = {name: getattr(project, name) for name in dir(project) if name.isupper()}
    settings.update(overrides)
    return get_crawler(GongyeSpider, settings)


def _item(**overrides) -> ArticleItem:
    fields = dict(url="http://127.0.0.1/xwzx/gyjj/202103/t20210315_1.html", title="标题", published="2021-03-15",
                  source="来源", body_text="正文", body_html="<p>正文</p>")
    fields.update(overrides)
    return ArticleItem(**fields)


def test_page_without_title_or_date_is_counted_and_logged(caplog):
    crawler = project_crawler()
    crawler.stats.open_spider()
    pipeline = ProblemsPipeline.from_crawler(crawler)
    item = _item(title=None, published=None, problems=["missing_title", "missing_date"])
    with caplog.at_level(logging.WARNING):
        assert pipeline.process_item(item) is item
    stats = crawler.stats.get_stats()
    assert stats["archive/problems/missing_title"] == 1
    assert stats["archive/problems/missing_date"] == 1
    assert stats["archive/articles_with_problems"] == 1
    assert item.url in caplog.text and "missing title" in caplog.text


def test_notices_are_not_problems():
    crawler = project_crawler()
    crawler.stats.open_spider()
    ProblemsPipeline.from_crawler(crawler).process_item(_item(problems=["pubdate_meta_disagrees"]))
    stats = crawler.stats.get_stats()
    assert stats["archive/notices/pubdate_meta_disagrees"] == 1
    assert "archive/articles_with_problems" not in stats


def test_outcome_codes():
    ok = {"finish_reason": "finished", "archive/list_pages": 2}
    assert crawl_outcome(ok).code == OK  # an unchanged recrawl archives no new article, and that is fine
    assert crawl_outcome(dict(ok, **{"archive/problems/missing_date": 1})).code == PARTIAL
    assert crawl_outcome(dict(ok, finish_reason="warc_write_error")).code == FAILED
    assert crawl_outcome({"finish_reason": "finished"}).code == FAILED
    # Forced down by a second stop signal: Scrapy never closed the spider, so there is no finish reason.
    forced = crawl_outcome({k: v for k, v in ok.items() if k != "finish_reason"})
    assert forced.code == FAILED and "forced to stop" in forced.reasons[0]


def test_jsonl_refuses_an_item_without_its_record(tmp_path):
    crawler = project_crawler(ARCHIVE_DATA_DIR=str(tmp_path))
    crawler.spider = GongyeSpider(crawl_id="c1")
    crawler.stats.open_spider()
    pipeline = JsonLinesPipeline.from_crawler(crawler)
    pipeline.open_spider()
    with pytest.raises(DropItem):
        pipeline.process_item(_item())
    ref = {"file": "x.warc.gz", "offset": 0, "length": 10, "record_id": "<urn:uuid:1>", "payload_digest": "sha1:A"}
    pipeline.process_item(_item(warc=ref))
    pipeline.close_spider()
    lines = (tmp_path / "items" / "c1.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["warc"] == ref
    assert "标题" in lines[0]


def test_content_hash_follows_visible_content():
    a = _item()
    b = _item(fetched_at="2026-01-01T00:00:00+00:00", crawl_id="other")
    c = _item(body_text="正文改了")
    assert content_hash(a) == content_hash(b)
    assert content_hash(a) != content_hash(c)


def test_media_results_stay_for_other_articles_that_embed_the_same_file(monkeypatch):
    """Scrapy checks `fp in downloaded`, yields, then reads `downloaded[fp]`: the pipeline dropped each result
    when its article completed, so another article embedding the same logo or chart failed in that window
    with KeyError(fingerprint) ('Could not fetch …: b"…"', exit 1).  Results now stay, the last CACHED of them,
    and a lookup keeps one among the newest."""
    from crawler.pipelines import media

    monkeypatch.setattr(media, "CACHED", 3)
    results = media._RecentResults()
    for key in (b"a", b"b", b"c"):
        results[key] = key.decode()
    assert b"a" in results  # Scrapy's check: `a` is now the newest
    results[b"d"] = "d"  # the oldest (`b`) goes, not the one just looked up
    assert list(results) == [b"c", b"a", b"d"] and results[b"a"] == "a"
