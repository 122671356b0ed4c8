"""An item pipeline that kills its own crawl (SIGKILL) when the article named by $PORTAL_ARCHIVE_TEST_KILL_AT reaches
it: after its response record was written, before its metadata record (tests of what a kill -9 leaves)."""

import os
import signal


class KillAt:
    def process_item(self, item):
        if os.environ.get("PORTAL_ARCHIVE_TEST_KILL_AT", "\0") in (getattr(item, "url", "") or ""):
            os.kill(os.getpid(), signal.SIGKILL)
        return item
