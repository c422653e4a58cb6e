"""Validation: one test per kind of error, each checking the located message a user reads.

Every diagnostic prints as `path:line:col: field.path: message`. The tests assert the
whole prefix (file, line, column, field path) and the part of the message that tells
the user what to do. Positions are written as `at(text, before, token)`: the line and
column of `token` where it follows `before` in the input shown just above.
"""

from __future__ import annotations

import json
import os

import pytest
from helpers import MINIMAL_BLOCKS, ScratchProject, at, minimal_charter

from generator.load import load_project

CHARTER = "charters/routing/charter.yaml"

ML_PRECISION = [
    {
        "id": "precision",
        "name": "Routing precision",
        "unit": "ratio",
        "direction": "increase",
        "drives": ["ttfr"],
    }
]
GUARDRAILS_BLOCK = """
  method: ab_test
  population: All tickets.
  guardrails:
    - id: csat
      name: CSAT
      unit: score
      direction: increase
      tolerance: {value: 0.1}"""


def only_error(project: ScratchProject) -> str:
    """The single diagnostic of loading the tree (a second one would be noise)."""
    errors = project.errors()
    assert len(errors) == 1, "\n".join(errors)
    return errors[0]


def assert_error(project: ScratchProject, prefix: str, *message_parts: str) -> str:
    error = only_error(project)
    assert error.startswith(prefix), f"{error!r} does not start with {prefix!r}"
    for part in message_parts:
        assert part in error[len(prefix) :], f"{part!r} not in {error!r}"
    return error


# --- the fixture itself ----------------------------------------------------------------


def test_minimal_charter_is_valid(scratch_project: ScratchProject) -> None:
    scratch_project.charter()
    assert scratch_project.errors() == []


# --- YAML-level problems ---------------------------------------------------------------


def test_yaml_syntax_error_is_located(scratch_project: ScratchProject) -> None:
    text = scratch_project.charter(owner="\n  name: Ana Ruiz\n email: ana@example.com")
    assert_error(
        scratch_project,
        f"{CHARTER}:{at(text, ' ', 'email')}: YAML syntax error: ",
        "expected <block end>",
        "(check the indentation of this line and the line above",
    )
    # The mapping it was reading is the whole document, begun on line 1: not named; nor
    # after the comments `charters new` starts a charter with, or a `---` (review).
    assert "began at line" not in " ".join(scratch_project.errors())
    scratch_project.charter(text="# A comment.\n---\n" + text)
    assert "began at line" not in " ".join(scratch_project.errors())


def test_a_flow_mapping_left_open_says_where_it_began(scratch_project: ScratchProject) -> None:
    """The parser finds a `{` left open on the next line's key: that line is located, and
    the message names the line and column where the mapping began, where the fix is."""
    text = scratch_project.charter().replace("target: {value: 4.5}", "target: {value: 4.5", 1)
    scratch_project.charter(text=text)
    began = at(text, "target: ", "{")
    line, col = began.split(":")
    assert_error(
        scratch_project,
        f"{CHARTER}:{int(line) + 1}:",
        "YAML syntax error: while parsing a flow mapping that began at line"
        f" {line}, column {col}, expected ',' or '}}', but got",
    )


def test_text_after_a_closing_quote_gets_no_indentation_advice(
    scratch_project: ScratchProject,
) -> None:
    scratch_project.charter(
        text=scratch_project.charter().replace("summary: ", 'summary: "Route" ', 1)
    )
    (error,) = scratch_project.errors()
    assert "YAML syntax error" in error and "indentation" not in error


def test_an_unquoted_percent_unit_says_to_quote_it(scratch_project: ScratchProject) -> None:
    # `%` is the format's own unit, and a YAML indicator: unquoted, PyYAML's message alone
    # ("found character '%' that cannot start any token") did not say what to write.
    text = scratch_project.charter().replace("unit: hours", "unit: %", 1)
    assert "unit: %\n" in text
    scratch_project.charter(text=text)
    assert_error(
        scratch_project,
        f"{CHARTER}:",
        "found character '%' that cannot start any token (a value starting with % must be"
        " quoted, as in unit: '%')",
    )


def test_a_tab_that_indents_a_line_says_to_indent_with_spaces(
    scratch_project: ScratchProject,
) -> None:
    # PyYAML's "found character '\\t' that cannot start any token" was printed with its
    # backslash doubled, and did not say that YAML takes no tabs.
    text = scratch_project.charter().replace("\nstatus:", "\n\tstatus:", 1)
    scratch_project.charter(text=text)
    assert_error(
        scratch_project,
        f"{CHARTER}:3:1: ",
        "YAML syntax error: while scanning for the next token, found character '\\t' that"
        " cannot start any token (a tab: YAML indents with spaces only; replace the tabs"
        " with spaces)",
    )


@pytest.mark.parametrize(
    ("unit", "message"),
    [
        ("\uff05", "'\uff05' is written in compatibility characters; write '%', the unit the"
         " format reads as a percentage"),
        ("\uff52\uff41\uff54\uff49\uff4f", "'\uff52\uff41\uff54\uff49\uff4f' is written in"
         " compatibility characters; write 'ratio', the unit the format reads as a proportion"
         " from 0 to 1"),
        # Read as free text too: arms with `n` alone were not tested as proportions, and
        # a move of the MDE counted as evidence (review).
        ("ra\u200dtio", "the unit holds the invisible character U+200D: it shows as 'ratio',"
         " which the generator would not read it as; write it in visible characters"),
        ("\u2060%", "the unit holds the invisible character U+2060: it shows as '%', which"
         " the generator would not read it as; write it in visible characters"),
    ],
)  # fmt: skip
def test_a_unit_that_looks_like_percent_or_ratio_but_is_not_written_so_is_refused(
    scratch_project: ScratchProject, unit: str, message: str
) -> None:
    # `％` looked like `%` on the page, but the analysis read it as free text: no bounds,
    # and no test of arms as proportions.
    text = scratch_project.charter().replace("unit: hours", f"unit: {json.dumps(unit)}", 1)
    scratch_project.charter(text=text)
    assert_error(
        scratch_project,
        f"{CHARTER}:{at(text, 'unit: ', json.dumps(unit))}: business_metrics[0].unit: ",
        message,
    )


@pytest.mark.parametrize(
    "unit",
    [
        "\u2b50\ufe0f stars",
        "\U0001f469\u200d\U0001f4bb hours",
        "\u0645\u06cc\u0644\u06cc\u200c\u062b\u0627\u0646\u06cc\u0647",
    ],
)
def test_a_unit_may_hold_the_joiners_and_selectors_its_writing_needs(
    scratch_project: ScratchProject, unit: str
) -> None:
    # An emoji's selector and joiner, Persian's zero-width non-joiner (second review).
    written = json.dumps(unit, ensure_ascii=False)  # YAML reads no escaped surrogate pair
    text = scratch_project.charter().replace("unit: hours", f"unit: {written}", 1)
    scratch_project.charter(text=text)
    assert scratch_project.errors() == []


@pytest.mark.parametrize(
    "unit", ["%", " % ", "pp", "percentage points", "pct", "percent", "% of plan", "share"]
)
def test_units_that_are_free_text_are_accepted(scratch_project: ScratchProject, unit: str) -> None:
    # A unit that reads as a percentage is free text (a growth rate in percent may be
    # negative); rows with `n` alone in it are refused (test_result_integrity).
    text = scratch_project.charter().replace("unit: hours", f"unit: {json.dumps(unit)}", 1)
    scratch_project.charter(text=text)
    assert scratch_project.errors() == []


@pytest.mark.parametrize(
    ("overrides", "where", "field", "what"),
    [
        ({"title": '"   "'}, "title: ", "title", "spaces"),
        ({"title": '"\\u200b"'}, "title: ", "title", "the invisible character U+200B"),
        ({"title": '"\\u2800"'}, "title: ", "title", "the invisible character U+2800"),
        ({"summary": '"\\t\\u2060 "'}, "summary: ", "summary",
         "spaces and the invisible character U+2060"),
        ({"owner": '\n  name: "  "'}, "name: ", "owner.name", "spaces"),
        ({"team": '" "'}, "team: ", "team", "spaces"),
        ({"tags": '["ok", " "]'}, '"ok", ', "tags[1]", "spaces"),
    ],
)  # fmt: skip
def test_a_text_that_shows_nothing_is_refused(
    scratch_project: ScratchProject, overrides: dict[str, str], where: str, field: str, what: str
) -> None:
    # A title of three spaces built a page whose heading, and whose link on the
    # portfolio, showed nothing; only "" was refused.
    text = scratch_project.charter(**overrides)
    token = text.split(where, 1)[1][0]
    assert scratch_project.errors() == [
        f"charters/routing/charter.yaml:{at(text, where, token)}: {field}: the text shows"
        f" nothing (it is only {what}); write it out"
    ]


# Why the page would not show words inside HTML the sanitiser removes, and what to do.
REMOVED_WITH_TAGS = (
    "raw HTML such as <style>, <script> or MathML is removed with the text inside it (an"
    " unclosed <style> takes the rest of the text); write the words outside such tags, or"
    " put the HTML in backticks to show it as code"
)


@pytest.mark.parametrize("written", ["0026-02-01", '"0026-02-01"'])
def test_a_date_out_of_range_says_so_without_a_hint_to_quote_it(
    scratch_project: ScratchProject, written: str
) -> None:
    """`as_of: 0026-02-01` was told to quote the date to keep it as text, and the quoted
    date gets the same error: a date field takes no text (review)."""
    text = scratch_project.charter(decisions=f'\n  - date: {written}\n    decision: "Go."')
    where = at(text, "date: ", written[0])
    assert scratch_project.errors() == [
        f"charters/routing/charter.yaml:{where}: decisions[0].date: 0026-02-01 is out of"
        " range: dates are limited to 1900-01-01 to 2199-12-31 (is the year mistyped?)"
    ]


def test_markdown_whose_page_would_hide_words_is_warned_of(scratch_project: ScratchProject) -> None:
    # The sanitiser removed an unclosed <style> with the rest of the summary: the page
    # showed "Intro." and nothing said why (review). A warning: the page is still safe,
    # and `check --strict` fails on it.
    text = scratch_project.charter(summary='"Intro. <style> and the rest"')
    where = at(text, "summary: ", '"')
    assert scratch_project.errors() == [
        f"charters/routing/charter.yaml:{where}: summary: the page would"
        f" not show 'and the rest': {REMOVED_WITH_TAGS}"
    ]
    (found,) = load_project(scratch_project.root)[1]
    assert (found.severity, found.code) == ("warning", "html-removed")
    scratch_project.charter(summary='"Intro. `<style>` and the rest"')
    assert scratch_project.errors() == []


@pytest.mark.parametrize(
    ("summary", "hidden"),
    [
        ("Hi <style>the</style> there", "the"),
        ("Visit <style>in</style> the inbox", "in"),
        ("Hi <style>and the rest</style> there", "and the rest"),
    ],
)
def test_the_words_a_page_would_hide_are_the_ones_named(
    scratch_project: ScratchProject, summary: str, hidden: str
) -> None:
    """The hidden `the` was found inside `there`, and the warning named `there`, which
    the page shows (review)."""
    text = scratch_project.charter(summary=json.dumps(summary))
    where = at(text, "summary: ", '"')
    assert scratch_project.errors() == [
        f"charters/routing/charter.yaml:{where}: summary: the page would"
        f" not show {hidden!r}: {REMOVED_WITH_TAGS}"
    ]


@pytest.mark.parametrize(
    "written",
    [
        *("<!-- TODO -->", "&nbsp;", "<br>", "---", "###", "[](x)", "<span></span>"),
        *("![Agents answer faster](chart.png)", "[ref]: https://docs.example/plan"),
        "```python\n```",
    ],
)
def test_markdown_whose_page_shows_nothing_is_refused(
    scratch_project: ScratchProject, written: str
) -> None:
    """`statement: <!-- TODO -->` is not blank as written, so it passed, and the page's
    objective was empty: the business objective the charter exists to write down."""
    objective = f"\n  statement: {json.dumps(written, ensure_ascii=False)}"
    text = scratch_project.charter(objective=objective)
    where = at(text, "statement: ", '"')
    assert scratch_project.errors() == [
        (
            f"charters/routing/charter.yaml:{where}: objective.statement: the page would show"
            f" nothing of {written!r} (comments, line breaks, rules, non-breaking spaces,"
            " images, empty code blocks and link definitions show no text); write it out,"
            " or leave the field out where it may be"
        )
    ]
    assert scratch_project.build().ok is False


@pytest.mark.parametrize("written", ["<script>alert(1)</script>", "<style>Faster answers"])
def test_markdown_whose_only_words_the_sanitiser_takes_is_refused(
    scratch_project: ScratchProject, written: str
) -> None:
    """`<script>alert(1)</script>` shows nothing either: it was only html-removed's warning,
    and the build went on with the objective empty on the page. One message, an error,
    that names the words."""
    objective = f"\n  statement: {json.dumps(written)}"
    text = scratch_project.charter(objective=objective)
    words = "alert 1" if "alert" in written else "Faster answers"
    where = at(text, "statement: ", '"')
    assert scratch_project.errors() == [
        f"charters/routing/charter.yaml:{where}: objective.statement:"
        f" the page would show nothing of {written!r} ({words!r}): {REMOVED_WITH_TAGS}"
    ]
    (found,) = load_project(scratch_project.root)[1]
    assert (found.severity, found.code) == ("error", "shows-nothing")
    assert scratch_project.build().ok is False


def test_an_image_in_markdown_is_warned_of(scratch_project: ScratchProject) -> None:
    """The sanitiser takes every image out, alt text and all: `See ![the flow](flow.png)`
    showed "See", and nothing said why (second review)."""
    scratch_project.charter(objective='\n  statement: "Faster answers. ![the flow](flow.png)"')
    (only,) = scratch_project.errors()
    assert only.endswith(
        "objective.statement: the page would not show the image 'the flow': pages show no"
        " images from charter text, nor their alt text; link to the file instead, as in"
        " [Flow chart](flow.png)"
    )
    assert scratch_project.build().ok


@pytest.mark.parametrize(
    "written", ["R&D cost", "🚀", "...", "<b>Faster</b> answers", "1", "H<sub>2</sub>O"]
)
def test_markdown_that_shows_something_is_taken(
    scratch_project: ScratchProject, written: str
) -> None:
    scratch_project.charter(objective=f"\n  statement: {json.dumps(written, ensure_ascii=False)}")
    assert scratch_project.errors() == []


def test_duplicate_key(scratch_project: ScratchProject) -> None:
    text = scratch_project.charter(title="Ticket routing") + "title: Routing again\n"
    scratch_project.charter(text=text)
    assert_error(
        scratch_project,
        f"{CHARTER}:{at(text, '', 'title: Routing again')}: title: ",
        "duplicate key 'title' (first defined on line 1)",
    )


@pytest.mark.parametrize(
    ("overrides", "before", "token", "field", "suggestion"),
    [
        ({"titel": "Typo"}, "", "titel:", "titel", "did you mean 'title'"),
        (
            {"owner": "\n  name: Ana Ruiz\n  emial: ana@example.com"},
            "  ",
            "emial:",
            "owner.emial",
            "did you mean 'email'",
        ),
    ],
    ids=["top-level", "nested"],
)
def test_unknown_key_suggests_the_close_name(
    scratch_project: ScratchProject,
    overrides: dict[str, str],
    before: str,
    token: str,
    field: str,
    suggestion: str,
) -> None:
    text = scratch_project.charter(**overrides)
    assert_error(
        scratch_project,
        f"{CHARTER}:{at(text, before, token)}: {field}: ",
        f"unknown key {field.split('.')[-1]!r} ({suggestion}?)",
        "x-* extension keys",
    )


@pytest.mark.parametrize(
    ("overrides", "before", "token", "field"),
    [
        (
            {"objective": "\n  context: Slow answers drive complaints."},
            "  ",
            "context",
            "objective.statement",
        ),
        (
            {
                "business_metrics": [
                    {
                        "id": "ttfr",
                        "name": "Time to first response",
                        "definition": "Median hours to first reply.",
                        "direction": "decrease",
                        "baseline": {"value": 6.2},
                        "target": {"value": 4.5},
                    }
                ]
            },
            "  - ",
            "id: ttfr",
            "business_metrics[0].unit",
        ),
        ({"owner": None}, "", "title", "owner"),
    ],
    ids=["objective.statement", "business_metrics[0].unit", "owner"],
)
def test_missing_required_field_points_at_its_parent(
    scratch_project: ScratchProject,
    overrides: dict[str, object],
    before: str,
    token: str,
    field: str,
) -> None:
    text = scratch_project.charter(**overrides)
    name = field.rsplit(".", 1)[-1]
    assert_error(
        scratch_project,
        f"{CHARTER}:{at(text, before, token)}: {field}: ",
        f"required field {name!r} is missing",
    )


def test_wrong_type(scratch_project: ScratchProject) -> None:
    text = minimal_charter().replace("baseline: {value: 6.2}", "baseline: {value: six}")
    scratch_project.charter(text=text)
    assert_error(
        scratch_project,
        f"{CHARTER}:{at(text, '{value: ', 'six')}: business_metrics[0].baseline.value: ",
        "expected a number, got the text 'six'",
    )


def test_wrong_type_text_where_a_mapping_belongs(scratch_project: ScratchProject) -> None:
    text = scratch_project.charter(owner="Ana Ruiz")
    assert_error(
        scratch_project,
        f"{CHARTER}:{at(text, 'owner: ', 'Ana')}: owner: ",
        "expected a mapping, got the text 'Ana Ruiz'",
    )


def test_status_no_is_the_yaml_boolean_trap(scratch_project: ScratchProject) -> None:
    # Quoting 'no' would not make it a status: the message says how YAML read it, and
    # suggests no quote that leads to the next error.
    text = scratch_project.charter(status="no")
    error = assert_error(
        scratch_project,
        f"{CHARTER}:{at(text, 'status: ', 'no')}: status: ",
        "the boolean false is not allowed (YAML reads unquoted no as a boolean);",
    )
    assert "quote it" not in error
    assert "expected one of: proposed, baseline, experiment, live, paused, retired" in error


def test_a_boolean_in_a_number_field_gets_no_advice_to_quote_it(
    scratch_project: ScratchProject,
) -> None:
    # "quote it: 'yes'" led to the next error: a number field refuses text too.
    text = minimal_charter().replace("target: {value: 4.5}", "target: {value: yes}")
    scratch_project.charter(text=text)
    error = assert_error(
        scratch_project,
        f"{CHARTER}:{at(text, 'target: {value: ', 'yes')}: business_metrics[0].target.value: ",
        "expected a number, got the boolean true (YAML reads unquoted yes as a boolean)",
    )
    assert "quote it" not in error


def test_nan_is_not_a_number_we_accept(scratch_project: ScratchProject) -> None:
    text = minimal_charter().replace("target: {value: 4.5}", "target: {value: .nan}")
    scratch_project.charter(text=text)
    assert_error(
        scratch_project,
        f"{CHARTER}:{at(text, 'target: {value: ', '.nan')}: business_metrics[0].target.value: ",
        "must be a finite number",
        "YAML reads .nan as not-a-number",
    )


def test_date_where_text_belongs(scratch_project: ScratchProject) -> None:
    text = scratch_project.charter(title="2026-01-01")
    assert_error(
        scratch_project,
        f"{CHARTER}:{at(text, 'title: ', '2026')}: title: ",
        "expected text, got a date",
        "quote it to keep it as text",
    )


@pytest.mark.parametrize(
    ("overrides", "before", "field"),
    [
        (
            {"decisions": "\n  - {date: 2026-13-01, decision: Ship.}"},
            "{date: ",
            "decisions[0].date",
        ),
        (
            {
                "human_baseline": "\n  method: By hand."
                "\n  period: {start: 2026-13-01, end: 2026-14-01}"
            },
            "{start: ",
            "human_baseline.period.start",
        ),
    ],
    ids=["decision", "period"],
)
def test_invalid_date(
    scratch_project: ScratchProject, overrides: dict[str, str], before: str, field: str
) -> None:
    text = scratch_project.charter(**overrides)
    errors = scratch_project.errors()
    prefix = f"{CHARTER}:{at(text, before, '2026-13-01')}: {field}: "
    assert any(e.startswith(prefix) for e in errors), errors
    error = next(e for e in errors if e.startswith(prefix))
    assert "'2026-13-01' is not a valid date; expected YYYY-MM-DD" in error


@pytest.mark.parametrize(
    ("old", "new", "field", "allowed"),
    [
        (
            "direction: decrease",
            "direction: down",
            "business_metrics[0].direction",
            "increase, decrease",
        ),
        (
            "method: ab_test",
            "method: abtest",
            "measurement.method",
            "ab_test, holdout, before_after, shadow, offline",
        ),
        (
            "status: live",
            "status: shipped",
            "status",
            "proposed, baseline, experiment, live, paused, retired",
        ),
    ],
    ids=["direction", "method", "status"],
)
def test_enum_value_lists_the_allowed_values(
    scratch_project: ScratchProject, old: str, new: str, field: str, allowed: str
) -> None:
    text = minimal_charter().replace(old, new)
    scratch_project.charter(text=text)
    key, bad = new.split(": ")
    assert_error(
        scratch_project,
        f"{CHARTER}:{at(text, key + ': ', bad)}: {field}: ",
        f"the text {bad!r} is not allowed; expected one of: {allowed}",
    )


# --- ids and references ----------------------------------------------------------------


def test_folder_name_must_be_a_valid_id(scratch_project: ScratchProject) -> None:
    scratch_project.charter("Bad_Name")
    assert_error(
        scratch_project,
        "charters/Bad_Name: ",
        "folder name 'Bad_Name' is not a valid charter id",
        "^[a-z0-9][a-z0-9-]{0,62}$",
    )


def test_metric_id_pattern(scratch_project: ScratchProject) -> None:
    text = minimal_charter().replace("id: ttfr", "id: Time-To-Reply")
    scratch_project.charter(text=text)
    assert_error(
        scratch_project,
        f"{CHARTER}:{at(text, 'id: ', 'Time')}: business_metrics[0].id: ",
        "'Time-To-Reply' is not a valid metric id",
        "lowercase letters, digits and '_'",
    )


def test_duplicate_metric_ids(scratch_project: ScratchProject) -> None:
    ml = [dict(ML_PRECISION[0], id="ttfr")]
    text = scratch_project.charter(ml_metrics=ml)
    where = at(text, "ml_metrics:\n  - id: ", "ttfr")
    assert_error(
        scratch_project,
        f"{CHARTER}:{where}: ml_metrics[0].id: ",
        "duplicate metric id 'ttfr' (first declared at business_metrics[0].id, line 9)",
    )


def test_drives_names_an_undeclared_metric(scratch_project: ScratchProject) -> None:
    ml = [dict(ML_PRECISION[0], drives=["revenue"])]
    text = scratch_project.charter(ml_metrics=ml)
    assert_error(
        scratch_project,
        f"{CHARTER}:{at(text, '  - ', 'revenue')}: ml_metrics[0].drives[0]: ",
        "'revenue' is not a metric of this charter (business metrics: ttfr)",
    )


def test_drives_names_a_guardrail_not_a_business_metric(
    scratch_project: ScratchProject,
) -> None:
    ml = [dict(ML_PRECISION[0], drives=["csat"])]
    text = scratch_project.charter(measurement=GUARDRAILS_BLOCK, ml_metrics=ml)
    where = at(text, "drives:\n    - ", "csat")
    assert_error(
        scratch_project,
        f"{CHARTER}:{where}: ml_metrics[0].drives[0]: ",
        "'csat' is not a business metric of this charter (business metrics: ttfr)",
    )


@pytest.mark.parametrize(
    ("written", "error"),
    [
        ("- id: [ttfr]", "9:9: business_metrics[0].id: expected text, got a list"),
        ("- id: 12", "9:9: business_metrics[0].id: expected text, got the number 12"),
        ("- name: Time to first response", "9:5: business_metrics[0].id: required field 'id'"),
    ],
    ids=["list", "number", "missing"],
)
def test_a_metric_id_that_cannot_be_read_is_one_error_not_one_per_reference(
    scratch_project: ScratchProject, written: str, error: str
) -> None:
    # The ML metric's `drives`, the minimum detectable effect, the human baseline and every
    # row name 'ttfr', which the charter meant to declare: one error, at the id, not a
    # follow-on error at each reference, which mending the id mends.
    business = MINIMAL_BLOCKS["business_metrics"].replace("- id: ttfr", written)
    if written.startswith("- name"):
        business = business.replace("\n    name: Time to first response", "", 1)
    scratch_project.charter(
        business_metrics=business,
        ml_metrics=ML_PRECISION,
        measurement="\n  method: ab_test\n  population: All tickets."
        "\n  minimum_detectable_effect: {metric: ttfr, absolute: 0.5}",
        human_baseline="\n  method: Two agents routed 200 tickets by hand."
        "\n  results:\n    - {metric: ttfr, value: 4.0}\n  conclusion: Faster.",
    )
    scratch_project.write(
        "charters/routing/results/weekly.csv",
        "date,metric,value\n2026-05-04,ttfr,5.9\n2026-05-11,ttfr,5.7\n",
    )
    assert_error(scratch_project, f"{CHARTER}:{error}")
    # Mended, the charter loads with every reference and row.
    scratch_project.charter(
        ml_metrics=ML_PRECISION,
        measurement="\n  method: ab_test\n  population: All tickets."
        "\n  minimum_detectable_effect: {metric: ttfr, absolute: 0.5}",
        human_baseline="\n  method: Two agents routed 200 tickets by hand."
        "\n  results:\n    - {metric: ttfr, value: 4.0}\n  conclusion: Faster.",
    )
    assert scratch_project.errors() == []


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (
            "busines_metrics:",
            [
                f"{CHARTER}:1:1: business_metrics: required field 'business_metrics' is missing",
                f"{CHARTER}:8:1: busines_metrics: unknown key 'busines_metrics' (did you mean"
                " 'business_metrics'?); allowed: title, summary, status, owner, team, aliases,"
                " tags, links, objective, business_metrics, ml_metrics, measurement,"
                " human_baseline, results, decisions, pull, or x-* extension keys",
            ],
        ),
        (
            "business_metrics: null\nx-old:",
            [
                f"{CHARTER}:8:19: business_metrics: expected a list, got nothing (null) (YAML"
                " reads null as null)"
            ],
        ),
    ],
    ids=["misspelt", "null"],
)
def test_business_metrics_not_there_is_one_error_not_one_per_reference(
    scratch_project: ScratchProject, written: str, expected: list[str]
) -> None:
    """`busines_metrics:` misspelt declared no metric: each result row, the ML metric's
    `drives` and the minimum detectable effect were also refused, as "'ttfr' is not a
    metric of this charter (declared: )", besides the key's own errors."""
    text = scratch_project.charter(
        ml_metrics=ML_PRECISION,
        measurement="\n  method: ab_test\n  population: All tickets."
        "\n  minimum_detectable_effect: {metric: ttfr, absolute: 0.5}",
    ).replace("business_metrics:", written)
    scratch_project.charter(text=text)
    scratch_project.write(
        "charters/routing/results/weekly.csv",
        "date,metric,value\n2026-05-04,ttfr,5.9\n2026-05-11,ttfr,5.7\n",
    )
    assert scratch_project.errors() == expected


def test_drives_with_no_business_metric_says_none(scratch_project: ScratchProject) -> None:
    text = scratch_project.charter(business_metrics="[]", ml_metrics=ML_PRECISION)
    errors = scratch_project.errors()
    where = at(text, "drives:\n    - ", "ttfr")
    expected = (
        f"{CHARTER}:{where}: ml_metrics[0].drives[0]: 'ttfr' is not a metric of this charter"
        " (business metrics: none)"
    )
    assert expected in errors, errors


def test_a_reference_is_still_checked_beside_a_metric_id_that_can_be_read(
    scratch_project: ScratchProject,
) -> None:
    # An id that is text but refused for its spelling is declared: a reference to another
    # id is still reported, as a catalogue `ref` that names no catalogued metric is.
    ml = [dict(ML_PRECISION[0], id="Precision!", drives=["revenue"])]
    text = scratch_project.charter(ml_metrics=ml)
    errors = scratch_project.errors()
    where = at(text, "  - ", "revenue")
    assert any(
        e.startswith(f"{CHARTER}:{where}: ml_metrics[0].drives[0]: 'revenue' is not a metric")
        for e in errors
    ), errors


def test_minimum_detectable_effect_names_unknown_metric(
    scratch_project: ScratchProject,
) -> None:
    text = scratch_project.charter(
        measurement="\n  method: ab_test\n  population: All tickets."
        "\n  minimum_detectable_effect: {metric: revenue, relative: 0.1}"
    )
    where = at(text, "{metric: ", "revenue")
    assert_error(
        scratch_project,
        f"{CHARTER}:{where}: measurement.minimum_detectable_effect.metric: ",
        "'revenue' is not a metric of this charter (declared: ttfr)",
    )


def test_a_relative_effect_of_a_zero_baseline_is_refused(scratch_project: ScratchProject) -> None:
    # 10% of a baseline of 0 is 0: any move at all counted as the effect ("improved").
    text = scratch_project.charter(
        business_metrics=MINIMAL_BLOCKS["business_metrics"].replace(
            "baseline: {value: 6.2}", "baseline: {value: 0}"
        ),
        measurement="\n  method: ab_test\n  population: All tickets."
        "\n  minimum_detectable_effect: {metric: ttfr, relative: 0.1}",
    )
    where = at(text, "relative: ", "0.1")
    assert_error(
        scratch_project,
        f"{CHARTER}:{where}: measurement.minimum_detectable_effect.relative: ",
        "the baseline of 'ttfr' is 0; give the effect as 'absolute', in the metric's unit",
    )


def test_an_agreement_dated_after_the_build_date_is_refused(
    scratch_project: ScratchProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `agreed.on: 2099-01-01` passed as a re-agreement of a moved target in `charters diff`.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795000000")  # 2026-11-18
    text = scratch_project.charter(
        business_metrics=MINIMAL_BLOCKS["business_metrics"]
        + "\n    agreed: {by: [Head of Support], on: 2099-01-01}"
    )
    where = at(text, "on: ", "2099-01-01")
    assert_error(
        scratch_project,
        f"{CHARTER}:{where}: business_metrics[0].agreed.on: ",
        "2099-01-01 is after the build date, 2026-11-18; an agreement cannot be dated later"
        " than the build (--today, else SOURCE_DATE_EPOCH, else today)",
    )


def test_a_baseline_measured_after_the_build_date_is_refused(
    scratch_project: ScratchProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A baseline `as_of: 2027-06-01` passed as the one results are held against."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795000000")  # 2026-11-18
    blocks = MINIMAL_BLOCKS["business_metrics"].replace(
        "baseline: {value: 6.2}", "baseline: {value: 6.2, as_of: 2027-06-01}"
    )
    text = scratch_project.charter(business_metrics=blocks)
    assert_error(
        scratch_project,
        f"{CHARTER}:{at(text, 'as_of: ', '2027-06-01')}: business_metrics[0].baseline.as_of: ",
        "2027-06-01 is after the build date, 2026-11-18; a baseline cannot be dated later"
        " than the build (--today, else SOURCE_DATE_EPOCH, else today)",
    )
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1812000000")  # 2027-06-03: measured by then
    assert scratch_project.errors() == []


def test_a_target_due_before_its_baseline_was_measured_is_refused(
    scratch_project: ScratchProject,
) -> None:
    """`target.by: 2026-01-15` under `baseline.as_of: 2026-07-31` was taken as written:
    a deadline before the starting point it moves from was measured."""
    blocks = MINIMAL_BLOCKS["business_metrics"].replace(
        "baseline: {value: 6.2}", "baseline: {value: 6.2, as_of: 2026-07-31}"
    )
    text = scratch_project.charter(
        business_metrics=blocks.replace("{value: 4.5}", "{value: 4.5, by: 2026-01-15}")
    )
    assert_error(
        scratch_project,
        f"{CHARTER}:{at(text, 'by: ', '2026-01-15')}: business_metrics[0].target.by: ",
        "2026-01-15 is before the baseline's as_of, 2026-07-31: a target is met by its 'by'"
        " date, after the baseline it moves from was measured; write a date from 2026-07-31"
        " on, or correct baseline.as_of",
    )
    # Due the day it was measured, or later: fine.
    scratch_project.charter(
        business_metrics=blocks.replace("{value: 4.5}", "{value: 4.5, by: 2026-07-31}")
    )
    assert scratch_project.errors() == []


def test_a_surrogate_escape_in_yaml_text_says_what_it_is(scratch_project: ScratchProject) -> None:
    """`title: "Mini \\ud800 charter"` gave pydantic's "Input should be a valid string,
    unable to parse raw data as a unicode string"."""
    text = scratch_project.charter(title='"Ticket \\ud800 routing"')
    where = at(text, "Ticket ", "\\ud800")
    assert scratch_project.errors() == [
        f"{CHARTER}:{where}: title: holds the unpaired surrogate escape \\ud800, which is no"
        " character (a surrogate is one half of a UTF-16 pair); write the character itself"
    ]
    # The pair JSON writes for a character past U+FFFF: two halves in YAML.
    text = scratch_project.charter(title='"Ticket \\uD83D\\uDE00 routing"')
    where = at(text, "Ticket ", "\\uD83D")
    assert scratch_project.errors() == [
        f"{CHARTER}:{where}: title: holds the surrogate escapes \\ud83d\\ude00, a pair that"
        " YAML reads as two halves, no character; write the character itself, or the escape"
        " \\U0001F600"
    ]
    scratch_project.charter(title='"Ticket \\U0001F600 routing"')
    assert scratch_project.errors() == []


def test_an_agreement_date_with_a_time_is_a_located_error_not_a_crash(
    scratch_project: ScratchProject,
) -> None:
    text = scratch_project.charter(
        business_metrics=MINIMAL_BLOCKS["business_metrics"]
        + "\n    agreed: {by: [Head of Support], on: 2026-09-08 10:00:00}"
    )
    error = only_error(scratch_project)
    assert error.startswith(f"{CHARTER}:{at(text, 'on: ', '2026')}: business_metrics[0].agreed.on:")


def test_a_drives_list_naming_a_metric_twice_is_refused(scratch_project: ScratchProject) -> None:
    # The evidence sentence then said "did not move" twice.
    text = scratch_project.charter(
        ml_metrics="\n  - id: prec\n    name: Precision\n    definition: Top-1 precision."
        "\n    unit: ratio\n    direction: increase\n    target: {value: 0.9}"
        "\n    drives: [ttfr, ttfr]"
    )
    where = at(text, "drives: [ttfr, ", "ttfr")
    assert_error(
        scratch_project,
        f"{CHARTER}:{where}: ml_metrics[0].drives[1]: ",
        "'ttfr' is named twice; name each business metric once",
    )


def test_human_baseline_result_names_unknown_metric(scratch_project: ScratchProject) -> None:
    text = scratch_project.charter(
        human_baseline="\n  method: Two agents routed by hand.\n  results:"
        "\n    - {metric: ttfr, value: 4.9}\n    - {metric: revenue, value: 3}"
    )
    assert_error(
        scratch_project,
        f"{CHARTER}:{at(text, '{metric: ', 'revenue')}: human_baseline.results[1].metric: ",
        "'revenue' is not a metric of this charter (declared: ttfr)",
    )


def test_a_human_baseline_naming_a_metric_twice_is_refused(
    scratch_project: ScratchProject,
) -> None:
    # The metrics table showed the second value beside the baseline; the list, both.
    text = scratch_project.charter(
        human_baseline="\n  method: Two agents routed by hand.\n  results:"
        "\n    - {metric: ttfr, value: 4.9}\n    - {metric: ttfr, value: 3.1}"
    )
    first = at(text, "    - {metric: ", "ttfr").split(":")[0]
    second = at(text, "value: 4.9}\n    - {metric: ", "ttfr")
    assert_error(
        scratch_project,
        f"{CHARTER}:{second}: human_baseline.results[1].metric: ",
        f"'ttfr' is listed twice (first at line {first}); give each metric one value reached by",
    )


def test_human_baseline_required_once_past_proposed(scratch_project: ScratchProject) -> None:
    text = scratch_project.charter(status="experiment", human_baseline=None)
    assert_error(
        scratch_project,
        f"{CHARTER}:{at(text, 'status: ', 'experiment')}: human_baseline: ",
        "required once status is past 'proposed' (status is 'experiment')",
    )


def test_human_baseline_not_required_while_proposed(scratch_project: ScratchProject) -> None:
    scratch_project.charter(status="proposed", human_baseline=None)
    assert scratch_project.errors() == []


# --- result rows -----------------------------------------------------------------------


def with_results(project: ScratchProject, name: str, text: str) -> None:
    project.charter()
    project.write(f"charters/routing/results/{name}", text)


def test_result_row_bad_date_located_by_csv_line(scratch_project: ScratchProject) -> None:
    with_results(
        scratch_project,
        "weekly.csv",
        "date,metric,value\n2026-05-04,ttfr,5.9\n2026-05-32,ttfr,5.7\n",
    )
    assert_error(
        scratch_project,
        "charters/routing/results/weekly.csv:3:1: [1].date: ",
        "'2026-05-32' is not a valid date; expected YYYY-MM-DD",
    )


def test_result_value_nan_in_csv(scratch_project: ScratchProject) -> None:
    with_results(scratch_project, "weekly.csv", "date,metric,value\n2026-05-04,ttfr,nan\n")
    assert_error(
        scratch_project,
        "charters/routing/results/weekly.csv:2:17: [0].value: ",
        "must be a finite number",
    )


def test_result_value_nan_in_json(scratch_project: ScratchProject) -> None:
    text = (
        "[\n"
        '  {"date": "2026-05-04", "metric": "ttfr", "value": 5.9},\n'
        '  {"date": "2026-05-11", "metric": "ttfr", "value": NaN}\n'
        "]\n"
    )
    with_results(scratch_project, "weekly.json", text)
    where = at(text, '"ttfr", ', '"value": NaN')
    assert_error(
        scratch_project,
        f"charters/routing/results/weekly.json:{where}: [1].value: ",
        "must be a finite number",
    )


@pytest.mark.parametrize(
    ("name", "text", "position"),
    [
        ("weekly.csv", "date,metric,value\n2026-05-04,ttfr,5.9\n2026-05-11,revenue,5.7\n", "3:12"),
        (
            "weekly.json",
            '[\n  {"date": "2026-05-04", "metric": "ttfr", "value": 5.9},\n'
            '  {"date": "2026-05-11",\n   "metric": "revenue",\n   "value": 5.7}\n]\n',
            "4:4",
        ),
        (
            "weekly.yaml",
            "# weekly export\n- {date: 2026-05-04, metric: ttfr, value: 5.9}\n"
            "- date: 2026-05-11\n  metric: revenue\n  value: 5.7\n",
            "4:11",
        ),
    ],
    ids=["csv", "json", "yaml"],
)
def test_result_row_unknown_metric_is_located(
    scratch_project: ScratchProject, name: str, text: str, position: str
) -> None:
    with_results(scratch_project, name, text)
    assert_error(
        scratch_project,
        f"charters/routing/results/{name}:{position}: [1].metric: ",
        "'revenue' is not a metric of this charter (declared: ttfr)",
    )


def test_a_result_rows_metric_that_is_no_id_gets_one_error(
    scratch_project: ScratchProject,
) -> None:
    # Not declared, and not spelled as an id either: one error at the cell, the one that
    # lists the charter's metrics, not a second about the spelling.
    text = "date,metric,value\n2026-05-04,Revenue per user!,5.9\n"
    with_results(scratch_project, "weekly.csv", text)
    assert_error(
        scratch_project,
        "charters/routing/results/weekly.csv:2:12: [0].metric: ",
        "'Revenue per user!' is not a metric of this charter (declared: ttfr)",
    )


@pytest.mark.parametrize(
    ("row", "where", "message"),
    [
        ("2026-05-04,ttfr,5.0,5.5,6.0", "2:21: [0].lower", "lower (5.5) must be <= value (5)"),
        ("2026-05-04,ttfr,5.0,4.0,4.5", "2:25: [0].upper", "upper (4.5) must be >= value (5)"),
    ],
    ids=["lower-above-value", "upper-below-value"],
)
def test_result_interval_must_contain_the_value(
    scratch_project: ScratchProject, row: str, where: str, message: str
) -> None:
    with_results(scratch_project, "ci.csv", f"date,metric,value,lower,upper\n{row}\n")
    assert_error(scratch_project, f"charters/routing/results/ci.csv:{where}: ", message)


def test_result_interval_checked_even_when_another_cell_is_wrong(
    scratch_project: ScratchProject,
) -> None:
    with_results(
        scratch_project, "ci.csv", "date,metric,value,lower,note\n2026-05-04,ttfr,5.0,5.5,a\n"
    )
    assert scratch_project.errors()[0].startswith(
        "charters/routing/results/ci.csv:2:21: [0].lower: lower (5.5)"
    )


def test_a_misspelt_optional_column_stops_its_file_with_one_error(
    scratch_project: ScratchProject,
) -> None:
    # `varient` left every row without its variant: a duplicate row at each, with the
    # header error; and a colour column's rows were checked around it.
    rows = "".join(f"2026-05-0{d},ttfr,{arm},5.0\n" for d in (1, 2) for arm in ("control", "b"))
    with_results(scratch_project, "ab.csv", "date,metric,varient,value\n" + rows)
    assert scratch_project.errors() == [
        "charters/routing/results/ab.csv:1:13: varient: unknown column 'varient' in the header"
        " (did you mean 'variant'?); allowed: date, metric, value, lower, upper, variant, n,"
        " std, note, or x-* extension columns"
    ]


def test_csv_position_after_a_cell_spanning_lines(scratch_project: ScratchProject) -> None:
    with_results(
        scratch_project,
        "notes.csv",
        'date,metric,value,note\n2026-05-04,ttfr,5.1,"two\nlines"\n2026-05-11,ttfr,nan,x\n',
    )
    assert_error(
        scratch_project, "charters/routing/results/notes.csv:4:17: [1].value: ", "finite number"
    )


def test_result_unknown_column(scratch_project: ScratchProject) -> None:
    with_results(
        scratch_project, "ab.csv", "date,metric,varient,value\n2026-05-04,ttfr,control,5.9\n"
    )
    assert_error(
        scratch_project,
        "charters/routing/results/ab.csv:1:13: varient: ",
        "unknown column 'varient' in the header (did you mean 'variant'?)",
    )


def test_a_wrong_header_is_one_error_at_the_header_not_two_at_every_row(
    scratch_project: ScratchProject,
) -> None:
    rows = "".join(f"2026-05-{d:02d},ttfr,control,5.9\n" for d in range(1, 29))
    with_results(scratch_project, "ab.csv", "date,metric,variant,val\n" + rows)
    assert sorted(scratch_project.errors()) == [
        "charters/routing/results/ab.csv:1:1: the header has no 'value' column; every result"
        " row needs date, metric, value",
        "charters/routing/results/ab.csv:1:21: val: unknown column 'val' in the header (did you"
        " mean 'value'?); allowed: date, metric, value, lower, upper, variant, n, std, note, or"
        " x-* extension columns",
    ]
    with_results(scratch_project, "ab.csv", "date;metric;variant;value\n" + rows.replace(",", ";"))
    assert scratch_project.errors() == [
        "charters/routing/results/ab.csv:1:1: the header 'date;metric;variant;value' has no"
        " comma; separate the columns with commas (a spreadsheet set to another separator"
        " writes ';' or tabs)"
    ]
    # With a decimal comma, a row splits into as many cells as the header has columns
    # plus one: it was also reported, at every row, as a row with too many cells.
    decimal = rows.replace(",", ";").replace("5.9", "5,9")
    with_results(scratch_project, "ab.csv", "date;metric;variant;value\n" + decimal)
    assert len(scratch_project.errors()) == 1
    # Excel's note of its separator, above the header.
    with_results(scratch_project, "ab.csv", "sep=,\ndate,metric,variant,value\n" + rows)
    assert scratch_project.errors() == [
        "charters/routing/results/ab.csv:1:1: the first line 'sep=,' is a spreadsheet's note"
        " of its separator, not the header; delete the line (the header follows it)"
    ]


def test_a_header_that_lost_a_column_is_one_error_at_the_header_not_one_at_every_row(
    scratch_project: ScratchProject,
) -> None:
    # The 'value' name deleted from the header: every row had its own error, advising
    # to write empty cells as two commas, and the header's own error was lost among them.
    rows = "".join(f"2026-05-{d:02d},ttfr,control,5.9\n" for d in range(1, 29))
    with_results(scratch_project, "ab.csv", "date,metric,variant\n" + rows)
    assert scratch_project.errors() == [
        "charters/routing/results/ab.csv:1:1: rows have more cells than the header has"
        " columns: 28 of the 28 rows (the first at line 2, with 4 cells), and the header names"
        " 3 columns ('date', 'metric', 'variant'); is a column's name missing from it? Name"
        " each column in the rows' order: every result row needs date, metric, value (this"
        " header has no 'value'), and may have lower, upper, variant, n, std, note, or x-*"
        " extension columns"
    ]
    # A few long rows (a comma left unquoted in a note) are each refused where they stand.
    few = rows.replace(",5.9\n", ",5.9,\n").replace(
        "03,ttfr,control,5.9,", "03,ttfr,control,5.9,a, b"
    )
    with_results(scratch_project, "ab.csv", "date,metric,variant,value,note\n" + few)
    assert scratch_project.errors() == [
        "charters/routing/results/ab.csv:4:31: row has 6 cells but the header has 5 columns;"
        " write an empty cell as two commas, and quote cells holding a comma"
    ]


def test_a_decimal_comma_in_a_mapping_in_braces_says_so(scratch_project: ScratchProject) -> None:
    """`{value: 4,5}` is the mapping {value: 4, 5: null}: "unknown key '5'" alone."""
    blocks = MINIMAL_BLOCKS["business_metrics"].replace("{value: 4.5}", "{value: 4,5}")
    text = scratch_project.charter(business_metrics=blocks)
    assert_error(
        scratch_project,
        f"{CHARTER}:{at(text, 'value: 4,', '5')}: business_metrics[0].target.5: ",
        "unknown key '5' (in {value: 4,5} the comma ends the value: write 4.5 for a"
        " decimal, 45 for a thousands separator); allowed: value, by, or x-* extension keys",
    )


def test_json_row_missing_value_located_at_its_row(scratch_project: ScratchProject) -> None:
    text = (
        "[\n"
        '  {"date": "2026-05-04", "metric": "ttfr", "value": 5.9},\n'
        '  {"date": "2026-05-11", "metric": "ttfr", "value": 5.8},\n'
        "\n"
        '  {"date": "2026-05-18",\n'
        '   "metric": "ttfr"}\n'
        "]\n"
    )
    with_results(scratch_project, "weekly.json", text)
    where = at(text, "  ", '{"date": "2026-05-18"')
    assert_error(
        scratch_project,
        f"charters/routing/results/weekly.json:{where}: [2].value: ",
        "required field 'value' is missing",
    )


def test_yaml_row_missing_value_located_at_its_row(scratch_project: ScratchProject) -> None:
    text = (
        "# weekly export\n"
        "- {date: 2026-05-04, metric: ttfr, value: 5.9}\n"
        "\n"
        "- date: 2026-05-11\n"
        "  metric: ttfr\n"
    )
    with_results(scratch_project, "weekly.yaml", text)
    assert_error(
        scratch_project,
        "charters/routing/results/weekly.yaml:4:3: [1].value: ",
        "required field 'value' is missing",
    )


def test_json_duplicate_key_is_located(scratch_project: ScratchProject) -> None:
    text = (
        "[\n"
        '  {"date": "2026-05-04", "metric": "ttfr", "value": 5.9},\n'
        '  {"date": "2026-05-11", "metric": "ttfr", "value": 5.8, "value": 5.1}\n'
        "]\n"
    )
    with_results(scratch_project, "weekly.json", text)
    where = at(text, "5.8, ", '"value"')
    assert_error(
        scratch_project,
        f"charters/routing/results/weekly.json:{where}: [1].value: ",
        "duplicate key 'value'",
    )


def test_csv_position_after_a_quoted_cell(scratch_project: ScratchProject) -> None:
    # Spreadsheet exports often quote every cell.
    with_results(
        scratch_project, "weekly.csv", '"date","metric","value"\n"2026-05-04","ttfr","nan"\n'
    )
    assert_error(
        scratch_project,
        "charters/routing/results/weekly.csv:2:21: [0].value: ",
        "must be a finite number",
    )


# --- files and folders -----------------------------------------------------------------


def test_empty_charter_file(scratch_project: ScratchProject) -> None:
    scratch_project.charter(text="\n  \n")
    assert_error(scratch_project, f"{CHARTER}:1:1: ", "file is empty")


def test_empty_result_file(scratch_project: ScratchProject) -> None:
    with_results(scratch_project, "weekly.csv", "")
    assert_error(scratch_project, "charters/routing/results/weekly.csv:1:1: ", "file is empty")


def test_non_utf8_file_located_at_the_bad_byte(scratch_project: ScratchProject) -> None:
    text = minimal_charter(owner="\n  name: Ana Ruíz")
    scratch_project.write(CHARTER, text.encode("latin-1"))
    assert_error(
        scratch_project,
        f"{CHARTER}:{at(text, 'Ana Ru', 'í')}: ",
        "file is not valid UTF-8 (byte 0xed); save it as UTF-8",
    )


def test_a_result_file_saved_as_utf16_with_its_mark_says_so(
    scratch_project: ScratchProject,
) -> None:
    """Excel's "Unicode text" writes UTF-16 with a byte order mark: the message named a
    byte, where the same file without the mark was said to look saved as UTF-16."""
    scratch_project.charter()
    path = "charters/routing/results/weekly.csv"
    scratch_project.write(path, "date,metric,value\n2026-05-04,ttfr,5.1\n".encode("utf-16"))
    assert_error(
        scratch_project,
        f"{path}:1:1: ",
        "file is not valid UTF-8 (byte 0xff) (it is saved as UTF-16); save it as UTF-8",
    )


def test_folder_without_charter_yaml_is_an_error(scratch_project: ScratchProject) -> None:
    scratch_project.charter()
    scratch_project.write("charters/pricing/notes.md", "draft\n")
    assert_error(scratch_project, "charters/pricing: ", "folder has no charter.yaml")


def test_folder_with_charter_yml_gets_a_rename_hint(scratch_project: ScratchProject) -> None:
    scratch_project.write("charters/pricing/charter.yml", minimal_charter())
    assert_error(scratch_project, "charters/pricing: ", "rename charter.yml to charter.yaml")


def test_results_glob_leaving_the_folder(scratch_project: ScratchProject) -> None:
    text = scratch_project.charter(results='["../x/*.csv"]')
    scratch_project.write("charters/x/data.csv", "date,metric,value\n")
    errors = scratch_project.errors()
    where = at(text, "results: [", '"../x')
    prefix = f"{CHARTER}:{where}: results[0]: "
    # charters/x has no charter.yaml either; that is reported on its own.
    assert [e for e in errors if e.startswith(CHARTER)] == [
        prefix + "'../x/*.csv' leaves the charter's folder; use a glob relative to it"
    ]


def test_results_glob_matching_nothing_is_located_after_a_wrong_item(
    scratch_project: ScratchProject,
) -> None:
    text = scratch_project.charter(results='[3, "weekly/*.csv"]')
    second = at(text, "3, ", '"weekly')
    assert scratch_project.errors() == [
        f"{CHARTER}:{at(text, 'results: [', '3')}: results[0]: expected text, got the number 3"
        " (quote it to keep it as text: '3')",
        f"{CHARTER}:{second}: results[1]: 'weekly/*.csv' matches no file in charters/routing/",
    ]


def test_a_results_folder_named_in_another_case_is_refused(
    scratch_project: ScratchProject,
) -> None:
    """Without `results`, the rows of Results/ab.csv were left out without a word: the
    default glob reads results/, and a retired charter showed "No results yet"."""
    scratch_project.charter()
    scratch_project.write("charters/routing/Results/ab.csv", "date,metric,value\n")
    if (scratch_project.root / "charters/routing/results").exists():
        pytest.skip("names are not told apart by case here: results/* reads Results/")
    assert scratch_project.errors() == [
        "charters/routing/Results: result files are read from results/, in lowercase (without"
        " `results`, the glob results/*): none of the files in Results/ is read; rename it"
        " results, or read it with `results: [Results/*]`"
    ]
    # Beside results/, as much left out.
    scratch_project.write("charters/routing/results/cd.csv", "date,metric,value\n")
    assert len(scratch_project.errors()) == 1
    scratch_project.charter(results="[results/*, Results/*]")
    assert scratch_project.errors() == []


def test_an_empty_results_glob_is_one_error(scratch_project: ScratchProject) -> None:
    text = scratch_project.charter(results='[""]')
    where = at(text, "results: [", '""')
    assert scratch_project.errors() == [f"{CHARTER}:{where}: results[0]: must not be empty"]


def test_a_results_glob_never_reads_the_charter_itself(scratch_project: ScratchProject) -> None:
    """`*.yaml` matched charter.yaml, read as a result file: "expected a list of result
    rows, got a mapping" at the charter's first line. The charter is no result file."""
    text = scratch_project.charter(results='["*.yaml"]')
    where = at(text, "results: [", '"*.yaml')
    assert scratch_project.errors() == [
        f"{CHARTER}:{where}: results[0]: '*.yaml' matches no file in charters/routing/"
    ]


def test_a_file_no_reader_reads_is_refused(scratch_project: ScratchProject) -> None:
    with_results(scratch_project, "notes.txt", "weekly export, see the CSV\n")
    assert_error(
        scratch_project,
        "charters/routing/results/notes.txt: ",
        "not a result file: expected .csv, .json, .yaml or .yml (without `results`, every"
        " file in results/ is read as one)",
    )


def test_a_result_file_no_glob_reads_is_a_warning_at_results(
    scratch_project: ScratchProject,
) -> None:
    # Narrowed from the default to the CSV files, `results` left a week's JSON out, and
    # its bad rows with it, without a word.
    text = scratch_project.charter(results='["results/*.csv"]')
    scratch_project.write("charters/routing/results/weekly.csv", "date,metric,value\n")
    scratch_project.write("charters/routing/results/late.json", "[]\n")
    scratch_project.write("charters/routing/results/README.md", "how the CSV is made\n")
    where = f"{CHARTER}:{at(text, 'results: ', '[')}: results: "
    warned = [d.format_text() for d in load_project(scratch_project.root)[1]]
    assert warned == [
        f"{where}'results/late.json' has a result file's suffix but no glob here reads it;"
        " add one that does, or move it out of results/"
    ]
    for name in ("b.yaml", "c.yml", "d.JSON"):
        scratch_project.write(f"charters/routing/results/{name}", "[]\n")
    (warning,) = [d.format_text() for d in load_project(scratch_project.root)[1]]
    assert warning == (
        f"{where}4 files of results/ have a result file's suffix but no glob here reads them"
        " ('b.yaml', 'c.yml', 'd.JSON' and 1 more); add globs that do, or move them out of"
        " results/"
    )
    globs = '["results/*.csv", "results/*.json", "results/*.JSON", "results/*.y*ml"]'
    scratch_project.charter(results=globs)
    assert load_project(scratch_project.root)[1].sorted() == []


def test_a_file_no_reader_reads_is_located_at_the_glob_that_matched_it(
    scratch_project: ScratchProject,
) -> None:
    text = scratch_project.charter(results='["data/*"]')
    scratch_project.write("charters/routing/data/notes.txt", "weekly export\n")
    where = at(text, "results: [", '"data')
    assert_error(
        scratch_project,
        f"{CHARTER}:{where}: results[0]: ",
        "charters/routing/data/notes.txt is not a result file",
    )


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("weekly.CSV", "date,metric,value\n2026-05-04,ttfr,5.9\n"),
        ("weekly.json", '[{"date": "2026-05-04", "metric": "ttfr", "value": 5.9}]'),
        ("weekly.yaml", "- {date: 2026-05-04, metric: ttfr, value: 5.9}\n"),
        ("weekly.yml", "- {date: 2026-05-04, metric: ttfr, value: 5.9}\n"),
    ],
    ids=["csv-upper-case", "json", "yaml", "yml"],
)
def test_each_suffix_is_read_by_its_reader(
    scratch_project: ScratchProject, name: str, text: str
) -> None:
    with_results(scratch_project, name, text)
    project, diags = load_project(scratch_project.root)
    assert [d.format_text() for d in diags] == []
    [result] = project.charters[0].results
    assert (result.file, result.row.value) == (f"charters/routing/results/{name}", 5.9)


def test_result_file_symlink_leaving_the_folder(scratch_project: ScratchProject) -> None:
    scratch_project.charter()
    secret = scratch_project.write("private/salaries.csv", "date,metric,value\n2026-05-04,ttfr,1\n")
    link = scratch_project.root / "charters/routing/results/weekly.csv"
    link.parent.mkdir(parents=True)
    os.symlink(secret, link)
    assert_error(
        scratch_project,
        "charters/routing/results/weekly.csv: ",
        "result file is a link that leaves the charter's folder",
    )


def test_results_folder_symlink_leaving_the_folder(scratch_project: ScratchProject) -> None:
    scratch_project.charter()
    scratch_project.write("private/weekly.csv", "date,metric,value\n2026-05-04,ttfr,1\n")
    os.symlink(scratch_project.root / "private", scratch_project.root / "charters/routing/results")
    assert_error(
        scratch_project,
        "charters/routing/results/weekly.csv: ",
        "result file is a link that leaves the charter's folder",
    )


# --- links -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("javascript:alert(1)", "URL scheme 'javascript' is not allowed"),
        ("JavaScript:alert(1)", "URL scheme 'JavaScript' is not allowed"),
        ("data:text/html,<script>alert(1)</script>", "URL scheme 'data' is not allowed"),
        ("//evil.example", "protocol-relative URLs are not allowed"),
        ("/abs", "site-absolute paths are not allowed"),
        ("../../x", "relative URL leaves the charter's folder"),
        ("docs/../../x", "relative URL leaves the charter's folder"),
        # As a browser reads them: a backslash is a slash, %2e%2e is ..
        ("results\\..\\..\\x", "relative URL leaves the charter's folder"),
        ("results/%2e%2e/%2E%2e/x", "relative URL leaves the charter's folder"),
        ("http://[::1", "not a valid URL: Invalid IPv6 URL"),
    ],
)
def test_link_url_rejected(scratch_project: ScratchProject, url: str, message: str) -> None:
    text = scratch_project.charter(links=[{"title": "Doc", "url": url}])
    assert_error(
        scratch_project,
        f"{CHARTER}:{at(text, 'url: ')}: links[0].url: ",
        message,
    )


@pytest.mark.parametrize("url", ["java\tscript:alert(1)", "java\nscript:alert(1)"])
def test_link_url_with_tab_or_newline_in_the_scheme_rejected(
    scratch_project: ScratchProject, url: str
) -> None:
    scratch_project.charter(links=[{"title": "Doc", "url": url}])
    assert any(": links[0].url: " in e for e in scratch_project.errors())


@pytest.mark.parametrize(
    "url", ["https://wiki.example.com/routing", "http://intranet/x", "docs/x.html", "#results"]
)
def test_link_url_accepted(scratch_project: ScratchProject, url: str) -> None:
    scratch_project.charter(links=[{"title": "Doc", "url": url}])
    assert scratch_project.errors() == []


def test_a_base_url_that_is_no_url_is_a_located_error(scratch_project: ScratchProject) -> None:
    scratch_project.charter()
    (scratch_project.root / "site.yaml").write_text('base_url: "http://[::1"\n', encoding="utf-8")
    assert_error(scratch_project, "site.yaml:1:11: base_url: ", "not a valid URL: Invalid IPv6 URL")


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("ftp://x.example/", "it has the scheme 'ftp'"),
        ("javascript:alert(1)", "it has the scheme 'javascript'"),
        ("https:///charters/", "it names no host"),
        ("//cdn.example/x/", "it starts with // (a host without a scheme)"),
        ("localhost:8000/charters/", "it starts with a host and a port; write http:// or"
         " https:// before them"),
        ("not a url with spaces", "it holds a space"),
        ("ml.example.com/charters/", "it starts with what reads as a host name"
         " ('ml.example.com'); write https:// before it, or start a path with /"),
        ("https://ex.com:abc/", "its port is not a number from 1 to 65535"),
        ("https://ex.com:99999/", "its port is not a number from 1 to 65535"),
        ("https://ex.com:0/", "its port is not a number from 1 to 65535"),
        ("https://ex.com:/x/", "its port is not a number from 1 to 65535"),
        ("https://user:pw@ex.com:/x/", "its port is not a number from 1 to 65535"),
        ("https://ex.com/a?b=1#f", "it has a query or a fragment (?…, #…): the site's links"
         " add paths to it"),
    ],
)  # fmt: skip
def test_a_base_url_neither_a_full_url_nor_a_path_is_a_located_error(
    scratch_project: ScratchProject, value: str, why: str
) -> None:
    # Each was taken as a path: `ftp://x.example/` gave 404.html the stylesheet
    # `/ftp://x.example/static/style.css`; a query and a fragment were dropped quietly.
    scratch_project.charter()
    (scratch_project.root / "site.yaml").write_text(f'base_url: "{value}"\n', encoding="utf-8")
    assert_error(
        scratch_project,
        "site.yaml:1:11: base_url: ",
        f"{value!r} is neither a full http(s) URL (https://ml.example.com/charters/) nor a"
        f" path (/charters/): {why}",
    )


@pytest.mark.parametrize(
    "value",
    [
        "https://ml.example.com/charters/",
        "HTTP://intra:8080",
        "https://[::1]:8443/x/",
        "/ml/charters/",
        "ml",
        "v1.2/ml",
    ],
)
def test_a_base_url_that_is_a_full_url_or_a_path_is_accepted(
    scratch_project: ScratchProject, value: str
) -> None:
    scratch_project.charter()
    (scratch_project.root / "site.yaml").write_text(f'base_url: "{value}"\n', encoding="utf-8")
    assert scratch_project.errors() == []


# --- the whole tree in one run; extensions ---------------------------------------------


def test_every_problem_in_the_tree_is_reported_in_one_run(
    scratch_project: ScratchProject,
) -> None:
    status_text = scratch_project.charter("alpha", status="done")
    direction_text = minimal_charter(titel="Typo").replace("decrease", "down")
    scratch_project.charter("beta", text=direction_text)
    scratch_project.charter("gamma")
    scratch_project.write(
        "charters/gamma/results/weekly.csv", "date,metric,value\n2026-05-04,revenue,1\n"
    )
    errors = scratch_project.errors()
    assert [e.split(": ", 2)[:2] for e in errors] == [
        [f"charters/alpha/charter.yaml:{at(status_text, 'status: ', 'done')}", "status"],
        [
            f"charters/beta/charter.yaml:{at(direction_text, 'direction: ', 'down')}",
            "business_metrics[0].direction",
        ],
        [f"charters/beta/charter.yaml:{at(direction_text, '', 'titel')}", "titel"],
        ["charters/gamma/results/weekly.csv:2:12", "[0].metric"],
    ]


def test_every_problem_in_one_charter_is_reported(scratch_project: ScratchProject) -> None:
    text = scratch_project.charter(
        status="shipped", ml_metrics=[dict(ML_PRECISION[0], drives=["revenue"])]
    )
    scratch_project.write(
        "charters/routing/results/weekly.csv", "date,metric,value\n2026-05-04,ttfr,x\n"
    )
    errors = scratch_project.errors()
    assert [e.split(": ", 2)[1] for e in errors] == [
        "status",
        "ml_metrics[0].drives[0]",
        "[0].value",
    ]
    assert errors[0].startswith(f"{CHARTER}:{at(text, 'status: ', 'shipped')}: ")


def test_extension_keys_accepted_top_level_and_nested(scratch_project: ScratchProject) -> None:
    text = minimal_charter(
        owner="\n  name: Ana Ruiz\n  x-slack: '#support-ml'",
        **{"x-jira": "ML-1234", "x-review": {"board": "ML council", "on": "2026-02-01"}},
    ).replace("baseline: {value: 6.2}", "baseline: {value: 6.2, x-query: q42}")
    scratch_project.charter(text=text)
    scratch_project.write(
        "charters/routing/results/weekly.csv",
        "date,metric,value,x-source\n2026-05-04,ttfr,5.9,zendesk\n",
    )
    assert scratch_project.errors() == []


def test_key_that_only_looks_like_an_extension_is_unknown(
    scratch_project: ScratchProject,
) -> None:
    text = scratch_project.charter(**{"x_jira": "ML-1234"})
    assert_error(scratch_project, f"{CHARTER}:{at(text, '', 'x_jira')}: x_jira: ", "unknown key")


def test_site_yaml_is_validated_too(scratch_project: ScratchProject) -> None:
    scratch_project.charter()
    scratch_project.write("site.yaml", "title: Charters\ntitel: Oops\n")
    assert_error(scratch_project, "site.yaml:2:1: titel: ", "did you mean 'title'")


@pytest.mark.parametrize(
    "text", ["", "\n  \n", "# title: Charters\n  # lint: {disable: [MC109]}\n"]
)
def test_a_site_yaml_with_every_setting_left_out_is_all_defaults(
    scratch_project: ScratchProject, text: str
) -> None:
    # Every setting of site.yaml is optional: commenting them all out used to fail the
    # build ("file is empty", "file holds no YAML document").
    scratch_project.charter()
    scratch_project.write("site.yaml", text)
    assert scratch_project.errors() == []
    assert scratch_project.build().ok


def test_json_is_read_with_its_positions(scratch_project: ScratchProject) -> None:
    # A string holding brackets, quotes and colons must not throw the row index off.
    rows = [
        {"date": "2026-05-04", "metric": "ttfr", "value": 5.9, "note": 'a "quoted" [x]: {y}'},
        {"date": "2026-05-11", "metric": "ttfr", "value": "fast"},
    ]
    text = "[\n" + ",\n".join("  " + json.dumps(r) for r in rows) + "\n]\n"
    with_results(scratch_project, "weekly.json", text)
    where = at(text, '"ttfr", ', '"value": "fast"')
    assert_error(
        scratch_project,
        f"charters/routing/results/weekly.json:{where}: [1].value: ",
        "expected a number, got the text 'fast'",
    )


# --- Markdown a converter can read in bounded time ----------------------------------------


@pytest.mark.parametrize(
    ("summary", "message"),
    [
        ("x" * 20_001, "Markdown text of 20,001 characters; at most 20,000 (the limit)"),
        ("[" * 501, "501 '[' in one Markdown text; at most 500 (the limit"),
        ("<a " * 501, "501 '<' in one Markdown text; at most 500 (the limit"),
        ("- " * 51 + "x", 'a line opens 51 lists or quotes ("> - …"); at most 50 (the limit'),
        ("1. " * 60 + "x", "a line opens 60 lists or quotes"),
        # Behind a quote, and ordinals of any length, as the converter reads them.
        ("> " + "- " * 60 + "x", "a line opens 61 lists or quotes"),
        ("1234567890. " * 60 + "x", "a line opens 60 lists or quotes"),
        ("a\n=\n" * 1001, "Markdown text of 2,002 lines; at most 2,000 (the limit)"),
        # Indented inside a quote, each line deeper than the lists the one above opened.
        (
            "\n>\n".join("> " + "\t" * (49 * k + 1) + "- " * 49 + "x" for k in range(12)),
            "a line indented 2,160 columns; at most 200",
        ),
        (
            "".join("    " * i + "- a\n" for i in range(60)),
            "a line indented 236 columns; at most 200 (the limit: lists nested 50 levels deep)",
        ),
    ],
)
def test_markdown_past_a_limit_is_a_located_error(
    scratch_project: ScratchProject, summary: str, message: str
) -> None:
    """Python-Markdown took 10 s for 10,000 '[' and exhausted its stack on lists nested
    300 levels deep: `check` passed such a summary and `build` hung or failed in a
    template. Now both refuse it at the field."""
    text = scratch_project.charter(summary=json.dumps(summary))
    assert_error(scratch_project, f"{CHARTER}:{at(text, 'summary: ')}: summary: ", message)


def test_markdown_at_the_limits_is_accepted(scratch_project: ScratchProject) -> None:
    summary = "[" * 500 + "<" * 500 + "x" * 18_000 + "\n" + " " * 200 + "- " * 50 + "a"
    scratch_project.charter(summary=json.dumps(summary))
    assert scratch_project.errors() == []


def test_a_charter_that_is_no_mapping_is_one_error_not_one_per_result_row(
    scratch_project: ScratchProject,
) -> None:
    """`charter.yaml` holding `- a` declares no metric: its 72 result rows each added
    "'x' is not a metric of this charter (declared: )" after the one real error."""
    scratch_project.charter(text="- a\n")
    scratch_project.write(
        "charters/routing/results/r.csv",
        "date,metric,value\n" + "".join(f"2026-01-{d:02d},conv,1\n" for d in range(1, 29)),
    )
    assert scratch_project.errors() == [
        "charters/routing/charter.yaml:1:1: expected a mapping, got a list"
    ]


@pytest.mark.parametrize("kind", ["folder", "pipe"])
def test_a_charter_yaml_that_is_no_file_says_so(scratch_project: ScratchProject, kind: str) -> None:
    """A folder or a named pipe called charter.yaml was "folder has no charter.yaml"."""
    path = scratch_project.root / "charters" / "routing" / "charter.yaml"
    path.parent.mkdir(parents=True)
    if kind == "folder":
        path.mkdir()
    else:
        os.mkfifo(path)
    (error,) = scratch_project.errors()
    assert error.startswith("charters/routing/charter.yaml: ")
    assert "has no charter.yaml" not in error


def test_a_base_url_with_a_backslash_is_a_located_error(scratch_project: ScratchProject) -> None:
    # `https://ex.com\evil.com/` was written into sitemap.xml as given.
    scratch_project.charter()
    (scratch_project.root / "site.yaml").write_text(
        "base_url: 'https://ex.com\\evil.com/'\n", encoding="utf-8"
    )
    assert_error(scratch_project, "site.yaml:1:11: base_url: ", "it holds a backslash")


@pytest.mark.parametrize("char", ["\\b", "\\u200b", "\\u202e"])
def test_a_base_url_with_a_control_or_invisible_character_is_refused(
    scratch_project: ScratchProject, char: str
) -> None:
    # Written raw into sitemap.xml and feed.xml, a U+0008 made both invalid XML.
    scratch_project.charter()
    (scratch_project.root / "site.yaml").write_text(
        f'base_url: "https://ml.example.com/a{char}/"\n', encoding="utf-8"
    )
    error = only_error(scratch_project)
    assert error.startswith("site.yaml:1:") and "base_url: " in error


@pytest.mark.parametrize(
    ("email", "why"),
    [
        (
            "ann@example.com?bcc=attacker@evil.example&subject=Approved",
            " (it holds '?', which a mailto link reads as the start of headers such as bcc)",
        ),
        ("ann@example.com,bob@example.com", " (it holds ',')"),
        ("Ann Lee <ann@example.com>", " (it holds ' ')"),
        ("ann%40example.com", " (it holds '%')"),
        ("ann#x@example.com", " (it holds '#')"),
        ("ann.example.com", ""),
    ],
)
def test_an_owner_email_is_one_address(
    scratch_project: ScratchProject, email: str, why: str
) -> None:
    # `?bcc=…&subject=…` went into the page's mailto link: a reader writing to the owner
    # copied another address, with a subject of the charter's choosing.
    text = scratch_project.charter(owner=f'\n  name: Ana Ruiz\n  email: "{email}"')
    assert scratch_project.errors() == [
        f"charters/routing/charter.yaml:{at(text, 'email: ', chr(34))}: owner.email: not one"
        f" e-mail address{why}; write one address, such as ana@example.com"
    ]


@pytest.mark.parametrize(
    "email", ["ana@example.com", "ana.ruiz+charters@mail.example.co.uk", "zoë@exämple.de"]
)
def test_an_owner_email_of_one_address_is_taken(
    scratch_project: ScratchProject, email: str
) -> None:
    scratch_project.charter(owner=f"\n  name: Ana Ruiz\n  email: {email}")
    assert scratch_project.errors() == []


def test_a_markdown_link_to_another_host_without_a_scheme_is_dropped_and_warned_of(
    scratch_project: ScratchProject,
) -> None:
    # `links` refused `//host`, Markdown did not: the page kept href="//evil.example/a",
    # "\\evil.example\b" and "/\evil.example/c", which a browser takes to evil.example
    # (over http), or to a network share from a site opened from disk.
    from generator.markup import render_markdown

    summary = (
        "See [the notes](//evil.example/a), <a href='\\\\evil.example\\b'>b</a>,"
        " [c](/\\evil.example/c), [d](notes/d.txt) and [e](https://example.com/e)."
    )
    text = scratch_project.charter(summary=f'"{summary}"'.replace("\\", "\\\\"))
    where = f"charters/routing/charter.yaml:{at(text, 'summary: ', chr(34))}: summary:"
    why = (
        " names a host without a scheme (a browser takes it to that host, or from a site"
        " opened from disk to a network share); the page shows its words without the link:"
        " write the whole address, https://…"
    )
    found = [e for e in scratch_project.errors() if "without a scheme" in e]
    assert sorted(found) == sorted(
        [
            f"{where} the link '//evil.example/a'{why}",
            f"{where} the link '\\\\\\\\evil.example\\\\b'{why}",
            f"{where} the link '/\\\\evil.example/c'{why}",
        ]
    )
    html = str(render_markdown(summary))
    assert "evil.example" not in html.replace(">the notes<", "")
    assert 'href="notes/d.txt"' in html and 'href="https://example.com/e"' in html
    assert "the notes" in html and ">b<" in html and ">c<" in html
