"""Ground truth of the family sites: what a correct extractor returns for each article.

Built from the same Doc objects the pages are rendered from.  Records carry
the fields of today's TRS truth (crawler.items.TRUTH_FIELDS) plus `site`,
`section`, `xxgk` (xxgk sites: the metadata table as a dict, labels as
printed) and `change`; with an active FaultPlan also `fault` and `faults`
(answer faults only: page-level faults are TRS-only).  See docs/replica.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from replica.families.corpus import FamilyCorpus, FamilyEntry
from replica.families.doc import make_doc
from replica.families.urls import url_map
from replica.faults import PERSISTABLE, FaultPlan


def doc_truth(corpus: FamilyCorpus, entry: FamilyEntry, base_url: str = "") -> dict[str, Any]:
    """The truth record of one article.  URLs are `base_url` + path ("" gives root-relative paths)."""
    spec, urls = corpus.spec, url_map(corpus.spec)
    doc = make_doc(spec, entry, corpus.seed)
    record: dict[str, Any] = {
        "url": base_url + urls.article_path(entry),
        "title": doc.title,
        "published": doc.published,
        "source": doc.source,
        "body_text": doc.body_text,
        "images": [{"url": base_url + urls.media_path(entry, p.name), "alt": p.alt, "caption": p.caption}
                   for p in doc.photos],
        "attachments": [{"url": base_url + urls.media_path(entry, a.name), "name": a.label} for a in doc.attachments],
        "breadcrumb": ["首页", doc.column.parent, doc.column.name],
        "site_name": spec.site_name,
        "site_id_code": spec.id_code,
        "column_name": doc.column.name,
        "charset": {"declared": spec.charset, "used": spec.charset},
        "site": spec.name,
        "section": doc.column.name,
    }
    if spec.cms == "xxgk":
        record["xxgk"] = dict(doc.xxgk)
    return record


def add_wire_faults(record: dict[str, Any], path: str, plan: FaultPlan) -> dict[str, Any]:
    """Mark `record` with the answer fault of its article path, in place (`faults`, `fault`)."""
    fault = plan.request_fault(path, article=True)
    record["fault"] = fault.kind if fault is not None and fault.persistent and fault.kind in PERSISTABLE else None
    record["faults"] = [fault.kind] if fault is not None else []
    return record


def family_truth(corpus: FamilyCorpus, base_url: str = "", plan: FaultPlan | None = None) -> Iterator[dict[str, Any]]:
    """One record per present article, column by column, newest first within a column."""
    urls = url_map(corpus.spec)
    hostile = plan is not None and plan.active
    for entry in corpus.entries:
        record = doc_truth(corpus, entry, base_url)
        record["change"] = corpus.change(entry)
        if hostile:
            add_wire_faults(record, urls.article_path(entry), plan)
        yield record


def family_removed(corpus: FamilyCorpus, base_url: str = "") -> Iterator[dict[str, Any]]:
    """The articles this edition removed (as they were before), each with `how`: "404" or "redirect"."""
    for entry, how in corpus.removed_last:
        record = doc_truth(corpus, entry, base_url)
        record["change"] = "removed"
        record["how"] = how
        yield record
