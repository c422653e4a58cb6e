"""Verdict changes in a charter's history, on repositories built here with real git.

Each charter version a commit made is loaded and analysed as it was at the commit:
the verdict the page would have shown that day. The page and the feed list each
change of it with the commit's date, short hash and author.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import yaml
from factory import ab, business_metric, charter_data, ml_metric, row, write_charter
from helpers import parse_html, run_cli
from history_repo import commit, git, isolate_git

from generator import verdict_history
from generator.load import load_project

ATOM = "{http://www.w3.org/2005/Atom}"
ML_ROWS = [row("2026-01-31", "prec", 0.93)]
MORE_ML = [row("2026-02-28", "prec", 0.94)]
BUSINESS = ab("2026-03-02", "conv", 10.0, 11.0, n=50000)  # a clear lift on conv


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_git(monkeypatch, tmp_path / "home")


def charter(**overrides: Any) -> dict[str, Any]:
    return charter_data(business_metrics=[business_metric()], ml_metrics=[ml_metric()], **overrides)


def new_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir(parents=True)
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "charters@example.com")
    git(repo, "config", "commit.gpgsign", "false")
    (repo / "site.yaml").write_text("title: Verdict history\n", encoding="utf-8")
    # The build's cache stays out of the commits (a committed one is not used).
    (repo / ".gitignore").write_text("/.charters-cache/\n", encoding="utf-8")
    return repo


def make_repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """`routing`: ML metric only, still ML metric only, invalid, then business impact."""
    repo = new_repo(tmp_path)
    h: dict[str, str] = {}
    write_charter(repo, "routing", charter(), ML_ROWS)
    write_charter(repo, "steady", charter(title="Steady charter"), ML_ROWS)
    h["ml"] = commit(repo, "Model results", "Ana Ruiz", "2026-02-01T09:00:00Z")
    write_charter(repo, "routing", charter(), [*ML_ROWS, *MORE_ML])
    h["same"] = commit(repo, "More model results", "Ben Okafor", "2026-03-01T10:00:00Z")
    write_charter(repo, "routing", charter(measurement=None), [*ML_ROWS, *MORE_ML])
    h["invalid"] = commit(repo, "Rework the plan", "Chen Li", "2026-03-02T11:00:00Z")
    write_charter(repo, "routing", charter(), [*ML_ROWS, *MORE_ML, *BUSINESS])
    h["business"] = commit(repo, "Business results", "Dana Ito", "2026-03-05T12:00:00Z")
    return repo, h


def build(source: Path, out: Path) -> None:
    result = run_cli("build", "--source", source, "--out", out)
    assert result.exit_code == 0, result.output


def history_lines(site: Path, cid: str = "routing") -> list[str]:
    page = parse_html(site / "charters" / cid / "index.html")
    items = page.find("section", id="history").find_all("li")
    return [" ".join(li.text().split()) for li in items]


def verdict_lines(site: Path, cid: str = "routing") -> list[str]:
    """The page's history lines that are verdict changes."""
    return [line for line in history_lines(site, cid) if "Verdict" in line]


def test_a_verdict_change_is_on_the_page_with_its_date_commit_and_author(tmp_path: Path) -> None:
    repo, h = make_repo(tmp_path)
    build(repo, tmp_path / "site")
    verdicts = verdict_lines(tmp_path / "site")
    # One change: the unchanged verdict of `same` and the invalid version are not events.
    assert verdicts == [
        "2026-03-05 Verdict changed Verdict: ML metric only → Business impact"
        f" commit {h['business']} by Dana Ito"
    ]
    page = parse_html(tmp_path / "site" / "charters" / "routing" / "index.html")
    item = page.find("li", class_="history-verdict")
    assert item.find("time").attrs["datetime"] == "2026-03-05T12:00:00Z"
    # The page's own verdict is the head's, the same the last event names.
    assert "Business impact" in page.find("main").text()
    assert not verdict_lines(tmp_path / "site", "steady")


def test_a_verdict_change_is_in_the_feed(tmp_path: Path) -> None:
    repo, h = make_repo(tmp_path)
    build(repo, tmp_path / "site")
    feed = ElementTree.parse(tmp_path / "site" / "feed.xml").getroot()
    found = [
        (
            e.findtext(f"{ATOM}title"),
            e.findtext(f"{ATOM}updated"),
            e.findtext(f"{ATOM}author/{ATOM}name"),
            e.findtext(f"{ATOM}summary"),
        )
        for e in feed.findall(f"{ATOM}entry")
        if e.find(f"{ATOM}category").attrib["term"] == "history-verdict"  # type: ignore[union-attr]
    ]
    assert found == [
        (
            "Test charter: verdict changed",
            "2026-03-05T12:00:00Z",
            "Dana Ito",
            f"Verdict: ML metric only → Business impact (commit {h['business']}).",
        )
    ]


def test_a_version_that_does_not_load_is_skipped(tmp_path: Path) -> None:
    """Between two versions judged ML metric only, one that does not load (no
    measurement plan) but whose rows would show business impact: no event at all."""
    broken = charter(measurement=None)
    probe = new_repo(tmp_path / "probe")
    write_charter(probe, "routing", broken, [*ML_ROWS, *BUSINESS])
    assert load_project(probe, date(2026, 3, 10))[0].charters == []  # it does not load
    repo = new_repo(tmp_path)
    write_charter(repo, "routing", charter(), ML_ROWS)
    commit(repo, "Model results", "Ana Ruiz", "2026-02-01T09:00:00Z")
    write_charter(repo, "routing", broken, [*ML_ROWS, *BUSINESS])
    commit(repo, "Break it", "Ben Okafor", "2026-03-05T09:00:00Z")
    (repo / "charters" / "routing" / "results" / "results.csv").unlink()
    write_charter(repo, "routing", charter(), [*ML_ROWS, *MORE_ML])
    commit(repo, "Mend it", "Chen Li", "2026-03-10T09:00:00Z")
    build(repo, tmp_path / "site")
    assert verdict_lines(tmp_path / "site") == []


def test_each_version_is_judged_on_its_commit_date(tmp_path: Path) -> None:
    """A row dated after its commit was refused that day: that version has no verdict."""
    repo = new_repo(tmp_path)
    write_charter(repo, "routing", charter(), ML_ROWS)
    commit(repo, "Model results", "Ana Ruiz", "2026-02-01T09:00:00Z")
    write_charter(repo, "routing", charter(), [*ML_ROWS, *BUSINESS])  # dated 2026-03-02
    commit(repo, "Early", "Ben Okafor", "2026-02-15T09:00:00Z")
    write_charter(repo, "routing", charter(title="Renamed"), [*ML_ROWS, *BUSINESS])
    h = commit(repo, "Rename", "Chen Li", "2026-03-10T09:00:00Z")
    build(repo, tmp_path / "site")
    assert verdict_lines(tmp_path / "site") == [
        f"2026-03-10 Verdict changed Verdict: ML metric only → Business impact commit {h}"
        " by Chen Li"
    ]


def test_a_version_is_judged_on_its_committers_date_ahead_of_utc(tmp_path: Path) -> None:
    """Committed at 01:30 on 2 March in Moscow (22:30 on 1 March in UTC) with rows of 2
    March: that version was judged on the UTC date, failed to load, and its verdict change
    was reported on the next commit."""
    repo = new_repo(tmp_path)
    write_charter(repo, "routing", charter(), ML_ROWS)
    commit(repo, "Model results", "Ana Ruiz", "2026-02-01T09:00:00Z")
    write_charter(repo, "routing", charter(), [*ML_ROWS, *BUSINESS])  # dated 2026-03-02
    h = commit(repo, "Business results", "Ben Okafor", "2026-03-02T01:30:00+03:00")
    write_charter(repo, "routing", charter(title="Renamed"), [*ML_ROWS, *BUSINESS])
    commit(repo, "Rename", "Chen Li", "2026-03-10T09:00:00Z")
    build(repo, tmp_path / "site")
    assert verdict_lines(tmp_path / "site") == [
        f"2026-03-01 Verdict changed Verdict: ML metric only → Business impact commit {h}"
        " by Ben Okafor"
    ]


def test_two_branches_merged_one_after_the_other_change_the_verdict_once(
    tmp_path: Path,
) -> None:
    """Branch `a` brings rows that make it Business impact; branch `b`, from the same
    start, changes only the title. Merged one after the other, the replay took them one
    after the other, and `b` was reported as taking the verdict back to ML metric only,
    although it changed no verdict: each commit is compared with its own parent."""
    repo = new_repo(tmp_path)
    write_charter(repo, "routing", charter(), ML_ROWS)
    commit(repo, "Model results", "Ana Ruiz", "2026-03-01T09:00:00Z")
    main = git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip()
    git(repo, "checkout", "-q", "-b", "b")
    write_charter(repo, "routing", charter(title="Routing, renamed"), ML_ROWS)
    commit(repo, "Title", "Ben Okafor", "2026-03-03T09:00:00Z")
    git(repo, "checkout", "-q", main)
    git(repo, "checkout", "-q", "-b", "a")
    write_charter(repo, "routing", charter(), [*ML_ROWS, *BUSINESS])
    a = commit(repo, "Business results", "Chen Li", "2026-03-05T09:00:00Z")
    git(repo, "checkout", "-q", main)
    for branch, when in (("a", "2026-03-06T09:00:00Z"), ("b", "2026-03-07T09:00:00Z")):
        git(repo, "merge", "-q", "--no-ff", "-m", f"Merge {branch}", branch, when=when)
    build(repo, tmp_path / "site")
    assert verdict_lines(tmp_path / "site") == [
        f"2026-03-05 Verdict changed Verdict: ML metric only → Business impact commit {a}"
        " by Chen Li"
    ]


def test_a_change_merged_from_a_branch_is_not_reported_again_after_the_merge(
    tmp_path: Path,
) -> None:
    """A branch gains Business impact; main moves on (another charter), merges the branch
    with --no-ff, then edits the summary: the edit was compared through the merge's
    first parent, which never saw the branch, and reported the branch's change again."""
    repo = new_repo(tmp_path)
    write_charter(repo, "routing", charter(), ML_ROWS)
    commit(repo, "Model results", "Ana Ruiz", "2026-03-01T09:00:00Z")
    main = git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip()
    git(repo, "checkout", "-q", "-b", "f")
    write_charter(repo, "routing", charter(), [*ML_ROWS, *BUSINESS])
    b = commit(repo, "Business results", "Ben Okafor", "2026-03-03T09:00:00Z")
    git(repo, "checkout", "-q", main)
    write_charter(repo, "other", charter(title="Other"), ML_ROWS)
    commit(repo, "Another charter", "Chen Li", "2026-03-04T09:00:00Z")
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge f", "f", when="2026-03-05T09:00:00Z")
    write_charter(repo, "routing", charter(summary="Reworded."), [*ML_ROWS, *BUSINESS])
    commit(repo, "Reword", "Dana Ito", "2026-03-06T09:00:00Z")
    build(repo, tmp_path / "site")
    assert verdict_lines(tmp_path / "site") == [
        f"2026-03-03 Verdict changed Verdict: ML metric only → Business impact commit {b}"
        " by Ben Okafor"
    ]


def test_a_new_head_loads_only_the_charter_versions_not_seen_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, _ = make_repo(tmp_path)
    loads: list[Path] = []
    real = verdict_history.load_project

    def counted(root: Path, today: Any = None, **given: Any) -> Any:
        loads.append(root)
        return real(root, today, **given)

    monkeypatch.setattr(verdict_history, "load_project", counted)
    build(repo, tmp_path / "site")
    # Two charters at the first commit, then routing three times, and twice more for
    # `business`, which changed the charter and its rows: the charter before the edit
    # (the invalid one) on those rows, and, as it does not load, the last one that did.
    assert len(loads) == 7
    loads.clear()
    march = ab("2026-03-09", "conv", 10.1, 11.1, n=50000)
    write_charter(repo, "routing", charter(), [*ML_ROWS, *MORE_ML, *BUSINESS, *march])
    commit(repo, "March", "Eve Park", "2026-03-10T09:00:00Z")
    build(repo, tmp_path / "site")
    assert len(loads) == 1  # the new version of routing; the others from the cache
    cache = repo / ".charters-cache" / "history" / "verdicts"
    assert len(list(cache.glob("*.json"))) == 1
    # The temporary source folders are gone.
    assert all(not root.exists() for root in loads)


def test_a_catalogued_metric_is_judged_by_the_catalogue_at_the_commit(tmp_path: Path) -> None:
    """metrics.yaml as it was at each commit: its direction turned, the same rows are
    no longer an improvement (with the head's catalogue both versions would agree)."""
    repo = new_repo(tmp_path)

    def catalogue(direction: str) -> None:
        entry = {k: v for k, v in business_metric().items() if k not in ("baseline", "target")}
        (repo / "metrics.yaml").write_text(
            yaml.safe_dump([entry | {"direction": direction}]), encoding="utf-8"
        )

    def refs(baseline: float, target: float) -> dict[str, Any]:
        metric = {"ref": "conv", "baseline": {"value": baseline}, "target": {"value": target}}
        return charter_data(business_metrics=[metric], ml_metrics=[ml_metric()])

    catalogue("increase")
    write_charter(repo, "routing", refs(10.0, 12.0), [*ML_ROWS, *BUSINESS])
    commit(repo, "Catalogued", "Ana Ruiz", "2026-03-05T09:00:00Z")
    catalogue("decrease")
    write_charter(repo, "routing", refs(12.0, 10.0), [*ML_ROWS, *BUSINESS])
    h = commit(repo, "Lower is better", "Ben Okafor", "2026-03-10T09:00:00Z")
    build(repo, tmp_path / "site")
    assert [line for line in history_lines(tmp_path / "site") if "Verdict:" in line] == [
        f"2026-03-10 Verdict changed Verdict: Business impact → ML metric only commit {h}"
        " by Ben Okafor"
    ]
