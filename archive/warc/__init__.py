"""WARC writing, reading and checking."""
