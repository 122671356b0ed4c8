"""Capture time attested when it happens: each crawl's WARC digests, timestamped at its end.

With `ARCHIVE_TIMESTAMP_URL` set, the crawl ends by writing, next to its
WARC files:

    DATA/warc/<crawl id>.sha256       "<sha256>  <file name>" per WARC file it wrote (sha256sum's format)
    DATA/warc/<crawl id>.sha256.tsr   the authority's RFC 3161 response over that file's SHA-256

so anyone can check, with standard tools, that those WARC files existed,
byte for byte, at the authority's time:

    sha256sum -c <crawl id>.sha256
    openssl ts -verify -data <crawl id>.sha256 -in <crawl id>.sha256.tsr -CAfile AUTHORITY-ROOT.pem

A WACZ export carries the attestations of the crawls whose WARC files it
holds, under `logs/` (listed in datapackage.json like every other file),
and `verify --package` checks them against the packaged files.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path
from typing import Any, Iterable

from archive.evidence.tsa import TimestampInvalid, check_chain, check_response, request_timestamp
from archive.storage.api import file_sha256

SUFFIX = ".sha256"
TOKEN_SUFFIX = ".sha256.tsr"




def manifest_text(files: Iterable[Path]) -> str:
    return "".join(f"{file_sha256(path)}  {path.name}\n" for path in sorted(files, key=lambda p: p.name))


def parse_manifest(text: str) -> list[tuple[str, str]]:
    """(hex sha256, file name) per line of a sha256sum-style list; malformed lines are skipped."""
    entries = []
    for line in text.splitlines():
        digest, _, name = line.partition("  ")
        if len(digest) == 64 and name and "/" not in name:
            entries.append((digest.lower(), name.lstrip("*")))
    return entries


def attest_crawl(warc_dir: Path, crawl_id: str, files: list[Path], timestamp_url: str, *,
                 timeout: float = 30.0) -> tuple[Path, Path]:
    """Write the crawl's digest list and its timestamp next to its WARC files; returns both paths.

    The list is written first, so a dead authority still leaves it (and the
    error, `Unavailable`, is raised after).
    """
    warc_dir = Path(warc_dir)
    manifest = warc_dir / f"{crawl_id}{SUFFIX}"
    token = warc_dir / f"{crawl_id}{TOKEN_SUFFIX}"
    data = manifest_text(files).encode("utf-8")
    _write(manifest, data)
    _write(token, request_timestamp(timestamp_url, hashlib.sha256(data).digest(), timeout=timeout))
    return manifest, token


def _write(path: Path, data: bytes) -> None:
    part = path.with_name(path.name + ".part")
    with open(part, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(part, path)


def attestations_for(warc_dir: Path, names: set[str]) -> list[Path]:
    """The attestation files (lists and tokens) of crawls that wrote any of these WARC files."""
    found: list[Path] = []
    for manifest in sorted(Path(warc_dir).glob(f"*{SUFFIX}")):
        try:
            listed = {name for _, name in parse_manifest(manifest.read_text(encoding="utf-8"))}
        except (OSError, UnicodeDecodeError):
            continue
        if listed & names:
            found.append(manifest)
            token = manifest.with_name(manifest.name.removesuffix(SUFFIX) + TOKEN_SUFFIX)
            if token.is_file():
                found.append(token)
    return found


def check_package_attestations(path: Path, package: zipfile.ZipFile, names: dict[str, zipfile.ZipInfo],
                               report: Any, tsa_roots: list | None) -> None:
    """Check each logs/<crawl>.sha256 (and its token) in a package against the packaged WARC files."""
    hashes = {entry["path"]: entry.get("hash") for entry in report.files}
    for name in sorted(names):
        if not (name.startswith("logs/") and name.endswith(SUFFIX)):
            continue
        data = package.read(name)
        attestation: dict[str, Any] = {"list": name, "files": [], "timestamp": None}
        for digest, warc in parse_manifest(data.decode("utf-8", "replace")):
            packaged = f"archive/{warc}"
            if packaged not in names:
                continue  # the crawl wrote other files too; this package does not hold them
            attestation["files"].append(warc)
            if hashes.get(packaged) != f"sha256:{digest}":
                report.problem(packaged, f"is not the file {name} attested at the end of its crawl "
                                         f"(sha256 {digest})")
        token_name = name.removesuffix(SUFFIX) + TOKEN_SUFFIX
        if token_name in names:
            try:
                stamp = check_response(package.read(token_name), hashlib.sha256(data).digest())
                attestation["timestamp"] = stamp.as_dict()
                if tsa_roots is not None:
                    attestation["timestamp"]["chain"] = check_chain(stamp, tsa_roots)
            except TimestampInvalid as error:
                report.problem(token_name, str(error))
        report.attestations.append(attestation)
