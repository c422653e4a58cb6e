"""Docs: the field reference (docs/reference.md), generated from the model so it cannot drift.

Run `python -m generator.reference > docs/reference.md`; a test checks the file is current.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from . import model as m
from .formatting import exact_number

SECTIONS: tuple[tuple[str, type[BaseModel]], ...] = (
    ("charter.yaml", m.Charter),
    ("owner", m.Owner),
    ("links[]", m.Link),
    ("objective", m.Objective),
    ("business_metrics[]", m.BusinessMetric),
    ("business_metrics[].baseline", m.Baseline),
    ("business_metrics[].target", m.Target),
    ("business_metrics[].agreed", m.Agreement),
    ("ml_metrics[]", m.MLMetric),
    ("ml_metrics[].baseline, ml_metrics[].target, guardrails[].baseline", m.ValueOnly),
    ("measurement", m.Measurement),
    ("measurement.minimum_detectable_effect", m.MinimumDetectableEffect),
    ("measurement.guardrails[]", m.Guardrail),
    ("measurement.guardrails[].tolerance", m.Tolerance),
    ("human_baseline", m.HumanBaseline),
    ("human_baseline.period", m.Period),
    ("human_baseline.results[]", m.HumanResult),
    ("decisions[]", m.Decision),
    ("pull[]", m.Pull),
    ("pull[].mlflow", m.MlflowPull),
    ("Result row (CSV column, or JSON/YAML key)", m.ResultRow),
    ("site.yaml", m.SiteConfig),
    ("metrics.yaml (a list of these)", m.CatalogueMetric),
    ("site.yaml lint", m.LintSettings),
    ("site.yaml connections.<name>", m.Connection),
)


def type_name(annotation: Any) -> str:
    """A reader's name for a field's type."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        base = args[0]
        for meta in args[1:]:
            pattern = getattr(meta, "pattern", None)
            if pattern == m.METRIC_ID_PATTERN:
                return "metric id"
            if pattern == m.ID_PATTERN:
                return "charter id"
        if base is float:
            return "number"
        if base is str:
            for meta in args[1:]:
                if getattr(meta, "func", None) is getattr(m, "_check_url", None):
                    return "URL"
            return "text"
        return type_name(base)
    if origin in (typing.Union, types.UnionType):
        names = [type_name(a) for a in args if a is not type(None)]
        return " or ".join(names)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin is list:
        return f"list of {type_name(args[0])}"
    if origin is dict:
        return "mapping"
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return "mapping"
        return {
            "str": "text",
            "float": "number",
            "int": "whole number",
            "date": "date (YYYY-MM-DD)",
            "bool": "true/false",
        }.get(annotation.__name__, annotation.__name__)
    return str(annotation)


def _required(cls: type[BaseModel], name: str, info: FieldInfo) -> str:
    if not info.is_required():
        return "no"
    if cls is m.BusinessMetric and name not in m.REF_OWN:
        return "yes, unless `ref`"  # the catalogue gives it
    return "yes"


def reference_markdown() -> str:
    lines = [
        "# Charter format: field reference",
        "",
        "Generated from the model in `generator/model.py` (`python -m generator.reference`).",
        "The format itself is described in [the format page](format.md). Unknown keys are",
        "errors everywhere, except keys starting with `x-`, which are kept as extensions.",
        "",
    ]
    for title, cls in SECTIONS:
        lines += [f"## {title}", "", (cls.__doc__ or "").strip().splitlines()[0], ""]
        lines += ["| field | type | required | meaning |", "| --- | --- | --- | --- |"]
        for name, info in cls.model_fields.items():
            if name == "extensions":
                continue
            meaning = (info.description or "").replace("|", "\\|")
            default = info.default
            examples = info.examples
            if isinstance(default, (int, float, str)) and not isinstance(default, bool):
                # A default the field's words may not say (`timeout`: 300 seconds).
                shown_default = exact_number(default) if not isinstance(default, str) else default
                if f"default {shown_default}" not in meaning.lower():
                    meaning += f" Default: `{shown_default}`."
                if examples == [default]:
                    examples = None  # the default, shown once
            if examples:
                # Lists and mappings as JSON, which is also YAML flow style.
                shown = [e if isinstance(e, str) else json.dumps(e) for e in examples]
                word = "Example" if len(shown) == 1 else "Examples"
                meaning += f" {word}: {', '.join(f'`{e}`' for e in shown)}."
            required = _required(cls, name, info)
            lines.append(f"| `{name}` | {type_name(info.annotation)} | {required} | {meaning} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(reference_markdown(), end="")
