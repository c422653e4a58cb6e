"""The speed benchmark (benchmarks/bench.py) at N = 3: correct figures, not fast ones.

It runs the whole benchmark once, as a user would, and checks that every tool
built what it should from the same corpus: the corpus passes `charters check`,
the generator built one page per charter, Hugo and MkDocs built as many pages
(plus an index), naive matplotlib drew as many charts as the generator, the
edits reached the site, and the table has every row. Without Hugo or MkDocs it
skips, except with CI=true, where it fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO_ROOT

BENCH = REPO_ROOT / "benchmarks"
N = 3


def _need(module: str) -> None:
    if importlib.util.find_spec(module) is not None:
        return
    message = f"{module} is not installed (pip install '.[test]')"
    if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
        pytest.fail(f"{message}; CI must run the benchmark smoke test")
    pytest.skip(message)


def _script(name: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """benchmarks/`name` run with `args` as a user runs it, its output captured."""
    return subprocess.run(
        [sys.executable, str(BENCH / name), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, object], str, Path]:
    _need("hugo")
    _need("mkdocs")
    work = tmp_path_factory.mktemp("bench")
    out = work / "figures.json"
    args = ["--n", str(N), "--repeat", "1", "--idle-seconds", "1", "--json", str(out)]
    done = _script("bench.py", *args, "--workdir", str(work / "w"))
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(out.read_text()), done.stdout, work / "w"


def test_every_tool_built_the_same_pages(run: tuple[dict[str, object], str, Path]) -> None:
    report, _, _ = run
    counts = report["figures"]["counts"]  # type: ignore[index]
    assert counts["check errors"] == 0
    assert counts["charter pages"] == N
    assert counts["Hugo pages"] == N + 1
    assert counts["MkDocs pages"] == N + 1
    assert counts["charts"] == N * 5 * 2  # every metric: its values and its lift
    assert counts["naive charts"] == counts["charts"]


def test_each_reference_was_built_beside_the_runs_it_is_compared_with(
    run: tuple[dict[str, object], str, Path],
) -> None:
    report, _, _ = run
    seconds = report["figures"]["seconds"]  # type: ignore[index]
    # One Hugo build before each no-op, check, YAML edit, result edit and template edit,
    # and before each of the three edits under `build --watch`.
    assert len(seconds["Hugo build"]) == 8
    assert len(seconds["MkDocs build"]) == 2  # before each template edit
    assert len(seconds["naive matplotlib"]) == 1  # after the cold build
    for edit in ("charter YAML", "result file", "template"):
        assert len(seconds[f"watch: {edit}"]) == 1


def test_the_edits_reached_the_site(run: tuple[dict[str, object], str, Path]) -> None:
    _, _, work = run
    site = work / "charters" / "site"
    pages = sorted(site.glob("charters/*/index.html"))
    assert len(pages) == N
    edited = [p for p in pages if "<!-- template edit " in p.read_text()]
    assert len(edited) == N  # the overridden charter.html renders every charter page
    summary = (work / "charters" / "charters").glob("*/charter.yaml")
    assert sum("Served edit" in p.read_text() for p in summary) == 1


def test_the_table_has_every_row(run: tuple[dict[str, object], str, Path]) -> None:
    report, stdout, _ = run
    sys.path.insert(0, str(BENCH))
    try:
        from bench import ROWS
    finally:
        sys.path.remove(str(BENCH))
    lines = [line for line in stdout.splitlines() if line.startswith("| ")]
    assert lines[1].startswith("| --- |")
    assert [line.split(" | ")[0].removeprefix("| ") for line in lines[2:]] == ROWS
    for line in lines[2 : 2 + 12]:  # every target, the idle CPU and the peak memory
        assert line.rstrip().endswith(("| PASS |", "| FAIL |")), line
    assert [row[0] for row in report["rows"]] == ROWS  # type: ignore[index]
    machine = report["machine"]  # type: ignore[index]
    assert machine["hugo"].startswith("v0.") and machine["mkdocs"][0].isdigit()
    assert "Machine: " in stdout and f"N = {N}" in stdout


def test_the_corpus_is_the_same_for_the_same_seed(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        from corpus import make_corpus
    finally:
        sys.path.remove(str(BENCH))
    make_corpus(tmp_path / "a", 2, seed=7)
    make_corpus(tmp_path / "b", 2, seed=7)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    assert len(files) > 10
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_only_some_measurements_on_a_corpus_in_git(tmp_path: Path) -> None:
    """`--git --only noop`: the corpus is a repository (every page shows its history) and
    the table holds the no-op row and the Hugo build it is compared with, nothing else."""
    _need("hugo")
    args = ["--n", "2", "--repeat", "1", "--git", "--only", "noop", "--workdir", str(tmp_path)]
    done = _script("bench.py", *args)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert [line.split(" | ")[0].removeprefix("| ") for line in lines[2:]] == [
        "no-op rebuild",
        "Hugo build",
    ]
    assert "in git (history read by every build)" in done.stdout
    log = subprocess.run(
        ["git", "-C", str(tmp_path / "charters"), "log", "--format=%s"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    assert log[:3] == ["Results, part 3", "Results, part 2", "Results, part 1"]
    pages = sorted((tmp_path / "charters" / "site" / "charters").glob("*/index.html"))
    assert len(pages) == 2
    for page in pages:
        history = page.read_text().split('id="history"', 1)[1].split("</section>", 1)[0]
        assert "2026-06-01" in history and "Created" in history and "by Bench" in history, page


def test_only_refuses_an_unknown_measurement(tmp_path: Path) -> None:
    args = ["--only", "noop,warm", "--workdir", str(tmp_path)]
    done = _script("bench.py", *args, timeout=120)
    assert done.returncode == 1
    assert "--only: unknown warm; known: cold, noop" in done.stderr


def test_ab_times_each_version_with_its_own_code(tmp_path: Path) -> None:
    """benchmarks/ab.py: the old version's builds run its own generator (a copy that marks
    each start), the new one's this checkout's; each block's first build is not counted."""
    import shutil

    marked = tmp_path / "marked"
    for name in ("generator", "templates"):
        shutil.copytree(REPO_ROOT / name, marked / name, ignore=shutil.ignore_patterns("*.pyc"))
    cli = marked / "generator" / "cli.py"
    mark = tmp_path / "starts"
    text = cli.read_text()
    assert text.count("\ndef run() -> None:\n") == 1
    # Each start of the command (not of a process that imports the module: a worker's server).
    text += (
        f"\n_run = run\ndef run() -> None:\n    open({str(mark)!r}, 'a').write('x')\n    _run()\n"
    )
    cli.write_text(text)
    figures = tmp_path / "ab.json"
    args = ["--old", str(marked), "--n", "3", "--rounds", "2", "--block", "2"]
    args += ["--edit", "result", "--workdir", str(tmp_path / "w"), "--json", str(figures)]
    done = _script("ab.py", *args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert mark.read_text() == "x" * 5  # one untimed build, then two blocks of two
    found = json.loads(figures.read_text())
    assert (found["old"]["builds"], found["new"]["builds"], found["rounds"]) == (2, 2, 2)
    assert found["edit"] == "result" and found["ratio of medians"] > 0
    lines = done.stdout.splitlines()
    rounds = [line.split()[:3] for line in lines if line.startswith("round")]
    assert [" ".join(r) for r in rounds] == [
        "round 1: old",
        "round 1: new",
        "round 2: new",  # the second round starts with the other version
        "round 2: old",
    ]
    assert lines[-2].startswith("new / old: ") and lines[-2].endswith(" (ratio of the medians)")
    assert lines[-1].startswith("new faster in ")
    wins = found["rounds new faster"]
    p = {0: 0.5, 1: 1.0, 2: 0.5}[wins]  # the two-sided sign test's, of two rounds
    assert lines[-1] == f"new faster in {wins} of 2 rounds (sign test, two-sided: p = {p:.3f})"
    assert found["sign test p"] == p and found["median of round ratios"] > 0


def test_ab_takes_a_revision_or_refuses_what_is_neither(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        import ab
    finally:
        sys.path.remove(str(BENCH))
    root = ab.version("HEAD", tmp_path)
    assert (root / "generator" / "__init__.py").is_file()
    assert (root / "templates" / "charter.html").is_file()
    assert root.parent == tmp_path / "versions"
    with pytest.raises(SystemExit, match="'no-such-thing' is neither a folder nor a revision"):
        ab.version("no-such-thing", tmp_path)


def test_ab_sign_test_is_the_binomial_tail_on_both_sides() -> None:
    sys.path.insert(0, str(BENCH))
    try:
        import ab
    finally:
        sys.path.remove(str(BENCH))
    assert ab.sign_test(10, 10) == ab.sign_test(0, 10) == 2 / 1024
    assert ab.sign_test(8, 10) == ab.sign_test(2, 10) == 2 * (1 + 10 + 45) / 1024
    assert ab.sign_test(5, 10) == ab.sign_test(3, 6) == 1.0


def test_the_floor_of_an_edit_adds_up_its_parts_and_each_build_reached_the_page(
    tmp_path: Path,
) -> None:
    """benchmarks/edit_floor.py at N = 2: every part measured as often as asked, the floor is
    the sum of the start and the kept build, and each kind of build showed its edit."""
    _need("hugo")
    out = tmp_path / "floor.json"
    args = ["--n", "2", "--repeat", "2", "--workdir", str(tmp_path / "w"), "--json", str(out)]
    done = _script("edit_floor.py", *args)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text())
    seconds = report["figures"]
    for part in ("start", "kept, swapped in", "kept, in place", "charters build"):
        assert len(seconds[part]) == 2 and all(s > 0 for s in seconds[part]), part
    assert len(seconds["Hugo build"]) == 2 + 1 + 1 + 2  # before each part's runs
    rows = {row[0]: row for row in report["rows"]}
    floor = rows["floor of `charters build` after one edit (start + kept)"]
    start = rows["start: a fresh process importing what the build imports"]
    kept = rows["kept: the build after one edit, nothing read back, swapped in"]
    assert abs(float(floor[1]) - float(start[1]) - float(kept[1])) <= 0.0015
    assert floor[3] == "≤ 1.5 × Hugo" and floor[4] in ("below the target", "above the target")
    # The last edit of each kind is on its page: the CLI's in the site, the kept builds'
    # swapped into the site before it, and in place in a folder of their own.
    page = tmp_path / "w" / "charters" / "site" / "charters"
    edited = [p for p in page.glob("*/index.html") if "Edited summary number" in p.read_text()]
    assert len(edited) == 1
    in_place = tmp_path / "w" / "in-place" / "charters"
    assert sum("Kept edit 3 at" in p.read_text() for p in in_place.glob("*/index.html")) == 1
    assert "| Hugo build |" in done.stdout and "Machine: " in done.stdout
