"""Never stale: after any sequence of edits, an incremental build gives the bytes of a cold one.

Each example starts from a small tree built once (its site and cache copied in), applies
random edits (charter fields and teams, result rows, templates (the data tables' and
the charters' rows' fragment templates and one they import too), static files, site.yaml,
metrics.yaml, charters added, renamed and deleted, linked files, the build date), and
after every edit builds incrementally (the same output and cache folder) and compares
every byte of the output, the manifest included, with a cold build (a fresh output and a
fresh cache) of the same tree on the same day, and the report it stored for `charters
check` (every format) with what a check of the same tree prints. Cold builds are real
builds too; one is made per distinct tree (by its content) and day, since the cold
output of identical trees is what is being checked against.

A short run by default (200 examples); 5,000 with
`-m "hostile and incremental_long"`, which takes longer than CI's budget allows and is
run by hand (CI runs the short one).
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator import fork
from generator.assets import BUILTIN_TEMPLATES
from generator.build import BuildResult, Settings, build
from generator.cache import open_cache
from generator.check import run_check
from generator.check_cache import Checked, check_key, load_checked
from generator.reuse import Kept

EPOCH = "1793491200"  # 2026-11-01: results dated before it are valid on any day
# Build dates an edit moves to (set_day): later; after every row and agreement; before the
# catalogue's agreement (2026-03-02) and some rows (from 2026-01-10, weekly), which refuses them.
DAYS = [EPOCH, "1798675200", "1773100800", "1768867200"]  # 11-01, 12-31, 03-10, 01-20

SITE = "title: Portfolio {n}\ndescription: Charters of the test portfolio.\n"
BASE_URLS = ["base_url: https://example.org/portfolio/\n", "base_url: /portfolio/\n"]
LINT = "lint: {disable: [MC101, MC102, MC103, MC104, MC105, MC106, MC107, MC108, MC109, MC110]}\n"
CATALOGUE = """\
- id: orders
  name: {name}
  definition: Orders placed per week.
  unit: orders
  direction: increase
  owner: Head of Sales
  agreed: {{by: [VP Sales], on: 2026-03-02}}
"""
CHARTER = """\
title: {title}
summary: {summary}
status: live
owner: {{name: Ana Ruiz}}
objective: {{statement: Customers get a first answer sooner.}}
business_metrics:
  - id: ttfr
    name: Time to first response
    definition: Median hours to first reply.
    unit: hours
    direction: decrease
    baseline: {{value: 6.2}}
    target: {{value: 4.5}}
    agreed: {{by: [VP Support], on: 2026-01-05}}
  - ref: orders
    baseline: {{value: 100}}
    target: {{value: 120}}
    agreed: {{by: [VP Sales], on: 2026-01-05}}
measurement: {{method: before_after, population: All tickets., cadence: weekly}}
human_baseline: {{waived: Nobody can route every ticket by hand at this volume.}}
links:{links}
"""
HEADER = "date,metric,variant,value,n,std,note\n"
ROBOTS = "User-agent: *\nDisallow: /{n}/\n"
# Charter page templates: one that reads only its own charter, one that reads them all.
CHARTER_PAGES = [
    None,
    '{% extends "builtin/charter.html" %}{% block title %}{{ view.charter.title }}{% endblock %}',
    '{% extends "builtin/charter.html" %}{% block title %}of {{ checks|length }}{% endblock %}',
]

# The fragment template of the data tables (cached apart from the page): the built-in
# one, a user's own, and one that imports a user template (edited by MARKS below; the
# base tree starts with it).
TABLES = (BUILTIN_TEMPLATES / "_tables.html").read_text("utf-8")
TABLES_PAGES = [
    None,
    TABLES.replace("<summary>Data table: ", "<summary>Table of "),
    '{% import "_mark.html" as mark %}'
    + TABLES.replace("<summary>Data table: ", "<summary>{{ mark.word() }} "),
]
MARKS = [None, "{% macro word() %}Rows of{% endmacro %}", "{% macro word() %}Data{% endmacro %}"]
# The template of the charters' rows on the portfolio, team and metric pages (cached per
# charter and page): the built-in one, a user's own, and one that imports _mark.html.
ROWS = (BUILTIN_TEMPLATES / "_rows.html").read_text("utf-8")
ROWS_PAGES = [
    None,
    ROWS.replace('<td data-label="Verdict">', '<td data-label="Verdict" class="mine">'),
    '{% import "_mark.html" as mark %}'
    + ROWS.replace('<td data-label="Verdict">', '<td data-label="Verdict">{{ mark.word() }} '),
]
# Teams whose pages get the same slug: a charter's team page moves to `core-2` when
# another charter names the team that sorts first, without an edit of its own.
TEAMS = [None, "Core", "Core!"]


def charter_text(
    title: str, summary: str = "Route tickets.", link: bool = False, team: str | None = None
) -> str:
    links = "\n  - {title: Notes, url: notes.txt}" if link else " []"
    text = CHARTER.format(title=title, summary=summary, links=links)
    return text + (f"team: {team!r}\n" if team else "")


def team_of(folder: Path) -> str | None:
    """The team a charter's YAML names (as `charter_text` writes it), if any."""
    for line in (folder / "charter.yaml").read_text("utf-8").splitlines():
        if line.startswith("team: "):
            return str(line.removeprefix("team: ").strip("'"))
    return None


def rows_text(values: list[float]) -> str:
    lines = [
        f"2026-0{1 + i // 4}-{10 + i % 4 * 7},ttfr,,{v},100,1.5,\n" for i, v in enumerate(values)
    ]
    return HEADER + "".join(lines)


def make_tree(root: Path) -> None:
    (root / "charters" / "alpha" / "results").mkdir(parents=True)
    (root / "charters" / "beta").mkdir(parents=True)
    (root / "site.yaml").write_text(SITE.format(n=0), encoding="utf-8")
    (root / "metrics.yaml").write_text(CATALOGUE.format(name="Weekly orders"), encoding="utf-8")
    (root / "charters" / "alpha" / "charter.yaml").write_text(charter_text("Alpha"), "utf-8")
    (root / "charters" / "alpha" / "results" / "r.csv").write_text(rows_text([5.0, 4.8]), "utf-8")
    # beta's team page is teams/core/ until another charter names the team "Core".
    beta = charter_text("Beta", team=TEAMS[2])
    (root / "charters" / "beta" / "charter.yaml").write_text(beta, "utf-8")
    # The data tables' own template, which imports another: one edit of either changes
    # every cached table (the built-in one is an edit away).
    (root / "templates").mkdir()
    (root / "templates" / "_tables.html").write_text(TABLES_PAGES[2], "utf-8")
    (root / "templates" / "_mark.html").write_text(MARKS[1], "utf-8")


# --- the edits ---------------------------------------------------------------------------

Edit = Callable[[Path], None]


def _charters(root: Path) -> list[Path]:
    return sorted(p for p in (root / "charters").iterdir() if p.is_dir())


def set_title(index: int, title: str) -> Edit:
    def edit(root: Path) -> None:
        folders = _charters(root)
        if folders:
            folder = folders[index % len(folders)]
            link = (folder / "notes.txt").exists()
            text = charter_text(title, link=link, team=team_of(folder))
            (folder / "charter.yaml").write_text(text, "utf-8")

    edit.__name__ = f"set_title({index}, {title!r})"
    return edit


def set_rows(index: int, values: list[float]) -> Edit:
    def edit(root: Path) -> None:
        folders = _charters(root)
        if folders:
            folder = folders[index % len(folders)]
            path = folder / "results" / "r.csv"
            if values:
                path.parent.mkdir(exist_ok=True)
                path.write_text(rows_text(values), encoding="utf-8")
            elif path.exists():
                path.unlink()

    edit.__name__ = f"set_rows({index}, {values!r})"
    return edit


def bad_row(index: int, kind: int) -> Edit:
    """Add a row the loader refuses (an error) or warns about, to one charter's results."""
    rows = ["2099-01-05,ttfr,,4.0,100,1.5,\n", "2026-02-02,ttfr,,many,100,1.5,\n"]

    def edit(root: Path) -> None:
        folders = _charters(root)
        if folders:
            path = folders[index % len(folders)] / "results" / "r.csv"
            path.parent.mkdir(exist_ok=True)
            text = path.read_text("utf-8") if path.exists() else HEADER
            path.write_text(text + rows[kind % len(rows)], encoding="utf-8")

    edit.__name__ = f"bad_row({index}, {kind})"
    return edit


def add_charter(name: str, title: str) -> Edit:
    def edit(root: Path) -> None:
        folder = root / "charters" / name
        folder.mkdir(exist_ok=True)
        (folder / "charter.yaml").write_text(charter_text(title), "utf-8")

    edit.__name__ = f"add_charter({name!r}, {title!r})"
    return edit


def rename_charter(index: int, name: str) -> Edit:
    def edit(root: Path) -> None:
        folders = _charters(root)
        target = root / "charters" / name
        if folders and not target.exists():
            folders[index % len(folders)].rename(target)

    edit.__name__ = f"rename_charter({index}, {name!r})"
    return edit


def delete_charter(index: int) -> Edit:
    def edit(root: Path) -> None:
        folders = _charters(root)
        if len(folders) > 1:  # the tree needs a charter to build
            shutil.rmtree(folders[index % len(folders)])

    edit.__name__ = f"delete_charter({index})"
    return edit


def link_file(index: int, text: str | None) -> Edit:
    """Add (or change) a linked notes.txt beside a charter, or remove it and its link."""

    def edit(root: Path) -> None:
        folders = _charters(root)
        if not folders:
            return
        folder = folders[index % len(folders)]
        charter = (folder / "charter.yaml").read_text("utf-8")
        title = charter.split("\n", 1)[0].removeprefix("title: ")
        if text is None:
            (folder / "notes.txt").unlink(missing_ok=True)
        else:
            (folder / "notes.txt").write_text(text, "utf-8")
        team = team_of(folder)
        charter = charter_text(title, link=text is not None, team=team)
        (folder / "charter.yaml").write_text(charter, "utf-8")

    edit.__name__ = f"link_file({index}, {text!r})"
    return edit


def drop_linked_file(index: int) -> Edit:
    """Remove a charter's notes.txt but not its link: a problem check reports with the
    charter's findings."""

    def edit(root: Path) -> None:
        folders = _charters(root)
        if folders:
            (folders[index % len(folders)] / "notes.txt").unlink(missing_ok=True)

    edit.__name__ = f"drop_linked_file({index})"
    return edit


def set_team(index: int, team: str | None) -> Edit:
    def edit(root: Path) -> None:
        folders = _charters(root)
        if folders:
            folder = folders[index % len(folders)]
            text = (folder / "charter.yaml").read_text("utf-8")
            title = text.split("\n", 1)[0].removeprefix("title: ")
            link = (folder / "notes.txt").exists()
            (folder / "charter.yaml").write_text(charter_text(title, link=link, team=team), "utf-8")

    edit.__name__ = f"set_team({index}, {team!r})"
    return edit


def set_day(index: int) -> Edit:
    """Build on another date from now on (SOURCE_DATE_EPOCH, kept beside the tree)."""

    def edit(root: Path) -> None:
        (root.parent / "day").write_text(DAYS[index], "utf-8")

    edit.__name__ = f"set_day({index})"
    return edit


def epoch_of(root: Path) -> str:
    """The SOURCE_DATE_EPOCH the builds of the tree `root` run with (set_day)."""
    day = root.parent / "day"
    return day.read_text("utf-8") if day.exists() else EPOCH


def day_of(epoch: str) -> date:
    return datetime.fromtimestamp(int(epoch), tz=UTC).date()


def write_file(rel: str, text: str | None) -> Edit:
    def edit(root: Path) -> None:
        path = root / rel
        if text is None:
            path.unlink(missing_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, "utf-8")

    edit.__name__ = f"write_file({rel!r}, {text!r})"
    return edit


TITLES = st.sampled_from(["Alpha", "Beta", "Gamma <b>", "Ünïcode"])
NAMES = st.sampled_from(["alpha", "beta", "gamma", "delta"])
VALUES = st.lists(st.sampled_from([4.0, 4.5, 5.0, 6.5]), max_size=3)
EDITS = st.one_of(
    st.builds(set_title, st.integers(0, 3), TITLES),
    st.builds(set_rows, st.integers(0, 3), VALUES),
    st.builds(add_charter, NAMES, TITLES),
    st.builds(rename_charter, st.integers(0, 3), NAMES),
    st.builds(delete_charter, st.integers(0, 3)),
    st.builds(link_file, st.integers(0, 3), st.sampled_from([None, "one", "two"])),
    st.builds(lambda n: write_file("site.yaml", SITE.format(n=n)), st.integers(0, 2)),
    st.builds(drop_linked_file, st.integers(0, 3)),
    # base_url: in every record of the API, and in the feed and sitemap.
    st.builds(
        lambda n, base: write_file("site.yaml", SITE.format(n=n) + base),
        st.integers(0, 1),
        st.sampled_from(BASE_URLS),
    ),
    # Rules switched off for the site: every charter's findings change, not its key.
    st.builds(lambda n: write_file("site.yaml", SITE.format(n=n) + LINT), st.integers(0, 1)),
    st.builds(
        lambda name: write_file("metrics.yaml", CATALOGUE.format(name=name)),
        st.sampled_from(["Weekly orders", "Orders"]),
    ),
    st.builds(
        lambda n: write_file("templates/robots.txt", None if n == 0 else ROBOTS.format(n=n)),
        st.integers(0, 2),
    ),
    st.builds(
        lambda n: write_file("templates/static/extra.css", None if n == 0 else f"a{{z:{n}}}\n"),
        st.integers(0, 2),
    ),
    st.builds(
        lambda n: write_file("templates/charter.html", CHARTER_PAGES[n]),
        st.integers(0, len(CHARTER_PAGES) - 1),
    ),
    st.builds(
        lambda n: write_file("templates/_tables.html", TABLES_PAGES[n]),
        st.integers(0, len(TABLES_PAGES) - 1),
    ),
    st.builds(
        lambda n: write_file("templates/_mark.html", MARKS[n]),
        st.integers(0, len(MARKS) - 1),
    ),
    st.builds(
        lambda n: write_file("templates/_rows.html", ROWS_PAGES[n]),
        st.integers(0, len(ROWS_PAGES) - 1),
    ),
    st.builds(set_team, st.integers(0, 3), st.sampled_from(TEAMS)),
    st.builds(bad_row, st.integers(0, 3), st.integers(0, 1)),
    st.builds(set_day, st.integers(0, len(DAYS) - 1)),
)


# --- the builds --------------------------------------------------------------------------


def tree_bytes(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.relative_to(folder).parts[0].startswith(".charters-cache")
    }


def tree_key(root: Path) -> str:
    """The tree's content: every file's bytes and every folder, empty ones included."""
    h = hashlib.blake2b()
    for rel, data in tree_bytes(root).items():
        h.update(rel.encode() + b"\0" + hashlib.blake2b(data).digest())
    for folder in sorted(p for p in root.rglob("*") if p.is_dir()):
        h.update(b"dir\0" + folder.relative_to(root).as_posix().encode() + b"\0")
    return h.hexdigest()


class Builds:
    """The base tree built once, and cold builds remembered by tree content."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.base = work / "base"
        self.base.mkdir()
        make_tree(self.base / "src")
        result = self.build(self.base / "src", self.base / "site", self.base / "cache")
        assert result.ok, [d.format_text() for d in result.diagnostics]
        self.cold: dict[str, tuple[bool, dict[str, bytes], list[str], Mapping[str, str]]] = {}
        self.count = 0

    @staticmethod
    def build(
        src: Path, out: Path, cache: Path, kept: Kept | None = None, gc: bool = False
    ) -> BuildResult:
        """A build; with `kept`, as `charters serve` and `charters build --watch` build:
        what they keep in memory between builds, and the folder written in place; with
        `gc`, pruning the cache."""
        return build(
            Settings(
                source=src,
                out=out,
                cache_dir=cache,
                kept=kept,
                in_place=kept is not None,
                gc=gc,
            )
        )

    def fresh(self) -> Path:
        """A copy of the base tree, its site and its cache, for one example."""
        self.count += 1
        here = self.work / f"ex{self.count}"
        shutil.copytree(self.base, here, symlinks=True)
        return here

    def cold_build(self, src: Path) -> tuple[bool, dict[str, bytes], list[str], Mapping[str, str]]:
        """A cold build of `src` on its day: whether it succeeded, its files, what it
        reported, and what `charters check` of the tree prints in each format."""
        epoch = epoch_of(src)
        key = f"{tree_key(src)} {epoch}"
        if key not in self.cold:
            self.count += 1
            out, cache = self.work / f"cold{self.count}", self.work / f"cold{self.count}-cache"
            result = self.build(src, out, cache)
            files = tree_bytes(out) if result.ok else {}
            checked = Checked.of(run_check(src, day_of(epoch))).outputs
            self.cold[key] = (result.ok, files, reported(result), checked)
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(cache, ignore_errors=True)
        return self.cold[key]


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Builds:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        return Builds(tmp_path_factory.mktemp("incremental"))


def reported(result: BuildResult) -> list[str]:
    """What the build reported, as printed."""
    return [d.format_text() for d in result.diagnostics]


def stored_check(src: Path, cache: Path) -> Mapping[str, str] | None:
    """The report a build stored for `charters check` of `src` on its day, if any."""
    folder = open_cache(src, cache)
    key = check_key(src, day_of(epoch_of(src)), None, folder)
    found = load_checked(folder, key) if key is not None else None
    return found.outputs if found is not None else None


def differences(got: dict[str, bytes], want: dict[str, bytes]) -> list[str]:
    """The files that differ, with the first differing bytes of each."""
    out = []
    for rel in sorted(set(got) | set(want)):
        a, b = got.get(rel), want.get(rel)
        if a != b:
            if a is None or b is None:
                out.append(f"{rel}: only in the {'cold' if a is None else 'incremental'} build")
                continue
            at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), 0)
            out.append(f"{rel}: incremental {a[at - 60 : at + 60]!r} cold {b[at - 60 : at + 60]!r}")
    return out


def check_edits(
    builds: Builds,
    edits: list[Edit],
    monkeypatch: pytest.MonkeyPatch,
    keep: bool = False,
    forked: bool = False,
) -> None:
    """Apply `edits` in turn, each followed by an incremental build compared with a cold
    build of the same tree. With `keep`, the incremental builds are `charters serve`'s:
    they share what it keeps in memory between builds (reuse.Kept) and write the site in
    place (write.write_in_place). With `forked`, an incremental build that renders two
    charter pages or more renders half of them in a forked copy of itself, whose cache
    and memo are taken back into the build's (generator/fork.py), as a build of many
    charters does; the cold builds never fork."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    here = builds.fresh()
    src, out, cache = here / "src", here / "site", here / "cache"
    kept = Kept() if keep else None
    try:
        for index, edit in enumerate(edits):
            edit(src)
            monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch_of(src))
            # Every other build without a Kept (a plain build, not serve's) prunes the
            # cache (--gc): what it removes never changes a byte of a later build, nor the
            # report it stores for `charters check`.
            with monkeypatch.context() as patched:
                if forked:
                    patched.setattr(fork, "FORK_FROM", 2)
                result = builds.build(src, out, cache, kept, gc=kept is None and index % 2 == 1)
            cold_ok, cold_files, cold_reported, cold_checked = builds.cold_build(src)
            assert result.ok == cold_ok, [d.format_text() for d in result.diagnostics]
            # The same errors and warnings too, never those of an earlier tree.
            assert reported(result) == cold_reported, [e.__name__ for e in edits]
            # What `charters check` prints from the build's report is what it would find.
            stored = stored_check(src, cache)
            assert stored is not None or not result.ok
            if stored is not None:
                assert dict(stored) == dict(cold_checked), [e.__name__ for e in edits]
            if result.ok:
                assert differences(tree_bytes(out), cold_files) == [], [e.__name__ for e in edits]
    finally:
        shutil.rmtree(here, ignore_errors=True)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(edits=st.lists(EDITS, min_size=1, max_size=3), keep=st.booleans(), forked=st.booleans())
def test_incremental_build_equals_cold_build(
    builds: Builds, edits: list[Edit], monkeypatch: pytest.MonkeyPatch, keep: bool, forked: bool
) -> None:
    check_edits(builds, edits, monkeypatch, keep, forked)


@pytest.mark.hostile
@pytest.mark.incremental_long
@settings(
    max_examples=5000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(edits=st.lists(EDITS, min_size=1, max_size=6), keep=st.booleans(), forked=st.booleans())
def test_incremental_build_equals_cold_build_long(
    builds: Builds, edits: list[Edit], monkeypatch: pytest.MonkeyPatch, keep: bool, forked: bool
) -> None:
    check_edits(builds, edits, monkeypatch, keep, forked)
