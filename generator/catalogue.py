"""Load stage: the catalogue of business metrics (metrics.yaml) and the charters' `ref`s to it.

`metrics.yaml`, beside `site.yaml` and optional, lists business metrics the whole
portfolio shares (`model.CatalogueMetric`). A charter's business metric written
`{ref: <id>, baseline: ..., target: ...}` takes the catalogue's id, name,
definition, unit, direction and range: :func:`resolve_refs` fills them into the
charter's raw data before it is validated, so the rest of the build sees an
ordinary business metric (with `ref` set). A definition, unit or direction that
contradicts the catalogue is an error at that field; a metric that looks like a
catalogued one without naming it gets a warning.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import model as m
from .diagnostics import Diagnostics, SourceRef, excerpt
from .messages import validate_model
from .paths import loops
from .readers import Document, FieldPath, read_text, reader_for

CATALOGUE_FILE = "metrics.yaml"
# The fields a catalogued metric gives a charter, and those a charter may not contradict.
INHERITED = ("id", "name", "definition", "unit", "direction", "range")
FIXED = ("definition", "unit", "direction")
# A name this close to a catalogued one (difflib ratio, or share of shared words), or a
# definition sharing this many words, is probably the same metric written again.
NEAR_RATIO = 0.8
NEAR_WORDS = 0.6
#: Names compared character by character (difflib's ratio) up to this length; longer ones
#: by their words only. The ratio takes time with the square of the length (a 4,000
#: character name took half a second against each catalogued one), and no metric's
#: name is that long.
RATIO_UP_TO = 200
_WORD = re.compile(r"[a-z0-9]+")
_STOP = {"a", "an", "and", "at", "by", "for", "in", "of", "on", "per", "the", "to", "with"}


@dataclass
class Catalogue:
    """The catalogued metrics by id, with the document they were read from."""

    metrics: dict[str, m.CatalogueMetric] = field(default_factory=dict)
    doc: Document | None = None
    indexes: dict[str, int] = field(default_factory=dict)  # id -> position in the list
    invalid: dict[str, int] = field(default_factory=dict)  # ids of entries that failed
    unread: bool = False  # metrics.yaml is there but could not be read as a list of entries

    @property
    def path(self) -> str:
        return CATALOGUE_FILE

    def where(self, metric_id: str, key: str | None = None) -> SourceRef:
        """Where the catalogued metric (or one of its fields) is written."""
        path: FieldPath = (self.indexes[metric_id],) + ((key,) if key else ())
        return self.doc.ref(path) if self.doc is not None else SourceRef(CATALOGUE_FILE)

    def ids(self) -> list[str]:
        return list(self.metrics)


def load_catalogue(root: Path, diags: Diagnostics) -> Catalogue:
    """Read `metrics.yaml` if present: each entry validated and located, ids unique."""
    catalogue = Catalogue()
    if not (root / CATALOGUE_FILE).exists() and not loops(root / CATALOGUE_FILE):
        return catalogue
    text = read_text(root, CATALOGUE_FILE, diags)
    reader = reader_for(CATALOGUE_FILE)
    doc = reader.parse(text, CATALOGUE_FILE, diags) if text is not None and reader else None
    if doc is None:
        catalogue.unread = True
        return catalogue
    catalogue.doc = doc
    if not isinstance(doc.data, list):
        catalogue.unread = True
        diags.error(
            doc.ref(()),
            "",
            "metrics.yaml is a list of business metrics, each '- id: ...' with name,"
            " definition, unit and direction",
        )
        return catalogue
    for i in range(len(doc.data)):
        metric = validate_model(m.CatalogueMetric, doc, diags, base=(i,), source=text)
        if metric is None:
            item = doc.data[i]
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                catalogue.invalid[item["id"]] = i
            continue
        if metric.id in catalogue.metrics:
            first = catalogue.where(metric.id)
            message = f"duplicate catalogued metric {metric.id!r} (first at line {first.line})"
            diags.add(doc.at((i, "id"), message, "duplicate-id"))
            continue
        catalogue.metrics[metric.id] = metric
        catalogue.indexes[metric.id] = i
    return catalogue


def resolve_refs(doc: Document, catalogue: Catalogue, diags: Diagnostics) -> Document:
    """The charter with each `ref` filled from the catalogue; contradictions reported.

    Returns a new document (same positions) when anything was filled in, else `doc`.
    """
    data = doc.data
    items = data.get("business_metrics") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return doc
    resolved = list(items)  # items filled in are new dicts: the original data is untouched
    changed = False
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        ref = item.get("ref")
        if ref is None:
            _check_unreferenced(item, i, doc, catalogue, diags)
            continue
        if not isinstance(ref, str):
            continue  # the model reports the type
        resolved[i] = _resolve_one(item, ref, i, doc, catalogue, diags)
        changed = True
    if not changed:
        return doc
    return Document(doc.path, {**data, "business_metrics": resolved}, doc.positions,
                    doc.key_positions, doc.scalars)  # fmt: skip


def _resolve_one(
    item: dict[str, Any], ref: str, i: int, doc: Document, catalogue: Catalogue, diags: Diagnostics
) -> dict[str, Any]:
    entry = catalogue.metrics.get(ref)
    if entry is None:
        known = ", ".join(catalogue.ids()) or f"none: there is no {CATALOGUE_FILE} beside site.yaml"
        message = (
            f"{excerpt(ref)} is not a catalogued metric (catalogued in {CATALOGUE_FILE}: {known})"
        )
        if catalogue.unread:  # its own error says why: the ref is not known to be wrong
            message = (
                f"{excerpt(ref)} cannot be looked up: {CATALOGUE_FILE} could not be read"
                " (its own error says why)"
            )
        elif ref in catalogue.invalid and catalogue.doc is not None:
            line = catalogue.doc.ref((catalogue.invalid[ref],)).line
            where = f"{CATALOGUE_FILE} (line {line})"
            message = f"the entry of {excerpt(ref)} in {where} is invalid: fix it there"
        diags.add(doc.at(("business_metrics", i, "ref"), message, "unknown-metric"))
        # The charter is refused for the error above; filling the fields in keeps the
        # model from adding one "missing field" error per inherited field.
        return {"id": ref, "name": ref, "definition": ref, "unit": "-",
                "direction": "increase", **item}  # fmt: skip
    given = item.get("id")
    if given is not None and given != ref:
        message = (
            f"a catalogued metric keeps its catalogue id: remove 'id' or write {excerpt(ref)}"
            f" (the ref is {excerpt(ref)})"
        )
        diags.add(doc.at(("business_metrics", i, "id"), message, "invalid"))
    _check_contradictions(item, entry, i, doc, catalogue, diags)
    inherited = entry.model_dump(include=set(INHERITED), exclude_none=True)
    return {**inherited, **item}


def _check_contradictions(
    item: dict[str, Any],
    entry: m.CatalogueMetric,
    i: int,
    doc: Document,
    catalogue: Catalogue,
    diags: Diagnostics,
) -> None:
    """A definition, unit or direction other than the catalogue's is another metric."""
    for key in FIXED:
        if key not in item or item[key] == getattr(entry, key):
            continue
        where = catalogue.where(entry.id, key)
        message = (
            f"{key} {item[key]!r} contradicts the catalogued metric {entry.id!r}"
            f" ({where.path}:{where.line}: {key} {getattr(entry, key)!r});"
            " it is another metric: give it another id"
        )
        diags.add(doc.at(("business_metrics", i, key), message, "catalogue-conflict"))


def _check_unreferenced(
    item: dict[str, Any], i: int, doc: Document, catalogue: Catalogue, diags: Diagnostics
) -> None:
    """Without `ref`: a catalogued id must agree; a near name or definition gets a hint."""
    mid = item.get("id")
    if isinstance(mid, str) and mid in catalogue.metrics:
        _check_contradictions(item, catalogue.metrics[mid], i, doc, catalogue, diags)
        return
    near = near_catalogued(item.get("name"), item.get("definition"), catalogue)
    if near is None:
        return
    where = catalogue.where(near.id)
    message = (
        f"{excerpt(item.get('name'))} looks like the catalogued metric {near.id!r}"
        f" ({where.path}:{where.line}: {near.name!r}); did you mean ref: {near.id}?"
        " If it is another metric, give it a name and definition that say how it differs"
    )
    diags.add(doc.at(("business_metrics", i), message, "near-catalogued", "warning"))


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def similar(a: str, b: str) -> bool:
    """Two names close enough to be the same metric: shared words, or difflib's ratio
    (for names up to `RATIO_UP_TO` characters)."""
    left, right = " ".join(a.lower().split()), " ".join(b.lower().split())
    if similar_words(left, right):
        return True
    if len(left) > RATIO_UP_TO or len(right) > RATIO_UP_TO:
        return False
    matcher = difflib.SequenceMatcher(None, left, right, autojunk=False)
    # The cheap upper bounds first; ratio() is quadratic in the length.
    return (
        matcher.real_quick_ratio() >= NEAR_RATIO
        and matcher.quick_ratio() >= NEAR_RATIO
        and matcher.ratio() >= NEAR_RATIO
    )


def similar_words(a: str, b: str) -> bool:
    """Two texts sharing most of their words (ignoring words like "of" and "per")."""
    wa, wb = _words(a), _words(b)
    return bool(wa and wb) and len(wa & wb) / len(wa | wb) >= NEAR_WORDS


def near_catalogued(name: Any, definition: Any, catalogue: Catalogue) -> m.CatalogueMetric | None:
    """The first catalogued metric whose name (words or characters) or definition (words)
    is near the given ones. Definitions are compared by words only: difflib on sentences
    is too slow for a thousand charters."""
    for entry in catalogue.metrics.values():
        if isinstance(name, str) and similar(name, entry.name):
            return entry
        if isinstance(definition, str) and similar_words(definition, entry.definition):
            return entry
    return None
