"""Outputs stage: files for other tools: feeds, sitemap, JSON API, CSV, linked files, 404.

Everything here is a pure function of the loaded project, so two builds of the
same input give the same bytes: JSON keys are sorted with a fixed indent, CSV
has fixed columns and `\\n` line ends, and dates come from the charters, never
from the clock. The shapes are documented in docs/outputs.md.

Absolute URLs need `site.yaml`'s `base_url` as a full URL (`https://host/path/`).
When it is missing or only a path, the sitemap is left out (sitemaps must hold
absolute URLs) and the feed links relatively.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any

from markupsafe import Markup, escape

from .aliases import redirect_pages
from .analyze import CharterView, MetricView
from .bidi import isolate_text
from .formatting import (
    exact_number,
    fmt_percent,
    fmt_value,
    json_list,
    json_object,
    json_text,
    plural,
    spreadsheet_row,
)
from .history import History
from .load import Project, Result
from .pages import Templates, fold, plain_text
from .paths import BaseUrl, parse_base_url
from .portfolio import catalogued_metrics, teams
from .reuse import Reuse
from .spool import Content, Spool
from .vocabulary import label

API_VERSION = 1
RESULT_COLUMNS = ("date", "metric", "variant", "value", "lower", "upper", "n", "std", "note")
# Feed ids need an authority; without a full base_url there is none, and the
# reserved `.invalid` domain says so (RFC 2606) while keeping the id a valid tag URI.
FALLBACK_AUTHORITY = "metric-charters.invalid"
FALLBACK_TAG_DATE = "2026"


# ---------------------------------------------------------------------------
# Files for other tools.


def _pretty(data: Any) -> str:
    """JSON as the outputs write it: indented by two, keys sorted, text as it is."""
    return json_text(data, indent=2, sort_keys=True, ensure_ascii=False)


def _dumps(data: Any) -> bytes:
    return (_pretty(data) + "\n").encode()


def _result_record(result: Result) -> dict[str, Any]:
    return {**result.record(), "source": str(result.ref)}


_json_string = json.encoder.encode_basestring  # as json.dumps(..., ensure_ascii=False)


def flat_json(record: dict[str, Any]) -> str:
    """`_pretty(record)`, the same text, made without the json module's indenting encoder
    (written in Python, and a results.json has a record per result row) when every key is
    a string and every value a string, number, boolean or None, as a result row's are; by
    `_pretty` otherwise."""
    if not all(type(key) is str for key in record):
        return _pretty(record)
    lines = []
    for key in sorted(record):
        value = record[key]
        kind = type(value)
        if kind is str:
            text = _json_string(value)
        elif kind is float:
            text = repr(value or 0.0) if math.isfinite(value) else "null"  # as json_ready
        elif kind is int:
            text = int.__repr__(value)
        elif value is None:
            text = "null"
        elif kind is bool:
            text = "true" if value else "false"
        else:
            return _pretty(record)
        lines.append(f"  {_json_string(key)}: {text}")
    return "{\n" + ",\n".join(lines) + "\n}" if lines else "{}"


def results_json(view: CharterView) -> bytes:
    """Every result row of the charter as JSON, the same bytes as one `json.dumps` of it."""
    return b"".join(results_json_chunks(view))


def results_csv(view: CharterView) -> bytes:
    """Every result row of the charter as CSV."""
    return b"".join(results_csv_chunks(view))


CHUNK_ROWS = 4096  # result rows per chunk of a download


def results_json_chunks(view: CharterView) -> Iterator[bytes]:
    """`results_json` a few thousand rows at a time: a million rows are some 270 MB of
    JSON, written to the spool folder as they are made (generator/spool.py)."""
    head = _dumps(
        {
            "api_version": API_VERSION,
            "charter": view.id,
            "columns": [*RESULT_COLUMNS, "source"],
            "rows": [],
        }
    )
    results = view.loaded.results
    if not results:
        yield head
        return
    yield head.removesuffix(b"[]\n}\n") + b"[\n"
    last = len(results) - 1
    for start in range(0, len(results), CHUNK_ROWS):
        parts = []
        for i in range(start, min(start + CHUNK_ROWS, len(results))):
            record = _result_record(results[i])
            text = flat_json(record)
            parts.append("    " + text.replace("\n", "\n    ") + (",\n" if i < last else "\n"))
        yield "".join(parts).encode()
    yield b"  ]\n}\n"


def results_csv_chunks(view: CharterView) -> Iterator[bytes]:
    """`results_csv` a few thousand rows at a time, to be spooled as they are made."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*RESULT_COLUMNS, "source"])
    for count, result in enumerate(view.loaded.results, 1):
        row = result.row
        cells = [
            row.date.isoformat(),
            row.metric,
            row.variant or "",
            exact_number(row.value),
            "" if row.lower is None else exact_number(row.lower),
            "" if row.upper is None else exact_number(row.upper),
            "" if row.n is None else str(row.n),
            "" if row.std is None else exact_number(row.std),
            row.note or "",
            str(result.ref),
        ]
        writer.writerow(spreadsheet_row(cells))
        if count % CHUNK_ROWS == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def _metric_record(metric: MetricView, catalogued: bool = False) -> dict[str, Any]:
    latest = None
    if metric.latest is not None:
        latest = {
            "date": metric.latest.row.date.isoformat(),
            "value": metric.latest.row.value,
            "variant": metric.latest.row.variant,
        }
    return {
        "id": metric.id,
        "name": metric.name,
        "unit": metric.unit,
        "direction": metric.direction,
        "baseline": metric.baseline,
        "target": metric.target,
        "human_baseline": metric.human,
        "latest": latest,
        "progress": metric.progress,
        "target_met": metric.met,
        "original_target": metric.original_target,
        "original_baseline": metric.original_baseline,
        "original_direction": metric.original_direction,
        "original_unit": metric.original_unit,
        "original_definition": metric.original_definition,
        "catalogue_page": f"metrics/{metric.id}/" if catalogued else None,
    }


def charter_page(view: CharterView) -> str:
    return f"charters/{view.id}/"


def _api_record(project: Project, view: CharterView, base: BaseUrl) -> str:
    """A charter's record in api/charters.json, dumped alone (`json_list` nests it)."""
    c = view.charter
    page = charter_page(view)
    record: dict[str, Any] = {
        "id": view.id,
        "title": c.title,
        "summary": plain_text(c.summary),
        "status": c.status,
        "status_label": label(c.status, "status"),
        "owner": {"name": c.owner.name, "email": c.owner.email},
        "team": c.team,
        "tags": list(c.tags),
        "path": page,
        "url": base.link(page),
        "human_baseline": view.human_baseline_state,
        "latest_result": view.latest_date.isoformat() if view.latest_date else None,
        "business_metrics": [
            _metric_record(m, m.id in project.catalogue.metrics) for m in view.by_kind("business")
        ],
        "results": {"json": page + "results.json", "csv": page + "results.csv"},
        "verdict": view.verdict,
        "verdict_label": label(view.verdict, "verdict"),
        "goalpost_moved": view.goalpost_moved,
        "results_overdue": view.overdue is not None,
        "verdict_by_edit": view.edited_on,
    }
    return _pretty(record)


def charters_api(
    project: Project,
    views: Sequence[CharterView],
    base: BaseUrl,
    reuse: Reuse | None = None,
    today: date | None = None,
) -> bytes:
    """api/charters.json: the same bytes as one `_dumps` of it, put together from each
    charter's record dumped alone; with `reuse`, an unchanged charter's is kept
    (Reuse.api_entry: keyed by the charter, `base`, the targets its history moved and
    whether its results are overdue, all a record is made of but metrics.yaml, which
    the charter's key holds). `today` is the build date staleness was judged by."""
    records = []
    for view in sorted(views, key=lambda v: v.id):
        make = partial(_api_record, project, view, base)
        if reuse is None:
            records.append(make())
            continue
        context = repr((base, view.moved_goalposts, view.overdue is not None, view.edited_on))
        records.append(reuse.api_entry(view.id, context, make))
    site = {
        "title": project.site.title,
        "description": project.site.description,
        "base_url": base.absolute or base.path,
        "as_of": today.isoformat() if today is not None else None,
    }
    members = [
        ("api_version", json_text(API_VERSION)),
        ("charters", json_list(records)),
        ("site", _pretty(site)),
    ]
    return (json_object(members, ensure_ascii=False) + "\n").encode()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-") or "site"


def _tag(base: BaseUrl, when: str, specific: str) -> str:
    """A tag: URI (RFC 4151), stable across builds for the same entry."""
    authority = base.host or FALLBACK_AUTHORITY
    prefix = base.path or "/"
    return f"tag:{authority},{when}:{prefix}{specific}"


def _timestamp(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


@dataclass(frozen=True)
class FeedEntry:
    """An entry of feed.xml; `xml` is the entry as the built-in feed.xml writes it, made
    (and escaped) once, when the entry is made, and kept with it in the cache."""

    id: str
    title: str
    updated: str
    author: str
    link: str
    kind: str
    summary: str
    sort_key: tuple[str, str, str, str]
    xml: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "xml", entry_xml(self))


def entry_xml(e: FeedEntry) -> str:
    """`e` as an <entry> of the built-in feed.xml, each field escaped as Jinja's autoescape
    does (markupsafe), every line ended: the bytes its loop over the entries wrote."""
    id_, title, author, link, kind, summary = (
        escape(x) for x in (e.id, e.title, e.author, e.link, e.kind, e.summary)
    )
    return (
        f"  <entry>\n    <id>{id_}</id>\n    <title>{title}</title>\n"
        f"    <updated>{escape(e.updated)}</updated>\n"
        f"    <author><name>{author}</name></author>\n"
        f'    <link rel="alternate" type="text/html" href="{link}"/>\n'
        f'    <category term="{kind}"/>\n'
        f'    <summary type="text">{summary}</summary>\n  </entry>\n'
    )


def feed_entries(
    views: Sequence[CharterView], base: BaseUrl, reuse: Reuse | None = None
) -> list[FeedEntry]:
    """The newest result of each charter's metric, and every decision; newest first. With
    `reuse`, an unchanged charter's entries are kept (Reuse.feed_of: keyed by the charter
    and `base`, all they are made of)."""
    entries: list[FeedEntry] = []
    for view in views:
        make = partial(charter_feed, view, base)
        entries += make() if reuse is None else reuse.feed_of(view.id, repr(base), make)
    entries.sort(key=lambda e: e.sort_key)
    entries.reverse()
    return entries


def charter_feed(view: CharterView, base: BaseUrl) -> list[FeedEntry]:
    """One charter's feed entries: the newest result of each metric, and each decision."""
    entries: list[FeedEntry] = []
    c = view.charter
    page = base.link(charter_page(view))
    for metric in view.metrics:
        if metric.newest is None:  # no rows
            continue
        day, rows = metric.newest
        parts = []
        beside = metric.together  # each number told from the others, as on the pages
        if metric.latest is not None:
            latest = fmt_value(metric.latest.row.value, metric.unit, apart=beside)
            # Dated when older than the entry: a control arm's newer rows, say.
            said = [metric.latest.row.variant or ""]
            if metric.latest.row.date != day:
                said.append(f"dated {metric.latest.row.date.isoformat()}")
            told = ", ".join(x for x in said if x)
            parts.append(f"Latest {latest}" + (f" ({told})" if told else ""))
        if metric.baseline is not None:
            parts.append(f"baseline {fmt_value(metric.baseline, metric.unit, apart=beside)}")
        if metric.target is not None:
            parts.append(f"target {fmt_value(metric.target, metric.unit, apart=beside)}")
        if metric.progress is not None:
            parts.append(f"{fmt_percent(metric.progress)} of the way to target")
        parts.append(f"{plural(rows, 'result row')} dated {day.isoformat()}")
        entries.append(
            FeedEntry(
                id=_tag(base, day.isoformat(), f"charters/{view.id}/results/{metric.id}"),
                title=f"{isolate_text(c.title)}: new results for {isolate_text(metric.name)}",
                updated=_timestamp(day),
                author=c.owner.name,
                link=f"{page}#chart-{metric.id}",
                kind="results",
                summary="; ".join(parts) + ".",
                sort_key=(day.isoformat(), view.id, "results", metric.id),
            )
        )
    for index, decision in enumerate(c.decisions):
        summary = decision.decision
        if decision.rationale:
            summary += " " + plain_text(decision.rationale)
        entries.append(
            FeedEntry(
                id=_tag(base, decision.date.isoformat(), f"charters/{view.id}/decisions/{index}"),
                title=f"{isolate_text(c.title)}: {isolate_text(decision.decision)}",
                updated=_timestamp(decision.date),
                author=c.owner.name,
                link=f"{page}#decisions",
                kind="decision",
                summary=summary,
                sort_key=(decision.date.isoformat(), view.id, "decision", f"{index:06d}"),
            )
        )
    return entries


# The history events that get a feed entry: news a reader of the portfolio should see.
FEED_HISTORY = ("status", "rewritten", "verdict")


def history_entries(
    views: Sequence[CharterView], base: BaseUrl, history: History
) -> list[FeedEntry]:
    """Status and verdict changes and what a reviewer should look at (moved goalposts,
    rewritten results, an agreed business metric dropped), from each charter's history."""
    entries: list[FeedEntry] = []
    for view in views:
        page = base.link(charter_page(view))
        for index, event in enumerate(history.of(view.id).events):
            if not (event.flagged or event.kind in FEED_HISTORY):
                continue
            kind = "moved" if event.moved else event.kind
            entries.append(
                FeedEntry(
                    id=_tag(base, event.date, f"charters/{view.id}/history/{event.commit}/{index}"),
                    title=f"{isolate_text(view.charter.title)}: {label(kind, 'history').lower()}",
                    updated=event.time,
                    author=event.author,
                    link=f"{page}#history",
                    kind=f"history-{kind}",
                    summary=f"{event.text} (commit {event.commit}).",
                    sort_key=(event.time, view.id, "history", f"{index:06d}"),
                )
            )
    return entries


def feed_context(
    project: Project,
    views: Sequence[CharterView],
    base: BaseUrl,
    history: History | None = None,
    reuse: Reuse | None = None,
) -> dict[str, Any]:
    entries = feed_entries(views, base, reuse)
    if history is not None:
        entries = sorted(
            [*entries, *history_entries(views, base, history)], key=lambda e: e.sort_key
        )
        entries.reverse()
    if base.absolute is not None:
        feed_id = base.absolute + "feed.xml"
    else:
        feed_id = _tag(base, FALLBACK_TAG_DATE, f"{_slug(project.site.title)}/feed.xml")
    return {
        "id": feed_id,
        # The newest entry's date: a build without new data has the same bytes.
        "updated": entries[0].updated if entries else "1970-01-01T00:00:00Z",
        "self": base.link("feed.xml"),
        # The site's front page: with no base_url, "" would be the feed's own address.
        "home": base.link("") or "./",
        "entries": entries,
        # What the built-in feed.xml writes of them: each entry's XML, made with it.
        "entries_xml": Markup("".join(e.xml for e in entries)),
    }


def sitemap_entries(views: Sequence[CharterView], base: BaseUrl) -> list[tuple[str, str | None]]:
    """(absolute URL, lastmod) of every page; empty without a full base_url."""
    if base.absolute is None:
        return []
    pages: list[tuple[str, str | None]] = []
    dates: list[date] = []
    for view in sorted(views, key=lambda v: v.id):
        newest = view.latest_date
        days = [*view.outline.decision_dates] + ([newest] if newest else [])
        dates.extend(days)
        pages.append((base.link(charter_page(view)), max(days).isoformat() if days else None))
    home = (base.link(""), max(dates).isoformat() if dates else None)
    return [home, *pages]


def portfolio_sitemap(
    project: Project, views: Sequence[CharterView], base: BaseUrl
) -> list[tuple[str, str | None]]:
    """(absolute URL, lastmod) of the catalogued metric and team pages and their indexes."""
    groups: list[tuple[str, Sequence[CharterView]]] = []
    catalogued = catalogued_metrics(project.catalogue, views)
    if catalogued:
        groups.append(("metrics/", views))
    groups += [(m.page.removesuffix("index.html"), [c.view for c in m.claims]) for m in catalogued]
    found = teams(views)
    if found:
        groups.append(("teams/", views))
    groups += [(t.page.removesuffix("index.html"), t.views) for t in found]
    entries: list[tuple[str, str | None]] = []
    for page, members in groups:
        days = [day for v in members if (day := v.latest_date) is not None]
        days += [day for v in members for day in v.outline.decision_dates]
        entries.append((base.link(page), max(days).isoformat() if days else None))
    return entries


@dataclass(frozen=True)
class Outputs:
    """The files of the outputs stage by site path (linked files: see generator.links)."""

    files: dict[str, Content]


def render_outputs(
    templates: Templates,
    project: Project,
    views: Sequence[CharterView],
    history: History | None = None,
    spool: Spool | None = None,
    reuse: Reuse | None = None,
    today: date | None = None,
) -> Outputs:
    """Every file besides the pages, charts and static assets, keyed by site path.

    The result downloads go to `spool` as they are written (generator/spool.py); with
    `reuse`, an unchanged charter's are copied from the cache (generator/reuse.py).
    `today` is the build date, which api/charters.json gives.
    """
    base = parse_base_url(project.site.base_url)
    files: dict[str, Content] = {}
    spool = spool or Spool(None)
    downloads = (("results.json", results_json_chunks), ("results.csv", results_csv_chunks))
    for view in views:
        for name, chunks in downloads:
            make = partial(chunks, view)
            path = f"charters/{view.id}/{name}"
            if reuse is None:
                files[path] = spool.write(make(), path)
            else:
                files[path] = reuse.download(view.id, name, make, spool)
    files["api/charters.json"] = charters_api(project, views, base, reuse, today)
    env, context = templates.env, templates.common
    files["feed.xml"] = (
        env.get_template("feed.xml")
        .render(feed=feed_context(project, views, base, history, reuse), **context)
        .encode()
    )
    sitemap = sitemap_entries(views, base)
    sitemap += portfolio_sitemap(project, views, base) if sitemap else []
    if sitemap:
        files["sitemap.xml"] = (
            env.get_template("sitemap.xml").render(urls=sitemap, **context).encode()
        )
    files["robots.txt"] = (
        env.get_template("robots.txt")
        .render(sitemap=base.link("sitemap.xml") if sitemap else None, **context)
        .encode()
    )
    files["404.html"] = render_not_found(templates, base).encode()
    # Renamed charters: a redirect at each old address; its canonical link is absolute
    # (or root-relative) when base_url allows, else relative to the redirect page.
    known = base.path is not None
    canonical = {c.id: base.link(f"charters/{c.id}/") if known else None for c in project.charters}
    files.update(redirect_pages(project.charters, canonical))
    return Outputs(files)


def render_not_found(templates: Templates, base: BaseUrl) -> str:
    """404.html is served for any missing path, at any depth, so it cannot link relatively.

    With a base_url its links start with the base path; without one they are
    relative to the site root, which works when the page is served from there.
    """

    def url(target: str) -> str:
        return base.path + target if base.path is not None else target

    template = templates.env.get_template("404.html")
    return template.render(page="404.html", url=url, **templates.common)
