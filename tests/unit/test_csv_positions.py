"""Where CSV problems are located when quotes sit where the csv module reads them as text."""

from __future__ import annotations

from generator.diagnostics import Diagnostics
from generator.readers import parse_csv


def errors(text: str) -> list[str]:
    diags = Diagnostics()
    parse_csv(text, "r.csv", diags)
    return [d.format_text() for d in diags.sorted()]


def test_a_quote_inside_a_header_cell_is_text_and_the_empty_name_is_located() -> None:
    # Found by the long hostile run: the quote was taken to open a cell, and the
    # comma after it was not counted, so locating the empty name raised IndexError.
    assert errors('1",\n') == ["r.csv:1:4: empty column name in header"]


def test_a_row_with_a_quote_inside_a_cell_is_located_at_its_extra_cell() -> None:
    text = 'date,value\n2026-01-05,1"2,3\n'
    assert errors(text) == [
        "r.csv:2:16: row has 3 cells but the header has 2 columns; write an empty cell"
        " as two commas, and quote cells holding a comma"
    ]


def test_a_doubled_quote_inside_a_quoted_cell_keeps_the_cell_open() -> None:
    text = 'date,value\n"a"",b",1,2\n'
    assert errors(text) == [
        "r.csv:2:11: row has 3 cells but the header has 2 columns; write an empty cell"
        " as two commas, and quote cells holding a comma"
    ]
