"""The comparison rules of `charters diff`, on two folders (no git needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import MINIMAL_BLOCKS, minimal_charter

from generator.diff import MARKER, DiffReport, diff_sides, load_side, missing_revision_message
from generator.diff.compare import direction_trend
from generator.diff.report import format_markdown

# The minimal charter's business metric with a deadline, agreed.
AGREED = (
    MINIMAL_BLOCKS["business_metrics"].replace(
        "target: {value: 4.5}", "target: {value: 4.5, by: 2026-12-31}"
    )
    + "\n    agreed: {by: [Head of Support], on: 2026-02-15}"
)


def compare(
    tmp_path: Path, before: str, after: str, results: tuple[str | None, str | None] = (None, None)
) -> DiffReport:
    """Load `before` and `after` (and result CSVs, if any) as two folders and compare them."""
    sides = []
    for name, text, rows in (("base", before, results[0]), ("head", after, results[1])):
        folder = tmp_path / name / "charters" / "routing"
        folder.mkdir(parents=True)
        (folder / "charter.yaml").write_text(text, encoding="utf-8")
        if rows is not None:
            (folder / "results").mkdir()
            (folder / "results" / "production.csv").write_text(rows, encoding="utf-8")
        sides.append(load_side(str(tmp_path / name), tmp_path, name.upper()))
    assert sides[0].ok and sides[1].ok, sides[0].errors + sides[1].errors
    return diff_sides(sides[0], sides[1])


def kinds(report: DiffReport) -> list[tuple[str, str | None, str | None]]:
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
    assert direction_trend(was, now, direction) == expected


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
    assert "\\|" in row and "\\<b\\>" in row and "<b>" not in row.replace("\\<b\\>", "")


def test_field_values_are_shown_exactly(tmp_path: Path) -> None:
    """A goalpost moved by a small amount must not read as no change at all."""
    not_agreed = MINIMAL_BLOCKS["business_metrics"]
    before = minimal_charter(business_metrics=not_agreed.replace("4.5}", "1234.5}"))
    after = minimal_charter(business_metrics=not_agreed.replace("4.5}", "1234.625}"))
    (change,) = compare(tmp_path, before, after).of_kind("metric-changed")
    assert change.message == "`ttfr` target.value: 1234.5 → 1234.625 (less ambitious)"
    row = next(
        line
        for line in format_markdown(compare(tmp_path / "2", before, after)).splitlines()
        if "target.value" in line
    )
    assert row == "| Metric changed | `ttfr` | target.value | 1234.5 | 1234.625 |"


def test_new_results_are_read_from_the_analysed_metric(tmp_path: Path) -> None:
    # ttfr: baseline 6.2, target 4.5, lower is better; 5.35 closes half the gap.
    rows = "date,metric,value\n2026-01-05,ttfr,5.35\n"
    report = compare(tmp_path, minimal_charter(), minimal_charter(), (None, rows))
    (added,) = report.of_kind("results-added")
    assert added.before is None
    assert added.after == {
        "date": "2026-01-05",
        "value": 5.35,
        "variant": None,
        "progress": pytest.approx(0.5),
        "met": False,
        "status": "flat",  # no interval and no minimum detectable effect: not evidence
    }
    assert (added.trend, added.extra["trend_reference"]) == ("improved", "baseline")
    assert added.message == (
        "`ttfr`: 1 row added; latest no result → 5.35 hours (2026-01-05), improved against"
        " the baseline; 50% of the way to the target 4.5 hours"
    )
    text = format_markdown(report)
    assert (
        "| `ttfr` | — | 5.35 hours (2026-01-05) | ▲ improved | 50% of the way to 4.5 hours | +1 |"
        in text
    )


def test_the_latest_value_never_comes_from_a_holdout_arm(tmp_path: Path) -> None:
    rows = (
        "date,metric,variant,value,n,std\n"
        "2026-01-05,ttfr,holdout,6.1,4000,3.0\n"
        "2026-01-05,ttfr,treatment,5.0,4000,3.0\n"
    )
    report = compare(tmp_path, minimal_charter(), minimal_charter(), (None, rows))
    (added,) = report.of_kind("results-added")
    assert (added.after["variant"], added.after["value"]) == ("treatment", 5.0)
    assert added.after["status"] == "improved"  # 1.1 hours faster than holdout, n = 4,000 each


def test_status_and_verdict_rows_show_their_labels(tmp_path: Path) -> None:
    rows = "date,metric,value\n2026-01-05,ttfr,6.3\n"
    report = compare(tmp_path, minimal_charter(), minimal_charter(status="paused"), (None, rows))
    status = report.of_kind("status-changed")[0]
    verdict = report.of_kind("verdict-changed")[0]
    assert (status.before, status.after) == ("live", "paused")  # codes in the JSON
    assert (verdict.before, verdict.after) == ("no-results", "no-impact")
    assert verdict.message == "verdict: No results → No impact"
    lines = format_markdown(report).splitlines()
    assert "| Status |  | status | Live | Paused |" in lines
    assert "| Verdict |  |  | No results | No impact |" in lines


def test_missing_revision_messages() -> None:
    shallow = missing_revision_message("HEAD~3", "BASE", shallow=True)
    assert "shallow clone" in shallow and "--deepen" in shallow and "fetch-depth: 0" in shallow
    branch = missing_revision_message("origin/main", "BASE", shallow=False)
    assert "`git fetch origin main`" in branch
