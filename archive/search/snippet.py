"""Snippets: a short stretch of text around the first match, matches marked.

A snippet is a tuple of (text, is_match) parts; `marked` renders it for a
terminal («…» by default) and `html` for a page (escaped, <mark>…</mark>).
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Sequence

from archive.search.query import Term
from archive.search.text import fold

Parts = tuple[tuple[str, bool], ...]
WIDTH = 80  # characters shown
LEAD = 20  # characters kept before the first match
_SPACE = re.compile(r"\s+")
# 【】 would be clearer, but titles here use 【…】 themselves (【工业强市 产业兴市】).
MARKS = ("«", "»")


def spans(text: str, terms: Sequence[Term]) -> list[tuple[int, int]]:
    """Where the terms occur in `text` (merged, in order); folding keeps offsets."""
    folded = fold(text)
    found = sorted((m.start(), m.end()) for term in terms for m in term.pattern.finditer(folded) if m.end() > m.start())
    merged: list[tuple[int, int]] = []
    for start, end in found:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str, terms: Sequence[Term]) -> Parts:
    """All of `text`, split into matching and other parts."""
    parts: list[tuple[str, bool]] = []
    at = 0
    for start, end in spans(text, terms):
        if start > at:
            parts.append((text[at:start], False))
        parts.append((text[start:end], True))
        at = end
    if at < len(text):
        parts.append((text[at:], False))
    return tuple(parts)


def make_snippet(texts: Sequence[str | None], terms: Sequence[Term], width: int = WIDTH) -> Parts:
    """A window of the first text in `texts` that has a match (else the start of the first one)."""
    candidates = [" ".join(_SPACE.split(text.strip())) for text in texts if text and text.strip()]
    if not candidates:
        return ()
    for text in candidates:
        found = spans(text, terms)
        if found:
            break
    else:
        text, found = candidates[0], []
    start = max(0, found[0][0] - LEAD) if found else 0
    end = min(len(text), start + width)
    start = max(0, min(start, end - width))
    parts: list[tuple[str, bool]] = [("…", False)] if start > 0 else []
    at = start
    for s, e in found:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        if s > at:
            parts.append((text[at:s], False))
        parts.append((text[s:e], True))
        at = e
    if at < end:
        parts.append((text[at:end], False))
    if end < len(text):
        parts.append(("…", False))
    return tuple(parts)


def marked(parts: Parts, marks: tuple[str, str] = MARKS) -> str:
    """The snippet as plain text, matches between `marks`."""
    return "".join(f"{marks[0]}{text}{marks[1]}" if hit else text for text, hit in parts)


def html(parts: Parts) -> str:
    """The snippet as HTML: text escaped, matches in <mark>."""
    return "".join(f"<mark>{html_lib.escape(text)}</mark>" if hit else html_lib.escape(text) for text, hit in parts)
