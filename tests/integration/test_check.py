"""`charters check` end to end: verdicts of the examples, lifts against statsmodels, the three
output formats, exit codes, and the `ml-only` acceptance case on the site and in `check`.
"""

from __future__ import annotations

import csv
import glob
import json
import math
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from click.testing import CliRunner, Result
from factory import (
    ab,
    business_metric,
    charter_data,
    guardrail,
    measurement,
    ml_metric,
    row,
    write_charter,
)
from helpers import REPO_ROOT, copy_examples
from scipy import stats as sps
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from generator.check import CheckReport, format_github
from generator.cli import main
from generator.diagnostics import Diagnostic, SourceRef

REPO = Path(__file__).resolve().parents[2]
TODAY = "2026-11-10"  # a fixed date for the staleness rule: output does not depend on the clock
TOL = 1e-6

EXPECTED_VERDICTS = {
    "agent-reply-suggestions": "business-impact",
    "card-fraud-detection": "business-impact",
    "churn-prediction": "no-impact",
    "demand-forecasting": "no-business-results",
    "invoice-extraction": "target-met",
    "query-autocomplete": "business-impact",
    "review-summarisation": "no-results",
    "search-ranking": "business-impact",
    "support-ticket-routing": "ml-only",
}

GITHUB_LINE = re.compile(
    r"^::(error|warning|notice) file=([^,]+),line=(\d+),col=(\d+),title=(MC\d{3})::(.*)$"
)
TEXT_LINE = re.compile(r"^([^:\s]+):(\d+):(\d+): (MC\d{3}) (error|warning|info|alert): (.+)$")
SUMMARY_LINE = re.compile(
    r"^checked \d+ charters?( \(\d+ not loaded: invalid\))?:"
    r" \d+ errors?, \d+ warnings?, \d+ info, \d+ alerts?$"
)


# --------------------------------------------------------------------------- helpers


def run(*args: str | Path, env: dict[str, str | None] | None = None) -> Result:
    base: dict[str, str | None] = {"GITHUB_ACTIONS": None, "SOURCE_DATE_EPOCH": None}
    base.update(env or {})
    return CliRunner().invoke(main, [str(a) for a in args], env=base, catch_exceptions=False)


def check_json(source: Path, *extra: str) -> dict[str, Any]:
    result = run("check", "--source", source, "--format", "json", "--today", TODAY, *extra)
    assert result.exit_code in (0, 1), result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repo's charters/ and site.yaml (the repo itself is never touched)."""
    root = tmp_path_factory.mktemp("examples") / "source"
    root.mkdir()
    shutil.copytree(REPO / "charters", root / "charters")
    shutil.copy2(REPO / "site.yaml", root / "site.yaml")
    shutil.copy2(REPO / "metrics.yaml", root / "metrics.yaml")
    return root


@pytest.fixture(scope="module")
def examples_json(examples: Path) -> dict[str, Any]:
    return check_json(examples)


def write_tree(
    root: Path, charters: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]
) -> Path:
    for cid, (body, rows) in charters.items():
        write_charter(root, cid, body, rows)
    return root


def base_charter(**extra: Any) -> dict[str, Any]:
    """A live A/B-tested charter that passes every rule."""
    return charter_data(
        title="Ticket routing",
        summary="Route tickets to the right queue.",
        objective={"statement": "Tickets get resolved sooner."},
        business_metrics=[
            business_metric(
                "resolution_hours",
                name="Resolution time",
                definition="Mean hours from ticket creation to resolution.",
                unit="hours",
                direction="decrease",
                baseline=18.6,
                target=15.0,
                agreed={"by": ["Head of Support"], "on": "2026-01-10"},
            )
        ],
        ml_metrics=[
            ml_metric(
                "routing_precision",
                drives=["resolution_hours"],
                name="Routing precision",
                baseline=0.71,
                target=0.92,
            )
        ],
        measurement=measurement(
            population="All tickets.",
            minimum_detectable_effect={"metric": "resolution_hours", "absolute": 1.0},
            decision_rule="Ship if resolution time falls (95% CI excludes 0).",
            guardrails=[
                guardrail("csat", name="CSAT", unit="score", direction="increase", tolerance=0.1)
            ],
        ),
        human_baseline={"waived": "Nobody can route every ticket by hand."},
        **extra,
    )


def ml_only_rows() -> list[dict[str, Any]]:
    """Precision met its target (0.95 >= 0.92); resolution time moved -0.2 h, CI includes 0."""
    return [
        *ab("2026-11-01", "resolution_hours", 18.5, 18.4, n=3000, std=14.0),
        *ab("2026-11-08", "resolution_hours", 18.4, 18.2, n=3000, std=14.0),
        *ab("2026-11-01", "routing_precision", 0.71, 0.94, n=3000),
        *ab("2026-11-08", "routing_precision", 0.72, 0.95, n=3000),
        *ab("2026-11-08", "csat", 4.3, 4.3, n=900, std=1.0),
    ]


class _ByClass(HTMLParser):
    """Collect the text of every element carrying a given class."""

    VOID = frozenset({"br", "img", "input", "link", "meta", "hr", "source", "wbr"})

    def __init__(self, cls: str) -> None:
        super().__init__(convert_charrefs=True)
        self.cls = cls
        self.stack: list[int | None] = []  # index into self.found for matching elements
        self.found: list[list[str]] = []
        self.attrs: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        classes = (dict(attrs).get("class") or "").split()
        if self.cls in classes:
            self.found.append([])
            self.attrs.append(dict(attrs))
            self.stack.append(len(self.found) - 1)
        else:
            self.stack.append(None)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        for idx in self.stack:
            if idx is not None:
                self.found[idx].append(data)


def texts_by_class(html: str, cls: str) -> list[str]:
    parser = _ByClass(cls)
    parser.feed(html)
    return [" ".join("".join(parts).split()) for parts in parser.found]


# ============================================================== independent lifts


def _num(value: Any) -> float | None:
    if value is None or value == "":
        return None
    return float(value)


def read_example_rows(folder: Path) -> list[dict[str, Any]]:
    """Every result row of a charter, read without the generator."""
    charter = yaml.safe_load((folder / "charter.yaml").read_text(encoding="utf-8"))
    patterns = charter.get("results") or ["results/*"]
    rows: list[dict[str, Any]] = []
    for pattern in patterns:
        for name in sorted(glob.glob(pattern, root_dir=folder)):
            path = folder / name
            text = path.read_text(encoding="utf-8")
            if path.suffix == ".csv":
                raw = list(csv.DictReader(text.splitlines()))
            elif path.suffix == ".json":
                raw = json.loads(text)
            else:
                raw = yaml.safe_load(text)
            for r in raw:
                n = _num(r.get("n"))
                rows.append(
                    {
                        "date": str(r["date"]),
                        "metric": r["metric"],
                        "variant": (r.get("variant") or None),
                        "value": float(r["value"]),
                        "n": int(n) if n is not None else None,
                        "std": _num(r.get("std")),
                        "lower": _num(r.get("lower")),
                        "upper": _num(r.get("upper")),
                    }
                )
    return rows


def metric_units(folder: Path) -> dict[str, str]:
    charter = yaml.safe_load((folder / "charter.yaml").read_text(encoding="utf-8"))
    metrics = (
        charter["business_metrics"]
        + charter.get("ml_metrics", [])
        + charter["measurement"].get("guardrails", [])
    )
    catalogue = yaml.safe_load((folder.parent.parent / "metrics.yaml").read_text(encoding="utf-8"))
    units = {m["id"]: m["unit"] for m in catalogue}
    # A catalogued metric (`ref:`) takes its id and unit from metrics.yaml.
    return {m.get("ref", m.get("id")): m.get("unit") or units[m["ref"]] for m in metrics}


def _synthetic(mean: float, std: float, n: int, seed: int) -> np.ndarray:
    """A sample whose mean and (ddof=1) standard deviation are exactly `mean` and `std`."""
    z = np.random.default_rng(seed).standard_normal(n)
    z = (z - z.mean()) / z.std(ddof=1)
    sample: np.ndarray = mean + std * z
    return sample


def reference_lift(c: dict[str, Any], t: dict[str, Any], unit: str) -> dict[str, Any] | None:
    """The lift of t over c computed with statsmodels / scipy / the textbook formula."""
    absolute = t["value"] - c["value"]
    relative = absolute / c["value"] if c["value"] else None
    if unit in ("%", "ratio") and c["n"] and t["n"]:
        scale = 100.0 if unit == "%" else 1.0
        count_t, count_c = t["value"] / scale * t["n"], c["value"] / scale * c["n"]
        low, high = confint_proportions_2indep(
            count_t, t["n"], count_c, c["n"], method="newcomb", compare="diff"
        )
        _, p_value = proportions_ztest([count_t, count_c], [t["n"], c["n"]])
        return {
            "method": "two-proportion",
            "absolute": absolute,
            "relative": relative,
            "ci_low": float(low) * scale,
            "ci_high": float(high) * scale,
            "p_value": float(p_value),
        }
    if (c["n"] or 0) >= 2 and (t["n"] or 0) >= 2 and c["std"] is not None and t["std"] is not None:
        p_value = sps.ttest_ind_from_stats(
            t["value"], t["std"], t["n"], c["value"], c["std"], c["n"], equal_var=False
        ).pvalue
        compare = CompareMeans(
            DescrStatsW(_synthetic(t["value"], t["std"], t["n"], 1)),
            DescrStatsW(_synthetic(c["value"], c["std"], c["n"], 2)),
        )
        low, high = compare.tconfint_diff(alpha=0.05, usevar="unequal")
        return {
            "method": "welch",
            "absolute": absolute,
            "relative": relative,
            "ci_low": float(low),
            "ci_high": float(high),
            "p_value": float(p_value),
        }
    if None not in (c["lower"], c["upper"], t["lower"], t["upper"]):
        z = sps.norm.ppf(0.975)
        se = math.hypot((t["upper"] - t["lower"]) / (2 * z), (c["upper"] - c["lower"]) / (2 * z))
        return {
            "method": "intervals",
            "absolute": absolute,
            "relative": relative,
            "ci_low": absolute - z * se,
            "ci_high": absolute + z * se,
            "p_value": float(2 * sps.norm.sf(abs(absolute) / se)),
        }
    return None


def expected_lift(folder: Path, metric: str, unit: str) -> tuple[str, dict[str, Any]] | None:
    """(date, lift) on the latest date where control and treatment both have a row."""
    rows = [r for r in read_example_rows(folder) if r["metric"] == metric]
    control = {r["date"]: r for r in rows if r["variant"] == "control"}
    treatment = {r["date"]: r for r in rows if r["variant"] == "treatment"}
    shared = sorted(set(control) & set(treatment))
    if not shared:
        return None
    day = shared[-1]
    computed = reference_lift(control[day], treatment[day], unit)
    return (day, computed) if computed is not None else None


# ============================================================== the examples


def test_examples_verdicts(examples_json: dict[str, Any]) -> None:
    verdicts = {c["id"]: c["verdict"] for c in examples_json["charters"]}
    assert verdicts == EXPECTED_VERDICTS
    # Every verdict is shown by at least one example.
    assert set(verdicts.values()) == {
        "target-met", "business-impact", "ml-only", "no-impact", "no-business-results", "no-results"
    }  # fmt: skip


def test_examples_breached_guardrail(examples_json: dict[str, Any]) -> None:
    breached = {
        (c["id"], g["id"])
        for c in examples_json["charters"]
        for g in c["guardrails"]
        if g["breached"]
    }
    assert breached == {("search-ranking", "p95_latency_ms")}
    search = next(c for c in examples_json["charters"] if c["id"] == "search-ranking")
    latency = next(g for g in search["guardrails"] if g["id"] == "p95_latency_ms")
    assert latency["reference"] == "control"
    assert latency["change"] > latency["tolerance"]
    assert "Guardrail breached: Search p95 latency" in search["evidence"]
    assert [f["code"] for f in search["findings"]] == ["MC108"]


def test_examples_findings(examples_json: dict[str, Any]) -> None:
    found = sorted(
        (c["id"], f["code"], f["severity"])
        for c in examples_json["charters"]
        for f in c["findings"]
    )
    assert found == [
        ("review-summarisation", "MC102", "info"),
        ("search-ranking", "MC108", "alert"),
        ("support-ticket-routing", "MC105", "alert"),
    ]
    assert examples_json["errors"] == [] and examples_json["site_findings"] == []


def test_examples_lifts_match_statsmodels(examples: Path, examples_json: dict[str, Any]) -> None:
    checked = 0
    methods = set()
    for charter in examples_json["charters"]:
        folder = examples / "charters" / charter["id"]
        units = metric_units(folder)
        for metric in charter["metrics"]:
            expected = expected_lift(folder, metric["id"], units[metric["id"]])
            where = f"{charter['id']}/{metric['id']}"
            if expected is None:
                assert metric["lift"] is None, where
                continue
            day, ref = expected
            got = metric["lift"]
            assert got is not None, where
            assert got["date"] == day, where
            assert got["treatment"] == "treatment", where
            assert got["method"] == ref["method"], where
            for key in ("absolute", "ci_low", "ci_high", "p_value"):
                assert got[key] == pytest.approx(ref[key], abs=TOL, rel=0), f"{where} {key}"
            # Many p-values are tiny; they agree in relative terms too.
            assert got["p_value"] == pytest.approx(ref["p_value"], rel=TOL, abs=0), where
            assert got["relative"] == pytest.approx(ref["relative"], abs=TOL, rel=0), where
            methods.add(ref["method"])
            checked += 1
    # The examples exercise all three methods.
    assert methods == {"two-proportion", "welch", "intervals"}
    assert checked >= 10


def test_examples_statuses_follow_the_lift(examples_json: dict[str, Any]) -> None:
    for charter in examples_json["charters"]:
        for metric in charter["metrics"]:
            lift = metric["lift"]
            if lift is None or metric["status"] == "met":
                continue
            good = lift["ci_low"] > 0 if metric["direction"] == "increase" else lift["ci_high"] < 0
            bad = lift["ci_high"] < 0 if metric["direction"] == "increase" else lift["ci_low"] > 0
            expected = "improved" if good else "worse" if bad else "flat"
            assert metric["status"] == expected, f"{charter['id']}/{metric['id']}"


def test_examples_ml_only_evidence(examples_json: dict[str, Any]) -> None:
    routing = next(c for c in examples_json["charters"] if c["id"] == "support-ticket-routing")
    business = next(m for m in routing["metrics"] if m["kind"] == "business")
    assert business["status"] == "flat"
    assert business["lift"]["ci_low"] < 0 < business["lift"]["ci_high"]
    ml = next(m for m in routing["metrics"] if m["kind"] == "ml")
    assert ml["latest"] >= ml["target"]
    assert routing["evidence"].startswith("Top-1 routing precision reached 0.95 (target 0.92) but")
    assert "did not move" in routing["evidence"]


# ============================================================== the JSON shape


def test_json_shape(examples_json: dict[str, Any]) -> None:
    data = examples_json
    assert {"charters", "summary"} <= set(data)
    assert data["version"] == 1
    assert isinstance(data["errors"], list) and isinstance(data["site_findings"], list)
    assert [c["id"] for c in data["charters"]] == sorted(EXPECTED_VERDICTS)
    n_findings: dict[str, int] = {"error": 0, "warning": 0, "info": 0, "alert": 0}
    for charter in data["charters"]:
        assert {"id", "verdict", "metrics", "guardrails", "findings"} <= set(charter)
        assert {"title", "status", "file", "evidence"} <= set(charter)
        assert charter["file"] == f"charters/{charter['id']}/charter.yaml"
        assert charter["evidence"].endswith(".")
        assert charter["metrics"], charter["id"]
        for metric in charter["metrics"]:
            assert {"id", "kind", "status", "latest", "progress", "lift"} <= set(metric)
            assert metric["kind"] in ("business", "ml")
            assert metric["status"] in ("met", "improved", "flat", "worse", "no-results")
            assert metric["latest"] is None or isinstance(metric["latest"], float)
            assert metric["progress"] is None or isinstance(metric["progress"], float)
            if metric["latest"] is None:
                assert metric["status"] == "no-results"
                assert metric["latest_date"] is None
            else:
                date.fromisoformat(metric["latest_date"])
            lift = metric["lift"]
            if lift is not None:
                assert {"absolute", "relative", "ci_low", "ci_high", "p_value"} <= set(lift)
                assert {"date", "treatment", "method"} <= set(lift)
                assert lift["ci_low"] <= lift["absolute"] <= lift["ci_high"]
                assert 0.0 <= lift["p_value"] <= 1.0
        for item in charter["guardrails"]:
            assert {"id", "name", "unit", "direction", "tolerance", "change", "reference"} <= set(
                item
            )
            assert isinstance(item["breached"], bool)
            assert item["reference"] in (None, "control", "baseline", "first result")
        for finding in charter["findings"]:
            assert {"code", "severity", "file", "line", "message"} <= set(finding)
            assert re.fullmatch(r"MC\d{3}", finding["code"])
            assert finding["file"] == charter["file"]
            assert isinstance(finding["line"], int) and finding["line"] > 0
            n_findings[finding["severity"]] += 1
    summary = data["summary"]
    assert summary["charters"] == len(data["charters"]) == 9
    assert summary["errors"] == n_findings["error"]
    assert summary["warnings"] == n_findings["warning"]
    assert summary["info"] == n_findings["info"]
    assert summary["alerts"] == n_findings["alert"] == 2
    assert summary["verdicts"] == {
        v: 1 for v in set(EXPECTED_VERDICTS.values()) - {"business-impact"}
    } | {"business-impact": 4}


def test_json_progress_and_latest(examples_json: dict[str, Any]) -> None:
    invoice = next(c for c in examples_json["charters"] if c["id"] == "invoice-extraction")
    for metric in invoice["metrics"]:
        assert metric["status"] == "met"
        if metric["progress"] is not None:
            assert metric["progress"] == pytest.approx(
                (metric["latest"] - metric["baseline"]) / (metric["target"] - metric["baseline"])
            )
            assert metric["progress"] >= 1.0


# ============================================================== acceptance: ml-only


def test_ml_only_on_the_site_and_in_check(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", {"routing": (base_charter(), ml_only_rows())})

    data = check_json(source)
    (charter,) = data["charters"]
    assert charter["verdict"] == "ml-only"
    metrics = {m["id"]: m for m in charter["metrics"]}
    resolution = metrics["resolution_hours"]
    assert resolution["status"] == "flat"
    assert resolution["lift"]["method"] == "welch"
    assert resolution["lift"]["date"] == "2026-11-08"
    assert resolution["lift"]["ci_low"] < 0 < resolution["lift"]["ci_high"]
    assert metrics["routing_precision"]["status"] == "met"
    assert [f["code"] for f in charter["findings"]] == ["MC105"]

    # The interval the page shows is the one statsmodels computes.
    ref = reference_lift(
        {"value": 18.4, "n": 3000, "std": 14.0, "lower": None, "upper": None},
        {"value": 18.2, "n": 3000, "std": 14.0, "lower": None, "upper": None},
        "hours",
    )
    assert ref is not None
    assert resolution["lift"]["ci_low"] == pytest.approx(ref["ci_low"], abs=TOL)
    assert resolution["lift"]["ci_high"] == pytest.approx(ref["ci_high"], abs=TOL)

    out = tmp_path / "site"
    built = run("build", "--source", source, "--out", out)
    assert built.exit_code == 0, built.output
    page = (out / "charters" / "routing" / "index.html").read_text(encoding="utf-8")
    assert "ML metric only" in texts_by_class(page, "verdict")
    (evidence,) = texts_by_class(page, "evidence")
    assert evidence == charter["evidence"]
    match = re.fullmatch(
        r"Routing precision reached 0\.95 \(target 0\.92\) but Resolution time did not move"
        r" \([−-]0\.200 hours vs control, 95% CI ([−+-][\d.]+) hours to ([−+-][\d.]+) hours\)\.",
        evidence,
    )
    assert match, evidence
    low, high = (float(g.replace("−", "-")) for g in match.groups())
    assert low == pytest.approx(ref["ci_low"], rel=0.01)
    assert high == pytest.approx(ref["ci_high"], rel=0.01)

    index = (out / "index.html").read_text(encoding="utf-8")
    assert "ML metric only" in texts_by_class(index, "verdict-ml-only")


# ============================================================== output formats


def _finding_count(data: dict[str, Any]) -> int:
    return (
        sum(len(c["findings"]) for c in data["charters"])
        + len(data["errors"])
        + len(data["site_findings"])
    )


def test_github_format_is_the_default_under_github_actions(
    examples: Path, examples_json: dict[str, Any]
) -> None:
    result = run("check", "--source", examples, "--today", TODAY, env={"GITHUB_ACTIONS": "true"})
    assert result.exit_code == 0  # a breached guardrail and an ML-only result are alerts
    lines = result.stdout.splitlines()
    commands = [line for line in lines if line.startswith("::")]
    assert len(commands) == _finding_count(examples_json) == 3
    for line in commands:
        match = GITHUB_LINE.match(line)
        assert match, line
        _, file, line_no, col, _code, message = match.groups()
        assert (REPO / file).is_file()
        # The location is repeated inside the message, for logs that drop annotations.
        assert message.startswith(f"{file}:{line_no}:{col}: ")
    kinds = sorted(c[2 : c.index(" ")] for c in commands)
    assert kinds == ["notice", "warning", "warning"]  # info, then two alerts as warnings
    assert SUMMARY_LINE.match(lines[-1]), lines[-1]
    assert "::warning file=charters/search-ranking/charter.yaml,line=55," in result.stdout


def test_github_format_explicit_equals_default(examples: Path) -> None:
    explicit = run("check", "--source", examples, "--today", TODAY, "--format", "github")
    default = run("check", "--source", examples, "--today", TODAY, env={"GITHUB_ACTIONS": "true"})
    assert explicit.stdout == default.stdout


def test_text_is_the_default_outside_github_actions(examples: Path) -> None:
    result = run("check", "--source", examples, "--today", TODAY, env={"GITHUB_ACTIONS": "false"})
    assert not any(line.startswith("::") for line in result.stdout.splitlines())
    assert TEXT_LINE.match(result.stdout.splitlines()[0])


def test_github_escapes_percent_and_newline(tmp_path: Path) -> None:
    body = base_charter()
    guard = body["measurement"]["guardrails"][0]
    guard.update(name="Latency at 100% load", unit="ms\nat p95", direction="decrease")
    guard["tolerance"] = {"value": 5.0}
    rows = [*ml_only_rows()[:2], *ab("2026-11-01", "csat", 300.0, 330.0)]
    source = write_tree(tmp_path / "src", {"routing": (body, rows)})
    result = run("check", "--source", source, "--format", "github", "--today", "2026-11-02")
    lines = result.stdout.splitlines()
    (command,) = [line for line in lines if line.startswith("::")]
    assert len(lines) == 2  # the command and the summary: the newline did not split it
    assert GITHUB_LINE.match(command), command
    assert "100%25 load" in command
    assert "ms%0Aat p95" in command
    assert "%" not in command.replace("%25", "").replace("%0A", "").replace("%0D", "")


def test_github_escaping_of_properties_and_message() -> None:
    diag = Diagnostic(
        SourceRef("charters/a/charter.yaml", 3, 9), "status", "50% done\r\nnext", "MC104", "error"
    )
    out = format_github(CheckReport([], [], [diag]))
    command = out.splitlines()[0]
    assert command == (
        "::error file=charters/a/charter.yaml,line=3,col=9,title=MC104::"
        "charters/a/charter.yaml:3:9: status: 50%25 done%0D%0Anext"
    )


def test_text_format(examples: Path, examples_json: dict[str, Any]) -> None:
    result = run("check", "--source", examples, "--today", TODAY, "--format", "text")
    lines = result.stdout.splitlines()
    findings = [line for line in lines if TEXT_LINE.match(line)]
    assert len(findings) == _finding_count(examples_json)
    assert lines[: len(findings)] == findings  # findings first
    assert findings[0] == (
        "charters/review-summarisation/charter.yaml:3:9: MC102 info: status: no human baseline"
        " planned yet: try the task by hand, or record why not ('human_baseline: {waived:"
        " ...}'), before leaving 'proposed'"
    )
    for line in findings:
        match = TEXT_LINE.match(line)
        assert match
        path, line_no, _, code, _severity, _ = match.groups()
        assert (examples / path).is_file()
        assert code in {"MC102", "MC105", "MC108"}
        assert int(line_no) > 0
    # One verdict line per charter, then the summary.
    for cid, verdict in EXPECTED_VERDICTS.items():
        assert any(line.startswith(f"{cid}: {verdict} — ") for line in lines), cid
    assert lines[-1] == "checked 9 charters: 0 errors, 0 warnings, 1 info, 2 alerts"


# ============================================================== exit codes


def _compliant_rows() -> list[dict[str, Any]]:
    return [
        *ab("2026-11-01", "resolution_hours", 18.5, 16.0, n=3000, std=14.0),
        *ab("2026-11-08", "resolution_hours", 18.4, 16.1, n=3000, std=14.0),
        *ab("2026-11-08", "csat", 4.3, 4.3, n=900, std=1.0),
    ]


def test_exit_0_when_clean(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", {"routing": (base_charter(), _compliant_rows())})
    result = run("check", "--source", source, "--today", TODAY, "--strict")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == (
        "checked 1 charter: 0 errors, 0 warnings, 0 info, 0 alerts"
    )


def test_exit_1_with_an_error_finding(tmp_path: Path) -> None:
    rows = [r for r in _compliant_rows() if r["metric"] == "csat"]  # live without business results
    source = write_tree(tmp_path / "src", {"routing": (base_charter(), rows)})
    result = run("check", "--source", source, "--today", TODAY)
    assert result.exit_code == 1
    assert "MC104 error" in result.stdout


def test_exit_0_with_only_warnings_and_1_with_strict(tmp_path: Path) -> None:
    body = base_charter()
    body["measurement"].pop("minimum_detectable_effect")  # MC107, a warning
    source = write_tree(tmp_path / "src", {"routing": (body, _compliant_rows())})
    result = run("check", "--source", source, "--today", TODAY)
    assert result.exit_code == 0, result.output
    assert "MC107 warning" in result.stdout
    strict = run("check", "--source", source, "--today", TODAY, "--strict")
    assert strict.exit_code == 1
    assert strict.stdout == result.stdout


def test_alerts_never_fail_unless_named(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", {"routing": (base_charter(), ml_only_rows())})
    result = run("check", "--source", source, "--today", TODAY)
    assert result.exit_code == 0, result.output
    assert "MC105 alert" in result.stdout
    assert result.stdout.endswith("0 errors, 0 warnings, 0 info, 1 alert\n")
    assert run("check", "--source", source, "--today", TODAY, "--strict").exit_code == 0
    for codes in ("MC105", "MC108,MC105", "alerts"):
        named = run("check", "--source", source, "--today", TODAY, "--fail-on", codes)
        assert named.exit_code == 1, codes
    assert run("check", "--source", source, "--today", TODAY, "--fail-on", "MC108").exit_code == 0
    bad = run("check", "--source", source, "--fail-on", "MC999")
    assert bad.exit_code == 2 and "MC999" in bad.output


def test_a_breached_guardrail_passes_and_fails_with_fail_on(examples: Path) -> None:
    result = run("check", "--source", examples, "--today", TODAY)
    assert result.exit_code == 0, result.output
    assert "MC108 alert" in result.stdout
    named = run("check", "--source", examples, "--today", TODAY, "--fail-on", "MC108")
    assert named.exit_code == 1


def test_a_guardrail_that_drifts_after_the_rollout_is_breached(tmp_path: Path) -> None:
    """CSAT held beside control (4.3 against 4.3); rolled out, production fell to 3.10
    against a baseline of 4.31. Judging it on the experiment's last pair said "within"."""
    body = base_charter()
    body["measurement"]["guardrails"][0]["baseline"] = {"value": 4.31}
    rows = [
        *(r for r in _compliant_rows() if r["metric"] != "csat"),
        *ab("2026-11-01", "csat", 4.3, 4.3, n=900, std=1.0),
        row("2026-11-08", "csat", 3.10, n=900, std=1.0),  # a week on: no pair came
    ]
    source = write_tree(tmp_path / "src", {"routing": (body, rows)})
    result = run("check", "--source", source, "--today", TODAY)
    assert result.exit_code == 0, result.output  # an alert
    assert (
        "MC108 alert: measurement.guardrails[0].tolerance: guardrail 'CSAT' moved"
        " \u22121.21 score against baseline, beyond its tolerance of 0.1 score"
    ) in result.stdout
    (csat,) = check_json(source)["charters"][0]["guardrails"]
    assert (csat["reference"], csat["breached"]) == ("baseline", True)
    assert csat["change"] == pytest.approx(3.10 - 4.31)


def test_paths_judge_only_their_charters(tmp_path: Path) -> None:
    broken = base_charter()
    broken["business_metrics"][0]["unit"] = 5  # a validation error in another charter
    source = write_tree(
        tmp_path / "src",
        {
            "routing": (base_charter(), _compliant_rows()),
            "alerting": (base_charter(), ml_only_rows()),
            "broken": (broken, []),
        },
    )
    whole = run("check", "--source", source, "--today", TODAY)
    assert whole.exit_code == 1
    own = source / "charters" / "routing" / "charter.yaml"
    one = run("check", own, "--source", source, "--today", TODAY)
    assert one.exit_code == 0, one.output
    assert "broken" not in one.stdout and "alerting" not in one.stdout
    assert one.stdout.splitlines()[-1].startswith("checked 1 charter:")
    bad = run("check", source / "charters" / "broken" / "charter.yaml", "--source", source)
    assert bad.exit_code == 1 and "charters/broken/charter.yaml" in bad.stdout
    site = source / "site.yaml"
    site.write_text("title: Portfolio\n", encoding="utf-8")
    everything = run("check", site, "--source", source, "--today", TODAY)
    assert everything.exit_code == 1 and "broken" in everything.stdout
    # A mistyped path judged nothing and said nothing: the CI step was green.
    typo = run("check", source / "charters" / "routng" / "charter.yaml", "--source", source)
    assert typo.stdout.splitlines()[-1].startswith("checked 0 charters:")
    assert "warning: charters/routng is no charter folder (a typo, or a charter removed)" in (
        typo.stderr
    )
    # A path is told escaped, on one line, as every message tells a name.
    odd = run("check", source / "charters" / "rout\nng" / "charter.yaml", "--source", source)
    assert "warning: charters/rout\\nng is no charter folder" in odd.stderr
    # A mistyped path outside charters/ judged every charter without a word.
    for missing in (tmp_path / "sit.yaml", Path("nonexistent") / "path"):
        named = run("check", missing, "--source", source, "--today", TODAY)
        assert named.stdout.splitlines()[-1].startswith("checked 2 charters (1 not loaded")
        assert f"warning: {missing} is not there (a typo?); every charter is checked" in (
            named.stderr
        )
    # A file outside the source folder judged every charter without a word too.
    outside = tmp_path / "notes.txt"
    outside.write_text("x\n", encoding="utf-8")
    named = run("check", outside, "--source", source, "--today", TODAY)
    assert named.stdout.splitlines()[-1].startswith("checked 2 charters (1 not loaded")
    assert (
        f"warning: {outside} is outside the source folder ({source}); every charter is checked"
        in named.stderr
    )
    inside = run("check", site, "--source", source, "--today", TODAY)
    assert "warning" not in inside.stderr


def test_a_check_failed_by_its_options_says_which(tmp_path: Path) -> None:
    """`--fail-on` and `--strict` exited 1 with no line saying why: the summary counts
    alerts and warnings, but not which of them failed the check."""
    source = write_tree(tmp_path / "src", {"alerting": (base_charter(), ml_only_rows())})
    quiet = run("check", "--source", source, "--today", TODAY)
    assert quiet.exit_code == 0 and "error:" not in quiet.stderr
    loud = run("check", "--source", source, "--today", TODAY, "--fail-on", "alerts")
    assert loud.exit_code == 1
    assert loud.stderr.startswith("error: failed on MC105 (--fail-on)")


def test_info_does_not_fail_strict(tmp_path: Path) -> None:
    body = base_charter(status="proposed")
    del body["human_baseline"]
    source = write_tree(tmp_path / "src", {"idea": (body, [])})
    result = run("check", "--source", source, "--today", TODAY, "--strict")
    assert result.exit_code == 0, result.output
    assert "MC102 info" in result.stdout


def test_a_charter_loaded_despite_a_problem_is_not_counted_as_not_loaded(tmp_path: Path) -> None:
    # A pull entry naming no connection is an error that leaves the charter loaded and
    # judged; the summary used to count it as "not loaded: invalid" all the same.
    pull = [{"into": "results/weekly.csv", "connection": "wharehouse", "sql": "SELECT 1"}]
    source = write_tree(tmp_path / "src", {"routing": (base_charter(pull=pull), _compliant_rows())})
    result = run("check", "--source", source, "--today", TODAY)
    data = check_json(source)
    assert [c["id"] for c in data["charters"]] == ["routing"]
    assert [e["code"] for e in data["errors"]] == ["unknown-connection"]
    assert result.stdout.splitlines()[-1].startswith("checked 1 charter: 1 error, ")


def test_exit_1_on_invalid_charter_with_validation_errors_listed(tmp_path: Path) -> None:
    bad = base_charter(status="shipped")
    source = write_tree(
        tmp_path / "src",
        {"bad": (bad, []), "routing": (base_charter(), _compliant_rows())},
    )
    result = run("check", "--source", source, "--today", TODAY)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    status_line = next(line for line in lines if line.startswith("charters/bad/charter.yaml:3:"))
    assert "error" in status_line and "'shipped'" in status_line and "proposed" in status_line
    assert lines[-1] == (
        "checked 1 charter (1 not loaded: invalid): 1 error, 0 warnings, 0 info, 0 alerts"
    )

    data = check_json(source)
    assert [c["id"] for c in data["charters"]] == ["routing"]
    (error,) = data["errors"]
    assert error["severity"] == "error"
    assert (error["file"], error["line"], error["field"]) == (
        "charters/bad/charter.yaml",
        3,
        "status",
    )


def test_exit_2_on_bad_today(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", {"routing": (base_charter(), _compliant_rows())})
    result = run("check", "--source", source, "--today", "2026-13-01")
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output


def test_exit_2_on_bad_format(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", {"routing": (base_charter(), _compliant_rows())})
    result = run("check", "--source", source, "--format", "xml")
    assert result.exit_code == 2
    assert "xml" in result.output


def test_a_blank_source_date_epoch_is_unset(tmp_path: Path) -> None:
    """Blank is unset for the build date, but numpy read it as a number on import: an
    internal error."""
    source = copy_examples(tmp_path / "src")
    env = {**os.environ, "SOURCE_DATE_EPOCH": " "}
    done = subprocess.run(
        [sys.executable, "-m", "generator", "check", "--source", str(source)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=REPO_ROOT,
    )
    assert "internal error" not in done.stderr
    assert done.returncode == 0, done.stderr


def test_output_that_cannot_be_written_is_one_line_not_an_internal_error(
    tmp_path: Path,
) -> None:
    with open("/dev/full", "w") as full:  # every write fails: no space left
        done = subprocess.run(
            [sys.executable, "-m", "generator", "schema"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            cwd=REPO_ROOT,
        )
    assert done.returncode == 1
    assert done.stderr == "error: cannot write the output: No space left on device\n"


def test_staleness_uses_today_option_and_source_date_epoch(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", {"routing": (base_charter(), _compliant_rows())})
    fresh = run("check", "--source", source, "--today", "2026-11-22")
    assert fresh.exit_code == 0 and "MC109" not in fresh.stdout
    stale = run("check", "--source", source, "--today", "2026-11-23")
    assert stale.exit_code == 0  # an alert
    assert "MC109 alert: measurement.cadence: latest result is from 2026-11-08" in stale.stdout
    named = run("check", "--source", source, "--today", "2026-11-23", "--fail-on", "MC109")
    assert named.exit_code == 1
    # SOURCE_DATE_EPOCH stands in for --today: 2026-11-23T00:00:00Z.
    epoch = run("check", "--source", source, env={"SOURCE_DATE_EPOCH": "1795392000"})
    assert "MC109" in epoch.stdout and "before 2026-11-23" in epoch.stdout
    # --today wins over SOURCE_DATE_EPOCH.
    both = run(
        "check",
        "--source",
        source,
        "--today",
        "2026-11-10",
        env={"SOURCE_DATE_EPOCH": "1795392000"},
    )
    assert "MC109" not in both.stdout


def test_check_writes_nothing_but_its_cache(examples: Path) -> None:
    # Its report is kept in the cache folder (docs/check.md, The cache); the test passed
    # only after another test of this module had checked the same copy, making it.
    def tree() -> list[str]:
        paths = (p.relative_to(examples).as_posix() for p in examples.rglob("*"))
        return sorted(p for p in paths if p.split("/", 1)[0] != ".charters-cache")

    before = tree()
    run("check", "--source", examples, "--today", TODAY, "--format", "json")
    assert tree() == before
    assert (examples / ".charters-cache").is_dir()


def test_summary_counts_folders_that_could_not_be_loaded(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", {"routing": (base_charter(), _compliant_rows())})
    (source / "charters" / "no-charter-yet").mkdir()  # a folder without charter.yaml
    (source / "charters" / "Bad_Id").mkdir()
    (source / "charters" / "Bad_Id" / "charter.yaml").write_text(
        yaml.safe_dump(base_charter()), encoding="utf-8"
    )
    result = run("check", "--source", source, "--today", TODAY)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith("charters/no-charter-yet: ") for line in lines)
    assert any(line.startswith("charters/Bad_Id: ") for line in lines)
    assert lines[-1] == (
        "checked 1 charter (2 not loaded: invalid): 2 errors, 0 warnings, 0 info, 0 alerts"
    )


def test_a_charter_saved_as_a_yaml_file_in_charters_is_an_error(tmp_path: Path) -> None:
    """A whole charter saved as charters/pricing.yaml, not charters/pricing/charter.yaml,
    was left out without a word: check passed and the site had no page for it."""
    source = write_tree(tmp_path / "src", {"routing": (base_charter(), _compliant_rows())})
    (source / "charters" / "README.md").write_text("One folder a project.\n", encoding="utf-8")
    assert run("check", "--source", source, "--today", TODAY).exit_code == 0  # README: fine
    text = yaml.safe_dump(base_charter())
    (source / "charters" / "pricing.yaml").write_text(text, encoding="utf-8")
    (source / "charters" / "routing.YML").write_text(text, encoding="utf-8")
    result = run("check", "--source", source, "--today", TODAY)
    assert result.exit_code == 1
    common = (
        "not-a-folder error: a file, not a charter's folder: every charter is a folder"
        " charters/<id>/ holding its charter.yaml, so this file is not read; move it"
    )
    assert result.stdout.splitlines() == [
        f"charters/pricing.yaml: {common} to charters/pricing/charter.yaml, or out of charters/",
        # charters/routing/ is a charter already.
        f"charters/routing.YML: {common} into a folder of its own, as"
        " charters/<id>/charter.yaml, or out of charters/",
        *[line for line in result.stdout.splitlines() if line.startswith("routing: ")],
        "checked 1 charter: 2 errors, 0 warnings, 0 info, 0 alerts",
    ]
    built = run("build", "--source", source, "--out", tmp_path / "site", "--today", TODAY)
    assert built.exit_code == 1
    assert "charters/pricing.yaml: a file, not a charter's folder" in built.stderr


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        (
            '{% extends "builtin/charter.html" %}\n{% block footer %}{{ x.y }{% endblock %}\n',
            "templates/charter.html:2:1: template error: template syntax error: unexpected '}'",
        ),
        (
            '{% extends "builtin/charter.html" %}\n'
            "{% block footer %}{{ 3|nosuch }}{% endblock %}\n",
            "templates/charter.html:2:1: template error: template syntax error: No filter named"
            " 'nosuch'.",
        ),
        (
            '{% extends "builtin/charter.html" %}\n{% block footer %}\n{% include "_mine.html" %}'
            '{% include "_maybe.html" ignore missing %}{% endblock %}\n',
            "templates/charter.html:3:1: template error: template '_mine.html' not found in"
            " templates/ or the built-in templates",
        ),
    ],
)
def test_check_refuses_a_template_the_build_refuses(
    tmp_path: Path, template: str, problem: str
) -> None:
    """`check` passed a template `build` refused, so the pre-commit hook and the CI step
    never caught one (review); the build's report for check says the same."""
    source = copy_examples(tmp_path / "src")
    (source / "templates").mkdir()
    (source / "templates" / "charter.html").write_text(template, encoding="utf-8")
    checked = run("check", "--source", source, "--today", TODAY, "--cache-dir", tmp_path / "c1")
    assert checked.exit_code == 1
    assert [line for line in checked.stdout.splitlines() if "template" in line] == [problem]
    built = run("build", "--source", source, "--out", tmp_path / "site", "--today", TODAY)
    assert built.exit_code == 1
    assert problem.replace(" template error:", "") in built.stderr
    # A build primes check's report in its cache folder; the check after it prints it.
    cache = tmp_path / "c2"
    run(
        "build",
        "--source",
        source,
        "--out",
        tmp_path / "site",
        "--today",
        TODAY,
        "--cache-dir",
        cache,
    )
    again = run("check", "--source", source, "--today", TODAY, "--cache-dir", cache)
    assert again.stdout == checked.stdout
    # Mended, the templates pass check as they pass the build.
    (source / "templates" / "_mine.html").write_text("{{ 1 }}\n", encoding="utf-8")
    (source / "templates" / "charter.html").write_text(
        '{% extends "builtin/charter.html" %}{% block footer %}{% include "_mine.html" %}'
        "{% endblock %}\n",
        encoding="utf-8",
    )
    assert run("check", "--source", source, "--today", TODAY).exit_code == 0
