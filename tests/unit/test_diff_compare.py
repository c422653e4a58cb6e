"""The comparison rules of `charters diff`, on two folders (no git needed)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options
from helpers import MINIMAL_BLOCKS, minimal_charter

from generator.diff import MARKER, DiffReport, diff_sides, load_side, missing_revision_message
from generator.diff.report import format_markdown

# The minimal charter's business metric with a deadline, agreed.
AGREED = (
    MINIMAL_BLOCKS["business_metrics"].replace(
        "target: {value: 4.5}", "target: {value: 4.5, by: 2026-12-31}"
    )
    + "\n    agreed: {by: [Head of Support], on: 2026-02-15}"
)


def compare(
    tmp_path: Path, before: str, after: str, results: tuple[str | None, str | None] = (None, None)
) -> DiffReport:
    """Load `before` and `after` (and result CSVs, if any) as two folders and compare them."""
    sides = []
    for name, text, rows in (("base", before, results[0]), ("head", after, results[1])):
        folder = tmp_path / name / "charters" / "routing"
        folder.mkdir(parents=True)
        (folder / "charter.yaml").write_text(text, encoding="utf-8")
        if rows is not None:
            (folder / "results").mkdir()
            (folder / "results" / "production.csv").write_text(rows, encoding="utf-8")
        sides.append(load_side(str(tmp_path / name), tmp_path, name.upper()))
    assert sides[0].ok and sides[1].ok, sides[0].errors + sides[1].errors
    return diff_sides(sides[0], sides[1])


def kinds(report: DiffReport) -> list[tuple[str, str | None, str | None]]:
    return [(c.kind, c.metric, c.field) for c in report.changes if not c.kind.startswith("find")]


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("direction: decrease", "direction: increase", "direction"),
        ("unit: hours", "unit: minutes", "unit"),
        ("Median hours to first reply.", "Mean hours to first reply.", "definition"),
        ("baseline: {value: 6.2}", "baseline: {value: 7.0}", "baseline.value"),
        ("by: 2026-12-31", "by: 2027-06-30", "target.by"),
    ],
)
def test_goalpost_fields_of_an_agreed_metric(
    tmp_path: Path, old: str, new: str, field: str
) -> None:
    before = minimal_charter(business_metrics=AGREED)
    after = minimal_charter(business_metrics=AGREED.replace(old, new))
    assert kinds(compare(tmp_path, before, after)) == [("goalpost-moved", "ttfr", field)]


def test_a_name_change_is_never_a_goalpost(tmp_path: Path) -> None:
    before = minimal_charter(business_metrics=AGREED)
    after = minimal_charter(business_metrics=AGREED.replace("Time to first", "Time to 1st"))
    assert kinds(compare(tmp_path, before, after)) == [("metric-changed", "ttfr", "name")]


def test_changes_before_agreement_are_plain_metric_changes(tmp_path: Path) -> None:
    not_agreed = AGREED.replace("\n    agreed: {by: [Head of Support], on: 2026-02-15}", "")
    before = minimal_charter(business_metrics=not_agreed)
    after = minimal_charter(business_metrics=not_agreed.replace("value: 4.5", "value: 5.5"))
    report = compare(tmp_path, before, after)
    assert kinds(report) == [("metric-changed", "ttfr", "target.value")]
    assert "less ambitious" in report.changes[0].message


def test_ml_metrics_and_guardrails_added_removed_and_moved(tmp_path: Path) -> None:
    ml = {
        "id": "precision",
        "name": "Precision",
        "unit": "ratio",
        "direction": "increase",
        "drives": ["ttfr"],
    }
    before = minimal_charter(ml_metrics=[ml])
    after = minimal_charter(
        ml_metrics=[{**ml, "unit": "%"}, {**ml, "id": "recall", "name": "Recall"}]
    )
    assert kinds(compare(tmp_path, before, after)) == [
        ("metric-changed", "precision", "unit"),
        ("metric-changed", "recall", None),
    ]
    report = compare(tmp_path / "2", after, before)
    assert kinds(report) == [
        ("metric-changed", "precision", "unit"),
        ("metric-changed", "recall", None),
    ]
    assert "removed" in report.changes[-1].message


def test_status_change(tmp_path: Path) -> None:
    report = compare(tmp_path, minimal_charter(), minimal_charter(status="paused"))
    status = [(c.before, c.after) for c in report.changes if c.kind == "status-changed"]
    assert status == [("live", "paused")]


def test_the_comment_fits_the_forge_whatever_the_problems_and_names(tmp_path: Path) -> None:
    """The cap on a comment dropped only charter sections: sixty problems in HEAD, each
    naming a result file fifteen folders deep, made a comment of 168,902 characters,
    which the forge refuses (GitHub: 65,536), so the pull request got none."""
    sides = []
    for name in ("base", "head"):
        (tmp_path / name / "charters").mkdir(parents=True)
        for i in range(60):
            folder = tmp_path / name / "charters" / (f"routing-{i:02d}-" + "x" * 50)
            folder.mkdir()
            text = minimal_charter(business_metrics=AGREED)
            if name == "head":  # every goalpost moves; the first charter's rows are wrong
                text = text.replace("value: 4.5", "value: 4.4")
            if name == "head" and i == 0:
                text = minimal_charter(business_metrics=AGREED, results='["results/**/*.csv"]')
                deep = folder / "results" / Path(*["d" * 200] * 15)
                deep.mkdir(parents=True)
                rows = "".join(f"2026-05-{d:02d},nometric{d},control,abc\n" for d in range(1, 29))
                (deep / ("f" * 200 + ".csv")).write_text("date,metric,variant,value\n" + rows)
            (folder / "charter.yaml").write_text(text, encoding="utf-8")
        sides.append(load_side(str(tmp_path / name), tmp_path, name.upper()))
    assert len(sides[1].errors) > 50
    comment = format_markdown(diff_sides(sides[0], sides[1]))
    assert len(comment) < 60_000
    assert "\n- … and 6 more\n" in comment  # the problems past the fiftieth are counted
    problem = next(line for line in comment.splitlines() if line.startswith("- `"))
    assert problem.endswith(" …`") and len(problem) < 220
    summary = comment.splitlines()[3]
    assert "**goalposts moved** on 59 agreed metrics" in summary
    assert summary.count("/ttfr`") == 20 and "/ttfr` and 39 more" in summary


def test_a_name_in_the_summary_is_cut(tmp_path: Path) -> None:
    """An id read from a charter that did not load may be of any length: one of 70,000
    characters made a summary of as many, past the forge's limit (one of 5,000 here)."""
    long_id = "h" + "x" * 5_000
    sides = []
    for name, target in (("base", "4.5"), ("head", "4.4")):
        folder = tmp_path / name / "charters" / "routing"
        folder.mkdir(parents=True)
        text = minimal_charter(business_metrics=AGREED).replace("id: ttfr", f"id: {long_id}")
        (folder / "charter.yaml").write_text(text.replace("value: 4.5", f"value: {target}"))
        sides.append(load_side(str(tmp_path / name), tmp_path, name.upper()))
    report = diff_sides(sides[0], sides[1])
    assert [c.kind for c in report.changes] == ["goalpost-moved"]
    comment = format_markdown(report)
    summary = comment.splitlines()[3]
    assert "(`routing/h" + "x" * 121 + " …`)" in summary and len(summary) < 1_000


def test_markdown_escapes_charter_text(tmp_path: Path) -> None:
    before = minimal_charter(business_metrics=AGREED)
    after = minimal_charter(
        business_metrics=AGREED.replace(
            "Median hours to first reply.", "'Hours | <b>bold</b>\n      and more.'"
        )
    )
    text = format_markdown(compare(tmp_path, before, after))
    assert text.startswith(MARKER + "\n")
    row = next(line for line in text.splitlines() if "Goalpost" in line)
    assert "\\|" in row and "\\<b\\>" in row and "<b>" not in row.replace("\\<b\\>", "")


def test_dollar_amounts_are_escaped_so_the_forge_reads_no_math() -> None:
    """GitHub reads `$…$` on one line as math: "from $33.5 to $32.5" in a cell (review)."""
    from generator.formatting import escape_markdown

    assert escape_markdown("from $33.5 to $32.5") == "from \\$33.5 to \\$32.5"
    html = cmarkgfm.github_flavored_markdown_to_html(escape_markdown("from $33.5 to $32.5"))
    assert html == "<p>from $33.5 to $32.5</p>\n"


@pytest.mark.parametrize(
    ("text", "references"),
    [("Checkout ranking (fixes GH-1, see gh-22)", 2), ("NGH-1, GH-x, a-b, GH-", 0)],
)
def test_a_gh_reference_links_no_issue(text: str, references: int) -> None:
    """GitHub links `GH-123` to issue 123 as it does `#123`, which is broken: a charter
    title "(fixes GH-1, see GH-2)" linked and cross-referenced both issues."""
    from generator.formatting import ZERO_WIDTH_SPACE, escape_markdown

    escaped = escape_markdown(text)
    assert not re.search(r"(?<![A-Za-z0-9])gh-[0-9]", escaped, re.I)
    assert escaped.count(ZERO_WIDTH_SPACE + "-") == references
    html = cmarkgfm.github_flavored_markdown_to_html(escaped).replace(ZERO_WIDTH_SPACE, "")
    assert html == f"<p>{text}</p>\n"


# A title that, were its code span to come apart in a table's cell, would link, show an
# image, make bold text and mention a person on the forge.
LIVE_TITLE = (
    "Foo `[click me](https://evil.example) ![i](https://evil.example/x.png) <b>bold</b>"
    " @octocat #1|`"
)


@pytest.mark.parametrize("added", [True, False], ids=["added", "removed"])
def test_the_comment_renders_charter_text_inert_on_the_forge(tmp_path: Path, added: bool) -> None:
    """GitHub's renderer (cmark-gfm) ends a table cell at a `|` even inside a code span:
    a title's backtick span came apart there, and its link, image, HTML and mention
    were live, in the Before cell of a removed charter or the After cell of one added."""
    sides = []
    for name, title in (
        ("base", None if added else LIVE_TITLE),
        ("head", LIVE_TITLE if added else None),
    ):
        (tmp_path / name / "charters").mkdir(parents=True)
        if title is not None:
            folder = tmp_path / name / "charters" / "routing"
            folder.mkdir()
            text = minimal_charter(title=json.dumps(title))
            (folder / "charter.yaml").write_text(text, encoding="utf-8")
        sides.append(load_side(str(tmp_path / name), tmp_path, name.upper()))
    comment = format_markdown(diff_sides(sides[0], sides[1]))
    html = cmarkgfm.github_flavored_markdown_to_html(comment, options=Options.CMARK_OPT_UNSAFE)
    outside_code = re.sub(r"<code>.*?</code>", "", html)  # no forge mentions anyone in code
    for live in ("<a ", "<img", "<b>", "@octocat"):
        assert live not in outside_code, live
    kind = "Charter added" if added else "Charter removed"
    row = next(line for line in html.split("<tr>") if kind in line)
    assert row.count("<td>") == 5
    assert re.findall("<code>.*?</code>", row) == [
        "<code>routing</code>",
        "<code>[click me](https://evil.example) ![i](https://evil.example/x.png)"
        " &lt;b&gt;bold&lt;/b&gt; @octocat #1|</code>",
    ]


def test_field_values_are_shown_exactly(tmp_path: Path) -> None:
    """A goalpost moved by a small amount must not read as no change at all."""
    not_agreed = MINIMAL_BLOCKS["business_metrics"]
    before = minimal_charter(business_metrics=not_agreed.replace("4.5}", "1234.5}"))
    after = minimal_charter(business_metrics=not_agreed.replace("4.5}", "1234.625}"))
    (change,) = compare(tmp_path, before, after).of_kind("metric-changed")
    assert change.message == "`ttfr` target.value: 1234.5 → 1234.625 (less ambitious)"
    row = next(
        line
        for line in format_markdown(compare(tmp_path / "2", before, after)).splitlines()
        if "target.value" in line
    )
    assert row == "| Metric changed | `ttfr` | target.value | 1234.5 | 1234.625 |"


def test_new_results_are_read_from_the_analysed_metric(tmp_path: Path) -> None:
    # ttfr: baseline 6.2, target 4.5, lower is better; 5.35 closes half the gap.
    rows = "date,metric,value\n2026-01-05,ttfr,5.35\n"
    report = compare(tmp_path, minimal_charter(), minimal_charter(), (None, rows))
    (added,) = report.of_kind("results-added")
    assert added.before is None
    assert added.after == {
        "date": "2026-01-05",
        "value": 5.35,
        "variant": None,
        "progress": pytest.approx(0.5),
        "met": False,
        "status": "flat",  # no interval and no minimum detectable effect: not evidence
    }
    # Closer to the target, but with no evidence the status stays "did not move".
    assert (added.trend, added.extra["trend_reference"]) == ("unchanged", "no earlier result")
    assert added.message == (
        "`ttfr`: 1 row added; latest no result → 5.35 hours (2026-01-05); status no result"
        " → Did not move (−0.85 hours vs baseline), unchanged; 50% of the way to the target"
        " 4.5 hours"
    )
    text = format_markdown(report)
    assert (
        "| `ttfr` | — | 5.35 hours (2026-01-05) | = unchanged (no result → Did not move)"
        " | 50% of the way to 4.5 hours | +1 |" in text
    )


def test_the_latest_value_never_comes_from_a_holdout_arm(tmp_path: Path) -> None:
    rows = (
        "date,metric,variant,value,n,std\n"
        "2026-01-05,ttfr,holdout,6.1,4000,3.0\n"
        "2026-01-05,ttfr,treatment,5.0,4000,3.0\n"
    )
    report = compare(tmp_path, minimal_charter(), minimal_charter(), (None, rows))
    (added,) = report.of_kind("results-added")
    assert (added.after["variant"], added.after["value"]) == ("treatment", 5.0)
    assert added.after["status"] == "improved"  # 1.1 hours faster than holdout, n = 4,000 each


def test_status_and_verdict_rows_show_their_labels(tmp_path: Path) -> None:
    rows = "date,metric,value\n2026-01-05,ttfr,6.3\n"
    report = compare(tmp_path, minimal_charter(), minimal_charter(status="paused"), (None, rows))
    status = report.of_kind("status-changed")[0]
    verdict = report.of_kind("verdict-changed")[0]
    assert (status.before, status.after) == ("live", "paused")  # codes in the JSON
    assert (verdict.before, verdict.after) == ("no-results", "no-impact")
    assert verdict.message == "verdict: No results → No impact"
    lines = format_markdown(report).splitlines()
    assert "| Status |  | status | Live | Paused |" in lines
    assert "| Verdict |  |  | No results | No impact |" in lines


def test_missing_revision_messages() -> None:
    shallow = missing_revision_message("HEAD~3", "BASE", shallow=True)
    assert "shallow clone" in shallow and "--deepen" in shallow and "fetch-depth: 0" in shallow
    branch = missing_revision_message("origin/main", "BASE", shallow=False)
    assert "`git fetch origin +main:refs/remotes/origin/main`" in branch


# --- goalposts and agreements ------------------------------------------------------------


def on(day: str) -> str:
    """AGREED with another `agreed.on` date."""
    return AGREED.replace("on: 2026-02-15", f"on: {day}")


@pytest.fixture
def change_made_on_march_1st(monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder side is dated today; fix today (2026-03-01) through SOURCE_DATE_EPOCH."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1772366400")  # 2026-03-01 12:00 UTC


@pytest.mark.usefixtures("change_made_on_march_1st")
@pytest.mark.parametrize(
    ("agreed_on", "reagreed", "why"),
    [
        ("2026-02-15", False, "without a renewed agreement (same `agreed.on`)"),
        ("2026-01-10", False, "`agreed.on` moved back to 2026-01-10"),
        ("2026-02-20", False, "the new `agreed.on` 2026-02-20 is before the change (2026-03-01)"),
        ("2026-03-01", True, "re-agreed by Head of Support on 2026-03-01"),
    ],
)
def test_a_moved_target_is_a_goalpost_moved_whatever_the_agreement_says(
    tmp_path: Path, agreed_on: str, reagreed: bool, why: str
) -> None:
    before = minimal_charter(business_metrics=AGREED)
    after = minimal_charter(business_metrics=on(agreed_on).replace("value: 4.5", "value: 5.0"))
    report = compare(tmp_path, before, after)
    (moved,) = report.of_kind("goalpost-moved")
    assert moved.field == "target.value"
    assert moved.extra == {"reagreed": reagreed}
    assert why in moved.message
    assert report.matching(["goalpost-moved"]) == ["goalpost-moved"]
    unagreed = report.matching(["goalpost-moved-unagreed"])
    assert unagreed == ([] if reagreed else ["goalpost-moved-unagreed"])


@pytest.mark.usefixtures("change_made_on_march_1st")
def test_the_agreement_removed_with_the_goalpost(tmp_path: Path) -> None:
    before = minimal_charter(business_metrics=AGREED)
    removed = AGREED.replace("\n    agreed: {by: [Head of Support], on: 2026-02-15}", "")
    report = compare(
        tmp_path, before, minimal_charter(business_metrics=removed.replace("6.2", "7"))
    )
    assert kinds(report) == [
        ("goalpost-moved", "ttfr", "baseline.value"),
        ("agreement-changed", "ttfr", "agreed"),
    ]
    assert report.changes[0].extra == {"reagreed": False}
    assert "the agreement was removed" in report.changes[0].message
    assert report.changes[1].before == {"by": ["Head of Support"], "on": "2026-02-15"}
    assert report.changes[1].after is None


def test_dropping_a_signatory_changes_the_agreement(tmp_path: Path) -> None:
    two = AGREED.replace("[Head of Support]", "[Head of Support, VP Customer Experience]")
    report = compare(
        tmp_path, minimal_charter(business_metrics=two), minimal_charter(business_metrics=AGREED)
    )
    (changed,) = report.changes
    assert (changed.kind, changed.field) == ("agreement-changed", "agreed.by")
    assert changed.before == ["Head of Support", "VP Customer Experience"]
    assert changed.after == ["Head of Support"]
    assert changed.message.endswith("(VP Customer Experience no longer agreed)")
    # Adding a signatory is a plain change.
    report = compare(
        tmp_path / "2",
        minimal_charter(business_metrics=AGREED),
        minimal_charter(business_metrics=two),
    )
    assert kinds(report) == [("metric-changed", "ttfr", "agreed.by")]


def test_agreement_dates_moved_back_or_renewed_after_results(tmp_path: Path) -> None:
    before = minimal_charter(business_metrics=AGREED)
    backwards = compare(tmp_path, before, minimal_charter(business_metrics=on("2026-01-01")))
    assert kinds(backwards) == [("agreement-changed", "ttfr", "agreed.on")]
    assert "(moved backwards)" in backwards.changes[0].message

    later = minimal_charter(business_metrics=on("2026-04-01"))
    fresh = compare(tmp_path / "2", before, later)
    assert kinds(fresh) == [("metric-changed", "ttfr", "agreed.on")]

    rows = "date,metric,value\n2026-03-02,ttfr,6.0\n"
    renewed = compare(tmp_path / "3", before, later, (rows, rows))
    assert kinds(renewed) == [("agreement-changed", "ttfr", "agreed.on")]
    assert renewed.changes[0].message == (
        "`ttfr` agreed.on: 2026-02-15 → 2026-04-01 (re-agreed by Head of Support on 2026-04-01"
        " after the metric had results: 1 row since 2026-03-02)"
    )


# --- results: rewritten, and trends that follow the statistics ---------------------------

AB_HEADER = "date,metric,variant,value,n,std\n"


def ab(day: str, control: float, treatment: float, n: int = 4000, std: float = 3.0) -> str:
    return f"{day},ttfr,control,{control},{n},{std}\n{day},ttfr,treatment,{treatment},{n},{std}\n"


def test_editing_or_deleting_a_past_row_rewrites_results(tmp_path: Path) -> None:
    base = AB_HEADER + ab("2026-01-05", 6.1, 6.0) + ab("2026-01-12", 6.1, 5.9)
    head = AB_HEADER + ab("2026-01-05", 6.1, 5.0) + "2026-01-12,ttfr,control,6.1,4000,3.0\n"
    report = compare(tmp_path, minimal_charter(), minimal_charter(), (base, head))
    assert [c.kind for c in report.changes if c.kind.startswith("results")] == ["results-rewritten"]
    (rewritten,) = report.of_kind("results-rewritten")
    assert rewritten.extra == {"rows": {"added": 0, "revised": 1, "removed": 1}}
    assert [(r["date"], r["variant"], r["value"]) for r in rewritten.before] == [
        ("2026-01-05", "treatment", 6.0),
        ("2026-01-12", "treatment", 5.9),
    ]
    assert [(r["date"], r["value"], r["line"]) for r in rewritten.after] == [("2026-01-05", 5.0, 3)]
    assert rewritten.message.startswith(
        "`ttfr`: 1 past row revised, 1 past row removed (2026-01-05 treatment: 6 hours"
        " (n 4000, std 3) → 5 hours (n 4000, std 3); 2026-01-12 treatment: 5.9 hours"
        " (n 4000, std 3) removed)"
    )
    text = format_markdown(report)
    assert "**past results rewritten** on 1 metric (`routing/ttfr`)" in text
    # The rows as they were under Before, the same rows now under After (docs/diff.md).
    assert (
        "| 🚩 Results rewritten | `ttfr` | 1 past row revised, 1 past row removed"
        " | 2026-01-05 treatment: 6 hours \\(n 4000, std 3\\); 2026-01-12 treatment: 5.9 hours"
        " \\(n 4000, std 3\\) | 2026-01-05 treatment: 5 hours \\(n 4000, std 3\\);"
        " 2026-01-12 treatment: removed |"
    ) in text
    assert "new results" not in text  # no new row: not summarised as new results


def test_rewritten_rows_of_a_metric_whose_unit_changed_read_in_each_sides_unit(
    tmp_path: Path,
) -> None:
    base = AB_HEADER + ab("2026-01-05", 6.1, 6.0)
    head = AB_HEADER + ab("2026-01-05", 366.0, 300.0)
    minutes = minimal_charter().replace("unit: hours", "unit: minutes")
    report = compare(tmp_path, minimal_charter(), minutes, (base, head))
    (rewritten,) = report.of_kind("results-rewritten")
    assert rewritten.cells is not None
    _, before, after = rewritten.cells
    assert before.startswith("2026-01-05 control: 6.1 hours") and "minutes" not in before
    assert after.startswith("2026-01-05 control: 366 minutes") and "hours" not in after


@pytest.mark.parametrize(
    ("new_week", "status", "trend"),
    [
        # 6.1 → 6.05 hours against control 6.1, n = 900 a side: noise, still flat.
        (ab("2026-01-12", 6.1, 6.05, n=900), "flat", "unchanged"),
        # 1.1 hours faster with n = 4,000 a side: a real improvement.
        (ab("2026-01-12", 6.1, 5.0), "improved", "improved"),
        # 0.6 hours slower with n = 4,000 a side: worse than control.
        (ab("2026-01-12", 6.1, 6.7), "worse", "regressed"),
    ],
)
def test_trends_follow_the_status(tmp_path: Path, new_week: str, status: str, trend: str) -> None:
    base = AB_HEADER + ab("2026-01-05", 6.1, 6.08)  # flat: 0.02 hours, well inside the noise
    report = compare(tmp_path, minimal_charter(), minimal_charter(), (base, base + new_week))
    (added,) = report.of_kind("results-added")
    assert (added.before["status"], added.after["status"], added.trend) == ("flat", status, trend)
    assert "vs control, 95% CI" in added.message
    assert report.matching(["regressed"]) == (["regressed"] if trend == "regressed" else [])


def test_a_significant_drop_from_improved_to_flat_regresses(tmp_path: Path) -> None:
    base = AB_HEADER + ab("2026-01-05", 6.1, 5.0)  # improved
    head = base + ab("2026-01-12", 6.1, 6.05)  # back to flat
    report = compare(tmp_path, minimal_charter(), minimal_charter(), (base, head))
    (added,) = report.of_kind("results-added")
    assert (added.before["status"], added.after["status"]) == ("improved", "flat")
    assert added.trend == "regressed"
    row = next(line for line in format_markdown(report).splitlines() if line.startswith("| `ttfr`"))
    assert "▼ regressed (Improved → Did not move)" in row


def csat(day: str, control: float, treatment: float) -> str:
    return f"{day},csat,control,{control},900,1.0\n{day},csat,treatment,{treatment},900,1.0\n"


@pytest.mark.parametrize(
    ("treatment", "trend", "breached"),
    [(4.30, "unchanged", False), (4.15, "regressed", True)],
)
def test_a_guardrail_regresses_only_when_newly_breached(
    tmp_path: Path, treatment: float, trend: str, breached: bool
) -> None:
    charter = minimal_charter(
        measurement="\n  method: ab_test\n  population: All tickets.\n  guardrails:"
        "\n    - {id: csat, name: CSAT, unit: score, direction: increase,"
        " baseline: {value: 4.31}, tolerance: {value: 0.1}}"
    )
    base = AB_HEADER.replace("ttfr", "csat") + csat("2026-01-05", 4.31, 4.31)
    report = compare(tmp_path, charter, charter, (base, base + csat("2026-01-12", 4.31, treatment)))
    (added,) = report.of_kind("results-added")
    assert (added.before["value"], added.after["value"]) == (4.31, treatment)
    assert (added.trend, added.after["breached"]) == (trend, breached)
    text = format_markdown(report)
    if breached:
        assert "> ⚠️ **Alerts:** `MC108` guardrail-breached:" in text
        assert "**1 new alert** (MC108)" in text
    else:
        assert "Alerts" not in text


def test_a_guardrail_a_hair_beyond_its_tolerance_never_reads_as_at_it(tmp_path: Path) -> None:
    """4.2099 against a baseline of 4.31 and a tolerance of 0.1 read "latest 4.31 score →
    4.21 score", "−0.1 score vs baseline, tolerance 0.1 score" beside its breach."""
    charter = minimal_charter(
        measurement="\n  method: before_after\n  population: All tickets.\n  guardrails:"
        "\n    - {id: csat, name: CSAT, unit: score, direction: increase,"
        " baseline: {value: 4.31}, tolerance: {value: 0.1}}"
    )
    base = "date,metric,value\n2026-01-05,csat,4.31\n"
    report = compare(tmp_path, charter, charter, (base, base + "2026-01-12,csat,4.2099\n"))
    (added,) = report.of_kind("results-added")
    assert "latest 4.31 score \u2192 4.2099 score (2026-01-12)" in added.message, added.message
    assert "(\u22120.1001 score vs baseline, tolerance 0.1 score)" in added.message, added.message
    text = format_markdown(report)
    assert "moved \u22120.1001 score against baseline, beyond its tolerance of 0.1 score" in text


def test_a_past_row_revised_by_a_hair_reads_as_revised(tmp_path: Path) -> None:
    # 4.5049 hours revised to the target of 4.5 read "4.5 hours → 4.5 hours".
    base, head = (
        "date,metric,value\n2026-01-05,ttfr,4.5049\n",
        "date,metric,value\n2026-01-05,ttfr,4.5\n",
    )
    report = compare(tmp_path, minimal_charter(), minimal_charter(), (base, head))
    (rewritten,) = report.of_kind("results-rewritten")
    assert "(2026-01-05 production: 4.505 hours \u2192 4.5 hours)" in rewritten.message, (
        rewritten.message
    )


def test_removing_an_agreed_business_metric_removes_its_agreement(tmp_path: Path) -> None:
    """Dropping the agreed metric (say, for a new one with another id) is not a quiet change."""
    other = (
        AGREED.replace("id: ttfr", "id: ttr")
        .replace("Time to first response", "Time to resolution")
        .replace("value: 4.5", "value: 20")
        .replace("6.2", "24")
    )
    before = minimal_charter(business_metrics=AGREED + other)
    report = compare(tmp_path, before, minimal_charter(business_metrics=AGREED))
    (removed,) = report.changes[:1]
    assert (removed.kind, removed.metric, removed.field) == ("agreement-changed", "ttr", None)
    assert removed.before == {"kind": "business", "name": "Time to resolution"}
    assert removed.message == (
        "business metric `ttr` removed, and its agreement with it (it was agreed by Head of"
        " Support on 2026-02-15)"
    )


def test_a_long_text_changed_past_its_first_77_characters_shows_where_it_changed() -> None:
    """Both sides were cut at 77 characters: a definition whose "excluding" became
    "including" at character 98 read as the same text twice."""
    from generator.diff.compare import shown_change

    was = (
        "Mean hours from ticket creation to the ticket being marked solved, English web"
        " and email tickets, excluding tickets waiting on the customer."
    )
    now = was.replace("excluding", "including")
    before, after = shown_change(was, now).split(" → ")
    assert before == "…nglish web and email tickets, excluding tickets waiting on the customer."
    assert after == "…nglish web and email tickets, including tickets waiting on the customer."
    longer = shown_change(was, was + " Weekends too.")
    assert longer.endswith("→ …ckets waiting on the customer. Weekends too.")
    # Short texts, numbers and texts that differ early are as `show` gives them.
    assert shown_change("Weekly", "Daily") == "Weekly → Daily"
    assert shown_change(15.0, 17.5) == "15 → 17.5"
    assert shown_change("x" + was, "y" + was) == f"{('x' + was)[:77]}… → {('y' + was)[:77]}…"


# --- fitting the comment --------------------------------------------------------------------


def compare_charters(tmp_path: Path, charters: dict[str, tuple[str, str]]) -> DiffReport:
    """Two folders holding charters by id, each as (BASE's text, HEAD's), compared."""
    sides = []
    for i, name in enumerate(("base", "head")):
        for cid, texts in charters.items():
            folder = tmp_path / name / "charters" / cid
            folder.mkdir(parents=True)
            (folder / "charter.yaml").write_text(texts[i], encoding="utf-8")
        sides.append(load_side(str(tmp_path / name), tmp_path, name.upper()))
    assert sides[0].ok and sides[1].ok, sides[0].errors + sides[1].errors
    return diff_sides(sides[0], sides[1])


def plan(**fields: str) -> str:
    """The minimal charter with these fields of its measurement plan (JSON is YAML)."""
    fields = {"population": "All tickets.", **fields}
    more = "".join(f"\n  {key}: {json.dumps(value)}" for key, value in fields.items())
    return minimal_charter(measurement="\n  method: ab_test" + more)


# The minimal charter's agreed metric with its target lowered: a goalpost moved, less
# ambitious, without a renewed agreement (same `agreed.on`).
MOVED = (
    minimal_charter(business_metrics=AGREED),
    minimal_charter(business_metrics=AGREED.replace("value: 4.5", "value: 5.5")),
)
MOVED_ROW = "| 🚩 Goalpost moved | `ttfr` | target.value | 4.5 | 5.5 |"


def cells(row: str) -> list[str]:
    return re.split(r"(?<!\\)\|", row)[1:-1]


def test_a_long_plan_text_leaves_a_moved_goalpost_in_the_comment(tmp_path: Path) -> None:
    """A population of 63,000 characters in a charter whose id sorts first was shown
    whole in its table cell: its section did not fit, and every section after it was left
    out with it, the moved goalpost of another charter too: the comment was its summary
    and a note."""
    population = "All sessions in every market. " * 2_100
    report = compare_charters(
        tmp_path,
        {"aaa": (minimal_charter(), plan(population=population)), "m": MOVED},
    )
    comment = format_markdown(report)
    assert len(comment) <= 60_000
    assert "left out" not in comment
    lines = comment.splitlines()
    # The flagged section first, whole: its row and its sentence.
    assert lines.index("### `m` · Ticket routing") < lines.index("### `aaa` · Ticket routing")
    assert MOVED_ROW in lines
    assert any(
        x.startswith("- 🚩 `ttfr` target.value: 4.5 → 5.5") and "without a renewed agreement" in x
        for x in lines
    )
    # The long text is cut in its cell, with a mark that some is left out.
    row = next(x for x in lines if "measurement.population" in x)
    assert cells(row)[4] == f" {population[:500]}… "
    assert len(row) < 700


def test_sections_that_do_not_fit_leave_out_only_themselves(tmp_path: Path) -> None:
    """Forty charters whose plans were reworded, one moved goalpost and one small change:
    the sections stopped at the first that did not fit, so the moved goalpost (`m`) and
    the small change (`zzz`), after them by id, were left out with the rest."""
    long = {
        key: f"{key} " + "Every ticket opened in the web form, by email or by chat. " * 10
        for key in ("population", "unit_of_analysis", "decision_rule")
    }
    charters = {f"a{i:02d}": (minimal_charter(), plan(**long)) for i in range(40)}
    renamed = minimal_charter(
        business_metrics=MINIMAL_BLOCKS["business_metrics"].replace("first response", "first reply")
    )
    report = compare_charters(
        tmp_path, {**charters, "m": MOVED, "zzz": (minimal_charter(), renamed)}
    )
    comment = format_markdown(report)
    assert len(comment) <= 60_000
    lines = comment.splitlines()
    headings = [x for x in lines if x.startswith("### ")]
    # The flagged section first; then every section in turn that still fits.
    assert headings[0] == "### `m` · Ticket routing"
    assert MOVED_ROW in lines
    assert any("without a renewed agreement" in x for x in lines if x.startswith("- 🚩 "))
    assert headings[-1] == "### `zzz` · Ticket routing"
    assert (
        "| Metric changed | `ttfr` | name | Time to first response | Time to first reply |" in lines
    )
    shown = [x.split("`")[1] for x in headings]
    left = [cid for cid in charters if cid not in shown]
    assert 0 < len(left) < 20 and shown[1:-1] == [c for c in charters if c not in left]
    # The note names every section left out, and where everything is.
    assert lines[-1] == (
        f"_{len(left)} charter sections left out to fit a comment: "
        + ", ".join(f"`{cid}`" for cid in left)
        + "; run `charters diff` locally or use `--format json` for everything._"
    )
    assert format_markdown(report) == comment  # the same report, the same bytes


def test_two_long_texts_that_differ_late_show_where_in_their_cells(tmp_path: Path) -> None:
    """A cell shows 500 characters: two texts the same for longer are both shown from
    a little before where they differ, not as the same 500 characters twice."""
    was = "Every ticket opened in the web form, by email or by chat. " * 12 + "Not spam."
    now = was.replace("Not spam.", "Spam too.")
    report = compare_charters(tmp_path, {"routing": (plan(population=was), plan(population=now))})
    row = next(x for x in format_markdown(report).splitlines() if "measurement.population" in x)
    before, after = (cell.strip() for cell in cells(row)[3:5])
    assert before == "…" + was[len(was) - 109 :] and after == "…" + now[len(now) - 109 :]


def test_the_note_of_sections_left_out_fits_the_room_kept_for_it() -> None:
    from generator.diff.report import NOTE_ROOM, _left_out_note

    note = _left_out_note([f"{i}" + "x" * 5_000 for i in range(100_000)])
    assert len(note) + 2 <= NOTE_ROOM  # with the line breaks around it
    assert note.endswith(
        " and 99980 more; run `charters diff` locally or use `--format json` for everything._"
    )
