"""A relative link in a charter's Markdown that its page cannot follow is a warning.

Only `links` publish a file of the charter's folder; `[the notes](notes.txt)` in the
summary was a broken link on the page, without a word. So were links to a charter
that is not there (`../churn/`, a typo) and to a file that charter does not publish.
"""

from __future__ import annotations

import typing

from helpers import ExamplesBuild, ScratchProject, minimal_charter, run_cli
from pydantic import BaseModel

import generator.model as m
from generator.analyze import CharterView
from generator.diagnostics import excerpt
from generator.links import site_files
from generator.load import load_project


def _markdown_fields(cls: type[BaseModel], path: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The fields of type `Markdown` of a model, by where they are written."""
    found: list[tuple[str, ...]] = []
    for name, info in cls.model_fields.items():
        here = (*path, info.alias or name)
        if any(getattr(x, "func", None) is m._check_markdown for x in info.metadata):
            found.append(here)  # a required field: its Annotated metadata taken apart
            continue
        todo: list[tuple[object, tuple[str, ...]]] = [(info.annotation, here)]
        while todo:
            kind, at = todo.pop()
            args = typing.get_args(kind)
            if kind == m.Markdown:
                found.append(at)
            elif typing.get_origin(kind) in (list, tuple):
                todo.extend((arg, (*at, "*")) for arg in args)
            elif args:
                todo.extend((arg, at) for arg in args)
            elif isinstance(kind, type) and issubclass(kind, BaseModel):
                found.extend(_markdown_fields(kind, at))
    return found


def test_the_markdown_fields_looked_at_are_the_models() -> None:
    assert sorted(m.MARKDOWN_FIELDS) == sorted(_markdown_fields(m.Charter, ()))


def _warnings(scratch_project: ScratchProject) -> list[str]:
    result = scratch_project.build()
    assert result.ok  # warnings: the site is built
    return [d.format_text() for d in result.diagnostics if d.code == "link-target"]


def test_a_markdown_link_to_a_file_no_link_publishes_is_a_warning_at_its_field(
    scratch_project: ScratchProject,
) -> None:
    summary = "See [the notes](notes.txt), [the plan](plan%20v2.txt) and [a gap](gone.txt)."
    text = scratch_project.charter("routing", text=minimal_charter(summary=f" {summary}"))
    scratch_project.write("charters/routing/notes.txt", "notes\n")
    scratch_project.write("charters/routing/plan v2.txt", "plan\n")
    line = next(i for i, x in enumerate(text.splitlines(), 1) if x.startswith("summary:"))
    where = f"charters/routing/charter.yaml:{line}:11: summary: the link"
    unpublished = (
        "is to a file of the charter's folder that is not published (only files listed under"
        " `links` are: list it there); the link will be broken"
    )
    assert _warnings(scratch_project) == [
        f"{where} 'notes.txt' {unpublished}",
        f"{where} 'plan%20v2.txt' {unpublished}",
        f"{where} 'gone.txt' is not a file in the charter's folder; the link will be broken",
    ]
    page = (scratch_project.out / "charters/routing/index.html").read_text()
    assert 'href="notes.txt"' in page
    assert not (scratch_project.out / "charters/routing/notes.txt").exists()
    # Listed under `links`, it is published, and the Markdown's link is good.
    links = [{"title": "Notes", "url": "notes.txt"}, {"title": "Plan", "url": "plan v2.txt"}]
    scratch_project.charter("routing", text=minimal_charter(summary=f" {summary}", links=links))
    assert _warnings(scratch_project) == [
        f"{where} 'gone.txt' is not a file in the charter's folder; the link will be broken"
    ]
    assert (scratch_project.out / "charters/routing/notes.txt").read_text() == "notes\n"


def test_markdown_links_to_charters_are_looked_up_among_the_charters(
    scratch_project: ScratchProject,
) -> None:
    scratch_project.charter("churn-prediction", aliases=["churn"])
    context = (
        "Like [churn](../churn-prediction/), [its page](../churn-prediction/index.html),"
        " [its old address](../churn/), which redirects,"
        " [its rows](../churn-prediction/results.csv), [a typo](../churn-predictoin/),"
        " [a file](../churn-prediction/notes.txt), [this page](#objective),"
        " [ours](results.json), [the rules](../../rules/index.html)"
        " and [elsewhere](https://example.com/x.txt)."
    )
    scratch_project.charter(
        "routing", text=minimal_charter(objective={"statement": "Faster.", "context": context})
    )
    warnings = _warnings(scratch_project)
    assert [w.split(" objective.context: ", 1)[1] for w in warnings] == [
        "the link '../churn-predictoin/' is to the charter 'churn-predictoin', which there is"
        " not; the link will be broken",
        "the link '../churn-prediction/notes.txt' is not a page or a published file of the"
        " charter 'churn-prediction'; the link will be broken",
    ]


def test_check_warns_of_them_as_build_does(scratch_project: ScratchProject) -> None:
    hypothesis = "As [the study](study.txt) found."
    scratch_project.charter(
        "routing",
        text=minimal_charter(
            ml_metrics=[
                {
                    "id": "acc",
                    "name": "Accuracy",
                    "unit": "ratio",
                    "direction": "increase",
                    "drives": ["ttfr"],
                    "hypothesis": hypothesis,
                }
            ]
        ),
    )
    result = run_cli("check", "--source", scratch_project.root)
    assert (
        "link-target warning: ml_metrics[0].hypothesis: the link 'study.txt' is not a file in"
        " the charter's folder; the link will be broken"
    ) in result.output


def test_html_links_and_the_charters_folder_are_looked_at_once_each(
    scratch_project: ScratchProject,
) -> None:
    # An <a> with no `[` in the text was not looked at, nor one whose href is not its
    # first attribute; `../` is the folder of all charters, which has no page.
    summary = (
        ' See <a title="t" href="gone.txt">the notes</a>, <a href="gone.txt">again</a>'
        ' and <a href="../">all</a>.'
    )
    scratch_project.charter("routing", text=minimal_charter(summary=summary))
    assert [w.split(" summary: ", 1)[1] for w in _warnings(scratch_project)] == [
        "the link 'gone.txt' is not a file in the charter's folder; the link will be broken",
        "the link '../' is to the folder of all charters, which has no page; the link will be"
        " broken",
    ]


def test_a_link_to_a_charter_that_did_not_load_is_left_to_its_errors(
    scratch_project: ScratchProject,
) -> None:
    scratch_project.charter("churn", text=minimal_charter(status=" bogus"))
    context = "Like [churn](../churn/) and [its notes](../churn/notes.txt)."
    scratch_project.charter(
        "routing", text=minimal_charter(objective={"statement": "Faster.", "context": context})
    )
    result = run_cli("check", "--source", scratch_project.root)
    assert result.exit_code == 1
    assert "charters/churn/charter.yaml" in result.output
    assert "link-target" not in result.output


def test_a_link_to_another_charters_chart_not_drawn_is_warned_of(
    scratch_project: ScratchProject,
) -> None:
    scratch_project.charter("churn")
    summary = " Like [their chart](../churn/ttfr.svg), drawn once they have results."
    scratch_project.charter("routing", text=minimal_charter(summary=summary))
    assert [w.split(" summary: ", 1)[1] for w in _warnings(scratch_project)] == [
        "the link '../churn/ttfr.svg' is the chart of the metric 'ttfr' of the charter"
        " 'churn', which has no result rows yet; the link will be broken"
    ]
    assert "link-target warning" in run_cli("check", "--source", scratch_project.root).output
    rows = "date,metric,value\n2026-05-04,ttfr,6\n"
    scratch_project.write("charters/churn/results/r.csv", rows)
    assert _warnings(scratch_project) == []
    assert "link-target" not in run_cli("check", "--source", scratch_project.root).output


def test_markdown_links_to_the_rest_of_the_site_are_looked_up_among_its_pages(
    scratch_project: ScratchProject,
) -> None:
    # Only links into charters/ were looked at: `../../teams/nobody/`, a page the site
    # does not have, and `../churn/index.html/`, a page written as a folder, were broken
    # on the site without a word.
    scratch_project.write("metrics.yaml", CATALOGUE)
    scratch_project.charter("churn", text=minimal_charter(team="Growth"))
    good = [
        "../../", "../../index.html", "../../rules/", "../../rules/index.html", "../../teams/",
        "../../teams/growth/", "../../metrics/", "../../metrics/nps/index.html",
        "../../feed.xml", "../../404.html", "../../static/style.css", "../../api/charters.json",
        "../../../another-site/", "../churn/",
    ]  # fmt: skip
    bad = {
        "../../teams/nobody/": "is not a page of the site",
        "../../rule/": "is not a page of the site",
        "../../metrics/gone/": "is not a page of the site",
        "../../metrics/nps/forest.svg": (
            "is the forest plot of the metric 'nps', which no charter has a lift of yet"
        ),
        "../churn/index.html/": "is to the file 'index.html' as if it were a folder",
        "../../rules/index.html/": "is to the file 'index.html' as if it were a folder",
    }
    context = " ".join(f"[{i}]({href})" for i, href in enumerate([*good, *bad]))
    scratch_project.charter(
        "routing", text=minimal_charter(objective={"statement": "Faster.", "context": context})
    )
    warnings = [w.split(" objective.context: ", 1)[1] for w in _warnings(scratch_project)]
    assert warnings == [
        f"the link {href!r} {problem}; the link will be broken" for href, problem in bad.items()
    ]
    checked = run_cli("check", "--source", scratch_project.root).output
    assert checked.count("link-target warning") == len(bad)  # as build warns


CATALOGUE = """\
- id: nps
  name: Net promoter score
  definition: Promoters minus detractors, in points.
  unit: points
  direction: increase
"""


def test_the_site_files_links_are_held_to_are_those_a_build_writes(
    examples_build: ExamplesBuild,
) -> None:
    project, _ = load_project(examples_build.source)
    views = [CharterView(loaded) for loaded in project.charters]
    out = examples_build.out
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    outside = {
        f for f in written if not f.startswith(("charters/", ".")) and not f.endswith("/forest.svg")
    }
    assert project.catalogue.ids() and "teams/index.html" in outside
    assert {"sitemap.xml", "api/charters.json", "static/site.js"} <= outside
    files = site_files(views, project.catalogue.ids(), project.root, project.site.base_url)
    assert files == outside


def test_hrefs_are_read_as_a_browser_reads_them(scratch_project: ScratchProject) -> None:
    # A browser drops the spaces at an href's ends and the line breaks in it: these were
    # warned of, although each opens the page it names.
    scratch_project.charter("churn")
    statement = (
        ' Faster. <a href=" ../../rules/">rules</a> <a href="../../rules/ ">again</a>'
        ' <a href="../../ru&#10;les/">once more</a> <a href="../churn/ ">churn</a>'
    )
    scratch_project.charter("routing", text=minimal_charter(objective=f"\n  statement:{statement}"))
    assert _warnings(scratch_project) == []


def test_links_to_static_files_the_api_and_the_sitemap_are_held_to_what_the_build_writes(
    scratch_project: ScratchProject,
) -> None:
    # They were not looked at: `../../static/logo.png` was broken on the page, unwarned.
    scratch_project.write("templates/static/logo.png", b"\x89PNG\r\n\x1a\n")
    scratch_project.write("templates/static/LICENSE", "MIT\n")
    scratch_project.write("templates/static/sub/icon.png", b"\x89PNG\r\n\x1a\n")
    good = [
        "../../static/style.css",
        "../../static/logo.png",
        "../../static/LICENSE",
        "../../api/charters.json",
    ]
    bad = {
        "../../static/LICENSE/": "is to the file 'LICENSE' as if it were a folder",
        "../../static/LICENSE/x": "is inside the file 'LICENSE' as if it were a folder",
        "../../feed.xml/x": "is inside the file 'feed.xml' as if it were a folder",
        "../../static/sub/": "is a folder of templates/static/, which is not copied (only the"
        " files at its top are)",
        f"../../static/{'n' * 300}/": "is not one of the site's static files (the built-in"
        " ones and templates/static/)",
        "../../static/sub/icon.png": "is in a folder of static/, which the site has none of"
        " (only the files at the top of templates/static/ are copied)",
        "../../static/logo.svg": "is not one of the site's static files (the built-in ones"
        " and templates/static/)",
        "../../static/": "is not one of the site's static files (the built-in ones and"
        " templates/static/)",
        "../../api/charters/routing.json": "is not a file of the site's API (api/charters.json)",
        "../../sitemap.xml": "is the sitemap, which is written only when site.yaml's base_url"
        " is a full URL",
        "../../.charters-site.json": "is the build's record of the files it wrote, not a page"
        " to link to",
    }
    summary = " See " + " ".join(f"[{i}]({href})" for i, href in enumerate([*good, *bad]))
    scratch_project.charter("routing", text=minimal_charter(summary=summary))
    warnings = [w.split(" summary: ", 1)[1] for w in _warnings(scratch_project)]
    assert warnings == [
        f"the link {excerpt(href)} {problem}; the link will be broken"
        for href, problem in bad.items()
    ]
    # With a full base_url the build writes a sitemap, and the link to it is good.
    scratch_project.write("site.yaml", "title: T\nbase_url: https://ml.example.com/charters/\n")
    assert len(_warnings(scratch_project)) == len(bad) - 1
    checked = run_cli("check", "--source", scratch_project.root).output
    assert checked.count("link-target warning") == len(bad) - 1  # as build warns


def test_a_generated_file_written_as_a_folder_is_warned_of_under_links_too(
    scratch_project: ScratchProject,
) -> None:
    # Markdown's `ttfr.svg/` was warned of, the same link under `links` was not (nor
    # `index.html/`, `results.csv/`); `x/.` is a folder as `x/` is.
    urls = ["ttfr.svg/", "index.html/", "results.csv/", "ttfr.svg/.", "results.json/x/.."]
    links = [{"title": f"Link {i}", "url": url} for i, url in enumerate(urls)]
    summary = " See [this](../routing/index.html/.) and [that](../routing/results.csv/)."
    scratch_project.charter("routing", text=minimal_charter(summary=summary, links=links))
    scratch_project.write(
        "charters/routing/results/r.csv", "date,metric,value\n2026-05-04,ttfr,6\n"
    )
    names = ["ttfr.svg", "index.html", "results.csv", "ttfr.svg", "results.json"]
    as_folder = "as if it were a folder; the link will be broken"
    warned = [w.split(": ", 2)[2] for w in _warnings(scratch_project)]
    assert warned == [
        *(f"{u!r} is to the file {n!r} {as_folder}" for u, n in zip(urls, names, strict=True)),
        f"the link '../routing/index.html/.' is to the file 'index.html' {as_folder}",
        f"the link '../routing/results.csv/' is to the file 'results.csv' {as_folder}",
    ]


def test_links_to_the_rest_of_the_site_are_left_alone_when_it_did_not_load(
    scratch_project: ScratchProject,
) -> None:
    # With a charter or the catalogue in error, the site's pages are not known: its teams
    # and metrics were each warned of as "not a page of the site", besides the error.
    scratch_project.write("metrics.yaml", CATALOGUE.replace("unit: points", "unit: [points]"))
    scratch_project.charter("churn", text=minimal_charter(team="Growth", status=" bogus"))
    summary = " See [growth](../../teams/growth/) and [nps](../../metrics/nps/)."
    scratch_project.charter("routing", text=minimal_charter(summary=summary))
    output = run_cli("check", "--source", scratch_project.root).output
    assert "metrics.yaml" in output and "charters/churn/charter.yaml" in output
    assert "link-target" not in output


def test_links_that_servers_read_differently_are_warned_of(
    scratch_project: ScratchProject,
) -> None:
    # `notes%2Fa.txt` and `notes//a.txt` were taken as good: Python's and nginx's servers
    # find the file, but Apache's default answers 404 to an encoded slash, and an object
    # store keeps the two slashes in the key it looks up.
    scratch_project.write("charters/routing/notes/a.txt", "a\n")
    urls = ["notes%2Fa.txt", "notes//a.txt", "notes\\/a.txt", "notes/a.txt", "gone//a.txt"]
    links = [{"title": f"Link {i}", "url": url} for i, url in enumerate(urls)]
    summary = (
        " See [s](../..//static/style.css), [r](..%2f..%2Frules/?x=a//b#c%2F),"
        " [g](../../rules/) and [gone](../..//rules/gone/)."
    )
    scratch_project.charter("routing", text=minimal_charter(summary=summary, links=links))
    encoded = (
        "encodes a slash as %2F, which not every server takes as one (Apache's default answers 404)"
    )
    doubled = (
        "has two slashes in a row, which not every server reads as one (an object store"
        " such as S3 answers 404)"
    )
    warned = [w.split(": ", 2)[2] for w in _warnings(scratch_project)]
    assert warned == [
        "'gone//a.txt' is not a file in the charter's folder; the link will be broken",
        f"'notes%2Fa.txt' {encoded}; write 'notes/a.txt'",
        f"'notes//a.txt' {doubled}; write 'notes/a.txt'",
        f"'notes\\\\/a.txt' {doubled}; write 'notes/a.txt'",
        f"the link '../..//static/style.css' {doubled}; write '../../static/style.css'",
        f"the link '..%2f..%2Frules/?x=a//b#c%2F' {encoded}; write '../../rules/?x=a//b#c%2F'",
        "the link '../..//rules/gone/' is not a page of the site; the link will be broken",
    ]
    # Published all the same, under the name most servers read.
    assert (scratch_project.out / "charters/routing/notes/a.txt").read_text() == "a\n"
    checked = run_cli("check", "--source", scratch_project.root).output
    assert checked.count("link-target warning") == len(warned)  # as build warns
