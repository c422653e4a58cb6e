"""JSON put together from pieces (formatting.json_list, json_object) is the JSON of one
`json_text(..., indent=2)` of the whole, byte for byte: check's report and the API are
made so from each charter's entry, kept by the build (generator/reuse.py)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from generator.formatting import json_list, json_object, json_text
from generator.outputs import flat_json

KEYS = st.text(max_size=6)  # any text: quotes, backslashes, line breaks, unicode
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # infinities and NaN are written as null
    st.text(max_size=12),
    st.sampled_from(["", "\n", "a\nb", 'say "x"', "\\n", "Ünïcode ✓", "\u2028", "\x00"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),  # empty lists too
        st.dictionaries(KEYS, inner, max_size=4),  # and empty objects
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(items=st.lists(VALUES, max_size=5), ascii_only=st.booleans(), sort=st.booleans())
def test_a_list_of_pieces_is_the_json_of_the_list(
    items: list[Any], ascii_only: bool, sort: bool
) -> None:
    options = {"ensure_ascii": ascii_only, "sort_keys": sort}
    pieces = [json_text(item, indent=2, **options) for item in items]
    assert json_list(pieces) == json_text(items, indent=2, **options)


@settings(max_examples=300, deadline=None)
@given(
    members=st.dictionaries(KEYS, VALUES, max_size=5), ascii_only=st.booleans(), sort=st.booleans()
)
def test_an_object_of_pieces_is_the_json_of_the_object(
    members: dict[str, Any], ascii_only: bool, sort: bool
) -> None:
    options = {"ensure_ascii": ascii_only, "sort_keys": sort}
    order = sorted(members) if sort else list(members)
    pieces = [(key, json_text(members[key], indent=2, **options)) for key in order]
    assert json_object(pieces, ensure_ascii=ascii_only) == json_text(members, indent=2, **options)


def test_nested_pieces_keep_their_depth() -> None:
    """A list of objects inside an object, as the check report nests its charters."""
    entries = [
        {"id": "a", "progress": float("inf"), "metrics": [], "note": "Ünïcode\nline"},
        {"id": "b", "progress": float("nan"), "findings": [{"line": 3, "x": [1.5, None]}]},
    ]
    whole = {"version": 1, "charters": entries, "errors": [], "summary": {"n": 2, "v": {}}}
    made = json_object(
        [
            ("version", json_text(1)),
            ("charters", json_list(json_text(e, indent=2) for e in entries)),
            ("errors", json_text([], indent=2)),
            ("summary", json_text(whole["summary"], indent=2)),
        ]
    )
    assert made == json_text(whole, indent=2)
    assert json.loads(made)["charters"][0]["progress"] is None  # not Infinity
    assert '\n    {\n      "id": "a",\n      "progress": null,' in made
    assert json_list([]) == "[]" and json_object([]) == "{}"


@settings(max_examples=500, deadline=None)
@given(record=st.dictionaries(KEYS, st.one_of(SCALARS, st.lists(SCALARS, max_size=2)), max_size=10))
def test_a_flat_record_is_written_as_json_writes_it(record: dict[str, Any]) -> None:
    """results.json writes each row's record without the json module's slow indenting
    encoder (outputs.flat_json): the very text json_text gives, for any keys and values
    (a value it does not write itself, a list here, is left to json_text)."""
    want = json_text(record, indent=2, sort_keys=True, ensure_ascii=False)
    assert flat_json(record) == want


def test_a_flat_record_of_a_result_row_is_indented_and_sorted() -> None:
    record = {"value": 0.1, "date": "2026-01-05", "n": 3, "note": None, "ok": True}
    assert flat_json(record) == (
        '{\n  "date": "2026-01-05",\n  "n": 3,\n  "note": null,\n  "ok": true,\n  "value": 0.1\n}'
    )
    assert flat_json({"lift": float("nan"), "upper": float("inf")}) == (
        '{\n  "lift": null,\n  "upper": null\n}'
    )
