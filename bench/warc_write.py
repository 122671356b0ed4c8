"""Write throughput of WarcWriter against warcio's writer, in the same run.

    python bench/warc_write.py

Pages are 25 KB of GBK HTML (a navigation list, then paragraphs of
Zipf-distributed characters) that gzip about 2.6x, like the pages measured
in PERFORMANCE.md.
"""

from __future__ import annotations

import io
import random
import time
from datetime import datetime, timezone
from pathlib import Path

import sys
import tempfile

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archive.warc.writer import WarcWriter  # noqa: E402

PAGES = 3000
REQ = b"GET /xwzx/gyjj/202103/t20210315_6187593.html HTTP/1.1\r\nHost: www.tengzhou.gov.cn\r\n\r\n"


def pages(count: int = 50) -> list[bytes]:
    rng = random.Random(1)
    chars = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    weights = [1 / (i + 1) ** 1.1 for i in range(3000)]
    nav = "".join(f'<li class="nav-item"><a href="/xwzx/col{i}/index.html" target="_blank" '
                  f'title="栏目{i}">栏目{i}</a></li>\n' for i in range(100))
    para = '<p style="text-indent: 2em; line-height: 1.75; font-family: 宋体;">　　'
    out = []
    for _ in range(count):
        text = "".join(para + "".join(rng.choices(chars, weights, k=rng.randint(60, 250)))
                       + "。</p>\n" for _ in range(60))
        out.append(f"<html><body><ul>{nav}</ul><div class=TRS_Editor>{text}</div></body></html>"
                   .encode("gbk")[:25000])
    return out


def measure(tmp_path: Path) -> None:
    bodies = pages()
    now = datetime.now(timezone.utc)
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=GBK\r\nContent-Length: 25000\r\n\r\n"
    start = time.perf_counter()
    with WarcWriter(tmp_path / "ours", warcinfo={"robots": "obey", "http-header-user-agent": "UA",
                                                 "operator": "op", "isPartOf": "bench"}) as writer:
        for n in range(PAGES):
            writer.write_exchange(target_uri=f"http://x/{n}", date=now, ip_address="127.0.0.1",
                                  request_head=REQ, response_head=head, response_body=bodies[n % 50])
    ours = 2 * PAGES / (time.perf_counter() - start)
    ratio = PAGES * 25000 / sum(p.stat().st_size for p in writer.finished)

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    start = time.perf_counter()
    with open(tmp_path / "warcio.warc.gz", "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for n in range(PAGES):
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=GBK")],
                                    protocol="HTTP/1.1")
            response = writer.create_warc_record(f"http://x/{n}", "response", http_headers=http,
                                                 payload=io.BytesIO(bodies[n % 50]))
            request = writer.create_warc_record(
                f"http://x/{n}", "request", payload=io.BytesIO(b""),
                http_headers=StatusAndHeaders("GET / HTTP/1.1", [("Host", "x")], is_http_request=True))
            writer.write_request_response_pair(request, response)
            fh.flush()
    theirs = 2 * PAGES / (time.perf_counter() - start)
    print(f"\nWarcWriter {ours:.0f} records/s (output {ratio:.1f}x smaller than the HTML), "
          f"warcio {theirs:.0f} records/s: {ours / theirs:.2f}x")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        measure(Path(folder))
