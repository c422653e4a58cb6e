"""Docs: JSON Schemas of charter.yaml, a result row, metrics.yaml and site.yaml, from the model.

The model is the single source: `charters schema` prints what this module
generates, and the copies shipped in `generator/schema/` are checked against it
by the tests (refresh them with `charters schema --out ...`, see docs/schema.md).
The schemas describe the shape of a file (keys, types, patterns, enums); rules
that relate one field to another stay with `charters check`.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, Literal, get_args

from pydantic import BaseModel, TypeAdapter

from . import model as m

SchemaKind = Literal["charter", "result-row", "metrics", "site"]

DRAFT = "https://json-schema.org/draft/2020-12/schema"
KINDS: tuple[SchemaKind, ...] = get_args(SchemaKind)
FILES: dict[SchemaKind, str] = {kind: f"{kind}.schema.json" for kind in KINDS}
# A URN rather than a URL: the schema is shipped with the package and printed by
# `charters schema`, it is not served from anywhere.
IDS: dict[SchemaKind, str] = {kind: f"urn:metric-charters:schema:1:{kind}" for kind in KINDS}
TITLES: dict[SchemaKind, str] = {
    "charter": "Metric charter (charters/<id>/charter.yaml)",
    "result-row": "Metric charter result row (a row of charters/<id>/results/*)",
    "metrics": "Catalogue of business metrics (metrics.yaml beside site.yaml)",
    "site": "Settings of the whole site (site.yaml at the top of the source folder)",
}
EXTENSION_KEYS = "^x-"

# Pydantic cannot place a bound on a type that carries its own validator, and writes
# the keyword as given; these are the JSON Schema spellings.
_BOUNDS = {"ge": "minimum", "gt": "exclusiveMinimum", "le": "maximum", "lt": "exclusiveMaximum"}


# The model of each file; metrics.yaml is a list of catalogued metrics (`_body`).
_MODELS: dict[SchemaKind, type[BaseModel]] = {
    "charter": m.Charter,
    "result-row": m.ResultRow,
    "site": m.SiteConfig,
}


def _body(kind: SchemaKind) -> dict[str, Any]:
    if kind == "metrics":
        body = TypeAdapter(list[m.CatalogueMetric]).json_schema()
        body["description"] = "A list of business metrics the charters share (`ref: <id>`)."
        return body
    return _MODELS[kind].model_json_schema()


def generate(kind: SchemaKind = "charter") -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a charter, a result row, metrics.yaml or site.yaml."""
    body = _body(kind)
    _tidy(body)
    body.pop("title", None)
    head = {"$schema": DRAFT, "$id": IDS[kind], "title": TITLES[kind]}
    head["description"] = body.pop("description", "")
    return {**head, **body}


def _tidy(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _tidy(item)
        return
    if not isinstance(node, dict):
        return
    for keyword, spelling in _BOUNDS.items():
        if keyword in node and isinstance(node[keyword], int | float):
            node[spelling] = node.pop(keyword)
    if node.get("type") == "object" and isinstance(node.get("properties"), dict):
        # Unknown keys are errors, except `x-` extension keys (see the format).
        node["additionalProperties"] = False
        node["patternProperties"] = {EXTENSION_KEYS: {}}
    elif node.get("type") == "object" and isinstance(node.get("patternProperties"), dict):
        # A map whose keys follow a pattern (metric ids, parameter names): no other keys.
        node.setdefault("additionalProperties", False)
    for key, value in node.items():
        if key in ("examples", "default", "enum", "const"):
            continue  # data, not schemas
        if key in ("properties", "$defs", "patternProperties") and isinstance(value, dict):
            for sub in value.values():
                _tidy(sub)
        else:
            _tidy(value)


def schema_text(kind: SchemaKind = "charter") -> str:
    """The schema as the text printed by `charters schema` and shipped in the package."""
    return json.dumps(generate(kind), indent=2, ensure_ascii=False) + "\n"


def shipped(kind: SchemaKind = "charter") -> str:
    """The schema file shipped inside the package."""
    return resources.files("generator").joinpath("schema", FILES[kind]).read_text("utf-8")
