"""Analyse stage: from a loaded charter to what the pages show: series, latest values, progress.

Nothing here reads files or renders; every function takes plain data and returns
plain data, so each rule can be tested on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from . import model as m
from .load import LoadedCharter, Project, Result
from .stats import Arm, Lift, lift, progress, reached
from .vocabulary import TREATMENT, Kind, MetricStatus, Verdict, is_control

Status = MetricStatus  # a metric's status, named for the stage that decides it


@dataclass(frozen=True, slots=True)  # slots: a long series has one per date
class DatedLift:
    """The lift of the treatment arm over control on one date."""

    date: date
    treatment: str
    lift: Lift


@dataclass(frozen=True)
class MetricView:
    """One metric of a charter with its results and derived numbers."""

    id: str
    kind: Kind
    name: str
    unit: str
    direction: m.Direction
    definition: str | None
    baseline: float | None
    target: float | None
    human: float | None
    rows: tuple[Result, ...]
    latest: Result | None
    progress: float | None
    met: bool | None
    drives: tuple[str, ...] = ()
    tolerance: float | None = None
    lift: DatedLift | None = None
    lifts: tuple[DatedLift, ...] = ()
    status: Status = "no-results"
    move: float | None = None  # change in the good-or-bad sense, see `movement`
    move_reference: str | None = None
    move_interval: tuple[float, float] | None = None
    breached: bool = False
    original_target: float | None = None  # before a goalpost moved after results (history.py)

    @property
    def variants(self) -> list[str]:
        """Variant labels in a stable order: production first, control, then the rest."""
        names = {r.row.variant or "" for r in self.rows}
        return sorted(names, key=lambda v: (v != "", not is_control(v), v))

    def series(self, variant: str) -> list[Result]:
        return [r for r in self.rows if (r.row.variant or "") == variant]


@dataclass
class CharterView:
    """A charter plus everything computed from it for the pages."""

    loaded: LoadedCharter
    metrics: list[MetricView] = field(default_factory=list)
    verdict: Verdict = "no-results"

    @property
    def breached(self) -> list[MetricView]:
        return [g for g in self.by_kind("guardrail") if g.breached]

    @property
    def id(self) -> str:
        return self.loaded.id

    @property
    def charter(self) -> m.Charter:
        return self.loaded.charter

    def by_kind(self, kind: Kind) -> list[MetricView]:
        return [x for x in self.metrics if x.kind == kind]

    def metric(self, mid: str) -> MetricView | None:
        return next((x for x in self.metrics if x.id == mid), None)

    @property
    def latest_date(self) -> date | None:
        dates = [r.row.date for r in self.loaded.results]
        return max(dates) if dates else None

    @property
    def human_baseline_state(self) -> Literal["done", "waived", "missing"]:
        hb = self.charter.human_baseline
        if hb is None:
            return "missing"
        return "waived" if hb.is_waived else "done"


def latest_row(rows: Iterable[Result]) -> Result | None:
    """The newest observation that is not a control arm.

    Production rows and treatment arms both say where the metric stands with the
    model; on the same date a production row wins over an experiment arm.
    """
    candidates = [r for r in rows if not is_control(r.row.variant)]
    if not candidates:
        return None
    return max(
        candidates,
        key=lambda r: (r.row.date, r.row.variant is None, r.row.variant or ""),
    )


def _arm(result: Result) -> Arm:
    row = result.row
    return Arm(value=row.value, n=row.n, std=row.std, lower=row.lower, upper=row.upper)


def treatment_variant(rows: Iterable[Result]) -> str | None:
    """The arm compared with control: `treatment` if present, else the first other variant."""
    names = sorted({r.row.variant for r in rows if r.row.variant and not is_control(r.row.variant)})
    if not names:
        return None
    return next((n for n in names if n.strip().lower() == TREATMENT), names[0])


def lift_history(rows: list[Result], unit: str) -> tuple[DatedLift, ...]:
    """Lifts on every date on which both control and the treatment arm have a row."""
    arm = treatment_variant(rows)
    if arm is None:
        return ()
    control = {r.row.date: r for r in rows if is_control(r.row.variant)}
    out: list[DatedLift] = []
    for r in rows:
        if r.row.variant == arm and r.row.date in control:
            computed = lift(_arm(control[r.row.date]), _arm(r), unit)
            if computed is not None:
                out.append(DatedLift(r.row.date, arm, computed))
    return tuple(sorted(out, key=lambda x: x.date))


def _good(delta: float, direction: m.Direction) -> float:
    """A change expressed so that positive is good."""
    return delta if direction == "increase" else -delta


def mde_threshold(
    mde: m.MinimumDetectableEffect | None, metric_id: str, reference: float | None
) -> float | None:
    """The minimum detectable effect of `metric_id` in its unit, if the plan gives one."""
    if mde is None or mde.metric != metric_id:
        return None
    if mde.absolute is not None:
        return mde.absolute
    if mde.relative is not None and reference is not None:
        return abs(reference) * mde.relative
    return None


def metric_status(
    *,
    direction: m.Direction,
    rows: list[Result],
    latest: Result | None,
    target: float | None,
    baseline: float | None,
    current_lift: DatedLift | None,
    mde: float | None,
) -> tuple[Status, float | None, str | None, tuple[float, float] | None]:
    """Status of a metric, with the move it rests on (good-positive), its reference and CI.

    The evidence, strongest first: the experiment lift's 95% interval; else the
    latest row's own interval against the baseline; else a move of at least the
    minimum detectable effect against the control arm or the baseline. Without
    any of these a move is not counted as evidence (`flat`).
    """
    if latest is None:
        return "no-results", None, None, None
    if target is not None and reached(target, latest.row.value, direction):
        status: Status = "met"
    else:
        status = "flat"
    if current_lift is not None:
        lf = current_lift.lift
        lo, hi = sorted((_good(lf.ci_low, direction), _good(lf.ci_high, direction)))
        move = _good(lf.absolute, direction)
        if status != "met":
            status = "improved" if lo > 0 else "worse" if hi < 0 else "flat"
        return status, move, "control", (lo, hi)
    control = [r for r in rows if is_control(r.row.variant) and r.row.date == latest.row.date]
    if control:
        reference, label = control[0].row.value, "control"
    elif baseline is not None:
        reference, label = baseline, "baseline"
    else:
        return status, None, None, None
    move = _good(latest.row.value - reference, direction)
    interval: tuple[float, float] | None = None
    if label == "baseline" and latest.row.lower is not None and latest.row.upper is not None:
        lo, hi = sorted(
            (_good(latest.row.lower - reference, direction),
             _good(latest.row.upper - reference, direction))
        )  # fmt: skip
        interval = (lo, hi)
        if status != "met":
            status = "improved" if lo > 0 else "worse" if hi < 0 else "flat"
    elif mde is not None and status != "met" and abs(move) >= mde:
        status = "improved" if move > 0 else "worse"
    return status, move, label, interval


def guardrail_move(
    rows: list[Result], baseline: float | None, direction: m.Direction
) -> tuple[float | None, str | None]:
    """How far a guardrail moved in its good direction (negative = worse), and against what.

    Against the control arm where results have one (the latest date with both
    arms), else against its baseline, else against its first result.
    """
    history = [r for r in rows]
    arm = treatment_variant(history)
    if arm is not None:
        control = {r.row.date: r.row.value for r in history if is_control(r.row.variant)}
        paired = [r for r in history if r.row.variant == arm and r.row.date in control]
        if paired:
            last = max(paired, key=lambda r: r.row.date)
            return _good(last.row.value - control[last.row.date], direction), "control"
    latest = latest_row(history)
    if latest is None:
        return None, None
    if baseline is not None:
        return _good(latest.row.value - baseline, direction), "baseline"
    first = min((r for r in history if not is_control(r.row.variant)), key=lambda r: r.row.date)
    return _good(latest.row.value - first.row.value, direction), "first result"


def _view(
    kind: Kind,
    metric: m.BusinessMetric | m.MLMetric | m.Guardrail,
    rows: list[Result],
    human: dict[str, float],
    mde: m.MinimumDetectableEffect | None,
) -> MetricView:
    baseline: float | None = metric.baseline.value if metric.baseline else None
    target: float | None = None
    drives: tuple[str, ...] = ()
    tolerance: float | None = None
    if isinstance(metric, m.BusinessMetric):
        target = metric.target.value
    elif isinstance(metric, m.MLMetric):
        target = metric.target.value if metric.target else None
        drives = tuple(metric.drives)
    else:
        tolerance = metric.tolerance.value
    latest = latest_row(rows)
    prog = met = None
    if latest is not None and target is not None:
        met = reached(target, latest.row.value, metric.direction)
        if baseline is not None:
            prog = progress(baseline, target, latest.row.value)
    lifts = lift_history(rows, metric.unit)
    current = lifts[-1] if lifts else None
    breached = False
    interval: tuple[float, float] | None = None
    if isinstance(metric, m.Guardrail):
        move, reference = guardrail_move(rows, baseline, metric.direction)
        status: Status = "no-results" if latest is None else "flat"
        if move is not None:
            breached = -move > metric.tolerance.value
            status = "worse" if breached else "flat"
    else:
        status, move, reference, interval = metric_status(
            direction=metric.direction,
            rows=rows,
            latest=latest,
            target=target,
            baseline=baseline,
            current_lift=current,
            mde=mde_threshold(mde, metric.id, baseline),
        )
    return MetricView(
        id=metric.id,
        kind=kind,
        name=metric.name,
        unit=metric.unit,
        direction=metric.direction,
        definition=metric.definition,
        baseline=baseline,
        target=target,
        human=human.get(metric.id),
        rows=tuple(rows),
        latest=latest,
        progress=prog,
        met=met,
        drives=drives,
        tolerance=tolerance,
        lift=current,
        lifts=lifts,
        status=status,
        move=move,
        move_reference=reference,
        move_interval=interval,
        breached=breached,
    )


def verdict(view: CharterView) -> Verdict:
    """The charter's verdict: the first rule that applies, in the documented order."""
    business = view.by_kind("business")
    moved = {"met", "improved"}
    if business and all(b.status == "met" for b in business):
        return "target-met"
    if any(b.status in moved for b in business):
        return "business-impact"
    for ml in view.by_kind("ml"):
        if ml.met and not any(
            (d := view.metric(mid)) is not None and d.status in moved for mid in ml.drives
        ):
            return "ml-only"
    if any(b.rows for b in business):
        return "no-impact"
    if any(x.rows for x in view.metrics):
        return "no-business-results"
    return "no-results"


def analyze_charter(loaded: LoadedCharter) -> CharterView:
    """Derive every metric's series, latest value, progress, lift and status; then the verdict."""
    c = loaded.charter
    human: dict[str, float] = {}
    if c.human_baseline is not None:
        human = {r.metric: r.value for r in c.human_baseline.results}
    by_metric: dict[str, list[Result]] = {}
    for result in loaded.results:
        by_metric.setdefault(result.row.metric, []).append(result)
    view = CharterView(loaded)
    mde = c.measurement.minimum_detectable_effect
    for entry in c.metrics():
        rows = by_metric.get(entry.metric.id, [])
        view.metrics.append(_view(entry.kind, entry.metric, rows, human, mde))
    view.verdict = verdict(view)
    return view


def analyze_project(project: Project) -> list[CharterView]:
    """Every charter of the project analysed, in the project's order."""
    return [analyze_charter(loaded) for loaded in project.charters]
