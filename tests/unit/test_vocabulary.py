"""The shared vocabulary: every coded value has one label, and one definition of a control arm."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any, get_args

import pytest
from factory import write_charter
from helpers import REPO_ROOT

from generator import model as m
from generator import vocabulary as v
from generator.analyze import analyze_charter
from generator.charts import chart_spec, render_svg
from generator.load import load_project

# --- labels ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "labels"),
    [
        (get_args(m.Status), v.STATUS_LABELS),
        (get_args(m.Method), v.METHOD_LABELS),
        (get_args(m.Direction), v.DIRECTION_LABELS),
        (v.VERDICTS, v.VERDICT_LABELS),
        (v.KINDS, v.KIND_LABELS),
        (v.METRIC_STATUSES, v.METRIC_STATUS_LABELS),
        (v.REF_KINDS, v.REF_LABELS),
        (v.CHANGE_KINDS, v.CHANGE_LABELS),
        (v.TRENDS, v.TREND_LABELS),
        ((*v.HISTORY_KINDS, "moved"), v.HISTORY_LABELS),
    ],
)
def test_every_value_of_the_format_has_exactly_one_label(
    values: tuple[str, ...], labels: dict[str, str]
) -> None:
    assert set(labels) == set(values)
    assert all(text.strip() for text in labels.values())


def test_status_orders_cover_every_status() -> None:
    assert set(v.STATUS_DISPLAY_ORDER) == set(v.STATUSES)
    assert v.STATUSES[0] == "proposed"
    assert v.past("live", "proposed") and not v.past("proposed", "proposed")
    assert v.past("experiment", "baseline") and not v.past("baseline", "baseline")


def test_label_filter_shows_unknown_values_as_written() -> None:
    assert v.label("live", "status") == "Live"
    assert v.label("ml-only", "verdict") == "ML metric only"
    assert v.label("something-new", "verdict") == "something-new"


# The vocabularies whose labels templates show (reference lines are named inside the
# charts, changes and trends in `diff` output; their words double as column headings).
PAGE_VOCABULARIES = (
    "status", "method", "verdict", "metric_status", "direction", "human_baseline", "alert"
)  # fmt: skip


def _label_literals(names: tuple[str, ...] = tuple(v.VOCABULARIES)) -> set[str]:
    """Label texts; a label spelled exactly like its code is the code, not a label."""
    out: set[str] = set()
    for name in names:
        out.update(text for code, text in v.VOCABULARIES[name].items() if text != code)
    return out


def test_templates_hold_no_label_text() -> None:
    """Labels come from the vocabulary through the `label` filter, never from templates."""
    templates = sorted((REPO_ROOT / "templates").glob("*.*"))
    assert templates
    found = []
    for path in templates:
        text = path.read_text(encoding="utf-8")
        # Only text a reader sees: the contents of elements and quoted template strings.
        visible = re.findall(r">([^<>{}]+)<", text) + re.findall(r"'([^']+)'", text)
        for literal in _label_literals(PAGE_VOCABULARIES):
            if any(chunk.strip() == literal for chunk in visible):
                found.append(f"{path.name}: {literal!r}")
    assert found == []


def test_generator_spells_each_label_once() -> None:
    sources = {
        p: p.read_text(encoding="utf-8") for p in sorted((REPO_ROOT / "generator").glob("**/*.py"))
    }
    repeated = {}
    for literal in _label_literals():
        quoted = [f'"{literal}"', f"'{literal}'"]
        count = sum(text.count(q) for text in sources.values() for q in quoted)
        if count != 1:
            repeated[literal] = count
    assert repeated == {}


# --- the control arm ---------------------------------------------------------------------


@pytest.mark.parametrize("name", [*sorted(v.CONTROL_NAMES), "Control", " HOLDOUT "])
def test_control_names(name: str) -> None:
    assert v.is_control(name)


@pytest.mark.parametrize("name", ["treatment", "", None, "model-b", "controller"])
def test_not_control(name: str | None) -> None:
    assert not v.is_control(name)


def _charter() -> dict[str, Any]:
    return {
        "title": "Holdout probe",
        "summary": "A charter with a holdout arm.",
        "status": "live",
        "owner": {"name": "Ana Ruiz"},
        "objective": {"statement": "Sell more."},
        "business_metrics": [
            {
                "id": "conv",
                "name": "Conversion",
                "definition": "Orders per visit.",
                "unit": "%",
                "direction": "increase",
                "baseline": {"value": 10.0},
                "target": {"value": 14.0},
                "agreed": {"by": ["VP Sales"], "on": "2026-01-05"},
            }
        ],
        "measurement": {"method": "holdout", "population": "All visitors."},
        "human_baseline": {"waived": "Nobody can do this by hand."},
    }


@pytest.mark.parametrize("control", sorted(v.CONTROL_NAMES))
def test_every_control_name_gets_a_lift_and_a_grey_line(tmp_path: Path, control: str) -> None:
    rows = [
        {"date": "2026-03-01", "metric": "conv", "variant": control, "value": 10.0, "n": 20000},
        {"date": "2026-03-01", "metric": "conv", "variant": "treatment", "value": 12.0, "n": 20000},
    ]
    write_charter(tmp_path, "probe", _charter(), rows)
    project, diags = load_project(tmp_path)
    assert not diags.errors, [d.format_text() for d in diags.errors]
    view = analyze_charter(project.charters[0])
    conv = view.metric("conv")
    assert conv is not None and conv.lift is not None
    assert conv.lift.treatment == "treatment"
    assert conv.lift.lift.absolute == pytest.approx(2.0)
    assert conv.move_reference == "control"
    assert conv.latest is not None and conv.latest.row.variant == "treatment"
    assert view.verdict == "business-impact"
    svg = render_svg(chart_spec(conv), chart_id="probe-conv")
    # The control arm is drawn in the control grey; the treatment in the first series colour.
    assert "#8a8a8a" in svg.lower()
    assert "#0072b2" in svg.lower()


# --- what `check` imports ----------------------------------------------------------------

HEAVY = ("jinja2", "markdown", "nh3", "matplotlib", "scipy")


@pytest.mark.parametrize("module", ["generator.check", "generator.formatting"])
def test_check_imports_nothing_heavy(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    assert out.stdout.strip() == ""


# Needed by no check: the template and chart libraries, the statistics library beyond
# the t quantiles (scipy.special), and what only `pull` and `serve` use. (Markdown and
# its sanitiser are: a charter's Markdown links are read as its page renders them.)
NOT_ON_THE_CHECK_PATH = (
    "jinja2",
    "matplotlib",
    "scipy.stats",
    "sqlalchemy",
    "duckdb",
    "watchfiles",
    "mlflow",
)


def test_charters_check_end_to_end_imports_nothing_heavy(tmp_path: Path) -> None:
    """`charters check` on the examples, run as a user runs it, with -X importtime.

    With an empty cache folder, so the check runs rather than printing a cached report.
    """
    command = ["-m", "generator", "check", "--source", REPO_ROOT, "--cache-dir", tmp_path]
    out = subprocess.run(
        [sys.executable, "-X", "importtime", *command],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "checked 9 charters" in out.stdout + out.stderr
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in out.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    # The check really ran: it read YAML, validated and worked out t intervals.
    assert {"yaml", "pydantic"} <= imported
    assert any(name.startswith("scipy.special.") for name in imported)
    heavy = sorted(
        name
        for name in imported
        if any(name == top or name.startswith(top + ".") for top in NOT_ON_THE_CHECK_PATH)
    )
    assert heavy == []


@pytest.mark.parametrize(
    ("was", "now", "gained"),
    [("no-impact", "business-impact", True), ("ml-only", "target-met", True),
     ("business-impact", "target-met", True), ("target-met", "business-impact", False),
     ("business-impact", "business-impact", False), ("no-results", "no-impact", False),
     (None, "target-met", True), ("target-met", None, False)],
)  # fmt: skip
def test_a_verdict_gained_says_the_business_moved_more(
    was: str | None, now: str | None, gained: bool
) -> None:
    assert v.verdict_gained(was, now) is gained


@pytest.mark.parametrize(
    ("was", "now", "undone"),
    [("live", "experiment", True), ("retired", "proposed", True), ("paused", "baseline", True),
     ("live", "paused", False), ("experiment", "live", False), ("proposed", "baseline", False)],
)  # fmt: skip
def test_a_rollout_is_undone_by_a_status_before_it(was: str, now: str, undone: bool) -> None:
    assert v.rollout_undone(was, now) is undone
