"""How long `portal-archive profile new` takes on each CMS family, and the field coverage it reaches.

    python bench/profiles.py [--articles 300] [--samples 6] [--list-pages 3]

For every replica site (its own process, so it has a core of its own): the
wall time of `portal-archive profile new` on all its columns' start URLs as a
user runs it (a fresh process: Python and the imports included), the requests
it made, and, from its validation report, the coverage of each field over
the sampled articles.  On loopback there is no delay between requests; on a
real portal `profile new` waits 1 s between two requests to a host, so the
last column gives the time it would take there (requests × 1 s, at least).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from replica import registry  # noqa: E402
from replica.launch import ReplicaProcess  # noqa: E402

FIELDS = ("title", "published", "source", "body_text", "images", "attachments", "breadcrumb", "site_name",
          "site_id_code", "column_name", "xxgk")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--samples", type=int, default=6)
    parser.add_argument("--list-pages", type=int, default=3)
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-profiles-"))
    rows = []
    for name in registry.site_names():
        spec = registry.site_spec(name)
        with ReplicaProcess(articles=options.articles, site=name) as replica:
            out = work / f"{name}.toml"
            started = time.perf_counter()
            result = subprocess.run(
                [sys.executable, "-m", "archive", "profile", "new", *replica.column_urls.values(), "--name", name,
                 "--out", str(out), "--samples", str(options.samples), "--list-pages", str(options.list_pages)],
                capture_output=True, text=True, encoding="utf-8", cwd=ROOT)
            elapsed = time.perf_counter() - started
        report = result.stdout
        requests = int(re.search(r"(\d+) requests in", report).group(1)) if "requests in" in report else 0
        inside = float(re.search(r"requests in ([\d.]+)s", report).group(1)) if "requests in" in report else 0.0
        coverage = {field: re.search(rf"^\s+{field}\s+(\d+)/(\d+)", report, re.M) for field in FIELDS}
        kinds = sorted(set(re.findall(r"^  section \S+ \((\w+)\)", report, re.M)))
        rows.append((name, spec.cms, len(spec.columns), ",".join(kinds), elapsed, inside, requests,
                     {f: (int(m.group(1)), int(m.group(2))) if m else (0, 0) for f, m in coverage.items()},
                     result.returncode))
    print(f"profile new on each replica site ({options.articles} articles, {options.samples} samples and "
          f"{options.list_pages} list answers per column; loopback, no delay)\n")
    print(f"{'site':<9} {'cms':<7} {'cols':>4} {'found':<8} {'wall s':>7} {'infer s':>7} {'reqs':>5} "
          f"{'at 1 s/req':>10} exit")
    for name, cms, columns, kinds, elapsed, inside, requests, _, code in rows:
        print(f"{name:<9} {cms:<7} {columns:>4} {kinds:<8} {elapsed:7.2f} {inside:7.2f} {requests:>5} "
              f"{requests * 1.0 + inside:10.1f} {code}")
    print("\nfield coverage (sampled pages with the field):")
    print(f"{'field':<13}" + "".join(f"{row[0]:>12}" for row in rows))
    for field in FIELDS:
        cells = []
        for row in rows:
            have, total = row[7][field]
            cells.append(f"{have}/{total} {100 * have / total:3.0f}%" if total else "-")
        print(f"{field:<13}" + "".join(f"{cell:>12}" for cell in cells))
    print("\n(images, attachments and xxgk are absent from many pages by design; title, published, body_text,\n"
          " breadcrumb, site_name, site_id_code and column_name should be 100% everywhere.)")


if __name__ == "__main__":
    main()
