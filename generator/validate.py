"""Loading a source tree: every file read, validated against the model, cross-checked.

`load_project` never raises for bad input: it returns what it could load and a
list of located diagnostics. Nothing is written here.
"""

from __future__ import annotations

import difflib
import glob
import math
import re
import types
import typing
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from . import model as m
from .diagnostics import Diagnostics, SourceRef, format_path
from .sources import Document, FieldPath, parse_csv, parse_json, parse_yaml, read_text

T = TypeVar("T", bound=BaseModel)

RESULT_SUFFIXES = (".csv", ".json", ".yaml", ".yml")
DEFAULT_RESULTS = ("results/*",)


@dataclass(frozen=True)
class Result:
    """A validated result row and where it came from."""

    row: m.ResultRow
    ref: SourceRef

    @property
    def file(self) -> str:
        return self.ref.path


@dataclass
class LoadedCharter:
    """A charter that passed validation, with its source positions and results."""

    id: str
    path: str  # charter.yaml, relative to the source root
    charter: m.Charter
    doc: Document
    results: list[Result] = field(default_factory=list)
    result_files: list[str] = field(default_factory=list)

    def metric_ids(self) -> list[str]:
        return (
            [x.id for x in self.charter.business_metrics]
            + [x.id for x in self.charter.ml_metrics]
            + [x.id for x in self.charter.measurement.guardrails]
        )


@dataclass
class Project:
    """Everything loaded from a source tree."""

    root: Path
    site: m.SiteConfig
    charters: list[LoadedCharter]
    site_doc: Document | None = None


def load_project(root: Path) -> tuple[Project, Diagnostics]:
    """Load and validate `root`; return the valid charters and every problem found."""
    diags = Diagnostics()
    site, site_doc = _load_site(root, diags)
    charters: list[LoadedCharter] = []
    charters_dir = root / "charters"
    if not charters_dir.is_dir():
        diags.error(
            SourceRef("charters"),
            "",
            "no charters/ folder: put one folder per project in charters/<id>/charter.yaml",
            code="no-charters",
        )
    else:
        for entry in sorted(charters_dir.iterdir(), key=lambda p: p.name):
            if entry.name.startswith(".") or not entry.is_dir():
                continue
            loaded = _load_charter(root, entry, diags)
            if loaded is not None:
                charters.append(loaded)
    from .pull.config import check_connections  # pull entries name site.yaml connections

    check_connections(site, charters, diags)
    return Project(root, site, charters, site_doc), diags


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _load_site(root: Path, diags: Diagnostics) -> tuple[m.SiteConfig, Document | None]:
    path = root / "site.yaml"
    if not path.exists():
        return m.SiteConfig(), None
    text = read_text(root, "site.yaml", diags)
    doc = parse_yaml(text, "site.yaml", diags) if text is not None else None
    if doc is None:
        return m.SiteConfig(), None
    site = validate_model(m.SiteConfig, doc, diags)
    return (site or m.SiteConfig()), doc


def _load_charter(root: Path, folder: Path, diags: Diagnostics) -> LoadedCharter | None:
    cid = folder.name
    folder_rel = _rel(root, folder)
    ok = True
    if not re.match(m.ID_PATTERN, cid):
        diags.error(
            SourceRef(folder_rel),
            "",
            f"folder name {cid!r} is not a valid charter id: use lowercase letters, digits"
            f" and '-', starting with a letter or digit, at most 63 characters ({m.ID_PATTERN})",
            code="invalid-id",
        )
        ok = False
    yaml_path = folder / "charter.yaml"
    rel = _rel(root, yaml_path)
    if not yaml_path.is_file():
        other = [p.name for p in (folder / "charter.yml",) if p.exists()]
        hint = " (rename charter.yml to charter.yaml)" if other else ""
        diags.error(
            SourceRef(folder_rel),
            "",
            f"folder has no charter.yaml{hint}; every folder under charters/ is a project",
            code="missing-charter",
        )
        return None
    text = read_text(root, rel, diags)
    if text is None:
        return None
    doc = parse_yaml(text, rel, diags)
    if doc is None:
        return None
    before = len(diags.errors)
    charter = validate_model(m.Charter, doc, diags)
    metrics = _check_references(doc, diags)
    files, results = _load_results(root, folder, doc, metrics, diags)
    if charter is None or not ok or len(diags.errors) > before:
        return None
    return LoadedCharter(cid, rel, charter, doc, results, files)


# --- model validation with located, readable messages ---------------------------------


def validate_model(
    cls: type[T], doc: Document, diags: Diagnostics, base: FieldPath = ()
) -> T | None:
    """Validate `doc.data` (or the node at `base`) against `cls`; record located errors."""
    data: Any = doc.data
    for part in base:
        data = data[part]
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            _record(cls, doc, diags, error, base)
        return None


def _record(
    cls: type[BaseModel], doc: Document, diags: Diagnostics, error: ErrorDetails, base: FieldPath
) -> None:
    loc: FieldPath = tuple(p for p in error["loc"] if p != "x-extensions")
    path = (*base, *loc)
    kind = error["type"]
    field_path = format_path(path)
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _fields_at(cls, loc[:-1])
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        what = "column" if doc.path.endswith(".csv") else "key"
        diags.error(
            doc.key_ref(path),
            field_path,
            f"unknown {what} {key!r}{hint}; allowed: {', '.join(allowed)}, or x-* extension keys",
            code="unknown-key",
        )
        return
    if kind == "missing":
        diags.error(
            doc.ref(path[:-1]),
            field_path,
            f"required field {str(path[-1])!r} is missing",
            code="missing-field",
        )
        return
    ref = doc.ref(path)
    message = _message(error, doc, path)
    code = "invalid-value"
    if kind == "literal_error":
        code = "invalid-choice"
    elif kind.endswith("_type") or kind == "model_attributes_type":
        code = "wrong-type"
    diags.error(ref, field_path, message, code=code)


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value:g}" if isinstance(value, float) else f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__} ({value})"


_EXPECTED = {
    "string_type": "text",
    "float_type": "a number",
    "int_type": "a whole number",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "date_type": "a date as YYYY-MM-DD",
    "date_from_datetime_inexact": "a date as YYYY-MM-DD",
    "int_from_float": "a whole number",
}


def _yaml_hint(doc: Document, path: FieldPath, value: Any) -> str:
    scalar = doc.scalars.get(path)
    if scalar is None or scalar.quoted:
        return ""
    if isinstance(value, bool):
        return f" (YAML reads unquoted {scalar.raw} as a boolean; quote it: '{scalar.raw}')"
    if isinstance(value, float) and not math.isfinite(value):
        return f" (YAML reads {scalar.raw} as not-a-number or infinity)"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f" (quote it to keep it as text: '{scalar.raw}')"
    if scalar.tag.endswith(":timestamp") and isinstance(value, date):
        return f" (YAML reads {scalar.raw} as a date; quote it to keep it as text)"
    if value is None:
        return f" (YAML reads {scalar.raw or 'an empty value'} as null)"
    return ""


def _message(error: ErrorDetails, doc: Document, path: FieldPath) -> str:
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "literal_error":
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return (
            f"{_describe(value)} is not allowed{_yaml_hint(doc, path, value)};"
            f" expected one of: {', '.join(allowed)}"
        )
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {_describe(value)}{_yaml_hint(doc, path, value)}"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        what = "metric id" if pattern == m.METRIC_ID_PATTERN else "value"
        rule = (
            "lowercase letters, digits and '_', starting with a letter, at most 63 characters"
            if pattern == m.METRIC_ID_PATTERN
            else f"it must match {pattern}"
        )
        return f"{value!r} is not a valid {what}: use {rule}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short":
        return "needs at least one item"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        sign = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<"}.get(kind, "<=")
        bound = next(iter(ctx.values()), "")
        return f"must be {sign} {bound}, got {_describe(value)}"
    if kind == "value_error":
        text = str(ctx.get("error", error["msg"]))
        return text + _yaml_hint(doc, path, value)
    return f"{error['msg']}, got {_describe(value)}{_yaml_hint(doc, path, value)}"


def _fields_at(cls: type[BaseModel], loc: FieldPath) -> list[str]:
    """Allowed keys of the model reached by following `loc` from `cls`."""
    current: Any = cls
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        current = _model_of(fields[part].annotation)
        if current is None:
            return []
    fields = getattr(current, "model_fields", {})
    return [name for name in fields if name != "extensions"]


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _model_of(typing.get_args(annotation)[0])
    if origin in (list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_of(arg)
            if found is not None:
                return found
    return None


# --- cross-field rules -----------------------------------------------------------------
# These read the raw data, not the model, so they still report when another part of
# the same charter failed validation: one run shows every problem.


def _items(data: Any, *path: str) -> list[tuple[int, dict[str, Any]]]:
    node = data
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, list):
        return []
    return [(i, item) for i, item in enumerate(node) if isinstance(item, dict)]


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _check_references(doc: Document, diags: Diagnostics) -> list[str]:
    """Check ids and references; return the declared metric ids."""
    data = doc.data if isinstance(doc.data, dict) else {}
    declared: dict[str, FieldPath] = {}
    for path in (("business_metrics",), ("ml_metrics",), ("measurement", "guardrails")):
        for i, item in _items(data, *path):
            mid = _str(item.get("id"))
            if mid is not None:
                _declare(declared, mid, (*path, i, "id"), doc, diags)
    business = list(
        dict.fromkeys(
            mid for _, item in _items(data, "business_metrics") if (mid := _str(item.get("id")))
        )
    )
    every = list(declared)
    for i, ml in _items(data, "ml_metrics"):
        drives = ml.get("drives")
        for j, target in enumerate(drives if isinstance(drives, list) else []):
            if not isinstance(target, str) or target in business:
                continue
            where: FieldPath = ("ml_metrics", i, "drives", j)
            kind = "is not a business metric" if target in declared else "is not a metric"
            diags.error(
                doc.ref(where),
                format_path(where),
                f"{target!r} {kind} of this charter (business metrics: {', '.join(business)})",
                code="unknown-metric",
            )
    measurement = data.get("measurement")
    mde = measurement.get("minimum_detectable_effect") if isinstance(measurement, dict) else None
    if isinstance(mde, dict) and isinstance(mde.get("metric"), str):
        where = ("measurement", "minimum_detectable_effect", "metric")
        _known(mde["metric"], where, every, doc, diags)
    for i, hr in _items(data, "human_baseline", "results"):
        if isinstance(hr.get("metric"), str):
            _known(hr["metric"], ("human_baseline", "results", i, "metric"), every, doc, diags)
    status = data.get("status")
    if data.get("human_baseline") is None and isinstance(status, str) and status in m.STATUSES[1:]:
        diags.error(
            doc.ref(("status",)),
            "human_baseline",
            "a human baseline (a study, or 'waived: <reason>') is required once status is past"
            f" 'proposed' (status is {status!r})",
            code="missing-field",
        )
    patterns = data.get("results")
    for i, pattern in enumerate(patterns if isinstance(patterns, list) else []):
        if isinstance(pattern, str) and _leaves(pattern):
            where = ("results", i)
            diags.error(
                doc.ref(where),
                format_path(where),
                f"{pattern!r} leaves the charter's folder; use a glob relative to it",
                code="outside-folder",
            )
    return every


def _leaves(pattern: str) -> bool:
    path = Path(pattern)
    return path.is_absolute() or ".." in path.parts or pattern.startswith(("/", "\\"))


def _declare(
    declared: dict[str, FieldPath], mid: str, where: FieldPath, doc: Document, diags: Diagnostics
) -> None:
    if mid in declared:
        first = doc.ref(declared[mid])
        diags.error(
            doc.ref(where),
            format_path(where),
            f"duplicate metric id {mid!r} (first declared at {format_path(declared[mid])},"
            f" line {first.line}); metric ids are unique across business, ML and guardrail"
            " metrics",
            code="duplicate-id",
        )
        return
    declared[mid] = where


def _known(
    mid: str, where: FieldPath, declared: list[str], doc: Document, diags: Diagnostics
) -> None:
    if mid not in declared:
        diags.error(
            doc.ref(where),
            format_path(where),
            f"{mid!r} is not a metric of this charter (declared: {', '.join(declared)})",
            code="unknown-metric",
        )


# --- result files ---------------------------------------------------------------------


def _load_results(
    root: Path, folder: Path, doc: Document, metrics: list[str], diags: Diagnostics
) -> tuple[list[str], list[Result]]:
    raw = doc.data.get("results") if isinstance(doc.data, dict) else None
    explicit = isinstance(raw, list)
    patterns = [p for p in raw if isinstance(p, str)] if isinstance(raw, list) else []
    files: list[Path] = []
    seen: set[Path] = set()
    folder_real = folder.resolve()
    for i, pattern in enumerate(patterns if explicit else DEFAULT_RESULTS):
        if _leaves(pattern):
            continue  # reported by _check_references
        matches = sorted(Path(p) for p in glob.glob(pattern, root_dir=folder, recursive=True))
        matches = [p for p in matches if not p.name.startswith(".")]
        where: FieldPath = ("results", i)
        if explicit and not matches:
            diags.error(
                doc.ref(where),
                format_path(where),
                f"{pattern!r} matches no file in {_rel(root, folder)}/",
                code="no-match",
            )
        for match in matches:
            path = folder / match
            if path.is_dir():
                continue
            rel = _rel(root, path)
            real = path.resolve()
            if not real.is_relative_to(folder_real):
                diags.error(
                    SourceRef(rel),
                    "",
                    "result file is a link that leaves the charter's folder",
                    code="outside-folder",
                )
                continue
            if path.suffix.lower() not in RESULT_SUFFIXES:
                ref = doc.ref(where) if explicit else SourceRef(rel)
                diags.error(
                    ref,
                    format_path(where) if explicit else "",
                    f"{rel} is not a result file: expected .csv, .json, .yaml or .yml",
                    code="bad-result-file",
                )
                continue
            if real not in seen:
                seen.add(real)
                files.append(path)
    names: list[str] = []
    results: list[Result] = []
    for path in sorted(files):
        rel = _rel(root, path)
        names.append(rel)
        results.extend(_load_result_file(root, rel, metrics, diags))
    results.sort(key=lambda r: (r.row.date, r.row.metric, r.row.variant or "", r.ref))
    return names, results


def _load_result_file(root: Path, rel: str, metrics: list[str], diags: Diagnostics) -> list[Result]:
    text = read_text(root, rel, diags)
    if text is None:
        return []
    return parse_results(text, rel, metrics, diags)


def parse_results(text: str, rel: str, metrics: list[str], diags: Diagnostics) -> list[Result]:
    """The valid rows of a result file's text; every problem is recorded, located in `rel`."""
    suffix = Path(rel).suffix.lower()
    if suffix == ".csv":
        doc = parse_csv(text, rel, diags)
    elif suffix == ".json":
        doc = parse_json(text, rel, diags)
    else:
        doc = parse_yaml(text, rel, diags)
    if doc is None:
        return []
    rows = doc.data
    if not isinstance(rows, list):
        diags.error(
            doc.ref(()),
            "",
            f"expected a list of result rows, got {_describe(rows)}",
            code="wrong-type",
        )
        return []
    out: list[Result] = []
    for i, raw in enumerate(rows):
        if not isinstance(raw, dict):
            diags.error(doc.ref((i,)), f"[{i}]", f"expected a row mapping, got {_describe(raw)}")
            continue
        if suffix == ".csv":
            doc.data[i] = _coerce_csv_row(raw)
        metric = raw.get("metric")
        known = not isinstance(metric, str) or metric in metrics
        if not known:
            where: FieldPath = (i, "metric")
            diags.error(
                doc.ref(where),
                format_path(where),
                f"{metric!r} is not a metric of this charter (declared: {', '.join(metrics)})",
                code="unknown-metric",
            )
        contains = _interval_contains_value(doc, i, diags)
        row = validate_model(m.ResultRow, doc, diags, base=(i,))
        if row is not None and known and contains:
            out.append(Result(row, doc.ref((i,))))
    return out


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


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
            where: FieldPath = (i, bound)
            diags.error(
                doc.ref(where),
                format_path(where),
                f"{bound} ({limit:g}) must be {relation} value ({value:g})",
            )
            ok = False
    return ok


_NUMERIC = {"value", "lower", "upper", "std"}


def _coerce_csv_row(raw: dict[str, Any]) -> dict[str, Any]:
    """CSV cells are text: turn numeric columns into numbers where they parse."""
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
