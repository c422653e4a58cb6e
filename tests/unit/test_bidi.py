"""Right-to-left charter text on left-to-right pages (generator/bidi.py)."""

from __future__ import annotations

from markupsafe import Markup

from generator.bidi import isolate, isolate_names, isolate_text, right_to_left
from generator.charts.spec import describe_forest


def test_text_with_hebrew_or_arabic_letters_is_isolated_and_other_text_is_only_escaped() -> None:
    assert isolate("ניתוב פניות (v2)!") == "<bdi>ניתוב פניות (v2)!</bdi>"
    assert isolate("توجيه التذاكر") == "<bdi>توجيه التذاكر</bdi>"
    assert isolate("Ticket routing (v2)!") == "Ticket routing (v2)!"
    assert isolate("Größe & Zoë") == "Größe &amp; Zoë"  # left-to-right letters stay as they were
    assert isolate("") == ""


def test_isolated_text_is_still_escaped_and_markup_is_not_escaped_twice() -> None:
    assert isolate("<script>שלום</script>") == "<bdi>&lt;script&gt;שלום&lt;/script&gt;</bdi>"
    assert isolate(Markup("<strong>שלום</strong>")) == "<bdi><strong>שלום</strong></bdi>"


def test_names_in_a_sentence_are_isolated_longest_first_and_escaped() -> None:
    sentence = "מדד & co. reached 0.95 but מדד ראשי did not move"
    html = isolate_names(sentence, ["מדד & co.", "מדד ראשי", "מדד", "Precision", None])
    assert html == ("<bdi>מדד &amp; co.</bdi> reached 0.95 but <bdi>מדד ראשי</bdi> did not move")
    # A name of left-to-right letters is not wrapped, and a sentence without any
    # right-to-left letter comes out as escaped text alone.
    assert isolate_names("Precision <b> moved", ["Precision"]) == "Precision &lt;b&gt; moved"


def test_right_to_left_covers_the_scripts_blocks_and_nothing_left_to_right() -> None:
    assert right_to_left("\u05d0") and right_to_left("\u0627") and right_to_left("\ufb50")
    assert right_to_left("\U00010900")  # Phoenician, a right-to-left script of plane 1
    assert not right_to_left("abc 123 ÄÖÜ 漢字 кириллица")


def test_plain_text_is_isolated_by_fsi_and_pdi_and_not_escaped() -> None:
    # For a <title>, an attribute, an <option>: Jinja escapes it there, as any text.
    assert isolate_text("ניתוב <פניות>!") == "\u2068ניתוב <פניות>!\u2069"
    assert isolate_text("Ticket routing (v2)!") == "Ticket routing (v2)!"
    assert isolate_text("") == ""
    assert isolate_text(None) == ""  # an optional field left out, as `isolate` takes it
    # Markup stays markup: escaped once, not twice, where Jinja prints it.
    marked = isolate_text(Markup("ניתוב &amp; פניות"))
    assert isinstance(marked, Markup) and marked == "\u2068ניתוב &amp; פניות\u2069"


def test_a_unit_and_a_thinned_lines_name_are_isolated_in_a_charts_text() -> None:
    from datetime import date, timedelta

    from generator.charts.spec import ChartSpec, Series, describe

    days = tuple(date(2026, 1, 1) + timedelta(days=i) for i in range(3))
    none = (None, None, None)
    line = Series("קבוצה", days, (1.0, 2.0, 3.0), none, none, thinned_from=5000)
    spec = ChartSpec(title="Queue", unit="שעות", direction="decrease", series=(line,), refs=())
    text = describe(spec)
    assert text.startswith("Line chart of Queue (\u2068שעות\u2069)"), text
    assert "(\u2068קבוצה\u2069 5,000 points as 3)" in text


def test_a_charts_text_alternative_isolates_each_right_to_left_name() -> None:
    from datetime import date

    from generator.charts.spec import ForestRow, ForestSpec

    row = ForestRow(project="ניתוב פניות", lift=0.5, lower=0.1, upper=0.9, day=date(2026, 5, 4))
    spec = ForestSpec(title="זמן תגובה", unit="h", direction="decrease", rows=(row,))
    text = describe_forest(spec)
    assert text.startswith(
        "Forest plot of the latest lift over control of \u2068זמן תגובה\u2069 (h)"
    )
    assert ": \u2068ניתוב פניות\u2069 +0.5" in text
