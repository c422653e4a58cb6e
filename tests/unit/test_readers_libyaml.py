"""YAML read by libyaml (the C parser) and by pure-Python PyYAML gives the same documents.

The loader composes YAML with libyaml when it is installed and falls back to PyYAML's
Python parser where the two could differ. These tests hold both paths to the same
values, positions, scalar spellings and messages: on the shipped examples, on inputs
written to find their differences, and on generated ones.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest
import yaml
from helpers import REPO_ROOT, ScratchProject
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator import readers
from generator.diagnostics import Diagnostics

IN_CI = os.environ.get("CI") == "true"
needs_libyaml = pytest.mark.skipif(
    not yaml.__with_libyaml__ and not IN_CI,
    reason="PyYAML was built without libyaml (in CI this is a failure)",
)

EXAMPLES = sorted(
    [
        *(REPO_ROOT / "charters").glob("**/*.yaml"),
        REPO_ROOT / "site.yaml",
        REPO_ROOT / "metrics.yaml",
    ]
)


def parsed(text: str, libyaml: bool) -> tuple[str | None, list[str]]:
    """Everything a reader hands on: data, every position, scalar spellings, messages.

    As text (`repr`), so that NaN equals NaN and types count (1 is not 1.0 or True).
    """
    diags = Diagnostics()
    doc = readers.parse_yaml(text, "f.yaml", diags, libyaml=libyaml)
    messages = [d.format_text() for d in diags]
    if doc is None:
        return None, messages
    return repr((doc.data, doc.positions, doc.key_positions, doc.scalars)), messages


def test_ci_reads_yaml_with_libyaml() -> None:
    """CI must run the C path the site is built with, not quietly the Python one."""
    if not IN_CI and not yaml.__with_libyaml__:
        pytest.skip("PyYAML was built without libyaml (in CI this is a failure)")
    assert yaml.__with_libyaml__, "PyYAML has no libyaml: install a build of PyYAML with it"
    assert readers.LIBYAML


@needs_libyaml
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_examples_are_read_by_libyaml_exactly_as_by_pyyaml(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = path.read_text(encoding="utf-8")
    python = parsed(text, libyaml=False)

    def no_fallback(*_args: object) -> None:
        raise AssertionError(f"{path.name} was composed in Python, not by libyaml")

    monkeypatch.setattr(readers, "_compose_python", no_fallback)
    c = parsed(text, libyaml=True)
    assert python[1] == [] and python[0] is not None
    assert c == python


def _bomb() -> str:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n")
    return "".join(lines)


def _nested(depth: int, inner: str) -> str:
    return "x: &x 1\ny: " + "[" * depth + inner + "]" * depth + "\n"


# Inputs where libyaml and PyYAML differ, or could: each must read the same either way.
TRICKY = {
    "tab after colon": "a:\tb\n",
    "tab in indentation": "a:\n\t- b\n",
    "no final line break, empty value": "a: 1\nb:",
    "no final line break, explicit key": "? ",
    "byte-order mark inside": "a: 1\n\ufeffb: 2\n",
    "byte-order mark after document end": "a\n...\n\ufeff\n",
    "comment straight after block indicator": "a: >#note\n  text\n",
    "comment after chomping indicator": "a: |-#note\n  text\n",
    "question mark in flow scalar": "a: [why?, b]\n",
    "question mark in flow key": "{a?b: 1}\n",
    "question mark on next line in flow": "[a\n? ]\n",
    "empty value in flow mapping": "a: {b: }\n",
    "empty value in flow sequence pair": "[a: , b]\n",
    "empty key in flow": "- [? ]\n",
    "tag ! on empty": "a: !\nb: 1\n",
    "tag ! on number": "a: ! 12\n",
    "tag ! on quoted": "a: ! '12'\n",
    "unknown tag": "a: !foo 1\n",
    "tag PyYAML cannot scan": "a: !*a! b\n",
    "verbatim tag": "a: !<tag:yaml.org,2002:str> 12\n",
    "bool tag on text": "a: !!bool maybe\n",
    "int tag on text": "a: !!int ten\n",
    "merge key": "a: &a {x: 1}\nb:\n  <<: *a\n",
    "recursive alias": "a: &a [*a]\n",
    "undefined alias": "a: *nowhere\n",
    "duplicate anchor": "a: &x 1\nb: &x 2\n",
    "duplicate key": "a: 1\nb: 2\na: 3\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "no document": "# nothing\n",
    "syntax error": "a: [1, 2\n",
    "bad indentation": "a:\n  b: 1\n c: 2\n",
    "control character": "a: \x07\n",
    "next line character": "a: b\x85c: d\n",
    "line separator": "a: b\u2028c: d\n",
    "carriage returns": "a: 1\rb: 2\r\nc: |\r\n  x\r\n",
    "non-ASCII before an error": "é: [ü, 2, x: y\n",
    "astral characters": "\U0001f600: [\U0001f600, 1]\n",
    "YAML 1.1 numbers": "a: [017, 1:30, 0x1F, 1_000, 1e6, .5, +1, -.inf, .NaN, 0o17]\n",
    "booleans and nulls": "a: [yes, no, on, off, ~, null, Null, '', true]\n",
    "dates": "a: [2026-05-11, 2026-13-45, 2026-05-11T10:00:00Z, 0026-05-11]\n",
    "long number": "a: " + "9" * 4200 + "\n",
    "block scalars": "a: |+\n  x\n\nb: >-\n  y\n  z\nc: |2\n   w\n",
    "quoted escapes": "a: \"\\x41\\u00e9\\/\\n\\e\"\nb: 'it''s'\n",
    "multi-line plain in flow": "a: [one\n  two, three]\n",
    "anchored key": "&k a: 1\n*k : 2\n",
    "complex key": "? [a, b]\n: 1\n",
    "nested 62 deep with alias": _nested(62, "*x"),
    "nested 63 deep with alias": _nested(63, "*x"),
    "nested 64 deep with alias": _nested(64, "*x"),
    "nested 63 deep": _nested(63, "1"),
    "nested 64 deep": _nested(64, "1"),
    "nested 500 deep": "[" * 500 + "]" * 500 + "\n",
    "alias bomb": _bomb(),
    "directive": "%YAML 1.1\n---\na: 1\n",
    "YAML 1.2 directive": "%YAML 1.2\n---\na: 1\n",
}


@needs_libyaml
@pytest.mark.parametrize("text", list(TRICKY.values()), ids=list(TRICKY))
def test_tricky_input_reads_the_same_with_and_without_libyaml(text: str) -> None:
    assert parsed(text, libyaml=True) == parsed(text, libyaml=False)


_TOKENS = [
    *("a", "b", "1", "0x1F", "1:30", "no", "2026-01-02", ".inf", "~", "é", "\U0001f600"),
    *(":", ": ", " ", "  ", "\n", "\n  ", "\n    ", "- ", "? ", ",", ", ", "#", " #c"),
    *("[", "]", "{", "}", "'", '"', "\\", "|", ">", "|-\n  x\n", ">+\n  y\n\n"),
    *("&a ", "*a", "&b ", "*b", "!x ", "!!str ", "! ", "!", "?", "-", "<<: "),
    *("\t", "\r", "\r\n", "\x85", "\u2028", "\ufeff", "---\n", "...\n", "%YAML 1.1\n"),
    *("\\n", "\\x41", "\\/", "'it''s'", "x" * 30),
]


@st.composite
def yaml_texts(draw: st.DrawFn) -> str:
    """Text near YAML: well-formed documents in every style, then edited at random."""
    tokens = st.sampled_from(_TOKENS)
    if draw(st.booleans()):
        return "".join(draw(st.lists(tokens, min_size=1, max_size=40)))
    leaves = st.sampled_from(["a b", "1", 2, 3.5, None, True, "no", "x:y", "é", "", "- a", "#x"])
    keys = st.sampled_from(["k", "title", "a b", "1", "é", "?"])
    value = st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
        max_leaves=20,
    )
    text = yaml.dump(
        draw(value),
        default_flow_style=draw(st.sampled_from([None, True, False])),
        default_style=draw(st.sampled_from([None, "'", '"', "|"])),
        allow_unicode=True,
        width=draw(st.sampled_from([20, 80])),
    )
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 2))
        text = text[:at] + draw(tokens | st.just("")) + text[at + cut :]
    return text


@needs_libyaml
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(yaml_texts())
def test_generated_yaml_reads_the_same_with_and_without_libyaml(text: str) -> None:
    assert parsed(text, libyaml=True) == parsed(text, libyaml=False)


@needs_libyaml
def test_random_edits_of_an_example_read_the_same() -> None:
    """Two hundred one-character edits of a real charter, from a fixed seed."""
    text = (REPO_ROOT / "charters/search-ranking/charter.yaml").read_text(encoding="utf-8")
    rng = random.Random(10)
    for _ in range(200):
        at = rng.randrange(len(text))
        edited = text[:at] + rng.choice(_TOKENS) + text[at + rng.randint(0, 1) :]
        assert parsed(edited, libyaml=True) == parsed(edited, libyaml=False), repr(edited)


@needs_libyaml
@pytest.mark.parametrize("libyaml", [True, False], ids=["libyaml", "python"])
def test_an_alias_bomb_is_stopped_at_the_limit_on_either_path(libyaml: bool) -> None:
    bomb = _bomb()
    assert len(bomb) < 1024
    started = time.monotonic()
    data, messages = parsed(bomb, libyaml)
    assert time.monotonic() - started < 5
    assert data is None
    assert messages == [
        "f.yaml:5:1: YAML aliases expand to more than 10000 values beyond those written"
        " (the limit), reached in 'e'"
    ]


def test_a_bool_tag_on_text_is_a_located_error_not_an_internal_error(
    scratch_project: ScratchProject,
) -> None:
    # PyYAML's own constructor ends in KeyError on this; the loader keeps the text.
    scratch_project.charter("routing", status="!!bool maybe")
    (error,) = scratch_project.errors()
    assert error.startswith("charters/routing/charter.yaml:3:9: status: the text 'maybe'")


def test_count_nodes_counts_what_is_written_and_each_alias_once() -> None:
    loader = readers._Loader("a: &x [1, 2, 3]\nb: [*x, *x]\n")
    try:
        root = loader.get_single_node()
    finally:
        loader.dispose()
    assert root is not None
    # root, 2 keys, 2 sequences, 3 numbers, 2 aliases
    assert readers.count_nodes(root) == 10


# libyaml takes `{a?b: 1}`; PyYAML calls it a syntax error.
HIDDEN = "{a?b: 1}"


@needs_libyaml
@pytest.mark.parametrize(
    "text",
    [
        _bomb() + f"z: {HIDDEN}\n",
        f"a: 1\na: {HIDDEN}\n",
        f"? [k]\n: {HIDDEN}\n",
        f"<<: {HIDDEN}\n",
    ],
    ids=["after an alias bomb", "duplicate key", "collection key", "merge key"],
)
def test_an_error_hides_nothing_pyyaml_would_refuse(text: str) -> None:
    """The builder stops, or skips a value, at an error: PyYAML still reads the rest."""
    with_c, python = parsed(text, libyaml=True), parsed(text, libyaml=False)
    assert with_c == python
    assert any("YAML syntax error" in message for message in python[1]), python
