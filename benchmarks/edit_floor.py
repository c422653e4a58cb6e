"""The floor of a one-charter edit: what a build after an edit costs when nothing is read back.

`charters build` after an edit of one charter's YAML (bench.py's "one charter
edited" row) pays, besides the work the edit asks for, for starting a Python
process and importing the stages, and for reading every other charter back from
the cache folder. This script measures the two parts that stay when the second
goes, in one run beside Hugo's full build of the same pages:

* start: a fresh interpreter importing every module such a build's own process
  has imported when it ends (learned from one such build), timed as a process;
* kept: the build after an edit of one charter's summary in a process that keeps
  every charter in memory between builds (`reuse.Kept`, as `charters serve`
  does), so that nothing is read back: the median of `--repeat` builds, each
  after its own edit, written as `charters build` writes (a new folder swapped
  in) and as `charters serve` writes its own folder (in place).

Their sum is what `charters build` after one edit would take if reading back cost
nothing: the floor of the present design, to be held against the target of issue
#10 (at most 1.5 × Hugo). Hugo is built before each part's runs; its median is
the reference.

    python benchmarks/edit_floor.py [--n 1000] [--repeat 5] [--workdir DIR] [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import Corpus, compile_generator, describe, machine, markdown, run, workdir
from process_tree import become_subreaper

# Run in a fresh interpreter: one build after an edit, in the process, then the names
# of the modules the process holds (argv: source, out, cache folder).
MODULES = """
import json, sys
from generator.cli import main
source, out, cache = sys.argv[1:4]
main(["build", "--source", source, "--out", out, "--cache-dir", cache, "--quiet"],
     standalone_mode=False)
names = sorted(n for n in sys.modules if n != "__main__" and not n.endswith(".__main__"))
print(json.dumps(names))
"""

# Run in a fresh interpreter: builds that keep every charter in memory (argv: source,
# out, cache folder, the charter.yaml to edit, repeat, "in" or "swap"); prints the
# seconds of each timed build as JSON. Two builds come first, untimed: the first reads
# every charter back, the second is the first to find them kept.
KEPT = """
import gc, json, re, sys, time
from pathlib import Path
from generator.build import Settings, build
from generator.reuse import Kept
source, out, cache, charter = map(Path, sys.argv[1:5])
repeat, in_place = int(sys.argv[5]), sys.argv[6] == "in"
kept, times = Kept(), []
gc.disable()  # as serve runs its builds: it collects between them
for i in range(repeat + 2):
    text = charter.read_text()
    words = f'summary: "Kept edit {i} at {time.time_ns()}."'
    charter.write_text(re.sub(r"^summary:.*$", words, text, count=1, flags=re.M))
    started = time.perf_counter()
    result = build(Settings(source=source, out=out, cache_dir=cache, kept=kept,
                            in_place=in_place))
    if not result.ok:
        raise SystemExit("the build failed: " + str(result.diagnostics[:3]))
    if i >= 2:
        times.append(time.perf_counter() - started)
    gc.collect()
print(json.dumps(times))
"""


def imported_modules(corpus: Corpus) -> list[str]:
    """The modules a build after one edit imports into its own process."""
    corpus.edit_yaml()
    cmd = [sys.executable, "-c", MODULES, str(corpus.source), str(corpus.out), str(corpus.cache)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the build that lists its modules failed:\n{done.stderr[-4000:]}")
    names: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return names


def start_seconds(modules: list[str], times: int, hugo: list[float], corpus: Corpus) -> list[float]:
    """A fresh interpreter importing `modules`, timed as a process, `times` times."""
    # A few names are not importable by name (a Cython module's runtime, say): skipped.
    script = (
        f"import importlib\nfor name in {modules!r}:\n"
        "    try:\n        importlib.import_module(name)\n"
        "    except ImportError:\n        pass\n"
    )
    out = []
    for _ in range(times):
        hugo.append(corpus.hugo().seconds)
        out.append(run([sys.executable, "-c", script]).seconds)
    return out


def kept_seconds(corpus: Corpus, out: Path, times: int, in_place: bool) -> list[float]:
    """Builds after one edit each, every charter kept in memory (see the module)."""
    charter = corpus.edited / "charter.yaml"
    mode = "in" if in_place else "swap"
    args = [str(corpus.source), str(out), str(corpus.cache), str(charter), str(times), mode]
    done = subprocess.run(
        [sys.executable, "-c", KEPT, *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"the kept builds failed:\n{done.stderr[-4000:]}")
    seconds: list[float] = json.loads(done.stdout.strip().splitlines()[-1])
    return seconds


def measure(corpus: Corpus, times: int) -> dict[str, list[float]]:
    """Every part's seconds, and Hugo's and the CLI edit's in the same run."""
    corpus.build("--gc")  # the cache and site every part starts from (not measured)
    hugo: list[float] = []
    figures = {"start": start_seconds(imported_modules(corpus), times, hugo, corpus)}
    hugo.append(corpus.hugo().seconds)
    figures["kept, swapped in"] = kept_seconds(corpus, corpus.out, times, in_place=False)
    hugo.append(corpus.hugo().seconds)
    in_place = corpus.root / "in-place"  # serve's own folder, not the site
    figures["kept, in place"] = kept_seconds(corpus, in_place, times, in_place=True)
    edits = []
    for _ in range(times):
        hugo.append(corpus.hugo().seconds)
        corpus.edit_yaml()
        edits.append(corpus.build().seconds)
    figures["charters build"] = edits
    figures["Hugo build"] = hugo
    return figures


def table(figures: dict[str, list[float]]) -> list[list[str]]:
    """The parts, the floor they add up to, and the benchmark's row, each against Hugo."""
    med = {name: statistics.median(values) for name, values in figures.items()}
    hugo = med["Hugo build"]
    floor = med["start"] + med["kept, swapped in"]

    def row(name: str, seconds: float, target: str = "", result: str = "") -> list[str]:
        return [name, f"{seconds:.3f}", f"{seconds / hugo:.2f} × Hugo", target, result]

    below = floor <= 1.5 * hugo
    return [
        row("start: a fresh process importing what the build imports", med["start"]),
        row(
            "kept: the build after one edit, nothing read back, swapped in", med["kept, swapped in"]
        ),
        row("kept, written in place (as `charters serve` writes)", med["kept, in place"]),
        row(
            "floor of `charters build` after one edit (start + kept)",
            floor,
            "≤ 1.5 × Hugo",
            "below the target" if below else "above the target",
        ),
        row("`charters build` after one edit (bench.py's row)", med["charters build"]),
        row("Hugo build", hugo),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="charters in the corpus")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each part (median)")
    parser.add_argument("--workdir", type=Path, help="keep the corpus and sites here")
    parser.add_argument("--cache-dir", type=Path, help="passed to charters as --cache-dir")
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    args = parser.parse_args(argv)
    become_subreaper()  # what a command leaves running is waited for (bench.run)
    with workdir(args.workdir) as root:
        info = machine()
        compile_generator()
        corpus = Corpus(root, args.n, args.cache_dir)
        figures = measure(corpus, args.repeat)
        rows = table(figures)
        print(f"N = {args.n} charters × 5 metrics × 52 weeks; median of {args.repeat} runs")
        print(markdown(rows, f"N = {args.n}"))
        print()
        print(describe(info))
        if args.json:
            report = {"machine": info, "figures": figures, "rows": rows}
            args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
