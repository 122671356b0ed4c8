"""Which character diff reads better on Chinese edits: difflib or diff-match-patch (with and without cleanup).

    .venv/bin/python bench/diff_readability.py [--articles 2000]

Two sets of real-looking edits:
  * replica: every article the replica's edition 2 edited (a title replaced, a
    sentence appended), old text from edition 1, new from edition 2, title and
    body diffed separately;
  * editor: edits an editor makes to a published article, applied to the seed
    article's real paragraphs: a figure corrected, a clause cut, a place name
    replaced throughout, a sentence rewritten, a sentence inserted.

Per method it prints, averaged over the edits:
  spans    runs of changed text the reader must look at (fewer is easier),
  chaff    matches of 1-2 characters stranded between changes (coincidental
           common characters such as 市, 的, a digit: noise),
  marked   characters shown as deleted or inserted,
  excess   marked / the characters the edit really touched (editor set; 1.0 is exact),
  ms       time per diff.
Every diff is also checked to rebuild both texts.
"""

from __future__ import annotations

import argparse
import difflib
import random
import re
import sys
import time
from pathlib import Path

from diff_match_patch import diff_match_patch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.watch.diff import char_diff, new_text, old_text  # noqa: E402
from replica.corpus import Corpus  # noqa: E402
from replica.truth import truth_records  # noqa: E402


def with_difflib(old: str, new: str) -> list[list[str]]:
    out = []
    for op, a1, a2, b1, b2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(["=", old[a1:a2]])
            continue
        if a2 > a1:
            out.append(["-", old[a1:a2]])
        if b2 > b1:
            out.append(["+", new[b1:b2]])
    return out


def with_dmp_raw(old: str, new: str) -> list[list[str]]:
    engine = diff_match_patch()
    engine.Diff_Timeout = 2.0
    return [[{0: "=", -1: "-", 1: "+"}[op], text] for op, text in engine.diff_main(old, new) if text]


METHODS = {"difflib chars": with_difflib, "dmp, no cleanup": with_dmp_raw, "dmp + semantic (ours)": char_diff}


def measure(diff: list[list[str]]) -> tuple[int, int, int]:
    spans = chaff = marked = 0
    previous_changed = False
    for index, (op, text) in enumerate(diff):
        if op == "=":
            between = previous_changed and any(o != "=" for o, _ in diff[index + 1:index + 2])
            if between and len(text) <= 2:
                chaff += 1
            previous_changed = False
            continue
        marked += len(text)
        if not previous_changed:
            spans += 1
        previous_changed = True
    return spans, chaff, marked


def replica_edits(articles: int) -> list[tuple[str, str, int | None]]:
    before = {r["url"]: r for r in truth_records(Corpus(articles=articles, edition=1))}
    edits = []
    for record in truth_records(Corpus(articles=articles, edition=2)):
        if record["change"] != "edited":
            continue
        old = before[record["url"]]
        for name in ("title", "body_text"):
            if old[name] != record[name]:
                edits.append((old[name], record[name], None))
    return edits


def editor_edits(count: int = 200) -> list[tuple[str, str, int]]:
    """(old, new, characters truly touched) for edits made to the seed article's paragraphs."""
    text = (ROOT / "replica" / "seed_article.txt").read_text(encoding="utf-8")
    paragraphs = [p.strip() for p in text.split("\n\n") if len(p.strip()) > 60]
    sentences = [s + "。" for p in paragraphs for s in p.split("。") if len(s) > 15]
    places = ["官桥镇", "龙阳镇", "滨湖镇", "界河镇", "荆河街道"]
    rng = random.Random(7)
    edits = []
    while len(edits) < count:
        paragraph = rng.choice(paragraphs)
        kind = rng.choice(["figure", "clause", "place", "rewrite", "insert"])
        if kind == "figure":
            numbers = list(re.finditer(r"\d+(?:\.\d+)?", paragraph))
            if not numbers:
                continue
            found = rng.choice(numbers)
            figure = str(rng.randint(2, 99)) + ("." + str(rng.randint(1, 9)) if "." in found.group() else "")
            if figure == found.group():
                continue
            new = paragraph[:found.start()] + figure + paragraph[found.end():]
            touched = len(found.group()) + len(figure)
        elif kind == "clause":
            clauses = paragraph.split("，" if "，" in paragraph else ",")
            if len(clauses) < 3:
                continue
            cut = rng.randrange(1, len(clauses))
            new = ("，" if "，" in paragraph else ",").join(clauses[:cut] + clauses[cut + 1:])
            touched = len(clauses[cut]) + 1
        elif kind == "place":
            present = [p for p in places if p in paragraph]
            if not present:
                continue
            old_place = rng.choice(present)
            new_place = rng.choice([p for p in places if p != old_place])
            new = paragraph.replace(old_place, new_place)
            touched = paragraph.count(old_place) * (len(old_place) + len(new_place))
        elif kind == "rewrite":
            parts = paragraph.split("。")
            index = rng.randrange(len(parts))
            if len(parts[index]) < 10:
                continue
            replacement = rng.choice(sentences).rstrip("。")
            parts[index] = replacement
            new = "。".join(parts)
            touched = len(paragraph.split("。")[index]) + len(replacement)
        else:
            parts = paragraph.split("。")
            index = rng.randrange(len(parts))
            addition = rng.choice(sentences)
            new = "。".join(parts[:index]) + ("。" if index else "") + addition + "。".join(parts[index:])
            touched = len(addition)
        if new != paragraph:
            # A whole article around the edited paragraph, as a body diff sees it.
            body = "\n\n".join(paragraphs)
            edits.append((body, body.replace(paragraph, new, 1), touched))
    return edits


def report(name: str, edits: list[tuple[str, str, int | None]]) -> None:
    print(f"\n{name}: {len(edits)} edits")
    print(f"  {'method':<24}{'spans':>8}{'chaff':>8}{'marked':>9}{'excess':>8}{'ms':>8}")
    for method, run in METHODS.items():
        spans = chaff = marked = 0
        excess: list[float] = []
        started = time.perf_counter()
        for old, new, touched in edits:
            diff = run(old, new)
            assert old_text(diff) == old and new_text(diff) == new, method
            s, c, m = measure(diff)
            spans, chaff, marked = spans + s, chaff + c, marked + m
            if touched:
                excess.append(m / touched)
        elapsed = (time.perf_counter() - started) * 1000 / len(edits)
        n = len(edits)
        ratio = f"{sum(excess) / len(excess):.2f}" if excess else "-"
        print(f"  {method:<24}{spans / n:>8.2f}{chaff / n:>8.2f}{marked / n:>9.1f}{ratio:>8}{elapsed:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    args = parser.parse_args()
    report(f"replica edition 2 ({args.articles} articles)", replica_edits(args.articles))
    report("editor edits on the seed article", editor_edits())


if __name__ == "__main__":
    main()
