"""Tests for generator.analyze: metric statuses, lifts, guardrails and the charter verdict.

Every charter here is a small tree written to tmp_path (charter.yaml plus a results CSV)
and loaded the way the build loads it, so each test reads like the case it covers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from helpers import write_charter_data

from generator.analyze import (
    CharterView,
    DatedLift,
    analyze_charter,
    metric_status,
)
from generator.load import load_project
from generator.stats import Lift
from generator.vocabulary import label

# --------------------------------------------------------------------------- helpers


def business(
    mid: str = "conv",
    *,
    unit: str = "%",
    direction: str = "increase",
    baseline: float = 10.0,
    target: float = 12.0,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "id": mid,
        "name": f"Business {mid}",
        "definition": f"How {mid} is computed.",
        "unit": unit,
        "direction": direction,
        "baseline": {"value": baseline},
        "target": {"value": target},
        "agreed": {"by": ["VP Sales"], "on": "2026-01-05"},
        **extra,
    }


def ml_metric(
    mid: str = "prec",
    *,
    drives: tuple[str, ...] = ("conv",),
    unit: str = "ratio",
    direction: str = "increase",
    baseline: float | None = 0.7,
    target: float | None = 0.9,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": mid,
        "name": f"Model {mid}",
        "unit": unit,
        "direction": direction,
        "drives": list(drives),
    }
    if baseline is not None:
        out["baseline"] = {"value": baseline}
    if target is not None:
        out["target"] = {"value": target}
    return out


def guardrail(
    mid: str = "lat",
    *,
    unit: str = "ms",
    direction: str = "decrease",
    tolerance: float = 5.0,
    baseline: float | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": mid,
        "name": f"Guardrail {mid}",
        "unit": unit,
        "direction": direction,
        "tolerance": {"value": tolerance},
    }
    if baseline is not None:
        out["baseline"] = {"value": baseline}
    return out


def charter(
    *,
    status: str = "live",
    business_metrics: list[dict[str, Any]] | None = None,
    ml_metrics: list[dict[str, Any]] | None = None,
    guardrails: list[dict[str, Any]] | None = None,
    method: str = "ab_test",
    mde: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    measurement: dict[str, Any] = {
        "method": method,
        "population": "All customers.",
        "cadence": "weekly",
        "decision_rule": "Ship if the 95% CI excludes zero.",
    }
    if mde is not None:
        measurement["minimum_detectable_effect"] = mde
    if guardrails:
        measurement["guardrails"] = guardrails
    out: dict[str, Any] = {
        "title": "Test charter",
        "summary": "A charter written by a test.",
        "status": status,
        "owner": {"name": "Ana Ruiz"},
        "objective": {"statement": "Sell more."},
        "business_metrics": business_metrics if business_metrics is not None else [business()],
        "ml_metrics": ml_metrics or [],
        "measurement": measurement,
        "human_baseline": {"waived": "Nobody can do this by hand."},
    }
    out.update(extra)
    return out


def row(day: str, metric: str, value: float, variant: str = "", **extra: Any) -> dict[str, Any]:
    return {"date": day, "metric": metric, "variant": variant, "value": value, **extra}


def write_charter(
    root: Path,
    cid: str,
    body: dict[str, Any],
    rows: Sequence[dict[str, Any]] = (),
) -> None:
    write_charter_data(root, cid, body, rows, results_file="results.csv")


def analyse(
    tmp_path: Path, body: dict[str, Any], rows: Sequence[dict[str, Any]] = ()
) -> CharterView:
    """Write one charter, load the tree as the build does, and analyse it."""
    root = tmp_path / "project"
    write_charter(root, "probe", body, list(rows))
    project, diags = load_project(root)
    assert not diags.errors, [d.format_text() for d in diags.errors]
    assert [c.id for c in project.charters] == ["probe"]
    return analyze_charter(project.charters[0])


def ab(day: str, metric: str, control: float, treatment: float, **arm: Any) -> list[dict[str, Any]]:
    """A control and a treatment row on one date with the same extra columns."""
    return [
        row(day, metric, control, "control", **arm),
        row(day, metric, treatment, "treatment", **arm),
    ]


D1, D2, D3 = "2026-03-01", "2026-03-08", "2026-03-15"


# ============================================================== metric statuses


def test_met_when_latest_exactly_equals_target_increase(tmp_path: Path) -> None:
    view = analyse(tmp_path, charter(), [row(D1, "conv", 11.0), row(D2, "conv", 12.0)])
    conv = view.metric("conv")
    assert conv is not None
    assert conv.latest is not None and conv.latest.row.value == 12.0
    assert conv.met is True
    assert conv.status == "met"
    assert conv.progress == pytest.approx(1.0)


def test_met_when_latest_exactly_equals_target_decrease(tmp_path: Path) -> None:
    body = charter(
        business_metrics=[
            business("ttfr", unit="hours", direction="decrease", baseline=6.2, target=4.5)
        ]
    )
    view = analyse(tmp_path, body, [row(D1, "ttfr", 4.5)])
    ttfr = view.metric("ttfr")
    assert ttfr is not None and ttfr.status == "met"
    assert ttfr.progress == pytest.approx(1.0)


def test_just_short_of_target_is_not_met(tmp_path: Path) -> None:
    view = analyse(tmp_path, charter(), [row(D1, "conv", 11.99)])
    conv = view.metric("conv")
    assert conv is not None and conv.met is False and conv.status == "flat"


def test_met_wins_over_a_non_significant_lift(tmp_path: Path) -> None:
    # The treatment arm reached the target, but with tiny samples the lift is not
    # significant: the target is met all the same.
    view = analyse(tmp_path, charter(), ab(D1, "conv", 11.5, 12.0, n=50))
    conv = view.metric("conv")
    assert conv is not None and conv.lift is not None
    assert conv.lift.lift.ci_low < 0 < conv.lift.lift.ci_high
    assert conv.status == "met"


def test_improved_increase_metric_lift_ci_excludes_zero(tmp_path: Path) -> None:
    body = charter(business_metrics=[business(target=15.0)])
    view = analyse(tmp_path, body, ab(D1, "conv", 10.0, 11.0, n=100_000))
    conv = view.metric("conv")
    assert conv is not None and conv.lift is not None
    assert conv.lift.lift.method == "two-proportion"
    assert conv.lift.lift.ci_low > 0
    assert conv.status == "improved"
    assert conv.move == pytest.approx(1.0)
    assert conv.move_reference == "control"


def test_improved_decrease_metric_lift_ci_below_zero(tmp_path: Path) -> None:
    body = charter(
        business_metrics=[
            business("ttfr", unit="hours", direction="decrease", baseline=6.2, target=4.5)
        ]
    )
    view = analyse(tmp_path, body, ab(D1, "ttfr", 6.0, 5.5, n=5000, std=2.0))
    ttfr = view.metric("ttfr")
    assert ttfr is not None and ttfr.lift is not None
    assert ttfr.lift.lift.method == "welch"
    assert ttfr.lift.lift.absolute == pytest.approx(-0.5)
    assert ttfr.lift.lift.ci_high < 0
    assert ttfr.status == "improved"
    # The move is expressed good-positive: a fall of 0.5 hours is +0.5.
    assert ttfr.move == pytest.approx(0.5)
    assert ttfr.move_interval is not None and ttfr.move_interval[0] > 0


def test_flat_when_lift_ci_includes_zero(tmp_path: Path) -> None:
    body = charter(business_metrics=[business(target=15.0)])
    view = analyse(tmp_path, body, ab(D1, "conv", 10.0, 10.2, n=2000))
    conv = view.metric("conv")
    assert conv is not None and conv.lift is not None
    assert conv.lift.lift.ci_low < 0 < conv.lift.lift.ci_high
    assert conv.status == "flat"


def test_flat_when_lift_ci_touches_zero_exactly_increase(tmp_path: Path) -> None:
    # Control without spread, treatment 13 with 95% interval [10, 16]: the lift's
    # interval is [0, 6] exactly. Touching zero is not excluding it.
    body = charter(business_metrics=[business("score", unit="points", target=20.0)])
    rows = [
        row(D1, "score", 10.0, "control", lower=10.0, upper=10.0),
        row(D1, "score", 13.0, "treatment", lower=10.0, upper=16.0),
    ]
    view = analyse(tmp_path, body, rows)
    score = view.metric("score")
    assert score is not None and score.lift is not None
    assert score.lift.lift.method == "intervals"
    assert score.lift.lift.ci_low == 0.0
    assert score.status == "flat"


def test_flat_when_lift_ci_touches_zero_exactly_decrease(tmp_path: Path) -> None:
    body = charter(
        business_metrics=[business("wait", unit="min", direction="decrease", baseline=10, target=2)]
    )
    rows = [
        row(D1, "wait", 10.0, "control", lower=10.0, upper=10.0),
        row(D1, "wait", 7.0, "treatment", lower=4.0, upper=10.0),
    ]
    view = analyse(tmp_path, body, rows)
    wait = view.metric("wait")
    assert wait is not None and wait.lift is not None
    assert wait.lift.lift.ci_high == 0.0
    assert wait.status == "flat"


@pytest.mark.parametrize(
    ("direction", "ci", "expected"),
    [
        ("increase", (0.0, 2.0), "flat"),
        ("increase", (1e-12, 2.0), "improved"),
        ("increase", (-2.0, 0.0), "flat"),
        ("increase", (-2.0, -1e-12), "worse"),
        ("decrease", (-2.0, 0.0), "flat"),
        ("decrease", (-2.0, -1e-12), "improved"),
        ("decrease", (0.0, 2.0), "flat"),
        ("decrease", (1e-12, 2.0), "worse"),
    ],
)
def test_metric_status_borderline_intervals(
    direction: str, ci: tuple[float, float], expected: str
) -> None:
    """metric_status on its own: an interval with an end exactly at zero is `flat`."""
    from generator.diagnostics import SourceRef
    from generator.load import Result
    from generator.model import ResultRow

    latest = Result(
        ResultRow.model_validate(
            {"date": "2026-03-01", "metric": "x", "value": 1.0, "variant": "treatment"}
        ),
        SourceRef("r.csv", 2, 1),
    )
    mid = (ci[0] + ci[1]) / 2
    dated = DatedLift(
        date(2026, 3, 1), "treatment", Lift(mid, None, ci[0], ci[1], 0.5, "intervals")
    )
    status, _, reference, _ = metric_status(
        direction=direction,  # type: ignore[arg-type]
        rows=[latest],
        latest=latest,
        target=None,
        baseline=None,
        current_lift=dated,
        mde=None,
    )
    assert status == expected
    assert reference == "control"


def test_worse_increase_metric(tmp_path: Path) -> None:
    body = charter(business_metrics=[business(target=15.0)])
    view = analyse(tmp_path, body, ab(D1, "conv", 10.0, 9.0, n=100_000))
    conv = view.metric("conv")
    assert conv is not None and conv.status == "worse"
    assert conv.move == pytest.approx(-1.0)


def test_worse_decrease_metric(tmp_path: Path) -> None:
    body = charter(
        business_metrics=[
            business("ttfr", unit="hours", direction="decrease", baseline=6.2, target=4.5)
        ]
    )
    view = analyse(tmp_path, body, ab(D1, "ttfr", 6.0, 6.5, n=5000, std=2.0))
    ttfr = view.metric("ttfr")
    assert ttfr is not None and ttfr.status == "worse"


def test_no_results_without_rows(tmp_path: Path) -> None:
    view = analyse(tmp_path, charter())
    conv = view.metric("conv")
    assert conv is not None
    assert conv.status == "no-results"
    assert conv.latest is None and conv.progress is None and conv.lift is None
    assert conv.rows == ()


def test_no_results_with_only_control_rows(tmp_path: Path) -> None:
    # A control arm alone says nothing about the model.
    view = analyse(tmp_path, charter(), [row(D1, "conv", 10.0, "control", n=100)])
    conv = view.metric("conv")
    assert conv is not None and conv.status == "no-results" and conv.latest is None


# --- without uncertainty information: the minimum detectable effect decides --------------


def test_mde_absolute_move_equal_to_mde_is_improved(tmp_path: Path) -> None:
    body = charter(
        business_metrics=[business(target=15.0)], mde={"metric": "conv", "absolute": 1.0}
    )
    view = analyse(tmp_path, body, ab(D1, "conv", 10.0, 11.0))
    conv = view.metric("conv")
    assert conv is not None
    assert conv.lift is None  # no n, std or interval: no lift
    assert conv.move == 1.0 and conv.move_reference == "control"
    assert conv.status == "improved"


def test_mde_absolute_move_below_mde_is_flat(tmp_path: Path) -> None:
    body = charter(
        business_metrics=[business(target=15.0)], mde={"metric": "conv", "absolute": 1.0}
    )
    view = analyse(tmp_path, body, ab(D1, "conv", 10.0, 10.5))
    conv = view.metric("conv")
    assert conv is not None and conv.status == "flat"


def test_mde_absolute_move_in_bad_direction_is_worse(tmp_path: Path) -> None:
    body = charter(
        business_metrics=[business(target=15.0)], mde={"metric": "conv", "absolute": 1.0}
    )
    view = analyse(tmp_path, body, ab(D1, "conv", 10.0, 8.5))
    conv = view.metric("conv")
    assert conv is not None and conv.status == "worse"


def test_mde_relative_against_baseline_production_rows(tmp_path: Path) -> None:
    # Relative MDE 10% of the baseline 10 is 1.0; production value 11 moved exactly that.
    body = charter(
        method="before_after",
        business_metrics=[business(target=15.0)],
        mde={"metric": "conv", "relative": 0.1},
    )
    view = analyse(tmp_path, body, [row(D1, "conv", 11.0)])
    conv = view.metric("conv")
    assert conv is not None
    assert conv.move_reference == "baseline"
    assert conv.status == "improved"


def test_mde_relative_below_is_flat(tmp_path: Path) -> None:
    body = charter(
        method="before_after",
        business_metrics=[business(target=15.0)],
        mde={"metric": "conv", "relative": 0.1},
    )
    view = analyse(tmp_path, body, [row(D1, "conv", 10.9)])
    conv = view.metric("conv")
    assert conv is not None and conv.status == "flat"


@pytest.mark.parametrize(("value", "expected"), [(5.3, "improved"), (5.6, "flat"), (6.8, "worse")])
def test_mde_relative_decrease_metric(tmp_path: Path, value: float, expected: str) -> None:
    # Baseline 6 hours, MDE 10% = 0.6 hours.
    body = charter(
        method="before_after",
        business_metrics=[
            business("ttfr", unit="hours", direction="decrease", baseline=6.0, target=4.0)
        ],
        mde={"metric": "ttfr", "relative": 0.1},
    )
    view = analyse(tmp_path, body, [row(D1, "ttfr", value)])
    ttfr = view.metric("ttfr")
    assert ttfr is not None and ttfr.status == expected


def test_mde_for_another_metric_does_not_apply(tmp_path: Path) -> None:
    body = charter(
        method="before_after",
        business_metrics=[
            business(target=15.0),
            business("aov", unit="USD", baseline=50, target=60),
        ],
        mde={"metric": "aov", "absolute": 0.5},
    )
    view = analyse(tmp_path, body, [row(D1, "conv", 14.0)])
    conv = view.metric("conv")
    assert conv is not None and conv.status == "flat"


def test_big_move_without_uncertainty_or_mde_is_flat(tmp_path: Path) -> None:
    body = charter(method="before_after", business_metrics=[business(target=15.0)])
    view = analyse(tmp_path, body, [row(D1, "conv", 14.0)])
    conv = view.metric("conv")
    assert conv is not None
    assert conv.move == pytest.approx(4.0)
    assert conv.status == "flat"


# --- a production row with its own interval, against the baseline -----------------------


@pytest.mark.parametrize(
    ("value", "lower", "upper", "expected"),
    [
        (11.0, 10.5, 11.5, "improved"),
        (10.5, 9.8, 11.2, "flat"),
        (11.0, 10.0, 12.0, "flat"),  # lower bound exactly at the baseline
        (9.0, 8.5, 9.5, "worse"),
    ],
)
def test_production_interval_vs_baseline_increase(
    tmp_path: Path, value: float, lower: float, upper: float, expected: str
) -> None:
    body = charter(method="before_after", business_metrics=[business(target=15.0)])
    view = analyse(tmp_path, body, [row(D1, "conv", value, lower=lower, upper=upper)])
    conv = view.metric("conv")
    assert conv is not None
    assert conv.move_reference == "baseline"
    assert conv.move_interval == pytest.approx((lower - 10.0, upper - 10.0))
    assert conv.status == expected


@pytest.mark.parametrize(
    ("value", "lower", "upper", "expected"),
    [(5.0, 4.6, 5.4, "improved"), (5.8, 5.4, 6.2, "flat"), (7.0, 6.5, 7.5, "worse")],
)
def test_production_interval_vs_baseline_decrease(
    tmp_path: Path, value: float, lower: float, upper: float, expected: str
) -> None:
    body = charter(
        method="before_after",
        business_metrics=[
            business("ttfr", unit="hours", direction="decrease", baseline=6.0, target=4.0)
        ],
    )
    view = analyse(tmp_path, body, [row(D1, "ttfr", value, lower=lower, upper=upper)])
    ttfr = view.metric("ttfr")
    assert ttfr is not None and ttfr.status == expected
    lo, hi = ttfr.move_interval or (None, None)
    assert lo is not None and hi is not None and lo <= hi  # good-positive, ordered


def test_production_interval_beats_mde(tmp_path: Path) -> None:
    # The row's own interval is stronger evidence than the MDE rule: the move of 2
    # exceeds the MDE, but the interval includes the baseline.
    body = charter(
        method="before_after",
        business_metrics=[business(target=15.0)],
        mde={"metric": "conv", "absolute": 1.0},
    )
    view = analyse(tmp_path, body, [row(D1, "conv", 12.5, lower=9.0, upper=14.0)])
    conv = view.metric("conv")
    assert conv is not None and conv.status == "flat"


# --- missing n ---------------------------------------------------------------------------


def test_missing_n_falls_back_to_intervals(tmp_path: Path) -> None:
    # A % metric without n cannot use the two-proportion test; the arms' intervals are used.
    body = charter(business_metrics=[business(target=15.0)])
    rows = [
        row(D1, "conv", 10.0, "control", lower=9.5, upper=10.5),
        row(D1, "conv", 11.2, "treatment", lower=10.7, upper=11.7),
    ]
    view = analyse(tmp_path, body, rows)
    conv = view.metric("conv")
    assert conv is not None and conv.lift is not None
    assert conv.lift.lift.method == "intervals"
    assert conv.status == "improved"


def test_missing_n_for_one_arm_falls_back_to_intervals(tmp_path: Path) -> None:
    body = charter(business_metrics=[business(target=15.0)])
    rows = [
        row(D1, "conv", 10.0, "control", lower=9.5, upper=10.5, n=1000),
        row(D1, "conv", 10.2, "treatment", lower=9.7, upper=10.7),
    ]
    view = analyse(tmp_path, body, rows)
    conv = view.metric("conv")
    assert conv is not None and conv.lift is not None
    assert conv.lift.lift.method == "intervals"
    assert conv.status == "flat"


def test_missing_n_and_intervals_falls_back_to_mde(tmp_path: Path) -> None:
    body = charter(
        business_metrics=[business(target=15.0)], mde={"metric": "conv", "absolute": 0.5}
    )
    rows = [row(D1, "conv", 10.0, "control", std=3.0), row(D1, "conv", 10.6, "treatment", std=3.0)]
    view = analyse(tmp_path, body, rows)
    conv = view.metric("conv")
    assert conv is not None
    assert conv.lift is None and conv.lifts == ()
    assert conv.move_reference == "control"
    assert conv.status == "improved"


# ============================================================== latest value and progress


def test_production_row_wins_over_treatment_on_same_date(tmp_path: Path) -> None:
    rows = [*ab(D1, "conv", 10.0, 10.5, n=1000), row(D1, "conv", 10.8, n=5000)]
    view = analyse(tmp_path, charter(business_metrics=[business(target=15.0)]), rows)
    conv = view.metric("conv")
    assert conv is not None and conv.latest is not None
    assert conv.latest.row.variant is None and conv.latest.row.value == 10.8


def test_latest_treatment_row_after_last_pair(tmp_path: Path) -> None:
    rows = [*ab(D1, "conv", 10.0, 10.5, n=1000), row(D2, "conv", 10.7, "treatment", n=1000)]
    view = analyse(tmp_path, charter(business_metrics=[business(target=15.0)]), rows)
    conv = view.metric("conv")
    assert conv is not None and conv.latest is not None
    assert conv.latest.row.value == 10.7
    assert conv.progress == pytest.approx((10.7 - 10.0) / (15.0 - 10.0))


def test_progress_decrease_direction(tmp_path: Path) -> None:
    body = charter(
        method="before_after",
        business_metrics=[
            business("ttfr", unit="hours", direction="decrease", baseline=6.0, target=4.0)
        ],
    )
    view = analyse(tmp_path, body, [row(D1, "ttfr", 5.0)])
    ttfr = view.metric("ttfr")
    assert ttfr is not None and ttfr.progress == pytest.approx(0.5)


# ============================================================== lift dates and history


def test_lift_is_from_latest_date_with_both_arms_and_history_is_kept(tmp_path: Path) -> None:
    rows = [
        *ab(D1, "conv", 10.0, 10.4, n=10_000),
        *ab(D2, "conv", 10.0, 10.9, n=10_000),
        row(D3, "conv", 11.5, "treatment", n=10_000),  # no control on D3
    ]
    view = analyse(tmp_path, charter(business_metrics=[business(target=15.0)]), rows)
    conv = view.metric("conv")
    assert conv is not None and conv.lift is not None
    assert conv.lift.date == date(2026, 3, 8)
    assert conv.lift.treatment == "treatment"
    assert conv.lift.lift.absolute == pytest.approx(0.9)
    assert [x.date for x in conv.lifts] == [date(2026, 3, 1), date(2026, 3, 8)]
    assert conv.lifts[0].lift.absolute == pytest.approx(0.4)
    assert conv.lifts[-1] == conv.lift
    # The latest value is still the newest treatment row.
    assert conv.latest is not None and conv.latest.row.value == 11.5


def test_lift_with_control_only_on_latest_date(tmp_path: Path) -> None:
    rows = [*ab(D1, "conv", 10.0, 10.9, n=10_000), row(D2, "conv", 10.1, "control", n=10_000)]
    view = analyse(tmp_path, charter(business_metrics=[business(target=15.0)]), rows)
    conv = view.metric("conv")
    assert conv is not None and conv.lift is not None
    assert conv.lift.date == date(2026, 3, 1)
    assert len(conv.lifts) == 1


def test_lift_prefers_arm_named_treatment(tmp_path: Path) -> None:
    rows = [
        row(D1, "conv", 10.0, "control", n=10_000),
        row(D1, "conv", 10.5, "alt", n=10_000),
        row(D1, "conv", 11.0, "treatment", n=10_000),
    ]
    view = analyse(tmp_path, charter(business_metrics=[business(target=15.0)]), rows)
    conv = view.metric("conv")
    assert conv is not None and conv.lift is not None
    assert conv.lift.treatment == "treatment"
    assert conv.lift.lift.absolute == pytest.approx(1.0)


def test_lift_without_uncertainty_is_absent(tmp_path: Path) -> None:
    view = analyse(tmp_path, charter(), ab(D1, "conv", 10.0, 11.0))
    conv = view.metric("conv")
    assert conv is not None and conv.lift is None and conv.lifts == ()


# ============================================================== guardrails


def _lat(tmp_path: Path, rows: list[dict[str, Any]], **g: Any) -> Any:
    body = charter(guardrails=[guardrail(**g)])
    view = analyse(tmp_path, body, [row(D1, "conv", 10.5), *rows])
    lat = view.metric("lat")
    assert lat is not None and lat.kind == "guardrail"
    return view, lat


@pytest.mark.parametrize(
    ("control", "treatment", "breached"),
    [(100.0, 106.0, True), (100.0, 105.0, False), (100.0, 90.0, False)],
)
def test_guardrail_decrease_against_control(
    tmp_path: Path, control: float, treatment: float, breached: bool
) -> None:
    view, lat = _lat(tmp_path, ab(D1, "lat", control, treatment), tolerance=5.0, baseline=50.0)
    assert lat.move_reference == "control"  # control wins over the baseline
    assert lat.move == pytest.approx(control - treatment)
    assert lat.breached is breached
    assert lat.status == ("worse" if breached else "flat")
    assert [g.id for g in view.breached] == (["lat"] if breached else [])


@pytest.mark.parametrize(
    ("control", "treatment", "breached"),
    [(4.3, 4.1, True), (4.3, 4.25, False), (4.3, 4.6, False)],
)
def test_guardrail_increase_against_control(
    tmp_path: Path, control: float, treatment: float, breached: bool
) -> None:
    _, lat = _lat(
        tmp_path,
        ab(D1, "lat", control, treatment),
        unit="score",
        direction="increase",
        tolerance=0.1,
    )
    assert lat.move_reference == "control"
    assert lat.breached is breached


def test_guardrail_control_reference_uses_latest_paired_date(tmp_path: Path) -> None:
    rows = [
        *ab(D1, "lat", 100.0, 120.0),  # breached on D1 ...
        *ab(D2, "lat", 100.0, 101.0),  # ... but fine on the latest paired date
        row(D3, "lat", 130.0, "treatment"),  # no control on D3: not a pair
    ]
    _, lat = _lat(tmp_path, rows, tolerance=5.0)
    assert lat.move == pytest.approx(-1.0)
    assert lat.breached is False


@pytest.mark.parametrize(("value", "breached"), [(106.0, True), (105.0, False), (95.0, False)])
def test_guardrail_decrease_against_baseline(tmp_path: Path, value: float, breached: bool) -> None:
    _, lat = _lat(tmp_path, [row(D1, "lat", value)], tolerance=5.0, baseline=100.0)
    assert lat.move_reference == "baseline"
    assert lat.breached is breached


@pytest.mark.parametrize(("value", "breached"), [(0.85, True), (0.95, False), (0.99, False)])
def test_guardrail_increase_against_baseline(tmp_path: Path, value: float, breached: bool) -> None:
    _, lat = _lat(
        tmp_path,
        [row(D1, "lat", value)],
        unit="ratio",
        direction="increase",
        tolerance=0.1,
        baseline=1.0,
    )
    assert lat.move_reference == "baseline"
    assert lat.breached is breached


@pytest.mark.parametrize(("last", "breached"), [(107.0, True), (104.0, False)])
def test_guardrail_decrease_against_first_result(
    tmp_path: Path, last: float, breached: bool
) -> None:
    rows = [row(D1, "lat", 100.0), row(D2, "lat", 103.0), row(D3, "lat", last)]
    _, lat = _lat(tmp_path, rows, tolerance=5.0)
    assert lat.move_reference == "first result"
    assert lat.move == pytest.approx(100.0 - last)
    assert lat.breached is breached


@pytest.mark.parametrize(("last", "breached"), [(4.1, True), (4.25, False), (4.5, False)])
def test_guardrail_increase_against_first_result(
    tmp_path: Path, last: float, breached: bool
) -> None:
    rows = [row(D1, "lat", 4.3), row(D3, "lat", last)]
    _, lat = _lat(tmp_path, rows, unit="score", direction="increase", tolerance=0.1)
    assert lat.move_reference == "first result"
    assert lat.breached is breached


def test_guardrail_without_results(tmp_path: Path) -> None:
    _, lat = _lat(tmp_path, [], tolerance=5.0, baseline=100.0)
    assert lat.status == "no-results" and lat.breached is False and lat.move is None


def test_breached_guardrail_does_not_change_the_verdict(tmp_path: Path) -> None:
    body = charter(business_metrics=[business(target=15.0)], guardrails=[guardrail()])
    rows = [*ab(D1, "conv", 10.0, 11.0, n=100_000), *ab(D1, "lat", 100.0, 150.0)]
    view = analyse(tmp_path, body, rows)
    assert view.verdict == "business-impact"
    assert [g.id for g in view.breached] == ["lat"]


# ============================================================== verdicts


def test_verdict_target_met(tmp_path: Path) -> None:
    body = charter(
        business_metrics=[business(), business("aov", unit="USD", baseline=50, target=60)],
        ml_metrics=[ml_metric(drives=("conv", "aov"))],
    )
    view = analyse(tmp_path, body, [row(D1, "conv", 12.5), row(D1, "aov", 60.0)])
    assert view.verdict == "target-met"
    assert label(view.verdict, "verdict") == "Target met"


def test_verdict_business_impact_with_one_improved(tmp_path: Path) -> None:
    body = charter(
        business_metrics=[
            business(target=15.0),
            business("aov", unit="USD", baseline=50, target=60),
        ],
    )
    rows = [*ab(D1, "conv", 10.0, 11.0, n=100_000), row(D1, "aov", 49.0)]
    view = analyse(tmp_path, body, rows)
    assert [b.status for b in view.by_kind("business")] == ["improved", "flat"]
    assert view.verdict == "business-impact"


def test_verdict_business_impact_with_one_met_and_one_without_results(tmp_path: Path) -> None:
    body = charter(
        business_metrics=[business(), business("aov", unit="USD", baseline=50, target=60)],
    )
    view = analyse(tmp_path, body, [row(D1, "conv", 12.0)])
    assert [b.status for b in view.by_kind("business")] == ["met", "no-results"]
    assert view.verdict == "business-impact"


def test_verdict_ml_only(tmp_path: Path) -> None:
    body = charter(business_metrics=[business(target=15.0)], ml_metrics=[ml_metric()])
    rows = [*ab(D1, "conv", 10.0, 10.1, n=2000), row(D1, "prec", 0.93, "treatment")]
    view = analyse(tmp_path, body, rows)
    conv, prec = view.metric("conv"), view.metric("prec")
    assert conv is not None and conv.status == "flat"
    assert prec is not None and prec.met is True
    assert view.verdict == "ml-only"
    assert label(view.verdict, "verdict") == "ML metric only"


def test_verdict_ml_only_when_driven_business_metric_has_no_results(tmp_path: Path) -> None:
    body = charter(business_metrics=[business(target=15.0)], ml_metrics=[ml_metric()])
    view = analyse(tmp_path, body, [row(D1, "prec", 0.9)])  # exactly at target
    assert view.verdict == "ml-only"


def test_verdict_not_ml_only_when_ml_target_missed(tmp_path: Path) -> None:
    body = charter(business_metrics=[business(target=15.0)], ml_metrics=[ml_metric()])
    rows = [row(D1, "conv", 10.1), row(D1, "prec", 0.89)]
    view = analyse(tmp_path, body, rows)
    assert view.verdict == "no-impact"


def test_verdict_no_impact(tmp_path: Path) -> None:
    body = charter(
        business_metrics=[
            business(target=15.0),
            business("aov", unit="USD", baseline=50, target=60),
        ],
    )
    rows = [*ab(D1, "conv", 10.0, 9.0, n=100_000)]  # worse; aov has no results
    view = analyse(tmp_path, body, rows)
    assert view.verdict == "no-impact"


def test_verdict_no_business_results(tmp_path: Path) -> None:
    body = charter(
        business_metrics=[business(target=15.0)],
        ml_metrics=[ml_metric()],
        guardrails=[guardrail()],
    )
    view = analyse(tmp_path, body, [row(D1, "prec", 0.8), row(D1, "lat", 100.0)])
    assert view.verdict == "no-business-results"


def test_verdict_no_business_results_from_guardrail_only(tmp_path: Path) -> None:
    body = charter(guardrails=[guardrail()])
    view = analyse(tmp_path, body, [row(D1, "lat", 100.0)])
    assert view.verdict == "no-business-results"


def test_verdict_no_results(tmp_path: Path) -> None:
    body = charter(ml_metrics=[ml_metric()], guardrails=[guardrail()])
    view = analyse(tmp_path, body)
    assert view.verdict == "no-results"
    assert view.latest_date is None
