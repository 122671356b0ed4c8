"""The SQLite backend's Chinese search index: FTS5 over character pairs (see `index` and `engine`).

Its tables (search_*) live in the catalogue database beside the catalogue's
own; triggers on `versions` and `articles` queue what changed, so the index
notices every change, whoever writes it.
"""
