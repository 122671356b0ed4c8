"""Everything that works on the archive without a running crawl: WARC, catalogue, search, export, CLI."""
