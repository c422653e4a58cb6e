"""What a measured command used, counting every process it started (Linux).

The generator draws charts in worker processes forked from a server process
(multiprocessing's forkserver) that the build starts. When the build exits, that
server is left to end by itself, and is reaped by init: its CPU time and its
workers' (which it reaped) never reach the rusage of the process that ran the
build. A benchmark that reads only `RUSAGE_CHILDREN` or `wait4` then counts the
build's own process alone.

:func:`become_subreaper` makes this process adopt such orphans instead
(`PR_SET_CHILD_SUBREAPER`), and :func:`reap_orphans` waits for them, so their
usage is counted: the children it had before the command ran (`children`) are
left alone. :func:`tree_cpu_seconds` reads the CPU time of a running
process and every process under it, from /proc.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36  # prctl(2)


def become_subreaper() -> None:
    """Adopt the orphaned descendants of this process's children (they would go to init)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(errno)}")


def children() -> set[int]:
    """This process's children now, exited ones not yet waited for included."""
    return set(_children_by_parent(_processes()).get(os.getpid(), []))


def reap_orphans(keep: set[int], timeout: float = 30.0) -> list[resource.struct_rusage]:
    """Wait for every child of this process but those in `keep` (its children before the
    command ran): the processes the command left running, adopted when it ended, and
    theirs as they end in turn. The usage of each, with the children it waited for.
    Raises TimeoutError when one still runs after `timeout` seconds."""
    usages: list[resource.struct_rusage] = []
    deadline = time.monotonic() + timeout
    while left := children() - keep:
        for pid in sorted(left):
            with contextlib.suppress(ChildProcessError):
                reaped, _, usage = os.wait4(pid, os.WNOHANG)
                if reaped == pid:
                    usages.append(usage)
        if time.monotonic() > deadline:
            names = ", ".join(f"{pid} ({_command(pid)})" for pid in sorted(children() - keep))
            raise TimeoutError(f"still running {timeout:.0f} s after the command ended: {names}")
        time.sleep(0.01)
    return usages


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return "gone"


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name, or None when it has gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def _processes() -> dict[int, list[str]]:
    """Every process /proc lists now, with the fields of its stat (one look at each)."""
    found: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat_fields(int(entry))) is not None:
            found[int(entry)] = fields
    return found


def _children_by_parent(processes: dict[int, list[str]]) -> dict[int, list[int]]:
    """The processes of `processes`, by the process id of their parent."""
    by_parent: dict[int, list[int]] = {}
    for pid, fields in processes.items():
        by_parent.setdefault(int(fields[1]), []).append(pid)  # field 4: ppid
    return by_parent


def _under(pid: int, processes: dict[int, list[str]]) -> list[int]:
    by_parent = _children_by_parent(processes)
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in by_parent.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def descendants(pid: int) -> list[int]:
    """The processes under `pid` (children, their children, ...), as /proc lists them now."""
    return _under(pid, _processes())


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user and system) of process `pid` and every process under it, each with
    the children it has waited for, from one look at /proc (a process gone before it is
    counted in its parent's `cutime` once its parent has waited for it)."""
    processes = _processes()
    ticks = 0
    for member in (pid, *_under(pid, processes)):
        fields = processes.get(member)
        if fields is not None:
            ticks += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")
