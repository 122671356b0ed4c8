"""Bytes saved by deduplicating payloads across sites: two replica sites that share their media.

    python bench/dedup.py [--articles 300]

The first site is the Tengzhou section; the second republishes it under
another host and profile (a mirror: the same articles with the same photos
and attachments, as county portals republish city news).  The mirror is
crawled twice: alone, into an empty archive, and after the first site into
the same catalogue (as a second worker would, sharing PostgreSQL).  The
ratio of its WARC bytes is what deduplication saves.

A third site (the Tengzhou corpus drawn with another seed) shows what an
archive of unrelated sites saves: the replica names every photo by its
article, so two corpora share a file only where an article does.

The replica's photos are flat grey JPEGs of about 1 KB that gzip squeezes
to almost nothing, so on them a revisit record costs about what the
response it replaces did.  `--photo-kb K` (default 150, as portal photos
go; 0 to skip) runs the same sites again with every photo padded to K KB
of incompressible bytes (COM segments, the same bytes for the same file on
every site), which is where the saving shows.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from replica.launch import ReplicaProcess  # noqa: E402

# Run the replica with every photo padded to KB kilobytes of incompressible bytes (argv[1]), then the CLI.
_PADDED = r"""
import hashlib, struct, sys
import replica.site as site
kb = int(sys.argv.pop(1))
plain = site.media_bytes
def padded(filename):
    data = plain(filename)
    if not filename.endswith(".jpg"):
        return data
    pad = hashlib.shake_256(filename.encode()).digest(kb * 1024)
    segments = b"".join(struct.pack(">BBH", 0xFF, 0xFE, len(pad[i:i + 60000]) + 2) + pad[i:i + 60000]
                        for i in range(0, len(pad), 60000))
    return data[:2] + segments + data[2:]
site.media_bytes = padded
from archive.cli import main
main(sys.argv[1:], prog_name="portal-archive")
"""


class PaddedReplica(ReplicaProcess):
    """The replica with photos of `kb` KB (see _PADDED)."""

    def __init__(self, kb: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.args = [sys.executable, "-c", _PADDED, str(kb), *self.args[3:]]


def profile(folder: Path, name: str) -> Path:
    text = (ROOT / "crawler" / "profiles" / "tengzhou.toml").read_text(encoding="utf-8")
    text = (text.replace('name = "tengzhou"', f'name = "{name}"')
            .replace("www.tengzhou.gov.cn", f"www.{name}.example").replace('"tengzhou.gov.cn"', f'"{name}.example"'))
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def warc_bytes(data: Path) -> int:
    return sum(p.stat().st_size for p in (data / "warc").glob("*.warc.gz"))


def crawl(data: Path, replica: str, *extra: str) -> tuple[int, dict, float]:
    """Crawl into DATA; the WARC bytes it added, its stats, its time."""
    before = warc_bytes(data) if (data / "warc").is_dir() else 0
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "archive", "crawl", "--replica", replica, "--data", str(data),
                             "--quiet", *extra], cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"crawl failed ({result.returncode}):\n{result.stdout}\n{result.stderr[-2000:]}")
    log = sorted((data / "logs").glob("*.log"), key=lambda p: p.stat().st_mtime)[-1].read_text(encoding="utf-8")
    stats = {}
    for key in ("archive/dedup_revisits", "archive/dedup_bytes_saved", "archive/images", "archive/attachments",
                "archive/warc_responses", "archive/warc_revisits"):
        marker = f"'{key}': "
        if marker in log:
            stats[key] = int(log.split(marker, 1)[1].split(",", 1)[0].split("}", 1)[0])
    return warc_bytes(data) - before, stats, elapsed


def measure(work: Path, n: int, kb: int) -> dict:
    """Crawl the mirror alone, then the first site and the mirror (and an unrelated site) into one archive."""
    def replica(**kwargs) -> ReplicaProcess:
        return PaddedReplica(kb, articles=n, **kwargs) if kb else ReplicaProcess(articles=n, **kwargs)

    mirror, other = profile(work, "mirror"), profile(work, "other")
    with replica() as first, replica() as copy, replica(seed=2) as unrelated:
        alone, alone_stats, _ = crawl(work / "alone", copy.base_url, "--profile", str(mirror))
        first_bytes, _, _ = crawl(work / "shared", first.base_url)
        shared, shared_stats, _ = crawl(work / "shared", copy.base_url, "--profile", str(mirror))
        other_bytes, other_stats, _ = crawl(work / "shared", unrelated.base_url, "--profile", str(other))
    return {"articles": n, "photo_kb": kb or None,
            "media": alone_stats.get("archive/images", 0) + alone_stats.get("archive/attachments", 0),
            "first": first_bytes, "mirror_alone": alone, "mirror_dedup": shared,
            "revisits": shared_stats.get("archive/dedup_revisits", 0),
            "payload_not_written": shared_stats.get("archive/dedup_bytes_saved", 0),
            "unrelated": other_bytes, "unrelated_revisits": other_stats.get("archive/dedup_revisits", 0)}


def report(r: dict) -> None:
    photos = f"photos padded to {r['photo_kb']} KB" if r["photo_kb"] else "the replica's own ~1 KB photos"
    print(f"Replica sites of {r['articles']} articles each, {r['media']} images and attachments per site, {photos}")
    print(f"  first site                           : {r['first'] / 1e6:8.2f} MB of WARC")
    print(f"  mirror, crawled alone                : {r['mirror_alone'] / 1e6:8.2f} MB")
    print(f"  mirror, after the first site (dedup) : {r['mirror_dedup'] / 1e6:8.2f} MB  ({r['revisits']} revisits; "
          f"{r['payload_not_written'] / 1e6:.2f} MB of payload not written again)")
    print(f"  saved: {r['mirror_alone'] - r['mirror_dedup']:,} bytes, {100 * (1 - r['mirror_dedup'] / r['mirror_alone']):.1f}%"
          f" of the mirror's WARC bytes ({r['mirror_alone'] / r['mirror_dedup']:.2f}x smaller)")
    print(f"  unrelated site (seed 2), after both  : {r['unrelated'] / 1e6:8.2f} MB  "
          f"({r['unrelated_revisits']} revisits)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--photo-kb", type=int, default=150)
    options = parser.parse_args()
    results = []
    for kb in (0, options.photo_kb) if options.photo_kb else (0,):
        work = Path(tempfile.mkdtemp(prefix="bench-dedup-"))
        try:
            results.append(measure(work, options.articles, kb))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        report(results[-1])
    print(json.dumps(results))


if __name__ == "__main__":
    main()
