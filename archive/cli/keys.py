"""`portal-archive keys`: the archive's signing key, as others see it."""

from __future__ import annotations

import json

import click

from archive.cli.options import data_option, json_option


@click.command()
@data_option
@click.option("--create", is_flag=True, help="Make the key now if there is none yet.")
@json_option
def command(data, create, as_json) -> None:
    """Show the public key that signs this archive's packages, and its fingerprint.

    The private key is DATA/keys/signing-key.pem (ECDSA P-384, mode 0600 in a
    0700 folder); it is made on first use (export --sign, show --proof, or
    --create here) and never leaves that folder.  Publish the fingerprint
    where readers can find it independently of your packages; `verify
    --package FILE --key FINGERPRINT` then proves a package is yours.

    Exit codes: 0 shown, 2 the key file is readable by others (chmod 600) or
    unreadable, 5 no key yet (without --create).
    """
    from archive.evidence.keys import archive_key

    key = archive_key(data, create=create)
    if as_json:
        click.echo(json.dumps({"path": str(key.path), "fingerprint": key.fingerprint, "algorithm": "ECDSA P-384",
                               "public_key": key.public_base64, "public_key_pem": key.public_pem}))
        return
    click.echo(f"key:         {key.path} (private: mode 0600, never exported)")
    click.echo("algorithm:   ECDSA P-384, signatures over SHA-256")
    click.echo(f"fingerprint: {key.fingerprint}")
    click.echo(key.public_pem.rstrip())
