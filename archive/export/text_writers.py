"""CSV and JSONL: one line (CSV record) per row, written as rows arrive.

CSV is UTF-8 with a byte-order mark unless `bom=False` (Excel needs the BOM
to read Chinese), RFC 4180: comma, double quotes doubled, CRLF between
records; newlines inside a value stay inside its quotes.  Lists and objects
are JSON text in their cell, booleans `true`/`false`, null an empty cell.
A text cell a spreadsheet program would run as a formula (starting with
`=`, `+`, `-`, `@`, a tab or a carriage return: a hijacked page's title can
be `=HYPERLINK(...)`) gets a leading `'`, as OWASP advises, unless
`raw=True`; every other format keeps such text exactly.
JSONL is one JSON object per line, UTF-8, Chinese unescaped, with native
JSON types.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from archive.export.fields import Field


def schema_fields(fields: list[Field]) -> list[dict[str, Any]]:
    """Table Schema `fields` for the text formats."""
    return [{"name": f.name, "type": f.type, "description": f.description} for f in fields]


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SAFE_CELLS = ("Text cells starting with = + - @, a tab or a carriage return begin with an added ' so that "
              "spreadsheet programs show them as text instead of running them as formulas.")


def csv_cell(value: Any, raw: bool = False) -> Any:
    """A value as CSV text: JSON for lists and objects, true/false, '' for None; text that would start a
    formula with a leading ' unless `raw`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    if not raw and isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class CsvWriter:
    """Rows to a CSV file with a header line."""

    format = "csv"
    mediatype = "text/csv"

    def __init__(self, path: Path, fields: list[Field], *, bom: bool = True, raw: bool = False) -> None:
        self.fields = fields
        self.raw = raw
        self.encoding = "utf-8-sig" if bom else "utf-8"
        self._values = [f.value for f in fields]
        self._file = open(path, "w", encoding=self.encoding, newline="")
        self._csv = csv.writer(self._file, lineterminator="\r\n")
        self._csv.writerow([f.name for f in fields])

    def write(self, row: Any) -> None:
        """Write one catalogue row (see archive.export.select)."""
        raw = self.raw
        self._csv.writerow([csv_cell(value(row), raw) for value in self._values])

    def close(self) -> None:
        self._file.close()

    abort = close

    def resource(self) -> dict[str, Any]:
        """Frictionless resource properties of the file (path, hash and bytes are added later)."""
        return {
            "format": "csv", "mediatype": self.mediatype, "encoding": self.encoding,
            **({} if self.raw else {"description": SAFE_CELLS}),
            "dialect": {"delimiter": ",", "lineTerminator": "\r\n", "quoteChar": '"',
                        "doubleQuote": True, "header": True},
            "schema": {"fields": schema_fields(self.fields)},
        }


class JsonlWriter:
    """Rows to JSON lines."""

    format = "jsonl"
    mediatype = "application/x-ndjson"

    def __init__(self, path: Path, fields: list[Field], *, bom: bool = True) -> None:
        self.fields = fields
        self._pairs = [(f.name, f.value) for f in fields]
        self._file = open(path, "w", encoding="utf-8", newline="\n")

    def write(self, row: Any) -> None:
        line = json.dumps({name: value(row) for name, value in self._pairs}, ensure_ascii=False)
        self._file.write(line + "\n")

    def close(self) -> None:
        self._file.close()

    abort = close

    def resource(self) -> dict[str, Any]:
        return {"format": "jsonl", "mediatype": self.mediatype, "encoding": "utf-8",
                "schema": {"fields": schema_fields(self.fields)}}
