"""Files for other tools (feed, sitemap, robots, JSON, CSV, 404) and the strict-hosting rules.

The shapes asserted here are the ones docs/outputs.md documents.
"""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import date
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from xml.etree import ElementTree

import pytest
import yaml
from factory import ab, charter_data, row, view
from helpers import EXAMPLES_DAY, ExamplesBuild, ScratchProject, at, parse_html

from generator.analyze import analyze_project
from generator.load import load_project
from generator.outputs import charter_feed, feed_context
from generator.pages import fold
from generator.paths import parse_base_url

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
RESULTS_CSV = """\
date,metric,variant,value,n,std,note
2026-05-04,ttfr,control,6.1,4210,3.9,
2026-05-04,ttfr,treatment,5.0,4188,3.5,"first week, partial"
2026-05-11,ttfr,,5.2,,,
"""


def scratch(project: ScratchProject, base_url: str | None) -> Path:
    site: dict[str, str] = {"title": "Charters"}
    if base_url is not None:
        site["base_url"] = base_url
    project.write("site.yaml", yaml.safe_dump(site))
    project.charter(
        "routing",
        decisions=[{"date": "2026-05-20", "decision": "Ship it.", "rationale": "TTFR *fell*."}],
        tags=["nlp", "support"],
        team="Support Engineering",
    )
    project.write("charters/routing/results/ab.csv", RESULTS_CSV)
    project.charter("fraud", title="Fraud scoring", status="proposed", human_baseline=None)
    result = project.build()
    assert result.ok, [d.format_text() for d in result.diagnostics]
    return project.out


# --- base_url --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "absolute", "path", "host"),
    [
        (None, None, None, None),
        ("", None, None, None),
        ("https://ml.example.com/charters", "https://ml.example.com/charters/", "/charters/",
         "ml.example.com"),
        ("http://intra:8080/", "http://intra:8080/", "/", "intra"),
        ("/ml/charters", None, "/ml/charters/", None),
        ("ml/charters/", None, "/ml/charters/", None),
        ("/", None, "/", None),
    ],
)  # fmt: skip
def test_base_url_is_split_into_absolute_url_and_path(
    value: str | None, absolute: str | None, path: str | None, host: str | None
) -> None:
    base = parse_base_url(value)
    assert (base.absolute, base.path, base.host) == (absolute, path, host)


# --- the examples, built with a full base_url ------------------------------------------


def test_api_lists_every_charter_with_its_business_metrics(examples_build: ExamplesBuild) -> None:
    out = examples_build.out
    api = json.loads((out / "api/charters.json").read_text(encoding="utf-8"))
    assert api["api_version"] == 1
    assert api["site"]["base_url"] == "https://ml.example.com/charters/"
    assert api["site"]["as_of"] == EXAMPLES_DAY
    # The weekly charters whose newest results are more than two weeks old by then.
    overdue = {c["id"] for c in api["charters"] if c["results_overdue"]}
    assert overdue == {
        "agent-reply-suggestions", "card-fraud-detection", "query-autocomplete",
        "support-ticket-routing",
    }  # fmt: skip
    assert not any(c["goalpost_moved"] for c in api["charters"])  # no history: not in git
    ids = [c["id"] for c in api["charters"]]
    folders = sorted(p.name for p in (examples_build.source / "charters").iterdir() if p.is_dir())
    assert ids == folders
    for charter in api["charters"]:
        assert set(charter) >= {
            "id", "title", "summary", "status", "status_label", "owner", "team", "tags", "path",
            "url", "human_baseline", "latest_result", "business_metrics", "results", "verdict",
            "verdict_label", "goalpost_moved", "results_overdue", "verdict_by_edit",
        }  # fmt: skip
        assert charter["url"] == "https://ml.example.com/charters/" + charter["path"]
        assert (out / charter["path"] / "index.html").is_file()
        assert (out / charter["results"]["json"]).is_file()
        assert (out / charter["results"]["csv"]).is_file()
        assert charter["human_baseline"] in ("done", "waived", "missing")
        assert charter["business_metrics"]
        for metric in charter["business_metrics"]:
            assert set(metric) == {
                "id", "name", "unit", "direction", "baseline", "target", "human_baseline",
                "latest", "progress", "target_met", "original_target", "original_baseline",
                "original_direction", "original_unit", "original_definition", "catalogue_page",
            }  # fmt: skip
            if metric["latest"] is not None:
                assert set(metric["latest"]) == {"date", "value", "variant"}
            page = metric["catalogue_page"]
            if page is not None:
                assert page == f"metrics/{metric['id']}/" and (out / page / "index.html").is_file()
    catalogued = {
        (c["id"], m["id"])
        for c in api["charters"]
        for m in c["business_metrics"]
        if m["catalogue_page"]
    }
    assert ("search-ranking", "revenue_per_search") in catalogued
    assert ("query-autocomplete", "search_conversion") in catalogued


def test_results_downloads_hold_every_row_and_are_linked(examples_build: ExamplesBuild) -> None:
    out = examples_build.out
    for folder in sorted((out / "charters").iterdir()):
        if 'http-equiv="refresh"' in (folder / "index.html").read_text(encoding="utf-8"):
            continue  # the redirect at a renamed charter's old address (aliases)
        data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
        rows = list(csv.DictReader(io.StringIO((folder / "results.csv").read_text("utf-8"))))
        assert data["charter"] == folder.name
        assert len(rows) == len(data["rows"])
        if rows:
            assert list(rows[0]) == data["columns"]
        for from_csv, from_json in zip(rows, data["rows"], strict=True):
            assert float(from_csv["value"]) == from_json["value"]
            assert (
                from_csv["date"] == from_json["date"] and from_csv["source"] == from_json["source"]
            )
            assert from_json["source"].startswith(f"charters/{folder.name}/")
        hrefs = {a.attrs.get("href") for a in parse_html(folder / "index.html").find_all("a")}
        if rows:
            assert {"results.csv", "results.json"} <= hrefs, folder.name


def test_feed_is_atom_with_stable_ids_newest_first(examples_build: ExamplesBuild) -> None:
    feed = ElementTree.parse(examples_build.out / "feed.xml").getroot()
    assert feed.tag == f"{ATOM}feed"
    assert feed.findtext(f"{ATOM}id") == "https://ml.example.com/charters/feed.xml"
    entries = feed.findall(f"{ATOM}entry")
    assert entries
    ids = [e.findtext(f"{ATOM}id") or "" for e in entries]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("tag:ml.example.com,20") for i in ids)
    updated = [e.findtext(f"{ATOM}updated") or "" for e in entries]
    assert updated == sorted(updated, reverse=True)
    assert feed.findtext(f"{ATOM}updated") == updated[0]
    kinds = {e.find(f"{ATOM}category").attrib["term"] for e in entries}  # type: ignore[union-attr]
    assert kinds == {"results", "decision"}
    decisions = sum(
        len(yaml.safe_load(p.read_text("utf-8")).get("decisions") or [])
        for p in (examples_build.source / "charters").glob("*/charter.yaml")
    )
    assert sum(1 for e in entries if "/decisions/" in (e.findtext(f"{ATOM}id") or "")) == decisions
    for entry in entries:
        link = entry.find(f"{ATOM}link").attrib["href"]  # type: ignore[union-attr]
        assert link.startswith("https://ml.example.com/charters/charters/")
        assert entry.findtext(f"{ATOM}author/{ATOM}name")


def test_the_feeds_link_to_the_site_is_its_front_page_whatever_the_base_url(
    examples_build: ExamplesBuild,
) -> None:
    """Without a base_url the feed's link to the site was `href=""`, which a reader
    resolves to the feed's own address."""
    project, _ = load_project(examples_build.source, date.fromisoformat(EXAMPLES_DAY))
    views = analyze_project(project)
    homes = {
        base: feed_context(project, views, parse_base_url(base))["home"]
        for base in (None, "/charters/", "https://ml.example.com/charters/")
    }
    assert homes == {
        None: "./",
        "/charters/": "/charters/",
        "https://ml.example.com/charters/": "https://ml.example.com/charters/",
    }
    assert urljoin("https://intranet.example/portfolio/feed.xml", homes[None]) == (
        "https://intranet.example/portfolio/"
    )


def test_a_feed_entry_gives_the_newest_date_of_a_metrics_rows_and_their_number(
    examples_build: ExamplesBuild,
) -> None:
    """The newest date of any arm (control too), and how many rows of every arm have it."""
    charter = "agent-reply-suggestions"
    path = examples_build.source / "charters" / charter / "results" / "weekly-ab.csv"
    rows = [r for r in csv.DictReader(io.StringIO(path.read_text("utf-8")))]
    feed = ElementTree.parse(examples_build.out / "feed.xml").getroot()
    for metric in ("handle_minutes", "suggestion_acceptance"):
        days = [r["date"] for r in rows if r["metric"] == metric]
        newest = max(days)
        (entry,) = [
            e
            for e in feed.findall(f"{ATOM}entry")
            if (e.findtext(f"{ATOM}id") or "").endswith(f"charters/{charter}/results/{metric}")
        ]
        assert entry.findtext(f"{ATOM}updated") == f"{newest}T00:00:00Z"
        count = days.count(newest)
        rows_text = f"{count} result row{'s' if count != 1 else ''} dated {newest}."
        assert (entry.findtext(f"{ATOM}summary") or "").endswith(rows_text), metric


def test_a_feed_entry_dates_a_latest_value_older_than_the_entry() -> None:
    """Only the control arm has rows of the newest date: the entry is dated by them, and
    its latest value, the treatment's of a week before, read as that day's (a number
    quietly stale). It gives its own date; a latest value of the entry's date none."""
    rows = [*ab("2026-03-01", "conv", 10.0, 10.4, n=5000)]
    rows.append(row("2026-03-08", "conv", 10.1, "control"))
    entry = next(e for e in charter_feed(view(charter_data(), rows), parse_base_url(None)))
    assert entry.updated.startswith("2026-03-08")
    assert entry.summary.startswith("Latest 10.4% (treatment, dated 2026-03-01); baseline")
    both = [*rows, row("2026-03-08", "conv", 10.6, "treatment")]
    entry = next(e for e in charter_feed(view(charter_data(), both), parse_base_url(None)))
    assert entry.summary.startswith("Latest 10.6% (treatment); baseline")


def test_sitemap_and_robots_use_the_full_base_url(examples_build: ExamplesBuild) -> None:
    out = examples_build.out
    urlset = ElementTree.parse(out / "sitemap.xml").getroot()
    locs = [u.findtext(f"{SITEMAP}loc") for u in urlset.findall(f"{SITEMAP}url")]
    # Every charter, not the redirects at renamed charters' old addresses.
    charters = sorted(p.name for p in (examples_build.source / "charters").iterdir())
    site = "https://ml.example.com/charters/"
    teams = sorted(p.name for p in (out / "teams").iterdir() if p.is_dir())
    assert locs == [
        site,
        *(f"{site}charters/{c}/" for c in charters),
        f"{site}metrics/",
        f"{site}metrics/search_conversion/",
        f"{site}metrics/revenue_per_search/",
        f"{site}teams/",
        *(f"{site}teams/{t}/" for t in teams),
    ]
    assert len(teams) == 7 and "search-discovery" in teams
    # A metric page is as fresh as the newest result of the charters that claim it.
    urls = {u.findtext(f"{SITEMAP}loc"): u.findtext(f"{SITEMAP}lastmod") for u in urlset}
    assert urls[f"{site}metrics/search_conversion/"] == "2026-11-08"
    assert urls[f"{site}teams/search-discovery/"] == "2026-11-08"
    robots = (out / "robots.txt").read_text(encoding="utf-8")
    assert "User-agent: *" in robots
    assert "Sitemap: https://ml.example.com/charters/sitemap.xml" in robots.splitlines()


def test_a_relative_link_to_a_file_of_the_charter_is_copied(examples_build: ExamplesBuild) -> None:
    # support-ticket-routing links `results/ab-test.csv`, relative to its folder.
    page = examples_build.out / "charters/support-ticket-routing"
    assert "results/ab-test.csv" in {
        a.attrs.get("href") for a in parse_html(page / "index.html").iter()
    }
    assert (page / "results/ab-test.csv").read_bytes() == (
        examples_build.source / "charters/support-ticket-routing/results/ab-test.csv"
    ).read_bytes()


# --- strict hosting --------------------------------------------------------------------


def test_pages_have_no_inline_script_or_style(examples_build: ExamplesBuild) -> None:
    """The site must work under `Content-Security-Policy: default-src 'self'`."""
    pages = sorted(examples_build.out.rglob("*.html"))
    assert len(pages) > 5
    for path in pages:
        root = parse_html(path)
        assert not root.find_all("style"), path
        for el in root.iter():
            assert "style" not in el.attrs, (path, el.tag)
            assert not [a for a in el.attrs if a.startswith("on")], (path, el.tag)
            if el.tag == "script":
                assert el.attrs.get("src") and "defer" in el.attrs and not el.text(), path
        # Charts are images: their own inline styles never meet the page's policy.
        for name in ("object", "embed", "iframe", "svg"):
            assert not root.find_all(name), (path, name)


def test_portfolio_rows_carry_the_search_index(examples_build: ExamplesBuild) -> None:
    root = parse_html(examples_build.out / "index.html")
    form = root.find("form", id="finder")
    assert "hidden" in form.attrs  # shown by site.js; without JavaScript the table is all
    rows = [tr for tr in root.find_all("tr") if "data-search" in tr.attrs]
    api = json.loads((examples_build.out / "api/charters.json").read_text(encoding="utf-8"))
    assert sorted(tr.attrs["data-id"] or "" for tr in rows) == [c["id"] for c in api["charters"]]
    by_id = {c["id"]: c for c in api["charters"]}
    for tr in rows:
        charter = by_id[tr.attrs["data-id"] or ""]
        text = tr.attrs["data-search"] or ""
        assert fold(charter["owner"]["name"]) in text
        assert fold(charter["title"]) in text
        for metric in charter["business_metrics"]:
            assert fold(metric["name"]) in text
        assert tr.attrs["data-status"] == charter["status"]
        assert tr.attrs["data-team"] == (charter["team"] or "")
        assert json.loads(tr.attrs["data-tags"] or "") == charter["tags"]
        assert tr.attrs["data-verdict"] == charter["verdict"]
    scripts = [s.attrs.get("src") for s in root.find_all("script")]
    assert scripts == ["static/site.js"]


def test_normal_build_has_no_live_reload(examples_build: ExamplesBuild) -> None:
    for path in examples_build.out.rglob("*.html"):
        assert "__charters__" not in path.read_text(encoding="utf-8"), path
    assert not list(examples_build.out.rglob("livereload.js"))


# --- without a full base_url -----------------------------------------------------------


def test_path_base_url_omits_the_sitemap_and_links_from_the_path(
    scratch_project: ScratchProject,
) -> None:
    out = scratch(scratch_project, "/ml/charters")
    assert not (out / "sitemap.xml").exists()
    robots = (out / "robots.txt").read_text(encoding="utf-8")
    assert "Sitemap:" not in robots
    not_found = parse_html(out / "404.html")
    refs = [el.attrs.get("href") or el.attrs.get("src") for el in not_found.iter()]
    local = [r for r in refs if r and not r.startswith(("#", "http"))]
    assert local and all(r.startswith("/ml/charters/") for r in local), local
    feed = ElementTree.parse(out / "feed.xml").getroot()
    for entry in feed.findall(f"{ATOM}entry"):
        assert (entry.findtext(f"{ATOM}id") or "").startswith("tag:metric-charters.invalid,")
        href = entry.find(f"{ATOM}link").attrib["href"]  # type: ignore[union-attr]
        assert href.startswith("/ml/charters/charters/routing/")
    api = json.loads((out / "api/charters.json").read_text(encoding="utf-8"))
    assert [c["url"] for c in api["charters"]] == [
        "/ml/charters/charters/fraud/",
        "/ml/charters/charters/routing/",
    ]


def test_no_base_url_links_relatively(scratch_project: ScratchProject) -> None:
    out = scratch(scratch_project, None)
    assert not (out / "sitemap.xml").exists()
    assert "Sitemap:" not in (out / "robots.txt").read_text(encoding="utf-8")
    refs = {
        el.attrs.get("href") or el.attrs.get("src") for el in parse_html(out / "404.html").iter()
    }
    assert {"index.html", "static/style.css", "static/site.js"} <= refs
    feed = ElementTree.parse(out / "feed.xml").getroot()
    links = [e.find(f"{ATOM}link").attrib["href"] for e in feed.findall(f"{ATOM}entry")]  # type: ignore[union-attr]
    assert links and all(urlsplit(h).path.startswith("charters/routing/") for h in links)


def test_results_csv_keeps_values_exactly(scratch_project: ScratchProject) -> None:
    out = scratch(scratch_project, None)
    text = (out / "charters/routing/results.csv").read_text(encoding="utf-8")
    assert text.splitlines() == [
        "date,metric,variant,value,lower,upper,n,std,note,source",
        "2026-05-04,ttfr,control,6.1,,,4210,3.9,,charters/routing/results/ab.csv:2:1",
        '2026-05-04,ttfr,treatment,5,,,4188,3.5,"first week, partial",'
        "charters/routing/results/ab.csv:3:1",
        "2026-05-11,ttfr,,5.2,,,,,,charters/routing/results/ab.csv:4:1",
    ]  # fmt: skip
    assert (out / "charters/fraud/results.csv").read_text(encoding="utf-8").count("\n") == 1


def test_a_value_written_minus_zero_is_zero_in_every_download(
    scratch_project: ScratchProject,
) -> None:
    """A value written `-0` was `0` on the page and in results.csv but `-0.0` in
    results.json: the downloads disagreed about the same row."""
    scratch_project.charter(measurement="\n  method: before_after\n  population: All tickets.")
    scratch_project.write(
        "charters/routing/results/production.csv",
        "date,metric,value,lower,upper\n2026-05-04,ttfr,-0,-0.0,0.5\n",
    )
    assert scratch_project.build().ok
    folder = scratch_project.out / "charters/routing"
    (record,) = json.loads((folder / "results.json").read_text(encoding="utf-8"))["rows"]
    assert [str(record[k]) for k in ("value", "lower", "upper")] == ["0.0", "0.0", "0.5"]
    (row,) = csv.DictReader(io.StringIO((folder / "results.csv").read_text(encoding="utf-8")))
    assert [row[k] for k in ("value", "lower", "upper")] == ["0", "0", "0.5"]
    api = json.loads((scratch_project.out / "api/charters.json").read_text(encoding="utf-8"))
    (metric,) = api["charters"][0]["business_metrics"]
    assert str(metric["latest"]["value"]) == "0.0", metric


def test_outputs_are_the_same_bytes_on_every_build(
    scratch_project: ScratchProject, tmp_path: Path
) -> None:
    scratch(scratch_project, "https://intra.example.org/ml/")
    one = tmp_path / "one"
    two = tmp_path / "two"
    assert scratch_project.build(one).ok and scratch_project.build(two).ok
    names = [
        "feed.xml", "sitemap.xml", "robots.txt", "404.html", "api/charters.json",
        "charters/routing/results.json", "charters/routing/results.csv",
    ]  # fmt: skip
    for name in names:
        assert (one / name).read_bytes() == (two / name).read_bytes(), name


def test_a_link_to_a_missing_file_is_a_warning(scratch_project: ScratchProject) -> None:
    scratch_project.charter("routing", links=[{"title": "Raw data", "url": "data/raw.csv"}])
    result = scratch_project.build()
    assert result.ok
    warnings = [d.format_text() for d in result.diagnostics if d.severity == "warning"]
    assert [w for w in warnings if "links[0].url" in w] == [
        "charters/routing/charter.yaml:23:10: links[0].url: 'data/raw.csv' is not a file in the"
        " charter's folder; the link will be broken"
    ]


def test_a_link_to_a_folder_or_a_pipe_is_a_warning(scratch_project: ScratchProject) -> None:
    """Only files are published: a link to a folder or a named pipe shipped a dead link
    without a word, where a missing file was warned of."""
    links = [{"title": "Data", "url": "data"}, {"title": "Feed", "url": "feed.csv"}]
    scratch_project.charter("routing", links=links)
    (scratch_project.root / "charters/routing/data").mkdir()
    os.mkfifo(scratch_project.root / "charters/routing/feed.csv")
    result = scratch_project.build()
    assert result.ok
    warnings = [d.message for d in result.diagnostics if d.field.startswith("links[")]
    assert warnings == [
        "'data' is a folder, not a file; the link will be broken",
        "'feed.csv' is not a regular file; the link will be broken",
    ]


def test_a_link_is_looked_up_as_a_server_decodes_it(scratch_project: ScratchProject) -> None:
    """`%61.csv` is `a.csv` to a server: it was warned of as missing, and not published;
    `results/` is a folder of the charter's, which no page is made for, and was let by."""
    links = [
        {"title": "Encoded", "url": "%61.csv"},
        {"title": "Spaced", "url": "my%20notes.txt"},
        {"title": "Results", "url": "results/"},
        {"title": "This page", "url": "./"},
        {"title": "Null", "url": "x%00.csv"},
        {"title": "Not UTF-8", "url": "%ff.txt"},
        {"title": "Backslash", "url": "notes\\b.txt"},  # a browser asks for notes/b.txt
    ]
    scratch_project.charter("routing", links=links)
    scratch_project.write("charters/routing/notes/b.txt", "b\n")
    scratch_project.write("charters/routing/a.csv", "a,b\n1,2\n")
    scratch_project.write("charters/routing/my notes.txt", "notes\n")
    scratch_project.write("charters/routing/\ufffd.txt", "not what %ff asks for\n")
    scratch_project.write("charters/routing/results/r.csv", "date,metric,value\n")
    result = scratch_project.build()
    assert result.ok
    warnings = [(d.field, d.message) for d in result.diagnostics if d.field.startswith("links[")]
    assert warnings == [
        ("links[2].url", "'results/' is a folder, not a file; the link will be broken"),
        (
            "links[4].url",
            "'x%00.csv' is not a file in the charter's folder; the link will be broken",
        ),
        (
            "links[5].url",
            "'%ff.txt' is not a file in the charter's folder; the link will be broken",
        ),
    ]
    out = scratch_project.out / "charters/routing"
    assert (out / "a.csv").read_text() == "a,b\n1,2\n"
    assert (out / "my notes.txt").read_text() == "notes\n"
    assert (out / "notes/b.txt").read_text() == "b\n"


def test_a_linked_file_never_replaces_a_generated_one(scratch_project: ScratchProject) -> None:
    scratch_project.charter(
        "routing",
        links=[
            {"title": "Old page", "url": "index.html"},
            {"title": "Notes", "url": "notes/readme.txt"},
        ],
    )
    scratch_project.write("charters/routing/index.html", "<p>not the charter page</p>")
    scratch_project.write("charters/routing/notes/readme.txt", "notes")
    assert scratch_project.build().ok
    out = scratch_project.out / "charters/routing"
    assert "not the charter page" not in (out / "index.html").read_text(encoding="utf-8")
    assert (out / "notes/readme.txt").read_text(encoding="utf-8") == "notes"


def test_a_link_to_a_generated_file_is_not_warned_of(scratch_project: ScratchProject) -> None:
    # The page and its downloads are there on the site though not in the source: each
    # was warned of as "not a file in the charter's folder; the link will be broken".
    # `.` is the page too: it was warned of as a folder.
    urls = ["index.html", "results.csv", "results.json#rows", "%69ndex.html", "x/../results.csv"]
    urls += [".", "./#objective"]
    links = [{"title": f"Link {i}", "url": url} for i, url in enumerate(urls)]
    scratch_project.charter("routing", links=links)
    result = scratch_project.build()
    assert result.ok
    assert [d.message for d in result.diagnostics if d.field.startswith("links[")] == []


def test_a_link_to_a_chart_not_drawn_is_warned_of(scratch_project: ScratchProject) -> None:
    # A metric's charts are drawn once it has results: a link to `ttfr.svg` before then
    # was taken as good (the name is one the build writes) and was broken on the site.
    links = [{"title": "Chart", "url": "ttfr.svg"}, {"title": "Lift", "url": "ttfr-lift.svg"}]
    summary = " See [the chart](ttfr.svg) and [the lift](./ttfr-lift.svg#plot)."
    text = scratch_project.minimal_charter(summary=summary, links=links)
    scratch_project.charter("routing", text=text)
    no_rows = "'ttfr.svg' is the chart of the metric 'ttfr', which has no result rows yet"
    no_lift = (
        "is the lift chart of the metric 'ttfr', which has no lift of a treatment over control yet"
    )
    broken = "; the link will be broken"

    def warned() -> list[tuple[str, str]]:
        result = scratch_project.build()
        assert result.ok
        return [(d.field, d.message) for d in result.diagnostics if d.code == "link-target"]

    assert warned() == [
        ("links[0].url", no_rows + broken),
        ("links[1].url", f"'ttfr-lift.svg' {no_lift}{broken}"),
        ("summary", f"the link {no_rows}{broken}"),
        ("summary", f"the link './ttfr-lift.svg#plot' {no_lift}{broken}"),
    ]
    out = scratch_project.out / "charters/routing"
    assert not (out / "ttfr.svg").exists() and not (out / "ttfr-lift.svg").exists()
    rows = ["date,metric,variant,value,n,std", "2026-05-04,ttfr,control,6.1,400,2.0"]
    scratch_project.write("charters/routing/results/r.csv", "\n".join(rows) + "\n")
    assert warned() == [
        ("links[1].url", f"'ttfr-lift.svg' {no_lift}{broken}"),
        ("summary", f"the link './ttfr-lift.svg#plot' {no_lift}{broken}"),
    ]
    rows.append("2026-05-04,ttfr,treatment,5.2,410,2.0")
    scratch_project.write("charters/routing/results/r.csv", "\n".join(rows) + "\n")
    assert warned() == []
    assert (out / "ttfr.svg").is_file() and (out / "ttfr-lift.svg").is_file()


def test_a_link_into_a_folder_named_as_a_generated_file_is_refused(
    scratch_project: ScratchProject,
) -> None:
    # `index.html/x.txt` was published: the folder `index.html` replaced the charter's
    # page, and the build said nothing.
    links = [
        {"title": "Notes", "url": "index.html/x.txt"},
        {"title": "Plot", "url": "ttfr.svg/y.txt"},
    ]
    scratch_project.charter("routing", links=links)
    scratch_project.write("charters/routing/index.html/x.txt", "x\n")
    scratch_project.write("charters/routing/ttfr.svg/y.txt", "y\n")
    result = scratch_project.build()
    assert not result.ok
    problems = [(d.field, d.message) for d in result.diagnostics if d.code == "link-target"]
    assert problems == [
        (
            f"links[{i}].url",
            f"{url!r} is in a folder named {url.split('/')[0]!r}, as a file the build writes"
            " beside the charter's page is: published, it would replace that file; rename the"
            " folder",
        )
        for i, url in enumerate(["index.html/x.txt", "ttfr.svg/y.txt"])
    ]
    assert not scratch_project.out.exists()


def test_a_link_written_to_leave_the_folder_is_one_error(scratch_project: ScratchProject) -> None:
    # `../` was refused twice, once as leaving "through a symbolic link", which it does not.
    scratch_project.charter("other")
    scratch_project.write("charters/other/notes.txt", "notes\n")
    links = [{"title": "Theirs", "url": "../other/notes.txt"}]
    scratch_project.charter("routing", links=[{"title": "Up", "url": "../"}, *links])
    assert [e.rsplit(": ", 1)[-1] for e in scratch_project.errors()] == [
        "relative URL leaves the charter's folder",
        "relative URL leaves the charter's folder",
    ]


def test_a_link_that_leaves_the_folder_only_as_a_server_reads_it_is_refused(
    scratch_project: ScratchProject,
) -> None:
    # The model read `%5C` as a slash (`a/b/../..` stays inside), links.py as a backslash
    # in a name (`a\b/../..` leaves): published as `charters/routing/../routing/results.csv`
    # beside the download, it failed every later build into the same folder.
    links = [{"title": "Rows", "url": "a%5Cb/../../routing/results.csv"}]
    text = scratch_project.charter("routing", links=links)
    (error,) = scratch_project.errors()
    assert error == (
        f"charters/routing/charter.yaml:{at(text, 'url: ', 'a%5Cb')}: links[0].url: relative"
        " URL leaves the charter's folder"
    )


def test_a_linked_file_is_published_under_the_name_the_link_asks_for(
    scratch_project: ScratchProject,
) -> None:
    # `latest.txt`, a link to `2026-05.txt`, was published as `2026-05.txt`: the page's
    # link to latest.txt was broken, without a word.
    scratch_project.charter("routing", links=[{"title": "Latest", "url": "notes/latest.txt"}])
    scratch_project.write("charters/routing/notes/2026-05.txt", "May\n")
    (scratch_project.root / "charters/routing/notes/latest.txt").symlink_to("2026-05.txt")
    result = scratch_project.build()
    assert result.ok
    assert [d.message for d in result.diagnostics if d.field.startswith("links[")] == []
    out = scratch_project.out / "charters/routing/notes"
    assert sorted(p.name for p in out.iterdir()) == ["latest.txt"]
    assert (out / "latest.txt").read_text() == "May\n"


#: feed.xml as it was before each entry's XML was made with the entry: a user's copy of
#: it must still work, and give the very bytes of the built-in one.
FEED_LOOP = """\
<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>{{ site.title }}: results and decisions</title>
  {% if site.description %}
  <subtitle>{{ site.description }}</subtitle>
  {% endif %}
  <id>{{ feed.id }}</id>
  <updated>{{ feed.updated }}</updated>
  <link rel="self" type="application/atom+xml" href="{{ feed.self }}"/>
  <link rel="alternate" type="text/html" href="{{ feed.home }}"/>
  <author><name>{{ site.title }}</name></author>
  <generator version="{{ generator_version }}">metric charters</generator>
  {% for e in feed.entries %}
  <entry>
    <id>{{ e.id }}</id>
    <title>{{ e.title }}</title>
    <updated>{{ e.updated }}</updated>
    <author><name>{{ e.author }}</name></author>
    <link rel="alternate" type="text/html" href="{{ e.link }}"/>
    <category term="{{ e.kind }}"/>
    <summary type="text">{{ e.summary }}</summary>
  </entry>
  {% endfor %}
</feed>
"""


def test_a_feed_template_of_the_users_gets_every_entrys_fields(
    scratch_project: ScratchProject,
) -> None:
    out = scratch(scratch_project, "https://ml.example.com/charters")
    scratch_project.charter(
        "routing",
        title='Routing <"fast"> & fair',
        owner={"name": "Ana O'Neil", "email": "ana@example.com"},
        decisions=[{"date": "2026-05-20", "decision": "Ship <it> & see.", "rationale": "A & B."}],
    )
    assert scratch_project.build().ok
    built_in = (out / "feed.xml").read_bytes()
    assert (
        b"<title>Routing &lt;&#34;fast&#34;&gt; &amp; fair: Ship &lt;it&gt; &amp; see.</title>"
        in (built_in)
    )
    assert b"<author><name>Ana O&#39;Neil</name></author>" in built_in
    scratch_project.write("templates/feed.xml", FEED_LOOP)
    assert scratch_project.build().ok
    assert (out / "feed.xml").read_bytes() == built_in
    scratch_project.write("templates/feed.xml", FEED_LOOP.replace("e.title }}", "e.title|upper }}"))
    assert scratch_project.build().ok
    feed = ElementTree.parse(out / "feed.xml").getroot()
    titles = [e.findtext(f"{ATOM}title") for e in feed.findall(f"{ATOM}entry")]
    assert 'ROUTING <"FAST"> & FAIR: SHIP <IT> & SEE.' in titles
