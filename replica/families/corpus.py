"""The article index of a family site: entries by column, newest first, and editions.

It follows replica.corpus (same date span, edition calendar and change rates)
but spreads the articles over the site's columns and has no seed article.
Entries are small records; pages are made from them on demand.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, timedelta

from replica.corpus import (
    EDIT_RATE, EDITION_DAYS, FIRST_DAY, LAST_BASE_DAY, MAX_ARTICLES, MAX_EDITION, NEW_RATE, REMOVE_RATE, mix,
)
from replica.errors import ReplicaConfigError
from replica.spec import SiteSpec


@dataclass(frozen=True, slots=True)
class FamilyEntry:
    """One article's metadata.  `column` indexes the site's columns; `edits` lists the editions that changed it."""

    docid: int
    day: date
    column: int
    chunked: bool  # the server sends it with chunked transfer
    added: int = 1
    edits: tuple[int, ...] = ()

    @property
    def revision(self) -> int:
        """The edition this page's bytes date from."""
        return self.edits[-1] if self.edits else self.added


class FamilyCorpus:
    """The articles of one edition of a family site.

    `entries` lists them column by column, newest first within a column (a
    higher docid is newer within a day).  `gone` maps the docid of every article
    removed up to this edition to how it answers now ("404" or "redirect");
    `removed_last` holds (entry, how) for this edition's removals.  Raises
    ReplicaConfigError for sizes or editions out of range.
    """

    def __init__(self, spec: SiteSpec, articles: int = 300, edition: int = 1, seed: int = 1) -> None:
        if not 1 <= articles <= MAX_ARTICLES:
            raise ReplicaConfigError(f"articles must be between 1 and {MAX_ARTICLES}, not {articles}")
        if not 1 <= edition <= MAX_EDITION:
            raise ReplicaConfigError(f"edition must be between 1 and {MAX_EDITION}, not {edition}")
        self.spec, self.articles, self.edition, self.seed = spec, articles, edition, seed
        self._slots = [i for i, c in enumerate(spec.columns) for _ in range(c.weight)]
        rng = random.Random(f"{spec.name}/{seed}")
        span = (LAST_BASE_DAY - FIRST_DAY).days + 1
        days = [FIRST_DAY + timedelta(days=rng.randrange(span)) for _ in range(articles)]
        everything = self._entries_on_days(rng, days, added=1)
        everything.sort(key=lambda e: e.docid, reverse=True)
        self.gone: dict[int, str] = {}
        self.removed_last: list[tuple[FamilyEntry, str]] = []
        for k in range(2, edition + 1):
            everything = self._step(everything, k)
        self._by_docid = {e.docid: e for e in everything}
        self.columns: list[list[FamilyEntry]] = [[] for _ in spec.columns]
        for entry in everything:
            self.columns[entry.column].append(entry)
        self.entries = [e for column in self.columns for e in column]

    def _column_of(self, roll: int) -> int:
        """The column a hash falls in, by the columns' weights."""
        roll %= len(self._slots)
        return self._slots[roll]

    def _entries_on_days(self, rng: random.Random, days: list[date], added: int) -> list[FamilyEntry]:
        """One entry per item of `days` (repeats allowed), docids unique on the site."""
        out = []
        for day, count in sorted(Counter(days).items()):
            if count > 1000:
                raise ReplicaConfigError(f"more than 1000 articles on {day}; use fewer articles")
            offset = self.spec.docid_base + (day - FIRST_DAY).days * 1000
            assert offset + 999 < 10**7, "docids have 7 digits at most (media file names carry them)"
            for slot in sorted(rng.sample(range(1000), count)):
                docid = offset + slot
                h = mix(self.seed, docid)
                out.append(FamilyEntry(docid, day, self._column_of(h >> 16), (h >> 8) % 4 == 0, added))
        return out

    def _step(self, entries: list[FamilyEntry], k: int) -> list[FamilyEntry]:
        rng = random.Random(f"edition/{self.spec.name}/{self.seed}/{k}")
        n = len(entries)
        n_new = max(1, round(NEW_RATE * n))
        n_edit = max(1, round(EDIT_RATE * n))
        n_remove = max(1, round(REMOVE_RATE * n))
        picked = rng.sample(range(n), min(n, n_edit + n_remove))
        edit_at, remove_at = picked[:n_edit], picked[n_edit:]
        removed = []
        for j, i in enumerate(sorted(remove_at)):
            how = "404" if (j + k) % 2 == 0 else "redirect"
            removed.append((entries[i], how))
            self.gone[entries[i].docid] = how
        entries = list(entries)
        for i in edit_at:
            entries[i] = replace(entries[i], edits=entries[i].edits + (k,))
        dropped = set(remove_at)
        kept = [e for i, e in enumerate(entries) if i not in dropped]
        first = LAST_BASE_DAY + timedelta(days=1 + EDITION_DAYS * (k - 2))
        days = [first + timedelta(days=rng.randrange(EDITION_DAYS)) for _ in range(n_new)]
        new = self._entries_on_days(rng, days, added=k)
        self.removed_last = removed
        return sorted(new + kept, key=lambda e: e.docid, reverse=True)

    def entry(self, docid: int) -> FamilyEntry | None:
        """The present entry with this docid, or None."""
        return self._by_docid.get(docid)

    def change(self, entry: FamilyEntry) -> str | None:
        """"new" or "edited" if this edition's step did that to `entry`, else None."""
        if self.edition == 1:
            return None
        if entry.added == self.edition:
            return "new"
        if self.edition in entry.edits:
            return "edited"
        return None
