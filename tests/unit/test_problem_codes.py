"""docs/check.md lists every problem code the loader and `charters pull` report, and no
code they do not: a reader filtering `check --format json` by code finds each one there."""

from __future__ import annotations

import ast
import re

from helpers import REPO_ROOT

GENERATOR = REPO_ROOT / "generator"
# The calls a problem is made by, whose code is a literal argument (or `code=`).
MAKERS = {"Diagnostic", "at", "error", "PullError", "report"}
CODE = re.compile(r"[a-z]+(?:-[a-z0-9]+)*")
# Codes the scan cannot tell from a problem's: none yet.
ELSEWHERE: set[str] = set()


def emitted() -> set[str]:
    """The codes passed as literals to the calls that make a problem."""
    found: set[str] = set()
    for path in GENERATOR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name not in MAKERS:
                continue
            # The code is the argument after the message (or `code=`): the last literal
            # argument that reads as one, a severity aside.
            args = [*node.args[2:], *(k.value for k in node.keywords if k.arg == "code")]
            for arg in args:
                value = arg.value if isinstance(arg, ast.Constant) else None
                if isinstance(value, str) and CODE.fullmatch(value):
                    found.add(value)
    # A linked file's problem is returned as (message, code) to the function that reports it.
    links = (GENERATOR / "links.py").read_text(encoding="utf-8")
    found |= set(re.findall(r'return f?"[^"]*", "([a-z-]+)"', links))
    # A pull's problem made without one has PullError's default code.
    from generator.pull.config import PullError

    default = PullError.__init__.__defaults__
    assert default is not None
    found.add(default[-1])
    return found - {"warning", "error", "info"}


def documented() -> set[str]:
    """The codes in docs/check.md's "Problem codes": its table and the pull codes under it."""
    text = (REPO_ROOT / "docs" / "check.md").read_text(encoding="utf-8")
    section = text.split("## Problem codes", 1)[1].split("\n## ", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("| `")]
    codes = {c for line in table for c in re.findall(r"`([a-z-]+)`", line.split(" | ")[0])}
    pulls = section.split("`charters pull` reports", 1)[1].split("The kinds of change", 1)[0]
    return codes | set(re.findall(r"`([a-z-]+)`", pulls))


def test_every_problem_code_is_documented() -> None:
    missing = emitted() - ELSEWHERE - documented()
    assert not missing, f"codes docs/check.md does not list: {sorted(missing)}"


def test_every_documented_code_is_one_the_generator_reports() -> None:
    stale = documented() - emitted()
    assert not stale, f"codes docs/check.md lists that nothing reports: {sorted(stale)}"


def test_the_scan_finds_codes_made_each_way() -> None:
    """The scan is not empty-handed: a code made by each kind of call is among those found."""
    found = emitted()
    # doc.at(…, code), diags.error(…, code=…), Diagnostic(…, code), PullError(…, code),
    # report(…, code) in links.py, and a (message, code) returned there.
    assert {"shows-nothing", "no-charters", "csv-syntax", "no-rows", "link-target"} <= found
    assert "link-type" in found
