"""Evidence-grade packages of a real crawl: signed and timestamped WACZ exports and article proofs.

Each package is checked by tools that are not ours (py-wacz and authsign's
`wacz validate`, `openssl ts -verify`, WebCrypto as ReplayWeb.page uses it)
and by `portal-archive verify --package`; then it is damaged in the ways an
adversary or a bad disk would, and every check must reject it.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import pytest

from archive.evidence.keys import archive_key
from archive.evidence.seal import DIGEST_FILE, replace_entry
from archive.exits import ExitCode
from archive.warc.reader import iter_records
from tests.conftest import cli, read_jsonl, seed_article_id
from tests.timestamp_authority import TestAuthority, free_port

VENV_BIN = Path(sys.executable).parent
WEBCRYPTO_CHECK = Path(__file__).parent / "data" / "webcrypto_verify.mjs"


@pytest.fixture(scope="module")
def authority(tmp_path_factory):
    with TestAuthority(tmp_path_factory.mktemp("tsa")) as running:
        yield running


@pytest.fixture(scope="module")
def data(crawled, tmp_path_factory):
    """A data folder of our own over the session crawl: its WARC files (linked) and a copy of its catalogue."""
    if crawled["result"].returncode not in (0, 1):
        pytest.fail(f"the crawl failed:\n{crawled['result'].stderr[-2000:]}")
    folder = tmp_path_factory.mktemp("evidence") / "data"
    folder.mkdir()
    (folder / "warc").symlink_to(crawled["data"] / "warc", target_is_directory=True)
    shutil.copy(crawled["data"] / "catalog.sqlite", folder / "catalog.sqlite")
    return folder


@pytest.fixture(scope="module")
def package(data, authority, tmp_path_factory):
    """A signed, timestamped WACZ of every article of the crawl."""
    out = tmp_path_factory.mktemp("packages") / "articles.wacz"
    result = cli("export", "--format", "wacz", "--out", str(out), "--data", str(data), "--sign",
                 "--timestamp-url", authority.url)
    assert result.exit_code == 0, result.output
    return out


def wacz_validate(path: Path, *extra: str, roots: Path | None = None) -> subprocess.CompletedProcess:
    """py-wacz's validator; `roots` replaces authsign's trusted roots file (and nothing else)."""
    if roots is None:
        command = [str(VENV_BIN / "wacz"), "validate", *extra, "-f", str(path)]
    else:
        swap_roots = ("import sys, authsign.verifier as v; v.DEFAULT_TRUSTED_ROOTS = sys.argv.pop(1);"
                      " from wacz.main import main; sys.exit(main())")
        command = [sys.executable, "-c", swap_roots, str(roots), "validate", *extra, "-f", str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def verify(*args: str):
    return cli("verify", "--quiet", "--package", *args)


def member(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as package:
        return package.read(name)


def warc_entry(path: Path) -> zipfile.ZipInfo:
    with zipfile.ZipFile(path) as package:
        return next(info for info in package.infolist() if info.filename.startswith("archive/"))


def flip_byte_in_warc(path: Path, at: int) -> str:
    """Change one byte of the first WARC file inside the package, in place (its zip CRC left as it was)."""
    info = warc_entry(path)
    with open(path, "r+b") as raw:
        raw.seek(info.header_offset + 26)
        name_length, extra_length = struct.unpack("<HH", raw.read(4))
        position = info.header_offset + 30 + name_length + extra_length + at
        raw.seek(position)
        byte = raw.read(1)
        raw.seek(position)
        raw.write(bytes([byte[0] ^ 0x01]))
    return info.filename


def fingerprint(data: Path) -> str:
    return archive_key(data, create=False).fingerprint


# -- a signed, timestamped package ------------------------------------------

def test_signed_package_passes_wacz_validate_and_verify(package, data, authority):
    validated = wacz_validate(package)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "Has signature" in validated.stdout
    result = verify(str(package), "--key", fingerprint(data), "--tsa-ca", str(authority.ca_file), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] and not report["problems"]
    assert report["signature"]["key_fingerprint"] == fingerprint(data)
    assert report["signature"]["created"] == json.loads(member(package, "datapackage.json"))["created"]
    assert report["timestamp"]["authority"] == "CN=Test TSA"
    assert report["timestamp"]["chain"] == ["CN=Test TSA", "CN=Test TSA Root CA"]
    records = sum(1 for name in (data / "warc").iterdir() if name.suffix == ".gz" for _ in iter_records(name))
    assert report["records"]["records"] == records  # every record of every packaged file was checked
    assert report["index"]["entries"] > 0


def test_timestamp_token_verifies_with_openssl(package, authority, tmp_path):
    (tmp_path / "datapackage.json").write_bytes(member(package, "datapackage.json"))
    digest = json.loads(member(package, DIGEST_FILE))
    (tmp_path / "token.tsr").write_bytes(base64.b64decode(digest["timestamp"]["response"]))
    command = ["openssl", "ts", "-verify", "-data", str(tmp_path / "datapackage.json"), "-in",
               str(tmp_path / "token.tsr"), "-CAfile"]
    verified = subprocess.run(command + [str(authority.ca_file)], capture_output=True, text=True)
    assert "Verification: OK" in verified.stdout, verified.stderr
    with TestAuthority(tmp_path / "stranger") as stranger:  # another authority's root does not vouch for it
        assert subprocess.run(command + [str(stranger.ca_file)], capture_output=True).returncode != 0


@pytest.mark.skipif(shutil.which("node") is None, reason="node (WebCrypto) is not installed")
def test_signature_verifies_as_replayweb_page_checks_it(package, tmp_path):
    digest = tmp_path / "digest.json"
    digest.write_bytes(member(package, DIGEST_FILE))
    checked = subprocess.run(["node", str(WEBCRYPTO_CHECK), str(digest)], capture_output=True, text=True)
    assert checked.returncode == 0 and "signature valid" in checked.stdout, checked.stdout + checked.stderr
    document = json.loads(digest.read_text())
    document["signedData"]["hash"] = "sha256:" + "0" * 64
    digest.write_text(json.dumps(document))
    assert subprocess.run(["node", str(WEBCRYPTO_CHECK), str(digest)], capture_output=True).returncode == 1


def test_authsign_does_not_check_anonymous_signatures(package):
    # authsign 0.6 verifies only the domain-certificate variant: `--verify-auth` refuses any anonymous
    # signature (missing domain, domainCert, ...).  Domain signatures: test_domain_signed_package_*.
    refused = wacz_validate(package, "--verify-auth")
    assert refused.returncode != 0 and "domainCert" in refused.stdout + refused.stderr


# -- damage -------------------------------------------------------------------

def test_one_changed_byte_in_a_warc_is_rejected(package, tmp_path):
    damaged = tmp_path / "damaged.wacz"
    shutil.copy(package, damaged)
    name = flip_byte_in_warc(damaged, warc_entry(damaged).file_size // 2)
    assert wacz_validate(damaged).returncode != 0
    result = verify(str(damaged))
    assert result.exit_code == ExitCode.DAMAGED
    assert name in result.output and "changed" in result.output
    assert f"{name} @" in result.output  # the record that no longer decompresses is named
    # Asked for an article the package lacks, a damaged package still says it is damaged first (it said
    # nothing but "no page", exit 5).
    result = verify(str(damaged), "--article", "99999")
    assert result.exit_code == ExitCode.DAMAGED and f"{name} @" in result.output, result.output
    assert "article    not shown: no page for article 99999" in result.output


def test_a_forged_record_in_a_rezipped_package_is_rejected(package, tmp_path):
    """Someone who edits a record, recompresses it and rewrites the zip properly is still caught."""
    damaged = tmp_path / "rezipped.wacz"
    shutil.copy(package, damaged)
    name = warc_entry(damaged).filename
    original = tmp_path / "original.warc.gz"
    original.write_bytes(member(package, name))
    target = [r for r in iter_records(original) if r.head.type == "response"][-1]
    warc = original.read_bytes()
    block = bytearray(gzip.decompress(warc[target.offset:target.offset + target.length]))
    block[-10] ^= 0x01  # one byte of the payload, in a record that is still well-formed gzip
    forged = warc[:target.offset] + gzip.compress(bytes(block)) + warc[target.offset + target.length:]
    replace_entry(damaged, name, forged)
    validated = wacz_validate(damaged)  # its datapackage checks (frictionless' size and hash) reject it
    assert validated.returncode != 0 and "Validation failed" in validated.stdout
    result = verify(str(damaged))
    assert result.exit_code == ExitCode.DAMAGED
    assert f"{name}: sha256 is" in result.output
    assert f"{name} @{target.offset}: WARC-Block-Digest does not match" in result.output


def _resealed(package: Path, tmp_path: Path, key_data: Path, *, claim: str) -> Path:
    """The package with its datapackage.json rewritten (a forged description) and signed by another key."""
    forged = tmp_path / "forged.wacz"
    shutil.copy(package, forged)
    datapackage = json.loads(member(forged, "datapackage.json"))
    datapackage["title"] = "Something the archive never said"
    new_bytes = json.dumps(datapackage, indent=2).encode()
    replace_entry(forged, "datapackage.json", new_bytes)
    key = archive_key(key_data)
    text = "sha256:" + hashlib.sha256(new_bytes).hexdigest()
    digest = json.loads(member(package, DIGEST_FILE))
    digest["hash"] = text
    digest["signedData"].update(hash=text, signature=key.sign(text))
    if claim == "own":
        digest["signedData"]["publicKey"] = key.public_base64
    replace_entry(forged, DIGEST_FILE, json.dumps(digest).encode())
    return forged


def test_package_signed_with_another_key_than_it_claims(package, tmp_path):
    (tmp_path / "thief").mkdir()
    forged = _resealed(package, tmp_path, tmp_path / "thief", claim="archive")
    result = verify(str(forged))
    assert result.exit_code == ExitCode.DAMAGED
    assert "does not verify" in result.output


def test_package_resigned_by_someone_else_is_not_ours(package, data, tmp_path):
    (tmp_path / "thief").mkdir()
    forged = _resealed(package, tmp_path, tmp_path / "thief", claim="own")
    # Signed consistently by the other key: only the expected fingerprint, and the timestamp, tell.
    result = verify(str(forged), "--key", fingerprint(data))
    assert result.exit_code == ExitCode.DAMAGED
    assert f"not the expected {fingerprint(data)}" in result.output
    assert "the token covers" in result.output  # the old timestamp does not cover the new description


def test_truncated_package_is_rejected(package, tmp_path):
    for size in (len(package.read_bytes()) // 2, len(package.read_bytes()) - 10):
        cut = tmp_path / f"cut-{size}.wacz"
        cut.write_bytes(package.read_bytes()[:size])
        result = verify(str(cut))
        assert result.exit_code == ExitCode.DAMAGED
        assert "not a readable zip file" in result.output


def test_files_added_or_removed_are_named(package, tmp_path):
    added = tmp_path / "added.wacz"
    shutil.copy(package, added)
    with zipfile.ZipFile(added, "a") as zipped:
        zipped.writestr("archive/extra.warc.gz", b"not listed")
    result = verify(str(added))
    assert result.exit_code == ExitCode.DAMAGED and "archive/extra.warc.gz: is in the package but not listed" \
        in result.output
    removed = tmp_path / "removed.wacz"
    with zipfile.ZipFile(package) as source, zipfile.ZipFile(removed, "w") as target:
        for info in source.infolist():
            if info.filename != "pages/pages.jsonl":
                target.writestr(info, source.read(info))
    result = verify(str(removed))
    assert result.exit_code == ExitCode.DAMAGED and "pages/pages.jsonl: listed in datapackage.json but missing" \
        in result.output


def test_a_forged_copy_under_a_listed_name_is_never_ok(package, tmp_path):
    """zipfile's name map keeps the last of two entries of one name; `unzip` and streaming readers show the
    first: a forged pages.jsonl (or WARC file) placed first passed, signature, timestamp and all."""
    forged = tmp_path / "forged.wacz"
    with zipfile.ZipFile(package) as source, zipfile.ZipFile(forged, "w") as target:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns of the duplicate name it is asked to write
            target.writestr("pages/pages.jsonl", b'{"url": "http://forged/", "title": "FORGED"}\n')
            for info in source.infolist():
                target.writestr(info, source.read(info))
    result = verify(str(forged))
    assert result.exit_code == ExitCode.DAMAGED
    assert "pages/pages.jsonl: appears 2 times in the package" in result.output


def test_bytes_no_entry_covers_are_named(package, tmp_path):
    prepended = tmp_path / "prepended.wacz"
    prepended.write_bytes(b"\x00" * 1000 + package.read_bytes())
    appended = tmp_path / "appended.wacz"
    appended.write_bytes(package.read_bytes() + b"hidden" * 100)
    folder = tmp_path / "folder.wacz"
    with zipfile.ZipFile(package) as source, zipfile.ZipFile(folder, "w") as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
        target.writestr(zipfile.ZipInfo("logs/"), b"hidden" * 100)
    for path, said in ((prepended, "1000 bytes before its first entry"),
                       (appended, "bytes after the zip's end record"),
                       (folder, "logs/: is a folder entry holding 600 bytes")):
        result = verify(str(path))
        assert result.exit_code == ExitCode.DAMAGED and said in result.output, (path.name, result.output)


def test_an_entry_that_is_encrypted_or_a_bomb_is_damaged_not_a_crash(package, tmp_path, monkeypatch):
    from archive.evidence import package as packages

    encrypted = tmp_path / "encrypted.wacz"
    shutil.copy(package, encrypted)
    with zipfile.ZipFile(encrypted) as zipped:
        info = zipped.getinfo("pages/pages.jsonl")
    with open(encrypted, "r+b") as raw:  # the encrypted flag, in the local header and the central directory
        data = bytearray(raw.read())
        # The name's last occurrence is its central directory entry's, whose flags are 38 bytes before it.
        for at in (info.header_offset + 6, data.rfind(b"pages/pages.jsonl") - 38):
            data[at] |= 0x01
        raw.seek(0)
        raw.write(data)
    result = verify(str(encrypted))
    assert result.exit_code == ExitCode.DAMAGED and "encrypted" in result.output, result.output
    monkeypatch.setattr(packages, "MAX_READ", 100)  # datapackage.json is larger: read whole, as a bomb would be
    result = verify(str(package))
    assert result.exit_code == ExitCode.DAMAGED and "zip bomb" in result.output, result.output


def _damaged_copy(data: Path, tmp_path: Path) -> Path:
    """A copy of DATA whose first WARC file's last record (the crawl's end) says something else, its gzip member
    whole again: the block digest no longer matches, and no other record moves."""
    from archive.warc.members import MemberReader

    copy = tmp_path / "damaged"
    (copy / "warc").mkdir(parents=True)
    shutil.copy(data / "catalog.sqlite", copy / "catalog.sqlite")
    for path in sorted((data / "warc").glob("*")):
        shutil.copy(path, copy / "warc" / path.name)
    target = sorted((copy / "warc").glob("*.warc.gz"))[0]
    raw = target.read_bytes()
    with open(target, "rb") as stream:
        last = [member.offset for member in MemberReader(stream)][-1]
    record = gzip.decompress(raw[last:])
    changed = record.replace(b'"status": "', b'"status": "X', 1)
    assert changed != record
    target.write_bytes(raw[:last] + gzip.compress(changed))
    return copy


def test_export_never_signs_a_package_its_verifier_rejects(data, tmp_path):
    copy = _damaged_copy(data, tmp_path)
    out = tmp_path / "p.wacz"
    result = cli("export", "--format", "wacz", "--out", str(out), "--data", str(copy), "--sign")
    assert result.exit_code == ExitCode.DAMAGED, result.output
    assert "the package would not verify" in result.output and "Block-Digest" in result.output
    assert not out.exists() and not list(tmp_path.glob("p.wacz*"))


def test_verify_usage_errors(package, tmp_path):
    assert verify(str(package), "--url", "http://x/", "--article", "1").exit_code == ExitCode.USAGE
    assert verify(str(tmp_path / "none.wacz")).exit_code == ExitCode.USAGE
    assert cli("verify", "--url", "http://x/").exit_code == ExitCode.USAGE
    assert verify(str(package), "--key", "not-a-fingerprint").exit_code == ExitCode.USAGE
    missing = verify(str(package), "--url", "http://127.0.0.1:1/nowhere.html")
    assert missing.exit_code == ExitCode.NOT_FOUND and "pages/pages.jsonl" in missing.output


def test_unsigned_package_fails_when_a_key_or_timestamp_is_required(data, tmp_path, monkeypatch):
    monkeypatch.delenv("PORTAL_ARCHIVE_TIMESTAMP_URL", raising=False)
    out = tmp_path / "plain.wacz"
    assert cli("export", "--format", "wacz", "--out", str(out), "--data", str(data)).exit_code == 0
    assert verify(str(out)).exit_code == 0  # sound, but proves nothing about who or when
    assert "not signed" in verify(str(out), "--key", "sha256:" + "ab" * 32).output
    assert verify(str(out), "--tsa-ca", str(out)).exit_code == ExitCode.USAGE  # not a certificate file


def test_a_timestamp_alone_is_not_called_a_signature_that_fails(data, authority, tmp_path):
    out = tmp_path / "stamped.wacz"
    assert cli("export", "--format", "wacz", "--out", str(out), "--data", str(data), "--timestamp-url",
               authority.url).exit_code == 0
    result = verify(str(out))
    assert result.exit_code == 0 and "  signed     no\n" in result.output, result.output
    assert "does not verify" not in result.output


# -- failures while sealing ------------------------------------------------------

def test_missing_timestamp_authority_fails_cleanly(data, tmp_path):
    out = tmp_path / "never.wacz"
    result = cli("export", "--format", "wacz", "--out", str(out), "--data", str(data), "--sign",
                 "--timestamp-url", f"http://127.0.0.1:{free_port()}/tsa")
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert "timestamp authority" in result.output and "unreachable" in result.output
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_authority_answering_nonsense_fails_cleanly(data, tmp_path):
    with TestAuthority(tmp_path / "tsa", mode="garbage") as broken:
        out = tmp_path / "out" / "never.wacz"
        result = cli("export", "--format", "wacz", "--out", str(out), "--data", str(data),
                     "--timestamp-url", broken.url)
    assert result.exit_code == ExitCode.UNAVAILABLE and "no usable timestamp" in result.output
    assert not out.exists()


def test_signing_key_with_loose_permissions_is_refused(data, tmp_path):
    key = tmp_path / "key.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out",
                    str(key)], check=True, capture_output=True)
    os.chmod(key, 0o644)
    out = tmp_path / "never.wacz"
    result = cli("export", "--format", "wacz", "--out", str(out), "--data", str(data), "--signing-key", str(key))
    assert result.exit_code == ExitCode.USAGE and f"chmod 600 {key}" in result.output
    assert not out.exists()
    os.chmod(key, 0o600)
    result = cli("export", "--format", "wacz", "--out", str(out), "--data", str(data), "--signing-key", str(key))
    assert result.exit_code == 0, result.output
    report = json.loads(verify(str(out), "--json").output)
    assert report["signature"]["key_fingerprint"] != fingerprint(data)  # the given key signed, not the archive's


def test_signing_options_apply_to_wacz_only(data, tmp_path):
    result = cli("export", "--format", "csv", "--out", str(tmp_path / "a.csv"), "--data", str(data), "--sign")
    assert result.exit_code == ExitCode.USAGE and "wacz" in result.output


# -- the domain-certificate variant: what authsign checks --------------------------

def _domain_certificate(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway root CA and a fresh certificate for archive.example under it (key, chain, root)."""
    folder.mkdir()

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
            "-out", "ca.pem", "-days", "30", "-subj", "/CN=Test Domain Root", "-addext",
            "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "leaf.key",
            "-out", "leaf.csr", "-subj", "/CN=archive.example")
    (folder / "ext").write_text("subjectAltName=DNS:archive.example\n")
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
            "leaf.pem", "-days", "6", "-extfile", "ext")
    (folder / "chain.pem").write_bytes((folder / "leaf.pem").read_bytes() + (folder / "ca.pem").read_bytes())
    os.chmod(folder / "leaf.key", 0o600)
    return folder / "leaf.key", folder / "chain.pem", folder / "ca.pem"


def _sha256_der(pem: Path) -> str:
    der = subprocess.run(["openssl", "x509", "-in", str(pem), "-outform", "DER"], capture_output=True,
                         check=True).stdout
    return hashlib.sha256(der).hexdigest()


def test_domain_signed_package_passes_wacz_validate_verify_auth(data, authority, tmp_path):
    key, chain, root = _domain_certificate(tmp_path / "domain")
    out = tmp_path / "domain.wacz"
    result = cli("export", "--format", "wacz", "--out", str(out), "--data", str(data), "--signing-key", str(key),
                 "--signing-cert", str(chain), "--timestamp-url", authority.url)
    assert result.exit_code == 0, result.output
    roots = tmp_path / "roots.yaml"
    roots.write_text(f"domain_cert_roots:\n  - {_sha256_der(root)}\n"
                     f"timestamp_cert_roots:\n  - {_sha256_der(authority.ca_file)}\n")
    # authsign's own verifier, told to trust the test roots instead of Let's Encrypt and FreeTSA/DigiCert.
    accepted = wacz_validate(out, "--verify-auth", roots=roots)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "Successfully verified signature" in accepted.stdout
    assert wacz_validate(out, "--verify-auth").returncode != 0  # with its real roots, a test CA is not trusted
    report = json.loads(verify(str(out), "--json").output)
    assert report["ok"] and report["signature"]["variant"] == "domain"
    assert report["signature"]["domain"] == "archive.example"
    flip_byte_in_warc(out, 5000)
    assert wacz_validate(out, "--verify-auth", roots=roots).returncode != 0
    assert verify(str(out)).exit_code == ExitCode.DAMAGED


def test_domain_signing_refuses_what_authsign_would_reject(data, authority, tmp_path):
    key, chain, _ = _domain_certificate(tmp_path / "domain")
    base = ["export", "--format", "wacz", "--out", str(tmp_path / "x.wacz"), "--data", str(data)]
    no_stamp = cli(*base, "--signing-key", str(key), "--signing-cert", str(chain))
    assert no_stamp.exit_code == ExitCode.USAGE and "--timestamp-url" in no_stamp.output
    other = tmp_path / "other.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
                    str(other)], check=True, capture_output=True)
    os.chmod(other, 0o600)
    wrong_key = cli(*base, "--signing-key", str(other), "--signing-cert", str(chain), "--timestamp-url", authority.url)
    assert wrong_key.exit_code == ExitCode.USAGE and "not for the key" in wrong_key.output


# -- one article -------------------------------------------------------------------

def test_verify_shows_an_article_as_captured(package, crawled):
    item = next(i for i in crawled["items"] if i["images"] and all(m.get("warc") for m in i["images"]))
    result = verify(str(package), "--url", item["url"], "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)["articles"][0]
    assert found["capture"]["record_id"] == item["warc"]["record_id"]
    assert found["capture"]["payload_digest"] == item["warc"]["payload_digest"] == \
        found["capture"]["payload_digest_recomputed"]
    assert found["fields"]["title"] == item["title"] and found["fields"]["body_text"] == item["body_text"]
    images = {m["url"]: m for m in found["media"] if m["kind"] == "image"}
    for image in item["images"]:
        shown = images[image["url"]]
        assert shown["record_id"] == image["warc"]["record_id"] and shown["ok"]
        assert shown["sha256"].removeprefix("sha256:") == image["digest"].removeprefix("sha256:")
    text = verify(str(package), "--url", item["url"]).output
    assert item["title"] in text and item["images"][0]["warc"]["record_id"] in text


def test_article_proof_is_small_signed_and_verifies(data, authority, crawled, tmp_path):
    article = seed_article_id(data)
    out = tmp_path / "proof.wacz"
    made = cli("show", str(article), "--data", str(data), "--proof", str(out), "--timestamp-url", authority.url,
               "--json")
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["signed_by"] == fingerprint(data)
    validated = wacz_validate(out)
    assert validated.returncode == 0, validated.stdout
    result = verify(str(out), "--article", str(article), "--key", fingerprint(data), "--tsa-ca",
                    str(authority.ca_file), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    found = report["articles"][0]
    item = next(i for i in crawled["items"] if i["warc"]["record_id"] == found["capture"]["record_id"])
    assert found["metadata"] and all(m["ok"] for m in found["media"])
    # Only this article's records, copied byte for byte: each is the archive's record at its offset.
    with zipfile.ZipFile(out) as proof:
        names = [n for n in proof.namelist() if n.startswith("archive/")]
        kinds = []
        for name in names:
            proof.extract(name, tmp_path)
            original = {r.head.record_id: r for r in iter_records(data / "warc" / Path(name).name)}
            for record in iter_records(tmp_path / name):
                kinds.append(record.head.type)
                source = original[record.head.record_id]
                with open(tmp_path / name, "rb") as copy, open(data / "warc" / Path(name).name, "rb") as archive:
                    copy.seek(record.offset)
                    archive.seek(source.offset)
                    assert copy.read(record.length) == archive.read(source.length)
    media = len([m for m in item["images"] + item["attachments"] if m.get("warc")])
    assert kinds.count("response") == 1 + media and kinds.count("request") == 1 + media
    assert kinds.count("metadata") == 1 and kinds.count("warcinfo") == len(names)


def test_article_proof_replays(data, crawled, tmp_path):
    """A player loads the proof as it loads any WACZ (pywb here, standing in for ReplayWeb.page)."""
    from archive.replay import ReplayError, find_wayback
    from tests.conftest import pywb_with
    from tests.test_export_archive import fetch, payload

    item = next(i for i in crawled["items"] if i["images"] and all(m.get("warc") for m in i["images"]))
    out = tmp_path / "proof.wacz"
    assert cli("show", item["url"], "--data", str(data), "--proof", str(out)).exit_code == 0
    try:
        wayback = find_wayback()
    except ReplayError as error:
        pytest.skip(str(error))
    with pywb_with(wayback, tmp_path / "pywb", "proof", [out]) as base:
        page = json.loads(member(out, "pages/pages.jsonl").decode().splitlines()[1])
        ts = "".join(ch for ch in page["ts"] if ch.isdigit())[:14]
        assert fetch(f"{base}/{ts}id_/{item['url']}") == payload(data, item["warc"])
        image = item["images"][0]
        assert fetch(f"{base}/{ts}id_/{image['url']}") == payload(data, image["warc"])


def test_article_page_links_to_its_proof(data, tmp_path):
    from tests.test_web_routes import App

    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "warc").symlink_to(data / "warc", target_is_directory=True)
    shutil.copy(data / "catalog.sqlite", folder / "catalog.sqlite")
    app = App(folder / "catalog.sqlite")
    article = seed_article_id(folder)
    _, page = app.page(f"/-/article/{article}")
    link = page.get_element_by_id("proof-link").get("href")
    response = app.get(link)
    assert response.status_code == 200
    assert f"article-{article}-v1-proof.wacz" in response.headers["content-disposition"]
    out = tmp_path / "from-web.wacz"
    out.write_bytes(response.content)
    assert verify(str(out), "--article", str(article)).exit_code == 0
    assert app.get("/-/article/999999/proof.wacz").status_code == 404


# -- capture time attested at the end of a crawl -----------------------------------

@pytest.mark.e2e
def test_crawl_attests_its_warc_files_and_packages_carry_it(authority, tmp_path):
    from replica.launch import ReplicaProcess
    from tests.conftest import portal_archive

    data = tmp_path / "data"
    with ReplicaProcess(articles=12) as replica:
        portal_archive("crawl", "--replica", replica.base_url, "--data", str(data), "--quiet",
                       "-s", f"ARCHIVE_TIMESTAMP_URL={authority.url}", "-s", "ARCHIVE_WARC_MAX_SIZE=60000")
    warc = data / "warc"
    manifests = list(warc.glob("*.sha256"))
    assert len(manifests) == 1
    listed = manifests[0].read_text().splitlines()
    assert len(listed) == len(list(warc.glob("*.warc.gz"))) > 1
    assert subprocess.run(["sha256sum", "-c", manifests[0].name], cwd=warc, capture_output=True).returncode == 0
    token = manifests[0].with_name(manifests[0].name + ".tsr")
    verified = subprocess.run(["openssl", "ts", "-verify", "-data", str(manifests[0]), "-in", str(token),
                               "-CAfile", str(authority.ca_file)], capture_output=True, text=True)
    assert "Verification: OK" in verified.stdout, verified.stderr
    out = tmp_path / "attested.wacz"
    assert cli("export", "--format", "wacz", "--out", str(out), "--data", str(data)).exit_code == 0
    report = json.loads(verify(str(out), "--json").output)
    assert report["ok"], report["problems"]
    attestation = report["attestations"][0]
    assert attestation["timestamp"]["authority"] == "CN=Test TSA" and attestation["files"]
    assert wacz_validate(out).returncode == 0


@pytest.mark.e2e
def test_crawl_with_a_dead_authority_still_finishes(tmp_path):
    from replica.launch import ReplicaProcess
    from tests.conftest import portal_archive

    data = tmp_path / "data"
    with ReplicaProcess(articles=5) as replica:
        done = portal_archive("crawl", "--replica", replica.base_url, "--data", str(data), "--quiet",
                              "-s", f"ARCHIVE_TIMESTAMP_URL=http://127.0.0.1:{free_port()}/tsa", check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert list((data / "warc").glob("*.sha256")) and not list((data / "warc").glob("*.tsr"))
    log = next((data / "logs").glob("*.log")).read_text(encoding="utf-8")
    assert "not timestamped" in log and "unreachable" in log
    assert read_jsonl(next((data / "items").glob("*.jsonl")))
