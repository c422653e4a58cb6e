"""Charts stage: a chart per metric with results, reused from the last build when unchanged.

:func:`draw_charts` takes the analysed charters and gives a :class:`ChartSet`: every
chart with its text alternative (for the pages) and its SVG (for the site). A chart
whose spec key matches the previous build's manifest is copied from the previous
site; the others are drawn, in worker processes when there are many.

* :mod:`generator.charts.spec` says what a chart shows (no matplotlib);
* :mod:`generator.charts.draw` draws it with matplotlib, imported only when drawing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..analyze import CharterView, MetricView
from ..write import read_manifest
from .draw import draw_all, render_svg
from .spec import (
    CHART_VERSION,
    ChartJob,
    ChartSpec,
    RefLine,
    Series,
    chart_spec,
    describe,
    spec_key,
)

__all__ = [
    "CHART_VERSION",
    "Chart",
    "ChartJob",
    "ChartSet",
    "ChartSpec",
    "RefLine",
    "Series",
    "chart_spec",
    "describe",
    "draw_charts",
    "render_svg",
    "spec_key",
]


@dataclass(frozen=True)
class Chart:
    """A chart of one metric, with its text alternative."""

    metric: MetricView
    path: str  # relative to the site root
    alt: str
    key: str  # the spec key, recorded in the manifest to reuse the SVG next time


@dataclass(frozen=True)
class ChartSet:
    """The charts of a site: per charter for the pages, and every SVG by its site path."""

    by_charter: Mapping[str, tuple[Chart, ...]]
    svgs: Mapping[str, bytes]
    drawn: int  # how many were drawn rather than reused

    @property
    def all(self) -> list[Chart]:
        """Every chart, charter by charter."""
        return [chart for charts in self.by_charter.values() for chart in charts]

    def keys(self) -> dict[str, str]:
        """The spec key of each chart by its path, for the manifest."""
        return {chart.path: chart.key for chart in self.all}


def previous_keys(site: Path) -> dict[str, str]:
    """The spec keys of the charts the previous build wrote into `site`, by path."""
    charts = read_manifest(site).get("charts")
    if not isinstance(charts, dict):
        return {}
    return {k: v for k, v in charts.items() if isinstance(k, str) and isinstance(v, str)}


def draw_charts(views: Sequence[CharterView], site: Path) -> ChartSet:
    """A chart per metric with results; SVGs of unchanged charts come from `site`."""
    previous = previous_keys(site)
    by_charter: dict[str, tuple[Chart, ...]] = {}
    svgs: dict[str, bytes] = {}
    jobs: list[ChartJob] = []
    for view in views:
        charts: list[Chart] = []
        for metric in view.metrics:
            if not metric.rows:
                continue
            spec = chart_spec(metric)
            key = spec_key(spec)
            path = f"charters/{view.id}/{metric.id}.svg"
            old = site / path
            if previous.get(path) == key and old.is_file():
                svgs[path] = old.read_bytes()
            else:
                jobs.append(ChartJob(path, spec, chart_id=f"{view.id}-{metric.id}"))
            charts.append(Chart(metric, path, describe(spec), key))
        by_charter[view.id] = tuple(charts)
    drawn = draw_all(jobs)
    svgs.update(drawn)
    return ChartSet(by_charter, svgs, drawn=len(drawn))
