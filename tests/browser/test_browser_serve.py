"""`charters serve` in a real browser: an edit shows in the open page by itself, a broken
charter shows its located errors, a fix recovers, and Ctrl-C exits cleanly.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from helpers import REPO_ROOT, ExamplesBuild

from generator.assets import BUILTIN_TEMPLATES

if TYPE_CHECKING:
    from conftest import Watched

pytestmark = pytest.mark.browser

CHARTER = "support-ticket-routing"
PAGE = f"charters/{CHARTER}/index.html"


class ServeProcess:
    """`python -m generator serve` with its output collected as it comes."""

    def __init__(self, source: Path) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "generator", "serve", "--source", str(source), "--port", "0"],
            cwd=source,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        for stream, sink in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._drain, args=(stream, sink), daemon=True).start()

    @staticmethod
    def _drain(stream: Any, sink: list[str]) -> None:
        for line in stream:
            sink.append(line)

    def wait_for_url(self, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.out:
                if line.startswith("Serving ") and " at http://" in line:
                    return line.split(" at ", 1)[1].split()[0]
            assert self.proc.poll() is None, self.transcript()
            time.sleep(0.05)
        raise AssertionError("serve did not start:\n" + self.transcript())

    def transcript(self) -> str:
        return "stdout:\n" + "".join(self.out) + "\nstderr:\n" + "".join(self.err)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        time.sleep(0.1)  # let the readers take the last lines
        return self.proc.returncode


@pytest.fixture
def source(tmp_path: Path, examples_build: ExamplesBuild) -> Path:
    """A copy of the examples, with the last build beside it so serve reuses its charts."""
    root = tmp_path / "source"
    root.mkdir()
    shutil.copytree(REPO_ROOT / "charters", root / "charters")
    shutil.copy2(REPO_ROOT / "site.yaml", root / "site.yaml")
    shutil.copy2(REPO_ROOT / "metrics.yaml", root / "metrics.yaml")
    shutil.copytree(examples_build.out, root / "site")
    return root


@pytest.fixture
def served(source: Path, browser: Any) -> Iterator[tuple[ServeProcess, str]]:
    process = ServeProcess(source)
    try:
        yield process, process.wait_for_url()
    finally:
        process.stop()


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_serve_reloads_an_edit_shows_errors_and_recovers(
    served: tuple[ServeProcess, str],
    source: Path,
    watched: Watched,
    require_tool: Callable[[str], str],
) -> None:
    require_tool("playwright")
    from playwright.sync_api import expect

    process, url = served
    page = watched.page
    page.goto(url + PAGE)
    expect(page.locator("h1")).to_have_text("Support ticket routing")
    site_before = sorted(p.name for p in (source / "site").iterdir())
    charter = source / "charters" / CHARTER / "charter.yaml"

    # 1. An edit shows in the open page, by itself, within two seconds.
    replace_in(charter, "title: Support ticket routing", "title: Ticket routing, edited live")
    saved = time.monotonic()
    expect(page.locator("h1")).to_have_text("Ticket routing, edited live", timeout=4000)
    took = time.monotonic() - saved
    print(f"edit shown after {took:.2f} s")
    assert took < 2.0, f"the edit took {took:.2f} s to show"

    # 2. A broken charter: the located error in the terminal and on the page.
    replace_in(charter, "status: experiment", "status: finished")
    expect(page.locator("h1")).to_have_text("The site could not be built", timeout=4000)
    shown = page.text_content(".build-errors") or ""
    assert f"charters/{CHARTER}/charter.yaml:3:9: status:" in shown
    assert "'finished' is not allowed" in shown
    assert process.proc.poll() is None
    assert any(f"{CHARTER}/charter.yaml:3:9" in line for line in process.err)

    # 3. The fix recovers without a restart.
    replace_in(charter, "status: finished", "status: experiment")
    expect(page.locator("h1")).to_have_text("Ticket routing, edited live", timeout=4000)
    assert page.locator("img").count() > 0
    assert watched.page_errors == []

    # The project's own site/ is not where serve builds.
    assert sorted(p.name for p in (source / "site").iterdir()) == site_before

    # 4. Ctrl-C: a clean exit, no traceback.
    assert process.stop() == 0, process.transcript()
    assert "Traceback" not in process.transcript()
    assert "Stopped." in "".join(process.out)


@dataclass
class Tabs:
    """A running `charters serve` of a copy of the examples, and tabs of one browser."""

    url: str
    charter: Path  # the charter.yaml of PAGE
    context: Any
    new: Callable[[], Watched]


@pytest.fixture
def tabs(
    served: tuple[ServeProcess, str],
    source: Path,
    context: Any,
    new_watched: Callable[[], Watched],
    require_tool: Callable[[str], str],
) -> Tabs:
    require_tool("playwright")
    return Tabs(served[1], source / "charters" / CHARTER / "charter.yaml", context, new_watched)


def test_many_open_tabs_reload_through_one_request_and_leave_the_server_free(tabs: Tabs) -> None:
    """livereload.js: one tab waits on the server for the next build and tells the others,
    so seven open tabs hold one connection, not seven (a browser opens six to a server,
    and a seventh held request would stall the next page), and all of them reload on a
    save."""
    from playwright.sync_api import expect

    url = tabs.url
    waiting: list[str] = []
    tabs.context.on("request", lambda r: waiting.append(r.url) if "after=" in r.url else None)
    opened = [tabs.new() for _ in range(7)]
    for tab in opened:
        tab.page.goto(url + PAGE)
        expect(tab.page.locator("h1")).to_have_text("Support ticket routing")
    time.sleep(1.0)
    assert len(waiting) == 1, waiting  # the first tab asks; the others listen
    started = time.monotonic()
    another = tabs.new()
    another.page.goto(url)  # an eighth page is not stalled behind held requests
    assert time.monotonic() - started < 5.0
    another.page.close()  # one renderer fewer while seven pages reload at once
    replace_in(tabs.charter, "title: Support ticket routing", "title: Seen in every tab")
    for tab in opened:
        expect(tab.page.locator("h1")).to_have_text("Seen in every tab", timeout=10000)
        assert tab.page_errors == [] and tab.console_errors == []


def test_a_tab_still_loading_when_a_build_ends_reloads_too(tabs: Tabs) -> None:
    """A tab whose page was sent before a build ended, and whose script runs only after
    the first tab had told the others and reloaded, is not left on the old build."""
    from playwright.sync_api import expect

    first = tabs.new().page
    first.goto(tabs.url + PAGE)
    expect(first.locator("h1")).to_have_text("Support ticket routing")
    late = tabs.new().page
    held: list[Any] = []
    late.route("**/livereload.js", lambda route: held.append(route))  # held until let go
    late.goto(tabs.url + PAGE, wait_until="commit")
    expect(late.locator("h1")).to_have_text("Support ticket routing")
    replace_in(tabs.charter, "title: Support ticket routing", "title: Built while loading")
    expect(first.locator("h1")).to_have_text("Built while loading", timeout=10000)
    time.sleep(0.5)  # the first tab has reloaded and leads again
    assert held, "the late tab asked for its script"
    for route in held:
        route.continue_()
    expect(late.locator("h1")).to_have_text("Built while loading", timeout=10000)


def test_a_template_that_breaks_the_hosting_policy_works_and_is_reported(
    served: tuple[ServeProcess, str],
    source: Path,
    watched: Watched,
    require_tool: Callable[[str], str],
) -> None:
    """A template with an inline script works in the preview (the policy is report-only
    there), and the terminal says a host sending docs/hosting.md's policy would block it."""
    require_tool("playwright")
    from playwright.sync_api import expect

    process, url = served
    page = watched.page
    page.goto(url + PAGE)
    expect(page.locator("h1")).to_have_text("Support ticket routing")
    base = (BUILTIN_TEMPLATES / "base.html").read_text(encoding="utf-8")
    hooked = "{% block head %}{% endblock %}"
    assert hooked in base
    inline = '<script>document.documentElement.dataset.inline = "ran";</script>'
    (source / "templates").mkdir()
    (source / "templates" / "base.html").write_text(base.replace(hooked, inline + hooked))
    expect(page.locator("html")).to_have_attribute("data-inline", "ran", timeout=10000)
    deadline = time.monotonic() + 10
    said = []
    while not said and time.monotonic() < deadline:
        said = [line for line in process.err if "an inline <script>" in line]
        time.sleep(0.1)
    assert said, process.transcript()
    assert said[0].startswith(f"warning: /{PAGE}: an inline <script>, line ")
    assert "Content-Security-Policy docs/hosting.md recommends (default-src 'self')" in said[0]
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-inline", "ran")
    time.sleep(0.5)
    assert len([line for line in process.err if "an inline <script>" in line]) == 1
    assert watched.page_errors == []
