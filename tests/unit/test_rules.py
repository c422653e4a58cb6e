"""Tests for generator.rules: each rule MC101-MC111 fires where it should and nowhere else.

A compliant charter gets no finding at all; each test changes one thing and expects the
one rule that covers it, at the line of the field concerned. Rules can be switched off
in site.yaml (`lint.disable`) and per charter (`x-lint: {disable: [...]}`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from factory import (
    business_metric,
    charter_data,
    guardrail,
    measurement,
    ml_metric,
    write_charter,
)
from helpers import parse_html

from generator.analyze import analyze_project
from generator.build import Settings, build
from generator.diagnostics import DateError, Diagnostic, today_from_env
from generator.load import load_project
from generator.rules import (
    RULES,
    RULES_BY_CODE,
    CharterCheck,
    check_project,
    check_views,
    site_findings,
)

TODAY = date(2026, 3, 15)  # a week after the compliant charter's latest result

# --------------------------------------------------------------------------- helpers


def compliant() -> dict[str, Any]:
    """A live A/B-tested charter that satisfies every rule."""
    return charter_data(
        title="Checkout recommendations",
        summary="Recommend add-ons at checkout.",
        objective={"statement": "Larger baskets."},
        business_metrics=[
            business_metric(
                "conv",
                name="Checkout conversion",
                definition="Share of sessions with an order.",
                target=15.0,
            )
        ],
        ml_metrics=[ml_metric("prec", name="Recommendation precision")],
        measurement=measurement(
            population="All web sessions.",
            minimum_detectable_effect={"metric": "conv", "absolute": 0.5},
            guardrails=[guardrail("latency", name="Checkout p95 latency", tolerance=20.0)],
            decision_rule="Ship if conversion rises (95% CI excludes 0).",
        ),
        human_baseline={
            "method": "Merchandisers picked add-ons by hand for a week.",
            "results": [{"metric": "conv", "value": 11.5}],
        },
        decisions=[{"date": "2026-03-08", "decision": "Ramp to 50%."}],
    )


def compliant_rows() -> list[dict[str, Any]]:
    rows = []
    for day, c, t in (("2026-03-01", 10.0, 11.0), ("2026-03-08", 10.1, 11.2)):
        rows.append({"date": day, "metric": "conv", "variant": "control", "value": c, "n": 100000})
        rows.append(
            {"date": day, "metric": "conv", "variant": "treatment", "value": t, "n": 100000}
        )
        rows.append({"date": day, "metric": "prec", "variant": "treatment", "value": 0.8})
        rows.append({"date": day, "metric": "latency", "variant": "control", "value": 300.0})
        rows.append({"date": day, "metric": "latency", "variant": "treatment", "value": 310.0})
    return rows


class Tree:
    """A source tree in tmp_path: charters, results and site.yaml."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "charters").mkdir(parents=True, exist_ok=True)

    def charter(
        self, body: dict[str, Any], rows: list[dict[str, Any]] | None = None, cid: str = "shop"
    ) -> str:
        return write_charter(self.root, cid, body, rows or ())

    def site(self, data: dict[str, Any]) -> str:
        text = yaml.safe_dump(data, sort_keys=False)
        (self.root / "site.yaml").write_text(text, encoding="utf-8")
        return text

    def check(self, today: date | None = TODAY) -> dict[str, CharterCheck]:
        project, diags = load_project(self.root)
        assert not diags.errors, [d.format_text() for d in diags.errors]
        return check_project(project, today)

    def findings(self, cid: str = "shop", today: date | None = TODAY) -> list[Diagnostic]:
        return self.check(today)[cid].findings

    def line(self, d: Diagnostic) -> str:
        """The source line a finding points at."""
        text = (self.root / d.ref.path).read_text(encoding="utf-8")
        return text.splitlines()[d.ref.line - 1]


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    return Tree(tmp_path / "project")


def codes(findings: list[Diagnostic]) -> list[str]:
    return [d.code for d in findings]


# ============================================================== the rule table


def test_rule_table_is_complete_and_stable() -> None:
    assert [r.code for r in RULES] == [f"MC{n}" for n in range(101, 114)]
    for rule in RULES:
        assert rule.severity in ("error", "warning", "info", "alert")
        assert rule.name and rule.summary and rule.rationale
    # Alerts are news about the project, not faults of the charter.
    assert [r.code for r in RULES if r.severity == "alert"] == ["MC105", "MC108", "MC109"]
    assert len({r.name for r in RULES}) == len(RULES)
    assert RULES_BY_CODE["MC104"].severity == "error"
    assert RULES_BY_CODE["MC106"].severity == "error"
    assert RULES_BY_CODE["MC108"].severity == "alert"
    assert RULES_BY_CODE["MC102"].severity == "info"


def test_compliant_charter_has_no_findings(tree: Tree) -> None:
    tree.charter(compliant(), compliant_rows())
    checks = tree.check()
    assert checks["shop"].verdict == "business-impact"
    assert checks["shop"].findings == []


def test_rules_apply_to_the_views_they_are_given(tree: Tree) -> None:
    """The build analyses once and hands its views to the rules; `check` does both at once."""
    body = compliant()
    del body["business_metrics"][0]["agreed"]
    tree.charter(body, compliant_rows())
    project, diags = load_project(tree.root)
    assert not diags.errors
    views = analyze_project(project)
    checks = check_views(project, views, TODAY)
    assert checks["shop"].view is views[0]
    assert codes(checks["shop"].findings) == ["MC101"]
    assert checks["shop"].findings == check_project(project, TODAY)["shop"].findings


# ============================================================== one rule at a time

Mutation = Callable[[dict[str, Any], list[dict[str, Any]]], None]


def _no_agreement(c: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    del c["business_metrics"][0]["agreed"]


def _agreement_without_date(c: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    del c["business_metrics"][0]["agreed"]["on"]


def _proposed_without_human_baseline(c: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    c["status"] = "proposed"
    del c["human_baseline"]


def _study_without_results(c: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    del c["human_baseline"]["results"]


def _no_business_results(c: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    rows[:] = [r for r in rows if r["metric"] != "conv"]


def _ml_only(c: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    for r in rows:
        if r["metric"] == "conv":
            r["value"] = 10.0  # treatment equal to control: no move
        if r["metric"] == "prec":
            r["value"] = 0.95  # the model met its target


def _target_wrong_side(c: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    c["ml_metrics"][0]["target"]["value"] = 0.6  # below its baseline 0.7, direction increase


def _no_decision_rule(c: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    del c["measurement"]["decision_rule"]


def _no_mde(c: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    del c["measurement"]["minimum_detectable_effect"]


def _breached(c: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    for r in rows:
        if r["metric"] == "latency" and r["variant"] == "treatment":
            r["value"] = 330.0  # +30 ms against control, tolerance 20


def _decision_before_results(c: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    c["decisions"].insert(0, {"date": "2026-02-20", "decision": "Build it."})


def _placeholder(c: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    c["objective"]["statement"] = "TODO: write it"


def _cadence_not_read(c: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    c["measurement"]["cadence"] = "bi-weekly"


CASES: list[tuple[str, Mutation, str, str, str]] = [
    # code, change, severity, field, a token on the reported line
    ("MC101", _no_agreement, "warning", "business_metrics[0]", "id: conv"),
    ("MC101", _agreement_without_date, "warning", "business_metrics[0]", "id: conv"),
    ("MC102", _proposed_without_human_baseline, "info", "status", "status: proposed"),
    ("MC103", _study_without_results, "warning", "human_baseline", "method:"),
    ("MC104", _no_business_results, "error", "status", "status: live"),
    ("MC105", _ml_only, "alert", "ml_metrics[0]", "id: prec"),
    ("MC106", _target_wrong_side, "error", "ml_metrics[0].target.value", "value: 0.6"),
    ("MC107", _no_decision_rule, "warning", "measurement.method", "method: ab_test"),
    ("MC107", _no_mde, "warning", "measurement.method", "method: ab_test"),
    ("MC108", _breached, "alert", "measurement.guardrails[0].tolerance", "value: 20.0"),
    ("MC110", _decision_before_results, "warning", "decisions[0].date", "2026-02-20"),
    ("MC112", _placeholder, "warning", "objective.statement", "TODO: write it"),
    ("MC113", _cadence_not_read, "warning", "measurement.cadence", "cadence: bi-weekly"),
]


@pytest.mark.parametrize(
    ("code", "change", "severity", "field", "token"),
    CASES,
    ids=[f"{c[0]}-{c[1].__name__.strip('_')}" for c in CASES],
)
def test_rule_fires(
    tree: Tree, code: str, change: Mutation, severity: str, field: str, token: str
) -> None:
    body, rows = compliant(), compliant_rows()
    change(body, rows)
    tree.charter(body, rows)
    findings = tree.findings()
    assert codes(findings) == [code], [d.message for d in findings]
    finding = findings[0]
    assert finding.severity == severity == RULES_BY_CODE[code].severity
    assert finding.ref.path == "charters/shop/charter.yaml"
    assert finding.field == field
    assert finding.ref.line > 0 and finding.ref.col > 0
    assert token in tree.line(finding)


def test_mc101_message_names_what_is_missing(tree: Tree) -> None:
    body, rows = compliant(), compliant_rows()
    _agreement_without_date(body, rows)
    tree.charter(body, rows)
    (finding,) = tree.findings()
    assert "'conv'" in finding.message
    assert "agreed.on" in finding.message and "agreed.by" not in finding.message
    # They agreed (who is written): the advice is to record the day, not to go and agree.
    assert finding.message.endswith("; record the day they agreed: agreed.on: YYYY-MM-DD")
    body = compliant()
    _no_agreement(body, rows)
    tree.charter(body, rows)
    (finding,) = tree.findings()
    assert finding.message.endswith("get the owners of the outcome to agree on it before building")


def test_mc101_not_for_proposed_charter(tree: Tree) -> None:
    body = compliant()
    body["status"] = "proposed"
    del body["business_metrics"][0]["agreed"]
    tree.charter(body)
    assert "MC101" not in codes(tree.findings())


def test_mc102_not_when_a_waiver_is_recorded(tree: Tree) -> None:
    body = compliant()
    body["status"] = "proposed"
    body["human_baseline"] = {"waived": "Nobody can do this by hand."}
    tree.charter(body)
    assert "MC102" not in codes(tree.findings())


def test_mc103_not_at_status_baseline(tree: Tree) -> None:
    body = compliant()
    body["status"] = "baseline"
    del body["human_baseline"]["results"]
    tree.charter(body)
    assert "MC103" not in codes(tree.findings())


def test_mc103_not_for_a_waiver(tree: Tree) -> None:
    body = compliant()
    body["human_baseline"] = {"waived": "Nobody can do this by hand."}
    tree.charter(body, compliant_rows())
    assert tree.findings() == []


@pytest.mark.parametrize("status", ["experiment", "live"])
def test_mc104_experiment_or_live_without_any_result(tree: Tree, status: str) -> None:
    body = compliant()
    body["status"] = status
    body["decisions"] = []
    tree.charter(body)
    (finding,) = tree.findings()
    assert finding.code == "MC104" and "'conv'" in finding.message


def test_mc104_when_the_business_metrics_have_control_rows_alone(tree: Tree) -> None:
    # A control arm alone is nothing to compare with: no business result (review).
    body = compliant()
    body["decisions"] = []
    tree.charter(body, [r for r in compliant_rows() if r["variant"] == "control"])
    (finding,) = [f for f in tree.findings() if f.code == "MC104"]
    assert finding.message == (
        "status is 'live' but no business metric has a result other than its control"
        " arm's (nothing to compare it with); add results for 'conv'"
    )


@pytest.mark.parametrize("status", ["baseline", "paused", "retired"])
def test_mc104_not_before_experiment_or_after_live(tree: Tree, status: str) -> None:
    body = compliant()
    body["status"] = status
    body["decisions"] = []
    tree.charter(body)
    assert "MC104" not in codes(tree.findings())


def test_mc105_message_is_the_evidence(tree: Tree) -> None:
    body, rows = compliant(), compliant_rows()
    _ml_only(body, rows)
    tree.charter(body, rows)
    check = tree.check()["shop"]
    assert check.verdict == "ml-only"
    (finding,) = check.findings
    assert finding.message.startswith("Recommendation precision reached 0.95 (target 0.9) but")
    assert "Checkout conversion did not move" in finding.message
    assert check.evidence == finding.message + "."


def test_mc105_says_a_driven_metric_that_got_worse_got_worse(tree: Tree) -> None:
    # Significantly worse than control, it was said to have "not moved".
    body, rows = compliant(), compliant_rows()
    _ml_only(body, rows)
    for r in rows:
        if r["metric"] == "conv" and r["variant"] == "treatment":
            r["value"] = 9.0  # a point below control (10), on 100,000 sessions an arm
    tree.charter(body, rows)
    check = tree.check()["shop"]
    assert check.verdict == "ml-only"
    assert check.evidence == (
        "Recommendation precision reached 0.95 (target 0.9) but Checkout conversion got"
        " worse (\u22121.00 pp vs control, 95% CI \u22121.26 pp to \u22120.743 pp)."
    )


def test_mc105_not_when_business_improved(tree: Tree) -> None:
    body, rows = compliant(), compliant_rows()
    for r in rows:
        if r["metric"] == "prec":
            r["value"] = 0.95
    tree.charter(body, rows)
    check = tree.check()["shop"]
    assert check.verdict == "business-impact" and check.findings == []


@pytest.mark.parametrize(
    ("direction", "baseline", "target", "fires"),
    [
        ("increase", 10.0, 9.0, True),
        ("increase", 10.0, 10.0, True),  # a target equal to the baseline is already met
        ("increase", 10.0, 10.5, False),
        ("decrease", 10.0, 11.0, True),
        ("decrease", 10.0, 10.0, True),
        ("decrease", 10.0, 9.5, False),
    ],
)
def test_mc106_business_target_side(
    tree: Tree, direction: str, baseline: float, target: float, fires: bool
) -> None:
    body = compliant()
    bm = body["business_metrics"][0]
    bm.update(direction=direction, baseline={"value": baseline}, target={"value": target})
    tree.charter(body)
    found = [d for d in tree.findings() if d.code == "MC106"]
    assert bool(found) is fires
    if fires:
        assert found[0].field == "business_metrics[0].target.value"
        word = "above" if direction == "increase" else "below"
        assert f"is not {word} its baseline" in found[0].message


def test_mc106_not_for_ml_metric_without_baseline(tree: Tree) -> None:
    body = compliant()
    del body["ml_metrics"][0]["baseline"]
    tree.charter(body, compliant_rows())
    assert tree.findings() == []


@pytest.mark.parametrize("method", ["ab_test", "holdout"])
def test_mc107_names_both_missing_parts(tree: Tree, method: str) -> None:
    body = compliant()
    body["measurement"]["method"] = method
    del body["measurement"]["decision_rule"]
    del body["measurement"]["minimum_detectable_effect"]
    tree.charter(body, compliant_rows())
    (finding,) = tree.findings()
    assert finding.code == "MC107"
    assert "decision_rule and minimum_detectable_effect" in finding.message


@pytest.mark.parametrize("method", ["before_after", "shadow", "offline"])
def test_mc107_not_for_other_methods(tree: Tree, method: str) -> None:
    body = compliant()
    body["measurement"]["method"] = method
    del body["measurement"]["decision_rule"]
    del body["measurement"]["minimum_detectable_effect"]
    tree.charter(body, compliant_rows())
    assert "MC107" not in codes(tree.findings())


def test_mc108_message_gives_move_reference_and_tolerance(tree: Tree) -> None:
    body, rows = compliant(), compliant_rows()
    _breached(body, rows)
    tree.charter(body, rows)
    (finding,) = tree.findings()
    assert finding.message == (
        "guardrail 'Checkout p95 latency' moved +30 ms against control, beyond its tolerance"
        " of 20 ms"
    )


def test_mc108_a_move_a_hair_beyond_the_tolerance_never_reads_as_it(tree: Tree) -> None:
    # +20.0004 ms against a tolerance of 20 ms read "moved +20 ms …, beyond its tolerance
    # of 20 ms": the alert seemed to contradict itself.
    body, rows = compliant(), compliant_rows()
    for r in rows:
        if r["metric"] == "latency" and r["variant"] == "treatment":
            r["value"] = 320.0004 if r["date"] == "2026-03-08" else 300.0
    tree.charter(body, rows)
    (finding,) = tree.findings()
    assert finding.message == (
        "guardrail 'Checkout p95 latency' moved +20.0004 ms against control, beyond its"
        " tolerance of 20 ms"
    )


@pytest.mark.parametrize(
    ("latest", "change", "tolerance"),
    [
        (4.3, "\u22120.1 score", "0.1 score"),  # 4.3 − 4.4 is −0.10000000000000053
        (4.2999, "\u22120.1001 score", "0.1 score"),
        (4.30001, "\u22120.09999 score", "0.1 score"),
    ],
)
def test_a_guardrails_change_beside_its_tolerance_reads_as_written(
    tree: Tree, latest: float, change: str, tolerance: str
) -> None:
    """The guardrail table's change and tolerance, each told from the other, never with
    the float's last bits: a move of exactly the tolerance reads as the tolerance."""
    guard = guardrail(
        "csat", name="CSAT", unit="score", direction="increase", baseline=4.4, tolerance=0.1
    )
    body = charter_data(measurement=measurement(method="before_after", guardrails=[guard]))
    tree.charter(body, [{"date": "2026-03-08", "metric": "csat", "value": latest}])
    out = tree.root.parent / "site"
    assert build(Settings(source=tree.root, out=out, today=TODAY)).ok
    row = parse_html(out / "charters/shop/index.html").find("tr", id="metric-csat")
    cells = row.find_all("td")
    assert cells[2].children[0] == change, cells[2].text()  # then "vs baseline", in a span
    assert cells[3].text() == f"at most {tolerance} worse"


def test_mc108_not_at_exactly_the_tolerance(tree: Tree) -> None:
    body, rows = compliant(), compliant_rows()
    for r in rows:
        if r["metric"] == "latency" and r["variant"] == "treatment":
            r["value"] = 320.0 if r["date"] == "2026-03-08" else 300.0
    tree.charter(body, rows)
    assert tree.findings() == []


def test_mc110_decision_on_the_first_result_date_is_fine(tree: Tree) -> None:
    body = compliant()
    body["decisions"] = [{"date": "2026-03-01", "decision": "Keep going."}]
    tree.charter(body, compliant_rows())
    assert tree.findings() == []


def test_mc110_decision_without_any_result(tree: Tree) -> None:
    body = compliant()
    body["status"] = "baseline"
    tree.charter(body)
    (finding,) = tree.findings()
    assert finding.code == "MC110"
    assert "no results" in finding.message


# ============================================================== staleness (MC109)


@pytest.mark.parametrize(
    ("today", "stale"),
    [
        (date(2026, 3, 22), False),  # 14 days after the latest result: exactly twice weekly
        (date(2026, 3, 23), True),  # 15 days
    ],
)
def test_mc109_boundary_is_twice_the_cadence(tree: Tree, today: date, stale: bool) -> None:
    tree.charter(compliant(), compliant_rows())
    found = tree.findings(today=today)
    assert codes(found) == (["MC109"] if stale else [])
    if stale:
        (finding,) = found
        assert finding.severity == "alert"
        assert finding.field == "measurement.cadence"
        assert "cadence: weekly" in tree.line(finding)
        assert finding.message == (
            "latest result is from 2026-03-08, 15 days before 2026-03-23; the cadence is 'weekly'"
        )


def test_mc109_is_judged_by_the_newest_business_result(tree: Tree) -> None:
    # A fresh row of the ML metric (prec) hid business results (conv) weeks old: the
    # verdict rests on them.
    rows = compliant_rows()
    rows.append({"date": "2026-03-22", "metric": "prec", "variant": "treatment", "value": 0.8})
    tree.charter(compliant(), rows)
    (finding,) = tree.findings(today=date(2026, 3, 23))
    assert finding.code == "MC109"
    assert finding.message == (
        "newest result a business metric is judged by is from 2026-03-08, 15 days before 2026-03-23"
        " (the newest of any metric is from 2026-03-22); the cadence is 'weekly'"
    )
    # Nor do rows of the treatment after the control rows stopped (second review): the
    # status rests on the lift of the last pair, which is as old as ever.
    later = [
        {"date": f"2026-03-{d}", "metric": "conv", "variant": "treatment", "value": 11.0}
        for d in (15, 22)
    ]
    tree.charter(compliant(), [*compliant_rows(), *later])
    (finding,) = tree.findings(today=date(2026, 3, 23))
    assert finding.message.startswith(
        "newest result a business metric is judged by is from 2026-03-08, 15 days before"
    )
    tree.charter(compliant(), rows)
    # A build after an edit of site.yaml reads the charter back from the cache, and
    # judges it so too.
    site, today = tree.root / "site", date(2026, 3, 23)
    for title in ("Portfolio", "Charters"):
        tree.site({"title": title})
        assert build(Settings(tree.root, site, today=today)).ok
        page = (site / "charters/shop/index.html").read_text(encoding="utf-8")
        assert f"{title}</" in page
        assert "newest result a business metric is judged by is from 2026-03-08" in page
    # Nor, without a lift, when the status rests on the last pair's move against control
    # (the minimum detectable effect): the arm alone at the target on fresh weeks was
    # judged at that pair, "+1 pp vs control on 2026-03-08", and no alert (review).
    moved = [
        {"date": day, "metric": "conv", "variant": arm, "value": value}
        for day in ("2026-03-01", "2026-03-08")
        for arm, value in (("control", 10.0), ("treatment", 11.0))
    ]
    at_target = [{**r, "date": f"2026-03-{d}", "value": 15.5} for d in (15, 22) for r in moved[1:2]]
    tree.charter(compliant(), [*moved, *at_target])
    (finding,) = tree.findings(today=date(2026, 3, 23))
    assert finding.message.startswith(
        "newest result a business metric is judged by is from 2026-03-08, 15 days before"
    )
    # Nor when the arm's fresh weeks give the same status as the pair (flat both ways: no
    # `n` or `std`, a move under the minimum detectable effect), so that neither a lift
    # nor the pair judged it: the experiment's news is still the pair's (audit).
    flat = [
        {"date": day, "metric": "conv", "variant": arm, "value": value}
        for day in ("2026-03-01", "2026-03-08")
        for arm, value in (("control", 10.0), ("treatment", 10.2))
    ]
    steady = [{**flat[1], "date": f"2026-03-{d}", "value": 10.3} for d in (15, 22)]
    tree.charter(compliant(), [*flat, *steady])
    (finding,) = tree.findings(today=date(2026, 3, 23))
    assert finding.message.startswith(
        "newest result a business metric is judged by is from 2026-03-08, 15 days before"
    )
    # But fresh weeks that give another status are news of their own: an interval of
    # their own against the baseline, worse (the status rests on them), is not stale.
    worse = [{**r, "value": 7.0, "lower": 6.5, "upper": 7.5} for r in steady]
    tree.charter(compliant(), [*flat, *worse])
    assert tree.findings(today=date(2026, 3, 23)) == []
    # Nor does a row of the control arm alone, which gives no value the verdict reads.
    rows.append({"date": "2026-03-22", "metric": "conv", "variant": "control", "value": 10.0})
    tree.charter(compliant(), rows)
    assert codes(tree.findings(today=date(2026, 3, 23))) == ["MC109"]
    rows.append({"date": "2026-03-22", "metric": "conv", "variant": "treatment", "value": 11.0})
    tree.charter(compliant(), rows)  # the week's pair: fresh
    assert tree.findings(today=date(2026, 3, 23)) == []


def test_mc109_is_judged_by_the_business_metrics_the_verdict_rests_on(tree: Tree) -> None:
    """*Business impact* rested on a lift of conversion weeks old, while a second business
    metric, flat, had fresh rows: the verdict showed no *Results overdue* (review). The
    metrics that moved are what it rests on; with none moved, all of them count."""
    body = compliant()
    body["business_metrics"].append(
        business_metric("aov", name="Basket value", unit="USD", target=60.0, baseline=50.0)
    )
    flat = [
        {"date": day, "metric": "aov", "variant": arm, "value": 50.0, "std": 20.0, "n": 5000}
        for day in ("2026-03-08", "2026-03-15", "2026-03-22")
        for arm in ("control", "treatment")
    ]
    tree.charter(body, [*compliant_rows(), *flat])
    checks = tree.check(today=date(2026, 3, 23))
    assert checks["shop"].view.verdict == "business-impact"
    (finding,) = checks["shop"].findings
    assert finding.code == "MC109"
    assert finding.message == (
        "newest result a business metric is judged by is from 2026-03-08, 15 days before"
        " 2026-03-23 (the newest of any metric is from 2026-03-22); the cadence is 'weekly'"
    )
    # Conversion flat too: no verdict rests on one metric more than the other, and the
    # fresh weeks of basket value are news.
    level = [{**r, "value": 10.0} if r["metric"] == "conv" else r for r in compliant_rows()]
    tree.charter(body, [*level, *flat])
    checks = tree.check(today=date(2026, 3, 23))
    assert checks["shop"].view.verdict == "no-impact"
    assert checks["shop"].findings == []


@pytest.mark.parametrize(
    ("cadence", "today", "stale"),
    [
        ("monthly", date(2026, 5, 9), False),  # 62 days = 2 x 31
        ("monthly", date(2026, 5, 10), True),
        ("every 2 weeks", date(2026, 4, 5), False),  # 28 days
        ("every 2 weeks", date(2026, 4, 6), True),
        ("when the data team has time", date(2030, 1, 1), False),  # not understood: skipped
    ],
)
def test_mc109_cadences(tree: Tree, cadence: str, today: date, stale: bool) -> None:
    body = compliant()
    body["measurement"]["cadence"] = cadence
    tree.charter(body, compliant_rows())
    found = codes(tree.findings(today=today))
    assert ("MC109" in found) is stale
    # A cadence it cannot read is said, so that the skip is not silent.
    assert ("MC113" in found) is (cadence == "when the data team has time")


@pytest.mark.parametrize(
    ("status", "cadence", "said"),
    [
        ("live", None, "no cadence is given, so whether the results are overdue (MC109)"),
        ("experiment", "weekly (Mondays)", "'weekly (Mondays)' is not a cadence the generator"),
        ("paused", "bi-weekly", None),  # not judged for staleness anyway
        ("live", "Every 3 Days", None),
        ("live", "yearly", None),
        # Read, but staleness would be judged only after 166 years: never.
        ("live", "every 999 months", "'every 999 months' is 30408 days, longer than a year, so"),
        ("live", "every 0 days", "'every 0 days' is not a cadence the generator reads"),
    ],
)
def test_mc113_says_when_staleness_cannot_be_judged(
    tree: Tree, status: str, cadence: str | None, said: str | None
) -> None:
    body = compliant()
    body["status"] = status
    if cadence is None:
        del body["measurement"]["cadence"]
    else:
        body["measurement"]["cadence"] = cadence
    tree.charter(body, compliant_rows())
    found = [d for d in tree.findings(today=date(2030, 1, 1)) if d.code == "MC113"]
    assert len(found) == (said is not None)
    if said is not None:
        assert found[0].message.startswith(said)
        assert found[0].message.endswith(
            "; write one of: daily, weekly, biweekly, fortnightly, monthly, quarterly,"
            " yearly, or every N days, weeks or months"
        )


@pytest.mark.parametrize("status", ["paused", "retired", "baseline"])
def test_mc109_only_for_experiment_and_live(tree: Tree, status: str) -> None:
    body = compliant()
    body["status"] = status
    tree.charter(body, compliant_rows())
    assert "MC109" not in codes(tree.findings(today=date(2027, 1, 1)))


def test_mc109_skipped_without_a_date(tree: Tree) -> None:
    tree.charter(compliant(), compliant_rows())
    assert tree.findings(today=None) == []


def test_today_from_env_prefers_explicit_then_source_date_epoch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    epoch = int(datetime(2026, 3, 23, 12, 0, tzinfo=UTC).timestamp())
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(epoch))
    assert today_from_env() == date(2026, 3, 23)
    assert today_from_env(date(2026, 1, 1)) == date(2026, 1, 1)
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert today_from_env() == date.today()
    assert today_from_env(date(2026, 1, 1)) == date(2026, 1, 1)


@pytest.mark.parametrize("epoch", ["abc", "-5x", "99999999999999999999", "1e9"])
def test_an_unusable_source_date_epoch_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, epoch: str
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    with pytest.raises(DateError, match=r"SOURCE_DATE_EPOCH=.* is not a date"):
        today_from_env()


def test_staleness_with_source_date_epoch(tree: Tree, monkeypatch: pytest.MonkeyPatch) -> None:
    tree.charter(compliant(), compliant_rows())
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(datetime(2026, 3, 23, tzinfo=UTC).timestamp())))
    assert codes(tree.findings(today=today_from_env())) == ["MC109"]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(datetime(2026, 3, 22, tzinfo=UTC).timestamp())))
    assert tree.findings(today=today_from_env()) == []


def _charter_page(out: Path) -> str:
    return (out / "charters" / "shop" / "index.html").read_text(encoding="utf-8")


def test_site_build_applies_staleness_by_the_same_date_rule_as_check(
    tree: Tree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree.charter(compliant(), compliant_rows())
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    # Without SOURCE_DATE_EPOCH the build judges staleness as of the day it runs, so a
    # site rebuilt every day stays true; years after the latest result, it is stale.
    result = build(Settings(source=tree.root, out=tmp_path / "site-a"))
    assert result.ok, result.diagnostics
    assert "latest result is from 2026-03-08" in _charter_page(tmp_path / "site-a")
    # An explicit date (what `serve` and tests pass) wins.
    fresh = build(Settings(source=tree.root, out=tmp_path / "site-b", today=date(2026, 3, 10)))
    assert fresh.ok and "MC109" not in _charter_page(tmp_path / "site-b")

    # With SOURCE_DATE_EPOCH the same input gives the same bytes on any day.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(datetime(2027, 1, 1, tzinfo=UTC).timestamp())))
    result = build(Settings(source=tree.root, out=tmp_path / "site-c"))
    assert result.ok, result.diagnostics
    page = _charter_page(tmp_path / "site-c")
    assert "MC109" in page
    assert "latest result is from 2026-03-08, 299 days before 2027-01-01" in page
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(datetime(2026, 3, 12, tzinfo=UTC).timestamp())))
    result = build(Settings(source=tree.root, out=tmp_path / "site-d"))
    assert "MC109" not in _charter_page(tmp_path / "site-d")


# ============================================================== switching rules off


def _with_two_findings(tree: Tree) -> None:
    body = compliant()
    del body["measurement"]["decision_rule"]  # MC107
    del body["business_metrics"][0]["agreed"]  # MC101
    tree.charter(body, compliant_rows())


def test_two_findings_without_disabling(tree: Tree) -> None:
    _with_two_findings(tree)
    assert sorted(codes(tree.findings())) == ["MC101", "MC107"]


def test_disable_site_wide(tree: Tree) -> None:
    _with_two_findings(tree)
    other = compliant()
    del other["measurement"]["decision_rule"]
    tree.charter(other, compliant_rows(), cid="other")
    tree.site({"title": "Charters", "lint": {"disable": ["MC107"]}})
    checks = tree.check()
    assert codes(checks["shop"].findings) == ["MC101"]
    assert checks["other"].findings == []
    project, _ = load_project(tree.root)
    assert site_findings(project) == []


def test_disable_per_charter_with_x_lint(tree: Tree) -> None:
    body = compliant()
    del body["measurement"]["decision_rule"]
    del body["business_metrics"][0]["agreed"]
    body["x-lint"] = {"disable": ["MC107"]}
    tree.charter(body, compliant_rows())
    other = compliant()
    del other["measurement"]["decision_rule"]
    tree.charter(other, compliant_rows(), cid="other")
    checks = tree.check()
    assert codes(checks["shop"].findings) == ["MC101"]
    # Another charter is not affected by shop's x-lint.
    assert codes(checks["other"].findings) == ["MC107"]


def test_disable_error_rule_per_charter(tree: Tree) -> None:
    body, rows = compliant(), compliant_rows()
    _breached(body, rows)
    body["x-lint"] = {"disable": ["MC108"]}
    tree.charter(body, rows)
    check = tree.check()["shop"]
    assert check.findings == []
    # Switching the rule off hides the finding, not the fact: the guardrail is still breached.
    assert [g.id for g in check.view.breached] == ["latency"]


def test_a_page_says_which_rules_are_switched_off_for_its_charter(tree: Tree) -> None:
    # A stale charter whose x-lint switched staleness off looked fresh: its page had no
    # alert and did not say a rule was off.
    body = compliant()
    body["x-lint"] = {"disable": ["MC109", "MC999"]}  # an unknown code is MC111's
    tree.charter(body, compliant_rows())
    tree.charter(compliant(), compliant_rows(), cid="other")
    tree.charter({**compliant(), "x-lint": {"disable": ["MC109"]}}, compliant_rows(), cid="quiet")
    tree.site({"title": "Charters", "lint": {"disable": ["MC107"]}})
    site = tree.root / "site"
    assert build(Settings(tree.root, site, today=date(2027, 1, 1))).ok
    page = parse_html(site / "charters/shop/index.html")
    off = page.find("p", class_="rules-off")
    assert off.text() == (
        "Switched off for this charter, so what they find is not shown: MC107"
        " experiment-without-decision-rule (by site.yaml), MC109 stale-results (by this"
        " charter's x-lint)."
    )
    assert [a.attrs["href"] for a in off.find_all("a")] == [
        "../../rules/index.html#MC107",
        "../../rules/index.html#MC109",
    ]
    other = parse_html(site / "charters/other/index.html").find("p", class_="rules-off")
    assert other.text() == (
        "Switched off for this charter, so what it finds is not shown: MC107"
        " experiment-without-decision-rule (by site.yaml)."
    )
    assert "MC109" in (site / "charters/other/index.html").read_text(encoding="utf-8")
    toc = page.find("nav", class_="toc")
    nav = [a.text() for a in toc.find_all("a") if a.attrs.get("href") == "#findings"]
    assert nav == ["Findings (1)"]  # MC111, of the unknown code
    quiet = parse_html(site / "charters/quiet/index.html").find("nav", class_="toc")
    nav = [a.text() for a in quiet.find_all("a") if a.attrs.get("href") == "#findings"]
    assert nav == ["Findings"]  # no "(0)": no finding, rules off
    tree.site({"title": "Charters"})  # nothing switched off: nothing said
    assert build(Settings(tree.root, site, today=date(2027, 1, 1))).ok
    page = parse_html(site / "charters/other/index.html")
    assert page.find_all("p", class_="rules-off") == []


def test_unknown_code_in_site_yaml_is_mc111(tree: Tree) -> None:
    tree.charter(compliant(), compliant_rows())
    text = tree.site({"lint": {"disable": ["MC107", "MC999"]}})
    project, diags = load_project(tree.root)
    assert not diags.errors
    (finding,) = site_findings(project)
    assert finding.code == "MC111" and finding.severity == "warning"
    assert finding.ref.path == "site.yaml"
    assert finding.field == "lint.disable[1]"
    assert "MC999" in text.splitlines()[finding.ref.line - 1]
    assert "'MC999'" in finding.message and "MC101" in finding.message


def test_unknown_code_in_x_lint_is_mc111(tree: Tree) -> None:
    body = compliant()
    body["x-lint"] = {"disable": ["MC101", "mc107"]}  # codes are case-sensitive
    tree.charter(body, compliant_rows())
    (finding,) = tree.findings()
    assert finding.code == "MC111" and finding.severity == "warning"
    assert finding.field == "x-lint.disable[1]"
    assert "mc107" in tree.line(finding)


def test_x_lint_single_code_without_list(tree: Tree) -> None:
    # `disable: MC107` is read as `disable: [MC107]`, not silently ignored.
    body = compliant()
    del body["measurement"]["decision_rule"]
    body["x-lint"] = {"disable": "MC107"}
    tree.charter(body, compliant_rows())
    assert tree.findings() == []


def test_x_lint_single_unknown_code_is_mc111(tree: Tree) -> None:
    body = compliant()
    body["x-lint"] = {"disable": "MC1O7"}
    tree.charter(body, compliant_rows())
    (finding,) = tree.findings()
    assert finding.code == "MC111" and finding.field == "x-lint.disable"
    assert "MC1O7" in tree.line(finding)


def test_site_and_charter_disable_combine(tree: Tree) -> None:
    body = compliant()
    del body["measurement"]["decision_rule"]  # MC107
    del body["business_metrics"][0]["agreed"]  # MC101
    body["x-lint"] = {"disable": ["MC101"]}
    tree.charter(body, compliant_rows())
    tree.site({"lint": {"disable": ["MC107"]}})
    assert tree.findings() == []


@pytest.mark.parametrize(
    "decision",
    [
        "Start the A/B test",
        "Launch a two-week holdout on EU traffic.",
        "Plan the shadow run with the data team.",
        "Begin the human baseline study.",
        "Design the experiment and its decision rule.",
    ],
)
def test_mc110_skips_decisions_that_start_measuring(tree: Tree, decision: str) -> None:
    body = compliant()
    body["decisions"].insert(0, {"date": "2026-02-20", "decision": decision})
    tree.charter(body, compliant_rows())
    assert "MC110" not in codes(tree.findings())


@pytest.mark.parametrize("decision", ["Ship to all queues.", "Build it.", "Retire the model."])
def test_mc110_still_fires_for_decisions_that_need_evidence(tree: Tree, decision: str) -> None:
    body = compliant()
    body["decisions"].insert(0, {"date": "2026-02-20", "decision": decision})
    tree.charter(body, compliant_rows())
    assert codes(tree.findings()) == ["MC110"]


def test_every_placeholder_of_a_new_charter_is_reported(tmp_path: Path) -> None:
    from generator.check import run_check
    from generator.scaffold import new_charter

    new_charter(tmp_path, "fresh")
    report = run_check(tmp_path, TODAY)
    placeholders = [d for d in report.findings if d.code == "MC112"]
    fields = {d.field for d in placeholders}
    assert {"summary", "owner.name", "objective.statement", "measurement.population"} <= fields
    assert all(d.severity == "warning" for d in placeholders)
    assert not report.failed(strict=False)
    assert report.failed(strict=True)
