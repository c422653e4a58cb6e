"""The per-charter cache: an edit of one charter reloads, re-analyses and re-renders that
charter alone; a change of what every charter shares redoes what depends on it; a damaged
entry is made again; and every build gives the bytes of a cold build."""

from __future__ import annotations

import json
import pickle
import re
import shutil
import struct
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from helpers import ScratchProject, copy_examples, parse_html

import generator.analyze as analyze_stage
import generator.load as load_stage
from generator.assets import BUILTIN_TEMPLATES
from generator.build import BuildResult, Settings, build
from generator.cache import summed
from generator.check import FORMATS, run_check
from generator.check_cache import Checked, checked
from generator.pages import Templates
from generator.reuse import Reuse
from generator.serve import SiteState

from .test_build import FULL_RESULTS, tree_files, write_full_project

EPOCH = "1797292800"  # 2026-12-15, after every example result
CATALOGUE = """\
- id: weekly_orders
  name: {name}
  definition: Orders placed per week.
  unit: orders
  direction: increase
  owner: Head of Sales
  agreed: {{by: [VP Sales], on: 2026-03-02}}
"""


class Observed:
    """What each build loaded, analysed and rendered (the real work, recorded)."""

    def __init__(self) -> None:
        self.loaded: list[str] = []
        self.analysed: list[str] = []
        self.rendered: list[str] = []

    def clear(self) -> None:
        self.loaded.clear()
        self.analysed.clear()
        self.rendered.clear()

    @property
    def charter_pages(self) -> list[str]:
        return sorted(p for p in self.rendered if p.startswith("charters/"))


@pytest.fixture
def observed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Observed]:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    seen = Observed()
    load_one, analyze_one, render = (
        load_stage._load_charter,
        analyze_stage.analyze_charter,
        Templates.render,
    )

    def loading(root: Path, folder: Path, *args: object) -> object:
        seen.loaded.append(folder.name)
        return load_one(root, folder, *args)  # type: ignore[arg-type]

    def analysing(loaded: load_stage.LoadedCharter) -> analyze_stage.CharterView:
        seen.analysed.append(loaded.id)
        return analyze_one(loaded)

    def rendering(self: Templates, template: str, page: str, **context: object) -> bytes:
        seen.rendered.append(page)
        return render(self, template, page, **context)

    monkeypatch.setattr(load_stage, "_load_charter", loading)
    monkeypatch.setattr(analyze_stage, "analyze_charter", analysing)
    monkeypatch.setattr(Templates, "render", rendering)
    yield seen


def cold(project: ScratchProject, tmp_path: Path) -> dict[str, bytes]:
    """The site of a cold build of the same tree: a fresh output and a fresh cache."""
    out, cache = tmp_path / "cold-site", tmp_path / "cold-cache"
    for folder in (out, cache):
        if folder.exists():
            shutil.rmtree(folder)
    result = build(Settings(project.root, out, cache_dir=cache))
    assert result.ok, [d.format_text() for d in result.diagnostics]
    return tree_files(out)


def built(project: ScratchProject) -> BuildResult:
    result = project.build()
    assert result.ok, [d.format_text() for d in result.diagnostics]
    return result


def test_one_charter_edit_redoes_that_charter_alone(
    scratch_project: ScratchProject, observed: Observed, tmp_path: Path
) -> None:
    write_full_project(scratch_project)
    built(scratch_project)
    assert sorted(observed.analysed) == ["pricing", "routing", "summaries"]
    observed.clear()
    scratch_project.charter("pricing", title="Dynamic pricing, second try", team=None)
    built(scratch_project)
    assert observed.loaded == ["pricing"]
    assert observed.analysed == ["pricing"]
    assert observed.charter_pages == ["charters/pricing/index.html"]
    # The portfolio lists every charter, so it is made again, from the cached views.
    assert "index.html" in observed.rendered
    site = tree_files(scratch_project.out)
    assert b"Dynamic pricing, second try" in site["charters/pricing/index.html"]
    assert b"Dynamic pricing, second try" in site["index.html"]
    assert site == cold(scratch_project, tmp_path)


def test_a_breached_guardrail_is_counted_from_a_charter_read_back(
    observed: Observed, tmp_path: Path
) -> None:
    """The portfolio counts the breached guardrails at the top; after an edit of another
    charter, search-ranking's view is read back from the cache without its metrics, and
    its breach is still counted (a flag kept with the view), as a cold build counts it."""
    source = copy_examples(tmp_path / "source")
    settings = Settings(source, tmp_path / "site", cache_dir=tmp_path / "cache")
    assert build(settings).ok
    observed.clear()
    churn = source / "charters/churn-prediction/charter.yaml"
    churn.write_text(churn.read_text().replace("title: ", "title: Renamed ", 1))
    assert build(settings).ok
    assert observed.loaded == ["churn-prediction"]
    home = parse_html((tmp_path / "site/index.html").read_text())
    alerts = home.find("ul", **{"aria-label": "Projects with an alert"})
    assert "1 Guardrail breached" in " ".join(alerts.text().split())
    out, cache = tmp_path / "cold-site", tmp_path / "cold-cache"
    assert build(Settings(source, out, cache_dir=cache)).ok
    assert tree_files(tmp_path / "site") == tree_files(out)


def test_a_failed_build_keeps_the_charters_it_loaded_for_the_build_after_the_fix(
    scratch_project: ScratchProject, observed: Observed, tmp_path: Path
) -> None:
    # After a generator upgrade every charter is loaded anew (here: no cache yet). With one
    # charter in error the build fails, and used to keep none of the others, so every
    # build loaded them all again until the fix.
    write_full_project(scratch_project)
    scratch_project.charter("pricing", title="Dynamic pricing", team=None, status="shelved")
    failed = scratch_project.build()
    assert not failed.ok and {d.ref.path for d in failed.diagnostics if d.severity == "error"} == {
        "charters/pricing/charter.yaml"
    }
    assert sorted(observed.analysed) == ["routing", "summaries"]
    observed.clear()
    assert not scratch_project.build().ok  # still in error: the others are read back
    assert observed.loaded == ["pricing"] and observed.analysed == []
    observed.clear()
    scratch_project.charter("pricing", title="Dynamic pricing", team=None)  # the fix
    built(scratch_project)
    assert observed.loaded == ["pricing"] and observed.analysed == ["pricing"]
    assert tree_files(scratch_project.out) == cold(scratch_project, tmp_path)


def test_a_build_failed_by_its_catalogue_keeps_no_charter(
    scratch_project: ScratchProject, observed: Observed
) -> None:
    # A charter's key holds metrics.yaml: fixing it changes every key, so a charter
    # analysed while it is in error would never be read back.
    write_full_project(scratch_project)
    scratch_project.write("metrics.yaml", "metrics: [unclosed\n")
    failed = scratch_project.build()
    assert not failed.ok
    assert any(d.ref.path == "metrics.yaml" for d in failed.diagnostics if d.severity == "error")
    assert observed.loaded and observed.analysed == []


def test_unchanged_pages_and_downloads_are_linked_from_the_site_unread(
    scratch_project: ScratchProject, observed: Observed, tmp_path: Path
) -> None:
    """The previous build's manifest names the key each charter page and download was made
    from; an unchanged one is the current site's file, linked, and the cache is not read."""
    write_full_project(scratch_project)
    built(scratch_project)
    site = scratch_project.out
    manifest = json.loads((site / ".charters-site.json").read_text(encoding="utf-8"))
    assert {
        "charters/routing/index.html",
        "charters/routing/results.csv",
        "charters/routing/results.json",
    } <= set(manifest["made"])
    before = {rel: (site / rel).stat().st_ino for rel in manifest["made"]}
    cache = scratch_project.root / ".charters-cache"
    shutil.rmtree(cache / "pages")
    shutil.rmtree(cache / "downloads")
    # A page changed by hand to another size is not the previous build's: made again.
    (site / "charters/summaries/index.html").write_text("changed by hand", encoding="utf-8")
    observed.clear()
    scratch_project.charter("pricing", title="Dynamic pricing, second try", team=None)
    built(scratch_project)
    assert observed.charter_pages == [
        "charters/pricing/index.html",
        "charters/summaries/index.html",
    ]
    for rel in ("charters/routing/index.html", "charters/routing/results.json"):
        assert (site / rel).stat().st_ino == before[rel], rel  # the same file, never read
    # Only the edited charter's two downloads were made (and kept) again.
    assert len([p for p in (cache / "downloads").rglob("*") if p.is_file()]) == 2
    assert tree_files(site) == cold(scratch_project, tmp_path)


def test_one_result_edit_redoes_that_charter_alone(
    scratch_project: ScratchProject, observed: Observed, tmp_path: Path
) -> None:
    write_full_project(scratch_project)
    built(scratch_project)
    observed.clear()
    scratch_project.write(
        "charters/routing/results/ab.csv",
        FULL_RESULTS.replace("2026-05-11,ttfr,treatment,5.1", "2026-05-11,ttfr,treatment,4.8"),
    )
    built(scratch_project)
    assert observed.loaded == ["routing"]
    assert observed.charter_pages == ["charters/routing/index.html"]
    site = tree_files(scratch_project.out)
    assert b"2026-05-11,ttfr,treatment,4.8," in site["charters/routing/results.csv"]
    assert site == cold(scratch_project, tmp_path)


def test_what_every_charter_shares_redoes_what_depends_on_it(
    scratch_project: ScratchProject, observed: Observed, tmp_path: Path
) -> None:
    write_full_project(scratch_project)
    scratch_project.write("metrics.yaml", CATALOGUE.format(name="Weekly orders"))
    built(scratch_project)
    everyone = ["pricing", "routing", "summaries"]
    pages = [f"charters/{cid}/index.html" for cid in everyone]

    # site.yaml: every page shows the site's title; no charter is loaded again.
    observed.clear()
    scratch_project.write("site.yaml", "title: Another portfolio\n")
    built(scratch_project)
    assert (observed.loaded, observed.charter_pages) == ([], pages)
    assert b"Another portfolio" in (scratch_project.out / pages[0]).read_bytes()
    assert tree_files(scratch_project.out) == cold(scratch_project, tmp_path)

    # metrics.yaml: refs are resolved from it, so every charter is loaded again.
    observed.clear()
    scratch_project.write("metrics.yaml", CATALOGUE.format(name="Orders each week"))
    built(scratch_project)
    assert (sorted(observed.analysed), observed.charter_pages) == (everyone, pages)
    assert tree_files(scratch_project.out) == cold(scratch_project, tmp_path)

    # A template: every page rendered again, no charter loaded again.
    observed.clear()
    scratch_project.write(
        "templates/charter.html",
        '{% extends "builtin/charter.html" %}{% block title %}Changed{% endblock %}',
    )
    built(scratch_project)
    assert (observed.loaded, observed.charter_pages) == ([], pages)
    assert b"<title>Changed</title>" in (scratch_project.out / pages[1]).read_bytes()
    assert tree_files(scratch_project.out) == cold(scratch_project, tmp_path)

    # A later build date: the rules run again, and the page whose findings it changed (a
    # stale result: "days before") is rendered again; no charter is loaded again.
    observed.clear()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", str(int(EPOCH) + 400 * 86400))
        built(scratch_project)
        assert (observed.loaded, observed.analysed) == ([], [])
        assert observed.charter_pages == ["charters/routing/index.html"]
        assert b"days before 2028-01-19" in (scratch_project.out / pages[1]).read_bytes()
        assert tree_files(scratch_project.out) == cold(scratch_project, tmp_path)


def refused_on(
    project: ScratchProject, observed: Observed, tmp_path: Path, day: datetime
) -> list[str]:
    """The errors of a build dated `day` of the project built before on a later day: the
    same as a cold build's, and only the charter "routing" loaded anew; then a build on
    the first day again takes every charter from the cache (the entry stayed)."""
    built(project)
    observed.clear()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", str(int(day.replace(tzinfo=UTC).timestamp())))
        failed = project.build()
        loaded = list(observed.loaded)
        cold_out, cold_cache = tmp_path / "cold-site", tmp_path / "cold-cache"
        cold_failed = build(Settings(project.root, cold_out, cache_dir=cold_cache))
    assert loaded == ["routing"]  # the others hold no date after it: kept
    errors = [d.format_text() for d in failed.diagnostics if d.severity == "error"]
    assert errors == [d.format_text() for d in cold_failed.diagnostics if d.severity == "error"]
    observed.clear()
    built(project)
    assert (observed.loaded, observed.analysed) == ([], [])
    return errors


def test_a_build_dated_before_a_charters_results_loads_it_anew_and_refuses_them(
    scratch_project: ScratchProject, observed: Observed, tmp_path: Path
) -> None:
    write_full_project(scratch_project)
    errors = refused_on(scratch_project, observed, tmp_path, datetime(2026, 5, 8))
    assert errors and all("2026-05-11 is after the build date, 2026-05-08" in e for e in errors)
    assert errors[0].startswith("charters/routing/results/ab.csv:4:")


def test_a_build_dated_before_a_charters_agreement_loads_it_anew_and_refuses_it(
    scratch_project: ScratchProject, observed: Observed, tmp_path: Path
) -> None:
    write_full_project(scratch_project)
    text = (scratch_project.root / "charters/routing/charter.yaml").read_text("utf-8")
    assert text.count("on: 2026-02-15") == 1
    later = text.replace("on: 2026-02-15", "on: 2026-06-01")  # after every result row
    scratch_project.write("charters/routing/charter.yaml", later)
    errors = refused_on(scratch_project, observed, tmp_path, datetime(2026, 5, 20))
    assert len(errors) == 1 and errors[0].startswith("charters/routing/charter.yaml:")
    assert "2026-06-01 is after the build date, 2026-05-20; an agreement" in errors[0]


def test_a_build_dated_before_a_charters_baseline_loads_it_anew_and_refuses_it(
    scratch_project: ScratchProject, observed: Observed, tmp_path: Path
) -> None:
    """The kept charter is held against the build date by its baselines' `as_of` too."""
    write_full_project(scratch_project)
    text = (scratch_project.root / "charters/routing/charter.yaml").read_text("utf-8")
    later, count = re.subn(r"as_of: \d{4}-\d\d-\d\d", "as_of: 2026-06-01", text, count=1)
    assert count == 1, "the full project's charter dates a baseline"
    scratch_project.write("charters/routing/charter.yaml", later)
    errors = refused_on(scratch_project, observed, tmp_path, datetime(2026, 5, 20))
    assert len(errors) == 1 and errors[0].startswith("charters/routing/charter.yaml:")
    assert "2026-06-01 is after the build date, 2026-05-20; a baseline" in errors[0]


def test_a_page_that_reads_other_charters_is_not_reused(
    scratch_project: ScratchProject, observed: Observed, tmp_path: Path
) -> None:
    write_full_project(scratch_project)
    scratch_project.write(
        "templates/charter.html",
        '{% extends "builtin/charter.html" %}'
        "{% block title %}one of {{ checks|length }}{% endblock %}",
    )
    built(scratch_project)
    observed.clear()
    scratch_project.charter("extra", title="Extra")
    built(scratch_project)
    assert observed.loaded == ["extra"]
    # Each page counted the charters: each is rendered again, and says four now.
    assert len(observed.charter_pages) == 4
    assert (
        b"<title>one of 4</title>"
        in (scratch_project.out / "charters/pricing/index.html").read_bytes()
    )
    assert tree_files(scratch_project.out) == cold(scratch_project, tmp_path)


def test_a_charters_key_follows_its_links(
    scratch_project: ScratchProject, observed: Observed, tmp_path: Path
) -> None:
    """A result file that is a symbolic link (inside the charter's folder, as the loader
    requires): the charter's key hashes what it leads to, so an edit there is seen."""
    write_full_project(scratch_project)
    results = scratch_project.root / "charters/routing/results"
    scratch_project.write("charters/routing/data/ab.csv", FULL_RESULTS)
    (results / "ab.csv").unlink()
    (results / "ab.csv").symlink_to("../data/ab.csv")
    built(scratch_project)
    observed.clear()
    scratch_project.write(
        "charters/routing/data/ab.csv",
        FULL_RESULTS.replace("2026-05-11,ttfr,treatment,5.1", "2026-05-11,ttfr,treatment,4.8"),
    )
    built(scratch_project)
    assert observed.loaded == ["routing"]
    site = tree_files(scratch_project.out)
    assert b"2026-05-11,ttfr,treatment,4.8," in site["charters/routing/results.csv"]
    assert site == cold(scratch_project, tmp_path)


def test_a_link_out_of_the_tree_is_judged_by_what_is_at_its_end_now(
    scratch_project: ScratchProject, observed: Observed, tmp_path: Path
) -> None:
    """A linked file through a folder link that leaves the tree: the walk cannot hash
    what is at the link's end, yet whether it is there turns a warning into an error. So
    neither the no-op nor that charter's cached form may stand for the tree."""
    write_full_project(scratch_project)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (scratch_project.root / "charters/routing/docs").symlink_to(elsewhere, True)
    charter = scratch_project.root / "charters/routing/charter.yaml"
    text = charter.read_text("utf-8")
    new_link = '  - {title: Notes, url: "docs/notes.txt"}\n'
    charter.write_text(text.replace("links:\n", "links:\n" + new_link, 1), "utf-8")
    missing = "'docs/notes.txt' is not a file in the charter's folder"
    refused = "'docs/notes.txt' leads outside the charter's folder"

    def said(result: BuildResult) -> str:
        return "\n".join(d.format_text() for d in result.diagnostics)

    first = built(scratch_project)
    assert missing in said(first)
    again = built(scratch_project)  # nothing changed: the same report, whatever it reuses
    assert missing in said(again)
    observed.clear()
    (elsewhere / "notes.txt").write_text("notes\n", "utf-8")
    now = scratch_project.build()
    assert not now.ok and refused in said(now) and missing not in said(now)
    assert observed.loaded == ["routing"]  # the others are still taken from the cache
    (elsewhere / "notes.txt").unlink()
    back = built(scratch_project)
    assert missing in said(back)
    assert tree_files(scratch_project.out) == cold(scratch_project, tmp_path)


@pytest.mark.parametrize(
    "kind",
    ["charters", "charts-of", "pages", "tables", "downloads", "check-json", "api-json", "feed"],
)
def test_a_damaged_or_foreign_entry_is_made_again(
    scratch_project: ScratchProject, observed: Observed, tmp_path: Path, kind: str
) -> None:
    write_full_project(scratch_project)
    built(scratch_project)
    expected = tree_files(scratch_project.out)
    entries = sorted((scratch_project.root / ".charters-cache" / kind).rglob("*.*"))
    entries += sorted((scratch_project.root / ".charters-cache" / kind).glob("*/*"))
    assert entries
    for path in set(entries):
        data = path.read_bytes()
        # A readable pickle of something else, whole (its size and CRC-32 first).
        if kind == "charters":
            path.write_bytes(summed(pickle.dumps(("charters-reuse-1", [], "not a view"))))
        elif kind == "feed":
            path.write_bytes(summed(pickle.dumps(["not a feed entry"])))
        elif kind == "charts-of":  # a chart of a metric the charter does not have
            path.write_bytes(summed(pickle.dumps([(99, "values", "x.svg", "k", "alt", None)])))
        else:  # the same length, one byte changed: the hash in the entry tells
            path.write_bytes(data[:-2] + bytes([data[-2] ^ 1]) + data[-1:])
    shutil.rmtree(scratch_project.out)  # the same input, but not a no-op
    if kind == "tables":  # the pages rendered again, so that their tables are looked up
        shutil.rmtree(scratch_project.root / ".charters-cache" / "pages")
    damaged = {path: path.read_bytes() for path in entries}
    observed.clear()
    built(scratch_project)
    if kind == "tables":  # each found damaged, rendered again and kept again
        assert all(path.read_bytes() != data for path, data in damaged.items())
    everyone = ["pricing", "routing", "summaries"]
    if kind == "charters":
        assert sorted(observed.analysed) == everyone
    if kind == "pages":
        assert observed.charter_pages == [f"charters/{cid}/index.html" for cid in everyone]
    assert tree_files(scratch_project.out) == expected


@pytest.mark.parametrize("kind", ["charters", "memo"])
def test_a_number_changed_in_a_kept_pickle_never_reaches_a_page(
    scratch_project: ScratchProject, observed: Observed, kind: str
) -> None:
    # A damaged pickle can still unpickle: one number in a charter's analysed view (a
    # result's value), or a word of a memo's sanitised HTML, changed in place would be
    # shown on every page made from it. Each pickled entry says its size and CRC-32
    # first, and one that does not match is made again.
    write_full_project(scratch_project)
    built(scratch_project)
    cache = scratch_project.root / ".charters-cache"
    expected = tree_files(scratch_project.out)
    changed = 0
    for path in sorted((cache / kind).glob("*/*.pickle")):
        data = path.read_bytes()
        body = data.partition(b"\n")[2]
        if kind == "charters":  # 0.89, the treatment's precision, read as 0.99
            pairs = [(struct.pack(f"{e}d", 0.89), struct.pack(f"{e}d", 0.99)) for e in "<>"]
        else:  # the sanitised HTML of a Markdown text, saying another thing
            pairs = [(b"<p>Route tickets to the right", b"<p>Route tickets to the wrong")]
        for old, new in pairs:
            body = body.replace(old, new)
        if body != data.partition(b"\n")[2]:
            pickle.loads(body)  # still a readable pickle: only a number is wrong
            path.write_bytes(data.partition(b"\n")[0] + b"\n" + body)
            changed += 1
    assert changed
    # The site, pages, tables and downloads made again from what the charters hold.
    shutil.rmtree(scratch_project.out)
    for made in (
        "pages",
        "tables",
        "fragments",
        "downloads",
        "api-json",
        "check-json",
        "rules",
        "feed",
        "charts-of",
        "charts",
    ):
        shutil.rmtree(cache / made, ignore_errors=True)
    observed.clear()
    built(scratch_project)
    if kind == "charters":
        assert observed.analysed == ["routing"]  # the one whose results hold 0.89
    assert tree_files(scratch_project.out) == expected


@pytest.mark.parametrize("damage", ["a byte changed", "cut short", "a byte added"])
def test_a_damaged_page_entry_is_never_published(
    scratch_project: ScratchProject, observed: Observed, damage: str
) -> None:
    # A page is written once: its cache entry is the site's file, linked, with its size and
    # CRC beside it. Damage to the page itself (its sum intact) is found and it is made again.
    write_full_project(scratch_project)
    built(scratch_project)
    site = scratch_project.out
    expected = tree_files(site)
    pages = sorted((scratch_project.root / ".charters-cache" / "pages").glob("*/*.html"))
    assert len(pages) == 3
    assert any(p.samefile(site / "charters/routing/index.html") for p in pages)
    shutil.rmtree(site)  # the same input, but not a no-op: the pages come from the cache
    for path in pages:
        data = path.read_bytes()
        middle = len(data) // 2
        if damage == "a byte changed":
            data = data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1 :]
        elif damage == "cut short":
            data = data[:middle]
        else:
            data = data + b"\n"
        path.write_bytes(data)
    observed.clear()
    built(scratch_project)
    assert observed.charter_pages == [
        f"charters/{cid}/index.html" for cid in ("pricing", "routing", "summaries")
    ]
    assert tree_files(site) == expected


def test_a_damaged_download_entry_equal_to_the_site_file_leaves_the_site_alone(
    scratch_project: ScratchProject,
) -> None:
    # A download whose key the manifest does not name is looked up in the cache and
    # compared with the current site's file as it is read; equal, it is the site's file,
    # borrowed. When the entry's hash then says it is damaged, what is dropped is the
    # borrowed name, never the site's file: a build that fails later keeps the old site.
    write_full_project(scratch_project)
    built(scratch_project)
    manifest = scratch_project.out / ".charters-site.json"
    data = json.loads(manifest.read_text("utf-8"))
    data["made"] = {}
    manifest.write_text(json.dumps(data), "utf-8")
    entries = sorted((scratch_project.root / ".charters-cache" / "downloads").glob("*/*"))
    assert entries
    for path in entries:  # the hash line damaged, the download itself intact
        raw = path.read_bytes()
        path.write_bytes(bytes([raw[0] ^ 1]) + raw[1:])
    before = tree_files(scratch_project.out)
    scratch_project.write("templates/feed.xml", "{{ no_such_thing.at_all() }}\n")
    result = scratch_project.build()
    assert not result.ok
    assert tree_files(scratch_project.out) == before


@pytest.mark.parametrize("gc", [False, True])
def test_the_cache_deleted_during_a_build_costs_nothing(
    scratch_project: ScratchProject, monkeypatch: pytest.MonkeyPatch, gc: bool
) -> None:
    # Charts taken from the cache are the build's own (linked into its spool) as soon as
    # they are taken: the cache deleted while the pages are rendered changes nothing,
    # and with --gc, nothing is pruned and no error is made of it either.
    import generator.pages as pages_stage

    write_full_project(scratch_project)
    built(scratch_project)
    expected = tree_files(scratch_project.out)
    shutil.rmtree(scratch_project.out)  # the charts come from the cache, not the site
    render = pages_stage.render_pages

    def deleting_the_cache_first(*args: object, **kwargs: object) -> object:
        shutil.rmtree(scratch_project.root / ".charters-cache")
        return render(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pages_stage, "render_pages", deleting_the_cache_first)
    result = build(Settings(scratch_project.root, scratch_project.out, gc=gc))
    assert result.ok, [d.format_text() for d in result.diagnostics]
    assert tree_files(scratch_project.out) == expected
    if gc:  # the warning that the cache could not be written, and nothing pruned
        assert [d.code for d in result.diagnostics] == ["cache"]
        assert result.pruned is not None and result.pruned.entries == 0


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """What each build took from the cache and made, by kind (Reuse.counts), as one tally."""
    tally: Counter[str] = Counter()
    count = Reuse._count

    def counting(self: Reuse, name: str) -> None:
        tally[name] += 1
        count(self, name)

    monkeypatch.setattr(Reuse, "_count", counting)
    return tally


def test_a_charter_page_edit_reuses_every_data_table(
    scratch_project: ScratchProject, observed: Observed, counted: Counter[str], tmp_path: Path
) -> None:
    write_full_project(scratch_project)
    built(scratch_project)
    # routing's tables: the values of ttfr and of routing_precision, and all its rows.
    assert (counted["fragments rendered"], counted["fragments cached"]) == (3, 0)
    pages = [f"charters/{cid}/index.html" for cid in ("pricing", "routing", "summaries")]

    # charter.html edited as the benchmark does: every page rendered, every table reused.
    counted.clear()
    observed.clear()
    page = (BUILTIN_TEMPLATES / "charter.html").read_text("utf-8")
    marker = "{% block content %}"
    scratch_project.write("templates/charter.html", page.replace(marker, marker + "<!-- mine -->"))
    built(scratch_project)
    assert observed.charter_pages == pages
    assert (counted["fragments rendered"], counted["fragments cached"]) == (0, 3)
    routing = (scratch_project.out / pages[1]).read_text("utf-8")
    assert "<!-- mine -->" in routing
    assert "<summary>Data table: Median time to first response</summary>" in routing
    assert "<td>2026-05-11</td><td>treatment</td><td>5.1 hours</td>" in routing
    assert "<summary>All 5 result rows</summary>" in routing
    assert tree_files(scratch_project.out) == cold(scratch_project, tmp_path)

    # The fragment template overridden: every table rendered again, from the new one.
    counted.clear()
    tables = (BUILTIN_TEMPLATES / "_tables.html").read_text("utf-8")
    tables = '{% import "_mark.html" as mark %}' + tables.replace(
        "<summary>Data table: ", "<summary>{{ mark.word() }} "
    )
    scratch_project.write("templates/_tables.html", tables)
    scratch_project.write("templates/_mark.html", "{% macro word() %}Table of{% endmacro %}")
    built(scratch_project)
    assert (counted["fragments rendered"], counted["fragments cached"]) == (3, 0)
    routing = (scratch_project.out / pages[1]).read_text("utf-8")
    assert "<summary>Table of Median time to first response</summary>" in routing
    assert tree_files(scratch_project.out) == cold(scratch_project, tmp_path)

    # A template the fragment template imports: the tables that use it are made again.
    counted.clear()
    scratch_project.write("templates/_mark.html", "{% macro word() %}Numbers of{% endmacro %}")
    built(scratch_project)
    assert (counted["fragments rendered"], counted["fragments cached"]) == (3, 0)
    routing = (scratch_project.out / pages[1]).read_text("utf-8")
    assert "<summary>Numbers of Median time to first response</summary>" in routing
    assert tree_files(scratch_project.out) == cold(scratch_project, tmp_path)


def test_a_tables_template_that_shows_what_the_build_adds_is_made_again_when_it_changes(
    scratch_project: ScratchProject, tmp_path: Path
) -> None:
    # The tables' entry was keyed without the view's overdue message: a `_tables.html`
    # that shows it kept "23 days before" on a later day's build, unlike a cold build.
    write_full_project(scratch_project)  # routing: weekly, newest results 2026-05-11
    tables = (BUILTIN_TEMPLATES / "_tables.html").read_text("utf-8")
    scratch_project.write(
        "templates/_tables.html",
        tables.replace("result rows</summary>", "result rows ({{ view.overdue }})</summary>"),
    )
    out = scratch_project.out
    page = out / "charters/routing/index.html"
    for day in ("2026-05-20", "2026-06-30", "2026-05-20"):
        today = date.fromisoformat(day)
        assert build(Settings(scratch_project.root, out, today=today)).ok
        text = page.read_text("utf-8")
        shown = re.search(r"result rows \((.*?)\)</summary>", text)
        assert shown is not None
        days = (today - date(2026, 5, 11)).days
        assert (f"{days} days before {day}" in shown.group(1)) is (days > 14)
        cold_out, cache = tmp_path / "cold-site", tmp_path / "cold-cache"
        shutil.rmtree(cold_out, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)
        assert build(Settings(scratch_project.root, cold_out, cache_dir=cache, today=today)).ok
        assert tree_files(out) == tree_files(cold_out)


def test_a_fragment_template_may_name_a_template_that_is_not_there(
    scratch_project: ScratchProject, counted: Counter[str], tmp_path: Path
) -> None:
    # `ignore missing` is Jinja's: the build renders without the template, and making it
    # later renders the tables again, with it.
    write_full_project(scratch_project)
    tables = (BUILTIN_TEMPLATES / "_tables.html").read_text("utf-8")
    marker = "<summary>All "
    scratch_project.write(
        "templates/_tables.html",
        tables.replace(marker, '{% include "_note.html" ignore missing %}' + marker),
    )
    built(scratch_project)
    routing = scratch_project.out / "charters/routing/index.html"
    page = routing.read_text("utf-8")
    assert "<summary>Data table: Median time to first response</summary>" in page
    assert tree_files(scratch_project.out) == cold(scratch_project, tmp_path)

    counted.clear()
    scratch_project.write("templates/_note.html", "<p>Tables by the data team.</p>")
    built(scratch_project)
    assert (counted["fragments rendered"], counted["fragments cached"]) == (3, 0)
    assert "<p>Tables by the data team.</p>" in routing.read_text("utf-8")
    assert tree_files(scratch_project.out) == cold(scratch_project, tmp_path)


@pytest.mark.parametrize(
    ("include", "missing"),
    [
        ('"_note.html"', "template '_note.html' not found"),
        ('["_lead.html", "_note.html"]', "none of the templates '_lead.html', '_note.html' found"),
    ],
)
def test_a_template_the_fragment_template_needs_and_lacks_is_a_located_error(
    scratch_project: ScratchProject, include: str, missing: str
) -> None:
    write_full_project(scratch_project)
    built(scratch_project)
    before = tree_files(scratch_project.out)
    tables = (BUILTIN_TEMPLATES / "_tables.html").read_text("utf-8")
    marker = "<summary>All "
    scratch_project.write(
        "templates/_tables.html", tables.replace(marker, f"{{% include {include} %}}" + marker)
    )
    result = scratch_project.build()
    assert not result.ok
    errors = [d.format_text() for d in result.diagnostics if d.severity == "error"]
    line = tables[: tables.index(marker)].count("\n") + 1  # where the include is
    assert errors == [
        f"templates/_tables.html:{line}:1: {missing} in templates/ or the built-in templates"
    ]
    assert tree_files(scratch_project.out) == before  # the previous site stays


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            "fragment('results_table', site)",
            "templates/charter.html:1:1: template error: TypeError: fragment() takes the page's"
            " view, one of its charts, or a plain value (text, number, true/false, none),"
            " not SiteConfig",
        ),
        (
            "fragment('no_such_table', view)",
            "templates/charter.html:1:1: template error: undefined value:"
            " _tables.html has no macro 'no_such_table'",
        ),
    ],
)
def test_a_fragment_call_that_cannot_be_cached_is_a_located_error(
    scratch_project: ScratchProject, call: str, message: str
) -> None:
    assert_call_refused(scratch_project, "charter.html", call, message)


def assert_call_refused(project: ScratchProject, page: str, call: str, message: str) -> None:
    """A build whose `page` template (extending the built-in one) makes `call` in its title
    fails with exactly `message`, and the previous site stays."""
    write_full_project(project)
    built(project)
    before = tree_files(project.out)
    project.write(
        f"templates/{page}",
        f'{{% extends "builtin/{page}" %}}{{% block title %}}{{{{ {call} }}}}{{% endblock %}}',
    )
    result = project.build()
    assert not result.ok
    assert [d.format_text() for d in result.diagnostics if d.severity == "error"] == [message]
    assert tree_files(project.out) == before  # the previous site stays


# --- check's report and the API, from each charter's piece ----------------------------------


def stored_check_is_a_fresh_check(project: ScratchProject, epoch: str) -> str:
    """The report the build stored for `charters check` (every format) is what a check run
    now prints, byte for byte; its JSON."""
    day = datetime.fromtimestamp(int(epoch), tz=UTC).date()
    stored = checked(project.root, day)
    assert stored.cached  # the build stored it
    fresh = Checked.of(run_check(project.root, day))
    for fmt in FORMATS:
        assert stored.output(fmt) == fresh.output(fmt), fmt
    assert stored.findings == fresh.findings
    return stored.output("json")


def test_an_edit_makes_that_charters_json_and_feed_pieces_alone_again(
    scratch_project: ScratchProject,
    counted: Counter[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    write_full_project(scratch_project)
    built(scratch_project)
    assert (counted["check-json made"], counted["api-json made"]) == (3, 3)
    stored_check_is_a_fresh_check(scratch_project, EPOCH)

    # One charter edited: its check entry and its API record are made again, alone.
    counted.clear()
    scratch_project.charter("pricing", title="Dynamic pricing, second try", team=None)
    built(scratch_project)
    assert (counted["check-json made"], counted["check-json cached"]) == (1, 2)
    assert (counted["api-json made"], counted["api-json cached"]) == (1, 2)
    assert (counted["feed made"], counted["feed cached"]) == (1, 2)
    site = tree_files(scratch_project.out)
    api = json.loads(site["api/charters.json"])
    assert api["charters"][0]["title"] == "Dynamic pricing, second try"
    report = json.loads(stored_check_is_a_fresh_check(scratch_project, EPOCH))
    assert report["charters"][0]["title"] == "Dynamic pricing, second try"
    assert site == cold(scratch_project, tmp_path)

    # base_url is in every API record (its url), in no check entry.
    counted.clear()
    scratch_project.write("site.yaml", "title: Portfolio\nbase_url: https://example.org/p/\n")
    built(scratch_project)
    assert (counted["api-json made"], counted["check-json cached"]) == (3, 3)
    assert counted["feed made"] == 3
    site = tree_files(scratch_project.out)
    urls = [c["url"] for c in json.loads(site["api/charters.json"])["charters"]]
    assert urls[0] == "https://example.org/p/charters/pricing/"
    assert b"<id>tag:example.org," in site["feed.xml"]
    assert site == cold(scratch_project, tmp_path)

    # Rules switched off for the site: every check entry changes, no API record.
    counted.clear()
    scratch_project.write(
        "site.yaml",
        "title: Portfolio\nbase_url: https://example.org/p/\nlint: {disable: [MC107]}\n",
    )
    built(scratch_project)
    assert (counted["check-json made"], counted["api-json cached"]) == (3, 3)
    report = json.loads(stored_check_is_a_fresh_check(scratch_project, EPOCH))
    assert "MC107" not in {f["code"] for c in report["charters"] for f in c["findings"]}

    # A later build date: staleness, judged at every build, makes one charter stale, whose
    # check entry alone is made again; no other rule's findings, no charter's record.
    counted.clear()
    later = str(int(EPOCH) + 400 * 86400)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", later)
    built(scratch_project)
    assert (counted["rules cached"], counted["api-json cached"]) == (3, 3)
    assert (counted["check-json made"], counted["check-json cached"]) == (1, 2)
    report = json.loads(stored_check_is_a_fresh_check(scratch_project, later))
    assert "MC109" in {f["code"] for c in report["charters"] for f in c["findings"]}
    assert tree_files(scratch_project.out) == cold(scratch_project, tmp_path)


def test_staleness_is_judged_each_day_unless_the_charter_switches_it_off(
    scratch_project: ScratchProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one rule that reads the build date is judged at every build, from the charter's
    outline; one that `x-lint` switches off stays off on a later day, as a check says."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    write_full_project(scratch_project)
    text = (scratch_project.root / "charters/routing/charter.yaml").read_text("utf-8")

    def stale(epoch: str) -> set[str]:
        """The charters the staleness rule finds overdue at `epoch`, after checking that
        the portfolio's rows, the charter pages and the API say the same."""
        monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
        built(scratch_project)
        report = json.loads(stored_check_is_a_fresh_check(scratch_project, epoch))
        site = tree_files(scratch_project.out)
        assert site == cold(scratch_project, tmp_path)
        found = {(c["id"], f["code"]) for c in report["charters"] for f in c["findings"]}
        overdue = {cid for cid, code in found if code == "MC109"}
        portfolio = parse_html(scratch_project.out / "index.html")
        links = [str(a.attrs["href"]) for a in portfolio.find_all("a", class_="results-overdue")]
        assert links == [f"charters/{cid}/index.html#findings" for cid in sorted(overdue)]
        for cid in ("routing", "pricing"):
            page = parse_html(scratch_project.out / f"charters/{cid}/index.html")
            verdict = page.find("span", class_="verdict-title").parent
            assert verdict is not None
            badges = verdict.find_all("a", class_="results-overdue", href="#findings")
            assert len(badges) == (cid in overdue)
        api = json.loads(site["api/charters.json"])
        assert {c["id"] for c in api["charters"] if c["results_overdue"]} == overdue
        day = datetime.fromtimestamp(int(epoch), UTC).date().isoformat()
        assert api["site"]["as_of"] == day
        assert f"as of {day}, the date of this build" in portfolio.find("p", class_="as-of").text()
        return overdue

    fresh = str(int(datetime(2026, 5, 20, tzinfo=UTC).timestamp()))  # 9 days after its last
    later, latest = str(int(EPOCH) + 400 * 86400), str(int(EPOCH) + 401 * 86400)
    assert stale(fresh) == set()
    assert stale(later) == {"routing"}
    scratch_project.write("charters/routing/charter.yaml", text + "x-lint: {disable: [MC109]}\n")
    assert stale(latest) == set()
    scratch_project.write("charters/routing/charter.yaml", text)
    assert stale(latest) == {"routing"}
    page = (scratch_project.out / "charters/routing/index.html").read_bytes()
    assert b"days before 2028-01-20" in page


def test_a_check_entry_is_taken_for_the_very_check_it_was_made_of(
    scratch_project: ScratchProject,
    counted: Counter[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A linked file gone: its problem joins the charter's findings in check's report (a
    new check), so the entry kept with the rules' findings is not the one printed."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    write_full_project(scratch_project)
    scratch_project.write("charters/pricing/notes.txt", "Notes.\n")
    notes = [{"title": "Notes", "url": "notes.txt"}]
    scratch_project.charter("pricing", title="Dynamic pricing", team=None, links=notes)
    built(scratch_project)
    stored_check_is_a_fresh_check(scratch_project, EPOCH)
    (scratch_project.root / "charters/pricing/notes.txt").unlink()
    built(scratch_project)  # pricing's entry is made of its check as the rules gave it
    # Another charter edited: pricing's entry is kept, and not printed.
    counted.clear()
    scratch_project.charter("summaries", title="Review summaries, again", status="proposed")
    built(scratch_project)
    assert (counted["check-json cached"], counted["check-json made"]) == (2, 1)
    report = json.loads(stored_check_is_a_fresh_check(scratch_project, EPOCH))
    pricing = next(c for c in report["charters"] if c["id"] == "pricing")
    assert any("'notes.txt' is not a file" in f["message"] for f in pricing["findings"])


ROWS_CATALOGUE = """\
- id: weekly_orders
  name: Weekly orders
  definition: Orders placed per week.
  unit: orders
  direction: increase
"""
ORDERS = "\n  - ref: weekly_orders\n    baseline: {value: 100}\n    target: {value: 120}"


def portfolio_tr(out: Path, cid: str) -> str:
    """The portfolio's row of charter `cid`, as written."""
    text = (out / "index.html").read_text("utf-8")
    start = text.index(f'<tr data-id="{cid}"')
    return text[start : text.index("</tr>", start)]


def test_a_one_charter_edit_renders_that_charters_rows_alone(
    scratch_project: ScratchProject, counted: Counter[str], tmp_path: Path
) -> None:
    """The rows of the portfolio, team and metric pages (templates/_rows.html) come from
    the cache, except the edited charter's, which show its new verdict."""
    write_full_project(scratch_project)  # routing is in Support Engineering
    scratch_project.write("metrics.yaml", ROWS_CATALOGUE)
    team = "Support Engineering"
    for cid, title in (("pricing", "Dynamic pricing"), ("summaries", "Review summaries")):
        scratch_project.charter(cid, title=title, team=team, business_metrics=ORDERS)
    built(scratch_project)
    # Three portfolio rows, three on the team's page, two on weekly_orders' page.
    assert (counted["rows rendered"], counted["rows cached"]) == (8, 0)
    routing = portfolio_tr(scratch_project.out, "routing")
    assert 'data-verdict="business-impact"' in routing
    assert "mstatus-improved" in routing and "64.7% of the way" in routing

    # routing's target moved to 5.2 hours: its latest 5.1 now meets it.
    counted.clear()
    text = (scratch_project.root / "charters/routing/charter.yaml").read_text("utf-8")
    scratch_project.write(
        "charters/routing/charter.yaml",
        text.replace("target: {value: 4.5,", "target: {value: 5.2,"),
    )
    built(scratch_project)
    # routing's portfolio row and its row on the team's page, nothing else.
    assert (counted["rows rendered"], counted["rows cached"]) == (2, 6)
    routing = portfolio_tr(scratch_project.out, "routing")
    assert 'data-verdict="target-met"' in routing and "mstatus-met" in routing
    assert '→ <strong>5.1 hours</strong> → <span class="v">5.2 hours</span>' in routing
    team_page = (scratch_project.out / "teams/support-engineering/index.html").read_text("utf-8")
    assert '→ <strong>5.1 hours</strong> → <span class="v">5.2 hours</span>' in team_page
    assert tree_files(scratch_project.out) == cold(scratch_project, tmp_path)

    # The rows template overridden: every row rendered again, from the new one.
    counted.clear()
    rows = (BUILTIN_TEMPLATES / "_rows.html").read_text("utf-8")
    scratch_project.write("templates/_rows.html", rows.replace("<tr ", '<tr class="mine" '))
    built(scratch_project)
    assert (counted["rows rendered"], counted["rows cached"]) == (8, 0)
    assert '<tr class="mine" id="claim-pricing">' in (
        scratch_project.out / "metrics/weekly_orders/index.html"
    ).read_text("utf-8")
    assert tree_files(scratch_project.out) == cold(scratch_project, tmp_path)

    # A template the rows template imports: every row made again.
    counted.clear()
    macros = (BUILTIN_TEMPLATES / "_macros.html").read_text("utf-8")
    scratch_project.write("templates/_macros.html", macros.replace("→ <strong>", "⇒ <strong>"))
    built(scratch_project)
    assert (counted["rows rendered"], counted["rows cached"]) == (8, 0)
    assert "⇒ <strong>5.1 hours</strong>" in portfolio_tr(scratch_project.out, "routing")
    assert tree_files(scratch_project.out) == cold(scratch_project, tmp_path)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            "row('team_row', views[0], site)",
            "templates/index.html:1:1: template error: TypeError: row() takes a charter's view,"
            " then that view, one of its metrics, or a plain value (text, number, true/false,"
            " none), not SiteConfig",
        ),
        (
            "row('team_row', views[0], views[1])",
            "templates/index.html:1:1: template error: TypeError: row() takes a charter's view,"
            " then that view, one of its metrics, or a plain value (text, number, true/false,"
            " none), not CharterView",
        ),
        (
            "row('team_row', 'routing')",
            "templates/index.html:1:1: template error: TypeError: row() takes a charter's view"
            " first, not str",
        ),
        (
            "row('no_such_row', views[0])",
            "templates/index.html:1:1: template error: undefined value:"
            " _rows.html has no macro 'no_such_row'",
        ),
    ],
)
def test_a_row_call_that_cannot_be_cached_is_a_located_error(
    scratch_project: ScratchProject, call: str, message: str
) -> None:
    assert_call_refused(scratch_project, "index.html", call, message)


def served_cold(root: Path, tmp_path: Path) -> dict[str, bytes]:
    """The files of a cold build of `root` as `charters serve` builds (its placeholder for
    the live-reload token), with a cache folder of its own."""
    from generator.serve import PLACEHOLDER

    cold_out, cold_cache = tmp_path / "cold-site", tmp_path / "cold-cache"
    assert build(Settings(root, cold_out, live_reload=PLACEHOLDER, cache_dir=cold_cache)).ok
    return tree_files(cold_out)


def first_served(scratch_project: ScratchProject, tmp_path: Path) -> tuple[SiteState, Path]:
    """The full project's first build as `charters serve` builds it, and its folder."""
    write_full_project(scratch_project)
    served = tmp_path / "serve" / "site"
    state = SiteState(scratch_project.root, served, echo=lambda *a, **k: None)
    assert state.rebuild()
    return state, served


def test_serve_keeps_each_charter_in_memory_between_its_builds(
    scratch_project: ScratchProject, observed: Observed, counted: Counter[str], tmp_path: Path
) -> None:
    # `charters serve` rebuilds on each save; an unchanged charter is taken from memory
    # (reuse.Kept), found by its cache key: the cache's charters gone changes nothing, and
    # the site is that of a cold build of the same tree.
    state, served = first_served(scratch_project, tmp_path)
    assert sorted(observed.analysed) == ["pricing", "routing", "summaries"]
    assert state.kept is not None and len(state.kept.charters) == 3
    assert state.kept.entries  # and the small entries it read or wrote (Cache.memory)
    routing_page = (served / "charters/routing/index.html").stat().st_ino
    shutil.rmtree(scratch_project.root / ".charters-cache")
    observed.clear()
    counted.clear()
    scratch_project.charter("pricing", title="Dynamic pricing, served", team=None)
    assert state.rebuild()
    assert observed.loaded == ["pricing"] and observed.analysed == ["pricing"]
    # From memory: the cache folder is gone.
    assert counted["charters cached"] == 2
    assert counted["rules cached"] == 2 and counted["feed cached"] == 2
    assert counted["api-json cached"] == 2 and counted["rows cached"] >= 2
    assert len(state.kept.charters) == 3  # the last build's: not the old "pricing" too
    # The server's own folder is written in place: nothing beside it, and an unchanged
    # file is the very file it was.
    assert sorted(p.name for p in served.parent.iterdir()) == [".site.lock", "site"]
    assert (served / "charters/routing/index.html").stat().st_ino == routing_page
    site = tree_files(served)
    assert b"Dynamic pricing, served" in site["charters/pricing/index.html"]
    assert site == served_cold(scratch_project.root, tmp_path)


def test_serve_keeps_the_values_of_unchanged_charters_entries_not_only_their_bytes(
    scratch_project: ScratchProject, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A save rebuilds the feed, the chart list and the rules' findings from every charter.
    # An unchanged charter's, as the last build read them, are taken as they are
    # (Kept.values): nothing of theirs is unpickled again. Nor are the objects serve
    # froze counted, which walks every one of them (build: Reuse.freezing).
    import gc

    state, served = first_served(scratch_project, tmp_path)
    read: list[str] = []
    real_read = Reuse._read

    def noted(self: Reuse, kind: str, key: str, suffix: str) -> object:
        read.append(kind)
        return real_read(self, kind, key, suffix)

    counted: list[int] = []
    real_count = gc.get_freeze_count

    def counting() -> int:
        counted.append(1)
        return real_count()

    monkeypatch.setattr(Reuse, "_read", noted)
    monkeypatch.setattr(gc, "get_freeze_count", counting)
    for title in ("Dynamic pricing, served", "Dynamic pricing, served again"):
        read.clear()
        scratch_project.charter("pricing", title=title, team=None)
        assert state.rebuild()
        # Only the edited charter's, under its new key (not there: made and stored).
        assert [read.count(kind) for kind in ("charts-of", "feed", "rules")] == [1, 1, 1]
    assert counted == []
    site = tree_files(served)
    assert b"Dynamic pricing, served again" in site["charters/pricing/index.html"]
    assert site == served_cold(scratch_project.root, tmp_path)


def test_serve_takes_its_own_folder_as_its_last_build_wrote_it(
    scratch_project: ScratchProject, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Only serve's builds write its folder: a save takes the manifest its last build wrote
    # from memory (write.OwnSite) and each file it lists as written, unread and unlooked
    # at (a 2.6 MB manifest and 10,000 charts at 1,000 charters). A folder emptied, or a
    # write that failed midway, is read again as any build reads it.
    import os

    import generator.build as build_stage
    import generator.write as write_stage

    state, served = first_served(scratch_project, tmp_path)
    manifests: list[Path] = []
    looked: list[str] = []
    real_read, real_lstat = build_stage.read_manifest, os.lstat

    def reading(out: Path) -> dict[str, object]:
        if out == served:
            manifests.append(out)
        return real_read(out)

    def lstat(path: str | os.PathLike[str], **kwargs: object) -> os.stat_result:
        if str(path).startswith(f"{served}{os.sep}charters") and str(path).endswith(".svg"):
            looked.append(str(path))
        return real_lstat(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(build_stage, "read_manifest", reading)
    monkeypatch.setattr(os, "lstat", lstat)
    scratch_project.charter("pricing", title="Dynamic pricing, served", team=None)
    assert state.rebuild()
    assert manifests == [] and looked == []
    assert tree_files(served) == served_cold(scratch_project.root, tmp_path / "first")

    monkeypatch.setattr(os, "lstat", real_lstat)
    for name in os.listdir(served):  # emptied while serving: every file is written again
        shutil.rmtree(served / name) if (served / name).is_dir() else (served / name).unlink()
    scratch_project.charter("pricing", title="Dynamic pricing, served again", team=None)
    assert state.rebuild()
    assert manifests == [served]
    assert tree_files(served) == served_cold(scratch_project.root, tmp_path / "emptied")
    manifests.clear()

    real_replace = write_stage._replace_file
    failed: list[str] = []

    def failing(content: object, target: str, token: str | None = None) -> None:
        if f"{os.sep}pricing{os.sep}" in target and not failed:
            failed.append(target)
            raise OSError(28, "No space left on device", target)
        real_replace(content, target, token)  # type: ignore[arg-type]

    monkeypatch.setattr(write_stage, "_replace_file", failing)
    scratch_project.charter("pricing", title="Dynamic pricing, served twice", team=None)
    assert not state.rebuild() and failed and state.errors
    assert state.kept is not None and state.kept.site is None
    monkeypatch.setattr(write_stage, "_replace_file", real_replace)
    scratch_project.charter("pricing", title="Dynamic pricing, served once more", team=None)
    assert state.rebuild()
    assert manifests == [served]
    assert tree_files(served) == served_cold(scratch_project.root, tmp_path / "failed")


def test_a_build_runs_the_cyclic_collector_less_often_and_restores_its_setting(
    scratch_project: ScratchProject, tmp_path: Path
) -> None:
    # A build keeps most of what it makes to its end; the collector's youngest generation
    # is looked at every GC_THRESHOLD allocations, not every 700 (some 620 passes, 0.2 s,
    # of a one-charter edit at 1,000 charters). A caller's own setting comes back after.
    import gc

    from generator.build import GC_THRESHOLD, Settings, build

    write_full_project(scratch_project)
    during: list[tuple[int, int, int]] = []
    before = gc.get_threshold()
    assert before[0] < GC_THRESHOLD
    try:
        gc.set_threshold(600, 9, 8)
        result = build(
            Settings(scratch_project.root, tmp_path / "site"),
            lambda *args: during.append(gc.get_threshold()),
        )
        assert result.ok
        assert during and set(during) == {(GC_THRESHOLD, 9, 8)}
        assert gc.get_threshold() == (600, 9, 8)
        gc.set_threshold(GC_THRESHOLD * 2)  # higher already: left as it is
        scratch_project.charter("pricing", title="Edited", team=None)
        during.clear()
        assert build(
            Settings(scratch_project.root, tmp_path / "site"),
            lambda *args: during.append(gc.get_threshold()),
        ).ok
        assert during and set(during) == {(GC_THRESHOLD * 2, 9, 8)}
    finally:
        gc.set_threshold(*before)
