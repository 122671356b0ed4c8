"""One family-site article as data: its content, its traps and (on xxgk sites) its metadata table.

`make_doc(spec, entry, seed)` is the single source of the rendered page and of
the ground truth, so they cannot disagree.  It is deterministic.  Which traps
a page carries is drawn per article; each family's renderer decides where on
its page a trap goes (docs/replica.md lists them).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from replica.article import REPUBLISHED
from replica.corpus import CST, edition_time
from replica.families.corpus import FamilyEntry
from replica.families.urls import media_name
from replica.families.words import CATEGORIES, PLACES
from replica.families.writer import CountyWriter
from replica.spec import Column, SiteSpec

SOURCE_STYLES = ("plain", "site-name", "meta-default", "empty")


@dataclass(frozen=True, slots=True)
class Photo:
    name: str  # stored file name (replica.families.urls.media_name)
    alt: str
    caption: str | None


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str  # stored file name
    label: str  # the link text, e.g. 附件1：2023年重点项目汇总表.xls


@dataclass(frozen=True, slots=True)
class Traps:
    """Where this page tries to mislead an extractor (all deterministic per article)."""

    pubdate_is_maketime: bool = False  # the PubDate meta is the regeneration time
    source_style: str = "plain"  # see SOURCE_STYLES and docs/replica.md
    commented_source: str | None = None  # an old source line kept in an HTML comment
    hidden_box: str | None = None  # text of a display:none box inside the body (not the article's)
    hidden_after: int = 0  # the body block the hidden box follows
    script_reveal: bool = False  # the body container is display:none until a script shows it
    qr_in_body: bool = False  # a QR code image sits inside the body container (after the content)
    updated_shown: bool = False  # an 更新日期/更新时间 (the regeneration time) stands next to the publication time
    indent: str = "ideographic"  # "ideographic" (　　), "css" (text-indent) or "none"


@dataclass(frozen=True)
class Doc:
    entry: FamilyEntry
    column: Column
    kind: str  # "news" or "notice"
    title: str
    published_at: datetime  # CST
    time_shown: bool  # the page shows HH:MM after the date
    source: str | None  # the visible source, None when the page's source field is empty
    meta_source: str  # what the ContentSource meta says
    made_at: datetime  # regeneration time: Last-Modified, and the PubDate meta on trap pages
    blocks: tuple[str | Photo, ...]
    attachments: tuple[Attachment, ...]
    traps: Traps
    xxgk: tuple[tuple[str, str], ...] = ()  # the metadata table, label and value, in page order
    xxgk_layout: str = "table"  # "table" or "list"

    @property
    def published(self) -> str:
        """ISO date, or date-time with +08:00 when the page shows a time."""
        return self.published_at.isoformat() if self.time_shown else self.published_at.date().isoformat()

    @property
    def shown_date(self) -> str:
        return f"{self.published_at:%Y-%m-%d %H:%M}" if self.time_shown else f"{self.published_at:%Y-%m-%d}"

    @property
    def pubdate_meta(self) -> str:
        moment = self.made_at if self.traps.pubdate_is_maketime else self.published_at
        return f"{moment:%Y-%m-%d %H:%M}"

    @property
    def photos(self) -> list[Photo]:
        return [b for b in self.blocks if isinstance(b, Photo)]

    @property
    def paragraphs(self) -> list[str]:
        """Text paragraphs and captions in page order."""
        return [(b.caption if isinstance(b, Photo) else b) for b in self.blocks
                if not isinstance(b, Photo) or b.caption]

    @property
    def body_text(self) -> str:
        return "\n\n".join(self.paragraphs)

    @property
    def description(self) -> str:
        return self.paragraphs[0][:60] if self.paragraphs else self.title


# Share of pages with each trap, by family: (pubdate is maketime, time shown, script reveal, QR in body, 更新时间).
RATES = {
    "hanweb": (0.3, 0.7, 0.15, 0.3, 0.3),
    "xxgk": (0.5, 0.0, 0.15, 0.0, 0.0),
    "json": (0.25, 0.6, 1.0, 0.3, 0.4),
}


def _alt(rng: random.Random, day: date) -> str:
    roll = rng.random()
    if roll < 0.25:  # a stale template date: a trap for date extraction
        stale = day - timedelta(days=rng.randint(200, 2500))
        return f"{stale:%Y-%m-%d}" if rng.random() < 0.6 else f"{stale:%Y%m%d}"
    if roll < 0.5:
        return f"微信图片_{day:%Y%m%d}{rng.randint(80000, 185959):06d}.jpg"
    if roll < 0.7:
        return ""
    return f"IMG_{rng.randint(1000, 9999)}.JPG"


def _made_at(rng: random.Random, entry: FamilyEntry, published_at: datetime) -> datetime:
    """The base version's regeneration time: after publication, before its edition went live."""
    later = [t for t in REPUBLISHED if t > published_at]
    if entry.added == 1 and later and rng.random() < 0.45:
        made = later[0]
    else:
        made = published_at + timedelta(minutes=rng.randint(20, 2000), seconds=rng.randint(0, 59))
    return max(published_at, min(made, edition_time(entry.added) - timedelta(minutes=1)))


def _traps(rng: random.Random, spec: SiteSpec, writer: CountyWriter, n_blocks: int) -> Traps:
    maketime, _, reveal, qr, updated = RATES[spec.cms]
    return Traps(
        pubdate_is_maketime=rng.random() < maketime,
        source_style=rng.choices(SOURCE_STYLES, (55, 10, 25, 10))[0],
        commented_source=writer.source() if rng.random() < 0.2 else None,
        hidden_box=writer.hidden_text() if rng.random() < 0.25 else None,
        hidden_after=rng.randrange(max(1, n_blocks)),
        script_reveal=rng.random() < reveal,
        qr_in_body=rng.random() < qr,
        updated_shown=rng.random() < updated,
        indent=rng.choice(("ideographic", "css", "none")),
    )


def _xxgk_table(rng: random.Random, spec: SiteSpec, entry: FamilyEntry, title: str, publisher: str,
                published: date, signed: date) -> tuple[tuple[str, str], ...]:
    place = PLACES[spec.name]
    credit = f"11{place.code}{mix_code(publisher)}"
    rows = [("索引号", f"{credit}/{published.year}-{entry.docid % 100000:05d}")]
    if rng.random() < 0.8:
        rows.append(("主题分类", rng.choice(CATEGORIES)))
    rows.append(("发布机构", publisher))
    rows.append(("生成日期" if rng.random() < 0.6 else "发布日期", f"{published:%Y-%m-%d}"))
    if rng.random() < 0.85:
        rows.append(("成文日期", f"{signed:%Y-%m-%d}"))
    if rng.random() < 0.3:
        issued = signed + timedelta(days=rng.randint(0, max(0, (published - signed).days)))
        rows.append(("发文日期", f"{issued:%Y-%m-%d}"))
    number = f"{place.short}政办发〔{published.year}〕{rng.randint(1, 60)}号" if rng.random() < 0.6 else ""
    rows.append(("文号", number))
    if rng.random() < 0.5:
        rows.append(("名称", title))
    if rng.random() < 0.4:
        rows.append(("有效性", "有效"))
    if rng.random() < 0.6:
        rows.append(("公开方式", "主动公开"))
    return tuple(rows)


def mix_code(name: str) -> str:
    """A stable 10-character tail of a unified social credit code for a publisher (9 digits, one letter)."""
    number = sum((i + 1) * ord(c) for i, c in enumerate(name)) * 7919 % 10**9
    return f"{number:09d}{'ABCDEFGHJKLMNPQRTUWXY'[number % 21]}"


def _edit(parts: dict, writer: CountyWriter, kind: str) -> None:
    """Change the title or one paragraph, as an editor fixing a page would."""
    rng = writer.rng
    texts = [i for i, b in enumerate(parts["blocks"]) if isinstance(b, str)]
    if kind == "notice":
        texts = texts[1:-2] or texts  # leave the salutation and the signature alone
    if kind == "news" and (rng.random() < 0.4 or not texts):
        old = parts["title"]
        while parts["title"] == old:
            parts["title"] = writer.other_title()
    else:
        i = rng.choice(texts)
        parts["blocks"][i] = parts["blocks"][i] + writer.sentence()


def make_doc(spec: SiteSpec, entry: FamilyEntry, seed: int = 1) -> Doc:
    """The article `entry` stands for, in the state of its latest edit."""
    rng = random.Random(f"doc/{spec.name}/{seed}/{entry.docid}")
    column = spec.columns[entry.column]
    kind = "notice" if spec.cms == "xxgk" or column.key == "tzgg" else "news"
    writer = CountyWriter(rng, PLACES[spec.name], entry.day, spec.site_name)
    published_at = datetime.combine(entry.day, time(rng.randint(8, 18), rng.randint(0, 59)), CST)
    time_shown = kind == "news" and rng.random() < RATES[spec.cms][1]
    title = writer.title(kind)
    publisher = writer.publisher
    source = publisher if kind == "notice" and rng.random() < 0.7 else writer.source()
    signed = entry.day - timedelta(days=rng.randint(0, 20))
    blocks: list[str | Photo] = list(writer.paragraphs(kind, publisher, signed))
    n_photos = rng.choices(range(5), (40, 25, 15, 12, 8) if kind == "news" else (85, 15, 0, 0, 0))[0]
    for index in range(n_photos):
        caption = writer.caption() if rng.random() < 0.4 else None
        photo = Photo(media_name(entry, index, "jpg"), _alt(rng, entry.day), caption)
        blocks.insert(rng.randint(1, len(blocks) - (2 if kind == "notice" else 0)), photo)
    attachments: tuple[Attachment, ...] = ()
    if rng.random() < (0.5 if kind == "notice" else 0.1):
        names = writer.attachment_names(rng.randint(1, 3))
        attachments = tuple(Attachment(media_name(entry, 50 + i, ext), label) for i, (label, ext) in enumerate(names))
    traps = _traps(rng, spec, writer, len(blocks))
    table: tuple[tuple[str, str], ...] = ()
    layout = "table"
    if spec.cms == "xxgk":
        table = _xxgk_table(rng, spec, entry, title, publisher, entry.day, signed)
        layout = "table" if rng.random() < 0.7 else "list"
    made_at = _made_at(rng, entry, published_at)
    parts = {"title": title, "blocks": blocks}
    for edition in entry.edits:
        _edit(parts, CountyWriter(random.Random(f"edit/{spec.name}/{seed}/{entry.docid}/{edition}"),
                                  PLACES[spec.name], entry.day, spec.site_name), kind)
        made_rng = random.Random(f"made/{spec.name}/{seed}/{entry.docid}/{edition}")
        made_at = edition_time(edition) - timedelta(minutes=made_rng.randint(30, 5000), seconds=made_rng.randint(0, 59))
    if table and parts["title"] != title:
        table = tuple((k, parts["title"] if k == "名称" else v) for k, v in table)
    style = traps.source_style
    visible = {"plain": source, "site-name": spec.site_name, "meta-default": source, "empty": None}[style]
    return Doc(
        entry=entry, column=column, kind=kind, title=parts["title"], published_at=published_at,
        time_shown=time_shown, source=visible, meta_source=source if style == "plain" else spec.site_name,
        made_at=made_at, blocks=tuple(parts["blocks"]), attachments=attachments, traps=traps,
        xxgk=table, xxgk_layout=layout,
    )
