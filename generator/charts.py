"""Metric charts: one deterministic SVG line chart per metric.

The public surface is small:

* :class:`Series`, :class:`RefLine` and :class:`ChartSpec` describe a chart;
* :func:`spec_key` gives a stable cache key for a spec;
* :func:`render_svg` draws the chart with matplotlib and returns SVG text that is
  byte-identical for the same spec and ``chart_id`` across runs and processes;
* :func:`describe` gives a short plain-text alternative for screen readers.

matplotlib is imported lazily inside :func:`render_svg`, so importing this module
is cheap. Only the object-oriented API (``matplotlib.figure.Figure``) is used;
no pyplot global state is touched.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import threading
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from .formatting import aligned_formatter, finite
from .vocabulary import REF_LABELS, RefKind, is_control, variant_label

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.text import Text

__all__ = [
    "CHART_VERSION",
    "ChartSpec",
    "RefLine",
    "Series",
    "describe",
    "render_svg",
    "spec_key",
]

#: Bump whenever the drawing code changes in a way that changes the output,
#: so that cached SVGs keyed by :func:`spec_key` are invalidated.
CHART_VERSION = "charts-1"


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
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- #
# Data clean-up shared by render_svg and describe
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class _Point:
    day: date
    value: float
    lower: float | None
    upper: float | None


def _points(series: Series) -> list[_Point]:
    """Points of a series sorted by date, dropping missing/non-finite values.

    An interval is kept only where both bounds are present and finite.
    Mismatched tuple lengths are tolerated: missing bounds count as None.
    """
    points: list[_Point] = []
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
        points.append(_Point(day, value, lo, hi))
    points.sort(key=lambda p: p.day)
    return points


# --------------------------------------------------------------------------- #
# Styling
# --------------------------------------------------------------------------- #

# Okabe-Ito colour-blind-safe palette. Blue first (strong), then vermillion,
# orange, sky blue, black; green and reddish purple are kept for reference lines.
_SERIES_COLOURS = ("#0072B2", "#D55E00", "#E69F00", "#56B4E9", "#000000", "#CC79A7")
_CONTROL_COLOUR = "#8A8A8A"
_MARKERS = ("o", "s", "D", "^", "v", "P")

_TEXT = "#333333"
_MUTED = "#555555"
_SPINE = "#9A9A9A"
_GRID = "#E6E6E6"

# kind -> (colour, linestyle, linewidth, legend order)
_REF_STYLE: dict[str, tuple[str, Any, float, int]] = {
    "target": ("#009E73", (0, (1.2, 1.6)), 1.7, 0),
    "human": ("#A6558A", (0, (6, 2, 1.5, 2)), 1.3, 1),
    "baseline": ("#4D4D4D", (0, (5, 3)), 1.2, 2),
}
_TARGET_SHADE = "#009E73"

_FIG_SIZE = (7.2, 3.4)
_FONT_SIZE = 9.0
_SMALL_FONT = 8.0
_INTERVAL_ALPHA = 0.18

_RC: dict[str, Any] = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Helvetica Neue", "Helvetica", "Arial"],
    "font.size": _FONT_SIZE,
    "axes.titlesize": _FONT_SIZE,
    "axes.labelsize": _FONT_SIZE,
    "xtick.labelsize": _SMALL_FONT + 0.5,
    "ytick.labelsize": _SMALL_FONT + 0.5,
    "legend.fontsize": _SMALL_FONT + 0.5,
    "axes.edgecolor": _SPINE,
    "axes.labelcolor": _TEXT,
    "xtick.color": _SPINE,
    "ytick.color": _SPINE,
    "xtick.labelcolor": _MUTED,
    "ytick.labelcolor": _MUTED,
    "text.color": _TEXT,
    "axes.unicode_minus": True,
    "path.simplify": False,
    "svg.image_inline": True,
}

# rcParams are process-global; serialise renders within a process.
_LOCK = threading.Lock()


# --------------------------------------------------------------------------- #
# Rendering
# --------------------------------------------------------------------------- #


def _runs(flags: list[bool]) -> list[tuple[int, int]]:
    """Half-open index ranges of consecutive True values."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for i, flag in enumerate(flags):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append((start, i))
            start = None
    if start is not None:
        runs.append((start, len(flags)))
    return runs


def _y_limits(lows: list[float], highs: list[float]) -> tuple[float, float]:
    lo, hi = min(lows), max(highs)
    span = hi - lo
    if span <= 0:
        half = abs(hi) * 0.05 if hi != 0 else 1.0
        return lo - half, hi + half
    pad_lo, pad_hi = span * 0.10, span * 0.12
    if lo >= 0 and lo - pad_lo < 0:
        # Non-negative data near zero: stop just below 0, no negative ticks.
        return -span * 0.02, hi + pad_hi
    return lo - pad_lo, hi + pad_hi


def _x_limits(days: list[date]) -> tuple[float, float]:
    """x-limits in days relative to the first date (markers must not be clipped)."""
    span = float((max(days) - min(days)).days)
    if span == 0:
        return -3.0, 3.0
    pad = max(span * 0.035, 0.6)
    return -pad, span + pad


def _date_formatter(locator: Any) -> Any:
    """Concise date tick labels: "4 May", "Jun", "2026"; year shown somewhere."""
    from matplotlib import dates as _mdates
    from matplotlib.ticker import Formatter

    mdates: Any = _mdates
    inner = mdates.ConciseDateFormatter(
        locator,
        formats=["%Y", "%b", "%d %b", "%H:%M", "%H:%M", "%S.%f"],
        zero_formats=["", "%Y", "%d %b", "%d %b", "%H:%M", "%H:%M"],
        offset_formats=["", "%Y", "%Y", "%Y", "%Y", "%Y"],
        show_offset=True,
    )

    class _Concise(Formatter):
        def __call__(self, x: float, pos: int | None = None) -> str:
            return str(inner(x, pos)).lstrip("0")

        def format_ticks(self, values: Any) -> list[str]:
            labels = [str(label) for label in inner.format_ticks(values)]
            labels = [label[1:] if label[:1] == "0" else label for label in labels]
            years = [label for label in labels if len(label) == 4 and label.isdigit()]
            if labels and years and labels[0] not in years:
                # The first year is otherwise not shown anywhere.
                first_year = mdates.num2date(values[0]).year
                labels[0] = f"{labels[0]} {first_year}"
            return labels

        def get_offset(self) -> str:
            return str(inner.get_offset())

    return _Concise()


def _spread(fracs: list[float], gap: float) -> list[float]:
    """Push sorted axis fractions apart so labels at least ``gap`` apart don't overlap."""
    out = list(fracs)
    for i in range(1, len(out)):
        out[i] = max(out[i], out[i - 1] + gap)
    top = 1.0
    if out and out[-1] > top:
        out[-1] = top
        for i in range(len(out) - 2, -1, -1):
            out[i] = min(out[i], out[i + 1] - gap)
    return out


def _y_formatter(ylo: float, yhi: float) -> Any:
    from matplotlib.ticker import FuncFormatter, ScalarFormatter

    if max(abs(ylo), abs(yhi)) >= 10_000:
        return FuncFormatter(lambda v, _pos: f"{v:,.0f}".replace("-", "\u2212"))
    fmt = ScalarFormatter(useOffset=False)
    fmt.set_scientific(False)
    return fmt


def _no_results_note(ax: Any, **style: Any) -> None:
    """The note in an empty plot area."""
    ax.text(
        0.5,
        0.5,
        "No results yet",
        transform=ax.transAxes,
        ha="center",
        va="center",
        color=_MUTED,
        fontsize=_FONT_SIZE + 1,
        **style,
    )


def _draw(fig: Figure, spec: ChartSpec) -> None:
    from matplotlib import dates as _mdates
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator
    from matplotlib.transforms import offset_copy

    mdates: Any = _mdates  # matplotlib.dates is not fully annotated
    date2num = mdates.date2num
    ax: Axes = fig.add_subplot()
    ax.set_facecolor("white")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", length=0, pad=4)
    ax.tick_params(axis="x", length=3, width=0.8)
    ax.grid(axis="y", color=_GRID, linewidth=0.8)
    ax.set_axisbelow(True)

    handles: list[Any] = []
    labels: list[str] = []
    all_days: list[date] = []
    lows: list[float] = []
    highs: list[float] = []
    any_interval = False

    colour_index = 0
    for index, series in enumerate(spec.series):
        points = _points(series)
        if not points:
            continue
        if is_control(series.label):
            colour = _CONTROL_COLOUR
        else:
            colour = _SERIES_COLOURS[colour_index % len(_SERIES_COLOURS)]
            colour_index += 1
        marker = _MARKERS[index % len(_MARKERS)]
        xs = [float(date2num(p.day)) for p in points]
        ys = [p.value for p in points]
        all_days.extend(p.day for p in points)
        lows.extend(ys)
        highs.extend(ys)

        has_iv = [p.lower is not None for p in points]
        for start, stop in _runs(has_iv):
            run = points[start:stop]
            run_lo = [p.lower for p in run if p.lower is not None]
            run_hi = [p.upper for p in run if p.upper is not None]
            lows.extend(run_lo)
            highs.extend(run_hi)
            if stop - start >= 2:
                ax.fill_between(
                    xs[start:stop],
                    run_lo,
                    run_hi,
                    color=colour,
                    alpha=_INTERVAL_ALPHA,
                    linewidth=0,
                    zorder=1,
                )
            else:  # isolated interval: a band would have no width, draw an error bar
                ax.plot(
                    [xs[start], xs[start]],
                    [run_lo[0], run_hi[0]],
                    color=colour,
                    alpha=0.65,
                    linewidth=1.3,
                    marker="_",
                    markersize=7,
                    markeredgewidth=1.3,
                    zorder=2,
                )
        (line,) = ax.plot(
            xs,
            ys,
            color=colour,
            linewidth=1.9,
            marker=marker,
            markersize=4.8 if marker != "D" else 4.2,
            markeredgecolor="white",
            markeredgewidth=0.8,
            zorder=3 if is_control(series.label) else 4,
            solid_capstyle="round",
            solid_joinstyle="round",
        )
        if any(has_iv):
            any_interval = True
            band = Patch(facecolor=colour, alpha=_INTERVAL_ALPHA + 0.07, linewidth=0)
            handles.append((band, line))
        else:
            handles.append(line)
        labels.append(variant_label(series.label))

    refs = sorted(
        (r for r in spec.refs if finite(r.value) is not None),
        key=lambda r: _REF_STYLE.get(r.kind, _REF_STYLE["baseline"])[3],
    )
    for ref in refs:
        lows.append(float(ref.value))
        highs.append(float(ref.value))

    if not all_days and not refs:
        ax.set_yticks([])
        ax.set_xticks([])
        ax.spines["bottom"].set_visible(False)
        _no_results_note(ax)
        return

    # --- axes limits and ticks ---------------------------------------------
    ylo, yhi = _y_limits(lows, highs)
    ax.set_ylim(ylo, yhi)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10], min_n_ticks=4))
    ax.yaxis.set_major_formatter(_y_formatter(ylo, yhi))
    if spec.unit.strip():
        ax.set_ylabel(spec.unit.strip(), color=_MUTED)

    days = all_days
    if not days:
        # Only reference lines: no dates to show.
        ax.set_xticks([])
        _no_results_note(ax, bbox={"facecolor": "white", "edgecolor": "none", "pad": 3}, zorder=5)
    else:
        x0, x1 = _x_limits(days)
        origin = float(date2num(min(days)))
        ax.set_xlim(origin + x0, origin + x1)
        if len(set(days)) == 1:
            # A single date: one tick with the full date reads better than a
            # week of day numbers.
            only = days[0]
            ax.set_xticks([float(date2num(only))], [f"{only.day} {only:%b %Y}"])
        else:
            locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(_date_formatter(locator))

    # --- reference lines -----------------------------------------------------
    target_value: float | None = None
    for ref in refs:
        colour, style, width, _order = _REF_STYLE.get(ref.kind, _REF_STYLE["baseline"])
        line = ax.axhline(
            float(ref.value),
            color=colour,
            linestyle=style,
            linewidth=width,
            zorder=2,
        )
        handles.append(line)
        labels.append(ref.label)
        if ref.kind == "target" and target_value is None:
            target_value = float(ref.value)

    if target_value is not None:
        # Very light shading of the "good" side of the target.
        if spec.direction == "increase":
            ax.axhspan(target_value, yhi, color=_TARGET_SHADE, alpha=0.045, linewidth=0, zorder=0)
        else:
            ax.axhspan(ylo, target_value, color=_TARGET_SHADE, alpha=0.045, linewidth=0, zorder=0)

    # Labels at the right end of the reference lines, pushed apart if close.
    ref_texts: list[Text] = []
    if refs:
        # Approximate axes height in points; the gap is one label line high.
        axes_height_pt = _FIG_SIZE[1] * 72 * 0.68
        gap = (_SMALL_FONT * 1.3) / axes_height_pt
        by_value = sorted(refs, key=lambda r: float(r.value))
        fracs = [(float(r.value) - ylo) / (yhi - ylo) for r in by_value]
        placed = _spread(fracs, gap)
        label_transform = offset_copy(ax.transAxes, fig=fig, x=5, y=0, units="points")
        for ref, frac in zip(by_value, placed, strict=True):
            colour = _REF_STYLE.get(ref.kind, _REF_STYLE["baseline"])[0]
            text = ax.text(
                1.0,
                frac,
                ref.label,
                transform=label_transform,
                ha="left",
                va="center",
                fontsize=_SMALL_FONT,
                color=colour,
                clip_on=False,
            )
            ref_texts.append(text)

    # --- good direction note (upper left, above the plot) -------------------
    note = "\u25b2 Higher is better" if spec.direction == "increase" else "\u25bc Lower is better"
    note_transform = offset_copy(ax.transAxes, fig=fig, x=0, y=8, units="points")
    note_text = ax.text(
        0.0,
        1.0,
        note,
        transform=note_transform,
        ha="left",
        va="bottom",
        fontsize=_SMALL_FONT + 0.5,
        color=_MUTED,
    )

    # --- legend (upper right, above the plot) --------------------------------
    if any_interval:
        handles.append(Patch(facecolor="#7F7F7F", alpha=0.3, linewidth=0))
        labels.append("95% interval")
    if len(handles) > 1:  # several series, any reference line, or an interval band
        _legend(fig, ax, note_text, ref_texts, handles, labels)


def _legend(
    fig: Figure,
    ax: Axes,
    note: Text,
    ref_texts: list[Text],
    handles: list[Any],
    labels: list[str],
) -> None:
    """Put the legend above the plot on the right, wrapping into rows if too wide.

    The legend ends where the reference line labels end (or at the axes' right
    edge if there are none), and must not run into the direction note on the left.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.legend_handler import HandlerTuple
    from matplotlib.transforms import offset_copy

    canvas = FigureCanvasAgg(fig)  # a renderer for measuring; the SVG save swaps canvas
    renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)  # place the axes so that its width is known
    px_per_pt = fig.dpi / 72
    axes_right = ax.get_window_extent(renderer).x1
    right = max([axes_right] + [t.get_window_extent(renderer).x1 for t in ref_texts])
    extra_pt = (right - axes_right) / px_per_pt
    anchor = offset_copy(ax.transAxes, fig=fig, x=extra_pt, y=0, units="points")
    # Room for the legend: from the end of the direction note to ``right``.
    budget = right - note.get_window_extent(renderer).x1 - 14 * px_per_pt
    ncol = len(handles)
    while True:
        legend = ax.legend(
            handles,
            labels,
            loc="lower right",
            bbox_to_anchor=(1.0, 1.0),
            bbox_transform=anchor,
            ncol=ncol,
            frameon=False,
            handlelength=2.6,
            handletextpad=0.5,
            columnspacing=1.3,
            borderaxespad=0.5,
            borderpad=0.2,
            labelspacing=0.3,
            handler_map={tuple: HandlerTuple(ndivide=None, pad=0)},
        )
        if ncol == 1 or legend.get_window_extent(renderer).width <= budget:
            break
        legend.remove()
        ncol -= 1
        # Prefer balanced rows: e.g. 5 entries -> 3 + 2 rather than 4 + 1.
        rows = math.ceil(len(handles) / ncol)
        ncol = math.ceil(len(handles) / rows)


def render_svg(spec: ChartSpec, *, chart_id: str) -> str:
    """Draw ``spec`` and return the SVG document as text.

    The output is deterministic: the same spec and ``chart_id`` give byte-identical
    SVG in any process. ``chart_id`` also salts the SVG element ids, so several
    charts can be inlined into one HTML page without id clashes.
    """
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    rc: Any = dict(_RC)
    rc["svg.hashsalt"] = chart_id
    buffer = io.StringIO()
    with _LOCK, matplotlib.rc_context(rc):
        layout = ConstrainedLayoutEngine(w_pad=6 / 72, h_pad=6 / 72)
        fig = Figure(figsize=_FIG_SIZE, facecolor="white", layout=layout)
        _draw(fig, spec)
        fig.savefig(
            buffer,
            format="svg",
            facecolor="white",
            metadata={"Date": None, "Creator": None},
        )
    return buffer.getvalue()


# --------------------------------------------------------------------------- #
# Text alternative
# --------------------------------------------------------------------------- #


def describe(spec: ChartSpec) -> str:
    """Plain-text alternative of the chart for screen readers (one or two sentences)."""
    unit = spec.unit.strip()
    name = f"{spec.title} ({unit})" if unit else spec.title
    data = [(s, _points(s)) for s in spec.series]
    data = [(s, pts) for s, pts in data if pts]
    refs = sorted(
        (r for r in spec.refs if finite(r.value) is not None),
        key=lambda r: _REF_STYLE.get(r.kind, _REF_STYLE["baseline"])[3],
    )
    numbers = [p.value for _, pts in data for p in (pts[0], pts[-1])]
    numbers += [float(r.value) for r in refs]
    fmt = aligned_formatter(numbers)

    # Treatment-like variants first, control after, as in the example wording.
    data.sort(key=lambda item: is_control(item[0].label))

    direction = "Higher is better." if spec.direction == "increase" else "Lower is better."
    if not data:
        first = f"Chart of {name} with no results yet."
    else:
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
            first = f"Chart of {name} with results on {start.isoformat()}: {', '.join(parts)}."
        else:
            first = (
                f"Line chart of {name} from {start.isoformat()} to {end.isoformat()}: "
                f"{', '.join(parts)}."
            )
    sentence = f"{first} {direction}"
    if refs:
        ref_parts = [f"{REF_LABELS[r.kind].lower()} {fmt(float(r.value))}" for r in refs]
        ref_text = ", ".join(ref_parts)
        sentence += f" {ref_text[0].upper()}{ref_text[1:]}."
    return sentence
