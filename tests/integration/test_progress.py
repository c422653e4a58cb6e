"""The progress bar of `charters build`: on a terminal for a build longer than a second,
never in a pipe or with `--quiet`; and the bar's own rules (delay, rate, clearing)."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import shutil
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from helpers import REPO_ROOT

from generator.progress import Progress, line

BAR = re.compile(r"Drawing charts \[[#-]{20}\] (\d+)/(\d+) charters/[a-z0-9_-]+/[a-z0-9_-]+\.svg")
CLEAR = "\r\x1b[2K"


# --------------------------------------------------------------------------- #
# The bar itself, on a stream that says it is a terminal, with a clock we move
# --------------------------------------------------------------------------- #


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_nothing_shows_in_the_first_second_then_the_bar_then_it_is_cleared() -> None:
    term, clock = Terminal(), Clock()
    with Progress(term, clock=clock) as bar:
        bar("Loading")
        clock.now += 0.9
        bar("Drawing charts", 3, 54, "charters/a/m.svg")
        assert term.getvalue() == ""  # a quick build shows no bar
        clock.now += 0.2
        bar("Drawing charts", 4, 54, "charters/a/n.svg")
        assert (
            term.getvalue() == CLEAR + "Drawing charts [#-------------------] 4/54 charters/a/n.svg"
        )
    assert term.getvalue().endswith("n.svg" + CLEAR)  # erased at the end, cursor at column 0


def test_redraws_at_most_ten_times_a_second() -> None:
    term, clock = Terminal(), Clock()
    bar = Progress(term, clock=clock, delay=0.0)
    for done in range(1, 101):  # a hundred charts in a second
        bar("Drawing charts", done, 100, f"charters/c/m{done}.svg")
        clock.now += 0.01
    draws = term.getvalue().count(CLEAR)
    assert 9 <= draws <= 11


def test_silent_when_quiet_or_not_a_terminal() -> None:
    clock = Clock()
    quiet, pipe = Terminal(), io.StringIO()
    for stream, bar in (
        (quiet, Progress(quiet, quiet=True, clock=clock)),
        (pipe, Progress(pipe, clock=clock)),
    ):
        clock.now += 5
        bar("Drawing charts", 1, 2, "charters/a/m.svg")
        bar.close()
        assert stream.getvalue() == ""


def test_the_line_fits_the_terminal_and_shows_no_control_characters() -> None:
    text = line("Drawing charts", 27, 54, "charters/x/\x1b[31mred\n.svg", width=40)
    assert len(text) == 39 and text.endswith("…")
    assert "\x1b" not in text and "\n" not in text
    assert line("Rendering pages", 0, 0, "", width=80) == "Rendering pages"


# --------------------------------------------------------------------------- #
# `charters build` in a pseudo-terminal, in a pipe, and with --quiet
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the examples: a cold build draws 50-odd charts, several seconds."""
    source = tmp_path_factory.mktemp("progress") / "source"
    shutil.copytree(REPO_ROOT / "charters", source / "charters")
    for name in ("site.yaml", "metrics.yaml"):
        shutil.copy2(REPO_ROOT / name, source / name)
    return source


def _command(source: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "generator",
        "build",
        "--source",
        str(source),
        "--out",
        str(out),
        *extra,
    ]


def _in_terminal(command: list[str]) -> tuple[int, str, float]:
    """Run `command` with a pseudo-terminal as its stdin, stdout and stderr."""
    leader, follower = pty.openpty()
    # 24 rows of 200 columns, wide enough for the whole line.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 200, 0, 0))
    started = time.monotonic()
    env = dict(os.environ)
    proc = subprocess.Popen(
        command, stdin=follower, stdout=follower, stderr=follower, cwd=REPO_ROOT, env=env
    )
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the follower side closed: the build has ended
            break
        if not data:
            break
        chunks.append(data)
    code = proc.wait(timeout=600)
    os.close(leader)
    return code, b"".join(chunks).decode(), time.monotonic() - started


def test_a_slow_build_on_a_terminal_shows_what_is_drawn_then_one_summary_line(
    examples: Path, tmp_path: Path
) -> None:
    code, output, seconds = _in_terminal(_command(examples, tmp_path / "site"))
    assert code == 0, output
    assert seconds > 1.5  # a build long enough for the bar
    bars = [(int(done), int(total)) for done, total in BAR.findall(output)]
    assert bars, output[-2000:]
    totals = {total for _done, total in bars}
    assert len(totals) == 1 and 50 <= totals.pop() <= 60
    assert all(1 <= done <= total for done, total in bars)
    # Cleared at the end: the summary line starts on a clean line and is the last one.
    before, summary = output.rsplit(CLEAR, 1)
    assert BAR.search(before)
    assert re.fullmatch(
        r"\s*Built 9 charters: \d+ pages, \d+ charts \(\d+ drawn, \d+ cached\) in [\d.]+ s → .*\s*",
        summary,
    )


def test_no_bar_in_a_pipe_and_the_same_summary_line(examples: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        _command(examples, tmp_path / "site"),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "Drawing charts" not in done.stderr and "\r" not in done.stderr + done.stdout
    assert done.stdout.startswith("Built 9 charters:") and done.stdout.count("\n") == 1


def test_quiet_shows_nothing_on_a_terminal(examples: Path, tmp_path: Path) -> None:
    code, output, _seconds = _in_terminal(_command(examples, tmp_path / "site", "--quiet"))
    assert code == 0, output
    assert "Drawing charts" not in output and "\r\x1b" not in output
    assert "Built" not in output
    assert (tmp_path / "site" / "charters" / "search-ranking" / "index.html").is_file()
