"""`charters diff`: what a change does to the charters, for a pull request review.

Each side (a git revision, a folder, or the working tree) is materialised and
loaded on its own with `load_project`; a side that does not load cleanly is
reported with its problems and every charter that did load is still compared.
The comparison is plain data (`Report`, a list of `Change`) rendered as JSON or
as a Markdown PR comment. The JSON shape and the change kinds are documented in
docs/diff.md; fields are only ever added.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import tarfile
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from . import model as m
from .analyze import latest_row
from .diagnostics import Diagnostic
from .formatting import fmt_value as fmt
from .formatting import plural
from .load import LoadedCharter, Project, Result, load_project
from .stats import progress, reached
from .vocabulary import CHANGE_KINDS, CHANGE_LABELS, KIND_LABELS, TREND_LABELS, Trend

JSON_VERSION = 1
MARKER = "<!-- charters-diff -->"

KINDS = CHANGE_KINDS
# Names `--fail-on` accepts besides the kinds: they select changes by what they mean.
PSEUDO_KINDS: dict[str, str] = {
    "regressed": "results-added changes whose latest value got worse",
    "improved": "results-added changes whose latest value got better",
    "invalid": "either side has validation errors",
    "any": "any change at all",
}
# A change to one of these after the metric was agreed, without a new `agreed.on`,
# moves the goalposts.
GOALPOST_FIELDS: tuple[str, ...] = (
    "definition",
    "unit",
    "direction",
    "baseline.value",
    "target.value",
    "target.by",
)
# Markdown comments are capped by the forges (GitHub: 65,536 characters).
MAX_MARKDOWN = 60_000

SideKind = Literal["worktree", "folder", "git"]


class DiffError(Exception):
    """A side cannot be read at all: a missing revision, no git repository."""


# --- the two sides -------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """Verdict and findings of one charter, from `charters check`'s rules."""

    verdict: str | None
    findings: tuple[Diagnostic, ...]


@dataclass
class Side:
    """One side of the comparison, loaded."""

    label: str
    kind: SideKind
    spec: str | None
    revision: str | None
    project: Project
    errors: list[Diagnostic]
    present: list[str]  # every folder under charters/, loaded or not
    checks: dict[str, Check] | None = None
    notes: list[str] = dataclass_field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def loaded(self) -> dict[str, LoadedCharter]:
        return {c.id: c for c in self.project.charters}

    def failed(self) -> list[str]:
        """Charters with a folder on this side that did not load."""
        loaded = self.loaded
        return [cid for cid in self.present if cid not in loaded]

    def as_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "kind": self.kind,
            "spec": self.spec,
            "revision": self.revision,
            "ok": self.ok,
            "charters": sorted(self.loaded),
            "failed": self.failed(),
            "errors": [d.as_json() for d in self.errors],
            "notes": list(self.notes),
        }


def load_side(spec: str | None, source: Path, role: str) -> Side:
    """Load one side: the working tree (`spec` None), a folder, or a git revision."""
    if spec is None:
        return _load(source, "working tree", "worktree", None, None)
    folder = Path(spec)
    if folder.is_dir():
        return _load(folder, spec, "folder", spec, None)
    top, prefix = _repository(source, spec, role)
    sha = _resolve(top, spec, role)
    with tempfile.TemporaryDirectory(prefix="charters-diff-") as tmp:
        root = _materialise(top, sha, prefix, Path(tmp))
        return _load(root, f"{spec} ({sha[:10]})", "git", spec, sha)


def _load(root: Path, label: str, kind: SideKind, spec: str | None, sha: str | None) -> Side:
    project, diags = load_project(root)
    charters = root / "charters"
    present = (
        sorted(p.name for p in charters.iterdir() if p.is_dir() and not p.name.startswith("."))
        if charters.is_dir()
        else []
    )
    checks, note = _checks(project)
    return Side(
        label=label,
        kind=kind,
        spec=spec,
        revision=sha,
        project=project,
        errors=diags.sorted(),
        present=present,
        checks=checks,
        notes=[note] if note else [],
    )


def _checks(project: Project) -> tuple[dict[str, Check] | None, str | None]:
    """Verdicts and findings from the rules of `charters check`, when they are available.

    Degrades to no verdict or finding changes rather than failing the diff: the
    comparison of the charters themselves does not depend on the rules.
    """
    try:
        from .rules import check_project
    except ImportError as exc:
        return None, f"verdicts and findings were not compared ({exc})"
    try:
        # No `today`: the staleness rule depends on the date, not on the change.
        raw = check_project(project)
    except Exception as exc:  # a rule's bug must not hide the rest of the report
        return None, f"verdicts and findings were not compared ({type(exc).__name__}: {exc})"
    return {
        cid: Check(verdict=check.verdict, findings=tuple(check.findings))
        for cid, check in raw.items()
    }, None


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError as exc:
        raise DiffError("git is not installed; compare folders instead of revisions") from exc


def _repository(source: Path, spec: str, role: str) -> tuple[Path, str]:
    """The repository's top folder and the source folder's path inside it."""
    top = _git(["rev-parse", "--show-toplevel"], source)
    prefix = _git(["rev-parse", "--show-prefix"], source)
    if top.returncode != 0 or prefix.returncode != 0:
        raise DiffError(
            f"{role} {spec!r} is neither a folder nor a revision: {source} is not in a git"
            " repository"
        )
    return Path(top.stdout.decode().strip()), prefix.stdout.decode().strip()


def _resolve(top: Path, spec: str, role: str) -> str:
    if spec.startswith("-") or not spec.strip():
        raise DiffError(f"{role} {spec!r} is not a valid revision")
    found = _git(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{spec}^{{commit}}"], top
    )
    if found.returncode == 0:
        return found.stdout.decode().strip()
    shallow = _git(["rev-parse", "--is-shallow-repository"], top).stdout.decode().strip()
    raise DiffError(missing_revision_message(spec, role, shallow == "true"))


def missing_revision_message(spec: str, role: str, shallow: bool) -> str:
    """What to do when a revision is not in the clone: usually, fetch more history."""
    where = "this shallow clone" if shallow else "this repository"
    match = re.match(r"^(?:refs/remotes/)?([^/~^@:]+)/([^~^@:]+)", spec)
    if match and not spec.startswith(("HEAD", "refs/heads/")):
        fetch = f"`git fetch {match.group(1)} {match.group(2)}`"
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


def _materialise(top: Path, sha: str, prefix: str, dest: Path) -> Path:
    """Extract the source folder's charters/ and site.yaml at `sha` into `dest`."""
    wanted = [f"{prefix}charters", f"{prefix}site.yaml"]
    present = [p for p in wanted if _git(["cat-file", "-e", f"{sha}:{p}"], top).returncode == 0]
    root = dest / prefix if prefix else dest
    root.mkdir(parents=True, exist_ok=True)
    if not present:
        return root
    archive = _git(["archive", "--format=tar", sha, "--", *present], top)
    if archive.returncode != 0:
        message = archive.stderr.decode(errors="replace").strip()
        raise DiffError(f"cannot read {sha[:10]} with git archive: {message}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, filter="data")
        else:  # Python before 3.11.4: keep plain files and folders inside dest only
            safe = [
                member
                for member in tar.getmembers()
                if (member.isfile() or member.isdir())
                and not Path(member.name).is_absolute()
                and ".." not in Path(member.name).parts
            ]
            tar.extractall(dest, members=safe)
    return root


# --- changes -------------------------------------------------------------------------


@dataclass
class Change:
    """One reported difference. `metric` is None for charter-level changes."""

    kind: str
    charter: str
    metric: str | None
    before: Any
    after: Any
    message: str
    field: str | None = None
    trend: Trend | None = None
    extra: dict[str, Any] = dataclass_field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "charter": self.charter,
            "metric": self.metric,
            "field": self.field,
            "before": self.before,
            "after": self.after,
            "trend": self.trend,
            "message": self.message,
            **self.extra,
        }


@dataclass
class Report:
    base: Side
    head: Side
    changes: list[Change]
    not_compared: list[dict[str, str]]

    def matching(self, kinds: Iterable[str]) -> list[str]:
        """Which of `kinds` (kinds or pseudo-kinds) this report contains."""
        out = []
        for kind in kinds:
            if kind == "any":
                hit = bool(self.changes)
            elif kind == "invalid":
                hit = not (self.base.ok and self.head.ok)
            elif kind in ("regressed", "improved"):
                hit = any(c.kind == "results-added" and c.trend == kind for c in self.changes)
            else:
                hit = any(c.kind == kind for c in self.changes)
            if hit:
                out.append(kind)
        return out

    def changed_charters(self) -> list[str]:
        return list(dict.fromkeys(c.charter for c in self.changes))

    def counts(self) -> dict[str, int]:
        counted = Counter(c.kind for c in self.changes)
        return {kind: counted.get(kind, 0) for kind in KINDS}

    def trends(self) -> dict[str, int]:
        counted = Counter(c.trend for c in self.changes if c.kind == "results-added")
        return {t: counted.get(t, 0) for t in ("improved", "regressed", "unchanged")}


def diff_sides(base: Side, head: Side) -> Report:
    """Compare two loaded sides charter by charter."""
    changes: list[Change] = []
    not_compared: list[dict[str, str]] = []
    base_loaded, head_loaded = base.loaded, head.loaded
    base_present, head_present = set(base.present), set(head.present)
    removed = [cid for cid in base.present if cid not in head_present]
    added = [cid for cid in head.present if cid not in base_present]
    renames = _renames(
        [base_loaded[c] for c in removed if c in base_loaded],
        [head_loaded[c] for c in added if c in head_loaded],
    )
    renamed_to = {old: new for old, new in renames}
    renamed_from = {new: old for old, new in renames}

    for cid in sorted(base_present | head_present):
        if cid in removed:
            changes.append(_removed(cid, base_loaded.get(cid), renamed_to.get(cid)))
        elif cid in added:
            new = head_loaded.get(cid)
            old_id = renamed_from.get(cid)
            changes.append(_added(cid, new, old_id, _check(head, cid)))
            if new is None:
                continue
            if old_id is not None:
                changes.extend(
                    compare_charter(
                        cid, base_loaded[old_id], new, _check(base, old_id), _check(head, cid)
                    )
                )
            else:
                changes.extend(_findings(cid, None, _check(head, cid)))
        elif cid in base_loaded and cid in head_loaded:
            changes.extend(
                compare_charter(
                    cid, base_loaded[cid], head_loaded[cid], _check(base, cid), _check(head, cid)
                )
            )
        else:
            failed = [
                role for role, side in (("base", base), ("head", head)) if cid not in side.loaded
            ]
            not_compared.append(
                {
                    "charter": cid,
                    "side": failed[0] if len(failed) == 1 else "both",
                    "message": "Not compared: it did not load in "
                    + " and ".join(f"{r.upper()} ({_side(base, head, r).label})" for r in failed),
                }
            )
    return Report(base, head, changes, not_compared)


def _side(base: Side, head: Side, role: str) -> Side:
    return base if role == "base" else head


def _check(side: Side, cid: str) -> Check | None:
    return side.checks.get(cid) if side.checks is not None else None


def _renames(removed: list[LoadedCharter], added: list[LoadedCharter]) -> list[tuple[str, str]]:
    """Pairs (old id, new id) of a removed and an added charter that are one project.

    Same title first, then the same set of metric ids; each charter pairs once.
    """
    pairs: list[tuple[str, str]] = []
    used: set[str] = set()
    keys = (
        lambda c: c.charter.title.strip().casefold(),
        lambda c: tuple(sorted(c.metric_ids())),
    )
    for key in keys:
        for old in removed:
            if any(old.id == p[0] for p in pairs):
                continue
            for new in added:
                if new.id not in used and key(old) and key(old) == key(new):
                    pairs.append((old.id, new.id))
                    used.add(new.id)
                    break
    return pairs


def _summary(charter: LoadedCharter | None, check: Check | None = None) -> dict[str, Any] | None:
    if charter is None:
        return None
    out: dict[str, Any] = {"title": charter.charter.title, "status": charter.charter.status}
    if check is not None:
        out["verdict"] = check.verdict
    return out


def _added(cid: str, new: LoadedCharter | None, old_id: str | None, check: Check | None) -> Change:
    if new is None:
        message = f"charter `{cid}` added, but it does not load (see the HEAD problems)"
    else:
        message = f"charter `{cid}` added: {new.charter.title} ({new.charter.status})"
    if old_id is not None:
        message = f"charter `{cid}` renamed from `{old_id}`"
    extra = {"renamed_from": old_id} if old_id is not None else {}
    return Change("charter-added", cid, None, None, _summary(new, check), message, extra=extra)


def _removed(cid: str, old: LoadedCharter | None, new_id: str | None) -> Change:
    if new_id is not None:
        message = f"charter `{cid}` renamed to `{new_id}`"
    elif old is None:
        message = f"charter `{cid}` removed (it did not load in BASE either)"
    else:
        message = f"charter `{cid}` removed: {old.charter.title}"
    extra = {"renamed_to": new_id} if new_id is not None else {}
    return Change("charter-removed", cid, None, _summary(old), None, message, extra=extra)


def compare_charter(
    cid: str,
    base: LoadedCharter,
    head: LoadedCharter,
    base_check: Check | None,
    head_check: Check | None,
) -> list[Change]:
    """Every difference between two versions of one charter."""
    out: list[Change] = []
    b, h = base.charter, head.charter
    if b.status != h.status:
        out.append(
            Change(
                "status-changed",
                cid,
                None,
                b.status,
                h.status,
                f"status {b.status} → {h.status}",
                field="status",
            )
        )
    out.extend(_metric_changes(cid, b, h))
    out.extend(_result_changes(cid, base, head))
    if base_check is not None and head_check is not None:
        if base_check.verdict != head_check.verdict:
            out.append(
                Change(
                    "verdict-changed",
                    cid,
                    None,
                    base_check.verdict,
                    head_check.verdict,
                    f"verdict {base_check.verdict} → {head_check.verdict}",
                )
            )
        out.extend(_findings(cid, base_check, head_check))
    return out


# --- metrics ---------------------------------------------------------------------------

MetricModel = m.BusinessMetric | m.MLMetric | m.Guardrail


def metrics_of(charter: m.Charter) -> dict[str, tuple[str, MetricModel]]:
    """Every metric of a charter by id, with its kind, in the charter's order."""
    return {e.metric.id: (e.kind, e.metric) for e in charter.metrics()}


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _flatten(item, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


def _fields(metric: MetricModel) -> dict[str, Any]:
    data = metric.model_dump(mode="json", exclude={"id"})
    return dict(_flatten(data))


def _agreed_on(metric: MetricModel) -> date | None:
    if isinstance(metric, m.BusinessMetric) and metric.agreed is not None:
        return metric.agreed.on
    return None


def _metric_changes(cid: str, b: m.Charter, h: m.Charter) -> list[Change]:
    out: list[Change] = []
    before, after = metrics_of(b), metrics_of(h)
    for mid in list(after) + [x for x in before if x not in after]:
        if mid not in before:
            kind, metric = after[mid]
            out.append(
                Change(
                    "metric-changed",
                    cid,
                    mid,
                    None,
                    {"kind": kind, "name": metric.name},
                    f"new {KIND_LABELS[kind]} `{mid}`: {metric.name}",
                )
            )
            continue
        if mid not in after:
            kind, metric = before[mid]
            agreed = _agreed_on(metric)
            note = f" (it was agreed on {agreed.isoformat()})" if agreed else ""
            out.append(
                Change(
                    "metric-changed",
                    cid,
                    mid,
                    {"kind": kind, "name": metric.name},
                    None,
                    f"{KIND_LABELS[kind]} `{mid}` removed{note}",
                )
            )
            continue
        out.extend(_one_metric(cid, mid, before[mid], after[mid]))
    return out


def _one_metric(
    cid: str, mid: str, old: tuple[str, MetricModel], new: tuple[str, MetricModel]
) -> list[Change]:
    out: list[Change] = []
    (old_kind, bm), (new_kind, hm) = old, new
    if old_kind != new_kind:
        out.append(
            Change(
                "metric-changed",
                cid,
                mid,
                old_kind,
                new_kind,
                f"`{mid}` moved from {KIND_LABELS[old_kind]}s to {KIND_LABELS[new_kind]}s",
                field="kind",
            )
        )
    agreed = _agreed_on(bm)
    now_agreed = _agreed_on(hm)
    reagreed = now_agreed is not None and now_agreed != agreed
    fb, fh = _fields(bm), _fields(hm)
    for name in list(fh) + [x for x in fb if x not in fh]:
        was, now = fb.get(name), fh.get(name)
        if was == now:
            continue
        text = f"`{mid}` {name}: {_show(was)} → {_show(now)}"
        if name == "target.value" and isinstance(was, float) and isinstance(now, float):
            text += f" ({_ambition(was, now, hm.direction)})"
        kind = "metric-changed"
        if name in GOALPOST_FIELDS and agreed is not None:
            if reagreed and now_agreed is not None:
                text += f"; re-agreed on {now_agreed.isoformat()}"
            else:
                kind = "goalpost-moved"
                text += (
                    f", after it was agreed on {agreed.isoformat()}, without a new `agreed.on` date"
                )
        out.append(Change(kind, cid, mid, was, now, text, field=name))
    return out


def _ambition(was: float, now: float, direction: m.Direction) -> str:
    harder = now > was if direction == "increase" else now < was
    return "more ambitious" if harder else "less ambitious"


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, float):
        return _num(value)
    if isinstance(value, list):
        return ", ".join(_show(v) for v in value) or "(none)"
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "…"


def _num(value: float) -> str:
    return f"{value:.6g}"


# --- results ---------------------------------------------------------------------------


def _row_key(result: Result) -> tuple[date, str]:
    return result.row.date, result.row.variant or ""


def _row_value(result: Result) -> tuple[Any, ...]:
    row = result.row
    return (row.value, row.lower, row.upper, row.n, row.std)


def _rows_by_metric(charter: LoadedCharter) -> dict[str, list[Result]]:
    out: dict[str, list[Result]] = {}
    for result in charter.results:
        out.setdefault(result.row.metric, []).append(result)
    return out


def _targets(metric: MetricModel) -> tuple[float | None, float | None]:
    baseline = metric.baseline.value if metric.baseline is not None else None
    target: float | None = None
    if isinstance(metric, m.BusinessMetric | m.MLMetric) and metric.target is not None:
        target = metric.target.value
    return baseline, target


def latest_json(rows: list[Result], metric: MetricModel | None) -> dict[str, Any] | None:
    """The latest value of a metric with its progress toward the target."""
    latest = latest_row(rows)
    if latest is None:
        return None
    out: dict[str, Any] = {
        "date": latest.row.date.isoformat(),
        "value": latest.row.value,
        "variant": latest.row.variant,
        "progress": None,
        "met": None,
    }
    if metric is not None:
        baseline, target = _targets(metric)
        if target is not None:
            out["met"] = reached(target, latest.row.value, metric.direction)
            if baseline is not None:
                out["progress"] = progress(baseline, target, latest.row.value)
    return out


def trend(was: float, now: float, direction: m.Direction) -> Trend:
    if now == was:
        return "unchanged"
    better = now > was if direction == "increase" else now < was
    return "improved" if better else "regressed"


def _result_changes(cid: str, base: LoadedCharter, head: LoadedCharter) -> list[Change]:
    out: list[Change] = []
    before_rows, after_rows = _rows_by_metric(base), _rows_by_metric(head)
    before_metrics = metrics_of(base.charter)
    for mid, (_, metric) in metrics_of(head.charter).items():
        old = before_rows.get(mid, [])
        new = after_rows.get(mid, [])
        old_keys = {_row_key(r): _row_value(r) for r in old}
        new_keys = {_row_key(r): _row_value(r) for r in new}
        added = [k for k in new_keys if k not in old_keys]
        removed = [k for k in old_keys if k not in new_keys]
        revised = [k for k in new_keys if k in old_keys and new_keys[k] != old_keys[k]]
        if not (added or removed or revised):
            continue
        old_metric = before_metrics.get(mid, (None, None))[1]
        was = latest_json(old, old_metric)
        now = latest_json(new, metric)
        direction_of: Trend | None = None
        reference = "previous latest"
        if now is not None:
            if was is not None:
                direction_of = trend(was["value"], now["value"], metric.direction)
            elif metric.baseline is not None:
                direction_of = trend(metric.baseline.value, now["value"], metric.direction)
                reference = "baseline"
        counts = {"added": len(added), "revised": len(revised), "removed": len(removed)}
        out.append(
            Change(
                "results-added",
                cid,
                mid,
                was,
                now,
                _results_message(mid, metric, was, now, direction_of, reference, counts),
                trend=direction_of,
                extra={"rows": counts, "trend_reference": reference if direction_of else None},
            )
        )
    return out


def _results_message(
    mid: str,
    metric: MetricModel,
    was: dict[str, Any] | None,
    now: dict[str, Any] | None,
    direction_of: Trend | None,
    reference: str,
    counts: dict[str, int],
) -> str:
    parts = [f"{n} row{'s' if n != 1 else ''} {what}" for what, n in counts.items() if n]
    text = f"`{mid}`: " + ", ".join(parts)
    if now is None:
        return text + " (no latest value outside the control arm)"
    before = fmt(was["value"], metric.unit) if was else "no result"
    text += f"; latest {before} → {fmt(now['value'], metric.unit)} ({now['date']})"
    if direction_of is not None:
        text += f", {direction_of}"
        if reference == "baseline":
            text += " against the baseline"
    _, target = _targets(metric)
    if now["progress"] is not None and target is not None:
        text += f"; {now['progress']:.0%} of the way to the target {fmt(target, metric.unit)}"
    if now["met"]:
        text += " (target met)"
    return text


# --- findings ------------------------------------------------------------------------


def _finding_key(d: Diagnostic) -> tuple[str, str]:
    # Lines move with every edit and messages quote numbers that move with new
    # results: a finding is the same finding while its rule and field are.
    return (d.code, d.field)


def _findings(cid: str, base: Check | None, head: Check | None) -> list[Change]:
    old = Counter(_finding_key(d) for d in (base.findings if base else ()))
    new = Counter(_finding_key(d) for d in (head.findings if head else ()))
    out: list[Change] = []
    if head is not None:
        extra_new = new - old
        for d in head.findings:
            key = _finding_key(d)
            if extra_new[key] > 0:
                extra_new[key] -= 1
                out.append(
                    Change(
                        "finding-added",
                        cid,
                        None,
                        None,
                        d.as_json(),
                        f"{d.severity} {d.code}: {d.message}",
                        field=d.field or None,
                    )
                )
    if base is not None:
        gone = old - new
        for d in base.findings:
            key = _finding_key(d)
            if gone[key] > 0:
                gone[key] -= 1
                out.append(
                    Change(
                        "finding-resolved",
                        cid,
                        None,
                        d.as_json(),
                        None,
                        f"resolved {d.code}: {d.message}",
                        field=d.field or None,
                    )
                )
    return out


# --- output ----------------------------------------------------------------------------


def summary_text(report: Report) -> str:
    """The one-paragraph summary that opens the Markdown and is in the JSON."""
    base, head = report.base.label, report.head.label
    counts = report.counts()
    changed = report.changed_charters()
    if not report.changes:
        text = f"No charter changed between {base} and {head}."
    else:
        n = len(changed)
        parts: list[str] = []
        goalposts = [c for c in report.changes if c.kind == "goalpost-moved"]
        if goalposts:
            metrics = sorted({f"{c.charter}/{c.metric}" for c in goalposts})
            parts.append(
                f"**goalposts moved** on {plural(len(metrics), 'agreed metric')}"
                f" ({', '.join(f'`{x}`' for x in metrics)})"
            )
        added = [c for c in report.changes if c.kind == "charter-added"]
        removed = [c for c in report.changes if c.kind == "charter-removed"]
        renamed = [c for c in added if c.extra.get("renamed_from")]
        if len(added) - len(renamed):
            parts.append(f"{len(added) - len(renamed)} added")
        if len(removed) - len(renamed):
            parts.append(f"{len(removed) - len(renamed)} removed")
        if renamed:
            parts.append(f"{len(renamed)} renamed")
        if counts["status-changed"]:
            parts.append(plural(counts["status-changed"], "status change"))
        if counts["metric-changed"]:
            parts.append(plural(counts["metric-changed"], "other metric change"))
        if counts["results-added"]:
            trends = report.trends()
            detail = ", ".join(f"{v} {k}" for k, v in trends.items() if v)
            parts.append(
                f"new results for {plural(counts['results-added'], 'metric')}"
                + (f" ({detail})" if detail else "")
            )
        if counts["verdict-changed"]:
            parts.append(plural(counts["verdict-changed"], "verdict change"))
        if counts["finding-added"]:
            parts.append(f"{plural(counts['finding-added'], 'finding')} added")
        if counts["finding-resolved"]:
            parts.append(f"{plural(counts['finding-resolved'], 'finding')} resolved")
        text = (
            f"Between {base} and {head}, {plural(n, 'charter')} changed: " + "; ".join(parts) + "."
        )
    problems = []
    for role, side in (("BASE", report.base), ("HEAD", report.head)):
        if not side.ok:
            problems.append(
                f"{role} ({side.label}) has {plural(len(side.errors), 'validation error')}"
            )
    if problems:
        text += " " + "; ".join(problems) + "; charters that loaded were still compared."
    if report.not_compared:
        ids = ", ".join(f"`{x['charter']}`" for x in report.not_compared)
        text += f" Not compared because they did not load: {ids}."
    return text


def report_json(report: Report, fail_on: Iterable[str] = ()) -> dict[str, Any]:
    fail_on = list(fail_on)
    matched = report.matching(fail_on)
    return {
        "version": JSON_VERSION,
        "base": report.base.as_json(),
        "head": report.head.as_json(),
        "changes": [c.as_json() for c in report.changes],
        "not_compared": report.not_compared,
        "summary": {
            "text": summary_text(report),
            "charters_changed": report.changed_charters(),
            "counts": report.counts(),
            "trends": report.trends(),
            "fail_on": fail_on,
            "failed_on": matched,
            "failed": bool(matched),
        },
    }


def format_json(report: Report, fail_on: Iterable[str] = ()) -> str:
    return json.dumps(report_json(report, fail_on), indent=2, ensure_ascii=False) + "\n"


def _cell(value: Any) -> str:
    """Text safe inside a Markdown table cell: no pipes, newlines or raw HTML."""
    text = _show(value) if not isinstance(value, str) else value
    text = " ".join(text.split())
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")


def format_markdown(report: Report, show_all: bool = False, fail_on: Iterable[str] = ()) -> str:
    """A pull-request comment: marker, summary paragraph, then a section per charter."""
    lines = [MARKER, f"## Charter changes: {report.base.label} → {report.head.label}", ""]
    lines += [summary_text(report), ""]
    matched = report.matching(fail_on)
    if matched:
        lines += [f"**Fails on:** {', '.join(f'`{k}`' for k in matched)}.", ""]
    for role, side in (("BASE", report.base), ("HEAD", report.head)):
        lines += _side_markdown(role, side)
    body: list[list[str]] = []
    by_charter: dict[str, list[Change]] = {}
    for change in report.changes:
        by_charter.setdefault(change.charter, []).append(change)
    ids = list(by_charter)
    if show_all:
        ids = sorted(set(ids) | set(report.head.loaded) | set(report.base.loaded))
    for cid in ids:
        body.append(_charter_markdown(report, cid, by_charter.get(cid, []), show_all))
    for item in report.not_compared:
        body.append([f"### `{item['charter']}`", "", _cell(item["message"]) + ".", ""])
    out = "\n".join(lines)
    for i, section in enumerate(body):
        text = "\n".join(section)
        if len(out) + len(text) > MAX_MARKDOWN:
            out += (
                f"\n_{len(body) - i} more charter section(s) left out to fit a comment;"
                " run `charters diff` locally or use `--format json` for everything._\n"
            )
            break
        out += "\n" + text
    return out.rstrip("\n") + "\n"


def _side_markdown(role: str, side: Side) -> list[str]:
    lines: list[str] = []
    if not side.ok:
        lines += [
            "> [!WARNING]",
            f"> **{role} ({_cell(side.label)}) does not load cleanly:**"
            f" {plural(len(side.errors), 'problem')}. Charters that loaded were still compared.",
            "",
            f"<details><summary>Problems in {role}</summary>",
            "",
        ]
        lines += [f"- `{_code(d.format_text())}`" for d in side.errors[:50]]
        if len(side.errors) > 50:
            lines.append(f"- … and {len(side.errors) - 50} more")
        lines += ["", "</details>", ""]
    for note in side.notes:
        lines += [f"_{role}: {_cell(note)}._", ""]
    return lines


def _title(report: Report, cid: str) -> str:
    charter = report.head.loaded.get(cid) or report.base.loaded.get(cid)
    return f" · {_cell(charter.charter.title)}" if charter else ""


def _charter_markdown(report: Report, cid: str, changes: list[Change], show_all: bool) -> list[str]:
    lines = [f"### `{cid}`{_title(report, cid)}", ""]
    plain = [c for c in changes if c.kind not in ("results-added",)]
    if plain:
        lines += ["| Change | Metric | Field | Before | After |", "| --- | --- | --- | --- | --- |"]
        for c in plain:
            before, after = _cell_value(c.before), _cell_value(c.after)
            if c.kind in ("finding-added", "finding-resolved", "charter-added", "charter-removed"):
                before, after = (
                    ("", _cell(c.message)) if c.before is None else (_cell(c.message), "")
                )
            name = f"`{c.metric}`" if c.metric else ""
            label = CHANGE_LABELS[c.kind]
            lines.append(f"| {label} | {name} | {_cell(c.field or '')} | {before} | {after} |")
        lines.append("")
    results = {c.metric: c for c in changes if c.kind == "results-added"}
    head = report.head.loaded.get(cid)
    metric_rows: list[str] = []
    if head is not None:
        rows = _rows_by_metric(head)
        for mid, (_, metric) in metrics_of(head.charter).items():
            change = results.get(mid)
            if change is None and not show_all:
                continue
            if change is not None:
                was, now, trend_cell = (
                    change.before,
                    change.after,
                    TREND_LABELS.get(change.trend or "", ""),
                )
                counts = change.extra.get("rows", {})
                rows_cell = ", ".join(
                    f"+{v}" if k == "added" else f"{v} {k}" for k, v in counts.items() if v
                )
            else:
                was = now = latest_json(rows.get(mid, []), metric)
                trend_cell, rows_cell = "", ""
            _, target = _targets(metric)
            progress_cell = ""
            if now is not None and now.get("progress") is not None:
                progress_cell = f"{now['progress']:.0%} of the way to {fmt(target, metric.unit)}"
            if now is not None and now.get("met"):
                progress_cell = (progress_cell + " ✓ met").strip()
            metric_rows.append(
                f"| `{mid}` | {_latest_cell(was, metric.unit)} | {_latest_cell(now, metric.unit)}"
                f" | {trend_cell} | {progress_cell} | {rows_cell} |"
            )
    if metric_rows:
        lines += [
            "| Metric | Latest before | Latest after | Trend | Progress to target | Rows |",
            "| --- | --- | --- | --- | --- | --- |",
            *metric_rows,
            "",
        ]
    if len(lines) == 2:
        lines += ["No change.", ""]
    return lines


def _code(text: str) -> str:
    """Text safe inside a Markdown code span in a list item."""
    return " ".join(text.replace("`", "'").split())


def _cell_value(value: Any) -> str:
    if isinstance(value, dict):
        return _cell(", ".join(f"{k}: {_show(v)}" for k, v in value.items() if v is not None))
    return _cell(value)


def _latest_cell(value: dict[str, Any] | None, unit: str) -> str:
    if value is None:
        return "—"
    return f"{fmt(value['value'], unit)} ({value['date']})"
