"""A charter written in Hebrew, as Chromium lays it out: its title and a Markdown
paragraph read right to left, their punctuation on the left end where a reader of
Hebrew looks for it last (on a left-to-right page it was at the right end)."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import RTL_TITLE, ScratchProject, right_to_left_site

pytestmark = pytest.mark.browser

# The left edge of the first and of the last character of `selector`'s text, and where
# the element's own box starts and ends.
EDGES = """(selector) => {
  const el = document.querySelector(selector);
  const text = document.createTreeWalker(el, NodeFilter.SHOW_TEXT).nextNode();
  const left = (i) => {
    const range = document.createRange();
    range.setStart(text, i);
    range.setEnd(text, i + 1);
    return range.getBoundingClientRect();
  };
  const box = el.getBoundingClientRect();
  const first = left(0), last = left(text.length - 1);
  return {first: first.left, firstRight: first.right, last: last.left, right: box.right};
}"""


def test_hebrew_title_and_paragraph_read_right_to_left(
    scratch_project: ScratchProject, context: Any
) -> None:
    out = right_to_left_site(scratch_project)
    page = context.new_page()
    page.goto((out / "charters/routing/index.html").as_uri())
    title = page.evaluate(EDGES, "h1")
    assert page.inner_text("h1") == RTL_TITLE
    # The title's first letter is right of its "!", which ends it.
    assert title["first"] > title["last"], title
    objective = page.evaluate(EDGES, ".objective p")
    # The paragraph's first letter is right of its closing full stop, and the paragraph
    # starts at its box's right edge (it aligns right).
    assert objective["first"] > objective["last"], objective
    assert abs(objective["firstRight"] - objective["right"]) < 2, objective
