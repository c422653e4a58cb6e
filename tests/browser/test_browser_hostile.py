"""The hostile corpus site (tests/hostile.py) in Chromium, opened from disk with no
Content-Security-Policy to lean on: no dialog opens, no request leaves the site's folder,
and no element in the live page carries an event handler or a script URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from helpers import run_cli
from hostile import write_hostile_tree

pytestmark = pytest.mark.browser

# Every element's attributes that run script, in the page as the browser built it.
LIVE_PROBLEMS = """() => {
  const found = [];
  const urls = ['href', 'src', 'action', 'formaction', 'background', 'data', 'poster',
                'srcset', 'xlink:href'];
  for (const el of document.querySelectorAll('*')) {
    for (const attr of Array.from(el.attributes)) {
      const name = attr.name.toLowerCase();
      const value = attr.value.replace(/[\\u0000-\\u0020]/g, '').toLowerCase();
      if (name.startsWith('on')) found.push(el.tagName + ' ' + name);
      if (urls.includes(name) && /^(javascript|vbscript|data):/.test(value)) {
        found.push(el.tagName + ' ' + name + '=' + value);
      }
    }
  }
  return found;
}"""


@dataclass
class Traffic:
    """What the pages did: dialogs opened and requests to anything but the site's files."""

    root: str
    dialogs: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)

    def route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(self.root):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def request(self, request: Any) -> None:
        if not request.url.startswith(self.root):
            self.outside.append(request.url)

    def dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()


@pytest.fixture(scope="module")
def hostile_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("hostile-browser")
    write_hostile_tree(base / "source")
    out = base / "site"
    result = run_cli("build", "--source", base / "source", "--out", out)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def watched_traffic(browser: Any, hostile_out: Path) -> Iterator[tuple[Any, Traffic]]:
    traffic = Traffic(hostile_out.as_uri() + "/")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route("**/*", traffic.route)
    page = context.new_page()
    page.on("dialog", traffic.dialog)
    page.on("request", traffic.request)
    page.on("popup", lambda popup: traffic.outside.append(f"popup {popup.url}"))
    try:
        yield page, traffic
    finally:
        context.close()


def test_no_page_of_the_hostile_site_runs_charter_text(
    watched_traffic: tuple[Any, Traffic], hostile_out: Path
) -> None:
    page, traffic = watched_traffic
    pages = sorted(hostile_out.rglob("*.html")) + sorted(hostile_out.rglob("*.svg"))
    assert len(pages) > 100
    for path in pages:
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        if path.suffix == ".html":
            assert page.evaluate(LIVE_PROBLEMS) == [], path
            # Open every folded section: a payload may wait for `toggle` or for view.
            page.eval_on_selector_all("details", "els => els.forEach(d => d.open = true)")
            page.mouse.move(400, 300)
            page.mouse.move(600, 500)
        page.wait_for_timeout(20)
    assert traffic.dialogs == []
    assert traffic.outside == []


def test_searching_the_hostile_portfolio_runs_nothing(
    watched_traffic: tuple[Any, Traffic], hostile_out: Path
) -> None:
    page, traffic = watched_traffic
    page.goto((hostile_out / "index.html").as_uri())
    page.wait_for_selector("#finder:not([hidden])")
    for query in ("<script>alert(1)</script>", "javascript:alert(1)", "onerror", "{{ 7*7 }}"):
        page.fill("#finder-q", query)
        page.wait_for_timeout(50)
    visible = page.eval_on_selector_all(
        "tr[data-search]", "rows => rows.filter(r => !r.hidden).length"
    )
    assert visible >= 1  # the search still works on hostile text
    assert page.evaluate(LIVE_PROBLEMS) == []
    assert traffic.dialogs == []
    assert traffic.outside == []
