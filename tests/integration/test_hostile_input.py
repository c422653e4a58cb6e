"""Hostile and careless input: links out of the tree, YAML 1.1 numbers, broken CSV, limits.

Each case is a source tree a pull request could hold; each must end in a located
error (path:line:col or path) and never in a traceback, a hang, a swallowed row or a
file from elsewhere on the machine in a message or on the site.
"""

from __future__ import annotations

import os
import pickle
import re
import shutil
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest
from helpers import NOBODY, ScratchProject, as_nobody, at, minimal_charter, run_cli

from generator import readers
from generator.load import load_project

SECRET = "root:x:0:0:secret-line-from-outside-the-tree\n" * 50

RESULTS_HEADER = "date,metric,variant,value,lower,upper,n,std,note\n"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the source tree, holding a file no build may read."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "passwd").write_text(SECRET, encoding="utf-8")
    (folder / "charter.yaml").write_text(minimal_charter(), encoding="utf-8")
    return folder


def _secret_absent(text: str) -> None:
    assert "secret-line" not in text


# --- links leaving the tree ------------------------------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        "charters/routing/results/x.csv",
        "charters/routing/charter.yaml",
        "site.yaml",
        "metrics.yaml",
        "templates",
        "charters",
        # Inside templates/: each was called a link that leaves the source folder.
        "templates/static/x.css",
        "templates/charter.html",
    ],
)
def test_a_link_that_loops_is_a_located_error_and_the_site_is_kept(
    scratch_project: ScratchProject, link: str
) -> None:
    """A link to itself made `check` pass (site.yaml, metrics.yaml ignored) and `build`
    end in an internal error (Python's resolve raises on a loop)."""
    scratch_project.charter("routing")
    assert scratch_project.build().ok
    before = {p: p.read_bytes() for p in scratch_project.out.rglob("*") if p.is_file()}
    path = scratch_project.root / link
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(path.name)
    loop = "a symbolic link that loops (it leads back to itself); it is not read"
    for command in (("check",), ("build", "--out", scratch_project.out)):
        result = run_cli(*command, "--source", scratch_project.root)
        assert result.exit_code == 1, result.output
        assert "internal error" not in result.output
        assert any(
            line.startswith(f"{link}: ") and line.endswith(loop)
            for line in result.output.splitlines()
        ), result.output
    after = {p: p.read_bytes() for p in scratch_project.out.rglob("*") if p.is_file()}
    assert after == before


def test_a_result_file_whose_name_is_not_utf8_is_a_located_error(
    scratch_project: ScratchProject,
) -> None:
    """Its name is shown on the page: check passed and build ended in an internal
    UnicodeEncodeError. The bytes are written as escapes, in text and GitHub output."""
    scratch_project.charter("routing")
    results = scratch_project.root / "charters" / "routing" / "results"
    results.mkdir()
    name = os.path.join(os.fsencode(results), b"r\xff.csv")
    with open(name, "w", encoding="utf-8") as handle:
        handle.write("date,metric,value\n2026-01-20,conv,4.2\n")
    expected = "result file name 'charters/routing/results/r\\xff.csv' is not valid UTF-8"
    for args in (
        ("check",),
        ("check", "--format", "github"),
        ("build", "--out", scratch_project.out),
    ):
        result = run_cli(*args, "--source", scratch_project.root)
        assert result.exit_code == 1, result.output
        assert "internal error" not in result.output
        assert expected in result.output
        assert "\udcff" not in result.output


def test_a_charter_yaml_linking_out_of_the_tree_is_refused_unread(
    scratch_project: ScratchProject, outside: Path
) -> None:
    folder = scratch_project.root / "charters" / "routing"
    folder.mkdir(parents=True)
    (folder / "charter.yaml").symlink_to(outside / "passwd")
    errors = scratch_project.errors()
    assert errors == [
        "charters/routing/charter.yaml: file is a symbolic link that leaves the source"
        " folder; it is not read"
    ]
    result = run_cli("check", "--source", scratch_project.root, "--format", "github")
    assert result.exit_code == 1
    _secret_absent(result.output)


def test_a_site_yaml_linking_out_of_the_tree_is_refused_and_charters_still_reported(
    scratch_project: ScratchProject, outside: Path
) -> None:
    (scratch_project.root / "site.yaml").symlink_to(outside / "passwd")
    scratch_project.charter("routing", status="bogus")
    errors = scratch_project.errors()
    assert errors[0].startswith("charters/routing/charter.yaml:3:9: status:")
    assert errors[1] == (
        "site.yaml: file is a symbolic link that leaves the source folder; it is not read"
    )


def test_a_charter_folder_linking_out_of_the_tree_is_not_built(
    scratch_project: ScratchProject, outside: Path
) -> None:
    scratch_project.charter("routing")
    (scratch_project.root / "charters" / "stolen").symlink_to(outside)
    assert scratch_project.errors() == [
        "charters/stolen: charter folder is a symbolic link that leaves the source folder;"
        " not built"
    ]
    result = scratch_project.build()
    assert not result.ok
    assert not scratch_project.out.exists()


def test_a_link_to_a_file_reached_through_a_symbolic_link_is_refused_where_it_stands(
    scratch_project: ScratchProject, outside: Path
) -> None:
    text = scratch_project.charter(
        "routing", links=[{"title": "Spec", "url": "spec.pdf"}, {"title": "Ok", "url": "ok.txt"}]
    )
    folder = scratch_project.root / "charters" / "routing"
    (folder / "spec.pdf").symlink_to(outside / "passwd")
    (folder / "ok.txt").write_text("fine", encoding="utf-8")
    assert scratch_project.errors() == [
        f"charters/routing/charter.yaml:{at(text, 'url: ', 'spec.pdf')}: links[0].url:"
        " 'spec.pdf' leads outside the charter's folder (through a symbolic link); only files"
        " inside it are published"
    ]


@pytest.mark.parametrize("url", ["my%20spec.pdf", "docs\\spec.pdf", "docs/../my spec.pdf"])
def test_a_link_written_encoded_to_a_file_linking_out_is_refused_too(
    scratch_project: ScratchProject, outside: Path, url: str
) -> None:
    # Looked up as written (`my%20spec.pdf`), it named no file: no error, and the file a
    # server is asked for, `my spec.pdf`, was left out without a word.
    scratch_project.charter("routing", links=[{"title": "Spec", "url": url}])
    folder = scratch_project.root / "charters" / "routing"
    (folder / "docs").mkdir()
    (folder / "my spec.pdf").symlink_to(outside / "passwd")
    (folder / "docs" / "spec.pdf").symlink_to(outside / "passwd")
    (error,) = scratch_project.errors()
    assert error.endswith(
        f"links[0].url: {url!r} leads outside the charter's folder (through a symbolic link);"
        " only files inside it are published"
    ), error


@pytest.mark.parametrize("where", ["templates", "templates/static", "templates/page.html"])
def test_templates_and_static_files_linking_out_of_the_tree_are_refused(
    scratch_project: ScratchProject, outside: Path, where: str
) -> None:
    scratch_project.charter("routing")
    (scratch_project.root / "templates").mkdir(exist_ok=where != "templates")
    if where == "templates":
        (scratch_project.root / "templates").rmdir()
    (scratch_project.root / where).symlink_to(outside if "." not in where else outside / "passwd")
    assert scratch_project.errors() == [
        f"{where}: a symbolic link that leaves the source folder; templates and static files"
        " must be inside it"
    ]
    result = run_cli("build", "--source", scratch_project.root, "--out", scratch_project.out)
    assert result.exit_code == 1
    assert "internal error" not in result.output


def test_a_named_pipe_is_refused_not_waited_on(scratch_project: ScratchProject) -> None:
    scratch_project.charter("routing")
    os.mkfifo(scratch_project.root / "charters" / "routing" / "results.csv")
    text = minimal_charter(results=["results.csv"])
    scratch_project.charter("routing", text=text)
    started = time.monotonic()
    errors = scratch_project.errors()
    assert time.monotonic() - started < 5
    assert errors == ["charters/routing/results.csv: not a regular file; it is not read"]


# --- excerpts ----------------------------------------------------------------------------


def test_a_long_value_is_quoted_as_a_short_escaped_excerpt(
    scratch_project: ScratchProject,
) -> None:
    long = "A" * 5000 + "\\e[31m"  # YAML's escape for the terminal's ESC character
    scratch_project.charter("routing", status=f'"{long}"')
    (message,) = scratch_project.errors()
    assert len(message) < 500
    assert "AAAA" in message and "more characters" in message
    assert "\x1b" not in message


def test_a_long_unparsable_line_is_not_printed_whole(scratch_project: ScratchProject) -> None:
    scratch_project.charter("routing", text="title: [" + "secret-line," * 10000 + "\n")
    (message,) = scratch_project.errors()
    assert len(message) < 400, message
    assert message.startswith("charters/routing/charter.yaml:2:1: YAML syntax error")


def test_names_too_long_for_the_file_system_are_reported_where_they_are_written(
    scratch_project: ScratchProject,
) -> None:
    """Past the 255 bytes of a file name or the 4,096 of a path, looking a name up fails
    with an error of its own ("File name too long"), not "no such file"."""
    part, whole = "y" * 300, "x" * 5000
    links = [{"title": "Part", "url": part}, {"title": "Whole", "url": whole}]
    text = scratch_project.charter("routing", links=links)
    result = scratch_project.build()
    assert result.ok
    warnings = [d.format_text() for d in result.diagnostics if "links[" in d.field]
    lines = [n for n, x in enumerate(text.splitlines(), 1) if "url:" in x]
    assert len(warnings) == len(lines) == 2
    for line, warning in zip(lines, warnings, strict=True):
        assert warning.startswith(f"charters/routing/charter.yaml:{line}:")
        assert warning.endswith("is not a file in the charter's folder; the link will be broken")

    text = scratch_project.charter("routing", results=[f"results/{part}/*.csv"])
    (error,) = scratch_project.errors()
    assert error.startswith(f"charters/routing/charter.yaml:{text.count(chr(10))}:")
    assert "results[0]: 'results/yyyy" in error
    assert error.endswith("matches no file in charters/routing/")


def test_a_results_pattern_with_a_control_character_is_refused_where_it_is_written(
    scratch_project: ScratchProject,
) -> None:
    """A NUL cannot be in a file name; looking one up raises ValueError, not "no match"."""
    text = scratch_project.charter("routing", results=["results/a\0b/*.csv"])
    (error,) = scratch_project.errors()
    assert error == (
        f"charters/routing/charter.yaml:{text.count(chr(10))}:5: results[0]:"
        " 'results/a\\x00b/*.csv' must not contain tabs, line breaks or other control"
        " characters"
    )


_CONTROL = "; remove it (text may hold tabs and line breaks, no other control characters)"
_NEVER_TEXT = ", which is never text (the feed's XML cannot hold it); remove it"
_REORDERS = (
    ", which shows the text after it in another order than it is written; remove it"
    " (right-to-left text needs none: a page orders it by itself)"
)


@pytest.mark.parametrize(
    ("title", "note", "title_error", "note_error", "title_at", "note_at"),
    [
        # A NUL or an escape in a title made feed.xml unreadable to every feed reader (XML
        # cannot hold them), and a note's reached the page raw; tabs stay.
        (
            "Ticket\\trouting\\x01",
            '"caf\x1b[31m"',
            "the control character U+0001" + _CONTROL,
            "the control character U+001B" + _CONTROL,
            "1:8",  # written as an escape: located at the text
            "2:30",  # in a result file, as itself: at the character
        ),
        # A right-to-left override made a page read "Target met" backwards from where the
        # charter's reviewers saw it written ("Trojan Source").
        (
            "Routing \u202edetem tegrat\u202c",
            "\u2067first week\u2069",
            "the bidirectional control U+202E" + _REORDERS,
            "the bidirectional control U+2067" + _REORDERS,
            "1:17",  # written as itself: located at the character
            "2:26",
        ),
        # XML cannot hold U+FFFE: one in a title made feed.xml unreadable while the build
        # exited 0. No noncharacter is ever text.
        (
            "Routing \\uFFFE",
            "\ufdd0",
            "the noncharacter U+FFFE" + _NEVER_TEXT,
            "the noncharacter U+FDD0" + _NEVER_TEXT,
            "1:8",
            "2:26",
        ),
    ],
    ids=["control", "bidirectional", "noncharacter"],
)
def test_refused_characters_in_charter_text_and_notes_are_located_errors(
    scratch_project: ScratchProject,
    title: str,
    note: str,
    title_error: str,
    note_error: str,
    title_at: str,
    note_at: str,
) -> None:
    text = minimal_charter().replace("title: Ticket routing", f'title: "{title}"')
    scratch_project.charter("routing", text=text)
    scratch_project.write(
        "charters/routing/results/r.csv", RESULTS_HEADER + f"2026-05-04,ttfr,,5.1,,,,,{note}\n"
    )
    assert scratch_project.errors() == [
        f"charters/routing/charter.yaml:{title_at}: title: holds {title_error}",
        f"charters/routing/results/r.csv:{note_at}: [0].note: holds {note_error}",
    ]
    # One code for one fault, in a charter's field as in a result file's cell.
    _, diags = load_project(scratch_project.root)
    assert [d.code for d in diags.sorted()] == ["invisible-character"] * 2


_BIDI = "\u202e"


@pytest.mark.parametrize(
    ("summary", "written"),
    [
        # A literal block: the character on the block's third line.
        ("|\n  Route tickets\n  to the right\n  queue, {c}now.", "queue, "),
        # Folded, plain over two lines, and quoted over two lines.
        (">\n  Route tickets\n  to the {c}right queue.", "to the "),
        ("Route tickets\n  to the {c}right queue.", "to the "),
        ('"Route tickets\n  to the {c}right queue."', "to the "),
        # A character reference that Markdown would turn into the character.
        ("|\n  Route tickets\n  to the &#x202E;right queue.", "to the "),
        # Letters before it on its line, one of them outside the Basic Multilingual Plane.
        ("|\n  Route tickets\n  to the \U0001f600 \u00e9{c}right queue.", "\u00e9"),
    ],
    ids=["literal", "folded", "plain", "quoted", "reference", "wide-letters"],
)
def test_a_refused_character_in_a_text_of_many_lines_is_located_on_its_line(
    scratch_project: ScratchProject, summary: str, written: str
) -> None:
    """Located at the block's first line, a bidirectional control on its fifth was
    for a person to hunt for: it cannot be seen in an editor."""
    text = minimal_charter(summary=summary.format(c=_BIDI))
    scratch_project.charter("routing", text=text)
    (error,) = scratch_project.errors()
    token = "&#x202E;" if "&#" in summary else _BIDI
    assert error.startswith(f"charters/routing/charter.yaml:{at(text, written, token)}: summary:")


def test_a_refused_character_written_as_an_escape_or_in_a_flow_mapping_is_located(
    scratch_project: ScratchProject,
) -> None:
    """An escape (`\\u202e`) does not write the character: the value's first place is
    the one there is. In a flow mapping the character is found within its own value,
    not in the next one."""
    text = minimal_charter(summary='"Route tickets\n  to the \\u202eright queue."')
    scratch_project.charter("routing", text=text)
    (error,) = scratch_project.errors()
    where = at(text, "summary: ", '"')
    assert error.startswith(f"charters/routing/charter.yaml:{where}: summary:")
    links = (
        "\n  - {title: Doc, url: 'https://e.com/a'}"
        f"\n  - {{title: 'T{_BIDI}', url: 'https://e.com/{_BIDI}b'}}"
    )
    text = minimal_charter(links=links)
    scratch_project.charter("routing", text=text)
    errors = scratch_project.errors()
    assert [e.split(": ")[0:2] for e in errors] == [
        [f"charters/routing/charter.yaml:{at(text, 'T', _BIDI)}", "links[1].title"],
        [f"charters/routing/charter.yaml:{at(text, 'e.com/', _BIDI)}", "links[1].url"],
    ]


def test_a_refused_character_in_metrics_yaml_is_located_on_its_line(
    scratch_project: ScratchProject,
) -> None:
    catalogue = (
        "- id: ttfr\n  name: Time to first response\n  definition: |\n"
        f"    Median hours\n    to first {_BIDI}reply.\n  unit: hours\n  direction: decrease\n"
    )
    scratch_project.write("metrics.yaml", catalogue)
    scratch_project.charter("routing")
    errors = scratch_project.errors()
    where = at(catalogue, "to first ", _BIDI)
    assert errors[0].startswith(f"metrics.yaml:{where}: [0].definition:")


@pytest.mark.parametrize(
    ("name", "rows"),
    [
        # A quoted CSV cell of three lines: the character on the cell's third line.
        (
            "r.csv",
            RESULTS_HEADER
            + f'2026-05-04,ttfr,,5.1,,,,,"Queue moved.\nRouting on.\nSee {_BIDI}x"\n',
        ),
        (
            "r.yaml",
            "- date: 2026-05-04\n  metric: ttfr\n  value: 5.1\n  note: |\n"
            f"    Queue moved.\n    See {_BIDI}x\n",
        ),
    ],
    ids=["csv", "yaml"],
)
def test_a_refused_character_in_a_note_of_many_lines_is_located_on_its_line(
    scratch_project: ScratchProject, name: str, rows: str
) -> None:
    scratch_project.charter("routing")
    scratch_project.write(f"charters/routing/results/{name}", rows)
    (error,) = scratch_project.errors()
    where = at(rows, "See ", _BIDI)
    assert error.startswith(f"charters/routing/results/{name}:{where}: [0].note: holds the bidi")


@pytest.mark.parametrize("suffix", ["csv", "yaml"])
def test_a_file_with_many_refused_characters_is_read_once_to_place_them(
    scratch_project: ScratchProject, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    """Each refused character's place was found by reading the whole text again (and, in
    YAML, by walking every node): a results file of 5,000 such rows took minutes to
    check, growing with the square of its rows. Now its lines and nodes are worked out
    once, and each of many errors is still on its own row."""
    from generator import messages

    reads: list[int] = []
    real = messages._YAML_BREAK

    class Counted:
        def finditer(self, text: str) -> Iterator[re.Match[str]]:
            reads.append(len(text))
            return real.finditer(text)

    monkeypatch.setattr(messages, "_YAML_BREAK", Counted())
    days = [date(2020, 1, 6) + timedelta(weeks=i) for i in range(300)]
    if suffix == "csv":
        rows = "date,metric,value,note\n" + "".join(
            f'{day},ttfr,4.0,"row {i} {_BIDI}"\n' for i, day in enumerate(days)
        )
    else:
        rows = "".join(
            f'- {{date: {day}, metric: ttfr, value: 4.0, note: "row {i} {_BIDI}"}}\n'
            for i, day in enumerate(days)
        )
    scratch_project.charter("routing")
    scratch_project.write(f"charters/routing/results/r.{suffix}", rows)
    errors = scratch_project.errors()
    assert len(errors) == 300
    lines = rows.splitlines()
    for i in (0, 150, 299):
        line = i + (2 if suffix == "csv" else 1)
        col = lines[line - 1].index(_BIDI) + 1
        assert errors[i].startswith(f"charters/routing/results/r.{suffix}:{line}:{col}: [{i}].note")
    assert len(reads) == 1


def test_marks_and_right_to_left_text_stay_allowed_and_urls_hold_no_override(
    scratch_project: ScratchProject,
) -> None:
    """The marks that move nothing (U+200E, U+200F) and right-to-left text itself stay
    allowed; a link's URL holds no bidirectional control."""
    scratch_project.charter(
        "routing", links=[{"title": "Doc", "url": "https://e.com/\u202egpj.exe"}]
    )
    (error,) = scratch_project.errors()
    assert error.endswith(
        "links[0].url: URL must not contain tabs, line breaks, bidirectional or other control"
        " characters, or noncharacters"
    )
    # Nor a noncharacter or a C1 control, which no other text may hold either: each went
    # into the page's link as written.
    for refused in ("\ufffe", "\ufdd0", "\x9b"):
        scratch_project.charter(
            "routing", links=[{"title": "Doc", "url": f"https://e.com/a{refused}b"}]
        )
        errors = scratch_project.errors()
        assert len(errors) == 1, (repr(refused), errors)
        assert errors[0].endswith("characters, or noncharacters"), errors
        _, diags = load_project(scratch_project.root)
        assert [d.code for d in diags] == ["invisible-character"]  # as in any text
    text = minimal_charter().replace(
        "title: Ticket routing", 'title: "\u05e0\u05d9\u05ea\u05d5\u05d1 \u200fv2\u200e"'
    )
    scratch_project.charter("routing", text=text)
    assert scratch_project.errors() == []


def test_character_references_to_refused_characters_in_markdown_are_located_errors(
    scratch_project: ScratchProject,
) -> None:
    """Markdown passes `&#x1b;` through to the HTML, where it is the character itself: a
    raw ESC in feed.xml (which no reader could then parse) and an override on the page.
    Other references (a dash, a right-to-left mark) stay allowed."""
    cases = [
        (
            {"summary": "'A &#x202e; B'"},
            "2:13: summary",
            "&#x202e;",
            "bidirectional control U+202E",
        ),
        ({"summary": "'Human &#27 baseline'"}, "2:17: summary", "&#27", "control character U+001B"),
        # Markdown makes `&\#x1b;` the reference `&#x1b;`.
        (
            {"summary": "'ESC &\\#x1b;[31m'"},
            "2:15: summary",
            "&\\#x1b;",
            "control character U+001B",
        ),
        (
            {"objective": {"statement": "Cut &#X7F; costs"}},
            "7:18: objective.statement",
            "&#X7F;",
            "control character U+007F",
        ),
    ]
    for overrides, where, reference, what in cases:
        scratch_project.charter("routing", **overrides)
        (error,) = scratch_project.errors()
        assert error.startswith(
            f"charters/routing/charter.yaml:{where}: holds the character reference"
            f" {reference}: the {what}"
        ), error
    assert error.endswith(
        "remove it (text may hold tabs and line breaks, no other control characters)"
    )
    fine = "'Routing &#8212; in one step &#x200F;&amp; more &#169;'"
    scratch_project.charter("routing", summary=fine)
    assert scratch_project.errors() == []
    result = scratch_project.build()
    assert result.ok
    feed = (scratch_project.out / "feed.xml").read_text("utf-8")
    assert "Routing \u2014 in one step" in (scratch_project.out / "index.html").read_text("utf-8")
    ElementTree.fromstring(feed.encode("utf-8"))  # well-formed XML


def test_a_character_reference_naming_no_character_is_a_located_error(
    scratch_project: ScratchProject,
) -> None:
    """A reference of 4,301 digits or more printed Python's own message ("Exceeds the
    limit (4300 digits) for integer string conversion … use sys.set_int_max_str_digits()");
    shorter ones past U+10FFFF, to a surrogate or to NUL were taken, and a page showed
    the replacement character in their place."""
    end = (
        "which names no character: {why} (a page would show it as the replacement"
        " character \ufffd); write the character itself, or remove the reference"
    )
    past = "is past U+10FFFF, the last code point of Unicode"
    cases = [
        ("&#" + "1" * 4301 + ";", "&#11111111111111\u2026;", f"its number of 4,301 digits {past}"),
        ("&#1114112;", "&#1114112;", f"its number {past}"),
        ("&\\#x110000;", "&\\#x110000;", f"its number {past}"),
        ("&#xDC00;", "&#xDC00;", "U+DC00 is half of a surrogate pair, no character on its own"),
        ("&#0;", "&#0;", "U+0000 is no character a text holds"),
    ]
    for reference, written, why in cases:
        text = minimal_charter(summary=f"'See {reference} here.'")
        scratch_project.charter("routing", text=text)
        assert scratch_project.errors() == [
            f"charters/routing/charter.yaml:2:15: summary: holds the character reference"
            f" {written}, " + end.format(why=why)
        ]
    _, diags = load_project(scratch_project.root)
    assert [d.code for d in diags] == ["invalid-value"]
    # The last code point, and one written with leading zeros, name characters.
    scratch_project.charter("routing", summary="'See &#x10FFFD; and &#0000065; here.'")
    assert scratch_project.errors() == []


def test_a_folder_name_ending_in_a_newline_is_no_charter_id(
    scratch_project: ScratchProject,
) -> None:
    """`$` matches before a final newline: the folder was taken as a charter whose id, page
    folder and feed links ended in one."""
    scratch_project.charter("routing\n")
    (error,) = scratch_project.errors()
    assert error.startswith("charters/routing\\n: folder name 'routing\\n' is not a valid")


def test_a_file_saved_as_utf16_without_a_bom_says_so(scratch_project: ScratchProject) -> None:
    """UTF-16 without a byte-order mark decodes as UTF-8 with a NUL after each letter: the
    header was an 'unknown column' 'd\\x00a\\x00t\\x00e\\x00'."""
    scratch_project.charter("routing")
    csv_text = RESULTS_HEADER + "2026-05-04,ttfr,,5.0,,,,,\n"
    scratch_project.write("charters/routing/results/r.csv", csv_text.encode("utf-16-le"))
    assert scratch_project.errors() == [
        "charters/routing/results/r.csv:1:2: file holds a NUL character (it looks saved as"
        " UTF-16); save it as UTF-8 text"
    ]
    scratch_project.charter("routing", text="title: Ticket\0 routing\n")
    (error,) = scratch_project.errors()[:1]
    assert error == (
        "charters/routing/charter.yaml:1:14: file holds a NUL character; save it as UTF-8 text"
    )


def test_templates_that_are_a_file_or_a_template_that_is_a_folder_are_errors(
    scratch_project: ScratchProject,
) -> None:
    """Both were skipped without a word: the built-in templates were used instead."""
    scratch_project.charter("routing")
    scratch_project.write("templates", "not a folder\n")
    assert scratch_project.errors() == [
        "templates: templates is a file, not a folder: put overrides in templates/, or remove it"
    ]
    (scratch_project.root / "templates").unlink()
    (scratch_project.root / "templates" / "index.html").mkdir(parents=True)
    assert scratch_project.errors() == [
        "templates/index.html: a folder, not a template: the built-in template of this name is used"
    ]


def test_a_template_or_static_file_that_is_not_a_regular_file_is_an_error(
    scratch_project: ScratchProject,
) -> None:
    """A named pipe at templates/index.html was skipped without a word (the built-in page was
    used), and so was a broken link among the static files (left out of the site)."""
    scratch_project.charter("routing")
    (scratch_project.root / "templates" / "static").mkdir(parents=True)
    os.mkfifo(scratch_project.root / "templates" / "index.html")
    (scratch_project.root / "templates" / "static" / "logo.svg").symlink_to("logo-old.svg")
    assert scratch_project.errors() == [
        "templates/index.html: not a regular file (a named pipe, a socket or a device):"
        " templates and static files must be regular files",
        "templates/static/logo.svg: a broken symbolic link: templates and static files must be"
        " regular files",
    ]


# --- YAML 1.2 numbers ----------------------------------------------------------------------


def _baseline_error(scratch_project: ScratchProject, written: str) -> list[str]:
    text = minimal_charter().replace("baseline: {value: 6.2}", f"baseline: {{value: {written}}}")
    scratch_project.charter("routing", text=text)
    return scratch_project.errors()


@pytest.mark.parametrize(
    ("written", "value"), [("017", 17.0), ("1e6", 1e6), ("+12", 12.0), (".5", 0.5), ("1.", 1.0)]
)
def test_numbers_are_read_as_yaml_1_2_decimals(
    scratch_project: ScratchProject, written: str, value: float
) -> None:
    assert _baseline_error(scratch_project, written) == []

    project, _ = load_project(scratch_project.root)
    metric = project.charters[0].charter.business_metrics[0]
    assert metric.baseline is not None and metric.baseline.value == value


@pytest.mark.parametrize(
    ("written", "hint"),
    [
        ("1:30", "base-60 (1:30) is not read as a number; write it in decimal, e.g. 90"),
        ("0x1F", "hexadecimal is not read as a number; write it in decimal"),
        ("0o17", "octal and binary are not read as numbers; write it in decimal"),
        ("1_000", "digit separators (_) are not read; write the digits without them"),
    ],
)
def test_yaml_1_1_number_forms_are_refused_with_a_hint(
    scratch_project: ScratchProject, written: str, hint: str
) -> None:
    (error,) = _baseline_error(scratch_project, written)
    assert error.startswith(
        f"charters/routing/charter.yaml:14:23: business_metrics[0].baseline.value: expected a"
        f" number, got the text '{written}' ({hint}"
    )


def test_csv_numbers_follow_the_same_rule(scratch_project: ScratchProject) -> None:
    scratch_project.charter("routing")
    scratch_project.write(
        "charters/routing/results/r.csv",
        RESULTS_HEADER + "2026-05-04,ttfr,,1_000,,,,,\n2026-05-11,ttfr,,5.1,,,017,,\n",
    )
    assert scratch_project.errors() == [
        "charters/routing/results/r.csv:2:18: [0].value: expected a number, got the text '1_000'"
        " (digit separators (_) are not read; write the digits without them)"
    ]


# --- CSV rows ------------------------------------------------------------------------------


def test_an_unclosed_quote_is_reported_at_the_quote_not_swallowing_rows(
    scratch_project: ScratchProject,
) -> None:
    scratch_project.charter("routing")
    rows = "".join(f"2026-05-{d:02d},ttfr,,5.{d},,,,,\n" for d in range(4, 20))
    scratch_project.write(
        "charters/routing/results/r.csv",
        RESULTS_HEADER + '2026-05-01,ttfr,,5.0,,,,,"first week\n' + rows,
    )
    assert scratch_project.errors() == [
        "charters/routing/results/r.csv:2:26: this quote is never closed: it would take the"
        ' rest of the file into one cell; close it, and write a quote inside a quoted cell as ""'
    ]


def test_an_unclosed_quote_closed_rows_later_is_reported_at_the_quote(
    scratch_project: ScratchProject,
) -> None:
    scratch_project.charter("routing")
    scratch_project.write(
        "charters/routing/results/r.csv",
        RESULTS_HEADER
        + '2026-05-01,ttfr,,5.0,,,,,"first week\n'
        + "2026-05-08,ttfr,,5.1,,,,,\n"
        + '2026-05-15,ttfr,,5.2,,,,,"quoted" note\n',
    )
    (error,) = scratch_project.errors()
    assert error.startswith(
        "charters/routing/results/r.csv:2:26: the cell quoted here ends with text after its"
        " closing quote, 2 line(s) later"
    )


@pytest.mark.parametrize(
    ("line", "where", "cells"),
    [("2026-05-04,ttfr,,5.0,,,,", "2:25", 8), ("2026-05-04,ttfr,,5.0,,,,,,x", "2:27", 10)],
)
def test_a_row_with_a_cell_missing_or_extra_is_refused(
    scratch_project: ScratchProject, line: str, where: str, cells: int
) -> None:
    scratch_project.charter("routing")
    scratch_project.write("charters/routing/results/r.csv", RESULTS_HEADER + line + "\n")
    assert scratch_project.errors() == [
        f"charters/routing/results/r.csv:{where}: row has {cells} cells but the header has 9"
        " columns; write an empty cell as two commas, and quote cells holding a comma"
    ]


@pytest.mark.parametrize("pattern", ["results", ".", "results/"])
def test_a_results_pattern_naming_folders_only_is_refused(
    scratch_project: ScratchProject, pattern: str
) -> None:
    text = scratch_project.charter("routing", results=[pattern])
    scratch_project.write(
        "charters/routing/results/r.csv", RESULTS_HEADER + "2026-05-04,ttfr,,5.0,,,,,\n"
    )
    line = text.count("\n")
    (error,) = scratch_project.errors()
    assert error.startswith(f"charters/routing/charter.yaml:{line}:5: results[0]: '{pattern}'")
    assert "matches only folders; match the files in them" in error


LATE_ROW = "2026-05-11,ttfr,,4.0,,,,,\n"


def test_a_subfolder_the_default_glob_matches_but_does_not_read_is_refused(
    scratch_project: ScratchProject,
) -> None:
    # `results/*` matches results/2026/ but not the file in it: its rows were left out.
    scratch_project.charter("routing")
    scratch_project.write("charters/routing/results/r.csv", RESULTS_HEADER + LATE_ROW)
    scratch_project.write("charters/routing/results/2026/late.csv", RESULTS_HEADER + LATE_ROW)
    assert scratch_project.errors() == [
        "charters/routing/results/2026: the default glob 'results/*' matches the folder"
        " results/2026/ but no file in it, such as results/2026/late.csv, whose rows would be"
        " left out; list a glob that reads them under `results`, such as 'results/2026/*',"
        " or move them up"
    ]


def test_a_subfolder_an_explicit_glob_matches_is_refused_where_the_glob_is_written(
    scratch_project: ScratchProject,
) -> None:
    text = scratch_project.charter("routing", results=["results/*"])
    scratch_project.write("charters/routing/results/r.csv", RESULTS_HEADER + LATE_ROW)
    scratch_project.write("charters/routing/results/q/3/late.csv", RESULTS_HEADER + LATE_ROW)
    (error,) = scratch_project.errors()
    line = text.count("\n")
    assert error.startswith(f"charters/routing/charter.yaml:{line}:5: results[0]: 'results/*'")
    assert "matches the folder results/q/ but no file in it, such as results/q/3/late.csv" in error


def test_a_glob_that_reads_the_subfolders_and_hidden_files_are_not_refused(
    scratch_project: ScratchProject,
) -> None:
    scratch_project.charter("routing", results=["results/**/*"])
    scratch_project.write("charters/routing/results/r.csv", RESULTS_HEADER + LATE_ROW)
    late = "2026-05-18,ttfr,,3.0,,,,,\n"
    scratch_project.write("charters/routing/results/2026/late.csv", RESULTS_HEADER + late)
    scratch_project.write("charters/routing/results/.gitkeep", "")
    scratch_project.write("charters/routing/results/empty/.gitkeep", "")
    project, diags = load_project(scratch_project.root)
    assert [d.format_text() for d in diags.sorted()] == []
    (charter,) = project.charters
    assert sorted((r.file, str(r.row.date)) for r in charter.results) == [
        ("charters/routing/results/2026/late.csv", "2026-05-18"),
        ("charters/routing/results/r.csv", "2026-05-11"),
    ]


def test_a_results_folder_linked_from_outside_is_refused_unread(
    scratch_project: ScratchProject, tmp_path: Path
) -> None:
    # It was walked, and the error named a file of the machine (results/ext/adduser.conf).
    scratch_project.charter("routing")
    scratch_project.write("charters/routing/results/r.csv", RESULTS_HEADER + LATE_ROW)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.conf").write_text("x\n")
    (scratch_project.root / "charters/routing/results/ext").symlink_to(outside)
    assert scratch_project.errors() == [
        "charters/routing/results/ext: result folder is a link that leaves the charter's folder"
    ]


def test_a_results_folder_linked_to_one_a_glob_reads_is_not_refused(
    scratch_project: ScratchProject,
) -> None:
    scratch_project.charter("routing", results=["results/*", "results/2026/*"])
    scratch_project.write("charters/routing/results/r.csv", RESULTS_HEADER + LATE_ROW)
    late = "2026-05-18,ttfr,,3.0,,,,,\n"
    scratch_project.write("charters/routing/results/2026/late.csv", RESULTS_HEADER + late)
    (scratch_project.root / "charters/routing/results/latest").symlink_to("2026")
    assert scratch_project.errors() == []


def test_a_linked_folder_below_a_matched_one_is_looked_into(
    scratch_project: ScratchProject, tmp_path: Path
) -> None:
    # `results/sub/more` a link to a folder of the charter's: its rows were left out
    # without a word (the walk did not follow links), where a real folder was refused.
    scratch_project.charter("routing", results=["results/*", "results/sub/*.csv"])
    scratch_project.write("charters/routing/results/r.csv", RESULTS_HEADER + LATE_ROW)
    later = "2026-05-18,ttfr,,3.0,,,,,\n"
    scratch_project.write("charters/routing/results/sub/b.csv", RESULTS_HEADER + later)
    scratch_project.write("charters/routing/data/more/late.csv", RESULTS_HEADER + LATE_ROW)
    more = scratch_project.root / "charters/routing/results/sub/more"
    more.symlink_to("../../data/more")
    (scratch_project.root / "charters/routing/results/sub/up").symlink_to("..")  # a loop
    (error,) = scratch_project.errors()
    assert "matches the folder results/sub/ but no file in it, such as" in error
    assert "results/sub/more/late.csv" in error
    # Leaving the charter's folder, it is refused unread, as a matched folder is.
    more.unlink()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.conf").write_text("x\n")
    more.symlink_to(outside)
    assert scratch_project.errors() == [
        "charters/routing/results/sub/more: result folder is a link that leaves the"
        " charter's folder"
    ]


@pytest.fixture
def open_project() -> Iterator[ScratchProject]:
    """A scratch tree every user may traverse, so an unprivileged process can load it."""
    base = Path(tempfile.mkdtemp(prefix="charters-perm-"))
    base.chmod(0o755)
    (base / "project").mkdir(mode=0o755)
    try:
        yield ScratchProject(base / "project")
    finally:
        for path in base.rglob("*"):
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)
        shutil.rmtree(base)


def errors_without_privileges(project: ScratchProject, locked: list[Path]) -> list[str]:
    """Lock `locked` (mode 0) and load the tree as a user who cannot read them.

    Root reads every folder, so as root the load runs in a child process switched to
    the unprivileged user `nobody`; every module it needs is imported before, while
    the tree is readable.
    """
    project.errors()  # import everything lazily imported while all is readable
    for path in locked:
        path.chmod(0)
    if os.geteuid() != 0:
        return project.errors()
    found = as_nobody(project.errors)
    assert isinstance(found, list), found
    return found


@pytest.mark.parametrize("mode", [0, 0o644])
def test_a_templates_folder_that_cannot_be_searched_is_reported(
    open_project: ScratchProject, mode: int
) -> None:
    """templates/ of mode 0 (or 644, readable but not searchable) gave "internal error:
    PermissionError" when the build looked for templates/static in it."""
    open_project.charter("routing")
    templates = open_project.root / "templates"
    open_project.write("templates/static/extra.css", "p { margin: 0 }\n")
    for folder in (templates, templates / "static"):
        folder.chmod(0o755)
    holder = open_project.root.parent / "built"  # the build writes beside its output
    holder.mkdir(mode=0o755)
    out = holder / "site"
    assert open_project.build(out).ok  # imports what a build imports while all is readable
    templates.chmod(mode)

    def built() -> list[str]:
        result = open_project.build(out)
        return [d.format_text() for d in result.diagnostics if d.severity == "error"]

    if os.geteuid() != 0:
        found = built()
    else:
        for path in [holder, *holder.rglob("*")]:
            os.lchown(path, NOBODY, NOBODY)
        found = as_nobody(built)
    assert found == ["templates: cannot read this folder (permission denied)"]


def test_an_unreadable_results_folder_is_reported(open_project: ScratchProject) -> None:
    open_project.charter("routing")
    path = open_project.write(
        "charters/routing/results/r.csv", RESULTS_HEADER + "2026-05-04,ttfr,,5.0,,,,,\n"
    )
    assert errors_without_privileges(open_project, [path.parent]) == [
        "charters/routing/results: cannot read this folder (permission denied)"
    ]


@pytest.mark.parametrize("locked", ["results/2026", "results/2026/q1"])
def test_an_unreadable_folder_the_default_glob_matches_is_reported(
    open_project: ScratchProject, locked: str
) -> None:
    """`results/*` matches results/2026/; a folder in it that cannot be listed hid its
    rows as silently as a folder no glob reads."""
    open_project.charter("routing")
    open_project.write("charters/routing/results/r.csv", RESULTS_HEADER + LATE_ROW)
    open_project.write("charters/routing/results/2026/q1/late.csv", RESULTS_HEADER + LATE_ROW)
    folder = open_project.root / "charters/routing" / locked
    assert errors_without_privileges(open_project, [folder]) == [
        f"charters/routing/{locked}: cannot read this folder (permission denied)"
    ]


@pytest.mark.parametrize("pattern", ["results/**/*.csv", "results/*/*.csv"])
def test_an_unreadable_folder_a_wildcard_goes_through_is_reported(
    open_project: ScratchProject, pattern: str
) -> None:
    """glob skipped the unreadable results/2026-q4 without a word: its rows were left out
    and the build passed on the rest."""
    open_project.charter("routing", results=[pattern])
    open_project.write(
        "charters/routing/results/2026-q3/r.csv", RESULTS_HEADER + "2026-05-04,ttfr,,5.0,,,,,\n"
    )
    hidden = open_project.write(
        "charters/routing/results/2026-q4/r.csv", RESULTS_HEADER + "2026-05-11,ttfr,,5.1,,,,,\n"
    )
    assert errors_without_privileges(open_project, [hidden.parent]) == [
        "charters/routing/results/2026-q4: cannot read this folder (permission denied)"
    ]


@pytest.mark.parametrize(
    ("pattern", "locked"),
    [("results/2026-*/*.csv", "results/private"), ("results/*/*.csv", "results/.snapshots")],
)
def test_an_unreadable_folder_no_wildcard_goes_through_is_not_an_error(
    open_project: ScratchProject, pattern: str, locked: str
) -> None:
    """Every folder below the wildcard was checked, also those glob never enters (a name
    the part does not match, a hidden one): a legitimate charter was refused."""
    open_project.charter("routing", results=[pattern])
    open_project.write(
        "charters/routing/results/2026-q3/r.csv", RESULTS_HEADER + "2026-05-04,ttfr,,5.0,,,,,\n"
    )
    folder = open_project.root / "charters/routing" / locked
    folder.mkdir()
    assert errors_without_privileges(open_project, [folder]) == []


def test_an_unreadable_charter_folder_is_reported_and_the_rest_checked(
    open_project: ScratchProject,
) -> None:
    open_project.charter("locked")
    open_project.charter("routing", status="bogus")
    folder = open_project.root / "charters" / "locked"
    errors = errors_without_privileges(open_project, [folder])
    assert errors[0] == "charters/locked: cannot read this folder (permission denied)"
    assert errors[1].startswith("charters/routing/charter.yaml:3:9: status:")


# --- limits --------------------------------------------------------------------------------


def _bomb_line(prev: str, name: str) -> str:
    item = f"*{prev}" if prev else "lol"
    return f"{name}: &{name} [{', '.join([item] * 9)}]\n"


BOMB = "".join(_bomb_line(p, n) for p, n in zip(["", *"abcdefgh"], "abcdefghi", strict=True))


def _quick_and_small(check: object) -> list[str]:
    tracemalloc.start()
    started = time.monotonic()
    try:
        errors = check()  # type: ignore[operator]
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert time.monotonic() - started < 10
    assert peak < 200_000_000
    return errors  # type: ignore[no-any-return]


@pytest.mark.parametrize("where", ["charter", "site", "results"])
def test_an_alias_bomb_stops_at_the_limit(scratch_project: ScratchProject, where: str) -> None:
    assert len(BOMB) < 1024
    scratch_project.charter("routing")
    target = {
        "charter": "charters/routing/charter.yaml",
        "site": "site.yaml",
        "results": "charters/routing/results/r.yaml",
    }[where]
    body = (
        BOMB
        if where != "charter"
        else minimal_charter() + "x-bomb:\n  " + BOMB.replace("\n", "\n  ")
    )
    if where == "results":
        body = "- " + BOMB.replace("\n", "\n  ")
    scratch_project.write(target, body)
    errors = _quick_and_small(scratch_project.errors)
    assert any(
        error.startswith(target + ":")
        and "YAML aliases expand to more than 10000 values beyond those written (the limit)"
        in error
        for error in errors
    ), errors


@pytest.mark.parametrize("suffix", ["yaml", "json"])
def test_nesting_500_deep_is_a_located_limit(scratch_project: ScratchProject, suffix: str) -> None:
    scratch_project.charter("routing")
    scratch_project.write(f"charters/routing/results/r.{suffix}", "[" * 500 + "]" * 500)
    assert scratch_project.errors() == [
        f"charters/routing/results/r.{suffix}:1:65: nested more than 64 levels deep (the limit)"
    ]


def test_a_deep_charter_is_a_located_limit_and_other_charters_still_reported(
    scratch_project: ScratchProject,
) -> None:
    deep = "".join("  " * i + f"k{i}:\n" for i in range(500))
    scratch_project.charter(
        "deep", text=minimal_charter() + "x-deep:\n" + deep.replace("\n", "\n  ").rstrip() + "\n"
    )
    scratch_project.charter("routing", status="bogus")
    errors = _quick_and_small(scratch_project.errors)
    assert errors[0].startswith("charters/deep/charter.yaml:")
    assert errors[0].endswith("nested more than 64 levels deep (the limit)")
    assert errors[1].startswith("charters/routing/charter.yaml:3:9: status:")


def test_a_file_past_its_size_limit_is_refused_unread(scratch_project: ScratchProject) -> None:
    text = scratch_project.charter("routing", text=minimal_charter() + "x-pad: " + "a" * 10**6)
    assert scratch_project.errors() == [
        f"charters/routing/charter.yaml: file is {len(text):,} bytes; files of this kind are"
        " limited to 1,000,000 bytes (the limit)"
    ]


def test_a_csv_past_the_row_limit_is_refused(
    scratch_project: ScratchProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "MAX_ROWS", 3)
    scratch_project.charter("routing")
    rows = "".join(f"2026-05-{d:02d},ttfr,,5.{d},,,,,\n" for d in range(1, 6))
    scratch_project.write("charters/routing/results/r.csv", RESULTS_HEADER + rows)
    assert scratch_project.errors() == [
        "charters/routing/results/r.csv:5:1: more than 3 rows in one file (the limit); split"
        " the file"
    ]


# --- numbers and dates the statistics and charts cannot take -----------------------------


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        (
            "2026-05-04,ttfr,,5.0,,,,1e200,",
            "3:25: [1].std: 1e+200 is too large: numbers are limited to ±1e+15",
        ),
        (
            "2026-05-04,ttfr,,5.0,-1e300,1e300,,,",
            "3:22: [1].lower: -1e+300 is too large: numbers are limited to ±1e+15",
        ),
        (
            "2026-05-04,ttfr,,1.7e308,,,,,",
            "3:18: [1].value: 1.7e+308 is too large: numbers are limited to ±1e+15",
        ),
        (  # as written, not rounded to the limit it is past
            "2026-05-04,ttfr,,1.0000001e15,,,,,",
            "3:18: [1].value: 1000000100000000 is too large: numbers are limited to ±1e+15",
        ),
        (
            "2026-05-04,ttfr,,5.0,,," + "9" * 400 + ",,",
            "3:24: [1].n: the number is too large: numbers are limited to ±1e+15",
        ),
        (  # not 301 digits quoted back
            "2026-05-04,ttfr,,5.0,,," + "9" * 301 + ",,",
            "3:24: [1].n: a whole number of 301 digits is too large: numbers are limited to",
        ),
        ("0026-05-11,ttfr,,5.0,,,,,", "3:1: [1].date: 0026-05-11 is out of range"),
    ],
)
def test_numbers_and_dates_out_of_range_are_located(
    scratch_project: ScratchProject, cells: str, message: str
) -> None:
    scratch_project.charter("routing")
    scratch_project.write(
        "charters/routing/results/r.csv",
        RESULTS_HEADER + "2026-05-18,ttfr,,5.0,,,,,\n" + cells + "\n",
    )
    errors = scratch_project.errors()
    assert any(e.startswith(f"charters/routing/results/r.csv:{message}") for e in errors), errors


def test_a_5000_digit_json_integer_is_a_located_error(scratch_project: ScratchProject) -> None:
    scratch_project.charter("routing")
    scratch_project.write(
        "charters/routing/results/r.json",
        '[{"date": "2026-05-04", "metric": "ttfr", "value": 5, "n": ' + "7" * 5000 + "}]",
    )
    (error,) = scratch_project.errors()
    assert error.startswith("charters/routing/results/r.json:1:55: [0].n:")
    assert len(error) < 300


# --- memory ----------------------------------------------------------------------------


def test_result_rows_are_held_compactly(scratch_project: ScratchProject) -> None:
    """A million-row file must fit: a row is held in columns, some 70 bytes, not 6 KB.

    Peak includes the file's text and the offsets of its rows while it is read.
    """
    scratch_project.charter("routing")
    count = 20_000
    # One row per date and arm (a duplicate or a future date would be refused).
    rows = "".join(
        f"{date(2000, 1, 1) + timedelta(days=i // 4)},ttfr,arm-{i % 4},"
        f"{5 + i % 97 / 100},{4 + i % 89 / 100},{6 + i % 83 / 100},{4000 + i % 50},,\n"
        for i in range(count)
    )
    scratch_project.write("charters/routing/results/r.csv", RESULTS_HEADER + rows)

    load_project(scratch_project.root)  # imports and caches out of the measure
    tracemalloc.start()
    project, diags = load_project(scratch_project.root)
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert not diags.errors, [d.format_text() for d in diags.errors][:3]
    results = project.charters[0].results
    assert len(results) == count
    assert held / count < 120, held / count
    assert peak / count < 400, peak / count
    last = results[-1]
    assert last.ref.line == count + 1 and last.ref.path == "charters/routing/results/r.csv"
    assert (last.row.variant, last.row.value, last.row.lower, last.row.n) == (
        "arm-3",
        5 + (count - 1) % 97 / 100,
        4 + (count - 1) % 89 / 100,
        4000 + (count - 1) % 50,
    )
    assert last.row.std is None and last.row.upper == 6 + (count - 1) % 83 / 100
    assert pickle.loads(pickle.dumps(last)) == last
    # A charter is kept between builds pickled (the cache): its rows come back whole.
    again = pickle.loads(pickle.dumps(project.charters[0]))
    assert again.results == results and again.results[-1].ref == last.ref
