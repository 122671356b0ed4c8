"""Parquet through pyarrow: typed columns, zstd, one row group per batch of rows.

A row group closes at ROWS_PER_GROUP rows or CHARS_PER_GROUP characters of
body text, whichever comes first, so memory stays flat.

Types (the Table Schema in datapackage.json says the same):

* `published`: timestamp[us, tz=+08:00], null when the page gives only a
  date; `published_date`: date32, the local date, set whenever a date is known.
* `first_seen`, `last_seen`, `capture_time`, `withdrawn_at`: timestamp[us, tz=UTC].
* `images`, `attachments`: list<struct<...>> with the keys of
  `fields.IMAGE_KEYS` / `fields.ATTACHMENT_KEYS` (sizes and offsets int64).
* `breadcrumb`, `flags`, `problems`, `changed_fields`: list<string>;
  `charset`: struct<declared, used>; `xxgk`: map<string, string> (in page order);
  ids int64, `version` int32.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from archive.export.errors import CatalogueUnreadable
from archive.export.fields import ATTACHMENT_KEYS, IMAGE_KEYS, Field

ROWS_PER_GROUP = 10_000
# A row group is also closed at this many characters of text: converting
# Python text to Arrow briefly holds it three times (str, its UTF-8 cache,
# the Arrow buffer), so this bounds memory whatever the bodies' length.
CHARS_PER_GROUP = 4_000_000
_LONG_TEXT = ("body_text", "body_html")
PORTAL_TZ = timezone(timedelta(hours=8))

_UTC = pa.timestamp("us", tz="UTC")
_INTS = {"status": pa.int32(), "size": pa.int64(), "warc_offset": pa.int64(), "warc_length": pa.int64()}


def _list(item: pa.DataType) -> pa.DataType:
    """A list type whose item is named as Parquet files name it (`element`): the type read back is this one."""
    return pa.list_(pa.field("element", item))


def _media_type(keys: tuple[str, ...]) -> pa.DataType:
    return _list(pa.struct([pa.field(key, _INTS.get(key, pa.string())) for key in keys]))


ARROW_TYPES: dict[str, pa.DataType] = {
    "article_id": pa.int64(),
    "version": pa.int32(),
    "published": pa.timestamp("us", tz="+08:00"),
    "published_date": pa.date32(),
    "breadcrumb": _list(pa.string()),
    "images": _media_type(IMAGE_KEYS),
    "attachments": _media_type(ATTACHMENT_KEYS),
    "flags": _list(pa.string()),
    "problems": _list(pa.string()),
    "charset": pa.struct([pa.field("declared", pa.string()), pa.field("used", pa.string())]),
    "xxgk": pa.map_(pa.string(), pa.string()),
    "changed_fields": _list(pa.string()),
    "withdrawn_at": _UTC,
    "is_current": pa.bool_(),
    "first_seen": _UTC,
    "last_seen": _UTC,
    "capture_time": _UTC,
    "warc_offset": pa.int64(),
    "warc_length": pa.int64(),
}


def parse_time(text: str | None) -> datetime | None:
    """An ISO 8601 catalogue time (UTC, ending in Z) as an aware datetime."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CatalogueUnreadable(f"the catalogue holds a malformed time {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def parse_published(text: str | None) -> datetime | None:
    """`published` as an aware datetime; None for a date alone (or text that is no ISO time)."""
    if not text or len(text) <= 10:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=PORTAL_TZ)
    try:
        moment.astimezone(timezone.utc)  # Parquet stores the UTC instant: one before year 1 no reader can read
    except OverflowError:
        return None
    return moment


def parse_date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _object(name: str, value: Any) -> dict | None:
    """`value` when it is an object (or null); CatalogueUnreadable otherwise (a hand-edited catalogue)."""
    if value is None or isinstance(value, dict):
        return value
    raise CatalogueUnreadable(f"the catalogue holds a {name} value that is not an object: {str(value)[:80]!r}")


def _charset(value: dict | None) -> dict | None:
    value = _object("charset", value)
    return None if value is None else {"declared": value.get("declared"), "used": value.get("used")}


def _pairs(value: dict | None) -> list[tuple[str, str]] | None:
    """A dict as the (key, value) list Arrow builds a map from, its order kept."""
    value = _object("xxgk", value)
    return None if value is None else [(str(k), "" if v is None else str(v)) for k, v in value.items()]


_CONVERT = {
    "xxgk": _pairs,
    "published": parse_published,
    "published_date": parse_date,
    "charset": _charset,
    "withdrawn_at": parse_time,
    "first_seen": parse_time,
    "last_seen": parse_time,
    "capture_time": parse_time,
}


DESCRIPTIONS = {
    "published": "Publication time (+08:00); null when the page gives only a date (see published_date).",
}


def arrow_type(name: str) -> pa.DataType:
    return ARROW_TYPES.get(name, pa.string())


def _table_type(kind: pa.DataType) -> str:
    if pa.types.is_timestamp(kind):
        return "datetime"
    if pa.types.is_date(kind):
        return "date"
    if pa.types.is_map(kind):
        return "object"
    if pa.types.is_list(kind):
        return "array"
    if pa.types.is_struct(kind):
        return "object"
    if pa.types.is_integer(kind):
        return "integer"
    if pa.types.is_boolean(kind):
        return "boolean"
    return "string"


class ParquetWriter:
    """Rows to a Parquet file, `rows_per_group` rows at a time (memory stays flat)."""

    format = "parquet"
    mediatype = "application/vnd.apache.parquet"

    def __init__(self, path: Path, fields: list[Field], *, bom: bool = True,
                 rows_per_group: int | None = None) -> None:
        self.fields = fields
        self.schema = pa.schema([pa.field(f.name, arrow_type(f.name)) for f in fields])
        self._rows_per_group = rows_per_group or ROWS_PER_GROUP
        self._long = [f.name for f in fields if f.name in _LONG_TEXT]
        self._chars = 0
        self._columns: dict[str, list[Any]] = {f.name: [] for f in fields}
        self._convert = [(f.name, f.value, _CONVERT.get(f.name)) for f in fields]
        self._pending = 0
        self._writer = pq.ParquetWriter(path, self.schema, compression="zstd")

    def write(self, row: Any) -> None:
        columns = self._columns
        for name, value_of, convert in self._convert:
            value = value_of(row)
            columns[name].append(convert(value) if convert else value)
        self._pending += 1
        for name in self._long:
            self._chars += len(columns[name][-1] or "")
        if self._pending >= self._rows_per_group or self._chars >= CHARS_PER_GROUP:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        arrays = []
        for field in self.schema:
            try:
                arrays.append(pa.array(self._columns[field.name], type=field.type))
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError) as error:
                raise CatalogueUnreadable(f"the catalogue's {field.name} values do not fit {field.type}: {error}") \
                    from error
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self.schema))
        for values in self._columns.values():
            values.clear()
        self._pending = self._chars = 0

    def close(self) -> None:
        self._flush()
        self._writer.close()

    def abort(self) -> None:
        self._writer.close()

    def resource(self) -> dict[str, Any]:
        return {
            "format": "parquet", "mediatype": self.mediatype, "compression": "zstd",
            "schema": {"fields": [{
                "name": f.name, "type": _table_type(arrow_type(f.name)),
                "description": DESCRIPTIONS.get(f.name, f.description), "arrowType": str(arrow_type(f.name)),
            } for f in self.fields]},
        }
