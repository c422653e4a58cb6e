"""The cache's keys: a key built from a shared start is the key of all its parts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from generator.cache import digest, digest_after, hashing

texts = st.lists(st.text(), max_size=5)


@given(texts, texts)
def test_a_key_from_a_shared_start_is_the_key_of_all_its_parts(a: list[str], b: list[str]) -> None:
    start = hashing(*a)
    assert digest_after(start, *b) == digest(*a, *b)
    # The start is not used up: the next key from it is as right.
    assert digest_after(start, *b, "more") == digest(*a, *b, "more")


def test_parts_are_kept_apart() -> None:
    assert digest("ab", "c") != digest("a", "bc")
    assert digest_after(hashing("ab"), "c") != digest_after(hashing("a"), "bc")
