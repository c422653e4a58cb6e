"""Write stage: writing the site so that nothing is lost.

The new site is written into a temporary folder beside the output folder and
swapped in by two renames only once every file is written. A failed or
interrupted build leaves the previous site as it was. A folder is replaced only
when it is empty or carries the manifest this module writes, so a mistyped
`--out` cannot wipe someone's documents.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MANIFEST = ".charters-site.json"


class OutputError(Exception):
    """The output folder cannot be used; the message says why and what to do."""


def check_output(source: Path, out: Path) -> None:
    """Refuse output folders that would destroy input or someone else's files."""
    src = source.resolve()
    dst = out.resolve()
    if dst == Path.cwd().resolve():
        raise OutputError(
            f"output folder {out} is the current folder, which cannot be swapped out;"
            " choose a subfolder or run from another folder"
        )
    if dst == src:
        raise OutputError(f"output folder {out} is the source folder; choose another --out")
    if src.is_relative_to(dst):
        raise OutputError(f"output folder {out} contains the source folder; choose another --out")
    for inner in ("charters", "templates"):
        if (src / inner).exists() and dst.is_relative_to(src / inner):
            raise OutputError(f"output folder {out} is inside the source's {inner}/ folder")
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise OutputError(
            f"output path {out} exists and is not a folder; remove it or choose another"
        )
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise OutputError(
            f"output folder {out} is not empty and was not written by charters"
            f" (no {MANIFEST}); empty it or choose another --out"
        )


def read_manifest(out: Path) -> dict[str, Any]:
    """The previous build's manifest, or an empty one."""
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_site(out: Path, files: Mapping[str, bytes], manifest: Mapping[str, Any]) -> None:
    """Write `files` (site-relative POSIX paths) as the new content of `out`, atomically."""
    parent = out.parent
    parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(out)
    tmp = parent / f".{out.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        tmp.mkdir()
        for rel in sorted(files):
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(files[rel])
        text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
        (tmp / MANIFEST).write_text(text, encoding="utf-8")
        _swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _swap(tmp: Path, out: Path) -> None:
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        out.rename(old)
        try:
            tmp.rename(out)
        except BaseException:
            old.rename(out)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(out)


def _remove_leftovers(out: Path) -> None:
    """Temporary folders of an interrupted build; an `.old-` one is restored if `out` is gone."""
    for stale in sorted(out.parent.glob(f".{out.name}.old-*")):
        if not out.exists() and (stale / MANIFEST).is_file():
            stale.rename(out)
        else:
            shutil.rmtree(stale, ignore_errors=True)
    for stale in out.parent.glob(f".{out.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
