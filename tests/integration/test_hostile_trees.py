"""Property: whatever a pull request does to a valid tree, a build ends well.

Hypothesis writes a valid tree (from tests/factory.py), applies one to three
mutations (types, keys, encodings, numbers, dates, references, links, sizes,
depths, raw bytes) and builds it into a copy of the previous site. Whatever the
mutation, the build returns (no exception: the command would print "internal
error"), every error is located at a file of the tree, nothing outside `--out`
changes, no byte of a file outside the tree reaches a message or the site, and a
failed build leaves the previous site byte-identical.

The default run tries a few dozen trees; `pytest -m hostile` tries 5,000.
Hypothesis shrinks a failure to its smallest tree and prints the seed to
reproduce it (`--hypothesis-seed`).
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from factory import ab, charter_data, ml_metric, row
from helpers import standby
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from generator.build import BuildResult, Settings, build
from generator.outputs import RESULT_COLUMNS

TODAY = date(2026, 6, 1)
SECRET = "SECRET-FROM-OUTSIDE-THE-TREE"
Tree = dict[str, Any]
Mutation = Callable[[Path, Path], None]  # (source root, folder outside the tree)


def base_tree() -> Tree:
    """The valid tree every example starts from: two charters, results, a linked file."""
    alpha = charter_data(
        ml_metrics=[ml_metric()],
        links=[{"title": "Notes", "url": "notes.txt"}],
        mde={"metric": "conv", "absolute": 1.0},
    )
    rows = [
        *ab("2026-05-04", "conv", 10.0, 10.5, n=4000),
        *ab("2026-05-11", "conv", 10.1, 10.9, n=4100),
        row("2026-05-04", "prec", 0.71),
        row("2026-05-11", "prec", 0.74, lower=0.7, upper=0.78),
    ]
    beta = charter_data(status="proposed", human_baseline=None)
    return {"site": {"title": "Hostile"}, "alpha": alpha, "rows": rows, "beta": beta}


def write_tree(root: Path, tree: Tree) -> None:
    (root / "site.yaml").write_text(yaml.safe_dump(tree["site"]), encoding="utf-8")
    for cid in ("alpha", "beta"):
        folder = root / "charters" / cid
        folder.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(tree[cid], sort_keys=False, allow_unicode=True)
        (folder / "charter.yaml").write_text(text, encoding="utf-8")
    alpha = root / "charters" / "alpha"
    (alpha / "notes.txt").write_text("Plain notes.\n", encoding="utf-8")
    (alpha / "results").mkdir(exist_ok=True)
    buffer = io.StringIO()
    columns = list(dict.fromkeys([*RESULT_COLUMNS, *(k for r in tree["rows"] for k in r)]))
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(tree["rows"])
    (alpha / "results" / "results.csv").write_text(buffer.getvalue(), encoding="utf-8")
    (root / "templates" / "static").mkdir(parents=True, exist_ok=True)
    (root / "templates" / "static" / "extra.css").write_text("p {}\n", encoding="utf-8")


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry under `folder`: a file's SHA-256, a link's target, a folder's mark."""
    out: dict[str, str] = {}
    if not folder.exists() and not folder.is_symlink():
        return out
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            rel = path.relative_to(folder).as_posix()
            if path.is_symlink():
                out[rel] = "link:" + os.readlink(path)
            elif path.is_dir():
                out[rel] = "dir"
            elif path.is_file():
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                out[rel] = "special"
    return out


# --- mutations of the data, before it is written ---------------------------------------

INTERESTING: list[Any] = [
    "0026-05-11", "9999-12-31", "2026-13-45", "2026-05-04T10:00:00", "1:30", "0x1F", "017",
    "1e6", "1_000", "no", "yes", "~", "", " ", "-", "=HYPERLINK(\"http://x\")", "@SUM(A1)",
    "<script>alert(1)</script>", "../../etc/passwd", "/etc/passwd", "javascript:alert(1)",
    "x" * 5000, "\u202e\u0000\x1b[31m", "🙂" * 50, 1e200, -1e300, 1.7e308, 5e-324, 10**400,
    -(10**20), 0, -1, 2**63, float("nan"), float("inf"), True, None, [], {}, [1, [2, [3]]],
]  # fmt: skip

values = st.deferred(lambda: _values).map(copy.deepcopy)
_values = st.one_of(
    st.sampled_from(INTERESTING),
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=40),
    st.dates().map(date.isoformat),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=8), st.integers(), max_size=2),
)


def paths(data: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value in nested dicts and lists."""
    if prefix:
        yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from paths(value, (*prefix, i))


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


@st.composite
def data_mutation(draw: st.DrawFn, tree: Tree) -> str:
    """Change the tree's data: a value's type, a key, a reference, a result cell."""
    kind = draw(st.sampled_from(["set", "drop", "add-key", "cell", "reference", "rows"]))
    target = draw(st.sampled_from(["alpha", "beta", "site"]))
    data = tree[target]
    if kind == "cell" or (kind == "rows" and target == "alpha"):
        if kind == "rows":
            count = draw(st.integers(0, 3000))
            tree["rows"] = [
                row(f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}", "prec", 0.5 + i % 7 / 10)
                for i in range(count)
            ]
            return f"rows={count}"
        if not tree["rows"]:
            return "no rows"
        index = draw(st.integers(0, len(tree["rows"]) - 1))
        column = draw(st.sampled_from([*RESULT_COLUMNS, "extra"]))
        value = draw(values)
        tree["rows"][index][column] = value if not isinstance(value, (list, dict)) else str(value)
        return f"cell {index}.{column}={value!r:.60}"
    if kind == "reference":
        mid = draw(st.sampled_from(["conv", "prec", "nope", "", "CONV", "x" * 70]))
        alpha = tree["alpha"]
        which = draw(st.sampled_from(["drives", "mde"]))
        # An earlier mutation may have replaced the block the reference sits in.
        ml = alpha.get("ml_metrics")
        plan = alpha.get("measurement")
        mde = plan.get("minimum_detectable_effect") if isinstance(plan, dict) else None
        if which == "drives" and isinstance(ml, list) and ml and isinstance(ml[0], dict):
            ml[0]["drives"] = [mid]
        elif which == "mde" and isinstance(mde, dict):
            mde["metric"] = mid
        else:
            return f"no {which} to change"
        return f"{which}={mid!r:.40}"
    every = list(paths(data))
    if kind == "add-key" or not every:
        key = draw(st.one_of(st.text(max_size=12), st.sampled_from(["x-ok", "titel", "<<"])))
        data[key] = draw(values)
        return f"{target}: add {key!r:.40}"
    path = draw(st.sampled_from(every))
    parent = _parent(data, path)
    if kind == "drop":
        del parent[path[-1]]
        return f"{target}: drop {path}"
    parent[path[-1]] = draw(values)
    return f"{target}: set {path}"


# --- mutations of the files, after they are written ------------------------------------

FILES = [
    "site.yaml",
    "charters/alpha/charter.yaml",
    "charters/beta/charter.yaml",
    "charters/alpha/results/results.csv",
]
LINKABLE = [
    *FILES,
    "charters/alpha",
    "charters/alpha/notes.txt",
    "charters/alpha/results",
    "templates",
    "templates/static",
    "templates/static/extra.css",
    "templates/index.html",
    "charters",
]
LITERALS = [
    "1:30", "0x1F", "017", "1e6", "1_000", ".inf", "-.nan", "9" * 400, "-1.7e308", "1e400",
    "0026-05-11", "2199-12-31", "!!python/object/apply:os.system ['id']", "*undefined",
    "&a [*a]", "!!binary aGk=", "{", "'", '"', "|\n  x", "? [a, b]\n: c",
]  # fmt: skip
DEEP = ["[" * 500 + "]" * 500, "{a: " * 200 + "1" + "}" * 200]


def _bomb() -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    return "\n".join(lines) + "\n"


@st.composite
def file_mutation(draw: st.DrawFn) -> tuple[str, Mutation]:
    kind = draw(
        st.sampled_from(
            ["bytes", "insert", "truncate", "encoding", "literal", "link", "size", "depth", "kind"]
        )
    )
    rel = draw(st.sampled_from(FILES))
    if kind == "link":
        rel = draw(st.sampled_from(LINKABLE))
        return f"link {rel}", lambda root, outside: _link_out(root / rel, outside)
    if kind == "bytes":
        blob = draw(st.binary(min_size=1, max_size=8))
        where = draw(st.floats(0, 1))
        return f"bytes {rel} {blob!r}", lambda root, _: _splice(root / rel, where, blob)
    if kind == "insert":
        text = draw(st.text(alphabet=",\"'\n\r\t:-[]{}&*!|>#%@`\\ a1.", max_size=6))
        where = draw(st.floats(0, 1))
        return f"insert {rel} {text!r}", lambda root, _: _splice(root / rel, where, text.encode())
    if kind == "truncate":
        where = draw(st.floats(0, 1))
        return f"truncate {rel} {where}", lambda root, _: _truncate(root / rel, where)
    if kind == "encoding":
        encoding = draw(st.sampled_from(["utf-16", "latin-1", "utf-8-sig", "cp1252", "utf-32"]))
        return f"encode {rel} {encoding}", lambda root, _: _reencode(root / rel, encoding)
    if kind == "literal":
        literal = draw(st.sampled_from(LITERALS))
        return f"literal {rel} {literal!r:.40}", lambda root, _: _literal(root / rel, literal)
    if kind == "size":
        what = draw(st.sampled_from(["bomb", "long", "huge", "many-keys"]))
        return f"size {rel} {what}", lambda root, _: _size(root / rel, what)
    if kind == "depth":
        deep = draw(st.sampled_from(DEEP))
        suffix = draw(st.sampled_from(["yaml", "json", "charter"]))
        return f"depth {suffix}", lambda root, _: _depth(root, suffix, deep)
    other = draw(st.sampled_from(["folder", "fifo", "empty", "json", "yaml", "pattern"]))
    pattern = draw(st.sampled_from(["results", ".", "results/", "../beta/*", "**", "/"]))
    value = draw(values)
    return f"kind {rel} {other}", lambda root, _: _kind(root, rel, other, pattern, value)


def _link_out(path: Path, outside: Path) -> None:
    target = outside if path.suffix == "" else outside / "secret.txt"
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


def _splice(path: Path, where: float, blob: bytes) -> None:
    if not path.is_file():
        return
    data = path.read_bytes()
    at = int(len(data) * where)
    path.write_bytes(data[:at] + blob + data[at:])


def _truncate(path: Path, where: float) -> None:
    if path.is_file():
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * where)])


def _reencode(path: Path, encoding: str) -> None:
    if path.is_file():
        text = path.read_text(encoding="utf-8", errors="replace") + "note: Ünïcødé ☃\n"
        path.write_bytes(text.encode(encoding, errors="replace"))


def _literal(path: Path, literal: str) -> None:
    if not path.is_file():
        return
    text = path.read_text(encoding="utf-8", errors="replace")
    for marker in ("value: ", "on: ", "title: ", ",10.", ",2026-05-04,"):
        if marker in text:
            index = text.index(marker) + len(marker)
            ends = [i for i in (text.find(c, index) for c in "\n,") if i >= 0]
            end = min(ends, default=len(text))  # a file cut short may end inside the value
            path.write_text(text[:index] + literal + text[end:], encoding="utf-8")
            return


def _size(path: Path, what: str) -> None:
    if not path.is_file():
        return
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".csv":
        extra = {
            "bomb": '2026-05-04,prec,,"' + "x" * 200_000 + '",,,,,\n',
            "long": "2026-05-04,prec,," + "1" * 5000 + ",,,,,\n",
            "huge": "2026-05-04,prec,,0.5,,,,,\n" * 20_000,
            "many-keys": "",
        }[what]
        path.write_text(text + extra, encoding="utf-8")
        return
    extra = {
        "bomb": "x-bomb:\n  " + _bomb().replace("\n", "\n  "),
        "long": "x-long: " + "y" * 300_000 + "\n",
        "huge": "x-huge: " + "z" * 1_100_000 + "\n",
        "many-keys": "".join(f"x-k{i}: {i}\n" for i in range(20_000)),
    }[what]
    path.write_text(text + extra, encoding="utf-8")


def _depth(root: Path, suffix: str, deep: str) -> None:
    if suffix == "charter":
        path = root / "charters" / "beta" / "charter.yaml"
        if not path.is_file():
            return
        path.write_text(
            path.read_text(encoding="utf-8", errors="replace") + "x-deep: " + deep + "\n"
        )
        return
    results = root / "charters" / "alpha" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / f"deep.{suffix}").write_text(deep, encoding="utf-8")


def _kind(root: Path, rel: str, other: str, pattern: str, value: Any) -> None:
    path = root / rel
    if other in ("folder", "fifo", "empty"):
        if not path.parent.is_dir():
            return
        if path.is_dir() and not path.is_symlink():
            return
        if path.exists() or path.is_symlink():
            path.unlink()
        if other == "folder":
            path.mkdir()
        elif other == "fifo":
            os.mkfifo(path)
        else:
            path.write_bytes(b"")
        return
    results = root / "charters" / "alpha" / "results"
    if other == "pattern":
        charter = root / "charters" / "alpha" / "charter.yaml"
        if charter.is_file() and not charter.is_symlink():
            text = charter.read_text(encoding="utf-8", errors="replace")
            charter.write_text(text + f"results: [{json.dumps(pattern)}]\n", encoding="utf-8")
        return
    if not results.is_dir() or results.is_symlink():
        return
    rows = [{"date": "2026-05-18", "metric": "prec", "value": value}]
    text = json.dumps(rows, default=str) if other == "json" else yaml.safe_dump(rows)
    (results / f"more.{other}").write_text(text, encoding="utf-8")


# --- the property ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def previous_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The base tree built once: every example builds over a copy of this site."""
    base = tmp_path_factory.mktemp("previous")
    source = base / "source"
    source.mkdir()
    write_tree(source, base_tree())
    out = base / "site"
    result = build(Settings(source=source, out=out, today=TODAY))
    assert result.ok, [d.format_text() for d in result.diagnostics]
    return out, snapshot(out)


def _located(result: BuildResult, root: Path) -> None:
    for d in result.diagnostics:
        text = d.format_text()
        assert SECRET not in text, text
        assert d.ref.path and not Path(d.ref.path).is_absolute(), text
        assert not d.ref.path.startswith(".."), text
        first = d.ref.path.split("/")[0]
        assert first in ("site.yaml", "charters", "templates"), text
        assert len(text) < 2000, text


Case = tuple[Tree, list[tuple[str, Mutation]], list[str]]


def check_tree(previous: tuple[Path, dict[str, str]], case: Case) -> None:
    """Build the mutated tree over a copy of the previous site and check the property."""
    tree, file_mutations, _ = case
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        source, outside, out = base / "source", base / "outside", base / "site"
        outside.mkdir()
        (outside / "secret.txt").write_text(SECRET + "\n", encoding="utf-8")
        (outside / "charter.yaml").write_text(f"title: {SECRET}\n", encoding="utf-8")
        (outside / "index.html").write_text(f"<p>{SECRET}</p>", encoding="utf-8")
        source.mkdir()
        write_tree(source, tree)
        for _, apply in file_mutations:
            apply(source, outside)
        shutil.copytree(previous[0], out, symlinks=True)
        before_source, before_outside = snapshot(source), snapshot(outside)
        beside = sorted(p.name for p in base.iterdir())
        result = build(Settings(source=source, out=out, today=TODAY))
        event("built" if result.ok else "refused with located errors")
        _located(result, source)
        # The source changes only by the build cache, and no secret reaches that either.
        after_source = snapshot(source)
        cache = {k for k in after_source if k.split("/")[0] == ".charters-cache"}
        assert {k: v for k, v in after_source.items() if k not in cache} == before_source
        for rel in cache:
            if not after_source[rel].startswith(("dir", "link:")):
                assert SECRET.encode() not in (source / rel).read_bytes(), rel
        assert snapshot(outside) == before_outside
        # Only the output's lock file may appear beside it (docs/security.md: it stays),
        # and the standby it records (the previous site, kept for the next build).
        kept = {".site.lock", standby(out)}
        assert sorted(p.name for p in base.iterdir() if p.name not in kept) == beside
        if not result.ok:
            assert snapshot(out) == previous[1]
        else:
            for path in out.rglob("*"):
                if path.is_file():
                    assert SECRET.encode() not in path.read_bytes(), path


@st.composite
def hostile_tree(draw: st.DrawFn) -> Case:
    tree = copy.deepcopy(base_tree())  # the factory shares some lists between calls
    edits = [draw(data_mutation(tree)) for _ in range(draw(st.integers(0, 2)))]
    files = draw(st.lists(file_mutation(), min_size=0, max_size=2))
    if not edits and not files:
        files = [draw(file_mutation())]
    return tree, files, edits


COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    "derandomize": False,
}


@settings(max_examples=40, **COMMON)  # type: ignore[arg-type]
@given(case=hostile_tree())
def test_a_mutated_tree_builds_or_fails_cleanly(
    previous_site: tuple[Path, dict[str, str]], case: Case
) -> None:
    check_tree(previous_site, case)


@pytest.mark.hostile
@settings(max_examples=5000, **COMMON)  # type: ignore[arg-type]
@given(case=hostile_tree())
def test_5000_mutated_trees_build_or_fail_cleanly(
    previous_site: tuple[Path, dict[str, str]], case: Case
) -> None:
    check_tree(previous_site, case)
