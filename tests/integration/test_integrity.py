"""Result integrity through the commands: a row that cannot be trusted stops `check`,
`build` and a side of `diff`, located where it stands, and never changes a verdict.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from factory import ab, charter_data, write_charter
from helpers import REPO_ROOT

from generator.cli import main

ROUTING_RESULTS = "charters/support-ticket-routing/results/ab-test.csv"
# 2026-11-10T00:00:00Z and 2026-11-08T00:00:00Z
NOV_10 = "1794268800"
NOV_08 = "1794096000"


def run(*args: str | Path, env: dict[str, str | None] | None = None) -> Result:
    base: dict[str, str | None] = {"GITHUB_ACTIONS": None, "SOURCE_DATE_EPOCH": None}
    base.update(env or {})
    return CliRunner().invoke(main, [str(a) for a in args], env=base, catch_exceptions=False)


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    source.mkdir()
    shutil.copytree(REPO_ROOT / "charters", source / "charters")
    shutil.copy2(REPO_ROOT / "site.yaml", source / "site.yaml")
    shutil.copy2(REPO_ROOT / "metrics.yaml", source / "metrics.yaml")
    return source


def verdicts(result: Result) -> dict[str, str]:
    data = json.loads(result.stdout)
    return {c["id"]: c["verdict"] for c in data["charters"]}


def test_a_second_better_row_cannot_change_the_verdict(examples: Path, tmp_path: Path) -> None:
    """The issue's case: a second, better treatment row for the same date and metric
    flipped support-ticket-routing from `ml-only` to `business-impact`."""
    before = run("check", "--source", examples, "--today", "2026-11-10", "--format", "json")
    assert before.exit_code == 0, before.output
    assert verdicts(before)["support-ticket-routing"] == "ml-only"
    out = tmp_path / "site"
    built = run("build", "--source", examples, "--out", out, env={"SOURCE_DATE_EPOCH": NOV_10})
    assert built.exit_code == 0, built.output
    page = out / "charters" / "support-ticket-routing" / "index.html"
    good_page = page.read_bytes()

    results = examples / ROUTING_RESULTS
    lines = results.read_text(encoding="utf-8").splitlines()
    first = 1 + next(
        i for i, line in enumerate(lines) if line.startswith("2026-11-08,resolution_hours,treat")
    )
    results.write_text(
        "\n".join([*lines, "2026-11-08,resolution_hours,treatment,16.2,4011,9.8,"]) + "\n",
        encoding="utf-8",
    )
    second = len(lines) + 1

    after = run("check", "--source", examples, "--today", "2026-11-10")
    assert after.exit_code == 1
    what = "duplicate row (2026-11-08, resolution_hours, variant 'treatment'): also at"
    rule = "; keep one row per date, metric and variant"
    assert (
        f"{ROUTING_RESULTS}:{first}:1: duplicate-row error: [{first - 2}]: {what}"
        f" {ROUTING_RESULTS}:{second}:1{rule}"
    ) in after.stdout
    assert (
        f"{ROUTING_RESULTS}:{second}:1: duplicate-row error: [{second - 2}]: {what}"
        f" {ROUTING_RESULTS}:{first}:1{rule}"
    ) in after.stdout
    assert "support-ticket-routing:" not in after.stdout  # no verdict from an invalid charter
    assert "business-impact — Mean time to resolution" not in after.stdout

    rebuilt = run("build", "--source", examples, "--out", out, env={"SOURCE_DATE_EPOCH": NOV_10})
    assert rebuilt.exit_code == 1
    assert f"{ROUTING_RESULTS}:{second}:1: [{second - 2}]: duplicate row" in rebuilt.stderr
    assert "nothing was written" in rebuilt.stderr
    assert page.read_bytes() == good_page  # the last good site stays


def _tree(root: Path) -> Path:
    rows = [
        *ab("2026-11-02", "conv", 10.0, 11.0, n=5000),
        *ab("2026-11-09", "conv", 10, 12, n=5000),
    ]
    write_charter(root, "shop", charter_data(), rows)
    return root


def test_a_row_after_the_build_date_fails_check(tmp_path: Path) -> None:
    source = _tree(tmp_path / "src")
    where = "charters/shop/results/results.csv:4:1: future-date error: [2].date: 2026-11-09"
    after = "is after the build date, 2026-11-08; a result cannot be dated later than the build"
    early = run("check", "--source", source, "--today", "2026-11-08")
    assert early.exit_code == 1
    assert f"{where} {after}" in early.stdout
    assert "charters/shop/results/results.csv:5:1: future-date error: [3].date:" in early.stdout
    on_the_day = run("check", "--source", source, "--today", "2026-11-09")
    assert on_the_day.exit_code == 0, on_the_day.output
    # SOURCE_DATE_EPOCH stands in for --today, and --today wins over it.
    epoch = run("check", "--source", source, env={"SOURCE_DATE_EPOCH": NOV_08})
    assert epoch.exit_code == 1 and f"{where} {after}" in epoch.stdout
    both = run(
        "check", "--source", source, "--today", "2026-11-10", env={"SOURCE_DATE_EPOCH": NOV_08}
    )
    assert both.exit_code == 0, both.output


def test_a_row_after_source_date_epoch_fails_the_build(tmp_path: Path) -> None:
    source = _tree(tmp_path / "src")
    out = tmp_path / "site"
    refused = run("build", "--source", source, "--out", out, env={"SOURCE_DATE_EPOCH": NOV_08})
    assert refused.exit_code == 1
    assert "charters/shop/results/results.csv:4:1: [2].date: 2026-11-09 is after" in refused.stderr
    assert not out.exists()
    built = run("build", "--source", source, "--out", out, env={"SOURCE_DATE_EPOCH": NOV_10})
    assert built.exit_code == 0, built.output


def test_build_takes_the_build_date_from_today_as_check_does(tmp_path: Path) -> None:
    # The message names --today as the first way to set the date: build takes it too,
    # and it wins over SOURCE_DATE_EPOCH, as in check.
    source = _tree(tmp_path / "src")
    out = tmp_path / "site"
    refused = run("build", "--source", source, "--out", out, "--today", "2026-11-08")
    assert refused.exit_code == 1
    assert "[2].date: 2026-11-09 is after the build date, 2026-11-08" in refused.stderr
    assert "(--today, else SOURCE_DATE_EPOCH, else today)" in refused.stderr
    assert not out.exists()
    env = {"SOURCE_DATE_EPOCH": NOV_08}
    built = run("build", "--source", source, "--out", out, "--today", "2026-11-10", env=env)
    assert built.exit_code == 0, built.output
    for wrong in ("2026-11-31", "20261110", "2026-W46-2"):
        bad = run("build", "--source", source, "--out", out, "--today", wrong)
        assert bad.exit_code == 2 and f"'{wrong}' is not a date; use YYYY-MM-DD" in bad.output


def test_diff_reads_both_sides_on_one_build_date(tmp_path: Path) -> None:
    base = _tree(tmp_path / "base")
    head = _tree(tmp_path / "head")
    with (head / "charters/shop/results/results.csv").open("a", encoding="utf-8") as fh:
        fh.write("2026-11-16,conv,control,10.1,,,5000,,\n")
    env = {"SOURCE_DATE_EPOCH": NOV_10}
    result = run("diff", base, head, "--format", "json", "--fail-on", "invalid", env=env)
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["base"]["ok"] is True
    [error] = report["head"]["errors"]
    assert (error["code"], error["line"], error["col"], error["field"]) == (
        "future-date",
        6,
        1,
        "[4].date",
    )
    assert "2026-11-16 is after the build date, 2026-11-10" in error["message"]
    later = run(
        "diff",
        base,
        head,
        "--format",
        "json",
        "--fail-on",
        "invalid",
        env={
            "SOURCE_DATE_EPOCH": "1795392000"  # 2026-11-23
        },
    )
    assert later.exit_code == 0, later.output
    # --today sets the one build date too, and wins over SOURCE_DATE_EPOCH.
    today = run(
        "diff", base, head, "--format", "json", "--fail-on", "invalid", "--today", "2026-11-16",
        env={"SOURCE_DATE_EPOCH": NOV_10},
    )  # fmt: skip
    assert today.exit_code == 0, today.output
    assert json.loads(today.stdout)["head"]["ok"] is True
