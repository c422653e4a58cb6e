"""A cold build feeds its charts to the workers a few chunks at a time: the chart specs
alive at once never exceed those few chunks, however many charts the site has, the
progress bar counts each chart as the k-th of all of them, and the site is byte for byte
the one drawn in the default chunks."""

from __future__ import annotations

import filecmp
import gc
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from factory import ab, business_metric, charter_data, write_charter

import generator.charts as charts
from generator.build import Settings, build
from generator.charts import ChartJob, ChartSpec, LiftSpec
from generator.charts.draw import DrawProgress

CHARTERS = 4  # × 2 metrics × (values + lift) = 16 charts to draw


def _tree(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "site.yaml").write_text("title: Batches\n", encoding="utf-8")
    for i in range(CHARTERS):
        rows = [
            one
            for week in (3, 4, 5)
            for metric in ("conv", "aov")
            for one in ab(f"2026-0{week}-01", metric, 10.0 + week, 11.0 + week + i, n=50_000)
        ]
        body = charter_data(
            title=f"Charter {i}",
            business_metrics=[business_metric("conv"), business_metric("aov")],
        )
        write_charter(root, f"charter-{i}", body, rows)
    return root


def _alive_specs() -> set[int]:
    """The chart specs of charters (values and lift) this process holds right now, by id."""
    return {id(o) for o in gc.get_objects() if isinstance(o, ChartSpec | LiftSpec)}


def _all_files(site: Path) -> list[str]:
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())


def test_a_cold_build_holds_a_few_chunks_of_specs_and_counts_over_all_charts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: charts are drawn in the build's own process")
    from generator.charts import draw as draw_module

    source = _tree(tmp_path / "source")
    whole = tmp_path / "whole"
    default = build(Settings(source, whole, cache_dir=tmp_path / "cache-whole"))
    assert default.ok and default.charts_drawn == CHARTERS * 4

    given: list[int] = []
    alive: list[int] = []
    real_each = charts.draw_each

    def spying(
        jobs: Iterable[ChartJob], total: int, progress: DrawProgress | None = None
    ) -> Iterator[tuple[ChartJob, bytes]]:
        def counted() -> Iterator[ChartJob]:
            for job in jobs:  # each spec made as the job is asked for
                given.append(1)
                yield job

        for job, svg in real_each(counted(), total, progress):
            alive.append(len(_alive_specs() - before))
            yield job, svg

    monkeypatch.setattr(draw_module, "CHUNK", 1)
    monkeypatch.setattr(draw_module, "AHEAD", 1)
    monkeypatch.setattr(charts, "draw_each", spying)
    counted: list[tuple[int, int]] = []

    def progress(stage: str, done: int, total: int, item: str) -> None:
        if stage == "Drawing charts" and total:
            counted.append((done, total))

    gc.collect()
    before = _alive_specs()  # held by other tests of this session (their parameters)
    fed = tmp_path / "fed"
    result = build(Settings(source, fed, cache_dir=tmp_path / "cache-fed"), progress)
    assert result.ok and result.charts_drawn == CHARTERS * 4
    assert len(given) == CHARTERS * 4
    # Specs alive as a chart arrives: one chunk per worker given out, the chunk arriving
    # and the chart stored before it; not the sixteen.
    workers = min(os.cpu_count() or 1, 8)
    assert len(alive) == CHARTERS * 4 and max(alive) <= workers + 2 < CHARTERS * 4
    assert counted == [(k, CHARTERS * 4) for k in range(1, CHARTERS * 4 + 1)]
    # The same bytes as the site drawn in the default chunks, file for file.
    assert _all_files(fed) == _all_files(whole)
    match, mismatch, errors = filecmp.cmpfiles(whole, fed, _all_files(whole), shallow=False)
    assert mismatch == [] and errors == [] and len(match) == len(_all_files(whole))


WARM_SCRIPT = """
import sys
from pathlib import Path
import generator.build as build_stage
import generator.charts as charts
import generator.pages as pages
from generator.build import Settings, build
build_stage.WARM_FROM = int(sys.argv[4])
source, out, cache = (Path(a) for a in sys.argv[1:4])
order = []
render, finish = pages.render_pages, charts._Reuse.finish
def rendering(*args, **kwargs):
    order.append("pages")
    return render(*args, **kwargs)
def finishing(self):
    order.append("finish")
    return finish(self)
pages.render_pages, charts._Reuse.finish = rendering, finishing
result = build(Settings(source, out, cache_dir=cache))
assert result.ok
print(result.charts_drawn, "matplotlib" in sys.modules, ",".join(order))
"""


def test_a_large_trees_edit_draws_its_few_charts_in_a_worker_started_early(
    tmp_path: Path,
) -> None:
    """From `WARM_FROM` charters, a build that loads a charter anew starts a drawing worker
    before loading, and the few charts it then draws are drawn there (never importing
    matplotlib into the build) while the pages are rendered, waited for before the site
    is written: the bytes drawn in the build's own process, and kept in the cache."""
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: charts are drawn in the build's own process")
    source = tmp_path / "source"
    source.mkdir()
    body = charter_data(title="One", business_metrics=[business_metric("conv")])
    write_charter(source, "one", body, ab("2026-03-01", "conv", 10.0, 11.0, n=50_000))

    def run(name: str, warm_from: int, cache: str | None = None) -> tuple[int, str, str]:
        cache_dir = tmp_path / f"cache-{cache or name}"
        argv = [str(source), str(tmp_path / name), str(cache_dir), str(warm_from)]
        done = subprocess.run(
            [sys.executable, "-c", WARM_SCRIPT, *argv], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        drawn, imported, order = done.stdout.split()
        return int(drawn), imported, order

    early = run("early", 0)
    assert 0 < early[0] < charts.PARALLEL_CHARTS
    # Drawn by the worker, stored after the pages were rendered.
    assert early[1:] == ("False", "pages,finish")
    here = run("here", 10**9)
    assert here[0] == early[0]
    assert here[1:] == ("True", "pages")  # drawn in the build's own process, before
    assert _all_files(tmp_path / "early") == _all_files(tmp_path / "here")
    for rel in _all_files(tmp_path / "here"):
        if not rel.startswith("."):
            assert (tmp_path / "early" / rel).read_bytes() == (tmp_path / "here" / rel).read_bytes()
    # What the worker drew went into the cache: a new site from it draws nothing.
    assert run("again", 0, cache="early")[0] == 0
    assert _all_files(tmp_path / "again") == _all_files(tmp_path / "early")


def test_a_build_ending_stops_its_drawing_workers_and_the_next_starts_them_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`charters build` stops its workers as it ends rather than waiting for them to tear
    matplotlib down; a process that builds again (a test, say) gets new ones."""
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: charts are drawn in the build's own process")
    import generator.build as build_stage
    from generator.charts import draw as draw_module

    monkeypatch.setattr(build_stage, "WARM_FROM", 0)
    source = _tree(tmp_path / "source")
    assert build(Settings(source, tmp_path / "first", cache_dir=tmp_path / "c1")).ok
    pool = draw_module._POOL
    assert pool is not None, "the build drew its charts without a pool"
    workers = list(pool._processes.values())
    assert workers, "the pool has no worker processes"
    charts.stop_workers()
    assert draw_module._POOL is None
    for process in workers:
        process.join(timeout=60)  # a loaded machine is slow to reap a process
        assert not process.is_alive(), f"worker {process.pid} still running"
    again = build(Settings(source, tmp_path / "again", cache_dir=tmp_path / "c2"))
    assert again.ok, [d.format_text() for d in again.diagnostics]
    assert again.charts_drawn == CHARTERS * 4
    assert _all_files(tmp_path / "again") == _all_files(tmp_path / "first")
    charts.stop_workers()


def test_a_drawing_worker_gone_while_idle_fails_one_build_and_the_next_starts_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that builds again (`charters serve`) keeps its drawing worker between
    builds; killed while idle (the out-of-memory killer, say), the next build that hands
    it an edit's charts fails, the broken pool is let go, and the build after draws in a
    new worker."""
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: charts are drawn in the build's own process")
    import signal
    import time
    from concurrent.futures.process import BrokenProcessPool

    import generator.build as build_stage
    from generator.charts import draw as draw_module

    monkeypatch.setattr(build_stage, "WARM_FROM", 0)
    source = tmp_path / "source"
    source.mkdir()

    def edit(value: float) -> None:
        body = charter_data(title="One", business_metrics=[business_metric("conv")])
        write_charter(source, "one", body, ab("2026-03-01", "conv", 10.0, value, n=50_000))

    settings = Settings(source, tmp_path / "out", cache_dir=tmp_path / "cache")
    edit(11.0)
    assert build(settings).ok
    pool = draw_module._POOL
    assert pool is not None and pool._processes
    for process in list(pool._processes.values()):
        os.kill(process.pid, signal.SIGKILL)
        process.join(timeout=60)
    time.sleep(0.5)  # for the pool's manager thread to see it
    outcomes = []
    for value in (11.1, 11.2, 11.3):
        edit(value)
        try:
            result = build(settings)
            outcomes.append(f"ok {result.charts_drawn}" if result.ok else "failed")
        except BrokenProcessPool:
            outcomes.append("broken")
    assert outcomes[0] == "broken" or outcomes[0].startswith("ok ")
    assert [o.split()[0] for o in outcomes[1:]] == ["ok", "ok"], outcomes
    assert all(int(o.split()[1]) > 0 for o in outcomes[1:])  # drawn, by a new worker
    charts.stop_workers()
