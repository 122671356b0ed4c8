"""xlsx through openpyxl's write-only mode (rows are streamed to disk).

A cell holds at most 32,767 characters (Excel's limit, counted in UTF-16
units).  A longer value is cut there and the row's `body_truncated` column is
true; in practice only bodies are that long.  Lists and objects are JSON
text, times ISO 8601 text.  Control characters that XML cannot hold are
removed, and text starting with "=" is stored as text, never as a formula.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from archive.export.fields import Field
from archive.export.text_writers import schema_fields

CELL_LIMIT = 32_767
TRUNCATED = "body_truncated"
SHEET = "articles"


def fit_cell(text: str) -> tuple[str, bool]:
    """`text` cut to CELL_LIMIT UTF-16 units (never inside a surrogate pair), and whether it was cut."""
    if len(text) <= CELL_LIMIT // 2:
        return text, False
    encoded = text.encode("utf-16-le")
    if len(encoded) <= 2 * CELL_LIMIT:
        return text, False
    return encoded[: 2 * CELL_LIMIT].decode("utf-16-le", errors="ignore"), True


class XlsxWriter:
    """Rows to one sheet with a header row and a `body_truncated` column."""

    format = "xlsx"
    mediatype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    def __init__(self, path: Path, fields: list[Field], *, bom: bool = True) -> None:
        self.fields = fields
        self._path = path
        self._values = [f.value for f in fields]
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet(SHEET)
        self._sheet.append([f.name for f in fields] + [TRUNCATED])

    def _cell(self, value: Any) -> tuple[Any, bool]:
        if isinstance(value, (list, dict)):
            value = json.dumps(value, ensure_ascii=False)
        if not isinstance(value, str):
            return value, False
        value, cut = fit_cell(ILLEGAL_CHARACTERS_RE.sub("", value))
        if value.startswith("="):
            cell = WriteOnlyCell(self._sheet, value)
            cell.data_type = "s"
            return cell, cut
        return value, cut

    def write(self, row: Any) -> None:
        cells = []
        truncated = False
        for value in self._values:
            cell, cut = self._cell(value(row))
            cells.append(cell)
            truncated |= cut
        cells.append(truncated)
        self._sheet.append(cells)

    def close(self) -> None:
        self._book.save(self._path)

    def abort(self) -> None:
        # Nothing is written before save; the sheet's own temporary file is closed now, so that it is not left
        # to the garbage collector (which printed "Exception ignored" tracebacks after a Ctrl-C or a full disk).
        try:
            self._sheet.close()
        except Exception:  # noqa: BLE001 - a sheet that cannot even close (a full disk): nothing more to do
            pass
        self._book = None

    def resource(self) -> dict[str, Any]:
        fields = schema_fields(self.fields) + [{
            "name": TRUNCATED, "type": "boolean",
            "description": f"True when a cell of this row was cut to {CELL_LIMIT} characters (Excel's limit).",
        }]
        return {"format": "xlsx", "mediatype": self.mediatype, "sheet": SHEET, "schema": {"fields": fields}}
