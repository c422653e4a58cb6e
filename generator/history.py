"""Load stage: each charter's history from git: created, status, goalposts, agreements, rewrites.

When the source folder is in a git repository, one `git log` pass over its
`charters/` folder and its `metrics.yaml` lists every commit that touched a charter
or the catalogue, with the blobs each one changed; one `git cat-file --batch`
process reads those blobs. Commits are replayed oldest first, charter by charter:

- `created`: the first commit with a readable `charter.yaml`;
- `renamed`: a new charter folder whose `aliases` name the folder the commit
  removed: the old folder's history goes on, and the first version is compared
  with the old folder's last;
- `status`: a change of `status`; flagged when it leaves the rollout (back from
  `live`, `paused` or `retired`), as production rows then no longer judge the metrics;
- `goalpost`: a change of a business metric's baseline, target, definition, unit
  or direction (`diff.compare.is_goalpost`), or of the definition, unit or direction
  of the catalogue entry it `ref`s, in metrics.yaml (`_Catalogue`); made when the
  metric already had result rows, or in the commit that brings its first, it is a
  moved goalpost (`moved`), and whether its agreement was renewed for it is judged as
  `charters diff` judges it (`agreement_renewal`);
- `agreement`: a change of a business metric's `agreed`; flagged when an agreed
  business metric leaves the business metrics;
- `plan`: a change of a field of the measurement plan (`diff.compare.PLAN_FIELDS`);
  flagged when the charter had result rows by then and the results are judged by the
  field (`JUDGING_PLAN_FIELDS`: method, cadence, minimum detectable effect, decision
  rule), as `charters diff` flags it;
- `first-result`: the commit that brought a business metric's first result row;
- `linked`: charter.yaml, a result file, a folder or metrics.yaml made a symbolic
  link (a build follows it, the history cannot: later changes of its target are not
  in it); flagged;
- `rewritten`: a result file whose earlier rows were changed or removed, or that the
  `results` globs no longer read (appended rows are not history; they are the results);
- `verdict`: the charter's verdict (`analyze.verdict`) at a commit that changed its
  charter.yaml, a result file or an entry of metrics.yaml it `ref`s differs from its
  verdict at the previous such commit on the commit's line of history (`_lines`,
  `_on_line`) (`verdict_history.py` loads the charter as it was at the commit; a
  version that does not load is skipped); flagged when it says the business moved
  more than the verdict at the commit's parent and the commit changed no file the
  `results` globs read, or, when it changed both such files and charter.yaml (or
  metrics.yaml), than the parent's charter.yaml and metrics.yaml give on the commit's
  files (as `charters diff` judges it); a verdict
  such an edit kept from a loss the new rows alone would bring is an event too,
  flagged.

Dates and authors are the commits' (author date in UTC, author name with the
repository's .mailmap). Merge commits add nothing of their own but a verdict
they leave (`_Judge.merge`): each change is dated by the commit that made it. A
charter folder renamed goes on with its old folder's history when the new
charter.yaml lists the old id in `aliases` (`renamed`); without it, it starts a new
history.

The history is cached by the head commit and the source path as JSON under
`<cache_dir>/history/` (the verdicts of charter versions by their content under
`<cache_dir>/history/verdicts/`), so a build with a warm cache runs `git rev-parse` and
`git status` and reads one file. The working tree is not history: a charter with
uncommitted changes gets a note saying so. Outside a repository, without git, or
in a shallow clone, `History.note` says what is missing and no charter has events.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import os
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any, TypeGuard

from . import model as m
from .analyze import CharterView, MetricView
from .diagnostics import Diagnostics
from .diff.compare import (
    CATALOGUED_FIELDS,
    GOALPOST_FIELDS,
    GUARDRAIL_GOALPOSTS,
    JUDGING_PLAN_FIELDS,
    Renewal,
    _ambition,
    _by_on,
    _flatten,
    agreement_renewal,
    count_changes,
    is_goalpost,
    show,
    shown_change,
    written_agreement,
)
from .diff.compare import at_key as _at_key
from .diff.compare import written_plan as _plan
from .diff.metric_renames import bare_raw, renamed_raw
from .diff.rows import RowKey, appended_rows, raw_rows
from .diff.rows import arm_key as _arm_key
from .diff.rows import plain as _plain
from .formatting import plural, visible_text
from .gitrepo import Blobs, commit_days, filtered_paths, is_ancestor, utc_time
from .gitrepo import Repo as _Repo
from .gitrepo import Unavailable as _Unavailable
from .gitrepo import git as _git
from .gitrepo import probe as _probe
from .readers import parse_yaml, reader_for
from .results import DEFAULT_RESULTS, glob_matches
from .verdict_history import VerdictReplay, verdict_format
from .vocabulary import (
    BUSINESS_MOVED,
    KIND_LABELS,
    HistoryKind,
    Verdict,
    label,
    rollout_undone,
    verdict_gained,
)

# Bump when the events or their wording change: older cache files are then ignored.
HISTORY_FORMAT = "history-24"


def _format() -> str:
    """What a history cache file must have been written by: this history format, the rule
    for past verdicts (the verdict entries are kept in the history's cache) and the
    generator's fingerprint (its code and templates: the events' words come from them).
    Anything else reads git again."""
    return f"{HISTORY_FORMAT} {verdict_format()}"


SHORT_HASH = 10  # as `charters diff` shows a revision

EventKind = HistoryKind

NOT_COMMITTED = "No history yet: this charter has not been committed."
UNCOMMITTED = (
    "This charter has uncommitted changes; the history shows commits only, so they are not in it."
)
CATALOGUE_UNCOMMITTED = (
    "metrics.yaml, which defines metrics this charter claims, has uncommitted changes; the"
    " history shows commits only, so they are not in it."
)


@dataclass(frozen=True)
class Event:
    """One entry of a charter's history, with the commit that made it."""

    kind: EventKind
    time: str  # author date, UTC, `2026-03-04T10:00:00Z`
    commit: str  # short hash
    author: str
    text: str  # one plain sentence
    metric: str | None = None
    moved: bool = False  # a goalpost moved after the metric's first result
    reagreed: bool | None = None  # for a moved goalpost of an agreed metric
    flagged: bool = False  # a reviewer should look: a moved goalpost, rewritten results
    verdict: str | None = None  # the verdict a `verdict` event leaves the charter with

    @property
    def date(self) -> str:
        return self.time[:10]


#: The goalposts of a business metric a verdict is judged by, whose value before they
#: moved after results the page and the API show (`MetricView.original_target`, …).
JUDGED_GOALPOSTS: tuple[str, ...] = (
    "target.value",
    "baseline.value",
    "direction",
    "unit",
    "definition",
)


@dataclass(frozen=True)
class CharterHistory:
    events: tuple[Event, ...] = ()
    # Business metric id → each of its `JUDGED_GOALPOSTS` that moved after its first
    # result → its value then (the one in force when the first result arrived).
    originals: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    uncommitted: bool = False
    refs: bool = False  # its last committed charter.yaml `ref`s metrics.yaml
    # The newest change of verdict in the order of the commits (`events` is in the order
    # of author dates, which a commit can set to any day), or None.
    verdict_change: Event | None = None
    # The change of verdict an edit brought that the verdict still rests on, with the
    # verdict it has now (`_Judge.rests_on`), or None.
    edited: Event | None = None

    @property
    def edited_verdict(self) -> Event | None:
        """The change of verdict an edit of the charter, not new results, brought (or an
        edit kept against new results), while the verdict still rests on it
        (`_Judge.rests_on`), with the verdict it leaves the charter with now; else None."""
        return self.edited

    @property
    def original_targets(self) -> dict[str, float]:
        """The original target of each metric whose target moved after results."""
        return self.of_field("target.value")

    def of_field(self, key: str) -> dict[str, Any]:
        """Metric id → the original of goalpost `key`, for the metrics where it moved."""
        return {mid: known[key] for mid, known in self.originals.items() if key in known}


@dataclass(frozen=True)
class History:
    """Every charter's history, or why there is none (`note`)."""

    note: str = ""
    charters: Mapping[str, CharterHistory] = field(default_factory=dict)
    available: bool = False
    catalogue_uncommitted: bool = False  # metrics.yaml has uncommitted changes
    # The cache files this history is kept in (the head's, and the verdicts by content the
    # next head will read), for `charters build --gc` to keep (generator/prune.py).
    cache_files: tuple[str, ...] = ()

    def of(self, cid: str) -> CharterHistory:
        return self.charters.get(cid, CharterHistory())

    def message(self, cid: str) -> str:
        """What the page says instead of (or before) a charter's events, if anything."""
        if not self.available:
            return self.note
        found = self.of(cid)
        if not found.events:
            return NOT_COMMITTED
        if found.uncommitted:
            return UNCOMMITTED
        return CATALOGUE_UNCOMMITTED if found.refs and self.catalogue_uncommitted else ""


def read_history(
    source: Path, cache: Path | None = None, names: Mapping[str, str] | None = None
) -> History:
    """The history of every charter under `source`, from the cache or one pass over git.

    `cache` is the cache folder the build uses (`Cache.root`: one it may write, never a
    link or a folder committed to git), None for none: then git is read every time.
    `names` are the catalogued metrics' names by id (metrics.yaml), for business
    metrics that `ref` one and so have no name of their own.
    """
    names = dict(sorted((names or {}).items()))
    try:
        repo = _probe(source)
    except _Unavailable as exc:
        return History(note=str(exc))
    changed, catalogue = repo.status()
    cached = _cache_file(cache, repo, names) if cache is not None else None
    found = _read_cache(cached, repo.head) if cached is not None else None
    verdicts = (
        cached.parent / "verdicts" / (cached.name.split("-")[0] + ".json")
        if cached is not None
        else None
    )
    if found is None:
        found = _replay(repo, names, verdicts)
        if cached is not None:
            _write_cache(cached, repo.head, found)
    return History(
        charters={cid: replace(h, uncommitted=cid in changed) for cid, h in found.items()}
        | {cid: CharterHistory(uncommitted=True) for cid in changed if cid not in found},
        available=True,
        catalogue_uncommitted=catalogue,
        cache_files=(str(cached), str(verdicts)) if cached is not None else (),
    )


# --- git ------------------------------------------------------------------------------


@dataclass
class _Change:
    old: str  # blob ids; all zeros for none
    new: str
    cid: str
    rest: str  # path inside the charter's folder
    link: bool = False  # now a symbolic link: `new` is the blob of its target's path
    unlinked: bool = False  # was a symbolic link: `old` is no version of the file
    path: str = ""  # in the repository, for its smudge filter (`Blobs`)


@dataclass
class _Commit:
    sha: str
    time: str
    author: str
    changes: list[_Change]
    day: str = ""  # the commit's date (not the author's): the build date of its verdicts
    parent: str = ""  # the first parent (none for a root commit)
    merge: bool = False  # more than one parent: its changes are against the first
    authored: str = ""  # the author's date, the earlier of their calendar's and UTC's
    catalogue: tuple[str, str] | None = None  # metrics.yaml's blobs, if the commit changed it
    catalogue_link: str = ""  # the blob of the link's target's path, if it made it a link
    others: tuple[str, ...] = ()  # a merge's parents after the first


def _log(repo: _Repo) -> list[_Commit]:
    """Every commit that touched charters/ or metrics.yaml, oldest first, with the blobs it
    changed."""
    shown = _git(
        [
            "--literal-pathspecs",
            "log",
            "--topo-order",
            "--reverse",
            "--no-renames",
            "--no-color",
            # A merge lists what it changed against its first parent: what it brought to
            # the line it was merged into, whose verdicts it is judged for (`_Judge.merge`).
            "--diff-merges=first-parent",
            "--raw",
            "-z",
            "--no-abbrev",
            "--format=%x01%H%x00%aI%x00%aN%x00%cI%x00%P",
            "HEAD",
            "--",
            repo.charters,
            repo.catalogue,
        ],
        repo.top,
    )
    if shown.returncode != 0:
        problem = shown.stderr.decode(errors="replace").strip().splitlines()
        raise _Unavailable(f"History could not be read from git: {(problem or ['git log'])[0]}")
    return [c for parts in _records(shown.stdout) if (c := _commit(parts, repo))]


def _records(out: bytes) -> Iterator[list[bytes]]:
    """`git log -z --raw` with `_read_log`'s format, commit by commit: its five fields, then
    each change's raw fields and path. A path is whatever follows a change's fields, so
    no name of a file can pass for a commit (a name holding the byte 1 did)."""
    tokens = out.split(b"\0")
    record: list[bytes] | None = None
    i = 0
    while i < len(tokens):
        token = tokens[i].lstrip(b"\n")
        if token.startswith(b":") and record is not None:
            record += [token, tokens[i + 1] if i + 1 < len(tokens) else b""]
            i += 2
        elif token.startswith(b"\x01"):
            if record is not None:
                yield record
            record = [token[1:], *tokens[i + 1 : i + 5]]
            i += 5
        else:
            i += 1
    if record is not None:
        yield record


def _merged_sides(repo: _Repo, commits: Sequence[_Commit]) -> dict[str, set[str]]:
    """Each merge → the charters it changed against a parent other than its first (the
    log lists its changes against the first only), "metrics.yaml" among them when it
    changed that: one `git diff-tree --stdin` for every merge. A merge that left out what
    a branch changed (`-s ours`) changed nothing against its first parent."""
    pairs = [f"{c.sha} {other}\n" for c in commits if c.merge for other in c.others]
    if not pairs:
        return {}
    paths = [repo.charters, repo.catalogue]
    args = ["--literal-pathspecs", "diff-tree", "--stdin", "-r", "--raw", "--no-renames", "-z"]
    shown = _git([*args, "--", *paths], repo.top, "".join(pairs).encode())
    found: dict[str, set[str]] = {}
    merge, i = "", 0
    tokens = shown.stdout.split(b"\0") if shown.returncode == 0 else []
    while i < len(tokens):
        token = tokens[i]
        if not token.startswith(b":"):  # the merge the changes after it are of
            merge = token.strip().decode() or merge
            i += 1
            continue
        path = tokens[i + 1].decode("utf-8", "surrogateescape") if i + 1 < len(tokens) else ""
        i += 2
        where = repo.charter_of(path)
        changed = CATALOGUE if path == repo.catalogue else where[0] if where else None
        if merge and changed:
            found.setdefault(merge, set()).add(changed)
    return found


def _commit_day(committed: str) -> str:
    """The build date a commit's verdicts are judged on: the later of its date in UTC and
    in the committer's own zone. A build that day, on a machine in UTC or on the
    committer's, took the rows the commit holds; a row dated the committer's today, in a
    zone ahead of UTC, made the version fail to load on the UTC date, and its verdict
    change was reported on the next commit instead."""
    days = commit_days(committed)
    return days[1].isoformat() if days is not None else "1970-01-01"


def _lines(repo: _Repo) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """Each commit that touched charters/ or metrics.yaml → the one before it on its line of
    history (its first parent as `git rev-list --parents` rewrites it for the paths: the
    nearest commit before it that touched one of them too); "" for none. And each merge
    among them → its other parents so rewritten: where the branches it merged end.

    With the log's `--diff-merges=first-parent`, so that the two list the same commits: a
    merge is one when it changed the paths against its first parent (one that takes a
    branch's tree whole, as a pull request merged after main was merged into it)."""
    paths = [repo.charters, repo.catalogue]
    # In topological order: by date, a commit dated before its parent (a clock behind)
    # was given no parent at all, and the takings before it were lost to the commits
    # after it.
    args = ["--literal-pathspecs", "rev-list", "--topo-order", "--parents"]
    args += ["--diff-merges=first-parent", "HEAD"]
    shown = _git([*args, "--", *paths], repo.top)
    lines: dict[str, str] = {}
    branches: dict[str, tuple[str, ...]] = {}
    for line in shown.stdout.decode().splitlines() if shown.returncode == 0 else []:
        sha, *parents = line.split()
        lines[sha] = parents[0] if parents else ""
        if len(parents) > 1:
            branches[sha] = tuple(parents[1:])
    return lines, branches


def _commit(parts: list[bytes], repo: _Repo) -> _Commit | None:
    if len(parts) < 5:
        return None
    authored = parts[1].strip().decode()
    stamp = utc_time(authored) or datetime.fromtimestamp(0, tz=UTC)
    days = commit_days(authored)
    commit = _Commit(
        parts[0].decode(),
        stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        parts[2].decode("utf-8", "replace"),
        [],
        _commit_day(parts[3].strip().decode()),
        (parts[4].split() or [b""])[0].decode(),
        merge=len(parts[4].split()) > 1,
        others=tuple(p.decode() for p in parts[4].split()[1:]),
        authored=days[0].isoformat() if days is not None else stamp.date().isoformat(),
    )
    i = 5
    while i + 1 < len(parts):
        meta = parts[i].strip(b"\n")
        if not meta.startswith(b":"):
            i += 1
            continue
        fields = _ungitlinked(meta[1:].decode().split())
        path = parts[i + 1].decode("utf-8", "surrogateescape")
        i += 2
        if fields is None:
            continue
        if path == repo.catalogue:
            if len(fields) >= 4:
                # A link's blob is its target's path, no version of the catalogue.
                old = fields[2] if fields[0] in _REGULAR else _LINKED
                commit.catalogue = (old, fields[3] if fields[1] in _REGULAR else _LINKED)
                commit.catalogue_link = fields[3] if fields[1] == _LINK else ""
            continue
        where = repo.charter_of(path)
        if where is None and _LINK in fields[:2] and path.startswith(repo.charters):
            cid = path[len(repo.charters) :]  # the charter's folder itself made a link, or
            where = (cid, "") if cid and "/" not in cid and not cid.startswith(".") else None
        if where is None or len(fields) < 4:
            continue
        change = partial(_Change, fields[2], fields[3], *where, path=path)
        if fields[1] == _LINK:
            commit.changes.append(change(link=True))
        elif not where[1]:  # the charter's folder that was a link: no longer one
            commit.changes.append(change(unlinked=True))
        elif fields[1] in _REGULAR and fields[0] in (*_REGULAR, _LINK):
            # A link made a file again is compared with the last version that could be
            # read (the link's blob, its target's path, is no version).
            commit.changes.append(change(unlinked=fields[0] == _LINK))
    return commit


def _ungitlinked(fields: list[str]) -> list[str] | None:
    """A change's raw fields with a submodule (a gitlink: no file a build can read, an
    empty folder where the submodule is not checked out) read as no file: a charter.yaml
    or result file made a submodule is removed, and one made a file again is added, so
    what it brings back is compared with what it had (it was no change at all). None
    when neither side is then a file."""
    if len(fields) < 4 or _GITLINK not in fields[:2]:
        return fields
    modes, blobs = list(fields[:2]), list(fields[2:4])
    for side in (0, 1):
        if modes[side] == _GITLINK:
            modes[side], blobs[side] = "000000", "0" * len(blobs[side])
    return None if modes == ["000000", "000000"] else [*modes, *blobs, *fields[4:]]


# --- replaying the commits --------------------------------------------------------------

_REGULAR = ("000000", "100644", "100755")  # none, a file, an executable file
_LINK = "120000"
_GITLINK = "160000"  # a submodule's commit
_LINKED = "link"  # a side of a change of metrics.yaml that is a symbolic link (or not a file)


@dataclass
class _File:
    blob: str
    rows: dict[RowKey, tuple[Any, ...]]
    metrics: frozenset[str]
    sha: str = ""  # the commit that left this version (on its branch)


# How many of a charter's last changes of verdict an edit brought `_Judge.rests_on` looks at.
MAX_GAINS = 8


@dataclass(frozen=True)
class _Gain:
    """A change of verdict an edit brought (a flagged `verdict` event), and where the
    charter before the edit is read: (commit, folder) pairs, the first that loads."""

    event: Event
    before: tuple[tuple[str, str], ...]
    sha: str = ""  # the commit that made it
    merge: bool = False  # a merge commit, judged on rows both sides brought


@dataclass
class _Charter:
    """What the replay knows of one charter at the current commit."""

    names: Mapping[str, str] = field(default_factory=dict)  # catalogued metrics' names
    catalogue: _Catalogue | None = None  # metrics.yaml in the replay, for a `ref`'s direction
    data: dict[str, Any] | None = None  # the last charter.yaml that could be read
    files: dict[str, _File] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    originals: dict[str, dict[str, Any]] = field(default_factory=dict)  # CharterHistory's
    first_result: dict[str, str] = field(default_factory=dict)  # metric → date
    # Each business metric's last version (as written), for one that leaves the business
    # metrics (made an ML metric, renamed away) and comes back: compared with it.
    last_business: dict[str, dict[str, Any]] = field(default_factory=dict)

    verdict: Verdict | None = None  # as of the commit being replayed, on its line
    results: bool = False  # a result file changed since that commit
    versions: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # by blob id
    # The charter's folder is a symbolic link: what the history knew before it stays, so
    # the folder made a folder again is compared with it.
    folder_link: bool = False
    # The folder this charter was renamed from in the commit being replayed (its id in
    # the new charter.yaml's `aliases`): its history goes on here (`_renames`).
    renamed_from: str | None = None
    # The metrics renamed in its history: old id → the ids it was renamed to
    # (`rename_metrics`), for the originals of goalposts moved under an old id on a branch
    # made before the rename (`renamed_originals`).
    renamed_to: dict[str, set[str]] = field(default_factory=dict)
    # Its verdict as of each commit that replayed it (and each commit `_on_line` walked
    # from), for the commits after them on the same line of history.
    seen: dict[str, Verdict | None] = field(default_factory=dict)
    loaded_at: str | None = None  # the last commit replayed whose charter.yaml loaded
    former: list[str] = field(default_factory=list)  # the ids it was renamed from, oldest first
    # The changes of verdict an edit brought, oldest first (the last few): `rests_on`.
    gains: list[_Gain] = field(default_factory=list)
    last: tuple[str, str] | None = None  # the last commit that replayed it, and its day
    # Each commit that removed its charter.yaml → what it removed (`_Removal`): a charter
    # of its id made again after it, on the same line of history, is compared with it.
    removals: dict[str, _Removal] = field(default_factory=dict)
    gone: bool = False  # the last commit replayed that changed charter.yaml removed it
    renamed_away: bool = False  # a fresh state for a folder the commit renames (`_renames`)
    # The rows of the result files its removal removed (by the commit of its charter.yaml's
    # removal, or a merge's), by file, each compared when a file brings a row of the same
    # date, metric and variant back (`_back_after_removal`); not rows it has (`with_rows`).
    away: dict[str, _File] = field(default_factory=dict)
    # Made again after this removal, not yet judged: the version removed is judged on the
    # rows of the first commit that gives the charter a verdict that says the business
    # moved (`_Judge.again`), as the charter before an edit is.
    again: _Removal | None = None
    # The rows an edit took out of its result files while the charter stayed, by date,
    # metric and arm (`_arm_key`), each as it was last and the day it went: a row of the
    # same date, metric and arm back with other numbers, in any file and however many
    # commits later (after a removal of the charter too), is a past row revised
    # (`_taken_rows`). Rows taken out and put back changed in the next pull request
    # otherwise read as rows added. With each, the commit that took it: only a commit
    # after it on its line of history brings it back (`_Lineage`); so each arm may have
    # takings on several branches, oldest first.
    taken: dict[RowKey, list[tuple[tuple[Any, ...], str, str]]] = field(default_factory=dict)

    def name(self, metric: dict[str, Any]) -> str:
        """A business metric's name: its own, the catalogue's for a `ref`, else its id."""
        ref = metric.get("ref")
        catalogued = self.names.get(str(ref)) if ref else None
        return str(metric.get("name") or catalogued or metric.get("id") or ref)

    def direction(self, metric: dict[str, Any], sha: str) -> m.Direction:
        """A business metric's direction at commit `sha`: its own, or for a `ref` the
        catalogue's there (not as the replay last read it: that may be another branch's)."""
        ref = metric.get("ref")
        entries = self.catalogue.at(sha) if ref and self.catalogue is not None else {}
        entry = entries.get(str(ref)) if ref else None
        found = metric.get("direction") or (entry or {}).get("direction")
        return "decrease" if found == "decrease" else "increase"

    def refs(self) -> bool:
        """Whether a business metric of its last charter.yaml `ref`s the catalogue."""
        return any(isinstance(m.get("ref"), str) for m in _business(self.data).values())

    def reads(self, rest: str) -> bool:
        """Whether `rest` (a path in the charter's folder) is a result file its `results`
        globs read, as this commit's charter.yaml has them."""
        return _read_by(self.data, rest)

    def with_rows(self) -> set[str]:
        return {mid for f in self.files.values() for mid in f.metrics}

    def forget_metrics(self) -> None:
        """The charter is removed: what the replay knows of its metrics goes (its events
        stay); a charter of its id made again later takes it back from the removal on its
        line of history (`removed`, `made_again`)."""
        for known in (self.first_result, self.last_business, self.originals, self.away):
            known.clear()
        self.loaded_at = None

    def removed(
        self,
        stamp: _Stamp,
        data: dict[str, Any] | None,
        rows: set[str],
        name: str,
        forget: bool = True,
    ) -> None:
        """Its charter.yaml removed by the commit of `stamp`: `data` is the version removed
        (at the commit's first parent), `rows` the metrics with result rows before the
        commit. `forget`: not for a merge, which changes nothing else the replay knows."""
        if self.renamed_away:  # the folder was renamed in this commit: no removal
            self.renamed_away = False
        elif data is not None:
            self.removals[stamp.sha] = _Removal(
                data,
                stamp.time[:10],
                stamp.commit,
                stamp.sha,
                set(rows),
                copy.deepcopy(self.first_result),
                copy.deepcopy(self.originals),
                copy.deepcopy(self.last_business),
                next(_REMOVALS),
                name,
                self.loaded_at,
            )
        if forget:
            self.forget_metrics()
        self.gone = True

    def made_again(self, removals: Sequence[_Removal]) -> None:
        """Made again after `removals` (on its line, nearest first): its metrics' first
        results, originals and last business versions go on from what they knew (a
        removal on a merged branch may have made the replay forget what the line knew
        before the next; the oldest original of a goalpost is its original)."""
        for removal in reversed(removals):
            for mid, day in removal.first_result.items():
                self.first_result[mid] = min(day, self.first_result.get(mid, day))
            for mid, known in removal.originals.items():
                for key, value in known.items():
                    self.originals.setdefault(mid, {}).setdefault(key, copy.deepcopy(value))
        for removal in removals:
            for mid, metric in removal.last_business.items():
                self.last_business.setdefault(mid, copy.deepcopy(metric))

    def rename_metrics(self, renames: Mapping[str, str]) -> None:
        """Metrics renamed (old id → new id): what is known of each goes on under its new
        id too (its first result, its last business version, its goalposts' originals).
        Kept under the old id as well: a branch made before the rename, replayed after it,
        still changes the metric by its old id, after the same first result."""
        for old, new in renames.items():
            self.renamed_to.setdefault(old, set()).add(new)
            for arm in [a for a in self.taken if a[1] == old]:  # rows taken out before
                self.taken.setdefault((arm[0], new, *arm[2:]), list(self.taken[arm]))
            if old in self.first_result:  # the earlier of the two, if both have one
                first = self.first_result[old]
                self.first_result[new] = min(first, self.first_result.get(new, first))
            if old in self.last_business and new not in self.last_business:
                self.last_business[new] = copy.deepcopy(self.last_business[old])
            for key, value in self.originals.get(old, {}).items():  # what the new id has stays
                self.originals.setdefault(new, {}).setdefault(key, copy.deepcopy(value))

    def renamed_originals(self) -> dict[str, dict[str, Any]]:
        """`originals`, each renamed metric's new ids given what its old id has that they
        have not: a goalpost moved under the old id on a branch made before the rename,
        replayed after it, is the new id's too."""
        found = copy.deepcopy(self.originals)
        for _ in range(len(self.renamed_to)):  # a chain of renames, a → b → c, to its end
            for old, news in self.renamed_to.items():
                for new in news:
                    for key, value in found.get(old, {}).items():
                        found.setdefault(new, {}).setdefault(key, value)
        return found

    def version(self, blob: str, blobs: Blobs) -> dict[str, Any] | None:
        """charter.yaml as blob `blob` holds it, read once; None when it cannot be read."""
        if blob not in self.versions:
            data = blobs.read(blob)
            self.versions[blob] = _yaml(data) if data is not None else None
        return self.versions[blob]


@dataclass(frozen=True)
class _Removal:
    """A commit that removed a charter's charter.yaml, and what the replay knew of it."""

    data: dict[str, Any]  # the version removed (at the commit's parent)
    day: str
    commit: str  # short hash
    sha: str  # the whole commit id
    rows: set[str]  # the metrics with result rows before the commit
    first_result: dict[str, str]
    originals: dict[str, dict[str, Any]]
    last_business: dict[str, dict[str, Any]]
    order: int = 0  # its place among the removals replayed (`_REMOVALS`): later is larger
    name: str = ""  # the charter's folder it was removed from
    # The last commit replayed before the removal whose charter.yaml loaded: where the
    # version removed does not (a row or a field broken, then the charter removed), the
    # charter is judged as it was there (`_Judge.again`).
    loaded_at: str | None = None


# Numbers the removals in the order they are replayed, so that the later of two is known
# whatever dates their authors gave them.
_REMOVALS = itertools.count()


def _removals_before(
    state: _Charter, sha: str, lines: Mapping[str, str], branches: Mapping[str, tuple[str, ...]]
) -> list[_Removal]:
    """The commits before commit `sha` on its line of history that removed the charter's
    charter.yaml: those on its first parents back (as `_lines` gives them), nearest
    first, then those of merged branches, fewest parents away first. A version removed
    on another branch is not one this commit's author had. Stops once every removal
    the replay knows of is found."""
    found: list[str] = []
    at = lines.get(sha, "")  # its first parents back first: main's removal before a branch's
    while at and len(found) < len(state.removals):
        if at in state.removals:
            found.append(at)
        at = lines.get(at, "")
    seen: set[str] = set()
    queue = deque([lines.get(sha, "")])
    while queue and len(found) < len(state.removals):
        at = queue.popleft()
        if not at or at in seen:
            continue
        seen.add(at)
        if at in state.removals and at not in found:
            found.append(at)
        queue.append(lines.get(at, ""))
        queue.extend(branches.get(at, ()))
    return [state.removals[at] for at in found]


@dataclass(frozen=True)
class _Stamp:
    time: str
    commit: str
    author: str
    authored: str = ""  # the day a renewed agreement must not precede (_Commit.authored)
    sha: str = ""  # the whole commit id

    def event(self, kind: EventKind, text: str, **extra: Any) -> Event:
        # Names, paths and values come from commits and files: one line, no control
        # characters (they could not be written in the Atom feed's XML).
        return Event(
            kind, self.time, self.commit, visible_text(self.author), visible_text(text), **extra
        )


def _replay(
    repo: _Repo, names: Mapping[str, str], verdict_cache: Path | None = None
) -> dict[str, CharterHistory]:
    charters: dict[str, _Charter] = {}
    blobs = Blobs(repo.top)
    judge = _Judge(VerdictReplay(blobs, repo.prefix, verdict_cache), *_lines(repo), repo=repo)
    catalogue = _Catalogue(blobs, judge.verdicts.catalogue)
    lineage = _Lineage(repo, blobs, judge.lines, judge.branches)
    try:
        commits = _log(repo)
        # Result files as a checkout writes them: through a smudge filter (Git LFS) where the
        # working tree's attributes give one.
        paths = {change.path for c in commits for change in c.changes if not change.link}
        blobs.filtered |= filtered_paths(repo.top, paths)
        sides = _merged_sides(repo, commits)
        for commit in commits:
            short = commit.sha[:SHORT_HASH]
            stamp = _Stamp(commit.time, short, commit.author, commit.authored, commit.sha)
            by_charter: dict[str, list[_Change]] = {}
            for change in commit.changes:
                by_charter.setdefault(change.cid, []).append(change)
            if commit.merge:
                judge.merges[commit.sha] = commit.day
                _merge(
                    judge,
                    charters,
                    stamp,
                    commit,
                    by_charter,
                    catalogue,
                    sides.get(commit.sha, set()),
                    blobs,
                    lineage,
                )
                continue
            _renames(charters, by_charter, blobs, names)
            # The charters that `ref` an entry of metrics.yaml the commit changed.
            refs = catalogue.change(commit, stamp, charters)
            for cid, changes in by_charter.items():
                state = charters.setdefault(cid, _Charter(names, catalogue))
                was = state.renamed_from
                renames, removals = _renames_and_removals(judge, state, commit, cid, changes, blobs)
                _apply(state, stamp, changes, blobs, renames, removals, lineage)
                results = any(state.reads(c.rest) for c in changes)
                edited = any(c.rest == "charter.yaml" for c in changes)
                state.results |= results
                if results or edited or cid in refs:
                    back = {new: old for old, new in renames.items()}
                    judge(state, stamp, commit, cid, was, results, edited, cid in refs, back)
            for cid in sorted(refs - by_charter.keys()):
                judge(charters[cid], stamp, commit, cid, None, False, False, True)
        badged = {cid: judge.rests_on(state, cid) for cid, state in charters.items()}
    finally:
        blobs.close()
        judge.verdicts.close()
    # Oldest first by author date; a side branch's commits come in among the others'.
    return {
        cid: CharterHistory(
            tuple(sorted(state.events, key=lambda e: e.time)),
            {
                mid: dict(sorted(known.items()))
                for mid, known in sorted(state.renamed_originals().items())
            },
            # Replayed parents first: the last one appended is the newest by commit.
            verdict_change=_newest_change(state),
            edited=badged.get(cid),
            refs=state.refs(),
        )
        for cid, state in sorted(charters.items())
        if state.events
    }


def _renames_and_removals(
    judge: _Judge,
    state: _Charter,
    commit: _Commit,
    cid: str,
    changes: Sequence[_Change],
    blobs: Blobs,
) -> tuple[dict[str, str], list[_Removal]]:
    """For a commit that changed charter `cid`: the metrics it renamed, old id → new id
    (`_Judge.renamed`), and, when it makes the charter again, the removals before it on
    its line, nearest first (`_removals_before`)."""
    was = state.renamed_from
    renames: dict[str, str] = {}
    if any(c.rest == "charter.yaml" and not c.link for c in changes):
        # The ids with rows at the parent, if the replay stands there (not on another
        # branch): else unknown, and the charter loaded to tell.
        at_parent = state.last is not None and state.last[0] == commit.parent
        rows = state.with_rows() if at_parent else None
        renames = judge.renamed(commit.parent, was or cid, commit.sha, cid, commit.day, rows)
    removals: list[_Removal] = []
    if state.removals and _comes_back(state, changes, blobs):
        # A version with none readable before it: compared with the version removed on
        # its line (also after an unreadable one, or a link, first).
        removals = _removals_before(state, commit.sha, judge.lines, judge.branches)
    if removals and not renames and was is None:
        # Made again: its metrics renamed since the version removed, rows and all, are
        # renames (else an agreed metric read as removed).
        gone = removals[0]
        name = gone.name or cid
        renames = judge.renamed(f"{gone.sha}^1", name, commit.sha, cid, commit.day, gone.rows)
    return renames, removals


def _newest_change(state: _Charter) -> Event | None:
    """The newest change of verdict by commit: replayed parents first, the last one
    appended is the newest."""
    return next((e for e in reversed(state.events) if e.kind == "verdict"), None)


@dataclass
class _Judge:
    """Judges a charter's verdict at a commit that changed it (its charter.yaml, a result
    file its globs read, or an entry of metrics.yaml it `ref`s) against its verdict
    before the commit on the commit's line of history (`_verdict`)."""

    verdicts: VerdictReplay
    lines: Mapping[str, str]  # `_lines`
    branches: Mapping[str, tuple[str, ...]]  # `_lines`: a merge → its other parents
    merges: dict[str, str] = field(default_factory=dict)  # merge commit → its day
    repo: _Repo | None = None  # for the commits of a merged branch (`_brought`)
    ids: dict[tuple[str, str], str] = field(default_factory=dict)  # `_charter_blob`'s
    parsed: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # by blob id

    def __call__(
        self,
        state: _Charter,
        stamp: _Stamp,
        commit: _Commit,
        cid: str,
        was: str | None,
        results: bool,
        edited: bool,
        catalogued: bool,
        renamed: Mapping[str, str] | None = None,
    ) -> None:
        """`was`: the folder the charter was renamed from in the commit, if any; `results`,
        `edited`, `catalogued`: whether the commit changed a result file the charter reads,
        its charter.yaml, an entry of metrics.yaml it `ref`s; `renamed`: the metrics the
        commit renamed, new id → old id (the charter before it judges their rows)."""
        verdicts = self.verdicts
        now = verdicts.at(commit.sha, commit.day, cid)
        changed = edited or catalogued
        before = _before(
            verdicts, commit, cid, was, results=results, edited=changed, renamed=renamed
        )
        before = _or_loaded(before, verdicts, commit, cid, state, renamed)
        merged = _MergeVerdicts(verdicts, self.merges, cid)
        last = _on_line(state, self.lines.get(commit.sha, ""), self.lines, merged)
        edit = _edit_words(edited, catalogued) or "the charter"
        told = len(state.events)
        _verdict(state, stamp, now, before, last, results=results, edit=edit)
        if len(state.events) > told and state.events[-1].flagged:
            # Where the charter before the edit is read: as `before` read it.
            read = [(commit.parent, was or cid)]
            if state.loaded_at not in (None, commit.parent):
                read.append((str(state.loaded_at), cid))
            state.gains = [
                *state.gains[-(MAX_GAINS - 1) :],
                _Gain(state.events[-1], tuple(read), commit.sha),
            ]
        if state.again is not None and now in BUSINESS_MOVED and state.data:
            self.again(state, stamp, commit, cid, now)
        state.seen[commit.sha] = state.verdict
        state.loaded_at = commit.sha if now is not None else state.loaded_at
        state.last = (commit.sha, commit.day)

    def again(
        self, state: _Charter, stamp: _Stamp, commit: _Commit, cid: str, now: Verdict
    ) -> None:
        """A charter made again (`_Charter.again`), at the first commit (a merge too) that
        gives it a verdict that says the business moved (the only kind an edit can gain):
        when the version removed, judged on the same rows (from the folder it was removed
        from, with the metrics.yaml of then; a metric renamed since read under its id
        then), gives a lesser verdict, an edit since the removal brought it, flagged, and
        the charter's badge rests on it as on any edit (`rests_on`); unless this commit's
        own edit was flagged so already. Removing a charter and adding it back with a
        softer rule started its verdicts again, unbadged."""
        removal, state.again = state.again, None
        assert removal is not None
        before = f"{removal.sha}^1"  # where the version removed is (a merge's: its first)
        name = removal.name or cid
        was = self._judged_by(commit, cid, before, name)
        read: tuple[tuple[str, str], ...] = ((before, name),)
        version = "the version removed"
        if was is None and removal.loaded_at not in (None, before):
            # The version removed does not load: the last one before it that did.
            loaded = str(removal.loaded_at)
            was = self._judged_by(commit, cid, loaded, name)
            read = (*read, (loaded, name))
            version = f"its last version that loads before the removal (commit {loaded[:10]})"
        last = state.events[-1] if state.events else None
        told = last is not None and last.kind == "verdict" and last.commit == stamp.commit
        if was is None or not verdict_gained(was, now) or (told and last and last.flagged):
            return
        why = (
            f"an edit since the charter was removed on {removal.day} (commit"
            f" {removal.commit}): {version} gives the same results {label(was, 'verdict')}"
        )
        if told and last is not None:
            # This commit's change of verdict (its rows came after the charter): said so.
            said = (
                f"{last.text[:-1]}; {why})" if last.text.endswith(")") else f"{last.text} ({why})"
            )
            event = replace(last, text=said, flagged=True)
            state.events[-1] = event
        else:
            text = f"Verdict: {label(now, 'verdict')}, by {why}"
            event = stamp.event("verdict", text, flagged=True, verdict=now)
            state.events.append(event)
        gain = _Gain(event, read, commit.sha, merge=commit.merge)
        state.gains = [*state.gains[-(MAX_GAINS - 1) :], gain]

    def merge(self, state: _Charter, stamp: _Stamp, commit: _Commit, cid: str) -> None:
        """`_merge`, then a charter made again judged as after any commit (`again`)."""
        self._merge(state, stamp, commit, cid)
        now = self.verdicts.at(commit.sha, commit.day, cid)
        if state.again is not None and now in BUSINESS_MOVED and state.data:
            self.again(state, stamp, commit, cid, now)

    def _merge(self, state: _Charter, stamp: _Stamp, commit: _Commit, cid: str) -> None:
        """A merge commit that changed the charter against one of its parents: the verdict
        it leaves, judged against each parent's line. An event, flagged, when the merge's
        rows judged by a parent's charter.yaml and metrics.yaml give a lesser verdict (an
        edit from another side, or made in the merge, gained it on that parent's line),
        unless a commit of the other sides gained it so and was flagged there; else one,
        unflagged, when it differs from the first parent's line and no commit of the
        merged branches told it (their rows together make it), or when it differs from
        the verdict a merged branch told (its change left out, `-s ours`). A merge that
        takes a pull request whole, or one a pull request took main in with, is such a
        merge."""
        parents = (self.lines.get(commit.sha, ""), *self.branches.get(commit.sha, ()))
        merged = _MergeVerdicts(self.verdicts, self.merges, cid)
        lines = [_on_line(state, p, self.lines, merged) if p else None for p in parents]
        now = self.verdicts.at(commit.sha, commit.day, cid)
        # A merge that removed the charter leaves it no verdict: made again after it, it
        # starts again (its line's verdict from before the removal was told as changed).
        gone = now is None and commit.sha in state.removals
        state.seen[commit.sha] = now if now is not None or gone else lines[0]
        state.last = (commit.sha, commit.day)
        last = lines[0]
        if now is None or last is None or state.data is None:
            return
        for parent, on_line in zip(parents, lines, strict=True):
            edited = self._edited(commit, cid, parent, state.refs())
            if not edited:
                continue  # its charter and catalogue judge the merge's rows as they are
            before = self._before(commit, cid, state, parent)
            # One that does not load on the merge's rows (they hold a metric it does not
            # declare) tells nothing, unless it does not load at all (then its line's).
            broken = before is None and self.verdicts.at(parent, commit.day, cid) is None
            unedited = on_line if broken else before
            if not (unedited is not None and verdict_gained(unedited, now)):
                continue
            if self._told(state, now, parents, parent, flagged=True):
                return
            why = f"an edit of {edited}, in a merge: before it,"
            why += f" the same results give {label(str(unedited), 'verdict')}"
            text = f"Verdict: {label(last, 'verdict')} → {label(now, 'verdict')} ({why})"
            if now == last:
                text = f"Verdict: {label(now, 'verdict')} kept by {why}"
            state.events.append(stamp.event("verdict", text, flagged=True, verdict=now))
            read = tuple((parent, name) for name in (cid, *reversed(state.former)))
            state.gains = [
                *state.gains[-(MAX_GAINS - 1) :],
                _Gain(state.events[-1], read, commit.sha, merge=True),
            ]
            return
        was: str | None = None
        if now != last and not self._told(state, now, parents, parents[0], flagged=False):
            was = last
        for side, on_line in zip(parents[1:], lines[1:], strict=True):
            if was is None and on_line not in (None, now):
                # A branch that told another verdict, which the merge did not keep (its
                # rows left out, `-s ours`): the list ends with the verdict the merge has.
                theirs = self._brought(side, against=parents[0])
                told = [e for e in state.events if e.kind == "verdict" and e.commit in theirs]
                was = told[-1].verdict if told and told[-1].verdict != now else None
        if was is not None:
            text = f"Verdict: {label(was, 'verdict')} → {label(now, 'verdict')} (in a merge)"
            state.events.append(stamp.event("verdict", text, verdict=now))

    def _before(self, commit: _Commit, cid: str, state: _Charter, parent: str) -> Verdict | None:
        """The merge's rows judged by `parent`'s charter.yaml (under the charter's id there,
        or an id it was renamed from) and metrics.yaml; None when it has none that loads.
        The rows of a metric renamed since `parent` are judged under its id there."""
        for name in (cid, *reversed(state.former)):
            found = self._judged_by(commit, cid, parent, name)
            if found is not None:
                return found
        return None

    def _judged_by(self, commit: _Commit, cid: str, at: str, name: str) -> Verdict | None:
        """Charter `cid`'s rows at `commit` judged by the charter.yaml of folder `name` and
        the metrics.yaml at commit `at`, the rows of a metric renamed since under its id
        there; None when that does not load."""
        renamed = self.renamed(at, name, commit.sha, cid, commit.day)
        return self.verdicts.at(
            commit.sha,
            commit.day,
            cid,
            charter_from=at,
            charter_of=name,
            catalogue_from=at,
            renamed={new: old for old, new in renamed.items()},
        )

    def rests_on(self, state: _Charter, cid: str) -> Event | None:
        """`CharterHistory.edited_verdict`: the newest change of verdict an edit brought
        (`_Charter.gains`, flagged verdict events) that the verdict still rests on, with
        the verdict the charter has: the charter as it was before that edit (read as the
        edit's `before` read it, the first place that loads) gives the results of the last
        commit that changed the charter (`_Charter.last`, its charter as it is there) a
        lesser verdict, and so does the charter as it is on the rows of the business
        metrics the one before the edit declares, while those of the metrics added since
        do not carry the verdict alone (the one before the edit left them out). An edit
        undone, or results that carry the verdict without it, leave no badge; an edit
        made in steps is found at its first. The edit's own entry, flagged at the last
        commit (not a merge's: a merge is judged on rows both sides brought), is the
        badge as it stands."""
        if state.last is None or not state.gains:
            return None
        sha, day = state.last
        now = self.verdicts.at(sha, day, cid)
        declared = self._business_ids(sha, cid)
        if now is None or declared is None:
            return None
        newest = state.gains[-1]
        if newest.sha == sha and not newest.merge and _newest_change(state) is newest.event:
            return replace(newest.event, verdict=now)  # told so at the last commit
        at = partial(self.verdicts.at, sha, day, cid, charter_from=sha, catalogue_from=sha)
        for gain in reversed(state.gains):
            for before, name in gain.before:
                metrics = self._business_ids(before, name)
                if metrics is None:
                    continue  # not there: the next place
                renamed = self.renamed(before, name, sha, cid, day)
                back = {new: old for old, new in renamed.items()}
                was = self.verdicts.at(
                    sha,
                    day,
                    cid,
                    charter_from=before,
                    charter_of=name,
                    catalogue_from=before,
                    renamed=back,
                )
                if was is None:
                    continue  # it does not load: the next place
                metrics = {new for new, old in back.items() if old in metrics} | (
                    metrics - set(back.values())
                )
                same: Verdict | None = now
                added: Verdict | None = None
                if metrics != declared:
                    same = at(only=frozenset(metrics))
                    added = at(only=frozenset(declared - metrics))
                carried = added in BUSINESS_MOVED and not verdict_gained(added, now)
                if verdict_gained(was, now) and verdict_gained(was, same) and not carried:
                    return replace(gain.event, verdict=now)
                break
        return None

    def renamed(
        self, before: str, name: str, sha: str, cid: str, day: str, rows: set[str] | None = None
    ) -> dict[str, str]:
        """The metrics of charter folder `name` at commit `before` whose id charter `cid`
        changed by commit `sha` (both built on `day`), their rows with them: old id → new
        id, known by their rows as `charters diff` knows them (`VerdictReplay.renames`).
        Only a metric declared by an `id` of its own on both sides, without a `ref`: a
        metric that starts or stops to `ref` the catalogue takes its definition, unit and
        direction from elsewhere, and is read as one removed and one added. Both versions
        are loaded only where a metric id is gone and another of its kind new, and the one
        gone had rows (`rows`: the ids with rows at `before`, None for unknown) or is
        written alike but for its id. Without it, a rename read as a metric removed and
        one added: a verdict before an edit judged none of its rows, and its moved
        goalposts stayed with the old id."""
        old, new = self._charter_data(before, name), self._charter_data(sha, cid)
        was, now = _own_metric_ids(old), _own_metric_ids(new)
        if not _may_rename(old, new, rows):
            return {}
        found = self.verdicts.renames(before, name, sha, cid, day)
        return {a: b for a, b in found.items() if a in was - now and b in now - was}

    def _charter_data(self, sha: str, name: str) -> dict[str, Any] | None:
        """Charter `name`'s charter.yaml at commit `sha` as raw data, or None; each blob
        read once for the last few asked (a commit's version is the next one's parent's)."""
        if not sha:
            return None
        found = self.verdicts.objects.object(
            f"{sha}:{self.verdicts.prefix}charters/{name}/charter.yaml"
        )
        if found is None or found[1] != "blob":
            return None
        if found[0] not in self.parsed:
            if len(self.parsed) > 16:
                self.parsed.clear()
            self.parsed[found[0]] = _yaml(found[2])
        return self.parsed[found[0]]

    def _business_ids(self, sha: str, name: str) -> set[str] | None:
        """The ids of the business metrics of charter `name`'s charter.yaml at commit
        `sha`, or None when it has none there that can be read."""
        found = self.verdicts.objects.object(
            f"{sha}:{self.verdicts.prefix}charters/{name}/charter.yaml"
        )
        if found is None or found[1] != "blob":
            return None
        data = _yaml(found[2])
        return set(_business(data)) if data is not None else None

    def _edited(self, commit: _Commit, cid: str, parent: str, refs: bool) -> str:
        """What the merge changed against `parent`: "the charter", "metrics.yaml" (only
        for a charter that `ref`s it, `refs`), both, or "" for neither (then `parent`'s
        charter judges its rows as the merge's does)."""
        charter = self._charter_blob(commit.sha, cid) != self._charter_blob(parent, cid)
        catalogue = refs and self._catalogue_blob(commit.sha) != self._catalogue_blob(parent)
        return _edit_words(charter, catalogue)

    def _charter_blob(self, sha: str, cid: str) -> str:
        """The id of the charter's charter.yaml at commit `sha`, "" for none."""
        key = (sha, cid)
        if key not in self.ids:
            if len(self.ids) > 4096:
                self.ids.clear()
            path = f"{sha}:{self.verdicts.prefix}charters/{cid}/charter.yaml"
            found = self.verdicts.objects.object(path)
            self.ids[key] = found[0] if found is not None else ""
        return self.ids[key]

    def _catalogue_blob(self, sha: str) -> str:
        """The id of metrics.yaml at commit `sha`, "" for none."""
        found = self.verdicts.catalogue(sha)
        return found[0] if found is not None else ""

    def _told(
        self,
        state: _Charter,
        now: Verdict,
        parents: Sequence[str],
        against: str,
        flagged: bool,
    ) -> bool:
        """Whether the newest change of verdict replayed is one a commit a merge (of
        `parents`) brings to `against` made (another parent has it, `against` not), to `now`
        (by an edit, flagged, with `flagged`): then it was told there, and the list ends
        with it, so the merge does not tell it again. One `git rev-list`, asked only of a
        merge that changed a verdict."""
        newest = next((e for e in reversed(state.events) if e.kind == "verdict"), None)
        if newest is None or newest.verdict != now or (flagged and not newest.flagged):
            return False
        others = (p for p in parents if p and p != against)
        return newest.commit in self._brought(*others, against=against)

    def _brought(self, *sides: str, against: str) -> set[str]:
        """The commits (short ids) that touched the paths and `sides` have and `against`
        does not: what a merge of them brings to `against`'s line."""
        if self.repo is None or not sides:
            return set()
        paths = [self.repo.charters, self.repo.catalogue]
        not_against = ["--not", against] if against else []
        args = ["--literal-pathspecs", "rev-list", *sides, *not_against, "--", *paths]
        shown = _git(args, self.repo.top)
        return {sha[:SHORT_HASH] for sha in shown.stdout.decode().split()}


def _edit_words(charter: bool, catalogue: bool) -> str:
    """What an edit changed, as a verdict entry says it: "the charter", "metrics.yaml",
    both, or "" for neither."""
    return " and ".join(w for w, on in (("the charter", charter), (CATALOGUE, catalogue)) if on)


def _merge(
    judge: _Judge,
    charters: Mapping[str, _Charter],
    stamp: _Stamp,
    commit: _Commit,
    by_charter: Mapping[str, list[_Change]],
    catalogue: _Catalogue,
    sides: set[str],
    blobs: Blobs,
    lineage: _Lineage | None = None,
) -> None:
    """A merge commit: no event of a change it brought is told again (each was told at the
    commit that made it); only the verdict it leaves is judged (`_Judge.merge`), for
    the charters it changed against any of its parents (`sides`: against the others
    than the first, `_merged_sides`), or whose `ref`s it changed. A charter.yaml it
    removed is kept, as a removal's (`_Charter.removed`)."""
    for cid, changes in by_charter.items():
        state = charters.get(cid)
        if state is not None and not state.gone:
            state.events.extend(_merge_rows(state, stamp, changes, blobs, lineage))
        for change in changes:
            if state is not None and change.rest == "charter.yaml" and _removes_file(change):
                # Removed against its first parent: a charter of its id made again after
                # the merge is compared with that version, not with a merged branch's;
                # its result files the merge removed, with the rows the replay knew.
                data = _readable(state.version(change.old, blobs)) or state.data
                state.removed(stamp, data, state.with_rows(), cid, forget=False)
                gone = {c.rest for c in changes if _removes_file(c)}
                state.away |= {r: f for r, f in state.files.items() if r in gone}
    refs = catalogue.change(commit, stamp, charters, quiet=True)
    if CATALOGUE in sides:  # against another parent: any entry may be another
        refs |= {cid for cid, state in charters.items() if state.refs()}
    for cid in sorted(by_charter.keys() | refs | (sides - {CATALOGUE})):
        state = charters.get(cid)
        if state is not None:
            judge.merge(state, stamp, commit, cid)


CATALOGUE = "metrics.yaml"


@dataclass
class _Catalogue:
    """metrics.yaml in the replay: as last read, each entry's last version, and the
    events of a commit that changes it."""

    blobs: Blobs
    # metrics.yaml at a commit (blob id, content), as the verdicts read it
    # (`VerdictReplay.catalogue`)
    at_commit: Callable[[str], tuple[str, bytes] | None]
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)  # as last read
    # Each entry's last version read, for one removed (or the file, or made unreadable
    # as an entry) and brought back: compared with it.
    last: dict[str, dict[str, Any]] = field(default_factory=dict)
    parsed: dict[str, dict[str, dict[str, Any]] | None] = field(default_factory=dict)

    def read(self, blob: str, content: bytes | None = None) -> dict[str, dict[str, Any]] | None:
        """The entries of a version of metrics.yaml by its blob id, parsed once (the
        previous commit's new version is the next one's old)."""
        if blob not in self.parsed:
            if len(self.parsed) > 4:
                self.parsed.clear()
            self.parsed[blob] = _entries(content if content is not None else self.blobs.read(blob))
        return self.parsed[blob]

    def at(self, sha: str) -> Mapping[str, dict[str, Any]]:
        """The entries of metrics.yaml at commit `sha` (none when it has none there or
        it cannot be read)."""
        found = self.at_commit(sha) if sha else None
        return (self.read(*found) if found is not None else None) or {}

    def change(
        self,
        commit: _Commit,
        stamp: _Stamp,
        charters: Mapping[str, _Charter],
        quiet: bool = False,
    ) -> set[str]:
        """The goalpost events of a commit's change of metrics.yaml, for each business
        metric of a charter that `ref`s an entry whose definition, unit or direction it
        changed: a moved goalpost once the metric had results, as one in charter.yaml is.
        Returns the charters whose `ref`s name an entry it changed in any way (or made or
        removed), for their verdicts to be judged at the commit.

        The new version is compared with the commit's parent version, or, when that
        cannot be read (or was a symbolic link), with the last version that could; an
        entry the parent did not have, with its last version read. An unreadable new
        version changes nothing (the next readable version is compared); one made a
        symbolic link is an event, flagged, of each charter that `ref`s the catalogue.
        `quiet`: no events (a merge's changes were told at the commits that made them)."""
        if commit.catalogue is None:
            return set()
        old_blob, new_blob = commit.catalogue
        if new_blob == _LINKED:
            return self._linked(commit, stamp, charters, quiet)
        new = self.read(new_blob) if new_blob.strip("0") else {}
        if new is None:
            return set()
        old: dict[str, dict[str, Any]] | None = {}  # none at the parent
        if old_blob == _LINKED:
            old = None  # a link at the parent: no version
        elif old_blob.strip("0"):
            old = self.read(old_blob)
        old = dict(self.entries) if old is None else old
        self.entries = dict(new)
        changed = {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
        affected: set[str] = set()
        for cid, state in sorted(charters.items()):
            for mid, metric in _business(state.data).items():
                ref = metric.get("ref")
                if not isinstance(ref, str) or ref not in changed:
                    continue
                affected.add(cid)
                was = old.get(ref) if ref in old else self.last.get(ref)
                if was is not None and ref in new and not quiet:
                    moved = _catalogue_events(state, stamp, mid, metric, was, new[ref])
                    state.events.extend(moved)
        self.last |= old | new
        return affected

    def _linked(
        self, commit: _Commit, stamp: _Stamp, charters: Mapping[str, _Charter], quiet: bool
    ) -> set[str]:
        """metrics.yaml made a symbolic link: a build follows it, the history cannot, so a
        flagged event of each charter that `ref`s the catalogue, whose verdicts are judged
        at the commit (their entries may have changed with it)."""
        target = visible_text(os.fsdecode(self.blobs.read(commit.catalogue_link) or b"?"))
        text = (
            f"{CATALOGUE} is now a symbolic link to {target}: the history does not follow"
            " it, so changes made to its target are not in this history"
        )
        affected: set[str] = set()
        for cid, state in sorted(charters.items()):
            if state.refs():
                affected.add(cid)
                if not quiet:
                    state.events.append(stamp.event("linked", text, flagged=True))
        return affected


def _made_again(
    state: _Charter,
    stamp: _Stamp,
    removals: Sequence[_Removal],
    data: dict[str, Any],
    tell: bool = True,
) -> dict[str, Any]:
    """A charter made again after `removals` (on its line, nearest first): what the replay
    knew of it then goes on, its *Created* entry says so (when `tell`), and the version
    the nearest removed is returned, to compare the new one with."""
    removal = removals[0]
    state.made_again(removals)
    # A removal not yet judged on results stays the one compared (made again softer, then
    # removed and made again before any results, was compared with the softer version).
    # One before any results is not: the plan may change before results, made again or not.
    if any(r.rows or r.first_result for r in removals):  # (a merge's may know none)
        state.again = state.again or removal
    status = label(str(data.get("status")), "status")
    text = (
        f"Charter created again, status {status}: removed on {removal.day} (commit"
        f" {removal.commit}), compared with the version removed then"
    )
    if tell:
        state.events.append(stamp.event("created", text))
    state.events.extend(_catalogue_while_away(state, stamp, removal, data))
    return removal.data


def _catalogue_while_away(
    state: _Charter, stamp: _Stamp, removal: _Removal, data: dict[str, Any]
) -> Iterator[Event]:
    """A charter made again: the entries of metrics.yaml its business metrics `ref`, as
    they were when it was removed (`ref`d then too) against what they are now, as a
    change of metrics.yaml is told while the charter is there."""
    if state.catalogue is None:
        return
    before, now = _business(removal.data), _business(data)
    then, entries = state.catalogue.at(removal.sha), state.catalogue.at(stamp.sha)
    for mid, metric in now.items():
        ref = metric.get("ref")
        if not isinstance(ref, str) or before.get(mid, {}).get("ref") != ref:
            continue
        if ref in then and ref in entries and then[ref] != entries[ref]:
            yield from _catalogue_events(state, stamp, mid, metric, then[ref], entries[ref])


def _catalogue_events(
    state: _Charter,
    stamp: _Stamp,
    mid: str,
    metric: dict[str, Any],
    old: dict[str, Any],
    new: dict[str, Any],
) -> Iterator[Event]:
    """The goalposts (`GOALPOST_FIELDS`) of catalogue entry `old` that `new` changed, as
    events of business metric `mid` (`metric`, as the charter writes it) that `ref`s it;
    whether a moved goalpost was agreed again is judged by the entry's own `agreed`."""
    name = state.name(metric)
    results = mid in state.first_result or mid in state.with_rows()
    day = date.fromisoformat(stamp.authored or stamp.time[:10])
    renewed = agreement_renewal(_agreement(old), _agreement(new), day)
    for key in GOALPOST_FIELDS:
        before, after = _plain(old.get(key)), _plain(new.get(key))
        if before == after:
            continue
        text = f"{name}: {key} {shown_change(before, after)} in {CATALOGUE}"
        if not results:
            yield stamp.event("goalpost", text, metric=mid)
            continue
        _original(state, mid, key, before)
        yield _moved(stamp, text, mid, state.first_result.get(mid), renewed)


def _entries(blob: bytes | None) -> dict[str, dict[str, Any]] | None:
    """metrics.yaml's entries by id; None when it cannot be read as a list of them."""
    try:
        text = blob.decode("utf-8") if blob is not None else None
    except UnicodeDecodeError:
        return None
    doc = parse_yaml(text, CATALOGUE, Diagnostics()) if text is not None else None
    if doc is None or not isinstance(doc.data, list):
        return None
    found: dict[str, dict[str, Any]] = {}
    for entry in doc.data:  # the first of an id, as the loader reads it
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            found.setdefault(entry["id"], entry)
    return found


def _renames(
    charters: dict[str, _Charter],
    by_charter: Mapping[str, list[_Change]],
    blobs: Blobs,
    names: Mapping[str, str],
) -> None:
    """A charter folder that a commit makes, whose charter.yaml lists in `aliases` the id
    of a charter the commit removes (or one removed before, and not back), takes over
    that charter's history: its events, original targets and first results go on, and
    its first version is compared with the old folder's last (a target moved in the
    rename is a moved goalpost). A renamed folder used to start a new history, which
    dropped its moved goalposts from the page."""
    for cid, changes in by_charter.items():
        if cid in charters and charters[cid].data is not None:
            continue  # an existing charter, not a new folder
        made = next((c for c in changes if c.rest == "charter.yaml" and c.new.strip("0")), None)
        data = _yaml(blobs.read(made.new) or b"") if made is not None else None
        aliases = data.get("aliases") if data is not None else None
        known = [
            old
            for old in (aliases if isinstance(aliases, list) else [])
            if isinstance(old, str) and old != cid and old in charters
        ]
        # The folder this commit removes, else one removed before that has a history (not
        # the empty state an earlier rename left under its old id: a chain a → b → c).
        removed = [o for o in known if _removes(by_charter.get(o, []))]
        earlier = [o for o in known if charters[o].data is None and charters[o].events]
        if not removed and _own_removal_later(charters, cid, earlier):
            continue  # its own id's charter made again (compared with it), not a rename
        old = next(iter(removed or earlier), None)
        if old is None:
            continue
        charters[cid] = charters.pop(old)
        charters[cid].renamed_from = old
        charters[cid].former.append(old)
        # A file the rename moves is compared with its version in the old folder at the
        # commit's parent, not with the one the replay saw last (another branch's, whose
        # rows it never had, read as removed).
        was = {c.rest: c.old for c in by_charter.get(old, []) if c.old.strip("0") and not c.link}
        for change in changes:
            if not change.old.strip("0") and change.rest in was:
                change.old = was[change.rest]
        # The old folder's removal in this commit is replayed on a fresh state, and is no
        # removal a charter of its id made later is compared with: it was renamed.
        charters[old] = _Charter(names, charters[cid].catalogue, renamed_away=True)


def _own_removal_later(charters: Mapping[str, _Charter], cid: str, aliases: list[str]) -> bool:
    """Whether charter `cid`, made again, was removed on or after the last removal of each
    removed charter its `aliases` name: it is its own id's charter back, not their rename
    (a rename in two commits, the old folder removed and the new one made, is a rename)."""
    own = charters[cid].removals if cid in charters else {}
    if not own:
        return False
    last = list(own.values())[-1].order
    return all(
        not charters[o].removals or list(charters[o].removals.values())[-1].order < last
        for o in aliases
    )


def _removes(changes: Sequence[_Change]) -> bool:
    """Whether a commit's changes to a charter remove its charter.yaml."""
    return any(c.rest == "charter.yaml" and not c.new.strip("0") for c in changes)


def _apply(
    state: _Charter,
    stamp: _Stamp,
    changes: list[_Change],
    blobs: Blobs,
    renames: Mapping[str, str] | None = None,
    removals: Sequence[_Removal] = (),
    lineage: _Lineage | None = None,
) -> None:
    """One commit's changes to one charter: its result files, then its charter.yaml.

    A goalpost changed in the commit that brings its metric's first results is moved
    after results began: the change was made with the results in hand. `renames`: the
    metrics the commit renamed, old id → new id (`_Judge.renamed`): what the replay
    knows of each goes on under its new id, and the commit is compared with its parent
    read through them, as `charters diff` compares a change. `removals`: the commits that
    removed the charter before, on this commit's line (nearest first), if this one makes
    it again. `lineage`: for rows taken out, and back (`_taken_rows`).
    """
    renames = renames or {}
    moves = _Moves(changes[0].cid if changes else "")
    links = [c for c in changes if c.link]
    changes = [c for c in changes if not c.link]
    if any(c.rest == "" for c in links):  # its files are gone with it: not a removal
        state.folder_link = True
        state.events.extend(_linked(stamp, links, blobs))
        return
    if any(c.rest == "" for c in changes):  # the folder link gone: a folder again, or not
        changes = [c for c in changes if c.rest]
        back = any(c.rest == "charter.yaml" and c.new.strip("0") for c in changes)
        if not back:  # removed with its files; if it comes back, it is created again
            state.data, state.folder_link = None, False
            state.files.clear()
            state.forget_metrics()
    if removals and renames:  # what the replay knew before the removal goes on renamed
        state.made_again(removals)
    state.rename_metrics(renames)
    had = {renames.get(mid, mid) for mid in state.with_rows()}
    before, files, data = len(state.events), dict(state.files), state.data
    removed = any(c.rest == "charter.yaml" and not c.new.strip("0") for c in changes)
    away = {_arm_key(k) for f in state.away.values() for k in f.rows}
    for change in changes:
        if change.rest != "charter.yaml" and reader_for(change.rest) is not None:
            _result_change(state, stamp, change, blobs, removed, renames, moves)
    rewrites = state.events[before:]
    del state.events[before:]  # told after the charter's own changes, as it reads
    new = state.with_rows() - had
    for change in changes:
        if change.rest == "charter.yaml":
            compared = _charter_change(state, stamp, change, blobs, had, new, renames, removals)
            if state.gone and stamp.sha in state.removals:
                # The files it removed: their rows compared when a file brings them back.
                state.away = {rest: f for rest, f in files.items() if rest not in state.files}
            if compared is not None and state.data is not None:
                kept = {rest: f for rest, f in files.items() if rest in state.files}
                rewrites += _unread_files(kept, stamp, compared, state.data)
    for rest, file in files.items():  # no longer read: its rows taken out of the results
        if rest in state.files and _read_by(data, rest) and not state.reads(rest):
            moves.add(rest, file.rows, {})
    for rest, file in state.files.items():  # read now: its rows brought into the results
        if rest in files and not _read_by(data, rest) and state.reads(rest):
            moves.add(rest, {}, file.rows)
    rewrites += _taken_rows(state, stamp, moves, away, data, tell=not removed, lineage=lineage)
    state.events.extend(rewrites)
    state.events.extend(_linked(stamp, links, blobs))
    business = _business(state.data)
    for mid in business:  # in the charter's order
        if mid in new and mid not in state.first_result:
            state.first_result[mid] = stamp.time[:10]
            name = state.name(business[mid])
            state.events.append(stamp.event("first-result", f"First result for {name}", metric=mid))


def _removes_file(change: _Change) -> bool:
    """Whether the change removes its file: one at the commit's parent, none after it."""
    return bool(change.old.strip("0")) and not change.new.strip("0") and not change.unlinked


def _comes_back(state: _Charter, changes: Sequence[_Change], blobs: Blobs) -> bool:
    """Whether the commit writes a charter.yaml with none readable at its parent."""
    return any(
        c.rest == "charter.yaml"
        and not c.link
        and c.new.strip("0")
        and (not c.old.strip("0") or _readable(state.version(c.old, blobs)) is None)
        for c in changes
    )


def _own_metrics(data: dict[str, Any] | None, section: tuple[str, ...]) -> dict[str, Any]:
    """The metrics of one section of a raw charter.yaml declared by an `id` of their own,
    without a `ref`, by id."""
    items = (item for _, item in m.items_at(data, *section) if "ref" not in item)
    return {item["id"]: item for item in items if isinstance(item.get("id"), str)}


def _own_metric_ids(data: dict[str, Any] | None) -> set[str]:
    """The ids of the metrics a raw charter.yaml declares by an `id` of their own, without
    a `ref` (business, ML, guardrails)."""
    return {mid for _, section in m.METRIC_LISTS for mid in _own_metrics(data, section)}


def _may_rename(
    old: dict[str, Any] | None, new: dict[str, Any] | None, rows: set[str] | None
) -> bool:
    """Whether a metric of raw charter.yaml `old` may be renamed in `new` (what
    `renames_between` asks, read cheaply): an id gone from a section and one new in it,
    the one gone with rows (`rows`, None for unknown) or written alike but for its id."""
    for _, section in m.METRIC_LISTS:
        was, now = _own_metrics(old, section), _own_metrics(new, section)
        added = [now[mid] for mid in now if mid not in was]
        for mid in (mid for mid in was if mid not in now):
            if added and (rows is None or mid in rows):
                return True
            if any(bare_raw(was[mid]) == bare_raw(item) for item in added):
                return True
    return False


def _renamed_events(
    state: _Charter, stamp: _Stamp, renames: Mapping[str, str], data: dict[str, Any]
) -> Iterator[Event]:
    """One entry for each metric renamed, by its name in the new version."""
    named = {
        str(item.get("id")): item
        for _, section in m.METRIC_LISTS
        for _, item in m.items_at(data, *section)
    }
    for old, new in sorted(renames.items()):
        name = state.name(named.get(new, {"id": new}))
        text = f"{name}: metric id {old} → {new}"
        yield stamp.event("renamed", text, metric=new)


@dataclass(frozen=True)
class _MergeVerdicts:
    """A charter's verdict at a merge commit the replay has not judged it at (one that did
    not change it, or not yet), for `_on_line`; None when it has none there."""

    verdicts: VerdictReplay
    days: Mapping[str, str]  # merge commit → its day
    cid: str

    def at(self, sha: str) -> Verdict | None:
        return self.verdicts.at(sha, self.days[sha], self.cid) if sha in self.days else None


def _on_line(
    state: _Charter, start: str, lines: Mapping[str, str], merged: _MergeVerdicts
) -> Verdict | None:
    """The charter's verdict as of commit `start` on its line of history: at the nearest
    commit from `start` back (first parents, as `_lines` gives them) that replayed it, or
    at a merge commit on the way (judged there: it holds what the merged branch changed,
    which its first parents never saw); None when none did (it did not exist on this
    line)."""
    sha = start
    while sha and sha not in state.seen:
        at_merge = merged.at(sha)
        if at_merge is not None:
            state.seen[sha] = at_merge
            break
        sha = lines.get(sha, "")
    found = state.seen.get(sha) if sha else None
    if start:
        state.seen[start] = found  # the next walk from here stops at once
    return found


def _before(
    verdicts: VerdictReplay,
    commit: _Commit,
    cid: str,
    renamed_from: str | None,
    *,
    results: bool,
    edited: bool,
    renamed: Mapping[str, str] | None = None,
) -> Callable[[], Verdict | None] | None:
    """What the charter's verdict at `commit` is compared with to tell an edit's gain, asked
    only when needed: with no result file changed, its verdict at the commit's parent;
    with result files and charter.yaml (or an entry of metrics.yaml it `ref`s) both
    changed, the parent's charter.yaml and metrics.yaml judged on the commit's results
    (as `charters diff` judges BASE's charter on HEAD's rows); with
    only result files changed, nothing (the rows brought whatever changed). For a charter
    renamed in the commit, the parent's charter is the old folder's (`renamed_from`); for
    metrics renamed in it (`renamed`, new id → old id), their rows are judged under the
    old ids (else an honest rename read as a verdict kept by an edit)."""
    if not results:
        return partial(verdicts.at, commit.parent, commit.day, renamed_from or cid)
    if edited:
        return partial(
            verdicts.at,
            commit.sha,
            commit.day,
            cid,
            charter_from=commit.parent,
            charter_of=renamed_from,
            catalogue_from=commit.parent,
            renamed=renamed,
        )
    return None


def _or_loaded(
    before: Callable[[], Verdict | None] | None,
    verdicts: VerdictReplay,
    commit: _Commit,
    cid: str,
    state: _Charter,
    renamed: Mapping[str, str] | None = None,
) -> Callable[[], Verdict | None] | None:
    """`before`, or when it finds no verdict (the parent's charter.yaml does not load, or
    results came while it did not), the last version that loaded (`state.loaded_at`: its
    charter.yaml and metrics.yaml) judged on the commit's results: a broken commit before
    an edit hid what it gained."""
    if before is None or state.loaded_at is None or state.loaded_at == commit.parent:
        return before
    loaded = partial(
        verdicts.at,
        commit.sha,
        commit.day,
        cid,
        charter_from=state.loaded_at,
        catalogue_from=state.loaded_at,
        renamed=renamed,
    )

    def ask() -> Verdict | None:
        found = before()
        return found if found is not None else loaded()

    return ask


def _linked(stamp: _Stamp, links: list[_Change], blobs: Blobs) -> Iterator[Event]:
    """charter.yaml or a result file made a symbolic link: a build follows it, the
    history cannot (a link is no version to compare), so later changes of its target
    are not in the history; flagged, so a reviewer looks at the target."""
    for change in links:
        # charter.yaml, a result file, or a folder (no suffix) a results glob may go through.
        kept = change.rest == "charter.yaml" or reader_for(change.rest) is not None
        if not kept and PurePosixPath(change.rest).suffix:
            continue
        target = visible_text(os.fsdecode(blobs.read(change.new) or b"?"))
        what = change.rest or "the charter's folder"
        text = (
            f"{what} is now a symbolic link to {target}: the history does not follow"
            " it, so changes made to its target are not in this history"
        )
        yield stamp.event("linked", text, flagged=True)


def _verdict(
    state: _Charter,
    stamp: _Stamp,
    now: Verdict | None,
    before: Callable[[], Verdict | None] | None,
    last: Verdict | None,
    *,
    results: bool,
    edit: str = "the charter",
) -> None:
    """A verdict event when the charter's verdict differs from `last`, the one it had
    before the commit on the commit's line of history (`_on_line`); flagged when it says
    the business moved more (`verdict_gained`) than `before` (see `_before`) gives: an
    edit of `edit` (the charter, metrics.yaml or both) brought it. When the parent's
    version does not load, the last version that did is judged on the commit's results
    (`_or_loaded`); failing that, with no result file changed since the last verdict
    replayed (`state.results`), `last` is compared. A commit that brings result files (or
    the first after result files came while no version loaded) and an edit which keeps a
    verdict the new results alone would have lost has an event of its own, flagged.

    The line's, not the last version replayed: commits are replayed in topological
    order, so two branches merged one after the other come one after the other, and a
    branch that changed no verdict was reported as undoing the other's change.

    A version that does not load (`now` is None) is skipped (the charter keeps the
    verdict it had on the line); a charter removed starts again without a verdict, so
    coming back is not a change of verdict.
    """
    state.verdict = last
    if state.data is None:
        # Its gains stay: the charter added again (or the removal discarded by a merge)
        # still rests on them.
        state.verdict = None
        return
    if now is None:
        return
    # Unchanged, only an edit that came with results (or after results no version judged,
    # the charter not loading) can have kept it.
    if last is not None and (now != last or (state.results and before is not None)):
        unedited: str | None = before() if before is not None else None
        if unedited is None and not results and not state.results:
            unedited = last  # the parent's version does not load
        gained = unedited is not None and verdict_gained(unedited, now)
        why = ""
        if gained and state.results:
            why = f"an edit of {edit}: before it, the same results give "
            why += label(str(unedited), "verdict")
        elif gained:
            why = f"an edit of {edit}, with no new results"
        if now != last:
            text = f"Verdict: {label(last, 'verdict')} → {label(now, 'verdict')}"
            text += f" ({why})" if why else ""
            state.events.append(stamp.event("verdict", text, flagged=gained, verdict=now))
        elif gained and state.results:
            text = f"Verdict: {label(now, 'verdict')} kept by {why}"
            state.events.append(stamp.event("verdict", text, flagged=True, verdict=now))
    state.verdict, state.results = now, False


def _charter_change(
    state: _Charter,
    stamp: _Stamp,
    change: _Change,
    blobs: Blobs,
    had: set[str],
    arriving: set[str],
    renames: Mapping[str, str] | None = None,
    removals: Sequence[_Removal] = (),
) -> dict[str, Any] | None:
    """Events of one change to charter.yaml, and the version it was compared with (None
    when it was not). `had`: the metrics with result rows before the commit;
    `arriving`: those whose first rows the commit brings; `renames`: the metrics the
    commit renamed (old id → new id), each told once, the rest of the change compared
    with the version before it read through them; `removals`: the commits that removed
    the charter before, on this commit's line (nearest first), if this one makes it
    again.

    The new version is compared with the commit's own parent version (so a commit on
    a merged branch is compared with what its author changed), or, when that cannot
    be read, with the last version that could; a charter made again, with the version
    removed (a target loosened while the charter was away is a moved goalpost).
    """
    old = _readable(state.version(change.old, blobs)) if change.old.strip("0") else None
    if not change.new.strip("0"):  # removed: kept for a charter of its id made again
        state.removed(stamp, old or state.data, had, change.cid)
        state.data = None
        return None
    data = _readable(state.version(change.new, blobs))
    if data is None:  # unreadable at this commit: the next readable version is compared
        state.data = old or state.data  # with the last one this branch could read
        return None
    if old is not None and state.gone:
        # Changed on a branch made before the removal replayed last: what the replay knew
        # before the removal is what this branch knew (or more: on the safe side).
        state.made_again(list(reversed(state.removals.values())))
    state.gone = False
    if old is None and (change.old.strip("0") or state.folder_link or state.renamed_from):
        old = state.data  # unreadable, from before the folder was made a link, or renamed
    if old is None and removals:  # (renamed from a folder removed before: its *Renamed* says)
        old = _made_again(state, stamp, removals, data, tell=state.renamed_from is None)
        had = had.union(*(r.rows for r in removals))
    if state.renamed_from is not None:
        text = f"Charter renamed from {state.renamed_from} (listed in its aliases)"
        state.events.append(stamp.event("renamed", text))
        state.renamed_from = None
    if old is not None and renames:
        state.events.extend(_renamed_events(state, stamp, renames, data))
        old = renamed_raw(old, renames)
    state.folder_link = False
    state.data = data
    if old is None:
        status = label(str(data.get("status")), "status")
        state.events.append(stamp.event("created", f"Charter created, status {status}"))
        state.last_business.update(_business(data))
        return None
    if old.get("status") != data.get("status"):
        state.events.append(_status_event(stamp, old.get("status"), data.get("status")))
    began = bool(had or arriving or state.first_result)  # rows gone for a while count
    state.events.extend(_plan_events(stamp, old, data, results=began))
    before, after = _business(old), _business(data)
    for mid, metric in after.items():
        # A metric back among the business metrics (from the ML metrics, or renamed away
        # and back) after results is compared with its last version there.
        was = before.get(mid) or (
            state.last_business.get(mid) if mid in state.first_result else None
        )
        if was is not None:
            first = state.first_result.get(mid) or (stamp.time[:10] if mid in arriving else None)
            # Results began at its first result, even if its rows are gone for a while.
            results = mid in had or mid in arriving or mid in state.first_result
            state.events.extend(_metric_events(state, stamp, was, metric, results, first))
    state.last_business.update(after)
    for mid, metric in before.items():
        if mid not in after and (agreed := _agreement(metric)) is not None:
            state.events.append(_agreement_dropped(state, stamp, mid, metric, agreed, data))
    state.events.extend(_guardrail_events(state, stamp, old, data, had | arriving))
    return old


def _guardrail_events(
    state: _Charter, stamp: _Stamp, old: dict[str, Any], new: dict[str, Any], rows: set[str]
) -> Iterator[Event]:
    """A change of what a guardrail is judged by (`GUARDRAIL_GOALPOSTS`), and a guardrail
    that is no longer one: flagged once the guardrail has results (`rows`: the metrics
    with rows by the commit), as a tolerance loosened after a breach, or the guardrail
    moved to the ML metrics, made the breach, its badge and its alert go without a trace
    on the page (`charters diff` flags it as an alert an edit resolved)."""
    was = {str(g.get("id")): g for _, g in m.items_at(old, "measurement", "guardrails")}
    now_ids = set()
    for _, guard in m.items_at(new, "measurement", "guardrails"):
        gid = str(guard.get("id"))
        now_ids.add(gid)
        before = was.get(gid)
        if before is None:
            continue
        results = gid in rows
        for key in GUARDRAIL_GOALPOSTS:
            then, now = _plain(_at_key(before, key)), _plain(_at_key(guard, key))
            if _same(then, now):
                continue
            text = f"{state.name(guard)}: {key} {shown_change(then, now)}"
            if key == "tolerance.value" and _finite(then) and _finite(now):
                text += " (looser)" if now > then else " (stricter)"
            if results:
                text += " — changed after results began"
            yield stamp.event("goalpost", text, metric=gid, flagged=results)
    for gid, guard in was.items():
        if gid in now_ids or gid not in rows:
            continue
        where = _moved_to(new, gid, "guardrail")
        tolerance = show(_plain(_at_key(guard, "tolerance.value")))
        text = (
            f"{state.name(guard)}: {where}, no longer a guardrail, after results began (its"
            f" tolerance was {tolerance})"
        )
        yield stamp.event("goalpost", text, metric=gid, flagged=True)


def _same(then: Any, now: Any) -> bool:
    """Whether two versions of a field hold the same value (NaN, which no version that
    loads holds, is the same as NaN: an edit elsewhere is no change of it)."""
    both_nan = isinstance(then, float) and isinstance(now, float) and then != then and now != now
    return bool(then == now or both_nan)


def _finite(value: Any) -> TypeGuard[float]:
    return isinstance(value, float) and math.isfinite(value)


def _plan_events(
    stamp: _Stamp, old: dict[str, Any], new: dict[str, Any], *, results: bool
) -> Iterator[Event]:
    """A change of a field of the measurement plan (`diff.compare.PLAN_FIELDS`); flagged
    when the charter had result rows by then (`results`) and the results are judged by
    the field (`JUDGING_PLAN_FIELDS`), as `charters diff` flags it."""
    was, now = _plan(old), _plan(new)
    for name in [*now, *(x for x in was if x not in now)]:
        before, after = was.get(name), now.get(name)
        if before == after:
            continue
        flagged = results and name.split(".")[1] in JUDGING_PLAN_FIELDS
        text = f"Plan: {name} {shown_change(before, after)}"
        text += " — changed after results began" if flagged else ""
        yield stamp.event("plan", text, flagged=flagged)


def _readable(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """A version of charter.yaml the history can compare: None for one whose
    `business_metrics` is there but not a list (`to do`), read as if unreadable, so the
    next version is compared with the last well-formed one and no change is lost."""
    if data is not None and not isinstance(data.get("business_metrics", []), list):
        return None
    return data


def _status_event(stamp: _Stamp, old: object, new: object) -> Event:
    """A change of `status`; flagged when it leaves the rollout (`live`, `paused` or
    `retired` back to an earlier status): production rows after the experiment then no
    longer judge the metrics (analyze.experiment_over), so a lift the rollout had
    overruled, or a guardrail breached in production, is judged on the experiment
    again."""
    was, now = (label(str(status), "status") for status in (old, new))
    back = rollout_undone(str(old), str(new))
    text = f"Status {was} → {now}"
    if back:
        text += " (production results no longer judge the metrics)"
    return stamp.event("status", text, flagged=back)


def _agreement_dropped(
    state: _Charter,
    stamp: _Stamp,
    mid: str,
    metric: dict[str, Any],
    agreed: m.Agreement,
    data: dict[str, Any],
) -> Event:
    """An agreed business metric gone from the business metrics: the verdict no longer
    needs it, so it is flagged as `charters diff` flags it (`agreement-changed`)."""
    where = _moved_to(data, mid, "business")
    text = (
        f"{state.name(metric)}: {where}, no longer a business metric, and its agreement"
        f" with it (it was {_agreed_words(agreed)})"
    )
    return stamp.event("agreement", text, metric=mid, flagged=True)


def _moved_to(data: dict[str, Any], mid: str, was: str) -> str:
    """Where metric `mid`, no longer among the `was` metrics of version `data`, went:
    "moved to the ML metrics", or "removed"."""
    for kind, path in m.METRIC_LISTS:
        if kind != was and any(i.get("id") == mid for _, i in m.items_at(data, *path)):
            return f"moved to the {KIND_LABELS[kind]}s"
    return "removed"


def _read_by(data: dict[str, Any] | None, rest: str) -> bool:
    """Whether the `results` globs of a version of charter.yaml read file `rest`."""
    if rest == "charter.yaml" or reader_for(rest) is None:
        return False
    return any(glob_matches(g, rest) for g in _globs(data or {}))


def _globs(data: dict[str, Any]) -> list[str]:
    """The `results` globs of a version of charter.yaml (the default without them)."""
    raw = data.get("results")
    if not isinstance(raw, list):
        return list(DEFAULT_RESULTS)
    return [g for g in raw if isinstance(g, str)]


def _unread_files(
    files: Mapping[str, _File], stamp: _Stamp, old: dict[str, Any], new: dict[str, Any]
) -> Iterator[Event]:
    """A result file with rows (`files`: as they were before the commit, of those still
    there) that the old `results` globs read and the new ones do not: its rows are gone
    from the charter as if removed, so it is a rewrite."""
    was, now = _globs(old), _globs(new)
    if was == now:
        return
    for rest, file in sorted(files.items()):
        read_before = any(glob_matches(g, rest) for g in was)
        if file.rows and read_before and not any(glob_matches(g, rest) for g in now):
            metrics = ", ".join(sorted(file.metrics))
            text = (
                f"{rest} no longer read (results: {shown_change(was, now)}):"
                f" {plural(len(file.rows), 'past row')} left out ({metrics})"
            )
            yield stamp.event("rewritten", text, flagged=True)


def _metric_events(
    state: _Charter,
    stamp: _Stamp,
    old: dict[str, Any],
    new: dict[str, Any],
    results: bool,
    first: str | None,
) -> Iterator[Event]:
    """Goalpost and agreement changes of one business metric in one commit (`results`:
    whether the metric has result rows by then, the first dated `first`)."""
    mid = str(new.get("id") or new.get("ref"))
    name = state.name(new)
    catalogued = "ref" in old or "ref" in new
    was, now = _goalposts(old, catalogued), _goalposts(new, catalogued)
    renewed = agreement_renewal(
        _agreement(old), _agreement(new), date.fromisoformat(stamp.authored or stamp.time[:10])
    )
    for key in [*now, *(k for k in was if k not in now)]:
        before, after = was.get(key), now.get(key)
        if _same(before, after):
            continue
        text = f"{name}: {key} {shown_change(before, after)}"
        if key == "target.value" and _finite(before) and _finite(after):
            text += f" ({_ambition(before, after, state.direction(new, stamp.sha))})"
        if not results:
            yield stamp.event("goalpost", text, metric=mid)
            continue
        _original(state, mid, key, before)
        yield _moved(stamp, text, mid, first, renewed)
    old_agreed, new_agreed = _agreement(old), _agreement(new)
    if old_agreed != new_agreed:
        text = f"{name}: agreement {_agreed_words(old_agreed)} → {_agreed_words(new_agreed)}"
        yield stamp.event("agreement", text, metric=mid)


def _original(state: _Charter, mid: str, key: str, before: Any) -> None:
    """Keep what a goalpost the verdict is judged by (`JUDGED_GOALPOSTS`) was before it
    first moved after results, if it was a value the format takes (a version that did
    not validate gave `down`, NaN, 1e300)."""
    if key.endswith(".value"):
        taken = isinstance(before, float) and math.isfinite(before)
        taken = taken and abs(before) <= m.MAX_NUMBER
    elif key == "direction":
        taken = before in ("increase", "decrease")
    else:
        taken = isinstance(before, str) and bool(before.strip())
    if key in JUDGED_GOALPOSTS and taken:
        state.originals.setdefault(mid, {}).setdefault(key, before)


def _moved(stamp: _Stamp, text: str, mid: str, first: str | None, renewed: Renewal | None) -> Event:
    text += " — moved after results began" + (f" (first result {first})" if first else "")
    note = renewed.note.replace("`", "") if renewed is not None else ", never agreed"
    return stamp.event(
        "goalpost",
        text + note,
        metric=mid,
        moved=True,
        reagreed=renewed.renewed if renewed is not None else None,
        flagged=True,
    )


def _result_change(
    state: _Charter,
    stamp: _Stamp,
    change: _Change,
    blobs: Blobs,
    quiet: bool = False,
    renames: Mapping[str, str] | None = None,
    moves: _Moves | None = None,
) -> None:
    """Keep the file's rows; note the rows it changed or removed (unless `quiet`: the
    charter itself was removed). `renames`: the metrics the commit renamed, whose rows
    are compared under their new ids. `moves`: where the rows it took out and brought
    are kept for the whole commit (`_taken_rows`)."""
    known = state.files.get(change.rest)
    old = known.rows if known is not None and known.blob == change.old else None
    old_blob = None
    if old is None and not change.unlinked:
        old_blob = blobs.read(change.old, change.path)
        old = raw_rows(old_blob, change.rest)
    new_blob = blobs.read(change.new, change.path)
    new = None
    if old is not None and new_blob is not None and not change.unlinked:
        # Rows appended (a weekly pull): only the lines appended are read.
        old_blob = old_blob if old_blob is not None else blobs.read(change.old, change.path)
        new = appended_rows(old_blob, old, new_blob, change.rest) if old_blob else None
    new = new if new is not None else _rows_of(new_blob, change)
    if new is None:
        # Unreadable at this commit (a broken quote, a limit, a version its smudge filter
        # cannot give): not a rewrite.
        return
    if old is None and known is None and new_blob is not None and state.away:
        # None at the parent (or none readable): a file back after the charter's removal
        state.files[change.rest] = _File(change.new, new, _metrics(new), stamp.sha)
        _back_after_removal(state, stamp, change.rest, new, quiet)
        if moves is not None:
            moves.add(change.rest, {}, new)
        return
    if old is None:  # the parent version could not be read: the last one that could, if it
        # is on this commit's line (the replay's may be another branch's: a pull request's
        # file broken, then mended, was compared with main's rows)
        on_line = known is not None and is_ancestor(blobs.top, known.sha, stamp.sha)
        old = known.rows if known is not None and on_line else {}
    if state.away:  # rows it adds may be rows its charter's removal took
        arrived = {k: v for k, v in new.items() if k not in old}
        _back_after_removal(state, stamp, change.rest, arrived, quiet)
    if renames:
        old = {(k[0], renames.get(k[1], k[1]), *k[2:]): v for k, v in old.items()}
    if new_blob is None:
        state.files.pop(change.rest, None)
    else:
        state.files[change.rest] = _File(change.new, new, _metrics(new), stamp.sha)
    if moves is not None:
        moves.add(change.rest, old, new)
    counts = count_changes(old, new)
    if quiet or not (counts["revised"] or counts["removed"]):
        return
    touched = sorted({k[1] for k in old if k not in new or new[k] != old[k]})
    words = ", ".join(
        f"{plural(n, 'past row')} {what}" for what, n in counts.items() if what != "added" and n
    )
    text = f"{change.rest} rewritten: {words} ({', '.join(touched)})"
    state.events.append(stamp.event("rewritten", text, flagged=True))


def _metrics(rows: Mapping[RowKey, tuple[Any, ...]]) -> frozenset[str]:
    return frozenset(key[1] for key in rows)


def _rows_of(blob: bytes | None, change: _Change) -> dict[RowKey, tuple[Any, ...]] | None:
    """The rows of the new version of a changed result file, as `blob` holds it: none when
    the change removed the file; None when the version cannot be read (`raw_rows`, or
    no content for a version there is: a smudge filter that failed)."""
    if blob is None:
        return None if change.new.strip("0") else {}
    return raw_rows(blob, change.rest)


def _back_after_removal(
    state: _Charter, stamp: _Stamp, rest: str, new: dict[RowKey, tuple[Any, ...]], quiet: bool
) -> None:
    """A result file with none at the parent, while rows its charter's removal took are away
    (`_Charter.away`): each of its rows that one of them had (by date, metric and
    variant, whichever file held it) is compared with it, a changed one a flagged rewrite,
    and is away no more. Rows not back are not told: they may come back in another file."""
    revised: list[RowKey] = []
    arms = {_arm_key(k): v for k, v in new.items()}  # a variant as the loader tells arms
    for path in sorted(state.away, key=lambda p: (p != rest, p)):  # its own path first
        file = state.away[path]
        common = {k for k in file.rows if _arm_key(k) in arms}
        revised += [k for k in common if file.rows[k] != arms[_arm_key(k)]]
        left = {k: v for k, v in file.rows.items() if k not in common}
        if left:
            state.away[path] = _File(file.blob, left, _metrics(left), file.sha)
        else:
            del state.away[path]
    if revised and not quiet:
        metrics = ", ".join(sorted({k[1] for k in revised}))
        text = f"{rest} rewritten: {plural(len(revised), 'past row')} revised ({metrics})"
        state.events.append(stamp.event("rewritten", text, flagged=True))


@dataclass
class _Lineage:
    """Which commit replayed is after which on its line of history, and a result file as a
    commit has it. The replay knows each file as the last commit replayed left it, which
    may be on another branch: a pull request's branch, made before main took rows out,
    still holds them, and made them read as present again on main."""

    repo: _Repo
    blobs: Blobs
    lines: Mapping[str, str]  # `_lines`
    branches: Mapping[str, tuple[str, ...]]  # `_lines`: a merge → its other parents
    # Each commit asked about (and each before it): the takings it descends from, one bit
    # each (`bits`, in the order the takings were made).
    masks: dict[str, int] = field(default_factory=dict)
    bits: dict[str, int] = field(default_factory=dict)

    def took(self, sha: str) -> None:
        """Commit `sha`, being replayed, took rows out: its descendants are told apart from
        here. (No commit after it in the replay has been asked about yet.)"""
        if sha not in self.bits:
            self.bits[sha] = 1 << len(self.bits)
            if sha in self.masks:
                self.masks[sha] |= self.bits[sha]

    def descends(self, sha: str, ancestor: str) -> bool:
        """Whether commit `sha` is taking commit `ancestor` or has it in its history (over
        every commit `git rev-list` gives for the paths, merges that changed none of them
        among them)."""
        bit = self.bits.get(ancestor)
        return sha == ancestor or bit is None or bool(self._mask(sha) & bit)

    def _mask(self, sha: str) -> int:
        """The takings commit `sha` descends from, its parents' first (walked back only as
        far as the commits asked about before it)."""
        todo = [sha]
        while todo:
            at = todo[-1]
            if at in self.masks:
                todo.pop()
                continue
            parents = [p for p in (self.lines.get(at, ""), *self.branches.get(at, ())) if p]
            unknown = [p for p in parents if p not in self.masks]
            if unknown:
                todo.extend(unknown)
                continue
            todo.pop()
            mask = self.bits.get(at, 0)
            for parent in parents:
                mask |= self.masks[parent]
            self.masks[at] = mask
        return self.masks[sha]

    def rows(self, sha: str, cid: str, rest: str) -> Mapping[RowKey, tuple[Any, ...]]:
        """The rows of charter `cid`'s file `rest` as commit `sha` has it (none without it)."""
        path = f"{self.repo.charters}{cid}/{rest}"
        found = self.blobs.object(f"{sha}:{path}")
        if found is None or found[1] != "blob":
            return {}
        content = self.blobs.read(found[0], path) if path in self.blobs.filtered else found[2]
        return raw_rows(content, rest) or {}


def _rows_at(
    state: _Charter,
    moves: _Moves,
    sha: str,
    lineage: _Lineage | None,
    wanted: set[RowKey],
    holds: Mapping[str, Mapping[RowKey, tuple[Any, ...]]],
) -> dict[str, Mapping[RowKey, tuple[Any, ...]]]:
    """The rows of the charter's files as commit `sha` has them: those it changed
    (`moves`, `holds`) as the replay read them; each other file the replay knows, where
    it holds a row of `wanted` (by arm), read at the commit (`_Lineage`), since the
    replay's version of it may be another branch's."""
    files: dict[str, Mapping[RowKey, tuple[Any, ...]]] = {
        rest: f.rows for rest, f in state.files.items()
    }
    files.update(holds)
    if lineage is None or not moves.cid:
        return files
    for rest, rows in files.items():
        changed = rest in moves.files or rest in holds
        if not changed and state.reads(rest) and any(_arm_key(k) in wanted for k in rows):
            files[rest] = lineage.rows(sha, moves.cid, rest)
    return files


@dataclass
class _Moves:
    """The rows one commit (or a merge, against its first parent) took out of a charter's
    result files and the rows it brought, by date, metric and arm (`_arm_key`):
    (numbers, file); and the files it changed."""

    cid: str = ""  # the charter's folder
    gone: dict[RowKey, tuple[tuple[Any, ...], str]] = field(default_factory=dict)
    arrived: dict[RowKey, tuple[tuple[Any, ...], str]] = field(default_factory=dict)
    files: set[str] = field(default_factory=set)

    def add(
        self,
        rest: str,
        old: Mapping[RowKey, tuple[Any, ...]],
        new: Mapping[RowKey, tuple[Any, ...]],
    ) -> None:
        self.files.add(rest)
        self.gone |= {_arm_key(k): (v, rest) for k, v in old.items() if k not in new}
        self.arrived |= {_arm_key(k): (v, rest) for k, v in new.items() if k not in old}


def _taken_rows(
    state: _Charter,
    stamp: _Stamp,
    moves: _Moves,
    away: set[RowKey],
    data: dict[str, Any] | None,
    tell: bool = True,
    take: bool | None = None,
    holds: Mapping[str, Mapping[RowKey, tuple[Any, ...]]] | None = None,
    lineage: _Lineage | None = None,
) -> list[Event]:
    """After all of a commit's result files (`moves`; `data`: its charter.yaml before the
    commit, whose globs read the files rows were taken out of; the charter's are read
    after it): a row brought into a file it reads, of the date, metric and arm of one an
    earlier commit took out (`_Charter.taken`), with other numbers, is a flagged rewrite
    ("taken out on … and back with other numbers"), unless the charter's removal took
    it (`away`: `_back_after_removal` compares it) or `tell` is off (a merge, a commit
    that removes the charter: rows it brings were told where they were made). A row
    taken out of a file it read (or of one it no longer reads) that no file it reads
    holds after the commit is kept (`take`, as `tell` by default: not by a commit that
    removes the charter, whose removal keeps them, `away`); a row moved to another file,
    or its variant respelled, in the commit is neither. A row a file it reads holds
    (`holds`: the rows of the files a merge changed, over the replay's) is taken out no
    more, if the commit is after the one that took it out (`lineage`; a branch made
    before then still has it), in the files as the commit has them (`_rows_at`). Only
    the files its globs read count: a draft beside them is no evidence."""
    take = tell if take is None else take
    if not (moves.gone or moves.arrived or (moves.files and state.taken)):
        return []
    then = {rest: _read_by(data, rest) for _, rest in moves.gone.values()}  # once a file
    gone = {arm: x for arm, x in moves.gone.items() if then[x[1]]}
    if not (state.taken or gone):
        return []  # none to take out, none to bring back
    now = {rest: state.reads(rest) for _, rest in moves.arrived.values()}
    arrived = {arm: x for arm, x in moves.arrived.items() if now[x[1]]}
    revised: dict[str, list[tuple[str, str]]] = {}  # by file: (metric, day taken out)
    for arm, (values, rest) in arrived.items():
        took = _on_this_line(state, arm, stamp.sha, lineage)
        if arm in gone or took is None or arm in away or took[0] == values:
            continue
        revised.setdefault(rest, []).append((arm[1], took[1]))
    if state.taken or (take and gone):
        wanted = state.taken.keys() | gone.keys()
        files = _rows_at(state, moves, stamp.sha, lineage, wanted, holds or {})
        present = {_arm_key(k) for rest, rows in files.items() if state.reads(rest) for k in rows}
        for arm, (values, _) in gone.items() if take else ():
            if arm not in arrived and arm not in present:
                state.taken[arm] = [*state.taken.get(arm, []), (values, stamp.time[:10], stamp.sha)]
                if lineage is not None:
                    lineage.took(stamp.sha)
        for arm in [a for a in state.taken if a in present]:
            _on_this_line(state, arm, stamp.sha, lineage)
    events = []
    for rest, found in sorted(revised.items()) if tell else ():
        metrics = ", ".join(sorted({mid for mid, _ in found}))
        days = " and ".join(sorted({day for _, day in found}))
        text = (
            f"{rest} rewritten: {plural(len(found), 'past row')} revised, taken out on {days}"
            f" and back with other numbers ({metrics})"
        )
        events.append(stamp.event("rewritten", text, flagged=True))
    return events


def _on_this_line(
    state: _Charter, arm: RowKey, sha: str, lineage: _Lineage | None
) -> tuple[tuple[Any, ...], str, str] | None:
    """The taking of `arm` before commit `sha` on its line of history (`lineage`) that the
    commit brings back: the newest one's numbers, on the day of the oldest (when the row
    left the line: a later one there, such as a branch's merge of main, only carried
    the taking onto it). They are taken out no more; the takings on other branches
    stay, for the commits after them."""
    takings = state.taken.get(arm, [])
    mine = [t for t in takings if lineage is None or lineage.descends(sha, t[2])]
    others = [t for t in takings if t not in mine]
    if others:
        state.taken[arm] = others
    else:
        state.taken.pop(arm, None)
    return (mine[-1][0], mine[0][1], mine[-1][2]) if mine else None


def _merge_rows(
    state: _Charter,
    stamp: _Stamp,
    changes: list[_Change],
    blobs: Blobs,
    lineage: _Lineage | None = None,
) -> list[Event]:
    """A merge's result files against its first parent (`_taken_rows`): the rows it took
    out (a conflict resolved without them) are kept as taken out, with the first
    parent's numbers, and those it brought are taken out no more; one that a commit
    before it on its first parents took out, brought back with other numbers, is told
    here (a branch made before the taking, which still had the row, did not bring it
    back on its own line). A file it only appended to, while nothing is taken out, is
    not read."""
    moves = _Moves(changes[0].cid if changes else "")
    holds: dict[str, Mapping[RowKey, tuple[Any, ...]]] = {}
    for change in changes:
        if change.link or change.rest == "charter.yaml" or reader_for(change.rest) is None:
            continue
        old_blob, new_blob = (
            blobs.read(change.old, change.path),
            blobs.read(change.new, change.path),
        )
        appended = old_blob is not None and new_blob is not None and new_blob.startswith(old_blob)
        if appended and not state.taken:
            continue
        new = _rows_of(new_blob, change)
        if new is not None:
            moves.add(change.rest, raw_rows(old_blob, change.rest) or {}, new)
            holds[change.rest] = new
    taken = partial(_taken_rows, take=True, holds=holds, lineage=lineage)
    return taken(state, stamp, moves, set(), state.data)


def _yaml(blob: bytes) -> dict[str, Any] | None:
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        return None
    doc = parse_yaml(text, "charter.yaml", Diagnostics())
    return doc.data if doc is not None and isinstance(doc.data, dict) else None


def _business(data: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    items = data.get("business_metrics") if data is not None else None
    if not isinstance(items, list):
        return {}
    found: dict[str, dict[str, Any]] = {}
    for b in items:
        mid = b.get("id") or b.get("ref") if isinstance(b, dict) else None  # a `ref` is its id
        if mid is not None:
            found[str(mid)] = b
    return found


def _goalposts(metric: dict[str, Any], catalogued: bool) -> dict[str, Any]:
    """A business metric's goalposts by dotted field (`target.value`), as plain values.

    With `catalogued` (either version `ref`s metrics.yaml) the fields the catalogue
    gives are left out: a charter that starts to `ref` a metric drops them from its
    own text without changing them (a change of them in metrics.yaml is `_Catalogue`'s).
    A change of the `ref` itself is a goalpost: it is another metric.
    """
    skip = ("id", "agreed", *(CATALOGUED_FIELDS if catalogued else ()))
    found = {
        key: _plain(value)
        for key, value in _flatten({k: v for k, v in metric.items() if k not in skip})
        if is_goalpost(key)
    }
    if catalogued:
        found["ref"] = metric.get("ref") or metric.get("id")
    return found


_agreement = written_agreement  # as `charters diff` reads one as written


def _agreed_words(agreed: m.Agreement | None) -> str:
    return f"agreed{_by_on(agreed)}" if agreed is not None else "none"


# --- the cache ---------------------------------------------------------------------------


def _cache_file(folder: Path, repo: _Repo, names: Mapping[str, str]) -> Path:
    """`<source>-<head>-<names>.json`: by the source's path, the head commit, the
    catalogued names the events use and the `.mailmap` that names their authors."""
    source = hashlib.blake2b(f"{repo.top}\0{repo.prefix}".encode(), digest_size=8).hexdigest()
    named = hashlib.blake2b(json.dumps([names, repo.mailmap()]).encode(), digest_size=4)
    return folder / "history" / f"{source}-{repo.head}-{named.hexdigest()}.json"


def _read_cache(path: Path, head: str) -> dict[str, CharterHistory] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != _format() or data.get("head") != head:
            return None
        return {
            cid: CharterHistory(
                tuple(Event(**e) for e in entry["events"]),
                {mid: dict(known) for mid, known in entry["originals"].items()},
                verdict_change=Event(**entry["verdict_change"])
                if entry["verdict_change"]
                else None,
                edited=Event(**entry["edited"]) if entry["edited"] else None,
                refs=bool(entry["refs"]),
            )
            for cid, entry in data["charters"].items()
        }
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def _write_cache(path: Path, head: str, found: Mapping[str, CharterHistory]) -> None:
    """Keep the history of `head` for the next build; older heads of this source go."""
    data = {
        "format": _format(),
        "head": head,
        "charters": {
            cid: {
                "events": [asdict(e) for e in h.events],
                "originals": {mid: dict(known) for mid, known in h.originals.items()},
                "verdict_change": asdict(h.verdict_change) if h.verdict_change else None,
                "edited": asdict(h.edited) if h.edited else None,
                "refs": h.refs,
            }
            for cid, h in found.items()
        },
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, sort_keys=True, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
        for old in path.parent.glob(path.name.split("-")[0] + "-*.json"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        pass  # a cache that cannot be written only costs the next build the git pass


def with_history(views: Sequence[CharterView], history: History) -> None:
    """Give each view what its history says of its verdict: each business metric whose
    `JUDGED_GOALPOSTS` moved after results what each was (`original_target`, …), where
    it is not back there; and the day an edit of the charter brought the verdict it has
    (`CharterView.edited_on`: `CharterHistory.edited_verdict`, when the verdict it
    rests on the edit is the one the charter has at this build). Set on every view at
    every build."""
    for view in views:
        own = history.of(view.id)
        edited = own.edited_verdict
        view.edited_on = edited.date if edited and edited.verdict == view.verdict else None
        if own.originals:
            found = own.originals
            view.metrics = [_with_originals(mv, found.get(mv.id, {})) for mv in view.metrics]


def _with_originals(mv: MetricView, originals: Mapping[str, Any]) -> MetricView:
    if mv.kind != "business":
        return mv

    def was(key: str, now: object) -> Any:
        before = originals.get(key)
        return before if before is not None and before != now else None

    return replace(
        mv,
        original_target=was("target.value", mv.target),
        original_baseline=was("baseline.value", mv.baseline),
        original_direction=was("direction", mv.direction),
        original_unit=was("unit", mv.unit),
        original_definition=was("definition", mv.definition),
    )
