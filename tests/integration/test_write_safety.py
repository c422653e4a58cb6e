"""Faults while writing the site: concurrent builds, kills, user files, a full or read-only disk.

Builds run as real `charters build` processes over a 40-charter tree (about half a
second each) so that kills land at every stage. The swap itself lasts microseconds;
`CHARTERS_TEST_SWAP_PAUSE` (for tests only) pauses at each of its steps and names
the step on stderr, so a kill can be aimed at it.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
from helpers import NOBODY, REPO_ROOT, ScratchProject, as_nobody, standby

from generator.build import Settings, build
from generator.write import FALLBACK_ENV, MANIFEST, PAUSE_ENV

from .test_build import FULL_CHARTER, FULL_RESULTS

CHARTERS = 40
USER_FILES = {"CNAME": b"charters.example.org\n", ".nojekyll": b"", ".git/HEAD": b"ref: main\n"}
LOOKALIKES = (".tmp-backup", ".old-2024", ".charters-0123456789abcdef-new", ".charters-x-old")


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def make_tree(root: Path, title: str = "Portfolio A") -> None:
    project = ScratchProject(root)
    project.write("site.yaml", f"title: {title}\n")
    for i in range(CHARTERS):
        project.charter(f"c{i:02d}", title=f"Charter {i}")


def set_title(root: Path, title: str) -> None:
    (root / "site.yaml").write_text(f"title: {title}\n", encoding="utf-8")


def command(source: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "generator", "build", "--source", str(source), "--out", str(out)]


def start(source: Path, out: Path, *extra: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*command(source, out), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **env},
    )


def start_alone(source: Path, out: Path) -> subprocess.Popen[bytes]:
    """A build in a session of its own (so its process group can be killed), output dropped."""
    return subprocess.Popen(
        command(source, out),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        start_new_session=True,
    )


def run(source: Path, out: Path, *extra: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command(source, out), *extra],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **env},
        timeout=60,
    )


def site_files(out: Path) -> dict[str, bytes]:
    """The site as charters wrote it: user files and the lock beside it left out."""
    return {k: v for k, v in tree(out).items() if k not in USER_FILES}


def assert_complete(out: Path, expected: dict[str, bytes]) -> None:
    files = site_files(out)
    for page in ["404.html", "index.html", "api/charters.json", MANIFEST]:
        assert page in files, f"{page} missing: truncated site"
    pages = [f"charters/c{i:02d}/index.html" for i in range(CHARTERS)]
    assert [p for p in pages if p not in files] == []
    assert files == expected


def temporaries(out: Path) -> list[str]:
    """Folders beside `out` that look like the build's, minus the user's look-alikes and
    the recorded standby (an unrecorded one is left over)."""
    lookalikes = {f".{out.name}{s}" for s in LOOKALIKES}
    return sorted(
        p.name
        for p in out.parent.iterdir()
        if p.name.startswith(f".{out.name}.")
        and p.name != f".{out.name}.lock"
        and p.name not in lookalikes
        and p.name != standby(out)
    )


def add_user_files(out: Path) -> None:
    for rel, data in USER_FILES.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
    for suffix in LOOKALIKES:
        folder = out.parent / f".{out.name}{suffix}"
        folder.mkdir()
        (folder / "keep.txt").write_text(f"the user's {suffix}\n")


def assert_user_files_survived(out: Path) -> None:
    for rel, data in USER_FILES.items():
        assert (out / rel).read_bytes() == data, rel
    for suffix in LOOKALIKES:
        keep = out.parent / f".{out.name}{suffix}" / "keep.txt"
        assert keep.read_text() == f"the user's {suffix}\n"


class Corpus:
    """A 40-charter tree and its site built with title A and with title B."""

    def __init__(self, base: Path) -> None:
        self.source = base / "src"
        make_tree(self.source)
        self.sites: dict[str, Path] = {}
        for title in ("A", "B"):
            set_title(self.source, f"Portfolio {title}")
            self.sites[title] = base / f"ref-{title}"
            assert build(Settings(self.source, self.sites[title])).ok
        self.refs = {title: tree(site) for title, site in self.sites.items()}
        assert self.refs["A"] != self.refs["B"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return Corpus(tmp_path_factory.mktemp("corpus"))


class Lane:
    """A copy of the corpus whose output holds the title-B site plus the user's files."""

    def __init__(self, corpus: Corpus, base: Path, out: Path | None = None) -> None:
        self.source = base / "src"
        self.out = out or base / "site"
        shutil.copytree(corpus.source, self.source)
        shutil.copytree(corpus.sites["B"], self.out, dirs_exist_ok=True)
        self.refs = corpus.refs
        self.state = "B"
        add_user_files(self.out)

    def which(self) -> str:
        files = site_files(self.out)
        matches = [t for t, ref in self.refs.items() if files == ref]
        assert matches, "the site is neither the old nor the new complete site"
        return matches[0]


@pytest.fixture
def lane(corpus: Corpus, tmp_path: Path) -> Lane:
    return Lane(corpus, tmp_path)


# --- killed builds -------------------------------------------------------------------------


def kill_trials(lane: Lane, trials: int, seed: int, span: float, log: list[str]) -> None:
    """Build title A or B, SIGKILL it after a random delay up to `span` seconds."""
    rng = random.Random(seed)
    for trial in range(trials):
        title = rng.choice("AB")
        set_title(lane.source, f"Portfolio {title}")
        proc = start(lane.source, lane.out)
        time.sleep(rng.uniform(0.0, span))
        proc.kill()
        _, stderr = proc.communicate()
        if proc.returncode != -signal.SIGKILL:  # it finished first: it must have succeeded
            assert proc.returncode == 0, stderr
        now = lane.which()
        assert now in {lane.state, title}, f"trial {trial}: {now}"
        if proc.returncode == 0:
            assert now == title
        lane.state = now
        assert_user_files_survived(lane.out)
        log.append(f"{proc.returncode}:{now}")


def test_sigkill_at_random_points_leaves_the_old_or_the_new_complete_site(
    corpus: Corpus, tmp_path: Path
) -> None:
    lanes = [Lane(corpus, tmp_path / f"lane{i}") for i in range(2)]
    started = time.monotonic()  # how long a whole build takes here, two at a time
    timing = [start(lane.source, lane.out) for lane in lanes]
    assert [p.wait(timeout=60) for p in timing] == [0, 0]
    span = min(time.monotonic() - started, 1.0)
    logs: list[list[str]] = [[], []]
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            kill_trials(lanes[i], 26, seed=i, span=span, log=logs[i])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    outcomes = [entry for log in logs for entry in log]
    assert len(outcomes) >= 50
    killed = sum(1 for o in outcomes if o.startswith(f"{-signal.SIGKILL}:"))
    assert killed >= 25, outcomes  # most trials were really killed mid-build
    for lane in lanes:
        set_title(lane.source, "Portfolio A")
        done = run(lane.source, lane.out)
        assert done.returncode == 0, done.stderr
        assert_complete(lane.out, lane.refs["A"])
        assert_user_files_survived(lane.out)
        assert temporaries(lane.out) == []


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(c) for c in text.split()]


def test_a_killed_build_with_chart_workers_does_not_leave_the_folder_locked(
    tmp_path: Path,
) -> None:
    """Chart workers are forked while the lock is held and can outlive a killed build;
    the lock belongs to the build process alone, so the next build is not refused."""
    project = ScratchProject(tmp_path / "src")
    rows = "date,metric,variant,value,n\n2026-05-04,ttfr,control,6.1,400\n"
    for i in range(12):  # enough charts to draw them in worker processes
        project.charter(f"c{i:02d}", title=f"Charter {i}")
        project.write(
            f"charters/c{i:02d}/results/ab.csv", rows + f"2026-05-11,ttfr,control,{i},400\n"
        )
    out = tmp_path / "site"
    proc = start_alone(project.root, out)
    try:
        deadline = time.monotonic() + 30
        while not children(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if (os.cpu_count() or 1) > 1:
            assert children(proc.pid), "the build drew its charts without workers"
        proc.kill()
        proc.wait()
        project.charter("c00", text="status: [\n")  # the next build fails fast on its input
        after = run(project.root, out)
        assert after.returncode == 1
        assert "another build" not in after.stderr
        assert "nothing was written" in after.stderr
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the orphaned workers


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        for child in children(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


def running(pid: int) -> bool:
    """Whether `pid` is a process that has not ended (a zombie has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(sys.platform != "linux", reason="reads the process tree from /proc")
def test_the_chart_workers_of_a_killed_build_end_with_it(tmp_path: Path) -> None:
    """A build killed while its workers draw (a cancelled CI job, say) must not leave them
    drawing for a build nobody waits for: every process it started ends within seconds."""
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: charts are drawn without worker processes")
    project = ScratchProject(tmp_path / "src")
    for i in range(40):  # many charts, so the workers are still drawing when it is killed
        project.charter(f"r{i:02d}", text=FULL_CHARTER)
        project.write(f"charters/r{i:02d}/results/ab.csv", FULL_RESULTS)
    proc = start_alone(project.root, tmp_path / "site")
    try:
        deadline = time.monotonic() + 60
        workers: list[int] = []
        while len(workers) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
            workers = descendants(proc.pid)  # the fork server and its workers
        assert len(workers) >= 3, f"no chart workers seen: {workers}"
        proc.kill()  # the build alone, not its process group
        proc.wait()
        deadline = time.monotonic() + 15
        while any(running(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [w for w in workers if running(w)] == [], "workers outlived the build"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def pause_and_kill(lane: Lane, step: str, **env: str) -> None:
    """Build title A, kill it when the swap announces `step`."""
    set_title(lane.source, "Portfolio A")
    proc = start(lane.source, lane.out, **{PAUSE_ENV: f"{step}:30", **env})
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line.strip())
        if line.strip() == f"swap: {step}":
            break
    proc.kill()
    proc.communicate()
    assert f"swap: {step}" in seen, seen


@pytest.mark.parametrize(
    ("step", "expected"), [("before", "B"), ("exchanged", "A"), ("after", "A")]
)
def test_sigkill_at_the_swap_leaves_a_complete_site(lane: Lane, step: str, expected: str) -> None:
    pause_and_kill(lane, step)
    assert_complete(lane.out, lane.refs[expected])
    assert_user_files_survived(lane.out)
    assert temporaries(lane.out) != []  # the killed build's folder, removed by the next one
    set_title(lane.source, "Portfolio B")
    done = run(lane.source, lane.out)
    assert done.returncode == 0, done.stderr
    assert_complete(lane.out, lane.refs["B"])
    assert temporaries(lane.out) == []
    assert_user_files_survived(lane.out)


def test_sigkill_between_the_fallback_renames_is_repaired_by_the_next_build(lane: Lane) -> None:
    """Without the exchange, a kill between the renames leaves no site; any next build,
    even one that fails on its input, first puts the previous site back."""
    pause_and_kill(lane, "between renames", **{FALLBACK_ENV: "1"})
    assert not lane.out.exists()
    (lane.source / "charters/c00/charter.yaml").write_text("status: [\n")
    failed = run(lane.source, lane.out)
    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr
    assert_complete(lane.out, lane.refs["B"])
    assert_user_files_survived(lane.out)
    assert temporaries(lane.out) == []


def test_fallback_swap_builds_a_complete_site(lane: Lane) -> None:
    set_title(lane.source, "Portfolio A")
    done = run(lane.source, lane.out, **{FALLBACK_ENV: "1"})
    assert done.returncode == 0, done.stderr
    assert_complete(lane.out, lane.refs["A"])
    assert_user_files_survived(lane.out)
    assert temporaries(lane.out) == []


# --- concurrent builds ---------------------------------------------------------------------


@pytest.mark.parametrize("others", [1, 2])
def test_a_second_build_into_the_same_folder_is_refused(lane: Lane, others: int) -> None:
    set_title(lane.source, "Portfolio A")
    first = start(lane.source, lane.out, **{PAUSE_ENV: "before:60"})
    assert first.stderr is not None
    assert first.stderr.readline().strip() == "swap: before"  # it holds the lock now
    refused = [start(lane.source, lane.out) for _ in range(others)]
    outputs = [r.communicate(timeout=60) for r in refused]
    assert first.poll() is None  # still holding the lock while the others were refused
    for r, (_, stderr) in zip(refused, outputs, strict=True):
        assert r.returncode == 1
        assert stderr == (
            f"error: another build is writing {lane.out} (pid {first.pid});"
            " wait for it or pass --wait\n"
        )
    assert_complete(lane.out, lane.refs["B"])  # the refused builds changed nothing
    first.kill()  # the pause is long so that a loaded machine cannot outrun it
    first.communicate()
    done = run(lane.source, lane.out)
    assert done.returncode == 0, done.stderr
    assert_complete(lane.out, lane.refs["A"])
    assert_user_files_survived(lane.out)
    assert temporaries(lane.out) == []


def test_wait_waits_for_the_other_build(lane: Lane) -> None:
    """Waiting builds start once the lock is free: here because its holder was killed."""
    set_title(lane.source, "Portfolio A")
    first = start(lane.source, lane.out, **{PAUSE_ENV: "before:60"})
    assert first.stderr is not None
    assert first.stderr.readline().strip() == "swap: before"
    waiting = [start(lane.source, lane.out, "--wait") for _ in range(2)]
    for w in waiting:
        assert w.stderr is not None
        assert w.stderr.readline() == (
            f"waiting for another build writing {lane.out} (pid {first.pid})\n"
        )
    assert_complete(lane.out, lane.refs["B"])
    first.kill()
    first.communicate()
    results = [w.communicate(timeout=60) for w in waiting]
    for w, (stdout, stderr) in zip(waiting, results, strict=True):
        assert w.returncode == 0, stderr
        assert stdout.startswith("Built 40 charters")
    assert_complete(lane.out, lane.refs["A"])
    assert_user_files_survived(lane.out)
    assert temporaries(lane.out) == []


@pytest.mark.parametrize("wait", [False, True])
def test_simultaneous_builds_publish_a_complete_site_or_refuse(lane: Lane, wait: bool) -> None:
    for title in ("A",):
        set_title(lane.source, f"Portfolio {title}")
        procs = [start(lane.source, lane.out, *(["--wait"] if wait else [])) for _ in range(3)]
        outputs = [p.communicate(timeout=60) for p in procs]
        codes = [p.returncode for p in procs]
        assert 0 in codes
        for code, (_, stderr) in zip(codes, outputs, strict=True):
            assert "Traceback" not in stderr and "internal error" not in stderr
            if code != 0:
                assert not wait
                assert code == 1 and "another build is writing" in stderr, stderr
        assert_complete(lane.out, lane.refs[title])
        assert_user_files_survived(lane.out)
        assert temporaries(lane.out) == []


# --- the user's files ----------------------------------------------------------------------


def test_user_files_are_carried_over_and_named(lane: Lane) -> None:
    set_title(lane.source, "Portfolio A")
    done = run(lane.source, lane.out)
    assert done.returncode == 0, done.stderr
    summary = done.stdout.strip()
    assert summary.startswith("Built 40 charters: ")
    assert summary.endswith(
        f" → {lane.out}; kept 2 files and 1 folder not written by charters: .git/, .nojekyll, CNAME"
    )
    assert_complete(lane.out, lane.refs["A"])
    assert_user_files_survived(lane.out)


def test_a_user_file_where_the_build_now_writes_is_replaced_and_named(
    lane: Lane,
) -> None:
    notes = lane.out / "charters/c00/notes.md"
    notes.write_text("my notes\n")
    mine = lane.out / "charters/new/index.html"
    mine.parent.mkdir()
    mine.write_text("<p>my own page</p>\n")
    ScratchProject(lane.source).charter("new", title="A new charter")
    shutil.rmtree(lane.source / "charters/c00")
    done = run(lane.source, lane.out)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(
        "; kept 3 files and 1 folder not written by charters:"
        " .git/, .nojekyll, CNAME, charters/c00/notes.md"
        "; replaced 1 file not written by charters with the built ones:"
        " charters/new/index.html"
    )
    assert "A new charter" in mine.read_text()
    assert notes.read_text() == "my notes\n"
    # The removed charter's page was the build's own: it is gone.
    assert sorted(p.name for p in (lane.out / "charters/c00").iterdir()) == ["notes.md"]


def test_a_folder_put_where_the_build_wrote_a_file_is_replaced_and_named(lane: Lane) -> None:
    """The previous build's page made a folder of the user's: the build writes its page
    there again and says so (it used to drop the folder without a word)."""
    page = lane.out / "charters/c00/index.html"
    page.unlink()
    page.mkdir()
    (page / "user.txt").write_text("mine\n")
    ScratchProject(lane.source).charter("c00", title="Retitled")
    done = run(lane.source, lane.out)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(
        "; replaced 1 folder not written by charters with the built ones: charters/c00/index.html/"
    )
    assert "Retitled" in page.read_text()


def test_a_site_without_a_file_list_keeps_what_the_build_does_not_write(lane: Lane) -> None:
    """A manifest from before the file list: rewritten names are the build's own, silently;
    the rest is kept and named rather than guessed at."""
    manifest = lane.out / MANIFEST
    data = json.loads(manifest.read_text())
    del data["files"]
    manifest.write_text(json.dumps(data))
    stale = lane.out / "charters/gone/index.html"
    stale.parent.mkdir()
    stale.write_text("<p>a charter removed since</p>\n")
    set_title(lane.source, "Portfolio A")
    done = run(lane.source, lane.out)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(
        "; kept 2 files and 2 folders not written by charters:"
        " .git/, .nojekyll, CNAME, charters/gone/"
    )
    assert stale.is_file()
    stale.parent.joinpath("index.html").unlink()
    stale.parent.rmdir()
    assert_complete(lane.out, lane.refs["A"])


def test_a_lock_file_that_is_a_link_is_refused_and_its_target_untouched(lane: Lane) -> None:
    victim = lane.out.parent / "precious.txt"
    victim.write_text("precious\n")
    (lane.out.parent / f".{lane.out.name}.lock").symlink_to(victim)
    done = run(lane.source, lane.out)
    assert done.returncode == 1
    lock = lane.out.parent / f".{lane.out.name}.lock"
    assert done.stderr == (
        f"error: the lock file {lock} is a symbolic link; remove it (a build writes it)\n"
    )
    assert victim.read_text() == "precious\n"
    assert_complete(lane.out, lane.refs["B"])


# --- a full disk, a read-only output ----------------------------------------------------------


def unavailable(reason: str) -> None:
    """Skip for a missing capability, except in CI, where every fault test must run."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: this test may not skip)")
    pytest.skip(reason)


def as_root(command: list[str], what: str) -> None:
    """Run `command`, which needs root (to `what`); unavailable when this is not root or
    the command fails."""
    if os.geteuid() != 0:
        unavailable(f"{what} needs root")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        unavailable(f"cannot {what}: {done.stderr.strip()}")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs mounted for the test (needs root)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    as_root(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], "mount a tmpfs")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    with filler.open("wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler


def assert_refused_cleanly(done: subprocess.CompletedProcess[str], lane: Lane, reason: str) -> None:
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("error: cannot "), done.stderr
    assert f"{lane.out}" in done.stderr and reason in done.stderr, done.stderr
    assert done.stderr.endswith(f"; {lane.out} is unchanged\n"), done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert done.stderr.count("\n") == 1
    assert_complete(lane.out, lane.refs["B"])
    assert_user_files_survived(lane.out)


def test_full_disk_gives_a_clear_message_and_keeps_the_site(
    corpus: Corpus, small_disk: Path, tmp_path: Path
) -> None:
    lane = Lane(corpus, tmp_path / "lane", out=small_disk / "site")
    filler = fill(small_disk)
    set_title(lane.source, "Portfolio A")
    done = run(lane.source, lane.out)
    assert_refused_cleanly(done, lane, "No space left on device")
    assert temporaries(lane.out) == []
    filler.unlink()
    again = run(lane.source, lane.out)
    assert again.returncode == 0, again.stderr
    assert_complete(lane.out, lane.refs["A"])


def test_read_only_output_gives_a_clear_message_and_keeps_the_site(
    corpus: Corpus, tmp_path: Path
) -> None:
    if os.geteuid() == 0:  # root writes through permissions: make the file system read-only
        disk = tmp_path / "disk"
        disk.mkdir()
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)],
            capture_output=True,
            text=True,
        )
        if mounted.returncode != 0:
            unavailable(f"cannot mount a tmpfs: {mounted.stderr.strip()}")
        lane = Lane(corpus, tmp_path / "lane", out=disk / "site")
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        reason = "Read-only file system"
    else:
        lane = Lane(corpus, tmp_path / "lane")
        disk = lane.out.parent
        for folder in (disk, lane.out):
            folder.chmod(0o555)
        reason = "Permission denied"
    try:
        set_title(lane.source, "Portfolio A")
        assert_refused_cleanly(run(lane.source, lane.out), lane, reason)
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", "-l", str(disk)], check=False)
        else:
            for folder in (disk, lane.out):
                folder.chmod(0o755)


# --- charters serve: its own folder written in place ---------------------------------------


def test_in_place_writes_only_what_changed_and_removes_what_is_gone(tmp_path: Path) -> None:
    from generator.write import read_manifest, write_in_place

    out = tmp_path / "site"
    manifest = {"generator": "charters", "made": {}, "input": "x", "counts": {}}
    write_in_place(
        out, {"a/index.html": b"A", "b/c/old.svg": b"old", "page": b"file", "keep": b"K"}, manifest
    )
    (out / "CNAME").write_text("user's own")
    kept = (out / "keep").stat().st_ino
    write_in_place(
        out,
        {"a/index.html": b"A2", "keep": b"K", "page/index.html": b"now a folder"},
        manifest,
    )
    assert tree(out) == {
        "a/index.html": b"A2",
        "keep": b"K",
        "page/index.html": b"now a folder",
        "CNAME": b"user's own",  # not the build's: left
        MANIFEST: (out / MANIFEST).read_bytes(),
    }
    assert not (out / "b").exists()  # a folder left empty goes with its last file
    assert (out / "keep").stat().st_ino == kept  # the same bytes: not written again
    written = read_manifest(out)
    assert written["files"] == ["a/index.html", "keep", "page/index.html"]
    assert written["sizes"] == {"a/index.html": 2, "keep": 1, "page/index.html": 12}
    assert written["input"] == "x"
    write_in_place(out, {"page": b"a file again"}, manifest)  # and a folder becomes a file
    assert (out / "page").read_bytes() == b"a file again"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.lock", "site"]


def test_an_in_place_write_stopped_midway_leaves_nothing_to_take_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A build that stops while it writes in place leaves a site partly old, partly new;
    # the manifest it leaves vouches for no file, so the next build takes nothing from
    # the folder unread and writes the cold build's bytes.
    import generator.write as write_stage
    from generator.reuse import Kept
    from generator.write import read_manifest

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1797292800")
    src, out = tmp_path / "src", tmp_path / "served"
    make_tree(src)
    serve_like = Settings(src, out, kept=Kept(), in_place=True)
    assert build(serve_like).ok
    set_title(src, "Portfolio B")
    ScratchProject(src).charter("c01", title="Charter one, again")
    replace_file, calls = write_stage._replace_file, []

    def failing(content: object, target: str, token: str | None = None) -> None:
        calls.append(target)
        if len(calls) == 3:  # the manifest that vouches for nothing, two files, then this
            raise OSError(28, "No space left on device", target)
        replace_file(content, target, token)  # type: ignore[arg-type]

    monkeypatch.setattr(write_stage, "_replace_file", failing)
    result = refused(serve_like)
    assert "cannot write the site into" in result and "No space left on device" in result
    left = read_manifest(out)
    assert "made" not in left and "sizes" not in left and "input" not in left
    monkeypatch.setattr(write_stage, "_replace_file", replace_file)
    assert build(serve_like).ok
    cold_out = tmp_path / "cold"
    assert build(Settings(src, cold_out, cache_dir=tmp_path / "cold-cache")).ok
    got, want = tree(out), tree(cold_out)
    got.pop(MANIFEST), want.pop(MANIFEST)
    assert got == want
    assert b"Charter one, again" in got["charters/c01/index.html"]


def refused(settings: Settings) -> str:
    """The message of the OutputError a build raises (as the command line prints it)."""
    from generator.write import OutputError

    try:
        build(settings)
    except OutputError as exc:
        return str(exc)
    raise AssertionError("the build did not fail")


# --- the standby: the site before last, brought up to date by the next build ----------------


MANIFEST_IN = {"input": "x"}  # what write_site is given besides the files


def with_standby(tmp_path: Path) -> Path:
    """An output folder written twice (index.html "1", then "2"): its first site is the
    standby."""
    from generator.write import write_site

    out = tmp_path / "site"
    for body in (b"1", b"2"):
        write_site(out, {"index.html": body}, MANIFEST_IN)
    assert standby(out) is not None
    return out


def test_a_build_brings_the_site_before_last_up_to_date_and_keeps_the_site_it_replaces(
    tmp_path: Path,
) -> None:
    from generator.write import read_manifest, write_site

    out = tmp_path / "site"
    manifest = {"input": "x"}
    write_site(out, {"a/index.html": b"A1", "b/old.svg": b"old", "keep": b"K"}, manifest)
    assert standby(out) is None  # no previous site: nothing to keep
    first = out.stat().st_ino
    kept = (out / "keep").stat().st_ino
    write_site(out, {"a/index.html": b"A2", "keep": b"K", "page": b"P"}, manifest)
    assert standby(out) is not None and temporaries(out) == []
    assert (tmp_path / standby(out)).stat().st_ino == first  # the first site, kept
    second = out.stat().st_ino
    (out / "CNAME").write_text("user's own")
    write_site(
        out, {"a/index.html": b"A3", "keep": b"K", "page/index.html": b"now a folder"}, manifest
    )
    assert out.stat().st_ino == first  # the first site's folder, brought up to date
    assert (tmp_path / standby(out)).stat().st_ino == second
    assert tree(out) == {
        "a/index.html": b"A3",
        "keep": b"K",
        "page/index.html": b"now a folder",
        "CNAME": b"user's own",  # carried over from the current site
        MANIFEST: (out / MANIFEST).read_bytes(),
    }
    assert not (out / "b").exists()  # gone with its last file
    assert (out / "keep").stat().st_ino == kept  # unchanged all along: the same file
    assert read_manifest(out)["files"] == ["a/index.html", "keep", "page/index.html"]
    assert temporaries(out) == []


def test_the_standby_keeps_nothing_the_new_site_would_not_have(tmp_path: Path) -> None:
    # The standby is the site as it was two builds ago: a user's file carried into it
    # then, and anything put into it since, must not come back.
    from generator.write import write_site

    out = tmp_path / "site"
    manifest = {"input": "x"}
    write_site(out, {"index.html": b"1", "c/x.html": b"x"}, manifest)
    (out / "CNAME").write_text("old domain")
    write_site(out, {"index.html": b"2", "c/x.html": b"x"}, manifest)  # carries CNAME
    (out / "CNAME").unlink()  # the user drops it from the current site
    spare = tmp_path / standby(out)
    (spare / "planted.html").write_text("not the build's")
    (spare / "c" / "x.html").unlink()
    (spare / "c" / "x.html").symlink_to(tmp_path / "elsewhere.html")
    (tmp_path / "elsewhere.html").write_text("outside")
    (spare / "d").symlink_to(tmp_path)  # a folder of the new site, as a link
    write_site(out, {"index.html": b"3", "c/x.html": b"x", "d/y.html": b"y"}, manifest)
    assert tree(out) == {
        "index.html": b"3",
        "c/x.html": b"x",
        "d/y.html": b"y",
        MANIFEST: (out / MANIFEST).read_bytes(),
    }
    assert not (out / "c" / "x.html").is_symlink() and not (out / "d").is_symlink()
    assert (tmp_path / "elsewhere.html").read_text() == "outside"
    assert not (tmp_path / "y.html").exists()


def test_a_standby_that_is_not_a_folder_or_outlived_its_site_is_removed(tmp_path: Path) -> None:
    from generator.write import write_site

    out = with_standby(tmp_path)
    manifest = MANIFEST_IN
    spare = tmp_path / standby(out)
    shutil.rmtree(spare)
    spare.symlink_to(tmp_path / "elsewhere")  # a link where the standby was: only unlinked
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "kept.txt").write_text("not ours")
    write_site(out, {"index.html": b"3"}, manifest)
    assert not os.path.lexists(spare) and (tmp_path / "elsewhere" / "kept.txt").is_file()
    assert tree(out)["index.html"] == b"3"
    spare = tmp_path / standby(out)
    shutil.rmtree(out)  # the user removes the site: the standby is out of date
    write_site(out, {"index.html": b"4"}, manifest)
    assert not spare.exists() and standby(out) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.lock", "elsewhere", "site"]


def test_the_standby_is_judged_by_a_walk_never_by_its_manifest(tmp_path: Path) -> None:
    # The manifest is a file in the site (a gh-pages checkout, say): names in it must
    # never lead a removal out of the folder, and a manifest that is a pipe must not
    # hang the build. A folder where a file of the new site goes is removed whole.
    from generator.write import write_site

    out = tmp_path / "site"
    manifest = {"input": "x"}
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "important.txt").write_text("x")
    write_site(out, {"index.html": b"1", "a.svg": b"svg"}, manifest)
    listed = json.loads((out / MANIFEST).read_text())
    listed["files"] += ["../victim/important.txt", "../.site.lock", "bad\u0000name"]
    (out / MANIFEST).write_text(json.dumps(listed))
    write_site(out, {"index.html": b"2", "a.svg": b"svg"}, manifest)
    spare = tmp_path / standby(out)
    (spare / MANIFEST).unlink()
    os.mkfifo(spare / MANIFEST)
    (spare / "a.svg").unlink()
    (spare / "a.svg").mkdir()  # a folder where the new site has a file
    (spare / "a.svg" / "note").write_text("a user's")
    write_site(out, {"index.html": b"3", "a.svg": b"svg"}, manifest)
    assert tree(out) == {
        "index.html": b"3",
        "a.svg": b"svg",
        MANIFEST: (out / MANIFEST).read_bytes(),
    }
    assert (victim / "important.txt").read_text() == "x"
    assert (tmp_path / ".site.lock").is_file() and temporaries(out) == []


def test_a_standby_that_cannot_be_cleared_gives_way_to_a_new_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file in it that cannot be removed (made immutable, owned by another user): the
    # build makes a new folder instead, and so do the builds after it.
    import generator.write as write_stage
    from generator.write import write_site

    out = with_standby(tmp_path)
    manifest = MANIFEST_IN
    clear_folder = write_stage._clear_folder

    def refusing(*args: object) -> None:
        raise PermissionError(1, "Operation not permitted", "CNAME")

    monkeypatch.setattr(write_stage, "_clear_folder", refusing)
    rmtree = shutil.rmtree
    monkeypatch.setattr(write_stage.shutil, "rmtree", lambda *a, **k: None)  # nor removed
    write_site(out, {"index.html": b"3"}, manifest)
    assert tree(out)["index.html"] == b"3"
    (spoilt,) = temporaries(out)  # renamed out of the way, and recorded
    assert spoilt.endswith("-spoilt") and spoilt in (tmp_path / ".site.lock").read_text()
    monkeypatch.setattr(write_stage, "_clear_folder", clear_folder)
    write_site(out, {"index.html": b"3b"}, manifest)  # still not removable: still recorded
    assert spoilt in (tmp_path / ".site.lock").read_text()
    monkeypatch.setattr(write_stage.shutil, "rmtree", rmtree)
    for body in (b"4", b"5"):  # the next build removes it, once it can
        write_site(out, {"index.html": body}, manifest)
        assert tree(out)["index.html"] == body and temporaries(out) == []


def as_unprivileged(steps: Callable[[Path], object]) -> object:
    """Run `steps` in a fresh folder as a user whom permissions bind: this process when
    it is not root, else a child process switched to `nobody` (root writes through
    permissions), which gives back what `steps` returned (as JSON)."""
    base = Path(tempfile.mkdtemp(prefix="charters-unprivileged-"))
    try:
        if os.geteuid() != 0:
            return steps(base)
        os.chown(base, NOBODY, NOBODY)
        return as_nobody(partial(steps, base))
    finally:
        for folder, _, _ in os.walk(base):  # what a failing test left read-only
            os.chmod(folder, 0o755)
        shutil.rmtree(base, ignore_errors=True)


def locked_folders_steps(base: Path) -> dict[str, object]:
    """`charters build` with an output folder, then a cache folder, of mode 0."""
    from helpers import minimal_charter, run_cli

    source = base / "source"
    (source / "charters/routing").mkdir(parents=True)
    (source / "charters/routing/charter.yaml").write_text(minimal_charter(), "utf-8")
    found: dict[str, object] = {}
    for locked in ("out", "cache"):
        folder = base / locked
        folder.mkdir(exist_ok=True)
        folder.chmod(0)
        out = folder if locked == "out" else base / "site"
        args = ["build", "--source", source, "--out", out, "--quiet"]
        result = run_cli(*args, "--cache-dir", folder if locked == "cache" else base / "c")
        found[locked] = [result.exit_code, result.output]
        folder.chmod(0o755)
    return found


def test_an_output_or_cache_folder_that_cannot_be_read_is_the_build_s_error(
    scratch_project: ScratchProject,
) -> None:
    # click refused them as usage errors (exit 2, "Path '…' is not readable"), before
    # the build could say what it says of a folder it cannot use (docs/security.md).
    scratch_project.charter("routing")
    assert scratch_project.build().ok  # what a build imports, imported while all is readable
    found = as_unprivileged(locked_folders_steps)
    assert isinstance(found, dict), found
    code, output = found["out"]
    assert code == 1 and "error: cannot use the output folder" in output, output
    code, output = found["cache"]
    assert code == 0, output
    assert "cannot write the cache folder (Permission denied); the build goes on" in output


def read_only_site_steps(base: Path) -> dict[str, object]:
    """Build three times into `base`/site, the first site made read-only by hand."""
    from generator.write import write_site

    out = base / "site"
    pages = {"index.html": b"1", "charters/a/index.html": b"a", "charters/b/index.html": b"b"}
    write_site(out, pages, MANIFEST_IN)
    (out / ".git").mkdir()  # a folder of the user's, carried over into each new site
    (out / ".git" / "HEAD").write_text("ref")
    for path in [*out.rglob("*"), out]:  # chmod -R a-w site
        path.chmod(stat.S_IMODE(path.lstat().st_mode) & ~0o222)
    seen = []
    for body in (b"2", b"3", b"4"):  # charter b is gone: its read-only folder must go too
        write_site(out, {"index.html": body, "charters/a/index.html": b"a"}, MANIFEST_IN)
        files = {k: v.decode() for k, v in tree(out).items() if k != MANIFEST}
        seen.append({"files": files, "left": temporaries(out)})
    beside = sorted(p.name for p in base.iterdir() if p.name != "site")
    return {"seen": seen, "beside": [n.rsplit("-", 1)[-1] for n in beside]}


def test_a_site_made_read_only_is_removed_when_it_is_the_standby() -> None:
    # A deploy step made the site read-only (`chmod -R a-w site`). Two builds later it
    # is the standby: it cannot be brought up to date, so it is removed (its folders made
    # writable first, as its owner may) and a new folder is made; it used to be renamed
    # to `-spoilt` and kept, one more such folder each time.
    found = as_unprivileged(read_only_site_steps)
    assert isinstance(found, dict) and "failed" not in found, found
    for n, seen in enumerate(found["seen"], start=2):
        assert seen == {
            "files": {"index.html": str(n), "charters/a/index.html": "a", ".git/HEAD": "ref"},
            "left": [],
        }
    assert found["beside"] == ["standby", ".site.lock"]  # no -spoilt folder


def test_a_folder_mounted_in_the_site_is_never_emptied_when_that_site_is_the_standby(
    tmp_path: Path,
) -> None:
    # A folder bind-mounted into the site moves with the site when it is swapped out; two
    # builds later that site is the standby, which the build clears. What is on the
    # mounted folder must survive (it used to be removed with the standby's folder).
    import generator.write as write_stage
    from generator.write import write_site

    volume = tmp_path / "volume"
    volume.mkdir()
    (volume / "photo.jpg").write_bytes(b"the user's")
    out = tmp_path / "site"
    write_site(out, {"index.html": b"1"}, MANIFEST_IN)
    (out / "media").mkdir()
    as_root(["mount", "--bind", str(volume), str(out / "media")], "bind-mount a folder")
    try:
        for body in (b"2", b"3", b"4"):
            write_site(out, {"index.html": body}, MANIFEST_IN)
            assert tree(out) == {
                "index.html": body,
                "media/photo.jpg": b"the user's",  # carried over (copied: another mount)
                MANIFEST: (out / MANIFEST).read_bytes(),
            }
        assert (volume / "photo.jpg").read_bytes() == b"the user's"
        # The folder that holds the mount is left, recorded, and out of the way.
        points = [Path(p) for p in write_stage._mount_points()]
        (held,) = [p for p in tmp_path.iterdir() if p / "media" in points]
        assert held.name.endswith("-spoilt") and held.name in (tmp_path / ".site.lock").read_text()
        with write_stage.lock_output(out):  # and a build says so, with what to do
            assert write_stage.left_beside(out) == [
                f"{held} could not be removed: {held / 'media'} is mounted in it (unmount it,"
                " then build again); each build tries again"
            ]
    finally:
        subprocess.run(["umount", "-l", str(volume)], check=False)
        for path in tmp_path.glob(".site.charters-*/media"):
            subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_folder_of_ours_that_cannot_be_removed_whole_loses_all_but_what_is_stuck(
    tmp_path: Path,
) -> None:
    # A file made immutable in a recorded folder: the rest still goes, so what stays
    # beside the output (recorded, tried again by each build) is as small as it can be.
    import generator.write as write_stage

    folder = tmp_path / ".site.charters-0123456789abcdef-old"
    for i in range(30):
        (folder / f"c{i:02d}").mkdir(parents=True)
        (folder / f"c{i:02d}" / "index.html").write_text("page")
    stuck = folder / "c15" / "index.html"
    as_root(["chattr", "+i", str(stuck)], "make a file immutable (chattr +i)")
    try:
        write_stage._remove(folder)
        assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == [
            "c15",
            "c15/index.html",
        ]
    finally:
        subprocess.run(["chattr", "-i", str(stuck)], check=False)


def test_a_folder_of_ours_left_beside_the_site_is_named_with_why_on_every_build(
    tmp_path: Path,
) -> None:
    # A site swapped out that still holds an immutable file stays beside the output,
    # recorded; each build tries again and says, on standard error, what it left and why
    # (it used to say nothing, and the folder stayed unexplained).
    source, out = tmp_path / "src", tmp_path / "site"
    make_tree(source)
    stuck_folder = tmp_path / ".site.charters-0123456789abcdef-old"
    (stuck_folder / "charters" / "c01").mkdir(parents=True)
    (stuck_folder / "charters" / "c01" / "index.html").write_text("page")
    stuck = stuck_folder / "charters" / "c01" / "index.html"
    (tmp_path / ".site.lock").write_text(json.dumps({"temporary": [stuck_folder.name]}))
    as_root(["chattr", "+i", str(stuck)], "make a file immutable (chattr +i)")
    warning = (
        f"warning: {stuck_folder} could not be removed: charters/c01/index.html in it cannot"
        " be removed (made immutable, or another user's, say); each build tries again"
    )
    try:
        for run in ("first", "no-op"):
            done = start(source, out, "--quiet")
            _, stderr = done.communicate(timeout=120)
            assert done.returncode == 0, stderr
            said = [line for line in stderr.splitlines() if not line.startswith("note: ")]
            assert said == [warning], run  # also with --quiet, and on a no-op (beside the
            # note of the tree's rule errors, which --quiet says too)
            assert stuck.read_text() == "page" and (out / "index.html").is_file()
    finally:
        subprocess.run(["chattr", "-i", str(stuck)], check=False)
    done = start(source, out)
    said = done.communicate(timeout=120)[1].splitlines()
    assert done.returncode == 0
    assert not [line for line in said if not line.startswith("note: ")]  # only the rule note
    assert not stuck_folder.exists()  # removed once it could be, and nothing said


def test_a_standby_file_refused_after_spooled_ones_were_placed_gives_way_to_a_new_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The standby took the spooled a.html, then b.html could not be replaced: the new
    # folder made instead still has the spooled file to take (it used to be moved away).
    import generator.write as write_stage
    from generator.write import lock_output, open_spool, write_site

    out = with_standby(tmp_path)
    update = write_stage._update

    def refusing_b(source: object, target: str, identity: object = None) -> None:
        if target.endswith("b.html"):
            raise PermissionError(1, "Operation not permitted", target)
        update(source, target, identity)  # type: ignore[arg-type]

    monkeypatch.setattr(write_stage, "_update", refusing_b)
    with lock_output(out):
        spool = open_spool(out)
        files = {"a.html": spool.write([b"A3"]), "b.html": spool.write([b"B3"]), "index.html": b"3"}
        write_site(out, files, MANIFEST_IN)
    assert tree(out) == {
        "a.html": b"A3",
        "b.html": b"B3",
        "index.html": b"3",
        MANIFEST: (out / MANIFEST).read_bytes(),
    }
    assert temporaries(out) == []


def test_a_standby_file_that_cannot_be_replaced_gives_way_to_a_new_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import generator.write as write_stage
    from generator.write import write_site

    out = with_standby(tmp_path)
    update, calls = write_stage._update, []

    def refusing(source: object, target: str, identity: object = None) -> None:
        calls.append(target)
        raise PermissionError(1, "Operation not permitted", target)

    monkeypatch.setattr(write_stage, "_update", refusing)
    write_site(out, {"index.html": b"3", "a/b.html": b"b"}, MANIFEST_IN)
    assert calls and tree(out) == {
        "index.html": b"3",
        "a/b.html": b"b",
        MANIFEST: (out / MANIFEST).read_bytes(),
    }
    assert temporaries(out) == []
    monkeypatch.setattr(write_stage, "_update", update)
    write_site(out, {"index.html": b"4"}, MANIFEST_IN)
    assert tree(out)["index.html"] == b"4" and temporaries(out) == []


def test_a_build_stopped_before_it_takes_the_standby_leaves_it_to_the_next_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import generator.write as write_stage
    from generator.write import write_site

    out = with_standby(tmp_path)
    manifest = MANIFEST_IN
    spare = standby(out)

    def stopped(*args: object) -> bool:
        raise KeyboardInterrupt

    monkeypatch.setattr(write_stage, "_take_standby", stopped)
    with pytest.raises(KeyboardInterrupt):
        write_site(out, {"index.html": b"3"}, manifest)
    monkeypatch.undo()
    assert tree(out)["index.html"] == b"2"
    write_site(out, {"index.html": b"4"}, manifest)
    assert not (tmp_path / spare).exists()  # removed by the next build, not leaked
    assert temporaries(out) == [] and standby(out) is not None


def test_the_folders_of_a_site_built_in_the_standby_have_a_new_folders_mode(
    tmp_path: Path,
) -> None:
    # The standby's folders were made under another umask (or changed by hand): the
    # new site's folders get the mode a new folder gets, as a cold build's would.
    from generator.write import write_site

    out = tmp_path / "site"
    manifest = {"input": "x"}
    files = {"index.html": b"1", "charters/a/index.html": b"a"}
    old_mask = os.umask(0o077)
    try:
        write_site(out, files, manifest)
    finally:
        os.umask(old_mask)
    expected = 0o777 & ~old_mask
    for n in range(2, 5):
        write_site(out, {**files, "index.html": str(n).encode()}, manifest)
        modes = {
            p: stat.S_IMODE(p.stat().st_mode)
            for p in (out, out / "charters", out / "charters" / "a")
        }
        assert set(modes.values()) == {expected}, (n, modes)


def test_a_build_killed_while_it_brings_the_standby_up_to_date_is_repaired(
    tmp_path: Path,
) -> None:
    # The standby is renamed to the build's recorded temporary folder before it is
    # changed: a build killed then leaves the site whole, and the next build removes it.
    src, out = tmp_path / "src", tmp_path / "site"
    make_tree(src)
    for title in ("Portfolio A", "Portfolio B"):
        set_title(src, title)
        assert run(src, out).returncode == 0
    before = tree(out)
    set_title(src, "Portfolio C")
    proc = start(src, out, **{PAUSE_ENV: "before:30"})
    assert proc.stderr is not None
    assert proc.stderr.readline().strip() == "swap: before"  # the standby is now the new site
    assert standby(out) is None
    proc.kill()
    proc.wait()
    assert tree(out) == before and len(temporaries(out)) == 2  # its new folder and spool
    set_title(src, "Portfolio D")
    assert run(src, out).returncode == 0
    assert temporaries(out) == [] and standby(out) is not None
    assert "Portfolio D" in (out / "index.html").read_text()


def test_a_borrowed_file_the_build_checked_is_not_looked_at_again_when_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build checked each current site file it borrows (`PreviousSite.file`) and gives
    the write stage what it found (its device and inode): the standby's file at that path
    is compared with that, with no second look at the current site's file; one that is
    not that file (changed since the standby was the site) is replaced by a link to it."""
    import generator.write as write_stage
    from generator.spool import Spooled
    from generator.write import PreviousSite, read_manifest, write_site

    out = tmp_path / "site"
    manifest = {"input": "x"}
    write_site(out, {"keep.html": b"K", "moved.html": b"M1"}, manifest)
    write_site(out, {"keep.html": b"K", "moved.html": b"M2"}, manifest)  # first site: standby
    before = PreviousSite.of(
        out, {**read_manifest(out), "made": {"keep.html": "k", "moved.html": "m"}}
    )
    borrowed = {}
    for rel in ("keep.html", "moved.html"):
        path = before.file(rel, before.made[rel])
        assert path is not None
        borrowed[rel] = Spooled(path, before.sizes[rel], borrowed=True)
    assert set(before.identities) == {"keep.html", "moved.html"}
    kept = (out / "keep.html").stat().st_ino
    looked: list[str] = []
    real_lstat = os.lstat

    def lstat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        looked.append(os.fspath(path))  # type: ignore[arg-type]
        return real_lstat(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(write_stage.os, "lstat", lstat)
    write_site(out, borrowed, manifest, before.listed, before.identities)
    monkeypatch.undo()
    assert str(out / "keep.html") not in looked  # moved.html is linked, which looks at it
    assert tree(out) == {
        "keep.html": b"K",
        "moved.html": b"M2",
        MANIFEST: (out / MANIFEST).read_bytes(),
    }
    assert (out / "keep.html").stat().st_ino == kept  # the same file all along
    assert temporaries(out) == []
