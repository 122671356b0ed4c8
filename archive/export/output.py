"""Writing files so that none is ever seen half-written under its final name.

Each file is written as `NAME.part` in the same folder and renamed when the
whole export has succeeded; on failure every `.part` is removed.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from archive.export.errors import CannotWrite

PART = ".part"


def sha256_file(path: Path) -> tuple[str, int]:
    """("sha256:HEX", size in bytes) of a file."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return "sha256:" + digest.hexdigest(), size


class Staging:
    """The `.part` files of one export; `commit` renames them, `discard` removes them."""

    def __init__(self) -> None:
        self._parts: list[tuple[Path, Path]] = []

    def part(self, final: Path) -> Path:
        """A `.part` path for `final`, its folder created (raises CannotWrite)."""
        final = Path(final)
        if final.is_dir():
            raise CannotWrite(f"{final} is a folder; give a file name")
        part = final.with_name(final.name + PART)
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            # Prove now that the folder takes files, before any work is done.
            part.open("wb").close()
        except OSError as error:
            raise CannotWrite(f"cannot write {part}: {error.strerror or error}") from error
        self._parts.append((part, final))
        return part

    def commit(self) -> list[Path]:
        """Rename every part to its final name; return the final paths."""
        done = []
        try:
            for part, final in self._parts:
                os.replace(part, final)
                done.append(final)
        except OSError as error:
            raise CannotWrite(f"cannot rename {part} to {final}: {error.strerror or error}") from error
        finally:
            self._parts = [(p, f) for p, f in self._parts if f not in done]
        return done

    def discard(self) -> None:
        """Remove every part not yet committed."""
        for part, _ in self._parts:
            try:
                part.unlink(missing_ok=True)
            except OSError:
                pass  # nothing better to do while already failing
        self._parts = []

