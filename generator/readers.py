"""Load stage: source files read into plain data that remembers where every value came from.

One reader per kind of file, each declaring the suffixes it reads (`READERS`, as
Pelican's readers declare `file_extensions`); the loader picks one by suffix.
YAML is composed into nodes and constructed here rather than by PyYAML's loader so
that each value keeps its line and column, duplicate keys are refused, and the
original spelling of a scalar is kept for messages about YAML's implicit typing
(`status: no` is read as false).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .diagnostics import Diagnostic, Diagnostics, Severity, SourceRef, format_path

FieldPath = tuple[str | int, ...]

_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


@dataclass(frozen=True)
class Scalar:
    """How a scalar was written, for messages about implicit typing."""

    raw: str
    tag: str
    quoted: bool


@dataclass
class Document:
    """Plain data (dicts, lists, scalars) with the source position of every node."""

    path: str
    data: Any
    positions: dict[FieldPath, SourceRef] = field(default_factory=dict)
    key_positions: dict[FieldPath, SourceRef] = field(default_factory=dict)
    scalars: dict[FieldPath, Scalar] = field(default_factory=dict)

    def ref(self, path: FieldPath) -> SourceRef:
        """The position of the value at `path`, or of its nearest located ancestor."""
        for end in range(len(path), -1, -1):
            ref = self.positions.get(path[:end])
            if ref is not None:
                return ref
        return SourceRef(self.path, 1, 1)

    def key_ref(self, path: FieldPath) -> SourceRef:
        """The position of the key that names `path` (falls back to the value)."""
        return self.key_positions.get(path) or self.ref(path)

    def at(
        self,
        where: FieldPath,
        message: str,
        code: str = "invalid",
        severity: Severity = "error",
        *,
        key: bool = False,
    ) -> Diagnostic:
        """A diagnostic about the node at `where`, located there (at its key if `key`)."""
        ref = self.key_ref(where) if key else self.ref(where)
        return Diagnostic(ref, format_path(where), message, code, severity)


def read_text(root: Path, rel: str, diags: Diagnostics) -> str | None:
    """Read a UTF-8 text file; record an error for unreadable, non-UTF-8 or empty files."""
    path = root / rel
    try:
        raw = path.read_bytes()
    except OSError as exc:
        diags.error(SourceRef(rel), "", f"cannot read file: {exc.strerror or exc}")
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        diags.error(
            SourceRef(rel, line, col),
            "",
            f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save it as UTF-8",
        )
        return None
    if not text.strip():
        diags.error(SourceRef(rel, 1, 1), "", "file is empty")
        return None
    return text


class _Builder:
    """Turns a composed YAML node tree into plain data plus a position index."""

    def __init__(self, doc: Document, diags: Diagnostics) -> None:
        self.doc = doc
        self.diags = diags
        self.constructor = SafeConstructor()
        self.active: set[int] = set()

    def ref(self, node: Node) -> SourceRef:
        mark = node.start_mark
        return SourceRef(self.doc.path, mark.line + 1, mark.column + 1)

    def build(self, node: Node, path: FieldPath) -> Any:
        self.doc.positions[path] = self.ref(node)
        if id(node) in self.active:
            self.diags.error(
                self.ref(node), format_path(path), "recursive YAML alias is not allowed"
            )
            return None
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                self.check_tag(node, _SEQ_TAG, path)
                return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
            if isinstance(node, MappingNode):
                self.check_tag(node, _MAP_TAG, path)
                return self.mapping(node, path)
        finally:
            self.active.discard(id(node))
        return None  # pragma: no cover - PyYAML has no other node kinds

    def check_tag(self, node: Node, expected: str, path: FieldPath) -> None:
        if node.tag != expected:
            self.diags.error(
                self.ref(node), format_path(path), f"YAML tag {node.tag!r} is not supported here"
            )

    def mapping(self, node: MappingNode, path: FieldPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.diags.error(
                    self.ref(key_node), format_path(path), "mapping keys must be plain text"
                )
                continue
            key = str(key_node.value)
            if key == "<<" and key_node.tag == "tag:yaml.org,2002:merge":
                self.diags.error(
                    self.ref(key_node), format_path(path), "YAML merge keys (<<) are not supported"
                )
                continue
            child = (*path, key)
            if key in out:
                self.diags.error(
                    self.ref(key_node),
                    format_path(child),
                    f"duplicate key {key!r} (first defined on line {first_line[key]})",
                    code="duplicate-key",
                )
                continue
            first_line[key] = key_node.start_mark.line + 1
            self.doc.key_positions[child] = self.ref(key_node)
            out[key] = self.build(value_node, child)
        return out

    def scalar(self, node: ScalarNode, path: FieldPath) -> Any:
        quoted = node.style in ("'", '"', "|", ">")
        self.doc.scalars[path] = Scalar(str(node.value), node.tag, quoted)
        tag = node.tag
        try:
            if tag == _STR_TAG:
                return str(node.value)
            if tag == _NULL_TAG:
                return None
            if tag == _BOOL_TAG:
                return self.constructor.construct_yaml_bool(node)
            if tag == _INT_TAG:
                return self.constructor.construct_yaml_int(node)
            if tag == _FLOAT_TAG:
                return self.constructor.construct_yaml_float(node)
            if tag == _TIMESTAMP_TAG:
                return self.constructor.construct_yaml_timestamp(node)
        except (ValueError, ConstructorError, OverflowError):
            # e.g. 2026-13-45 matches the timestamp pattern but is no date: keep the
            # text so validation can say what is wrong with it.
            return str(node.value)
        self.diags.error(self.ref(node), format_path(path), f"YAML tag {tag!r} is not supported")
        return str(node.value)


def parse_yaml(text: str, rel: str, diags: Diagnostics) -> Document | None:
    """Parse one YAML document; syntax errors are recorded with their position."""
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or "invalid YAML"
        if exc.context:
            problem = f"{exc.context}, {problem}"
        diags.error(SourceRef(rel, line, col), "", f"YAML syntax error: {problem}", "yaml-syntax")
        return None
    except yaml.YAMLError as exc:
        diags.error(SourceRef(rel, 1, 1), "", f"YAML syntax error: {exc}", "yaml-syntax")
        return None
    nodes = [n for n in nodes if n is not None]
    if not nodes:
        diags.error(SourceRef(rel, 1, 1), "", "file holds no YAML document")
        return None
    if len(nodes) > 1:
        second = nodes[1].start_mark
        diags.error(
            SourceRef(rel, second.line + 1, second.column + 1),
            "",
            "file holds more than one YAML document; keep one per file",
        )
        return None
    doc = Document(rel, None)
    doc.data = _Builder(doc, diags).build(nodes[0], ())
    return doc


def parse_json(text: str, rel: str, diags: Diagnostics) -> Document | None:
    """Parse JSON; positions are recorded for the top-level list items and their keys."""
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                duplicates.append(key)
            out[key] = value
        return out

    try:
        data = json.loads(text, object_pairs_hook=pairs, parse_constant=_json_constant)
    except json.JSONDecodeError as exc:
        diags.error(SourceRef(rel, exc.lineno, exc.colno), "", f"JSON syntax error: {exc.msg}")
        return None
    doc = Document(rel, data)
    doc.positions[()] = SourceRef(rel, 1, 1)
    located = _index_json(text, doc)
    for path, ref in located:
        diags.error(ref, format_path(path), f"duplicate key {path[-1]!r}", code="duplicate-key")
    for key in duplicates[len(located) :]:
        # Deeper than a row's own keys: the index does not locate these.
        diags.error(SourceRef(rel, 1, 1), key, f"duplicate key {key!r}", code="duplicate-key")
    return doc


def _json_constant(name: str) -> float:
    # NaN and Infinity are not JSON, but Python's decoder takes them; keep them as
    # floats so the row check reports them as "not a finite number" where they stand.
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[name]


def _index_json(text: str, doc: Document) -> list[tuple[FieldPath, SourceRef]]:
    """Record line/column of top-level list items and of keys in those items.

    Returns the keys that stand twice in one item, at their second place (JSON keeps
    the last value, so later messages about the value point there too).
    """
    duplicates: list[tuple[FieldPath, SourceRef]] = []
    line, col = 1, 1
    depth = 0
    item = -1
    in_string = False
    escape = False
    string_start: tuple[int, int] = (1, 1)
    string_chars: list[str] = []
    expecting_item = False
    pending_key: str | None = None
    for ch in text:
        if in_string:
            if escape:
                escape = False
                string_chars.append(ch)
            elif ch == "\\":
                escape = True
            elif ch == '"':
                in_string = False
                if depth == 2:
                    pending_key = "".join(string_chars)
            else:
                string_chars.append(ch)
        elif ch == '"':
            if depth == 1 and expecting_item:
                item += 1
                doc.positions[(item,)] = SourceRef(doc.path, line, col)
                expecting_item = False
            in_string = True
            string_start = (line, col)
            string_chars = []
        elif ch in "[{":
            if depth == 1 and expecting_item:
                item += 1
                doc.positions[(item,)] = SourceRef(doc.path, line, col)
                expecting_item = False
            depth += 1
            if depth == 1 and ch == "[":
                expecting_item = True
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 1:
            expecting_item = True
        elif ch == ":" and depth == 2 and pending_key is not None and item >= 0:
            ref = SourceRef(doc.path, *string_start)
            if (item, pending_key) in doc.key_positions:
                duplicates.append(((item, pending_key), ref))
            doc.key_positions[(item, pending_key)] = ref
            doc.positions[(item, pending_key)] = ref
            pending_key = None
        elif not ch.isspace() and depth == 1 and expecting_item:
            item += 1
            doc.positions[(item,)] = SourceRef(doc.path, line, col)
            expecting_item = False
        if ch == "\n":
            line += 1
            col = 1
        else:
            col += 1
    return duplicates


def parse_csv(text: str, rel: str, diags: Diagnostics) -> Document | None:
    """Parse CSV with a header row into a list of dicts; every cell keeps its line and column."""
    reader = csv.reader(io.StringIO(text, newline=""))
    lines = io.StringIO(text, newline="").readlines()  # split as the reader splits
    doc = Document(rel, [])
    doc.positions[()] = SourceRef(rel, 1, 1)
    header: list[str] | None = None
    rows: list[dict[str, str]] = []
    try:
        while True:
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                break
            if not cells or all(not c.strip() for c in cells):
                continue
            cols = _cell_starts(rel, "".join(lines[start - 1 : reader.line_num]), start)
            if header is None:
                header = [c.strip() for c in cells]
                seen: dict[str, int] = {}
                for i, name in enumerate(header):
                    if not name:
                        diags.error(cols[i], "", "empty column name in header")
                    elif name in seen:
                        diags.error(
                            cols[i],
                            name,
                            f"duplicate column {name!r} in header",
                            code="duplicate-key",
                        )
                    seen.setdefault(name, i)
                continue
            index = len(rows)
            doc.positions[(index,)] = SourceRef(rel, start, 1)
            if len(cells) > len(header):
                diags.error(
                    cols[len(header)] if len(header) < len(cols) else SourceRef(rel, start, 1),
                    f"[{index}]",
                    f"row has {len(cells)} cells but the header has {len(header)} columns",
                )
            row: dict[str, str] = {}
            for i, name in enumerate(header):
                if not name or name in row:
                    continue
                value = cells[i].strip() if i < len(cells) else ""
                if value == "":
                    continue
                row[name] = value
                ref = cols[i] if i < len(cols) else SourceRef(rel, start, 1)
                doc.positions[(index, name)] = ref
                doc.key_positions[(index, name)] = ref
            rows.append(row)
    except csv.Error as exc:
        diags.error(SourceRef(rel, reader.line_num, 1), "", f"CSV syntax error: {exc}")
        return None
    if header is None:
        diags.error(SourceRef(rel, 1, 1), "", "CSV file has no header row")
        return None
    doc.data = rows
    doc.key_positions.update({("#header", name): SourceRef(rel, 1, 1) for name in header})
    return doc


def _cell_starts(rel: str, raw: str, line: int) -> list[SourceRef]:
    """Where each cell of one CSV record starts, quotes and line breaks in cells included."""
    starts = [SourceRef(rel, line, 1)]
    col = 1
    quoted = False
    for ch in raw.rstrip("\r\n"):
        if ch == '"':
            quoted = not quoted  # a doubled quote inside a cell toggles twice
        elif ch == "," and not quoted:
            starts.append(SourceRef(rel, line, col + 1))
        if ch == "\n":
            line, col = line + 1, 1
        else:
            col += 1
    return starts


@dataclass(frozen=True)
class Reader:
    """One kind of source file: the suffixes it claims and how it is parsed."""

    file_extensions: tuple[str, ...]
    parse: Callable[[str, str, Diagnostics], Document | None]
    # Every value is read as text (CSV): the loader turns numeric fields into numbers.
    text_only: bool = False
    # What a field is called in this format, for messages ("unknown column 'vlaue'").
    field_word: str = "key"


READERS: tuple[Reader, ...] = (
    Reader((".yaml", ".yml"), parse_yaml),
    Reader((".json",), parse_json),
    Reader((".csv",), parse_csv, text_only=True, field_word="column"),
)
_BY_SUFFIX = {suffix: reader for reader in READERS for suffix in reader.file_extensions}
SUFFIXES: tuple[str, ...] = tuple(sorted(_BY_SUFFIX))


def reader_for(path: str) -> Reader | None:
    """The reader of a file, chosen by its suffix (in any case), or None."""
    return _BY_SUFFIX.get(Path(path).suffix.lower())
