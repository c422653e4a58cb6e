"""The pages across projects, as a reader meets them: a catalogued metric with its forest
plot, the metrics index, a team and the teams index, and the links to them.

Expected lifts are worked out here from the example result files with textbook formulas
(the one in test_chart_pages.py), not taken from the generator.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import date

from helpers import REPO_ROOT, Element, ExamplesBuild, ScratchProject, parse_html

from generator.charts import ForestRow, describe_forest, forest_spec, render_svg
from generator.formatting import fmt_estimate, fmt_signed

SVG = "{http://www.w3.org/2000/svg}"


def two_proportion(
    control: dict[str, str], treatment: dict[str, str]
) -> tuple[float, float, float]:
    """Lift of two % rows in points, with its 95% interval (Newcombe's hybrid score
    interval, by statsmodels)."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    pc, nc = float(control["value"]) / 100, int(control["n"])
    pt, nt = float(treatment["value"]) / 100, int(treatment["n"])
    low, high = confint_proportions_2indep(pt * nt, nt, pc * nc, nc, method="newcomb")
    lift = float(treatment["value"]) - float(control["value"])
    return lift, float(low) * 100, float(high) * 100


def page(build: ExamplesBuild, path: str) -> Element:
    return parse_html(build.out / path)


def latest_pair(charter: str, name: str, metric: str) -> tuple[dict[str, str], dict[str, str]]:
    with (REPO_ROOT / "charters" / charter / "results" / name).open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["metric"] == metric]
    day = max(r["date"] for r in rows)
    arms = {r["variant"]: r for r in rows if r["date"] == day}
    return arms["control"], arms["treatment"]


def expected_lift(charter: str, name: str) -> str:
    lift, low, high = two_proportion(*latest_pair(charter, name, "search_conversion"))
    interval = f"(95% CI {fmt_signed(low, '%')} to {fmt_signed(high, '%')})"
    return f"{fmt_estimate(lift, low, high, '%')} {interval}"


def cells(row: Element) -> list[str]:
    return [" ".join(c.text().split()) for c in row.find_all() if c.tag in ("th", "td")]


def test_a_metric_page_shows_its_definition_agreement_and_every_claim(
    examples_build: ExamplesBuild,
) -> None:
    doc = page(examples_build, "metrics/search_conversion/index.html")
    assert doc.find("h1").text() == "Search session conversion"
    assert doc.find("dd", class_="metric-definition").text() == (
        "Share of sessions with at least one search that place an order within 24 hours."
    )
    agreed = " ".join(doc.find("dd", class_="metric-agreed").text().split())
    assert agreed == "VP E-commerce, Head of Digital Analytics on 2026-03-02"
    search = cells(doc.find("tr", id="claim-search-ranking"))
    auto = cells(doc.find("tr", id="claim-query-autocomplete"))
    # Baseline → latest (treatment arm, newest date) → target, from the charters and CSVs.
    assert search[0].startswith("Search ranking with a neural re-ranker")
    assert "Retired" in search[1] and "Business impact" in search[2]
    assert "Guardrail breached" in search[2]
    assert search[3] == "3.1% → 3.37% → 3.6%latest 2026-06-21"  # the date is a .sub line
    assert auto[3] == "3.12% → 3.22% → 3.3%latest 2026-11-08"
    assert "In experiment" in auto[1]
    # Progress: (3.22 − 3.12) / (3.30 − 3.12) of the way.
    assert "55.6% of the way" in auto[4] and "Improved" in auto[4]
    assert search[5].startswith("+0.240 pp95% CI +0.153 pp to +0.326 pp")
    assert auto[6] == "VP E-commerce, Head of Searchon 2026-10-05"


def test_the_forest_plot_alt_text_and_table_name_each_projects_lift(
    examples_build: ExamplesBuild,
) -> None:
    figure = page(examples_build, "metrics/search_conversion/index.html").find(
        "figure", id="chart-forest"
    )
    alt = figure.find("img").attrs["alt"] or ""
    search = expected_lift("search-ranking", "holdout-weekly.csv")
    auto = expected_lift("query-autocomplete", "ab-test.csv")
    assert search == "+0.240 pp (95% CI +0.153 pp to +0.326 pp)"
    assert f"Search ranking with a neural re-ranker {search} on 2026-06-21" in alt
    assert f"Query autocomplete from purchase-weighted queries {auto} on 2026-11-08" in alt
    assert alt.startswith("Forest plot of the latest lift over control of Search session")
    assert "2 projects" in alt and "Higher is better." in alt
    rows = [cells(r) for r in figure.find("tbody").find_all("tr")]
    lift, low, high = two_proportion(*latest_pair("query-autocomplete", "ab-test.csv",
                                                     "search_conversion"))  # fmt: skip
    assert rows[0] == [
        "Query autocomplete from purchase-weighted queries",
        "2026-11-08",
        fmt_estimate(lift, low, high, "%"),  # as the alt text writes it (review)
        f"{fmt_signed(low, '%')} to {fmt_signed(high, '%')}",
    ]
    assert rows[1][:3] == ["Search ranking with a neural re-ranker", "2026-06-21", "+0.240 pp"]
    src = figure.find("img").attrs["src"]
    assert src == "forest.svg"
    assert (examples_build.out / "metrics/search_conversion/forest.svg").is_file()


def test_the_forest_svg_draws_one_interval_per_project_and_is_deterministic(
    examples_build: ExamplesBuild,
) -> None:
    svg = (examples_build.out / "metrics/search_conversion/forest.svg").read_bytes()
    root = ET.fromstring(svg)
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert any("Search ranking with a neural" in t for t in texts)
    assert "lift over control (pp)" in texts
    spec = forest_spec(
        "Search session conversion",
        "%",
        "increase",
        [
            ForestRow("A", date(2026, 1, 4), 0.2, 0.1, 0.3),
            ForestRow("B", date(2026, 1, 4), -0.1, None, None),
        ],
    )
    assert spec is not None
    first = render_svg(spec, chart_id="t")
    assert first == render_svg(spec, chart_id="t")
    assert "A +0.2 pp (95% CI +0.1 pp to +0.3 pp) on 2026-01-04; B −0.1 pp on 2026-01-04" in (
        describe_forest(spec)
    )
    assert forest_spec("x", "%", "increase", []) is None


def test_revenue_per_search_draws_both_projects(examples_build: ExamplesBuild) -> None:
    doc = page(examples_build, "metrics/revenue_per_search/index.html")
    alt = doc.find("figure", id="chart-forest").find("img").attrs["alt"] or ""
    assert "Search ranking with a neural re-ranker +0.120 USD" in alt
    assert "Query autocomplete from purchase-weighted queries +0.030 USD" in alt


def test_a_metric_without_lifts_says_so_and_draws_no_forest(
    scratch_project: ScratchProject,
) -> None:
    scratch_project.write(
        "metrics.yaml",
        "- id: ttfr\n  name: Time to first response\n  definition: Median hours to first"
        " reply.\n  unit: hours\n  direction: decrease\n",
    )
    scratch_project.charter(
        business_metrics="\n  - ref: ttfr\n    baseline: {value: 6.2}\n    target: {value: 4.5}",
        team="Support & Ops",
    )
    result = scratch_project.build()
    assert result.ok, result.diagnostics
    out = scratch_project.out
    doc = parse_html(out / "metrics/ttfr/index.html")
    assert doc.find("section", id="lifts").find("p").text().startswith("No project has a lift")
    assert not (out / "metrics/ttfr/forest.svg").exists()
    row = cells(doc.find("tr", id="claim-routing"))
    assert row[3] == "6.2 hours → — → 4.5 hours"
    team = parse_html(out / "teams/support-ops/index.html")
    assert team.find("h1").text() == "Support & Ops"


def test_the_metrics_index_lists_each_catalogued_metric(examples_build: ExamplesBuild) -> None:
    doc = page(examples_build, "metrics/index.html")
    row = cells(doc.find("tr", id="metric-revenue_per_search"))
    assert row[0].startswith("Revenue per search session")
    assert row[2] == "Finance Business Partner"
    projects = (
        "Query autocomplete from purchase-weighted queries, Search ranking with a neural re-ranker"
    )
    assert row[3] == "2" + projects  # the count, then the titles on a .sub line
    link = doc.find("tr", id="metric-revenue_per_search").find("a").attrs["href"]
    assert link == "revenue_per_search/index.html"


def test_a_team_page_lists_its_projects_and_verdicts(examples_build: ExamplesBuild) -> None:
    doc = page(examples_build, "teams/search-discovery/index.html")
    assert doc.find("h1").text() == "Search & Discovery"
    stats = " ".join(doc.find("ul", class_="verdicts").text().split())
    assert stats == "2 projects Business impact 2"
    alerts = doc.find("ul", class_="alerts")
    assert alerts.attrs["aria-label"] == "Projects with an alert"
    # search-ranking's breached guardrail was a badge in its row only (review).
    assert " ".join(alerts.text().split()) == "Alert Results overdue 1 Guardrail breached 1"
    auto = cells(doc.find("tr", id="project-query-autocomplete"))
    # Its newest weekly results are four weeks old on the day the examples are built as of.
    assert auto[:4] == [
        "Query autocomplete from purchase-weighted queries", "In experiment",
        "Business impact Results overdue", "Priya Natarajan",
    ]  # fmt: skip
    overdue = doc.find("tr", id="project-query-autocomplete").find("a", class_="results-overdue")
    assert overdue.attrs["href"] == "../../charters/query-autocomplete/index.html#findings"
    ranking = cells(doc.find("tr", id="project-search-ranking"))
    assert ranking[2] == "Business impact Guardrail breached"
    assert "Search session conversion: 3.12% → 3.22% → 3.3%" in auto[4]
    assert "Revenue per search session: 2.42 USD → 2.46 USD → 2.55 USD" in auto[4]
    index = page(examples_build, "teams/index.html")
    assert cells(index.find("tr", id="team-search-discovery")) == [
        "Search & Discovery", "2", "Business impact 2", "Results overdue 1", "Breached 1",
    ]  # fmt: skip
    assert cells(index.find("tr", id="team-growth-analytics"))[2:] == ["No impact 1", "—", "—"]
    assert len(index.find("tbody").find_all("tr")) == 7


def test_charter_pages_and_the_portfolio_link_to_metric_and_team_pages(
    examples_build: ExamplesBuild,
) -> None:
    charter = page(examples_build, "charters/search-ranking/index.html")
    hrefs = {a.attrs.get("href") for a in charter.find_all("a")}
    assert "../../metrics/search_conversion/index.html" in hrefs
    assert "../../teams/search-discovery/index.html" in hrefs
    assert "../../metrics/index.html" in hrefs and "../../teams/index.html" in hrefs
    home = page(examples_build, "index.html")
    assert "teams/search-discovery/index.html" in {a.attrs.get("href") for a in home.find_all("a")}
    # A charter without catalogued metrics links no metric page from its table.
    routing = page(examples_build, "charters/support-ticket-routing/index.html")
    metric_links = [
        a.attrs.get("href") or ""
        for a in routing.find("section", id="business-metrics").find_all("a")
    ]
    assert not any("metrics/" in h for h in metric_links)


def test_a_long_team_name_gets_a_short_distinct_page_name() -> None:
    from generator.portfolio import MAX_SLUG, slug

    long_a = "Search " + "and ranking " * 30 + "north"
    long_b = "Search " + "and ranking " * 30 + "south"
    assert slug("Support Engineering") == "support-engineering"
    assert len(slug(long_a)) <= MAX_SLUG and len(slug(long_b)) <= MAX_SLUG
    assert slug(long_a) != slug(long_b)
    assert slug(long_a).startswith("search-and-ranking-")


def test_teams_and_tags_that_differ_only_in_case_are_judged_the_same_on_every_run(
    scratch_project: ScratchProject,
) -> None:
    """A set's order changes with the interpreter's hash seed; which spelling of a team
    written three ways is the usual one (a tie: the first charter's) must not."""
    for n, name in enumerate(["Core", "core", "CORE"]):
        scratch_project.charter(f"c{n}", title=f"Project {n}", team=name, tags=[name])
    outputs = []
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "SOURCE_DATE_EPOCH": "1793491200"}
        cmd = [sys.executable, "-m", "generator", "check", "--source", str(scratch_project.root)]
        run = subprocess.run(cmd, env=env, cwd=REPO_ROOT, capture_output=True, text=True)
        assert run.returncode == 1
        outputs.append(run.stdout)
    assert outputs[0] == outputs[1] == outputs[2]
    assert [line.split(": ")[0] for line in outputs[0].splitlines() if "looks like" in line] == [
        "charters/c1/charter.yaml:21:7",
        "charters/c1/charter.yaml:23:5",
        "charters/c2/charter.yaml:21:7",
        "charters/c2/charter.yaml:23:5",
    ]
    assert "looks like 'Core', the team of charter 'c0'" in outputs[0]


def test_team_tables_name_each_cell_for_their_phone_cards(examples_build: ExamplesBuild) -> None:
    """On a phone these tables are cards without their header row: each cell shows (and
    reads out) its column's name from `data-label`, as the portfolio's cells do."""
    for rel in ("teams/index.html", "teams/payments-risk/index.html"):
        html = (examples_build.out / rel).read_text(encoding="utf-8")
        cells = re.findall(r"<td[^>]*>", html)
        assert cells and all("data-label=" in cell for cell in cells), rel


def test_the_rules_page_renders_the_rationales_markdown(examples_build: ExamplesBuild) -> None:
    html = (examples_build.out / "rules/index.html").read_text(encoding="utf-8")
    assert "`" not in html
    assert "once past <code>proposed</code>" in html


def test_the_portfolios_verdict_counts_add_up_to_its_projects_and_alerts_stand_apart(
    examples_build: ExamplesBuild,
) -> None:
    """Every project has one verdict, so the verdicts' counts add up to the projects; a
    project whose results are overdue keeps its verdict, so that alert is counted in a
    list of its own (four of the nine examples: in it, they read as a fifth verdict)."""
    home = page(examples_build, "index.html")
    projects = len([tr for tr in home.find_all("tr") if "data-id" in tr.attrs])
    assert projects == 9
    verdicts = home.find("ul", **{"aria-label": "Projects by verdict"})
    counts = [int(li.find("strong").text()) for li in verdicts.find_all("li")]
    assert sum(counts) == projects
    assert "overdue" not in verdicts.text()
    alerts = home.find("ul", **{"aria-label": "Projects with an alert"})
    assert " ".join(alerts.text().split()) == "Alert 4 Results overdue 1 Guardrail breached"
    overdue, breached = alerts.find_all("span", class_="count-filter")
    assert (overdue.attrs["data-filter"], overdue.attrs["data-value"]) == ("alert", "overdue")
    # A breached guardrail (search-ranking's) was counted nowhere at the top (review).
    assert (breached.attrs["data-filter"], breached.attrs["data-value"]) == ("alert", "breached")
    rows = [tr for tr in home.find_all("tr") if "breached" in tr.attrs.get("data-alerts", "")]
    assert [tr.attrs["data-id"] for tr in rows] == ["search-ranking"]


def test_a_breached_guardrail_frames_the_verdict_box_in_red(examples_build: ExamplesBuild) -> None:
    """The verdict keeps its colour (its stripe), but a green box alone would read as good
    news beside a breached guardrail: the box is marked so its frame is red."""
    boxes = {
        name: page(examples_build, f"charters/{name}/index.html").find("div", class_="verdict-box")
        for name in ("search-ranking", "card-fraud-detection")
    }
    ranking = boxes["search-ranking"].attrs["class"].split()
    assert ranking == ["verdict-box", "verdict-box-business-impact", "verdict-box-breached"]
    assert "Guardrail breached" in boxes["search-ranking"].text()
    fraud = boxes["card-fraud-detection"].attrs["class"].split()
    assert fraud == ["verdict-box", "verdict-box-business-impact"]
    css = (examples_build.out / "static/style.css").read_text(encoding="utf-8")
    rule = re.search(r"\.verdict-box-breached \{([^}]*)\}", css)
    assert rule is not None and "border-top-color: var(--bad)" in rule.group(1)


def test_a_baseline_or_target_is_never_split_from_its_unit_on_the_portfolio(
    examples_build: ExamplesBuild,
) -> None:
    """The portfolio's column is narrow: "→ 1.5" at a line's end and "USD" under it read as
    two things. The latest value (bold), the baseline and the target each keep their unit."""
    home = page(examples_build, "index.html")
    row = next(tr for tr in home.find_all("tr") if tr.attrs.get("data-id") == "invoice-extraction")
    trios = row.find_all("span", class_="trio")
    assert [[v.text() for v in trio.find_all("span", class_="v")] for trio in trios] == [
        ["3.8 USD", "1.5 USD"], ["52 hours", "24 hours"],
    ]  # fmt: skip
    css = (examples_build.out / "static/style.css").read_text(encoding="utf-8")
    assert ".portfolio .trio .v, .portfolio time { white-space: nowrap; }" in css


def test_a_lift_older_than_the_latest_value_is_dated_in_the_metrics_table(
    examples_build: ExamplesBuild,
) -> None:
    """Card fraud's experiment ended on 2026-04-19 and production rows go on to
    2026-10-31: the Lift vs control cell beside the latest value says which week its
    lift is of, as the evidence sentence does; a lift of the latest date is not dated."""
    fraud = page(examples_build, "charters/card-fraud-detection/index.html")
    row = fraud.find("tr", id="metric-chargeback_rate")
    assert cells(row)[3] == "0.093%2026-10-31"
    lift = cells(row)[6]
    # The estimate with its interval's decimals: "−0.03" read rounder than its interval.
    assert lift.startswith("−0.0300 pp95% CI −0.0364 pp to −0.0236 pp") and lift.endswith(
        "· p < 0.001 · on 2026-04-19"
    ), lift
    ranking = page(examples_build, "charters/search-ranking/index.html")
    lift = cells(ranking.find("tr", id="metric-search_conversion"))[6]
    assert lift.endswith("p < 0.001") and " on " not in lift, lift
    # On a phone neither the date nor "p < 0.001" is broken across two lines.
    html = (examples_build.out / "charters/card-fraud-detection/index.html").read_text("utf-8")
    assert 'vs control on <span class="nowrap">2026-04-19</span>, 95% CI' in html
    assert '<span class="nowrap">p &lt; 0.001</span>' in html


def test_the_portfolio_says_the_date_it_judged_by_and_when_staleness_is_off(
    scratch_project: ScratchProject,
) -> None:
    """A site not rebuilt for weeks says how old its verdicts are; one whose staleness
    rule is switched off for the site says that nothing is judged overdue."""
    scratch_project.charter()
    scratch_project.write("site.yaml", "title: Portfolio\n")
    assert scratch_project.build().ok
    line = parse_html(scratch_project.out / "index.html").find("p", class_="as-of").text()
    assert line.startswith("Verdicts and alerts as of ") and line.endswith(
        ", the date of this build."
    )
    scratch_project.write("site.yaml", "title: Portfolio\nlint: {disable: [MC109]}\n")
    assert scratch_project.build().ok
    line = parse_html(scratch_project.out / "index.html").find("p", class_="as-of").text()
    assert line.endswith(
        ", the date of this build; whether results are overdue is not judged (MC109 is"
        " switched off in site.yaml)."
    )
