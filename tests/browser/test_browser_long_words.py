"""A word longer than the line, in a title, on a phone and on the portfolio: it breaks
rather than widening the page or running into the next column."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import ScratchProject, run_cli

pytestmark = pytest.mark.browser

URL_TITLE = (
    "Checkout ranking for"
    " https://shop.example.com/checkout/offers/personalised-recommendations-v2-experiment"
)


def test_a_title_holding_a_long_url_breaks_on_a_phone_and_in_the_portfolio(
    scratch_project: ScratchProject, context: Any
) -> None:
    scratch_project.charter(title=f'"{URL_TITLE}"')
    out = scratch_project.out
    result = run_cli("build", "--source", scratch_project.root, "--out", out)
    assert result.exit_code == 0, result.output
    page = context.new_page()
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto((out / "charters/routing/index.html").as_uri())
    # The page was 777 px wide at 390, the title and breadcrumb cut off at the right.
    assert page.inner_text("h1") == URL_TITLE
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], widths
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto((out / "index.html").as_uri())
    # On the portfolio the title ran over the verdict in the next column.
    cell = page.eval_on_selector(
        ".portfolio th[scope='row']",
        "th => [th.scrollWidth, th.clientWidth, th.getBoundingClientRect().right,"
        " th.nextElementSibling.getBoundingClientRect().left]",
    )
    assert cell[0] <= cell[1] and cell[2] <= cell[3] + 1, cell
