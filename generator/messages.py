"""Load stage: validation against the model, each error a located message a person can act on.

Pydantic's own wording ("Input should be a valid string") names neither the file nor
what is allowed; here every error is placed at its node and says what was read and
what is expected, with a hint where YAML's implicit typing is the likely cause.
"""

from __future__ import annotations

import bisect
import difflib
import math
import re
import types
import typing
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from . import model as m
from .diagnostics import (
    Diagnostic,
    Diagnostics,
    RefusedCharacter,
    SourceRef,
    excerpt,
    format_path,
)
from .readers import CsvRows, Document, FieldPath, reader_for

T = TypeVar("T", bound=BaseModel)


def validate_model(
    cls: type[T],
    doc: Document,
    diags: Diagnostics,
    base: FieldPath = (),
    source: str | None = None,
) -> T | None:
    """Validate `doc.data` (or the node at `base`) against `cls`; record located errors.
    `source`: the text `doc` was read from, to place a refused character where it is
    written in a value of many lines rather than at the value's first."""
    data: Any = doc.data
    for part in base:
        data = data[part]
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            _record(cls, doc, diags, error, base, source)
        return None


def written_at(doc: Document, path: FieldPath, source: str | None, written: str) -> SourceRef:
    """Where `written` first stands in the value at `path`, as the text `source` of `doc`
    writes it: a character inside a block of many lines (`|`, `>`, a folded or quoted
    text, a quoted CSV cell) on its own line and column, not the block's first. The
    value's own place when the value is not located in `source`, or does not hold
    `written` as such (a quoted text that writes the character as an escape, `"\\u202e"`)."""
    start = doc.ref(path)
    rows = doc.data if isinstance(doc.data, CsvRows) else None
    located = path in doc.positions or (rows is not None and len(path) == 2)
    if source is None or not written or not located or start.path != doc.path:
        return start
    starts, places = _layout(doc, source)
    if not 0 < start.line <= len(starts):
        return start
    begin = starts[start.line - 1] + max(start.col, 1) - 1
    if rows is not None:
        # The cell's text holds the character as written (CSV has no escapes), so its
        # first place from the cell's start to the row's end is in the cell.
        end = int(rows.ends[int(path[0])])
    else:
        end = _value_end(places, start, starts, len(source))
    found = source.find(written, begin, end)
    if found < 0:
        return start
    line = bisect.bisect_right(starts, found)
    return SourceRef(doc.path, line, found - starts[line - 1] + 1)


def _layout(doc: Document, source: str) -> tuple[list[int], list[tuple[int, int]]]:
    """Where the lines of `source` (`doc`'s text) start, and the places (line, column) of
    the document's nodes, keys and values, in order: kept on `doc`, so a file with
    thousands of refused characters is not read again for each (a results file of 5,000
    such rows took 22 s to check, growing with the square of the rows)."""
    kept = doc.layout
    if kept is not None and kept[0] is source:
        return kept[1], kept[2]
    starts = [0] + [match.end() for match in _YAML_BREAK.finditer(source)]
    places = sorted(
        {
            (ref.line, ref.col)
            for ref in (*doc.positions.values(), *doc.key_positions.values())
            if ref.path == doc.path
        }
    )
    doc.layout = (source, starts, places)
    return starts, places


def _value_end(
    places: list[tuple[int, int]], start: SourceRef, starts: list[int], size: int
) -> int:
    """The offset where the value at `start` ends: before the next node (a key or a
    value) the document places (`places`, in order), or at the end of the text."""
    after = bisect.bisect_right(places, (start.line, start.col))
    if after == len(places):
        return size
    line, col = places[after]
    return starts[line - 1] + max(col, 1) - 1 if line <= len(starts) else size


# What YAML reads as a line break (the marks' lines count these).
_YAML_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def _record(
    cls: type[BaseModel],
    doc: Document,
    diags: Diagnostics,
    error: ErrorDetails,
    base: FieldPath,
    source: str | None = None,
) -> None:
    loc: FieldPath = tuple(p for p in error["loc"] if p != "x-extensions")
    path = (*base, *loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _fields_at(cls, loc[:-1])
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = f" (did you mean {excerpt(close[0])}?)" if close else ""
        written = doc.scalars.get((*path[:-1], "value")) if key.isdecimal() else None
        if written is not None and not written.quoted and written.raw.isdecimal():
            # `{value: 4,5}`: in a mapping written in braces a comma ends the value.
            before = written.raw
            hint = (
                f" (in {{value: {before},{key}}} the comma ends the value: write"
                f" {before}.{key} for a decimal, {before}{key} for a thousands separator)"
            )
        reader = reader_for(doc.path)
        what = reader.field_word if reader else "key"
        message = (
            f"unknown {what} {excerpt(key)}{hint}; allowed: {', '.join(allowed)},"
            " or x-* extension keys"
        )
        diags.add(doc.at(path, message, "unknown-key", key=True))
    elif kind == "missing":
        # Absent, so located at the nearest node that is there: the mapping lacking it.
        diags.add(doc.at(path, f"required field {str(path[-1])!r} is missing", "missing-field"))
    elif kind == "literal_error":
        diags.add(doc.at(path, _message(error, doc, path), "invalid-choice"))
    elif kind.endswith("_type") and not _too_large(error):
        diags.add(doc.at(path, _message(error, doc, path), "wrong-type"))
    elif kind == "string_unicode" and (surrogate := _surrogate(error.get("input"))):
        escape, message = surrogate
        ref = doc.ref(path)
        for spelling in (escape, escape.upper().replace("\\U", "\\u")):
            if (found := written_at(doc, path, source, spelling)) != ref:
                ref = found  # the escape where it is written, in a value of many lines too
                break
        diags.add(Diagnostic(ref, format_path(path), message, "invalid-value"))
    elif isinstance(refused := (error.get("ctx") or {}).get("error"), RefusedCharacter):
        ref = written_at(doc, path, source, refused.written)
        message = _message(error, doc, path)
        diags.add(Diagnostic(ref, format_path(path), message, refused.code))
    else:
        diags.add(doc.at(path, _message(error, doc, path), "invalid-value"))


def _surrogate(text: Any) -> tuple[str, str] | None:
    """The first surrogate in the text `text` (a lone one, which no text may hold:
    pydantic said "unable to parse raw data as a unicode string"), as an escape, and what
    a located error says of it; None when it holds none. YAML reads each `\\u` escape as
    one code point, so the pair JSON writes for a character past U+FFFF is two halves."""
    if not isinstance(text, str):
        return None
    at = next((i for i, ch in enumerate(text) if 0xD800 <= ord(ch) <= 0xDFFF), None)
    if at is None:
        return None
    pair = text[at : at + 2]
    if len(pair) == 2 and "\ud800" <= pair[0] <= "\udbff" and "\udc00" <= pair[1] <= "\udfff":
        code = ord(pair.encode("utf-16-le", "surrogatepass").decode("utf-16-le"))
        escapes = "".join(f"\\u{ord(half):04x}" for half in pair)
        return escapes, (
            f"holds the surrogate escapes {escapes}, a pair that YAML reads as two halves, no"
            f" character; write the character itself, or the escape \\U{code:08X}"
        )
    escape = f"\\u{ord(text[at]):04x}"
    return escape, (
        f"holds the unpaired surrogate escape {escape}, which is no character (a surrogate is"
        " one half of a UTF-16 pair); write the character itself"
    )


def describe(value: Any) -> str:
    """What was read, in words: `the text 'no'`, `the boolean false`, `a list`."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, float):
        return f"the number {value:g}"
    if isinstance(value, int):
        if abs(value) >= 10**30:
            # Python refuses to print integers past 4,300 digits; the size says enough.
            return f"a whole number of about {int((value.bit_length() - 1) * 0.30103) + 1} digits"
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {excerpt(value)}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__} ({value})"


def not_declared(metric: str, declared: list[str]) -> str:
    """The message for a reference to a metric id the charter does not declare."""
    listed = excerpt(", ".join(declared), 400)[1:-1]
    return f"{excerpt(metric)} is not a metric of this charter (declared: {listed})"


# What each pydantic type error expected, in the words of the format.
_EXPECTED = {
    "string_type": "text",
    "float_type": "a number",
    "int_type": "a whole number",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "date_type": "a date as YYYY-MM-DD",
    "date_from_datetime_inexact": "a date as YYYY-MM-DD",
    "int_from_float": "a whole number",
}


# The errors of a number field: of a number too large, each says it is too large.
_NUMBER_KINDS = frozenset({
    "float_type", "int_type", "int_from_float", "int_parsing_size", "finite_number",
    "greater_than", "greater_than_equal", "less_than", "less_than_equal", "value_error",
})  # fmt: skip


def _yaml_hint(doc: Document, path: FieldPath, value: Any, quote: bool = True) -> str:
    """How YAML read an unquoted value, and (with `quote`) that quoting keeps it text."""
    scalar = doc.scalars.get(path)
    if scalar is None or scalar.quoted:
        return ""
    raw = excerpt(scalar.raw, 60)[1:-1]
    if isinstance(value, bool):
        advice = f"; quote it: '{raw}'" if quote else ""
        return f" (YAML reads unquoted {raw} as a boolean{advice})"
    if isinstance(value, float) and not math.isfinite(value):
        return f" (YAML reads {raw} as not-a-number or infinity)"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f" (quote it to keep it as text: '{raw}')" if quote else ""
    if scalar.tag.endswith(":timestamp") and isinstance(value, date):
        return f" (YAML reads {raw} as a date; quote it to keep it as text)"
    if value is None:
        return f" (YAML reads {raw or 'an empty value'} as null)"
    return ""


def number_hint(text: str) -> str:
    """A hint for text written like a number in a notation the format does not read."""
    hint = next((h for pattern, h in _NOT_DECIMAL if pattern.fullmatch(text.strip())), "")
    return f" ({hint})" if hint else ""


# Forms YAML 1.1 (and some tools) read as numbers that YAML 1.2 and this format read as
# text: the message says how to write the number meant.
_NOT_DECIMAL = (
    (
        re.compile(r"[-+]?0[xX][0-9a-fA-F_]+"),
        "hexadecimal is not read as a number; write it in decimal",
    ),
    (
        re.compile(r"[-+]?0[oObB][0-7_]+"),
        "octal and binary are not read as numbers; write it in decimal",
    ),
    (
        re.compile(r"[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?"),
        "base-60 (1:30) is not read as a number; write it in decimal, e.g. 90 for 1:30 minutes",
    ),
    (
        re.compile(r"[-+]?[0-9][0-9_]*_[0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)?"),
        "digit separators (_) are not read; write the digits without them",
    ),
)


def _message(error: ErrorDetails, doc: Document, path: FieldPath) -> str:
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if _too_large(error):
        return m.too_large(value)  # what any number field says of it, with no "quote it"
    if kind == "literal_error":
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        # Quoting helps only when the text as written is one of them (`status: no` is not).
        scalar = doc.scalars.get(path)
        quote = scalar is not None and scalar.raw in allowed
        hint = _yaml_hint(doc, path, value, quote)
        return f"{describe(value)} is not allowed{hint}; expected one of: {', '.join(allowed)}"
    if kind in _EXPECTED:
        # Quoting keeps a value text, which a number field refuses too (`value: yes`).
        hint = _yaml_hint(doc, path, value, quote=kind not in _NUMBER_KINDS)
        if not hint and isinstance(value, str) and kind in ("float_type", "int_type"):
            hint = number_hint(value)
        return f"expected {_EXPECTED[kind]}, got {describe(value)}{hint}"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        what = {
            m.METRIC_ID_PATTERN: "metric id",
            m.ID_PATTERN: "charter id",
            m.CONNECTION_NAME_PATTERN: "connection name",
            m.PARAM_NAME_PATTERN: "parameter name",
        }.get(pattern, "value")
        rule = {
            m.METRIC_ID_PATTERN: "lowercase letters, digits and '_', starting with a letter,"
            " at most 63 characters",
            m.ID_PATTERN: "lowercase letters, digits and '-', starting with a letter or digit,"
            " at most 63 characters",
            m.CONNECTION_NAME_PATTERN: "lowercase letters, digits, '_' and '-', starting with"
            " a letter, at most 63 characters",
            m.PARAM_NAME_PATTERN: "letters, digits and '_', not starting with a digit",
        }.get(pattern, f"text matching {pattern}")
        return f"{excerpt(value)} is not a valid {what}: use {rule}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short":
        return "needs at least one item"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        sign = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<"}.get(kind, "<=")
        bound = next(iter(ctx.values()), "")
        return f"must be {sign} {bound}, got {describe(value)}"
    if kind == "value_error":
        text = str(ctx.get("error", error["msg"]))
        if number and math.isfinite(value):  # a number field refused it: no "quote it" hint
            return text
        if isinstance(value, date):  # a date field refused the date (out of range): text
            return text  # is no date, and quoting it is refused too
        return text + _yaml_hint(doc, path, value)
    return f"{error['msg']}, got {describe(value)}{_yaml_hint(doc, path, value)}"


def _too_large(error: ErrorDetails) -> bool:
    """Whether a number field refused a number past ±MAX_NUMBER (a finite one, or a whole
    one of any size): an invalid value, told as too large whatever the error's type."""
    value = error.get("input")
    if error["type"] not in _NUMBER_KINDS or isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) > m.MAX_NUMBER
    return isinstance(value, float) and math.isfinite(value) and abs(value) > m.MAX_NUMBER


def _fields_at(cls: type[BaseModel], loc: FieldPath) -> list[str]:
    """Allowed keys of the model reached by following `loc` from `cls`."""
    current: Any = cls
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        current = _model_of(fields[part].annotation)
        if current is None:
            return []
    fields = getattr(current, "model_fields", {})
    return [name for name in fields if name != "extensions"]


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _model_of(typing.get_args(annotation)[0])
    if origin in (list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_of(arg)
            if found is not None:
                return found
    return None
