"""Helpers for the `charters pull` tests: a charter that pulls, real engines, CI rules.

The databases are real: DuckDB and SQLite in process, a PostgreSQL server from
Debian's `postgresql` package started here as a non-root user on a Unix socket,
and MLflow with a local SQLite tracking store. Without PostgreSQL's binaries or
MLflow the tests that need them skip, except with CI=true, where they fail.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from helpers import REPO_ROOT, minimal_charter

from generator.cli import main

EXAMPLE = "agent-reply-suggestions"
EXAMPLE_RESULTS = f"charters/{EXAMPLE}/results/weekly-ab.csv"
EXAMPLE_QUERY = f"charters/{EXAMPLE}/queries/weekly.sql"
EXAMPLE_EVENTS = f"charters/{EXAMPLE}/data/chats.csv"
READ_CSV = f"SELECT * FROM read_csv('{EXAMPLE_EVENTS}')"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def need(ok: object, message: str) -> None:
    """Skip without a tool; with CI=true fail instead, since CI must run every test."""
    if ok:
        return
    if in_ci():
        pytest.fail(f"{message}; CI must run the pull tests (see .ci/install-db-deps)")
    pytest.skip(message)


def run_pull(source: Path, *args: str, env: Mapping[str, str | None] | None = None) -> Result:
    """`charters pull --source SOURCE ARGS` in process; stdout and stderr apart."""
    return CliRunner().invoke(
        main, ["pull", "--source", str(source), *args], env=dict(env or {}), catch_exceptions=False
    )


# A charter with one business metric (ttfr) and one ML metric (precision).
ML_METRICS = [
    {
        "id": "precision",
        "name": "Routing precision",
        "unit": "ratio",
        "direction": "increase",
        "target": {"value": 0.9},
        "drives": ["ttfr"],
    }
]


def pull_charter(
    root: Path,
    pulls: list[dict[str, Any]],
    site: dict[str, Any] | None = None,
    files: Mapping[str, str] | None = None,
    cid: str = "routing",
) -> str:
    """Write site.yaml and a charter with `pulls`; return the charter text."""
    if site is not None:
        (root / "site.yaml").write_text(yaml.safe_dump(site), encoding="utf-8")
    text = minimal_charter(ml_metrics=ML_METRICS, results=["results/*.csv"], pull=pulls)
    folder = root / "charters" / cid
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "charter.yaml").write_text(text, encoding="utf-8")
    for rel, body in (files or {}).items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    return text


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line holding `needle`."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def postgres_query() -> str:
    """The example's query as it runs on PostgreSQL: the events come from a table."""
    query = (REPO_ROOT / EXAMPLE_QUERY).read_text(encoding="utf-8")
    assert READ_CSV in query
    return query.replace(READ_CSV, "SELECT * FROM chat_events")


# --- PostgreSQL ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Postgres:
    """A running server: reach it on `socket_dir` as `user`, database `database`."""

    socket_dir: Path
    user: str
    database: str

    def url(self, password: str | None = None) -> str:
        auth = f"{self.user}:{password}" if password else self.user
        return f"postgresql+psycopg://{auth}@/{self.database}?host={self.socket_dir}"

    def connect(self) -> Any:
        import psycopg

        return psycopg.connect(
            host=str(self.socket_dir), user=self.user, dbname=self.database, autocommit=True
        )


def _bindir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _server_user() -> str | None:
    """The user the server runs as: PostgreSQL refuses to run as root."""
    if os.geteuid() != 0:
        return None
    for name in ("charters-test", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    pytest.fail("running as root, but there is neither a charters-test nor a nobody user")


def start_postgres() -> Iterator[Postgres]:
    """initdb in a temporary folder, start on a Unix socket only, yield, stop and remove."""
    bindir = _bindir()
    need(bindir, "PostgreSQL's initdb and pg_ctl are not installed (Debian: postgresql)")
    assert bindir is not None
    run_as = _server_user()
    base = Path(tempfile.mkdtemp(prefix="charters-pg-"))
    data, log = base / "data", base / "server.log"
    prefix: list[str] = []
    if run_as is not None:
        info = pwd.getpwnam(run_as)
        os.chown(base, info.pw_uid, info.pw_gid)
        prefix = ["runuser", "-u", run_as, "--"]
    user = "charters"

    def call(*args: str) -> None:
        done = subprocess.run([*prefix, *args], capture_output=True, text=True, check=False)
        assert done.returncode == 0, (args, done.stdout, done.stderr, _read(log))

    try:
        call(str(bindir / "initdb"), "-D", str(data), "-U", user, "--auth=trust", "--no-sync",
             "-E", "UTF8", "--locale=C")  # fmt: skip
        options = f"-k {base} -c listen_addresses='' -F"
        call(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start")
        try:
            server = Postgres(base, user, "postgres")
            with server.connect() as conn:
                conn.execute("CREATE DATABASE events")
            yield Postgres(base, user, "events")
        finally:
            call(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def seed_chat_events(server: Postgres) -> int:
    """The example's raw chats as a PostgreSQL table; returns the row count."""
    with server.connect() as conn:
        conn.execute(
            "CREATE TABLE chat_events (chat_id integer PRIMARY KEY, started_at timestamp NOT NULL,"
            " arm text NOT NULL, handle_minutes numeric(6, 1) NOT NULL, reopened integer NOT NULL,"
            " suggestion_used integer)"
        )
        with conn.cursor() as cur:
            copy = "COPY chat_events FROM STDIN WITH (FORMAT csv, HEADER true)"
            with cur.copy(copy) as target:
                target.write((REPO_ROOT / EXAMPLE_EVENTS).read_bytes())
        count = conn.execute("SELECT count(*) FROM chat_events").fetchone()
    assert count is not None
    return int(count[0])
