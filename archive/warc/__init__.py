"""WARC writing, reading and checking, independent of Scrapy.

- `records`: pure record building (exact bytes, digests, ids, dates)
- `writer`: `WarcWriter`, `RecordRef`, `recover()` for crash leftovers
- `reader`: record heads with their offsets; one record by reference
- `verify`: `verify_archive()` over a data folder
"""

from archive.warc.errors import (ArchiveNotFoundError, GzipMemberError, WarcError,
                                 WarcFormatError, WarcTruncatedError, WarcWriteError)

__all__ = ["ArchiveNotFoundError", "GzipMemberError", "WarcError", "WarcFormatError",
           "WarcTruncatedError", "WarcWriteError"]
