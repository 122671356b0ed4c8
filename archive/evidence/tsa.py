"""RFC 3161 trusted timestamps: asking an authority, and checking what it answered.

`request_timestamp(url, digest)` sends a TimeStampReq for a SHA-256 digest
(with a nonce, asking for the authority's certificate) and returns the
TimeStampResp bytes exactly as the authority sent them, after checking them
with `check_response`.  Those bytes are what a package keeps: `openssl ts
-verify -in FILE.tsr -data FILE -CAfile ROOT.pem` checks them without us.

`check_response(tsr, digest)` proves, with no network: the authority
granted the request; the token's message imprint is that digest; the token
is signed by the certificate it carries (RSA, RSA-PSS or ECDSA), whose
extended key usage is timeStamping and, when the token names it (ESS
signing-certificate), is the certificate it names.  It returns who stamped
it and when.  Whether that authority deserves trust is the reader's call:
`check_chain` checks the certificate against roots the reader chose.

asn1crypto parses and builds the ASN.1; `cryptography` checks signatures.
"""

from __future__ import annotations

import hashlib
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from archive.exits import Damaged, Unavailable, UsageProblem

MAX_RESPONSE = 1 << 20
TIMEOUT = 30.0
HASHES = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512, "sha1": hashes.SHA1}


class _Response(tsp.TimeStampResp):
    """TimeStampResp with its token optional, as in RFC 3161 (asn1crypto 1.5 requires it: refusals would not parse)."""

    _fields = [("status", tsp.PKIStatusInfo), ("time_stamp_token", cms.ContentInfo, {"optional": True})]


class TimestampInvalid(Damaged):
    """A timestamp response or token does not prove what it claims."""


@dataclass(frozen=True)
class Stamp:
    """What a checked token says: when, by whom, over which digest."""

    time: datetime
    authority: str  # the signing certificate's subject, e.g. "CN=Test TSA"
    certificate_sha256: str  # hex SHA-256 of that certificate's DER bytes
    serial: int
    policy: str
    digest: str  # "sha256:<hex>" the token covers
    certificates: tuple[x509.Certificate, ...]  # the signer first, then any others the token carries

    @property
    def signer(self) -> x509.Certificate:
        return self.certificates[0]

    def as_dict(self) -> dict[str, object]:
        return {"time": self.time.isoformat().replace("+00:00", "Z"), "authority": self.authority,
                "certificate_sha256": self.certificate_sha256, "serial": self.serial, "policy": self.policy,
                "digest": self.digest}


def request_timestamp(url: str, digest: bytes, *, timeout: float = TIMEOUT) -> bytes:
    """The authority's TimeStampResp (DER) for a SHA-256 `digest`, checked; raises Unavailable when none comes."""
    if not url.lower().startswith(("http://", "https://")):
        raise UsageProblem(f"--timestamp-url must be an http(s) URL, not {url!r}")
    if len(digest) != 32:
        raise ValueError("a SHA-256 digest is 32 bytes")
    nonce = secrets.randbits(63)
    query = tsp.TimeStampReq({
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": digest},
        "nonce": nonce,
        "cert_req": True,
    }).dump()
    request = urllib.request.Request(url, data=query, method="POST", headers={
        "Content-Type": "application/timestamp-query", "Accept": "application/timestamp-reply"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = response.read(MAX_RESPONSE + 1)
    except urllib.error.HTTPError as error:
        raise Unavailable(f"timestamp authority {url} answered HTTP {error.code}") from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", None) or error
        raise Unavailable(f"timestamp authority {url} is unreachable: {reason}") from error
    if len(answer) > MAX_RESPONSE:
        raise Unavailable(f"timestamp authority {url} sent more than {MAX_RESPONSE} bytes")
    try:
        check_response(answer, digest, nonce=nonce)
    except TimestampInvalid as error:
        raise Unavailable(f"timestamp authority {url} gave no usable timestamp: {error}") from error
    return answer


def check_response(tsr: bytes, digest: bytes, *, nonce: int | None = None) -> Stamp:
    """Check a TimeStampResp over `digest` (raw bytes of a SHA-256, or other, hash); raises TimestampInvalid."""
    try:
        response = _Response.load(tsr)
        status_info = response["status"]
        status = status_info["status"].native
    except Exception as error:  # asn1crypto raises several kinds for bad DER
        raise TimestampInvalid(f"not an RFC 3161 timestamp response ({_first_line(error)})") from None
    if status not in ("granted", "granted_with_mods"):
        text = status_info["status_string"].native if status_info["status_string"] else None
        fail = status_info["fail_info"].native if status_info["fail_info"] else None
        raise TimestampInvalid(f"the authority refused: {status}" + (f" ({text})" if text else "")
                               + (f" {sorted(fail)}" if fail else ""))
    try:
        token = response["time_stamp_token"]
        present = token.native is not None
    except Exception as error:
        raise TimestampInvalid(f"the response's token cannot be read ({_first_line(error)})") from None
    if not present:
        raise TimestampInvalid("the response holds no timestamp token")
    return check_token(token, digest, nonce=nonce)


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def check_token(token: cms.ContentInfo, digest: bytes, *, nonce: int | None = None) -> Stamp:
    """Check a TimeStampToken (CMS SignedData over a TSTInfo); raises TimestampInvalid."""
    try:
        signed = token["content"]
        encapsulated = signed["encap_content_info"]
        if encapsulated["content_type"].native != "tst_info":
            raise TimestampInvalid("the token does not hold a TSTInfo")
        content = encapsulated["content"]
        tst_info = content.parsed
        imprint = tst_info["message_imprint"]
        imprint_algorithm = imprint["hash_algorithm"]["algorithm"].native
        imprint_value = imprint["hashed_message"].native
        signer_info = signed["signer_infos"][0]
        certificates = [choice.chosen for choice in signed["certificates"] or [] if choice.name == "certificate"]
    except TimestampInvalid:
        raise
    except Exception as error:
        raise TimestampInvalid(f"the timestamp token cannot be read ({_first_line(error)})") from None
    if imprint_value != digest:
        raise TimestampInvalid(f"the token covers {imprint_algorithm}:{imprint_value.hex()}, "
                               f"not {digest.hex()}")
    if nonce is not None and tst_info["nonce"].native != nonce:
        raise TimestampInvalid("the token's nonce is not the one asked for")
    signer = _signer_certificate(signer_info, certificates)
    _check_signature(signer_info, content.contents, signer)
    certificate = x509.load_der_x509_certificate(signer.dump())
    _check_usage(certificate)
    others = [x509.load_der_x509_certificate(c.dump()) for c in certificates if c is not signer]
    return Stamp(
        time=tst_info["gen_time"].native,
        authority=certificate.subject.rfc4514_string(),
        certificate_sha256=certificate.fingerprint(hashes.SHA256()).hex(),
        serial=tst_info["serial_number"].native,
        policy=tst_info["policy"].native,
        digest=f"{imprint_algorithm}:{imprint_value.hex()}",
        certificates=(certificate, *others),
    )


def _signer_certificate(signer_info: cms.SignerInfo, certificates: list) -> object:
    sid = signer_info["sid"]
    for certificate in certificates:
        if sid.name == "issuer_and_serial_number":
            if (certificate.issuer == sid.chosen["issuer"]
                    and certificate.serial_number == sid.chosen["serial_number"].native):
                return certificate
        elif certificate.key_identifier == sid.chosen.native:
            return certificate
    raise TimestampInvalid("the token does not carry its signer's certificate (ask the authority for it, "
                           "or check it with openssl ts -verify -untrusted TSA.pem)")


def _attribute(signed_attrs, name: str):
    for attribute in signed_attrs or []:
        if attribute["type"].native == name:
            return attribute["values"][0]
    return None


def _check_signature(signer_info: cms.SignerInfo, content: bytes, signer) -> None:
    digest_name = signer_info["digest_algorithm"]["algorithm"].native
    if digest_name not in HASHES:
        raise TimestampInvalid(f"the token uses digest {digest_name}, which this check does not know")
    signed_attrs = signer_info["signed_attrs"]
    if not signed_attrs:
        raise TimestampInvalid("the token has no signed attributes (RFC 3161 requires them)")
    message_digest = _attribute(signed_attrs, "message_digest")
    if message_digest is None or message_digest.native != hashlib.new(digest_name, content).digest():
        raise TimestampInvalid("the token's message-digest attribute does not match its TSTInfo")
    _check_ess(signed_attrs, signer)
    # The signature covers the attributes DER-encoded as a SET (tag 0x31), not as the [0] field.
    to_verify = b"\x31" + signed_attrs.dump()[1:]
    signature = signer_info["signature"].native
    public_key = x509.load_der_x509_certificate(signer.dump()).public_key()
    algorithm = signer_info["signature_algorithm"]
    try:
        kind = algorithm.signature_algo
        hash_class = HASHES[digest_name]
        if isinstance(public_key, rsa.RSAPublicKey) and kind == "rsassa_pss":
            params = algorithm["parameters"]
            public_key.verify(signature, to_verify, padding.PSS(
                mgf=padding.MGF1(HASHES[params["mask_gen_algorithm"]["parameters"]["algorithm"].native]()),
                salt_length=params["salt_length"].native), HASHES[params["hash_algorithm"]["algorithm"].native]())
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, to_verify, padding.PKCS1v15(), hash_class())
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, to_verify, ec.ECDSA(hash_class()))
        else:
            raise TimestampInvalid(f"the authority's key type ({type(public_key).__name__}) is not supported")
    except InvalidSignature:
        raise TimestampInvalid("the token's signature does not verify with the authority's certificate") from None
    except (ValueError, KeyError) as error:
        raise TimestampInvalid(f"the token's signature cannot be checked ({error})") from None


def _check_ess(signed_attrs, signer) -> None:
    """When the token names its signing certificate (ESS), it must be the one that signed."""
    for name, default in (("signing_certificate_v2", "sha256"), ("signing_certificate", "sha1")):
        value = _attribute(signed_attrs, name)
        if value is None:
            continue
        first = value["certs"][0]
        algorithm = default
        if name == "signing_certificate_v2" and first["hash_algorithm"]:
            algorithm = first["hash_algorithm"]["algorithm"].native
        if first["cert_hash"].native != hashlib.new(algorithm, signer.dump()).digest():
            raise TimestampInvalid("the token names a different signing certificate than the one that signed it")


def _check_usage(certificate: x509.Certificate) -> None:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usage = []
    if ExtendedKeyUsageOID.TIME_STAMPING not in usage:
        raise TimestampInvalid(f"{certificate.subject.rfc4514_string()} is not a timestamping certificate "
                               "(no timeStamping extended key usage)")


def load_roots(path: Path) -> list[x509.Certificate]:
    """Certificates from a PEM file (the roots a reader trusts)."""
    try:
        roots = x509.load_pem_x509_certificates(Path(path).read_bytes())
    except (OSError, ValueError) as error:
        raise UsageProblem(f"cannot read certificates from {path}: {error}") from error
    return roots


def check_chain(stamp: Stamp, roots: list[x509.Certificate], *, depth: int = 6) -> list[str]:
    """The path from the authority's certificate up to one of `roots`, as subjects; raises TimestampInvalid.

    Each certificate must be signed by the next and valid at the stamp's time.
    Intermediate certificates may come from the token or the roots file.
    """
    pool = list(stamp.certificates[1:]) + list(roots)
    trusted = {root.fingerprint(hashes.SHA256()) for root in roots}
    path = [stamp.signer]
    current = stamp.signer
    for _ in range(depth):
        if not current.not_valid_before_utc <= stamp.time <= current.not_valid_after_utc:
            raise TimestampInvalid(f"{current.subject.rfc4514_string()} was not valid at {stamp.time}")
        if current.fingerprint(hashes.SHA256()) in trusted:
            return [c.subject.rfc4514_string() for c in path]
        if current.issuer == current.subject and _issued_by(current, current):
            raise TimestampInvalid(f"the authority's certificate leads to {current.subject.rfc4514_string()} "
                                   f"(sha256 {current.fingerprint(hashes.SHA256()).hex()}), "
                                   "which is not among the trusted roots")
        issuer = next((candidate for candidate in pool if candidate.subject == current.issuer
                       and _issued_by(current, candidate)), None)
        if issuer is None:
            raise TimestampInvalid(f"{current.subject.rfc4514_string()} does not lead to a trusted root "
                                   f"(its issuer {current.issuer.rfc4514_string()} is not among them)")
        path.append(issuer)
        current = issuer
    raise TimestampInvalid("the certificate chain is too long")


def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def certificates_pem(stamp: Stamp) -> str:
    """The token's certificates as PEM (the authority's first), for `openssl ts -verify -untrusted`."""
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in stamp.certificates)


def common_name(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else certificate.subject.rfc4514_string()
