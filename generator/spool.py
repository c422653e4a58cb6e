"""Write stage: large files written to disk as they are made, never held whole in memory.

A charter's `results.json` of a million rows is some 270 MB, its `results.csv`
some 80 MB, and a linked CSV made spreadsheet-safe as large as the original.
The stages that make them write their bytes, chunk by chunk, into the build's
spool folder: a temporary folder beside the output folder, recorded in the
output's lock (generator/write.py) so a killed build's spool is removed by the
next build. Such a file travels to the write stage as a `Spooled` value (where
it is and its size), and the write stage moves it into the new site.

A file taken unchanged from the current site is not copied or linked into the
spool at all: it travels as a *borrowed* `Spooled` value naming the site's file,
and the write stage hard-links it into the new site. The build holds the site's
lock and the site is only ever replaced whole, so the name is as good as a copy,
and an unchanged file costs one link instead of two links and an unlink. A cache
entry is hard-linked into the spool (the cache may be deleted during a build).

Without a spool folder (`charters check`, tests of one stage) the chunks are
joined into bytes, so every caller gets the same content either way.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import shutil
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20  # bytes read at a time when comparing or copying
# Bytes of a new file compared at a time with the current site's file at its path: a page
# that differs (every page, after a template edit) mostly differs in its first such piece,
# and the rest of the old file is then not read.
COMPARED = 1 << 16
# Why a hard link cannot be made where a copy can: another file system, links not
# allowed or not supported there, too many links to the file.
_NO_LINK = frozenset({errno.EXDEV, errno.EPERM, errno.EMLINK, errno.EOPNOTSUPP})


@dataclass(frozen=True)
class Spooled:
    """A file the build wrote into its spool folder, or a file of the current site it
    borrows (`borrowed`): its place and size."""

    path: str  # a plain string: a build makes thousands, and a Path costs more to make
    size: int
    borrowed: bool = False  # the current site's file, not the spool's: linked, never moved
    # Compared, as it was written, with the current site's file at its site path, and found
    # to differ: the write stage, which would compare the two again, takes it as it is.
    changed: bool = False


Content = bytes | Spooled


def size_of(content: Content) -> int:
    return content.size if isinstance(content, Spooled) else len(content)


class Spool:
    """Where a build writes large files; `folder` None keeps them in memory.

    `failed` turns an error of the file system (a full disk) into the exception the
    build reports; the partial file is removed first.
    """

    def __init__(
        self,
        folder: Path | None,
        failed: Callable[[OSError], Exception] | None = None,
        site: Path | None = None,
    ) -> None:
        self.folder = folder
        self.failed = failed
        self.site = site  # the current site, whose unchanged files are linked, not written
        self._count = 0
        self.prefix = ""  # of its files' names: a forked copy's are named apart (fork.py)
        self._made = False  # whether the folder was made (on first use)

    def write(self, chunks: Iterable[bytes], rel: str | None = None) -> Content:
        """The bytes of `chunks`, as a spooled file when there is a folder, else as bytes.

        With `rel`, the site path the file is for: when the current site's file there
        holds exactly these bytes, it is borrowed instead of written (the chunks are
        compared with it as they come), and the write stage links it, with nothing to
        compare or write.
        """
        if self.folder is None:
            return b"".join(chunks)
        it = iter(chunks)
        old = self._current(rel)
        if old is not None:
            path, f, size = old
            with f:
                # Bytes given whole (a page) of another size than the file: not the same,
                # with nothing read (after a template edit, a thousand pages).
                if not isinstance(chunks, list | tuple) or size == sum(map(len, chunks)):
                    return self._write_unless_same(it, path, f)
            return self._spooled(partial(_fill, it, None, 0), changed=True)
        return self._spooled(partial(_fill, it, None, 0))

    def _current(self, rel: str | None) -> tuple[str, BinaryIO, int] | None:
        """The current site's plain file at `rel`, open, and its size, when there is one."""
        if rel is None or self.site is None:
            return None
        path = f"{self.site}{os.sep}{rel}"
        try:  # never through a link: a link of the user's is not the build's file
            f = os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb")
        except OSError:
            return None
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            f.close()
            return None
        return path, f, st.st_size

    def _write_unless_same(self, chunks: Iterator[bytes], path: str, old: BinaryIO) -> Content:
        same = 0  # bytes of the chunks before this one, all equal to the old file's first
        for chunk in chunks:
            view = memoryview(chunk)
            for at in range(0, len(chunk), COMPARED):  # a page comes as one chunk
                piece = view[at : at + COMPARED]
                if old.read(len(piece)) != piece:  # written from the chunk, not read again
                    rest = itertools.chain([chunk], chunks)
                    return self._spooled(partial(_fill, rest, old, same), changed=True)
            same += len(chunk)
        if old.read(1):  # the old file is longer
            return self._spooled(partial(_fill, iter(()), old, same), changed=True)
        return self.borrow(path, same)

    def borrow(self, path: str, size: int) -> Content:
        """The content of the current site's plain file `path` (of `size` bytes) without
        reading it: borrowed, named where it is, and hard-linked into the new site by the
        write stage; without a folder, its bytes. Only the current site's files are
        borrowed: the build holds the site's lock, and the site is only ever replaced
        whole, so the file stays as it is until the new site is written."""
        if self.folder is None:
            with open(path, "rb") as f:
                return f.read()
        return Spooled(path, size, borrowed=True)

    def link(self, source: str | Path) -> Content | None:
        """The content of the plain file `source` (a cache entry) without reading it: a hard
        link to it in the spool folder (a copy where a link cannot be made), so the build
        owns it even if the cache is deleted meanwhile; without a folder, its bytes.

        None when `source` is gone: another process sharing the cache (`--gc`, or
        `charters serve` removing what its builds no longer use) removed the entry
        between the build's look and this link. The caller takes that as a miss and
        makes the content again, as if the entry had never been there.

        `source` must never be changed in place afterwards (cache entries are replaced,
        never rewritten), since the site's file is then the same file.
        """
        if self.folder is None:
            try:
                with open(source, "rb") as f:
                    return f.read()
            except FileNotFoundError:
                return None
        try:
            return self._spooled(partial(link_or_copy, os.fspath(source)), source=source)
        except _Gone:
            return None

    def _spooled(
        self, fill: Callable[[str], None], changed: bool = False, source: str | Path | None = None
    ) -> Spooled:
        """A new file of the spool folder, made by `fill` (`changed`: see `Spooled`); on an
        error of the file system the partial file is removed and the error reported as
        `failed` makes it. `_Gone` when the file `fill` links or copies (`source`) is gone."""
        assert self.folder is not None
        self._count += 1
        path = f"{self.folder}{os.sep}{self.prefix}{self._count:06d}"
        try:
            if not self._made:  # made on first use: a build with none writes none
                self.folder.mkdir(exist_ok=True)
                self._made = True
            fill(path)
            size = os.stat(path).st_size
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(path)
            missing = isinstance(exc, FileNotFoundError)
            if source is not None and missing and not os.path.lexists(source):
                raise _Gone from None
            if self.failed is None:
                raise
            raise self.failed(exc) from None
        return Spooled(path, size, changed=changed)


class _Gone(Exception):
    """The file a spooled file was to be linked from was removed meanwhile (Spool.link)."""


def _fill(chunks: Iterator[bytes], head: BinaryIO | None, size: int, path: str) -> None:
    """Write the first `size` bytes of `head` (bytes already compared equal), then `chunks`."""
    with open(path, "xb") as out:
        if head is not None:
            head.seek(0)
            while size > 0:
                block = head.read(min(CHUNK, size))
                if not block:
                    raise OSError(errno.EIO, "the current site's file changed while read")
                out.write(block)
                size -= len(block)
        for chunk in chunks:
            out.write(chunk)


def _umask() -> int:
    """This process's umask (read by setting it, so once, at import)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# The mode a file this process writes gets; a link shares its inode's mode instead.
FILE_MODE = 0o666 & ~_umask()


def link_or_copy(source: str, target: str) -> None:
    """Hard-link the plain file `source` as the new name `target`, or copy it where a link
    cannot be made (another file system; links not allowed, not supported, too many).

    A link has the mode its file was written with, under another build's umask, maybe
    (a cache entry made with `umask 077` linked into a site built with `022` was
    unreadable to the web server), and its mode is that of every other link to the
    file (other sites built from the same cache): a file whose mode is not `FILE_MODE`,
    what a file written now gets, is copied instead, never changed."""
    if stat.S_IMODE(os.lstat(source).st_mode) != FILE_MODE:
        shutil.copyfile(source, target, follow_symlinks=False)
        return
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in _NO_LINK:
            raise
        shutil.copyfile(source, target, follow_symlinks=False)


def place(content: Content, target: str | Path) -> None:
    """Put `content` at `target` (a new path): spooled files are moved, borrowed ones
    hard-linked (copied where a link cannot be made), bytes written."""
    if isinstance(content, bytes):
        with open(target, "wb") as f:
            f.write(content)
        return
    if content.borrowed:
        try:
            link_or_copy(content.path, str(target))
        except FileExistsError:  # a name the file system folds into another (case, say)
            if not os.path.samestat(os.lstat(content.path), os.lstat(target)):
                raise
        return
    try:
        os.rename(content.path, target)  # the spool is beside the site: the same file system
    except OSError:
        shutil.copyfile(content.path, target)


def same_bytes(path: str | Path, content: Content) -> bool:
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
