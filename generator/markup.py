"""Pages stage: charter Markdown as sanitised HTML, for the pages and for the links load.py
finds in it.

Charter text is untrusted. Markdown fields are rendered by Python-Markdown and then
sanitised by nh3 (an allow-list, so scripts, event handlers, styles, frames, forms and
`javascript:`/`data:` URLs cannot pass). Apart from pages.py, so that `charters check`,
which reads a charter's Markdown links, imports neither Jinja nor the page code.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

import markdown as md
import markdown.extensions
import markdown.preprocessors
import nh3
from markupsafe import Markup

from .diagnostics import REFUSED
from .memo import MEMO

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em", "h3",
    "h4", "h5", "h6", "hr", "i", "kbd", "li", "ol", "p", "pre", "s", "strong", "sub",
    "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "ol": {"start"},
    "td": {"align"},
    "th": {"align"},
}
URL_SCHEMES = {"http", "https", "mailto"}


def render_markdown(text: str | None) -> Markup:
    """Markdown to sanitised HTML."""
    if not text:
        return Markup("")
    key = ("markdown", text)
    html = MEMO.get(key)  # kept by the last build (generator/memo.py)
    if html is None:
        html = _sanitised_html(text)
        MEMO.put(key, html)
    return Markup(html)  # sanitised by nh3 in _sanitised_html


@lru_cache(maxsize=256)
def _converted(text: str) -> str:
    """Markdown to HTML as written, raw HTML and all: what the sanitiser is given, and
    what `hidden_words` holds the sanitised HTML against (one conversion for both)."""
    return _converter().reset().convert(text)


@lru_cache(maxsize=8192)
def _sanitised_html(text: str) -> str:
    """Markdown to sanitised HTML, once per text: a charter's summary is shown on its page,
    the portfolio, the feed and the API, and the same words give the same HTML."""
    html = _converted(text)
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        attribute_filter=_no_other_host,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    # The sanitiser writes a character reference as the character: one the format refuses
    # (diagnostics.REFUSED) that got past the check of Markdown fields never reaches the
    # page or the feed's XML as itself.
    return REFUSED.sub("\ufffd", str(clean))


def _no_other_host(tag: str, attribute: str, value: str) -> str | None:
    """The sanitiser's look at each attribute it keeps: a link's address that names
    another host without a scheme is dropped (`host_relative`)."""
    return None if tag == "a" and attribute == "href" and host_relative(value) else value


# What a browser takes out of an address before it reads it (the URL Standard): C0
# controls and spaces at its ends, tabs and line breaks anywhere.
_C0_AND_SPACE = "".join(map(chr, range(0x21)))


def as_browsers_read(href: str) -> str:
    """An href as a browser takes it (the URL Standard): spaces and control characters
    at its ends dropped, tabs and line breaks anywhere in it removed."""
    return re.sub(r"[\t\n\r]", "", href.strip(_C0_AND_SPACE))


def host_relative(href: str) -> bool:
    """Whether a browser takes `href` to another host though it has no scheme:
    `//evil.example/a`, and with a backslash read as a slash, `\\evil.example\\b` and
    `/\\evil.example/c`. Over http that host; from a site opened from disk, a `file:`
    address of a network share, which on Windows may send the reader's login."""
    return as_browsers_read(href).replace("\\", "/").startswith("//")


# A link's address as HTML writes it: in double quotes, single quotes or none.
_HREF = re.compile(r"""<a\s[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.I)


def hrefs(page: str) -> list[str]:
    """The addresses of the links in the HTML `page`, as a browser reads them."""
    from html import unescape

    return [as_browsers_read(unescape("".join(found))) for found in _HREF.findall(page)]


def removed_links(text: str) -> list[str]:
    """The links of the Markdown `text` that name another host without a scheme
    (`host_relative`), as read: the sanitiser drops their address, the words stay."""
    if "//" not in text and "\\" not in text:
        return []
    return list(dict.fromkeys(href for href in hrefs(_converted(text)) if host_relative(href)))


def hidden_words(text: str) -> list[str]:
    """The words of the Markdown `text` its page would not show: the sanitiser removes
    raw HTML it does not allow with what is inside it (`<style>`, `<script>`, MathML),
    and an unclosed `<style>` takes the rest of the text with it. Comments (`<!-- -->`)
    are the author's to hide. Only a text with a `<` can hide words."""
    if "<" not in text:
        return []
    written = _converted(text)
    # The words shown, run together: a tag the sanitiser takes out may join two words
    # (`<summary>S</summary>body` shows as `Sbody`), which hides neither.
    shown = "".join(_words(_sanitised_html(text)))
    words = _words(written, written=True)
    kept = _aligned(words, shown)
    if kept is not None:
        return [word for word, shows in zip(words, kept, strict=True) if not shows]
    lost: list[str] = []  # no alignment (the sanitiser changed a word): the first match
    at = 0
    for word in words:
        found = shown.find(word, at)
        if found < 0:
            lost.append(word)
        else:
            at = found + len(word)
    return lost


# Beyond this many ways of reading the words at once, `_aligned` gives up (a field of one
# word written thousands of times); the first match is taken then.
_ALIGNED_STATES = 50_000


def _aligned(words: list[str], shown: str) -> list[bool] | None:
    """Which of the written `words` the page shows: the reading of them, in order, that
    spells `shown` (the words shown, run together) whole with the most of them, the others
    hidden. Taking the first place each word is found named the wrong ones: `the` of
    `Hi <style>the</style> there` was found in `there`, and `there` was said hidden. None
    when no reading spells it."""
    # At each word: the places in `shown` reached → (words shown so far, place before,
    # whether this word was shown to get there).
    steps: list[dict[int, tuple[int, int, bool]]] = [{0: (0, 0, False)}]
    states = 0
    for word in words:
        here: dict[int, tuple[int, int, bool]] = {}
        for at, (count, _, _) in steps[-1].items():
            if count >= here.get(at, (-1, 0, False))[0]:
                here[at] = (count, at, False)
            if shown.startswith(word, at):
                end = at + len(word)
                if count + 1 > here.get(end, (-1, 0, False))[0]:
                    here[end] = (count + 1, at, True)
        states += len(here)
        if states > _ALIGNED_STATES:
            return None
        steps.append(here)
    if len(shown) not in steps[-1]:
        return None
    kept: list[bool] = []
    at = len(shown)
    for step in reversed(steps[1:]):
        _, at, shows = step[at]
        kept.append(shows)
    kept.reverse()
    return kept


def shows_nothing(text: str) -> bool:
    """Whether the page shows nothing of the Markdown `text`: no character a reader sees,
    as with a lone comment (`<!-- TODO -->`), `&nbsp;`, `<br>`, a `---` rule, an image
    (never shown), an empty code block or a link definition. Such a text passes the
    check of blank text (it is not blank as written), and left a required field's place
    on the page empty."""
    from html import unescape

    from .diagnostics import unseen

    shown = _sanitised_html(text)  # an image is never shown: the sanitiser removes it
    words = unescape(re.sub(r"<[^>]*>", "", re.sub(r"<!--.*?-->", "", shown, flags=re.S)))
    return all(ch.isspace() or unseen(ch) for ch in words)


_IMAGE = re.compile(r"<img\b[^>]*?\balt=\"([^\"]*)\"[^>]*>|<img\b[^>]*>")


def removed_images(text: str) -> list[str]:
    """The images the Markdown `text` writes (`![alt](file.png)`), by their alt text (or
    "an image" without one): the sanitiser removes them, alt text and all, so a page
    never shows one."""
    if "![" not in text and "<img" not in text.lower():
        return []
    from html import unescape

    found = _IMAGE.finditer(_converted(text))
    return [unescape(image.group(1) or "").strip() or "an image" for image in found]


# A tag as HTML writes one: a name, then attributes whose quoted values may hold `>`.
_TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9-]*)(?=[\s/>])(?:\"[^\"]*\"|'[^']*'|[^'\">])*>")
# The elements a reader's browser knows (HTML's, and the SVG and MathML that may hold
# text): a `<k and k>` written in text is no tag of any, and the sanitiser takes it
# with its words.
_ELEMENTS = frozenset(
    [
        "a", "abbr", "address", "area", "article", "aside", "audio", "b", "bdi", "bdo",
        "blockquote", "br", "button", "caption", "cite", "code", "col", "colgroup", "data", "dd",
        "del", "details", "dfn", "dialog", "div", "dl", "dt", "em", "embed", "fieldset",
        "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
        "hr", "i", "iframe", "img", "input", "ins", "kbd", "label", "legend", "li", "link", "main",
        "mark", "math", "menu", "meta", "meter", "nav", "noscript", "object", "ol", "optgroup",
        "option", "output", "p", "param", "picture", "pre", "progress", "q", "rp", "rt", "ruby",
        "s", "samp", "script", "section", "select", "slot", "small", "source", "span", "strong",
        "style", "sub", "summary", "sup", "svg", "table", "tbody", "td", "template", "textarea",
        "tfoot", "th", "thead", "time", "title", "tr", "track", "u", "ul", "var", "video", "wbr",
        "center", "font", "big", "tt", "strike", "mi", "mo", "mn", "ms", "mtext", "mrow", "msup",
        "msub", "msubsup", "mfrac", "msqrt", "mroot", "mtable", "mtr", "mtd", "semantics",
        "annotation", "g", "text", "tspan", "path", "rect", "circle", "ellipse", "line",
        "polyline", "polygon", "desc", "defs", "use", "symbol", "foreignobject",
    ]
)  # fmt: skip


def _words(html: str, written: bool = False) -> list[str]:
    """The words of `html` with its closed comments and its tags taken out. Of the HTML
    as written (`written`), only the tags of known elements: the rest is text the
    sanitiser may take (`n<k and k>m`), and so is an unclosed `<!--`."""
    from html import unescape

    text = re.sub(r"<!--.*?-->", " ", html, flags=re.S)
    if written:
        text = _TAG.sub(lambda t: " " if t.group(1).lower() in _ELEMENTS else t.group(0), text)
    else:
        text = re.sub(r"<[^>]*>", " ", text)
    return re.findall(r"\w+", unescape(text))


_converters = threading.local()


def _converter() -> md.Markdown:
    """This thread's Markdown converter: made once (its parsers take longer to build than
    a summary takes to convert) and reset before each text."""
    converter: md.Markdown | None = getattr(_converters, "markdown", None)
    if converter is None:
        converter = _converters.markdown = md.Markdown(
            extensions=["tables", "sane_lists", "fenced_code", _ListsAfterText()]
        )
    return converter


class _ListsAfterText(markdown.extensions.Extension):
    """A list may start on the line after a line of text, as on GitHub and in CommonMark
    ("Targets:" then "- cost below 1.50"). Python-Markdown wants a blank line first and
    otherwise shows the items run into the paragraph ("Targets: - cost below 1.50 - …")."""

    def extendMarkdown(self, md_: md.Markdown) -> None:
        # After fenced_code (25), which has stashed code blocks by then: never inside one.
        md_.preprocessors.register(_BlankBeforeList(md_), "blank_before_list", 24)


class _BlankBeforeList(markdown.preprocessors.Preprocessor):
    """Put a blank line before a list item that follows a line of text outside a list. As
    in CommonMark, a numbered list breaks into a paragraph only when it starts at 1, so
    a line such as "2019. was the year" stays text; an item indented by four spaces or
    more is not a list's start either. Such a line opening a paragraph, alone, stays
    text too (`_as_text`); a list of several items numbered from 3 keeps its numbers
    (sane_lists gives its `<ol>` a `start`, which the sanitiser keeps)."""

    BULLET = re.compile(r" {0,3}[-+*][ \t]+\S")
    FIRST = re.compile(r" {0,3}0*1\.[ \t]+\S")
    ITEM = re.compile(r" *(?:[-+*]|\d{1,9}\.)[ \t]+\S")
    NUMBERED = re.compile(r"( {0,3}\d{1,9})(\.[ \t]+\S)")

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        in_list = False  # a list item since the last blank line
        open_list = False  # a list not yet ended by a paragraph (blank lines go on in one)
        for i, line in enumerate(lines):
            after_blank = not out or not out[-1].strip()
            if not line.strip():
                in_list = False
            elif self.ITEM.match(line):
                starts = self.BULLET.match(line) or self.FIRST.match(line)
                if starts and not in_list and not after_blank:
                    out.append("")
                elif not (starts or open_list or not after_blank):
                    line = self._as_text(line, lines[i + 1 : i + 2])
                in_list = in_list or bool(starts)
                open_list = open_list or in_list
            elif after_blank and not line[:1].isspace():
                open_list = False
            out.append(line)
        return out

    def _as_text(self, line: str, after: list[str]) -> str:
        """A paragraph's first line numbered other than 1, no item after it ("2019. was the
        year"): text, its number kept. Python-Markdown made it a list of one item and
        dropped the number, from the page, its description and the API's summary."""
        numbered = self.NUMBERED.match(line)
        if numbered is None or (after and self.ITEM.match(after[0])):
            return line
        return f"{numbered.group(1)}\\{numbered.group(2)}{line[numbered.end() :]}"


def render_inline_markdown(text: str | None) -> Markup:
    """Markdown for a short field shown inline: the outer paragraph is dropped."""
    html = str(render_markdown(text)).strip()
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]
    return Markup(html)  # already sanitised
