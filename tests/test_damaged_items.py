"""A damaged line in the middle of an items file (bit rot, a bad copy): reported, healed from the WARC files.

The JSONL items are derived from the WARC records; a line that is not JSON
or not UTF-8 must not stop `reindex` or a crawl's catch-up (both read the
file to find which articles have their line), and the article's line is
written again from its metadata record, while `verify` still names the bad one.
"""

from __future__ import annotations

import json
import shutil

from tests.conftest import portal_archive


def _damage(path, number: int, junk: bytes) -> str:
    lines = path.read_bytes().split(b"\n")
    url = json.loads(lines[number])["url"]
    lines[number] = junk
    path.write_bytes(b"\n".join(lines))
    return url


def _good_urls(path) -> list[str]:
    out = []
    for raw in path.read_bytes().splitlines():
        try:
            out.append(json.loads(raw)["url"])
        except ValueError:
            continue
    return out


def test_reindex_and_the_next_crawl_heal_a_damaged_line(crawled, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(crawled["data"], data)
    [items] = sorted((data / "items").glob("*.jsonl"))
    before = _good_urls(items)
    lost = _damage(items, 10, b'{"url": "http://\xff\xfe broken')
    _damage(items, 20, b"not json at all")
    lost_too = before[20]
    result = portal_archive("reindex", "--data", str(data), check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    healed = _good_urls(items)
    assert sorted(healed) == sorted(before) and {lost, lost_too} <= set(healed)
    verify = portal_archive("verify", "--data", str(data), check=False)
    assert verify.returncode == 1 and f"{items.name}:11: line is not UTF-8" in verify.stdout + verify.stderr


def test_a_crawl_starting_on_a_damaged_items_file_catches_up(crawled, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(crawled["data"], data)
    [items] = sorted((data / "items").glob("*.jsonl"))
    _damage(items, 5, b"\xff" * 40)
    (data / "catalog.sqlite").unlink()  # the next crawl has every record to fold in again
    for leftover in ("catalog.sqlite-wal", "catalog.sqlite-shm"):
        (data / leftover).unlink(missing_ok=True)
    result = portal_archive("crawl", "--replica", crawled["base_url"], "--data", str(data), "--quiet", check=False)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert len(set(_good_urls(items))) == len(crawled["items"])
