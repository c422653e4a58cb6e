"""Pull stage: SQL pulls, one query through SQLAlchemy, DuckDB embedded by default.

The query runs where the data is (DuckDB in process, PostgreSQL, a warehouse
through its SQLAlchemy dialect); only its rows come back. Parameters are bound
by the driver (`:since`), never formatted into the text.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import model as m
from ..diagnostics import excerpt
from ..load import SECRET_PARAMS, sql_leaves_folder, written_password
from ..paths import real
from ..readers import MAX_ROWS
from .config import Job, PullError, Resolved, hide, scrub, written_here

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

# The extra of this package that installs a dialect's driver, or the package to install.
EXTRAS = {"postgresql": "postgres"}
PACKAGES = {
    "snowflake": "snowflake-sqlalchemy",
    "bigquery": "sqlalchemy-bigquery",
    "trino": "trino[sqlalchemy]",
    "databricks": "databricks-sqlalchemy",
    "redshift": "sqlalchemy-redshift",
    "mysql": "pymysql",
    "mssql": "pyodbc",
    "oracle": "oracledb",
    "clickhouse": "clickhouse-sqlalchemy",
}
# The package that provides a driver module a URL names (`mssql+pymssql://`): it wins
# over the dialect's usual driver above.
MODULES = {
    "pymssql": "pymssql",
    "pyodbc": "pyodbc",
    "MySQLdb": "mysqlclient",
    "pymysql": "pymysql",
    "mysql": "mysql-connector-python",
    "cx_Oracle": "cx_Oracle",
    "oracledb": "oracledb",
    "psycopg2": "psycopg2-binary",
    "pg8000": "pg8000",
    "asyncpg": "asyncpg",
}
_CANCEL = ("cancel_safe", "cancel", "interrupt")


@dataclass(frozen=True)
class Table:
    """The columns and rows a source returned."""

    columns: list[str]
    rows: list[tuple[Any, ...]]


def check_url(name: str, raw: str, target: str, where: str) -> tuple[str, tuple[str, ...]]:
    """The URL as it may be printed, and its secrets (its password, and any query parameter
    of `SECRET_PARAMS`); refuse a secret written in the file."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(target)
    except (ArgumentError, ValueError):  # ValueError: a port that is no number
        raise PullError(
            f"connection {name!r} is not a SQLAlchemy URL ({where}); expected"
            " dialect+driver://user@host/database, e.g. postgresql+psycopg://…",
            ("connection",),
            "bad-connection",
        ) from None
    if written_password(raw):  # the rule `check` applies (load.py)
        raise PullError(written_here(name, "url", where), ("connection",), "secret-in-file")
    params = _secret_params(url)
    secrets = [url.password if isinstance(url.password, str) else "", *_values(params)]
    shown = url.set(query={**url.query, **dict.fromkeys(params, "***")})
    text = hide(shown.render_as_string(hide_password=True))
    if "@" in f"{url.host or ''}{url.port or ''}":
        # SQLAlchemy ends the password at its first `@`: the rest of it was read as the
        # host, and printed in every message about the connection.
        raise PullError(
            f"connection {name!r} ({text}) has an '@' in its password or user name that is not"
            " escaped (the URL's host would start after it); write it %40 in the URL:"
            " pass@word as pass%40word",
            ("connection",),
            "bad-connection",
        )
    return text, tuple(s for s in secrets if s)


def _secret_params(url: Any) -> dict[str, tuple[str, ...]]:
    """The query parameters of `url` that hold a secret, each with every value it is given
    (`?token=a&token=b`: both are secrets, and both are masked)."""
    found: dict[str, tuple[str, ...]] = {}
    for key, value in url.query.items():
        if key.lower() in SECRET_PARAMS:
            found[key] = tuple(map(str, value)) if isinstance(value, tuple) else (str(value),)
    return found


def _values(params: dict[str, tuple[str, ...]]) -> list[str]:
    return [value for values in params.values() for value in values]


def sql_text(job: Job) -> str:
    """The query: the named .sql file in the charter's folder, or the inline SQL."""
    sql = job.entry.sql or ""
    name = m.sql_file_name(sql)
    if name is None:
        return sql  # the query itself
    outside = sql_leaves_folder(job.folder, name)  # the rule `check` applies (load.py)
    if outside is not None:
        raise PullError(outside, ("sql",), "outside-folder")
    try:
        # Opened without blocking and checked to be a file: a named pipe would never end.
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
        with os.fdopen(os.open(job.folder / name, flags), "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                message = f"{excerpt(name)} is not a regular file; it is not read"
                raise PullError(message, ("sql",), "no-file")
            return handle.read().decode("utf-8")
    except FileNotFoundError:
        message = f"no file {excerpt(name)} in the charter's folder"
        raise PullError(message, ("sql",), "no-file") from None
    except OSError as exc:  # the error's own text would print the absolute path
        message = f"cannot read {excerpt(name)} ({exc.strerror})"
        raise PullError(message, ("sql",), "no-file") from None
    except UnicodeDecodeError as exc:
        raise PullError(f"cannot read {excerpt(name)}: {exc}", ("sql",), "no-file") from None


class Engines:
    """One SQLAlchemy engine per connection, made on first use and shared by the pulls."""

    def __init__(self, source: Path) -> None:
        self.source = real(source)
        self.lock = threading.Lock()
        self.engines: dict[str, Engine] = {}

    def get(self, conn: Resolved) -> Engine:
        with self.lock:
            if conn.name not in self.engines:
                self.engines[conn.name] = _engine(conn, self.source)
            return self.engines[conn.name]

    def close(self) -> None:
        for engine in self.engines.values():
            engine.dispose()


def _engine(conn: Resolved, source: Path) -> Engine:
    import sqlalchemy as sa
    from sqlalchemy.exc import NoSuchModuleError

    url = sa.make_url(conn.target)
    backend = url.get_backend_name()
    local = backend in ("duckdb", "sqlite") and url.database not in (None, "", ":memory:")
    # A file path, not MotherDuck's `md:…` nor a SQLite `file:` URI the driver reads.
    local = local and not str(url.database).startswith(("md:", "motherduck:", "file:"))
    if local and not Path(str(url.database)).is_absolute():  # relative to site.yaml
        url = url.set(database=str(source / str(url.database)))
    if local and not Path(str(url.database)).is_file():
        # The driver would make an empty database there (even on a dry run): a typo in
        # the path then reads as a query that returns nothing.
        raise PullError(
            f"connection {conn.name!r} ({conn.shown}) names a database file that is not there",
            ("connection",),
            "no-file",
        )
    # A DuckDB file is opened read-only: it has no users to make one read-only.
    args: dict[str, Any] = {"read_only": True} if local and backend == "duckdb" else {}
    if backend == "postgresql" and url.get_driver_name() == "psycopg":
        # Every statement prepared, so sent through the extended protocol, where the
        # server refuses a query of several statements (`ONE_STATEMENT`): psycopg sent one
        # without parameters as a simple query, whose rows were the first statement's, and
        # whose `COMMIT` ended the read-only transaction before the next statement wrote.
        args["prepare_threshold"] = 0
    try:
        return sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args=args)
    except NoSuchModuleError:
        raise PullError(
            _no_driver(conn, backend, None), ("connection",), "missing-driver"
        ) from None
    except ImportError as exc:
        raise PullError(
            _no_driver(conn, backend, exc.name), ("connection",), "missing-driver"
        ) from None


def _no_driver(conn: Resolved, backend: str, module: str | None) -> str:
    what = f"the driver module {module!r}" if module else f"the SQLAlchemy dialect {backend!r}"
    text = f"connection {conn.name!r} ({conn.shown}) needs {what}, which is not installed; "
    if backend in EXTRAS:
        extra = EXTRAS[backend]
        text += f"install it with: pip install 'metric-charters[{extra}]'"
        if module not in (None, "psycopg"):
            text += " (it provides psycopg: use a postgresql+psycopg:// URL)"
        return text
    top = module.split(".")[0] if module else ""
    package = MODULES.get(top) or PACKAGES.get(backend)
    if package is None:
        what = (
            f"the package that provides {top!r}" if top else f"the SQLAlchemy dialect for {backend}"
        )
        return text + f"install {what} beside metric-charters"
    shown = f"'{package}'" if "[" in package else package
    return text + f"install {package} beside metric-charters (pip install {shown})"


# Rows fetched at a time: an answer past the row limit is refused as it arrives.
FETCH_ROWS = 10_000
# What each session runs before the query. DuckDB reads time zones as the machine's TZ
# says (a TIMESTAMPTZ cast to DATE gave another day on a laptop than in CI): UTC, as
# MLflow's dates. PostgreSQL and SQLite sessions are read-only (a query of several
# statements wrote a table), and SQLite's refuse ATTACH (`_no_attach`); a read-only user
# is still the rule (docs/pull.md).
SESSION = {
    "duckdb": ("SET TimeZone = 'UTC'",),
    "postgresql": ("SET default_transaction_read_only = on", "SET TRANSACTION READ ONLY"),
    "sqlite": ("PRAGMA query_only = ON",),
}


def _check_params(job: Job, clause: Any) -> None:
    """Refuse a parameter the query does not bind, and one it binds that `params` lacks."""
    used = set(clause.compile().params)
    unused = sorted(set(job.entry.params) - used)
    if unused:
        missing = sorted(used - set(job.entry.params))
        close = difflib.get_close_matches(unused[0], missing, n=1, cutoff=0.6)
        hint = (
            f"; did you mean {close[0]!r}? The query's :{close[0]} is given nothing"
            if close
            else ""
        )
        raise PullError(
            f"parameter {unused[0]!r} is not used by the query (it binds:"
            f" {', '.join(':' + p for p in sorted(used)) or 'nothing'}){hint}",
            ("params", unused[0]),
            "unused-param",
        )
    missing = sorted(used - set(job.entry.params))
    if missing:
        raise PullError(
            f"the query binds :{missing[0]}, which `params` does not give",
            ("params",) if job.entry.params else ("sql",),
            "missing-param",
        )


def run_sql(job: Job, conn: Resolved, engines: Engines) -> Table:
    """Run the job's query on `conn` within its timeout; every failure is a PullError."""
    import sqlalchemy as sa

    clause = sa.text(sql_text(job))
    _check_params(job, clause)
    engine = engines.get(conn)
    search = str(engines.source) if engine.dialect.name == "duckdb" else None
    state: dict[str, Any] = {}

    def connect() -> Any:
        try:
            return engine.connect()
        except sa.exc.SQLAlchemyError as exc:  # the server, not the query: said at the connection
            raise PullError(connect_message(conn, exc), ("connection",), "bad-connection") from None

    def work() -> Table:
        with connect() as connection:
            state["raw"] = connection.connection.driver_connection
            _prepare(connection, engine.dialect.name, search)
            result = connection.execute(clause, dict(job.entry.params))
            return _read(result, engine.dialect.name)

    try:
        return with_timeout(work, job.entry.timeout, lambda: _cancel(state.get("raw")))
    except TimeoutError:
        raise PullError(
            f"the query on {conn.name!r} ran longer than its timeout of {job.entry.timeout:g} s"
            " and was cancelled; make it cheaper or raise `timeout`",
            ("timeout",),
            "timeout",
        ) from None
    except sa.exc.SQLAlchemyError as exc:
        if ONE_STATEMENT in str(getattr(exc, "orig", exc)):
            raise PullError(_several(conn), ("sql",), "query-failed") from None
        raise PullError(_sql_message(conn, exc), ("sql",), "query-failed") from None
    except (ValueError, OSError) as exc:  # a driver refusing its URL itself (a NUL in a path)
        message = scrub(f"cannot connect to {conn.name!r} ({conn.shown}): {exc}", conn)
        raise PullError(message, ("connection",), "query-failed") from None


def _read(result: Any, dialect: str) -> Table:
    """The rows of a query's result, refused past the row limit as they arrive."""
    if not result.returns_rows:  # SQLAlchemy's message says nothing of the query
        raise PullError(
            "the query returns no result set: its last statement is no SELECT (it is"
            " a comment only, or a statement such as SET); end it with the SELECT"
            " whose rows are pulled",
            ("sql",),
            "no-rows",
        )
    described = result.cursor.description if result.cursor is not None else None
    rows: list[tuple[Any, ...]] = []
    while batch := result.fetchmany(FETCH_ROWS):
        rows += map(tuple, batch)
        if len(rows) > MAX_ROWS:  # not the whole answer in memory to refuse it
            raise PullError(
                f"the query returns more than {MAX_ROWS:,} rows, the limit of a"
                " result file; aggregate in the query or split it",
                ("sql",),
                "limit",
            )
    if dialect == "duckdb":
        rows = _float32_columns(described, rows)
    return Table(list(result.keys()), rows)


# PostgreSQL's refusal of a prepared query of several statements.
ONE_STATEMENT = "cannot insert multiple commands into a prepared statement"


def _several(conn: Resolved) -> str:
    return (
        f"the query on {conn.name!r} ({conn.shown}) has several statements; on PostgreSQL"
        " a pull runs one (the server refuses more, so that the rows are the one SELECT's"
        " and the session stays read-only): leave only the SELECT, and set the search path"
        " in the connection URL instead, e.g. ?options=-csearch_path%3Dmarts"
    )


def _prepare(connection: Any, dialect: str, search: str | None) -> None:
    """A pull's session before its query: `SESSION`'s statements, no ATTACH on SQLite
    (`_no_attach`), and DuckDB's search path (`search`: relative paths in read_csv(...)
    are under the source)."""
    for statement in SESSION.get(dialect, ()):
        connection.exec_driver_sql(statement)
    if dialect == "sqlite":
        connection.connection.driver_connection.set_authorizer(_no_attach)
    if search is not None:
        connection.exec_driver_sql(f"SET file_search_path = '{search.replace(chr(39), '')}'")


def _no_attach(action: int, *_: Any) -> int:
    """SQLite's authorizer of a pull's session: no ATTACH, which creates the file it names
    (an empty database, left behind by a query `PRAGMA query_only` then refuses)."""
    import sqlite3

    return sqlite3.SQLITE_DENY if action == sqlite3.SQLITE_ATTACH else sqlite3.SQLITE_OK


# DuckDB's names of its 4-byte float type (REAL, FLOAT4 and FLOAT are all the one type).
FLOAT32_TYPES = frozenset({"FLOAT", "REAL", "FLOAT4"})


def _float32_columns(description: Any, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """`rows` with each value of a column DuckDB describes as a 4-byte float (`REAL`) read
    as the shortest decimal that is the same float32: its driver widens REAL 0.1 to the
    double 0.10000000149011612, written so into the file, where PostgreSQL's real 0.1
    is written 0.1."""
    columns = [i for i, d in enumerate(description or ()) if str(d[1]).upper() in FLOAT32_TYPES]
    if not columns or not rows:
        return rows
    table = [list(row) for row in rows]
    for i in columns:
        for row, value in zip(table, shortest_float32([row[i] for row in table]), strict=True):
            row[i] = value
    return [tuple(row) for row in table]


def shortest_float32(values: list[Any]) -> list[Any]:
    """Each finite float that is a float32's value (widened) as the float of the shortest
    decimal that reads back as the same float32, as numpy writes a float32 (and PostgreSQL
    a `real`); anything else as it is. numpy converts the whole column at once."""
    import numpy as np

    at = [
        i
        for i, v in enumerate(values)
        if isinstance(v, float) and math.isfinite(v) and abs(v) <= FLOAT32_MAX
    ]
    if not at:
        return values
    widened = np.array([values[i] for i in at], dtype=np.float64)
    narrow = widened.astype(np.float32)
    out = list(values)
    same = narrow.astype(np.float64) == widened  # a float32's value, not a double's
    for i, text, keep in zip(at, narrow.astype(str).tolist(), same.tolist(), strict=True):
        if keep:
            out[i] = float(text)
    return out


FLOAT32_MAX = 3.4028234663852886e38


def connect_message(conn: Resolved, exc: Exception) -> str:
    """The message of a connection that failed, its driver's words on one line."""
    return _sql_message(conn, exc, "cannot connect to")


def _sql_message(conn: Resolved, exc: Exception, what: str = "the query failed on") -> str:
    orig = getattr(exc, "orig", None)
    detail = str(orig if orig is not None else exc).split("\n[SQL:")[0]
    detail = re.sub(r"\(Background on this error at: [^)]*\)", "", detail).strip()
    # Each line's runs of spaces and tabs as one space: PostgreSQL's "\tIs the server
    # running…" was shown as a literal `\t`.
    lines = [" ".join(line.split()) for line in detail.splitlines() if line.strip()][:4]
    return scrub(f"{what} {conn.name!r} ({conn.shown}): " + " ".join(lines), conn)


def _cancel(raw: Any) -> None:
    for name in _CANCEL:
        method = getattr(raw, name, None)
        if callable(method):
            try:
                method()
            except Exception:  # cancelling is best effort: the pull is reported either way
                continue
            return


# Set on Ctrl-C (pull/run.py): every running query is cancelled at once, on the server
# too, rather than left to run until its timeout while the command waits for it.
STOP = threading.Event()
# How often a wait for a query looks at STOP.
_POLL = 0.2


def with_timeout(work: Callable[[], Table], seconds: float, cancel: Callable[[], None]) -> Table:
    """Run `work` in a thread; after `seconds`, call `cancel` and raise TimeoutError (and
    KeyboardInterrupt when STOP is set first)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="charters-pull-query", daemon=True)
    thread.start()
    deadline = time.monotonic() + seconds
    while thread.is_alive() and not STOP.is_set() and (left := deadline - time.monotonic()) > 0:
        thread.join(min(left, _POLL))
    if thread.is_alive():
        cancel()
        thread.join(1.0 if STOP.is_set() else 5.0)  # a stuck driver is left behind
        if STOP.is_set():
            raise KeyboardInterrupt
        raise TimeoutError
    if "error" in box:
        raise box["error"]
    result: Table = box["value"]
    return result
