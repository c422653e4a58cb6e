"""`charters build --watch`: builds again into the output folder on every change to its
inputs, each build the bytes a fresh `charters build` of the same tree writes."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import copy_examples, run_cli

from generator.serve import SiteState
from generator.write import MANIFEST, lock_output

EPOCH = "1797292800"  # 2026-12-15, after every example result: each build judges by it


class Watch:
    """`charters build --watch` as a process, its standard output and error read line by
    line as they come."""

    def __init__(self, source: Path, out: Path, cache: Path, *args: str) -> None:
        cmd = [sys.executable, "-m", "generator", "build", "--watch", "--source", str(source)]
        cmd += ["--out", str(out), "--cache-dir", str(cache), *args]
        env = dict(os.environ, PYTHONUNBUFFERED="1", SOURCE_DATE_EPOCH=EPOCH)
        env.pop("CHARTERS_CACHE_DIR", None)
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        self.lines: queue.Queue[tuple[str, str]] = queue.Queue()
        self.out: list[str] = []
        self.err: list[str] = []
        for name, stream in (("out", self.proc.stdout), ("err", self.proc.stderr)):
            threading.Thread(target=self._read, args=(name, stream), daemon=True).start()

    def _read(self, name: str, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            (self.out if name == "out" else self.err).append(line.rstrip("\n"))
            self.lines.put((name, line.rstrip("\n")))

    def until(self, start: str, timeout: float = 60) -> list[str]:
        """The lines printed until one that starts with `start` (that one included)."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                _, line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                pytest.fail(f"no line starting {start!r} within {timeout} s; last: {seen[-5:]}")
            seen.append(line)
            if line.startswith(start):
                return seen

    def stop(self) -> int:
        """Ctrl-C, and the exit status."""
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=30)


def tree(folder: Path) -> dict[str, bytes]:
    """Every file of a site by its path, with its bytes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def cold_build(source: Path, out: Path, cache: Path) -> dict[str, bytes]:
    env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH)
    env.pop("CHARTERS_CACHE_DIR", None)
    cmd = [sys.executable, "-m", "generator", "build", "--source", str(source), "--quiet"]
    cmd += ["--out", str(out), "--cache-dir", str(cache)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return tree(out)


def test_each_edit_is_built_into_the_site_as_a_cold_build_would_write_it(tmp_path: Path) -> None:
    source = copy_examples(tmp_path / "src")
    out = tmp_path / "site"
    watch = Watch(source, out, tmp_path / "cache")
    try:
        first = watch.until("Built ")
        assert first[-1].startswith("Built 9 charters:") and first[-1].endswith(f"→ {out}")
        watch.until("Watching ")
        (out / "CNAME").write_text("charters.example.com\n")  # the user's, kept by every build

        charter = source / "charters" / "support-ticket-routing" / "charter.yaml"
        text = charter.read_text()
        charter.write_text(text.replace("title: ", "title: Watched edit of ", 1))
        lines = watch.until("Built ")
        assert "charters/support-ticket-routing/charter.yaml changed; rebuilding…" in lines
        page = (out / "charters" / "support-ticket-routing" / "index.html").read_text()
        assert "Watched edit of " in page

        results = sorted((charter.parent / "results").glob("*.csv"))[0]
        rows = results.read_text().splitlines()
        results.write_text("\n".join(rows[:-1]) + "\n")  # its last row dropped
        lines = watch.until("Built ")
        assert any(line.startswith("charters/support-ticket-routing/results/") for line in lines)
    finally:
        status = watch.stop()
    assert status == 0
    assert watch.out[-1] == "Stopped."
    assert not [line for line in watch.err if "Traceback" in line or "error" in line]
    watched = tree(out)
    assert watched.pop("CNAME") == b"charters.example.com\n"
    assert watched == cold_build(source, tmp_path / "cold", tmp_path / "cold-cache")
    assert MANIFEST in watched


def test_a_broken_edit_keeps_the_site_and_the_watch_and_its_status_is_the_last_builds(
    tmp_path: Path,
) -> None:
    source = copy_examples(tmp_path / "src")
    out = tmp_path / "site"
    charter = source / "charters" / "support-ticket-routing" / "charter.yaml"
    good = charter.read_text()
    watch = Watch(source, out, tmp_path / "cache", "--quiet")
    try:
        deadline = time.monotonic() + 60
        while not (out / MANIFEST).is_file():
            assert time.monotonic() < deadline and watch.proc.poll() is None
            time.sleep(0.05)
        time.sleep(0.5)
        before = tree(out)
        charter.write_text(good + "ownr: nobody\n")
        lines = watch.until(f"1 problem found; nothing was written ({out} is unchanged)")
        line = len(good.splitlines()) + 1
        assert f"charters/support-ticket-routing/charter.yaml:{line}:1: ownr: unknown key" in (
            "\n".join(lines)
        )
        assert lines[-1].endswith("Still watching; a save rebuilds.")
        assert tree(out) == before

        charter.write_text(good.replace("title: ", "title: Mended ", 1))
        deadline = time.monotonic() + 30
        page = out / "charters" / "support-ticket-routing" / "index.html"
        while "Mended " not in page.read_text():
            assert time.monotonic() < deadline, "the mended charter was never built"
            time.sleep(0.05)
        assert not watch.out, "--quiet prints no summary lines"

        charter.write_text(good + "ownr: nobody\n")
        watch.until("1 problem found")
    finally:
        status = watch.stop()
    assert status == 1, "the last build failed"


def test_watch_and_gc_are_refused_together(tmp_path: Path) -> None:
    source = copy_examples(tmp_path / "src")
    result = run_cli("build", "--source", source, "--watch", "--gc")
    assert result.exit_code == 2
    assert "--gc and --watch do not go together" in result.output
    assert not (source / "site").exists()


def test_a_watch_started_on_a_built_tree_loads_every_charter_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first build is a no-op, which loads no charter; then every charter is loaded
    into what the process keeps, so the first edit reads none back from the cache."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    source = copy_examples(tmp_path / "src")
    out, cache = tmp_path / "site", tmp_path / "cache"
    built = cold_build(source, out, cache)
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    said: list[str] = []
    state = SiteState(
        source,
        out,
        echo=lambda message="", err=False: said.append(message),
        cache_dir=cache,
        watching=True,
    )
    state.first_build()
    assert said[0].endswith("; nothing changed") and said[1].startswith("Watching ")
    assert len(said) == 2, said
    assert state.kept is not None and len(state.kept.charters) == 9
    assert tree(out) == built
    # No file is written again but the manifest (first replaced by one that vouches for
    # none while the folder is written in place), with the same bytes.
    now = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    assert {p for p in now if now[p] != stamps[p]} <= {out / MANIFEST}


def test_a_link_in_the_output_folder_is_not_followed(tmp_path: Path) -> None:
    """A folder of the site made a symbolic link (a link committed to a site that is a
    git checkout): written in place, the build wrote and removed files where it led."""
    source = copy_examples(tmp_path / "src")
    out = tmp_path / "site"
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "product-content").mkdir(parents=True)
    (elsewhere / "index.html").write_text("precious\n")
    (elsewhere / "product-content" / "index.html").write_text("precious too\n")
    watch = Watch(source, out, tmp_path / "cache")
    try:
        watch.until("Watching ")
        teams = out / "teams"
        for page in sorted(teams.rglob("*"), reverse=True):
            page.unlink() if page.is_file() else page.rmdir()
        teams.rmdir()
        teams.symlink_to(elsewhere, target_is_directory=True)
        site_yaml = source / "site.yaml"
        site_yaml.write_text(site_yaml.read_text().replace("title: ", "title: Linked ", 1))
        watch.until("Built ")
    finally:
        assert watch.stop() == 0
    assert (elsewhere / "index.html").read_text() == "precious\n"
    assert (elsewhere / "product-content" / "index.html").read_text() == "precious too\n"
    assert sorted(p.name for p in elsewhere.iterdir()) == ["index.html", "product-content"]
    assert teams.is_dir() and not teams.is_symlink()
    assert tree(out) == cold_build(source, tmp_path / "cold", tmp_path / "cold-cache")


def test_an_edit_made_while_another_build_writes_the_folder_is_built_after_it(
    tmp_path: Path,
) -> None:
    """A `charters build` run by hand into the folder the watch writes: the watch's build
    of an edit was refused ("another build is writing"), and the edit went unbuilt."""
    source = copy_examples(tmp_path / "src")
    out = tmp_path / "site"
    watch = Watch(source, out, tmp_path / "cache")
    page = out / "charters" / "support-ticket-routing" / "index.html"
    charter = source / "charters" / "support-ticket-routing" / "charter.yaml"
    try:
        watch.until("Watching ")
        time.sleep(0.5)
        with lock_output(out):  # as another process's build holds it
            charter.write_text(charter.read_text().replace("title: ", "title: Waited ", 1))
            watch.until("charters/support-ticket-routing/charter.yaml changed")
            time.sleep(1.0)
            assert "Waited " not in page.read_text()
        watch.until("Built ")
        assert "Waited " in page.read_text()
    finally:
        assert watch.stop() == 0
    assert not [line for line in watch.err if "error" in line], watch.err


# `charters build --watch` whose first write of a file sleeps, so that Ctrl-C comes while
# the build writes the folder in place.
SLOW_WRITE = """
import sys, time
import generator.write as write
from generator.cli import main
def slow(*args, **kwargs):
    print("writing", flush=True)
    time.sleep(60)
write._replace_file = slow
main(sys.argv[1:])
"""


def test_ctrl_c_as_a_build_writes_says_so_and_exits_130(tmp_path: Path) -> None:
    """It said "Stopped." and exited 0, the folder part old and part new."""
    source = copy_examples(tmp_path / "src")
    out = tmp_path / "site"
    env = dict(os.environ, PYTHONUNBUFFERED="1", SOURCE_DATE_EPOCH=EPOCH)
    cmd = [sys.executable, "-c", SLOW_WRITE, "build", "--watch", "--source", str(source)]
    proc = subprocess.Popen(
        [*cmd, "--out", str(out), "--cache-dir", str(tmp_path / "cache")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "writing\n"
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert f"interrupted as a build wrote {out}: some of its files may be new" in stderr
    assert "Stopped." not in stdout and "Traceback" not in stderr


# `charters build --watch` killed (SIGKILL) as it writes the folder in place: its first file
# is put in place by way of a temporary one beside it (`.NAME.TOKEN.tmp`, renamed over the
# file once whole), made here as it makes it, before the kill.
KILLED_WRITING = """
import os, signal, sys
import generator.write as write
from generator.cli import main
def killed(content, target, token=None):
    folder, name = os.path.split(target)
    with open(os.path.join(folder, f".{name}.{token}.tmp"), "wb") as half:
        half.write(b"half a file")
    os.kill(os.getpid(), signal.SIGKILL)
write._replace_file = killed
main(sys.argv[1:])
"""


def test_the_temporary_files_of_a_watch_killed_as_it_wrote_are_removed(tmp_path: Path) -> None:
    """They stayed in the site for good, carried over by every later build as files
    charters did not write, and published."""
    source = copy_examples(tmp_path / "src")
    out, cache = tmp_path / "site", tmp_path / "cache"
    cold_build(source, out, cache)  # a first build is swapped in whole, never in place
    site_yaml = source / "site.yaml"
    site_yaml.write_text(site_yaml.read_text().replace("title: ", "title: Killed ", 1))
    env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH)
    cmd = [sys.executable, "-c", KILLED_WRITING, "build", "--watch", "--source", str(source)]
    done = subprocess.run(
        [*cmd, "--out", str(out), "--cache-dir", str(cache)], env=env, capture_output=True
    )
    assert done.returncode == -signal.SIGKILL
    assert [p.name for p in out.rglob("*.tmp")] != []  # what the killed build left
    cold_build(source, out, cache)  # the next build, into the same folder
    assert [p.name for p in out.rglob("*.tmp")] == []
    assert tree(out) == cold_build(source, tmp_path / "cold", tmp_path / "cold-cache")


def test_a_first_build_that_cannot_use_its_folders_ends_the_watch(tmp_path: Path) -> None:
    """`--out` inside `charters/`: no save can mend the command line, but the watch went on
    failing on every save."""
    source = copy_examples(tmp_path / "src")
    out = source / "charters" / "out"
    watch = Watch(source, out, tmp_path / "cache")
    assert watch.proc.wait(timeout=60) == 1
    time.sleep(0.2)  # the last lines read
    assert any("error: " in line for line in watch.err), watch.err
    assert not [line for line in watch.out if line.startswith("Watching")]
