"""Load stage: a charter's result files, found by glob, read by suffix, checked row by row.

Every row is validated against `model.ResultRow`, must name a metric the charter
declares, and must keep the integrity rules of the format (docs/format.md, "Rules
every result row keeps"): one row per date, metric and variant across all of the
charter's result files; values within their unit's meaning and the metric's declared
`range`; a whole `n` of at least 1; `std` not negative; `lower <= value <= upper`;
no date after the build date. A row that breaks one is reported where it stands (at
the cell, or at every copy of a duplicate) and the charter is invalid, so no number
on a page comes from a row the loader could not trust as written.

A file may hold up to `readers.MAX_ROWS` rows; the valid rows are kept as columns
(`columns.RowStore`, some 64 bytes a row) and read through a `columns.ResultTable`,
which makes a `Result` only for a row that is asked for.
"""

from __future__ import annotations

import difflib
import fnmatch
import glob
import os
import re
import unicodedata
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from pydantic import TypeAdapter, ValidationError

from . import model as m
from .catalogue import CATALOGUE_FILE
from .columns import ResultTable, RowStore
from .diagnostics import (
    INVISIBLE,
    Diagnostic,
    Diagnostics,
    SourceRef,
    control_character,
    control_message,
    excerpt,
    format_path,
    has_control_characters,
    printable,
)
from .formatting import finite, plural
from .messages import describe, not_declared, validate_model, written_at
from .names import by_reading, how_it_differs, latin_twin, looks, mixed_word
from .paths import real
from .readers import (
    MAX_ROWS,
    SUFFIXES,
    CsvRows,
    Document,
    FieldPath,
    Reader,
    read_number,
    read_text,
    reader_for,
)
from .vocabulary import CONTROL_ARM, CONTROL_NAMES, TREATMENT, arm_of, is_control

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


@dataclass(frozen=True, slots=True)
class Row:
    """The values of a validated result row, as a `columns.ResultTable` gives it out.

    Same fields as `model.ResultRow`; made from the table's columns when asked for.
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

    def record(self) -> dict[str, Any]:
        """The row as plain data, every column of the format (for JSON outputs)."""
        row = self.row
        return {
            "date": row.date.isoformat(),
            "metric": row.metric,
            "variant": row.variant,
            "value": row.value,
            "lower": row.lower,
            "upper": row.upper,
            "n": row.n,
            "std": row.std,
            "note": row.note,
        }


@dataclass(frozen=True)
class Bounds:
    """What a metric's values may be: its unit, and the `range` it declares, if any."""

    metric: str
    unit: str | None
    range: tuple[float | None, float | None] | None = None
    catalogued: bool = False  # the metric is a `ref`: its unit is written in metrics.yaml


@dataclass(frozen=True)
class RowRules:
    """What the rows of one charter are checked against."""

    metrics: dict[str, Bounds]  # every declared metric, in declaration order
    today: date  # the build date: no row may be dated after it
    # The metric the plan's minimum detectable effect names: a move of it against control
    # or the baseline counts as evidence without a test (analyze.metric_status).
    mde_metric: str | None = None
    # The metrics whose unit a row's `n` was refused for (`unit-not-read`): told once each.
    unit_told: set[str] = field(default_factory=set)
    # A metric of the charter has no id that can be read (`m.unnamed_metric`): a row of an
    # id not declared may be its, so it is refused without a word of its own.
    unnamed: bool = False


@dataclass(frozen=True, slots=True)
class _Refused:
    """A row that breaks a rule but whose identity can be read: it still counts as a copy."""

    key: RowKey
    index: int  # the row's position in its file
    ref: SourceRef
    variant: str  # as written ("": none)


@dataclass
class _Loaded:
    """The rows of a charter's result files as read, before duplicates are taken out.

    Kept lean for a million rows: the valid rows as columns, each one's position in
    its file in an array beside them (for a duplicate's message), and the few refused
    rows whose date, metric and variant could still be read.
    """

    files: list[str]  # in the order read; a duplicate's copies are listed in it
    store: RowStore = field(default_factory=RowStore)
    indices: array[int] = field(default_factory=lambda: array("Q"))
    refused: list[_Refused] = field(default_factory=list)


def load_results(
    root: Path,
    folder: Path,
    doc: Document,
    metrics: list[str],
    diags: Diagnostics,
    today: date,
    pending: Mapping[str, str] | None = None,
) -> ResultTable:
    """The valid rows of every result file of the charter `doc`, in date order.

    `metrics` are the ids the charter declares; `today` is the build date. `pending`
    maps a result file (relative to `root`) to the text it is about to hold: that text
    is read instead of the file, which need not exist yet (`charters pull` checks rows
    this way before it writes them, so they keep every rule a typed file keeps,
    duplicates across the charter's other files and the limits included).
    """
    pending = pending or {}
    rules = RowRules(
        metric_bounds(doc.data, metrics),
        today,
        _mde_metric(doc.data),
        unnamed=m.unnamed_metric(doc.data),
    )
    files = [p.relative_to(root).as_posix() for p in _result_files(root, folder, doc, diags)]
    files += sorted(set(pending) - set(files))
    loaded = _Loaded(files)
    for rel in files:
        _load_result_file(root, rel, rules, diags, loaded, pending.get(rel))
    _one_spelling(loaded, diags)
    _control_named(loaded, diags)
    _compared_arm_named(loaded, diags)
    _percent_scale(loaded, doc, rules, diags)
    return _without_duplicates(loaded, rules, diags)


# How close a percent metric's rows, read a hundred times larger (or smaller), must come to
# its baseline (a factor) to be taken for fractions beside percentages (`_percent_scale`).
_SCALE_NEAR = 3.0


def _percent_scale(loaded: _Loaded, doc: Document, rules: RowRules, diags: Diagnostics) -> None:
    """A metric in `%` whose rows are all fractions (0.034, a spreadsheet's 3.4%) beside a
    baseline or target of 1 or more (a rate from 1.2% to 0.8% exported as 0.011 read
    *Target met*), the rows a hundred times larger near the baseline and the rows as
    written near neither goalpost; or the other way round. Read as
    written, a rate of 0.034% was far below a target of 3.5%, and the verdict was
    *Target met*. Reported at the metric's first row, or at its baseline when the
    goalposts are the fractions. Only a metric with both goalposts: rows near its target
    are its own (a duplicate rate from 35% to its target of 1% reads 0.5 when met), and
    a guardrail, which has no target, can fall a hundredfold honestly."""
    store = loaded.store
    if not len(store):
        return
    codes = np.frombuffer(store.metric, dtype=np.uint32)
    values = np.abs(np.frombuffer(store.value, dtype=np.float64))
    for _, path in m.METRIC_LISTS:
        for i, item in m.items_at(doc.data, *path):
            bounds = rules.metrics.get(str(item.get("id")))
            code = store.find(bounds.metric) if bounds is not None else None
            if bounds is None or code is None or not _in_percent(bounds.unit):
                continue
            goals = {goal: _goal_value(item, goal) for goal in ("baseline", "target")}
            baseline, target = (abs(v) if v is not None else None for v in goals.values())
            rows = np.flatnonzero(codes == code)
            if not baseline or not target or not len(rows):
                continue
            median = float(np.median(values[rows]))
            if _near(median, baseline) or _near(median, target):
                continue  # the rows read where the goalposts are: as written
            high = max(baseline, target)
            if high >= 1 and values[rows].max() <= 1 and _near(median * 100, baseline):
                first = int(rows[0])
                message = _fraction_rows_message(bounds.metric, store.value[first], goals)
                path_ = format_path((loaded.indices[first], "value"))
                diags.error(store.ref(first), path_, message, code="percent-scale")
            elif high <= 1 and values[rows].min() >= 1 and _near(median / 100, baseline):
                message = _fraction_goals_message(bounds.metric, median, goals)
                diags.add(doc.at((*path, i, "baseline", "value"), message, "percent-scale"))


def _in_percent(unit: str | None) -> bool:
    return unit is not None and (unit.strip() == "%" or m.reads_as_proportion(unit) == "%")


def _goal_value(item: dict[str, Any], goal: str) -> float | None:
    held = item.get(goal)
    value = held.get("value") if isinstance(held, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return finite(value)  # None for 10**400 too


def _near(value: float, reference: float) -> bool:
    return reference / _SCALE_NEAR <= value <= reference * _SCALE_NEAR


def _goals_text(goals: dict[str, float | None]) -> str:
    return " and ".join(f"{goal} {v:g}" for goal, v in goals.items() if v is not None)


def _fraction_rows_message(metric: str, value: float, goals: dict[str, float | None]) -> str:
    return (
        f"{value:g} reads as a fraction: every row of {metric!r} is between 0 and 1, a"
        f" hundredth of its {_goals_text(goals)} in '%'; write percentages"
        f" ({value * 100:g} for {value * 100:g}%), as the baseline and target are"
    )


def _fraction_goals_message(metric: str, median: float, goals: dict[str, float | None]) -> str:
    return (
        f"the {_goals_text(goals)} of {metric!r} read as fractions beside its rows in '%'"
        f" (a hundred times larger, {median:g} the middle one); write percentages, as the"
        f" rows are (4 for 4%), or write the rows as fractions with the unit 'ratio'"
    )


def _one_spelling(loaded: _Loaded, diags: Diagnostics) -> None:
    """Each arm written one way across the charter's results: `Treatment` on one date and
    `treatment` on another are one arm (`arm_of`), yet the lift would pair only the rows
    of one spelling and the chart draw two series. Reported at the first row of each
    other spelling. Control arms are exempt: two control names are two control arms."""
    store = loaded.store
    if not len(store):
        return
    codes, firsts = np.unique(np.frombuffer(store.variant, dtype=np.uint32), return_index=True)
    strings = store.strings
    arms = [
        (i, strings[code])
        for code, i in zip(codes.tolist(), firsts.tolist(), strict=True)
        if strings[code] and not is_control(strings[code])
    ]
    arms.sort()  # in the order of the rows
    first_at = {text.strip(): i for i, text in reversed(arms)}
    # `В` (Cyrillic) reads as the arm `B`: reported at the look-alike, against the arm
    # in Latin letters it reads as.
    latin = by_reading(text.strip() for _, text in arms)

    def spelled(i: int, text: str, usual: str, first: int) -> None:
        """Report the arm `text` (first at row `i`) as the arm `usual` written otherwise."""
        if arm_of(text) != arm_of(usual):  # another arm: a look-alike, inner spaces, a selector
            message = (
                f"variant {excerpt(text)} reads as the arm {excerpt(usual)} (first at"
                f" {store.ref(first)}) but {how_it_differs(text, usual)}; write each arm"
                " one way (arms that look alike are shown as one)"
            )
        else:
            message = (
                f"variant {excerpt(text)} is the arm {excerpt(usual)} (first at"
                f" {store.ref(first)}) written another way; variants are told apart"
                " without case and surrounding spaces, so write each one way"
            )
        path = format_path((loaded.indices[i], "variant"))
        diags.error(store.ref(i), path, message, code="variant-spelling")

    reported: set[str] = set()
    for i, text in arms:
        twin = latin_twin(text.strip(), latin)
        if twin is not None:
            spelled(i, text, twin, first_at[twin])
            reported.add(text)
    # As they look otherwise (case, spaces, invisible characters): one arm written two ways.
    by_arm: dict[str, list[tuple[int, str]]] = {}
    for i, text in arms:
        by_arm.setdefault(looks(text.strip()), []).append((i, text))
    for (first, usual), *others in by_arm.values():
        for i, text in others:
            if text not in reported:
                spelled(i, text, usual, first)


# A variant that names a control arm in words the vocabulary does not take as one
# (`control_group`, `Control arm`, `holdout-2`): a word of a control name, standing alone.
_CONTROL_WORDS = re.compile(r"(?<![^\W\d_])(controls?|ctrl|holdout|hold-out)(?![^\W\d_])")


def _control_named(loaded: _Loaded, diags: Diagnostics) -> None:
    """No variant named as a control arm but for a name the vocabulary takes as one
    (`vocabulary.CONTROL_NAMES`): `control_group` beside `treatment` was an arm of its
    own, no lift was measured, and the treatment alone against the baseline read
    *Target met* where the same rows named `control` read *No impact*. Reported at the
    first row of each such name."""
    store = loaded.store
    if not len(store):
        return
    codes, firsts = np.unique(np.frombuffer(store.variant, dtype=np.uint32), return_index=True)
    for code, i in sorted(zip(codes.tolist(), firsts.tolist(), strict=True), key=lambda p: p[1]):
        text = store.strings[code]
        if not text or is_control(text) or not _CONTROL_WORDS.search(text.casefold()):
            continue
        names = ", ".join(sorted(CONTROL_NAMES))
        message = (
            f"variant {excerpt(text)} reads as a control arm but is not a control name"
            f" ({names}, in any case): it would be an arm of its own, and no lift against"
            " control measured; name the control arm 'control', or the arm otherwise"
        )
        diags.error(
            store.ref(i), format_path((loaded.indices[i], "variant")), message, "control-name"
        )


# The names a message lists (other arms, unread files); the rest are counted.
_LISTED = 3


def _listed(names: list[str]) -> str:
    """The first `_LISTED` of `names`, joined by commas, and how many more there are."""
    shown = ", ".join(names[:_LISTED])
    return shown + (f" and {len(names) - _LISTED:,} more" if len(names) > _LISTED else "")


def _compared_arm_named(loaded: _Loaded, diags: Diagnostics) -> None:
    """Beside a control arm, the arm compared with it (its lift, the verdict, a guardrail's
    tolerance are about it) is `treatment`, or the only other arm. Of two or more arms
    none named so, which one the model is was a guess, by name: one old row of a
    `heuristic` arm made it the arm judged instead of `model`, and its August week the
    latest value. Reported once a metric, at the first row of its second arm."""
    store = loaded.store
    if not len(store):
        return
    metric = np.frombuffer(store.metric, dtype=np.uint32).astype(np.uint64)
    pairs = (metric << np.uint64(32)) | np.frombuffer(store.variant, dtype=np.uint32)
    keys, firsts = np.unique(pairs, return_index=True)
    strings = store.strings
    by_metric: dict[int, list[tuple[int, str]]] = {}
    for key, first in zip(keys.tolist(), firsts.tolist(), strict=True):
        by_metric.setdefault(key >> 32, []).append((first, strings[key & 0xFFFFFFFF] or ""))
    for code, found in by_metric.items():
        arms: dict[str, tuple[int, str]] = {}
        for first, text in sorted(found):  # in the order of the rows
            if text and not is_control(text):
                arms.setdefault(arm_of(text), (first, text))
        if not any(is_control(t) for _, t in found):
            continue
        if len(arms) == 1:
            _paired_with_control(loaded, code, next(iter(arms.values())), diags)
        if len(arms) < 2:
            continue
        if TREATMENT in arms:
            _treatment_paired(loaded, code, arms, diags)
            continue
        ordered = sorted(arms.values())
        i, second = ordered[1]
        others = _listed([excerpt(text) for k, (_, text) in enumerate(ordered) if k != 1])
        message = (
            f"variant {excerpt(second)} is a second arm beside control for the metric"
            f" {excerpt(strings[code] or '')} (with {others}), and none is named"
            f" {TREATMENT!r}: the lift and the verdict compare one arm with control, and"
            f" which one is not known; name it {TREATMENT!r}"
        )
        path = format_path((loaded.indices[i], "variant"))
        diags.error(store.ref(i), path, message, code="compared-arm")


def _treatment_paired(
    loaded: _Loaded, code: int, arms: dict[str, tuple[int, str]], diags: Diagnostics
) -> None:
    """Of the arms of metric `code` beside control, `treatment` is the one compared; when
    it has no row on a date with a control row while another arm has, the comparison
    was dodged: one stray `treatment` row put the `model` and `heuristic` pairs aside,
    and made its unpaired value the one judged. Reported at its first row."""
    store = loaded.store
    strings = store.strings
    controls, dates = _arm_dates(loaded, code)
    if dates.get(TREATMENT, set()) & controls:
        return
    paired = [arms[a][1] for a in sorted(arms, key=lambda a: arms[a][0]) if dates[a] & controls]
    if not paired:  # no arm beside control on any date
        _paired_with_control(loaded, code, arms[TREATMENT], diags)
        return
    i, text = arms[TREATMENT]
    listed = _listed([excerpt(t) for t in paired])
    message = (
        f"variant {excerpt(text)}, the arm compared with control for the metric"
        f" {excerpt(strings[code] or '')}, has no row on a date with a control row, while"
        f" {listed} {'has' if len(paired) == 1 else 'have'}: its lift cannot be measured,"
        " and theirs would be put aside; give it its control rows, or, if another arm is"
        f" the one compared, name that one {TREATMENT!r} and this one otherwise"
    )
    diags.error(store.ref(i), format_path((loaded.indices[i], "variant")), message, "compared-arm")


def _arm_dates(loaded: _Loaded, code: int) -> tuple[set[int], dict[str, set[int]]]:
    """The dates of metric `code`'s control rows, and of each other arm's (`arm_of`)."""
    store = loaded.store
    strings = store.strings
    controls: set[int] = set()
    dates: dict[str, set[int]] = {}
    for i in range(len(store)):
        if store.metric[i] != code:
            continue
        name = strings[store.variant[i]]
        if name and is_control(name):
            controls.add(store.date[i])
        elif name:
            dates.setdefault(arm_of(name), set()).add(store.date[i])
    return controls, dates


def _paired_with_control(
    loaded: _Loaded, code: int, arm: tuple[int, str], diags: Diagnostics
) -> None:
    """The arm compared with control (`arm`: its first row and name) for metric `code`
    has a row on a date with a control row, else an error at its first row: the lift
    pairs the arms by date, so with the control rows dated a day apart, every week,
    none was measured, control was left out, and the arm's value alone against the
    baseline read *Target met* where it did worse than control."""
    store = loaded.store
    strings = store.strings
    controls, dates = _arm_dates(loaded, code)
    if dates.get(arm_of(arm[1]), set()) & controls:
        return
    i, text = arm
    message = (
        f"variant {excerpt(text)} of the metric {excerpt(strings[code] or '')} has no row"
        " on a date with a control row: the lift compares the two arms on one date, so"
        " none can be measured, and the control rows would be left out of the verdict;"
        " date each period's rows of both arms alike (or, if the control rows are a time"
        " before the model, not an arm beside it, write them without a variant)"
    )
    diags.error(store.ref(i), format_path((loaded.indices[i], "variant")), message, "compared-arm")


def _mde_metric(data: Any) -> str | None:
    """The metric the raw charter's `minimum_detectable_effect` names, if any."""
    plan = data.get("measurement") if isinstance(data, dict) else None
    mde = plan.get("minimum_detectable_effect") if isinstance(plan, dict) else None
    metric = mde.get("metric") if isinstance(mde, dict) else None
    return metric if isinstance(metric, str) else None


def metric_bounds(data: Any, metrics: list[str]) -> dict[str, Bounds]:
    """Unit and declared range of each metric id in `metrics`, read from the raw charter.

    Read from the raw data so rows are still checked when another part of the charter
    is wrong; a `range` the model refuses is reported there and not applied here.
    """
    found: dict[str, Bounds] = {mid: Bounds(mid, None) for mid in metrics}
    for _, path in m.METRIC_LISTS:
        for _, item in m.items_at(data, *path):
            mid = item.get("id")
            if not isinstance(mid, str) or mid not in found or found[mid].unit is not None:
                continue
            unit = item.get("unit")
            catalogued = item.get("ref") is not None
            found[mid] = Bounds(
                mid, unit if isinstance(unit, str) else None, _range(item), catalogued
            )
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


def _without_duplicates(loaded: _Loaded, rules: RowRules, diags: Diagnostics) -> ResultTable:
    """The valid rows in date order, less every (date, metric, variant) held more than once.

    Copies are found by the sort the results need anyway (stable, so copies stay in the
    order read; by columns, so no key is made per row) rather than by a table of every
    key; each duplicate is reported at every copy, a refused row with the same date,
    metric and variant included.
    """
    store = loaded.store
    order, same = _date_order(store)
    copied = np.zeros(len(order), dtype=bool)
    copied[1:] |= same
    copied[:-1] |= same
    refused = {r.key for r in loaded.refused}
    if refused:
        copied |= np.fromiter(
            (_store_key(store, int(i)) in refused for i in order), dtype=bool, count=len(order)
        )
    if not copied.any():
        return ResultTable(store, _positions(order))
    rank = {rel: k for k, rel in enumerate(loaded.files)}
    found: dict[RowKey, list[_Copy]] = {}
    strings = store.strings
    for i in order[copied].tolist():
        ref, variant = store.ref(i), strings[store.variant[i]] or ""
        copy = _Copy(rank[ref.path], loaded.indices[i], ref, variant)
        found.setdefault(_store_key(store, i), []).append(copy)
    for row in loaded.refused:
        found.setdefault(row.key, []).append(
            _Copy(rank[row.ref.path], row.index, row.ref, row.variant)
        )
    duplicated = {key: sorted(where) for key, where in found.items() if len(where) > 1}
    for key, where in sorted(duplicated.items(), key=lambda item: item[1][0][:2]):
        _report_duplicate(key, where, rules, diags)
    return ResultTable(store, _positions(order[~copied]))


def _date_order(store: RowStore) -> tuple[Any, Any]:
    """The rows' positions sorted by date, metric and variant (stable), and whether each
    sorted row has the same date, metric and variant as the one before it."""
    names = [text or "" for text in store.strings]
    ranked = {name: k for k, name in enumerate(sorted(set(names)))}
    rank = np.array([ranked[name] for name in names], dtype=np.int32)
    arms = [arm_of(text) for text in store.strings]  # the variant as an arm (`arm_of`)
    arm_ranked = {arm: k for k, arm in enumerate(sorted(set(arms)))}
    arm_rank = np.array([arm_ranked[arm] for arm in arms], dtype=np.int32)
    keys = (
        arm_rank[np.frombuffer(store.variant, dtype=np.uint32)],
        rank[np.frombuffer(store.metric, dtype=np.uint32)],
        np.frombuffer(store.date, dtype=np.int32),
    )
    order = np.arange(len(store), dtype=np.int64)
    for key in keys:  # least significant first; each sort stable
        order = order[np.argsort(key[order], kind="stable")]
    same = np.ones(max(len(order) - 1, 0), dtype=bool)
    for key in keys:
        sorted_key = key[order]
        same &= sorted_key[1:] == sorted_key[:-1]
    return order, same


def _positions(order: Any) -> array[int]:
    out = array("I")
    out.frombytes(order.astype(np.uint32).tobytes())
    return out


def _store_key(store: RowStore, i: int) -> RowKey:
    strings = store.strings
    day = date.fromordinal(store.date[i])
    return day, strings[store.metric[i]] or "", arm_of(strings[store.variant[i]])


class _Copy(NamedTuple):
    """One copy of a duplicated row: its file's rank, its position there, where it is, and
    its variant as written."""

    file: int
    position: int
    ref: SourceRef
    variant: str


# Copies a duplicate's message names; the rest are counted (each is reported itself).
_COPIES_LISTED = 5


def _report_duplicate(key: RowKey, found: list[_Copy], rules: RowRules, diags: Diagnostics) -> None:
    """One error at every copy of a (date, metric, arm), naming the other copies. Copies
    may spell the arm apart (`Treatment`, `treatment `) or name two control arms; the
    message then says so, since they would otherwise read as two arms."""
    day, metric, arm = key
    shown = metric if metric in rules.metrics else excerpt(metric)
    spellings = list(dict.fromkeys(copy.variant for copy in found))
    if len(spellings) == 1:
        variant = spellings[0]
        what = f"{day.isoformat()}, {shown}, " + (
            f"variant {excerpt(variant)}" if variant else "no variant"
        )
        advice = "keep one row per date, metric and variant"
    elif arm == CONTROL_ARM:
        names = ", ".join(excerpt(v) for v in spellings)
        what = f"{day.isoformat()}, {shown}, control arms {names}"
        advice = (
            "the lift is measured against one control arm, so keep one control row per date"
            f" and metric (control names: {', '.join(sorted(CONTROL_NAMES))})"
        )
    else:
        names = ", ".join(excerpt(v) for v in spellings)
        what = f"{day.isoformat()}, {shown}, variant written {names}"
        advice = (
            "variants are told apart without case and surrounding spaces, so these are one"
            " arm: keep one row per date, metric and variant, written one way"
        )
    first = found[: _COPIES_LISTED + 1]
    for copy in found:
        others = [str(o.ref) for o in first if o is not copy][:_COPIES_LISTED]
        listed = ", ".join(others)
        if len(found) - 1 > len(others):
            listed += f" and {len(found) - 1 - len(others):,} more"
        message = f"duplicate row ({what}): also at {listed}; {advice}"
        diags.error(copy.ref, format_path((copy.position,)), message, code="duplicate-row")


def unread_problem(into: str, globs: list[str] | None) -> str | None:
    """Why a file a pull writes (`into`, relative to the charter's folder) would never be
    read: no `results` glob (`globs`; None: the default) matches it. None when one does."""
    patterns = globs if globs is not None else list(DEFAULT_RESULTS)
    if any(glob_matches(pattern, into) for pattern in patterns):
        return None
    return (
        f"{excerpt(into)} is not read by this charter: its results globs are"
        f" {', '.join(patterns)}; pull into a file they match, or add it to `results`"
    )


def glob_matches(pattern: str, path: str) -> bool:
    """Whether `glob.glob(pattern, recursive=True)`, as the build lists a charter's result
    files, would list `path` (both relative, '/'-separated): `*` and `**` never match a
    name that starts with a dot, unless the pattern's own part starts with one."""
    return _match(pattern.strip("/").split("/"), path.split("/"))


def _match(pattern: list[str], parts: list[str]) -> bool:
    if not pattern:
        return not parts
    head, rest = pattern[0], pattern[1:]
    if head == "**":  # any number of parts, none of them hidden
        for i in range(len(parts) + 1):
            if _match(rest, parts[i:]):
                return True
            if i < len(parts) and parts[i].startswith("."):
                return False
        return False
    if not parts or (parts[0].startswith(".") and not head.startswith(".")):
        return False
    return fnmatch.fnmatchcase(parts[0], head) and _match(rest, parts[1:])


def _result_files(root: Path, folder: Path, doc: Document, diags: Diagnostics) -> list[Path]:
    """The files matched by the charter's `results` globs (or the default), each once."""
    raw = doc.data.get("results") if isinstance(doc.data, dict) else None
    explicit = isinstance(raw, list)
    patterns: list[Any] = raw if isinstance(raw, list) else list(DEFAULT_RESULTS)
    files: dict[Path, Path] = {}
    folders: dict[Path, tuple[str, FieldPath | None]] = {}  # matched folders: by which glob
    matched: set[Path] = set()
    folder_real = real(folder)
    reported = len(diags)
    for i, pattern in enumerate(patterns):
        where: FieldPath = ("results", i)
        if not isinstance(pattern, str) or not pattern:
            continue  # reported by validation (an empty glob: "must not be empty")
        if _leaves(pattern):
            message = f"{excerpt(pattern)} leaves the charter's folder; use a glob relative to it"
            diags.add(doc.at(where, message, "outside-folder"))
            continue
        if has_control_characters(pattern):
            message = (
                f"{excerpt(pattern)} must not contain tabs, line breaks or other control characters"
            )
            diags.add(doc.at(where, message, "invalid"))
            continue
        matches = sorted(Path(p) for p in glob.glob(pattern, root_dir=folder, recursive=True))
        # Never the charter itself, which a glob such as `*` or `*.yaml` would match.
        matches = [folder / p for p in matches if not p.name.startswith(".") and p != CHARTER_FILE]
        if not _folders_readable(root, folder, pattern, matches, doc, where, diags):
            continue
        if explicit and not matches:
            where_rel = folder.relative_to(root).as_posix()
            message = f"{excerpt(pattern)} matches no file in {where_rel}/"
            diags.add(doc.at(where, message, "no-match"))
        matched.update(matches)
        for path in matches:
            if path.is_dir():
                folders.setdefault(path, (pattern, where if explicit else None))
                continue
            rel = path.relative_to(root).as_posix()
            real_path = real(path)
            if not rel.isprintable() and not _utf8(rel):
                # Its name is shown on the page and in the downloads, which are UTF-8.
                message = f"result file name '{printable(rel)}' is not valid UTF-8; rename it"
                diags.error(SourceRef(folder.relative_to(root).as_posix()), "", message)
            elif not real_path.is_relative_to(folder_real):
                message = "result file is a link that leaves the charter's folder"
                diags.error(SourceRef(rel), "", message, code="outside-folder")
            elif reader_for(rel) is None:
                expected = ", ".join(SUFFIXES[:-1]) + " or " + SUFFIXES[-1]
                if explicit:
                    message = f"{rel} is not a result file: expected {expected}"
                    diags.add(doc.at(where, message, "bad-result-file"))
                else:  # located at the file itself, which the message need not name again
                    message = (
                        f"not a result file: expected {expected} (without `results`, every"
                        " file in results/ is read as one)"
                    )
                    diags.error(SourceRef(rel), "", message, code="bad-result-file")
            else:
                files.setdefault(real_path, path)
    if folders:  # a glob matched a folder: are its files read? (rare: no work otherwise)
        _folders_left_unread(root, folder, folder_real, folders, matched, doc, diags)
    if explicit and len(diags) == reported:  # a wrong glob's own message says enough
        _results_left_unread(folder, {real(p) for p in matched}, doc, diags)
    if not explicit:
        _results_in_another_case(root, folder, diags)
    return sorted(files.values())


def _same(path: Path, other: Path) -> bool:
    try:
        return os.path.samefile(path, other)
    except OSError:  # `other` is not there
        return False


def _results_in_another_case(root: Path, folder: Path, diags: Diagnostics) -> None:
    """Refuse a folder `Results/` (`RESULTS/`, …): the default glob, `results/*`, reads
    results/ as written, so its files were left out without a word where names are told
    apart by case (Linux); where they are not (macOS), it is results/, and read."""
    try:
        with os.scandir(folder) as listing:
            names = sorted(
                e.name for e in listing if e.name.lower() == "results" and e.name != "results"
            )
    except OSError:  # the folder cannot be listed: said where it is read
        return
    for name in names:
        path = folder / name
        if not path.is_dir() or _same(path, folder / "results"):
            continue
        message = (
            f"result files are read from results/, in lowercase (without `results`, the glob"
            f" results/*): none of the files in {name}/ is read; rename it results, or read"
            f" it with `results: [{name}/*]`"
        )
        diags.error(
            SourceRef((folder / name).relative_to(root).as_posix()), "", message, "no-match"
        )


def _results_left_unread(
    folder: Path, matched: set[Path], doc: Document, diags: Diagnostics
) -> None:
    """Warn, at `results`, of the files at the top of the charter's results/ that a reader
    reads by their suffix but no glob of `results` matches: a glob narrowed from the
    default (`results/*` to `results/ab.csv`) left a week's file out, and its bad rows
    with it, without a word."""
    try:
        with os.scandir(folder / "results") as listing:
            names = sorted(
                e.name
                for e in listing
                if e.name[:1] != "."
                and reader_for(e.name) is not None
                and e.is_file()
                and real(Path(e.path)) not in matched
            )
    except OSError:  # no results/ folder (or none to read): nothing left out
        return
    if not names:
        return
    if len(names) == 1:
        message = (
            f"{excerpt('results/' + names[0])} has a result file's suffix but no glob here"
            " reads it; add one that does, or move it out of results/"
        )
    else:
        listed = _listed([excerpt(n) for n in names])
        message = (
            f"{len(names):,} files of results/ have a result file's suffix but no glob here"
            f" reads them ({listed}); add globs that do, or move them out of results/"
        )
    diags.add(doc.at(("results",), message, "unread-result-file", "warning"))


def _folders_left_unread(
    root: Path,
    folder: Path,
    folder_real: Path,
    folders: dict[Path, tuple[str, FieldPath | None]],
    matched: set[Path],
    doc: Document,
    diags: Diagnostics,
) -> None:
    """Refuse a folder that a glob matched while no glob reads the files in it.

    `results/*` matches `results/2026/` but not `results/2026/late.csv`: those rows
    would be left out of the verdict without a word. Hidden files and folders (a name
    starting with a dot, as `.gitkeep`) are never read, as glob leaves them.
    """
    read = {real(p) for p in matched}  # links resolved: a file read through another name
    walked = {real(p) for p in folders}
    for path, (pattern, where) in sorted(folders.items()):
        rel = path.relative_to(root).as_posix()
        top = real(path)
        if not top.is_relative_to(folder_real):
            message = "result folder is a link that leaves the charter's folder"
            diags.error(SourceRef(rel), "", message, code="outside-folder")
            continue
        try:
            unread = _first_unread(top, walked - {top}, read, folder_real)
        except _LeavingLink as exc:  # its rows unseen, and not ours to read
            linked = (path / exc.path.relative_to(top)).relative_to(root).as_posix()
            message = "result folder is a link that leaves the charter's folder"
            diags.error(SourceRef(linked), "", message, code="outside-folder")
            continue
        except OSError as exc:  # a folder below that cannot be listed: its rows unseen
            below = path / Path(exc.filename or top).relative_to(top)
            where_rel = below.relative_to(root).as_posix()
            diags.error(SourceRef(where_rel), "", UNREADABLE_FOLDER)
            continue
        if unread is None:
            continue
        inside = path.relative_to(folder).as_posix()
        glob_named = excerpt(pattern) if where else f"the default glob {excerpt(pattern)}"
        message = (
            f"{glob_named} matches the folder {inside}/ but no file in it, such as"
            f" {(path / unread.relative_to(top)).relative_to(folder).as_posix()}, whose rows"
            f" would be left out; list a glob that reads them under `results`, such as"
            f" {excerpt(inside + '/*')}, or move them up"
        )
        if where is not None:
            diags.add(doc.at(where, message, "no-match"))
        else:
            diags.error(SourceRef(rel), "", message, code="no-match")


def _raise(error: OSError) -> None:
    raise error


class _LeavingLink(Exception):
    """A link to a folder outside the charter's, below a folder a glob matched."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self.path = path


def _first_unread(top: Path, walked: set[Path], read: set[Path], within: Path) -> Path | None:
    """The first file under the real folder `top` (not hidden) that no glob matched (by
    its real path), skipping folders that a glob matched themselves (`walked`: each is
    looked at on its own); None if none. A link to a folder is followed as glob follows
    it, each real folder once; one that leaves the charter's folder (`within`) is
    `_LeavingLink`. OSError for a folder that cannot be listed."""
    seen = {top}
    for at, dirs, names in os.walk(top, onerror=_raise, followlinks=True):
        here = Path(at)
        kept = []
        for name in sorted(d for d in dirs if not d.startswith(".")):
            target = real(here / name)
            if target in walked or target in seen:
                continue  # looked at on its own, or already (a link back up)
            if not target.is_relative_to(within):
                raise _LeavingLink(here / name)
            seen.add(target)
            kept.append(name)
        dirs[:] = kept
        for name in sorted(names):
            if not name.startswith(".") and real(here / name) not in read:
                return here / name
    return None


CHARTER_FILE = Path("charter.yaml")
UNREADABLE_FOLDER = "cannot read this folder (permission denied)"


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a byte kept as a lone surrogate (os.fsdecode)
        return False
    return True


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
    parts = Path(pattern).parts
    wild = next((i for i, part in enumerate(parts) if any(c in part for c in "*?[")), len(parts))
    fixed = folder.joinpath(*parts[:wild])
    # Folders a wildcard goes through (`*/x.csv`, `**/*.csv`): glob skips an unreadable
    # one without a word, and its files' rows were left out of the results.
    through = _under(fixed, parts[wild:-1])
    for candidate in sorted({folder, fixed, *(p.parent for p in matches), *through}):
        if os.path.isdir(candidate) and not os.access(candidate, os.R_OK | os.X_OK):
            rel = candidate.relative_to(root).as_posix()
            diags.error(SourceRef(rel), "", UNREADABLE_FOLDER)
            return False
    return True


def _under(top: Path, parts: Sequence[str]) -> Iterator[Path]:
    """The folders below `top` that the folder parts of a results pattern (`*`, `2026-*`,
    `**`) go through, as glob goes: hidden ones only for a part that starts with a dot,
    links to folders not followed by `**`; each is checked for reading by the caller."""
    if not parts:
        return
    head, rest = parts[0], parts[1:]
    try:
        with os.scandir(top) as entries:
            names = sorted(e.name for e in entries if e.is_dir(follow_symlinks=head != "**"))
    except OSError:  # `top` itself unreadable: the caller reports it
        return
    for name in names:
        if name.startswith(".") and not head.startswith("."):
            continue
        if head == "**":
            yield top / name
            yield from _under(top / name, parts)
        elif fnmatch.fnmatchcase(name, head):
            yield top / name
            yield from _under(top / name, rest)
    if head == "**":  # `**` also matches no folder at all
        yield from _under(top, rest)


def _leaves(pattern: str) -> bool:
    path = Path(pattern)
    return path.is_absolute() or ".." in path.parts or pattern.startswith(("/", "\\"))


def _load_result_file(
    root: Path,
    rel: str,
    rules: RowRules,
    diags: Diagnostics,
    loaded: _Loaded,
    text: str | None = None,
) -> None:
    """Add one file's rows to `loaded`: the valid rows as columns, refused rows' identities.

    `text` is the file's content when it is not to be read from disk.
    """
    reader = reader_for(rel)
    if reader is None:
        return
    if text is None:
        text = read_text(root, rel, diags, reader.max_bytes)
    elif len(text) > reader.max_bytes // 4 and len(text.encode()) > reader.max_bytes:
        size = len(text.encode())
        message = (
            f"these rows make a file of {size:,} bytes; files of this kind are limited to"
            f" {reader.max_bytes:,} bytes (the limit)"
        )
        diags.error(SourceRef(rel), "", message, "limit")
        return
    if text is None:
        return
    doc = reader.parse(text, rel, diags)
    if doc is None:
        return
    rows = doc.data
    if not isinstance(rows, Sequence) or isinstance(rows, str):
        diags.add(doc.at((), f"expected a list of result rows, got {describe(rows)}", "wrong-type"))
        return
    if len(rows) > MAX_ROWS:
        message = f"more than {MAX_ROWS:,} rows in one file (the limit); split the file"
        diags.add(doc.at((), message, "limit"))
        return
    if isinstance(rows, CsvRows) and not _header_fits(rows, diags):
        return  # no column a row needs: one error at the header, not one at every row
    for i in range(len(rows)):
        row, key = _load_row(doc, i, reader, rules, diags, text)
        if row is not None:
            loaded.store.add(row, doc.ref((i,)))
            loaded.indices.append(i)
        elif key is not None:
            variant = doc.data[i].get("variant")
            written = variant if isinstance(variant, str) else ""
            loaded.refused.append(_Refused(key, i, doc.ref((i,)), written))


def _header_fits(rows: CsvRows, diags: Diagnostics) -> bool:
    """Whether a CSV file's header names only columns a result row has (or `x-*` ones)
    and every column a row needs, so that its rows are read. Each wrong name is reported
    once, at its header cell, and the rows are not read: a typo (`val`) or a
    spreadsheet's other separator (`;`) made two errors at every row, and a misspelt
    optional column (`varient`) read every row without it (a duplicate at each). A
    header of one column holding a `;` or a tab is one such."""
    fields = [name for name in m.ResultRow.model_fields if name != "extensions"]
    unknown: set[str] = set()
    for name, at in zip(rows.header, rows.header_at, strict=False):
        if not name or name in fields or name.startswith("x-"):
            continue
        unknown.add(name)
        if len(rows.header) == 1 and (";" in name or "\t" in name):
            message = (
                f"the header {excerpt(name)} has no comma; separate the columns with commas"
                " (a spreadsheet set to another separator writes ';' or tabs)"
            )
            diags.error(at, "", message, "csv-row")
            return False
        close = difflib.get_close_matches(name, fields, n=1, cutoff=0.6)
        hint = f" (did you mean {excerpt(close[0])}?)" if close else ""
        message = (
            f"unknown column {excerpt(name)} in the header{hint}; allowed: {', '.join(fields)},"
            " or x-* extension columns"
        )
        diags.error(at, excerpt(name, 60)[1:-1], message, "unknown-key")
    needed = [name for name, f in m.ResultRow.model_fields.items() if f.is_required()]
    missing = [name for name in needed if name not in rows.header]
    at = rows.header_at[0] if rows.header_at else SourceRef(rows.rel, 1, 1)
    if rows.misfit is not None:
        message = _misfit_message(rows, needed, missing)
        diags.error(SourceRef(at.path, at.line, 1), "", message, "csv-row")
        return False
    if missing:
        names = ", ".join(repr(name) for name in missing)
        message = f"the header has no {names} column; every result row needs {', '.join(needed)}"
        diags.error(SourceRef(at.path, at.line, 1), "", message, "missing-field")
        return False
    return not unknown


def _misfit_message(rows: CsvRows, needed: list[str], missing: list[str]) -> str:
    """Most rows longer than the header: the columns the header should name (`needed`
    by every row, of which it lacks `missing`)."""
    misfit = rows.misfit
    assert misfit is not None
    others = [n for n in m.ResultRow.model_fields if n != "extensions" and n not in needed]
    lacks = f" (this header has no {', '.join(repr(n) for n in missing)})" if missing else ""
    cells = plural(misfit.cells, "cell")
    return (
        f"rows have more cells than the header has columns: {misfit.rows:,} of the"
        f" {misfit.total:,} rows (the first at line {misfit.line}, with {cells}), and the"
        f" header names {plural(len(rows.header), 'column')}"
        f" ({', '.join(excerpt(name, 40) for name in rows.header)}); is a column's name"
        f" missing from it? Name each column in the rows' order: every result row needs"
        f" {', '.join(needed)}{lacks}, and may have {', '.join(others)}, or x-* extension"
        " columns"
    )


def _load_row(
    doc: Document, i: int, reader: Reader, rules: RowRules, diags: Diagnostics, source: str
) -> tuple[m.ResultRow | None, RowKey | None]:
    """Row `i` validated and checked; None when it breaks a rule, then its identity if read.
    `source`: the file's text, to place a refused character in a note where it stands."""
    raw = doc.data[i]
    if not isinstance(raw, dict):
        diags.add(doc.at((i,), f"expected a row mapping, got {describe(raw)}"))
        return None, None
    if reader.text_only:
        raw = doc.data[i] = _numbers_from_text(raw)
    elif _number(raw.get("n")) is not None and float(raw["n"]).is_integer():
        raw["n"] = int(raw["n"])  # 4188.0 from a JSON export is the count 4188, as in CSV
    metric = raw.get("metric")
    known = not isinstance(metric, str) or metric in rules.metrics
    # The integrity rules read the raw row, so they report even when another cell of the
    # row is wrong too; a cell they report is not reported again by the model (an id
    # that is no declared metric is not also refused for its spelling).
    own = []
    if not known and not rules.unnamed:
        message = not_declared(metric, list(rules.metrics))
        own.append(doc.at((i, "metric"), message, "unknown-metric"))
    own += _integrity(doc, i, rules, source)
    diags.extend(own)
    scratch = Diagnostics()
    row = validate_model(m.ResultRow, doc, scratch, base=(i,))
    reported = {d.field for d in own}
    diags.extend(d for d in scratch if d.field not in reported)
    if row is not None and not own and known:
        return row, None
    return None, _key(raw)


def _unit_not_read(
    doc: Document, i: int, rules: RowRules, bounds: Bounds | None
) -> Iterator[Diagnostic]:
    """Row `i`'s `n` as its only measure of noise, in a unit that reads as a percentage or
    a proportion but is not `%` or `ratio` (`pct`), of the metric the minimum detectable
    effect names: the arms are not tested as proportions (stats.is_proportion_unit), so a
    move of the MDE alone counted as evidence. Not a value no proportion takes (a growth
    rate of −3 %), nor another metric's (with `n` alone, no move of it is evidence). Told
    once a metric, at its first such row."""
    raw = doc.data[i]
    metric = raw.get("metric")
    n, std, value = _number(raw.get("n")), _number(raw.get("std")), _number(raw.get("value"))
    meant = m.reads_as_proportion(bounds.unit) if bounds is not None and n is not None else None
    top = 100.0 if meant == "%" else 1.0
    if (
        meant is not None
        and metric == rules.mde_metric
        and value is not None
        and 0.0 <= value <= top
        and std is None
        and all(_number(raw.get(name)) is None for name in ("lower", "upper"))
        and metric not in rules.unit_told
    ):
        assert bounds is not None and bounds.unit is not None and isinstance(metric, str)
        rules.unit_told.add(metric)  # its unit is the problem: said at its first such row
        what = "a percentage" if meant == "%" else "a proportion"
        scale = "0 to 100" if meant == "%" else "0 to 1"
        unit = f"the unit {excerpt(bounds.unit.strip())}"
        there = ""
        if bounds.catalogued:  # the charter only names it: the unit is the catalogue's
            unit += f" of the catalogued metric {excerpt(metric)}"
            there = f" in {CATALOGUE_FILE}"
        message = (
            f"n is read only for a proportion, in the unit '%' or 'ratio', and this row gives"
            f" no other measure of its noise (std, or lower and upper): {unit} reads as"
            f" {what}; write it {meant!r}{there} (values {scale}) for the arms to be compared"
            " as proportions, or give std or lower and upper"
        )
        yield doc.at((i, "n"), message, "unit-not-read")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return finite(value)


def _integrity(doc: Document, i: int, rules: RowRules, source: str) -> Iterator[Diagnostic]:
    """Every integrity rule of one row, each problem at its cell (a refused character in
    a note of many lines at its own line and column, `messages.written_at`)."""
    raw = doc.data[i]
    yield from _interval_contains_value(doc, i)
    metric = raw.get("metric")
    bounds = rules.metrics.get(metric) if isinstance(metric, str) else None
    for name in ("value", "lower", "upper"):
        number = _number(raw.get(name))
        # One too large for any metric is told so by the model, not as out of this one's range.
        if number is not None and bounds is not None and abs(number) <= m.MAX_NUMBER:
            problem = outside_bounds(number, bounds)
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
    yield from _unit_not_read(doc, i, rules, bounds)
    note = raw.get("note")
    control = control_character(note) if isinstance(note, str) else None
    if control is not None:
        at = written_at(doc, (i, "note"), source, control)
        message = control_message(control)
        yield Diagnostic(at, format_path((i, "note")), message, "invisible-character")
    variant = raw.get("variant")
    hidden = _hidden_character(variant) if isinstance(variant, str) else None
    if isinstance(variant, str) and variant and not variant.strip():
        message = (
            "the variant is only spaces; leave it out for the production value, or name the arm"
        )
        yield doc.at((i, "variant"), message, "invalid-value")
    elif hidden is not None:
        message = (
            f"{excerpt(variant)} holds the invisible character U+{ord(hidden):04X}; write the"
            " variant in visible characters (two arms that look alike are shown as one)"
        )
        yield doc.at((i, "variant"), message, "invisible-character")
    elif isinstance(variant, str) and _nfkc(variant) != variant:
        plain = _nfkc(variant)
        how = (
            "decomposed (NFD: an accent, or a Hangul syllable's letters, written as"
            " separate characters)"
            if unicodedata.normalize("NFC", variant) == plain
            else "in compatibility characters (fullwidth or mathematical letters, ligatures)"
        )
        message = (
            f"{excerpt(variant)} is written {how}; write it as {excerpt(plain)}"
            " (two arms that look alike are shown as one)"
        )
        yield doc.at((i, "variant"), message, "mixed-script")
    elif isinstance(variant, str) and (mixed := mixed_word(variant)):
        word, scripts = mixed
        which = "" if word == variant else f" in the word {excerpt(word)}"
        message = (
            f"{excerpt(variant)} mixes {' and '.join(scripts)} letters{which}; write each word"
            " of the variant in one alphabet (a look-alike letter, such as a Cyrillic 'с' in"
            " 'control', makes an arm that reads as another)"
        )
        yield doc.at((i, "variant"), message, "mixed-script")
    elif isinstance(variant, str) and arm_of(variant) == "production":
        message = (
            f"{excerpt(variant)} reads as the production rows, which have no variant (the"
            " pages and charts label those 'production'): two lines of one name. Leave the"
            " variant out for a production value, or name the arm otherwise"
        )
        yield doc.at((i, "variant"), message, "invalid-value")
    day = _date(raw.get("date"))
    if day is not None and day > rules.today:
        message = (
            f"{day.isoformat()} is after the build date, {rules.today.isoformat()}; a result"
            " cannot be dated later than the build (--today, else SOURCE_DATE_EPOCH, else today)"
        )
        yield doc.at((i, "date"), message, "future-date")


@lru_cache(maxsize=4096)  # per row of every result file; a charter has a few variants
def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


@lru_cache(maxsize=4096)  # per row of every result file; a charter has a few variants
def _hidden_character(text: str) -> str | None:
    """The first character of `text` that does not show as itself on a page (a control or
    format character such as NUL or a zero-width space, a line break, an unassigned or
    private code point, one of `diagnostics.INVISIBLE` such as a variation selector or a Hangul
    filler), else None."""
    for ch in text:
        if ch != " " and (unicodedata.category(ch) in _HIDDEN or ch in INVISIBLE):
            return ch
    return None


# Unicode categories of characters a reader cannot see: control, format, unassigned,
# private use, line and paragraph separators, and spaces other than the plain one.
_HIDDEN = frozenset({"Cc", "Cf", "Cn", "Co", "Cs", "Zl", "Zp", "Zs"})


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


def outside_bounds(number: float, bounds: Bounds) -> str | None:
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
    """(date, metric, arm) of a row (`arm_of` its variant), or None when one of them cannot
    be read."""
    day, metric, variant = _date(raw.get("date")), raw.get("metric"), raw.get("variant")
    if day is None or not isinstance(metric, str) or not isinstance(variant, str | None):
        return None
    return day, metric, arm_of(variant)


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
    number = float(read_number(value, False))  # beyond a float: refused as too large
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
