"""Diff stage: comparing two analysed sides, charter by charter, into a list of changes.

The comparison is plain data: a `DiffReport` holding `Change`s, each of a kind named
in `vocabulary.CHANGE_KINDS`. Charters are paired by id (a rename by its title or its
metric ids) and each pair goes through `COMPARISONS`, one function per concern, in the
order the changes are reported. A new kind of change is one more function there, plus
its kind and label in the vocabulary (and a line in docs/diff.md).

Numbers come from the analysis `charters check` runs on each side: a metric's latest
value, progress, whether it met its target and its status are read from its
`MetricView`, never recomputed here. The one other analysis is HEAD's charter with the
goalposts BASE had where results already existed (`original_goalposts`), run by the
same `analyze_charter`. Field changes come from the charter text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

from .. import model as m
from ..analyze import (
    CharterView,
    MetricView,
    analyze_charter,
    first_result,
    rests_on_lift,
    treatment_variant,
)
from ..columns import as_table
from ..diagnostics import Diagnostic, Diagnostics, excerpt, format_path
from ..formatting import exact_number, fmt_difference, fmt_interval, fmt_percent, fmt_value, plural
from ..gitrepo import commit_days, utc_time
from ..load import Result
from ..readers import Document, parse_yaml, reader_for
from ..rules import (
    CharterCheck,
    check_charter,
    move_phrase,
    switched_off,
    x_lint_codes,
)
from ..vocabulary import (
    CHANGE_KINDS,
    KIND_LABELS,
    TRENDS,
    ChangeKind,
    MetricStatus,
    Trend,
    arm_of,
    label,
    rollout_undone,
    verdict_gained,
)
from .metric_renames import metric_renames, renamed_base, renamed_raw
from .rows import (
    DELETIONS_BEFORE,
    ArmKey,
    Taking,
    Wanted,
    log_records,
    plain,
    taken_out_before,
)
from .sides import Removed, Side, _git, edit_dates, load_removed

KINDS = CHANGE_KINDS
# A change to one of these fields of an agreed business metric moves the goalposts,
# whatever happens to its agreement in the same change. `baseline.*` and `target.*`
# are goalposts too (value, date, source).
GOALPOST_FIELDS: tuple[str, ...] = ("definition", "unit", "direction")
GOALPOST_GROUPS: tuple[str, ...] = ("baseline.", "target.")
# Kinds a reviewer must look at: flagged 🚩 in the Markdown.
FLAGGED_KINDS: tuple[ChangeKind, ...] = (
    "goalpost-moved",
    "agreement-changed",
    "catalogue-changed",
    "results-rewritten",
)
# The fields of the measurement plan a change reports (`plan_changes`, and the history),
# and those the results are judged by: changed once results exist, they are flagged, as
# a goalpost is (a smaller minimum detectable effect turns the same move into a gain; a
# longer cadence keeps stale results fresh and a lift standing longer).
PLAN_FIELDS = (
    "method",
    "population",
    "unit_of_analysis",
    "cadence",
    "minimum_detectable_effect",
    "decision_rule",
)
JUDGING_PLAN_FIELDS = frozenset({"method", "cadence", "minimum_detectable_effect", "decision_rule"})
# The fields a `ref` takes from the catalogue (metrics.yaml): a change to one of them is
# a change to the catalogue, reported for every charter that refs the metric.
CATALOGUED_FIELDS: tuple[str, ...] = ("name", "definition", "unit", "direction", "range")


@dataclass
class Change:
    """One reported difference. `metric` is None for charter-level changes.

    `before` and `after` are what the JSON shows. A `results-added` change also
    carries the analysed metric of each side (`base_metric`, `head_metric`) for
    the Markdown table; they are not part of the JSON.
    """

    kind: ChangeKind
    charter: str
    metric: str | None
    before: Any
    after: Any
    message: str
    field: str | None = None
    trend: Trend | None = None
    extra: dict[str, Any] = dataclass_field(default_factory=dict)
    base_metric: MetricView | None = None
    head_metric: MetricView | None = None
    # The Field, Before and After cells of the Markdown table when they are not `field`,
    # `before` and `after` as written (`results-rewritten`: the rows' numbers, with units).
    cells: tuple[str, str, str] | None = None


@dataclass(frozen=True)
class PseudoKind:
    """A name `--fail-on` accepts besides the kinds: it selects changes by what they mean."""

    description: str
    found: Callable[[DiffReport], bool]


def is_flagged(change: Change) -> bool:
    """Whether a reviewer must look at `change` (🚩): a kind of `FLAGGED_KINDS`, or a
    status or verdict change flagged for its own reason (`flagged` in the JSON)."""
    return change.kind in FLAGGED_KINDS or bool(change.extra.get("flagged"))


def _with_trend(trend: Trend) -> Callable[[DiffReport], bool]:
    return lambda r: any(c.kind == "results-added" and c.trend == trend for c in r.changes)


def _unagreed(report: DiffReport) -> bool:
    return any(not c.extra.get("reagreed") for c in report.of_kind("goalpost-moved"))


PSEUDO_KINDS: dict[str, PseudoKind] = {
    "goalpost-moved-unagreed": PseudoKind(
        "goalpost-moved changes without a renewed agreement (reagreed: false)", _unagreed
    ),
    "regressed": PseudoKind(
        "results-added changes whose status got worse (met → improved → flat → worse),"
        " or a guardrail newly breached",
        _with_trend("regressed"),
    ),
    "improved": PseudoKind(
        "results-added changes whose status got better, or a guardrail breach cleared",
        _with_trend("improved"),
    ),
    "flagged": PseudoKind(
        "any change flagged 🚩 for a reviewer: the flagged kinds, a status back from the"
        " rollout, a verdict gained or kept, an alert cleared or kept away by an edit",
        lambda r: any(is_flagged(c) for c in r.changes),
    ),
    "invalid": PseudoKind(
        "either side has validation errors", lambda r: not (r.base.ok and r.head.ok)
    ),
    "any": PseudoKind("any change at all", lambda r: bool(r.changes)),
}


@dataclass
class DiffReport:
    """Everything `charters diff` found between two sides."""

    base: Side
    head: Side
    changes: list[Change] = dataclass_field(default_factory=list)
    not_compared: list[dict[str, str]] = dataclass_field(default_factory=list)
    # By charter id: HEAD judged against the goalposts in force when results began,
    # for charters where they differ from HEAD's own (see `original_goalposts`).
    original: dict[str, CharterView] = dataclass_field(default_factory=dict)

    def of_kind(self, kind: ChangeKind) -> list[Change]:
        return [c for c in self.changes if c.kind == kind]

    def matching(self, kinds: Iterable[str]) -> list[str]:
        """Which of `kinds` (kinds or pseudo-kinds) this report contains."""
        return [
            kind
            for kind in kinds
            if (
                PSEUDO_KINDS[kind].found(self)
                if kind in PSEUDO_KINDS
                else any(c.kind == kind for c in self.changes)
            )
        ]

    def changed_charters(self) -> list[str]:
        return list(dict.fromkeys(c.charter for c in self.changes))

    def counts(self) -> dict[str, int]:
        counted = Counter(c.kind for c in self.changes)
        return {kind: counted.get(kind, 0) for kind in KINDS}

    def trends(self) -> dict[str, int]:
        counted = Counter(c.trend for c in self.of_kind("results-added"))
        return {t: counted.get(t, 0) for t in TRENDS}


# --- charters: added, removed, renamed, compared ------------------------------------------


@dataclass
class Pair:
    """Two versions of one charter, each as `check` analysed it, reported under `cid`."""

    cid: str
    base: CharterCheck
    head: CharterCheck
    day: date | None = None  # when HEAD was written (see `Side.day`)
    base_disabled: frozenset[str] = frozenset()  # the rules BASE's site.yaml switches off
    head_disabled: frozenset[str] = frozenset()  # and HEAD's
    head_site: Document | None = None  # HEAD's site.yaml, where its rules are switched off
    # When each business metric's goalposts were last changed between two revisions, by
    # its id (`goalpost_edit_dates`): a renewal is held against that, not against a later
    # commit that fixed a typo elsewhere in the file.
    goalpost_days: Mapping[str, date] = dataclass_field(default_factory=dict)
    # The commits shortly before BASE that took rows out of its result files, newest
    # first, each with the charter as it was before (`taken_out_before`): a row HEAD adds
    # that one of them had is back, compared with it (`_back_rows`).
    taken: Sequence[tuple[Taking, CharterCheck]] = ()

    @property
    def edited(self) -> bool:
        """Whether the judgement of the charter changed besides its rows: the charter,
        its `x-lint` or the rules site.yaml switches off."""
        return self.charter_edited or self.base_disabled != self.head_disabled

    @property
    def charter_edited(self) -> bool:
        """Whether the charter itself changed (its fields or its `x-lint`)."""
        base, head = self.base.view.loaded, self.head.view.loaded
        return base.charter != head.charter or _x_lint(base.doc.data) != _x_lint(head.doc.data)

    @cached_property
    def unedited(self) -> CharterCheck:
        """BASE's charter judged and checked on HEAD's results: what HEAD's rows give
        without HEAD's edits to the charter (its cadence, status, plan, metrics, goalposts,
        `x-lint`) or to the rules site.yaml switches off. A better verdict, or an alert
        gone, in HEAD but not here was brought by an edit."""
        loaded = replace(self.base.view.loaded, results=self.head.view.loaded.results)
        return check_charter(analyze_charter(loaded), None, set(self.base_disabled))


CharterComparison = Callable[[Pair], Iterator[Change]]


def _x_lint(data: Any) -> Any:
    return data.get("x-lint") if isinstance(data, dict) else None


def _pair(
    cid: str, base: Side, head: Side, edited: Mapping[str, date], old_id: str | None = None
) -> Pair:
    """The pair of charter `cid` (in BASE under `old_id` when renamed), dated by the last
    commit that edited its charter.yaml when both sides are revisions (`edit_dates`)."""
    return Pair(
        cid,
        base.checks[old_id or cid],
        head.checks[cid],
        edited.get(cid, head.day),
        frozenset(base.project.site.lint.disable),
        frozenset(head.project.site.lint.disable),
        head.project.site_doc,
        goalpost_edit_dates(base, head, cid) if cid in edited and old_id is None else {},
    )


def goalpost_edit_dates(base: Side, head: Side, cid: str) -> dict[str, date]:
    """When each business metric's goalposts (as written in `charters/<cid>/charter.yaml`)
    were last changed between two revisions of one repository, by metric id: the author
    date (the earlier of the author's calendar and UTC's) of the newest commit in
    BASE..HEAD, merges left out, whose file differs from its parent's there. Dated by the
    file's newest commit, a fix of a typo after the change made an agreement renewed on
    the day of the change read as "before the change". Empty unless both sides are
    revisions of one repository."""
    if base.revision is None or head.revision is None or head.repository is None:
        return {}
    if base.repository != head.repository:
        return {}
    top, prefix = head.repository
    path = f"{prefix}charters/{cid}/charter.yaml"
    args = ["log", "--no-merges", "--no-renames", "--format=%H%x01%P%x01%aI"]
    shown = _git([*args, f"{base.revision}..{head.revision}", "--", path], top)
    found: dict[str, date] = {}
    if shown.returncode != 0:
        return found
    read: dict[str, dict[str, dict[str, Any]]] = {}  # a commit's parent is often the next

    def at(revision: str) -> dict[str, dict[str, Any]]:
        if revision not in read:
            read[revision] = _goalposts_at(top, revision, path)
        return read[revision]

    for line in shown.stdout.decode("utf-8", "replace").splitlines():  # newest first
        sha, parents, stamp = line.split("\x01")
        days = commit_days(stamp)
        if days is None:
            continue
        after, before = at(sha), at(parents.split()[0]) if parents else {}
        for mid in sorted(after.keys() | before.keys()):
            if after.get(mid) != before.get(mid):
                found.setdefault(mid, days[0])
    return found


def _goalposts_at(top: Path, revision: str, path: str) -> dict[str, dict[str, Any]]:
    """The business metrics' goalposts as written in `path` at `revision`, by metric id;
    none where the file is not there or does not parse."""
    return {
        metric["id"]: _raw_goalposts(metric)
        for _, metric in m.items_at(_written_at(top, revision, path), "business_metrics")
        if isinstance(metric.get("id"), str)
    }


def _written_at(top: Path, revision: str, path: str) -> Any:
    """`path` at `revision` as the loader reads its YAML; None where the file is not there
    or does not parse."""
    shown = _git(["show", f"{revision}:{path}"], top)
    if shown.returncode != 0:
        return None
    doc = parse_yaml(shown.stdout.decode("utf-8", "replace"), path, Diagnostics())
    return doc.data if doc is not None else None


class Removal(NamedTuple):
    """The commit that removed a charter's charter.yaml, and the version it removed."""

    commit: str  # short hash
    day: str
    data: dict[str, Any]
    catalogue: dict[str, dict[str, Any]]  # metrics.yaml's entries then, by id
    parent: str  # where the version removed is: the full hash of the commit's first parent
    name: str  # the folder removed: the charter's id, or one it lists in `aliases`
    # Where rows it had shortly before are read (`_before_deletions`): the parents of
    # the commits shortly before the removal that removed its result files, newest first.
    earlier: tuple[str, ...] = ()
    # Where the version removed does not load (nor one of `earlier`): the newest version
    # before the removal that does, `<short hash> (<day>)`, whose results and verdict are
    # compared instead (`loadable_before`).
    loaded_at: str | None = None


def removed_before(base: Side, names: Mapping[str, Sequence[str]]) -> dict[str, Removal]:
    """For each charter id of `names` (with the ids it lists in `aliases`, its former
    ones), the nearest commit on BASE's line of history (first parents back from BASE; a
    merge by what it removed against its first parent) that removed
    `charters/<id>/charter.yaml` for one of them, when it was written (the author's date,
    UTC, as the history dates it) and the version it removed (at its first parent, as
    written): a charter in HEAD only that BASE's history had is made again, and compared
    with what was removed (where that version does not parse, an earlier removal's). One
    walk of the history for them all; none unless BASE is a revision, nor for an id that
    a charter of BASE has or lists in its `aliases` (renamed, not removed)."""
    if base.revision is None or base.repository is None or not names:
        return {}
    taken = {a for check in base.checks.values() for a in check.view.charter.aliases}
    taken |= set(base.present)
    top, prefix = base.repository
    paths = {
        f"{prefix}charters/{name}/charter.yaml": (cid, name)
        for cid, ids in names.items()
        for name in dict.fromkeys([cid, *ids])
        if name not in taken
    }
    wanted = {cid for cid, _ in paths.values()}
    if not paths:
        return {}
    args = ["--literal-pathspecs", "log", "--first-parent", "--diff-merges=first-parent"]
    args += ["--diff-filter=D", "--no-renames", "--raw", "--no-abbrev", "-z"]
    # One pathspec, the charters folder: git compares each commit's tree against every
    # pathspec, and 200 charters' paths over 40,000 commits took 16 s against 0.7 s.
    shown = _git([*args, "--format=%H%x01%aI", base.revision, "--", f"{prefix}charters/"], top)
    text = shown.stdout.decode("utf-8", "surrogateescape") if shown.returncode == 0 else ""
    found: dict[str, Removal] = {}
    for sha, stamp, changed in log_records(text):  # newest first: a path's first removal counts
        catalogue: dict[str, dict[str, Any]] | None = None  # read once a commit
        removed = [paths[p] for _, p in changed if p in paths]
        parents = _before_deletions(top, sha, [f"{prefix}charters/{n}/" for _, n in removed])
        for cid, name in removed:
            if cid in found:
                continue
            data = _written_at(top, f"{sha}^1", f"{prefix}charters/{name}/charter.yaml")
            when = utc_time(stamp)
            if isinstance(data, dict) and when is not None:
                if catalogue is None:
                    catalogue = _entries_at(top, f"{sha}^1", f"{prefix}metrics.yaml")
                # as a side names its revision
                day = when.date().isoformat()
                earlier = tuple(parents[f"{prefix}charters/{name}/"])
                removal = Removal(sha[:10], day, data, catalogue, f"{sha}^1", name, earlier)
                found[cid] = removal
        if len(found) == len(wanted):
            break
    return found


def _before_deletions(top: Path, sha: str, folders: Sequence[str]) -> dict[str, list[str]]:
    """For each charter folder (`charters/<id>/`) the commit `sha` removed, where the rows
    it had shortly before are read: the first parents of the commits before `sha` that
    removed result files of the folder (newest first), going back through the last
    `DELETIONS_BEFORE` commits on the first-parent line that changed any charter, to
    one that made or changed its charter.yaml, not read (a result file removed a commit before
    its charter.yaml, as a pull request merged commit by commit can: read at the
    removal, the version removed had no rows to compare a re-add's with)."""
    found: dict[str, list[str]] = {folder: [] for folder in folders}
    if not folders:
        return found
    args = ["log", "--first-parent", "--no-renames", "--diff-merges=first-parent", "--raw"]
    args += ["--no-abbrev", "-z", "--format=%H%x01%aI"]
    charters = folders[0].rstrip("/").rpartition("/")[0] + "/"
    shown = _git([*args, f"-n{DELETIONS_BEFORE}", f"{sha}^1", "--", charters], top)
    text = shown.stdout.decode("utf-8", "surrogateescape") if shown.returncode == 0 else ""
    going = set(folders)
    for commit, _, changed in log_records(text):
        changes = [(meta[-1], path) for meta, path in changed]
        for folder in list(going):
            mine = [(s[:1], p[len(folder) :]) for s, p in changes if p.startswith(folder)]
            if any(rest == "charter.yaml" for _, rest in mine):
                going.discard(folder)  # made or changed: what it had before is another's
            elif any(s == "D" and reader_for(rest) for s, rest in mine):
                found[folder].append(f"{commit}^1")
        if not going:
            break
    return found


def _versions_before(
    base: Side, head: Side, removals: dict[str, Removal], takings: Mapping[str, list[Taking]]
) -> dict[tuple[str, str], Removed | str]:
    """The charters as BASE's history had them, loaded (`load_removed`): each removed one
    HEAD makes again as its removal left it (or as it was before the commits shortly
    before that took result files out; where none loads, the newest that does, which
    replaces its removal, `_loadable`), and each one before a commit that took out rows
    HEAD adds (`takings`). By (revision, folder)."""
    wanted: dict[str, set[str]] = {}
    for cid, removal in removals.items():
        if cid in head.checks:
            wanted.setdefault(removal.parent, set()).add(removal.name)
            for revision in removal.earlier:
                wanted.setdefault(revision, set()).add(removal.name)
    for found in takings.values():
        for taking in found:
            wanted.setdefault(taking.revision, set()).add(taking.name)
    versions = load_removed(base, wanted)
    _loadable(base, head, removals, versions)
    return versions


def _loadable(
    base: Side,
    head: Side,
    removals: dict[str, Removal],
    versions: dict[tuple[str, str], Removed | str],
) -> None:
    """Each removal of a charter made again in HEAD none of whose versions loads (the
    version removed, those with rows taken out shortly before), replaced by one compared
    with the newest version before it that does (`loadable_before`), with that version."""
    for cid, removal in list(removals.items()):
        revisions = [removal.parent, *removal.earlier]
        if cid not in head.checks or any(
            isinstance(versions.get((r, removal.name)), Removed) for r in revisions
        ):
            continue
        if (found := loadable_before(base, removal)) is not None:
            removals[cid], versions[(found[0].parent, removal.name)] = found


def loadable_before(base: Side, removal: Removal) -> tuple[Removal, Removed] | None:
    """Where neither the version a removal removed nor those shortly before it with rows
    taken out load (a row broken, then the charter removed: its results and verdict would
    go uncompared), the newest version before the removal that does, among the last
    `DELETIONS_BEFORE` commits on the first-parent line that changed its folder: the
    removal to compare with it (`loaded_at` set, `parent` its commit, no `earlier`) and
    the version loaded. None when none of them loads."""
    found = newest_loading(base, removal.parent, removal.name)
    if found is None:
        return None
    sha, at, loaded = found
    return removal._replace(parent=sha, earlier=(), loaded_at=at), loaded


def newest_loading(base: Side, start: str, name: str) -> tuple[str, str, Removed] | None:
    """The newest version of charter folder `name` that loads, among those the last
    `DELETIONS_BEFORE` commits on the first-parent line from revision `start` that
    changed the folder left: (commit, "its short hash (day)", the version loaded)."""
    if base.repository is None:
        return None
    top, prefix = base.repository
    args = ["log", "--first-parent", "--format=%H%x01%aI", f"-n{DELETIONS_BEFORE}"]
    shown = _git([*args, start, "--", f"{prefix}charters/{name}/"], top)
    text = shown.stdout.decode("utf-8", "surrogateescape") if shown.returncode == 0 else ""
    for line in text.splitlines():
        sha, _, stamp = line.partition("\x01")
        loaded = load_removed(base, {sha: {name}}).get((sha, name))
        if isinstance(loaded, Removed):
            day = (utc_time(stamp) or datetime.fromtimestamp(0, tz=UTC)).date().isoformat()
            return sha, f"{sha[:10]} ({day})", loaded
    return None


def _entries_at(top: Path, revision: str, path: str) -> dict[str, dict[str, Any]]:
    """metrics.yaml's entries at `revision` by id, the first of an id as the loader reads
    it; none where it is not there or does not parse."""
    entries = _written_at(top, revision, path)
    found: dict[str, dict[str, Any]] = {}
    for e in entries if isinstance(entries, list) else []:
        if isinstance(e, dict):
            found.setdefault(str(e.get("id")), e)
    return found


def made_again_goalposts(
    cid: str, removal: Removal, head: Side, had_results: bool = False
) -> Iterator[Change]:
    """A charter removed in BASE's history and made again in HEAD, compared with the
    version removed, as written: each difference of a business metric's goalposts is a
    `goalpost-moved` for a metric agreed then (re-agreed by the rule of an edit,
    `agreement_renewal`), else a `metric-changed` (removing a charter in one change and
    adding it back with a lower target in the next moved the target unseen); an agreed
    metric gone is an `agreement-changed`; the plan and guardrails, `_made_again_plan`."""
    now = _as_written(cid, head)
    if now is None:
        return
    before, after = _raw_business(removal.data), _raw_business(now)
    why = (
        f"the charter was removed in {removal.commit} ({removal.day}) and is added again:"
        " compared with the version removed"
    )
    yield from _raw_agreements_removed(cid, before, after, f", and its agreement with it; {why}")
    for mid, metric in after.items():
        if mid not in before:
            continue
        ref = before[mid].get("ref")
        entry = removal.catalogue.get(str(ref), {}) if ref is not None else {}
        # A `ref` as the catalogue then gave it (a metric written in the charter now is
        # compared with what it was).
        given = {k: v for k, v in entry.items() if k in CATALOGUED_FIELDS}
        was, is_now = _raw_goalposts({**given, **before[mid]}), _raw_goalposts(metric)
        if ref is not None and metric.get("ref") is not None:
            # Both `ref` the catalogue: the version removed, as written, holds none of what
            # it gives, HEAD's has it filled in (a change of the catalogue is its own).
            for name in CATALOGUED_FIELDS:
                was.pop(name, None)
                is_now.pop(name, None)
        renewed = agreement_renewal(
            written_agreement(before[mid]), written_agreement(metric), head.day
        )
        for name in [*is_now, *(x for x in was if x not in is_now)]:
            if was.get(name) == is_now.get(name):
                continue
            text = f"`{mid}` {name}: {shown_change(was.get(name), is_now.get(name))}; {why}"
            kind: ChangeKind = "goalpost-moved" if renewed is not None else "metric-changed"
            extra: dict[str, Any] = {}
            if renewed is not None:
                text += renewed.note
                extra["reagreed"] = renewed.renewed
            yield Change(kind, cid, mid, was.get(name), is_now.get(name), text, name, extra=extra)
    yield from _made_again_plan(cid, removal.data, now, head, why, had_results)


def made_again(
    cid: str,
    removal: Removal,
    removed: Removed | str | None,
    head: Side,
    earlier: Sequence[Removed | str | None] = (),
) -> Iterator[Change]:
    """A charter removed in BASE's history and made again in HEAD, against the version
    removed (`removed`: loaded where the removal left it, `load_removed`, or why it is
    not; `earlier`: loaded where the result files taken out shortly before the removal
    still were, `_before_deletions`, newest first): a metric renamed between them, its
    rows with it, is one `metric-changed` and read through (`metric_renames`); its
    status, as an edit's; the goalposts, plan and guardrails as written
    (`made_again_goalposts`); a catalogue entry it `ref`s changed meanwhile; its rows
    (`_made_again_rows`); a verdict the version removed does not give HEAD's rows, a
    `verdict-changed`, flagged when HEAD's says the business moved more (an edit since
    the removal brought it); its findings, an alert an edit made go flagged. Removing a
    charter and adding it back hid them all. All but the goalposts, plan and guardrails
    need a version removed that loads (where the one at the removal does not, the
    newest earlier one that does)."""
    new = head.checks.get(cid)
    before = [v for v in earlier if isinstance(v, Removed)]
    at = removed if isinstance(removed, Removed) else None
    judged = at or next(iter(before), None)
    if new is None or judged is None:
        yield from made_again_goalposts(cid, removal, head)
        return
    now_disabled = frozenset(head.project.site.lint.disable)
    site = head.project.site_doc
    pair = Pair(cid, judged.check, new, None, judged.disabled, now_disabled, site)
    why = (
        f"; the charter was removed in {removal.commit} ({removal.day}) and is added again:"
        " compared with the version removed"
    )
    if removal.loaded_at is not None:
        why = (
            f"; the charter was removed in {removal.commit} ({removal.day}) and is added"
            f" again: compared with its version of {removal.loaded_at}, the newest before the"
            " removal that loads"
        )
    then = [v.check for v in before]
    # A metric renamed with its rows: known by the rows, those of the version removed or,
    # taken out shortly before it, of an earlier one.
    found = (metric_renames(c, new) for c in [judged.check, *then])
    if ids := next((x for x in found if x), {}):
        for change in _metric_renamed(pair, ids):
            yield replace(change, message=change.message + why)
        pair = replace(pair, base=renamed_base(judged.check, ids, set(judged.disabled)))
        removal = removal._replace(data=renamed_raw(removal.data, ids))
        then = [renamed_base(c, ids, set(judged.disabled)) for c in then]
    for change in status_changes(pair):
        yield replace(change, message=change.message + why)
    # The plan is judged after results when the charter had any shortly before it went.
    had_results = any(len(c.view.loaded.results) > 0 for c in [pair.base, *then])
    yield from made_again_goalposts(cid, removal, head, had_results)
    for change in catalogue_changes(pair):  # an entry `ref`d then and now, changed meanwhile
        yield replace(change, message=change.message + why)
    rows_at = pair.base if at is not None else None
    for change in _made_again_rows(cid, new, rows_at, then):
        yield replace(change, message=change.message + why)
    yield from _made_again_verdict(pair, why)
    for change in finding_changes(pair):  # an alert an edit since the removal silenced
        yield replace(change, message=change.message + why) if is_flagged(change) else change


def _made_again_rows(
    cid: str, head: CharterCheck, at: CharterCheck | None, earlier: Sequence[CharterCheck]
) -> Iterator[Change]:
    """The rows of a charter made again against those of the version removed (`at`, as
    the removal left it, when it loads): rows with other numbers are revised, rows it
    had and HEAD has not removed (a metric gone, its rows with it); and against the rows
    taken out with their files shortly before the removal (`earlier`, newest first: each
    row as it was last): those back with other numbers are revised too (those not back
    are not told again: removed before the removal, and told then)."""
    for after in head.view.metrics:
        before = at.view.metric(after.id) if at is not None else None
        old = list(before.rows) if before is not None else []
        pairs = rewritten_rows(old, after.rows)
        known = {_row_key(r) for r in old}
        gone: list[Result] = []
        last: MetricView | None = None
        for version in earlier:
            then = version.view.metric(after.id)
            for row in then.rows if then is not None else ():
                if _row_key(row) not in known:
                    known.add(_row_key(row))
                    gone.append(row)
                    last = then  # the oldest with rows taken out: the status before them
        pairs += [(o, n) for o, n in rewritten_rows(gone, after.rows) if n is not None]
        if pairs:
            revised = sum(1 for _, new in pairs if new is not None)
            rows = {"added": 0, "revised": revised, "removed": len(pairs) - revised}
            yield _rewritten(cid, before if before and before.rows else last, after, pairs, rows)
    if at is None:
        return
    for change in result_changes(Pair(cid, at, head)):  # metrics gone, their rows with them
        if change.kind == "results-rewritten" and change.head_metric is None:
            yield change


def _made_again_verdict(pair: Pair, why: str) -> Iterator[Change]:
    """The verdict of a charter made again against the version removed's: flagged when the
    version removed gives HEAD's rows a lesser one (`verdict_gained`), as for an edit."""
    was, now = pair.base.verdict, pair.head.verdict
    unedited = pair.unedited.verdict
    if not verdict_gained(unedited, now):
        for change in _coded(pair.cid, "verdict-changed", "verdict", was, now):
            yield replace(change, message=change.message + why)
        return
    because = (
        "an edit since the removal: the version removed gives the same results"
        f" {label(unedited, 'verdict')}"
    )
    text = f"verdict: {label(was, 'verdict')} → {label(now, 'verdict')} ({because})"
    if was == now:
        text = f"verdict: {label(now, 'verdict')} kept by {because}"
    yield Change("verdict-changed", pair.cid, None, was, now, text + why, extra={"flagged": True})


#: What a guardrail is judged by: a move in its bad direction beyond its tolerance, from
#: its baseline (or its first result).
GUARDRAIL_GOALPOSTS = ("tolerance.value", "baseline.value", "direction", "unit")


def at_key(item: dict[str, Any], key: str) -> Any:
    """The value at dotted `key` (`tolerance.value`) of a raw metric, or None."""
    value: Any = item
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def written_plan(data: dict[str, Any]) -> dict[str, Any]:
    """The measurement plan's fields (`PLAN_FIELDS`) of raw charter data by dotted path."""
    plan = data.get("measurement")
    if not isinstance(plan, dict):
        return {}
    fields = {k: plan[k] for k in PLAN_FIELDS if plan.get(k) is not None}
    return {k: plain(v) for k, v in _flatten(fields, "measurement")}


def _made_again_plan(
    cid: str,
    removed: dict[str, Any],
    now: dict[str, Any],
    head: Side,
    why: str,
    had_results: bool = False,
) -> Iterator[Change]:
    """The measurement plan and the guardrails of a charter made again against the version
    removed, as written: a `plan-changed` (flagged for a field the results are judged by,
    when HEAD's charter has results or did not load, as `plan_changes` flags one, or the
    version removed had results: `had_results`) and a `metric-changed` for a guardrail's
    tolerance, baseline, direction or unit."""
    was_plan, now_plan = written_plan(removed), written_plan(now)
    check = head.checks.get(cid)
    results = had_results or check is None or len(check.view.loaded.results) > 0
    for name in [*now_plan, *(x for x in was_plan if x not in now_plan)]:
        before, after = was_plan.get(name), now_plan.get(name)
        if before == after:
            continue
        extra: dict[str, Any] = {}
        text = f"{name}: {shown_change(before, after)}; {why}"
        if results and name.split(".")[1] in JUDGING_PLAN_FIELDS:
            extra["flagged"] = True
        yield Change("plan-changed", cid, None, before, after, text, name, extra=extra)
    guards = [
        {str(g.get("id")): g for _, g in m.items_at(d, "measurement", "guardrails")}
        for d in (removed, now)
    ]
    for gid, guard in guards[1].items():
        old = guards[0].get(gid)
        if old is None:
            continue
        for name in GUARDRAIL_GOALPOSTS:
            before, after = plain(at_key(old, name)), plain(at_key(guard, name))
            if before != after:
                text = f"`{gid}` {name}: {shown_change(before, after)}; {why}"
                yield Change("metric-changed", cid, gid, before, after, text, name)


def written_agreement(metric: dict[str, Any]) -> m.Agreement | None:
    """A business metric's agreement as written (raw data); None when it has none the
    format takes, or one that names nobody and no date."""
    raw = metric.get("agreed")
    if not isinstance(raw, dict):
        return None
    try:
        agreed = m.Agreement.model_validate(raw)
    except ValueError:
        return None
    return agreed if agreed.by or agreed.on is not None else None


def diff_sides(base: Side, head: Side) -> DiffReport:
    """Compare two loaded sides charter by charter."""
    report = DiffReport(base, head)
    removed = [cid for cid in base.present if cid not in head.present]
    added = [cid for cid in head.present if cid not in base.present]
    renames = _renames(
        [base.checks[c] for c in removed if c in base.checks],
        [head.checks[c] for c in added if c in head.checks],
    )
    renamed_to = dict(renames)
    renamed_from = {new: old for old, new in renames}
    edited = edit_dates(base, head)
    names = {
        cid: check.view.charter.aliases if (check := head.checks.get(cid)) else []
        for cid in added
        if cid not in renamed_from
    }
    removals = removed_before(base, names)
    pairs = {
        cid: _pair(cid, base, head, edited)
        for cid in base.present
        if cid in base.checks and cid in head.checks
    }
    renamed = {cid: metric_renames(pair.base, pair.head) for cid, pair in pairs.items()}
    moved = {old: _pair(new, base, head, edited, old) for old, new in renames}
    looked = {c: _added_rows(p, renamed[c]) for c, p in pairs.items()}
    looked |= {old: _added_rows(p, {}) for old, p in moved.items()}
    takings = taken_out_before(
        base,
        {
            c: Wanted(rows, base.checks[c].view.charter.aliases)
            for c, rows in looked.items()
            if rows
        },
    )
    versions = _versions_before(base, head, removals, takings)
    for cid in sorted(set(base.present) | set(head.present)):
        if cid in removed:
            old = base.checks.get(cid)
            report.changes.append(_removed(cid, old, renamed_to.get(cid)))
            if old is not None and cid not in renamed_to:
                report.changes.extend(_agreements_removed(cid, old))
            elif old is None:  # did not load in BASE: its agreements as written
                report.changes.extend(_unloaded_agreements_removed(cid, base))
        elif cid in added:
            old_id = renamed_from.get(cid)
            again = removals.get(cid)
            removed_version = versions.get((again.parent, again.name)) if again else None
            earlier = [versions.get((r, again.name)) for r in again.earlier] if again else []
            compared = any(isinstance(v, Removed) for v in (removed_version, *earlier))
            found = takings.get(old_id, []) if old_id else []
            taken = _taken(report, found, versions, old_id, {}, base) if old_id else []
            report.changes.extend(_added(cid, base, head, old_id, edited, again, compared, taken))
            if again is not None:
                report.changes.extend(made_again(cid, again, removed_version, head, earlier))
                if isinstance(removed_version, str) and not compared:
                    report.not_compared.append(_removed_not_compared(cid, again, removed_version))
            if old_id is not None and cid in head.checks:
                _judge_originally(report, Pair(cid, base.checks[old_id], head.checks[cid]))
        elif cid in pairs:
            pair, ids = pairs[cid], renamed[cid]
            if ids:  # BASE read through them: one change each, not a removal and an addition
                report.changes.extend(_metric_renamed(pair, ids))
                pair = replace(pair, base=renamed_base(pair.base, ids, set(pair.base_disabled)))
            if cid in takings:
                pair = replace(pair, taken=_taken(report, takings[cid], versions, cid, ids, base))
            report.changes.extend(compare_charter(pair))
            _judge_originally(report, pair)
        else:
            loads = _loading_before(cid, base, head)
            report.not_compared.append(_not_compared(cid, base, head, loads))
            report.changes.extend(unloaded_goalposts(cid, base, head))
            report.changes.extend(_since_it_loaded(cid, head, loads))
    return report


def _loading_before(cid: str, base: Side, head: Side) -> tuple[str, Removed] | None:
    """For a charter that loads in HEAD but not in BASE (a row broken on the base branch,
    mended in the pull request), its newest version before BASE that loads
    (`newest_loading`): "its short hash (day)" and the version; else None."""
    if cid not in head.checks or cid in base.checks or base.revision is None:
        return None
    found = newest_loading(base, base.revision, cid)
    return (found[1], found[2]) if found is not None else None


def _since_it_loaded(cid: str, head: Side, loads: tuple[str, Removed] | None) -> Iterator[Change]:
    """The results, verdict and findings of a charter that does not load in BASE, against
    its newest version before BASE that does (`_loading_before`); its goalposts are
    compared as written (`unloaded_goalposts`). A pull request that mended a broken row
    and revised others passed every gate: the charter was not compared."""
    if loads is None:
        return
    at, version = loads
    now_disabled = frozenset(head.project.site.lint.disable)
    site = head.project.site_doc
    pair = Pair(cid, version.check, head.checks[cid], None, version.disabled, now_disabled, site)
    why = (
        f"; it does not load in BASE: compared with its version of {at}, the newest before"
        " BASE that loads"
    )
    for comparison in (result_changes, verdict_changes, finding_changes):
        for change in comparison(pair):
            yield replace(change, message=change.message + why)


def _added_rows(pair: Pair, renames: Mapping[str, str]) -> set[ArmKey]:
    """The result rows (by date, metric and arm) HEAD has and BASE has not, BASE's
    metrics read through `renames`, under BASE's ids: rows a commit before BASE may have
    taken out."""
    had = as_table(pair.base.view.loaded.results).keys()
    if renames:
        had = {(renames.get(k[0], k[0]), k[1], k[2]) for k in had}
    back = {new: old for old, new in renames.items()}
    return {
        (date.fromordinal(day).isoformat(), back.get(mid, mid), arm_of(variant))
        for mid, day, variant in as_table(pair.head.view.loaded.results).keys() - had
    }


def _taken(
    report: DiffReport,
    takings: Sequence[Taking],
    versions: Mapping[tuple[str, str], Removed | str],
    cid: str,
    renames: Mapping[str, str],
    base: Side | None = None,
) -> list[tuple[Taking, CharterCheck]]:
    """The versions of charter `cid` before the commits that took rows out of its result
    files (`taken_out_before`), read through BASE's metric `renames`. Where one does not
    load, the newest before it that does (`newest_loading`, in `base`'s history) is
    compared instead, and the older takings are not (a row may be the one taken here);
    either is said under the charter (`not_compared`)."""
    found = []
    for taking in takings:
        version = versions.get((taking.revision, taking.name))
        if isinstance(version, Removed):
            found.append((taking, _renamed_check(version, renames)))
            continue
        why = version or "it cannot be read"
        older = newest_loading(base, taking.revision, taking.name) if base is not None else None
        note = {"charter": cid, "side": "base"}
        if older is None:
            text = f"Rows taken out in {taking.commit} not compared with HEAD's: {why}"
        else:
            found.append((taking, _renamed_check(older[2], renames)))
            note["compared_with"] = older[1]
            text = (
                f"Rows taken out in {taking.commit} compared with its version of {older[1]},"
                f" the newest before it that loads: {why}"
            )
        report.not_compared.append({**note, "message": text})
        break
    return found


def _renamed_check(version: Removed, renames: Mapping[str, str]) -> CharterCheck:
    """A version of BASE's history read through BASE's metric `renames`."""
    if not renames:
        return version.check
    return renamed_base(version.check, renames, set(version.disabled))


def _metric_renamed(pair: Pair, renames: Mapping[str, str]) -> Iterator[Change]:
    """A metric whose id changed (`metric_renames`), not flagged: what else changed of it
    is reported against BASE's values, as for any metric."""
    kinds = {e.metric.id: e.kind for e in pair.base.view.charter.metrics()}
    rows = Counter(r.row.metric for r in pair.base.view.loaded.results)
    for old, new in renames.items():
        moved = f", its {plural(rows[old], 'result row')} with it" if rows[old] else ""
        text = f"{KIND_LABELS[kinds[old]]} `{old}` renamed `{new}`{moved}"
        yield Change("metric-changed", pair.cid, new, old, new, text, field="id")


def _judge_originally(report: DiffReport, pair: Pair) -> None:
    """Keep HEAD judged by the original goalposts, and note it on the moved goalposts."""
    view = original_goalposts(pair)
    if view is None:
        return
    report.original[pair.cid] = view
    for change in report.changes:
        if change.kind == "goalpost-moved" and change.charter == pair.cid and change.metric:
            metric = view.metric(change.metric)
            if metric is not None:
                change.extra["original_goalposts"] = {
                    "baseline": metric.baseline,
                    "target": metric.target,
                    "progress": metric.progress,
                    "met": metric.met,
                    "status": metric.status,
                    "verdict": view.verdict,
                }


def compare_charter(pair: Pair) -> list[Change]:
    """Every difference between two versions of one charter, in the reported order."""
    return [change for comparison in COMPARISONS for change in comparison(pair)]


def _renames(removed: list[CharterCheck], added: list[CharterCheck]) -> list[tuple[str, str]]:
    """Pairs (old id, new id) of a removed and an added charter that are one project.

    A charter that lists the old id in `aliases` first, then the same title, then
    the same set of metric ids, then the same owner or team and the same results
    (`_rows_kept`: a project renamed, retitled and given another metric keeps its
    results, and its goalposts are then still compared); each charter pairs once.
    """
    pairs: list[tuple[str, str]] = []
    used: set[str] = set()
    for new in added:
        for old in removed:
            if old.id in new.view.charter.aliases and not any(old.id == p[0] for p in pairs):
                pairs.append((old.id, new.id))
                used.add(new.id)
                break
    keys: tuple[Callable[[CharterCheck], object], ...] = (
        lambda c: c.view.charter.title.strip().casefold(),
        lambda c: tuple(sorted(c.view.loaded.metric_ids())),
    )
    same: tuple[Callable[[CharterCheck, CharterCheck], bool], ...] = (
        *((lambda old, new, key=key: bool(key(old)) and key(old) == key(new)) for key in keys),
        _rows_kept,
    )
    for alike in same:
        for old in removed:
            if any(old.id == p[0] for p in pairs):
                continue
            found = [new for new in added if new.id not in used and alike(old, new)]
            if found and alike is _rows_kept:  # one match on each side, or none
                paired = {p[0] for p in pairs}
                rivals = [
                    o
                    for o in removed
                    if o is not old and o.id not in paired and _rows_kept(o, found[0])
                ]
                if len(found) > 1 or rivals:
                    continue
            if found:
                pairs.append((old.id, found[0].id))
                used.add(found[0].id)
    return pairs


def _rows_kept(old: CharterCheck, new: CharterCheck) -> bool:
    """Whether `new` may be `old` renamed, by its results: the same owner or team, and at
    least half of `old`'s result rows (by date, metric and variant, whatever their
    values: rows restated in the same change are then reported as rewritten) among
    `new`'s. Production rows of a metric the company shares are alike across projects,
    so a match that is not the only one on both sides pairs nothing (`_renames`)."""
    a, b = old.view.charter, new.view.charter
    owned = a.owner.name == b.owner.name or (a.team is not None and a.team == b.team)
    was = _row_keys(old)
    return owned and bool(was) and 2 * len(was & _row_keys(new)) >= len(was)


def _row_keys(check: CharterCheck) -> set[tuple[object, ...]]:
    return {(r.row.date, r.row.metric, r.row.variant) for r in check.view.loaded.results}


def _summary(check: CharterCheck | None, verdict: bool) -> dict[str, Any] | None:
    if check is None:
        return None
    charter = check.view.charter
    out: dict[str, Any] = {"title": charter.title, "status": charter.status}
    if verdict:
        out["verdict"] = check.verdict
    return out


def _added(
    cid: str,
    base: Side,
    head: Side,
    old_id: str | None,
    edited: Mapping[str, date],
    again: Removal | None = None,
    compared: bool = False,
    taken: Sequence[tuple[Taking, CharterCheck]] = (),
) -> list[Change]:
    """A charter folder in HEAD only: new, the new name of a BASE charter (`taken`: the
    versions before commits shortly before BASE that took rows out of its result files,
    `Pair.taken`), or one that BASE's history removed (`again`: made again; `compared`:
    with the version removed, loaded, whose findings `made_again` compares HEAD's with)."""
    new = head.checks.get(cid)
    if old_id is not None:
        message = f"charter `{cid}` renamed from `{old_id}`"
        was = base.checks.get(old_id)
        kept = [old_id, *(was.view.charter.aliases if was is not None else [])]
        gone = [a for a in kept if new is not None and a not in new.view.charter.aliases]
        if gone:
            # Its old pages go: links and bookmarks to them find nothing (format.md).
            listed = ", ".join(new.view.charter.aliases + gone) if new is not None else ""
            addresses = "old address is" if len(gone) == 1 else "old addresses are"
            message += f"; its {addresses} gone unless it lists `aliases: [{listed}]`"
    elif new is None:
        message = f"charter `{cid}` added, but it does not load (see the HEAD problems)"
    else:
        status = label(new.view.charter.status, "status")
        verdict = label(new.verdict, "verdict")
        message = f"charter `{cid}` added: {new.view.charter.title} ({status}; verdict {verdict})"
    extra: dict[str, Any] = {"renamed_from": old_id} if old_id is not None else {}
    if again is not None:
        extra["removed_in"] = again.commit
        message += (
            f"; added again, after the removal of `{again.name}` (listed in its `aliases`)"
            if again.name != cid
            else "; added again, after its removal"
        )
        message += f" in {again.commit} ({again.day})"
    out = [Change("charter-added", cid, None, None, _summary(new, True), message, extra=extra)]
    if new is not None and old_id is not None:
        out += compare_charter(replace(_pair(cid, base, head, edited, old_id), taken=taken))
    elif new is not None and not compared:
        out += findings_between(cid, (), new.findings)
    return out


def _removed(cid: str, old: CharterCheck | None, new_id: str | None) -> Change:
    if new_id is not None:
        message = f"charter `{cid}` renamed to `{new_id}`"
    elif old is None:
        message = f"charter `{cid}` removed (it did not load in BASE either)"
    else:
        message = f"charter `{cid}` removed: {old.view.charter.title}"
    extra: dict[str, Any] = {"renamed_to": new_id} if new_id is not None else {}
    if new_id is None and old is not None:
        # Its verdict and the evidence behind it leave the portfolio with it: a project
        # that did not work, deleted rather than retired, takes its No impact along.
        agreed = [b for b in old.view.charter.business_metrics if b.agreed is not None]
        rows = sum(len(x.rows) for x in old.view.metrics)
        if agreed or rows:
            kept = ", ".join(
                part
                for part in (
                    plural(len(agreed), "agreed business metric") if agreed else "",
                    plural(rows, "result row") if rows else "",
                )
                if part
            )
            verdict = label(old.verdict, "verdict")
            message += (
                f" (verdict {verdict}; {kept} removed with it, where `status: retired` keeps them)"
            )
            extra["flagged"] = True
    return Change("charter-removed", cid, None, _summary(old, False), None, message, extra=extra)


def _removed_not_compared(cid: str, removal: Removal, why: str) -> dict[str, str]:
    """A charter made again whose version removed could not be loaded to compare its
    results and verdict with."""
    return {
        "charter": cid,
        "side": "base",
        "message": (
            f"Results and verdict not compared with the version removed in {removal.commit}: {why}"
        ),
    }


def _not_compared(
    cid: str, base: Side, head: Side, loads: tuple[str, Removed] | None = None
) -> dict[str, str]:
    """A charter on both sides that did not load on one of them (or either); where BASE's
    does not, with the version its results are compared with instead (`loads`)."""
    failed = [
        (role, side) for role, side in (("base", base), ("head", head)) if cid not in side.checks
    ]
    where = " and ".join(f"{role.upper()} ({side.label})" for role, side in failed)
    message = f"Not compared: it did not load in {where}"
    found = {
        "charter": cid,
        "side": failed[0][0] if len(failed) == 1 else "both",
        "message": message,
    }
    if loads is not None:
        found["message"] += (
            f"; its results, verdict and findings are compared with its version of {loads[0]},"
            " the newest before BASE that loads"
        )
        found["compared_with"] = loads[0]
    return found


def unloaded_goalposts(cid: str, base: Side, head: Side) -> Iterator[Change]:
    """The goalposts of a charter that did not load on a side, compared as written: a
    pull request that mends a broken charter and moves its target in one change was "not
    compared" and passed `--fail-on goalpost-moved`, and so did one that moves a target
    and breaks the charter (an unknown field, a future `agreed.on`). Each difference is a
    `goalpost-moved` that nobody is taken to have re-agreed (an agreement on a side that
    does not load cannot be read as one); an agreed metric gone (removed, or its id
    changed) is an `agreement-changed`, as in a charter that loads."""
    sides = [_as_written(cid, side) for side in (base, head)]
    if sides[0] is None or sides[1] is None:  # a side's charter.yaml does not parse
        return
    before, after = _raw_business(sides[0]), _raw_business(sides[1])
    failed = " and ".join(
        role for role, side in (("BASE", base), ("HEAD", head)) if cid not in side.checks
    )
    why = f"{failed} did not load, so the charter.yaml of each side was compared as written"
    yield from _raw_agreements_removed(cid, before, after, f", and its agreement with it; {why}")
    for mid, metric in after.items():
        if mid not in before:
            continue
        was, now = _raw_goalposts(before[mid]), _raw_goalposts(metric)
        for name in [*now, *(x for x in was if x not in now)]:
            if was.get(name) != now.get(name):
                text = f"`{mid}` {name}: {shown_change(was.get(name), now.get(name))}; {why}"
                extra = {"reagreed": False}
                yield Change(
                    "goalpost-moved",
                    cid,
                    mid,
                    was.get(name),
                    now.get(name),
                    text,
                    name,
                    extra=extra,
                )


def _raw_agreements_removed(
    cid: str, before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]], words: str
) -> Iterator[Change]:
    """An `agreement-changed` for each agreed business metric of `before` (as written)
    that `after` lacks, removed or its id changed: "business metric `x` removed{words}"."""
    for mid, metric in before.items():
        if mid not in after and metric.get("agreed") is not None:
            about = {"kind": "business", "name": metric.get("name")}
            text = f"business metric `{mid}` removed{words}"
            yield Change("agreement-changed", cid, mid, about, None, text)


def _as_written(cid: str, side: Side) -> dict[str, Any] | None:
    """A charter's charter.yaml on `side` as written: its document when it loaded, else
    what parsed of it (None when it did not parse)."""
    check = side.checks.get(cid)
    data = check.view.loaded.doc.data if check is not None else side.raw.get(cid)
    return data if isinstance(data, dict) else None


def _raw_business(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    items = data.get("business_metrics")
    found: dict[str, dict[str, Any]] = {}
    for item in items if isinstance(items, list) else []:
        mid = item.get("id") or item.get("ref") if isinstance(item, dict) else None
        if isinstance(mid, str):
            found[mid] = item
    return found


def _raw_goalposts(metric: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A business metric's goalposts as written, by dotted field (`target.value`)."""
    found: dict[str, Any] = {}
    for key, value in metric.items():
        name = f"{prefix}{key}"
        if key == "agreed" and not prefix:
            continue
        if isinstance(value, dict):
            found.update(_raw_goalposts(value, f"{name}."))
        elif is_goalpost(name):
            found[name] = value.isoformat() if isinstance(value, date) else value
    return found


# --- status and verdict -------------------------------------------------------------------


def status_changes(pair: Pair) -> Iterator[Change]:
    """A change of status; flagged when it leaves the rollout (`rollout_undone`)."""
    was, now = pair.base.view.charter.status, pair.head.view.charter.status
    why = "production results no longer judge the metrics" if rollout_undone(was, now) else ""
    yield from _coded(pair.cid, "status-changed", "status", was, now, why, field="status")


def verdict_changes(pair: Pair) -> Iterator[Change]:
    """A change of verdict; flagged when HEAD's verdict says the business moved more
    (`verdict_gained`) than BASE's charter gives on HEAD's results (`Pair.unedited`):
    an edit of the charter (a cadence, a status, a plan), not the rows, brought it.
    A verdict the new rows would have lost and an edit kept is such a change too."""
    was, now = pair.base.verdict, pair.head.verdict
    unedited = pair.unedited.verdict if pair.edited else now
    if not verdict_gained(unedited, now):
        yield from _coded(pair.cid, "verdict-changed", "verdict", was, now)
        return
    why = f"an edit of the charter: before it, the same results give {label(unedited, 'verdict')}"
    if was != now:
        yield from _coded(pair.cid, "verdict-changed", "verdict", was, now, why)
        return
    text = f"verdict: {label(now, 'verdict')} kept by {why}"
    yield Change("verdict-changed", pair.cid, None, was, now, text, extra={"flagged": True})


def _coded(
    cid: str,
    kind: ChangeKind,
    vocabulary: str,
    was: str,
    now: str,
    flag: str = "",
    field: str | None = None,
) -> Iterator[Change]:
    """A change of a coded value (status, verdict): codes in the JSON, labels in the text;
    flagged for a reviewer, with the reason after the labels, when `flag` says why."""
    if was != now:
        text = f"{vocabulary}: {label(was, vocabulary)} → {label(now, vocabulary)}"
        extra: dict[str, Any] = {}
        if flag:
            text += f" ({flag})"
            extra["flagged"] = True
        yield Change(kind, cid, None, was, now, text, field=field, extra=extra)


# --- the measurement plan -----------------------------------------------------------------


def plan_changes(pair: Pair) -> Iterator[Change]:
    """A changed field of the measurement plan (`PLAN_FIELDS`, dotted below them, as
    `measurement.minimum_detectable_effect.absolute`); flagged when there are results by
    then (BASE had some, or the change brings the first, as the history judges it) and
    the field is one they are judged by (`JUDGING_PLAN_FIELDS`)."""
    was, now = plan_fields(pair.base.view.charter), plan_fields(pair.head.view.charter)
    results = len(pair.base.view.loaded.results) > 0 or len(pair.head.view.loaded.results) > 0
    for name in [*now, *(x for x in was if x not in now)]:
        if was.get(name) == now.get(name):
            continue
        text = f"{name}: {shown_change(was.get(name), now.get(name))}"
        extra: dict[str, Any] = {}
        if results and name.split(".")[1] in JUDGING_PLAN_FIELDS:
            text += " (changed with results in hand: the results are judged by it)"
            extra["flagged"] = True
        yield Change(
            "plan-changed", pair.cid, None, was.get(name), now.get(name), text, name, extra=extra
        )


def plan_fields(charter: m.Charter) -> dict[str, Any]:
    """The plan's fields by dotted path (`measurement.cadence`), as the JSON writes them."""
    plan = charter.measurement.model_dump(mode="json", include=set(PLAN_FIELDS))
    return dict(_flatten(plan, "measurement"))


# --- metrics: added, removed, fields, goalposts -------------------------------------------


def metric_changes(pair: Pair) -> Iterator[Change]:
    """Metrics added, removed, moved between kinds, or with a changed field or agreement."""
    before = {e.metric.id: e for e in pair.base.view.charter.metrics()}
    after = {e.metric.id: e for e in pair.head.view.charter.metrics()}
    for mid in [*after, *(x for x in before if x not in after)]:
        old, new = before.get(mid), after.get(mid)
        if old is None and new is not None:
            yield _metric_added(pair.cid, new)
        elif new is None and old is not None:
            yield _metric_removed(pair.cid, old)
        elif old is not None and new is not None:
            yield from _metric_fields(pair, old, new)


def _metric_added(cid: str, new: m.MetricEntry) -> Change:
    mid, about = new.metric.id, {"kind": new.kind, "name": new.metric.name}
    text = f"new {KIND_LABELS[new.kind]} `{mid}`: {new.metric.name}"
    return Change("metric-changed", cid, mid, None, about, text)


def _agreements_removed(cid: str, old: CharterCheck) -> Iterator[Change]:
    """A charter removed takes each agreed metric's agreement with it, as removing the
    metric alone does (`_metric_removed`): the gate that fails on one fails on both."""
    for entry in old.view.charter.metrics():
        if _agreement(entry.metric) is not None:
            yield _metric_removed(cid, entry, " with its charter")


def _unloaded_agreements_removed(cid: str, base: Side) -> Iterator[Change]:
    """A charter removed that did not load in BASE takes the agreements written in its
    charter.yaml with it, as one that loaded does (`_agreements_removed`): its removal
    was no `agreement-changed`, so the gate let it through."""
    data = _as_written(cid, base)
    before = _raw_business(data) if data is not None else {}
    why = " with its charter, and its agreement with it (BASE's charter.yaml, read as"
    yield from _raw_agreements_removed(cid, before, {}, f"{why} written: it did not load)")


def _metric_removed(cid: str, old: m.MetricEntry, how: str = "") -> Change:
    """A metric gone from HEAD (`how`: " with its charter"); an agreed business metric
    takes its agreement with it."""
    mid, about = old.metric.id, {"kind": old.kind, "name": old.metric.name}
    agreement = _agreement(old.metric)
    if agreement is None:
        return Change(
            "metric-changed", cid, mid, about, None, f"{KIND_LABELS[old.kind]} `{mid}` removed"
        )
    text = (
        f"{KIND_LABELS[old.kind]} `{mid}` removed{how}, and its agreement with it"
        f" (it was agreed{_by_on(agreement)})"
    )
    return Change("agreement-changed", cid, mid, about, None, text)


def _metric_fields(pair: Pair, old: m.MetricEntry, new: m.MetricEntry) -> Iterator[Change]:
    cid, mid = pair.cid, new.metric.id
    if old.kind != new.kind:
        text = f"`{mid}` moved from {KIND_LABELS[old.kind]}s to {KIND_LABELS[new.kind]}s"
        yield Change("metric-changed", cid, mid, old.kind, new.kind, text, field="kind")
    was, now = _fields(old.metric), _fields(new.metric)
    renewed = renewal(old.metric, new.metric, pair.goalpost_days.get(mid, pair.day))
    skip = CATALOGUED_FIELDS if _same_ref(old.metric, new.metric) else ()
    for name in [*now, *(x for x in was if x not in now)]:
        if name in skip:
            continue  # reported by `catalogue_changes`
        if not name.startswith("agreed.") and was.get(name) != now.get(name):
            yield field_change(cid, name, was.get(name), now.get(name), new.metric, renewed)
    yield from agreement_changes(cid, old.metric, new.metric, _results_by_then(pair, mid, new))


def _same_ref(old: m.AnyMetric, new: m.AnyMetric) -> str | None:
    """The catalogue id both versions of a business metric `ref`, if they ref the same one."""
    was = old.ref if isinstance(old, m.BusinessMetric) else None
    now = new.ref if isinstance(new, m.BusinessMetric) else None
    return now if now is not None and now == was else None


def catalogue_changes(pair: Pair) -> Iterator[Change]:
    """A catalogued metric this charter refs whose definition (in metrics.yaml) changed."""
    before = {e.metric.id: e.metric for e in pair.base.view.charter.metrics()}
    for entry in pair.head.view.charter.metrics():
        old, new = before.get(entry.metric.id), entry.metric
        ref = _same_ref(old, new) if old is not None else None
        if old is None or ref is None:
            continue
        for name in CATALOGUED_FIELDS:
            was, now = getattr(old, name), getattr(new, name)
            if was != now:
                text = (
                    f"`{new.id}` {name} changed in metrics.yaml, and this charter refs it:"
                    f" {shown_change(was, now)}"
                )
                extra = {"catalogue": ref}
                yield Change(
                    "catalogue-changed", pair.cid, new.id, was, now, text, name, extra=extra
                )


def field_change(
    cid: str, name: str, was: Any, now: Any, new: m.AnyMetric, renewed: Renewal | None = None
) -> Change:
    """One changed field of a metric: a plain change, or a moved goalpost."""
    text = f"`{new.id}` {name}: {shown_change(was, now)}"
    if name == "target.value" and isinstance(was, float) and isinstance(now, float):
        text += f" ({_ambition(was, now, new.direction)})"
    if renewed is None or not is_goalpost(name):
        return Change("metric-changed", cid, new.id, was, now, text, field=name)
    extra = {"reagreed": renewed.renewed}
    return Change("goalpost-moved", cid, new.id, was, now, text + renewed.note, name, extra=extra)


def is_goalpost(name: str) -> bool:
    """Whether field `name` (dotted) of a business metric is one of its goalposts."""
    return name in GOALPOST_FIELDS or name.startswith(GOALPOST_GROUPS)


class Renewal(NamedTuple):
    """Whether the agreement on a business metric was renewed for a change, and how to say it."""

    renewed: bool
    note: str  # appended to the message of a moved goalpost


def renewal(old: m.AnyMetric, new: m.AnyMetric, day: date | None) -> Renewal | None:
    """How the agreement on `old` fared in the change to `new`; None if `old` was not agreed.

    The agreement is renewed when HEAD's `agreed.on` is later than BASE's and not
    before `day`, the date of the change (when known): a date the change was
    already written by cannot be an agreement to it.
    """
    return agreement_renewal(_agreement(old), _agreement(new), day)


def agreement_renewal(
    was: m.Agreement | None, now: m.Agreement | None, day: date | None
) -> Renewal | None:
    """`renewal` of two agreements (each None when it names nobody and no date)."""
    if was is None:
        return None
    since = f", after it was agreed{_by_on(was)}"
    if now is None:
        return Renewal(False, since + ", and the agreement was removed")
    if now.on is None or now.on == was.on:
        return Renewal(False, since + ", without a renewed agreement (same `agreed.on`)")
    if was.on is not None and now.on < was.on:
        return Renewal(False, since + f"; `agreed.on` moved back to {now.on.isoformat()}")
    if day is not None and now.on < day:
        return Renewal(
            False,
            since + f"; the new `agreed.on` {now.on.isoformat()} is before the change"
            f" ({day.isoformat()}), so it cannot be an agreement to it",
        )
    return Renewal(True, f"; re-agreed{_by_on(now)}")


def agreement_changes(
    cid: str, old: m.AnyMetric, new: m.AnyMetric, results: Sequence[Result]
) -> Iterator[Change]:
    """Changes to `agreed`: signatories removed, the date moved back or renewed late, removed.

    `results` are the metric's rows dated by the time of the new agreement: a
    renewal once results are in is an `agreement-changed`, as is any weakening.
    """
    was, now = _agreement(old), _agreement(new)
    mid = new.id
    if was == now:
        return
    if was is None or now is None:
        kind: ChangeKind = "agreement-changed" if now is None else "metric-changed"
        text = f"`{mid}` agreement removed (it was agreed{_by_on(was)})" if was else ""
        text = text or f"`{mid}` agreed{_by_on(now)}"
        yield Change(kind, cid, mid, _dump(was), _dump(now), text, field="agreed")
        return
    if was.by != now.by:
        dropped = [p for p in was.by if p not in now.by]
        text = f"`{mid}` agreed.by: {show(was.by)} → {show(now.by)}"
        kind = "agreement-changed" if dropped else "metric-changed"
        text += f" ({', '.join(dropped)} no longer agreed)" if dropped else ""
        yield Change(kind, cid, mid, was.by, now.by, text, field="agreed.by")
    if was.on != now.on:
        yield _agreement_date(cid, mid, was, now, results)


def _agreement_date(
    cid: str, mid: str, was: m.Agreement, now: m.Agreement, results: Sequence[Result]
) -> Change:
    before, after = _iso(was.on), _iso(now.on)
    text = f"`{mid}` agreed.on: {show(before)} → {show(after)}"
    kind: ChangeKind = "agreement-changed"
    if now.on is None:
        text += " (the agreement lost its date)"
    elif was.on is not None and now.on < was.on:
        text += " (moved backwards)"
    elif results:
        first = min(r.row.date for r in results).isoformat()
        text += (
            f" (re-agreed{_by_on(now)} after the metric had results:"
            f" {plural(len(results), 'row')} since {first})"
        )
    else:
        kind = "metric-changed"
        text += f" (re-agreed{_by_on(now)})"
    return Change(kind, cid, mid, before, after, text, field="agreed.on")


def _results_by_then(pair: Pair, mid: str, new: m.MetricEntry) -> list[Result]:
    """The metric's rows in BASE, or in HEAD dated on or before HEAD's agreement."""
    base = pair.base.view.metric(mid)
    if base is not None and base.rows:
        return list(base.rows)
    agreed = _agreed_on(new.metric)
    head = pair.head.view.metric(mid)
    if head is None or agreed is None:
        return []
    return [r for r in head.rows if r.row.date <= agreed]


def _agreement(metric: m.AnyMetric) -> m.Agreement | None:
    """A business metric's agreement, if it names anyone or any date."""
    agreed = metric.agreed if isinstance(metric, m.BusinessMetric) else None
    return agreed if agreed is not None and (agreed.by or agreed.on is not None) else None


def _by_on(agreement: m.Agreement | None) -> str:
    """` by A, B on 2026-08-05`, for whatever the agreement names."""
    if agreement is None:
        return ""
    text = f" by {', '.join(agreement.by)}" if agreement.by else ""
    return text + (f" on {agreement.on.isoformat()}" if agreement.on is not None else "")


def _dump(agreement: m.Agreement | None) -> dict[str, Any] | None:
    return agreement.model_dump(mode="json") if agreement is not None else None


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _flatten(item, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


def _fields(metric: m.AnyMetric) -> dict[str, Any]:
    """A metric's fields by dotted path (`target.value`), as the JSON writes them."""
    return dict(_flatten(metric.model_dump(mode="json", exclude={"id"})))


def _agreed_on(metric: m.AnyMetric) -> date | None:
    if isinstance(metric, m.BusinessMetric) and metric.agreed is not None:
        return metric.agreed.on
    return None


def _ambition(was: float, now: float, direction: m.Direction) -> str:
    harder = now > was if direction == "increase" else now < was
    return "more ambitious" if harder else "less ambitious"


def show(value: Any) -> str:
    """A field's value in a message or a table cell; numbers exactly as the charter has them."""
    if value is None:
        return "(none)"
    if isinstance(value, float):
        return exact_number(value)
    if isinstance(value, list):
        return ", ".join(show(v) for v in value) or "(none)"
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "…"


def shown_change(was: Any, now: Any) -> str:
    """`was → now`, each as `show` gives it; two long texts that differ only past what
    `show` keeps are cut around where they first differ, so the change shows (a
    definition's "excluding" turned "including" read as the same 77 characters twice)."""
    before, after = show(was), show(now)
    if before != after or not (isinstance(was, str) and isinstance(now, str)) or was == now:
        return f"{before} → {after}"
    same = next((i for i, (a, b) in enumerate(zip(was, now, strict=False)) if a != b), None)
    if same is None:  # one is the other with more at its end
        same = min(len(was), len(now))
    begin = max(0, same - 30)
    return f"{_window(was, begin)} → {_window(now, begin)}"


def _window(text: str, begin: int) -> str:
    """`text` from `begin`, at most 80 characters with its marks of what is left out."""
    part = text[begin : begin + 76]
    return ("…" if begin else "") + part + ("…" if begin + len(part) < len(text) else "")


# --- results ----------------------------------------------------------------------------------


def result_changes(pair: Pair) -> Iterator[Change]:
    """Metrics of HEAD whose past rows were rewritten, then those with new rows; then
    metrics of BASE gone from HEAD with their rows (removed or renamed): those rows are
    gone from the evidence, rewritten too."""
    for after in pair.head.view.metrics:
        before = pair.base.view.metric(after.id)
        old = before.rows if before else ()
        rows = row_counts(old, after.rows)
        if rows["revised"] or rows["removed"]:
            yield _rewritten(pair.cid, before, after, rewritten_rows(old, after.rows), rows)
        if rows["added"] and pair.taken:
            for back in _back_rows(pair, before, after):  # revised, not added
                rows = {**rows, "added": rows["added"] - back.extra["rows"]["revised"]}
                yield back
        if rows["added"]:
            yield _results_added(pair.cid, before, after, rows)
    for before in pair.base.view.metrics:
        if before.rows and pair.head.view.metric(before.id) is None:
            rows = row_counts(before.rows, ())
            gone: list[tuple[Result, Result | None]] = [(r, None) for r in before.rows]
            yield _rewritten(pair.cid, before, None, gone, rows)


def _back_rows(pair: Pair, before: MetricView | None, after: MetricView) -> Iterator[Change]:
    """Rows HEAD adds that a commit shortly before BASE took out (`Pair.taken`), each
    compared with the row as it was last: those back with other numbers are past rows
    revised, whose removal was told in the change that made it. Taking rows out in one
    pull request and putting them back changed in the next otherwise read as rows added."""
    known = {_arm(r) for r in before.rows} if before is not None else set()
    gone: list[Result] = []
    took: dict[tuple[date, str], Taking] = {}
    last: MetricView | None = None
    for taking, version in pair.taken:
        then = version.view.metric(after.id)
        if then is None or then.unit != after.unit:
            continue  # another unit: its numbers are not HEAD's to compare
        for row in then.rows:
            if _arm(row) not in known:
                known.add(_arm(row))
                gone.append(row)
                took[_arm(row)] = taking
                last = then
    now = {_arm(r): r for r in after.rows}  # by arm: a control row back as `holdout` too
    pairs: list[tuple[Result, Result | None]] = [
        (o, n)
        for o in gone
        if (n := now.get(_arm(o))) is not None and _row_value(n) != _row_value(o)
    ]
    if not pairs:
        return
    rows = {"added": 0, "revised": len(pairs), "removed": 0}
    change = _rewritten(pair.cid, before or last, after, pairs, rows)
    commits = dict.fromkeys(took[_arm(o)] for o, _ in pairs)
    when = " and ".join(f"{t.commit} ({t.day})" for t in commits)
    text = f"; taken out in {when} and back with other numbers"
    assert change.cells is not None
    yield replace(
        change,
        message=change.message + text,
        extra={**change.extra, "taken_out_in": [t.commit for t in commits]},
        cells=(change.cells[0] + text, *change.cells[1:]),
    )


def _arm(result: Result) -> tuple[date, str]:
    """A row's date and arm (`vocabulary.arm_of`: every control name is one arm)."""
    return result.row.date, arm_of(result.row.variant)


def _results_added(
    cid: str, before: MetricView | None, after: MetricView, rows: dict[str, int]
) -> Change:
    moved = trend(before, after)
    message = _results_message(before, after, moved, rows)
    extra: dict[str, Any] = {"rows": rows, "trend_reference": moved.reference}
    arms = (treatment_variant(before.rows) if before else None, treatment_variant(after.rows))
    if None not in arms and arms[0] != arms[1]:
        # A first `treatment` row changes which arm is judged against control (beside
        # control, a second arm with none named `treatment` is refused, results.py): the
        # evidence is another experiment's.
        message += (
            f"; the arm compared with control is now {excerpt(arms[1])}, not {excerpt(arms[0])}"
        )
        extra.update(flagged=True, compared_arm=list(arms))
    if (moved_from := _first_result_moved(before, after)) is not None:
        message += moved_from
        extra.update(flagged=True)
    return Change(
        "results-added",
        cid,
        after.id,
        latest(before),
        latest(after),
        message,
        trend=moved.trend,
        extra=extra,
        base_metric=before,
        head_metric=after,
    )


def _first_result_moved(before: MetricView | None, after: MetricView) -> str | None:
    """What the message adds when a guardrail judged against its first result has another
    first result (rows dated before it, say): the new rows moved its reference."""
    if before is None or after.kind != "guardrail" or after.move_reference != "first result":
        return None
    was, now = first_result(before.rows), first_result(after.rows)
    if (
        was is None
        or now is None
        or _row_key(was) + _row_value(was) == _row_key(now) + _row_value(now)
    ):
        return None
    pair = (now.row.value, was.row.value)
    said = [
        f"{fmt_value(r.row.value, after.unit, apart=pair)} on {r.row.date.isoformat()}"
        for r in (now, was)
    ]
    return f"; judged against its first result, now {said[0]} (was {said[1]})"


def _rewritten(
    cid: str,
    before: MetricView | None,
    after: MetricView | None,
    pairs: list[tuple[Result, Result | None]],
    rows: dict[str, int],
) -> Change:
    """Rows of BASE changed or removed in HEAD: history rewritten, whatever the reason
    (`after` None: the metric is gone from HEAD, and its rows with it)."""
    metric = after or before
    assert metric is not None
    dated = [f"{old.row.date.isoformat()} {variant_name(old)}: " for old, _ in pairs]
    # Each side's rows in its own unit: a change of unit shows as one. A value and the one
    # it was revised to are told apart, and from their side's numbers of the metric.
    was: list[str] = []
    now: list[str | None] = []
    for old, new in pairs:
        pair = (old.row.value, new.row.value if new is not None else None)
        side = before or metric
        was.append(_row_numbers(old, side.unit, (*side.together, *pair)))
        if new is None:
            now.append(None)
        else:
            now.append(_row_numbers(new, metric.unit, (*metric.together, *pair)))
    shown = _first_rows(
        [
            f"{d}{a} → {b}" if b else f"{d}{a} removed"
            for d, a, b in zip(dated, was, now, strict=True)
        ]
    )
    counts = ", ".join(
        f"{plural(n, 'past row')} {what}" for what, n in rows.items() if what != "added" and n
    )
    gone = "" if after else " with the metric"
    status, moved = before.status if before is not None else "no-results", ""
    if after is not None and status != after.status:
        moved = (
            f"; status {label(status, 'metric_status')} → {label(after.status, 'metric_status')}"
        )
    return Change(
        "results-rewritten",
        cid,
        metric.id,
        [row_json(old) for old, _ in pairs],
        [row_json(new) for _, new in pairs if new is not None],
        f"`{metric.id}`: {counts}{gone} ({shown}){moved}",
        extra={"rows": rows},
        base_metric=before,
        head_metric=after,
        cells=(
            f"{counts}{gone}{moved}",
            _first_rows([d + a for d, a in zip(dated, was, strict=True)]),
            _first_rows([d + (b or "removed") for d, b in zip(dated, now, strict=True)]),
        ),
    )


def _first_rows(listed: list[str]) -> str:
    """The first `MAX_ROWS_LISTED` of `listed`, and how many more there are."""
    shown = "; ".join(listed[:MAX_ROWS_LISTED])
    if len(listed) > MAX_ROWS_LISTED:
        shown += f"; and {len(listed) - MAX_ROWS_LISTED} more"
    return shown


# Rewritten rows spelled out in a message; the JSON has them all.
MAX_ROWS_LISTED = 5


def _row_key(result: Result) -> tuple[date, str]:
    return result.row.date, result.row.variant or ""


def _row_value(result: Result) -> tuple[Any, ...]:
    row = result.row
    return (row.value, row.lower, row.upper, row.n, row.std)


def row_counts(old: Sequence[Result], new: Sequence[Result]) -> dict[str, int]:
    """How many rows (by date and variant) were added, revised (other numbers) or removed."""
    was = {_row_key(r): _row_value(r) for r in old}
    now = {_row_key(r): _row_value(r) for r in new}
    return count_changes(was, now)


def count_changes(was: Mapping[Any, Any], now: Mapping[Any, Any]) -> dict[str, int]:
    """Keys added, revised (another value) and removed between two versions of some rows."""
    return {
        "added": sum(1 for k in now if k not in was),
        "revised": sum(1 for k in now if k in was and now[k] != was[k]),
        "removed": sum(1 for k in was if k not in now),
    }


def rewritten_rows(
    old: Sequence[Result], new: Sequence[Result]
) -> list[tuple[Result, Result | None]]:
    """BASE rows whose numbers changed in HEAD (with the new row) or that are gone (None)."""
    now = {_row_key(r): r for r in new}
    out: list[tuple[Result, Result | None]] = []
    for row in old:
        other = now.get(_row_key(row))
        if other is None or _row_value(other) != _row_value(row):
            out.append((row, other))
    return out


def variant_name(result: Result) -> str:
    return result.row.variant or "production"


def _row_numbers(result: Result, unit: str, apart: tuple[float | None, ...] = ()) -> str:
    row = result.row
    text = fmt_value(row.value, unit, apart=apart)
    if row.lower is not None and row.upper is not None:
        text += f" [{exact_number(row.lower)}, {exact_number(row.upper)}]"
    extras = [f"{k} {exact_number(float(v))}" for k, v in (("n", row.n), ("std", row.std)) if v]
    return text + (f" ({', '.join(extras)})" if extras else "")


def row_json(result: Result) -> dict[str, Any]:
    """A result row in the JSON, with the file and line it is read from."""
    return {**result.record(), "file": result.ref.path, "line": result.ref.line}


def latest(view: MetricView | None) -> dict[str, Any] | None:
    """A metric's latest value as the JSON reports it, with progress, met and status."""
    if view is None or view.latest is None:
        return None
    row = view.latest.row
    out: dict[str, Any] = {
        "date": row.date.isoformat(),
        "value": row.value,
        "variant": row.variant,
        "progress": view.progress,
        "met": view.met,
        "status": view.status,
    }
    if view.kind == "guardrail":
        out["breached"] = view.breached
    return out


class Movement(NamedTuple):
    trend: Trend | None
    reference: str | None  # "previous status" or "no earlier result"; None without a trend


# Statuses from worst to best; no result counts as not having moved.
STATUS_RANK: dict[MetricStatus, int] = {
    "worse": 0,
    "flat": 1,
    "no-results": 1,
    "improved": 2,
    "met": 3,
}


def trend(before: MetricView | None, after: MetricView) -> Movement:
    """How new results moved a metric: its status before against its status after.

    The status is the one the charter page shows, from the statistics (the lift and
    its interval against control, else the value's interval, else the minimum
    detectable effect). Only a change of status is a trend: flat → improved is
    `improved`, improved → flat or met → improved is `regressed`. For a guardrail,
    newly breached is `regressed` and a breach cleared is `improved`.
    """
    if after.latest is None:
        return Movement(None, None)
    had = before is not None and before.latest is not None
    reference = "previous status" if had else "no earlier result"
    if after.kind == "guardrail":
        was_breached = before is not None and before.breached
        if after.breached == was_breached:
            return Movement("unchanged", reference)
        return Movement("regressed" if after.breached else "improved", reference)
    was = STATUS_RANK[before.status if before is not None else "no-results"]
    now = STATUS_RANK[after.status]
    moved: Trend = "improved" if now > was else "regressed" if now < was else "unchanged"
    return Movement(moved, reference)


def evidence(view: MetricView) -> str:
    """The numbers a metric's status rests on: lift and interval, or the move and against what."""
    if view.lift is None and (view.move is None or view.move_reference is None):
        return ""
    interval = None
    if not rests_on_lift(view) and view.move_interval is not None:
        sign = 1.0 if view.direction == "increase" else -1.0
        low, high = sorted(sign * x for x in view.move_interval)
        interval = (low, high)
    text = move_phrase(view, interval)  # the words of the site's evidence sentences
    if interval is not None:
        text += f", 95% CI {fmt_interval(*interval, view.unit)}"
    if view.tolerance is not None:
        text += f", tolerance {fmt_difference(view.tolerance, view.unit, view.sizes)}"
    return text


def _results_message(
    before: MetricView | None, after: MetricView, moved: Movement, rows: dict[str, int]
) -> str:
    text = f"`{after.id}`: {plural(rows['added'], 'row')} added"
    if after.latest is None:
        return text + " (no latest value outside the control arm)"
    was = "no result"
    # Read side by side: the numbers of both, each written apart from all the others.
    together = after.together + (before.together if before is not None else ())
    if before is not None and before.latest is not None:
        was = fmt_value(before.latest.row.value, before.unit, apart=together)
    now = fmt_value(after.latest.row.value, after.unit, apart=together)
    text += f"; latest {was} → {now} ({after.latest.row.date.isoformat()})"
    text += f"; status {status_words(before)} → {status_words(after)}"
    numbers = evidence(after)
    text += f" ({numbers})" if numbers else ""
    if moved.trend is not None:
        text += f", {moved.trend}"
    if after.progress is not None and after.target is not None:
        target = fmt_value(after.target, after.unit, apart=together)
        text += f"; {fmt_percent(after.progress)} of the way to the target {target}"
    if after.met:
        text += " (target met)"
    return text


def status_words(view: MetricView | None) -> str:
    """A metric's status in words; a guardrail is within its tolerance or breached."""
    if view is None or view.latest is None:
        return "no result"
    if view.kind == "guardrail":
        return label("breached", "alert") if view.breached else "within tolerance"
    return label(view.status, "metric_status")


# --- the goalposts in force when results began ---------------------------------------------


def original_goalposts(pair: Pair) -> CharterView | None:
    """HEAD's results judged against BASE's goalposts, where those differ and had results.

    For each business metric that already had results in BASE and whose goalposts
    (unit, direction, baseline, target) differ in HEAD, the BASE goalposts are put
    back and HEAD's charter analysed again: progress, met, status and verdict as
    the agreement in force when the first results arrived would have them. None
    when no such metric exists.
    """
    old = {b.id: b for b in pair.base.view.charter.business_metrics}
    swapped: list[m.BusinessMetric] = []
    for metric in pair.head.view.charter.business_metrics:
        was, results = old.get(metric.id), pair.base.view.metric(metric.id)
        if was is not None and results is not None and results.rows:
            goalposts = {k: getattr(was, k) for k in ("unit", "direction", "baseline", "target")}
            if any(getattr(metric, k) != v for k, v in goalposts.items()):
                metric = metric.model_copy(update=goalposts)
        swapped.append(metric)
    if swapped == pair.head.view.charter.business_metrics:
        return None
    charter = pair.head.view.charter.model_copy(update={"business_metrics": swapped})
    return analyze_charter(replace(pair.head.view.loaded, charter=charter))


# --- findings of `charters check` -----------------------------------------------------------


def finding_changes(pair: Pair) -> Iterator[Change]:
    """Findings added and resolved; an alert (a breached guardrail, an ML-only win) that
    BASE's charter still raises on HEAD's results (`Pair.unedited`) is flagged when
    resolved: an edit of the charter (a tolerance loosened, a guardrail removed, the
    rule switched off), not the rows, made the news go away. An error or alert rule
    switched off that no flagged finding names is flagged on its own (`_switched_off`)."""
    base, head = _metric_places(pair.base.view), _metric_places(pair.head.view)
    what = "the charter" if pair.charter_edited else "site.yaml's lint.disable"
    why = f"an edit of {what}: before it, the same results raise it"
    alerts: dict[tuple[str, str], Diagnostic] = {}
    if pair.edited:
        alerts = {_finding_key(d, base): d for d in pair.unedited.findings if d.severity == "alert"}
    told: set[str] = set()  # the codes of the flagged findings
    for change in findings_between(pair.cid, pair.base.findings, pair.head.findings, base, head):
        resolved = change.kind == "finding-resolved" and change.before.get("severity") == "alert"
        if resolved and (change.before["code"], _field_key(change.before["field"], base)) in alerts:
            change.message += f" ({why})"
            change.extra["flagged"] = True
            told.add(change.before["code"])
        yield change
    # An alert the new rows raise that an edit kept away (in neither BASE nor HEAD).
    shown = {_finding_key(d, base) for d in pair.base.findings}
    shown |= {_finding_key(d, head) for d in pair.head.findings}
    for key, d in alerts.items():
        if key not in shown:
            text = f"silenced {d.code}: {d.message} ({why})"
            extra = {"flagged": True}
            told.add(d.code)
            yield Change(
                "finding-resolved", pair.cid, None, d.as_json(), None, text, d.field, extra=extra
            )
    yield from (c for c in _switched_off(pair) if c.extra["switched_off"] not in told)


# What a rule switched off for a charter hides, by its severity, that a reviewer is told of.
_WATCHED_SEVERITIES = ("error", "alert")


def _switched_off(pair: Pair) -> Iterator[Change]:
    """An error or alert rule that HEAD switches off for the charter (its `x-lint`, or
    site.yaml's `lint.disable`) and BASE did not, flagged whatever it finds now: what it
    would find shows nowhere, and staleness (MC109), which `diff` does not judge, was
    switched off without a word. Located where HEAD switches it off."""
    was = {rule.code for rule, _ in switched_off(pair.base.view, pair.base_disabled)}
    head = pair.head.view
    own = {str(code): path for path, code in x_lint_codes(head)}
    site = _site_codes(pair.head_site)
    for rule, by in switched_off(head, pair.head_disabled):
        if rule.code in was or rule.severity not in _WATCHED_SEVERITIES:
            continue
        where = "site.yaml's lint.disable" if by == "site.yaml" else "its x-lint"
        message = (
            f"switched off {rule.code} {rule.name} for this charter by {where}: what it"
            " finds is no longer shown (an edit)"
        )
        doc, path = head.loaded.doc, own.get(rule.code, ("x-lint",))
        if by == "site.yaml" and pair.head_site is not None and rule.code in site:
            doc, path = pair.head_site, ("lint", "disable", site.index(rule.code))
        d = doc.at(path, message, rule.code, rule.severity)
        extra: dict[str, Any] = {"flagged": True, "switched_off": rule.code}
        if by == "site.yaml":
            extra["by"] = "site.yaml"  # said once for all charters in the Markdown
        yield Change(
            "finding-resolved", pair.cid, None, d.as_json(), None, message, d.field, extra=extra
        )


def _site_codes(doc: Document | None) -> list[str]:
    """The codes of site.yaml's `lint.disable`, as written, in order."""
    data = doc.data if doc is not None else None
    lint = data.get("lint") if isinstance(data, dict) else None
    codes = lint.get("disable") if isinstance(lint, dict) else None
    return [str(code) for code in codes] if isinstance(codes, list) else []


def findings_between(
    cid: str,
    before: Sequence[Diagnostic],
    after: Sequence[Diagnostic],
    base: Mapping[str, str] | None = None,
    head: Mapping[str, str] | None = None,
) -> Iterator[Change]:
    """Findings that appear (in HEAD's order), then findings that disappear (in BASE's);
    `base` and `head` name each side's metrics by their field (`_metric_places`)."""
    for d in _unmatched(after, head or {}, before, base or {}):
        text = f"{d.severity} {d.code}: {d.message}"
        yield Change("finding-added", cid, None, None, d.as_json(), text, field=d.field or None)
    for d in _unmatched(before, base or {}, after, head or {}):
        text = f"resolved {d.code}: {d.message}"
        yield Change("finding-resolved", cid, None, d.as_json(), None, text, field=d.field or None)


def _metric_places(view: CharterView) -> dict[str, str]:
    """Each metric's id by the field that holds it (`measurement.guardrails[1]`)."""
    return {format_path(view.charter.metric_path(m.id)): m.id for m in view.metrics}


def _field_key(field: str, metrics: Mapping[str, str]) -> str:
    """A finding's field with the metric it lies in named by its id, not its place in a
    list, so a metric moved up or down its list keeps its findings."""
    for place, mid in metrics.items():
        if field == place or field.startswith((f"{place}.", f"{place}[")):
            return f"<{mid}>{field[len(place) :]}"
    return field


def _finding_key(d: Diagnostic, metrics: Mapping[str, str]) -> tuple[str, str]:
    # Lines move with every edit and messages quote numbers that move with new
    # results: a finding is the same finding while its rule and field are, the field
    # inside a metric named by the metric's id.
    return (d.code, _field_key(d.field, metrics))


def _unmatched(
    findings: Sequence[Diagnostic],
    metrics: Mapping[str, str],
    others: Sequence[Diagnostic],
    other_metrics: Mapping[str, str],
) -> list[Diagnostic]:
    """The findings with no counterpart (same rule and field) among `others`, in order."""
    spare = Counter(_finding_key(d, metrics) for d in findings) - Counter(
        _finding_key(d, other_metrics) for d in others
    )
    out: list[Diagnostic] = []
    for d in findings:
        key = _finding_key(d, metrics)
        if spare[key] > 0:
            spare[key] -= 1
            out.append(d)
    return out


# The comparisons of two versions of a charter, in the order their changes are reported.
COMPARISONS: tuple[CharterComparison, ...] = (
    status_changes,
    metric_changes,
    catalogue_changes,
    plan_changes,
    result_changes,
    verdict_changes,
    finding_changes,
)
