"""The charts' layout: computed once, as matplotlib's constrained layout would place it,
with nothing outside the figure; and the drawing of many charts in worker processes."""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import matplotlib
import pytest
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine

from generator.charts import (
    Breach,
    ChartJob,
    ChartSpec,
    ForestRow,
    ForestSpec,
    LiftSpec,
    RefLine,
    Series,
    Tolerance,
    render_svg,
)
from generator.charts import draw as draw_module
from generator.charts.draw import drawn_figure

REPO_ROOT = Path(__file__).resolve().parents[2]
DAYS = tuple(date(2026, 1, 5) + timedelta(weeks=w) for w in range(52))


def _series(label: str, level: float, step: float) -> Series:
    values = tuple(level + step * w + 0.3 * ((w * 7) % 5 - 2) for w in range(52))
    return Series(
        label, DAYS, values, tuple(v - 0.8 for v in values), tuple(v + 0.8 for v in values)
    )


REFS = (
    RefLine("target", "Target 45 minutes", 45.0),
    RefLine("human", "Human baseline 43 minutes", 43.0),
    RefLine("baseline", "Baseline 40 minutes", 40.0),
)
AB = ChartSpec(
    "Handle time",
    "minutes",
    "decrease",
    (_series("control", 40, 0), _series("treatment", 41, 0.05)),
    REFS,
)
LONG = ChartSpec(
    "Long names",
    "minutes per resolved conversation",
    "increase",
    (
        _series("control", 40, 0),
        _series("treatment with a rather long variant name", 41, 0.05),
        _series("another arm", 42, -0.02),
    ),
    (RefLine("target", "Target 45 minutes per resolved conversation", 45.0),),
)
TOLERANCE = Tolerance(
    "Tolerance (control + 2 minutes)",
    "control",
    "treatment",
    DAYS,
    tuple(42.0 + 0.3 * ((w * 7) % 5 - 2) for w in range(52)),
    (Breach(DAYS[10], "treatment", 43.5, 42.0), Breach(DAYS[30], "treatment", 44.0, 42.3)),
)
GUARDRAIL = ChartSpec(
    "Latency",
    "ms",
    "decrease",
    (_series("control", 40, 0), _series("treatment", 41, 0.05)),
    (RefLine("baseline", "Baseline 40 ms", 40.0),),
    tolerance=TOLERANCE,
)
LIFT = LiftSpec(
    "Handle time",
    "minutes",
    "decrease",
    "treatment",
    Series(
        "treatment",
        DAYS,
        tuple(-0.02 * w for w in range(52)),
        tuple(-0.02 * w - 0.5 for w in range(52)),
        tuple(-0.02 * w + 0.5 for w in range(52)),
    ),
    (RefLine("zero", "No effect", 0.0), RefLine("mde", "MDE −0.5 minutes", -0.5)),
)
FOREST = ForestSpec(
    "Search conversion",
    "%",
    "increase",
    (
        ForestRow(
            "Search ranking with a title long enough to wrap twice over", DAYS[-1], 0.4, 0.1, 0.7
        ),
        ForestRow("Query autocomplete", DAYS[-1], -0.2, -0.6, 0.2),
        ForestRow("Short", DAYS[-1], 1.2, None, None),
    ),
)
TITLE = (
    "Query autocomplete ranked by purchase-weighted historical queries across every"
    " storefront, locale and device class (mobile web, apps)"
)
FOREST_LONG = ForestSpec(
    "Search conversion",
    "%",
    "increase",
    tuple(ForestRow(f"{TITLE} {i}", DAYS[-1], 0.1 * i, None, None) for i in range(3)),
)
EMPTY = ChartSpec("Nothing yet", "hours", "decrease", (), ())
SPECS = [AB, LONG, GUARDRAIL, LIFT, FOREST, FOREST_LONG, EMPTY]
IDS = ["ab", "long-names", "guardrail", "lift", "forest", "forest-long-titles", "empty"]


@pytest.fixture
def drawn(request: pytest.FixtureRequest) -> Iterator[Figure]:
    with matplotlib.rc_context(draw_module._RC):
        yield drawn_figure(request.param)


def _points(fig: Figure, box: Any) -> tuple[float, float, float, float]:
    scale = 72 / fig.dpi
    return (box.x0 * scale, box.y0 * scale, box.x1 * scale, box.y1 * scale)


@pytest.mark.parametrize("drawn", SPECS, ids=IDS, indirect=True)
def test_every_text_and_the_legend_lie_inside_the_figure(drawn: Figure) -> None:
    # Nothing is clipped: the tick labels, the unit, the reference line labels, the
    # direction note and the legend all lie inside the figure, each measured as drawn.
    fig = drawn
    ax = fig.axes[0]
    renderer = draw_module._measurer(fig)
    width, height = fig.get_size_inches() * 72
    texts = [t for t in ax.texts if t.get_text().strip()]
    assert texts  # the direction note, or the note that there are no results
    boxes = [ax.get_tightbbox(renderer)] + [t.get_window_extent(renderer) for t in texts]
    legends = [a for a in ax.get_children() if a.get_gid() == draw_module.decor.LEGEND_GID]
    boxes += [legend.get_window_extent(renderer) for legend in legends]
    for box in boxes:
        x0, y0, x1, y1 = _points(fig, box)
        assert x0 >= 0 and y0 >= 0 and x1 <= width + 0.01 and y1 <= height + 0.01, (x0, y0, x1, y1)


@pytest.mark.parametrize("drawn", SPECS[:4], ids=IDS[:4], indirect=True)
def test_a_chart_with_several_lines_has_one_legend_above_its_plot(drawn: Figure) -> None:
    ax = drawn.axes[0]
    legends = [a for a in ax.get_children() if a.get_gid() == draw_module.decor.LEGEND_GID]
    assert len(legends) == 1
    renderer = draw_module._measurer(drawn)
    assert legends[0].get_window_extent(renderer).y0 >= ax.get_window_extent(renderer).y1


def test_a_unit_longer_than_the_plot_is_high_leaves_the_plot_as_it_was() -> None:
    # As matplotlib's layout ignores an axis label's length: a long unit ran past the
    # plot's ends, and counted as a margin it squeezed the plot to nothing, then upside down.
    with matplotlib.rc_context(draw_module._RC):
        short = drawn_figure(AB).axes[0].get_position().bounds
        long = drawn_figure(replace(AB, unit="minutes per resolved conversation " * 5))
    assert long.axes[0].get_position().bounds[1:] == pytest.approx(short[1:], abs=1e-9)


@pytest.mark.parametrize("drawn", [FOREST, FOREST_LONG], ids=IDS[4:6], indirect=True)
def test_a_forest_plots_project_titles_never_overprint(drawn: Figure) -> None:
    # Titles of 110 characters wrapped into five lines ran into each other and above the
    # plot: a title longer than its row ends in "…" (whole in the text alternative).
    renderer = draw_module._measurer(drawn)
    labels = [t for t in drawn.axes[0].get_yticklabels() if t.get_text()]
    boxes = sorted((t.get_window_extent(renderer) for t in labels), key=lambda b: b.y0)
    assert len(boxes) == 3
    assert all(low.y1 <= high.y0 for low, high in itertools.pairwise(boxes))
    assert all(t.get_text().count("\n") <= 2 for t in labels)


@pytest.mark.parametrize("drawn", SPECS, ids=IDS, indirect=True)
def test_the_axes_sit_where_constrained_layout_puts_them(drawn: Figure) -> None:
    # The layout is computed once from measured decorations; matplotlib's constrained
    # layout (what the charts used before, run on the finished figure) agrees with it.
    fig = drawn
    ax = fig.axes[0]
    ours = ax.get_position().bounds
    FigureCanvasSVG(fig)  # it measures as the SVG backend does, at 72 dpi
    ConstrainedLayoutEngine(w_pad=6 / 72, h_pad=6 / 72).execute(fig)
    theirs = ax.get_position().bounds
    width, height = fig.get_size_inches() * 72
    scale = (width, height, width, height)
    for a, b, pt in zip(ours, theirs, scale, strict=True):
        assert abs(a - b) * pt < 0.5, (ours, theirs)


def test_no_layout_engine_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib import _constrained_layout

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("constrained layout ran")

    monkeypatch.setattr(_constrained_layout, "do_constrained_layout", refuse)
    for spec, chart_id in zip(SPECS, IDS, strict=True):
        assert render_svg(spec, chart_id=chart_id).startswith("<?xml")


def test_a_chart_is_the_same_whatever_was_drawn_before_it() -> None:
    first = render_svg(GUARDRAIL, chart_id="g")
    for spec, chart_id in zip(SPECS, IDS, strict=True):
        render_svg(spec, chart_id=chart_id)
    assert render_svg(GUARDRAIL, chart_id="g") == first


def test_reference_labels_are_dark_enough_to_read_and_arms_never_take_the_limits_colour() -> None:
    # The target's green (#009E73) and the limit's vermillion (#D55E00) as 8 pt text were
    # 3.4:1 and 3.9:1 on white: their labels are drawn darker (4.5:1 on the dark theme's
    # dimmed white too). The second arm was vermillion, the limit's colour, crosses and all.
    svg = render_svg(AB, chart_id="ab").lower()
    assert "fill: #007a5a" in svg and "fill: #009e73" not in svg.split("<text")[-1]
    svg = render_svg(GUARDRAIL, chart_id="g").lower()
    assert "fill: #b34700" in svg
    arms = {c.lower() for c in draw_module._SERIES_COLOURS}
    assert "#d55e00" not in arms and "#009e73" not in arms


def _jobs(count: int) -> list[ChartJob]:
    return [ChartJob(f"charters/c{i:02d}/m.svg", AB, chart_id=f"c{i}") for i in range(count)]


def test_draw_all_reports_each_chart_in_order_and_gives_every_svg() -> None:
    heard: list[tuple[int, int, str]] = []
    jobs = _jobs(draw_module.PARALLEL_CHARTS + 2)
    svgs = draw_all_with(jobs, heard)
    assert sorted(svgs) == [job.path for job in jobs]
    assert [done for done, _total, _path in heard] == list(range(1, len(jobs) + 1))
    assert {total for _done, total, _path in heard} == {len(jobs)}
    assert [path for _done, _total, path in heard] == [job.path for job in jobs]
    assert svgs[jobs[3].path] == render_svg(AB, chart_id="c3").encode()


def draw_all_with(jobs: list[ChartJob], heard: list[tuple[int, int, str]]) -> dict[str, bytes]:
    return draw_module.draw_all(jobs, progress=lambda *args: heard.append(args))


def test_workers_start_once_and_only_they_import_matplotlib() -> None:
    # Two builds' worth of charts in a fresh process: the same worker processes draw
    # both, and the process that hands out the charts never imports matplotlib.
    script = textwrap.dedent(
        """
        import os, sys
        from datetime import date
        from generator.charts import ChartJob, ChartSpec, RefLine, Series, draw
        days = (date(2026, 1, 5), date(2026, 1, 12), date(2026, 1, 19))
        def _jobs(count):
            return [
                ChartJob(f"c{i:02d}.svg", ChartSpec(f"m{i}", "ms", "decrease",
                    (Series("", days, (1.0, 2.0, float(i)), (None,) * 3, (None,) * 3),),
                    (RefLine("target", "Target 1 ms", 1.0),)), chart_id=f"c{i}")
                for i in range(count)
            ]
        if (os.cpu_count() or 1) < 2:
            print("one core"); raise SystemExit
        first = draw.draw_all(_jobs(20))
        pool = draw._POOL
        pids = {p.pid for p in pool._processes.values()}
        second = draw.draw_all(_jobs(30))
        assert draw._POOL is pool and {p.pid for p in pool._processes.values()} == pids
        assert first == {k: v for k, v in second.items() if k in first}
        print(len(pids), "matplotlib" in sys.modules)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    if out.stdout.strip() == "one core":
        pytest.skip("one core: charts are drawn in the build's own process")
    workers, imported = out.stdout.split()
    assert int(workers) >= 2
    assert imported == "False"


def test_a_few_charts_go_to_workers_already_started_not_into_the_build() -> None:
    # A cold build starts its workers before it knows how many charts it will draw; when
    # they are few (fewer than PARALLEL_CHARTS), the running workers draw them, and the
    # build's own process still never imports matplotlib. With no workers, it draws them.
    script = textwrap.dedent(
        """
        import os, sys
        from datetime import date
        from generator.charts import ChartJob, ChartSpec, RefLine, Series, draw, warm_up
        days = (date(2026, 1, 5), date(2026, 1, 12), date(2026, 1, 19))
        jobs = [
            ChartJob(f"c{i}.svg", ChartSpec(f"m{i}", "ms", "decrease",
                (Series("", days, (1.0, 2.0, float(i)), (None,) * 3, (None,) * 3),),
                (RefLine("target", "Target 1 ms", 1.0),)), chart_id=f"c{i}")
            for i in range(2)
        ]
        if (os.cpu_count() or 1) < 2:
            print("one core"); raise SystemExit
        if sys.argv[1] == "started":
            warm_up(every=True)
        svgs = draw.draw_all(jobs)
        assert sorted(svgs) == ["c0.svg", "c1.svg"] and all(svgs.values())
        print(draw._POOL is not None, "matplotlib" in sys.modules)
        """
    )
    seen = []
    for case in ("started", "none"):
        out = subprocess.run(
            [sys.executable, "-c", script, case],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr
        if out.stdout.strip() == "one core":
            pytest.skip("one core: charts are drawn in the build's own process")
        seen.append(out.stdout.split())
    assert seen == [["True", "False"], ["False", "True"]]


@pytest.mark.parametrize("production", [1, 3])
def test_a_limit_after_the_rollout_is_drawn_as_two_lines_with_a_break(production: int) -> None:
    # One pair and one production row: the break left each side a lone point, which a
    # line without markers does not draw (the legend listed a line the chart lacked).
    days = DAYS[:1] + DAYS[5 : 5 + production]
    limits = (42.0, *[45.0] * production)
    spec = ChartSpec(
        "Latency",
        "ms",
        "decrease",
        (_series("control", 40, 0),),
        (),
        tolerance=Tolerance("Tolerance", "control", "treatment", days, limits, (), DAYS[0]),
    )
    svg = render_svg(spec, chart_id="r")
    group = svg[svg.index('id="tolerance-line"') :]
    path = group[group.index(' d="') + 4 : group.index('"', group.index(' d="') + 4)]
    assert path.count("M") == 2 and path.count("L") >= 2  # each side a line of its own
