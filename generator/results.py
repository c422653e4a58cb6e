"""Load stage: a charter's result files, found by glob, read by suffix, checked row by row.

Every row is validated against `model.ResultRow`, must name a metric the charter
declares, and must keep the integrity rules of the format (docs/format.md, "Rules
every result row keeps"): one row per date, metric and variant across all of the
charter's result files; values within their unit's meaning and the metric's declared
`range`; a whole `n` of at least 1; `std` not negative; `lower <= value <= upper`;
no date after the build date. A row that breaks one is reported where it stands (at
the cell, or at both rows of a duplicate) and the charter is invalid, so no number
on a page comes from a row the loader could not trust as written.
"""

from __future__ import annotations

import glob
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import TypeAdapter, ValidationError

from . import model as m
from .diagnostics import Diagnostic, Diagnostics, SourceRef, format_path
from .formatting import finite
from .messages import describe, not_declared, validate_model
from .readers import SUFFIXES, Document, FieldPath, Reader, read_text, reader_for

# Where results are looked for when a charter does not list `results:` itself.
DEFAULT_RESULTS = ("results/*",)

# (date, metric, variant): a row's identity; "" is the production value (no variant).
RowKey = tuple[date, str, str]
_DATE: TypeAdapter[date] = TypeAdapter(m.IsoDate)


class _Scale(NamedTuple):
    low: float
    high: float
    name: str
    rule: str


# The two units with a meaning of their own (docs/format.md); any spelling of case.
_UNIT_SCALES = {
    "%": _Scale(0.0, 100.0, "a percentage", "a percentage (unit '%') is between 0 and 100"),
    "ratio": _Scale(0.0, 1.0, "a ratio", "a ratio is between 0 and 1"),
}


@dataclass(frozen=True)
class Result:
    """A validated result row and where it came from."""

    row: m.ResultRow
    ref: SourceRef

    @property
    def file(self) -> str:
        return self.ref.path


@dataclass(frozen=True)
class Bounds:
    """What a metric's values may be: its unit, and the `range` it declares, if any."""

    metric: str
    unit: str | None
    range: tuple[float | None, float | None] | None = None


@dataclass(frozen=True)
class RowRules:
    """What the rows of one charter are checked against."""

    metrics: dict[str, Bounds]  # every declared metric, in declaration order
    today: date  # the build date: no row may be dated after it


@dataclass(frozen=True)
class _Row:
    key: RowKey | None  # None when the date, metric or variant cannot be read
    where: FieldPath
    ref: SourceRef
    result: Result | None  # None when the row breaks a rule


def load_results(
    root: Path,
    folder: Path,
    doc: Document,
    metrics: list[str],
    diags: Diagnostics,
    today: date,
) -> list[Result]:
    """The valid rows of every result file of the charter `doc`, in date order.

    `metrics` are the ids the charter declares; `today` is the build date.
    """
    rules = RowRules(metric_bounds(doc.data, metrics), today)
    rows: list[_Row] = []
    for path in _result_files(root, folder, doc, diags):
        rows.extend(_load_result_file(root, path.relative_to(root).as_posix(), rules, diags))
    duplicated = _report_duplicates(rows, diags)
    results = [r.result for r in rows if r.result is not None and r.key not in duplicated]
    results.sort(key=lambda r: (r.row.date, r.row.metric, r.row.variant or "", r.ref))
    return results


def metric_bounds(data: Any, metrics: list[str]) -> dict[str, Bounds]:
    """Unit and declared range of each metric id in `metrics`, read from the raw charter.

    Read from the raw data so rows are still checked when another part of the charter
    is wrong; a `range` the model refuses is reported there and not applied here.
    """
    found: dict[str, Bounds] = {mid: Bounds(mid, None) for mid in metrics}
    for _, path in m.METRIC_LISTS:
        node: Any = data
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        for item in node if isinstance(node, list) else []:
            mid = item.get("id") if isinstance(item, dict) else None
            if not isinstance(mid, str) or mid not in found or found[mid].unit is not None:
                continue
            unit = item.get("unit")
            found[mid] = Bounds(mid, unit if isinstance(unit, str) else None, _range(item))
    return found


_RANGE: TypeAdapter[list[float | None]] = TypeAdapter(m.ValueRange)


def _range(metric: dict[str, Any]) -> tuple[float | None, float | None] | None:
    raw = metric.get("range")
    if raw is None:
        return None
    try:
        low, high = _RANGE.validate_python(raw, strict=True)
    except ValidationError:
        return None
    return low, high


def _report_duplicates(rows: list[_Row], diags: Diagnostics) -> set[RowKey]:
    """At most one row per (date, metric, variant): each duplicate is reported at every copy."""
    by_key: dict[RowKey, list[_Row]] = {}
    for row in rows:
        if row.key is not None:
            by_key.setdefault(row.key, []).append(row)
    duplicated: set[RowKey] = set()
    for key, copies in by_key.items():
        if len(copies) < 2:
            continue
        duplicated.add(key)
        day, metric, variant = key
        what = f"{day.isoformat()}, {metric}, " + (
            f"variant {variant!r}" if variant else "no variant"
        )
        for row in copies:
            others = ", ".join(str(o.ref) for o in copies if o is not row)
            message = (
                f"duplicate row ({what}): also at {others}; keep one row per date, metric and"
                " variant"
            )
            diags.error(row.ref, format_path(row.where), message, code="duplicate-row")
    return duplicated


def _result_files(root: Path, folder: Path, doc: Document, diags: Diagnostics) -> list[Path]:
    """The files matched by the charter's `results` globs (or the default), each once."""
    raw = doc.data.get("results") if isinstance(doc.data, dict) else None
    explicit = isinstance(raw, list)
    patterns: list[Any] = raw if isinstance(raw, list) else list(DEFAULT_RESULTS)
    files: dict[Path, Path] = {}
    folder_real = folder.resolve()
    for i, pattern in enumerate(patterns):
        where: FieldPath = ("results", i)
        if not isinstance(pattern, str):
            continue  # reported by validation
        if _leaves(pattern):
            message = f"{pattern!r} leaves the charter's folder; use a glob relative to it"
            diags.add(doc.at(where, message, "outside-folder"))
            continue
        matches = sorted(Path(p) for p in glob.glob(pattern, root_dir=folder, recursive=True))
        matches = [folder / p for p in matches if not p.name.startswith(".")]
        if explicit and not matches:
            message = f"{pattern!r} matches no file in {folder.relative_to(root).as_posix()}/"
            diags.add(doc.at(where, message, "no-match"))
        for path in matches:
            if path.is_dir():
                continue
            rel = path.relative_to(root).as_posix()
            real = path.resolve()
            if not real.is_relative_to(folder_real):
                message = "result file is a link that leaves the charter's folder"
                diags.error(SourceRef(rel), "", message, code="outside-folder")
            elif reader_for(rel) is None:
                expected = ", ".join(SUFFIXES[:-1]) + " or " + SUFFIXES[-1]
                message = f"{rel} is not a result file: expected {expected}"
                if explicit:
                    diags.add(doc.at(where, message, "bad-result-file"))
                else:
                    diags.error(SourceRef(rel), "", message, code="bad-result-file")
            else:
                files.setdefault(real, path)
    return sorted(files.values())


def _leaves(pattern: str) -> bool:
    path = Path(pattern)
    return path.is_absolute() or ".." in path.parts or pattern.startswith(("/", "\\"))


def _load_result_file(root: Path, rel: str, rules: RowRules, diags: Diagnostics) -> list[_Row]:
    """Each row of one file: where it is, its identity and, when it keeps every rule, its result."""
    reader = reader_for(rel)
    text = read_text(root, rel, diags)
    if reader is None or text is None:
        return []
    doc = reader.parse(text, rel, diags)
    if doc is None:
        return []
    rows = doc.data
    if not isinstance(rows, list):
        diags.add(doc.at((), f"expected a list of result rows, got {describe(rows)}", "wrong-type"))
        return []
    return [_load_row(doc, i, reader, rules, diags) for i in range(len(rows))]


def _load_row(doc: Document, i: int, reader: Reader, rules: RowRules, diags: Diagnostics) -> _Row:
    raw = doc.data[i]
    if not isinstance(raw, dict):
        diags.add(doc.at((i,), f"expected a row mapping, got {describe(raw)}"))
        return _Row(None, (i,), doc.ref((i,)), None)
    if reader.text_only:
        raw = doc.data[i] = _numbers_from_text(raw)
    elif _number(raw.get("n")) is not None and float(raw["n"]).is_integer():
        raw["n"] = int(raw["n"])  # 4188.0 from a JSON export is the count 4188, as in CSV
    metric = raw.get("metric")
    known = not isinstance(metric, str) or metric in rules.metrics
    if not known:
        diags.add(
            doc.at((i, "metric"), not_declared(metric, list(rules.metrics)), "unknown-metric")
        )
    # The integrity rules read the raw row, so they report even when another cell of the
    # row is wrong too; a cell they report is not reported again by the model.
    own = list(_integrity(doc, i, rules))
    diags.extend(own)
    scratch = Diagnostics()
    row = validate_model(m.ResultRow, doc, scratch, base=(i,))
    reported = {d.field for d in own}
    diags.extend(d for d in scratch if d.field not in reported)
    ok = row is not None and known and not own
    result = Result(row, doc.ref((i,))) if row is not None and ok else None
    return _Row(_key(raw), (i,), doc.ref((i,)), result)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return finite(value)


def _integrity(doc: Document, i: int, rules: RowRules) -> Iterator[Diagnostic]:
    """Every integrity rule of one row, each problem at its cell."""
    raw = doc.data[i]
    yield from _interval_contains_value(doc, i)
    metric = raw.get("metric")
    bounds = rules.metrics.get(metric) if isinstance(metric, str) else None
    for name in ("value", "lower", "upper"):
        number = _number(raw.get(name))
        if number is not None and bounds is not None:
            problem = _outside(number, bounds)
            if problem:
                yield doc.at((i, name), problem, "out-of-range")
    n = _number(raw.get("n"))
    if n is not None and (not n.is_integer() or n < 1):
        message = f"{_num(n)} is not a sample size; n is a whole number, at least 1"
        yield doc.at((i, "n"), message, "out-of-range")
    std = _number(raw.get("std"))
    if std is not None and std < 0:
        message = f"{_num(std)} is not a standard deviation; std is 0 or more"
        yield doc.at((i, "std"), message, "out-of-range")
    day = _date(raw.get("date"))
    if day is not None and day > rules.today:
        message = (
            f"{day.isoformat()} is after the build date, {rules.today.isoformat()}; a result"
            " cannot be dated later than the build (--today, else SOURCE_DATE_EPOCH, else today)"
        )
        yield doc.at((i, "date"), message, "future-date")


def _interval_contains_value(doc: Document, i: int) -> Iterator[Diagnostic]:
    """`lower <= value <= upper`, reported at the bound that is wrong."""
    raw = doc.data[i]
    value = _number(raw.get("value"))
    if value is None:
        return
    for bound, wrong, relation in (("lower", float.__gt__, "<="), ("upper", float.__lt__, ">=")):
        limit = _number(raw.get(bound))
        if limit is not None and wrong(limit, value):
            message = (
                f"{bound} ({limit:g}) must be {relation} value ({value:g});"
                " the interval [lower, upper] holds the value"
            )
            yield doc.at((i, bound), message)


def _outside(number: float, bounds: Bounds) -> str | None:
    """Why `number` cannot be a value of the metric, or None if it can."""
    scale = _UNIT_SCALES.get(bounds.unit.strip().lower()) if bounds.unit else None
    if scale is not None and not scale.low <= number <= scale.high:
        return f"{_num(number)} is not {scale.name}; {scale.rule}"
    if bounds.range is None:
        return None
    low, high = bounds.range
    if (low is None or number >= low) and (high is None or number <= high):
        return None
    shown = f"[{'null' if low is None else _num(low)}, {'null' if high is None else _num(high)}]"
    if low is not None and high is not None:
        allowed = f"between {_num(low)} and {_num(high)}"
    elif low is not None:
        allowed = f"at least {_num(low)}"
    else:
        allowed = f"at most {_num(high or 0.0)}"
    return (
        f"{_num(number)} is outside the range {shown} declared for {bounds.metric};"
        f" its values are {allowed}"
    )


def _num(number: float) -> str:
    """A number as written: 95, 0.925, -2.5."""
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)


def _date(value: Any) -> date | None:
    try:
        return _DATE.validate_python(value, strict=True)
    except ValidationError:
        return None


def _key(raw: dict[str, Any]) -> RowKey | None:
    """(date, metric, variant) of a row, or None when one of them cannot be read."""
    day, metric, variant = _date(raw.get("date")), raw.get("metric"), raw.get("variant")
    if day is None or not isinstance(metric, str) or not isinstance(variant, str | None):
        return None
    return day, metric, variant or ""


_NUMERIC = {"value", "lower", "upper", "std"}


def _numbers_from_text(raw: dict[str, Any]) -> dict[str, Any]:
    """Cells read as text (CSV): turn numeric columns into numbers where they parse."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _NUMERIC:
            try:
                out[key] = float(value)
            except ValueError:
                out[key] = value
        elif key == "n":
            try:
                out[key] = int(value)
            except ValueError:
                try:
                    as_float = float(value)
                    out[key] = int(as_float) if as_float.is_integer() else as_float
                except ValueError:
                    out[key] = value
        else:
            out[key] = value
    return out
