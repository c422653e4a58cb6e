"""The build recipe: load → validate → analyse → render → write.

Ordering rules: nothing is written until the whole tree has loaded without an
error; the output folder is checked before any work so a refused `--out` costs
nothing; charts are drawn (or reused from the previous build when their inputs
are unchanged) before pages so pages can describe them.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .analyze import CharterView, MetricView
from .diagnostics import Diagnostic
from .formatting import fmt_value, plural
from .load import Project, Result, load_project
from .outputs import render_outputs, template_context
from .pages import BUILTIN_TEMPLATES, make_environment, render_page
from .rules import RULES, CharterCheck, check_project, fixed_today
from .stats import Arm, arm_interval
from .vocabulary import REF_KINDS, REF_LABELS, STATUS_DISPLAY_ORDER, VERDICTS
from .write import WriteReport, check_output, lock_output, read_manifest, write_site


@dataclass(frozen=True)
class Settings:
    source: Path
    out: Path
    live_reload: bool | str = False  # `charters serve`: a build token the page polls for
    wait: bool = False  # wait for another build writing `out` instead of refusing


@dataclass
class Chart:
    """A drawn chart of one metric, with its text alternative."""

    metric: MetricView
    path: str  # relative to the site root
    alt: str
    key: str


@dataclass
class BuildResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    charters: int = 0
    pages: int = 0
    charts: int = 0
    charts_drawn: int = 0
    seconds: float = 0.0
    written: WriteReport = field(default_factory=WriteReport)
    pending: list[tuple[str, Any, str]] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)

    def summary(self, out: Path | None = None) -> str:
        """The one-line report of a successful build."""
        note = self.written.note()
        return (
            f"Built {plural(self.charters, 'charter')}:"
            f" {self.pages} pages, {self.charts} charts ({self.charts_drawn} drawn)"
            f" in {self.seconds:.2f} s"
            + (f" → {out}" if out is not None else "")
            + (f"; {note}" if note else "")
        )


def build(settings: Settings) -> BuildResult:
    """Build the site from `settings.source` into `settings.out`, or report why not.

    One build at a time writes an output folder (generator/write.py).
    """
    check_output(settings.source, settings.out)
    with lock_output(settings.out, wait=settings.wait):
        return _build(settings)


def _build(settings: Settings) -> BuildResult:
    started = time.perf_counter()
    result = BuildResult()
    check_output(settings.source, settings.out)
    project, diags = load_project(settings.source)
    result.diagnostics = diags.sorted()
    if not result.ok:
        return result
    # The staleness rule depends on the date; a reproducible build applies it only when
    # a date is given (SOURCE_DATE_EPOCH), so the same input gives the same bytes.
    checks = check_project(project, fixed_today())
    views = [checks[c.id].view for c in project.charters]
    files, charts = render_site(
        project, views, settings.out, result, checks, live_reload=settings.live_reload
    )
    manifest = {
        "generator": "charters",
        "version": __version__,
        "charts": {c.path: c.key for c in charts},
    }
    result.written = write_site(settings.out, files, manifest)
    result.charters = len(views)
    result.pages = sum(1 for name in files if name.endswith(".html"))
    result.charts = len(charts)
    result.seconds = time.perf_counter() - started
    return result


def render_site(
    project: Project,
    views: list[CharterView],
    out: Path,
    result: BuildResult,
    checks: dict[str, CharterCheck],
    live_reload: bool | str = False,
) -> tuple[dict[str, bytes], list[Chart]]:
    """Every file of the site, keyed by its site-relative path."""
    env = make_environment(project.root / "templates")
    files: dict[str, bytes] = {}
    previous = read_manifest(out).get("charts", {})
    all_charts: list[Chart] = []
    per_charter: dict[str, list[Chart]] = {}
    for view in views:
        charts = draw_charts(view, out, previous, files, result)
        per_charter[view.id] = charts
        all_charts.extend(charts)
    draw_pending(result, files)
    common: dict[str, Any] = {
        "site": project.site,
        "verdicts": VERDICTS,
        "checks": checks,
        "rules": RULES,
    }
    common.update(template_context(views, live_reload=live_reload))
    groups = [
        (status, [v for v in views if v.charter.status == status])
        for status in STATUS_DISPLAY_ORDER
    ]
    files["index.html"] = render_page(
        env,
        "index.html",
        "index.html",
        views=views,
        groups=[g for g in groups if g[1]],
        **common,
    ).encode()
    for view in views:
        page = f"charters/{view.id}/index.html"
        files[page] = render_page(
            env,
            "charter.html",
            page,
            view=view,
            check=checks[view.id],
            charts=per_charter[view.id],
            **common,
        ).encode()
    files["rules/index.html"] = render_page(
        env, "rules.html", "rules/index.html", **common
    ).encode()
    # Feeds, sitemap, JSON and CSV for other tools (generator/outputs.py).
    extra, warnings = render_outputs(env, project, views, common)
    files.update(extra)
    result.diagnostics.extend(warnings)
    for static in sorted((BUILTIN_TEMPLATES / "static").glob("*")):
        files[f"static/{static.name}"] = static.read_bytes()
    user_static = project.root / "templates" / "static"
    if user_static.is_dir():
        for static in sorted(user_static.glob("*")):
            if static.is_file():
                files[f"static/{static.name}"] = static.read_bytes()
    return files, all_charts


def _interval(result: Result, unit: str) -> tuple[float | None, float | None]:
    """A row's 95% interval: as given, or computed from its n and std."""
    row = result.row
    if row.lower is not None or row.upper is not None:
        return row.lower, row.upper
    computed = arm_interval(Arm(row.value, n=row.n, std=row.std), unit)
    return computed if computed is not None else (None, None)


def chart_spec(metric: MetricView) -> Any:
    """The chart of one metric: a line per variant, intervals, reference lines."""
    from .charts import ChartSpec, RefLine, Series

    series = []
    for variant in metric.variants:
        rows = metric.series(variant)
        series.append(
            Series(
                label=variant,
                dates=tuple(r.row.date for r in rows),
                values=tuple(r.row.value for r in rows),
                lower=tuple(_interval(r, metric.unit)[0] for r in rows),
                upper=tuple(_interval(r, metric.unit)[1] for r in rows),
            )
        )
    refs = [
        RefLine(kind, f"{REF_LABELS[kind]} {fmt_value(value, metric.unit)}", value)
        for kind, value in zip(
            REF_KINDS, (metric.baseline, metric.human, metric.target), strict=True
        )
        if value is not None
    ]
    return ChartSpec(
        title=metric.name,
        unit=metric.unit,
        direction=metric.direction,
        series=tuple(series),
        refs=tuple(refs),
    )


def draw_charts(
    view: CharterView,
    out: Path,
    previous: dict[str, str],
    files: dict[str, bytes],
    result: BuildResult,
) -> list[Chart]:
    """A chart per metric with results; SVGs of unchanged charts come from the last build.

    Charts still to draw are left out of `files` and listed in `result.pending`;
    `draw_pending` draws them all at once, in parallel when there are many.
    """
    from .charts import describe, spec_key

    charts: list[Chart] = []
    for metric in view.metrics:
        if not metric.rows:
            continue
        spec = chart_spec(metric)
        key = spec_key(spec)
        path = f"charters/{view.id}/{metric.id}.svg"
        old = out / path
        if previous.get(path) == key and old.is_file():
            files[path] = old.read_bytes()
        else:
            result.pending.append((path, spec, f"{view.id}-{metric.id}"))
        charts.append(Chart(metric, path, describe(spec), key))
    return charts


PARALLEL_CHARTS = 12  # below this, starting worker processes costs more than it saves


def _draw(job: tuple[str, Any, str]) -> tuple[str, bytes]:
    from .charts import render_svg

    path, spec, chart_id = job
    return path, render_svg(spec, chart_id=chart_id).encode()


def draw_pending(result: BuildResult, files: dict[str, bytes]) -> None:
    """Draw every pending chart; each is independent, so order and workers do not matter."""
    jobs = sorted(result.pending, key=lambda job: job[0])
    workers = min(os.cpu_count() or 1, 8)
    if len(jobs) >= PARALLEL_CHARTS and workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            drawn = list(pool.map(_draw, jobs, chunksize=4))
    else:
        drawn = [_draw(job) for job in jobs]
    for path, svg in drawn:
        files[path] = svg
    result.charts_drawn += len(drawn)
    result.pending.clear()
