"""Model (the format): typed models, the single source for validation, docs and JSON Schema.

Models are strict (YAML's `no` is not a string, `1` is not text) and forbid
unknown keys, except keys starting with `x-`, which are kept as extensions.
Rules that relate one field to another (ids that must be declared, a human
baseline required once past `proposed`) live in `load.py`, where each
problem can be located precisely.
"""

from __future__ import annotations

import calendar
import contextlib
import functools
import itertools
import math
import posixpath
import re
import sys
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from .diagnostics import (
    REFUSED,
    RefusedCharacter,
    control_character,
    control_message,
    excerpt,
    has_control_characters,
    iso_date,
    unseen,
)
from .paths import requested

ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
METRIC_ID_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"

Status = Literal["proposed", "baseline", "experiment", "live", "paused", "retired"]
Method = Literal["ab_test", "holdout", "before_after", "shadow", "offline"]
Direction = Literal["increase", "decrease"]
MetricKind = Literal["business", "ml", "guardrail"]
# Where each kind of metric is listed in a charter, in the order pages show them.
METRIC_LISTS: tuple[tuple[MetricKind, tuple[str, ...]], ...] = (
    ("business", ("business_metrics",)),
    ("ml", ("ml_metrics",)),
    ("guardrail", ("measurement", "guardrails")),
)


def items_at(data: Any, *path: str) -> list[tuple[int, dict[str, Any]]]:
    """The mappings of the list at `path` in raw (not yet validated) charter data, with
    their indexes; none where a part of the path is not what the format says."""
    node = data
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, list):
        return []
    return [(i, item) for i, item in enumerate(node) if isinstance(item, dict)]


def unnamed_metric(data: Any) -> bool:
    """Whether raw charter data declares a metric whose id cannot be read: an entry with no
    id, or one that is not text (`id: [churn]`, `id: 12`), an entry that is no mapping, or a
    metric list that is no list; or the required list of business metrics not there (its
    key misspelt, `busines_metrics`, or its value left out). The ids declared are then not
    all known, so a reference to an id not among them may be to that metric: it is not
    reported until the id or the list is mended (its own error stands, and the charter is
    refused with it); each result row was refused as "not a metric of this charter
    (declared: )". (An empty list, `[]`, declares none: references are still checked.)"""
    if isinstance(data, dict) and data.get("business_metrics") is None:
        return True
    for _, path in METRIC_LISTS:
        node = data
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            continue
        if not isinstance(node, list):
            return True
        if any(not isinstance(item, dict) or not isinstance(item.get("id"), str) for item in node):
            return True
    return False


CADENCE_DAYS: dict[str, int] = {
    "daily": 1,
    "weekly": 7,
    "biweekly": 14,
    "fortnightly": 14,
    "monthly": 31,
    "quarterly": 92,
    "yearly": 366,
}
# The shortest each can be (a February, a quarter from February, a common year).
CADENCE_SHORTEST_DAYS: dict[str, int] = {
    **CADENCE_DAYS, "monthly": 28, "quarterly": 89, "yearly": 365,
}  # fmt: skip
_CADENCE_RE = re.compile(r"^every (\d{1,3}) (day|week|month)s?$")


def cadence_days(cadence: str | None, shortest: bool = False) -> int | None:
    """Days between expected results, or None for a cadence written in other words.

    The format leaves cadence as free text; the common words and 'every N
    days|weeks|months' are understood, anything else is shown as written. The
    longest such period by default (a result is late only after it), with
    `shortest` the shortest (the earliest the next result can be due).
    """
    if cadence is None:
        return None
    text = cadence.strip().lower()
    table = CADENCE_SHORTEST_DAYS if shortest else CADENCE_DAYS
    if text in table:
        return table[text]
    match = _CADENCE_RE.match(text)
    if not match:
        return None
    count, unit = int(match.group(1)), match.group(2)
    if count == 0:  # `every 0 days`: no period at all (`every 0 months` read as -2 days)
        return None
    if unit == "month":
        fewest, most = _month_span(count)
        return fewest if shortest else most
    return count * {"day": 1, "week": 7}[unit]


@functools.cache
def _month_span(count: int) -> tuple[int, int]:
    """The fewest and the most days `count` calendar months in a row take, over the 400
    years of the Gregorian calendar's cycle: as the words say, 3 months are 89 days
    (February to April of a common year) to 92, as `quarterly` is, and 12 are 365 to 366.
    (30 N - 2 made `every 3 months` a day shorter than `quarterly`, which could judge an
    experiment over a day before the next pair could come.)"""
    starts = 400 * 12
    lengths = [calendar.monthrange(2000 + i // 12, i % 12 + 1)[1] for i in range(starts + count)]
    sums = list(itertools.accumulate(lengths, initial=0))
    spans = [sums[i + count] - sums[i] for i in range(starts)]
    return min(spans), max(spans)


# Limits of the format (docs/format.md, "Limits"): past them a number or a date is
# almost surely a typo, and the statistics and charts cannot draw it.
MAX_NUMBER = 1e15
FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(2199, 12, 31)


def _parse_date(value: Any) -> Any:
    if isinstance(value, datetime):
        raise ValueError("expected a date as YYYY-MM-DD, without a time")
    if isinstance(value, str):
        found = iso_date(value.strip())
        if found is None:
            raise ValueError(f"{excerpt(value)} is not a valid date; expected YYYY-MM-DD")
        return found
    return value


def too_large(value: float) -> str:
    """The message for a number beyond ±MAX_NUMBER, in any field."""
    # The largest float stands for a decimal beyond it (readers.read_number), and a whole
    # number from it for one read by a JSON or CSV reader: neither is what the file says.
    # 1.0000001e15 as written, not rounded to 1e+15 (a longer whole number is never
    # turned into text: Python refuses one of 4,300 digits or more).
    huge = abs(value) >= sys.float_info.max
    shown = "the number" if huge else repr(value).removesuffix(".0")
    if isinstance(value, int) and not huge and abs(value) >= 10**20:  # no wall of digits
        shown = f"a whole number of {len(str(abs(value)))} digits"
    return (
        f"{shown} is too large: numbers are limited to ±{MAX_NUMBER:g} (the statistics"
        " and charts cannot work with larger ones; change the unit)"
    )


def _must_be_finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number, got {value}")
    if abs(value) > MAX_NUMBER:
        raise ValueError(too_large(value))
    return value


def _date_in_range(value: date) -> date:
    if not FIRST_DATE <= value <= LAST_DATE:
        raise ValueError(
            f"{value.isoformat()} is out of range: dates are limited to"
            f" {FIRST_DATE.isoformat()} to {LAST_DATE.isoformat()} (is the year mistyped?)"
        )
    return value


def _range_shape(value: Any) -> Any:
    if isinstance(value, list) and len(value) != 2:
        raise ValueError(
            f"a range is [low, high], two numbers (either may be null for no bound);"
            f" got a list of {len(value)}"
        )
    return value


def _range_order(value: list[float | None]) -> list[float | None]:
    low, high = value
    if low is None and high is None:
        raise ValueError("[null, null] bounds nothing; give at least one bound or drop 'range'")
    if low is not None and high is not None and not low < high:
        raise ValueError(f"low ({low:g}) must be below high ({high:g})")
    return value


def _listify(value: Any) -> Any:
    # `by: Head of Support` is as clear as a one-item list; accept both spellings.
    return [value] if isinstance(value, str) else value


def _check_url(value: str) -> str:
    url = value.strip()
    refused = REFUSED.search(url)
    message = (
        "URL must not contain tabs, line breaks, bidirectional or other control"
        " characters, or noncharacters"
    )
    # Browsers drop tabs and line breaks inside URLs: "java\tscript:" is "javascript:";
    # a bidirectional control makes the address a browser shows read otherwise; no
    # text, an address included, holds the other characters text may not hold (and
    # one of those has their error code).
    if refused is not None:
        raise RefusedCharacter(message, refused.group(0))
    if has_control_characters(url):
        raise ValueError(message)
    try:
        urlsplit(url)
    except ValueError as exc:  # "http://[::1": an IPv6 host not closed
        raise ValueError(f"not a valid URL: {exc}") from None
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", url)
    if scheme:
        if scheme.group(1).lower() not in ("http", "https"):
            raise ValueError(
                f"URL scheme {excerpt(scheme.group(1), 40)} is not allowed;"
                " use http(s) or a relative URL"
            )
        return url
    if url.startswith(("//", "\\")):
        raise ValueError("protocol-relative URLs are not allowed; use http(s) or a relative URL")
    if url.startswith("/"):
        raise ValueError(
            "site-absolute paths are not allowed (they break under a path prefix);"
            " use http(s) or a path relative to the charter's folder"
        )
    # As a browser asks for it and a server reads it (links.py looks it up so): a
    # backslash is a slash, `%2e%2e` is `..`, `%5C` a backslash in a name.
    path = requested(url) or ""
    depth = 0
    for part in path.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                raise ValueError("relative URL leaves the charter's folder")
        elif part not in ("", "."):
            depth += 1
    return url


# A first segment that reads as a host name: labels of letters, digits and '-' joined by
# dots, the last of two letters or more (`ml.example.com`, not `v1.2` or `site`).
_HOST_FIRST = re.compile(r"(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}(?:[:/]|$)")


def _valid_port(parts: Any) -> bool:
    """Whether a URL's port, if it has one, is one a server can listen on: not `:abc`,
    `:99999` (which `port` refuses), `:0` or an empty one (`host:/`), which it takes."""
    try:
        port = parts.port
    except ValueError:
        return False
    if port is None:
        return not parts.netloc.rsplit("@", 1)[-1].endswith(":")
    return bool(port > 0)


def _check_base_url(value: str) -> str:
    """A full http(s) URL or a path, as docs/hosting.md says: anything else was taken
    as a path (`ftp://x.example/` gave links to `/ftp://x.example/static/style.css`)."""
    text = value.strip()
    try:
        parts = urlsplit(text)
    except ValueError as exc:  # "http://[::1": an IPv6 host not closed
        raise ValueError(f"not a valid URL: {exc}") from None
    scheme = re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", text)
    if re.match(r"[\w.-]+:\d+(?:/|$)", text):  # localhost:8000/charters/
        why = "it starts with a host and a port; write http:// or https:// before them"
    elif scheme and parts.scheme not in ("http", "https"):
        why = f"it has the scheme {scheme.group()[:-1]!r}"
    elif scheme and not parts.netloc:
        why = "it names no host"
    elif text.startswith(("//", "\\\\")):
        why = "it starts with // (a host without a scheme)"
    elif _HOST_FIRST.match(text):  # ml.example.com/charters/: a host taken as a folder
        why = (
            f"it starts with what reads as a host name ({text.split('/', 1)[0]!r}); write"
            " https:// before it, or start a path with /"
        )
    elif any(c.isspace() for c in text):
        why = "it holds a space"
    elif any(unicodedata.category(c) in ("Cc", "Cf") for c in text):
        why = "it holds an invisible character (a zero-width space, say)"
    elif "\\" in text:
        why = "it holds a backslash"
    elif scheme and not _valid_port(parts):
        why = "its port is not a number from 1 to 65535"
    elif "?" in text or "#" in text:
        why = "it has a query or a fragment (?…, #…): the site's links add paths to it"
    else:
        return value
    raise ValueError(
        f"{excerpt(text)} is neither a full http(s) URL (https://ml.example.com/charters/)"
        f" nor a path (/charters/): {why}"
    )


# Markdown is converted by Python-Markdown, whose inline patterns search the rest of a
# text from each '[' or '<' (10,000 '[' took 10 s, 200,000 more than an hour; 6,666 "<a "
# 2 s) and whose block parser recurses into each level of a nested list (300 levels,
# indented or as "- - - …" on one line, exhausted the stack).
MAX_MARKDOWN_CHARS = 20_000
MAX_MARKDOWN_LINES = 2_000  # setext headings ("a\n=\n" * 5,000) took 1.5 s
MAX_MARKDOWN_BRACKETS = 500  # of '[', and of '<'
MAX_MARKDOWN_INDENT = 200  # columns: lists nested 50 levels deep
MAX_MARKDOWN_MARKERS = 50  # list and quote markers opening one line: "> - 1. x" is three deep
_MARKER = r">|(?:[-*+]|\d+[.)])(?=[ \t]|$)"
_OPENING = re.compile(rf"(?:[ \t]*(?:{_MARKER}))+")
_QUOTED = re.compile(r"^(?:[ \t]{0,3}>[ ]?)+")  # a line's quote markers, one space after each


def _check_markdown(value: str) -> str:
    if len(value) > MAX_MARKDOWN_CHARS:
        raise ValueError(
            f"Markdown text of {len(value):,} characters; at most {MAX_MARKDOWN_CHARS:,}"
            " (the limit)"
        )
    lines = value.splitlines()
    if len(lines) > MAX_MARKDOWN_LINES:
        raise ValueError(
            f"Markdown text of {len(lines):,} lines; at most {MAX_MARKDOWN_LINES:,} (the limit)"
        )
    for bracket in "[<":
        count = value.count(bracket)
        if count > MAX_MARKDOWN_BRACKETS:
            raise ValueError(
                f"{count:,} {bracket!r} in one Markdown text; at most {MAX_MARKDOWN_BRACKETS}"
                " (the limit: the Markdown converter searches the rest of the text from each one)"
            )
    # Inside a quote too: the indentation after its '>' markers nests lists just as deep.
    expanded = (_QUOTED.sub("", line).expandtabs(4) for line in lines)
    indent = max((len(line) - len(line.lstrip()) for line in expanded), default=0)
    if indent > MAX_MARKDOWN_INDENT:
        raise ValueError(
            f"a line indented {indent:,} columns; at most {MAX_MARKDOWN_INDENT} (the limit:"
            " lists nested 50 levels deep)"
        )
    for line in lines:
        opened = _OPENING.match(line)
        markers = len(re.findall(_MARKER, opened.group(0))) if opened else 0
        if markers > MAX_MARKDOWN_MARKERS:
            raise ValueError(
                f'a line opens {markers:,} lists or quotes ("> - …"); at most'
                f" {MAX_MARKDOWN_MARKERS} (the limit: nested 50 levels deep)"
            )
    return value


def _check_text(value: str) -> str:
    found = control_character(value)
    if found is not None:
        raise RefusedCharacter(control_message(found), found)
    return value


# A numeric character reference, as HTML reads one (its `;` may be left out), also with
# its `#` escaped for Markdown (`&\#x1b;`), which Markdown turns into the reference.
_CHARACTER_REFERENCE = re.compile(r"&\\?#(?:[0-9]+|[xX][0-9a-fA-F]+);?")


def _check_references(value: str) -> str:
    """Markdown passes `&#x1b;` through to the HTML, where it is the character itself: on
    the page, in the feed's XML (which then no reader can parse) and in the text the
    search and the API take from it. A reference to a character that text may not hold
    (`_check_text`) is refused as the character would be."""
    if "&#" not in value and "&\\#" not in value:
        return value
    for match in _CHARACTER_REFERENCE.finditer(value):
        reference = match.group(0)
        digits = _digits(reference)
        code = _code_point(digits)
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            message = _no_character(reference, code, len(digits))
            raise RefusedCharacter(message, reference, "invalid-value")
        found = control_character(_referenced(code))
        if found is not None:
            raise RefusedCharacter(control_message(found, reference=reference), reference)
    return value


def _digits(reference: str) -> str:
    """The digits of a numeric character reference, `x` first for a hexadecimal one."""
    return reference.replace("\\", "")[2:].rstrip(";")


def _code_point(digits: str) -> int:
    """The number a reference's `_digits` write; any number past Unicode's last code
    point as 0x110000, so that one of 5,000 digits is not read (Python reads no whole
    number of more than 4,300 digits, and said so in the error)."""
    hexadecimal = digits[0] in "xX"
    number = (digits[1:] if hexadecimal else digits).lstrip("0") or "0"
    if len(number) > 8:
        return 0x110000
    return min(int(number, 16 if hexadecimal else 10), 0x110000)


def _no_character(reference: str, code: int, digits: int) -> str:
    """What a located error says of a character reference that names no character, as a
    browser's HTML parser reads it: NUL, surrogates and numbers past Unicode are U+FFFD."""
    written = reference if len(reference) <= 24 else f"{reference[:16]}…{reference[-1]}"
    if code > 0x10FFFF:
        length = f" of {digits:,} digits" if len(reference) > 24 else ""
        why = f"its number{length} is past U+10FFFF, the last code point of Unicode"
    elif code == 0:
        why = "U+0000 is no character a text holds"
    else:
        why = f"U+{code:04X} is half of a surrogate pair, no character on its own"
    return (
        f"holds the character reference {written}, which names no character: {why} (a page"
        " would show it as the replacement character �); write the character itself, or"
        " remove the reference"
    )


def _referenced(code: int) -> str:
    """The character a browser's HTML parser makes of a numeric character reference to
    the code point `code` (HTML's "numeric character reference end state"; not NUL, a
    surrogate or past Unicode, `_no_character`): a control character is kept (a parse
    error, but kept), 0x80 to 0x9F are read as Windows-1252 where it has a character
    there. (Python's `html.unescape` drops the control characters instead.)"""
    if 0x80 <= code <= 0x9F:
        with contextlib.suppress(UnicodeDecodeError):
            return bytes([code]).decode("cp1252")
    return chr(code)


def _check_shown(value: str) -> str:
    """A text that shows nothing (spaces, line breaks, zero-width or other invisible
    characters) is as empty as "": a title of three spaces made a page heading and a
    portfolio link with no visible text."""
    if value and all(ch.isspace() or unseen(ch) for ch in value):
        hidden = next((ch for ch in value if not ch.isspace()), None)
        named = f"the invisible character U+{ord(hidden):04X}" if hidden else ""
        spaces = "spaces" if any(ch.isspace() for ch in value) else ""
        what = " and ".join(part for part in (spaces, named) if part)
        raise ValueError(f"the text shows nothing (it is only {what}); write it out")
    return value


Text = Annotated[
    str, StringConstraints(min_length=1), AfterValidator(_check_text), AfterValidator(_check_shown)
]


# Units that read as the two the format gives a meaning (`%`, `ratio`), written
# otherwise: arms with `n` in such a unit are tested as proportions only in those two
# (stats.is_proportion_unit), so a row whose only measure of noise is `n` is refused in
# any other (results.py, `reads_as_proportion`); the look-alikes of the two (`％`) here.
_POINTS = re.compile(r"\bpp\b|\bp(?:oin)?ts?\b", re.I)  # percentage points: a difference
_AS_PERCENT = re.compile(r"%|\b(?:pct|percents?|per[ -]?cent|percentages?)\b", re.I)
_AS_RATIO = re.compile(r"\b(?:fractions?|proportions?|ratios?)\b", re.I)


def reads_as_proportion(unit: str | None) -> str | None:
    """`%` or `ratio` for a unit that reads as a percentage (`pct`, `% of tickets`,
    `percent (0-100)`) or a proportion (`fraction`) but is not the format's own (in any
    case); else None."""
    if unit is None or unit.strip().casefold() in ("%", "ratio"):
        return None
    text = unicodedata.normalize("NFKC", unit)
    if _POINTS.search(text):
        return None
    if _AS_PERCENT.search(text):
        return "%"
    if _AS_RATIO.search(text) or text.strip().casefold() == "ratio":
        return "ratio"
    return None


def _check_unit(value: str) -> str:
    """`％` and `ｒａｔｉｏ`, the format's two units in compatibility characters, are
    written as the format reads them; so is a unit that shows as one of them with a
    character no reader sees: `ra\u200dtio` showed as `ratio` and was read as free text,
    so arms with `n` alone were not tested as proportions. (Other units may hold such
    characters: an emoji's joiner and selector, Persian's zero-width non-joiner.)"""
    hidden = next((ch for ch in value if unseen(ch)), None)
    if hidden is not None:
        shown = unicodedata.normalize("NFKC", "".join(c for c in value if not unseen(c)))
        if shown.strip().casefold() in ("%", "ratio"):
            raise ValueError(
                f"the unit holds the invisible character U+{ord(hidden):04X}: it shows as"
                f" {shown.strip().casefold()!r}, which the generator would not read it as;"
                " write it in visible characters"
            )
    text = unicodedata.normalize("NFKC", value).strip()
    if text != value.strip() and text.casefold() in ("%", "ratio"):
        raise ValueError(
            f"{value.strip()!r} is written in compatibility characters; write"
            f" {text.casefold()!r}, the unit the format reads as"
            f" {'a percentage' if text == '%' else 'a proportion from 0 to 1'}"
        )
    return value


Unit = Annotated[Text, AfterValidator(_check_unit)]
# A `results` pattern: its characters are checked where it is globbed (results.py), with
# a message about file names.
Glob = Annotated[str, StringConstraints(min_length=1)]
SiteUrl = Annotated[
    str,
    StringConstraints(min_length=1),
    AfterValidator(_check_text),  # a control character made sitemap.xml and feed.xml invalid
    AfterValidator(_check_base_url),
]
Markdown = Annotated[
    str,
    StringConstraints(min_length=1),
    AfterValidator(_check_text),
    AfterValidator(_check_shown),
    AfterValidator(_check_references),
    AfterValidator(_check_markdown),
]
MetricId = Annotated[str, StringConstraints(pattern=METRIC_ID_PATTERN)]
CharterId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
IsoDate = Annotated[date, BeforeValidator(_parse_date), AfterValidator(_date_in_range)]
Number = Annotated[float, AfterValidator(_must_be_finite)]
Url = Annotated[str, StringConstraints(min_length=1), AfterValidator(_check_url)]
# [low, high] in the metric's unit; null for no bound on that side.
ValueRange = Annotated[
    list[Number | None],
    Field(min_length=2, max_length=2),
    BeforeValidator(_range_shape),
    AfterValidator(_range_order),
]


class Model(BaseModel):
    """Base of every block: strict types, unknown keys refused, `x-` keys kept."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    extensions: SkipJsonSchema[dict[str, Any]] = Field(
        default_factory=dict, validation_alias="x-extensions", exclude=True, repr=False
    )

    @model_validator(mode="before")
    @classmethod
    def _collect_extensions(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        ext = {k: v for k, v in data.items() if isinstance(k, str) and k.startswith("x-")}
        rest = {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("x-"))}
        rest["x-extensions"] = ext
        return rest


# One e-mail address, as a `mailto:` link takes it: a local part of letters, digits and
# `.!$'*+/=^_`{|}~-` (not `?`, `&`, `#` or `%`, which a mailto link reads as headers,
# a fragment and escapes), `@`, and a domain of labels joined by dots.
_EMAIL_SIGNS = ".!$'*+/=^_`{|}~-"
_EMAIL = re.compile(rf"[\w{re.escape(_EMAIL_SIGNS)}]+@[\w-]+(?:\.[\w-]+)+")


def _check_email(value: str) -> str:
    """One address: `ann@example.com?bcc=x@evil.example&subject=…` made the page's mailto
    link copy every message to another address, with a subject of the charter's choosing."""
    if _EMAIL.fullmatch(value):
        return value
    odd = next((ch for ch in value if not (ch.isalnum() or ch in "@" + _EMAIL_SIGNS)), None)
    why = f" (it holds {odd!r})" if odd is not None else ""
    if odd == "?":
        why = " (it holds '?', which a mailto link reads as the start of headers such as bcc)"
    raise ValueError(f"not one e-mail address{why}; write one address, such as ana@example.com")


Email = Annotated[str, StringConstraints(min_length=1), AfterValidator(_check_email)]


class Owner(Model):
    """The person accountable for the project."""

    name: Text = Field(description="Full name of the owner.", examples=["Ana Ruiz"])
    email: Email | None = Field(
        None, description="Contact e-mail: one address.", examples=["ana@example.com"]
    )


class Link(Model):
    """A link to a related document."""

    title: Text = Field(description="Text of the link.", examples=["Design doc"])
    url: Url = Field(
        description="An http(s) URL, or a path relative to the charter's folder.",
        examples=["https://wiki.example.com/routing"],
    )


class Objective(Model):
    """The business objective the project serves."""

    statement: Markdown = Field(
        description="The objective in one or two sentences (Markdown).",
        examples=["Customers get a first answer sooner."],
    )
    context: Markdown | None = Field(
        None,
        description="Why the objective matters (Markdown).",
        examples=["Slow first responses drive most CSAT complaints."],
    )


class Baseline(Model):
    """The value before the project, with when and where it was measured."""

    value: Number = Field(description="The baseline value, in the metric's unit.", examples=[6.2])
    as_of: IsoDate | None = Field(
        None, description="Date of the measurement.", examples=["2026-02-01"]
    )
    source: Text | None = Field(
        None, description="Where the number comes from.", examples=["Zendesk weekly export"]
    )


class Target(Model):
    """The value the project commits to reach."""

    value: Number = Field(description="The target value, in the metric's unit.", examples=[4.5])
    by: IsoDate | None = Field(
        None, description="Date by which the target should be met.", examples=["2026-12-31"]
    )


class Agreement(Model):
    """Who agreed that this metric measures the objective, and when."""

    by: Annotated[
        list[Text],
        BeforeValidator(_listify),
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "string", "minLength": 1},
                    {"type": "array", "items": {"type": "string", "minLength": 1}},
                ]
            }
        ),
    ] = Field(
        default_factory=list,
        description="Names or roles of the people who agreed.",
        examples=[["Head of Support", "VP Customer Experience"]],
    )
    on: IsoDate | None = Field(None, description="Date of the agreement.", examples=["2026-02-15"])


class Metric(Model):
    """What every metric has, whatever its kind: an id, a name, a unit and a direction.

    The examples are those of a business, an ML and a guardrail metric, in that order.
    """

    id: MetricId = Field(
        description="Identifier, unique in the charter.",
        examples=["ttfr", "routing_precision", "csat"],
    )
    name: Text = Field(
        description="Display name.",
        examples=["Median time to first response", "Top-1 routing precision", "CSAT"],
    )
    definition: Text | None = Field(
        None,
        description="Exactly how the metric is computed.",
        examples=[
            "Median hours from ticket creation to first agent reply, all channels.",
            "Share of routed tickets not reassigned within 24 hours.",
            "Mean post-resolution survey score, 1-5.",
        ],
    )
    unit: Unit = Field(
        description="Unit of the values. '%' means 0-100 and 'ratio' 0-1; both are proportions"
        " (rows with n in a unit that reads as one, such as 'pct', need std or lower/upper).",
        examples=["hours", "ratio", "score"],
    )
    direction: Direction = Field(
        description="Which way is better.", examples=["decrease", "increase"]
    )
    range: ValueRange | None = Field(
        None,
        description="The values the metric can take, as [low, high] in its unit; either bound"
        " may be null for no bound ([0, null]: never negative). Result values, lower and"
        " upper bounds outside it are errors.",
        examples=[[0, None], [0, 1], [1, 5]],
    )


# The fields of a business metric that stay its own with `ref`: the catalogue gives the
# rest (JSON Schema, `_ref_form`; the field reference, generator/reference.py).
REF_OWN = ("baseline", "target")


def _ref_form(schema: dict[str, Any]) -> None:
    """JSON Schema: with `ref`, the catalogue supplies id, name, definition, unit and direction."""
    own = list(REF_OWN)
    inherited = [k for k in schema.get("required", []) if k not in own]
    schema["required"] = own
    schema["anyOf"] = [{"required": ["ref"]}, {"required": inherited}]


class BusinessMetric(Metric):
    """A business metric: the outcome the project must move.

    With `ref`, the metric is one of the catalogue (metrics.yaml): its id, name,
    definition, unit and direction come from there, and only the baseline, the
    target and the agreement are the charter's own.
    """

    model_config = ConfigDict(json_schema_extra=_ref_form)

    ref: MetricId | None = Field(
        None,
        description="Id of a metric of the catalogue (metrics.yaml beside site.yaml). The"
        " catalogue gives the id, name, definition, unit, direction and range; a definition,"
        " unit or direction written here must match it.",
        examples=["revenue_per_visit"],
    )

    definition: Text = Field(  # required here: the outcome must say how it is computed
        description="Exactly how the metric is computed.",
        examples=["Median hours from ticket creation to first agent reply, all channels."],
    )
    baseline: Baseline = Field(
        description="The value before the project.",
        examples=[{"value": 6.2, "as_of": "2026-02-01", "source": "Zendesk weekly export"}],
    )
    target: Target = Field(
        description="The value the project commits to.",
        examples=[{"value": 4.5, "by": "2026-12-31"}],
    )
    agreed: Agreement | None = Field(
        None,
        description="Who agreed on the metric, and when. Change `on` when a change is re-agreed.",
        examples=[{"by": ["Head of Support", "VP Customer Experience"], "on": "2026-02-15"}],
    )


class ValueOnly(Model):
    """A value in the metric's unit."""

    value: Number = Field(description="The value, in the metric's unit.", examples=[0.71])


class MLMetric(Metric):
    """A model metric, and the business metrics it is meant to move."""

    baseline: ValueOnly | None = Field(
        None, description="The value before the project.", examples=[{"value": 0.71}]
    )
    target: ValueOnly | None = Field(
        None, description="The value the model should reach.", examples=[{"value": 0.92}]
    )
    drives: list[MetricId] = Field(
        min_length=1,
        description="Ids of the business metrics this metric should move.",
        examples=[["ttfr"]],
    )
    hypothesis: Markdown | None = Field(
        None,
        description="Why moving this metric should move the business metric (Markdown).",
        examples=["A correct first queue removes one reassignment hop (about 1.5 h)."],
    )


class Tolerance(Model):
    """The largest acceptable move of a guardrail in its bad direction."""

    value: Annotated[Number, Field(ge=0)] = Field(
        description="Largest acceptable move in the bad direction, in the metric's unit.",
        examples=[0.1],
    )


class Guardrail(Metric):
    """A metric that must not get worse while the project ships."""

    baseline: ValueOnly | None = Field(
        None, description="The value before the project.", examples=[{"value": 4.3}]
    )
    tolerance: Tolerance = Field(
        description="Largest acceptable move in the bad direction.", examples=[{"value": 0.1}]
    )


class MinimumDetectableEffect(Model):
    """The smallest effect the measurement plan is powered to detect."""

    metric: MetricId = Field(description="Id of the metric.", examples=["ttfr"])
    relative: Annotated[Number, Field(gt=0)] | None = Field(
        None, description="As a share of the baseline (0.10 = 10%).", examples=[0.1]
    )
    absolute: Annotated[Number, Field(gt=0)] | None = Field(
        None, description="In the metric's unit.", examples=[0.5]
    )

    @model_validator(mode="after")
    def _one_of(self) -> MinimumDetectableEffect:
        if (self.relative is None) == (self.absolute is None):
            raise ValueError("give exactly one of 'relative' or 'absolute'")
        return self


class Measurement(Model):
    """How the effect on the business metric is measured."""

    method: Method = Field(description="The design of the measurement.", examples=["ab_test"])
    population: Text = Field(
        description="Who or what is measured.", examples=["All English web and email tickets."]
    )
    unit_of_analysis: Text | None = Field(
        None, description="The unit randomised or measured.", examples=["ticket"]
    )
    cadence: Text | None = Field(
        None,
        description="How often results are added. Free text; daily, weekly, biweekly,"
        " fortnightly, monthly, quarterly, yearly and 'every N days|weeks|months' are"
        " understood: by the staleness rule, and to tell when a rolled-out experiment is"
        " over (a production row a cadence after its last pair; other wording: a day).",
        examples=["weekly"],
    )
    minimum_detectable_effect: MinimumDetectableEffect | None = Field(
        None,
        description="The smallest effect worth detecting.",
        examples=[{"metric": "ttfr", "relative": 0.1}],
    )
    guardrails: list[Guardrail] = Field(
        default_factory=list,
        description="Metrics that must not get worse.",
        examples=[
            [
                {
                    "id": "csat",
                    "name": "CSAT",
                    "unit": "score",
                    "direction": "increase",
                    "tolerance": {"value": 0.1},
                }
            ]
        ],
    )
    decision_rule: Markdown | None = Field(
        None,
        description="What result leads to which decision (Markdown).",
        examples=["Ship if TTFR falls at least 10% (95% CI excludes 0)."],
    )


class Period(Model):
    """A span of dates."""

    start: IsoDate = Field(description="First day.", examples=["2026-03-02"])
    end: IsoDate = Field(description="Last day.", examples=["2026-03-13"])

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class HumanResult(Model):
    """A metric's value while people did the task by hand."""

    metric: MetricId = Field(description="Id of a metric of this charter.", examples=["ttfr"])
    value: Number = Field(description="The value reached by hand.", examples=[4.9])
    note: Text | None = Field(
        None, description="Free text.", examples=["Billing and account queues only."]
    )


class HumanBaseline(Model):
    """The task done by hand first, or the reason it was not."""

    waived: Text | None = Field(
        None,
        description="Why a manual trial is impossible or pointless. Excludes the rest.",
        examples=["People cannot rank millions of products per query by hand."],
    )
    method: Markdown | None = Field(
        None,
        description="How people did the task by hand (Markdown). Required for a study.",
        examples=["Two senior agents routed every ticket by hand for two weeks."],
    )
    period: Period | None = Field(
        None,
        description="When the study ran.",
        examples=[{"start": "2026-03-02", "end": "2026-03-13"}],
    )
    results: list[HumanResult] = Field(
        default_factory=list,
        description="What it achieved: one value per metric.",
        examples=[[{"metric": "ttfr", "value": 4.9}]],
    )
    conclusion: Markdown | None = Field(
        None,
        description="What the study showed (Markdown).",
        examples=["Manual routing cut TTFR by 21%; automating it is worth building."],
    )

    @model_validator(mode="after")
    def _study_or_waiver(self) -> HumanBaseline:
        study = [
            name for name in ("method", "period", "conclusion") if getattr(self, name) is not None
        ] + (["results"] if self.results else [])
        if self.waived is not None and study:
            raise ValueError(
                "a waived human baseline has no study fields; remove "
                + ", ".join(repr(s) for s in study)
                + " or 'waived'"
            )
        if self.waived is None and self.method is None:
            raise ValueError("a human baseline needs either 'method' (a study) or 'waived'")
        return self

    @property
    def is_waived(self) -> bool:
        return self.waived is not None


class Decision(Model):
    """An entry of the decision log."""

    date: IsoDate = Field(description="When the decision was taken.", examples=["2026-06-01"])
    decision: Text = Field(description="What was decided.", examples=["Ship to all queues."])
    rationale: Markdown | None = Field(
        None, description="Why, with the numbers (Markdown).", examples=["TTFR -18%."]
    )


# --- pulling results from where they live (`charters pull`, docs/pull.md) ---------------

CONNECTION_NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,62}$"
PARAM_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
DEFAULT_CONNECTION = "duckdb"
RESULT_FILE_SUFFIX = ".csv"


def _check_into(value: str) -> str:
    path = value.strip()
    if has_control_characters(path):
        raise ValueError("must not contain tabs, line breaks or other control characters")
    if path.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", path):
        raise ValueError("must be a path relative to the charter's folder, not an absolute path")
    posix = path.replace("\\", "/")
    normal = posixpath.normpath(posix)  # the file meant: no '.', '..' or '//' in it
    if normal == ".." or normal.startswith("../"):
        raise ValueError(
            "leaves the charter's folder; use a path inside it, e.g. results/weekly.csv"
        )
    if not normal.lower().endswith(RESULT_FILE_SUFFIX):
        raise ValueError("must name a .csv file, e.g. results/weekly.csv")
    hidden = [part for part in normal.split("/") if part.startswith(".")]
    if hidden:
        raise ValueError(
            f"{excerpt(hidden[0])} is hidden (its name starts with '.'), and a build never"
            " reads a result in a hidden file or folder; e.g. results/weekly.csv"
        )
    if normal != posix:
        # Written otherwise, the path would not match the charter's `results` globs.
        raise ValueError(f"write it as {excerpt(normal)}: no '.', '..' or '//' in it")
    return path


ConnectionName = Annotated[str, StringConstraints(pattern=CONNECTION_NAME_PATTERN)]
PullPath = Annotated[str, StringConstraints(min_length=1), AfterValidator(_check_into)]


def _scalar_param(value: Any) -> Any:
    """One error for a parameter that is a list, a mapping or empty, not one per kind of
    value it is not (text, number, date, true or false)."""
    if value is None or isinstance(value, list | dict):
        what = "nothing" if value is None else "a list" if isinstance(value, list) else "a mapping"
        raise ValueError(f"expected one value (text, a number, a date, true or false), got {what}")
    return value


ParamValue = Annotated[
    str | int | float | bool | date,
    BeforeValidator(_scalar_param),
    WithJsonSchema({"type": ["string", "number", "boolean"]}),
]


class MlflowPull(Model):
    """Which MLflow runs and metrics become result rows."""

    experiment: Text = Field(
        description="Name of the MLflow experiment.", examples=["support-router"]
    )
    metrics: Annotated[dict[MetricId, Text], Field(min_length=1)] = Field(
        description="Charter metric id: MLflow metric key.",
        examples=[{"routing_precision": "val_top1_precision"}],
    )
    runs: Text = Field(
        "latest-per-day",
        description="Which finished runs: 'latest-per-day' (the last run started each UTC day"
        " that logged the metric), 'all', or an MLflow filter string such as"
        " \"tags.stage = 'prod'\".",
        examples=["latest-per-day"],
    )
    variant: Text | None = Field(
        None,
        description="Name of a run tag whose value becomes the row's variant.",
        examples=["arm"],
    )


def sql_file_name(sql: str) -> str | None:
    """The .sql file a pull entry's `sql` names (relative to the charter's folder), or None
    when it is the query itself: a block scalar keeps its final line break, and NUL is in
    no file name, so text with a control character is always a query."""
    name = sql.strip(" ")
    if has_control_characters(name) or not name.lower().endswith(".sql"):
        return None
    return name


class Pull(Model):
    """One result file that `charters pull` writes from a query or from MLflow runs."""

    into: PullPath = Field(
        description="The .csv result file to write, inside the charter's folder; created or"
        " replaced. One of the charter's `results` globs must match it.",
        examples=["results/weekly.csv"],
    )
    connection: ConnectionName = Field(
        DEFAULT_CONNECTION,
        description="A connection of site.yaml; 'duckdb' is the embedded DuckDB, which reads"
        " files relative to the source folder.",
        examples=["warehouse"],
    )
    sql: Text | None = Field(
        None,
        description="A .sql file in the charter's folder, or the SQL itself. It returns the"
        " columns of a result row (date, metric, value; variant, n, std, lower, upper, note).",
        examples=["queries/weekly.sql"],
    )
    params: dict[Annotated[str, StringConstraints(pattern=PARAM_NAME_PATTERN)], ParamValue] = Field(
        default_factory=dict,
        description="Bound parameters of the SQL, written :name in the query.",
        examples=[{"since": "2026-01-01"}],
    )
    mlflow: MlflowPull | None = Field(
        None,
        description="Runs of an MLflow experiment instead of SQL.",
        examples=[
            {
                "experiment": "support-router",
                "metrics": {"routing_precision": "val_top1_precision"},
                "runs": "latest-per-day",
            }
        ],
    )
    timeout: Annotated[Number, Field(gt=0, le=86_400)] = Field(
        300.0,
        description="Seconds a query may run before it is cancelled (at most a day).",
        examples=[600],
    )

    @model_validator(mode="after")
    def _one_source(self) -> Pull:
        if (self.sql is None) == (self.mlflow is None):
            raise ValueError("give exactly one of 'sql' or 'mlflow'")
        return self


class Charter(Model):
    """One ML project: why it exists, how success is measured, and what happened."""

    title: Text = Field(description="Project title.", examples=["Support ticket routing"])
    summary: Markdown = Field(
        description="One-paragraph summary (Markdown).",
        examples=["Route new tickets to the right queue."],
    )
    status: Status = Field(description="Lifecycle stage of the project.", examples=["live"])
    owner: Owner = Field(
        description="The accountable person.",
        examples=[{"name": "Ana Ruiz", "email": "ana@example.com"}],
    )
    team: Text | None = Field(None, description="Owning team.", examples=["Support Engineering"])
    aliases: list[CharterId] = Field(
        default_factory=list,
        description=(
            "Former ids of a renamed charter: each old page `charters/<old-id>/` becomes a"
            " redirect to this one. Not the id of another charter, nor another charter's alias."
        ),
        examples=[["ticket-routing"]],
    )
    tags: list[Text] = Field(
        default_factory=list, description="Free-form tags.", examples=[["nlp", "support"]]
    )
    links: list[Link] = Field(
        default_factory=list,
        description="Related documents.",
        examples=[[{"title": "Design doc", "url": "https://wiki.example.com/routing"}]],
    )
    objective: Objective = Field(
        description="The business objective.",
        examples=[{"statement": "Customers get a first answer sooner."}],
    )
    business_metrics: list[BusinessMetric] = Field(
        min_length=1,
        description="Business metrics that measure the objective (at least one).",
        examples=[
            [
                {
                    "id": "ttfr",
                    "name": "Median time to first response",
                    "definition": "Median hours from ticket creation to first agent reply.",
                    "unit": "hours",
                    "direction": "decrease",
                    "baseline": {"value": 6.2},
                    "target": {"value": 4.5},
                }
            ]
        ],
    )
    ml_metrics: list[MLMetric] = Field(
        default_factory=list,
        description="Model metrics and the business metrics they drive.",
        examples=[
            [
                {
                    "id": "routing_precision",
                    "name": "Top-1 routing precision",
                    "unit": "ratio",
                    "direction": "increase",
                    "drives": ["ttfr"],
                }
            ]
        ],
    )
    measurement: Measurement = Field(
        description="The measurement plan.",
        examples=[{"method": "ab_test", "population": "All English web and email tickets."}],
    )
    human_baseline: HumanBaseline | None = Field(
        None,
        description="The task done by hand first, or a waiver. Required once past 'proposed'.",
        examples=[{"waived": "Reason a manual trial is impossible or pointless."}],
    )
    results: list[Glob] | None = Field(
        None,
        description="Globs of result files relative to the charter's folder; default results/*.",
        examples=[["results/*.csv"]],
    )
    decisions: list[Decision] = Field(
        default_factory=list,
        description="Decision log, newest last.",
        examples=[[{"date": "2026-06-01", "decision": "Ship to all queues."}]],
    )
    pull: list[Pull] = Field(
        default_factory=list,
        description=(
            "Result files `charters pull` writes from SQL or MLflow"
            " (docs/pull.md in the metric-charters source)."
        ),
        examples=[[{"into": "results/weekly.csv", "sql": "queries/weekly.sql"}]],
    )

    def metrics(self) -> Iterator[MetricEntry]:
        """Every metric of the charter with its kind and field path, in `METRIC_LISTS` order."""
        lists: dict[MetricKind, Sequence[AnyMetric]] = {
            "business": self.business_metrics,
            "ml": self.ml_metrics,
            "guardrail": self.measurement.guardrails,
        }
        for kind, path in METRIC_LISTS:
            for i, metric in enumerate(lists[kind]):
                yield MetricEntry(kind, (*path, i), metric)

    def metric_path(self, metric_id: str) -> tuple[str | int, ...]:
        """The field path of the metric `metric_id` (which must be declared)."""
        return next(e.path for e in self.metrics() if e.metric.id == metric_id)


AnyMetric = BusinessMetric | MLMetric | Guardrail


@dataclass(frozen=True)
class MetricEntry:
    """A metric of a charter, with its kind and where it is written."""

    kind: MetricKind
    path: tuple[str | int, ...]
    metric: AnyMetric


class CatalogueMetric(Model):
    """A business metric of the catalogue (metrics.yaml): one definition the portfolio shares.

    Charters name it with `ref:` and add their own baseline and target.
    """

    id: MetricId = Field(
        description="Identifier, unique in the catalogue; charters use it in `ref`.",
        examples=["revenue_per_visit"],
    )
    name: Text = Field(description="Display name.", examples=["Revenue per visit"])
    definition: Text = Field(
        description="Exactly how the metric is computed.",
        examples=["Order revenue net of returns at 30 days, divided by web sessions."],
    )
    unit: Unit = Field(
        description="Unit of the values. '%' means 0-100 and 'ratio' 0-1 (rows with n in a"
        " unit that reads as one, such as 'pct', need std or lower/upper).",
        examples=["USD"],
    )
    direction: Direction = Field(description="Which way is better.", examples=["increase"])
    range: ValueRange | None = Field(
        None,
        description="The values the metric can take, as [low, high]; either may be null.",
        examples=[[0, None]],
    )
    owner: Text | None = Field(
        None,
        description="Who owns the definition (a person, role or team).",
        examples=["Finance Business Partner"],
    )
    agreed: Agreement | None = Field(
        None,
        description="Who agreed on the definition, and when.",
        examples=[{"by": ["CFO", "VP E-commerce"], "on": "2026-01-15"}],
    )


class ResultRow(Model):
    """One measurement of one metric (a row of a result file)."""

    date: IsoDate = Field(
        description="Date of the measurement (end of the period).", examples=["2026-05-04"]
    )
    metric: MetricId = Field(description="A metric id of this charter.", examples=["ttfr"])
    value: Number = Field(description="The measured value.", examples=[5.0])
    lower: Number | None = Field(
        None, description="Lower bound of the 95% confidence interval.", examples=[4.7]
    )
    upper: Number | None = Field(
        None, description="Upper bound of the 95% confidence interval.", examples=[5.3]
    )
    variant: Text | None = Field(
        None,
        description="e.g. 'control', 'treatment'; empty for the production value.",
        examples=["treatment"],
    )
    n: Annotated[int, Field(ge=1, le=int(MAX_NUMBER))] | None = Field(
        None, description="Sample size behind the value.", examples=[4188]
    )
    std: Annotated[Number, Field(ge=0)] | None = Field(
        None, description="Standard deviation of the unit-level measure.", examples=[3.5]
    )
    note: Text | None = Field(None, description="Free text.", examples=["first full week"])


class LintSettings(Model):
    """Settings of the rules applied by `charters check`."""

    disable: list[Text] = Field(
        default_factory=list, description="Rule codes switched off.", examples=[["MC109"]]
    )


class Connection(Model):
    """Where `charters pull` reads: a SQLAlchemy URL or an MLflow tracking URI.

    `${NAME}` is replaced by the environment variable NAME when the connection is
    used; put passwords there, never in the file.
    """

    url: Text | None = Field(
        None,
        description="A SQLAlchemy URL; a DuckDB or SQLite file path is relative to site.yaml.",
        examples=["${WAREHOUSE_URL}"],
    )
    mlflow: Text | None = Field(
        None,
        description="An MLflow tracking URI: a server or a local store.",
        examples=["${MLFLOW_TRACKING_URI}"],
    )

    @model_validator(mode="after")
    def _one_kind(self) -> Connection:
        if (self.url is None) == (self.mlflow is None):
            raise ValueError("give exactly one of 'url' or 'mlflow'")
        return self


#: The Markdown fields of a charter, by where they are written (`*`: each item of a
#: list). A test holds this to the fields of type `Markdown` above.
MARKDOWN_FIELDS: tuple[tuple[str, ...], ...] = (
    ("summary",),
    ("objective", "statement"),
    ("objective", "context"),
    ("ml_metrics", "*", "hypothesis"),
    ("measurement", "decision_rule"),
    ("human_baseline", "method"),
    ("human_baseline", "conclusion"),
    ("decisions", "*", "rationale"),
)


def markdown_texts(charter: Charter) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every Markdown text of `charter` that is given, with where it is written."""
    for pattern in MARKDOWN_FIELDS:
        todo: list[tuple[object, tuple[str | int, ...], tuple[str, ...]]] = [(charter, (), pattern)]
        while todo:
            node, path, rest = todo.pop(0)
            if not rest:
                if isinstance(node, str):
                    yield path, node
            elif rest[0] == "*":
                items = node if isinstance(node, list) else []
                todo.extend((item, (*path, i), rest[1:]) for i, item in enumerate(items))
            elif node is not None:
                todo.append((getattr(node, rest[0]), (*path, rest[0]), rest[1:]))


class SiteConfig(Model):
    """site.yaml: settings of the whole site (all optional)."""

    title: Text = Field(
        "ML Metric Charters", description="Site title.", examples=["ML Metric Charters"]
    )
    description: Text | None = Field(
        "Why each ML project exists and whether it worked.",
        description="Site description.",
        examples=["Why each ML project exists and whether it worked."],
    )
    base_url: SiteUrl | None = Field(
        None,
        description="Where the site is hosted: a full http(s) URL or a path (no other"
        " scheme, no query or fragment, no spaces). Used for absolute links.",
        examples=["https://ml.example.com/charters/"],
    )
    lint: LintSettings = Field(
        default_factory=LintSettings, description="Rule settings.", examples=[{"disable": []}]
    )
    connections: dict[ConnectionName, Connection] = Field(
        default_factory=dict,
        description="Named connections for `charters pull`; 'duckdb' (embedded) needs none.",
        examples=[{"warehouse": {"url": "${WAREHOUSE_URL}"}}],
    )
