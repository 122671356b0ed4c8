"""The archive's signing key: where it lives, how it is made, what others see of it.

The key is an ECDSA P-384 key (the curve ReplayWeb.page expects for an
anonymous WACZ signature), kept unencrypted as PKCS#8 PEM in
`DATA/keys/signing-key.pem`: created on first use, mode 0600 in a 0700
folder, never written into any package.  A key given with `--signing-key
FILE` is held to the same rule.  A key file that group or others can read is
refused, not repaired: someone may already have copied it, and only its
owner can judge that (`chmod 600 FILE` says they have).

What others see is the public key (SubjectPublicKeyInfo, DER) and its
fingerprint, `sha256:` + the hex SHA-256 of those DER bytes, which anyone
can recompute: `openssl pkey -pubin -outform DER | sha256sum`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from archive.exits import Failed, NotFound, UsageProblem

KEYS_DIR = "keys"
KEY_FILE = "signing-key.pem"
CURVE = ec.SECP384R1
CURVE_NAME = "P-384"
MAKE_ONE = "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out key.pem && chmod 600 key.pem"


def fingerprint_of(public_der: bytes) -> str:
    """`sha256:<hex>` of a public key's SubjectPublicKeyInfo DER bytes."""
    return "sha256:" + hashlib.sha256(public_der).hexdigest()


def public_der(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True)
class SigningKey:
    """A private key loaded for signing, with the file it came from."""

    private: ec.EllipticCurvePrivateKey
    path: Path

    @property
    def public_der(self) -> bytes:
        return public_der(self.private.public_key())

    @property
    def public_base64(self) -> str:
        """The public key as a WACZ `publicKey`: base64 of its SubjectPublicKeyInfo DER."""
        return base64.b64encode(self.public_der).decode("ascii")

    @property
    def public_pem(self) -> str:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.public_der)

    def sign(self, text: str) -> str:
        """ECDSA with SHA-256 over the UTF-8 bytes of `text`, as base64 of r||s.

        r||s (IEEE P1363, each half the curve's size) is what WebCrypto, and
        so ReplayWeb.page, verifies; `openssl` wants DER (see `der_signature`).
        """
        der = self.private.sign(text.encode("utf-8"), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        size = (self.private.curve.key_size + 7) // 8
        return base64.b64encode(r.to_bytes(size, "big") + s.to_bytes(size, "big")).decode("ascii")

    def sign_der(self, text: str) -> str:
        """ECDSA with SHA-256 over the UTF-8 bytes of `text`, as base64 of DER (what authsign verifies)."""
        der = self.private.sign(text.encode("utf-8"), ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(der).decode("ascii")


def der_signature(raw: bytes) -> bytes:
    """An r||s signature as the DER SEQUENCE that openssl and `cryptography` verify."""
    if not raw or len(raw) % 2:
        raise ValueError("an r||s signature has two halves of equal length")
    half = len(raw) // 2
    return encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))


def archive_key_path(data: Path) -> Path:
    return Path(data) / KEYS_DIR / KEY_FILE


def check_private(path: Path, *, folder: bool = False) -> None:
    """Refuse a key file (or key folder) that anyone but its owner can read or enter."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as error:
        raise UsageProblem(f"cannot read {path}: {error.strerror or error}") from error
    if mode & 0o077:
        wanted = "700" if folder else "600"
        raise UsageProblem(f"{path} has mode {mode:04o}: a signing key must be private to its owner "
                           f"(check nobody copied it, then: chmod {wanted} {path})")


def load_key(path: Path, *, any_curve: bool = False) -> SigningKey:
    """A P-384 private key (any ECDSA key with `any_curve`) from a PEM file that only its owner can read."""
    path = Path(path)
    if not path.is_file():
        raise UsageProblem(f"no signing key at {path}")
    check_private(path)
    try:
        pem = path.read_bytes()
    except OSError as error:  # a key we may not read (another owner, an ACL) is there, just not for us
        raise UsageProblem(f"cannot read the signing key {path}: {error.strerror or error}") from error
    try:
        private = serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise UsageProblem(f"{path} is encrypted with a passphrase; give an unencrypted key kept at mode 0600") \
            from None
    except ValueError as error:
        raise UsageProblem(f"{path} is not a PEM private key: {error}") from error
    if isinstance(private, ec.EllipticCurvePrivateKey) and any_curve:
        return SigningKey(private, path)
    if not isinstance(private, ec.EllipticCurvePrivateKey) or not isinstance(private.curve, CURVE):
        raise UsageProblem(f"{path} is not an ECDSA {CURVE_NAME} key, the only kind ReplayWeb.page verifies "
                           f"(make one: {MAKE_ONE})")
    return SigningKey(private, path)


def archive_key(data: Path, *, create: bool = True) -> SigningKey:
    """The data folder's own key, made on first use when `create` (raises NotFound otherwise)."""
    path = archive_key_path(data)
    folder = path.parent
    if not path.exists():
        if not Path(data).is_dir():
            raise UsageProblem(f"no data folder at {data}")
        if not create:
            raise NotFound(f"no signing key yet at {path} (portal-archive keys --create makes one)")
        _create(folder, path)
    check_private(folder, folder=True)
    return load_key(path)


def _create(folder: Path, path: Path) -> None:
    """Write a new key without a moment at a looser mode, and never over an existing one."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        check_private(folder, folder=True)
        pem = ec.generate_private_key(CURVE()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        # A name of its own per call: `serve` answers proof requests on several threads of one process.
        fd, name = tempfile.mkstemp(prefix=f".{KEY_FILE}.", suffix=".part", dir=folder)  # mode 0600
        temporary = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(temporary, path)  # fails if another process made the key meanwhile: keep theirs
            except FileExistsError:
                pass
        finally:
            temporary.unlink(missing_ok=True)
    except OSError as error:
        raise Failed(f"cannot create a signing key in {folder}: {error.strerror or error}") from error
