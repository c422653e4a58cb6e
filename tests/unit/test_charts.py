"""Tests for generator.charts: deterministic SVG metric charts."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import textwrap
import warnings
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from factory import ab, guardrail, row
from factory import business_metric as business
from factory import charter_data as charter
from factory import view as analyse

from generator.analyze import MetricView
from generator.charts import (
    CHART_VERSION,
    ChartSpec,
    LiftSpec,
    RefLine,
    Series,
    chart_spec,
    describe,
    lift_spec,
    render_svg,
    spec_key,
)
from generator.charts.draw import BREACH_GID, TOLERANCE_GID
from generator.formatting import fmt_signed

REPO_ROOT = Path(__file__).resolve().parents[2]


def _weeks(n: int, start: date = date(2026, 5, 4)) -> tuple[date, ...]:
    return tuple(start + timedelta(days=7 * i) for i in range(n))


def _ab_spec() -> ChartSpec:
    days = _weeks(5)
    treatment = Series(
        label="treatment",
        dates=days,
        values=(5.0, 4.9, 4.8, 4.7, 4.6),
        lower=(4.7, 4.6, 4.5, 4.4, 4.3),
        upper=(5.3, 5.2, 5.1, 5.0, 4.9),
    )
    control = Series(
        label="control",
        dates=days,
        values=(6.1, 6.1, 6.0, 6.1, 6.0),
        lower=(5.8, 5.8, 5.7, 5.8, 5.7),
        upper=(6.4, 6.4, 6.3, 6.4, 6.3),
    )
    return ChartSpec(
        title="Median time to first response",
        unit="hours",
        direction="decrease",
        series=(treatment, control),
        refs=(
            RefLine("target", "Target 4.5 h", 4.5),
            RefLine("baseline", "Baseline 6.2 h", 6.2),
            RefLine("human", "Human baseline 4.9 h", 4.9),
        ),
    )


def _production_spec() -> ChartSpec:
    days = _weeks(6)
    values = (0.71, 0.72, 0.74, 0.75, 0.77, 0.78)
    none = (None,) * 6
    return ChartSpec(
        title="Resolution rate",
        unit="ratio",
        direction="increase",
        series=(Series("", days, values, none, none),),
        refs=(
            RefLine("baseline", "Baseline 0.70", 0.70),
            RefLine("human", "Human baseline 0.76", 0.76),
            RefLine("target", "Target 0.80", 0.80),
        ),
    )


def _texts(svg: str) -> list[str]:
    """All text content in the SVG (text is kept as text: svg.fonttype none)."""
    root = ET.fromstring(svg.encode("utf-8"))
    return ["".join(el.itertext()) for el in root.iter("{http://www.w3.org/2000/svg}text")]


def _assert_valid_svg(svg: str) -> None:
    assert isinstance(svg, str)
    assert "<svg" in svg and svg.rstrip().endswith("</svg>")
    ET.fromstring(svg.encode("utf-8"))  # well-formed XML


# --------------------------------------------------------------------------- #
# Determinism
# --------------------------------------------------------------------------- #

_SUBPROCESS_SCRIPT = textwrap.dedent(
    """
    import hashlib, sys
    from datetime import date
    from generator.charts import ChartSpec, RefLine, Series, render_svg

    days = (date(2026, 5, 4), date(2026, 5, 11), date(2026, 5, 18))
    spec = ChartSpec(
        title="Median time to first response",
        unit="hours",
        direction="decrease",
        series=(
            Series("treatment", days, (5.0, 4.8, 4.6), (4.7, None, 4.3), (5.3, None, 4.9)),
            Series("control", days, (6.1, 6.0, 6.0), (None,) * 3, (None,) * 3),
        ),
        refs=(RefLine("target", "Target 4.5 h", 4.5), RefLine("baseline", "Baseline 6.2 h", 6.2)),
    )
    svg = render_svg(spec, chart_id="metric-ttfr")
    sys.stdout.write(hashlib.sha256(svg.encode("utf-8")).hexdigest() + " " + str(len(svg)))
    """
)


def _render_in_subprocess(hash_seed: str) -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH", "")])]
    )
    env["PYTHONHASHSEED"] = hash_seed
    env["MPLBACKEND"] = "Agg"
    result = subprocess.run(
        [sys.executable, "-c", _SUBPROCESS_SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(REPO_ROOT),
        timeout=120,
        check=True,
    )
    return result.stdout.strip()


def test_svg_is_byte_identical_across_processes() -> None:
    first = _render_in_subprocess("1")
    second = _render_in_subprocess("12345")
    assert first == second
    assert first  # non-empty digest


def test_svg_is_byte_identical_within_process_and_has_no_timestamp() -> None:
    spec = _ab_spec()
    a = render_svg(spec, chart_id="c1")
    b = render_svg(spec, chart_id="c1")
    assert a == b
    assert "<dc:date>" not in a
    assert "Matplotlib v" not in a  # no creator/version string


def test_font_heights_read_once_a_font_give_the_bytes_matplotlib_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The SVG renderer hands `Text._get_layout` each font's ascent, descent and line gap
    read once a font and size (generator/charts/svg.py), not at every layout of every
    text: the charts are the bytes they are when matplotlib reads the font each time."""
    from generator.charts import svg

    specs = [_ab_spec(), _production_spec()]
    reads: list[object] = []
    read = svg._font_heights
    monkeypatch.setattr(svg, "_HEIGHTS", {})
    monkeypatch.setattr(
        svg, "_font_heights", lambda prop, dpi: reads.append(prop) or read(prop, dpi)
    )
    kept = [render_svg(spec, chart_id="c1") for spec in specs]
    assert 1 <= len(reads) <= 4  # the chart's few fonts and sizes, each read once
    assert len(reads) < sum(svg_text.count("<text") for svg_text in kept)
    monkeypatch.delattr(svg.Renderer, "_get_font_height_metrics")
    assert [render_svg(spec, chart_id="c1") for spec in specs] == kept


def test_the_axes_background_transform_kept_gives_the_bytes_matplotlib_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A metric chart's axes keep their background's transform, by which every artist
    is clipped (generator/charts/draw.py, AxesPatch), where matplotlib built it again for
    each artist: the same bytes, and a transform that follows the rectangle's changes."""
    from matplotlib.transforms import Affine2D

    from generator.charts.draw import _tickless_axes

    specs = [_ab_spec(), _production_spec()]
    kept = [render_svg(spec, chart_id="c1") for spec in specs]
    axes_class = _tickless_axes()
    patch = axes_class._gen_axes_patch(None)  # type: ignore[arg-type]
    patch.set_transform(Affine2D().scale(2.0))
    first = patch.get_transform()
    assert patch.get_transform() is first  # kept
    patch.set_width(3.0)
    assert patch.get_transform() is not first
    assert patch.get_transform().transform((1.0, 1.0)).tolist() == [6.0, 2.0]
    patch.set_transform(Affine2D().scale(10.0))
    assert patch.get_transform().transform((1.0, 1.0)).tolist() == [30.0, 10.0]
    monkeypatch.delattr(axes_class, "_gen_axes_patch")
    assert [render_svg(spec, chart_id="c1") for spec in specs] == kept


def test_chart_id_salts_element_ids() -> None:
    spec = _ab_spec()
    a = render_svg(spec, chart_id="chart-a")
    b = render_svg(spec, chart_id="chart-b")
    assert a != b
    assert _texts(a) == _texts(b)


# --------------------------------------------------------------------------- #
# Content
# --------------------------------------------------------------------------- #


def test_ab_chart_has_ref_labels_legend_entries_and_unit() -> None:
    spec = _ab_spec()
    svg = render_svg(spec, chart_id="ab")
    _assert_valid_svg(svg)
    texts = _texts(svg)
    joined = "\n".join(texts)
    for ref in spec.refs:
        # In the legend and as a label at the right end of the line.
        assert texts.count(ref.label) >= 2, ref.label
    assert "treatment" in texts
    assert "control" in texts
    assert "95% interval" in texts
    assert "hours" in texts
    assert "Lower is better" in joined
    # Title is shown by the page, not inside the image.
    assert spec.title not in joined


def test_production_chart_increase_direction() -> None:
    spec = _production_spec()
    svg = render_svg(spec, chart_id="prod")
    _assert_valid_svg(svg)
    texts = _texts(svg)
    assert "Higher is better" in "\n".join(texts)
    assert "ratio" in texts
    for ref in spec.refs:
        assert ref.label in texts


def test_single_series_without_refs_has_no_legend() -> None:
    days = _weeks(4)
    spec = ChartSpec(
        "Revenue per session",
        "USD",
        "increase",
        (Series("", days, (1.2, 1.21, 1.23, 1.22), (None,) * 4, (None,) * 4),),
        (),
    )
    svg = render_svg(spec, chart_id="plain")
    _assert_valid_svg(svg)
    assert "Production" not in _texts(svg)
    assert 'id="legend"' not in svg


def test_single_point_renders() -> None:
    spec = ChartSpec(
        "Weekly active users",
        "users",
        "increase",
        (Series("", (date(2026, 6, 1),), (12840.0,), (12100.0,), (13600.0,)),),
        (RefLine("target", "Target 15,000", 15000.0),),
    )
    svg = render_svg(spec, chart_id="single")
    _assert_valid_svg(svg)
    texts = _texts(svg)
    assert "1 Jun 2026" in texts
    assert "Target 15,000" in texts


def test_single_point_without_interval_or_refs_renders() -> None:
    spec = ChartSpec(
        "Accuracy",
        "%",
        "increase",
        (Series("", (date(2026, 6, 15),), (42.0,), (None,), (None,)),),
        (),
    )
    svg = render_svg(spec, chart_id="single-plain")
    _assert_valid_svg(svg)
    assert "%" in _texts(svg)


def test_partial_intervals_render() -> None:
    days = _weeks(6)
    spec = ChartSpec(
        "Forecast error",
        "%",
        "decrease",
        (
            Series(
                "",
                days,
                (12.0, 11.0, 10.5, 10.9, 9.8, 9.1),
                (10.5, None, 9.0, 9.5, None, 7.8),
                (13.5, 12.5, 12.0, 12.3, None, 10.4),  # index 1: only upper -> ignored
            ),
        ),
        (),
    )
    svg = render_svg(spec, chart_id="partial")
    _assert_valid_svg(svg)
    assert "Lower is better" in "\n".join(_texts(svg))


def test_all_equal_values_render() -> None:
    days = _weeks(5)
    spec = ChartSpec(
        "Error rate",
        "%",
        "decrease",
        (Series("", days, (0.5,) * 5, (None,) * 5, (None,) * 5),),
        (RefLine("baseline", "Baseline 0.5%", 0.5),),
    )
    svg = render_svg(spec, chart_id="equal")
    _assert_valid_svg(svg)
    assert "Baseline 0.5%" in _texts(svg)


@pytest.mark.parametrize(
    "spec",
    [
        ChartSpec("Nothing", "", "increase", (), ()),
        ChartSpec("Refs only", "hours", "decrease", (), (RefLine("target", "Target 4.5 h", 4.5),)),
        ChartSpec(
            "Empty series",
            "hours",
            "decrease",
            (Series("control", (), (), (), ()),),
            (),
        ),
        ChartSpec(
            "NaN and unsorted",
            "ratio",
            "increase",
            (
                Series(
                    "",
                    (date(2026, 3, 1), date(2026, 1, 1), date(2026, 2, 1)),
                    (0.7, float("nan"), 0.6),
                    (None, None, 0.55),
                    (None, None, 0.65),
                ),
            ),
            (),
        ),
    ],
    ids=lambda s: s.title,
)
def test_degenerate_specs_render(spec: ChartSpec) -> None:
    _assert_valid_svg(render_svg(spec, chart_id="degenerate"))


def test_ref_lines_inside_y_range() -> None:
    # Target far above the data: the y-range must stretch to include it.
    days = _weeks(3)
    spec = ChartSpec(
        "Resolution rate",
        "ratio",
        "increase",
        (Series("", days, (0.50, 0.51, 0.52), (None,) * 3, (None,) * 3),),
        (RefLine("target", "Target 0.90", 0.90),),
    )
    svg = render_svg(spec, chart_id="range")
    texts = _texts(svg)
    tick_values: list[float] = []
    for t in texts:
        with contextlib.suppress(ValueError):
            tick_values.append(float(t.replace("\u2212", "-")))
    assert max(tick_values) >= 0.9


# --------------------------------------------------------------------------- #
# describe()
# --------------------------------------------------------------------------- #


def test_describe_ab() -> None:
    text = describe(_ab_spec())
    assert text.startswith("Line chart of Median time to first response (hours)")
    assert "from 2026-05-04 to 2026-06-01" in text
    assert "treatment 5.0 \u2192 4.6" in text
    assert "control 6.1 \u2192 6.0" in text
    assert "Lower is better." in text
    assert "Target 4.5" in text
    assert "baseline 6.2" in text
    assert "human baseline 4.9" in text
    assert "\n" not in text


def test_describe_production_and_direction() -> None:
    text = describe(_production_spec())
    assert "Higher is better." in text
    assert "0.71 \u2192 0.78" in text
    assert "Target 0.80" in text


def test_tiny_values_keep_what_tells_them_apart_on_the_axis_and_in_the_text() -> None:
    """Below 0.001 the text kept 4 decimals: a latest of 0.00081 read as 0.0008, its
    target, and nanoseconds read 0.0 on the axis and in the text."""
    rate = _spanning(_weeks(2), (0.00093, 0.00081), "ratio")
    rate = replace(rate, refs=(RefLine("target", "Target 0.0008", 0.0008),))
    assert "0.00093 \u2192 0.00081" in describe(rate) and "Target 0.00080" in describe(rate)
    nanos = _spanning(_weeks(2), (3e-9, 1.5e-9), "s")
    assert "3e\u221209 \u2192 1.5e\u221209" in describe(nanos)  # the axis's minus sign
    labels = [t for t in _texts(render_svg(nanos, chart_id="nanos")) if "e\u221209" in t]
    assert len(labels) >= 4 and len(set(labels)) == len(labels)


def test_the_text_of_a_chart_writes_a_minus_as_the_pages_do() -> None:
    """A negative number read `-0.5` in a chart's text alternative, and `−0.5` on the
    page and the chart's axis beside it."""
    margin = _spanning(_weeks(2), (-0.5, -1.25), "points")
    text = describe(margin)
    assert "\u22120.500 \u2192 \u22121.250" in text and "Target \u22121.375" in text
    assert "-" not in text.replace("2026-05-", "")


def test_describe_single_point_and_empty() -> None:
    single = ChartSpec(
        "Weekly active users",
        "users",
        "increase",
        (Series("", (date(2026, 6, 1),), (12840.0,), (None,), (None,)),),
        (),
    )
    text = describe(single)
    assert "2026-06-01" in text and "12,840" in text and "Higher is better." in text
    empty = describe(ChartSpec("Nothing", "", "decrease", (), ()))
    assert "no results" in empty.lower() and "Lower is better." in empty


# --------------------------------------------------------------------------- #
# spec_key
# --------------------------------------------------------------------------- #


def test_spec_key_is_stable_sha256() -> None:
    spec = _ab_spec()
    key = spec_key(spec)
    assert key == spec_key(_ab_spec())
    assert len(key) == 64 and int(key, 16) >= 0
    assert CHART_VERSION  # part of the key


def test_spec_key_changes_when_anything_changes() -> None:
    spec = _ab_spec()
    base = spec_key(spec)
    first = spec.series[0]
    changed_value = replace(
        spec, series=(replace(first, values=(5.0, 4.9, 4.8, 4.7, 4.5)), spec.series[1])
    )
    changed_bound = replace(
        spec, series=(replace(first, lower=(4.7, 4.6, 4.5, 4.4, None)), spec.series[1])
    )
    changed_ref = replace(spec, refs=(RefLine("target", "Target 4.4 h", 4.4), *spec.refs[1:]))
    changed_direction = replace(spec, direction="increase")
    changed_unit = replace(spec, unit="minutes")
    keys = {
        spec_key(s)
        for s in (changed_value, changed_bound, changed_ref, changed_direction, changed_unit)
    }
    assert base not in keys
    assert len(keys) == 5


def test_spec_key_includes_chart_version(monkeypatch: pytest.MonkeyPatch) -> None:
    import generator.charts.spec as charts_spec

    spec = _ab_spec()
    before = spec_key(spec)
    monkeypatch.setattr(charts_spec, "CHART_VERSION", CHART_VERSION + "-next")
    assert spec_key(spec) != before


# --------------------------------------------------------------------------- #
# Guardrail tolerance and lift charts, from analysed charters
# --------------------------------------------------------------------------- #

D1, D2, D3 = "2026-03-01", "2026-03-08", "2026-03-15"


def _metric(body: dict[str, Any], rows: list[dict[str, Any]], mid: str) -> MetricView:
    metric = analyse(body, rows).metric(mid)
    assert metric is not None
    return metric


def _groups(svg: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg.encode())
    return {g.get("id") or "": g for g in root.iter("{http://www.w3.org/2000/svg}g")}


def _marks(svg: str) -> int:
    group = _groups(svg).get(BREACH_GID)
    return 0 if group is None else len(list(group.iter("{http://www.w3.org/2000/svg}use")))


def test_tolerance_against_the_baseline_is_flat_and_marks_each_point_beyond() -> None:
    # Lower is better, baseline 100, tolerance 5: the limit is 105; 106 is beyond,
    # 105 exactly is not (a move of exactly the tolerance is accepted).
    body = charter(guardrails=[guardrail(baseline=100.0)])
    rows = [row(D1, "lat", 103.0), row(D2, "lat", 106.0), row(D3, "lat", 105.0)]
    lat = _metric(body, rows, "lat")
    spec = chart_spec(lat)
    tol = spec.tolerance
    assert tol is not None and tol.reference == "baseline"
    assert tol.limits == (105.0, 105.0, 105.0)
    assert [(b.day.isoformat(), b.value) for b in tol.breaches] == [(D2, 106.0)]
    assert not lat.breached  # the latest row is within: the chart agrees
    text = describe(spec)
    assert text.endswith(
        "Tolerance (baseline + 5 ms): beyond it on 1 of 3 dates, latest 2026-03-08 at 106"
        " against a limit of 105; within it on the latest date, 2026-03-15."
    )
    svg = render_svg(spec, chart_id="flat")
    assert TOLERANCE_GID in _groups(svg) and _marks(svg) == 1
    texts = _texts(svg)
    assert "Tolerance limit 105 ms" in texts and "Beyond tolerance" in texts


def test_tolerance_without_a_baseline_is_against_the_first_result() -> None:
    body = charter(guardrails=[guardrail(direction="increase")])
    rows = [row(D1, "lat", 100.0), row(D2, "lat", 97.0), row(D3, "lat", 94.0)]
    lat = _metric(body, rows, "lat")
    tol = chart_spec(lat).tolerance
    assert tol is not None and tol.reference == "first result"
    assert tol.label == "Tolerance (first result \u2212 5 ms)"
    assert set(tol.limits) == {95.0}
    assert [b.value for b in tol.breaches] == [94.0]
    assert lat.breached


def test_tolerance_against_control_follows_control_and_judges_the_treatment_arm() -> None:
    body = charter(guardrails=[guardrail()])
    rows = [
        *ab(D1, "lat", 200.0, 204.0),
        *ab(D2, "lat", 210.0, 216.0),
        *ab(D3, "lat", 190.0, 196.0),
    ]
    lat = _metric(body, rows, "lat")
    spec = chart_spec(lat)
    tol = spec.tolerance
    assert tol is not None and tol.reference == "control" and tol.arm == "treatment"
    assert tol.limits == (205.0, 215.0, 195.0)
    assert [b.day.isoformat() for b in tol.breaches] == [D2, D3]
    assert lat.breached
    assert tol.limit_for("treatment", date(2026, 3, 8)) == 215.0
    assert tol.limit_for("control", date(2026, 3, 8)) is None
    assert tol.breached_on("treatment", date(2026, 3, 15))
    assert not tol.breached_on("treatment", date(2026, 3, 1))
    svg = render_svg(spec, chart_id="ctl")
    assert _marks(svg) == 2
    assert "Tolerance (control + 5 ms)" in _texts(svg)


def test_only_guardrails_have_a_tolerance() -> None:
    conv = _metric(charter(), ab(D1, "conv", 10.0, 11.0, n=10_000), "conv")
    spec = chart_spec(conv)
    assert spec.tolerance is None
    svg = render_svg(spec, chart_id="no-tolerance")
    assert TOLERANCE_GID not in _groups(svg) and _marks(svg) == 0


def test_no_lift_chart_without_a_control_and_treatment_pair() -> None:
    conv = _metric(charter(), [row(D1, "conv", 10.0, n=10_000)], "conv")
    assert lift_spec(conv, None) is None
    no_noise = _metric(charter(), ab(D1, "conv", 10.0, 11.0), "conv")  # no n, std or interval
    assert lift_spec(no_noise, None) is None


def test_lift_spec_draws_the_mde_on_the_good_side() -> None:
    body = charter(
        business_metrics=[
            business("ttfr", unit="hours", direction="decrease", baseline=6.0, target=4.0)
        ]
    )
    rows = [*ab(D1, "ttfr", 6.0, 5.6, n=400, std=2.0), *ab(D2, "ttfr", 6.1, 5.5, n=400, std=2.0)]
    ttfr = _metric(body, rows, "ttfr")
    spec = lift_spec(ttfr, 0.5)
    assert spec is not None
    assert spec.lifts.values == pytest.approx((-0.4, -0.6))
    assert spec.lifts.lower[-1] == pytest.approx(ttfr.lifts[-1].lift.ci_low)
    assert [(r.kind, r.value, r.label) for r in spec.refs] == [
        ("zero", 0.0, "No effect"),
        ("mde", -0.5, "MDE \u22120.5 hours"),
    ]
    text = describe(spec)
    lf = ttfr.lifts[-1].lift
    ci = f"95% CI {fmt_signed(lf.ci_low, 'hours')} to {fmt_signed(lf.ci_high, 'hours')}"
    assert f"to 2026-03-08: latest \u22120.600 hours ({ci}), first \u22120.400 hours." in text
    assert "Lower is better. Minimum detectable effect at \u22120.5 hours; no effect at 0." in text
    svg = render_svg(spec, chart_id="lift")
    texts = _texts(svg)
    assert "lift (hours)" in texts and "No effect" in texts and "95% interval" in texts
    assert texts.count("MDE \u22120.5 hours") == 2  # legend and line label
    assert svg == render_svg(spec, chart_id="lift")


def test_guardrail_lift_chart_draws_the_tolerance_on_the_bad_side() -> None:
    body = charter(guardrails=[guardrail()])
    lat = _metric(body, ab(D1, "lat", 200.0, 203.0, n=500, std=20.0), "lat")
    spec = lift_spec(lat, 2.0)  # an MDE is for the metric it names; a guardrail has a tolerance
    assert spec is not None
    assert [(r.kind, r.value) for r in spec.refs] == [("zero", 0.0), ("tolerance", 5.0)]
    assert describe(spec).startswith(
        "Chart of the lift of Guardrail lat (treatment \u2212 control) on 2026-03-01: +3.00 ms"
    )


def test_a_value_a_hair_from_a_line_never_reads_as_it_in_the_chart_text() -> None:
    """16 → 15.0004 hours against a target of 15 read "16.0 → 15.0. … Target 15.0"; a
    guardrail at 4.2099, beyond its limit of 4.31 − 0.1, "at 4.21 against a limit of 4.21"."""
    body = charter(
        business_metrics=[
            business("ttfr", unit="hours", direction="decrease", baseline=18.5, target=15.0)
        ],
        guardrails=[
            guardrail("csat", unit="score", direction="increase", baseline=4.31, tolerance=0.1)
        ],
    )
    view = analyse(body, [row(D1, "ttfr", 16.0), row(D2, "ttfr", 15.0004), row(D2, "csat", 4.2099)])
    ttfr, csat = view.metric("ttfr"), view.metric("csat")
    assert ttfr is not None and csat is not None
    text = describe(chart_spec(ttfr))
    assert "2026-03-08: 16.0000 \u2192 15.0004. Lower is better." in text, text
    assert text.endswith("Target 15.0000, baseline 18.5000.")
    text = describe(chart_spec(csat))
    assert "with results on 2026-03-08: 4.2099. Higher is better. Baseline 4.3100." in text
    assert text.endswith("latest 2026-03-08 at 4.2099 against a limit of 4.2100."), text


def test_a_limit_is_its_reference_and_tolerance_added_as_written() -> None:
    # 0.3 − 0.1 is 0.19999999999999998 in floats: told apart from a value of 0.2 at the
    # limit, it read with 17 digits.
    body = charter(
        guardrails=[guardrail("g", unit="ratio", direction="increase", baseline=0.3, tolerance=0.1)]
    )
    g = _metric(body, [row(D1, "g", 0.2), row(D2, "g", 0.19)], "g")
    tol = chart_spec(g).tolerance
    assert tol is not None and tol.limits == (0.2, 0.2)
    assert g.limit == 0.2 and 0.2 in g.together


def test_a_flat_limit_drawn_beside_its_baseline_never_reads_as_it() -> None:
    # A tolerance of 0.0001 below a baseline of 4.31 drew "Tolerance limit 4.31 score"
    # beside "Baseline 4.31 score".
    body = charter(
        guardrails=[
            guardrail("csat", unit="score", direction="increase", baseline=4.31, tolerance=0.0001)
        ]
    )
    spec = chart_spec(_metric(body, [row(D1, "csat", 4.3098)], "csat"))
    texts = _texts(render_svg(spec, chart_id="limit"))
    assert "Tolerance limit 4.3099 score" in texts and "Baseline 4.31 score" in texts, texts


def test_a_guardrail_lift_a_hair_beyond_its_tolerance_never_reads_as_it() -> None:
    # A lift of +5.0004 ms beyond a tolerance of 5 ms read "+5.00 ms", "tolerance at +5 ms".
    body = charter(guardrails=[guardrail()])
    lat = _metric(body, ab(D1, "lat", 200.0, 205.0004, n=500, std=20.0), "lat")
    assert lat.breached
    spec = lift_spec(lat, None)
    assert spec is not None
    text = describe(spec)
    assert text.startswith(
        "Chart of the lift of Guardrail lat (treatment \u2212 control) on 2026-03-01: +5.0004 ms"
    ), text
    assert "Tolerance at +5 ms; no effect at 0." in text, text


def test_spec_key_covers_the_lift_and_the_tolerance() -> None:
    body = charter(guardrails=[guardrail(baseline=100.0)])
    rows = [row(D1, "lat", 103.0), row(D2, "lat", 106.0)]
    spec = chart_spec(_metric(body, rows, "lat"))
    assert spec.tolerance is not None
    no_breach = replace(spec, tolerance=replace(spec.tolerance, breaches=()))
    no_tolerance = replace(spec, tolerance=None)
    assert len({spec_key(spec), spec_key(no_breach), spec_key(no_tolerance)}) == 3
    lift = LiftSpec(
        "Conversion",
        "%",
        "increase",
        "treatment",
        Series("treatment \u2212 control", _weeks(2), (0.2, 0.3), (0.1, 0.2), (0.3, 0.4)),
        (RefLine("zero", "No effect", 0.0),),
    )
    moved = replace(lift, lifts=replace(lift.lifts, upper=(0.3, 0.5)))
    with_mde = replace(lift, refs=(*lift.refs, RefLine("mde", "MDE +0.1 pp", 0.1)))
    assert len({spec_key(lift), spec_key(moved), spec_key(with_mde), spec_key(lift.chart())}) == 4


AB_SPEC_KEY = "253508af86a654103a378bd30c4fbb941f5ff4ffb550eb513045a8f3e7c3ba9c"


def test_keys_of_charts_without_tolerance_are_those_of_earlier_builds() -> None:
    # A chart's key changes only with its spec or the drawing's version (charts-2: the
    # layout computed once instead of by matplotlib's constrained layout, which moved
    # some coordinates in their last digits; charts-3: the arms' and labels' colours;
    # charts-4: ticks, labels and legend drawn as plain artists, the same places in
    # other SVG elements), so unrelated changes keep SVGs reusable.
    assert CHART_VERSION == "charts-4"
    assert spec_key(_ab_spec()) == AB_SPEC_KEY


def _ticks(svg: str) -> list[float]:
    values: list[float] = []
    for t in _texts(svg):
        with contextlib.suppress(ValueError):
            values.append(float(t.replace("\u2212", "-").replace(",", "")))
    return values


def test_the_compared_arm_comes_first_after_control_and_takes_the_first_colour() -> None:
    # `b-model` sorted before `treatment` and took the blue the compared arm is drawn in.
    rows = [
        *ab(D3, "conv", 10.0, 11.0),
        row(D3, "conv", 10.5, "b-model"),
        row(D3, "conv", 10.2, "Zed"),
    ]
    rows.append(row(D3, "conv", 10.1, "alpha"))
    spec = chart_spec(_metric(charter(), rows, "conv"))
    assert [s.label for s in spec.series] == ["control", "treatment", "alpha", "b-model", "Zed"]
    svg = render_svg(spec, chart_id="c").lower()
    assert svg.index("#0072b2") < svg.index("#cc79a7")


def test_the_treatment_arm_is_drawn_when_variants_are_left_out() -> None:
    # Twenty other arms with more rows than the treatment arm: it is drawn all the same,
    # because the lift, the verdict and a tolerance against control are about it.
    rows = [*ab(D3, "conv", 10.0, 11.0)]
    rows += [row(d, "conv", 10.5, f"arm {i:02d}") for i in range(20) for d in (D1, D2, D3)]
    spec = chart_spec(_metric(charter(), rows, "conv"))
    labels = [s.label for s in spec.series]
    assert labels == ["control", "treatment", *(f"arm {i:02d}" for i in range(7))]
    assert spec.hidden == 13


def test_a_breach_of_a_variant_left_out_is_marked_inside_the_axes() -> None:
    # Baseline 100, tolerance 5: only `zz`, with the fewest rows, is beyond, at 150.
    body = charter(guardrails=[guardrail(baseline=100.0)])
    rows = [row(d, "lat", 100.0, f"arm {i:02d}") for i in range(10) for d in (D1, D2)]
    rows.append(row(D3, "lat", 150.0, "zz"))
    spec = chart_spec(_metric(body, rows, "lat"))
    assert "zz" not in [s.label for s in spec.series] and spec.hidden == 11 - 8
    assert spec.tolerance is not None
    assert [(b.variant, b.value) for b in spec.tolerance.breaches] == [("zz", 150.0)]
    assert "beyond it on 1 of 3 dates, latest 2026-03-15 at 150" in describe(spec)
    svg = render_svg(spec, chart_id="hidden-breach")
    assert _marks(svg) == 1
    assert max(_ticks(svg)) >= 150  # the cross is inside the axes, not cut off


def _spanning(days: tuple[date, ...], values: tuple[float, ...], unit: str) -> ChartSpec:
    none = (None,) * len(days)
    return ChartSpec(
        "Spanning", unit, "increase", (Series("", days, values, none, none),),
        (RefLine("target", "Target", values[-1] * 1.1),),
    )  # fmt: skip


# --- the decorations against matplotlib's own axes and legend ------------------------


def _matplotlib_frame(fig: Any) -> Any:
    """The charts' axes as matplotlib's axis machinery drew them (before decor.py)."""
    import generator.charts.draw as draw

    ax = draw._forest_frame(fig)  # the forest plot's axes, drawn by matplotlib
    ax.grid(axis="y", color=draw._GRID, linewidth=0.8)
    return ax


def _matplotlib_unit(fig: Any, ax: Any, unit: str, style: Any, renderer: Any) -> None:
    if unit:
        ax.set_ylabel(unit, color=style.label_colour)


def _matplotlib_legend(fig: Any, ax: Any, texts: Any, legend: Any, renderer: Any) -> Any:
    """``Axes.legend`` with the charts' parameters, wrapped as the charts wrap it."""
    import math

    from matplotlib.legend_handler import HandlerTuple
    from matplotlib.transforms import offset_copy

    import generator.charts.draw as draw

    note, ref_texts = texts
    with draw._screen_dpi(fig):
        screen = draw._screen_renderer(fig)
        px_per_pt = fig.dpi / 72
        axes_right = ax.get_window_extent(screen).x1
        right = max([axes_right] + [t.get_window_extent(screen).x1 for t in ref_texts])
        anchor = offset_copy(ax.transAxes, fig=fig, x=(right - axes_right) / px_per_pt, y=0,
                             units="points")  # fmt: skip
        budget = right - note.get_window_extent(screen).x1 - 14 * px_per_pt
        entries = len(legend.handles)
        ncol = entries
        while True:
            drawn = ax.legend(
                legend.handles, legend.labels, loc="lower right", bbox_to_anchor=(1.0, 1.0),
                bbox_transform=anchor, ncol=ncol, frameon=False, handlelength=2.6,
                handletextpad=0.5, columnspacing=1.3, borderaxespad=0.5, borderpad=0.2,
                labelspacing=0.3, handler_map={tuple: HandlerTuple(ndivide=None, pad=0)},
            )  # fmt: skip
            if ncol == 1 or drawn.get_window_extent(screen).width <= budget:
                return drawn
            drawn.remove()
            ncol -= 1
            rows = math.ceil(entries / ncol)
            ncol = math.ceil(entries / rows)


def _placed_texts(svg: str) -> list[tuple[str, str, list[float]]]:
    """Every text of the SVG with its style and the numbers that place it (x, y and its
    transform's: a text of several lines is placed by a transform alone)."""
    out = []
    for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text"):
        numbers = [float(t.get("x", "0")), float(t.get("y", "0"))]
        numbers += [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", t.get("transform", ""))]
        out.append((" ".join("".join(t.itertext()).split()), t.get("style", ""), numbers))
    return sorted(out, key=lambda t: (t[0], t[1], t[2]))


def _raster(spec: ChartSpec, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The chart drawn by Agg at 72 dpi, its text measured as the SVG's is (the unit's
    and the date offset's places are worked out as it draws, by matplotlib's axis)."""
    import io

    import matplotlib
    import matplotlib.image
    from matplotlib.backends.backend_agg import RendererAgg

    import generator.charts.draw as draw

    with matplotlib.rc_context(draw._RC):
        fig = draw.drawn_figure(spec)
        svg_measure = draw._measurer(fig).get_text_width_height_descent
        with monkeypatch.context() as m:
            m.setattr(RendererAgg, "get_text_width_height_descent",
                      lambda _self, s, prop, ismath: svg_measure(s, prop, ismath))  # fmt: skip
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=72)
    buffer.seek(0)
    return matplotlib.image.imread(buffer)


def _latency_spec() -> ChartSpec:
    """A guardrail's chart: its limit, and a cross on the one result beyond it."""
    body = charter(guardrails=[guardrail(baseline=100.0)])
    rows = [row(D1, "lat", 103.0), row(D2, "lat", 106.0), row(D3, "lat", 105.0)]
    return chart_spec(_metric(body, rows, "lat"))


@pytest.mark.parametrize(
    "spec",
    [
        _ab_spec(),
        _production_spec(),
        # Days, weeks, months and years on the date axis (an offset "2026" under the
        # labels); the first year written out; thousands with separators, negative
        # values, and a value on a limit's edge; a chart of reference lines only.
        _spanning(
            tuple(date(2026, 1, 1) + timedelta(days=i) for i in range(9)),
            (1.0, 2, 3, 4, 5, 6, 7, 8, 9),
            "%",
        ),
        _spanning(
            _weeks(60, date(2025, 11, 3)), tuple(12_000.0 + 250 * i for i in range(60)), "EUR"
        ),
        _spanning(tuple(date(2019 + i, 6, 1) for i in range(7)), (-3.0, -1, 0, 2, 4, 5, 8), "pp"),
        _spanning((date(2026, 5, 4), date(2026, 5, 5)), (0.0, 10.0), ""),
        _spanning((date(2026, 5, 4),), (10.0,), "ms"),
        ChartSpec("Refs only", "hours", "decrease", (), (RefLine("target", "Target 4.5 h", 4.5),)),
        # A legend label of two lines (centred on its handle), a unit longer than the plot
        # is high (left out of the layout's height), a guardrail's limit and breaches.
        replace(_ab_spec(), refs=(RefLine("target", "Target\n4.5 h", 4.5),)),
        replace(_ab_spec(), unit="minutes per resolved conversation, " * 4),
        _latency_spec(),
        # Nanoseconds: labels with an exponent (written out, every one read 0.0000000000).
        _spanning(_weeks(5), (3e-9, 2.6e-9, 2.2e-9, 1.8e-9, 1.5e-9), "s"),
    ],
    ids=[
        "ab",
        "production",
        "days",
        "weeks-thousands",
        "years-negative",
        "two-days",
        "one-day",
        "refs",
        "two-line-label",
        "long-unit",
        "guardrail",
        "nanoseconds",
    ],
)
def test_ticks_labels_unit_and_legend_are_where_matplotlibs_axes_and_legend_put_them(
    spec: ChartSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    # decor.py draws the ticks, their labels, the unit and the legend as plain artists,
    # which halves a chart's drawing time; matplotlib's axis and legend, drawing the same
    # chart, put every text at the same place in the same style, and place the axes alike.
    # Every line and mark too: the two drawings, rasterised, match to the pixel.
    import numpy as np

    import generator.charts.draw as draw

    ours, our_pixels = render_svg(spec, chart_id="ticks"), _raster(spec, monkeypatch)
    monkeypatch.setattr(draw, "_frame", _matplotlib_frame)
    monkeypatch.setattr(draw.decor, "decorate", _matplotlib_unit)
    monkeypatch.setattr(draw, "_place_legend", _matplotlib_legend)
    theirs, their_pixels = render_svg(spec, chart_id="ticks"), _raster(spec, monkeypatch)
    assert 'id="legend_1"' in theirs or 'id="legend' not in ours  # matplotlib's legend drew
    mine, ref = _placed_texts(ours), _placed_texts(theirs)
    assert [(t, style) for t, style, _ in mine] == [(t, style) for t, style, _ in ref]
    for (text, _, places), (_, _, ref_places) in zip(mine, ref, strict=True):
        assert len(places) == len(ref_places), text
        assert max(abs(a - b) for a, b in zip(places, ref_places, strict=True)) < 0.01, text
    assert our_pixels.shape == their_pixels.shape
    assert float(np.abs(our_pixels - their_pixels).max()) < 0.05


def test_a_metric_chart_makes_no_matplotlib_tick_or_legend(monkeypatch: pytest.MonkeyPatch) -> None:
    # The axis machinery (a Tick of two lines, two texts and a grid line per place) and the
    # legend's offset boxes are what decor.py replaces: a metric's chart makes no tick, not
    # even those an empty axes makes as it is created (draw._tickless_axes), and no legend
    # (it made 13 ticks before decor.py, then the empty axes' 4).
    from matplotlib.axis import Axis
    from matplotlib.figure import Figure
    from matplotlib.legend import Legend

    made: list[bool] = []
    get_tick = Axis._get_tick

    def counted(self: Axis, major: bool) -> Any:
        made.append(major)
        return get_tick(self, major)

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("matplotlib's legend was used")

    monkeypatch.setattr(Axis, "_get_tick", counted)
    monkeypatch.setattr(Legend, "__init__", refuse)
    Figure().add_subplot()
    empty_axes = len(made)
    made.clear()
    svg = render_svg(_ab_spec(), chart_id="plain")
    assert empty_axes > 0 and made == []
    legend = _groups(svg)["legend"]
    texts = [t.text for t in legend.iter("{http://www.w3.org/2000/svg}text")]
    assert texts == ["treatment", "control", "Target 4.5 h", "Human baseline 4.9 h",
                     "Baseline 6.2 h", "95% interval"]  # fmt: skip
    assert len(list(legend.iter("{http://www.w3.org/2000/svg}path"))) >= len(texts)  # handles


def test_text_in_a_script_the_chart_font_lacks_is_kept_as_text_without_a_warning() -> None:
    # Chart text is SVG text, drawn by the browser with a font that has the characters;
    # matplotlib measures it with DejaVu Sans, which has no Chinese, and used to print a
    # raw "Glyph … missing from font(s)" warning for each character on a build's stderr.
    spec = _ab_spec()
    arms = (replace(spec.series[0], label="処置"), spec.series[1])
    refs = (
        RefLine("target", "Target 4.5 小时", 4.5),
        RefLine("baseline", "Baseline 6.2 小时", 6.2),
    )
    chinese = replace(spec, unit="小时", series=arms, refs=refs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        svg = render_svg(chinese, chart_id="cjk")
    assert [str(w.message) for w in caught] == []
    texts = _texts(svg)
    assert "小时" in texts and "処置" in texts
    assert texts.count("Target 4.5 小时") >= 2


@pytest.mark.parametrize("make", [_ab_spec, _latency_spec], ids=["arms", "guardrail"])
def test_a_chart_is_saved_as_matplotlibs_own_svg_canvas_saves_it(make: Any) -> None:
    # generator/charts/svg.py saves with a renderer of its own: each text measured once
    # per process, and a series' markers written with their style made once. Its
    # print_svg and draw_markers are matplotlib's as written in the version the project
    # pins; saved by matplotlib's own canvas and renderer, the same figure gives the
    # same bytes (a matplotlib upgrade that changes either shows here).
    import io

    import matplotlib
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    import generator.charts.draw as draw
    from generator.charts import svg

    def saved(fig: Any) -> str:
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
        return buffer.getvalue()

    with matplotlib.rc_context({**draw._RC, "svg.hashsalt": "same"}):
        ours = draw.drawn_figure(make())
        assert isinstance(ours.canvas, svg.Canvas)
        theirs = draw.drawn_figure(make())
        FigureCanvasSVG(theirs)
        mine, matplotlibs = saved(ours), saved(theirs)
    assert "<use " in mine  # markers were written
    assert mine == matplotlibs


def test_text_with_dollar_signs_is_drawn_as_written() -> None:
    """Matplotlib reads text between two `$` as mathtext: a variant `$\\euro$ off` stopped
    the build (an unknown symbol) that `check` passed, and one named
    `$\\mathregular{treatment}$` drew a second "treatment" in the legend, beside the real
    arm; a title `Fee: $5 to $3` lost its dollars. Every text is drawn as written."""
    base = _ab_spec()
    euro = replace(base.series[1], label="$\\euro$ off")
    fake = replace(base.series[1], label="$\\mathregular{treatment}$")
    spec = replace(
        base, title="Fee: $5 to $3", unit="$ per $1k", series=(base.series[0], euro, fake)
    )
    svg = render_svg(spec, chart_id="c1")
    texts = [t.strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]
    assert "$\\euro$ off" in texts
    assert "$\\mathregular{treatment}$" in texts
    assert texts.count("treatment") == 1
    assert any("$ per $1k" in t for t in texts)
