"""Benchmark of `charters build` on a portfolio made by copying the examples.

Prints wall-clock times of a cold build (every chart drawn), a warm build (charts
reused from the previous build) and loading plus validation alone, and the ratios
between them, all measured in the same run so the machine's speed cancels out.

    python benchmarks/build_bench.py [--copies 8] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from generator.build import Settings, build
from generator.load import load_project

ROOT = Path(__file__).resolve().parents[1]


def make_tree(dest: Path, copies: int) -> int:
    (dest / "charters").mkdir(parents=True)
    shutil.copy(ROOT / "site.yaml", dest / "site.yaml")
    shutil.copy(ROOT / "metrics.yaml", dest / "metrics.yaml")
    count = 0
    for i in range(copies):
        for charter in sorted((ROOT / "charters").iterdir()):
            if charter.is_dir():
                shutil.copytree(charter, dest / "charters" / f"{charter.name}-{i}")
                count += 1
    return count


def timed(func: object) -> float:
    started = time.perf_counter()
    func()  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=8, help="copies of each example")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        charters = make_tree(src, args.copies)
        cold, warm, load = [], [], []
        for _ in range(args.repeat):
            out = Path(tmp) / "site"
            shutil.rmtree(out, ignore_errors=True)
            cold.append(timed(lambda: build(Settings(src, out))))
            warm.append(timed(lambda: build(Settings(src, out))))
            load.append(timed(lambda: load_project(src)))
        c, w, v = (statistics.median(x) for x in (cold, warm, load))
        print(f"charters: {charters}")
        print(f"load + validate: {v:.3f} s")
        print(f"cold build:      {c:.3f} s  ({c / v:.1f}x load)")
        print(f"warm build:      {w:.3f} s  ({w / v:.1f}x load, {c / w:.1f}x faster than cold)")


if __name__ == "__main__":
    main()
