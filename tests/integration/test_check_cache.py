"""`charters check`'s cache: a cached report is the fresh report byte for byte, in every
format and for every exit status; any change to what check reads is seen; a bad entry
or a cache folder that cannot be written costs nothing; a hit loads nothing heavy."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from history_repo import git, init_repo

import generator.check_cache as check_cache
from generator.cli import main

REPO = Path(__file__).resolve().parents[2]
TODAY = "2026-11-10"
FORMATS = ("text", "github", "json")
FLAGS: tuple[tuple[str, ...], ...] = (
    (),
    ("--strict",),
    ("--fail-on", "alerts"),
    ("--fail-on", "MC108"),
)
ROUTING = "charters/support-ticket-routing"


def run(source: Path, *args: str | Path, env: dict[str, str | None] | None = None) -> Result:
    base: dict[str, str | None] = {
        "GITHUB_ACTIONS": None,
        "SOURCE_DATE_EPOCH": None,
        "CHARTERS_CACHE_DIR": None,
    }
    base.update(env or {})
    argv = ["check", "--source", str(source), *[str(a) for a in args]]
    return CliRunner().invoke(main, argv, env=base, catch_exceptions=False)


class Fresh:
    """Checks that cannot hit: each in a new, empty cache folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.runs = 0

    def __call__(self, source: Path, *args: str | Path, **kw: dict[str, str | None]) -> Result:
        self.runs += 1
        return run(source, *args, "--cache-dir", self.folder / f"fresh-{self.runs}", **kw)


@pytest.fixture
def fresh(tmp_path: Path) -> Fresh:
    return Fresh(tmp_path / "fresh-caches")


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    """A copy of the example tree; its cache is the default one, in the tree."""
    root = tmp_path / "source"
    root.mkdir()
    shutil.copytree(REPO / "charters", root / "charters")
    for name in ("site.yaml", "metrics.yaml"):
        shutil.copy2(REPO / name, root / name)
    return root


@pytest.fixture
def no_checking(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Call it to make any real check fail the test: what follows must come from the cache."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the check ran instead of printing the cached report")

    return lambda: monkeypatch.setattr(check_cache, "run_check", refuse)


def entries(cache: Path) -> list[Path]:
    return sorted((cache / "checks").rglob("*.check"))


# --- a hit prints exactly what a fresh check prints ----------------------------------------


def with_warning_and_error(root: Path, broken: bool) -> None:
    """A placeholder (a warning, so --strict fails) and, when `broken`, an invalid charter."""
    path = root / ROUTING / "charter.yaml"
    text = path.read_text("utf-8")
    path.write_text(text.replace("title: ", "title: TODO ", 1), "utf-8")
    if broken:
        (root / "charters/broken").mkdir()
        (root / "charters/broken/charter.yaml").write_text("title: [unclosed\n", "utf-8")


@pytest.mark.parametrize("broken", [False, True], ids=["warnings", "invalid charter"])
def test_a_cached_report_is_the_fresh_report_in_every_format_and_exit_status(
    examples: Path, fresh: Fresh, no_checking: Callable[[], None], broken: bool
) -> None:
    with_warning_and_error(examples, broken)
    expected = {}
    for fmt in FORMATS:
        for flags in FLAGS:
            done = fresh(examples, "--today", TODAY, "--format", fmt, *flags)
            expected[fmt, flags] = (done.stdout, done.exit_code)
    # The fresh runs differ as they should: --strict fails on the placeholder.
    assert expected["text", ()][1] == (1 if broken else 0)
    assert expected["text", ("--strict",)][1] == 1
    assert expected["text", ("--fail-on", "alerts")][1] == 1
    assert "MC112 warning" in expected["text", ()][0]
    assert ("not loaded: invalid" in expected["text", ()][0]) is broken

    primed = run(examples, "--today", TODAY)
    assert (primed.stdout, primed.exit_code) == expected["text", ()]
    assert len(entries(examples / ".charters-cache")) == 1
    no_checking()
    for (fmt, flags), (stdout, status) in expected.items():
        again = run(examples, "--today", TODAY, "--format", fmt, *flags)
        assert (again.stdout, again.exit_code) == (stdout, status), (fmt, flags)
    github = run(examples, "--today", TODAY, env={"GITHUB_ACTIONS": "true"})
    assert github.stdout == expected["github", ()][0]


def test_a_hit_imports_no_parser_model_or_statistics(examples: Path, tmp_path: Path) -> None:
    def imported() -> set[str]:
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "generator", "check", "--source", examples],
            capture_output=True,
            text=True,
            env={**os.environ, "SOURCE_DATE_EPOCH": "1794355200"},  # 2026-11-10
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.endswith("checked 9 charters: 0 errors, 0 warnings, 1 info, 2 alerts\n")
        return {
            line.rsplit("|", 1)[1].strip()
            for line in done.stderr.splitlines()
            if line.startswith("import time:") and "|" in line
        }

    first = imported()
    assert {"yaml", "pydantic", "generator.load"} <= first  # the first check really ran
    second = imported()
    heavy = ("yaml", "pydantic", "numpy", "scipy", "jinja2", "markdown", "nh3", "matplotlib")
    ours = ("generator.load", "generator.model", "generator.analyze", "generator.rules")
    assert sorted(m for m in second if m.split(".")[0] in heavy or m in ours) == []


# --- never stale -----------------------------------------------------------------------------


def edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text("utf-8")
    assert old in text, (rel, old)
    path.write_text(text.replace(old, new, 1), "utf-8")


def retitle(root: Path) -> str:
    edit(root, f"{ROUTING}/charter.yaml", "title: Support ticket routing", "title: Ticket triage")
    return '"title": "Ticket triage"'


def new_result_value(root: Path) -> str:
    edit(
        root,
        f"{ROUTING}/results/ab-test.csv",
        "2026-11-08,routing_precision,treatment,0.95,",
        "2026-11-08,routing_precision,treatment,0.9,",
    )
    return '"latest": 0.9,'


def linked_file_gone(root: Path) -> str:
    # A linked file that is not there (a warning). Not the charter's query: the pull that
    # reads it would then be an error.
    path = root / "charters/agent-reply-suggestions/charter.yaml"
    linked = '  - {title: Weekly query, url: "queries/weekly.sql"}\n'
    path.write_text(
        path.read_text().replace(linked, linked + '  - {title: Notes, url: "notes/week.md"}\n')
    )
    return "'notes/week.md' is not a file in the charter's folder"


def linked_file_refused(root: Path) -> str:
    (root / "charters/agent-reply-suggestions/queries/weekly.sql").write_bytes(
        b"<html><script>alert(1)</script>"
    )
    return "'queries/weekly.sql' cannot be published"


def site_disables_a_rule(root: Path) -> str:
    edit(root, "site.yaml", "disable: []", "disable: [MC105, MC999]")
    return "unknown rule code 'MC999'"


def catalogue_renames_a_metric(root: Path) -> str:
    edit(root, "metrics.yaml", "name: Search session conversion", "name: Search conversion")
    return '"name": "Search conversion",'


def template_link_leaves_the_tree(root: Path) -> str:
    (root / "templates").mkdir()
    (root / "templates/page.html").symlink_to("/etc/hostname")
    return "templates/page.html"


EDITS = [
    retitle,
    new_result_value,
    linked_file_gone,
    linked_file_refused,
    site_disables_a_rule,
    catalogue_renames_a_metric,
    template_link_leaves_the_tree,
]


@pytest.mark.parametrize("change", EDITS, ids=[e.__name__ for e in EDITS])
def test_a_check_after_an_edit_reports_the_edit(
    examples: Path, fresh: Fresh, change: Callable[[Path], str]
) -> None:
    before = run(examples, "--today", TODAY, "--format", "json")
    assert run(examples, "--today", TODAY, "--format", "json").stdout == before.stdout  # a hit
    shown = change(examples)
    assert shown not in before.stdout
    after = run(examples, "--today", TODAY, "--format", "json")
    assert shown in after.stdout
    expected = fresh(examples, "--today", TODAY, "--format", "json")
    assert (after.stdout, after.exit_code) == (expected.stdout, expected.exit_code)
    # A report for each tree, except one with a link out of it (see below).
    kept = 1 if change is template_link_leaves_the_tree else 2
    assert len(entries(examples / ".charters-cache")) == kept


def test_a_check_on_another_day_is_judged_on_that_day(examples: Path) -> None:
    stale = "MC109 alert"
    assert stale not in run(examples, "--today", TODAY).stdout
    assert stale in run(examples, "--today", "2027-06-01").stdout
    assert stale not in run(examples, "--today", TODAY).stdout
    # The date from SOURCE_DATE_EPOCH counts the same way.
    assert stale in run(examples, env={"SOURCE_DATE_EPOCH": "1811808000"}).stdout  # 2027-06-01
    assert stale not in run(examples, env={"SOURCE_DATE_EPOCH": "1794355200"}).stdout


def test_a_tree_with_a_link_out_of_it_is_checked_every_time(examples: Path, tmp_path: Path) -> None:
    """A linked file through a folder link that leaves the tree: the key cannot hash what
    is at the link's end, yet whether it exists changes the report; so no report is kept."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (examples / ROUTING / "docs").symlink_to(elsewhere, target_is_directory=True)
    new_link = 'links:\n  - {title: Notes, url: "docs/notes.txt"}\n'
    edit(examples, f"{ROUTING}/charter.yaml", "links:\n", new_link)
    missing = "'docs/notes.txt' is not a file in the charter's folder"
    refused = "'docs/notes.txt' leads outside the charter's folder"
    assert missing in run(examples, "--today", TODAY).stdout
    (elsewhere / "notes.txt").write_text("notes\n", "utf-8")
    done = run(examples, "--today", TODAY)
    assert refused in done.stdout and missing not in done.stdout
    (elsewhere / "notes.txt").unlink()
    assert missing in run(examples, "--today", TODAY).stdout
    assert entries(examples / ".charters-cache") == []


def test_a_check_of_some_charters_is_not_the_check_of_all(examples: Path) -> None:
    some = run(examples, "--today", TODAY, examples / ROUTING / "charter.yaml")
    assert some.stdout.endswith("checked 1 charter: 0 errors, 0 warnings, 0 info, 1 alert\n")
    every = run(examples, "--today", TODAY)
    assert every.stdout.endswith("checked 9 charters: 0 errors, 0 warnings, 1 info, 2 alerts\n")
    again = run(examples, "--today", TODAY, examples / ROUTING / "results/ab-test.csv")
    assert again.stdout == some.stdout


# --- bad entries, other folders, read-only trees --------------------------------------------


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def changed_byte(data: bytes) -> bytes:
    at = len(data) // 2
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]


def foreign(data: bytes) -> bytes:
    return b"{}\n"


def wrong_shape_with_a_good_digest(data: bytes) -> bytes:
    packed = zlib.compress(b'{"findings": [], "outputs": {"text": "all good\\n"}}')
    digest = hashlib.blake2b(packed, digest_size=20).hexdigest()
    return f"charters-check-1 {digest}\n".encode() + packed


def not_compressed_with_a_good_digest(data: bytes) -> bytes:
    body = zlib.decompress(data.partition(b"\n")[2])
    return (
        b"charters-check-1 "
        + hashlib.blake2b(body, digest_size=20).hexdigest().encode()
        + b"\n"
        + body
    )


CORRUPTIONS = [
    truncated,
    changed_byte,
    foreign,
    wrong_shape_with_a_good_digest,
    not_compressed_with_a_good_digest,
]


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=[c.__name__ for c in CORRUPTIONS])
def test_a_bad_entry_is_ignored_and_made_again(
    examples: Path, corrupt: Callable[[bytes], bytes], no_checking: Callable[[], None]
) -> None:
    first = run(examples, "--today", TODAY)
    (entry,) = entries(examples / ".charters-cache")
    entry.write_bytes(corrupt(entry.read_bytes()))
    again = run(examples, "--today", TODAY)
    assert (again.stdout, again.exit_code, again.stderr) == (first.stdout, first.exit_code, "")
    no_checking()  # the entry was written again
    assert run(examples, "--today", TODAY).stdout == first.stdout


def test_the_cache_folder_follows_the_option_and_the_environment(
    examples: Path, tmp_path: Path
) -> None:
    by_option, by_env = tmp_path / "by-option", tmp_path / "by-env"
    first = run(examples, "--today", TODAY, "--cache-dir", by_option)
    second = run(examples, "--today", TODAY, env={"CHARTERS_CACHE_DIR": str(by_env)})
    assert first.stdout == second.stdout
    assert len(entries(by_option)) == len(entries(by_env)) == 1
    assert not (examples / ".charters-cache").exists()


def test_a_linked_cache_folder_in_the_tree_is_not_used(examples: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (examples / ".charters-cache").symlink_to(elsewhere)
    done = run(examples, "--today", TODAY)
    assert done.exit_code == 0 and done.stderr == ""
    assert list(elsewhere.iterdir()) == []


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Callable[[Path], Path]]:
    """Copies a tree to a read-only place: a read-only tmpfs as root (root writes through
    permissions), else folders without write permission."""
    place = tmp_path / "read-only"
    place.mkdir()
    mounted = False

    def make(tree: Path) -> Path:
        nonlocal mounted
        if os.geteuid() == 0:
            done = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(place)],
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                if os.environ.get("CI") == "true":
                    pytest.fail(f"cannot mount a tmpfs: {done.stderr.strip()} (CI=true)")
                pytest.skip(f"cannot mount a tmpfs: {done.stderr.strip()}")
            mounted = True
        copy = place / "source"
        shutil.copytree(tree, copy, symlinks=True)
        if mounted:
            subprocess.run(["mount", "-o", "remount,ro", str(place)], check=True)
        else:
            for folder in [copy, *[p for p in copy.rglob("*") if p.is_dir()]]:
                folder.chmod(0o555)
        return copy

    yield make
    if mounted:
        subprocess.run(["umount", "-l", str(place)], check=False)
    else:
        for folder in [place, *[p for p in place.rglob("*") if p.is_dir()]]:
            folder.chmod(0o755)


def check_process(source: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CHARTERS_CACHE_DIR", "GITHUB_ACTIONS")}
    return subprocess.run(
        [sys.executable, "-m", "generator", "check", "--source", source, "--today", TODAY],
        capture_output=True,
        text=True,
        env=env,
    )


@pytest.mark.parametrize("primed", [False, True], ids=["no cache", "cache from before"])
def test_check_works_in_a_read_only_tree(
    examples: Path, fresh: Fresh, read_only: Callable[[Path], Path], primed: bool
) -> None:
    (examples / ROUTING / "charter.yaml").write_text(
        (examples / ROUTING / "charter.yaml").read_text("utf-8").replace("title: ", "title: TODO "),
        "utf-8",
    )
    if primed:
        assert run(examples, "--today", TODAY).exit_code == 0
    expected = fresh(examples, "--today", TODAY)
    tree = read_only(examples)
    with pytest.raises(OSError):
        (tree / "probe").write_text("", "utf-8")
    for _ in range(2):
        done = check_process(tree)
        assert (done.stdout, done.returncode, done.stderr) == (expected.stdout, 0, "")
    assert (tree / ".charters-cache").exists() is primed


def _forge_clean_report(root: Path) -> None:
    """Store, under the key of `root` as it is now, the report of a clean tree: what a pull
    request would commit to turn a failing check green."""
    from datetime import date

    from generator.cache import open_cache
    from generator.check import CheckReport

    today = date(2026, 11, 30)
    cache = open_cache(root)
    key = check_cache.check_key(root, today, None, cache)
    assert key is not None
    check_cache.save_checked(cache, key, check_cache.Checked.of(CheckReport([], [], [])))


def test_a_report_committed_to_the_repository_is_not_printed(examples: Path) -> None:
    """A pull request cannot make a failing check pass by committing a kept report."""
    with_warning_and_error(examples, broken=True)
    (examples / ".gitignore").write_text(".charters-cache/\n", "utf-8")
    init_repo(examples)
    git(examples, "add", "-A")
    git(examples, "commit", "-q", "-m", "charters")
    _forge_clean_report(examples)
    forged = run(examples, "--today", "2026-11-30")
    assert forged.exit_code == 0  # not committed: this machine's own cache is trusted
    git(examples, "add", "-f", ".charters-cache")
    git(examples, "commit", "-q", "-m", "a report of my own")
    result = run(examples, "--today", "2026-11-30")
    assert result.exit_code == 1
    assert "charters/broken/charter.yaml" in result.output


# --- a build stores the report check would print -------------------------------------------

STALE_DAY = "2027-06-01"  # the examples' results are old by then: staleness alerts
STALE_EPOCH = "1811808000"  # 2027-06-01 as SOURCE_DATE_EPOCH


def build_at(source: Path, out: Path, epoch: str, monkeypatch: pytest.MonkeyPatch) -> bool:
    """A build of `source` into `out` on the day of `epoch`; whether it succeeded."""
    from generator.build import Settings, build

    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    monkeypatch.delenv("CHARTERS_CACHE_DIR", raising=False)
    try:
        return build(Settings(source, out)).ok
    finally:
        monkeypatch.delenv("SOURCE_DATE_EPOCH")


def warnings_alerts_and_a_missing_linked_file(root: Path) -> tuple[bool, str]:
    with_warning_and_error(root, broken=False)
    return True, linked_file_gone(root)  # the build succeeds


def a_refused_linked_file(root: Path) -> tuple[bool, str]:
    # The build fails, after the rules have judged every charter.
    return False, linked_file_refused(root)


@pytest.mark.parametrize("make", [warnings_alerts_and_a_missing_linked_file, a_refused_linked_file])
def test_a_build_stores_exactly_the_report_check_prints(
    examples: Path,
    tmp_path: Path,
    fresh: Fresh,
    no_checking: Callable[[], None],
    monkeypatch: pytest.MonkeyPatch,
    make: Callable[[Path], tuple[bool, str]],
) -> None:
    succeeds, problem = make(examples)
    expected = {}
    for fmt in FORMATS:
        for flags in FLAGS:
            done = fresh(examples, "--today", STALE_DAY, "--format", fmt, *flags)
            expected[fmt, flags] = (done.stdout, done.exit_code)
    assert "MC109 alert" in expected["text", ()][0]  # alerts, and a failing --fail-on alerts
    assert expected["text", ("--fail-on", "alerts")][1] == 1
    assert problem in expected["text", ()][0]  # the linked file's problem is reported
    assert expected["text", ()][1] == (0 if succeeds else 1)

    assert build_at(examples, tmp_path / "site", STALE_EPOCH, monkeypatch) is succeeds
    assert len(entries(examples / ".charters-cache")) == 1  # the build stored one report
    no_checking()
    for (fmt, flags), (stdout, status) in expected.items():
        again = run(examples, "--today", STALE_DAY, "--format", fmt, *flags)
        assert (again.stdout, again.exit_code) == (stdout, status), (fmt, flags)
    # The build's date from SOURCE_DATE_EPOCH is the check's date from it too.
    same_day = run(examples, env={"SOURCE_DATE_EPOCH": STALE_EPOCH})
    assert (same_day.stdout, same_day.exit_code) == expected["text", ()]
    github = run(examples, "--today", STALE_DAY, env={"GITHUB_ACTIONS": "true"})
    assert github.stdout == expected["github", ()][0]
    # Another day is another report: it is not looked up under the build's (the check
    # runs, and the refusal installed above says so), nor is a check of some charters.
    other_day = run(examples, "--today", TODAY)
    some = run(examples, "--today", STALE_DAY, examples / ROUTING / "charter.yaml")
    for missed in (other_day, some):
        assert missed.exit_code == 1 and "the check ran" in missed.stderr


def test_a_build_whose_templates_fail_still_stores_the_report_check_prints(
    examples: Path,
    tmp_path: Path,
    fresh: Fresh,
    no_checking: Callable[[], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A template error stops the build after the rules judged every charter; check does
    not render pages, so its report is the same and is stored all the same (made after
    the pages, with the outputs, when the build gets that far)."""
    from generator.assets import BUILTIN_TEMPLATES

    marker = "{% block content %}"
    page = (BUILTIN_TEMPLATES / "charter.html").read_text(encoding="utf-8")
    (examples / "templates").mkdir()
    (examples / "templates" / "charter.html").write_text(
        page.replace(marker, marker + "{{ 1 // 0 }}", 1), encoding="utf-8"
    )
    expected = fresh(examples, "--today", STALE_DAY)
    assert "MC109 alert" in expected.stdout
    assert not build_at(examples, tmp_path / "site", STALE_EPOCH, monkeypatch)
    assert len(entries(examples / ".charters-cache")) == 1  # the build stored one report
    no_checking()
    again = run(examples, "--today", STALE_DAY)
    assert (again.stdout, again.exit_code) == (expected.stdout, expected.exit_code)


def test_a_build_on_its_own_date_primes_nothing_for_another_day(
    examples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build at TODAY, a check at STALE_DAY: the check judges by its own day."""
    assert build_at(examples, tmp_path / "site", "1794355200", monkeypatch)  # 2026-11-10
    assert len(entries(examples / ".charters-cache")) == 1
    later = run(examples, "--today", STALE_DAY)
    assert "MC109 alert" in later.stdout
    assert len(entries(examples / ".charters-cache")) == 2  # checked, then kept


def test_a_build_refused_at_loading_and_a_no_op_build_store_nothing(
    examples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An invalid charter stops the build before the rules run: there is no report of the
    whole tree to store (check would still judge the valid charters). A no-op build does
    not even hash the tree for check's key."""
    with_warning_and_error(examples, broken=True)
    assert not build_at(examples, tmp_path / "site", STALE_EPOCH, monkeypatch)
    assert entries(examples / ".charters-cache") == []
    shutil.rmtree(examples / "charters/broken")
    assert build_at(examples, tmp_path / "site", STALE_EPOCH, monkeypatch)
    assert len(entries(examples / ".charters-cache")) == 1

    def no_key(*args: object) -> None:
        raise AssertionError("a no-op build computed check's key")

    monkeypatch.setattr(check_cache, "check_key", no_key)
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "site").rglob("*")}
    assert build_at(examples, tmp_path / "site", STALE_EPOCH, monkeypatch)
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "site").rglob("*")} == before
