"""Pages stage: right-to-left text from charters, shown in its own order on a page.

The pages are written left to right. A title, a name or a note written in Hebrew or
Arabic is shown by the browser in its own order inside a run of such letters, but the
punctuation and numbers at its edges take the page's direction: "ניתוב פניות (v2)!"
showed its "(v2)!" on the wrong side, and a metric's name inside an English sentence
could pull the words after it into its run. HTML's answer is to isolate such text:
`<bdi>` around text amid other text, whose direction the browser takes from its
first strong letter (`isolate`, `isolate_names`); Markdown paragraphs get the same
from the style sheet (`unicode-bidi: plaintext` on `.prose`'s blocks). Where no markup
can go (a page's `<title>`, an attribute such as `alt` or `aria-label`, a `<select>`'s
`<option>`, a chart's text alternative) the text is isolated by the characters that
mean the same, FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE (`isolate_text`).

Only text that holds a right-to-left letter is wrapped, so a page of left-to-right
text is the same bytes as without it (and the bidirectional controls that would do
this inside the text are refused by the model: `diagnostics.control_character`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from markupsafe import Markup, escape

# The blocks of the right-to-left scripts (Hebrew, Arabic, Syriac, Thaana, N'Ko,
# Samaritan, Mandaic, their supplements and presentation forms, and the historic
# scripts of the planes above). A few of their characters are not letters (Arabic
# digits, marks); text holding only those is isolated too, which changes nothing shown.
_RTL = re.compile(
    "[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefe\U00010800-\U00010fff\U0001e800-\U0001efff]"
)


def right_to_left(text: str) -> bool:
    """Whether `text` holds a letter of a right-to-left script."""
    return not text.isascii() and _RTL.search(text) is not None


def isolate(text: object) -> Markup:
    """`text` escaped (Markup as it is), in `<bdi>` when it holds right-to-left letters."""
    html = escape(text)
    if text is None or not right_to_left(str(text)):
        return html
    return Markup("<bdi>%s</bdi>") % html


# Unicode's isolate for plain text: U+2068 FIRST STRONG ISOLATE ... U+2069 POP DIRECTIONAL
# ISOLATE, what `<bdi>` is in markup (the direction from the text's first strong letter).
FSI, PDI = "\u2068", "\u2069"


def isolate_text(text: str | None) -> str:
    """`text` between FSI and PDI when it holds right-to-left letters, else as it is: for
    plain text, where `<bdi>` cannot go (Jinja escapes it there as any text). None is "";
    markup stays markup (escaped once, not twice)."""
    if text is None:
        return ""
    if not right_to_left(text):
        return text
    if isinstance(text, Markup):
        return Markup(FSI) + text + Markup(PDI)
    return f"{FSI}{text}{PDI}"


def isolate_names(sentence: object, names: Iterable[str | None]) -> Markup:
    """`sentence` escaped, with each of `names` in it that holds right-to-left letters
    in `<bdi>`: a metric's name inside the sentence a page says of a verdict."""
    html = str(escape(sentence))
    rtl = sorted({str(escape(n)) for n in names if n and right_to_left(n)}, key=len, reverse=True)
    if not rtl or not right_to_left(html):
        return Markup(html)
    found = re.compile("|".join(re.escape(name) for name in rtl))
    return Markup(found.sub(lambda match: f"<bdi>{match.group(0)}</bdi>", html))
