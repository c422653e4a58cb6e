"""Build recipe: `charters build --gc`, the cache folder pruned to what the build used.

Every entry of the cache (generator/cache.py) is keyed by content, so an edit leaves
the entries of what it changed behind, and a cache saved by CI after every run would
grow without end. After a successful build with `--gc`, every entry this build did
not use (read, find, link or write) is removed, and the build says how many:

* what a full build used is what it asked the cache for (:attr:`Cache.used`: every
  entry path it read, looked for, linked or wrote, and the folders it gave a library),
  with what its pages are kept with: a page taken whole from the site does not read
  its sum (`pages/…/<key>.sum`), nor does any page taken whole read its data tables
  (`tables/`), which an edit of charter.html alone renders every page from again; so a
  page rendered is kept with the key of its tables (after its sum, in `.sum`), and the
  sum and the tables of a kept page are kept too; likewise the memos of a charter taken
  from the cache (read when it is analysed or its charts described again), and the
  history's files (generator/history.py). A full build with `--gc` records that list
  under its input fingerprint (`builds/…/<fingerprint>.used`);
* a no-op build reads almost nothing, so it keeps what the full build of the same
  input recorded, and its own record. Without that record (the site was built without
  `--gc`) a no-op build with `--gc` is a full build instead: slower once, never wrong;
* Jinja's compiled templates: the current generator's folder is kept whole, the
  folders of other generators go.

Only what the cache makes is removed: the entries of its own layout (`<kind>/<two
hex digits>/<key><suffix>`, `templates/<fingerprint>/__jinja2_<hash>.cache`,
`history/…`) and the temporary files a write left behind when it was killed; any
other file or folder is left alone, a symbolic link is never followed nor removed,
and an entry changed after the build began (by another build sharing the cache) is
kept. A failed build prunes nothing; a cache folder that cannot be read or written
(gone, read-only) is never an error: what could not be removed stays.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .cache import Cache, generator_fingerprint

# The kinds of entry kept as `<kind>/<key[:2]>/<key><suffix>` (cache.Cache.path).
KINDS = (
    "api-json",
    "builds",
    "charters",
    "charts",
    "charts-of",
    "check-json",
    "checks",
    "downloads",
    "feed",
    "fragments",
    "memo",
    "pages",
    "rules",
    "tables",
)
_KINDS = "|".join(re.escape(k) for k in KINDS)
_HEX40 = "[0-9a-f]{40}"
# An entry, and the temporary file of an entry being written (cache.Cache.put_chunks).
_ENTRY = re.compile(rf"(?:{_KINDS})/([0-9a-f]{{2}})/(({_HEX40})(?:\.[a-z]+)?)")
_ENTRY_TMP = re.compile(rf"(?:{_KINDS})/([0-9a-f]{{2}})/\.({_HEX40})(?:\.[a-z]+)?\.[0-9a-f]+\.tmp")
# Jinja's compiled templates (jinja2.FileSystemBytecodeCache) and their temporary files.
_TEMPLATE = re.compile(rf"templates/({_HEX40})/__jinja2_[0-9a-f]{{40}}\.cache")
_TEMPLATE_TMP = re.compile(rf"templates/({_HEX40})/__jinja2_[0-9a-f]{{40}}\.cache\w+\.tmp")
# The history (history.py): by source, head and names, and its verdicts by source.
_HISTORY = re.compile(r"history/(?:[0-9a-f]{16}-[0-9a-f]{40,64}-[0-9a-f]{8}|verdicts/[0-9a-f]{16})")
# Another generator's folder of compiled templates, removed once emptied. The folders
# `<kind>/<xx>` stay: at most 256 a kind, the next entries go there, and removing a
# folder costs a file system far more than removing a file (milliseconds each).
_FOLDER = re.compile(rf"templates{re.escape(os.sep)}{_HEX40}")
_RECORD = "charters-used-1"


@dataclass(frozen=True)
class Pruned:
    """What `--gc` removed: how many entries, and their size in bytes."""

    entries: int = 0
    size: int = 0

    def summary(self) -> str:
        """The one line a build with --gc prints after its summary."""
        noun = "unused cache entry" if self.entries == 1 else "unused cache entries"
        size = f" ({_megabytes(self.size)})" if self.entries else ""
        return f"removed {self.entries:,} {noun}{size}"


def _megabytes(size: int) -> str:
    return f"{size / 1e6:,.1f} MB" if size >= 50_000 else f"{size / 1e3:,.1f} kB"


def save_used(cache: Cache, fingerprint: str) -> None:
    """Record what the full build of `fingerprint` used, for a no-op build's `--gc`."""
    root = cache.root
    if root is None:
        return
    record = cache.path("builds", fingerprint, ".used")
    if record is None:
        return
    start = len(f"{root}{os.sep}")
    names = sorted(p[start:].replace(os.sep, "/") for p in (*cache.used, *cache.folders))
    body = "\n".join(names).encode("utf-8", "surrogateescape")
    cache.put("builds", fingerprint, _header(body) + body, ".used")


def _header(body: bytes) -> bytes:
    """The record's first line: its format and a hash of the rest, so a damaged record is
    known (and the no-op build then runs in full) rather than trusted."""
    return f"{_RECORD} {hashlib.blake2b(body, digest_size=20).hexdigest()}\n".encode()


def load_used(cache: Cache, fingerprint: str) -> bool:
    """Note as used what the full build of `fingerprint` recorded; whether it had."""
    root = cache.root
    raw = cache.get("builds", fingerprint, ".used")
    if raw is None or root is None:
        return False
    head, _, body = raw.partition(b"\n")
    if head + b"\n" != _header(body):
        return False
    base = f"{root}{os.sep}"
    for name in body.decode("utf-8", "surrogateescape").split("\n") if body else ():
        if name.startswith("templates/"):
            cache.folders.add(base + name.replace("/", os.sep))
        else:
            cache.used.add(base + name.replace("/", os.sep))
    return True


def _with_page_parts(cache: Cache) -> set[str]:
    """What the build used, with what each of its pages is kept with (`_page_parts`)."""
    keep = set(cache.used)
    root = cache.root
    return keep | _page_parts(str(root), keep) if root is not None else keep


def _page_parts(root: str, paths: Iterable[str]) -> set[str]:
    """What each page entry among `paths` is kept with: its sum (`.sum`), and the data
    tables it was made from (named in `.sum`, after the sum)."""
    parts: set[str] = set()
    pages = f"{root}{os.sep}pages{os.sep}"
    for path in [p for p in paths if p.startswith(pages) and p.endswith(".html")]:
        page_sum = path.removesuffix(".html") + ".sum"
        parts.add(page_sum)
        try:
            with open(page_sum, "rb") as f:
                keys = f.read().decode("ascii").split("\n")[1:]  # after the sum
        except (OSError, UnicodeDecodeError):
            continue
        for key in keys:
            if re.fullmatch(_HEX40, key):
                parts.add(f"{root}{os.sep}tables{os.sep}{key[:2]}{os.sep}{key}.pickle")
    return parts


def superseded(
    cache: Cache, own: Mapping[str, int], ok: bool
) -> tuple[dict[str, int], list[tuple[str, int]]]:
    """Between the builds of a process that builds again (`charters serve`): of the
    entries its builds wrote, those a later build no longer used, to be removed
    (:func:`remove_unchanged_since`), so a session of saves leaves the cache no larger
    than its last state needs (a template saved ten times at 1,000 charters left ten
    sets of 1,000 pages, some 250 MB each, until `--gc`).

    `own` holds what its earlier builds wrote and the last successful one still used;
    this build's writes join it. After a successful build (`ok`), every one of them it
    did not use (with what its pages are kept with, `_page_parts`) is to go. Entries
    this process did not write, as a `charters build` of the site wrote them, are never
    among them: they are `--gc`'s. Each entry goes with the inode it was written as
    (`Cache.written`). Returns the new `own` and the entries to remove."""
    pool = {**own, **cache.written}
    root = cache.root
    if not ok or root is None:
        return pool, []
    used = {path for path in pool if path in cache.used}
    keep = used | _page_parts(str(root), used)
    prefix = f"{root}{os.sep}"  # a path of another folder (the cache moved) is not one
    gone = sorted(p for p in pool.keys() - keep if p.startswith(prefix))
    return {p: pool[p] for p in keep if p in pool}, [(p, pool[p]) for p in gone]


def remove_unchanged_since(paths: Iterable[tuple[str, int]], since: float) -> None:
    """Remove each entry of `paths` that is still the plain file this process wrote (the
    inode given with it) and was last changed before `since` (the start of the build
    that found it unused). One another build sharing the cache wrote since is that
    build's, whether its clock shows it (a later time) or not (a time as coarse as the
    file system keeps, or a write between this look and the removal: it replaced the
    entry by a file of its own, another inode). What cannot be removed (gone, a
    read-only folder) stays."""
    for path, inode in paths:
        try:
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode) and st.st_ino == inode and st.st_mtime < since:
                os.unlink(path)
        except OSError:
            continue


def prune(cache: Cache, since: float) -> Pruned:
    """Remove every entry of `cache` that is not used (see the module's docstring) and
    was last changed before `since` (a time.time() value); what was removed."""
    root = cache.root
    if root is None or not hasattr(os, "fwalk"):  # no walk safe from links (Windows): kept
        return Pruned()
    keep = _with_page_parts(cache)
    folders = {f.replace(os.sep, "/") for f in cache.folders}
    folders.add(f"{root}/templates/{generator_fingerprint()}")
    try:
        top = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # gone, or not a folder: nothing to prune
        return Pruned()
    entries = size = 0
    try:
        for kind in (*KINDS, "templates", "history"):
            try:
                removed = _prune_under(top, kind, str(root), keep, folders, since)
            except OSError:  # the folder is not there (or went away): nothing to remove
                continue
            entries += len(removed)
            size += sum(removed)
    finally:
        os.close(top)
    return Pruned(entries, size)


def _prune_under(
    top: int, kind: str, root: str, keep: set[str], folders: set[str], since: float
) -> list[int]:
    """Remove what is not kept under the folder `kind` of the cache (open as `top`),
    without following a symbolic link; the sizes of the files removed. Another generator's
    folder of compiled templates left empty goes too."""
    removed: list[int] = []
    emptied: set[str] = set()  # folders walked that were left empty
    for dirpath, dirnames, filenames, dirfd in os.fwalk(kind, topdown=False, dir_fd=top):
        rel_dir = dirpath.replace(os.sep, "/")
        left = len(filenames) + len(dirnames)
        for name in filenames:
            path = f"{root}{os.sep}{dirpath}{os.sep}{name}"
            if not _removable(f"{rel_dir}/{name}", path, keep, folders, root):
                continue
            try:
                st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
                if not stat.S_ISREG(st.st_mode) or st.st_mtime >= since:
                    continue
                os.unlink(name, dir_fd=dirfd)
            except OSError:  # gone already, or the folder is read-only: it stays
                continue
            removed.append(st.st_size)
            left -= 1
        for name in dirnames:  # walked (so not a link), of the layout, and left empty
            child = os.path.join(dirpath, name)
            if child in emptied and _FOLDER.fullmatch(child):
                try:
                    os.rmdir(name, dir_fd=dirfd)
                except OSError:  # written to since, or not ours to remove: it stays
                    continue
                left -= 1
        if not left:
            emptied.add(dirpath)
    return removed


def _removable(rel: str, path: str, keep: set[str], folders: set[str], root: str) -> bool:
    """Whether the file at `rel` (relative to the cache, with `/`) is an entry of the
    cache's own layout that this build did not use (its temporary files included)."""
    if match := _ENTRY.fullmatch(rel):
        return match.group(3)[:2] == match.group(1) and path not in keep
    if match := _ENTRY_TMP.fullmatch(rel):
        return match.group(2)[:2] == match.group(1)
    if (match := _TEMPLATE.fullmatch(rel)) or (match := _TEMPLATE_TMP.fullmatch(rel)):
        used = f"{root}/templates/{match.group(1)}" in folders
        return not used or rel.endswith(".tmp")
    if _HISTORY.fullmatch(rel.removesuffix(".json")):
        return rel.endswith(".json") and path not in keep
    base = re.fullmatch(r"(.*)\.\d+\.tmp", rel)  # a history file's temporary file
    return base is not None and _HISTORY.fullmatch(base.group(1)) is not None
