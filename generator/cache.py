"""Build recipe (shared by build and serve): the content-addressed cache of expensive work.

Everything here is keyed by content hashes (blake2b) and the generator's own
fingerprint, never by modification times, so an entry can never be stale: a
changed input gives a different key, and an entry that no key reaches is simply
not read again. Deleting the cache folder is always safe; the next build redoes
the work.

* :func:`input_fingerprint` hashes every file a build reads (site.yaml,
  metrics.yaml, everything under charters/ and templates/), the generator
  (its version, its own code and built-in templates, the libraries that shape
  the output) and the settings that change the output (the dates, the live
  reload token). A build whose fingerprint equals the one recorded in the
  output's manifest, with the output intact, is a no-op: nothing is drawn,
  rendered or written.
* :class:`Cache` holds the drawn charts (`charts/`) and what a no-op build
  reports again (`builds/`: its warnings), in `.charters-cache/` in the source
  folder by default, `--cache-dir` or `CHARTERS_CACHE_DIR` elsewhere. Entries are
  written atomically; one that cannot be read back or does not parse is ignored
  and rebuilt. A cache folder that cannot be written costs a warning, not the
  build. It notes every entry a build asks for, which `charters build --gc` keeps
  while it removes the rest (generator/prune.py).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import secrets
import stat
import sys
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import date
from functools import cache as memoized
from functools import partial
from pathlib import Path
from typing import Any

from . import __version__
from .diagnostics import Diagnostic, SourceRef
from .spool import link_or_copy

CACHE_ENV = "CHARTERS_CACHE_DIR"
CACHE_FOLDER = ".charters-cache"
# What a cache folder the build makes (or the default one) is given, as pytest, mypy and
# ruff give theirs: git ignores everything in it, so `git add .` never commits a cache
# (which a build would then refuse), and backup tools that follow the Cache Directory
# Tagging Specification skip it. A folder named with --cache-dir that was there before is
# someone's own and is given nothing.
CACHE_TAGS = {
    ".gitignore": "# Made by charters: this folder is a cache, safe to delete.\n*\n",
    "CACHEDIR.TAG": (
        "Signature: 8a477f597d28d172789f06886806bc55\n"
        "# This file is a cache directory tag made by charters.\n"
        "# For information about cache directory tags see https://bford.info/cachedir/\n"
    ),
}
# The files and folders of a source tree that a build reads; nothing else is an input.
INPUT_FILES = ("site.yaml", "metrics.yaml")
INPUT_FOLDERS = ("charters", "templates")
# Libraries whose version can change a byte of the output.
LIBRARIES = ("jinja2", "markdown", "nh3", "matplotlib", "numpy", "scipy", "pydantic", "pyyaml")
_CHUNK = 1 << 20
# A charter.yaml, site.yaml or metrics.yaml larger than this is refused by its size
# before a byte of it is read (readers.MAX_CHARTER_BYTES; MAX_YAML_BYTES, should a
# charter's results glob name its charter.yaml), so the walk hashes its size alone: a
# sparse file of gigabytes took most of a minute to hash before its one-line error.
_UNREAD_ABOVE = 5_000_000
# What `Cache.memory` keeps: entries of at most this size, of kinds other than these
# (a charter is kept analysed, not as its pickle; a page is large and rarely read back).
REMEMBERED_SIZE = 32 << 10
UNREMEMBERED = frozenset({"charters", "pages"})
_FORMAT = "charters-cache-1"


def cache_dir(source: Path, explicit: Path | None = None) -> Path:
    """Where the cache lives: `explicit`, else CHARTERS_CACHE_DIR, else in the source folder."""
    if explicit is not None:
        return explicit
    env = os.environ.get(CACHE_ENV, "").strip()
    return Path(env) if env else source / CACHE_FOLDER


def open_cache(source: Path, explicit: Path | None = None) -> Cache:
    """The cache of a build of `source` (see :func:`cache_dir`).

    A folder inside the source tree may come from a pull request, and a cache holds
    what the build publishes (charts) and runs (compiled templates). There it is not
    used when it is a symbolic link, so that a link committed as `.charters-cache`
    cannot make a build write outside the tree, nor when git tracks a file in it: a
    committed cache is someone's content, not this machine's work.
    """
    path = cache_dir(source, explicit)
    among = _among_input(path, source)
    if among is not None:  # its entries would be read as input
        where = "the source folder" if among == "." else f"inside the source's {among}/"
        warning = (
            f"the cache folder is {where}, which every build reads as input; the build goes"
            " on without a cache (choose another --cache-dir)"
        )
        shown = Path(os.path.relpath(os.path.abspath(path), os.path.abspath(source))).as_posix()
        return Cache(None, warning=warning, warning_at=shown)
    inside = _inside(path, source)
    if inside is None:
        return Cache(path)
    if path.is_symlink():
        warning = f"{inside} is a symbolic link; the build goes on without a cache"
        return Cache(None, warning=warning)
    from .gitrepo import tracked

    if tracked(source, inside):
        warning = (
            f"{inside} holds files committed to git; the build goes on without a cache"
            " (a cache is this machine's work: remove it from the repository with"
            f" `git rm -r --cached {inside}`)"
        )
        return Cache(None, warning=warning)
    return Cache(path)


def _among_input(path: Path, source: Path) -> str | None:
    """ "." when `path` is the source folder, the input folder (`charters`, `templates`) it
    lies in, links followed (charters/ may be a link to data/charters), else None."""
    where = Path(os.path.realpath(path.parent)) / path.name
    if where == Path(os.path.realpath(source)):
        return "."
    for name in INPUT_FOLDERS:
        if where.is_relative_to(os.path.realpath(source / name)):
            return name
    return None


def _inside(path: Path, source: Path) -> str | None:
    """`path` relative to `source` when it lies inside it (links of `path` itself not
    followed), else None."""
    try:
        rel = os.path.relpath(
            os.path.join(os.path.realpath(path.parent), path.name), os.path.realpath(source)
        )
    except ValueError:  # another drive
        return None
    if rel == os.curdir or rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return None if rel != os.curdir else rel
    return Path(rel).as_posix()


def digest(*parts: str) -> str:
    """One blake2b hash of `parts`, each ended by a NUL."""
    return str(hashing(*parts).hexdigest())


def hashing(*parts: str) -> Any:
    """The blake2b hash object of `digest` after `parts`, for keys that share their first
    parts: `digest_after(hashing(*a), *b) == digest(*a, *b)`, with `a` hashed once."""
    return _hashed(hashlib.blake2b(digest_size=20), parts)


def digest_after(start: Any, *parts: str) -> str:
    """`digest` of the parts `start` (from :func:`hashing`) has hashed, then `parts`."""
    return str(_hashed(start.copy(), parts).hexdigest())


def _hashed(h: Any, parts: Sequence[str]) -> Any:
    """`h` after each of `parts`, each ended by a NUL."""
    for part in parts:
        h.update(part.encode("utf-8", "surrogateescape"))
        h.update(b"\0")
    return h


def sum_line(chunks: Iterable[bytes | memoryview]) -> bytes:
    """The size and CRC-32 of the bytes of `chunks`, as one line: what an entry is checked
    by. The cache is trusted (docs/cache.md), so the check is against damage (a disk, a
    restore cut short, a file changed in place), and a CRC finds any burst of up to 32
    bits and all but one in 2**32 of the rest, at a small part of the cost of a
    cryptographic hash."""
    crc, size = 0, 0
    for chunk in chunks:
        crc = zlib.crc32(chunk, crc)
        size += len(chunk)
    return b"%d %08x\n" % (size, crc)


def summed(body: bytes) -> bytes:
    """An entry of `body` that says its size and CRC-32 first (read with `unsummed`)."""
    return sum_line([body]) + body


def unsummed(entry: bytes | None) -> memoryview | None:
    """The body of an entry written by `summed`, when its size and CRC-32 match; else None
    (cut short, damaged, or not written so). A view of `entry`, not a copy: the bodies a
    build reads back (a charter's, a page's data tables) are large, and are only
    unpickled."""
    if entry is None:
        return None
    end = entry.find(b"\n") + 1
    if not end:
        return None
    body = memoryview(entry)[end:]
    if sum_line([body]) != entry[:end]:
        return None
    return body


def _hash_file(path: str | Path, h: Any, unread_above: int | None = None) -> None:
    """Hash a file's bytes; only its size when it is larger than `unread_above`."""
    # Read with os.read, not a file object: a walk reads thousands of small files.
    fd = os.open(path, os.O_RDONLY)
    try:
        if unread_above is not None and (size := os.fstat(fd).st_size) > unread_above:
            h.update(f"unread {size}\0".encode())
            return
        while chunk := os.read(fd, _CHUNK):
            h.update(chunk)
    finally:
        os.close(fd)


@memoized
def generator_fingerprint() -> str:
    """The generator's version, code, built-in templates and libraries, as one hash.

    Its own files are hashed too, not only the version, so a changed checkout of
    the generator never reuses what an older one made.
    """
    h = hashlib.blake2b(digest_size=20)
    h.update(f"{_FORMAT}\0{__version__}\0".encode())
    for name in LIBRARIES:
        h.update(f"{name}={library_version(name)}\0".encode())
    package = Path(__file__).resolve().parent
    builtin = package / "templates"  # where an installed package has them
    if not builtin.is_dir():  # running from a source checkout
        builtin = package.parent / "templates"
    for top, suffixes in ((package, (".py", ".js", ".json")), (builtin, None)):
        for path in sorted(_files_under(top)):
            if suffixes is None or path.suffix in suffixes:
                h.update(path.relative_to(top).as_posix().encode() + b"\0")
                _hash_file(path, h)
    return h.hexdigest()


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@memoized
def _dist_infos() -> dict[str, str]:
    """Installed distribution → version, read from the names of the `.dist-info` folders on
    sys.path, the first one found winning as in an import. Reading a name is much cheaper
    than parsing each METADATA file, and a no-op build pays for it."""
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info"):
                dist, _, version = name.removesuffix(".dist-info").partition("-")
                found.setdefault(_normal(dist), version)
    return found


def library_version(name: str) -> str:
    """The installed version of library `name`, or "none"."""
    version = _dist_infos().get(_normal(name))
    if version:
        return version
    from importlib import metadata  # lazy: some 25 ms, and a .dist-info folder is the rule

    try:  # installed some other way (an .egg-info, say): ask its metadata
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "none"


def _files_under(top: Path) -> Iterable[Path]:
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in filenames:
            yield Path(dirpath) / name


#: The modules whose code shapes a chart's SVG beyond its spec: the drawing code and what
#: it imports from the generator, followed through their imports (a unit test checks the
#: list against the imports). The spec's module is in it but not what it imports: what
#: those compute is in the spec, and so in its key. Not `charts/__init__.py`, which
#: only decides what to draw and keeps the books: an edit there redraws nothing.
DRAWING_MODULES = (
    "charts/decor.py",
    "charts/draw.py",
    "charts/spec.py",
    "charts/svg.py",
    "diagnostics.py",
    "formatting.py",
    "model.py",
    "paths.py",
    "vocabulary.py",
)


@memoized
def drawing_fingerprint() -> str:
    """What else than a chart's spec shapes its SVG: the drawing code and matplotlib."""
    h = hashlib.blake2b(digest_size=20)
    for name in ("matplotlib", "numpy"):
        h.update(f"{name}={library_version(name)}\0".encode())
    package = Path(__file__).resolve().parent
    for name in DRAWING_MODULES:
        h.update(name.encode() + b"\0")
        _hash_file(package / name, h)
    return h.hexdigest()


def chart_key(spec_key: str, chart_id: str) -> str:
    """The cache key of a drawn chart: its spec key (what it shows), the id that salts its
    SVG's element ids, and the drawing code."""
    return digest(_FORMAT, drawing_fingerprint(), spec_key, chart_id)


@dataclass(frozen=True)
class Context:
    """The settings besides the files that change what a build writes."""

    day: date  # the build date: results dated after it are refused, staleness as of it
    live_reload: bool | str = False
    repository: str = ""  # the git state the history is read from (generator/gitrepo.py)


def input_fingerprint(tree: SourceTree, context: Context) -> str:
    """One hash of every input of a build (see the module's docstring): the source files
    as walked by :func:`source_tree`, the generator and the settings in `context`."""
    settings = f"{context.day}\0{context.live_reload!r}\0{context.repository}\0"
    return digest(_FORMAT, "input", generator_fingerprint(), settings, tree.digest)


@dataclass(frozen=True)
class SourceTree:
    """One walk of the source files a build and `check` read: a hash of them all (by name,
    kind, link target and content), and the entries that are links leaving the tree."""

    digest: str
    outside: tuple[str, ...]

    def open_parts(self, parts: Mapping[str, str]) -> list[str]:
        """The parts (see :func:`source_tree`) whose hash cannot stand for what a build
        reads of them: a charter's folder holding a link out of the tree (what is at its
        end is not hashed, yet whether it is there turns a warning into an error), and
        every charter's when metrics.yaml, which each charter is read with, leads out."""
        heads = {rel.split("/", 2)[0] for rel in self.outside}
        if "metrics.yaml" in heads:
            return [name for name in parts if name.startswith("charters/")]
        folders = {"/".join(rel.split("/", 2)[:2]) for rel in self.outside}
        return [name for name in parts if name in folders and name.startswith("charters/")]


def source_tree(
    source: Path, skip: Sequence[Path] = (), parts: dict[str, str] | None = None
) -> SourceTree:
    """Walk and hash the source files of `source`, each read once.

    Links are followed (their target's text is hashed too, since whether a link leaves
    the tree decides what is read); `skip` (the output and cache folders, when they lie
    inside an input folder) is left out.

    `parts`, when given, receives the hash of each part of the input by its name:
    `site.yaml`, `metrics.yaml`, `templates` and each `charters/<name>` (its whole
    folder), so the per-charter cache (generator/reuse.py) needs no second walk.
    """
    h = hashlib.blake2b(digest_size=20)
    found = parts if parts is not None else {}
    walk = _Walk(os.path.realpath(source), {os.path.realpath(p) for p in skip}, h, parts=found)
    for name in (*INPUT_FILES, *INPUT_FOLDERS):
        _hash_entry(f"{source}{os.sep}{name}", name, walk, set())
    return SourceTree(h.hexdigest(), tuple(walk.outside))


def part_digests(source: Path, names: Iterable[str], skip: Sequence[Path] = ()) -> dict[str, str]:
    """The hash of each named part (`site.yaml`, `templates`, `charters/<name>`, ...) walked
    again as :func:`source_tree` walks it, to tell whether it changed since."""
    walk = _Walk(
        os.path.realpath(source),
        {os.path.realpath(p) for p in skip},
        hashlib.blake2b(digest_size=20),
    )
    charters = os.path.realpath(source / "charters")
    for name in names:
        inside = name.startswith("charters/")  # reached through charters/, as the walk does
        seen = {charters} if inside else set()
        _hash_entry(f"{source}{os.sep}{name}", name, walk, seen, charters if inside else None)
    return walk.parts


def tree_key(tree: SourceTree, salt: str) -> str | None:
    """One hash of the source files as walked by :func:`source_tree` (the same files as
    :func:`input_fingerprint`), the generator's fingerprint and `salt` (what else
    changes the result of the command that asks).

    For `charters check`, whose report depends on no git state, live-reload token or
    output folder. None when an entry is a link that leaves the source folder: what
    lies at its end is not hashed, yet whether it exists can change a report (a link
    to a missing file is a warning, to a present one an error), so such a tree has no
    fingerprint to cache by.
    """
    if tree.outside:
        return None
    return digest(_FORMAT, "tree", generator_fingerprint(), salt, tree.digest)


@dataclass(frozen=True)
class _Walk:
    root: str  # the source folder, links resolved
    skipped: set[str]
    h: Any
    outside: list[str] = field(default_factory=list)  # entries that are links leaving the tree
    parts: dict[str, str] = field(default_factory=dict)  # hash of each part, by name


def _is_part(rel: str) -> bool:
    """Whether `rel` is a part hashed on its own: a top-level input or a charter's folder."""
    head, _, rest = rel.partition("/")
    if head == "charters":
        return rest != "" and "/" not in rest
    return not rest


def _hash_entry(
    path: str,
    rel: str,
    walk: _Walk,
    seen: set[str],
    real_parent: str | None = None,
    mode: int | None = None,
) -> None:
    """Hash one entry into the walk; a part (see :func:`_is_part`) is hashed on its own
    first, and its hash recorded and folded in. `real_parent` is the resolved path of
    the folder the entry is in, when known; `mode`, the entry's kind when its folder's
    listing told it (a plain file or folder; else looked up)."""
    if not _is_part(rel):
        _hash_one(path, rel, walk, seen, real_parent, mode)
        return
    own = _Walk(walk.root, walk.skipped, hashlib.blake2b(digest_size=20), walk.outside, walk.parts)
    _hash_one(path, rel, own, seen, real_parent, mode)
    digest = own.h.hexdigest()
    walk.parts[rel] = digest
    walk.h.update(f"part\0{digest}\0".encode())


def _hash_one(
    path: str,
    rel: str,
    walk: _Walk,
    seen: set[str],
    real_parent: str | None = None,
    mode: int | None = None,
) -> None:
    """Hash one entry by its relative name, kind, link target and content.

    A link that leaves the source folder is hashed by its target's name only: the
    build refuses it, and it must not lead the hash through someone's disk. Paths are
    plain strings: a tree of a thousand charters has thousands of entries.
    """
    h = walk.h
    h.update(rel.encode("utf-8", "surrogateescape") + b"\0")
    try:
        if mode is None:
            mode = _mode(path)
        link = mode is not None and stat.S_ISLNK(mode)
        if link:
            h.update(b"link\0" + os.fsencode(os.readlink(path)) + b"\0")
            mode = _mode(path, follow=True)
        if real_parent is None or link:
            real = os.path.realpath(path)
        else:  # not a link, in a resolved folder: no need to resolve it again
            real = f"{real_parent}{os.sep}{rel.rpartition('/')[2]}"
        if real in walk.skipped:
            h.update(b"skipped\0")
        elif real != walk.root and not real.startswith(walk.root + os.sep):
            h.update(b"outside\0")
            walk.outside.append(rel)
        elif mode is not None and stat.S_ISDIR(mode):
            if real in seen:  # a link back up the tree
                h.update(b"cycle\0")
                return
            _hash_folder(path, rel, walk, seen | {real}, real)
        elif mode is not None and stat.S_ISREG(mode):
            h.update(b"file\0")
            _hash_file(path, h, _UNREAD_ABOVE if _sized_only(rel) else None)
            h.update(b"\0end\0")
        else:
            h.update(b"absent\0" if not os.path.lexists(path) else b"other\0")
    except OSError as exc:
        # An unreadable entry: the build itself reports it; the hash only has to differ.
        h.update(f"error {exc.errno}\0".encode())


def _sized_only(rel: str) -> bool:
    """Whether `rel` is a file hashed by its size alone past `_UNREAD_ABOVE`: site.yaml,
    metrics.yaml, or a charter's charter.yaml."""
    if not rel.endswith(".yaml"):  # most files: checked first, the walk meets thousands
        return False
    if rel in INPUT_FILES:
        return True
    head, _, rest = rel.partition("/")
    return head == "charters" and rest.count("/") == 1 and rest.endswith("/charter.yaml")


def _hash_folder(path: str, rel: str, walk: _Walk, seen: set[str], real: str) -> None:
    """Hash a folder's entries in the order of their names. The listing tells each
    entry's kind (its `d_type`) without a look at the entry itself: a plain file or
    folder is hashed as such; a link, or anything else, is looked at."""
    with os.scandir(path) as listing:
        entries = sorted((entry.name, _listed_mode(entry)) for entry in listing)
    walk.h.update(b"dir\0" + str(len(entries)).encode() + b"\0")
    sep = os.sep
    for name, mode in entries:
        _hash_entry(f"{path}{sep}{name}", f"{rel}/{name}", walk, seen, real, mode)


def _listed_mode(entry: os.DirEntry[str]) -> int | None:
    """The kind of a folder's entry as its listing tells it, when that is a plain file or
    folder (not a link); else None, for it to be looked at (`_mode`)."""
    if entry.is_symlink():
        return None
    if entry.is_dir(follow_symlinks=False):
        return stat.S_IFDIR
    if entry.is_file(follow_symlinks=False):
        return stat.S_IFREG
    return None


def _mode(path: str, follow: bool = False) -> int | None:
    """The entry's mode (of the link itself unless `follow`), or None when there is none
    to read: the errors `pathlib`'s `is_dir` and `is_file` take for "no such entry"."""
    try:
        return (os.stat(path) if follow else os.lstat(path)).st_mode
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP):
            return None
        raise


@dataclass
class Cache:
    """A folder of entries by kind and key; unusable (None root) after a failed write."""

    root: Path | None
    warning: str | None = None
    warning_at: str = CACHE_FOLDER  # the folder the warning is about
    hits: dict[str, int] = field(default_factory=dict)
    # Small entries a process that builds again keeps in memory (reuse.Kept), by path:
    # an entry's bytes never change under its key, so they are read from there, not the
    # disk; `remembered` holds those this build read or wrote, for the next.
    memory: Mapping[str, bytes] | None = None
    remembered: dict[str, bytes] = field(default_factory=dict)
    # The entries such a process saw in the folder in its last build, and those this build
    # saw: `holds` asks the folder only about the others (see there).
    seen_before: Set[str] | None = None
    seen: set[str] = field(default_factory=set)
    # Every entry this build asked for (read, found, linked or written), by its path, and
    # the folders it gave a library: what `charters build --gc` keeps (generator/prune.py).
    used: set[str] = field(default_factory=set)
    folders: set[str] = field(default_factory=set)
    collect: bool = False  # a build with --gc: also note what its pages were made from
    # The entries this build wrote, each with the inode it was written as: a process that
    # removes what its builds left (serve: prune.remove_unchanged_since) removes an entry
    # only while it is still that file, never one another build wrote over it since.
    written: dict[str, int] = field(default_factory=dict)
    # In a forked copy of the build (generator/fork.py), a file each entry is noted in
    # ("inode path\0") before it is put in place: the build reads it when the copy stops
    # before it reports what it wrote, so that those entries are the build's too.
    journal: int | None = None
    _made_root: bool = False  # the folder was made (and tagged) by this build already

    def _make_root(self) -> None:
        """Make the cache folder when it is not there, and give it `CACHE_TAGS` when this
        made it or it is the default folder; once a build. Raises OSError when the folder
        cannot be made (the caller stops the cache)."""
        if self._made_root or self.root is None:
            return
        root = self.root
        new = not os.path.lexists(root)
        os.makedirs(root, exist_ok=True)
        self._made_root = True
        if not (new or root.name == CACHE_FOLDER):
            return
        for name, text in CACHE_TAGS.items():
            path = os.path.join(root, name)
            if os.path.lexists(path):
                continue
            tmp = f"{path}.{secrets.token_hex(6)}.tmp"
            try:
                with open(tmp, "x", encoding="utf-8") as f:
                    f.write(text)
                os.replace(tmp, path)
            except OSError:  # the entries' own writes say what is wrong with the folder
                with contextlib.suppress(OSError):
                    os.unlink(tmp)

    def discard_written(self) -> None:
        """Remove every entry this build wrote (a source file changed while it was read, so
        they may hold another version's content under this one's key)."""
        self.discard(list(self.written))
        self.written.clear()

    def take_journal(self, journal: int) -> list[str]:
        """The entries a forked copy noted in `journal` (see there) as this build's own
        written ones; a note cut short (the copy killed while writing it) is left out, as
        its entry was never put in place. Their paths."""
        notes = b""
        while chunk := os.pread(journal, 1 << 20, len(notes)):
            notes += chunk
        paths = []
        for note in notes.split(b"\0")[:-1]:
            inode, _, path = note.decode("utf-8", "surrogateescape").partition(" ")
            self.written[path] = int(inode)
            paths.append(path)
        return paths

    def discard(self, paths: Iterable[str], inodes: Mapping[str, int] | None = None) -> None:
        """Remove the entries at `paths` (written by this build, or by a forked copy of it:
        generator/fork.py), and forget them as remembered. One whose inode is known
        (`inodes`, else `written`) is removed only while it is still that file: a copy
        killed after noting an entry but before putting it in place left another's there."""
        known = self.written if inodes is None else inodes
        for path in paths:
            with contextlib.suppress(OSError):
                inode = known.get(path)
                if inode is None or os.lstat(path).st_ino == inode:
                    os.unlink(path)
            self.remembered.pop(path, None)

    def path(self, kind: str, key: str, suffix: str) -> str | None:
        """Where the entry `key` of `kind` is or would be (a plain string: a build asks for
        thousands, and joining strings costs far less than joining Paths); noted as used."""
        if self.root is None:
            return None
        sep = os.sep
        path = f"{self.root}{sep}{kind}{sep}{key[:2]}{sep}{key}{suffix}"
        self.used.add(path)
        return path

    def entry(self, kind: str, key: str, suffix: str = "", count: bool = True) -> str | None:
        """The file of an entry, when there is one and it is a plain file (never a link);
        `count` it as a hit."""
        path = self.path(kind, key, suffix)
        if path is None:
            return None
        try:
            if not stat.S_ISREG(os.lstat(path).st_mode):
                return None
        except OSError:
            return None
        if count:
            self.hits[kind] = self.hits.get(kind, 0) + 1
        return path

    def holds(self, kind: str, key: str, suffix: str = "") -> bool:
        """Whether the folder has the entry, for a build that has what it needs elsewhere
        and would only store it for the next build (a chart the current site has); counted
        as a hit when it does, as `entry` counts. A process that builds again takes an entry
        it saw in its last build as still there: a folder emptied while it runs is refilled
        on its next start, not at every save (never a wrong byte: it is not read here)."""
        path = self.path(kind, key, suffix)
        if path is None:
            return True  # no folder to fill
        if self.seen_before is None or path not in self.seen_before:
            if self.entry(kind, key, suffix) is None:
                return False
        else:
            self.hits[kind] = self.hits.get(kind, 0) + 1
        if self.seen_before is not None:
            self.seen.add(path)
        return True

    def get(self, kind: str, key: str, suffix: str = "") -> bytes | None:
        path = self.path(kind, key, suffix)
        if path is None:
            return None
        data = self.memory.get(path) if self.memory is not None else None
        if data is None:
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                return None
        self._remember(path, kind, data)
        self.hits[kind] = self.hits.get(kind, 0) + 1
        return data

    def put(self, kind: str, key: str, data: bytes, suffix: str = "") -> None:
        """Store an entry atomically (a temporary file renamed over it), or give up quietly
        after the first failure with a warning for the build to report."""
        path = self.put_chunks(kind, key, [data], suffix=suffix)
        if path is not None:
            self._remember(path, kind, data)

    def put_summed(self, kind: str, key: str, body: bytes | memoryview, suffix: str = "") -> None:
        """:meth:`put` of `summed(body)`, written from `body` as it is (a large one is never
        copied whole); copied for `memory` only when small enough to be remembered."""
        path = self.put_chunks(kind, key, [sum_line([body])], [body], suffix=suffix)
        if path is not None and self.memory is not None and len(body) <= REMEMBERED_SIZE:
            self._remember(path, kind, summed(bytes(body)))

    def _remember(self, path: str, kind: str, data: bytes) -> None:
        """Keep a small entry for the next build of this process (see `memory`)."""
        if self.memory is not None and kind not in UNREMEMBERED and len(data) <= REMEMBERED_SIZE:
            self.remembered[path] = data

    def put_chunks(
        self, kind: str, key: str, *parts: Iterable[bytes | memoryview], suffix: str = ""
    ) -> str | None:
        """:meth:`put` of the bytes of `parts` in turn, never held in memory at once; the
        entry's path, None when it could not be written."""

        def write(tmp: str) -> None:
            with open(tmp, "wb") as f:
                for part in parts:
                    for chunk in part:
                        f.write(chunk)

        return self._install(kind, key, suffix, write)

    def put_link(self, kind: str, key: str, source: str, suffix: str = "") -> None:
        """:meth:`put` of the plain file `source` without reading it: hard-linked (copied
        where a link cannot be made) to a temporary name, renamed over the entry. The
        entry is then the same file as `source`, so `source` must never be changed in
        place afterwards (a spooled or site file is only ever replaced whole)."""

        self._install(kind, key, suffix, partial(link_or_copy, source))

    def _install(self, kind: str, key: str, suffix: str, make: Callable[[str], None]) -> str | None:
        """Make the entry by `make` at a temporary name beside it, then rename it over the
        entry: an entry is whole or absent. A failed write stops the cache (`fail`). The
        entry's path, None when it was not written."""
        path = self.path(kind, key, suffix)
        if path is None:
            return None
        folder, name = os.path.split(path)
        tmp = os.path.join(folder, f".{name}.{secrets.token_hex(6)}.tmp")
        try:
            self._make_root()
            os.makedirs(folder, exist_ok=True)
            make(tmp)
            inode = os.lstat(tmp).st_ino
            if self.journal is not None:
                os.write(self.journal, f"{inode} {path}\0".encode("utf-8", "surrogateescape"))
            os.replace(tmp, path)
            self.written[path] = inode
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            self.fail(exc)
            return None
        return path

    def fail(self, exc: OSError) -> None:
        """Stop using the cache after a failed write, with one warning for the build."""
        if self.root is not None:
            self.warning_at = str(self.root)  # a `--cache-dir` is not .charters-cache
            self.warning = (
                f"cannot write the cache folder ({exc.strerror or exc});"
                " the build goes on without a cache"
            )
        self.root = None

    def empty(self, kind: str) -> bool:
        """Whether the cache holds no entry of `kind` (its folder missing or empty), looked
        at without making anything."""
        if self.root is None:
            return True
        try:
            with os.scandir(self.root / kind) as entries:
                return next(entries, None) is None
        except OSError:
            return True

    def folder(self, kind: str) -> Path | None:
        """A folder of the cache for a library to keep its own entries in, or None."""
        if self.root is None:
            return None
        path = self.root / kind
        try:
            self._make_root()
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.fail(exc)
            return None
        self.folders.add(str(path))
        return path

    def diagnostic(self) -> Diagnostic | None:
        """The warning about an unusable cache folder, if there was one."""
        if self.warning is None:
            return None
        return Diagnostic(SourceRef(self.warning_at), "", self.warning, "cache", "warning")


def template_cache(cache: Cache) -> Any:
    """Jinja's compiled templates, kept in the cache (a `jinja2.BytecodeCache`), or None.

    Jinja finds an entry by the template's name and checks the hash of its source
    and Jinja's version before using it; the folder is per generator fingerprint,
    since the environment's settings shape the compiled code too. Each entry says its
    size and CRC-32 first (`summed`), as the cache's other entries do: Jinja checks
    the source's hash, not the compiled code's, and a bit flipped in it was published
    on every page (`</gooter>`) or failed a good tree. An entry that cannot be read,
    or is damaged, is compiled again; one that cannot be written stops the cache.
    """
    folder = cache.folder(f"templates/{generator_fingerprint()}")
    if folder is None:
        return None
    import jinja2

    class _Templates(jinja2.FileSystemBytecodeCache):
        def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            try:
                with open(self._get_cache_filename(bucket), "rb") as f:
                    body = unsummed(f.read())
                if body is not None:
                    bucket.bytecode_from_string(bytes(body))
            except Exception:  # missing, truncated or foreign: compile instead
                bucket.reset()

        def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            import tempfile

            path = self._get_cache_filename(bucket)
            try:
                fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
                try:
                    with os.fdopen(fd, "wb") as f:
                        f.write(summed(bucket.bytecode_to_string()))
                    os.replace(tmp, path)
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
                    raise
            except OSError as exc:
                cache.fail(exc)

    return _Templates(str(folder))


# --- what a no-op build reports again ------------------------------------------------------


def save_report(cache: Cache, fingerprint: str, diagnostics: Sequence[Diagnostic]) -> None:
    """Record the warnings of a successful build, for a no-op build to print again."""
    data = {"format": _FORMAT, "diagnostics": [d.as_json() for d in diagnostics]}
    cache.put("builds", fingerprint, json.dumps(data, sort_keys=True).encode(), ".json")


def load_report(cache: Cache, fingerprint: str) -> list[Diagnostic] | None:
    """The warnings recorded for `fingerprint`, or None when there is no usable record."""
    raw = cache.get("builds", fingerprint, ".json")
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        if data.get("format") != _FORMAT:
            return None
        return [_diagnostic(d) for d in data["diagnostics"]]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # a truncated or foreign entry: build instead


def _diagnostic(d: Mapping[str, Any]) -> Diagnostic:
    values = (d["file"], d["line"], d["col"], d["field"], d["message"], d["code"], d["severity"])
    file, line, col, fld, message, code, severity = values
    if not (isinstance(line, int) and isinstance(col, int)):
        raise TypeError("line and col must be numbers")
    if severity not in ("error", "warning", "info", "alert"):
        raise TypeError("unknown severity")
    return Diagnostic(SourceRef(str(file), line, col), str(fld), str(message), str(code), severity)


def intact(out: Path, sizes: Any) -> bool:
    """Whether every file the manifest lists is in `out` with its recorded size."""
    if not isinstance(sizes, dict) or not sizes:
        return False
    base = f"{out}{os.sep}"  # joined as strings: a site has thousands of files
    for rel, size in sizes.items():
        try:
            if not isinstance(rel, str) or os.stat(base + rel).st_size != size:
                return False
        except OSError:
            return False
    return True
