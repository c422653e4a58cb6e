"""`charters pull` against a real PostgreSQL server seeded with the example's raw events.

The server comes from Debian's `postgresql` package (installed by .ci/install-db-deps),
started by the fixture in a temporary folder, on a Unix socket only, as a non-root
user. Without it these tests skip, except with CI=true, where they fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import REPO_ROOT, copy_examples
from pull_helpers import (
    EXAMPLE,
    EXAMPLE_RESULTS,
    Postgres,
    line_of,
    postgres_query,
    pull_charter,
    run_pull,
    seed_chat_events,
    start_postgres,
)

URL_ENV = "CHARTERS_TEST_PG_URL"
SITE = {"connections": {"warehouse": {"url": "${" + URL_ENV + "}"}}}


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    server_iter = start_postgres()
    server = next(server_iter)
    assert seed_chat_events(server) == 2671
    yield server
    for _ in server_iter:  # stop the server and remove its folder
        pass


def test_the_example_query_gives_the_same_bytes_on_postgresql(
    postgres: Postgres, tmp_path: Path
) -> None:
    """The weekly query that aggregates the CSV in DuckDB runs unchanged on a table."""
    source = copy_examples(tmp_path / "examples")
    (source / "site.yaml").write_text(
        (source / "site.yaml").read_text()
        + f"connections:\n  warehouse: {{url: '${{{URL_ENV}}}'}}\n"
    )
    folder = source / "charters" / EXAMPLE
    (folder / "queries/weekly.sql").write_text(postgres_query())
    charter = folder / "charter.yaml"
    charter.write_text(
        charter.read_text().replace(
            "    sql: queries/weekly.sql", "    connection: warehouse\n    sql: queries/weekly.sql"
        )
    )
    (source / EXAMPLE_RESULTS).unlink()
    result = run_pull(source, EXAMPLE, env={URL_ENV: postgres.url()})
    assert result.exit_code == 0, result.output
    assert "created with 40 rows" in result.stdout
    assert (source / EXAMPLE_RESULTS).read_bytes() == (REPO_ROOT / EXAMPLE_RESULTS).read_bytes()


def test_parameters_are_bound_by_the_driver(postgres: Postgres, tmp_path: Path) -> None:
    sql = (
        "SELECT CAST(date_trunc('week', started_at) AS DATE) + 6 AS date, 'ttfr' AS metric,"
        " arm AS variant, CAST(AVG(handle_minutes) AS DECIMAL(10, 2)) AS value, COUNT(*) AS n"
        " FROM chat_events WHERE started_at >= :since AND arm = :arm"
        " GROUP BY 1, arm"
    )
    pull_charter(
        tmp_path,
        [{"into": "results/pg.csv", "connection": "warehouse", "sql": sql,
          "params": {"since": "2026-11-02", "arm": "control' OR '1'='1"}}],
        site=SITE,
    )  # fmt: skip
    result = run_pull(tmp_path, env={URL_ENV: postgres.url()})
    assert result.exit_code == 1  # no arm has that name: no rows, nothing injected
    assert "the query returned no rows" in result.stderr
    pull_charter(
        tmp_path,
        [{"into": "results/pg.csv", "connection": "warehouse", "sql": sql,
          "params": {"since": "2026-11-02", "arm": "control"}}],
        site=SITE,
    )  # fmt: skip
    result = run_pull(tmp_path, env={URL_ENV: postgres.url()})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "charters/routing/results/pg.csv").read_text() == (
        "date,metric,variant,value,n\n2026-11-08,ttfr,control,14.27,157\n"
    )


def test_a_query_error_is_located_and_hides_the_password(
    postgres: Postgres, tmp_path: Path
) -> None:
    text = pull_charter(
        tmp_path,
        [{"into": "results/pg.csv", "connection": "warehouse", "sql": "SELECT * FROM chat_event"}],
        site=SITE,
    )
    result = run_pull(tmp_path, env={URL_ENV: postgres.url(password="s3cret-pw")})
    assert result.exit_code == 1
    line = line_of(text, "sql: SELECT")
    assert f"charters/routing/charter.yaml:{line}:" in result.stderr
    assert "pull[0].sql: the query failed on 'warehouse' (postgresql+psycopg://charters:***@" in (
        result.stderr
    )
    assert 'relation "chat_event" does not exist' in result.stderr
    assert "s3cret-pw" not in result.output


SELECT_ROW = "SELECT DATE '2026-01-04' AS date, 'ttfr' AS metric, {} AS value"


@pytest.mark.parametrize(
    "sql",
    [
        # psycopg sent it as a simple query and read the first statement's rows (111)
        f"{SELECT_ROW.format(111)}; {SELECT_ROW.format(222)}",
        # docs/pull.md's old example: SQLAlchemy's "does not return rows" reached the user
        f"SET search_path TO public; {SELECT_ROW.format(1)}",
        # the COMMIT ended the read-only transaction: the table was dropped, exit 0
        f"{SELECT_ROW.format(1)}; SET default_transaction_read_only = off; COMMIT;"
        " DROP TABLE kept_by_pull",
        "CREATE TABLE written_by_pull AS SELECT 1 AS a; COMMIT;"
        " CREATE TABLE written_after_commit AS SELECT 1 AS a",
    ],
)
def test_a_query_of_several_statements_is_refused(
    postgres: Postgres, tmp_path: Path, sql: str
) -> None:
    with postgres.connect() as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS kept_by_pull (a int)")
    text = pull_charter(
        tmp_path, [{"into": "results/pg.csv", "connection": "warehouse", "sql": sql}], site=SITE
    )
    result = run_pull(tmp_path, env={URL_ENV: postgres.url()})
    assert result.exit_code == 1
    line = line_of(text, "sql: ")
    assert (
        f"charters/routing/charter.yaml:{line}:10: pull[0].sql: the query on 'warehouse'"
        " (postgresql+psycopg://charters@/events?host=" in result.stderr
    )
    assert "has several statements; on PostgreSQL a pull runs one" in result.stderr
    assert "in the connection URL instead, e.g. ?options=-csearch_path%3Dmarts" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "charters/routing/results/pg.csv").exists()
    with postgres.connect() as connection:
        tables = connection.execute(
            "SELECT string_agg(tablename, ',') FROM pg_tables"
            " WHERE tablename LIKE 'written_%' OR tablename = 'kept_by_pull'"
        ).fetchone()
    assert tables == ("kept_by_pull",)


def test_the_search_path_is_set_in_the_url(postgres: Postgres, tmp_path: Path) -> None:
    """What docs/pull.md says to do instead of `SET search_path TO marts; SELECT …`."""
    with postgres.connect() as connection:
        connection.execute("CREATE SCHEMA IF NOT EXISTS marts")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS marts.weekly AS"
            " SELECT DATE '2026-01-04' AS date, 'ttfr' AS metric, 7.5 AS value"
        )
    sql = "SELECT date, metric, value FROM weekly;"  # one statement, its `;` allowed
    pull_charter(
        tmp_path, [{"into": "results/pg.csv", "connection": "warehouse", "sql": sql}], site=SITE
    )
    url = postgres.url() + "&options=-csearch_path%3Dmarts"
    result = run_pull(tmp_path, env={URL_ENV: url})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "charters/routing/results/pg.csv").read_text() == (
        "date,metric,value\n2026-01-04,ttfr,7.5\n"
    )


@pytest.mark.parametrize("sql", ["-- only a comment", "SET TimeZone = 'UTC'"])
def test_a_query_that_returns_no_result_set(postgres: Postgres, tmp_path: Path, sql: str) -> None:
    pull_charter(
        tmp_path, [{"into": "results/pg.csv", "connection": "warehouse", "sql": sql}], site=SITE
    )
    result = run_pull(tmp_path, env={URL_ENV: postgres.url()})
    assert result.exit_code == 1
    assert (
        "pull[0].sql: the query returns no result set: its last statement is no SELECT"
        " (it is a comment only, or a statement such as SET); end it with the SELECT"
    ) in result.stderr
    assert "This result object" not in result.output


def test_a_wrong_type_from_postgresql(postgres: Postgres, tmp_path: Path) -> None:
    sql = (
        "SELECT DATE '2026-01-04' AS date, 'ttfr' AS metric, arm AS value FROM chat_events LIMIT 2"
    )
    pull_charter(tmp_path, [{"into": "results/pg.csv", "connection": "warehouse", "sql": sql}],
                 site=SITE)  # fmt: skip
    result = run_pull(tmp_path, env={URL_ENV: postgres.url()})
    assert result.exit_code == 1
    assert "row 1, column value: expected a number, got the text" in result.stderr
    assert "row 2, column value: expected a number, got the text" in result.stderr


def test_the_timeout_cancels_the_query_on_the_server(postgres: Postgres, tmp_path: Path) -> None:
    sql = "SELECT DATE '2026-01-04' AS date, 'ttfr' AS metric, 1.0 AS value FROM pg_sleep(30)"
    pull_charter(
        tmp_path,
        [{"into": "results/pg.csv", "connection": "warehouse", "sql": sql, "timeout": 1}],
        site=SITE,
    )
    result = run_pull(tmp_path, env={URL_ENV: postgres.url()})
    assert result.exit_code == 1
    assert "pull[0].timeout: the query on 'warehouse' ran longer than its timeout of 1 s" in (
        result.stderr
    )
    with postgres.connect() as conn:  # the server is no longer running it
        running = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%'"
            " AND pid <> pg_backend_pid()"
        ).fetchone()
    assert running == (0,)
