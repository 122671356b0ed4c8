"""One article as data: what the page shows and how it is marked up.

`make_article(entry, seed)` is the single source of both the rendered page and
the ground truth, so the two cannot disagree.  It is deterministic: the same
entry and seed always give the same article.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from replica.corpus import CST, Entry, edition_time, mix
from replica.seed import seed_text
from replica.text import NewsWriter

# Moments when the whole site was regenerated; many pages carry one as Maketime.
REPUBLISHED = tuple(
    datetime(*t, tzinfo=CST)
    for t in (
        (2017, 3, 2, 22, 15, 7), (2018, 9, 12, 1, 20, 45), (2020, 6, 30, 23, 5, 11),
        (2022, 11, 8, 2, 40, 19), (2024, 5, 21, 21, 33, 50), (2025, 12, 20, 1, 2, 3),
    )
)
PHOTO_COUNT_WEIGHTS = (35, 20, 15, 10, 8, 7, 5)  # for 0..6 photos


@dataclass(frozen=True, slots=True)
class Photo:
    filename: str  # W0….jpg, in the article's folder
    alt: str
    caption: str | None


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str  # P0….pdf|doc|xls, in the article's folder
    name: str  # the link text, e.g. 附件1:2023年一季度工业运行情况.xls


@dataclass(frozen=True, slots=True)
class Look:
    """Markup choices that change the page but not its content."""

    para_tag: str = "p"  # "p" or "div"
    indent: str = "ideographic"  # "ideographic" (　　), "nbsp", "css" or "none"
    style_block: bool = False  # <style> and a Custom_UnionStyle wrapper in TRS_Editor
    font_span: bool = False  # paragraph text wrapped in <span style="font-family…">
    empty_after: frozenset[int] = frozenset()  # block indexes followed by <p>&nbsp;</p>
    time_shown: bool = False  # the meta line shows HH:MM
    pubdate_is_maketime: bool = False  # the PubDate meta is a regeneration time


@dataclass(frozen=True)
class Article:
    entry: Entry
    title: str
    source: str
    published_at: datetime  # CST; the time part is shown only when look.time_shown
    made_at: datetime  # page regeneration time: Maketime and Last-Modified
    blocks: tuple[str | Photo, ...]  # paragraphs and photos, in page order
    attachments: tuple[Attachment, ...]
    look: Look
    hijacked: bool = False  # header and footer say 江城足球网 (the seed page)

    @property
    def published(self) -> str:
        """ISO date, or date-time with +08:00 when the page shows a time."""
        if self.look.time_shown:
            return self.published_at.isoformat()
        return self.published_at.date().isoformat()

    @property
    def photos(self) -> list[Photo]:
        return [b for b in self.blocks if isinstance(b, Photo)]

    @property
    def paragraphs(self) -> list[str]:
        """Text paragraphs and captions in page order, stripped, empties left out."""
        out = []
        for b in self.blocks:
            text = b.caption if isinstance(b, Photo) else b
            text = (text or "").strip(" \t\r\n\u3000\xa0")
            if text:
                out.append(text)
        return out

    @property
    def body_text(self) -> str:
        return "\n\n".join(self.paragraphs)

    @property
    def description(self) -> str:
        return self.paragraphs[0][:80] if self.paragraphs else self.title


def _media_name(prefix: str, entry: Entry, index: int, ext: str) -> str:
    tail = mix(entry.docid, index, 77) % 1000
    return f"{prefix}0{entry.day:%Y%m%d}{entry.docid:07d}{index:02d}{tail:03d}.{ext}"


def _alt(rng: random.Random, day: date) -> str:
    roll = rng.random()
    if roll < 0.2:  # a stale template date: a trap for date extraction
        stale = day - timedelta(days=rng.randint(200, 2500))
        return f"{stale:%Y-%m-%d}" if rng.random() < 0.6 else f"{stale:%Y%m%d}"
    if roll < 0.5:
        return f"IMG_{rng.randint(1000, 9999)}.JPG"
    if roll < 0.65:
        return f"微信图片_{day:%Y%m%d}{rng.randint(80000, 185959):06d}.jpg"
    if roll < 0.8:
        return ""
    return f"{rng.randint(1, 20)}.jpg"


def _look(rng: random.Random, entry: Entry, n_blocks: int) -> Look:
    empty = frozenset(rng.sample(range(n_blocks), min(n_blocks, 2))) if rng.random() < 0.2 else frozenset()
    if entry.template == "old":
        indent = "ideographic" if rng.random() < 0.6 else "nbsp"
        return Look(indent=indent, empty_after=empty)
    return Look(
        para_tag="div" if rng.random() < 0.15 else "p",
        indent=rng.choices(("ideographic", "nbsp", "css", "none"), (40, 20, 25, 15))[0],
        style_block=rng.random() < 0.35,
        font_span=rng.random() < 0.25,
        empty_after=empty,
        time_shown=rng.random() < 0.2,
        pubdate_is_maketime=rng.random() < 0.25,
    )


def _made_at(rng: random.Random, entry: Entry, published_at: datetime) -> datetime:
    """The base version's regeneration time: after publication, before its edition."""
    later = [t for t in REPUBLISHED if t > published_at]
    if entry.added == 1 and later and rng.random() < 0.45:
        made = later[0]
    else:
        made = published_at + timedelta(minutes=rng.randint(20, 2000), seconds=rng.randint(0, 59))
    return max(published_at, min(made, edition_time(entry.added) - timedelta(minutes=1)))


def _generated(entry: Entry, rng: random.Random) -> dict:
    writer = NewsWriter(rng, entry.day)
    title, source = writer.title(), writer.source()
    target = rng.choice((rng.randint(150, 600), rng.randint(600, 2000), rng.randint(2000, 3900)))
    blocks: list[str | Photo] = list(writer.paragraphs(target))
    n_photos = rng.choices(range(7), PHOTO_COUNT_WEIGHTS)[0]
    spots = sorted(rng.randint(1, len(blocks)) for _ in range(n_photos))
    for i, spot in enumerate(reversed(spots)):
        index = n_photos - 1 - i
        caption = writer.caption() if rng.random() < 0.35 else None
        photo = Photo(_media_name("W", entry, index, "jpg"), _alt(rng, entry.day), caption)
        blocks.insert(spot, photo)
    attachments = ()
    if entry.template == "current" and rng.random() < 0.12:
        names = writer.attachment_names(rng.randint(1, 3))
        attachments = tuple(
            Attachment(_media_name("P", entry, 50 + i, ext), name) for i, (name, ext) in enumerate(names)
        )
    return dict(title=title, source=source, blocks=blocks, attachments=attachments, hijacked=False)


def _seeded(entry: Entry) -> dict:
    seed = seed_text()
    blocks: list[str | Photo] = []
    for kind, value in seed.blocks:
        if kind == "photo":
            index = sum(isinstance(b, Photo) for b in blocks)
            blocks.append(Photo(_media_name("W", entry, index, "jpg"), value, None))
        else:
            blocks.append(value)
    return dict(title=seed.title, source=seed.source, blocks=blocks, attachments=(), hijacked=True)


def _edit(parts: dict, entry: Entry, seed: int, edition: int) -> None:
    """Change the title or one paragraph, as an editor fixing a page would."""
    rng = random.Random(f"edit/{seed}/{entry.docid}/{edition}")
    writer = NewsWriter(rng, entry.day)
    texts = [i for i, b in enumerate(parts["blocks"]) if isinstance(b, str)]
    if rng.random() < 0.4 or not texts:
        old = parts["title"]
        while parts["title"] == old:
            parts["title"] = writer.title()
    else:
        i = rng.choice(texts)
        parts["blocks"][i] = parts["blocks"][i] + writer.sentence()


def make_article(entry: Entry, seed: int = 1) -> Article:
    """The article `entry` stands for, in the state of its latest edit."""
    rng = random.Random(f"article/{seed}/{entry.docid}")
    parts = _seeded(entry) if entry.is_seed else _generated(entry, rng)
    look = Look(indent="css", style_block=True) if entry.is_seed else _look(rng, entry, len(parts["blocks"]))
    clock = time(16, 2) if entry.is_seed else time(rng.randint(8, 18), rng.randint(0, 59))
    published_at = datetime.combine(entry.day, clock, CST)
    made_at = _made_at(rng, entry, published_at)
    for edition in entry.edits:
        _edit(parts, entry, seed, edition)
        rng_made = random.Random(f"made/{seed}/{entry.docid}/{edition}")
        made_at = edition_time(edition) - timedelta(minutes=rng_made.randint(30, 5000), seconds=rng_made.randint(0, 59))
    return Article(
        entry=entry,
        title=parts["title"],
        source=parts["source"],
        published_at=published_at,
        made_at=made_at,
        blocks=tuple(parts["blocks"]),
        attachments=tuple(parts["attachments"]),
        look=look,
        hijacked=parts["hijacked"],
    )
