"""Ground truth: what a parser must find on each article page.

Built from the same `Article` objects the renderer uses, so truth and pages
cannot disagree.  Records carry every field of `crawler.items.TRUTH_FIELDS`
plus `site` ("tengzhou"), `section` (工业经济) and `change`; see docs/replica.md ("Ground truth").  With an active
`FaultPlan` (hostile mode) each record also has `fault` and `faults`, and
the fields a fault changes (declared charset, body_text) say what is served.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, TextIO

from replica import chrome
from replica.article import Article, make_article
from replica.corpus import Corpus
from replica.faults import FaultPlan
from replica.hostile_html import OFFSITE_TEXT

BREADCRUMB = ["首页", "新闻中心", chrome.COLUMN_NAME]
SITE = "tengzhou"  # the site's short name in replica.registry


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
        "site": SITE,
        "section": chrome.COLUMN_NAME,
    }


def truth_records(corpus: Corpus, base_url: str = "", plan: FaultPlan | None = None) -> Iterator[dict[str, Any]]:
    """One record per article present in the corpus's edition, in list order (newest first).

    With an active `plan`, records carry `fault` and `faults` (see `add_faults`).
    """
    hostile = plan is not None and plan.active
    for entry in corpus.entries:
        record = article_truth(make_article(entry, corpus.seed), base_url)
        record["change"] = corpus.change(entry)
        if hostile:
            add_faults(record, entry.path, plan)
        yield record


def add_faults(record: dict[str, Any], path: str, plan: FaultPlan) -> dict[str, Any]:
    """Mark `record` with the faults of `path` under `plan`, in place.

    `faults`: every kind touching the article (KINDS names, in that order),
    transient ones included; `fault`: the kind that keeps a correct crawler
    from archiving it (persistent 5xx/reset/drop/slow, redirect-loop,
    oversize), or None.  A charset fault makes `charset.declared` the lie the
    page tells; an offsite fault adds the link paragraph to `body_text`.
    """
    kinds, fault = plan.article_faults(path)
    if "charset" in kinds:
        used = record["charset"]["used"]
        record["charset"] = {"declared": "utf-8" if used == "gbk" else "gbk", "used": used}
    if "offsite" in kinds:
        record["body_text"] = "\n\n".join(filter(None, (record["body_text"], OFFSITE_TEXT)))
    record["fault"] = fault
    record["faults"] = kinds
    return record


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
