"""The seed article: a real page of the section, kept verbatim.

`seed_article.txt` is the text of the 2021-03-15 page as it was captured from a
hijacked mirror, so its header and footer say 江城足球网 where the real site
says 滕州市; the archive must keep that.  Lines that are only a photo's alt
(`IMG_5158_副本.jpg`) mark where the photos sit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

_PHOTO = re.compile(r"^IMG_\d+_副本\.jpg$")
_META = re.compile(r"^时间:(\d{4}-\d{2}-\d{2}) 来源:(.+)$")


@dataclass(frozen=True)
class SeedText:
    """The parts of the seed page.  `blocks` are ("text", str) or ("photo", alt)."""

    header: str
    title: str
    published: str
    source: str
    blocks: tuple[tuple[str, str], ...]
    footer_lines: tuple[str, ...]


@cache
def seed_text() -> SeedText:
    """Parse the packaged seed page text (read once)."""
    raw = resources.files("replica").joinpath("seed_article.txt").read_text(encoding="utf-8")
    lines = [line for line in raw.split("\n") if line.strip()]
    meta_at = next(i for i, line in enumerate(lines) if _META.match(line))
    footer_at = next(i for i, line in enumerate(lines) if line.startswith("Copyright"))
    published, source = _META.match(lines[meta_at]).groups()
    blocks = tuple(
        ("photo", line) if _PHOTO.match(line) else ("text", line)
        for line in lines[meta_at + 1 : footer_at]
    )
    return SeedText(
        header=lines[0],
        title=lines[meta_at - 1],
        published=published,
        source=source,
        blocks=blocks,
        footer_lines=tuple(lines[footer_at:]),
    )
