"""Analyse stage, statistics: the lift of a treatment arm over control, progress to a target.

Pure functions, no I/O. ``lift`` picks the strongest method the data allows:

1. two-proportion z-test, for ``%`` / ``ratio`` metrics where both arms have ``n``
   and each expects at least ``MIN_EXPECTED`` successes and failures (with fewer,
   two different proportions get no lift by any method: the others are normal
   approximations on the same few customers);
2. Welch's t-test, where both arms have ``n`` (>= 2) and ``std``;
3. a normal approximation from each arm's own 95% interval (``lower``/``upper``);
4. nothing (``None``) when there is no uncertainty information.

All outputs are in the metric's own unit (percentage points for ``%``).
scipy is imported lazily, only where Student's t is needed (Welch's test, and an
arm's interval from ``n`` and ``std``). Its quantile is kept per degrees of freedom
(:func:`t_quantile`), so a series of a million rows with a few thousand distinct
sample sizes computes a few thousand quantiles, each with the very function
``scipy.stats.t.ppf`` calls (the same bits).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, NamedTuple

from .formatting import is_finite
from .memo import MEMO

__all__ = [
    "ALPHA",
    "Z_975",
    "Arm",
    "Lift",
    "is_proportion_unit",
    "lift",
    "progress",
    "reached",
    "too_few",
    "too_few_against",
]

#: Two-sided 95% standard-normal quantile, ``scipy.stats.norm.ppf(0.975)``.
Z_975 = 1.959963984540054

#: The two-sided level a lift is judged at, the 95% interval's.
ALPHA = 0.05

Method = Literal["two-proportion", "welch", "intervals"]


@dataclass(frozen=True)
class Arm:
    """One arm (control or treatment) of a metric on one date."""

    value: float
    n: int | None = None
    std: float | None = None
    lower: float | None = None
    upper: float | None = None


@dataclass(frozen=True, slots=True)  # slots: a long series has one per date
class Lift:
    """Treatment minus control, with a 95% CI and a two-sided p-value."""

    absolute: float  # treatment - control, in the metric's unit ('%' -> percentage points)
    relative: float | None  # absolute / |control.value|; None when control.value == 0
    ci_low: float  # 95% CI of the absolute lift, metric's unit
    ci_high: float
    p_value: float  # two-sided
    method: Method

    @property
    def significant(self) -> bool:
        """True when the 95% CI excludes zero and p < 0.05. The two-proportion interval
        and p-value are different approximations (the interval's error is each arm's,
        the test's is the pooled rate's) that can disagree near the edge: a lift then
        counts only when both say so, never beside a p-value printed above 0.05."""
        return (self.ci_low > 0 or self.ci_high < 0) and self.p_value < ALPHA


def is_proportion_unit(unit: str) -> bool:
    """True for the two units the format gives a meaning: ``%`` and ``ratio``."""
    return unit.strip().lower() in ("%", "ratio")


def _has_n(arm: Arm, minimum: int = 1) -> bool:
    return arm.n is not None and is_finite(arm.n) and arm.n >= minimum


def _has_std(arm: Arm) -> bool:
    return arm.std is not None and is_finite(arm.std) and arm.std >= 0


def _has_interval(arm: Arm) -> bool:
    return (
        arm.lower is not None
        and arm.upper is not None
        and is_finite(arm.lower)
        and is_finite(arm.upper)
        and arm.upper >= arm.lower
    )


def _normal_p(diff: float, se: float) -> float:
    """Two-sided normal p-value of ``diff / se``.

    With ``se == 0`` there is no spread: 1.0 when ``diff == 0``, else 0.0.
    """
    if se == 0.0:
        return 1.0 if diff == 0.0 else 0.0
    return math.erfc(abs(diff / se) / math.sqrt(2.0))


def _relative(absolute: float, control: Arm) -> float | None:
    """The lift as a share of control's size: of a negative control (a net score, a
    profit) the sign stays the lift's, so a gain never reads as a fall."""
    return absolute / abs(control.value) if control.value != 0 else None


def _symmetric(absolute: float, control: Arm, half: float, p_value: float, method: Method) -> Lift:
    """A lift whose 95% interval is `absolute ± half`."""
    return _spanning(absolute, control, half, half, p_value, method)


def _spanning(
    absolute: float, control: Arm, below: float, above: float, p_value: float, method: Method
) -> Lift:
    """A lift whose 95% interval runs from `absolute - below` to `absolute + above`."""
    return Lift(
        absolute=absolute,
        relative=_relative(absolute, control),
        ci_low=absolute - below,
        ci_high=absolute + above,
        p_value=p_value,
        method=method,
    )


def _no_spread(absolute: float, control: Arm, method: Method) -> Lift | None:
    """Arms whose noise is measured as none: equal, no difference (p = 1); unequal, no
    test (the next method the rows allow is tried), for a difference would be certain
    on a zero-width interval (scipy's t-test gives nan, R's stops: "data are
    essentially constant")."""
    if absolute != 0.0:
        return None
    return Lift(0.0, _relative(0.0, control), 0.0, 0.0, 1.0, method)


# The fewest successes, and failures, each arm must expect for the two-proportion z-test.
MIN_EXPECTED = 5.0


class _Proportions(NamedTuple):
    """Two arms as proportions: sizes, rates, the pooled rate, and the unit's scale."""

    n_c: float
    n_t: float
    p_c: float
    p_t: float
    pooled: float
    scale: float


def _proportions(control: Arm, treatment: Arm, unit: str) -> _Proportions | None:
    """The arms (both with `n`) as proportions, or None when a value is not one (then
    the caller tries other methods)."""
    scale = percent_scale(unit)
    assert control.n is not None and treatment.n is not None
    n_c, n_t = float(control.n), float(treatment.n)
    p_c, p_t = control.value / scale, treatment.value / scale
    if not (0.0 <= p_c <= 1.0 and 0.0 <= p_t <= 1.0):
        return None
    return _Proportions(n_c, n_t, p_c, p_t, (p_t * n_t + p_c * n_c) / (n_t + n_c), scale)


def percent_scale(unit: str) -> float:
    """What a value in `unit` is divided by to be a proportion: 100 for `%`, else 1."""
    return 100.0 if unit.strip() == "%" else 1.0


def _too_few(arms: _Proportions) -> bool:
    """Whether two different proportions are too few customers for a test: an arm
    expects fewer than `MIN_EXPECTED` successes or failures at the pooled rate, where
    the z-test's normal approximation does not hold (0 of 2 against 2 of 2 was
    "significant", p = 0.046; Fisher's exact test says 0.33). The interval and Welch
    methods are normal approximations on the same customers (the arms' own intervals
    made it p = 3e-5): no lift then, by any method."""
    if arms.p_c == arms.p_t:
        return False
    expected = min(arms.n_c, arms.n_t) * min(arms.pooled, 1.0 - arms.pooled)
    return expected < MIN_EXPECTED * (1.0 - 1e-9)  # 4.999999999999999 is 5


def too_few(control: Arm, treatment: Arm, unit: str) -> bool:
    """Whether two arms are proportions of too few customers to tell apart (`_too_few`):
    then no move between them is evidence, not even one of the minimum detectable
    effect (1 of 2 against 0 of 2 is a move of 50 points, and Fisher's test says p = 1)."""
    if not (is_proportion_unit(unit) and _has_n(control) and _has_n(treatment)):
        return False
    arms = _proportions(control, treatment, unit)
    return arms is not None and _too_few(arms)


def too_few_against(arm: Arm, reference: float, unit: str) -> bool:
    """Whether a proportion of `arm.n` customers is too few to tell apart from `reference`
    (a baseline, or a control arm's value without `n`): at the reference's rate, the one
    a test of the row against it assumes, it expects fewer than `MIN_EXPECTED` successes
    or failures (1 of 2 customers against a baseline of 10% is no evidence of a gain,
    and 0.25% of 400 against 2% is of a loss). A reference of 0% or 100% expects none of
    one kind whatever the sample: the rate between the two is asked then (50 of 1,000
    against a baseline of 0% are evidence)."""
    if not (is_proportion_unit(unit) and _has_n(arm)) or arm.value == reference:
        return False
    assert arm.n is not None
    scale = percent_scale(unit)
    rate, own = reference / scale, arm.value / scale
    if not (0.0 <= rate <= 1.0 and 0.0 <= own <= 1.0):
        return False
    if rate in (0.0, 1.0):
        rate = (rate + own) / 2.0
    return arm.n * min(rate, 1.0 - rate) < MIN_EXPECTED * (1.0 - 1e-9)


def _wilson(p: float, n: float) -> tuple[float, float]:
    """Wilson's 95% score interval of a proportion `p` of `n` (Newcombe 1998, method 3):
    always within [0, 1] and holding `p`, and uneven about it near 0 or 1, where the Wald
    interval `p ± z√(p(1 − p)/n)` passes them (0.8 of 5: 0.449 to 1.15) or has no width
    (0 of 60: 0 to 0)."""
    z2 = Z_975 * Z_975
    centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n)
    half = Z_975 * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / (1.0 + z2 / n)
    # Clamped as the bounds are in exact arithmetic: 0 of n is 0, n of n is 1, not 1e-17
    # beside them.
    return max(0.0, min(centre - half, p)), min(1.0, max(centre + half, p))


def _two_proportion(control: Arm, treatment: Arm, arms: _Proportions) -> Lift:
    n_c, n_t, p_c, p_t, pooled, scale = arms
    absolute = treatment.value - control.value

    # CI: Newcombe's hybrid score interval (Newcombe 1998, method 10; statsmodels
    # confint_proportions_2indep, method="newcomb"): each arm's Wilson interval, how far
    # below and above its rate it reaches combined as a root sum of squares. Uneven
    # about the lift near 0 or 100%, where the unpooled Wald interval was too narrow:
    # 95% of 100 against 90% of 10,000 was +0.688 to +9.31 pp (this: -1.20 to +7.91),
    # and an arm at 0% had no spread of its own (0 of 60 against 10%: -10.59 to -9.41).
    low_t, high_t = _wilson(p_t, n_t)
    low_c, high_c = _wilson(p_c, n_c)
    below = math.hypot(p_t - low_t, high_c - p_c) * scale
    above = math.hypot(high_t - p_t, p_c - low_c) * scale

    # p-value: pooled z-test (statsmodels proportions_ztest). The two can disagree near
    # the edge: a lift is significant only when both say so (`Lift.significant`).
    se_pooled = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n_t + 1.0 / n_c))
    # se_pooled == 0 only when both arms are all-0 or all-1: identical, p = 1.
    p_value = _normal_p(p_t - p_c, se_pooled)

    return _spanning(absolute, control, below, above, p_value, "two-proportion")


# The 97.5% quantile of Student's t by degrees of freedom; bounded, so a stream of
# distinct fractional Welch degrees of freedom cannot grow it without end.
_T_QUANTILES: dict[float, float] = {}
_T_QUANTILES_MAX = 100_000


def t_quantile(df: float) -> float:
    """``scipy.stats.t.ppf(0.975, df)``, computed once per ``df``.

    ``t.ppf`` is ``scipy.special.stdtrit(df, q)`` behind argument checks that cost
    about 50 µs a call; the special function gives the same bits in a microsecond.
    """
    found = _T_QUANTILES.get(df)
    if found is None:
        found = MEMO.get(("t.ppf", df))  # kept by an earlier build (generator/memo.py)
    if found is None:
        from scipy import special  # type: ignore[import-untyped, unused-ignore]  # lazy

        found = float(special.stdtrit(df, 0.975))
    if len(_T_QUANTILES) >= _T_QUANTILES_MAX:
        _T_QUANTILES.clear()
    _T_QUANTILES[df] = found
    MEMO.put(("t.ppf", df), found)
    return found


def t_quantiles(dfs: Iterable[float]) -> None:
    """Compute the quantiles of every new ``df`` in `dfs` in one vectorised call."""
    # Not `set - _T_QUANTILES.keys()`: that walks every key kept (up to 100,000, some
    # 3 ms) on each call, and a cold build at 1,000 charters makes tens of thousands.
    missing = sorted({df for df in map(float, dfs) if df not in _T_QUANTILES})
    if len(_T_QUANTILES) + len(missing) > _T_QUANTILES_MAX:
        _T_QUANTILES.clear()
    unknown = []
    for df in missing:  # kept by an earlier build (generator/memo.py), else computed
        kept = MEMO.get(("t.ppf", df))
        if kept is None:
            unknown.append(df)
        else:
            _T_QUANTILES[df] = kept
    if not unknown:
        return
    from scipy import special  # lazy import

    for df, q in zip(unknown, special.stdtrit(unknown, 0.975).tolist(), strict=True):
        _T_QUANTILES[df] = float(q)


def _t_sf(x: float, df: float) -> float:
    """``scipy.stats.t.sf(x, df)``: the special function it calls, without its checks."""
    found = MEMO.get(("t.sf", df, x))
    if found is None:
        from scipy import special  # lazy import

        found = float(special.stdtr(df, -x))
        MEMO.put(("t.sf", df, x), found)
    return found  # type: ignore[no-any-return]


def _welch(control: Arm, treatment: Arm) -> Lift | None:
    assert control.n is not None and treatment.n is not None
    assert control.std is not None and treatment.std is not None
    n_c, n_t = float(control.n), float(treatment.n)
    # Each arm's standard error, and their root sum of squares by `hypot`: squared, a
    # standard deviation of 1e-100 was 0, and the degrees of freedom divided by zero.
    e_c, e_t = control.std / math.sqrt(n_c), treatment.std / math.sqrt(n_t)
    absolute = treatment.value - control.value
    se = math.hypot(e_t, e_c)
    if se == 0.0:  # both standard deviations 0: no spread to test a difference against
        return _no_spread(absolute, control, "welch")
    # Welch–Satterthwaite, of the errors as shares of the larger (the same number: the
    # formula does not change with the scale), so that no square or fourth power underflows.
    r_c, r_t = (e_c / max(e_c, e_t)) ** 2, (e_t / max(e_c, e_t)) ** 2
    df = (r_t + r_c) ** 2 / (r_t**2 / (n_t - 1.0) + r_c**2 / (n_c - 1.0))
    half = t_quantile(df) * se
    p_value = 2.0 * _t_sf(abs(absolute / se), df)
    return _symmetric(absolute, control, half, min(1.0, p_value), "welch")


def _intervals(control: Arm, treatment: Arm) -> Lift | None:
    assert control.lower is not None and control.upper is not None
    assert treatment.lower is not None and treatment.upper is not None
    se_c = (control.upper - control.lower) / (2.0 * Z_975)
    se_t = (treatment.upper - treatment.lower) / (2.0 * Z_975)
    se = math.hypot(se_t, se_c)  # squared, widths of 1e-170 would read as none
    absolute = treatment.value - control.value
    if se == 0.0:  # both intervals of zero width: no spread to test a difference against
        return _no_spread(absolute, control, "intervals")
    p_value = _normal_p(absolute, se)
    return _symmetric(absolute, control, Z_975 * se, p_value, "intervals")


def lift(control: Arm, treatment: Arm, unit: str) -> Lift | None:
    """Lift of ``treatment`` over ``control`` for one metric on one date.

    Returns ``None`` when neither arm pair carries enough uncertainty
    information (sample sizes, standard deviations or intervals) to say
    anything beyond the raw difference, or when a value is not finite. Two arms
    of different values whose noise is measured as none (standard deviations of
    0, intervals of zero width) are no test either (`_no_spread`).
    """
    if not (is_finite(control.value) and is_finite(treatment.value)):
        return None
    result: Lift | None = None
    if is_proportion_unit(unit) and _has_n(control) and _has_n(treatment):
        arms = _proportions(control, treatment, unit)
        if arms is not None:
            if _too_few(arms):
                return None
            result = _two_proportion(control, treatment, arms)
    if result is None and all(_has_n(a, 2) and _has_std(a) for a in (control, treatment)):
        result = _welch(control, treatment)
    if result is None and _has_interval(control) and _has_interval(treatment):
        result = _intervals(control, treatment)
    return result


def progress(baseline: float, target: float, latest: float) -> float | None:
    """Share of the baseline-to-target gap closed by ``latest``.

    ``(latest - baseline) / (target - baseline)``; ``None`` when target equals
    baseline. Not clamped: negative means movement the wrong way, above 1 means
    the target was overshot. Works for both directions since the sign of the
    gap encodes it.
    """
    gap = target - baseline
    if gap == 0:
        return None
    return (latest - baseline) / gap


def reached(target: float, latest: float, direction: Literal["increase", "decrease"]) -> bool:
    """Whether ``latest`` meets ``target``; exact equality counts as reached."""
    if direction == "increase":
        return latest >= target
    return latest <= target


def reaches_effect(move: float, threshold: float) -> bool:
    """Whether a move reaches a minimum detectable effect: a move of exactly the threshold
    counts, also when the subtraction that made it is off in the last bits (3.3 - 3 is
    0.2999999999999998, and 10% of 3 is 0.30000000000000004)."""
    return move >= threshold or math.isclose(move, threshold, rel_tol=1e-9, abs_tol=0.0)


def beyond_tolerance(worse: float, tolerance: float) -> bool:
    """Whether a move `worse` in the bad direction exceeds a guardrail's `tolerance`. A move
    of exactly the tolerance is accepted, also when the subtraction that made it is off in
    the last bits (4.3 - 4.4 is -0.10000000000000053, not -0.1)."""
    return worse > tolerance and not math.isclose(worse, tolerance, rel_tol=1e-9, abs_tol=1e-12)


def tolerance_limit(
    reference: float, tolerance: float, direction: Literal["increase", "decrease"]
) -> float:
    """A guardrail's limit: `reference` less its `tolerance` (higher is better), or plus
    it, added as the numbers are written, never off in the last bits (0.3 − 0.1 is
    0.19999999999999998 in floats, which read beside a value of 0.2 needs 17 digits)."""
    step = Decimal(repr(tolerance))
    exact = Decimal(repr(reference)) + (step if direction == "decrease" else -step)
    return float(exact)


def arm_interval(arm: Arm, unit: str) -> tuple[float, float] | None:
    """A 95% interval for one arm's value, from the row's own data.

    The row's `lower`/`upper` when given; else Wilson's score interval for a proportion
    with `n` (`_wilson`: within 0 to 100% where the Wald interval passed them, 0.8 of 5
    read 0.449 to 1.15; a reference outside it is one the score test against it
    rejects at 5%); else mean ± t·std/√n. None when the row carries no uncertainty.
    """
    if _has_interval(arm):
        assert arm.lower is not None and arm.upper is not None
        return arm.lower, arm.upper
    if is_proportion_unit(unit) and _has_n(arm):
        assert arm.n is not None
        scale = percent_scale(unit)
        p = arm.value / scale
        if 0.0 <= p <= 1.0:
            low, high = _wilson(p, float(arm.n))
            # Scaled back, the bounds still hold the value as written (33.3 / 100 * 100).
            return min(low * scale, arm.value), max(high * scale, arm.value)
    if _has_n(arm, 2) and _has_std(arm):
        assert arm.n is not None and arm.std is not None
        half = t_quantile(arm.n - 1) * arm.std / math.sqrt(arm.n)
        return arm.value - half, arm.value + half
    return None
