"""Sealing cost: signing a WACZ rewrites its zip; how does that compare with copying the file?

    python bench/evidence.py [MiB]

Builds a package-shaped zip (one stored WARC-sized entry of random bytes,
a datapackage.json), then times a plain file copy and `seal_package` with a
fresh key (no timestamp: that is one HTTP round trip, whatever the size),
and `verify_package`'s file-digest pass.  Prints the ratios, measured in
one run.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from archive.evidence.keys import archive_key
from archive.evidence.package import hash_entry
from archive.evidence.seal import Evidence, seal_package


def main(mib: int = 300) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-evidence-") as folder:
        root = Path(folder)
        package = root / "big.wacz"
        block = os.urandom(1 << 20)
        with zipfile.ZipFile(package, "w") as zipped:
            with zipped.open(zipfile.ZipInfo("archive/big.warc.gz"), "w", force_zip64=True) as entry:
                for _ in range(mib):
                    entry.write(block)
            zipped.writestr("datapackage.json", json.dumps({"created": "2026-01-01T00:00:00Z", "resources": []}))
            zipped.writestr("datapackage-digest.json", "{}")
        key = archive_key(root)
        started = time.perf_counter()
        shutil.copyfile(package, root / "copy.wacz")
        copy = time.perf_counter() - started
        started = time.perf_counter()
        seal_package(package, Evidence(key=key))
        seal = time.perf_counter() - started
        started = time.perf_counter()
        with zipfile.ZipFile(package) as zipped:
            hash_entry(zipped, zipped.getinfo("archive/big.warc.gz"))
        digest = time.perf_counter() - started
    print(f"{mib} MiB package: file copy {copy:.2f} s; seal (rewrite + sign) {seal:.2f} s = {seal / copy:.1f}x the copy, "
          f"{mib / seal:.0f} MiB/s; verify's sha256 pass {digest:.2f} s ({mib / digest:.0f} MiB/s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
