"""Load stage: a charter's result files, found by glob, read by suffix, checked row by row.

Every row is validated against `model.ResultRow` and must name a metric the charter
declares; a row that fails is reported where it stands and left out, so no number
on a page comes from a row the loader could not read as written.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import model as m
from .diagnostics import Diagnostics, SourceRef
from .formatting import finite
from .messages import describe, not_declared, validate_model
from .readers import SUFFIXES, Document, FieldPath, Reader, read_text, reader_for

# Where results are looked for when a charter does not list `results:` itself.
DEFAULT_RESULTS = ("results/*",)


@dataclass(frozen=True)
class Result:
    """A validated result row and where it came from."""

    row: m.ResultRow
    ref: SourceRef

    @property
    def file(self) -> str:
        return self.ref.path


def load_results(
    root: Path, folder: Path, doc: Document, metrics: list[str], diags: Diagnostics
) -> list[Result]:
    """The valid rows of every result file of the charter `doc`, in date order."""
    results: list[Result] = []
    for path in _result_files(root, folder, doc, diags):
        results.extend(_load_result_file(root, path.relative_to(root).as_posix(), metrics, diags))
    results.sort(key=lambda r: (r.row.date, r.row.metric, r.row.variant or "", r.ref))
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


def _load_result_file(root: Path, rel: str, metrics: list[str], diags: Diagnostics) -> list[Result]:
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
    out: list[Result] = []
    for i in range(len(rows)):
        result = _load_row(doc, i, reader, metrics, diags)
        if result is not None:
            out.append(result)
    return out


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
