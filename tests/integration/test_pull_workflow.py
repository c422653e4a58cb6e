"""The scheduled pull workflow: valid, and its commands run in order against a local git repo.

The steps' shell scripts are taken from .github/workflows/charters-pull.yml and run
as written, in order, with GitHub's expressions filled in, in a clone of a local
bare repository holding the examples. Only GitHub itself is not here: `gh` is a
small script on PATH that records what it was asked and answers `gh pr list` the
way GitHub would (no open pull request, then one).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from helpers import REPO_ROOT, copy_examples
from pull_helpers import EXAMPLE_EVENTS, EXAMPLE_RESULTS

from generator.diff import MARKER

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "charters-pull.yml"
GH = """#!/bin/sh
echo "$*" >> "$GH_LOG"
if [ "$1 $2" = "pr list" ]; then cat "$GH_OPEN"; fi
"""


def load() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def test_the_workflow_is_valid_and_weekly() -> None:
    workflow = load()
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads `on` as true
    (schedule,) = triggers["schedule"]
    _minute, hour, day, month, weekday = schedule["cron"].split()
    assert (day, month) == ("*", "*") and weekday.isdigit() and hour.isdigit()
    assert "workflow_dispatch" in triggers
    job = workflow["jobs"]["pull"]
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    checkout = job["steps"][0]
    assert checkout["uses"].startswith("actions/checkout@")
    assert checkout["with"]["fetch-depth"] == 0
    for step in job["steps"]:
        assert set(step) <= {"name", "id", "if", "env", "run", "uses", "with"}, step
        assert ("run" in step) != ("uses" in step), step


def branches(repo: Path) -> list[str]:
    return git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads").split()


class Runner:
    """Runs the workflow's steps as a GitHub runner would, in a clone of `origin`."""

    def __init__(self, tmp: Path, origin: Path) -> None:
        self.tmp = tmp
        self.origin = origin
        self.gh_log = tmp / "gh.log"
        self.gh_open = tmp / "gh-open"
        self.gh_open.write_text("")
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        (bin_dir / "gh").write_text(GH)
        (bin_dir / "gh").chmod(0o755)
        self.path = f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}"
        self.path += os.environ.get("PATH", "")

    def run(self, name: str) -> tuple[Path, list[str]]:
        """A fresh checkout of main, then every step; returns the checkout and the steps run."""
        work = self.tmp / name
        git(self.tmp, "clone", "-q", str(self.origin), str(work))
        workflow = load()
        outputs: dict[str, dict[str, str]] = {}
        ran: list[str] = []
        for step in workflow["jobs"]["pull"]["steps"]:
            if "uses" in step or step["name"] == "Install the generator":
                continue  # actions and the install are the runner's; the package is installed
            if "if" in step and not self._condition(step["if"], outputs):
                continue
            output_file = self.tmp / f"{name}-{len(ran)}.out"
            output_file.write_text("")
            env = {**os.environ, **workflow["env"], **_expand_all(step.get("env", {}))}
            env.update(PATH=self.path, GITHUB_OUTPUT=str(output_file), GH_LOG=str(self.gh_log),
                       GH_OPEN=str(self.gh_open), CI="true")  # fmt: skip
            script = _expand(step["run"])
            done = subprocess.run(
                ["bash", "-e", "-o", "pipefail", "-c", script],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            assert done.returncode == 0, (step["name"], done.stdout, done.stderr)
            ran.append(step["name"])
            if "id" in step:
                pairs = [line.split("=", 1) for line in output_file.read_text().splitlines()]
                outputs[step["id"]] = dict(pairs)
        return work, ran

    @staticmethod
    def _condition(text: str, outputs: dict[str, dict[str, str]]) -> bool:
        match = re.fullmatch(r"steps\.(\w+)\.outputs\.(\w+) == '(\w+)'", text.strip())
        assert match, f"the test understands only step-output conditions, not {text!r}"
        step, key, value = match.groups()
        return outputs.get(step, {}).get(key) == value


def _expand(text: str) -> str:
    values = {"github.ref_name": "main", "github.token": "token"}

    def one(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name.startswith("secrets."):
            return ""  # no warehouse here: the examples pull from the embedded DuckDB
        return values[name]

    return re.sub(r"\$\{\{([^}]*)\}\}", one, text)


def _expand_all(env: dict[str, str]) -> dict[str, str]:
    return {key: _expand(str(value)) for key, value in env.items()}


def test_the_workflow_runs_in_order_and_opens_then_updates_one_pull_request(
    tmp_path: Path,
) -> None:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    seed = copy_examples(tmp_path / "seed")
    identity = ["-c", "user.name=Test", "-c", "user.email=test@example.com"]
    git(seed, "init", "-q", "-b", "main")
    git(seed, "add", "-A")
    git(seed, *identity, "commit", "-q", "-m", "Examples")
    git(seed, "push", "-q", str(origin), "main")
    runner = Runner(tmp_path, origin)

    # Nothing new: the pull changes nothing, and no branch or pull request appears.
    _, ran = runner.run("monday-1")
    assert ran == ["Pull results"]
    assert branches(origin) == ["main"]
    assert not runner.gh_log.exists()

    # A week of new events arrives: the pull writes new rows, commits them to the pull
    # branch, and opens a pull request described by `charters diff`.
    arms = [("control", "14.2", ""), ("treatment", "11.9", "1")] * 8
    week = "".join(
        f"{950000 + i},2026-11-{10 + i % 5} 11:00:00,{arm},{minutes},0,{used}\n"
        for i, (arm, minutes, used) in enumerate(arms)
    )
    with (seed / EXAMPLE_EVENTS).open("a", encoding="utf-8") as fh:
        fh.write(week)
    git(seed, *identity, "commit", "-q", "-am", "New chat events")
    git(seed, "push", "-q", str(origin), "main")
    work, ran = runner.run("monday-2")
    assert ran == [
        "Pull results",
        "Commit the results to the pull branch",
        "Diff against the default branch",
        "Open or update the pull request",
    ]
    pulled = git(origin, "show", f"charters/pull:{EXAMPLE_RESULTS}")
    assert "2026-11-15,handle_minutes,treatment,11.9,8,0" in pulled
    assert git(origin, "log", "-1", "--format=%s", "charters/pull").startswith("Pull results (")
    diff = (work / "diff.md").read_text()
    assert diff.startswith(MARKER)
    assert "agent-reply-suggestions" in diff and "handle_minutes" in diff
    calls = runner.gh_log.read_text().splitlines()
    assert calls[0].startswith("pr list --head charters/pull --base main --state open")
    assert calls[1] == (
        "pr create --head charters/pull --base main --title Pull results --body-file diff.md"
    )

    # The next week, with that pull request still open: it is updated, not opened again.
    runner.gh_open.write_text("7\n")
    runner.gh_log.unlink()
    _, ran = runner.run("monday-3")
    assert ran[-1] == "Open or update the pull request"
    assert runner.gh_log.read_text().splitlines()[1] == "pr edit 7 --body-file diff.md"
    assert branches(origin) == ["charters/pull", "main"]


def test_the_gitlab_scheduled_pull_in_the_docs() -> None:
    """The GitLab equivalent in docs/ci.md: a scheduled job whose charters calls parse."""
    from unit.test_ci_files import commands, parse, scripts

    text = (REPO_ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```yaml\n(# \.gitlab-ci\.yml: the scheduled pull.*?)```", text, re.S)
    job = yaml.safe_load(block)["charters-pull"]
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
    calls = [args for s in scripts(job) for args in commands(s)]
    assert [args[0] for args in calls] == ["pull", "diff"]
    for args in calls:
        parse(args)
