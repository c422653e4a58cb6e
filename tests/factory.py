"""The one test factory: a valid charter from keyword overrides, in memory or on disk.

`charter_data()` is a live A/B-tested charter that passes every rule; each keyword
replaces a top-level key (`status="proposed"`), and `None` drops it. The metric
builders do the same for one metric. `loaded()` and `view()` turn the data into what
the loader and the analysis produce without touching the disk, so unit tests of pure
functions stay pure; `write_charter()` writes the same data as a source tree for tests
of the loader, the build and the commands.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from generator import model as m
from generator.analyze import CharterView, analyze_charter
from generator.diagnostics import Diagnostics
from generator.load import LoadedCharter, Result, validate_model
from generator.outputs import RESULT_COLUMNS
from generator.readers import parse_yaml

Data = dict[str, Any]
AGREED: Data = {"by": ["VP Sales"], "on": "2026-01-05"}


VALUE_BLOCKS = ("baseline", "target", "tolerance")


def _apply(base: Data, overrides: dict[str, Any]) -> Data:
    """Replace keys of `base`; `None` drops a key; a number for a value block is its value."""
    for key, value in overrides.items():
        if value is None:
            base.pop(key, None)
        elif key in VALUE_BLOCKS and isinstance(value, int | float):
            base[key] = {"value": value}
        else:
            base[key] = value
    return base


def business_metric(mid: str = "conv", **overrides: Any) -> Data:
    """An agreed business metric in %, 10 → 12, higher is better."""
    base: Data = {
        "id": mid,
        "name": f"Business {mid}",
        "definition": f"How {mid} is computed.",
        "unit": "%",
        "direction": "increase",
        "baseline": {"value": 10.0},
        "target": {"value": 12.0},
        "agreed": dict(AGREED),
    }
    return _apply(base, overrides)


def ml_metric(mid: str = "prec", drives: Sequence[str] = ("conv",), **overrides: Any) -> Data:
    """A model metric in ratio, 0.7 → 0.9, that drives `drives`."""
    base: Data = {
        "id": mid,
        "name": f"Model {mid}",
        "unit": "ratio",
        "direction": "increase",
        "baseline": {"value": 0.7},
        "target": {"value": 0.9},
        "drives": list(drives),
    }
    return _apply(base, overrides)


def guardrail(mid: str = "lat", **overrides: Any) -> Data:
    """A latency guardrail in ms, lower is better, tolerance 5."""
    base: Data = {
        "id": mid,
        "name": f"Guardrail {mid}",
        "unit": "ms",
        "direction": "decrease",
        "tolerance": {"value": 5.0},
    }
    return _apply(base, overrides)


def measurement(**overrides: Any) -> Data:
    base: Data = {
        "method": "ab_test",
        "population": "All customers.",
        "cadence": "weekly",
        "decision_rule": "Ship if the 95% CI excludes zero.",
    }
    return _apply(base, overrides)


def charter_data(
    *,
    method: str | None = None,
    guardrails: list[Data] | None = None,
    mde: Data | None = None,
    **overrides: Any,
) -> Data:
    """A valid live charter; each keyword replaces a top-level key, `None` drops it.

    `method`, `guardrails` and `mde` (the minimum detectable effect) go into the
    measurement plan.
    """
    plan: Data = {}
    if method is not None:
        plan["method"] = method
    if guardrails:
        plan["guardrails"] = guardrails
    if mde is not None:
        plan["minimum_detectable_effect"] = mde
    base: Data = {
        "title": "Test charter",
        "summary": "A charter written by a test.",
        "status": "live",
        "owner": {"name": "Ana Ruiz"},
        "objective": {"statement": "Sell more."},
        "business_metrics": [business_metric()],
        "ml_metrics": [],
        "measurement": measurement(**plan),
        "human_baseline": {"waived": "Nobody can do this by hand."},
    }
    return _apply(base, overrides)


def row(day: str, metric: str, value: float, variant: str = "", **extra: Any) -> Data:
    """One result row as a result file would hold it."""
    return {"date": day, "metric": metric, "variant": variant, "value": value, **extra}


def ab(day: str, metric: str, control: float, treatment: float, **arm: Any) -> list[Data]:
    """A control and a treatment row on one date with the same extra columns."""
    return [
        row(day, metric, control, "control", **arm),
        row(day, metric, treatment, "treatment", **arm),
    ]


# --- in memory ---------------------------------------------------------------------------


def loaded(data: Data, rows: Sequence[Data] = (), cid: str = "probe") -> LoadedCharter:
    """What the loader makes of `data` and `rows`, without a file (same parser and models)."""
    path = f"charters/{cid}/charter.yaml"
    diags = Diagnostics()
    doc = parse_yaml(yaml.safe_dump(data, sort_keys=False), path, diags)
    charter = validate_model(m.Charter, doc, diags) if doc is not None else None
    results_path = f"charters/{cid}/results/results.yaml"
    clean = [{k: v for k, v in r.items() if v not in ("", None)} for r in rows]
    rows_doc = parse_yaml(yaml.safe_dump(clean, sort_keys=False), results_path, diags)
    results = []
    for i in range(len(clean)):
        assert rows_doc is not None
        result_row = validate_model(m.ResultRow, rows_doc, diags, base=(i,))
        if result_row is not None:
            results.append(Result(result_row, rows_doc.ref((i,))))
    assert doc is not None and charter is not None, [d.format_text() for d in diags]
    assert not diags.errors, [d.format_text() for d in diags]
    return LoadedCharter(id=cid, path=path, charter=charter, doc=doc, results=results)


def view(data: Data, rows: Sequence[Data] = (), cid: str = "probe") -> CharterView:
    """The analysed charter, as pages and rules see it."""
    return analyze_charter(loaded(data, rows, cid))


# --- on disk -----------------------------------------------------------------------------


def write_charter(
    root: Path,
    cid: str,
    data: Data,
    rows: Sequence[Data] = (),
    results_file: str = "results.csv",
) -> str:
    """Write `data` as charters/<cid>/charter.yaml and `rows` as a results CSV; return the YAML."""
    folder = root / "charters" / cid
    folder.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    (folder / "charter.yaml").write_text(text, encoding="utf-8")
    if rows:
        (folder / "results").mkdir(exist_ok=True)
        with (folder / "results" / results_file).open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=RESULT_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    return text
