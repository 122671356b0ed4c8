"""Fault injection for tests: a WARC writer whose disk fills up."""

from __future__ import annotations

import errno
import os

from archive.warc.writer import WarcWriter


class DiskFullWriter(WarcWriter):
    """Fails with ENOSPC once it has written $FAULT_AFTER_EXCHANGES exchanges."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.left = int(os.environ.get("FAULT_AFTER_EXCHANGES", "20"))

    def write_exchange(self, **kwargs):
        if self.left <= 0:
            raise OSError(errno.ENOSPC, "No space left on device (injected)")
        self.left -= 1
        return super().write_exchange(**kwargs)
