"""Pages stage: a long run of pages rendered half by the build, half by a forked copy.

Rendering a charter page is Python (Jinja) and holds one core; a template edit at a
thousand charters renders a thousand of them. :func:`in_two` gives the second half of
such a run to a copy of the build made by `fork()`: the copy has everything the build
has (the charters read back, the templates compiled), renders its pages into the same
spool folder under names of its own, and sends back, pickled through a pipe, what each
page gave (a spooled file's place and size) and what rendering them changed in the
build's state (:data:`STATE`: the cache entries used and written, the pages made, the
counts, the memo's results), which the build takes as if it had rendered them itself.

Never on another machine than Linux (elsewhere a forked copy of a process is not safe
to run Python in), never in a process with another thread (`serve`, a build that draws
charts in workers: a lock another thread held would be held forever in the copy), and
not for fewer than `FORK_FROM` pages. Whatever becomes of the copy, the pages come out
the same: when it stops early (a template error, killed), it sends nothing and the build
renders its share itself, so a template error is reported as without the copy.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: From this many pages to render, half go to a forked copy. At 1,000 charters a template
#: edit took 2.6 s against 3.8 s; forking a build that size costs some 30 ms.
FORK_FROM = 64

#: What rendering a page may change in the build's state, by owner and attribute (see
#: `owners` of :func:`in_two`), and how the copy's changes are given back: "set" (members
#: added), "map" (items added or replaced), "count" (numbers increased), "list" (items
#: appended), "value" (replaced when the copy's differs: the cache stopped by a failed
#: write). tests/integration/test_fork.py checks that a build's state after a forked run
#: is the state after the same run in one process.
STATE: Mapping[str, Mapping[str, str]] = {
    "cache": {
        "used": "set",
        "seen": "set",
        "folders": "set",
        "hits": "count",
        "remembered": "map",
        "written": "list",
        "root": "value",
        "warning": "value",
        "warning_at": "value",
        "_made_root": "value",
    },
    "reuse": {"made": "map", "counts": "count", "values_now": "map"},
    "memo": {"used": "map"},
}


def can_fork() -> bool:
    """Whether this process may render in a forked copy of itself (see the module)."""
    return sys.platform == "linux" and hasattr(os, "fork") and threading.active_count() == 1


def in_two(
    items: Sequence[T],
    work: Callable[[T], R],
    owners: Mapping[str, object],
    copy_started: Callable[[], None] = lambda: None,
) -> list[R]:
    """`[work(item) for item in items]`, the second half of it done by a forked copy of
    this process when there are `FORK_FROM` items or more and :func:`can_fork`.

    `owners` are the objects whose :data:`STATE` the work changes, by the names there
    (those left out are not changed by it); `copy_started` runs in the copy first (it
    names its spooled files apart from the build's). What `work` returns must pickle.
    """
    if len(items) < FORK_FROM or not can_fork():
        return [work(item) for item in items]
    first = work(items[0])  # templates compiled and shared digests made once, here
    half = (len(items) + 1) // 2
    mine, theirs = items[1:half], items[half:]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the copy: never returns
        os.close(read)
        _copy(theirs, work, owners, copy_started, write)
    os.close(write)
    reaped = False
    try:
        done = [first, *(work(item) for item in mine)]
        sent, changes = _received(read)
        _, status = os.waitpid(pid, 0)
        reaped = True
        if status != 0 or changes is None or len(sent) != len(theirs):
            return done + [work(item) for item in theirs]  # the copy stopped: all made here
        absorb(owners, changes)
        return done + sent
    finally:
        os.close(read)
        if not reaped:  # the build stopped first (an error, Ctrl-C): so does the copy
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)


def _copy(
    items: Sequence[T],
    work: Callable[[T], R],
    owners: Mapping[str, object],
    started: Callable[[], None],
    write: int,
) -> None:
    """The forked copy's run: `work` each item, then send the results and the changes to
    the state, and exit without running anything of the build's (no `finally`, no exit
    handler: those are the build's to run). On any error it sends nothing, and the
    build does all of its share itself (the same error, in the same place)."""
    status = 1
    try:
        started()
        marks = mark(owners)
        done = [work(item) for item in items]
        with os.fdopen(write, "wb") as out:
            pickle.dump((done, changes_since(owners, marks)), out, pickle.HIGHEST_PROTOCOL)
        status = 0
    finally:
        os._exit(status)


def _received(read: int) -> tuple[list[Any], dict[str, dict[str, Any]] | None]:
    """What the copy sent through the pipe `read`, read to its end; nothing when it sent
    nothing whole (it stopped, or what it made did not pickle)."""
    parts = []
    while chunk := os.read(read, 1 << 20):
        parts.append(chunk)
    try:
        sent, changes = pickle.loads(b"".join(parts))
    except Exception:
        return [], None
    return list(sent), changes


def mark(owners: Mapping[str, object]) -> dict[str, dict[str, Any]]:
    """What the :data:`STATE` of `owners` holds now, for :func:`changes_since`."""
    marks: dict[str, dict[str, Any]] = {}
    for name, owner in owners.items():
        marks[name] = {}
        for attr, how in STATE[name].items():
            value = getattr(owner, attr)
            marks[name][attr] = len(value) if how == "list" else _copied(value, how)
    return marks


def _copied(value: Any, how: str) -> Any:
    if how == "set":
        return set(value)
    if how in ("map", "count"):
        return dict(value)
    return value


def changes_since(
    owners: Mapping[str, object], marks: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """How the :data:`STATE` of `owners` changed since `marks`, for :func:`absorb`."""
    changes: dict[str, dict[str, Any]] = {}
    for name, owner in owners.items():
        changes[name] = {}
        for attr, how in STATE[name].items():
            now, before = getattr(owner, attr), marks[name][attr]
            if how == "set":
                changes[name][attr] = now - before
            elif how == "list":
                changes[name][attr] = now[before:]
            elif how == "map":
                changes[name][attr] = {
                    k: v for k, v in now.items() if k not in before or before[k] is not v
                }
            elif how == "count":
                changes[name][attr] = {
                    k: v - before.get(k, 0) for k, v in now.items() if v != before.get(k, 0)
                }
            elif now != before:
                changes[name][attr] = now
    return changes


def absorb(owners: Mapping[str, object], changes: Mapping[str, Mapping[str, Any]]) -> None:
    """Make the changes a copy made to its state (:func:`changes_since`) in `owners`."""
    for name, owner in owners.items():
        for attr, change in changes.get(name, {}).items():
            how = STATE[name][attr]
            value = getattr(owner, attr)
            if how == "set":
                value.update(change)
            elif how == "list":
                value.extend(change)
            elif how == "map":
                value.update(change)
            elif how == "count":
                for k, n in change.items():
                    value[k] = value.get(k, 0) + n
            else:
                setattr(owner, attr, change)
