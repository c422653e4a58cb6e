"""A charter's history from git on its page and in the feed, on repositories built here.

Each commit is made with a set author and GIT_AUTHOR_DATE/GIT_COMMITTER_DATE, so the
page must show exactly those dates, names and short hashes.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import yaml
from factory import (
    RESULT_COLUMNS,
    ab,
    business_metric,
    charter_data,
    guardrail,
    ml_metric,
    row,
    write_charter,
)
from helpers import Element, parse_html, run_cli
from history_repo import (
    MORE,
    PRODUCTION,
    ROWS,
    charter,
    commit,
    git,
    isolate_git,
    make_history_repo,
    stretched,
)

from generator import history, verdict_history
from generator.cache import generator_fingerprint
from generator.history import read_history
from generator.verdict_history import VERDICT_FORMAT

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_git(monkeypatch, tmp_path / "home")


@pytest.fixture
def history_repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    return make_history_repo(tmp_path)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The history repository built once: (site, short hashes by step)."""
    base = tmp_path_factory.mktemp("history")
    with pytest.MonkeyPatch.context() as mp:
        isolate_git(mp, base / "home")
        repo, hashes = make_history_repo(base)
        build(repo, base / "site")
    return base / "site", hashes


def build(source: Path, out: Path) -> str:
    result = run_cli("build", "--source", source, "--out", out)
    assert result.exit_code == 0, result.output
    return result.output


def history_items(site: Path, cid: str = "routing") -> list[Element]:
    page = parse_html(site / "charters" / cid / "index.html")
    return page.find("section", id="history").find_all("li")


def section_text(site: Path, cid: str = "routing") -> str:
    page = parse_html(site / "charters" / cid / "index.html")
    return page.find("section", id="history").text()


def history_text(site: Path, cid: str = "routing") -> str:
    """The history section's text on one line."""
    return " ".join(section_text(site, cid).split())


def _built(repo: Path, site: Path, today: str, cid: str = "a") -> Element:
    """The page of charter `cid`, the repository built into `site` on the day `today`."""
    done = run_cli("build", "--source", repo, "--out", site, "--today", today)
    assert done.exit_code == 0, done.output
    return parse_html(site / "charters" / cid / "index.html")


def _repo(tmp_path: Path) -> Path:
    """A new repository at tmp_path/repo on branch main."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "charters@example.com")
    return repo


def test_the_page_shows_each_change_with_its_date_commit_and_author(
    built: tuple[Path, dict[str, str]],
) -> None:
    site, hashes = built
    lines = [" ".join(li.text().split()) for li in history_items(site)]
    h = hashes
    assert lines == [
        f"2026-01-05 Created Charter created, status Proposed commit {h['created']} by Ana Ruiz",
        f"2026-01-20 Goalpost changed Business conv: target.value 12 → 12.5 (more ambitious)"
        f" commit {h['early']} by Ben Okafor",
        f"2026-03-01 Status changed Status Proposed → Live commit {h['live']} by Ana Ruiz",
        f"2026-03-01 First result First result for Business conv commit {h['live']} by Ana Ruiz",
        # The first results move the business metric: the verdict changes with them.
        f"2026-03-01 Verdict changed Verdict: No results → Business impact commit {h['live']}"
        " by Ana Ruiz",
        f"2026-03-02 Moved goalpost Business conv: target.value 12.5 → 13 (more ambitious)"
        " — moved after results began (first result 2026-03-01), after it was agreed by"
        " VP Sales on 2026-01-05, without a renewed agreement (same agreed.on)"
        f" commit {h['moved']} by Chen Li",
        f"2026-03-10 Moved goalpost Business conv: target.value 13 → 13.5 (more ambitious)"
        " — moved after results began (first result 2026-03-01); re-agreed by VP Sales, CFO"
        f" on 2026-03-10 commit {h['reagreed']} by Dana Ito",
        "2026-03-10 Agreement changed Business conv: agreement agreed by VP Sales on"
        " 2026-01-05 → agreed by VP Sales, CFO on 2026-03-10"
        f" commit {h['reagreed']} by Dana Ito",
        "2026-04-15 Results rewritten results/results.csv rewritten: 1 past row revised (conv)"
        f" commit {h['rewritten']} by Eve Park",
    ]
    # Appended rows are results, not history: the March commit has no entry.
    assert h["appended"] not in section_text(site)
    flagged = [li for li in history_items(site) if li.find_all(class_="history-flagged")]
    assert [li.attrs["class"] for li in flagged] == [
        "history-moved",
        "history-moved",
        "history-rewritten",
    ]
    times = [li.find("time").attrs["datetime"] for li in history_items(site)]
    assert times[0] == "2026-01-05T09:00:00Z"


def test_the_original_target_is_shown_beside_the_current_one_and_on_the_chart(
    built: tuple[Path, dict[str, str]],
) -> None:
    site, _ = built
    page = parse_html(site / "charters" / "routing" / "index.html")
    table = page.find("section", id="business-metrics").find("table")
    heads = [th.text().strip() for th in table.find("thead").find_all("th")]
    assert heads[4:6] == ["Target", "Original target"]
    cells = [" ".join(td.text().split()) for td in table.find("tbody").find("tr").find_all("td")]
    # The target in force when the first result arrived (12.5), not the first one ever (12).
    assert cells[3:5] == ["13.5%", "12.5% Moved goalpost"]
    figure = page.find("figure", id="chart-conv")
    assert "Target 13.5, original target 12.5, baseline 10.0." in figure.find("img").attrs["alt"]
    svg = (site / "charters" / "routing" / "conv.svg").read_text(encoding="utf-8")
    assert "Original target 12.5%" in svg and "Target 13.5%" in svg
    # A charter whose goalposts never moved has no such column.
    quiet = parse_html(site / "charters" / "quiet" / "index.html")
    quiet_heads = quiet.find("section", id="business-metrics").find("thead").text()
    assert "Original target" not in quiet_heads


def test_a_verdict_judged_by_a_moved_target_says_so_wherever_it_is_shown(
    built: tuple[Path, dict[str, str]],
) -> None:
    """The verdict box, the portfolio and the team page: a badge links to the history (a
    relaxed target read 'Target met' everywhere, the move only in a column and the history)."""
    site, _ = built
    badge = (
        'class="badge goalpost-moved" href="{}charters/routing/index.html#history">Moved goalpost'
    )
    page = (site / "charters/routing/index.html").read_text(encoding="utf-8")
    verdict_box = page[page.index('<div class="verdict-box') :]
    assert (
        badge.format("").replace("charters/routing/index.html", "")
        in (verdict_box[: verdict_box.index("</div>")])
    )
    portfolio = (site / "index.html").read_text(encoding="utf-8")
    assert portfolio.count(badge.format("")) == 1  # routing's row only, not quiet's
    quiet = (site / "charters/quiet/index.html").read_text(encoding="utf-8")
    assert "goalpost-moved" not in quiet
    # api/charters.json says it too: the flag, and the target in force at the first result.
    api = {c["id"]: c for c in json.loads((site / "api/charters.json").read_bytes())["charters"]}
    assert (api["routing"]["goalpost_moved"], api["quiet"]["goalpost_moved"]) == (True, False)
    conv = api["routing"]["business_metrics"][0]
    assert (conv["id"], conv["target"], conv["original_target"]) == ("conv", 13.5, 12.5)
    assert [m["original_target"] for m in api["quiet"]["business_metrics"]] == [None]


def test_a_judged_goalpost_moved_after_results_is_badged_and_shown_as_it_was(
    tmp_path: Path,
) -> None:
    """A lowered baseline raises progress, a flipped direction turns a worse metric into
    an improved one, a unit of % brings the two-proportion test: each is a moved goalpost
    the verdict is judged by, badged as a moved target is, and its original is on the
    page and in the API. One moved back where it was is not."""
    repo = _repo(tmp_path)
    (repo / "site.yaml").write_text("title: Goalposts\n", encoding="utf-8")

    def metrics(**changed: object) -> dict[str, object]:
        return charter_data(business_metrics=[business_metric(**changed)])

    # The treatment's conversion rose: worse while lower is better.
    write_charter(repo, "flip", metrics(direction="decrease"), ROWS)
    write_charter(repo, "rebase", metrics(), ROWS)
    write_charter(repo, "back", metrics(), ROWS)
    # In points, its rows had no two-proportion test; in %, they do.
    write_charter(repo, "reunit", metrics(unit="points", definition="Orders per visit."), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T09:00:00Z")
    write_charter(repo, "flip", metrics(), ROWS)
    write_charter(repo, "rebase", metrics(baseline=9.0), ROWS)
    write_charter(repo, "back", metrics(baseline=9.0), ROWS)
    write_charter(repo, "reunit", metrics(), ROWS)
    commit(repo, "Move", "Ben Okafor", "2026-03-05T09:00:00Z")
    write_charter(repo, "back", metrics(), ROWS)
    commit(repo, "Move back", "Ben Okafor", "2026-03-06T09:00:00Z")
    site = tmp_path / "site"
    build(repo, site)
    first = {p: p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}
    build(repo, site)  # the history read back from the cache says the same
    assert {p: p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()} == first

    portfolio = (site / "index.html").read_text(encoding="utf-8")
    badge = 'class="badge goalpost-moved" href="charters/{}/index.html#history">Moved goalpost'
    ids = ("flip", "rebase", "back", "reunit")
    assert [cid for cid in ids if badge.format(cid) in portfolio] == ["flip", "rebase", "reunit"]
    flip = parse_html(site / "charters/flip/index.html")
    assert (
        flip.find("span", class_="verdict-title")
        .parent.text()
        .startswith("Verdict: Business impact Moved goalpost")
    )
    heading = flip.find("tr", id="metric-conv").find("th").text()
    assert heading == "Business conv↑ higher is better · %was ↓ lower is better · Moved goalpost"
    rebase = parse_html(site / "charters/rebase/index.html")
    baseline = rebase.find("tr", id="metric-conv").find_all("td")[0].text()
    assert baseline == "9%original 10% · Moved goalpost"  # on a line of its own
    assert "Original target" not in rebase.find("section", id="business-metrics").text()
    # Its chart draws the original baseline beside the baseline, as a moved target's does.
    alt = rebase.find("figure", id="chart-conv").find("img").attrs["alt"]
    assert "Target 12.0, baseline 9.0, original baseline 10.0." in str(alt)
    svg = (site / "charters/rebase/conv.svg").read_text(encoding="utf-8")
    assert "Original baseline 10%" in svg and "Baseline 9%" in svg
    assert "Original baseline" not in (site / "charters/flip/conv.svg").read_text("utf-8")
    reunit = parse_html(site / "charters/reunit/index.html")
    heading = reunit.find("tr", id="metric-conv").find("th").text()
    assert heading == "Business conv↑ higher is better · %unit was points · Moved goalpost"
    definition = reunit.find("dl", class_="definitions").find("dd").text()
    assert (
        definition == "How conv is computed.Original definition: Orders per visit. · Moved goalpost"
    )
    back = parse_html(site / "charters/back/index.html")
    assert "original" not in back.find("tr", id="metric-conv").text()
    api = {c["id"]: c for c in json.loads((site / "api/charters.json").read_bytes())["charters"]}
    assert [api[cid]["goalpost_moved"] for cid in ids] == [True, True, False, True]
    originals = {
        cid: {k: m[k] for k in m if k.startswith("original_") and m[k] is not None}
        for cid, c in api.items()
        for m in c["business_metrics"]
    }
    assert originals == {
        "flip": {"original_direction": "decrease"},
        "rebase": {"original_baseline": 10.0},
        "back": {},
        "reunit": {"original_unit": "points", "original_definition": "Orders per visit."},
    }


def test_the_feed_has_status_changes_moved_goalposts_and_rewritten_results(
    built: tuple[Path, dict[str, str]],
) -> None:
    site, hashes = built
    feed = ElementTree.parse(site / "feed.xml").getroot()
    found = [
        (
            e.findtext(f"{ATOM}title"),
            e.findtext(f"{ATOM}updated"),
            e.findtext(f"{ATOM}author/{ATOM}name"),
            e.find(f"{ATOM}category").attrib["term"],  # type: ignore[union-attr]
        )
        for e in feed.findall(f"{ATOM}entry")
        if e.find(f"{ATOM}category").attrib["term"].startswith("history-")  # type: ignore[union-attr]
    ]
    assert found == [
        (
            "Test charter: results rewritten",
            "2026-04-15T15:00:00Z",
            "Eve Park",
            "history-rewritten",
        ),
        ("Test charter: moved goalpost", "2026-03-10T13:00:00Z", "Dana Ito", "history-moved"),
        ("Test charter: moved goalpost", "2026-03-02T12:00:00Z", "Chen Li", "history-moved"),
        ("Test charter: verdict changed", "2026-03-01T11:00:00Z", "Ana Ruiz", "history-verdict"),
        ("Test charter: status changed", "2026-03-01T11:00:00Z", "Ana Ruiz", "history-status"),
    ]
    summaries = [e.findtext(f"{ATOM}summary") or "" for e in feed.findall(f"{ATOM}entry")]
    assert any(f"(commit {hashes['moved']})" in s and "12.5 → 13" in s for s in summaries)


def git_command(call: str) -> str:
    """The git command of a logged call (`$*`), after git's own options (`-c NAME=VALUE`)."""
    words = call.split()
    i = 0
    while words[i].startswith("-"):
        i += 2 if words[i] == "-c" else 1
    return words[i]


def test_a_second_build_reads_the_cache_and_not_git_log(
    history_repo: tuple[Path, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, _ = history_repo
    real = shutil.which("git")
    assert real is not None
    calls = tmp_path / "git-calls.txt"
    wrapper = tmp_path / "bin" / "git"
    wrapper.parent.mkdir()
    wrapper.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{calls}"\nexec "{real}" "$@"\n', encoding="utf-8"
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}")
    site = tmp_path / "site"  # one output folder: unchanged charts are not drawn again
    build(repo, site)
    before = {n: (site / n).read_bytes() for n in ("charters/routing/index.html", "feed.xml")}
    first = calls.read_text(encoding="utf-8").splitlines()
    assert sum(" log " in f" {c} " for c in first) == 1  # one pass for every charter
    assert sum("cat-file --batch" in c for c in first) == 1
    cached = list((repo / ".charters-cache" / "history").glob("*.json"))
    assert len(cached) == 1
    calls.unlink()
    build(repo, site)
    second = calls.read_text(encoding="utf-8").splitlines()
    # After the options: is the cache folder committed (then not trusted), the repository's
    # head and which charters have changes; no log, no cat-file.
    assert [git_command(c) for c in second] == ["ls-files", "rev-parse", "status"]
    assert before == {n: (site / n).read_bytes() for n in before}
    # A new commit is a new head: the history is read again, and the old file goes.
    # (The cache stays out of the commit: a cache folder committed to git is not used.)
    (repo / ".gitignore").write_text("/.charters-cache/\n", encoding="utf-8")
    (repo / "charters" / "routing" / "notes.md").write_text("Notes.\n", encoding="utf-8")
    commit(repo, "Notes", "Ana Ruiz", "2026-05-01T09:00:00Z")
    build(repo, site)
    assert [p.name for p in (repo / ".charters-cache" / "history").glob("*.json")] != [
        cached[0].name
    ]
    assert len(list((repo / ".charters-cache" / "history").glob("*.json"))) == 1


def test_the_history_cache_follows_the_rule_of_past_verdicts_and_the_generator() -> None:
    # The verdict entries are kept in the history's cache: a new rule for past verdicts
    # (VERDICT_FORMAT) must read git again, or the old entries stay on the page; so must
    # a changed generator (the events' words come from its code: a label changed in a
    # checkout left the old one in every history line).
    assert VERDICT_FORMAT in history._format()
    assert generator_fingerprint() in history._format()
    assert generator_fingerprint() in verdict_history.verdict_format()


def test_the_cache_folder_can_be_chosen(
    history_repo: tuple[Path, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, _ = history_repo
    monkeypatch.setenv("CHARTERS_CACHE_DIR", str(tmp_path / "elsewhere"))
    build(repo, tmp_path / "site")
    assert len(list((tmp_path / "elsewhere" / "history").glob("*.json"))) == 1
    assert not (repo / ".charters-cache").exists()


def test_a_shallow_clone_says_what_is_missing(
    history_repo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    repo, _ = history_repo
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", repo.as_uri(), str(clone))
    build(clone, tmp_path / "site")
    text = " ".join(section_text(tmp_path / "site").split())
    assert "History needs the full git history: this is a shallow clone" in text
    assert "git fetch --unshallow" in text and "fetch-depth: 0" in text
    assert history_items(tmp_path / "site") == []
    # Without the history, nothing claims a goalpost moved.
    page = (tmp_path / "site" / "charters" / "routing" / "index.html").read_text(encoding="utf-8")
    assert "Original target" not in page


def test_outside_a_repository_the_section_says_so_and_the_build_passes(
    history_repo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    repo, _ = history_repo
    plain = tmp_path / "plain"
    shutil.copytree(repo, plain, ignore=shutil.ignore_patterns(".git"))
    build(plain, tmp_path / "site")
    text = " ".join(section_text(tmp_path / "site").split())
    assert text == (
        "History History needs a git repository: this site was built from a folder that is"
        " not in one."
    )


def test_uncommitted_changes_are_noted_and_are_not_history(
    history_repo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    repo, hashes = history_repo
    write_charter(repo, "routing", charter(14.0), ROWS)
    write_charter(repo, "fresh", charter_data(title="Fresh charter"))
    build(repo, tmp_path / "site")
    text = " ".join(section_text(tmp_path / "site").split())
    assert "This charter has uncommitted changes; the history shows commits only" in text
    assert "14" not in text.split("Results rewritten")[-1]
    assert len(history_items(tmp_path / "site")) == 9  # the committed events only
    fresh = " ".join(section_text(tmp_path / "site", "fresh").split())
    assert "No history yet: this charter has not been committed." in fresh
    quiet = " ".join(section_text(tmp_path / "site", "quiet").split())
    assert "uncommitted" not in quiet and hashes["created"] in quiet


def test_a_new_result_file_not_yet_committed_is_noted_and_an_ignored_file_is_not(
    history_repo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """An untracked result file puts rows on the page that no commit has: the page says
    the charter has uncommitted changes. A file git ignores is not a change."""
    repo, _ = history_repo
    site = tmp_path / "site"
    (repo / ".gitignore").write_text("*.swp\n", encoding="utf-8")
    commit(repo, "Ignore swap files", "Ana Ruiz", "2026-04-20T09:00:00Z")
    (repo / "charters" / "routing" / ".charter.yaml.swp").write_bytes(b"\0swap")
    build(repo, site)
    assert "uncommitted changes" not in history_text(site)
    again = {"by": ["VP Sales", "CFO"], "on": "2026-03-10"}  # as committed
    april = ab("2026-04-30", "conv", 10.0, 11.5, n=50000)
    write_charter(repo, "routing", charter(13.5, agreed=again), april, results_file="april.csv")
    assert git(repo, "status", "--porcelain", "-uno") == ""  # only an untracked file
    output = build(repo, site)
    assert "nothing changed" not in output
    assert "This charter has uncommitted changes" in history_text(site)
    assert "uncommitted" not in history_text(site, "quiet")


def test_committing_the_same_files_rebuilds_the_history_not_a_no_op(
    history_repo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """No input file changes when edits are committed, but the history does: the build's
    fingerprint holds the repository's state, so the next build is not skipped."""
    repo, _ = history_repo
    site = tmp_path / "site"
    write_charter(repo, "routing", charter(14.0), ROWS)
    build(repo, site)
    assert "uncommitted changes" in section_text(site)
    assert "nothing changed" in build(repo, site)  # the same state: a no-op
    new = commit(repo, "Target 14", "Bea Lund", "2026-06-01T09:00:00Z")
    output = build(repo, site)
    assert "nothing changed" not in output
    text = history_text(site)
    assert "uncommitted changes" not in text and new in text and "Bea Lund" in text


def test_a_source_folder_inside_a_larger_repository(tmp_path: Path) -> None:
    repo = tmp_path / "mono"
    source = repo / "docs" / "charters-site"
    source.mkdir(parents=True)
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "charters@example.com")
    (source / "site.yaml").write_text("title: Nested\n", encoding="utf-8")
    write_charter(source, "nested", charter_data())
    sha = commit(repo, "Nested charters", "Fay Osei", "2026-02-02T08:00:00Z")
    build(source, tmp_path / "site")
    text = " ".join(section_text(tmp_path / "site", "nested").split())
    assert f"2026-02-02 Created Charter created, status Live commit {sha} by Fay Osei" in text


def test_the_same_repository_gives_the_same_bytes(
    history_repo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    repo, _ = history_repo
    names = ("charters/routing/index.html", "charters/routing/conv.svg", "feed.xml")
    build(repo, tmp_path / "site")
    before = {n: (tmp_path / "site" / n).read_bytes() for n in names}
    shutil.rmtree(repo / ".charters-cache")
    build(repo, tmp_path / "site")
    assert before == {n: (tmp_path / "site" / n).read_bytes() for n in names}


def test_names_and_values_from_commits_are_escaped_and_kept_on_one_line(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "charters@example.com")
    (repo / "site.yaml").write_text("title: Hostile\n", encoding="utf-8")
    hostile = charter_data(status="proposed", title="<script>alert(1)</script>")
    write_charter(repo, "odd", hostile)
    commit(repo, "Add", "Mallory\x07 & <Co>", "2026-01-05T09:00:00Z")
    write_charter(repo, "odd", {**hostile, "status": "live"})
    commit(repo, "Live", "Mallory\x07 & <Co>", "2026-01-06T09:00:00Z")
    build(repo, tmp_path / "site")
    html = (tmp_path / "site" / "charters" / "odd" / "index.html").read_text(encoding="utf-8")
    assert "by Mallory\ufffd &amp; Co" in html and "\x07" not in html
    feed = ElementTree.parse(tmp_path / "site" / "feed.xml").getroot()  # well-formed XML
    authors = [e.findtext(f"{ATOM}author/{ATOM}name") for e in feed.findall(f"{ATOM}entry")]
    assert "Mallory\ufffd & Co" in authors


def _moves(repo: Path, cid: str = "a") -> list[tuple[str, bool, bool]]:
    """The goalpost events of a charter's history: (text, moved, flagged)."""
    events = read_history(repo).of(cid).events
    return [(e.text, e.moved, e.flagged) for e in events if e.kind == "goalpost"]


def test_a_metric_made_an_ml_metric_and_back_with_a_new_baseline_moved_its_goalpost(
    tmp_path: Path,
) -> None:
    """Out of the business metrics for one commit, back with a lower baseline the next:
    the diff of the two commits together shows the move alone, and it was not one."""
    repo = _repo(tmp_path)
    both = [business_metric(), business_metric("csat")]
    write_charter(repo, "a", charter_data(business_metrics=both), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    as_ml = {**business_metric(), "drives": ["csat"]}
    write_charter(repo, "a", charter_data(business_metrics=both[1:], ml_metrics=[as_ml]), ROWS)
    commit(repo, "An ML metric for a while", "Ben Okafor", "2026-03-02T00:00:00Z")
    back = [business_metric(baseline=9.0), business_metric("csat")]
    write_charter(repo, "a", charter_data(business_metrics=back), ROWS)
    commit(repo, "Back", "Ben Okafor", "2026-03-03T00:00:00Z")
    assert [(moved, flagged) for _, moved, flagged in _moves(repo)] == [(True, True)]
    assert "baseline.value 10 → 9" in _moves(repo)[0][0]
    assert read_history(repo).of("a").originals == {"conv": {"baseline.value": 10.0}}


def test_a_goalpost_moved_while_the_results_are_away_moved_after_results(
    tmp_path: Path,
) -> None:
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    results = repo / "charters/a/results/results.csv"
    kept = results.read_bytes()
    results.unlink()
    commit(repo, "Results away", "Ben Okafor", "2026-03-02T00:00:00Z")
    write_charter(repo, "a", charter_data(business_metrics=[business_metric(baseline=9.0)]))
    commit(repo, "Lower the baseline", "Ben Okafor", "2026-03-03T00:00:00Z")
    results.write_bytes(kept)
    commit(repo, "Results back", "Ben Okafor", "2026-03-04T00:00:00Z")
    (moved,) = _moves(repo)
    assert moved[1:] == (True, True) and "moved after results began" in moved[0]
    assert read_history(repo).of("a").originals == {"conv": {"baseline.value": 10.0}}


def test_a_charter_removed_and_made_again_keeps_the_old_ones_originals(
    tmp_path: Path,
) -> None:
    # Made again under its id months later, as a new project or not: the page cannot tell
    # the two apart, and a badge shed by a removal would be one way to hide a moved
    # goalpost. The original stays, and the new baseline is a move from the one removed.
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    write_charter(repo, "a", charter_data(business_metrics=[business_metric(baseline=9.0)]), ROWS)
    commit(repo, "Lower the baseline", "Ben Okafor", "2026-03-02T00:00:00Z")
    assert read_history(repo).of("a").originals == {"conv": {"baseline.value": 10.0}}
    shutil.rmtree(repo / "charters/a")
    commit(repo, "Remove", "Ben Okafor", "2026-03-03T00:00:00Z")
    write_charter(repo, "a", charter_data(business_metrics=[business_metric(baseline=9.5)]))
    commit(repo, "A new project", "Chen Li", "2026-06-01T00:00:00Z")
    found = read_history(repo).of("a")
    assert found.originals == {"conv": {"baseline.value": 10.0}}
    assert [(e.kind, e.flagged) for e in found.events if e.date == "2026-06-01"] == [
        ("created", False),
        ("goalpost", True),
    ]


def _removed(repo: Path, day: str = "2026-03-02") -> str:
    """Charter a at a target of 12 with ROWS, added on 1 March and removed on `day`: the
    removal's commit."""
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    shutil.rmtree(repo / "charters/a")
    return commit(repo, "Remove", "Ben Okafor", f"{day}T00:00:00Z")


def test_a_charter_removed_and_made_again_with_its_target_loosened_moved_its_goalpost(
    tmp_path: Path,
) -> None:
    """Removed in one commit, made again with a lower target in the next and its rows
    back in a third: the page lost the original target and the *Moved goalpost* badge,
    and the loosening was told nowhere."""
    repo = _repo(tmp_path)
    removed = _removed(repo, "2026-03-03")
    write_charter(repo, "a", charter(10.5))
    commit(repo, "Again", "Ben Okafor", "2026-03-04T00:00:00Z")
    write_charter(repo, "a", charter(10.5), ROWS)
    commit(repo, "Rows back", "Ben Okafor", "2026-03-05T00:00:00Z")
    found = read_history(repo).of("a")
    assert [(e.date, e.kind, e.flagged) for e in found.events] == [
        ("2026-03-01", "created", False),
        ("2026-03-01", "first-result", False),
        ("2026-03-04", "created", False),
        ("2026-03-04", "goalpost", True),
        # No results → Target met at the loose target, where the version removed gives
        # Business impact: an edit made while it was away.
        ("2026-03-05", "verdict", True),
    ]
    assert found.events[2].text == (
        f"Charter created again, status Live: removed on 2026-03-03 (commit {removed}),"
        " compared with the version removed then"
    )
    assert found.events[3].text.startswith(
        "Business conv: target.value 12 → 10.5 (less ambitious) — moved after results began"
        " (first result 2026-03-01)"
    ), found.events[3].text
    assert found.original_targets == {"conv": 12.0}


def test_a_charter_removed_and_made_again_as_it_was_has_no_moved_goalpost(
    tmp_path: Path,
) -> None:
    repo = _repo(tmp_path)
    _removed(repo, "2026-03-03")
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Again", "Ben Okafor", "2026-03-04T00:00:00Z")
    found = read_history(repo).of("a")
    assert [(e.date, e.kind) for e in found.events] == [
        ("2026-03-01", "created"),
        ("2026-03-01", "first-result"),
        ("2026-03-04", "created"),
    ]
    assert found.originals == {}


def test_a_charter_made_again_is_compared_with_the_version_its_own_line_removed(
    tmp_path: Path,
) -> None:
    """A branch raised the target while main removed the charter; the merge kept it
    removed, and main made it again at the target it had there: no move (the replay's last
    version of the charter was the branch's)."""
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    git(repo, "branch", "side")
    shutil.rmtree(repo / "charters/a")
    commit(repo, "Remove", "Chen Li", "2026-03-02T00:00:00Z")
    git(repo, "checkout", "-q", "side")
    write_charter(repo, "a", charter(14.0), ROWS)
    commit(repo, "Raise on a branch", "Ben Okafor", "2026-03-03T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    merged = subprocess.run(
        ["git", "merge", "-q", "--no-edit", "side"], cwd=repo, capture_output=True, check=False
    )
    assert merged.returncode != 0  # modified on one side, removed on the other
    git(repo, "rm", "-q", "-r", "charters/a")
    commit(repo, "Merge side, the charter kept removed", "Chen Li", "2026-03-04T00:00:00Z")
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Again", "Chen Li", "2026-03-05T00:00:00Z")
    found = read_history(repo).of("a")
    assert [(e.date, e.kind) for e in found.events if e.date >= "2026-03-04"] == [
        ("2026-03-05", "created")
    ]


def test_a_charter_removed_by_a_merge_and_made_again_is_compared_with_main_s_version(
    tmp_path: Path,
) -> None:
    """A branch removed the charter; main raised its target meanwhile; the merge kept it
    removed. Made again at the branch's old target: a target lowered from main's, which
    a comparison with the branch's removal (12 → 12) would not tell."""
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    git(repo, "checkout", "-q", "-b", "tidy")
    shutil.rmtree(repo / "charters/a")
    commit(repo, "Remove on a branch", "Ben Okafor", "2026-03-02T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    write_charter(repo, "a", charter(14.0), ROWS)
    commit(repo, "Raise", "Chen Li", "2026-03-03T00:00:00Z")
    merged = subprocess.run(
        ["git", "merge", "-q", "--no-edit", "tidy"], cwd=repo, capture_output=True, check=False
    )
    assert merged.returncode != 0  # modified on one side, removed on the other
    git(repo, "rm", "-q", "-r", "charters/a")
    merge = commit(repo, "Merge tidy", "Chen Li", "2026-03-04T00:00:00Z")
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Again", "Dana Ito", "2026-03-05T00:00:00Z")
    found = read_history(repo).of("a")
    again = [e for e in found.events if e.date == "2026-03-05"]
    assert [(e.kind, e.flagged) for e in again] == [("created", False), ("goalpost", True)]
    assert f"removed on 2026-03-04 (commit {merge})" in again[0].text
    assert again[1].text.startswith("Business conv: target.value 14 → 12 (less ambitious)")


def test_a_target_lowered_on_a_branch_made_before_a_removal_moved_its_goalpost(
    tmp_path: Path,
) -> None:
    """Main removed the charter; a branch made before lowered its target, and its merge
    kept the branch's charter. The removal, replayed first, had cleared the first results,
    so the lowering read as a change made before results: unflagged, with no badge."""
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    git(repo, "branch", "side")
    shutil.rmtree(repo / "charters/a")
    commit(repo, "Remove", "Chen Li", "2026-03-02T00:00:00Z")
    git(repo, "checkout", "-q", "side")
    write_charter(repo, "a", charter(10.5), ROWS)
    lowered = commit(repo, "Lower on a branch", "Ben Okafor", "2026-03-03T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    merged = subprocess.run(
        ["git", "merge", "-q", "--no-edit", "side"], cwd=repo, capture_output=True, check=False
    )
    assert merged.returncode != 0  # removed on one side, modified on the other
    git(repo, "add", "charters/a")
    commit(repo, "Merge side, the charter kept", "Chen Li", "2026-03-04T00:00:00Z")
    found = read_history(repo).of("a")
    (move,) = [e for e in found.events if e.kind == "goalpost"]
    assert (move.commit, move.moved, move.flagged) == (lowered, True, True)
    assert "target.value 12 → 10.5 (less ambitious) — moved after results began" in move.text
    assert found.original_targets == {"conv": 12.0}


@pytest.mark.parametrize("split", [False, True], ids=["one-commit", "rows-next-commit"])
def test_a_charter_made_again_with_a_row_changed_rewrote_its_results(
    tmp_path: Path, split: bool
) -> None:
    """Removed with its rows and made again with a past row better than it was: a new
    file, so no rewrite, and the verdict rose on a changed row without a flag."""
    repo = _repo(tmp_path)
    _removed(repo, "2026-03-03")
    better = [*ROWS[:3], {**ROWS[3], "value": 11.9}]  # February's treatment row
    if split:
        write_charter(repo, "a", charter(12.0))
        commit(repo, "Again", "Ben Okafor", "2026-03-04T00:00:00Z")
    write_charter(repo, "a", charter(12.0), better)
    back = commit(repo, "Rows back", "Ben Okafor", "2026-03-05T00:00:00Z")
    found = read_history(repo).of("a")
    (rewrite,) = [e for e in found.events if e.kind == "rewritten"]
    assert (rewrite.commit, rewrite.flagged) == (back, True)
    assert rewrite.text == "results/results.csv rewritten: 1 past row revised (conv)"


@pytest.mark.parametrize("first", ["title: [unclosed\n", "", "- a list\n"])
def test_a_charter_made_again_unreadable_first_is_compared_when_it_reads(
    tmp_path: Path, first: str
) -> None:
    """Made again first as a version that does not read (broken YAML, an empty file, no
    mapping), then mended with a lower target: read as a charter created anew."""
    repo = _repo(tmp_path)
    _removed(repo, "2026-03-03")
    (repo / "charters/a").mkdir()
    (repo / "charters/a/charter.yaml").write_text(first, encoding="utf-8")
    commit(repo, "Again, to do", "Ben Okafor", "2026-03-04T00:00:00Z")
    write_charter(repo, "a", charter(10.5), ROWS)
    commit(repo, "Mended", "Ben Okafor", "2026-03-05T00:00:00Z")
    found = read_history(repo).of("a")
    assert [(e.date, e.kind, e.flagged) for e in found.events][2:] == [
        ("2026-03-05", "created", False),
        ("2026-03-05", "goalpost", True),
        ("2026-03-05", "verdict", True),  # Target met at 10.5, Business impact at 12
    ]
    assert found.original_targets == {"conv": 12.0}


def test_a_charter_made_again_is_compared_with_main_s_removal_before_a_merged_branch_s(
    tmp_path: Path,
) -> None:
    """An old branch lowered the target before any result and removed the charter; main
    went live, removed it after results, and merged the old branch. Made again at the
    lower target: compared with main's removal (12), not the branch's (10.5), which a
    walk by fewest commits reached first."""
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0, status="proposed"))
    write_charter(repo, "other", charter_data(title="Other"))
    commit(repo, "Add", "Ana Ruiz", "2026-02-01T00:00:00Z")
    git(repo, "branch", "old")
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Live", "Ana Ruiz", "2026-03-01T00:00:00Z")
    shutil.rmtree(repo / "charters/a")
    removed = commit(repo, "Remove on main", "Ben Okafor", "2026-03-03T00:00:00Z")
    write_charter(repo, "other", charter_data(title="Other, again"))
    commit(repo, "Unrelated", "Ben Okafor", "2026-03-04T00:00:00Z")
    git(repo, "checkout", "-q", "old")
    write_charter(repo, "a", charter(10.5, status="proposed"))
    commit(repo, "Lower", "Eve Park", "2026-02-02T00:00:00Z")
    shutil.rmtree(repo / "charters/a")
    commit(repo, "Remove on a branch", "Eve Park", "2026-02-03T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "--no-edit", "old", when="2026-03-05T00:00:00Z")
    write_charter(repo, "a", charter(10.5), ROWS)
    commit(repo, "Again", "Eve Park", "2026-03-06T00:00:00Z")
    again = [e for e in read_history(repo).of("a").events if e.date == "2026-03-06"]
    assert [(e.kind, e.flagged) for e in again] == [
        ("created", False),
        ("goalpost", True),
        ("verdict", True),
    ]
    assert f"(commit {removed})" in again[0].text
    assert "target.value 12 → 10.5" in again[1].text


def test_a_charter_made_again_listing_an_old_removed_charter_in_aliases_keeps_its_own(
    tmp_path: Path,
) -> None:
    """Its `aliases` name a pilot removed long before: read as a rename of the pilot, the
    charter's own history (its first result, its target of 12) was dropped."""
    repo = _repo(tmp_path)
    pilot = charter_data(title="Old pilot", status="proposed")
    write_charter(repo, "pilot", pilot)
    commit(repo, "Pilot", "Ana Ruiz", "2026-01-01T00:00:00Z")
    shutil.rmtree(repo / "charters/pilot")
    commit(repo, "Drop the pilot", "Ana Ruiz", "2026-01-02T00:00:00Z")
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    shutil.rmtree(repo / "charters/a")
    commit(repo, "Remove", "Ben Okafor", "2026-03-03T00:00:00Z")
    write_charter(repo, "a", {**charter(10.5), "aliases": ["pilot"]}, ROWS)
    commit(repo, "Again", "Ben Okafor", "2026-03-04T00:00:00Z")
    found = read_history(repo).of("a")
    assert [(e.date, e.kind, e.flagged) for e in found.events] == [
        ("2026-03-01", "created", False),
        ("2026-03-01", "first-result", False),
        ("2026-03-04", "created", False),
        ("2026-03-04", "goalpost", True),
        ("2026-03-04", "verdict", True),
    ]
    assert found.original_targets == {"conv": 12.0}


def _a_renamed_to_b(repo: Path) -> None:
    """Charter a (target 12, ROWS) added on 1 March, renamed b (listing a in `aliases`)
    on 2 March."""
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    shutil.rmtree(repo / "charters/a")
    write_charter(repo, "b", {**charter(12.0), "aliases": ["a"]}, ROWS)
    commit(repo, "Rename a to b", "Ben Okafor", "2026-03-02T00:00:00Z")


def test_a_charter_renamed_away_is_not_made_again_by_a_new_charter_of_its_id(
    tmp_path: Path,
) -> None:
    repo = _repo(tmp_path)
    _a_renamed_to_b(repo)
    write_charter(repo, "a", charter_data(title="New project"), ROWS)
    commit(repo, "A new project", "Chen Li", "2026-03-05T00:00:00Z")
    found = read_history(repo).of("a")
    assert [(e.date, e.kind, e.text) for e in found.events] == [
        ("2026-03-05", "created", "Charter created, status Live"),
        ("2026-03-05", "first-result", "First result for Business conv"),
    ]
    assert found.originals == {}


def test_a_catalogue_entry_changed_while_its_charter_was_away_moved_its_goalpost(
    tmp_path: Path,
) -> None:
    """The charter `ref`s conv; removed, metrics.yaml's unit changed, made again as it was:
    the change was told to no charter (none `ref`d the entry then)."""
    repo = _repo(tmp_path)

    def catalogue(unit: str) -> None:
        conv = {"id": "conv", "name": "Catalogued conversion", "definition": "Orders."}
        conv |= {"unit": unit, "direction": "increase"}
        (repo / "metrics.yaml").write_text(yaml.safe_dump([conv], sort_keys=False))

    catalogue("orders")
    claims = {"ref": "conv", "baseline": {"value": 10.0}, "target": {"value": 12.0}}
    write_charter(repo, "shop", charter_data(business_metrics=[claims]), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    shutil.rmtree(repo / "charters/shop")
    commit(repo, "Remove", "Ben Okafor", "2026-03-02T00:00:00Z")
    catalogue("%")
    commit(repo, "Percent", "Ben Okafor", "2026-03-03T00:00:00Z")
    write_charter(repo, "shop", charter_data(business_metrics=[claims]), ROWS)
    commit(repo, "Again", "Ben Okafor", "2026-03-04T00:00:00Z")
    found = read_history(repo, names={"conv": "Catalogued conversion"}).of("shop")
    again = [(e.kind, e.flagged, e.text) for e in found.events if e.date == "2026-03-04"]
    assert [k for k, _, _ in again] == ["created", "goalpost", "verdict"]
    assert again[1][1] is True
    assert again[1][2].startswith(
        "Catalogued conversion: unit orders → % in metrics.yaml — moved after results began"
    )
    assert found.originals == {"conv": {"unit": "orders"}}


BETTER = [*ROWS[:3], {**ROWS[3], "value": 11.9}]  # February's treatment row, better


def _again(repo: Path) -> list[tuple[str, bool]]:
    """The kinds and flags of the entries of charter a's last day."""
    events = read_history(repo).of("a").events
    return [(e.kind, e.flagged) for e in events if e.date == events[-1].date]


def test_a_charter_made_again_after_an_edit_on_a_branch_begun_before_its_removal(
    tmp_path: Path,
) -> None:
    """A branch begun before the removal edited the charter (merged with `-s ours`): its
    edit, replayed after the removal, made the re-add on main read as created anew."""
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    git(repo, "branch", "side")
    shutil.rmtree(repo / "charters/a")
    commit(repo, "Remove", "Ben Okafor", "2026-03-02T00:00:00Z")
    git(repo, "checkout", "-q", "side")
    write_charter(repo, "a", {**charter(12.0), "title": "Retitled"}, ROWS)
    commit(repo, "Retitle", "Chen Li", "2026-03-03T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "-s", "ours", "-m", "Side", "side", when="2026-03-04T00:00:00Z")
    write_charter(repo, "a", charter(10.5), ROWS)
    commit(repo, "Again", "Dana Ito", "2026-03-05T00:00:00Z")
    assert _again(repo) == [("created", False), ("goalpost", True), ("verdict", True)]
    assert read_history(repo).of("a").original_targets == {"conv": 12.0}


def test_a_charter_removed_through_a_merged_branch_and_made_again_with_a_row_changed(
    tmp_path: Path,
) -> None:
    """Removed on a branch merged with --no-ff, as a pull request is: the merge's removal,
    the nearest, knew no files (the branch's removal had emptied them)."""
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    git(repo, "checkout", "-q", "-b", "tidy")
    shutil.rmtree(repo / "charters/a")
    commit(repo, "Remove", "Ben Okafor", "2026-03-02T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "Tidy", "tidy", when="2026-03-03T00:00:00Z")
    write_charter(repo, "a", charter(12.0), BETTER)
    commit(repo, "Again", "Chen Li", "2026-03-04T00:00:00Z")
    assert _again(repo) == [("created", False), ("rewritten", True)]


def test_a_charter_made_again_with_its_rows_first_rewrote_them(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    _removed(repo)
    write_charter(repo, "a", charter(12.0), BETTER)
    (repo / "charters/a/charter.yaml").unlink()
    commit(repo, "Rows back first", "Ben Okafor", "2026-03-03T00:00:00Z")
    assert _again(repo) == [("rewritten", True)]
    write_charter(repo, "a", charter(12.0), BETTER)
    commit(repo, "Again", "Ben Okafor", "2026-03-04T00:00:00Z")
    assert _again(repo) == [("created", False)]


def test_an_id_renamed_away_and_taken_again_is_compared_at_its_next_removal(
    tmp_path: Path,
) -> None:
    repo = _repo(tmp_path)
    _a_renamed_to_b(repo)
    write_charter(repo, "a", charter(14.0), ROWS)
    commit(repo, "A new a", "Chen Li", "2026-03-03T00:00:00Z")
    shutil.rmtree(repo / "charters/a")
    commit(repo, "Remove the new a", "Chen Li", "2026-03-04T00:00:00Z")
    write_charter(repo, "a", charter(10.5), ROWS)
    commit(repo, "Again", "Chen Li", "2026-03-05T00:00:00Z")
    assert _again(repo) == [("created", False), ("goalpost", True), ("verdict", True)]
    assert "target.value 14 → 10.5" in read_history(repo).of("a").events[-2].text


def _rows_of(repo: Path, name: str, rows: list[dict[str, Any]]) -> None:
    """Write charter a's result file `name` (CSV) with `rows`."""
    path = repo / "charters/a/results" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = ["date", "metric", "variant", "value", "n"]
    lines = [",".join(columns)] + [",".join(str(r.get(c, "")) for c in columns) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize("how", ["other-file", "charter-only-removed", "after-a-fix"])
def test_a_result_file_made_later_at_a_path_a_removal_emptied_is_new(
    tmp_path: Path, how: str
) -> None:
    """No false rewrite from the files a removal took: the rows came back in another file
    (the first file back ends the comparison), the results were never removed (only
    charter.yaml), or a broken charter.yaml mended later (the removal is not gone back
    to)."""
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    if how == "charter-only-removed":
        (repo / "charters/a/charter.yaml").unlink()
        commit(repo, "Remove charter.yaml", "Ben Okafor", "2026-03-02T00:00:00Z")
        write_charter(repo, "a", charter(12.0), ROWS)
        commit(repo, "Again", "Ben Okafor", "2026-03-03T00:00:00Z")
        git(repo, "mv", "charters/a/results/results.csv", "charters/a/results/q1.csv")
        commit(repo, "Move the rows", "Ben Okafor", "2026-03-04T00:00:00Z")
    else:
        shutil.rmtree(repo / "charters/a")
        commit(repo, "Remove", "Ben Okafor", "2026-03-02T00:00:00Z")
        write_charter(repo, "a", charter(12.0))
        _rows_of(repo, "q1.csv", ROWS)
        commit(repo, "Again, the rows in q1.csv", "Ben Okafor", "2026-03-03T00:00:00Z")
    if how == "after-a-fix":
        (repo / "charters/a/charter.yaml").write_text("title: [broken\n", encoding="utf-8")
        commit(repo, "Break", "Ben Okafor", "2026-03-04T00:00:00Z")
        write_charter(repo, "a", charter(12.0))
        commit(repo, "Mend", "Ben Okafor", "2026-03-05T00:00:00Z")
    flagged = [e.date for e in read_history(repo).of("a").events if e.flagged]
    _rows_of(repo, "results.csv", MORE)
    commit(repo, "April, in a new results.csv", "Chen Li", "2026-04-30T00:00:00Z")
    assert [e.date for e in read_history(repo).of("a").events if e.flagged] == flagged


@pytest.mark.parametrize("first", ["header-only", "header-only-same-path", "unreadable"])
def test_a_row_changed_while_away_is_a_rewrite_after_another_file_or_a_broken_one(
    tmp_path: Path, first: str
) -> None:
    """Made again with a result file first that holds only a header (notes.csv, or
    results.csv itself), or with results.csv unreadable at first; the changed row comes a
    commit later."""
    repo = _repo(tmp_path)
    _removed(repo)
    write_charter(repo, "a", charter(12.0))
    if first.startswith("header-only"):
        _rows_of(repo, "results.csv" if first.endswith("same-path") else "notes.csv", [])
    else:
        (repo / "charters/a/results").mkdir(exist_ok=True)
        (repo / "charters/a/results/results.csv").write_text('date,metric\n"oops\n')
    commit(repo, "Again", "Ben Okafor", "2026-03-03T00:00:00Z")
    write_charter(repo, "a", charter(12.0), BETTER)
    back = commit(repo, "Rows back", "Ben Okafor", "2026-03-04T00:00:00Z")
    (rewrite,) = [e for e in read_history(repo).of("a").events if e.kind == "rewritten"]
    assert (rewrite.commit, rewrite.text) == (
        back,
        "results/results.csv rewritten: 1 past row revised (conv)",
    )


def test_a_row_changed_while_away_with_its_variant_spelled_otherwise_is_a_rewrite(
    tmp_path: Path,
) -> None:
    repo = _repo(tmp_path)
    _removed(repo)
    spelled = [{**r, "variant": str(r["variant"]).title()} for r in BETTER]
    write_charter(repo, "a", charter(12.0), spelled)
    commit(repo, "Again", "Ben Okafor", "2026-03-03T00:00:00Z")
    (rewrite,) = [e for e in read_history(repo).of("a").events if e.kind == "rewritten"]
    assert rewrite.text == "results/results.csv rewritten: 1 past row revised (conv)"


def test_a_charter_removed_and_made_again_unchanged_on_a_branch_is_no_rewrite(
    tmp_path: Path,
) -> None:
    """The branch removed and made the charter again as it was while main added rows: the
    rows main added since were read as removed by the branch."""
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    git(repo, "checkout", "-q", "-b", "side")
    shutil.rmtree(repo / "charters/a")
    commit(repo, "Remove", "Ben Okafor", "2026-03-02T00:00:00Z")
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Again", "Ben Okafor", "2026-03-03T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    write_charter(repo, "a", charter(12.0), [*ROWS, *MORE])
    commit(repo, "March", "Chen Li", "2026-04-01T00:00:00Z")
    git(repo, "merge", "-q", "--no-ff", "-m", "Side", "side", when="2026-04-02T00:00:00Z")
    assert [e for e in read_history(repo).of("a").events if e.flagged] == []


def _pilot_b_then_a_removed(repo: Path, *hours: str) -> None:
    """A pilot b added and removed, then charter a (target 12, ROWS) added and removed, the
    four commits at `hours` (`2026-03-01T08`)."""
    write_charter(repo, "b", charter_data(title="Old pilot", status="proposed"))
    commit(repo, "Pilot", "Ana Ruiz", f"{hours[0]}:00:00Z")
    shutil.rmtree(repo / "charters/b")
    commit(repo, "Drop the pilot", "Ana Ruiz", f"{hours[1]}:00:00Z")
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", f"{hours[2]}:00:00Z")
    shutil.rmtree(repo / "charters/a")
    commit(repo, "Remove a", "Ben Okafor", f"{hours[3]}:00:00Z")


def test_a_rename_on_the_day_an_old_id_was_removed_is_decided_by_commit_order(
    tmp_path: Path,
) -> None:
    """Everything on one day: the pilot b removed, then a removed, then b made listing a in
    aliases. Days tied, and the tie went to the pilot."""
    repo = _repo(tmp_path)
    _pilot_b_then_a_removed(
        repo, "2026-03-01T08", "2026-03-01T09", "2026-03-01T10", "2026-03-01T11"
    )
    write_charter(repo, "b", {**charter(11.0), "aliases": ["a"]}, ROWS)
    commit(repo, "b, renamed from a", "Ben Okafor", "2026-03-01T12:00:00Z")
    events = read_history(repo).of("b").events
    assert [(e.kind, e.flagged) for e in events][-2:] == [("renamed", False), ("goalpost", True)]


def test_a_rename_in_two_commits_to_an_id_used_long_before_is_a_rename(
    tmp_path: Path,
) -> None:
    """b was a pilot, removed long ago; a was removed, and b made next listing a in
    aliases: the rename (a's history goes on under b), not the pilot back."""
    repo = _repo(tmp_path)
    _pilot_b_then_a_removed(
        repo, "2026-01-01T00", "2026-01-02T00", "2026-03-01T00", "2026-03-02T00"
    )
    write_charter(repo, "b", {**charter(12.0), "aliases": ["a"]}, ROWS)
    commit(repo, "b, renamed from a", "Ben Okafor", "2026-03-03T00:00:00Z")
    events = read_history(repo).of("b").events
    assert [(e.date, e.kind) for e in events][-3:] == [
        ("2026-03-01", "created"),
        ("2026-03-01", "first-result"),
        ("2026-03-03", "renamed"),
    ]


def test_an_original_the_format_would_refuse_is_not_kept(tmp_path: Path) -> None:
    """A version that did not validate (a direction `down`, a baseline `.nan` or 1e300)
    and was then mended: the move is in the history, but no such original is shown."""
    repo = _repo(tmp_path)
    odd = business_metric(direction="down", baseline=float("nan"), target=1e300)
    write_charter(repo, "a", charter_data(business_metrics=[odd]), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Mend", "Ben Okafor", "2026-03-02T00:00:00Z")
    assert [(moved, flagged) for _, moved, flagged in _moves(repo)] == [(True, True)] * 3
    found = read_history(repo).of("a")
    assert found.originals == {}


def test_a_metric_that_starts_to_ref_the_catalogue_has_not_moved_its_goalposts(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "charters@example.com")
    write_charter(repo, "shop", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T09:00:00Z")
    inline = business_metric()
    catalogued = {k: inline[k] for k in ("baseline", "target", "agreed")}
    write_charter(
        repo, "shop", charter_data(business_metrics=[{"ref": "conv", **catalogued}]), ROWS
    )
    commit(repo, "Use the catalogue", "Ben Okafor", "2026-03-05T09:00:00Z")
    raised = {**catalogued, "target": {"value": 12.5}}
    write_charter(repo, "shop", charter_data(business_metrics=[{"ref": "conv", **raised}]), ROWS)
    sha = commit(repo, "Raise", "Chen Li", "2026-03-09T09:00:00Z")
    found = read_history(repo, names={"conv": "Catalogued conversion"}).of("shop")
    moved = [e for e in found.events if e.kind == "goalpost"]
    assert [(e.commit, e.moved) for e in moved] == [(sha, True)]
    # A `ref` has no name of its own: the catalogue's is used.
    assert moved[0].text.startswith("Catalogued conversion: target.value 12 → 12.5")
    assert found.original_targets == {"conv": 12.0}


def _catalogue(repo: Path, **changed: object) -> None:
    """metrics.yaml with `conv` (in orders, higher is better, changed by `changed`) and
    another entry no charter here claims."""
    conv = {"id": "conv", "name": "Catalogued conversion", "definition": "Orders per session."}
    conv |= {"unit": "orders", "direction": "increase", **changed}
    other = {"id": "aov", "name": "Order value", "definition": "Revenue per order."}
    other |= {"unit": "USD", "direction": "increase"}
    text = yaml.safe_dump([conv, other], sort_keys=False)
    (repo / "metrics.yaml").write_text(text, encoding="utf-8")


def test_a_goalpost_moved_in_the_catalogue_after_results_is_a_moved_goalpost(
    tmp_path: Path,
) -> None:
    """metrics.yaml's unit for `conv` changed from orders to %: the two-proportion test
    now judges the rows, and "No impact" became "Business impact" without a charter
    edited. The charter that `ref`s it has the moved goalpost and the verdict by an edit;
    one that does not, and a change of an entry no charter claims, add nothing."""
    repo = _repo(tmp_path)
    (repo / "site.yaml").write_text("title: Catalogue\n", encoding="utf-8")
    _catalogue(repo)
    claims = {"ref": "conv", "baseline": {"value": 10.0}, "target": {"value": 12.0}}
    rows = [*ab("2026-01-31", "conv", 10.0, 10.3, n=50000)]
    rows += ab("2026-02-28", "conv", 10.0, 10.4, n=50000)
    write_charter(repo, "shop", charter_data(business_metrics=[claims]), rows)
    own = [business_metric("sales")]
    write_charter(repo, "own", charter_data(business_metrics=own), [])
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    _catalogue(repo, definition="Orders per visit.")  # before any result of `own`: not moved
    commit(repo, "Reword", "Ana Ruiz", "2026-03-02T00:00:00Z")
    _catalogue(repo, definition="Orders per visit.", unit="%")
    unit = commit(repo, "Percent", "Ben Okafor", "2026-03-03T00:00:00Z")
    found = read_history(repo, names={"conv": "Catalogued conversion"})
    shop = [(e.commit, e.kind, e.text, e.flagged) for e in found.of("shop").events[2:]]
    assert shop == [
        (
            shop[0][0],
            "goalpost",
            "Catalogued conversion: definition Orders per session. → Orders per visit. in"
            " metrics.yaml — moved after results began (first result 2026-03-01), never agreed",
            True,
        ),
        (
            unit,
            "goalpost",
            "Catalogued conversion: unit orders → % in metrics.yaml — moved after results"
            " began (first result 2026-03-01), never agreed",
            True,
        ),
        (
            unit,
            "verdict",
            "Verdict: No impact → Business impact (an edit of metrics.yaml, with no new results)",
            True,
        ),
    ]
    assert found.of("shop").originals == {
        "conv": {"definition": "Orders per session.", "unit": "orders"}
    }
    assert [e.kind for e in found.of("own").events] == ["created"]

    site = tmp_path / "site"
    page = _built(repo, site, "2026-03-10", "shop")
    verdict = page.find("span", class_="verdict-title").parent.text()
    assert verdict.startswith("Verdict: Business impact Moved goalpost Verdict by an edit")
    heading = page.find("tr", id="metric-conv").find("th").text()
    assert heading == "Catalogued conversion↑ higher is better · %unit was orders · Moved goalpost"
    (api,) = [
        c
        for c in json.loads((site / "api/charters.json").read_bytes())["charters"]
        if c["id"] == "shop"
    ]
    (conv,) = api["business_metrics"]
    assert (conv["original_unit"], conv["original_definition"]) == ("orders", "Orders per session.")
    assert api["verdict_by_edit"] == "2026-03-03"


def test_a_catalogue_edit_that_came_with_new_rows_is_judged_on_them(tmp_path: Path) -> None:
    """The unit changed to % in the commit that brings the rows: the parent's catalogue
    (and charter) on the same rows gives "No impact", so the edit brought the verdict."""
    repo = _repo(tmp_path)
    _catalogue(repo)
    claims = {"ref": "conv", "baseline": {"value": 10.0}, "target": {"value": 12.0}}
    write_charter(repo, "shop", charter_data(business_metrics=[claims]))
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    _catalogue(repo, unit="%")
    rows = ab("2026-02-28", "conv", 10.0, 10.4, n=50000)
    write_charter(repo, "shop", charter_data(business_metrics=[claims]), rows)
    both = commit(repo, "Rows, in percent", "Ben Okafor", "2026-03-03T00:00:00Z")
    found = read_history(repo).of("shop")
    verdicts = [(e.commit, e.text, e.flagged) for e in found.events if e.kind == "verdict"]
    assert verdicts == [
        (
            both,
            "Verdict: No results → Business impact (an edit of metrics.yaml: before it, the"
            " same results give No impact)",
            True,
        )
    ]


@pytest.mark.parametrize("away", ["entry", "file", "link", "no id"])
def test_a_catalogue_entry_away_for_a_commit_is_compared_with_its_last_version(
    tmp_path: Path, away: str
) -> None:
    """`conv` gone from metrics.yaml for one commit (the entry removed, the file removed,
    the file made a symbolic link, the entry without its id), then back in %: the unit
    moved after results all the same; a link is an entry of its own, flagged."""
    repo = _repo(tmp_path)
    _catalogue(repo)
    claims = {"ref": "conv", "baseline": {"value": 10.0}, "target": {"value": 12.0}}
    rows = ab("2026-02-28", "conv", 10.0, 10.4, n=50000)
    write_charter(repo, "shop", charter_data(business_metrics=[claims]), rows)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    catalogue = repo / "metrics.yaml"
    if away == "entry":
        kept = yaml.safe_load(catalogue.read_text(encoding="utf-8"))[1:]
        catalogue.write_text(yaml.safe_dump(kept), encoding="utf-8")
    elif away == "no id":
        entries = yaml.safe_load(catalogue.read_text(encoding="utf-8"))
        del entries[0]["id"]
        catalogue.write_text(yaml.safe_dump(entries), encoding="utf-8")
    elif away == "link":
        catalogue.rename(repo / "catalogue.yaml")
        catalogue.symlink_to("catalogue.yaml")
    else:
        catalogue.unlink()
    commit(repo, "Away", "Ben Okafor", "2026-03-02T00:00:00Z")
    if away == "link":
        catalogue.unlink()
    _catalogue(repo, unit="%")
    back = commit(repo, "Back", "Ben Okafor", "2026-03-03T00:00:00Z")
    found = read_history(repo).of("shop")
    flagged = [(e.kind, e.commit) for e in found.events if e.flagged]
    linked = [("linked", flagged[0][1])] if away == "link" else []
    assert flagged == [*linked, ("goalpost", back), ("verdict", back)]
    assert found.originals == {"conv": {"unit": "orders"}}
    if away == "link":
        assert found.events[2].text.startswith(
            "metrics.yaml is now a symbolic link to catalogue.yaml: the history does not"
        )


def test_the_ambition_of_a_ref_target_is_judged_by_the_catalogue_of_its_commit(
    tmp_path: Path,
) -> None:
    """A branch lowers the target of a higher-is-better metric (less ambitious) while main
    makes it lower-is-better: the branch's entry reads as it did on the branch."""
    repo = _repo(tmp_path)
    _catalogue(repo)
    claims = {"ref": "conv", "baseline": {"value": 10.0}, "target": {"value": 12.0}}
    write_charter(repo, "shop", charter_data(business_metrics=[claims]))
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    git(repo, "checkout", "-q", "-b", "side")
    write_charter(
        repo, "shop", charter_data(business_metrics=[{**claims, "target": {"value": 11.0}}])
    )
    commit(repo, "Lower", "Ben Okafor", "2026-03-02T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    _catalogue(repo, direction="decrease")
    commit(repo, "Lower is better", "Chen Li", "2026-03-03T00:00:00Z")
    git(repo, "merge", "-q", "--no-edit", "side", author="Dana Ito", when="2026-03-04T00:00:00Z")
    texts = [e.text for e in read_history(repo).of("shop").events if e.kind == "goalpost"]
    assert "conv: target.value 12 → 11 (less ambitious)" in texts


def test_an_uncommitted_change_of_metrics_yaml_is_noted_on_the_charters_that_ref_it(
    tmp_path: Path,
) -> None:
    repo = _repo(tmp_path)
    _catalogue(repo)
    claims = {"ref": "conv", "baseline": {"value": 10.0}, "target": {"value": 12.0}}
    write_charter(repo, "shop", charter_data(business_metrics=[claims]))
    write_charter(repo, "own", charter_data(business_metrics=[business_metric("sales")]))
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    site = tmp_path / "site"
    build(repo, site)
    assert "metrics.yaml" not in history_text(site, "shop")
    _catalogue(repo, unit="%")  # not committed
    build(repo, site)
    assert history_text(site, "shop").startswith(
        "History metrics.yaml, which defines metrics this charter claims, has uncommitted"
        " changes; the history shows commits only, so they are not in it."
    )
    assert "uncommitted" not in history_text(site, "own")
    # Git's view of the file alone changes (head, charters and files as they were): the
    # build was a no-op and kept the note (review).
    git(repo, "update-index", "--assume-unchanged", "metrics.yaml")
    build(repo, site)
    assert "metrics.yaml" not in history_text(site, "shop")
    git(repo, "update-index", "--no-assume-unchanged", "metrics.yaml")
    build(repo, site)
    assert "metrics.yaml, which defines" in history_text(site, "shop")


def test_a_catalogue_goalpost_moved_before_results_and_the_ambition_of_a_ref(
    tmp_path: Path,
) -> None:
    """Before the first result a catalogue change is history, not a moved goalpost; a
    target lowered on a metric the catalogue makes lower-is-better is more ambitious."""
    repo = _repo(tmp_path)
    _catalogue(repo, direction="decrease")
    claims = {"ref": "conv", "baseline": {"value": 10.0}, "target": {"value": 8.0}}
    write_charter(repo, "shop", charter_data(business_metrics=[claims]))
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    _catalogue(repo, direction="decrease", unit="%")
    commit(repo, "Percent", "Ben Okafor", "2026-03-02T00:00:00Z")
    claims["target"] = {"value": 7.0}
    write_charter(repo, "shop", charter_data(business_metrics=[claims]))
    commit(repo, "Lower", "Ben Okafor", "2026-03-03T00:00:00Z")
    found = read_history(repo, names={"conv": "Catalogued conversion"}).of("shop")
    assert [(e.text, e.moved, e.flagged) for e in found.events if e.kind == "goalpost"] == [
        ("Catalogued conversion: unit orders → % in metrics.yaml", False, False),
        ("Catalogued conversion: target.value 8 → 7 (more ambitious)", False, False),
    ]
    assert found.originals == {}


def test_merged_branches_unreadable_versions_and_removed_charters(tmp_path: Path) -> None:
    """Each commit is compared with its own parent; a broken charter.yaml is skipped over;
    removing a charter is not a rewrite of its results, and bringing it back creates it."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "charters@example.com")
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    git(repo, "checkout", "-q", "-b", "side")
    write_charter(repo, "a", charter(13.0), ROWS)
    raised = commit(repo, "Raise on a branch", "Ben Okafor", "2026-03-02T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    write_charter(repo, "a", charter(12.0, status="paused"), ROWS)
    commit(repo, "Pause", "Chen Li", "2026-03-03T00:00:00Z")
    git(repo, "merge", "-q", "--no-edit", "side", author="Dana Ito", when="2026-03-04T00:00:00Z")
    (repo / "charters" / "a" / "charter.yaml").write_text("title: [unclosed\n", encoding="utf-8")
    commit(repo, "Break", "Eve Park", "2026-03-05T00:00:00Z")
    write_charter(repo, "a", charter(13.0, status="live"), ROWS)
    commit(repo, "Fix", "Fay Osei", "2026-03-06T00:00:00Z")
    shutil.rmtree(repo / "charters" / "a")
    commit(repo, "Remove", "Gus Berg", "2026-03-07T00:00:00Z")
    write_charter(repo, "a", charter(14.0), ROWS)
    commit(repo, "Again", "Hal Moss", "2026-03-08T00:00:00Z")
    events = read_history(repo).of("a").events
    assert [(e.date, e.author, e.kind, e.moved) for e in events] == [
        ("2026-03-01", "Ana Ruiz", "created", False),
        ("2026-03-01", "Ana Ruiz", "first-result", False),
        ("2026-03-02", "Ben Okafor", "goalpost", True),
        ("2026-03-03", "Chen Li", "status", False),
        ("2026-03-06", "Fay Osei", "status", False),
        # Removed, then a charter of its id again: compared with the version removed,
        # its target 13 → 14 after results (its first result stays the first).
        ("2026-03-08", "Hal Moss", "created", False),
        ("2026-03-08", "Hal Moss", "goalpost", True),
    ]
    assert events[2].commit == raised and "12 → 13" in events[2].text
    removed = git(repo, "rev-parse", "HEAD~1").strip()[:10]
    assert events[5].text == (
        f"Charter created again, status Live: removed on 2026-03-07 (commit {removed}),"
        " compared with the version removed then"
    )
    assert events[6].text.startswith(
        "Business conv: target.value 13 → 14 (more ambitious) — moved after results began"
        " (first result 2026-03-01)"
    ), events[6].text
    assert [e.text for e in events if e.kind == "status"] == [
        "Status Live → Paused",
        "Status Paused → Live",
    ]


def test_a_result_file_broken_for_one_commit_is_not_a_rewrite(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "charters@example.com")
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    results = repo / "charters" / "a" / "results" / "results.csv"
    good = results.read_text(encoding="utf-8")
    results.write_text(good + '2026-03-31,conv,"treatment,11\n', encoding="utf-8")  # open quote
    commit(repo, "Broken", "Ben Okafor", "2026-03-02T00:00:00Z")
    write_charter(repo, "a", charter(12.0), [*ROWS, *MORE])
    commit(repo, "Fixed", "Chen Li", "2026-03-03T00:00:00Z")
    write_charter(repo, "a", charter(12.0), MORE)
    dropped = commit(repo, "Drop January and February", "Dana Ito", "2026-03-04T00:00:00Z")
    events = read_history(repo).of("a").events
    assert [(e.kind, e.commit) for e in events if e.kind == "rewritten"] == [("rewritten", dropped)]
    assert "4 past rows removed" in events[-1].text


def test_result_files_kept_through_a_filter_have_the_history_of_files_kept_as_they_are(
    tmp_path: Path,
) -> None:
    """Result files kept through a filter (as Git LFS keeps them: each blob unreadable as
    rows) are read as a checkout writes them: the same first result, rows revised and
    verdicts as the repository that keeps the files as they are. Read raw, the history
    had no results at all, and a past row revised went untold."""
    (tmp_path / "plain").mkdir()
    (tmp_path / "kept").mkdir()
    plain = make_history_repo(tmp_path / "plain")[0]
    kept = make_history_repo(tmp_path / "kept", filtered=True)[0]
    raw = git(kept, "show", "HEAD:charters/routing/results/results.csv")
    assert "date,metric" not in raw  # the blob is not the file

    def told(repo: Path) -> list[tuple[str, str, str, bool]]:
        events = read_history(repo).of("routing").events
        return [(e.kind, e.time, e.text, e.flagged) for e in events]

    kinds = [kind for kind, *_ in told(kept)]
    assert {"first-result", "rewritten", "verdict"} <= set(kinds)
    assert told(kept) == told(plain)
    # A filter that cannot give the last version (its Git LFS object never fetched; `git
    # lfs install` makes its filter required): that version is not read, and its rows are
    # not read as removed.
    fails = 'out=$(base64 -d); case "$out" in *11.4*) exit 1;; esac; printf "%s\\n" "$out"'
    git(kept, "config", "filter.b64.smudge", f"sh -c '{fails}'")
    unread = [e for e in told(plain) if not (e[0] == "rewritten" and "revised" in e[2])]
    assert len(unread) == len(told(plain)) - 1
    for required in ("true", "false"):  # not required: git gives the blob as it is
        git(kept, "config", "filter.b64.required", required)
        assert [e for e in told(kept) if e[0] != "verdict"] == [
            e for e in unread if e[0] != "verdict"
        ]


def _rewrites(repo: Path) -> list[tuple[str, str, bool]]:
    """Charter a's rewrite events: (commit, text, flagged)."""
    events = read_history(repo).of("a").events
    return [(e.commit, e.text, e.flagged) for e in events if e.kind == "rewritten"]


@pytest.mark.parametrize("back", ["same-file", "another-file"])
def test_rows_taken_out_and_put_back_with_other_numbers_later_are_a_rewrite(
    tmp_path: Path, back: str
) -> None:
    """February's rows taken out in one change (a flagged removal), then, two commits
    later, put back with a better treatment row: the new numbers are a past row revised,
    not rows added, wherever they come back."""
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    write_charter(repo, "a", charter(12.0), ROWS[:2])
    dropped = commit(repo, "Drop February", "Ben Okafor", "2026-03-02T00:00:00Z")
    write_charter(repo, "a", {**charter(12.0), "summary": "Reworded."}, ROWS[:2])
    commit(repo, "Reword", "Chen Li", "2026-03-03T00:00:00Z")
    better = [ROWS[2], {**ROWS[3], "value": 11.9}]
    if back == "same-file":
        write_charter(repo, "a", charter(12.0), [*ROWS[:2], *better])
    else:
        write_charter(repo, "a", charter(12.0), better, results_file="february.csv")
    returned = commit(repo, "February again", "Dana Ito", "2026-03-04T00:00:00Z")
    rest = "results/results.csv" if back == "same-file" else "results/february.csv"
    assert _rewrites(repo) == [
        (dropped, "results/results.csv rewritten: 2 past rows removed (conv)", True),
        (
            returned,
            f"{rest} rewritten: 1 past row revised, taken out on 2026-03-02 and back with"
            " other numbers (conv)",
            True,
        ),
    ]


def test_rows_taken_out_and_put_back_as_they_were_are_no_rewrite(tmp_path: Path) -> None:
    """Back with the same numbers, or moved from one file to another in one commit and then
    revised there (a rewrite of that file, told as such): nothing is told twice."""
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    write_charter(repo, "a", charter(12.0), ROWS[:2])
    dropped = commit(repo, "Drop February", "Ben Okafor", "2026-03-02T00:00:00Z")
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "February back as it was", "Chen Li", "2026-03-03T00:00:00Z")
    write_charter(repo, "a", charter(12.0), ROWS[:2])
    write_charter(repo, "a", charter(12.0), ROWS[2:], results_file="february.csv")
    moved = commit(repo, "February in a file of its own", "Dana Ito", "2026-03-04T00:00:00Z")
    write_charter(repo, "a", charter(12.0), [ROWS[2], {**ROWS[3], "value": 11.9}], "february.csv")
    revised = commit(repo, "Revise February", "Eli Park", "2026-03-05T00:00:00Z")
    assert [(c, t) for c, t, _ in _rewrites(repo)] == [
        (dropped, "results/results.csv rewritten: 2 past rows removed (conv)"),
        (moved, "results/results.csv rewritten: 2 past rows removed (conv)"),
        (revised, "results/february.csv rewritten: 1 past row revised (conv)"),
    ]


FEBRUARY = [ROWS[2], {**ROWS[3], "value": 11.9}]  # February, its treatment row revised


def _taken_out(repo: Path, cid: str = "a") -> list[str]:
    """The commits of charter `cid`'s rewrite events that say rows were taken out."""
    events = read_history(repo).of(cid).events
    return [e.commit for e in events if e.kind == "rewritten" and "taken out" in e.text]


def _csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """`rows` as a result CSV at `path`, beside the charter's own results file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=RESULT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def _added(repo: Path) -> None:
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")


def _february_dropped(repo: Path, when: str = "2026-03-02T00:00:00Z") -> None:
    """Charter a added (`_added`), then February's rows taken out on main at `when`."""
    _added(repo)
    write_charter(repo, "a", charter(12.0), ROWS[:2])
    commit(repo, "Drop February", "Ben Okafor", when)


@pytest.mark.parametrize("dest", ["2026-february.csv", "zz-february.csv"])
def test_rows_moved_to_another_file_and_revised_in_one_commit_are_not_taken_out(
    tmp_path: Path, dest: str
) -> None:
    """Told as rows removed from the first file, whatever the second's name; not as rows
    taken out and back (in the same commit), nor left to be compared later."""
    repo = _repo(tmp_path)
    _added(repo)
    write_charter(repo, "a", charter(12.0), ROWS[:2])
    write_charter(repo, "a", charter(12.0), FEBRUARY, results_file=dest)
    commit(repo, "February in a file of its own, revised", "Ben Okafor", "2026-03-02T00:00:00Z")
    assert _taken_out(repo) == []


def test_a_variant_respelled_then_its_file_renamed_is_not_taken_out(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    _added(repo)
    respelled = [*ROWS[:3], {**ROWS[3], "variant": "Treatment"}]
    write_charter(repo, "a", charter(12.0), respelled)
    commit(repo, "Respell", "Ben Okafor", "2026-03-02T00:00:00Z")
    write_charter(repo, "a", charter(12.0), [*respelled[:3], {**respelled[3], "value": 11.9}])
    commit(repo, "Revise February", "Ben Okafor", "2026-03-03T00:00:00Z")
    git(repo, "mv", "charters/a/results/results.csv", "charters/a/results/2026.csv")
    commit(repo, "Rename the file", "Chen Li", "2026-03-04T00:00:00Z")
    assert _taken_out(repo) == []


@pytest.mark.parametrize("resolution", ["drop", "keep", "ours"])
def test_rows_a_branch_took_out_are_judged_by_what_the_merge_left(
    tmp_path: Path, resolution: str
) -> None:
    """A branch took February out while main revised it. The merge resolved without it
    (then February back as main had it), kept main's (then the file renamed), or kept
    all of main (`-s ours`, then the rows moved): no "taken out", which compared them
    with the branch's old numbers."""
    repo = _repo(tmp_path)
    _added(repo)
    git(repo, "checkout", "-q", "-b", "x")
    write_charter(repo, "a", charter(12.0), ROWS[:2])
    commit(repo, "Drop February", "Xu Wei", "2026-03-02T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    write_charter(repo, "a", charter(12.0), [*ROWS[:2], *FEBRUARY])
    commit(repo, "Revise February", "Mia Berg", "2026-03-03T00:00:00Z")
    strategy = ["-s", "ours"] if resolution == "ours" else []
    subprocess.run(
        ["git", "merge", "-q", "--no-ff", *strategy, "x"],
        cwd=repo,
        check=False,
        capture_output=True,
    )
    if resolution != "ours":  # a conflict, resolved
        kept = ROWS[:2] if resolution == "drop" else [*ROWS[:2], *FEBRUARY]
        write_charter(repo, "a", charter(12.0), kept)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "--no-edit", when="2026-03-04T00:00:00Z")
    if resolution == "drop":
        write_charter(repo, "a", charter(12.0), [*ROWS[:2], *FEBRUARY])
    elif resolution == "keep":
        git(repo, "mv", "charters/a/results/results.csv", "charters/a/results/2026.csv")
    else:
        write_charter(repo, "a", charter(12.0), ROWS[:2])
        write_charter(repo, "a", charter(12.0), FEBRUARY, results_file="february.csv")
    commit(repo, "After the merge", "Dana Ito", "2026-03-05T00:00:00Z")
    assert _taken_out(repo) == []


def test_rows_a_merge_left_out_and_back_changed_are_a_rewrite(tmp_path: Path) -> None:
    """Both sides appended; the conflict was resolved without February: then February
    back with other numbers."""
    repo = _repo(tmp_path)
    _added(repo)
    git(repo, "checkout", "-q", "-b", "y")
    write_charter(repo, "a", charter(12.0), [*ROWS, *MORE])
    commit(repo, "March", "Yan Li", "2026-03-02T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    production = row("2026-03-15", "conv", 10.5)
    write_charter(repo, "a", charter(12.0), [*ROWS, production])
    commit(repo, "Production", "Mia Berg", "2026-03-03T00:00:00Z")
    subprocess.run(
        ["git", "merge", "-q", "--no-ff", "y"], cwd=repo, check=False, capture_output=True
    )
    write_charter(repo, "a", charter(12.0), [*ROWS[:2], production, *MORE])
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-edit", when="2026-03-04T00:00:00Z")
    write_charter(repo, "a", charter(12.0), [*ROWS[:2], *FEBRUARY, production, *MORE])
    back = commit(repo, "February back changed", "Dana Ito", "2026-03-05T00:00:00Z")
    assert _taken_out(repo) == [back]


@pytest.mark.parametrize("main_then", [False, True], ids=["merged", "main-file-added"])
def test_rows_taken_out_on_main_stay_taken_when_a_branch_made_before_is_merged(
    tmp_path: Path, main_then: bool
) -> None:
    """A pull request's branch, made before main took February out, appends March (its
    file still holds February); it is merged with February left out (main adds a file
    of production rows after it, or not). February then back with other numbers is
    back from main's taking: the branch's file, which never saw it, does not make the rows
    present again."""
    repo = _repo(tmp_path)
    _added(repo)
    git(repo, "checkout", "-q", "-b", "pull")
    write_charter(repo, "a", charter(12.0), [*ROWS, *MORE])
    commit(repo, "March", "Pat Lee", "2026-03-03T12:00:00Z")
    git(repo, "checkout", "-q", "main")
    write_charter(repo, "a", charter(12.0), ROWS[:2])
    dropped = commit(repo, "Drop February", "Ben Okafor", "2026-03-02T00:00:00Z")
    subprocess.run(
        ["git", "merge", "-q", "--no-ff", "pull"], cwd=repo, check=False, capture_output=True
    )
    write_charter(repo, "a", charter(12.0), [*ROWS[:2], *MORE])  # the conflict, resolved
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-edit", when="2026-03-04T00:00:00Z")
    if main_then:
        _csv(repo / "charters/a/results/production.csv", [row("2026-03-20", "conv", 10.2)])
        commit(repo, "Production", "Mia Berg", "2026-03-04T18:00:00Z")
    write_charter(repo, "a", charter(12.0), [*ROWS[:2], *FEBRUARY, *MORE])
    back = commit(repo, "February back changed", "Dana Ito", "2026-03-05T00:00:00Z")
    assert _taken_out(repo) == [back]
    assert dropped in [c for c, _, _ in _rewrites(repo)]


def test_rows_a_branch_took_out_and_put_back_do_not_undo_main_s_taking(tmp_path: Path) -> None:
    """A pull request's branch, made before main took February out, removes its result
    file and writes it again with March (February as it was): merged without February,
    then February back changed on main. The branch's own taking and return of February
    were on its line alone: main's taking still stands."""
    repo = _repo(tmp_path)
    _added(repo)
    git(repo, "checkout", "-q", "-b", "pull")
    git(repo, "rm", "-q", "charters/a/results/results.csv")
    commit(repo, "Remove for regeneration", "Pat Lee", "2026-03-02T08:00:00Z")
    write_charter(repo, "a", charter(12.0), [*ROWS, *MORE])
    commit(repo, "Regenerated, with March", "Pat Lee", "2026-03-02T09:00:00Z")
    git(repo, "checkout", "-q", "main")
    write_charter(repo, "a", charter(12.0), ROWS[:2])
    commit(repo, "Drop February", "Ben Okafor", "2026-03-02T10:00:00Z")
    subprocess.run(
        ["git", "merge", "-q", "--no-ff", "pull"], cwd=repo, check=False, capture_output=True
    )
    write_charter(repo, "a", charter(12.0), [*ROWS[:2], *MORE])  # the conflict, resolved
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-edit", when="2026-03-04T00:00:00Z")
    write_charter(repo, "a", charter(12.0), [*ROWS[:2], *FEBRUARY, *MORE])
    back = commit(repo, "February back changed", "Dana Ito", "2026-03-05T00:00:00Z")
    assert _taken_out(repo) == [back]


def test_a_branch_s_row_merged_back_after_main_took_it_out_is_told_at_the_merge(
    tmp_path: Path,
) -> None:
    """A branch made before main had February appends its own (a better treatment row);
    main appends February, then takes it out; the merge keeps the branch's. On the
    branch's line February never left: nothing is told there. The merge brings it back
    on main's line with other numbers than it left with: told at the merge."""
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), ROWS[:2])
    commit(repo, "January", "Ana Ruiz", "2026-03-01T00:00:00Z")
    git(repo, "checkout", "-q", "-b", "pull")
    write_charter(repo, "a", charter(12.0), [*ROWS[:2], *FEBRUARY])
    branch = commit(repo, "February, recomputed", "Pat Lee", "2026-03-01T12:00:00Z")
    git(repo, "checkout", "-q", "main")
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "February", "Ben Okafor", "2026-03-02T00:00:00Z")
    write_charter(repo, "a", charter(12.0), ROWS[:2])
    commit(repo, "Drop February", "Ben Okafor", "2026-03-02T12:00:00Z")
    git(repo, "merge", "-q", "--no-edit", "pull", author="Dana Ito", when="2026-03-03T00:00:00Z")
    merge = git(repo, "rev-parse", "HEAD").strip()[:10]
    assert _taken_out(repo) == [merge]
    assert branch not in [c for c, _, _ in _rewrites(repo)]


def test_a_merge_that_changed_no_charter_keeps_the_takings_before_it(tmp_path: Path) -> None:
    """Main takes February out; a pull request adds a note to the charter's folder and
    takes it out again (the merge changes nothing under charters/, and the log the
    history replays leaves it out), then February back changed: still a return."""
    repo = _repo(tmp_path)
    _february_dropped(repo)
    git(repo, "checkout", "-q", "-b", "note")
    (repo / "charters/a/README.md").write_text("draft\n", encoding="utf-8")
    commit(repo, "A note", "Pat Lee", "2026-03-02T10:00:00Z")
    (repo / "charters/a/README.md").unlink()
    commit(repo, "No note", "Pat Lee", "2026-03-02T11:00:00Z")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "--no-edit", "note", when="2026-03-03T00:00:00Z")
    write_charter(repo, "a", charter(12.0), [*ROWS[:2], *FEBRUARY])
    back = commit(repo, "February back changed", "Dana Ito", "2026-03-05T00:00:00Z")
    assert _taken_out(repo) == [back]


def test_a_commit_dated_before_its_parent_keeps_the_takings_before_it(tmp_path: Path) -> None:
    """Main takes February out; a branch that changed no charter is merged; the next
    commit's clock is five minutes behind the merge's; then February back changed. Read
    by date, that commit had no parent, and the taking was lost to the commits after it."""
    repo = _repo(tmp_path)
    _february_dropped(repo, "2026-03-03T00:00:00Z")
    git(repo, "checkout", "-q", "-b", "side")
    (repo / "README").write_text("x\n", encoding="utf-8")
    commit(repo, "Readme", "Pat Lee", "2026-03-04T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "--no-edit", "side", when="2026-03-06T00:00:00Z")
    (repo / "charters/a/notes.md").write_text("n\n", encoding="utf-8")
    commit(repo, "A note, the clock behind", "Chen Li", "2026-03-05T23:55:00Z")
    write_charter(repo, "a", charter(12.0), [*ROWS[:2], *FEBRUARY])
    back = commit(repo, "February back changed", "Dana Ito", "2026-03-08T00:00:00Z")
    assert _taken_out(repo) == [back]


def test_a_branch_s_file_broken_then_mended_is_compared_with_its_own_rows(tmp_path: Path) -> None:
    """A pull request's result file broken in one commit (a quote left open) and mended in
    the next, as the branch had it; main appended March meanwhile. The mend was compared
    with the last version the replay had read, main's: "2 past rows removed"."""
    repo = _repo(tmp_path)
    _added(repo)
    git(repo, "checkout", "-q", "-b", "pull")
    path = repo / "charters/a/results/results.csv"
    path.write_text(path.read_text().replace("2026-02-28", '"2026-02-28', 1))
    commit(repo, "Broken", "Pat Lee", "2026-03-02T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    write_charter(repo, "a", charter(12.0), [*ROWS, *MORE])
    commit(repo, "March", "Ben Okafor", "2026-03-03T00:00:00Z")
    git(repo, "checkout", "-q", "pull")
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Mended", "Pat Lee", "2026-03-04T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "--no-edit", "pull", when="2026-03-05T00:00:00Z")
    assert _rewrites(repo) == []


def test_a_row_back_after_a_branch_merged_main_is_told_with_the_day_main_took_it(
    tmp_path: Path,
) -> None:
    """A pull request merges main (which took February out the day before) into its
    branch, and is merged; then February back changed. The merge into the branch took
    the row out of the branch's line too; the day told is main's, when it left."""
    repo = _repo(tmp_path)
    _added(repo)
    git(repo, "checkout", "-q", "-b", "pull")
    (repo / "charters/a/notes.md").write_text("n\n", encoding="utf-8")
    commit(repo, "A note", "Pat Lee", "2026-03-02T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    write_charter(repo, "a", charter(12.0), ROWS[:2])
    commit(repo, "Drop February", "Ben Okafor", "2026-03-03T00:00:00Z")
    git(repo, "checkout", "-q", "pull")
    git(repo, "merge", "-q", "--no-ff", "--no-edit", "main", when="2026-03-04T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "--no-edit", "pull", when="2026-03-05T00:00:00Z")
    write_charter(repo, "a", charter(12.0), [*ROWS[:2], *FEBRUARY])
    back = commit(repo, "February back changed", "Dana Ito", "2026-03-07T00:00:00Z")
    told = [(c, t) for c, t, _ in _rewrites(repo) if "taken out" in t]
    assert told == [
        (
            back,
            "results/results.csv rewritten: 1 past row revised, taken out on 2026-03-03 and"
            " back with other numbers (conv)",
        )
    ]


@pytest.mark.parametrize("parked", [True, False], ids=["parked-unread", "draft-unread"])
def test_only_the_files_the_globs_read_are_rows_taken_out(tmp_path: Path, parked: bool) -> None:
    """February moved to a file the `results/*` globs do not read, then back changed: a
    rewrite. A draft in such a file deleted, then the final numbers: none."""
    repo = _repo(tmp_path)
    if parked:
        _added(repo)
        write_charter(repo, "a", charter(12.0), ROWS[:2])
        _csv(repo / "charters/a/archive/february.csv", ROWS[2:])
    else:
        write_charter(repo, "a", charter(12.0), ROWS[:2])
        _csv(repo / "charters/a/drafts/february.csv", [ROWS[2], {**ROWS[3], "value": 99.0}])
        commit(repo, "Add, with a draft", "Ana Ruiz", "2026-03-01T00:00:00Z")
        (repo / "charters/a/drafts/february.csv").unlink()
    commit(repo, "Park or drop", "Ben Okafor", "2026-03-02T00:00:00Z")
    write_charter(repo, "a", charter(12.0), [*ROWS[:2], *FEBRUARY] if parked else ROWS)
    back = commit(repo, "February", "Chen Li", "2026-03-03T00:00:00Z")
    assert _taken_out(repo) == ([back] if parked else [])


def test_rows_taken_out_and_back_through_a_wider_results_glob_are_a_rewrite(
    tmp_path: Path,
) -> None:
    """February taken out; a file the globs do not read gets it with a better treatment
    row (no history: the charter does not read it); then `results` widened to read that
    file. February is back in the results, with other numbers: a rewrite, where it
    went untold."""
    repo = _repo(tmp_path)
    _february_dropped(repo)
    _csv(repo / "charters/a/archive/february.csv", FEBRUARY)
    commit(repo, "Archive a draft", "Chen Li", "2026-03-03T00:00:00Z")
    wider = {**charter(12.0), "results": ["results/*", "archive/*"]}
    write_charter(repo, "a", wider, ROWS[:2])
    widened = commit(repo, "Read the archive too", "Dana Ito", "2026-03-04T00:00:00Z")
    assert _taken_out(repo) == [widened]


def test_a_file_named_with_the_bytes_of_a_log_record_hides_nothing(tmp_path: Path) -> None:
    """A file whose name holds the byte the history's reading of git's log began each
    commit with, added with February's rows taken out: the rewrite went untold."""
    repo = _repo(tmp_path)
    _added(repo)
    (repo / "charters/a/a\x01b").write_text("note", encoding="utf-8")
    write_charter(repo, "a", charter(12.0), ROWS[:2])
    dropped = commit(repo, "Drop February, add a note", "Ben Okafor", "2026-03-02T00:00:00Z")
    assert [(c, t) for c, t, _ in _rewrites(repo)] == [
        (dropped, "results/results.csv rewritten: 2 past rows removed (conv)")
    ]


def test_commits_dated_with_any_offset_git_takes_and_a_root_not_shown_are_read(
    tmp_path: Path,
) -> None:
    """A commit dated +99:59 (git takes it; Python's reading of ISO dates does not) was
    dated 1970 and its verdict judged on that day; and `log.showRoot=false` in the
    repository's configuration hid the first commit's files: no "created", no first
    result, and a goalpost moved later unflagged."""
    repo = _repo(tmp_path)
    git(repo, "config", "log.showRoot", "false")
    _added(repo)
    write_charter(repo, "a", charter(11.0), ROWS)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Lower", when="@1775100000 +9959")
    found = read_history(repo).of("a")
    assert [(e.date, e.kind, e.flagged) for e in found.events][:3] == [
        ("2026-03-01", "created", False),
        ("2026-03-01", "first-result", False),
        ("2026-04-02", "goalpost", True),
    ]


def test_a_charter_yaml_made_a_submodule_and_back_lowered_is_a_moved_goalpost(
    tmp_path: Path,
) -> None:
    """charter.yaml replaced by a submodule (a gitlink) for one commit, then a file again
    with the target lowered: neither change was in the history."""
    repo = _repo(tmp_path)
    _added(repo)
    first = git(repo, "rev-parse", "HEAD").strip()
    path = "charters/a/charter.yaml"
    git(repo, "rm", "-q", "--cached", path)
    (repo / path).unlink()
    git(repo, "update-index", "--add", "--cacheinfo", f"160000,{first},{path}")
    git(repo, "commit", "-q", "-m", "A submodule", when="2026-03-02T00:00:00Z")
    git(repo, "rm", "-q", "--cached", path)
    write_charter(repo, "a", charter(11.0), ROWS)
    lowered = commit(repo, "A file again, lower", "Ben Okafor", "2026-03-03T00:00:00Z")
    found = read_history(repo).of("a")
    (move,) = [e for e in found.events if e.kind == "goalpost"]
    assert (move.commit, move.flagged) == (lowered, True)
    assert found.original_targets == {"conv": 12.0}


def test_rows_its_globs_no_longer_read_then_back_changed_are_a_rewrite(tmp_path: Path) -> None:
    """February in a file of its own, left out by a narrower `results` glob (told then),
    then back changed in the file still read."""
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), ROWS[:2])
    write_charter(repo, "a", charter(12.0), ROWS[2:], results_file="february.csv")
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    narrow = {**charter(12.0), "results": ["results/results.csv"]}
    write_charter(repo, "a", narrow, ROWS[:2])
    commit(repo, "Read one file", "Ben Okafor", "2026-03-02T00:00:00Z")
    write_charter(repo, "a", narrow, [*ROWS[:2], *FEBRUARY])
    back = commit(repo, "February back changed", "Chen Li", "2026-03-03T00:00:00Z")
    assert _taken_out(repo) == [back]


def test_rows_taken_out_then_their_metric_renamed_are_compared_under_the_new_id(
    tmp_path: Path,
) -> None:
    repo = _repo(tmp_path)
    _february_dropped(repo)
    renamed = charter(12.0)
    renamed["business_metrics"][0]["id"] = "conversion"

    def under_new_id(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**r, "metric": "conversion"} for r in rows]

    write_charter(repo, "a", renamed, under_new_id(ROWS[:2]))
    commit(repo, "Rename conv", "Chen Li", "2026-03-03T00:00:00Z")
    write_charter(repo, "a", renamed, under_new_id([*ROWS[:2], *FEBRUARY]))
    back = commit(repo, "February back changed", "Dana Ito", "2026-03-04T00:00:00Z")
    assert _taken_out(repo) == [back]


def test_rows_taken_out_before_the_removal_and_back_changed_are_a_rewrite(
    tmp_path: Path,
) -> None:
    """February's rows taken out a commit before the charter's removal, and the charter
    made again with them better: a past row revised, though the removal took none."""
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    write_charter(repo, "a", charter(12.0), ROWS[:2])
    commit(repo, "Drop February", "Ben Okafor", "2026-03-02T00:00:00Z")
    shutil.rmtree(repo / "charters/a")
    commit(repo, "Remove", "Ben Okafor", "2026-03-03T00:00:00Z")
    write_charter(repo, "a", charter(12.0), [*ROWS[:3], {**ROWS[3], "value": 11.9}])
    again = commit(repo, "Again", "Chen Li", "2026-03-04T00:00:00Z")
    (_, last) = _rewrites(repo)
    assert last == (
        again,
        "results/results.csv rewritten: 1 past row revised, taken out on 2026-03-02 and back"
        " with other numbers (conv)",
        True,
    )


def test_an_ordinary_merge_of_two_appending_branches_adds_nothing(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), ROWS[:2])
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    git(repo, "checkout", "-q", "-b", "side")
    write_charter(repo, "a", charter(12.5), ROWS[:2])
    commit(repo, "Raise", "Ben Okafor", "2026-03-02T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    write_charter(repo, "a", charter(12.0, status="paused"), ROWS)
    commit(repo, "February", "Chen Li", "2026-03-03T00:00:00Z")
    git(repo, "merge", "-q", "--no-edit", "side", author="Dana Ito", when="2026-03-04T00:00:00Z")
    merge = git(repo, "rev-parse", "HEAD").strip()[:10]
    events = read_history(repo).of("a").events
    assert [e.kind for e in events if e.commit == merge and e.kind != "verdict"] == []
    assert [(e.author, e.kind) for e in events if e.kind in ("goalpost", "status")] == [
        ("Ben Okafor", "goalpost"),
        ("Chen Li", "status"),
    ]


def test_a_target_moved_in_the_commit_of_the_first_results_moved_after_results(
    tmp_path: Path,
) -> None:
    """The target was set with the results in hand: lowering it to what they show is a
    moved goalpost, not the setting of one."""
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0))
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    write_charter(repo, "a", charter(10.8), ROWS)
    sha = commit(
        repo, "First results, and a target they meet", "Ben Okafor", "2026-03-02T00:00:00Z"
    )
    found = read_history(repo).of("a")
    (goalpost,) = [e for e in found.events if e.kind == "goalpost"]
    assert (goalpost.commit, goalpost.moved) == (sha, True)
    assert "moved after results began (first result 2026-03-02)" in goalpost.text
    assert found.original_targets == {"conv": 12.0}


def test_an_agreed_business_metric_dropped_from_the_business_metrics_is_flagged(
    tmp_path: Path,
) -> None:
    """Moving the unmet metric out of the business metrics changes the verdict as
    surely as moving its target; `charters diff` flags it, and so does the history."""
    repo = _repo(tmp_path)
    agreed = {"by": ["VP Sales"], "on": "2026-01-05"}
    body = charter(12.0, agreed=agreed)
    write_charter(repo, "a", body, ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    metric = body.pop("business_metrics")[0]
    body["business_metrics"] = [business_metric("revenue", name="Revenue", target={"value": 1})]
    body["measurement"]["guardrails"] = [{**metric, "tolerance": {"value": 1.0}}]
    write_charter(repo, "a", body, ROWS)
    sha = commit(repo, "Conversion is a guardrail now", "Ben Okafor", "2026-03-02T00:00:00Z")
    found = read_history(repo).of("a")
    (dropped,) = [e for e in found.events if e.kind == "agreement"]
    assert (dropped.commit, dropped.flagged, dropped.metric) == (sha, True, "conv")
    assert dropped.text == (
        "Business conv: moved to the guardrails, no longer a business metric, and its"
        " agreement with it (it was agreed by VP Sales on 2026-01-05)"
    )


@pytest.mark.parametrize(
    ("statuses", "flagged"),
    [(("live", "experiment"), [False, True]), (("retired", "proposed"), [False, True]),
     (("experiment", "live"), [False, False]), (("live", "paused"), [False, False])],
)  # fmt: skip
def test_a_status_back_from_the_rollout_is_flagged(
    tmp_path: Path, statuses: tuple[str, str], flagged: list[bool]
) -> None:
    """Production rows after the experiment judge a rolled-out charter's metrics; moved
    back to an earlier status, the experiment judges them again: a reviewer looks."""
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0, status="baseline"), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    for day, status in enumerate(statuses, start=2):
        write_charter(repo, "a", charter(12.0, status=status), ROWS)
        commit(repo, f"Now {status}", "Ben Okafor", f"2026-03-0{day}T00:00:00Z")
    found = [e for e in read_history(repo).of("a").events if e.kind == "status"]
    assert [e.flagged for e in found] == flagged
    back = found[-1].text.endswith("(production results no longer judge the metrics)")
    assert back is flagged[-1]


def test_a_verdict_gained_by_an_edit_with_no_new_results_is_flagged(tmp_path: Path) -> None:
    """A cadence stretched so that production no longer overrules the lift turns "No
    impact" into "Business impact" without a row: flagged. New rows gaining it are not."""
    repo = _repo(tmp_path)
    rows = PRODUCTION  # production back below the baseline
    body = charter(12.0)
    write_charter(repo, "a", body, rows)
    commit(repo, "Add", "Ana Ruiz", "2026-03-21T00:00:00Z")
    body["measurement"]["cadence"] = "every 999 months"
    write_charter(repo, "a", body, rows)
    edited = commit(repo, "Cadence", "Ben Okafor", "2026-03-22T00:00:00Z")
    body["measurement"]["cadence"] = "weekly"
    write_charter(repo, "a", body, rows)
    commit(repo, "Cadence back", "Ben Okafor", "2026-03-23T00:00:00Z")
    write_charter(repo, "a", body, [*rows, *MORE])  # a new pair on 2026-03-31
    results = commit(repo, "Results", "Chen Li", "2026-04-01T00:00:00Z")
    found = [e for e in read_history(repo).of("a").events if e.kind == "verdict"]
    assert [(e.commit, e.text, e.flagged) for e in found] == [
        (
            edited,
            "Verdict: No impact → Business impact (an edit of the charter, with no new results)",
            True,
        ),
        (found[1].commit, "Verdict: Business impact → No impact", False),
        (results, "Verdict: No impact → Business impact", False),
    ]


def _rows_and_an_edit(
    tmp_path: Path,
    first: list[dict[str, object]],
    second_rows: list[dict[str, object]],
    edit: dict[str, object],
) -> tuple[str, list[history.Event]]:
    """A charter committed with `first` rows, then one commit that brings `second_rows`
    and changes the charter by `edit` (top-level fields, `measurement` merged): that
    commit's hash and the charter's verdict events."""
    repo = _repo(tmp_path)
    body = charter(12.0)
    write_charter(repo, "a", body, first)
    commit(repo, "Add", "Ana Ruiz", "2026-03-21T00:00:00Z")
    measurement = {**body["measurement"], **edit.pop("measurement", {})}  # type: ignore[dict-item]
    write_charter(repo, "a", {**body, **edit, "measurement": measurement}, second_rows)
    both = commit(repo, "Rows and an edit", "Ben Okafor", "2026-04-01T00:00:00Z")
    return both, [e for e in read_history(repo).of("a").events if e.kind == "verdict"]


def test_a_verdict_gained_by_an_edit_that_came_with_new_rows_is_flagged(tmp_path: Path) -> None:
    """A new production row and the cadence stretched in one commit: the charter before
    the edit gives the same rows "No impact", so the gain is the edit's."""
    rows = PRODUCTION  # production back below the baseline
    both, found = _rows_and_an_edit(
        tmp_path,
        rows,
        [*rows, row("2026-03-25", "conv", 9.1)],
        {"measurement": {"cadence": "every 999 months"}},
    )
    assert [(e.commit, e.text, e.flagged) for e in found] == [
        (
            both,
            "Verdict: No impact → Business impact (an edit of the charter: before it, the same"
            " results give No impact)",
            True,
        )
    ]


def test_a_verdict_the_new_rows_would_lose_kept_by_an_edit_is_flagged(tmp_path: Path) -> None:
    """A production row back below the baseline would end "Business impact"; the cadence
    stretched in the same commit keeps it. The verdict does not change, yet the history
    says what kept it."""
    both, found = _rows_and_an_edit(
        tmp_path,
        ROWS,
        PRODUCTION,
        {"measurement": {"cadence": "every 999 months"}},
    )
    assert [(e.commit, e.text, e.flagged) for e in found] == [
        (
            both,
            "Verdict: Business impact kept by an edit of the charter: before it, the same"
            " results give No impact",
            True,
        )
    ]


def test_new_rows_that_gain_a_verdict_beside_a_harmless_edit_are_not_flagged(
    tmp_path: Path,
) -> None:
    """A new pair lifts the metric again, committed with a new summary: the charter
    before the edit gives those rows the same verdict, so the rows gained it."""
    rows = PRODUCTION
    both, found = _rows_and_an_edit(tmp_path, rows, [*rows, *MORE], {"summary": "New words."})
    assert [(e.commit, e.text, e.flagged) for e in found] == [
        (both, "Verdict: No impact → Business impact", False)
    ]


def test_a_plan_changed_after_results_began_is_flagged(tmp_path: Path) -> None:
    """The cadence changed before any result is history; the minimum detectable effect
    made smaller once results are in is flagged: the same move then counts as a gain."""
    repo = _repo(tmp_path)
    body = charter(12.0)
    body["measurement"]["minimum_detectable_effect"] = {"metric": "conv", "absolute": 0.5}
    write_charter(repo, "a", body)
    commit(repo, "Add", "Ana Ruiz", "2026-01-05T00:00:00Z")
    body["measurement"]["cadence"] = "monthly"
    write_charter(repo, "a", body)
    early = commit(repo, "Monthly", "Ben Okafor", "2026-01-06T00:00:00Z")
    write_charter(repo, "a", body, ROWS)
    commit(repo, "Results", "Chen Li", "2026-03-01T00:00:00Z")
    body["measurement"]["minimum_detectable_effect"]["absolute"] = 0.05
    write_charter(repo, "a", body, ROWS)
    late = commit(repo, "A smaller effect", "Dana Ito", "2026-03-02T00:00:00Z")
    found = [e for e in read_history(repo).of("a").events if e.kind == "plan"]
    assert [(e.commit, e.text, e.flagged) for e in found] == [
        (early, "Plan: measurement.cadence weekly → monthly", False),
        (
            late,
            "Plan: measurement.minimum_detectable_effect.absolute 0.5 → 0.05"
            " — changed after results began",
            True,
        ),
    ]


def test_a_charter_yaml_or_result_file_made_a_link_is_flagged(tmp_path: Path) -> None:
    """A build follows a link in the charter's folder; the history cannot, so a target
    moved behind `charter.yaml -> charter-main.yaml` went unseen (no goalpost, no
    verdict). Making the link is itself a flagged entry."""
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    folder = repo / "charters" / "a"
    (folder / "charter.yaml").rename(folder / "charter-main.yaml")
    (folder / "charter.yaml").symlink_to("charter-main.yaml")
    (folder / "results" / "results.csv").rename(folder / "results" / "rows.data")
    (folder / "results" / "results.csv").symlink_to("rows.data")
    linked = commit(repo, "Tidy the layout", "Ben Okafor", "2026-03-02T00:00:00Z")
    found = [e for e in read_history(repo).of("a").events if e.kind == "linked"]
    assert [(e.commit, e.text, e.flagged) for e in found] == [
        (
            linked,
            f"{rest} is now a symbolic link to {target}: the history does not follow it,"
            " so changes made to its target are not in this history",
            True,
        )
        for rest, target in (
            ("charter.yaml", "charter-main.yaml"),
            ("results/results.csv", "rows.data"),
        )
    ]


def test_a_link_made_a_file_again_is_compared_with_the_rows_before_the_link(
    tmp_path: Path,
) -> None:
    """A result file made a link and then a file again, with a past row revised in that
    commit: the link's blob (its target's path) is no version of the file, so the rows
    are compared with the last version that could be read, and the rewrite is flagged."""
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), [*ROWS, *MORE])
    commit(repo, "Add", "Ana Ruiz", "2026-04-01T00:00:00Z")
    results = repo / "charters" / "a" / "results"
    (results / "results.csv").rename(results / "rows.data")
    (results / "results.csv").symlink_to("rows.data")
    commit(repo, "Tidy", "Ben Okafor", "2026-04-02T00:00:00Z")
    (results / "results.csv").unlink()
    (results / "rows.data").unlink()
    write_charter(repo, "a", charter(12.0), [*ROWS[:-1], row(*_revised(ROWS[-1]))])
    back = commit(repo, "Back, with a row revised", "Chen Li", "2026-04-03T00:00:00Z")
    found = [e for e in read_history(repo).of("a").events if e.kind == "rewritten"]
    assert [(e.commit, e.flagged) for e in found] == [(back, True)]
    assert "1 past row revised" in found[0].text and "2 past rows removed" in found[0].text


def _revised(data: dict[str, object]) -> tuple[object, ...]:
    """A row's date, metric and value plus one, and its variant, for `row`."""
    return (data["date"], data["metric"], float(data["value"]) + 1.0, data.get("variant"))


def test_a_results_folder_made_a_link_is_flagged(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    folder = repo / "charters" / "a"
    (folder / "results").rename(folder / "data")
    (folder / "results").symlink_to("data")
    linked = commit(repo, "Results kept elsewhere", "Ben Okafor", "2026-03-02T00:00:00Z")
    found = [e for e in read_history(repo).of("a").events if e.kind == "linked"]
    assert [(e.commit, e.flagged) for e in found] == [(linked, True)]
    assert found[0].text.startswith("results is now a symbolic link to data:")


def _archive(repo: Path, cid: str) -> tuple[Path, Path]:
    """Move charter `cid`'s folder to archive/ and leave a link to it in its place."""
    folder, archive = repo / "charters" / cid, repo / "archive" / cid
    archive.parent.mkdir()
    folder.rename(archive)
    folder.symlink_to(f"../archive/{cid}")
    return folder, archive


def test_a_charter_folder_made_a_link_and_a_folder_again_hides_nothing(tmp_path: Path) -> None:
    """The charter's folder made a link to a folder outside charters/, its target moved
    and a row revised there, then made a folder again: the link is flagged, and the
    folder coming back is compared with the charter before the link (it was shown as
    created anew, the moved goalpost and the rewrite unseen)."""
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    folder, archive = _archive(repo, "a")
    linked = commit(repo, "Keep it in the archive", "Ben Okafor", "2026-03-02T00:00:00Z")
    write_charter(repo, "a", charter(20.0), [*ROWS[:-1], row(*_revised(ROWS[-1]))])
    commit(repo, "Edit behind the link", "Chen Li", "2026-03-03T00:00:00Z")
    folder.unlink()
    archive.rename(folder)
    back = commit(repo, "Back in charters/", "Dana Ito", "2026-03-04T00:00:00Z")
    events = read_history(repo).of("a").events
    assert [e.kind for e in events].count("created") == 1
    flagged = [(e.commit, e.kind, e.moved) for e in events if e.flagged]
    assert flagged == [
        (linked, "linked", False),
        (back, "goalpost", True),
        (back, "rewritten", False),
    ]
    assert events[[e.kind for e in events].index("linked")].text.startswith(
        "the charter's folder is now a symbolic link to ../archive/a:"
    )


def test_a_charter_folder_link_removed_and_a_new_charter_later_is_created_anew(
    tmp_path: Path,
) -> None:
    """The folder made a link, the link then removed: the charter is gone, and a new one
    of the same id later is created, not compared with the old one (a goalpost moved)."""
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    folder, archive = _archive(repo, "a")
    commit(repo, "Archived", "Ben Okafor", "2026-03-02T00:00:00Z")
    folder.unlink()
    shutil.rmtree(archive)
    commit(repo, "Dropped", "Ben Okafor", "2026-03-03T00:00:00Z")
    write_charter(repo, "a", charter(20.0), ROWS[:2])
    again = commit(repo, "A new project", "Chen Li", "2026-06-01T00:00:00Z")
    events = read_history(repo).of("a").events
    assert next((e.commit, e.kind) for e in events if e.commit == again) == (again, "created")
    assert [e.kind for e in events if e.flagged] == ["linked"]


def test_a_verdict_an_edit_brought_is_badged_until_results_change_it(tmp_path: Path) -> None:
    """No impact, then an edit of the cadence alone makes it Business impact: the badge
    beside the verdict says so, wherever it is shown, until new results change it."""
    repo = _repo(tmp_path)
    (repo / "site.yaml").write_text("title: Edits\n", encoding="utf-8")
    rows = PRODUCTION  # in production, below the baseline
    body = charter(12.0)
    write_charter(repo, "a", body, rows)
    commit(repo, "Add", "Ana Ruiz", "2026-03-21T00:00:00Z")
    body["measurement"]["cadence"] = "every 999 months"  # the production row judges no more
    write_charter(repo, "a", body, rows)
    edited = commit(repo, "Cadence", "Ben Okafor", "2026-03-22T00:00:00Z")
    site = tmp_path / "site"
    build(repo, site)
    page = parse_html(site / "charters/a/index.html")
    verdict = page.find("span", class_="verdict-title").parent
    assert verdict.text().startswith("Verdict: Business impact Verdict by an edit")
    assert verdict.find("a", class_="verdict-edited").attrs["href"] == "#history"
    portfolio = parse_html(site / "index.html")
    badge = portfolio.find("tr", id=None, **{"data-id": "a"}).find("a", class_="verdict-edited")
    assert badge.attrs["href"] == "charters/a/index.html#history"
    (entry,) = json.loads((site / "api/charters.json").read_bytes())["charters"]
    assert entry["verdict_by_edit"] == "2026-03-22"
    flagged = [e for e in read_history(repo).of("a").events if e.kind == "verdict"]
    assert [(e.commit, e.flagged, e.verdict) for e in flagged] == [
        (edited, True, "business-impact")
    ]
    # New results change the verdict: it no longer rests on the edit.
    write_charter(repo, "a", body, [*rows, *ab("2026-03-31", "conv", 10.5, 10.0, n=50000)])
    commit(repo, "March", "Chen Li", "2026-04-01T00:00:00Z")
    build(repo, site)
    assert "verdict-edited" not in (site / "charters/a/index.html").read_text("utf-8")
    (entry,) = json.loads((site / "api/charters.json").read_bytes())["charters"]
    assert entry["verdict_by_edit"] is None and entry["verdict"] != "business-impact"


def _stretched_then_lost(tmp_path: Path) -> tuple[Path, dict[str, Any], str, list[Any]]:
    """Charter a's cadence stretched ("No impact" → "Business impact", flagged), then a
    month whose lift is gone ("No impact"): the repository, the stretched charter, the
    edit's commit and the rows."""
    repo = _repo(tmp_path)
    body = charter(12.0)
    write_charter(repo, "a", body, PRODUCTION)
    commit(repo, "Add", "Ana Ruiz", "2026-03-21T00:00:00Z")
    longer = stretched(body)
    write_charter(repo, "a", longer, PRODUCTION)
    edited = commit(repo, "Cadence", "Ben Okafor", "2026-03-22T00:00:00Z")
    lost = [*PRODUCTION, *ab("2026-03-31", "conv", 10.5, 10.0, n=50000)]
    write_charter(repo, "a", longer, lost)
    commit(repo, "March", "Chen Li", "2026-04-01T00:00:00Z")
    return repo, longer, edited, lost


def test_results_that_lose_a_verdict_an_edit_brought_and_bring_it_back_keep_its_badge(
    tmp_path: Path,
) -> None:
    """The cadence stretched ("No impact" → "Business impact", flagged), then a month whose
    lift is gone loses the verdict and the next brings it back, with a production row
    below the baseline a week after its pair that only the stretched cadence leaves
    unjudged: the newest change of verdict is the rows', but the verdict still rests on
    the edit (the charter before it gives these results "No impact"), and the page still
    says so. Results that carry it without the edit take the badge away."""
    repo, longer, edited, lost = _stretched_then_lost(tmp_path)
    back = [*lost, *ab("2026-04-30", "conv", 10.0, 11.2, n=50000)]
    write_charter(repo, "a", longer, [*back, row("2026-05-10", "conv", 9.0)])
    april = commit(repo, "April", "Dana Ito", "2026-05-11T00:00:00Z")
    found = read_history(repo).of("a")
    changes = [(e.commit, e.flagged, e.verdict) for e in found.events if e.kind == "verdict"]
    assert changes[2:] == [(april, False, "business-impact")]
    assert _verdict_edited_at(repo, edited).date == "2026-03-22"
    site = tmp_path / "site"
    page = _built(repo, site, "2026-05-11")
    assert page.find("a", class_="verdict-edited") is not None
    (entry,) = json.loads((site / "api/charters.json").read_bytes())["charters"]
    assert (entry["verdict"], entry["verdict_by_edit"]) == ("business-impact", "2026-03-22")
    # A production row back above the baseline: the charter before the edit gives these
    # results "Business impact" too, and the verdict no longer rests on the edit.
    write_charter(repo, "a", longer, [*back, row("2026-05-10", "conv", 11.0)])
    commit(repo, "May", "Eve Park", "2026-05-12T00:00:00Z")
    assert read_history(repo).of("a").edited_verdict is None
    page = _built(repo, site, "2026-05-12")
    assert not page.find_all("a", class_="verdict-edited")


@pytest.mark.parametrize("how", ["undone", "results-carry-it"])
def test_no_badge_once_the_verdict_no_longer_rests_on_the_edit(tmp_path: Path, how: str) -> None:
    """The cadence stretched (flagged), then, with no change of verdict since: the edit
    undone in a commit whose production row carries the verdict, or new results that
    carry it under the cadence as it was. The newest change of verdict is still the
    edit's, yet nothing rests on it: the badge stayed (review), though the same charter
    and results after a month that lost the verdict had none."""
    repo = _repo(tmp_path)
    body = charter(12.0)
    write_charter(repo, "a", body, PRODUCTION)
    commit(repo, "Add", "Ana Ruiz", "2026-03-21T00:00:00Z")
    write_charter(repo, "a", stretched(body), PRODUCTION)
    edited = commit(repo, "Cadence", "Ben Okafor", "2026-03-22T00:00:00Z")
    assert _verdict_edited_at(repo, edited).date == "2026-03-22"
    if how == "undone":
        write_charter(repo, "a", body, [*PRODUCTION, row("2026-03-25", "conv", 11.0)])
        day = "2026-03-26"
    else:
        rows = [*PRODUCTION, *MORE, row("2026-04-10", "conv", 11.5)]
        write_charter(repo, "a", stretched(body), rows)
        day = "2026-04-11"
    commit(repo, "Later", "Chen Li", f"{day}T00:00:00Z")
    found = read_history(repo).of("a")
    assert [e.verdict for e in found.events if e.kind == "verdict"] == ["business-impact"]
    assert found.edited_verdict is None
    page = _built(repo, tmp_path / "site", day)
    assert (
        page.find("span", class_="verdict-title")
        .parent.text()
        .startswith("Verdict: Business impact")
    )
    assert not page.find_all("a", class_="verdict-edited")


@pytest.mark.parametrize("change", ["renamed", "added"])
def test_a_business_metric_renamed_or_added_since_the_edit_leaves_no_badge(
    tmp_path: Path, change: str
) -> None:
    """After the cadence edit and a month that lost the verdict, a business metric renamed
    (its rows with it) or added, then a month whose production row is above the baseline.
    Added: the charter before the edit judges only the rows of the metrics it declares, so
    it gave the results that carry the verdict "No results" and the badge stayed (review);
    it cannot tell, so no badge. Renamed: read through the rename, the charter before the
    edit gives these results "Business impact" too (the next test has a row below the
    baseline, and the badge)."""
    repo, longer, _, lost = _stretched_then_lost(tmp_path)
    now = json.loads(json.dumps(longer))
    if change == "renamed":
        now["business_metrics"][0]["id"] = "conversion"
        april = [
            *lost,
            *ab("2026-04-30", "conv", 10.0, 11.2, n=50000),
            row("2026-05-10", "conv", 11.0),
        ]
        write_charter(repo, "a", now, [{**r, "metric": "conversion"} for r in lost])
        rows = [{**r, "metric": "conversion"} for r in april]
    else:
        now["business_metrics"].append(business_metric("rev"))
        write_charter(repo, "a", now, lost)
        rows = [*lost, *ab("2026-04-30", "conv", 10.0, 10.0, n=50000),
                *ab("2026-04-30", "rev", 10.0, 11.2, n=50000)]  # fmt: skip
    commit(repo, change.capitalize(), "Chen Li", "2026-04-02T00:00:00Z")
    write_charter(repo, "a", now, rows)
    commit(repo, "April", "Dana Ito", "2026-05-11T00:00:00Z")
    found = read_history(repo).of("a")
    assert [e.verdict for e in found.events if e.kind == "verdict"][-1] == "business-impact"
    assert found.edited_verdict is None


def test_a_business_metric_renamed_since_the_edit_keeps_its_badge(tmp_path: Path) -> None:
    """After the cadence edit and a month that lost the verdict, the business metric renamed
    with its rows (conv → conversion), then a month that brings the verdict back with a
    production row below the baseline that only the stretched cadence leaves unjudged. The
    verdict still rests on the edit, as it does without the rename
    (test_results_that_lose_a_verdict_an_edit_brought_and_bring_it_back_keep_its_badge),
    yet the charter before the edit declared `conv` and so judged none of these rows: a
    rename shed the badge, an honest one passing the pull-request gate as one unflagged
    change. The charter before the edit is read through the rename, known by its rows as
    `charters diff` knows it (diff/metric_renames.py)."""
    repo, longer, edited, lost = _stretched_then_lost(tmp_path)
    now = json.loads(json.dumps(longer))
    now["business_metrics"][0]["id"] = "conversion"
    write_charter(repo, "a", now, [{**r, "metric": "conversion"} for r in lost])
    commit(repo, "Rename", "Chen Li", "2026-04-02T00:00:00Z")
    april = [*lost, *ab("2026-04-30", "conv", 10.0, 11.2, n=50000), row("2026-05-10", "conv", 9.0)]
    write_charter(repo, "a", now, [{**r, "metric": "conversion"} for r in april])
    commit(repo, "April", "Dana Ito", "2026-05-11T00:00:00Z")
    assert _verdict_edited_at(repo, edited).date == "2026-03-22"
    page = _built(repo, tmp_path / "site", "2026-05-11")
    assert page.find("a", class_="verdict-edited") is not None


def test_a_business_metric_renamed_after_its_target_moved_keeps_its_original_target(
    tmp_path: Path,
) -> None:
    """The target raised after results (a moved goalpost, 12 → 12.5), then the metric
    renamed with its rows (conv → conversion): the original target was kept by the old id,
    and the page lost the *Moved goalpost* badge and its original target by a rename. And
    the rename itself read as a verdict kept by an edit (the charter before it judged none
    of the renamed rows: "No results"), flagged, with the *Verdict by an edit* badge."""
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    write_charter(repo, "a", charter(12.5), ROWS)
    commit(repo, "Raise", "Ben Okafor", "2026-03-02T00:00:00Z")
    assert read_history(repo).of("a").original_targets == {"conv": 12.0}
    renamed = json.loads(json.dumps(charter(12.5)))
    renamed["business_metrics"][0]["id"] = "conversion"
    write_charter(repo, "a", renamed, [{**r, "metric": "conversion"} for r in ROWS])
    sha = commit(repo, "Rename", "Chen Li", "2026-03-03T00:00:00Z")
    found = read_history(repo).of("a")
    # Kept under the old id too, for a branch made before the rename (the next tests).
    assert found.original_targets == {"conv": 12.0, "conversion": 12.0}
    told = [(e.kind, e.flagged, e.text) for e in found.events if e.commit == sha]
    text = "Business conv: metric id conv → conversion"
    assert told == [("renamed", False, text)]
    assert found.edited_verdict is None
    page = _built(repo, tmp_path / "site", "2026-03-03")
    assert page.find("a", class_="goalpost-moved") is not None
    assert not page.find_all("a", class_="verdict-edited")


def _mde(effect: float, *more: dict[str, Any], mid: str = "conv") -> dict[str, Any]:
    """Charter a with business metric `mid` (baseline 10 %) and `more`, its rows judged by
    a minimum detectable effect of `effect` points: 10.6 moves by 1 no more, by 0.5 it does."""
    metrics = [business_metric(mid, name="Business conv"), *more]
    return charter_data(mde={"metric": mid, "absolute": effect}, business_metrics=metrics)


def _rows(*values: float) -> list[dict[str, Any]]:
    """Weekly production rows of conv from 1 March 2026."""
    return [row(f"2026-03-{1 + 7 * i:02d}", "conv", v) for i, v in enumerate(values)]


def test_an_edit_made_in_steps_keeps_its_badge(tmp_path: Path) -> None:
    """The minimum detectable effect lowered from 1 to 0.5 ("Business impact", flagged), a
    week that loses the verdict, then lowered again to 0.25 (flagged), then a week that
    gives 10.6 again. Only the charter before the newest edit (0.5) was asked, which gives
    10.6 "Business impact" too: the badge went, though by the effect first agreed 10.6
    is "No impact" (second review)."""
    repo = _repo(tmp_path)
    write_charter(repo, "a", _mde(1.0), _rows(10.6))
    commit(repo, "Add", "Ana Ruiz", "2026-03-02T00:00:00Z")
    write_charter(repo, "a", _mde(0.5), _rows(10.6))
    first = commit(repo, "Effect", "Ben Okafor", "2026-03-03T00:00:00Z")
    write_charter(repo, "a", _mde(0.5), _rows(10.6, 10.3))
    commit(repo, "Dip", "Chen Li", "2026-03-09T00:00:00Z")
    write_charter(repo, "a", _mde(0.25), _rows(10.6, 10.3))
    commit(repo, "Effect again", "Ben Okafor", "2026-03-10T00:00:00Z")
    write_charter(repo, "a", _mde(0.25), _rows(10.6, 10.3, 10.6))
    commit(repo, "Back", "Chen Li", "2026-03-16T00:00:00Z")
    assert _verdict_edited_at(repo, first).date == "2026-03-03"


@pytest.mark.parametrize("carried", [False, True])
def test_a_business_metric_added_since_the_edit_neither_gives_nor_takes_the_badge(
    tmp_path: Path, carried: bool
) -> None:
    """The effect lowered (flagged), then a business metric added with no rows: a dip and a
    week back at 10.6 took the badge away, since the charter before the edit does not
    declare the new metric (second review). The charter as it is, on the rows of the
    metrics the one before the edit declares, still rests on the edit. With rows that
    carry the verdict under the effect first agreed (11.2), there is no badge."""
    repo = _repo(tmp_path)
    write_charter(repo, "a", _mde(1.0), _rows(10.6))
    commit(repo, "Add", "Ana Ruiz", "2026-03-02T00:00:00Z")
    write_charter(repo, "a", _mde(0.5), _rows(10.6))
    edited = commit(repo, "Effect", "Ben Okafor", "2026-03-03T00:00:00Z")
    nps = business_metric("nps", name="Net promoter score", unit="score")
    if carried:
        write_charter(repo, "a", _mde(0.5, nps), _rows(10.6, 11.2))
        commit(repo, "NPS, and March", "Chen Li", "2026-03-09T00:00:00Z")
        assert read_history(repo).of("a").edited_verdict is None
        return
    write_charter(repo, "a", _mde(0.5, nps), _rows(10.6))
    commit(repo, "NPS", "Chen Li", "2026-03-04T00:00:00Z")
    write_charter(repo, "a", _mde(0.5, nps), _rows(10.6, 10.3))
    commit(repo, "Dip", "Chen Li", "2026-03-09T00:00:00Z")
    write_charter(repo, "a", _mde(0.5, nps), _rows(10.6, 10.3, 10.6))
    commit(repo, "Back", "Chen Li", "2026-03-16T00:00:00Z")
    assert _verdict_edited_at(repo, edited).date == "2026-03-03"


def test_a_broken_commit_before_the_edit_is_passed_over_for_the_badge(tmp_path: Path) -> None:
    """Between the first version and the edit, a commit whose charter does not load (the
    metric renamed, the effect still naming the old id): the badge's check stopped at it
    (its metrics are not the charter's) instead of asking the last version that loaded,
    as the edit's entry does (second review)."""
    repo = _repo(tmp_path)
    write_charter(repo, "a", _mde(1.0), _rows(10.6))
    commit(repo, "Add", "Ana Ruiz", "2026-03-02T00:00:00Z")
    broken = _mde(1.0)
    broken["business_metrics"][0]["id"] = "conversion"
    write_charter(repo, "a", broken, _rows(10.6))
    commit(repo, "Rename, half done", "Ben Okafor", "2026-03-03T00:00:00Z")
    write_charter(repo, "a", _mde(0.5), _rows(10.6))
    mended = commit(repo, "Mend, and the effect", "Ben Okafor", "2026-03-04T00:00:00Z")
    write_charter(repo, "a", _mde(0.5), _rows(10.6, 10.3))
    commit(repo, "Dip", "Chen Li", "2026-03-09T00:00:00Z")
    write_charter(repo, "a", _mde(0.5), _rows(10.6, 10.3, 10.6))
    commit(repo, "Back", "Chen Li", "2026-03-16T00:00:00Z")
    assert _verdict_edited_at(repo, mended).date == "2026-03-04"


def _effect_lowered(repo: Path) -> str:
    """Charter a at 10.6 with an effect of 1 ("No impact"), then the effect lowered to 0.5
    ("Business impact", flagged): the edit's commit."""
    write_charter(repo, "a", _mde(1.0), _rows(10.6))
    commit(repo, "Add", "Ana Ruiz", "2026-03-02T00:00:00Z")
    write_charter(repo, "a", _mde(0.5), _rows(10.6))
    return commit(repo, "Effect", "Ben Okafor", "2026-03-03T00:00:00Z")


@pytest.mark.parametrize("where", ["on main", "on a branch merged -s ours"])
def test_a_charter_removed_and_back_keeps_the_badge(tmp_path: Path, where: str) -> None:
    """The charter's folder removed after the edit (and added again on main, or removed on
    a branch whose merge keeps main's tree): the removal forgot the edits that gained a
    verdict, and the badge went with no entry of the history saying why (third review)."""
    repo = _repo(tmp_path)
    edited = _effect_lowered(repo)
    if where == "on main":
        shutil.rmtree(repo / "charters" / "a")
        commit(repo, "Drop", "Chen Li", "2026-03-04T00:00:00Z")
        write_charter(repo, "a", _mde(0.5), _rows(10.6))
        commit(repo, "Back", "Chen Li", "2026-03-05T00:00:00Z")
    else:
        git(repo, "checkout", "-q", "-b", "tidy")
        shutil.rmtree(repo / "charters" / "a")
        commit(repo, "Drop", "Chen Li", "2026-03-04T00:00:00Z")
        git(repo, "checkout", "-q", "main")
        git(repo, "merge", "-q", "-s", "ours", "-m", "Tidy", "tidy", when="2026-03-05T00:00:00Z")
    assert _verdict_edited_at(repo, edited).date == "2026-03-03"


@pytest.mark.parametrize("merged", [False, True])
def test_a_business_metric_added_whose_results_carry_the_verdict_leaves_no_badge(
    tmp_path: Path, merged: bool
) -> None:
    """After the edit, a business metric added with an A/B test that moved it: without the
    edit the verdict is "Business impact" all the same, yet the badge stayed (the metric
    is left out on both sides), also when a merge brought the metric and its rows and
    was flagged as an edit in a merge (third review)."""
    repo = _repo(tmp_path)
    _effect_lowered(repo)
    rev = business_metric("rev", name="Revenue")
    tested = [*_rows(10.6), *ab("2026-03-12", "rev", 10.0, 11.2, n=50000)]
    if merged:
        write_charter(repo, "a", _mde(0.5), _rows(10.6, 10.3))
        commit(repo, "Dip", "Chen Li", "2026-03-09T00:00:00Z")
        tested = [*_rows(10.6, 10.3), *ab("2026-03-12", "rev", 10.0, 11.2, n=50000)]
        git(repo, "checkout", "-q", "-b", "rev")
    write_charter(repo, "a", _mde(0.5, rev), tested[:-2])
    commit(repo, "Revenue", "Dana Ito", "2026-03-10T00:00:00Z")
    write_charter(repo, "a", _mde(0.5, rev), tested)
    commit(repo, "Revenue A/B", "Dana Ito", "2026-03-13T00:00:00Z")
    if merged:
        git(repo, "checkout", "-q", "main")
        write_charter(repo, "a", {**_mde(0.5), "summary": "Reworded."}, _rows(10.6, 10.3))
        commit(repo, "Words", "Eve Park", "2026-03-14T00:00:00Z")
        git(repo, "merge", "-q", "--no-ff", "-m", "Revenue", "rev", when="2026-03-15T00:00:00Z")
    found = read_history(repo).of("a")
    assert [e.verdict for e in found.events if e.kind == "verdict"][-1] == "business-impact"
    assert found.edited_verdict is None


def test_a_verdict_an_edit_brought_is_badged_whatever_day_its_commit_says(
    tmp_path: Path,
) -> None:
    """The edit's commit dated before the commit whose results it overrules: the newest
    change of verdict is the newest by commit, not by the date a commit gives itself."""
    repo = _repo(tmp_path)
    body = charter(12.0)
    write_charter(repo, "a", body, ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-21T00:00:00Z")
    rows = PRODUCTION  # in production, below the baseline
    write_charter(repo, "a", body, rows)
    commit(repo, "Production", "Ben Okafor", "2026-03-24T00:00:00Z")
    body["measurement"]["cadence"] = "every 999 months"
    write_charter(repo, "a", body, rows)
    edited = commit(repo, "Cadence", "Chen Li", "2026-03-22T00:00:00Z")  # backdated
    found = read_history(repo).of("a")
    changes = [(e.date, e.flagged, e.verdict) for e in found.events if e.kind == "verdict"]
    assert changes == [  # by date, as the page lists them
        ("2026-03-22", True, "business-impact"),
        ("2026-03-24", False, "no-impact"),
    ]
    assert found.edited_verdict is not None and found.edited_verdict.commit == edited
    site = tmp_path / "site"
    build(repo, site)
    (entry,) = json.loads((site / "api/charters.json").read_bytes())["charters"]
    assert (entry["verdict"], entry["verdict_by_edit"]) == ("business-impact", "2026-03-22")


@pytest.mark.parametrize("broken", ["a row", "a field"])
def test_a_charter_broken_then_removed_and_made_again_softer_is_badged(
    tmp_path: Path, broken: str
) -> None:
    """A field of charter.yaml broken, then the charter removed, then made again with a
    softer rule: the version removed did not load, so nothing judged the re-add, and
    "Business impact" stood unbadged. The last version that loaded does. (A row broken
    leaves the version removed to judge: it is judged on the re-add's rows.)"""
    repo = _repo(tmp_path)
    body = charter(12.0)
    write_charter(repo, "a", body, PRODUCTION)
    loads = commit(repo, "Add", "Ana Ruiz", "2026-03-20T00:00:00Z")
    if broken == "a row":
        with (repo / "charters/a/results/results.csv").open("a", encoding="utf-8") as fh:
            fh.write("2026-03-31,conv,treatment,lots\n")
    else:
        write_charter(repo, "a", {**body, "owner": None}, PRODUCTION)
    commit(repo, "Break it", "Ben Okafor", "2026-03-21T00:00:00Z")
    shutil.rmtree(repo / "charters/a")
    removed = commit(repo, "Remove", "Ben Okafor", "2026-03-22T00:00:00Z")
    write_charter(repo, "a", stretched(body), PRODUCTION)
    again = commit(repo, "Again", "Chen Li", "2026-03-23T00:00:00Z")
    found = read_history(repo).of("a")
    (*_, last) = [e for e in found.events if e.kind == "verdict"]
    assert (last.flagged, last.verdict, last.text) == (
        True,
        "business-impact",
        f"Verdict: Business impact, by an edit since the charter was removed on 2026-03-22"
        f" (commit {removed}): "
        + (
            "the version removed"
            if broken == "a row"
            else f"its last version that loads before the removal (commit {loads})"
        )
        + " gives the same results No impact",
    )
    _verdict_edited_at(repo, again)


@pytest.mark.parametrize("rows_later", [False, True])
def test_a_verdict_a_charter_made_again_gained_by_an_edit_is_badged(
    tmp_path: Path, rows_later: bool
) -> None:
    """Removed at "No impact" and added back with a cadence that no production row is
    judged by: the verdicts started again at the re-add, and "Business impact" stood on
    the page unbadged. With its rows in the same commit, or the commit after."""
    repo = _repo(tmp_path)
    body = charter(12.0)
    write_charter(repo, "a", body, PRODUCTION)
    commit(repo, "Add", "Ana Ruiz", "2026-03-21T00:00:00Z")
    shutil.rmtree(repo / "charters/a")
    removed = commit(repo, "Remove", "Ben Okafor", "2026-03-22T00:00:00Z")
    write_charter(repo, "a", stretched(body), () if rows_later else PRODUCTION)
    again = commit(repo, "Again", "Chen Li", "2026-03-23T00:00:00Z")
    if rows_later:
        write_charter(repo, "a", stretched(body), PRODUCTION)
        again = commit(repo, "Rows back", "Chen Li", "2026-03-24T00:00:00Z")
    found = read_history(repo).of("a")
    verdicts = [(e.flagged, e.verdict, e.text) for e in found.events if e.kind == "verdict"]
    why = (
        f"an edit since the charter was removed on 2026-03-22 (commit {removed}): the version"
        " removed gives the same results No impact"
    )
    assert verdicts[-1] == (
        True,
        "business-impact",
        f"Verdict: No results → Business impact ({why})"
        if rows_later
        else f"Verdict: Business impact, by {why}",
    )
    _verdict_edited_at(repo, again)
    site = tmp_path / "site"
    build(repo, site)
    (entry,) = json.loads((site / "api/charters.json").read_bytes())["charters"]
    assert (entry["verdict"], entry["verdict_by_edit"]) == (
        "business-impact",
        "2026-03-24" if rows_later else "2026-03-23",
    )


@pytest.mark.parametrize("how", ["guardrail-rows-first", "renamed", "rows-by-merge", "twice"])
def test_a_verdict_a_charter_made_again_gained_later_is_badged(tmp_path: Path, how: str) -> None:
    """Made again softer without its business rows, which come later: after a guardrail's
    rows (a first verdict, "No business results", took the comparison), after the folder
    was renamed (the version removed was looked for under the new id), through a merge
    (not judged), or after a second removal and re-add (compared with the softer
    version). Each lost the flag and the badge."""
    repo = _repo(tmp_path)
    body = charter(12.0)
    guard = ab("2026-01-31", "lat", 100.0, 101.0, n=50000)
    if how == "guardrail-rows-first":
        body["measurement"]["guardrails"] = [guardrail()]
    write_charter(repo, "a", body, PRODUCTION)
    commit(repo, "Add", "Ana Ruiz", "2026-03-21T00:00:00Z")
    shutil.rmtree(repo / "charters/a")
    removed = commit(repo, "Remove", "Ben Okafor", "2026-03-22T00:00:00Z")
    cid, soft = "a", stretched(body)
    if how == "rows-by-merge":
        git(repo, "checkout", "-q", "-b", "rows")
        _rows_of(repo, "results.csv", PRODUCTION)
        commit(repo, "Rows", "Dana Ito", "2026-03-23T00:00:00Z")
        git(repo, "checkout", "-q", "main")
    write_charter(repo, "a", soft, guard if how == "guardrail-rows-first" else ())
    commit(repo, "Again, no business rows", "Chen Li", "2026-03-23T12:00:00Z")
    if how == "renamed":
        git(repo, "mv", "charters/a", "charters/b")
        cid, soft = "b", {**soft, "aliases": ["a"]}
        write_charter(repo, "b", soft)
        commit(repo, "Rename", "Chen Li", "2026-03-24T00:00:00Z")
    if how == "twice":
        shutil.rmtree(repo / "charters/a")
        commit(repo, "Remove again", "Ben Okafor", "2026-03-24T00:00:00Z")
        write_charter(repo, "a", soft)
        commit(repo, "Again again", "Chen Li", "2026-03-24T12:00:00Z")
    if how == "rows-by-merge":
        git(repo, "merge", "-q", "--no-ff", "-m", "Rows", "rows", when="2026-03-25T00:00:00Z")
        last = git(repo, "rev-parse", "--short=10", "HEAD").strip()
    else:
        extra = guard if how == "guardrail-rows-first" else []
        write_charter(repo, cid, soft, [*PRODUCTION, *extra])
        last = commit(repo, "Rows back", "Chen Li", "2026-03-25T00:00:00Z")
    found = read_history(repo).of(cid)
    verdict = [e for e in found.events if e.kind == "verdict"][-1]
    assert (verdict.commit, verdict.flagged, verdict.verdict) == (last, True, "business-impact")
    assert verdict.text.endswith(
        f"an edit since the charter was removed on 2026-03-22 (commit {removed}): the version"
        " removed gives the same results No impact)"
    ), verdict.text
    assert found.edited_verdict is not None and found.edited_verdict.commit == last


def test_a_charter_made_again_with_a_metric_renamed_with_its_rows_tells_a_rename(
    tmp_path: Path,
) -> None:
    """Made again with its business metric's id changed, rows and all: read as the agreed
    metric removed, flagged, and a new metric with a first result of its own."""
    repo = _repo(tmp_path)
    body = charter(12.0, agreed={"by": ["VP Sales"], "on": "2026-01-05"})
    write_charter(repo, "a", body, ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    shutil.rmtree(repo / "charters/a")
    commit(repo, "Remove", "Ben Okafor", "2026-03-02T00:00:00Z")
    renamed = json.loads(json.dumps(body).replace('"conv"', '"cvr"'))
    write_charter(repo, "a", renamed, [{**r, "metric": "cvr"} for r in ROWS])
    commit(repo, "Again", "Chen Li", "2026-03-03T00:00:00Z")
    found = read_history(repo).of("a")
    assert [(e.kind, e.flagged, e.text) for e in found.events if e.date == "2026-03-03"][1:] == [
        ("renamed", False, "Business conv: metric id conv → cvr"),
    ]


def test_a_charter_removed_before_any_results_is_not_judged_against_the_version_removed(
    tmp_path: Path,
) -> None:
    """Removed before any results, made again as it was, its cadence changed (before
    results, so not flagged) and results later: badged as an edit since the removal."""
    repo = _repo(tmp_path)
    body = charter(12.0)
    write_charter(repo, "a", body)
    commit(repo, "Add", "Ana Ruiz", "2026-03-21T00:00:00Z")
    shutil.rmtree(repo / "charters/a")
    commit(repo, "Remove", "Ben Okafor", "2026-03-22T00:00:00Z")
    write_charter(repo, "a", body)
    commit(repo, "Again", "Chen Li", "2026-03-23T00:00:00Z")
    write_charter(repo, "a", stretched(body))
    commit(repo, "Cadence", "Chen Li", "2026-03-24T00:00:00Z")
    write_charter(repo, "a", stretched(body), PRODUCTION)
    commit(repo, "Results", "Chen Li", "2026-03-25T00:00:00Z")
    found = read_history(repo).of("a")
    assert not any(e.flagged for e in found.events)
    assert found.edited_verdict is None


def test_a_charter_removed_by_a_merge_and_made_again_softer_is_badged(tmp_path: Path) -> None:
    """Removed by a merged branch, made again softer without rows, its rows back by another
    merge: the line kept its verdict from before the removal ("No impact → No results" at
    the re-add), the merge's own judgement of the rows read that stale verdict, and the
    badge was lost."""
    repo = _repo(tmp_path)
    body = charter(12.0)
    write_charter(repo, "a", body, PRODUCTION)
    commit(repo, "Add", "Ana Ruiz", "2026-03-21T00:00:00Z")
    git(repo, "checkout", "-q", "-b", "drop")
    shutil.rmtree(repo / "charters/a")
    commit(repo, "Remove", "Ben Okafor", "2026-03-22T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "Drop", "drop", when="2026-03-22T12:00:00Z")
    git(repo, "checkout", "-q", "-b", "rows")
    _rows_of(repo, "results.csv", PRODUCTION)
    commit(repo, "Rows", "Dana Ito", "2026-03-23T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    write_charter(repo, "a", stretched(body))
    commit(repo, "Again, softer", "Chen Li", "2026-03-23T12:00:00Z")
    git(repo, "merge", "-q", "--no-ff", "-m", "Rows", "rows", when="2026-03-24T00:00:00Z")
    merged = git(repo, "rev-parse", "--short=10", "HEAD").strip()
    found = read_history(repo).of("a")
    verdicts = [(e.commit, e.flagged, e.text) for e in found.events if e.kind == "verdict"]
    assert len(verdicts) == 1, verdicts
    assert verdicts[0][:2] == (merged, True)
    assert verdicts[0][2].startswith(
        "Verdict: No results → Business impact (in a merge; an edit since the charter was"
        " removed on 2026-03-22"
    )
    assert found.edited_verdict is not None and found.edited_verdict.commit == merged


def test_a_charter_made_again_as_it_was_has_no_verdict_by_an_edit(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    body = stretched(charter(12.0))
    write_charter(repo, "a", body, PRODUCTION)
    commit(repo, "Add", "Ana Ruiz", "2026-03-21T00:00:00Z")
    shutil.rmtree(repo / "charters/a")
    commit(repo, "Remove", "Ben Okafor", "2026-03-22T00:00:00Z")
    write_charter(repo, "a", {**body, "summary": "Reworded."}, PRODUCTION)
    commit(repo, "Again", "Chen Li", "2026-03-23T00:00:00Z")
    found = read_history(repo).of("a")
    assert not any(e.flagged for e in found.events if e.kind == "verdict")
    assert found.edited_verdict is None


def _verdict_edited_at(repo: Path, sha: str, verdict: str = "business-impact") -> history.Event:
    """Charter a's verdict change an edit brought (its page's badge), asserted to be the
    one at commit `sha`, to `verdict`."""
    edited = read_history(repo).of("a").edited_verdict
    assert edited is not None
    assert (edited.commit, edited.verdict) == (sha, verdict)
    return edited


@pytest.mark.parametrize("together", [True, False])
def test_a_broken_commit_before_an_edit_does_not_hide_what_the_edit_gained(
    tmp_path: Path, together: bool
) -> None:
    """charter.yaml broken for a commit, then mended with the cadence that keeps a
    production row from judging: with the row in the same commit, or in one while the
    charter was still broken. The parent's charter did not load, so nothing was compared
    and the verdict the edit kept was not flagged; the last one that loaded is."""
    repo = _repo(tmp_path)
    body = charter(12.0)
    write_charter(repo, "a", body, ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-21T00:00:00Z")
    (repo / "charters/a/charter.yaml").write_text("title: [unclosed\n", encoding="utf-8")
    commit(repo, "Break", "Ben Okafor", "2026-03-22T00:00:00Z")
    rows = PRODUCTION  # in production, below the baseline
    if not together:
        broken = (repo / "charters/a/charter.yaml").read_text("utf-8")
        write_charter(repo, "a", body, rows)
        (repo / "charters/a/charter.yaml").write_text(broken, encoding="utf-8")
        commit(repo, "Rows while broken", "Ben Okafor", "2026-03-23T00:00:00Z")
    body["measurement"]["cadence"] = "every 999 months"
    write_charter(repo, "a", body, rows)
    mended = commit(repo, "Mend", "Chen Li", "2026-03-24T00:00:00Z")
    edited = _verdict_edited_at(repo, mended)
    assert "before it, the same results give No impact" in edited.text


@pytest.mark.parametrize("how", ["a new metric's rows", "the metric renamed"])
def test_an_edit_that_brings_rows_the_charter_before_did_not_declare_is_flagged(
    tmp_path: Path, how: str
) -> None:
    """The cadence that keeps a production row from judging, committed with the rows of
    an ML metric added in the same commit (or with the business metric renamed, its rows
    relabelled): the charter before the edit could not read those rows, so nothing was
    compared, and the verdict the edit gained had neither flag nor badge, where
    `charters diff` flagged it. The charter before is judged on the rows the commit's
    charter reads, those of metrics it does not declare left out, as diff does."""
    repo = _repo(tmp_path)
    body = charter(12.0)
    write_charter(repo, "a", body, PRODUCTION)  # No impact: production below the baseline
    commit(repo, "Add", "Ana Ruiz", "2026-03-21T00:00:00Z")
    edited = stretched(body)
    if how == "a new metric's rows":
        edited["ml_metrics"] = [ml_metric()]
        rows = [*PRODUCTION, row("2026-03-20", "prec", 0.8)]
    else:
        edited["business_metrics"] = [{**body["business_metrics"][0], "id": "conv2"}]
        rows = [{**r, "metric": "conv2"} for r in PRODUCTION]
    write_charter(repo, "a", edited, rows)
    gamed = commit(repo, "Cadence", "Ben Okafor", "2026-03-22T00:00:00Z")
    edited = _verdict_edited_at(repo, gamed)
    assert edited.flagged
    assert "(an edit of the charter: before it, the same results give" in edited.text


# A latency guardrail's rows: 3 ms worse than control, then 20 ms (past a tolerance of 5).
LATENCY = [*ab("2026-01-31", "lat", 100.0, 103.0), *ab("2026-02-28", "lat", 100.0, 120.0)]


def _goalpost_entries(repo: Path) -> list[tuple[str, str, bool]]:
    """Charter a's goalpost entries: (commit, text, flagged)."""
    events = read_history(repo).of("a").events
    return [(e.commit, e.text, e.flagged) for e in events if e.kind == "goalpost"]


def test_a_guardrail_tolerance_loosened_after_a_breach_is_a_flagged_entry(tmp_path: Path) -> None:
    """A guardrail breached, then its tolerance raised past the breach: its badge and alert
    went, and the history had no entry for it (`charters diff` flags it). Before results,
    a change of it is an entry, unflagged."""
    repo = _repo(tmp_path)
    body = charter(12.0)
    body["measurement"]["guardrails"] = [guardrail()]  # latency, tolerance 5 ms
    write_charter(repo, "a", body, ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    body["measurement"]["guardrails"] = [guardrail(tolerance={"value": 8})]
    write_charter(repo, "a", body, ROWS)
    early = commit(repo, "Before results", "Ana Ruiz", "2026-03-02T00:00:00Z")
    lat = LATENCY
    write_charter(repo, "a", body, [*ROWS, *lat])
    commit(repo, "Latency", "Ben Okafor", "2026-03-03T00:00:00Z")
    body["measurement"]["guardrails"] = [guardrail(tolerance={"value": 50})]
    write_charter(repo, "a", body, [*ROWS, *lat])
    loosened = commit(repo, "Loosen", "Chen Li", "2026-03-04T00:00:00Z")
    found = _goalpost_entries(repo)
    assert found == [
        (early, "Guardrail lat: tolerance.value 5 → 8 (looser)", False),
        (
            loosened,
            "Guardrail lat: tolerance.value 8 → 50 (looser) — changed after results began",
            True,
        ),
    ]


def _renamed_conv(target: float = 12.0) -> dict[str, Any]:
    """Charter a with business metric conv renamed conversion."""
    body = json.loads(json.dumps(charter(target)))
    body["business_metrics"][0]["id"] = "conversion"
    return body


def test_a_target_moved_on_a_branch_made_before_a_rename_is_still_a_moved_goalpost(
    tmp_path: Path,
) -> None:
    """A pull request branched before conv was renamed on main raises conv's target; merged
    after the rename. The replay takes main's line first: the rename had moved what it knew
    of conv (its first result) to the new id, and the branch's move read as a change made
    before results, unflagged (review)."""
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    git(repo, "checkout", "-q", "-b", "raise")
    write_charter(repo, "a", charter(12.5), ROWS)
    raised = commit(repo, "Raise", "Chen Li", "2026-03-03T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    write_charter(repo, "a", _renamed_conv(), [{**r, "metric": "conversion"} for r in ROWS])
    commit(repo, "Rename", "Ben Okafor", "2026-03-02T00:00:00Z")
    git(repo, "merge", "-q", "--no-edit", "raise", when="2026-03-04T00:00:00Z")
    found = read_history(repo).of("a")
    moved = [e for e in found.events if e.commit == raised]
    assert [(e.kind, e.moved, e.flagged) for e in moved] == [("goalpost", True, True)]
    assert "moved after results began (first result 2026-03-01)" in moved[0].text
    # The merge leaves conversion with the raised target: its original is conv's (second
    # review: the original stayed under conv, and the page had no badge).
    assert found.original_targets["conversion"] == 12.0
    page = _built(repo, tmp_path / "site", "2026-03-05")
    assert page.find("a", class_="goalpost-moved") is not None


def test_the_same_rename_on_two_branches_keeps_a_target_moved_after_it(tmp_path: Path) -> None:
    """main renames conv and then raises the target after results; a branch made before
    moves the baseline and back, then makes the same rename; merged. The branch's rename
    copied conv's originals over those conversion had, and the raised target lost its
    *Moved goalpost* badge and original (second review)."""
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    rows = [{**r, "metric": "conversion"} for r in ROWS]
    git(repo, "checkout", "-q", "-b", "b")
    moved = charter(12.0)
    moved["business_metrics"][0]["baseline"] = {"value": 10.5}
    write_charter(repo, "a", moved, ROWS)
    commit(repo, "Baseline", "Chen Li", "2026-03-04T00:00:00Z")
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Baseline back", "Chen Li", "2026-03-05T00:00:00Z")
    write_charter(repo, "a", _renamed_conv(), rows)
    commit(repo, "Rename", "Chen Li", "2026-03-06T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    write_charter(repo, "a", _renamed_conv(), rows)
    commit(repo, "Rename", "Ben Okafor", "2026-03-02T00:00:00Z")
    write_charter(repo, "a", _renamed_conv(14.0), rows)
    commit(repo, "Raise", "Ben Okafor", "2026-03-03T00:00:00Z")
    git(repo, "merge", "-q", "--no-edit", "b", when="2026-03-07T00:00:00Z")
    assert read_history(repo).of("a").original_targets["conversion"] == 12.0
    page = _built(repo, tmp_path / "site", "2026-03-08")
    assert page.find("a", class_="goalpost-moved") is not None


def test_a_rename_on_a_branch_made_before_another_is_known_by_its_parents_rows(
    tmp_path: Path,
) -> None:
    """main renames conv conversion; a pull request made before renames it conv_rate and
    lowers its target, and the merge takes the pull request's. The replay stood on main
    (conv's rows under conversion), so conv had no rows to know the rename by: the lowered
    target was a metric removed and one added, with no badge (second review)."""
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    git(repo, "checkout", "-q", "-b", "pr")
    lowered = json.loads(json.dumps(charter(11.0)))
    lowered["business_metrics"][0]["id"] = "conv_rate"
    rate = [{**r, "metric": "conv_rate"} for r in ROWS]
    write_charter(repo, "a", lowered, rate)
    pr = commit(repo, "Rename and lower", "Chen Li", "2026-03-03T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    write_charter(repo, "a", _renamed_conv(), [{**r, "metric": "conversion"} for r in ROWS])
    commit(repo, "Rename", "Ben Okafor", "2026-03-02T00:00:00Z")
    subprocess.run(["git", "merge", "-q", "--no-commit", "pr"], cwd=repo, capture_output=True)
    write_charter(repo, "a", lowered, rate)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Merge pr", when="2026-03-04T00:00:00Z")
    found = read_history(repo).of("a")
    told = [(e.kind, e.moved, e.flagged) for e in found.events if e.commit == pr]
    assert told == [("renamed", False, False), ("goalpost", True, True)]
    assert found.original_targets["conv_rate"] == 12.0


def test_an_honest_rename_merged_from_a_branch_is_no_verdict_kept_by_an_edit(
    tmp_path: Path,
) -> None:
    """conv renamed with its rows on a branch, merged with a merge commit: the merge judged
    the first parent's charter (conv) on the merge's rows (conversion), "No results", and
    told a verdict kept by an edit, flagged (review)."""
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    git(repo, "checkout", "-q", "-b", "rename")
    write_charter(repo, "a", _renamed_conv(), [{**r, "metric": "conversion"} for r in ROWS])
    commit(repo, "Rename", "Ben Okafor", "2026-03-02T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "--no-edit", "rename", when="2026-03-04T00:00:00Z")
    found = read_history(repo).of("a")
    assert [(e.kind, e.flagged) for e in found.events] == [
        ("created", False),
        ("first-result", False),
        ("renamed", False),
    ]
    assert found.edited_verdict is None


def test_a_metric_renamed_into_a_ref_of_the_catalogue_is_not_a_rename(tmp_path: Path) -> None:
    """conv, with its own definition, renamed `conversion` as a `ref` of the catalogue entry
    of that id, whose definition differs, its rows with it: read as a rename, the `ref`'s
    definition was no goalpost and the commit one unflagged entry (review). The metric now
    takes its goalposts from elsewhere: one removed, with its agreement, and one added."""
    repo = _repo(tmp_path)
    entry = {
        "id": "conversion",
        "name": "Catalogued conversion",
        "definition": "Orders per visit, bots included.",
        "unit": "%",
        "direction": "increase",
    }
    (repo / "metrics.yaml").write_text(json.dumps([entry]), encoding="utf-8")
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    body = charter(12.0)
    kept = {k: body["business_metrics"][0][k] for k in ("baseline", "target", "agreed")}
    body["business_metrics"] = [{"id": "conversion", "ref": "conversion", **kept}]
    write_charter(repo, "a", body, [{**r, "metric": "conversion"} for r in ROWS])
    sha = commit(repo, "Use the catalogue", "Ben Okafor", "2026-03-02T00:00:00Z")
    told = [(e.kind, e.flagged) for e in read_history(repo).of("a").events if e.commit == sha]
    assert ("renamed", False) not in told
    assert ("agreement", True) in told and ("rewritten", True) in told


def test_a_rename_is_found_once_and_kept_with_the_verdicts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Knowing a rename loads the charter at the commit and at its parent, rows and all; a
    history replays every commit again for each new head, and 30 commits that each swapped
    an ML metric took 13 s a build instead of 0.1 s (review). The answer is kept with the
    verdicts, and a metric swapped for one written otherwise, without rows, loads nothing."""
    loads: list[str] = []
    original = verdict_history.VerdictReplay._charter_at

    def counted(self: Any, commit: str, name: str, day: str) -> Any:
        loads.append(commit)
        return original(self, commit, name, day)

    monkeypatch.setattr(verdict_history.VerdictReplay, "_charter_at", counted)
    repo, cache = _repo(tmp_path), tmp_path / "cache"
    body = charter(12.0)
    body["ml_metrics"] = [ml_metric("m1", drives=["conv"])]
    write_charter(repo, "a", body, ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    body["ml_metrics"] = [ml_metric("m2", drives=["conv"], name="Another")]
    write_charter(repo, "a", body, ROWS)
    commit(repo, "Swap", "Ben Okafor", "2026-03-02T00:00:00Z")
    assert read_history(repo, cache) and loads == []  # no rows, written otherwise
    write_charter(repo, "a", _renamed_conv(), [{**r, "metric": "conversion"} for r in ROWS])
    commit(repo, "Rename", "Chen Li", "2026-03-03T00:00:00Z")
    first = [e.kind for e in read_history(repo, cache).of("a").events]
    assert first.count("renamed") == 1 and len(loads) == 2
    git(repo, "commit", "-q", "--allow-empty", "-m", "Later", when="2026-03-04T00:00:00Z")
    assert [e.kind for e in read_history(repo, cache).of("a").events] == first
    assert len(loads) == 2


def test_a_kept_rename_of_another_shape_is_not_read(tmp_path: Path) -> None:
    """A renames entry whose ids are not text was read as text (`['conversion']`) and kept
    (second review): only old id → new id, both text, is read back."""
    path = tmp_path / "verdicts.json"
    renames = {"k1": {"conv": "conversion"}, "k2": {"conv": ["conversion"]}, "k3": [1]}
    data = {"format": verdict_history.verdict_format(), "verdicts": {}, "renames": renames}
    path.write_text(json.dumps(data), encoding="utf-8")
    assert verdict_history._read(path) == ({}, {"k1": {"conv": "conversion"}})


def test_a_guardrail_renamed_in_the_commit_that_loosens_it_is_a_flagged_entry(
    tmp_path: Path,
) -> None:
    """A breached guardrail renamed with its rows (lat → latency) in the commit that raises
    its tolerance past the breach: the old id read as removed and the new one as added, so
    the loosening had no entry and the rows' new metric read as rewritten. Read through
    the rename, as `charters diff` reads it: the rename, then the tolerance, flagged."""
    repo = _repo(tmp_path)
    body = charter(12.0)
    body["measurement"]["guardrails"] = [guardrail()]  # latency, tolerance 5 ms
    write_charter(repo, "a", body, [*ROWS, *LATENCY])
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    body["measurement"]["guardrails"] = [guardrail(id="latency", tolerance={"value": 50})]
    rows = [*ROWS, *({**r, "metric": "latency"} for r in LATENCY)]
    write_charter(repo, "a", body, rows)
    loosened = commit(repo, "Rename and loosen", "Chen Li", "2026-03-04T00:00:00Z")
    events = read_history(repo).of("a").events
    told = [(e.kind, e.text, e.flagged) for e in events if e.commit == loosened]
    assert told == [
        ("renamed", "Guardrail lat: metric id lat → latency", False),
        (
            "goalpost",
            "Guardrail lat: tolerance.value 5 → 50 (looser) — changed after results began",
            True,
        ),
    ]


def test_a_breached_guardrail_moved_to_the_ml_metrics_is_a_flagged_entry(tmp_path: Path) -> None:
    """Moved out of the guardrails (as an ML metric, its rows kept), a breached guardrail
    lost its badge and alert with no entry (second review); and a version whose tolerance
    was NaN made an edit of another field read as "nan → nan (stricter)"."""
    repo = _repo(tmp_path)
    body = charter(12.0)
    body["measurement"]["guardrails"] = [guardrail()]
    lat = LATENCY
    write_charter(repo, "a", body, [*ROWS, *lat])
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    text = (repo / "charters/a/charter.yaml").read_text(encoding="utf-8")
    assert text.count("value: 5.0") == 1
    (repo / "charters/a/charter.yaml").write_text(text.replace("value: 5.0", "value: .nan"))
    commit(repo, "NaN", "Ben Okafor", "2026-03-02T00:00:00Z")
    nan = (repo / "charters/a/charter.yaml").read_text(encoding="utf-8")
    (repo / "charters/a/charter.yaml").write_text(nan.replace("title:", "team: Search\ntitle:"))
    commit(repo, "Team", "Ben Okafor", "2026-03-03T00:00:00Z")
    write_charter(repo, "a", body, [*ROWS, *lat])  # the tolerance of 5 again
    commit(repo, "Mend", "Ben Okafor", "2026-03-03T12:00:00Z")
    body["measurement"]["guardrails"] = []
    body["ml_metrics"] = [ml_metric("lat", unit="ms", direction="decrease", baseline={"value": 100},
                                    target={"value": 90})]  # fmt: skip
    write_charter(repo, "a", body, [*ROWS, *lat])
    moved = commit(repo, "Not a guardrail", "Chen Li", "2026-03-04T00:00:00Z")
    found = _goalpost_entries(repo)
    assert [text for _, text, _ in found if "nan → nan" in text] == []
    assert found[-1] == (
        moved,
        "Guardrail lat: moved to the ML metrics, no longer a guardrail, after results began"
        " (its tolerance was 5)",
        True,
    )


def test_a_goalpost_too_large_for_a_float_in_a_past_version_is_no_crash(tmp_path: Path) -> None:
    """A target of 400 digits committed once (refused by the build, but in the history):
    reading the history stopped with OverflowError."""
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    text = (repo / "charters/a/charter.yaml").read_text(encoding="utf-8")
    huge = text.replace("value: 12.0", "value: 1" + "0" * 400, 1)
    assert huge != text
    (repo / "charters/a/charter.yaml").write_text(huge, encoding="utf-8")
    commit(repo, "Huge", "Ben Okafor", "2026-03-02T00:00:00Z")
    write_charter(repo, "a", charter(12.5), ROWS)
    commit(repo, "Mend", "Chen Li", "2026-03-03T00:00:00Z")
    texts = [e.text for e in read_history(repo).of("a").events if e.kind == "goalpost"]
    assert len(texts) == 2 and texts[1].startswith("Business conv: target.value 1000"), texts


def test_a_file_the_results_globs_do_not_read_is_no_new_result(tmp_path: Path) -> None:
    """Notes in a CSV beside the charter are not results: the cadence edit committed
    with them still gains the verdict by an edit."""
    repo = _repo(tmp_path)
    rows = PRODUCTION
    body = charter(12.0)
    write_charter(repo, "a", body, rows)
    commit(repo, "Add", "Ana Ruiz", "2026-03-21T00:00:00Z")
    body["measurement"]["cadence"] = "every 999 months"
    write_charter(repo, "a", body, rows)
    (repo / "charters" / "a" / "notes.csv").write_text("day,note\n2026-03-21,hi\n")
    edited = commit(repo, "Cadence, and notes", "Ben Okafor", "2026-03-22T00:00:00Z")
    (verdict,) = [e for e in read_history(repo).of("a").events if e.kind == "verdict"]
    assert (verdict.commit, verdict.flagged) == (edited, True)


def test_a_branch_that_changed_no_number_gains_nothing_at_its_merge(tmp_path: Path) -> None:
    """Main overrules the lift with a production row; a branch started before only
    rewords the summary. Replayed after main, its verdict differs from main's, but
    not from its own parent's: it is no edit's gain."""
    repo = _repo(tmp_path)
    body = charter(12.0)
    write_charter(repo, "a", body, ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    git(repo, "checkout", "-q", "-b", "words")
    write_charter(repo, "a", {**body, "summary": "Other words."}, ROWS)
    commit(repo, "Words", "Ben Okafor", "2026-03-22T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    write_charter(repo, "a", body, PRODUCTION)
    commit(repo, "Production", "Chen Li", "2026-03-21T00:00:00Z")
    git(repo, "merge", "-q", "--no-edit", "words", author="Dana Ito", when="2026-03-23T00:00:00Z")
    verdicts = [e for e in read_history(repo).of("a").events if e.kind == "verdict"]
    assert verdicts and not any(e.flagged for e in verdicts)


def test_a_branch_that_gains_by_an_edit_is_flagged_against_its_own_parent(
    tmp_path: Path,
) -> None:
    """Main meets the target with a new row; a branch from before it only stretches the
    cadence: against its parent (No impact) it gained, whatever main's verdict was."""
    repo = _repo(tmp_path)
    body = charter(12.0)
    rows = PRODUCTION
    write_charter(repo, "a", body, rows)
    commit(repo, "Add", "Ana Ruiz", "2026-03-21T00:00:00Z")
    git(repo, "checkout", "-q", "-b", "cadence")
    write_charter(
        repo,
        "a",
        stretched(body),
        rows,
    )
    edited = commit(repo, "Cadence", "Ben Okafor", "2026-03-23T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    write_charter(repo, "a", body, [*rows, row("2026-03-21", "conv", 12.5)])
    commit(repo, "Met", "Chen Li", "2026-03-22T00:00:00Z")
    git(repo, "merge", "-q", "--no-edit", "cadence", author="Dana Ito", when="2026-03-24T00:00:00Z")
    found = [e for e in read_history(repo).of("a").events if e.kind == "verdict"]
    assert [e.flagged for e in found if e.commit == edited] == [True]
    assert not any(e.flagged for e in found if e.commit != edited)


def test_a_verdict_only_the_merge_makes_is_in_the_history(tmp_path: Path) -> None:
    """A branch stretches the cadence while main adds a production row below the baseline:
    neither commit changes the verdict alone against its parent's rows, but the merge
    (the stretched cadence on main's rows) turns main's "No impact" into "Business
    impact". The merge has the entry, flagged, and the page the badge; the branch's
    own rows merged later bring a change told once, at the branch's commit."""
    repo = _repo(tmp_path)
    (repo / "site.yaml").write_text("title: Merges\n", encoding="utf-8")
    body = charter(12.0)
    write_charter(repo, "a", body, ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    git(repo, "checkout", "-q", "-b", "cadence")
    longer = stretched(body)
    write_charter(repo, "a", longer, ROWS)
    commit(repo, "Cadence", "Ben Okafor", "2026-03-02T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    write_charter(repo, "a", body, PRODUCTION)
    production = commit(repo, "Production", "Chen Li", "2026-03-21T00:00:00Z")
    git(repo, "merge", "-q", "--no-edit", "cadence", author="Dana Ito", when="2026-03-22T00:00:00Z")
    merge = git(repo, "rev-parse", "HEAD").strip()[:10]
    found = read_history(repo).of("a")
    verdicts = [
        (e.commit, e.author, e.text, e.flagged) for e in found.events if e.kind == "verdict"
    ]
    assert verdicts == [
        (production, "Chen Li", "Verdict: Business impact → No impact", False),
        (
            merge,
            "Dana Ito",
            "Verdict: No impact → Business impact (an edit of the charter, in a merge:"
            " before it, the same results give No impact)",
            True,
        ),
    ]
    assert found.edited_verdict is not None and found.edited_verdict.commit == merge
    site = tmp_path / "site"
    verdict = _built(repo, site, "2026-03-25").find("span", class_="verdict-title")
    assert verdict.parent.text().startswith("Verdict: Business impact Verdict by an edit")

    # Rows on a branch that change the verdict, merged beside an edit of the summary on
    # main: told at the branch's commit, not again at the merge.
    git(repo, "checkout", "-q", "-b", "march")
    lower = [*ROWS, row("2026-03-20", "conv", 9.0), *ab("2026-03-31", "conv", 10.0, 9.0, n=50000)]
    write_charter(repo, "a", longer, lower)
    march = commit(repo, "March", "Ben Okafor", "2026-04-01T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    write_charter(repo, "a", {**longer, "summary": "Reworded."}, PRODUCTION)
    commit(repo, "Words", "Chen Li", "2026-04-02T00:00:00Z")
    git(repo, "merge", "-q", "--no-edit", "march", author="Dana Ito", when="2026-04-03T00:00:00Z")
    after = [
        (e.commit, e.flagged) for e in read_history(repo).of("a").events if e.kind == "verdict"
    ]
    assert after[2:] == [(march, False)]


def test_an_edit_flagged_on_its_branch_is_not_told_again_at_the_merge(tmp_path: Path) -> None:
    """A pull request stretches the cadence (flagged at its commit: "No impact" →
    "Business impact") while main rewords the summary: the merge gains the same verdict
    on main's line by the same edit, and is not a second entry."""
    repo = _repo(tmp_path)
    body = charter(12.0)
    rows = PRODUCTION
    write_charter(repo, "a", body, rows)
    commit(repo, "Add", "Ana Ruiz", "2026-03-21T00:00:00Z")
    git(repo, "checkout", "-q", "-b", "cadence")
    longer = stretched(body)
    write_charter(repo, "a", longer, rows)
    edited = commit(repo, "Cadence", "Ben Okafor", "2026-03-22T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    write_charter(repo, "a", {**body, "summary": "Reworded."}, rows)
    commit(repo, "Words", "Chen Li", "2026-03-23T00:00:00Z")
    git(repo, "merge", "-q", "--no-edit", "cadence", author="Dana Ito", when="2026-03-24T00:00:00Z")
    found = read_history(repo).of("a")
    flagged = [(e.kind, e.commit) for e in found.events if e.flagged]
    assert flagged == [("plan", edited), ("verdict", edited)]
    assert found.edited_verdict is not None and found.edited_verdict.commit == edited


def test_a_verdict_two_merged_sides_make_together_is_in_the_history(tmp_path: Path) -> None:
    """A branch brings the treatment's rows, main the control's: the branch alone is "No
    impact", main alone "No results" (control rows alone compare nothing), the merge
    that holds both is "Business impact", told at the merge, not flagged (rows brought
    it, not an edit)."""
    repo = _repo(tmp_path)
    body = charter(12.0)
    write_charter(repo, "a", body)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    git(repo, "checkout", "-q", "-b", "treatment")
    treated = [row("2026-02-28", "conv", 10.9, "treatment", n=50000)]
    write_charter(repo, "a", body, treated, results_file="treatment.csv")
    commit(repo, "Treatment", "Ben Okafor", "2026-03-02T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    control = [row("2026-02-28", "conv", 10.0, "control", n=50000)]
    write_charter(repo, "a", body, control, results_file="control.csv")
    commit(repo, "Control", "Chen Li", "2026-03-03T00:00:00Z")
    git(
        repo,
        "merge",
        "-q",
        "--no-edit",
        "treatment",
        author="Dana Ito",
        when="2026-03-04T00:00:00Z",
    )
    merge = git(repo, "rev-parse", "HEAD").strip()[:10]
    found = [e for e in read_history(repo).of("a").events if e.kind == "verdict"]
    assert [(e.commit, e.text, e.flagged) for e in found if e.commit == merge] == [
        (merge, "Verdict: No results → Business impact (in a merge)", False)
    ]


def _merge_flow(repo: Path, flow: str) -> None:
    """A branch and main, merged in one of the ways teams merge (`flow`); the stretched
    cadence and the production row below the baseline come from different sides."""
    body = charter(12.0)
    longer = stretched(body)
    production = PRODUCTION
    write_charter(repo, "a", body, ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    git(repo, "checkout", "-q", "-b", "side")
    if flow == "edit on main":
        write_charter(repo, "a", body, production)
        commit(repo, "Production", "Chen Li", "2026-03-21T00:00:00Z")
        git(repo, "checkout", "-q", "main")
        write_charter(repo, "a", longer, ROWS)
        commit(repo, "Cadence", "Ben Okafor", "2026-03-02T00:00:00Z")
        git(repo, "merge", "-q", "--no-edit", "side", when="2026-03-22T00:00:00Z")
        return
    if flow == "rows left out":
        write_charter(repo, "a", body, production)
        commit(repo, "Production", "Chen Li", "2026-03-21T00:00:00Z")
        git(repo, "checkout", "-q", "main")
        write_charter(repo, "a", {**body, "summary": "Reworded."}, ROWS)
        commit(repo, "Words", "Ben Okafor", "2026-03-02T00:00:00Z")
        git(repo, "merge", "-q", "-s", "ours", "side", when="2026-03-22T00:00:00Z")
        return
    write_charter(repo, "a", longer, ROWS)
    commit(repo, "Cadence", "Ben Okafor", "2026-03-02T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    write_charter(repo, "a", body, production)
    commit(repo, "Production", "Chen Li", "2026-03-21T00:00:00Z")
    git(repo, "checkout", "-q", "side")
    git(repo, "merge", "-q", "--no-edit", "main", when="2026-03-22T00:00:00Z")  # "Update branch"
    git(repo, "checkout", "-q", "main")
    if flow == "update, then a merge commit":
        git(repo, "merge", "-q", "--no-ff", "--no-edit", "side", when="2026-03-23T00:00:00Z")
    else:
        git(repo, "merge", "-q", "--ff-only", "side")


@pytest.mark.parametrize(
    ("flow", "flagged"),
    [
        ("update, then a merge commit", True),
        ("update, then a fast-forward", True),
        ("edit on main", True),
        ("rows left out", False),
    ],
)
def test_the_last_verdict_entry_after_a_merge_is_the_verdict_the_page_shows(
    tmp_path: Path, flow: str, flagged: bool
) -> None:
    """However the two sides came together, the history's newest change of verdict is the
    charter's verdict at the head, flagged when an edit from one side gained it on the
    other's rows: a pull request brought up to date with main, then merged (or fast-
    forwarded); the edit on main and the rows on the branch; a merge that left the
    branch's production row out (`-s ours`), whose "→ No impact" the list no longer ends
    with."""
    repo = _repo(tmp_path)
    (repo / "site.yaml").write_text("title: Merges\n", encoding="utf-8")
    _merge_flow(repo, flow)
    found = read_history(repo).of("a")
    change = found.verdict_change
    assert change is not None and change.verdict == "business-impact"
    assert change.flagged is flagged
    told = [e for e in found.events if e.kind == "verdict" and e.flagged]
    assert len(told) == (1 if flagged else 0)
    site = tmp_path / "site"
    verdict = _built(repo, site, "2026-03-25").find("span", class_="verdict-title")
    words = verdict.parent.text()
    assert words.startswith("Verdict: Business impact")
    assert ("Verdict by an edit" in words) is flagged


def test_a_charter_renamed_on_a_branch_while_main_added_rows_is_judged_at_the_merge(
    tmp_path: Path,
) -> None:
    """A branch renames `a` to `b` (aliases: [a]) and stretches the cadence; main adds a
    production row below the baseline to `a`. The rename is not a rewrite of rows it
    never had, and the merge's verdict is judged by `a`'s charter on main."""
    repo = _repo(tmp_path)
    body = charter(12.0)
    write_charter(repo, "a", body, ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    git(repo, "checkout", "-q", "-b", "rename")
    git(repo, "mv", "charters/a", "charters/b")
    longer = stretched(body)
    write_charter(repo, "b", {**longer, "aliases": ["a"]}, ROWS)
    commit(repo, "Rename", "Ben Okafor", "2026-03-02T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    write_charter(repo, "a", body, PRODUCTION)
    commit(repo, "Production", "Chen Li", "2026-03-21T00:00:00Z")
    git(repo, "merge", "-q", "--no-edit", "rename", when="2026-03-22T00:00:00Z")
    found = read_history(repo).of("b")
    assert not [e.text for e in found.events if e.kind == "rewritten"]
    change = found.verdict_change
    assert change is not None and change.flagged and change.verdict == "business-impact"


def test_a_branch_whose_charter_cannot_judge_the_merged_rows_gains_nothing_at_the_merge(
    tmp_path: Path,
) -> None:
    """Main adds an ML metric with rows, then a row that meets the target; a branch only
    rewords the summary. Its charter does not declare the new metric, so it cannot
    judge the merge's rows: that is no edit's gain, and the merge flags nothing."""
    repo = _repo(tmp_path)
    body = charter(12.0)
    production = PRODUCTION
    write_charter(repo, "a", body, production)
    commit(repo, "Add", "Ana Ruiz", "2026-03-21T00:00:00Z")
    git(repo, "checkout", "-q", "-b", "words")
    write_charter(repo, "a", {**body, "summary": "Reworded."}, production)
    commit(repo, "Words", "Ben Okafor", "2026-03-22T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    measured = {**body, "ml_metrics": [ml_metric("prec")]}
    rows = [*production, row("2026-03-21", "prec", 0.8)]
    write_charter(repo, "a", measured, rows)
    commit(repo, "ML metric", "Chen Li", "2026-03-22T01:00:00Z")
    write_charter(repo, "a", measured, [*rows, row("2026-03-22", "conv", 12.5)])
    commit(repo, "Met", "Chen Li", "2026-03-23T00:00:00Z")
    git(repo, "merge", "-q", "--no-edit", "words", when="2026-03-24T00:00:00Z")
    found = read_history(repo).of("a")
    assert not [e.text for e in found.events if e.flagged]
    assert found.verdict_change is not None and found.verdict_change.verdict == "target-met"


def test_an_edit_told_on_its_branch_before_main_changed_again_is_told_at_the_merge(
    tmp_path: Path,
) -> None:
    """A pull request stretches the cadence with a production row (flagged there: kept by
    an edit); main then adds its own production row ("→ No impact", replayed after the
    pull request's commit); main is merged into the pull request and fast-forwarded to
    it. The list must not end with main's "No impact": the merge tells the edit's gain."""
    repo = _repo(tmp_path)
    body = charter(12.0)
    longer = stretched(body)
    write_charter(repo, "a", body, ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    git(repo, "checkout", "-q", "-b", "pr")
    write_charter(repo, "a", longer, PRODUCTION)
    commit(repo, "Cadence and a row", "Ben Okafor", "2026-03-21T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    write_charter(repo, "a", body, [*ROWS, row("2026-03-19", "conv", 9.0)])
    commit(repo, "Row on main", "Chen Li", "2026-03-21T02:00:00Z")
    git(repo, "checkout", "-q", "pr")
    subprocess.run(["git", "merge", "-q", "--no-edit", "main"], cwd=repo, capture_output=True)
    both = [*ROWS, row("2026-03-19", "conv", 9.0), row("2026-03-20", "conv", 9.0)]
    write_charter(repo, "a", longer, both)  # the conflict resolved: both rows
    merge = commit(repo, "Merge main into pr", "Dana Ito", "2026-03-22T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--ff-only", "pr")
    change = read_history(repo).of("a").verdict_change
    assert change is not None
    assert (change.commit, change.verdict, change.flagged) == (merge, "business-impact", True)


def test_a_version_whose_business_metrics_are_not_a_list_drops_no_agreement(
    tmp_path: Path,
) -> None:
    repo = _repo(tmp_path)
    body = charter(12.0, agreed={"by": ["VP Sales"], "on": "2026-01-05"})
    write_charter(repo, "a", body, ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    write_charter(repo, "a", {**body, "business_metrics": "to do"})
    commit(repo, "Broken", "Ben Okafor", "2026-03-02T00:00:00Z")
    write_charter(repo, "a", body)
    commit(repo, "Fixed", "Chen Li", "2026-03-03T00:00:00Z")
    assert [e for e in read_history(repo).of("a").events if e.flagged] == []
    # Nor does it hide what changed across it: the next version is compared with the
    # last well-formed one.
    write_charter(repo, "a", {**body, "business_metrics": "to do"})
    commit(repo, "Broken again", "Dana Ito", "2026-03-04T00:00:00Z")
    write_charter(repo, "a", charter(20.0, agreed={"by": ["VP Sales"], "on": "2026-01-05"}))
    moved = commit(repo, "A new target", "Eve Park", "2026-03-05T00:00:00Z")
    found = read_history(repo).of("a")
    flagged = [(e.commit, e.kind) for e in found.events if e.flagged]
    assert flagged == [(moved, "goalpost")] and found.original_targets == {"conv": 12.0}


def test_results_globs_narrowed_to_leave_a_file_out_are_a_rewrite(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), ROWS)
    write_charter(repo, "a", charter(12.0), MORE, results_file="march.csv")
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    write_charter(repo, "a", {**charter(12.0), "results": ["results/results.csv"]})
    sha = commit(repo, "Read only the first file", "Ben Okafor", "2026-03-02T00:00:00Z")
    write_charter(repo, "a", {**charter(12.0), "results": ["results/*.csv"]})
    commit(repo, "Read both again", "Chen Li", "2026-03-03T00:00:00Z")
    (rewritten,) = [e for e in read_history(repo).of("a").events if e.kind == "rewritten"]
    assert (rewritten.commit, rewritten.flagged) == (sha, True)
    assert rewritten.text == (
        "results/march.csv no longer read (results: results/* → results/results.csv):"
        " 2 past rows left out (conv)"
    )


def test_a_merge_repeats_no_change_its_branch_made(tmp_path: Path) -> None:
    """The branch narrows the results globs and drops an agreed metric; main edits the
    summary; the clean merge is the first parent's version plus the branch's changes,
    which were flagged at the branch's commit, once."""
    repo = _repo(tmp_path)
    body = charter(12.0)
    revenue = business_metric("rev", name="Revenue", agreed={"by": ["CFO"], "on": "2026-01-05"})
    body["business_metrics"].append(revenue)
    write_charter(repo, "a", body, ROWS)
    write_charter(repo, "a", body, MORE, results_file="march.csv")
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    git(repo, "checkout", "-q", "-b", "side")
    narrowed = {**body, "results": ["results/results.csv"]}
    narrowed["business_metrics"] = body["business_metrics"][:1]
    write_charter(repo, "a", narrowed)
    commit(repo, "Narrow", "Ben Okafor", "2026-03-02T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    write_charter(repo, "a", {**body, "summary": "Edited on main."})
    commit(repo, "Summary", "Chen Li", "2026-03-03T00:00:00Z")
    git(repo, "merge", "-q", "--no-edit", "side", author="Dana Ito", when="2026-03-04T00:00:00Z")
    flagged = [(e.author, e.kind) for e in read_history(repo).of("a").events if e.flagged]
    assert flagged == [("Ben Okafor", "agreement"), ("Ben Okafor", "rewritten")]


def test_a_result_file_added_where_the_globs_do_not_read_it_is_no_rewrite(
    tmp_path: Path,
) -> None:
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    write_charter(repo, "a", {**charter(12.0), "results": ["results/results.csv"]})
    write_charter(repo, "a", {**charter(12.0), "results": ["results/results.csv"]}, MORE,
                  results_file="draft.csv")  # fmt: skip
    commit(repo, "A draft the charter does not read", "Ben Okafor", "2026-03-02T00:00:00Z")
    assert [e for e in read_history(repo).of("a").events if e.flagged] == []


def test_a_source_folder_with_spaces_in_its_name(tmp_path: Path) -> None:
    """`git cat-file --batch` answers `<name> missing` for a file not at a commit, and a
    `<commit>:<path>` name with a space in it read as a header of three words: the
    history of a source folder named "my site" without metrics.yaml stopped the build."""
    repo = _repo(tmp_path)
    source = repo / "my site"
    write_charter(source, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    write_charter(source, "a", charter(12.0, status="paused"), ROWS)
    commit(repo, "Pause", "Ben Okafor", "2026-03-02T00:00:00Z")
    events = read_history(source).of("a").events
    assert [(e.author, e.kind) for e in events if e.kind != "verdict"] == [
        ("Ana Ruiz", "created"),
        ("Ana Ruiz", "first-result"),
        ("Ben Okafor", "status"),
    ]


def _rename(repo: Path, old: str, new: str, target: float, aliases: list[str]) -> None:
    """Charter `old` moved to folder `new`, its target now `target`, listing `aliases`."""
    shutil.rmtree(repo / "charters" / old)
    write_charter(repo, new, {**charter(target), "aliases": aliases}, ROWS)


def test_a_charter_renamed_with_an_alias_keeps_its_history_and_moved_goalposts(
    tmp_path: Path,
) -> None:
    """The folder renamed, its old id in `aliases`, the target relaxed in the same commit:
    the new folder started a new history, so its relaxed target read as the original
    and the Moved goalpost badge was gone from the page."""
    repo = _repo(tmp_path)
    write_charter(repo, "old-routing", charter(12.0), ROWS)
    made = commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    _rename(repo, "old-routing", "routing", 10.8, ["old-routing"])
    renamed = commit(repo, "Rename, and a target met", "Ben Okafor", "2026-03-05T00:00:00Z")
    found = read_history(repo).of("routing")
    assert [(e.kind, e.commit) for e in found.events] == [
        ("created", made),
        ("first-result", made),
        ("renamed", renamed),
        ("goalpost", renamed),
        ("verdict", renamed),
    ]
    goalpost, verdict = found.events[-2:]
    # The relaxed target made it: the old folder's charter on the same rows was not met.
    assert verdict.flagged and "(an edit of the charter: before it, the same results give" in (
        verdict.text
    )
    assert goalpost.moved and "moved after results began (first result 2026-03-01)" in goalpost.text
    assert found.original_targets == {"conv": 12.0}
    assert read_history(repo).of("old-routing").events == ()
    build(repo, tmp_path / "site")
    lines = [" ".join(li.text().split()) for li in history_items(tmp_path / "site")]
    assert (
        "2026-03-05 Renamed Charter renamed from old-routing (listed in its aliases)"
        f" commit {renamed} by Ben Okafor"
    ) in lines
    page = parse_html(tmp_path / "site" / "charters" / "routing" / "index.html")
    assert "Moved goalpost" in page.find("section", id="business-metrics").text()


def test_a_new_folder_whose_alias_names_a_charter_still_there_starts_its_own_history(
    tmp_path: Path,
) -> None:
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    write_charter(repo, "b", {**charter(10.8), "aliases": ["a"]}, ROWS)
    commit(repo, "Add another", "Ben Okafor", "2026-03-05T00:00:00Z")
    found = read_history(repo)
    assert [e.kind for e in found.of("b").events] == ["created", "first-result"]
    assert [e.kind for e in found.of("a").events] == ["created", "first-result"]


def test_a_renewal_is_dated_on_the_authors_calendar(tmp_path: Path) -> None:
    """Target raised and re-agreed at 20:00 on 9 March in California (04:00 on the 10th
    in UTC), agreed.on the 9th: the history called the renewal earlier than the change,
    while `charters diff` of the same commit called it re-agreed."""
    repo = _repo(tmp_path)
    first = {"by": ["VP Sales"], "on": "2026-01-05"}
    write_charter(repo, "a", charter(12.0, agreed=first), ROWS)
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    again = {"by": ["VP Sales"], "on": "2026-03-09"}
    write_charter(repo, "a", charter(13.0, agreed=again), ROWS)
    sha = commit(repo, "Raise and re-agree", "Ben Okafor", "2026-03-09T20:00:00-08:00")
    (goalpost,) = [e for e in read_history(repo).of("a").events if e.kind == "goalpost"]
    assert (goalpost.commit, goalpost.moved, goalpost.reagreed) == (sha, True, True)
    assert goalpost.time == "2026-03-10T04:00:00Z"


def test_a_cache_folder_committed_or_linked_away_is_not_the_historys(
    history_repo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """The build refused a `.charters-cache` committed to git or made a link, and went on
    without a cache, but the history still read and wrote its files there: a verdict
    forged in a pull request's committed cache reached the page, and a link wrote out of
    the tree."""
    repo, _ = history_repo
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (repo / ".charters-cache").symlink_to(elsewhere)
    out = build(repo, tmp_path / "site")
    assert "symbolic link" in out
    assert list(elsewhere.rglob("*")) == []
    (repo / ".charters-cache").unlink()
    forged = repo / ".charters-cache" / "history" / "verdicts" / "forged.json"
    forged.parent.mkdir(parents=True)
    forged.write_text("{}", encoding="utf-8")
    commit(repo, "A cache", "Ana Ruiz", "2026-05-01T09:00:00Z")
    build(repo, tmp_path / "site2")
    assert sorted(p.name for p in (repo / ".charters-cache").rglob("*")) == [
        "forged.json",
        "history",
        "verdicts",
    ]


def test_a_mailmap_or_a_replaced_commit_is_not_a_stale_history(
    history_repo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """A .mailmap added (uncommitted) renamed the authors in a cold build, but the build
    after it was a no-op and kept the old names; `git replace` changed the authors the
    history read without changing the head it is cached by."""
    repo, h = history_repo
    site = tmp_path / "site"
    build(repo, site)
    assert f"commit {h['created']} by Ana Ruiz" in history_text(site)
    (repo / ".mailmap").write_text(
        "Ana R. Ruiz <charters@example.com> Ana Ruiz <charters@example.com>\n", encoding="utf-8"
    )
    build(repo, site)
    assert f"commit {h['created']} by Ana R. Ruiz" in history_text(site)
    (repo / ".mailmap").unlink()
    tree = f"{h['created']}^{{tree}}"  # the same commit (a root), by another author
    other = git(repo, "commit-tree", "-m", "Add charters", tree, author="Mallory")
    git(repo, "replace", h["created"], other.strip())
    build(repo, site)
    assert f"commit {h['created']} by Ana Ruiz" in history_text(site)
    cold = tmp_path / "cold"
    result = run_cli("build", "--source", repo, "--out", cold, "--cache-dir", tmp_path / "c2")
    assert result.exit_code == 0, result.output
    assert f"commit {h['created']} by Ana Ruiz" in history_text(cold)


def test_authors_are_named_by_the_repositorys_mailmap_alone(
    history_repo: tuple[Path, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mailmap named by the user's git configuration (mailmap.file) renamed the authors
    on one machine and not on another, and changing it left the old names in the cached
    history: the same commits gave other bytes. Only the repository's .mailmap counts."""
    repo, h = history_repo
    site = tmp_path / "site"
    build(repo, site)
    assert f"commit {h['created']} by Ana Ruiz" in history_text(site)
    renames = tmp_path / "mine.mailmap"
    renames.write_text("Someone Else <charters@example.com>\n", encoding="utf-8")
    config = tmp_path / "gitconfig"
    config.write_text(f"[mailmap]\n\tfile = {renames}\n\tblob = HEAD:.mailmap\n", "utf-8")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    assert "Someone Else" in git(repo, "log", "-1", "--format=%aN")  # git itself reads it
    build(repo, site)
    cold = tmp_path / "cold"
    result = run_cli("build", "--source", repo, "--out", cold, "--cache-dir", tmp_path / "c2")
    assert result.exit_code == 0, result.output
    for built in (site, cold):
        assert f"commit {h['created']} by Ana Ruiz" in history_text(built)
        assert "Someone Else" not in history_text(built)


def test_a_chain_of_renames_keeps_the_whole_history(tmp_path: Path) -> None:
    """a renamed b (aliases [a]), then c (aliases [a, b]): c took the empty state the
    first rename left under `a`, and b's moved goalpost and a's history were lost."""
    repo = _repo(tmp_path)
    write_charter(repo, "a", charter(12.0), ROWS)
    made = commit(repo, "Add", "Ana Ruiz", "2026-03-01T00:00:00Z")
    _rename(repo, "a", "b", 11.0, ["a"])
    first = commit(repo, "Rename to b, target lowered", "Ben Okafor", "2026-03-05T00:00:00Z")
    _rename(repo, "b", "c", 11.0, ["a", "b"])
    second = commit(repo, "Rename to c", "Chen Li", "2026-03-09T00:00:00Z")
    found = read_history(repo).of("c")
    assert [(e.kind, e.commit) for e in found.events if e.kind != "verdict"] == [
        ("created", made),
        ("first-result", made),
        ("renamed", first),
        ("goalpost", first),
        ("renamed", second),
    ]
    assert "renamed from b" in found.events[-1].text
    assert found.original_targets == {"conv": 12.0}


def test_a_long_definition_changed_past_its_first_words_shows_where(tmp_path: Path) -> None:
    """A definition's "60-day maturity" turned "90-day" read as the same cut text on both
    sides of the arrow in the history, as in `charters diff` (review)."""
    repo = _repo(tmp_path)
    (repo / "site.yaml").write_text("title: Definitions\n", encoding="utf-8")
    long = (
        "Share of approved card authorisations later charged back with a fraud reason code,"
        " by authorisation week, at 60-day maturity."
    )
    write_charter(
        repo, "fraud", charter_data(business_metrics=[business_metric(definition=long)]), ROWS
    )
    commit(repo, "Add", "Ana Ruiz", "2026-03-01T09:00:00Z")
    changed = long.replace("60-day", "90-day")
    write_charter(
        repo, "fraud", charter_data(business_metrics=[business_metric(definition=changed)]), ROWS
    )
    commit(repo, "Redefine", "Ben Okafor", "2026-03-05T09:00:00Z")
    build(repo, tmp_path / "site")
    text = history_text(tmp_path / "site", "fraud")
    assert (
        "Business conv: definition …de, by authorisation week, at 60-day maturity. → …de, by"
        " authorisation week, at 90-day maturity. — moved after results began" in text
    ), text
