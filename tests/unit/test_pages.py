"""Rendering helpers: number formatting, Markdown sanitising, relative URLs."""

from __future__ import annotations

import math
import posixpath

import pytest
from helpers import Element, parse_html
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.diagnostics import REFUSED
from generator.formatting import (
    aligned_formatter,
    fmt_difference,
    fmt_estimate,
    fmt_number,
    fmt_p_phrase,
    fmt_percent,
    fmt_relative,
    fmt_signed,
    fmt_value,
    meter_value,
    visible_text,
)
from generator.markup import hidden_words, render_inline_markdown, render_markdown
from generator.pages import relative_url

# --- numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (0.0, "0"),
        (6.2, "6.2"),
        (6.0, "6"),
        (18.65, "18.65"),
        (123.46, "123.46"),
        (100.0, "100"),
        (1000, "1,000"),
        (1234.5, "1,234.5"),  # a target as written, not 1,234
        (1499.99, "1,499.99"),  # cents kept
        (12345.6, "12,345.6"),
        (999999.994, "999,999.99"),
        (1234567.8, "1,234,568"),  # from a million, whole numbers
        (17933721, "17,933,721"),
        (0.92, "0.92"),
        (0.5, "0.5"),
        (0.123456, "0.123"),
        (0.9996, "0.9996"),  # short of a whole, never `1`
        (-0.99951, "\u22120.9995"),
        (0.094, "0.094"),
        (0.000457, "0.000457"),
        (0.0000795, "0.0000795"),  # not `7.95e−05`
        (-0.00000000123456, "−0.00000000123"),
        (-1.5, "−1.5"),  # a real minus sign, not a hyphen
        (-2500, "−2,500"),
        (None, "—"),
        (math.nan, "—"),
        (math.inf, "—"),
    ],
)
def test_fmt_number(value: float | None, expected: str) -> None:
    assert fmt_number(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # Small ratios (click-through, chargeback rates) keep three significant digits,
        # as values below 0.001 already do; "0.003" vs "0.004" would hide the real gap.
        (0.0034, "0.0034"),
        (0.0036, "0.0036"),
        (0.0125, "0.0125"),
        (0.0012, "0.0012"),
    ],
)
def test_fmt_number_small_values_keep_significant_digits(value: float, expected: str) -> None:
    assert fmt_number(value) == expected


@pytest.mark.parametrize(
    ("value", "target", "expected"),
    [
        (999.995, 1000.0, "999.995 USD"),
        (2.4049, 2.4, "2.405 USD"),
        (0.9996, 1.0, "0.9996 USD"),
        (1_000_000.4, 1_000_000.0, "1,000,000.4 USD"),
        (-2.4049, -2.4, "\u22122.405 USD"),
        (12.07, 13.9, "12.07 USD"),  # they read apart already
        # Never past the value's own shortest text: the target gets the digits instead.
        (4.1, 4.1001, "4.1 USD"),
        (4.1001, 4.1, "4.1001 USD"),
        (0.123, 0.1234, "0.123 USD"),
        (1000.0, 1000.0, "1,000 USD"),  # the same value
        (2.4049, None, "2.4 USD"),
    ],
)
def test_a_value_read_beside_another_gets_the_digits_that_tell_them_apart(
    value: float, target: float | None, expected: str
) -> None:
    assert fmt_value(value, "USD", apart=target) == expected


@pytest.mark.parametrize(
    ("values", "unit", "expected"),
    [
        # baseline, latest, target: the baseline read "4.5 USD" beside the target's
        ((4.496, 4.497, 4.5), "USD", ["4.496 USD", "4.497 USD", "4.5 USD"]),
        # a ratio's baseline read "1" beside a latest of "0.9996", as if it had fallen;
        # short of a whole, a ratio never reads as one
        ((0.99952, 0.99961, 0.99999), "ratio", ["0.9995", "0.9996", "0.99999"]),
        ((99.996, 99.5, 100.0), "%", ["99.996%", "99.5%", "100%"]),
        ((6.2, 4.505, 4.5), "hours", ["6.2 hours", "4.505 hours", "4.5 hours"]),
        ((6.2, 5.1, 4.5), "hours", ["6.2 hours", "5.1 hours", "4.5 hours"]),  # apart already
    ],
)
def test_numbers_read_together_never_read_equal_nor_out_of_order(
    values: tuple[float, ...], unit: str, expected: list[str]
) -> None:
    assert [fmt_value(v, unit, apart=values) for v in values] == expected


def _read_back(text: str) -> float:
    return float(text.replace(",", "").replace("\u2212", "-"))


@settings(max_examples=500, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.floats(-2e6, 2e6, allow_nan=False),
            st.decimals(-2, 2, places=6).map(float),  # values as files write them
            st.sampled_from([0.05, 0.9995, 0.99952, 1.0, 4.4949, 4.4951, 4.5, 999.995, 1e6]),
        ),
        min_size=2,
        max_size=6,
    )
)
def test_numbers_read_together_keep_their_order(values: list[float]) -> None:
    """Each number of a group written with the others as `apart` reads back in the order of
    the numbers themselves, and two that differ never read the same."""
    shown = {v: _read_back(fmt_number(v, apart=values)) for v in values}
    for a in values:
        for b in values:
            if a < b:
                assert shown[a] < shown[b], (a, b, fmt_number(a, apart=values))


@pytest.mark.parametrize(
    ("change", "tolerance", "unit", "expected_change", "expected_tolerance"),
    [
        # 4.2099 against a baseline of 4.31 (the float's −0.10009999999999941) beside a
        # tolerance of 0.1 read "moved −0.1 score …, beyond its tolerance of 0.1 score".
        (4.2099 - 4.31, 0.1, "score", "\u22120.1001 score", "0.1 score"),
        (20.0004, 20.0, "ms", "+20.0004 ms", "20 ms"),
        (-0.2, 0.19996, "%", "\u22120.2 pp", "0.19996 pp"),  # the tolerance gets the digits
        (-0.5, 0.1, "score", "\u22120.5 score", "0.1 score"),  # they read apart already
    ],
)
def test_a_change_beside_its_tolerance_never_reads_as_it(
    change: float, tolerance: float, unit: str, expected_change: str, expected_tolerance: str
) -> None:
    sizes = (tolerance, abs(change))
    assert fmt_signed(change, unit, sizes) == expected_change
    assert fmt_difference(tolerance, unit, sizes) == expected_tolerance
    # Beside its 95% interval it keeps the interval's decimals, and what tells it apart.
    assert fmt_estimate(change, change - 1, change + 1, unit, sizes) == expected_change


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # first → latest, target, baseline: it read "16.0 → 15.0. … Target 15.0, …"
        ((16.0, 15.0004, 15.0, 18.5), ["16.0000", "15.0004", "15.0000", "18.5000"]),
        ((0.91996, 0.92, 0.71), ["0.91996", "0.92000", "0.71000"]),
        ((4.2099, 4.31, 4.21), ["4.2099", "4.3100", "4.2100"]),
        ((15_000.4, 15_000.0), ["15,000.4", "15,000.0"]),
        ((5.0, 4.6, 4.5), ["5.0", "4.6", "4.5"]),  # apart already: as they were
        ((0.00093, 0.00081, 0.0008), ["0.00093", "0.00081", "0.00080"]),
    ],
)
def test_a_chart_text_tells_apart_every_number_it_names(
    values: tuple[float, ...], expected: list[str]
) -> None:
    fmt = aligned_formatter(values)
    assert [fmt(v) for v in values] == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.456, "45.6%"), (1.0, "100%"), (1.0004, "100%"), (0.99997, "99.9%"), (0.9995, "99.9%"),
     (0.9994, "99.9%"), (0.0, "0%"), (-0.0, "0%"), (-0.25, "\u221225%"), (None, "—")],
)  # fmt: skip
def test_fmt_percent_never_says_a_whole_short_of_one(value: float | None, expected: str) -> None:
    # 15.0004 hours against a target of 15 (decrease) is not met: it read "100% of the way".
    assert fmt_percent(value) == expected


@pytest.mark.parametrize(
    ("value", "expected", "relative"),
    [(12.3456, "1,234.6%", "+1,234.6%"), (123.4, "12,340%", "+12,340.0%"),
     (-55.5, "\u22125,550%", "\u22125,550.0%"), (9.999, "999.9%", "+999.9%")],
)  # fmt: skip
def test_a_large_percentage_has_thousands_separators(
    value: float, expected: str, relative: str
) -> None:
    # A progress of 123.4 read "12340%", a relative lift "+12340.0%": every other number
    # on a page has its separators.
    assert fmt_percent(value) == expected
    assert fmt_relative(value) == relative


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.0004, "0.04%"), (-0.0001, "\u22120.01%"), (0.00049, "0.05%"), (0.0005, "0.1%"),
     (0.0000004, "0.00004%")],
)  # fmt: skip
def test_fmt_percent_never_says_nothing_of_something(value: float, expected: str) -> None:
    # A relative minimum detectable effect of 0.0004 read "0% relative".
    assert fmt_percent(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.123, "+12.3%"), (-0.011, "\u22121.1%"), (0.4, "+40.0%"), (0.0, "0.0%"), (-0.0, "0.0%"),
     (-0.0004, "\u22120.04%"), (0.0004, "+0.04%"), (0.00049, "+0.05%"), (None, "—")],
)  # fmt: skip
def test_a_relative_change_that_rounds_to_nothing_reads_as_it_is(
    value: float | None, expected: str
) -> None:
    # A relative lift of −0.0004 read "−0.0%", a negative nothing; no change read "+0.0%".
    assert fmt_relative(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.9649999999, "0.965"), (0.0857142857, "0.086"), (0.99997, "0.999"), (1.0, "1"),
     (1.35, "1"), (-0.2, "0"), (0.5, "0.5")],
)  # fmt: skip
def test_a_meter_shows_the_fraction_its_percentage_says(value: float, expected: str) -> None:
    # value="0.964" beside "96.5%": the meter floored float noise the text rounded.
    assert meter_value(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.034, "p = 0.034"), (0.001, "p = 0.001"), (0.000999, "p < 0.001"), (0.0, "p < 0.001"),
     (7.88e-143, "p < 0.001"), (1.0, "p = 1"), (None, "p = —")],
)  # fmt: skip
def test_a_tiny_p_value_is_below_a_floor_never_zero(value: float | None, expected: str) -> None:
    assert fmt_p_phrase(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.04996, "p = 0.04996"), (0.0499996, "p = 0.0499996"), (0.0099951, "p = 0.009995"),
     (0.0499, "p = 0.0499"), (0.05, "p = 0.05"), (0.050004, "p = 0.05"), (0.0100004, "p = 0.01")],
)  # fmt: skip
def test_a_p_value_below_a_level_never_reads_as_at_it(value: float, expected: str) -> None:
    # 0.04996, its interval clear of 0, read "p = 0.05": not significant at 0.05.
    assert fmt_p_phrase(value) == expected


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [(0.2, "%", "0.2 pp"), (0.2, " % ", "0.2 pp"), (5, "ms", "5 ms"), (0.1, "score", "0.1 score")],
)
def test_fmt_difference_writes_points_for_percent(value: float, unit: str, expected: str) -> None:
    assert fmt_difference(value, unit) == expected


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (4.4, "%", "4.4%"),
        (3, " % ", "3%"),
        (0.92, "ratio", "0.92"),
        (0.92, "Ratio", "0.92"),
        (42, "count", "42"),
        (42, "", "42"),
        (6.2, "hours", "6.2 hours"),
        (31.58, "USD", "31.58 USD"),
        (31.58, "$", "$31.58"),  # not read as USD: a Canadian dollar is written so too
        (-0.5, "$", "\u2212$0.5"),
        (math.nan, "$", "—"),
        (math.inf, "hours", "—"),
        (1250, "ms", "1,250 ms"),
        (None, "hours", "—"),
        (1, "hours", "1 hour"),
        (1.0, "days", "1 day"),
        (1, "users", "1 users"),  # only units of time are put in the singular
    ],
)
def test_fmt_value(value: float | None, unit: str, expected: str) -> None:
    assert fmt_value(value, unit) == expected


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (0.4, "%", "+0.4 pp"),
        (-1.2, "hours", "−1.2 hours"),
        (0, "hours", "0 hours"),
        (-1, "hours", "−1 hour"),
        (None, "hours", "—"),
    ],
)
def test_fmt_signed(value: float | None, unit: str, expected: str) -> None:
    assert fmt_signed(value, unit) == expected


@pytest.mark.parametrize(
    ("value", "low", "high", "unit", "expected"),
    [
        # The examples' lifts: a dropped zero read rounder than the interval beside it.
        (-0.03, -0.0364, -0.0236, "%", "−0.0300 pp"),
        (0.12, 0.0282, 0.212, "USD", "+0.120 USD"),
        (-0.2, -0.909, 0.509, "hours", "−0.200 hours"),
        (1.0, 0.731, 1.27, "%", "+1.00 pp"),  # as many decimals as both bounds have
        (12.4, 9.13, 15.67, "ms", "+12.40 ms"),
        (4, 1.5, 6.5, "orders", "+4.0 orders"),
        (1234.5, 1000.25, 1468.75, "$", "+$1,234.50"),
        # Never fewer digits than alone, nor more than the bounds have.
        (0.123, -1.25, 1.5, "x", "+0.123 x"),
        (0.5, -1.2, 2.2, "x", "+0.5 x"),
        (-0.00004, -0.0000795, 0.0000012, "%", "−0.0000400 pp"),
        (0.0, -0.0364, 0.0364, "%", "0.0000 pp"),  # no sign for nothing
        (-0.0, -0.0364, 0.0364, "%", "0.0000 pp"),  # nor for a negative zero
        (-0.00001, -0.5, 0.5, "%", "−0.00001 pp"),  # its own digits kept
        # A float's arithmetic noise (0.3 - 0.1 - 0.2) is nothing, not −2.78e−17.
        (0.3 - 0.1 - 0.2, -0.0364, 0.0364, "%", "0.0000 pp"),
        (1e-13, -250.5, 250.5, "ms", "0.0 ms"),
        (-(0.3 - 0.1 - 0.2), -36, 36, "ms", "0 ms"),  # whole-number bounds too (review)
        # Smaller than a billionth of the larger bound only: a lift, not noise (review).
        (0.0005, 0.0002, 900000.12, "x", "+0.0005 x"),
        (3e-9, -0.5, 0.5, "%", "+0.000000003 pp"),  # over a billionth of the bound: kept
        # Nothing to match: as fmt_signed writes it.
        (0.12, None, 0.2, "%", "+0.12 pp"),
        (float("nan"), 0.1, 0.2, "%", "—"),
        (2_500_000.0, 2_000_000.5, 3_000_000.25, "USD", "+2,500,000 USD"),
    ],
)
def test_fmt_estimate(
    value: float, low: float | None, high: float | None, unit: str, expected: str
) -> None:
    assert fmt_estimate(value, low, high, unit) == expected


# --- Markdown sanitising ---------------------------------------------------------------


def elements(html: str) -> list[Element]:
    return list(parse_html(html).iter())


def assert_harmless(html: str) -> None:
    """No active content: no scripts or embedding tags, no handlers, styles or bad URLs."""
    for el in elements(html):
        assert el.tag not in {
            "script", "iframe", "frame", "object", "embed", "form", "input", "style", "meta",
            "link", "base", "svg", "img",
        }, html  # fmt: skip
        for name, value in el.attrs.items():
            assert not name.startswith("on"), html
            assert name != "style", html
            if name in ("href", "src", "action", "formaction"):
                assert value is not None
                assert value.strip().lower().startswith(("http:", "https:", "mailto:")), html


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "Before <script src='https://evil.example/x.js'></script> after",
        "<img src=x onerror=alert(1)>",
        "[click me](javascript:alert(1))",
        "[click me](JaVaScRiPt:alert(1))",
        "[click me](&#106;avascript:alert(1))",
        '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">open</a>',
        '<a href="java&#x09;script:alert(1)">open</a>',
        '<iframe src="https://evil.example"></iframe>',
        '<form action="https://evil.example/steal"><input name="password"></form>',
        "<style>body { display: none }</style>",
        '<meta http-equiv="refresh" content="0;url=https://evil.example">',
        '<p style="position:fixed;top:0">covered</p>',
        '<span style="color:red">red</span>',
        "<svg onload=alert(1)>",
        "<details open ontoggle=alert(1)>x</details>",
        '<a href="https://ok.example" onclick="alert(1)">ok</a>',
        '<object data="x.swf"></object><embed src="x.swf">',
        '<base href="https://evil.example/">',
    ],
)
def test_render_markdown_removes_active_content(text: str) -> None:
    assert_harmless(str(render_markdown(text)))


def test_script_body_is_dropped_with_the_tag() -> None:
    html = str(render_markdown("Before <script>alert(1)</script> after"))
    assert "alert" not in html
    assert parse_html(html).text() == "Before after"


def test_style_attribute_removed_but_text_kept() -> None:
    root = parse_html(str(render_markdown('<p style="color:red">Stop</p>')))
    [para] = root.find_all("p")
    assert para.attrs == {}
    assert para.text() == "Stop"


def test_javascript_link_keeps_its_text_but_not_its_href() -> None:
    root = parse_html(str(render_markdown("[click me](javascript:alert(1))")))
    link = root.find("a")
    assert "href" not in link.attrs
    assert link.text() == "click me"


def test_code_span_shows_markup_as_text() -> None:
    html = str(render_markdown("Use `<script>` with care"))
    root = parse_html(html)
    assert not root.find_all("script")
    assert root.find("code").text() == "<script>"


@pytest.mark.parametrize(
    ("text", "lost"),
    [
        ("Intro. <style> and this sentence vanishes", ["and", "this", "sentence", "vanishes"]),
        ("Before <script>alert(1)</script> after", ["alert", "1"]),
        ("<math><mi>x</mi></math> after", ["x"]),
        ("Kept: <b>bold</b>, <div>block</div>, <kbd>K</kbd>, H<sub>2</sub>O", []),
        ("<!-- a note to editors --> shown", []),  # the author's to hide
        ("<details><summary>More</summary>body</details>", []),  # shown as "Morebody"
        ("<svg><text>hi</text></svg> after", ["hi"]),
        # Words a removed tag joins, in scripts without spaces too (second review).
        ("日本語の<u>テキスト</u>です, H<span>2</span>O, first<wbr>second", []),
        ('<abbr title="rate > baseline">CTR</abbr>', []),  # a `>` in a quoted value
        ("if n<k and k>m", ["k", "and", "k"]),  # no element's tag: taken with its words
        ("$a<b$ and $c>d$", ["b", "and", "c"]),
        ("Use `<style>` and <code>&lt;script&gt;</code>", []),
        ("x < y and z > w; 1 <2 and 3> 0", []),
        ('<a href="javascript:alert(1)">click</a>', []),  # the link goes, its text stays
    ],
)
def test_hidden_words_are_those_the_sanitiser_takes_with_raw_html(
    text: str, lost: list[str]
) -> None:
    assert hidden_words(text) == lost
    shown = str(render_markdown(text))
    assert all(word not in shown for word in lost)


def test_render_markdown_keeps_ordinary_markdown() -> None:
    html = str(
        render_markdown(
            "**Bold**, *em*, [doc](https://wiki.example.com/x), [mail](mailto:a@example.com)"
            " and [local](docs/x.html)\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |"
        )
    )
    root = parse_html(html)
    assert root.find("strong").text() == "Bold"
    assert root.find("em").text() == "em"
    hrefs = [a.attrs["href"] for a in root.find_all("a")]
    assert hrefs == ["https://wiki.example.com/x", "mailto:a@example.com", "docs/x.html"]
    assert all(a.attrs["rel"] == "noopener noreferrer" for a in root.find_all("a"))
    assert [li.text() for li in root.find_all("li")] == ["one", "two"]
    assert [td.text() for td in root.find_all("td")] == ["1", "2"]


@pytest.mark.parametrize(
    ("text", "html"),
    [
        # A list right after a line of text, as on GitHub (it used to run into the text).
        (
            "Targets were set with Finance:\n- **cost** below 1.50,\n- cycle below 24 h.",
            "<p>Targets were set with Finance:</p>\n<ul>\n<li><strong>cost</strong> below"
            " 1.50,</li>\n<li>cycle below 24 h.</li>\n</ul>",
        ),
        ("Steps:\n1. one\n2. two", "<p>Steps:</p>\n<ol>\n<li>one</li>\n<li>two</li>\n</ol>"),
        (
            "a\n* b\n\nc\n+ d",
            "<p>a</p>\n<ul>\n<li>b</li>\n</ul>\n<p>c</p>\n<ul>\n<li>d</li>\n</ul>",
        ),
        # As in CommonMark: a numbered list breaks into text only at 1; an indented item
        # is text; a list inside a fenced block is code, left as written.
        ("Revenue grew in\n2019. was the year", "<p>Revenue grew in\n2019. was the year</p>"),
        ("Text\n    - indented", "<p>Text\n    - indented</p>"),
        ("Text\n```\nkeys:\n- item\n```", "<p>Text</p>\n<pre><code>keys:\n- item\n</code></pre>"),
        ("- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>"),
        # A paragraph opened by such a line, alone, is text too: it was a list of one
        # item, and "2019" was lost from the page, its description and the API (review).
        ("2019. was the year we started.", "<p>2019. was the year we started.</p>"),
        ("Intro.\n\n2019. was the year", "<p>Intro.</p>\n<p>2019. was the year</p>"),
        # A list of items numbered from 3 keeps its numbers; one item after a blank line
        # in a list goes on with it.
        ("3. three\n4. four", '<ol start="3">\n<li>three</li>\n<li>four</li>\n</ol>'),
        ("1. a\n\n2. b", "<ol>\n<li>\n<p>a</p>\n</li>\n<li>\n<p>b</p>\n</li>\n</ol>"),
    ],
)
def test_render_markdown_starts_a_list_after_a_line_of_text(text: str, html: str) -> None:
    assert str(render_markdown(text)) == html


def test_render_markdown_escapes_template_syntax_as_text() -> None:
    html = str(render_markdown("{{ 7*7 }} and {% for x in y %}"))
    assert parse_html(html).text() == "{{ 7*7 }} and {% for x in y %}"


@pytest.mark.parametrize("text", [None, ""])
def test_render_markdown_empty(text: str | None) -> None:
    assert str(render_markdown(text)) == ""


def test_inline_markdown_drops_the_single_paragraph() -> None:
    assert str(render_inline_markdown("Just *one* paragraph")) == "Just <em>one</em> paragraph"
    assert str(render_inline_markdown("two\n\nparagraphs")).count("<p>") == 2


# --- relative URLs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "page", "expected"),
    [
        ("static/style.css", "index.html", "static/style.css"),
        ("static/style.css", "charters/routing/index.html", "../../static/style.css"),
        ("index.html", "charters/routing/index.html", "../../index.html"),
        ("index.html", "index.html", "index.html"),
        ("charters/routing/index.html", "index.html", "charters/routing/index.html"),
        ("charters/routing/ttfr.svg", "charters/routing/index.html", "ttfr.svg"),
        ("charters/pricing/index.html", "charters/routing/index.html", "../pricing/index.html"),
        ("charters/", "index.html", "charters/"),
    ],
)
def test_relative_url(target: str, page: str, expected: str) -> None:
    assert relative_url(target, page) == expected


PATHS = [
    *("index.html", "charters/a/index.html", "charters/a/x.svg", "charters/b/", "charters/a"),
    *("charters", "rules/index.html", "a/b/c/d.html", "./x", "../y", "a//b", "#x", "x/./y"),
    *("charters/a/../b", "charters/a/index.html#h", "/abs/x", "a/b", "a/b/"),
]


@pytest.mark.parametrize("page", PATHS)
def test_relative_url_is_posixpaths_relative_path(page: str) -> None:
    """Common links take a shortcut past posixpath's normalising; any link gives what
    posixpath.relpath gives from the page's folder (a folder keeps its slash)."""
    for target in PATHS:
        rel = posixpath.relpath(target, posixpath.dirname(page) or ".")
        expected = rel + "/" if target.endswith("/") and not rel.endswith("/") else rel
        assert relative_url(target, page) == expected, (target, page)


@pytest.mark.parametrize(
    "text",
    ["a &\\#x1b; b", "&#x202E;gpj.exe", "x &#xFFFE; y", "<span>&#x1b</span>", "&#1114111;"],
)
def test_rendered_markdown_never_holds_a_character_text_may_not_hold(text: str) -> None:
    """The sanitiser writes a reference as the character itself; whatever got past the
    check of Markdown fields reaches neither the page nor the feed's XML as itself."""
    html = str(render_markdown(text))
    assert REFUSED.search(html) is None, repr(html)
    assert "\ufffd" in html


def test_text_from_git_shown_on_a_page_holds_no_control_or_noncharacter() -> None:
    """An author's name from git is no charter text: C1 controls (U+009B starts a terminal
    escape sequence), U+FFFE (which XML cannot hold) and overrides become U+FFFD."""
    assert (
        visible_text("Mallory\u009b31m \ufffe\u202eX\u200f")
        == "Mallory\ufffd31m \ufffd\ufffdX\ufffd"
    )


def test_dates_in_a_sentence_are_kept_on_one_line_and_the_rest_stays_escaped() -> None:
    """A browser breaks a line at a hyphen: "on 2026-" / "04-19" in a phone's verdict box."""
    from markupsafe import Markup

    from generator.pages import nowrap_dates

    said = nowrap_dates("−0.03 pp vs control on 2026-04-19; <b>2026-01-01</b> & 12026-01-011")
    assert said == Markup(
        '−0.03 pp vs control on <span class="nowrap">2026-04-19</span>;'
        ' &lt;b&gt;<span class="nowrap">2026-01-01</span>&lt;/b&gt; &amp; 12026-01-011'
    )
    kept = nowrap_dates(Markup('<bdi dir="auto">Churn</bdi> on 2026-04-19'))
    assert kept == Markup('<bdi dir="auto">Churn</bdi> on <span class="nowrap">2026-04-19</span>')
