"""Tests for generator.stats: lifts checked against statsmodels / scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from generator.formatting import fmt_relative
from generator.stats import (
    Z_975,
    Arm,
    Lift,
    is_proportion_unit,
    lift,
    progress,
    reached,
)

TOL = 1e-6


# --------------------------------------------------------------------------- helpers


def _reference_two_proportion(
    p_c: float, n_c: int, p_t: float, n_t: int
) -> tuple[float, float, float]:
    """(ci_low, ci_high, p_value) from statsmodels, on the fraction scale: Newcombe's
    hybrid score interval (Newcombe 1998, method 10) and the pooled z-test."""
    count_c, count_t = p_c * n_c, p_t * n_t
    low, high = confint_proportions_2indep(
        count_t, n_t, count_c, n_c, method="newcomb", compare="diff"
    )
    _, p_value = proportions_ztest([count_t, count_c], [n_t, n_c])
    return float(low), float(high), float(p_value)


def _sample(mean: float, std: float, n: int, seed: int) -> np.ndarray:
    """A sample whose mean and (ddof=1) std are exactly ``mean`` and ``std``."""
    z = np.random.default_rng(seed).standard_normal(n)
    z = (z - z.mean()) / z.std(ddof=1)
    out: np.ndarray = mean + std * z
    return out


def _reference_welch(
    m_c: float, s_c: float, n_c: int, m_t: float, s_t: float, n_t: int
) -> tuple[float, float, float]:
    """(ci_low, ci_high, p_value) from statsmodels' CompareMeans and scipy."""
    x_t = _sample(m_t, s_t, n_t, seed=1)
    x_c = _sample(m_c, s_c, n_c, seed=2)
    cm = CompareMeans(DescrStatsW(x_t), DescrStatsW(x_c))
    low, high = cm.tconfint_diff(alpha=0.05, usevar="unequal")
    p_value = sps.ttest_ind_from_stats(m_t, s_t, n_t, m_c, s_c, n_c, equal_var=False).pvalue
    # Sanity: the data-based Welch p-value agrees with the from-stats one.
    _, p_data, _ = cm.ttest_ind(usevar="unequal")
    assert p_data == pytest.approx(p_value, abs=1e-9)
    return float(low), float(high), float(p_value)


# --------------------------------------------------------------------------- units


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("%", True),
        (" % ", True),
        ("ratio", True),
        ("Ratio", True),
        (" RATIO\t", True),
        ("hours", False),
        ("USD", False),
        ("percent", False),
        ("", False),
    ],
)
def test_is_proportion_unit(unit: str, expected: bool) -> None:
    assert is_proportion_unit(unit) is expected


# --------------------------------------------------------------------------- two-proportion


@pytest.mark.parametrize(
    ("v_c", "n_c", "v_t", "n_t", "unit"),
    [
        (4.1, 52000, 4.4, 51800, "%"),  # conversion rate
        (0.12, 3000, 0.13, 3000, "ratio"),
        (0.71, 4210, 0.89, 4188, "ratio"),  # large effect
        (50.0, 120, 47.5, 95, "%"),  # small arms, negative lift
        (0.3, 1000, 0.3, 1000, "Ratio"),  # no difference
        (0.5, 1001, 0.0, 999, "ratio"),  # one arm at the boundary
    ],
)
def test_two_proportion_matches_statsmodels(
    v_c: float, n_c: int, v_t: float, n_t: int, unit: str
) -> None:
    scale = 100.0 if unit == "%" else 1.0
    result = lift(Arm(v_c, n=n_c), Arm(v_t, n=n_t), unit)
    assert result is not None
    assert result.method == "two-proportion"
    low, high, p_value = _reference_two_proportion(v_c / scale, n_c, v_t / scale, n_t)
    assert result.absolute == pytest.approx(v_t - v_c, abs=1e-12)
    assert result.ci_low == pytest.approx(low * scale, abs=TOL)
    assert result.ci_high == pytest.approx(high * scale, abs=TOL)
    assert result.p_value == pytest.approx(p_value, abs=TOL)


def test_two_proportion_conversion_example_values() -> None:
    result = lift(Arm(4.1, n=52000), Arm(4.4, n=51800), "%")
    assert result is not None
    assert result.absolute == pytest.approx(0.3)  # percentage points
    assert result.relative == pytest.approx(0.3 / 4.1)
    # Reported in percentage points, not fractions.
    assert 0.0 < result.ci_low < 0.3 < result.ci_high < 1.0
    assert result.p_value < 0.05


def test_two_proportion_ignores_std_and_intervals() -> None:
    control = Arm(0.12, n=3000, std=0.3, lower=0.0, upper=1.0)
    treatment = Arm(0.13, n=3000, std=0.3, lower=0.0, upper=1.0)
    result = lift(control, treatment, "ratio")
    assert result is not None
    assert result.method == "two-proportion"


@pytest.mark.parametrize(("value", "unit"), [(0.0, "ratio"), (1.0, "ratio"), (100.0, "%")])
def test_two_proportion_all_at_0_or_100_percent(value: float, unit: str) -> None:
    # Equal arms with no spread of their own: no difference (p = 1), and an interval
    # of Newcombe's, from each arm's Wilson interval, not one of no width (0 to 0).
    result = lift(Arm(value, n=500), Arm(value, n=700), unit)
    assert result is not None
    assert result.method == "two-proportion"
    assert result.absolute == 0.0 and result.relative == (None if value == 0 else 0.0)
    assert result.p_value == 1.0
    scale = 100.0 if unit == "%" else 1.0
    k_c, k_t = value / scale * 500, value / scale * 700  # (the z-test of these is nan)
    low, high = confint_proportions_2indep(k_t, 700, k_c, 500, method="newcomb")
    assert result.ci_low == pytest.approx(low * scale, abs=TOL)
    assert result.ci_high == pytest.approx(high * scale, abs=TOL)
    assert result.ci_low < 0 < result.ci_high


@pytest.mark.parametrize("n", [10, 100])
def test_two_proportion_opposite_extremes(n: int) -> None:
    # Each arm's own variance is 0: the Wald interval had no width (a certain +1). The
    # Wilson interval of 0 of n is 0 to z²/(n + z²) (and of n of n its mirror), so the
    # difference's low end is 1 − √2·z²/(n + z²) (0.608 at n = 10); it never passes 1.
    result = lift(Arm(0.0, n=n), Arm(1.0, n=n), "ratio")
    assert result is not None and result.relative is None
    z2 = float(sps.norm.ppf(0.975)) ** 2
    assert result.ci_low == pytest.approx(1.0 - math.sqrt(2.0) * z2 / (n + z2), abs=1e-12)
    assert result.ci_high == 1.0
    low_sm, high_sm, p_value = _reference_two_proportion(0.0, n, 1.0, n)
    assert (result.ci_low, result.ci_high) == pytest.approx((low_sm, high_sm), abs=TOL)
    assert result.p_value == pytest.approx(p_value, abs=TOL)
    assert result.significant


@pytest.mark.parametrize(
    ("control", "treatment", "low", "high"),
    [
        # 90% of 10,000 against 95% of 100: the unpooled Wald interval, +0.688 to +9.31 pp,
        # excluded zero beside p = 0.0965 (Fisher's exact test: 0.128).
        ((90.0, 10_000), (95.0, 100), -1.20, 7.91),
        # 0 of 60 against 10% of 10,000: an arm at 0% had no spread of its own, and the
        # Wald interval was -10.59 to -9.41 pp, only the control arm's noise.
        ((10.0, 10_000), (0.0, 60), -10.60, -3.96),
    ],
)
def test_two_proportion_interval_near_0_or_100_percent_is_uneven(
    control: tuple[float, int], treatment: tuple[float, int], low: float, high: float
) -> None:
    result = lift(Arm(control[0], n=control[1]), Arm(treatment[0], n=treatment[1]), "%")
    assert result is not None
    # Newcombe's method 10 written out: the difference less, and plus, the root sum of
    # squares of each arm's Wilson interval's reach below and above its rate.
    (v_c, n_c), (v_t, n_t) = control, treatment
    p_c, p_t = v_c / 100, v_t / 100
    l_c, u_c = proportion_confint(p_c * n_c, n_c, method="wilson")
    l_t, u_t = proportion_confint(p_t * n_t, n_t, method="wilson")
    d = p_t - p_c
    expected_low = 100 * (d - math.hypot(p_t - l_t, u_c - p_c))
    expected_high = 100 * (d + math.hypot(u_t - p_t, p_c - l_c))
    assert result.ci_low == pytest.approx(expected_low, abs=TOL)
    assert result.ci_high == pytest.approx(expected_high, abs=TOL)
    assert (round(result.ci_low, 2), round(result.ci_high, 2)) == (low, high)


@pytest.mark.parametrize(
    ("control", "treatment", "tested"),
    # (successes, n) of each arm: each must expect 5 successes and 5 failures at the
    # pooled rate for the z-test; 0 of 2 against 2 of 2 was "significant" (p = 0.046).
    [((0, 2), (2, 2), False), ((1, 1), (0, 1), False), ((1, 1000), (7, 1000), False),
     ((5, 1000), (9, 1000), True), ((2, 10), (8, 10), True), ((0, 10), (10, 10), True)],
)  # fmt: skip
def test_two_proportion_needs_five_expected_successes_and_failures(
    control: tuple[int, int], treatment: tuple[int, int], tested: bool
) -> None:
    arms = [Arm(k / n, n=n) for k, n in (control, treatment)]
    result = lift(arms[0], arms[1], "ratio")
    assert (result is not None) is tested
    if result is not None:
        assert result.method == "two-proportion"


def test_too_few_customers_get_no_lift_from_their_intervals_or_std_either() -> None:
    # The arms' own intervals are normal approximations on the same two customers: they
    # made 0 of 2 against 2 of 2 a lift with p = 3e-5.
    control = Arm(0.0, n=2, std=0.0, lower=0.0, upper=0.66)
    treatment = Arm(1.0, n=2, std=0.0, lower=0.34, upper=1.0)
    assert lift(control, treatment, "ratio") is None
    assert (
        lift(Arm(0.0, n=2, lower=0.0, upper=0.66), Arm(1.0, n=2, lower=0.34, upper=1.0), "ratio")
        is None
    )


@pytest.mark.parametrize(("unit", "scale"), [("ratio", 1.0), ("%", 100.0)])
def test_exactly_five_expected_is_enough(unit: str, scale: float) -> None:
    # 4 of 14 against 14 of 14: the pooled rate 18/28 leaves 10/28 × 14 = 5 expected
    # failures an arm, which floating point made 4.999999999999999.
    result = lift(Arm(4 / 14 * scale, n=14), Arm(1.0 * scale, n=14), unit)
    assert result is not None and result.method == "two-proportion"


def test_proportion_unit_but_only_one_arm_has_n_falls_through() -> None:
    control = Arm(4.1, n=52000, lower=3.9, upper=4.3)
    treatment = Arm(4.4, lower=4.2, upper=4.6)
    result = lift(control, treatment, "%")
    assert result is not None
    assert result.method == "intervals"
    assert lift(Arm(4.1, n=52000), Arm(4.4), "%") is None


def test_proportion_value_out_of_range_falls_through() -> None:
    # 140 is not a valid percentage; with std it can still be compared as a mean.
    result = lift(Arm(98.0, n=100, std=5.0), Arm(140.0, n=100, std=5.0), "%")
    assert result is not None
    assert result.method == "welch"


# --------------------------------------------------------------------------- Welch


@pytest.mark.parametrize(
    ("m_c", "s_c", "n_c", "m_t", "s_t", "n_t"),
    [
        (18.4, 14.0, 3000, 18.2, 14.0, 3000),  # equal arms, tiny effect
        (6.1, 3.9, 4210, 5.0, 3.5, 4188),  # TTFR example from the format doc
        (120.0, 40.0, 250, 131.0, 95.0, 40),  # unequal n and std
        (4.3, 0.8, 12, 4.1, 1.6, 9),  # small samples
        (10.0, 0.0, 50, 11.0, 2.0, 30),  # one arm without variance
    ],
)
def test_welch_matches_statsmodels_and_scipy(
    m_c: float, s_c: float, n_c: int, m_t: float, s_t: float, n_t: int
) -> None:
    result = lift(Arm(m_c, n=n_c, std=s_c), Arm(m_t, n=n_t, std=s_t), "hours")
    assert result is not None
    assert result.method == "welch"
    low, high, p_value = _reference_welch(m_c, s_c, n_c, m_t, s_t, n_t)
    assert result.absolute == pytest.approx(m_t - m_c, abs=1e-12)
    assert result.ci_low == pytest.approx(low, abs=TOL)
    assert result.ci_high == pytest.approx(high, abs=TOL)
    assert result.p_value == pytest.approx(p_value, abs=TOL)


@pytest.mark.parametrize("scale", [1e-100, 1e-170, 1e-300])
def test_welch_and_intervals_of_tiny_values_are_the_same_test_scaled(scale: float) -> None:
    # Squared, standard deviations of 1e-100 underflowed to 0: the degrees of freedom
    # divided by zero (a traceback), and at 1e-170 the arms read as having no spread.
    # Values in another unit (grams for tonnes) are the same test, scaled.
    arms = (Arm(1.0, n=1000, std=1.0), Arm(3.0, n=800, std=2.5))
    small = lift(*(Arm(a.value * scale, n=a.n, std=a.std * scale) for a in arms), "t")
    plain = lift(*arms, "t")
    assert small is not None and plain is not None and small.method == "welch"
    assert small.ci_low / scale == pytest.approx(plain.ci_low, rel=1e-12)
    assert small.ci_high / scale == pytest.approx(plain.ci_high, rel=1e-12)
    assert small.p_value == pytest.approx(plain.p_value, rel=1e-9, abs=1e-300)
    arms = (Arm(1.0, lower=0.5, upper=1.5), Arm(3.0, lower=2.0, upper=4.0))
    small = lift(*(Arm(a.value * scale, lower=a.lower * scale, upper=a.upper * scale)
                   for a in arms), "t")  # fmt: skip
    plain = lift(*arms, "t")
    assert small is not None and plain is not None and small.method == "intervals"
    assert small.ci_low / scale == pytest.approx(plain.ci_low, rel=1e-12)
    assert small.p_value == pytest.approx(plain.p_value, rel=1e-9)


def test_welch_example_not_significant() -> None:
    result = lift(Arm(18.4, n=3000, std=14.0), Arm(18.2, n=3000, std=14.0), "minutes")
    assert result is not None
    assert result.absolute == pytest.approx(-0.2)
    assert result.relative == pytest.approx(-0.2 / 18.4)
    assert result.ci_low < 0 < result.ci_high
    assert result.p_value > 0.05
    assert not result.significant


def test_welch_with_no_spread_is_no_test_of_a_difference() -> None:
    # Both standard deviations 0: the standard error is 0, so any difference would be
    # "certain" (a zero-width interval, p = 0). scipy's ttest_ind gives nan, R's t.test
    # stops ("data are essentially constant"): no lift. Equal arms differ by nothing.
    same = lift(Arm(5.0, n=10, std=0.0), Arm(5.0, n=10, std=0.0), "score")
    assert same == Lift(0.0, 0.0, 0.0, 0.0, 1.0, "welch")
    assert lift(Arm(5.0, n=10, std=0.0), Arm(5.01, n=10, std=0.0), "score") is None
    with_intervals = lift(
        Arm(5.0, n=10, std=0.0, lower=4.0, upper=6.0),
        Arm(5.01, n=10, std=0.0, lower=4.0, upper=6.0),
        "score",
    )  # the next method the rows allow is tried
    assert with_intervals is not None and with_intervals.method == "intervals"
    one = lift(Arm(5.0, n=10, std=0.0), Arm(6.0, n=10, std=1.0), "score")  # one arm spreads
    assert one is not None and one.method == "welch" and one.ci_low < one.ci_high


def test_welch_needs_n_at_least_two() -> None:
    assert lift(Arm(5.0, n=1, std=1.0), Arm(6.0, n=10, std=1.0), "score") is None
    result = lift(
        Arm(5.0, n=1, std=1.0, lower=4.0, upper=6.0),
        Arm(6.0, n=10, std=1.0, lower=5.0, upper=7.0),
        "score",
    )
    assert result is not None
    assert result.method == "intervals"


def test_welch_used_for_proportion_unit_when_std_but_one_n_missing() -> None:
    # Only one arm has n: not a two-proportion case, and Welch needs both n too.
    assert lift(Arm(0.1, n=100, std=0.3), Arm(0.2, std=0.4), "ratio") is None


def test_scipy_is_not_needed_at_import_time() -> None:
    import ast
    import inspect

    import generator.stats as module

    tree = ast.parse(inspect.getsource(module))
    top_level = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    names = [
        (node.module or "") if isinstance(node, ast.ImportFrom) else node.names[0].name
        for node in top_level
    ]
    assert not any(name.startswith("scipy") for name in names)


# --------------------------------------------------------------------------- intervals


def test_intervals_hand_computation() -> None:
    control = Arm(6.1, lower=5.7, upper=6.5)
    treatment = Arm(5.0, lower=4.5, upper=5.5)
    result = lift(control, treatment, "hours")
    assert result is not None
    assert result.method == "intervals"

    se_c = 0.8 / (2 * 1.959963984540054)
    se_t = 1.0 / (2 * 1.959963984540054)
    se = math.sqrt(se_c**2 + se_t**2)
    # Half-width of the lift's CI is the root-sum-square of the arms' half-widths.
    assert 1.959963984540054 * se == pytest.approx(math.hypot(0.4, 0.5), abs=1e-12)
    assert result.absolute == pytest.approx(-1.1, abs=1e-12)
    assert result.relative == pytest.approx(-1.1 / 6.1, abs=1e-12)
    assert result.ci_low == pytest.approx(-1.1 - math.hypot(0.4, 0.5), abs=1e-12)
    assert result.ci_high == pytest.approx(-1.1 + math.hypot(0.4, 0.5), abs=1e-12)
    z = -1.1 / se
    assert result.p_value == pytest.approx(2 * sps.norm.sf(abs(z)), abs=1e-12)
    # Hand value: half-width 0.640312..., se 0.326695..., z -3.367037..., p ~ 7.6e-4.
    assert se == pytest.approx(0.3266954, abs=1e-6)
    assert result.p_value == pytest.approx(7.598e-4, abs=1e-6)


def test_intervals_asymmetric_bounds_use_width_only() -> None:
    result = lift(Arm(10.0, lower=9.0, upper=13.0), Arm(12.0, lower=11.0, upper=12.5), "USD")
    assert result is not None
    half = math.hypot(2.0, 0.75)
    assert result.ci_low == pytest.approx(2.0 - half, abs=1e-12)
    assert result.ci_high == pytest.approx(2.0 + half, abs=1e-12)


def test_intervals_of_zero_width_are_no_test_of_a_difference() -> None:
    same = lift(Arm(3.0, lower=3.0, upper=3.0), Arm(3.0, lower=3.0, upper=3.0), "score")
    assert same == Lift(0.0, 0.0, 0.0, 0.0, 1.0, "intervals")
    assert lift(Arm(3.0, lower=3.0, upper=3.0), Arm(3.1, lower=3.1, upper=3.1), "score") is None
    one = lift(Arm(3.0, lower=3.0, upper=3.0), Arm(3.1, lower=3.0, upper=3.2), "score")
    assert one is not None and one.ci_low < one.ci_high


def test_intervals_used_when_only_one_arm_has_std() -> None:
    control = Arm(6.1, n=4210, std=3.9, lower=6.0, upper=6.2)
    treatment = Arm(5.0, n=4188, lower=4.9, upper=5.1)
    result = lift(control, treatment, "hours")
    assert result is not None
    assert result.method == "intervals"


def test_inverted_interval_is_not_used() -> None:
    assert lift(Arm(1.0, lower=2.0, upper=0.0), Arm(1.5, lower=1.0, upper=2.0), "x") is None


# --------------------------------------------------------------------------- borderline


def test_borderline_interval_ci_touches_zero() -> None:
    # Control's se is 1, treatment has no uncertainty, and the lift is exactly z * se:
    # the CI's lower bound sits on zero and the p-value is exactly 0.05.
    control = Arm(10.0, lower=10.0 - Z_975, upper=10.0 + Z_975)
    treatment = Arm(10.0 + Z_975, lower=10.0 + Z_975, upper=10.0 + Z_975)
    result = lift(control, treatment, "score")
    assert result is not None
    assert result.ci_low == pytest.approx(0.0, abs=1e-12)
    assert result.ci_high == pytest.approx(2 * Z_975, abs=1e-12)
    assert result.p_value == pytest.approx(0.05, abs=1e-12)


def test_borderline_welch_ci_touches_zero() -> None:
    n, s = 40, 3.0
    se = math.sqrt(2 * s**2 / n)
    df = 2 * n - 2  # equal n and std: Welch df reduces to 2n - 2
    diff = float(sps.t.ppf(0.975, df)) * se
    result = lift(Arm(20.0, n=n, std=s), Arm(20.0 + diff, n=n, std=s), "score")
    assert result is not None
    assert result.method == "welch"
    assert result.ci_low == pytest.approx(0.0, abs=1e-9)
    assert result.p_value == pytest.approx(0.05, abs=1e-9)
    low, _, p_value = _reference_welch(20.0, s, n, 20.0 + diff, s, n)
    assert result.ci_low == pytest.approx(low, abs=TOL)
    assert result.p_value == pytest.approx(p_value, abs=TOL)


@pytest.mark.parametrize(
    ("control", "treatment"),
    [
        (Arm(18.4, n=3000, std=14.0), Arm(19.3, n=3000, std=14.0)),
        (Arm(18.4, n=3000, std=14.0), Arm(19.5, n=3000, std=14.0)),
        (Arm(5.0, lower=4.0, upper=6.0), Arm(6.3, lower=5.5, upper=7.1)),
        (Arm(5.0, lower=4.0, upper=6.0), Arm(6.5, lower=5.7, upper=7.3)),
    ],
)
def test_ci_excludes_zero_iff_p_below_005(control: Arm, treatment: Arm) -> None:
    result = lift(control, treatment, "score")
    assert result is not None
    assert result.significant == (result.p_value < 0.05)


# --------------------------------------------------------------------------- relative / None


def test_relative_none_when_control_zero() -> None:
    result = lift(Arm(0.0, lower=-1.0, upper=1.0), Arm(2.0, lower=1.0, upper=3.0), "USD")
    assert result is not None
    assert result.relative is None
    assert result.absolute == 2.0


def test_relative_lift_sign_and_size() -> None:
    result = lift(Arm(0.12, n=3000), Arm(0.13, n=3000), "ratio")
    assert result is not None
    assert result.relative == pytest.approx(0.01 / 0.12)
    down = lift(Arm(6.2, n=100, std=2.0), Arm(4.96, n=100, std=2.0), "hours")
    assert down is not None
    assert down.relative == pytest.approx(-0.2)


@pytest.mark.parametrize(
    ("control", "treatment", "unit"),
    [
        (Arm(6.1), Arm(5.0), "hours"),
        (Arm(4.1), Arm(4.4), "%"),
        (Arm(6.1, n=4210), Arm(5.0, n=4188), "hours"),  # n without std, not a proportion
        (Arm(6.1, std=3.9), Arm(5.0, std=3.5), "hours"),  # std without n
        (Arm(6.1, lower=5.9), Arm(5.0, upper=5.2), "hours"),  # half intervals
        (Arm(6.1, lower=5.9, upper=6.3), Arm(5.0), "hours"),  # one arm's interval only
        (Arm(math.nan, n=10, std=1.0), Arm(5.0, n=10, std=1.0), "hours"),
    ],
)
def test_none_without_uncertainty_information(control: Arm, treatment: Arm, unit: str) -> None:
    assert lift(control, treatment, unit) is None


# --------------------------------------------------------------------------- progress / reached


def test_progress_decrease_metric() -> None:
    assert progress(6.2, 4.5, 5.0) == pytest.approx(1.2 / 1.7)
    assert progress(6.2, 4.5, 5.0) == pytest.approx(0.70588, abs=1e-5)


def test_progress_increase_metric() -> None:
    assert progress(0.71, 0.92, 0.89) == pytest.approx(0.18 / 0.21)
    assert progress(4.1, 4.5, 4.1) == 0.0
    assert progress(4.1, 4.5, 4.5) == pytest.approx(1.0)


def test_progress_not_clamped() -> None:
    assert progress(6.2, 4.5, 7.0) == pytest.approx(-0.8 / 1.7)  # worse than baseline
    assert progress(6.2, 4.5, 4.0) == pytest.approx(2.2 / 1.7)  # target overshot
    assert progress(0.71, 0.92, 0.60) == pytest.approx(-0.11 / 0.21)


def test_progress_none_when_no_gap() -> None:
    assert progress(5.0, 5.0, 4.0) is None
    assert progress(0.0, 0.0, 0.0) is None


@pytest.mark.parametrize(
    ("target", "latest", "direction", "expected"),
    [
        (4.5, 4.5, "decrease", True),
        (4.5, 4.4, "decrease", True),
        (4.5, 4.6, "decrease", False),
        (0.92, 0.92, "increase", True),
        (0.92, 0.93, "increase", True),
        (0.92, 0.91, "increase", False),
        (0.0, 0.0, "increase", True),
        (-1.0, -1.0, "decrease", True),
    ],
)
def test_reached(target: float, latest: float, direction: str, expected: bool) -> None:
    assert reached(target, latest, direction) is expected  # type: ignore[arg-type]


def test_the_relative_lift_of_a_negative_control_keeps_the_lift_s_sign() -> None:
    """A net score of −10 in control and −5 in treatment is a gain of 5 points, half of
    control's size: +50%, never the −50% that dividing by −10 gives."""
    result = lift(Arm(-10.0, n=1000, std=5.0), Arm(-5.0, n=1000, std=5.0), "points")
    assert result is not None and result.absolute == pytest.approx(5.0)
    assert result.relative == pytest.approx(0.5)
    assert fmt_relative(result.relative) == "+50.0%"
    assert fmt_relative(-0.011) == "−1.1%"
