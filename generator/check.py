"""Commands, `charters check`: validation and rules without writing a site, in three formats.

The JSON shape is documented in docs/check.md and kept stable: fields are only
ever added.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .diagnostics import Diagnostic, github_escape, printable
from .formatting import json_list, json_object, json_text, plural
from .paths import real

if TYPE_CHECKING:
    from .analyze import MetricView
    from .load import Project
    from .rules import CharterCheck

Format = Literal["text", "github", "json"]
FORMATS: tuple[Format, ...] = ("text", "github", "json")
JSON_VERSION = 1


def fails(findings: Iterable[tuple[str, str]], strict: bool, fail_on: Iterable[str] = ()) -> bool:
    """Whether findings, as (severity, code) pairs, fail the check: errors fail; warnings
    with `strict`; alerts and others only when `fail_on` names their code."""
    wanted = set(fail_on)
    return any(
        severity == "error" or (strict and severity == "warning") or code in wanted
        for severity, code in findings
    )


def why_failed(findings: Iterable[tuple[str, str]], strict: bool, fail_on: Iterable[str]) -> str:
    """What made a check without errors fail: the warnings `--strict` counts and the
    codes `--fail-on` names, said on the command's last line (the summary shows counts,
    not which of them failed it)."""
    pairs = list(findings)
    wanted = set(fail_on)
    reasons = []
    warnings = sum(1 for severity, _ in pairs if severity == "warning")
    if strict and warnings:
        reasons.append(f"{plural(warnings, 'warning')} (--strict)")
    named = sorted({code for _, code in pairs if code in wanted})
    if named:
        reasons.append(f"{', '.join(named)} (--fail-on)")
    return "; ".join(reasons)


@dataclass
class CheckReport:
    checks: list[CharterCheck]
    errors: list[Diagnostic]  # validation problems (the charters they affect are left out)
    site: list[Diagnostic]  # findings about site.yaml

    @property
    def findings(self) -> list[Diagnostic]:
        out = list(self.errors) + list(self.site)
        for check in self.checks:
            out.extend(check.findings)
        return sorted(out, key=Diagnostic.sort_key)

    def count(self, severity: str) -> int:
        return sum(1 for d in self.findings if d.severity == severity)

    def failed_on(self, fail_on: Iterable[str] = ()) -> list[str]:
        """The codes of `fail_on` that some finding has (alerts fail only when named)."""
        wanted = set(fail_on)
        return sorted({d.code for d in self.findings if d.code in wanted})

    def failed(self, strict: bool, fail_on: Iterable[str] = ()) -> bool:
        """Errors fail; warnings with `strict`; alerts and others only when `fail_on` names them."""
        return fails(((d.severity, d.code) for d in self.findings), strict, fail_on)


def run_check(source: Path, today: date | None, only: Iterable[str] | None = None) -> CheckReport:
    """Load the whole tree and check it; with `only` (charter ids), judge just those charters.

    References between files still resolve against the whole tree; `only` narrows what is
    reported: the named charters' findings and problems, and site.yaml's.
    """
    # Imported here: printing a cached report (check_cache.py) needs none of them.
    from .links import linked_files
    from .load import load_project
    from .rules import check_project

    project, diags = load_project(source, today)
    checks = check_project(project, today)
    views = [check.view for check in checks.values()]
    whole = not diags.errors  # else the site's pages are not known
    linked = linked_files(
        project.root,
        views,
        catalogue=project.catalogue,
        whole=whole,
        base_url=project.site.base_url,
    )
    return report_of(project, checks, diags.sorted(), linked.diagnostics, only)


def report_of(
    project: Project,
    checks: Mapping[str, CharterCheck],
    errors: list[Diagnostic],
    link_problems: Iterable[Diagnostic],
    only: Iterable[str] | None = None,
) -> CheckReport:
    """The report of a loaded tree: the rules' findings by charter (`checks`, left as they
    are), with what `build` says of linked files (refused types, missing files) added to
    each charter's findings, the loader's problems (`errors`, sorted) and site.yaml's
    findings. `build` makes the same report from what it computed (check_cache.py). The
    project's own templates are compiled as a build compiles them (`template_problems`),
    their problems among the loader's."""
    from .rules import site_findings

    if _own_templates(project.root):
        from .pages import template_problems  # imported only for a project with templates

        errors = sorted([*errors, *template_problems(project.root)], key=Diagnostic.sort_key)
    judged = _with_link_problems(checks, link_problems)
    if only is not None:
        ids = set(only)
        judged = {k: v for k, v in judged.items() if k in ids}
        errors = [d for d in errors if _charter_of(d.ref.path) in ids or _site_wide(d.ref.path)]
    return CheckReport([judged[k] for k in sorted(judged)], errors, site_findings(project))


def _own_templates(root: Path) -> bool:
    """Whether the project has templates of its own: a `templates/` folder that is not the
    built-in one (the generator's own repository, whose examples are a project too)."""
    from .assets import BUILTIN_TEMPLATES

    folder = root / "templates"
    return folder.is_dir() and real(folder) != real(BUILTIN_TEMPLATES)


def _with_link_problems(
    checks: Mapping[str, CharterCheck], problems: Iterable[Diagnostic]
) -> dict[str, CharterCheck]:
    """Each linked-file problem among its charter's findings, in order; a copy of a check
    that gets one (a build's own checks also feed its pages)."""
    added: dict[str, list[Diagnostic]] = {}
    for problem in problems:
        cid = _charter_of(problem.ref.path)
        if cid is not None and cid in checks:
            added.setdefault(cid, []).append(problem)
    judged = dict(checks)
    for cid, extra in added.items():
        findings = sorted([*checks[cid].findings, *extra], key=Diagnostic.sort_key)
        judged[cid] = replace(checks[cid], findings=findings)
    return judged


def _charter_of(path: str) -> str | None:
    """The charter id a source-relative path belongs to (`charters/<id>/...`), if any."""
    parts = path.split("/")
    return parts[1] if len(parts) >= 2 and parts[0] == "charters" else None


def _site_wide(path: str) -> bool:
    return _charter_of(path) is None


def charters_for_paths(source: Path, paths: Iterable[Path]) -> list[str] | None:
    """The charters that files `paths` belong to; None (all) when a site-wide file is named.

    Paths are taken relative to the current folder, as pre-commit passes them. A path
    outside the source tree, or one not under `charters/`, such as `site.yaml`, a
    template or the metric catalogue, concerns every charter.
    """
    ids: list[str] = []
    root = real(source)
    for path in paths:
        if outside_source(source, path):
            return None
        full = real(path if path.is_absolute() else Path.cwd() / path)
        cid = _charter_of(full.relative_to(root).as_posix())
        if cid is None:
            return None
        ids.append(cid)
    return sorted(set(ids))


def outside_source(source: Path, path: Path) -> bool:
    """Whether `path` (relative to the current folder) is outside the source tree."""
    full = real(path if path.is_absolute() else Path.cwd() / path)
    return not full.is_relative_to(real(source))


def format_text(report: CheckReport) -> str:
    lines: list[str] = [
        f"{d.ref}: {d.code} {d.severity}: "
        + (f"{printable(d.field)}: " if d.field else "")
        + printable(d.message)
        for d in report.findings
    ]
    for check in report.checks:
        lines.append(f"{check.id}: {check.verdict} — {printable(check.evidence)}")
    lines.append(_summary_line(report))
    return "\n".join(lines) + "\n"


def _summary_line(report: CheckReport) -> str:
    n = len(report.checks)
    parts = [
        plural(report.count("error"), "error"),
        plural(report.count("warning"), "warning"),
        f"{report.count('info')} info",
        plural(report.count("alert"), "alert"),
    ]
    # Charter folders with a problem of the loader that did not load, counted by folder:
    # charters/<id>/... and also folder-level problems (charters/<id> without
    # charter.yaml, an invalid id). A charter with only a warning, or an error that
    # leaves it loaded (an unknown pull connection), was checked and is not counted; nor
    # is a YAML file directly under charters/ (`not-a-folder`), which is no charter.
    loaded = {check.id for check in report.checks}
    invalid = len(
        {
            segments[1]
            for d in report.errors
            if len(segments := d.ref.path.split("/")) >= 2
            and segments[0] == "charters"
            and segments[1] not in loaded
            and d.code != "not-a-folder"
        }
    )
    extra = f" ({invalid} not loaded: invalid)" if invalid else ""
    return f"checked {plural(n, 'charter')}{extra}: " + ", ".join(parts)


def format_github(report: CheckReport) -> str:
    """GitHub Actions workflow commands; the location is repeated inside the message."""
    kinds = {"error": "error", "warning": "warning", "info": "notice", "alert": "warning"}
    lines = []
    for d in report.findings:
        props = [f"file={github_escape(d.ref.path, property_value=True)}"]
        if d.ref.line:
            props.append(f"line={d.ref.line}")
            props.append(f"col={max(d.ref.col, 1)}")
        props.append(f"title={github_escape(d.code, property_value=True)}")
        message = f"{d.ref}: {d.field + ': ' if d.field else ''}{d.message}"
        lines.append(f"::{kinds[d.severity]} {','.join(props)}::{github_escape(message)}")
    lines.append(_summary_line(report))
    return "\n".join(lines) + "\n"


def _lift_json(metric: MetricView) -> dict[str, Any] | None:
    if metric.lift is None:
        return None
    lf = metric.lift.lift
    return {
        "date": metric.lift.date.isoformat(),
        "treatment": metric.lift.treatment,
        "method": lf.method,
        "absolute": lf.absolute,
        "relative": lf.relative,
        "ci_low": lf.ci_low,
        "ci_high": lf.ci_high,
        "p_value": lf.p_value,
    }


def metric_json(metric: MetricView) -> dict[str, Any]:
    latest = metric.latest
    return {
        "id": metric.id,
        "kind": metric.kind,
        "name": metric.name,
        "unit": metric.unit,
        "direction": metric.direction,
        "status": metric.status,
        "baseline": metric.baseline,
        "target": metric.target,
        "latest": latest.row.value if latest else None,
        "latest_date": latest.row.date.isoformat() if latest else None,
        "progress": metric.progress,
        "lift": _lift_json(metric),
    }


def charter_json(check: CharterCheck) -> dict[str, Any]:
    """A charter's entry in the JSON report: its view and its findings, nothing else."""
    view = check.view
    return {
        "id": check.id,
        "title": view.charter.title,
        "status": view.charter.status,
        "file": view.loaded.path,
        "verdict": check.verdict,
        "evidence": check.evidence,
        "metrics": [metric_json(x) for x in view.metrics if x.kind in ("business", "ml")],
        "guardrails": [
            {
                "id": g.id,
                "name": g.name,
                "unit": g.unit,
                "direction": g.direction,
                "tolerance": g.tolerance,
                "change": g.raw_change,
                "reference": g.move_reference,
                "breached": g.breached,
            }
            for g in view.by_kind("guardrail")
        ],
        "findings": [d.as_json() for d in check.findings],
    }


def charter_json_text(check: CharterCheck) -> str:
    """A charter's entry as `format_json` prints it, dumped alone (a build keeps it,
    generator/reuse.py)."""
    return json_text(charter_json(check), indent=2, sort_keys=False)


# Charter id → (the check an entry was made of, the entry's text: charter_json_text).
JsonEntries = Mapping[str, tuple["CharterCheck", str]]


def report_json(report: CheckReport) -> dict[str, Any]:
    return {
        "version": JSON_VERSION,
        "charters": [charter_json(check) for check in report.checks],
        **_report_rest(report),
    }


def _report_rest(report: CheckReport) -> dict[str, Any]:
    """The members of the JSON report after the charters."""
    verdicts: dict[str, int] = {}
    for check in report.checks:
        verdicts[check.verdict] = verdicts.get(check.verdict, 0) + 1
    return {
        "errors": [d.as_json() for d in report.errors],
        "site_findings": [d.as_json() for d in report.site],
        "summary": {
            "charters": len(report.checks),
            "errors": report.count("error"),
            "warnings": report.count("warning"),
            "info": report.count("info"),
            "alerts": report.count("alert"),
            "verdicts": dict(sorted(verdicts.items())),
        },
    }


def format_json(report: CheckReport, entries: JsonEntries | None = None) -> str:
    """`report_json` printed with indent=2, put together from each charter's entry dumped
    alone (formatting.json_list): the same bytes. An entry of `entries` is taken for the
    very check it was made of, and only for it (a check that gained a linked file's
    problem is a new one, see `report_of`)."""
    texts = []
    for check in report.checks:
        kept = entries.get(check.id) if entries is not None else None
        texts.append(kept[1] if kept is not None and kept[0] is check else charter_json_text(check))
    members = [("version", json_text(JSON_VERSION)), ("charters", json_list(texts))]
    members += [(key, json_text(value, indent=2)) for key, value in _report_rest(report).items()]
    return json_object(members) + "\n"


def format_report(report: CheckReport, fmt: Format, entries: JsonEntries | None = None) -> str:
    """`report` in `fmt`; `entries`: charters' JSON entries already made (`format_json`)."""
    if fmt == "github":
        return format_github(report)
    if fmt == "json":
        return format_json(report, entries)
    return format_text(report)
