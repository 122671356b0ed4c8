"""Watching the portal: character diffs of edits, change feeds, alerts after a crawl.

Kept light: `portal-archive crawl` imports this package before the crawl
starts, and everything heavy (feeds, apprise) is imported when used.
"""

NOTIFY_ON = ("changes", "failure", "always")  # when `crawl --notify` sends: see archive.watch.notify.should_notify
