"""Charts stage: a chart per metric with results, reused from the last build when unchanged.

:func:`draw_charts` takes the analysed charters and gives a :class:`ChartSet`: every
chart with its text alternative (for the pages) and its SVG (for the site). A metric
with experiment lifts also gets a lift-over-time chart (`<metric>-lift.svg`). A chart
is taken from the current site when the previous build's manifest says it made it
from the same cache key (its spec key, chart id and drawing code), else from the
cache folder by that key (generator/cache.py); the others are drawn, in worker
processes when there are many, and cached.

* :mod:`generator.charts.spec` says what a chart shows (no matplotlib);
* :mod:`generator.charts.draw` draws it with matplotlib, imported only when drawing.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from ..analyze import CharterView, MetricView, mde_threshold
from ..cache import Cache, chart_key
from ..portfolio import CataloguedMetric
from ..spool import Content, Spool
from ..write import PreviousSite, read_manifest
from . import draw as _draw
from .draw import PARALLEL_CHARTS, DrawProgress, draw_each, render_svg

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

from .spec import (
    CHART_VERSION,
    Breach,
    ChartJob,
    ChartSpec,
    ForestRow,
    ForestSpec,
    LiftSpec,
    RefLine,
    Series,
    Tolerance,
    chart_spec,
    describe,
    describe_forest,
    forest_key,
    forest_spec,
    interval_source,
    lift_spec,
    row_interval,
    spec_key,
    tolerance_of,
)

__all__ = [
    "CHART_VERSION",
    "Breach",
    "Chart",
    "ChartJob",
    "ChartSet",
    "ChartSpec",
    "ForestChart",
    "ForestRow",
    "ForestSpec",
    "LiftSpec",
    "RefLine",
    "Series",
    "Tolerance",
    "chart_spec",
    "describe",
    "draw_charts",
    "interval_source",
    "lift_spec",
    "render_svg",
    "row_interval",
    "spec_key",
    "tolerance_of",
]


ChartKind = Literal["values", "lift"]
AnySpec = ChartSpec | LiftSpec | ForestSpec


@dataclass(frozen=True)
class Chart:
    """A chart of one metric (its values, or its lift over control), with its text alternative."""

    view: CharterView = field(compare=False, repr=False)
    index: int  # of its metric in the view's metrics
    path: str  # relative to the site root
    alt: str
    key: str  # the spec key, recorded in the manifest to reuse the SVG next time
    kind: ChartKind = "values"
    tolerance: Tolerance | None = None  # a guardrail's, for its data table

    @property
    def metric(self) -> MetricView:
        """The metric's view: asked of the charter's view only when a page shows the chart
        (a charter read back from the cache unpickles its metrics then: analyze.LazyView)."""
        return self.view.metrics[self.index]


@dataclass(frozen=True)
class ForestChart:
    """The forest plot of a catalogued metric: every project's latest lift on one axis."""

    spec: ForestSpec
    path: str  # relative to the site root
    alt: str
    key: str


@dataclass(frozen=True)
class ChartSet:
    """The charts of a site: per charter for the pages, and every SVG by its site path."""

    by_charter: Mapping[str, tuple[Chart, ...]]
    svgs: Mapping[str, Content]  # bytes, a file in the build's spool, or the site's (borrowed)
    drawn: int  # how many were drawn rather than reused
    forests: Mapping[str, ForestChart] = field(default_factory=dict)  # by catalogued metric id
    made: Mapping[str, str] = field(default_factory=dict)  # site path → cache key, each SVG
    # Charts a worker is still drawing (`draw_charts` with `defer`): `svgs` lacks them
    # until `finish` is called.
    drawing: Callable[[], None] | None = field(default=None, compare=False, repr=False)
    # Stops the drawing workers, if any (set by a build outside `serve` when none is still
    # drawing): called before a long run of pages, which their threads keep from a forked
    # copy. The next build of the process that draws starts others.
    release: Callable[[], None] | None = field(default=None, compare=False, repr=False)

    def finish(self) -> None:
        """Wait for the charts still being drawn and add their SVGs to `svgs` (stored in
        the cache as they are). Raises what drawing them raised."""
        if self.drawing is not None:
            self.drawing()

    @property
    def all(self) -> list[Chart]:
        """Every chart, charter by charter."""
        return [chart for charts in self.by_charter.values() for chart in charts]


def _metric_specs(
    view: CharterView, metric: MetricView
) -> list[tuple[ChartKind, ChartSpec | LiftSpec]]:
    """The charts of one metric: its values when it has rows, its lift when it has lifts."""
    specs: list[tuple[ChartKind, ChartSpec | LiftSpec]] = []
    if metric.rows:
        specs.append(("values", chart_spec(metric)))
    mde = mde_threshold(
        view.charter.measurement.minimum_detectable_effect, metric.id, metric.baseline
    )
    lift = lift_spec(metric, mde)
    if lift is not None:
        specs.append(("lift", lift))
    return specs


def forest_of(metric: CataloguedMetric) -> ForestSpec | None:
    """The forest plot of a catalogued metric: the latest lift of each project that has one."""
    rows = [
        ForestRow(c.view.charter.title, dl.date, dl.lift.absolute, dl.lift.ci_low, dl.lift.ci_high)
        for c in metric.claims
        if (dl := c.metric.lift) is not None
    ]
    entry = metric.entry
    return forest_spec(entry.name, entry.unit, entry.direction, rows)


# A chart still to draw: its site path, its spec (or the function that makes it, called
# only when it is about to be drawn) and its chart id.
_Pending = tuple[str, "AnySpec | Callable[[], AnySpec]", str]


@dataclass
class _Reuse:
    """Where drawn charts come from: the cache folder, else the previous site.

    With a spool (a build), no SVG is held in memory: one the current site has is
    borrowed from it, one from the cache is linked into the spool, a drawn one written
    there as it arrives from the workers. A chart to draw
    is kept as the function that makes its spec until it is about to be drawn.
    """

    before: PreviousSite  # the current site, as the previous build made it
    cache: Cache | None
    spool: Spool | None = None
    svgs: dict[str, Content] = field(default_factory=dict)
    pending: list[_Pending] = field(default_factory=list)
    made: dict[str, str] = field(default_factory=dict)  # site path → cache key, this build
    # The jobs given to a worker and their SVGs to come (`start`), until `finish`.
    started: tuple[list[ChartJob], _WhenWarm, DrawProgress | None] | None = None

    def want(
        self,
        path: str,
        key: str,
        spec: AnySpec | Callable[[], AnySpec],
        chart_id: str,
        ck: str | None = None,
    ) -> None:
        """The SVG for `path`: reused when its key and id were drawn before, else to be
        drawn (`spec` may be a function that makes it, called only then). `ck`, when
        given, is `chart_key(key, chart_id)`, made before."""
        ck = ck if ck is not None else chart_key(key, chart_id)
        self.made[path] = ck
        site_file = self.before.file(path, ck)
        if site_file is not None:
            self.svgs[path] = self._borrow(site_file, self.before.sizes[path])
            if self.cache is not None and not self.cache.holds("charts", ck, ".svg"):
                with open(site_file, "rb") as f:  # an empty cache: kept for the next build
                    self.cache.put("charts", ck, f.read(), ".svg")
            return
        if self.cache is not None:
            entry = self.cache.entry("charts", ck, ".svg")
            taken = self._take(entry) if entry is not None and _whole_svg(entry) else None
            if taken is not None:  # None: removed meanwhile by another process, drawn again
                self.svgs[path] = taken
                return
        self.pending.append((path, spec, chart_id))

    def _borrow(self, site_file: str, size: int) -> Content:
        """The current site's file, unread (generator/spool.py, borrowed)."""
        if self.spool is not None:
            return self.spool.borrow(site_file, size)
        with open(site_file, "rb") as f:
            return f.read()

    def _take(self, entry: str) -> Content | None:
        """The cache's entry, linked into the spool (else its bytes); None when it is gone
        (Spool.link)."""
        return (self.spool or Spool(None)).link(entry)

    def _store(self, data: bytes) -> Content:
        return self.spool.write([data]) if self.spool is not None else data

    def draw(self, progress: DrawProgress | None = None) -> int:
        """Draw the pending charts in order of their paths, each spec made only as the
        workers are about to need it (a few chunks ahead: `draw.draw_each`) and each SVG
        stored as it arrives, so that the specs and SVGs held at once stay few however
        many charts there are; cache what was drawn; how many were drawn."""
        pending = sorted(self.pending, key=lambda p: p[0])
        self.pending = []
        for job, svg in draw_each(_jobs(pending), len(pending), progress):
            self._keep(job, svg)
        return len(pending)

    def start(self, progress: DrawProgress | None = None) -> int:
        """Give a few pending charts (fewer than `PARALLEL_CHARTS`) to one drawing worker
        and return at once, how many: `finish` stores them. Many, or with one core, are
        drawn now (`draw`)."""
        workers = _draw.worker_count()
        if not self.pending or len(self.pending) >= PARALLEL_CHARTS or workers < 2:
            return self.draw(progress)
        jobs = list(_jobs(sorted(self.pending, key=lambda p: p[0])))
        self.pending = []
        self.started = jobs, _WhenWarm(_draw._pool(workers), jobs), progress
        return len(jobs)

    def finish(self) -> None:
        """Store the SVGs of the charts `start` gave to a worker, once it has drawn them."""
        if self.started is None:
            return
        from concurrent.futures.process import BrokenProcessPool

        jobs, future, progress = self.started
        self.started = None
        try:
            svgs = future.result()
        except BrokenProcessPool:
            _draw._forget_pool()
            raise
        for done, (job, svg) in enumerate(zip(jobs, svgs, strict=True), start=1):
            if progress is not None:
                progress(done, len(jobs), job.path)
            self._keep(job, svg)

    def _keep(self, job: ChartJob, svg: bytes) -> None:
        """Store a drawn chart: in the cache (and linked into the spool), else the spool."""
        if self.cache is None:
            self.svgs[job.path] = self._store(svg)
            return
        spec = job.spec
        key = chart_key(
            forest_key(spec) if isinstance(spec, ForestSpec) else spec_key(spec), job.chart_id
        )
        self.cache.put("charts", key, svg, ".svg")
        entry = self.cache.entry("charts", key, ".svg", count=False)
        taken = self._take(entry) if entry is not None else None
        self.svgs[job.path] = taken if taken is not None else self._store(svg)


def _jobs(pending: list[_Pending]) -> Iterator[ChartJob]:
    """The drawing jobs of `pending` charts, each spec made when its job is asked for
    (when it is a function)."""
    for path, spec, chart_id in pending:
        yield ChartJob(path, spec() if callable(spec) else spec, chart_id=chart_id)


# The pool `warm_up` started a worker of, and the job that started it.
_WARM: tuple[ProcessPoolExecutor, Future[int]] | None = None


class _WhenWarm:
    """`draw.draw_jobs(jobs)` in `pool`: given to it at once, or, while the worker `warm_up`
    started is still importing matplotlib, by a thread as soon as it is ready (a job given
    to the pool before that would start a second worker, importing matplotlib beside the
    build's own work)."""

    def __init__(self, pool: ProcessPoolExecutor, jobs: list[ChartJob]) -> None:
        warm = _WARM
        warming = warm[1] if warm is not None and warm[0] is pool else None
        self._future: Future[list[bytes]] | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if warming is None or warming.done():
            self._submit(pool, warming, jobs)
        else:
            self._thread = threading.Thread(
                target=self._submit, args=(pool, warming, jobs), daemon=True
            )
            self._thread.start()

    def _submit(
        self, pool: ProcessPoolExecutor, warming: Future[int] | None, jobs: list[ChartJob]
    ) -> None:
        try:
            if warming is not None:
                warming.result()
            self._future = pool.submit(_draw.draw_jobs, jobs)
        except BaseException as exc:  # a worker gone (while idle, say): raised by `result`,
            self._error = exc  # in the build's thread, where the broken pool is let go

    def result(self) -> list[bytes]:
        """The SVGs, once drawn; raises what drawing them (or starting the worker) raised."""
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._future is not None
        return self._future.result()


def warm_up(every: bool = False) -> None:
    """Start one drawing worker now (`every`: all of them), to import matplotlib while
    the build loads and analyses its charters: the few charts an edit redraws are then
    drawn there (`_Reuse.start`), where importing matplotlib into the build would cost
    more than drawing them; and a build with nothing to reuse draws from its first chart
    on every core. Nothing with one core."""
    global _WARM
    workers = _draw.worker_count()
    if workers >= 2 and (_WARM is None or _WARM[0] is not _draw._POOL):
        pool = _draw._pool(workers)
        # Each job given to a pool whose workers are all busy (here: starting) starts one.
        _WARM = pool, pool.submit(int)
        for _ in range(workers - 1 if every else 0):
            pool.submit(int)


def stop_workers() -> None:
    """Stop the drawing workers at once, idle or still importing matplotlib (`warm_up`):
    for a process about to end (`charters build`), where, asked to exit, each would
    first tear its matplotlib down and the process would wait for them (0.3 s at the end
    of a build whose warm worker drew nothing); and before a build's long run of pages,
    which their threads would keep from a forked copy (`ChartSet.release`). The next
    build that draws starts others."""
    global _WARM
    pool = _draw._POOL
    if pool is not None:
        for process in list(pool._processes.values()):
            process.terminate()
        # Waited for, once they are gone: a shutdown left running races the interpreter's
        # own at exit, which then writes to the pool's closed wake-up pipe (a traceback).
        pool.shutdown(wait=True, cancel_futures=True)
        atexit.unregister(pool.shutdown)  # (registered by draw._pool: not kept for nothing)
        _draw._POOL = None
    _WARM = None


def _whole_svg(path: str) -> bool:
    """Whether the file at `path` starts and ends as an SVG written whole does (an entry
    cut short by a full disk, say, does not), read at its two ends only."""
    try:
        with open(path, "rb") as f:
            if f.read(5) != b"<?xml":
                return False
            f.seek(max(0, os.fstat(f.fileno()).st_size - 64))
            return f.read().rstrip().endswith(b"</svg>")
    except OSError:
        return False


def _forests(catalogued: Sequence[CataloguedMetric], reuse: _Reuse) -> dict[str, ForestChart]:
    """The forest plot of each catalogued metric with lifts: reused, or a job to draw."""
    forests: dict[str, ForestChart] = {}
    for metric in catalogued:
        spec = forest_of(metric)
        if spec is None:
            continue
        path, key = f"metrics/{metric.id}/forest.svg", forest_key(spec)
        reuse.want(path, key, spec, f"metric-{metric.id}-forest")
        forests[metric.id] = ForestChart(spec, path, describe_forest(spec), key)
    return forests


class Known(Protocol):
    """Where a build keeps each charter's charts as last described (generator/reuse.py)."""

    def charts_of(self, view: CharterView) -> list[Described] | None: ...

    def keep_charts(self, view: CharterView, charts: list[Described]) -> None: ...


# A chart as described for its page, without its spec: the index of its metric in the
# charter's view, its kind, path, spec key, text alternative, tolerance and the cache key
# of its SVG (cache.chart_key: the spec key, the chart id and the drawing code; a kept
# description is found by a key that holds the generator's code, so it is that build's).
Described = tuple[int, ChartKind, str, str, str, "Tolerance | None", str]


def _described(view: CharterView, cache: Cache | None = None) -> list[Described]:
    """Every chart of a charter, described from its specs (made with the Student's t
    values the charter's last specs used, kept in `cache`: generator/memo.py)."""
    if cache is None:
        return _describe(view)
    from ..memo import charter_memo

    with charter_memo(cache, f"charters/{view.id}", "charts"):
        return _describe(view)


def _describe(view: CharterView) -> list[Described]:
    described: list[Described] = []
    for index, metric in enumerate(view.metrics):
        for kind, spec in _metric_specs(view, metric):
            name = metric.id if kind == "values" else f"{metric.id}-lift"
            path = f"charters/{view.id}/{name}.svg"
            tolerance = spec.tolerance if isinstance(spec, ChartSpec) else None
            key = spec_key(spec)
            ck = chart_key(key, _chart_id(view, path))
            described.append((index, kind, path, key, describe(spec), tolerance, ck))
    return described


def _chart_id(view: CharterView, path: str) -> str:
    """The id that salts a charter's chart's SVG element ids: unique in the site."""
    return f"{view.id}-{path.rsplit('/', 1)[1].removesuffix('.svg')}"


def _spec_of(view: CharterView, index: int, kind: ChartKind) -> Callable[[], AnySpec]:
    def make() -> AnySpec:
        metric = view.metrics[index]
        return next(spec for k, spec in _metric_specs(view, metric) if k == kind)

    return make


def draw_charts(
    views: Sequence[CharterView],
    site: Path,
    catalogued: Sequence[CataloguedMetric] = (),
    cache: Cache | None = None,
    progress: DrawProgress | None = None,
    known: Known | None = None,
    spool: Spool | None = None,
    before: PreviousSite | None = None,
    defer: bool = False,
) -> ChartSet:
    """Every chart of every metric, and a forest plot per catalogued metric; SVGs of
    unchanged charts come from `site` (as `before` describes it, else its manifest
    read here) or from `cache`. `progress` hears of each
    chart drawn. `known` may tell a charter's charts without their specs being made.
    With `spool`, the SVGs are files in it (linked from the cache, or written as drawn),
    not bytes held in memory. With `defer`, a few charts to draw are given to a drawing
    worker and the set returned at once: its `finish` waits for them (`_Reuse.start`)."""
    before = before if before is not None else PreviousSite.of(site, read_manifest(site))
    reuse = _Reuse(before, cache, spool)
    by_charter: dict[str, tuple[Chart, ...]] = {}
    for view in views:
        described = known.charts_of(view) if known is not None else None
        if described is None:
            described = _described(view, cache)
            if known is not None:
                known.keep_charts(view, described)
        charts: list[Chart] = []
        for index, kind, path, key, alt, tolerance, ck in described:
            reuse.want(path, key, _spec_of(view, index, kind), _chart_id(view, path), ck)
            charts.append(Chart(view, index, path, alt, key, kind, tolerance))
        by_charter[view.id] = tuple(charts)
    forests = _forests(catalogued, reuse)
    drawn = reuse.start(progress) if defer else reuse.draw(progress)
    finish = reuse.finish if reuse.started is not None else None
    # `svgs` is the dict `finish` adds the SVGs drawn by the worker to.
    return ChartSet(by_charter, reuse.svgs, drawn, forests, reuse.made, finish)
