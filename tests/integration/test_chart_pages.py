"""The charts of the shipped examples as a reader meets them: lift-over-time charts,
guardrail tolerance lines and breaches, and the data tables under the charts.

Expected numbers are worked out here from the example result files with textbook
formulas, not taken from the generator, so a wrong number on a page fails.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from helpers import REPO_ROOT, Element, ExamplesBuild, parse_html

from generator.formatting import fmt_estimate, fmt_number, fmt_p, fmt_signed

SVG = "{http://www.w3.org/2000/svg}"
Z = 1.959963984540054


def charter_page(build: ExamplesBuild, charter: str) -> Element:
    return parse_html(build.out / "charters" / charter / "index.html")


def rows_of(charter: str, name: str) -> list[dict[str, str]]:
    with (REPO_ROOT / "charters" / charter / "results" / name).open(newline="") as f:
        return list(csv.DictReader(f))


def svg_root(build: ExamplesBuild, path: str) -> ET.Element:
    return ET.fromstring((build.out / path).read_bytes())


def group(root: ET.Element, gid: str) -> ET.Element | None:
    return next((el for el in root.iter(f"{SVG}g") if el.get("id") == gid), None)


def svg_texts(root: ET.Element) -> list[str]:
    return ["".join(el.itertext()) for el in root.iter(f"{SVG}text")]


def table_rows(figure: Element) -> list[list[str]]:
    body = figure.find("tbody")
    return [[td.text() for td in tr.find_all("td")] for tr in body.find_all("tr")]


# --- which metrics get a lift chart ----------------------------------------------------

# Metrics with control and treatment rows on the same dates and a measure of their
# noise (n, std or an interval), by example charter. Search p95 latency has pairs but
# no measure of noise: no lift, so no lift chart (its chart shows both arms).
EXPECTED_LIFT_CHARTS = {
    # suggestion_acceptance is measured in the treatment arm only: no lift.
    "agent-reply-suggestions": {"handle_minutes", "reopen_rate"},
    "search-ranking": {"search_conversion", "revenue_per_search", "ndcg_at_10", "zero_result_rate"},
    "query-autocomplete": {"search_conversion", "revenue_per_search"},
    "support-ticket-routing": {"resolution_hours", "routing_precision", "csat"},
    "card-fraud-detection": {
        "chargeback_rate",
        "false_decline_rate",
        "manual_review_rate",
        "precision_at_decline",
        "recall_at_1pct_fpr",
    },
    "churn-prediction": {"arpu", "discount_cost_per_customer", "monthly_churn_rate"},
    "demand-forecasting": {"abs_bias", "wape"},
    "invoice-extraction": set(),  # production figures only, no control arm
    "review-summarisation": set(),  # no results
}


@pytest.mark.parametrize("charter", sorted(EXPECTED_LIFT_CHARTS))
def test_a_lift_chart_for_each_experiment_metric_and_no_other(
    examples_build: ExamplesBuild, charter: str
) -> None:
    folder = examples_build.out / "charters" / charter
    lifts = {p.name.removesuffix("-lift.svg") for p in folder.glob("*-lift.svg")}
    assert lifts == EXPECTED_LIFT_CHARTS[charter]
    page = charter_page(examples_build, charter)
    figures = {f.attrs["id"] for f in page.find_all("figure", class_="chart-lift")}
    assert figures == {f"chart-{metric}-lift" for metric in lifts}
    for metric in lifts:
        img = page.find("figure", id=f"chart-{metric}-lift").find("img")
        assert img.attrs["src"] == f"{metric}-lift.svg"
        assert (img.attrs["alt"] or "").startswith("Line chart of the lift of ")


def test_metrics_without_a_control_arm_have_no_lift_chart(examples_build: ExamplesBuild) -> None:
    churn = examples_build.out / "charters/churn-prediction"
    assert (churn / "auc_roc.svg").is_file()  # production rows only
    assert not (churn / "auc_roc-lift.svg").exists()
    assert not (examples_build.out / "charters/search-ranking/p95_latency_ms-lift.svg").exists()


# --- what the lift chart and its table say ------------------------------------------------


def two_proportion(control: dict[str, str], treatment: dict[str, str]) -> tuple[float, ...]:
    """Lift in points, its 95% interval (Newcombe's hybrid score interval, by statsmodels)
    and the pooled z-test p-value, of two % rows."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    pc, nc = float(control["value"]) / 100, int(control["n"])
    pt, nt = float(treatment["value"]) / 100, int(treatment["n"])
    low, high = confint_proportions_2indep(pt * nt, nt, pc * nc, nc, method="newcomb")
    pooled = (pt * nt + pc * nc) / (nt + nc)
    se = math.sqrt(pooled * (1 - pooled) * (1 / nt + 1 / nc))
    p_value = math.erfc(abs(pt - pc) / se / math.sqrt(2))
    lift = float(treatment["value"]) - float(control["value"])
    return lift, float(low) * 100, float(high) * 100, p_value


def wilson(p: float, n: int) -> tuple[float, float]:
    """Wilson's 95% score interval of a proportion p of n (E. B. Wilson, 1927):
    (p + z²/2n ± z·√(p(1 − p)/n + z²/4n²)) / (1 + z²/n)."""
    centre = p + Z**2 / (2 * n)
    spread = Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    return (centre - spread) / (1 + Z**2 / n), (centre + spread) / (1 + Z**2 / n)


def conversion_pairs() -> list[tuple[dict[str, str], dict[str, str]]]:
    rows = [
        r
        for r in rows_of("search-ranking", "holdout-weekly.csv")
        if r["metric"] == "search_conversion"
    ]
    control = {r["date"]: r for r in rows if r["variant"] == "control"}
    return [(control[r["date"]], r) for r in rows if r["variant"] == "treatment"]


def test_lift_table_has_date_lift_interval_and_p_value(examples_build: ExamplesBuild) -> None:
    figure = charter_page(examples_build, "search-ranking").find(
        "figure", id="chart-search_conversion-lift"
    )
    table = table_rows(figure)
    pairs = conversion_pairs()
    assert len(table) == len(pairs) == 8
    for cells, (control, treatment) in zip(table, pairs, strict=True):
        lift, low, high, p_value = two_proportion(control, treatment)
        assert cells[0] == treatment["date"]
        assert cells[1] == fmt_estimate(lift, low, high, "%")
        assert cells[2] == f"{fmt_signed(low, '%')} to {fmt_signed(high, '%')}"
        assert cells[4] == fmt_p(p_value)
        assert cells[5] == "two-proportion"
    assert table[0][:3] == ["2026-05-03", "+0.210 pp", "+0.123 pp to +0.295 pp"]
    assert table[0][4] == "< 0.001"  # 1.24e-06 said nothing more; 0, where it underflows, lied


def test_lift_alt_text_names_the_latest_lift_and_its_interval(
    examples_build: ExamplesBuild,
) -> None:
    page = charter_page(examples_build, "search-ranking")
    alt = page.find("figure", id="chart-search_conversion-lift").find("img").attrs["alt"] or ""
    lift, low, high, _ = two_proportion(*conversion_pairs()[-1])
    interval = f"(95% CI {fmt_signed(low, '%')} to {fmt_signed(high, '%')})"
    latest = f"{fmt_estimate(lift, low, high, '%')} {interval}"
    assert f"to 2026-06-21: latest {latest}" in alt
    assert latest == "+0.240 pp (95% CI +0.153 pp to +0.326 pp)"
    # The plan's MDE is 5% relative to the 3.10% baseline: 0.155 points, good side up.
    assert "Minimum detectable effect at +0.155 pp" in alt
    routing = charter_page(examples_build, "support-ticket-routing")
    alt = routing.find("figure", id="chart-resolution_hours-lift").find("img").attrs["alt"] or ""
    # The ML-only example of docs/check.md: the interval includes zero.
    assert "latest −0.200 hours (95% CI −0.887 hours to +0.487 hours)" in alt
    assert "Lower is better." in alt and "Minimum detectable effect at −1 hour" in alt


def test_lift_svg_draws_the_zero_line_and_the_mde(examples_build: ExamplesBuild) -> None:
    root = svg_root(examples_build, "charters/search-ranking/search_conversion-lift.svg")
    texts = svg_texts(root)
    assert "No effect" in texts
    assert texts.count("MDE +0.155 pp") == 2  # legend and line label
    assert "treatment − control" in texts and "95% interval" in texts
    assert "lift (pp)" in texts
    assert group(root, "tolerance-line") is None


_RENDER_AGAIN = """
import hashlib, sys
from pathlib import Path
from generator.analyze import analyze_project, mde_threshold
from generator.charts import lift_spec, render_svg
from generator.load import load_project

project, _ = load_project(Path(sys.argv[1]))
view = next(v for v in analyze_project(project) if v.id == "search-ranking")
metric = view.metric("search_conversion")
mde = mde_threshold(view.charter.measurement.minimum_detectable_effect, metric.id, metric.baseline)
svg = render_svg(lift_spec(metric, mde), chart_id="search-ranking-search_conversion-lift")
sys.stdout.write(hashlib.sha256(svg.encode()).hexdigest())
"""


def test_lift_svg_is_the_same_bytes_when_drawn_again_elsewhere(
    examples_build: ExamplesBuild,
) -> None:
    built = (examples_build.out / "charters/search-ranking/search_conversion-lift.svg").read_bytes()
    env = {**os.environ, "PYTHONHASHSEED": "977", "MPLBACKEND": "Agg"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    again = subprocess.run(
        [sys.executable, "-c", _RENDER_AGAIN, str(examples_build.source)],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(REPO_ROOT),
        timeout=120,
        check=True,
    )
    assert again.stdout == hashlib.sha256(built).hexdigest()


# --- guardrails: tolerance line and breaches -------------------------------------------


def test_breached_guardrail_chart_draws_its_limit_and_marks_each_breach(
    examples_build: ExamplesBuild,
) -> None:
    root = svg_root(examples_build, "charters/search-ranking/p95_latency_ms.svg")
    line = group(root, "tolerance-line")
    marks = group(root, "breach-markers")
    assert line is not None and marks is not None
    rows = [
        r
        for r in rows_of("search-ranking", "holdout-weekly.csv")
        if r["metric"] == "p95_latency_ms"
    ]
    control = {r["date"]: float(r["value"]) for r in rows if r["variant"] == "control"}
    beyond = [
        r
        for r in rows
        if r["variant"] == "treatment" and float(r["value"]) - control[r["date"]] > 20
    ]
    assert len(beyond) == 8  # the latency guardrail is breached every week
    assert len(list(marks.iter(f"{SVG}use"))) == len(beyond)  # one cross per breach
    texts = svg_texts(root)
    assert "Beyond tolerance" in texts
    assert "Tolerance (control + 20 ms)" in texts
    alt = charter_page(examples_build, "search-ranking").find("figure", id="chart-p95_latency_ms")
    text = alt.find("img").attrs["alt"] or ""
    assert "Tolerance (control + 20 ms): beyond it on 8 of 8 dates" in text
    assert "latest 2026-06-21 at 278 against a limit of 262" in text


def test_guardrail_within_tolerance_has_a_limit_and_no_breach(
    examples_build: ExamplesBuild,
) -> None:
    root = svg_root(examples_build, "charters/search-ranking/zero_result_rate.svg")
    assert group(root, "tolerance-line") is not None
    assert group(root, "breach-markers") is None
    assert "Beyond tolerance" not in svg_texts(root)
    page = charter_page(examples_build, "search-ranking")
    alt = page.find("figure", id="chart-zero_result_rate").find("img").attrs["alt"] or ""
    assert alt.endswith("Tolerance (control + 0.3 pp): within it on every date.")


def test_metric_charts_other_than_guardrails_have_no_tolerance(
    examples_build: ExamplesBuild,
) -> None:
    root = svg_root(examples_build, "charters/search-ranking/search_conversion.svg")
    assert group(root, "tolerance-line") is None and group(root, "breach-markers") is None


def test_guardrail_table_shows_each_judged_row_against_its_limit(
    examples_build: ExamplesBuild,
) -> None:
    figure = charter_page(examples_build, "search-ranking").find(
        "figure", id="chart-p95_latency_ms"
    )
    heads = [th.text() for th in figure.find("thead").find_all("th")]
    assert heads[-1] == "Tolerance limit"
    table = table_rows(figure)
    by_row = {(cells[0], cells[1]): cells for cells in table}
    assert by_row[("2026-05-03", "treatment")][-1] == "264 ms beyond"  # 244 ms + 20 ms
    assert by_row[("2026-05-03", "control")][-1] == ""  # control is the reference, not judged


def test_a_guardrail_after_its_experiment_is_judged_on_production_against_the_baseline(
    examples_build: ExamplesBuild,
) -> None:
    """card-fraud-detection's manual review rate: an A/B test until 2026-04-19, then
    production rows from 2026-05-31, each judged against baseline 0.9% + 0.2 points
    (written in points, `pp`, as every change of a `%` metric: `0.2%` reads as relative)."""
    root = svg_root(examples_build, "charters/card-fraud-detection/manual_review_rate.svg")
    assert "Tolerance (control, then baseline, + 0.2 pp)" in svg_texts(root)
    line = group(root, "tolerance-line")
    assert line is not None
    (path,) = [p.get("d") or "" for p in line.iter(f"{SVG}path")]
    assert path.count("M") == 2  # broken between the last pair and the first production row
    page = charter_page(examples_build, "card-fraud-detection")
    assert "at most 0.2 pp worse" in page.text()
    churn = charter_page(examples_build, "churn-prediction").text()
    assert "Minimum detectable effect 0.2 pp on Monthly churn rate" in " ".join(churn.split())
    figure = page.find("figure", id="chart-manual_review_rate")
    by_row = {(cells[0], cells[1]): cells for cells in table_rows(figure)}
    assert by_row[("2026-10-31", "production")][-1] == "1.1%"
    assert by_row[("2026-04-19", "treatment")][-1] == "1.12%"  # control 0.92% + 0.2%
    assert by_row[("2026-04-19", "control")][-1] == ""


# --- the data tables show the intervals the charts draw ----------------------------------


def test_value_tables_show_given_and_computed_intervals(examples_build: ExamplesBuild) -> None:
    page = charter_page(examples_build, "search-ranking")
    rows = rows_of("search-ranking", "holdout-weekly.csv")

    def first(metric: str, variant: str) -> dict[str, str]:
        return next(r for r in rows if r["metric"] == metric and r["variant"] == variant)

    def cell(metric: str, variant: str) -> str:
        table = table_rows(page.find("figure", id=f"chart-{metric}"))
        return next(c for c in table if c[0] == "2026-05-03" and c[1] == variant)[3]

    # A proportion with n: Wilson's score interval.
    row = first("search_conversion", "control")
    low, high = wilson(float(row["value"]) / 100, int(row["n"]))
    assert cell("search_conversion", "control") == (
        f"{fmt_number(low * 100)} to {fmt_number(high * 100)} computed from n"
    )
    assert cell("search_conversion", "control").startswith("3.05 to 3.21")
    # A mean with n and std: the t interval.
    from scipy import stats

    row = first("revenue_per_search", "treatment")
    mean, n, std = float(row["value"]), int(row["n"]), float(row["std"])
    half = float(stats.t.ppf(0.975, n - 1)) * std / math.sqrt(n)
    assert cell("revenue_per_search", "treatment") == (
        f"{fmt_number(mean - half)} to {fmt_number(mean + half)} computed from n and std"
    )
    # An interval given in the row is shown as given.
    row = first("ndcg_at_10", "control")
    assert cell("ndcg_at_10", "control") == f"{row['lower']} to {row['upper']}"
    # No measure of noise: no interval.
    assert cell("p95_latency_ms", "control") == ""


def test_an_ml_ratio_of_few_gets_an_interval_within_0_and_1_and_no_status_from_it(
    tmp_path: Path,
) -> None:
    """Acceptance 0.8 of 5 suggestions against a baseline of 0.4: the Wald interval its
    table showed, 0.449 to 1.15, passed 1 and made it "Improved"; the binomial test says
    p = 0.087. Wilson's interval is 0.376 to 0.964, and holds the baseline."""
    from factory import charter_data, ml_metric, row, write_charter

    from generator.build import Settings, build

    metric = ml_metric("acc", baseline={"value": 0.4}, target={"value": 0.9})
    rows = [row("2026-03-01", "conv", 10.5), row("2026-03-01", "acc", 0.8, n=5)]
    write_charter(tmp_path / "src", "tiny", charter_data(ml_metrics=[metric]), rows)
    build(Settings(source=tmp_path / "src", out=tmp_path / "site"))
    page = parse_html(tmp_path / "site" / "charters" / "tiny" / "index.html")
    low, high = wilson(0.8, 5)
    assert (round(low, 3), round(high, 3)) == (0.376, 0.964)
    [cells] = table_rows(page.find("figure", id="chart-acc"))
    assert cells[3] == f"{fmt_number(low)} to {fmt_number(high)} computed from n"
    status = page.find("tr", id="metric-acc").text()
    assert "Did not move" in status and "Improved" not in status


def test_build_counts_the_lift_charts(examples_build: ExamplesBuild) -> None:
    svgs = list(Path(examples_build.out / "charters").rglob("*.svg"))
    lifts = [p for p in svgs if p.name.endswith("-lift.svg")]
    assert len(lifts) == sum(len(v) for v in EXPECTED_LIFT_CHARTS.values())
    forests = list(Path(examples_build.out / "metrics").rglob("*.svg"))
    assert len(forests) == 2  # one per catalogued metric with lifts
    assert f"{len(svgs) + len(forests)} charts" in examples_build.stdout


def test_a_progress_meter_tells_its_percentage_not_its_float(examples_build: ExamplesBuild) -> None:
    # Screen readers read the meter's value, 0.08571428571428592, before the text.
    html = (examples_build.out / "charters/support-ticket-routing/index.html").read_text()
    assert re.findall(r"<meter [^>]*>", html)
    assert not re.search(r'<meter [^>]*value="[0-9.]{6,}"', html)
    assert 'value="0.086" aria-label="Progress toward target: 8.6%"' in html


def test_a_progress_meter_short_of_its_target_is_not_drawn_red(
    examples_build: ExamplesBuild,
) -> None:
    """A browser draws a meter's value below `low` red ("even less good"): Revenue per
    search session, Improved, was a red bar at 23.1% of the way, whatever its status.
    Progress is how far, not whether it went well: below the target a meter is the
    browser's amber, at it green. By HTML's rules (optimum above `high`): green from
    `high` up, amber from `low` to `high`, red below `low`. So `low` is the minimum, and
    `high` lies between 0.999, the most a target not met shows (`meter_value`), and 1
    (0.995 of the way was green; with `high` at 1, every meter was: review)."""
    html = (examples_build.out / "charters/search-ranking/index.html").read_text()
    meters = re.findall(r"<meter [^>]*>", html)
    assert any('value="0.231"' in m for m in meters)
    for meter in meters:
        attrs = {k: float(v) for k, v in re.findall(r'(\w+)="([0-9.]+)"', meter)}
        assert attrs["optimum"] > attrs["high"]  # green is the region from high up
        assert attrs["low"] == attrs["min"] == 0  # nothing below low: never red
        assert 0.999 < attrs["high"] < attrs["max"] == 1  # green at 1 alone


def test_the_production_line_is_named_in_the_text_alternative_beside_arms(
    examples_build: ExamplesBuild,
) -> None:
    html = (examples_build.out / "charters/card-fraud-detection/index.html").read_text()
    alt = re.search(r'alt="(Line chart of Fraud chargeback rate[^"]*)"', html)
    assert alt is not None
    assert ": Production 0.097 → 0.093, treatment 0.094 → 0.095, control" in alt.group(1)
