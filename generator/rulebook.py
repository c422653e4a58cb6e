"""Rules stage: the table of rules, their codes, severities and rationales, and nothing else.

Kept apart from the rules themselves (rules.py) so that what only needs the codes,
such as `charters check --fail-on` checking its argument before a cached report is
printed, imports no model, loader or statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

from .diagnostics import Severity


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity
    summary: str
    rationale: str


RULES: tuple[Rule, ...] = (
    Rule("MC101", "metric-not-agreed", "warning",
         "A business metric has no agreement (`agreed.by` and `agreed.on`) once past `proposed`.",
         "A metric nobody who owns the outcome signed up to can be argued away when results"
         " arrive. Agreement before building is what makes the metric the goal."),
    Rule("MC102", "human-baseline-not-planned", "info",
         "A proposed charter has no human baseline yet.",
         "Doing the task by hand first shows whether doing it well moves the business metric"
         " at all. The format requires a study or a waiver once past `proposed`; plan it now."),
    Rule("MC103", "human-baseline-without-results", "warning",
         "A human baseline study has no results once past `baseline`.",
         "A study without numbers cannot tell whether automating the task is worth it."),
    Rule("MC104", "no-business-results", "error",
         "A charter in `experiment` or `live` has no business-metric result"
         " (a control arm's rows alone are none).",
         "Only business results show whether the project worked; ML metrics alone cannot."),
    Rule("MC105", "ml-only", "alert",
         "An ML metric met its target while the business metrics it drives did not move.",
         "The case this tool exists to expose: a better model that does not move the business"
         " means the hypothesis linking them is wrong, or the measurement is."),
    Rule("MC106", "target-wrong-side", "error",
         "A target is on the wrong side of its baseline for the metric's direction.",
         "A target that is already met, or that asks for the metric to get worse, is a typo"
         " or a wrong direction; either way progress cannot be measured."),
    Rule("MC107", "experiment-without-decision-rule", "warning",
         "An A/B test or holdout has no decision rule or no minimum detectable effect.",
         "Without a rule and an effect size agreed before the data comes in, any result can be"
         " read as success."),
    Rule("MC108", "guardrail-breached", "alert",
         "A guardrail moved in its bad direction by more than its tolerance.",
         "Guardrails are the costs the business agreed not to pay for the gain."),
    Rule("MC109", "stale-results", "alert",
         "The newest result a business metric is judged by (else the latest result of any"
         " metric) is older than twice the cadence (experiment and live charters).",
         "A charter whose numbers stopped coming in no longer says whether the project works."),
    Rule("MC110", "decision-before-results", "warning",
         "A decision is logged with no result on or before its date (decisions that"
         " start or plan a measurement excepted).",
         "Decisions should rest on evidence; one taken before any result is a guess on record."),
    Rule("MC111", "unknown-rule", "warning",
         "A `lint.disable` list names a rule code that does not exist.",
         "A mistyped code silently leaves the rule switched on."),
    Rule("MC112", "placeholder", "warning",
         "A `TODO` placeholder from `charters new` is still in the charter.",
         "A charter with placeholders has not been written yet; with `--strict` it fails."),
    Rule("MC113", "cadence-not-read", "warning",
         "An experiment or live charter's `measurement.cadence` is missing, in words the"
         " generator does not read, or longer than a year, so staleness (`MC109`) is not"
         " judged for it.",
         "Its results could stop coming in for a year and the site would never say so."),
)  # fmt: skip
RULES_BY_CODE = {r.code: r for r in RULES}
