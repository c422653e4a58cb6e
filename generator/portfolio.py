"""Analyse stage: the portfolio across charters: who claims each catalogued metric, and teams.

A catalogued metric (metrics.yaml) is claimed by every charter with a business
metric of that id (written `ref: <id>`, or with the same id and definition); a
team is every charter with the same `team`. Both are read from the analysed
views, never recomputed, so a metric page shows the numbers the charter page shows.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from . import model as m
from .analyze import CharterView, MetricView
from .catalogue import Catalogue


@dataclass(frozen=True)
class Claim:
    """A charter that claims to move a catalogued metric, with its analysed metric."""

    view: CharterView
    metric: MetricView


@dataclass(frozen=True)
class CataloguedMetric:
    """A metric of the catalogue and every charter that claims to move it."""

    entry: m.CatalogueMetric
    claims: tuple[Claim, ...]

    @property
    def id(self) -> str:
        return self.entry.id

    @property
    def page(self) -> str:
        return metric_page(self.entry.id)


@dataclass(frozen=True)
class Team:
    """The charters of one team, with the team's page slug."""

    name: str
    slug: str
    views: tuple[CharterView, ...]

    @property
    def page(self) -> str:
        return f"teams/{self.slug}/index.html"


def metric_page(metric_id: str) -> str:
    return f"metrics/{metric_id}/index.html"


def catalogued_metrics(
    catalogue: Catalogue, views: Sequence[CharterView]
) -> list[CataloguedMetric]:
    """Every catalogued metric in catalogue order, with its claims in charter order."""
    found: list[CataloguedMetric] = []
    for entry in catalogue.metrics.values():
        claims = []
        for view in views:
            if entry.id not in view.outline.metric_ids:
                continue  # (not asked of its metrics: a charter read back stays unpickled)
            metric = view.metric(entry.id)
            if metric is not None and metric.kind == "business":
                claims.append(Claim(view, metric))
        found.append(CataloguedMetric(entry, tuple(claims)))
    return found


MAX_SLUG = 60  # file systems refuse names over 255 bytes; URLs should stay readable


def slug(name: str) -> str:
    """A URL segment for a team name: ASCII lower case, words joined by '-'.

    A long name is cut at a word boundary within `MAX_SLUG` characters and given a
    short digest of the full name, so two long names that start alike stay apart.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_name.lower())
    text = "-".join(words) or "team"
    if len(text) <= MAX_SLUG:
        return text
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    cut = text[: MAX_SLUG - 9].rsplit("-", 1)[0] or text[: MAX_SLUG - 9]
    return f"{cut}-{digest}"


def _by_name(name: str) -> tuple[str, str]:
    return (name.casefold(), name)


def teams(views: Sequence[CharterView]) -> list[Team]:
    """Every team named by a charter, by name; slugs made unique with a number."""
    members: dict[str, list[CharterView]] = {}  # in the order of `views`, in one pass
    for view in views:
        if team := view.outline.team:
            members.setdefault(team, []).append(view)
    found: list[Team] = []
    used: set[str] = set()
    # Ties of case broken by the name itself.
    for name in sorted(members, key=_by_name):
        base = slug(name)
        candidate, n = base, 2
        while candidate in used:
            candidate, n = f"{base}-{n}", n + 1
        used.add(candidate)
        found.append(Team(name, candidate, tuple(members[name])))
    return found
