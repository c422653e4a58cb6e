"""Shared (every stage): diagnostics, one located problem each, and the date a run judges by.

Every stage records problems instead of raising, so a single run reports the
whole tree (Pelican's "record and continue"); the command exits once at the end.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal

# Unicode categories a reader cannot see, as a result row's variant refuses them
# (results.py), spaces aside: runs of spaces are compared as one.
_HIDDEN = frozenset({"Cc", "Cf", "Cn", "Co", "Cs", "Zl", "Zp"})


# Characters of other categories that show nothing: the combining grapheme joiner,
# Khmer's inherent vowels, the Hangul fillers (which are letters) and the braille blank;
# `Growth\u3164` showed as `Growth`. A name may not hold them (a result row's variant
# refuses them).
INVISIBLE = frozenset(
    chr(c) for c in (0x034F, 0x17B4, 0x17B5, 0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800)
)
# Selectors that choose a glyph of the character before them (an emoji's `❤️`, Mongolian
# forms): part of a name as written, but not of how it looks beside one without them.
_SELECTORS = frozenset(
    [chr(c) for c in (0x180B, 0x180C, 0x180D, 0x180F)]
    + [chr(c) for c in range(0xFE00, 0xFE10)]
    + [chr(c) for c in range(0xE0100, 0xE01F0)]
)


def unseen(ch: str) -> bool:
    """Whether `ch` is a character no reader sees (a format or control character, a
    filler such as U+3164, a variation selector)."""
    return unicodedata.category(ch) in _HIDDEN or ch in INVISIBLE or ch in _SELECTORS


# `error`, `warning` and `info` judge the charter as a file and a discipline; an `alert`
# is news about the project itself (a breached guardrail, stale results): shown as
# prominently, but it never makes the input invalid.
Severity = Literal["error", "warning", "info", "alert"]

# The most of a file's own text a message quotes: a file that fails to parse may be a
# link to a secret or a megabyte of junk, and messages reach logs and pull requests.
EXCERPT_CHARS = 200
MAX_MESSAGE_CHARS = 1000


class InputError(Exception):
    """A problem with a run's input that no file holds (an environment variable, a flag).

    Commands print the message as `error: ...` and exit 1, without a traceback.
    """


class DateError(InputError):
    """The date a run is judged at cannot be worked out; the message says why."""


def iso_date(text: str) -> date | None:
    """`text` as a date written YYYY-MM-DD, else None (`date.fromisoformat` also takes
    20260320 and 2026-W12-5). The one reading of a date given by hand: result files,
    the format's date fields and `--today`."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text, re.ASCII):
            return date.fromisoformat(text)
    except ValueError:
        pass
    return None


def today_from_env(explicit: date | None = None) -> date:
    """`--today`, else `SOURCE_DATE_EPOCH` (for reproducible output), else the real date."""
    if explicit is not None:
        return explicit
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not epoch:
        return date.today()
    try:
        return datetime.fromtimestamp(int(epoch), tz=UTC).date()
    except (ValueError, OverflowError, OSError):
        raise DateError(
            f"SOURCE_DATE_EPOCH={epoch[:40]!r} is not a date: expected whole seconds since"
            " 1970-01-01 UTC (for example the output of `date +%s`)"
        ) from None


# The embeddings, overrides and isolates: they show the characters after them in another
# order than the file holds them ("Trojan Source", CVE-2021-42574), so that a page could
# read "target met" where the charter's reviewers read something else.
BIDI_REORDERING = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# With the marks U+200E and U+200F, which move nothing and are allowed in text: every
# bidirectional control, escaped where text is printed or quoted (a terminal, a comment).
BIDI_CONTROLS = BIDI_REORDERING | {"\u200e", "\u200f"}
# Noncharacters: never text (XML cannot hold U+FFFE and U+FFFF at all, so one in a title
# made feed.xml unreadable).
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17)
)
# Every character text may not hold (`control_character`): C0 but tab and line breaks, DEL,
# C1, the bidirectional controls that reorder text, and the noncharacters.
REFUSED = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f" + "".join(sorted(BIDI_REORDERING)) + _NONCHARACTERS + "]"
)


def has_control_characters(text: str) -> bool:
    """Whether `text` holds a tab, a line break, NUL or another ASCII control character:
    none belongs in a URL, a file name (NUL cannot be in one at all) or a site path."""
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in text)


def control_character(text: str) -> str | None:
    """The first control character of `text` other than a tab or a line break (C0, DEL,
    C1), bidirectional control that reorders text (`BIDI_REORDERING`) or noncharacter
    (all of them `REFUSED`), or None. None
    belongs in text a page or the feed shows: XML cannot hold most of them (one NUL in a
    title made feed.xml unreadable to every feed reader), on a page they are invisible or,
    like ESC, move a terminal's cursor when the text is printed, and the bidirectional
    ones make a page show other words than the file holds."""
    found = REFUSED.search(text)
    return found.group(0) if found is not None else None


class RefusedCharacter(ValueError):
    """A text field holds a character text may not hold (`control_message` says which):
    reported as `invisible-character`, as the same character in a result file is.
    `written` is the character, or the character reference that writes it, as found in
    the text, so the message can be placed where it is written (`messages.py`). A
    character reference that names no character is reported so too, as `invalid-value`
    (`code`)."""

    def __init__(self, message: str, written: str = "", code: str = "invisible-character"):
        super().__init__(message)
        self.written = written
        self.code = code


def control_message(ch: str, reference: str | None = None) -> str:
    """What a located error says about `control_character`'s finding; `reference`: the
    character reference (`&#x202E;`) the text writes it as, in Markdown."""
    held = f"holds the character reference {reference}:" if reference else "holds"
    if ch in BIDI_REORDERING:
        return (
            f"{held} the bidirectional control U+{ord(ch):04X}, which shows the text after it"
            " in another order than it is written; remove it (right-to-left text needs none:"
            " a page orders it by itself)"
        )
    if ord(ch) >= 0xFDD0:
        return (
            f"{held} the noncharacter U+{ord(ch):04X}, which is never text (the feed's XML"
            " cannot hold it); remove it"
        )
    return (
        f"{held} the control character U+{ord(ch):04X}; remove it (text may hold tabs and"
        " line breaks, no other control characters)"
    )


def printable(text: str) -> str:
    """`text` safe to print on one line: control characters written as escapes.

    A newline in a file name could otherwise start a forged line (`::error ...` in
    GitHub Actions), and an escape sequence could rewrite the terminal.
    """
    if text.isprintable():
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if ch in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif code < 32 or 127 <= code < 160:
            out.append(f"\\x{code:02x}")
        elif ch in BIDI_CONTROLS or ch in ("\u2028", "\u2029"):
            out.append(f"\\u{code:04x}")
        elif _is_byte(code):
            out.append(_byte(code))
        elif 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


@dataclass(frozen=True, order=True, slots=True)
class SourceRef:
    """Where a value came from: a path relative to the source root, 1-based line and column."""

    path: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        path = printable(self.path)
        if self.line <= 0:
            return path
        return f"{path}:{self.line}:{max(self.col, 1)}"


@dataclass(frozen=True)
class Diagnostic:
    """A problem found in the input, located by file, line and field."""

    ref: SourceRef
    field: str
    message: str
    code: str = "invalid"
    severity: Severity = "error"

    def __post_init__(self) -> None:
        # The last guard on quoting a file's own text: every message names its excerpt
        # itself; one that does not is still cut here rather than printed whole.
        if len(self.message) > MAX_MESSAGE_CHARS:
            cut = self.message[:MAX_MESSAGE_CHARS] + " …"
            object.__setattr__(self, "message", cut)
        if len(self.field) > EXCERPT_CHARS:
            object.__setattr__(self, "field", self.field[:EXCERPT_CHARS] + "…")

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.ref.path, self.ref.line, self.ref.col, self.field, self.message)

    def format_text(self) -> str:
        """`path:line:col: field.path: message`, the form of the format's contract."""
        where = str(self.ref)
        if self.field:
            return f"{where}: {printable(self.field)}: {printable(self.message)}"
        return f"{where}: {printable(self.message)}"

    def as_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity,
            "file": self.ref.path,
            "line": self.ref.line,
            "col": self.ref.col,
            "field": self.field,
            "message": self.message,
        }


@dataclass
class Diagnostics:
    """An ordered collection of diagnostics with helpers to add located problems."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(self, diagnostic: Diagnostic) -> None:
        self.items.append(diagnostic)

    def error(self, ref: SourceRef, field_path: str, message: str, code: str = "invalid") -> None:
        self.items.append(Diagnostic(ref, field_path, message, code, "error"))

    def extend(self, other: Iterable[Diagnostic]) -> None:
        self.items.extend(other)

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]

    def sorted(self) -> list[Diagnostic]:
        """Stable order: by file, line, column, then field; duplicates removed."""
        seen: set[Diagnostic] = set()
        out: list[Diagnostic] = []
        for d in sorted(self.items, key=Diagnostic.sort_key):
            if d not in seen:
                seen.add(d)
                out.append(d)
        return out


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """`repr` of a value from a file, cut to `limit` characters with control characters escaped."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return repr(text)
    return repr(text[:limit]) + f" … ({len(text) - limit} more characters)"


def format_path(parts: Iterable[str | int]) -> str:
    """Render a field path as `a.b[0].c`."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _is_byte(code: int) -> bool:
    """Whether a character is a byte of a file name that is not UTF-8 (`os.fsdecode`
    keeps each as a lone surrogate, which no UTF-8 output can hold)."""
    return 0xDC80 <= code <= 0xDCFF


def _byte(code: int) -> str:
    return f"\\x{code - 0xDC00:02x}"


def github_escape(value: str, *, property_value: bool = False) -> str:
    """Escape text for a GitHub Actions workflow command."""
    if not value.isprintable():  # a file name that is not UTF-8: its bytes as escapes
        value = "".join(_byte(ord(ch)) if _is_byte(ord(ch)) else ch for ch in value)
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value
