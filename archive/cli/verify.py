"""`portal-archive verify`: check the WARC files and the items that point into them.

Exit status: 0 when the archive is sound, 1 when problems were found, 2 for
usage errors (such as a data folder that does not exist).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from archive.exits import ExitCode, Unavailable, UsageProblem
from archive.warc.errors import ArchiveNotFoundError
from archive.warc.verify import Problem, Report, verify_archive


def _progress(file: str, number: int, total: int) -> None:
    click.echo(f"checking {file} ({number}/{total})", err=True)


def verify_folder(data: Path, quiet: bool) -> Report:
    """`verify_archive` of DATA, against its catalogue where there is one (a SQLite catalogue that is not
    there is no problem: `reindex` makes one; one that cannot be read is)."""
    from archive.catalogue import backend, open_catalogue
    from archive.catalogue.api import CatalogueError
    from archive.redact import redact

    if not data.is_dir():
        return verify_archive(data)  # raises ArchiveNotFoundError, before a catalogue is looked for
    _, location = backend(data)
    own = isinstance(location, Path)
    name = location.name if own else redact(str(location))
    catalogue, unreadable = None, None
    if not own or location.exists():
        try:
            catalogue = open_catalogue(data, readonly=True)
        except Unavailable:
            raise
        except CatalogueError as error:
            unreadable = Problem(name, f"the catalogue cannot be read: {error} (`portal-archive reindex` "
                                       "rebuilds it from the WARC files)")
    try:
        report = verify_archive(data, progress=None if quiet else _progress, catalogue=catalogue,
                                catalogue_name=name, own_catalogue=own)
    finally:
        if catalogue is not None:
            catalogue.close()
    if unreadable is not None:
        report.problems.insert(0, unreadable)
    return report


def verify_stored(url: str, data: Path, quiet: bool) -> Report:
    """`verify_store` of the store at `url`, against the catalogue where one is configured (PORTAL_ARCHIVE_CATALOGUE,
    or DATA's own): each file it holds records of must be in the store or in DATA/warc/."""
    from archive.catalogue import backend, open_catalogue
    from archive.redact import redact
    from archive.storage import open_store
    from archive.storage.verify import verify_store

    store = open_store(url)
    _, location = backend(data)
    catalogue = None
    if not isinstance(location, Path) or location.exists():
        catalogue = open_catalogue(data, readonly=True)  # unreachable or unreadable: its exit code (8, 6)
    try:
        report = verify_store(store, progress=None if quiet else _progress, catalogue=catalogue,
                              local=data / "warc")
    finally:
        if catalogue is not None:
            catalogue.close()
    if catalogue is not None:
        report.catalogue = location.name if isinstance(location, Path) else redact(str(location))
    return report


@click.command("verify")
@click.option("--data", "data_dir", default="./data", show_default=True,
              type=click.Path(file_okay=False), help="Data folder holding warc/ and items/.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="No per-file progress on stderr.")
@click.option("--package", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.wacz",
              help="Check a WACZ package instead, offline: every file digest, the index, every record, the "
                   "signature and the timestamp (docs/evidence.md).")
@click.option("--url", metavar="URL", help="With --package: show this article's text and images as captured.")
@click.option("--article", metavar="ID", help="With --package: the same, by article id.")
@click.option("--key", metavar="FINGERPRINT|FILE",
              help="With --package: require a signature by this key (sha256:HEX or a PEM public key).")
@click.option("--tsa-ca", type=click.Path(dir_okay=False, exists=True, path_type=Path), metavar="ROOT.pem",
              help="With --package: require a timestamp whose authority chains to these root certificates.")
@click.option("--store", metavar="URL",
              help="Check the WARC files in this store instead (file:///PATH or s3://BUCKET/PREFIX): each one's "
                   "SHA-256 against the digest it was stored with and its crawl's digest list, its gzip members, "
                   "records and digests, and its CDXJ index; and, against the catalogue (--data's, or "
                   "$PORTAL_ARCHIVE_CATALOGUE), that every WARC file it holds records of is stored (docs/storage.md).")
def command(data_dir: str, as_json: bool, quiet: bool, package: Path | None, url: str | None,
            article: str | None, key: str | None, tsa_ca: Path | None, store: str | None) -> None:
    """Check every WARC file (gzip members, record fields, digests, request/response
    pairs) and every item's WARC references and metadata record, and hold the files
    to everything that says they exist: the catalogue (each file it holds records
    of is here, each capture is the record at its offset, each revisit's original
    is archived) and each crawl's digest list (warc/CRAWL.sha256: same bytes).
    A catalogue on a server may be shared by several data folders: only the files
    here are checked against it.

    With --package FILE.wacz, check a package instead and print what it proves:
    exit 7 on any mismatch, naming the file or record.  With --store URL,
    check every WARC file in the store (exit 1 when any is damaged, 8 when
    the store does not answer).
    """
    if package is not None:
        from archive.cli.verify_package import run

        run(package, url=url, article=article, key=key, tsa_ca=tsa_ca, as_json=as_json, quiet=quiet)
        return
    if url or article or key or tsa_ca:
        raise UsageProblem("--url, --article, --key and --tsa-ca go with --package")
    if store:
        report = verify_stored(store, Path(data_dir), quiet)
    else:
        try:
            report = verify_folder(Path(data_dir), quiet)
        except ArchiveNotFoundError as exc:
            raise UsageProblem(str(exc)) from None
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        for problem in report.problems:
            click.echo(str(problem))
        for name in report.set_aside:
            click.echo(f"note: {name} was set aside by crash recovery (it held no complete record)")
        for note in report.notes:
            click.echo(f"note: {note}")
        click.echo(report.summary())
    sys.exit(ExitCode.OK if report.ok else ExitCode.PROBLEMS)
