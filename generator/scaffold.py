"""Commands, `charters new`: a commented starter charter that validates as written.

Every section of the format is present, with TODO placeholders where a person
must decide; the starter is a valid `proposed` charter so `charters check`
passes while it is filled in. Nothing existing is ever overwritten.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from . import model as m
from .diagnostics import Diagnostics
from .readers import inside, parse_yaml, read_text
from .schemas import schema_text

SCHEMA_FILE = "charter.schema.json"
# Relative to charters/<id>/charter.yaml: the schema file at the source root.
SCHEMA_LINE = f"# yaml-language-server: $schema=../../{SCHEMA_FILE}"


class ScaffoldError(Exception):
    """The charter cannot be created (it exists, or a file cannot be written)."""


def valid_id(charter_id: str) -> bool:
    return re.fullmatch(m.ID_PATTERN, charter_id) is not None


def starter(charter_id: str) -> str:
    """The text of a new charter.yaml."""
    title = charter_id.replace("-", " ").capitalize()
    return STARTER.format(schema_line=SCHEMA_LINE, title=title)


def _alias_owner(source: Path, charter_id: str) -> str | None:
    """The charter that lists `charter_id` in its `aliases`, if any: a new charter under
    that id would make the tree invalid (check refuses an alias that is a charter's id)."""
    charters = source / "charters"
    for folder in sorted(charters.iterdir()) if charters.is_dir() else []:
        text = read_text(source, f"charters/{folder.name}/charter.yaml", Diagnostics())
        doc = parse_yaml(text, "charter.yaml", Diagnostics()) if text else None
        aliases = (
            doc.data.get("aliases") if doc is not None and isinstance(doc.data, dict) else None
        )
        if isinstance(aliases, list) and charter_id in aliases:
            return folder.name
    return None


def new_charter(source: Path, charter_id: str) -> list[Path]:
    """Write charters/<id>/charter.yaml and results/.gitkeep; return what was written.

    Also writes the schema file the editor line points to, when the source folder
    has none yet.
    """
    if not valid_id(charter_id):
        raise ScaffoldError(f"{charter_id!r} is not a valid charter id ({m.ID_PATTERN})")
    charters = source / "charters"
    if os.path.lexists(charters) and not (charters.is_dir() and inside(source, charters)):
        from .load import no_charters  # lazy: the loader and all it imports

        # A link that leaves the source: the charter would be written where no build reads.
        raise ScaffoldError(f"{no_charters(source)}; nothing was written")
    folder = charters / charter_id
    if folder.exists() or folder.is_symlink():
        raise ScaffoldError(f"{folder} already exists; nothing was written")
    owner = _alias_owner(source, charter_id)
    if owner is not None:
        raise ScaffoldError(
            f"{charter_id!r} is a former id of charter {owner!r} (in its aliases: its old"
            " address redirects there); choose another id, nothing was written"
        )
    written: list[Path] = []
    try:
        (folder / "results").mkdir(parents=True)
        charter = folder / "charter.yaml"
        with charter.open("x", encoding="utf-8") as out:
            out.write(starter(charter_id))
        written.append(charter)
        keep = folder / "results" / ".gitkeep"
        keep.open("x").close()
        written.append(keep)
        schema = source / SCHEMA_FILE
        if not schema.exists() and not schema.is_symlink():
            with schema.open("x", encoding="utf-8") as out:
                out.write(schema_text("charter"))
            written.append(schema)
    except OSError as exc:
        raise ScaffoldError(
            f"cannot write {exc.filename or folder}: {exc.strerror or exc}"
        ) from exc
    return written


STARTER = """\
{schema_line}
#
# The charter of one ML project: why it exists, which business metric it must
# move, how that is measured, and what happened. Replace every TODO. As written
# this is a valid `proposed` charter, so `charters check` passes while you fill
# it in. Keys starting with `x-` are kept as extensions; any other unknown key
# is an error. Field reference: `charters schema`, or docs/reference.md.

title: "{title}"
summary: "TODO: One paragraph: what the model does, for whom, instead of what (Markdown)."
status: proposed          # proposed | baseline | experiment | live | paused | retired
owner:
  name: "TODO: Full name of the accountable person"
  # email: name@example.com
# team: TODO
tags: []
links: []
#  - {{title: Design doc, url: "https://wiki.example.com/..."}}

objective:
  statement: "TODO: The business outcome the project must improve (Markdown)."
  # context: Why it matters now, with the numbers that show it (Markdown).

business_metrics:         # at least one: the outcome the project must move
  - id: todo_metric       # lowercase letters, digits and _; result files use it
    name: "TODO: Metric name"
    definition: "TODO: Exactly how it is computed: population, aggregation, time window."
    unit: "TODO"          # free text; "%" means 0-100 and "ratio" 0-1
    direction: increase   # increase | decrease: which way is better
    baseline: {{value: 0}}  # TODO: today's value; add as_of: YYYY-MM-DD and source: ...
    target: {{value: 1}}    # TODO: the value committed to; add by: YYYY-MM-DD
    # Who agreed this metric measures the objective, and when. Once agreed,
    # changing the definition, unit, direction, baseline or target needs a new date.
    # agreed: {{by: [TODO: role, TODO: role], on: YYYY-MM-DD}}

ml_metrics: []            # model metrics, and the business metrics they should move
#  - id: todo_ml_metric
#    name: "TODO: Model metric name"
#    definition: "TODO: How it is computed."
#    unit: ratio
#    direction: increase
#    baseline: {{value: 0}}
#    target: {{value: 1}}
#    drives: [todo_metric]
#    hypothesis: "TODO: Why moving this metric should move the business metric."

measurement:
  method: ab_test         # ab_test | holdout | before_after | shadow | offline
  population: "TODO: Who or what is measured, and how it is split."
  # unit_of_analysis: TODO
  cadence: weekly         # how often results are added
  minimum_detectable_effect: {{metric: todo_metric, absolute: 0.1}}  # or relative: 0.1
  guardrails: []          # metrics that must not get worse
  #  - id: todo_guardrail
  #    name: "TODO: Guardrail name"
  #    unit: "TODO"
  #    direction: increase
  #    tolerance: {{value: 0.1}}  # largest acceptable move in the bad direction
  decision_rule: "TODO: What result leads to which decision, decided before the data comes in."

# Required once status is past `proposed`: do the task by hand first, or say why not.
# human_baseline:
#   method: "TODO: Who did the task by hand, how, for how long."
#   period: {{start: YYYY-MM-DD, end: YYYY-MM-DD}}
#   results:
#     - {{metric: todo_metric, value: 0}}
#   conclusion: "TODO: What the manual trial showed."
# or:
# human_baseline: {{waived: "TODO: Why a manual trial is impossible or pointless."}}

# results: [results/*.csv]  # default: every file in results/ (CSV, JSON or YAML)
#   columns: date, metric, value; optional lower, upper, variant, n, std, note

decisions: []             # decision log, newest last
#  - {{date: YYYY-MM-DD, decision: "TODO", rationale: "TODO: with the numbers"}}
"""
