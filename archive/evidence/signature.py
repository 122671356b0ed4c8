"""Checking a WACZ `signedData` (either variant of the WACZ signing specification).

* anonymous: `publicKey` (base64 SubjectPublicKeyInfo) and `signature`, an
  ECDSA signature with SHA-256 over the text of `hash`, as r||s (WebCrypto,
  what ReplayWeb.page makes and checks) or DER (what authsign makes);
* domain: `domainCert` (PEM chain, leaf first), `domain`, `signature` (DER),
  `timeSignature` (an RFC 3161 response over the text of `signature`) and
  `timestampCert` (the authority's PEM chain).

`check_signed_data` returns what the signature proves, or raises
`SignatureInvalid` saying why it proves nothing.  Trust in a key or a
certificate chain is not decided here: the caller compares fingerprints
with what it expects.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from archive.evidence.keys import der_signature, fingerprint_of, public_der
from archive.evidence.tsa import Stamp, TimestampInvalid, check_response, common_name
from archive.exits import Damaged

# authsign's limits (its CERT_DURATION and STAMP_DURATION): a domain signature
# must be made within this long of the certificate's start, and timestamped
# within this long after it was made.
CERT_WINDOW = timedelta(days=7)
STAMP_WINDOW = timedelta(minutes=10)


class SignatureInvalid(Damaged):
    """A signedData whose signature, key or certificates do not hold."""


@dataclass
class SignatureFacts:
    """What a valid signedData proves."""

    variant: str  # "anonymous" | "domain"
    key_fingerprint: str  # sha256:<hex> of the signing public key (SubjectPublicKeyInfo DER)
    key_type: str
    created: str | None
    software: str | None
    domain: str | None = None
    chain: list[dict[str, str]] = field(default_factory=list)  # domain variant: subject and sha256 per certificate
    time_signature: Stamp | None = None

    def as_dict(self) -> dict[str, object]:
        return {"variant": self.variant, "key_fingerprint": self.key_fingerprint, "key_type": self.key_type,
                "created": self.created, "software": self.software, "domain": self.domain, "chain": self.chain,
                "time_signature": self.time_signature.as_dict() if self.time_signature else None}


def key_description(key: ec.EllipticCurvePublicKey) -> str:
    return f"ECDSA {key.curve.name}"


def check_signed_data(signed: dict, expected_hash: str) -> SignatureFacts:
    """Check `signed` (a signedData) signs `expected_hash` ("sha256:<hex>"); raises SignatureInvalid."""
    if not isinstance(signed, dict):
        raise SignatureInvalid("signedData is not an object")
    if signed.get("hash") != expected_hash:
        raise SignatureInvalid(f"signedData signs {signed.get('hash')!r}, not this package's {expected_hash}")
    signature_text = signed.get("signature")
    if not isinstance(signature_text, str):
        raise SignatureInvalid("signedData has no signature")
    try:
        signature = base64.b64decode(signature_text, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureInvalid("the signature is not base64") from None
    if signed.get("domainCert"):
        return _domain(signed, expected_hash, signature)
    if signed.get("publicKey"):
        return _anonymous(signed, expected_hash, signature)
    raise SignatureInvalid("signedData has neither a publicKey nor a domainCert")


def _verify(key: object, signature: bytes, text: str) -> None:
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise SignatureInvalid(f"the signing key is {type(key).__name__}, not an ECDSA key")
    size = (key.curve.key_size + 7) // 8
    candidates = [signature]
    if len(signature) == 2 * size:  # r||s, as WebCrypto signs
        candidates.insert(0, der_signature(signature))
    for candidate in candidates:
        try:
            key.verify(candidate, text.encode("utf-8"), ec.ECDSA(hashes.SHA256()))
            return
        except InvalidSignature:
            continue
    raise SignatureInvalid("the signature does not verify with the key the package names: the package was "
                           "changed after signing, or signed with another key")


def _anonymous(signed: dict, expected_hash: str, signature: bytes) -> SignatureFacts:
    try:
        der = base64.b64decode(signed["publicKey"], validate=True)
        key = serialization.load_der_public_key(der)
    except (binascii.Error, ValueError, TypeError):
        raise SignatureInvalid("publicKey is not a base64 SubjectPublicKeyInfo") from None
    _verify(key, signature, expected_hash)
    return SignatureFacts(variant="anonymous", key_fingerprint=fingerprint_of(public_der(key)),
                          key_type=key_description(key), created=signed.get("created"),
                          software=signed.get("software"))


def pem_chain(text: str) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(text.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as error:
        raise SignatureInvalid(f"a certificate chain cannot be read ({error})") from None


def chain_problem(chain: list[x509.Certificate]) -> str | None:
    """Why `chain` (leaf first) is not a chain, each certificate issued by the next; None if it is."""
    for certificate, issuer in zip(chain, chain[1:]):
        try:
            certificate.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature):
            return (f"{certificate.subject.rfc4514_string()} is not issued by the next certificate "
                    f"({issuer.subject.rfc4514_string()})")
    return None


def describe_chain(chain: list[x509.Certificate]) -> list[dict[str, str]]:
    return [{"subject": c.subject.rfc4514_string(), "sha256": c.fingerprint(hashes.SHA256()).hex()} for c in chain]


def _domain(signed: dict, expected_hash: str, signature: bytes) -> SignatureFacts:
    chain = pem_chain(signed["domainCert"])
    if not chain:
        raise SignatureInvalid("domainCert holds no certificate")
    if problem := chain_problem(chain):
        raise SignatureInvalid(f"domainCert: {problem}")
    leaf = chain[0]
    key = leaf.public_key()
    _verify(key, signature, expected_hash)
    domain = common_name(leaf)
    if signed.get("domain") != domain:
        raise SignatureInvalid(f"the certificate is for {domain!r}, the package claims {signed.get('domain')!r}")
    created = _parse_time(signed.get("created"))
    if created is None:
        raise SignatureInvalid("signedData has no readable created time")
    if not leaf.not_valid_before_utc <= created <= leaf.not_valid_before_utc + CERT_WINDOW:
        raise SignatureInvalid(f"signed at {created}, not within {CERT_WINDOW.days} days of the certificate's "
                               f"start ({leaf.not_valid_before_utc})")
    try:
        response = base64.b64decode(signed.get("timeSignature") or "", validate=True)
        stamp = check_response(response, hashlib.sha256(signed["signature"].encode("ascii")).digest())
    except (binascii.Error, ValueError):
        raise SignatureInvalid("timeSignature is not base64") from None
    except TimestampInvalid as error:
        raise SignatureInvalid(f"timeSignature: {error}") from None
    stamp_chain = pem_chain(signed.get("timestampCert") or "")
    if not stamp_chain or stamp_chain[0].fingerprint(hashes.SHA256()) != stamp.signer.fingerprint(hashes.SHA256()):
        raise SignatureInvalid("timestampCert does not start with the certificate that signed timeSignature")
    if problem := chain_problem(stamp_chain):
        raise SignatureInvalid(f"timestampCert: {problem}")
    if not created <= stamp.time <= created + STAMP_WINDOW:
        raise SignatureInvalid(f"created {created} is not within {STAMP_WINDOW} before the timestamp {stamp.time}")
    return SignatureFacts(variant="domain", key_fingerprint=fingerprint_of(public_der(key)),
                          key_type=key_description(key), created=signed.get("created"),
                          software=signed.get("software"), domain=domain, chain=describe_chain(chain),
                          time_signature=stamp)


def _parse_time(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
