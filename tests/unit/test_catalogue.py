"""The catalogue of business metrics (metrics.yaml) and charters' `ref`s to it."""

from __future__ import annotations

import difflib

import pytest
from helpers import ScratchProject, at

from generator import catalogue
from generator.catalogue import near_catalogued, similar
from generator.load import load_project

CHARTER = "charters/routing/charter.yaml"
CATALOGUE = """\
- id: ttfr
  name: Median time to first response
  definition: Median hours from ticket creation to first agent reply, all channels.
  unit: hours
  direction: decrease
  range: [0, null]
  owner: Head of Support
  agreed: {by: [Head of Support, CFO], on: 2026-01-10}
- id: csat_score
  name: Customer satisfaction score
  definition: Mean post-resolution survey score, 1-5.
  unit: score
  direction: increase
"""
REF = "\n  - ref: ttfr\n    baseline: {value: 6.2}\n    target: {value: 4.5}"


@pytest.fixture
def project(scratch_project: ScratchProject) -> ScratchProject:
    scratch_project.write("metrics.yaml", CATALOGUE)
    return scratch_project


def _with(extra: str) -> str:
    """The ref'd business metric with one more line (`key: value`)."""
    return REF + f"\n    {extra}"


def test_ref_takes_the_catalogue_name_definition_unit_and_direction(
    project: ScratchProject,
) -> None:
    project.charter(business_metrics=REF)
    loaded, diags = load_project(project.root)
    assert [d.format_text() for d in diags] == []
    (metric,) = loaded.charters[0].charter.business_metrics
    assert metric.ref == "ttfr"
    assert metric.id == "ttfr"
    assert metric.name == "Median time to first response"
    assert metric.definition.startswith("Median hours from ticket creation")
    assert (metric.unit, metric.direction, metric.range) == ("hours", "decrease", [0, None])
    assert (metric.baseline.value, metric.target.value) == (6.2, 4.5)
    assert loaded.catalogue.ids() == ["ttfr", "csat_score"]


def test_a_ref_may_repeat_the_catalogue_word_for_word(project: ScratchProject) -> None:
    project.charter(business_metrics=_with("unit: hours\n    direction: decrease"))
    assert project.errors() == []


@pytest.mark.parametrize(
    ("line", "key", "given", "catalogued", "catalogue_line"),
    [
        ("definition: Mean hours to first reply.", "definition", "'Mean hours to first reply.'",
         "'Median hours from ticket creation to first agent reply, all channels.'", 3),
        ("unit: minutes", "unit", "'minutes'", "'hours'", 4),
        ("direction: increase", "direction", "'increase'", "'decrease'", 5),
    ],
)  # fmt: skip
def test_a_redefinition_is_an_error_at_the_field(
    project: ScratchProject, line: str, key: str, given: str, catalogued: str, catalogue_line: int
) -> None:
    text = project.charter(business_metrics=_with(line))
    where = at(text, f"    {key}: ", line.split(": ", 1)[1])  # the value, not the key
    errors = project.errors()
    assert errors == [
        f"{CHARTER}:{where}: business_metrics[0].{key}: {key} {given} contradicts the"
        f" catalogued metric 'ttfr' (metrics.yaml:{catalogue_line}: {key} {catalogued});"
        " it is another metric: give it another id"
    ]


def test_the_same_id_without_ref_must_agree_too(project: ScratchProject) -> None:
    text = project.charter()  # id ttfr, unit hours, definition "Median hours to first reply."
    (error,) = project.errors()
    where = at(text, "    definition: ", "Median hours to first reply.")
    assert error.startswith(f"{CHARTER}:{where}: business_metrics[0].definition: ")
    assert "(metrics.yaml:3: definition" in error and "give it another id" in error


def test_an_unknown_ref_lists_the_catalogued_ids(project: ScratchProject) -> None:
    text = project.charter(business_metrics=REF.replace("ref: ttfr", "ref: ttrf"))
    where = at(text, "ref: ", "ttrf")
    assert project.errors() == [
        f"{CHARTER}:{where}: business_metrics[0].ref: 'ttrf' is not a catalogued metric"
        " (catalogued in metrics.yaml: ttfr, csat_score)"
    ]


def test_a_ref_without_a_catalogue_says_so(scratch_project: ScratchProject) -> None:
    scratch_project.charter(business_metrics=REF)
    (error,) = scratch_project.errors()
    assert "there is no metrics.yaml beside site.yaml" in error


@pytest.mark.parametrize(
    ("catalogue", "error"),
    [
        (CATALOGUE + "- id: [\n", "metrics.yaml:15:1: YAML syntax error"),
        ("ttfr: {name: x}\n", "metrics.yaml:1:1: metrics.yaml is a list of business metrics"),
    ],
)
def test_a_catalogue_that_cannot_be_read_is_not_blamed_on_the_refs(
    project: ScratchProject, catalogue: str, error: str
) -> None:
    # Each ref was told "'ttfr' is not a catalogued metric (catalogued in metrics.yaml:
    # none: there is no metrics.yaml beside site.yaml)", next to the file's own error.
    project.write("metrics.yaml", catalogue)
    text = project.charter(business_metrics=REF)
    errors = project.errors()
    assert errors[0] == (
        f"{CHARTER}:{at(text, 'ref: ', 'ttfr')}: business_metrics[0].ref: 'ttfr' cannot be"
        " looked up: metrics.yaml could not be read (its own error says why)"
    )
    assert len(errors) == 2 and errors[1].startswith(error)


def test_a_ref_keeps_the_catalogue_id(project: ScratchProject) -> None:
    text = project.charter(business_metrics=_with("id: first_response"))
    where = at(text, "    id: ", "first_response")
    (error,) = project.errors()
    assert error.startswith(f"{CHARTER}:{where}: business_metrics[0].id: ")
    assert "keeps its catalogue id" in error


def test_a_near_duplicate_gets_a_warning_naming_the_ref(project: ScratchProject) -> None:
    text = project.charter(
        business_metrics="\n  - id: first_response"
        "\n    name: Median time to first reply"
        "\n    definition: Hours until an agent first answers."
        "\n    unit: hours\n    direction: decrease"
        "\n    baseline: {value: 6.2}\n    target: {value: 4.5}"
    )
    where = at(text, "business_metrics:\n  - ", "id")
    project.write("charters/routing/results/r.csv", "date,metric,value\n")
    loaded, diags = load_project(project.root)
    (warning,) = diags
    assert warning.severity == "warning" and loaded.charters  # a warning does not refuse it
    assert warning.format_text().startswith(f"{CHARTER}:{where}: business_metrics[0]: ")
    assert "did you mean ref: ttfr?" in warning.message
    assert "(metrics.yaml:1: 'Median time to first response')" in warning.message


def test_a_different_metric_gets_no_warning(project: ScratchProject) -> None:
    project.charter(
        business_metrics="\n  - id: backlog"
        "\n    name: Open ticket backlog"
        "\n    definition: Tickets open at 18:00 on weekdays."
        "\n    unit: tickets\n    direction: decrease"
        "\n    baseline: {value: 900}\n    target: {value: 600}"
    )
    assert project.errors() == []


@pytest.mark.parametrize(
    ("a", "b", "near"),
    [
        ("Revenue per search session", "Revenue per search", True),  # difflib ratio 0.84
        ("Search conversion", "Search session conversion", True),
        ("Share of search sessions that place an order within 24 hours.",
         "Share of sessions with at least one search that place an order within 24 hours.", True),
        ("Revenue per visit", "Revenue per search session", False),
        ("Product page conversion", "Search session conversion", False),
        ("Average revenue per user", "Revenue per search session", False),
    ],
)  # fmt: skip
def test_the_near_duplicate_threshold(a: str, b: str, near: bool) -> None:
    assert similar(a, b) is near


def test_long_names_are_compared_by_their_words_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # difflib's ratio takes time with the square of the length: two shuffled 4,000
    # character names took half a second, against each catalogued metric.
    compared: list[int] = []
    matcher = catalogue.difflib.SequenceMatcher

    def noted(junk: None, a: str, b: str, autojunk: bool) -> difflib.SequenceMatcher[str]:
        compared.append(max(len(a), len(b)))
        return matcher(junk, a, b, autojunk=autojunk)

    monkeypatch.setattr(catalogue.difflib, "SequenceMatcher", noted)
    letters = "abcdefgh "
    long = "".join(letters[(i * 7 + i // 9) % 9] for i in range(4000))
    assert similar(long, long[1::2] + long[::2]) is False
    assert compared == []
    assert similar(long, long + " x") is True  # the same words
    edge = "b" * catalogue.RATIO_UP_TO
    assert similar(edge, edge[:-1] + "c") is True  # at the limit, by difflib's ratio
    assert compared == [catalogue.RATIO_UP_TO]


def test_the_example_charters_only_warn_where_they_should() -> None:
    from helpers import REPO_ROOT

    project, diags = load_project(REPO_ROOT)
    assert [d.format_text() for d in diags] == []
    assert near_catalogued("Product page conversion", None, project.catalogue) is None
    refs = {
        c.id: [bm.ref for bm in c.charter.business_metrics if bm.ref]
        for c in project.charters
        if any(bm.ref for bm in c.charter.business_metrics)
    }
    assert refs == {
        "query-autocomplete": ["search_conversion", "revenue_per_search"],
        "search-ranking": ["search_conversion", "revenue_per_search"],
    }


def test_catalogue_errors_are_located(scratch_project: ScratchProject) -> None:
    scratch_project.write("metrics.yaml", CATALOGUE + CATALOGUE.split("- id: csat_score")[0])
    scratch_project.charter(business_metrics=REF)
    errors = scratch_project.errors()
    assert errors == [
        "metrics.yaml:14:7: [2].id: duplicate catalogued metric 'ttfr' (first at line 1)"
    ]
    scratch_project.write("metrics.yaml", "ttfr: {name: x}\n")
    assert any(e.startswith("metrics.yaml:1:1: ") and "is a list" in e
               for e in scratch_project.errors())  # fmt: skip
    scratch_project.write("metrics.yaml", "- id: ttfr\n  name: T\n  unit: h\n  direction: down\n")
    errors = scratch_project.errors()
    assert any(e.startswith("metrics.yaml:4:14: [0].direction: ") for e in errors), errors
    assert "metrics.yaml:1:3: [0].definition: required field 'definition' is missing" in errors


def test_a_broken_catalogue_fails_the_build_and_keeps_the_previous_site(
    project: ScratchProject,
) -> None:
    from helpers import run_cli

    project.charter(business_metrics=REF)
    out = project.out
    assert run_cli("build", "--source", project.root, "--out", out).exit_code == 0
    before = (out / "metrics/ttfr/index.html").read_bytes()
    project.write("metrics.yaml", CATALOGUE.replace("unit: hours", "unit: [hours]"))
    result = run_cli("build", "--source", project.root, "--out", out)
    assert result.exit_code == 1
    assert "metrics.yaml:4:9: [0].unit: " in result.output
    # The charter that refs it says where to look, rather than "not catalogued".
    assert "the entry of 'ttfr' in metrics.yaml (line 1) is invalid: fix it there" in result.output
    assert (out / "metrics/ttfr/index.html").read_bytes() == before


def test_a_near_definition_under_another_name_gets_the_warning(project: ScratchProject) -> None:
    project.charter(
        business_metrics="\n  - id: reply_speed"
        "\n    name: Reply speed"
        "\n    definition: Median hours from ticket creation to the first agent reply."
        "\n    unit: hours\n    direction: decrease"
        "\n    baseline: {value: 6.2}\n    target: {value: 4.5}"
    )
    (warning,) = project.errors()
    assert "'Reply speed' looks like the catalogued metric 'ttfr'" in warning
    assert warning.endswith("give it a name and definition that say how it differs")


def test_a_catalogue_agreement_dated_after_the_build_date_is_refused(
    project: ScratchProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Shown on the metric's page as "agreed on"; a date in the future is no agreement yet.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795000000")  # 2026-11-18
    text = CATALOGUE.replace("on: 2026-01-10", "on: 2099-01-01")
    project.write("metrics.yaml", text)
    project.charter(business_metrics=REF)
    where = at(text, "on: ", "2099-01-01")
    assert project.errors() == [
        f"metrics.yaml:{where}: [0].agreed.on: 2099-01-01 is after the build date, 2026-11-18;"
        " an agreement cannot be dated later than the build (--today, else SOURCE_DATE_EPOCH,"
        " else today)"
    ]


def test_a_catalogued_unit_that_reads_as_a_percentage_is_to_be_fixed_in_the_catalogue(
    project: ScratchProject,
) -> None:
    # The charter only names the metric; the unit to rewrite is in metrics.yaml.
    project.write("metrics.yaml", CATALOGUE.replace("unit: score", "unit: pct"))
    ref = "\n  - ref: csat_score\n    baseline: {value: 40}\n    target: {value: 45}"
    mde = "\n  method: ab_test\n  population: All tickets.\n  minimum_detectable_effect:"
    project.charter(business_metrics=ref, measurement=mde + " {metric: csat_score, absolute: 2}")
    project.write(
        "charters/routing/results/ab.csv",
        "date,metric,variant,value,n\n"
        "2026-05-04,csat_score,control,40,900\n"
        "2026-05-04,csat_score,treatment,44,900\n",
    )
    assert project.errors() == [
        "charters/routing/results/ab.csv:2:34: [0].n: n is read only for a proportion, in the"
        " unit '%' or 'ratio', and this row gives no other measure of its noise (std, or"
        " lower and upper): the unit 'pct' of the catalogued metric 'csat_score' reads as a"
        " percentage; write it '%' in metrics.yaml (values 0 to 100) for the arms to be"
        " compared as proportions, or give std or lower and upper"
    ]
