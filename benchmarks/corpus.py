"""A synthetic portfolio for the benchmark, and the same text for Hugo and MkDocs.

`make_corpus(dest, n, seed)` writes three trees under `dest`, all deterministic
from the seed (same arguments, same bytes):

    dest/charters/   a charters source: site.yaml and N charters, each with
                     5 charted metrics (2 business, 2 ML, 1 guardrail) and one
                     result file of 52 weekly rows per metric, control and
                     treatment (520 rows); every charter passes `charters check`
    dest/hugo/       a minimal Hugo site (its own tiny theme: a list page and a
                     single page) with one Markdown page per charter
    dest/mkdocs/     mkdocs.yml (default theme) and docs/, one page per charter

The Markdown pages hold the same text as the charters (title, summary,
objective, every metric's definition, baseline and target, the measurement
plan, the human baseline and the decision log); the weekly rows are drawn as
charts by the generator and are not repeated as text.

`make_repo(dest, n, seed)` writes the same trees and makes `dest/charters` a git
repository of three commits, each bringing a third of every result file's rows
(so each charter has a history: created, then results added twice).

    python benchmarks/corpus.py OUT [--n 1000] [--seed 1] [--git]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

WEEKS = 52
FIRST_WEEK = dt.date(2025, 6, 2)  # 52 Mondays ending 2026-05-25, before any build date of ours

TEAMS = ["Search & Discovery", "Payments Risk", "Support Engineering", "Growth", "Supply Chain"]
DOMAINS = [
    ("ticket routing", "tickets", "support"),
    ("fraud scoring", "card payments", "payments"),
    ("churn outreach", "subscribers", "retention"),
    ("search ranking", "search sessions", "search"),
    ("demand forecasting", "store orders", "supply"),
    ("invoice extraction", "supplier invoices", "finance"),
]
FIRST_NAMES = ["Ana", "Tomasz", "Priya", "Kwame", "Mei", "Lucas", "Sofia", "Omar", "Ines", "Jon"]
LAST_NAMES = ["Ruiz", "Wojcik", "Nair", "Mensah", "Chen", "Moreau", "Rossi", "Haddad", "Silva"]


@dataclass
class Metric:
    """One charted metric: what the charter says about it and its weekly series."""

    id: str
    kind: str  # business | ml | guardrail
    name: str
    definition: str
    unit: str
    direction: str
    baseline: float
    target: float  # a guardrail's tolerance
    spread: float  # std of a unit-level measure; 0 for proportions
    drift: float  # treatment minus control, reached over the 52 weeks
    decimals: int = 2


@dataclass
class Charter:
    """The text and numbers of one synthetic charter."""

    id: str
    title: str
    summary: str
    status: str
    owner: str
    team: str
    statement: str
    context: str
    population: str
    decision_rule: str
    human: str  # a study's method, or "" for a waiver
    waiver: str
    decisions: list[tuple[str, str, str]]
    metrics: list[Metric] = field(default_factory=list)


def make_charter(i: int, rng: random.Random) -> Charter:
    """Charter number `i`: varied words and numbers, always a valid charter."""
    topic, units, area = DOMAINS[i % len(DOMAINS)]
    cid = f"{area}-{topic.split()[0]}-{i:05d}"
    owner = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    conv = round(rng.uniform(2.0, 30.0), 2)
    cost = round(rng.uniform(5.0, 80.0), 2)
    latency = float(rng.randrange(120, 400, 10))
    prec = round(rng.uniform(0.55, 0.8), 3)
    rec = round(rng.uniform(0.4, 0.7), 3)
    metrics = [
        Metric(
            "conversion",
            "business",
            f"Share of {units} resolved first time",
            f"Share of {units} handled without a second contact within 7 days.",
            "%",
            "increase",
            conv,
            round(conv * 1.1, 2),
            0.0,
            conv * rng.uniform(0.02, 0.12),
        ),
        Metric(
            "cost_per_unit",
            "business",
            f"Cost per {units[:-1]}",
            f"Fully loaded handling cost per one of the {units}, in USD, weekly.",
            "USD",
            "decrease",
            cost,
            round(cost * 0.9, 2),
            cost * 0.6,
            -cost * rng.uniform(0.0, 0.08),
        ),
        Metric(
            "precision_at_k",
            "ml",
            "Precision at the decision threshold",
            "Share of positive model decisions confirmed by review, weekly sample.",
            "ratio",
            "increase",
            prec,
            round(min(prec + 0.15, 0.99), 3),
            0.0,
            rng.uniform(0.05, 0.15),
            3,
        ),
        Metric(
            "recall_at_k",
            "ml",
            "Recall at the decision threshold",
            "Share of true positives the model flags at the chosen threshold.",
            "ratio",
            "increase",
            rec,
            round(min(rec + 0.15, 0.99), 3),
            0.0,
            rng.uniform(0.03, 0.12),
            3,
        ),
        Metric(
            "p95_latency_ms",
            "guardrail",
            "p95 serving latency",
            "95th percentile server-side latency of the scoring API over the week.",
            "ms",
            "decrease",
            latency,
            25.0,
            latency * 0.3,
            rng.uniform(-5.0, 30.0),
            1,
        ),
    ]
    waived = i % 3 == 2
    return Charter(
        id=cid,
        title=f"{topic.capitalize()} model {i}",
        summary=f"Replace the rules for **{topic}** with a learned model for {units} (pilot {i}).",
        status="experiment" if i % 2 else "live",
        owner=owner,
        team=TEAMS[i % len(TEAMS)],
        statement=f"More {units} are handled right the first time, at a lower cost.",
        context=(
            f"Rules handle {units} today; a review of {rng.randrange(200, 2000)} cases found "
            f"{rng.randrange(10, 40)}% handled twice."
        ),
        population=f"All {units} in the pilot regions, randomised 50/50 by id.",
        decision_rule=(
            "Ship if the first-time share rises (95% CI excludes 0) and p95 latency "
            "rises by less than 25 ms."
        ),
        human="" if waived else f"Two experienced analysts handled {units} by hand for two weeks.",
        waiver=f"A person cannot decide {units} at this volume; the control arm is the status quo.",
        decisions=[
            ("2025-09-01", "Keep the experiment running.", "Too early: eight weeks of data."),
            (
                "2026-03-02",
                "Extend to all regions." if i % 2 else "Keep the pilot as is.",
                f"Lift on the first-time share is {rng.uniform(-1, 3):.1f} points so far.",
            ),
        ],
        metrics=metrics,
    )


def _value(m: Metric, week: int, arm: str, rng: random.Random) -> float:
    lift = m.drift * week / (WEEKS - 1) if arm == "treatment" else 0.0
    noise = rng.gauss(0.0, abs(m.baseline) * 0.01 + 1e-3)
    v = m.baseline + lift + noise
    if m.unit == "%":
        v = min(max(v, 0.01), 99.99)
    elif m.unit == "ratio":
        v = min(max(v, 0.001), 0.999)
    else:
        v = max(v, 0.01)
    return round(v, m.decimals)


def results_csv(c: Charter, rng: random.Random) -> str:
    """52 weekly rows per metric and arm, in the long format of docs/format.md."""
    lines = ["date,metric,variant,value,n,std"]
    for week in range(WEEKS):
        day = (FIRST_WEEK + dt.timedelta(weeks=week)).isoformat()
        for m in c.metrics:
            for arm in ("control", "treatment"):
                n = rng.randrange(2000, 6000)
                std = f"{m.spread:.2f}" if m.spread else ""
                lines.append(f"{day},{m.id},{arm},{_value(m, week, arm, rng)},{n},{std}")
    return "\n".join(lines) + "\n"


def _q(text: str) -> str:
    """A YAML double-quoted scalar."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _metric_yaml(m: Metric, business_ids: list[str]) -> list[str]:
    out = [
        f"  - id: {m.id}",
        f"    name: {_q(m.name)}",
        f"    definition: {_q(m.definition)}",
        f"    unit: {_q(m.unit)}",
        f"    direction: {m.direction}",
    ]
    if m.kind == "business":
        out += [
            f"    baseline: {{value: {m.baseline}, as_of: 2025-05-26, source: Weekly export}}",
            f"    target: {{value: {m.target}, by: 2026-12-31}}",
            "    agreed: {by: [Head of Operations, Finance Business Partner], on: 2025-05-28}",
        ]
    elif m.kind == "ml":
        out += [
            f"    baseline: {{value: {m.baseline}}}",
            f"    target: {{value: {m.target}}}",
            f"    drives: [{', '.join(business_ids)}]",
            f"    hypothesis: {_q('Better decisions remove a second contact for some cases.')}",
        ]
    else:
        out += [f"    baseline: {{value: {m.baseline}}}", f"    tolerance: {{value: {m.target}}}"]
    return ["  " + line if m.kind == "guardrail" else line for line in out]


def charter_yaml(c: Charter) -> str:
    """The charter as YAML, in the order docs/format.md writes it."""
    business = [m for m in c.metrics if m.kind == "business"]
    ids = [m.id for m in business]
    lines = [
        f"title: {_q(c.title)}",
        f"summary: {_q(c.summary)}",
        f"status: {c.status}",
        "owner:",
        f"  name: {_q(c.owner)}",
        f"  email: {c.owner.lower().replace(' ', '.')}@example.com",
        f"team: {_q(c.team)}",
        "tags: [benchmark, synthetic]",
        "objective:",
        f"  statement: {_q(c.statement)}",
        f"  context: {_q(c.context)}",
        "business_metrics:",
    ]
    for m in business:
        lines += _metric_yaml(m, ids)
    lines.append("ml_metrics:")
    for m in c.metrics:
        if m.kind == "ml":
            lines += _metric_yaml(m, ids)
    lines += [
        "measurement:",
        "  method: ab_test",
        f"  population: {_q(c.population)}",
        "  unit_of_analysis: case",
        "  cadence: weekly",
        f"  minimum_detectable_effect: {{metric: {ids[0]}, relative: 0.05}}",
        "  guardrails:",
    ]
    for m in c.metrics:
        if m.kind == "guardrail":
            lines += _metric_yaml(m, ids)
    lines.append(f"  decision_rule: {_q(c.decision_rule)}")
    if c.human:
        lines += [
            "human_baseline:",
            f"  method: {_q(c.human)}",
            "  period: {start: 2025-04-07, end: 2025-04-18}",
            f"  results: [{{metric: {ids[0]}, value: {c.metrics[0].target}}}]",
            f"  conclusion: {_q('Handling by hand moved the first-time share; worth automating.')}",
        ]
    else:
        lines += ["human_baseline:", f"  waived: {_q(c.waiver)}"]
    lines += ["results: [results/*.csv]", "decisions:"]
    for day, decision, why in c.decisions:
        lines.append(f"  - {{date: {day}, decision: {_q(decision)}, rationale: {_q(why)}}}")
    return "\n".join(lines) + "\n"


def charter_markdown(c: Charter) -> str:
    """The same text as a Markdown page body (no front matter)."""
    out = [c.summary, "", f"Status: {c.status}. Owner: {c.owner}. Team: {c.team}.", ""]
    out += ["## Objective", "", c.statement, "", c.context, "", "## Metrics", ""]
    out += ["| metric | kind | unit | direction | baseline | target or tolerance |"]
    out += ["| --- | --- | --- | --- | --- | --- |"]
    for m in c.metrics:
        out.append(
            f"| {m.name} | {m.kind} | {m.unit} | {m.direction} | {m.baseline} | {m.target} |"
        )
    out.append("")
    for m in c.metrics:
        out += [f"### {m.name}", "", m.definition, ""]
    out += ["## Measurement", "", f"A/B test. {c.population}", "", c.decision_rule, ""]
    out += ["## Human baseline", "", c.human or f"Waived: {c.waiver}", "", "## Decisions", ""]
    out += [f"- **{day}**: {decision} {why}" for day, decision, why in c.decisions]
    return "\n".join(out) + "\n"


SITE_YAML = """title: Benchmark portfolio
description: A synthetic portfolio for the benchmark.
base_url: https://bench.example.com/
"""

HUGO_TOML = """baseURL = "https://bench.example.com/"
title = "Benchmark portfolio"
theme = "bench"
disableKinds = ["section", "taxonomy", "term", "RSS", "sitemap", "robotsTXT", "404"]
"""

HUGO_BASEOF = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ .Title }} · {{ site.Title }}</title></head>
<body><header><a href="{{ "/" | relURL }}">{{ site.Title }}</a></header>
<main>{{ block "main" . }}{{ end }}</main></body></html>
"""

HUGO_HOME = """{{ define "main" }}<h1>{{ site.Title }}</h1>
<ul>{{ range site.RegularPages }}
<li><a href="{{ .RelPermalink }}">{{ .Title }}</a>: {{ .Summary }}</li>{{ end }}</ul>
{{ end }}
"""

HUGO_SINGLE = """{{ define "main" }}<article><h1>{{ .Title }}</h1>{{ .Content }}</article>{{ end }}
"""


def write_hugo(dest: Path, charters: list[Charter]) -> None:
    layouts = dest / "themes" / "bench" / "layouts"
    layouts.mkdir(parents=True)
    (dest / "hugo.toml").write_text(HUGO_TOML)
    (layouts / "baseof.html").write_text(HUGO_BASEOF)
    (layouts / "home.html").write_text(HUGO_HOME)
    (layouts / "list.html").write_text(HUGO_HOME)
    (layouts / "single.html").write_text(HUGO_SINGLE)
    content = dest / "content" / "charters"
    content.mkdir(parents=True)
    (dest / "content" / "_index.md").write_text("---\ntitle: Benchmark portfolio\n---\n")
    for c in charters:
        front = f"---\ntitle: {_q(c.title)}\n---\n"
        (content / f"{c.id}.md").write_text(front + charter_markdown(c))


def write_mkdocs(dest: Path, charters: list[Charter]) -> None:
    docs = dest / "docs" / "charters"
    docs.mkdir(parents=True)
    (dest / "mkdocs.yml").write_text(
        "site_name: Benchmark portfolio\nsite_url: https://bench.example.com/\n"
    )
    index = ["# Benchmark portfolio", ""]
    index += [f"- [{c.title}](charters/{c.id}.md): {c.summary}" for c in charters]
    (dest / "docs" / "index.md").write_text("\n".join(index) + "\n")
    for c in charters:
        (docs / f"{c.id}.md").write_text(f"# {c.title}\n\n" + charter_markdown(c))


def make_corpus(dest: Path, n: int, seed: int = 1) -> list[str]:
    """Write the three trees under `dest` (replacing them); return the charter ids."""
    rng = random.Random(seed)
    charters = [make_charter(i, rng) for i in range(n)]
    for sub in ("charters", "hugo", "mkdocs"):
        shutil.rmtree(dest / sub, ignore_errors=True)
    source = dest / "charters"
    source.mkdir(parents=True)
    (source / "site.yaml").write_text(SITE_YAML)
    for c in charters:
        folder = source / "charters" / c.id
        (folder / "results").mkdir(parents=True)
        (folder / "charter.yaml").write_text(charter_yaml(c))
        (folder / "results" / "weekly.csv").write_text(results_csv(c, rng))
    write_hugo(dest / "hugo", charters)
    write_mkdocs(dest / "mkdocs", charters)
    return [c.id for c in charters]


COMMITS = ("2026-06-01T09:00:00Z", "2026-06-02T09:00:00Z", "2026-06-03T09:00:00Z")


def git(repo: Path, *args: str, when: str = "") -> None:
    """Run git in `repo` with a fixed author and no user or system configuration."""
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
    if when:
        env |= {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    env |= {"GIT_AUTHOR_NAME": "Bench", "GIT_COMMITTER_NAME": "Bench"}
    env |= {"GIT_AUTHOR_EMAIL": "bench@example.com", "GIT_COMMITTER_EMAIL": "bench@example.com"}
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def make_repo(dest: Path, n: int, seed: int = 1) -> list[str]:
    """The corpus with `dest/charters` in git: each commit adds a third of every result
    file's rows. Returns the charter ids."""
    ids = make_corpus(dest, n, seed)
    repo = dest / "charters"
    files = sorted(repo.glob("charters/*/results/*.csv"))
    full = {f: f.read_text().splitlines(keepends=True) for f in files}
    git(repo, "init", "-q")
    for part, when in enumerate(COMMITS, start=1):
        for f, lines in full.items():
            rows = len(lines) - 1
            f.write_text("".join(lines[: 1 + rows * part // len(COMMITS)]))
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"Results, part {part}", when=when)
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write charters/, hugo/ and mkdocs/ into")
    parser.add_argument("--n", type=int, default=1000, help="number of charters")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--git", action="store_true", help="commit the charters in three steps")
    args = parser.parse_args()
    ids = (make_repo if args.git else make_corpus)(args.out, args.n, args.seed)
    repo = " (a git repository)" if args.git else ""
    print(f"{len(ids)} charters in {args.out}/charters{repo}, Hugo in hugo/, MkDocs in mkdocs/")


if __name__ == "__main__":
    main()
