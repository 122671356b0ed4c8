"""Item pipelines, in the order they run: problems → media → WARC metadata → JSONL."""
