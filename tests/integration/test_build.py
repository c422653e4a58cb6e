"""Building sites: what a reader sees on the pages, and that a build never loses a site.

Trees are kept small (charts are drawn by matplotlib); the shipped examples are built
once per session by the `examples_build` fixture.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import pathlib
import re
import subprocess
import sys
from pathlib import Path
from statistics import NormalDist
from urllib.parse import unquote, urlsplit
from xml.etree import ElementTree

import pytest
import yaml
from helpers import (
    MINIMAL_BLOCKS,
    REPO_ROOT,
    Element,
    ExamplesBuild,
    ScratchProject,
    minimal_charter,
    parse_html,
    run_cli,
)

import generator.write
from generator.build import BuildResult, Settings, build
from generator.spool import Content
from generator.write import MANIFEST, OutputError

FULL_CHARTER = """\
title: Support ticket routing
summary: Route new tickets to the right queue.
status: experiment
owner:
  name: Ana Ruiz
  email: ana@example.com
team: Support Engineering
tags: [nlp, support]
links:
  - {title: Design doc, url: "https://wiki.example.com/routing"}
  - {title: Weekly export, url: "results/ab.csv"}
objective:
  statement: Customers get a first answer **sooner**.
  context: Slow first responses drive most CSAT complaints.
business_metrics:
  - id: ttfr
    name: Median time to first response
    definition: Median hours from ticket creation to first agent reply.
    unit: hours
    direction: decrease
    baseline: {value: 6.2, as_of: 2026-02-01, source: Zendesk weekly export}
    target: {value: 4.5, by: 2026-12-31}
    agreed: {by: [Head of Support, VP Customer Experience], on: 2026-02-15}
ml_metrics:
  - id: routing_precision
    name: Top-1 routing precision
    definition: Share of auto-routed tickets not reassigned within 24 h.
    unit: ratio
    direction: increase
    baseline: {value: 0.71}
    target: {value: 0.92}
    drives: [ttfr]
    hypothesis: A correct first queue removes one reassignment hop.
measurement:
  method: ab_test
  population: All English web and email tickets.
  unit_of_analysis: ticket
  cadence: weekly
  minimum_detectable_effect: {metric: ttfr, relative: 0.10}
  guardrails:
    - id: csat
      name: CSAT
      definition: Mean post-resolution survey score, 1-5.
      unit: score
      direction: increase
      baseline: {value: 4.3}
      tolerance: {value: 0.1}
  decision_rule: Ship if TTFR falls at least 10% and CSAT drops less than 0.1.
human_baseline:
  method: Two senior agents routed every ticket by hand for two weeks.
  period: {start: 2026-03-02, end: 2026-03-13}
  results:
    - {metric: ttfr, value: 4.9}
    - {metric: routing_precision, value: 0.94}
  conclusion: Manual routing cut TTFR by 21%.
decisions:
  - {date: 2026-06-01, decision: Ship to all queues., rationale: TTFR fell by 18%.}
"""

FULL_RESULTS = """\
date,metric,variant,value,n
2026-05-04,ttfr,control,6.1,4210
2026-05-04,ttfr,treatment,5.0,4188
2026-05-11,ttfr,control,6.0,4302
2026-05-11,ttfr,treatment,5.1,4250
2026-05-11,routing_precision,treatment,0.89,4250
"""


def tree_files(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (site-relative POSIX path → bytes)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def write_full_project(project: ScratchProject) -> None:
    project.charter("routing", text=FULL_CHARTER)
    project.write("charters/routing/results/ab.csv", FULL_RESULTS)
    project.charter("pricing", title="Dynamic pricing", team=None)
    project.charter("summaries", title="Review summaries", status="proposed", human_baseline=None)


@pytest.fixture(scope="module")
def full_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildResult]:
    """Three charters: a complete one with results, a minimal one, a proposed one."""
    root = tmp_path_factory.mktemp("full") / "project"
    root.mkdir()
    project = ScratchProject(root)
    write_full_project(project)
    result = project.build()
    assert result.ok, [d.format_text() for d in result.diagnostics]
    return project.out, result


def page(out: Path, rel: str) -> Element:
    return parse_html(out / rel)


# --- the portfolio ---------------------------------------------------------------------


def portfolio_row(out: Path, title: str) -> Element:
    root = page(out, "index.html")
    for row in root.find_all("tr"):
        links = [a for a in row.find_all("a") if a.text() == title]
        if links:
            return row
    raise AssertionError(f"no portfolio row for {title!r}")


def test_portfolio_row_shows_the_project_at_a_glance(full_site: tuple[Path, BuildResult]) -> None:
    out, _ = full_site
    row = portfolio_row(out, "Support ticket routing")
    text = row.text()
    assert "In experiment" in text
    assert "Ana Ruiz" in text
    assert "Support Engineering" in text
    assert "Median time to first response" in text
    # Latest is the newest non-control observation: the treatment arm on 2026-05-11.
    assert row.find(class_="trio").text() == "6.2 hours → 5.1 hours → 4.5 hours"
    assert row.find(class_="hb-done").text() == "Done"
    assert row.find("time").attrs["datetime"] == "2026-05-11"
    assert row.find("time").text() == "2026-05-11"
    link = row.find("a")
    assert link.attrs["href"] == "charters/routing/index.html"


def test_portfolio_rows_without_results_or_human_baseline(
    full_site: tuple[Path, BuildResult],
) -> None:
    out, _ = full_site
    pricing = portfolio_row(out, "Dynamic pricing")
    assert pricing.find(class_="hb-waived").text() == "Waived"
    assert pricing.find(class_="trio").text() == "6.2 hours → — → 4.5 hours"
    assert "none yet" in pricing.text()
    summaries = portfolio_row(out, "Review summaries")
    assert summaries.find(class_="hb-missing").text() == "Missing"
    assert "Proposed" in summaries.text()


# --- the charter page ------------------------------------------------------------------


@pytest.fixture(scope="module")
def routing_page(full_site: tuple[Path, BuildResult]) -> Element:
    return page(full_site[0], "charters/routing/index.html")


def section(root: Element, section_id: str) -> Element:
    return root.find("section", id=section_id)


def test_charter_page_header(routing_page: Element) -> None:
    assert routing_page.find("h1").text() == "Support ticket routing"
    meta = routing_page.find("p", class_="meta").text()
    assert "In experiment" in meta
    assert "Owner: Ana Ruiz (ana@example.com)" in meta
    assert "Team: Support Engineering" in meta
    assert "Latest result: 2026-05-11" in meta
    assert [li.text() for li in routing_page.find("ul", class_="tags").find_all("li")] == [
        "nlp",
        "support",
    ]
    assert routing_page.find("title").text().startswith("Support ticket routing")


def test_charter_page_objective(routing_page: Element) -> None:
    objective = section(routing_page, "objective")
    assert "Customers get a first answer sooner." in objective.text()
    assert objective.find("strong").text() == "sooner"
    assert "Slow first responses drive most CSAT complaints." in objective.text()


def test_charter_page_business_metrics_table(routing_page: Element) -> None:
    row = section(routing_page, "business-metrics").find("tr", id="metric-ttfr")
    cells = [c.text() for c in row.find_all("td")]
    assert row.find("th").text().startswith("Median time to first response")
    assert "6.2 hours" in cells[0] and "as of 2026-02-01" in cells[0]
    assert "Zendesk weekly export" in cells[0]
    assert "4.9 hours" in cells  # human baseline
    assert any(c.startswith("5.1 hours") for c in cells)  # latest
    assert any(c.startswith("4.5 hours") and "by 2026-12-31" in c for c in cells)
    agreed = cells[-1]
    assert "Head of Support, VP Customer Experience" in agreed
    assert "on 2026-02-15" in agreed
    definitions = section(routing_page, "business-metrics").find("dl").text()
    assert "Median hours from ticket creation to first agent reply." in definitions


def test_a_metric_without_results_says_so_once_in_its_progress_cell(
    full_site: tuple[Path, BuildResult],
) -> None:
    # Not "—" and then the "No results" badge: the badge alone (the Latest cell has the
    # same news). A metric with progress shows it, then its status.
    out, _ = full_site
    table = section(page(out, "charters/pricing/index.html"), "business-metrics")
    progress = [row.find_all("td")[-3] for row in table.find("tbody").find_all("tr")]
    assert progress and [cell.text() for cell in progress] == ["No results"] * len(progress)
    routing = section(page(out, "charters/routing/index.html"), "business-metrics")
    cell = routing.find("tr", id="metric-ttfr").find_all("td")[-3].text()
    assert "of the way" in cell and cell.endswith("Improved"), cell


def test_charter_page_ml_metric_drives_its_business_metric(routing_page: Element) -> None:
    ml = section(routing_page, "ml-metrics")
    row = ml.find("tr", id="metric-routing_precision")
    drives = row.find("a", class_="drives")
    assert drives.text() == "drives → Median time to first response"
    assert drives.attrs["href"] == "#metric-ttfr"
    assert routing_page.find_all(id="metric-ttfr"), "the drives link points at nothing"
    cells = [c.text() for c in row.find_all("td")]
    assert cells[:2] == ["0.71", "0.94"]  # baseline, human baseline
    assert "A correct first queue removes one reassignment hop." in ml.text()


def test_charter_page_measurement_plan(routing_page: Element) -> None:
    plan = section(routing_page, "measurement")
    facts = dict(
        zip(
            [dt.text() for dt in plan.find("dl").find_all("dt")],
            [dd.text() for dd in plan.find("dl").find_all("dd")],
            strict=True,
        )
    )
    assert facts["Method"] == "A/B test"
    assert facts["Population"] == "All English web and email tickets."
    assert facts["Unit of analysis"] == "ticket"
    assert facts["Cadence"] == "weekly"
    assert facts["Minimum detectable effect"] == "10% relative on Median time to first response"
    decision = plan.find(class_="decision-rule").text()
    assert decision == "Ship if TTFR falls at least 10% and CSAT drops less than 0.1."
    assert plan.find("h3", id="guardrails").text() == "Guardrails"
    guardrail = plan.find("tr", id="metric-csat")
    assert guardrail.find("th").text().startswith("CSAT")
    assert "at most 0.1 score worse" in guardrail.text()
    assert "Mean post-resolution survey score, 1-5." in guardrail.text()


def test_charter_page_human_baseline(routing_page: Element) -> None:
    human = section(routing_page, "human-baseline")
    assert "Done" in human.find("h2").text()
    assert "Two senior agents routed every ticket by hand for two weeks." in human.text()
    assert "Period: 2026-03-02 to 2026-03-13" in human.text()
    rows = [[c.text() for c in tr.find_all()] for tr in human.find("tbody").find_all("tr")]
    assert [r[:3] for r in rows] == [
        ["Median time to first response", "4.9 hours", "6.2 hours"],
        ["Top-1 routing precision", "0.94", "0.71"],
    ]
    assert "Conclusion: Manual routing cut TTFR by 21%." in human.text()


def test_charter_page_decisions_and_links(routing_page: Element) -> None:
    decisions = section(routing_page, "decisions").find_all("li")
    assert [d.text() for d in decisions] == ["2026-06-01 Ship to all queues. TTFR fell by 18%."]
    links = section(routing_page, "links").find_all("a")
    assert [(a.text(), a.attrs["href"]) for a in links] == [
        ("Design doc", "https://wiki.example.com/routing"),
        ("Weekly export", "results/ab.csv"),
    ]


def test_charter_page_results_table(routing_page: Element) -> None:
    results = section(routing_page, "results")
    table = results.find("details", class_="all-results").find("tbody")
    rows = [[c.text() for c in tr.find_all("td")] for tr in table.find_all("tr")]
    assert [r[:4] for r in rows] == [
        ["2026-05-04", "ttfr", "control", "6.1"],
        ["2026-05-04", "ttfr", "treatment", "5"],
        ["2026-05-11", "routing_precision", "treatment", "0.89"],
        ["2026-05-11", "ttfr", "control", "6"],
        ["2026-05-11", "ttfr", "treatment", "5.1"],
    ]
    # Every row says which file and line it came from.
    assert rows[0][-1] == "charters/routing/results/ab.csv:2:1"


def test_charter_page_has_a_chart_per_metric_with_results(
    full_site: tuple[Path, BuildResult], routing_page: Element
) -> None:
    out, result = full_site
    figures = section(routing_page, "results").find_all("figure")
    assert [f.attrs["id"] for f in figures] == ["chart-ttfr", "chart-routing_precision"]
    for figure in figures:
        img = figure.find("img")
        src = img.attrs["src"]
        assert src is not None and not src.startswith(("/", "http"))
        assert (out / "charters/routing" / src).is_file(), src
        alt = img.attrs.get("alt") or ""
        assert figure.find("h3").text() in alt
        assert len(alt) > 20
    assert result.charts == 2


def test_svg_charts_exist_only_for_metrics_with_results(
    full_site: tuple[Path, BuildResult],
) -> None:
    out, _ = full_site
    assert sorted(p.name for p in (out / "charters/routing").glob("*.svg")) == [
        "routing_precision.svg",
        "ttfr.svg",
    ]
    for name in ("routing_precision.svg", "ttfr.svg"):
        assert (out / "charters/routing" / name).read_text().lstrip().startswith(("<?xml", "<svg"))
    assert not list((out / "charters/pricing").glob("*.svg"))
    assert "No results yet." in page(out, "charters/pricing/index.html").text()


def test_minimum_detectable_effect_keeps_its_decimals(scratch_project: ScratchProject) -> None:
    scratch_project.charter(
        measurement="\n  method: ab_test\n  population: All tickets."
        "\n  minimum_detectable_effect: {metric: ttfr, relative: 0.025}"
    )
    assert scratch_project.build().ok
    plan = section(page(scratch_project.out, "charters/routing/index.html"), "measurement")
    assert "2.5% relative on Time to first response" in plan.text()


def test_a_small_share_never_reads_as_nothing(scratch_project: ScratchProject) -> None:
    """A relative minimum detectable effect of 0.0004 read "0% relative", and a relative
    lift of −0.0004 read "−0.0%" in the lift table: each reads with a significant digit."""
    scratch_project.charter(
        measurement="\n  method: ab_test\n  population: All tickets."
        "\n  minimum_detectable_effect: {metric: ttfr, relative: 0.0004}"
    )
    scratch_project.write(
        "charters/routing/results/ab.csv",
        "date,metric,variant,value,lower,upper\n2026-05-04,ttfr,control,100,99,101\n"
        "2026-05-04,ttfr,treatment,99.96,98.96,100.96\n",
    )
    assert scratch_project.build().ok
    charter = page(scratch_project.out, "charters/routing/index.html")
    assert "0.04% relative on Time to first response" in section(charter, "measurement").text()
    table = charter.find("figure", id="chart-ttfr-lift").find("tbody").text()
    assert "−0.04%" in table and "0.0%" not in table, table


def test_a_p_value_just_below_005_never_reads_as_005(scratch_project: ScratchProject) -> None:
    """A lift whose 95% interval is clear of 0 has p = 0.04996, written "p = 0.05" beside
    it (three significant digits): a reader took it as not significant at 0.05."""
    z = NormalDist().inv_cdf(0.975)
    lift, half = NormalDist().inv_cdf(1 - 0.04996 / 2), z / math.sqrt(2)  # the lift's se: 1
    rows = [("control", 100.0), ("treatment", 100.0 - lift)]  # lower is better
    scratch_project.charter()
    scratch_project.write(
        "charters/routing/results/ab.csv",
        "date,metric,variant,value,lower,upper\n"
        + "".join(f"2026-05-04,ttfr,{arm},{v!r},{v - half!r},{v + half!r}\n" for arm, v in rows),
    )
    assert scratch_project.build().ok
    charter = page(scratch_project.out, "charters/routing/index.html")
    lift_cell = charter.find("tr", id="metric-ttfr").find("span", class_="nowrap").text()
    assert lift_cell == "p = 0.04996", lift_cell
    row = charter.find("figure", id="chart-ttfr-lift").find("tbody").find("tr")
    cells = [td.text() for td in row.find_all("td")]
    assert cells[4] == "0.04996", cells


def test_a_latest_value_short_of_its_target_never_reads_as_the_target(
    scratch_project: ScratchProject,
) -> None:
    """Rounded to two decimals, 4.5049 hours against a target of 4.5 read "4.5 hours" beside
    "Target 4.5 hours", "Did not move", on the page, the portfolio and in the feed."""
    scratch_project.charter(measurement="\n  method: before_after\n  population: All tickets.")
    scratch_project.write(
        "charters/routing/results/production.csv", "date,metric,value\n2026-05-04,ttfr,4.5049\n"
    )
    assert scratch_project.build().ok
    charter_page = page(scratch_project.out, "charters/routing/index.html")
    charter = charter_page.text()
    assert "4.505 hours" in charter and "4.5049" not in charter
    # The chart's data table too (it read "4.5 hours" below a metrics table's 4.505).
    table = charter_page.find("details", class_="chart-data").text()
    assert "2026-05-04 production 4.505 hours" in table, table
    portfolio = page(scratch_project.out, "index.html").text()
    assert "6.2 hours → 4.505 hours → 4.5 hours" in portfolio
    feed = (scratch_project.out / "feed.xml").read_text(encoding="utf-8")
    assert "Latest 4.505 hours" in feed
    # The other way round: a latest written shorter than its target; the target gets the
    # digits (the latest read 4.4999999999999996 hours, its float's expansion).
    scratch_project.charter(
        measurement="\n  method: before_after\n  population: All tickets.",
        business_metrics=MINIMAL_BLOCKS["business_metrics"].replace("4.5}", "4.4999}"),
    )
    scratch_project.write(
        "charters/routing/results/production.csv", "date,metric,value\n2026-05-04,ttfr,4.5\n"
    )
    assert scratch_project.build().ok
    portfolio = page(scratch_project.out, "index.html").text()
    assert "6.2 hours → 4.5 hours → 4.4999 hours" in portfolio


# Just short of a target, just past a guardrail's limit (4.31 − 0.1): the latest of each.
HAIR_METRICS = {
    "ml_metrics": "\n  - {id: prec, name: Precision, definition: Share right., unit: ratio,"
    " direction: increase, baseline: {value: 0.71}, target: {value: 0.92}, drives: [ttfr]}",
    "measurement": "\n  method: before_after\n  population: All tickets.\n  guardrails:"
    "\n    - {id: csat, name: CSAT, definition: Mean score., unit: score, direction: increase,"
    " baseline: {value: 4.31}, tolerance: {value: 0.1}}",
    "business_metrics": MINIMAL_BLOCKS["business_metrics"]
    .replace("6.2}", "18.5}")
    .replace("4.5}", "15.0}"),
}
HAIR_ROWS = (
    "date,metric,value\n2026-05-01,ttfr,16\n2026-05-29,ttfr,15.0004\n"
    "2026-05-29,prec,0.91996\n2026-05-29,csat,4.2099\n"
)


def test_a_value_a_hair_from_its_target_or_limit_never_reads_as_it_anywhere(
    scratch_project: ScratchProject,
) -> None:
    """The metrics tables told 15.0004 hours from a target of 15, but the page's other
    places rounded it there: "All result rows" read 15, 0.92 (a target of 0.92) and 4.21
    (a guardrail's limit of 4.21); the charts' text "16.0 → 15.0 … Target 15.0" and "at
    4.21 against a limit of 4.21"; the guardrail's table 4.21 and "−0.1 score" beside a
    tolerance of 0.1, as its alert did."""
    scratch_project.charter(**HAIR_METRICS)
    scratch_project.write("charters/routing/results/production.csv", HAIR_ROWS)
    assert scratch_project.build().ok
    charter = page(scratch_project.out, "charters/routing/index.html")
    everything = charter.find("details", class_="all-results").find("tbody").find_all("tr")
    values = [[td.text() for td in tr.find_all("td")][1::2][:2] for tr in everything]
    assert values == [["ttfr", "16"], ["csat", "4.2099"], ["prec", "0.91996"], ["ttfr", "15.0004"]]
    alts = {
        figure.attrs["id"]: figure.find("img").attrs["alt"]
        for figure in charter.find_all("figure")
        if figure.find("img") is not None
    }
    assert "2026-05-29: 16.0000 \u2192 15.0004. Lower is better. Target 15.0000," in (
        alts["chart-ttfr"] or ""
    )
    assert ": 0.91996. Higher is better. Target 0.92000, baseline 0.71000." in (
        alts["chart-prec"] or ""
    )
    assert "latest 2026-05-29 at 4.2099 against a limit of 4.2100." in (alts["chart-csat"] or "")
    # Baseline, latest (then its date), change (then against what), tolerance.
    csat = [td.children[0] for td in charter.find("tr", id="metric-csat").find_all("td")]
    assert csat[:4] == [
        "4.31 score",
        "4.2099 score",
        "\u22120.1001 score",
        "at most 0.1 score worse",
    ]
    table = charter.find("figure", id="chart-csat").find("tbody").text()
    assert "2026-05-29 production 4.2099 score" in table and "4.21 score beyond" in table, table
    findings = section(charter, "findings").text()
    assert (
        "moved \u22120.1001 score against baseline, beyond its tolerance of 0.1 score" in findings
    )


def test_a_guardrail_lift_a_hair_beyond_its_tolerance_never_reads_as_it(
    scratch_project: ScratchProject,
) -> None:
    """Treatment 5.0004 ms slower than control, beyond a tolerance of 5 ms: the lift's data
    table read "+5.00 ms" below a line labelled "Tolerance +5 ms", and its change "+5 ms"."""
    scratch_project.charter(
        measurement="\n  method: ab_test\n  population: All tickets.\n  guardrails:"
        "\n    - {id: lat, name: Latency, unit: ms, direction: decrease, tolerance: {value: 5}}"
    )
    scratch_project.write(
        "charters/routing/results/ab.csv",
        "date,metric,variant,value,n,std\n"
        "2026-05-04,lat,control,200,500,20\n2026-05-04,lat,treatment,205.0004,500,20\n",
    )
    assert scratch_project.build().ok
    charter = page(scratch_project.out, "charters/routing/index.html")
    lift = charter.find("figure", id="chart-lat-lift")
    cells = [td.text() for td in lift.find("tbody").find("tr").find_all("td")]
    assert cells[1] == "+5.0004 ms", cells
    assert "+5.0004 ms" in (lift.find("img").attrs["alt"] or "")
    assert charter.find("tr", id="metric-lat").find_all("td")[2].children[0] == "+5.0004 ms"


def test_a_human_baseline_that_differs_from_the_baseline_never_reads_as_it(
    scratch_project: ScratchProject,
) -> None:
    """By hand, 6.2049 hours against a baseline of 6.2 read "6.2 hours" in both columns: the
    hand test seemed not to move the metric at all. Each of the two gets the digits that
    tell them apart, in the metrics table and in the hand test's own table."""
    scratch_project.charter(
        human_baseline="\n  method: Two agents routed by hand.\n  results:"
        "\n    - {metric: ttfr, value: 6.2049}"
    )
    assert scratch_project.build().ok
    charter = page(scratch_project.out, "charters/routing/index.html")
    row = charter.find("tr", id="metric-ttfr")
    assert [td.text() for td in row.find_all("td")[:2]] == ["6.2 hours", "6.205 hours"]
    hand = section(charter, "human-baseline").text()
    assert "6.205 hours 6.2 hours" in hand
    # The other way round: the baseline written longer; it gets the digits.
    scratch_project.charter(
        business_metrics=MINIMAL_BLOCKS["business_metrics"].replace("6.2}", "6.2049}"),
        human_baseline="\n  method: Two agents routed by hand.\n  results:"
        "\n    - {metric: ttfr, value: 6.2}",
    )
    assert scratch_project.build().ok
    charter = page(scratch_project.out, "charters/routing/index.html")
    row = charter.find("tr", id="metric-ttfr")
    assert [td.text() for td in row.find_all("td")[:2]] == ["6.205 hours", "6.2 hours"]
    assert "6.2 hours 6.205 hours" in section(charter, "human-baseline").text()


def test_a_baseline_beside_its_latest_and_target_never_reads_as_either(
    scratch_project: ScratchProject,
) -> None:
    """A baseline of 4.504 hours, written with no digits to tell it from the target of 4.5,
    read "4.5 hours → 4.502 hours → 4.5 hours": a metric back at its baseline, or one
    that had got worse. An ML metric's ratio baseline of 0.99952 read "1" beside a latest
    of "0.9996", as if it had fallen. Baseline, latest and target read apart and in order
    on the charter page, the portfolio and in the feed."""
    scratch_project.charter(
        measurement="\n  method: before_after\n  population: All tickets.",
        business_metrics=MINIMAL_BLOCKS["business_metrics"].replace("6.2}", "4.504}"),
        ml_metrics="\n  - id: uptime\n    name: Availability\n    definition: Minutes up."
        "\n    unit: ratio\n    direction: increase\n    baseline: {value: 0.99952}"
        "\n    target: {value: 0.99999}\n    drives: [ttfr]",
    )
    scratch_project.write(
        "charters/routing/results/production.csv",
        "date,metric,value\n2026-05-04,ttfr,4.502\n2026-05-04,uptime,0.99961\n",
    )
    assert scratch_project.build().ok
    charter = page(scratch_project.out, "charters/routing/index.html")
    cells = [td.text() for td in charter.find("tr", id="metric-ttfr").find_all("td")[:4]]
    assert cells == ["4.504 hours", "—", "4.502 hours2026-05-04", "4.5 hours"], cells
    cells = [td.text() for td in charter.find("tr", id="metric-uptime").find_all("td")[:4]]
    assert cells[0] == "0.9995" and cells[2].startswith("0.9996"), cells
    assert cells[3].startswith("0.99999"), cells  # a target short of a whole is not 1
    portfolio = page(scratch_project.out, "index.html").text()
    assert "4.504 hours → 4.502 hours → 4.5 hours" in portfolio
    feed = (scratch_project.out / "feed.xml").read_text(encoding="utf-8")
    assert "Latest 4.502 hours; baseline 4.504 hours; target 4.5 hours" in feed


# --- untrusted text --------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
JS_LINK = "[click](javascript:alert(1))"
TEMPLATE = "{{ 7*7 }} {% for x in y %}"
PAYLOAD = f"{SCRIPT} {IMG} {JS_LINK} `{SCRIPT}` {TEMPLATE}"


def hostile_charter() -> dict[str, object]:
    """A charter whose every text field holds script, handlers, javascript: and templates."""
    p = PAYLOAD
    return {
        "title": p,
        "summary": p,
        "status": "experiment",
        "owner": {"name": p, "email": "o'hara+a/b=c{d}|`e`$f!h@example.com"},
        "team": p,
        "tags": [p, SCRIPT],
        "links": [{"title": p, "url": "https://example.com/?q=<script>"}],
        "objective": {"statement": p, "context": p},
        "business_metrics": [
            {
                "id": "ttfr",
                "name": p,
                "definition": p,
                "unit": p,
                "direction": "decrease",
                "baseline": {"value": 6.2, "source": p},
                "target": {"value": 4.5},
                "agreed": {"by": [p, SCRIPT]},
            }
        ],
        "ml_metrics": [
            {
                "id": "precision",
                "name": p,
                "definition": p,
                "unit": p,
                "direction": "increase",
                "drives": ["ttfr"],
                "hypothesis": p,
            }
        ],
        "measurement": {
            "method": "ab_test",
            "population": p,
            "unit_of_analysis": p,
            "cadence": p,
            "minimum_detectable_effect": {"metric": "ttfr", "absolute": 0.5},
            "guardrails": [
                {
                    "id": "csat",
                    "name": p,
                    "definition": p,
                    "unit": p,
                    "direction": "increase",
                    "tolerance": {"value": 0.1},
                }
            ],
            "decision_rule": p,
        },
        "human_baseline": {
            "method": p,
            "results": [{"metric": "ttfr", "value": 5.5, "note": p}],
            "conclusion": p,
        },
        "decisions": [{"date": "2026-06-01", "decision": p, "rationale": p}],
    }


def hostile_results() -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["date", "metric", "variant", "value", "note"])
    writer.writerow(["2026-05-04", "ttfr", PAYLOAD, "6.1", PAYLOAD])
    writer.writerow(["2026-05-11", "ttfr", PAYLOAD, "5.8", PAYLOAD])
    writer.writerow(["2026-05-11", "csat", "", "4.3", PAYLOAD])
    return buffer.getvalue()


def assert_no_active_content(path: Path, out: Path) -> None:
    root = parse_html(path)
    for el in root.iter():
        assert el.tag not in {"iframe", "object", "embed", "base"}, path
        if el.tag == "script":
            # Only the generator's own script file, never inline code.
            src = el.attrs.get("src") or ""
            target = (path.parent / src).resolve()
            assert target.is_relative_to((out / "static").resolve()), (path, src)
            assert target.is_file() and not el.text(), (path, src)
        for name, value in el.attrs.items():
            assert not name.startswith("on"), (path, el.tag, name)
            if name in ("href", "src", "action", "formaction", "srcset", "data"):
                scheme = urlsplit((value or "").strip()).scheme.lower()
                assert scheme in ("", "http", "https", "mailto"), (path, el.tag, value)
                assert (
                    not re.sub(r"[\s\x00-\x1f]", "", value or "")
                    .lower()
                    .startswith(("javascript:", "data:", "vbscript:"))
                )


# A 150-character unit squeezes the chart's axes to nothing; matplotlib warns, and that
# is beside the point here.
@pytest.mark.filterwarnings("ignore:constrained_layout not applied:UserWarning")
def test_untrusted_text_is_shown_never_run(scratch_project: ScratchProject, tmp_path: Path) -> None:
    scratch_project.write("site.yaml", yaml.safe_dump({"title": PAYLOAD, "description": PAYLOAD}))
    scratch_project.charter("hostile", text=yaml.safe_dump(hostile_charter(), sort_keys=False))
    scratch_project.write("charters/hostile/results/ab.csv", hostile_results())
    out = tmp_path / "site"
    result = run_cli("build", "--source", scratch_project.root, "--out", out)
    assert result.exit_code == 0, result.output
    html_files = sorted(out.rglob("*.html"))
    assert len(html_files) >= 2
    for path in html_files:
        assert_no_active_content(path, out)
    charter = page(out, "charters/hostile/index.html")
    text = charter.text()
    # Template syntax in charter text is data: shown as written, never evaluated.
    assert "{{ 7*7 }}" in text
    assert "{% for x in y %}" in text
    assert "49" not in text
    # The payload stays readable where plain text is shown.
    assert charter.find("h1").text() == " ".join(PAYLOAD.split())
    assert SCRIPT in text
    index_text = page(out, "index.html").text()
    assert "{{ 7*7 }}" in index_text and "49" not in index_text
    svgs = sorted(out.rglob("charters/hostile/*.svg"))
    assert [p.name for p in svgs] == ["csat.svg", "ttfr.svg"]
    for svg in svgs:
        # Opened on its own, an SVG runs its scripts: the variant labels must stay text.
        for el in ElementTree.parse(svg).iter():
            assert not el.tag.endswith("}script") and el.tag != "script", svg
            assert not [a for a in el.attrib if a.lower().startswith("on")], svg
            for name, value in el.attrib.items():
                if name.endswith("href"):
                    assert not value.strip().lower().startswith("javascript:"), svg


# --- links work from disk --------------------------------------------------------------


def local_references(path: Path) -> list[tuple[str, str, str]]:
    """(tag, attribute, url) for every href/src in an HTML file."""
    root = parse_html(path)
    return [
        (el.tag, name, value)
        for el in root.iter()
        for name, value in el.attrs.items()
        if name in ("href", "src") and value is not None
    ]


def is_external(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https", "mailto")


def test_every_relative_link_of_the_examples_resolves(examples_build: ExamplesBuild) -> None:
    out = examples_build.out
    pages = sorted(out.rglob("*.html"))
    assert pages
    broken = []
    checked = 0
    for path in pages:
        if path.name == "404.html" and path.parent == out:
            continue  # served at any depth, so it links from the site root (tested below)
        for tag, attr, url in local_references(path):
            if is_external(url) or url.startswith("#"):
                continue
            assert not url.startswith("/"), (path, url)
            target_path = unquote(urlsplit(url).path)
            target = path.parent / target_path
            checked += 1
            # Links must name files (index.html), since the site is opened from disk.
            if not target.is_file():
                broken.append(f"{path.relative_to(out)}: <{tag} {attr}={url!r}>")
    assert checked > 50
    assert broken == []


def test_internal_resources_are_never_absolute_or_remote(examples_build: ExamplesBuild) -> None:
    out = examples_build.out
    for path in sorted(out.rglob("*.html")):
        if path.name == "404.html" and path.parent == out:
            continue
        root = parse_html(path)
        for el in root.find_all("link") + root.find_all("script") + root.find_all("img"):
            if el.attrs.get("rel") == "canonical":
                continue  # an address for search engines (redirect pages), never fetched
            url = el.attrs.get("href") or el.attrs.get("src") or ""
            assert url and not url.startswith(("/", "http:", "https:", "//")), (path, url)
        for a in root.find_all("a"):
            href = a.attrs.get("href") or ""
            if href.startswith(("http:", "https:")):
                # Remote links are the charters' own links, never pages of this site.
                assert "ml.example.com" not in href, (path, href)


def test_not_found_page_links_from_the_base_path(examples_build: ExamplesBuild) -> None:
    # site.yaml has base_url https://ml.example.com/charters/: the 404 page, shown for
    # a missing path at any depth, reaches the site from its base path.
    refs = local_references(examples_build.out / "404.html")
    assert refs
    for _tag, _attr, url in refs:
        if not url.startswith("#"):
            assert url.startswith("/charters/"), url
            target = examples_build.out / unquote(urlsplit(url).path).removeprefix("/charters/")
            assert target.is_file(), url


# --- determinism -----------------------------------------------------------------------


def test_same_input_gives_the_same_bytes(scratch_project: ScratchProject, tmp_path: Path) -> None:
    write_full_project(scratch_project)
    first = scratch_project.build(tmp_path / "one")
    second = scratch_project.build(tmp_path / "two")
    assert first.ok and second.ok
    # A fresh output folder still reuses the charts of the cache in the source folder.
    assert (first.charts_drawn, second.charts_drawn) == (2, 0)
    one, two = tree_files(tmp_path / "one"), tree_files(tmp_path / "two")
    assert sorted(one) == sorted(two)
    assert [name for name in one if one[name] != two[name]] == []


def test_a_users_matplotlibrc_changes_no_chart(
    scratch_project: ScratchProject, tmp_path: Path
) -> None:
    """matplotlib read a matplotlibrc (MATPLOTLIBRC, the working folder, the user's own)
    on import: a grid or a line width there changed every SVG, while the charts' keys
    did not change, so a no-op build kept the other charts and builds differed by
    machine."""
    write_full_project(scratch_project)
    rc = tmp_path / "rc"
    rc.mkdir()
    (rc / "matplotlibrc").write_text("axes.grid: True\nlines.linewidth: 4\n", encoding="utf-8")
    outs = []
    for name, extra in (("plain", {}), ("rc", {"MATPLOTLIBRC": str(rc)})):
        out = tmp_path / f"site-{name}"
        cache = tmp_path / f"cache-{name}"
        args = ["--source", scratch_project.root, "--out", out, "--cache-dir", cache]
        done = subprocess.run(
            [sys.executable, "-m", "generator", "build", *map(str, args), "--quiet"],
            env={**os.environ, "SOURCE_DATE_EPOCH": "1796000000", **extra},
            capture_output=True,
            text=True,
            check=False,
            cwd=REPO_ROOT,
        )
        assert done.returncode == 0, done.stderr
        outs.append(tree_files(out))
    svgs = [name for name in outs[0] if name.endswith(".svg")]
    assert svgs
    assert [name for name in svgs if outs[0][name] != outs[1][name]] == []


def test_a_site_built_from_a_cache_made_under_another_umask_has_this_ones_modes(
    scratch_project: ScratchProject, tmp_path: Path
) -> None:
    """Site files are hard links to cache entries, and a link shares its file's mode: a
    cache made under `umask 077` made the charts and charter pages of a site built
    under `022` unreadable to a web server running as another user. Changing the mode
    of the shared file instead changed every other site built from the cache."""
    write_full_project(scratch_project)
    cache = tmp_path / "cache"

    def build_under(mask: int, out: Path) -> set[str]:
        args = ["--source", scratch_project.root, "--out", out, "--cache-dir", cache]
        done = subprocess.run(
            [sys.executable, "-m", "generator", "build", *map(str, args), "--quiet"],
            capture_output=True,
            text=True,
            check=False,
            cwd=REPO_ROOT,
            preexec_fn=lambda: os.umask(mask),
        )
        assert done.returncode == 0, done.stderr
        return modes(out)

    def modes(out: Path) -> set[str]:
        files = [p for p in out.rglob("*") if p.is_file()]
        assert any(p.suffix == ".svg" for p in files)
        return {oct(p.stat().st_mode & 0o777) for p in files}

    assert build_under(0o077, tmp_path / "private") == {"0o600"}
    assert build_under(0o022, tmp_path / "public") == {"0o644"}
    assert modes(tmp_path / "private") == {"0o600"}  # left as it was
    assert build_under(0o077, tmp_path / "private-2") == {"0o600"}
    assert modes(tmp_path / "public") == {"0o644"}


# --- nothing is lost -------------------------------------------------------------------


@pytest.fixture
def built(scratch_project: ScratchProject) -> tuple[ScratchProject, dict[str, bytes]]:
    """A project built once (no results, so no charts to draw), with the site's files."""
    scratch_project.charter()
    result = scratch_project.build()
    assert result.ok
    return scratch_project, tree_files(scratch_project.out)


def leftovers(out: Path) -> list[str]:
    return sorted(
        p.name
        for p in out.parent.iterdir()
        if p.name.startswith(f".{out.name}.") and p.name != f".{out.name}.lock"
    )


def test_source_error_leaves_the_previous_site_untouched(
    built: tuple[ScratchProject, dict[str, bytes]],
) -> None:
    project, before = built
    text = project.charter(status="shipped")
    result = run_cli("build", "--source", project.root, "--out", project.out)
    assert result.exit_code == 1
    assert "charters/routing/charter.yaml:3:9: status: " in result.stderr
    assert "nothing was written" in result.stderr
    assert "status: shipped" in text
    assert tree_files(project.out) == before
    assert leftovers(project.out) == []


def test_foreign_folder_is_refused_and_left_alone(
    scratch_project: ScratchProject, tmp_path: Path
) -> None:
    scratch_project.charter()
    out = tmp_path / "documents"
    (out / "thesis").mkdir(parents=True)
    (out / "thesis/chapter1.md").write_text("Years of work.\n")
    (out / "notes.txt").write_text("keep me\n")
    before = tree_files(out)
    result = run_cli("build", "--source", scratch_project.root, "--out", out)
    assert result.exit_code == 1
    assert MANIFEST in result.stderr
    assert "Traceback" not in result.output
    assert tree_files(out) == before
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "thesis"]


def test_empty_folder_is_accepted(scratch_project: ScratchProject, tmp_path: Path) -> None:
    scratch_project.charter()
    out = tmp_path / "empty"
    out.mkdir()
    assert scratch_project.build(out).ok
    assert (out / "index.html").is_file() and (out / MANIFEST).is_file()


@pytest.mark.parametrize(
    "where", ["source", "parent", "charters", "templates", "in templates", "metrics.yaml"]
)
def test_output_folder_that_would_destroy_the_source_is_refused(
    scratch_project: ScratchProject, where: str
) -> None:
    """Also where no templates/ folder or metrics.yaml exists yet: a site written there
    would be read back by the next build as templates (its pages, with charter text in
    them, run as Jinja) or as the catalogue."""
    scratch_project.charter()
    assert not (scratch_project.root / "templates").exists()
    before = tree_files(scratch_project.root)
    out = {
        "source": scratch_project.root,
        "parent": scratch_project.root.parent,
        "charters": scratch_project.root / "charters/site",
        "templates": scratch_project.root / "templates",
        "in templates": scratch_project.root / "templates/site",
        "metrics.yaml": scratch_project.root / "metrics.yaml",
    }[where]
    with pytest.raises(OutputError):
        build(Settings(source=scratch_project.root, out=out))
    result = run_cli("build", "--source", scratch_project.root, "--out", out)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: output folder")
    assert tree_files(scratch_project.root) == before


def test_an_output_path_that_is_a_link_is_refused_by_name(
    scratch_project: ScratchProject, tmp_path: Path
) -> None:
    scratch_project.charter()
    real = tmp_path / "real-site"
    real.mkdir()
    link = tmp_path / "site-link"
    link.symlink_to(real)
    result = run_cli("build", "--source", scratch_project.root, "--out", link)
    assert result.exit_code == 1
    assert (
        f"error: output path {link} is a symbolic link; give the folder it points to ({real})"
        in (result.stderr)
    )
    assert list(real.iterdir()) == []
    real.rmdir()  # a link to nothing: it says so
    result = run_cli("build", "--source", scratch_project.root, "--out", link)
    assert result.exit_code == 1
    assert (
        f"is a symbolic link to {real}, which is no folder (or a link that loops)" in result.stderr
    )


def test_interrupted_write_keeps_the_previous_site(
    built: tuple[ScratchProject, dict[str, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    project, before = built
    project.charter(title="A new title")
    real_place = generator.write.place
    calls = []

    def failing_place(content: Content, target: str | pathlib.Path) -> None:
        calls.append(target)  # the write stage puts each changed file of the new site
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_place(content, target)

    monkeypatch.setattr(generator.write, "place", failing_place)
    result = run_cli("build", "--source", project.root, "--out", project.out)
    monkeypatch.undo()
    assert len(calls) == 2, "the failure was not midway through the files"
    assert result.exit_code == 1
    assert "No space left on device" in result.stderr
    assert "Traceback" not in result.output
    assert tree_files(project.out) == before
    assert leftovers(project.out) == []


def test_interrupt_while_swapping_keeps_the_previous_site(
    built: tuple[ScratchProject, dict[str, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    project, before = built
    project.charter(title="A new title")
    real_rename = pathlib.Path.rename

    def rename(self: pathlib.Path, target: str | os.PathLike[str]) -> pathlib.Path:
        if Path(target) == project.out and self.name.endswith("-new"):
            raise KeyboardInterrupt
        return real_rename(self, target)

    monkeypatch.setattr(generator.write.Path, "rename", rename)
    monkeypatch.setenv(generator.write.FALLBACK_ENV, "1")  # the exchange is one step
    result = run_cli("build", "--source", project.root, "--out", project.out)
    monkeypatch.undo()
    assert result.exit_code == 130
    assert "the previous site is unchanged" in result.stderr
    assert tree_files(project.out) == before
    assert leftovers(project.out) == []


def test_output_folder_given_as_dot(
    scratch_project: ScratchProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch_project.charter()
    out = tmp_path / "site"
    out.mkdir()
    monkeypatch.chdir(out)
    result = run_cli("build", "--source", scratch_project.root, "--out", ".")
    assert "internal error" not in result.stderr
    if result.exit_code == 0:
        assert (out / "index.html").is_file()
    else:
        assert result.exit_code == 1 and result.stderr.startswith("error: output folder")


def test_second_build_reuses_the_charts(scratch_project: ScratchProject) -> None:
    write_full_project(scratch_project)
    first = scratch_project.build()
    before = tree_files(scratch_project.out)
    second = scratch_project.build()
    assert (first.charts_drawn, second.charts_drawn) == (2, 0)
    assert second.charts == 2
    assert tree_files(scratch_project.out) == before


def test_changed_results_redraw_only_that_chart(scratch_project: ScratchProject) -> None:
    write_full_project(scratch_project)
    scratch_project.build()
    before = tree_files(scratch_project.out)
    scratch_project.write(
        "charters/routing/results/ab.csv",
        FULL_RESULTS.replace("2026-05-11,ttfr,treatment,5.1", "2026-05-11,ttfr,treatment,4.8"),
    )
    result = scratch_project.build()
    after = tree_files(scratch_project.out)
    assert result.charts_drawn == 1
    assert (
        after["charters/routing/routing_precision.svg"]
        == before["charters/routing/routing_precision.svg"]
    )
    assert after["charters/routing/ttfr.svg"] != before["charters/routing/ttfr.svg"]


# --- templates -------------------------------------------------------------------------


def test_project_template_extends_the_builtin_one(scratch_project: ScratchProject) -> None:
    scratch_project.charter()
    scratch_project.write(
        "templates/charter.html",
        '{% extends "builtin/charter.html" %}\n'
        '{% block footer %}<p class="house">Owned by the ML council</p>{% endblock %}\n',
    )
    assert scratch_project.build().ok
    charter = page(scratch_project.out, "charters/routing/index.html")
    assert charter.find("p", class_="house").text() == "Owned by the ML council"
    assert charter.find("h1").text() == "Ticket routing"  # the rest is the built-in page
    assert section(charter, "objective")
    index = page(scratch_project.out, "index.html")
    assert not index.find_all("p", class_="house")  # only charter pages were overridden


def test_a_template_that_is_not_utf8_is_a_located_error(
    scratch_project: ScratchProject,
) -> None:
    """A Latin-1 template was an internal error (UnicodeDecodeError), in serve too."""
    scratch_project.charter()
    scratch_project.write(
        "templates/index.html", b'{% extends "builtin/index.html" %}{# caf\xe9 #}'
    )
    result = scratch_project.build()
    assert [d.format_text() for d in result.diagnostics if d.severity == "error"] == [
        "templates/index.html: the template is not UTF-8 text (byte 0xe9 at offset 40)"
    ]
    assert not scratch_project.out.exists()


def test_project_index_template_replaces_the_builtin_one(
    scratch_project: ScratchProject,
) -> None:
    scratch_project.charter()
    scratch_project.write(
        "templates/index.html",
        "<!doctype html><title>Ours</title>"
        "<ul>{% for v in views %}<li class=mine>{{ v.charter.title }}</li>{% endfor %}</ul>\n",
    )
    assert scratch_project.build().ok
    index = page(scratch_project.out, "index.html")
    assert [li.text() for li in index.find_all("li", class_="mine")] == ["Ticket routing"]
    assert not index.find_all("table")


# --- the command line ------------------------------------------------------------------


@pytest.mark.parametrize("args", [["--help"], ["build", "--help"], ["-h"]])
def test_help_exits_0(args: list[str]) -> None:
    result = run_cli(*args)
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_build_help_describes_its_options() -> None:
    output = run_cli("build", "--help").output
    assert "--source" in output and "--out" in output


@pytest.mark.parametrize("args", [["build", "--no-such-option"], ["no-such-command"]])
def test_usage_error_exits_2(args: list[str]) -> None:
    result = run_cli(*args)
    assert result.exit_code == 2


def test_a_build_from_a_folder_without_charters_makes_nothing(tmp_path: Path) -> None:
    # Run from the wrong folder, it said "nothing was written" and left a lock file in
    # that folder (in a project's charters/, committed by the next `git add`) and the
    # missing parent folders of --out.
    source = tmp_path / "notes"
    (source / "drafts").mkdir(parents=True)
    (source / "site.yaml").write_text("title: [T\n", encoding="utf-8")
    out = tmp_path / "deep" / "out"
    result = run_cli("build", "--source", source, "--out", out)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "charters: no charters/ folder: put one folder per project in"
        " charters/<id>/charter.yaml, or pass --source the folder that holds charters/"
    )
    assert lines[1].startswith("site.yaml:2:1: YAML syntax error: ")  # every problem, at once
    assert lines[2:] == [f"error: 2 problems found; nothing was written ({out} is unchanged)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes"]
    assert sorted(p.name for p in source.iterdir()) == ["drafts", "site.yaml"]
    default = run_cli("build", "--source", source)  # site/ beside the source's files
    assert default.exit_code == 1
    assert sorted(p.name for p in source.iterdir()) == ["drafts", "site.yaml"]


def test_a_refused_build_into_a_new_output_folder_makes_nothing_beside_it(
    scratch_project: ScratchProject, tmp_path: Path
) -> None:
    """Bad input and an --out whose parents do not exist: the lock file and the parent
    folders were made, under a message that said nothing was written."""
    scratch_project.charter("alpha", status="shipped")
    out = tmp_path / "new" / "deep" / "site"
    result = run_cli("build", "--source", scratch_project.root, "--out", out)
    assert result.exit_code == 1
    assert "status: the text 'shipped' is not allowed" in result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"error: 1 problem found; nothing was written ({out} is unchanged)"
    )
    assert not (tmp_path / "new").exists()
    # Mended, the same command builds there.
    scratch_project.charter("alpha")
    assert run_cli("build", "--source", scratch_project.root, "--out", out).exit_code == 0
    assert (out / "index.html").is_file()


def test_bad_input_exits_1_with_located_errors(
    scratch_project: ScratchProject, tmp_path: Path
) -> None:
    scratch_project.charter("alpha", status="shipped")
    scratch_project.charter("beta", text=minimal_charter().replace("decrease", "down"))
    out = tmp_path / "site"
    result = run_cli("build", "--source", scratch_project.root, "--out", out)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("charters/alpha/charter.yaml:3:9: status: ")
    assert lines[1].startswith("charters/beta/charter.yaml:13:16: business_metrics[0].direction: ")
    assert lines[-1].startswith("error: 2 problems found; nothing was written")
    assert result.stdout == ""
    assert not out.exists()


def test_success_prints_a_summary(scratch_project: ScratchProject, tmp_path: Path) -> None:
    write_full_project(scratch_project)
    out = tmp_path / "site"
    result = run_cli("build", "--source", scratch_project.root, "--out", out)
    assert result.exit_code == 0, result.output
    summary = result.stdout.strip().splitlines()[-1]
    match = re.search(r"(\d+) charters?: (\d+) pages?, (\d+) charts? .*in (\d+\.\d+) s", summary)
    assert match, summary
    charters, pages, charts, _ = match.groups()
    assert (int(charters), int(charts)) == (3, 2)
    assert int(pages) == len(list(out.rglob("*.html")))
    assert str(out) in summary


def test_missing_source_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("build", "--source", tmp_path / "nope", "--out", tmp_path / "site")
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_real_process_exit_codes_and_no_traceback(
    scratch_project: ScratchProject, tmp_path: Path
) -> None:
    scratch_project.charter()
    out = tmp_path / "site"
    command = [sys.executable, "-m", "generator", "build", "--source", str(scratch_project.root)]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    ok = subprocess.run(
        [*command, "--out", str(out)], capture_output=True, text=True, env=env, timeout=120
    )
    assert ok.returncode == 0, ok.stderr
    assert "Traceback" not in ok.stderr
    assert (out / "index.html").is_file()
    scratch_project.charter(status="no")
    bad = subprocess.run(
        [*command, "--out", str(out)], capture_output=True, text=True, env=env, timeout=120
    )
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr
    assert "charters/routing/charter.yaml:3:9: status: " in bad.stderr
    refused = subprocess.run(
        [*command, "--out", str(scratch_project.root)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert refused.returncode == 1
    assert "Traceback" not in refused.stderr
    assert refused.stderr.startswith("error: ")


# --- the shipped examples --------------------------------------------------------------


def test_every_example_charter_has_a_page_and_charts(examples_build: ExamplesBuild) -> None:
    out = examples_build.out
    folders = sorted(p for p in (REPO_ROOT / "charters").iterdir() if p.is_dir())
    assert len(folders) >= 5
    without_charts = []
    for folder in folders:
        charter_page = out / "charters" / folder.name / "index.html"
        assert charter_page.is_file(), folder.name
        title = yaml.safe_load((folder / "charter.yaml").read_text())["title"]
        root = parse_html(charter_page)
        assert root.find("h1").text() == title
        charts = list((out / "charters" / folder.name).glob("*.svg"))
        if not charts:
            without_charts.append(folder.name)
        assert len(root.find("section", id="results").find_all("img")) == len(charts)
    # Only a proposed charter that has no results yet goes without a chart.
    assert without_charts == ["review-summarisation"]
    proposed = REPO_ROOT / "charters/review-summarisation"
    assert yaml.safe_load((proposed / "charter.yaml").read_text())["status"] == "proposed"
    assert not list(proposed.rglob("results/*"))


def test_examples_portfolio_links_every_charter(examples_build: ExamplesBuild) -> None:
    index = parse_html(examples_build.out / "index.html")
    hrefs = {a.attrs["href"] for a in index.find_all("a")}
    for folder in (REPO_ROOT / "charters").iterdir():
        assert f"charters/{folder.name}/index.html" in hrefs
    count = sum(1 for p in (REPO_ROOT / "charters").iterdir() if p.is_dir())
    assert f"Built {count} charters" in examples_build.stdout


def test_a_build_says_how_many_rule_errors_its_pages_show(
    scratch_project: ScratchProject, tmp_path: Path
) -> None:
    """A build succeeded without a word about the rule findings of severity error that make
    `charters check` (the CI step before the deploy) fail; it counts them, a no-op build
    too, and says nothing when there are none."""
    write_full_project(scratch_project)
    root, out = scratch_project.root, tmp_path / "site"
    checked = run_cli("check", "--source", root, "--format", "json")
    assert checked.exit_code == 1
    errors = json.loads(checked.stdout)["summary"]["errors"]
    assert errors >= 1
    them = "it" if errors == 1 else "them"
    counted = f"{errors} rule error{'s' if errors > 1 else ''}"
    line = f"note: {counted} on the charters' pages: `charters check` fails on {them}"
    for _ in range(2):  # a full build, then a no-op one
        built = run_cli("build", "--source", root, "--out", out)
        assert built.exit_code == 0, built.output
        assert built.stderr.splitlines() == [line]
    assert "nothing changed" in built.stdout
    # --quiet leaves out the summary, not the problem (it said nothing at all).
    hushed = run_cli("build", "--source", root, "--out", out, "--quiet")
    assert hushed.exit_code == 0 and hushed.stdout == ""
    assert hushed.stderr.splitlines() == [line]
    scratch_project.write("site.yaml", "title: Portfolio\nlint: {disable: [MC104, MC108]}\n")
    quiet = run_cli("build", "--source", root, "--out", out)
    assert quiet.exit_code == 0 and quiet.stderr == "", quiet.stderr


@pytest.mark.parametrize("in_place", [False, True], ids=["new-folder", "in-place"])
def test_a_build_reads_the_sites_manifest_once_and_keeps_what_the_user_put_there(
    scratch_project: ScratchProject, monkeypatch: pytest.MonkeyPatch, in_place: bool
) -> None:
    # The manifest lists every file the previous build wrote (2.6 MB at 1,000 charters).
    # A build reads it as it begins, holding the output's lock to its end, and the write
    # stage works from that reading: the user's own file in the folder is kept, the page
    # of a charter that is gone is removed.
    scratch_project.charter("routing")
    scratch_project.charter("triage")
    out = scratch_project.out
    assert build(Settings(source=scratch_project.root, out=out, in_place=in_place)).ok
    (out / "notes.txt").write_text("mine")
    (scratch_project.root / "charters" / "triage" / "charter.yaml").unlink()
    (scratch_project.root / "charters" / "triage").rmdir()
    reads: list[Path] = []
    real_read = generator.write.read_manifest

    def counted(folder: Path) -> dict[str, object]:
        if folder == out:
            reads.append(folder)
        return real_read(folder)

    monkeypatch.setattr(generator.write, "read_manifest", counted)
    monkeypatch.setattr("generator.build.read_manifest", counted)
    assert build(Settings(source=scratch_project.root, out=out, in_place=in_place)).ok
    assert len(reads) == 1
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "charters" / "routing" / "index.html").is_file()
    assert not (out / "charters" / "triage").exists()


FREEZE_PROBE = """
import atexit, gc, runpy, sys
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0))
sys.argv = ["charters", *sys.argv[1:]]
runpy.run_module("generator", run_name="__main__")
"""


def test_the_command_leaves_what_a_build_made_to_the_process_end_not_the_collector(
    scratch_project: ScratchProject, tmp_path: Path
) -> None:
    """`charters` as a process (the installed command is `generator.cli:run`, as is
    `python -m generator`) moves what the command made out of the cyclic collector's
    reach before the interpreter exits, whose last collection walked every object of a
    build (0.15 s at 1,000 charters): the atexit handlers still run, the site is whole."""
    import tomllib

    scripts = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["charters"] == "generator.cli:run"
    write_full_project(scratch_project)
    out = tmp_path / "site"
    args = ["build", "--source", scratch_project.root, "--out", out, "--cache-dir", tmp_path / "c"]
    done = subprocess.run(
        [sys.executable, "-c", FREEZE_PROBE, *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "frozen at exit: True"
    assert done.stdout.startswith("Built ")
    assert (out / "index.html").read_text(encoding="utf-8").rstrip().endswith("</html>")
