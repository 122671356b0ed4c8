"""Evidence pieces on their own: the signing key, RFC 3161 timestamps, WACZ signatures."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import subprocess

import pytest

from archive.evidence import keys as keys_module
from archive.evidence.keys import archive_key, archive_key_path, der_signature, load_key
from archive.evidence.signature import SignatureInvalid, check_signed_data
from archive.evidence.tsa import TimestampInvalid, check_chain, check_response, load_roots, request_timestamp
from archive.exits import ExitCode, NotFound, Unavailable, UsageProblem
from tests.conftest import cli
from tests.timestamp_authority import TestAuthority, free_port

DIGEST = hashlib.sha256(b"datapackage.json bytes").digest()


@pytest.fixture(scope="module")
def authority(tmp_path_factory):
    with TestAuthority(tmp_path_factory.mktemp("tsa")) as running:
        yield running


@pytest.fixture(scope="module")
def ec_authority(tmp_path_factory):
    with TestAuthority(tmp_path_factory.mktemp("tsa-ec"), key="ec") as running:
        yield running


# -- the signing key ---------------------------------------------------------

def test_key_is_made_on_first_use_private_and_kept(tmp_path):
    key = archive_key(tmp_path)
    path = archive_key_path(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert archive_key(tmp_path).fingerprint == key.fingerprint  # the same key next time, not a new one
    openssl = subprocess.run(["openssl", "pkey", "-in", str(path), "-pubout", "-outform", "DER"],
                             capture_output=True, check=True).stdout
    assert key.fingerprint == "sha256:" + hashlib.sha256(openssl).hexdigest()


def test_no_key_is_made_when_not_asked(tmp_path):
    with pytest.raises(NotFound):
        archive_key(tmp_path, create=False)
    assert not (tmp_path / "keys").exists()


@pytest.mark.parametrize("target, mode", [("file", 0o644), ("file", 0o640), ("folder", 0o755)])
def test_a_key_others_can_read_is_refused(tmp_path, target, mode):
    archive_key(tmp_path)
    path = archive_key_path(tmp_path) if target == "file" else archive_key_path(tmp_path).parent
    os.chmod(path, mode)
    with pytest.raises(UsageProblem, match=f"chmod {'600' if target == 'file' else '700'}"):
        archive_key(tmp_path)


def test_keys_command_shows_creates_and_refuses(tmp_path):
    assert cli("keys", "--data", str(tmp_path)).exit_code == ExitCode.NOT_FOUND
    shown = cli("keys", "--data", str(tmp_path), "--create", "--json")
    assert shown.exit_code == 0, shown.output
    info = json.loads(shown.output)
    assert info["fingerprint"] == archive_key(tmp_path).fingerprint
    assert "BEGIN PUBLIC KEY" in info["public_key_pem"] and "PRIVATE" not in shown.output
    os.chmod(archive_key_path(tmp_path), 0o644)
    refused = cli("keys", "--data", str(tmp_path))
    assert refused.exit_code == ExitCode.USAGE and "chmod 600" in refused.output


def test_a_key_that_cannot_be_read_is_not_called_a_non_key(tmp_path, monkeypatch):
    """A signing key owned by another user was reported as 'not a PEM private key: Permission denied'."""
    path = archive_key(tmp_path).path

    def refused(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(keys_module.Path, "read_bytes", refused)
    result = cli("keys", "--data", str(tmp_path))
    assert result.exit_code == ExitCode.USAGE
    assert f"cannot read the signing key {path}: Permission denied" in result.output
    assert "not a PEM" not in result.output


def test_given_key_must_be_p384_unencrypted_and_private(tmp_path):
    other = tmp_path / "p256.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
                    str(other)], check=True, capture_output=True)
    os.chmod(other, 0o600)
    with pytest.raises(UsageProblem, match="P-384"):
        load_key(other)
    assert load_key(other, any_curve=True).private.curve.name == "secp256r1"
    locked = tmp_path / "locked.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-aes256",
                    "-pass", "pass:secret", "-out", str(locked)], check=True, capture_output=True)
    os.chmod(locked, 0o600)
    with pytest.raises(UsageProblem, match="passphrase"):
        load_key(locked)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    os.chmod(garbage, 0o600)
    with pytest.raises(UsageProblem, match="not a PEM private key"):
        load_key(garbage)


def test_a_second_process_making_the_key_keeps_the_first(tmp_path, monkeypatch):
    first = archive_key(tmp_path)
    # Another process wins the race between our existence check and our link: its key stays.
    monkeypatch.setattr(keys_module.Path, "exists", lambda self: False)
    assert archive_key(tmp_path).fingerprint == first.fingerprint


def test_threads_making_the_key_at_once_all_get_the_one_key(tmp_path):
    """`serve` answers proof requests on several threads: they shared one temporary name per process, and
    all but one failed ("File exists", HTTP 500)."""
    from concurrent.futures import ThreadPoolExecutor

    for attempt in range(5):
        data = tmp_path / str(attempt)
        data.mkdir()
        with ThreadPoolExecutor(8) as pool:
            keys = list(pool.map(lambda _: archive_key(data).fingerprint, range(8)))
        assert len(set(keys)) == 1
        assert [p.name for p in (data / "keys").iterdir()] == ["signing-key.pem"]


# -- timestamps ---------------------------------------------------------------

@pytest.mark.parametrize("which", ["authority", "ec_authority"])
def test_timestamp_is_checked_offline_and_by_openssl(which, request, tmp_path):
    tsa = request.getfixturevalue(which)
    response = request_timestamp(tsa.url, DIGEST)
    stamp = check_response(response, DIGEST)
    assert stamp.authority == "CN=Test TSA" and stamp.digest == "sha256:" + DIGEST.hex()
    assert check_chain(stamp, load_roots(tsa.ca_file)) == ["CN=Test TSA", "CN=Test TSA Root CA"]
    (tmp_path / "data").write_bytes(b"datapackage.json bytes")
    (tmp_path / "token.tsr").write_bytes(response)
    verified = subprocess.run(["openssl", "ts", "-verify", "-data", str(tmp_path / "data"), "-in",
                               str(tmp_path / "token.tsr"), "-CAfile", str(tsa.ca_file)],
                              capture_output=True, text=True)
    assert "Verification: OK" in verified.stdout, verified.stderr


def test_timestamp_over_other_data_or_changed_is_rejected(authority):
    response = request_timestamp(authority.url, DIGEST)
    with pytest.raises(TimestampInvalid, match="covers"):
        check_response(response, hashlib.sha256(b"something else").digest())
    changed = bytearray(response)
    changed[-10] ^= 0x01  # inside the signature
    with pytest.raises(TimestampInvalid):
        check_response(bytes(changed), DIGEST)
    with pytest.raises(TimestampInvalid, match="not an RFC 3161"):
        check_response(b"\x00" * 40, DIGEST)


def test_timestamp_chain_must_reach_the_given_root(authority, tmp_path):
    stamp = check_response(request_timestamp(authority.url, DIGEST), DIGEST)
    with TestAuthority(tmp_path / "other") as other:
        with pytest.raises(TimestampInvalid, match="not among the trusted roots"):
            check_chain(stamp, load_roots(other.ca_file))


@pytest.mark.parametrize("mode, message", [("error", "HTTP 500"), ("garbage", "not an RFC 3161"),
                                           ("reject", "refused: rejection")])
def test_authority_that_gives_no_timestamp_is_unavailable(tmp_path, mode, message):
    with TestAuthority(tmp_path, mode=mode) as broken:
        with pytest.raises(Unavailable, match=message):
            request_timestamp(broken.url, DIGEST)


def test_unreachable_or_slow_authority_is_unavailable(tmp_path):
    with pytest.raises(Unavailable, match="unreachable"):
        request_timestamp(f"http://127.0.0.1:{free_port()}/tsa", DIGEST, timeout=5)
    with TestAuthority(tmp_path, mode="slow", delay=3) as slow:
        with pytest.raises(Unavailable, match="unreachable"):
            request_timestamp(slow.url, DIGEST, timeout=0.5)
    with pytest.raises(UsageProblem):
        request_timestamp("ftp://127.0.0.1/tsa", DIGEST)


def test_a_slow_authority_closed_under_a_timed_out_caller_leaves_nothing_on_stderr(tmp_path, capfd):
    """Its late answer to a caller that hung up once printed a BrokenPipe traceback into a later test's stderr."""
    import time

    with TestAuthority(tmp_path, mode="slow", delay=1.5) as slow:
        with pytest.raises(Unavailable, match="unreachable"):
            request_timestamp(slow.url, DIGEST, timeout=0.3)
    time.sleep(2.0)  # past the delay: an answer still waiting would have been written by now
    assert "Traceback" not in capfd.readouterr().err


# -- WACZ signatures ----------------------------------------------------------

def _signed(key, text: str) -> dict:
    return {"hash": text, "created": "2026-01-01T00:00:00Z", "software": "test", "version": "0.1.0",
            "signature": key.sign(text), "publicKey": key.public_base64}


def test_anonymous_signature_holds_and_names_its_key(tmp_path):
    key = archive_key(tmp_path)
    text = "sha256:" + DIGEST.hex()
    facts = check_signed_data(_signed(key, text), text)
    assert facts.key_fingerprint == key.fingerprint and facts.variant == "anonymous"
    raw = base64.b64decode(key.sign(text))
    assert len(raw) == 96  # r||s for P-384, as WebCrypto signs
    # authsign-style DER signatures are accepted too.
    der = dict(_signed(key, text), signature=base64.b64encode(der_signature(raw)).decode())
    assert check_signed_data(der, text).key_fingerprint == key.fingerprint


def test_signature_by_another_key_than_claimed_is_rejected(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    ours, theirs = archive_key(tmp_path / "a"), archive_key(tmp_path / "b")
    text = "sha256:" + DIGEST.hex()
    forged = dict(_signed(theirs, text), publicKey=ours.public_base64)
    with pytest.raises(SignatureInvalid, match="does not verify"):
        check_signed_data(forged, text)
    with pytest.raises(SignatureInvalid, match="signs"):
        check_signed_data(_signed(ours, text), "sha256:" + "0" * 64)
    with pytest.raises(SignatureInvalid):
        check_signed_data(dict(_signed(ours, text), publicKey="not base64!"), text)

