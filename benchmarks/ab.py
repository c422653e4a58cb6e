"""Two versions of the generator, timed in turns on one corpus: did a change make an edit faster?

The speed benchmark (bench.py) compares the generator with Hugo and MkDocs in one
run; two of its runs of the same code differ by 10 to 20 % on a shared machine,
so it cannot show a change smaller than that. This script narrows it: it times builds of
two versions (`--old` and `--new`) after the same kind of edit, in blocks of
`--block` builds per version, alternating for `--rounds` rounds (old, new, then
new, old, ...), so a change in the machine's load falls on both; each round's
ratio (new over old) is taken, and their median given, with in how many rounds
the new version was faster and the sign test's p-value of that count. The first
build of each block is not counted: it finds the site and cache entries the other
version made (a version's keys include its own fingerprint).

A version is a checkout's root folder (holding `generator/`), or a revision of
this repository, exported into the work folder (`git archive`). The new version
defaults to this checkout. Each version's first build is not timed: on a new
corpus the first is a cold build, the second loads every charter anew (minutes
at 1,000 charters); a kept `--workdir` and `--cache-dir` make later comparisons
start at once.

    python benchmarks/ab.py --old HEAD~1 [--new DIR] [--edit yaml|result|template]
                            [--n 1000] [--rounds 4] [--block 4] [--workdir DIR]
                            [--cache-dir DIR] [--json OUT]
"""

from __future__ import annotations

import argparse
import compileall
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import Corpus
from process_tree import become_subreaper

REPO = Path(__file__).resolve().parent.parent
EDITS = ("yaml", "result", "template")


@dataclass
class Side:
    """One version of the generator and the seconds of its counted builds, by round."""

    name: str
    root: Path
    rounds: list[list[float]] = field(default_factory=list)

    @property
    def seconds(self) -> list[float]:
        return [s for block in self.rounds for s in block]


def version(spec: str, work: Path) -> Path:
    """The root of the version `spec`: a folder holding `generator/`, else a revision of
    this repository exported under `work`."""
    folder = Path(spec)
    if folder.is_dir():
        if not (folder / "generator" / "__init__.py").is_file():
            raise SystemExit(f"{folder} has no generator/ package: give a checkout's root")
        return folder.resolve()
    named = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    commit = named.stdout.strip()
    if named.returncode != 0 or not commit:
        raise SystemExit(f"{spec!r} is neither a folder nor a revision of {REPO}")
    root = work / "versions" / commit
    if not (root / "generator").is_dir():
        root.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", "--format=tar", commit, "generator", "templates"],
            capture_output=True,
            check=True,
        )
        subprocess.run(["tar", "-x", "-C", str(root)], input=archive.stdout, check=True)
    return root


def build(corpus: Corpus, side: Side) -> float:
    """One build of the corpus by `side`'s generator (imported from its folder first). The
    source and the site are read first (bench.run), not the cache folder: the builds just
    before used what this one reads of it, and every template edit adds a page entry per
    charter to it (254 MB at 1,000 charters), so reading all of it before each build
    would take longer with every build and push the rest out of the page cache."""
    env = {**os.environ, "PYTHONPATH": str(side.root)}
    return corpus.build("--quiet", env=env, reads=[corpus.source, corpus.out]).seconds


def editor(corpus: Corpus, edit: str) -> Callable[[], object]:
    if edit == "yaml":
        return corpus.edit_yaml
    if edit == "result":
        return corpus.edit_result
    return corpus.edit_template


def compare(corpus: Corpus, sides: Sequence[Side], edit: str, rounds: int, block: int) -> None:
    """Each round, `block` builds of each side in turn, each after one edit; the first of
    each block is not counted. Odd rounds start with the first side, even ones with the
    second (old, new, new, old, ...), so a drift of the machine within a round does not
    always fall on the same version."""
    change = editor(corpus, edit)
    for side in sides:  # each version's own cache entries made, untimed
        change()
        build(corpus, side)
    for number in range(1, rounds + 1):
        for side in sides if number % 2 else reversed(sides):
            timed = []
            for _ in range(block):
                change()
                timed.append(build(corpus, side))
            side.rounds.append(timed[1:])
            shown = " ".join(f"{s:.3f}" for s in timed[1:])
            print(f"round {number}: {side.name} {shown}", flush=True)


def sign_test(wins: int, rounds: int) -> float:
    """The two-sided p-value of `wins` of `rounds` under even odds (the sign test): how
    often a version no faster than the other would win at least as lopsidedly."""
    fewer = min(wins, rounds - wins)
    tail = sum(math.comb(rounds, k) for k in range(fewer + 1)) / 2**rounds
    return min(1.0, 2 * tail)


def summary(old: Side, new: Side) -> dict[str, object]:
    """Each side's figures, and the comparison. A round's ratio is the mean of its new
    block over the mean of its old one, measured minutes apart at most: the median of
    those is what the machine's drift over a run (load from elsewhere) moves least."""
    pairs = [
        (statistics.mean(a), statistics.mean(b))
        for a, b in zip(old.rounds, new.rounds, strict=True)
    ]
    wins = sum(1 for a, b in pairs if b < a)
    return {
        side.name: {
            "builds": len(side.seconds),
            "mean": statistics.mean(side.seconds),
            "median": statistics.median(side.seconds),
            "min": min(side.seconds),
        }
        for side in (old, new)
    } | {
        "ratio of medians": statistics.median(new.seconds) / statistics.median(old.seconds),
        "median of round ratios": statistics.median(b / a for a, b in pairs),
        "rounds new faster": wins,
        "rounds": len(pairs),
        "sign test p": sign_test(wins, len(pairs)),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="a checkout's root, or a revision")
    parser.add_argument("--new", default=str(REPO), help="a checkout's root, or a revision")
    parser.add_argument("--edit", choices=EDITS, default="yaml", help="what each build follows")
    parser.add_argument("--n", type=int, default=1000, help="charters in the corpus")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--block", type=int, default=4, help="builds per version and round")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, help="keep the corpus and versions here")
    parser.add_argument("--cache-dir", type=Path, help="passed to charters as --cache-dir")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    if args.block < 2:
        parser.error("--block must be at least 2 (the first of each is not counted)")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    become_subreaper()  # what a build leaves running is waited for (bench.run)
    with tempfile.TemporaryDirectory() as scratch:
        work = args.workdir or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        old = Side("old", version(args.old, work))
        new = Side("new", version(args.new, work))
        for side in (old, new):  # as pip install does, where PYTHONDONTWRITEBYTECODE is set
            compileall.compile_dir(side.root / "generator", quiet=1)
        corpus = Corpus(work / "corpus", args.n, args.cache_dir, args.seed)  # written anew
        print(f"{args.n} charters; {args.edit} edits; old {old.root}; new {new.root}", flush=True)
        compare(corpus, (old, new), args.edit, args.rounds, args.block)
        figures = summary(old, new)
    for name in ("old", "new"):
        side = figures[name]
        assert isinstance(side, dict)
        print(
            f"{name}: {side['builds']} builds, median {side['median']:.3f} s,"
            f" mean {side['mean']:.3f} s, fastest {side['min']:.3f} s"
        )
    print(
        f"new / old: {figures['median of round ratios']:.3f} (median of the rounds' ratios),"
        f" {figures['ratio of medians']:.3f} (ratio of the medians)"
    )
    print(
        f"new faster in {figures['rounds new faster']} of {figures['rounds']} rounds"
        f" (sign test, two-sided: p = {figures['sign test p']:.3f})"
    )
    if args.json:
        args.json.write_text(json.dumps({"edit": args.edit, "n": args.n, **figures}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
