"""The query language, and its translation into an FTS5 expression.

    化工 园区          both words (a space is AND)
    化工 OR 园区       either (OR binds tighter than the space)
    化工 -园区         化工 but not 园区 (also: 化工 NOT 园区)
    "工业强市 产业兴市"  a phrase: these words with only whitespace between them
                       ("…" and “…” both quote)

A word is a substring of the text (化 finds 化工 and 工业化), punctuation
included (IMG_5158, 工业强市、产业兴市 are matched as written); letters are
matched without regard to case or width.  A word made only of punctuation
(Unicode's, and every ASCII character but letters and digits) or of
invisible format characters is dropped; any other character is searched for,
alone too (an emoji, ★, ℃, a combining accent, a private-use character).  A
query left with no word is a QueryError.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from archive.search.errors import QueryError
from archive.search.text import ascii_trigrams, fold, joined, pairs, run_tokens, runs, token_safe

_ITEM = re.compile(r'(-?)(?:"([^"]*)"?|“([^”]*)”?|(\S+))')


def searchable(ch: str) -> bool:
    """Whether a character (folded) is something to search for: not punctuation, an ASCII symbol or control,
    a space, or an invisible format character (category Cf: zero-width space, soft hyphen...)."""
    if ch < "\x80":
        return ch.isalnum()
    category = unicodedata.category(ch)
    return category[0] not in "PZ" and category not in ("Cc", "Cf")


NOTHING = "has nothing to search for (only spaces or punctuation)"


@dataclass(frozen=True)
class Term:
    """One word or phrase of a query: its folded runs (parts between whitespace)."""

    text: str  # as typed, without quotes
    runs: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Term | None:
        """The term for `text`, or None when it holds nothing `searchable`."""
        if not any(map(searchable, fold(text))):
            return None
        return cls(text, tuple(runs(text)))

    @cached_property
    def trigrams(self) -> list[str]:
        """The ASCII trigram tokens every text holding this term holds (`archive.search.text.ascii_trigrams`)."""
        return ascii_trigrams(" ".join(self.runs))

    def fts(self, mark: str = "", *, narrow: bool = False) -> str:
        """This term as an FTS5 phrase over the token layout of `archive.search.text`.

        `mark` is the token mark of the column searched (none: the text column).
        `narrow`: only the term's ASCII trigrams when it has some (every version
        holding the term matches, and some that do not: see `Query.holds`).
        """
        if narrow and self.trigrams and not mark:
            return "(" + " AND ".join(f'"{token}"' for token in self.trigrams) + ")"
        runs = [token_safe(run) for run in self.runs]
        tokens = [token for run in runs[:-1] for token in run_tokens(run, mark)]  # these runs end here
        last = runs[-1]  # and this one may go on
        if len(last) == 1:  # any token starting with it: a pair, or its end token
            phrase = '"' + " ".join([*tokens, mark + last]) + '" *'
        else:
            phrase = '"' + " ".join([*tokens, *(mark + pair for pair in pairs(last))]) + '"'
        trigrams = self.trigrams if not mark else []  # only the text is trigrammed
        return "(" + " AND ".join([phrase, *(f'"{token}"' for token in trigrams)]) + ")" if trigrams else phrase

    @cached_property
    def plain(self) -> str:
        """This term as a substring of text in the form of `archive.search.text.plain`."""
        return joined(self.runs)

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """Finds this term in folded text (for highlighting)."""
        return re.compile(r"\s+".join(re.escape(run) for run in self.runs))


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

    def fts(self, *, narrow: bool = False) -> tuple[str, str | None]:
        """(what must match, what must not) as FTS5 expressions.

        Unmarked tokens exist only in the text column, so no column filter
        is needed (one would make FTS5 read every position list).  `narrow`:
        an expression every match matches, its terms by their trigrams and
        no exclusion (`Term.fts`), to be checked with `holds`.
        """
        wanted = " AND ".join("(" + " OR ".join(term.fts(narrow=narrow) for term in group) + ")"
                              for group in self.groups)
        if narrow:
            return wanted, None
        return wanted, " OR ".join(term.fts() for term in self.excluded) or None

    @property
    def narrowable(self) -> bool:
        """True when some wanted term has ASCII trigrams (`fts(narrow=True)` differs)."""
        return any(term.trigrams for term in self.terms)

    def holds(self, fields: Sequence[str]) -> bool:
        """True when texts in the form of `archive.search.text.plain` (title, body, media) match this query:
        each group has a term in one of them, and no excluded term is in any."""
        return (all(any(term.plain in field for term in group for field in fields) for group in self.groups)
                and not any(term.plain in field for term in self.excluded for field in fields))


MAX_TERMS = 32  # different words and phrases in one query (each costs the index a lookup)


def parse_query(text: str) -> Query:
    """Parse query text; QueryError when nothing in it can be searched for, when OR would join an excluded
    word (on either side), or past MAX_TERMS different words.  A word repeated counts once."""
    groups: list[list[Term]] = []
    excluded: list[Term] = []
    joining = negate_next = after_excluded = False
    for match in _ITEM.finditer(text or ""):
        minus, straight, curly, word = match.groups()
        if word in ("OR", "AND", "NOT") and not minus:
            joining, negate_next = word == "OR", word == "NOT"
            if joining and after_excluded:
                raise QueryError(f"{text!r}: OR cannot join an excluded word")
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
        joining, after_excluded = False, negated
    if not groups:
        if excluded:
            raise QueryError(f"{text!r} only excludes words: add a word to look for")
        raise QueryError(f"{text!r} {NOTHING}")
    # The same word twice asks nothing more: kept once (a group, a word in a group, an excluded word).
    kept = list(dict.fromkeys(tuple(dict.fromkeys(group)) for group in groups))
    excluded = list(dict.fromkeys(excluded))
    if sum(map(len, kept)) + len(excluded) > MAX_TERMS:
        raise QueryError(f"{text[:60]!r}...: at most {MAX_TERMS} different words or phrases in one query")
    return Query(text, tuple(kept), tuple(excluded))
