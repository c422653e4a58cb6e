"""Write stage: writing the site so that nothing is lost.

One build at a time writes an output folder: a lock file beside it
(`.site.lock` for `site/`) is held for the whole build, and it records the
temporary folders the build creates, each named with a random token, so that
the next build removes exactly those after a crash and never a folder of the
user's that merely looks like one.

The new site is written into a temporary folder beside the output folder and
swapped in by one atomic exchange of the two folders (Linux `renameat2` with
`RENAME_EXCHANGE`), so `site/` stays a real folder and is at every instant
either the old or the new complete site. Where the exchange is unavailable two
renames are used, and a build killed between them is repaired by the next build
before it does anything else.

A file whose bytes equal those of the same file in the current site is hard-linked
from it rather than written again, so an unchanged file keeps its inode and
modification time.

The site the swap replaces is kept beside the output as the standby folder
(`.site.charters-TOKEN-standby`, its name in the lock file), and the next build
writes into it instead of a new folder: renamed to that build's temporary folder
first, it keeps only the plain files at paths the new site has (found by a walk
that follows no link, never by its manifest), each made the file a new folder
would get (usually a link to the current site's file, which it often is already),
and its folders get a new folder's mode. A new folder costs a folder per charter and a link per
file of the site, and the old site's removal on top; the standby costs what two
builds changed. The manifest lists every file written with its size, and the
fingerprint of the input it was built from (generator/cache.py): a build of the
same input into an intact site is a no-op and writes nothing at all.

Files in the output folder that the previous build did not write (its manifest
lists every file it wrote) are carried over into the new site: `CNAME`,
`.nojekyll`, `.git/`. A folder is replaced only when it is empty or carries the
manifest, so a mistyped `--out` cannot wipe someone's documents.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import posixpath
import re
import secrets
import shutil
import stat
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .paths import real
from .spool import Content, Spool, Spooled, link_or_copy, place, same_bytes, size_of

MANIFEST = ".charters-site.json"
# For the fault tests only: seconds to pause at each step of the swap, announced on
# stderr; and "1" to use the two-rename fallback even where the exchange works.
PAUSE_ENV = "CHARTERS_TEST_SWAP_PAUSE"
FALLBACK_ENV = "CHARTERS_TEST_SWAP_FALLBACK"
_TEMP_INFIX = ".charters-"


class OutputError(Exception):
    """The output folder cannot be used; the message says why and what to do."""


@dataclass
class WriteReport:
    """What a write did to files the previous build had not written."""

    kept: list[str] = field(default_factory=list)  # carried over; folders end in "/"
    replaced: list[str] = field(default_factory=list)  # the build now writes that name

    def note(self) -> str:
        """The clause the build summary adds, or ""."""
        parts = []
        if self.kept:
            parts.append(f"kept {_count(self.kept)} not written by charters: {_names(self.kept)}")
        if self.replaced:
            parts.append(
                f"replaced {_count(self.replaced)} not written by charters with the built ones:"
                f" {_names(self.replaced)}"
            )
        return "; ".join(parts)


def _count(names: list[str]) -> str:
    folders = sum(1 for n in names if n.endswith("/"))
    files = len(names) - folders
    words = []
    if files:
        words.append(f"{files} file{'' if files == 1 else 's'}")
    if folders:
        words.append(f"{folders} folder{'' if folders == 1 else 's'}")
    return " and ".join(words)


def _names(names: list[str], shown: int = 8) -> str:
    text = ", ".join(names[:shown])
    return text + (f" and {len(names) - shown} more" if len(names) > shown else "")


def check_cache_folder(out: Path, cache: Path | None) -> None:
    """Refuse a cache folder that is the output folder, or inside it, or holds it: the
    site would publish the cache (compiled templates, pickles), or the swap that puts a
    new site in place would take the cache away with the old one."""
    if cache is None:
        return
    dst, kept = real(out), real(cache)
    if kept == dst or kept.is_relative_to(dst) or dst.is_relative_to(kept):
        raise OutputError(
            f"cache folder {cache} and output folder {out} overlap: the site would publish"
            " the cache, or a build would remove it; choose another --cache-dir or --out"
        )


def check_output(source: Path, out: Path) -> None:
    """Refuse output folders that would destroy input or someone else's files."""
    src = real(source)
    dst = real(out)
    if dst == Path.cwd().resolve():
        raise OutputError(
            f"output folder {out} is the current folder, which cannot be swapped out;"
            " choose a subfolder or run from another folder"
        )
    if dst == src:
        raise OutputError(f"output folder {out} is the source folder; choose another --out")
    if src.is_relative_to(dst):
        raise OutputError(f"output folder {out} contains the source folder; choose another --out")
    # Whether they exist yet or not: a site written into templates/ would be read back
    # by the next build as templates, its pages (charter text in them) run as Jinja.
    for inner in ("charters", "templates"):
        place = src / inner
        if dst.is_relative_to(place) or dst.is_relative_to(real(place)):
            raise OutputError(
                f"output folder {out} is inside the source's {inner}/ folder, which every"
                " build reads as input; choose another --out"
            )
    for name in ("site.yaml", "metrics.yaml"):
        if dst == src / name:
            raise OutputError(f"output folder {out} is the source's {name}; choose another --out")
    if out.is_symlink():  # the swap would replace the link, not fill what it points to
        target = real(out)
        if target.is_dir():
            raise OutputError(
                f"output path {out} is a symbolic link; give the folder it points to"
                f" ({target}) or another --out"
            )
        raise OutputError(
            f"output path {out} is a symbolic link to {os.readlink(out)}, which is no folder"
            " (or a link that loops); remove it or choose another --out"
        )
    if out.exists() and not out.is_dir():
        raise OutputError(
            f"output path {out} exists and is not a folder; remove it or choose another"
        )
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise OutputError(
            f"output folder {out} is not empty and was not written by charters"
            f" (no {MANIFEST}); empty it or choose another --out"
        )


# `listed` not given: the write functions read the manifest themselves.
READ_IT: Any = object()


def _listed(out: Path, listed: object) -> object:
    """The files the current site's manifest lists: `listed`, unless it is `READ_IT`
    (then read here; call with the output's lock held)."""
    return read_manifest(out).get("files") if listed is READ_IT else listed


def read_manifest(out: Path) -> dict[str, Any]:
    """The previous build's manifest, or an empty one."""
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class PreviousSite:
    """What the previous build wrote into the output folder, from its manifest: the key
    each file was made from (`made`) and each file's size."""

    out: Path | None = None
    made: Mapping[str, str] = field(default_factory=dict)
    sizes: Mapping[str, int] = field(default_factory=dict)
    # The manifest's list of the files the previous build wrote, as read (any value: the
    # write stage checks it), for `write_site` and `write_in_place` not to read it again.
    listed: object = None
    # The manifest is the one this very process wrote into its own folder, which nothing
    # else writes (serve's: `OwnSite`): its files are as listed, without looking.
    trusted: bool = False
    # The (device, inode) of each file `file` found as the previous build wrote it: the
    # write stage compares the standby's file at its path with it, not with a new look.
    identities: dict[str, tuple[int, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, out: Path, manifest: Mapping[str, Any], trusted: bool = False) -> PreviousSite:
        made, sizes = manifest.get("made"), manifest.get("sizes")
        made = made if isinstance(made, dict) else {}
        sizes = sizes if isinstance(sizes, dict) else {}
        return cls(
            out,
            {k: v for k, v in made.items() if isinstance(v, str)},
            {k: v for k, v in sizes.items() if isinstance(v, int)},
            manifest.get("files"),
            trusted,
        )

    def file(self, rel: str, key: str) -> str | None:
        """The current site's file at `rel` when the previous build made it from `key` and
        it is as that build wrote it (a plain file of the recorded size), else None: such a
        file can be taken unread, as a no-op build takes the whole site."""
        if self.out is None or self.made.get(rel) != key:
            return None
        path = f"{self.out}{os.sep}{rel}"  # joined as strings: a site has thousands of files
        if self.trusted:
            return path if rel in self.sizes else None
        try:
            st = os.lstat(path)
        except OSError:
            return None
        if not (stat.S_ISREG(st.st_mode) and st.st_size == self.sizes.get(rel)):
            return None
        self.identities[rel] = (st.st_dev, st.st_ino)
        return path


def _os_message(exc: OSError, doing: str, out: Path) -> OutputError:
    where = f" ({exc.filename})" if exc.filename else ""
    reason = exc.strerror or str(exc)
    kept = f"; {out} is unchanged" if out.exists() else ""
    return OutputError(f"cannot {doing}: {reason}{where}{kept}")


# --- the lock ---------------------------------------------------------------------------


def lock_path(out: Path) -> Path:
    return out.parent / f".{out.name}.lock"


@dataclass
class _Held:
    """This process's hold on an output folder's lock, for one build: what the lock file
    records (`_Held.write_record`) is made from it."""

    fd: int  # the lock file's one descriptor (closing any descriptor of it releases the lock)
    spool: Path  # the build's spool folder (generator/spool.py), named now, made on first use
    standby: str | None = None  # the site before last, kept for the next build (its name)
    left: list[str] = field(default_factory=list)  # folders of ours that could not be removed
    # While the folder is written in place: the token in the names of the temporary files
    # (`.NAME.TOKEN.tmp` beside each file), so a build killed meanwhile leaves none behind.
    in_place: str | None = None

    def write_record(self, temporary: list[str]) -> None:
        """Record this build's temporary folders before they exist, so a crash is
        repairable, with what earlier builds left, and the standby folder."""
        names = list(dict.fromkeys([self.spool.name, *self.left, *temporary]))  # each once
        record: dict[str, Any] = {"pid": os.getpid(), "temporary": names}
        if self.standby is not None:
            record["standby"] = self.standby
        if self.in_place is not None:
            record["in_place"] = self.in_place
        data = json.dumps(record).encode() + b"\n"
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, data, 0)
        os.fsync(self.fd)


_HELD: dict[Path, _Held] = {}  # lock file → this process's hold on it, while it holds it


@contextlib.contextmanager
def lock_output(out: Path, wait: bool = False) -> Iterator[None]:
    """Hold the output folder's lock; repair what a killed build left behind first.

    A POSIX record lock (`lockf`) belongs to this process only: chart workers
    forked during the build do not inherit it, so a killed build never leaves
    the folder locked. (It is also released when the process closes any
    descriptor of the file, hence the one descriptor kept in `_HELD`.)
    """
    lock = lock_path(out)
    if lock in _HELD:
        yield
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        # Never through a link: the lock file is truncated and rewritten.
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OutputError(
                f"the lock file {lock} is a symbolic link; remove it (a build writes it)"
            ) from None
        raise _os_message(exc, f"write beside the output folder {out}", out) from None
    # The spool folder (generator/spool.py) is named and recorded now, made only if used.
    held = _Held(fd, out.parent / f".{out.name}{_TEMP_INFIX}{secrets.token_hex(8)}-spool")
    try:
        try:
            _acquire(fd, out, wait)
            record = _read_record(fd)
            held.left = _recover(out, record)
            held.standby = _standby_named(out, record)
            held.write_record([])
        except OSError as exc:
            raise _os_message(exc, f"prepare {out}", out) from None
        _HELD[lock] = held
        yield
    finally:
        if _HELD.pop(lock, None) is not None:
            shutil.rmtree(held.spool, ignore_errors=True)
        os.close(fd)  # releases the lock


def left_beside(out: Path) -> list[str]:
    """What this process's hold on `out`'s lock knows was left beside it: a folder of ours
    (a swapped-out site, a standby) that a build could not remove, each with the reason,
    for the user to act on. Each build tries again; this says why it cannot."""
    held = _HELD.get(lock_path(out))
    if held is None:
        return []
    return [
        f"{out.parent / name} could not be removed: {_why_left(out.parent / name)};"
        " each build tries again"
        for name in held.left
        if os.path.lexists(out.parent / name)
    ]


def _why_left(path: Path) -> str:
    """Why `_remove` left `path`: a file system mounted in it (never crossed), or the first
    thing in it that could not be removed."""
    try:
        _refuse_mounts(path)
    except OSError as exc:
        return f"{exc.filename} is mounted in it (unmount it, then build again)"
    for folder, folders, names in os.walk(path):
        folders.sort()
        if names:
            stuck = os.path.relpath(os.path.join(folder, min(names)), path)
            return f"{stuck} in it cannot be removed (made immutable, or another user's, say)"
    return "it cannot be removed (made immutable, or another user's, say)"


def _acquire(fd: int, out: Path, wait: bool) -> None:
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except OSError as exc:
        if exc.errno not in (errno.EACCES, errno.EAGAIN):
            raise
    pid = _read_record(fd).get("pid")
    who = f" (pid {pid})" if isinstance(pid, int) else ""
    if not wait:
        raise OutputError(f"another build is writing {out}{who}; wait for it or pass --wait")
    print(f"waiting for another build writing {out}{who}", file=sys.stderr, flush=True)
    fcntl.lockf(fd, fcntl.LOCK_EX)


def _read_record(fd: int) -> dict[str, Any]:
    try:
        data = json.loads(os.pread(fd, 65536, 0).decode("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def open_spool(out: Path) -> Spool:
    """The spool (generator/spool.py) of the build holding `out`'s lock; its folder is
    made on first use, and removed with the lock."""
    return Spool(
        _HELD[lock_path(out)].spool,
        lambda exc: _os_message(exc, f"write the site into {out}", out),
        site=out,
    )


def _standby_named(out: Path, record: Mapping[str, Any]) -> str | None:
    """The standby folder the record names, when it is one of ours beside `out` (checked,
    and removed when it cannot serve, as it is taken)."""
    name = record.get("standby")
    prefix = f".{out.name}{_TEMP_INFIX}"
    if isinstance(name, str) and name.startswith(prefix) and "/" not in name:
        return name
    return None


def _recover(out: Path, record: Mapping[str, Any]) -> list[str]:
    """Undo a killed build: restore the previous site if it was moved aside, drop the rest.

    Only the folders the killed build recorded (names with its random token) are
    touched; the output folder itself is never removed here. Returns the names of those
    that could not be removed (a file in them made immutable), to be recorded again.
    """
    _remove_temporary_files(out, record.get("in_place"))
    names = record.get("temporary")
    if not isinstance(names, list):
        return []
    prefix = f".{out.name}{_TEMP_INFIX}"
    ours = [
        out.parent / n
        for n in names
        if isinstance(n, str) and n.startswith(prefix) and "/" not in n
    ]
    for path in ours:
        if path.name.endswith("-old") and not out.exists() and (path / MANIFEST).is_file():
            path.rename(out)
    for path in ours:
        _remove(path)
    return [path.name for path in ours if os.path.lexists(path)]


def _remove_temporary_files(out: Path, token: object) -> None:
    """Remove the temporary files (`.NAME.TOKEN.tmp`) a build killed while it wrote the
    folder in place left in it: its record names the token (`_Held.in_place`). A walk
    that follows no link; only files of that very token's name are removed."""
    if not (isinstance(token, str) and re.fullmatch(r"[0-9a-f]{12}", token)):
        return
    end = f".{token}.tmp"
    for folder, _, names in os.walk(out):
        for name in names:
            if name.startswith(".") and name.endswith(end):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(folder, name))


# --- writing and swapping ------------------------------------------------------------------


def write_site(
    out: Path,
    files: Mapping[str, Content],
    manifest: Mapping[str, Any],
    listed: object = READ_IT,
    identities: Mapping[str, tuple[int, int]] | None = None,
) -> WriteReport:
    """Write `files` (site-relative POSIX paths) as the new content of `out`, atomically.

    A file's content is bytes, a file in the build's spool folder (moved into place), or
    a file of the current site, borrowed (hard-linked into place). `listed` is the
    current site's manifest's list of files when the caller read it while holding the
    lock (a build: `PreviousSite.listed`); by default it is read here. `identities`:
    the (device, inode) of current site files as the caller found them under the lock
    (`PreviousSite.identities`), so a borrowed one is not looked at again.

    Takes the output folder's lock unless this process holds it already.
    """
    token = secrets.token_hex(8)
    tmp = out.parent / f".{out.name}{_TEMP_INFIX}{token}-new"
    old = out.parent / f".{out.name}{_TEMP_INFIX}{token}-old"
    spoilt = out.parent / f".{out.name}{_TEMP_INFIX}{token}-spoilt"
    with lock_output(out):
        listed = _listed(out, listed)
        held = _HELD[lock_path(out)]
        standby, held.standby = held.standby, None  # taken by this build, or removed
        try:
            # The standby stays recorded (as temporary now) until it is renamed: a build
            # killed before that leaves it to the next build to remove.
            ours = [*([standby] if standby else []), tmp.name, old.name, spoilt.name]
            held.write_record(ours)
            taken = standby is not None and _take_standby(out.parent / standby, tmp, out, spoilt)
            if taken and not _clear_standby(tmp, files, spoilt):
                taken = False  # what it held that could not be removed is out of the way
            try:
                report, previous = _write_and_swap(
                    out, tmp, old, files, manifest, taken, listed, identities or {}
                )
            except OSError:
                if not taken:
                    raise
                # A file of the standby that cannot be replaced: a new folder instead.
                _remove(tmp, spoilt)
                report, previous = _write_and_swap(
                    out, tmp, old, files, manifest, False, listed, {}
                )
        except OSError as exc:
            _remove(tmp)  # what is left of it stays recorded
            raise _os_message(exc, f"write the site into {out}", out) from None
        except BaseException:
            _remove(tmp)
            raise
        if previous is not None:
            _keep_as_standby(held, out, previous, [tmp.name, old.name])
        # What could not be removed stays recorded: each later build tries again.
        held.left = [n for n in (*held.left, *ours) if os.path.lexists(out.parent / n)]
        with contextlib.suppress(OSError):  # a stale record only names folders now gone
            held.write_record([])
    return report


def _write_and_swap(
    out: Path,
    tmp: Path,
    old: Path,
    files: Mapping[str, Content],
    manifest: Mapping[str, Any],
    reused: bool,
    listed: object,
    identities: Mapping[str, tuple[int, int]],
) -> tuple[WriteReport, Path | None]:
    """Write the new site into `tmp` (the standby folder, when `reused`: brought up to
    date; else a new folder) and swap it in; the report and where the previous site now
    is (None: none). `identities`: see `write_site`."""
    if not reused:
        tmp.mkdir()
    made: set[str] = {""}  # folders of the new site made so far, relative to it
    new_root, old_root = f"{tmp}{os.sep}", f"{out}{os.sep}"  # plain strings: thousands of files
    for rel in sorted(files):
        folder = posixpath.dirname(rel)
        if folder not in made:
            _make_folder(new_root, folder)
            made.update(_ancestors(rel))
        live = old_root + rel
        target, source = new_root + rel, _source(live, files[rel])
        if reused:
            borrowed = isinstance(source, Spooled) and source.borrowed and source.path == live
            _update(source, target, identities.get(rel) if borrowed else None)
        else:
            place(source, target)
    report = WriteReport()
    if out.is_dir():
        _carry_user_files(out, tmp, set(files), report, listed)
    _replace_manifest(tmp, full_manifest(files, manifest))
    return report, _swap(tmp, out, old)


def full_manifest(files: Mapping[str, Content], manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest a write of `files` leaves in the folder: `manifest` with the name and
    size of every file written."""
    full = dict(manifest)
    full["files"] = sorted(files)
    full["sizes"] = {rel: size_of(files[rel]) for rel in full["files"]}
    return full


# --- the standby: the site before last, brought up to date by the next build -------------


def _take_standby(standby: Path, tmp: Path, out: Path, spoilt: Path) -> bool:
    """Rename the standby folder to `tmp` (both recorded); False when there is none to take
    or it is not a real folder (then removed), or when `out` is gone (it is out of date)."""
    try:
        usable = stat.S_ISDIR(os.lstat(standby).st_mode) and out.is_dir()
    except OSError:
        return False
    if not usable:
        _remove(standby)
        return False
    try:
        os.rename(standby, tmp)
    except OSError as exc:
        if exc.errno != errno.EBUSY:  # busy: a folder mounted there, not ours to empty
            _remove(standby)
        return False
    return True


def _remove(path: Path, spoilt: Path | None = None) -> None:
    """Remove a folder (or a link, or a file) of ours beside the output, never across a
    mount point (a folder mounted there is not ours); what cannot be removed is renamed
    out of the way to `spoilt` (recorded), when given, so that its name is free, and
    stays recorded until a later build can remove it."""
    try:
        st, parent = os.lstat(path), os.lstat(path.parent)
    except OSError:
        return
    if not stat.S_ISDIR(st.st_mode):
        with contextlib.suppress(OSError):
            os.unlink(path)
        return
    if st.st_dev != parent.st_dev:
        return
    with contextlib.suppress(OSError):
        _refuse_mounts(path)
        _rmtree(path)
    if spoilt is not None and os.path.lexists(path):
        with contextlib.suppress(OSError):
            path.rename(spoilt)


def _rmtree(path: str | Path) -> None:
    """Remove the folder `path` and everything in it, following no link. A folder in it
    that its owner may not write or search (a deploy step's `chmod -R a-w site`, say:
    the site it changed is the next build's standby) is given those permissions first,
    as only its owner can: every folder here is of a site this generator wrote.
    Removes all it can, and raises OSError when something is left (a file made
    immutable, another user's). Its callers have made sure that nothing is mounted in
    it (`_refuse_mounts`: `_remove`, and `_clear_standby` for the whole standby)."""
    shutil.rmtree(path, ignore_errors=True)  # all it can: what is left stays recorded
    if not os.path.lexists(path):
        return
    _let_owner_write(os.fspath(path), os.lstat(path).st_dev)
    shutil.rmtree(path, ignore_errors=True)
    if os.path.lexists(path):
        raise OSError(errno.ENOTEMPTY, "cannot remove everything in it", os.fspath(path))


def _refuse_mounts(path: str | Path) -> None:
    """Raise OSError (EBUSY) when a file system is mounted at `path` or in it: a folder
    bind-mounted into the site moves with it when the site is swapped out, and removing
    the standby would otherwise remove what is on it. Linux lists every mount in
    /proc/self/mountinfo, a bind mount of the same file system too (which no device
    number tells apart); elsewhere a different device is still never crossed at the top
    (`_remove`)."""
    real = os.path.realpath(path)
    for point in _mount_points():
        if point == real or point.startswith(real + os.sep):
            raise OSError(errno.EBUSY, "a file system is mounted in it", point)


def _mount_points() -> list[str]:
    """Every mount point this process sees (/proc/self/mountinfo's fifth field, with its
    octal escapes undone), or none where that file is not there."""
    try:
        with open("/proc/self/mountinfo", "rb") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    points = []
    for line in lines:
        fields = line.split(b" ")
        if len(fields) > 4:
            point = re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), fields[4])
            points.append(os.fsdecode(point))
    return points


def _let_owner_write(path: str, device: int) -> None:
    """Give the owner write and search permission on `path` and each folder in it, on
    the same device, following no link."""
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_dev != device:
        return
    if st.st_mode & stat.S_IRWXU != stat.S_IRWXU:
        os.chmod(path, stat.S_IMODE(st.st_mode) | stat.S_IRWXU)
    with os.scandir(path) as listing:
        folders = [entry.path for entry in listing if entry.is_dir(follow_symlinks=False)]
    for folder in folders:
        _let_owner_write(folder, device)


def _clear_standby(tmp: Path, files: Mapping[str, Content], spoilt: Path) -> bool:
    """Leave in the standby folder (now `tmp`) only plain files at paths of the new site and
    the real folders above them, and give each folder the mode a new one gets.

    The standby is the site the build before last wrote (kept by `_keep_as_standby`).
    Bringing it up to date touches only what changed in two builds, where a new folder
    costs a folder made per charter and a link per file of the site, and the previous
    site's removal on top. What it holds is judged by a walk that follows no link, never
    by its manifest: whatever is not a plain file the new site has at that path (a file
    a user had put in the site then, a link, a folder where a file goes, anything put
    there since) is removed, so the new site has only the files this build writes and
    the user's files carried over from the current site, as in a new folder. Each kept
    file is then checked by `_update`.

    False when something could not be removed or changed (a file made immutable), or
    something is mounted in it (it moved with the site that held it): the folder is then
    removed, or renamed to `spoilt` and left, and a new folder is made.
    """
    try:
        _refuse_mounts(tmp)  # what is mounted in it is not ours to clear
        probe = tmp / f".mode-{secrets.token_hex(4)}"
        probe.mkdir()  # a new folder's mode here (the umask), read without setting the umask
        mode = stat.S_IMODE(os.lstat(probe).st_mode)
        probe.rmdir()
        parents = _folders_of(files)
        _clear_folder(f"{tmp}{os.sep}", "", files, parents, mode)
    except OSError:
        _remove(tmp, spoilt)
        return False
    return True


def _clear_folder(
    root: str, rel: str, files: Mapping[str, Content], parents: set[str], mode: int
) -> None:
    path = root + rel
    if stat.S_IMODE(os.lstat(path).st_mode) != mode:
        os.chmod(path, mode)
    with os.scandir(path) as listing:
        entries = list(listing)
    for entry in entries:
        name = rel + entry.name
        if entry.is_dir(follow_symlinks=False):
            if name in parents:
                _clear_folder(root, name + "/", files, parents, mode)
            else:
                _rmtree(entry.path)
        elif name not in files or not entry.is_file(follow_symlinks=False):
            os.unlink(entry.path)


def _update(source: Content, target: str, identity: tuple[int, int] | None = None) -> None:
    """Make `target`, in the standby folder, the file a new folder would get (`_source`):
    nothing is done when it is that file already (the same inode, as an unchanged file
    linked two builds ago is). `identity`: the (device, inode) the build found the
    current site's file at that path to have, when `source` is that file, borrowed
    (under the output's lock, which it has held since)."""
    if not (isinstance(source, Spooled) and _same_file(source, target, identity)):
        _replace_file(source, target)


def _same_file(a: Spooled, b: str, identity: tuple[int, int] | None) -> bool:
    """Whether `b` is a plain file that is `a` itself (a hard link to it); `a`'s device and
    inode are `identity` when the build looked at it already."""
    try:
        st = os.lstat(b)
        if not stat.S_ISREG(st.st_mode):
            return False
        if identity is not None:
            return (st.st_dev, st.st_ino) == identity
        return os.path.samestat(os.lstat(a.path), st)
    except OSError:
        return False


def _keep_as_standby(held: _Held, out: Path, previous: Path, temporary: list[str]) -> None:
    """Keep the previous site (its folder at `previous` after the swap) for the next build
    to bring up to date, under a name recorded before it is given; removed when that
    fails."""
    name = f".{out.name}{_TEMP_INFIX}{secrets.token_hex(8)}-standby"
    try:
        held.standby = name
        held.write_record(temporary)  # a crash now leaves a name that is not there: ignored
        previous.rename(out.parent / name)
    except OSError:
        held.standby = None
        _remove(previous)  # else recorded: the next build tries again


@dataclass(frozen=True)
class OwnSite:
    """What a process that writes its own folder in place (`charters serve`) remembers
    of it after a build: the manifest that build wrote, and that file as it was then
    (device, inode, size, modification time).

    The folder is serve's own (a temporary folder only it writes), so its next build
    can take the manifest from memory and each file it lists as listed, without reading
    the 2.6 MB manifest of a thousand charters back or looking at its 10,000 charts.
    One look at the manifest file tells that the folder is still the one written (not
    emptied or replaced meanwhile); else the build reads it as any build does.
    """

    manifest: Mapping[str, Any]
    file: tuple[int, int, int, int]

    @classmethod
    def of(cls, out: Path, manifest: Mapping[str, Any]) -> OwnSite | None:
        here = _identity(out)
        return cls(manifest, here) if here is not None else None

    def still(self, out: Path) -> Mapping[str, Any] | None:
        """The manifest, when `out`'s manifest file is still the one written; else None."""
        return self.manifest if _identity(out) == self.file else None


def _identity(out: Path) -> tuple[int, int, int, int] | None:
    try:
        st = os.lstat(out / MANIFEST)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def write_in_place(
    out: Path,
    files: Mapping[str, Content],
    manifest: Mapping[str, Any],
    listed: object = READ_IT,
) -> OwnSite | None:
    """Write `files` into `out` where it is, file by file: for the folder of `charters
    serve`, which is its own (a temporary folder) and which only its server reads, and
    the output folder of `charters build --watch`, written again on every save.

    Building a new folder of links and swapping it in costs a link per file of the site,
    the old folder's removal on top; here only what changed is written. Each file is
    replaced by one rename, so the server never sends half a file; while this runs the
    site is partly old and partly new (the server waits for the build before answering
    for a file not there yet, and the open page reloads once the build is done). A file
    that is unchanged (the same file, borrowed, or the same bytes) is left alone; one the
    previous build wrote and this one does not is removed, and so is a folder it leaves
    empty; anything else is left. The manifest is first replaced by one that vouches for
    no file (no keys, no sizes), so a build stopped midway leaves a folder from which the
    next build takes nothing unread; the full manifest is written last. `listed`: as
    for `write_site`. Returns what the next build of this process may take of the folder
    without reading it (`OwnSite`).
    """
    with lock_output(out):
        listed = _listed(out, listed)
        held = _HELD[lock_path(out)]
        try:
            held.in_place = secrets.token_hex(6)
            held.write_record([])
            return OwnSite.of(out, _write_in_place(out, files, manifest, listed, held.in_place))
        except OSError as exc:
            where = f" ({exc.filename})" if exc.filename else ""
            raise OutputError(
                f"cannot write the site into {out}: {exc.strerror or exc}{where}"
            ) from None
        finally:
            if held.in_place is not None:
                held.in_place = None
                with contextlib.suppress(OSError):
                    held.write_record([])


def _write_in_place(
    out: Path, files: Mapping[str, Content], manifest: Mapping[str, Any], listed: object, token: str
) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    before = {f for f in listed if isinstance(f, str)} if isinstance(listed, list) else set()
    names, written = sorted(files), set(files)
    vouching = {k: v for k, v in manifest.items() if k not in ("made", "input", "counts")}
    _replace_manifest(out, {**vouching, "files": sorted(before | written)}, token)
    root = f"{out}{os.sep}"  # plain strings: a site has thousands of files
    _no_links_on_the_way(root, [*before, *names])
    for rel in sorted(before - written, reverse=True):
        _remove_gone(root, rel)
    made: set[str] = {""}
    for rel in names:
        folder = rel.rpartition("/")[0]  # a site path's folder (posixpath.dirname, faster)
        if folder not in made:
            _make_folder(root, folder)
            made.update(_ancestors(rel))
        target = root + rel
        source = _source(target, files[rel])
        if not (isinstance(source, Spooled) and source.path == target):  # else unchanged
            _replace_file(source, target, token)
    full = full_manifest(files, manifest)
    _replace_manifest(out, full, token)
    return full


def _replace_manifest(out: Path, data: Mapping[str, Any], token: str | None = None) -> None:
    _replace_file(manifest_text(data).encode("utf-8"), f"{out}{os.sep}{MANIFEST}", token)


def manifest_text(data: Mapping[str, Any]) -> str:
    """The manifest as JSON: names, keys and counts (strings and whole numbers only, so
    no value needs `json_text`'s care for infinities), on one line: json's indenting
    encoder is written in Python, its plain one in C, ten times faster on tens of
    thousands of entries."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False) + "\n"


def _no_links_on_the_way(root: str, rels: Iterable[str]) -> None:
    """Remove each symbolic link (never what it leads to) where a folder of the files
    `rels` goes: a file written or removed in place under a link went through it, out of
    the folder (a link put into a site that is a git checkout, say). A folder is made
    where the link was, as a new folder would have one (what a build writing a new
    folder does: `write_site` reports the link as replaced)."""
    seen: set[str] = {""}
    for rel in rels:
        folder = rel.rpartition("/")[0]
        if folder in seen:
            continue
        for parent in _ancestors(folder + "/"):
            if parent in seen:
                continue
            seen.add(parent)
            path = root + parent
            try:
                if stat.S_ISLNK(os.lstat(path).st_mode):
                    os.unlink(path)
            except FileNotFoundError:
                pass


def _remove_gone(root: str, rel: str) -> None:
    """Remove the previous build's file `rel`, and the folders it leaves empty."""
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        path = root + rel
        if stat.S_ISDIR(os.lstat(path).st_mode):
            return  # a folder now (of this build's, or the user's): not the file listed
        os.unlink(path)
    for folder in reversed(_ancestors(rel)):
        try:
            os.rmdir(root + folder)
        except OSError:  # not empty (or gone): so are the ones above it
            return


def _make_folder(root: str, folder: str) -> None:
    """Make `folder` and its parents; a file where one of them goes (the previous build
    wrote a file of that name) is removed first."""
    try:
        os.makedirs(root + folder, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        for parent in _ancestors(folder + "/"):  # `folder` itself and the ones above
            path = root + parent
            if os.path.lexists(path) and not stat.S_ISDIR(os.lstat(path).st_mode):
                os.unlink(path)
        os.makedirs(root + folder, exist_ok=True)


def _holds(path: str, content: Content) -> bool:
    """Whether `path` is a plain file holding exactly `content`."""
    try:
        st = os.lstat(path)
        return (
            stat.S_ISREG(st.st_mode)
            and st.st_size == size_of(content)
            and same_bytes(path, content)
        )
    except OSError:
        return False


def _replace_file(content: Content, target: str, token: str | None = None) -> None:
    """Put `content` at `target` in one rename (a folder there, the previous build's of
    that name, is removed first), by way of `.NAME.TOKEN.tmp` beside it (`token`: the
    write's, which a killed build's record names; else one of its own). A spooled file
    is linked, not moved: it stays in the spool until the build ends, for a new folder
    to take should this one fail (a file of the standby that cannot be replaced)."""
    if os.path.isdir(target) and not os.path.islink(target):
        shutil.rmtree(target)
    folder, name = os.path.split(target)
    tmp = os.path.join(folder, f".{name}.{token or secrets.token_hex(6)}.tmp")
    try:
        if isinstance(content, Spooled):
            link_or_copy(content.path, tmp)
        else:
            place(content, tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _source(live: str, content: Content) -> Content:
    """What the new site's file comes from, the current site's file at its path being
    `live`: that file itself when it is `content` (borrowed: taken unread) or holds
    exactly its bytes (then linked, so an unchanged file keeps its inode and
    modification time and nothing is written; in a new folder or the standby the
    current site is never modified, so a killed build still leaves it whole), else
    `content`, as it is when the spool found it to differ from that file as it wrote it
    (`Spooled.changed`). A large (spooled) file is
    compared a chunk at a time, never loaded whole. For a new folder, the standby
    (`_update`) and the site written in place alike."""
    if isinstance(content, Spooled) and (
        content.changed or (content.borrowed and content.path == live)
    ):
        return content  # the spool compared it with the file at `live` already
    if _holds(live, content):
        return Spooled(live, size_of(content), borrowed=True)
    return content


def _carry_user_files(
    out: Path, tmp: Path, new_files: set[str], report: WriteReport, listed: object
) -> None:
    """Link (or copy) into the new site every entry of `out` the previous build did not
    write (`listed`: its manifest's list of files)."""
    if not isinstance(listed, list):
        # A site from a charters that did not list its files: what the new build writes
        # was surely its own; keep the rest and name it rather than guess and delete.
        listed = sorted(new_files)
    written = {f for f in listed if isinstance(f, str)} | {MANIFEST}
    parents = _folders_of(written)
    _carry_folder(out, tmp, "", written, parents, new_files, report)


def unwritten(out: Path, listed: object) -> list[str]:
    """The entries of `out` a build whose manifest lists `listed` did not write (the
    names a build would keep and report; folders end in "/")."""
    names = listed if isinstance(listed, list) else []
    written = {f for f in names if isinstance(f, str)} | {MANIFEST}
    parents = _folders_of(written)
    found: list[str] = []

    def walk(folder: Path, rel: str) -> None:
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            name = f"{rel}{entry.name}"
            is_dir = entry.is_dir(follow_symlinks=False)
            if is_dir and name in parents:
                walk(Path(entry.path), f"{name}/")
            elif name not in written:
                found.append(name + ("/" if is_dir else ""))

    walk(out, "")
    return found


def _folders_of(names: Iterable[str]) -> set[str]:
    """Every folder that holds one of `names` (site paths), however deep: the union of their
    `_ancestors`, each folder's own found once (a site has thousands of files in a
    thousand folders, most of them sharing theirs with the name before)."""
    found: set[str] = set()
    for name in names:
        folder = name.rpartition("/")[0]
        while folder and folder not in found:
            found.add(folder)
            folder = folder.rpartition("/")[0]
    return found


def _ancestors(rel: str) -> list[str]:
    parts = rel.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _carry_folder(
    src: Path,
    dst_root: Path,
    rel: str,
    written: set[str],
    parents: set[str],
    new_files: set[str],
    report: WriteReport,
) -> None:
    root = f"{dst_root}{os.sep}"  # plain strings: a site has thousands of files
    with os.scandir(src) as listing:
        entries = sorted(listing, key=lambda e: e.name)
    for entry in entries:
        name = f"{rel}{entry.name}"
        is_dir = entry.is_dir(follow_symlinks=False)
        if not is_dir and name in written:  # the previous build's own file: nothing to carry
            continue
        target = root + name
        if is_dir and (name in parents or (os.path.isdir(target) and not os.path.islink(target))):
            _carry_folder(
                Path(entry.path), dst_root, f"{name}/", written, parents, new_files, report
            )
            continue
        # A folder where the previous build wrote a file is not the build's: put there
        # since, it is named below like any other entry the build replaces.
        shown = name + ("/" if is_dir else "")
        if os.path.lexists(target) or any(
            os.path.lexists(root + a) and not os.path.isdir(root + a) for a in _ancestors(name)
        ):
            report.replaced.append(shown)
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        _link_tree(Path(entry.path), Path(target))
        report.kept.append(shown)


def _link_tree(src: Path, dst: Path) -> None:
    """A copy of `src` at `dst` that shares file contents by hard links where it can."""
    if src.is_symlink():
        os.symlink(os.readlink(src), dst)
    elif src.is_dir():
        dst.mkdir()
        for child in sorted(src.iterdir()):
            _link_tree(child, dst / child.name)
        shutil.copystat(src, dst)  # after its children: a read-only folder is filled first
    else:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)


def _pause(step: str) -> None:
    """The fault tests' window onto the swap; nothing happens unless PAUSE_ENV is set.

    PAUSE_ENV is "SECONDS" (pause at every step) or "STEP:SECONDS" (at that step
    only); every step is announced on stderr either way.
    """
    setting = os.environ.get(PAUSE_ENV)
    if not setting:
        return
    print(f"swap: {step}", file=sys.stderr, flush=True)
    only, _, seconds = setting.rpartition(":")
    if only in ("", step):
        time.sleep(float(seconds))


def _swap(tmp: Path, out: Path, old: Path) -> Path | None:
    """Put `tmp` in the place of `out`; where the previous site now is (None: none)."""
    _pause("before")
    if not out.exists():
        tmp.rename(out)
        return None
    if _exchange(tmp, out):
        _pause("exchanged")
    else:
        out.rename(old)
        try:
            _pause("between renames")
            tmp.rename(out)
        except BaseException:
            old.rename(out)
            raise
        tmp = old
    _pause("after")
    return tmp


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step; False where the system cannot."""
    if not sys.platform.startswith("linux") or os.environ.get(FALLBACK_ENV) == "1":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))
