"""The `charters` command: thin commands that each call one stage function.

Exit status: 0 success, 1 invalid input (or a refused output folder), 2 usage.
A traceback is shown only with `--verbose`; otherwise an unexpected failure is
one line that says so.
"""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__
from .diagnostics import Diagnostic

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
            click.echo("interrupted; the previous site is unchanged", err=True)
            sys.exit(130)
        except Exception as exc:
            ctx = click.get_current_context(silent=True)
            verbose = bool(ctx and ctx.find_root().params.get("verbose"))
            if verbose:
                traceback.print_exc()
            click.echo(
                f"error: internal error: {type(exc).__name__}: {exc}"
                + ("" if verbose else " (run with --verbose for the traceback)"),
                err=True,
            )
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


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


@main.command()
@click.option(
    "--source",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("."),
    show_default="current folder",
    help="Folder holding site.yaml, charters/ and templates/.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Output folder.  [default: site/ in the source folder]",
)
@_guard
def build(source: Path, out: Path | None) -> None:
    """Validate every charter and build the static site.

    Nothing is written unless the whole tree is valid; the previous site stays
    as it was otherwise.
    """
    from .build import Settings
    from .build import build as run_build
    from .write import OutputError

    out = out if out is not None else source / "site"
    try:
        result = run_build(Settings(source=source, out=out))
    except OutputError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    print_diagnostics(result.diagnostics)
    if not result.ok:
        errors = sum(1 for d in result.diagnostics if d.severity == "error")
        click.echo(
            f"error: {errors} problem{'s' if errors != 1 else ''} found; nothing was written"
            f" ({out} is unchanged)",
            err=True,
        )
        sys.exit(1)
    click.echo(
        f"Built {result.charters} charters: {result.pages} pages, {result.charts} charts"
        f" ({result.charts_drawn} drawn) in {result.seconds:.2f} s → {out}"
    )


def _today(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    from datetime import date

    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD") from None


@main.command()
@click.option(
    "--source",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("."),
    show_default="current folder",
    help="Folder holding site.yaml and charters/.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "github", "json"]),
    default=None,
    help="Output format.  [default: github when GITHUB_ACTIONS=true, else text]",
)
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.option(
    "--today",
    callback=_today,
    metavar="YYYY-MM-DD",
    help="Date the staleness rule measures against.  [default: SOURCE_DATE_EPOCH, else today]",
)
@_guard
def check(source: Path, fmt: str | None, strict: bool, today: Any) -> None:
    """Validate every charter and hold it to the rules, without writing a site.

    Exit 1 on any error (and on warnings with --strict), 0 otherwise.
    """
    import os

    from .check import render, run_check
    from .rules import today_from_env

    if fmt is None:
        fmt = "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"
    report = run_check(source, today_from_env(today))
    click.echo(render(report, fmt), nl=False)  # type: ignore[arg-type]
    sys.exit(1 if report.failed(strict) else 0)
