"""The article index: which articles exist in an edition, and their metadata.

Only metadata lives here (date, docid, template, charset, flags, edit history);
the text is made on demand by `replica.article.make_article`.  Building the
index for 50,000 articles takes a fraction of a second.

Edition 1 is the base.  Each later edition k adds about 2% new articles (dated
in the 14 days before edition k), edits about 1% and removes about 0.5% (half
answer 404, half redirect to `/`).  The seed article is never edited or removed.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone

from replica.errors import ReplicaConfigError

CST = timezone(timedelta(hours=8))
SEED_DOCID = 6187593
SEED_DAY = date(2021, 3, 15)
FIRST_DAY = date(2015, 1, 1)
LAST_BASE_DAY = date(2026, 3, 31)  # newest date in edition 1
EDITION_DAYS = 14
OLD_TEMPLATE_BEFORE = date(2017, 1, 1)
DOCID_BASE = 3_922_000  # docid = base + days since FIRST_DAY * 1000 + slot
MAX_ARTICLES = 200_000
MAX_EDITION = 100
SECTION = "/xwzx/gyjj/"
NEW_RATE, EDIT_RATE, REMOVE_RATE = 0.02, 0.01, 0.005


@dataclass(frozen=True, slots=True)
class Entry:
    """One article's metadata.  `edits` lists the editions that changed it."""

    docid: int
    day: date
    template: str  # "current" or "old"
    charset: str  # "utf-8" or "gbk"
    chunked: bool  # the server sends it with chunked transfer
    added: int = 1
    edits: tuple[int, ...] = ()

    @property
    def path(self) -> str:
        return f"{SECTION}{self.day:%Y%m}/t{self.day:%Y%m%d}_{self.docid}.html"

    @property
    def revision(self) -> int:
        """The edition this page's bytes date from."""
        return self.edits[-1] if self.edits else self.added

    @property
    def is_seed(self) -> bool:
        return self.docid == SEED_DOCID


def mix(*numbers: int) -> int:
    """A fast, stable 64-bit hash of some integers (splitmix64 steps)."""
    x = 0x9E3779B97F4A7C15
    for n in numbers:
        x = (x ^ (n & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
        x = (x ^ (x >> 27)) * 0x94D049BB133111EB & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 31
    return x


def edition_time(edition: int) -> datetime:
    """When edition `edition` went live (pages regenerated for it are older)."""
    start = datetime.combine(LAST_BASE_DAY + timedelta(days=1), datetime.min.time(), CST)
    return start + timedelta(days=EDITION_DAYS * (edition - 1), hours=6)


def _make_entry(seed: int, docid: int, day: date, added: int) -> Entry:
    h = mix(seed, docid)
    old = day < OLD_TEMPLATE_BEFORE
    gbk = (h % 100) < (55 if old else 10)
    return Entry(
        docid=docid,
        day=day,
        template="old" if old else "current",
        charset="gbk" if gbk else "utf-8",
        chunked=(h >> 8) % 4 == 0,
        added=added,
    )


def _entries_on_days(rng: random.Random, seed: int, days: list[date], added: int) -> list[Entry]:
    """One entry per item of `days` (repeats allowed), docids unique per day."""
    out = []
    for day, count in Counter(days).items():
        if count > 1000:
            raise ReplicaConfigError(f"more than 1000 articles on {day}; use fewer articles")
        offset = DOCID_BASE + (day - FIRST_DAY).days * 1000
        for slot in rng.sample(range(1000), count):
            out.append(_make_entry(seed, offset + slot, day, added))
    return out


def _base_entries(articles: int, seed: int) -> list[Entry]:
    rng = random.Random(seed)
    span = (LAST_BASE_DAY - FIRST_DAY).days + 1
    seed_index = (SEED_DAY - FIRST_DAY).days
    picks = []
    while len(picks) < articles - 1:
        i = rng.randrange(span)
        if i != seed_index:  # the seed is the only article of its day
            picks.append(i)
    days = [FIRST_DAY + timedelta(days=i) for i in picks]
    entries = _entries_on_days(rng, seed, days, added=1)
    entries.append(Entry(SEED_DOCID, SEED_DAY, "current", "utf-8", False))
    entries.sort(key=lambda e: e.docid, reverse=True)
    return entries


class Corpus:
    """The articles of one edition, newest first, with what changed since the last.

    `entries` is the list the section shows.  `gone` maps the docid of every
    article removed up to this edition to how it now answers ("404" or
    "redirect").  Raises ReplicaConfigError for sizes or editions out of range.
    """

    def __init__(self, articles: int = 300, edition: int = 1, seed: int = 1) -> None:
        if not 1 <= articles <= MAX_ARTICLES:
            raise ReplicaConfigError(f"articles must be between 1 and {MAX_ARTICLES}, not {articles}")
        if not 1 <= edition <= MAX_EDITION:
            raise ReplicaConfigError(f"edition must be between 1 and {MAX_EDITION}, not {edition}")
        self.articles, self.edition, self.seed = articles, edition, seed
        self.entries = _base_entries(articles, seed)
        self.gone: dict[int, str] = {}
        self.removed_last: list[tuple[Entry, str]] = []  # removed by this edition's step
        for k in range(2, edition + 1):
            self._step(k)
        self._by_docid = {e.docid: e for e in self.entries}

    def _step(self, k: int) -> None:
        rng = random.Random(f"edition/{self.seed}/{k}")
        n = len(self.entries)
        n_new = max(1, round(NEW_RATE * n))
        n_edit = max(1, round(EDIT_RATE * n))
        n_remove = max(1, round(REMOVE_RATE * n))
        # One spare pick, so the seed can be skipped without a scan of every entry.
        wanted = n_edit + n_remove
        picked = [i for i in rng.sample(range(n), min(n, wanted + 1)) if not self.entries[i].is_seed][:wanted]
        edit_at, remove_at = picked[:n_edit], picked[n_edit:]
        removed = []
        for j, i in enumerate(sorted(remove_at)):
            how = "404" if (j + k) % 2 == 0 else "redirect"
            removed.append((self.entries[i], how))
            self.gone[self.entries[i].docid] = how
        for i in edit_at:
            self.entries[i] = replace(self.entries[i], edits=self.entries[i].edits + (k,))
        for i in sorted(remove_at, reverse=True):
            del self.entries[i]
        first = LAST_BASE_DAY + timedelta(days=1 + EDITION_DAYS * (k - 2))
        days = [first + timedelta(days=rng.randrange(EDITION_DAYS)) for _ in range(n_new)]
        new = sorted(_entries_on_days(rng, self.seed, days, added=k), key=lambda e: e.docid, reverse=True)
        self.entries = new + self.entries
        self.removed_last = removed

    def entry(self, docid: int) -> Entry | None:
        """The present entry with this docid, or None."""
        return self._by_docid.get(docid)

    def change(self, entry: Entry) -> str | None:
        """"new" or "edited" if this edition's step did that to `entry`, else None."""
        if self.edition == 1:
            return None
        if entry.added == self.edition:
            return "new"
        if self.edition in entry.edits:
            return "edited"
        return None

    @property
    def seed_entry(self) -> Entry:
        return self._by_docid[SEED_DOCID]
