"""Analyse stage: the portfolio across charters: who claims each catalogued metric, and teams.

A catalogued metric (metrics.yaml) is claimed by every charter with a business
metric of that id (written `ref: <id>`, or with the same id and definition); a
team is every charter with the same `team`. Both are read from the analysed
views, never recomputed, so a metric page shows the numbers the charter page shows.
"""

from __future__ import annotations

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
            metric = view.metric(entry.id)
            if metric is not None and metric.kind == "business":
                claims.append(Claim(view, metric))
        found.append(CataloguedMetric(entry, tuple(claims)))
    return found


def slug(name: str) -> str:
    """A URL segment for a team name: ASCII lower case, words joined by '-'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_name.lower())
    return "-".join(words) or "team"


def teams(views: Sequence[CharterView]) -> list[Team]:
    """Every team named by a charter, by name; slugs made unique with a number."""
    names = sorted({v.charter.team for v in views if v.charter.team}, key=str.casefold)
    found: list[Team] = []
    used: set[str] = set()
    for name in names:
        base = slug(name)
        candidate, n = base, 2
        while candidate in used:
            candidate, n = f"{base}-{n}", n + 1
        used.add(candidate)
        members = tuple(v for v in views if v.charter.team == name)
        found.append(Team(name, candidate, members))
    return found
