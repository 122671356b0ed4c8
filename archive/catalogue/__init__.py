"""The SQLite catalogue: crawls, captures, articles, versions, withdrawals.

Derived from the WARC files; `portal-archive reindex` rebuilds it.
"""
