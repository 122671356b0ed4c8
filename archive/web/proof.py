"""The article page's proof link: `archive.evidence.proof` run for one request.

The package is signed with the data folder's key (made on first use) and
timestamped when $PORTAL_ARCHIVE_TIMESTAMP_URL names an authority.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from archive.exits import ArchiveError, NotFound, Unavailable

STATUS = {NotFound: 404, Unavailable: 503}


def build_proof_bytes(data: Path, article_id: int, version: int | None) -> tuple[int, bytes, str]:
    """(HTTP status, body, file name): the package, or a one-line reason it could not be made."""
    from archive.cli.options import TIMESTAMP_URL_ENV
    from archive.evidence.proof import build_proof
    from archive.evidence.seal import choose_evidence

    try:
        evidence = choose_evidence(data, sign=True, key_file=None,
                                   timestamp_url=os.environ.get(TIMESTAMP_URL_ENV) or None)
        with tempfile.TemporaryDirectory(prefix="proof-web-") as folder:
            result = build_proof(data, article_id, Path(folder) / "proof.wacz", evidence, version=version)
            body = result.path.read_bytes()
    except ArchiveError as error:
        status = next((code for kind, code in STATUS.items() if isinstance(error, kind)), 500)
        return status, f"No proof package: {error}".encode("utf-8"), ""
    return 200, body, f"article-{result.article_id}-v{result.version}-proof.wacz"
