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

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from archive.search.query import Term
from archive.search.text import fold, joined, media_text

RANK_POOL = 200  # matches scored per query: the newest ones (500 cost 30-40 ms a query at 100,000 articles)
WEIGHTS = {"title": 10.0, "media": 2.0, "body": 1.0}
K1, B = 1.2, 0.75


@dataclass(frozen=True)
class RankDoc:
    """One pooled match: its key in date order (higher is newer) and its searchable text.

    `title` and `body` as catalogued or in the form of `plain` (counts agree
    either way; say `plain=True` when they are, and nothing is folded
    again); `length` is `len(plain(body))`, which an index stores.  The
    media text is `media`, or made from `images` and `attachments` (the
    version's JSON columns) when a term may be in them.
    """

    key: int
    title: str | None
    body: str | None
    length: int
    media: str | None = None
    images: Any = None
    attachments: Any = None
    plain: bool = False


class _Field:
    """One field's text, folded and made plain at most once, and only when a term needs it."""

    __slots__ = ("text", "_folded", "_plain")

    def __init__(self, text: str, already_plain: bool) -> None:
        self.text = text
        self._folded = self._plain = text if already_plain else None

    @property
    def folded(self) -> str:
        if self._folded is None:
            self._folded = fold(self.text)
        return self._folded

    @property
    def plain(self) -> str:
        if self._plain is None:
            self._plain = joined(self.folded.split())  # = plain(self.text)
        return self._plain


class _Counter:
    """Occurrences of one term in a field, as `plain(field).count(term.plain)` counts them.

    Three ways, cheapest first, all giving that count:
    - a term of one run with no ASCII character (and none of the
      private-use stand-ins for controls) is counted in the text as it is:
      folding and whitespace only change ASCII characters, full-width forms
      and spaces, and a run holds no space;
    - any other term of one run without a stand-in is counted in the folded
      text: it holds no whitespace, so each occurrence lies inside one run,
      and the runs of the folded text are those of the plain text (which
      also turns controls U+0000-U+0008, not in the term, into stand-ins,
      not in the term either);
    - a phrase (several runs) in the plain text itself.
    Before folding, a field missing one of the term's characters that
    folding neither makes nor changes (not ASCII, not a stand-in) holds none.
    """

    def __init__(self, term: Term) -> None:
        self.text = term.plain
        one_run = len(term.runs) == 1 and not _STAND_INS.search(self.text)
        self.raw = one_run and not _NEEDS_PLAIN.search(self.text)
        self.folded = one_run and not self.raw
        self.anchors = set(_NEEDS_PLAIN.sub("", _STAND_INS.sub("", self.text)))

    def __call__(self, field: _Field) -> int:
        if not field.text:
            return 0
        if self.raw:
            return field.text.count(self.text)
        if not all(anchor in field.text for anchor in self.anchors):
            return 0
        if self.folded:
            return field.folded.count(self.text)
        return field.plain.count(self.text)


_NEEDS_PLAIN = re.compile("[\x00-\x7f]")
_STAND_INS = re.compile("[\x00-\x08\ue000-\ue008]")


def _media(doc: RankDoc, counters: Sequence[_Counter]) -> str:
    """The media text, or "" when no term can be in it (a raw term absent from the JSON itself)."""
    if doc.media is not None:
        return doc.media
    raw = [value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
           for value in (doc.images, doc.attachments) if value]
    if not raw or all(counter.raw and not any(counter.text in part for part in raw) for counter in counters):
        return ""
    return media_text(doc.images, doc.attachments)


def rank(terms: Sequence[Term], docs: Sequence[RankDoc]) -> list[tuple[int, float]]:
    """(key, score) for every doc, best first; equal scores newest (highest key) first.

    `terms` are the query's wanted terms (`Query.terms`); `docs` the pool.
    """
    if not docs:
        return []
    counters = [_Counter(term) for term in terms]
    counts = []
    for doc in docs:
        media = _media(doc, counters)
        fields = (_Field(doc.title or "", doc.plain), _Field(doc.body or "", doc.plain),
                  _Field(media, doc.plain and doc.media is not None))  # made from the JSON: not plain
        counts.append([tuple(count(field) for field in fields) for count in counters])
    size = len(docs)
    lengths = [doc.length for doc in docs]
    average = max(sum(lengths) / size, 1.0)
    idfs = []
    for index in range(len(terms)):
        holding = sum(1 for doc in counts if any(doc[index]))
        idfs.append(math.log(1 + (size - holding + 0.5) / (holding + 0.5)))
    scored = []
    for doc, length, found in zip(docs, lengths, counts):
        norm = K1 * (1 - B + B * length / average)
        score = 0.0
        for idf, (in_title, in_body, in_media) in zip(idfs, found):
            tf = WEIGHTS["title"] * in_title + WEIGHTS["body"] * in_body + WEIGHTS["media"] * in_media
            if tf:
                score += idf * tf * (K1 + 1) / (tf + norm)
        scored.append((doc.key, round(score, 9)))
    scored.sort(key=lambda pair: (-pair[1], -pair[0]))
    return scored
