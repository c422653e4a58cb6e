"""`charters build --gc`: the cache keeps what the build used and nothing else, so a cache
saved by CI after every run stays the size of one site; the next run, with a fresh
output folder, still draws and renders nothing it did not have to."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from helpers import ScratchProject, run_cli
from history_repo import commit, init_repo, isolate_git

from generator import build as build_module
from generator import prune, stats
from generator import spool as spool_module
from generator.build import BuildResult, Settings, build
from generator.cache import generator_fingerprint
from generator.check_cache import checked
from generator.memo import CharterPart, charter_memo_key
from generator.reuse import Kept

from . import test_cache, test_reuse
from .test_build import FULL_CHARTER, FULL_RESULTS, tree_files, write_full_project
from .test_reuse import EPOCH, Observed, cold

# The fixtures that observe the real work of a build (what it drew, loaded, rendered).
drawn = test_cache.drawn
observed = test_reuse.observed

# With standard deviations: lifts with intervals, from Student's t (kept in its memo).
TRIAGE_RESULTS = """\
date,metric,variant,value,n,std
2026-05-04,ttfr,control,6.1,4210,2.5
2026-05-04,ttfr,treatment,5.0,4188,2.4
2026-05-11,ttfr,control,6.0,4302,2.5
2026-05-11,ttfr,treatment,5.1,4250,2.3
2026-05-11,routing_precision,treatment,0.89,4250,0.2
"""
TODAY = date(2026, 12, 15)  # EPOCH's day
KEY = "ab" + "0" * 38  # a key no build of these trees makes
OLD = 1_000_000_000  # a modification time long before any build


@pytest.fixture(autouse=True)
def build_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)


def cache_files(cache: Path) -> set[str]:
    """Every file under the cache folder (relative POSIX paths), links included."""
    return {
        p.relative_to(cache).as_posix() for p in cache.rglob("*") if p.is_file() or p.is_symlink()
    }


def made(out: Path) -> dict[str, str]:
    """The cache key each chart, charter page and download of the site was made from."""
    found = json.loads((out / ".charters-site.json").read_text("utf-8"))["made"]
    assert isinstance(found, dict)
    return found


def entry(rel: str, key: str) -> str:
    """The cache entry a site file recorded in `made` under `key` comes from."""
    kind, suffix = (
        ("charts", ".svg")
        if rel.endswith(".svg")
        else ("pages", ".html")
        if rel.endswith(".html")
        else ("downloads", "")
    )
    return f"{kind}/{key[:2]}/{key}{suffix}"


def write_project(project: ScratchProject) -> None:
    """Three charters of test_build, and a fourth with results (charts, data tables,
    lifts) that the edits below leave alone."""
    write_full_project(project)
    project.charter("triage", text=FULL_CHARTER.replace("Support ticket routing", "Triage"))
    project.write("charters/triage/results/ab.csv", TRIAGE_RESULTS)


def memo_of(cid: str, part: CharterPart = "analysis") -> str:
    """The cache entry of the memo of a part of charter `cid`'s work (generator/memo.py)."""
    key = charter_memo_key(f"charters/{cid}", part)
    return f"memo/{key[:2]}/{key}.pickle"


def gc_build(project: ScratchProject, out: Path | None = None) -> BuildResult:
    result = build(Settings(project.root, out or project.out, gc=True))
    assert result.ok, [d.format_text() for d in result.diagnostics]
    assert result.pruned is not None
    return result


def edit_a_result(project: ScratchProject) -> None:
    """routing's ttfr chart, page, downloads and loaded charter change; nothing else."""
    project.write(
        "charters/routing/results/ab.csv",
        FULL_RESULTS.replace("2026-05-11,ttfr,treatment,5.1", "2026-05-11,ttfr,treatment,4.8"),
    )


def assert_nothing_redone(project: ScratchProject, observed: Observed, drawn: list[str]) -> None:
    """A build into a fresh output folder with this cache draws, loads and renders no
    charter: the next CI run after the pruned cache is restored."""
    observed.clear()
    drawn.clear()
    fresh = project.root / "fresh-site"
    shutil.rmtree(fresh, ignore_errors=True)
    result = build(Settings(project.root, fresh))
    assert result.ok and not result.unchanged
    assert (drawn, result.charts_drawn) == ([], 0)
    assert observed.charter_pages == []
    assert observed.loaded == [] and observed.analysed == []
    assert tree_files(fresh) == tree_files(project.out)


def test_gc_after_an_edit_removes_what_the_edit_replaced_and_keeps_the_rest(
    scratch_project: ScratchProject, observed: Observed, drawn: list[str], tmp_path: Path
) -> None:
    stats._T_QUANTILES.clear()  # as in a new process: the analyses keep their memos
    write_project(scratch_project)
    cache = scratch_project.root / ".charters-cache"
    assert build(Settings(scratch_project.root, scratch_project.out)).ok
    before, made_before = cache_files(cache), made(scratch_project.out)
    pickles_before = {p for p in before if p.startswith("charters/")}

    edit_a_result(scratch_project)
    result = gc_build(scratch_project)
    after, made_after = cache_files(cache), made(scratch_project.out)
    removed = before - after
    assert result.pruned is not None
    assert result.pruned.entries == len(removed) > 0
    # What the edit replaced is gone: the old chart, page and downloads of routing ...
    replaced = {rel for rel, key in made_before.items() if made_after.get(rel) != key}
    assert replaced == {
        "charters/routing/ttfr.svg",
        "charters/routing/index.html",
        "charters/routing/results.json",
        "charters/routing/results.csv",
    }
    for rel in replaced:
        assert entry(rel, made_before[rel]) in removed, rel
        assert entry(rel, made_after[rel]) in after, rel
    # ... and the old routing as loaded: one pickle replaced, the others kept.
    pickles_after = {p for p in after if p.startswith("charters/")}
    assert len(pickles_before - pickles_after) == len(pickles_after - pickles_before) == 1
    (old_pickle,) = pickles_before - pickles_after
    assert old_pickle in removed
    # What did not change is kept: the other chart, pages and downloads ...
    for rel, key in made_before.items():
        if rel not in replaced:
            assert entry(rel, key) in after, rel
    # ... and, exactly, the cache holds what a cold build of the edited tree makes (with
    # the list of what this build used, which a no-op build with --gc keeps).
    cold(scratch_project, tmp_path)
    assert {p for p in after if not p.endswith(".used")} == cache_files(tmp_path / "cold-cache")

    # The charter left alone keeps its memos (read when it is analysed or its charts are
    # described again) and the data tables of its page (when only the rest of the page
    # changes, generator/reuse.py).
    for part in ("analysis", "charts"):
        assert memo_of("triage", part) in before and memo_of("triage", part) in after
    triage = {p for p in before if p.startswith("tables/")} - removed
    assert triage and triage <= after

    # The next CI run: a fresh output folder, this cache, the same tree.
    assert_nothing_redone(scratch_project, observed, drawn)


def test_a_no_op_build_with_gc_keeps_what_the_next_build_needs(
    scratch_project: ScratchProject, observed: Observed, drawn: list[str]
) -> None:
    write_project(scratch_project)
    cache = scratch_project.root / ".charters-cache"
    assert build(Settings(scratch_project.root, scratch_project.out)).ok
    edit_a_result(scratch_project)
    assert build(Settings(scratch_project.root, scratch_project.out)).ok  # without --gc
    stale = cache_files(cache)

    # A no-op build with --gc but no record of what this input uses: built in full once.
    first = gc_build(scratch_project)
    assert not first.unchanged and first.charts_drawn == 0
    assert first.pruned is not None and first.pruned.entries > 0
    kept = cache_files(cache)
    assert stale - kept
    # Then a real no-op: it reads almost nothing, yet removes nothing.
    second = gc_build(scratch_project)
    assert second.unchanged
    assert second.pruned is not None and second.pruned.entries == 0
    assert cache_files(cache) == kept
    # `charters check` of the same tree on the same day prints its kept report.
    assert checked(scratch_project.root, TODAY).cached
    assert_nothing_redone(scratch_project, observed, drawn)
    # And after that build into another folder (which used all of it), still nothing goes.
    third = gc_build(scratch_project)
    assert third.unchanged and third.pruned is not None and third.pruned.entries == 0


def test_check_then_build_with_gc_keeps_the_checks_report(
    scratch_project: ScratchProject,
) -> None:
    write_full_project(scratch_project)
    assert not checked(scratch_project.root, TODAY).cached  # CI: check, then build --gc
    gc_build(scratch_project)
    assert checked(scratch_project.root, TODAY).cached
    gc_build(scratch_project)  # a no-op
    assert checked(scratch_project.root, TODAY).cached


def plant(path: Path, data: bytes = b"stale") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (OLD, OLD))
    return path


def test_entries_of_another_generator_go_and_foreign_files_stay(
    scratch_project: ScratchProject,
) -> None:
    write_full_project(scratch_project)
    cache = scratch_project.root / ".charters-cache"
    gc_build(scratch_project)
    other = "cd" * 20  # another generator's fingerprint
    assert other != generator_fingerprint()
    planted = [
        plant(cache / "charters" / KEY[:2] / f"{KEY}.pickle"),  # a charter another one loaded
        plant(cache / "charts" / KEY[:2] / f"{KEY}.svg"),
        plant(cache / "downloads" / KEY[:2] / KEY),
        plant(cache / "templates" / other / f"__jinja2_{'e' * 40}.cache"),
        plant(cache / "charts" / KEY[:2] / f".{KEY}.svg.0123456789ab.tmp"),  # a killed write
    ]
    foreign = [
        plant(cache / "README.txt"),
        plant(cache / "charts" / "notes.txt"),
        plant(cache / "charts" / KEY[:2] / f"{KEY}.svg.orig"),
        plant(cache / "charts" / "ef" / f"{KEY}.svg"),  # not in the folder its key names
        plant(cache / "elsewhere" / KEY[:2] / f"{KEY}.svg"),
    ]
    mine = next((cache / "templates" / generator_fingerprint()).iterdir())
    result = gc_build(scratch_project)  # a no-op: these are removed by its record too
    assert result.unchanged
    assert [p for p in planted if p.exists()] == []
    assert not (cache / "templates" / other).exists()
    assert result.pruned is not None and result.pruned.entries == len(planted)
    assert result.pruned.size == len(b"stale") * len(planted)
    assert all(p.read_bytes() == b"stale" for p in foreign)
    assert mine.is_file()  # the current generator's compiled templates


def test_an_entry_written_since_the_build_began_is_kept(scratch_project: ScratchProject) -> None:
    # Another build sharing the cache may have just written it: only older entries go.
    write_full_project(scratch_project)
    cache = scratch_project.root / ".charters-cache"
    gc_build(scratch_project)
    new = plant(cache / "charts" / KEY[:2] / f"{KEY}.svg")
    os.utime(new, (4_000_000_000, 4_000_000_000))
    result = gc_build(scratch_project)
    assert result.pruned is not None and result.pruned.entries == 0
    assert new.exists()


def test_an_entry_removed_while_a_build_links_it_is_made_again(
    scratch_project: ScratchProject, drawn: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another process sharing the cache (serve removing what its builds no longer use,
    # or --gc) may remove an entry between a build's look and its link into the spool:
    # the build makes it again, as if it had never been there, and fails on nothing.
    write_project(scratch_project)
    gc_build(scratch_project)
    drawn.clear()
    cache = f"{scratch_project.root / '.charters-cache'}{os.sep}"
    real, removed = spool_module.link_or_copy, []

    def removed_first(source: str, target: str) -> None:
        if source.startswith(cache):
            os.unlink(source)
            removed.append(source[len(cache) :].split(os.sep)[0])
        real(source, target)

    monkeypatch.setattr(spool_module, "link_or_copy", removed_first)
    fresh = scratch_project.root / "fresh-site"
    result = build(Settings(scratch_project.root, fresh))
    assert result.ok, [d.format_text() for d in result.diagnostics]
    assert {"charts", "pages"} <= set(removed)
    # Each chart was drawn again, and its new entry too was removed before its link.
    assert result.charts_drawn == result.charts == removed.count("charts") / 2 > 0
    assert sorted(drawn) == sorted(p for p in made(fresh) if p.endswith(".svg"))
    assert tree_files(fresh) == tree_files(scratch_project.out)


def test_a_failed_build_with_gc_removes_nothing(scratch_project: ScratchProject) -> None:
    write_full_project(scratch_project)
    cache = scratch_project.root / ".charters-cache"
    gc_build(scratch_project)
    stale = plant(cache / "charts" / KEY[:2] / f"{KEY}.svg")
    before = cache_files(cache)
    scratch_project.write("charters/pricing/charter.yaml", "title: [unclosed\n")
    result = build(Settings(scratch_project.root, scratch_project.out, gc=True))
    assert not result.ok and result.pruned is None
    assert before <= cache_files(cache) and stale.exists()
    failed = run_cli("build", "--source", scratch_project.root, "--gc")
    assert failed.exit_code == 1 and "removed" not in failed.output
    assert stale.exists()


def test_gc_follows_no_symbolic_link(scratch_project: ScratchProject, tmp_path: Path) -> None:
    write_full_project(scratch_project)
    cache = scratch_project.root / ".charters-cache"
    gc_build(scratch_project)
    outside = tmp_path / "outside"
    target = plant(outside / "ab" / f"{KEY}.svg", b"not the cache's")
    plant(outside / "rules" / KEY[:2] / f"{KEY}.pickle", b"not the cache's")
    (cache / "charts" / "00").mkdir()
    links = [
        cache / "charts" / "00" / f"00{KEY[2:]}.svg",  # a link where an entry would be
        cache / "charts" / KEY[:2],  # a link where a folder of entries would be
        cache / "rules",  # a kind's whole folder
    ]
    shutil.rmtree(cache / "rules")
    if (cache / "charts" / KEY[:2]).exists():
        shutil.rmtree(cache / "charts" / KEY[:2])
    links[0].symlink_to(target)
    links[1].symlink_to(outside / "ab")
    links[2].symlink_to(outside / "rules")
    gc_build(scratch_project)
    assert target.read_bytes() == b"not the cache's"
    assert (outside / "rules" / KEY[:2] / f"{KEY}.pickle").read_bytes() == b"not the cache's"
    assert all(link.is_symlink() for link in links)


def test_the_cli_says_what_gc_removed(scratch_project: ScratchProject) -> None:
    write_full_project(scratch_project)
    result = run_cli("build", "--source", scratch_project.root, "--gc")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "removed 0 unused cache entries"
    cache = scratch_project.root / ".charters-cache"
    for n in range(3):
        plant(cache / "charts" / KEY[:2] / f"{KEY[:-1]}{n}.svg", b"x" * 40_000)
    result = run_cli("build", "--source", scratch_project.root, "--gc")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "removed 3 unused cache entries (0.1 MB)"
    plant(cache / "charts" / KEY[:2] / f"{KEY}.svg")
    result = run_cli("build", "--source", scratch_project.root, "--gc", "--quiet")
    assert (result.exit_code, result.stdout) == (0, "")
    assert not (cache / "charts" / KEY[:2] / f"{KEY}.svg").exists()
    assert "--gc" in run_cli("build", "--help").stdout


def in_git(
    project: ScratchProject,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    write: Callable[[ScratchProject], None],
) -> Path:
    """The project written by `write` and committed (cache and site ignored); its root."""
    isolate_git(monkeypatch, tmp_path / "home")
    write(project)
    project.write(".gitignore", ".charters-cache/\nsite/\n")
    init_repo(project.root)
    commit(project.root, "charters", "Ana", "2026-05-01T10:00:00Z")
    return project.root


def test_gc_keeps_the_historys_files_of_this_source_alone(
    scratch_project: ScratchProject, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root = in_git(scratch_project, monkeypatch, tmp_path, write_full_project)
    cache = root / ".charters-cache"
    gc_build(scratch_project)
    mine = {p for p in cache_files(cache) if p.startswith("history/")}
    heads = [p for p in mine if not p.startswith("history/verdicts/")]
    assert len(heads) == 1 and len(mine) == 2  # this head's history, the verdicts
    source = heads[0].removeprefix("history/").split("-")[0]
    assert f"history/verdicts/{source}.json" in mine
    others = [  # another checkout's history (another source folder)
        plant(cache / "history" / f"{'0' * 16}-{'1' * 40}-{'2' * 8}.json"),
        plant(cache / "history" / "verdicts" / f"{'0' * 16}.json"),
        plant(cache / "history" / f"{'0' * 16}-{'1' * 40}-{'2' * 8}.4242.tmp"),
    ]
    scratch_project.charter("pricing", title="Dynamic pricing, second try", team=None)
    commit(root, "pricing renamed", "Ana", "2026-05-02T10:00:00Z")
    gc_build(scratch_project)
    assert [p for p in others if p.exists()] == []
    now = {p for p in cache_files(cache) if p.startswith("history/")}
    assert len(now) == 2 and f"history/verdicts/{source}.json" in now
    assert now - mine  # the new head's history
    assert gc_build(scratch_project).unchanged  # a no-op keeps them too
    assert {p for p in cache_files(cache) if p.startswith("history/")} == now


def test_a_damaged_record_of_what_a_build_used_is_not_trusted(
    scratch_project: ScratchProject,
) -> None:
    write_full_project(scratch_project)
    cache = scratch_project.root / ".charters-cache"
    gc_build(scratch_project)
    kept = cache_files(cache)
    (record,) = cache.glob("builds/*/*.used")
    text = record.read_bytes()
    record.write_bytes(text[: len(text) // 2])  # cut short: would name half the entries
    result = gc_build(scratch_project)
    assert not result.unchanged  # a full build finds out again
    assert result.pruned is not None and result.pruned.entries == 0
    assert cache_files(cache) == kept
    again = gc_build(scratch_project)  # recorded whole again: a no-op that removes nothing
    assert again.unchanged and again.pruned is not None and again.pruned.entries == 0


def test_every_kind_of_entry_a_build_or_check_makes_is_one_gc_prunes(
    scratch_project: ScratchProject, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`prune.KINDS` names the cache's folders by hand: a kind added without it would
    never be pruned. A build with history and `--gc`, a check and a serve-like build
    (charters kept in memory) make every kind there is."""
    root = in_git(scratch_project, monkeypatch, tmp_path, write_project)
    gc_build(scratch_project)
    checked_tree = run_cli("check", "--source", str(root))  # the rules find problems
    assert checked_tree.exit_code == 1 and "MC104 error" in checked_tree.output
    edit_a_result(scratch_project)
    served = build(Settings(root, tmp_path / "served", live_reload="x", kept=Kept(), in_place=True))
    assert served.ok
    cache = root / ".charters-cache"
    made = {p.name for p in cache.iterdir() if p.is_dir()}
    assert {p.name for p in cache.iterdir() if not p.is_dir()} == {".gitignore", "CACHEDIR.TAG"}
    known = {*prune.KINDS, "templates", "history"}  # the last two: prune's own patterns
    assert made - known == set()
    # Each kind in the list is one a build or check makes (no name left from a rename).
    assert set(prune.KINDS) - made == set()


def serve_build(project: ScratchProject, kept: Kept, out: Path) -> BuildResult:
    """A build as `charters serve` makes it: charters kept in memory, its own folder
    written in place, pages with the live-reload placeholder."""
    result = build(Settings(project.root, out, live_reload="x", kept=kept, in_place=True))
    assert result.ok, [d.format_text() for d in result.diagnostics]
    kept.removed()  # what it no longer used goes in a thread: the next build waits too
    return result


def test_a_serving_process_removes_what_its_own_builds_left_behind(
    scratch_project: ScratchProject, observed: Observed, drawn: list[str], tmp_path: Path
) -> None:
    """Saves in `charters serve` leave the cache holding the last state they made, the
    entries of `charters build` untouched, and what the next `charters build` needs."""
    write_project(scratch_project)
    cache = scratch_project.root / ".charters-cache"
    assert build(Settings(scratch_project.root, scratch_project.out)).ok
    built = made(scratch_project.out)
    kept, served = Kept(), tmp_path / "served"
    serve_build(scratch_project, kept, served)
    first = made(served)

    edit_a_result(scratch_project)
    serve_build(scratch_project, kept, served)
    second = made(served)
    changed = {rel for rel, key in second.items() if first[rel] != key}
    assert changed == {
        "charters/routing/ttfr.svg",
        "charters/routing/index.html",
        "charters/routing/results.json",
        "charters/routing/results.csv",
    }
    files = cache_files(cache)
    for rel in changed:  # the second save's, and charters build's, which serve shared
        assert entry(rel, second[rel]) in files and entry(rel, built[rel]) in files, rel
    # The first save's own page of routing (a page served carries the live-reload
    # script: not the build's), superseded by the second's: gone.
    page = "charters/routing/index.html"
    assert first[page] != built[page] and entry(page, first[page]) not in files

    scratch_project.write(
        "charters/routing/results/ab.csv",
        FULL_RESULTS.replace("2026-05-11,ttfr,treatment,5.1", "2026-05-11,ttfr,treatment,4.6"),
    )
    serve_build(scratch_project, kept, served)
    third = made(served)
    assert {rel for rel, key in third.items() if second[rel] != key} == changed
    files = cache_files(cache)
    for rel in changed:
        assert entry(rel, second[rel]) not in files, rel  # the second save's, superseded
        assert entry(rel, third[rel]) in files, rel
        assert entry(rel, built[rel]) in files, rel  # charters build's: never serve's own
    for rel, key in third.items():  # every entry the last save used is there
        assert entry(rel, key) in files, rel
    # Of routing as loaded, the build's and the last save's remain (the second save's
    # went), and of the others the one the build wrote.
    assert len({p for p in files if p.startswith("charters/")}) == 4 + 1

    # The next `charters build` of the tree: nothing loaded anew, nothing drawn.
    observed.clear()
    drawn.clear()
    result = build(Settings(scratch_project.root, scratch_project.out))
    assert result.ok and result.charts_drawn == 0 and drawn == []
    assert observed.loaded == [] and observed.analysed == []
    assert observed.charter_pages == ["charters/routing/index.html"]  # as the build renders it


def test_a_template_saved_again_in_serve_leaves_one_set_of_its_pages(
    scratch_project: ScratchProject, tmp_path: Path
) -> None:
    """Every charter page rendered again at every save of charter.html: the cache keeps the
    pages of the last save only, not one set a save."""
    write_project(scratch_project)
    cache = scratch_project.root / ".charters-cache"
    kept, served = Kept(), tmp_path / "served"
    serve_build(scratch_project, kept, served)
    pages = {p for p in cache_files(cache) if p.startswith("pages/")}
    assert len([p for p in pages if p.endswith(".html")]) == 4
    charter_html = (Path(__file__).parents[2] / "templates" / "charter.html").read_text()
    for save in range(3):
        marked = charter_html.replace(
            "{% block content %}", f"{{% block content %}}<!-- save {save} -->", 1
        )
        scratch_project.write("templates/charter.html", marked)
        serve_build(scratch_project, kept, served)
        now = {p for p in cache_files(cache) if p.startswith("pages/")}
        assert len([p for p in now if p.endswith(".html")]) == 4, save
        assert now.isdisjoint(pages)  # the pages and sums of the save before: gone
        pages = now
    page = (served / "charters" / "routing" / "index.html").read_text()
    assert "<!-- save 2 -->" in page
    # The data tables were not rendered again (a template edit reuses them): still there.
    assert {p for p in cache_files(cache) if p.startswith("tables/")}


def test_a_failed_save_removes_nothing_and_its_entries_go_once_unused(
    scratch_project: ScratchProject, tmp_path: Path
) -> None:
    write_project(scratch_project)
    cache = scratch_project.root / ".charters-cache"
    kept, served = Kept(), tmp_path / "served"
    serve_build(scratch_project, kept, served)
    edit_a_result(scratch_project)
    serve_build(scratch_project, kept, served)
    before = cache_files(cache)
    good = (scratch_project.root / "charters/triage/charter.yaml").read_text()
    scratch_project.write("charters/triage/charter.yaml", good.replace("title:", "title: [", 1))
    failed = build(
        Settings(scratch_project.root, served, live_reload="x", kept=kept, in_place=True)
    )
    assert not failed.ok and kept.removing is None
    assert before <= cache_files(cache)  # a failed build removes nothing
    scratch_project.write("charters/triage/charter.yaml", good)
    serve_build(scratch_project, kept, served)
    assert kept.written and all(os.path.isfile(p) for p in kept.written)


def test_the_entries_of_a_save_whose_build_raised_go_once_unused(
    scratch_project: ScratchProject, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A build in serve that raised (a bug, a write refused) left what it wrote out of
    `Kept.written`, so the server never removed it: only `--gc` did."""
    import generator.pages as pages_module

    write_project(scratch_project)
    cache = scratch_project.root / ".charters-cache"
    kept, served = Kept(), tmp_path / "served"
    serve_build(scratch_project, kept, served)
    before = cache_files(cache)
    edit_a_result(scratch_project)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in rendering")

    with monkeypatch.context() as patched:
        patched.setattr(pages_module, "render_pages", broken)
        with pytest.raises(RuntimeError):
            build(Settings(scratch_project.root, served, live_reload="x", kept=kept, in_place=True))
    left = cache_files(cache) - before
    assert {p.split("/")[0] for p in left} >= {"charters", "charts"}  # routing, its ttfr chart
    assert {str(cache / p) for p in left} <= kept.written.keys()
    scratch_project.write(
        "charters/routing/results/ab.csv",
        FULL_RESULTS.replace("2026-05-11,ttfr,treatment,5.1", "2026-05-11,ttfr,treatment,4.6"),
    )
    serve_build(scratch_project, kept, served)
    assert left.isdisjoint(cache_files(cache))


def test_the_next_build_waits_for_what_the_last_one_removes(
    scratch_project: ScratchProject, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The removal runs in a thread; a build that starts meanwhile waits for it, so it
    never finds an entry that is then removed under it."""
    write_project(scratch_project)
    kept, served = Kept(), tmp_path / "served"
    serve_build(scratch_project, kept, served)
    edit_a_result(scratch_project)
    gate, order = threading.Event(), []
    real = prune.remove_unchanged_since

    def slow(paths: list[tuple[str, int]], since: float) -> None:
        gate.wait(10)
        real(paths, since)
        order.append("removed")

    monkeypatch.setattr(prune, "remove_unchanged_since", slow)
    build(Settings(scratch_project.root, served, live_reload="x", kept=kept, in_place=True))
    assert kept.removing is not None and kept.removing.is_alive()
    timer = threading.Timer(0.2, lambda: (order.append("released"), gate.set()))
    timer.start()
    real_open = build_module.open_cache

    def observed(*args: object) -> object:
        order.append("next build")  # its first look at the cache
        return real_open(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(build_module, "open_cache", observed)
    serve_build(scratch_project, kept, served)
    timer.join()
    assert order == ["released", "removed", "next build"]


def test_a_removal_without_a_thread_removes_at_once_and_later_builds_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A serving process that cannot start the removal's thread (a thread limit) removes
    the entries itself; it keeps no thread never started, whose join failed every
    later build."""
    import time

    from generator.reuse import Kept

    entry = tmp_path / "entry"
    entry.write_text("old")
    os.utime(entry, (1, 1))

    def no_thread(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", no_thread)
    kept = Kept()
    kept.remove([(str(entry), entry.stat().st_ino)], time.time())
    assert not entry.exists()
    assert kept.removing is None
    kept.removed()  # the next build's wait: nothing to join


def test_an_entry_another_build_wrote_over_is_not_removed_even_by_an_old_time(
    tmp_path: Path,
) -> None:
    """A file system keeps times coarser than the clock, so an entry another build wrote
    over just after this build began may still seem older than it: the inode says it is
    another file, and it stays."""
    old, ours, theirs = tmp_path / "old", tmp_path / "ours", tmp_path / "theirs"
    for path in (old, ours, theirs):
        path.write_text(path.name)
    mine = {path: path.stat().st_ino for path in (old, ours)}
    tmp = tmp_path / "theirs.tmp"  # as Cache._install writes: a new file renamed over it
    tmp.write_text("written again by another build")
    os.replace(tmp, ours)
    for path in (old, ours, theirs):
        os.utime(path, (OLD, OLD))
    prune.remove_unchanged_since(
        [(str(old), mine[old]), (str(ours), mine[ours]), (str(theirs), 1)], OLD + 1
    )
    assert not old.exists()  # still the file written, and older: removed
    assert ours.read_text() == "written again by another build"
    assert theirs.exists()


def test_an_entry_is_discarded_only_while_it_is_the_file_this_build_noted(
    tmp_path: Path,
) -> None:
    """A forked copy killed between noting an entry and putting it in place left another
    build's file there, which is the same content by its key: it stays."""
    from generator.cache import Cache

    cache = Cache(tmp_path / "cache")
    cache.put("pages", "a" * 40, b"mine", ".html")
    cache.put("pages", "b" * 40, b"theirs", ".html")
    mine, theirs = sorted(cache.written)
    noted = {theirs: cache.written[theirs] + 1}  # noted, never put in place
    cache.discard([theirs], noted)
    assert Path(theirs).read_bytes() == b"theirs"
    cache.discard([mine])
    assert not Path(mine).exists()
