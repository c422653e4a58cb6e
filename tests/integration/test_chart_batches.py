"""A cold build draws its charts in batches: the chart specs alive at once never exceed a
batch, however many charts the site has, the progress bar still counts each chart as the
k-th of all of them, and the site is byte for byte the one drawn in a single batch."""

from __future__ import annotations

import filecmp
import gc
from collections.abc import Iterator, Sequence
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


def test_a_cold_build_holds_at_most_a_batch_of_specs_and_counts_over_all_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _tree(tmp_path / "source")
    whole = tmp_path / "whole"
    one_batch = build(Settings(source, whole, cache_dir=tmp_path / "cache-whole"))
    assert one_batch.ok and one_batch.charts_drawn == CHARTERS * 4

    batches: list[int] = []
    alive: list[int] = []
    real = charts.draw_each

    def spying(
        jobs: Sequence[ChartJob], progress: DrawProgress | None = None, many: bool | None = None
    ) -> Iterator[tuple[ChartJob, bytes]]:
        batches.append(len(jobs))
        assert many is True  # 16 charts: every batch, even the last of 1, goes to the workers
        for job, svg in real(jobs, progress, many):
            alive.append(len(_alive_specs() - before))
            yield job, svg

    monkeypatch.setattr(charts, "CHART_BATCH", 3)
    monkeypatch.setattr(charts, "draw_each", spying)
    counted: list[tuple[int, int]] = []

    def progress(stage: str, done: int, total: int, item: str) -> None:
        if stage == "Drawing charts" and total:
            counted.append((done, total))

    gc.collect()
    before = _alive_specs()  # held by other tests of this session (their parameters)
    batched = tmp_path / "batched"
    result = build(Settings(source, batched, cache_dir=tmp_path / "cache-batched"), progress)
    assert result.ok and result.charts_drawn == CHARTERS * 4
    assert batches == [3, 3, 3, 3, 3, 1]
    assert len(alive) == CHARTERS * 4 and max(alive) <= 3  # one batch of specs at a time
    assert counted == [(k, CHARTERS * 4) for k in range(1, CHARTERS * 4 + 1)]
    # The same bytes as the site drawn in one batch, file for file.
    assert _all_files(batched) == _all_files(whole)
    match, mismatch, errors = filecmp.cmpfiles(whole, batched, _all_files(whole), shallow=False)
    assert mismatch == [] and errors == [] and len(match) == len(_all_files(whole))
