"""Pages stage: the built-in templates' folder and the static files a build copies.

:func:`static_sources` says which files go to the site's `static/` folder, and from
where: the built-in ones, then the project's own (`templates/static/`), which replace
them by name. pages.py copies them (:func:`static_files`); links.py holds a charter's
links into `static/` to the same list without reading a byte (and without importing
Jinja, so `charters check` stays light).
"""

from __future__ import annotations

import os
from pathlib import Path

from .readers import inside

BUILTIN_TEMPLATES = Path(__file__).parent / "templates"
if not BUILTIN_TEMPLATES.is_dir():  # running from a source checkout
    BUILTIN_TEMPLATES = Path(__file__).parent.parent / "templates"


class StaticFileError(Exception):
    """A static file of the project's that cannot be read: a located error of the build."""

    def __init__(self, rel: str, message: str) -> None:
        super().__init__(message)
        self.rel, self.message = rel, message


def static_sources(root: Path) -> dict[str, Path]:
    """The static files of a build of the project at `root`, by site path, each with the
    file it is copied from: the built-in ones, then the project's own, which replace them
    by name (a file of `templates/static/` that leaves the tree through a link is left
    out: load refuses it). Raises :class:`StaticFileError` when the folder cannot be read."""
    sources = {f"static/{p.name}": p for p in sorted((BUILTIN_TEMPLATES / "static").glob("*"))}
    user_static = root / "templates" / "static"
    try:
        is_dir = user_static.is_dir()
    except OSError as exc:  # templates/ itself cannot be searched (mode 0, or 644)
        why = (exc.strerror or type(exc).__name__).lower()
        raise StaticFileError("templates", f"cannot read this folder ({why})") from None
    if is_dir:
        if not os.access(user_static, os.R_OK | os.X_OK):  # glob would find nothing
            raise StaticFileError("templates/static", "cannot read this folder (permission denied)")
        for static in sorted(user_static.glob("*")):
            if static.is_file() and inside(root, static):
                sources[f"static/{static.name}"] = static
    return sources


def static_files(root: Path) -> dict[str, bytes]:
    """The bytes of :func:`static_sources`, by site path."""
    files: dict[str, bytes] = {}
    for path, source in static_sources(root).items():
        try:
            files[path] = source.read_bytes()
        except OSError as exc:
            rel = f"templates/{path}" if source.parent != BUILTIN_TEMPLATES / "static" else path
            raise StaticFileError(rel, f"cannot read it ({exc.strerror})") from None
    return files
