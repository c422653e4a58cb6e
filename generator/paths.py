"""Load stage: paths as the file system has them, links followed, and links that loop.

Python 3.11's `Path.resolve` raises `RuntimeError` on a symbolic link that leads back
to itself, which reached users as an internal error; every stage that follows links
to compare a path with a folder goes through `real`, and the readers refuse a loop by
name (`loops`, `LOOP`) at the file or folder, as they refuse a link leaving the tree.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

LOOP = "a symbolic link that loops (it leads back to itself); it is not read"


def loops(path: Path) -> bool:
    """Whether `path` is a symbolic link that never reaches a file (a loop)."""
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    except ValueError:  # a NUL in the name
        return False
    return False


def real(path: Path) -> Path:
    """`path` with its links followed; a link that loops stays as it is, made absolute:
    it reaches no file, and reading it is refused (`loops`)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()
