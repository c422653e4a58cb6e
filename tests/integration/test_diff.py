"""`charters diff` against real git repositories: commits that add, move, break and fix.

Each test starts from a repository whose first commit holds the shipped example
charters, makes the change the issue describes, commits it, and reads the JSON and
the Markdown the command prints.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from factory import (
    ab,
    business_metric,
    charter_data,
    guardrail,
    ml_metric,
    row,
    write_charter,
)
from helpers import REPO_ROOT, copy_examples, minimal_charter
from history_repo import MORE, PRODUCTION, ROWS, charter, init_repo, stretched
from pull_helpers import in_ci

from generator.cli import main
from generator.diff import KINDS, MARKER

ROUTING = "charters/support-ticket-routing/charter.yaml"
ROUTING_RESULTS = "charters/support-ticket-routing/results/ab-test.csv"
NEW_GUARDRAIL = (
    "    - {id: reopen, name: Reopen rate, definition: Tickets reopened within 7 days.,"
    " unit: '%', direction: decrease, tolerance: {value: 1.0}}\n"
)
AGREED_TARGET = "target: {value: 15.0, by: 2026-11-15}"
AGREEMENT = "agreed: {by: [Head of Support, VP Customer Experience], on: 2026-08-05}"

# Without git these skip, but with CI=true, where they fail (.ci/install-shell-deps).
pytestmark = pytest.mark.skipif(
    shutil.which("git") is None and not in_ci(), reason="git is not installed"
)


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No user or system git configuration leaks into the tests."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)


def git(repo: Path, *args: str, when: str | None = None) -> str:
    """Run git in `repo`; `when` (ISO 8601) dates the commit it makes."""
    env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when} if when else None
    done = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=False, env=env
    )
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


class Repo:
    """A git repository of charters with helpers to edit and commit."""

    def __init__(self, root: Path, source: Path) -> None:
        self.root = root
        self.source = source

    def path(self, rel: str) -> Path:
        return self.source / rel

    def read(self, rel: str) -> str:
        return self.path(rel).read_text(encoding="utf-8")

    def write(self, rel: str, text: str) -> None:
        path = self.path(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def replace(self, rel: str, old: str, new: str) -> None:
        text = self.read(rel)
        assert text.count(old) == 1, f"{old!r} not once in {rel}"
        self.write(rel, text.replace(old, new))

    def append(self, rel: str, text: str) -> None:
        self.write(rel, self.read(rel) + text)

    def commit(self, message: str, when: str | None = None) -> None:
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "-m", message, when=when)

    def diff(self, *args: str) -> Result:
        return CliRunner().invoke(main, ["diff", *args, "--source", str(self.source)])

    def diff_json(self, *args: str) -> dict[str, Any]:
        result = self.diff(*args, "--format", "json")
        assert result.exit_code == 0, result.output
        data: dict[str, Any] = json.loads(result.stdout)
        return data


def make_repo(root: Path, subfolder: str = "") -> Repo:
    root.mkdir(parents=True)
    git(root, "init", "-q")
    git(root, "config", "user.name", "Charter Tests")
    git(root, "config", "user.email", "charters@example.com")
    git(root, "config", "commit.gpgsign", "false")
    source = root / subfolder if subfolder else root
    source.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO_ROOT / "charters", source / "charters")
    shutil.copy2(REPO_ROOT / "site.yaml", source / "site.yaml")
    shutil.copy2(REPO_ROOT / "metrics.yaml", source / "metrics.yaml")
    repo = Repo(root, source)
    repo.commit("Example charters")
    return repo


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_repo(tmp_path / "repo")


def changes(report: dict[str, Any], kind: str | None = None) -> list[dict[str, Any]]:
    return [c for c in report["changes"] if kind is None or c["kind"] == kind]


# --- the acceptance criteria -----------------------------------------------------------


def test_raising_an_agreed_target_without_new_date_moves_the_goalposts(repo: Repo) -> None:
    repo.replace(ROUTING, AGREED_TARGET, "target: {value: 16.0, by: 2026-11-15}")
    repo.commit("Make the routing target easier")

    report = repo.diff_json("HEAD~1")
    moved = changes(report, "goalpost-moved")
    assert len(moved) == 1
    assert moved[0]["charter"] == "support-ticket-routing"
    assert moved[0]["metric"] == "resolution_hours"
    assert moved[0]["field"] == "target.value"
    assert (moved[0]["before"], moved[0]["after"]) == (15.0, 16.0)
    assert "2026-08-05" in moved[0]["message"]
    assert "less ambitious" in moved[0]["message"]
    assert not changes(report, "metric-changed")
    assert report["summary"]["counts"]["goalpost-moved"] == 1

    failing = repo.diff("HEAD~1", "--fail-on", "goalpost-moved")
    assert failing.exit_code == 1
    assert "goalpost-moved" in failing.stderr
    assert failing.stdout.startswith(MARKER + "\n")
    assert "🚩 Goalpost moved" in failing.stdout
    assert "goalposts moved" in failing.stdout.split("\n\n")[1]


def test_a_target_raised_with_agreed_on_backdated_moves_the_goalposts(repo: Repo) -> None:
    repo.replace(ROUTING, AGREED_TARGET, "target: {value: 16.0, by: 2026-11-15}")
    repo.replace(ROUTING, "on: 2026-08-05}", "on: 2026-07-20}")
    repo.commit("Easier target, agreed earlier", when="2026-11-20T10:00:00Z")

    report = repo.diff_json("HEAD~1", "HEAD")
    assert report["head"]["date"] == "2026-11-20"
    (moved,) = changes(report, "goalpost-moved")
    assert (moved["field"], moved["before"], moved["after"]) == ("target.value", 15.0, 16.0)
    assert moved["reagreed"] is False
    assert "`agreed.on` moved back to 2026-07-20" in moved["message"]
    (agreement,) = changes(report, "agreement-changed")
    assert (agreement["field"], agreement["before"], agreement["after"]) == (
        "agreed.on",
        "2026-08-05",
        "2026-07-20",
    )
    assert not changes(report, "metric-changed")
    for kinds in ("goalpost-moved", "goalpost-moved-unagreed", "agreement-changed"):
        failing = repo.diff("HEAD~1", "HEAD", "--fail-on", kinds)
        assert failing.exit_code == 1, kinds
        assert kinds in failing.stderr


def test_a_renewed_agreement_keeps_the_goalpost_moved_but_reagreed(repo: Repo) -> None:
    repo.replace(ROUTING, AGREED_TARGET, "target: {value: 14.0, by: 2026-11-15}")
    repo.replace(ROUTING, "on: 2026-08-05}", "on: 2026-11-20}")
    repo.commit("Re-agreed a harder target", when="2026-11-20T10:00:00Z")

    report = repo.diff_json("HEAD~1", "HEAD")
    (moved,) = changes(report, "goalpost-moved")
    assert moved["field"] == "target.value"
    assert moved["reagreed"] is True
    assert moved["message"] == (
        "`resolution_hours` target.value: 15 → 14 (more ambitious); re-agreed by Head of"
        " Support, VP Customer Experience on 2026-11-20"
    )
    # The metric has had results since August: a renewal now is flagged as well.
    (agreement,) = changes(report, "agreement-changed")
    assert "after the metric had results" in agreement["message"]
    assert repo.diff("HEAD~1", "HEAD", "--fail-on", "goalpost-moved-unagreed").exit_code == 0
    assert repo.diff("HEAD~1", "HEAD", "--fail-on", "goalpost-moved").exit_code == 1
    markdown = repo.diff("HEAD~1", "HEAD").stdout
    # Ids stay code spans; the words around them are escaped like the charter text they quote.
    assert (
        "- 🚩 `resolution_hours` target.value: 15 → 14 \\(more ambitious\\); re-agreed by Head"
        " of Support, VP Customer Experience on 2026-11-20"
    ) in markdown

    # The same edit, its agreement dated before the change was written: not renewed.
    repo.replace(ROUTING, "on: 2026-11-20}", "on: 2026-11-18}")
    repo.commit("Agreement date as it was", when="2026-11-20T11:00:00Z")
    report = repo.diff_json("HEAD~2", "HEAD")
    (moved,) = changes(report, "goalpost-moved")
    assert moved["reagreed"] is False
    assert "is before the change (2026-11-20)" in moved["message"]
    assert repo.diff("HEAD~2", "HEAD", "--fail-on", "goalpost-moved-unagreed").exit_code == 1


def test_a_renewal_is_dated_on_the_committers_calendar(repo: Repo) -> None:
    """Re-agreed and committed at 20:00 on 19 November in California, 04:00 on the 20th
    in UTC: the renewal dated the 19th was called before the change."""
    repo.replace(ROUTING, AGREED_TARGET, "target: {value: 14.0, by: 2026-11-15}")
    repo.replace(ROUTING, "on: 2026-08-05}", "on: 2026-11-19}")
    repo.commit("Re-agreed a harder target", when="2026-11-19T20:00:00-08:00")
    report = repo.diff_json("HEAD~1", "HEAD")
    assert report["head"]["date"] == "2026-11-19"
    assert [c["reagreed"] for c in changes(report, "goalpost-moved")] == [True]


def test_a_change_is_dated_by_the_commit_that_edited_the_charter(repo: Repo) -> None:
    """Re-agreed on 20 November in the commit that moved the target; a later commit (a
    reworded summary, then GitHub's merge commit for the pull request) dated HEAD, and
    the renewal was called earlier than the change."""
    git(repo.root, "checkout", "-q", "-b", "pr")
    repo.replace(ROUTING, AGREED_TARGET, "target: {value: 14.0, by: 2026-11-15}")
    repo.replace(ROUTING, "on: 2026-08-05}", "on: 2026-11-20}")
    repo.commit("Re-agreed a harder target", when="2026-11-20T10:00:00Z")
    repo.write("charters/support-ticket-routing/NOTES.md", "Notes.\n")
    repo.commit("A note", when="2026-11-24T10:00:00Z")
    git(repo.root, "checkout", "-q", "-")
    git(repo.root, "merge", "-q", "--no-ff", "-m", "Merge pr", "pr", when="2026-11-27T10:00:00Z")
    report = repo.diff_json("HEAD~1", "HEAD")
    assert report["head"]["date"] == "2026-11-27"
    assert [c["reagreed"] for c in changes(report, "goalpost-moved")] == [True]
    assert repo.diff("HEAD~1", "HEAD", "--fail-on", "goalpost-moved-unagreed").exit_code == 0
    # Dated by that commit, a renewal dated before it is still refused.
    repo.replace(ROUTING, "on: 2026-11-20}", "on: 2026-11-18}")
    repo.commit("Agreement date as it was", when="2026-11-28T10:00:00Z")
    (moved,) = changes(repo.diff_json("HEAD~2", "HEAD"), "goalpost-moved")
    assert "is before the change (2026-11-20)" in moved["message"]


def test_a_later_edit_elsewhere_in_the_charter_does_not_undo_a_renewal(repo: Repo) -> None:
    """The change was dated by the newest commit that touched charter.yaml: a summary's
    typo fixed a week later made an agreement renewed on the day the target moved read
    as "before the change", and only a date nobody agreed on passed the gate (review)."""
    repo.replace(ROUTING, AGREED_TARGET, "target: {value: 17.0, by: 2026-11-15}")
    repo.replace(ROUTING, "on: 2026-08-05}", "on: 2026-12-01}")
    repo.commit("Softer target, re-agreed", when="2026-12-01T10:00:00Z")
    repo.replace(ROUTING, "Route each new support ticket", "Route every new support ticket")
    repo.commit("Summary reworded", when="2026-12-07T10:00:00Z")
    (moved,) = changes(repo.diff_json("HEAD~2", "HEAD"), "goalpost-moved")
    assert moved["reagreed"] is True, moved["message"]
    assert repo.diff("HEAD~2", "HEAD", "--fail-on", "goalpost-moved-unagreed").exit_code == 0
    # A goalpost moved again in the later commit is dated by it.
    repo.replace(ROUTING, "target: {value: 17.0,", "target: {value: 17.5,")
    repo.commit("Softer still", when="2026-12-08T10:00:00Z")
    (moved,) = changes(repo.diff_json("HEAD~3", "HEAD"), "goalpost-moved")
    assert moved["reagreed"] is False
    assert "is before the change (2026-12-08)" in moved["message"]


def test_a_branch_name_is_shown_as_written_in_the_summary(repo: Repo) -> None:
    """The heading escaped a revision's label, the summary paragraph printed it raw: a
    branch named with Markdown or an @mention rendered live in the comment."""
    name = "feat/_it_-@team-<b>x</b>"
    git(repo.root, "branch", name)
    repo.replace(ROUTING, "status: experiment", "status: live")
    lines = repo.diff(name).stdout.split("\n")
    heading = lines[1].removeprefix("## Charter changes: ").split(" → ")[0]
    assert heading.startswith("feat/\\_it\\_-@")
    summary = lines[3]
    assert summary.startswith(f"Between {heading} and working tree")


def test_the_first_pull_request_adding_the_charters_has_a_clean_base(tmp_path: Path) -> None:
    """A revision from before charters/ existed was said not to load cleanly."""
    root = tmp_path / "fresh"
    root.mkdir()
    init_repo(root)
    (root / "README.md").write_text("Our ML projects.\n", encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Start")
    copy_examples(root)
    result = CliRunner().invoke(main, ["diff", "HEAD", "--source", str(root)])
    assert result.exit_code == 0, result.output
    assert "does not load cleanly" not in result.stdout
    assert "validation error" not in result.stdout
    assert "9 added" in result.stdout


def test_a_goalpost_moved_while_mending_a_broken_charter_is_still_moved(repo: Repo) -> None:
    """BASE's charter did not load, so the pull request that mended it and relaxed its
    target in one change was "not compared" and passed --fail-on goalpost-moved."""
    repo.replace(ROUTING, "status: experiment", "status: experimenting")  # invalid
    repo.commit("Broken on main")
    repo.replace(ROUTING, "status: experimenting", "status: experiment")
    repo.replace(ROUTING, AGREED_TARGET, "target: {value: 16.0, by: 2026-11-15}")
    report = repo.diff_json("HEAD")
    assert [c["charter"] for c in report["not_compared"]] == ["support-ticket-routing"]
    (moved,) = changes(report, "goalpost-moved")
    assert (moved["metric"], moved["field"], moved["before"], moved["after"]) == (
        "resolution_hours",
        "target.value",
        15.0,
        16.0,
    )
    assert moved["reagreed"] is False
    assert (
        "BASE did not load, so the charter.yaml of each side was compared as written"
        in moved["message"]
    )
    assert repo.diff("HEAD", "--fail-on", "goalpost-moved").exit_code == 1
    assert repo.diff("HEAD", "--fail-on", "goalpost-moved-unagreed").exit_code == 1


@pytest.mark.parametrize(
    "breaks",
    [
        ("status: experiment", "status: experiment\nfoo: 1"),  # an unknown field
        ("on: 2026-08-05}", "on: 2099-08-05}"),  # agreed in the future
    ],
    ids=["unknown-field", "future-agreement"],
)
def test_a_goalpost_moved_in_a_change_that_breaks_the_charter_is_still_moved(
    repo: Repo, breaks: tuple[str, str]
) -> None:
    """HEAD's charter did not load, so a change that moved its target and broke it (a
    field too many, an agreement dated in the future) read "No goalpost ... changed" and
    passed --fail-on goalpost-moved."""
    repo.replace(ROUTING, *breaks)
    repo.replace(ROUTING, AGREED_TARGET, "target: {value: 19.0, by: 2026-11-15}")
    repo.commit("Relax the target")
    report = repo.diff_json("HEAD~1", "HEAD")
    assert report["not_compared"][0]["side"] == "head"
    (moved,) = changes(report, "goalpost-moved")
    assert (moved["field"], moved["before"], moved["after"]) == ("target.value", 15.0, 19.0)
    assert moved["reagreed"] is False
    assert moved["message"].endswith(
        "; HEAD did not load, so the charter.yaml of each side was compared as written"
    )
    assert repo.diff("HEAD~1", "HEAD", "--fail-on", "goalpost-moved").exit_code == 1
    assert not repo.diff("HEAD~1", "HEAD").stdout.splitlines()[3].startswith("No goalpost")


AUTOCOMPLETE = "charters/query-autocomplete/charter.yaml"


def test_a_charter_with_refs_that_stops_loading_moves_no_goalpost(repo: Repo) -> None:
    """The side that loaded was read with its `ref`s filled from metrics.yaml, the other
    as written: six goalposts 'moved' (each definition, unit and direction to none) in a
    charter whose only change was a field too many."""
    repo.append(AUTOCOMPLETE, "bogus_field: 1\n")
    repo.commit("A field too many")
    report = repo.diff_json("HEAD~1", "HEAD")
    assert [c["charter"] for c in report["not_compared"]] == ["query-autocomplete"]
    assert changes(report, "goalpost-moved") == []
    assert repo.diff("HEAD~1", "HEAD", "--fail-on", "goalpost-moved").exit_code == 0
    opening = repo.diff("HEAD~1", "HEAD").stdout.splitlines()[3]
    assert opening.startswith(
        "No goalpost, agreement, plan, metric, result, status, verdict or finding changed"
        " in the charters compared between"
    )


def test_an_agreed_metric_renamed_in_a_charter_that_stops_loading_is_reported(
    repo: Repo,
) -> None:
    """A new id and a looser target, with a field too many: "No goalpost ... changed"."""
    path = "charters/agent-reply-suggestions/charter.yaml"
    repo.replace(path, "  - id: handle_minutes", "  - id: handle_time")
    repo.replace(
        path, "target: {value: 12.0, by: 2026-12-31}", "target: {value: 13.9, by: 2026-12-31}"
    )
    repo.append(path, "bogus_field: 1\n")
    repo.commit("Rename, relax, break")
    report = repo.diff_json("HEAD~1", "HEAD")
    (removed,) = changes(report, "agreement-changed")
    assert (removed["charter"], removed["metric"]) == ("agent-reply-suggestions", "handle_minutes")
    assert removed["message"] == (
        "business metric `handle_minutes` removed, and its agreement with it; HEAD did not"
        " load, so the charter.yaml of each side was compared as written"
    )
    assert repo.diff("HEAD~1", "HEAD", "--fail-on", "agreement-changed").exit_code == 1


def test_three_dots_compare_with_where_the_branches_forked(repo: Repo) -> None:
    """`main...HEAD` was refused as no revision; it is the merge base, as in `git diff`."""
    main_branch = git(repo.root, "rev-parse", "--abbrev-ref", "HEAD").strip()
    git(repo.root, "checkout", "-q", "-b", "pr")
    repo.replace(ROUTING, "status: experiment", "status: live")
    repo.commit("Go live")
    git(repo.root, "checkout", "-q", main_branch)
    repo.replace(ROUTING, AGREED_TARGET, "target: {value: 16.0, by: 2026-11-15}")
    repo.commit("Main moved on")
    git(repo.root, "checkout", "-q", "pr")
    report = repo.diff_json(f"{main_branch}...HEAD", "HEAD")
    assert [c["kind"] for c in report["changes"]] == ["status-changed"]
    assert report["base"]["spec"] == f"{main_branch}...HEAD"


def test_two_dots_are_a_range_to_give_as_two_revisions(repo: Repo) -> None:
    """`main..HEAD` was "not found in this repository" with advice to fetch it."""
    result = repo.diff("main..HEAD")
    assert result.exit_code == 2  # a side that cannot be read
    assert result.stderr.strip() == (
        "error: BASE 'main..HEAD' is a range, not a revision: give its two ends,"
        " `charters diff main HEAD` (or `main...HEAD` for where they forked)"
    )


def test_a_tree_a_blob_or_a_file_is_no_revision_and_not_one_to_fetch(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`HEAD:charters` and `HEAD^{tree}` name objects that are there, and `site.yaml` a
    file: each was "not found in this repository", with advice to fetch it."""
    git(repo.root, "tag", "-a", "-m", "The charters' folder", "folder-tag", "HEAD:charters")
    for spec, kind in (
        ("HEAD:charters", "tree"),
        ("HEAD^{tree}", "tree"),
        ("HEAD:site.yaml", "blob"),
        ("folder-tag", "tag of a tree"),
    ):
        result = repo.diff(spec)
        assert result.exit_code == 2
        assert result.stderr.strip() == (
            f"error: BASE {spec!r} names a git {kind}, not a commit: give a commit (a branch,"
            " a tag of a commit or a commit id), or a folder"
        )
    monkeypatch.chdir(repo.source)
    result = repo.diff("site.yaml")
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == "error: BASE 'site.yaml' is a file, not a folder, and no git revision"
    )
    assert "was not found in this repository" in repo.diff("no-such-branch").stderr


def test_a_folder_named_as_the_revision_is_refused_not_compared_in_its_place(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change could add a folder `origin/main/` holding its own charters: CI's
    `charters diff origin/main` compared the change with itself, "no goalpost changed",
    and `--fail-on goalpost-moved` passed while a target had moved."""
    git(repo.root, "update-ref", "refs/remotes/origin/main", "HEAD")
    repo.replace(ROUTING, AGREED_TARGET, "target: {value: 19.0, by: 2026-11-15}")
    shutil.copytree(repo.path("charters"), repo.path("origin/main/charters"))
    shutil.copy2(repo.path("site.yaml"), repo.path("origin/main/site.yaml"))
    shutil.copy2(repo.path("metrics.yaml"), repo.path("origin/main/metrics.yaml"))
    repo.commit("Move the target, and bring a base of my own")
    monkeypatch.chdir(repo.root)
    result = repo.diff("origin/main", "--fail-on", "goalpost-moved")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: BASE 'origin/main' is both a folder and a git revision: write './origin/main'"
        " for the folder, or 'origin/main^0' for the revision (a folder of that name added"
        " by a change would be compared in the revision's place)"
    )
    assert repo.diff_json("./origin/main")["changes"] == []  # the folder, as asked
    assert repo.diff("origin/main^0", "--fail-on", "goalpost-moved").exit_code == 1
    # Where they forked, as docs/diff.md suggests: the folder won again.
    shutil.copytree(repo.path("origin/main"), repo.path("origin/main...HEAD"))
    forked = repo.diff("origin/main...HEAD", "--fail-on", "goalpost-moved")
    assert forked.exit_code == 2 and "is both a folder and a git revision" in forked.stderr
    shutil.rmtree(repo.path("origin"))
    assert repo.diff("origin/main", "--fail-on", "goalpost-moved").exit_code == 1


@pytest.mark.parametrize("spec", ["refs/../../x", "a..b..c", "a..b...c"])
def test_a_spec_with_dots_that_is_no_range_is_not_split_into_one(repo: Repo, spec: str) -> None:
    """`refs/../../x` was told to be given as `charters diff refs/ /../x`."""
    result = repo.diff(spec)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: BASE {spec!r} is not a valid revision: a name cannot hold '..', and a range"
        " holds it once (`main..HEAD`, `main...HEAD`)"
    )


def test_the_working_tree_is_dated_today(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795348800")  # 2026-11-22 12:00 UTC
    repo.replace(ROUTING, AGREED_TARGET, "target: {value: 14.0, by: 2026-11-15}")
    repo.replace(ROUTING, "on: 2026-08-05}", "on: 2026-11-22}")
    report = repo.diff_json("HEAD")
    assert report["head"]["date"] == "2026-11-22"
    assert [c["reagreed"] for c in changes(report, "goalpost-moved")] == [True]


def test_dropping_a_signatory_changes_the_agreement(repo: Repo) -> None:
    repo.replace(ROUTING, "[Head of Support, VP Customer Experience]", "[Head of Support]")
    repo.commit("Only support signs now")
    report = repo.diff_json("HEAD~1")
    (changed,) = changes(report, "agreement-changed")
    assert (changed["metric"], changed["field"]) == ("resolution_hours", "agreed.by")
    assert changed["after"] == ["Head of Support"]
    assert "VP Customer Experience no longer agreed" in changed["message"]
    assert "**agreement changed** on 1 metric" in report["summary"]["text"]
    assert "🚩 Agreement changed" in repo.diff("HEAD~1").stdout
    assert repo.diff("HEAD~1", "--fail-on", "agreement-changed").exit_code == 1


def test_removing_the_agreement_while_changing_the_definition_moves_the_goalposts(
    repo: Repo,
) -> None:
    repo.replace(ROUTING, f"    {AGREEMENT}\n", "")
    repo.replace(ROUTING, "excluding tickets waiting on the customer", "excluding escalations")
    repo.commit("Redefine resolution time")

    report = repo.diff_json("HEAD~1")
    moved = changes(report, "goalpost-moved")
    assert [(c["field"], c["reagreed"]) for c in moved] == [("definition", False)]
    assert [c["field"] for c in changes(report, "agreement-changed")] == ["agreed"]
    # The change is past the first 77 characters: the message shows where it is.
    assert "tickets, excluding tickets waiting on the customer. → …" in moved[0]["message"]
    assert "tickets, excluding escalations." in moved[0]["message"]


def test_progress_is_also_shown_against_the_original_goalposts(repo: Repo) -> None:
    repo.replace(ROUTING, AGREED_TARGET, "target: {value: 18.0, by: 2026-11-15}")
    repo.append(
        ROUTING_RESULTS,
        "2026-11-22,resolution_hours,control,18.5,3050,13.6,\n"
        "2026-11-22,resolution_hours,treatment,17.6,3010,13.4,\n",
    )
    repo.commit("Week 13, and a target within reach")
    report = repo.diff_json("HEAD~1")
    (moved,) = changes(report, "goalpost-moved")
    assert moved["original_goalposts"]["target"] == 15.0
    assert moved["original_goalposts"]["met"] is False
    assert moved["original_goalposts"]["verdict"] == "business-impact"
    (added,) = changes(report, "results-added")
    assert added["after"]["met"] is True
    verdict = [c for c in changes(report, "verdict-changed") if c["charter"].startswith("support")]
    assert [c["after"] for c in verdict] == ["target-met"]
    markdown = repo.diff("HEAD~1").stdout
    row = next(line for line in markdown.splitlines() if line.startswith("| `resolution_hours`"))
    assert "✓ met; against the goalpost when results began: 25.7% of the way to 15 hours" in row
    assert (
        "Verdict against the goalposts in force when results began: **Business impact**"
        " (against the new goalposts: Target met)." in markdown
    )


def test_a_row_of_a_new_arm_that_changes_the_compared_arm_is_flagged(repo: Repo) -> None:
    """The arm named `treatment` (without case), else the only arm beside control, is
    compared with control: a pair of an arm named so switched the judged experiment, and
    the diff showed only rows added. (Two arms beside control, none named `treatment`,
    are refused: which one the model is would be a guess; so is a `treatment` with no
    control row on its dates beside an arm that has.)"""
    text = repo.read(ROUTING_RESULTS).replace(",treatment,", ",alpha,")
    repo.write(ROUTING_RESULTS, text)
    repo.commit("The treatment arm is called alpha")
    repo.append(
        ROUTING_RESULTS,
        "2026-11-15,resolution_hours,control,15.0,3000,13.7,\n"
        "2026-11-15,resolution_hours,Treatment,14.0,3000,13.7,\n",
    )
    repo.commit("A Treatment arm, beside control")
    (added,) = changes(repo.diff_json("HEAD~1", "HEAD"), "results-added")
    assert added["flagged"] is True and added["compared_arm"] == ["alpha", "Treatment"]
    assert "the arm compared with control is now 'Treatment', not 'alpha'" in added["message"]
    assert "🚩" in repo.diff("HEAD~1", "HEAD").stdout


def test_rows_that_move_a_guardrails_first_result_are_flagged(repo: Repo) -> None:
    """A guardrail without a control arm or a baseline is judged against its first
    result: a row dated before it moved the reference and cleared a breach, unflagged."""
    repo.replace(
        ROUTING,
        "  decision_rule:",
        "    - {id: wait, name: Wait, unit: minutes, direction: decrease,"
        " tolerance: {value: 2}}\n  decision_rule:",
    )
    repo.write(
        "charters/support-ticket-routing/results/wait.csv",
        "date,metric,variant,value\n2026-10-04,wait,treatment,9\n2026-10-11,wait,treatment,11.8\n",
    )
    repo.commit("A wait guardrail, breached: 11.8 against a first result of 9")
    repo.append(
        "charters/support-ticket-routing/results/wait.csv", "2026-09-27,wait,treatment,10.5\n"
    )
    repo.commit("A week before the first")
    (added,) = changes(repo.diff_json("HEAD~1", "HEAD"), "results-added")
    assert added["metric"] == "wait" and added["flagged"] is True
    assert added["message"].endswith(
        "; judged against its first result, now 10.5 minutes on 2026-09-27"
        " (was 9 minutes on 2026-10-04)"
    )
    repo.append(
        "charters/support-ticket-routing/results/wait.csv", "2026-10-18,wait,treatment,11\n"
    )
    repo.commit("A week after the last")
    (added,) = changes(repo.diff_json("HEAD~1", "HEAD"), "results-added")
    assert "flagged" not in added  # the reference stays


def test_new_result_rows_show_the_latest_value_before_and_after(repo: Repo) -> None:
    # resolution_hours: lower is better; the last treatment row in the examples is 18.2.
    repo.append(
        ROUTING_RESULTS,
        "2026-11-22,resolution_hours,control,18.5,3050,13.6,\n"
        "2026-11-22,resolution_hours,treatment,17.6,3010,13.4,\n",
    )
    repo.commit("Week 13")

    report = repo.diff_json("HEAD~1")
    (added,) = changes(report, "results-added")
    assert added["metric"] == "resolution_hours"
    assert added["before"]["value"] == 18.2
    assert added["after"] == {
        "date": "2026-11-22",
        "value": 17.6,
        "variant": "treatment",
        "progress": pytest.approx((17.6 - 18.5) / (15.0 - 18.5)),
        "met": False,
        "status": "improved",  # −0.9 hours against control, the interval below zero
    }
    assert added["trend"] == "improved"
    assert added["rows"] == {"added": 2, "revised": 0, "removed": 0}
    assert report["summary"]["trends"]["improved"] == 1

    markdown = repo.diff("HEAD~1").stdout
    row = next(line for line in markdown.splitlines() if line.startswith("| `resolution_hours`"))
    assert "18.2 hours" in row and "17.6 hours" in row
    assert "▲ improved" in row
    assert "of the way to 15 hours" in row
    assert repo.diff("HEAD~1", "--fail-on", "regressed").exit_code == 0

    # A week where treatment falls back behind control: improved → did not move.
    repo.append(
        ROUTING_RESULTS,
        "2026-11-29,resolution_hours,control,18.3,3000,13.5,\n"
        "2026-11-29,resolution_hours,treatment,18.9,3000,13.5,\n",
    )
    repo.commit("Week 14")
    report = repo.diff_json("HEAD~1")
    (added,) = changes(report, "results-added")
    assert (added["before"]["value"], added["after"]["value"]) == (17.6, 18.9)
    assert (added["before"]["status"], added["after"]["status"]) == ("improved", "flat")
    assert added["trend"] == "regressed"
    regressed = repo.diff("HEAD~1", "--fail-on", "regressed")
    assert regressed.exit_code == 1
    assert "▼ regressed (Improved → Did not move)" in regressed.stdout


def test_a_non_significant_csat_drop_is_not_a_regression(repo: Repo) -> None:
    # CSAT, a guardrail with tolerance 0.1: 4.31 → 4.30 with n ≈ 900 is noise.
    repo.append(
        ROUTING_RESULTS,
        "2026-11-15,csat,control,4.31,905,1.02,\n2026-11-15,csat,treatment,4.3,890,1.01,\n",
    )
    repo.commit("CSAT week 12")
    report = repo.diff_json("HEAD~1")
    (added,) = changes(report, "results-added")
    assert (added["before"]["value"], added["after"]["value"]) == (4.31, 4.3)
    assert (added["trend"], added["after"]["breached"]) == ("unchanged", False)
    assert repo.diff("HEAD~1", "--fail-on", "regressed").exit_code == 0

    # A drop of 0.2 against control breaches the guardrail: a real regression.
    repo.append(
        ROUTING_RESULTS,
        "2026-11-22,csat,control,4.31,905,1.02,\n2026-11-22,csat,treatment,4.11,890,1.01,\n",
    )
    repo.commit("CSAT week 13")
    report = repo.diff_json("HEAD~1")
    (added,) = changes(report, "results-added")
    assert (added["trend"], added["after"]["breached"]) == ("regressed", True)
    failing = repo.diff("HEAD~1", "--fail-on", "regressed")
    assert failing.exit_code == 1
    assert "> ⚠️ **Alerts:** `MC108` guardrail-breached" in failing.stdout
    assert "▼ regressed (within tolerance → Breached)" in failing.stdout


def test_a_metric_that_falls_below_its_target_regresses(repo: Repo) -> None:
    # routing_precision: higher is better, target 0.92, met at 0.95 in the examples.
    repo.append(
        ROUTING_RESULTS,
        "2026-11-22,routing_precision,control,0.7,3050,,\n"
        "2026-11-22,routing_precision,treatment,0.9,3010,,\n",
    )
    repo.commit("Precision down")
    (added,) = changes(repo.diff_json("HEAD~1"), "results-added")
    assert added["metric"] == "routing_precision"
    assert (added["before"]["met"], added["after"]["met"]) == (True, False)
    # Still far better than control, but no longer at the target: met → improved.
    assert (added["before"]["status"], added["after"]["status"]) == ("met", "improved")
    assert added["trend"] == "regressed"

    repo.append(ROUTING_RESULTS, "2026-11-29,routing_precision,treatment,0.97,3010,,\n")
    repo.commit("Precision up")
    (added,) = changes(repo.diff_json("HEAD~1"), "results-added")
    # Its control row not in yet, the week is judged at the newest pair too, and keeps
    # the worse of the two: it was met on the treatment's value alone.
    assert (added["after"]["value"], added["after"]["status"]) == (0.97, "improved")
    assert added["trend"] == "unchanged"
    repo.append(ROUTING_RESULTS, "2026-11-29,routing_precision,control,0.7,3050,,\n")
    repo.commit("Its control row")
    (added,) = changes(repo.diff_json("HEAD~1"), "results-added")
    assert (added["after"]["value"], added["after"]["status"]) == (0.97, "met")
    assert added["trend"] == "improved"


def test_editing_a_past_row_rewrites_results(repo: Repo) -> None:
    repo.replace(
        ROUTING_RESULTS,
        "2026-08-23,resolution_hours,treatment,18.7,",
        "2026-08-23,resolution_hours,treatment,17.0,",
    )
    repo.commit("Rewrite history")
    report = repo.diff_json("HEAD~1")
    assert not changes(report, "results-added")
    (rewritten,) = changes(report, "results-rewritten")
    assert rewritten["metric"] == "resolution_hours"
    assert rewritten["rows"] == {"added": 0, "revised": 1, "removed": 0}
    assert [(r["value"], r["file"], r["line"]) for r in rewritten["before"]] == [
        (18.7, ROUTING_RESULTS, 3)
    ]
    assert [r["value"] for r in rewritten["after"]] == [17.0]
    assert "1 past row revised (2026-08-23 treatment: 18.7 hours" in rewritten["message"]
    assert "new results" not in report["summary"]["text"]
    assert "**past results rewritten** on 1 metric" in report["summary"]["text"]
    assert repo.diff("HEAD~1", "--fail-on", "results-rewritten").exit_code == 1
    assert "🚩 Results rewritten" in repo.diff("HEAD~1").stdout


def test_deleting_a_past_row_rewrites_results(repo: Repo) -> None:
    repo.replace(ROUTING_RESULTS, "2026-08-23,resolution_hours,treatment,18.7,3027,13.6,\n", "")
    repo.commit("Drop the warm-up week")
    (rewritten,) = changes(repo.diff_json("HEAD~1"), "results-rewritten")
    assert rewritten["rows"] == {"added": 0, "revised": 0, "removed": 1}
    assert rewritten["after"] == []
    assert "1 past row removed" in rewritten["message"]


def test_a_broken_charter_in_base_is_reported_not_a_crash(repo: Repo) -> None:
    good = repo.read(ROUTING)
    repo.write(ROUTING, good.replace("status: experiment", "status: [experiment"))
    repo.commit("Broken")
    repo.write(ROUTING, good.replace("status: experiment", "status: live"))
    repo.commit("Fixed, and live")

    result = repo.diff("HEAD~1", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["base"]["ok"] is False
    assert report["head"]["ok"] is True
    assert report["base"]["failed"] == ["support-ticket-routing"]
    assert any(e["file"] == ROUTING for e in report["base"]["errors"])
    assert [x["charter"] for x in report["not_compared"]] == ["support-ticket-routing"]
    assert report["not_compared"][0]["side"] == "base"
    assert not changes(report, "charter-added")  # present in BASE, only unreadable
    assert "BASE" in report["summary"]["text"]

    markdown = repo.diff("HEAD~1")
    assert markdown.exit_code == 0
    assert "does not load cleanly" in markdown.stdout
    assert ROUTING in markdown.stdout
    assert "Not compared" in markdown.stdout
    assert repo.diff("HEAD~1", "--fail-on", "invalid").exit_code == 1
    assert repo.diff("HEAD~1", "--fail-on", "goalpost-moved").exit_code == 0


def test_a_warning_does_not_make_a_side_invalid(repo: Repo) -> None:
    """A result file the charter does not list is a warning: `check` passes (0 errors, 1
    warning), so `diff` does not call the side invalid, nor count a validation error."""
    repo.append("charters/card-fraud-detection/charter.yaml", "results: [results/ab-test.csv]\n")
    repo.commit("Lists one of its two result files")
    check = CliRunner().invoke(main, ["check", "--source", str(repo.source)])
    assert check.exit_code == 0 and "0 errors, 1 warning" in check.output, check.output

    report = repo.diff_json("HEAD~1")
    assert report["head"]["ok"] is True and report["head"]["errors"] == []
    assert "validation error" not in report["summary"]["text"]
    assert "does not load cleanly" not in repo.diff("HEAD~1").stdout
    assert repo.diff("HEAD~1", "--fail-on", "invalid").exit_code == 0


def test_a_charter_that_no_longer_loads_has_one_section_with_its_moved_goalpost(
    repo: Repo,
) -> None:
    """Its goalposts are compared as written; the comment gave it two sections, the
    second saying it was not compared (review)."""
    repo.replace(ROUTING, AGREED_TARGET, "target: {value: 17.0, by: 2026-11-15}")
    repo.replace(ROUTING, "    unit: hours\n", "    unit: hours\n    targte_note: typo\n")
    repo.commit("Soften, with a typo")
    markdown = repo.diff("HEAD~1").stdout
    assert markdown.count("### `support-ticket-routing`") == 1
    section = markdown[markdown.index("### `support-ticket-routing`") :]
    assert "Goalpost moved" in section and "Not compared: it did not load in HEAD" in section


def test_a_side_given_as_head_is_named_once(repo: Repo) -> None:
    """It read "HEAD (HEAD (2195761c54)) has 1 validation error" (review)."""
    repo.replace(ROUTING, "status: experiment", "status: [experiment")
    repo.commit("Broken")
    result = repo.diff("HEAD~1", "HEAD")
    assert "HEAD (HEAD" not in result.stdout
    sha = git(repo.root, "rev-parse", "--short=10", "HEAD").strip()
    assert f"HEAD \\({sha}\\) has 1 validation error" in result.stdout
    assert f"**HEAD \\({sha}\\) does not load cleanly:**" in result.stdout


def test_charters_that_loaded_are_compared_when_another_is_broken(repo: Repo) -> None:
    repo.append("charters/churn-prediction/charter.yaml", "tittle: typo\n")
    repo.replace(ROUTING, "status: experiment", "status: live")
    repo.commit("Typo in churn, routing goes live")

    report = repo.diff_json("HEAD~1")
    assert report["head"]["ok"] is False
    assert report["head"]["failed"] == ["churn-prediction"]
    (status,) = changes(report, "status-changed")
    assert (status["charter"], status["before"], status["after"]) == (
        "support-ticket-routing",
        "experiment",
        "live",
    )


# --- charters added, removed, renamed ---------------------------------------------------


def test_a_new_charter_is_added_with_its_findings(repo: Repo) -> None:
    result = CliRunner().invoke(main, ["new", "pricing-model", "--source", str(repo.source)])
    assert result.exit_code == 0, result.output
    repo.commit("Propose a pricing model")

    report = repo.diff_json("HEAD~1")
    (added,) = changes(report, "charter-added")
    assert added["charter"] == "pricing-model"
    assert added["after"]["status"] == "proposed"
    assert added["message"].endswith("(Proposed; verdict No results)"), added["message"]
    assert report["head"]["ok"] is True
    findings = [c for c in changes(report, "finding-added") if c["charter"] == "pricing-model"]
    assert findings, "a proposed charter without a human baseline has an info finding"


def test_removed_and_renamed_charters(repo: Repo) -> None:
    git(repo.root, "mv", "charters/search-ranking", "charters/product-search-ranking")
    shutil.rmtree(repo.path("charters/review-summarisation"))
    repo.commit("Rename search, drop summaries")

    report = repo.diff_json("HEAD~1")
    removed = {c["charter"]: c for c in changes(report, "charter-removed")}
    added = {c["charter"]: c for c in changes(report, "charter-added")}
    assert set(removed) == {"search-ranking", "review-summarisation"}
    assert set(added) == {"product-search-ranking"}
    assert removed["search-ranking"]["renamed_to"] == "product-search-ranking"
    assert added["product-search-ranking"]["renamed_from"] == "search-ranking"
    assert added["product-search-ranking"]["message"] == (
        "charter `product-search-ranking` renamed from `search-ranking`; its old address is"
        " gone unless it lists `aliases: [search-reranker, search-ranking]`"
    )
    assert "renamed_to" not in removed["review-summarisation"]
    assert report["summary"]["counts"]["charter-removed"] == 2
    # Removed with an agreed business metric: flagged (a rename is not).
    assert removed["review-summarisation"]["flagged"] is True
    assert "flagged" not in removed["search-ranking"]


def test_a_charter_removed_with_its_results_is_flagged(repo: Repo) -> None:
    """Deleting a charter that did not work, rather than retiring it, took its No impact
    verdict, its agreements and its result rows out of the portfolio with one unflagged
    line, and passed `--fail-on flagged`."""
    shutil.rmtree(repo.path("charters/churn-prediction"))
    repo.commit("Drop churn")
    (removed,) = changes(repo.diff_json("HEAD~1"), "charter-removed")
    assert removed["flagged"] is True
    assert removed["message"] == (
        "charter `churn-prediction` removed: Subscriber churn prediction (verdict No impact;"
        " 2 agreed business metrics, 48 result rows removed with it, where `status: retired`"
        " keeps them)"
    )
    assert "| 🚩 Charter removed |" in repo.diff("HEAD~1").stdout
    assert repo.diff("HEAD~1", "--fail-on", "flagged").exit_code == 1
    # Its agreed metrics take their agreements with them, as one removed alone does, so
    # the shipped gate fails on it too.
    agreements = changes(repo.diff_json("HEAD~1"), "agreement-changed")
    assert [(c["metric"], c["message"]) for c in agreements] == [
        ("monthly_churn_rate", "business metric `monthly_churn_rate` removed with its charter,"
         " and its agreement with it (it was agreed by Chief Revenue Officer, Head of Growth on"
         " 2026-01-09)"),
        ("arpu", "business metric `arpu` removed with its charter, and its agreement with it (it"
         " was agreed by Chief Revenue Officer on 2026-01-09)"),
    ]  # fmt: skip
    gate = "goalpost-moved,catalogue-changed,agreement-changed"
    assert repo.diff("HEAD~1", "--fail-on", gate).exit_code == 1


def test_a_charter_added_again_is_compared_with_the_version_removed(repo: Repo) -> None:
    """Removed in one pull request (flagged, and perhaps accepted as a clean-up) and added
    back with a softer target in the next: the second said only "charter added", and
    passed `--fail-on goalpost-moved`."""
    kept = repo.read(ROUTING)
    shutil.rmtree(repo.path("charters/support-ticket-routing"))
    repo.commit("Drop routing", when="2026-09-01T10:00:00Z")
    removed = git(repo.root, "rev-parse", "HEAD").strip()[:10]
    repo.write(ROUTING, kept.replace(AGREED_TARGET, "target: {value: 17.0, by: 2026-11-15}"))
    shutil.copytree(
        REPO_ROOT / "charters/support-ticket-routing/results",
        repo.path("charters/support-ticket-routing/results"),
    )
    report = repo.diff_json("HEAD")
    (added,) = changes(report, "charter-added")
    assert added["message"].endswith(f"; added again, after its removal in {removed} (2026-09-01)")
    assert added["removed_in"] == removed
    (moved,) = changes(report, "goalpost-moved")
    assert (moved["metric"], moved["field"], moved["before"], moved["after"]) == (
        "resolution_hours",
        "target.value",
        15.0,
        17.0,
    )
    assert moved["reagreed"] is False
    assert moved["message"] == (
        f"`resolution_hours` target.value: 15 → 17; the charter was removed in {removed}"
        " (2026-09-01) and is added again: compared with the version removed, after it was"
        " agreed by Head of Support, VP Customer Experience on 2026-08-05, without a renewed"
        " agreement (same `agreed.on`)"
    )
    assert repo.diff("HEAD", "--fail-on", "goalpost-moved").exit_code == 1
    # Added back as it was: the same note, nothing moved.
    repo.write(ROUTING, kept)
    report = repo.diff_json("HEAD")
    assert changes(report, "charter-added")[0]["removed_in"] == removed
    assert changes(report, "goalpost-moved") == []
    assert repo.diff("HEAD", "--fail-on", "goalpost-moved").exit_code == 0


def test_a_charter_added_again_with_a_past_row_changed_says_its_rows_were_rewritten(
    repo: Repo,
) -> None:
    """The page flags a row changed while the charter was away; the gate passed it: BASE
    has no such charter, so `--fail-on results-rewritten` found nothing to compare."""
    kept = repo.read(ROUTING)
    rows = repo.read(ROUTING_RESULTS)
    shutil.rmtree(repo.path("charters/support-ticket-routing"))
    repo.commit("Drop routing", when="2026-09-01T10:00:00Z")
    removed = git(repo.root, "rev-parse", "HEAD").strip()[:10]
    repo.write(ROUTING, kept)
    bad = "2026-08-23,resolution_hours,treatment,18.7,3027,13.6,"
    assert bad in rows
    repo.write(ROUTING_RESULTS, rows.replace(bad, bad.replace(",18.7,", ",16.1,")))
    report = repo.diff_json("HEAD")
    (rewritten,) = changes(report, "results-rewritten")
    assert (rewritten["charter"], rewritten["metric"]) == (
        "support-ticket-routing",
        "resolution_hours",
    )
    assert rewritten["message"] == (
        "`resolution_hours`: 1 past row revised (2026-08-23 treatment: 18.7 hours (n 3027,"
        " std 13.6) → 16.1 hours (n 3027, std 13.6)); the charter was removed in"
        f" {removed} (2026-09-01) and is added again: compared with the version"
        " removed"
    )
    assert [r["value"] for r in rewritten["before"]] == [18.7]
    assert [r["value"] for r in rewritten["after"]] == [16.1]
    assert repo.diff("HEAD", "--fail-on", "results-rewritten").exit_code == 1
    # A row left out is gone from the evidence, as in any change.
    repo.write(ROUTING_RESULTS, rows.replace(bad + "\n", ""))
    (gone,) = changes(repo.diff_json("HEAD"), "results-rewritten")
    assert gone["message"].startswith("`resolution_hours`: 1 past row removed (2026-08-23")
    # Back as they were: nothing rewritten, the gate passes.
    repo.write(ROUTING_RESULTS, rows)
    assert changes(repo.diff_json("HEAD"), "results-rewritten") == []
    assert repo.diff("HEAD", "--fail-on", "results-rewritten").exit_code == 0
    # Its metric renamed as it came back, rows and all: read through the rename.
    repo.write(ROUTING, kept.replace("resolution_hours", "ttr_hours"))
    repo.write(ROUTING_RESULTS, rows.replace("resolution_hours", "ttr_hours"))
    assert changes(repo.diff_json("HEAD"), "results-rewritten") == []


def _dropped(
    repo: Repo, body: dict[str, Any], rows: list[dict[str, Any]], when: str | None = None
) -> str:
    """Charter a added with `rows`, then removed (at `when`), in two commits; the
    removal's short hash."""
    write_charter(repo.source, "a", body, rows)
    repo.commit("Add a")
    shutil.rmtree(repo.path("charters/a"))
    repo.commit("Drop a", when=when)
    return git(repo.root, "rev-parse", "HEAD").strip()[:10]


def test_a_charter_added_again_with_a_softer_rule_has_its_verdict_flagged(repo: Repo) -> None:
    """Removed at "No impact" and added back with a cadence no production row is judged
    by: "Business impact", which an edit brought, went through as a new charter's."""
    body = charter(12.0)
    removed = _dropped(repo, body, PRODUCTION, "2026-09-01T10:00:00Z")
    write_charter(repo.source, "a", stretched(body), PRODUCTION)
    report = repo.diff_json("HEAD")
    (verdict,) = changes(report, "verdict-changed")
    assert (verdict["charter"], verdict["before"], verdict["after"], verdict["flagged"]) == (
        "a",
        "no-impact",
        "business-impact",
        True,
    )
    assert verdict["message"] == (
        "verdict: No impact → Business impact (an edit since the removal: the version removed"
        f" gives the same results No impact); the charter was removed in {removed}"
        " (2026-09-01) and is added again: compared with the version removed"
    )
    assert repo.diff("HEAD", "--fail-on", "flagged").exit_code == 1
    # Added back as it was: the same verdict, nothing to tell.
    write_charter(repo.source, "a", body, PRODUCTION)
    assert changes(repo.diff_json("HEAD"), "verdict-changed") == []


def test_a_charter_added_again_is_compared_with_its_rows_removed_a_commit_before_it(
    repo: Repo,
) -> None:
    """A pull request merged commit by commit removed the results, then the charter: read
    at the removal, the version removed had no rows, and a row changed on the way back
    passed `--fail-on results-rewritten`."""
    kept, rows = repo.read(ROUTING), repo.read(ROUTING_RESULTS)
    repo.path(ROUTING_RESULTS).unlink()
    repo.commit("Drop the results", when="2026-08-31T10:00:00Z")
    shutil.rmtree(repo.path("charters/support-ticket-routing"))
    repo.commit("Drop routing", when="2026-09-01T10:00:00Z")
    repo.write(ROUTING, kept)
    bad = "2026-08-23,resolution_hours,treatment,18.7,3027,13.6,"
    repo.write(ROUTING_RESULTS, rows.replace(bad, bad.replace(",18.7,", ",16.1,")))
    (rewritten,) = changes(repo.diff_json("HEAD"), "results-rewritten")
    assert rewritten["message"].startswith("`resolution_hours`: 1 past row revised (2026-08-23")
    assert repo.diff("HEAD", "--fail-on", "results-rewritten").exit_code == 1


CHANGED = [*PRODUCTION[:3], {**PRODUCTION[3], "value": 11.4}, *PRODUCTION[4:]]


@pytest.mark.parametrize("between", ["another-commit", "a-note-added-with-it"])
def test_rows_removed_shortly_before_a_charter_are_compared_when_it_is_added_again(
    repo: Repo, between: str
) -> None:
    """Its results removed, then a commit of something else (or a note added to the
    folder in the same commit), then the charter: the changed row went through."""
    body = charter(12.0)
    write_charter(repo.source, "a", body, PRODUCTION)
    repo.commit("Add a")
    repo.path("charters/a/results/results.csv").unlink()
    if between == "a-note-added-with-it":
        repo.write("charters/a/NOTES.md", "Results withdrawn.\n")
    repo.commit("Drop the results")
    if between == "another-commit":
        repo.write("README.md", "Notes.\n")
        repo.commit("Readme")
    shutil.rmtree(repo.path("charters/a"))
    repo.commit("Drop a")
    write_charter(repo.source, "a", body, CHANGED)
    (rewritten,) = changes(repo.diff_json("HEAD"), "results-rewritten")
    assert rewritten["message"].startswith(
        "`conv`: 1 past row revised (2026-02-28 treatment: 10.9%"
    )
    assert repo.diff("HEAD", "--fail-on", "results-rewritten").exit_code == 1


def test_rows_removed_in_a_clean_up_before_a_removal_are_not_said_removed_again(
    repo: Repo,
) -> None:
    """A pilot's rows removed (and flagged) long before, the charter removed in the next
    commit and added back exactly as removed: "2 past rows removed", a false flag."""
    body = charter(12.0)
    write_charter(repo.source, "a", body, PRODUCTION)
    pilot = ab("2026-01-15", "conv", 10.0, 10.1, n=5000)
    write_charter(repo.source, "a", body, pilot, results_file="pilot.csv")
    repo.commit("Add a", when="2026-03-25T10:00:00Z")
    repo.path("charters/a/results/pilot.csv").unlink()
    repo.commit("Clean-up", when="2026-04-01T10:00:00Z")
    shutil.rmtree(repo.path("charters/a"))
    repo.commit("Drop a", when="2026-09-01T10:00:00Z")
    write_charter(repo.source, "a", body, PRODUCTION)
    assert changes(repo.diff_json("HEAD"), "results-rewritten") == []
    assert repo.diff("HEAD", "--fail-on", "results-rewritten").exit_code == 0


def _guarded() -> dict[str, Any]:
    """Charter a at a target of 12 with a latency guardrail (tolerance 5 ms)."""
    body = charter(12.0)
    return {**body, "measurement": {**body["measurement"], "guardrails": [guardrail()]}}


BREACHED = [*ROWS, *ab("2026-01-31", "lat", 100.0, 130.0, n=50000)]  # lat 30 ms worse


def _drop_rows(repo: Repo, message: str) -> None:
    """Charter a's results.csv removed, committed with `message`."""
    repo.path("charters/a/results/results.csv").unlink()
    repo.commit(message)


def _rows_dropped_then_charter(repo: Repo, body: dict[str, Any], rows: Any) -> None:
    """Charter a added with `rows`; its results.csv removed; then the charter: three
    commits."""
    write_charter(repo.source, "a", body, rows)
    repo.commit("Add a")
    _drop_rows(repo, "Drop the rows")
    shutil.rmtree(repo.path("charters/a"))
    repo.commit("Drop a")


def test_a_charter_added_again_after_its_rows_went_first_had_results(repo: Repo) -> None:
    """The version at the removal had no rows, the one a commit before had: added back
    softer without rows, the plan change was not flagged (judged as a charter without
    results). Added back as it was, with its rows, nothing is flagged: it is judged as
    the removal left it (its verdict and alert are told against that, unflagged)."""
    _rows_dropped_then_charter(repo, _guarded(), BREACHED)
    write_charter(repo.source, "a", stretched(_guarded()))
    (plan,) = changes(repo.diff_json("HEAD"), "plan-changed")
    assert (plan["field"], plan["flagged"]) == ("measurement.cadence", True)
    write_charter(repo.source, "a", _guarded(), BREACHED)
    report = repo.diff_json("HEAD")
    assert [c for c in report["changes"] if c.get("flagged")] == []
    assert changes(report, "results-rewritten") == []
    assert repo.diff("HEAD", "--fail-on", "flagged,results-rewritten").exit_code == 0


def test_what_changed_before_a_removal_is_not_told_at_the_re_add(repo: Repo) -> None:
    """Rows dropped, then a rule switched off in site.yaml, then the charter removed; added
    back as the removal left it: judged by the version a commit before the rows went,
    the rule read as switched off while it was away (a false flag)."""
    write_charter(repo.source, "a", _guarded(), BREACHED)
    repo.commit("Add a")
    _drop_rows(repo, "Drop the rows")
    repo.replace("site.yaml", "disable: []", "disable: [MC108]")
    repo.commit("Switch off MC108")
    shutil.rmtree(repo.path("charters/a"))
    repo.commit("Drop a")
    write_charter(repo.source, "a", _guarded())
    report = repo.diff_json("HEAD")
    assert [c for c in report["changes"] if c.get("flagged")] == []
    assert changes(report, "verdict-changed") == changes(report, "finding-added") == []


def test_rows_taken_out_are_compared_past_a_result_file_added_after_them(repo: Repo) -> None:
    """Rows dropped, March's rows added in another file, then the charter removed: the
    file added stopped the look back, and a changed row went through."""
    body = charter(12.0)
    write_charter(repo.source, "a", body, PRODUCTION)
    repo.commit("Add a")
    _drop_rows(repo, "Drop the rows")
    write_charter(repo.source, "a", body, MORE, results_file="march.csv")
    repo.commit("March")
    shutil.rmtree(repo.path("charters/a"))
    repo.commit("Drop a")
    write_charter(repo.source, "a", body, CHANGED)
    write_charter(repo.source, "a", body, MORE, results_file="march.csv")
    (rewritten,) = changes(repo.diff_json("HEAD"), "results-rewritten")
    assert rewritten["message"].startswith(
        "`conv`: 1 past row revised (2026-02-28 treatment: 10.9%"
    )


def test_a_metric_renamed_at_a_re_add_is_known_by_the_rows_taken_out_before(
    repo: Repo,
) -> None:
    """Rows dropped a commit before the removal; added back with the metric renamed, rows
    and all: the version at the removal has no rows to know the rename by, and the
    agreed metric read as removed (flagged)."""
    body = charter(12.0)
    _rows_dropped_then_charter(repo, body, PRODUCTION)
    renamed = json.loads(json.dumps(body).replace('"conv"', '"cvr"'))
    write_charter(repo.source, "a", renamed, [{**r, "metric": "cvr"} for r in PRODUCTION])
    report = repo.diff_json("HEAD")
    (rename,) = changes(report, "metric-changed")
    assert rename["message"].startswith("business metric `conv` renamed `cvr`")
    assert repo.diff("HEAD", "--fail-on", "flagged").exit_code == 0


def test_rows_taken_out_with_an_edit_of_the_charter_are_not_read(repo: Repo) -> None:
    """An experiment restarted (a new cadence, its rows dropped in the same commit), then
    the charter removed and added back without rows at another cadence: judged as a
    plan changed after results, by the rows from before the restart."""
    body = stretched(charter(12.0))
    write_charter(repo.source, "a", charter(12.0), PRODUCTION)
    repo.commit("Add a")
    write_charter(repo.source, "a", body)
    _drop_rows(repo, "Restart at a new cadence")
    shutil.rmtree(repo.path("charters/a"))
    repo.commit("Drop a")
    weekly = {**body, "measurement": {**body["measurement"], "cadence": "weekly"}}
    write_charter(repo.source, "a", weekly)
    (plan,) = changes(repo.diff_json("HEAD"), "plan-changed")
    assert (plan["field"], plan.get("flagged")) == ("measurement.cadence", None)


def test_rows_taken_out_then_put_back_corrected_are_the_ones_compared(repo: Repo) -> None:
    """Rows removed, put back corrected, removed again, then the charter: added back with
    the corrected rows, they were compared with the first ones (a false flag)."""
    body = charter(12.0)
    write_charter(repo.source, "a", body, PRODUCTION)
    repo.commit("Add a")
    _drop_rows(repo, "Drop the rows")
    write_charter(repo.source, "a", body, CHANGED)
    repo.commit("Rows back, corrected")
    _drop_rows(repo, "Drop the rows again")
    shutil.rmtree(repo.path("charters/a"))
    repo.commit("Drop a")
    write_charter(repo.source, "a", body, CHANGED)
    assert changes(repo.diff_json("HEAD"), "results-rewritten") == []


def test_rows_not_back_are_not_said_removed_when_the_version_removed_does_not_load(
    repo: Repo,
) -> None:
    """Its `results` names the file: without it, the version at the removal does not load,
    and the one before the rows went was compared for rows removed too."""
    body = {**charter(12.0), "results": ["results/results.csv"]}
    _rows_dropped_then_charter(repo, body, PRODUCTION)
    write_charter(repo.source, "a", body, MORE)
    assert changes(repo.diff_json("HEAD"), "results-rewritten") == []


def test_a_rule_switched_off_while_a_charter_was_away_is_flagged(repo: Repo) -> None:
    """site.yaml switched off the breached guardrail's alert while the charter was away:
    the alert gone read as the rows' doing, unflagged."""
    write_charter(repo.source, "a", _guarded(), BREACHED)
    repo.commit("Add a")
    shutil.rmtree(repo.path("charters/a"))
    repo.commit("Drop a")
    repo.replace("site.yaml", "disable: []", "disable: [MC108]")
    repo.commit("Switch off MC108")
    write_charter(repo.source, "a", _guarded(), BREACHED)
    report = repo.diff_json("HEAD")
    assert any(c["kind"] == "finding-resolved" and c.get("flagged") for c in report["changes"])
    assert repo.diff("HEAD", "--fail-on", "flagged").exit_code == 1


def test_a_charter_added_again_is_compared_on_the_build_date_diff_is_given(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--today` after the rows, `SOURCE_DATE_EPOCH` before them: the version removed was
    loaded on the environment's date, its rows "in the future" kept it from loading, and
    the changed row went uncompared."""
    kept, rows = repo.read(ROUTING), repo.read(ROUTING_RESULTS)
    shutil.rmtree(repo.path("charters/support-ticket-routing"))
    repo.commit("Drop routing", when="2026-11-20T10:00:00Z")
    repo.write(ROUTING, kept)
    bad = "2026-08-23,resolution_hours,treatment,18.7,3027,13.6,"
    repo.write(ROUTING_RESULTS, rows.replace(bad, bad.replace(",18.7,", ",16.1,")))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1788000000")  # 2026-08-29
    gate = ("HEAD", "--today", "2026-12-01", "--fail-on", "results-rewritten")
    assert repo.diff(*gate).exit_code == 1


def test_a_charter_added_again_under_a_new_id_listing_the_old_one_is_compared(
    repo: Repo,
) -> None:
    """Removed as `a`, added back as `b` with `aliases: [a]` (its former id, as a rename
    writes it) and a lower target: "charter added", and every gate passed."""
    body = charter(12.0)
    removed = _dropped(repo, body, PRODUCTION, "2026-09-01T10:00:00Z")
    write_charter(repo.source, "b", {**charter(10.5), "aliases": ["a"]}, PRODUCTION)
    report = repo.diff_json("HEAD")
    (added,) = changes(report, "charter-added")
    assert added["message"].endswith(
        f"; added again, after the removal of `a` (listed in its `aliases`) in {removed}"
        " (2026-09-01)"
    )
    assert added["removed_in"] == removed
    (moved,) = changes(report, "goalpost-moved")
    assert (moved["charter"], moved["before"], moved["after"]) == ("b", 12.0, 10.5)
    assert repo.diff("HEAD", "--fail-on", "goalpost-moved").exit_code == 1


def test_a_charter_added_again_with_a_metric_renamed_with_its_rows_is_one_rename(
    repo: Repo,
) -> None:
    """Its metric's id changed on the way back, every reference and row with it: read as
    the agreed metric removed (a flagged `agreement-changed`) and another added."""
    body = charter(12.0)
    _dropped(repo, body, PRODUCTION)
    renamed = json.loads(json.dumps(body).replace('"conv"', '"cvr"'))
    write_charter(repo.source, "a", renamed, [{**r, "metric": "cvr"} for r in PRODUCTION])
    report = repo.diff_json("HEAD")
    (rename,) = changes(report, "metric-changed")
    assert rename["message"].startswith(
        "business metric `conv` renamed `cvr`, its 5 result rows with it; the charter was"
        " removed in"
    )
    flagged = [c for c in report["changes"] if c.get("flagged")]
    assert flagged == []
    assert repo.diff("HEAD", "--fail-on", "flagged").exit_code == 0


def test_a_charter_added_again_without_its_rows_has_its_judging_plan_flagged(
    repo: Repo,
) -> None:
    """The version removed had results; the one added back has none yet and a cadence no
    production row is judged by: the plan change was not flagged, and the pull request
    bringing the rows back changed the verdict by its rows alone."""
    body = charter(12.0)
    _dropped(repo, body, PRODUCTION)
    write_charter(repo.source, "a", stretched(body))
    (plan,) = changes(repo.diff_json("HEAD"), "plan-changed")
    assert (plan["field"], plan["flagged"]) == ("measurement.cadence", True)


def test_a_charter_added_again_whose_version_removed_cannot_be_read_says_so(
    repo: Repo,
) -> None:
    """A link out of the repository in the folder removed: an internal error (exit 1, as
    a gate's failure) on every diff that added the charter back."""
    body = charter(12.0)
    write_charter(repo.source, "a", body, PRODUCTION)
    os.symlink("/etc/hostname", repo.path("charters/a/notes.txt"))
    repo.commit("Add a with a link out")
    shutil.rmtree(repo.path("charters/a"))
    repo.commit("Drop a")
    removed = git(repo.root, "rev-parse", "HEAD").strip()[:10]
    write_charter(repo.source, "a", body, PRODUCTION)
    result = repo.diff("HEAD")
    assert result.exit_code == 0, result.output
    assert (
        f"Results and verdict not compared with the version removed in {removed}: cannot read"
    ) in result.output
    (item,) = repo.diff_json("HEAD")["not_compared"]
    assert (item["charter"], item["side"]) == ("a", "base")


def test_a_charter_added_again_is_judged_as_an_edit_of_the_version_removed(repo: Repo) -> None:
    """What an edit of the charter is told and flagged for was not, for one added back:
    its status moved back from Live (production rows no longer judge it), a guardrail's
    tolerance loosened so that its alert goes, and a catalogued metric's entry changed
    while it was away."""
    body = charter(12.0)
    _dropped(repo, body, ROWS)
    write_charter(repo.source, "a", {**body, "status": "experiment"}, ROWS)
    (status,) = changes(repo.diff_json("HEAD"), "status-changed")
    assert (status["before"], status["after"], status["flagged"]) == ("live", "experiment", True)
    assert status["message"].startswith(
        "status: Live → In experiment (production results no longer judge the metrics); the"
        " charter was removed in"
    )
    # A guardrail breached at a tolerance of 5, added back at 50.
    guarded = {**body, "measurement": {**body["measurement"], "guardrails": [guardrail()]}}
    rows = [*ROWS, *ab("2026-01-31", "lat", 100.0, 130.0, n=50000)]
    _dropped(repo, guarded, rows)
    loose = json.loads(
        json.dumps(guarded).replace('"tolerance": {"value": 5.0}', '"tolerance": {"value": 50.0}')
    )
    write_charter(repo.source, "a", loose, rows)
    (resolved,) = changes(repo.diff_json("HEAD"), "finding-resolved")
    assert (resolved["before"]["code"], resolved["flagged"]) == ("MC108", True)
    assert repo.diff("HEAD", "--fail-on", "flagged").exit_code == 1


def test_a_catalogue_entry_changed_while_its_charter_was_away_is_told(repo: Repo) -> None:
    search = "charters/search-ranking"
    shutil.rmtree(repo.path(search))
    repo.commit("Drop search")
    repo.replace("metrics.yaml", "within 24 hours.", "within 7 days.")
    repo.commit("Catalogue")
    shutil.copytree(REPO_ROOT / search, repo.path(search))
    (told,) = changes(repo.diff_json("HEAD"), "catalogue-changed")
    assert (told["metric"], told["field"]) == ("search_conversion", "definition")
    assert told["message"].endswith("and is added again: compared with the version removed")
    assert repo.diff("HEAD", "--fail-on", "catalogue-changed").exit_code == 1


def test_a_charter_added_again_as_it_was_with_a_catalogued_metric_moved_nothing(
    repo: Repo,
) -> None:
    """Its metric `ref`s metrics.yaml: the version removed, as written, holds no unit or
    definition, which HEAD's has from the catalogue; read as three moved goalposts."""
    search = "charters/search-ranking/charter.yaml"
    kept = repo.read(search)
    assert "ref: search_conversion" in kept
    shutil.rmtree(repo.path("charters/search-ranking"))
    repo.commit("Drop search")
    shutil.copytree(REPO_ROOT / "charters/search-ranking", repo.path("charters/search-ranking"))
    report = repo.diff_json("HEAD")
    assert changes(report, "charter-added")[0]["removed_in"]
    assert changes(report, "goalpost-moved") == changes(report, "metric-changed") == []
    assert repo.diff("HEAD", "--fail-on", "goalpost-moved").exit_code == 0


def test_a_charter_added_again_with_its_plan_and_guardrail_loosened_says_so(repo: Repo) -> None:
    kept = repo.read(ROUTING)
    shutil.rmtree(repo.path("charters/support-ticket-routing"))
    repo.commit("Drop routing")
    shutil.copytree(
        REPO_ROOT / "charters/support-ticket-routing", repo.path("charters/support-ticket-routing")
    )
    softer = kept.replace("absolute: 1.0}", "absolute: 0.2}").replace(
        "tolerance: {value: 0.1}", "tolerance: {value: 0.5}"
    )
    repo.write(ROUTING, softer)
    report = repo.diff_json("HEAD")
    (plan,) = changes(report, "plan-changed")
    assert (plan["field"], plan["before"], plan["after"], plan["flagged"]) == (
        "measurement.minimum_detectable_effect.absolute",
        1.0,
        0.2,
        True,
    )
    assert plan["message"].startswith(
        "measurement.minimum_detectable_effect.absolute: 1 → 0.2; the charter was removed in"
    )
    (guard,) = changes(report, "metric-changed")
    assert (guard["field"], guard["before"], guard["after"]) == ("tolerance.value", 0.1, 0.5)
    assert repo.diff("HEAD", "--fail-on", "flagged").exit_code == 1


def _routing_by_ttr_then_dropped(repo: Repo, entries: str) -> str:
    """Routing's business metric made a `ref: ttr` to `entries` added to metrics.yaml (its
    rows emptied), committed; then routing and the entries removed, committed. Returns
    routing's charter.yaml as it was removed."""
    catalogue = repo.read("metrics.yaml")
    repo.write("metrics.yaml", catalogue + entries)
    text = repo.read(ROUTING)
    start = text.index("  - id: resolution_hours")
    end = text.index("    baseline:", start)
    kept = (text[:start] + "  - ref: ttr\n" + text[end:]).replace("resolution_hours", "ttr")
    repo.write(ROUTING, kept)
    repo.write(ROUTING_RESULTS, "date,metric,value\n")
    repo.commit("Routing by the catalogue's ttr")
    shutil.rmtree(repo.path("charters/support-ticket-routing"))
    repo.write("metrics.yaml", catalogue)
    repo.commit("Drop routing and ttr")
    return kept


def test_a_charter_added_again_with_its_catalogued_metric_written_inline_is_compared(
    repo: Repo,
) -> None:
    """Removed while its metric `ref`d the catalogue, added again with the metric written
    in the charter (its catalogue entry gone): its definition was left out of the
    comparison, as if both sides `ref`d it."""
    entry = (
        "- id: ttr\n  name: Time to resolution\n  definition: Mean hours to solved.\n"
        "  unit: hours\n  direction: decrease\n"
    )
    kept = _routing_by_ttr_then_dropped(repo, entry)
    inline = (
        "  - id: ttr\n    name: Time to resolution\n    definition: Median hours to solved.\n"
        "    unit: hours\n    direction: decrease\n"
    )
    repo.write(ROUTING, kept.replace("  - ref: ttr\n", inline))
    repo.write(ROUTING_RESULTS, "date,metric,value\n")
    report = repo.diff_json("HEAD")
    moved = {c["field"]: (c["before"], c["after"]) for c in changes(report, "goalpost-moved")}
    # Against the catalogue's entry as it was then; the unit and direction are the same.
    assert moved == {"definition": ("Mean hours to solved.", "Median hours to solved.")}
    # Written inline as the catalogue had it: nothing moved.
    repo.write(ROUTING, kept.replace("  - ref: ttr\n", inline.replace("Median", "Mean")))
    assert changes(repo.diff_json("HEAD"), "goalpost-moved") == []


def test_a_catalogue_id_written_twice_is_read_by_its_first_entry_for_a_charter_added_again(
    repo: Repo,
) -> None:
    first = "- id: ttr\n  name: TTR\n  definition: Mean hours.\n  unit: hours\n"
    second = "- id: ttr\n  name: TTR\n  definition: Other.\n  unit: days\n"
    kept = _routing_by_ttr_then_dropped(repo, first + "  direction: decrease\n" + second)
    inline = (
        "  - id: ttr\n    name: TTR\n    definition: Mean hours.\n"
        "    unit: hours\n    direction: decrease\n"
    )
    repo.write(ROUTING, kept.replace("  - ref: ttr\n", inline))
    repo.write(ROUTING_RESULTS, "date,metric,value\n")
    assert changes(repo.diff_json("HEAD"), "goalpost-moved") == []


def test_a_charter_id_renamed_away_and_taken_by_a_new_charter_is_not_added_again(
    repo: Repo,
) -> None:
    """Renamed (its new folder lists the old id in `aliases`), then a new charter takes the
    old id: a new project, not the old one back."""
    git(repo.root, "mv", "charters/support-ticket-routing", "charters/ticket-routing")
    repo.replace(
        "charters/ticket-routing/charter.yaml",
        "title: Support ticket routing",
        "title: Support ticket routing\naliases: [support-ticket-routing]",
    )
    repo.commit("Rename")
    text = repo.read("charters/ticket-routing/charter.yaml")
    repo.write(ROUTING, text.replace("aliases: [support-ticket-routing]\n", ""))
    report = repo.diff_json("HEAD")
    (added,) = changes(report, "charter-added")
    assert "removed_in" not in added and "added again" not in added["message"]


def test_a_target_moved_during_a_rename_is_still_caught(repo: Repo) -> None:
    git(repo.root, "mv", "charters/support-ticket-routing", "charters/ticket-routing")
    repo.replace(
        "charters/ticket-routing/charter.yaml",
        AGREED_TARGET,
        "target: {value: 17.0, by: 2026-11-15}",
    )
    repo.commit("Rename and soften")
    moved = changes(repo.diff_json("HEAD~1"), "goalpost-moved")
    assert [(c["charter"], c["metric"]) for c in moved] == [("ticket-routing", "resolution_hours")]


def test_a_rename_that_changes_the_title_and_the_metrics_is_paired_by_its_results(
    repo: Repo,
) -> None:
    """Renamed, retitled and given one more guardrail, the charter matched neither by
    title nor by metric ids: the diff said "1 added; 1 removed" and the target moved
    with it was never compared. Its result rows came along, so it is one project."""
    git(repo.root, "mv", "charters/support-ticket-routing", "charters/ticket-routing")
    new = "charters/ticket-routing/charter.yaml"
    repo.replace(new, "title: Support ticket routing", "title: Ticket routing (classifier v2)")
    repo.replace(new, AGREED_TARGET, "target: {value: 18.2, by: 2026-11-15}")
    repo.replace(new, "  guardrails:\n", "  guardrails:\n" + NEW_GUARDRAIL)
    # And 8 of its 72 rows restated on the way: a rename is still paired by its rows'
    # dates, metrics and variants, so the restated rows are reported, not hidden.
    rows = "charters/ticket-routing/results/ab-test.csv"
    lines = repo.read(rows).splitlines(keepends=True)
    treated = [i for i, line in enumerate(lines) if ",resolution_hours,treatment," in line]
    for i in treated[-8:]:
        cells = lines[i].split(",")
        cells[3] = f"{float(cells[3]) - 1.5:.1f}"
        lines[i] = ",".join(cells)
    repo.write(rows, "".join(lines))
    repo.commit("Rename, retitle, one more guardrail, a softer target, better rows")
    report = repo.diff_json("HEAD~1")
    (removed,) = changes(report, "charter-removed")
    assert removed["renamed_to"] == "ticket-routing"
    moved = changes(report, "goalpost-moved")
    assert [(c["charter"], c["metric"], c["after"]) for c in moved] == [
        ("ticket-routing", "resolution_hours", 18.2)
    ]
    assert [c["metric"] for c in changes(report, "results-rewritten")] == ["resolution_hours"]


def test_another_team_s_charter_with_the_same_rows_is_no_rename(repo: Repo) -> None:
    """Production rows of a metric the company shares are alike across projects: a
    charter of another owner and team that holds them is a new project, not a rename
    (its goalposts were compared as moved, its status as undone)."""
    old = repo.path("charters/support-ticket-routing")
    shutil.copytree(old, repo.path("charters/beta"))
    shutil.rmtree(old)
    beta = "charters/beta/charter.yaml"
    repo.replace(beta, "title: Support ticket routing", "title: Answer suggestions for agents")
    repo.replace(beta, "name: Ana Ruiz", "name: Ben Okafor")
    repo.replace(beta, "team: Support Engineering", "team: Customer Care")
    repo.replace(beta, AGREED_TARGET, "target: {value: 18.2, by: 2026-11-15}")
    repo.replace(beta, "  guardrails:\n", "  guardrails:\n" + NEW_GUARDRAIL)
    repo.commit("Another project")
    report = repo.diff_json("HEAD~1")
    assert report["head"]["ok"] is True, report["head"]["errors"]
    (removed,) = changes(report, "charter-removed")
    assert "renamed_to" not in removed
    assert [c["charter"] for c in changes(report, "charter-added")] == ["beta"]
    assert changes(report, "goalpost-moved") == []


def test_a_charter_whose_rows_two_removed_charters_share_is_paired_with_neither(
    repo: Repo,
) -> None:
    """Two removed charters of one owner hold the same rows; the added one could be
    either: pairing the first in order showed a goalpost moved that was not."""
    old = repo.path("charters/support-ticket-routing")
    shutil.copytree(old, repo.path("charters/zz-routing"))
    zz = "charters/zz-routing/charter.yaml"
    repo.replace(zz, "title: Support ticket routing", "title: Routing, second try")
    repo.replace(zz, AGREED_TARGET, "target: {value: 18.2, by: 2026-11-15}")
    repo.commit("A second routing charter")
    shutil.copytree(repo.path("charters/zz-routing"), repo.path("charters/ticket-routing"))
    shutil.rmtree(old)
    shutil.rmtree(repo.path("charters/zz-routing"))
    added = "charters/ticket-routing/charter.yaml"
    repo.replace(added, "title: Routing, second try", "title: Ticket routing")
    repo.replace(added, "  guardrails:\n", "  guardrails:\n" + NEW_GUARDRAIL)
    repo.commit("Both replaced by one")
    report = repo.diff_json("HEAD~1")
    assert all("renamed_to" not in c for c in changes(report, "charter-removed"))
    assert changes(report, "goalpost-moved") == []


def test_a_removed_charter_paired_by_title_is_no_rival_to_a_rename_by_rows(repo: Repo) -> None:
    """A look-alike of the same owner and rows renamed on its own (paired by title) must
    not stop the other charter's rename from being paired by its rows."""
    shutil.copytree(repo.path("charters/support-ticket-routing"), repo.path("charters/zz-routing"))
    repo.replace(
        "charters/zz-routing/charter.yaml", "title: Support ticket routing", "title: Second try"
    )
    repo.commit("A look-alike")
    git(repo.root, "mv", "charters/zz-routing", "charters/routing-second-try")
    git(repo.root, "mv", "charters/support-ticket-routing", "charters/ticket-routing")
    new = "charters/ticket-routing/charter.yaml"
    repo.replace(new, "title: Support ticket routing", "title: Ticket routing (classifier v2)")
    repo.replace(new, AGREED_TARGET, "target: {value: 18.2, by: 2026-11-15}")
    repo.replace(new, "  guardrails:\n", "  guardrails:\n" + NEW_GUARDRAIL)
    repo.commit("Both renamed")
    report = repo.diff_json("HEAD~1")
    renamed = {c["charter"]: c.get("renamed_to") for c in changes(report, "charter-removed")}
    assert renamed == {
        "support-ticket-routing": "ticket-routing",
        "zz-routing": "routing-second-try",
    }
    moved = changes(report, "goalpost-moved")
    assert [(c["charter"], c["after"]) for c in moved] == [("ticket-routing", 18.2)]


# --- verdicts and findings ---------------------------------------------------------------


def test_verdict_and_findings_follow_the_rules_of_check(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    cid = "tiny-routing"
    repo.write(f"charters/{cid}/charter.yaml", minimal_charter())
    repo.commit("A live charter without results")
    repo.write(
        f"charters/{cid}/results/production.csv",
        "date,metric,value\n2026-01-05,ttfr,6.0\n2026-02-02,ttfr,4.2\n",
    )
    repo.commit("First results")

    report = repo.diff_json("HEAD~1")
    (verdict,) = [c for c in changes(report, "verdict-changed") if c["charter"] == cid]
    assert verdict["before"] == "no-results"
    assert verdict["after"] != "no-results"
    resolved = [c for c in changes(report, "finding-resolved") if c["charter"] == cid]
    assert any(c["before"]["code"] for c in resolved)
    (added,) = [c for c in changes(report, "results-added") if c["charter"] == cid]
    assert added["before"] is None
    assert added["after"]["status"] == "met"  # 4.2 hours, the target is 4.5
    assert added["trend"] == "improved"  # no results → target met
    assert added["trend_reference"] == "no earlier result"


# --- sides that are not the working tree --------------------------------------------------


def test_two_revisions_and_two_folders(repo: Repo, tmp_path: Path) -> None:
    before = tmp_path / "before"
    shutil.copytree(repo.source, before, ignore=shutil.ignore_patterns(".git"))
    repo.replace(ROUTING, "status: experiment", "status: paused")
    repo.commit("Pause routing")
    # The working tree names the commit it stands on: "working tree" alone named none,
    # and CI's comment read "origin/main → working tree".
    sha = git(repo.root, "rev-parse", "HEAD").strip()[:10]
    assert repo.diff_json("HEAD~1")["head"]["label"] == f"working tree at HEAD ({sha})"
    # A file git ignores is read from the working tree and from no commit (review).
    (repo.root / ".git" / "info" / "exclude").write_text("*.local.csv\n")
    repo.write("charters/support-ticket-routing/results/extra.local.csv", "date\n")
    label = repo.diff_json("HEAD~1")["head"]["label"]
    assert label == f"working tree (HEAD {sha} and uncommitted changes)"
    repo.path("charters/support-ticket-routing/results/extra.local.csv").unlink()
    repo.replace(ROUTING, "status: paused", "status: retired")  # uncommitted

    committed = repo.diff_json("HEAD~1", "HEAD")
    assert [(c["before"], c["after"]) for c in changes(committed, "status-changed")] == [
        ("experiment", "paused")
    ]
    assert committed["head"]["kind"] == "git"
    assert committed["head"]["revision"] == git(repo.root, "rev-parse", "HEAD").strip()

    worktree = repo.diff_json("HEAD~1")
    assert [c["after"] for c in changes(worktree, "status-changed")] == ["retired"]
    assert worktree["head"]["label"] == f"working tree (HEAD {sha} and uncommitted changes)"

    folders = repo.diff_json(str(before), str(repo.source))
    assert folders["base"]["kind"] == "folder"
    assert [c["after"] for c in changes(folders, "status-changed")] == ["retired"]


def test_a_revision_with_a_link_out_of_the_folder_is_refused(repo: Repo, tmp_path: Path) -> None:
    outside = tmp_path / "outside.csv"
    outside.write_text("date,metric,value\n2026-11-22,resolution_hours,1.0\n", encoding="utf-8")
    link = repo.path("charters/support-ticket-routing/results/extra.csv")
    link.symlink_to(outside)
    repo.commit("A result file that lives outside the repository")

    result = repo.diff("HEAD~1", "HEAD")
    assert result.exit_code == 2
    assert f"is a link to {str(outside)!r}, out of the repository" in result.stderr
    assert "charters/support-ticket-routing/results/extra.csv" in result.stderr
    assert "Traceback" not in result.output


def test_a_charter_folder_linked_elsewhere_in_the_repository_is_compared(repo: Repo) -> None:
    """A charter's folder made a link to a folder of the repository outside `charters/`
    (which the build follows): the revision reads the linked folder too, so the move is no
    change and a target moved behind the link is a moved goalpost, not a charter removed
    and another added."""
    folder = repo.path("charters/support-ticket-routing")
    shared = repo.root / "shared" / "support-ticket-routing"
    shared.parent.mkdir()
    shutil.move(folder, shared)
    folder.symlink_to(Path("..", "shared", "support-ticket-routing"))
    repo.commit("The routing charter lives in shared/")
    assert repo.diff_json("HEAD~1", "HEAD")["changes"] == []
    repo.replace(ROUTING, AGREED_TARGET, "target: {value: 16.0, by: 2026-11-15}")
    repo.commit("Make the routing target easier, behind the link")
    moved = changes(repo.diff_json("HEAD~1", "HEAD"))
    assert [(c["kind"], c["charter"]) for c in moved] == [
        ("goalpost-moved", "support-ticket-routing")
    ]


def test_a_charter_folder_linked_through_another_link_is_compared(repo: Repo) -> None:
    """charters/x -> ../shared/x with shared itself a link to store/: the target read as
    written (shared/x) is no path of the tree, and the charter dropped out silently."""
    folder = repo.path("charters/support-ticket-routing")
    store = repo.root / "store"
    store.mkdir()
    shutil.move(folder, store / "support-ticket-routing")
    (repo.root / "shared").symlink_to("store")
    folder.symlink_to(Path("..", "shared", "support-ticket-routing"))
    repo.commit("The routing charter lives in store/, reached through shared/")
    assert repo.diff_json("HEAD~1", "HEAD")["changes"] == []
    repo.replace(ROUTING, AGREED_TARGET, "target: {value: 16.0, by: 2026-11-15}")
    repo.commit("Make the routing target easier, behind two links")
    moved = changes(repo.diff_json("HEAD~1", "HEAD"))
    assert [(c["kind"], c["charter"]) for c in moved] == [
        ("goalpost-moved", "support-ticket-routing")
    ]


def test_a_revision_is_read_as_committed_not_as_git_archive_exports_it(repo: Repo) -> None:
    """A committed .gitattributes with `export-subst` and `export-ignore` changes what
    `git archive` writes, not what a build of the checkout reads: a `$Format:%h$` in a
    definition expands to each commit's hash (a goalpost that seems to move), result
    files are left out (rows that seem removed). The diff reads the blobs: the one
    change is the status."""
    repo.replace(
        ROUTING,
        "    definition: Mean hours from ticket creation",
        "    definition: ($Format:%h$) Mean hours from ticket creation",
    )
    repo.commit("A definition with a placeholder")
    repo.path(".gitattributes").write_text(
        "*.yaml export-subst\n*.csv export-ignore\n", encoding="utf-8"
    )
    repo.replace(ROUTING, "status: experiment", "status: live")
    repo.commit("Attributes, and live")
    report = repo.diff_json("HEAD~1", "HEAD")
    assert {c["kind"] for c in report["changes"]} == {"status-changed"}


def test_a_file_with_a_line_break_in_its_name_does_not_stop_a_revision(repo: Repo) -> None:
    """Blobs are asked for by id: a notes file named with a line break (check accepts the
    tree) made the whole revision unreadable when asked for as `commit:path`."""
    repo.write("charters/support-ticket-routing/notes\nold.txt", "notes\n")
    repo.commit("Notes")
    repo.replace(ROUTING, "status: experiment", "status: live")
    repo.commit("Live")
    report = repo.diff_json("HEAD~1", "HEAD")
    assert [c["charter"] for c in changes(report, "status-changed")] == ["support-ticket-routing"]


def test_a_revision_is_read_through_its_smudge_filter_as_a_checkout_is(repo: Repo) -> None:
    """A result file kept through a filter (as Git LFS keeps one) is compared as the
    checkout has it, not as the stored blob."""
    git(repo.root, "config", "filter.late.clean", "sed s/18.2,/99.9,/")
    git(repo.root, "config", "filter.late.smudge", "sed s/99.9,/18.2,/")
    repo.path(".gitattributes").write_text("*.csv filter=late\n", encoding="utf-8")
    for csv in repo.path("charters").rglob("*.csv"):
        csv.touch()
    git(repo.root, "add", "--renormalize", ".")
    repo.commit("Result files through a filter")
    repo.replace(ROUTING, "status: experiment", "status: live")
    repo.commit("Live")
    report = repo.diff_json("HEAD~1", "HEAD")
    assert [c["charter"] for c in changes(report, "status-changed")] == ["support-ticket-routing"]
    assert changes(report, "results-rewritten") == [] and report["base"]["ok"] is True


@pytest.mark.parametrize("sides", [("",), ("HEAD", ""), (" ",)])
def test_an_empty_side_is_a_usage_error_not_the_current_folder(
    repo: Repo, sides: tuple[str, ...]
) -> None:
    """`charters diff "$BASE_SHA"` with the variable unset compared the current folder
    with itself and passed whatever the change."""
    repo.replace(ROUTING, "target: {value: 15.0", "target: {value: 18.4")
    result = repo.diff(*sides, "--fail-on", "goalpost-moved")
    assert result.exit_code == 2, result.output
    assert "is empty; give a git revision (origin/main, a commit) or a folder" in result.output


def test_the_plan_changed_with_results_in_hand_is_flagged(repo: Repo) -> None:
    """A smaller minimum detectable effect and a longer cadence, once results exist: each
    is a flagged plan change (nothing reported them, and the smaller effect then turns
    the next small move into a gain). The population is reported, not flagged."""
    repo.replace(
        ROUTING,
        "{metric: resolution_hours, absolute: 1.0}",
        "{metric: resolution_hours, absolute: 0.1}",
    )
    repo.replace(ROUTING, "  cadence: weekly", "  cadence: every 9 weeks")
    repo.replace(ROUTING, "randomised 50/50 by ticket id.", "randomised 60/40 by ticket id.")
    report = repo.diff_json("HEAD")
    found = [
        (c["field"], c["before"], c["after"], c.get("flagged", False))
        for c in changes(report, "plan-changed")
    ]
    assert found == [
        (
            "measurement.population",
            "All English web and email tickets, randomised 50/50 by ticket id.",
            "All English web and email tickets, randomised 60/40 by ticket id.",
            False,
        ),
        ("measurement.cadence", "weekly", "every 9 weeks", True),
        ("measurement.minimum_detectable_effect.absolute", 1.0, 0.1, True),
    ]
    result = repo.diff("HEAD", "--fail-on", "flagged")
    assert result.exit_code == 1
    assert "**measurement plan changed with results in hand** on 1 charter" in result.stdout
    assert "changed with results in hand: the results are judged by it" in result.stdout


def test_the_plan_changed_before_any_result_is_not_flagged(repo: Repo) -> None:
    review = "charters/review-summarisation/charter.yaml"
    mde = ("{metric: faithfulness, absolute: 0.02}", "{metric: faithfulness, absolute: 0.01}")
    repo.replace(review, *mde)
    report = repo.diff_json("HEAD")
    (change,) = changes(report, "plan-changed")
    field = "measurement.minimum_detectable_effect.absolute"
    assert (change["field"], change.get("flagged", False)) == (field, False)
    # Changed in the change that brings the first results, it is flagged, as the
    # history flags it.
    repo.write(
        "charters/review-summarisation/results/first.csv",
        "date,metric,value\n2026-11-02,faithfulness,0.93\n",
    )
    (change,) = changes(repo.diff_json("HEAD"), "plan-changed")
    assert (change["field"], change.get("flagged", False)) == (field, True)


def test_a_folder_that_is_not_there_is_not_taken_for_a_revision(repo: Repo, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = repo.diff(str(missing))
    assert result.exit_code == 2
    assert f"error: BASE {str(missing)!r} is no folder (nothing is there) and no git revision" in (
        result.stderr
    )
    assert "git fetch" not in result.stderr
    result = repo.diff(str(repo.path("site.yaml")))
    assert result.exit_code == 2
    assert "is a file, not a folder, and no git revision" in result.stderr


def test_source_in_a_subfolder_of_the_repository(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "mono", subfolder="ml/charters-site")
    repo.replace(ROUTING, "status: experiment", "status: live")
    repo.commit("Live")
    report = repo.diff_json("HEAD~1")
    assert report["base"]["ok"] is True, report["base"]["errors"]
    assert len(report["base"]["charters"]) == 9
    assert [c["charter"] for c in changes(report, "status-changed")] == ["support-ticket-routing"]


def test_no_change_gives_a_short_report(repo: Repo) -> None:
    result = repo.diff("HEAD")
    assert result.exit_code == 0
    assert result.stdout.startswith(MARKER)
    assert "No goalpost, agreement, plan, metric, result, status, verdict or finding changed" in (
        result.stdout
    )
    assert "###" not in result.stdout
    repo.replace(ROUTING, "team: Support Engineering", "team: Trust and Safety")
    result = repo.diff("HEAD")  # not compared, and not said unchanged: in the file diff
    assert "No goalpost, agreement, plan, metric, result, status, verdict or finding" in (
        result.stdout
    )
    assert "No charter changed" not in result.stdout
    assert repo.diff("HEAD", "--fail-on", "any").exit_code == 0


def test_all_shows_every_charter_and_metric(repo: Repo) -> None:
    default = repo.diff("HEAD").stdout
    everything = repo.diff("HEAD", "--all").stdout
    assert "### `card-fraud-detection`" not in default
    assert "### `card-fraud-detection`" in everything
    assert "| `chargeback_rate` |" in everything


def test_all_shows_the_latest_before_as_base_had_it(repo: Repo) -> None:
    """`--all` lists metrics whose results did not change too: their latest before is
    BASE's own (in BASE's unit), and a charter added since had none ("—")."""
    repo.replace(
        ROUTING,
        "    unit: hours\n    direction: decrease",
        "    unit: minutes\n    direction: decrease",
    )
    shutil.copytree(repo.path("charters/churn-prediction"), repo.path("charters/churn-uplift"))
    repo.replace(
        "charters/churn-uplift/charter.yaml",
        "title: Subscriber churn prediction",
        "title: Uplift model for retention offers",
    )
    report = repo.diff("HEAD", "--all").stdout
    routing = next(
        line for line in report.splitlines() if line.startswith("| `resolution_hours` |")
    )
    before, after = routing.split(" | ")[1:3]
    assert before == "18.2 hours (2026-11-08)" and after == "18.2 minutes (2026-11-08)", routing
    assert "### `churn-uplift`" in report
    section = report[report.index("### `churn-uplift`") :].split("\n### ")[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert rows and all(line.split(" | ")[1] == "—" for line in rows), "\n".join(rows)


# --- missing history, bad arguments ------------------------------------------------------


def test_a_revision_missing_from_a_shallow_clone_says_what_to_fetch(
    repo: Repo, tmp_path: Path
) -> None:
    git(repo.root, "branch", "release")
    repo.replace(ROUTING, "status: experiment", "status: live")
    repo.commit("Live")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", repo.root.as_uri(), str(clone))
    shallow = Repo(clone, clone)

    result = shallow.diff("HEAD~1")
    assert result.exit_code == 2
    assert "shallow clone" in result.stderr
    assert "fetch-depth: 0" in result.stderr
    assert "git fetch --deepen" in result.stderr
    assert "Traceback" not in result.output

    missing = shallow.diff("origin/release")
    assert missing.exit_code == 2
    fetch = "git fetch origin +release:refs/remotes/origin/release"
    assert f"`{fetch}`" in missing.stderr
    # As told, in a clone of one branch (`git fetch origin release` makes no origin/release).
    git(clone, *fetch.split()[1:])
    assert shallow.diff("origin/release").exit_code == 0

    git(clone, "fetch", "-q", "--deepen=1")
    report = shallow.diff_json("HEAD~1")
    assert [c["after"] for c in changes(report, "status-changed")] == ["live"]


def test_not_a_repository_and_not_a_folder(tmp_path: Path) -> None:
    source = tmp_path / "plain"
    shutil.copytree(REPO_ROOT / "charters", source / "charters")
    result = CliRunner().invoke(main, ["diff", "main", "--source", str(source)])
    assert result.exit_code == 2
    assert "neither a folder nor a revision" in result.stderr
    assert "is not in a git repository" in result.stderr


def test_a_repository_git_cannot_read_says_why(tmp_path: Path) -> None:
    """A repository git refuses (another user's, "dubious ownership"; a broken .git
    file) was called no repository at all: git's own reason is given."""
    source = tmp_path / "broken"
    shutil.copytree(REPO_ROOT / "charters", source / "charters")
    (source / ".git").write_text("not a gitfile\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["diff", "main", "--source", str(source)])
    assert result.exit_code == 2
    assert f"git cannot read the repository at {source}: fatal: invalid gitfile format" in (
        result.stderr
    )


def test_unknown_fail_on_kind_is_a_usage_error(repo: Repo) -> None:
    result = repo.diff("HEAD", "--fail-on", "goalposts-moved")
    assert result.exit_code == 2
    assert "goalpost-moved" in result.output  # the allowed names are listed


def test_every_kind_in_the_json_is_documented(repo: Repo) -> None:
    repo.replace(ROUTING, AGREED_TARGET, "target: {value: 16.0, by: 2026-11-15}")
    repo.replace(ROUTING, "status: experiment", "status: live")
    repo.append(ROUTING_RESULTS, "2026-11-22,resolution_hours,treatment,17.6,3010,13.4,\n")
    repo.commit("Several changes")
    report = repo.diff_json("HEAD~1")
    assert set(report) >= {"version", "base", "head", "changes", "not_compared", "summary"}
    for side in (report["base"], report["head"]):
        assert set(side) >= {"label", "ok", "errors"}
    for change in report["changes"]:
        assert change["kind"] in KINDS
        assert set(change) >= {"kind", "charter", "metric", "before", "after", "message"}
    assert list(report["summary"]["counts"]) == list(KINDS)
    docs = (REPO_ROOT / "docs" / "diff.md").read_text(encoding="utf-8")
    for kind in KINDS:
        assert f"`{kind}`" in docs


# --- the catalogue of business metrics ------------------------------------------------


def test_a_catalogued_definition_change_affects_every_charter_that_refs_it(repo: Repo) -> None:
    old = "attributed to search sessions, divided by search sessions."
    new = "attributed to search sessions, divided by search sessions with a click."
    repo.replace("metrics.yaml", old, new)
    repo.commit("Count only search sessions with a click")

    report = repo.diff_json("HEAD~1")
    found = changes(report, "catalogue-changed")
    assert [(c["charter"], c["metric"], c["field"]) for c in found] == [
        ("query-autocomplete", "revenue_per_search", "definition"),
        ("search-ranking", "revenue_per_search", "definition"),
    ]
    assert found[0]["after"].endswith(new) and found[0]["before"].endswith(old)
    assert "changed in metrics.yaml, and this charter refs it" in found[0]["message"]
    assert found[0]["catalogue"] == "revenue_per_search"
    # Reported once per charter, not again as a changed field of the charter.
    assert not changes(report, "metric-changed") and not changes(report, "goalpost-moved")
    markdown = repo.diff("HEAD~1").stdout
    assert "🚩 Catalogued metric changed" in markdown
    assert "**catalogued metric redefined** on 2 charter metrics" in markdown
    assert repo.diff("HEAD~1", "--fail-on", "catalogue-changed").exit_code == 1


def test_a_catalogued_unit_change_is_reported_for_each_charter(repo: Repo) -> None:
    repo.replace("metrics.yaml", "  unit: USD\n", "  unit: EUR\n")
    repo.commit("Revenue in euros")
    report = repo.diff_json("HEAD~1")
    assert [
        (c["charter"], c["field"], c["after"]) for c in changes(report, "catalogue-changed")
    ] == [
        ("query-autocomplete", "unit", "EUR"),
        ("search-ranking", "unit", "EUR"),
    ]


def test_an_alias_pairs_a_rename_before_the_title_does(repo: Repo) -> None:
    # The renamed charter takes the title of another charter removed in the same
    # commit; its alias, not the title, says which project it was.
    old_title = "title: Search ranking with a neural re-ranker\n"
    other_title = repo.read("charters/review-summarisation/charter.yaml").splitlines()[0]
    git(repo.root, "mv", "charters/search-ranking", "charters/product-search")
    shutil.rmtree(repo.path("charters/review-summarisation"))
    repo.replace("charters/product-search/charter.yaml", old_title, f"{other_title}\n")
    repo.replace(
        "charters/product-search/charter.yaml",
        "aliases: [search-reranker]",
        "aliases: [search-reranker, search-ranking]",
    )
    repo.commit("Rename search ranking, with its old id as an alias")

    report = repo.diff_json("HEAD~1")
    removed = {c["charter"]: c for c in changes(report, "charter-removed")}
    added = {c["charter"]: c for c in changes(report, "charter-added")}
    assert added["product-search"]["renamed_from"] == "search-ranking"
    assert removed["search-ranking"]["renamed_to"] == "product-search"
    assert "renamed_to" not in removed["review-summarisation"]
    assert (
        "charter `search-ranking` renamed to `product-search`"
        in removed["search-ranking"]["message"]
    )
    # The old addresses are kept by the aliases: no advice to add one.
    assert added["product-search"]["message"] == (
        "charter `product-search` renamed from `search-ranking`"
    )
    # An older alias dropped in the rename loses its address too (review).
    repo.replace(
        "charters/product-search/charter.yaml",
        "aliases: [search-reranker, search-ranking]",
        "aliases: [search-ranking]",
    )
    added = {c["charter"]: c for c in changes(repo.diff_json("HEAD~1"), "charter-added")}
    assert added["product-search"]["message"] == (
        "charter `product-search` renamed from `search-ranking`; its old address is gone"
        " unless it lists `aliases: [search-ranking, search-reranker]`"
    )


# --- edits that bring a better verdict without results -------------------------------------


def test_a_verdict_gained_by_an_edit_and_a_status_back_from_the_rollout_are_flagged(
    repo: Repo,
) -> None:
    # Live, a significant gain on 2026-02-28, then production back below the baseline
    # three weeks on: the lift is overruled ("No impact"). Stretching the cadence, or
    # taking the status back to the experiment, brings the lift back without a row.
    body = charter_data(status="live", business_metrics=[business_metric()])
    rows = [*ROWS, row("2026-03-20", "conv", 9.0)]
    write_charter(repo.source, "lift", body, rows)
    repo.commit("A rolled-out charter", when="2026-03-21T00:00:00Z")
    body["measurement"]["cadence"] = "every 999 months"
    write_charter(repo.source, "lift", body, rows)
    report = repo.diff_json("HEAD")
    (verdict,) = [c for c in changes(report, "verdict-changed") if c["charter"] == "lift"]
    assert (verdict["before"], verdict["after"], verdict["flagged"]) == (
        "no-impact",
        "business-impact",
        True,
    )
    assert verdict["message"].endswith(
        "(an edit of the charter: before it, the same results give No impact)"
    )
    assert repo.diff("HEAD", "--fail-on", "flagged").exit_code == 1
    markdown = repo.diff("HEAD").stdout
    assert "| 🚩 Verdict |" in markdown
    assert "**verdict gained or kept by an edit** on 1 charter (`lift`)" in markdown
    # The same verdict gained by new rows is news, not a flag.
    body["measurement"]["cadence"] = "weekly"
    write_charter(repo.source, "lift", body, [*rows, *MORE])
    (verdict,) = [c for c in changes(repo.diff_json("HEAD"), "verdict-changed")]
    assert verdict["after"] == "business-impact" and "flagged" not in verdict
    assert repo.diff("HEAD", "--fail-on", "flagged").exit_code == 0
    # Live back to the experiment: production no longer judges, and the lift is back.
    write_charter(repo.source, "lift", {**body, "status": "experiment"}, rows)
    report = repo.diff_json("HEAD")
    (status,) = changes(report, "status-changed")
    assert (status["before"], status["after"], status["flagged"]) == ("live", "experiment", True)
    assert status["message"] == (
        "status: Live → In experiment (production results no longer judge the metrics)"
    )
    assert [c["flagged"] for c in changes(report, "verdict-changed")] == [True]
    markdown = repo.diff("HEAD").stdout
    assert "| 🚩 Status |" in markdown
    assert "**status back from the rollout** on 1 charter (`lift`)" in markdown


def test_a_breach_cleared_by_loosening_the_tolerance_is_flagged(repo: Repo) -> None:
    body = charter_data(status="live", business_metrics=[business_metric()])
    body["measurement"]["guardrails"] = [guardrail()]
    rows = [*ROWS, *ab("2026-02-28", "lat", 100.0, 120.0)]  # 20 ms worse, tolerance 5
    write_charter(repo.source, "lift", body, rows)
    repo.commit("A breached guardrail", when="2026-03-21T00:00:00Z")
    body["measurement"]["guardrails"] = [guardrail(tolerance={"value": 25.0})]
    write_charter(repo.source, "lift", body, rows)
    report = repo.diff_json("HEAD")
    (resolved,) = changes(report, "finding-resolved")
    assert (resolved["before"]["code"], resolved["flagged"]) == ("MC108", True)
    assert resolved["message"].endswith(
        "(an edit of the charter: before it, the same results raise it)"
    )
    assert repo.diff("HEAD", "--fail-on", "flagged").exit_code == 1
    markdown = repo.diff("HEAD").stdout
    assert "**alert cleared or kept away by an edit** on 1 charter (`lift`)" in markdown
    # Cleared by new rows back within the tolerance: news, not a flag.
    body["measurement"]["guardrails"] = [guardrail()]
    write_charter(repo.source, "lift", body, [*rows, *ab("2026-03-07", "lat", 100.0, 101.0)])
    (resolved,) = changes(repo.diff_json("HEAD"), "finding-resolved")
    assert resolved["before"]["code"] == "MC108" and "flagged" not in resolved


def test_a_verdict_gained_by_an_edit_beside_new_rows_is_flagged(repo: Repo) -> None:
    # A row of another metric in the same change does not hide the edit: BASE's charter
    # on HEAD's rows still gives No impact.
    body = charter_data(business_metrics=[business_metric()], ml_metrics=[ml_metric()])
    rows = [*ROWS, row("2026-03-20", "conv", 9.0), row("2026-03-20", "prec", 0.8)]
    write_charter(repo.source, "lift", body, rows)
    repo.commit("A rolled-out charter", when="2026-03-21T00:00:00Z")
    body["measurement"]["cadence"] = "every 999 months"
    write_charter(repo.source, "lift", body, [*rows, row("2026-03-21", "prec", 0.85)])
    report = repo.diff_json("HEAD", "--today", "2026-03-22")
    assert [c["metric"] for c in changes(report, "results-added")] == ["prec"]
    (verdict,) = changes(report, "verdict-changed")
    assert (verdict["after"], verdict["flagged"]) == ("business-impact", True)


def test_a_metric_removed_with_its_rows_rewrites_results(repo: Repo) -> None:
    # The breached guardrail goes, and its rows with it: the alert is gone with the
    # evidence, which is history rewritten.
    body = charter_data(status="live", business_metrics=[business_metric()])
    body["measurement"]["guardrails"] = [guardrail()]
    rows = [*ROWS, *ab("2026-02-28", "lat", 100.0, 120.0)]
    write_charter(repo.source, "lift", body, rows)
    repo.commit("A breached guardrail", when="2026-03-21T00:00:00Z")
    del body["measurement"]["guardrails"]
    write_charter(repo.source, "lift", body, ROWS)
    report = repo.diff_json("HEAD")
    (rewritten,) = changes(report, "results-rewritten")
    assert rewritten["metric"] == "lat" and rewritten["rows"]["removed"] == 2
    assert rewritten["message"].startswith("`lat`: 2 past rows removed with the metric (")
    assert repo.diff("HEAD", "--fail-on", "results-rewritten").exit_code == 1


def test_guardrails_put_in_another_order_keep_their_findings(repo: Repo) -> None:
    body = charter_data(status="live", business_metrics=[business_metric()])
    body["measurement"]["guardrails"] = [guardrail(), guardrail("cost", unit="USD")]
    rows = [*ROWS, *ab("2026-02-28", "lat", 100.0, 120.0), *ab("2026-02-28", "cost", 1.0, 1.0)]
    write_charter(repo.source, "lift", body, rows)
    repo.commit("Two guardrails, one breached", when="2026-03-21T00:00:00Z")
    body["measurement"]["guardrails"].reverse()
    write_charter(repo.source, "lift", body, rows)
    report = repo.diff_json("HEAD")
    assert changes(report, "finding-added") == changes(report, "finding-resolved") == []
    assert repo.diff("HEAD", "--fail-on", "flagged").exit_code == 0


def test_a_verdict_kept_and_an_alert_kept_away_by_an_edit_are_flagged(repo: Repo) -> None:
    # The new rows would lose the verdict (production back below the baseline) and
    # breach the guardrail; the same change stretches the cadence and loosens the
    # tolerance, so neither the verdict nor the alerts change.
    body = charter_data(business_metrics=[business_metric()])
    body["measurement"]["guardrails"] = [guardrail()]
    write_charter(repo.source, "lift", body, ROWS)
    repo.commit("Business impact", when="2026-03-01T00:00:00Z")
    body["measurement"]["cadence"] = "every 999 months"
    body["measurement"]["guardrails"] = [guardrail(tolerance={"value": 50.0})]
    rows = [*ROWS, row("2026-03-20", "conv", 9.0), *ab("2026-02-28", "lat", 100.0, 120.0)]
    write_charter(repo.source, "lift", body, rows)
    report = repo.diff_json("HEAD")
    (verdict,) = changes(report, "verdict-changed")
    assert (verdict["before"], verdict["after"], verdict["flagged"]) == (
        "business-impact",
        "business-impact",
        True,
    )
    assert verdict["message"] == (
        "verdict: Business impact kept by an edit of the charter: before it, the same"
        " results give No impact"
    )
    (silenced,) = changes(report, "finding-resolved")
    assert (silenced["before"]["code"], silenced["flagged"]) == ("MC108", True)
    assert silenced["message"].startswith("silenced MC108: guardrail 'Guardrail lat' moved")
    assert repo.diff("HEAD", "--fail-on", "flagged").exit_code == 1
    # The same rows without the edit: the verdict and the alert change, unflagged.
    body["measurement"]["cadence"] = "weekly"
    body["measurement"]["guardrails"] = [guardrail()]
    write_charter(repo.source, "lift", body, rows)
    report = repo.diff_json("HEAD")
    assert [(c["after"], "flagged" in c) for c in changes(report, "verdict-changed")] == [
        ("no-impact", False)
    ]
    assert [c["after"]["code"] for c in changes(report, "finding-added")] == ["MC108"]
    assert changes(report, "finding-resolved") == []
    # Switched off with x-lint instead: silenced too.
    write_charter(repo.source, "lift", {**body, "x-lint": {"disable": ["MC108"]}}, rows)
    (silenced,) = changes(repo.diff_json("HEAD"), "finding-resolved")
    assert silenced["flagged"] is True


def test_an_error_or_alert_rule_switched_off_is_flagged(repo: Repo) -> None:
    # `x-lint: {disable: [MC109]}` hid a stale charter's alert, and the diff said that
    # nothing changed: it does not judge staleness, so no alert went away.
    fraud = "charters/card-fraud-detection/charter.yaml"
    repo.write(fraud, "x-lint: {disable: [MC109, MC112]}\n" + repo.read(fraud))
    repo.commit("Staleness off")
    report = repo.diff_json("HEAD~1", "HEAD")
    (off,) = changes(report, "finding-resolved")  # MC112, a warning, is not told
    assert (off["charter"], off["flagged"], off["before"]["code"]) == (
        "card-fraud-detection",
        True,
        "MC109",
    )
    assert (off["before"]["file"], off["before"]["line"], off["field"]) == (
        fraud,
        1,
        "x-lint.disable[0]",
    )
    assert off["message"] == (
        "switched off MC109 stale-results for this charter by its x-lint: what it finds is"
        " no longer shown (an edit)"
    )
    assert "alert cleared or kept away by an edit" in repo.diff("HEAD~1", "HEAD").stdout
    assert repo.diff("HEAD~1", "HEAD", "--fail-on", "flagged").exit_code == 1
    # For every charter, by site.yaml, located there; the one already off is not told.
    repo.replace("site.yaml", "disable: []", "disable: [MC107, MC109]")
    repo.commit("Staleness off for every charter")
    told = changes(repo.diff_json("HEAD~1", "HEAD"), "finding-resolved")
    assert len(told) == len(list(repo.source.glob("charters/*/charter.yaml"))) - 1
    assert {c["before"]["file"] for c in told} == {"site.yaml"}
    assert all(c["message"].startswith("switched off MC109 stale-results") for c in told)
    assert "card-fraud-detection" not in {c["charter"] for c in told}
    # The comment says it once, naming the charters, not once a charter in a section
    # of its own (the comment filled up with them in a large portfolio).
    comment = repo.diff("HEAD~1", "HEAD").stdout
    ids = ", ".join(f"`{cid}`" for cid in sorted(c["charter"] for c in told))
    (line,) = [x for x in comment.splitlines() if "switched off" in x]
    assert line == (
        f"- 🚩 switched off MC109 stale-results for {len(told)} charters ({ids}) by"
        " site.yaml's lint.disable: what it finds is no longer shown (an edit)"
    )
    assert "### `site.yaml`" in comment
    assert not [x for x in comment.splitlines() if x.startswith("### `") and "·" in x]
    # Switched on again: nothing flagged.
    repo.replace("site.yaml", "disable: [MC107, MC109]", "disable: []")
    repo.commit("On again")
    assert changes(repo.diff_json("HEAD~1", "HEAD"), "finding-resolved") == []
    # An alert raised now, switched off by site.yaml: said so, not "an edit of the charter".
    repo.replace("site.yaml", "disable: []", "disable: [MC108]")
    repo.commit("Guardrails off")
    told = changes(repo.diff_json("HEAD~1", "HEAD"), "finding-resolved")
    (search,) = [c for c in told if c["charter"] == "search-ranking"]
    assert search["message"].startswith("resolved MC108: ")
    assert search["message"].endswith(
        "(an edit of site.yaml's lint.disable: before it, the same results raise it)"
    )
    # The comment's site.yaml line does not read as if the rule were off for the other
    # charters alone: where it silences an alert is named there too (review).
    comment = repo.diff("HEAD~1", "HEAD").stdout
    (line,) = [x for x in comment.splitlines() if x.startswith("- 🚩 switched off MC108")]
    assert line.endswith(
        "(an edit); where it silences an alert, in that charter's section: `search-ranking`"
    )


# --- a metric renamed ----------------------------------------------------------------------

AGENT = "charters/agent-reply-suggestions/charter.yaml"
AGENT_RESULTS = "charters/agent-reply-suggestions/results/weekly-ab.csv"
FAIL_ON = "goalpost-moved,catalogue-changed,agreement-changed"


def _rename_handle_minutes(repo: Repo) -> None:
    """`handle_minutes` renamed `handle_time` wherever it is written: its declaration,
    the ML metric that drives it, the plan's minimum detectable effect, the human
    baseline and its 16 result rows."""
    for rel in (AGENT, AGENT_RESULTS):
        repo.write(rel, repo.read(rel).replace("handle_minutes", "handle_time"))


def test_a_metric_renamed_and_nothing_else_is_one_change(repo: Repo) -> None:
    """An agreed metric renamed, its references and rows with it, read as its agreement
    removed, its 16 rows rewritten, the plan changed with results in hand and the verdict
    kept by an edit: four flags, and the shipped gate failed (review)."""
    _rename_handle_minutes(repo)
    report = repo.diff_json("HEAD")
    assert [
        (c["kind"], c["metric"], c["field"], c["before"], c["after"]) for c in changes(report)
    ] == [("metric-changed", "handle_time", "id", "handle_minutes", "handle_time")]
    (change,) = changes(report)
    assert change["message"] == (
        "business metric `handle_minutes` renamed `handle_time`, its 16 result rows with it"
    )
    assert "flagged" not in change
    assert repo.diff("HEAD", "--fail-on", FAIL_ON).exit_code == 0
    assert repo.diff("HEAD", "--fail-on", "flagged").exit_code == 0
    # With --all its latest before is its own, under its old id (it read "—").
    table = repo.diff("HEAD", "--all").stdout
    (row,) = [line for line in table.splitlines() if line.startswith("| `handle_time` |")]
    assert row.split(" | ")[1] == row.split(" | ")[2] == "12.07 minutes (2026-11-08)"


def test_a_rename_with_a_past_row_changed_is_no_rename(repo: Repo) -> None:
    """Renamed with one of its past rows changed: not the same data, so a metric removed,
    with its agreement, and one added, as before; the gate fails."""
    _rename_handle_minutes(repo)
    old, new = "2026-09-20,handle_time,treatment,12.8,", "2026-09-20,handle_time,treatment,12.1,"
    repo.replace(AGENT_RESULTS, old, new)
    report = repo.diff_json("HEAD")
    kinds = {(c["kind"], c["metric"]) for c in changes(report)}
    assert ("agreement-changed", "handle_minutes") in kinds
    assert not [c for c in changes(report) if c["field"] == "id"]
    assert repo.diff("HEAD", "--fail-on", FAIL_ON).exit_code == 1


def test_a_goalpost_moved_with_a_rename_is_a_moved_goalpost(repo: Repo) -> None:
    """Renamed and its target loosened in one change: a removal and an addition, so no
    `goalpost-moved`, and the gate that blocks only unagreed moves let it through
    (review). Known by its rows, it is the same metric: its target moved, flagged."""
    _rename_handle_minutes(repo)
    text = repo.read(AGENT)
    assert text.count("{value: 12.0,") == 1
    repo.write(AGENT, text.replace("{value: 12.0,", "{value: 13.0,"))
    report = repo.diff_json("HEAD")
    assert [(c["kind"], c["metric"], c["field"], c["before"], c["after"]) for c in changes(report)][
        :2
    ] == [
        ("metric-changed", "handle_time", "id", "handle_minutes", "handle_time"),
        ("goalpost-moved", "handle_time", "target.value", 12.0, 13.0),
    ]
    assert repo.diff("HEAD", "--fail-on", FAIL_ON).exit_code == 1
    assert repo.diff("HEAD", "--fail-on", "goalpost-moved-unagreed").exit_code == 1


def test_a_rename_with_a_new_week_of_rows_is_a_rename(repo: Repo) -> None:
    """The common case: renamed as a new week's rows arrive. Every old row is among the
    new id's, so it is the same metric, with results added."""
    _rename_handle_minutes(repo)
    repo.append(
        AGENT_RESULTS,
        "2026-11-15,handle_time,control,14.1,170,6.9\n2026-11-15,handle_time,treatment,12.0,172,5.1\n",
    )
    report = repo.diff_json("HEAD")
    kinds = [(c["kind"], c["metric"]) for c in changes(report)]
    assert kinds[0] == ("metric-changed", "handle_time")
    assert ("results-added", "handle_time") in kinds
    assert not [k for k, _ in kinds if k in ("agreement-changed", "results-rewritten")]
    assert repo.diff("HEAD", "--fail-on", FAIL_ON).exit_code == 0


def test_a_rename_beside_another_edit_reports_both(repo: Repo) -> None:
    """The rename is one change; an edit of another metric in the same change is reported
    as it would be alone, here the ML metric's target."""
    _rename_handle_minutes(repo)
    repo.replace(AGENT, "target: {value: 0.6}", "target: {value: 0.65}")
    report = repo.diff_json("HEAD")
    assert [(c["kind"], c["metric"], c["field"]) for c in changes(report)] == [
        ("metric-changed", "handle_time", "id"),
        ("metric-changed", "suggestion_acceptance", "target.value"),
    ]


def test_a_charter_removed_that_did_not_load_in_base_takes_its_agreements(repo: Repo) -> None:
    """Removing a charter that did not load in BASE gave no `agreement-changed`: its
    agreements were not read from the file as written, and the gate let it through."""
    repo.replace(ROUTING, "status: experiment", "status: experiment\nnot_a_field: 1")
    repo.commit("Broken on main")
    shutil.rmtree(repo.path("charters/support-ticket-routing"))
    report = repo.diff_json("HEAD")
    removed = [(c["metric"], c["message"]) for c in changes(report, "agreement-changed")]
    assert removed == [
        (
            "resolution_hours",
            "business metric `resolution_hours` removed with its charter, and its agreement"
            " with it (BASE's charter.yaml, read as written: it did not load)",
        )
    ]
    assert repo.diff("HEAD", "--fail-on", FAIL_ON).exit_code == 1


def test_a_move_beside_its_interval_keeps_the_intervals_decimals(tmp_path: Path) -> None:
    """`+0.08 vs baseline, 95% CI +0.0742 to +0.0858`: the move read rounder than its
    interval, as a lift did before it was padded (review). The interval is Wilson's of
    0.26 of 22,000 (statsmodels' proportion_confint: 0.254246 to 0.265838) less the
    baseline of 0.18."""
    before, after = copy_examples(tmp_path / "before"), copy_examples(tmp_path / "after")
    rows = after / "charters/churn-prediction/results/holdout-monthly.json"
    text = rows.read_text(encoding="utf-8").rstrip().removesuffix("]").rstrip()
    new = '{"date": "2026-07-31", "metric": "precision_at_top_decile", "value": 0.26, "n": 22000}'
    rows.write_text(f"{text},\n  {new}\n]\n", encoding="utf-8")
    result = CliRunner().invoke(
        main,
        ["diff", str(before), str(after), "--source", str(after), "--format", "json"],
        env={"SOURCE_DATE_EPOCH": "1796515200"},
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    (added,) = [
        c for c in changes(report, "results-added") if c["metric"] == "precision_at_top_decile"
    ]
    assert "(+0.0800 vs baseline, 95% CI +0.0742 to +0.0858)" in added["message"]


# --- rows taken out in one change and put back in the next -------------------------------

FEBRUARY_BETTER = [*ROWS[:3], {**ROWS[3], "value": 11.9}]  # its treatment row 10.9 → 11.9


def test_rows_rewritten_while_mending_a_charter_that_does_not_load_in_base_are_flagged(
    repo: Repo,
) -> None:
    """A row broken on the base branch (charter a does not load there), then a pull request
    that mends it and revises February's treatment row: its results were "not compared",
    and the revision passed every gate. They are compared with the newest version before
    BASE that loads."""
    write_charter(repo.source, "a", charter(12.0), ROWS)
    repo.commit("Add a", when="2026-09-01T10:00:00Z")
    loaded = git(repo.root, "rev-parse", "HEAD").strip()[:10]
    write_charter(
        repo.source, "a", charter(12.0), [*ROWS, {**ROWS[0], "date": "2026-03-31", "value": "n/a"}]
    )
    repo.commit("A broken row", when="2026-09-02T10:00:00Z")
    write_charter(repo.source, "a", charter(12.0), FEBRUARY_BETTER)
    report = repo.diff_json("HEAD")
    (rewrite,) = changes(report, "results-rewritten")
    assert (rewrite["charter"], rewrite["metric"]) == ("a", "conv")
    assert rewrite["message"].endswith(
        f"; it does not load in BASE: compared with its version of {loaded} (2026-09-01),"
        " the newest before BASE that loads"
    )
    assert [r["value"] for r in rewrite["after"]] == [11.9]
    (note,) = report["not_compared"]
    assert note["charter"] == "a" and f"compared with its version of {loaded}" in note["message"]
    assert note["compared_with"] == f"{loaded} (2026-09-01)"
    assert (
        "Compared with an older version, as the one to compare did not load: `a`."
        in (report["summary"]["text"])
    )
    assert "Not compared because" not in report["summary"]["text"]
    failed = repo.diff("HEAD", "--fail-on", "results-rewritten")
    assert failed.exit_code == 1, failed.output


@pytest.mark.parametrize("how", ["rows-deleted", "file-removed", "rows-deleted-filtered"])
def test_rows_taken_out_and_put_back_changed_in_the_next_change_are_rewritten(
    repo: Repo, how: str
) -> None:
    """February's rows taken out of charter a on main (that change flagged their removal),
    another charter's commit after it, then a pull request putting them back with a
    better treatment row: a past row revised, not rows added. So too where the result
    files are kept through a filter (as Git LFS keeps them), their blobs unreadable as
    rows: they are read as a checkout writes them."""
    if how.endswith("-filtered"):
        git(repo.root, "config", "filter.b64.clean", "base64")
        git(repo.root, "config", "filter.b64.smudge", "base64 -d")
        repo.path(".gitattributes").write_text("*.csv filter=b64\n", encoding="utf-8")
    write_charter(repo.source, "a", charter(12.0), ROWS)
    repo.commit("Add a")
    if how.startswith("rows-deleted"):
        write_charter(repo.source, "a", charter(12.0), ROWS[:2])
    else:
        repo.path("charters/a/results/results.csv").unlink()
    repo.commit("Drop February", when="2026-09-01T10:00:00Z")
    taken = git(repo.root, "rev-parse", "HEAD").strip()[:10]
    write_charter(repo.source, "b", charter(12.0))
    repo.commit("Add b")
    write_charter(repo.source, "a", charter(12.0), FEBRUARY_BETTER)
    report = repo.diff_json("HEAD")
    (rewrite,) = changes(report, "results-rewritten")
    assert (rewrite["charter"], rewrite["metric"], rewrite["taken_out_in"]) == (
        "a",
        "conv",
        [taken],
    )
    assert [(r["date"], r["variant"], r["value"]) for r in rewrite["before"]] == [
        ("2026-02-28", "treatment", 10.9)
    ]
    assert [r["value"] for r in rewrite["after"]] == [11.9]
    assert rewrite["message"].endswith(
        f"; taken out in {taken} (2026-09-01) and back with other numbers"
    )
    assert "1 past row revised (2026-02-28 treatment: " in rewrite["message"]
    failed = repo.diff("HEAD", "--fail-on", "results-rewritten")
    assert failed.exit_code == 1, failed.output
    assert "taken out in" in repo.diff("HEAD").stdout


def test_rows_taken_out_and_put_back_as_they_were_are_only_added(repo: Repo) -> None:
    """Back with the numbers they had, or new rows appended: rows added, nothing rewritten."""
    write_charter(repo.source, "a", charter(12.0), ROWS)
    repo.commit("Add a")
    write_charter(repo.source, "a", charter(12.0), ROWS[:2])
    repo.commit("Drop February")
    write_charter(repo.source, "a", charter(12.0), [*ROWS, *MORE])
    report = repo.diff_json("HEAD")
    assert changes(report, "results-rewritten") == []
    (added,) = changes(report, "results-added")
    assert added["rows"] == {"added": 4, "revised": 0, "removed": 0}


def test_a_charter_added_again_whose_version_removed_does_not_load_is_compared_before(
    repo: Repo,
) -> None:
    """A row broken, then the charter removed, then added back with a past row better
    and a softer rule: its results and verdict went uncompared (only a note said so).
    They are compared with the newest version before the removal that loads."""
    body = charter(12.0)
    write_charter(repo.source, "a", body, PRODUCTION)
    repo.commit("Add a", when="2026-08-30T10:00:00Z")
    loads = git(repo.root, "rev-parse", "HEAD").strip()[:10]
    repo.append("charters/a/results/results.csv", "2026-03-31,conv,treatment,lots\n")
    repo.commit("Break a row")
    shutil.rmtree(repo.path("charters/a"))
    repo.commit("Drop a", when="2026-09-01T10:00:00Z")
    removed = git(repo.root, "rev-parse", "HEAD").strip()[:10]
    better = [*PRODUCTION[:3], {**PRODUCTION[3], "value": 11.9}, *PRODUCTION[4:]]
    write_charter(repo.source, "a", stretched(body), better)
    report = repo.diff_json("HEAD")
    assert report["not_compared"] == []
    why = (
        f"; the charter was removed in {removed} (2026-09-01) and is added again: compared"
        f" with its version of {loads} (2026-08-30), the newest before the removal that loads"
    )
    (rewrite,) = changes(report, "results-rewritten")
    assert rewrite["message"].endswith(why)
    assert [r["value"] for r in rewrite["after"]] == [11.9]
    (verdict,) = changes(report, "verdict-changed")
    assert (verdict["before"], verdict["flagged"]) == ("no-impact", True)
    assert verdict["message"].endswith(why)
    failed = repo.diff("HEAD", "--fail-on", "flagged")
    assert failed.exit_code == 1, failed.output


def test_rows_taken_out_and_put_back_changed_by_a_rename_are_rewritten(repo: Repo) -> None:
    """The same, with the charter renamed (its old id in `aliases`) in the change that
    puts the rows back."""
    write_charter(repo.source, "a", charter(12.0), ROWS)
    repo.commit("Add a")
    write_charter(repo.source, "a", charter(12.0), ROWS[:2])
    repo.commit("Drop February", when="2026-09-01T10:00:00Z")
    taken = git(repo.root, "rev-parse", "HEAD").strip()[:10]
    shutil.rmtree(repo.path("charters/a"))
    write_charter(repo.source, "b", {**charter(12.0), "aliases": ["a"]}, FEBRUARY_BETTER)
    report = repo.diff_json("HEAD")
    (rewrite,) = changes(report, "results-rewritten")
    assert (rewrite["charter"], rewrite["taken_out_in"]) == ("b", [taken])
    assert [r["value"] for r in rewrite["after"]] == [11.9]


def _february_taken(repo: Repo) -> str:
    """Charter a added with ROWS, then February's rows taken out on 2026-09-01 on main:
    that commit's short hash."""
    write_charter(repo.source, "a", charter(12.0), ROWS)
    repo.commit("Add a")
    write_charter(repo.source, "a", charter(12.0), ROWS[:2])
    repo.commit("Drop February", when="2026-09-01T10:00:00Z")
    return git(repo.root, "rev-parse", "HEAD").strip()[:10]


def test_rows_put_back_changed_are_revised_not_also_added(repo: Repo) -> None:
    """February back, its treatment row changed: one row revised and one added (its
    control row, back as it was), not two added."""
    _february_taken(repo)
    write_charter(repo.source, "a", charter(12.0), FEBRUARY_BETTER)
    report = repo.diff_json("HEAD")
    (rewrite,) = changes(report, "results-rewritten")
    (added,) = changes(report, "results-added")
    assert (rewrite["rows"]["revised"], added["rows"]["added"]) == (1, 1)


def test_rows_taken_out_before_a_rename_are_followed_through_its_aliases(repo: Repo) -> None:
    """February taken out, then the charter renamed a → a2 (listing `a`), then put back
    changed: the walk went on past the commit that made a2's charter.yaml."""
    taken = _february_taken(repo)
    shutil.move(repo.path("charters/a"), repo.path("charters/a2"))
    renamed = {**charter(12.0), "aliases": ["a"]}
    write_charter(repo.source, "a2", renamed, ROWS[:2])
    repo.commit("Rename a to a2")
    write_charter(repo.source, "a2", renamed, FEBRUARY_BETTER)
    (rewrite,) = changes(repo.diff_json("HEAD"), "results-rewritten")
    assert (rewrite["charter"], rewrite["taken_out_in"]) == ("a2", [taken])


def test_rows_left_out_by_a_narrower_results_glob_then_back_changed_are_rewritten(
    repo: Repo,
) -> None:
    """February in a file of its own, left out by narrowing `results` (that change was
    flagged), then the glob widened again with the file changed."""
    wide = {**charter(12.0), "results": ["results/*.csv"]}
    write_charter(repo.source, "a", wide, ROWS[:2])
    write_charter(repo.source, "a", wide, ROWS[2:], results_file="february.csv")
    repo.commit("Add a")
    write_charter(repo.source, "a", {**wide, "results": ["results/results.csv"]})
    repo.commit("Read one file", when="2026-09-01T10:00:00Z")
    narrowed = git(repo.root, "rev-parse", "HEAD").strip()[:10]
    write_charter(repo.source, "a", wide)
    write_charter(repo.source, "a", wide, FEBRUARY_BETTER[2:], results_file="february.csv")
    (rewrite,) = changes(repo.diff_json("HEAD"), "results-rewritten")
    assert rewrite["taken_out_in"] == [narrowed]


@pytest.mark.parametrize("name", ["a\x02b.txt", "a\x02deadbeef\x012026-09-01T00:00:00+00:00"])
def test_a_file_name_like_a_log_record_neither_breaks_nor_hides_a_taking(
    repo: Repo, name: str
) -> None:
    """A file whose name holds the bytes a reading of git's log could take for a new
    commit, added with February's removal: an internal error, or the taking booked to a
    commit that does not exist."""
    write_charter(repo.source, "a", charter(12.0), ROWS)
    repo.commit("Add a")
    repo.path(f"charters/a/{name}").write_text("note", encoding="utf-8")
    write_charter(repo.source, "a", charter(12.0), ROWS[:2])
    repo.commit("Drop February, add a note")
    taken = git(repo.root, "rev-parse", "HEAD").strip()[:10]
    write_charter(repo.source, "a", charter(12.0), FEBRUARY_BETTER)
    (rewrite,) = changes(repo.diff_json("HEAD"), "results-rewritten")
    assert rewrite["taken_out_in"] == [taken]


@pytest.mark.parametrize("loaded_before", [True, False], ids=["older-loads", "none-loads"])
def test_rows_taken_out_of_a_version_that_does_not_load_say_so(
    repo: Repo, loaded_before: bool
) -> None:
    """The charter did not load before the commit that took February out (a field
    missing, fixed in that commit): the rows back are compared with the newest version
    before it that loads, and the report says so under the charter; with none, they
    are not compared, and it says that. They went uncompared, failing no gate."""
    broken = {k: v for k, v in charter(12.0).items() if k != "owner"}
    write_charter(repo.source, "a", charter(12.0) if loaded_before else broken, ROWS)
    repo.commit("Add a", when="2026-09-01T10:00:00Z")
    added = git(repo.root, "rev-parse", "HEAD").strip()[:10]
    if loaded_before:
        write_charter(repo.source, "a", broken, ROWS)
        repo.commit("Work in progress")
    write_charter(repo.source, "a", charter(12.0), ROWS[:2])
    repo.commit("Drop February, and fix")
    taken = git(repo.root, "rev-parse", "HEAD").strip()[:10]
    write_charter(repo.source, "a", charter(12.0), FEBRUARY_BETTER)
    report = repo.diff_json("HEAD")
    notes = [(x["charter"], x["side"], x["message"]) for x in report["not_compared"]]
    rewrites = changes(report, "results-rewritten")
    if not loaded_before:
        assert notes == [
            (
                "a",
                "base",
                f"Rows taken out in {taken} not compared with HEAD's: it does not load there",
            )
        ]
        assert rewrites == []
        return
    assert notes == [
        (
            "a",
            "base",
            f"Rows taken out in {taken} compared with its version of {added} (2026-09-01),"
            " the newest before it that loads: it does not load there",
        )
    ]
    (rewrite,) = rewrites
    assert rewrite["taken_out_in"] == [taken] and [r["value"] for r in rewrite["after"]] == [11.9]
    assert repo.diff("HEAD", "--fail-on", "results-rewritten").exit_code == 1


def test_rows_taken_out_in_another_unit_are_not_compared(repo: Repo) -> None:
    """February taken out in percent; the metric then moved to a ratio, its rows
    converted (flagged then); February back converted: no rewrite of 10.9 into 0.109."""
    _february_taken(repo)
    ratio = charter_data(
        business_metrics=[
            business_metric(unit="ratio", baseline={"value": 0.10}, target={"value": 0.12})
        ]
    )

    def converted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**r, "value": round(r["value"] / 100, 6)} for r in rows]

    write_charter(repo.source, "a", ratio, converted(ROWS[:2]))
    repo.commit("Unit to ratio")
    write_charter(repo.source, "a", ratio, converted(ROWS))
    assert changes(repo.diff_json("HEAD"), "results-rewritten") == []


def test_a_removal_with_a_file_named_like_a_log_record_is_still_found(repo: Repo) -> None:
    """Charter a removed with a file whose name holds the bytes a reading of git's log
    could take for a new commit: the removal went unseen, and a re-add at a lower target
    passed as a new charter."""
    write_charter(repo.source, "a", charter(12.0), ROWS)
    repo.path("charters/a/a\x02x").write_text("note", encoding="utf-8")
    repo.commit("Add a")
    shutil.rmtree(repo.path("charters/a"))
    repo.commit("Drop a")
    write_charter(repo.source, "a", charter(10.0), ROWS)
    report = repo.diff_json("HEAD")
    (added,) = changes(report, "charter-added")
    assert "added again" in added["message"]
    assert [c["field"] for c in changes(report, "goalpost-moved")] == ["target.value"]


# --- git as a contributor can write it ----------------------------------------------------

ODD_DATE = "@1775100000 +9959"  # git takes offsets up to ±99:59; 2026-04-02 in UTC


def test_a_commit_dated_with_an_offset_git_takes_is_read(repo: Repo) -> None:
    """A target raised with `agreed.on` a month before a commit dated +99:59: the date was
    unreadable, so the agreement passed as renewed for the change (and a commit so dated
    that took rows out made the diff fail with an internal error)."""
    write_charter(repo.source, "a", charter(12.0), [*ROWS, *MORE])
    repo.commit("Add a", when="2026-03-01T10:00:00Z")
    write_charter(repo.source, "a", charter(12.0), ROWS)
    repo.commit("Drop March", when=ODD_DATE)
    taken = git(repo.root, "rev-parse", "HEAD").strip()[:10]
    raised = charter(13.0, agreed={"by": ["VP Sales"], "on": "2026-03-05"})
    write_charter(repo.source, "a", raised, [*ROWS, *MORE[:1], {**MORE[1], "value": 11.9}])
    repo.commit("Raise the target, March back", when=ODD_DATE)
    report = repo.diff_json("HEAD~1", "HEAD")
    (rewrite,) = changes(report, "results-rewritten")
    assert rewrite["taken_out_in"] == [taken]
    assert rewrite["message"].endswith(
        f"taken out in {taken} (2026-04-02) and back with other numbers"
    )
    (moved,) = changes(report, "goalpost-moved")
    assert moved["reagreed"] is False
    assert "is before the change (2026-04-02)" in moved["message"]


def test_a_charter_folder_linked_into_a_folder_named_like_pathspec_magic_is_read(
    repo: Repo,
) -> None:
    """`charters/a` a link into `:x/` (a name git reads as pathspec magic unless told
    otherwise): `check` read the charter, `diff` saw nothing of a lowered target."""
    outside = repo.source / ":x"
    write_charter(outside, "a", charter(12.0), ROWS)
    repo.path("charters").mkdir(exist_ok=True)
    os.symlink("../:x/charters/a", repo.path("charters/a"))
    repo.commit("Add a, kept in :x")
    write_charter(outside, "a", charter(11.0), ROWS)
    repo.commit("Lower the target")
    (moved,) = changes(repo.diff_json("HEAD~1", "HEAD"), "goalpost-moved")
    assert (moved["charter"], moved["before"], moved["after"]) == ("a", 12.0, 11.0)


def test_a_shallow_base_says_what_it_cannot_compare(repo: Repo, tmp_path: Path) -> None:
    """February taken out on main; a clone of depth 1 (BASE fetched, its parent not)
    puts it back changed: rows added, with nothing to say the rows taken out could not
    be seen. The report now says so, in the JSON and the comment."""
    _february_taken(repo)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo.root}", str(clone))
    shallow = Repo(clone, clone / repo.source.relative_to(repo.root))
    write_charter(shallow.source, "a", charter(12.0), FEBRUARY_BETTER)
    report = shallow.diff_json("HEAD")
    assert changes(report, "results-rewritten") == []
    (note,) = report["base"]["notes"]
    assert note.startswith("BASE (HEAD) is a shallow clone whose history ends 1 commit back")
    assert "history ends 1 commit back" in shallow.diff("HEAD").stdout
    assert repo.diff_json("HEAD")["base"]["notes"] == []


def test_a_control_row_put_back_under_another_control_name_is_rewritten(repo: Repo) -> None:
    """Every control name is one arm: February's control row back as `holdout`, lower."""
    taken = _february_taken(repo)
    back = [*ROWS[:2], {**ROWS[2], "value": 9.0, "variant": "holdout"}, ROWS[3]]
    write_charter(repo.source, "a", charter(12.0), back)
    (rewrite,) = changes(repo.diff_json("HEAD"), "results-rewritten")
    assert (rewrite["taken_out_in"], [r["value"] for r in rewrite["after"]]) == ([taken], [9.0])


def test_rows_taken_out_in_the_commit_that_renames_the_charter_are_found(repo: Repo) -> None:
    write_charter(repo.source, "a", charter(12.0), ROWS)
    repo.commit("Add a")
    shutil.rmtree(repo.path("charters/a"))
    write_charter(repo.source, "a2", {**charter(12.0), "aliases": ["a"]}, ROWS[:2])
    repo.commit("Rename a to a2, without February")
    renamed = git(repo.root, "rev-parse", "HEAD").strip()[:10]
    write_charter(repo.source, "a2", {**charter(12.0), "aliases": ["a"]}, FEBRUARY_BETTER)
    (rewrite,) = changes(repo.diff_json("HEAD"), "results-rewritten")
    assert rewrite["taken_out_in"] == [renamed]


def test_an_older_taking_is_not_compared_past_one_that_does_not_load(repo: Repo) -> None:
    """February taken out and put back better (flagged then); then a row broken, and
    February taken out again with the fix; back as it last was: no rewrite against the
    first taking's numbers (a false alarm), only the note that the last is not compared."""
    _february_taken(repo)
    write_charter(repo.source, "a", charter(12.0), FEBRUARY_BETTER)
    repo.commit("February back, better")
    repo.append("charters/a/results/results.csv", "2026-03-31,conv,treatment,lots\n")
    repo.commit("A broken row")
    write_charter(repo.source, "a", charter(12.0), ROWS[:2])
    repo.commit("Fix, and drop February again")
    write_charter(repo.source, "a", charter(12.0), FEBRUARY_BETTER)
    report = repo.diff_json("HEAD")
    assert changes(report, "results-rewritten") == []
    assert [x["charter"] for x in report["not_compared"]] == ["a"]
