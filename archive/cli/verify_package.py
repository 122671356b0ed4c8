"""`portal-archive verify --package FILE.wacz`: what a package proves, printed for a person (or as JSON).

The checks are `archive.evidence.package.verify_package` and, with --url or
--article, `archive.evidence.captured.articles_in_package`; this module only
prints them and turns any mismatch into `Damaged` (exit 7).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from archive.evidence.captured import articles_in_package
from archive.evidence.keys import fingerprint_of, public_der
from archive.evidence.package import PackageReport, verify_package
from archive.exits import Damaged, NotFound, UsageProblem

SHOWN_PROBLEMS = 30


def expected_key(value: str | None) -> str | None:
    """A fingerprint from --key: sha256:HEX as printed by `portal-archive keys`, or a PEM public key file."""
    if not value:
        return None
    path = Path(value)
    if path.is_file():
        from cryptography.hazmat.primitives import serialization

        try:
            key = serialization.load_pem_public_key(path.read_bytes())
        except ValueError as error:
            raise UsageProblem(f"--key {value}: not a PEM public key ({error})") from error
        return fingerprint_of(public_der(key))  # type: ignore[arg-type]
    digits = value.strip().lower().removeprefix("sha256:").replace(":", "")
    if len(digits) != 64 or any(ch not in "0123456789abcdef" for ch in digits):
        raise UsageProblem(f"--key {value!r}: give sha256:<64 hex digits> (portal-archive keys prints it) "
                           "or a PEM public key file")
    return "sha256:" + digits


def run(package: Path, *, url: str | None, article: str | None, key: str | None, tsa_ca: Path | None,
        as_json: bool, quiet: bool) -> None:
    if url and article:
        raise UsageProblem("give --url or --article, not both")
    if not package.is_file():
        raise UsageProblem(f"no such package: {package}")
    roots = None
    if tsa_ca is not None:
        from archive.evidence.tsa import load_roots

        roots = load_roots(tsa_ca)
    progress = None if quiet or as_json else (lambda message: click.echo(message, err=True))
    report = verify_package(package, expect_key=expected_key(key), tsa_roots=roots, progress=progress)
    articles, missing = [], None
    if url or article:
        try:
            articles = articles_in_package(package, url=url, article=article)
        except (NotFound, Damaged) as error:
            if not report.problems:
                raise  # a sound package without that article: exit 5 (or what it said)
            missing = error  # a damaged package: its problems first, and exit 7
    if as_json:
        click.echo(json.dumps({**report.as_dict(), "articles": articles}, ensure_ascii=False, indent=2))
    else:
        print_report(report)
        for found in articles:
            print_article(found)
    problems = [str(p) for p in report.problems] + [p for found in articles for p in found["problems"]]
    if missing is not None:
        click.echo(f"  article    not shown: {missing}", err=as_json)
    if problems:
        raise Damaged(f"{package}: {len(problems)} mismatch(es); the first: {problems[0]}")


def print_report(report: PackageReport) -> None:
    echo = click.echo
    echo(click.style(f"Package {report.package}", bold=True))
    good = sum(1 for f in report.files if f.get("ok"))
    size = sum(f.get("bytes") or 0 for f in report.files)
    echo(f"  files      {good} of {len(report.files)} files ({size:,} bytes) match their sha256 in datapackage.json")
    echo(f"  package    datapackage.json is {report.datapackage_hash} (created {report.created})")
    echo(f"  index      {report.index_entries} entries in {report.index_blocks} block(s), each checked against "
         "the record it points at")
    echo(f"  records    {report.records} WARC records in {report.warc_files} file(s): block and payload "
         "digests recomputed")
    signature = report.signature
    if signature is not None:
        who = f"key {signature.key_fingerprint} ({signature.key_type}, {signature.variant})"
        if signature.domain:
            who += f", certificate for {signature.domain} issued under {signature.chain[-1]['subject']} " \
                   f"(sha256 {signature.chain[-1]['sha256']})"
        echo(f"  signed     by {who}")
        echo(f"             created {signature.created} (the signer's own clock); software {signature.software} "
             "(the package's word: the signature does not cover it)")
    else:
        echo("  signed     no" + (" (a signature is present but does not verify)" if report.signed else ""))
    stamp = report.timestamp
    if stamp is not None:
        chain = (" -> ".join(stamp["chain"]) + " (trusted root given)") if stamp.get("chain") else \
            "authority not checked against a root (give --tsa-ca ROOT.pem)"
        echo(f"  timestamp  {stamp['time']} by {stamp['authority']} (certificate sha256 {stamp['certificate_sha256']})"
             f" over datapackage.json")
        echo(f"             {chain}")
    else:
        echo("  timestamp  none")
    for attestation in report.attestations:
        stamped = attestation.get("timestamp")
        when = f"timestamped {stamped['time']} by {stamped['authority']}" if stamped else "not timestamped"
        echo(f"  capture    {', '.join(attestation['files']) or 'no packaged file'}: listed in "
             f"{attestation['list']} at the end of its crawl, {when}")
    if report.ok:
        echo(click.style("  OK", fg="green", bold=True) + ": every file, index entry and record matches"
             + (", and the signature holds" if signature else "")
             + (", and the timestamp covers this exact package" if stamp else "") + ".")
    else:
        echo(click.style(f"  {len(report.problems)} PROBLEM(S):", fg="red", bold=True))
        for problem in report.problems[:SHOWN_PROBLEMS]:
            echo(f"    {problem}")
        if len(report.problems) > SHOWN_PROBLEMS:
            echo(f"    ... and {len(report.problems) - SHOWN_PROBLEMS} more (--json lists all)")


def print_article(found: dict[str, Any]) -> None:
    echo = click.echo
    page, capture, fields = found["page"], found["capture"], found["fields"] or {}
    echo()
    echo(click.style(f"Article page {page.get('id')}: {page.get('url')}", bold=True))
    if capture:
        echo(f"  captured   {capture['date']}: {capture['type']} record {capture['record_id']}")
        echo(f"             in {capture['file']} @{capture['offset']}, payload digest {capture['payload_digest']}"
             + (" (recomputed: same)" if capture.get("payload_digest_recomputed") == capture["payload_digest"] else ""))
    if found["metadata"]:
        meta = found["metadata"]
        echo(f"  parsed     metadata record {meta['record_id']} ({meta['date']}, extractor {meta['extractor']})")
    if fields:
        echo(f"  title      {fields.get('title')}")
        echo(f"  date       {fields.get('published')}")
        echo(f"  source     {fields.get('source')}")
        if fields.get("flags"):
            echo(f"  flags      {', '.join(fields['flags'])}")
        echo()
        echo(fields.get("body_text") or "(no text)")
    for media in found["media"]:
        echo(f"\n  {media['kind']} {media['url']}")
        if media.get("note"):
            echo(f"    {media['note']}")
            continue
        revisit = f" (revisit of {media['revisit_of']})" if media.get("revisit_of") else ""
        echo(f"    record {media['record_id']}{revisit}")
        echo(f"    payload digest {media['payload_digest']}, bytes sha256 {media['sha256']}"
             + (" = the metadata's digest" if media["ok"] else " (DOES NOT MATCH the metadata)"))
    for problem in found["problems"]:
        echo(click.style(f"  PROBLEM: {problem}", fg="red"))
