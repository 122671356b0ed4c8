"""How text becomes index tokens, the same way for documents and queries.

Text is folded (ASCII and full-width letters to lower-case ASCII, the
ideographic space to a space; one character in, one out, so offsets in the
folded text are offsets in the original) and cut into *runs*: maximal
stretches of letters and digits (`str.isalnum`; Chinese characters count).
Everything else (spaces, punctuation, `_`) separates runs.

A run becomes its overlapping character bigrams followed by its last
character (a run of one character is just that character), and every run is
followed by the separator token `|`:

    工业强市，IMG_5158  ->  工业 业强 强市 市 | im mg g | 51 15 58 8 |

With a one-character prefix index, every occurrence of a character is the
first character of some token, so one-character queries are exact prefix
queries (`"化"*`); longer strings are phrases of bigrams.
"""

from __future__ import annotations

import json
import re

RUN = re.compile(r"[^\W_]+")
SEPARATOR = "|"
SOURCE_MARK, SECTION_MARK, META_MARK = "|s", "|c", "|m"  # no query word starts with "|"

FOLD = {c: c + 0x20 for c in range(ord("A"), ord("Z") + 1)}
FOLD.update({c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)})  # full-width ASCII
FOLD.update({c: c - 0xFEE0 + 0x20 for c in range(0xFF21, 0xFF3B)})  # full-width A-Z to a-z
FOLD[0x3000] = 0x20
_FOLDABLE = re.compile("[A-Z\uFF01-\uFF5E\u3000]")
_FOLDED = {chr(k): chr(v) for k, v in FOLD.items()}


def fold(text: str) -> str:
    """Case- and width-folded text, the same length as `text`."""
    # A regex that touches only the few foldable characters is ~15x faster
    # than str.translate on Chinese text.
    return _FOLDABLE.sub(lambda m: _FOLDED[m.group()], text)


def runs(text: str) -> list[str]:
    """The folded runs of letters and digits in `text`."""
    return RUN.findall(fold(text))


def bigrams(run: str) -> list[str]:
    return [run[i:i + 2] for i in range(len(run) - 1)]


def run_tokens(run: str) -> list[str]:
    """A run's tokens, without the separator that follows it."""
    if len(run) == 1:
        return [run]
    return [*bigrams(run), run[-1]]


def document_tokens(text: str | None, mark: str = "") -> str:
    """The token string stored in the index for one field; `mark` starts each token.

    Filter columns (source, section) mark their tokens so that a query's
    words, unmarked, can only match the text columns.
    """
    if not text:
        return ""
    out = []
    for run in RUN.findall(fold(text)):
        if len(run) == 1:
            out.append(mark + run)
        else:
            out.append(" ".join([mark + run[i:i + 2] for i in range(len(run) - 1)]))
            out.append(mark + run[-1])
        out.append(mark + SEPARATOR)
    return " ".join(out)


def media_text(images: str | None, attachments: str | None) -> str:
    """The searchable text of a version's media: image alt texts and captions, attachment names."""
    parts: list[str] = []
    for entries, keys in ((images, ("alt", "caption")), (attachments, ("name",))):
        try:
            items = json.loads(entries or "[]")
        except ValueError:
            continue
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                parts.extend(str(item[key]) for key in keys if item.get(key))
    return "\n".join(parts)


def meta_token(word: str) -> str:
    """A filter token of the meta column: old, gone, img, flagged, f<flag name>."""
    return META_MARK + re.sub(r"[^a-z0-9]", "", word.lower())


def searched_fields(title: str | None, body: str | None, media: str | None) -> list[str]:
    """The folded fields a query's words are looked for in, in index column order."""
    return [fold(title or ""), fold(body or ""), fold(media or "")]
