"""What changed between two versions of an article, as escaped HTML.

Text is compared paragraph by paragraph (paragraphs are separated by a blank
line in `body_text`); a paragraph that was rewritten is compared again
character by character, which suits Chinese text, where words are not
separated by spaces.
"""

from __future__ import annotations

import difflib
from html import escape

from markupsafe import Markup

_MAX_CHARS = 20_000  # longer paragraphs are shown whole, not compared character by character


def paragraphs(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split("\n\n") if part.strip()]


def inline_diff(old: str, new: str) -> str:
    """One paragraph's changes: deleted text in <del>, inserted text in <ins>."""
    if len(old) + len(new) > _MAX_CHARS:
        return f"<del>{escape(old)}</del><ins>{escape(new)}</ins>"
    out = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            out.append(escape(old[a1:a2]))
            continue
        if a2 > a1:
            out.append(f"<del>{escape(old[a1:a2])}</del>")
        if b2 > b1:
            out.append(f"<ins>{escape(new[b1:b2])}</ins>")
    return "".join(out)


def _row(kind: str, text: str) -> dict:
    return {"kind": kind, "html": Markup(escape(text))}


def text_diff(old: str | None, new: str | None, *, context: int = 1) -> list[dict]:
    """Rows for a template: {kind: same|added|removed|changed|gap, html: Markup}.

    Unchanged paragraphs further than `context` from a change are folded into
    one `gap` row saying how many were left out.
    """
    before, after = paragraphs(old), paragraphs(new)
    rows: list[dict] = []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            same = before[a1:a2]
            head = context if a1 > 0 else 0  # after a change
            tail = context if a2 < len(before) else 0  # before a change
            if len(same) <= head + tail + 1:
                rows += [_row("same", p) for p in same]
                continue
            rows += [_row("same", p) for p in same[:head]]
            hidden = len(same) - head - tail
            rows.append({"kind": "gap", "html": Markup(f"… {hidden} 段未变 unchanged paragraph(s) …")})
            rows += [_row("same", p) for p in same[len(same) - tail:]]
        elif op == "replace" and a2 - a1 == b2 - b1:
            rows += [{"kind": "changed", "html": Markup(inline_diff(x, y))} for x, y in zip(before[a1:a2], after[b1:b2])]
        else:
            rows += [_row("removed", p) for p in before[a1:a2]]
            rows += [_row("added", p) for p in after[b1:b2]]
    return rows


def field_changes(old: dict[str, str | None], new: dict[str, str | None]) -> list[dict]:
    """Short fields (title, date, source...) that differ: {field, old, new, html}, in `new`'s order."""
    changes = []
    for name, after in new.items():
        before = old.get(name)
        if (before or "") != (after or ""):
            changes.append({"field": name, "old": before, "new": after,
                            "html": Markup(inline_diff(before or "", after or ""))})
    return changes
