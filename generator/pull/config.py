"""Pull stage: what to pull, from the charters' `pull` entries and site.yaml's connections.

Charters are read on their own, without their result files: a pull must work when
the file it writes is missing or broken. Connections are resolved only when a pull
uses them, so an unset environment variable matters only to the pulls that need it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Literal
from urllib.parse import parse_qsl, urlsplit

from .. import model as m
from ..diagnostics import Diagnostics, SourceRef, excerpt, format_path
from ..load import (
    SECRET_PARAMS,
    connection_problem,
    load_site,
    no_charters,
    secret_in_file,
    unknown_pull_metrics,
    written_password,
)
from ..messages import validate_model
from ..readers import Document, FieldPath, parse_yaml, read_text
from ..results import unread_problem

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class PullError(Exception):
    """One pull failed; `where` is the field under the charter's pull entry it is about."""

    def __init__(self, message: str, where: FieldPath = (), code: str = "pull-failed") -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.code = code


@dataclass(frozen=True)
class Job:
    """One pull entry of one charter, with what is needed to run it and to locate errors."""

    charter_id: str
    index: int
    entry: m.Pull
    folder: Path  # the charter's folder
    rel: str  # the output file, relative to the source folder
    doc: Document  # charter.yaml, for positions
    metrics: tuple[str, ...]

    def ref(self, where: FieldPath = ()) -> SourceRef:
        return self.doc.ref(("pull", self.index, *where))

    def field(self, where: FieldPath = ()) -> str:
        return format_path(("pull", self.index, *where))

    @property
    def name(self) -> str:
        return self.rel


@dataclass(frozen=True)
class Resolved:
    """A connection with its environment variables filled in."""

    name: str
    kind: Literal["sql", "mlflow"]
    target: str  # may hold a password: never print it
    shown: str  # safe to print
    secrets: tuple[str, ...]  # text to blank out of driver messages


@dataclass
class Plan:
    """Everything `charters pull` found to do, and the problems found while reading it."""

    source: Path
    site: m.SiteConfig
    site_doc: Document | None
    jobs: list[Job]
    diags: Diagnostics
    today: date  # the build date: no pulled row may be dated after it


def read_plan(source: Path, today: date) -> Plan:
    """Read site.yaml and every charter with a `pull` key; record located problems."""
    diags = Diagnostics()
    site, site_doc = load_site(source, diags)
    jobs: list[Job] = []
    charters = source / "charters"
    folders = sorted(charters.iterdir(), key=lambda p: p.name) if charters.is_dir() else []
    if not charters.is_dir():  # pulling nothing is no success: say why, as check does
        diags.error(SourceRef("charters"), "", no_charters(source), code="no-charters")
    for folder in folders:
        if folder.is_dir() and not folder.name.startswith("."):
            jobs.extend(_charter_jobs(source, folder, diags))
    seen: dict[str, Job] = {}
    in_error: set[str] = set()
    for job in jobs:
        first = seen.setdefault(job.rel, job)
        if first is not job:
            message = (
                f"{excerpt(job.entry.into)} is also written by {first.field()};"
                " each file has one pull"
            )
            diags.add(job.doc.at(("pull", job.index, "into"), message, "duplicate-into"))
            in_error |= {job.charter_id, first.charter_id}
    # A charter in error runs no pull (they raced on the one file, both written).
    jobs = [job for job in jobs if job.charter_id not in in_error]
    return Plan(source, site, site_doc, jobs, diags, today)


def _charter_jobs(source: Path, folder: Path, diags: Diagnostics) -> list[Job]:
    rel = (folder / "charter.yaml").relative_to(source).as_posix()
    if not (folder / "charter.yaml").is_file():
        return []
    local = Diagnostics()
    text = read_text(source, rel, local)
    doc = parse_yaml(text, rel, local) if text is not None else None
    if doc is None:  # unreadable, or not YAML: whether it pulls cannot be known
        diags.extend(local)
        return []
    if not isinstance(doc.data, dict) or "pull" not in doc.data:
        return []  # not a charter that pulls; `charters check` reports its problems
    charter = validate_model(m.Charter, doc, local)
    diags.extend(local)
    if charter is None:
        return []
    metrics = tuple(e.metric.id for e in charter.metrics())
    jobs = []
    wrong = False
    for i, entry in enumerate(charter.pull):
        out = (PurePosixPath(folder.relative_to(source).as_posix()) / entry.into).as_posix()
        jobs.append(Job(folder.name, i, entry, folder, out, doc, metrics))
        problem = unread_problem(entry.into, charter.results)
        if problem is not None:
            diags.add(doc.at(("pull", i, "into"), problem, "into-not-read"))
            wrong = True
        for mid, message in unknown_pull_metrics(entry, metrics):
            diags.add(doc.at(("pull", i, "mlflow", "metrics", mid), message, "unknown-metric"))
            wrong = True
    # A charter in error runs no pull, as `charters pull` says (one of its entries ran).
    return [] if wrong else jobs


# --- connections ------------------------------------------------------------------------


def resolve(plan: Plan, job: Job) -> Resolved:
    """The job's connection with `${NAME}` filled from the environment."""
    name = job.entry.connection
    problem = connection_problem(plan.site, job.entry)
    if problem is not None:
        raise PullError(problem, ("connection",), "unknown-connection")
    if name == m.DEFAULT_CONNECTION:
        return Resolved(name, "sql", "duckdb:///:memory:", "embedded DuckDB", ())
    conn = plan.site.connections[name]
    key = "url" if conn.url is not None else "mlflow"
    raw = conn.url if conn.url is not None else conn.mlflow
    assert raw is not None  # the model requires one of them
    where = f"site.yaml:{_line(plan, ('connections', name, key))}: connections.{name}.{key}"
    missing = [var for var in _ENV.findall(raw) if var not in os.environ]
    if missing:
        raise PullError(
            f"connection {name!r} needs the environment variable {missing[0]}, which is not"
            f" set ({where} is {raw!r}); set it in the environment (a CI secret), never in a file",
            ("connection",),
            "missing-env",
        )
    target = _ENV.sub(lambda mt: os.environ[mt.group(1)], raw)
    if key == "url":
        from .sql import check_url

        shown, secrets = check_url(name, raw, target, where)
        return Resolved(name, "sql", target, shown, secrets)
    if written_password(raw):  # the rule `check` applies (load.py)
        raise PullError(written_here(name, key, where), ("connection",), "secret-in-file")
    try:
        password = urlsplit(target).password  # urllib ends the user part at its last `@`
    except ValueError:
        password = None
    query = urlsplit(target).query if "?" in target else ""
    params = [v for k, v in parse_qsl(query, keep_blank_values=True) if k.lower() in SECRET_PARAMS]
    secrets = tuple(s for s in (password, *params) if s)
    return Resolved(name, "mlflow", target, hide(target), secrets)


def written_here(name: str, key: str, where: str) -> str:
    """`secret_in_file`'s message with where in site.yaml the secret is written."""
    return secret_in_file(name, key, where)


def _line(plan: Plan, path: FieldPath) -> int:
    return plan.site_doc.ref(path).line if plan.site_doc is not None else 0


# The user part of a URL (`scheme://user:password@`), up to the `@` that starts its host.
_USERINFO = re.compile(r"(?P<head>[A-Za-z][\w+.-]*://[^:/@\s]*:)(?P<rest>\S*)")
# A secret query parameter, or a driver's `key=value` setting of one, and its value.
_SECRET_PARAM = re.compile(
    r"(?i)(?<![\w-])(?P<key>" + "|".join(sorted(SECRET_PARAMS)) + r")=[^&\s#'\"()]*"
)
# A secret shorter than this is not looked for in a message word for word: `postgres`
# or `x` would be masked where it is the user's or the database's name, garbling the
# message and telling the password. URLs and `key=value` settings are masked whatever
# their secret.
LONG_SECRET = 12


def hide(text: str) -> str:
    """`text` with each URL's password and secret query parameters replaced by ***.

    A password may hold an `@` no one escaped: the user part ends at the last `@` before
    the host's end (a `/`, `?`, `#`, space or bracket after the first `@`), as urllib reads
    it, so no part of such a password is shown."""
    out: list[str] = []
    at = 0
    for found in _USERINFO.finditer(text):
        rest = found.group("rest")
        first = rest.find("@")
        if first < 0:
            continue
        end = re.search(r"[/?#)'\"]", rest[first:])
        host_end = first + end.start() if end else len(rest)
        last = rest.rfind("@", 0, host_end)
        out += [text[at : found.start("rest")], "***"]
        at = found.start("rest") + last
    out.append(text[at:])
    return _SECRET_PARAM.sub(lambda mt: mt.group("key") + "=***", "".join(out))


def scrub(text: str, resolved: Resolved | None) -> str:
    """A driver's message without the connection's secrets: its URLs' passwords and secret
    parameters masked, and any long secret quoted on its own."""
    text = hide(text)
    for secret in resolved.secrets if resolved else ():
        if len(secret) >= LONG_SECRET:
            text = text.replace(secret, "***")
    return text
