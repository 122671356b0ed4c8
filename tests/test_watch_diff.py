"""Character diffs (archive.watch.diff): exact on random text and on the replica's real edits; rendered safely."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive.watch import diff as diffs
from archive.web.diffs import text_diff
from replica.corpus import Corpus
from replica.truth import truth_records

# Chinese, ASCII, punctuation, newlines and astral characters: what article text holds, and worse.
CHARS = st.sampled_from(list("滕州市工业经济化召开会议，。、“”0123456789 abc<>&\"'\n") + ["\U0001F600", "\u00ad"])
TEXT = st.text(CHARS, max_size=120) | st.text(max_size=60)
PARAGRAPH = st.text(st.sampled_from(list("滕州市工业经济化召开会议，。2022年<&>")), min_size=1, max_size=30)
BODY = st.lists(PARAGRAPH, max_size=8).map(diffs.PARAGRAPH.join)


def assert_rebuilds(old: str, new: str) -> list[list[str]]:
    ops = diffs.char_diff(old, new)
    assert diffs.old_text(ops) == old
    assert diffs.new_text(ops) == new
    assert all(op in ("=", "-", "+") and text for op, text in ops)
    return ops


@settings(max_examples=300, deadline=None)
@given(TEXT, TEXT)
def test_any_two_texts_rebuild_exactly(old, new):
    ops = assert_rebuilds(old, new)
    assert diffs.is_changed(ops) == (old != new)


@settings(max_examples=200, deadline=None)
@given(BODY, BODY)
def test_paragraph_rows_hold_every_paragraph_of_both_sides(old, new):
    blocks = diffs.blocks(diffs.char_diff(old, new))
    old_side = [diffs.old_text(block.parts) for block in blocks]
    new_side = [diffs.new_text(block.parts) for block in blocks]
    assert diffs.PARAGRAPH.join(part for part in old_side if part) == old
    assert diffs.PARAGRAPH.join(part for part in new_side if part) == new
    for block in blocks:
        assert block.kind != "added" or not diffs.old_text(block.parts)
        assert block.kind != "removed" or not diffs.new_text(block.parts)


def _replica_edits(articles: int = 2000) -> list[tuple[str, str]]:
    before = {record["url"]: record for record in truth_records(Corpus(articles=articles, edition=1))}
    pairs = []
    for edition in (2, 3):
        for record in truth_records(Corpus(articles=articles, edition=edition)):
            if record["change"] == "edited" and record["url"] in before:
                old = before[record["url"]]
                pairs += [(old["title"], record["title"]), (old["body_text"], record["body_text"])]
    return pairs


def test_real_edits_rebuild_exactly_without_chaff():
    pairs = _replica_edits()
    assert len(pairs) >= 20
    for old, new in pairs:
        ops = assert_rebuilds(old, new)
        # No stray one- or two-character matches between changes (what difflib shows in a replaced title).
        for before, middle, after in zip(ops, ops[1:], ops[2:]):
            assert not (before[0] != "=" and middle[0] == "=" and after[0] != "=" and len(middle[1]) <= 2), ops


def test_a_corrected_figure_marks_only_the_figure():
    old = "项目审批时限压缩22.9%以上，全市工业投资增长15.9%。"
    new = "项目审批时限压缩23.4%以上，全市工业投资增长15.9%。"
    ops = assert_rebuilds(old, new)
    changed = "".join(text for op, text in ops if op != "=")
    assert len(changed) <= 8 and "压缩" not in changed and "15.9" not in changed


def test_renderings_escape_text_and_mark_changes():
    ops = diffs.char_diff("标题<script>alert(1)</script>旧", "标题<script>alert(1)</script>新&")
    inline = diffs.html_inline(ops)
    assert "<script>" not in inline and "&lt;script&gt;" in inline
    assert "<del>旧</del>" in inline and "<ins>新&amp;</ins>" in inline
    assert "<ins>" not in diffs.html_old(ops) and "<del>" not in diffs.html_new(ops)
    assert diffs.marks(ops).endswith("«-旧»«+新&»")
    assert "\x1b[" in diffs.ansi(ops) and "旧" in diffs.ansi(ops)


def test_unchanged_paragraphs_fold_into_gaps():
    old = diffs.PARAGRAPH.join(f"第{n}段。" for n in range(10))
    new = old.replace("第5段。", "第5段，改。")
    rows = text_diff(old, new, context=1)
    assert [row["kind"] for row in rows] == ["gap", "same", "changed", "same", "gap"]
    assert "4 段未变" in rows[0]["html"] and "3 段未变" in rows[-1]["html"]  # paragraphs 0-3 and 7-9
    assert rows[2]["html"] == "第5段<ins>，改</ins>。"
    assert "<del>" not in rows[2]["new_html"] and "<ins>" not in rows[2]["old_html"]


@pytest.mark.parametrize("old,new", [(None, None), ("", "新文章"), ("旧文章", None)])
def test_missing_text_counts_as_empty(old, new):
    ops = diffs.char_diff(old, new)
    assert diffs.old_text(ops) == (old or "") and diffs.new_text(ops) == (new or "")
