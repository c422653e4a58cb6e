"""Diff stage: comparing two analysed sides, charter by charter, into a list of changes.

The comparison is plain data: a `DiffReport` holding `Change`s, each of a kind named
in `vocabulary.CHANGE_KINDS`. Charters are paired by id (a rename by its title or its
metric ids) and each pair goes through `COMPARISONS`, one function per concern, in the
order the changes are reported. A new kind of change is one more function there, plus
its kind and label in the vocabulary (and a line in docs/diff.md).

Numbers come from the analysis `charters check` runs on each side: a metric's latest
value, progress, whether it met its target and its status are read from its
`MetricView`, never recomputed here. Field changes come from the charter text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date
from typing import Any, NamedTuple

from .. import model as m
from ..analyze import MetricView
from ..diagnostics import Diagnostic
from ..formatting import exact_number, fmt_percent, fmt_value, plural
from ..load import Result
from ..rules import CharterCheck
from ..vocabulary import CHANGE_KINDS, KIND_LABELS, TRENDS, ChangeKind, Trend, label
from .sides import Side

KINDS = CHANGE_KINDS
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


@dataclass(frozen=True)
class PseudoKind:
    """A name `--fail-on` accepts besides the kinds: it selects changes by what they mean."""

    description: str
    found: Callable[[DiffReport], bool]


def _with_trend(trend: Trend) -> Callable[[DiffReport], bool]:
    return lambda r: any(c.kind == "results-added" and c.trend == trend for c in r.changes)


PSEUDO_KINDS: dict[str, PseudoKind] = {
    "regressed": PseudoKind(
        "results-added changes whose latest value got worse", _with_trend("regressed")
    ),
    "improved": PseudoKind(
        "results-added changes whose latest value got better", _with_trend("improved")
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


@dataclass(frozen=True)
class Pair:
    """Two versions of one charter, each as `check` analysed it, reported under `cid`."""

    cid: str
    base: CharterCheck
    head: CharterCheck


CharterComparison = Callable[[Pair], Iterator[Change]]


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
    for cid in sorted(set(base.present) | set(head.present)):
        if cid in removed:
            report.changes.append(_removed(cid, base.checks.get(cid), renamed_to.get(cid)))
        elif cid in added:
            report.changes.extend(_added(cid, base, head, renamed_from.get(cid)))
        elif cid in base.checks and cid in head.checks:
            report.changes.extend(compare_charter(Pair(cid, base.checks[cid], head.checks[cid])))
        else:
            report.not_compared.append(_not_compared(cid, base, head))
    return report


def compare_charter(pair: Pair) -> list[Change]:
    """Every difference between two versions of one charter, in the reported order."""
    return [change for comparison in COMPARISONS for change in comparison(pair)]


def _renames(removed: list[CharterCheck], added: list[CharterCheck]) -> list[tuple[str, str]]:
    """Pairs (old id, new id) of a removed and an added charter that are one project.

    Same title first, then the same set of metric ids; each charter pairs once.
    """
    pairs: list[tuple[str, str]] = []
    used: set[str] = set()
    keys: tuple[Callable[[CharterCheck], object], ...] = (
        lambda c: c.view.charter.title.strip().casefold(),
        lambda c: tuple(sorted(c.view.loaded.metric_ids())),
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


def _summary(check: CharterCheck | None, verdict: bool) -> dict[str, Any] | None:
    if check is None:
        return None
    charter = check.view.charter
    out: dict[str, Any] = {"title": charter.title, "status": charter.status}
    if verdict:
        out["verdict"] = check.verdict
    return out


def _added(cid: str, base: Side, head: Side, old_id: str | None) -> list[Change]:
    """A charter folder in HEAD only: new, or the new name of a BASE charter."""
    new = head.checks.get(cid)
    if old_id is not None:
        message = f"charter `{cid}` renamed from `{old_id}`"
    elif new is None:
        message = f"charter `{cid}` added, but it does not load (see the HEAD problems)"
    else:
        status = label(new.view.charter.status, "status")
        message = f"charter `{cid}` added: {new.view.charter.title} ({status})"
    extra = {"renamed_from": old_id} if old_id is not None else {}
    out = [Change("charter-added", cid, None, None, _summary(new, True), message, extra=extra)]
    if new is not None and old_id is not None:
        out += compare_charter(Pair(cid, base.checks[old_id], new))
    elif new is not None:
        out += findings_between(cid, (), new.findings)
    return out


def _removed(cid: str, old: CharterCheck | None, new_id: str | None) -> Change:
    if new_id is not None:
        message = f"charter `{cid}` renamed to `{new_id}`"
    elif old is None:
        message = f"charter `{cid}` removed (it did not load in BASE either)"
    else:
        message = f"charter `{cid}` removed: {old.view.charter.title}"
    extra = {"renamed_to": new_id} if new_id is not None else {}
    return Change("charter-removed", cid, None, _summary(old, False), None, message, extra=extra)


def _not_compared(cid: str, base: Side, head: Side) -> dict[str, str]:
    """A charter on both sides that did not load on one of them (or either)."""
    failed = [
        (role, side) for role, side in (("base", base), ("head", head)) if cid not in side.checks
    ]
    where = " and ".join(f"{role.upper()} ({side.label})" for role, side in failed)
    return {
        "charter": cid,
        "side": failed[0][0] if len(failed) == 1 else "both",
        "message": f"Not compared: it did not load in {where}",
    }


# --- status and verdict -------------------------------------------------------------------


def status_changes(pair: Pair) -> Iterator[Change]:
    was, now = pair.base.view.charter.status, pair.head.view.charter.status
    yield from _coded(pair.cid, "status-changed", "status", was, now, field="status")


def verdict_changes(pair: Pair) -> Iterator[Change]:
    yield from _coded(pair.cid, "verdict-changed", "verdict", pair.base.verdict, pair.head.verdict)


def _coded(
    cid: str, kind: ChangeKind, vocabulary: str, was: str, now: str, field: str | None = None
) -> Iterator[Change]:
    """A change of a coded value (status, verdict): codes in the JSON, labels in the text."""
    if was != now:
        text = f"{vocabulary}: {label(was, vocabulary)} → {label(now, vocabulary)}"
        yield Change(kind, cid, None, was, now, text, field=field)


# --- metrics: added, removed, fields, goalposts -------------------------------------------


def metric_changes(pair: Pair) -> Iterator[Change]:
    """Metrics added, removed, moved between kinds, or with a changed field."""
    before = {e.metric.id: e for e in pair.base.view.charter.metrics()}
    after = {e.metric.id: e for e in pair.head.view.charter.metrics()}
    for mid in [*after, *(x for x in before if x not in after)]:
        old, new = before.get(mid), after.get(mid)
        if old is None and new is not None:
            yield _metric_added(pair.cid, new)
        elif new is None and old is not None:
            yield _metric_removed(pair.cid, old)
        elif old is not None and new is not None:
            yield from _metric_fields(pair.cid, old, new)


def _metric_added(cid: str, new: m.MetricEntry) -> Change:
    mid, about = new.metric.id, {"kind": new.kind, "name": new.metric.name}
    text = f"new {KIND_LABELS[new.kind]} `{mid}`: {new.metric.name}"
    return Change("metric-changed", cid, mid, None, about, text)


def _metric_removed(cid: str, old: m.MetricEntry) -> Change:
    mid, about = old.metric.id, {"kind": old.kind, "name": old.metric.name}
    agreed = _agreed_on(old.metric)
    note = f" (it was agreed on {agreed.isoformat()})" if agreed else ""
    return Change(
        "metric-changed", cid, mid, about, None, f"{KIND_LABELS[old.kind]} `{mid}` removed{note}"
    )


def _metric_fields(cid: str, old: m.MetricEntry, new: m.MetricEntry) -> Iterator[Change]:
    mid = new.metric.id
    if old.kind != new.kind:
        text = f"`{mid}` moved from {KIND_LABELS[old.kind]}s to {KIND_LABELS[new.kind]}s"
        yield Change("metric-changed", cid, mid, old.kind, new.kind, text, field="kind")
    was, now = _fields(old.metric), _fields(new.metric)
    for name in [*now, *(x for x in was if x not in now)]:
        if was.get(name) != now.get(name):
            yield field_change(cid, name, was.get(name), now.get(name), old.metric, new.metric)


def field_change(
    cid: str, name: str, was: Any, now: Any, old: m.AnyMetric, new: m.AnyMetric
) -> Change:
    """One changed field of a metric: a plain change, or a moved goalpost."""
    text = f"`{new.id}` {name}: {show(was)} → {show(now)}"
    if name == "target.value" and isinstance(was, float) and isinstance(now, float):
        text += f" ({_ambition(was, now, new.direction)})"
    kind, note = goalpost(name, old, new)
    return Change(kind, cid, new.id, was, now, text + note, field=name)


class Goalpost(NamedTuple):
    kind: ChangeKind
    note: str  # appended to the change's message


def goalpost(name: str, old: m.AnyMetric, new: m.AnyMetric) -> Goalpost:
    """Whether changing field `name` from `old` to `new` moves an agreed goalpost.

    It does when the field is one of `GOALPOST_FIELDS`, BASE has `agreed.on`, and
    HEAD has no new `agreed.on` date (the same date, or the agreement removed).
    """
    agreed, now_agreed = _agreed_on(old), _agreed_on(new)
    if name not in GOALPOST_FIELDS or agreed is None:
        return Goalpost("metric-changed", "")
    if now_agreed is not None and now_agreed != agreed:
        return Goalpost("metric-changed", f"; re-agreed on {now_agreed.isoformat()}")
    return Goalpost(
        "goalpost-moved",
        f", after it was agreed on {agreed.isoformat()}, without a new `agreed.on` date",
    )


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


# --- results ----------------------------------------------------------------------------------


def result_changes(pair: Pair) -> Iterator[Change]:
    """Metrics of HEAD whose result rows were added, revised or removed."""
    for after in pair.head.view.metrics:
        before = pair.base.view.metric(after.id)
        rows = row_counts(before.rows if before else (), after.rows)
        if not any(rows.values()):
            continue
        moved = trend(before, after)
        yield Change(
            "results-added",
            pair.cid,
            after.id,
            latest(before),
            latest(after),
            _results_message(before, after, moved, rows),
            trend=moved.trend,
            extra={"rows": rows, "trend_reference": moved.reference},
            base_metric=before,
            head_metric=after,
        )


def _row_key(result: Result) -> tuple[date, str]:
    return result.row.date, result.row.variant or ""


def _row_value(result: Result) -> tuple[Any, ...]:
    row = result.row
    return (row.value, row.lower, row.upper, row.n, row.std)


def row_counts(old: Sequence[Result], new: Sequence[Result]) -> dict[str, int]:
    """How many rows (by date and variant) were added, revised (other numbers) or removed."""
    was = {_row_key(r): _row_value(r) for r in old}
    now = {_row_key(r): _row_value(r) for r in new}
    return {
        "added": sum(1 for k in now if k not in was),
        "revised": sum(1 for k in now if k in was and now[k] != was[k]),
        "removed": sum(1 for k in was if k not in now),
    }


def latest(view: MetricView | None) -> dict[str, Any] | None:
    """A metric's latest value as the JSON reports it, with progress, met and status."""
    if view is None or view.latest is None:
        return None
    row = view.latest.row
    return {
        "date": row.date.isoformat(),
        "value": row.value,
        "variant": row.variant,
        "progress": view.progress,
        "met": view.met,
        "status": view.status,
    }


class Movement(NamedTuple):
    trend: Trend | None
    reference: str | None  # "previous latest" or "baseline"; None without a trend


def trend(before: MetricView | None, after: MetricView) -> Movement:
    """How new results moved a metric, by its direction, and against what.

    The latest value after against the latest value before; with no result before,
    against the metric's baseline; no trend when neither exists.
    """
    if after.latest is None:
        return Movement(None, None)
    now = after.latest.row.value
    if before is not None and before.latest is not None:
        return Movement(
            direction_trend(before.latest.row.value, now, after.direction), "previous latest"
        )
    if after.baseline is not None:
        return Movement(direction_trend(after.baseline, now, after.direction), "baseline")
    return Movement(None, None)


def direction_trend(was: float, now: float, direction: m.Direction) -> Trend:
    if now == was:
        return "unchanged"
    better = now > was if direction == "increase" else now < was
    return "improved" if better else "regressed"


def _results_message(
    before: MetricView | None, after: MetricView, moved: Movement, rows: dict[str, int]
) -> str:
    text = f"`{after.id}`: " + ", ".join(
        f"{plural(n, 'row')} {what}" for what, n in rows.items() if n
    )
    if after.latest is None:
        return text + " (no latest value outside the control arm)"
    was = (
        fmt_value(before.latest.row.value, before.unit) if before and before.latest else "no result"
    )
    now = fmt_value(after.latest.row.value, after.unit)
    text += f"; latest {was} → {now} ({after.latest.row.date.isoformat()})"
    if moved.trend is not None:
        text += f", {moved.trend}" + (
            " against the baseline" if moved.reference == "baseline" else ""
        )
    if after.progress is not None and after.target is not None:
        target = fmt_value(after.target, after.unit)
        text += f"; {fmt_percent(after.progress)} of the way to the target {target}"
    if after.met:
        text += " (target met)"
    return text


# --- findings of `charters check` -----------------------------------------------------------


def finding_changes(pair: Pair) -> Iterator[Change]:
    yield from findings_between(pair.cid, pair.base.findings, pair.head.findings)


def findings_between(
    cid: str, before: Sequence[Diagnostic], after: Sequence[Diagnostic]
) -> Iterator[Change]:
    """Findings that appear (in HEAD's order), then findings that disappear (in BASE's)."""
    for d in _unmatched(after, before):
        text = f"{d.severity} {d.code}: {d.message}"
        yield Change("finding-added", cid, None, None, d.as_json(), text, field=d.field or None)
    for d in _unmatched(before, after):
        text = f"resolved {d.code}: {d.message}"
        yield Change("finding-resolved", cid, None, d.as_json(), None, text, field=d.field or None)


def _finding_key(d: Diagnostic) -> tuple[str, str]:
    # Lines move with every edit and messages quote numbers that move with new
    # results: a finding is the same finding while its rule and field are.
    return (d.code, d.field)


def _unmatched(findings: Sequence[Diagnostic], others: Sequence[Diagnostic]) -> list[Diagnostic]:
    """The findings with no counterpart (same rule and field) among `others`, in order."""
    spare = Counter(_finding_key(d) for d in findings) - Counter(_finding_key(d) for d in others)
    out: list[Diagnostic] = []
    for d in findings:
        if spare[_finding_key(d)] > 0:
            spare[_finding_key(d)] -= 1
            out.append(d)
    return out


# The comparisons of two versions of a charter, in the order their changes are reported.
COMPARISONS: tuple[CharterComparison, ...] = (
    status_changes,
    metric_changes,
    result_changes,
    verdict_changes,
    finding_changes,
)
