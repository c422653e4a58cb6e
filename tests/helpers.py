"""Helpers shared by the tests: the minimal charter, positions, scratch trees, HTML parsing.

Kept out of conftest.py so test modules can import them (`from helpers import at`).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result

from generator.build import BuildResult, Settings, build
from generator.cli import main
from generator.load import load_project

REPO_ROOT = Path(__file__).resolve().parents[1]
# The date the shipped examples are built and checked as of in the tests: four of them
# are overdue by then (their newest weekly results are from October and November).
EXAMPLES_DAY = "2026-12-06"

# --- the minimal valid charter ---------------------------------------------------------
# Each value is the YAML text that follows "key:"; a value starting with a newline is a
# block. The layout is fixed, so line numbers of the default text are stable:
#
#    1 title / 2 summary / 3 status / 4-5 owner / 6-7 objective / 8-15 business_metrics
#   16-18 measurement / 19-20 human_baseline
MINIMAL_BLOCKS: dict[str, str] = {
    "title": " Ticket routing",
    "summary": " Route tickets to the right queue.",
    "status": " live",
    "owner": "\n  name: Ana Ruiz",
    "objective": "\n  statement: Customers get a first answer sooner.",
    "business_metrics": (
        "\n  - id: ttfr"
        "\n    name: Time to first response"
        "\n    definition: Median hours to first reply."
        "\n    unit: hours"
        "\n    direction: decrease"
        "\n    baseline: {value: 6.2}"
        "\n    target: {value: 4.5}"
    ),
    "measurement": "\n  method: ab_test\n  population: All tickets.",
    "human_baseline": "\n  waived: Nobody can route every ticket by hand at this volume.",
}


def _dump_value(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=False, sort_keys=False, allow_unicode=True)
    if isinstance(value, (dict, list)):
        return "\n" + "\n".join("  " + line for line in text.rstrip("\n").splitlines())
    # A scalar: safe_dump ends it with a document-end marker ("...") for plain scalars.
    return " " + text.split("\n...")[0].rstrip("\n")


def minimal_charter(**overrides: Any) -> str:
    """The YAML text of a valid charter, with top-level blocks replaced.

    A `str` override is raw YAML written after `key:` (so `status="no"` writes the
    unquoted YAML `status: no`; start it with a newline for a block); `None` drops the
    key; any other value (dict, list, number) is dumped as YAML. New keys go last.
    """
    blocks = dict(MINIMAL_BLOCKS)
    for key, value in overrides.items():
        if value is None:
            blocks.pop(key, None)
        elif isinstance(value, str):
            blocks[key] = value if value.startswith("\n") else " " + value
        else:
            blocks[key] = _dump_value(value)
    return "".join(f"{key}:{value}\n" for key, value in blocks.items())


def at(text: str, before: str, token: str = "") -> str:
    """`line:col` of `token` where it first follows `before` in `text` (1-based).

    `at(text, "status: ", "no")` is the position of the `no` in `status: no`.
    """
    index = text.index(before + token) + len(before)
    line = text.count("\n", 0, index) + 1
    col = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"{line}:{col}"


# --- scratch projects ------------------------------------------------------------------


class ScratchProject:
    """A source tree in a temporary folder, plus ways to load and build it."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, rel: str, text: str | bytes) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    def charter(self, cid: str = "routing", text: str | None = None, **overrides: Any) -> str:
        """Write charters/<cid>/charter.yaml (the minimal charter unless `text`); return it."""
        body = text if text is not None else minimal_charter(**overrides)
        self.write(f"charters/{cid}/charter.yaml", body)
        return body

    minimal_charter = staticmethod(minimal_charter)

    def errors(self) -> list[str]:
        """Every diagnostic of loading the tree, formatted as the command prints them."""
        _, diags = load_project(self.root)
        return [d.format_text() for d in diags.sorted()]

    def build(self, out: Path | None = None) -> BuildResult:
        return build(Settings(source=self.root, out=out or self.out))

    @property
    def out(self) -> Path:
        return self.root.parent / f"{self.root.name}-site"


# --- right-to-left text ---------------------------------------------------------------

RTL_TITLE = "ניתוב פניות (v2)!"
RTL_METRIC = "זמן תגובה ראשונה"
RTL_NOTE = "שבוע ראשון"
RTL_RESULTS = (
    f"date,metric,variant,value,lower,upper,n,std,note\n2026-05-04,ttfr,,4.0,,,,,{RTL_NOTE}\n"
)


def right_to_left_site(project: ScratchProject) -> Path:
    """A charter written in Hebrew (title, team, objective, a metric's name, a note),
    built; the site's folder."""
    text = minimal_charter(
        title=f'"{RTL_TITLE}"',
        team="צוות <b>תמיכה</b>",
        objective="\n  statement: לקוחות מקבלים תשובה מהר יותר.",
    ).replace("Time to first response", RTL_METRIC)
    project.charter("routing", text=text)
    project.write("charters/routing/results/r.csv", RTL_RESULTS)
    result = project.build()
    assert result.ok, [d.format_text() for d in result.diagnostics]
    return project.out


def copy_examples(dest: Path) -> Path:
    """The example charters, site.yaml and metrics.yaml in `dest`, a source folder."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO_ROOT / "charters", dest / "charters")
    shutil.copy2(REPO_ROOT / "site.yaml", dest / "site.yaml")
    shutil.copy2(REPO_ROOT / "metrics.yaml", dest / "metrics.yaml")
    return dest


def run_cli(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


# --- a tiny HTML tree ------------------------------------------------------------------

VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
}  # fmt: skip
BLOCK = {
    "address", "article", "aside", "blockquote", "br", "dd", "details", "div", "dl", "dt",
    "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
    "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "ul",
}  # fmt: skip


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    parent: Element | None = None
    children: list[Element | str] = field(default_factory=list)

    def text(self) -> str:
        """Text of the element and its descendants as read: whitespace collapsed, blocks apart."""
        parts: list[str] = []

        def walk(node: Element) -> None:
            for child in node.children:
                if isinstance(child, str):
                    parts.append(child)
                else:
                    block = child.tag in BLOCK
                    parts.append(" " if block else "")
                    walk(child)
                    parts.append(" " if block else "")

        walk(self)
        return " ".join("".join(parts).split())

    def iter(self) -> Iterator[Element]:
        for child in self.children:
            if isinstance(child, Element):
                yield child
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        """Descendants by tag and attributes; `class_="x"` matches one class of several."""
        found = []
        for el in self.iter():
            if tag is not None and el.tag != tag:
                continue
            ok = True
            for name, want in attrs.items():
                if name == "class_":
                    ok = ok and want in (el.attrs.get("class") or "").split()
                else:
                    ok = ok and el.attrs.get(name) == want
            if ok:
                found.append(el)
        return found

    def find(self, tag: str | None = None, **attrs: str) -> Element:
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag or '*'}> with {attrs} in <{self.tag}>"
        return found[0]

    def ancestors(self) -> Iterator[Element]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = Element(tag, dict(attrs), self.stack[-1])
        self.stack[-1].children.append(el)
        if tag not in VOID:
            self.stack.append(el)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Element(tag, dict(attrs), self.stack[-1]))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse_html(source: str | Path) -> Element:
    """Parse an HTML string or file into an `Element` tree (the document root)."""
    text = source.read_text(encoding="utf-8") if isinstance(source, Path) else source
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


@dataclass(frozen=True)
class ExamplesBuild:
    """The shipped examples built into `out` from a copy at `source`."""

    source: Path
    out: Path
    stdout: str


def serious_axe_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page in `page` (Playwright), each
    as "rule (impact): help — first targets"; run after `require_tool("axe_core_python")`."""
    from axe_core_python.base import AXE_SCRIPT

    page.evaluate(AXE_SCRIPT)  # evaluated by the browser's debugger API, so CSP allows it
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(n["target"][0] for n in v["nodes"][:5])
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def standby(out: Path) -> str | None:
    """The folder the lock file names as the standby (the site before last, kept for the
    next build to bring up to date: generator/write.py), when it is there."""
    try:
        name = json.loads((out.parent / f".{out.name}.lock").read_text()).get("standby")
    except (OSError, ValueError):
        return None
    return name if isinstance(name, str) and (out.parent / name).is_dir() else None


NOBODY = 65534  # the uid and gid of `nobody` on Debian


def as_nobody(work: Callable[[], object]) -> Any:
    """What `work` returns (as JSON), computed in a child process switched to the user
    nobody, whom permissions bind (root reads and writes through them); this process
    must be root. An exception in the child comes back as {"failed": its repr}."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child process
        try:
            os.close(read)
            try:
                os.setgid(NOBODY)
                os.setuid(NOBODY)
                answer = work()
            except BaseException as exc:
                answer = {"failed": repr(exc)}
            os.write(write, json.dumps(answer, default=repr).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return json.loads(data)
