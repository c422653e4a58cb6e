"""Load stage: a charter's result files, found by glob, read by suffix, checked row by row.

Every row is validated against `model.ResultRow` and must name a metric the charter
declares; a row that fails is reported where it stands and left out, so no number
on a page comes from a row the loader could not read as written.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from . import model as m
from .diagnostics import Diagnostics, SourceRef, excerpt
from .formatting import finite
from .messages import describe, not_declared, validate_model
from .readers import (
    MAX_ROWS,
    SUFFIXES,
    Document,
    FieldPath,
    Reader,
    read_number,
    read_text,
    reader_for,
)

# Where results are looked for when a charter does not list `results:` itself.
DEFAULT_RESULTS = ("results/*",)


@dataclass(frozen=True, slots=True)
class Row:
    """The values of a validated result row, held compactly.

    A result file can hold a million rows; a validated pydantic model takes about
    1.5 KB each, this about 200 bytes (slots, and one object for each repeated date,
    metric id and variant). Same fields as `model.ResultRow`.
    """

    date: date
    metric: str
    value: float
    lower: float | None = None
    upper: float | None = None
    variant: str | None = None
    n: int | None = None
    std: float | None = None
    note: str | None = None
    extensions: Mapping[str, Any] = field(default_factory=lambda: _NO_EXTENSIONS)

    @classmethod
    def of(cls, row: m.ResultRow, shared: dict[object, Any]) -> Row:
        """The compact copy of `row`; `shared` keeps one object per repeated value."""
        return cls(
            shared.setdefault(row.date, row.date),
            shared.setdefault(row.metric, row.metric),
            row.value,
            row.lower,
            row.upper,
            shared.setdefault(row.variant, row.variant),
            shared.setdefault(row.n, row.n),
            row.std,
            row.note,
            dict(row.extensions) if row.extensions else _NO_EXTENSIONS,
        )


# Shared by every row without `x-` columns; typed read-only (a plain dict pickles).
_NO_EXTENSIONS: Mapping[str, Any] = {}


class Result:
    """A validated result row and where it came from.

    Immutable; the position is kept as its parts (the file's path is one string shared
    by its rows), which saves a `SourceRef` a row.
    """

    __slots__ = ("_col", "_line", "_path", "row")

    row: Row | m.ResultRow
    _path: str
    _line: int
    _col: int

    def __init__(self, row: Row | m.ResultRow, ref: SourceRef) -> None:
        object.__setattr__(self, "row", row)
        object.__setattr__(self, "_path", ref.path)
        object.__setattr__(self, "_line", ref.line)
        object.__setattr__(self, "_col", ref.col)

    def __reduce__(self) -> tuple[type[Result], tuple[Row | m.ResultRow, SourceRef]]:
        return (Result, (self.row, self.ref))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Result is immutable (tried to set {name!r})")

    @property
    def ref(self) -> SourceRef:
        return SourceRef(self._path, self._line, self._col)

    def _key(self) -> tuple[object, ...]:
        return (self.row, self._path, self._line, self._col)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Result) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Result(row={self.row!r}, ref={self.ref!r})"

    @property
    def file(self) -> str:
        return self._path


def load_results(
    root: Path, folder: Path, doc: Document, metrics: list[str], diags: Diagnostics
) -> list[Result]:
    """The valid rows of every result file of the charter `doc`, in date order."""
    results: list[Result] = []
    for path in _result_files(root, folder, doc, diags):
        results.extend(_load_result_file(root, path.relative_to(root).as_posix(), metrics, diags))
    results.sort(key=lambda r: (r.row.date, r.row.metric, r.row.variant or "", r.file, r._line))
    return results


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
            message = f"{excerpt(pattern)} leaves the charter's folder; use a glob relative to it"
            diags.add(doc.at(where, message, "outside-folder"))
            continue
        matches = sorted(Path(p) for p in glob.glob(pattern, root_dir=folder, recursive=True))
        matches = [folder / p for p in matches if not p.name.startswith(".")]
        if not _folders_readable(root, folder, pattern, matches, doc, where, diags):
            continue
        if explicit and not matches:
            where_rel = folder.relative_to(root).as_posix()
            message = f"{excerpt(pattern)} matches no file in {where_rel}/"
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


def _folders_readable(
    root: Path,
    folder: Path,
    pattern: str,
    matches: list[Path],
    doc: Document,
    where: FieldPath,
    diags: Diagnostics,
) -> bool:
    """Refuse a pattern that names folders only, or whose folders cannot be listed.

    `results: [results]` matches the folder, not the files in it, and glob skips a
    folder it cannot read without a word: both would give no results silently.
    """
    if matches and all(path.is_dir() for path in matches):
        message = (
            f"{excerpt(pattern)} matches only folders; match the files in them,"
            f" e.g. {excerpt(pattern.rstrip('/') + '/*')}"
        )
        diags.add(doc.at(where, message, "no-match"))
        return False
    fixed = folder
    for part in Path(pattern).parts:
        if any(ch in part for ch in "*?["):
            break
        fixed = fixed / part
    for candidate in sorted({folder, fixed, *(p.parent for p in matches)}):
        if candidate.is_dir() and not os.access(candidate, os.R_OK | os.X_OK):
            rel = candidate.relative_to(root).as_posix()
            diags.error(SourceRef(rel), "", "cannot read this folder (permission denied)")
            return False
    return True


def _leaves(pattern: str) -> bool:
    path = Path(pattern)
    return path.is_absolute() or ".." in path.parts or pattern.startswith(("/", "\\"))


def _load_result_file(root: Path, rel: str, metrics: list[str], diags: Diagnostics) -> list[Result]:
    reader = reader_for(rel)
    if reader is None:
        return []
    text = read_text(root, rel, diags, reader.max_bytes)
    if text is None:
        return []
    doc = reader.parse(text, rel, diags)
    if doc is None:
        return []
    rows = doc.data
    if not isinstance(rows, Sequence) or isinstance(rows, str):
        diags.add(doc.at((), f"expected a list of result rows, got {describe(rows)}", "wrong-type"))
        return []
    if len(rows) > MAX_ROWS:
        message = f"more than {MAX_ROWS:,} rows in one file (the limit); split the file"
        diags.add(doc.at((), message, "limit"))
        return []
    out: list[Result] = []
    shared: dict[object, Any] = {}
    for i in range(len(rows)):
        result = _load_row(doc, i, reader, metrics, diags)
        if result is not None:
            out.append(_compact(result, shared))
    return out


def _compact(result: Result, shared: dict[object, Any]) -> Result:
    """The result with its row as a compact `Row`, repeated values shared across the file."""
    if isinstance(result.row, Row):
        return result
    return Result(Row.of(result.row, shared), result.ref)


def _load_row(
    doc: Document, i: int, reader: Reader, metrics: list[str], diags: Diagnostics
) -> Result | None:
    raw = doc.data[i]
    if not isinstance(raw, dict):
        diags.add(doc.at((i,), f"expected a row mapping, got {describe(raw)}"))
        return None
    if reader.text_only:
        raw = doc.data[i] = _numbers_from_text(raw)
    metric = raw.get("metric")
    known = not isinstance(metric, str) or metric in metrics
    if not known:
        diags.add(doc.at((i, "metric"), not_declared(metric, metrics), "unknown-metric"))
    contains = _interval_contains_value(doc, i, diags)
    row = validate_model(m.ResultRow, doc, diags, base=(i,))
    if row is None or not known or not contains:
        return None
    return Result(row, doc.ref((i,)))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return finite(value)


def _interval_contains_value(doc: Document, i: int, diags: Diagnostics) -> bool:
    """`lower <= value <= upper`, reported at the bound that is wrong.

    Checked on the raw row, so it is reported even when another cell of the row is
    wrong too.
    """
    raw = doc.data[i]
    value = _number(raw.get("value"))
    if value is None:
        return True
    ok = True
    for bound, wrong, relation in (("lower", float.__gt__, "<="), ("upper", float.__lt__, ">=")):
        limit = _number(raw.get(bound))
        if limit is not None and wrong(limit, value):
            message = f"{bound} ({limit:g}) must be {relation} value ({value:g})"
            diags.add(doc.at((i, bound), message))
            ok = False
    return ok


_NUMERIC = {"value", "lower", "upper", "std"}


# A number in a text cell: decimal as in YAML 1.2 and JSON, or a spelling of infinity
# or not-a-number (refused by the model as "not a finite number"). Python's float()
# also takes `1_000` and surrounding spaces; those stay text and get a hint.
_DECIMAL = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_NOT_FINITE = re.compile(r"[-+]?(?:inf|infinity|nan)", re.IGNORECASE)


def _text_number(value: str, whole: bool) -> Any:
    if _NOT_FINITE.fullmatch(value):
        return float(value)
    if not _DECIMAL.fullmatch(value):
        return value
    if whole and value.lstrip("+-").isdigit():
        return read_number(value, True)
    number = float(value)
    return int(number) if whole and number.is_integer() and abs(number) < 1e300 else number


def _numbers_from_text(raw: dict[str, Any]) -> dict[str, Any]:
    """Cells read as text (CSV): turn numeric columns into numbers where they parse."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _NUMERIC or key == "n":
            out[key] = _text_number(value, key == "n")
        else:
            out[key] = value
    return out
