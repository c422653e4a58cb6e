"""Pages stage: a long run of pages rendered by the build and a forked copy together.

Rendering a charter page is Python (Jinja) and holds one core; a template edit at a
thousand charters renders a thousand of them. :func:`in_two` shares such a run with a
copy of the build made by `fork()`: the copy has everything the build has (the charters
read back, the templates compiled). It first makes what the build would make after the
pages (the site-wide pages and the outputs: `then`), then both take the pages a few at
a time from one pipe until none is left, so that neither waits for the other on any
machine. The copy renders into the same spool folder under names of its own, and sends
back, pickled through a pipe, what each of its pages and `then` gave (a spooled file's
place and size) and what making them changed in the build's state (:data:`STATE`: the
cache entries used and written, the pages made, the counts, the memo's results), which
the build takes as if it had made them itself.

Never on another machine than Linux (elsewhere a forked copy of a process is not safe
to run Python in), never in a process with another Python thread (`serve`, a build whose
chart workers still draw: a lock another thread held would be held forever in the copy;
a build outside `serve` stops its drawing workers, if any, first: `make_way`), and
not for fewer than `FORK_FROM` pages. Threads Python does not know of are not seen:
numpy's OpenBLAS starts a pool of its own, which it makes safe across `fork()`; a thread
of a program that runs the build in its own process (a test runner's) could hold a lock
the copy then waits for, so a copy that has not answered `COPY_WAIT` seconds, and
`COPY_WAIT_TIMES` times as long as the build took over its own share, after the build
finished that share is killed. Whatever becomes of the copy, the site comes out the
same: when it stops early (a template error, killed, too slow), the build makes its
share itself, pages first, so a template error is reported as without the copy (an
error in one of the build's own pages: the copy is stopped and the pages before it are
made here, in order, until the first that fails); so it does when its own share stopped
the cache (a failed write), after removing the entries the copy wrote, as one process
would not have written them. The copy notes each cache entry in a file shared with the
build before putting it in place (`Cache.journal`): the entries of a copy that stops
before it reports are the build's as written all the same, to discard with the build's
own when a source file changed while it read. Ctrl-C stops the build, which kills the copy (the copy
ignores it); a build that dies takes its copy with it (`PR_SET_PDEATHSIG`).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from .cache import Cache

T = TypeVar("T")
R = TypeVar("R")
A = TypeVar("A")

#: From this many pages to render, a forked copy shares them. At 1,000 charters a template
#: edit took 2.6 s against 3.8 s; forking a build that size costs some 30 ms.
FORK_FROM = 64
#: The most runs of items the build and the copy take turns at (`_claims`: two bytes each,
#: so the pipe is written whole before anything reads it).
MAX_CLAIMS = 1024
#: The copy is given this many seconds, and this many times as long as the build took over
#: its own share, after the build finished it; then it is killed (see the module).
COPY_WAIT = 30.0
COPY_WAIT_TIMES = 3
_BLOCKED = {signal.SIGINT, signal.SIGTERM}  # while forking: see `_fork`
_PR_SET_PDEATHSIG = 1  # prctl(2)

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
        "written": "map",
        "root": "value",
        "warning": "value",
        "warning_at": "value",
        "_made_root": "value",
    },
    "reuse": {"made": "map", "counts": "count", "values_now": "map"},
    "memo": {"used": "map"},
}


def _forks_here() -> bool:
    """Whether this machine runs Python in a forked copy of a process (see the module)."""
    return sys.platform == "linux" and hasattr(os, "fork")


def can_fork() -> bool:
    """Whether this process may render in a forked copy of itself (see the module)."""
    return _forks_here() and threading.active_count() == 1


def in_two(
    items: Sequence[T],
    work: Callable[[T], R],
    owners: Mapping[str, object],
    copy_started: Callable[[], None] = lambda: None,
    then: Callable[[], A] | None = None,
    make_way: Callable[[], None] | None = None,
) -> tuple[list[R], A | None]:
    """`[work(item) for item in items]`, then `then()` (None without it): shared with a
    forked copy of this process when there are `FORK_FROM` items or more and
    :func:`can_fork`.

    The copy runs `then` first; the build and the copy take the items a few at a time,
    each from the same pipe, which hands every run of them out once, until none is left
    (:func:`_claims`), so neither waits for the other whatever the machine. `owners` are
    the objects whose :data:`STATE` the work changes, by the names there (those left out
    are not changed by it); `copy_started` runs in the copy first (it names its spooled
    files apart from the build's). What `work` and `then` return must pickle.
    `make_way`, when there are enough items on a machine that forks, is called first: it
    may end the threads that forbid the copy (a build's drawing workers and the pool's
    threads that feed them).
    """
    if len(items) >= FORK_FROM and make_way is not None and _forks_here():
        make_way()
    forking = len(items) >= FORK_FROM and can_fork()
    journal = None
    if forking:
        try:
            journal = _journal(owners)
        except OSError:  # nowhere to note what the copy writes: no copy
            forking = False
    if not forking:
        done = [work(item) for item in items]
        return done, then() if then is not None else None
    try:
        return _with_copy(items, work, owners, copy_started, then, journal)
    finally:
        if journal is not None:
            os.close(journal)


def _with_copy(
    items: Sequence[T],
    work: Callable[[T], R],
    owners: Mapping[str, object],
    copy_started: Callable[[], None],
    then: Callable[[], A] | None,
    journal: int | None,
) -> tuple[list[R], A | None]:
    """:func:`in_two` once it forks: the first item here, the rest shared with the copy,
    whose cache notes its entries in `journal` (None without a cache)."""
    first = work(items[0])  # templates compiled and shared digests made once, here
    rest = items[1:]
    size = max(1, -(-len(rest) // MAX_CLAIMS))  # items a claim takes: at most MAX_CLAIMS claims
    claims = _claims(-(-len(rest) // size))
    reaped = False
    try:
        share = _Share(rest, size, claims, work, then, journal)
        pid, read, unblock = _fork(share, owners, copy_started)
    except BaseException:
        os.close(claims)
        raise
    mine: dict[int, R] = {}
    try:
        unblock()
        started = time.monotonic()
        at = 0
        try:
            for at in _taken(claims, size, len(rest)):
                mine[at] = work(rest[at])
        except Exception:
            # The error one process would meet first: the copy is stopped, and the items
            # before this one that it took are made here, in order; else this one's.
            reaped = _stop(pid)
            _take_journal(owners, journal)
            for i in range(at):
                if i not in mine:
                    mine[i] = work(rest[i])
            raise
        wait = max(COPY_WAIT, COPY_WAIT_TIMES * (time.monotonic() - started))
        sent, changes = _received(read, time.monotonic() + wait)
        if changes is None:  # stopped, or too slow: its share is the build's
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        reaped = True
        made, also = sent
        if status == 0 and changes is not None and set(made) | set(mine) == set(range(len(rest))):
            stopped = _stopped_cache(owners)
            if stopped is None:
                absorb(owners, changes)
                mine.update(made)
                return [first, *(mine[i] for i in range(len(rest)))], also
            written = changes.get("cache", {}).get("written", {})
            stopped.discard(written, written)
        else:
            _take_journal(owners, journal)
        # The copy's share is the build's: its items, in order, then `then`.
        for i in range(len(rest)):
            if i not in mine:
                mine[i] = work(rest[i])
        return [first, *(mine[i] for i in range(len(rest)))], then() if then else None
    finally:
        os.close(read)
        os.close(claims)
        if not reaped:  # the build stopped first (an error, Ctrl-C): so does the copy
            _stop(pid)
            _take_journal(owners, journal)


@dataclass(frozen=True)
class _Share:
    """What the copy is given: the items after the first (`rest`), taken `size` at a time
    from the pipe `claims`, made by `work`, and `then`, which it runs first."""

    rest: Sequence[Any]
    size: int
    claims: int
    work: Callable[[Any], Any]
    then: Callable[[], Any] | None
    journal: int | None  # where the copy's cache notes its entries (`Cache.journal`)


def _journal(owners: Mapping[str, object]) -> int | None:
    """A file with no name, shared with the copy, for its cache's `journal`: what the copy
    wrote is known even when it stops before it reports it. None without a cache; raises
    OSError when no temporary file can be made."""
    cache = owners.get("cache")
    if not isinstance(cache, Cache) or cache.root is None:
        return None
    journal, name = tempfile.mkstemp(prefix="charters-journal-")
    os.unlink(name)
    return journal


def _take_journal(owners: Mapping[str, object], journal: int | None) -> None:
    """The entries the copy noted, made the build's as written (the copy stopped before it
    reported them); removed at once when the build's cache has stopped meanwhile, as one
    process would not have written them. Nothing without a journal (no cache)."""
    cache = owners.get("cache")
    if journal is not None and isinstance(cache, Cache):
        paths = cache.take_journal(journal)
        if cache.root is None:
            cache.discard(paths)


def _claims(count: int) -> int:
    """A pipe holding the numbers 0 to `count` - 1, two bytes each, with no writer left:
    its end to read, from which the build and the copy each take the next number
    (:func:`_claimed`). A read of two bytes from a pipe is never split, and all of it is
    written at once, before the fork, so each number is read once, by one of them."""
    assert count <= MAX_CLAIMS
    read, write = os.pipe()
    try:
        os.write(write, b"".join(n.to_bytes(2, "big") for n in range(count)))
    except BaseException:
        os.close(read)
        raise
    finally:
        os.close(write)
    return read


def _claimed(claims: int) -> Iterator[int]:
    """The numbers taken from the pipe `claims` (:func:`_claims`) until it is empty."""
    while taken := os.read(claims, 2):
        yield int.from_bytes(taken, "big")


def _taken(claims: int, size: int, count: int) -> Iterator[int]:
    """The places of the items (of `count`) in the runs of `size` taken from `claims`."""
    for n in _claimed(claims):
        yield from range(n * size, min(count, (n + 1) * size))


def _stop(pid: int) -> bool:
    """Kill the copy and wait for it; True (it is reaped)."""
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return True


def _fork(
    share: _Share, owners: Mapping[str, object], started: Callable[[], None]
) -> tuple[int, int, Callable[[], object]]:
    """Fork the copy that takes its `share`: its pid, the pipe's end it sends on, and what
    lets the build's signals through again (to call inside the `try` that reaps the copy).
    Ctrl-C and SIGTERM are held back while forking, so that neither can reach the copy
    before it runs inside its own `try` (which ends in `os._exit`, never in the build's
    `finally` and exit handlers), nor the build before it can reap the copy."""
    read, write = os.pipe()
    parent = os.getpid()
    before = signal.pthread_sigmask(signal.SIG_BLOCK, _BLOCKED)
    try:
        pid = os.fork()
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)
        os.close(read)
        os.close(write)
        raise
    if pid == 0:  # the copy: never returns
        try:
            os.close(read)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # the build's to handle
            _die_with(parent)
            signal.pthread_sigmask(signal.SIG_SETMASK, before)
            _copy(share, owners, started, write)
        finally:
            os._exit(1)
    os.close(write)
    return pid, read, partial(signal.pthread_sigmask, signal.SIG_SETMASK, before)


def _die_with(parent: int) -> None:
    """Have the kernel kill this copy when the build that forked it ends (SIGKILLed, say,
    where it could not kill the copy itself), and end now if it already has."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def _stopped_cache(owners: Mapping[str, object]) -> Cache | None:
    """The build's cache when it stopped (a failed write) while the build rendered its own
    share: one process would have made the copy's share without a cache, so the entries
    the copy wrote are removed and its share is made again by the build."""
    cache = owners.get("cache")
    return cache if isinstance(cache, Cache) and cache.root is None else None


def _copy(
    share: _Share, owners: Mapping[str, object], started: Callable[[], None], write: int
) -> None:
    """The forked copy's run: `then`, then the items it takes, then send what they gave
    (by their place among the items after the first) and the changes to the state, and
    exit without running anything of the build's (no `finally`, no exit handler: those
    are the build's to run). On any error it sends nothing, and the build does all of
    its share itself (the same error, in the same place)."""
    status = 1
    try:
        started()
        cache = owners.get("cache")
        if isinstance(cache, Cache):
            cache.journal = share.journal
        marks = mark(owners)
        also = share.then() if share.then is not None else None
        made: dict[int, Any] = {}
        for i in _taken(share.claims, share.size, len(share.rest)):
            made[i] = share.work(share.rest[i])
        with os.fdopen(write, "wb") as out:
            sent = ((made, also), changes_since(owners, marks))
            pickle.dump(sent, out, pickle.HIGHEST_PROTOCOL)
        status = 0
    finally:
        os._exit(status)


def _received(
    read: int, deadline: float
) -> tuple[tuple[dict[int, Any], Any], dict[str, dict[str, Any]] | None]:
    """What the copy sent through the pipe `read`, read to its end; nothing when it sent
    nothing whole (it stopped, or what it made did not pickle) or had not ended by the
    `deadline` (of `time.monotonic`)."""
    nothing: tuple[dict[int, Any], Any] = ({}, None)
    parts = []
    while True:
        ready, _, _ = select.select([read], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return nothing, None
        chunk = os.read(read, 1 << 20)
        if not chunk:
            break
        parts.append(chunk)
    try:
        (made, also), changes = pickle.loads(b"".join(parts))
    except Exception:
        return nothing, None
    return (dict(made), also), changes


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
