"""Shared formatting (every stage): numbers, units, intervals, p-values, dates and plurals.

Pages, `charters check`, `charters diff` and the charts' text alternatives all
write numbers through these functions, so a value reads the same everywhere.
Minus signs are the typographic `−`; a missing or non-finite number is `—`.
This module imports nothing heavy (no Jinja, Markdown, nh3, matplotlib or SciPy).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import date

MISSING = "—"


def finite(value: float | None) -> float | None:
    """`value` as a float when it is a finite number, else None."""
    if value is None:
        return None
    try:
        number = float(value)
    except (OverflowError, ValueError):
        return None
    return number if math.isfinite(number) else None


def is_finite(value: float | None) -> bool:
    return finite(value) is not None


def plural(n: int, noun: str, plural_form: str | None = None) -> str:
    """`1 charter`, `3 charters`; irregular nouns give their plural form."""
    word = noun if n == 1 else (plural_form or noun + "s")
    return f"{n} {word}"


def fmt_number(value: float | None, digits: int = 3) -> str:
    """A value as people read it: thousands separated, trailing zeros dropped."""
    if value is None or not math.isfinite(value):
        return MISSING
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000:
        text = f"{value:,.0f}"
    elif magnitude >= 100:
        text = f"{value:,.1f}"
    elif magnitude >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.{digits}g}"
    if "." in text and "e" not in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace("-", "−")


def fmt_value(value: float | None, unit: str) -> str:
    """A value with its unit: `4.4%`, `0.92`, `6.2 hours`."""
    if value is None:
        return MISSING
    text = fmt_number(value)
    unit = unit.strip()
    if unit == "%":
        return f"{text}%"
    if unit.lower() in ("ratio", "", "count"):
        return text
    if unit in ("USD", "$"):
        return f"{text} USD"
    return f"{text} {unit}"


def fmt_signed(value: float | None, unit: str) -> str:
    """A change with its sign: `+0.4 pp`, `−1.2 hours`."""
    if value is None:
        return MISSING
    sign = "+" if value > 0 else ""
    unit = "pp" if unit.strip() == "%" else unit
    return sign + fmt_value(value, unit)


def fmt_interval(low: float | None, high: float | None, unit: str) -> str:
    """A 95% interval of a change: `−1.1 hours to +0.7 hours`."""
    return f"{fmt_signed(low, unit)} to {fmt_signed(high, unit)}"


def fmt_percent(value: float | None) -> str:
    """A fraction as a percentage with at most one decimal: 0.456 → `45.6%`."""
    if value is None or not math.isfinite(value):
        return MISSING
    text = f"{value * 100:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


def fmt_relative(value: float | None) -> str:
    """A relative change with its sign: 0.123 → `+12.3%`."""
    if value is None or not math.isfinite(value):
        return MISSING
    return f"{value * 100:+.1f}%"


def fmt_p(value: float | None) -> str:
    """A p-value to three significant digits."""
    if value is None or not math.isfinite(value):
        return MISSING
    return f"{value:.3g}"


def fmt_date(day: date | None) -> str:
    """A date as the format writes it (ISO 8601)."""
    return day.isoformat() if day is not None else MISSING


def exact_number(value: float) -> str:
    """The shortest text that reads back to `value`; whole numbers without `.0`."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _decimals(value: float) -> int:
    """Decimals needed to show `value` at 4 significant digits, at most 4."""
    if value == 0:
        return 0
    magnitude = math.floor(math.log10(abs(value)))
    rounded = round(value, max(0, 3 - magnitude))
    text = f"{rounded:.{min(4, max(0, 3 - magnitude))}f}"
    if "." not in text:
        return 0
    return min(4, len(text.rstrip("0").split(".")[1]))


def aligned_formatter(values: Iterable[float]) -> Callable[[float], str]:
    """One formatter for a set of numbers read together (a chart's text alternative).

    Every number gets the same decimals, enough for the most precise of them, so
    `5.0 → 4.6` does not read as `5 → 4.6`.
    """
    numbers = list(values)
    decimals = max([_decimals(v) for v in numbers] + [0])
    if any(v != round(v) for v in numbers):
        decimals = max(decimals, 1)

    def fmt(v: float) -> str:
        if abs(v) >= 10_000:
            return f"{v:,.0f}"
        return f"{v:.{decimals}f}"

    return fmt
