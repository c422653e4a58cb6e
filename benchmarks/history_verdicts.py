"""What the verdicts in the history cost on a cache miss (issue #13).

Makes a git repository of the synthetic corpus (benchmarks/corpus.py) with three
commits that each bring a third of every charter's weekly rows (N charters × 3
commits, 3N charter versions to load and analyse), then times `read_history`:

- cold: no cache at all (the `git log` pass, the replay and every verdict);
- verdicts cached: the history of the head is not cached but every verdict is,
  as after a new commit that touched no charter (the replay alone);
- warm: everything cached (a no-op build's share).

The difference of the first two is the cost of the verdicts. With `--source`
it times an existing repository instead (the project's own examples).

    python benchmarks/history_verdicts.py [--n 100] [--repeat 3] [--source DIR]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from corpus import make_repo

from generator.history import read_history


def timed(source: Path, cache: Path, clear: tuple[str, ...]) -> float:
    for name in clear:
        path = cache / "history" / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            for f in (cache / "history").glob(name):
                f.unlink()
    started = time.perf_counter()
    read_history(source, cache)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="number of charters")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--source", type=Path, help="time this repository instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.source is None:
            make_repo(Path(tmp) / "corpus", args.n)
        source = args.source or Path(tmp) / "corpus" / "charters"
        cache = Path(tmp) / "cache"
        runs = {
            "cold": ("*.json", "verdicts"),
            "verdicts cached": ("*.json",),
            "warm": (),
        }
        for name, clear in runs.items():
            if name != "cold":
                read_history(source, cache)  # fill the cache
            times = [timed(source, cache, clear) for _ in range(args.repeat)]
            print(f"{name:16} {statistics.median(times):8.3f} s")


if __name__ == "__main__":
    main()
