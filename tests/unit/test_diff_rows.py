"""Rows of a result file appended to, read from the lines appended alone (`appended_rows`),
are the rows of the whole new version (`raw_rows`), or it declines."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.diff import rows as rows_module
from generator.diff.rows import appended_rows, raw_rows

HEADER = b"date,metric,variant,value,n\n"
OLD = HEADER + b"2026-01-05,conv,control,10.0,500\n2026-01-05,conv,treatment,10.4,500\n"


def _both(old_blob: bytes, new_blob: bytes, rel: str = "results/weekly.csv") -> tuple:
    old = raw_rows(old_blob, rel)
    assert old is not None
    return appended_rows(old_blob, old, new_blob, rel), raw_rows(new_blob, rel)


def test_a_week_appended_is_read_from_its_lines_alone() -> None:
    new = OLD + b"2026-01-12,conv,control,10.1,480\n2026-01-12,conv,treatment,10.9,470\n"
    fast, whole = _both(OLD, new)
    assert fast is not None
    assert fast == whole
    assert fast[("2026-01-12", "conv", "treatment")] == (10.9, None, None, 470.0, None)
    assert len(fast) == 4


def test_a_row_appended_again_with_other_numbers_wins_as_in_the_whole_file() -> None:
    """The later of two rows of one date, metric and variant is the one read, whole or not."""
    new = OLD + b"2026-01-05,conv,treatment,11.9,500\n"
    fast, whole = _both(OLD, new)
    assert fast == whole
    assert fast is not None and fast[("2026-01-05", "conv", "treatment")][0] == 11.9


def test_not_an_append_of_whole_lines_is_read_whole() -> None:
    """A row changed, a last line continued, a quoted header, JSON, or a file near the rows'
    limit: declined (None), so the caller reads the new version whole."""
    changed = OLD.replace(b"10.4", b"10.5")
    assert _both(OLD, changed + b"2026-01-12,conv,control,10.1,480\n")[0] is None
    unended = OLD[:-1]
    assert appended_rows(unended, raw_rows(unended, "r.csv") or {}, OLD + b"x\n", "r.csv") is None
    quoted = b'"date",metric,variant,value,n\n' + OLD[len(HEADER) :]
    assert _both(quoted, quoted + b"2026-01-12,conv,control,10.1,480\n")[0] is None
    json_old = b'[{"date": "2026-01-05", "metric": "conv", "value": 1}]\n'
    assert appended_rows(json_old, {}, json_old + b"\n", "r.json") is None
    blank = b"\n" + OLD  # the reader skips the blank line: the header is the second
    assert _both(blank, blank + b"2026-01-12,conv,control,10.1,480\n")[0] is None


def test_a_file_with_a_byte_order_mark_is_read_as_the_loader_reads_it() -> None:
    """Excel's "CSV UTF-8" begins with a byte order mark: its rows were none."""
    marked = b"\xef\xbb\xbf" + OLD
    assert raw_rows(marked, "r.csv") == raw_rows(OLD, "r.csv")
    more = marked + b"2026-01-12,conv,control,10.1,480\n"
    fast, whole = _both(marked, more)
    assert fast is not None and fast == whole and len(fast) == 3


def test_lines_none_of_them_a_row_are_no_file_of_results() -> None:
    """A Git LFS pointer (a filter that did not replace it), or any file of lines without
    a date and a metric, does not read (None), where it read as every row removed."""
    pointer = b"version https://git-lfs.github.com/spec/v1\noid sha256:ab12\nsize 4096\n"
    assert raw_rows(pointer, "results/weekly.csv") is None
    assert raw_rows(HEADER, "results/weekly.csv") == {}  # a header alone: no rows yet


def test_a_file_near_the_rows_limit_is_read_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rows_module, "MAX_ROWS", 4)
    new = OLD + b"2026-01-12,conv,control,10.1,480\n"
    assert _both(OLD, new)[0] is None


_CELL = st.sampled_from(
    ["2026-01-05", "2026-01-12", "conv", "cost", "control", "treatment", "", "10.5", "x", '"q,"']
)
_LINE = st.lists(_CELL, min_size=0, max_size=6).map(lambda cells: ",".join(cells))
_LINES = st.lists(_LINE, max_size=6)


@settings(max_examples=300, deadline=None)
@given(
    header=st.sampled_from(
        [
            "date,metric,variant,value,n",
            "\ufeffdate,metric,value",
            "metric,date,value,variant",
            "\ndate,metric,variant,value",  # a blank first line: the header is the next
            ",,,,\ndate,metric,value",
            "  \ndate,metric,value",
            "date,metric\rvariant,value",  # a bare carriage return inside the first line
        ]
    ),
    old_lines=_LINES,
    tail_lines=_LINES,
    ending=st.sampled_from(["\n", "\r\n"]),
    tail_end=st.sampled_from(["\n", "\r\n", ""]),
)
def test_rows_read_from_the_lines_appended_are_those_of_the_whole_file(
    header: str, old_lines: list[str], tail_lines: list[str], ending: str, tail_end: str
) -> None:
    """Whatever the lines (rows without a date or metric, ragged rows, quotes, blank
    lines, either line end), the rows read from the appended lines are the whole file's,
    or there are none to compare (a version that does not read)."""
    old_blob = (ending.join([header, *old_lines]) + ending).encode()
    tail = ending.join(tail_lines) + (tail_end if tail_lines else "")
    new_blob = old_blob + tail.encode()
    old = raw_rows(old_blob, "results/r.csv")
    if old is None:
        return  # the history reads such a version whole
    fast = appended_rows(old_blob, old, new_blob, "results/r.csv")
    if fast is not None:
        assert fast == raw_rows(new_blob, "results/r.csv")


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(
        st.lists(
            st.sampled_from(
                ["date", "metric", "value", " n ", "", "1", "a b", '"x,\ny"', '"q""', "\r"]
            ),
            max_size=5,
        ).map(lambda cells: ",".join(cells)),
        max_size=8,
    ),
    ending=st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_rows_kept_as_parsed_are_the_rows_parsed_when_asked_for(
    lines: list[str], ending: str
) -> None:
    """`raw_rows` keeps each row's cells as the parse found them (`keep`) instead of
    parsing each row again when it is read: the rows, and what the parse says of the
    text, are the same either way, whatever the quotes, line ends and ragged rows."""
    from generator.diagnostics import Diagnostics
    from generator.readers import parse_csv

    text = ending.join(lines)
    lazy_diags, kept_diags = Diagnostics(), Diagnostics()
    lazy = parse_csv(text, "r.csv", lazy_diags)
    kept = parse_csv(text, "r.csv", kept_diags, keep=True)
    assert [d.format_text() for d in kept_diags.sorted()] == [
        d.format_text() for d in lazy_diags.sorted()
    ]
    assert (kept is None) == (lazy is None)
    if kept is not None and lazy is not None:
        assert list(kept.data) == list(lazy.data)
