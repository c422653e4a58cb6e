"""The comparison rules of `charters diff`, on two folders (no git needed)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import minimal_charter

from generator.diff import (
    MARKER,
    Report,
    diff_sides,
    format_markdown,
    load_side,
    missing_revision_message,
    trend,
)

AGREED = (
    "\n  - id: ttfr"
    "\n    name: Time to first response"
    "\n    definition: Median hours to first reply."
    "\n    unit: hours"
    "\n    direction: decrease"
    "\n    baseline: {value: 6.2}"
    "\n    target: {value: 4.5, by: 2026-12-31}"
    "\n    agreed: {by: [Head of Support], on: 2026-02-15}"
)


def compare(tmp_path: Path, before: str, after: str, results: str | None = None) -> Report:
    sides = []
    for name, text in (("base", before), ("head", after)):
        root = tmp_path / name
        (root / "charters" / "routing").mkdir(parents=True)
        (root / "charters" / "routing" / "charter.yaml").write_text(text, encoding="utf-8")
        sides.append(load_side(str(root), tmp_path, name.upper()))
    assert sides[0].ok and sides[1].ok, sides[0].errors + sides[1].errors
    return diff_sides(sides[0], sides[1])


def kinds(report: Report) -> list[tuple[str, str | None, str | None]]:
    return [(c.kind, c.metric, c.field) for c in report.changes if not c.kind.startswith("find")]


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("direction: decrease", "direction: increase", "direction"),
        ("unit: hours", "unit: minutes", "unit"),
        ("Median hours to first reply.", "Mean hours to first reply.", "definition"),
        ("baseline: {value: 6.2}", "baseline: {value: 7.0}", "baseline.value"),
        ("by: 2026-12-31", "by: 2027-06-30", "target.by"),
    ],
)
def test_goalpost_fields_of_an_agreed_metric(
    tmp_path: Path, old: str, new: str, field: str
) -> None:
    before = minimal_charter(business_metrics=AGREED)
    after = minimal_charter(business_metrics=AGREED.replace(old, new))
    assert kinds(compare(tmp_path, before, after)) == [("goalpost-moved", "ttfr", field)]


def test_a_name_change_is_never_a_goalpost(tmp_path: Path) -> None:
    before = minimal_charter(business_metrics=AGREED)
    after = minimal_charter(business_metrics=AGREED.replace("Time to first", "Time to 1st"))
    assert kinds(compare(tmp_path, before, after)) == [("metric-changed", "ttfr", "name")]


def test_changes_before_agreement_are_plain_metric_changes(tmp_path: Path) -> None:
    not_agreed = AGREED.replace("\n    agreed: {by: [Head of Support], on: 2026-02-15}", "")
    before = minimal_charter(business_metrics=not_agreed)
    after = minimal_charter(business_metrics=not_agreed.replace("value: 4.5", "value: 5.5"))
    report = compare(tmp_path, before, after)
    assert kinds(report) == [("metric-changed", "ttfr", "target.value")]
    assert "less ambitious" in report.changes[0].message


def test_ml_metrics_and_guardrails_added_removed_and_moved(tmp_path: Path) -> None:
    ml = {
        "id": "precision",
        "name": "Precision",
        "unit": "ratio",
        "direction": "increase",
        "drives": ["ttfr"],
    }
    before = minimal_charter(ml_metrics=[ml])
    after = minimal_charter(
        ml_metrics=[{**ml, "unit": "%"}, {**ml, "id": "recall", "name": "Recall"}]
    )
    assert kinds(compare(tmp_path, before, after)) == [
        ("metric-changed", "precision", "unit"),
        ("metric-changed", "recall", None),
    ]
    report = compare(tmp_path / "2", after, before)
    assert kinds(report) == [
        ("metric-changed", "precision", "unit"),
        ("metric-changed", "recall", None),
    ]
    assert "removed" in report.changes[-1].message


def test_status_change(tmp_path: Path) -> None:
    report = compare(tmp_path, minimal_charter(), minimal_charter(status="paused"))
    status = [(c.before, c.after) for c in report.changes if c.kind == "status-changed"]
    assert status == [("live", "paused")]


@pytest.mark.parametrize(
    ("was", "now", "direction", "expected"),
    [
        (5.0, 4.0, "decrease", "improved"),
        (5.0, 6.0, "decrease", "regressed"),
        (5.0, 6.0, "increase", "improved"),
        (5.0, 4.0, "increase", "regressed"),
        (5.0, 5.0, "increase", "unchanged"),
    ],
)
def test_trend_follows_the_direction(was: float, now: float, direction: Any, expected: str) -> None:
    assert trend(was, now, direction) == expected


def test_markdown_escapes_charter_text(tmp_path: Path) -> None:
    before = minimal_charter(business_metrics=AGREED)
    after = minimal_charter(
        business_metrics=AGREED.replace(
            "Median hours to first reply.", "'Hours | <b>bold</b>\n      and more.'"
        )
    )
    text = format_markdown(compare(tmp_path, before, after))
    assert text.startswith(MARKER + "\n")
    row = next(line for line in text.splitlines() if "Goalpost" in line)
    assert "\\|" in row and "&lt;b>" in row and "<b>" not in row


def test_missing_revision_messages() -> None:
    shallow = missing_revision_message("HEAD~3", "BASE", shallow=True)
    assert "shallow clone" in shallow and "--deepen" in shallow and "fetch-depth: 0" in shallow
    branch = missing_revision_message("origin/main", "BASE", shallow=False)
    assert "`git fetch origin main`" in branch


def test_without_the_rules_there_are_no_verdict_or_finding_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "generator.rules", None)  # import fails
    before = minimal_charter(business_metrics=AGREED)
    after = minimal_charter(
        business_metrics=AGREED.replace("value: 4.5", "value: 5.0"), status="paused"
    )
    report = compare(tmp_path, before, after)
    assert [c.kind for c in report.changes] == ["status-changed", "goalpost-moved"]
    assert report.head.checks is None
    assert "not compared" in report.head.notes[0]
    assert "not compared" in format_markdown(report)
