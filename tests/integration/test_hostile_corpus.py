"""The XSS filter-evasion corpus in every text field, built, and held to on the parsed output:
no script but the site's own, no event handler, no script URL, nothing from outside the
tree; every case shown as written. The same site is opened in Chromium by
tests/browser/test_browser_hostile.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree

import pytest
from helpers import Element, parse_html, run_cli
from hostile import (
    SECRET,
    corpus,
    hostile_charter,
    hostile_rows,
    refused_corpus,
    write_hostile_tree,
)

# URL attributes a browser follows or loads.
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "background", "data", "poster", "srcset"}
# Elements the site never writes; charter text must not smuggle one in.
FOREIGN = {
    "iframe", "frame", "frameset", "object", "embed", "style", "base", "svg", "math", "applet",
    "bgsound", "xss", "x:script", "template", "noscript", "marquee",
}  # fmt: skip
SCHEME = re.compile(r"^[\x00-\x20]*([a-z][a-z0-9+.-]*):", re.IGNORECASE)


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    base = tmp_path_factory.mktemp("hostile")
    source = base / "source"
    ids = write_hostile_tree(source)
    out = base / "site"
    result = run_cli("build", "--source", source, "--out", out)
    assert result.exit_code == 0, result.output
    return source, out, ids


def _scheme(url: str) -> str | None:
    cleaned = re.sub(r"[\t\n\r]", "", url)  # browsers drop these inside URLs
    match = SCHEME.match(cleaned)
    return match.group(1).lower() if match else None


def _check_element(el: Element, page: str) -> None:
    assert el.tag not in FOREIGN, (page, el.tag)
    handlers = [a for a in el.attrs if a.lower().startswith("on")]
    assert not handlers, (page, el.tag, handlers)
    assert "style" not in el.attrs, (page, el.tag)
    if el.tag == "script":
        src = el.attrs.get("src") or ""
        assert src.endswith("static/site.js") and _scheme(src) is None, (page, src)
        assert not el.text(), page
    if el.tag == "meta":
        assert "http-equiv" not in el.attrs, page
    if el.tag == "link":
        assert el.attrs.get("rel") in ("stylesheet", "alternate", "icon"), (page, el.attrs)
    for name, value in el.attrs.items():
        if name in URL_ATTRIBUTES and value:
            assert _scheme(value) in (None, "http", "https", "mailto"), (page, name, value)
            if el.tag in ("img", "script", "link"):  # loaded, not followed: same site only
                assert _scheme(value) is None, (page, el.tag, value)


def test_no_page_runs_or_loads_anything_from_charter_text(
    hostile_site: tuple[Path, Path, list[str]],
) -> None:
    _, out, ids = hostile_site
    pages = sorted(out.rglob("*.html"))
    # Portfolio, rules, 404, a page per charter, and the team pages their teams make.
    charter_pages = [p for p in pages if p.relative_to(out).parts[0] == "charters"]
    assert len(charter_pages) == len(ids)
    families = {p.relative_to(out).parts[0] for p in pages}
    assert families <= {"index.html", "rules", "404.html", "charters", "teams", "metrics"}
    for path in pages:
        root = parse_html(path)
        for el in root.iter():
            _check_element(el, str(path.relative_to(out)))


def test_every_case_is_shown_as_written(hostile_site: tuple[Path, Path, list[str]]) -> None:
    _, out, ids = hostile_site
    for cid, case in zip(ids, corpus(), strict=True):
        page = parse_html(out / "charters" / cid / "index.html")
        title = " ".join(case.split())
        assert page.find("h1").text() == title, cid  # the title as text, tags and all
        assert page.find("title").text().startswith(title), cid
    templated = corpus().index("{{ 7*7 }}{% raw %}{{ config }}{% endraw %}")
    text = parse_html(out / "charters" / ids[templated] / "index.html").text()
    assert "{{ 7*7 }}{% raw %}" in text and "49" not in text  # charter text is never a template


def test_feed_api_and_downloads_stay_data(hostile_site: tuple[Path, Path, list[str]]) -> None:
    _, out, ids = hostile_site
    feed = ElementTree.parse(out / "feed.xml").getroot()  # well-formed XML
    assert len(feed) > len(ids)
    api = json.loads((out / "api/charters.json").read_text(encoding="utf-8"))
    assert [c["title"] for c in api["charters"]] == [" ".join(c.split()) for c in corpus()]
    formula = next(i for i, c in enumerate(corpus()) if c.startswith("=HYPERLINK"))
    csv_text = (out / "charters" / ids[formula] / "results.csv").read_text(encoding="utf-8")
    assert "\"'=HYPERLINK(" in csv_text and ',"=HYPERLINK' not in csv_text


def test_nothing_from_outside_the_tree_is_published(
    hostile_site: tuple[Path, Path, list[str]],
) -> None:
    _, out, ids = hostile_site
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
        assert not path.is_symlink(), path
    names = {p.name for p in (out / "charters" / ids[0]).iterdir()}
    assert names == {"index.html", "results.json", "results.csv", "conv.svg", "notes.txt"}


def test_cases_writing_a_refused_character_as_a_reference_are_located_errors(
    tmp_path: Path,
) -> None:
    """`<IMG SRC=" &#14;  javascript:...">` and the like: a page would show the control
    character itself. Each such case is refused at every Markdown field it is in, with its
    line, and nowhere else (in plain text fields it is shown as written)."""
    from factory import write_charter

    cases = refused_corpus()
    assert cases  # the corpus has some: `&#14;`
    markdown = [
        "summary",
        "objective.statement",
        "objective.context",
        "measurement.decision_rule",
        "decisions[0].rationale",
    ]
    for index, case in enumerate(cases):
        source = tmp_path / f"case-{index}"
        source.mkdir()
        (source / "site.yaml").write_text("title: Refused\n", encoding="utf-8")
        write_charter(source, "refused", hostile_charter(case), hostile_rows(case))
        result = run_cli("check", "--source", source)
        assert result.exit_code == 1
        located = re.findall(
            r"^charters/refused/charter\.yaml:\d+:\d+: \S+ error: ([\w.\[\]]+): holds the"
            r" character reference ",
            result.stdout,
            re.MULTILINE,
        )
        assert located == markdown, result.stdout
