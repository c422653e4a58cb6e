"""Pull stage: MLflow pulls, finished runs of one experiment become result rows.

A row per run and metric: the run's start date (UTC), the charter's metric id,
the run's value of the MLflow metric key, the variant from a run tag if asked,
and the run id as the note, so every number leads back to its run. MLflow is
imported only here, only when an MLflow connection is used.
"""

from __future__ import annotations

import json
import re
import socket
import urllib.request
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ..diagnostics import excerpt
from .config import Job, PullError, Resolved, scrub
from .sql import Table, with_timeout

PAGE = 1000
FINISHED = "attributes.status = 'FINISHED'"
COLUMNS = ["date", "metric", "variant", "value", "note"]


def run_mlflow(job: Job, conn: Resolved) -> Table:
    """The rows of the job's MLflow spec, read within its timeout."""
    try:
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise PullError(
            f"connection {conn.name!r} is an MLflow tracking store, and MLflow is not installed;"
            " install it with: pip install 'metric-charters[mlflow]'",
            ("connection",),
            "missing-driver",
        ) from None
    spec = job.entry.mlflow
    assert spec is not None
    custom = spec.runs not in ("all", "latest-per-day")
    _store_there(conn)

    def work() -> Table:
        _answers(conn, min(job.entry.timeout, PROBE_SECONDS))
        client = MlflowClient(tracking_uri=conn.target)
        experiment = client.get_experiment_by_name(spec.experiment)
        if experiment is None:
            names = sorted(e.name for e in client.search_experiments(max_results=PAGE))
            raise PullError(
                f"no MLflow experiment named {excerpt(spec.experiment)} at {conn.shown}"
                f" (experiments: {', '.join(names) or 'none'})",
                ("mlflow", "experiment"),
                "no-experiment",
            )
        query = f"{FINISHED} and {spec.runs}" if custom else FINISHED
        runs = _search(client, experiment.experiment_id, query)
        if runs:
            _logged(runs, spec)
        if spec.runs == "latest-per-day":
            rows = _latest_per_day(runs, spec)
        else:
            rows = [row for run in runs for row in _rows(run, spec, spec.metrics)]
        if spec.variant is None:  # no variant column at all, as a typed file would have
            return Table([c for c in COLUMNS if c != "variant"], [r[:2] + r[3:] for r in rows])
        return Table(COLUMNS, rows)

    try:
        return with_timeout(work, job.entry.timeout, lambda: None)
    except PullError:
        raise
    except TimeoutError:
        raise PullError(
            f"reading MLflow at {conn.shown} took longer than the timeout of"
            f" {job.entry.timeout:g} s",
            ("timeout",),
            "timeout",
        ) from None
    except MlflowException as exc:
        invalid = getattr(exc, "error_code", "") == "INVALID_PARAMETER_VALUE"
        where = ("mlflow", "runs") if custom and invalid else ("connection",)
        first = str(exc.message if hasattr(exc, "message") else exc).splitlines()[0]
        raise PullError(
            scrub(f"MLflow at {conn.shown} refused the request: {first}", conn),
            where,
            "query-failed",
        ) from None
    except Exception as exc:  # a server that is down, a store that cannot be read
        raise PullError(
            scrub(f"cannot read MLflow at {conn.shown}: {type(exc).__name__}: {exc}", conn),
            ("connection",),
            "query-failed",
        ) from None


def _search(client: Any, experiment_id: str, query: str) -> list[Any]:
    runs: list[Any] = []
    token = None
    while True:
        page = client.search_runs(
            [experiment_id], filter_string=query, max_results=PAGE, page_token=token
        )
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def _day(run: Any) -> date:
    return datetime.fromtimestamp(run.info.start_time / 1000, tz=UTC).date()


def _latest_per_day(runs: list[Any], spec: Any) -> list[tuple[Any, ...]]:
    """The rows of the run started last on each day, per variant and metric, among the runs
    that logged the metric's key: a later run that day that did not (an evaluation of
    other metrics) no longer drops the day's value."""
    latest: dict[tuple[date, str, str], Any] = {}
    for run in runs:
        variant = run.data.tags.get(spec.variant, "") if spec.variant else ""
        for metric_id, key in spec.metrics.items():
            if key not in run.data.metrics:
                continue
            at = (_day(run), variant, metric_id)
            seen = latest.get(at)
            if seen is None or _started(run) > _started(seen):
                latest[at] = run
    return [row for (_, _, mid), run in latest.items() for row in _rows(run, spec, [mid])]


def _started(run: Any) -> tuple[int, str]:
    """A run's place among a day's runs: its start time, then its id (runs started at the
    same millisecond: the same one is taken each time)."""
    return (run.info.start_time, run.info.run_id)


# Tracking URIs MLflow reads without a scheme that are no folder.
_NOT_PATHS = frozenset({"databricks", "databricks-uc", "uc"})


# How long a connection to a tracking server or its database is waited for, at most.
PROBE_SECONDS = 10.0
# The database servers an MLflow store may be kept in (with or without `+driver`).
_DATABASES = ("postgresql", "mysql", "mssql")


def _answers(conn: Resolved, seconds: float) -> None:
    """A PullError when the tracking server, or the database server of a store kept in
    one, does not take a connection. MLflow retries both for minutes (ten engines over
    some 100 s, printing each failure; an HTTP request seven times over some 4 minutes),
    as it would a server that is busy for a moment; one that refuses is down."""
    parts = urlsplit(conn.target)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        host, port = parts.hostname, parts.port or (443 if scheme == "https" else 80)
        if not host or (urllib.request.getproxies() and not urllib.request.proxy_bypass(host)):
            return  # through a proxy, the proxy is what answers
        try:
            socket.create_connection((host, port), timeout=seconds).close()
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise PullError(
                scrub(f"cannot connect to {conn.name!r} ({conn.shown}): {reason}", conn),
                ("connection",),
                "bad-connection",
            ) from None
    elif scheme.partition("+")[0] in _DATABASES:
        _database_answers(conn, seconds)


def _database_answers(conn: Resolved, seconds: float) -> None:
    import sqlalchemy as sa

    from .sql import connect_message

    args = {"connect_timeout": max(1, round(seconds))} if conn.target.startswith("postgres") else {}
    try:
        engine = sa.create_engine(conn.target, connect_args=args, poolclass=sa.pool.NullPool)
        with engine.connect():
            pass
    except sa.exc.SQLAlchemyError as exc:
        raise PullError(connect_message(conn, exc), ("connection",), "bad-connection") from None


def _store_there(conn: Resolved) -> None:
    """A PullError when the connection's local store (a SQLite file, a file store's
    folder) is not there: MLflow would make it (`mlruns/0/meta.yaml` and all), even on a
    dry run, and a typo in the path then reads as no experiment. A path is relative to
    the folder holding site.yaml."""
    local = urlsplit(conn.target)
    if conn.target.startswith("sqlite:///"):
        what, path = "file", Path(conn.target.partition("?")[0].removeprefix("sqlite:///"))
        there = path.is_file()
    elif local.scheme == "file" or (len(local.scheme) <= 1 and conn.target not in _NOT_PATHS):
        # `file:mlruns`, `file:///…/my%20runs` as MLflow reads them; `mlruns`, `C:/mlruns`
        folder = unquote(local.path) if local.scheme == "file" else conn.target
        what, there = "folder", Path(folder).is_dir()
    else:
        return
    if not there:
        raise PullError(
            f"connection {conn.name!r} ({conn.shown}) names an MLflow store {what} that is"
            " not there (a path is relative to the folder holding site.yaml)",
            ("connection",),
            "no-file",
        )


def _logged(runs: list[Any], spec: Any) -> None:
    """A PullError when no run read logged one of the spec's metric keys, or has its
    variant tag, or only some runs have it: a typo read as "no rows", left a metric out
    beside others, or wrote every run as a production row (the arms merged into one
    series)."""
    logged = {key for run in runs for key in run.data.metrics}
    unknown = [key for key in spec.metrics.values() if key not in logged]
    if unknown:
        have = sorted(logged)
        shown = _first(have, 20)
        raise PullError(
            f"no run of {excerpt(spec.experiment)} this pull reads logged the MLflow metric"
            f" {', '.join(excerpt(k) for k in unknown)} (their metrics: {shown or 'none'})",
            ("mlflow", "metrics"),
            "no-metric",
        )
    tagged = {key for run in runs for key in run.data.tags}
    if spec.variant is not None and spec.variant not in tagged:
        own = sorted(key for key in tagged if not key.startswith("mlflow."))  # not MLflow's
        raise PullError(
            f"no run of {excerpt(spec.experiment)} this pull reads has the tag"
            f" {excerpt(spec.variant)} its variant is read from (their tags:"
            f" {_first(own, 20) or 'none but MLflow’s own, mlflow.*'})",
            ("mlflow", "variant"),
            "no-tag",
        )
    if spec.variant is not None:
        _all_tagged(runs, spec)


def _all_tagged(runs: list[Any], spec: Any) -> None:
    """A PullError when some runs have a variant tag and others have none, or an empty
    one: such a run would be written as a production row beside the arms, a series of
    its own that no one asked for (an exploratory run in the experiment, say)."""
    bare = sorted(run.info.run_id for run in runs if not run.data.tags.get(spec.variant))
    if not bare:
        return
    shown = _first(bare, 5)
    raise PullError(
        f"{len(bare)} of the {len(runs)} runs of {excerpt(spec.experiment)} this pull reads"
        f" {'has' if len(bare) == 1 else 'have'} no tag {excerpt(spec.variant)}, or an"
        f" empty one (MLflow run{'' if len(bare) == 1 else 's'} {shown}); such a run would"
        f" be written as a production row beside the arms: tag it{_tagged_filter(spec)}",
        ("mlflow", "variant"),
        "untagged-run",
    )


def _tagged_filter(spec: Any) -> str:
    """How to leave the untagged runs out: an MLflow filter, as a YAML line to paste
    (a name that is no identifier quoted as MLflow quotes it; none for a name holding
    both of its quotes)."""
    name = spec.variant
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        if '"' not in name:
            name = f'"{name}"'
        elif "`" not in name:
            name = f"`{name}`"
        else:
            return ""
    line = json.dumps(f"tags.{name} != ''", ensure_ascii=False)  # a YAML scalar too
    return (
        f", or select the tagged runs with runs: {line} (a filter reads every run it"
        " selects, not the latest of each day)"
    )


def _first(names: list[str], most: int) -> str:
    """The first `most` of `names`, then how many more: `a, b, … (3 more)`."""
    more = f", … ({len(names) - most} more)" if len(names) > most else ""
    return ", ".join(names[:most]) + more


def _rows(run: Any, spec: Any, metric_ids: Iterable[str]) -> list[tuple[Any, ...]]:
    """The run's row of each of `metric_ids` whose MLflow key it logged."""
    variant = run.data.tags.get(spec.variant) if spec.variant else None
    rows = []
    for metric_id in metric_ids:
        key = spec.metrics[metric_id]
        if key in run.data.metrics:
            note = f"MLflow run {run.info.run_id}"
            rows.append((_day(run), metric_id, variant, run.data.metrics[key], note))
    return rows
