"""How text becomes index tokens, the same way for documents and queries.

Text is folded (ASCII and full-width letters to lower-case ASCII, other
full-width forms to ASCII, the ideographic space to a space: one character
in, one out, so offsets in folded text are offsets in the original) and cut
at whitespace into *runs*.  Punctuation stays in its run: it is text like
any other, so a query with punctuation in it (IMG_5158, 工业强市、产业兴市)
is matched literally, with no check against the text needed.

A run becomes its overlapping character pairs, then its last character
marked with `|` as the end of the run:

    工业强市、产业兴市  ->  工业 业强 强市 市、 、产 产业 业兴 兴市 市|
    IMG_5158          ->  im mg g_ _5 51 15 58 8|

so the token at each position starts with the character there.  With a
one-character prefix index, a one-character query is an exact prefix query
("化"*), a two-character one is one token ("化工"), a longer one is a phrase
of pairs ("工业 业强 强市"), and a phrase that spans runs ("工业强市
产业兴市") goes through the end token: 工业 业强 强市 市| 产业 业兴 兴市.
(Trigrams with 1- and 2-character prefix indexes answered long phrases
faster, but made an index 3.1 to 3.9 times the text; pairs make it 1.8
times: see the README's Benchmarks.)  ASCII punctuation is stored as
private-use characters, because FTS5's `ascii` tokenizer splits on it: a
text holding those private-use characters themselves (old CMSs put rare
characters there) has the same tokens as one holding the punctuation, so
the SQLite search checks such matches against the text (`clashes`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from archive.catalogue.api import decode_json

SEPARATOR = "|"  # marks the last character of a run
SOURCE_MARK, SECTION_MARK, META_MARK, TRIGRAM_MARK = "|s", "|c", "|m", "|t"  # no text token starts with "|"

FOLD = {c: c + 0x20 for c in range(ord("A"), ord("Z") + 1)}
FOLD.update({c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)})  # full-width ASCII
FOLD.update({c: c - 0xFEE0 + 0x20 for c in range(0xFF21, 0xFF3B)})  # full-width A-Z to a-z
FOLD[0x3000] = 0x20
_FOLDABLE = re.compile("[A-Z\uFF01-\uFF5E\u3000]")
_FOLDED = {chr(k): chr(v) for k, v in FOLD.items()}
_ASCII_MARKS = re.compile(r"[\x00-\x08\x0e-\x1b!-/:-@\[-`{-\x7f]")  # not letters, digits or spaces
_PRIVATE = 0xE000


def fold(text: str) -> str:
    """Case- and width-folded text, the same length as `text`."""
    # A regex that touches only the few foldable characters is ~15x faster
    # than str.translate on Chinese text.
    return _FOLDABLE.sub(lambda m: _FOLDED[m.group()], text)


def token_safe(text: str) -> str:
    """ASCII punctuation and controls as private-use characters (token characters for FTS5)."""
    return _ASCII_MARKS.sub(lambda m: chr(_PRIVATE + ord(m.group())), text)


# The private-use characters `token_safe` writes for ASCII punctuation and controls (U+E000-U+E07F, not all).
STAND_INS = "".join(chr(_PRIVATE + code) for code in range(0x80) if _ASCII_MARKS.match(chr(code)))
_STAND_IN = re.compile(f"[{STAND_INS}]")


def clashes(text: str) -> tuple[bool, bool]:
    """(holds a character `token_safe` changes, holds one it changes characters into): in a query, whether
    tokens alone cannot tell its matches from texts holding the other character."""
    return bool(_ASCII_MARKS.search(text)), bool(_STAND_IN.search(text))


def runs(text: str) -> list[str]:
    """The folded, whitespace-separated runs of `text`."""
    return fold(text).split()


_LOW_CONTROLS = re.compile("[\x00-\x08]")


def joined(text_runs: list[str] | tuple[str, ...]) -> str:
    """Runs joined by one space, controls U+0000-U+0008 as private-use characters.

    The form in which the PostgreSQL index (`archive.catalogue.postgres_search`)
    stores text and looks for a term: a term is found where its joined runs
    are a substring of the text's.  It keeps U+0001-U+0008 free for its own
    separators and marks (and PostgreSQL text cannot hold U+0000).
    """
    return _LOW_CONTROLS.sub(lambda m: chr(_PRIVATE + ord(m.group())), " ".join(text_runs))


def plain(text: str | None) -> str:
    """`text` folded, in the joined form of `joined`."""
    return joined(runs(text)) if text else ""


def pairs(run: str) -> list[str]:
    """The overlapping character pairs of a run."""
    return [run[i:i + 2] for i in range(len(run) - 1)]


def run_tokens(run: str, mark: str = "") -> list[str]:
    """The tokens of a whole run (already folded and token-safe), its end included."""
    tokens = pairs(run)
    tokens.append(run[-1] + SEPARATOR)
    return [mark + token for token in tokens] if mark else tokens


def document_tokens(text: str | None, mark: str = "") -> str:
    """The token string stored in the index for one field; `mark` starts each token.

    Filter columns (source, section) mark their tokens so that a query's
    words, unmarked, can only match the text columns.
    """
    if not text:
        return ""
    return " ".join(" ".join(run_tokens(run, mark)) for run in token_safe(fold(text)).split())


ASCII_STRETCH = re.compile("[!-~]{3,}")  # printable ASCII, three or more in a row (never whitespace)


def ascii_trigrams(text: str | None) -> list[str]:
    """The distinct trigrams of the folded text's stretches of printable ASCII, as tokens (sorted).

    Digits and Latin letters are few, so their pairs are in most articles and
    a phrase of them (IMG_5158, 2021) walks long lists: every match of a term
    holds the trigrams of the term's own stretches, and the rarest of them
    narrows the rows the phrase is checked in.
    """
    if not text:
        return []
    found = {stretch[i:i + 3] for stretch in ASCII_STRETCH.findall(fold(text)) for i in range(len(stretch) - 2)}
    return sorted(TRIGRAM_MARK + token_safe(trigram) for trigram in found)


def media_text(images: str | None, attachments: str | None) -> str:
    """The searchable text of a version's media: image alt texts and captions, attachment names."""
    parts: list[str] = []
    for entries, keys in ((images, ("alt", "caption")), (attachments, ("name",))):
        items = entries if isinstance(entries, list) else decode_json(entries, [])
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                parts.extend(str(item[key]) for key in keys if item.get(key))
    return "\n".join(parts)


def meta_token(word: str) -> str:
    """A filter token of the meta column: old, gone, img, anyflag, f<flag name>, site…, sect…."""
    return META_MARK + re.sub(r"[^a-z0-9]", "", word.lower())


def place_word(kind: str, value: str) -> str:
    """The meta word for an article's site ("site") or section ("sect"): the kind and a digest of
    the exact value (section names are Chinese, and tokens are ASCII), so the filter is an equality."""
    import hashlib

    return kind + hashlib.blake2b(value.encode("utf-8"), digest_size=8).hexdigest()


def place_tokens(kind: str, values: str | Sequence[str] | None) -> list[str]:
    """The filter tokens for a site or section filter: one name, or any of several."""
    if not values:
        return []
    names = [values] if isinstance(values, str) else list(values)
    return sorted({meta_token(place_word(kind, name)) for name in names})
