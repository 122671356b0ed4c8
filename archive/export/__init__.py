"""Analyst exports (CSV, JSONL, Parquet, xlsx) and shareable WACZ packages.

    from archive.export import ExportRequest, Selection, export
    result = export(ExportRequest(data=Path("data"), out=Path("out/articles.parquet"), format="parquet",
                                  selection=Selection(since=date(2024, 1, 1), flags=("spam_keywords",))))

One row is one article version joined with its article and its capture.
Every export writes `NAME.datapackage.json` beside its file (see
`archive.export.datapackage`); failures raise a subclass of `ExportError`.
"""

from archive.export.errors import (ArchiveUnreadable, BadRequest, CannotWrite, CatalogueUnreadable, EmptySelection,
                                   ExportError, PackagingFailed, SearchUnavailable)
from archive.export.fields import DEFAULT_FIELDS, FIELDS, PROVENANCE, Field
from archive.export.run import FORMATS, ExportRequest, ExportResult, Progress, export
from archive.export.select import Selection

__all__ = [
    "ArchiveUnreadable", "BadRequest", "CannotWrite", "CatalogueUnreadable", "DEFAULT_FIELDS", "EmptySelection",
    "ExportError", "ExportRequest", "ExportResult", "FIELDS", "FORMATS", "Field", "PROVENANCE", "PackagingFailed",
    "Progress", "SearchUnavailable", "Selection", "export",
]
