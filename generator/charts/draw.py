"""Charts stage, drawing: a chart spec to a deterministic SVG line chart with matplotlib.

:func:`render_svg` draws one chart in named steps, in this order (the order of the
artists in the SVG, so it is part of the output):

1. the frame: white axes, a light horizontal grid;
2. the series: a line per variant with its 95% interval band (or error bar);
3. the axes: limits, ticks and the unit;
4. the reference lines: baseline, human baseline and target (on a lift chart: no
   effect, and the MDE or a guardrail's tolerance), the good side of the target or
   MDE lightly shaded;
5. a guardrail's tolerance line and a marker on each point beyond it;
6. the labels of the reference lines at their right ends, pushed apart if close;
7. the direction note ("▲ Higher is better") above the plot on the left;
8. the legend above the plot on the right, wrapping into rows if too wide.

A lift chart (:class:`~generator.charts.spec.LiftSpec`) is drawn by the same steps,
as a chart of one line, the lift, with its reference lines.

:func:`draw_all` draws many charts, in worker processes when there are enough.
The SVG is byte-identical for the same spec and ``chart_id`` across runs and
processes. matplotlib is imported only inside the functions that draw, so importing
this module is cheap; only the object-oriented API (``matplotlib.figure.Figure``) is
used, no pyplot global state.
"""

from __future__ import annotations

import atexit
import functools
import io
import math
import os
import textwrap
import threading
import warnings
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from typing import TYPE_CHECKING, Any

from ..formatting import fmt_value
from ..vocabulary import is_control, variant_label
from . import decor
from .spec import (
    ChartJob,
    ChartSpec,
    ForestSpec,
    LiftSpec,
    LineKind,
    Point,
    RefLine,
    Series,
    hidden_note,
    ordered_refs,
    points,
    thin_tolerance,
)

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.text import Text

__all__ = [
    "PARALLEL_CHARTS",
    "RefStyle",
    "draw_all",
    "draw_each",
    "draw_job",
    "drawn_figure",
    "render_svg",
]

# --------------------------------------------------------------------------- #
# Styling
# --------------------------------------------------------------------------- #

# Okabe-Ito colour-blind-safe palette for the arms: blue first (strong: the arm compared
# with control is drawn first, `spec.drawn_variants`), then reddish purple, orange, sky
# blue, round again past four arms (each keeps its own marker). Vermillion is a
# guardrail's limit and its breaches, green the target: never an arm's. Production, the
# world as it is, is black on every chart, control grey.
_SERIES_COLOURS = ("#0072B2", "#CC79A7", "#E69F00", "#56B4E9")
_PRODUCTION_COLOUR = "#000000"
_CONTROL_COLOUR = "#8A8A8A"
_MARKERS = ("o", "s", "D", "^", "v", "P")

_TEXT = "#333333"
_MUTED = "#555555"
_SPINE = "#9A9A9A"
_GRID = "#E6E6E6"


@dataclass(frozen=True)
class RefStyle:
    """How a kind of reference line is drawn."""

    colour: str
    # matplotlib's (offset, (on, off, ...)) in points, or "solid"
    dashes: tuple[float, tuple[float, ...]] | str
    width: float
    # The label's text, darker than a light line so that small text reads (4.5:1 on the
    # chart's white, and on the dark theme's dimmed white); None: the line's colour.
    text: str | None = None


REF_STYLES: dict[LineKind, RefStyle] = {
    "target": RefStyle("#009E73", (0, (1.2, 1.6)), 1.7, "#007A5A"),
    # The target agreed before it moved (history.py): the target's green, long dashes.
    "original": RefStyle("#009E73", (0, (7, 3)), 1.1, "#007A5A"),
    "human": RefStyle("#A6558A", (0, (6, 2, 1.5, 2)), 1.3, "#8F4778"),
    "baseline": RefStyle("#4D4D4D", (0, (5, 3)), 1.2),
    # The baseline agreed before it moved (history.py): the baseline's grey, long dashes.
    "original-baseline": RefStyle("#4D4D4D", (0, (10, 3)), 1.0),
    "mde": RefStyle("#009E73", (0, (1.2, 1.6)), 1.7, "#007A5A"),
    # Okabe-Ito vermillion: the bad side, a guardrail's limit.
    "tolerance": RefStyle("#D55E00", (0, (6, 1.6, 1.2, 1.6, 1.2, 1.6)), 1.5, "#B34700"),
    "zero": RefStyle("#4D4D4D", "solid", 1.0),
}
_TARGET_SHADE = "#009E73"
#: Shaded on their good side: a value to reach.
_SHADED: tuple[LineKind, ...] = ("target", "mde")


@dataclass(frozen=True)
class BreachStyle:
    """How a point beyond a guardrail's tolerance is marked: a large cross over the point."""

    colour: str = "#D55E00"
    marker: str = "X"
    size: float = 9.5
    edge: str = "white"


BREACH_STYLE = BreachStyle()
TOLERANCE_GID = "tolerance-line"  # the SVG group id of the tolerance line
BREACH_GID = "breach-markers"  # the SVG group id of the breach markers


@dataclass(frozen=True)
class SeriesStyle:
    """How one series is drawn: control arms grey and behind, others in palette order."""

    colour: str
    marker: str
    control: bool

    @property
    def marker_size(self) -> float:
        return 4.8 if self.marker != "D" else 4.2

    @property
    def zorder(self) -> int:
        return 3 if self.control else 4


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
    # Every text is drawn as written: a variant `$\euro$ off` stopped the build (a
    # mathtext error), `$\mathregular{treatment}$` drew a second "treatment" in the legend.
    "text.parse_math": False,
}

# rcParams are process-global; serialise renders within a process.
_LOCK = threading.Lock()
# matplotlib's warning of a character its font cannot measure (render_svg).
# ("missing from font(s) DejaVu Sans." since matplotlib 3.9, "from current font." before)
_MISSING_GLYPH = r"Glyph \d+ \(.*\) missing from"


# --------------------------------------------------------------------------- #
# What the steps hand on
# --------------------------------------------------------------------------- #


@dataclass
class Legend:
    """The legend's entries, collected as the steps draw."""

    handles: list[Artist | tuple[Artist, Artist]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    interval: bool = False  # some series has an interval band or bar

    def add(self, handle: Artist | tuple[Artist, Artist], label: str) -> None:
        self.handles.append(handle)
        self.labels.append(label)


@dataclass
class Extent:
    """The dates and values the axes must show."""

    days: list[date] = field(default_factory=list)
    lows: list[float] = field(default_factory=list)
    highs: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class YRange:
    low: float
    high: float

    def fraction(self, value: float) -> float:
        """Where `value` sits on the y axis, 0 at the bottom and 1 at the top."""
        return (value - self.low) / (self.high - self.low)


# --------------------------------------------------------------------------- #
# Helpers
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


def _y_limits(lows: list[float], highs: list[float]) -> YRange:
    lo, hi = min(lows), max(highs)
    span = hi - lo
    if span <= 0:
        half = abs(hi) * 0.05 if hi != 0 else 1.0
        return YRange(lo - half, hi + half)
    pad_lo, pad_hi = span * 0.10, span * 0.12
    if lo >= 0 and lo - pad_lo < 0:
        # Non-negative data near zero: stop just below 0, no negative ticks.
        return YRange(-span * 0.02, hi + pad_hi)
    return YRange(lo - pad_lo, hi + pad_hi)


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


# Below this, the y axis's labels are written with an exponent (1.5e−09): written out,
# matplotlib's labels of a range of nanoseconds all read 0.0000000000.
TINY = 1e-5


def _y_formatter(y: YRange) -> Any:
    from matplotlib.ticker import FuncFormatter, ScalarFormatter

    top = max(abs(y.low), abs(y.high))
    if top >= 10_000:
        return FuncFormatter(lambda v, _pos: f"{v:,.0f}".replace("-", "\u2212"))
    if 0 < top < TINY:  # without an exponent every label read 0.0000000000
        return FuncFormatter(lambda v, _pos: f"{v:.3g}".replace("-", "\u2212"))
    fmt = ScalarFormatter(useOffset=False)
    fmt.set_scientific(False)
    return fmt


def _no_results_note(ax: Axes, **style: Any) -> None:
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


def _date2num(day: date) -> float:
    from matplotlib import dates as _mdates

    mdates: Any = _mdates  # matplotlib.dates is not fully annotated
    return float(mdates.date2num(day))


def _date2nums(days: Sequence[date]) -> list[float]:
    """matplotlib's numbers of many dates at once (one conversion, not one per date)."""
    from matplotlib import dates as _mdates

    mdates: Any = _mdates
    return [float(x) for x in mdates.date2num(list(days))] if days else []


# --------------------------------------------------------------------------- #
# The steps
# --------------------------------------------------------------------------- #


def _white_axes(fig: Figure, axes_class: type[Axes] | None = None) -> Axes:
    """White axes with only a bottom spine."""
    ax = fig.add_subplot(axes_class=axes_class)
    ax.set_facecolor("white")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    return ax


def _frame(fig: Figure) -> Axes:
    """Step 1: white axes with only a bottom spine. Their axes (ticks, labels, grid) are
    hidden: :func:`generator.charts.decor.decorate` draws them (step 3)."""
    ax = _white_axes(fig, _tickless_axes())
    ax.xaxis.set_visible(False)
    ax.yaxis.set_visible(False)
    return ax


@functools.cache
def _kept_background() -> type[Any]:
    """The background rectangle of a metric chart's axes (`_tickless_axes`), keeping its
    transform."""
    from matplotlib.patches import Rectangle

    class AxesPatch(Rectangle):
        """The axes' background, by which every artist of the axes is clipped: matplotlib
        asks for its transform once an artist is added (some 44 a chart), and a
        `Rectangle` builds it anew each time (its box, a transform to it, a rotation and
        their sum), about a fourteenth of a chart's profile (drawing took 0.85 to 0.92 of
        the time with it kept). Kept while the rectangle and the
        transform it is placed by stay the same objects and numbers; the transform
        kept is live, as the one made each time was."""

        _kept: tuple[Any, tuple[Any, ...], Any] | None = None

        def get_transform(self) -> Any:
            rect: Any = self  # matplotlib's private fields, which it builds the transform of
            numbers = (
                rect._x0,
                rect._y0,
                rect._width,
                rect._height,
                rect.angle,
                rect.rotation_point,
                rect._aspect_ratio_correction,
            )
            kept = self._kept
            if kept is None or kept[0] is not rect._transform or kept[1] != numbers:
                kept = self._kept = (rect._transform, numbers, super().get_transform())
            return kept[2]

    return AxesPatch


@functools.cache
def _tickless_axes() -> type[Axes]:
    """matplotlib's axes, but their x and y axes make no tick objects (a metric chart's
    axes are hidden, and :mod:`generator.charts.decor` draws their ticks).

    matplotlib makes an axis's first major and minor tick as the axes are made (setting
    the grid off asks for them), each two lines, two texts and a grid line, a quarter of
    the axes' making; a hidden axis never draws them. Here a tick list is empty when first
    asked for; a tick is still made, with the axis's tick settings, for anyone asking for
    a number of them (`Axis.get_major_ticks`: `set_xticks` for a chart of one date). A
    title on such axes would fail as it is placed (`Axis._get_ticks_position` reads the
    first tick): a metric chart has none, its texts are placed by this module.
    """
    import matplotlib.axis as maxis
    from matplotlib.axes import Axes
    from matplotlib.patches import Rectangle

    AxesPatch = _kept_background()

    class NoTicks:
        def __set_name__(self, owner: type, name: str) -> None:
            self.name = name

        def __get__(self, axis: Any, owner: type | None = None) -> Any:
            if axis is None:
                return self
            ticks: list[Any] = []
            setattr(axis, self.name, ticks)  # on the axis, until `Axis.reset_ticks`
            return ticks

    class XAxis(maxis.XAxis):
        majorTicks = NoTicks()
        minorTicks = NoTicks()

    class YAxis(maxis.YAxis):
        majorTicks = NoTicks()
        minorTicks = NoTicks()

    class PlotAxes(Axes):
        def _gen_axes_patch(self) -> Rectangle:  # as Axes._gen_axes_patch, kept
            patch: Rectangle = AxesPatch((0.0, 0.0), 1.0, 1.0)
            return patch

        def _init_axis(self) -> None:  # as Axes._init_axis, with the classes above
            self.xaxis = XAxis(self, clear=False)
            self.spines.bottom.register_axis(self.xaxis)
            self.spines.top.register_axis(self.xaxis)
            self.yaxis = YAxis(self, clear=False)
            self.spines.left.register_axis(self.yaxis)
            self.spines.right.register_axis(self.yaxis)

        def clear(self) -> None:
            super().clear()
            # matplotlib places each spine where its first tick asks for it; with no tick
            # made, each is placed here where that puts it (its default place).
            for spine in self.spines.values():
                spine.set_position(("outward", 0.0))

    return PlotAxes


_AXIS_STYLE = decor.AxisStyle(
    tick_colour=_SPINE,
    tick_width=0.8,
    label_colour=_MUTED,
    label_size=_SMALL_FONT + 0.5,
    unit_size=_FONT_SIZE,
    grid_colour=_GRID,
    grid_width=0.8,
)
_LEGEND_LAYOUT = decor.LegendLayout(fontsize=_SMALL_FONT + 0.5, colour=_TEXT)


@dataclass(frozen=True)
class Line:
    """A series that has points to draw, with its style."""

    series: Series
    points: list[Point]
    style: SeriesStyle


def _lines(spec: ChartSpec) -> list[Line]:
    """The series that have points, each with its style.

    Markers follow the series' place in the spec; colours are handed out in palette
    order to the arms that are drawn, except control arms, which are grey; production
    is black.
    """
    lines: list[Line] = []
    colour_index = 0
    for index, series in enumerate(spec.series):
        pts = points(series)
        if not pts:
            continue
        control = is_control(series.label)
        if control:
            colour = _CONTROL_COLOUR
        elif not series.label:
            colour = _PRODUCTION_COLOUR
        else:
            colour = _SERIES_COLOURS[colour_index % len(_SERIES_COLOURS)]
            colour_index += 1
        style = SeriesStyle(colour, _MARKERS[index % len(_MARKERS)], control)
        lines.append(Line(series, pts, style))
    return lines


def _intervals(
    ax: Axes, pts: list[Point], xs: list[float], style: SeriesStyle, extent: Extent
) -> bool:
    """A band under each run of points with an interval, or a bar for a lone one."""
    has_iv = [p.lower is not None for p in pts]
    for start, stop in _runs(has_iv):
        run = pts[start:stop]
        run_lo = [p.lower for p in run if p.lower is not None]
        run_hi = [p.upper for p in run if p.upper is not None]
        extent.lows.extend(run_lo)
        extent.highs.extend(run_hi)
        if stop - start >= 2:
            ax.fill_between(
                xs[start:stop],
                run_lo,
                run_hi,
                color=style.colour,
                alpha=_INTERVAL_ALPHA,
                linewidth=0,
                zorder=1,
            )
        else:  # isolated interval: a band would have no width, draw an error bar
            ax.plot(
                [xs[start], xs[start]],
                [run_lo[0], run_hi[0]],
                color=style.colour,
                alpha=0.65,
                linewidth=1.3,
                marker="_",
                markersize=7,
                markeredgewidth=1.3,
                zorder=2,
            )
    return any(has_iv)


def _series(ax: Axes, spec: ChartSpec, legend: Legend) -> Extent:
    """Step 2: a line per series with its intervals; returns what the axes must show."""
    from matplotlib.patches import Patch

    extent = Extent()
    for drawn in _lines(spec):
        pts, style = drawn.points, drawn.style
        xs = _date2nums([p.day for p in pts])
        ys = [p.value for p in pts]
        extent.days.extend(p.day for p in pts)
        extent.lows.extend(ys)
        extent.highs.extend(ys)
        has_interval = _intervals(ax, pts, xs, style, extent)
        (line,) = ax.plot(
            xs,
            ys,
            color=style.colour,
            linewidth=1.9,
            # A thinned line's points are as dense as its pixels: markers would draw a band.
            marker="none" if drawn.series.thinned_from else style.marker,
            markersize=style.marker_size,
            markeredgecolor="white",
            markeredgewidth=0.8,
            zorder=style.zorder,
            solid_capstyle="round",
            solid_joinstyle="round",
        )
        if has_interval:
            legend.interval = True
            band = Patch(facecolor=style.colour, alpha=_INTERVAL_ALPHA + 0.07, linewidth=0)
            legend.add((band, line), variant_label(drawn.series.label))
        else:
            legend.add(line, variant_label(drawn.series.label))
    return extent


def _x_axis(ax: Axes, days: list[date]) -> None:
    from matplotlib import dates as _mdates

    mdates: Any = _mdates  # matplotlib.dates is not fully annotated
    if not days:
        # Only reference lines: no dates to show.
        ax.set_xticks([])
        _no_results_note(ax, bbox={"facecolor": "white", "edgecolor": "none", "pad": 3}, zorder=5)
        return
    x0, x1 = _x_limits(days)
    origin = _date2num(min(days))
    ax.set_xlim(origin + x0, origin + x1)
    if len(set(days)) == 1:
        # A single date: one tick with the full date reads better than a week of day numbers.
        only = days[0]
        ax.set_xticks([_date2num(only)], [f"{only.day} {only:%b %Y}"])
    else:
        locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(_date_formatter(locator))


def _axes(ax: Axes, spec: ChartSpec, extent: Extent) -> YRange:
    """Step 3: limits and ticks of both axes, and the unit on the y axis."""
    from matplotlib.ticker import MaxNLocator

    y = _y_limits(extent.lows, extent.highs)
    ax.set_ylim(y.low, y.high)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10], min_n_ticks=4))
    ax.yaxis.set_major_formatter(_y_formatter(y))
    _x_axis(ax, extent.days)
    return y


def _reference_lines(
    ax: Axes, spec: ChartSpec, refs: list[RefLine], y: YRange, legend: Legend
) -> None:
    """Step 4: a horizontal line per reference value; the target's or MDE's good side shaded."""
    for ref in refs:
        style = REF_STYLES[ref.kind]
        line = ax.axhline(
            float(ref.value),
            color=style.colour,
            linestyle=style.dashes,
            linewidth=style.width,
            zorder=2,
        )
        legend.add(line, ref.label)
    target = next((float(r.value) for r in refs if r.kind in _SHADED), None)
    if target is None:
        return
    # Very light shading of the "good" side of the target (or of the MDE).
    if spec.direction == "increase":
        ax.axhspan(target, y.high, color=_TARGET_SHADE, alpha=0.045, linewidth=0, zorder=0)
    else:
        ax.axhspan(y.low, target, color=_TARGET_SHADE, alpha=0.045, linewidth=0, zorder=0)


def _tolerance(ax: Axes, spec: ChartSpec, legend: Legend) -> RefLine | None:
    """Step 5: a guardrail's limit, flat or following control, and a cross on each breach.

    Returns the line's right-end label (as a reference line) for step 6: with its
    value when the limit is flat.
    """
    tol = spec.tolerance
    if tol is None or not tol.dates:
        return None
    tol = thin_tolerance(tol)  # drawn as a long series is: what a pixel column shows
    style = REF_STYLES["tolerance"]
    line_style: dict[str, Any] = {
        "color": style.colour,
        "linestyle": style.dashes,
        "linewidth": style.width,
        "zorder": 2,
        "gid": TOLERANCE_GID,
    }
    flat = len(set(tol.limits)) == 1
    if flat:
        line: Artist = ax.axhline(tol.limits[0], **line_style)
    else:
        xs, ys = _date2nums(tol.dates), list(tol.limits)
        cut = bisect_right(tol.dates, tol.rollout) if tol.rollout is not None else 0
        if 0 < cut < len(xs):
            # Control's limit holds to halfway between the last pair and the first production
            # row, the baseline's from there: a step with a break, each side a line even
            # when it has one date.
            mid = (xs[cut - 1] + xs[cut]) / 2
            xs[cut:cut] = [mid, mid, mid]
            ys[cut:cut] = [ys[cut - 1], math.nan, ys[cut]]
        (line,) = ax.plot(xs, ys, **line_style)
    legend.add(line, tol.label)
    if tol.breaches:
        b = BREACH_STYLE
        (marks,) = ax.plot(
            _date2nums([x.day for x in tol.breaches]),
            [x.value for x in tol.breaches],
            linestyle="none",
            marker=b.marker,
            markersize=b.size,
            color=b.colour,
            markeredgecolor=b.edge,
            markeredgewidth=0.9,
            zorder=6,
            gid=BREACH_GID,
        )
        legend.add(marks, "Beyond tolerance")
    # Told from the reference lines' labels beside it (the baseline it is set from).
    beside = [r.value for r in spec.refs]
    label = (
        f"Tolerance limit {fmt_value(tol.limits[0], spec.unit, apart=beside)}"
        if flat
        else "Tolerance limit"
    )
    return RefLine("tolerance", label, tol.limits[-1])


def _reference_labels(fig: Figure, ax: Axes, refs: list[RefLine], y: YRange) -> list[Text]:
    """Step 6: labels at the right end of the reference lines, pushed apart if close."""
    from matplotlib.transforms import offset_copy

    if not refs:
        return []
    # Approximate axes height in points; the gap is one label line high.
    axes_height_pt = _FIG_SIZE[1] * 72 * 0.68
    gap = (_SMALL_FONT * 1.3) / axes_height_pt
    by_value = sorted(refs, key=lambda r: float(r.value))
    placed = _spread([y.fraction(float(r.value)) for r in by_value], gap)
    label_transform = offset_copy(ax.transAxes, fig=fig, x=5, y=0, units="points")
    return [
        ax.text(
            1.0,
            frac,
            ref.label,
            transform=label_transform,
            ha="left",
            va="center",
            fontsize=_SMALL_FONT,
            color=REF_STYLES[ref.kind].text or REF_STYLES[ref.kind].colour,
            clip_on=False,
        )
        for ref, frac in zip(by_value, placed, strict=True)
    ]


def _direction_note(fig: Figure, ax: Axes, spec: ChartSpec | ForestSpec) -> Text:
    """Step 7: which way is good, upper left above the plot."""
    from matplotlib.transforms import offset_copy

    note = "\u25b2 Higher is better" if spec.direction == "increase" else "\u25bc Lower is better"
    if isinstance(spec, ForestSpec):  # lifts run across: better is right or left
        up = spec.direction == "increase"
        note = "Higher is better \u2192" if up else "\u2190 Lower is better"
    note_transform = offset_copy(ax.transAxes, fig=fig, x=0, y=8, units="points")
    return ax.text(
        0.0,
        1.0,
        note,
        transform=note_transform,
        ha="left",
        va="bottom",
        fontsize=_SMALL_FONT + 0.5,
        color=_MUTED,
    )


def _legend(
    fig: Figure, ax: Axes, texts: tuple[Text, list[Text]], legend: Legend, renderer: Any
) -> Artist | None:
    """Step 8: the legend, when there is more than one line or any band to explain.
    `texts` are the direction note and the reference lines' labels."""
    from matplotlib.patches import Patch

    if legend.interval:
        legend.add(Patch(facecolor="#7F7F7F", alpha=0.3, linewidth=0), "95% interval")
    if len(legend.handles) > 1:  # several series, any reference line, or an interval band
        return _place_legend(fig, ax, texts, legend, renderer)
    return None


def _place_legend(
    fig: Figure, ax: Axes, texts: tuple[Text, list[Text]], legend: Legend, renderer: Any
) -> Artist:
    """Put the legend above the plot on the right, wrapping into rows if too wide.

    The legend ends where the reference line labels end (or at the axes' right
    edge if there are none), and must not run into the direction note on the left.
    The axes are already placed (:func:`_fit`), so their width is known. Whether
    the legend fits on one row is judged in screen pixels (hinted text at 100 dpi),
    the way the charts have always wrapped it; it is drawn at 72 dpi, measured by
    `renderer`.
    """
    note, ref_texts = texts
    with _screen_dpi(fig):
        screen = _screen_renderer(fig)
        px_per_pt = fig.dpi / 72
        axes_right = ax.get_window_extent(screen).x1
        right = max([axes_right] + [t.get_window_extent(screen).x1 for t in ref_texts])
        # Room for the legend, in points: from the end of the direction note to `right`.
        budget = (right - note.get_window_extent(screen).x1) / px_per_pt - 14

    def columns(labels: list[Text], width: Callable[[list[float], int], float]) -> int:
        with _screen_dpi(fig):
            widths = [t.get_window_extent(screen).width * 72 / fig.dpi for t in labels]
        entries = len(labels)
        ncol = entries
        while ncol > 1 and width(widths, ncol) > budget:
            ncol -= 1
            # Prefer balanced rows: e.g. 5 entries -> 3 + 2 rather than 4 + 1.
            rows = math.ceil(entries / ncol)
            ncol = math.ceil(entries / rows)
        return ncol

    entries = (legend.handles, legend.labels)
    extra = (right - axes_right) / px_per_pt
    return decor.legend(fig, ax, entries, _LEGEND_LAYOUT, columns, extra, renderer)


# --------------------------------------------------------------------------- #
# Layout: one pass, margins from the decorations measured once
# --------------------------------------------------------------------------- #

_PAD_PT = 6.0  # room between the decorations and the figure's edges


@dataclass(frozen=True)
class Margins:
    """How far the decorations reach beyond the axes on each side, in pixels."""

    left: float
    right: float
    bottom: float
    top: float


def _measurer(fig: Figure) -> Any:
    """A renderer that measures text as the SVG backend will draw it (72 dpi, unhinted).

    One per figure size, font settings and process; measuring draws nothing. What it
    measures, the renderer that saves the chart knows (generator/charts/svg.py).
    """
    from .svg import Renderer, font_settings

    width, height = fig.get_size_inches()
    key = (float(width), float(height), font_settings())
    renderer = _MEASURERS.get(key)
    if renderer is None:
        renderer = Renderer(width * 72, height * 72, io.StringIO())
        _MEASURERS[key] = renderer
    return renderer


_MEASURERS: dict[tuple[Any, ...], Any] = {}
_SCREEN_DPI = 100.0  # matplotlib's default figure dpi: the legend's wrapping is judged at it


@contextmanager
def _screen_dpi(fig: Figure) -> Iterator[None]:
    """The figure at screen dpi for a while (it is drawn at 72, the SVG's points)."""
    saved = fig.dpi
    fig.dpi = _SCREEN_DPI
    try:
        yield
    finally:
        fig.dpi = saved


def _screen_renderer(fig: Figure) -> Any:
    """A renderer that measures text as on screen (Agg, hinted, 100 dpi); one per size."""
    from matplotlib.backends.backend_agg import RendererAgg

    width, height = fig.get_size_inches()
    key = (float(width), float(height), _SCREEN_DPI)
    renderer = _MEASURERS.get(key)
    if renderer is None:
        renderer = RendererAgg(width * _SCREEN_DPI, height * _SCREEN_DPI, _SCREEN_DPI)  # type: ignore[no-untyped-call]
        _MEASURERS[key] = renderer
    return renderer


def _fit(fig: Figure, ax: Axes, renderer: Any) -> Margins:
    """Place the axes so its tick labels, axis label and texts fit in the figure.

    The decorations are measured once: their size does not depend on where the axes
    sit (the tick locators do not depend on the axes' size), so one measurement gives
    the margins. Returns them for :func:`_make_room_above`.
    """
    from matplotlib.transforms import Bbox

    box = ax.bbox
    tight = ax.get_tightbbox(renderer, for_layout_only=True)
    if tight is None:
        tight = box
    margins = Margins(
        left=max(box.x0 - tight.x0, 0.0),
        right=max(tight.x1 - box.x1, 0.0),
        bottom=max(box.y0 - tight.y0, 0.0),
        top=max(tight.y1 - box.y1, 0.0),
    )
    ax.set_position(Bbox(_position(fig, margins)))
    return margins


def _position(fig: Figure, margins: Margins) -> list[list[float]]:
    """The axes' corners in figure fractions for `margins` plus the padding."""
    width, height = fig.bbox.width, fig.bbox.height
    pad = _PAD_PT * fig.dpi / 72
    return [
        [(margins.left + pad) / width, (margins.bottom + pad) / height],
        [1 - (margins.right + pad) / width, 1 - (margins.top + pad) / height],
    ]


def _make_room_above(fig: Figure, ax: Axes, margins: Margins, drawn: Artist, renderer: Any) -> None:
    """Lower the top of the axes so the legend above it fits in the figure too."""
    from matplotlib.transforms import Bbox

    above = drawn.get_window_extent(renderer).y1 - ax.bbox.y1
    if above > margins.top:
        taller = Margins(margins.left, margins.right, margins.bottom, above)
        ax.set_position(Bbox(_position(fig, taller)))


def _draw(fig: Figure, spec: ChartSpec) -> None:
    """The steps in order; an empty chart gets a note instead of axes."""
    ax = _frame(fig)
    legend = Legend()
    extent = _series(ax, spec, legend)
    refs = ordered_refs(spec)
    limits: list[float] = []
    if spec.tolerance is not None:
        # Every breach is marked, also one of a variant the chart leaves out (spec.hidden).
        limits = [*spec.tolerance.limits, *(b.value for b in spec.tolerance.breaches)]
        extent.days.extend(b.day for b in spec.tolerance.breaches)
    extent.lows.extend([float(r.value) for r in refs] + limits)
    extent.highs.extend([float(r.value) for r in refs] + limits)
    renderer = _measurer(fig)
    if not extent.days and not refs:
        ax.set_yticks([])
        ax.set_xticks([])
        ax.spines["bottom"].set_visible(False)
        _no_results_note(ax)
        _fit(fig, ax, renderer)
        return
    y = _axes(ax, spec, extent)
    _reference_lines(ax, spec, refs, y, legend)
    limit = _tolerance(ax, spec, legend)
    labelled = refs + ([limit] if limit is not None else [])
    ref_texts = _reference_labels(fig, ax, labelled, y)
    note = _direction_note(fig, ax, spec)
    if spec.hidden:
        _hidden_note(ax, spec.hidden)
    decor.decorate(fig, ax, spec.unit.strip(), _AXIS_STYLE, renderer)
    margins = _fit(fig, ax, renderer)
    drawn = _legend(fig, ax, (note, ref_texts), legend, renderer)
    if drawn is not None:
        _make_room_above(fig, ax, margins, drawn, renderer)


def _hidden_note(ax: Axes, hidden: int) -> None:
    """Variants the chart leaves out, counted in the plot's upper left corner."""
    ax.text(
        0.01,
        0.97,
        hidden_note(hidden),
        transform=ax.transAxes,
        ha="left",
        va="top",
        color=_MUTED,
        fontsize=_SMALL_FONT,
        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 2},
        zorder=6,
    )


# --------------------------------------------------------------------------- #
# Entry points
# --------------------------------------------------------------------------- #


# --------------------------------------------------------------------------- #
# The forest plot of a catalogued metric
# --------------------------------------------------------------------------- #

_FOREST_ROW_HEIGHT = 0.42  # inches per project
_FOREST_BASE_HEIGHT = 1.25  # inches for the axis, its label and the direction note
_FOREST_LABEL_WIDTH = 28  # characters per line of a project's title
# Lines of a title a row has room for; a longer title ends in "…" (it is whole in the
# chart's text alternative and its data table).
_FOREST_LABEL_LINES = 3


def _forest_figsize(spec: ForestSpec) -> tuple[float, float]:
    return (_FIG_SIZE[0], _FOREST_BASE_HEIGHT + _FOREST_ROW_HEIGHT * len(spec.rows))


def _forest_points(ax: Axes, spec: ForestSpec) -> list[float]:
    """Forest step 2: each project's lift as a dot with its 95% interval as a bar."""
    colour = _SERIES_COLOURS[0]
    extent: list[float] = [0.0]
    for y, row in enumerate(reversed(spec.rows)):
        if row.lower is not None and row.upper is not None:
            ax.plot([row.lower, row.upper], [y, y], color=colour, linewidth=2.0,
                    solid_capstyle="butt", zorder=3)  # fmt: skip
            for end in (row.lower, row.upper):
                ax.plot([end, end], [y - 0.12, y + 0.12], color=colour, linewidth=1.2, zorder=3)
            extent += [row.lower, row.upper]
        ax.plot([row.lift], [y], marker="o", markersize=6.5, color=colour, linestyle="none",
                markeredgecolor="white", markeredgewidth=0.8, zorder=4)  # fmt: skip
        extent.append(row.lift)
    return extent


def _forest_axes(ax: Axes, spec: ForestSpec, extent: list[float]) -> None:
    """Forest step 3: projects down the side, lift across, a line at no effect."""
    low, high = min(extent), max(extent)
    pad = (high - low) * 0.08 or 1.0
    ax.set_xlim(low - pad, high + pad)
    n = len(spec.rows)
    ax.set_ylim(-0.7, n - 0.3)
    # Long titles wrap, so the plot keeps most of the width on a narrow screen.
    labels = [
        textwrap.fill(
            row.project, _FOREST_LABEL_WIDTH, max_lines=_FOREST_LABEL_LINES, placeholder=" …"
        )
        for row in reversed(spec.rows)
    ]
    ax.set_yticks(range(n), labels)
    ax.tick_params(axis="y", labelcolor=_TEXT, labelsize=_FONT_SIZE)
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color=_GRID, linewidth=0.8)
    ref = REF_STYLES["zero"]
    ax.axvline(0.0, color=ref.colour, linestyle=ref.dashes, linewidth=ref.width, zorder=2)
    ax.set_xlabel(f"lift over control ({spec.axis_unit})" if spec.axis_unit else "lift")
    ax.xaxis.set_major_formatter(_y_formatter(YRange(low - pad, high + pad)))


def _forest_frame(fig: Figure) -> Axes:
    """Forest step 1: white axes with only a bottom spine, drawn by matplotlib's axes (the
    project titles are its y tick labels)."""
    ax = _white_axes(fig)
    ax.tick_params(axis="y", length=0, pad=4)
    ax.tick_params(axis="x", length=3, width=0.8)
    ax.set_axisbelow(True)
    return ax


def _draw_forest(fig: Figure, spec: ForestSpec) -> None:
    """The forest plot's steps in order: frame, points and intervals, axes, direction."""
    ax = _forest_frame(fig)
    extent = _forest_points(ax, spec)
    _forest_axes(ax, spec, extent)
    _direction_note(fig, ax, spec)
    _fit(fig, ax, _measurer(fig))


def drawn_figure(spec: ChartSpec | LiftSpec | ForestSpec) -> Figure:
    """The figure of ``spec``, drawn and laid out, ready to save (call it under ``_RC``).

    A fresh figure per chart: clearing and reusing one costs more than making one
    (``Axes.clear`` rebuilds the axes' ticks and spines, measured at about 7 ms
    against 5 ms for a new figure with its axes), and a fresh one cannot carry
    anything over from the chart before it. What is reused in a process is what
    costs: the imports, and the renderers that measure text.
    """
    from matplotlib.figure import Figure

    from .svg import Canvas

    size = _forest_figsize(spec) if isinstance(spec, ForestSpec) else _FIG_SIZE
    # 72 dpi, as the SVG backend draws: the layout is measured as it will be saved.
    fig = Figure(figsize=size, dpi=72, facecolor="white")
    Canvas(fig)  # saved as SVG by it, with the texts the layout measured
    if isinstance(spec, ForestSpec):
        _draw_forest(fig, spec)
    else:
        _draw(fig, spec.chart() if isinstance(spec, LiftSpec) else spec)
    return fig


def render_svg(spec: ChartSpec | LiftSpec | ForestSpec, *, chart_id: str) -> str:
    """Draw ``spec`` (a metric's chart or its lift chart) and return the SVG document as text.

    The output is deterministic: the same spec and ``chart_id`` give byte-identical
    SVG in any process. ``chart_id`` also salts the SVG element ids, so several
    charts can be inlined into one HTML page without id clashes.
    """
    import matplotlib

    rc: Any = dict(_RC)
    rc["svg.hashsalt"] = chart_id
    buffer = io.StringIO()
    with _LOCK:
        _from_defaults(matplotlib)
    with _LOCK, matplotlib.rc_context(rc), warnings.catch_warnings():
        # Text is written as text (svg.fonttype none) and drawn by the browser, which
        # falls back to a font that has the characters; matplotlib only measures it, with
        # DejaVu Sans, and warns of each character that font lacks (Chinese, say).
        warnings.filterwarnings("ignore", message=_MISSING_GLYPH, category=UserWarning)
        fig = drawn_figure(spec)
        fig.savefig(
            buffer,
            format="svg",
            facecolor="white",
            metadata={"Date": None, "Creator": None},
        )
    return buffer.getvalue()


_DEFAULTS: list[bool] = []  # whether this process's rcParams were reset (_from_defaults)


def _from_defaults(matplotlib: Any) -> None:
    """Once per process, matplotlib's own defaults in place of what its import read from a
    `matplotlibrc` (MATPLOTLIBRC, the working folder, the user's configuration): a chart
    depends on nothing but its spec and `_RC`, as its cache key says. A grid or a line
    width set there changed every SVG, which a no-op build then kept."""
    if not _DEFAULTS:
        matplotlib.rcdefaults()
        _DEFAULTS.append(True)


def draw_job(job: ChartJob) -> bytes:
    """The SVG of one chart job, encoded for writing."""
    return render_svg(job.spec, chart_id=job.chart_id).encode()


def draw_jobs(jobs: Sequence[ChartJob]) -> list[bytes]:
    """The SVG of each job, in order (a few charts given to one worker at once)."""
    return [draw_job(job) for job in jobs]


PARALLEL_CHARTS = 12  # below this, starting worker processes costs more than it saves
CHUNKS_PER_WORKER = 4  # a small drawing goes out in this many chunks per worker: even ends
# A chunk is at most this many charts (about a third of a second of drawing), and each
# worker has at most `AHEAD` chunks given to it and not yet taken back: the specs and SVGs
# in flight stay few however many charts there are, the workers never wait for the specs
# of the next ones (made here while they draw), and neither waits long for the other at
# the end. Chunks of 125 charts, given out a thousand charts at a time, left a core idle
# for about a sixth of a cold build's drawing.
CHUNK = 8
AHEAD = 4

#: Called after each chart with (charts done, charts to draw, the chart's site path).
DrawProgress = Callable[[int, int, str], None]


def _warm(owner: int) -> None:
    """A worker's start: import what drawing needs once, before the first chunk arrives.

    Ctrl-C reaches every process of the terminal's group; a worker ignores it, so only
    the build (or `serve`) handles it and shuts its pool down, rather than workers dying
    mid-chunk under a pool that then waits for them. A worker ends as soon as `owner`,
    the process that started the pool, is gone (killed, say): else it would go on drawing
    the charts of a build nobody waits for.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_end_with, args=(owner,), daemon=True).start()
    import matplotlib.backends.backend_svg
    import matplotlib.figure  # noqa: F401


def _end_with(owner: int) -> None:
    """Wait for process `owner` to end, then end this process at once (a daemon thread)."""
    import select
    import time

    try:
        pidfd = os.pidfd_open(owner)  # Linux: readable once the process has ended
    except (AttributeError, OSError):
        pidfd = None
    if pidfd is not None:
        select.select([pidfd], [], [])
    else:
        while _alive(owner):
            time.sleep(1.0)
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process took the number: ours has ended
        return False
    return True


_POOL: ProcessPoolExecutor | None = None


def worker_count() -> int:
    """How many drawing workers the pool has: one per core, at most eight."""
    return min(os.cpu_count() or 1, 8)


def _pool(workers: int) -> ProcessPoolExecutor:
    """The worker processes, started on the first build that needs them and kept for the
    next ones (`charters serve` rebuilds); they end with this process, or when a build
    outside `serve` stops them before its pages (`charts.stop_workers`)."""
    global _POOL
    if _POOL is None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # Workers come from a fresh server process, not forked from this one: a fork
        # would inherit every open file and pipe of the caller (a test's browser
        # driver, a server's sockets) and hold them for as long as the pool lives.
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        _POOL = ProcessPoolExecutor(
            max_workers=workers, initializer=_warm, initargs=(os.getpid(),), mp_context=context
        )
        atexit.register(_POOL.shutdown, cancel_futures=True)
    return _POOL


def _forget_pool() -> None:
    """Drop a pool whose worker died (killed, out of memory); the next call starts another."""
    global _POOL
    if _POOL is not None:
        _POOL.shutdown(wait=False, cancel_futures=True)
        atexit.unregister(_POOL.shutdown)
    _POOL = None


def _streamed(
    jobs: Iterator[ChartJob], total: int, workers: int
) -> Iterator[tuple[ChartJob, bytes]]:
    """Each job with its SVG in order, drawn by the workers: chunks of at most `CHUNK`
    jobs, at most `AHEAD` per worker given out at once, the next given as soon as the
    oldest is back (its specs made here, from `jobs`, while the workers draw)."""
    from concurrent.futures.process import BrokenProcessPool

    size = max(1, min(CHUNK, math.ceil(total / (workers * CHUNKS_PER_WORKER))))
    pool = _pool(workers)
    out: deque[tuple[list[ChartJob], Future[list[bytes]]]] = deque()

    def give() -> bool:
        chunk = list(islice(jobs, size))
        if chunk:
            out.append((chunk, pool.submit(draw_jobs, chunk)))
        return bool(chunk)

    try:
        while len(out) < workers * AHEAD and give():
            pass
        while out:
            chunk, future = out[0]
            svgs = future.result()
            out.popleft()
            give()  # before the caller stores these: the workers stay fed
            yield from zip(chunk, svgs, strict=True)
    except BrokenProcessPool:
        _forget_pool()
        raise
    finally:
        for _, left in out:  # the caller stopped early, or a chart failed
            left.cancel()


def draw_each(
    jobs: Iterable[ChartJob], total: int, progress: DrawProgress | None = None
) -> Iterator[tuple[ChartJob, bytes]]:
    """Each of the `total` jobs with its SVG, in the order given, as the workers finish
    them: the caller can store each one away instead of holding them all, and `jobs` may
    make each job's spec only when it is asked for the next (a few chunks ahead of the
    drawing). In the worker processes when there are `PARALLEL_CHARTS` jobs or more, or
    the workers are running already, and two cores, else here: matplotlib is imported
    only where charts are drawn. `progress` hears of each chart as it arrives."""
    workers = worker_count()
    stream = iter(jobs)
    # A few charts too, when the workers are already started (a cold build starts them
    # before it knows how many it will draw): matplotlib stays out of the build.
    if workers >= 2 and (total >= PARALLEL_CHARTS or (total and _POOL is not None)):
        drawn = _streamed(stream, total, workers)
    else:
        drawn = ((job, draw_job(job)) for job in stream)
    for done, (job, svg) in enumerate(drawn, start=1):
        if progress is not None:
            progress(done, total, job.path)
        yield job, svg


def draw_all(jobs: Sequence[ChartJob], progress: DrawProgress | None = None) -> dict[str, bytes]:
    """The SVG of every job by its site path; each is independent, so workers do not matter."""
    ordered = sorted(jobs, key=lambda job: job.path)
    return {job.path: svg for job, svg in draw_each(ordered, len(ordered), progress)}
