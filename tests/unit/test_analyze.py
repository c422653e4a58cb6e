"""Tests for generator.analyze: metric statuses, lifts, guardrails and the charter verdict.

Every charter here is built in memory by the test factory (tests/factory.py), parsed and
validated the way the loader does it, so each test reads like the case it covers.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from factory import ab, guardrail, ml_metric, row
from factory import business_metric as business
from factory import charter_data as charter
from factory import view as analyse
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from generator.analyze import (
    DatedLift,
    metric_status,
)
from generator.charts.spec import tolerance_of
from generator.rules import evidence, move_phrase
from generator.stats import Lift
from generator.vocabulary import label

# --------------------------------------------------------------------------- helpers


D1, D2, D3 = "2026-03-01", "2026-03-08", "2026-03-15"


# ============================================================== metric statuses


def test_met_when_latest_exactly_equals_target_increase() -> None:
    view = analyse(charter(), [row(D1, "conv", 11.0), row(D2, "conv", 12.0)])
    conv = view.metric("conv")
    assert conv is not None
    assert conv.latest is not None and conv.latest.row.value == 12.0
    assert conv.met is True
    assert conv.status == "met"
    assert conv.progress == pytest.approx(1.0)


def test_met_when_latest_exactly_equals_target_decrease() -> None:
    body = charter(
        business_metrics=[
            business("ttfr", unit="hours", direction="decrease", baseline=6.2, target=4.5)
        ]
    )
    view = analyse(body, [row(D1, "ttfr", 4.5)])
    ttfr = view.metric("ttfr")
    assert ttfr is not None and ttfr.status == "met"
    assert ttfr.progress == pytest.approx(1.0)


def test_just_short_of_target_is_not_met() -> None:
    view = analyse(charter(), [row(D1, "conv", 11.99)])
    conv = view.metric("conv")
    assert conv is not None and conv.met is False and conv.status == "flat"


def test_met_wins_over_a_non_significant_lift() -> None:
    # The treatment arm reached the target, but with tiny samples the lift is not
    # significant: the target is met all the same.
    view = analyse(charter(), ab(D1, "conv", 11.5, 12.0, n=50))
    conv = view.metric("conv")
    assert conv is not None and conv.lift is not None
    assert conv.lift.lift.ci_low < 0 < conv.lift.lift.ci_high
    assert conv.status == "met"


def test_a_target_reached_while_significantly_worse_than_control_is_worse() -> None:
    # Both arms passed the target (the season moved them), but the treatment arm did
    # significantly worse than control: no success of the model's.
    body = charter(business_metrics=[business(target=15.0)])
    view = analyse(body, ab(D1, "conv", 18.0, 16.0, n=100_000))
    conv = view.metric("conv")
    assert conv is not None and conv.lift is not None and conv.lift.lift.ci_high < 0
    assert conv.met is True  # the value is at its target, and the page says so
    assert conv.status == "worse"
    assert view.verdict == "no-impact"


def test_a_target_reached_while_worse_than_control_by_the_mde_is_worse() -> None:
    body = charter(
        business_metrics=[business(target=15.0)], mde={"metric": "conv", "absolute": 1.0}
    )
    rows = [row(D1, "conv", 18.0, variant="control"), row(D1, "conv", 16.0, variant="treatment")]
    conv = analyse(body, rows).metric("conv")
    assert conv is not None and conv.lift is None and conv.move_reference == "control"
    assert conv.status == "worse"
    ahead = [row(D1, "conv", 16.0, variant="control"), row(D1, "conv", 16.5, variant="treatment")]
    conv = analyse(body, ahead).metric("conv")
    assert conv is not None and conv.status == "met"  # not worse than control: met


def test_without_treatment_the_first_arm_by_name_ignoring_case_is_compared() -> None:
    rows = [
        row(D1, "conv", 10.0, variant="control"),
        row(D1, "conv", 11.0, variant="alpha", n=1000),
        row(D1, "conv", 18.0, variant="Zeta", n=1000),
    ]
    view = analyse(charter(), rows)
    conv = view.metric("conv")
    assert conv is not None and conv.latest is not None
    assert conv.latest.row.variant == "alpha"  # not Zeta, first by code point


def test_the_target_met_evidence_reads_as_a_sentence() -> None:
    # "Conversion 12% (target 12%)" ran the name into its value.
    view = analyse(charter(), [row(D1, "conv", 12.5)])
    assert view.verdict == "target-met"
    assert (
        evidence(view)
        == "Every business metric reached its target: Business conv at 12.5% (target 12%)."
    )


def test_improved_increase_metric_lift_ci_excludes_zero() -> None:
    body = charter(business_metrics=[business(target=15.0)])
    view = analyse(body, ab(D1, "conv", 10.0, 11.0, n=100_000))
    conv = view.metric("conv")
    assert conv is not None and conv.lift is not None
    assert conv.lift.lift.method == "two-proportion"
    assert conv.lift.lift.ci_low > 0
    assert conv.status == "improved"
    assert conv.move == pytest.approx(1.0)
    assert conv.move_reference == "control"


def test_improved_decrease_metric_lift_ci_below_zero() -> None:
    body = charter(
        business_metrics=[
            business("ttfr", unit="hours", direction="decrease", baseline=6.2, target=4.5)
        ]
    )
    view = analyse(body, ab(D1, "ttfr", 6.0, 5.5, n=5000, std=2.0))
    ttfr = view.metric("ttfr")
    assert ttfr is not None and ttfr.lift is not None
    assert ttfr.lift.lift.method == "welch"
    assert ttfr.lift.lift.absolute == pytest.approx(-0.5)
    assert ttfr.lift.lift.ci_high < 0
    assert ttfr.status == "improved"
    # The move is expressed good-positive: a fall of 0.5 hours is +0.5.
    assert ttfr.move == pytest.approx(0.5)
    assert ttfr.move_interval is not None and ttfr.move_interval[0] > 0


def test_flat_when_lift_ci_includes_zero() -> None:
    body = charter(business_metrics=[business(target=15.0)])
    view = analyse(body, ab(D1, "conv", 10.0, 10.2, n=2000))
    conv = view.metric("conv")
    assert conv is not None and conv.lift is not None
    assert conv.lift.lift.ci_low < 0 < conv.lift.lift.ci_high
    assert conv.status == "flat"


def test_flat_when_lift_ci_touches_zero_exactly_increase() -> None:
    # Control without spread, treatment 13 with 95% interval [10, 16]: the lift's
    # interval is [0, 6] exactly. Touching zero is not excluding it.
    body = charter(business_metrics=[business("score", unit="points", target=20.0)])
    rows = [
        row(D1, "score", 10.0, "control", lower=10.0, upper=10.0),
        row(D1, "score", 13.0, "treatment", lower=10.0, upper=16.0),
    ]
    view = analyse(body, rows)
    score = view.metric("score")
    assert score is not None and score.lift is not None
    assert score.lift.lift.method == "intervals"
    assert score.lift.lift.ci_low == 0.0
    assert score.status == "flat"


def test_flat_when_lift_ci_touches_zero_exactly_decrease() -> None:
    body = charter(
        business_metrics=[business("wait", unit="min", direction="decrease", baseline=10, target=2)]
    )
    rows = [
        row(D1, "wait", 10.0, "control", lower=10.0, upper=10.0),
        row(D1, "wait", 7.0, "treatment", lower=4.0, upper=10.0),
    ]
    view = analyse(body, rows)
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
    """metric_status on its own: an interval with an end exactly at zero is `flat` (its
    p-value below 0.05, so the interval decides)."""
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
        date(2026, 3, 1), "treatment", Lift(mid, None, ci[0], ci[1], 0.01, "intervals")
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


@pytest.mark.parametrize(
    ("direction", "target", "control", "treatment"),
    [("increase", 65, (16, 50), (9, 15)), ("decrease", 25, (9, 15), (16, 50))],
)
def test_a_lift_whose_p_value_is_above_005_is_no_move_though_its_interval_excludes_zero(
    direction: str, target: float, control: tuple[int, int], treatment: tuple[int, int]
) -> None:
    # 32% of 50 against 60% of 15: the interval of the difference excludes zero (its
    # low end +0.0391 pp by the unpooled Wald interval, +0.0905 pp by Newcombe's) while the
    # pooled z-test printed beside it says p = 0.0506. The page said "Improved" beside
    # that p-value; a move now counts only when both say so.
    body = charter(business_metrics=[business(direction=direction, baseline=45, target=target)])
    (k_c, n_c), (k_t, n_t) = control, treatment
    rows = [
        row(D1, "conv", 100 * k_c / n_c, variant="control", n=n_c),
        row(D1, "conv", 100 * k_t / n_t, variant="treatment", n=n_t),
    ]
    view = analyse(body, rows)
    conv = view.metric("conv")
    assert conv is not None and conv.lift is not None
    lf = conv.lift.lift
    _, p_value = proportions_ztest([k_t, k_c], [n_t, n_c])  # the pooled z-test
    assert lf.p_value == pytest.approx(p_value, abs=1e-9) and 0.05 < p_value < 0.051
    assert lf.ci_low > 0 or lf.ci_high < 0  # the interval alone would say "moved"
    assert not lf.significant
    assert conv.status == "flat" and view.verdict == "no-impact"


def test_worse_increase_metric() -> None:
    body = charter(business_metrics=[business(target=15.0)])
    view = analyse(body, ab(D1, "conv", 10.0, 9.0, n=100_000))
    conv = view.metric("conv")
    assert conv is not None and conv.status == "worse"
    assert conv.move == pytest.approx(-1.0)


def test_worse_decrease_metric() -> None:
    body = charter(
        business_metrics=[
            business("ttfr", unit="hours", direction="decrease", baseline=6.2, target=4.5)
        ]
    )
    view = analyse(body, ab(D1, "ttfr", 6.0, 6.5, n=5000, std=2.0))
    ttfr = view.metric("ttfr")
    assert ttfr is not None and ttfr.status == "worse"


def test_no_results_without_rows() -> None:
    view = analyse(charter())
    conv = view.metric("conv")
    assert conv is not None
    assert conv.status == "no-results"
    assert conv.latest is None and conv.progress is None and conv.lift is None
    assert conv.rows == ()


def test_no_results_with_only_control_rows() -> None:
    # A control arm alone says nothing about the model.
    view = analyse(charter(), [row(D1, "conv", 10.0, "control", n=100)])
    conv = view.metric("conv")
    assert conv is not None and conv.status == "no-results" and conv.latest is None


# --- without uncertainty information: the minimum detectable effect decides --------------


def test_mde_absolute_move_equal_to_mde_is_improved() -> None:
    body = charter(
        business_metrics=[business(target=15.0)], mde={"metric": "conv", "absolute": 1.0}
    )
    view = analyse(body, ab(D1, "conv", 10.0, 11.0))
    conv = view.metric("conv")
    assert conv is not None
    assert conv.lift is None  # no n, std or interval: no lift
    assert conv.move == 1.0 and conv.move_reference == "control"
    assert conv.status == "improved"


def test_proportions_of_too_few_customers_are_no_evidence_whatever_the_mde() -> None:
    """1 of 2 against 0 of 2 moves 50 points, and Fisher's exact test gives p = 1: arms
    with `n` too few for the two-proportion test have no lift, and their move is no
    evidence either, however small the minimum detectable effect."""
    body = charter(
        business_metrics=[business(target=60.0)], mde={"metric": "conv", "absolute": 1.0}
    )
    view = analyse(body, ab(D1, "conv", 0.0, 50.0, n=2))
    conv = view.metric("conv")
    assert conv is not None and conv.lift is None
    assert conv.move == 50.0 and conv.move_reference == "control"
    assert conv.status == "flat" and view.verdict == "no-impact"
    # 2% against 7% of 100 each: 4.5 customers expected at the pooled rate, under 5.
    conv = analyse(body, ab(D1, "conv", 2.0, 7.0, n=100)).metric("conv")
    assert conv is not None and conv.lift is None and conv.status == "flat"
    # Enough customers: the test decides (significant here).
    conv = analyse(body, ab(D1, "conv", 2.0, 7.0, n=1000)).metric("conv")
    assert conv is not None and conv.lift is not None and conv.status == "improved"
    # No n at all: nothing says the sample is small, and the minimum effect judges.
    conv = analyse(body, ab(D1, "conv", 2.0, 7.0)).metric("conv")
    assert conv is not None and conv.lift is None and conv.status == "improved"
    # A row of two customers is too few against a control value without `n`, or against
    # the baseline (one arm, or production): no gain either (review).
    for rows in (
        [row(D1, "conv", 0.0, variant="control"), row(D1, "conv", 50.0, variant="treatment", n=2)],
        [row(D1, "conv", 50.0, variant="treatment", n=2)],
        [row(D1, "conv", 50.0, n=2)],
    ):
        view = analyse(body, rows)
        conv = view.metric("conv")
        assert conv is not None and conv.status == "flat" and view.verdict == "no-impact", rows
    # Against a baseline of 10%, 500 customers expect 50 successes: the minimum effect
    # judges the move (a business metric's `n` is no evidence of it by itself).
    conv = analyse(body, [row(D1, "conv", 11.5, n=500)]).metric("conv")
    assert conv is not None and conv.status == "improved"
    # From a baseline of 0% (a new feature's adoption), 5% of 1,000 is no sample too few:
    # at the baseline's own rate nothing is expected, so the rate between the two is asked.
    zero = charter(
        business_metrics=[business(baseline=0.0, target=10.0)],
        mde={"metric": "conv", "absolute": 1.0},
    )
    conv = analyse(zero, [row(D1, "conv", 5.0, n=1000)]).metric("conv")
    assert conv is not None and conv.status == "improved"
    conv = analyse(zero, [row(D1, "conv", 8.0, n=2)]).metric("conv")
    assert conv is not None and conv.status == "flat"
    # A drop toward 0% is judged at the baseline's rate: 0.25% of 400 against 2% expects
    # 8 successes there (exact p about 0.003), so the drop is evidence (review).
    two = charter(
        business_metrics=[business(baseline=2.0, target=3.0)],
        mde={"metric": "conv", "absolute": 0.5},
    )
    conv = analyse(two, [row(D1, "conv", 0.25, n=400)]).metric("conv")
    assert conv is not None and conv.status == "worse"
    # Beside a control row with `n`, the two-arm rule alone decides: 0.1% of 400 against
    # 2% of 100,000 is enough customers for the test.
    rows = [row(D1, "conv", 2.0, variant="control", n=100_000)]
    conv = analyse(two, [*rows, row(D1, "conv", 0.1, variant="treatment", n=400)]).metric("conv")
    assert conv is not None and conv.status == "worse"
    # At its target, two customers behind control are not "worse" than control.
    met = charter(business_metrics=[business(target=15.0)], mde={"metric": "conv", "absolute": 1.0})
    conv = analyse(met, ab(D1, "conv", 100.0, 50.0, n=2)).metric("conv")
    assert conv is not None and conv.status == "met"


def test_a_business_impact_sentence_names_a_business_metric_that_got_worse() -> None:
    """One business metric moving gives the verdict; one that got significantly worse
    meanwhile is named after it, or the sentence reads as good news alone."""
    body = charter(
        business_metrics=[
            business("conv"),
            business("csat", name="Customer satisfaction", unit="score", baseline=4.0, target=4.5),
        ]
    )
    rows = ab(D1, "conv", 10.0, 11.0, n=100_000) + ab(D1, "csat", 4.0, 3.8, n=3000, std=1.0)
    view = analyse(body, rows)
    assert view.verdict == "business-impact"
    csat = view.metric("csat")
    assert csat is not None and csat.status == "worse"
    text = evidence(view)
    assert text.startswith("Business conv improved: 11% (+1.00 pp vs control, 95% CI")
    assert text.endswith(f"; but Customer satisfaction got worse ({move_phrase(csat)}).")
    assert "−0.200 score vs control, 95% CI −0.251 score to −0.149 score" in text


def test_mde_absolute_move_below_mde_is_flat() -> None:
    body = charter(
        business_metrics=[business(target=15.0)], mde={"metric": "conv", "absolute": 1.0}
    )
    view = analyse(body, ab(D1, "conv", 10.0, 10.5))
    conv = view.metric("conv")
    assert conv is not None and conv.status == "flat"


def test_mde_absolute_move_in_bad_direction_is_worse() -> None:
    body = charter(
        business_metrics=[business(target=15.0)], mde={"metric": "conv", "absolute": 1.0}
    )
    view = analyse(body, ab(D1, "conv", 10.0, 8.5))
    conv = view.metric("conv")
    assert conv is not None and conv.status == "worse"


def test_mde_relative_against_baseline_production_rows() -> None:
    # Relative MDE 10% of the baseline 10 is 1.0; production value 11 moved exactly that.
    body = charter(
        method="before_after",
        business_metrics=[business(target=15.0)],
        mde={"metric": "conv", "relative": 0.1},
    )
    view = analyse(body, [row(D1, "conv", 11.0)])
    conv = view.metric("conv")
    assert conv is not None
    assert conv.move_reference == "baseline"
    assert conv.status == "improved"


def test_mde_relative_below_is_flat() -> None:
    body = charter(
        method="before_after",
        business_metrics=[business(target=15.0)],
        mde={"metric": "conv", "relative": 0.1},
    )
    view = analyse(body, [row(D1, "conv", 10.9)])
    conv = view.metric("conv")
    assert conv is not None and conv.status == "flat"


@pytest.mark.parametrize(("value", "expected"), [(5.3, "improved"), (5.6, "flat"), (6.8, "worse")])
def test_mde_relative_decrease_metric(value: float, expected: str) -> None:
    # Baseline 6 hours, MDE 10% = 0.6 hours.
    body = charter(
        method="before_after",
        business_metrics=[
            business("ttfr", unit="hours", direction="decrease", baseline=6.0, target=4.0)
        ],
        mde={"metric": "ttfr", "relative": 0.1},
    )
    view = analyse(body, [row(D1, "ttfr", value)])
    ttfr = view.metric("ttfr")
    assert ttfr is not None and ttfr.status == expected


@pytest.mark.parametrize(
    ("baseline", "latest", "mde"),
    [
        (3.0, 3.3, {"relative": 0.1}),  # 0.2999999999999998 against 0.30000000000000004
        (0.4, 0.7, {"absolute": 0.3}),  # 0.29999999999999993 against 0.3
    ],
)
def test_a_move_of_exactly_the_mde_counts_whatever_the_last_bits(
    baseline: float, latest: float, mde: dict[str, float]
) -> None:
    """The subtraction fell short of the threshold in the last bits: "Average order value
    +0.3 USD vs baseline" with a minimum effect of 0.3 was "did not move", and the
    charter's verdict No impact."""
    body = charter(
        method="before_after",
        business_metrics=[business(baseline=baseline, target=baseline + 2)],
        mde={"metric": "conv", **mde},
    )
    view = analyse(body, [row(D1, "conv", latest)])
    conv = view.metric("conv")
    assert conv is not None and conv.status == "improved"
    assert view.verdict == "business-impact"


def test_mde_for_another_metric_does_not_apply() -> None:
    body = charter(
        method="before_after",
        business_metrics=[
            business(target=15.0),
            business("aov", unit="USD", baseline=50, target=60),
        ],
        mde={"metric": "aov", "absolute": 0.5},
    )
    view = analyse(body, [row(D1, "conv", 14.0)])
    conv = view.metric("conv")
    assert conv is not None and conv.status == "flat"


def test_big_move_without_uncertainty_or_mde_is_flat() -> None:
    body = charter(method="before_after", business_metrics=[business(target=15.0)])
    view = analyse(body, [row(D1, "conv", 14.0)])
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
    value: float, lower: float, upper: float, expected: str
) -> None:
    body = charter(method="before_after", business_metrics=[business(target=15.0)])
    view = analyse(body, [row(D1, "conv", value, lower=lower, upper=upper)])
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
    value: float, lower: float, upper: float, expected: str
) -> None:
    body = charter(
        method="before_after",
        business_metrics=[
            business("ttfr", unit="hours", direction="decrease", baseline=6.0, target=4.0)
        ],
    )
    view = analyse(body, [row(D1, "ttfr", value, lower=lower, upper=upper)])
    ttfr = view.metric("ttfr")
    assert ttfr is not None and ttfr.status == expected
    lo, hi = ttfr.move_interval or (None, None)
    assert lo is not None and hi is not None and lo <= hi  # good-positive, ordered


def test_production_interval_beats_mde() -> None:
    # The row's own interval is stronger evidence than the MDE rule: the move of 2
    # exceeds the MDE, but the interval includes the baseline.
    body = charter(
        method="before_after",
        business_metrics=[business(target=15.0)],
        mde={"metric": "conv", "absolute": 1.0},
    )
    view = analyse(body, [row(D1, "conv", 12.5, lower=9.0, upper=14.0)])
    conv = view.metric("conv")
    assert conv is not None and conv.status == "flat"


@pytest.mark.parametrize(
    ("value", "n", "baseline", "expected"),
    [
        (0.8, 1000, 0.7, "improved"),  # Wilson: 0.774 to 0.824, above 0.7
        (0.8, 30, 0.7, "flat"),  # 0.627 to 0.905
        (0.6, 1000, 0.7, "worse"),  # 0.569 to 0.630
        # 4 of 5 against 0.4: the Wald interval, 0.449 to 1.15, passed 1 and made it
        # "Improved"; the binomial test says p = 0.087. Wilson: 0.376 to 0.964.
        (0.8, 5, 0.4, "flat"),
        # 0 of 20: the Wald interval had no width, so no evidence; Wilson 0 to 0.161
        # (the binomial test against 0.3: p = 0.0011).
        (0.0, 20, 0.3, "worse"),
    ],
)
def test_an_ml_metric_s_production_row_is_judged_by_the_interval_its_chart_draws(
    value: float, n: int, baseline: float, expected: str
) -> None:
    """Precision in the top decile, 0.18 → 0.26 on 20,000 subscribers, its chart's 95%
    interval 0.254 to 0.266: its status read "Did not move" beside that chart, since only
    a `lower` and `upper` the row gives counted as its interval (visual review). The
    interval of a proportion with `n` is Wilson's score interval, within 0 and 1."""
    body = charter(ml_metrics=[ml_metric(baseline={"value": baseline})])
    found = analyse(body, [row(D1, "prec", value, n=n)]).metric("prec")
    assert found is not None and found.status == expected
    low, high = proportion_confint(round(value * n), n, method="wilson")  # statsmodels
    assert found.move_interval == pytest.approx((low - baseline, high - baseline), abs=1e-9)


def test_a_score_with_n_and_std_is_judged_by_its_t_interval() -> None:
    # A score of 5.3 from 400 with std 1: 5.3 ± t(399)·1/20 = 5.3 ± 0.0983, above 5.
    metric = ml_metric("score", unit="score", baseline={"value": 5.0}, target={"value": 6.0})
    body = charter(ml_metrics=[metric])
    found = analyse(body, [row(D1, "score", 5.3, n=400, std=1.0)]).metric("score")
    assert found is not None and found.status == "improved"
    assert found.move_interval == pytest.approx((0.2017, 0.3983), abs=1e-4)


@pytest.mark.parametrize("mde", [None, 1.0])
def test_a_business_metric_s_n_is_no_interval_against_the_baseline(mde: float | None) -> None:
    """10.3 % of 50,000 against a baseline of 10 %: the sampling interval (10.03 to 10.57)
    leaves out how the metric drifts between the baseline's time and now; taken as
    evidence it made the move "improved" and the charter "Business impact", also where
    the plan's minimum detectable effect is 1 point (review). The row's own `lower` and
    `upper`, or the minimum detectable effect, judge it."""
    extra = {"mde": {"metric": "conv", "absolute": mde}} if mde is not None else {}
    body = charter(method="before_after", business_metrics=[business(target=15.0)], **extra)
    view = analyse(body, [row(D1, "conv", 10.3, n=50000)])
    conv = view.metric("conv")
    assert conv is not None and conv.status == "flat" and conv.move_interval is None


@pytest.mark.parametrize(("arms", "control", "expected"), [
    (("treatment",), False, "improved"),  # how often agents take a suggestion only one arm sees
    (("treatment",), True, "flat"),  # beside a control arm the lift decides, and there is none
    (("legacy", "ranker"), False, "flat"),  # which arm is the model's is not known
])  # fmt: skip
def test_an_ml_metric_measured_in_one_arm_only_is_judged_by_its_chart_s_interval(
    arms: tuple[str, ...], control: bool, expected: str
) -> None:
    """Suggestion acceptance, 0.45 → 0.559 on 170 chats of the treatment arm (its
    interval 0.484 to 0.634), read "Did not move"."""
    values = {"treatment": 0.8, "legacy": 0.75, "ranker": 0.69}  # baseline 0.7
    rows = [row(D1, "prec", values[arm], arm, n=50000) for arm in arms]
    if control:
        rows.insert(0, row("2026-01-01", "prec", 0.7, "control", n=1000))
    found = analyse(charter(ml_metrics=[ml_metric()]), rows).metric("prec")
    assert found is not None and found.status == expected


@pytest.mark.parametrize(("mde", "expected"), [(None, "flat"), (0.5, "flat"), (0.05, "improved")])
def test_a_zero_width_interval_measures_no_noise_and_proves_nothing(
    mde: float | None, expected: str
) -> None:
    # lower = upper = value: the move of 0.1 against the baseline was "improved" however
    # small against the MDE. Without a measure of noise the MDE rule decides.
    extra = {"mde": {"metric": "conv", "absolute": mde}} if mde is not None else {}
    body = charter(method="before_after", business_metrics=[business(target=15.0)], **extra)
    view = analyse(body, [row(D1, "conv", 10.1, lower=10.1, upper=10.1)])
    conv = view.metric("conv")
    assert conv is not None and conv.move_interval is None
    assert conv.status == expected


def test_arms_with_no_spread_have_no_lift() -> None:
    # Both standard deviations 0: a difference of 0.01 was a significant lift (p = 0).
    body = charter(business_metrics=[business("score", unit="score", baseline=5.0, target=6.0)])
    rows = ab(D1, "score", 5.0, 5.01, n=400, std=0.0)
    score = analyse(body, rows).metric("score")
    assert score is not None and score.lift is None and not score.lifts
    assert score.status == "flat"


# --- missing n ---------------------------------------------------------------------------


def test_missing_n_falls_back_to_intervals() -> None:
    # A % metric without n cannot use the two-proportion test; the arms' intervals are used.
    body = charter(business_metrics=[business(target=15.0)])
    rows = [
        row(D1, "conv", 10.0, "control", lower=9.5, upper=10.5),
        row(D1, "conv", 11.2, "treatment", lower=10.7, upper=11.7),
    ]
    view = analyse(body, rows)
    conv = view.metric("conv")
    assert conv is not None and conv.lift is not None
    assert conv.lift.lift.method == "intervals"
    assert conv.status == "improved"


def test_missing_n_for_one_arm_falls_back_to_intervals() -> None:
    body = charter(business_metrics=[business(target=15.0)])
    rows = [
        row(D1, "conv", 10.0, "control", lower=9.5, upper=10.5, n=1000),
        row(D1, "conv", 10.2, "treatment", lower=9.7, upper=10.7),
    ]
    view = analyse(body, rows)
    conv = view.metric("conv")
    assert conv is not None and conv.lift is not None
    assert conv.lift.lift.method == "intervals"
    assert conv.status == "flat"


def test_missing_n_and_intervals_falls_back_to_mde() -> None:
    body = charter(
        business_metrics=[business(target=15.0)], mde={"metric": "conv", "absolute": 0.5}
    )
    rows = [row(D1, "conv", 10.0, "control", std=3.0), row(D1, "conv", 10.6, "treatment", std=3.0)]
    view = analyse(body, rows)
    conv = view.metric("conv")
    assert conv is not None
    assert conv.lift is None and conv.lifts == ()
    assert conv.move_reference == "control"
    assert conv.status == "improved"


@pytest.mark.parametrize(
    ("control", "treatment"),
    [
        ({"n": 1, "std": 100.0}, {"n": 1, "std": 100.0}),  # arms of one: no lift
        ({"lower": 0.0, "upper": 21.0}, {"n": 5000, "std": 100.0}),  # an interval, a std
        ({}, {"n": 1, "std": 100.0}),  # the treatment's noise, an arm of one
    ],
    ids=["n1-both", "interval-and-std", "n1-treatment"],
)
def test_a_measure_of_noise_that_makes_no_lift_leaves_the_move_no_evidence(
    control: dict[str, float], treatment: dict[str, float]
) -> None:
    """`control 10` against `treatment 11` with `std` 100: at n = 2 the lift's interval
    spans 0 (`flat`); at n = 1 no lift is made, and the move of the minimum detectable
    effect read `improved` (Business impact): less data gave a better verdict. The plan's
    effect judges arms that say nothing of their noise; these say it, unused."""
    metric = business(target=15.0, unit="hours")  # not a proportion: `n` alone says nothing
    body = charter(business_metrics=[metric], mde={"metric": "conv", "absolute": 0.5})
    rows = [
        row(D1, "conv", 10.0, "control", **control),
        row(D1, "conv", 11.0, "treatment", **treatment),
    ]
    view = analyse(body, rows)
    conv = view.metric("conv")
    assert conv is not None and conv.lift is None
    assert conv.move_reference == "control" and conv.move == pytest.approx(1.0)
    assert conv.status == "flat"
    assert view.verdict == "no-impact"
    two = [
        row(D1, "conv", 10.0, "control", n=2, std=100.0),
        row(D1, "conv", 11.0, "treatment", n=2, std=100.0),
    ]
    assert analyse(body, two).metric("conv").status == "flat"  # type: ignore[union-attr]


# ============================================================== latest value and progress


def test_production_row_wins_over_treatment_on_same_date() -> None:
    rows = [*ab(D1, "conv", 10.0, 10.5, n=1000), row(D1, "conv", 10.8, n=5000)]
    view = analyse(charter(business_metrics=[business(target=15.0)]), rows)
    conv = view.metric("conv")
    assert conv is not None and conv.latest is not None
    assert conv.latest.row.variant is None and conv.latest.row.value == 10.8


def test_latest_treatment_row_after_last_pair() -> None:
    rows = [*ab(D1, "conv", 10.0, 10.5, n=1000), row(D2, "conv", 10.7, "treatment", n=1000)]
    view = analyse(charter(business_metrics=[business(target=15.0)]), rows)
    conv = view.metric("conv")
    assert conv is not None and conv.latest is not None
    assert conv.latest.row.value == 10.7
    assert conv.progress == pytest.approx((10.7 - 10.0) / (15.0 - 10.0))


def test_the_latest_value_comes_from_the_compared_arm_not_another_variant() -> None:
    # A third arm on the newest date used to give the latest value when its name sorted
    # after `treatment` (`zz-pilot` met the target while the lift said nothing moved).
    rows = [
        *ab(D1, "conv", 10.0, 10.1, n=1000),
        row(D1, "conv", 12.5, "zz-pilot", n=50),
        row(D2, "conv", 12.6, "zz-pilot", n=50),
    ]
    view = analyse(charter(business_metrics=[business(target=12.0)]), rows)
    conv = view.metric("conv")
    assert conv is not None and conv.latest is not None
    assert (conv.latest.row.variant, conv.latest.row.value) == ("treatment", 10.1)
    assert conv.met is False and conv.status != "met" and view.verdict != "target-met"


@pytest.mark.parametrize("target", [25.0, 18.5])
def test_a_target_on_the_wrong_side_of_the_baseline_is_never_met(target: float) -> None:
    # Target 25 on a lower-is-better metric with baseline 18.5 is met by any value under
    # 25: the page said "Target met" though nothing moved (and MC106 can be disabled).
    body = charter(
        business_metrics=[
            business("ttr", unit="hours", direction="decrease", baseline=18.5, target=target)
        ]
    )
    view = analyse(body, [row(D1, "ttr", 18.4)])
    ttr = view.metric("ttr")
    assert ttr is not None and ttr.met is False and ttr.status == "flat"
    assert view.verdict == "no-impact"
    # Nor is progress measured: 18.4 read "-1.5% of the way" to 25, a move the right way
    # shown as one the wrong way (and none to 18.5, a gap of 0).
    assert ttr.progress is None


def _after_the_test(later: float, on: str = D3, cadence: str = "", **fields: Any) -> Any:
    """A decrease metric (baseline 18.5, MDE 1 h) whose A/B test showed a significant gain
    of 1.6 h on D1, then a production value `later` on `on` (D3, two weekly cadences
    on); `cadence` and `fields` (the status) replace the charter's."""
    body = charter(
        business_metrics=[
            business("ttr", unit="hours", direction="decrease", baseline=18.5, target=15.0)
        ],
        mde={"metric": "ttr", "absolute": 1.0},
    )
    body.update(fields)
    if cadence:
        body["measurement"]["cadence"] = cadence
    rows = [
        row(D1, "ttr", 18.6, "control", n=3000, std=13.7),
        row(D1, "ttr", 17.0, "treatment", n=3000, std=13.6),
        row(on, "ttr", later),
    ]
    return analyse(body, rows)


def test_a_later_value_back_past_the_baseline_overrules_the_lift() -> None:
    # 22 h in production after a test that cut 1.6 h: the page said "improved: 22 hours
    # (-1.6 hours vs control ...)". It is judged as it stands now: 3.5 h worse than the
    # baseline, beyond the MDE.
    view = _after_the_test(22.0)
    ttr = view.metric("ttr")
    assert ttr is not None and ttr.lift is not None  # still shown, with its date
    assert (ttr.status, ttr.move_reference, ttr.move) == ("worse", "baseline", pytest.approx(-3.5))
    assert view.verdict == "no-impact"
    assert evidence(view).endswith(f"{ttr.name} +3.5 hours vs baseline.")


def test_a_later_value_still_better_than_the_baseline_keeps_the_lift_dated() -> None:
    view = _after_the_test(17.2)
    ttr = view.metric("ttr")
    assert ttr is not None and ttr.status == "improved" and view.verdict == "business-impact"
    assert f"(−1.60 hours vs control on {D1}, 95% CI" in evidence(view)


def test_a_later_row_of_the_arm_alone_does_not_overrule_the_lift() -> None:
    # A treatment row whose control row is not in yet is the running experiment, not a
    # production value after it: the significant loss on D1 still decides.
    body = charter(business_metrics=[business(baseline=10.0, target=15.0)])
    rows = [
        row(D1, "conv", 12.0, "control", n=20000),
        row(D1, "conv", 11.0, "treatment", n=20000),
        row(D2, "conv", 11.1, "treatment", n=20000),
    ]
    conv = analyse(body, rows).metric("conv")
    assert conv is not None and conv.status == "worse" and conv.move_reference == "control"


@pytest.mark.parametrize(
    ("status", "overruled"),
    [("proposed", False), ("baseline", False), ("experiment", False), ("live", True),
     ("paused", True), ("retired", True)],
)  # fmt: skip
def test_a_production_value_overrules_the_lift_only_after_the_rollout(
    status: str, overruled: bool
) -> None:
    # Before the rollout production is the world without the model: a value back at the
    # baseline beside a running test says nothing of the model (and, recorded daily
    # between weekly pairs, switched the status at every row), as for guardrails.
    view = _after_the_test(22.0, status=status)
    ttr = view.metric("ttr")
    assert ttr is not None
    assert (ttr.status, ttr.move_reference) == (
        ("worse", "baseline") if overruled else ("improved", "control")
    )
    assert view.verdict == ("no-impact" if overruled else "business-impact")


@pytest.mark.parametrize(("days", "overruled"), [(1, False), (6, False), (7, True), (30, True)])
def test_a_holdout_that_goes_on_keeps_the_lift_until_a_pair_is_a_cadence_late(
    days: int, overruled: bool
) -> None:
    # Live, with a holdout still reporting weekly: a production value days after the
    # last pair is between two pairs, and the lift judges until a pair is overdue.
    later = (date.fromisoformat(D1) + timedelta(days=days)).isoformat()
    ttr = _after_the_test(22.0, on=later).metric("ttr")
    assert ttr is not None
    assert ttr.move_reference == ("baseline" if overruled else "control")
    assert ttr.status == ("worse" if overruled else "improved")


@pytest.mark.parametrize(
    ("cadence", "days", "overruled"),
    [("monthly", 27, False), ("monthly", 28, True), ("when the data team has time", 1, True)],
)
def test_a_lift_is_overruled_after_the_shortest_its_cadence_can_be(
    cadence: str, days: int, overruled: bool
) -> None:
    later = (date.fromisoformat(D1) + timedelta(days=days)).isoformat()
    ttr = _after_the_test(22.0, on=later, cadence=cadence).metric("ttr")
    assert ttr is not None
    assert (ttr.status, ttr.move_reference) == (
        ("worse", "baseline") if overruled else ("improved", "control")
    )


@pytest.mark.parametrize("cadence", ["weekly", "bi-weekly", "biweekly"])
def test_a_cadence_not_read_never_makes_a_worse_model_met(cadence: str) -> None:
    # Live; the last pair showed the model 0.5 pp worse (significantly), and production
    # the next day was at the target. With `bi-weekly` (not read) the lift was dropped as
    # if the experiment were over a day after the pair, while the pair was judged without
    # it: "Target met". Read or not, the model that made things worse is `worse`.
    body = charter(mde={"metric": "conv", "absolute": 1.0})
    body["measurement"]["cadence"] = cadence
    rows = [*ab(D1, "conv", 13.0, 12.5, n=100_000), row("2026-03-02", "conv", 12.6)]
    view = analyse(body, rows)
    conv = view.metric("conv")
    assert conv is not None and conv.status == "worse"
    assert view.verdict == "no-impact"


def test_a_cadence_not_read_is_judged_both_ways_and_keeps_the_worse() -> None:
    # The other way round: a significant gain, then production back past the baseline
    # a day later. Read as over, the latest value overrules the lift; read as going on,
    # the lift would hide it. Kept: the worse.
    ttr = _after_the_test(22.0, on="2026-03-02", cadence="bi-weekly").metric("ttr")
    assert ttr is not None
    assert (ttr.status, ttr.move_reference) == ("worse", "baseline")


def test_the_target_is_not_met_when_the_arm_missed_it_at_a_pair_as_bad() -> None:
    # The pair showed the model worse with the arm (10.5) below the target (12); a week
    # on, the arm alone at 12.5. Both readings are `worse`, and the target counted as
    # met (the API's target_met) since only a strictly worse pair checked the arm there.
    rows = [*ab(D1, "conv", 11.0, 10.5, n=100_000), row(D2, "conv", 12.5, "treatment", n=1)]
    conv = analyse(charter(), rows).metric("conv")
    assert conv is not None and conv.status == "worse" and conv.met is False
    # An ML metric so: the charter was "ML metric only", while a flat pair gave "No impact".
    body = charter(ml_metrics=[ml_metric()])
    rows = [
        *ab(D1, "conv", 10.0, 10.1, n=100_000),
        *ab(D2, "conv", 10.0, 10.1, n=100_000),
        *ab(D1, "prec", 0.88, 0.85, n=10_000),
        row(D2, "prec", 0.91, "treatment", n=10_000),
    ]
    view = analyse(body, rows)
    prec = view.metric("prec")
    assert prec is not None and prec.status == "worse" and prec.met is False
    assert view.verdict == "no-impact"


@pytest.mark.parametrize(("status", "met"), [("experiment", False), ("proposed", False),
                                             ("live", True)])  # fmt: skip
def test_before_the_rollout_production_does_not_meet_the_target(status: str, met: bool) -> None:
    # The test showed the model 1.3 h worse; production, the world without it, was at
    # 14.9 h the next day: "Target met" for a model that made things worse. Rolled out,
    # production is the world with the model, and a target it reaches is met.
    body = charter(
        status=status,
        business_metrics=[
            business("ttr", unit="hours", direction="decrease", baseline=18.5, target=15.0)
        ],
    )
    rows = [
        row(D1, "ttr", 18.6, "control", n=3000, std=13.7),
        row(D1, "ttr", 19.9, "treatment", n=3000, std=13.6),
        row(D2, "ttr", 14.9),
    ]
    view = analyse(body, rows)
    ttr = view.metric("ttr")
    assert ttr is not None and ttr.latest is not None and ttr.met is met
    assert ttr.latest.row.variant == (None if met else "treatment")
    assert (ttr.status, view.verdict) == (("met", "target-met") if met else ("worse", "no-impact"))


def test_before_the_rollout_a_guardrail_is_judged_on_its_latest_value() -> None:
    # No pair (control on D1, treatment on D2), production at 120 ms on D3: the page
    # showed the treatment's 101 ms as the latest value yet judged the production row.
    rows = [row(D1, "lat", 100.0, "control"), row(D2, "lat", 101.0, "treatment"),
            row(D3, "lat", 120.0)]  # fmt: skip
    _, lat = _lat(rows, status="experiment", tolerance=5.0, baseline=100.0)
    assert lat.latest is not None and lat.latest.row.value == 101.0
    assert (lat.move, lat.move_reference, lat.breached) == (pytest.approx(-1.0), "baseline", False)


def test_a_later_pair_without_a_lift_is_not_judged_by_an_older_lift() -> None:
    # A weekly pair without std on D2 has no lift: the metric has none (its lift is the
    # newest pair's), and the D1 lift, now history, judges nothing. A bad week reported
    # without its spread cannot shelter behind an older good one.
    body = charter(
        status="experiment",
        business_metrics=[
            business("ttr", unit="hours", direction="decrease", baseline=18.5, target=15.0)
        ],
        mde={"metric": "ttr", "absolute": 1.0},
    )
    rows = [
        row(D1, "ttr", 18.6, "control", n=3000, std=13.7),
        row(D1, "ttr", 17.0, "treatment", n=3000, std=13.6),
        *ab(D2, "ttr", 18.6, 17.1),
        row("2026-03-10", "ttr", 22.0),
    ]
    ttr = analyse(body, rows).metric("ttr")
    assert ttr is not None and ttr.lift is None and [str(x.date) for x in ttr.lifts] == [D1]
    assert (ttr.status, ttr.move, ttr.move_reference) == ("improved", pytest.approx(1.5), "control")
    rows[-3:-1] = ab(D2, "ttr", 15.5, 18.4)  # 2.9 hours worse than control
    view = analyse(body, rows)
    ttr = view.metric("ttr")
    assert ttr is not None and ttr.lift is None
    assert (ttr.status, ttr.move, ttr.move_reference) == ("worse", pytest.approx(-2.9), "control")
    assert view.verdict == "no-impact"


def test_without_a_control_arm_the_newest_variant_is_the_latest() -> None:
    rows = [
        row(D1, "conv", 11.0, "model-v2"),
        row(D2, "conv", 12.0, "model-v2"),
        row(D3, "conv", 16.0, "model-v3"),
    ]
    view = analyse(charter(business_metrics=[business(target=15.0)]), rows)
    conv = view.metric("conv")
    assert conv is not None and conv.latest is not None
    assert (conv.latest.row.variant, conv.latest.row.value) == ("model-v3", 16.0)
    assert conv.status == "met"


def test_a_guardrail_move_is_told_with_its_lift_interval() -> None:
    _, lat = _lat(ab(D1, "lat", 100.0, 106.0, n=4000, std=20.0), tolerance=5.0, baseline=50.0)
    assert lat.lift is not None
    assert "vs control, 95% CI" in move_phrase(lat)


def test_progress_decrease_direction() -> None:
    body = charter(
        method="before_after",
        business_metrics=[
            business("ttfr", unit="hours", direction="decrease", baseline=6.0, target=4.0)
        ],
    )
    view = analyse(body, [row(D1, "ttfr", 5.0)])
    ttfr = view.metric("ttfr")
    assert ttfr is not None and ttfr.progress == pytest.approx(0.5)


# ============================================================== lift dates and history


def test_lift_is_from_latest_date_with_both_arms_and_history_is_kept() -> None:
    rows = [
        *ab(D1, "conv", 10.0, 10.4, n=10_000),
        *ab(D2, "conv", 10.0, 10.9, n=10_000),
        row(D3, "conv", 11.5, "treatment", n=10_000),  # no control on D3
    ]
    view = analyse(charter(business_metrics=[business(target=15.0)]), rows)
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


def test_lift_with_control_only_on_latest_date() -> None:
    rows = [*ab(D1, "conv", 10.0, 10.9, n=10_000), row(D2, "conv", 10.1, "control", n=10_000)]
    view = analyse(charter(business_metrics=[business(target=15.0)]), rows)
    conv = view.metric("conv")
    assert conv is not None and conv.lift is not None
    assert conv.lift.date == date(2026, 3, 1)
    assert len(conv.lifts) == 1


def test_lift_prefers_arm_named_treatment() -> None:
    rows = [
        row(D1, "conv", 10.0, "control", n=10_000),
        row(D1, "conv", 10.5, "alt", n=10_000),
        row(D1, "conv", 11.0, "treatment", n=10_000),
    ]
    view = analyse(charter(business_metrics=[business(target=15.0)]), rows)
    conv = view.metric("conv")
    assert conv is not None and conv.lift is not None
    assert conv.lift.treatment == "treatment"
    assert conv.lift.lift.absolute == pytest.approx(1.0)


def test_lift_without_uncertainty_is_absent() -> None:
    view = analyse(charter(), ab(D1, "conv", 10.0, 11.0))
    conv = view.metric("conv")
    assert conv is not None and conv.lift is None and conv.lifts == ()


# ============================================================== guardrails


def _lat(rows: list[dict[str, Any]], status: str = "live", **g: Any) -> Any:
    body = charter(guardrails=[guardrail(**g)], status=status)
    view = analyse(body, [row(D1, "conv", 10.5), *rows])
    lat = view.metric("lat")
    assert lat is not None and lat.kind == "guardrail"
    return view, lat


@pytest.mark.parametrize(
    ("control", "treatment", "breached"),
    [(100.0, 106.0, True), (100.0, 105.0, False), (100.0, 90.0, False)],
)
def test_guardrail_decrease_against_control(
    control: float, treatment: float, breached: bool
) -> None:
    view, lat = _lat(ab(D1, "lat", control, treatment), tolerance=5.0, baseline=50.0)
    assert lat.move_reference == "control"  # control wins over the baseline
    assert lat.move == pytest.approx(control - treatment)
    assert lat.breached is breached
    assert lat.status == ("worse" if breached else "flat")
    assert [g.id for g in view.breached] == (["lat"] if breached else [])


@pytest.mark.parametrize(
    ("control", "treatment", "breached"),
    # 4.4 to 4.3 is a move of exactly the tolerance (4.3 - 4.4 is -0.10000000000000053 in
    # floating point): accepted, on the page and on the chart.
    [(4.3, 4.1, True), (4.3, 4.25, False), (4.3, 4.6, False), (4.4, 4.3, False), (4.4, 4.29, True)],
)
def test_guardrail_increase_against_control(
    control: float, treatment: float, breached: bool
) -> None:
    _, lat = _lat(
        ab(D1, "lat", control, treatment),
        unit="score",
        direction="increase",
        tolerance=0.1,
    )
    assert lat.move_reference == "control"
    assert lat.breached is breached
    tolerance = tolerance_of(lat)
    assert tolerance is not None and bool(tolerance.breaches) is breached


@pytest.mark.parametrize(
    ("control", "status", "verdict"),
    [(None, "flat", "no-impact"), (14.0, "worse", "no-impact"), (11.0, "met", "target-met")],
)
def test_a_week_without_its_control_row_is_no_better_than_the_newest_pair(
    control: float | None, status: str, verdict: str
) -> None:
    # The treatment at its target (12) on D3, its control row left out: the metric was
    # met on that value alone, though on D3 control was ahead of it (14, worse) or the
    # newest pair (D2) showed no move. It keeps the worse of D3's and D2's judgements
    # until D3's control row is in.
    n = {"n": 5000}
    rows = [*ab(D1, "conv", 10.0, 10.1, **n), *ab(D2, "conv", 10.0, 10.2, **n)]
    rows.append(row(D3, "conv", 12.0, "treatment", **n))
    if control is not None:
        rows.append(row(D3, "conv", control, "control", **n))
    conv = analyse(charter(), rows).metric("conv")
    assert conv is not None and conv.latest is not None
    assert conv.latest.row.value == 12.0  # the value is as it is ...
    assert conv.met is (control is not None)  # ... but met only where its pair says so
    assert conv.status == status
    assert analyse(charter(), rows).verdict == verdict


@pytest.mark.parametrize(
    ("day", "status", "cadence"),
    [
        ("2026-03-11", "worse", "weekly"),
        ("2026-03-15", "met", "weekly"),
        # A cadence the generator does not read ends no experiment (second review: a
        # day's default made production a day after the pair judge alone).
        ("2026-03-09", "worse", "weekly (Mondays)"),
        ("2026-04-30", "worse", "weekly (Mondays)"),
    ],
)
def test_a_production_row_beside_the_experiment_is_no_better_than_the_newest_pair(
    day: str, status: str, cadence: str
) -> None:
    # Rolled out, the treatment at its target (12) but two points behind control on D2:
    # `worse`. A production row of 12 three days later made it `met` (and the charter
    # "Target met"), though the experiment was not over; a cadence (a week) after the
    # pair, production is the metric as it stands, and judges it alone.
    # No lift (no n): the move against control of at least the MDE is the evidence.
    body = charter(mde={"metric": "conv", "absolute": 1.0})
    body["measurement"]["cadence"] = cadence
    rows = [*ab(D1, "conv", 10.0, 10.1), *ab(D2, "conv", 14.0, 12.0)]
    assert analyse(body, rows).metric("conv").status == "worse"  # type: ignore[union-attr]
    conv = analyse(body, [*rows, row(day, "conv", 12.0)]).metric("conv")
    assert conv is not None and conv.latest is not None and conv.latest.row.variant is None
    assert conv.status == status
    # Judged at the pair, the move is dated by it (it read "-2 pp vs control" beside the
    # later week's value: second review).
    if status == "worse":
        assert move_phrase(conv) == "\u22122 pp vs control on 2026-03-08"


def test_an_unpaired_row_at_its_target_does_not_make_an_ml_metric_met() -> None:
    # Second review: precision 0.85 beside control's 0.95 on D2, then 0.92 alone on D3:
    # the metric's status was `flat`, yet its target counted as met, and the charter's
    # verdict was "ML metric only".
    body = charter(ml_metrics=[ml_metric("prec")])
    rows = [*ab(D1, "conv", 10.0, 10.0), *ab(D2, "conv", 10.0, 10.0)]
    rows += [*ab(D2, "prec", 0.95, 0.85), row(D3, "prec", 0.92, "treatment")]
    view = analyse(body, rows)
    prec = view.metric("prec")
    assert prec is not None and prec.latest is not None and prec.latest.row.value == 0.92
    assert (prec.status, prec.met) == ("flat", False)
    assert view.verdict == "no-impact"
    paired = analyse(body, [*rows, row(D3, "prec", 0.80, "control")])  # D3's pair: met
    assert paired.metric("prec").met is True  # type: ignore[union-attr]
    assert paired.verdict == "ml-only"


def test_guardrail_control_reference_uses_latest_paired_date() -> None:
    rows = [
        *ab(D1, "lat", 100.0, 120.0),  # breached on D1 ...
        *ab(D2, "lat", 100.0, 101.0),  # ... but fine on the latest paired date
        row(D3, "lat", 99.0, "control"),  # no treatment on D3: not a pair
    ]
    _, lat = _lat(rows, tolerance=5.0)
    assert lat.move == pytest.approx(-1.0)
    assert lat.breached is False


@pytest.mark.parametrize(
    ("after", "breached"),
    # Within tolerance beside control on D1 and D2; rolled out, production drifts on D3.
    [(3.10, True), (4.21, False), (4.20, True), (4.50, False)],
)
def test_a_guardrail_after_its_experiment_is_judged_on_production_against_the_baseline(
    after: float, breached: bool
) -> None:
    rows = [*ab(D1, "lat", 4.30, 4.28), *ab(D2, "lat", 4.31, 4.30), row(D3, "lat", after)]
    _, lat = _lat(rows, unit="score", direction="increase", tolerance=0.1, baseline=4.31)
    assert lat.move_reference == "baseline"
    assert lat.move == pytest.approx(after - 4.31)
    assert lat.breached is breached
    tolerance = tolerance_of(lat)
    d2, d3 = date.fromisoformat(D2), date.fromisoformat(D3)
    assert tolerance is not None and tolerance.rollout == d2
    assert tolerance.label == "Tolerance (control, then baseline, \u2212 0.1 score)"
    # The data table's limit: control's on the paired dates, the baseline's after them.
    assert tolerance.limit_for("treatment", d2) == pytest.approx(4.21)
    assert tolerance.limit_for(None, d3) == pytest.approx(4.21)
    assert tolerance.limit_for(None, d2) is None  # production beside the experiment
    assert tolerance.limit_for("control", d3) is None
    # A row of the arm after its last pair is judged too (against the baseline).
    assert tolerance.limit_for("treatment", d3) == pytest.approx(4.21)
    assert tolerance.breached_on(None, d3) is breached
    assert [b.day for b in tolerance.breaches] == ([d3] if breached else [])


def test_an_older_production_row_does_not_hide_a_newer_breach_of_the_arm() -> None:
    # Rolled out (weekly), production within the tolerance two weeks after the pair,
    # then the arm alone at 130 ms a week later: the chart marked it beyond the limit,
    # while the guardrail was judged on the older production row, not breached.
    d3, d4 = "2026-03-15", "2026-03-22"
    rows = [*ab(D1, "lat", 100.0, 101.0), row(d3, "lat", 101.0), row(d4, "lat", 130.0, "treatment")]
    _, lat = _lat(rows, tolerance=5.0, baseline=100.0)
    assert (lat.move_reference, lat.move, lat.breached) == ("baseline", -30.0, True)
    assert lat.rollout == date.fromisoformat(D1)  # production after the pair is judged too
    tolerance = tolerance_of(lat)
    assert tolerance is not None
    assert tolerance.limit_for("treatment", date.fromisoformat(d4)) == 105.0  # the table
    assert [b.day.isoformat() for b in tolerance.breaches] == [d4]
    # Production on the arm's date is judged beside it, and the worse decides (second
    # review: the breach hid behind production of the same day); production after it is
    # the guardrail as it stands.
    _, lat = _lat([*rows, row(d4, "lat", 101.0)], tolerance=5.0, baseline=100.0)
    assert (lat.move, lat.breached) == (-30.0, True)
    _, lat = _lat([*rows, row("2026-03-29", "lat", 101.0)], tolerance=5.0, baseline=100.0)
    assert (lat.move, lat.breached) == (-1.0, False)
    # Nor does an arm row within the limit clear production's breach of the day before.
    rows = [*ab(D1, "lat", 100.0, 102.0), row(d3, "lat", 130.0), row(d4, "lat", 101.0, "treatment")]
    _, lat = _lat(rows, tolerance=5.0, baseline=100.0)
    assert (lat.move_reference, lat.move, lat.breached) == ("baseline", -30.0, True)


@pytest.mark.parametrize(("cadence", "breached"), [("weekly", True), ("bi-weekly", True)])
def test_a_guardrail_under_a_cadence_not_read_is_judged_both_ways(
    cadence: str, breached: bool
) -> None:
    # 20 ms worse beside control; production at the baseline three days on. Weekly, the
    # experiment is not over and the pair decides; read as over a day after the pair,
    # the unread `bi-weekly` cleared the breach (second review).
    body = charter(guardrails=[guardrail(tolerance=10.0, baseline=100.0)])
    body["measurement"]["cadence"] = cadence
    rows = [row(D1, "conv", 10.5), *ab(D1, "lat", 100.0, 120.0), row("2026-03-04", "lat", 100.0)]
    lat = analyse(body, rows).metric("lat")
    assert lat is not None and lat.breached is breached and lat.move == -20.0


def test_a_breach_in_the_experiment_is_cleared_by_production_back_within_the_baseline() -> None:
    rows = [*ab(D1, "lat", 100.0, 120.0), row(D2, "lat", 102.0)]
    _, lat = _lat(rows, tolerance=5.0, baseline=100.0)
    assert (lat.move_reference, lat.breached) == ("baseline", False)
    tolerance = tolerance_of(lat)
    assert tolerance is not None
    assert [b.day for b in tolerance.breaches] == [date.fromisoformat(D1)]


def test_a_guardrail_without_a_baseline_stays_judged_against_control() -> None:
    rows = [*ab(D1, "lat", 100.0, 101.0), row(D2, "lat", 300.0)]
    _, lat = _lat(rows, tolerance=5.0)
    assert (lat.move_reference, lat.breached) == ("control", False)
    tolerance = tolerance_of(lat)
    assert tolerance is not None and tolerance.rollout is None


@pytest.mark.parametrize(
    ("status", "judged"),
    [("proposed", False), ("baseline", False), ("experiment", False), ("live", True),
     ("paused", True), ("retired", True)],
)  # fmt: skip
def test_production_rows_judge_a_guardrail_only_past_the_experiment(
    status: str, judged: bool
) -> None:
    # Production recorded beside a running experiment switched the reference at every
    # row (control on a pair's day, the baseline the day after) and the breach with it.
    rows = [*ab(D1, "lat", 110.0, 111.0), row(D2, "lat", 110.5)]
    _, lat = _lat(rows, status=status, tolerance=5.0, baseline=100.0)
    assert (lat.move_reference, lat.breached) == (
        ("baseline", True) if judged else ("control", False)
    )
    assert lat.rollout == (date.fromisoformat(D1) if judged else None)
    tolerance = tolerance_of(lat)
    assert tolerance is not None and tolerance.rollout == lat.rollout
    assert (tolerance.limit_for(None, date.fromisoformat(D2)) is not None) is judged


@pytest.mark.parametrize(("days", "judged"), [(1, False), (6, False), (7, True), (30, True)])
def test_a_holdout_that_goes_on_keeps_control_until_a_pair_is_a_cadence_late(
    days: int, judged: bool
) -> None:
    # Live, with a holdout still reporting weekly (the cadence): a production row days
    # after the last pair is between two pairs, not after the experiment.
    later = (date.fromisoformat(D2) + timedelta(days=days)).isoformat()
    rows = [*ab(D1, "lat", 110.0, 111.0), *ab(D2, "lat", 110.0, 111.0), row(later, "lat", 110.5)]
    _, lat = _lat(rows, tolerance=5.0, baseline=100.0)
    assert lat.move_reference == ("baseline" if judged else "control")
    assert lat.breached is judged


@pytest.mark.parametrize(
    ("cadence", "days", "judged"),
    [("monthly", 27, False), ("monthly", 28, True), ("every 2 weeks", 13, False),
     ("every 2 weeks", 14, True), ("yearly", 365, True), ("every 12 months", 364, False),
     ("every 12 months", 365, True), ("quarterly", 88, False), ("quarterly", 89, True),
     ("every 3 months", 88, False), ("every 3 months", 89, True),
     ("when the data team has time", 1, True)],
)  # fmt: skip
def test_a_pair_is_due_after_the_shortest_the_cadence_can_be(
    cadence: str, days: int, judged: bool
) -> None:
    # A monthly pair on 1 February is due by 1 March, 28 days on: the longest month (31)
    # left a production row on 1 March unjudged, and a yearly one a year on.
    body = charter(guardrails=[guardrail(tolerance=5.0, baseline=100.0)])
    body["measurement"]["cadence"] = cadence
    later = (date.fromisoformat(D1) + timedelta(days=days)).isoformat()
    rows = [row(D1, "conv", 10.5), *ab(D1, "lat", 110.0, 111.0), row(later, "lat", 200.0)]
    lat = analyse(body, rows).metric("lat")
    assert lat is not None and lat.move_reference == ("baseline" if judged else "control")


def test_a_guardrail_judged_after_the_rollout_is_told_against_the_baseline() -> None:
    # Its lift (+1 vs control on D1) is not what it is judged by: `charters diff` quoted it.
    view, lat = _lat([*ab(D1, "lat", 98.0, 99.0, n=100, std=2.0), row(D2, "lat", 120.0)],
                     tolerance=5.0, baseline=100.0)  # fmt: skip
    assert lat.lift is not None and lat.breached
    assert move_phrase(lat) == "+20 ms vs baseline"
    assert "Guardrail breached: Guardrail lat" in evidence(view)


@pytest.mark.parametrize(
    ("baseline", "reference", "move"),
    [(95.0, "baseline", -205.0), (None, "control", -200.0)],
)
def test_a_treatment_row_after_the_last_pair_is_judged_without_its_control_row(
    baseline: float | None, reference: str, move: float
) -> None:
    # A bad week's control row left out (or not in yet) hid the breach behind the week
    # before's pair: the arm's newest row is judged against the baseline, else against
    # control's value of the last pair, and the chart marks it.
    rows = [*ab(D1, "lat", 100.0, 101.0), row(D2, "lat", 300.0, "treatment")]
    _, lat = _lat(rows, tolerance=5.0, baseline=baseline)
    assert (lat.move_reference, lat.breached) == (reference, True)
    assert lat.move == pytest.approx(move)
    tolerance = tolerance_of(lat)
    assert tolerance is not None
    assert [b.day for b in tolerance.breaches] == [date.fromisoformat(D2)]
    assert tolerance.limit_for("treatment", date.fromisoformat(D2)) == pytest.approx(
        (baseline or 100.0) + 5.0
    )
    # The legend says what the limit follows: control's pair, then the baseline after it.
    words = "control, then baseline," if baseline is not None else "control"
    assert tolerance.label == f"Tolerance ({words} + 5 ms)"
    within = [*ab(D1, "lat", 100.0, 101.0), row(D2, "lat", 99.0, "treatment")]
    _, lat = _lat(within, tolerance=5.0, baseline=baseline)
    assert lat.breached is False


@pytest.mark.parametrize(("value", "breached"), [(106.0, True), (105.0, False), (95.0, False)])
def test_guardrail_decrease_against_baseline(value: float, breached: bool) -> None:
    _, lat = _lat([row(D1, "lat", value)], tolerance=5.0, baseline=100.0)
    assert lat.move_reference == "baseline"
    assert lat.breached is breached


@pytest.mark.parametrize(("value", "breached"), [(0.85, True), (0.95, False), (0.99, False)])
def test_guardrail_increase_against_baseline(value: float, breached: bool) -> None:
    _, lat = _lat(
        [row(D1, "lat", value)],
        unit="ratio",
        direction="increase",
        tolerance=0.1,
        baseline=1.0,
    )
    assert lat.move_reference == "baseline"
    assert lat.breached is breached


@pytest.mark.parametrize(("last", "breached"), [(107.0, True), (104.0, False)])
def test_guardrail_decrease_against_first_result(last: float, breached: bool) -> None:
    rows = [row(D1, "lat", 100.0), row(D2, "lat", 103.0), row(D3, "lat", last)]
    _, lat = _lat(rows, tolerance=5.0)
    assert lat.move_reference == "first result"
    assert lat.move == pytest.approx(100.0 - last)
    assert lat.breached is breached


@pytest.mark.parametrize(("last", "breached"), [(4.1, True), (4.25, False), (4.5, False)])
def test_guardrail_increase_against_first_result(last: float, breached: bool) -> None:
    rows = [row(D1, "lat", 4.3), row(D3, "lat", last)]
    _, lat = _lat(rows, unit="score", direction="increase", tolerance=0.1)
    assert lat.move_reference == "first result"
    assert lat.breached is breached


def test_guardrail_without_results() -> None:
    _, lat = _lat([], tolerance=5.0, baseline=100.0)
    assert lat.status == "no-results" and lat.breached is False and lat.move is None


def test_breached_guardrail_does_not_change_the_verdict() -> None:
    body = charter(business_metrics=[business(target=15.0)], guardrails=[guardrail()])
    rows = [*ab(D1, "conv", 10.0, 11.0, n=100_000), *ab(D1, "lat", 100.0, 150.0)]
    view = analyse(body, rows)
    assert view.verdict == "business-impact"
    assert [g.id for g in view.breached] == ["lat"]


# ============================================================== verdicts


def test_verdict_target_met() -> None:
    body = charter(
        business_metrics=[business(), business("aov", unit="USD", baseline=50, target=60)],
        ml_metrics=[ml_metric(drives=("conv", "aov"))],
    )
    view = analyse(body, [row(D1, "conv", 12.5), row(D1, "aov", 60.0)])
    assert view.verdict == "target-met"
    assert label(view.verdict, "verdict") == "Target met"


def test_verdict_business_impact_with_one_improved() -> None:
    body = charter(
        business_metrics=[
            business(target=15.0),
            business("aov", unit="USD", baseline=50, target=60),
        ],
    )
    rows = [*ab(D1, "conv", 10.0, 11.0, n=100_000), row(D1, "aov", 49.0)]
    view = analyse(body, rows)
    assert [b.status for b in view.by_kind("business")] == ["improved", "flat"]
    assert view.verdict == "business-impact"


def test_verdict_business_impact_with_one_met_and_one_without_results() -> None:
    body = charter(
        business_metrics=[business(), business("aov", unit="USD", baseline=50, target=60)],
    )
    view = analyse(body, [row(D1, "conv", 12.0)])
    assert [b.status for b in view.by_kind("business")] == ["met", "no-results"]
    assert view.verdict == "business-impact"


def test_verdict_ml_only() -> None:
    body = charter(business_metrics=[business(target=15.0)], ml_metrics=[ml_metric()])
    rows = [*ab(D1, "conv", 10.0, 10.1, n=2000), row(D1, "prec", 0.93, "treatment")]
    view = analyse(body, rows)
    conv, prec = view.metric("conv"), view.metric("prec")
    assert conv is not None and conv.status == "flat"
    assert prec is not None and prec.met is True
    assert view.verdict == "ml-only"
    assert label(view.verdict, "verdict") == "ML metric only"


def test_verdict_ml_only_when_driven_business_metric_has_no_results() -> None:
    body = charter(business_metrics=[business(target=15.0)], ml_metrics=[ml_metric()])
    view = analyse(body, [row(D1, "prec", 0.9)])  # exactly at target
    assert view.verdict == "ml-only"


def test_verdict_not_ml_only_when_ml_target_missed() -> None:
    body = charter(business_metrics=[business(target=15.0)], ml_metrics=[ml_metric()])
    rows = [row(D1, "conv", 10.1), row(D1, "prec", 0.89)]
    view = analyse(body, rows)
    assert view.verdict == "no-impact"


def test_verdict_no_impact() -> None:
    body = charter(
        business_metrics=[
            business(target=15.0),
            business("aov", unit="USD", baseline=50, target=60),
        ],
    )
    rows = [*ab(D1, "conv", 10.0, 9.0, n=100_000)]  # worse; aov has no results
    view = analyse(body, rows)
    assert view.verdict == "no-impact"


def test_verdict_no_business_results() -> None:
    body = charter(
        business_metrics=[business(target=15.0)],
        ml_metrics=[ml_metric()],
        guardrails=[guardrail()],
    )
    view = analyse(body, [row(D1, "prec", 0.8), row(D1, "lat", 100.0)])
    assert view.verdict == "no-business-results"


def test_verdict_no_business_results_from_guardrail_only() -> None:
    body = charter(guardrails=[guardrail()])
    view = analyse(body, [row(D1, "lat", 100.0)])
    assert view.verdict == "no-business-results"
    # It said "Only ML metrics have results" of guardrails (second review).
    assert evidence(view) == (
        "Only guardrails have results; no business metric has been measured yet."
    )
    view = analyse(body, [row(D1, "lat", 100.0), row(D1, "conv", 10.0, "control")])
    assert evidence(view) == (
        "Only guardrails have results; no business metric has a result beside its control arm yet."
    )


def test_a_control_arm_alone_is_no_result_of_the_verdict() -> None:
    # Its status is "no-results" (nothing to compare it with); the verdict read its rows
    # and said "no-impact" ("Business results exist but none improved").
    body = charter(business_metrics=[business(target=15.0)], ml_metrics=[ml_metric()])
    view = analyse(body, [row(D1, "conv", 10.0, "control")])
    assert view.metric("conv").status == "no-results"  # type: ignore[union-attr]
    assert view.verdict == "no-results"
    view = analyse(body, [row(D1, "conv", 10.0, "control"), row(D1, "prec", 0.8)])
    assert view.verdict == "no-business-results"


def test_verdict_no_results() -> None:
    body = charter(ml_metrics=[ml_metric()], guardrails=[guardrail()])
    view = analyse(body)
    assert view.verdict == "no-results"
    assert view.latest_date is None


def test_latest_and_earliest_dates_of_a_table_and_of_its_parts() -> None:
    """max_date reads the whole column at once for a whole table, and only the rows of a
    part (a metric's or a variant's) for a part; either way the same day as row by row."""
    from generator.columns import ResultTable
    from generator.diagnostics import SourceRef
    from generator.load import Result
    from generator.model import ResultRow

    days = ["2026-03-08", "2026-05-03", "2026-01-11", "2026-04-05"]
    table = ResultTable.of(
        Result(
            ResultRow.model_validate({"date": d, "metric": "x", "value": 1.0, "variant": v}),
            SourceRef("r.csv", 2 + i, 1),
        )
        for i, (d, v) in enumerate(zip(days, ["control", "treatment"] * 2, strict=True))
    )
    assert (table.max_date(), table.min_date()) == (date(2026, 5, 3), date(2026, 1, 11))
    control = table.group("variant")["control"]
    assert (control.max_date(), control.min_date()) == (date(2026, 3, 8), date(2026, 1, 11))
    treatment = table.take([1, 3])
    assert treatment.max_date() == date(2026, 5, 3)
    assert table.take([]).max_date() is None
