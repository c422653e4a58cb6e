"""`charters pull` with the embedded DuckDB and SQLite through SQLAlchemy, and its bad cases.

Everything runs against real engines: DuckDB in process aggregating raw CSV, a
SQLite file through its SQLAlchemy URL. Each bad case of the issue has a test that
checks the located message, the exit status and that the previous file is unchanged.
"""

from __future__ import annotations

import errno
import importlib.util
import os
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import REPO_ROOT, copy_examples
from pull_helpers import (
    EXAMPLE_RESULTS,
    line_of,
    need,
    pull_charter,
    run_pull,
)

from generator import readers
from generator.load import load_project

GOOD_SQL = """
SELECT DATE '2026-05-03' AS date, 'ttfr' AS metric, 'control' AS variant,
       6.1 AS value, 120 AS n, 2.5 AS std
UNION ALL
SELECT DATE '2026-05-03', 'ttfr', 'treatment', 5.25, 118, 2.25
UNION ALL
SELECT DATE '2026-04-26', 'ttfr', 'control', 6.2, 121, 2.5
"""
GOOD_CSV = (
    "date,metric,variant,value,n,std\n"
    "2026-04-26,ttfr,control,6.2,121,2.5\n"
    "2026-05-03,ttfr,control,6.1,120,2.5\n"
    "2026-05-03,ttfr,treatment,5.25,118,2.25\n"
)
OLD = "date,metric,value\n2026-01-04,ttfr,7\n"
PRECISION_ROW = "DATE '2026-05-03' AS date, 'precision' AS metric, 0.8 AS value"


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    return copy_examples(tmp_path / "examples")


# ------------------------------------------------------------------ the example


def test_examples_pull_changes_nothing(examples: Path) -> None:
    before = {p: p.read_bytes() for p in (examples / "charters").rglob("*") if p.is_file()}
    result = run_pull(examples)
    assert result.exit_code == 0, result.output
    assert f"{EXAMPLE_RESULTS}: unchanged (40 rows)" in result.stdout
    assert result.stdout.strip().endswith("pulled 1 file: 0 changed, 1 unchanged")
    after = {p: p.read_bytes() for p in (examples / "charters").rglob("*") if p.is_file()}
    assert after == before


def test_a_deleted_results_file_is_recreated_byte_for_byte(examples: Path) -> None:
    committed = (REPO_ROOT / EXAMPLE_RESULTS).read_bytes()
    (examples / EXAMPLE_RESULTS).unlink()
    result = run_pull(examples, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would be created with 40 rows" in result.stdout
    assert not (examples / EXAMPLE_RESULTS).exists()
    result = run_pull(examples)
    assert result.exit_code == 0, result.output
    assert (examples / EXAMPLE_RESULTS).read_bytes() == committed


def test_a_named_pipe_beside_the_charters_does_not_stop_the_pull(examples: Path) -> None:
    """The copy that tells what a pull does to the verdicts stopped at a named pipe under
    charters/: an internal error, and nothing written."""
    os.mkfifo(examples / "charters" / "agent-reply-suggestions" / "pipe")
    (examples / EXAMPLE_RESULTS).unlink()
    result = run_pull(examples)
    assert result.exit_code == 0, result.output
    assert (examples / EXAMPLE_RESULTS).read_bytes() == (REPO_ROOT / EXAMPLE_RESULTS).read_bytes()
    assert "What this does to the charters" in result.stdout


def test_the_example_rows_are_the_sql_aggregates_of_the_raw_events(examples: Path) -> None:
    """Recompute one weekly row from the raw CSV by hand and find it in the pulled file."""
    import csv
    import statistics
    from datetime import date, datetime, timedelta

    events = examples / "charters/agent-reply-suggestions/data/chats.csv"
    minutes = [
        float(row["handle_minutes"])
        for row in csv.DictReader(events.open(encoding="utf-8"))
        if row["arm"] == "control"
        and date(2026, 10, 5)
        <= datetime.fromisoformat(row["started_at"]).date()
        <= date(2026, 10, 5) + timedelta(days=6)
    ]
    mean, std = statistics.fmean(minutes), statistics.stdev(minutes)
    rows = list(csv.DictReader((examples / EXAMPLE_RESULTS).open(encoding="utf-8")))
    (row,) = [
        r
        for r in rows
        if (r["date"], r["metric"], r["variant"]) == ("2026-10-11", "handle_minutes", "control")
    ]
    assert int(row["n"]) == len(minutes)
    assert float(row["value"]) == pytest.approx(mean, abs=0.005)
    assert float(row["std"]) == pytest.approx(std, abs=0.005)


def test_new_events_show_what_they_do_to_the_verdict(examples: Path) -> None:
    events = examples / "charters/agent-reply-suggestions/data/chats.csv"
    extra = "".join(
        f"{900000 + i},2026-11-1{i % 5} 10:00:00,{arm},{minutes},0,{used}\n"
        for i, (arm, minutes, used) in enumerate(
            [("control", "14.0", ""), ("treatment", "16.5", "0")] * 5
            + [("control", "14.4", ""), ("treatment", "16.9", "0")] * 5  # some spread
        )
    )
    with events.open("a", encoding="utf-8") as fh:
        fh.write(extra)
    before = (examples / EXAMPLE_RESULTS).read_bytes()
    result = run_pull(examples, "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"{EXAMPLE_RESULTS}: 5 added, 0 changed, 0 removed" in result.stdout
    assert "agent-reply-suggestions: handle_minutes: 2 rows added; latest 12.07 minutes" in (
        result.stdout
    )
    assert "agent-reply-suggestions: verdict: Business impact → No impact" in result.stdout
    # The charters reading the metric catalogue (metrics.yaml) are compared too.
    assert "Not compared" not in result.stdout
    assert "dry run: nothing was written" in result.stdout
    assert (examples / EXAMPLE_RESULTS).read_bytes() == before
    assert run_pull(examples).exit_code == 0
    assert (examples / EXAMPLE_RESULTS).read_bytes() != before
    assert (
        "2026-11-15,handle_minutes,treatment,16.7,10,0.21"
        in (examples / EXAMPLE_RESULTS).read_text()
    )


# ------------------------------------------------------------------ DuckDB and SQLite


def test_inline_sql_is_sorted_and_written_with_stable_numbers(tmp_path: Path) -> None:
    pull_charter(tmp_path, [{"into": "results/pulled.csv", "sql": GOOD_SQL}])
    result = run_pull(tmp_path)
    assert result.exit_code == 0, result.output
    written = tmp_path / "charters/routing/results/pulled.csv"
    assert written.read_text() == GOOD_CSV
    _, diags = load_project(tmp_path)
    assert not diags.errors
    again = run_pull(tmp_path)
    assert "unchanged (3 rows)" in again.stdout


def test_numbers_spelled_otherwise_are_not_changed_rows(tmp_path: Path) -> None:
    """A file written by hand with `6.10`, `120.0` and its rows in another order holds
    the same rows as the pull's: no row reads as changed, the file is written again in
    the pull's form; a value that did change is the one changed row."""
    pull_charter(tmp_path, [{"into": "results/pulled.csv", "sql": GOOD_SQL}])
    written = tmp_path / "charters/routing/results/pulled.csv"
    written.parent.mkdir(parents=True, exist_ok=True)
    written.write_text(
        "date,metric,variant,value,n,std\n"
        "2026-05-03,ttfr,treatment,5.250,118,2.25\n"
        "2026-05-03,ttfr,control,6.10,120.0,2.50\n"
        "2026-04-26,ttfr,control,6.2,121,2.5\n"
    )
    result = run_pull(tmp_path, "--dry-run")
    assert result.exit_code == 0, result.output
    line = (
        "charters/routing/results/pulled.csv: the same 3 rows, would be written again in"
        " the pull's form (order, spelling of numbers)"
    )
    assert line in result.stdout
    assert "changed, " not in result.stdout.replace("1 changed, 0 unchanged", "")
    assert run_pull(tmp_path).exit_code == 0
    assert written.read_text() == GOOD_CSV
    assert "unchanged (3 rows)" in run_pull(tmp_path).stdout
    written.write_text(GOOD_CSV.replace("6.1,120", "6.10,120").replace("6.2,121", "6.3,121"))
    result = run_pull(tmp_path, "--dry-run")
    assert "charters/routing/results/pulled.csv: 0 added, 1 changed, 0 removed" in result.stdout


def test_a_decimal_is_written_with_its_own_digits(tmp_path: Path) -> None:
    """Read through a float, 98765432109876.54 was written 98765432109876.55: docs/pull.md
    says a value rounded in SQL is written with exactly those digits."""
    sql = (
        "SELECT DATE '2026-05-04' AS date, 'ttfr' AS metric,"
        " 98765432109876.54::DECIMAL(18,2) AS value"
        " UNION ALL SELECT DATE '2026-05-11', 'ttfr', 4.50::DECIMAL(5,2)"
    )
    pull_charter(tmp_path, [{"into": "results/pulled.csv", "sql": sql}])
    result = run_pull(tmp_path)
    assert result.exit_code == 0, result.output
    written = (tmp_path / "charters/routing/results/pulled.csv").read_text()
    assert written == "date,metric,value\n2026-05-04,ttfr,98765432109876.54\n2026-05-11,ttfr,4.5\n"


def test_a_duckdb_real_is_written_as_the_decimal_it_holds(tmp_path: Path) -> None:
    """DuckDB's driver widens a REAL (a float32) to a double: 0.1 was written
    0.10000000149011612, where PostgreSQL's real 0.1 is written 0.1. A DOUBLE keeps its
    digits; a REAL of a value no shorter decimal holds keeps its own."""
    sql = (
        "SELECT DATE '2026-05-04' AS date, 'ttfr' AS metric, 0.1::REAL AS value,"
        " 16777217::FLOAT4 AS n, 0.10000000149011612::DOUBLE AS std"
        " UNION ALL SELECT DATE '2026-05-11', 'ttfr', 1234.5678::REAL, 7, 0.3::DOUBLE"
        " UNION ALL SELECT DATE '2026-05-18', 'ttfr', pow(2, -96)::REAL, 8, 1.5::DOUBLE"
    )
    pull_charter(tmp_path, [{"into": "results/pulled.csv", "sql": sql}])
    result = run_pull(tmp_path)
    assert result.exit_code == 0, result.output
    written = (tmp_path / "charters/routing/results/pulled.csv").read_text()
    assert written == (
        "date,metric,value,n,std\n"
        "2026-05-04,ttfr,0.1,16777216,0.10000000149011612\n"
        "2026-05-11,ttfr,1234.5677,7,0.3\n"
        # The shortest decimal, as PostgreSQL writes this real: a power of two's
        # interval is lopsided, and a loop over digits found 1.26217745e-29 (review).
        "2026-05-18,ttfr,1.2621775e-29,8,1.5\n"
    )


def test_a_note_with_a_carriage_return_is_written_so_it_reads_back(tmp_path: Path) -> None:
    """The writer did not quote a `\\r`: the file read back as a row of one cell ("row has
    1 cell but the header has 4 columns"), though the same note typed in quotes passes."""
    sql = (
        "SELECT DATE '2026-05-04' AS date, 'ttfr' AS metric, 1.5 AS value,"
        " 'first' || chr(13) || 'second' AS note"
    )
    pull_charter(tmp_path, [{"into": "results/p.csv", "sql": sql}])
    result = run_pull(tmp_path)
    assert result.exit_code == 0, result.output
    written = (tmp_path / "charters/routing/results/p.csv").read_bytes()
    assert written == b'date,metric,value,note\n"2026-05-04","ttfr","1.5","first\rsecond"\n'
    _, diags = load_project(tmp_path)
    assert not diags.errors


def test_a_link_at_a_predictable_temporary_name_is_never_written_through(tmp_path: Path) -> None:
    """The file was written to `.charters-pull-<pid>.tmp` beside it and renamed: a link
    committed at that name wrote the rows to the file it points to, out of the tree, and
    left the result file a link to it."""
    victim = tmp_path / "victim.txt"
    victim.write_text("original\n")
    source = tmp_path / "source"
    pull_charter(source, [{"into": "results/pulled.csv", "sql": GOOD_SQL}])
    results = source / "charters/routing/results"
    results.mkdir()
    (results / f".charters-pull-{os.getpid()}.tmp").symlink_to(victim)
    result = run_pull(source)
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "original\n"
    written = results / "pulled.csv"
    assert not written.is_symlink() and written.read_text() == GOOD_CSV
    assert oct(written.stat().st_mode & 0o777) == oct(0o666 & ~current_umask())


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_a_sql_file_with_bound_parameters(tmp_path: Path) -> None:
    sql = (
        "SELECT CAST(:day AS DATE) AS date, 'ttfr' AS metric, CAST(:value AS DOUBLE) AS value,"
        " :label AS note"
    )
    pull_charter(
        tmp_path,
        [
            {
                "into": "results/p.csv",
                "sql": "queries/p.sql",
                "params": {"day": "2026-03-01", "value": 5.5, "label": "it's; DROP TABLE x"},
            }
        ],
        files={"queries/p.sql": sql},
    )
    result = run_pull(tmp_path)
    assert result.exit_code == 0, result.output
    text = (tmp_path / "charters/routing/results/p.csv").read_text()
    assert text == "date,metric,value,note\n2026-03-01,ttfr,5.5,it's; DROP TABLE x\n"


def test_a_sql_file_name_with_a_space_is_read_and_a_one_line_query_is_run(
    tmp_path: Path,
) -> None:
    """docs/pull.md: `sql` is a file when it is one line ending in .sql; else a query."""
    query = "SELECT DATE '2026-05-03' AS date, 'ttfr' AS metric, 6.5 AS value"
    later = query.replace("05-03", "05-10")  # each file its own rows: the build reads all
    pull_charter(
        tmp_path,
        [
            {"into": "results/p.csv", "sql": "queries/weekly report.sql"},
            {"into": "results/q.csv", "sql": query},
            {"into": "results/r.csv", "sql": later + " -- was queries/old.sql\n"},  # `sql: |`
        ],
        files={"queries/weekly report.sql": query.replace("05-03", "04-26")},
    )
    result = run_pull(tmp_path)
    assert result.exit_code == 0, result.output
    folder = tmp_path / "charters/routing/results"
    assert (folder / "p.csv").read_text() == "date,metric,value\n2026-04-26,ttfr,6.5\n"
    assert (folder / "q.csv").read_text() == "date,metric,value\n2026-05-03,ttfr,6.5\n"
    assert (folder / "r.csv").read_text() == "date,metric,value\n2026-05-10,ttfr,6.5\n"


def test_sqlite_through_sqlalchemy_relative_to_site_yaml(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "warehouse.db")
    db.execute("CREATE TABLE tickets (day TEXT, arm TEXT, hours REAL)")
    db.executemany(
        "INSERT INTO tickets VALUES (?, ?, ?)",
        [("2026-05-03", "control", 6.0), ("2026-05-03", "control", 7.0),
         ("2026-05-03", "treatment", 5.0), ("2026-05-10", "treatment", 4.5)],
    )  # fmt: skip
    db.commit()
    db.close()
    sql = (
        "SELECT day AS date, 'ttfr' AS metric, arm AS variant, AVG(hours) AS value,"
        " COUNT(*) AS n FROM tickets WHERE day >= :since GROUP BY day, arm"
    )
    site = {"connections": {"warehouse": {"url": "sqlite:///warehouse.db"}}}
    pull_charter(
        tmp_path,
        [{"into": "results/w.csv", "connection": "warehouse", "sql": sql,
          "params": {"since": "2026-01-01"}}],
        site=site,
    )  # fmt: skip
    result = run_pull(tmp_path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "charters/routing/results/w.csv").read_text() == (
        "date,metric,variant,value,n\n"
        "2026-05-03,ttfr,control,6.5,2\n"
        "2026-05-03,ttfr,treatment,5,1\n"
        "2026-05-10,ttfr,treatment,4.5,1\n"
    )


def test_a_sqlite_session_attaches_no_file(tmp_path: Path) -> None:
    """`PRAGMA query_only` refused the ATTACH's writes, but SQLite had made the file it
    named first: a failed pull left an empty database in the tree."""
    sqlite3.connect(tmp_path / "warehouse.db").close()
    site = {"connections": {"warehouse": {"url": "sqlite:///warehouse.db"}}}
    sql = "ATTACH DATABASE 'made-by-pull.db' AS other"
    pull_charter(
        tmp_path, [{"into": "results/w.csv", "connection": "warehouse", "sql": sql}], site=site
    )
    result = run_pull(tmp_path)
    assert result.exit_code == 1
    assert not list(tmp_path.rglob("made-by-pull.db"))
    assert "not authorized" in result.stderr
    assert not (tmp_path / "charters/routing/results/w.csv").exists()


def test_a_time_zone_date_is_the_same_whatever_the_machines_time_zone(tmp_path: Path) -> None:
    """DuckDB read time zones as TZ said: the same row was dated 2026-01-02 in CI (UTC)
    and 2026-01-01 on a laptop in California."""
    sql = (
        "SELECT CAST(TIMESTAMPTZ '2026-01-02 03:00:00+00' AS DATE) AS date, 'ttfr' AS metric,"
        " 1.5 AS value"
    )
    pull_charter(tmp_path, [{"into": "results/p.csv", "sql": sql}])
    result = run_pull(tmp_path, env={"TZ": "America/Los_Angeles"})
    assert result.exit_code == 0, result.output
    written = (tmp_path / "charters/routing/results/p.csv").read_text()
    assert written == "date,metric,value\n2026-01-02,ttfr,1.5\n"


def test_a_duckdb_file_is_opened_read_only(tmp_path: Path) -> None:
    """A DuckDB file has no users to make read-only: a query of two statements wrote it."""
    import duckdb

    con = duckdb.connect(str(tmp_path / "events.duckdb"))
    con.execute("CREATE TABLE t AS SELECT 1 AS a")
    con.close()
    site = {"connections": {"events": {"url": "duckdb:///events.duckdb"}}}
    sql = (
        "CREATE TABLE written_by_pull AS SELECT 1 AS a;"
        " SELECT DATE '2026-02-01' AS date, 'ttfr' AS metric, 4.0 AS value"
    )
    pull_charter(tmp_path, [{"into": "results/a.csv", "connection": "events", "sql": sql}],
                 site=site)  # fmt: skip
    result = run_pull(tmp_path)
    assert result.exit_code == 1
    assert "read-only" in result.stderr
    con = duckdb.connect(str(tmp_path / "events.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM duckdb_tables()").fetchone() == (1,)
    con.close()


def test_a_duckdb_file_connection_and_the_connection_filter(tmp_path: Path) -> None:
    import duckdb

    con = duckdb.connect(str(tmp_path / "events.duckdb"))
    con.execute(
        "CREATE TABLE t AS SELECT DATE '2026-02-01' AS date, 'ttfr' AS metric, 4.0 AS value"
    )
    con.close()
    site = {"connections": {"events": {"url": "duckdb:///events.duckdb"}}}
    pull_charter(
        tmp_path,
        [
            {"into": "results/a.csv", "connection": "events", "sql": "SELECT * FROM t"},
            {"into": "results/b.csv", "sql": GOOD_SQL},
        ],
        site=site,
    )
    result = run_pull(tmp_path, "--connection", "events")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "charters/routing/results/a.csv").read_text() == (
        "date,metric,value\n2026-02-01,ttfr,4\n"
    )
    assert not (tmp_path / "charters/routing/results/b.csv").exists()


def test_a_connection_filter_naming_no_connection_is_a_usage_error(tmp_path: Path) -> None:
    # A mistyped --connection in a scheduled job used to pull nothing and exit 0.
    site = {"connections": {"warehouse": {"url": "sqlite:///w.db"}}}
    pull_charter(tmp_path, [{"into": "results/a.csv", "sql": GOOD_SQL}], site=site)
    result = run_pull(tmp_path, "--connection", "wharehouse")
    assert result.exit_code == 2
    assert (
        "Invalid value for '--connection': unknown connection 'wharehouse'; declared in"
        " site.yaml `connections`: duckdb, warehouse"
    ) in result.output
    assert not (tmp_path / "charters/routing/results/a.csv").exists()


def test_charter_ids_select_what_is_pulled(tmp_path: Path) -> None:
    pull_charter(tmp_path, [{"into": "results/a.csv", "sql": GOOD_SQL}], cid="one")
    pull_charter(tmp_path, [{"into": "results/a.csv", "sql": GOOD_SQL}], cid="two")
    result = run_pull(tmp_path, "two")
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "charters/one/results/a.csv").exists()
    assert (tmp_path / "charters/two/results/a.csv").read_text() == GOOD_CSV
    unknown = run_pull(tmp_path, "three")
    assert unknown.exit_code == 2
    assert "no charter 'three'" in unknown.output


# ------------------------------------------------------------------ bad cases


def _bad(
    tmp_path: Path,
    pull: dict[str, object],
    site: dict[str, object] | None = None,
    env: dict[str, str | None] | None = None,
) -> tuple[str, str]:
    """Pull one entry over an existing file; return (stderr, charter text). Exit 1, file kept."""
    text = pull_charter(tmp_path, [{"into": "results/p.csv", **pull}], site=site)
    old = tmp_path / "charters/routing/results/p.csv"
    old.parent.mkdir(parents=True, exist_ok=True)
    old.write_text(OLD)
    result = run_pull(tmp_path, env=env)
    assert result.exit_code == 1, result.output
    assert old.read_text() == OLD, "the previous file must stay as it was"
    assert "the files of the pulls that failed were not changed" in result.stderr
    assert "Traceback" not in result.output
    return result.stderr, text


def test_sql_error_is_located_at_the_pull_entry(tmp_path: Path) -> None:
    err, text = _bad(tmp_path, {"sql": "SELECT * FROM no_such_table"})
    line = line_of(text, "sql: SELECT")
    assert f"charters/routing/charter.yaml:{line}:" in err
    assert "pull[0].sql: the query failed on 'duckdb' (embedded DuckDB):" in err
    assert "no_such_table" in err


def test_a_sql_file_that_cannot_be_read_is_named_short_and_without_the_full_path(
    tmp_path: Path,
) -> None:
    err, _ = _bad(tmp_path, {"sql": "q" * 300 + ".sql"})
    assert "pull[0].sql: cannot read 'qqqq" in err
    assert err.rstrip().splitlines()[0].endswith("(104 more characters) (File name too long)")
    assert str(tmp_path) not in err


def test_a_sql_with_a_control_character_is_refused_at_the_field(tmp_path: Path) -> None:
    pull_charter(tmp_path, [{"into": "results/p.csv", "sql": "q\0.sql"}])
    result = run_pull(tmp_path)
    assert result.exit_code == 1
    assert "pull[0].sql: holds the control character U+0000; remove it" in result.stderr
    assert not (tmp_path / "charters/routing/results/p.csv").exists()


@pytest.mark.parametrize("name", ["no-such.db", "typo.duckdb"])
def test_a_database_file_that_is_not_there_is_located_at_the_connection(
    tmp_path: Path, name: str
) -> None:
    """The driver made an empty database at a mistyped path (even on a dry run), and the
    query then failed as if the table were missing, or returned nothing."""
    scheme = "duckdb" if name.endswith(".duckdb") else "sqlite"
    site = {"connections": {"w": {"url": f"{scheme}:///{name}"}}}
    err, text = _bad(tmp_path, {"sql": GOOD_SQL, "connection": "w"}, site=site)
    line = line_of(text, "connection: w")
    shown = name.replace("\0", "%00")
    assert (
        f"charters/routing/charter.yaml:{line}:17: pull[0].connection: connection 'w'"
        f" ({scheme}:///{shown}) names a database file that is not there"
    ) in err
    assert not (tmp_path / name.replace("\0", "")).exists()
    assert [p.name for p in tmp_path.iterdir() if p.suffix in (".db", ".duckdb")] == []


def test_missing_column(tmp_path: Path) -> None:
    err, _ = _bad(tmp_path, {"sql": "SELECT DATE '2026-01-01' AS date, 'ttfr' AS metric, 1 AS val"})
    assert "pull[0].sql: the query returns the column 'val', which is not a result column" in err
    err, _ = _bad(tmp_path, {"sql": "SELECT DATE '2026-01-01' AS date, 'ttfr' AS metric"})
    assert "pull[0].sql: the query returns no column 'value' (it returns: date, metric)" in err


def test_a_query_that_is_only_a_comment(tmp_path: Path) -> None:
    """SQLAlchemy's "This result object does not return rows" reached the user."""
    err, _ = _bad(tmp_path, {"sql": "-- only a comment"})
    assert "pull[0].sql: the query returns no result set: its last statement is no SELECT" in err
    assert "This result object" not in err


def test_many_invalid_rows_are_told_quickly_and_the_first_hundred_shown(tmp_path: Path) -> None:
    """Each problem was looked for among those found before it: 10,000 rows dated after
    the build date took 13 s, 40,000 266 s, and printed one line a row."""
    sql = (
        "SELECT DATE '2030-01-01' + CAST(i AS INTEGER) AS date, 'ttfr' AS metric, 1 AS value"
        " FROM range(20000) t(i)"
    )
    started = time.monotonic()
    err, _ = _bad(tmp_path, {"sql": sql})
    assert time.monotonic() - started < 10  # 2 s; 20 s before
    lines = err.splitlines()
    assert len([line for line in lines if "pull[0].sql: row " in line]) == 100
    assert "pull[0].sql: row 100, column date: 2030-04-10 is after the build date" in err
    assert lines[-2].endswith(
        "pull[0].sql: rows not shown: 19,900 more problems in this pull's rows"
        " (20,000 in all; the first 100 are above)"
    )
    assert lines[-1].startswith("error: 101 problems found")


def test_wrong_type_names_the_row_and_column(tmp_path: Path) -> None:
    sql = GOOD_SQL + " UNION ALL SELECT DATE '2026-05-10', 'ttfr', 'control', 'six', 3, 1"
    err, _ = _bad(tmp_path, {"sql": sql})
    assert "pull[0].sql: row 4, column value: expected a number, got the text 'six'" in err


def test_a_timestamp_for_a_date_says_to_cast_it(tmp_path: Path) -> None:
    err, _ = _bad(tmp_path, {"sql": "SELECT TIMESTAMP '2026-01-04 10:30:00' AS date,"
                             " 'ttfr' AS metric, 1.5 AS value"})  # fmt: skip
    assert "row 1, column date: expected a date, got the timestamp 2026-01-04 10:30:00" in err
    assert "CAST(… AS DATE)" in err


def test_a_row_that_fails_validation(tmp_path: Path) -> None:
    sql = (
        "SELECT DATE '2026-01-04' AS date, 'ttfr' AS metric, 5.0 AS value, 0 AS n"
        " UNION ALL SELECT DATE '2026-01-11', 'revenue', 5.0, 3"
        " UNION ALL SELECT DATE '2026-01-18', 'ttfr', 'nan'::DOUBLE, 3"
    )
    err, _ = _bad(tmp_path, {"sql": sql})
    assert "row 1, column n: 0 is not a sample size; n is a whole number, at least 1" in err
    assert "row 2, column metric: 'revenue' is not a metric of this charter" in err
    assert "row 3, column value: must be a finite number, got nan" in err


def test_pulled_rows_keep_the_integrity_rules_of_result_files(tmp_path: Path) -> None:
    """Units, intervals, the build date and one row per key, across the charter's files."""
    sql = (
        "SELECT DATE '2026-05-03' AS date, 'precision' AS metric, 'treatment' AS variant,"
        " 1.3 AS value, NULL AS std"
        " UNION ALL SELECT DATE '2026-05-03', 'ttfr', 'control', 6.1, -1.0"
        " UNION ALL SELECT DATE '2026-05-10', 'ttfr', 'control', 6.0, NULL"
        " UNION ALL SELECT DATE '2026-05-17', 'ttfr', 'control', 5.9, NULL"
        " UNION ALL SELECT DATE '2026-05-17', 'ttfr', 'control', 5.8, NULL"
    )
    typed = "date,metric,variant,value\n2026-05-10,ttfr,control,6.0\n"
    text = pull_charter(
        tmp_path,
        [{"into": "results/p.csv", "sql": sql}],
        files={"results/p.csv": OLD, "results/typed.csv": typed},
    )
    result = run_pull(tmp_path, "--today", "2026-05-16")
    assert result.exit_code == 1, result.output
    at = f"charters/routing/charter.yaml:{line_of(text, 'sql: SELECT')}:10: pull[0].sql:"
    keep = "keep one row per date, metric and variant"
    assert result.stderr.splitlines()[:6] == [
        f"{at} row 1, column value: 1.3 is not a ratio; a ratio is between 0 and 1",
        f"{at} row 2, column std: -1 is not a standard deviation; std is 0 or more",
        f"{at} row 3: duplicate row (2026-05-10, ttfr, variant 'control'): also at"
        f" charters/routing/results/typed.csv:2:1; {keep}",
        f"{at} row 4, column date: 2026-05-17 is after the build date, 2026-05-16; a result"
        " cannot be dated later than the build (--today, else SOURCE_DATE_EPOCH, else today)",
        f"{at} row 4: duplicate row (2026-05-17, ttfr, variant 'control'): also at row 5 of"
        f" this pull; {keep}",
        f"{at} row 5, column date: 2026-05-17 is after the build date, 2026-05-16; a result"
        " cannot be dated later than the build (--today, else SOURCE_DATE_EPOCH, else today)",
    ]
    assert (tmp_path / "charters/routing/results/p.csv").read_text() == OLD


def test_pulled_rows_keep_the_size_and_row_limits_of_result_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pull cannot write a file the build would refuse as too big or too long."""
    csv_reader = readers.reader_for("p.csv")
    assert csv_reader is not None
    size = len(GOOD_CSV.encode())
    monkeypatch.setitem(readers._BY_SUFFIX, ".csv", replace(csv_reader, max_bytes=size - 1))
    err, text = _bad(tmp_path, {"sql": GOOD_SQL})
    at = f"charters/routing/charter.yaml:{line_of(text, 'sql:')}:10: pull[0].sql:"
    limit = f"files of this kind are limited to {size - 1:,} bytes (the limit)"
    assert f"{at} these rows make a file of {size:,} bytes; {limit}" in err
    monkeypatch.undo()
    monkeypatch.setattr(readers, "MAX_ROWS", 2)
    err, _ = _bad(tmp_path, {"sql": GOOD_SQL})
    assert f"{at} more than 2 rows in one file (the limit); split the file" in err


def test_no_rows_keeps_the_file(tmp_path: Path) -> None:
    empty = "SELECT DATE '2026-01-04' AS date, 'ttfr' AS metric, 1.0 AS value WHERE false"
    err, _ = _bad(tmp_path, {"sql": empty})
    assert "the query returned no rows; the previous file is kept" in err
    # Without a previous file, none is said to be kept (review).
    (tmp_path / "charters/routing/results/p.csv").unlink()
    result = run_pull(tmp_path)
    assert result.exit_code == 1
    assert "the query returned no rows; no file is written (check its filters" in result.stderr
    assert not (tmp_path / "charters/routing/results/p.csv").exists()


def test_unknown_connection(tmp_path: Path) -> None:
    site = {"connections": {"warehouse": {"url": "sqlite:///w.db"}}}
    err, text = _bad(tmp_path, {"connection": "wharehouse", "sql": GOOD_SQL}, site=site)
    assert f"charter.yaml:{line_of(text, 'connection: wharehouse')}:" in err
    assert (
        "pull[0].connection: unknown connection 'wharehouse'; declared in site.yaml"
        " `connections`: duckdb, warehouse" in err
    )


def test_check_reports_an_unknown_or_wrong_connection(tmp_path: Path) -> None:
    site = {"connections": {"tracking": {"mlflow": "sqlite:///m.db"}}}
    text = pull_charter(
        tmp_path,
        [
            {"into": "results/a.csv", "connection": "wharehouse", "sql": GOOD_SQL},
            {"into": "results/b.csv", "connection": "tracking", "sql": GOOD_SQL},
        ],
        site=site,
        files={"results/a.csv": GOOD_CSV},
    )
    _, diags = load_project(tmp_path)
    assert [d.format_text() for d in diags.sorted()] == [
        f"charters/routing/charter.yaml:{line_of(text, 'connection: wharehouse')}:17:"
        " pull[0].connection: unknown connection 'wharehouse'; declared in site.yaml"
        " `connections`: duckdb, tracking",
        f"charters/routing/charter.yaml:{line_of(text, 'connection: tracking')}:17:"
        " pull[1].connection: connection 'tracking' is an MLflow tracking store; use"
        " `mlflow:` in this pull, not `sql:`",
    ]


def test_check_reports_an_mlflow_metric_key_that_is_no_metric_of_the_charter(
    tmp_path: Path,
) -> None:
    """`routing_prec` for `routing_precision`: check and build passed, and only the pull
    failed, once for every run it read, at the `mlflow` line (review)."""
    site = {"connections": {"tracking": {"mlflow": "sqlite:///m.db"}}}
    spec = {"experiment": "router", "metrics": {"ttfr": "val_ttfr", "routing_prec": "val_p1"}}
    text = pull_charter(
        tmp_path,
        [{"into": "results/a.csv", "connection": "tracking", "mlflow": spec}],
        site=site,
        files={"results/a.csv": GOOD_CSV},
    )
    _, diags = load_project(tmp_path)
    (problem,) = [d for d in diags.sorted() if d.code == "unknown-metric"]
    assert (problem.ref.line, problem.field) == (
        line_of(text, "routing_prec"),
        "pull[0].mlflow.metrics.routing_prec",
    )
    assert problem.message.startswith(
        "'routing_prec' is not a metric of this charter (its metrics: ttfr, "
    ) and problem.message.endswith(
        "each key of mlflow.metrics is the id of the metric its rows are results of"
    )


def test_check_reports_a_pull_into_no_results_glob_reads_and_a_missing_sql_file(
    tmp_path: Path,
) -> None:
    # docs/pull.md: a wrong pull entry is caught in the pull request that makes it. These
    # two used to surface only at the next scheduled pull.
    text = pull_charter(
        tmp_path,
        [
            {"into": "other/weekly.csv", "sql": GOOD_SQL},
            {"into": "results/b.csv", "sql": "queries/nothere.sql"},
            {"into": "results/c.csv", "sql": "../../shared.sql"},
            {"into": "results/d.csv", "sql": "q" * 300 + ".sql"},
        ],
        files={"results/a.csv": GOOD_CSV},
    )
    (tmp_path / "shared.sql").write_text("SELECT 1")  # outside the charter's folder
    _, diags = load_project(tmp_path)
    into = line_of(text, "into: other/weekly.csv")
    sql = line_of(text, "sql: queries/nothere.sql")
    assert [d.format_text() for d in diags.sorted()] == [
        f"charters/routing/charter.yaml:{into}:11: pull[0].into: 'other/weekly.csv' is not"
        " read by this charter: its results globs are results/*.csv; pull into a file they"
        " match, or add it to `results`",
        f"charters/routing/charter.yaml:{sql}:10: pull[1].sql: no file"
        " 'queries/nothere.sql' in the charter's folder",
        f"charters/routing/charter.yaml:{line_of(text, 'sql: ../../shared.sql')}:10:"
        " pull[2].sql: '../../shared.sql' leaves the charter's folder",
        f"charters/routing/charter.yaml:{line_of(text, 'sql: qqq')}:10: pull[3].sql: no file"
        f" {'q' * 200!r} … (104 more characters) in the charter's folder",
    ]


def test_a_server_that_refuses_the_connection_is_said_at_the_connection(tmp_path: Path) -> None:
    """A refused connection was "the query failed" at `sql`, with PostgreSQL's tab shown as
    a literal `\\t` ("Connection refused \\tIs the server running…") (review)."""
    need(
        importlib.util.find_spec("psycopg"), "psycopg is not installed (pip install '.[postgres]')"
    )
    site = {"connections": {"pg": {"url": "postgresql://127.0.0.1:1/db"}}}
    err, text = _bad(tmp_path, {"connection": "pg", "sql": GOOD_SQL}, site=site)
    assert f"charter.yaml:{line_of(text, 'connection: pg')}:" in err
    assert "pull[0].connection: cannot connect to 'pg' (postgresql://127.0.0.1:1/db):" in err
    assert "Connection refused Is the server running" in err and "\\t" not in err


def test_missing_environment_variable(tmp_path: Path) -> None:
    site = {"connections": {"warehouse": {"url": "${CHARTERS_TEST_WAREHOUSE}"}}}
    err, _ = _bad(
        tmp_path,
        {"connection": "warehouse", "sql": GOOD_SQL},
        site=site,
        env={"CHARTERS_TEST_WAREHOUSE": None},
    )
    assert (
        "connection 'warehouse' needs the environment variable CHARTERS_TEST_WAREHOUSE,"
        " which is not set (site.yaml:3: connections.warehouse.url" in err
    )


def test_missing_driver_names_the_extra(tmp_path: Path) -> None:
    site = {
        "connections": {
            "pg": {"url": "postgresql+psycopg2://me@db.example.com/events"},
            "snow": {"url": "snowflake://me@account/db"},
        }
    }
    err, _ = _bad(tmp_path, {"connection": "pg", "sql": GOOD_SQL}, site=site)
    assert "needs the driver module 'psycopg2', which is not installed" in err
    assert "pip install 'metric-charters[postgres]'" in err
    err, _ = _bad(tmp_path, {"connection": "snow", "sql": GOOD_SQL}, site=site)
    assert "needs the SQLAlchemy dialect 'snowflake'" in err
    assert "pip install snowflake-sqlalchemy" in err


@pytest.mark.parametrize(
    ("url", "module", "install"),
    [
        # The driver the URL names, not the dialect's usual one (pyodbc, pymysql).
        ("mssql+pymssql://me@db.example.com/events", "pymssql", "pip install pymssql"),
        ("mysql+mysqldb://me@db.example.com/events", "MySQLdb", "pip install mysqlclient"),
        ("mysql+pymysql://me@db.example.com/events", "pymysql", "pip install pymysql"),
    ],
)
def test_a_missing_driver_is_the_one_the_url_names(
    tmp_path: Path, url: str, module: str, install: str
) -> None:
    site = {"connections": {"db": {"url": url}}}
    err, _ = _bad(tmp_path, {"connection": "db", "sql": GOOD_SQL}, site=site)
    assert f"needs the driver module {module!r}, which is not installed" in err
    assert f"({install})" in err


def test_missing_psycopg_names_the_postgres_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # psycopg is made unimportable in this process, as on an install without the extra.
    for name in [m for m in sys.modules if m == "psycopg" or m.startswith("psycopg.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "psycopg", None)
    site = {"connections": {"pg": {"url": "postgresql+psycopg://me@db.example.com/events"}}}
    err, _ = _bad(tmp_path, {"connection": "pg", "sql": GOOD_SQL}, site=site)
    assert (
        "connection 'pg' (postgresql+psycopg://me@db.example.com/events) needs the driver module"
        " 'psycopg', which is not installed; install it with:"
        " pip install 'metric-charters[postgres]'" in err
    )


def test_progress_is_reported_while_pulling(tmp_path: Path) -> None:
    from generator.pull.run import pull

    pull_charter(
        tmp_path,
        [
            {"into": "results/a.csv", "sql": GOOD_SQL},
            {"into": "results/b.csv", "sql": f"SELECT {PRECISION_ROW}"},
        ],
    )
    calls: list[tuple[int, int, list[str]]] = []
    report = pull(
        tmp_path, progress=lambda done, total, running: calls.append((done, total, running))
    )
    assert report.ok
    assert calls[-1] == (2, 2, [])
    assert all(total == 2 and 0 <= done <= 2 for done, total, _ in calls)


def test_missing_mlflow_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The module is made unimportable in this process, as on an install without the extra.
    for name in [m for m in sys.modules if m == "mlflow" or m.startswith("mlflow.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "mlflow", None)
    site = {"connections": {"tracking": {"mlflow": "sqlite:///mlflow.db"}}}
    pull = {"connection": "tracking", "mlflow": {"experiment": "e", "metrics": {"precision": "p"}}}
    err, _ = _bad(tmp_path, pull, site=site)
    assert "MLflow is not installed; install it with: pip install 'metric-charters[mlflow]'" in err


def test_ctrl_c_cancels_a_running_query_at_once(tmp_path: Path) -> None:
    """After Ctrl-C the command said "interrupted" and then waited for the query to reach
    its timeout (up to 300 s by default) before it exited."""
    import signal
    import subprocess
    import sys

    slow = (
        "SELECT DATE '2026-05-04' AS date, 'ttfr' AS metric, count(*) * 1.0 AS value"
        " FROM range(20000000000000)"
    )
    pull_charter(tmp_path, [{"into": "results/p.csv", "sql": slow, "timeout": 3600}])
    (tmp_path / "charters/routing/results").mkdir(exist_ok=True)
    (tmp_path / "charters/routing/results/p.csv").write_text("date,metric,value\n")
    command = [sys.executable, "-m", "generator", "pull", "--source", str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) as proc:
        time.sleep(3)  # the query is running
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=60)  # its timeout is an hour
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert (tmp_path / "charters/routing/results/p.csv").read_text() == "date,metric,value\n"


def test_a_timeout_past_a_day_is_refused_at_the_field(tmp_path: Path) -> None:
    """`timeout: 1e12` passed `check` and stopped every pull of the run with an internal
    error (a thread cannot wait that long)."""
    text = pull_charter(tmp_path, [{"into": "results/p.csv", "sql": GOOD_SQL, "timeout": 1e12}])
    result = run_pull(tmp_path)
    assert result.exit_code == 1
    line = line_of(text, "timeout:")
    assert f"charters/routing/charter.yaml:{line}:" in result.stderr
    assert "pull[0].timeout:" in result.stderr and "86400" in result.stderr
    assert "internal error" not in result.output


def test_timeout_cancels_the_query(tmp_path: Path) -> None:
    slow = "SELECT DATE '2026-01-04' AS date, 'ttfr' AS metric, CAST(SUM(a.range * b.range) AS DOUBLE) AS value FROM range(100000000) a, range(100000) b"  # noqa: E501
    err, text = _bad(tmp_path, {"sql": slow, "timeout": 0.5})
    assert f"charter.yaml:{line_of(text, 'timeout: 0.5')}:" in err
    assert "pull[0].timeout: the query on 'duckdb' ran longer than its timeout of 0.5 s" in err


@pytest.mark.parametrize(
    ("into", "message"),
    [
        ("../other/results/p.csv", "leaves the charter's folder"),
        ("results/../../p.csv", "leaves the charter's folder"),
        ("results/new/../p.csv", "write it as 'results/p.csv': no '.', '..' or '//' in it"),
        ("./results//p.csv", "write it as 'results/p.csv': no '.', '..' or '//' in it"),
        ("results/p.csv/", "write it as 'results/p.csv': no '.', '..' or '//' in it"),
        ("results/../.p.csv", "'.p.csv' is hidden (its name starts with '.'), and a build"),
        ("results/.old/p.csv", "'.old' is hidden (its name starts with '.'), and a build"),
        ("results/p.csv/..", "must name a .csv file"),
        ("/tmp/p.csv", "must be a path relative to the charter's folder"),
        ("results/p.txt", "must name a .csv file"),
        ("results/p\0q.csv", "must not contain tabs, line breaks or other control characters"),
        ("results/p\nq.csv", "must not contain tabs, line breaks or other control characters"),
    ],
)
def test_a_bad_into_is_refused_before_the_query(tmp_path: Path, into: str, message: str) -> None:
    pull_charter(tmp_path, [{"into": into, "sql": GOOD_SQL}])
    result = run_pull(tmp_path)
    assert result.exit_code == 1
    assert f"pull[0].into: {message}" in result.stderr
    assert not list(tmp_path.rglob("p.csv"))
    # The charter itself is invalid, so check and build say so too.
    _, diags = load_project(tmp_path)
    assert any(d.field == "pull[0].into" for d in diags.errors)


def test_into_through_a_link_out_of_the_folder(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    pull_charter(tmp_path, [{"into": "results/p.csv", "sql": GOOD_SQL}])
    (tmp_path / "charters/routing/results").symlink_to(outside)
    result = run_pull(tmp_path)
    assert result.exit_code == 1
    assert "'results/p.csv' leads out of the charter's folder through a link" in result.stderr
    assert not (outside / "p.csv").exists()


def test_into_a_link_that_loops_is_a_located_error(tmp_path: Path) -> None:
    """A looping link where the file goes ended in an internal RuntimeError (resolve)."""
    pull_charter(tmp_path, [{"into": "results/p.csv", "sql": GOOD_SQL}])
    results = tmp_path / "charters/routing/results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "p.csv").symlink_to("p.csv")
    result = run_pull(tmp_path)
    assert result.exit_code == 1
    assert "internal error" not in result.output
    assert (
        "pull[0].into: 'results/p.csv' is a symbolic link that loops (it leads back to itself);"
        " nothing is written" in result.stderr
    )


def test_into_a_name_too_long_for_the_file_system(tmp_path: Path) -> None:
    into = "results/" + "p" * 300 + ".csv"  # past the 255 bytes a file name may have
    text = pull_charter(tmp_path, [{"into": into, "sql": GOOD_SQL}])
    result = run_pull(tmp_path)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    (line,) = [x for x in result.stderr.splitlines() if "pull[0].into" in x]
    assert line.startswith(f"charters/routing/charter.yaml:{line_of(text, 'into:')}:")
    assert line.endswith("(112 more characters) cannot be a file (File name too long)")
    assert not list((tmp_path / "charters/routing").rglob("*.csv"))


def test_into_a_folder(tmp_path: Path) -> None:
    pull_charter(tmp_path, [{"into": "results/p.csv", "sql": GOOD_SQL}])
    folder = tmp_path / "charters/routing/results/p.csv"
    folder.mkdir(parents=True)
    result = run_pull(tmp_path)
    assert result.exit_code == 1, result.output
    assert "pull[0].into: 'results/p.csv' cannot be a file (Is a directory)" in result.stderr
    assert folder.is_dir() and not any(folder.iterdir())


def test_into_the_longest_file_name_the_system_allows(tmp_path: Path) -> None:
    """The file is written through a temporary name of its own, not the name plus a suffix."""
    into = "results/" + "p" * 251 + ".csv"  # 255 bytes: the limit, exactly
    pull_charter(tmp_path, [{"into": into, "sql": GOOD_SQL}])
    result = run_pull(tmp_path)
    assert result.exit_code == 0, result.output
    folder = tmp_path / "charters/routing/results"
    assert [p.name for p in folder.iterdir()] == [into.removeprefix("results/")]
    assert (folder / into.removeprefix("results/")).read_text() == GOOD_CSV


def test_into_a_file_the_charter_does_not_read(tmp_path: Path) -> None:
    pull_charter(tmp_path, [{"into": "exports/p.csv", "sql": GOOD_SQL}])
    result = run_pull(tmp_path)
    assert result.exit_code == 1
    assert "'exports/p.csv' is not read by this charter: its results globs are results/*.csv" in (
        result.stderr
    )


def test_a_charter_with_a_pull_in_error_runs_none_of_its_pulls(tmp_path: Path) -> None:
    """Its other entry wrote its file while the summary said the charter's pulls did not
    run (review); an MLflow key that is no metric of it is such an error too."""
    site = {"connections": {"tracking": {"mlflow": "sqlite:///m.db"}}}
    mlflow = {"experiment": "router", "metrics": {"routing_prec": "val_p1"}}
    for wrong in (
        {"into": "exports/x.csv", "sql": GOOD_SQL},
        {"into": "results/x.csv", "connection": "tracking", "mlflow": mlflow},
    ):
        pull_charter(tmp_path, [{"into": "results/p.csv", "sql": GOOD_SQL}, wrong], site=site)
        result = run_pull(tmp_path)
        assert result.exit_code == 1
        assert "pull[1]." in result.stderr
        assert "the pulls of a charter or site.yaml in error did not run" in result.stderr
        assert not (tmp_path / "charters/routing/results/p.csv").exists()


def test_a_password_in_site_yaml_is_refused_and_never_printed(tmp_path: Path) -> None:
    site = {"connections": {"w": {"url": "postgresql+psycopg://me:hunter22@db.example.com/x"}}}
    pull_charter(
        tmp_path, [{"into": "results/p.csv", "connection": "w", "sql": GOOD_SQL}], site=site
    )
    result = run_pull(tmp_path)
    assert result.exit_code == 1
    err = result.stderr
    assert "connection 'w' has a password written in site.yaml" in err
    assert "the pulls of a charter or site.yaml in error did not run" in err
    assert "hunter22" not in result.output
    assert not (tmp_path / "charters/routing/results/p.csv").exists()
    # `check` (and so the pull request) says so too; a password from the environment is fine.
    found = [d for d in load_project(tmp_path)[1].sorted() if d.ref.path == "site.yaml"]
    assert [(d.field, d.code) for d in found] == [("connections.w.url", "secret-in-file")]
    assert "hunter22" not in found[0].format_text()
    for written in ("pa#ss", "pa/ss", "pa?ss"):  # read as SQLAlchemy reads a URL
        url = f"postgresql+psycopg://me:{written}@db.example.com/x"
        (tmp_path / "site.yaml").write_text(f'connections:\n  w: {{url: "{url}"}}\n')
        found = [d for d in load_project(tmp_path)[1].sorted() if d.ref.path == "site.yaml"]
        assert [d.code for d in found] == ["secret-in-file"], written
    url = "postgresql+psycopg://me:${CHARTERS_TEST_PASSWORD}@db.example.com/x"
    (tmp_path / "site.yaml").write_text(f'connections:\n  w: {{url: "{url}"}}\n')
    assert [d for d in load_project(tmp_path)[1].sorted() if d.ref.path == "site.yaml"] == []


@pytest.mark.parametrize(
    "uri",
    [
        "http://alice:FilePassword1@127.0.0.1:1",
        "postgresql://charters:FilePassword2@127.0.0.1:1/postgres",
        "http://127.0.0.1:1/?token=FileToken3",
    ],
)
def test_a_secret_in_an_mlflow_uri_in_site_yaml_is_refused(tmp_path: Path, uri: str) -> None:
    """Only `url:` was looked at: an MLflow URI's password or token was taken, and the
    token printed in full."""
    (tmp_path / "site.yaml").write_text(
        f'title: t\nconnections:\n  tracking: {{mlflow: "{uri}"}}\n'
    )
    spec = {"experiment": "e", "metrics": {"precision": "p"}}
    pull_charter(tmp_path, [{"into": "results/p.csv", "connection": "tracking", "mlflow": spec}])
    found = [d for d in load_project(tmp_path)[1].sorted() if d.ref.path == "site.yaml"]
    assert [(d.ref.line, d.field, d.code) for d in found] == [
        (3, "connections.tracking.mlflow", "secret-in-file")
    ]
    result = run_pull(tmp_path)
    assert result.exit_code == 1
    assert (
        "site.yaml:3:22: connections.tracking.mlflow: connection 'tracking' has a password"
        " written in site.yaml; put the URI, or its password, in an environment variable:"
        ' mlflow: "${MLFLOW_TRACKING_URI}"'
    ) in result.stderr
    assert "File" not in result.output + found[0].format_text()


def test_an_unescaped_at_in_a_password_is_refused_and_not_printed(tmp_path: Path) -> None:
    """SQLAlchemy ends a password at its first `@`: the rest was read as the host and
    printed (`charters:***@ssWord99@127.0.0.1`) in every message."""
    site = {"connections": {"w": {"url": "${CHARTERS_TEST_URL}"}}}
    text = pull_charter(
        tmp_path, [{"into": "results/p.csv", "connection": "w", "sql": GOOD_SQL}], site=site
    )
    url = "postgresql+psycopg://charters:Pa@ssWord99@127.0.0.1:1/postgres"
    result = run_pull(tmp_path, env={"CHARTERS_TEST_URL": url})
    assert result.exit_code == 1
    assert (
        f"charters/routing/charter.yaml:{line_of(text, 'connection: w')}:17: pull[0].connection:"
        " connection 'w' (postgresql+psycopg://charters:***@127.0.0.1:1/postgres) has an '@' in"
        " its password or user name that is not escaped"
    ) in result.stderr
    assert "write it %40 in the URL: pass@word as pass%40word" in result.stderr
    assert "ssWord" not in result.output


def test_a_password_that_is_a_word_of_the_message_is_not_masked_in_it(tmp_path: Path) -> None:
    """The password was replaced wherever it stood: `postgres` masked the user and the
    database (postgresql+psycopg://***:***@…/***), which garbled the message and told it."""
    site = {"connections": {"w": {"url": "${CHARTERS_TEST_URL}"}}}
    pull_charter(
        tmp_path, [{"into": "results/p.csv", "connection": "w", "sql": GOOD_SQL}], site=site
    )
    url = "postgresql+psycopg://postgres:postgres@127.0.0.1:1/postgres?sslmode=disable"
    result = run_pull(tmp_path, env={"CHARTERS_TEST_URL": url})
    assert result.exit_code == 1
    assert (
        "cannot connect to 'w' (postgresql+psycopg://postgres:***@127.0.0.1:1/postgres"
        "?sslmode=disable): connection failed:"
    ) in result.stderr


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("at postgresql://u:Pa@ss@w@rd@h:5/db.", "at postgresql://u:***@h:5/db."),
        ("(http://bob:p/a@ss@h:1) and http://x:y@z", "(http://bob:***@h:1) and http://x:***@z"),
        ("http://h:1/?token=t0k&a=1 password=pw x", "http://h:1/?token=***&a=1 password=*** x"),
        ("postgresql+psycopg://u@h/db?host=/tmp", "postgresql+psycopg://u@h/db?host=/tmp"),
    ],
)
def test_hide_masks_every_password_and_secret_parameter(text: str, shown: str) -> None:
    from generator.pull.config import hide

    assert hide(text) == shown


def test_a_password_in_the_urls_query_is_a_secret_too(tmp_path: Path) -> None:
    """`?password=` is read by most drivers: it was printed in every error and not refused
    when written in site.yaml."""
    url = "postgresql+psycopg://ml@127.0.0.1:1/db?sslmode=disable&password=hunter22"
    (tmp_path / "site.yaml").write_text(f'connections:\n  w: {{url: "{url}"}}\n')
    pull_charter(tmp_path, [{"into": "results/p.csv", "connection": "w", "sql": GOOD_SQL}])
    found = [d for d in load_project(tmp_path)[1].sorted() if d.ref.path == "site.yaml"]
    assert [d.code for d in found] == ["secret-in-file"]
    env_url = (
        "postgresql+psycopg://ml@127.0.0.1:1/db?sslmode=disable&password=${CHARTERS_TEST_URL_PW}"
    )
    (tmp_path / "site.yaml").write_text(f'connections:\n  w: {{url: "{env_url}"}}\n')
    result = run_pull(tmp_path, env={"CHARTERS_TEST_URL_PW": "hunter22"})
    assert result.exit_code == 1
    assert "hunter22" not in result.output
    assert "password=%2A%2A%2A" in result.stderr or "password=***" in result.stderr


@pytest.mark.parametrize(
    "param", ["sslpassword", "credentials_base64", "oauth_client_secret", "refresh_token"]
)
def test_the_secret_parameters_of_other_drivers_are_secrets(param: str) -> None:
    """libpq's `sslpassword` and BigQuery's `credentials_base64` were printed in every
    error, and refused in site.yaml by neither `check` nor `pull`."""
    from generator.pull.config import PullError
    from generator.pull.sql import check_url

    raw = f"postgresql+psycopg://u@h:1/d?sslmode=require&{param}=${{A}}"
    shown, secrets = check_url("w", raw, raw.replace("${A}", "s3cr3t-PW"), "site.yaml")
    assert secrets == ("s3cr3t-PW",) or list(secrets) == ["s3cr3t-PW"]
    assert "s3cr3t" not in shown
    with pytest.raises(PullError, match=r"has a password written in site\.yaml"):
        check_url("w", raw.replace("${A}", "written"), raw, "site.yaml")


def test_every_value_of_a_repeated_secret_parameter_is_a_secret() -> None:
    """`?password=a&password=b`: only the last value was kept as a secret, so a driver's
    message quoting the first printed it (the URL shown masks the parameter whole)."""
    from generator.pull.config import PullError
    from generator.pull.sql import check_url

    target = "postgresql+psycopg://u@h:1/d?password=first-s3cret&password=last-s3cret"
    raw = "postgresql+psycopg://u@h:1/d?password=${A}&password=${B}"
    shown, secrets = check_url("w", raw, target, "site.yaml")
    assert sorted(secrets) == ["first-s3cret", "last-s3cret"]
    assert "s3cret" not in shown
    with pytest.raises(PullError, match=r"has a password written in site\.yaml"):
        check_url("w", raw.replace("${A}", "written"), target, "site.yaml")


@pytest.mark.parametrize(
    "url", ["postgresql+psycopg://u@h:abc/db", "postgresql+psycopg://u@[::1/db"]
)
def test_a_url_whose_port_is_no_number_is_a_located_error(tmp_path: Path, url: str) -> None:
    (tmp_path / "site.yaml").write_text("connections:\n  w: {url: '${CHARTERS_TEST_URL}'}\n")
    pull_charter(tmp_path, [{"into": "results/p.csv", "connection": "w", "sql": GOOD_SQL}])
    result = run_pull(tmp_path, env={"CHARTERS_TEST_URL": url})
    assert result.exit_code == 1
    assert "internal error" not in result.output
    assert "connection 'w' is not a SQLAlchemy URL" in result.stderr


def test_a_tree_whose_charters_is_a_file_pulls_nothing_and_fails(tmp_path: Path) -> None:
    """`pull` in a tree whose charters/ is a file said "pulled 0 files" and exited 0."""
    (tmp_path / "site.yaml").write_text("title: T\n", encoding="utf-8")
    (tmp_path / "charters").write_text("not a folder\n", encoding="utf-8")
    result = run_pull(tmp_path)
    assert result.exit_code == 1
    assert "charters: charters is a file, not a folder: put one folder per project in it" in (
        result.stderr
    )
    found = [d.format_text() for d in load_project(tmp_path)[1].sorted()]
    assert "charters: charters is a file, not a folder: put one folder per project in it" in found


def test_two_pulls_into_one_file_run_neither(tmp_path: Path) -> None:
    """The error said the charter's pulls did not run, but both ran and raced on the
    file: it was written."""
    pull_charter(
        tmp_path,
        [{"into": "results/p.csv", "sql": GOOD_SQL}, {"into": "results/p.csv", "sql": GOOD_SQL}],
    )
    result = run_pull(tmp_path)
    assert result.exit_code == 1
    assert "pull[1].into: 'results/p.csv' is also written by pull[0]; each file has one pull" in (
        result.stderr
    )
    assert "the pulls of a charter or site.yaml in error did not run" in result.stderr
    assert not (tmp_path / "charters/routing/results/p.csv").exists()


def test_a_sql_file_that_is_a_named_pipe_is_refused_not_waited_on(tmp_path: Path) -> None:
    """`pull` read the .sql file with no check: a named pipe blocked it for good, while
    `check` called it missing."""
    pull_charter(tmp_path, [{"into": "results/p.csv", "sql": "queries/q.sql"}])
    (tmp_path / "charters/routing/queries").mkdir()
    os.mkfifo(tmp_path / "charters/routing/queries/q.sql")
    result = run_pull(tmp_path)
    assert result.exit_code == 1
    assert "pull[0].sql: 'queries/q.sql' is not a regular file; it is not read" in result.stderr
    (tmp_path / "charters/routing/results").mkdir(exist_ok=True)
    (tmp_path / "charters/routing/results/p.csv").write_text(GOOD_CSV, encoding="utf-8")
    found = [d.format_text() for d in load_project(tmp_path)[1].sorted() if d.code == "no-file"]
    assert len(found) == 1 and "'queries/q.sql' is not a regular file" in found[0]


def test_two_pulls_of_a_charter_that_write_the_same_row_write_neither(tmp_path: Path) -> None:
    """Each pull was checked against the files on disk, not against the other pulls of
    the run: both wrote the 2026-05-03 control row, pull passed, the next build failed."""
    one = "SELECT DATE '2026-05-03' AS date, 'ttfr' AS metric, 'control' AS variant, 6.1 AS value"
    other = one.replace("6.1", "6.4")
    pull_charter(
        tmp_path,
        [{"into": "results/a.csv", "sql": one}, {"into": "results/b.csv", "sql": other}],
    )
    result = run_pull(tmp_path)
    assert result.exit_code == 1
    assert "with the other pulls of this charter: " in result.stderr
    assert "duplicate row (2026-05-03, ttfr, variant 'control')" in result.stderr
    assert not (tmp_path / "charters/routing/results/a.csv").exists()
    assert not (tmp_path / "charters/routing/results/b.csv").exists()
    assert "2 failed (left as they were)" in result.stdout


def test_an_answer_past_the_row_limit_is_refused_as_it_arrives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole answer was fetched (2.1 GB for 3,000,000 rows) before the limit refused it."""
    from generator.pull import sql

    monkeypatch.setattr(sql, "MAX_ROWS", 100)
    monkeypatch.setattr(sql, "FETCH_ROWS", 10)

    query = (
        "SELECT DATE '2026-01-01' + i::INT AS date, 'ttfr' AS metric, 1.0 AS value"
        " FROM range(100000) t(i)"
    )
    pull_charter(tmp_path, [{"into": "results/big.csv", "sql": query}])
    result = run_pull(tmp_path)
    assert result.exit_code == 1
    assert "the query returns more than 100 rows, the limit of a result file" in result.stderr
    assert not (tmp_path / "charters/routing/results/big.csv").exists()


def test_a_row_moving_from_one_pulled_file_to_another_is_not_a_duplicate(tmp_path: Path) -> None:
    """Each pulled file was checked against its siblings' old files on the disk: a row that
    moves from a.csv to b.csv in one run was refused as a duplicate of itself, a.csv was
    written without it and b.csv not at all, so the row was in neither."""
    week = "SELECT DATE '{}' AS date, 'ttfr' AS metric, 'control' AS variant, 6.1 AS value"
    pull_charter(
        tmp_path,
        [
            {"into": "results/a.csv", "sql": week.format("2026-05-10")},
            {"into": "results/b.csv", "sql": week.format("2026-05-03")},
        ],
        files={"results/a.csv": "date,metric,variant,value\n2026-05-03,ttfr,control,6.1\n"},
    )
    result = run_pull(tmp_path)
    assert result.exit_code == 0, result.output
    folder = tmp_path / "charters/routing/results"
    assert (folder / "a.csv").read_text().splitlines()[1:] == ["2026-05-10,ttfr,control,6.1"]
    assert (folder / "b.csv").read_text().splitlines()[1:] == ["2026-05-03,ttfr,control,6.1"]
    # One of the two failing leaves its old file, whose rows the other must not repeat.
    (folder / "a.csv").write_text("date,metric,variant,value\n2026-05-03,ttfr,control,6.1\n")
    (folder / "b.csv").unlink()
    pull_charter(
        tmp_path,
        [
            {"into": "results/a.csv", "sql": "SELECT 1 AS nope"},
            {"into": "results/b.csv", "sql": week.format("2026-05-03")},
        ],
        files={"results/a.csv": "date,metric,variant,value\n2026-05-03,ttfr,control,6.1\n"},
    )
    result = run_pull(tmp_path)
    assert result.exit_code == 1
    assert "with the other pulls of this charter: duplicate row (2026-05-03, ttfr" in result.stderr
    assert not (folder / "b.csv").exists()


def test_one_failing_pull_does_not_stop_the_others(tmp_path: Path) -> None:
    pull_charter(
        tmp_path,
        [
            {"into": "results/good.csv", "sql": GOOD_SQL},
            {"into": "results/bad.csv", "sql": "SELECT 1 AS nope"},
        ],
    )
    result = run_pull(tmp_path)
    assert result.exit_code == 1
    assert (tmp_path / "charters/routing/results/good.csv").read_text() == GOOD_CSV
    assert not (tmp_path / "charters/routing/results/bad.csv").exists()
    assert "pulled 2 files: 1 changed, 0 unchanged, 1 failed (left as they were)" in result.stdout


def test_what_the_pull_did_to_the_charters_leaves_out_a_file_that_could_not_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two pulled files; the disk is full when the first is written. What the pull did to
    # the charter is what the second file alone does: its precision row, and no verdict.
    from generator.pull import run as pull_run

    pull_charter(
        tmp_path,
        [
            {"into": "results/a.csv", "sql": GOOD_SQL},
            {"into": "results/b.csv", "sql": f"SELECT {PRECISION_ROW}"},
        ],
        files={"results/old.csv": OLD + "2026-01-04,precision,0.7\n"},
    )
    real_write = pull_run._write

    def disk_full_for_a(job: pull_run.Job, data: bytes) -> None:
        if job.rel.endswith("/a.csv"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(job, data)

    dry = run_pull(tmp_path, "--dry-run")
    assert "routing: ttfr: 3 rows added" in dry.stdout  # both files would be written
    assert "routing: verdict: No impact → Business impact" in dry.stdout
    monkeypatch.setattr(pull_run, "_write", disk_full_for_a)
    result = run_pull(tmp_path)
    assert result.exit_code == 1
    assert (
        "charter.yaml:33:11: pull[0].into: 'results/a.csv' could not be written"
        " (No space left on device)"
    ) in result.stderr
    assert not (tmp_path / "charters/routing/results/a.csv").exists()
    assert (tmp_path / "charters/routing/results/b.csv").is_file()
    effects = result.stdout.split("What this does to the charters")[1].splitlines()[1:-1]
    assert [line.split(";")[0] for line in effects] == [
        "  routing: precision: 1 row added",
        "  no verdict changes",
    ]
    assert "pulled 2 files: 1 changed, 0 unchanged, 1 failed (left as they were)" in result.stdout


def test_unused_parameter_is_an_error(tmp_path: Path) -> None:
    err, _ = _bad(tmp_path, {"sql": GOOD_SQL, "params": {"sinse": "2026-01-01"}})
    assert "pull[0].params.sinse: parameter 'sinse' is not used by the query" in err


def test_a_misspelt_parameter_names_the_one_meant(tmp_path: Path) -> None:
    sql = "SELECT CAST(:since AS DATE) AS date, 'ttfr' AS metric, 1.0 AS value"
    err, _ = _bad(tmp_path, {"sql": sql, "params": {"sinse": "2026-01-01"}})
    assert (
        "pull[0].params.sinse: parameter 'sinse' is not used by the query (it binds: :since);"
        " did you mean 'since'? The query's :since is given nothing"
    ) in err


def test_a_parameter_the_query_binds_must_be_given(tmp_path: Path) -> None:
    sql = "SELECT CAST(:since AS DATE) AS date, 'ttfr' AS metric, 1.0 AS value"
    err, _ = _bad(tmp_path, {"sql": sql})
    assert "pull[0].sql: the query binds :since, which `params` does not give" in err


def test_a_parameter_or_connection_named_or_given_wrongly_is_one_clear_error(
    tmp_path: Path,
) -> None:
    """A list given as a parameter had five errors (one per kind of value it is not), and
    a name with a space read "is not a valid value: use it must match ^...$"."""
    site = {"connections": {"A B": {"url": "duckdb:///:memory:"}}}
    pull = {"sql": GOOD_SQL, "params": {"a b": 1, "weeks": [1, 2]}}
    pull_charter(tmp_path, [{"into": "results/p.csv", **pull}], site=site)
    found = [f"{d.field}: {d.message}" for d in load_project(tmp_path)[1].sorted()]
    assert "pull[0].params.weeks: expected one value (text, a number, a date, true or" in (
        "\n".join(found)
    )
    assert not [f for f in found if ".weeks." in f]
    assert (
        "pull[0].params.a b.[key]: 'a b' is not a valid parameter name: use letters, digits"
        " and '_', not starting with a digit"
    ) in found
    assert (
        "connections.A B.[key]: 'A B' is not a valid connection name: use lowercase letters,"
        " digits, '_' and '-', starting with a letter, at most 63 characters"
    ) in found


def test_sql_and_mlflow_together_are_refused_by_the_model(tmp_path: Path) -> None:
    pull = {"sql": GOOD_SQL, "mlflow": {"experiment": "e", "metrics": {"precision": "p"}}}
    pull_charter(tmp_path, [{"into": "results/p.csv", **pull}])
    _, diags = load_project(tmp_path)
    assert [d.message for d in diags.errors if d.field == "pull[0]"] == [
        "give exactly one of 'sql' or 'mlflow'"
    ]


def test_a_terminal_sees_progress_and_a_pipe_does_not(tmp_path: Path) -> None:
    import os
    import pty
    import subprocess

    pull_charter(tmp_path, [{"into": "results/a.csv", "sql": GOOD_SQL}])
    command = [sys.executable, "-m", "generator", "pull", "--source", str(tmp_path), "--dry-run"]
    main_fd, child_fd = pty.openpty()
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=child_fd, check=False)
        os.close(child_fd)
        terminal = b""
        while True:
            try:
                chunk = os.read(main_fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            terminal += chunk
    finally:
        os.close(main_fd)
    assert done.returncode == 0
    assert b"pulling: 1/1 done" in terminal
    piped = subprocess.run(command, capture_output=True, check=False)
    assert piped.returncode == 0
    assert b"pulling" not in piped.stderr


def test_a_charter_that_does_not_parse_fails_the_pull_located_and_the_others_still_pull(
    tmp_path: Path,
) -> None:
    """Whether a charter that is not YAML pulls cannot be known: a scheduled pull must not
    report success while skipping it."""
    pull_charter(tmp_path, [{"into": "results/p.csv", "sql": GOOD_SQL}])
    broken = tmp_path / "charters" / "broken" / "charter.yaml"
    broken.parent.mkdir()
    broken.write_text("title: [unclosed\npull:\n  - into: results/p.csv\n", encoding="utf-8")
    result = run_pull(tmp_path)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("charters/broken/charter.yaml:2:5: YAML syntax error:")
    assert "Traceback" not in result.output
    assert (tmp_path / "charters/routing/results/p.csv").is_file()
    assert "pulled 1 file: 1 changed" in result.stdout
    # No pull failed: the closing line does not say one did.
    assert result.stderr.rstrip().endswith(
        "error: 1 problem found; the pulls of a charter or site.yaml in error did not run"
    )


def _pull_with_files_limited_to(
    source: Path, limit: int, *args: str
) -> subprocess.CompletedProcess[str]:
    """`charters pull` in a process that cannot write a file past `limit` bytes (a full
    disk, as far as a copy of a larger file goes: it fails with "File too large")."""
    import resource

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    command = [sys.executable, "-m", "generator", "pull", "--source", str(source), *args]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        command, env=env, capture_output=True, text=True, preexec_fn=limited, check=False
    )


@pytest.mark.parametrize("dry", [False, True])
def test_a_pull_copies_no_raw_data_to_say_what_it_does(tmp_path: Path, dry: bool) -> None:
    """Every pull, dry runs too, copied the whole of charters/ to compare the verdicts:
    raw data beside the query (5 MB here, 1 GB in the field) was copied each time, and
    where it could not be the pull failed with "internal error", writing nothing."""
    pull_charter(
        tmp_path,
        [{"into": "results/p.csv", "sql": GOOD_SQL}],
        files={"data/events.csv": "x" * 5_000_000, "results/old.csv": OLD},
    )
    result = _pull_with_files_limited_to(tmp_path, 1_000_000, *(["--dry-run"] if dry else []))
    assert result.returncode == 0, result.stderr
    assert "What this does to the charters (as `charters diff` reports it):" in result.stdout
    assert "  routing: ttfr: 3 rows added" in result.stdout
    assert "  routing: verdict: No impact → Business impact" in result.stdout
    assert (tmp_path / "charters/routing/results/p.csv").exists() is not dry


def test_the_files_are_written_when_what_they_do_cannot_be_worked_out(tmp_path: Path) -> None:
    """A copy of a result file that failed (a full disk) ended the pull with "internal
    error", and the valid pulled file was not written."""
    pull_charter(
        tmp_path,
        [{"into": "results/p.csv", "sql": GOOD_SQL}],
        files={"results/old.csv": OLD + "\n" * 2_000_000},
    )
    result = _pull_with_files_limited_to(tmp_path, 1_000_000)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "charters/routing/results/p.csv").read_text() == GOOD_CSV
    assert (
        "What this does to the charters (as `charters diff` reports it):\n"
        "  not worked out: the copy of the charters it compares failed (File too large);"
        " the files are pulled all the same, and `charters diff` says what they do\n"
    ) in result.stdout
    assert "Traceback" not in result.stderr and str(tmp_path) not in result.stdout
