"""Load stage: source files read into plain data that remembers where every value came from.

One reader per kind of file, each declaring the suffixes it reads (`READERS`, as
Pelican's readers declare `file_extensions`); the loader picks one by suffix.
YAML is composed into nodes and constructed here rather than by PyYAML's loader so
that each value keeps its line and column, duplicate keys are refused, and the
original spelling of a scalar is kept for messages about YAML's implicit typing
(`status: no` is read as false). Nodes are composed by libyaml, PyYAML's C parser,
when it is installed (about ten times faster); a file it refuses, or one nested near
the depth limit, is composed again by the pure-Python parser, whose messages and
positions are the ones the format promises, so both give the same values and errors.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import pickle
import re
import stat
import sys
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, overload

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .diagnostics import (
    Diagnostic,
    Diagnostics,
    Severity,
    SourceRef,
    excerpt,
    format_path,
    printable,
)
from .formatting import plural
from .paths import LOOP, loops

FieldPath = tuple[str | int, ...]

_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"

# Limits of the input (docs/format.md, "Limits"). A file past one is refused with an
# error naming the limit; none of them is near what a real charter or result file needs.
MAX_DEPTH = 64  # nesting of lists and mappings, in YAML and JSON
MAX_ALIAS_VALUES = 10_000  # values YAML aliases may add beyond what is written
MAX_DIGITS = 4_000  # digits of a whole number read exactly (Python stops at 4,300)
MAX_ROWS = 2_000_000  # rows of one result file
MAX_CHARTER_BYTES = 1_000_000  # charter.yaml, site.yaml
MAX_YAML_BYTES = 5_000_000  # a YAML result file (bigger series: CSV)
MAX_JSON_BYTES = 20_000_000  # a JSON result file
MAX_CSV_BYTES = 200_000_000  # a CSV result file


def inside(root: Path, path: Path) -> bool:
    """Whether `path`, links followed, stays inside the folder `root` (links followed too).

    Every file and folder the generator reads goes through this: a symbolic link in a
    pull request must not publish or print a file from elsewhere on the machine.
    """
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError, ValueError):  # a link loop; a NUL in the name
        return False


class LimitError(Exception):
    """Input past one of the limits above, where it was found; the message names the limit."""

    def __init__(self, message: str, ref: SourceRef) -> None:
        super().__init__(message)
        self.ref = ref


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 numbers and a nesting limit.

    YAML 1.1, PyYAML's default, reads `017` as 15 (octal), `1:30` as 90 (base 60),
    `1_000` as 1000 and `0x1F` as 31, and `1e6` as text. Numbers here follow the YAML
    1.2 core schema's decimal forms: `017` is 17 and `1e6` is 1000000. Its `0o` and
    `0x` forms, and YAML 1.1's base-60 and digit separators, are read as text, so a
    number field refuses them with a hint rather than taking a value the author did
    not mean. Booleans stay YAML 1.1's (`no` is false) so `status: no` is reported
    with a hint instead of being taken as text; dates stay as they are.
    """

    depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.MarkedYAMLError(
                problem=f"nested more than {MAX_DEPTH} levels deep (the limit)",
                problem_mark=event.start_mark,
            )
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_INT_TAG, _FLOAT_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_INT_TAG, re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))
_Loader.add_implicit_resolver(
    _FLOAT_TAG,
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


class _NearTheLimit(Exception):
    """libyaml reached the nesting limit: the pure-Python composer decides and locates it."""


def _c_loader() -> type | None:
    """libyaml's parser and composer with the resolvers above, or None if not installed.

    Composition runs in C, so the nesting limit is kept by the resolver hooks the C
    composer calls around every node it composes (not around an alias, which adds no
    depth of its own to the tree written). The C composer recurses on the C stack, so
    it must never go deep: it stops one level short of the limit, and the pure-Python
    composer, which counts aliases as the limit does, takes the file from there.
    """
    if not yaml.__with_libyaml__:
        return None
    from yaml._yaml import CParser

    _resolve = yaml.resolver.Resolver.resolve

    class CLoader(CParser, yaml.resolver.Resolver):
        yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers

        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            yaml.resolver.Resolver.__init__(self)
            self.depth = 0

        def descend_resolver(self, parent: Node | None, index: Any) -> None:
            self.depth += 1
            if self.depth >= MAX_DEPTH:
                raise _NearTheLimit

        def ascend_resolver(self) -> None:
            self.depth -= 1

        def resolve(self, kind: type, value: str | None, implicit: Any) -> str:
            # An empty scalar tagged `!` is the one case where libyaml says "not
            # implicit" and PyYAML says "plain": PyYAML's reading (null) is the one kept.
            if implicit == (False, False) and kind is ScalarNode:
                implicit = (True, False)
            return str(_resolve(self, kind, value, implicit))  # type: ignore[no-untyped-call]

    return CLoader


_CLoader = _c_loader()
# Whether `parse_yaml` composes with libyaml (tests set it to compare both paths).
LIBYAML = _CLoader is not None


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
    # Works out a position not in `positions` (CSV rows: from offsets into the text).
    locate: Callable[[FieldPath], SourceRef | None] | None = None
    # Where its text's lines start and where its nodes stand, in order: worked out once,
    # when a message is first placed inside a value (messages.written_at), not per error.
    layout: Any = field(default=None, init=False, repr=False, compare=False)

    def ref(self, path: FieldPath) -> SourceRef:
        """The position of the value at `path`, or of its nearest located ancestor."""
        for end in range(len(path), -1, -1):
            ref = self.positions.get(path[:end])
            if ref is None and self.locate is not None:
                ref = self.locate(path[:end])
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


class LazyDocument(Document):
    """A charter's `Document` as read back from the cache: its path at once, the rest
    (the parsed data and the position of every node, most of the cost of reading a
    charter back) unpickled when first asked for. A cached charter's rule findings are
    cached too (generator/reuse.py), so most builds never ask."""

    FIELDS = ("data", "positions", "key_positions", "scalars", "locate")

    def __init__(self, path: str, blob: bytes) -> None:  # not the dataclass's __init__
        self.__dict__.update(path=path, _blob=blob, _fields=None)

    def _field(self, name: str) -> Any:
        fields = self.__dict__["_fields"]
        if fields is None:
            fields = self.__dict__["_fields"] = dict(
                zip(self.FIELDS, pickle.loads(self.__dict__["_blob"]), strict=True)
            )
        return fields[name]

    data = property(partial(_field, name="data"))
    positions = property(partial(_field, name="positions"))
    key_positions = property(partial(_field, name="key_positions"))
    scalars = property(partial(_field, name="scalars"))
    locate = property(partial(_field, name="locate"))


def read_text(
    root: Path,
    rel: str,
    diags: Diagnostics,
    max_bytes: int = MAX_CHARTER_BYTES,
    empty_ok: bool = False,
) -> str | None:
    """Read a UTF-8 text file; record an error for unreadable, non-UTF-8, empty (unless
    `empty_ok`: then "") or big files.

    Only regular files inside `root` are read: a link leaving the tree could print a
    secret in a message, and a pipe or a device would never end.
    """
    path = root / rel
    if loops(path):
        diags.error(SourceRef(rel), "", f"file is {LOOP}", "link-loop")
        return None
    if not inside(root, path):
        message = "file is a symbolic link that leaves the source folder; it is not read"
        diags.error(SourceRef(rel), "", message, "outside-tree")
        return None
    try:
        # Opened without blocking, so a named pipe is refused rather than waited on.
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        with os.fdopen(os.open(path, flags), "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                diags.error(SourceRef(rel), "", "not a regular file; it is not read")
                return None
            if info.st_size > max_bytes:
                message = (
                    f"file is {info.st_size:,} bytes; files of this kind are limited to"
                    f" {max_bytes:,} bytes (the limit)"
                )
                diags.error(SourceRef(rel), "", message, "limit")
                return None
            # Sized by the file, not the limit: a 200 MB buffer for a 2 KB file is waste.
            raw = handle.read(min(info.st_size, max_bytes) + 1)
    except OSError as exc:
        diags.error(SourceRef(rel), "", f"cannot read file: {exc.strerror or exc}")
        return None
    if len(raw) > info.st_size:
        diags.error(SourceRef(rel), "", "file grew while it was read; build again")
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        diags.error(
            SourceRef(rel, line, col),
            "",
            f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})"
            + (" (it is saved as UTF-16)" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "")
            + "; save it as UTF-8",
        )
        return None
    nul = text.find("\0")
    if nul >= 0:  # never in text; a file saved as UTF-16 without a BOM is half NULs
        line = text.count("\n", 0, nul) + 1
        col = nul - (text.rfind("\n", 0, nul) + 1) + 1
        head = text[:200]
        wide = head.count("\0") * 3 >= len(head)
        diags.error(
            SourceRef(rel, line, col),
            "",
            "file holds a NUL character"
            + (" (it looks saved as UTF-16)" if wide else "")
            + "; save it as UTF-8 text",
        )
        return None
    if not text.strip():
        if empty_ok:
            return ""
        diags.error(SourceRef(rel, 1, 1), "", "file is empty")
        return None
    return text


def _syntax_hint(problem: str) -> str:
    """What a newcomer most likely wrote, for the YAML errors they meet first."""
    found = re.search(r"found character '(\\t|.)' that cannot start any token", problem)
    if found and found.group(1) == "\\t":
        return " (a tab: YAML indents with spaces only; replace the tabs with spaces)"
    if found and found.group(1) == "%":
        return " (a value starting with % must be quoted, as in unit: '%')"
    if found:
        return f" (a value starting with {found.group(1)} must be quoted)"
    if (
        "but found '<block mapping start>'" in problem
        or "mapping values are not allowed" in problem
    ):
        return (
            " (check the indentation of this line and the line above: each level is"
            " indented by the same number of spaces, and a value holding ': ' is quoted)"
        )
    return ""


def holds_no_yaml(text: str) -> bool:
    """Whether `text` is only blank lines and comments: a YAML file with every line
    commented out, which holds no document at all."""
    return all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines())


class _Builder:
    """Turns a composed YAML node tree into plain data plus a position index.

    `budget` is how many values the tree may hold: what is written (`count_nodes`)
    plus what aliases may add (`MAX_ALIAS_VALUES`), so a kilobyte of nested aliases
    cannot expand into billions of values.
    """

    def __init__(self, doc: Document, diags: Diagnostics, root: Node) -> None:
        self.doc = doc
        self.diags = diags
        self.constructor = SafeConstructor()
        self.active: set[int] = set()
        # What is written is counted only when the allowance is spent: most files
        # hold fewer values than the allowance, and counting is a walk of the tree.
        self.budget = MAX_ALIAS_VALUES
        self.unwritten: Node | None = root
        # Something libyaml reads otherwise than PyYAML: a tag PyYAML refuses to scan
        # (it is refused here either way), or a plain scalar in [ ] or { } (`doubt`).
        # Such a file is read again by PyYAML.
        self.doubtful = False
        self.flow = 0

    def ref(self, node: Node) -> SourceRef:
        mark = node.start_mark
        return SourceRef(self.doc.path, mark.line + 1, mark.column + 1)

    def build(self, node: Node, path: FieldPath) -> Any:
        self.budget -= 1
        if self.budget < 0 and self.unwritten is not None:
            self.budget += count_nodes(self.unwritten)
            self.unwritten = None
        if self.budget < 0:
            message = (
                f"YAML aliases expand to more than {MAX_ALIAS_VALUES} values beyond those"
                f" written (the limit), reached in {excerpt(format_path(path[:1]) or '(top)', 60)}"
            )
            # At the top-level key being built: the alias's own place is not kept by PyYAML.
            raise LimitError(message, self.doc.key_positions.get(path[:1]) or self.ref(node))
        if len(path) > MAX_DEPTH:
            message = f"YAML aliases nest values more than {MAX_DEPTH} levels deep (the limit)"
            raise LimitError(message, self.ref(node))
        self.doc.positions[path] = self.ref(node)
        if id(node) in self.active:
            self.diags.error(
                self.ref(node), format_path(path), "recursive YAML alias is not allowed"
            )
            return None
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        self.active.add(id(node))
        flow = bool(getattr(node, "flow_style", False))
        self.flow += flow
        try:
            if isinstance(node, SequenceNode):
                self.check_tag(node, _SEQ_TAG, path)
                return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
            if isinstance(node, MappingNode):
                self.check_tag(node, _MAP_TAG, path)
                return self.mapping(node, path)
        finally:
            self.active.discard(id(node))
            self.flow -= flow
        return None  # pragma: no cover - PyYAML has no other node kinds

    def check_tag(self, node: Node, expected: str, path: FieldPath) -> None:
        if node.tag != expected:
            self.doubtful = True
            message = f"YAML tag {excerpt(node.tag)} is not supported here"
            self.diags.error(self.ref(node), format_path(path), message)

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
            self.doubt(key_node)
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
                    f"duplicate key {excerpt(key)} (first defined on line {first_line[key]})",
                    code="duplicate-key",
                )
                continue
            first_line[key] = key_node.start_mark.line + 1
            self.doc.key_positions[child] = self.ref(key_node)
            out[key] = self.build(value_node, child)
        return out

    def doubt(self, node: ScalarNode) -> None:
        """Note a plain scalar in [ ] or { } that libyaml and PyYAML read differently.

        PyYAML ends a plain scalar at `?` there, and places an empty one at the end of
        the token before it, libyaml at the start of the token after it.
        """
        if self.flow and not node.style and ("?" in node.value or not node.value):
            self.doubtful = True

    def scalar(self, node: ScalarNode, path: FieldPath) -> Any:
        quoted = node.style in ("'", '"', "|", ">")
        self.doubt(node)
        self.doc.scalars[path] = Scalar(str(node.value), node.tag, quoted)
        tag = node.tag
        try:
            if tag == _STR_TAG:
                return str(node.value)
            if tag == _NULL_TAG:
                return None
            if tag == _BOOL_TAG:
                return self.constructor.construct_yaml_bool(node)
            if tag in (_INT_TAG, _FLOAT_TAG):
                return read_number(str(node.value), tag == _INT_TAG)
            if tag == _TIMESTAMP_TAG:
                return self.constructor.construct_yaml_timestamp(node)
        except (ValueError, KeyError, ConstructorError, OverflowError):
            # e.g. 2026-13-45 matches the timestamp pattern but is no date, and
            # `!!bool maybe` is no boolean: keep the text so validation can say what
            # is wrong with it.
            return str(node.value)
        self.doubtful = True
        message = f"YAML tag {excerpt(tag)} is not supported"
        self.diags.error(self.ref(node), format_path(path), message)
        return str(node.value)


def read_number(text: str, whole: bool) -> int | float:
    """A YAML 1.2 decimal number, as an int when written as a whole number.

    Python refuses to convert integers of more than 4,300 digits and nothing in the
    format needs more than 15, so a longer one is read as a power of ten of its size
    (the model then refuses it as too large, saying how many digits it has) rather
    than failing.
    """
    if whole:
        digits = text.lstrip("+-")
        if len(digits) <= MAX_DIGITS:
            return int(text)
        size: int = 10 ** (len(digits) - 1)
        return -size if text.startswith("-") else size
    lowered = text.lower()
    if lowered.lstrip("+-") in (".inf", ".nan"):
        return float(lowered.replace(".", ""))
    value = float(text)
    if math.isinf(value):  # a decimal too large for a float (1e400), not an infinity written
        return math.copysign(sys.float_info.max, value)  # refused by the model as too large
    return value


def count_nodes(root: Node) -> int:
    """The values written in a document: one per node the composer was asked for.

    Every alias counts once where it is written, whatever it stands for; a node an
    anchor names is counted once, where it is defined.
    """
    count = 1
    seen: set[int] = set()
    stack: list[Node] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, ScalarNode) or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, SequenceNode):
            count += len(node.value)
            stack.extend(node.value)
        elif isinstance(node, MappingNode):
            count += 2 * len(node.value)
            for key, value in node.value:
                stack.extend((key, value))
    return count


def parse_yaml(
    text: str, rel: str, diags: Diagnostics, *, libyaml: bool | None = None
) -> Document | None:
    """Parse one YAML document; syntax errors are recorded with their position.

    With libyaml (the default when installed) the text is composed in C; anything it
    does not compose into exactly one document without an error is composed again in
    Python, so errors read the same with and without it.
    """
    nodes = _compose_c(text) if (LIBYAML if libyaml is None else libyaml) else None
    if nodes is not None:
        found = Diagnostics()
        doc, doubtful = _construct(nodes, rel, found)
        # Where the two parsers may differ (see `_Builder.doubtful`), PyYAML decides;
        # and on any error, since the builder stops or skips a value there and so may
        # not have looked at every node.
        if not doubtful and not found.items:
            return doc
    nodes = _compose_python(text, rel, diags)
    if nodes is None:
        return None
    return _construct(nodes, rel, diags)[0]


def _construct(nodes: list[Node], rel: str, diags: Diagnostics) -> tuple[Document | None, bool]:
    """The one document among `nodes` as plain data; whether PyYAML should read it again."""
    if not nodes:
        diags.error(SourceRef(rel, 1, 1), "", "file holds no YAML document")
        return None, False
    if len(nodes) > 1:
        second = nodes[1].start_mark
        diags.error(
            SourceRef(rel, second.line + 1, second.column + 1),
            "",
            "file holds more than one YAML document; keep one per file",
        )
        return None, False
    doc = Document(rel, None)
    builder = _Builder(doc, diags, nodes[0])
    try:
        doc.data = builder.build(nodes[0], ())
    except LimitError as exc:
        diags.error(exc.ref, "", str(exc), "limit")
        return None, builder.doubtful
    return doc, builder.doubtful


def _libyaml_agrees(text: str) -> bool:
    """Whether libyaml reads `text` exactly as PyYAML does (else PyYAML composes it).

    libyaml takes tabs where PyYAML refuses them, skips a byte-order mark in the middle
    of a text where PyYAML reads it as text, and at the end of a text with no final
    line break it moves to a new line, which moves the position of an empty value
    there. None is common in a charter; all are left to PyYAML.
    """
    if not text.endswith("\n") or "\t" in text or "\ufeff" in text:
        return False
    return _BLOCK_COMMENT.search(text) is None


# A block scalar header with a comment straight after it (`>#`): libyaml takes it,
# PyYAML asks for a space first.
_BLOCK_COMMENT = re.compile(r"[|>][-+0-9]*#")


def _compose_c(text: str) -> list[Node] | None:
    """The one document of `text` composed by libyaml, or None to compose it in Python."""
    if _CLoader is None or not _libyaml_agrees(text):
        return None
    loader = _CLoader(text)
    nodes: list[Node] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                nodes.append(node)
    except (yaml.YAMLError, _NearTheLimit):
        return None
    finally:
        loader.dispose()
    return nodes if len(nodes) == 1 else None


def _first_yaml_line(text: str) -> int:
    """The index of the first line of `text` that is neither blank, a comment nor `---`."""
    for i, line in enumerate(text.splitlines()):
        bare = line.strip()
        if bare and not bare.startswith("#") and bare != "---":
            return i
    return 0


def _compose_python(text: str, rel: str, diags: Diagnostics) -> list[Node] | None:
    """The documents of `text` composed by PyYAML in Python; errors recorded, located."""
    loader: _Loader | None = None
    try:
        loader = _Loader(text)
        nodes: list[Node] = []
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                nodes.append(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or "invalid YAML"
        if problem.endswith("(the limit)"):
            diags.error(SourceRef(rel, line, col), "", problem, "limit")
            return None
        if exc.context:
            began = exc.context_mark
            # Not the document's own mapping, begun on its first line of YAML (after any
            # comments, as `charters new` writes them, or `---`): that sends the reader
            # to the top of the file, far from the fault.
            top = (
                began is not None
                and began.column == 0
                and began.line == _first_yaml_line(text)
                and "block" in exc.context
            )
            if began is not None and mark is not None and began.line != mark.line and not top:
                # The problem is found where the parser gave up (the line after a flow
                # mapping left open); where the construct began is where to look too.
                at = f" that began at line {began.line + 1}, column {began.column + 1}"
                problem = f"{exc.context}{at}, {problem}"
            else:
                problem = f"{exc.context}, {problem}"
        # PyYAML writes a character it names as Python does (`'\\t'`): not escaped again.
        shown = printable(problem if len(problem) <= 300 else problem[:300] + "…")
        message = f"YAML syntax error: {shown}{_syntax_hint(problem)}"
        diags.error(SourceRef(rel, line, col), "", message, "yaml-syntax")
        return None
    except yaml.YAMLError as exc:
        message = f"YAML syntax error: {excerpt(str(exc))[1:-1]}"
        diags.error(SourceRef(rel, 1, 1), "", message, "yaml-syntax")
        return None
    finally:
        if loader is not None:
            loader.dispose()
    return nodes


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

    doc = Document(rel, None)
    doc.positions[()] = SourceRef(rel, 1, 1)
    try:
        located = _index_json(text, doc)
    except LimitError as exc:
        diags.error(exc.ref, "", str(exc), "limit")
        return None
    try:
        doc.data = json.loads(
            text,
            object_pairs_hook=pairs,
            parse_constant=_json_constant,
            parse_int=lambda digits: read_number(digits, True),
            parse_float=lambda text: read_number(text, False),
        )
    except json.JSONDecodeError as exc:
        message = f"JSON syntax error: {excerpt(exc.msg)[1:-1]}"
        diags.error(SourceRef(rel, exc.lineno, exc.colno), "", message)
        return None
    for path, ref in located:
        message = f"duplicate key {excerpt(path[-1])}"
        diags.error(ref, format_path(path), message, code="duplicate-key")
    for key in duplicates[len(located) :]:
        # Deeper than a row's own keys: the index does not locate these.
        message = f"duplicate key {excerpt(key)}"
        diags.error(SourceRef(rel, 1, 1), excerpt(key, 60)[1:-1], message, code="duplicate-key")
    return doc


def _json_constant(name: str) -> float:
    # NaN and Infinity are not JSON, but Python's decoder takes them; keep them as
    # floats so the row check reports them as "not a finite number" where they stand.
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[name]


def _index_json(text: str, doc: Document) -> list[tuple[FieldPath, SourceRef]]:
    """Record line/column of top-level list items and of keys in those items.

    Returns the keys that stand twice in one item, at their second place (JSON keeps
    the last value, so later messages about the value point there too). Raises
    `LimitError` where the nesting passes `MAX_DEPTH`, before the decoder recurses.
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
            if depth > MAX_DEPTH:
                message = f"nested more than {MAX_DEPTH} levels deep (the limit)"
                raise LimitError(message, SourceRef(doc.path, line, col))
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


class _Lines:
    """The lines of a text for `csv.reader`, remembering the offset reached."""

    _LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+$")

    def __init__(self, text: str) -> None:
        self.matches = self._LINE.finditer(text)
        self.pos = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        match = next(self.matches)
        self.pos = match.end()
        return match.group()


@dataclass(frozen=True)
class Misfit:
    """Rows of a CSV file longer than its header, most of them: `rows` of the file's
    `total`, the first at line `line` with `cells` cells."""

    rows: int
    total: int
    cells: int
    line: int


class CsvRows(Sequence[dict[str, str]]):
    """The rows of a CSV file, kept as offsets into its text and parsed when asked for.

    A million-row file is held as its text plus 20 bytes a row, not as a million
    dictionaries with a position per cell; positions are worked out when a message
    needs one. `rows[i] = row` replaces one row at a time (the loader turns cells into
    numbers, then validates), which is all the loader needs. A reader of every row at
    once (the history's `raw_rows`) keeps each row's cells as the parse found them
    (`kept`), so that no row is parsed twice.
    """

    def __init__(
        self,
        text: str,
        rel: str,
        header: list[str],
        header_at: list[SourceRef] | None = None,
        keep: bool = False,
    ) -> None:
        self.text = text
        self.rel = rel
        self.header = header
        self.header_at = header_at or []  # where each column's name is written
        self.starts = array("Q")
        self.ends = array("Q")
        self.lines = array("Q")
        self.replaced: tuple[int, dict[str, Any]] | None = None
        self.kept: list[list[str]] | None = [] if keep else None
        # Most rows have more cells than the header has columns: the header is what is
        # wrong, told once there by the loader, not at every row (`_misfits`).
        self.misfit: Misfit | None = None

    def add(self, start: int, end: int, line: int, cells: list[str]) -> None:
        self.starts.append(start)
        self.ends.append(end)
        self.lines.append(line)
        if self.kept is not None:
            self.kept.append(cells)

    def __len__(self) -> int:
        return len(self.starts)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if self.replaced is not None and self.replaced[0] == index:
            return self.replaced[1]
        cells = self.cells(index)
        row: dict[str, Any] = {}
        for i, name in enumerate(self.header):
            value = cells[i].strip() if i < len(cells) else ""
            if name and name not in row and value:
                row[name] = value
        return row

    def __setitem__(self, index: int, row: dict[str, Any]) -> None:
        self.replaced = (index, row)

    def cells(self, index: int) -> list[str]:
        if self.kept is not None:
            return self.kept[index]
        raw = self.text[self.starts[index] : self.ends[index]]
        return next(csv.reader(io.StringIO(raw, newline=""), strict=True), [])

    def locate(self, path: FieldPath) -> SourceRef | None:
        """The position of row `path[0]`, or of its cell in column `path[1]`."""
        if not path or not isinstance(path[0], int) or not 0 <= path[0] < len(self):
            return None
        index = path[0]
        line = int(self.lines[index])
        if len(path) == 1 or path[1] not in self.header:
            return SourceRef(self.rel, line, 1)
        raw = self.text[self.starts[index] : self.ends[index]]
        starts = _cell_starts(self.rel, raw, line)
        column = self.header.index(str(path[1]))
        return starts[column] if column < len(starts) else SourceRef(self.rel, line, 1)


def parse_csv(text: str, rel: str, diags: Diagnostics, keep: bool = False) -> Document | None:
    """Parse CSV with a header row into a list of dicts; every cell keeps its line and column.

    A row with fewer or more cells than the header is refused where it stands (a
    missing cell is never taken as empty), and so is a quote that is never closed
    (it would swallow the rows after it into one cell); when most rows are longer than
    the header, the header is what is wrong (`CsvRows.misfit`). With
    `keep`, each row's cells are kept as parsed (`CsvRows.kept`), for a caller that
    reads every row.
    """
    lines = _Lines(text)
    reader = csv.reader(lines, strict=True)
    rows: CsvRows | None = None
    misfits: list[tuple[int, int, int, int]] = []  # start, end, line, cells
    while True:
        start, line = lines.pos, reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            diags.add(_csv_error(rel, text[start : lines.pos], line, str(exc)))
            if rows is not None:
                _refuse_misfits(rows, misfits, diags)  # as read so far, where they stand
            return None
        if not cells or all(not c.strip() for c in cells):
            continue
        if rows is None:
            if re.fullmatch(r"sep=.?", ",".join(cells).strip(), re.IGNORECASE):
                message = (
                    f"the first line {excerpt(','.join(cells))} is a spreadsheet's note of its"
                    " separator, not the header; delete the line (the header follows it)"
                )
                diags.error(SourceRef(rel, line, 1), "", message, "csv-row")
                return None
            names_at = _cell_starts(rel, text[start : lines.pos], line)
            rows = CsvRows(text, rel, _csv_header(names_at, cells, diags), names_at, keep)
            continue
        if len(rows) + len(misfits) >= MAX_ROWS:
            message = f"more than {MAX_ROWS:,} rows in one file (the limit); split the file"
            diags.error(SourceRef(rel, line, 1), "", message, "limit")
            return None
        if len(cells) != len(rows.header):
            if len(rows.header) == 1 and re.search(r"[;\t]", rows.header[0]):
                continue  # another separator: said once, at the header (results.py)
            misfits.append((start, lines.pos, line, len(cells)))
            continue
        rows.add(start, lines.pos, line, cells)
    if rows is None:
        diags.error(SourceRef(rel, 1, 1), "", "CSV file has no header row")
        return None
    _misfits(rows, misfits, diags)
    doc = Document(rel, rows, locate=rows.locate)
    doc.positions[()] = SourceRef(rel, 1, 1)
    return doc


def _misfits(rows: CsvRows, misfits: list[tuple[int, int, int, int]], diags: Diagnostics) -> None:
    """Each row that does not fit the header refused where it stands; or, when more than
    half of the rows (two or more) are longer than the header, none of them: the header
    lost a column's name, told once at the header (`CsvRows.misfit`), not once at each
    of 20,000 rows with advice to write empty cells. (Rows shorter than the header are
    refused one by one: a row leaving out a cell the header names is the usual cause.)"""
    width = len(rows.header)
    total = len(rows) + len(misfits)
    longer = [f for f in misfits if f[3] > width]
    if len(longer) >= 2 and 2 * len(longer) > total:
        rows.misfit = Misfit(len(longer), total, longer[0][3], longer[0][2])
        return
    _refuse_misfits(rows, misfits, diags)


def _refuse_misfits(
    rows: CsvRows, misfits: list[tuple[int, int, int, int]], diags: Diagnostics
) -> None:
    width = len(rows.header)
    for start, end, line, cells in misfits:
        starts = _cell_starts(rows.rel, rows.text[start:end], line)
        at = _nth(starts, width) if cells > width else starts[-1]
        message = (
            f"row has {plural(cells, 'cell')} but the header has {plural(width, 'column')};"
            " write an empty cell as two commas, and quote cells holding a comma"
        )
        diags.error(at, "", message, "csv-row")


def _csv_header(cols: list[SourceRef], cells: list[str], diags: Diagnostics) -> list[str]:
    header = [c.strip() for c in cells]
    seen: set[str] = set()
    for i, name in enumerate(header):
        if not name:
            diags.error(_nth(cols, i), "", "empty column name in header")
        elif name in seen:
            message = f"duplicate column {excerpt(name)} in header"
            diags.error(_nth(cols, i), excerpt(name, 60)[1:-1], message, code="duplicate-key")
        seen.add(name)
    return header


def _csv_error(rel: str, raw: str, line: int, problem: str) -> Diagnostic:
    """A CSV syntax error, at the quote that opened the cell the reader could not end."""
    quote = _open_quote(raw)
    if "field larger than field limit" in problem:
        message = f"a cell is longer than {csv.field_size_limit():,} characters (the limit)"
        return Diagnostic(SourceRef(rel, line, 1), "", message, "limit")
    if quote is None:
        return Diagnostic(SourceRef(rel, line, 1), "", f"CSV syntax error: {problem}", "csv-syntax")
    offset, closed = quote
    at_line = line + raw.count("\n", 0, offset)
    col = offset - (raw.rfind("\n", 0, offset) + 1) + 1
    spans = raw.count("\n", offset, closed) if closed is not None else raw.count("\n", offset)
    if closed is None:
        message = "this quote is never closed: it would take the rest of the file into one cell"
    elif spans == 0:
        message = "text follows the closing quote of the cell quoted here"
    else:
        message = (
            f"the cell quoted here ends with text after its closing quote, {spans} line(s)"
            " later: is a quote missing or unclosed?"
        )
    message += '; close it, and write a quote inside a quoted cell as ""'
    return Diagnostic(SourceRef(rel, at_line, col), "", message, "csv-syntax")


def _open_quote(raw: str) -> tuple[int, int | None] | None:
    """Offset of the quote opening the record's last quoted cell, and of its closing quote."""
    opened: int | None = None
    closed: int | None = None
    quoted = False
    at_cell_start = True
    for i, ch in enumerate(raw):
        if quoted:
            if ch == '"':
                if raw.startswith('"', i + 1):
                    continue  # handled as the pair's second half below
                quoted, closed = False, i
            continue
        if ch == '"' and at_cell_start:
            quoted, opened, closed = True, i, None
        at_cell_start = ch == ","
    return None if opened is None else (opened, closed)


def _cell_starts(rel: str, raw: str, line: int) -> list[SourceRef]:
    """Where each cell of one CSV record starts, quotes and line breaks in cells included.

    As the csv module reads them: a quote opens a quoted cell only as the cell's first
    character (elsewhere it is text), and inside one a doubled quote is a quote.
    """
    starts = [SourceRef(rel, line, 1)]
    text = raw.rstrip("\r\n")
    col, i = 1, 0
    quoted, fresh = False, True  # fresh: at the first character of a cell
    while i < len(text):
        ch = text[i]
        separator = False
        if quoted and ch == '"':
            if text[i + 1 : i + 2] == '"':  # an escaped quote: the cell goes on
                i, col = i + 1, col + 1
            else:
                quoted = False
        elif not quoted and ch == '"' and fresh:
            quoted = True
        elif not quoted and ch == ",":
            starts.append(SourceRef(rel, line, col + 1))
            separator = True
        fresh = separator
        if ch == "\n":
            line, col = line + 1, 1
        else:
            col += 1
        i += 1
    return starts


def _nth(starts: list[SourceRef], n: int) -> SourceRef:
    """Cell `n`'s start, or the last one found when the record has fewer."""
    return starts[min(n, len(starts) - 1)]


@dataclass(frozen=True)
class Reader:
    """One kind of source file: the suffixes it claims and how it is parsed."""

    file_extensions: tuple[str, ...]
    parse: Callable[[str, str, Diagnostics], Document | None]
    # Every value is read as text (CSV): the loader turns numeric fields into numbers.
    text_only: bool = False
    # What a field is called in this format, for messages ("unknown column 'vlaue'").
    field_word: str = "key"
    # The largest result file of this format that is read (the limit).
    max_bytes: int = MAX_YAML_BYTES


READERS: tuple[Reader, ...] = (
    Reader((".yaml", ".yml"), parse_yaml),
    Reader((".json",), parse_json, max_bytes=MAX_JSON_BYTES),
    Reader((".csv",), parse_csv, text_only=True, field_word="column", max_bytes=MAX_CSV_BYTES),
)
_BY_SUFFIX = {suffix: reader for reader in READERS for suffix in reader.file_extensions}
SUFFIXES: tuple[str, ...] = tuple(sorted(_BY_SUFFIX))


def reader_for(path: str) -> Reader | None:
    """The reader of a file, chosen by its suffix (in any case), or None."""
    return _BY_SUFFIX.get(Path(path).suffix.lower())
