"""The CI workflow, the GitLab example and the pre-commit hook call commands that exist.

Every `charters ...` line is parsed by the real click command (options, choices and
callbacks included), so a renamed option breaks this test, not a user's CI.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from helpers import REPO_ROOT
from pull_helpers import in_ci

from generator.cli import main
from generator.diff import MARKER

WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "charters.yml"
HOOKS = REPO_ROOT / ".pre-commit-hooks.yaml"
CI_DOC = REPO_ROOT / "docs" / "ci.md"
OPERATORS = {">", ">>", "<", "|", "||", "&&", ";", "&", "2>", "2>&1"}


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def scripts(node: Any) -> Iterator[str]:
    """Every shell script in a workflow or GitLab file: `run:` values and `script:` lists."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "run" and isinstance(value, str):
                yield value
            elif key in ("script", "before_script", "after_script"):
                yield from (value if isinstance(value, list) else [value])
            else:
                yield from scripts(value)
    elif isinstance(node, list):
        for item in node:
            yield from scripts(item)


def variables(node: Any) -> dict[str, str]:
    """The values a workflow or GitLab file sets (`env:`, `variables:`), by name."""
    found: dict[str, str] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("env", "variables") and isinstance(value, dict):
                found.update({k: v for k, v in value.items() if "${{" not in str(v)})
            else:
                found.update(variables(value))
    elif isinstance(node, list):
        for item in node:
            found.update(variables(item))
    return found


def commands(script: str, values: dict[str, str] | None = None) -> Iterator[list[str]]:
    """The argument lists of every `charters` call in a shell script; a variable the file
    sets (`values`) is read as its value (the kinds of `--fail-on "$FAIL_ON"`), any other
    as a revision's name."""
    for name, value in (values or {}).items():
        script = re.sub(rf"\$\{{?{name}\}}?(?![A-Za-z0-9_])", str(value), script)
    script = re.sub(r"\$\{\{[^}]*\}\}", "main", script)  # GitHub expressions
    script = re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", "main", script)  # shell variables
    script = script.replace("\\\n", " ")
    for line in script.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words = list(lexer)
        while "charters" in words:
            words = words[words.index("charters") + 1 :]
            end = next((i for i, w in enumerate(words) if w in OPERATORS), len(words))
            yield words[:end]
            words = words[end:]


def parse(args: list[str]) -> click.Context:
    """Parse a `charters` command line with the real command, without running it."""
    assert args, "a bare `charters` call"
    name, rest = args[0], args[1:]
    command = main.commands.get(name)
    assert command is not None, f"`charters {name}` is not a command"
    return command.make_context(name, rest)


def workflow_calls() -> list[list[str]]:
    return [
        args
        for data in (load_yaml(path) for path in WORKFLOWS)
        for s in scripts(data)
        for args in commands(s, variables(data))
    ]


def gitlab_example() -> Any:
    text = CI_DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(# \.gitlab-ci\.yml\n.*?)```", text, flags=re.S)
    assert len(blocks) == 1
    return yaml.safe_load(blocks[0])


def test_the_workflow_exists_and_uses_charters() -> None:
    assert WORKFLOW in WORKFLOWS
    used = {args[0] for args in workflow_calls()}
    assert used >= {"check", "build", "diff"}


@pytest.mark.parametrize("args", workflow_calls(), ids=lambda a: " ".join(a))
def test_every_command_in_the_workflows_parses(args: list[str]) -> None:
    parse(args)


@pytest.mark.parametrize(
    "args",
    [args for s in scripts(gitlab_example()) for args in commands(s, variables(gitlab_example()))],
    ids=lambda a: " ".join(a),
)
def test_every_command_in_the_gitlab_example_parses(args: list[str]) -> None:
    parse(args)


def test_the_pull_request_job_does_what_the_docs_say() -> None:
    workflow = load_yaml(WORKFLOW)
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads `on` as true
    assert "pull_request" in triggers
    assert triggers["push"]["branches"] == ["main"]
    steps = workflow["jobs"]["pull-request"]["steps"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0
    runs = [s.get("run", "") for s in steps]
    assert any("charters check --format github" in r for r in runs)
    assert any(r.startswith("charters build") for r in runs)
    diff_step = next(s for s in steps if "--format md" in s.get("run", ""))
    assert diff_step["env"]["BASE"] == "${{ github.base_ref }}"
    assert 'charters diff "origin/$BASE"' in diff_step["run"]
    # With the gate's kinds, so the comment says what fails (tests/integration/test_gates.py).
    assert '--fail-on "$FAIL_ON" > diff.new || status=$?' in diff_step["run"]
    assert workflow["env"]["FAIL_ON"] == "goalpost-moved,catalogue-changed,agreement-changed"
    comment = next(s for s in steps if s.get("uses", "").startswith("actions/github-script@"))
    assert MARKER in comment["with"]["script"]
    assert any(s.get("uses", "").startswith("actions/upload-artifact@") for s in steps)
    assert workflow["jobs"]["pull-request"]["permissions"]["pull-requests"] == "write"


def test_main_is_built_and_published_to_pages() -> None:
    jobs = load_yaml(WORKFLOW)["jobs"]
    uses = [s.get("uses", "") for job in jobs.values() for s in job.get("steps", [])]
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    assert any(u.startswith("actions/deploy-pages@") for u in uses)
    assert jobs["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}


def test_the_pre_commit_hook_runs_check() -> None:
    (hook,) = load_yaml(HOOKS)
    assert hook["id"] == "charters-check"
    assert hook["entry"] == "charters check"
    assert hook["language"] == "python"
    # Changed files are passed, so a commit is judged by the charters it touches.
    assert hook["pass_filenames"] is True
    files = re.compile(hook["files"])
    assert files.search("charters/routing/charter.yaml")
    assert files.search("charters/routing/results/ab.csv")
    assert files.search("site.yaml") and files.search("templates/charter.html")
    assert not files.search("README.md")
    assert files.search("charters/routing/results/ab.csv")
    assert files.search("site.yaml")
    assert not files.search("docs/site.yaml.md")
    assert not files.search("README.md")
    args = shlex.split(hook["entry"])
    assert args[0] == "charters"
    parse(args[1:])
    parse([*args[1:], "--strict"])  # the option docs/ci.md suggests adding


def test_the_parser_catches_a_wrong_option() -> None:
    with pytest.raises(click.UsageError):
        parse(["diff", "origin/main", "--format", "html"])
    with pytest.raises(click.UsageError):
        parse(["build", "--output", "site"])
    (args,) = commands('charters diff "origin/${{ github.base_ref }}" --format md > diff.md')
    assert args == ["diff", "origin/main", "--format", "md"]


def test_the_workflow_restores_and_saves_the_build_cache() -> None:
    """Both building jobs restore `.charters-cache` before the build and save it right
    after a successful build (actions/cache/restore and /save: the all-in-one action
    saves only when the whole job succeeds, so a pull request failing on a moved
    goalpost never saved it), keyed by the generator's version and a hash of every
    input; the build prunes it to what it used (`--gc`), so the saved cache does not
    grow."""
    jobs = load_yaml(WORKFLOW)["jobs"]
    for name in ("pull-request", "build"):
        steps = jobs[name]["steps"]
        uses = [s.get("uses", "") for s in steps]
        runs = [s.get("run", "") for s in steps]
        assert not any(u.startswith("actions/cache@") for u in uses), name
        restore_at = next(i for i, u in enumerate(uses) if u.startswith("actions/cache/restore@"))
        save_at = next(i for i, u in enumerate(uses) if u.startswith("actions/cache/save@"))
        build_at = next(i for i, r in enumerate(runs) if r.startswith("charters build"))
        version_at = next(i for i, s in enumerate(steps) if s.get("id") == "generator")
        assert version_at < restore_at < build_at == save_at - 1, name
        cache = steps[restore_at]["with"]
        assert cache["path"] == ".charters-cache"
        key = cache["key"]
        assert "${{ steps.generator.outputs.version }}" in key
        inputs = re.search(r"hashFiles\(([^)]*)\)", key)
        assert inputs is not None
        globs = {g.strip().strip("'") for g in inputs.group(1).split(",")}
        assert globs == {"site.yaml", "metrics.yaml", "charters/**", "templates/**"}
        restore = [line.strip() for line in cache["restore-keys"].splitlines() if line.strip()]
        assert restore == [
            "charters-${{ runner.os }}-${{ steps.generator.outputs.version }}-",
            "charters-${{ runner.os }}-",
        ]
        assert all(key.startswith(prefix) for prefix in restore)
        save = steps[save_at]
        ident = steps[restore_at]["id"]
        assert save["with"] == {
            "path": ".charters-cache",
            "key": f"${{{{ steps.{ident}.outputs.cache-primary-key }}}}",
        }
        assert save["if"] == f"steps.{ident}.outputs.cache-hit != 'true'"
        builds = [args for r in runs for args in commands(r) if args[:1] == ["build"]]
        assert builds and all("--gc" in args for args in builds), name


def test_no_workflow_pastes_an_expression_into_a_shell_script() -> None:
    """`run: charters diff "origin/${{ github.base_ref }}"` pasted the branch name into
    the script: a branch named `$(…)` ran it. Names reach scripts through `env:`."""
    for path in WORKFLOWS:
        for script in scripts(load_yaml(path)):
            assert "${{" not in script, f"{path.name}: {script}"


def test_the_gitlab_example_keeps_the_build_cache() -> None:
    """The default jobs share one rolling cache; every build in it prunes the cache to what
    it used (`--gc`), and a job that builds nothing does not save the cache back."""
    example = gitlab_example()
    cache = example["default"]["cache"]
    assert cache["paths"] == [".charters-cache/"]
    assert cache["key"]
    jobs = {name: job for name, job in example.items() if isinstance(job, dict) and "script" in job}
    building = 0
    for name, job in jobs.items():
        runs = [args for line in job["script"] for args in commands(line)]
        builds = [args for args in runs if args[:1] == ["build"]]
        building += bool(builds)
        assert all("--gc" in args for args in builds), name
        if not builds:
            assert job.get("cache") == [], name
    assert building == 2


def test_the_cache_folder_is_ignored_by_git() -> None:
    ignored = (REPO_ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "/.charters-cache/" in ignored


def test_the_projects_ci_runs_the_readmes_test_command_and_stops_on_a_failed_install() -> None:
    """The README's second command is what `.ci/run` runs, word for word, and it runs
    where a failure stops the script: `set -e` ignores a failure inside an `&&` list,
    so written bare, a failed install would surface later as a missing module."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"```sh\n(.*?)\n```", readme, flags=re.S)
    assert len(commands) >= 2, "the README starts with two commands"
    test_command = commands[1]
    assert "pytest" in test_command
    run = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "set -euo pipefail" in run
    assert f"\n({test_command})\n" in run


CURL = """#!/bin/sh
# A stand-in for GitLab's notes API: pages of notes from files, writes logged.
method=GET url=""
for arg in "$@"; do case "$arg" in PUT|POST) method=$arg;; http*) url=$arg;; esac; done
if [ "$method" = GET ]; then
  page=$(printf '%s' "$url" | sed -n 's/.*[?&]page=\\([0-9]*\\).*/\\1/p')
  cat "$NOTES/page$page.json" 2>/dev/null || echo '[]'
else
  echo "$method $url" >> "$NOTES/log"
fi
"""


def test_the_gitlab_example_finds_its_note_past_the_first_page(tmp_path: Path) -> None:
    """The note lookup read one page: on a merge request with more notes than a page
    holds, the note posted before was not found, and a second one was posted."""
    (step,) = [s for s in scripts(gitlab_example()) if "/notes" in s]
    assert "sort=asc" in step
    if shutil.which("jq") is None:  # CI must run it: a failure there, a skip elsewhere
        (pytest.fail if in_ci() else pytest.skip)("jq is not installed (.ci/install-shell-deps)")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "curl").write_text(CURL, encoding="utf-8")
    (bin_dir / "curl").chmod(0o755)
    (tmp_path / "diff.md").write_text("<!-- charters-diff -->\n## Charter changes\n")
    others = [{"id": i, "body": "Looks good"} for i in range(100)]
    mine = {"id": 151, "body": "<!-- charters-diff -->\n## Charter changes: before"}
    (tmp_path / "page1.json").write_text(json.dumps(others), encoding="utf-8")
    (tmp_path / "page2.json").write_text(json.dumps([mine]), encoding="utf-8")
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "NOTES": str(tmp_path),
        "CI_API_V4_URL": "https://gitlab.example.com/api/v4",
        "CI_PROJECT_ID": "7",
        "CI_MERGE_REQUEST_IID": "3",
        "CHARTERS_BOT_TOKEN": "token",
    }

    def run() -> str:
        subprocess.run(["sh", "-e", "-c", step], cwd=tmp_path, env=env, check=True)
        return (tmp_path / "log").read_text(encoding="utf-8")

    notes = "https://gitlab.example.com/api/v4/projects/7/merge_requests/3/notes"
    assert run() == f"PUT {notes}/151\n"
    (tmp_path / "log").unlink()
    (tmp_path / "page2.json").unlink()  # no note yet: one is posted
    assert run() == f"POST {notes}\n"
