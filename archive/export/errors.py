"""Why an export failed: one exception class per reason, each carrying its exit code (archive.exits)."""

from __future__ import annotations

from archive.exits import ArchiveError, Damaged, Failed, NoCatalogue, NotFound, UsageProblem


class ExportError(ArchiveError):
    """Base class of every export failure."""


class BadRequest(ExportError, UsageProblem):
    """The options do not make sense together (unknown field, wrong format...)."""


class EmptySelection(ExportError, NotFound):
    """The filters selected no article version."""


class CatalogueUnreadable(ExportError, NoCatalogue):
    """The catalogue is missing, corrupt or not a catalogue."""


class CannotWrite(ExportError, Failed):
    """The output (or its folder) cannot be created or written."""


class ArchiveUnreadable(ExportError, Damaged):
    """A WARC file or record the catalogue refers to is missing, corrupt or does not match."""


class SearchUnavailable(ExportError, NoCatalogue):
    """A free-text query was given but the catalogue has no search index to answer it."""


class PackagingFailed(ExportError, Failed):
    """py-wacz failed to build the WACZ package."""
