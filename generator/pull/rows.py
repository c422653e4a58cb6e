"""From rows a source returned to the bytes of a result file, validated as result files are.

The rows are written as CSV text in the order the source returned them and that
text goes through the loader's own result-file validation, so a pulled file is
held to exactly the rules of a typed one; a problem is reported with the row
number (as the query returned it) and the column. Only then are the rows sorted
(date, metric, variant) and written with stable number formatting, so an
unchanged source gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import math
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ..diagnostics import Diagnostics
from ..validate import parse_results
from .config import Job, PullError
from .sql import Table

COLUMNS = ("date", "metric", "variant", "value", "lower", "upper", "n", "std", "note")
REQUIRED = ("date", "metric", "value")
_ROW_FIELD = re.compile(r"^\[(\d+)\](?:\.(.+))?$")


class RowErrors(Exception):
    """Rows that are not valid result rows: (row number from 1, column, message)."""

    def __init__(self, problems: list[tuple[int, str, str]]) -> None:
        super().__init__(f"{len(problems)} invalid rows")
        self.problems = problems


def columns(job: Job, table: Table) -> list[str]:
    """The result columns of `table` (names folded to lower case), or a PullError."""
    names = [str(c).strip().lower() for c in table.columns]
    where = ("sql",) if job.entry.sql is not None else ("mlflow",)
    allowed = (
        f"a result row has {', '.join(REQUIRED)} and may have variant, n, std, lower, upper, note"
    )
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise PullError(f"the query returns the column {twice[0]!r} twice", where, "bad-columns")
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise PullError(
            f"the query returns the column {unknown[0]!r}, which is not a result column;"
            f" {allowed} (rename it with AS, or leave it out)",
            where,
            "bad-columns",
        )
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        raise PullError(
            f"the query returns no column {missing[0]!r}"
            f" (it returns: {', '.join(names)}); {allowed}",
            where,
            "missing-column",
        )
    return names


def number(value: float) -> str:
    """The shortest text that reads back to `value`; whole numbers without `.0`."""
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def cell(column: str, value: Any) -> str:
    """One value from a driver as the text of a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return number(float(value)) if value.is_finite() else str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return number(value)
    return str(value)


def render(names: list[str], rows: list[list[str]]) -> str:
    present = [c for c in COLUMNS if c in names]
    order = [names.index(c) for c in present]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(present)
    for row in rows:
        writer.writerow([row[i] for i in order])
    return buffer.getvalue()


def result_bytes(job: Job, table: Table) -> bytes:
    """The result file for `table`, or RowErrors / PullError; rows are validated first."""
    names = columns(job, table)
    if not table.rows:
        raise PullError(
            "the query returned no rows; the previous file is kept (check its filters and"
            " parameters)",
            ("sql",) if job.entry.sql is not None else ("mlflow",),
            "no-rows",
        )
    rows = [[cell(n, v) for n, v in zip(names, raw, strict=True)] for raw in table.rows]
    problems = _timestamps(names, table)
    diags = Diagnostics()
    parse_results(render(names, rows), job.rel, list(job.metrics), diags)
    for d in diags.errors:
        match = _ROW_FIELD.match(d.field)
        row, column = (int(match.group(1)) + 1, match.group(2) or "") if match else (0, "")
        if not any(p[0] == row and p[1] == column for p in problems):
            problems.append((row, column, d.message))
    if problems:
        raise RowErrors(sorted(problems))
    key = [names.index(c) if c in names else None for c in ("date", "metric", "variant")]
    rows.sort(key=lambda r: ([r[i] if i is not None else "" for i in key], r))
    return render(names, rows).encode()


def _timestamps(names: list[str], table: Table) -> list[tuple[int, str, str]]:
    """A date column holding timestamps: say how to fix the query, not only that it is wrong."""
    i = names.index("date")
    out = []
    for number_, raw in enumerate(table.rows, start=1):
        value = raw[i]
        if isinstance(value, datetime):
            out.append(
                (
                    number_,
                    "date",
                    f"expected a date, got the timestamp {value.isoformat(sep=' ')};"
                    " cast it in the query: CAST(… AS DATE)",
                )
            )
    return out
