"""Ground truth: what a parser must find on each article page.

Built from the same `Article` objects the renderer uses, so truth and pages
cannot disagree.  Records carry every field of `crawler.items.TRUTH_FIELDS`
plus `change`; see docs/replica.md ("Ground truth").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, TextIO

from replica import chrome
from replica.article import Article, make_article
from replica.corpus import Corpus

BREADCRUMB = ["首页", "新闻中心", chrome.COLUMN_NAME]


def article_truth(article: Article, base_url: str = "") -> dict[str, Any]:
    """The truth record for one article.  URLs are `base_url` + path ("" gives paths)."""
    folder = base_url + article.entry.path.rsplit("/", 1)[0] + "/"
    current = article.entry.template == "current"
    return {
        "url": base_url + article.entry.path,
        "title": article.title,
        "published": article.published,
        "source": article.source,
        "body_text": article.body_text,
        "images": [{"url": folder + p.filename, "alt": p.alt, "caption": p.caption} for p in article.photos],
        "attachments": [{"url": folder + a.filename, "name": a.name} for a in article.attachments],
        "breadcrumb": list(BREADCRUMB),
        "site_name": chrome.SITE_NAME if current else None,
        "site_id_code": chrome.SITE_ID_CODE,
        "column_name": chrome.COLUMN_NAME,
        "charset": {"declared": article.entry.charset, "used": article.entry.charset},
    }


def truth_records(corpus: Corpus, base_url: str = "") -> Iterator[dict[str, Any]]:
    """One record per article present in the corpus's edition, in list order (newest first)."""
    for entry in corpus.entries:
        record = article_truth(make_article(entry, corpus.seed), base_url)
        record["change"] = corpus.change(entry)
        yield record


def removed_records(corpus: Corpus, base_url: str = "") -> Iterator[dict[str, Any]]:
    """The articles this edition removed (as they were before), each with `how`: "404" or "redirect"."""
    for entry, how in corpus.removed_last:
        record = article_truth(make_article(entry, corpus.seed), base_url)
        record["change"] = "removed"
        record["how"] = how
        yield record


def write_jsonl(records: Iterator[dict[str, Any]], out: TextIO) -> int:
    """Write records as UTF-8 JSON lines (Chinese unescaped); return how many."""
    count = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count
