"""Tests for generator.charts: deterministic SVG metric charts."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from generator.charts import (
    CHART_VERSION,
    ChartSpec,
    RefLine,
    Series,
    describe,
    render_svg,
    spec_key,
)

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
    assert 'id="legend_1"' not in svg


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
