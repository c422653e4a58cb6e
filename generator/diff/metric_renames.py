"""Diff stage: a metric whose id changed, told apart from one removed and one added.

A metric's id changed in BASE..HEAD, every reference to it (an ML metric's `drives`, the
plan's minimum detectable effect, the human baseline, an MLflow pull) and its result rows
with it. Compared as two metrics, that read as its agreement removed (which fails the
shipped gate), its rows rewritten and the plan changed with results in hand, while a
goalpost moved in the same change was no `goalpost-moved`. Here BASE's charter is read
through the rename before it is compared (`renamed_base`): the rename is one change,
and whatever else changed of the metric (a target, an agreement) or of the charter is
reported as it would be without it, against BASE's values.

The same metric is known by its data: one metric in BASE only and one in HEAD only, of
the same kind, where every BASE row of the old id is a HEAD row of the new one (value,
arm, interval, `n`, `std` and note alike; HEAD may have more). A metric without rows on
either side is known by being equal but for its id. Each pairing must be the only one
for both ids; anything else is a metric removed and one added, as before.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from .. import model as m
from ..analyze import analyze_charter
from ..columns import ResultTable
from ..load import Result
from ..results import Row
from ..rules import CharterCheck, check_charter


def metric_renames(base: CharterCheck, head: CharterCheck) -> dict[str, str]:
    """The metrics whose id changed between `base` and `head`: old id → new id."""
    return renames_between(
        base.view.charter, base.view.loaded.results, head.view.charter, head.view.loaded.results
    )


def renames_between(
    base: m.Charter, base_rows: ResultTable, head: m.Charter, head_rows: ResultTable
) -> dict[str, str]:
    """The metrics whose id changed between charter `base` with its rows and charter `head`
    with its rows: old id → new id (the history reads a charter before an edit through
    them, history.py)."""
    before = {e.metric.id: e for e in base.metrics()}
    after = {e.metric.id: e for e in head.metrics()}
    gone = [mid for mid in before if mid not in after]
    new = [mid for mid in after if mid not in before]
    if not gone or not new:
        return {}
    rows_before = _rows_by_metric(base_rows)
    rows_after = _rows_by_metric(head_rows)
    pairs: dict[str, list[str]] = {}
    for old in gone:
        for now in new:
            if before[old].kind != after[now].kind:
                continue
            was, rows = rows_before.get(old, Counter()), rows_after.get(now, Counter())
            same_data = bool(was) and not was - rows  # every old row is one of the new id's
            alike = not was and not rows and _bare(before[old].metric) == _bare(after[now].metric)
            if same_data or alike:
                pairs.setdefault(old, []).append(now)
    chosen = {old: nows[0] for old, nows in pairs.items() if len(nows) == 1}
    taken = Counter(chosen.values())
    mapping = {old: now for old, now in chosen.items() if taken[now] == 1}
    if not mapping:
        return {}
    # Without rows, equal once renamed: an ML metric's `drives` read through the rename.
    charter = renamed_charter(base, mapping)
    renamed = {e.metric.id: e.metric for e in charter.metrics()}
    return {
        old: now
        for old, now in mapping.items()
        if rows_before.get(old) or renamed[now] == after[now].metric
    }


def renamed_base(
    base: CharterCheck, mapping: Mapping[str, str], disabled: set[str]
) -> CharterCheck:
    """BASE's charter and rows read through the renames, analysed and checked again as
    `charters check` would with BASE's switched-off rules."""
    loaded = base.view.loaded
    results = renamed_rows(loaded.results, mapping)
    charter = renamed_charter(loaded.charter, mapping)
    return check_charter(
        analyze_charter(replace(loaded, charter=charter, results=results)), None, disabled
    )


def renamed_rows(rows: ResultTable, mapping: Mapping[str, str]) -> ResultTable:
    """`rows` with the metric of each row in `mapping` renamed."""
    return ResultTable.of(
        Result(_row_of(r.row, mapping[r.row.metric]), r.ref) if r.row.metric in mapping else r
        for r in rows
    )


def renamed_charter(charter: m.Charter, mapping: Mapping[str, str]) -> m.Charter:
    """`charter` with each metric id in `mapping` renamed, where it is declared and
    wherever it is named (the places `renamed_raw` renames in a raw charter.yaml: a new
    place a metric id is named goes into both)."""

    def mid(value: str) -> str:
        return mapping.get(value, value)

    def metric(entry: Any) -> Any:
        update: dict[str, Any] = {"id": mid(entry.id)}
        if isinstance(entry, m.MLMetric):
            update["drives"] = [mid(d) for d in entry.drives]
        return entry.model_copy(update=update)

    plan = charter.measurement
    mde = plan.minimum_detectable_effect
    if mde is not None:
        mde = mde.model_copy(update={"metric": mid(mde.metric)})
    plan = plan.model_copy(
        update={
            "guardrails": [metric(g) for g in plan.guardrails],
            "minimum_detectable_effect": mde,
        }
    )
    update: dict[str, Any] = {
        "business_metrics": [metric(b) for b in charter.business_metrics],
        "ml_metrics": [metric(x) for x in charter.ml_metrics],
        "measurement": plan,
        "pull": [_pull(p, mid) for p in charter.pull],
    }
    human = charter.human_baseline
    if human is not None:
        results = [r.model_copy(update={"metric": mid(r.metric)}) for r in human.results]
        update["human_baseline"] = human.model_copy(update={"results": results})
    return charter.model_copy(update=update)


def renamed_raw(data: dict[str, Any], renames: Mapping[str, str]) -> dict[str, Any]:
    """`renamed_charter` on a raw charter.yaml (the history compares versions as written):
    each metric id in `renames` renamed where it is declared and wherever it is named."""
    out = copy.deepcopy(data)

    def mid(value: Any) -> Any:
        return renames.get(value, value) if isinstance(value, str) else value

    for _, section in m.METRIC_LISTS:
        for _, item in m.items_at(out, *section):
            if "id" in item:
                item["id"] = mid(item["id"])
            if isinstance(item.get("drives"), list):
                item["drives"] = [mid(d) for d in item["drives"]]
    plan = out.get("measurement")
    mde = plan.get("minimum_detectable_effect") if isinstance(plan, dict) else None
    if isinstance(mde, dict) and "metric" in mde:
        mde["metric"] = mid(mde["metric"])
    for _, result in m.items_at(out, "human_baseline", "results"):
        if "metric" in result:
            result["metric"] = mid(result["metric"])
    return out


def _row_of(row: Row | m.ResultRow, metric: str) -> Row | m.ResultRow:
    """`row` of the metric renamed `metric`."""
    if isinstance(row, m.ResultRow):
        return row.model_copy(update={"metric": metric})
    return replace(row, metric=metric)


def _pull(entry: m.Pull, mid: Any) -> m.Pull:
    if entry.mlflow is None:
        return entry
    keys = {mid(k): v for k, v in entry.mlflow.metrics.items()}
    return entry.model_copy(update={"mlflow": entry.mlflow.model_copy(update={"metrics": keys})})


def _bare(metric: Any) -> Any:
    """A metric without its id and the ids it names (`drives`)."""
    update: dict[str, Any] = {"id": "x"}
    if isinstance(metric, m.MLMetric):
        update["drives"] = []
    return metric.model_copy(update=update)


def bare_raw(item: dict[str, Any]) -> dict[str, Any]:
    """`_bare` on a raw metric as written: without its id and the ids it names."""
    return {k: v for k, v in item.items() if k not in ("id", "drives")}


def _rows_by_metric(results: ResultTable) -> dict[str, Counter[tuple[Any, ...]]]:
    """Each metric's rows, as values (where they are written aside)."""
    out: dict[str, Counter[tuple[Any, ...]]] = {}
    for r in results:
        row = r.row
        key = (row.date, row.variant or "", row.value, row.lower, row.upper, row.n, row.std)
        out.setdefault(row.metric, Counter())[(*key, row.note or "")] += 1
    return out
