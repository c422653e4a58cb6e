"""Pull stage: the rows a source returned as a result file, validated as result files are.

The rows are written as CSV text in the order the source returned them and that
text goes through the loader's own result-file validation (`results.load_results`,
with the text standing in for the file among the charter's other result files), so
a pulled file is held to exactly the rules of a typed one: the model, declared
metrics, units and ranges, no date after the build date, one row per date, metric
and variant. A problem is reported with the row number (as the query returned it)
and the column. Only then are the rows sorted (date, metric, variant) and written
with stable number formatting, so an unchanged source gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostics
from ..formatting import exact_number
from ..readers import parse_csv
from ..results import load_results
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
        return _decimal_text(value) if value.is_finite() else str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return exact_number(value)
    return str(value)


def _decimal_text(value: Decimal) -> str:
    """A DECIMAL's own digits, without an exponent or trailing zeros: a float has 17
    significant digits, and `98765432109876.54` read through one was written
    `98765432109876.55` (docs/pull.md: rounded in SQL, the file holds those digits)."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def render(names: list[str], rows: list[list[str]]) -> str:
    present = [c for c in COLUMNS if c in names]
    order = [names.index(c) for c in present]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    # The writer quotes a cell holding its own line end, `\n`, not one holding `\r`, which
    # a reader takes for a line break too: such a row is quoted whole.
    quoted = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(present)
    for row in rows:
        cells = [row[i] for i in order]
        (quoted if any("\r" in c for c in cells) else writer).writerow(cells)
    return buffer.getvalue()


def result_bytes(
    job: Job, table: Table, root: Path, today: date, replaced: Sequence[str] = ()
) -> bytes:
    """The result file for `table`, or RowErrors / PullError; rows are validated first.

    `root` is the source folder, `today` the build date no row may be dated after;
    `replaced`, the charter's other files this run pulls anew, whose old rows are not
    held against these.
    """
    names = columns(job, table)
    if not table.rows:
        kept = (
            "the previous file is kept"
            if (job.folder / job.entry.into).exists()
            else "no file is written"
        )
        if job.entry.sql is not None:
            empty = f"the query returned no rows; {kept} (check its filters and parameters)"
        else:
            empty = f"no finished run gave a row; {kept} (check the experiment and `runs`)"
        raise PullError(empty, ("sql",) if job.entry.sql is not None else ("mlflow",), "no-rows")
    rows = [[cell(n, v) for n, v in zip(names, raw, strict=True)] for raw in table.rows]
    problems = _timestamps(names, table)
    said = {(row, column) for row, column, _ in problems}
    problems += [
        p
        for p in _row_problems(job, render(names, rows), root, today, replaced)
        if p[:2] not in said
    ]
    if problems and job.entry.mlflow is not None and "note" in names:
        # A row of an MLflow pull is a run: its number is the tool's, its run id the
        # user's (the note holds it), so the message names the run too.
        at = names.index("note")
        problems = [
            (row, column, f"{message} ({rows[row - 1][at]})" if 0 < row <= len(rows) else message)
            for row, column, message in problems
        ]
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


def _row_problems(
    job: Job, text: str, root: Path, today: date, replaced: Sequence[str] = ()
) -> list[tuple[int, str, str]]:
    """What the loader finds wrong with the rows `text` holds, as if it were the file `job.rel`
    (the files `replaced` read as empty: their old rows are on their way out).

    Only problems located in that file count; another file of the charter that is
    wrong is `charters check`'s to report. A mention of a place in the pulled text
    ("also at FILE:LINE:1", in a duplicate) becomes the row number it stands for.
    """
    diags = Diagnostics()
    pending = {**dict.fromkeys(replaced, ""), job.rel: text}
    load_results(root, job.folder, job.doc, list(job.metrics), diags, today, pending)
    rows = _row_numbers(job.rel, text)
    place = re.compile(re.escape(job.rel) + r":(\d+):1\b")
    out: list[tuple[int, str, str]] = []
    seen: set[tuple[int, str]] = set()  # one problem a cell (a look through `out` was N²)
    for d in diags.errors:
        if d.ref.path != job.rel:
            continue
        match = _ROW_FIELD.match(d.field)
        row, column = (int(match.group(1)) + 1, match.group(2) or "") if match else (0, "")
        message = place.sub(
            lambda mt: f"row {rows.get(int(mt.group(1)), 0)} of this pull", d.message
        )
        if (row, column) not in seen:
            seen.add((row, column))
            out.append((row, column, message))
    return out


def _row_numbers(rel: str, text: str) -> dict[int, int]:
    """Line of the pulled text where each row starts: its row number, from 1."""
    doc = parse_csv(text, rel, Diagnostics())
    if doc is None:
        return {}
    return {doc.ref((i,)).line: i + 1 for i in range(len(doc.data))}
