"""Shared vocabulary (every stage): the names, labels, orders and predicates of the format.

One place for every word the site, `check` and `diff` show for a coded value: a
charter status, a measurement method, a verdict, a metric's status, a metric kind,
a kind of change, a trend, a reference line, an arm of an experiment. Orders come
from the model's `Literal`s where the model has one, so a value added to the format
cannot be left without a label (a test asserts every value has one).

Templates reach the labels through the `label` filter, `{{ c.status|label("status") }}`;
they keep no label text of their own. This module imports nothing heavy.
"""

from __future__ import annotations

from typing import Literal, get_args

from . import model as m

# --- charter status --------------------------------------------------------------------

STATUSES: tuple[str, ...] = get_args(m.Status)  # in lifecycle order
# The portfolio shows what is running first, then what is coming, then what stopped.
STATUS_DISPLAY_ORDER: tuple[m.Status, ...] = (
    "live", "experiment", "baseline", "proposed", "paused", "retired"
)  # fmt: skip
STATUS_LABELS: dict[str, str] = {
    "proposed": "Proposed",
    "baseline": "Measuring baseline",
    "experiment": "In experiment",
    "live": "Live",
    "paused": "Paused",
    "retired": "Retired",
}


def past(status: str, stage: m.Status) -> bool:
    """Whether a charter in `status` has moved beyond `stage` in the lifecycle."""
    return STATUSES.index(status) > STATUSES.index(stage)


# Charters that should be producing results now (the staleness and business-results rules).
MEASURING: tuple[m.Status, ...] = ("experiment", "live")
# Past the experiment: production rows after it judge a guardrail (analyze.guardrail_move).
ROLLED_OUT: tuple[m.Status, ...] = ("live", "paused", "retired")

# --- measurement method ----------------------------------------------------------------

METHODS: tuple[m.Method, ...] = get_args(m.Method)
METHOD_LABELS: dict[str, str] = {
    "ab_test": "A/B test",
    "holdout": "Holdout",
    "before_after": "Before/after comparison",
    "shadow": "Shadow mode",
    "offline": "Offline evaluation",
}
# Methods that compare a treatment arm with a control arm at the same time.
CONTROLLED_METHODS: tuple[m.Method, ...] = ("ab_test", "holdout")

# --- verdict -----------------------------------------------------------------------------

Verdict = Literal[
    "target-met", "business-impact", "ml-only", "no-impact", "no-business-results", "no-results"
]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
VERDICT_LABELS: dict[str, str] = {
    "target-met": "Target met",
    "business-impact": "Business impact",
    "ml-only": "ML metric only",
    "no-impact": "No impact",
    "no-business-results": "No business results",
    "no-results": "No results",
}
# The verdicts that say the business moved, best first.
BUSINESS_MOVED: tuple[Verdict, ...] = ("target-met", "business-impact")


def verdict_gained(was: str | None, now: str | None) -> bool:
    """Whether the verdict `now` says the business moved more than `was` did: into
    `BUSINESS_MOVED`, or up within it. Brought about by an edit of the charter (a
    cadence, a status, a plan's minimum detectable effect) rather than by new results,
    it is flagged for a reviewer (the history, `charters diff`)."""
    if now not in BUSINESS_MOVED:
        return False
    return was not in BUSINESS_MOVED or BUSINESS_MOVED.index(now) < BUSINESS_MOVED.index(was)


def rollout_undone(was: str | None, now: str | None) -> bool:
    """Whether a change of status leaves the rollout (`ROLLED_OUT` back to an earlier
    status): production rows after the experiment then no longer judge the metrics
    (analyze.experiment_over). Flagged for a reviewer (the history, `charters diff`)."""
    return was in ROLLED_OUT and now not in ROLLED_OUT


# --- a metric and its status -------------------------------------------------------------

Kind = m.MetricKind
KINDS: tuple[Kind, ...] = get_args(Kind)
KIND_LABELS: dict[str, str] = {
    "business": "business metric",
    "ml": "ML metric",
    "guardrail": "guardrail",
}
MetricStatus = Literal["met", "improved", "flat", "worse", "no-results"]
METRIC_STATUSES: tuple[MetricStatus, ...] = get_args(MetricStatus)
METRIC_STATUS_LABELS: dict[str, str] = {
    "met": VERDICT_LABELS["target-met"],
    "improved": "Improved",
    "flat": "Did not move",
    "worse": "Worse",
    "no-results": VERDICT_LABELS["no-results"],
}
DIRECTION_LABELS: dict[str, str] = {
    "increase": "↑ higher is better",
    "decrease": "↓ lower is better",
}
HUMAN_BASELINE_LABELS: dict[str, str] = {
    "done": "Done",
    "waived": "Waived",
    "missing": "Missing",
}
# Alerts on a project: shown prominently, but they do not make the charter invalid.
ALERT_LABELS: dict[str, str] = {
    "guardrail-breached": "Guardrail breached",
    "breached": "Breached",  # beside the guardrail itself, where the word "guardrail" is implied
    "overdue": "Results overdue",  # beside a verdict whose results are stale (rule MC109)
    "edited": "Verdict by an edit",  # beside a verdict an edit, not new results, brought
}

# --- reference lines of a chart ----------------------------------------------------------

RefKind = Literal["baseline", "human", "target"]
REF_KINDS: tuple[RefKind, ...] = get_args(RefKind)
REF_LABELS: dict[str, str] = {
    "baseline": "Baseline",
    "human": "Human baseline",
    "target": "Target",
}

# --- arms of an experiment ---------------------------------------------------------------

# Variant names that mean "the arm without the model", compared case-insensitively
# after trimming. Analysis compares the treatment against it, charts draw it grey,
# and `latest` values never come from it.
CONTROL_NAMES: frozenset[str] = frozenset({"control", "ctrl", "holdout", "baseline", "a/a"})
# A row with no variant is the metric as measured in production.
PRODUCTION_LABEL = "Production"
TREATMENT = "treatment"


def is_control(variant: str | None) -> bool:
    """Whether `variant` names a control arm (see `CONTROL_NAMES`)."""
    return variant is not None and variant.strip().lower() in CONTROL_NAMES


# The arm identity every control name shares (see `arm_of`).
CONTROL_ARM = "\0control"


def arm_of(variant: str | None) -> str:
    """Which arm a row's `variant` is, for the rule of one row per date, metric and arm:
    "" for production, one identity for every control name (the lift is measured
    against one control arm on a date), else the name compared without case and
    surrounding spaces (`Treatment ` is the arm `treatment`)."""
    if not variant:
        return ""
    if is_control(variant):
        return CONTROL_ARM
    return variant.strip().casefold()


def variant_label(variant: str | None) -> str:
    """How a variant is named on the page: production rows have none."""
    return variant if variant else PRODUCTION_LABEL


# --- changes in a pull request (`charters diff`) -----------------------------------------

ChangeKind = Literal[
    "charter-added",
    "charter-removed",
    "status-changed",
    "metric-changed",
    "goalpost-moved",
    "agreement-changed",
    "catalogue-changed",
    "plan-changed",
    "results-rewritten",
    "results-added",
    "verdict-changed",
    "finding-added",
    "finding-resolved",
]
CHANGE_KINDS: tuple[ChangeKind, ...] = get_args(ChangeKind)
CHANGE_LABELS: dict[str, str] = {
    "charter-added": "Charter added",
    "charter-removed": "Charter removed",
    "status-changed": "Status",
    "metric-changed": "Metric changed",
    "goalpost-moved": "🚩 Goalpost moved",
    "agreement-changed": "🚩 Agreement changed",
    "catalogue-changed": "🚩 Catalogued metric changed",
    "plan-changed": "Measurement plan",
    "results-rewritten": "🚩 Results rewritten",
    "results-added": "New results",
    "verdict-changed": "Verdict",
    "finding-added": "Finding added",
    "finding-resolved": "Finding resolved",
}
Trend = Literal["improved", "regressed", "unchanged"]
TRENDS: tuple[Trend, ...] = get_args(Trend)
TREND_LABELS: dict[str, str] = {
    "improved": "▲ improved",
    "regressed": "▼ regressed",
    "unchanged": "= unchanged",
}

# --- a charter's history from git (history.py) --------------------------------------------

HistoryKind = Literal[
    "created",
    "renamed",
    "status",
    "goalpost",
    "agreement",
    "plan",
    "first-result",
    "rewritten",
    "linked",
    "verdict",
]
HISTORY_KINDS: tuple[HistoryKind, ...] = get_args(HistoryKind)
HISTORY_LABELS: dict[str, str] = {
    "created": "Created",
    "renamed": "Renamed",
    "status": "Status changed",
    "goalpost": "Goalpost changed",
    "agreement": "Agreement changed",
    "plan": "Plan changed",
    "first-result": "First result",
    "rewritten": "Results rewritten",
    "linked": "File made a link",
    "verdict": "Verdict changed",
    "moved": "Moved goalpost",  # a goalpost changed after the metric's first result
}

# --- one lookup for templates ------------------------------------------------------------

VOCABULARIES: dict[str, dict[str, str]] = {
    "status": STATUS_LABELS,
    "method": METHOD_LABELS,
    "verdict": VERDICT_LABELS,
    "kind": KIND_LABELS,
    "metric_status": METRIC_STATUS_LABELS,
    "direction": DIRECTION_LABELS,
    "human_baseline": HUMAN_BASELINE_LABELS,
    "ref": REF_LABELS,
    "change": CHANGE_LABELS,
    "trend": TREND_LABELS,
    "alert": ALERT_LABELS,
    "history": HISTORY_LABELS,
}


def label(value: str, vocabulary: str) -> str:
    """The label of `value` in one vocabulary; an unknown value is shown as written."""
    return VOCABULARIES[vocabulary].get(value, value)
