"""Diff stage: writing a comparison as a Markdown pull-request comment or as JSON.

The JSON shape is documented in docs/diff.md; fields are only ever added, and
`JSON_VERSION` changes if one ever changes meaning. The Markdown starts with a
hidden marker so CI can find and update its own comment. Numbers are written by
`generator.formatting` and coded values by `generator.vocabulary`, as on the site.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..analyze import MetricView
from ..formatting import (
    cut_message,
    cut_text,
    escape_code_span,
    escape_markdown,
    escape_message,
    fmt_date,
    fmt_percent,
    fmt_value,
    json_text,
    plural,
    visible_text,
)
from ..rules import RULES_BY_CODE
from ..vocabulary import CHANGE_LABELS, ChangeKind, label
from .compare import Change, DiffReport, is_flagged, show, status_words
from .sides import Side

# Version 2: `trend` follows the metric's status (it compared raw values in version 1);
# rewritten rows are `results-rewritten`, no longer part of `results-added`.
JSON_VERSION = 2
MARKER = "<!-- charters-diff -->"
# Markdown comments are capped by the forges (GitHub: 65,536 characters).
MAX_MARKDOWN = 60_000
# Room kept for the note that names the charter sections left out (at most `MAX_NAMES`
# names of at most `MAX_NAME_CHARS`): the comment with it stays within MAX_MARKDOWN.
NOTE_ROOM = 3_000
# The characters of charter text shown in one table cell (a population or a definition
# may be of any length: one of 63,000 characters took the whole comment, and every
# section was left out); the JSON has it whole. Two long values of a changed field are
# both shown from a little before where they first differ.
MAX_CELL_CHARS = 500
CELL_CONTEXT = 100
# Problems listed per side before the rest are counted, and the characters of one shown
# (a path may be long): with the names listed in the summary, the opening of a comment
# stays well within MAX_MARKDOWN, whatever the charters hold.
MAX_PROBLEMS = 50
MAX_PROBLEM_CHARS = 200
# Names (charters, metrics) listed in one part of the summary before the rest are counted.
MAX_NAMES = 20
# The characters of one name listed there (an id read from a charter that did not load
# may be of any length).
MAX_NAME_CHARS = 130
# Changes whose table row shows their message instead of a before and an after.
MESSAGE_KINDS = (
    "charter-added",
    "charter-removed",
    "finding-added",
    "finding-resolved",
)
# Kinds with their own table of metrics rather than a row in the table of changes.
RESULT_KINDS = ("results-added", "results-rewritten")
# Changes of a coded value, and the vocabulary that labels it.
CODED_KINDS = {"status-changed": "status", "verdict-changed": "verdict"}


# --- summary -----------------------------------------------------------------------------


def summary_text(report: DiffReport, shown: Callable[[str], str] = str) -> str:
    """The one-paragraph summary that opens the Markdown and is in the JSON; `shown` puts
    a side's label (a branch name is anyone's text) in the Markdown as written."""
    base, head = shown(report.base.label), shown(report.head.label)
    if not report.changes:
        # Other fields (title, team, tags, links, decisions, pull entries) are not compared:
        # "no charter changed" read as if they had not.
        among = " in the charters compared" if report.not_compared else ""
        text = (
            "No goalpost, agreement, plan, metric, result, status, verdict or finding"
            f" changed{among} between {base} and {head}."
        )
    else:
        n = len(report.changed_charters())
        parts = "; ".join(_change_parts(report))
        text = f"Between {base} and {head}, {plural(n, 'charter')} changed: {parts}."
    problems = [
        f"{_named(role, side, shown)} has {plural(len(side.errors), 'validation error')}"
        for role, side in (("BASE", report.base), ("HEAD", report.head))
        if not side.ok
    ]
    if problems:
        text += " " + "; ".join(problems) + "; charters that loaded were still compared."
    unread = [x["charter"] for x in report.not_compared if "compared_with" not in x]
    older = [x["charter"] for x in report.not_compared if "compared_with" in x]
    if unread:
        text += f" Not compared because they did not load: {_names(unread)}."
    if older:
        text += (
            f" Compared with an older version, as the one to compare did not load: {_names(older)}."
        )
    for note in (*report.base.notes, *report.head.notes):
        text += " " + shown(note)
    return text


def _change_parts(report: DiffReport) -> list[str]:
    """What changed, most serious first: moved goalposts, then in the order of the kinds."""
    counts = report.counts()
    parts = _flagged_parts(report)
    renamed = sum(1 for c in report.of_kind("charter-added") if c.extra.get("renamed_from"))
    for count, text in (
        (counts["charter-added"] - renamed, "added"),
        (counts["charter-removed"] - renamed, "removed"),
        (renamed, "renamed"),
    ):
        if count:
            parts.append(f"{count} {text}")
    if counts["status-changed"]:
        parts.append(plural(counts["status-changed"], "status change"))
    if counts["metric-changed"]:
        parts.append(plural(counts["metric-changed"], "other metric change"))
    if counts["plan-changed"]:
        parts.append(plural(counts["plan-changed"], "change") + " to a measurement plan")
    if counts["results-added"]:
        detail = ", ".join(f"{v} {k}" for k, v in report.trends().items() if v)
        parts.append(
            f"new results for {plural(counts['results-added'], 'metric')}"
            + (f" ({detail})" if detail else "")
        )
    if counts["verdict-changed"]:
        parts.append(plural(counts["verdict-changed"], "verdict change"))
    for kind, verb in (("finding-added", "added"), ("finding-resolved", "resolved")):
        if counts[kind]:
            parts.append(f"{plural(counts[kind], 'finding')} {verb}")
    return parts


def _flagged_parts(report: DiffReport) -> list[str]:
    """The changes a reviewer must not miss, in bold: goalposts, agreements, history, alerts."""
    parts: list[str] = []
    flagged: tuple[tuple[ChangeKind, str, str], ...] = (
        ("goalpost-moved", "goalposts moved", "agreed metric"),
        ("agreement-changed", "agreement changed", "metric"),
        ("catalogue-changed", "catalogued metric redefined", "charter metric"),
        ("results-rewritten", "past results rewritten", "metric"),
    )
    for kind, words, noun in flagged:
        changes = report.of_kind(kind)
        where = sorted({f"{c.charter}/{c.metric}" for c in changes})
        if not where:
            continue
        text = f"**{words}** on {plural(len(where), noun)} ({_names(where)})"
        unagreed = sorted(
            {f"{c.charter}/{c.metric}" for c in changes if not c.extra.get("reagreed")}
        )
        if kind == "goalpost-moved" and unagreed:
            text += f", {len(unagreed)} without a renewed agreement"
        parts.append(text)
    for kind, words in (
        ("status-changed", "status back from the rollout"),
        ("plan-changed", "measurement plan changed with results in hand"),
        ("verdict-changed", "verdict gained or kept by an edit"),
        ("finding-resolved", "alert cleared or kept away by an edit"),
    ):
        ids = sorted({c.charter for c in report.of_kind(kind) if c.extra.get("flagged")})
        if ids:
            parts.append(f"**{words}** on {plural(len(ids), 'charter')} ({_names(ids)})")
    alerts = _alerts(report.changes)
    if alerts:
        codes = _cell(", ".join(sorted({str(a.after["code"]) for a in alerts})))
        parts.append(f"**{plural(len(alerts), 'new alert')}** ({codes})")
    return parts


def _names(names: list[str]) -> str:
    """Names as code, the first `MAX_NAMES` of them, then how many more (the JSON's
    changes name every one)."""
    shown = ", ".join(f"`{_code(_cut(x, MAX_NAME_CHARS))}`" for x in names[:MAX_NAMES])
    return shown + (f" and {len(names) - MAX_NAMES} more" if len(names) > MAX_NAMES else "")


def _alerts(changes: list[Change]) -> list[Change]:
    """New findings of severity alert: news about a project, shown before anything else."""
    return [
        c
        for c in changes
        if c.kind == "finding-added"
        and isinstance(c.after, dict)
        and c.after.get("severity") == "alert"
    ]


# --- JSON ----------------------------------------------------------------------------------


# Attributes written to the JSON as they are, in this order.
SIDE_FIELDS = ("label", "kind", "spec", "revision")
CHANGE_FIELDS = ("kind", "charter", "metric", "field", "before", "after", "trend", "message")


def side_json(side: Side) -> dict[str, Any]:
    return {
        **{name: getattr(side, name) for name in SIDE_FIELDS},
        "date": side.day.isoformat() if side.day is not None else None,
        "ok": side.ok,
        "charters": sorted(side.checks),
        "failed": side.failed(),
        "errors": [d.as_json() for d in side.errors],
        "notes": side.notes,
    }


def change_json(change: Change) -> dict[str, Any]:
    """A change as docs/diff.md describes it; `extra` adds the fields of some kinds."""
    return {**{name: getattr(change, name) for name in CHANGE_FIELDS}, **change.extra}


def report_json(report: DiffReport, fail_on: Iterable[str] = ()) -> dict[str, Any]:
    fail_on = list(fail_on)
    matched = report.matching(fail_on)
    return {
        "version": JSON_VERSION,
        "base": side_json(report.base),
        "head": side_json(report.head),
        "changes": [change_json(c) for c in report.changes],
        "not_compared": report.not_compared,
        "summary": {
            "text": summary_text(report),
            "charters_changed": report.changed_charters(),
            "counts": report.counts(),
            "trends": report.trends(),
            "fail_on": fail_on,
            "failed_on": matched,
            "failed": bool(matched),
        },
    }


def format_json(report: DiffReport, fail_on: Iterable[str] = ()) -> str:
    return json_text(report_json(report, fail_on), indent=2, ensure_ascii=False) + "\n"


# --- Markdown --------------------------------------------------------------------------------


def format_markdown(report: DiffReport, show_all: bool = False, fail_on: Iterable[str] = ()) -> str:
    """A pull-request comment: marker, summary paragraph, then a section per charter,
    those with a flagged change or a new alert first."""
    base, head = _cell(report.base.label), _cell(report.head.label)
    lines = [MARKER, f"## Charter changes: {base} → {head}", ""]
    lines += [summary_text(report, _cell), ""]
    matched = report.matching(fail_on)
    if matched:
        lines += [f"**Fails on:** {', '.join(f'`{k}`' for k in matched)}.", ""]
    for role, side in (("BASE", report.base), ("HEAD", report.head)):
        lines += _side_markdown(role, side)
    site_wide = [c for c in report.changes if c.extra.get("by") == "site.yaml"]
    lines += _site_wide_markdown(site_wide, report.changes)
    return _fitted("\n".join(lines), _sections(report, show_all))


def _sections(report: DiffReport, show_all: bool) -> list[tuple[str, str]]:
    """(charter id, Markdown) of each charter's section: those with a flagged change or a
    new alert first, then the others, each in the order of the changes (charter id), then
    those of charters only not compared; the same report gives the same order."""
    by_charter: dict[str, list[Change]] = {}
    for change in report.changes:
        if show_all or change.extra.get("by") != "site.yaml":  # said once above
            by_charter.setdefault(change.charter, []).append(change)
    ids = list(by_charter)
    if show_all:
        ids = sorted(set(ids) | set(report.head.checks) | set(report.base.checks))
    body = [(cid, _charter_markdown(report, cid, by_charter.get(cid, []), show_all)) for cid in ids]
    sections = dict(body)
    for item in report.not_compared:
        said = [_cell(item["message"]) + ".", ""]
        if item["charter"] in sections and sections[item["charter"]]:
            sections[item["charter"]] += said  # its section (goalposts read as written) says it
        else:
            body.append((item["charter"], [f"### `{_code(item['charter'])}`", "", *said]))
    flagged = {
        cid
        for cid, changes in by_charter.items()
        if _alerts(changes) or any(is_flagged(c) for c in changes)
    }
    body.sort(key=lambda section: section[0] not in flagged)  # stable: ties keep their order
    return [(cid, "\n".join(section)) for cid, section in body]


def _fitted(opening: str, sections: list[tuple[str, str]]) -> str:
    """The comment: `opening`, then the sections, within `MAX_MARKDOWN`. When they do not
    all fit, every section that still fits is taken in turn, a small one after a large one
    left out, and a note ends the comment naming those left out."""
    whole = "\n".join([opening, *(text for _, text in sections)]).rstrip("\n") + "\n"
    if len(whole) <= MAX_MARKDOWN:
        return whole
    out, left_out = opening, []
    for cid, text in sections:
        if len(out) + 1 + len(text) <= MAX_MARKDOWN - NOTE_ROOM:
            out += "\n" + text
        else:
            left_out.append(cid)
    return out + "\n" + _left_out_note(left_out) + "\n"


def _left_out_note(ids: list[str]) -> str:
    """What the comment leaves out to fit, and where the rest is: at most `NOTE_ROOM`
    characters, however many sections and whatever their ids."""
    return (
        f"_{plural(len(ids), 'charter section')} left out to fit a comment:"
        f" {_names(list(dict.fromkeys(ids)))}; run `charters diff` locally or use"
        " `--format json` for everything._"
    )


def _site_wide_markdown(changes: list[Change], everything: list[Change]) -> list[str]:
    """A rule switched off for every charter by site.yaml's `lint.disable`: one flagged
    line a rule, naming the charters, where a section a charter filled the comment (nine
    for the examples, thousands for a large portfolio, the sections of the charters the
    change did edit then left out to fit)."""
    if not changes:
        return []
    by_code: dict[str, list[str]] = {}
    for change in changes:
        by_code.setdefault(str(change.extra["switched_off"]), []).append(change.charter)
    lines = ["### `site.yaml`", ""]
    for code, ids in by_code.items():
        rule = RULES_BY_CODE.get(code)
        name = f" {rule.name}" if rule is not None else ""
        # A charter where it silences an alert says so in its own section, not here.
        silencing = sorted(
            {
                c.charter
                for c in everything
                if c.kind == "finding-resolved"
                and c.extra.get("flagged")
                and (c.before or {}).get("code") == code
                and c.charter not in ids
            }
        )
        also = f"; where it silences an alert, in that charter's section: {_names(silencing)}"
        lines.append(
            f"- 🚩 switched off {_cell(code)}{name} for {plural(len(ids), 'charter')}"
            f" ({_names(sorted(ids))}) by site.yaml's lint.disable: what it finds is no"
            f" longer shown (an edit){also if silencing else ''}"
        )
    return [*lines, ""]


def _named(role: str, side: Side, shown: Callable[[str], str]) -> str:
    """`BASE (origin/main (1a2b3c4d5e))`; a side given as `HEAD` is `HEAD (…)`, not
    `HEAD (HEAD (…))`."""
    label = shown(side.label)
    return label if side.spec == role else f"{role} ({label})"


def _side_markdown(role: str, side: Side) -> list[str]:
    lines: list[str] = []
    if not side.ok:
        lines += [
            "> [!WARNING]",
            f"> **{_named(role, side, _cell)} does not load cleanly:**"
            f" {plural(len(side.errors), 'problem')}. Charters that loaded were still compared.",
            "",
            f"<details><summary>Problems in {role}</summary>",
            "",
        ]
        lines += [f"- `{_code(_cut(d.format_text()))}`" for d in side.errors[:MAX_PROBLEMS]]
        if len(side.errors) > MAX_PROBLEMS:
            lines.append(f"- … and {len(side.errors) - MAX_PROBLEMS} more")
        lines += ["", "</details>", ""]
    return lines


def _cut(text: str, most: int = MAX_PROBLEM_CHARS) -> str:
    """A problem or a name as listed in the comment: its first `most` characters."""
    return text if len(text) <= most else text[:most] + " …"


def _charter_markdown(
    report: DiffReport, cid: str, changes: list[Change], show_all: bool
) -> list[str]:
    view = report.head.view(cid) or report.base.view(cid)
    title = f" · {_cell(view.charter.title)}" if view is not None else ""
    lines = [f"### `{_code(cid)}`{title}", ""]
    lines += _alerts_markdown(_alerts(changes))
    lines += _changes_table([c for c in changes if c.kind != "results-added"])
    lines += _flagged_markdown(changes)
    lines += _metrics_table(report, cid, changes, show_all)
    lines += _original_verdict(report, cid)
    if len(lines) == 2:
        lines += ["No change.", ""]
    return lines


def _alerts_markdown(alerts: list[Change]) -> list[str]:
    """One prominent line for the new alerts of a charter (a breached guardrail, ML-only …)."""
    if not alerts:
        return []
    items = []
    for change in alerts:
        code = str(change.after["code"])
        rule = RULES_BY_CODE.get(code)
        name = f" {rule.name}" if rule is not None else ""
        items.append(f"`{_code(code)}`{name}: {_message(change.after['message'])}")
    return [f"> ⚠️ **Alerts:** {'; '.join(items)}", ""]


def _flagged_markdown(changes: list[Change]) -> list[str]:
    """The full sentence of every flagged change: why a goalpost moved, who re-agreed."""
    flagged = [c for c in changes if is_flagged(c) and c.kind != "results-rewritten"]
    if not flagged:
        return []
    return [*(f"- 🚩 {_message(c.message)}" for c in flagged), ""]


def _original_verdict(report: DiffReport, cid: str) -> list[str]:
    """The verdict against the goalposts in force when results began, when it differs."""
    original, head = report.original.get(cid), report.head.view(cid)
    if original is None or head is None or original.verdict == head.verdict:
        return []
    return [
        f"Verdict against the goalposts in force when results began:"
        f" **{label(original.verdict, 'verdict')}** (against the new goalposts:"
        f" {label(head.verdict, 'verdict')}).",
        "",
    ]


def _changes_table(changes: list[Change]) -> list[str]:
    if not changes:
        return []
    lines = ["| Change | Metric | Field | Before | After |", "| --- | --- | --- | --- | --- |"]
    for c in changes:
        field = _in_cell(c.field or "")
        if c.cells is not None:
            field, before, after = (_in_cell(cell) for cell in c.cells)
        else:
            before, after = _before_after(c)
        name = f"`{_id_in_cell(c.metric)}`" if c.metric else ""
        kind = ("🚩 " if c.extra.get("flagged") else "") + CHANGE_LABELS[c.kind]
        lines.append(f"| {kind} | {name} | {field} | {before} | {after} |")
    return [*lines, ""]


def _before_after(change: Change) -> tuple[str, str]:
    """The Before and After cells of a change's row."""
    if change.kind in MESSAGE_KINDS:
        message = _message(cut_message(change.message, MAX_CELL_CHARS), table=True)
        return ("", message) if change.before is None else (message, "")
    vocabulary = CODED_KINDS.get(change.kind)
    if vocabulary is not None:
        return _in_cell(label(change.before, vocabulary)), _in_cell(label(change.after, vocabulary))
    return _cell_pair(_cell_text(change.before), _cell_text(change.after))


def _cell_pair(before: str, after: str) -> tuple[str, str]:
    """The Before and After cells of a changed value, each cut at `MAX_CELL_CHARS`; two
    long texts that differ only past that are both shown from a little before where they
    first differ, so the change shows (as the message shows it)."""
    was, now = visible_text(before), visible_text(after)
    same = next((i for i, (a, b) in enumerate(zip(was, now, strict=False)) if a != b), None)
    if same is None:  # one is the other with more at its end
        same = min(len(was), len(now))
    begin = same - CELL_CONTEXT if same > MAX_CELL_CHARS - CELL_CONTEXT else 0
    return _in_cell(was, begin), _in_cell(now, begin)


def _metrics_table(
    report: DiffReport, cid: str, changes: list[Change], show_all: bool
) -> list[str]:
    """A row per metric with new or rewritten results (per metric of HEAD with `--all`)."""
    head = report.head.view(cid)
    if head is None:
        return []
    results: dict[str | None, Change] = {}
    for c in changes:
        if c.kind in RESULT_KINDS and (c.kind == "results-added" or c.metric not in results):
            results[c.metric] = c
    original = report.original.get(cid)
    renamed = [c.extra["renamed_from"] for c in changes if c.extra.get("renamed_from")]
    base = report.base.view(renamed[0] if renamed else cid)
    # A metric whose id changed is BASE's metric of its old id.
    was = {c.after: c.before for c in changes if c.kind == "metric-changed" and c.field == "id"}
    rows: list[str] = []
    for metric in head.metrics:
        change = results.get(metric.id)
        old = original.metric(metric.id) if original is not None else None
        if change is None and not show_all and not _moved(metric, old):
            continue
        # BASE's own metric, as BASE showed it (its unit): none for a charter or metric
        # added since, whose latest before is "—".
        before = (
            change.base_metric
            if change is not None
            else (base.metric(was.get(metric.id, metric.id)) if base is not None else None)
        )
        counts = change.extra.get("rows", {}) if change is not None else {}
        moved = ", ".join(f"+{v}" if k == "added" else f"{v} {k}" for k, v in counts.items() if v)
        rows.append(
            f"| `{_id_in_cell(metric.id)}` | {_latest_cell(before)} | {_latest_cell(metric)}"
            f" | {_trend_cell(change)} | {_progress_cell(metric, old)} | {moved} |"
        )
    if not rows:
        return []
    return [
        "| Metric | Latest before | Latest after | Trend | Progress to target | Rows |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
    ]


def _trend_cell(change: Change | None) -> str:
    """The trend, with the statuses it rests on: `▲ improved (Did not move → Improved)`."""
    if change is None or change.trend is None:
        return ""
    before, after = change.base_metric, change.head_metric
    words = f" ({status_words(before)} → {status_words(after)})" if after is not None else ""
    return label(change.trend, "trend") + words


def _latest_cell(metric: MetricView | None) -> str:
    if metric is None or metric.latest is None:
        return "—"
    value = _in_cell(fmt_value(metric.latest.row.value, metric.unit, apart=metric.together))
    return f"{value} ({fmt_date(metric.latest.row.date)})"


def _progress_cell(metric: MetricView, original: MetricView | None = None) -> str:
    """Progress to the target; beside it, to the original goalpost when that differs."""
    text = _progress_text(metric)
    if original is None or not _moved(metric, original):
        return text
    then = _progress_text(original) or "no progress measurable"
    return f"{text or 'no progress measurable'}; against the goalpost when results began: {then}"


def _moved(metric: MetricView, original: MetricView | None) -> bool:
    """Whether a metric's goalposts differ from those in force when its results began."""
    return original is not None and (original.target, original.baseline, original.direction) != (
        metric.target,
        metric.baseline,
        metric.direction,
    )


def _progress_text(metric: MetricView) -> str:
    text = ""
    if metric.latest is not None and metric.progress is not None:
        text = (
            f"{fmt_percent(metric.progress)} of the way to"
            f" {_in_cell(fmt_value(metric.target, metric.unit, apart=metric.together))}"
        )
    if metric.latest is not None and metric.met:
        text = (text + " ✓ met").strip()
    return text


def _cell(value: Any) -> str:
    """Charter text inside a Markdown table cell or paragraph, shown as written: no live
    Markdown, HTML, mentions, issue links or autolinks, no pipes or newlines."""
    text = show(value) if not isinstance(value, str) else value
    return escape_markdown(text)


def _in_cell(value: Any, begin: int = 0) -> str:
    """Charter text in a table's cell: as `_cell` shows it, its first `MAX_CELL_CHARS`
    characters (from `begin`), with `…` where some is left out."""
    text = show(value) if not isinstance(value, str) else value
    return escape_markdown(cut_text(text, MAX_CELL_CHARS, begin))


def _id_in_cell(text: str) -> str:
    """An id inside a code span in a table's cell, cut as the summary cuts names (a
    charter that did not load may have one of any length)."""
    return _code(cut_text(text, MAX_NAME_CHARS), table=True)


def _message(value: Any, table: bool = False) -> str:
    """A message of the comparison, which quotes charter text: its `id` code spans stay
    code, everything else is escaped as `_cell` escapes it (`table`: in a table's cell)."""
    return escape_message(value if isinstance(value, str) else show(value), table)


def _cell_text(value: Any) -> str:
    """A field's value as a table's cell shows it, before it is cut and escaped."""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {show(v)}" for k, v in value.items() if v is not None)
    return value if isinstance(value, str) else show(value)


def _code(text: str, table: bool = False) -> str:
    """Text safe inside a Markdown code span: one line, no backtick, no control character
    (`table`: in a table's cell, where a `|` is escaped)."""
    return escape_code_span(text, table)
