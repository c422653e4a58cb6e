"""Pure functions from a loaded charter to what the pages show: series, latest values, progress.

Nothing here reads files or renders; every function takes plain data and returns
plain data, so each rule can be tested on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from . import model as m
from .stats import progress, reached
from .validate import LoadedCharter, Result

Kind = Literal["business", "ml", "guardrail"]
CONTROL = "control"


def is_control(variant: str | None) -> bool:
    return variant is not None and variant.strip().lower() == CONTROL


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


def _view(
    kind: Kind,
    metric: m.BusinessMetric | m.MLMetric | m.Guardrail,
    rows: list[Result],
    human: dict[str, float],
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
    )


def analyze_charter(loaded: LoadedCharter) -> CharterView:
    """Derive every metric's series, latest value and progress."""
    c = loaded.charter
    human: dict[str, float] = {}
    if c.human_baseline is not None:
        human = {r.metric: r.value for r in c.human_baseline.results}
    by_metric: dict[str, list[Result]] = {}
    for result in loaded.results:
        by_metric.setdefault(result.row.metric, []).append(result)
    view = CharterView(loaded)
    kinds: list[tuple[Kind, list[m.BusinessMetric] | list[m.MLMetric] | list[m.Guardrail]]] = [
        ("business", c.business_metrics),
        ("ml", c.ml_metrics),
        ("guardrail", c.measurement.guardrails),
    ]
    for kind, metrics in kinds:
        for metric in metrics:
            view.metrics.append(_view(kind, metric, by_metric.get(metric.id, []), human))
    return view
