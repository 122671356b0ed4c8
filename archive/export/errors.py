"""Why an export failed: one exception class per reason.

The CLI maps each class to its own exit code (see `archive.cli.export`).
"""

from __future__ import annotations


class ExportError(Exception):
    """Base class of every export failure."""


class BadRequest(ExportError):
    """The options do not make sense together (unknown field, wrong format...)."""


class EmptySelection(ExportError):
    """The filters selected no article version."""


class CatalogueUnreadable(ExportError):
    """The catalogue is missing, corrupt or not a catalogue."""


class CannotWrite(ExportError):
    """The output (or its folder) cannot be created or written."""


class ArchiveUnreadable(ExportError):
    """A WARC file or record the catalogue refers to is missing, corrupt or does not match."""


class SearchUnavailable(ExportError):
    """A free-text query was given but the search module cannot be used."""


class PackagingFailed(ExportError):
    """py-wacz failed to build the WACZ package."""
