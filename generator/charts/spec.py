"""Charts stage, what a chart shows: specs, cache keys and text alternatives (no matplotlib).

* :class:`Series`, :class:`RefLine` and :class:`ChartSpec` describe a chart, and
  :func:`chart_spec` makes the one of a metric: a line per variant with its 95%
  intervals, and the baseline, human baseline and target as reference lines;
* :func:`spec_key` gives a stable cache key for a spec, so an unchanged chart is
  reused from the previous build instead of drawn again;
* :func:`describe` gives a short plain-text alternative for screen readers;
* :class:`ChartJob` is one chart still to draw (see :mod:`generator.charts.draw`).

Nothing here imports matplotlib, so describing charts and deciding which ones to
draw costs no drawing library.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from ..analyze import MetricView
from ..formatting import aligned_formatter, finite, fmt_value
from ..load import Result
from ..stats import Arm, arm_interval
from ..vocabulary import REF_KINDS, REF_LABELS, RefKind, is_control

#: Bump whenever the drawing code changes in a way that changes the output,
#: so that cached SVGs keyed by :func:`spec_key` are invalidated.
CHART_VERSION = "charts-1"

#: Reference lines in the order of the legend and of the text alternative.
REF_ORDER: tuple[RefKind, ...] = ("target", "human", "baseline")


@dataclass(frozen=True)
class Series:
    """One line on a chart: production observations or one experiment variant."""

    label: str  # "" for production observations, else variant name e.g. "control"
    dates: tuple[date, ...]
    values: tuple[float, ...]
    lower: tuple[float | None, ...]  # same length as dates; None where no interval
    upper: tuple[float | None, ...]


@dataclass(frozen=True)
class RefLine:
    """A horizontal reference line (baseline, human baseline or target)."""

    kind: RefKind
    label: str  # e.g. "Baseline 6.2 h", "Human baseline 4.9 h", "Target 4.5 h"
    value: float


@dataclass(frozen=True)
class ChartSpec:
    """Everything needed to draw the chart of one metric."""

    title: str  # metric name
    unit: str  # free text unit: "hours", "%", "ratio", "USD", ...
    direction: Literal["increase", "decrease"]
    series: tuple[Series, ...]
    refs: tuple[RefLine, ...]
    hidden: int = 0  # variants left out of the chart (see MAX_VARIANTS); in its data table


@dataclass(frozen=True)
class ChartJob:
    """One chart still to draw: where its SVG goes, what it shows, and its id on the page."""

    path: str  # relative to the site root, e.g. "charters/churn/retention.svg"
    spec: ChartSpec
    chart_id: str  # salts the SVG's element ids, e.g. "churn-retention"


# --------------------------------------------------------------------------- #
# The chart of a metric
# --------------------------------------------------------------------------- #


def _interval(result: Result, unit: str) -> tuple[float | None, float | None]:
    """A row's 95% interval: as given, or computed from its n and std."""
    row = result.row
    if row.lower is not None or row.upper is not None:
        return row.lower, row.upper
    computed = arm_interval(Arm(row.value, n=row.n, std=row.std), unit)
    return computed if computed is not None else (None, None)


#: Variants a chart draws besides production and control arms; the rest are counted
#: in a note. More lines than this cannot be told apart, and drawing thousands of
#: them (and their legend) takes minutes.
MAX_VARIANTS = 8


def _by_variant(metric: MetricView) -> dict[str, list[Result]]:
    """The metric's rows by variant ("" for production), in one pass."""
    groups: dict[str, list[Result]] = {}
    for result in metric.rows:
        groups.setdefault(result.row.variant or "", []).append(result)
    return groups


#: Control arms a chart draws (names such as `Control` and `control ` all count as one).
MAX_CONTROLS = 2


def drawn_variants(groups: dict[str, list[Result]]) -> tuple[list[str], int]:
    """The variants a chart draws, in legend order, and how many are left out.

    Production is always drawn, and so are the `MAX_CONTROLS` control arms and
    the `MAX_VARIANTS` other variants with the most rows (then the newest
    result, then by name).
    """

    def most_rows(names: list[str], limit: int) -> list[str]:
        names.sort(
            key=lambda v: (-len(groups[v]), -max(r.row.date for r in groups[v]).toordinal(), v)
        )
        return names[:limit]

    controls = [v for v in groups if v != "" and is_control(v)]
    others = [v for v in groups if v != "" and not is_control(v)]
    kept = set(most_rows(controls, MAX_CONTROLS)) | set(most_rows(others, MAX_VARIANTS))
    if "" in groups:
        kept.add("")
    order = sorted(kept, key=lambda v: (v != "", not is_control(v), v))
    return order, len(groups) - len(kept)


def _series(metric: MetricView, variant: str, rows: list[Result]) -> Series:
    intervals = [_interval(r, metric.unit) for r in rows]
    return Series(
        label=variant,
        dates=tuple(r.row.date for r in rows),
        values=tuple(r.row.value for r in rows),
        lower=tuple(lower for lower, _ in intervals),
        upper=tuple(upper for _, upper in intervals),
    )


def chart_spec(metric: MetricView) -> ChartSpec:
    """The chart of one metric: a line per variant, intervals, reference lines."""
    refs = [
        RefLine(kind, f"{REF_LABELS[kind]} {fmt_value(value, metric.unit)}", value)
        for kind, value in zip(
            REF_KINDS, (metric.baseline, metric.human, metric.target), strict=True
        )
        if value is not None
    ]
    groups = _by_variant(metric)
    variants, hidden = drawn_variants(groups)
    return ChartSpec(
        title=metric.name,
        unit=metric.unit,
        direction=metric.direction,
        series=tuple(_series(metric, v, groups[v]) for v in variants),
        refs=tuple(refs),
        hidden=hidden,
    )


# --------------------------------------------------------------------------- #
# Cache key
# --------------------------------------------------------------------------- #


def _num(value: float | None) -> float | str | None:
    """JSON-safe, canonical form of a number (NaN/inf become strings)."""
    if value is None:
        return None
    f = float(value)
    if math.isfinite(f):
        return f
    return repr(f)


def spec_key(spec: ChartSpec) -> str:
    """Return a sha256 hex digest identifying ``spec`` and the drawing code version."""
    payload: dict[str, Any] = {
        "version": CHART_VERSION,
        "title": spec.title,
        "unit": spec.unit,
        "direction": spec.direction,
        "series": [
            {
                "label": s.label,
                "dates": [d.isoformat() for d in s.dates],
                "values": [_num(v) for v in s.values],
                "lower": [_num(v) for v in s.lower],
                "upper": [_num(v) for v in s.upper],
            }
            for s in spec.series
        ],
        "refs": [{"kind": r.kind, "label": r.label, "value": _num(r.value)} for r in spec.refs],
    }
    if spec.hidden:  # only then, so the keys of charts that show every variant stay
        payload["hidden"] = spec.hidden
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- #
# Data clean-up shared by the drawing and the text alternative
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Point:
    day: date
    value: float
    lower: float | None
    upper: float | None


def points(series: Series) -> list[Point]:
    """Points of a series sorted by date, dropping missing/non-finite values.

    An interval is kept only where both bounds are present and finite.
    Mismatched tuple lengths are tolerated: missing bounds count as None.
    """
    found: list[Point] = []
    for i, (day, raw) in enumerate(zip(series.dates, series.values, strict=False)):
        value = finite(raw)
        if value is None:
            continue
        lo = finite(series.lower[i]) if i < len(series.lower) else None
        hi = finite(series.upper[i]) if i < len(series.upper) else None
        if lo is None or hi is None:
            lo = hi = None
        elif lo > hi:
            lo, hi = hi, lo
        found.append(Point(day, value, lo, hi))
    found.sort(key=lambda p: p.day)
    return found


def ordered_refs(spec: ChartSpec) -> list[RefLine]:
    """The reference lines that can be drawn (finite values), in legend order."""
    drawable = [r for r in spec.refs if finite(r.value) is not None]
    return sorted(drawable, key=lambda r: REF_ORDER.index(r.kind))


# --------------------------------------------------------------------------- #
# Text alternative
# --------------------------------------------------------------------------- #


def _data_sentence(
    name: str, data: list[tuple[Series, list[Point]]], fmt: Callable[[float], str]
) -> str:
    """What the lines show: their span of dates and first and last values."""
    if not data:
        return f"Chart of {name} with no results yet."
    days = [p.day for _, pts in data for p in pts]
    start, end = min(days), max(days)
    parts = []
    for series, pts in data:
        prefix = f"{series.label} " if series.label else ""
        if len(pts) == 1:
            parts.append(f"{prefix}{fmt(pts[0].value)}")
        else:
            parts.append(f"{prefix}{fmt(pts[0].value)} \u2192 {fmt(pts[-1].value)}")
    if start == end:
        return f"Chart of {name} with results on {start.isoformat()}: {', '.join(parts)}."
    return (
        f"Line chart of {name} from {start.isoformat()} to {end.isoformat()}: {', '.join(parts)}."
    )


def describe(spec: ChartSpec) -> str:
    """Plain-text alternative of the chart for screen readers (one or two sentences)."""
    unit = spec.unit.strip()
    name = f"{spec.title} ({unit})" if unit else spec.title
    data = [(s, pts) for s in spec.series if (pts := points(s))]
    refs = ordered_refs(spec)
    numbers = [p.value for _, pts in data for p in (pts[0], pts[-1])]
    numbers += [float(r.value) for r in refs]
    fmt = aligned_formatter(numbers)

    # Treatment-like variants first, control after, as in the example wording.
    data.sort(key=lambda item: is_control(item[0].label))

    direction = "Higher is better." if spec.direction == "increase" else "Lower is better."
    sentence = f"{_data_sentence(name, data, fmt)} {direction}"
    if refs:
        ref_parts = [f"{REF_LABELS[r.kind].lower()} {fmt(float(r.value))}" for r in refs]
        ref_text = ", ".join(ref_parts)
        sentence += f" {ref_text[0].upper()}{ref_text[1:]}."
    if spec.hidden:
        sentence += f" {hidden_note(spec.hidden)}."
    return sentence


def hidden_note(hidden: int) -> str:
    """The note on a chart that leaves variants out: `+9,992 more variants, see the data table`."""
    noun = "variant" if hidden == 1 else "variants"
    return f"+{hidden:,} more {noun}, see the data table"
