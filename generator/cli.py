"""Commands: the `charters` command group, thin commands that each call one stage function.

Exit status: 0 success, 1 invalid input (or a refused output folder), 2 usage.
A traceback is shown only with `--verbose`; otherwise an unexpected failure is
one line that says so.
"""

from __future__ import annotations

import errno
import functools
import gc
import os
import shlex
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from . import __version__
from .diagnostics import (
    Diagnostic,
    InputError,
    has_control_characters,
    iso_date,
    printable,
    today_from_env,
)
from .formatting import plural

F = TypeVar("F", bound=Callable[..., Any])


def _guard(func: F) -> F:
    """Turn unexpected exceptions into one line and exit 1; keep the traceback for --verbose."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            # Only a build has a site to keep (it swaps a new one in whole, or not at all).
            kept = "; the previous site is unchanged" if func.__name__ == "build" else ""
            click.echo(f"interrupted{kept}", err=True)
            sys.exit(130)
        except InputError as exc:
            click.echo(f"error: {printable(str(exc))}", err=True)
            sys.exit(1)
        except OSError as exc:
            if exc.filename is not None or exc.errno not in _UNWRITABLE:
                _internal(exc)
            # Writing the command's output: `> /dev/full`, a pipe closed early, a full disk.
            click.echo(f"error: cannot write the output: {exc.strerror or exc}", err=True)
            sys.exit(1)
        except Exception as exc:
            _internal(exc)

    return wrapper  # type: ignore[return-value]


# Errors writing a command's output to its standard output.
_UNWRITABLE = frozenset({errno.ENOSPC, errno.EPIPE, errno.EIO, errno.EDQUOT, errno.EFBIG})


def _internal(exc: BaseException) -> NoReturn:
    """An exception nobody expected: one line, and exit 1; the traceback with --verbose."""
    ctx = click.get_current_context(silent=True)
    verbose = bool(ctx and ctx.find_root().params.get("verbose"))
    if verbose:
        traceback.print_exc()
    click.echo(
        f"error: internal error: {type(exc).__name__}: {printable(str(exc))}"
        + ("" if verbose else " (run with --verbose for the traceback)"),
        err=True,
    )
    sys.exit(1)


def source_option(help_text: str) -> Callable[[F], F]:
    """The `--source` option of every command: an existing folder, by default the current one."""
    return click.option(
        "--source",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        default=Path("."),
        show_default="current folder",
        help=help_text,
    )


def cache_dir_option() -> Callable[[F], F]:
    """`--cache-dir`: where builds keep drawn charts and what makes a no-op build, and
    where `check` keeps the reports it prints again for an unchanged tree."""
    return click.option(
        "--cache-dir",
        type=click.Path(file_okay=False, readable=False, path_type=Path),
        default=None,
        envvar="CHARTERS_CACHE_DIR",
        show_envvar=True,
        help="Cache folder (safe to delete).  [default: .charters-cache/ in the source folder]",
    )


def _today(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    found = iso_date(value)  # YYYY-MM-DD only, as in result files
    if found is None:
        raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD")
    return found


def today_option(help_text: str) -> Callable[[F], F]:
    """`--today`: the build date of the command (check, build, diff, pull), a date."""
    return click.option(
        "--today",
        callback=_today,
        metavar="YYYY-MM-DD",
        help=f"{help_text}  [default: SOURCE_DATE_EPOCH, else today]",
    )


def _host(value: str) -> str:
    """An address to listen on, never empty: an empty --host (an unset variable in
    `--host "$HOST"`) listened on every interface, showing the preview to the network."""
    if not value.strip() or has_control_characters(value):
        raise click.BadParameter(
            f"{printable(value)!r} is no address; give one to listen on (127.0.0.1 for"
            " this machine only, 0.0.0.0 to let others see the preview)"
        )
    return value


def print_diagnostics(diagnostics: list[Diagnostic]) -> None:
    for d in diagnostics:
        prefix = "" if d.severity == "error" else f"{d.severity}: "
        click.echo(prefix + d.format_text(), err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="charters")
@click.option("--verbose", is_flag=True, help="Show tracebacks of internal errors.")
def main(verbose: bool) -> None:
    """Metric charters: a static site that says why each ML project exists and whether
    it moved its business metric."""
    # Checked before anything else runs: some libraries read SOURCE_DATE_EPOCH on import
    # and fail with an unhelpful message when it is not a number of seconds.
    try:
        if not os.environ.get("SOURCE_DATE_EPOCH", "x").strip():
            # Blank is unset (today_from_env), but numpy's import reads it as a number.
            del os.environ["SOURCE_DATE_EPOCH"]
        today_from_env()
    except InputError as exc:
        click.echo(f"error: {printable(str(exc))}", err=True)
        sys.exit(1)


@main.command()
@source_option("Folder holding site.yaml, charters/ and templates/.")
@click.option(
    "--out",
    type=click.Path(readable=False, path_type=Path),
    default=None,
    help="Output folder.  [default: site/ in the source folder]",
)
@click.option(
    "--wait",
    is_flag=True,
    help="If another build is writing the output folder, wait for it instead of refusing.",
)
@click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="No progress bar and no summary line; problems are still reported.",
)
@today_option(
    "The build date: the site's staleness alerts are as of it and no result may be dated after it."
)
@cache_dir_option()
@click.option(
    "--gc",
    is_flag=True,
    help="After a successful build, remove the cache entries it did not use (and say how"
    " many), so a cache kept between CI runs does not grow without end.",
)
@click.option(
    "--watch",
    "-w",
    is_flag=True,
    help="After the build, keep running and build again whenever an input changes (a"
    " charter, a result file, a template, site.yaml, metrics.yaml, a commit), until"
    " Ctrl-C. The process keeps what it loaded, so a build after an edit redoes only the"
    " charters that changed, and writes the output folder in place (only what changed).",
)
@_guard
def build(
    source: Path,
    out: Path | None,
    wait: bool,
    quiet: bool,
    today: Any,
    cache_dir: Path | None,
    gc: bool,
    watch: bool,
) -> None:
    """Validate every charter and build the static site.

    Nothing is written unless the whole tree is valid; the previous site stays
    as it was otherwise. On a terminal, a build longer than a second shows a
    progress bar on standard error. With --gc, the cache keeps only what this
    build used (a failed build removes nothing). With --watch, a build that
    fails is reported and the watch goes on; the exit status at Ctrl-C is that
    of the last build, or 130 if it cut one short.
    """
    from .build import Settings
    from .build import build as run_build
    from .progress import Progress
    from .write import OutputError

    out = out if out is not None else source / "site"
    if watch:
        if gc:
            raise click.UsageError(
                "--gc and --watch do not go together: run `charters build --gc` once instead"
                " (the entries a watched build did not use may be wanted by the next)"
            )
        from .serve import build_and_watch

        code = build_and_watch(
            source, out, echo=click.echo, today=today, cache_dir=cache_dir, quiet=quiet
        )
        _stop_workers()
        sys.exit(code)
    try:
        with Progress(quiet=quiet) as progress:
            settings = Settings(
                source=source, out=out, wait=wait, today=today, cache_dir=cache_dir, gc=gc
            )
            result = run_build(settings, progress)
    except OutputError as exc:
        click.echo(f"error: {printable(str(exc))}", err=True)
        sys.exit(1)
    finally:
        _stop_workers()
    print_diagnostics(result.diagnostics)
    for line in result.left:  # a folder of ours beside the output that a build cannot remove
        click.echo(f"warning: {printable(line)}", err=True)
    if not result.ok:
        errors = sum(1 for d in result.diagnostics if d.severity == "error")
        click.echo(
            f"error: {plural(errors, 'problem')} found; nothing was written ({out} is unchanged)",
            err=True,
        )
        sys.exit(1)
    if not quiet:
        click.echo(printable(result.summary(out)))
    if (rule_errors := result.rule_errors_note()) is not None:
        click.echo(rule_errors, err=True)
    if not quiet and result.pruned is not None:
        click.echo(result.pruned.summary())


def run() -> None:
    """`charters` as a process (the installed command, `python -m generator`): `main`, and
    then everything the command made is moved out of the cyclic garbage collector's reach
    (`gc.freeze`), so the interpreter's last collection as it exits does not walk it: 0.15
    to 0.18 s after a build of 1,000 charters, for nothing, as the memory goes with the
    process. Every file is written and closed before a command returns; atexit handlers
    and the freeing of what is left run as usual. Tests call `main` in their own process,
    where the collector must go on working."""
    try:
        main()
    finally:
        gc.freeze()


def _stop_workers() -> None:
    """The build's drawing workers are stopped, not waited for at exit
    (generator.charts.stop_workers); the charts are not imported for it."""
    charts = sys.modules.get(f"{__package__}.charts")
    if charts is not None:
        charts.stop_workers()


def _check_fail_on(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> list[str]:
    from .rulebook import RULES

    codes = [k.strip() for item in value for k in item.split(",") if k.strip()]
    alerts = [r.code for r in RULES if r.severity == "alert"]
    known = [r.code for r in RULES]
    unknown = [c for c in codes if c not in known and c != "alerts"]
    if unknown:
        raise click.BadParameter(
            f"unknown rule code {', '.join(repr(c) for c in unknown)}."
            f" Expected one or more of: alerts, {', '.join(known)}"
        )
    expanded = [a for c in codes for a in (alerts if c == "alerts" else [c])]
    return list(dict.fromkeys(expanded))


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(readable=False, path_type=Path))
@source_option("Folder holding site.yaml and charters/.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "github", "json"]),
    default=None,
    help="Output format.  [default: github when GITHUB_ACTIONS=true, else text]",
)
@click.option("--strict", is_flag=True, help="Fail on warnings too (placeholders included).")
@click.option(
    "--fail-on",
    "fail_on",
    multiple=True,
    callback=_check_fail_on,
    metavar="CODES",
    help="Comma-separated rule codes (or 'alerts' for all of them) that fail the check too."
    " Alerts (MC105 ml-only, MC108 guardrail-breached, MC109 stale-results) are news about"
    " the project and do not fail it otherwise.",
)
@today_option(
    "The build date: the staleness rule measures against it and no result may be dated after it."
)
@cache_dir_option()
@_guard
def check(
    paths: tuple[Path, ...],
    source: Path,
    fmt: str | None,
    strict: bool,
    fail_on: list[str],
    today: Any,
    cache_dir: Path | None,
) -> None:
    """Validate every charter and hold it to the rules, without writing a site.

    With PATHS (files of the tree, as pre-commit passes them), only the charters those
    files belong to are judged; the whole tree is still loaded for references. A path
    outside charters/ (site.yaml, a template) judges every charter.

    Exit 1 on any error (on warnings too with --strict, on the codes of --fail-on), 0
    otherwise.

    The report of an unchanged tree is printed again from the cache folder, the one
    `build` uses (a folder that cannot be written is simply not used).
    """
    import os

    from .check import charters_for_paths, outside_source
    from .check_cache import checked

    if fmt is None:
        fmt = "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"
    only = charters_for_paths(source, paths) if paths else None
    if only is None:
        for path in paths:  # one that did not narrow the check: say why
            if not os.path.lexists(path):
                click.echo(
                    f"warning: {printable(str(path))} is not there (a typo?); every charter"
                    " is checked",
                    err=True,
                )
            elif outside_source(source, path):
                click.echo(
                    f"warning: {printable(str(path))} is outside the source folder"
                    f" ({printable(str(source))}); every charter is checked",
                    err=True,
                )
    for cid in only or ():
        if not (source / "charters" / cid).is_dir():  # a typo, or a charter deleted
            click.echo(
                f"warning: {printable(f'charters/{cid}')} is no charter folder (a typo, or a"
                " charter removed); nothing there is checked",
                err=True,
            )
    result = checked(source, today_from_env(today), only, cache_dir)
    click.echo(result.output(fmt), nl=False)  # type: ignore[arg-type]
    failed = result.failed(strict, fail_on)
    if failed and not result.failed(False):
        from .check import why_failed

        click.echo(f"error: failed on {why_failed(result.findings, strict, fail_on)}", err=True)
    sys.exit(1 if failed else 0)


def _fail_on(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> list[str]:
    from .diff import KINDS, PSEUDO_KINDS

    kinds = [k.strip() for item in value for k in item.split(",") if k.strip()]
    allowed = [*KINDS, *PSEUDO_KINDS]
    unknown = [k for k in kinds if k not in allowed]
    if unknown:
        raise click.BadParameter(
            f"unknown kind {', '.join(repr(k) for k in unknown)}."
            f" Expected one or more of: {', '.join(allowed)}"
        )
    return list(dict.fromkeys(kinds))


def _side(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """BASE or HEAD as given; an empty one (an unset variable in CI, say) would be the
    current folder, compared with itself."""
    if value is not None and not value.strip():
        raise click.BadParameter(
            "is empty; give a git revision (origin/main, a commit) or a folder"
        )
    return value


@main.command("diff")
@click.argument("base", callback=_side)
@click.argument("head", required=False, callback=_side)
@source_option(
    "Folder holding site.yaml and charters/ (in the working tree; its path inside the"
    " repository is used for revisions)."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "json"]),
    default="md",
    show_default=True,
    help="md: a pull-request comment; json: the documented machine-readable report.",
)
@click.option(
    "--all",
    "show_all",
    is_flag=True,
    help="In md, show every charter and metric, not only changes.",
)
@click.option(
    "--fail-on",
    "fail_on",
    multiple=True,
    callback=_fail_on,
    metavar="KINDS",
    help="Comma-separated change kinds (or goalpost-moved-unagreed, regressed, improved,"
    " flagged, invalid, any) that make the command exit 1.",
)
@today_option(
    "The build date of both sides (no result may be dated after it), and the date of a"
    " change in a folder or the working tree (a revision's is its commit's)."
)
@_guard
def diff_command(
    base: str,
    head: str | None,
    source: Path,
    fmt: str,
    show_all: bool,
    fail_on: list[str],
    today: Any,
) -> None:
    """Compare the charters at BASE with HEAD: what a change does to the projects.

    BASE and HEAD are git revisions or folders; HEAD defaults to the working tree.
    Exit 0, or 1 when a --fail-on kind is found, or 2 when a side cannot be read
    (for example, BASE is not in a shallow clone).
    """
    from .diff import DiffError, diff_sides, load_side
    from .diff.report import format_json, format_markdown

    today = today_from_env(today)  # one build date for both sides
    try:
        base_side = load_side(base, source, "BASE", today)
        head_side = load_side(head, source, "HEAD", today)
    except DiffError as exc:
        click.echo(f"error: {printable(str(exc))}", err=True)
        sys.exit(2)
    report = diff_sides(base_side, head_side)
    if fmt == "json":
        click.echo(format_json(report, fail_on), nl=False)
    else:
        click.echo(format_markdown(report, show_all, fail_on), nl=False)
    matched = report.matching(fail_on)
    if matched:
        click.echo(f"charters diff: found {', '.join(matched)} (--fail-on)", err=True)
        sys.exit(1)


@main.command("schema")
@click.option("--result-row", is_flag=True, help="The schema of one row of a result file instead.")
@click.option("--metrics", is_flag=True, help="The schema of metrics.yaml (the catalogue) instead.")
@click.option("--site", is_flag=True, help="The schema of site.yaml instead.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, readable=False, path_type=Path),
    default=None,
    help="Write the schema to this file instead of printing it.",
)
@_guard
def schema_command(result_row: bool, metrics: bool, site: bool, out: Path | None) -> None:
    """Print the JSON Schema of charter.yaml (draft 2020-12), generated from the model.

    Point editors at it with a first line `# yaml-language-server: $schema=<path>`
    in charter.yaml; see docs/schema.md in the metric-charters source.
    """
    from .schemas import SchemaKind, schema_text

    kinds: tuple[tuple[SchemaKind, bool], ...] = (
        ("result-row", result_row),
        ("metrics", metrics),
        ("site", site),
    )
    chosen = [kind for kind, flag in kinds if flag]
    if len(chosen) > 1:
        raise click.UsageError(
            f"--{chosen[0]} and --{chosen[1]} name two schemas; give one of them (or neither,"
            " for charter.yaml's)"
        )
    text = schema_text(chosen[0] if chosen else "charter")
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        click.echo(f"error: cannot write {printable(str(out))}: {exc.strerror or exc}", err=True)
        sys.exit(1)
    click.echo(f"Wrote {out}")


@main.command("new")
@click.argument("charter_id", metavar="ID")
@source_option("Folder holding site.yaml and charters/.")
@_guard
def new_command(charter_id: str, source: Path) -> None:
    """Start a charter: charters/ID/charter.yaml (commented, with TODOs) and results/,
    and charter.schema.json in the source folder (for editors) when it has none.

    Refuses to overwrite anything. The starter validates as a proposed charter.
    """
    from .scaffold import ScaffoldError, new_charter, valid_id

    if not valid_id(charter_id):
        from .model import ID_PATTERN

        raise click.BadParameter(
            f"{charter_id!r} is not a valid charter id: use lowercase letters, digits and '-',"
            f" starting with a letter or digit, at most 63 characters ({ID_PATTERN})",
            param_hint="ID",
        )
    try:
        written = new_charter(source, charter_id)
    except ScaffoldError as exc:
        click.echo(f"error: {printable(str(exc))}", err=True)
        sys.exit(1)
    for path in written:
        click.echo(f"Wrote {path}")
    # The command to run next, for the folder it was run on (`--source` given or not).
    where = "" if source == Path(".") else f" --source {shlex.quote(str(source))}"
    click.echo(f"Fill in the TODOs, then run `charters check{where}`.")


@main.command("serve")
@source_option("Folder holding site.yaml, charters/ and templates/.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    callback=lambda ctx, param, value: _host(value),
    help="Address to listen on; keep the default unless others must see the preview.",
)
@cache_dir_option()
@_guard
def serve_command(source: Path, port: int, host: str, cache_dir: Path | None) -> None:
    """Preview the site: build, serve, rebuild on every change and reload the open page.

    Builds into a temporary folder (site/ is not touched). A broken charter
    shows its located errors here and on the page; the server keeps running.
    """
    from .serve import serve

    sys.exit(serve(source, host=host, port=port, echo=click.echo, cache_dir=cache_dir))


@main.command("pull")
@click.argument("ids", nargs=-1, metavar="[IDS]...")
@source_option("Folder holding site.yaml and charters/.")
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@click.option(
    "--connection", metavar="NAME", default=None, help="Only the pulls that use this connection."
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="How many pulls (and so connections) run at a time.",
)
@today_option("The build date: no pulled row may be dated after it.")
@_guard
def pull_command(
    ids: tuple[str, ...],
    source: Path,
    dry_run: bool,
    connection: str | None,
    jobs: int,
    today: Any,
) -> None:
    """Write result files from SQL databases and MLflow, as the charters' `pull` entries say.

    Each file is replaced only when every row is valid; otherwise it stays as it
    was and the problem is reported at the charter's pull entry (exit 1). See
    docs/pull.md in the metric-charters source.
    """
    from .pull.run import UnknownConnection, pull, summary

    known = sorted(p.parent.name for p in (source / "charters").glob("*/charter.yaml"))
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise click.BadParameter(
            f"no charter {unknown[0]!r} in {source / 'charters'}", param_hint="IDS"
        )
    show = _progress_line if sys.stderr.isatty() else None
    try:
        report = pull(
            source, ids, connection, dry_run=dry_run, jobs=jobs, progress=show, today=today
        )
    except UnknownConnection as exc:
        raise click.BadParameter(str(exc), param_hint="'--connection'") from None
    if show is not None:
        click.echo("\r\033[K", nl=False, err=True)
    print_diagnostics(report.diags.sorted())
    for line in summary(report, dry_run):
        click.echo(line)
    if not report.ok:
        errors = plural(len(report.diags.errors), "problem")
        unchanged = (
            "the files of the pulls that failed were not changed"
            if report.failed
            else "the pulls of a charter or site.yaml in error did not run"
        )
        click.echo(f"error: {errors} found; {unchanged}", err=True)
        sys.exit(1)


def _progress_line(done: int, total: int, running: list[str]) -> None:
    text = f"pulling: {done}/{total} done" + (f"; running: {', '.join(running)}" if running else "")
    click.echo(f"\r\033[K{text[:200]}", nl=False, err=True)
