"""How fast each replica site answers with a large index, generated on demand.

    python bench/replica_sites.py [--articles 50000] [--edition 3]

For every site of replica.registry: the time to build the article index
(--articles articles, --edition editions), to answer its first list page
(cold, then cached), a list answer deep in the column (TRS index_N.html,
Hanweb dataproxy.jsp by POST, xxgk index_N.html, the JSON API's last page),
and 200 article pages (cold); then, in a second pass under tracemalloc (which
slows allocation, so it is not timed), the memory the index and those caches
hold at their peak.  Nothing is served over HTTP: this measures the
generator, not the network.  Compare rows measured in one run.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from replica import registry  # noqa: E402


def deep_list(spec, corpus, site):
    """(path, query, form) of a full list answer near the end of the first column."""
    total = len(corpus.columns[0]) if hasattr(corpus, "columns") else len(corpus.entries)
    if spec.cms == "trs":
        return f"/xwzx/gyjj/index_{max(1, total // 20 - 1)}.html", "", None
    if spec.cms == "hanweb":
        start = max(1, total - 44)
        return "/module/web/jpage/dataproxy.jsp", f"startrecord={start}&endrecord={start + 44}&perpage=15", \
            site.params(spec.columns[0])
    if spec.cms == "xxgk":
        pages = -(-total // 15)  # index_N.html is page N; the last page may be short
        return f"/xxgk/{spec.columns[0].key}/index_{pages - 1}.html" if pages > 2 else spec.start_path, "", None
    return "/api/content/list", f"channel={spec.columns[0].key}&page={max(1, total // 20)}&size=20", None


def timed(func):
    start = time.perf_counter()
    result = func()
    return (time.perf_counter() - start) * 1000, result


COLUMNS = ((8, 0), (11, 1), (11, 2), (11, 1), (14, 0))  # width and decimals of each timing


def exercise(spec, options) -> list[float]:
    """Build the site and ask it for the pages of the table; the times in ms."""
    build_ms, corpus = timed(lambda: registry.make_corpus(spec, options.articles, options.edition))
    site = registry.make_site(spec, corpus)
    cold_ms, res = timed(lambda: site.resolve(spec.start_path))
    assert res.status == 200
    warm_ms, _ = timed(lambda: site.resolve(spec.start_path))
    path, query, form = deep_list(spec, corpus, site)
    deep_ms, res = timed(lambda: site.resolve(path, query, "127.0.0.1", form) if form else site.resolve(path, query))
    assert res.status == 200 and len(res.body) > 200, (path, res.status)
    paths = [r["url"] for r, _ in zip(registry.truth(spec, corpus), range(200))]
    articles_ms, _ = timed(lambda: [site.resolve(p) for p in paths])
    return [build_ms, cold_ms, warm_ms, deep_ms, articles_ms]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=50_000)
    parser.add_argument("--edition", type=int, default=3)
    options = parser.parse_args()
    print(f"{options.articles} articles, edition {options.edition}; times in ms")
    print(f"{'site':<10}{'index':>8}{'list cold':>11}{'list warm':>11}{'deep list':>11}"
          f"{'200 articles':>14}{'peak MiB':>10}")
    for name in registry.site_names():
        timings = exercise(registry.site_spec(name), options)
        tracemalloc.start()
        exercise(registry.site_spec(name), options)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        print(f"{name:<10}" + "".join(f"{t:>{w}.{d}f}" for t, (w, d) in zip(timings, COLUMNS)) + f"{peak:>10.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
