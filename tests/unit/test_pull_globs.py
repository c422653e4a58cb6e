"""`charters pull` decides whether a charter reads a pulled file (`into`) by its `results`
globs without listing the folder (generator/results.py `glob_matches`); the build
lists it with `glob.glob(..., recursive=True)`. The two must agree on every file, hidden
ones included: `*` and `**` never match a name starting with a dot."""

from __future__ import annotations

import glob
from pathlib import Path

import pytest

from generator.results import glob_matches

FILES = (
    "results/a.csv",
    "results/.e.csv",
    "results/sub/c.csv",
    "results/sub/.d.csv",
    "results/.hidden/b.csv",
    "results/x/y/z.csv",
    "results/x/.h/y/w.csv",
    "results/.h/x/y.csv",
    "top.csv",
    ".top.csv",
)
PATTERNS = (
    "results/*.csv",
    "results/**/*.csv",
    "results/**",
    "**/*.csv",
    "**",
    "results/*/*.csv",
    "results/**/y/*.csv",
    "results/.hidden/*.csv",
    "results/.*/*.csv",
    "results/.*",
    "results/**/.d.csv",
    "results/x/**/w.csv",
)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("globs")
    for rel in FILES:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("date,metric,value\n")
    return root


@pytest.mark.parametrize("pattern", PATTERNS)
def test_glob_matches_agrees_with_glob_glob_on_every_file(tree: Path, pattern: str) -> None:
    listed = set(glob.glob(pattern, root_dir=tree, recursive=True))
    for rel in FILES:
        assert glob_matches(pattern, rel) == (rel in listed), (pattern, rel)
