"""Build recipe, the stages in order: load → analyse → rules → charts → pages → outputs → write.

Each stage is a call into the module named for it, and hands a typed value to the
next. Ordering rules: nothing is written until the whole tree has loaded without
an error; the output folder is checked before any work so a refused `--out` costs
nothing; charts are drawn (or reused from the previous build when their inputs
are unchanged) before pages so pages can describe them.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from . import __version__
from .cache import (
    INPUT_FILES,
    INPUT_FOLDERS,
    Cache,
    Context,
    SourceTree,
    cache_dir,
    input_fingerprint,
    intact,
    load_report,
    open_cache,
    save_report,
    source_tree,
    template_cache,
)
from .diagnostics import Diagnostic, SourceRef, today_from_env
from .formatting import plural
from .gitrepo import state as repository_state
from .paths import real
from .progress import Report
from .prune import Pruned, load_used, prune, save_used, superseded
from .reuse import Kept, Reuse
from .write import (
    MANIFEST,
    OutputError,
    OwnSite,
    PreviousSite,
    WriteReport,
    check_cache_folder,
    check_output,
    full_manifest,
    left_beside,
    lock_output,
    open_spool,
    read_manifest,
    unwritten,
    write_in_place,
    write_site,
)

if TYPE_CHECKING:
    from .analyze import CharterView
    from .charts import ChartSet
    from .history import History
    from .load import Project
    from .outputs import Outputs
    from .portfolio import CataloguedMetric
    from .rules import CharterCheck
    from .spool import Spool


@dataclass(frozen=True)
class Settings:
    source: Path
    out: Path
    live_reload: bool | str = False  # `charters serve`: a build token the page polls for
    today: date | None = None  # the build date (results after it refused, staleness as of it)
    wait: bool = False  # wait for another build writing `out` instead of refusing
    cache_dir: Path | None = None  # None: CHARTERS_CACHE_DIR, else <source>/.charters-cache
    kept: Kept | None = None  # what a process that builds again (serve) keeps in memory
    in_place: bool = False  # write `out` where it is (serve, build --watch: write_in_place)
    gc: bool = False  # after a successful build, remove the cache entries it did not use
    # Build an unchanged tree too, not as a no-op: what `build --watch` does after a no-op
    # first build, so that what it keeps in memory (`kept`) holds every charter at once.
    whole: bool = False


@dataclass
class BuildResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    charters: int = 0
    pages: int = 0
    charts: int = 0
    charts_drawn: int = 0
    charts_cached: int = 0  # reused from the cache folder (or the previous site)
    rendered: int = 0  # pages and outputs rendered by templates
    rule_errors: int = 0  # findings of severity error (on the pages; `charters check` fails)
    unchanged: bool = False  # a no-op: the input was that of the site in `out`; nothing written
    seconds: float = 0.0
    written: WriteReport = field(default_factory=WriteReport)
    pruned: Pruned | None = None  # what --gc removed from the cache (generator/prune.py)
    left: list[str] = field(default_factory=list)  # folders beside `out` that stay, and why

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)

    def rule_errors_note(self) -> str | None:
        """What a successful build says of its rule errors, None without any: the site is
        built, but a CI step running `charters check` fails (said with --quiet too)."""
        if not self.rule_errors:
            return None
        them = "it" if self.rule_errors == 1 else "them"
        return (
            f"note: {plural(self.rule_errors, 'rule error')} on the charters' pages:"
            f" `charters check` fails on {them}"
        )

    def summary(self, out: Path | None = None) -> str:
        """The one-line report of a successful build."""
        notes = ["nothing changed"] if self.unchanged else []
        note = "; ".join([*notes, self.written.note()] if self.written.note() else notes)
        return (
            f"Built {plural(self.charters, 'charter')}:"
            f" {self.pages} pages, {self.charts} charts"
            f" ({self.charts_drawn} drawn, {self.charts_cached} cached)"
            f" in {self.seconds:.2f} s"
            + (f" → {out}" if out is not None else "")
            + (f"; {note}" if note else "")
        )


def build(settings: Settings, progress: Report | None = None) -> BuildResult:
    """Build the site from `settings.source` into `settings.out`, or report why not.

    One build at a time writes an output folder (generator/write.py). `progress`
    hears of each stage and of each chart drawn (generator/progress.py).
    """
    if not (settings.source / "charters").is_dir():
        return _loaded_only(settings)
    if not settings.out.parent.exists():
        # Nothing beside a new output folder to keep: input the loader refuses is
        # reported before its lock file and missing parent folders are made.
        refused = _loaded_only(settings)
        if not refused.ok:
            return refused
    try:
        check_output(settings.source, settings.out)
        check_cache_folder(settings.out, cache_dir(settings.source, settings.cache_dir))
    except OSError as exc:  # an output folder that cannot be listed, say
        raise OutputError(
            f"cannot use the output folder {settings.out}: {exc.strerror or exc}"
        ) from exc
    with lock_output(settings.out, wait=settings.wait), _fewer_collections():
        result = _build(settings, progress or _silent)
        result.left = left_beside(settings.out)
        return result


def _loaded_only(settings: Settings) -> BuildResult:
    """What loading the source finds, before the output's lock is taken: for a source
    folder with no charters/ folder (a build run from the wrong folder, say), and for
    an output folder whose parent does not exist yet. A lock file and the output's
    missing parent folders were made beside a build that said nothing was written."""
    from .load import load_project

    _, diags = load_project(settings.source, settings.today)
    return BuildResult(diagnostics=diags.sorted())


# Allocations between two passes of the cyclic garbage collector's youngest generation
# during a build (Python's default is 700). A build makes hundreds of thousands of objects
# that live to its end (a thousand charters read back, their pages' parts); at 700 the
# collector ran some 620 times in a one-charter edit at 1,000 charters, 0.2 s of it.
# Garbage in cycles waits longer to be freed: at most this many objects' worth.
GC_THRESHOLD = 50_000


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Raise the collector's first threshold to `GC_THRESHOLD` for the build, then put
    back what it was (a caller's own setting is kept when it is higher)."""
    before = gc.get_threshold()
    if before[0] >= GC_THRESHOLD or before[0] == 0:
        yield
        return
    gc.set_threshold(GC_THRESHOLD, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _silent(stage: str, done: int, total: int, item: str) -> None:
    """No progress to show."""


def _build(settings: Settings, progress: Report) -> BuildResult:
    if settings.kept is not None:
        settings.kept.removed()  # what the last build left is gone before this one looks
    started, since = time.perf_counter(), time.time()
    progress("Loading", 0, 0, "")
    cache = open_cache(settings.source, settings.cache_dir)
    cache.collect = settings.gc
    context = Context(
        today_from_env(settings.today),
        settings.live_reload,
        repository_state(settings.source),
    )
    parts: dict[str, str] = {}
    tree = source_tree(settings.source, _skipped(settings, cache), parts)
    fingerprint = input_fingerprint(tree, context)
    own = settings.kept.site if settings.kept is not None and settings.in_place else None
    mine = own.still(settings.out) if own is not None else None
    previous = mine if mine is not None else read_manifest(settings.out)
    # A link out of the tree is hashed by its target's name only, so the fingerprint does
    # not stand for a tree that has one: it is built every time (as `check` does), and
    # the charters such a link could change are loaded anew.
    for name in tree.open_parts(parts):
        del parts[name]
    trusted = mine is not None
    result = (
        None
        if tree.outside or settings.whole
        else _unchanged(settings.out, previous, cache, fingerprint, trusted)
    )
    if result is None:
        before = PreviousSite.of(settings.out, previous, trusted=trusted)
        reuse = Reuse(cache, parts, context, before=before, kept=settings.kept)
        if settings.kept is not None:
            cache.memory, cache.seen_before = settings.kept.entries, settings.kept.seen
        # Charters read back are exempted from the cyclic garbage collector's passes
        # (Reuse.freezing) until the build ends, unless the caller manages the collector
        # (serve: _settle, which says so in Kept; counting what it froze walks all of it).
        managed = settings.kept is not None and settings.kept.collector_managed
        reuse.freezing = not managed and gc.get_freeze_count() == 0
        try:
            result = _full_build(settings, reuse, tree, fingerprint, progress)
        except BaseException:
            _after_raise(settings, reuse)
            raise
        finally:
            if reuse.freezing:
                gc.unfreeze()
        if settings.kept is not None:
            settings.kept.entries, settings.kept.seen = cache.remembered, cache.seen
            settings.kept.values = reuse.values_now
    if settings.gc and result.ok:
        result.pruned = _collect(cache, fingerprint, since, result.unchanged)
    if settings.kept is not None and not result.unchanged:
        settings.kept.written, unused = superseded(cache, settings.kept.written, result.ok)
        settings.kept.remove(unused, since)
    if (problem := cache.diagnostic()) is not None:
        result.diagnostics.append(problem)
    result.seconds = time.perf_counter() - started
    return result


def _unchanged(
    out: Path,
    previous: Mapping[str, Any],
    cache: Cache,
    fingerprint: str,
    trusted: bool = False,
) -> BuildResult | None:
    """The result of a no-op build, when `out` holds, intact, the site of this very input
    (`previous`: its manifest) and the cache still has its warnings to report again;
    else None. A folder this process wrote itself (`trusted`: `previous` is `Kept.site`'s
    manifest) is taken to be as written."""
    counts = previous.get("counts")
    if previous.get("input") != fingerprint or not isinstance(counts, dict):
        return None
    if not trusted and not intact(out, previous.get("sizes")):
        return None
    diagnostics = load_report(cache, fingerprint)
    if diagnostics is None:
        return None
    if cache.collect and not load_used(cache, fingerprint):
        return None  # --gc needs to know what this input uses: a full build finds out
    numbers = {k: v for k, v in counts.items() if isinstance(v, int)}
    return BuildResult(
        diagnostics=diagnostics,
        charters=numbers.get("charters", 0),
        pages=numbers.get("pages", 0),
        charts=numbers.get("charts", 0),
        charts_cached=numbers.get("charts", 0),
        rule_errors=numbers.get("rule errors", 0),
        unchanged=True,
        # Files of the user's in the site folder are named as a real build names them.
        written=WriteReport(kept=unwritten(out, previous.get("files"))),
    )


# From this many charters, a build that loads one anew starts a drawing worker at once
# (charts.warm_up): reading the others back takes long enough to hide its start. At
# 1,000 charters a result edit drew its charts 0.55 s sooner; at 9 it took 0.2 s longer.
# Such a build also gives the few charts it draws to that worker and renders its pages
# meanwhile (draw_charts' `defer`): a result edit at 1,000 charters took some 0.1 s less.
WARM_FROM = 500


def _full_build(
    settings: Settings, reuse: Reuse, tree: SourceTree, fingerprint: str, progress: Report
) -> BuildResult:
    # The stages are imported here, not at the top: a no-op build needs none of them.
    from .history import with_history
    from .links import linked_files
    from .load import load_project
    from .memo import load_memo, save_memo
    from .pages import render_pages, site_templates, template_diagnostic
    from .portfolio import catalogued_metrics

    cache = reuse.cache
    _warm_up(settings, reuse)
    load_memo(cache)
    check_key = _check_key(settings, tree, reuse.context, cache)  # the tree as it is read
    project, diags = load_project(settings.source, reuse.context.day, reuse)
    result = BuildResult(diagnostics=diags.sorted())
    if not result.ok:
        _keep_loaded(reuse, project, result.diagnostics)
        return _unless_changed(settings, reuse, result)
    progress("Analysing", 0, 0, "")
    views = reuse.analyze(project)
    history = _history(settings, project, cache)
    with_history(views, history)
    checks = _checked(project, views, reuse)
    result.rule_errors = sum(
        1 for check in checks.values() for d in check.findings if d.severity == "error"
    )
    # Linked files are checked before anything is drawn: a refused one fails the build.
    # Large files (result downloads, linked files) go to the spool, not memory.
    spool = open_spool(settings.out)
    linked = linked_files(
        project.root, views, spool, project.catalogue, base_url=project.site.base_url
    )
    prime = _priming(reuse, check_key, project, checks, result.diagnostics, linked.diagnostics)
    result.diagnostics.extend(linked.diagnostics)
    if not result.ok:
        prime()
        return _unless_changed(settings, reuse, result)
    catalogued = catalogued_metrics(project.catalogue, views)
    charts = _charts(settings, reuse, views, catalogued, spool, progress)
    progress("Rendering pages", 0, 0, "")
    try:
        templates = site_templates(
            project,
            views,
            checks,
            live_reload=settings.live_reload,
            bytecode_cache=template_cache(cache),
        )
        # The outputs and check's report are made after the pages, by a forked copy of
        # the build while the pages are rendered when there are many (generator/fork.py).
        day = reuse.context.day
        then = partial(_outputs, prime, templates, project, views, history, spool, reuse, day)
        pages, made_then = render_pages(
            templates, project, views, checks, charts, history, reuse, spool, then, day
        )
        outputs = cast("Outputs", made_then)  # `then` was given: what it made
    except Exception as exc:
        problem = template_diagnostic(exc, project.root)
        if problem is None:
            raise
        prime()  # check's report does not depend on the templates
        result.diagnostics.append(problem)
        return _unless_changed(settings, reuse, result)
    charts.finish()
    # Generated files win over a linked file of the same name.
    files = {**linked.files, **charts.svgs, **pages, **outputs.files}
    counts = _counts(result, len(views), files, len(pages) + len(outputs.files), charts)
    if not _unless_changed(settings, reuse, result).ok:
        return result
    progress("Writing", 0, 0, "")
    made = {rel: key for rel, key in sorted({**charts.made, **reuse.made}.items()) if rel in files}
    result.written = _write(settings, files, manifest(fingerprint, counts, made), reuse.before)
    save_report(cache, fingerprint, result.diagnostics)
    save_memo(cache)
    return result


def _charts(
    settings: Settings,
    reuse: Reuse,
    views: list[CharterView],
    catalogued: list[CataloguedMetric],
    spool: Spool,
    progress: Report,
) -> ChartSet:
    """Every chart, reused or drawn. From `WARM_FROM` charters, the few an edit redraws are
    drawn by the warm worker while the pages are rendered (`ChartSet.finish` waits).
    Outside `serve`, with none still drawing, the set can stop the drawing workers
    (`ChartSet.release`) before a long run of pages."""
    from .charts import draw_charts, stop_workers

    drew = partial(progress, "Drawing charts")
    drew(0, 0, "")
    defer = reuse.charters >= WARM_FROM
    before = reuse.before
    charts = draw_charts(
        views, settings.out, catalogued, reuse.cache, drew, reuse, spool, before, defer
    )
    if settings.kept is not None or charts.drawing is not None:
        return charts  # a process that builds again keeps its workers; or they still draw
    # The workers are stopped before a long run of pages, so that a forked copy of the
    # build shares it (generator/fork.py): at 200 charters, a cold build rendered its
    # pages on one core for 8.7 s of its 67 s. The next build in the process starts others.
    return replace(charts, release=stop_workers)


def _write(
    settings: Settings, files: Mapping[str, Any], data: Mapping[str, Any], before: PreviousSite
) -> WriteReport:
    """Write the site: where it is (serve's own folder, and the output of `build --watch`)
    or as a new folder swapped in. The files the current site's manifest lists are those
    read as the build began, under the output's lock it still holds (`before`), not read
    again. A folder with no manifest yet is made whole and swapped in, even in place: one
    killed as it was first written would hold files and no manifest, which every later
    build refuses as a folder charters did not write."""
    kept = settings.kept if settings.in_place else None
    if kept is not None:
        kept.site = None  # the folder as it is being written: nothing to take as written
    if settings.in_place and (settings.out / MANIFEST).is_file():
        site = write_in_place(settings.out, files, data, before.listed)
        if kept is not None:
            kept.site = site
        return WriteReport()
    report = write_site(settings.out, files, data, before.listed, before.identities)
    if kept is not None:
        kept.site = OwnSite.of(settings.out, full_manifest(files, data))
    return report


def _counts(
    result: BuildResult, charters: int, files: Mapping[str, Any], rendered: int, charts: ChartSet
) -> dict[str, int]:
    """The build's counts into `result`; those a no-op build reports again."""
    result.charters = charters
    result.pages = sum(1 for name in files if name.endswith(".html"))
    result.rendered = rendered
    result.charts = len(charts.all) + len(charts.forests)
    result.charts_drawn = charts.drawn
    result.charts_cached = result.charts - charts.drawn
    return {
        "charters": result.charters,
        "pages": result.pages,
        "charts": result.charts,
        "rule errors": result.rule_errors,
    }


def _skipped(settings: Settings, cache: Cache) -> list[Path]:
    """What the walk of the source leaves out: the output folder and the cache folder."""
    return [settings.out] + ([cache.root] if cache.root is not None else [])


def _unless_changed(settings: Settings, reuse: Reuse, result: BuildResult) -> BuildResult:
    """`result`, with an error added when a file the build read was saved while it read it
    (`Reuse.changed_since_walk`): the entries it wrote to the cache are removed (they may
    file one version's content under the other's key, and a later build of that version
    would show it) and nothing is written to the site. Building again reads the file as
    it is now; `charters serve` does so, having seen the save."""
    changed = reuse.changed_since_walk(settings.source, _skipped(settings, reuse.cache))
    if changed:
        _forget_what_was_read(reuse)
        message = (
            f"changed while the build read it ({', '.join(changed)}); nothing was written:"
            " build again"
        )
        result.diagnostics.append(Diagnostic(SourceRef(changed[0]), "", message, "changed"))
    return result


def _after_raise(settings: Settings, reuse: Reuse) -> None:
    """What a build that raised (an interrupt, a write the system refused, a bug) still
    does before the error goes on: when a file it read was saved while it read it, the
    entries it wrote are removed, as `_unless_changed` removes them (kept, a later build
    of the version the keys were made of would show the other's content); the entries
    it kept join those `charters serve` removes once no build uses them."""
    with contextlib.suppress(OSError):
        if reuse.changed_since_walk(settings.source, _skipped(settings, reuse.cache)):
            _forget_what_was_read(reuse)
    if settings.kept is not None:
        settings.kept.written, _ = superseded(reuse.cache, settings.kept.written, False)


def _forget_what_was_read(reuse: Reuse) -> None:
    """A file was saved while the build read it: remove the cache entries it wrote and
    keep nothing of it in memory (serve goes on after the error)."""
    reuse.cache.discard_written()
    reuse.values_now.clear()
    if reuse.kept is not None:
        reuse.kept.charters = {}


def _keep_loaded(reuse: Reuse, project: Project, diagnostics: list[Diagnostic]) -> None:
    """A build that fails to load still analyses and keeps each charter it loaded anew
    without an error of its own (Reuse.analyze), so that the build after the fix reads it
    back. After a generator upgrade every charter is loaded anew, and a tree with one
    charter in error used to load them all again on every build until it was fixed (11 s
    at 1,000 charters, on each save in `charters serve`). Not when metrics.yaml is in
    error: a charter's key holds it (refs are resolved from it), so its fix changes every
    key."""
    catalogue = any(d.severity == "error" and d.ref.path == "metrics.yaml" for d in diagnostics)
    if reuse.pending and not catalogue:
        reuse.analyze(project)


def _warm_up(settings: Settings, reuse: Reuse) -> None:
    """Start drawing workers at once, to import matplotlib while the charters load.

    * A build with nothing drawn to reuse (no chart in the cache folder, none in the
      current site) that loads `fork.FORK_FROM` charters or more anew, a cold build, starts
      every worker: each is ready to draw when the first chart is, instead of importing
      matplotlib then (about a second each, on the core the loading leaves idle). They
      are stopped before the pages (`ChartSet.release`), which a forked copy shares.
    * From `WARM_FROM` charters, a build that loads fewer than `fork.FORK_FROM` anew
      starts one: it draws the edit's few charts while the pages are rendered.
    * Not a build that loads many anew but may reuse every chart (after an edit of
      metrics.yaml or a generator upgrade): it took 55.0 s at 1,000 charters against
      66.1 s with a worker started and kept to the build's end (its pages rendered on one
      core, the worker's threads forbidding the fork).
    """
    from .charts import warm_up
    from .fork import FORK_FROM

    if reuse.charters < min(FORK_FROM, WARM_FROM):
        return  # neither can be: the charters are not counted
    anew = reuse.count_anew(settings.source, FORK_FROM)
    if anew >= FORK_FROM and _nothing_drawn(reuse):
        warm_up(every=True)
    elif reuse.charters >= WARM_FROM and 0 < anew < FORK_FROM:
        warm_up()


def _nothing_drawn(reuse: Reuse) -> bool:
    """Whether no chart can be reused: the current site's manifest names none, and the
    cache folder holds none."""
    if any(rel.endswith(".svg") for rel in reuse.before.made):
        return False
    return reuse.cache.empty("charts")


def _history(settings: Settings, project: Project, cache: Cache) -> History:
    """Each charter's history from git (one pass, cached by the head commit); its cache
    files are noted as used (for --gc)."""
    from .history import read_history

    names = {mid: entry.name for mid, entry in project.catalogue.metrics.items()}
    history = read_history(settings.source, cache.root, names)
    cache.used.update(history.cache_files)
    return history


def _collect(cache: Cache, fingerprint: str, since: float, unchanged: bool) -> Pruned:
    """`--gc` after a successful build: what a full build used is recorded for a no-op
    build of the same input, then every entry not used is removed (generator/prune.py)."""
    if not unchanged:
        save_used(cache, fingerprint)
    return prune(cache, since)


def _check_key(settings: Settings, tree: SourceTree, context: Context, cache: Cache) -> str | None:
    """The key under which `charters check` of the whole tree on the build's date looks its
    report up (check_cache.py), or None: no usable cache folder, a link leaving the tree,
    or a `serve` rebuild (kept quick). Made from the build's own walk of the tree, unless
    the output folder lies inside an input folder (then left out of it, which check does
    not do)."""
    if context.live_reload:
        return None
    from .check_cache import check_key

    out = real(settings.out)
    inputs = [real(settings.source / name) for name in (*INPUT_FILES, *INPUT_FOLDERS)]
    walked = None if any(out.is_relative_to(path) for path in inputs) else tree
    return check_key(settings.source, context.day, None, cache, walked)


def _checked(project: Project, views: list[CharterView], reuse: Reuse) -> dict[str, CharterCheck]:
    """The rules applied to every charter (what unchanged ones said kept, `reuse`), each
    view given what the staleness rule found of it (`overdue`: the pages show it beside
    its verdict). That rule uses the build date, as `check` does: --today, else
    SOURCE_DATE_EPOCH (the same bytes on any day), else the day of the build."""
    from .rules import check_views, mark_overdue

    checks = check_views(project, views, reuse.context.day, reuse)
    mark_overdue(checks)
    return checks


def _outputs(prime: Callable[[], None], *args: Any) -> Outputs:
    """The outputs stage (`render_outputs(*args)`), and check's report stored (`prime`)."""
    from .outputs import render_outputs

    prime()
    return render_outputs(*args)


def _priming(
    reuse: Reuse,
    key: str | None,
    project: Project,
    checks: Mapping[str, CharterCheck],
    errors: list[Diagnostic],
    link_problems: list[Diagnostic],
) -> Callable[[], None]:
    """What stores check's report (`_prime_check`) once, however often it is called, with
    the loader's `errors` as they are now; nothing without a `key` (no usable cache)."""
    errors, done = list(errors), list[bool]()

    def prime() -> None:
        if key is not None and not done:
            done.append(True)
            _prime_check(reuse, key, project, checks, errors, link_problems)

    return prime


def _prime_check(
    reuse: Reuse,
    key: str,
    project: Project,
    checks: Mapping[str, CharterCheck],
    errors: list[Diagnostic],
    link_problems: list[Diagnostic],
) -> None:
    """Store the report `charters check` would print for the whole tree, made from what the
    build computed (the loader's problems, the rules' findings, the linked files'
    problems), so the first check after a build prints it again instead of redoing it.
    Each charter's JSON entry is kept with its findings (Reuse.check_entry): an unchanged
    charter's is not made again."""
    from .check import charter_json_text, report_of
    from .check_cache import Checked, save_checked

    entries = {
        cid: (check, reuse.check_entry(cid, partial(charter_json_text, check)))
        for cid, check in checks.items()
    }
    report = report_of(project, checks, errors, link_problems)
    save_checked(reuse.cache, key, Checked.of(report, entries))


def manifest(fingerprint: str, counts: dict[str, int], made: dict[str, str]) -> dict[str, object]:
    """What the next build reads back: who wrote the folder, from which input, the cache
    key each chart, charter page and download was made from (charts/__init__.py,
    generator/reuse.py), and the counts a no-op build reports again."""
    return {
        "generator": "charters",
        "version": __version__,
        "made": made,
        "input": fingerprint,
        "counts": counts,
    }
