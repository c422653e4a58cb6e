"""Charts against matplotlib's floor: K charts drawn by the generator and by naive matplotlib.

The benchmark shape is a metric with 52 weekly rows of a control and a treatment
arm, each with a 95% interval, a baseline and a target. Each side runs in a fresh
Python process, so both pay their imports, and is timed from before its first
import to its last SVG:

* naive matplotlib: for each chart a fresh pyplot figure, one core, no layout
  engine; the same two lines with their bands, the two reference lines, a legend
  and the unit, saved as SVG;
* the generator: :func:`generator.charts.draw.draw_all` on the same K charts, the
  way a cold build draws them (its worker processes included).

It prints both times and their ratio (the target of issue #10 is at most 0.4), and
the CPU time of each side (the generator's summed over its worker processes).

    python benchmarks/chart_floor.py [--charts 120] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from process_tree import become_subreaper, children, reap_orphans

HERE = Path(__file__).resolve().parent
WEEKS = 52
START = date(2025, 1, 6)


def arm(level: float, step: float) -> dict[str, list[float]]:
    """The weekly values of one arm with a 95% interval, deterministic."""
    values = [level + step * week + 0.3 * ((week * 7) % 5 - 2) for week in range(WEEKS)]
    return {
        "values": values,
        "lower": [v - 0.8 for v in values],
        "upper": [v + 0.8 for v in values],
    }


def shape(index: int) -> dict[str, dict[str, list[float]]]:
    """Chart `index`: control flat, treatment rising, shifted so no two are alike."""
    return {"control": arm(40 + index % 7, 0.0), "treatment": arm(41 + index % 5, 0.05)}


def naive(charts: int) -> None:
    """Fresh pyplot figures, one after another, no layout engine."""
    import io

    import matplotlib

    matplotlib.use("svg")
    import matplotlib.pyplot as plt

    days = [START + timedelta(weeks=w) for w in range(WEEKS)]
    for index in range(charts):
        fig, ax = plt.subplots(figsize=(7.2, 3.4))
        for label, data in shape(index).items():
            ax.fill_between(days, data["lower"], data["upper"], alpha=0.18, linewidth=0)
            ax.plot(days, data["values"], marker="o", markersize=4.8, label=label)
        ax.axhline(40, linestyle="--", label="Baseline 40")
        ax.axhline(45, linestyle=":", label="Target 45")
        ax.set_ylabel("minutes")
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=4, frameon=False)
        fig.savefig(io.StringIO(), format="svg", metadata={"Date": None})
        plt.close(fig)


def generator(charts: int) -> None:
    """The generator's drawing of the same charts, as a cold build does it."""
    from generator.charts.draw import draw_all
    from generator.charts.spec import ChartJob, ChartSpec, RefLine, Series

    days = tuple(START + timedelta(weeks=w) for w in range(WEEKS))
    jobs = []
    for index in range(charts):
        series = tuple(
            Series(label, days, tuple(d["values"]), tuple(d["lower"]), tuple(d["upper"]))
            for label, d in shape(index).items()
        )
        refs = (
            RefLine("target", "Target 45 minutes", 45.0),
            RefLine("baseline", "Baseline 40 minutes", 40.0),
        )
        spec = ChartSpec(f"Handle time {index}", "minutes", "decrease", series, refs)
        jobs.append(ChartJob(f"charters/c{index}/handle_minutes.svg", spec, chart_id=f"c{index}"))
    svgs = draw_all(jobs)
    assert len(svgs) == charts and all(svg.startswith(b"<?xml") for svg in svgs.values())


def timed_run(side: str, charts: int) -> tuple[float, float]:
    """Seconds one side takes in a fresh process, imports included: wall clock, and CPU
    summed over the process and its workers (which a loaded machine does not change):
    the workers' server, left to end after the process, is adopted and waited for
    (process_tree.py), or their CPU would not be counted."""
    code = (
        f"import sys; sys.path.insert(0, {str(HERE)!r}); import chart_floor; "
        f"chart_floor.{side}({charts})"
    )
    kids = children()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    wall = time.perf_counter() - started  # the process's whole life: start-up counts too
    reap_orphans(kids)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--charts", type=int, default=120, help="charts each side draws (K)")
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs of each side")
    args = parser.parse_args()
    become_subreaper()
    naive_runs: list[tuple[float, float]] = []
    our_runs: list[tuple[float, float]] = []
    for _ in range(args.repeat):  # alternate, so a change in the machine's load hits both
        naive_runs.append(timed_run("naive", args.charts))
        our_runs.append(timed_run("generator", args.charts))
    n_wall, n_cpu = (statistics.median(x) for x in zip(*naive_runs, strict=True))
    g_wall, g_cpu = (statistics.median(x) for x in zip(*our_runs, strict=True))
    print(f"{args.charts} charts of {WEEKS} weekly rows, control and treatment")
    print(f"median of {args.repeat} runs each, on {os.cpu_count()} cores")
    print(f"naive matplotlib (one core, fresh figures, no layout engine): {n_wall:.2f} s,")
    print(f"  CPU {n_cpu:.2f} s")
    print(f"generator.charts.draw.draw_all: {g_wall:.2f} s, CPU {g_cpu:.2f} s (all its processes)")
    print(f"ratio: {g_wall / n_wall:.2f} × naive matplotlib (wall clock)")
    print(f"CPU ratio: {g_cpu / n_cpu:.2f} (work done; on a busy machine the wall clock")
    print("  ratio cannot show the workers' parallelism)")


if __name__ == "__main__":
    main()
