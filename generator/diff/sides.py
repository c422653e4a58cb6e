"""Diff stage: reading the two sides (a git revision, a folder, the working tree), analysed.

A side is loaded and validated exactly as `charters check` would, then every charter
that loaded is analysed and checked with the rules of `check` (without the staleness
rule, which depends on today's date rather than on the change). A side that does not
load cleanly keeps its problems; the charters that did load are still compared.

A git revision is read blob by blob (`git ls-tree`, then `git cat-file --batch
--filters`, the files as a checkout would have them; links only when they stay in
the repository, with what they point to); nothing is checked out and the working
tree is not touched.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, Literal, NamedTuple, NoReturn

from ..analyze import CharterView
from ..catalogue import resolve_refs
from ..diagnostics import Diagnostic, Diagnostics, today_from_env
from ..formatting import plural
from ..gitrepo import Blobs, commit_days, filtered_paths
from ..load import Project, load_project
from ..paths import real
from ..readers import parse_yaml, read_text
from ..rules import CharterCheck, check_project

SideKind = Literal["worktree", "folder", "git"]


class DiffError(Exception):
    """A side cannot be read at all: a missing revision, no git repository."""


@dataclass
class Side:
    """One side of the comparison: loaded, validated, analysed and checked."""

    label: str
    kind: SideKind
    spec: str | None
    revision: str | None
    project: Project
    errors: list[Diagnostic]
    present: list[str]  # every folder under charters/, loaded or not
    checks: dict[str, CharterCheck]  # by charter id, every charter that loaded
    # When this side was written: a revision's commit date; today for a folder or the
    # working tree (`SOURCE_DATE_EPOCH` when set). An agreement renewed for a change
    # must not be dated before it.
    day: date | None = None
    # A git revision's repository (top folder, the source folder's path in it).
    repository: tuple[Path, str] | None = None
    # The charter.yaml, as written, of each charter that did not load (when it parses):
    # its goalposts are still compared (compare.unloaded_goalposts).
    raw: dict[str, dict[str, Any]] = field(default_factory=dict)
    today: date | None = None  # the build date its results were checked against
    # Remarks on how it was read that change what the comparison can see (a shallow
    # clone's cut in BASE's history).
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def view(self, cid: str) -> CharterView | None:
        """The analysed charter `cid` (metrics with latest values, progress, status)."""
        check = self.checks.get(cid)
        return check.view if check is not None else None

    def failed(self) -> list[str]:
        """Charters with a folder on this side that did not load."""
        return [cid for cid in self.present if cid not in self.checks]


def load_side(spec: str | None, source: Path, role: str, today: date | None = None) -> Side:
    """Load one side: the working tree (`spec` None), a folder, or a git revision.

    `today` is the build date results are checked against (see `load_project`); give
    both sides the same one.
    """
    if spec is None:
        run_day = today_from_env(today)
        return _read(source, _worktree_label(source), "worktree", None, None, run_day, today)
    folder = Path(spec)
    as_path = folder.is_absolute() or spec.startswith(("./", "../", "~"))
    if folder.is_dir():
        if not as_path and _names_a_revision(source, spec):
            raise DiffError(
                f"{role} {spec!r} is both a folder and a git revision: write"
                f" {'./' + spec!r} for the folder, or {spec + '^0'!r} for the revision (a"
                " folder of that name added by a change would be compared in the"
                " revision's place)"
            )
        return _read(folder, spec, "folder", spec, None, today_from_env(today), today)
    if as_path:  # a path, not a revision
        what = "no folder (nothing is there)"
        if os.path.islink(folder):
            what = "a symbolic link to nothing, or one that loops,"
        elif os.path.lexists(folder):
            what = "a file, not a folder,"
        raise DiffError(f"{role} {spec!r} is {what} and no git revision")
    top, prefix = _repository(source, spec, role)
    sha = _resolve(top, spec, role)
    with tempfile.TemporaryDirectory(prefix="charters-diff-") as tmp:
        root = _materialise(top, sha, prefix, Path(tmp))
        side = _read(root, f"{spec} ({sha[:10]})", "git", spec, sha, _commit_date(top, sha), today)
    side.repository = (top, prefix)
    if role == "BASE":
        side.notes += _shallow(top, sha, spec)
    return side


#: How many commits back BASE's history is read for rows taken out or charters removed
#: (`rows.DELETIONS_BEFORE`, `compare.removed_before`).
HISTORY_READ = 20


def _shallow(top: Path, sha: str, spec: str) -> list[str]:
    """A note when BASE's history ends, in a shallow clone, within the commits a diff reads
    back for rows taken out and charters removed (its removals are read further, to the
    cut): what went before the cut is not compared, and nothing else would say so."""
    if _git(["rev-parse", "--is-shallow-repository"], top).stdout.strip() != b"true":
        return []
    where = _git(["rev-parse", "--git-path", "shallow"], top).stdout.decode().strip()
    try:
        cut = set((top / where).read_text(encoding="ascii").split())
    except OSError:
        return []
    listed = _git(["rev-list", "--first-parent", f"-n{HISTORY_READ}", sha], top)
    commits = listed.stdout.decode().split()
    if not cut.intersection(commits):
        return []
    n = next(i for i, c in enumerate(commits) if c in cut) + 1
    return [
        f"BASE ({spec}) is a shallow clone whose history ends {plural(n, 'commit')} back:"
        " rows taken out and put back, and charters removed and added again, before"
        " then are not compared. Fetch more history (git fetch --deepen=50, or"
        " fetch-depth: 0 in GitHub's checkout)."
    ]


class Removed(NamedTuple):
    """A charter as it was at a revision (`load_removed`), with the rules site.yaml
    switched off there."""

    check: CharterCheck
    disabled: frozenset[str]


def load_removed(
    base: Side, wanted: Mapping[str, Collection[str]]
) -> dict[tuple[str, str], Removed | str]:
    """Charters as they were at revisions of BASE's repository (each where a removal left
    them: `wanted`, revision → charter folders), loaded and checked as a side's charters
    are, with the revision's site.yaml and metrics.yaml and BASE's build date; each
    revision read once, with only those folders. By (revision, folder): the charter, or
    why it is not there to compare (it does not load, or cannot be read)."""
    found: dict[tuple[str, str], Removed | str] = {}
    if base.repository is None:
        return found
    top, prefix = base.repository
    for revision, names in sorted(wanted.items()):
        try:
            with tempfile.TemporaryDirectory(prefix="charters-diff-") as tmp:
                root = _materialise(top, revision, prefix, Path(tmp), only=sorted(names))
                side = _read(root, revision, "git", revision, revision, None, base.today)
        except DiffError as exc:
            found.update({(revision, name): str(exc) for name in names})
            continue
        disabled = frozenset(side.project.site.lint.disable)
        for name in names:
            check = side.checks.get(name)
            loaded = Removed(check, disabled) if check is not None else None
            found[(revision, name)] = loaded or "it does not load there"
    return found


_CHARTER_YAML = re.compile(r"charters/([^/]+)/charter\.yaml")


def edit_dates(base: Side, head: Side) -> dict[str, date]:
    """When each charter's charter.yaml was last edited between two revisions of one
    repository: the author date (the earlier of the author's calendar and UTC's) of the
    newest commit in BASE..HEAD that changed it, merges left out. A change is dated by the
    commit that made it, as the history dates it, not by HEAD's commit: GitHub's merge
    commit for a pull request, a later commit or a rebase is newer than the edit, and a
    renewal dated the day of the edit was called earlier than the change. Empty unless
    both sides are revisions of the same repository."""
    if base.revision is None or head.revision is None or head.repository is None:
        return {}
    if base.repository != head.repository:
        return {}
    top, prefix = head.repository
    shown = _git(
        [
            "-c",
            "core.quotePath=false",
            "log",
            "--no-merges",
            "--no-renames",
            "--format=%x01%aI",
            "--name-only",
            f"{base.revision}..{head.revision}",
            "--",
            f"{prefix}charters",
        ],
        top,
    )
    found: dict[str, date] = {}
    if shown.returncode != 0:
        return found
    for chunk in shown.stdout.decode("utf-8", "replace").split("\x01")[1:]:
        stamp, *paths = chunk.splitlines()
        days = commit_days(stamp)
        for path in paths:
            edited = _CHARTER_YAML.fullmatch(path.removeprefix(prefix))
            if days is not None and edited is not None and path.startswith(prefix):
                found.setdefault(edited.group(1), days[0])  # newest first
    return found


def _read(
    root: Path,
    label: str,
    kind: SideKind,
    spec: str | None,
    sha: str | None,
    day: date | None,
    today: date | None,
) -> Side:
    """Load and analyse one side; `day` is the side's own date (the commit's, or today),
    `today` the build date its results are checked against."""
    project, diags = load_project(root, today)
    charters = root / "charters"
    present = (
        sorted(p.name for p in charters.iterdir() if p.is_dir() and not p.name.startswith("."))
        if charters.is_dir()
        else []
    )
    # Validation errors only: a warning (a result file the charter does not list) loads,
    # builds and passes `check`, so it does not make a side "not load cleanly".
    errors = [d for d in diags.sorted() if d.severity == "error"]
    if kind == "git" and not charters.is_dir():
        # A revision from before the charters (the first pull request that adds them): an
        # empty side, not one that "does not load cleanly".
        errors = [d for d in errors if d.ref.path != "charters"]
    # No `today`: the staleness rule depends on the date, not on the change.
    checks = check_project(project)
    raw: dict[str, dict[str, Any]] = {}
    for cid in (c for c in present if c not in checks):
        text = read_text(root, f"charters/{cid}/charter.yaml", Diagnostics())
        doc = parse_yaml(text, f"charters/{cid}/charter.yaml", Diagnostics()) if text else None
        if doc is not None and isinstance(doc.data, dict):
            # `ref`s filled from the side's catalogue, as in the charters that loaded:
            # the goalposts are compared with those (compare.unloaded_goalposts).
            raw[cid] = resolve_refs(doc, project.catalogue, Diagnostics()).data
    return Side(
        label=label,
        kind=kind,
        spec=spec,
        revision=sha,
        project=project,
        errors=errors,
        present=present,
        checks=checks,
        day=day,
        today=today,
        raw=raw,
    )


# --- git -------------------------------------------------------------------------------


def _git(
    args: list[str], cwd: Path, given: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            # Paths as written (a folder named `:x` is no pathspec magic), and the same
            # output whatever the machine's configuration (a signature or a root commit
            # shown otherwise broke the reading of the log).
            [
                "git",
                "--no-replace-objects",
                "--literal-pathspecs",
                "-c",
                "log.showSignature=false",
                "-c",
                "log.showRoot=true",
                *args,
            ],
            cwd=cwd,
            input=given,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError as exc:
        raise DiffError("git is not installed; compare folders instead of revisions") from exc


def _repository(source: Path, spec: str, role: str) -> tuple[Path, str]:
    """The repository's top folder and the source folder's path inside it."""
    top = _git(["rev-parse", "--show-toplevel"], source)
    prefix = _git(["rev-parse", "--show-prefix"], source)
    if top.returncode != 0 or prefix.returncode != 0:
        said = (top.stderr or prefix.stderr).decode(errors="replace").strip().splitlines()
        why = f"{source} is not in a git repository"
        if said and "not a git repository" not in said[0]:
            why = f"git cannot read the repository at {source}: {said[0]}"
        raise DiffError(f"{role} {spec!r} is neither a folder nor a revision: {why}")

    # Only git's line end is taken off: a folder's name may begin or end with a space.
    def line(out: bytes) -> str:
        return out.decode("utf-8", "surrogateescape").removesuffix("\n")

    return Path(line(top.stdout)), line(prefix.stdout)


def _worktree_label(source: Path) -> str:
    """The working tree's label, with the commit it stands on when it is in a repository:
    "working tree at HEAD (sha)" when none of the files a side reads differs from that
    commit (a change to the docs beside them does not count), as in CI's checkout, where
    the comment said "origin/main → working tree" and named no commit; "working tree
    (HEAD sha and uncommitted changes)" otherwise."""
    try:
        head = _git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], source)
        read = ["charters", "site.yaml", "metrics.yaml"]  # what a revision's side reads
        # Ignored files too: a charters/ in .gitignore is read here and in no commit.
        every = ["--untracked-files=all", "--ignored=matching"]
        status = _git(["status", "--porcelain", *every, "--", *read], source)
    except DiffError:  # no git
        return "working tree"
    if head.returncode != 0 or status.returncode != 0:  # no repository, or no commit yet
        return "working tree"
    sha = head.stdout.decode().strip()[:10]
    if status.stdout.strip():
        return f"working tree (HEAD {sha} and uncommitted changes)"
    return f"working tree at HEAD ({sha})"


def _names_a_revision(source: Path, spec: str) -> bool:
    """Whether `spec` names a commit of the repository that holds `source` (False outside
    one): `origin/main` may also be a folder, as `git diff` finds a name both a file and a
    revision ambiguous."""
    if spec.startswith("-"):
        return False
    if "..." in spec:  # where two revisions forked: a revision when both ends are
        left, _, right = spec.partition("...")
        return all(_names_a_revision(source, end or "HEAD") for end in (left, right))
    if ".." in spec:  # a range is no revision (`_resolve` refuses it)
        return False
    try:
        top = _git(["rev-parse", "--show-toplevel"], source)
        if top.returncode != 0:
            return False
        return _commit_of(Path(top.stdout.decode().strip()), spec) is not None
    except DiffError:  # no git: folders are still compared
        return False


def _commit_of(top: Path, spec: str) -> str | None:
    """The commit `spec` names in the repository at `top`, or None."""
    found = _git(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{spec}^{{commit}}"], top
    )
    return found.stdout.decode().strip() if found.returncode == 0 else None


def _resolve(top: Path, spec: str, role: str) -> str:
    if spec.startswith("-") or not spec.strip():
        raise DiffError(f"{role} {spec!r} is not a valid revision")
    left, dots, right = spec.partition("..." if "..." in spec else "..")
    if dots and (".." in left or ".." in right):  # `refs/../../x`: neither a name nor a range
        raise DiffError(
            f"{role} {spec!r} is not a valid revision: a name cannot hold '..', and a range"
            " holds it once (`main..HEAD`, `main...HEAD`)"
        )
    if dots == "...":  # `main...HEAD`: where they forked, as `git diff main...HEAD` reads it
        ends = [_resolve(top, side or "HEAD", role) for side in (left, right)]
        base = _git(["merge-base", *ends], top)
        if base.returncode != 0:
            raise DiffError(f"{role} {spec!r}: the two revisions have no common ancestor")
        return base.stdout.decode().split()[0]
    if dots:  # not a revision but a range: it was "not found", with advice to fetch
        raise DiffError(
            f"{role} {spec!r} is a range, not a revision: give its two ends,"
            f" `charters diff {left or 'HEAD'} {right or 'HEAD'}` (or `{left}...{right}` for"
            " where they forked)"
        )
    found = _commit_of(top, spec)
    if found is not None:
        return found
    kind = _object_kind(top, spec)
    if kind is not None:  # `main:charters`, `HEAD^{tree}`: there, but no commit
        if kind == "tag":  # a tag of a tree or a blob
            kind = f"tag of a {_object_kind(top, spec + '^{}') or 'non-commit'}"
        raise DiffError(
            f"{role} {spec!r} names a git {kind}, not a commit: give a commit (a branch, a"
            " tag of a commit or a commit id), or a folder"
        )
    if os.path.lexists(spec) and not os.path.isdir(spec):  # `site.yaml`, as `./site.yaml`
        raise DiffError(f"{role} {spec!r} is a file, not a folder, and no git revision")
    shallow = _git(["rev-parse", "--is-shallow-repository"], top).stdout.decode().strip()
    raise DiffError(missing_revision_message(spec, role, shallow == "true"))


def _object_kind(top: Path, spec: str) -> str | None:
    """The type of the git object `spec` names (`tree`, `blob`), or None."""
    found = _git(["cat-file", "-t", "--end-of-options", spec], top)
    return found.stdout.decode().strip() or None if found.returncode == 0 else None


def _commit_date(top: Path, sha: str) -> date | None:
    """The date the change `sha` records was made: its commit date, the earlier of the
    committer's and UTC's (an agreement renewed that evening in California is dated the
    day before UTC's), so a renewal dated the committer's day is not called earlier than
    the change."""
    shown = _git(["show", "-s", "--format=%cI", sha], top)
    days = commit_days(shown.stdout.decode()) if shown.returncode == 0 else None
    return days[0] if days is not None else None


def missing_revision_message(spec: str, role: str, shallow: bool) -> str:
    """What to do when a revision is not in the clone: usually, fetch more history."""
    where = "this shallow clone" if shallow else "this repository"
    match = re.match(r"^(?:refs/remotes/)?([^/~^@:]+)/([^~^@:]+)", spec)
    if match and not spec.startswith(("HEAD", "refs/heads/")):
        # Into the remote-tracking branch by name: a clone of one branch (`--depth 1`
        # implies it) fetches another without making `origin/<branch>`.
        remote, branch = match.groups()
        fetch = f"`git fetch {remote} +{branch}:refs/remotes/{remote}/{branch}`"
    elif shallow:
        fetch = "`git fetch --deepen=50` (or `git fetch --unshallow`)"
    else:
        fetch = "`git fetch origin <branch>`"
    return (
        f"{role} revision {spec!r} was not found in {where}. If it exists upstream, fetch"
        f" it first: {fetch}."
        " In GitHub Actions, check out with `fetch-depth: 0` (actions/checkout);"
        " in GitLab CI, set `GIT_DEPTH: 0`."
    )


def _materialise(
    top: Path, sha: str, prefix: str, dest: Path, only: Sequence[str] | None = None
) -> Path:
    """Write the source folder's charters/ (or only the folders of the charters `only`
    names), site.yaml and metrics.yaml at `sha` into `dest`.

    Each file is its blob (one `git cat-file --batch`), through its smudge filter when
    the working tree's attributes give it one (Git LFS, say: `git cat-file --filters`),
    never `git archive`'s output: an archive applies the tree's own `export-subst` and
    `export-ignore` attributes, so a committed `.gitattributes` could show the
    comparison other files than a build of the checkout reads. A link is made as a
    link when it stays inside the repository, and what it points to is read too (a
    charter's folder kept elsewhere in the repository, as the build follows it)."""
    folders = [f"{prefix}charters/{name}" for name in only] if only is not None else []
    wanted = [*(folders or [f"{prefix}charters"]), f"{prefix}site.yaml", f"{prefix}metrics.yaml"]
    root = dest / prefix if prefix else dest
    root.mkdir(parents=True, exist_ok=True)
    read: list[str] = []  # the paths of the repository read so far
    links: list[str] = []
    targets: set[str] = set()  # what links point to: a path through another link too
    with Blobs(top) as blobs:  # asked by id: a path may hold a line break, an id never
        while wanted := [p for p in wanted if not _covered(p, read)]:
            read.extend(wanted)
            present = [
                p for p in wanted if _git(["cat-file", "-e", f"{sha}:{p}"], top).returncode == 0
            ]
            made = (
                _write_files(top, sha, dest, blobs, _listing(top, sha, present)) if present else []
            )
            links.extend(made)
            # A link to a folder holding what is read (`..`) adds nothing a charter reads.
            found = {t for t in map(partial(_target, dest), made) if not _above(t, read)}
            # A target not in the tree as written (shared/g1, with shared itself a link):
            # its folders are read, so that the link among them is made and followed.
            found |= {
                part for p in wanted if p in targets and p not in present for part in _parents(p)
            }
            targets |= found
            wanted = sorted(found)
    home = dest.resolve()
    for path in links:  # through other links too, once they are all made
        if not real(dest / path).is_relative_to(home):
            _link_out(sha, path, os.readlink(dest / path))
    return root


def _parents(path: str) -> list[str]:
    """The folders `path` lies in, outermost first: `a`, `a/b` for `a/b/c`."""
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def _covered(path: str, read: list[str]) -> bool:
    """Whether `path` lies in (or is) a path of the repository already read."""
    return any(path == done or path.startswith(done + "/") for done in read)


def _above(path: str, read: list[str]) -> bool:
    """Whether `path` is the repository itself or holds a path already read."""
    return path == "." or any(done.startswith(path + "/") for done in read)


def _target(dest: Path, path: str) -> str:
    """The path in the repository the link `path` (made in `dest`) points to."""
    return os.path.normpath(os.path.join(os.path.dirname(path), os.readlink(dest / path)))


def _listing(top: Path, sha: str, paths: list[str]) -> list[tuple[str, str, str]]:
    """(mode, blob id, path) of every file under `paths` at `sha` (`git ls-tree`)."""
    listing = _git(["ls-tree", "-r", "-z", "--full-tree", sha, "--", *paths], top)
    if listing.returncode != 0:
        message = listing.stderr.decode(errors="replace").strip()
        raise DiffError(f"cannot read {sha[:10]} with git ls-tree: {message}")
    files: list[tuple[str, str, str]] = []
    for record in listing.stdout.split(b"\0"):
        meta, _, name = record.partition(b"\t")
        fields = meta.split()
        if len(fields) == 3 and fields[1] == b"blob":  # not a submodule (a commit)
            mode, blob = fields[0].decode(), fields[2].decode()
            files.append((mode, blob, name.decode("utf-8", "surrogateescape")))
    return files


def _write_files(
    top: Path, sha: str, dest: Path, blobs: Blobs, files: list[tuple[str, str, str]]
) -> list[str]:
    """Write `files` into `dest`, links as links; return the links' paths."""
    plain = [(blob, path) for mode, blob, path in files if mode != "120000"]
    links = [(blob, path) for mode, blob, path in files if mode == "120000"]
    filtered = filtered_paths(top, [path for _, path in plain])
    for blob, path in plain:
        content = _smudged(top, sha, path) if path in filtered else _blob(blobs, blob, path, sha)
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    for blob, path in links:
        _link(dest, path, os.fsdecode(_blob(blobs, blob, path, sha)), sha)
    return [path for _, path in links]


def _blob(blobs: Blobs, blob: str, path: str, sha: str) -> bytes:
    content = blobs.read(blob)
    if content is None:
        raise DiffError(f"cannot read {sha[:10]} with git cat-file: {path!r} is missing")
    return content


def _smudged(top: Path, sha: str, path: str) -> bytes:
    """The file at `path` in `sha` through its smudge filter, as a checkout writes it."""
    done = _git(["cat-file", "--filters", f"{sha}:{path}"], top)
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip()
        raise DiffError(f"cannot read {path!r} at {sha[:10]} through its filter: {message}")
    return done.stdout


def _link(dest: Path, path: str, target: str, sha: str) -> None:
    """Make the link `path` to `target` in `dest`, refused when it leads out of it."""
    where = dest / path
    inside = not os.path.isabs(target) and os.path.normpath(
        os.path.join(os.path.dirname(path), target)
    ).split(os.sep)[0] not in ("..", "")
    if not inside:
        _link_out(sha, path, target)
    where.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, where)


def _link_out(sha: str, path: str, target: str) -> NoReturn:
    raise DiffError(
        f"cannot read {sha[:10]}: {path!r} is a link to {target!r}, out of the repository;"
        " only plain files, folders and links that stay inside the repository can be compared"
    )
