"""The portfolio page (index.html) as built, before any script runs: every business metric
of each project with baseline → latest → target and whether it moved, the count filters,
sort keys and grouping the finder works with, and the order without JavaScript.

Expected numbers are worked out here from the charter and result text written by the
test, not taken from the generator.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from helpers import REPO_ROOT, Element, ExamplesBuild, ScratchProject, parse_html

from generator.pages import fold
from generator.vocabulary import STATUS_DISPLAY_ORDER, VERDICTS

THREE_METRICS = """
  - id: ttfr
    name: Time to first response
    definition: Median hours to first reply.
    unit: hours
    direction: decrease
    baseline: {value: 6.2}
    target: {value: 4.5}
  - id: csat
    name: Customer satisfaction
    definition: Share of surveyed customers who rate the answer 4 or 5.
    unit: "%"
    direction: increase
    baseline: {value: 80}
    target: {value: 85}
  - id: reopen_rate
    name: Reopened tickets
    definition: Share of tickets reopened within 7 days.
    unit: "%"
    direction: decrease
    baseline: {value: 9}
    target: {value: 7}"""

RESULTS = """date,metric,value,lower,upper
2026-04-06,ttfr,5.6,,
2026-05-04,ttfr,4.4,,
2026-05-04,csat,82,81,83
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("portfolio") / "project"
    root.mkdir()
    project = ScratchProject(root)
    project.charter("routing", business_metrics=THREE_METRICS, tags="[support, nlp]")
    project.write("charters/routing/results/weekly.csv", RESULTS)
    project.charter("pricing", title="Dynamic pricing", status="experiment", team="Pricing")
    project.charter("summaries", title="Review summaries", status="proposed", human_baseline=None)
    result = project.build()
    assert result.ok, [d.format_text() for d in result.diagnostics]
    return project.out


def index(out: Path) -> Element:
    return parse_html(out / "index.html")


def row(root: Element, cid: str) -> Element:
    return root.find("tr", **{"data-id": cid})


def metric_items(tr: Element) -> list[Element]:
    return tr.find("ul", class_="bm-list").find_all("li")


def test_every_business_metric_of_a_project_is_in_its_row(site: Path) -> None:
    items = metric_items(row(index(site), "routing"))
    assert [li.attrs["data-metric"] for li in items] == ["ttfr", "csat", "reopen_rate"]
    names = [li.find(class_="metric-name").text() for li in items]
    assert names == ["Time to first response", "Customer satisfaction", "Reopened tickets"]
    trios = [li.find(class_="trio").text() for li in items]
    # Baseline → the newest row → target, each in the metric's unit.
    assert trios == ["6.2 hours → 4.4 hours → 4.5 hours", "80% → 82% → 85%", "9% → — → 7%"]
    # Whether each moved: 4.4 ≤ 4.5 meets a lower-is-better target; 82% with its
    # interval 81–83 lies wholly above the 80% baseline; reopen rate has no row yet.
    states = [li.find(class_="mstatus").text() for li in items]
    assert states == ["Target met", "Improved", "No results"]
    # Progress: (6.2 − 4.4) / (6.2 − 4.5) and (82 − 80) / (85 − 80).
    progress = [li.find(class_="progress-text").text() for li in items[:2]]
    assert progress == ["105.9% of the way", "40% of the way"]
    assert not items[2].find_all(class_="progress-text")


def test_a_second_business_metric_is_searchable_and_sortable(site: Path) -> None:
    tr = row(index(site), "routing")
    search = tr.attrs["data-search"] or ""
    for words in ("customer satisfaction", "reopened tickets", "reopen_rate"):
        assert words in search, words
    assert "customer satisfaction" not in (row(index(site), "pricing").attrs["data-search"] or "")
    # Sorting by business metric uses the first one's name; by progress, its progress.
    assert tr.attrs["data-sort-metric"] == "time to first response"
    assert float(tr.attrs["data-sort-progress"] or "") == pytest.approx(1.8 / 1.7)


def test_every_column_and_sort_choice_has_a_value_on_every_row(site: Path) -> None:
    root = index(site)
    rows = [tr for tr in root.find_all("tr") if "data-search" in tr.attrs]
    assert len(rows) == 3
    thead = root.find("table", class_="portfolio").find("thead")
    heads = [th.attrs["data-sort"] for th in thead.find_all("th")]
    assert heads == ["project", "verdict", "owner", "metric", "human", "latest"]
    options = [o.attrs["value"] for o in root.find("select", id="finder-sort").find_all("option")]
    keys = [v for v in options if v and not v.startswith("-")]
    assert set(heads) <= set(keys) and {"status", "progress"} <= set(keys)
    assert options == ["", *[v for k in keys for v in (k, "-" + k)]]
    for tr in rows:
        for key in ("project", "status", "verdict", "owner", "metric", "human"):
            assert tr.attrs.get(f"data-sort-{key}"), (tr.attrs["data-id"], key)
    # Status sorts in the order the groups are shown, not alphabetically.
    by_id = {tr.attrs["data-id"]: tr for tr in rows}
    for cid, status in (("routing", "live"), ("pricing", "experiment"), ("summaries", "proposed")):
        assert by_id[cid].attrs["data-sort-status"] == str(STATUS_DISPLAY_ORDER.index(status))


def test_status_and_verdict_counts_carry_their_filter(site: Path) -> None:
    root = index(site)
    rows = [tr for tr in root.find_all("tr") if "data-search" in tr.attrs]
    counts = root.find_all(class_="count-filter")
    found = {(el.attrs["data-filter"], el.attrs["data-value"]): el for el in counts}
    statuses = {tr.attrs["data-status"] for tr in rows}
    verdicts = {tr.attrs["data-verdict"] for tr in rows}
    assert set(found) == {("status", s) for s in statuses} | {("verdict", v) for v in verdicts}
    for (key, value), el in found.items():
        n = sum(1 for tr in rows if tr.attrs[f"data-{key}"] == value)
        assert el.find("strong").text() == str(n), (key, value)
        # Every count filters by a value its select offers, so the two stay in step.
        offered = [
            o.attrs["value"] for o in root.find("select", id=f"finder-{key}").find_all("option")
        ]
        assert value in offered
    # Without JavaScript a status count is a link to its group; a verdict count is text.
    assert found[("status", "live")].tag == "a"
    assert found[("status", "live")].attrs["href"] == "#status-live"
    assert all(el.tag == "span" for (key, _), el in found.items() if key == "verdict")
    # The verdicts are listed in their fixed order.
    listed = [el.attrs["data-value"] for el in counts if el.attrs["data-filter"] == "verdict"]
    assert listed == [v for v in VERDICTS if v in verdicts]


def test_the_finder_has_a_grouping_toggle_and_an_announced_count(site: Path) -> None:
    root = index(site)
    form = root.find("form", id="finder")
    assert "hidden" in form.attrs  # shown by the script; without it, the plain table
    toggle = form.find("button", id="finder-group")
    assert toggle.attrs["type"] == "button" and toggle.attrs["aria-pressed"] == "true"
    assert toggle.text() == "Group by status"
    status = form.find(id="finder-count")
    assert status.attrs["role"] == "status" and status.attrs["aria-live"] == "polite"


def test_without_javascript_every_project_is_listed_grouped_by_status(site: Path) -> None:
    root = index(site)
    groups = root.find_all("section", class_="group")
    assert [g.attrs["data-group"] for g in groups] == ["live", "experiment", "proposed"]
    assert [g.find("h2").attrs["id"] for g in groups] == [
        "status-live",
        "status-experiment",
        "status-proposed",
    ]
    ids = [
        [tr.attrs["data-id"] for tr in g.find_all("tr") if "data-id" in tr.attrs] for g in groups
    ]
    assert ids == [["routing"], ["pricing"], ["summaries"]]
    # On a phone each cell is a card line named by its column, with or without script.
    labels = [td.attrs.get("data-label") for td in row(root, "routing").find_all("td")]
    assert labels == ["Verdict", "Owner", "Business metrics", "Human baseline", "Latest result"]


# --- the examples ------------------------------------------------------------------------


def test_examples_show_every_business_metric_of_every_project(
    examples_build: ExamplesBuild,
) -> None:
    root = parse_html(examples_build.out / "index.html")
    two_or_more = 0
    for folder in sorted((REPO_ROOT / "charters").iterdir()):
        data = yaml.safe_load((folder / "charter.yaml").read_text(encoding="utf-8"))
        items = metric_items(row(root, folder.name))
        declared = [bm.get("ref") or bm["id"] for bm in data["business_metrics"]]
        assert [li.attrs["data-metric"] for li in items] == declared, folder.name
        two_or_more += len(declared) >= 2
    assert two_or_more >= 3
    # A catalogued metric links to its page from the row.
    auto = metric_items(row(root, "query-autocomplete"))
    link = auto[0].find("a")
    assert link.attrs["href"] == "metrics/search_conversion/index.html"
    assert auto[0].find(class_="trio").text() == "3.12% → 3.22% → 3.3%"


def test_examples_search_text_holds_every_business_metric_name(
    examples_build: ExamplesBuild,
) -> None:
    root = parse_html(examples_build.out / "index.html")
    api = json.loads((examples_build.out / "api/charters.json").read_text(encoding="utf-8"))
    for charter in api["charters"]:
        search = row(root, charter["id"]).attrs["data-search"] or ""
        for metric in charter["business_metrics"]:
            assert fold(metric["name"]) in search, (charter["id"], metric["name"])
