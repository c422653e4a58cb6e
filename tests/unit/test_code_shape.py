"""The shape of the package: short functions, and no drawing library where none is needed."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO_ROOT

MAX_FUNCTION_LINES = 80
GENERATOR = REPO_ROOT / "generator"


def function_lengths(path: Path) -> list[tuple[int, str, int]]:
    """(line, qualified name, length in lines) of every function and method in `path`."""
    found: list[tuple[int, str, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = prefix
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}."
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                assert child.end_lineno is not None
                found.append((child.lineno, name[:-1], child.end_lineno - child.lineno + 1))
            visit(child, name)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), "")
    return found


def test_the_walk_measures_nested_functions_and_methods(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text(
        "def outer():\n"
        "    def inner():\n"
        "        return 1\n"
        "\n"
        "    return inner\n"
        "\n"
        "\n"
        "class Box:\n"
        "    @property\n"
        "    def size(self):\n"
        "        return 2\n",
        encoding="utf-8",
    )
    assert function_lengths(source) == [(1, "outer", 5), (2, "outer.inner", 2), (10, "Box.size", 2)]


def test_no_function_in_generator_is_longer_than_80_lines() -> None:
    files = sorted(GENERATOR.rglob("*.py"))
    assert len(files) > 10, "the walk found no sources"
    too_long = [
        f"{path.relative_to(REPO_ROOT)}:{line}: {name} is {length} lines"
        for path in files
        for line, name, length in function_lengths(path)
        if length > MAX_FUNCTION_LINES
    ]
    assert not too_long, f"split these into named steps (at most {MAX_FUNCTION_LINES} lines):\n" + (
        "\n".join(too_long)
    )


@pytest.mark.parametrize("module", ["generator.charts", "generator.charts.spec"])
def test_chart_specs_import_no_drawing_library(module: str) -> None:
    """Deciding which charts to draw and describing them needs no matplotlib."""
    code = f"import sys, {module}\nprint('matplotlib' in sys.modules)\n"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    assert out.stdout.strip() == "False"


# The first line of every module's docstring names where it sits in the flow
# (docs/architecture.md lists them).
PLACES = (
    "Package",
    "Commands",
    "Build recipe",
    "Load stage",
    "Analyse stage",
    "Rules stage",
    "Charts stage",
    "Pages stage",
    "Outputs stage",
    "Write stage",
    "Diff stage",
    "Pull stage",
    "Shared",
    "Model",
    "Docs",
)


def test_each_module_says_its_stage_first() -> None:
    unplaced = []
    for path in sorted(GENERATOR.rglob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        first = doc.splitlines()[0] if doc else ""
        if not first.startswith(PLACES):
            unplaced.append(f"{path.relative_to(REPO_ROOT)}: {first!r}")
    assert unplaced == []


def test_architecture_page_names_every_module() -> None:
    page = (REPO_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = [
        path.relative_to(GENERATOR).as_posix()
        for path in sorted(GENERATOR.rglob("*.py"))
        if path.name != "__init__.py" and path.relative_to(GENERATOR).as_posix() not in page
    ]
    assert missing == []


def generator_imports(module: str) -> set[str]:
    """The generator modules `module` (a path under generator/) imports, anywhere in it,
    as paths under generator/."""
    path = GENERATOR / module
    package = path.parent.relative_to(GENERATOR).parts
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if not isinstance(node, ast.ImportFrom) or node.level == 0:
            continue
        base = list(package[: len(package) - (node.level - 1)])
        names = [node.module] if node.module else [alias.name for alias in node.names]
        for name in names:
            parts = [*base, *name.split(".")]
            as_module = GENERATOR.joinpath(*parts).with_suffix(".py")
            as_package = GENERATOR.joinpath(*parts, "__init__.py")
            target = as_module if as_module.is_file() else as_package
            if target.is_file():
                found.add(target.relative_to(GENERATOR).as_posix())
    return found


def test_the_drawing_fingerprint_covers_every_module_the_drawing_code_runs() -> None:
    # A chart is taken from the cache by its spec and the drawing fingerprint: code that
    # shapes the SVG (a label's wording, a number's format) but is missing from the
    # fingerprint would leave an older picture in the site after an upgrade.
    from generator.cache import DRAWING_MODULES

    spec = "charts/spec.py"  # what the spec's module imports is computed into the spec
    todo, seen = ["charts/draw.py"], {"charts/draw.py", spec}
    while todo:
        for name in sorted(generator_imports(todo.pop()) - seen):
            seen.add(name)
            todo.append(name)
    assert sorted(seen) == sorted(DRAWING_MODULES)
    assert "charts/__init__.py" not in DRAWING_MODULES  # bookkeeping: an edit redraws nothing
