"""Relevance: one pure function that every backend feeds the same way, so that orders agree.

A search in relevance order takes the newest `RANK_POOL` matches (newest
first by the index's date order: published day, then version id), reads
their title, body and media text from the catalogue, and calls `rank()`.
Scores are bm25 over three fields counted from the text itself (title
weighted 10, image captions and attachment names 2, body 1), with the
document statistics of the pool (its size, how many of its documents hold
each term, its average body length): nothing depends on how a backend
stores its index, so SQLite and PostgreSQL rank alike, and nothing needs a
walk of a posting list beyond the pool.

Ties (equal scores) keep the pool's order: newest first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from archive.search.query import Term
from archive.search.text import plain

RANK_POOL = 500  # matches scored per query: the newest ones
WEIGHTS = {"title": 10.0, "media": 2.0, "body": 1.0}
K1, B = 1.2, 0.75


@dataclass(frozen=True)
class RankDoc:
    """One pooled match: its key in date order (higher is newer) and its searchable text."""

    key: int
    title: str | None
    body: str | None
    media: str | None


def rank(terms: Sequence[Term], docs: Sequence[RankDoc]) -> list[tuple[int, float]]:
    """(key, score) for every doc, best first; equal scores newest (highest key) first.

    `terms` are the query's wanted terms (`Query.terms`); `docs` the pool.
    """
    if not docs:
        return []
    texts = [(plain(doc.title), plain(doc.body), plain(doc.media)) for doc in docs]
    counts = [[(title.count(term.plain), body.count(term.plain), media.count(term.plain)) for term in terms]
              for title, body, media in texts]
    size = len(docs)
    average = max(sum(len(body) for _, body, _ in texts) / size, 1.0)
    idfs = []
    for index in range(len(terms)):
        holding = sum(1 for doc in counts if any(doc[index]))
        idfs.append(math.log(1 + (size - holding + 0.5) / (holding + 0.5)))
    scored = []
    for doc, (_, body, _), found in zip(docs, texts, counts):
        norm = K1 * (1 - B + B * len(body) / average)
        score = 0.0
        for idf, (in_title, in_body, in_media) in zip(idfs, found):
            tf = WEIGHTS["title"] * in_title + WEIGHTS["body"] * in_body + WEIGHTS["media"] * in_media
            if tf:
                score += idf * tf * (K1 + 1) / (tf + norm)
        scored.append((doc.key, round(score, 9)))
    scored.sort(key=lambda pair: (-pair[1], -pair[0]))
    return scored
