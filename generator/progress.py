"""Build recipe, progress: a one-line bar on a terminal while a long build runs.

:class:`Progress` is handed to :func:`generator.build.build` as its `progress`
callback. It hears of each stage ("Loading", "Drawing charts", ...) and, while
charts are drawn, of each chart: how many of how many, and which. It writes to
standard error, and only when that is a terminal and `--quiet` was not given:

* nothing in the first second, so a quick build prints only its summary line;
* then one line, redrawn in place at most ten times a second;
* cleared at the end, so the summary line that follows stands alone.

Not on a terminal (CI logs, pipes) or when quiet, it writes nothing at all.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

from .diagnostics import printable

#: What a build calls as it goes: (stage, done, total, item); total 0 when not counted.
Report = Callable[[str, int, int, str], None]

_CLEAR = "\r\033[2K"  # to the start of the line, and erase it
_BAR = 20  # cells of the bar


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


def _width(stream: TextIO) -> int:
    """The terminal's width in columns, 80 when it cannot be told."""
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, OSError, ValueError):
        return 80


def line(stage: str, done: int, total: int, item: str, width: int) -> str:
    """The progress line, at most `width` - 1 columns: "Drawing charts [#####-----] 12/54 path"."""
    text = stage
    if total > 0:
        filled = _BAR * min(done, total) // total
        text += f" [{'#' * filled}{'-' * (_BAR - filled)}] {done}/{total}"
    if item:
        text += f" {printable(item)}"
    room = max(width - 1, 10)
    return text if len(text) <= room else text[: room - 1] + "…"


class Progress:
    """The progress bar of one build; use it as a context manager so it is cleared."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        quiet: bool = False,
        delay: float = 1.0,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.enabled = not quiet and _is_terminal(self.stream)
        self.delay = delay  # seconds before the bar first shows
        self.interval = interval  # seconds between two redraws at least
        self.clock = clock
        self.started = clock()
        self.shown = False  # something is on the line, to clear at the end
        self._drawn_at: float | None = None

    def __call__(self, stage: str, done: int = 0, total: int = 0, item: str = "") -> None:
        """Hear where the build is; redraw if it is time to."""
        if not self.enabled:
            return
        now = self.clock()
        if now - self.started < self.delay:
            return
        if self._drawn_at is not None and now - self._drawn_at < self.interval:
            return
        self._drawn_at = now
        self.stream.write(_CLEAR + line(stage, done, total, item, _width(self.stream)))
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        """Erase the bar, leaving the cursor at the start of an empty line."""
        if self.shown:
            self.stream.write(_CLEAR)
            self.stream.flush()
            self.shown = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
