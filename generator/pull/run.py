"""Pull stage: the pulls run in parallel, each file replaced only when all its rows are valid.

Charters are pulled in parallel by a bounded pool (at most `jobs` queries or
connections at a time). A pull that fails leaves its file as it was and is a
located error; the pulls that succeeded are still written (or, with `dry_run`,
only reported).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath

from .. import model as m
from ..diagnostics import Diagnostics, excerpt, today_from_env
from ..formatting import plural
from ..paths import loops, real
from .config import Job, Plan, PullError, read_plan, resolve
from .report import FileChange, compare, verdict_lines
from .rows import RowErrors, result_bytes
from .sql import STOP, Engines, run_sql

Progress = Callable[[int, int, list[str]], None]


@dataclass
class PullReport:
    """What a pull did: per file its change, the verdict lines, and every problem."""

    changes: list[FileChange] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)
    diags: Diagnostics = field(default_factory=Diagnostics)
    failed: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.diags.errors


class UnknownConnection(ValueError):
    """`--connection` names no connection: a usage error (nothing would be pulled)."""


def select(plan: Plan, ids: Sequence[str], connection: str | None) -> list[Job]:
    """The jobs of the charters `ids` (all when empty) that use `connection` (any when None)."""
    return [
        job
        for job in plan.jobs
        if (not ids or job.charter_id in ids)
        and (connection is None or job.entry.connection == connection)
    ]


def pull(
    source: Path,
    ids: Sequence[str] = (),
    connection: str | None = None,
    dry_run: bool = False,
    jobs: int = 4,
    progress: Progress | None = None,
    today: date | None = None,
) -> PullReport:
    """Pull the results of the selected charters into their files.

    `today` is the build date no pulled row may be dated after (by default
    `diagnostics.today_from_env`). Runs in the source folder, so that DuckDB reads
    relative paths (read_csv('…')) from there and not from wherever the command was
    started.
    """
    source = real(source)
    plan = read_plan(source, today_from_env(today))
    with contextlib.chdir(source):
        return _pull(plan, ids, connection, dry_run, jobs, progress)


def _pull(
    plan: Plan,
    ids: Sequence[str],
    connection: str | None,
    dry_run: bool,
    jobs: int,
    progress: Progress | None,
) -> PullReport:
    source = plan.source
    report = PullReport(diags=plan.diags)
    if any(d.ref.path == "site.yaml" for d in plan.diags.errors):
        return report  # without valid connections nothing can be pulled
    names = [m.DEFAULT_CONNECTION, *sorted(plan.site.connections)]
    if connection is not None and connection not in names:
        raise UnknownConnection(
            f"unknown connection {connection!r}; declared in site.yaml `connections`:"
            f" {', '.join(names)}"
        )
    selected = select(plan, ids, connection)
    results = _run_all(plan, selected, max(1, jobs), report, progress)
    _check_together(plan, selected, results, report.diags)
    files: dict[str, bytes] = {}
    olds: dict[str, bytes | None] = {}
    for job in selected:
        data = results.get(job.rel)
        if data is None:
            report.failed.append(job.rel)
            continue
        path = job.folder / job.entry.into
        old = path.read_bytes() if path.is_file() else None
        change = compare(job.rel, old, data)
        report.changes.append(change)
        if not change.unchanged:
            files[job.rel], olds[job.rel] = data, old
    if files:
        report.verdicts = _verdicts(source, files, plan.today)
    if not dry_run:
        for job in selected:
            if job.rel in files:
                try:
                    _write(job, files[job.rel])
                except OSError as exc:  # the disk full, the folder read-only
                    message = f"{excerpt(job.entry.into)} could not be written ({exc.strerror})"
                    report.diags.error(job.ref(("into",)), job.field(("into",)), message, "write")
                    report.changes = [c for c in report.changes if c.rel != job.rel]
                    report.failed.append(job.rel)
                    continue
                report.written.append(job.rel)
        if len(report.written) < len(files):  # what was written did less: say what
            done = {rel: files[rel] for rel in report.written}
            before = {rel: olds[rel] for rel in report.written}
            report.verdicts = _verdicts(source, done, plan.today, before) if done else []
    return report


def _verdicts(
    source: Path,
    files: dict[str, bytes],
    today: date,
    before: dict[str, bytes | None] | None = None,
) -> list[str]:
    """`verdict_lines`, or a line saying it could not be made: a copy of the charters it
    compares that failed (a full disk) stopped the valid files from being written."""
    try:
        return verdict_lines(source, files, today, before)
    except OSError as exc:
        return [
            f"not worked out: the copy of the charters it compares failed ({_reason(exc)});"
            " the files are pulled all the same, and `charters diff` says what they do"
        ]


def _reason(exc: OSError) -> str:
    """Why a copy failed, without its paths: copytree gathers each file's error as text."""
    if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list):
        why = str(exc.args[0][0][-1]) if exc.args[0] else ""
        found = re.match(r"\[Errno \d+\] ([^:]+)", why)
        return found.group(1) if found else "a file could not be copied"
    return exc.strerror or type(exc).__name__


def _check_together(
    plan: Plan, jobs: list[Job], results: dict[str, bytes], diags: Diagnostics
) -> None:
    """Each charter's pulled files read together, as the build will read them: two pulls
    of one charter that each pass alone may write the same date, metric and variant (the
    pull passed and the next build failed). A file in error there is not written."""
    from ..results import load_results

    by_folder: dict[Path, list[Job]] = {}
    for job in jobs:
        by_folder.setdefault(job.folder, []).append(job)
    for folder, selected in by_folder.items():
        # Each was checked without its siblings' old rows: with one of them failed, its
        # old file stays, and is read from the disk here.
        together = [job for job in selected if job.rel in results]
        if len(selected) < 2 or not together:
            continue
        pending = {job.rel: results[job.rel].decode() for job in together}
        found = Diagnostics()
        first = together[0]
        load_results(
            plan.source, folder, first.doc, list(first.metrics), found, plan.today, pending
        )
        for job in together:
            problems = [d.message for d in found.errors if d.ref.path == job.rel]
            if problems:
                where = ("sql",) if job.entry.sql is not None else ("mlflow",)
                message = f"with the other pulls of this charter: {problems[0]}"
                if len(problems) > 1:
                    message += f" (and {plural(len(problems) - 1, 'more problem')})"
                diags.error(job.ref(where), job.field(where), message, "invalid-row")
                del results[job.rel]


def _run_all(
    plan: Plan, jobs: list[Job], workers: int, report: PullReport, progress: Progress | None
) -> dict[str, bytes]:
    engines = Engines(plan.source)
    started: dict[str, float] = {}
    lock = threading.Lock()
    # The files this run replaces beside each: a pulled file is checked without their old
    # rows (the new ones are checked together afterwards, `_check_together`).
    siblings = {
        job.rel: tuple(o.rel for o in jobs if o.folder == job.folder and o.rel != job.rel)
        for job in jobs
    }

    def one(job: Job) -> bytes:
        with lock:
            started[job.rel] = time.monotonic()
        try:
            return _run_job(plan, job, engines, siblings[job.rel])
        finally:
            with lock:
                started.pop(job.rel, None)

    out: dict[str, bytes] = {}
    STOP.clear()
    # The drivers' libraries are imported here, once, before the threads start: two
    # threads importing SQLAlchemy at once each found the other's module half made
    # ("cannot import name … from partially initialized module").
    if any(job.entry.sql is not None for job in jobs):
        import sqlalchemy  # noqa: F401
    if any(job.entry.mlflow is not None for job in jobs):
        with contextlib.suppress(ImportError):  # reported by the job that needs it
            import mlflow.tracking  # noqa: F401
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="charters-pull") as pool:
            futures: dict[Future[bytes], Job] = {pool.submit(one, job): job for job in jobs}
            try:
                pending = set(futures)
                while pending:
                    done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                    for future in done:
                        _collect(futures[future], future, out, report.diags)
                    if progress is not None:
                        now = time.monotonic()
                        with lock:
                            running = [
                                f"{rel} ({now - t:.0f} s)" for rel, t in sorted(started.items())
                            ]
                        progress(len(jobs) - len(pending), len(jobs), running)
            except KeyboardInterrupt:
                # The running queries are cancelled (on the server too) and the waiting
                # ones never start, before the pool waits for its threads.
                STOP.set()
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    finally:
        engines.close()
    return out


# The problems of one pull's rows printed: a query wrong in every row printed one line a
# row (40,000 of them), which hid every other pull's problems.
SHOWN_ROW_PROBLEMS = 100


def _collect(job: Job, future: Future[bytes], out: dict[str, bytes], diags: Diagnostics) -> None:
    try:
        out[job.rel] = future.result()
    except PullError as exc:
        diags.error(job.ref(exc.where), job.field(exc.where), exc.message, exc.code)
    except RowErrors as exc:
        where = ("sql",) if job.entry.sql is not None else ("mlflow",)
        for row, column, message in exc.problems[:SHOWN_ROW_PROBLEMS]:
            at = f"row {row}, column {column}: " if column else f"row {row}: " if row else ""
            diags.error(job.ref(where), job.field(where), f"{at}{message}", "invalid-row")
        if len(exc.problems) > SHOWN_ROW_PROBLEMS:
            left = len(exc.problems) - SHOWN_ROW_PROBLEMS
            message = (  # "rows …" is printed after every "row N" (diagnostics sort)
                f"rows not shown: {left:,} more problem{'s' if left > 1 else ''} in this"
                f" pull's rows ({len(exc.problems):,} in all; the first"
                f" {SHOWN_ROW_PROBLEMS} are above)"
            )
            diags.error(job.ref(where), job.field(where), message, "invalid-row")


def _run_job(plan: Plan, job: Job, engines: Engines, replaced: Sequence[str] = ()) -> bytes:
    if loops(job.folder / job.entry.into):
        message = "is a symbolic link that loops (it leads back to itself); nothing is written"
        raise PullError(f"{excerpt(job.entry.into)} {message}", ("into",), "link-loop")
    target = real(job.folder / job.entry.into)
    if not target.is_relative_to(real(job.folder)):
        raise PullError(
            f"{excerpt(job.entry.into)} leads out of the charter's folder through a link",
            ("into",),
            "outside-folder",
        )
    problem = _unusable(job.folder, job.entry.into)
    if problem is not None:
        raise PullError(f"{excerpt(job.entry.into)} cannot be a file ({problem})", ("into",))
    conn = resolve(plan, job)  # of the pull's kind, or a PullError
    if job.entry.mlflow is not None:
        from .mlflow_runs import run_mlflow

        table = run_mlflow(job, conn)
    else:
        table = run_sql(job, conn, engines)
    return result_bytes(job, table, plan.source, plan.today, replaced)


def _unusable(folder: Path, into: str) -> str | None:
    """Why the system would refuse `into` as a file under `folder`, or None.

    Asked before the query runs, so that a name too long, or a file where a folder
    belongs, is reported at the entry rather than met halfway through writing.
    """
    try:
        longest = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # not POSIX, or the system cannot say
        longest = 255
    if any(len(part.encode()) > longest for part in PurePosixPath(into).parts):
        return os.strerror(errno.ENAMETOOLONG)
    try:
        is_folder = stat.S_ISDIR(os.stat(folder / into).st_mode)
    except FileNotFoundError:
        return None  # a new file (and folders) to make
    except OSError as exc:  # the whole path too long, a file where a folder belongs
        return exc.strerror
    return os.strerror(errno.EISDIR) if is_folder else None


# The mode a new file gets (0o666 less the umask), read once: setting the umask to read it
# is not safe while the pulls' threads write.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def _write(job: Job, data: bytes) -> None:
    """Replace the file in one rename, so a reader sees the old bytes or the new ones.

    The bytes go to a new file of a random name made beside it (`mkstemp`: created, never
    opened if there, so never through a link committed at a name a process id predicts),
    with a new file's usual mode; a short name, since the target's name plus a suffix
    could pass the system's limit."""
    target = job.folder / job.entry.into
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".charters-pull-", suffix=".tmp", dir=target.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            if hasattr(os, "fchmod"):  # not on Windows before Python 3.13
                os.fchmod(out.fileno(), 0o666 & ~_UMASK)
            out.write(data)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def summary(report: PullReport, dry_run: bool) -> list[str]:
    """The lines printed after a pull: per file, verdict effects, then one summary line."""
    lines = [change.line(dry_run) for change in report.changes]
    if report.verdicts:
        lines.append("What this does to the charters (as `charters diff` reports it):")
        lines += [f"  {line}" for line in report.verdicts]
    changed = sum(1 for c in report.changes if not c.unchanged)
    total = len(report.changes) + len(report.failed)
    text = f"pulled {plural(total, 'file')}: {changed} changed"
    text += f", {len(report.changes) - changed} unchanged"
    if report.failed:
        text += f", {len(report.failed)} failed (left as they were)"
    if dry_run and changed:
        text += "; dry run: nothing was written"
    return [*lines, text]
