"""The query language, and its translation into an FTS5 expression.

    化工 园区          both words (a space is AND)
    化工 OR 园区       either (OR binds tighter than the space)
    化工 -园区         化工 but not 园区 (also: 化工 NOT 园区)
    "工业强市 产业兴市"  a phrase: these runs in this order, with only spaces or
                       punctuation between them ("…" and “…” both quote)

A word is matched as a substring (化 finds 化工 and 工业化); letters are
matched without regard to case or width.  Spaces inside a phrase stand for
any run of spaces or punctuation.  A word or phrase that has punctuation
inside it (IMG_5158, 2021-03-15) must also appear literally, and results
for it are checked against the text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from archive.search.errors import QueryError
from archive.search.text import RUN, SEPARATOR, bigrams, fold

_ITEM = re.compile(r'(-?)(?:"([^"]*)"?|“([^”]*)”?|(\S+))')
_GAP = r"[\W_]+"


@dataclass(frozen=True)
class Term:
    """One word or phrase of a query, folded into runs."""

    text: str  # as typed, without quotes
    runs: tuple[str, ...]
    literal: str | None  # folded text that must appear as is (it has punctuation inside)

    @classmethod
    def parse(cls, text: str) -> Term | None:
        folded = fold(text)
        found = list(RUN.finditer(folded))
        if not found:
            return None
        core = folded[found[0].start():found[-1].end()]
        literal = core if any(not (ch.isalnum() or ch.isspace()) for ch in core) else None
        return cls(text, tuple(m.group() for m in found), literal)

    def fts(self, mark: str = "") -> str:
        """This term as an FTS5 phrase over the token layout of `archive.search.text`.

        `mark` is the token mark of the column searched (none: the text columns).
        """
        tokens: list[str] = []
        last = len(self.runs) - 1
        for i, run in enumerate(self.runs):
            if len(run) == 1:
                tokens.append(run)
            else:
                tokens.extend(bigrams(run))
                if i < last:
                    tokens.append(run[-1])
            if i < last:
                tokens.append(SEPARATOR)
        phrase = '"' + " ".join(mark + token for token in tokens).replace('"', '""') + '"'
        return phrase + " *" if len(self.runs[-1]) == 1 else phrase

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """Finds this term in folded text (the exact rule the index approximates)."""
        if self.literal is not None:
            return re.compile(r"\s+".join(re.escape(part) for part in self.literal.split()))
        return re.compile(_GAP.join(re.escape(run) for run in self.runs))

    def found_in(self, fields: Sequence[str]) -> bool:
        return any(self.pattern.search(field) for field in fields)


@dataclass(frozen=True)
class Query:
    """A parsed query: all of `groups` (each: any of its terms), none of `excluded`."""

    text: str
    groups: tuple[tuple[Term, ...], ...]
    excluded: tuple[Term, ...]

    @property
    def terms(self) -> list[Term]:
        """The terms looked for (for highlighting)."""
        return [term for group in self.groups for term in group]

    @property
    def needs_check(self) -> bool:
        """True when the index can only narrow the candidates and each must be checked."""
        return any(term.literal is not None for term in [*self.terms, *self.excluded])

    def fts(self) -> tuple[str, str | None]:
        """(what must match, what must not) as FTS5 expressions.

        Unmarked tokens exist only in the text columns, so no column filter
        is needed (one would make FTS5 read every position list).  Excluded
        terms that need a literal check are left out here (the index would
        exclude too much); `matches` applies them.
        """
        wanted = " AND ".join("(" + " OR ".join(term.fts() for term in group) + ")" for group in self.groups)
        unwanted = [term.fts() for term in self.excluded if term.literal is None]
        return wanted, " OR ".join(unwanted) or None

    def matches(self, fields: Sequence[str]) -> bool:
        """The exact rule, on folded fields (see `archive.search.text.searched_fields`)."""
        return (all(any(term.found_in(fields) for term in group) for group in self.groups)
                and not any(term.found_in(fields) for term in self.excluded))


def parse_query(text: str) -> Query:
    """Parse query text; QueryError when nothing in it can be searched for."""
    groups: list[list[Term]] = []
    excluded: list[Term] = []
    joining = negate_next = False
    for match in _ITEM.finditer(text or ""):
        minus, straight, curly, word = match.groups()
        if word in ("OR", "AND", "NOT") and not minus:
            joining, negate_next = word == "OR", word == "NOT"
            continue
        term = Term.parse(straight if straight is not None else curly if curly is not None else word)
        negated, negate_next = bool(minus) or negate_next, False
        if term is None:
            continue
        if negated:
            if joining:
                raise QueryError(f"{text!r}: OR cannot join an excluded word ({term.text})")
            excluded.append(term)
        elif joining and groups:
            groups[-1].append(term)
        else:
            groups.append([term])
        joining = False
    if not groups:
        if excluded:
            raise QueryError(f"{text!r} only excludes words: add a word to look for")
        raise QueryError(f"{text!r} has nothing to search for (only spaces or punctuation)")
    return Query(text, tuple(tuple(group) for group in groups), tuple(excluded))
