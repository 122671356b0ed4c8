"""`portal-archive show`: one article from the catalogue, with its evidence and history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from archive.catalogue import open_catalogue
from archive.cli.options import (data_option, json_option, signing_cert_option, signing_key_option,
                                 timestamp_url_option)

# Where `portal-archive replay` serves its collection by default (archive.replay.COLLECTION).
REPLAY_BASE = "http://127.0.0.1:8090/archive"


def replay_link(base: str, record: dict[str, Any]) -> str | None:
    """The pywb URL of the version's capture, rewritten content (`mp_`): BASE/<14 digits>mp_/<url>."""
    capture = record.get("capture")
    if not capture or not capture.get("timestamp"):
        return None
    return f"{base.rstrip('/')}/{capture['timestamp']}mp_/{capture['url']}"


def _warc(entry: dict[str, Any]) -> str:
    ref = entry.get("warc") or {}
    if not ref:
        return "not archived"
    return f"{ref.get('file')} @{ref.get('offset')} {ref.get('record_id', '')}".strip()


def print_record(record: dict[str, Any]) -> None:
    version = record["version"] or {}
    echo = click.echo
    echo(click.style(version.get("title") or "(no title)", bold=True))
    echo(f"  date:    {version.get('published') or '-'}")
    echo(f"  source:  {version.get('source') or '-'}")
    echo(f"  url:     {record['url']}")
    echo(f"  article: #{record['article_id']}, {record['status']},"
         f" seen {record['first_seen']} .. {record['last_seen']}")
    if record.get("site"):
        echo(f"  site:    {record['site']}" + (f" / {record['section']}" if record.get("section") else ""))
    for moved in record.get("urls") or []:
        if moved["url"] != record["url"]:
            echo(f"  also at: {moved['url']} ({moved['first_seen'][:10]} .. {moved['last_seen'][:10]})")
    for withdrawal in record["withdrawals"]:
        echo(f"  withdrawn: {withdrawal['detected']} ({withdrawal['how']}, crawl {withdrawal['crawl_id']})")
        if withdrawal["restored"]:
            echo(f"  restored:  {withdrawal['restored']} (answering again, crawl {withdrawal['restored_crawl_id']})")
    if version:
        current = "current" if version["current"] else "not current"
        echo(f"  version: {version['version']} of {len(record['versions'])} ({current})"
             + (f", flags: {', '.join(version['flags'])}" if version["flags"] else ""))
    capture = record.get("capture")
    if capture:
        echo(f"  capture: {capture['file']} @{capture['offset']} {capture['record_id']} ({capture['date']})")
    if record.get("replay_url"):
        echo(f"  replay:  {record['replay_url']}")
    echo()
    echo(version.get("body_text") or "(no text)")
    for kind in ("images", "attachments"):
        entries = version.get(kind) or []
        if entries:
            echo(f"\n{kind.capitalize()} ({len(entries)}):")
        for entry in entries:
            label = entry.get("name") or entry.get("caption") or entry.get("alt") or ""
            echo(f"  {entry.get('url')}" + (f"  {label}" if label else ""))
            echo(f"    WARC: {_warc(entry)}  digest: {entry.get('digest') or '-'}")
    echo(f"\nVersions ({len(record['versions'])}):")
    for row in record["versions"]:
        changed = ", ".join(row["changed_fields"] or []) or ("first" if row["version"] == 1 else "-")
        flags = f"  flags: {', '.join(row['flags'])}" if row["flags"] else ""
        echo(f"  {row['version']:>3}  {row['first_seen']} .. {row['last_seen']}  changed: {changed}{flags}")


@click.command()
@click.argument("ref", metavar="ID|URL")
@data_option
@click.option("--version", "number", type=click.IntRange(1), metavar="N", help="Show version N (default: current).")
@click.option("--replay-base", default=REPLAY_BASE, show_default=True, metavar="URL",
              help="The replay server's collection URL (portal-archive replay).")
@json_option
@click.option("--proof", type=click.Path(dir_okay=False, path_type=Path), metavar="OUT.wacz",
              help="Write a signed proof package of this version instead: its WARC records (request, response, "
                   "parsed-fields metadata, images), pages.jsonl, signature and timestamp.")
@signing_key_option
@signing_cert_option
@timestamp_url_option
def command(ref, data, number, replay_base, as_json, proof, signing_key, signing_cert, timestamp_url) -> None:
    """Show one article: text, media with their WARC records, versions, replay link.

    ID is the article id that `search` prints (#123); URL an address it was
    fetched at (http or https, any host of its site).
    With --proof OUT.wacz, package that version for anyone to check
    (`verify --package OUT.wacz`, ReplayWeb.page, docs/evidence.md).
    Exit codes: 0 shown, 2 bad usage, 5 no such article or version, 6 no catalogue;
    with --proof also 7 a record does not match, 8 the timestamp authority gave
    no timestamp.
    """
    if proof is not None:
        _proof(ref, data, number, proof, signing_key, signing_cert, timestamp_url, as_json)
        return
    if signing_key or signing_cert:
        raise click.UsageError("--signing-key and --signing-cert go with --proof")
    from archive.show import article_record

    with open_catalogue(data, readonly=True) as catalogue:
        record = article_record(catalogue, ref, number)
    record["replay_url"] = replay_link(replay_base, record)
    if as_json:
        click.echo(json.dumps(record, ensure_ascii=False))
    else:
        print_record(record)


def _proof(ref, data, number, out, signing_key, signing_cert, timestamp_url, as_json) -> None:
    from archive.evidence.proof import build_proof
    from archive.evidence.seal import choose_evidence

    evidence = choose_evidence(data, sign=True, key_file=signing_key, timestamp_url=timestamp_url,
                               cert_file=signing_cert)
    result = build_proof(data, ref, out, evidence, version=number)
    if as_json:
        click.echo(json.dumps({"path": str(result.path), "article_id": result.article_id, "version": result.version,
                               "records": result.records, "warc_files": result.files, "signed_by": result.signed_by,
                               "timestamp": result.timestamp, "notes": result.notes}, ensure_ascii=False))
        return
    stamp = f", timestamped {result.timestamp['time']} by {result.timestamp['authority']}" if result.timestamp else ""
    click.echo(f"Proof of article #{result.article_id} version {result.version}: {result.path} "
               f"({result.records} records from {len(result.files)} WARC file(s)), signed by {result.signed_by}{stamp}")
    for note in result.notes:
        click.echo(f"  note: {note}")
    click.echo(f"Check it: portal-archive verify --package {result.path} --article {result.article_id}")
