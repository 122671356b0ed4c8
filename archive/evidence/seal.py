"""Sealing a WACZ package: its `datapackage-digest.json` signed and timestamped.

py-wacz writes `datapackage.json` (every file's sha256) and
`datapackage-digest.json` (the sha256 of `datapackage.json`).  Sealing
rewrites the digest file, as the WACZ signing specification (wacz-auth 0.1.0)
lays it out:

    {"path": "datapackage.json", "hash": "sha256:<hex>",
     "signedData": {"hash", "created", "software", "version", "signature", "publicKey"},
     "timestamp": {"authority", "of", "hash", "response"}}

`signedData` is the anonymous variant: `signature` is ECDSA P-384 with
SHA-256 over the text of `hash`, as base64 of r||s; `publicKey` is base64
of the key's SubjectPublicKeyInfo DER; `created` repeats datapackage.json's
own `created` (py-wacz's validator requires that).  Given a certificate
chain for the key (`--signing-cert`), it is the domain variant instead, the
one authsign (`wacz validate --verify-auth`) checks: `signature` in DER,
`domain`, `domainCert`, and `timeSignature`, an RFC 3161 response over the
text of `signature`, with `timestampCert`, the authority's chain.  `timestamp` is ours:
`response` is the authority's RFC 3161 TimeStampResp, base64, whose message
imprint is the SHA-256 of `datapackage.json`'s bytes, so `openssl ts -verify
-data datapackage.json` checks it.  Either part may be absent.

A zip entry cannot be rewritten in place, so the package is copied entry by
entry (streamed, each entry's CRC checked on the way) into a new file that
replaces it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import zipfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from archive.evidence.keys import SigningKey
from archive.evidence.tsa import request_timestamp
from archive.exits import Damaged, UsageProblem

DATAPACKAGE = "datapackage.json"
DIGEST_FILE = "datapackage-digest.json"
SIGNING_SPEC_VERSION = "0.1.0"  # the WACZ signing and verification specification this follows
COPY_CHUNK = 1 << 20


def software() -> str:
    try:
        return f"portal-archive {version('portal-archive')}"
    except PackageNotFoundError:
        return "portal-archive"


@dataclass(frozen=True)
class Evidence:
    """How to seal a package: sign with `key` (None: unsigned), timestamp at `timestamp_url` (None: none)."""

    key: SigningKey | None = None
    timestamp_url: str | None = None
    timeout: float = 30.0
    certificate_chain: str | None = None  # PEM, leaf first: sign with the domain variant

    @property
    def wanted(self) -> bool:
        return self.key is not None or self.timestamp_url is not None


def digest_document(datapackage: bytes, evidence: Evidence) -> dict[str, Any]:
    """The datapackage-digest.json content for these datapackage.json bytes."""
    raw = hashlib.sha256(datapackage).digest()
    text = "sha256:" + raw.hex()
    document: dict[str, Any] = {"path": DATAPACKAGE, "hash": text}
    if evidence.key is not None:
        try:
            created = json.loads(datapackage)["created"]
        except (ValueError, KeyError, TypeError) as error:
            raise Damaged(f"{DATAPACKAGE} has no 'created' time to sign ({error})") from error
        signed = {"hash": text, "created": created, "software": software(), "version": SIGNING_SPEC_VERSION}
        if evidence.certificate_chain:
            signed.update(_domain_signature(text, evidence))
        else:
            signed.update({"signature": evidence.key.sign(text), "publicKey": evidence.key.public_base64})
        document["signedData"] = signed
    if evidence.timestamp_url is not None:
        response = request_timestamp(evidence.timestamp_url, raw, timeout=evidence.timeout)
        document["timestamp"] = {
            "authority": evidence.timestamp_url,
            "of": DATAPACKAGE,
            "hash": text,
            "response": base64.b64encode(response).decode("ascii"),
        }
    return document


def _domain_signature(text: str, evidence: Evidence) -> dict[str, str]:
    """The domain variant's fields: signature (DER), domain, domainCert, timeSignature, timestampCert."""
    from archive.evidence.signature import pem_chain
    from archive.evidence.tsa import certificates_pem, check_response, common_name

    assert evidence.key is not None and evidence.certificate_chain and evidence.timestamp_url
    signature = evidence.key.sign_der(text)
    response = request_timestamp(evidence.timestamp_url, hashlib.sha256(signature.encode("ascii")).digest(),
                                 timeout=evidence.timeout)
    stamp = check_response(response, hashlib.sha256(signature.encode("ascii")).digest())
    leaf = pem_chain(evidence.certificate_chain)[0]
    return {"signature": signature, "domain": common_name(leaf), "domainCert": evidence.certificate_chain,
            "timeSignature": base64.b64encode(response).decode("ascii"), "timestampCert": certificates_pem(stamp)}


def seal_package(path: Path, evidence: Evidence) -> dict[str, Any]:
    """Sign and/or timestamp the WACZ at `path` in place; returns the new digest document."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as package:
            datapackage = package.read(DATAPACKAGE)
    except (zipfile.BadZipFile, KeyError) as error:
        raise Damaged(f"{path} is not a WACZ package with a {DATAPACKAGE}: {error}") from error
    document = digest_document(datapackage, evidence)
    replace_entry(path, DIGEST_FILE, json.dumps(document, indent=2).encode("utf-8"))
    return document


def replace_entry(path: Path, name: str, data: bytes) -> None:
    """Rewrite the zip at `path` with entry `name` holding `data` (added last), the rest copied as they were."""
    replace_entries(path, {name: data})


def replace_entries(path: Path, entries: dict[str, bytes], *, stored: frozenset[str] = frozenset()) -> None:
    """Rewrite the zip at `path` with each of `entries` (name -> data) added last, in that order, deflated
    unless named in `stored` (a WACZ's index.cdx.gz is read by range); the rest copied as they were."""
    temporary = path.with_name(path.name + ".sealing")
    try:
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(temporary, "w", allowZip64=True) as target:
            for info in source.infolist():
                if info.filename in entries:
                    continue
                copy = zipfile.ZipInfo(info.filename, info.date_time)
                copy.compress_type = info.compress_type
                copy.external_attr = info.external_attr
                copy.comment = info.comment
                with source.open(info) as reading, target.open(copy, "w", force_zip64=info.file_size > 1 << 31) \
                        as writing:
                    shutil.copyfileobj(reading, writing, COPY_CHUNK)
            for name, data in entries.items():
                entry = zipfile.ZipInfo(name, _now())
                entry.compress_type = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
                target.writestr(entry, data)
        os.replace(temporary, path)
    except zipfile.BadZipFile as error:
        raise Damaged(f"{path}: {error}") from error
    finally:
        temporary.unlink(missing_ok=True)


def _now() -> tuple[int, int, int, int, int, int]:
    import time

    return time.gmtime()[:6]


def choose_evidence(data: Path, *, sign: bool, key_file: Path | None, timestamp_url: str | None,
                    cert_file: Path | None = None) -> Evidence:
    """The Evidence the command-line options ask for: a key file implies signing; the archive's key otherwise.

    `cert_file` (a PEM chain for the key given with `key_file`) asks for the
    domain variant; it needs `timestamp_url`, and the certificate must have
    started within the last 7 days, or authsign's verifier refuses it.
    """
    from archive.evidence.keys import archive_key, load_key

    if cert_file is None:
        key = load_key(key_file) if key_file is not None else archive_key(data) if sign else None
        return Evidence(key=key, timestamp_url=timestamp_url or None)
    if key_file is None or not timestamp_url:
        raise UsageProblem("--signing-cert needs the certificate's own key (--signing-key) and --timestamp-url")
    key = load_key(key_file, any_curve=True)
    chain = _check_certificate(cert_file, key)
    return Evidence(key=key, timestamp_url=timestamp_url, certificate_chain=chain)


def _check_certificate(cert_file: Path, key: SigningKey) -> str:
    """The PEM chain in `cert_file`, checked against the key and authsign's limits (raises UsageProblem)."""
    from datetime import datetime, timezone

    from archive.evidence.keys import public_der
    from archive.evidence.signature import CERT_WINDOW, SignatureInvalid, chain_problem, pem_chain

    try:
        text = Path(cert_file).read_text(encoding="ascii")
        chain = pem_chain(text)
    except (OSError, UnicodeDecodeError, SignatureInvalid) as error:
        raise UsageProblem(f"--signing-cert {cert_file}: not a PEM certificate chain ({error})") from error
    if not chain:
        raise UsageProblem(f"--signing-cert {cert_file} holds no certificate")
    if public_der(chain[0].public_key()) != key.public_der:  # type: ignore[arg-type]
        raise UsageProblem(f"--signing-cert {cert_file}: its first certificate is not for the key in {key.path}")
    if problem := chain_problem(chain):
        raise UsageProblem(f"--signing-cert {cert_file}: {problem} (give the chain leaf first, up to its root)")
    now = datetime.now(timezone.utc)
    start = chain[0].not_valid_before_utc
    if not start <= now <= start + CERT_WINDOW:
        raise UsageProblem(f"--signing-cert {cert_file}: authsign accepts a domain signature only within "
                           f"{CERT_WINDOW.days} days of the certificate's start ({start:%Y-%m-%d}); "
                           "sign with a fresh certificate, or without --signing-cert")
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in chain)
