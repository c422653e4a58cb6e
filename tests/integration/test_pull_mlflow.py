"""`charters pull` from MLflow: a local tracking store in a temporary folder, runs logged here.

The store is MLflow's SQLite backend (its file store is in maintenance mode). The
runs are logged by this test with the MLflow client, with start times on known
days, so the expected rows are known exactly.
"""

from __future__ import annotations

import importlib.util
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from pull_helpers import line_of, need, pull_charter, run_pull

ENV = "CHARTERS_TEST_MLFLOW_URI"
SITE = {"connections": {"tracking": {"mlflow": "${" + ENV + "}"}}}


@dataclass(frozen=True)
class Store:
    uri: str
    runs: dict[str, str]  # run name: run id


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    need(importlib.util.find_spec("mlflow"), "MLflow is not installed (pip install '.[mlflow]')")
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("support-router")
    runs: dict[str, str] = {}
    logged: list[tuple[str, str, float, float | None, dict[str, str], str]] = [
        # name, start, precision, recall, tags, status
        ("mon-early", "2026-05-04 08:00:00", 0.81, 0.70, {"arm": "a"}, "FINISHED"),
        ("mon-late", "2026-05-04 18:00:00", 0.83, None, {"arm": "a", "stage": "prod"}, "FINISHED"),
        ("tue", "2026-05-05 09:30:00", 0.845, 0.72, {"arm": "b", "stage": "prod"}, "FINISHED"),
        ("tue-failed", "2026-05-05 23:00:00", 0.99, 0.99, {"arm": "a"}, "FAILED"),
    ]
    for name, start, precision, recall, tags, status in logged:
        run = client.create_run(experiment, start_time=_ms(start), tags=tags, run_name=name)
        client.log_metric(run.info.run_id, "val_top1_precision", precision, timestamp=_ms(start))
        if recall is not None:
            client.log_metric(run.info.run_id, "val_recall", recall, timestamp=_ms(start))
        client.set_terminated(run.info.run_id, status=status, end_time=_ms(start) + 60_000)
        runs[name] = run.info.run_id
    yield Store(uri, runs)


def _pull(tmp_path: Path, store: Store, mlflow: dict[str, Any]) -> Any:
    text = pull_charter(
        tmp_path,
        [{"into": "results/offline.csv", "connection": "tracking", "mlflow": mlflow}],
        site=SITE,
    )
    return run_pull(tmp_path, env={ENV: store.uri}), text


def test_latest_run_per_day(tmp_path: Path, store: Store) -> None:
    metrics = {"precision": "val_top1_precision"}
    result, _ = _pull(tmp_path, store, {"experiment": "support-router", "metrics": metrics})
    assert result.exit_code == 0, result.output
    r = store.runs
    assert (tmp_path / "charters/routing/results/offline.csv").read_text() == (
        "date,metric,value,note\n"
        f"2026-05-04,precision,0.83,MLflow run {r['mon-late']}\n"
        f"2026-05-05,precision,0.845,MLflow run {r['tue']}\n"
    )
    again = run_pull(tmp_path, env={ENV: store.uri})
    assert "unchanged (2 rows)" in again.stdout


def test_two_metrics_and_a_variant_tag(tmp_path: Path, store: Store) -> None:
    spec = {
        "experiment": "support-router",
        "metrics": {"precision": "val_top1_precision", "ttfr": "val_recall"},
        "variant": "arm",
    }
    result, _ = _pull(tmp_path, store, spec)
    assert result.exit_code == 0, result.output
    r = store.runs
    # The latest run of each day and arm that logged the metric: mon-late logged no
    # recall, so Monday's is mon-early's (the day's recall was dropped).
    assert (tmp_path / "charters/routing/results/offline.csv").read_text() == (
        "date,metric,variant,value,note\n"
        f"2026-05-04,precision,a,0.83,MLflow run {r['mon-late']}\n"
        f"2026-05-04,ttfr,a,0.7,MLflow run {r['mon-early']}\n"
        f"2026-05-05,precision,b,0.845,MLflow run {r['tue']}\n"
        f"2026-05-05,ttfr,b,0.72,MLflow run {r['tue']}\n"
    )


def test_all_runs_refuses_two_runs_of_one_day_and_arm(tmp_path: Path, store: Store) -> None:
    """`runs: all` gives a row per run; two on one day and arm are duplicate result rows."""
    spec = {
        "experiment": "support-router",
        "metrics": {"precision": "val_top1_precision", "ttfr": "val_recall"},
        "runs": "all",
        "variant": "arm",
    }
    result, text = _pull(tmp_path, store, spec)
    assert result.exit_code == 1
    # At the `mlflow` mapping, which starts at its first key; rows in MLflow's order
    # (newest first): tue's two, then mon-late's, then mon-early's.
    at = f"charters/routing/charter.yaml:{line_of(text, 'experiment:')}:7: pull[0].mlflow:"
    # Each names its run: the row numbers are the tool's, the run ids the user's (review).
    assert result.stderr.splitlines()[:2] == [
        f"{at} row {first}: duplicate row (2026-05-04, precision, variant 'a'): also at row"
        f" {second} of this pull; keep one row per date, metric and variant"
        f" (MLflow run {store.runs[name]})"
        for first, second, name in ((3, 4, "mon-late"), (4, 3, "mon-early"))
    ]
    assert not (tmp_path / "charters/routing/results/offline.csv").exists()


def test_a_filter_string(tmp_path: Path, store: Store) -> None:
    spec = {
        "experiment": "support-router",
        "metrics": {"precision": "val_top1_precision"},
        "runs": "tags.stage = 'prod'",
    }
    result, _ = _pull(tmp_path, store, spec)
    assert result.exit_code == 0, result.output
    rows = (tmp_path / "charters/routing/results/offline.csv").read_text().splitlines()
    assert [row.split(",")[:3] for row in rows[1:]] == [
        ["2026-05-04", "precision", "0.83"],
        ["2026-05-05", "precision", "0.845"],
    ]


def test_an_unknown_experiment_is_located(tmp_path: Path, store: Store) -> None:
    spec = {"experiment": "support-routr", "metrics": {"precision": "val_top1_precision"}}
    result, text = _pull(tmp_path, store, spec)
    assert result.exit_code == 1
    assert f"charter.yaml:{line_of(text, 'experiment: support-routr')}:" in result.stderr
    assert "pull[0].mlflow.experiment: no MLflow experiment named 'support-routr'" in result.stderr
    assert "(experiments: Default, support-router)" in result.stderr


@pytest.mark.parametrize("dry", [False, True], ids=["pull", "dry-run"])
def test_a_store_file_that_is_not_there_is_located_and_not_made(tmp_path: Path, dry: bool) -> None:
    """A typo in a SQLite store's path made an empty 1 MB store there, even on a dry run,
    and read as "no experiment"."""
    spec = {"experiment": "support-router", "metrics": {"precision": "val_top1_precision"}}
    text = pull_charter(
        tmp_path,
        [{"into": "results/offline.csv", "connection": "tracking", "mlflow": spec}],
        site=SITE,
    )
    args = ("--dry-run",) if dry else ()
    result = run_pull(tmp_path, *args, env={ENV: "sqlite:///mlfow-typo.db"})
    assert result.exit_code == 1
    assert f"charter.yaml:{line_of(text, 'connection: tracking')}:" in result.stderr
    assert "names an MLflow store file that is not there" in result.stderr
    assert not (tmp_path / "mlfow-typo.db").exists()


@pytest.mark.parametrize("uri", ["file:./mlrns", "./mlrns", "mlrns", "file:mlrns"])
def test_a_store_folder_that_is_not_there_is_located_and_not_made(tmp_path: Path, uri: str) -> None:
    """A file store's path with a typo: MLflow made `mlrns/0/meta.yaml` and `.trash` there,
    even on a dry run, and the pull read as "no experiment" (review)."""
    spec = {"experiment": "support-router", "metrics": {"precision": "val_top1_precision"}}
    text = pull_charter(
        tmp_path,
        [{"into": "results/offline.csv", "connection": "tracking", "mlflow": spec}],
        site=SITE,
    )
    env = {ENV: uri, "MLFLOW_ALLOW_FILE_STORE": "true"}  # recent MLflow asks for it
    result = run_pull(tmp_path, "--dry-run", env=env)
    assert result.exit_code == 1
    assert f"charter.yaml:{line_of(text, 'connection: tracking')}:" in result.stderr
    assert "names an MLflow store folder that is not there" in result.stderr
    assert not (tmp_path / "mlrns").exists()


def test_a_store_folder_named_with_a_quoted_space_is_found(tmp_path: Path) -> None:
    """`file:///…/my%20runs` is the folder `my runs`, as MLflow reads it (review)."""
    spec = {"experiment": "support-router", "metrics": {"precision": "val_top1_precision"}}
    pull_charter(
        tmp_path,
        [{"into": "results/offline.csv", "connection": "tracking", "mlflow": spec}],
        site=SITE,
    )
    (tmp_path / "my runs").mkdir()
    uri = (tmp_path / "my runs").as_uri()
    assert "%20" in uri
    result = run_pull(tmp_path, "--dry-run", env={ENV: uri, "MLFLOW_ALLOW_FILE_STORE": "true"})
    assert "not there" not in result.stderr, result.stderr


def test_a_metric_key_no_run_logged_is_named_with_those_they_did(
    tmp_path: Path, store: Store
) -> None:
    """`val_top1_precison` read as "the query returned no rows; the previous file is kept
    (check its filters and parameters)": there was no previous file, nor a filter."""
    result, _ = _pull(
        tmp_path,
        store,
        {"experiment": "support-router", "metrics": {"precision": "val_top1_precison"}},
    )
    assert result.exit_code == 1
    assert (
        "pull[0].mlflow.metrics: no run of 'support-router' this pull reads logged the MLflow"
        " metric 'val_top1_precison' (their metrics: " in result.stderr
    )
    assert "val_top1_precision" in result.stderr.split("their metrics: ")[1]


def test_a_variant_tag_no_run_has_is_named(tmp_path: Path, store: Store) -> None:
    """`variant: nosuchtag` wrote every run as a production row, the arms merged (review)."""
    spec = {"experiment": "support-router", "metrics": {"precision": "val_top1_precision"}}
    result, _ = _pull(tmp_path, store, {**spec, "variant": "nosuchtag"})
    assert result.exit_code == 1
    assert (
        "pull[0].mlflow.variant: no run of 'support-router' this pull reads has the tag"
        " 'nosuchtag' its variant is read from (their tags: " in result.stderr
    )
    assert not (tmp_path / "charters/routing/results/offline.csv").exists()
    # MLflow's own tags are tags too: the run's name as the variant (review).
    result, _ = _pull(tmp_path, store, {**spec, "variant": "mlflow.runName"})
    assert result.exit_code == 0, result.output
    written = (tmp_path / "charters/routing/results/offline.csv").read_text()
    assert ",precision,tue," in written


def test_a_variant_tag_no_run_has_names_twenty_tags_and_how_many_more() -> None:
    """The runs' tags were cut at twenty without a word: the list read as all there is."""
    from types import SimpleNamespace

    from generator.pull.config import PullError
    from generator.pull.mlflow_runs import _logged

    tags = {f"tag{i:02d}": "x" for i in range(23)} | {"mlflow.runName": "r"}
    run = SimpleNamespace(data=SimpleNamespace(metrics={"p": 1.0}, tags=tags))
    spec = SimpleNamespace(experiment="exp", metrics={"precision": "p"}, variant="arm")
    with pytest.raises(PullError) as raised:
        _logged([run], spec)
    assert raised.value.message.endswith(
        "(their tags: " + ", ".join(f"tag{i:02d}" for i in range(20)) + ", … (3 more))"
    )


def test_runs_without_the_variant_tag_are_refused(tmp_path: Path, store: Store) -> None:
    """Runs with the tag and runs without it: those without were written as production
    rows beside the arms (review). mon-early has no `stage` tag; mon-late and tue do."""
    spec = {
        "experiment": "support-router",
        "metrics": {"precision": "val_top1_precision"},
        "variant": "stage",
    }
    result, _ = _pull(tmp_path, store, spec)
    assert result.exit_code == 1
    assert (
        "pull[0].mlflow.variant: 1 of the 3 runs of 'support-router' this pull reads has no"
        f" tag 'stage', or an empty one (MLflow run {store.runs['mon-early']}); such a run"
        " would be written as a production row beside the arms: tag it, or select the"
        " tagged runs with runs: \"tags.stage != ''\" (a filter reads every run it"
        " selects, not the latest of each day)"
    ) in result.stderr
    assert not (tmp_path / "charters/routing/results/offline.csv").exists()
    # The filter it suggests is one MLflow takes, and it leaves the untagged run out.
    result, _ = _pull(tmp_path, store, {**spec, "runs": "tags.stage != ''"})
    assert result.exit_code == 0, result.output
    r = store.runs
    assert (tmp_path / "charters/routing/results/offline.csv").read_text() == (
        "date,metric,variant,value,note\n"
        f"2026-05-04,precision,prod,0.83,MLflow run {r['mon-late']}\n"
        f"2026-05-05,precision,prod,0.845,MLflow run {r['tue']}\n"
    )


def test_a_run_with_an_empty_variant_tag_is_refused_and_the_filter_quotes_the_name(
    tmp_path: Path, store: Store
) -> None:
    """A run tagged with an empty value was written as a production row (review); a tag
    name that is no identifier is quoted as MLflow quotes it, in a line YAML reads."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=store.uri)
    experiment = client.create_experiment("quoted-arms")
    for day, arm in (("2026-05-04", "a"), ("2026-05-05", "b"), ("2026-05-06", "")):
        run = client.create_run(experiment, start_time=_ms(f"{day} 09:00:00"), tags={"it's": arm})
        client.log_metric(run.info.run_id, "val_top1_precision", 0.8, timestamp=_ms(day))
        client.set_terminated(run.info.run_id, status="FINISHED")
    spec = {"experiment": "quoted-arms", "metrics": {"precision": "val_top1_precision"}}
    result, _ = _pull(tmp_path, store, {**spec, "variant": "it's"})
    assert result.exit_code == 1
    assert "1 of the 3 runs of 'quoted-arms' this pull reads has no tag" in result.stderr
    suggested = result.stderr.split("with runs: ")[1].split(" (a filter")[0]
    assert suggested == '"tags.\\"it\'s\\" != \'\'"'
    runs = yaml.safe_load(f"runs: {suggested}")["runs"]
    result, _ = _pull(tmp_path, store, {**spec, "variant": "it's", "runs": runs})
    assert result.exit_code == 0, result.output
    written = (tmp_path / "charters/routing/results/offline.csv").read_text()
    assert [line.split(",")[2] for line in written.splitlines()[1:]] == ["a", "b"]


def test_a_bad_filter_string_is_located(tmp_path: Path, store: Store) -> None:
    spec = {
        "experiment": "support-router",
        "metrics": {"precision": "val_top1_precision"},
        "runs": "tags.stage === prod",
    }
    result, _ = _pull(tmp_path, store, spec)
    assert result.exit_code == 1
    assert "pull[0].mlflow.runs: MLflow at sqlite:///" in result.stderr
    assert not (tmp_path / "charters/routing/results/offline.csv").exists()


def test_a_metric_value_that_fails_validation(tmp_path: Path, store: Store) -> None:
    # Precision logged as 0.81..0.845 is fine for `precision`; as the charter's `ttfr`
    # metric it is fine too; a metric id the charter does not declare is refused at its
    # key before anything is read (it was refused once a row, at `mlflow`).
    spec = {"experiment": "support-router", "metrics": {"revenue": "val_top1_precision"}}
    result, text = _pull(tmp_path, store, spec)
    assert result.exit_code == 1
    assert f"charter.yaml:{line_of(text, 'revenue')}:" in result.stderr
    assert "pull[0].mlflow.metrics.revenue: 'revenue' is not a metric of this charter" in (
        result.stderr
    )
    assert "row 1" not in result.stderr


def test_an_mlflow_connection_used_for_sql(tmp_path: Path, store: Store) -> None:
    pull_charter(
        tmp_path,
        [{"into": "results/offline.csv", "connection": "tracking", "sql": "SELECT 1"}],
        site=SITE,
    )
    result = run_pull(tmp_path, env={ENV: store.uri})
    assert result.exit_code == 1
    assert "connection 'tracking' is an MLflow tracking store; use `mlflow:`" in result.stderr


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("http://127.0.0.1:1/?token=EnvToken8", "'tracking' (http://127.0.0.1:1/?token=***)"),
        ("http://bob:Pa@ssWord99@127.0.0.1:1", "'tracking' (http://bob:***@127.0.0.1:1)"),
    ],
)
def test_an_mlflow_uris_token_and_password_are_never_printed(
    tmp_path: Path, uri: str, shown: str
) -> None:
    """`?token=` was printed in full (only a password was masked), and of a password with
    an `@` the part after it."""
    need(importlib.util.find_spec("mlflow"), "MLflow is not installed (pip install '.[mlflow]')")
    spec = {"experiment": "support-router", "metrics": {"precision": "val_top1_precision"}}
    pull_charter(
        tmp_path,
        [{"into": "results/offline.csv", "connection": "tracking", "mlflow": spec}],
        site=SITE,
    )
    result = run_pull(tmp_path, env={ENV: uri, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"})
    assert result.exit_code == 1
    assert f"pull[0].connection: cannot connect to {shown}: Connection refused" in result.stderr
    assert "EnvToken" not in result.output and "ssWord" not in result.output


def _closed_port() -> int:
    """A port of this machine nothing listens on (bound, then let go)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.mark.parametrize(
    ("scheme", "module"), [("http", "mlflow"), ("postgresql+psycopg", "psycopg")]
)
def test_a_tracking_server_or_store_database_that_is_down_fails_at_once(
    tmp_path: Path, scheme: str, module: str
) -> None:
    """MLflow retries a server that refuses for minutes, printing each failure (ten engines
    over some 100 s for a database, seven requests over some 4 minutes for HTTP): the pull
    asks once and says the connection failed, at the connection."""
    need(importlib.util.find_spec("mlflow"), "MLflow is not installed (pip install '.[mlflow]')")
    need(importlib.util.find_spec(module), f"{module} is not installed")
    uri = f"{scheme}://127.0.0.1:{_closed_port()}" + ("/db" if module == "psycopg" else "")
    spec = {"experiment": "support-router", "metrics": {"precision": "val_top1_precision"}}
    text = pull_charter(
        tmp_path,
        [{"into": "results/offline.csv", "connection": "tracking", "mlflow": spec}],
        site=SITE,
    )
    result = run_pull(tmp_path, env={ENV: uri})
    assert result.exit_code == 1
    where = f"charters/routing/charter.yaml:{line_of(text, 'connection: tracking')}"
    assert f"{where}:17: pull[0].connection: cannot connect to 'tracking' ({uri}): " in (
        result.stderr
    )
    assert "Connection refused" in result.stderr
    assert "retried" not in result.output and "WARNING" not in result.output
    assert not (tmp_path / "charters/routing/results/offline.csv").exists()
