"""Charts stage, a metric chart's decorations drawn as plain artists: its ticks, tick labels,
grid, unit and legend.

matplotlib's axis draws a tick as an object of two lines, two texts and a grid line, and
asks the locator and the formatter again each time the axis is measured or drawn; its
legend is a tree of offset boxes laid out again at every measure and draw. The two were
most of a chart's drawing time (about 38 of 60 ms). Here the same things are drawn at the
same places in the same styles as a few lines and texts:

* :func:`decorate`: the ticks' places and labels come from the axis's own locator and
  formatter, asked once; the tick marks are one line of tick markers, the grid one line,
  each label a text, placed as matplotlib places them (the pads below);
* :func:`legend`: the entries laid out as ``Axes.legend`` lays them out with the
  parameters of :class:`LegendLayout` (a handle box, the label on its baseline, rows
  packed down each column, columns split as ``numpy.array_split`` splits them), each
  handle drawn as matplotlib's handlers draw it, all in one SVG group (``id="legend"``).

A forest plot keeps matplotlib's axes: its tick labels are project titles, wrapped.
matplotlib is imported inside the functions, as in :mod:`generator.charts.draw`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.text import Text
    from matplotlib.transforms import Bbox

__all__ = ["AxisStyle", "LegendLayout", "Ticks", "decorate", "legend", "tick_places"]

# Where matplotlib's axis puts what it draws, in points (its defaults and the charts' own
# tick_params): x tick marks out of the axes, their labels below them; no y tick marks,
# the labels to the left; the unit beyond the widest y label; the x axis's offset ("2026")
# under its labels, at the right.
X_TICK_LENGTH = 3.0
X_TICK_PAD = 3.5
Y_TICK_PAD = 4.0
UNIT_PAD = 4.0  # rcParams["axes.labelpad"]
OFFSET_PAD = 3.0  # matplotlib's Axis.OFFSETTEXTPAD
LEGEND_GID = "legend"  # the SVG group id of the legend


@dataclass(frozen=True)
class AxisStyle:
    """Colours and sizes of the axes' decorations."""

    tick_colour: str
    tick_width: float
    label_colour: str
    label_size: float
    unit_size: float
    grid_colour: str
    grid_width: float


@dataclass(frozen=True)
class Ticks:
    """An axis's ticks inside its limits, their labels and the axis's offset text."""

    places: list[float]
    labels: list[str]
    offset: str


def tick_places(axis: Any) -> Ticks:
    """The ticks matplotlib would draw on `axis`, with their labels, asked once.

    Every place the locator gives is labelled together (a label may depend on the
    others), then those inside the view limits are kept, as matplotlib keeps them.
    """
    places = [float(p) for p in axis.get_majorticklocs()]
    formatter = axis.get_major_formatter()
    labels = [str(label) for label in formatter.format_ticks(places)]
    offset = str(formatter.get_offset())
    low, high = sorted(axis.get_view_interval())
    slack = (high - low) * 1e-10  # matplotlib's _interval_contains_close
    kept = [i for i, p in enumerate(places) if low - slack <= p <= high + slack]
    return Ticks([places[i] for i in kept], [labels[i] for i in kept], offset)


def _points(fig: Figure, x: float, y: float) -> Any:
    """A shift by (x, y) points, at whatever dpi the figure is drawn."""
    from matplotlib.transforms import ScaledTranslation

    return ScaledTranslation(x / 72, y / 72, fig.dpi_scale_trans)


def decorate(fig: Figure, ax: Axes, unit: str, style: AxisStyle, renderer: Any) -> None:
    """The y grid and labels, the x tick marks and labels, the x offset and the unit, as
    matplotlib's axes drew them (which ``draw._frame`` hides)."""
    from matplotlib.lines import Line2D
    from matplotlib.markers import TICKDOWN

    tick_down: Any = TICKDOWN  # a tick mark below its place

    xs, ys = tick_places(ax.xaxis), tick_places(ax.yaxis)
    text: dict[str, Any] = {
        "fontsize": style.label_size,
        "color": style.label_colour,
        "clip_on": False,
    }
    if ys.places:
        grid_x = [v for _ in ys.places for v in (0.0, 1.0, math.nan)]
        grid_y = [v for y in ys.places for v in (y, y, math.nan)]
        grid = Line2D(grid_x, grid_y, color=style.grid_colour, linewidth=style.grid_width)
        grid.set_transform(ax.get_yaxis_transform())
        grid.set_zorder(0.5)  # below everything, as with set_axisbelow(True)
        ax.add_line(grid)
    left = ax.get_yaxis_transform() + _points(fig, -Y_TICK_PAD, 0)
    widest = 0.0
    for y, label in zip(ys.places, ys.labels, strict=True):
        t = ax.text(0, y, label, transform=left, ha="right", va="center_baseline", **text)
        widest = max(widest, t.get_window_extent(renderer).width * 72 / fig.dpi)
    below = X_TICK_LENGTH + X_TICK_PAD
    lowest = 0.0
    if xs.places:
        marks = Line2D(xs.places, [0.0] * len(xs.places), linestyle="none", marker=tick_down,
                       markersize=X_TICK_LENGTH, markeredgewidth=style.tick_width,
                       color=style.tick_colour, clip_on=False, zorder=0.5)  # fmt: skip
        marks.set_transform(ax.get_xaxis_transform())
        ax.add_line(marks)
        under = ax.get_xaxis_transform() + _points(fig, 0, -below)
        for x, label in zip(xs.places, xs.labels, strict=True):
            t = ax.text(x, 0, label, transform=under, ha="center", va="top", **text)
            lowest = max(lowest, t.get_window_extent(renderer).height * 72 / fig.dpi)
    if xs.offset:
        drop = (below + lowest if xs.places else 0.0) + OFFSET_PAD
        at = ax.transAxes + _points(fig, 0, -drop)
        ax.text(1, 0, xs.offset, transform=at, ha="right", va="top", **text)
    if unit:
        reach = Y_TICK_PAD + widest if ys.places else 0.0
        at = ax.transAxes + _points(fig, -(reach + UNIT_PAD), 0)
        label = _axis_label_type()(0, 0.5, unit, transform=at, ha="center", va="bottom",
                                   rotation=90, rotation_mode="anchor",
                                   fontsize=style.unit_size, color=style.label_colour,
                                   clip_on=False)  # fmt: skip
        ax.add_artist(label)


@functools.cache
def _axis_label_type() -> type:
    """A text the layout counts for its width only, as matplotlib's layout counts an
    axis's label (``Axis.get_tightbbox(for_layout_only=True)``): a long unit runs beyond
    the plot's height instead of squeezing the plot."""
    from matplotlib.text import Text
    from matplotlib.transforms import Bbox

    class AxisLabel(Text):
        def get_tightbbox(self, renderer: Any = None) -> Bbox | None:
            box = super().get_tightbbox(renderer)
            if box is None or box.height <= 0:
                return box
            middle = (box.y0 + box.y1) / 2
            return Bbox.from_extents(box.x0, middle - 0.5, box.x1, middle + 0.5)

    return AxisLabel


# --------------------------------------------------------------------------- #
# The legend
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class LegendLayout:
    """``Axes.legend``'s parameters as the charts set them, in units of the font size
    (``fontsize`` is in points): ``loc="lower right"`` against an anchor, no frame."""

    fontsize: float
    colour: str
    handle_length: float = 2.6
    handle_height: float = 0.7
    handle_text_pad: float = 0.5
    column_spacing: float = 1.3
    label_spacing: float = 0.3
    border_pad: float = 0.2
    border_axes_pad: float = 0.5


@functools.cache
def _group_type() -> type:
    """An artist that draws its children in order inside one SVG group; its extent is
    `box` in its transform (a legend's box, whatever its markers overhang)."""
    from matplotlib.artist import Artist
    from matplotlib.transforms import Bbox

    class Group(Artist):
        def __init__(self, children: list[Artist], gid: str, box: Bbox) -> None:
            super().__init__()
            self.children = children
            self.box = box
            self.set_gid(gid)
            self.set_zorder(5)  # where matplotlib draws a legend

        def get_children(self) -> list[Artist]:
            return list(self.children)

        def draw(self, renderer: Any) -> None:
            if not self.get_visible():
                return
            renderer.open_group("legend", gid=self.get_gid())
            for child in self.children:
                child.draw(renderer)
            renderer.close_group("legend")
            self.stale = False

        def get_window_extent(self, renderer: Any = None) -> Bbox:
            return Bbox(self.get_transform().transform(self.box.get_points()))

    return Group


def _columns(count: int, ncol: int) -> list[range]:
    """Entry indices per column, as ``numpy.array_split`` splits them (the first
    ``count % ncol`` columns one longer), empty columns left out."""
    rows, extra = divmod(count, ncol)
    out: list[range] = []
    start = 0
    for c in range(ncol):
        stop = start + rows + (1 if c < extra else 0)
        if stop > start:
            out.append(range(start, stop))
        start = stop
    return out


def legend_width(layout: LegendLayout, text_widths: Sequence[float], ncol: int) -> float:
    """The legend's width in points for `ncol` columns; `text_widths` in points."""
    fs = layout.fontsize
    item = [fs * (layout.handle_length + layout.handle_text_pad) + w for w in text_widths]
    columns = _columns(len(item), ncol)
    inner = sum(max(item[i] for i in col) for col in columns)
    return inner + fs * (layout.column_spacing * (len(columns) - 1) + 2 * layout.border_pad)


def legend(
    fig: Figure,
    ax: Axes,
    entries: tuple[Sequence[Artist | tuple[Artist, ...]], Sequence[str]],
    layout: LegendLayout,
    columns: Callable[[list[Text], Callable[..., float]], int],
    anchor_x: float,
    renderer: Any,
) -> Artist:
    """The legend of `entries` (handles, labels) above the axes' upper right corner, that
    corner shifted right by `anchor_x` points, as ``Axes.legend(loc="lower right")`` puts
    it. `columns` says how many columns, given the labels and :func:`legend_width`."""
    from matplotlib.text import Text
    from matplotlib.transforms import Affine2D, ScaledTranslation

    handles, labels = entries
    axes_box: Any = ax.transAxes  # an affine transform
    origin = ScaledTranslation(1, 1, axes_box)  # the axes' upper right corner
    at = Affine2D().scale(1 / 72) + fig.dpi_scale_trans + origin  # points from it
    texts = []
    for label in labels:
        t = Text(0, 0, label, ha="left", va="baseline", fontsize=layout.fontsize,
                 color=layout.colour, clip_on=False)  # fmt: skip
        t.set_figure(fig)
        t.set_transform(at)
        texts.append(t)
    ncol = columns(texts, functools.partial(legend_width, layout))
    children, box = _lay_out(layout, handles, texts, _columns(len(texts), ncol), anchor_x, renderer)
    for child in children:
        child.set_figure(fig)
        child.set_transform(at)
        child.set_clip_box(None)
        child.set_clip_path(None)
    group: Artist = _group_type()(children, LEGEND_GID, box)
    group.set_figure(fig)
    group.set_transform(at)
    group.set_clip_on(False)
    ax.add_artist(group)
    return group


def _lay_out(
    layout: LegendLayout,
    handles: Sequence[Artist | tuple[Artist, ...]],
    texts: list[Text],
    columns: list[range],
    anchor_x: float,
    renderer: Any,
) -> tuple[list[Artist], Bbox]:
    """Each entry's handle and text in points from the anchor: rows down each column on
    their baselines, the columns side by side, the box's lower right corner at the anchor
    less the border pads (offsetbox's HPacker and VPacker, aligned on baselines); and the
    legend's box, border pad included."""
    from matplotlib.transforms import Bbox

    fs = layout.fontsize
    box = (fs * layout.handle_length, fs * layout.handle_height)
    text_x = box[0] + fs * layout.handle_text_pad
    font = texts[0].get_fontproperties()  # every label's
    _, h, d = renderer.get_text_width_height_descent("lp", font, False)
    figure: Any = texts[0].get_figure(root=True)
    rows = [_row(t, box[1], (h - d) * 72 / figure.dpi, renderer) for t in texts]
    ascent, descent = [r[0] for r in rows], [r[1] for r in rows]
    baseline = [0.0] * len(texts)
    tops, bottoms, widths = [], [], []
    for col in columns:
        for i in col[1:]:
            baseline[i] = baseline[i - 1] - descent[i - 1] - fs * layout.label_spacing - ascent[i]
        tops.append(ascent[col[0]])
        bottoms.append(baseline[col[-1]] - descent[col[-1]])
        widths.append(max(text_x + rows[i][3] for i in col))
    spacing, pad = fs * layout.column_spacing, fs * layout.border_pad
    inner = sum(widths) + spacing * (len(columns) - 1)
    shift_x = anchor_x - fs * layout.border_axes_pad - pad - inner
    shift_y = fs * layout.border_axes_pad + pad - min(bottoms)
    out: list[Artist] = []
    x = shift_x
    for col, width in zip(columns, widths, strict=True):
        for i in col:
            y = shift_y + baseline[i]
            out += _handle(handles[i], x, y, box)
            texts[i].set_position((x + text_x, y + rows[i][2]))
            out.append(texts[i])
        x += width + spacing
    frame = Bbox.from_extents(shift_x - pad, shift_y + min(bottoms) - pad,
                            shift_x + inner + pad, shift_y + max(tops) + pad)  # fmt: skip
    return out, frame


def _row(
    text: Text, box_height: float, lp_ascent: float, renderer: Any
) -> tuple[float, float, float, float]:
    """An entry's row around its baseline, in points: how far it reaches above and below
    it, how far the label is raised from it, and the label's width. A label is aligned on
    its baseline (a line of several, on its middle: matplotlib's
    ``TextArea(multilinebaseline=True)``), never lower than the handle's box. `lp_ascent`
    is the ascent of "lp" in points, matplotlib's measure of a line's height."""
    figure: Any = text.get_figure(root=True)
    scale = 72 / figure.dpi
    base = text.get_transform().transform(text.get_position())[1]
    extent = text.get_window_extent(renderer)
    top, below = (extent.y1 - base) * scale, (base - extent.y0) * scale
    raised = 0.0
    if "\n" in text.get_text():
        middle = 0.5 * extent.height * scale - 0.5 * lp_ascent
        raised, top, below = below - middle, extent.height * scale - middle, middle
    else:
        top = max(lp_ascent, top)
    return max(box_height, top), max(below, 0.0), raised, extent.width * scale


def _handle(
    orig: Artist | tuple[Artist, ...], x: float, y: float, box: tuple[float, float]
) -> list[Artist]:
    """What matplotlib's legend handlers draw for `orig` in the box at (x, y): a line
    across the box's middle with one marker at its centre, or a patch filling it; a tuple
    side by side, the box split between its members (``HandlerTuple(ndivide=None,
    pad=0)``)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    if isinstance(orig, tuple):
        part = box[0] / len(orig)
        return [
            a for k, one in enumerate(orig) for a in _handle(one, x + k * part, y, (part, box[1]))
        ]
    if isinstance(orig, Line2D):
        line = Line2D([x, x + box[0] / 2, x + box[0]], [y + box[1] / 2] * 3, markevery=[1])
        line.update_from(orig)
        return [line]
    patch = Rectangle((x, y), box[0], box[1])
    patch.update_from(orig)
    return [patch]
