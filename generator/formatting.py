"""Shared formatting (every stage): numbers, units, intervals, p-values, dates and plurals.

Pages, `charters check`, `charters diff` and the charts' text alternatives all
write numbers through these functions, so a value reads the same everywhere.
Minus signs are the typographic `−`; a missing or non-finite number is `—`.
This module imports nothing heavy (no Jinja, Markdown, nh3, matplotlib or SciPy).
"""

from __future__ import annotations

import itertools
import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

from .diagnostics import BIDI_CONTROLS, REFUSED

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


# What `fmt_number`'s `apart` takes: a value a number is read beside, or several.
Beside = float | Iterable[float | None] | None


def fmt_number(value: float | None, digits: int = 3, apart: Beside = None) -> str:
    """A value as people read it: thousands separated, trailing zeros dropped.

    `apart`: the values it is read beside (a latest value's baseline and target), or one.
    Where two of them and this one differ but would read the same, all get the digits
    that tell them apart, the same number more for each, so that a baseline of 4.496
    beside a target of 4.5 never reads `4.5`, nor a latest of 4.497 beside it reads
    `4.497` and above it. Each value written so with the same `apart` (itself in it or
    not) keeps its order: rounded to the same places, a smaller value never reads larger."""
    if value is None or not math.isfinite(value):
        return MISSING
    together = _together(value, apart)
    more = _more_apart(together, digits) if len(together) > 1 else 0
    return _number(value, digits, min(more, _more_written(value, digits)) if more else 0)


def _together(value: float, apart: Beside) -> list[float]:
    """`value` and the finite values of `apart`, each once, in order."""
    if apart is None:
        return [value]
    others = [apart] if isinstance(apart, (int, float)) else apart
    return sorted({value, *(x for x in others if x is not None and math.isfinite(x))})


def _more_apart(values: list[float], digits: int) -> int:
    """The fewest digits more than `_number` gives at which no two of `values` (distinct,
    in order) read the same, none written with more digits than it has
    (`_more_written`): 0 but where two would read the same."""
    texts = [_number(v, digits, 0) for v in values]
    if all(a != b for a, b in itertools.pairwise(texts)):
        return 0
    most = [_more_written(v, digits) for v in values]  # the rare case: asked only then
    for more in range(1, max(most) + 1):
        texts = [_number(v, digits, min(more, m)) for v, m in zip(values, most, strict=True)]
        if all(a != b for a, b in itertools.pairwise(texts)):
            return more
    return max(most)


def _more_written(value: float, digits: int) -> int:
    """How many more digits than `_number` gives `value`'s shortest text has (`repr`):
    digits past those are the float's binary expansion (4.1 as 4.0999999999999996),
    never what a file holds."""
    shortest = repr(abs(value))
    if "e" in shortest:
        return 17
    whole, _, decimals = shortest.partition(".")
    decimals = decimals.rstrip("0")
    if abs(value) >= 1_000_000:
        return len(decimals)
    if abs(value) >= 1:
        return max(0, len(decimals) - 2)
    significant = len((whole + decimals).lstrip("0"))
    return max(0, significant - digits)


def _number(value: float, digits: int, more: int) -> str:
    """`fmt_number` with `more` digits than it gives."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1_000_000:
        text = f"{value:,.{more}f}"
    elif magnitude >= 1:  # cents kept: a target of 1,499.99 USD is not 1,500 USD
        text = f"{value:,.{2 + more}f}"
    else:
        text = f"{value:.{digits + more}g}"
        while text in ("1", "-1") and more < 17:  # short of a whole, never a whole:
            more += 1  # an availability of 0.9996 is not 1
            text = f"{value:.{digits + more}g}"
        # Under 0.0001, `7.95e-05` is no way to read a rate on a page; under a billionth
        # (no rate, a unit's mistake more likely) the exponent is shorter than the zeros.
        if "e" in text and magnitude >= 1e-9:
            places = digits + more - 1 - math.floor(math.log10(magnitude))
            text = f"{value:.{places}f}"
    if "." in text and "e" not in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace("-", "−")


def fmt_value(value: float | None, unit: str, apart: Beside = None) -> str:
    """A value with its unit: `4.4%`, `0.92`, `6.2 hours`; `apart`: see `fmt_number`."""
    if value is None:
        return MISSING
    text = fmt_number(value, apart=apart)
    if text == MISSING:  # not finite: no unit beside the dash ("$—")
        return MISSING
    return _united(text, unit)


def _united(text: str, unit: str) -> str:
    """A number as written (`fmt_number`) with its unit."""
    unit = unit.strip()
    if unit == "%":
        return f"{text}%"
    if unit.lower() in ("ratio", "", "count"):
        return text
    if unit == "$":  # as written, before the number: which dollar it is the charter says
        return f"\u2212${text[1:]}" if text.startswith("\u2212") else f"${text}"
    if text in ("1", "-1", "\u22121"):
        unit = _SINGULAR_UNITS.get(unit, unit)
    return f"{text} {unit}"


# Units of time written in the plural, said in the singular for exactly one: `1 hour`.
_SINGULAR_UNITS = {
    plural_unit: plural_unit[:-1]
    for plural_unit in ("seconds", "minutes", "hours", "days", "weeks", "months", "years")
}


def fmt_difference(value: float | None, unit: str, apart: Beside = None) -> str:
    """A size of a change, without a sign: `0.2 pp` (points, never `0.2%`, which reads as
    relative), `5 ms`; a tolerance, a minimum detectable effect. `apart`: the sizes it is
    read beside (a guardrail's tolerance beside its change: `fmt_number`)."""
    return fmt_value(value, difference_unit(unit), apart=apart)


def difference_unit(unit: str) -> str:
    """The unit of a change in a metric of `unit`: points (`pp`) for a `%`, never `%`,
    which reads as relative; else the unit itself."""
    return "pp" if unit.strip() == "%" else unit.strip()


def fmt_signed(value: float | None, unit: str, apart: Beside = None) -> str:
    """A change with its sign: `+0.4 pp`, `−1.2 hours`. `apart`: the sizes it is read
    beside, whatever their sign (a guardrail's change beside its tolerance of 0.1 is
    `−0.1001 score`, never `−0.1 score`)."""
    if value is None:
        return MISSING
    sign = "+" if value > 0 else ""
    return sign + fmt_difference(value, unit, _signed_as(value, apart))


def _signed_as(value: float, apart: Beside) -> Beside:
    """The sizes of `apart` with the sign of `value`: the numbers it is told from."""
    if apart is None:
        return None
    sizes = [apart] if isinstance(apart, (int, float)) else apart
    return [math.copysign(x, value) for x in sizes if x is not None]


def fmt_estimate(
    value: float | None, low: float | None, high: float | None, unit: str, apart: Beside = None
) -> str:
    """A change written beside its 95% interval (`fmt_interval`): with as many decimals as
    both bounds have, where it would have fewer. `−0.03 pp, 95% CI −0.0364 pp to
    −0.0236 pp` is `−0.0300 pp`: the zeros `fmt_number` drops read as an estimate
    rounder than its interval. Never fewer digits than `fmt_signed` gives (with `apart`,
    the sizes it is read beside), but for the noise of a float's arithmetic: a change a
    billion times smaller than both bounds (0.3 − 0.1 − 0.2 is −2.78e−17) is written as
    nothing, at the bounds' decimals."""
    bounds = [abs(x) for x in (low, high) if x is not None]
    if value is not None and len(bounds) == 2 and 0 < abs(value) < 1e-9 * min(bounds):
        value = 0.0
    text = fmt_signed(value, unit, apart)
    beside = _signed_as(value, apart) if value is not None else None
    numbers = [fmt_number(value, apart=beside)] if value is not None else []
    numbers += [fmt_number(x) for x in (low, high) if x is not None]
    if value is None or len(numbers) < 3 or MISSING in numbers or abs(value) >= 1_000_000:
        return text
    places = min(_places(numbers[1]), _places(numbers[2]))
    if places <= _places(numbers[0]) or "e" in "".join(numbers):
        return text
    written = f"{value:,.{places}f}".replace("-", "−")
    if written.lstrip("−").strip("0.,") == "":  # rounded to nothing: no sign
        written = written.lstrip("−")
    sign = "+" if value > 0 else ""
    return sign + _united(written, difference_unit(unit))


def _places(text: str) -> int:
    """How many digits `text`, a number as written, has after its point."""
    return len(text.partition(".")[2])


def fmt_interval(low: float | None, high: float | None, unit: str) -> str:
    """A 95% interval of a change: `−1.1 hours to +0.7 hours`."""
    return f"{fmt_signed(low, unit)} to {fmt_signed(high, unit)}"


def fmt_percent(value: float | None) -> str:
    """A fraction as a percentage with at most one decimal: 0.456 → `45.6%`, −0.2 →
    `−20%`. Short of a whole, never `100%`: 0.99997 of the way to a target not met is
    `99.9%`; more than nothing, never `0%` (`_tiny_percent`): 0.0004 is `0.04%`; with
    thousands separators, as every other number: 123.4 is `12,340%`."""
    if value is None or not math.isfinite(value):
        return MISSING
    text = f"{value * 100:,.1f}".rstrip("0").rstrip(".")
    if text == "100" and value < 1:
        text = "99.9"
    if text in ("0", "-0"):
        text = _tiny_percent(value)
    return f"{text}%".replace("-", "\u2212")  # the minus sign, as every other number


def _tiny_percent(value: float) -> str:
    """A fraction one decimal of a percentage rounds to nothing, as a percentage: `0`
    when it is nothing (no sign, as `fmt_number` writes zero), else at one significant
    digit (0.0004 is `0.04`, −0.0004 `−0.04`), never read as no change at all."""
    return _number(value * 100, 1, 0) if value else "0"


def meter_value(value: float) -> str:
    """A fraction for a `<meter>`, between 0 and 1 and rounded as `fmt_percent` rounds it:
    0.9649999 is 0.965 beside 96.5%, and short of a whole never 1 (0.999 beside 99.9%)."""
    shown = round(min(max(value, 0.0), 1.0), 3)
    return f"{0.999 if shown >= 1 and value < 1 else shown:g}"


def fmt_relative(value: float | None) -> str:
    """A relative change with its sign: 0.123 → `+12.3%`, -0.011 → `−1.1%`. No change is
    `0.0%`, without a sign; a change one decimal rounds to nothing keeps a significant
    digit (`_tiny_percent`): −0.0004 is `−0.04%`, never `−0.0%`. 123.4 is `+12,340.0%`."""
    if value is None or not math.isfinite(value):
        return MISSING
    text = f"{value * 100:+,.1f}"
    if text in ("+0.0", "-0.0"):
        tiny = _tiny_percent(value)
        text = "0.0" if tiny == "0" else ("+" if value > 0 else "") + tiny
    return f"{text}%".replace("-", "−")


# Below it a p-value is written as `< 0.001` (`7.88e-143` says nothing more; `0`, where
# the normal tail underflows, says something false).
P_FLOOR = 0.001
# The levels a p-value is read against: one below a level never reads as at it.
P_LEVELS = (0.05, 0.01)


def fmt_p(value: float | None) -> str:
    """A p-value to three significant digits, or `< 0.001`; with as many more as keep it
    below a level (`P_LEVELS`) it is below: 0.04996 is `0.04996`, never `0.05`, which
    reads as not significant at 0.05."""
    if value is None or not math.isfinite(value):
        return MISSING
    if value < P_FLOOR:
        return f"< {P_FLOOR}"
    digits = 3
    text = f"{value:.{digits}g}"
    while digits < 17 and any(value < level <= float(text) for level in P_LEVELS):
        digits += 1
        text = f"{value:.{digits}g}"
    return text


def fmt_p_phrase(value: float | None) -> str:
    """`p = 0.034`, `p < 0.001`."""
    text = fmt_p(value)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def fmt_date(day: date | None) -> str:
    """A date as the format writes it (ISO 8601)."""
    return day.isoformat() if day is not None else MISSING


def exact_number(value: float) -> str:
    """The shortest text that reads back to `value`; whole numbers without `.0`."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


# Beyond these decimals a chart's text writes its numbers with an exponent (1.5e-09):
# 0.0000000015 is no easier to read, nor to hear.
_MOST_DECIMALS = 6


def _decimals(value: float) -> int:
    """Decimals needed to show `value` at 4 significant digits, at least 4 when below 1
    (a value of 0.00081 needs 5: at 4 it read as 0.0008, its target)."""
    if value == 0 or not math.isfinite(value):
        return 0
    magnitude = math.floor(math.log10(abs(value)))
    places = max(4 if magnitude < 0 else 0, 3 - magnitude)
    text = f"{round(value, places):.{places}f}"
    if "." not in text:
        return 0
    return min(places, len(text.rstrip("0").split(".")[1]))


def aligned_formatter(values: Iterable[float]) -> Callable[[float], str]:
    """One formatter for a set of numbers read together (a chart's text alternative).

    Every number gets the same decimals, enough for the most precise of them, so
    `5.0 → 4.6` does not read as `5 → 4.6`; at 4 significant digits a value below 1
    keeps what tells it from the others (`0.00081` beside its target `0.00080`), and
    numbers that would need more than `_MOST_DECIMALS` are written with an exponent.
    Two of them that differ never read the same: all get as many decimals more as tell
    them apart (`16.0000 → 15.0004`, target `15.0000`, never `16.0 → 15.0`, target
    `15.0`). A minus sign is `−`, as on the pages.
    """
    numbers = list(values)
    decimals = max([_decimals(v) for v in numbers] + [0])
    if any(v != round(v) for v in numbers):
        decimals = max(decimals, 1)
    distinct = sorted({v for v in numbers if math.isfinite(v)})
    fmt = _aligned(decimals, 0)
    for more in range(1, 18):  # two floats that differ do at 17 significant digits
        if all(a != b for a, b in itertools.pairwise(map(fmt, distinct))):
            break
        fmt = _aligned(decimals, more)
    return fmt


def _aligned(decimals: int, more: int) -> Callable[[float], str]:
    """`aligned_formatter`'s numbers at `decimals` (`more` digits more)."""

    def fmt(v: float) -> str:
        if abs(v) >= 10_000:
            text = f"{v:,.{more}f}"
        elif decimals > _MOST_DECIMALS:
            text = f"{v:.{6 + more}g}"
        else:
            text = f"{v:.{decimals + more}f}"
        return text.replace("-", "−")  # the pages' minus sign, the exponent's too

    return fmt


# --- text for other tools: JSON and spreadsheets ----------------------------------------

# What a spreadsheet takes for the start of a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A signed amount a spreadsheet reads as a number, never as a formula: -5, +0.25, -1.5e-3,
# -5%, -$5, -1,234.5, -1,5 (a decimal comma).
_AMOUNT = re.compile(r"[+-]?[$€£¥]?(?:\d[\d,.]*|[.,]\d+)(?:[eE][+-]?\d+)?%?")
# The separators other than a file's own at which a spreadsheet set to another may split
# a row: the readers the file's own quoting does not hold for.
_OTHER_SEPARATORS = {",": ";\t", ";": ",\t", "\t": ",;"}
# A call in a formula: a function's (`HYPERLINK(`: a name, an operator or a parenthesis
# right before `(`, which may group one: `+(cmd|…)`), another program's (`cmd|' /C
# calc'!A0`: a `|` and then a `!`) or a reference to a sheet (`'…'!A1`). Prose is none:
# `fell (week 3)`, `Great week!`, `nlp|support`.
_CALL = r"(?:\|[^|\r\n]*!|![$A-Za-z]|[\w.+\-*/^&=<>(]\()"
CALL = re.compile(_CALL)
# A piece of a cell that such a spreadsheet starts a cell with: after its separator or a
# line break (it may not see the quotes that keep a line break inside the cell), up to
# the next of either, when it starts with `=` or `@`, or with `+` or `-` and calls
# something: `a;=HYPERLINK(...)`, `x;+cmd|' /C calc'!A0`, to one splitting on `;`.
_STARTS_FORMULA = r"""((?:[=@]|(?=[+-][^{s}\r\n]*{call})[+-])[^{s}\r\n]*)"""
_PIECE = r"""([{s}\r\n][ "]*)""" + _STARTS_FORMULA
# After a line break, the file's own reader too starts a row where a writer left a lone
# carriage return unquoted (Python's does, writing `\n` line ends).
_AFTER_BREAK = r"""([\r\n][ "]*)""" + _STARTS_FORMULA
_INNER_FORMULA = {
    delimiter: (
        *(re.compile(_PIECE.format(s=other, call=_CALL)) for other in others),
        re.compile(_AFTER_BREAK.format(s=re.escape(delimiter), call=_CALL)),
    )
    for delimiter, others in _OTHER_SEPARATORS.items()
}


def spreadsheet_cell(text: str, delimiter: str = ",") -> str:
    """A CSV cell a spreadsheet shows as text, never runs: OWASP's rule.

    A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return, and is
    not a plain amount (`-5`, `+0.3`, `1e-3`, `-5%`, `-$5` stay numbers), gets a
    leading `'`. So does a piece inside it, after a line break or a separator other
    than the file's `delimiter` (`,`, `;`, tab), that starts with `=` or `@`, or with
    `+` or `-` and calls something (:data:`CALL`) before that separator or a line break
    ends it: a spreadsheet that splits on that separator would start a cell there.
    After the file's own separator it is inside a quoted cell for every reader, and
    left as written.
    """
    if text.startswith(FORMULA_STARTS) and not _AMOUNT.fullmatch(text):
        text = "'" + text
    if any(c in text for c in ",;\t\r\n"):
        for piece in _INNER_FORMULA[delimiter]:
            text = piece.sub(r"\1'\2", text)
    return text


def runs_as_formula(cell: str) -> bool:
    """Whether a spreadsheet may run `cell`, as a CSV reader gives it, as a formula: it
    starts with `=` or `@`, or with `+` or `-` and calls something (:data:`CALL`). Not
    a cell that starts with a space (` @alice`), which a spreadsheet shows as text."""
    first = cell[:1]
    return first in ("=", "@") or (first in ("+", "-") and bool(CALL.search(cell)))


def spreadsheet_row(cells: Sequence[str], delimiter: str = ",") -> list[str]:
    """A CSV row a spreadsheet shows as text, never runs, whatever separator it splits
    on: each cell as `spreadsheet_cell` makes it, and a cell a spreadsheet splitting on
    another separator than the file's sees across the file's own (`x;-1,5+cmd|' /C
    calc'!A0` in a `,` file is `-1,5+cmd|…` to one splitting on `;`: -1.5 plus a call
    where `,` is the decimal sign) neutralised where it starts when it starts with `+`
    or `-` and calls something (:data:`CALL`) before that separator or a line break."""
    row = [spreadsheet_cell(cell, delimiter) for cell in cells]
    line = delimiter.join(row)
    if len(row) < 2 or not CALL.search(line):
        return row  # (most rows: no call, so no cell another reader sees can make one)
    for other in _OTHER_SEPARATORS[delimiter]:
        line = delimiter.join(row)
        ends = re.compile(f"[{re.escape(other)}\r\n]")
        starts = [0, *(found.end() for found in ends.finditer(line))]
        quotes = []
        for start in starts:
            end = ends.search(line, start)
            field = line[start : len(line) if end is None else end.start()]
            lead = len(field) - len(field.lstrip(' "'))
            if field[lead : lead + 1] in ("+", "-") and CALL.search(field, lead):
                quotes.append(start + lead)
        if quotes:
            row = _with_quotes(row, delimiter, quotes)
    return row


def _with_quotes(row: list[str], delimiter: str, at: list[int]) -> list[str]:
    """`row` with a `'` before each character at `at` (ascending) of the row joined by
    `delimiter`: each cell made once, however many quotes go in it."""
    made: list[str] = []
    offset, k = 0, 0
    for cell in row:
        end = offset + len(cell)
        cut, parts = 0, []
        while k < len(at) and at[k] <= end:
            parts += [cell[cut : at[k] - offset], "'"]
            cut = at[k] - offset
            k += 1
        made.append("".join(parts) + cell[cut:] if parts else cell)
        offset = end + len(delimiter)
    return made


def json_ready(data: Any) -> Any:
    """`data` with every infinite or not-a-number float replaced by None (JSON `null`),
    and a negative zero by zero.

    JSON has no Infinity or NaN; `json.dumps(..., allow_nan=False)` of the result
    never fails on a number. A progress over a target next to zero can be infinite.
    A value written `-0` is `0` on the pages and in CSV (`exact_number`): `0.0`, never
    `-0.0`, in JSON.
    """
    if isinstance(data, float):
        return (data or 0.0) if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: json_ready(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [json_ready(value) for value in data]
    return data


def json_text(data: Any, **options: Any) -> str:
    """Valid JSON of `data` (non-finite numbers as null), with `json.dumps` options."""
    return json.dumps(json_ready(data), allow_nan=False, **options)


# --- JSON made of pieces -----------------------------------------------------------------
# `json.dumps(..., indent=2)` writes a value nested `d` levels deep as it writes it alone,
# with every line after the first indented by 2 × d more spaces (a string in JSON has no
# line break in it). So a document can be put together from pieces dumped alone, each kept
# apart (generator/reuse.py): the same bytes as one `json_text(..., indent=2)` of it,
# without encoding again what did not change.


def _nested(text: str) -> str:
    return text.replace("\n", "\n  ")


def json_list(items: Iterable[str]) -> str:
    """The text `json_text(values, indent=2)` gives of a list whose values, dumped alone
    with indent=2, are `items`."""
    texts = [_nested(text) for text in items]
    return "[\n  " + ",\n  ".join(texts) + "\n]" if texts else "[]"


def json_object(members: Iterable[tuple[str, str]], ensure_ascii: bool = True) -> str:
    """The text `json_text(mapping, indent=2, ensure_ascii=...)` gives of a mapping whose
    (key, value dumped alone with indent=2) are `members`, in that order (sort them
    first for `sort_keys=True`)."""
    texts = [
        f"{json.dumps(key, ensure_ascii=ensure_ascii)}: {_nested(value)}" for key, value in members
    ]
    return "{\n  " + ",\n  ".join(texts) + "\n}" if texts else "{}"


# --- text for a Markdown comment --------------------------------------------------------

# Backslash-escaped: the ASCII punctuation that starts Markdown inline syntax (emphasis,
# code, links, images, raw HTML, entities, tables, strike-through).
_MARKDOWN_SPECIAL = frozenset("\\`*_{}[]()!|<>~&$")  # `$`: GitHub reads $…$ as math
# What text from outside the format shows as U+FFFD: what the format refuses, and the
# bidirectional marks it allows (they are invisible).
_NOT_SHOWN = re.compile(f"{REFUSED.pattern}|[{''.join(sorted(BIDI_CONTROLS))}]")
ZERO_WIDTH_SPACE = "\u200b"
# A list item when the text starts a line: `- x`, `+ x`, `1. x`.
_BLOCK_START = re.compile(r"^(?:[-+]|\d{1,9}\.)(?= |$)")


def visible_text(text: str) -> str:
    """`text` on one line: whitespace runs become one space; control characters (C1 too),
    bidirectional controls and noncharacters `\ufffd` (text from git, such as an author's
    name, is not held to the format's rules, and reaches the page and the feed's XML)."""
    return _NOT_SHOWN.sub("\ufffd", " ".join(text.split()))


def escape_markdown(text: str) -> str:
    """Charter text shown as written in a Markdown comment, never as live Markdown.

    Links, images, HTML, entities, emphasis and table pipes are backslash-escaped;
    `@name` and `#123` get a zero-width space after the sign (`GH-123` before its
    `-`) so the forge neither mentions a person or team nor links an issue; the `:`
    of `scheme://` and the `.` of `www.` are escaped so no autolink forms; a list or
    heading start is escaped; the text is put on one line (a newline could start a
    block).
    """
    return _escape_line(visible_text(text))


def _escape_line(line: str, at_start: bool = True) -> str:
    """`escape_markdown` of text already on one line; `at_start`: it begins a line."""
    out = []
    for i, ch in enumerate(line):
        if ch == "@":
            out.append("@" + ZERO_WIDTH_SPACE)
        elif ch == "#":
            out.append("\\#" + ZERO_WIDTH_SPACE)
        elif ch in _MARKDOWN_SPECIAL:
            out.append("\\" + ch)
        elif ch == ":" and line.startswith("//", i + 1):
            out.append("\\:")
        elif ch == "." and line[max(0, i - 3) : i].lower() == "www":
            out.append("\\.")
        elif ch == "-" and _gh_reference(line, i):
            out.append(ZERO_WIDTH_SPACE + "-")  # GH-123 links an issue as #123 does
        else:
            out.append(ch)
    escaped = "".join(out)
    match = _BLOCK_START.match(escaped) if at_start else None
    if match:
        escaped = escaped[: match.end() - 1] + "\\" + escaped[match.end() - 1 :]
    return escaped


def _gh_reference(line: str, dash: int) -> bool:
    """Whether the `-` at `dash` makes a `GH-123` (any case), which GitHub links to an
    issue as it does `#123`: `GH` starts a word, a digit follows."""
    start = dash - 2
    return (
        start >= 0
        and line[start:dash].lower() == "gh"
        and (start == 0 or not line[start - 1].isalnum())
        and line[dash + 1 : dash + 2].isdigit()
    )


_CODE_SPAN = re.compile(r"`([^`]+)`")


def escape_message(text: str, table: bool = False) -> str:
    """A generated message that quotes charter text, for a Markdown comment.

    Its `` `id` `` code spans stay code spans (nothing inside one is live); the
    text between them is escaped as `escape_markdown` escapes charter text, so a
    backtick in that text only ever pairs into another inert code span. In a
    table's cell (`table`), see `escape_code_span`.
    """
    line = visible_text(text)
    out = []
    pos = 0
    for match in _CODE_SPAN.finditer(line):
        out.append(_escape_line(line[pos : match.start()], at_start=pos == 0))
        out.append(f"`{escape_code_span(match.group(1), table)}`")
        pos = match.end()
    out.append(_escape_line(line[pos:], at_start=pos == 0))
    return "".join(out)


def escape_code_span(text: str, table: bool = False) -> str:
    """Text for inside a Markdown code span (`` `…` ``): one line, no backtick. In a
    table's cell (`table`), a `|` ends the cell even inside a code span, which then
    comes apart and leaves the rest live Markdown in the next cell: it is written `\\|`,
    which GFM shows as `|` there (and only there)."""
    shown = visible_text(text).replace("`", "'")
    return shown.replace("|", "\\|") if table else shown


# --- text cut to fit a Markdown comment ----------------------------------------------------
# Text is cut before it is escaped, so no backslash escape, and no zero-width space the
# escaping puts after an `@` or a `#`, is ever split from what it guards.

ELLIPSIS = "\u2026"
ZERO_WIDTH_JOINER = "\u200d"
# How far a cut moves to keep together what shows as one character.
_MOST_MOVED = 32


def cut_text(text: str, most: int, begin: int = 0) -> str:
    """`text` on one line (`visible_text`): at most `most` of its characters from `begin`
    (a cut moved to keep a character whole), with `…` where some is left out at either
    end. A cut never splits what shows as one character (`_joined`)."""
    line = visible_text(text)
    if begin <= 0 and len(line) <= most:
        return line
    start = _whole(line, min(begin, len(line)), 0) if begin > 0 else 0
    end = _whole(line, start + most, start) if start + most < len(line) else len(line)
    return (ELLIPSIS if start else "") + line[start:end] + (ELLIPSIS if end < len(line) else "")


def cut_message(text: str, most: int) -> str:
    """A generated message (`escape_message`) cut as `cut_text` cuts it: a code span the
    cut falls in is closed after its `…`, so no backtick is left open to pair with
    another and make live text code, or code live text."""
    line = visible_text(text)
    if len(line) <= most:
        return line
    end = _whole(line, most, 0)
    if end >= len(line):
        return line
    inside = False
    for span in _CODE_SPAN.finditer(line):  # as `escape_message` pairs the backticks
        if span.start() >= end:
            break
        inside = end < span.end()
    return line[:end] + ELLIPSIS + ("`" if inside else "")


def _whole(text: str, at: int, floor: int) -> int:
    """`at`, or the nearest place before it (after `floor`), else after it, at most
    `_MOST_MOVED` away, where a cut splits no character; failing that (a letter under
    hundreds of marks), `at` moved off the middle of a surrogate pair."""
    for place in range(at, max(floor, at - _MOST_MOVED), -1):
        if not _joined(text, place):
            return place
    for place in range(at + 1, min(len(text), at + _MOST_MOVED) + 1):
        if not _joined(text, place):
            return place
    return at + 1 if _surrogates(text, at) else at


def _joined(text: str, at: int) -> bool:
    """Whether `text[at - 1]` and `text[at]` show as one character, so a cut at `at`
    would split it: a mark (an accent, a variation selector) after its letter, a joiner
    and what it joins (an emoji sequence), a skin tone or a tag after its emoji, the two
    regional indicators of a flag, the two halves of a surrogate pair."""
    if not 0 < at < len(text):
        return False
    before, after = text[at - 1], text[at]
    return (
        ZERO_WIDTH_JOINER in (before, after)
        or unicodedata.category(after) in ("Mn", "Mc", "Me")
        or "\U0001f3fb" <= after <= "\U0001f3ff"
        or "\U000e0020" <= after <= "\U000e007f"
        or _surrogates(text, at)
        or (_regional(after) and _regional(before) and _first_of_pair(text, at - 1))
    )


def _surrogates(text: str, at: int) -> bool:
    """Whether a high surrogate ends `text[:at]` and a low one starts `text[at:]`."""
    if not 0 < at < len(text):
        return False
    return "\ud800" <= text[at - 1] <= "\udbff" and "\udc00" <= text[at] <= "\udfff"


def _regional(ch: str) -> bool:
    return "\U0001f1e6" <= ch <= "\U0001f1ff"


def _first_of_pair(text: str, at: int) -> bool:
    """Whether the regional indicator at `at` starts a flag: an even number of them
    before it in its run (they pair from the run's start)."""
    run = 0
    while at - run - 1 >= 0 and _regional(text[at - run - 1]):
        run += 1
    return run % 2 == 0
