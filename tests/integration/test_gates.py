"""Gates block only what is wrong: the real pre-commit hook and the shipped workflow.

The pre-commit hook is run by real pre-commit in a real git repository, with the
hook definition shipped in .pre-commit-hooks.yaml (as a local hook, so the
installed `charters` runs instead of a fresh environment built from the network).
The workflow is read with a YAML parser and its build job's commands are run in
order, as the runner would, on a tree whose only findings are alerts.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from factory import ab, business_metric, charter_data, guardrail, measurement, write_charter
from helpers import REPO_ROOT

HOOKS = REPO_ROOT / ".pre-commit-hooks.yaml"
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "charters.yml"
BIN = Path(sys.executable).parent


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        PRE_COMMIT_HOME=str(home / "pre-commit-cache"),
        GIT_AUTHOR_NAME="Ana Ruiz",
        GIT_AUTHOR_EMAIL="ana@example.com",
        GIT_COMMITTER_NAME="Ana Ruiz",
        GIT_COMMITTER_EMAIL="ana@example.com",
        HOME=str(home),
    )
    env.pop("GITHUB_ACTIONS", None)
    env.pop("SOURCE_DATE_EPOCH", None)
    return env


def _git(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=False
    )


def _alerting_charter() -> dict[str, Any]:
    """A valid charter whose only finding is an alert: its guardrail is breached."""
    return charter_data(
        business_metrics=[business_metric(target=15.0)],
        measurement=measurement(
            minimum_detectable_effect={"metric": "conv", "absolute": 0.5},
            guardrails=[guardrail(tolerance=5.0)],
        ),
    )


def _rows() -> list[dict[str, Any]]:
    return [*ab("2026-11-20", "conv", 10.0, 11.0, n=100_000), *ab("2026-11-20", "lat", 100, 130)]


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    if shutil.which("git") is None:
        pytest.fail("git is needed") if os.environ.get("CI") == "true" else pytest.skip("no git")
    root = tmp_path / "charters-repo"
    root.mkdir()
    env = _env(tmp_path)
    assert _git(root, env, "init", "-q", "-b", "main").returncode == 0
    write_charter(root, "alerting", _alerting_charter(), _rows())
    write_charter(root, "routing", charter_data(title="Routing"), _rows()[:2])
    (hook,) = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    local = {**hook, "language": "system"}  # the shipped hook, run with the installed tool
    config = {"repos": [{"repo": "local", "hooks": [local]}]}
    (root / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    _git(root, env, "add", "-A")
    assert _git(root, env, "commit", "-q", "-m", "Start").returncode == 0
    installed = subprocess.run(
        [str(BIN / "pre-commit"), "install"], cwd=root, env=env, capture_output=True, text=True
    )
    assert installed.returncode == 0, installed.stderr
    return root, env


def test_precommit_passes_a_commit_while_another_charter_has_an_alert(
    repo: tuple[Path, dict[str, str]],
) -> None:
    root, env = repo
    path = root / "charters" / "routing" / "charter.yaml"
    path.write_text(path.read_text().replace("Routing", "Routing v2"), encoding="utf-8")
    _git(root, env, "add", "-A")
    done = _git(root, env, "commit", "-m", "Rename routing")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "charters check" in done.stdout + done.stderr
    assert "Passed" in done.stdout + done.stderr


def test_precommit_passes_an_edit_of_the_alerting_charter_itself(
    repo: tuple[Path, dict[str, str]],
) -> None:
    root, env = repo
    path = root / "charters" / "alerting" / "charter.yaml"
    path.write_text(path.read_text().replace("Test charter", "Checkout"), encoding="utf-8")
    _git(root, env, "add", "-A")
    done = _git(root, env, "commit", "-m", "Retitle")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "MC108 alert" in done.stdout + done.stderr


def test_precommit_fails_a_commit_that_breaks_a_charter(
    repo: tuple[Path, dict[str, str]],
) -> None:
    root, env = repo
    path = root / "charters" / "routing" / "charter.yaml"
    path.write_text(path.read_text().replace("status: live", "status: shipped"), "utf-8")
    _git(root, env, "add", "-A")
    done = _git(root, env, "commit", "-m", "Break it")
    assert done.returncode != 0
    assert "charters/routing/charter.yaml" in done.stdout + done.stderr
    assert "'shipped'" in done.stdout + done.stderr
    log = _git(root, env, "log", "--oneline")
    assert "Break it" not in log.stdout


# --- the shipped workflow ----------------------------------------------------------------


def _workflow() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return data


def test_workflow_deploys_on_main_and_daily_without_gating_on_alerts() -> None:
    data = _workflow()
    triggers = data.get("on") or data.get(True)  # YAML 1.1 reads a bare `on` as true
    assert "push" in triggers and "schedule" in triggers
    assert triggers["schedule"][0]["cron"].split()[2:] == ["*", "*", "*"]  # every day
    jobs = data["jobs"]
    assert jobs["deploy"]["needs"] == "build"
    for step in jobs["build"]["steps"]:
        # Nothing in the build job is skipped or allowed to fail because of a finding (the
        # cache is saved unless the same key was restored).
        assert step.get("if", "steps.cache.outputs.cache-hit != 'true'") == (
            "steps.cache.outputs.cache-hit != 'true'"
        ), step
        assert "if" not in step or step["uses"].startswith("actions/cache/save@"), step
        assert not step.get("continue-on-error"), step
        assert "--fail-on" not in step.get("run", ""), step
        assert "--strict" not in step.get("run", ""), step


def test_workflow_build_commands_run_in_order_with_alerts_present(tmp_path: Path) -> None:
    source = tmp_path / "charters-repo"
    write_charter(source, "alerting", _alerting_charter(), _rows())
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.update(_workflow().get("env", {}))
    env["GITHUB_ACTIONS"] = "true"
    env["GITHUB_OUTPUT"] = str(tmp_path / "github-output")  # where steps set their outputs
    ran = []
    for step in _workflow()["jobs"]["build"]["steps"]:
        script = step.get("run")
        if script is None or "pip install" in script:
            continue  # actions (checkout, upload) and the install, which this venv has done
        done = subprocess.run(
            ["bash", "-e", "-c", script], cwd=source, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, (script, done.stdout, done.stderr)
        ran.append(script)
    assert any(s.startswith("charters check") for s in ran)
    assert any(s.startswith("charters build") for s in ran)
    assert (source / "site" / "index.html").is_file()  # what upload-pages-artifact publishes
    page = (source / "site" / "charters" / "alerting" / "index.html").read_text()
    assert "MC108" in page  # the alert is on the published page
    # The generator's version, part of the build cache's key, is a step output.
    outputs = (tmp_path / "github-output").read_text(encoding="utf-8")
    assert re.fullmatch(r"version=\d+\.\d+[^\s]*\n", outputs), outputs


def _gate_step() -> str:
    """The command of the pull-request job's step that fails on moved goalposts."""
    (step,) = [
        s
        for s in _workflow()["jobs"]["pull-request"]["steps"]
        if "--fail-on" in s.get("run", "") and "--format md" not in s["run"]
    ]
    assert step["env"] == {"BASE": "${{ github.base_ref }}"}
    return str(step["run"])


GATED_EDITS = {
    # A catalogued metric redefined: every charter that refs it agreed to move another.
    "catalogue-definition": ("metrics.yaml", "within 24 hours.", "within 30 days."),
    "catalogue-direction": ("metrics.yaml", "direction: increase", "direction: decrease"),
    # An agreed metric renamed with a looser target: the old one and its agreement go.
    "renamed-and-relaxed": (
        "charters/agent-reply-suggestions/charter.yaml",
        "  - id: handle_minutes\n",
        "  - id: handle_time\n",
    ),
}


def _examples_repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The examples committed on main, with `origin/main` at that commit (a pull
    request's base), and the environment git runs in."""
    repo = tmp_path / "repo"
    repo.mkdir()
    env = _env(tmp_path / "home")
    for rel in ("charters", "site.yaml", "metrics.yaml"):
        copy = shutil.copytree if (REPO_ROOT / rel).is_dir() else shutil.copy2
        copy(REPO_ROOT / rel, repo / rel)
    for args in (("init", "-q", "-b", "main"), ("add", "-A"), ("commit", "-qm", "Charters")):
        assert _git(repo, env, *args).returncode == 0
    assert _git(repo, env, "update-ref", "refs/remotes/origin/main", "HEAD").returncode == 0
    return repo, env


@pytest.mark.parametrize("edit", list(GATED_EDITS))
def test_workflow_gate_fails_on_what_moves_an_agreed_metric(tmp_path: Path, edit: str) -> None:
    """The shipped gate (`--fail-on goalpost-moved`) passed a change of metrics.yaml that
    redefines the metric each charter that refs it agreed to move, and an agreed metric
    renamed with a looser target, while the same change written as a goalpost fails it."""
    repo, env = _examples_repo(tmp_path)
    env.update(_workflow()["env"], BASE="main")  # FAIL_ON: the kinds, set once

    def gate() -> int:
        done = subprocess.run(["bash", "-e", "-c", _gate_step()], cwd=repo, env=env, check=False)
        return done.returncode

    assert gate() == 0  # nothing changed
    assert _comment(repo, env) == (0, False)
    rel, old, new = GATED_EDITS[edit]
    text = (repo / rel).read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new, 1)
    if edit == "renamed-and-relaxed":
        text = text.replace("handle_minutes", "handle_time").replace(
            "{value: 12.0,", "{value: 13.9,"
        )
        csv = repo / "charters" / "agent-reply-suggestions" / "results" / "weekly-ab.csv"
        csv.write_text(csv.read_text(encoding="utf-8").replace("handle_minutes", "handle_time"))
    (repo / rel).write_text(text, encoding="utf-8")
    assert gate() == 1
    # The comment is written and says why the job fails; the step itself passes.
    assert _comment(repo, env) == (0, True)
    # A diff that cannot run writes no comment, and fails its step.
    env["BASE"] = "no-such-branch"
    (repo / "diff.md").unlink()
    assert _comment(repo, env) == (2, False)
    assert not (repo / "diff.md").exists()
    # Nor does one that crashes, though Python exits 1 then, as a report that fails does.
    stub = tmp_path / "crashing"
    stub.mkdir()
    (stub / "charters").write_text(
        "#!/bin/sh\necho 'Traceback (most recent call last):' >&2\nexit 1\n"
    )
    (stub / "charters").chmod(0o755)
    env.update(BASE="main", PATH=f"{stub}:{env['PATH']}")
    assert _comment(repo, env) == (1, False)
    assert not (repo / "diff.md").exists()


def _comment(repo: Path, env: dict[str, str]) -> tuple[int, bool]:
    """Run the pull-request job's step that writes the comment (GitHub runs `bash -e`):
    its status, and whether diff.md says "Fails on"."""
    (step,) = [
        s for s in _workflow()["jobs"]["pull-request"]["steps"] if "--format md" in s.get("run", "")
    ]
    done = subprocess.run(
        ["bash", "-e", "-c", step["run"]], cwd=repo, env=env, capture_output=True, check=False
    )
    written = repo / "diff.md"
    fails = written.exists() and "**Fails on:** `" in written.read_text(encoding="utf-8")
    return done.returncode, fails


def _check_step() -> dict[str, Any]:
    """The pull-request job's step that annotates with `charters check`."""
    (step,) = [
        s
        for s in _workflow()["jobs"]["pull-request"]["steps"]
        if "charters check" in s.get("run", "")
    ]
    return step


def test_workflow_annotates_the_charters_the_pull_request_changed(tmp_path: Path) -> None:
    """GitHub shows ten annotations of each severity a step: the examples' four overdue
    alerts and a breached guardrail of charters a change did not touch came before its
    own new alert. The step passes the changed files, so their findings are annotated."""
    repo, env = _examples_repo(tmp_path)
    step = _check_step()
    assert step["env"] == {"BASE": "${{ github.base_ref }}"}
    assert step["shell"] == "bash"  # GitHub's bash with pipefail, as run below
    env.update(BASE="main", GITHUB_ACTIONS="true", SOURCE_DATE_EPOCH="1796515200")  # 2026-12-06

    def annotated() -> tuple[int, set[str]]:
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", step["run"]],
            cwd=repo, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        files = set(re.findall(r"^::\w+ file=([^,]+),", done.stdout, re.M))
        return done.returncode, files

    # No change: every charter is judged (the examples' overdue results are alerts).
    code, files = annotated()
    assert code == 0 and "charters/card-fraud-detection/charter.yaml" in files and len(files) > 1
    # New rows breach the routing charter's guardrail: only its findings are annotated.
    results = repo / "charters/support-ticket-routing/results/ab-test.csv"
    results.write_text(
        results.read_text(encoding="utf-8")
        + "2026-11-15,csat,control,4.4,900,0.8,\n2026-11-15,csat,treatment,3.9,900,0.8,\n",
        encoding="utf-8",
    )
    assert _git(repo, env, "commit", "-qam", "Week 14").returncode == 0
    code, files = annotated()
    assert (code, files) == (0, {"charters/support-ticket-routing/charter.yaml"})
    # A charter removed alongside is said to be gone; an error in the changed one fails.
    assert _git(repo, env, "rm", "-rq", "charters/churn-prediction").returncode == 0
    charter = repo / "charters/support-ticket-routing/charter.yaml"
    charter.write_text(
        charter.read_text(encoding="utf-8").replace("status: experiment", "status: [x")
    )
    assert _git(repo, env, "commit", "-qam", "Broken").returncode == 0
    code, files = annotated()
    assert code != 0 and files == {"charters/support-ticket-routing/charter.yaml"}  # xargs: 123
    # A change of site.yaml judges every charter again.
    (repo / "site.yaml").write_text((repo / "site.yaml").read_text() + "\n", encoding="utf-8")
    assert _git(repo, env, "commit", "-qam", "Site").returncode == 0
    assert len(annotated()[1]) > 1
    # A result file removed names its charter: the glob that read it matches nothing now.
    assert (
        _git(repo, env, "checkout", "-q", "-B", "drop", "refs/remotes/origin/main").returncode == 0
    )
    assert (
        _git(
            repo, env, "rm", "-q", "charters/agent-reply-suggestions/results/weekly-ab.csv"
        ).returncode
        == 0
    )
    assert _git(repo, env, "commit", "-qm", "Drop the A/B rows").returncode == 0
    code, files = annotated()
    assert code != 0 and files == {"charters/agent-reply-suggestions/charter.yaml"}
