"""Load stage: paths as the file system has them, links followed, links that loop, and
the path a relative link asks a server for (`requested`).

Python 3.11's `Path.resolve` raises `RuntimeError` on a symbolic link that leads back
to itself, which reached users as an internal error; every stage that follows links
to compare a path with a folder goes through `real`, and the readers refuse a loop by
name (`loops`, `LOOP`) at the file or folder, as they refuse a link leaving the tree.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from urllib.parse import unquote

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


def requested(url: str) -> str | None:
    """The path a relative link asks a server for, as a browser sends it and a server
    decodes it: a backslash is a slash (`notes\\b.txt` is `notes/b.txt`; `%5C` is sent
    as written, a backslash in a name), percent escapes decoded (`my%20notes.txt` is
    `my notes.txt`), the query and fragment left out. "" for the page itself; None when
    no file can be named so (`%00`, or `%ff`, no UTF-8 name)."""
    path = url.replace("\\", "/").split("#", 1)[0].split("?", 1)[0]
    try:
        rel = unquote(path, errors="strict")
    except UnicodeDecodeError:  # `%ff`: a server looks for that byte, which no name holds
        return None
    return None if "\0" in rel else rel
