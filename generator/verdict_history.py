"""Load stage: a charter's verdict at a past commit, for the verdict changes in its history.

`history.py` replays the commits that touched `charters/`; for each commit that
changed a charter's `charter.yaml` or a result file, it asks `VerdictReplay.at`
for the charter's verdict at that commit. The charter's folder is read from the
same `git cat-file --batch` process (the folder's tree at the commit, then each of
its files), with `metrics.yaml` at that commit, written to a temporary folder (never
the working tree) and given to the real loader and analysis, with the commit's
date as the build date. A version that fails to load has no verdict (None): it is
skipped, and the next version that loads is compared with the last one that did.

Each verdict is cached by a hash of its inputs: the folder's tree id (a hash of
every file in it), the catalogue's blob id and the date. A new head commit then
loads again only the charter versions not seen before.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Protocol

from . import __version__
from .analyze import analyze_charter
from .columns import ResultTable
from .diff.metric_renames import renamed_rows, renames_between
from .load import LoadedCharter, load_project
from .vocabulary import VERDICTS, Verdict

# Another release computes again; so does a changed generator (verdict_format).
VERDICT_FORMAT = f"verdicts-13 charters {__version__}"


def verdict_format() -> str:
    """VERDICT_FORMAT and the generator's fingerprint (its code, templates and libraries):
    a changed checkout of the generator never reads the verdicts an older one made."""
    from .cache import generator_fingerprint

    return f"{VERDICT_FORMAT} {generator_fingerprint()}"


_MODES = (b"100644", b"100755")  # regular files; links and submodules are not read


class Objects(Protocol):
    """A `git cat-file --batch` reader: (id, type, content) of an object name; a blob's
    content as a checkout writes the file at a path (`gitrepo.Blobs`: through its smudge
    filter, for one of the `filtered` paths)."""

    filtered: set[str]

    def object(self, name: str) -> tuple[str, str, bytes] | None: ...

    def read(self, sha: str, path: str | None = None) -> bytes | None: ...


class VerdictReplay:
    """Verdicts of charter versions, from a cache by content or the loader at the commit."""

    def __init__(self, objects: Objects, prefix: str, cache: Path | None) -> None:
        self.objects = objects
        self.prefix = prefix  # the source folder inside the repository, `` or `site/`
        self.cache = cache
        self.known, self.known_renames = _read(cache)
        self.used: dict[str, Verdict | None] = {}
        self.used_renames: dict[str, dict[str, str]] = {}
        self.loaded = 0  # charter versions given to the loader (cache misses)
        self._catalogues: dict[str, tuple[str, bytes] | None] = {}  # by commit, the last few
        self._tmp: Path | None = None
        self._rows: dict[str, ResultTable | None] = {}  # the last few folders' own rows

    def at(
        self,
        commit: str,
        day: str,
        cid: str,
        charter_from: str | None = None,
        charter_of: str | None = None,
        catalogue_from: str | None = None,
        only: frozenset[str] | None = None,
        renamed: Mapping[str, str] | None = None,
    ) -> Verdict | None:
        """The verdict of charter `cid` at `commit`, built on `day`; None if it does not load
        (or `commit` is empty: the parent of a root commit).

        With `charter_from` (a commit), the folder at `commit` gets the charter.yaml it had
        at `charter_from` instead (None when it had none there): the charter before an
        edit, judged on the result files that came with the edit; `charter_of` names the
        folder it is read from there, for a charter renamed in `commit` (else `cid`). With
        `catalogue_from` (a commit), metrics.yaml is the one it had there. With `only`
        (and `charter_from`), the rows of the metrics named there alone. With `renamed`
        (and `charter_from`), the rows of each metric id in it as the id it maps to: the
        rows of a metric renamed since, for the charter of before the rename."""
        if not commit:
            return None
        folder = self.objects.object(f"{commit}:{self.prefix}charters/{cid}")
        if folder is None or folder[1] != "tree":
            return None
        catalogue = self.catalogue(catalogue_from or commit)
        blob = catalogue[0] if catalogue else ""
        inputs = f"{verdict_format()}\0{cid}\0{folder[0]}\0{blob}\0{day}{self._smudging(cid)}"
        charter = None
        if charter_from is not None:
            name = f"{charter_from}:{self.prefix}charters/{charter_of or cid}/charter.yaml"
            found = self.objects.object(name) if charter_from else None
            if found is None or found[1] != "blob":
                return None
            charter = found[2]
            # The rows it is judged on are those the folder's own charter.yaml reads, with
            # the commit's own metrics.yaml.
            own = self.catalogue(commit)
            inputs += f"\0charter.yaml\0{found[0]}\0{own[0] if own else ''}"
            inputs += f"\0{sorted(only)}" if only is not None else ""
            inputs += f"\0renamed\0{sorted(renamed.items())}" if renamed else ""
        key = hashlib.blake2b(inputs.encode(), digest_size=16).hexdigest()
        if key not in self.known:
            own = self.catalogue(commit) if charter is not None else catalogue
            judged = (own, catalogue)
            self.known[key] = self._load(
                cid, folder[0], folder[2], judged, day, charter, only, renamed
            )
            self.loaded += 1
        self.used[key] = self.known[key]
        return self.known[key]

    def catalogue(self, commit: str) -> tuple[str, bytes] | None:
        """metrics.yaml at `commit` (blob id, content), read once for a few commits in a row
        (a merge's and its parents'); the history reads it here too (`history._Catalogue`,
        `history._Judge`)."""
        if commit not in self._catalogues:
            if len(self._catalogues) > 8:
                self._catalogues.clear()
            found = self.objects.object(f"{commit}:{self.prefix}metrics.yaml")
            blob = (found[0], found[2]) if found is not None and found[1] == "blob" else None
            self._catalogues[commit] = blob
        return self._catalogues[commit]

    def _load(
        self,
        cid: str,
        folder_id: str,
        tree: bytes,
        catalogues: tuple[tuple[str, bytes] | None, tuple[str, bytes] | None],
        day: str,
        charter: bytes | None,
        only: frozenset[str] | None = None,
        renamed: Mapping[str, str] | None = None,
    ) -> Verdict | None:
        """Write the charter's files and the catalogue to a temporary source; load, analyse.

        With `charter` (another version's charter.yaml), that version is judged on the
        rows the folder's own charter.yaml loads, as `charters diff` judges BASE's charter
        on HEAD's rows: rows of a metric it does not declare are left out, where reading
        the files with it failed and hid the gain of an edit that came with such rows (a
        metric renamed, its target relaxed). When the folder's own version does not load,
        the other is given the files."""
        root = self._root()
        folder = self._folder(root, cid, folder_id, tree)
        if folder is None:
            return None  # a link or submodule: its rows cannot be told, so no verdict
        own_catalogue, catalogue = catalogues  # the folder's commit's; the one judged with
        today = date.fromisoformat(day)
        rows = None
        own = f"{cid}\0{folder_id}\0{own_catalogue[0] if own_catalogue else ''}\0{day}"
        if charter is not None:
            if own not in self._rows:
                _catalogue(root, own_catalogue)
                self._own_rows(own, *load_project(root, today)[0].charters)
            given = self._rows[own]
            if given is not None and only is not None:
                given = _of_metrics(given, only)
            if given is not None and renamed:
                given = renamed_rows(given, renamed)
            rows = {cid: given} if given is not None else None
            (folder / "charter.yaml").write_bytes(charter)
        _catalogue(root, catalogue)
        project, _ = load_project(root, today, rows=rows)
        found = [c for c in project.charters if c.id == cid]
        if charter is None:
            self._own_rows(own, *found)
        return analyze_charter(found[0]).verdict if found else None

    def renames(self, before: str, name: str, commit: str, cid: str, day: str) -> dict[str, str]:
        """The metrics whose id changed from charter folder `name` at commit `before` to
        folder `cid` at `commit` (old id → new id), their rows with them, as `charters diff`
        knows them (`renames_between`), both versions built on `day`; none when either
        does not load. Kept by the folders' tree ids, the catalogues' blob ids and the day,
        with the verdicts: a history asks it of every commit that changes a metric id, and
        again for each new head."""
        parts = [day]
        for sha, folder in ((before, name), (commit, cid)):
            tree = self.objects.object(f"{sha}:{self.prefix}charters/{folder}") if sha else None
            if tree is None or tree[1] != "tree":
                return {}
            catalogue = self.catalogue(sha)
            parts += [folder, tree[0], catalogue[0] if catalogue else "", self._smudging(folder)]
        key = hashlib.blake2b("\0".join(parts).encode(), digest_size=16).hexdigest()
        if key not in self.known_renames:
            old, new = self._charter_at(before, name, day), self._charter_at(commit, cid, day)
            found = {}
            if old is not None and new is not None:
                found = renames_between(old.charter, old.results, new.charter, new.results)
            self.known_renames[key] = found
        self.used_renames[key] = self.known_renames[key]
        return dict(self.known_renames[key])

    def _charter_at(self, commit: str, name: str, day: str) -> LoadedCharter | None:
        """Charter folder `name` at `commit` as it loads there, with its own rows and the
        commit's metrics.yaml, built on `day`; None if it does not load."""
        found = self.objects.object(f"{commit}:{self.prefix}charters/{name}")
        if found is None or found[1] != "tree":
            return None
        root = self._root()
        if self._folder(root, name, found[0], found[2]) is None:
            return None
        _catalogue(root, self.catalogue(commit))
        charters = load_project(root, date.fromisoformat(day))[0].charters
        return next((c for c in charters if c.id == name), None)

    def _smudging(self, cid: str) -> str:
        """The files of charter folder `cid` read through a smudge filter, for the keys of
        its verdicts: the working tree's attributes may give them one later."""
        inside = f"{self.prefix}charters/{cid}/"
        names = sorted(p[len(inside) :] for p in self.objects.filtered if p.startswith(inside))
        return f"\0filtered\0{names}" if names else ""

    def _folder(self, root: Path, cid: str, folder_id: str, tree: bytes) -> Path | None:
        """Write tree `folder_id` as the one charter folder of the temporary source `root`,
        each file as a checkout writes it; None (and no folder) when it holds a symbolic
        link or a submodule, or a file its smudge filter does not give."""
        shutil.rmtree(root / "charters", ignore_errors=True)
        folder = root / "charters" / cid
        folder.mkdir(parents=True)
        inside = f"{self.prefix}charters/{cid}/"
        for rel, blob, content in self._files(tree, len(folder_id) // 2, ""):
            if content is not None and f"{inside}{rel}" in self.objects.filtered:
                content = self.objects.read(blob, f"{inside}{rel}")
            if content is None:
                shutil.rmtree(root / "charters", ignore_errors=True)
                return None
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        return folder

    def _own_rows(self, key: str, *loaded: LoadedCharter) -> None:
        """Keep the rows a folder's own charter.yaml reads (None when it does not load), for
        the next question about the same folder with another version's charter: a commit's
        own verdict is asked first, then its charter before the edit on its rows."""
        if len(self._rows) > 8:
            self._rows.clear()
        self._rows[key] = loaded[0].results if loaded else None

    def _files(self, tree: bytes, size: int, base: str) -> Iterator[tuple[str, str, bytes | None]]:
        """Every file of a tree object (ids of `size` bytes) with its path, blob id and
        content (as committed); None for a symbolic link or a submodule."""
        for mode, name, sha in _entries(tree, size):
            if mode == b"40000":
                sub = self.objects.object(sha)
                if sub is not None and sub[1] == "tree":
                    yield from self._files(sub[2], size, f"{base}{name}/")
            elif mode in _MODES:
                blob = self.objects.object(sha)
                if blob is not None and blob[1] == "blob":
                    yield f"{base}{name}", blob[0], blob[2]
            else:
                yield f"{base}{name}", "", None

    def _root(self) -> Path:
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="charters-verdicts-"))
        return self._tmp

    def close(self) -> None:
        """Remove the temporary folder and keep the verdicts this replay used for the next."""
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        _write(self.cache, self.used, self.used_renames)


def _of_metrics(rows: ResultTable, metrics: frozenset[str]) -> ResultTable:
    """The rows of `metrics` alone."""
    strings, metric = rows.store.strings, rows.store.metric
    return ResultTable(rows.store, [i for i in rows.positions if strings[metric[i]] in metrics])


def _catalogue(root: Path, catalogue: tuple[str, bytes] | None) -> None:
    """metrics.yaml in the temporary source `root`: `catalogue`'s content, or none."""
    if catalogue is None:
        (root / "metrics.yaml").unlink(missing_ok=True)
    else:
        (root / "metrics.yaml").write_bytes(catalogue[1])


def _entries(tree: bytes, size: int) -> Iterator[tuple[bytes, str, str]]:
    """(mode, name, object id) of each entry of a git tree object; ids are `size` bytes
    (20 for SHA-1, 32 for SHA-256)."""
    i = 0
    while i < len(tree):
        space = tree.index(b" ", i)
        nul = tree.index(b"\0", space)
        mode, name = tree[i:space], tree[space + 1 : nul].decode("utf-8", "surrogateescape")
        sha = tree[nul + 1 : nul + 1 + size]
        i = nul + 1 + size
        if "/" not in name and name not in (".", ".."):
            yield mode, name, sha.hex()


def _read(path: Path | None) -> tuple[dict[str, Verdict | None], dict[str, dict[str, str]]]:
    """The verdicts and the metric renames (`VerdictReplay.renames`) a replay kept."""
    if path is None:
        return {}, {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != verdict_format():
            return {}, {}
        verdicts = {
            str(k): v
            for k, v in data["verdicts"].items()
            if v is None or (isinstance(v, str) and v in VERDICTS)
        }
        renames = {
            str(k): dict(v)
            for k, v in data.get("renames", {}).items()
            if isinstance(v, dict) and all(isinstance(x, str) for x in (*v, *v.values()))
        }
        return verdicts, renames
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}, {}


def _write(
    path: Path | None, verdicts: dict[str, Verdict | None], renames: dict[str, dict[str, str]]
) -> None:
    """Keep the verdicts and renames of this replay; those of versions no longer in the
    history go."""
    if path is None:
        return
    data = {
        "format": verdict_format(),
        "verdicts": dict(sorted(verdicts.items())),
        "renames": dict(sorted(renames.items())),
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written only costs the next new head the loads
