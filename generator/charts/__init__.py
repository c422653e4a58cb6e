"""Charts stage: a chart per metric with results, reused from the last build when unchanged.

:func:`draw_charts` takes the analysed charters and gives a :class:`ChartSet`: every
chart with its text alternative (for the pages) and its SVG (for the site). A metric
with experiment lifts also gets a lift-over-time chart (`<metric>-lift.svg`). A chart
whose spec key matches the previous build's manifest is copied from the previous
site; the others are drawn, in worker processes when there are many.

* :mod:`generator.charts.spec` says what a chart shows (no matplotlib);
* :mod:`generator.charts.draw` draws it with matplotlib, imported only when drawing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..analyze import CharterView, MetricView, mde_threshold
from ..portfolio import CataloguedMetric
from ..write import read_manifest
from .draw import DrawProgress, draw_all, render_svg
from .spec import (
    CHART_VERSION,
    Breach,
    ChartJob,
    ChartSpec,
    ForestRow,
    ForestSpec,
    LiftSpec,
    RefLine,
    Series,
    Tolerance,
    chart_spec,
    describe,
    describe_forest,
    forest_key,
    forest_spec,
    interval_source,
    lift_spec,
    row_interval,
    spec_key,
)

__all__ = [
    "CHART_VERSION",
    "Breach",
    "Chart",
    "ChartJob",
    "ChartSet",
    "ChartSpec",
    "ForestChart",
    "ForestRow",
    "ForestSpec",
    "LiftSpec",
    "RefLine",
    "Series",
    "Tolerance",
    "chart_spec",
    "describe",
    "draw_charts",
    "interval_source",
    "lift_spec",
    "render_svg",
    "row_interval",
    "spec_key",
]


ChartKind = Literal["values", "lift"]


@dataclass(frozen=True)
class Chart:
    """A chart of one metric (its values, or its lift over control), with its text alternative."""

    metric: MetricView
    path: str  # relative to the site root
    alt: str
    key: str  # the spec key, recorded in the manifest to reuse the SVG next time
    kind: ChartKind = "values"
    tolerance: Tolerance | None = None  # a guardrail's, for its data table


@dataclass(frozen=True)
class ForestChart:
    """The forest plot of a catalogued metric: every project's latest lift on one axis."""

    spec: ForestSpec
    path: str  # relative to the site root
    alt: str
    key: str


@dataclass(frozen=True)
class ChartSet:
    """The charts of a site: per charter for the pages, and every SVG by its site path."""

    by_charter: Mapping[str, tuple[Chart, ...]]
    svgs: Mapping[str, bytes]
    drawn: int  # how many were drawn rather than reused
    forests: Mapping[str, ForestChart] = field(default_factory=dict)  # by catalogued metric id

    @property
    def all(self) -> list[Chart]:
        """Every chart, charter by charter."""
        return [chart for charts in self.by_charter.values() for chart in charts]

    def keys(self) -> dict[str, str]:
        """The spec key of each chart by its path, for the manifest."""
        keys = {chart.path: chart.key for chart in self.all}
        keys.update({forest.path: forest.key for forest in self.forests.values()})
        return keys


def previous_keys(site: Path) -> dict[str, str]:
    """The spec keys of the charts the previous build wrote into `site`, by path."""
    charts = read_manifest(site).get("charts")
    if not isinstance(charts, dict):
        return {}
    return {k: v for k, v in charts.items() if isinstance(k, str) and isinstance(v, str)}


def _metric_specs(
    view: CharterView, metric: MetricView
) -> list[tuple[ChartKind, ChartSpec | LiftSpec]]:
    """The charts of one metric: its values when it has rows, its lift when it has lifts."""
    specs: list[tuple[ChartKind, ChartSpec | LiftSpec]] = []
    if metric.rows:
        specs.append(("values", chart_spec(metric)))
    mde = mde_threshold(
        view.charter.measurement.minimum_detectable_effect, metric.id, metric.baseline
    )
    lift = lift_spec(metric, mde)
    if lift is not None:
        specs.append(("lift", lift))
    return specs


def forest_of(metric: CataloguedMetric) -> ForestSpec | None:
    """The forest plot of a catalogued metric: the latest lift of each project that has one."""
    rows = [
        ForestRow(c.view.charter.title, dl.date, dl.lift.absolute, dl.lift.ci_low, dl.lift.ci_high)
        for c in metric.claims
        if (dl := c.metric.lift) is not None
    ]
    entry = metric.entry
    return forest_spec(entry.name, entry.unit, entry.direction, rows)


def _forests(
    catalogued: Sequence[CataloguedMetric], site: Path, previous: Mapping[str, str]
) -> tuple[dict[str, ForestChart], dict[str, bytes], list[ChartJob]]:
    """The forest plot of each catalogued metric with lifts: reused, or a job to draw."""
    forests: dict[str, ForestChart] = {}
    svgs: dict[str, bytes] = {}
    jobs: list[ChartJob] = []
    for metric in catalogued:
        spec = forest_of(metric)
        if spec is None:
            continue
        path, key = f"metrics/{metric.id}/forest.svg", forest_key(spec)
        old = site / path
        if previous.get(path) == key and old.is_file():
            svgs[path] = old.read_bytes()
        else:
            jobs.append(ChartJob(path, spec, chart_id=f"metric-{metric.id}-forest"))
        forests[metric.id] = ForestChart(spec, path, describe_forest(spec), key)
    return forests, svgs, jobs


def draw_charts(
    views: Sequence[CharterView],
    site: Path,
    catalogued: Sequence[CataloguedMetric] = (),
    progress: DrawProgress | None = None,
) -> ChartSet:
    """Every chart of every metric, and a forest plot per catalogued metric; SVGs of
    unchanged charts come from `site`. `progress` hears of each chart drawn."""
    previous = previous_keys(site)
    by_charter: dict[str, tuple[Chart, ...]] = {}
    svgs: dict[str, bytes] = {}
    jobs: list[ChartJob] = []
    for view in views:
        charts: list[Chart] = []
        for metric in view.metrics:
            for kind, spec in _metric_specs(view, metric):
                key = spec_key(spec)
                name = metric.id if kind == "values" else f"{metric.id}-lift"
                path = f"charters/{view.id}/{name}.svg"
                old = site / path
                if previous.get(path) == key and old.is_file():
                    svgs[path] = old.read_bytes()
                else:
                    jobs.append(ChartJob(path, spec, chart_id=f"{view.id}-{name}"))
                tolerance = spec.tolerance if isinstance(spec, ChartSpec) else None
                charts.append(Chart(metric, path, describe(spec), key, kind, tolerance))
        by_charter[view.id] = tuple(charts)
    forests, forest_svgs, forest_jobs = _forests(catalogued, site, previous)
    svgs.update(forest_svgs)
    drawn = draw_all(jobs + forest_jobs, progress)
    svgs.update(drawn)
    return ChartSet(by_charter, svgs, drawn=len(drawn), forests=forests)
