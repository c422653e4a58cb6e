"""Large result files: data tables show the latest rows, charts are thinned, downloads are whole.

The fast tests build a few thousand rows and check what a reader sees: the numbers
on the page, the sentence under a capped table, the CSV download with every row,
and a thinned line that still shows its peaks. The `hostile` test builds a
1,000,000-row CSV in a child process and holds its peak memory to the documented
bound (docs/security.md).
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from helpers import ScratchProject, parse_html

from generator.charts.spec import (
    MAX_POINTS,
    PIXEL_COLUMNS,
    Breach,
    Series,
    Tolerance,
    thin,
    thin_tolerance,
)
from generator.pages import TABLE_ROWS

START = date(2016, 1, 1)
DAYS = 3_000  # two arms a day: 6,000 rows, a lift per day


def _ab_rows(days: int, spike: int | None = None) -> str:
    """An A/B test of `ttfr` with n and std on every day; control 6 h, treatment 5 h."""
    lines = ["date,metric,variant,value,n,std"]
    for i in range(days):
        day = (START + timedelta(days=i)).isoformat()
        treatment = 9.75 if i == spike else 5.0 + (i % 7) / 100
        lines.append(f"{day},ttfr,control,{6.0 + (i % 5) / 100},{1000 + i},2.5")
        lines.append(f"{day},ttfr,treatment,{treatment},{1000 + i},2.5")
    return "\n".join(lines) + "\n"


def test_a_long_series_is_capped_on_the_page_and_whole_in_the_csv(
    scratch_project: ScratchProject,
) -> None:
    scratch_project.charter("routing", status="experiment")
    scratch_project.write("charters/routing/results/ab.csv", _ab_rows(DAYS, spike=1234))
    result = scratch_project.build()
    assert result.ok, [d.format_text() for d in result.diagnostics][:5]
    site = scratch_project.out / "charters/routing"
    page = parse_html(site / "index.html")

    # The metric's data table: the latest 1,000 rows, newest last, and a sentence.
    figure = page.find("figure", id="chart-ttfr")
    rows = figure.find("table").find("tbody").find_all("tr")
    assert len(rows) == TABLE_ROWS == 1_000
    last_day = (START + timedelta(days=DAYS - 1)).isoformat()
    first_shown = (START + timedelta(days=DAYS - 500)).isoformat()
    assert rows[-1].text().startswith(f"{last_day} treatment")
    assert rows[0].text().startswith(f"{first_shown} control")
    assert "Showing the latest 1,000 of 6,000 rows; the CSV download has every result row." in (
        " ".join(figure.text().split())
    )
    # The lift table, and the table of every row, say the same.
    lift = page.find("figure", id="chart-ttfr-lift")
    assert len(lift.find("table").find("tbody").find_all("tr")) == 1_000
    assert "Showing the latest 1,000 of 3,000 lifts" in lift.text()
    everything = page.find("details", class_="all-results")
    assert len(everything.find("tbody").find_all("tr")) == 1_000
    assert "Showing the latest 1,000 of 6,000 rows" in everything.text()
    assert "Download the 6000 result rows" in page.text()

    # The CSV download has every row, in date order, with its source line.
    with open(site / "results.csv", encoding="utf-8", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 6_000
    assert table[0]["date"] == START.isoformat() and table[-1]["date"] == last_day
    assert table[2 * 1234 + 1]["value"] == "9.75"
    assert table[2 * 1234 + 1]["source"] == f"charters/routing/results/ab.csv:{2 * 1234 + 3}:1"


def test_a_thinned_chart_says_so_and_keeps_its_first_last_and_peak(
    scratch_project: ScratchProject,
) -> None:
    scratch_project.charter("routing", status="experiment")
    scratch_project.write("charters/routing/results/ab.csv", _ab_rows(DAYS, spike=1234))
    assert scratch_project.build().ok
    page = parse_html(scratch_project.out / "charters/routing/index.html")
    alt = page.find("img", src="ttfr.svg").attrs["alt"] or ""
    # First and last values are those of the first and last rows.
    assert "treatment 5.00 → 5.03, control 6.00 → 6.04" in alt, alt
    assert "drawn as the lowest and highest per pixel column (control 3,000 points as 1,440" in alt
    assert "the data table and the CSV download have every row." in alt
    svg = (scratch_project.out / "charters/routing/ttfr.svg").read_text(encoding="utf-8")
    assert svg.count("<path") < 400  # not 6,000 markers
    # A thinned line has no markers (each a `<use>` of one shape): they would draw a band.
    assert svg.count("<use") < 20, svg.count("<use")
    lift_alt = page.find("img", src="ttfr-lift.svg").attrs["alt"] or ""
    assert "treatment − control 3,000 points as" in lift_alt


def test_thin_keeps_every_peak_and_trough_per_pixel_column() -> None:
    rng = random.Random(7)
    count = 50_000
    days = tuple(START + timedelta(days=i) for i in range(count))
    values = [rng.uniform(0, 1) for _ in range(count)]
    values[31_337] = 40.0  # a spike
    values[777] = -40.0  # a trough
    series = Series("x", days, tuple(values), tuple(v - 1 for v in values), (None,) * count)
    thinned = thin(series)
    assert thinned.thinned_from == count
    assert len(thinned.dates) <= MAX_POINTS
    kept = dict(zip(thinned.dates, thinned.values, strict=True))
    assert kept[days[31_337]] == 40.0 and kept[days[777]] == -40.0
    assert thinned.dates[0] == days[0] and thinned.dates[-1] == days[-1]
    # Every pixel column keeps its own highest and lowest value and lowest lower bound.
    span = count
    for column in range(0, PIXEL_COLUMNS, 37):
        members = [i for i in range(count) if i * PIXEL_COLUMNS // span == column]
        top = max(values[i] for i in members)
        bottom = min(values[i] for i in members)
        assert top in thinned.values and bottom in thinned.values
        assert bottom - 1 in thinned.lower
    short = Series("x", days[:100], tuple(values[:100]), (None,) * 100, (None,) * 100)
    assert thin(short) is short


def test_a_long_tolerance_line_and_its_breaches_are_thinned_as_lines_are() -> None:
    count = 20_000
    days = tuple(START + timedelta(days=i) for i in range(count))
    limits = [4.2 + (i % 13) / 1000 for i in range(count)]
    limits[9_999] = 3.0  # control's worst day moves the limit down
    breaches = tuple(
        Breach(d, "treatment", 4.0 - (i % 17) / 100, limits[i]) for i, d in enumerate(days)
    )
    worst = Breach(days[4_321], "treatment", 1.5, limits[4_321])
    breaches = (*breaches[:4_321], worst, *breaches[4_322:])
    tol = Tolerance("Tolerance", "control", "treatment", days, tuple(limits), breaches)
    drawn = thin_tolerance(tol)
    assert len(drawn.dates) == len(drawn.limits) <= MAX_POINTS
    assert len(drawn.breaches) <= MAX_POINTS
    assert 3.0 in drawn.limits and worst in drawn.breaches
    assert drawn.dates[0] == days[0] and drawn.dates[-1] == days[-1]
    # What is judged and described is the whole line: only the drawing is thinned.
    assert tol.breached_on("treatment", days[123]) and len(tol.breaches) == count
    short = Tolerance("Tolerance", "control", "treatment", days[:50], tuple(limits[:50]), ())
    assert thin_tolerance(short) is short


def test_downloads_are_spooled_beside_the_site_and_a_killed_builds_spool_is_removed(
    scratch_project: ScratchProject,
) -> None:
    scratch_project.charter("routing", status="experiment")
    scratch_project.write("charters/routing/results/ab.csv", _ab_rows(50))
    out = scratch_project.out
    # A build killed while writing its downloads leaves its spool folder, named in the lock.
    spool = out.parent / f".{out.name}.charters-0123456789abcdef-spool"
    spool.mkdir(parents=True)
    (spool / "000001").write_bytes(b"half a results.json")
    lock = out.parent / f".{out.name}.lock"
    lock.write_text(json.dumps({"pid": 1, "temporary": [spool.name]}) + "\n", encoding="utf-8")
    lookalike = out.parent / f".{out.name}.charters-fedcba9876543210-spool"  # not recorded
    lookalike.mkdir()
    assert scratch_project.build().ok
    assert not spool.exists() and lookalike.is_dir()
    # This build's own spool is gone too; its files were moved into the site whole.
    left = sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))
    assert left == [f".{out.name}.charters-fedcba9876543210-spool", f".{out.name}.lock"]
    data = json.loads((out / "charters/routing/results.json").read_text(encoding="utf-8"))
    assert len(data["rows"]) == 100 and data["rows"][-1]["date"] == "2016-02-19"
    with open(out / "charters/routing/results.csv", encoding="utf-8", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == 100


# --- a million rows within the memory bound ---------------------------------------------


def write_million_row_tree(root: Path, rows: int = 1_000_000) -> Path:
    """A tree whose one charter has a CSV of `rows` rows: 3 metrics × 8 arms × days."""
    from helpers import minimal_charter

    guard = (
        "\n  method: ab_test\n  population: All tickets.\n  guardrails:"
        "\n    - {id: csat, name: CSAT, unit: score, direction: increase,"
        " baseline: {value: 4.3}, tolerance: {value: 0.1}, range: [1, 5]}"
    )
    ml = (
        "\n  - {id: prec, name: Precision, unit: ratio, direction: increase,"
        " target: {value: 0.9}, drives: [ttfr]}"
    )
    charter = minimal_charter(status="experiment", measurement=guard, ml_metrics=ml)
    folder = root / "charters/routing"
    (folder / "results").mkdir(parents=True)
    (folder / "charter.yaml").write_text(charter, encoding="utf-8")
    arms = ["control", "treatment", *(f"v{i}" for i in range(6))]
    metrics = (("ttfr", 6.0, 0.5, "2.5"), ("prec", 0.8, 0.05, ""), ("csat", 4.3, 0.1, "0.9"))
    rng = random.Random(1)
    path = folder / "results/big.csv"
    with open(path, "w", encoding="utf-8") as out:
        out.write("date,metric,variant,value,n,std\n")
        for i in range(rows // (len(arms) * len(metrics))):
            day = (date(1900, 1, 1) + timedelta(days=i)).isoformat()
            buffer = io.StringIO()
            for mid, centre, spread, std in metrics:
                for arm in arms:
                    value = round(centre + rng.uniform(-spread, spread), 3)
                    buffer.write(f"{day},{mid},{arm},{value},{rng.randint(2000, 4000)},{std}\n")
            out.write(buffer.getvalue())
    return path


# Runs the generator and writes its own peak resident set (VmHWM, of this program alone,
# counted from its exec) to standard error. The peak from wait4 or RUSAGE_CHILDREN is not
# used: Linux records there the forking parent's peak too, and this test's parent is a
# test session that may have grown far beyond what is measured here.
_MEASURED = """
import runpy, sys
sys.argv = ["charters", *sys.argv[1:]]
try:
    runpy.run_module("generator", run_name="__main__", alter_sys=True)
finally:
    with open("/proc/self/status") as status:
        peak = [x for x in status if x.startswith("VmHWM:")][0].split()[1]
    sys.stderr.write(f"\\nVmHWM-kB {peak}\\n")
"""


def peak_of(cmd: list[str | Path], source: Path, env: dict[str, str]) -> tuple[int, int, str]:
    """Run the generator with `cmd` and `--source source`: its own peak resident set in
    bytes, its exit status and its standard error."""
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED, *cmd, "--source", source],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=1800,
    )
    lines = [x for x in done.stderr.splitlines() if x.startswith("VmHWM-kB ")]
    assert lines, done.stderr[-2000:]
    return int(lines[-1].split()[1]) * 1024, done.returncode, done.stderr


@pytest.mark.hostile
def test_a_million_row_csv_checks_and_builds_within_the_memory_bound(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "charters").mkdir(parents=True)
    (source / "site.yaml").write_text("title: Big\n", encoding="utf-8")
    big = write_million_row_tree(source)
    size = big.stat().st_size
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1780000000"}
    out = tmp_path / "s"
    peaks = []
    for command in (["check"], ["build", "--out", out, "--cache-dir", tmp_path / "cache"]):
        peak, status, stderr = peak_of(list(command), source, env)
        assert status == 0, stderr[-2000:]
        peaks.append(peak)
    peak = max(peaks)
    bound = 300 * 2**20 + 3 * size
    assert peak <= bound, f"peak {peak / 2**20:.0f} MB > bound {bound / 2**20:.0f} MB"
    with open(out / "charters/routing/results.csv", "rb") as handle:
        assert sum(1 for _ in handle) == 1 + 999_984
    # The numbers on the page come from every row: the latest of the million.
    page = parse_html(out / "charters/routing/index.html")
    rows = page.find("details", class_="all-results").find("tbody").find_all("tr")
    assert len(rows) == TABLE_ROWS
    # In date, metric and variant order the last row is ttfr's arm v5 on the last day.
    lines = big.read_text(encoding="utf-8").splitlines()
    line = next(k for k in range(len(lines) - 1, 0, -1) if ",ttfr,v5," in lines[k])
    day = lines[line].split(",")[0]
    newest = " ".join(rows[-1].text().split())
    assert newest.startswith(f"{day} ttfr v5 "), newest
    assert newest.endswith(f"charters/routing/results/big.csv:{line + 1}:1"), newest
