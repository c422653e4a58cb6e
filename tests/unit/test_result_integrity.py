"""Result integrity: every rule a result row keeps, each broken at a known cell of a CSV,
JSON and YAML file, and the located message a user reads for it.

Rows are written by `ResultFile`, which renders the same rows in each format and records
where each cell (CSV), key (JSON) or value node (YAML) stands, independently of the
loader's own position index. Each test asserts the whole prefix
`path:line:col: [row].field: ` and the words that name the rule and what is allowed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from factory import business_metric, charter_data, guardrail, ml_metric, write_charter

from generator.load import load_project

FORMATS = ("csv", "json", "yaml")
COLUMNS = ("date", "metric", "variant", "value", "lower", "upper", "n", "std", "note")
TODAY = date(2026, 6, 1)
FOLDER = "charters/shop/results"


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@dataclass
class ResultFile:
    """Rows rendered as one result file, with the line:col of every cell and row."""

    fmt: str
    rows: list[dict[str, Any]]
    text: str = ""
    cells: dict[tuple[int, str], str] = field(default_factory=dict)
    starts: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        {"csv": self._csv, "json": self._json, "yaml": self._yaml}[self.fmt]()

    def _csv(self) -> None:
        used = [c for c in COLUMNS if any(c in r for r in self.rows)]
        lines = [",".join(used)]
        for i, row in enumerate(self.rows):
            col = 1
            cells = []
            for name in used:
                text = _cell(row[name]) if name in row else ""
                if name in row:
                    self.cells[(i, name)] = f"{i + 2}:{col}"
                cells.append(text)
                col += len(text) + 1
            self.starts[i] = f"{i + 2}:1"
            lines.append(",".join(cells))
        self.text = "\n".join(lines) + "\n"

    def _json(self) -> None:
        lines = ["["]
        for i, row in enumerate(self.rows):
            line = "  {"
            self.starts[i] = f"{i + 2}:3"
            parts = []
            for name, value in row.items():
                col = len(line) + sum(len(p) + 2 for p in parts) + 1
                self.cells[(i, name)] = f"{i + 2}:{col}"
                parts.append(f"{json.dumps(name)}: {json.dumps(value)}")
            lines.append(line + ", ".join(parts) + ("}," if i < len(self.rows) - 1 else "}"))
        lines.append("]")
        self.text = "\n".join(lines) + "\n"

    def _yaml(self) -> None:
        lines = ["# exported weekly"]
        for i, row in enumerate(self.rows):
            self.starts[i] = f"{len(lines) + 1}:3"
            for j, (name, value) in enumerate(row.items()):
                lead = "- " if j == 0 else "  "
                self.cells[(i, name)] = f"{len(lines) + 1}:{len(lead) + len(name) + 3}"
                lines.append(f"{lead}{name}: {_cell(value)}")
        self.text = "\n".join(lines) + "\n"


def shop_charter() -> dict[str, Any]:
    """A charter with a metric of each kind of bound: %, ratio, a declared range, one-sided."""
    return charter_data(
        business_metrics=[
            business_metric("conv"),  # %
            business_metric(
                "tickets",
                unit="tickets",
                direction="decrease",
                baseline=120,
                target=90,
                range=[0, None],
            ),
        ],
        ml_metrics=[ml_metric("prec", drives=["conv"])],  # ratio
        guardrails=[
            guardrail("csat", unit="score", direction="increase", tolerance=0.1, range=[1, 5]),
            guardrail("margin", unit="pp", direction="increase", tolerance=1, range=[None, 40]),
        ],
    )


GOOD = {"date": "2026-05-04", "metric": "conv", "variant": "control", "value": 10.5, "n": 900}


def write_results(root: Path, fmt: str, rows: list[dict[str, Any]], name: str = "weekly") -> str:
    """Write the shop charter and `rows` as results/<name>.<fmt>; return the file's path."""
    write_charter(root, "shop", shop_charter())
    result_file = ResultFile(fmt, rows)
    path = f"{FOLDER}/{name}.{fmt}"
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    (root / path).write_text(result_file.text, encoding="utf-8")
    return path


def errors(root: Path, today: date = TODAY) -> list[str]:
    _, diags = load_project(root, today=today)
    return [d.format_text() for d in diags.sorted()]


# --- one broken rule at a time ---------------------------------------------------------

# (row written second, the cell that is wrong, what the message says)
BROKEN: dict[str, tuple[dict[str, Any], str, str]] = {
    "ratio-above-1": (
        {"date": "2026-05-11", "metric": "prec", "value": 95},
        "value",
        "95 is not a ratio; a ratio is between 0 and 1",
    ),
    "ratio-below-0": (
        {"date": "2026-05-11", "metric": "prec", "value": -0.2},
        "value",
        "-0.2 is not a ratio; a ratio is between 0 and 1",
    ),
    "ratio-lower-bound": (
        {"date": "2026-05-11", "metric": "prec", "value": 0.05, "lower": -0.1, "upper": 0.2},
        "lower",
        "-0.1 is not a ratio; a ratio is between 0 and 1",
    ),
    "ratio-upper-bound": (
        {"date": "2026-05-11", "metric": "prec", "value": 0.95, "lower": 0.9, "upper": 1.02},
        "upper",
        "1.02 is not a ratio; a ratio is between 0 and 1",
    ),
    "percent-above-100": (
        {"date": "2026-05-11", "metric": "conv", "variant": "treatment", "value": 450},
        "value",
        "450 is not a percentage; a percentage (unit '%') is between 0 and 100",
    ),
    "percent-below-0": (
        {"date": "2026-05-11", "metric": "conv", "value": -3},
        "value",
        "-3 is not a percentage; a percentage (unit '%') is between 0 and 100",
    ),
    "declared-range": (
        {"date": "2026-05-11", "metric": "csat", "value": 6},
        "value",
        "6 is outside the range [1, 5] declared for csat; its values are between 1 and 5",
    ),
    "declared-range-lower-bound": (
        {"date": "2026-05-11", "metric": "csat", "value": 1.2, "lower": 0.5, "upper": 1.9},
        "lower",
        "0.5 is outside the range [1, 5] declared for csat; its values are between 1 and 5",
    ),
    "declared-low-only": (
        {"date": "2026-05-11", "metric": "tickets", "value": -4},
        "value",
        "-4 is outside the range [0, null] declared for tickets; its values are at least 0",
    ),
    "declared-high-only": (
        {"date": "2026-05-11", "metric": "margin", "value": 41.5},
        "value",
        "41.5 is outside the range [null, 40] declared for margin; its values are at most 40",
    ),
    "n-zero": (
        {"date": "2026-05-11", "metric": "conv", "value": 11.0, "n": 0},
        "n",
        "0 is not a sample size; n is a whole number, at least 1",
    ),
    "n-negative": (
        {"date": "2026-05-11", "metric": "conv", "value": 11.0, "n": -40},
        "n",
        "-40 is not a sample size; n is a whole number, at least 1",
    ),
    "n-fraction": (
        {"date": "2026-05-11", "metric": "conv", "value": 11.0, "n": 412.5},
        "n",
        "412.5 is not a sample size; n is a whole number, at least 1",
    ),
    "std-negative": (
        {"date": "2026-05-11", "metric": "csat", "value": 4.2, "n": 800, "std": -1.1},
        "std",
        "-1.1 is not a standard deviation; std is 0 or more",
    ),
    "lower-above-value": (
        {"date": "2026-05-11", "metric": "csat", "value": 4.2, "lower": 4.3, "upper": 4.4},
        "lower",
        "lower (4.3) must be <= value (4.2); the interval [lower, upper] holds the value",
    ),
    "upper-below-value": (
        {"date": "2026-05-11", "metric": "csat", "value": 4.2, "lower": 4.1, "upper": 4.15},
        "upper",
        "upper (4.15) must be >= value (4.2); the interval [lower, upper] holds the value",
    ),
    "dated-after-the-build-date": (
        {"date": "2026-06-02", "metric": "conv", "value": 11.0},
        "date",
        "2026-06-02 is after the build date, 2026-06-01; a result cannot be dated later than"
        " the build",
    ),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_rule_is_located_at_its_cell(tmp_path: Path, case: str, fmt: str) -> None:
    bad, cell, message = BROKEN[case]
    path = write_results(tmp_path, fmt, [GOOD, bad])
    where = ResultFile(fmt, [GOOD, bad]).cells[(1, cell)]
    assert errors(tmp_path) == [f"{path}:{where}: [1].{cell}: {message}" + _tail(case)]


def _tail(case: str) -> str:
    return " (--today, else SOURCE_DATE_EPOCH, else today)" if case.startswith("dated") else ""


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_broken_row_leaves_the_charter_out(tmp_path: Path, fmt: str) -> None:
    bad = {"date": "2026-05-11", "metric": "prec", "value": 95}
    write_results(tmp_path, fmt, [GOOD, bad])
    project, diags = load_project(tmp_path, today=TODAY)
    assert diags.errors and project.charters == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_values_on_every_bound_are_accepted(tmp_path: Path, fmt: str) -> None:
    rows = [
        {"date": "2026-05-04", "metric": "prec", "value": 0, "lower": 0, "upper": 0.01},
        {"date": "2026-05-04", "metric": "prec", "variant": "t", "value": 1, "upper": 1},
        {"date": "2026-05-04", "metric": "conv", "value": 100, "lower": 0, "n": 1, "std": 0},
        {"date": "2026-05-04", "metric": "csat", "value": 1, "lower": 1, "upper": 5},
        {"date": "2026-05-04", "metric": "csat", "variant": "t", "value": 5},
        {"date": "2026-05-04", "metric": "tickets", "value": 0},
        {"date": "2026-05-04", "metric": "margin", "value": 40, "lower": -1000},
        # Dated on the build date itself: a build on that day may hold that day's result.
        {"date": "2026-06-01", "metric": "conv", "value": 12.5},
    ]
    write_results(tmp_path, fmt, rows)
    project, diags = load_project(tmp_path, today=TODAY)
    assert [d.format_text() for d in diags] == []
    assert len(project.charters[0].results) == len(rows)


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_a_whole_n_written_as_a_decimal_is_a_count(tmp_path: Path, fmt: str) -> None:
    # Data-frame exports write counts as 4188.0; CSV already reads that as 4188.
    write_results(tmp_path, fmt, [{**GOOD, "n": 4188.0}])
    project, diags = load_project(tmp_path, today=TODAY)
    assert [d.format_text() for d in diags] == []
    assert project.charters[0].results[0].row.n == 4188


def test_a_unit_is_recognised_in_any_case(tmp_path: Path) -> None:
    data = shop_charter()
    data["ml_metrics"][0]["unit"] = " Ratio"
    write_charter(tmp_path, "shop", data)
    (tmp_path / FOLDER).mkdir(parents=True)
    (tmp_path / FOLDER / "w.csv").write_text("date,metric,value\n2026-05-04,prec,1.5\n")
    assert errors(tmp_path) == [
        f"{FOLDER}/w.csv:2:17: [0].value: 1.5 is not a ratio; a ratio is between 0 and 1"
    ]


def test_every_broken_cell_of_a_row_is_reported(tmp_path: Path) -> None:
    row = {"date": "2026-07-01", "metric": "prec", "value": 2, "n": 0, "std": -1}
    path = write_results(tmp_path, "csv", [row])
    assert errors(tmp_path) == [
        f"{path}:2:1: [0].date: 2026-07-01 is after the build date, 2026-06-01; a result cannot"
        " be dated later than the build (--today, else SOURCE_DATE_EPOCH, else today)",
        f"{path}:2:17: [0].value: 2 is not a ratio; a ratio is between 0 and 1",
        f"{path}:2:19: [0].n: 0 is not a sample size; n is a whole number, at least 1",
        f"{path}:2:21: [0].std: -1 is not a standard deviation; std is 0 or more",
    ]


def test_the_build_date_defaults_to_source_date_epoch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_results(tmp_path, "csv", [GOOD])
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1777766400")  # 2026-05-03T00:00:00Z
    _, diags = load_project(tmp_path)
    assert [d.format_text() for d in diags] == [
        f"{path}:2:1: [0].date: 2026-05-04 is after the build date, 2026-05-03; a result"
        " cannot be dated later than the build (--today, else SOURCE_DATE_EPOCH, else today)"
    ]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1777852800")  # 2026-05-04T00:00:00Z
    assert [d.format_text() for d in load_project(tmp_path)[1]] == []


# --- one row per (date, metric, variant) ------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_duplicate_row_is_reported_at_both_rows(tmp_path: Path, fmt: str) -> None:
    again = {**GOOD, "value": 12.0, "note": "re-export"}
    other = {**GOOD, "variant": "treatment"}  # same date and metric, another variant: fine
    rows = [GOOD, other, again]
    path = write_results(tmp_path, fmt, rows)
    starts = ResultFile(fmt, rows).starts
    what = "duplicate row (2026-05-04, conv, variant 'control'): also at"
    rule = "; keep one row per date, metric and variant"
    assert errors(tmp_path) == [
        f"{path}:{starts[0]}: [0]: {what} {path}:{starts[2]}{rule}",
        f"{path}:{starts[2]}: [2]: {what} {path}:{starts[0]}{rule}",
    ]
    project, _ = load_project(tmp_path, today=TODAY)
    assert project.charters == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_duplicate_production_row_is_reported(tmp_path: Path, fmt: str) -> None:
    row = {"date": "2026-05-04", "metric": "tickets", "value": 80}
    rows = [row, {**row, "value": 60}, {**row, "value": 70}]
    path = write_results(tmp_path, fmt, rows)
    starts = ResultFile(fmt, rows).starts
    found = errors(tmp_path)
    assert len(found) == 3
    assert found[1] == (
        f"{path}:{starts[1]}: [1]: duplicate row (2026-05-04, tickets, no variant): also at"
        f" {path}:{starts[0]}, {path}:{starts[2]}; keep one row per date, metric and variant"
    )


def test_a_duplicate_across_two_files_is_reported_in_both(tmp_path: Path) -> None:
    first = write_results(tmp_path, "csv", [GOOD], name="ab-test")
    again = {**GOOD, "value": 9.0}
    other = {**GOOD, "date": "2026-05-11"}
    second = f"{FOLDER}/late-export.json"
    json_file = ResultFile("json", [other, again])
    (tmp_path / second).write_text(json_file.text, encoding="utf-8")
    what = "duplicate row (2026-05-04, conv, variant 'control'): also at"
    rule = "; keep one row per date, metric and variant"
    assert errors(tmp_path) == [
        f"{first}:2:1: [0]: {what} {second}:{json_file.starts[1]}{rule}",
        f"{second}:{json_file.starts[1]}: [1]: {what} {first}:2:1{rule}",
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_refused_row_still_counts_as_a_copy(tmp_path: Path, fmt: str) -> None:
    # The second row breaks a rule too; it is still a second row for the same key.
    rows = [GOOD, {**GOOD, "value": 450}]
    path = write_results(tmp_path, fmt, rows)
    result_file = ResultFile(fmt, rows)
    starts, cells = result_file.starts, result_file.cells
    what = "duplicate row (2026-05-04, conv, variant 'control'): also at"
    rule = "; keep one row per date, metric and variant"
    assert errors(tmp_path) == [
        f"{path}:{starts[0]}: [0]: {what} {path}:{starts[1]}{rule}",
        f"{path}:{starts[1]}: [1]: {what} {path}:{starts[0]}{rule}",
        f"{path}:{cells[(1, 'value')]}: [1].value: 450 is not a percentage; a percentage"
        " (unit '%') is between 0 and 100",
    ]


def test_many_copies_are_counted_not_all_listed(tmp_path: Path) -> None:
    """20,000 copies of a row: each is reported, naming five others and the count."""
    count = 20_000
    write_charter(tmp_path, "shop", shop_charter())
    path = f"{FOLDER}/many.csv"
    (tmp_path / FOLDER).mkdir(parents=True)
    row = "2026-05-04,conv,control,10.5\n"
    (tmp_path / path).write_text("date,metric,variant,value\n" + row * count)
    found = errors(tmp_path)
    assert len(found) == count
    others = ", ".join(f"{path}:{line}:1" for line in range(3, 8))
    assert found[0] == (
        f"{path}:2:1: [0]: duplicate row (2026-05-04, conv, variant 'control'): also at"
        f" {others} and {count - 6:,} more; keep one row per date, metric and variant"
    )
    assert found[-1].startswith(f"{path}:{count + 1}:1: [{count - 1}]: duplicate row")
    assert f"{path}:2:1, {path}:3:1, " in found[-1]


def test_a_duplicate_is_found_by_date_not_by_spelling(tmp_path: Path) -> None:
    # YAML reads 2026-05-04 as a date, JSON keeps "2026-05-04" as text: the same day.
    write_results(tmp_path, "yaml", [GOOD], name="a")
    (tmp_path / FOLDER / "b.json").write_text(json.dumps([{**GOOD, "value": 1.0}]))
    assert len(errors(tmp_path)) == 2


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("weekly.csv", "date,metric,value\n2026-05-04,conv,1e400\n", "2:17"),
        ("weekly.json", '[{"date": "2026-05-04", "metric": "conv", "value": -1e400}]', "1:43"),
        ("weekly.yaml", "- {date: 2026-05-04, metric: conv, value: 1e400}\n", "1:43"),
    ],
)
def test_a_decimal_beyond_a_float_is_too_large_not_infinite(
    tmp_path: Path, name: str, text: str, where: str
) -> None:
    # 1e400 overflows to infinity when read; the message said "got inf", a number the
    # file does not hold, instead of the limit every too-large number is told.
    write_charter(tmp_path, "shop", shop_charter())
    (tmp_path / FOLDER).mkdir(parents=True)
    (tmp_path / FOLDER / name).write_text(text, encoding="utf-8")
    assert errors(tmp_path) == [
        f"{FOLDER}/{name}:{where}: [0].value: the number is too large: numbers are limited to"
        " ±1e+15 (the statistics and charts cannot work with larger ones; change the unit)"
    ]


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("weekly.csv", "date,metric,value,n\n2026-05-04,conv,1,1e400\n", "2:19"),
        ("weekly.json", '[{"date": "2026-05-04", "metric": "conv", "value": 1, "n": 1e400}]',
         "1:55"),
        ("weekly.yaml", "- {date: 2026-05-04, metric: conv, value: 1, n: 1e400}\n", "1:49"),
        ("weekly.yaml", f"- {{date: 2026-05-04, metric: conv, value: 1, n: {'9' * 400}}}\n",
         "1:49"),
    ],
)  # fmt: skip
def test_a_sample_size_beyond_a_float_is_too_large(
    tmp_path: Path, name: str, text: str, where: str
) -> None:
    # It said "expected a whole number, got the number 1.79769e+308" (CSV), "a whole
    # number of about 308 digits" (JSON), and for YAML's 400 nines suggested quoting it.
    write_charter(tmp_path, "shop", shop_charter())
    (tmp_path / FOLDER).mkdir(parents=True)
    (tmp_path / FOLDER / name).write_text(text, encoding="utf-8")
    (error,) = errors(tmp_path)
    assert error.startswith(f"{FOLDER}/{name}:{where}: [0].n: ")
    assert error.endswith(
        "is too large: numbers are limited to ±1e+15 (the statistics and charts cannot"
        " work with larger ones; change the unit)"
    )
    assert "1.79769e+308" not in error and "digits" not in error and "quote" not in error


# --- arms: one row per date, metric and arm, each arm written one way --------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_two_control_arms_on_one_date_are_refused(tmp_path: Path, fmt: str) -> None:
    # The lift is measured against one control arm; with two, which one was a guess
    # (the last read), and a backfilled holdout row changed a past date's lift.
    holdout = {**GOOD, "variant": "holdout", "value": 12.0}
    rows = [GOOD, {**GOOD, "variant": "treatment", "value": 11.0}, holdout]
    path = write_results(tmp_path, fmt, rows)
    starts = ResultFile(fmt, rows).starts
    what = "duplicate row (2026-05-04, conv, control arms 'control', 'holdout'): also at"
    rule = (
        "; the lift is measured against one control arm, so keep one control row per date and"
        " metric (control names: a/a, baseline, control, ctrl, holdout)"
    )
    assert errors(tmp_path) == [
        f"{path}:{starts[0]}: [0]: {what} {path}:{starts[2]}{rule}",
        f"{path}:{starts[2]}: [2]: {what} {path}:{starts[0]}{rule}",
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_arm_written_two_ways_is_refused(tmp_path: Path, fmt: str) -> None:
    # `Treatment` and `treatment` are one arm: on one date they are a duplicate, and on
    # different dates the lift would pair only one spelling's rows.
    rows = [
        {**GOOD, "variant": "treatment", "value": 11.0},
        {**GOOD, "variant": "Treatment", "value": 14.0},
        {**GOOD, "date": "2026-05-11", "variant": "TREATMENT", "value": 14.0},
    ]
    path = write_results(tmp_path, fmt, rows)
    starts = ResultFile(fmt, rows).starts
    dup = "duplicate row (2026-05-04, conv, variant written 'treatment', 'Treatment'): also at"
    rule = (
        "; variants are told apart without case and surrounding spaces, so these are one arm:"
        " keep one row per date, metric and variant, written one way"
    )

    def spelling(i: int, text: str) -> str:
        return (
            f"{path}:{starts[i]}: [{i}].variant: variant {text!r} is the arm 'treatment' (first"
            f" at {path}:{starts[0]}) written another way; variants are told apart without case"
            " and surrounding spaces, so write each one way"
        )

    assert errors(tmp_path) == [
        f"{path}:{starts[0]}: [0]: {dup} {path}:{starts[1]}{rule}",
        f"{path}:{starts[1]}: [1]: {dup} {path}:{starts[0]}{rule}",
        spelling(1, "Treatment"),
        spelling(2, "TREATMENT"),
    ]


@pytest.mark.parametrize("hidden", ["\u200b", "\x00", "\u00a0", "\u2028"])
def test_a_variant_with_an_invisible_character_is_refused(tmp_path: Path, hidden: str) -> None:
    # `treatment` and `treatment` + a zero-width space look alike on a page, and were two
    # arms: the second gave the latest value and met the target.
    rows = [GOOD, {**GOOD, "variant": f"treatment{hidden}", "value": 11.0}]
    path = write_results(tmp_path, "json", rows)
    starts = ResultFile("json", rows).starts
    [found] = errors(tmp_path)
    line = starts[1].split(":")[0]
    assert found.startswith(f"{path}:{line}:")  # at the variant's cell
    assert found.endswith(
        f": [1].variant: {f'treatment{hidden}'!r} holds the invisible character"
        f" U+{ord(hidden):04X}; write the variant in visible characters (two arms that look"
        " alike are shown as one)"
    )


@pytest.mark.parametrize(
    ("variant", "scripts"),
    [("\u0441ontrol", "Cyrillic and Latin"), ("tre\u03b1tment", "Greek and Latin"),
     ("c\u0585ntrol", "Armenian and Latin"), ("model-\u0391lpha", "Greek and Latin"),
     ("\u0441\u03bf", "Cyrillic and Greek")],
)  # fmt: skip
def test_a_variant_mixing_look_alike_alphabets_is_refused(
    tmp_path: Path, variant: str, scripts: str
) -> None:
    # A Cyrillic 'с' in 'control' made an arm that reads as control but is not one: the
    # week's real control row was left out, and a breached guardrail read within tolerance.
    rows = [GOOD, {**GOOD, "variant": variant, "value": 11.0}]
    path = write_results(tmp_path, "json", rows)
    which = " in the word '\u0391lpha'" if variant.startswith("model-") else ""
    [found] = errors(tmp_path)
    assert found.startswith(f"{path}:{ResultFile('json', rows).starts[1].split(':')[0]}:")
    assert found.endswith(
        f": [1].variant: {variant!r} mixes {scripts} letters{which}; write each word of the"
        " variant in one alphabet (a look-alike letter, such as a Cyrillic 'с' in 'control',"
        " makes an arm that reads as another)"
    )


@pytest.mark.parametrize("variant", ["\U0001d5bcontrol", "\uff43ontrol", "\ufb01nal-arm"])
def test_a_variant_in_compatibility_letters_is_refused(tmp_path: Path, variant: str) -> None:
    # Mathematical and fullwidth letters, ligatures: they fold to plain letters (NFKC).
    rows = [GOOD, {**GOOD, "variant": variant, "value": 11.0}]
    write_results(tmp_path, "json", rows)
    [found] = errors(tmp_path)
    assert f"{variant!r} is written in compatibility characters" in found


def test_a_variant_whose_words_keep_to_one_alphabet_or_copy_no_latin_is_accepted(
    tmp_path: Path,
) -> None:
    # The Japanese marks `ー` and `々` and Hawaiian's ʻokina are letters of every script;
    # Japanese, Chinese and Thai write Latin letters in their unspaced words (`ทีมAI`):
    # none of their letters copies a Latin one. Words in two alphabets side by side are
    # a name as written. (Beside control, one arm is named `treatment`: the one compared.)
    rows = [
        GOOD,
        {**GOOD, "variant": "treatment"},
        *(
            {**GOOD, "variant": name}
            for name in (
                *("контроль-2", "ранжирование", "新モデル", "AIモデルー", "Hawaiʻi", "model-β"),
                *("佐々木AI", "ทีมAI", "μ-arm", "ML Команда"),
            )
        ),
    ]
    write_results(tmp_path, "json", rows)
    assert errors(tmp_path) == []


def test_a_variant_holding_an_invisible_mark_is_refused(tmp_path: Path) -> None:
    # A combining grapheme joiner, a variation selector, a Hangul filler: each shows
    # nothing, and each made an arm of its own that reads as `treatment`.
    for mark in ("\u034f", "\u3164"):
        rows = [GOOD, {**GOOD, "variant": f"treatme{mark}nt", "value": 11.0}]
        write_results(tmp_path, "json", rows)
        [found] = errors(tmp_path)
        assert f"holds the invisible character U+{ord(mark):04X}" in found, found


def test_a_selector_is_part_of_a_variant_that_reads_as_no_other_arm(tmp_path: Path) -> None:
    # An emoji's U+FE0F chooses how it is drawn: `❤️ arm` is a name as written. Beside
    # `treatment`, `treatment` with one is that arm written another way.
    rows = [GOOD, {**GOOD, "variant": "\u2764\ufe0f arm", "value": 11.0}]
    write_results(tmp_path, "json", rows)
    assert errors(tmp_path) == []
    rows = [
        {**GOOD, "variant": "treatment"},
        {**GOOD, "date": "2026-05-11", "variant": "treatment\ufe0f", "value": 11.0},
    ]
    write_results(tmp_path, "json", rows)
    [found] = errors(tmp_path)
    assert "variant 'treatment\ufe0f' reads as the arm 'treatment'" in found, found
    assert "it holds the invisible character U+FE0F" in found, found


def test_an_accent_written_apart_in_a_variant_is_told_as_such(tmp_path: Path) -> None:
    rows = [GOOD, {**GOOD, "variant": "cafe\u0301", "value": 11.0}]
    write_results(tmp_path, "json", rows)
    [found] = errors(tmp_path)
    assert found.endswith(
        "[1].variant: 'cafe\u0301' is written decomposed (NFD: an accent, or a Hangul"
        " syllable's letters, written as separate characters); write it as 'café' (two arms"
        " that look alike are shown as one)"
    ), found


def test_an_arm_written_in_letters_that_copy_latin_ones_is_refused(tmp_path: Path) -> None:
    # `В` (Cyrillic) is one alphabet, yet it reads as the arm `B` on the page: two arms.
    rows = [
        {**GOOD, "variant": "B"},
        {**GOOD, "date": "2026-05-11", "variant": "\u0412", "value": 11.0},
    ]
    path = write_results(tmp_path, "json", rows)
    [found] = errors(tmp_path)
    assert found.startswith(f"{path}:")
    assert f"[1].variant: variant '\u0412' reads as the arm 'B' (first at {path}:" in found
    assert found.endswith(
        ") but its '\u0412' is a Cyrillic letter that looks like the Latin 'B'; write each arm"
        " one way (arms that look alike are shown as one)"
    ), found


def test_each_look_alike_arm_is_told_the_arm_it_reads_as(tmp_path: Path) -> None:
    # `Ν` (Greek capital nu) reads as `N`, `ν` (small nu) as `v`: `n` and `v` stay two
    # arms. Through them, `n` had been told it "reads as the arm 'v'".
    rows = [
        {**GOOD, "variant": variant, "date": day}
        for day, variant in (
            ("2026-05-04", "v"), ("2026-05-04", "n"), ("2026-05-11", "\u039d"),
            ("2026-05-18", "\u03bd"),
        )
    ]  # fmt: skip
    write_results(tmp_path, "json", rows)
    found = errors(tmp_path)
    assert [e.split(": ", 2)[2].split(" (first at")[0] for e in found] == [
        "variant '\u039d' reads as the arm 'n'",
        "variant '\u03bd' reads as the arm 'v'",
    ], found


def test_a_variant_of_only_spaces_is_refused(tmp_path: Path) -> None:
    # It showed blank on the page; beside a production row the duplicate message named
    # production as ''. (CSV drops the spaces around a cell: an empty cell, production.)
    rows = [{**GOOD, "variant": "  "}]
    path = write_results(tmp_path, "json", rows)
    [found] = errors(tmp_path)
    assert found.startswith(f"{path}:")
    assert found.endswith(
        "[0].variant: the variant is only spaces; leave it out for the production value, or"
        " name the arm"
    )


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("written", ["production", "Production", " PRODUCTION "])
def test_a_variant_named_production_is_refused(tmp_path: Path, fmt: str, written: str) -> None:
    """Rows with no variant are production, and the data table and the chart's legend
    name them so: an arm named `production` read as a second set of production values
    on the same dates, under the same name."""
    rows = [{**GOOD, "variant": ""}, {**GOOD, "variant": written}]
    rows[0].pop("variant")
    path = write_results(tmp_path, fmt, rows)
    [found] = errors(tmp_path)
    assert found.startswith(f"{path}:")
    read = written if fmt == "json" else written.strip()  # CSV and YAML drop the spaces
    assert found.endswith(
        f"[1].variant: {read!r} reads as the production rows, which have no variant (the"
        " pages and charts label those 'production'): two lines of one name. Leave the"
        " variant out for a production value, or name the arm otherwise"
    )


# --- a metric's own range ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("[5, 1]", "low (5) must be below high (1)"),
        ("[3, 3]", "low (3) must be below high (3)"),
        ("[null, null]", "[null, null] bounds nothing; give at least one bound or drop 'range'"),
        ("[0, 5, 10]", "a range is [low, high], two numbers (either may be null for no bound);"),
        ("[0, .inf]", "must be a finite number"),
        ("[0, high]", "expected a number, got the text 'high'"),
        ("'1-5'", "expected a list, got the text '1-5'"),
    ],
)
def test_a_declared_range_is_validated(tmp_path: Path, written: str, message: str) -> None:
    data = shop_charter()
    data["measurement"]["guardrails"][0]["range"] = "WRITTEN"
    write_charter(tmp_path, "shop", data)
    path = tmp_path / "charters/shop/charter.yaml"
    text = path.read_text().replace("range: WRITTEN", f"range: {written}")
    path.write_text(text)
    line = text[: text.index(f"range: {written}")].count("\n") + 1
    [error] = errors(tmp_path)
    assert error.startswith(f"charters/shop/charter.yaml:{line}:"), error
    assert "measurement.guardrails[0].range" in error and message in error


def test_a_range_of_a_charter_that_fails_elsewhere_still_checks_rows(tmp_path: Path) -> None:
    data = shop_charter()
    data["title"] = ""
    write_charter(tmp_path, "shop", data)
    (tmp_path / FOLDER).mkdir(parents=True)
    (tmp_path / FOLDER / "w.csv").write_text("date,metric,value\n2026-05-04,csat,0\n")
    found = errors(tmp_path)
    assert f"{FOLDER}/w.csv:2:17: [0].value: 0 is outside the range [1, 5]" in found[1], found


# --- baselines and targets keep the same rules as rows ------------------------------------


@pytest.mark.parametrize(
    ("where", "value", "field", "message"),
    [
        (
            ("business_metrics", 0, "target"),
            120,
            "business_metrics[0].target.value",
            "120 is not a percentage; a percentage (unit '%') is between 0 and 100",
        ),
        (
            ("business_metrics", 1, "baseline"),
            -3,
            "business_metrics[1].baseline.value",
            "-3 is outside the range [0, null] declared for tickets; its values are at least 0",
        ),
        (
            ("ml_metrics", 0, "target"),
            1.5,
            "ml_metrics[0].target.value",
            "1.5 is not a ratio; a ratio is between 0 and 1",
        ),
    ],
)
def test_a_goal_outside_its_metric_bounds_is_located(
    tmp_path: Path, where: tuple[str, int, str], value: float, field: str, message: str
) -> None:
    data = shop_charter()
    kind, i, goal = where
    data[kind][i][goal] = {"value": value}
    write_charter(tmp_path, "shop", data)
    [error] = errors(tmp_path)
    assert error.startswith("charters/shop/charter.yaml:"), error
    assert f": {field}: {message}" in error, error


def test_a_human_baseline_result_outside_its_metric_bounds_is_located(tmp_path: Path) -> None:
    data = shop_charter()
    data["human_baseline"] = {
        "method": "Two agents did it by hand.",
        "results": [{"metric": "conv", "value": 140}],
    }
    write_charter(tmp_path, "shop", data)
    [error] = errors(tmp_path)
    assert "human_baseline.results[0].value: 140 is not a percentage" in error, error


def test_a_target_too_large_for_a_float_is_reported_not_a_crash(tmp_path: Path) -> None:
    data = shop_charter()
    data["business_metrics"][0]["target"] = {"value": 10**400}
    write_charter(tmp_path, "shop", data)
    found = errors(tmp_path)
    assert found and all("business_metrics[0].target.value" in e for e in found), found


@pytest.mark.parametrize("fmt", FORMATS)
def test_fractions_in_a_percent_metric_beside_percent_goalposts_are_refused(
    tmp_path: Path, fmt: str
) -> None:
    """A spreadsheet's 10.5% exported as 0.105 in a metric in `%` with a baseline of 10
    and a target of 12: read as written, the rate was a hundredth of its baseline, and
    a target of a decrease "met". Refused at the metric's first row."""
    rows = [
        {"date": "2026-05-04", "metric": "conv", "value": 0.105},
        {"date": "2026-05-11", "metric": "conv", "value": 0.11},
    ]
    path = write_results(tmp_path, fmt, rows)
    start = ResultFile(fmt, rows).starts[0]  # at the row, as other rules of its rows are
    assert errors(tmp_path) == [
        f"{path}:{start}: [0].value: 0.105 reads as a fraction: every row of 'conv' is"
        " between 0 and 1, a hundredth of its baseline 10 and target 12 in '%'; write"
        " percentages (10.5 for 10.5%), as the baseline and target are"
    ]


def test_fraction_goalposts_beside_percent_rows_are_refused(tmp_path: Path) -> None:
    data = shop_charter()
    data["business_metrics"][0] |= {"baseline": {"value": 0.1}, "target": {"value": 0.12}}
    rows = [
        {"date": "2026-05-04", "metric": "conv", "value": 10.5},
        {"date": "2026-05-11", "metric": "conv", "value": 11.0},
    ]
    write_results(tmp_path, "csv", rows)
    write_charter(tmp_path, "shop", data)
    found = errors(tmp_path)
    assert len(found) == 1 and found[0].startswith("charters/shop/charter.yaml:"), found
    assert found[0].endswith(
        ": business_metrics[0].baseline.value: the baseline 0.1 and target 0.12 of 'conv'"
        " read as fractions beside its rows in '%' (a hundred times larger, 10.75 the middle"
        " one); write percentages, as the rows are (4 for 4%), or write the rows as"
        " fractions with the unit 'ratio'"
    )


def test_a_rate_that_fell_to_its_low_target_is_not_taken_for_fractions(tmp_path: Path) -> None:
    """A duplicate-payment rate from 35% to its target of 1%, met at 0.5 to 0.8: a
    hundredth of the baseline, but where the target is (second review). A guardrail,
    with no target, falling a hundredfold is its own too."""
    data = shop_charter()
    data["business_metrics"][0] |= {
        "direction": "decrease",
        "baseline": {"value": 35},
        "target": {"value": 1},
    }
    data["measurement"]["guardrails"] = [guardrail("refunds", unit="%", baseline={"value": 1.5})]
    rows = [
        {"date": day, "metric": metric, "value": value}
        for day, value in (("2026-03-31", 0.8), ("2026-04-30", 0.6), ("2026-05-31", 0.5))
        for metric in ("conv", "refunds")
    ]
    write_results(tmp_path, "csv", rows)
    write_charter(tmp_path, "shop", data)
    assert errors(tmp_path) == []


def test_fractions_beside_goalposts_either_side_of_one_percent_are_refused(
    tmp_path: Path,
) -> None:
    """An error rate from 1.2% to a target of 0.8%, exported as 0.0118 to 0.011: the rule
    looked only where both goalposts were 1 or more, and the rows read *Target met* at
    0.011% (review)."""
    data = shop_charter()
    data["business_metrics"][0] |= {
        "direction": "decrease",
        "baseline": {"value": 1.2},
        "target": {"value": 0.8},
    }
    rows = [
        {"date": day, "metric": "conv", "value": value}
        for day, value in (("2026-04-27", 0.0118), ("2026-05-04", 0.0112), ("2026-05-11", 0.011))
    ]
    path = write_results(tmp_path, "csv", rows)
    write_charter(tmp_path, "shop", data)
    assert errors(tmp_path) == [
        f"{path}:2:1: [0].value: 0.0118 reads as a fraction: every row of 'conv' is between 0"
        " and 1, a hundredth of its baseline 1.2 and target 0.8 in '%'; write percentages"
        " (1.18 for 1.18%), as the baseline and target are"
    ]
    # Written as percentages, the same rows are taken.
    write_results(tmp_path, "csv", [{**r, "value": r["value"] * 100} for r in rows])
    write_charter(tmp_path, "shop", data)
    assert errors(tmp_path) == []


@pytest.mark.parametrize(
    "values",
    [
        (0.8, 0.9),  # small rates, but not a hundredth of the baseline of 10: a real drop
        (0.105, 10.9),  # not every row a fraction
        (0.0, 0.0),
    ],
)
def test_small_percentages_that_are_no_fractions_are_taken(
    tmp_path: Path, values: tuple[float, float]
) -> None:
    rows = [
        {"date": "2026-05-04", "metric": "conv", "value": values[0]},
        {"date": "2026-05-11", "metric": "conv", "value": values[1]},
    ]
    write_results(tmp_path, "csv", rows)
    assert errors(tmp_path) == []


def test_two_arms_beside_control_need_one_named_treatment(tmp_path: Path) -> None:
    # The arm compared with control was `treatment`, else the first other arm by name:
    # one old row of a `heuristic` arm made it the arm judged instead of `model`, and its
    # week the latest value. Which arm the model is is not guessed.
    def row(day: str, variant: str, metric: str = "conv") -> dict[str, Any]:
        return {**GOOD, "date": day, "metric": metric, "variant": variant}

    rows = [
        row("2026-05-04", "control"),
        row("2026-05-04", "model"),
        row("2026-05-11", "control"),
        row("2026-05-11", "model"),
        *(row("2026-05-04", arm, "tickets") for arm in ("ctrl", "v1", "v2", "v3", "v4", "v5")),
        row("2026-04-27", "heuristic"),
    ]
    path = write_results(tmp_path, "json", rows)
    cells = ResultFile("json", rows).cells  # reported at the row, as a misspelt arm is
    line = {i: cells[(i, "variant")].split(":")[0] for i in (6, 10)}
    assert errors(tmp_path) == [
        f"{path}:{line[6]}:3: [6].variant: variant 'v2' is a second arm beside control for"
        " the metric 'tickets' (with 'v1', 'v3', 'v4' and 1 more), and none is named"
        " 'treatment': the lift and the verdict compare one arm with control, and which one"
        " is not known; name it 'treatment'",
        f"{path}:{line[10]}:3: [10].variant: variant 'heuristic' is a second arm beside"
        " control for the metric 'conv' (with 'model'), and none is named 'treatment': the"
        " lift and the verdict compare one arm with control, and which one is not known;"
        " name it 'treatment'",
    ]
    # A stray `treatment` row on no date with control put the pairs aside (review).
    stray = [*rows[:4], row("2026-04-20", "treatment")]
    path = write_results(tmp_path, "json", stray)
    line = ResultFile("json", stray).cells[(4, "variant")].split(":")[0]
    assert errors(tmp_path) == [
        f"{path}:{line}:3: [4].variant: variant 'treatment', the arm compared with control"
        " for the metric 'conv', has no row on a date with a control row, while 'model' has:"
        " its lift cannot be measured, and theirs would be put aside; give it its control"
        " rows, or, if another arm is the one compared, name that one 'treatment' and this"
        " one otherwise"
    ]
    # One of them named `treatment` (in any case) is the arm compared; so is a lone arm,
    # and arms without a control arm compare nothing.
    rows[1:4:2] = [row("2026-05-04", "Treatment"), row("2026-05-11", "Treatment")]
    rows[4:10] = [row("2026-05-04", arm, "tickets") for arm in ("v1", "v2", "v3", "v4", "v5")]
    write_results(tmp_path, "json", rows)
    assert errors(tmp_path) == []


def test_an_arm_on_no_date_with_control_is_refused(tmp_path: Path) -> None:
    """Control rows dated a day before the treatment's, every week: no lift was measured,
    control was left out, and the treatment alone against the baseline read *Target met*
    where the same rows on one date read *No impact* (review). An arm whose rows go on
    after control's stopped (a rollout) was paired before: taken."""

    def row(day: str, variant: str) -> dict[str, Any]:
        return {**GOOD, "date": day, "variant": variant}

    apart = [
        row(day, arm)
        for week in ("04", "11")
        for day, arm in (
            (f"2026-05-{week}", "control"),
            (f"2026-05-{int(week) + 1:02}", "treatment"),
        )
    ]
    path = write_results(tmp_path, "csv", apart)
    assert errors(tmp_path) == [
        f"{path}:3:1: [1].variant: variant 'treatment' of the metric 'conv' has no row on a"
        " date with a control row: the lift compares the two arms on one date, so none can"
        " be measured, and the control rows would be left out of the verdict; date each"
        " period's rows of both arms alike (or, if the control rows are a time before the"
        " model, not an arm beside it, write them without a variant)"
    ]
    # The same with other arms beside `treatment`, none of them on a date with control.
    model = [{**r, "variant": "model"} for r in apart if r["variant"] == "treatment"]
    path = write_results(tmp_path, "csv", [*apart, *model])
    assert [e.split(": ", 2)[1] for e in errors(tmp_path)] == ["[1].variant"]
    rollout = [row("2026-05-04", "control"), row("2026-05-04", "treatment")]
    rollout += [row(day, "treatment") for day in ("2026-05-11", "2026-05-18")]
    write_results(tmp_path, "csv", rollout)
    assert errors(tmp_path) == []


@pytest.mark.parametrize(
    "name", ["control_group", "Control arm", "controls", "holdout-2", "CTRL 1"]
)
def test_a_control_arm_not_named_as_one_is_refused(tmp_path: Path, name: str) -> None:
    """`control_group` beside `treatment` was an arm of its own: no lift, and the treatment
    alone against the baseline read *Target met* where `control` read *No impact*."""
    rows = [
        {**GOOD, "date": day, "variant": arm}
        for day in ("2026-05-04", "2026-05-11")
        for arm in (name, "treatment")
    ]
    path = write_results(tmp_path, "csv", rows)
    assert errors(tmp_path) == [
        f"{path}:2:1: [0].variant: variant {name!r} reads as a control arm but is not a"
        " control name (a/a, baseline, control, ctrl, holdout, in any case): it would be an"
        " arm of its own, and no lift against control measured; name the control arm"
        " 'control', or the arm otherwise"
    ]


@pytest.mark.parametrize("name", ["uncontrolled", "remote-controller", "model", "Control"])
def test_arms_with_control_inside_a_word_are_taken(tmp_path: Path, name: str) -> None:
    rows = [
        {**GOOD, "date": day, "variant": arm}
        for day in ("2026-05-04", "2026-05-11")
        for arm in (name, "treatment")
    ]
    write_results(tmp_path, "csv", rows)
    assert errors(tmp_path) == []


@pytest.mark.parametrize(
    ("unit", "meant"), [("pct", "%"), ("% of orders", "%"), ("fraction", "ratio")]
)
def test_n_alone_in_a_unit_that_reads_as_a_proportion_is_refused_once(
    tmp_path: Path, unit: str, meant: str
) -> None:
    # In `pct`, arms with `n` were not tested as proportions (only `%` and `ratio` are),
    # so a move of the minimum detectable effect alone counted as evidence.
    data = shop_charter()
    data["business_metrics"][1]["unit"] = unit
    data["business_metrics"][1]["range"] = None
    data["measurement"]["minimum_detectable_effect"] = {"metric": "tickets", "absolute": 0.05}
    write_charter(tmp_path, "shop", data)
    rows = [
        {"date": day, "metric": "tickets", "variant": arm, "value": value, "n": 900}
        for day in ("2026-05-04", "2026-05-11")
        for arm, value in (("control", 0.5), ("treatment", 0.4))
    ]
    if meant == "%":  # percentages, not fractions of the baseline of 120 (percent-scale)
        rows = [{**r, "value": r["value"] * 100} for r in rows]
    path = write_results(tmp_path, "json", rows)
    write_charter(tmp_path, "shop", data)  # write_results wrote the shop charter again
    cells = ResultFile("json", rows).cells
    what = "a percentage" if meant == "%" else "a proportion"
    scale = "0 to 100" if meant == "%" else "0 to 1"
    assert errors(tmp_path) == [
        f"{path}:{cells[(0, 'n')]}: [0].n: n is read only for a proportion, in the unit '%' or"
        " 'ratio', and this row gives no other measure of its noise (std, or lower and upper):"
        f" the unit {unit!r} reads as {what}; write it {meant!r} (values {scale}) for the arms"
        " to be compared as proportions, or give std or lower and upper"
    ]
    for r in rows:
        r["std"] = 0.2  # a measure of noise: the arms are compared by Welch's test
    write_results(tmp_path, "json", rows)
    write_charter(tmp_path, "shop", data)
    assert errors(tmp_path) == []
    # Values no proportion takes (a growth rate of -3 %), or a metric the MDE does not
    # name (no move of it is evidence without a test): not refused (second review).
    for r in rows:
        del r["std"]
        r["value"] = -3.0
    write_results(tmp_path, "json", rows)
    write_charter(tmp_path, "shop", data)
    assert errors(tmp_path) == []
    for r in rows:
        r["value"] = 40.0 if meant == "%" else 0.4
    write_results(tmp_path, "json", rows)
    data["measurement"]["minimum_detectable_effect"]["metric"] = "conv"
    write_charter(tmp_path, "shop", data)
    assert errors(tmp_path) == []
