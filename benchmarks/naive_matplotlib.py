"""The reference floor for drawing: naive matplotlib over the benchmark corpus.

Draws `--charts` SVG charts from the corpus's result files the plain way: one
process (one core), a fresh figure per chart, no layout engine (no constrained
or tight layout), `savefig` to SVG, `close`. For each metric it draws what the
generator draws: the values over time (control, treatment, baseline and target
lines) and the lift of treatment over control with a 95% band. When more charts
are asked for than the corpus has metrics for, it goes round again.

    python benchmarks/naive_matplotlib.py --source CORPUS/charters --out DIR --charts 10000
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
from collections import defaultdict
from itertools import cycle
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

Series = dict[str, list[tuple[dt.date, float, int, float]]]


def read_series(charter: Path) -> dict[str, Series]:
    """metric id -> arm -> rows (date, value, n, std), from the charter's CSV files."""
    out: dict[str, Series] = defaultdict(lambda: defaultdict(list))
    for path in sorted((charter / "results").glob("*.csv")):
        with path.open(newline="") as f:
            for row in csv.DictReader(f):
                std = float(row["std"]) if row.get("std") else math.nan
                out[row["metric"]][row["variant"]].append(
                    (dt.date.fromisoformat(row["date"]), float(row["value"]), int(row["n"]), std)
                )
    return out


def value_chart(metric: str, arms: Series, path: Path) -> None:
    fig = plt.figure(figsize=(7.2, 3.4))
    ax = fig.add_subplot()
    for arm, rows in sorted(arms.items()):
        ax.plot([r[0] for r in rows], [r[1] for r in rows], marker="o", markersize=3, label=arm)
    first = arms["control"][0][1]
    ax.axhline(first, linestyle="--", color="grey", label="baseline")
    ax.set_title(metric)
    ax.set_ylabel("value")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    fig.savefig(path, format="svg")
    plt.close(fig)


def lift_chart(metric: str, arms: Series, path: Path) -> None:
    control, treatment = arms["control"], arms["treatment"]
    days, lift, low, high = [], [], [], []
    for c, t in zip(control, treatment, strict=True):
        if math.isnan(c[3]):  # a proportion: the binomial standard error
            p1, p2 = c[1] / 100 if c[1] > 1 else c[1], t[1] / 100 if t[1] > 1 else t[1]
            se = math.sqrt(p1 * (1 - p1) / c[2] + p2 * (1 - p2) / t[2])
        else:
            se = math.sqrt(c[3] ** 2 / c[2] + t[3] ** 2 / t[2])
        days.append(c[0])
        lift.append(t[1] - c[1])
        low.append(t[1] - c[1] - 1.96 * se)
        high.append(t[1] - c[1] + 1.96 * se)
    fig = plt.figure(figsize=(7.2, 3.0))
    ax = fig.add_subplot()
    ax.fill_between(days, low, high, alpha=0.25, label="95% CI")
    ax.plot(days, lift, label="treatment − control")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_title(f"{metric}: lift")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    fig.savefig(path, format="svg")
    plt.close(fig)


def draw(source: Path, out: Path, charts: int) -> int:
    """Draw `charts` charts into `out`; return how many were drawn."""
    out.mkdir(parents=True, exist_ok=True)
    jobs = []
    for charter in sorted(p for p in (source / "charters").iterdir() if p.is_dir()):
        for metric, arms in sorted(read_series(charter).items()):
            jobs.append((charter.name, metric, arms, value_chart))
            jobs.append((charter.name, metric, arms, lift_chart))
    if not jobs:
        raise SystemExit(f"no result files under {source / 'charters'}")
    for done, (name, metric, arms, func) in enumerate(cycle(jobs)):
        if done == charts:
            return done
        func(metric, arms, out / f"{done:06d}-{name}-{metric}.svg")
    raise AssertionError("unreachable")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="the corpus's charters source")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--charts", type=int, required=True)
    args = parser.parse_args()
    print(f"drew {draw(args.source, args.out, args.charts)} charts")


if __name__ == "__main__":
    main()
