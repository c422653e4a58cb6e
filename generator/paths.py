"""Load stage: paths as the file system has them, links followed, links that loop, the
path a relative link asks a server for (`requested`) and what in it servers read
differently (`unportable`), and where the site is served (`parse_base_url`:
site.yaml's base_url, split).

Python 3.11's `Path.resolve` raises `RuntimeError` on a symbolic link that leads back
to itself, which reached users as an internal error; every stage that follows links
to compare a path with a folder goes through `real`, and the readers refuse a loop by
name (`loops`, `LOOP`) at the file or folder, as they refuse a link leaving the tree.
"""

from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

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


_ENCODED_SLASH = re.compile("%2f", re.IGNORECASE)
_SLASHES = re.compile(r"[/\\]{2,}")  # a browser sends a backslash as a slash


def unportable(url: str) -> tuple[str, str] | None:
    """Why servers differ on the path of relative link `url`, in words, and the link
    written so that none does; None when they agree. `requested` decodes `%2F` and
    `notes//b.txt` names `notes/b.txt` on the file system, as Python's and nginx's
    servers read them; Apache's default answers 404 to an encoded slash, and an object
    store (S3, Cloud Storage) keeps two slashes in the key it looks up."""
    cut = min((i for i in (url.find("?"), url.find("#")) if i >= 0), default=len(url))
    path, rest = url[:cut], url[cut:]
    if _ENCODED_SLASH.search(path):
        why = (
            "encodes a slash as %2F, which not every server takes as one (Apache's"
            " default answers 404)"
        )
    elif _SLASHES.search(path):
        why = (
            "has two slashes in a row, which not every server reads as one (an object"
            " store such as S3 answers 404)"
        )
    else:
        return None
    return why, _SLASHES.sub("/", _ENCODED_SLASH.sub("/", path)) + rest


@dataclass(frozen=True)
class BaseUrl:
    """`site.yaml`'s base_url, split into what each output needs."""

    absolute: str | None  # "https://host/path/" when base_url is a full URL
    path: str | None  # "/path/" when base_url gives one (full URL or path)
    host: str | None

    def link(self, target: str) -> str:
        """A link to site file `target` usable from anywhere: absolute, else root-relative."""
        if self.absolute is not None:
            return self.absolute + target
        if self.path is not None:
            return self.path + target
        return target


def parse_base_url(value: str | None) -> BaseUrl:
    """Split base_url; anything that is not an http(s) URL is taken as a site path."""
    if not value or not value.strip():
        return BaseUrl(None, None, None)
    text = value.strip()
    parts = urlsplit(text)
    if parts.scheme in ("http", "https") and parts.netloc:
        path = "/" + parts.path.strip("/") + "/" if parts.path.strip("/") else "/"
        absolute = f"{parts.scheme}://{parts.netloc}{path}"
        return BaseUrl(absolute, path, parts.hostname)
    path = "/" + text.split("?", 1)[0].split("#", 1)[0].strip("/")
    return BaseUrl(None, path if path == "/" else path + "/", None)
