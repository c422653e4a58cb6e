"""Pages stage: the portfolio, charter and rules pages, with their templates and static files.

:func:`site_templates` makes the Jinja environment and the variables every template
sees (outputs render their feed, sitemap and 404 page with it too); :func:`render_pages`
renders the pages. Also here: relative links, and the portfolio finder's search index
and filter choices.

Charter text is untrusted. Jinja autoescapes every value; Markdown fields are
rendered by Python-Markdown and then sanitised by nh3 (markup.py: an allow-list, so
scripts, event handlers, styles, frames, forms and `javascript:`/`data:` URLs cannot
pass).
Charter text is only ever data handed to templates, never a template itself, so
`{{ … }}` in a charter is shown as written.
"""

from __future__ import annotations

import json
import posixpath
import re
import traceback
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property, partial
from pathlib import Path
from typing import Any, TypeVar, cast

import jinja2
import jinja2.meta
from markupsafe import Markup, escape

from . import __version__
from .analyze import CharterView, MetricView
from .assets import BUILTIN_TEMPLATES, StaticFileError, static_files
from .bidi import isolate, isolate_names, isolate_text, right_to_left
from .cache import digest, digest_after
from .charts import Chart, ChartSet, Tolerance, interval_source, row_interval, tolerance_of
from .diagnostics import Diagnostic, SourceRef
from .fork import in_two
from .formatting import (
    exact_number,
    fmt_difference,
    fmt_estimate,
    fmt_interval,
    fmt_number,
    fmt_p,
    fmt_p_phrase,
    fmt_percent,
    fmt_relative,
    fmt_signed,
    fmt_value,
    meter_value,
)
from .history import CharterHistory, History
from .load import Project, Result
from .markup import render_inline_markdown, render_markdown
from .memo import MEMO
from .model import SiteConfig
from .paths import real
from .portfolio import CataloguedMetric, Team, catalogued_metrics, teams
from .reuse import Reuse
from .rules import RULES, CharterCheck, switched_off
from .spool import Content, Spool
from .vocabulary import STATUS_DISPLAY_ORDER, VERDICTS, label, variant_label

A = TypeVar("A")


def relative_url(target: str, page: str) -> str:
    """The link from site page `page` to site file `target`, both relative to the site root."""
    parts, folders = target.split("/"), page.split("/")[:-1]
    if _plain(parts) and _plain(folders):  # the usual case, without posixpath's normalising
        same = 0
        for a, b in zip(parts, folders, strict=False):
            if a != b:
                break
            same += 1
        return "/".join([".."] * (len(folders) - same) + parts[same:]) or "."
    start = posixpath.dirname(page) or "."
    rel = posixpath.relpath(target, start)
    if target.endswith("/") and not rel.endswith("/"):
        rel += "/"
    return rel


def _plain(parts: list[str]) -> bool:
    """Whether path segments `parts` are names, none empty, `.` or `..`."""
    return all(part not in ("", ".", "..") for part in parts)


#: Rows a data table on a page shows: the latest ones. A result file may hold a
#: million rows, which no reader scrolls and no browser lays out quickly; the page
#: says how many it shows and links the CSV download, which has every row.
TABLE_ROWS = 1_000


def latest_rows(rows: Sequence[Any], limit: int = TABLE_ROWS) -> Sequence[Any]:
    """The last `limit` items of `rows` (in date order, so the latest), or all of them."""
    return rows[-limit:] if len(rows) > limit else rows


_ISO_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")


def nowrap_dates(text: str) -> Markup:
    """The ISO dates in `text` (HTML, escaped unless Markup) each kept on one line: a
    browser breaks a line at a hyphen, "on 2026-" / "04-19" in a phone's verdict box."""
    return Markup(_ISO_DATE.sub(r'<span class="nowrap">\1</span>', str(escape(text))))


def verdict_counts(views: Iterable[CharterView]) -> dict[str, int]:
    """How many of `views` have each verdict, every verdict named (0 when none has it):
    one pass, where a count per verdict in a template would pass over them all each time."""
    counts: dict[str, int] = dict.fromkeys(VERDICTS, 0)
    for view in views:
        counts[view.verdict] = counts.get(view.verdict, 0) + 1
    return counts


def make_environment(
    user_templates: Path | None, bytecode_cache: jinja2.BytecodeCache | None = None
) -> jinja2.Environment:
    """User templates first, then the built-in ones; `builtin/NAME` always reaches a built-in.

    `bytecode_cache` keeps compiled templates between builds (generator/cache.py)."""
    builtin = jinja2.FileSystemLoader(str(BUILTIN_TEMPLATES))
    loaders: list[jinja2.BaseLoader] = []
    if user_templates is not None and user_templates.is_dir():
        loaders.append(jinja2.FileSystemLoader(str(user_templates)))
    loaders.append(builtin)
    loaders.append(jinja2.PrefixLoader({"builtin": builtin}))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        bytecode_cache=bytecode_cache,
        # One build, one version of each template (the input fingerprint read them):
        # not checked against its file again on every page that uses it.
        auto_reload=False,
    )
    env.filters.update(
        markdown=render_markdown,
        inline_markdown=render_inline_markdown,
        number=fmt_number,
        value=_unit_isolated(fmt_value),
        signed=_unit_isolated(fmt_signed),
        estimate=_unit_isolated(fmt_estimate),
        difference=_unit_isolated(fmt_difference),
        percent=fmt_percent,
        relative=fmt_relative,
        p_value=fmt_p,
        p_phrase=fmt_p_phrase,
        meter_value=meter_value,
        interval=_unit_isolated(fmt_interval),
        label=label,
        variant=variant_label,
        row_interval=row_interval,
        interval_source=interval_source,
        beside=row_beside,
        tolerances=tolerances,
        latest=latest_rows,
        verdict_counts=verdict_counts,
        nowrap_dates=nowrap_dates,
        isolate=isolate,
        isolate_names=isolate_names,
        isolate_text=isolate_text,
    )
    env.globals.update(generator_version=__version__)
    return env


def row_beside(
    result: Result, metric: MetricView | None, tolerance: Tolerance | None
) -> tuple[float | None, ...]:
    """The numbers a result row's value is read beside in a data table, each told from the
    others (`fmt_value`'s `apart`): its metric's (`MetricView.together`: target, baseline,
    latest value…), and a guardrail's limit the row is judged against, with the row's
    own value that the limit is told from. 15.0004 beside a target of 15 is `15.0004`."""
    row = result.row
    limit = tolerance.limit_for(row.variant, row.date) if tolerance is not None else None
    together = metric.together if metric is not None else ()
    return (*together, row.value, limit)


def tolerances(view: CharterView) -> dict[str, Tolerance]:
    """Each guardrail's limits and the points beyond them (`charts.tolerance_of`), by id."""
    found = ((g.id, tolerance_of(g)) for g in view.by_kind("guardrail"))
    return {gid: tol for gid, tol in found if tol is not None}


def _unit_isolated(fmt: Callable[..., str]) -> Callable[..., str | Markup]:
    """A filter writing numbers with their unit (the unit its last argument) whose unit,
    when it holds right-to-left letters (`ש״ח`), is in `<bdi>`: a unit run into by the
    numbers beside it showed "10 ש״ח 15 → 12 ש״ח → ש״ח" for 10 → 12 → 15 ש״ח. Other
    units are text as before (same bytes)."""

    def filtered(*args: Any, **kwargs: Any) -> str | Markup:
        text = fmt(*args, **kwargs)
        unit = kwargs.get("unit", args[-1] if args else "")
        if not isinstance(unit, str) or not right_to_left(unit):
            return text
        return isolate_names(text, [unit.strip()])

    return filtered


def render_page(env: jinja2.Environment, template: str, page: str, **context: Any) -> str:
    """Render one page; `url(target)` in templates links relatively from this page."""

    def url(target: str) -> str:
        return relative_url(target, page)

    return env.get_template(template).render(page=page, url=url, **context)


def _template_name(filename: str | None, root: Path) -> str:
    """A template file as messages name it: `templates/x.html`, or `builtin/x.html`."""
    if not filename:
        return "templates"
    path = Path(filename)
    for base, prefix in ((root, ""), (BUILTIN_TEMPLATES, "builtin/")):
        try:
            return prefix + real(path).relative_to(real(base)).as_posix()
        except ValueError:
            continue
    return path.name


def _template_frame(exc: BaseException, root: Path) -> tuple[str, int] | None:
    """The innermost template line the error passed through (Jinja maps frames to them)."""
    folders = [real(root / "templates"), BUILTIN_TEMPLATES.resolve()]
    found: tuple[str, int] | None = None
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if not filename.endswith(".py") and any(
            real(Path(filename)).is_relative_to(folder) for folder in folders
        ):
            found = (filename, tb.tb_lineno)
        tb = tb.tb_next
    return found


def _in_markdown(exc: BaseException) -> bool:
    """Whether `exc` was raised inside the Markdown converter (a text, not a template)."""
    frames = traceback.extract_tb(exc.__traceback__)[-50:]
    return any("markdown" in Path(frame.filename).parts for frame in frames)


def _unreadable_template(exc: Exception, root: Path) -> Diagnostic | None:
    """A template file Jinja's loader could not read (not UTF-8, no permission, gone), as
    a located error at the file; None for any other exception."""
    if not isinstance(exc, UnicodeDecodeError | OSError):
        return None
    tb = exc.__traceback__
    filename = None
    while tb is not None:  # the loader's frame holds the file it opened
        if tb.tb_frame.f_code.co_name == "get_source" and "filename" in tb.tb_frame.f_locals:
            filename = str(tb.tb_frame.f_locals["filename"])
        tb = tb.tb_next
    if filename is None:
        return None
    if isinstance(exc, UnicodeDecodeError):
        byte = exc.object[exc.start]
        message = f"the template is not UTF-8 text (byte 0x{byte:02x} at offset {exc.start})"
    else:
        message = f"cannot read the template ({exc.strerror or exc})"
    return Diagnostic(SourceRef(_template_name(filename, root)), "", message, code="template")


def template_diagnostic(exc: Exception, root: Path) -> Diagnostic | None:
    """A located error for a template that failed to compile or render; None when no
    template is to blame (the exception then is the generator's, not the template's)."""
    if isinstance(exc, StaticFileError):
        return Diagnostic(SourceRef(exc.rel), "", exc.message, code="template")
    read = _unreadable_template(exc, root)
    if read is not None:
        return read
    if isinstance(exc, jinja2.TemplateSyntaxError):
        where = SourceRef(_template_name(exc.filename, root), exc.lineno or 0, 1)
        message = f"template syntax error: {exc.message}"
    elif isinstance(exc, jinja2.TemplateNotFound):
        frame = _template_frame(exc, root)
        if frame is not None:
            where = SourceRef(_template_name(frame[0], root), frame[1], 1)
        else:
            where = SourceRef("templates")
        names = exc.templates if isinstance(exc, jinja2.TemplatesNotFound) else []
        if len(names) > 1:  # an include or import of a list of names, none of them there
            listed = ", ".join(repr(str(name)) for name in names)
            message = (
                f"none of the templates {listed} found in templates/ or the built-in templates"
            )
        else:
            message = f"template {exc.name!r} not found in templates/ or the built-in templates"
    else:
        frame = _template_frame(exc, root)
        if frame is None:
            return None
        where = SourceRef(_template_name(frame[0], root), frame[1], 1)
        kind = "undefined value" if isinstance(exc, jinja2.UndefinedError) else type(exc).__name__
        message = f"template error: {kind}: {exc}"
        if isinstance(exc, RecursionError) and not _in_markdown(exc):
            message = (
                "template error: a template extends, includes or calls itself without end"
                ' (a templates/X.html that extends "builtin/X.html" is itself when the'
                " source's templates/ folder is the built-in one, as in the generator's own"
                " repository: override templates in a project of your own)"
            )
    return Diagnostic(where, "", message, code="template")


def template_problems(root: Path) -> list[Diagnostic]:
    """The project's own templates (`templates/`) compiled as a build compiles them, for
    `charters check`'s report (a build makes the same report): each template a build may
    render by name (every built-in one's), and each one those extend, include or import
    by a name written out, as the loader finds it (the project's first); a syntax error,
    an unknown filter or test, and a name no template has, where the project's own
    template writes it. `check` passed a template that `build` refused. An undefined
    value shows only when a page is rendered: at `charters build`."""
    folder = root / "templates"
    if not folder.is_dir():
        return []
    env = make_environment(folder)
    own = real(folder)
    todo = sorted((p.name for p in BUILTIN_TEMPLATES.iterdir() if p.is_file()), reverse=True)
    seen: set[str] = set()
    problems: list[Diagnostic] = []
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            source, filename, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
            mine = filename is not None and real(Path(filename)).is_relative_to(own)
            named_here = _builtin_names(env, name, source, filename) if not mine else None
            if named_here is None:
                tree = env.parse(source, name, filename)
                env.compile(tree, name, filename)
                named_here = list(_named_templates(tree))
        except (jinja2.TemplateError, UnicodeDecodeError, OSError) as exc:
            problem = template_diagnostic(exc, root)
            if problem is not None:
                problems.append(problem)
            continue
        for named, line, optional in named_here:
            if named in seen:
                continue
            try:
                env.loader.get_source(env, named)  # type: ignore[union-attr]
            except jinja2.TemplateNotFound:
                if mine and not optional:
                    where = SourceRef(_template_name(filename, root), line, 1)
                    message = (
                        f"template {named!r} not found in templates/ or the built-in templates"
                    )
                    problems.append(Diagnostic(where, "", message, code="template"))
                continue
            todo.append(named)
    return sorted(problems, key=Diagnostic.sort_key)


def _builtin_names(
    env: jinja2.Environment, name: str, source: str, filename: str | None
) -> list[tuple[str, int, bool]]:
    """The templates a built-in template names (`_named_templates`), parsed once for the
    generator's version (kept in the memo: a template edit's build compiled the built-in
    pages again for check's report, beside the pages it rendered)."""
    key = ("named templates", name)
    found = MEMO.get(key)
    if found is None:
        found = list(_named_templates(env.parse(source, name, filename)))
        MEMO.put(key, found)
    return list(found)


def _named_templates(tree: jinja2.nodes.Template) -> Iterator[tuple[str, int, bool]]:
    """The templates `tree` extends, includes or imports by a name written out: each
    name, its line and whether it may be missing (`ignore missing`)."""
    kinds = (jinja2.nodes.Extends, jinja2.nodes.Include, jinja2.nodes.Import)
    for node in tree.find_all((*kinds, jinja2.nodes.FromImport)):
        target = getattr(node, "template", None)
        optional = bool(getattr(node, "ignore_missing", False))
        names = (
            target.items if isinstance(target, jinja2.nodes.List | jinja2.nodes.Tuple) else [target]
        )
        for item in names:
            if isinstance(item, jinja2.nodes.Const) and isinstance(item.value, str):
                yield item.value, node.lineno, optional or len(names) > 1


# ---------------------------------------------------------------------------
# The portfolio finder: its search index, as data-* attributes on each row, and
# the choices of its filters.

HUMAN_ORDER = {"done": "0", "waived": "1", "missing": "2"}


def plain_text(markdown_text: str | None) -> str:
    """Markdown as one line of plain text."""
    return " ".join(Markup(render_markdown(markdown_text)).striptags().split())


def fold(text: str) -> str:
    """Lower case without accents, matching the `fold` of static/site.js."""
    if text.isascii():  # nothing to decompose
        return " ".join(text.lower().split())
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.lower().split())


def search_text(view: CharterView) -> str:
    """Every word a reader may type to find this charter, lower-cased, accents removed."""
    c = view.charter
    parts: list[str] = [view.id, c.title, plain_text(c.summary), c.owner.name]
    if c.owner.email:
        parts.append(c.owner.email)
    if c.team:
        parts.append(c.team)
    parts.extend(c.tags)
    for metric in view.metrics:
        parts.extend((metric.name, metric.id))
    parts.append(label(view.verdict, "verdict"))
    return fold(" ".join(parts))


def _first_business(view: CharterView) -> MetricView | None:
    metrics = view.by_kind("business")
    return metrics[0] if metrics else None


def row_attributes(view: CharterView) -> Markup:
    """The data-* attributes of a portfolio row: what site.js searches, filters and sorts by."""
    c = view.charter
    bm = _first_business(view)
    attrs: list[tuple[str, str]] = [
        ("data-id", view.id),
        ("data-search", search_text(view)),
        ("data-status", c.status),
        ("data-team", c.team or ""),
        ("data-tags", json.dumps(list(c.tags), ensure_ascii=False)),
        ("data-verdict", view.verdict),
        ("data-sort-verdict", str(VERDICTS.index(view.verdict))),
        ("data-alerts", json.dumps(alerts_of(view))),
    ]
    attrs += [
        ("data-sort-project", fold(c.title)),
        ("data-sort-status", str(STATUS_DISPLAY_ORDER.index(c.status))),
        ("data-sort-owner", fold(c.owner.name)),
        ("data-sort-metric", fold(bm.name) if bm else ""),
        ("data-sort-progress", exact_number(bm.progress) if bm and bm.progress is not None else ""),
        ("data-sort-human", HUMAN_ORDER[view.human_baseline_state]),
        ("data-sort-latest", view.latest_date.isoformat() if view.latest_date else ""),
    ]
    return Markup("".join(f' {name}="{escape(value)}"' for name, value in attrs))


@dataclass(frozen=True)
class Option:
    value: str
    label: str


def _folded(text: str) -> tuple[str, str]:
    return (fold(text), text)


#: What the portfolio's alert filter offers: the badges beside a verdict, by the key a
#: row lists them by (`data-alerts`) and where each badge's label is.
ALERTS: tuple[tuple[str, str, str], ...] = (
    ("overdue", "overdue", "alert"),
    ("breached", "guardrail-breached", "alert"),
    ("moved", "moved", "history"),
    ("edited", "edited", "alert"),
)


def alerts_of(view: CharterView) -> list[str]:
    """The alerts beside a charter's verdict, in the order of `ALERTS`."""
    on = {"overdue": view.overdue is not None, "breached": bool(view.breached)}
    on["moved"], on["edited"] = view.goalpost_moved, view.edited_on is not None
    return [key for key, _, _ in ALERTS if on[key]]


def finder_options(views: Sequence[CharterView]) -> dict[str, list[Option]]:
    """The choices of each filter, in a stable order; verdicts only when charters have them.
    The alerts are always all offered: which charters have them changes with the build
    date, and every page is keyed by these choices."""
    statuses = {v.outline.status for v in views}
    # Ties of case and accents broken by the text itself: a set's order changes from run to run.
    teams = sorted({v.outline.team for v in views if v.outline.team}, key=_folded)
    tags = sorted({t for v in views for t in v.outline.tags}, key=_folded)
    verdicts = {v.verdict for v in views}
    return {
        "status": [Option(s, label(s, "status")) for s in STATUS_DISPLAY_ORDER if s in statuses],
        "team": [Option(t, t) for t in teams],
        "tag": [Option(t, t) for t in tags],
        "verdict": [Option(c, label(c, "verdict")) for c in VERDICTS if c in verdicts],
        "alert": [Option(key, label(name, vocabulary)) for key, name, vocabulary in ALERTS],
    }


# ---------------------------------------------------------------------------
# The pages of the site.


@dataclass(frozen=True)
class Templates:
    """The Jinja environment and the variables every page and output template sees."""

    env: jinja2.Environment
    common: Mapping[str, object]

    def render(self, template: str, page: str, **context: object) -> bytes:
        """One page of the site; `url(target)` in its template links relatively from `page`.
        A name in `context` stands for the shared variable of that name on this page."""
        return render_page(self.env, template, page, **{**self.common, **context}).encode()


def site_templates(
    project: Project,
    views: Sequence[CharterView],
    checks: Mapping[str, CharterCheck],
    *,
    live_reload: bool | str = False,
    bytecode_cache: jinja2.BytecodeCache | None = None,
) -> Templates:
    """User templates over the built-in ones, and the variables shared by every page.

    `live_reload` is false in normal builds; `charters serve` gives a build token the
    pages poll for.
    """
    common: dict[str, object] = {
        "site": project.site,
        "verdicts": VERDICTS,
        "checks": checks,
        "rules": RULES,
        # The rules switched off for a charter (site.yaml's and its own), for its page.
        "switched_off": partial(switched_off, site_disabled=project.site.lint.disable),
        "row_attrs": row_attributes,
        "finder": finder_options(views),
        "live_reload": live_reload,
        # Catalogued metric ids and team names link to their pages from every page.
        "metric_pages": {mid: f"metrics/{mid}/index.html" for mid in project.catalogue.ids()},
        "team_pages": {team.name: team.page for team in teams(views)},
    }
    return Templates(make_environment(project.root / "templates", bytecode_cache), common)


def render_pages(
    templates: Templates,
    project: Project,
    views: Sequence[CharterView],
    checks: Mapping[str, CharterCheck],
    charts: ChartSet,
    history: History | None = None,
    reuse: Reuse | None = None,
    spool: Spool | None = None,
    then: Callable[[], A] | None = None,
    today: date | None = None,
) -> tuple[dict[str, Content], A | None]:
    """The portfolio, a page per charter, the rules page and the static files, by site path,
    and what `then` gave (what the build makes after the pages: its outputs).

    `today` is the build date the rules judged staleness by, which the portfolio gives.

    Without `history` (None) the charter pages have no history section. With `reuse`
    a charter's page comes from the cache when everything it is made from is unchanged
    (generator/reuse.py). With `spool`, each charter page goes there as soon as it is
    made, so a thousand of them are not held in memory, and a long run of them is shared
    with a forked copy of the build, which makes the pages after them and `then` first
    (generator/fork.py).
    """
    groups = [
        (status, [v for v in views if v.outline.status == status])
        for status in STATUS_DISPLAY_ORDER
    ]
    metric_pages = templates.common.get("metric_pages", {})
    rows = RowSources(templates.env, reuse, metric_pages if isinstance(metric_pages, dict) else {})
    files: dict[str, Content] = {
        "index.html": templates.render(
            "index.html",
            "index.html",
            views=views,
            groups=[g for g in groups if g[1]],
            row=Rows(rows, "index.html"),
            today=today,
        )
    }

    def after() -> tuple[dict[str, Content], A | None]:
        """The pages after the charters' (made by the copy, when there is one), and `then`."""
        made: dict[str, Content] = {
            "rules/index.html": templates.render("rules.html", "rules/index.html")
        }
        catalogued = catalogued_metrics(project.catalogue, views)
        made.update(portfolio_pages(templates, catalogued, views, charts, rows))
        made.update(static_files(project.root))
        return made, then() if then is not None else None

    charters, (rest, also) = charter_pages(
        templates, views, checks, charts, history, reuse, spool, after
    )
    return {**files, **charters, **rest}, also


def charter_pages(
    templates: Templates,
    views: Sequence[CharterView],
    checks: Mapping[str, CharterCheck],
    charts: ChartSet,
    history: History | None,
    reuse: Reuse | None,
    spool: Spool | None,
    then: Callable[[], A],
) -> tuple[dict[str, Content], A]:
    """Every charter's page, by site path: from the current site or the cache when its key
    is there, the others rendered; then what `then` gives. A long run of pages is shared
    with a forked copy of the build, which runs `then` first (generator/fork.py), when
    they go to a `spool`."""
    shared = shared_digest(templates) if reuse is not None else ""
    sources = FragmentSources(templates.env, reuse)
    plans = [
        CharterPage.of(v, charts.by_charter[v.id], history, reuse, shared, checks.get(v.id))
        for v in views
    ]
    found = {plan.page: plan.found(reuse, spool) for plan in plans}
    todo = [plan for plan in plans if found[plan.page] is None]

    def render(plan: CharterPage) -> Content:
        return plan.render(templates, checks, sources, reuse, spool)

    if spool is None:  # the pages would be sent back whole
        made, also = [render(plan) for plan in todo], then()
    else:
        owners = {"memo": MEMO, **({"reuse": reuse, "cache": reuse.cache} if reuse else {})}
        forked = partial(setattr, spool, "prefix", "forked-")
        made, shared_also = in_two(todo, render, owners, forked, then, charts.release)
        also = cast(A, shared_also)  # `then` was given: what it returned
    rendered = {plan.page: content for plan, content in zip(todo, made, strict=True)}
    pages = {
        page: rendered[page] if content is None else content for page, content in found.items()
    }
    return pages, also


@dataclass(frozen=True)
class CharterPage:
    """A charter's page to make: its view and charts, its history, and the key it is kept
    under (None without a cache, or when the charter has no key)."""

    view: CharterView
    charts: Sequence[Chart]
    own: CharterHistory | None
    note: str
    key: str | None

    @property
    def page(self) -> str:
        return f"charters/{self.view.id}/index.html"

    @classmethod
    def of(
        cls,
        view: CharterView,
        charts: Sequence[Chart],
        history: History | None,
        reuse: Reuse | None,
        shared: str,
        check: CharterCheck | None = None,
    ) -> CharterPage:
        own = history.of(view.id) if history is not None else None
        note = history.message(view.id) if history is not None else ""
        key = None
        if reuse is not None:
            drawn = repr([(c.path, c.key, c.kind, c.alt) for c in charts])
            # What the rules said (`check`): all the page shows that follows the build date.
            judged = repr((check.evidence, check.findings)) if check is not None else ""
            key = reuse.page_key(view.id, shared, repr(own), note, drawn, judged)
        return cls(view, charts, own, note, key)

    def found(self, reuse: Reuse | None, spool: Spool | None) -> Content | None:
        """The page as kept: the current site's file or the cache's entry; else None."""
        if self.key is None or reuse is None:
            return None
        return reuse.page(self.key, self.page, spool)

    def render(
        self,
        templates: Templates,
        checks: Mapping[str, CharterCheck],
        sources: FragmentSources,
        reuse: Reuse | None,
        spool: Spool | None,
    ) -> Content:
        """The page rendered (and kept when it read nothing of another charter), its data
        tables from the cache as fragments (:class:`Fragments`) when only the rest of the
        page changed; written to `spool` when there is one."""
        page, view = self.page, self.view
        watched = Watched(checks, view.id)
        fragments = Fragments(sources, page, view, self.charts)
        data = templates.render(
            "charter.html",
            page,
            view=view,
            check=checks[view.id],
            checks=watched,
            charts=self.charts,
            history=self.own,
            history_note=self.note,
            fragment=fragments,
        )
        fragments.keep()
        content = spool.write([data], page) if spool is not None else data
        if self.key is not None and reuse is not None and not watched.others:
            # Linked to what was written, not copied; with the key of its tables' entry.
            reuse.keep_page(self.key, data, content, page, fragments.tables_key)
        return content


#: The template of a charter page's fragments: its data tables, as macros.
FRAGMENTS = "_tables.html"


class FragmentSources:
    """A fragment template of one build (`name`) and what its fragments are cached by."""

    def __init__(self, env: jinja2.Environment, reuse: Reuse | None, name: str = FRAGMENTS) -> None:
        self.env = env
        self.reuse = reuse
        self.name = name
        self._digest: str | None = None

    @property
    def digest(self) -> str:
        """A hash of the fragment template's source and of every template it imports,
        includes or extends, as this build's loader finds them (a user's own first).
        When a name is computed rather than written, every user template counts."""
        if self._digest is None:
            self._digest = self._sources()
        return self._digest

    def _sources(self) -> str:
        loader = self.env.loader
        assert loader is not None  # make_environment gives one
        sources: dict[str, str] = {}
        todo, computed = [self.name], False
        while todo:
            name = todo.pop()
            if name in sources:
                continue
            try:
                source, filename, _ = loader.get_source(self.env, name)
            except jinja2.TemplateNotFound:
                # Named but absent: `ignore missing`, or a later name of a list is used. Its
                # absence is part of the digest (a template made later changes it); a
                # template that needs it fails where it is rendered, at its own line.
                sources[name] = "\0absent"
                continue
            sources[name] = source
            for ref in self._referenced(source, name, filename):
                computed = computed or ref is None
                todo.extend([ref] if ref is not None else [])
        every = self.reuse.parts.get("templates", "none") if computed and self.reuse else ""
        return digest("fragment sources", every, *(f"{n}\0{sources[n]}" for n in sorted(sources)))

    def _referenced(self, source: str, name: str, filename: str | None) -> tuple[str | None, ...]:
        """The templates `source` imports, includes or extends (None for a computed name):
        parsed once, then kept in the site's memo by the source's text."""
        key = ("referenced templates", source)
        found = MEMO.get(key)
        if not isinstance(found, tuple):
            parsed = self.env.parse(source, name, filename)
            found = tuple(jinja2.meta.find_referenced_templates(parsed))
            MEMO.put(key, found)
        return found


class Fragments:
    """`fragment(name, *args)` on a charter page: the macro `name` of the fragment template
    (templates/_tables.html) called with `args`, rendered once and kept in the cache.

    Like Hugo's `partialCached`, but never stale: the macro sees only its arguments, `url`
    and `page` (not the rest of the page's variables), and its arguments may only be the
    page's charter view, one of its charts, or plain values, each of which has a key: the
    charter's key covers its view, a chart's spec key covers what it shows.

    The tables of one page are kept together, in one entry (`tables/`) under the key of
    what they share (the charter, its original targets, the page and the fragment
    template), so a page reads one entry, not one per table; inside it each table is
    found by its own key, and the entry is written again only when the page placed
    another set of tables than it holds (:meth:`keep`).
    """

    def __init__(
        self, sources: FragmentSources, page: str, view: CharterView, charts: Sequence[Chart]
    ) -> None:
        self.sources = sources
        self.page = page
        self.view = view
        self.charts = charts
        self._module: Any = None
        self._tables: tuple[str, dict[str, str]] | None = None  # the kept ones, by key
        # What the keys of this page's tables start with (Reuse.fragment_start), hashed once.
        self._start: Any = None
        self._used: dict[str, str] = {}  # the tables this page placed, by key
        self._rendered = False  # whether one of them was rendered

    def _known(self, reuse: Reuse) -> dict[str, str]:
        """The tables this page kept last time: one entry for all, under the key of what
        they share (each is still found by its own key)."""
        if self._tables is None:
            marks = self._marks
            key = reuse.fragment_key(self.view.id, "tables", marks, self.page, self.sources.digest)
            self._tables = (key or "", reuse.tables(key) if key is not None else {})
        return self._tables[1]

    @cached_property
    def _marks(self) -> str:
        """What the build adds to the view (`CharterView.marks`: the targets its history
        moved, which the built-in tables show; whether its results are overdue and an
        edit that brought its verdict, which a project's `_tables.html` may show)."""
        return self.view.marks

    def _key(self, reuse: Reuse, name: str, parts: list[str]) -> str | None:
        """The key of the fragment `name` of this page with arguments `parts`."""
        if self._start is None:
            digest_ = self.sources.digest
            start = reuse.fragment_start(self.view.id, self._marks, self.page, digest_)
            self._start = start if start is not None else False
        return digest_after(self._start, name, *parts) if self._start is not False else None

    def _describe(self, arg: object) -> str:
        if arg is self.view:
            return "view"
        for index, chart in enumerate(self.charts):
            if arg is chart:
                return repr(("chart", index, chart.metric.id, chart.path, chart.key, chart.kind))
        if arg is None or isinstance(arg, str | int | float | bool):
            return f"{type(arg).__name__}:{arg!r}"
        raise TypeError(
            f"fragment() takes the page's view, one of its charts, or a plain value "
            f"(text, number, true/false, none), not {type(arg).__name__}"
        )

    def __call__(self, name: str, *args: object) -> Markup:
        parts = [self._describe(arg) for arg in args]
        reuse = self.sources.reuse
        key = self._key(reuse, name, parts) if reuse is not None else None
        if key is None or reuse is None:
            return Markup(str(self._macro(name)(*args)))  # the macro's output, escaped by Jinja
        text = reuse.fragment(self._known(reuse), key)
        if text is None:
            text = str(self._macro(name)(*args))
            self._rendered = True
        self._used[key] = text
        return Markup(text)  # rendered by the fragment template, escaped there

    @property
    def tables_key(self) -> str | None:
        """The key of the entry of this page's tables, once the page has looked for it."""
        return self._tables[0] or None if self._tables is not None else None

    def keep(self) -> None:
        """Keep the tables the page placed, in one entry, when they are not what was kept."""
        reuse = self.sources.reuse
        if reuse is None or self._tables is None or not self._tables[0]:
            return
        key, kept = self._tables
        if self._rendered or len(kept) != len(self._used):
            reuse.keep_tables(key, self._used)

    def _macro(self, name: str) -> Any:
        if self._module is None:
            self._module = _page_module(self.sources.env, self.sources.name, self.page, {})
        return _macro_of(self._module, self.sources.name, name)


def _kept(
    reuse: Reuse | None, key: str | None, found: str | None, render: Callable[[], object]
) -> Markup:
    """A fragment: `found` in the cache under `key`, else rendered by `render()` and kept
    under `key` (when there is one)."""
    if found is not None:
        return Markup(found)  # rendered by a fragment template, escaped there
    text = str(render())
    if key is not None and reuse is not None:
        reuse.keep_fragment(key, text)
    return Markup(text)  # the macro's output, escaped by Jinja


def _page_module(env: jinja2.Environment, name: str, page: str, given: Mapping[str, Any]) -> Any:
    """Template `name` as a module for the page at `page`: its macros see `url` (relative
    to that page), `page` and `given`, nothing else."""

    def url(target: str) -> str:
        return relative_url(target, page)

    return env.get_template(name).make_module({"url": url, "page": page, **given})


def _macro_of(module: Any, template: str, name: str) -> Any:
    """The macro `name` of a template's `module`, else a located undefined-value error."""
    macro = getattr(module, name, None)
    if not isinstance(macro, jinja2.runtime.Macro):
        raise jinja2.UndefinedError(f"{template} has no macro {name!r}")
    return macro


#: The template of the charters' rows on the pages made from every charter (the
#: portfolio, a team's page, a catalogued metric's page), as macros.
ROWS = "_rows.html"


class RowSources(FragmentSources):
    """The rows template of one build, what its rows are cached by, and what its macros
    see besides their arguments: the catalogued metrics' pages (`metric_pages`) and the
    finder's attributes of a portfolio row (`row_attrs`), with `url` and `page`."""

    def __init__(
        self, env: jinja2.Environment, reuse: Reuse | None, metric_pages: Mapping[str, str]
    ) -> None:
        super().__init__(env, reuse, ROWS)
        self.metric_pages = dict(metric_pages)
        # row_attrs is the generator's code, which every fragment key names already.
        self.given = digest("rows given", repr(sorted(self.metric_pages.items())))


class Rows:
    """`row(name, view, *args)` on a page made from every charter: the macro `name` of the
    rows template (templates/_rows.html) called with the charter `view` and `args`,
    rendered once per charter and page and kept in the cache, so a build after an edit of
    one charter renders that charter's rows alone.

    As with :class:`Fragments`, never stale: the macro sees only its arguments and what
    :class:`RowSources` gives it, and its arguments may only be a charter's view, one of
    that view's metrics, or plain values, each of which has a key.
    """

    def __init__(self, sources: RowSources, page: str) -> None:
        self.sources = sources
        self.page = page
        self._module: Any = None

    @staticmethod
    def _describe(view: CharterView, arg: object) -> str:
        if arg is view:
            return "view"
        if arg is None or isinstance(arg, str | int | float | bool):
            return f"{type(arg).__name__}:{arg!r}"
        for index, metric in enumerate(view.metrics):
            if arg is metric:
                return repr(("metric", index))
        raise TypeError(
            f"row() takes a charter's view, then that view, one of its metrics, or a plain "
            f"value (text, number, true/false, none), not {type(arg).__name__}"
        )

    def __call__(self, name: str, view: object, *args: object) -> Markup:
        if not isinstance(view, CharterView):
            raise TypeError(f"row() takes a charter's view first, not {type(view).__name__}")
        parts = [self._describe(view, arg) for arg in args]
        reuse = self.sources.reuse
        key = None
        if reuse is not None:
            # What the build adds to the view: the goalposts its history moved, whether
            # its results are overdue at the build date (the one part of a row that date
            # changes), an edit that brought its verdict.
            sources = self.sources
            key = reuse.fragment_key(
                view.id, "row", view.marks, self.page, sources.digest, sources.given, name, *parts
            )
        found = reuse.row(key) if key is not None and reuse is not None else None
        return _kept(reuse, key, found, lambda: self._macro(name)(view, *args))

    def _macro(self, name: str) -> Any:
        if self._module is None:
            given = {"row_attrs": row_attributes, "metric_pages": self.sources.metric_pages}
            self._module = _page_module(self.sources.env, ROWS, self.page, given)
        return _macro_of(self._module, ROWS, name)


class Watched(Mapping[str, Any]):
    """A mapping that notes any use beyond the value of one key (`others` becomes True)."""

    def __init__(self, items: Mapping[str, Any], own: str) -> None:
        self._items = items
        self._own = own
        self.others = False

    def __getitem__(self, key: str) -> Any:
        if key != self._own:
            self.others = True
        return self._items[key]

    def __contains__(self, key: object) -> bool:
        if key != self._own:
            self.others = True
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        self.others = True
        return iter(self._items)

    def __len__(self) -> int:
        self.others = True
        return len(self._items)

    def get(self, key: str, default: Any = None) -> Any:
        if key != self._own:
            self.others = True
        return self._items.get(key, default)


def shared_digest(templates: Templates) -> str:
    """A hash of what every charter page is given besides its own charter: the shared
    variables (`checks` aside, which :class:`Watched` guards) and the templates' code."""
    common = templates.common
    # Functions of what is hashed (the site, a page's charter): their reprs hold addresses.
    functions = ("row_attrs", "switched_off")
    shown = {k: v for k, v in common.items() if k not in ("checks", "site", *functions)}
    site = common["site"]
    site_json = site.model_dump_json() if isinstance(site, SiteConfig) else repr(site)
    return digest("shared", site_json, repr(sorted(shown.items(), key=lambda kv: kv[0])))


def portfolio_pages(
    templates: Templates,
    catalogued: Sequence[CataloguedMetric],
    views: Sequence[CharterView],
    charts: ChartSet,
    rows: RowSources,
) -> dict[str, bytes]:
    """A page per catalogued metric and per team, and an index of each (when there are any);
    their charters' rows come from `rows` (:class:`Rows`)."""
    files: dict[str, bytes] = {}
    if catalogued:
        files["metrics/index.html"] = templates.render(
            "metrics.html", "metrics/index.html", catalogued=catalogued
        )
    for metric in catalogued:
        forest = charts.forests.get(metric.id)
        row = Rows(rows, metric.page)
        files[metric.page] = templates.render(
            "metric.html", metric.page, metric=metric, forest=forest, row=row
        )
    found: list[Team] = teams(views)
    if found:
        files["teams/index.html"] = templates.render("teams.html", "teams/index.html", teams=found)
    for team in found:
        row = Rows(rows, team.page)
        files[team.page] = templates.render("team.html", team.page, team=team, row=row)
    return files
