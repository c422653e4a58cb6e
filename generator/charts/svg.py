"""Charts stage: matplotlib's SVG canvas, with each text measured once per process.

matplotlib keeps what it measured of a text per renderer, and saving a figure makes a
new renderer: every text a chart's layout had measured was measured again as it was
drawn, about a fifth of a chart's time. What the SVG backend measures depends only on
the text, its font properties and the settings by which matplotlib picks and sizes a
font, so :class:`Renderer` keeps it by those for every renderer of the process, and
:class:`Canvas` saves with it. The renderer also writes a series' markers with their
style made once (matplotlib made it again for each marker), and reads each font's
vertical extent once a font and size (matplotlib read it from the font's tables at
every layout of every text). The bytes written are matplotlib's own.

Imported only where charts are drawn: it imports matplotlib.
"""

from __future__ import annotations

import codecs
from typing import Any

import matplotlib as mpl
from matplotlib import cbook
from matplotlib.backends.backend_mixed import MixedModeRenderer
from matplotlib.backends.backend_svg import FigureCanvasSVG, RendererSVG
from matplotlib.font_manager import FontProperties

# The settings by which matplotlib picks and sizes a font (font_manager.findfont's cache
# key, and what get_font reads).
_FONT_SETTINGS = (
    *(
        f"font.{key}"
        for key in (
            "family",
            "style",
            "variant",
            "weight",
            "stretch",
            "size",
            "serif",
            "sans-serif",
            "cursive",
            "fantasy",
            "monospace",
            "enable_last_resort",
        )
    ),
    "text.kerning_factor",
)
#: Texts measured, by the font settings in force: (width, height, descent) by text and
#: font properties. A process draws charts with one set of settings; each table is
#: emptied when it reaches `MOST` texts.
_MEASURED: dict[tuple[Any, ...], dict[tuple[Any, ...], tuple[float, float, float]]] = {}
MOST = 100_000

Measure = tuple[float, float, float]


#: A font's (ascent, descent, line gap) by font properties, by font settings; None
#: where matplotlib reads no table and measures the font instead.
Heights = tuple[float, float, float] | tuple[None, None, None]
_HEIGHTS: dict[tuple[Any, ...], dict[tuple[Any, ...], Heights]] = {}


def _font_key(prop: FontProperties) -> tuple[Any, ...]:
    """What picks and sizes the font of `prop` (with the process's font settings)."""
    return (
        tuple(prop.get_family()),
        prop.get_style(),
        prop.get_variant(),
        prop.get_weight(),
        prop.get_stretch(),
        prop.get_size_in_points(),
        prop.get_file(),
    )


def _font_heights(prop: FontProperties, dpi: float) -> Heights:
    """`Text._get_layout`'s reading of a font's vertical extent, as matplotlib 3.11
    writes it: from the OS/2 table, else the hhea table, scaled to the size and `dpi`
    by the same operations (so the same floats)."""
    from matplotlib.font_manager import fontManager, get_font

    font = get_font(fontManager._find_fonts_by_props(prop))
    possible = [
        ("OS/2", "sTypoLineGap", "sTypoAscender", "sTypoDescender"),
        ("hhea", "lineGap", "ascent", "descent"),
    ]
    tables: Any = font.get_sfnt_table  # typed by table name, named here by a variable
    for table_name, linegap_key, ascent_key, descent_key in possible:
        table = tables(table_name)
        if table is None:
            continue
        fontsize = prop.get_size_in_points()
        units_per_em = tables("head")["unitsPerEm"]
        scale = 1 / units_per_em * fontsize * dpi / 72
        line_gap = table[linegap_key] * scale
        min_ascent = table[ascent_key] * scale
        min_descent = -table[descent_key] * scale
        return (min_ascent, min_descent, line_gap)
    return (None, None, None)


def font_settings() -> tuple[Any, ...]:
    """The settings by which matplotlib picks and sizes a font, as they are now."""
    settings: Any = mpl.rcParams
    values = (settings[key] for key in _FONT_SETTINGS)
    return tuple(tuple(v) if isinstance(v, list) else v for v in values)


class Renderer(RendererSVG):
    """matplotlib's SVG renderer; a text is measured once for the font settings in force
    when the renderer was made (mathematical text is measured each time: its own
    settings choose its fonts)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]
        settings = font_settings()
        self._measured = _MEASURED.setdefault(settings, {})
        self._heights = _HEIGHTS.setdefault(settings, {})

    def get_text_width_height_descent(
        self, s: str, prop: FontProperties, ismath: bool | str
    ) -> Measure:
        measure: Any = super().get_text_width_height_descent
        if ismath:
            return measure(s, prop, ismath)  # type: ignore[no-any-return]
        key = (s, *_font_key(prop))
        found = self._measured.get(key)
        if found is None:
            if len(self._measured) >= MOST:
                self._measured.clear()
            found = measure(s, prop, ismath)
            self._measured[key] = found
        return found

    def _get_font_height_metrics(self, prop: FontProperties) -> Heights:
        """A font's ascent, descent and line gap at the SVG's 72 dpi, read once per font
        and size. matplotlib 3.11's `Text._get_layout` asks the renderer for them, and
        otherwise finds the font and reads two of its tables, as written here, at every
        layout of every text (some 2.5 a text): over a tenth of drawing a chart. The
        figure is at 72 dpi whenever this renderer measures it (drawn at 72; saving sets
        72), so the figure's dpi that matplotlib's own reading scales by is 72."""
        key = _font_key(prop)
        found = self._heights.get(key)
        if found is None:
            found = _font_heights(prop, 72.0)
            self._heights[key] = found
        return found

    def draw_markers(
        self,
        gc: Any,
        marker_path: Any,
        marker_trans: Any,
        path: Any,
        trans: Any,
        rgbFace: Any = None,
    ) -> None:
        """matplotlib's `RendererSVG.draw_markers` as written in matplotlib 3.11, with the
        style of the markers' `use` elements made once, not again for each marker: it is
        the same for all of them (one graphics context and face colour), and making it
        was over a third of writing a series' markers."""
        if not len(path.vertices):
            return
        from matplotlib.backends import backend_svg
        from matplotlib.transforms import Affine2D

        css: Any = backend_svg._generate_css
        number: Any = backend_svg._short_float_fmt
        writer: Any = self.writer
        path_data = self._convert_path(  # type: ignore[no-untyped-call]
            marker_path, marker_trans + Affine2D().scale(1.0, -1.0), simplify=False
        )
        style = self._get_style_dict(gc, rgbFace)  # type: ignore[no-untyped-call]
        dictkey = (path_data, css(style))
        oid = self._markers.get(dictkey)
        style = css({k: v for k, v in style.items() if k.startswith("stroke")})
        if oid is None:
            oid = self._make_id("m", dictkey)  # type: ignore[no-untyped-call]
            writer.start("defs")
            writer.element("path", id=oid, d=path_data, style=style)
            writer.end("defs")
            self._markers[dictkey] = oid
        writer.start("g", **self._get_clip_attrs(gc))  # type: ignore[no-untyped-call]
        if gc.get_url() is not None:
            writer.start("a", {"xlink:href": gc.get_url(), "target": "_blank"})
        trans_and_flip = self._make_flip_transform(trans)  # type: ignore[no-untyped-call]
        attrib = {"xlink:href": f"#{oid}"}
        clip = (0, 0, self.width * 72, self.height * 72)
        use_style = self._get_style(gc, rgbFace)  # type: ignore[no-untyped-call]
        for vertices, _code in path.iter_segments(trans_and_flip, clip=clip, simplify=False):
            if len(vertices):
                x, y = vertices[-2:]
                attrib["x"] = number(x)
                attrib["y"] = number(y)
                attrib["style"] = use_style
                writer.element("use", attrib=attrib)
        if gc.get_url() is not None:
            writer.end("a")
        writer.end("g")


class Canvas(FigureCanvasSVG):
    """matplotlib's SVG canvas, saving with :class:`Renderer`: its `print_svg` as written
    in matplotlib, which names the renderer's class. `savefig` passes a canvas of another
    package what it passes every backend (`facecolor`, `edgecolor`, `orientation`), which
    the SVG backend has no use for (the figure's colours are set before)."""

    def print_svg(
        self,
        filename: Any,
        *,
        bbox_inches_restore: Any = None,
        metadata: Any = None,
        **_ignored: Any,
    ) -> None:
        with cbook.open_file_cm(filename, "w", encoding="utf-8") as opened:
            fh: Any = opened
            if not cbook.file_requires_unicode(fh):
                fh = codecs.getwriter("utf-8")(fh)
            dpi = self.figure.dpi
            self.figure.dpi = 72
            width, height = self.figure.get_size_inches()
            w, h = width * 72, height * 72
            renderer = MixedModeRenderer(  # type: ignore[no-untyped-call]
                self.figure,
                width,
                height,
                dpi,
                Renderer(w, h, fh, image_dpi=dpi, metadata=metadata),
                bbox_inches_restore=bbox_inches_restore,
            )
            self.figure.draw(renderer)  # type: ignore[arg-type]
            renderer.finalize()
