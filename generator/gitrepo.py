"""Shared: the git repository around a source folder, read with plain `git` commands.

Light on purpose (no YAML, no model): the build's input fingerprint asks for the
repository's state on every build, a no-op included (generator/cache.py), and the
history (generator/history.py) reads its commits.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

NO_GIT = "History needs git, which is not installed where this site was built."
NO_REPOSITORY = (
    "History needs a git repository: this site was built from a folder that is not in one."
)
SHALLOW = (
    "History needs the full git history: this is a shallow clone; fetch with"
    " `git fetch --unshallow` (in GitHub Actions, check out with `fetch-depth: 0`;"
    " in GitLab CI, set `GIT_DEPTH: 0`)."
)
NO_COMMITS = "History needs commits: the repository has none yet."


class Unavailable(Exception):
    """No history can be read; the message says what is missing."""


def commit_days(committed: str) -> tuple[date, date] | None:
    """A commit's date as its committer saw it and in UTC (`%cI`, ISO 8601 with the
    committer's offset), earlier first; None when it is not one. A person dates a row
    or an agreement on their own calendar, a CI machine on UTC's: the two differ by a
    day for commits made near midnight, and each use takes the one that does not wrong
    the committer (history: the later, as a build date; diff: the earlier, as the date
    an agreement must not precede)."""
    found = _stamp(committed)
    utc = utc_time(committed)
    if found is None or utc is None:
        return None
    days = (found[0].date(), utc.date())
    return min(days), max(days)


def utc_time(stamp: str) -> datetime | None:
    """A git date (`%aI`, `%cI`) in UTC; None when it is not one. Git takes any offset
    up to ±99:59 and years past 9999, which Python's own reading refuses (a commit so
    dated made `charters diff` fail, and the history date it 1970): the offset is
    applied as written, and a year past 9999 is the last moment a date can hold."""
    found = _stamp(stamp)
    if found is None:
        return None
    local, offset = found
    try:
        return (local - offset).replace(tzinfo=UTC)
    except OverflowError:
        return (datetime.max if offset < timedelta(0) else datetime.min).replace(tzinfo=UTC)


_STAMP = re.compile(r"(\d{4,})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:Z|([+-])(\d\d):?(\d\d))")


def _stamp(text: str) -> tuple[datetime, timedelta] | None:
    """A git date's local time (naive) and offset from UTC."""
    match = _STAMP.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(match[i]) for i in range(1, 7))
    try:
        local = datetime.max if year > 9999 else datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    offset = timedelta(hours=int(match[8] or 0), minutes=int(match[9] or 0))
    return local, -offset if match[7] == "-" else offset


def git(
    args: Sequence[str], cwd: Path, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run git read-only: `--no-optional-locks` keeps `status` from rewriting the index.
    `stdin`: what the command reads (`--stdin`)."""
    try:
        return subprocess.run(
            # Objects as committed: a `git replace` would rewrite the history's authors and
            # files without changing the head the history is cached by. Authors named by
            # the repository's .mailmap alone: one that the user's or the machine's git
            # configuration names (mailmap.file, mailmap.blob) would give the same commits
            # other names on another machine, and change them under the same cache key.
            [
                "git",
                "--no-optional-locks",
                "--no-replace-objects",
                "-c",
                "log.showSignature=false",
                "-c",
                "log.showRoot=true",
                "-c",
                "mailmap.file=",
                "-c",
                "mailmap.blob=",
                *args,
            ],
            cwd=cwd,
            input=stdin,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError as exc:
        raise Unavailable(NO_GIT) from exc


@dataclass(frozen=True)
class Repo:
    top: Path
    prefix: str  # the source folder inside the repository, `` or `site/`
    head: str

    @property
    def charters(self) -> str:
        return f"{self.prefix}charters/"

    @property
    def catalogue(self) -> str:
        """The catalogue of business metrics, `metrics.yaml`, beside `charters/`."""
        return f"{self.prefix}metrics.yaml"

    def charter_of(self, path: str) -> tuple[str, str] | None:
        """(charter id, path inside its folder) of a repository path under charters/."""
        if not path.startswith(self.charters):
            return None
        cid, _, rest = path[len(self.charters) :].partition("/")
        return (cid, rest) if rest and not cid.startswith(".") else None

    def mailmap(self) -> str:
        """A hash of the repository's `.mailmap` as it is in the working tree (git reads it
        there to name each commit's author: `%aN`), "" without one."""
        try:
            data = (self.top / ".mailmap").read_bytes()
        except OSError:
            return ""
        return hashlib.blake2b(data, digest_size=10).hexdigest()

    def status(self) -> tuple[set[str], bool]:
        """Charters with changes that are not committed: a tracked file changed, or a
        file git does not ignore added (a new result file shows on the page but is in no
        commit); and whether metrics.yaml has such changes. Only the charters folder is
        walked for untracked files (at 1,000 charters, about 20 ms more than `-uno`); a
        charter not committed at all is named too, and has no events.
        """
        args = ["status", "--porcelain", "-z", "-unormal", "--no-renames"]
        shown = git([*args, "--", f":/{self.charters}", f":/{self.catalogue}"], self.top)
        found: set[str] = set()
        catalogue = False
        for entry in shown.stdout.decode("utf-8", "surrogateescape").split("\0"):
            path = entry[3:]
            catalogue |= path == self.catalogue
            if path.startswith(self.charters):
                cid = path[len(self.charters) :].split("/")[0]
                if cid and not cid.startswith("."):
                    found.add(cid)
        return found, catalogue


def probe(source: Path) -> Repo:
    """The repository around `source`, or why there is no history to read."""
    shown = git(
        ["rev-parse", "--is-shallow-repository", "--show-toplevel", "--show-prefix", "HEAD"],
        source,
    )
    lines = shown.stdout.decode("utf-8", "surrogateescape").splitlines()
    if shown.returncode != 0 or len(lines) < 4:
        if len(lines) >= 3:  # a repository whose HEAD has no commit yet
            raise Unavailable(NO_COMMITS)
        problem = shown.stderr.decode(errors="replace").strip().splitlines()
        if not problem or "not a git repository" in problem[0]:
            raise Unavailable(NO_REPOSITORY)
        raise Unavailable(f"History could not be read from git: {problem[0]}")
    if lines[0] == "true":
        raise Unavailable(SHALLOW)
    return Repo(Path(lines[1]), lines[2], lines[3])


def tracked(source: Path, rel: str) -> bool:
    """Whether git tracks any file at or under `rel` (relative to `source`); False where
    there is no git or no repository."""
    try:
        shown = git(["ls-files", "-z", "--", rel], source)
    except Unavailable:
        return False
    return shown.returncode == 0 and bool(shown.stdout.strip(b"\0"))


def folders(source: Path) -> tuple[Path, ...]:
    """The git folders of the repository around `source` whose change moves its head: the
    checkout's own (`HEAD`) and the one its branches are kept in (`refs/`, `packed-refs`),
    one folder unless `source` is in a linked worktree; none outside a repository."""
    try:
        shown = git(["rev-parse", "--absolute-git-dir", "--git-common-dir"], source)
    except Unavailable:
        return ()
    lines = shown.stdout.decode("utf-8", "surrogateescape").splitlines()
    if shown.returncode != 0 or len(lines) != 2:
        return ()
    found = [Path(lines[0]).resolve(), (source / lines[1]).resolve()]
    return tuple(dict.fromkeys(found))


def state(source: Path) -> str:
    """The repository's state as the history sees it: head commit, the charters with
    uncommitted changes and whether metrics.yaml has some (the history notes it on the
    charters that claim its metrics), or what is missing; part of the build's input
    fingerprint."""
    try:
        repo = probe(source)
    except Unavailable as exc:
        return str(exc)
    charters, catalogue = repo.status()
    # Not the repository's place on disk: two checkouts of one commit are one input.
    # The authors' names come through .mailmap, which need not be committed.
    mark = "metrics.yaml uncommitted" if catalogue else "metrics.yaml committed"
    return "\0".join([repo.prefix, repo.head, repo.mailmap(), mark, *sorted(charters)])


def filtered_paths(top: Path, paths: Collection[str]) -> set[str]:
    """The paths to which the working tree's attributes give a `filter` (`git check-attr`):
    a checkout writes such a file through its smudge filter (Git LFS, say), not as its
    blob is."""
    if not paths:
        return set()
    names = b"".join(path.encode("utf-8", "surrogateescape") + b"\0" for path in paths)
    done = git(["check-attr", "-z", "--stdin", "filter"], top, names)
    fields = done.stdout.split(b"\0") if done.returncode == 0 else []
    return {
        fields[i].decode("utf-8", "surrogateescape")
        for i in range(0, len(fields) - 2, 3)
        if fields[i + 2] not in (b"unspecified", b"unset")
    }


def is_ancestor(top: Path, ancestor: str, sha: str) -> bool:
    """Whether commit `ancestor` is `sha` or in its history (`git merge-base
    --is-ancestor`); true when git cannot tell (an empty id, say)."""
    if not ancestor or ancestor == sha:
        return True
    done = git(["merge-base", "--is-ancestor", ancestor, sha], top)
    return done.returncode != 1


class Blobs:
    """One `git cat-file --batch` process, asked for one object at a time (the history's
    blobs, a revision's files for `charters diff`); a context manager that closes it.

    A blob of one of the `filtered` paths (`filtered_paths`) read with its path is read
    through its smudge filter, as a checkout writes the file (one `git cat-file
    --filters` each: git's batch mode gives such a file the blob's size, not its own)."""

    def __init__(self, top: Path, filtered: Collection[str] = ()) -> None:
        self.top = top
        self.filtered = set(filtered)
        self.smudged: dict[tuple[str, str], bytes | None] = {}
        self.proc = subprocess.Popen(
            ["git", "--no-replace-objects", "cat-file", "--batch"],
            cwd=top,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def read(self, sha: str, path: str | None = None) -> bytes | None:
        """Blob `sha`'s content; through its smudge filter when `path` (the file's path in
        the repository) is one of the `filtered` paths; None when it cannot be read."""
        if not sha.strip("0"):
            return None
        if path is not None and path in self.filtered:
            return self.smudge(sha, path)
        found = self.object(sha)
        return found[2] if found is not None else None

    def smudge(self, sha: str, path: str) -> bytes | None:
        """Blob `sha` through the smudge filter of `path`; None when the filter fails (a Git
        LFS object that was not fetched, say). The last few are kept."""
        if (sha, path) not in self.smudged:
            done = git(["cat-file", "--filters", f"--path={path}", sha], self.top)
            if len(self.smudged) >= 64:
                self.smudged.pop(next(iter(self.smudged)))
            self.smudged[(sha, path)] = done.stdout if done.returncode == 0 else None
        return self.smudged[(sha, path)]

    def object(self, name: str) -> tuple[str, str, bytes] | None:
        """(id, type, content) of an object id or `<commit>:<path>`; None if missing."""
        if "\n" in name:
            return None
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(name.encode("utf-8", "surrogateescape") + b"\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline().rstrip(b"\n")
        # `<id> <type> <size>`, else `<name> missing` or `<name> ambiguous`, where the
        # name (a `<commit>:<path>`) may itself hold spaces.
        header = line.split(b" ")
        if (
            len(header) != 3
            or not header[2].isdigit()
            or line.endswith((b" missing", b" ambiguous"))
        ):
            return None
        data = self.proc.stdout.read(int(header[2]))
        self.proc.stdout.read(1)
        return header[0].decode(), header[1].decode(), data

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc.wait()

    def __enter__(self) -> Blobs:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
