"""The build cache: no-op builds write nothing, edits redraw only what they change,
bad cache entries are rebuilt, and the bytes never depend on the cache or the folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest
from helpers import ScratchProject, copy_examples, run_cli
from history_repo import git, init_repo

import generator.charts as charts_stage
import generator.charts.draw as draw_module
import generator.load as load_module
from generator.build import BuildResult, Settings, build
from generator.cache import Cache
from generator.charts.draw import DrawProgress
from generator.reuse import Kept

from .test_build import FULL_RESULTS, tree_files, write_full_project

EPOCH = "1797292800"  # 2026-12-15, after every example result


def snapshot(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Every entry under `folder` (the folder itself too): inode, size, mtime in ns."""
    entries = {".": folder.stat()}
    entries.update({p.relative_to(folder).as_posix(): p.lstat() for p in folder.rglob("*")})
    return {k: (s.st_ino, s.st_size, s.st_mtime_ns) for k, s in entries.items()}


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The site paths of the charts each build draws (the real drawing, observed)."""
    paths: list[str] = []
    real = charts_stage.draw_each

    def observed(
        jobs: Iterable[charts_stage.ChartJob], total: int, progress: DrawProgress | None = None
    ) -> Iterator[tuple[charts_stage.ChartJob, bytes]]:
        for job, svg in real(jobs, total, progress):
            paths.append(job.path)
            yield job, svg

    monkeypatch.setattr(charts_stage, "draw_each", observed)
    return paths


def test_a_second_build_of_an_unchanged_tree_does_nothing(
    scratch_project: ScratchProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_full_project(scratch_project)
    first = scratch_project.build()
    assert first.ok and first.charts_drawn == first.charts > 0
    before = snapshot(scratch_project.out)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a no-op build rendered or drew something")

    monkeypatch.setattr(jinja2.Environment, "get_template", refuse)
    monkeypatch.setattr(draw_module, "render_svg", refuse)
    second = scratch_project.build()
    assert second.ok and second.unchanged
    assert (second.charts_drawn, second.rendered) == (0, 0)
    assert (second.charters, second.pages, second.charts) == (
        first.charters,
        first.pages,
        first.charts,
    )
    assert second.charts_cached == first.charts
    assert snapshot(scratch_project.out) == before
    assert second.summary().endswith("; nothing changed")
    assert f"{first.charts} charts (0 drawn, {first.charts} cached)" in second.summary()


def test_a_no_op_build_reports_the_warnings_again(scratch_project: ScratchProject) -> None:
    write_full_project(scratch_project)
    # A link to a missing file is a warning; the build goes on.
    text = (scratch_project.root / "charters/routing/charter.yaml").read_text("utf-8")
    scratch_project.write(
        "charters/routing/charter.yaml", text.replace("results/ab.csv", "results/gone.csv")
    )
    first = scratch_project.build()
    second = scratch_project.build()
    assert second.unchanged
    warnings = [d.format_text() for d in first.diagnostics if d.severity == "warning"]
    assert warnings and [d.format_text() for d in second.diagnostics] == warnings


def test_a_damaged_site_is_built_again(scratch_project: ScratchProject) -> None:
    write_full_project(scratch_project)
    scratch_project.build()
    expected = tree_files(scratch_project.out)
    page = scratch_project.out / "charters/pricing/index.html"
    page.write_text("truncated", encoding="utf-8")
    (scratch_project.out / "404.html").unlink()
    result = scratch_project.build()
    assert not result.unchanged and result.charts_drawn == 0
    assert tree_files(scratch_project.out) == expected


def test_one_result_edit_redraws_exactly_that_metrics_charts(
    scratch_project: ScratchProject, drawn: list[str]
) -> None:
    write_full_project(scratch_project)
    scratch_project.build()
    assert sorted(drawn) == ["charters/routing/routing_precision.svg", "charters/routing/ttfr.svg"]
    before = snapshot(scratch_project.out)
    drawn.clear()
    scratch_project.write(
        "charters/routing/results/ab.csv",
        FULL_RESULTS.replace("2026-05-11,ttfr,treatment,5.1", "2026-05-11,ttfr,treatment,4.8"),
    )
    result = scratch_project.build()
    assert drawn == ["charters/routing/ttfr.svg"]
    assert (result.charts_drawn, result.charts_cached) == (1, 1)
    after = snapshot(scratch_project.out)
    # Files whose bytes did not change keep their inode and time: linked, not written.
    for rel in ("charters/routing/routing_precision.svg", "charters/pricing/index.html"):
        assert after[rel] == before[rel], rel
    assert after["charters/routing/ttfr.svg"] != before["charters/routing/ttfr.svg"]


def test_an_edit_of_one_charter_leaves_the_others_unpickled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The charters read back from the cache give what is made from every charter (the
    portfolio's filters and groups, teams, sitemap, redirects, the checks of pulls and
    links) what it reads of each without unpickling their models, rows or metrics; only
    those that claim a catalogued metric are, for its page and forest chart. The site is
    the cold build's all the same."""
    source = copy_examples(tmp_path / "src")
    churn = source / "charters/churn-prediction/charter.yaml"
    churn.write_text(churn.read_text("utf-8") + "aliases: [old-churn]\n", "utf-8")
    settings = Settings(source=source, out=tmp_path / "site")
    with monkeypatch.context() as patched:
        patched.setenv("SOURCE_DATE_EPOCH", EPOCH)
        assert build(settings).ok
        read_back: list[load_module.Stored] = []
        unpacked: list[str] = []
        stored_init, parts = load_module.Stored.__init__, load_module.Stored.parts

        def made(self: load_module.Stored, blob: bytes) -> None:
            stored_init(self, blob)
            read_back.append(self)

        def observed(self: load_module.Stored) -> tuple[Any, ...]:
            found = parts(self)
            unpacked.append(found[0].title)
            return found

        patched.setattr(load_module.Stored, "__init__", made)
        patched.setattr(load_module.Stored, "parts", observed)
        summary = source / "charters/demand-forecasting/charter.yaml"
        summary.write_text(summary.read_text("utf-8").replace("summary: ", "summary: Now. ", 1))
        edited = build(settings)
        assert edited.ok and not edited.unchanged
        assert len(read_back) == edited.charters - 1 == 8  # all but the edited one
        assert sorted(set(unpacked)) == [
            "Query autocomplete from purchase-weighted queries",
            "Search ranking with a neural re-ranker",
        ]  # the two that claim catalogued metrics (metrics.yaml)
        incremental = tree_files(settings.out)
        assert "Now. " in incremental["charters/demand-forecasting/index.html"].decode()
        assert "charters/old-churn/index.html" in incremental
        shutil.rmtree(source / ".charters-cache")
        shutil.rmtree(settings.out)
        assert build(settings).ok
    assert tree_files(settings.out) == incremental


def test_bad_cache_entries_are_ignored_and_made_again(
    scratch_project: ScratchProject, drawn: list[str]
) -> None:
    write_full_project(scratch_project)
    scratch_project.build()
    expected = tree_files(scratch_project.out)
    cache = scratch_project.root / ".charters-cache"
    entries = [p for p in cache.rglob("*") if p.is_file() and p.parent != cache]
    assert sorted(p.name for p in cache.iterdir() if p.is_file()) == [".gitignore", "CACHEDIR.TAG"]
    kinds = {"charts", "builds", "templates", "charters", "charts-of", "pages"}
    kinds |= {"fragments", "tables", "downloads", "memo", "rules"}
    kinds.add("checks")  # the report `charters check` would print, stored by the build
    kinds |= {"check-json", "api-json"}  # each charter's part of that report and of the API
    kinds.add("feed")  # each charter's entries of feed.xml
    assert {p.parent.parent.name for p in entries} == kinds
    for path in entries:  # truncated: half of each entry
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    shutil.rmtree(scratch_project.out)
    drawn.clear()
    result = scratch_project.build()
    assert result.ok and len(drawn) == 2
    assert tree_files(scratch_project.out) == expected
    # A no-op needs a readable record of the build: a foreign one means a full build.
    for path in cache.glob("builds/*/*.json"):
        path.write_text('{"format": "someone else", "diagnostics": []}', encoding="utf-8")
    again = scratch_project.build()
    assert again.ok and not again.unchanged and again.charts_drawn == 0
    assert tree_files(scratch_project.out) == expected


def test_a_compiled_template_damaged_inside_is_compiled_again(
    scratch_project: ScratchProject,
) -> None:
    """Jinja checks a compiled template's source hash, not its code: one bit flipped in a
    string of base.html's compiled code (`</footer>` read `</gooter>`) was published on
    every page (review). Each entry now says its size and CRC-32 first."""
    write_full_project(scratch_project)
    scratch_project.write("site.yaml", "title: Portfolio\n")
    scratch_project.build()
    cache = scratch_project.root / ".charters-cache"
    flipped = 0
    for path in cache.glob("templates/*/__jinja2_*.cache"):
        data = path.read_bytes()
        at = data.find(b"</footer>")
        if at >= 0:
            path.write_bytes(data[: at + 2] + bytes([data[at + 2] ^ 1]) + data[at + 3 :])
            flipped += 1
    assert flipped
    scratch_project.write("site.yaml", "title: Charters\n")  # every page rendered again
    assert scratch_project.build().ok
    damaged = tree_files(scratch_project.out)
    shutil.rmtree(cache)
    shutil.rmtree(scratch_project.out)
    assert scratch_project.build().ok
    cold = tree_files(scratch_project.out)
    assert damaged == cold
    assert not any(b"</gooter>" in data for data in damaged.values())


def test_a_cache_folder_that_cannot_be_written_costs_a_warning(
    scratch_project: ScratchProject, tmp_path: Path
) -> None:
    write_full_project(scratch_project)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    settings = Settings(scratch_project.root, scratch_project.out, cache_dir=blocker / "cache")
    result = build(settings)
    assert result.ok
    (warning,) = [d for d in result.diagnostics if d.code == "cache"]
    assert warning.severity == "warning"
    assert "cannot write the cache folder (Not a directory)" in warning.message
    assert warning.ref.path == str(blocker / "cache")  # the folder given, not .charters-cache
    assert (scratch_project.out / "charters/routing/ttfr.svg").is_file()
    assert not (scratch_project.root / ".charters-cache").exists()


def test_the_cache_folder_is_chosen_by_option_or_environment(
    scratch_project: ScratchProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_full_project(scratch_project)
    by_env, by_option = tmp_path / "env-cache", tmp_path / "option-cache"
    monkeypatch.setenv("CHARTERS_CACHE_DIR", str(by_env))
    src, out = scratch_project.root, tmp_path / "site"
    result = run_cli("build", "--source", src, "--out", out)
    assert result.exit_code == 0, result.output
    assert "(2 drawn, 0 cached)" in result.stdout
    assert list(by_env.glob("charts/*/*.svg"))
    assert not (src / ".charters-cache").exists()
    result = run_cli("build", "--source", src, "--out", out, "--cache-dir", by_option)
    assert result.exit_code == 0, result.output
    assert "nothing changed" not in result.stdout  # no record of this build in that cache
    # An empty cache takes the unchanged charts from the previous site, and keeps them.
    assert "(0 drawn, 2 cached)" in result.stdout
    assert len(list(by_option.glob("charts/*/*.svg"))) == 2


def test_a_chart_is_taken_from_the_site_only_when_made_from_the_same_key(
    scratch_project: ScratchProject, drawn: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The manifest records each chart's cache key (spec, chart id, drawing code); a chart
    the previous build made from the same key is the site's file, linked unread."""
    write_full_project(scratch_project)
    assert scratch_project.build().ok
    svg = scratch_project.out / "charters/routing/ttfr.svg"
    inode = svg.stat().st_ino
    cache = scratch_project.root / ".charters-cache"
    shutil.rmtree(cache / "charts")
    scratch_project.charter("pricing", title="Dynamic pricing, again", team=None)
    drawn.clear()
    result = scratch_project.build()
    assert result.ok and drawn == [] and result.charts_drawn == 0
    assert svg.stat().st_ino == inode  # the very file, not a copy
    assert len(list(cache.glob("charts/*/*.svg"))) == 2  # kept again for the next build
    # New drawing code: the same spec no longer names the same picture. (New code is a new
    # generator fingerprint, so no charter's kept description of its charts is found either.)
    monkeypatch.setattr(charts_stage, "chart_key", lambda key, cid: f"other-{key}-{cid}")
    shutil.rmtree(cache / "charts-of")
    scratch_project.charter("pricing", title="Dynamic pricing, third", team=None)
    result = scratch_project.build()
    assert result.ok and sorted(drawn) == [
        "charters/routing/routing_precision.svg",
        str(svg.relative_to(scratch_project.out)),
    ]


def test_a_serve_rebuild_asks_the_cache_folder_only_about_charts_it_has_not_seen_there(
    scratch_project: ScratchProject, drawn: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chart the served site has is stored in the cache when the cache lacks it; a
    process that builds again (serve) asks the folder about it once, not at every save."""
    write_full_project(scratch_project)
    root, out = scratch_project.root, scratch_project.root.parent / "served"
    served = Settings(root, out, kept=Kept(), in_place=True)
    cache = root / ".charters-cache"
    asked: list[str] = []
    entry = Cache.entry

    def noted(self: Cache, kind: str, key: str, suffix: str = "", count: bool = True) -> str | None:
        asked.append(kind)
        return entry(self, kind, key, suffix, count)

    monkeypatch.setattr(Cache, "entry", noted)
    assert build(served).ok and len(drawn) == 2  # drawn and stored: not asked about
    for title in ("Dynamic pricing, again", "Dynamic pricing, third"):
        asked.clear()
        scratch_project.charter("pricing", title=title, team=None)
        result = build(served)
        assert result.ok and len(drawn) == 2 and result.charts_drawn == 0
    assert "charts" not in asked  # the second save: both charts seen there by the first
    # Emptied while serving, the cache gets them again from the next process's build.
    shutil.rmtree(cache / "charts")
    scratch_project.charter("pricing", title="Dynamic pricing, fourth", team=None)
    assert build(served).ok and not list(cache.glob("charts/*/*.svg"))
    scratch_project.charter("pricing", title="Dynamic pricing, fifth", team=None)
    assert build(Settings(root, out, in_place=True)).ok
    assert len(list(cache.glob("charts/*/*.svg"))) == 2 and len(drawn) == 2


# --- the examples --------------------------------------------------------------------------


def edit_examples(src: Path) -> None:
    """A result row, a charter's title, a template and site.yaml changed."""
    results = src / "charters/support-ticket-routing/results/ab-test.csv"
    lines = results.read_text("utf-8").splitlines(keepends=True)
    fields = lines[-1].split(",")
    fields[3] = str(float(fields[3]) + 0.1)
    results.write_text("".join(lines[:-1]) + ",".join(fields), encoding="utf-8")
    charter = src / "charters/churn-prediction/charter.yaml"
    charter.write_text(charter.read_text("utf-8").replace("title: ", "title: Edited ", 1), "utf-8")
    (src / "templates").mkdir(exist_ok=True)
    (src / "templates/robots.txt").write_text("User-agent: *\nDisallow: /x/\n", "utf-8")
    site = src / "site.yaml"
    site.write_text(site.read_text("utf-8").replace("title: ", "title: Edited ", 1), "utf-8")


def built(src: Path, out: Path, cache: Path) -> BuildResult:
    result = build(Settings(src, out, cache_dir=cache))
    assert result.ok, [d.format_text() for d in result.diagnostics]
    return result


def test_the_examples_same_bytes_incremental_or_cold_in_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    one = copy_examples(tmp_path / "one" / "src")
    two = copy_examples(tmp_path / "elsewhere" / "deeper" / "checkout")
    built(one, tmp_path / "one-site", tmp_path / "one-cache")
    cold = built(two, tmp_path / "two-site", tmp_path / "two-cache")
    assert cold.charts_drawn == cold.charts  # nothing shared between the two
    assert tree_files(tmp_path / "one-site") == tree_files(tmp_path / "two-site")
    edit_examples(one)
    edit_examples(two)
    incremental = built(one, tmp_path / "one-site", tmp_path / "one-cache")
    assert 0 < incremental.charts_drawn < incremental.charts
    fresh = built(two, tmp_path / "fresh-site", tmp_path / "fresh-cache")
    assert fresh.charts_drawn == fresh.charts
    assert tree_files(tmp_path / "one-site") == tree_files(tmp_path / "fresh-site")
    assert os.environ["SOURCE_DATE_EPOCH"] == EPOCH


def test_two_git_checkouts_in_different_folders_give_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two clones of one commit, in different folders with different cache folders, build
    the same bytes, the manifest (which records the input's fingerprint) included: where
    a repository lies on disk is not part of the input."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    origin = copy_examples(tmp_path / "origin")
    (origin / ".gitignore").write_text(".charters-cache/\n", "utf-8")
    init_repo(origin)
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "examples")
    one, two = tmp_path / "one" / "src", tmp_path / "elsewhere" / "deeper" / "checkout"
    for dest in (one, two):
        dest.parent.mkdir(parents=True)
        git(tmp_path, "clone", "-q", str(origin), str(dest))
    first = built(one, tmp_path / "one-site", tmp_path / "one-cache")
    second = built(two, tmp_path / "two-site", tmp_path / "two-cache")
    assert first.charts_drawn == first.charts and second.charts_drawn == second.charts
    page = (tmp_path / "one-site" / "charters/search-ranking/index.html").read_text("utf-8")
    assert 'id="history"' in page  # the history was read from git
    assert tree_files(tmp_path / "one-site") == tree_files(tmp_path / "two-site")


def test_a_cache_folder_committed_as_a_link_is_not_followed(
    scratch_project: ScratchProject, tmp_path: Path
) -> None:
    write_full_project(scratch_project)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (scratch_project.root / ".charters-cache").symlink_to(elsewhere)
    result = scratch_project.build()
    assert result.ok
    assert [d.message for d in result.diagnostics if d.code == "cache"] == [
        ".charters-cache is a symbolic link; the build goes on without a cache"
    ]
    assert list(elsewhere.iterdir()) == []
    assert (scratch_project.out / "charters/routing/ttfr.svg").is_file()


def test_a_cache_folder_among_the_input_or_overlapping_the_site_is_refused(
    scratch_project: ScratchProject, tmp_path: Path
) -> None:
    """`--cache-dir charters/x` made charters/ hold cache folders, and every later build
    failed on them ("folder has no charter.yaml"); `--cache-dir` equal to `--out`
    published the cache (pickles, compiled templates) with the site."""
    write_full_project(scratch_project)
    root = scratch_project.root
    charters = sorted(p.name for p in (root / "charters").iterdir())
    for inside in ("charters/cache", "templates/cache", "."):
        out = tmp_path / f"site-{len(inside)}"
        result = build(Settings(root, out, cache_dir=root / inside))
        assert result.ok
        (warning,) = [d for d in result.diagnostics if d.code == "cache"]
        assert warning.ref.path == inside
        assert "every build reads as input; the build goes on without a cache" in (warning.message)
    assert sorted(p.name for p in (root / "charters").iterdir()) == charters
    assert not (root / "templates").exists()
    # charters/ a link to a folder elsewhere in the tree: the same folder, the same rule.
    (root / "data").mkdir()
    (root / "charters").rename(root / "data" / "charters")
    (root / "charters").symlink_to(Path("data") / "charters")
    result = build(Settings(root, tmp_path / "site-link", cache_dir=root / "charters" / "zz"))
    assert result.ok
    assert [d.ref.path for d in result.diagnostics if d.code == "cache"] == ["charters/zz"]
    assert sorted(p.name for p in (root / "data" / "charters").iterdir()) == charters
    site = tmp_path / "site"
    for cache in (site, site / "cache", tmp_path):
        result = run_cli("build", "--source", root, "--out", site, "--cache-dir", cache)
        assert result.exit_code == 1
        assert f"cache folder {cache} and output folder {site} overlap" in result.stderr
    assert not site.exists()


def test_a_cache_committed_to_git_is_not_trusted(scratch_project: ScratchProject) -> None:
    """A pull request could commit `.charters-cache/` with a chart of its own making (or
    compiled template code): a cache git tracks is not used, and says why."""
    write_full_project(scratch_project)
    root = scratch_project.root
    (root / ".gitignore").write_text(".charters-cache/\nsite/\n")
    init_repo(root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "charters")
    first = scratch_project.build()
    assert first.ok and first.charts_drawn == first.charts > 0
    cached = sorted((root / ".charters-cache" / "charts").rglob("*.svg"))
    assert cached
    for svg in cached:  # the planted charts: valid-looking SVGs with a script
        svg.write_bytes(b'<?xml version="1.0"?><svg><script>alert(1)</script></svg>')
    git(root, "add", "-f", ".charters-cache")
    git(root, "commit", "-q", "-m", "a cache of my own")
    shutil.rmtree(scratch_project.out)
    again = scratch_project.build()
    assert again.ok
    assert again.charts_drawn == again.charts  # nothing taken from the committed cache
    assert [d.message for d in again.diagnostics if d.code == "cache"] == [
        ".charters-cache holds files committed to git; the build goes on without a cache"
        " (a cache is this machine's work: remove it from the repository with"
        " `git rm -r --cached .charters-cache`)"
    ]
    published = sorted(scratch_project.out.rglob("*.svg"))
    assert published and not any(b"<script>" in p.read_bytes() for p in published)


def test_an_ignored_cache_in_a_repository_is_used(scratch_project: ScratchProject) -> None:
    write_full_project(scratch_project)
    root = scratch_project.root
    (root / ".gitignore").write_text(".charters-cache/\nsite/\n")
    init_repo(root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "charters")
    assert scratch_project.build().ok
    shutil.rmtree(scratch_project.out)
    again = scratch_project.build()
    assert again.ok and again.charts_drawn == 0 and again.charts > 0
    assert [d for d in again.diagnostics if d.code == "cache"] == []


def test_a_no_op_build_imports_nothing_heavy(scratch_project: ScratchProject) -> None:
    """No YAML parser, model, templates or plotting: the no-op hashes files and stops."""
    write_full_project(scratch_project)
    assert scratch_project.build().ok
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from generator.build import Settings, build\n"
        f"result = build(Settings(Path({str(scratch_project.root)!r}),"
        f" Path({str(scratch_project.out)!r})))\n"
        "assert result.unchanged, result.summary()\n"
        "heavy = ('yaml', 'pydantic', 'jinja2', 'markdown', 'nh3', 'matplotlib', 'scipy',"
        " 'numpy')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_library_versions_are_those_the_metadata_gives() -> None:
    """The fingerprint reads versions from the names of `.dist-info` folders (cheap); they
    must be the versions the packages' metadata states, and a missing library is "none"."""
    from importlib import metadata

    from generator.cache import LIBRARIES, library_version

    for name in (*LIBRARIES, "click", "PyYAML", "Jinja2"):
        assert library_version(name) == metadata.version(name), name
    assert library_version("no-such-library-here") == "none"


def _save_after_the_walk(
    monkeypatch: pytest.MonkeyPatch, module: object, path: Path, text: str
) -> None:
    """Save `text` into `path` just after the walk that makes the keys: a user's save
    landing while the command reads the tree."""
    real = module.source_tree  # type: ignore[attr-defined]
    calls = []

    def walked(*args: object, **kwargs: object) -> object:
        tree = real(*args, **kwargs)
        if not calls:
            calls.append(1)
            path.write_text(text, encoding="utf-8")
        return tree

    monkeypatch.setattr(module, "source_tree", walked)


def test_a_file_saved_while_the_build_reads_it_files_nothing_under_the_old_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The keys came from one walk and the files were read later: a target saved as 99
    during a build was kept under the key of 41, so after undoing it to 41 the page said
    99. The build now sees the change, writes nothing and removes what it cached."""
    import generator.build as build_module

    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    source = copy_examples(tmp_path / "src")
    charter = source / "charters" / "churn-prediction" / "charter.yaml"
    original = charter.read_text(encoding="utf-8")
    at_41 = original.replace("target: {value: 32.50,", "target: {value: 41.00,")
    charter.write_text(at_41, encoding="utf-8")
    out = tmp_path / "site"
    assert run_cli("build", "--source", source, "--out", out).exit_code == 0
    page = out / "charters" / "churn-prediction" / "index.html"
    before = page.read_bytes()
    at_42 = at_41.replace("41.00", "42.00")
    charter.write_text(at_42, encoding="utf-8")
    _save_after_the_walk(monkeypatch, build_module, charter, at_42.replace("42.00", "99.00"))
    result = run_cli("build", "--source", source, "--out", out)
    assert result.exit_code == 1
    assert (
        "charters/churn-prediction: changed while the build read it (charters/churn-prediction);"
        " nothing was written: build again"
    ) in result.stderr
    assert page.read_bytes() == before
    monkeypatch.undo()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    charter.write_text(at_42, encoding="utf-8")  # undone: the version the keys were made of
    assert run_cli("build", "--source", source, "--out", out).exit_code == 0
    cold = tmp_path / "cold"
    args = ("--out", cold, "--cache-dir", tmp_path / "cold-cache")
    assert run_cli("build", "--source", source, *args).exit_code == 0
    assert page.read_bytes() == (cold / "charters" / "churn-prediction" / "index.html").read_bytes()
    assert b"42 USD" in page.read_bytes() and b"99 USD" not in page.read_bytes()


@pytest.mark.parametrize("failure", ["template error", "interrupt"])
def test_a_build_that_fails_after_a_save_while_it_read_files_nothing_under_the_old_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    """Only a build that got as far as writing the site looked for a save made while it
    read the tree: one stopped by an error in the templates, or interrupted, kept the
    charter saved at 99 under the key of the 42 walked, and once the template was mended
    and the save undone the page said 99."""
    import generator.build as build_module
    import generator.pages as pages_module

    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    source = copy_examples(tmp_path / "src")
    charter = source / "charters" / "churn-prediction" / "charter.yaml"
    at_42 = charter.read_text("utf-8").replace("target: {value: 32.50,", "target: {value: 42.00,")
    charter.write_text(at_42, encoding="utf-8")
    out, templates = tmp_path / "site", source / "templates"
    _save_after_the_walk(monkeypatch, build_module, charter, at_42.replace("42.00", "99.00"))
    if failure == "template error":
        templates.mkdir()
        (templates / "charter.html").write_text("{% if %}", encoding="utf-8")
        result = build(Settings(source, out))
        assert [d.code for d in result.diagnostics if d.severity == "error"] == [
            "template",
            "changed",
        ]
    else:

        def interrupted(*args: object, **kwargs: object) -> Any:
            raise KeyboardInterrupt

        monkeypatch.setattr(pages_module, "render_pages", interrupted)
        with pytest.raises(KeyboardInterrupt):
            build(Settings(source, out))
    assert not out.exists()
    monkeypatch.undo()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    shutil.rmtree(templates, ignore_errors=True)
    charter.write_text(at_42, encoding="utf-8")  # undone: the version the keys were made of
    assert build(Settings(source, out)).ok
    page = (out / "charters" / "churn-prediction" / "index.html").read_bytes()
    assert b"42 USD" in page and b"99 USD" not in page


def test_a_serve_build_that_raises_after_a_save_while_it_read_keeps_nothing_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """serve goes on after a build that raised (a write refused): the charter read from
    the saved text stayed in memory under the key of the text walked, and once the save
    was undone the next save's page said 99."""
    import generator.build as build_module
    import generator.pages as pages_module
    from generator.write import OutputError

    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    source = copy_examples(tmp_path / "src")
    charter = source / "charters" / "churn-prediction" / "charter.yaml"
    at_42 = charter.read_text("utf-8").replace("target: {value: 32.50,", "target: {value: 42.00,")
    charter.write_text(at_42, encoding="utf-8")
    kept, out = Kept(), tmp_path / "served"

    def served() -> BuildResult:
        return build(Settings(source, out, live_reload="x", kept=kept, in_place=True))

    assert served().ok
    _save_after_the_walk(monkeypatch, build_module, charter, at_42.replace("42.00", "99.00"))

    def refused(*args: object, **kwargs: object) -> Any:
        raise OutputError("cannot write the site: No space left on device")

    monkeypatch.setattr(pages_module, "render_pages", refused)
    charter.write_text(at_42 + "# a save\n", encoding="utf-8")
    with pytest.raises(OutputError):
        served()
    monkeypatch.undo()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    charter.write_text(at_42 + "# a save\n", encoding="utf-8")  # the 99 undone
    assert served().ok
    page = (out / "charters" / "churn-prediction" / "index.html").read_bytes()
    assert b"42 USD" in page and b"99 USD" not in page


def test_a_file_saved_while_check_reads_it_keeps_no_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check during which the broken target was fixed printed no error, and stored that
    report under the broken tree's key: the same broken tree then passed."""
    import generator.check_cache as check_module

    source = copy_examples(tmp_path / "src")
    charter = source / "charters" / "churn-prediction" / "charter.yaml"
    good = charter.read_text(encoding="utf-8")
    broken = good.replace("target: {value: 32.50,", "target: {value: oops,")
    charter.write_text(broken, encoding="utf-8")
    _save_after_the_walk(monkeypatch, check_module, charter, good)
    assert run_cli("check", "--source", source, "--today", "2026-12-15").exit_code == 0
    monkeypatch.undo()
    charter.write_text(broken, encoding="utf-8")
    result = run_cli("check", "--source", source, "--today", "2026-12-15")
    assert result.exit_code == 1
    assert "charters/churn-prediction/charter.yaml:35" in result.stdout + result.stderr


def test_the_cache_folder_is_ignored_by_git_and_tagged_for_backup_tools(
    scratch_project: ScratchProject, tmp_path: Path
) -> None:
    """As pytest's, mypy's and ruff's caches: a project with no .gitignore of its own
    commits none of its cache with `git add -A` (a committed cache would be refused), and
    backup tools skip it. A folder of one's own named with --cache-dir gets nothing."""
    write_full_project(scratch_project)
    root = scratch_project.root
    init_repo(root)
    assert scratch_project.build().ok
    cache = root / ".charters-cache"
    assert (cache / ".gitignore").read_text("utf-8").splitlines()[-1] == "*"
    tag = (cache / "CACHEDIR.TAG").read_text("utf-8")
    assert tag.startswith("Signature: 8a477f597d28d172789f06886806bc55\n")
    git(root, "add", "-A")
    staged = git(root, "diff", "--cached", "--name-only").split()
    assert "charters/pricing/charter.yaml" in staged
    assert not [name for name in staged if name.startswith(".charters-cache")]
    git(root, "commit", "-q", "-m", "charters")
    shutil.rmtree(scratch_project.out)
    again = scratch_project.build()
    assert again.ok and again.charts_drawn == 0 and again.charts > 0
    assert [d for d in again.diagnostics if d.code == "cache"] == []
    # --gc removes entries of the cache's own layout only.
    result = run_cli("build", "--source", root, "--out", scratch_project.out, "--gc")
    assert result.exit_code == 0, result.output
    assert (cache / ".gitignore").is_file() and (cache / "CACHEDIR.TAG").is_file()

    own = tmp_path / "own"
    own.mkdir()
    (own / "notes.txt").write_text("mine", "utf-8")
    made = tmp_path / "made" / "cache"
    for folder in (own, made):
        out = tmp_path / f"site-{folder.name}"
        result = run_cli("build", "--source", root, "--out", out, "--cache-dir", folder)
        assert result.exit_code == 0, result.output
        assert list(folder.glob("charts/*/*.svg"))
    assert sorted(p.name for p in own.iterdir() if p.is_file()) == ["notes.txt"]
    assert (made / ".gitignore").is_file() and (made / "CACHEDIR.TAG").is_file()


def test_an_oversized_charter_yaml_is_refused_by_its_size_without_being_read(
    scratch_project: ScratchProject,
) -> None:
    """A sparse charter.yaml of 3 GB: the build says it is too large, from its size. The
    tree's hash takes its size alone (two of the same size, one with a byte set in its
    middle, hash alike), so the walk does not read three gigabytes first."""
    from generator import readers
    from generator.cache import _UNREAD_ABOVE, source_tree

    assert max(readers.MAX_CHARTER_BYTES, readers.MAX_YAML_BYTES) <= _UNREAD_ABOVE
    write_full_project(scratch_project)
    scratch_project.build()
    before = tree_files(scratch_project.out)
    big = scratch_project.root / "charters/routing/charter.yaml"
    size = 3 * 1024**3
    with big.open("wb") as handle:
        handle.truncate(size)
    first = source_tree(scratch_project.root).digest
    with big.open("r+b") as handle:
        handle.seek(size // 2)
        handle.write(b"x")
    assert source_tree(scratch_project.root).digest == first
    with big.open("r+b") as handle:
        handle.truncate(size + 1)
    assert source_tree(scratch_project.root).digest != first

    result = run_cli("build", "--source", scratch_project.root, "--out", scratch_project.out)
    assert result.exit_code == 1, result.output
    assert "charters/routing/charter.yaml: file is 3,221,225,473 bytes; files of this kind" in (
        result.output
    )
    assert tree_files(scratch_project.out) == before
    # A small charter.yaml is hashed by its bytes, as every other file.
    scratch_project.charter("routing")
    small = source_tree(scratch_project.root).digest
    scratch_project.charter("routing", text=scratch_project.minimal_charter() + "\n")
    assert source_tree(scratch_project.root).digest != small
