"""Reading large HTTP bodies back out of WARC records: speed, and memory that does not grow with the body.

    python bench/warc_read.py [MB ...]     (default: 5 50)

For each size it writes one response record whose body is that many MB of
incompressible bytes sent with `Content-Encoding: gzip` (so the record, the
payload and the decoded body are all about that size), then reads it back in
a fresh child process through `archive.warc.http.open_http`, raw and
decoded, and prints the child's peak RSS above what it had before reading,
and the throughput.  Memory must stay flat as the body grows ×10.  For
contrast, `in-memory` reads the whole block and then decodes the whole body,
as the web and export media readers did before.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import random
import shutil
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 1 << 20

# Runs in the child: RSS before and after reading the body through the one HTTP reader.
_CHILD = """
import hashlib, json, resource, sys, time
from archive.warc.http import PIECE, open_http
path, mode = sys.argv[1], sys.argv[2]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
digest, size = hashlib.sha256(), 0
if mode == "in-memory":  # for contrast: the whole block, then the whole body, as the old readers did
    import gzip
    from archive.warc.http import parse_head
    from archive.warc.reader import read_record
    _, block = read_record(path, 0, int(sys.argv[3]))
    body = gzip.decompress(block[len(parse_head(block).raw):])
    digest.update(body)
    size = len(body)
else:
    with open_http(path, 0, int(sys.argv[3])) as message:
        body = message.decoded() if mode == "decoded" else message.raw()
        while piece := body.read(PIECE):
            digest.update(piece)
            size += len(piece)
seconds = time.perf_counter() - started
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"before_kib": before, "peak_kib": after, "bytes": size, "sha256": digest.hexdigest(),
                  "seconds": seconds}))
"""


def _sha1(digest) -> str:  # noqa: ANN001
    return "sha1:" + base64.b32encode(digest.digest()).decode("ascii")


def write_big_record(path: Path, megabytes: int, seed: int = 1) -> tuple[int, str]:
    """One gzip member holding a response whose body is `megabytes` MB gzip-encoded, written in pieces.

    Returns the member's length and the SHA-256 of the decoded body.
    """
    rng = random.Random(seed)
    decoded = hashlib.sha256()
    encoded = Path(str(path) + ".body")
    with gzip.open(encoded, "wb", compresslevel=1) as out:
        for _ in range(megabytes):
            piece = rng.randbytes(MB)
            decoded.update(piece)
            out.write(piece)
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Encoding: gzip\r\n"
            b"Content-Length: %d\r\n\r\n" % encoded.stat().st_size)
    block, payload = hashlib.sha1(head), hashlib.sha1()
    with open(encoded, "rb") as body:
        while piece := body.read(MB):
            block.update(piece)
            payload.update(piece)
    warc_head = (f"WARC/1.1\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-"
                 f"{megabytes:012d}>\r\nWARC-Date: 2024-05-01T08:00:00Z\r\nWARC-Target-URI: http://x/big.bin\r\n"
                 f"WARC-Block-Digest: {_sha1(block)}\r\nWARC-Payload-Digest: {_sha1(payload)}\r\n"
                 f"Content-Type: application/http;msgtype=response\r\n"
                 f"Content-Length: {len(head) + encoded.stat().st_size}\r\n\r\n").encode()
    with open(path, "wb") as raw:
        member = zlib.compressobj(1, zlib.DEFLATED, 31)
        raw.write(member.compress(warc_head + head))
        with open(encoded, "rb") as body:
            while piece := body.read(MB):
                raw.write(member.compress(piece))
        raw.write(member.compress(b"\r\n\r\n") + member.flush())
    encoded.unlink()
    return path.stat().st_size, decoded.hexdigest()


def read_in_child(path: Path, length: int, mode: str) -> dict:
    """Read the record's body (`raw` or `decoded`) in a fresh interpreter; its RSS and timing."""
    done = subprocess.run([sys.executable, "-c", _CHILD, str(path), mode, str(length)], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    result["grew_mib"] = (result["peak_kib"] - result["before_kib"]) / 1024
    return result


def main(sizes: list[int]) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-warc-read-"))
    try:
        rows = []
        for megabytes in sizes:
            path = folder / f"big-{megabytes}.warc.gz"
            length, expected = write_big_record(path, megabytes)
            for mode in ("raw", "decoded", "in-memory"):
                result = read_in_child(path, length, mode)
                if mode != "raw":
                    assert result["sha256"] == expected and result["bytes"] == megabytes * MB
                rows.append((megabytes, mode, result))
                print(f"{megabytes:>4} MB body, {mode:>9}: peak RSS {result['peak_kib'] / 1024:6.1f} MiB "
                      f"(+{result['grew_mib']:.1f} MiB while reading), "
                      f"{megabytes / result['seconds']:6.1f} MB/s", flush=True)
            path.unlink()
        small, large = min(sizes), max(sizes)
        for mode in ("raw", "decoded", "in-memory"):
            first = next(r for m, k, r in rows if m == small and k == mode)
            last = next(r for m, k, r in rows if m == large and k == mode)
            print(f"{mode}: body ×{large / small:.0f}, peak RSS ×{last['peak_kib'] / first['peak_kib']:.2f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [5, 50])
