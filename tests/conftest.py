"""Fixtures: scratch charter trees in tmp_path, and the shipped examples built once.

The helpers behind them (the minimal charter, `at` for positions, the HTML parser)
live in helpers.py so test modules can import them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import EXAMPLES_DAY, REPO_ROOT, ExamplesBuild, ScratchProject, run_cli


@pytest.fixture
def scratch_project(tmp_path: Path) -> ScratchProject:
    """An empty source tree; `write(rel, text)`, `charter(cid, **overrides)`, `errors()`."""
    root = tmp_path / "project"
    root.mkdir()
    return ScratchProject(root)


@pytest.fixture(scope="session")
def examples_build(tmp_path_factory: pytest.TempPathFactory) -> ExamplesBuild:
    """The repo's charters/ and site.yaml copied to a temporary folder and built there.

    Copying keeps the repo's own site/ untouched. The build date is pinned, so what the
    staleness rule says of the examples (their results are weekly) holds on any day.
    """
    base = tmp_path_factory.mktemp("examples")
    source = base / "source"
    source.mkdir()
    shutil.copytree(REPO_ROOT / "charters", source / "charters")
    shutil.copy2(REPO_ROOT / "site.yaml", source / "site.yaml")
    shutil.copy2(REPO_ROOT / "metrics.yaml", source / "metrics.yaml")
    out = base / "site"
    result = run_cli("build", "--source", source, "--out", out, "--today", EXAMPLES_DAY)
    assert result.exit_code == 0, result.output
    return ExamplesBuild(source, out, result.stdout)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the long `hostile` run unless the marker expression names it.

    `-m "not browser"` (the default run) would otherwise select it too.
    """
    if "hostile" in (config.option.markexpr or ""):
        return
    kept = [item for item in items if item.get_closest_marker("hostile") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept
