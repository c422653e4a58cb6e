"""benchmarks/process_tree.py: what a command used, counting the processes it left running.

A build's chart workers come from a server process that outlives the build; its CPU
time (and its workers') must still reach the benchmark's figures.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest
from helpers import REPO_ROOT

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="prctl and /proc are Linux's")

BENCH = REPO_ROOT / "benchmarks"
# Burns half a second of CPU, then writes "burnt" to stdout and sleeps `LINGER` seconds.
BURN = (
    "import sys, time\n"
    "t = time.process_time()\n"
    "while time.process_time() - t < 0.5: pass\n"
    "print('burnt', flush=True)\n"
    "time.sleep(float(sys.argv[1]))\n"
)
# Starts BURN (lingering `sys.argv[1]` seconds) and exits at once: BURN is left orphaned.
LEAVE = (
    "import subprocess, sys\n"
    f"subprocess.Popen([sys.executable, '-c', {BURN!r}, sys.argv[1]], stdout=sys.stdout)\n"
)


def _measure(subreaper: bool, linger: float = 0.0, timeout: float = 30.0) -> str:
    """Run, in a fresh process, a command that leaves a process burning CPU behind it; it
    prints how many processes it reaped and the CPU its children used."""
    code = textwrap.dedent(
        f"""
        import resource, subprocess, sys
        sys.path.insert(0, {str(BENCH)!r})
        from process_tree import become_subreaper, children, reap_orphans
        if {subreaper}:
            become_subreaper()
        kids = children()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-c", {LEAVE!r}, "{linger}"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            reaped = len(reap_orphans(kids, timeout={timeout}))
        except TimeoutError as exc:
            print("timeout", exc)
            raise SystemExit(0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        used = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        print(reaped, round(used, 2))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_process_left_running_is_waited_for_and_its_cpu_counted() -> None:
    reaped, used = _measure(subreaper=True).split()
    assert reaped == "1"
    assert float(used) >= 0.45  # the orphan's half second


def test_without_adopting_it_the_cpu_of_a_process_left_running_is_lost() -> None:
    """The failure the module exists for: the orphan goes to init, its CPU with it."""
    reaped, used = _measure(subreaper=False).split()
    assert reaped == "0"
    assert float(used) < 0.45


def test_a_process_still_running_after_the_timeout_is_named() -> None:
    said = _measure(subreaper=True, linger=30.0, timeout=1.0)
    assert said.startswith("timeout still running 1 s after the command ended: ")
    assert "time.process_time()" in said  # its command line
    pid = int(said.split(": ", 1)[1].split()[0])
    subprocess.run(["kill", str(pid)], check=False)


def test_the_cpu_of_a_running_tree_counts_every_process_under_it() -> None:
    sys.path.insert(0, str(BENCH))
    from process_tree import descendants, tree_cpu_seconds

    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import subprocess, sys, time\n"
            f"subprocess.Popen([sys.executable, '-c', {BURN!r}, '30'])\ntime.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        assert parent.stdout.readline().strip() == "burnt"  # the grandchild's half second
        deadline = time.monotonic() + 10
        while len(descendants(parent.pid)) != 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(descendants(parent.pid)) == 1
        assert tree_cpu_seconds(parent.pid) >= 0.45
        own = tree_cpu_seconds(descendants(parent.pid)[0])
        assert own >= 0.45  # the grandchild's own
    finally:
        for pid in descendants(parent.pid):
            subprocess.run(["kill", str(pid)], check=False)
        parent.kill()
        parent.wait()
