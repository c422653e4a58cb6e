"""Charts stage, what a chart shows: specs, cache keys and text alternatives (no matplotlib).

* :class:`Series`, :class:`RefLine` and :class:`ChartSpec` describe a chart, and
  :func:`chart_spec` makes the one of a metric: a line per variant with its 95%
  intervals (production, 2 control arms and 8 other variants at most, see
  :func:`drawn_variants`), and the baseline, human baseline and target as
  reference lines;
* :func:`spec_key` gives a stable cache key for a spec, so an unchanged chart is
  reused from the previous build instead of drawn again;
* :class:`Tolerance` is a guardrail's limit in its bad direction on each date, with
  the points beyond it, drawn on the guardrail's chart;
* :class:`LiftSpec` and :func:`lift_spec` describe the lift-over-time chart of a
  metric with an experiment: treatment minus control with its 95% interval per
  date, the zero line, and the minimum detectable effect in the good direction;
* :func:`describe` gives a short plain-text alternative for screen readers;
* :class:`ChartJob` is one chart still to draw (see :mod:`generator.charts.draw`).

Nothing here imports matplotlib, so describing charts and deciding which ones to
draw costs no drawing library.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import cached_property
from typing import Any, Literal

from ..analyze import (
    MetricView,
    control_codes,
    paired_rows,
    production_after,
    rows_after,
    treatment_variant,
    unpaired_reference,
)
from ..bidi import isolate_text
from ..columns import ResultTable, as_table
from ..formatting import (
    aligned_formatter,
    difference_unit,
    finite,
    fmt_difference,
    fmt_estimate,
    fmt_signed,
    fmt_value,
)
from ..load import Result
from ..stats import (
    Arm,
    arm_interval,
    beyond_tolerance,
    is_proportion_unit,
    percent_scale,
    t_quantiles,
    tolerance_limit,
)
from ..vocabulary import PRODUCTION_LABEL, REF_KINDS, REF_LABELS, is_control

#: Bump whenever the drawing code changes in a way that changes the output,
#: so that cached SVGs keyed by :func:`spec_key` are invalidated.
CHART_VERSION = "charts-4"

#: What a horizontal reference line stands for: the charter's reference values on a
#: metric's chart; the minimum detectable effect, the tolerance and no effect on a lift chart.
LineKind = Literal[
    "target", "original", "human", "baseline", "original-baseline", "mde", "tolerance", "zero"
]

#: Reference lines in the order of the legend and of the text alternative.
REF_ORDER: tuple[LineKind, ...] = (
    "target",
    "original",
    "human",
    "baseline",
    "original-baseline",
    "mde",
    "tolerance",
    "zero",
)

#: How the text alternative names each kind of line.
LINE_NAMES: dict[str, str] = {
    **REF_LABELS,
    "original": "Original target",  # before a goalpost moved after results (history.py)
    "original-baseline": "Original baseline",  # the same of the baseline
    "mde": "Minimum detectable effect",
    "tolerance": "Tolerance",
    "zero": "No effect",
}


@dataclass(frozen=True)
class Series:
    """One line on a chart: production observations or one experiment variant."""

    label: str  # "" for production observations, else variant name e.g. "control"
    dates: tuple[date, ...]
    values: tuple[float, ...]
    lower: tuple[float | None, ...]  # same length as dates; None where no interval
    upper: tuple[float | None, ...]
    thinned_from: int = 0  # the points the line had before `thin` kept fewer; 0: all kept


@dataclass(frozen=True)
class RefLine:
    """A horizontal reference line (baseline, human baseline, target, MDE, tolerance, zero)."""

    kind: LineKind
    label: str  # e.g. "Baseline 6.2 h", "Human baseline 4.9 h", "Target 4.5 h"
    value: float


@dataclass(frozen=True, slots=True)  # slots: a long guardrail can breach on every date
class Breach:
    """A point beyond a guardrail's tolerance: its value and the limit it passed."""

    day: date
    variant: str  # "" for production rows
    value: float
    limit: float


#: What a guardrail is judged against (see :func:`generator.analyze.guardrail_move`).
Judged = Literal["control", "baseline", "first result"]


@dataclass(frozen=True)
class Tolerance:
    """A guardrail's limit in its bad direction, on each date it is judged.

    Against the control arm the limit follows control (control + tolerance on each
    date with a control row), then, over production rows after the experiment's last
    pair (`rollout`), it is baseline + tolerance; against the baseline or the first
    result it is flat.
    """

    label: str  # legend entry, e.g. "Tolerance (control + 20 ms)"
    reference: Judged
    arm: str | None  # the variant judged against control; None: every row but control
    dates: tuple[date, ...]
    limits: tuple[float, ...]  # same length as dates
    breaches: tuple[Breach, ...]  # the judged points beyond the limit, by date
    #: The experiment's last date with both arms, when production rows come after it:
    #: those rows are judged against the baseline (a flat limit after this date).
    rollout: date | None = None

    def limit_for(self, variant: str | None, day: date) -> float | None:
        """The limit a row is judged against, or None for a row that is not judged."""
        if self.rollout is not None and day > self.rollout:
            # Production, and the arm's rows after its last pair (guardrail_move judges
            # the newest of them): each is marked on the chart when beyond the limit.
            judged = variant is None or (self.arm is not None and variant == self.arm)
            return self._limits.get(day) if judged else None
        if self.arm is not None and variant != self.arm:
            return None
        if self.arm is None and is_control(variant):
            return None
        return self._limits.get(day)

    def breached_on(self, variant: str | None, day: date) -> bool:
        """Whether the row of `variant` on `day` is beyond the tolerance."""
        return (day, variant or "") in self._breached

    # Looked up once per row of a data table: built once, so a table stays linear.
    @cached_property
    def _limits(self) -> dict[date, float]:
        return dict(zip(self.dates, self.limits, strict=True))

    @cached_property
    def _breached(self) -> frozenset[tuple[date, str]]:
        return frozenset((b.day, b.variant) for b in self.breaches)


@dataclass(frozen=True)
class ChartSpec:
    """Everything needed to draw the chart of one metric."""

    title: str  # metric name
    unit: str  # free text unit: "hours", "%", "ratio", "USD", ...
    direction: Literal["increase", "decrease"]
    series: tuple[Series, ...]
    refs: tuple[RefLine, ...]
    tolerance: Tolerance | None = None  # guardrails only
    hidden: int = 0  # variants left out of the chart (see MAX_VARIANTS); in its data table


@dataclass(frozen=True)
class LiftSpec:
    """Everything needed to draw the lift-over-time chart of one metric."""

    title: str  # metric name
    unit: str  # the metric's unit; lifts of a "%" metric are in percentage points
    direction: Literal["increase", "decrease"]
    treatment: str  # the arm compared with control, e.g. "treatment"
    lifts: Series  # treatment − control per date, with its 95% interval
    refs: tuple[RefLine, ...]  # the zero line; the MDE or a guardrail's tolerance

    def chart(self) -> ChartSpec:
        """The lift as a one-line chart with its reference lines, as drawn."""
        unit = difference_unit(self.unit)
        axis = f"lift ({unit})" if unit else "lift"
        return ChartSpec(self.title, axis, self.direction, (self.lifts,), self.refs)


@dataclass(frozen=True)
class ChartJob:
    """One chart still to draw: where its SVG goes, what it shows, and its id on the page."""

    path: str  # relative to the site root, e.g. "charters/churn/retention.svg"
    spec: ChartSpec | LiftSpec | ForestSpec
    chart_id: str  # salts the SVG's element ids, e.g. "churn-retention"


# --------------------------------------------------------------------------- #
# The chart of a metric
# --------------------------------------------------------------------------- #


def interval_source(result: Result, unit: str) -> str | None:
    """What a drawn row interval comes from when the row does not give one: "n" or "n and std"."""
    row = result.row
    if row.lower is not None or row.upper is not None or row_interval(result, unit) == (None, None):
        return None
    scale = percent_scale(unit)
    if is_proportion_unit(unit) and row.n is not None and 0.0 <= row.value / scale <= 1.0:
        return "n"
    return "n and std"


def row_interval(result: Result, unit: str) -> tuple[float | None, float | None]:
    """A row's 95% interval as the chart draws it: as given, or computed from its n and std."""
    row = result.row
    return _interval(row.value, row.lower, row.upper, row.n, row.std, unit)


def _interval(
    value: float,
    lower: float | None,
    upper: float | None,
    n: int | None,
    std: float | None,
    unit: str,
) -> tuple[float | None, float | None]:
    if lower is not None or upper is not None:
        return lower, upper
    computed = arm_interval(Arm(value, n=n, std=std), unit)
    return computed if computed is not None else (None, None)


#: Variants a chart draws besides production and control arms; the rest are counted
#: in a note. More lines than this cannot be told apart, and drawing thousands of
#: them (and their legend) takes minutes.
MAX_VARIANTS = 8


def _by_variant(metric: MetricView) -> dict[str, ResultTable]:
    """The metric's rows by variant ("" for production), in one pass."""
    return metric.rows.group("variant")


#: Control arms a chart draws (names such as `Control` and `control ` all count as one).
MAX_CONTROLS = 2


def drawn_variants(
    groups: Mapping[str, Sequence[Result]], keep: str | None = None
) -> tuple[list[str], int]:
    """The variants a chart draws, in legend order (production, control arms, `keep`,
    the others by name), and how many are left out.

    Production is always drawn, and so are the `MAX_CONTROLS` control arms and
    the `MAX_VARIANTS` other variants with the most rows (then the newest
    result, then by name). `keep`, the arm the analysis compares with control,
    is always one of them: the lift, the verdict and a guardrail's tolerance
    are about it.
    """

    newest = {v: max(as_table(rows).ordinals()) for v, rows in groups.items()}

    def most_rows(names: list[str], limit: int) -> list[str]:
        names.sort(key=lambda v: (v != keep, -len(groups[v]), -newest[v], v))
        return names[:limit]

    controls = [v for v in groups if v != "" and is_control(v)]
    others = [v for v in groups if v != "" and not is_control(v)]
    kept = set(most_rows(controls, MAX_CONTROLS)) | set(most_rows(others, MAX_VARIANTS))
    if "" in groups:
        kept.add("")
    # Production, control, then the compared arm (so it takes the first arm colour, blue),
    # then the others by name, ignoring case.
    order = sorted(kept, key=lambda v: (v != "", not is_control(v), v != keep, v.casefold(), v))
    return order, len(groups) - len(kept)


#: Pixel columns across a chart's plot (720 px wide at most), and the points a line
#: keeps at most before it is thinned: a line of more points than this is drawn from
#: what is visible at the chart's resolution (see :func:`thin`).
PIXEL_COLUMNS = 720
MAX_POINTS = 4 * PIXEL_COLUMNS


def thin(series: Series) -> Series:
    """`series` with at most what a chart can show of it, `MAX_POINTS` points.

    A line of more points is cut into `PIXEL_COLUMNS` equal spans of dates, and each
    span keeps the points with its lowest and highest value and its lowest lower and
    highest upper bound, so every peak, trough and interval edge is still drawn where
    it is; the first and last points are always kept (the text alternative names
    them). `thinned_from` records how many points there were. Shorter lines are
    returned as they are.
    """
    count = len(series.dates)
    if count <= MAX_POINTS:
        return series
    keys = (
        (v, -v, low, up and -up)
        for v, low, up in zip(series.values, series.lower, series.upper, strict=True)
    )
    kept = _kept(series.dates, keys)
    return Series(
        label=series.label,
        dates=tuple(series.dates[i] for i in kept),
        values=tuple(series.values[i] for i in kept),
        lower=tuple(series.lower[i] for i in kept),
        upper=tuple(series.upper[i] for i in kept),
        thinned_from=count,
    )


def _kept(dates: Sequence[date], keys: Iterable[tuple[float | None, ...]]) -> list[int]:
    """The positions `thin` keeps: per pixel column of dates, the point with the lowest
    of each key (None: no key), and the first and last points."""
    count = len(dates)
    first = min(dates).toordinal()
    span = max(dates).toordinal() - first + 1
    best: dict[tuple[int, int], tuple[float, int]] = {}
    columns = [(d.toordinal() - first) * PIXEL_COLUMNS // span for d in dates]
    for i, (column, lowest) in enumerate(zip(columns, keys, strict=True)):
        for slot, key in enumerate(lowest):
            held = best.get((column, slot))
            if key is not None and (held is None or key < held[0]):
                best[(column, slot)] = (key, i)
    return sorted({0, count - 1, *(i for _, i in best.values())})


def thin_tolerance(tol: Tolerance) -> Tolerance:
    """`tol` with its line and its breach markers thinned as `thin` thins a series: what
    a chart draws. The whole tolerance is still judged and described on every row."""
    dates, limits, breaches = tol.dates, tol.limits, tol.breaches
    if len(dates) <= MAX_POINTS and len(breaches) <= MAX_POINTS:
        return tol
    if len(dates) > MAX_POINTS:
        kept = _kept(dates, ((v, -v) for v in limits))
        dates, limits = tuple(dates[i] for i in kept), tuple(limits[i] for i in kept)
    if len(breaches) > MAX_POINTS:
        days = [b.day for b in breaches]
        kept = _kept(days, ((b.value, -b.value) for b in breaches))
        breaches = tuple(breaches[i] for i in kept)
    return replace(tol, dates=dates, limits=limits, breaches=breaches)


def _series(metric: MetricView, variant: str, rows: ResultTable) -> Series:
    counts, stds = rows.counts(), rows.numbers("std")
    t_quantiles(
        n - 1
        for n, std in zip(counts, stds, strict=True)
        if n is not None and n >= 2 and std is not None
    )
    values = rows.values()
    intervals = [
        _interval(value, lower, upper, n, std, metric.unit)
        for value, lower, upper, n, std in zip(
            values, rows.numbers("lower"), rows.numbers("upper"), counts, stds, strict=True
        )
    ]
    del counts, stds
    return thin(
        Series(
            label=variant,
            dates=tuple(rows.dates()),
            values=tuple(values),
            lower=tuple(lower for lower, _ in intervals),
            upper=tuple(upper for _, upper in intervals),
        )
    )


def _worse_by(value: float, reference: float, direction: str) -> float:
    """How far `value` is from `reference` in the bad direction (as the analysis judges)."""
    delta = value - reference
    return delta if direction == "decrease" else -delta


def _judged(metric: MetricView) -> tuple[Judged, ResultTable, list[float], date | None]:
    """The rows a guardrail is judged on, the reference value of each, what that is, and
    the experiment's last paired date when production rows after it are judged too.

    As :func:`generator.analyze.guardrail_move`: the treatment arm against the control
    arm of the same date where there are such pairs (its rows after the last pair as
    `unpaired_reference` says), and the production rows after the last pair against
    the baseline; else every other row against the baseline; else against the first
    result.
    """
    rows = metric.rows
    store = rows.store
    days = rows.ordinals()
    arm = treatment_variant(rows)
    control, paired = paired_rows(rows, arm)
    if paired:
        refs = [store.value[control[days[p]]] for p in paired]
        last = max(days[p] for p in paired)
        alone = rows_after(rows, arm, last)  # the arm's rows after its last pair
        refs += [unpaired_reference(metric.baseline, store.value[control[last]])[0]] * len(alone)
        if metric.rollout is None or metric.baseline is None:
            return "control", rows.take(paired + alone), refs, None
        after = production_after(rows, metric.rollout.toordinal())
        refs += [metric.baseline] * len(after)
        return "control", rows.take(paired + alone + after), refs, metric.rollout
    controls = control_codes(rows)
    others = [p for p, c in enumerate(rows.variant_codes()) if c not in controls]
    if not others:
        return "baseline", rows.take(()), [], None
    if metric.baseline is not None:
        return "baseline", rows.take(others), [metric.baseline] * len(others), None
    first = store.value[rows.positions[min(others, key=days.__getitem__)]]
    return "first result", rows.take(others), [first] * len(others), None


def tolerance_of(metric: MetricView) -> Tolerance | None:
    """A guardrail's tolerance line and the points beyond it; None for other metrics."""
    if metric.kind != "guardrail" or metric.tolerance is None:
        return None
    tol = metric.tolerance
    reference, judged, refs, rollout = _judged(metric)
    if not judged:
        return None
    days, variants, values = judged.dates(), judged.variants(), judged.values()
    order = sorted(range(len(judged)), key=lambda k: (days[k], variants[k] or ""))
    # Each reference's limit, added once (most share a few: the baseline, control's values).
    limit_of = {ref: tolerance_limit(ref, tol, metric.direction) for ref in set(refs)}
    limits = {days[k]: limit_of[refs[k]] for k in order}
    breaches = tuple(
        Breach(days[k], variants[k] or "", values[k], limit_of[refs[k]])
        for k in order
        if beyond_tolerance(_worse_by(values[k], refs[k], metric.direction), tol)
    )
    side = "+" if metric.direction == "decrease" else "\u2212"
    # After a rollout, or an arm's rows after its last pair judged against the baseline
    # (`unpaired_reference`): "(control, then baseline, + 1)", short for the legend.
    then_baseline = rollout is not None or (
        reference == "control" and metric.move_reference == "baseline"
    )
    against = f"{reference}, then baseline," if then_baseline else reference
    return Tolerance(
        label=f"Tolerance ({against} {side} {fmt_difference(tol, metric.unit, metric.sizes)})",
        reference=reference,
        arm=treatment_variant(metric.rows) if reference == "control" else None,
        dates=tuple(limits),
        limits=tuple(limits.values()),
        breaches=breaches,
        rollout=rollout,
    )


def chart_spec(metric: MetricView) -> ChartSpec:
    """The chart of one metric: a line per variant, intervals, reference lines.

    A guardrail's chart also has its tolerance line and the points beyond it. A
    chart draws at most the variants :func:`drawn_variants` keeps and counts the
    rest in `hidden`; the tolerance is still judged on every row.
    """
    beside = metric.together  # labelled as the page writes them, each told from the others
    refs = [
        RefLine(kind, f"{REF_LABELS[kind]} {fmt_value(value, metric.unit, apart=beside)}", value)
        for kind, value in zip(
            REF_KINDS, (metric.baseline, metric.human, metric.target), strict=True
        )
        if value is not None
    ]
    moved: tuple[tuple[LineKind, float | None], ...] = (
        ("original", metric.original_target),
        ("original-baseline", metric.original_baseline),
    )
    for kind, value in moved:
        if value is not None:
            label = f"{LINE_NAMES[kind]} {fmt_value(value, metric.unit, apart=beside)}"
            refs.append(RefLine(kind, label, value))
    groups = _by_variant(metric)
    variants, hidden = drawn_variants(groups, keep=treatment_variant(metric.rows))
    return ChartSpec(
        title=metric.name,
        unit=metric.unit,
        direction=metric.direction,
        series=tuple(_series(metric, v, groups[v]) for v in variants),
        refs=tuple(refs),
        tolerance=tolerance_of(metric),
        hidden=hidden,
    )


def lift_spec(metric: MetricView, mde: float | None) -> LiftSpec | None:
    """The lift-over-time chart of a metric with lifts; None without any.

    `mde` is the plan's minimum detectable effect for this metric, in its unit; it is
    drawn in the metric's good direction. A guardrail's tolerance is drawn in its
    bad direction instead.
    """
    if not metric.lifts:
        return None
    lifts = metric.lifts
    series = thin(
        Series(
            label=f"{lifts.treatment} \u2212 control",
            dates=tuple(lifts.dates()),
            values=tuple(lifts.absolute),
            lower=tuple(lifts.ci_low),
            upper=tuple(lifts.ci_high),
        )
    )
    good = 1.0 if metric.direction == "increase" else -1.0
    refs = [RefLine("zero", "No effect", 0.0)]
    if metric.kind == "guardrail" and metric.tolerance is not None:
        value = -good * metric.tolerance
        label = f"Tolerance {fmt_signed(value, metric.unit, metric.sizes)}"
        refs.append(RefLine("tolerance", label, value))
    elif mde is not None and mde > 0:
        value = good * mde
        refs.append(RefLine("mde", f"MDE {fmt_signed(value, metric.unit)}", value))
    return LiftSpec(
        title=metric.name,
        unit=metric.unit,
        direction=metric.direction,
        treatment=lifts[-1].treatment,
        lifts=series,
        refs=tuple(refs),
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


def _series_payload(s: Series) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "label": s.label,
        "dates": [d.isoformat() for d in s.dates],
        "values": [_num(v) for v in s.values],
        "lower": [_num(v) for v in s.lower],
        "upper": [_num(v) for v in s.upper],
    }
    if s.thinned_from:  # only then, so the keys of lines drawn whole stay as they were
        payload["thinned_from"] = s.thinned_from
    return payload


def _refs_payload(refs: tuple[RefLine, ...]) -> list[dict[str, Any]]:
    return [{"kind": r.kind, "label": r.label, "value": _num(r.value)} for r in refs]


def _tolerance_payload(tol: Tolerance) -> dict[str, Any]:
    return {
        "label": tol.label,
        "reference": tol.reference,
        "arm": tol.arm,
        "dates": [d.isoformat() for d in tol.dates],
        "limits": [_num(v) for v in tol.limits],
        "breaches": [
            [b.day.isoformat(), b.variant, _num(b.value), _num(b.limit)] for b in tol.breaches
        ],
        # Only when set, so the keys of guardrails without rows after an experiment stay.
        **({"rollout": tol.rollout.isoformat()} if tol.rollout is not None else {}),
    }


def spec_key(spec: ChartSpec | LiftSpec) -> str:
    """Return a sha256 hex digest identifying ``spec`` and the drawing code version.

    Every field that is drawn is in the key. Fields a chart does not have (a
    tolerance on a metric that is not a guardrail) are left out rather than given
    as null, so keys of charts without them stay as they were.
    """
    payload: dict[str, Any] = {
        "version": CHART_VERSION,
        "title": spec.title,
        "unit": spec.unit,
        "direction": spec.direction,
    }
    if isinstance(spec, LiftSpec):
        payload["chart"] = "lift"
        payload["treatment"] = spec.treatment
        payload["lifts"] = _series_payload(spec.lifts)
    else:
        payload["series"] = [_series_payload(s) for s in spec.series]
        if spec.tolerance is not None:
            payload["tolerance"] = _tolerance_payload(spec.tolerance)
        if spec.hidden:  # only then, so the keys of charts that show every variant stay
            payload["hidden"] = spec.hidden
    payload["refs"] = _refs_payload(spec.refs)
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
        # Production has no variant name; beside arms it is named as in the legend.
        named = isolate_text(series.label or (PRODUCTION_LABEL if len(data) > 1 else ""))
        prefix = f"{named} " if named else ""
        if len(pts) == 1:
            parts.append(f"{prefix}{fmt(pts[0].value)}")
        else:
            parts.append(f"{prefix}{fmt(pts[0].value)} \u2192 {fmt(pts[-1].value)}")
    if start == end:
        return f"Chart of {name} with results on {start.isoformat()}: {', '.join(parts)}."
    return (
        f"Line chart of {name} from {start.isoformat()} to {end.isoformat()}: {', '.join(parts)}."
    )


def _tolerance_sentence(tol: Tolerance, fmt: Callable[[float], str]) -> str:
    """Where a guardrail stands against its tolerance, on every date and on the latest."""
    if not tol.dates:
        return ""
    last = max(tol.dates)
    if not tol.breaches:
        return f" {tol.label}: within it on every date."
    latest = tol.breaches[-1]
    text = (
        f" {tol.label}: beyond it on {len({b.day for b in tol.breaches})} of {len(tol.dates)}"
        f" dates, latest {latest.day.isoformat()} at {fmt(latest.value)}"
        f" against a limit of {fmt(latest.limit)}"
    )
    if latest.day != last:
        text += f"; within it on the latest date, {last.isoformat()}"
    return text + "."


def _describe_lift(spec: LiftSpec) -> str:
    """The lift chart's text alternative: span, latest lift and its interval, the lines."""
    unit = spec.unit
    name = f"the lift of {isolate_text(spec.title)} ({isolate_text(spec.lifts.label)})"
    pts = points(spec.lifts)
    direction = "Higher is better." if spec.direction == "increase" else "Lower is better."
    if not pts:
        return f"Chart of {name} with no lifts yet. {direction}"
    latest = pts[-1]
    refs = ordered_refs(spec.chart())
    # A guardrail's lifts and its tolerance, each told from the others (`fmt_signed`).
    tolerance = [abs(r.value) for r in refs if r.kind == "tolerance"]
    value = fmt_estimate(latest.value, latest.lower, latest.upper, unit, tolerance)
    interval = ""
    if latest.lower is not None and latest.upper is not None:
        interval = f" (95% CI {fmt_signed(latest.lower, unit)} to {fmt_signed(latest.upper, unit)})"
    # The first lift with the decimals of the latest it is read beside.
    first = fmt_estimate(pts[0].value, latest.lower, latest.upper, unit, tolerance)
    if len(pts) == 1:
        sentence = f"Chart of {name} on {latest.day.isoformat()}: {value}{interval}."
    else:
        sentence = (
            f"Line chart of {name} from {pts[0].day.isoformat()} to {latest.day.isoformat()}:"
            f" latest {value}{interval}, first {first}."
        )
    named = (latest.value, pts[0].value)  # the lifts a tolerance is told from
    lines = [
        f"{LINE_NAMES[r.kind].lower()} at {_line_value(r, unit, named) if r.value else '0'}"
        for r in refs
    ]
    text = "; ".join(lines)
    return (
        f"{sentence} {direction} {text[0].upper()}{text[1:]}."
        if lines
        else f"{sentence} {direction}"
    ) + thinned_note((spec.lifts,))


def _line_value(line: RefLine, unit: str, lifts: tuple[float, ...]) -> str:
    """A lift chart's line as its text alternative names it: a tolerance told from the
    `lifts` named beside it, as they are from it."""
    beside = [abs(x) for x in lifts] if line.kind == "tolerance" else None
    return fmt_signed(line.value, unit, beside)


def describe(spec: ChartSpec | LiftSpec) -> str:
    """Plain-text alternative of the chart for screen readers (one to three sentences)."""
    if isinstance(spec, LiftSpec):
        return _describe_lift(spec)
    unit = isolate_text(spec.unit.strip())
    title = isolate_text(spec.title)
    name = f"{title} ({unit})" if unit else title
    data = [(s, pts) for s in spec.series if (pts := points(s))]
    refs = ordered_refs(spec)
    numbers = [p.value for _, pts in data for p in (pts[0], pts[-1])]
    numbers += [float(r.value) for r in refs]
    if spec.tolerance is not None:
        numbers += [v for b in spec.tolerance.breaches[-1:] for v in (b.value, b.limit)]
    fmt = aligned_formatter(numbers)

    # Treatment-like variants first, control after, as in the example wording.
    data.sort(key=lambda item: is_control(item[0].label))

    direction = "Higher is better." if spec.direction == "increase" else "Lower is better."
    sentence = f"{_data_sentence(name, data, fmt)} {direction}"
    if refs:
        ref_parts = [f"{LINE_NAMES[r.kind].lower()} {fmt(float(r.value))}" for r in refs]
        ref_text = ", ".join(ref_parts)
        sentence += f" {ref_text[0].upper()}{ref_text[1:]}."
    if spec.tolerance is not None:
        sentence += _tolerance_sentence(spec.tolerance, fmt)
    if spec.hidden:
        sentence += f" {hidden_note(spec.hidden)}."
    return sentence + thinned_note(spec.series)


def thinned_note(series: tuple[Series, ...]) -> str:
    """What a chart with thinned lines says: which lines, how many points, and where all are.

    "" when every line is drawn whole.
    """
    thinned = [s for s in series if s.thinned_from]
    if not thinned:
        return ""
    lines = ", ".join(
        f"{isolate_text(s.label or 'production')} {s.thinned_from:,} points as {len(s.dates):,}"
        for s in thinned
    )
    return (
        f" Lines of many points are drawn as the lowest and highest per pixel column"
        f" ({lines}); the data table and the CSV download have every row."
    )


def hidden_note(hidden: int) -> str:
    """The note on a chart that leaves variants out: `+9,992 more variants, see the data table`."""
    noun = "variant" if hidden == 1 else "variants"
    return f"+{hidden:,} more {noun}, see the data table"


# --------------------------------------------------------------------------- #
# The forest plot of a catalogued metric: every project's latest lift on one axis
# --------------------------------------------------------------------------- #


# Bump when the forest plot's drawing changes, so cached SVGs are redrawn.
FOREST_VERSION = "forest-2"


@dataclass(frozen=True)
class ForestRow:
    """One project's latest lift of the metric over control, with its 95% interval."""

    project: str  # the charter's title
    day: date
    lift: float
    lower: float | None
    upper: float | None


@dataclass(frozen=True)
class ForestSpec:
    """Everything needed to draw the forest plot of one catalogued metric."""

    title: str  # the catalogued metric's name
    unit: str  # the metric's unit; lifts of a "%" metric are in percentage points
    direction: Literal["increase", "decrease"]
    rows: tuple[ForestRow, ...]  # in the order drawn, top to bottom

    @property
    def axis_unit(self) -> str:
        return difference_unit(self.unit)


def forest_spec(
    title: str, unit: str, direction: Literal["increase", "decrease"], lifts: list[ForestRow]
) -> ForestSpec | None:
    """The forest plot of the projects' latest lifts; None when no project has a lift."""
    if not lifts:
        return None
    return ForestSpec(title, unit, direction, tuple(lifts))


def forest_key(spec: ForestSpec) -> str:
    """A sha256 hex digest of everything the forest plot draws, and the drawing version."""
    payload = {
        "version": CHART_VERSION,
        "chart": FOREST_VERSION,
        "title": spec.title,
        "unit": spec.unit,
        "direction": spec.direction,
        "rows": [
            [r.project, r.day.isoformat(), _num(r.lift), _num(r.lower), _num(r.upper)]
            for r in spec.rows
        ],
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def describe_forest(spec: ForestSpec) -> str:
    """The forest plot's text alternative: each project's lift and interval, and the zero line."""
    unit = spec.unit
    parts = []
    for row in spec.rows:
        interval = ""
        if row.lower is not None and row.upper is not None:
            interval = f" (95% CI {fmt_signed(row.lower, unit)} to {fmt_signed(row.upper, unit)})"
        parts.append(
            f"{isolate_text(row.project)} {fmt_estimate(row.lift, row.lower, row.upper, unit)}"
            f"{interval}"
            f" on {row.day.isoformat()}"
        )
    direction = "Higher is better." if spec.direction == "increase" else "Lower is better."
    count = "one project" if len(spec.rows) == 1 else f"{len(spec.rows)} projects"
    return (
        f"Forest plot of the latest lift over control of {isolate_text(spec.title)}"
        f" ({spec.axis_unit}),"
        f" {count}: {'; '.join(parts)}. {direction} The vertical line marks no effect (0)."
    )
