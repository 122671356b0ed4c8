"""URL patterns and CSS selectors learnt from examples.

    path_pattern(["/xwzx/gyjj/202103/t20210315_6187593.html", …])
        -> r"^/xwzx/gyjj/\\d{6}/t\\d{8}_\\d+\\.html$"
    common_folder(["/col/col25831/index.html", "/art/2026/2/4/art_25831_8152404.html"]) -> "/"
    css_for(element, root) -> "div#zoom" (a selector that finds this element first)

A path is cut into segments, a segment into runs of digits and of other
characters.  Where every example agrees, the text is kept; digits that look
like dates (2021, 202103, 20210315; months and days of one or two digits) are
generalised even when the examples agree (a first list page often holds one
month only), and other digits that vary become ``\\d+`` (document ids grow).
A run of digits that never varies (a column id, ``art_25831_``) is kept: it
is what tells one column's articles from another's.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from lxml import etree

from crawler.pages.markup import select
from crawler.pages.rows import _plain_name

_RUNS = re.compile(r"\d+|\D+")


def _digits(values: list[str], single: bool) -> str:
    lengths = {len(v) for v in values}
    if max(lengths) <= 2:
        return r"\d{1,2}"  # a month or a day
    if len(lengths) == 1 and (n := lengths.pop()) in (4, 6, 8) and all(v[:2] in ("19", "20") for v in values):
        return rf"\d{{{n}}}"  # a year, a year and month, a date
    if len(set(values)) == 1 and not single:
        return re.escape(values[0])  # the same in every example: a column id
    return r"\d+"  # an id (one example cannot tell an id from a column's number)


def _segment(values: list[str], single: bool) -> str:
    if len(set(values)) == 1 and not any(run.isdigit() for run in _RUNS.findall(values[0])):
        return re.escape(values[0])
    shapes = [_RUNS.findall(value) for value in values]
    skeleton = {tuple("#" if run.isdigit() else run for run in shape) for shape in shapes}
    if len(skeleton) != 1:
        return r"[^/]+"
    out = []
    for i, run in enumerate(shapes[0]):
        column = [shape[i] for shape in shapes]
        out.append(_digits(column, single) if run.isdigit() else re.escape(run))
    return "".join(out)


def path_pattern(paths: Iterable[str]) -> tuple[str, int]:
    """(a regex for the paths of the largest family of look-alike paths, how many paths it leaves out).

    Look-alike: the same number of segments.  The regex is anchored at both ends."""
    paths = [p for p in paths if p]
    if not paths:
        return "", 0
    by_depth: dict[int, list[list[str]]] = {}
    for path in paths:
        by_depth.setdefault(path.count("/"), []).append(path.split("/"))
    depth, family = max(by_depth.items(), key=lambda item: (len(item[1]), item[0]))
    single = len({"/".join(segments) for segments in family}) < 2
    parts = [_segment([segments[i] for segments in family], single) for i in range(depth + 1)]
    pattern = "^" + "/".join(parts) + "$"
    missed = sum(1 for path in paths if not re.search(pattern, path))
    return pattern, missed


def common_folder(paths: Iterable[str]) -> str:
    """The longest folder (ending in /) that every path lies in."""
    folders = [p[: p.rfind("/") + 1] for p in paths if p.startswith("/")]
    if not folders:
        return "/"
    prefix = folders[0]
    for folder in folders[1:]:
        while not folder.startswith(prefix):
            prefix = prefix[: prefix[:-1].rfind("/") + 1] or "/"
    return prefix or "/"


def _candidates(el: etree._Element) -> list[str]:
    tag = el.tag
    out = []
    ident = el.get("id") or ""
    if _plain_name(ident):
        out.append(f"{tag}#{ident}")
    classes = [c for c in (el.get("class") or "").split() if _plain_name(c)]
    if classes:
        out.append(tag + "".join("." + c for c in classes))
        out += [f"{tag}.{c}" for c in classes]
    parent = el.getparent()
    if parent is not None and not out and parent.tag not in ("body", "html"):
        for above in _candidates(parent)[:2]:
            out.append(f"{above} > {tag}")
    out.append(tag)  # the tag alone: kept only where it finds this element first
    return out


def css_for(el: etree._Element, root: etree._Element) -> str | None:
    """A short CSS selector whose first match in `root` is `el`, or None."""
    for candidate in _candidates(el):
        found = select(root, candidate)
        if found and found[0] is el:
            return candidate
    return None


def agreed(selectors: list[str | None]) -> str | None:
    """The selector most examples gave (None when none did)."""
    counted = Counter(s for s in selectors if s)
    return counted.most_common(1)[0][0] if counted else None
