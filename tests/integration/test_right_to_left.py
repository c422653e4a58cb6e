"""Charter text written right to left (Hebrew, Arabic) on the left-to-right pages: each
title, name and note that holds such letters is isolated in `<bdi>`, so its punctuation
and numbers stay on its own side, and text without them is the same bytes as before."""

from __future__ import annotations

from helpers import (
    RTL_METRIC,
    RTL_NOTE,
    RTL_TITLE,
    ExamplesBuild,
    ScratchProject,
    minimal_charter,
    right_to_left_site,
)


def test_right_to_left_titles_names_and_notes_are_isolated_on_the_charter_page(
    scratch_project: ScratchProject,
) -> None:
    page = (right_to_left_site(scratch_project) / "charters/routing/index.html").read_text()
    assert f"<h1><bdi>{RTL_TITLE}</bdi></h1>" in page
    assert f"<span><bdi>{RTL_TITLE}</bdi></span></nav>" in page  # the breadcrumb
    # The verdict's sentence: the metric's name isolated, the English around it not.
    assert (
        '<p class="evidence">Every business metric reached its target:'
        f" <bdi>{RTL_METRIC}</bdi> at 4 hours (target 4.5 hours).</p>"
    ) in page
    assert f"<dt><bdi>{RTL_METRIC}</bdi></dt>" in page
    assert f"<td><bdi>{RTL_NOTE}</bdi></td>" in page  # the result row's note, in the data table
    # Isolated text is escaped all the same.
    assert "<bdi>צוות &lt;b&gt;תמיכה&lt;/b&gt;</bdi>" in page
    assert "<b>תמיכה</b>" not in page


def test_right_to_left_titles_are_isolated_on_the_site_wide_pages(
    scratch_project: ScratchProject,
) -> None:
    out = right_to_left_site(scratch_project)
    portfolio = (out / "index.html").read_text()
    assert f'/index.html"><bdi>{RTL_TITLE}</bdi></a>' in portfolio
    assert f"<bdi>{RTL_METRIC}</bdi>" in portfolio
    team = next((out / "teams").glob("*/index.html")).read_text()
    assert "<h1><bdi>צוות &lt;b&gt;תמיכה&lt;/b&gt;</bdi></h1>" in team


def test_left_to_right_pages_hold_no_isolation(examples_build: ExamplesBuild) -> None:
    """The examples are written left to right: not one `<bdi>` on any page."""
    pages = sorted(examples_build.out.rglob("*.html"))
    assert len(pages) > 20
    assert [p for p in pages if "<bdi>" in p.read_text()] == []


def test_right_to_left_text_where_no_markup_goes_is_isolated_by_its_characters(
    scratch_project: ScratchProject,
) -> None:
    """A page's `<title>`, an `aria-label`, an `alt` and a `<select>`'s `<option>` hold
    plain text: there the isolation is Unicode's own, FSI (U+2068) … PDI (U+2069)."""
    out = right_to_left_site(scratch_project)
    page = (out / "charters/routing/index.html").read_text()
    assert f"<title>\u2068{RTL_TITLE}\u2069 · " in page
    assert f'aria-label="Chart: \u2068{RTL_METRIC}\u2069 (scrolls' in page
    assert f'alt="Chart of \u2068{RTL_METRIC}\u2069 (hours) with results on 2026-05-04' in page
    portfolio = (out / "index.html").read_text()
    assert ">\u2068צוות &lt;b&gt;תמיכה&lt;/b&gt;\u2069</option>" in portfolio  # escaped still
    team = next((out / "teams").glob("*/index.html")).read_text()
    assert "<title>\u2068צוות &lt;b&gt;תמיכה&lt;/b&gt;\u2069 · Teams · " in team


def test_right_to_left_titles_in_the_feed_are_isolated_by_their_characters(
    scratch_project: ScratchProject,
) -> None:
    """A feed reader shows an entry's title as plain text, the charter's title beside the
    metric's name: each is isolated, so "(v2)!" stays at the end of its own title."""
    from xml.etree import ElementTree

    out = right_to_left_site(scratch_project)
    atom = "{http://www.w3.org/2005/Atom}"
    feed = ElementTree.parse(out / "feed.xml").getroot()
    titles = [e.findtext(f"{atom}title") for e in feed.iter(f"{atom}entry")]
    assert f"\u2068{RTL_TITLE}\u2069: new results for \u2068{RTL_METRIC}\u2069" in titles


def test_left_to_right_pages_hold_no_isolating_characters(examples_build: ExamplesBuild) -> None:
    files = [
        p
        for p in sorted(examples_build.out.rglob("*"))
        if p.suffix in (".html", ".svg", ".json", ".xml")
    ]
    assert len(files) > 40
    assert [p for p in files if "\u2068" in p.read_text() or "\u2069" in p.read_text()] == []


def test_a_right_to_left_unit_is_isolated_beside_its_numbers(
    scratch_project: ScratchProject,
) -> None:
    """A unit in Hebrew letters, `ש״ח`, ran into the numbers beside it: the portfolio's
    "10 ש״ח → 12 ש״ח → 15 ש״ח" showed as "10 ש״ח 15 → 12 ש״ח → ש״ח", target and latest
    swapped to a reader. Each value's unit is isolated, in every table and sentence."""
    unit = "ש״ח"
    text = minimal_charter().replace("unit: hours", f"unit: {unit}")
    assert f"unit: {unit}" in text
    scratch_project.charter("routing", text=text)
    scratch_project.write(
        "charters/routing/results/r.csv", "date,metric,value\n2026-05-04,ttfr,4.0\n"
    )
    result = scratch_project.build()
    assert result.ok, [d.format_text() for d in result.diagnostics]
    out = scratch_project.out
    portfolio = (out / "index.html").read_text()
    bdi = f"<bdi>{unit}</bdi>"
    assert f'<span class="v">6.2 {bdi}</span> → <strong>4 {bdi}</strong>' in portfolio
    page = (out / "charters/routing/index.html").read_text()
    assert f"<td>6.2 {bdi}" in page  # the baseline, in the business metrics' table
    assert f" at 4 {bdi} (target 4.5 {bdi})." in page  # the verdict's sentence
    assert f"· {bdi} ·" in page  # the chart's caption
    assert f"{unit}</bdi></td>" in page or f"4 {bdi}</td>" in page  # the data table
    assert f" {unit}<" not in page.replace(bdi, "")  # no unit left bare beside a number
