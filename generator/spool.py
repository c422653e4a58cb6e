"""Write stage: large files written to disk as they are made, never held whole in memory.

A charter's `results.json` of a million rows is some 270 MB, its `results.csv`
some 80 MB, and a linked CSV made spreadsheet-safe as large as the original.
The stages that make them write their bytes, chunk by chunk, into the build's
spool folder: a temporary folder beside the output folder, recorded in the
output's lock (generator/write.py) so a killed build's spool is removed by the
next build. Such a file travels to the write stage as a `Spooled` value (where
it is and its size), and the write stage moves it into the new site.

Without a spool folder (`charters check`, tests of one stage) the chunks are
joined into bytes, so every caller gets the same content either way.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20  # bytes read at a time when comparing or copying


@dataclass(frozen=True)
class Spooled:
    """A file the build wrote into its spool folder: its place and size."""

    path: Path
    size: int


Content = bytes | Spooled


def size_of(content: Content) -> int:
    return content.size if isinstance(content, Spooled) else len(content)


class Spool:
    """Where a build writes large files; `folder` None keeps them in memory.

    `failed` turns an error of the file system (a full disk) into the exception the
    build reports; the partial file is removed first.
    """

    def __init__(
        self, folder: Path | None, failed: Callable[[OSError], Exception] | None = None
    ) -> None:
        self.folder = folder
        self.failed = failed
        self._count = 0

    def write(self, chunks: Iterable[bytes]) -> Content:
        """The bytes of `chunks`, as a spooled file when there is a folder, else as bytes."""
        if self.folder is None:
            return b"".join(chunks)

        def fill(path: Path) -> None:
            with open(path, "xb") as out:
                for chunk in chunks:
                    out.write(chunk)

        return self._spooled(fill)

    def link(self, source: Path) -> Content:
        """The content of the plain file `source` without reading it: a hard link to it in
        the spool folder (a copy where a link cannot be made); without a folder, its bytes.

        `source` must never be changed in place afterwards (cache entries are replaced,
        never rewritten), since the site's file is then the same file.
        """
        if self.folder is None:
            return source.read_bytes()

        def fill(path: Path) -> None:
            try:
                os.link(source, path, follow_symlinks=False)
            except OSError:  # another file system, or links not allowed there
                shutil.copyfile(source, path, follow_symlinks=False)

        return self._spooled(fill)

    def _spooled(self, fill: Callable[[Path], None]) -> Spooled:
        """A new file of the spool folder, made by `fill`; on an error of the file system
        the partial file is removed and the error reported as `failed` makes it."""
        assert self.folder is not None
        self._count += 1
        path = self.folder / f"{self._count:06d}"
        try:
            self.folder.mkdir(exist_ok=True)  # made on first use: a build with none writes none
            fill(path)
            size = path.stat().st_size
        except OSError as exc:
            path.unlink(missing_ok=True)
            if self.failed is None:
                raise
            raise self.failed(exc) from None
        return Spooled(path, size)


def place(content: Content, target: Path) -> None:
    """Put `content` at `target` (a new path): spooled files are moved, bytes written."""
    if isinstance(content, bytes):
        target.write_bytes(content)
        return
    try:
        os.rename(content.path, target)  # the spool is beside the site: the same file system
    except OSError:
        shutil.copyfile(content.path, target)


def same_bytes(path: Path, content: Content) -> bool:
    """Whether the plain file at `path` holds exactly `content`, read a chunk at a time
    (not at all when the spooled file is `path` itself, linked from the same entry)."""
    if isinstance(content, bytes):
        with open(path, "rb") as f:
            return f.read(len(content) + 1) == content
    if os.path.samestat(os.lstat(path), os.lstat(content.path)):
        return True
    with open(path, "rb") as a, open(content.path, "rb") as b:
        return _same_stream(a, b)


def _same_stream(a: BinaryIO, b: BinaryIO) -> bool:
    while True:
        left, right = a.read(CHUNK), b.read(CHUNK)
        if left != right:
            return False
        if not left:
            return True
