"""What changed between two versions of an article, as escaped HTML for the article page.

The character diff itself is `archive.watch.diff` (diff-match-patch with
semantic cleanup, chosen for Chinese text: see that module).  Here it is cut
into rows of paragraphs, each with an inline rendering (deletions in <del>,
insertions in <ins>) and the two sides for a side-by-side view.  All text is
escaped by `archive.watch.diff` before it is marked up.
"""

from __future__ import annotations

from markupsafe import Markup

from archive.watch import diff as diffs


def paragraphs(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(diffs.PARAGRAPH) if part.strip()]


def inline_diff(old: str, new: str) -> str:
    """One short text's changes: deleted text in <del>, inserted text in <ins> (escaped HTML)."""
    return diffs.html_inline(diffs.char_diff(old, new))


def text_diff(old: str | None, new: str | None, *, context: int = 1) -> list[dict]:
    """Rows for a template: {kind: same|added|removed|changed|gap, html, old_html, new_html} (Markup).

    `html` shows both versions in one (inline view); `old_html`/`new_html`
    the two sides.  Unchanged paragraphs further than `context` from a
    change are folded into one `gap` row saying how many were left out.
    """
    rows = []
    for block in diffs.folded(diffs.char_diff(old, new), context):
        if block.gap:
            gap = Markup(f"… {block.gap} 段未变 unchanged paragraph(s) …")
            rows.append({"kind": "gap", "html": gap, "old_html": gap, "new_html": gap})
            continue
        rows.append({"kind": block.kind, "html": Markup(diffs.html_inline(block.parts)),
                     "old_html": Markup(diffs.html_old(block.parts)),
                     "new_html": Markup(diffs.html_new(block.parts))})
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
