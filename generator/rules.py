"""Rules stage: the discipline a charter is held to, as rules with stable codes and rationales.

Each rule is a function over an analysed charter that yields findings. Rules can be
switched off for the whole site (`site.yaml`: `lint: {disable: [CODE]}`) or for one
charter (`x-lint: {disable: [CODE]}` at the top of its charter.yaml).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from .analyze import CharterView, MetricView, analyze_project, rests_on_lift, wrong_side
from .diagnostics import Diagnostic, SourceRef, excerpt, format_path
from .formatting import fmt_difference, fmt_estimate, fmt_interval, fmt_signed, fmt_value
from .load import Project
from .model import CADENCE_DAYS, cadence_days
from .readers import Document, FieldPath
from .rulebook import RULES, RULES_BY_CODE, Rule
from .vocabulary import CONTROLLED_METHODS, MEASURING, past


@dataclass
class CharterCheck:
    """What `check` says of one charter."""

    view: CharterView
    evidence: str
    findings: list[Diagnostic] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.view.id

    @property
    def verdict(self) -> str:
        return self.view.verdict


#: What a charter's check is kept as: its evidence sentence, the findings of every rule
#: but staleness, and where a staleness finding stands (None: switched off for it).
Judged = tuple[str, list[Diagnostic], SourceRef | None]


class KeptChecks(Protocol):
    """Where a build keeps each charter's findings (generator/reuse.py)."""

    def findings(
        self,
        view: CharterView,
        context: str,
        make: Callable[[], Judged],
        dated: Callable[[SourceRef | None], list[Diagnostic]],
    ) -> tuple[str, list[Diagnostic]]: ...


def check_views(
    project: Project,
    views: Iterable[CharterView],
    today: date | None = None,
    kept: KeptChecks | None = None,
) -> dict[str, CharterCheck]:
    """Apply the rules to analysed charters, by charter id. `today=None` skips staleness.

    With `kept`, an unchanged charter's evidence and findings come from the cache: they
    depend on its view and the site's disabled rules alone, but for staleness, the one
    rule that reads the build date, which is judged again at every build from the
    charter's outline (its status and cadence) and its latest date.
    """
    site_disabled = set(project.site.lint.disable)
    if kept is None:
        return {view.id: check_charter(view, today, site_disabled) for view in views}
    context = repr(sorted(site_disabled))
    checks: dict[str, CharterCheck] = {}
    for view in views:

        def make(view: CharterView = view) -> Judged:
            check = check_charter(view, None, site_disabled)
            judged = STALE not in site_disabled and STALE not in _charter_disabled(view)
            return check.evidence, check.findings, view.loaded.doc.ref(CADENCE) if judged else None

        def dated(where: SourceRef | None, view: CharterView = view) -> list[Diagnostic]:
            return _stale_findings(view, today, where) if where is not None else []

        said, findings = kept.findings(view, context, make, dated)
        checks[view.id] = CharterCheck(view, said, findings)
    return checks


def mark_overdue(checks: Mapping[str, CharterCheck]) -> None:
    """Give each checked charter's view what the staleness rule found (`overdue`): its
    message when the charter's results are overdue at the build date, else None. Set on
    every view at every build, as the finding is judged again at each."""
    for check in checks.values():
        said = (d.message for d in check.findings if d.code == STALE)
        check.view.overdue = next(said, None)


def check_project(project: Project, today: date | None = None) -> dict[str, CharterCheck]:
    """Analyse every charter and apply the rules (for `check` and `diff`, which need both)."""
    return check_views(project, analyze_project(project), today)


def site_findings(project: Project) -> list[Diagnostic]:
    """Findings about site.yaml itself: codes in `lint.disable` that name no rule."""
    if project.site_doc is None:
        return []
    return [
        _unknown_rule(project.site_doc, ("lint", "disable", i), code)
        for i, code in enumerate(project.site.lint.disable)
        if code not in RULES_BY_CODE
    ]


def check_charter(view: CharterView, today: date | None, disabled: set[str]) -> CharterCheck:
    own = _charter_disabled(view)
    findings: list[Diagnostic] = []
    for code_, where, message in _run(view, today):
        if code_ in disabled or code_ in own:
            continue
        rule = RULES_BY_CODE[code_]
        findings.append(view.loaded.doc.at(where, message, code_, rule.severity))
    for path, code in x_lint_codes(view):
        if code not in RULES_BY_CODE:
            findings.append(_unknown_rule(view.loaded.doc, path, str(code)))
    findings.sort(key=Diagnostic.sort_key)
    return CharterCheck(view, evidence(view), findings)


def _unknown_rule(doc: Document, where: FieldPath, code: str) -> Diagnostic:
    known = ", ".join(RULES_BY_CODE)
    return doc.at(where, f"unknown rule code {code!r}; known codes: {known}", "MC111", "warning")


def x_lint_codes(view: CharterView, data: Any = None) -> list[tuple[FieldPath, Any]]:
    """The codes of `x-lint: {disable: [...]}`, each with its field path, read from the
    charter's document (or from `data`, a mapping that holds its `x-lint`).

    A single code written without a list (`disable: MC107`) counts as a one-item list,
    as `agreed.by` does, rather than being silently ignored.
    """
    data = view.loaded.doc.data if data is None else data
    raw = data.get("x-lint") if isinstance(data, dict) else None
    codes = raw.get("disable") if isinstance(raw, dict) else None
    if isinstance(codes, str):
        return [(("x-lint", "disable"), codes)]
    if isinstance(codes, list):
        return [(("x-lint", "disable", i), c) for i, c in enumerate(codes)]
    return []


def _charter_disabled(view: CharterView) -> set[str]:
    return {str(code) for _, code in x_lint_codes(view)}


def switched_off(view: CharterView, site_disabled: Iterable[str]) -> list[tuple[Rule, str]]:
    """The rules switched off for a charter, in the rule table's order, each with what
    switched it off (`site.yaml`, else the charter's `x-lint`): its page says so beside
    its findings, since what such a rule would find shows nowhere else (a stale charter
    whose `x-lint` switched staleness off looked fresh). Read from the charter's model
    (its extensions hold `x-lint`), which its page reads anyway."""
    site = set(site_disabled)
    own = {str(code) for _, code in x_lint_codes(view, view.charter.extensions)}
    return [
        (rule, "site.yaml" if rule.code in site else "x-lint")
        for rule in RULES
        if rule.code in site or rule.code in own
    ]


Finding = tuple[str, FieldPath, str]


def _metric_path(view: CharterView, metric: MetricView) -> FieldPath:
    return view.charter.metric_path(metric.id)


def _run(view: CharterView, today: date | None) -> Iterator[Finding]:
    for rule in _RULE_FUNCS:
        yield from rule(view, today)


def _not_agreed(view: CharterView, today: date | None) -> Iterator[Finding]:
    if not past(view.charter.status, "proposed"):
        return
    for i, bm in enumerate(view.charter.business_metrics):
        missing = []
        if bm.agreed is None or not bm.agreed.by:
            missing.append("who agreed (agreed.by)")
        if bm.agreed is None or bm.agreed.on is None:
            missing.append("when (agreed.on)")
        if missing:
            # Who agreed is written: the agreement happened, only its date is not recorded.
            advice = (
                "record the day they agreed: agreed.on: YYYY-MM-DD"
                if len(missing) == 1 and bm.agreed is not None and bm.agreed.by
                else "get the owners of the outcome to agree on it before building"
            )
            yield (
                "MC101",
                ("business_metrics", i),
                f"business metric {bm.id!r} has no record of {' or '.join(missing)}; {advice}",
            )


def _human_baseline(view: CharterView, today: date | None) -> Iterator[Finding]:
    c = view.charter
    hb = c.human_baseline
    if hb is None and c.status == "proposed":
        yield (
            "MC102",
            ("status",),
            "no human baseline planned yet: try the task by hand, or record why not"
            " ('human_baseline: {waived: ...}'), before leaving 'proposed'",
        )
    if hb is not None and not hb.is_waived and not hb.results and past(c.status, "baseline"):
        yield (
            "MC103",
            ("human_baseline",),
            f"the human baseline study has no results, yet the charter is {c.status!r};"
            " add 'results' with the metrics reached by hand",
        )


def _no_business_results(view: CharterView, today: date | None) -> Iterator[Finding]:
    business = view.by_kind("business")
    if view.charter.status in MEASURING and not any(b.latest is not None for b in business):
        control = any(b.rows for b in business)  # rows of a control arm, and no other
        yield (
            "MC104",
            ("status",),
            f"status is {view.charter.status!r} but no business metric has a result"
            + (" other than its control arm's (nothing to compare it with)" if control else "")
            + "; add results for "
            + ", ".join(repr(b.id) for b in business),
        )


def _ml_only(view: CharterView, today: date | None) -> Iterator[Finding]:
    if view.verdict != "ml-only":
        return
    for ml in view.by_kind("ml"):
        if ml.met:
            yield ("MC105", _metric_path(view, ml), ml_only_sentence(view, ml))


def _wrong_side(view: CharterView, today: date | None) -> Iterator[Finding]:
    for metric in view.metrics:
        if metric.baseline is None or metric.target is None:
            continue
        if wrong_side(metric.direction, metric.baseline, metric.target):
            word = "above" if metric.direction == "increase" else "below"
            target, baseline = (
                fmt_value(x, metric.unit, apart=metric.together)
                for x in (metric.target, metric.baseline)
            )
            yield (
                "MC106",
                (*_metric_path(view, metric), "target", "value"),
                f"target {target} of {metric.id!r} is not {word} its baseline {baseline}, yet"
                f" the direction is {metric.direction!r}",
            )


def _decision_rule(view: CharterView, today: date | None) -> Iterator[Finding]:
    ms = view.charter.measurement
    if ms.method not in CONTROLLED_METHODS:
        return
    missing = []
    if not ms.decision_rule:
        missing.append("decision_rule")
    if ms.minimum_detectable_effect is None:
        missing.append("minimum_detectable_effect")
    if missing:
        yield (
            "MC107",
            ("measurement", "method"),
            f"an {ms.method} needs {' and '.join(missing)} agreed before the data comes in",
        )


def _guardrails(view: CharterView, today: date | None) -> Iterator[Finding]:
    for g in view.by_kind("guardrail"):
        if g.breached and g.move is not None and g.tolerance is not None:
            # The change and the tolerance each told from the other (`MetricView.sizes`).
            yield (
                "MC108",
                (*_metric_path(view, g), "tolerance"),
                f"guardrail {excerpt(g.name)} moved {fmt_signed(g.change, g.unit, g.sizes)}"
                f" against {g.move_reference}, beyond its tolerance of"
                f" {fmt_difference(g.tolerance, g.unit, g.sizes)}",
            )


STALE = "MC109"
CADENCE = ("measurement", "cadence")  # where a staleness finding stands


def _stale(view: CharterView, today: date | None) -> Iterator[Finding]:
    """The one rule that reads the build date; it reads nothing of the charter but its
    outline (status, cadence) and its dates, which are read back at once. Judged by the
    newest result of a business metric (`CharterView.judged_date`): a fresh row of an ML
    metric hid business results months old."""
    outline = view.outline
    days = cadence_days(outline.cadence)
    latest = view.judged_date
    if today is None or days is None or latest is None or outline.status not in MEASURING:
        return
    if today - latest > timedelta(days=2 * days):
        newest = view.latest_date
        which, besides = "latest result", ""
        if newest is not None and newest != latest:
            which = "newest result a business metric is judged by"
            besides = f" (the newest of any metric is from {newest.isoformat()})"
        yield (
            STALE,
            CADENCE,
            f"{which} is from {latest.isoformat()}, {(today - latest).days} days before"
            f" {today.isoformat()}{besides}; the cadence is {outline.cadence!r}",
        )


def _stale_findings(view: CharterView, today: date | None, where: SourceRef) -> list[Diagnostic]:
    """The staleness rule's findings, at `where` (the cadence's place in the charter, kept
    with its other findings), as `check_charter` locates them."""
    severity = RULES_BY_CODE[STALE].severity
    return [
        Diagnostic(where, format_path(at), said, code, severity)
        for code, at, said in _stale(view, today)
    ]


# A decision to start, plan or design a measurement needs no result before it.
_STARTS_MEASURING = re.compile(
    r"\b(start|starts|started|begin|launch|plan|planned|schedule|set up|kick off|design|run)\b"
    r".*\b(a/b|test|tests|experiment|trial|pilot|holdout|shadow|baseline|measurement|study)\b",
    re.IGNORECASE,
)


def starts_measuring(decision: str) -> bool:
    """Whether a logged decision starts or plans a measurement (exempt from MC110)."""
    return _STARTS_MEASURING.search(decision) is not None


def _decision_before_results(view: CharterView, today: date | None) -> Iterator[Finding]:
    first = view.loaded.results.min_date()
    for i, d in enumerate(view.charter.decisions):
        if starts_measuring(d.decision):
            continue
        if first is None or d.date < first:
            since = f"the first result is from {first.isoformat()}" if first else "no results"
            yield (
                "MC110",
                ("decisions", i, "date"),
                f"decision of {d.date.isoformat()} ({excerpt(d.decision)}) has no result before it"
                f" ({since})",
            )


_PLACEHOLDER = re.compile(r"\bTODO\b")


def _placeholders(view: CharterView, today: date | None) -> Iterator[Finding]:
    """Every text value still holding a `TODO` placeholder from `charters new`."""
    stack: list[tuple[FieldPath, Any]] = [((), view.loaded.doc.data)]
    found: list[FieldPath] = []
    while stack:
        path, value = stack.pop()
        if isinstance(value, str) and _PLACEHOLDER.search(value):
            found.append(path)
        elif isinstance(value, dict):
            stack.extend(((*path, k), v) for k, v in value.items() if isinstance(k, str))
        elif isinstance(value, list):
            stack.extend(((*path, i), v) for i, v in enumerate(value))
    for path in sorted(found, key=lambda p: view.loaded.doc.ref(p)):
        yield (
            "MC112",
            path,
            "still a TODO placeholder from 'charters new'; write the real value",
        )


READ_CADENCES = ", ".join(CADENCE_DAYS) + ", or every N days, weeks or months"

#: The longest cadence the staleness rule judges by (a year): past it (`every 999 months`),
#: results would be overdue only after years, which is never judging them.
LONGEST_CADENCE = CADENCE_DAYS["yearly"]


def _cadence_not_read(view: CharterView, today: date | None) -> Iterator[Finding]:
    """A measuring charter whose cadence the staleness rule cannot read (or that has
    none), or reads as longer than a year: nothing would ever say its results stopped.
    Read from its outline alone."""
    outline = view.outline
    days = cadence_days(outline.cadence)
    if outline.status not in MEASURING or (days is not None and days <= LONGEST_CADENCE):
        return
    if outline.cadence is None:
        what = "no cadence is given"
    elif days is None:
        what = f"{excerpt(outline.cadence)} is not a cadence the generator reads"
    else:
        what = f"{excerpt(outline.cadence)} is {days} days, longer than a year"
    yield (
        "MC113",
        CADENCE,
        f"{what}, so whether the results are overdue (MC109) is never judged; write one"
        f" of: {READ_CADENCES}",
    )


_RULE_FUNCS: tuple[Callable[[CharterView, date | None], Iterator[Finding]], ...] = (
    _not_agreed,
    _human_baseline,
    _no_business_results,
    _ml_only,
    _wrong_side,
    _decision_rule,
    _guardrails,
    _stale,
    _decision_before_results,
    _placeholders,
    _cadence_not_read,
)


# --- evidence sentences ------------------------------------------------------------------


def move_phrase(metric: MetricView, interval: tuple[float, float] | None = None) -> str:
    """`-0.2 hours, 95% CI -1.1 to +0.7` for the move a status rests on: the lift (dated
    when the latest value is newer than it), else the move and against what (dated when
    it was measured at an older pair than the latest value), written with the decimals
    of the `interval` that will follow it, if any (`fmt_estimate`)."""
    if metric.lift is not None and rests_on_lift(metric):
        lf = metric.lift.lift
        day = metric.lift.date
        when = f" on {day.isoformat()}" if metric.latest and metric.latest.row.date > day else ""
        return (
            f"{fmt_estimate(lf.absolute, lf.ci_low, lf.ci_high, metric.unit)} vs control{when},"
            f" 95% CI {fmt_interval(lf.ci_low, lf.ci_high, metric.unit)}"
        )
    if metric.latest is not None and metric.move is not None and metric.move_reference:
        # Judged at an older pair than the latest value (analyze._judged): dated so.
        at = metric.move_date
        when = f" on {at.isoformat()}" if at and metric.latest.row.date > at else ""
        low, high = interval if interval is not None else (None, None)
        # A guardrail's change told from its tolerance (`MetricView.sizes`).
        moved = fmt_estimate(metric.change, low, high, metric.unit, metric.sizes)
        return f"{moved} vs {metric.move_reference}{when}"
    return "no comparison"


def ml_only_sentence(view: CharterView, ml: MetricView) -> str:
    assert ml.latest is not None and ml.target is not None
    driven = [d for mid in ml.drives if (d := view.metric(mid)) is not None]
    parts = []
    for d in driven:
        if d.latest is None:
            parts.append(f"{d.name} has no results")
        elif d.status == "worse":  # significantly worse than control: it moved, the wrong way
            parts.append(f"{d.name} got worse ({move_phrase(d)})")
        else:
            parts.append(f"{d.name} did not move ({move_phrase(d)})")
    return (
        f"{ml.name} reached {fmt_value(ml.latest.row.value, ml.unit, apart=ml.together)} (target"
        f" {fmt_value(ml.target, ml.unit, apart=ml.together)}) but " + "; ".join(parts)
    )


def _at_target(metric: MetricView) -> str:
    """`Name at 12.07 minutes (target 13.9 minutes)`, each with the digits that tell it
    from the numbers shown with it (`MetricView.together`), as on the pages."""
    latest = metric.latest.row.value if metric.latest else None
    return (
        f"{metric.name} at {fmt_value(latest, metric.unit, apart=metric.together)}"
        f" (target {fmt_value(metric.target, metric.unit, apart=metric.together)})"
    )


def evidence(view: CharterView) -> str:
    """One sentence that says why the charter got its verdict."""
    business = view.by_kind("business")
    verdict = view.verdict
    if verdict == "target-met":
        text = "Every business metric reached its target: " + "; ".join(
            _at_target(b) for b in business
        )
    elif verdict == "business-impact":
        moved = [b for b in business if b.status in ("met", "improved")]
        text = "; ".join(
            f"{b.name} {'reached its target' if b.status == 'met' else 'improved'}:"
            f" {fmt_value(b.latest.row.value if b.latest else None, b.unit, apart=b.together)}"
            f" ({move_phrase(b)})"
            for b in moved
        )
        # The verdict needs one business metric to move; one that got worse meanwhile is
        # said too, or the sentence would read as good news alone.
        text += "".join(
            f"; but {b.name} got worse ({move_phrase(b)})" for b in business if b.status == "worse"
        )
    elif verdict == "ml-only":
        ml = next(x for x in view.by_kind("ml") if x.met)
        text = ml_only_sentence(view, ml)
    elif verdict == "no-impact":
        text = "Business results exist but none improved: " + "; ".join(
            f"{b.name} {move_phrase(b)}" for b in business if b.latest is not None
        )
    elif verdict == "no-business-results":
        text = _no_business_results_sentence(view)
    else:
        text = "No results yet"
    if view.breached:
        text += ". Guardrail breached: " + ", ".join(g.name for g in view.breached)
    return text + "."


def _no_business_results_sentence(view: CharterView) -> str:
    """Which metrics have results when no business metric has one (a row beside a control
    arm's): "Only guardrails have results; …" of a charter that measured guardrails alone."""
    kinds = [
        name
        for kind, name in (("ml", "ML metrics"), ("guardrail", "guardrails"))
        if any(x.latest is not None and x.kind == kind for x in view.metrics)
    ]
    control = any(b.rows for b in view.by_kind("business"))
    which = " and ".join(kinds) or "other metrics"
    yet = "a result beside its control arm yet" if control else "been measured yet"
    return f"Only {which} have results; no business metric has {yet}"


__all__ = [
    "RULES",
    "RULES_BY_CODE",
    "CharterCheck",
    "check_project",
    "check_views",
    "site_findings",
]
