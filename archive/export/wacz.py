"""WACZ: the WARC files holding the selected articles, packaged for replay.

The package holds every WARC file that contains a selected version's
response record or one of its images' or attachments' records (whole
files: other captures come along), and a `pages.jsonl` listing the selected
article captures (url, title, ts = the capture's WARC-Date).  py-wacz builds
it: its CDXJ index, its `datapackage.json` and digest.  py-wacz documents
only its command line, so it runs as `wacz create ... -p pages.jsonl` in a
child process of this same interpreter.

py-wacz indexes every record cdxj-indexer indexes by default, metadata
included.  Ours are named `urn:pageinfo:<url>` (`archive.warc.records`), so a
player never serves one for the page it describes.  (WARC files written before
that naming carried the page's URL on their metadata records; a player may
serve such a record's JSON for its page.)

An image or attachment stored as a revisit (the same bytes captured
earlier, perhaps at another URL or by another worker) brings the WARC file
of the record it refers to as well (`originals`), so the package replays
it.  With a `store` (`export --store`), WARC files and digest lists not in
DATA/warc/ are fetched from it into a temporary folder first.

Its index is then rewritten as `portal-archive replay` indexes (`archive.export.wacz_index`):
a 304 recheck points at the page it says is unchanged, and a capture cut in
transfer is left out beside a whole one of the same URL.

Given `evidence` (`archive.evidence.seal.Evidence`), the finished package is
signed and/or timestamped before anything else reads it.  With `attestations`
(the default) it also carries, under `logs/`, the end-of-crawl digest lists
and timestamps of the crawls whose WARC files it holds (`archive.evidence.attest`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

from archive.export.errors import ArchiveUnreadable, PackagingFailed

# `python -m wacz` drops the exit status, so run the console script's body, unchanged.
_RUN_WACZ = "import sys; from wacz.main import main; sys.exit(main())"
UNMATCHED = "Invalid passed page"


# What `wacz create` (warcio) says of a WARC file it cannot read.
_UNREADABLE = ("ArchiveLoadFailed", "StatusAndHeadersParserException", "zlib.error", "BadGzipFile")


class WaczWriter:
    """Collects pages and WARC file names row by row; `close` builds the package."""

    format = "wacz"
    mediatype = "application/zip"

    def __init__(self, path: Path, warc_dir: Path, *, title: str | None = None,
                 description: str = "", timeout: float = 3600, evidence: Any = None,
                 attestations: bool = True, store: Any = None,
                 originals: Callable[[set[str]], set[str]] | None = None) -> None:
        self.path = Path(path)
        self.warc_dir = Path(warc_dir)
        self.title = title
        self.description = description
        self.timeout = timeout
        self.evidence = evidence
        self.attestations = attestations
        self.store = store
        self.originals = originals  # record ids of revisits -> the files holding what they refer to
        self.pages = 0
        self._warcs: set[str] = set()
        self._revisits: set[str] = set()
        self._tmp = tempfile.TemporaryDirectory(prefix="export-wacz-")
        self._pages_path = Path(self._tmp.name) / "pages.jsonl"
        self._pages = open(self._pages_path, "w", encoding="utf-8")
        self._pages.write(json.dumps({"format": "json-pages-1.0", "id": "pages", "title": "Articles"}) + "\n")

    def write(self, row: Any) -> None:
        if self.title is None and row["site_name"]:
            self.title = f"{row['site_name']}: archived articles"
        self._warcs.add(row["warc_file"])
        for column in ("images", "attachments"):
            for entry in json.loads(row[column] or "[]"):
                warc = entry.get("warc") or {}
                if warc.get("file"):
                    self._warcs.add(warc["file"])
                if warc.get("revisit") and warc.get("record_id"):
                    self._revisits.add(warc["record_id"])
        page = {"id": f"{row['article_id']}-{row['version']}", "url": row["capture_url"],
                "title": row["title"] or row["url"], "ts": row["capture_time"]}
        self._pages.write(json.dumps(page, ensure_ascii=False) + "\n")
        self.pages += 1

    def add_warc(self, name: str) -> None:
        """Package this WARC file (from the WARC folder) too."""
        self._warcs.add(name)

    def close(self) -> None:
        self._pages.close()
        try:
            if self._revisits and self.originals is not None:
                self._warcs |= self.originals(self._revisits)
            if self.store is not None:
                self.warc_dir = self._staged()
            warcs = [self.warc_dir / name for name in sorted(self._warcs)]
            missing = [path for path in warcs if not path.is_file()]
            if missing:
                still_open = any(path.with_name(path.name + ".open").exists() for path in missing)
                raise ArchiveUnreadable(
                    f"WARC file(s) named by the catalogue are missing: {', '.join(map(str, missing[:3]))}"
                    + (" (still being written: is a crawl running?)" if still_open else "")
                    + ("" if self.store is not None else " (moved to a store? give it with --store URL)"))
            command = [sys.executable, "-c", _RUN_WACZ, "create", "-o", str(self.path),
                       "-p", str(self._pages_path), "--title", self.title or "Archived articles",
                       *(["--desc", self.description] if self.description else []), *self._logs(),
                       *(str(path) for path in warcs)]
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=self.timeout)
            except (OSError, subprocess.TimeoutExpired) as error:
                raise PackagingFailed(f"wacz create could not run: {error}") from error
            if done.returncode != 0:
                last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["no output"]
                said = last[0].encode("ascii", "backslashreplace").decode("ascii")[:300]  # a record's raw bytes
                if any(name in last[0] for name in _UNREADABLE):
                    raise ArchiveUnreadable(f"a WARC file to package cannot be read ({said}): run portal-archive "
                                            "verify to find it")
                raise PackagingFailed(f"wacz create exited {done.returncode}: {said}")
            unmatched = sum(line.startswith(UNMATCHED) for line in done.stdout.splitlines())
            if unmatched:
                raise PackagingFailed(f"{unmatched} of {self.pages} pages have no record in the packaged WARC "
                                      "files (run portal-archive verify)")
            # py-wacz's index replays a 304 recheck as an empty page and may serve a cut capture: make it replay's.
            from archive.export.wacz_index import replay_index

            replay_index(self.path)
            # Never sign (or hand out) a package its own verifier rejects: a record whose digests do not
            # match, a WARC file cut short, one that contradicts its crawl's attestation.
            from archive.evidence.package import verify_package

            report = verify_package(self.path)
            if report.problems:
                raise ArchiveUnreadable(f"the package would not verify, {len(report.problems)} problem(s), the first: "
                                        f"{report.problems[0]} (run portal-archive verify on the data folder)")
            if self.evidence is not None and self.evidence.wanted:
                from archive.evidence.seal import seal_package

                seal_package(self.path, self.evidence)
        finally:
            self._tmp.cleanup()

    def _staged(self) -> Path:
        """A folder holding every WARC file to package and every digest list: local ones linked, others fetched."""
        from archive.storage import ObjectMissing, warc_key

        staged = Path(self._tmp.name) / "warc"
        staged.mkdir()
        wanted = set(self._warcs)
        wanted |= {p.name for pattern in ("*.sha256", "*.sha256.tsr") for p in self.warc_dir.glob(pattern)}
        wanted |= {o.name for o in self.store.list(warc_key("")) if o.name.endswith((".sha256", ".sha256.tsr"))}
        for name in sorted(wanted):
            local = self.warc_dir / name
            if local.is_file():
                (staged / name).symlink_to(local.resolve())
                continue
            try:
                self.store.get(warc_key(name), staged / name)
            except ObjectMissing:
                continue  # reported below as missing, with the others
        return staged

    def _logs(self) -> list[str]:
        """py-wacz's --log-directory holding the attestations of the packaged files' crawls, if any."""
        if not self.attestations:
            return []
        from archive.evidence.attest import attestations_for

        found = attestations_for(self.warc_dir, self._warcs)
        if not found:
            return []
        folder = Path(self._tmp.name) / "logs"
        folder.mkdir()
        for path in found:
            shutil.copyfile(path, folder / path.name)
        return ["-l", str(folder)]

    def abort(self) -> None:
        self._pages.close()
        self._tmp.cleanup()

    def resource(self) -> dict[str, Any]:
        return {"format": "wacz", "mediatype": self.mediatype, "profile": "data-resource",
                "pages": self.pages, "warcFiles": sorted(self._warcs)}
