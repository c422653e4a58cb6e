"""Diff stage: result rows as git's history had them, read raw (without loading a charter).

`raw_rows` reads one version of a result file into its rows by date, metric and variant,
as the charters' history compares them commit by commit. `taken_out_before` finds, in
BASE's recent history, the commits that took rows out of a charter's result files: rows
taken out in one change and put back with other numbers in the next would otherwise be
rows added, and the versions before those commits are what `charters diff` compares
them with.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from ..diagnostics import Diagnostics
from ..gitrepo import Blobs
from ..readers import reader_for
from .sides import Side, _git

RowKey = tuple[str, str, str]  # date, metric, variant, as written
ROW_NUMBERS = ("value", "lower", "upper", "n", "std")

#: How many commits before BASE, or before a removal, are looked at for rows taken out.
DELETIONS_BEFORE = 20


def plain(value: Any) -> Any:
    """A raw (YAML) value as the history and a charter made again compare it: numbers as
    floats, dates as ISO text."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:  # a whole number of 400 digits: no value the format takes
            return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def raw_rows(blob: bytes | None, rel: str) -> dict[RowKey, tuple[Any, ...]] | None:
    """A result file's rows by date, metric and variant (rows without them are left out);
    None when the file cannot be read as rows at all."""
    reader = reader_for(rel)
    if blob is None or reader is None:
        return None
    doc = reader.parse(blob.decode("utf-8", "replace"), rel, Diagnostics())
    rows = doc.data if doc is not None else None
    if not isinstance(rows, Sequence) or isinstance(rows, str):
        return None
    out: dict[RowKey, tuple[Any, ...]] = {}
    for i in range(len(rows)):
        raw = rows[i]
        if not isinstance(raw, dict) or raw.get("date") in (None, "") or not raw.get("metric"):
            continue
        key = (str(plain(raw["date"])), str(raw["metric"]), str(raw.get("variant") or ""))
        out[key] = tuple(_number(raw.get(name)) for name in ROW_NUMBERS)
    return out


def _number(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        try:
            return float(text) if text else None
        except ValueError:
            return text
    return plain(value)


class Taking(NamedTuple):
    """A commit that took rows out of a charter's result files."""

    revision: str  # where the rows still were: the commit's first parent (`<sha>^1`)
    commit: str  # short hash
    day: str  # its author's date, UTC, as the history dates it


def taken_out_before(base: Side, folders: Collection[str]) -> dict[str, list[Taking]]:
    """For each charter folder of `folders` (`charters/<id>/` of BASE), the commits among
    the last `DELETIONS_BEFORE` on BASE's first-parent line that changed any charter
    (a merge by what it changed against its first parent) that took rows out of one of
    its result files (a file removed, or rows of it deleted; appending takes nothing),
    newest first, back to the commit that made its charter.yaml. None unless BASE is a
    revision."""
    if base.revision is None or base.repository is None or not folders:
        return {}
    top, prefix = base.repository
    args = ["log", "--first-parent", "--no-renames", "--diff-merges=first-parent", "--raw"]
    args += ["--no-abbrev", "-z", "--format=%x02%H%x01%aI", f"-n{DELETIONS_BEFORE}"]
    shown = _git([*args, base.revision, "--", f"{prefix}charters/"], top)
    text = shown.stdout.decode("utf-8", "surrogateescape") if shown.returncode == 0 else ""
    charters = f"{prefix}charters/"
    going = {f"{charters}{name}/": name for name in folders}
    found: dict[str, list[Taking]] = {}
    with Blobs(top) as blobs:
        for entry in text.split("\x02")[1:]:
            header, _, listed = entry.partition("\0")
            sha, _, stamp = header.partition("\x01")
            fields = listed.lstrip("\n").split("\0")
            by_folder: dict[str, list[tuple[list[str], str]]] = {}
            for meta, path in zip(fields[::2], fields[1::2], strict=False):  # `:<modes> …`
                folder, _, rest = path[len(charters) :].partition("/")
                by_folder.setdefault(f"{charters}{folder}/", []).append((meta.split(), rest))
            for folder, name in list(going.items()):
                mine = by_folder.get(folder, [])
                if any(meta[-1] == "A" and rest == "charter.yaml" for meta, rest in mine):
                    del going[folder]  # made here: what was before is another's
                elif any(_took_rows(blobs, meta, rest) for meta, rest in mine):
                    day = datetime.fromisoformat(stamp).astimezone(UTC).date().isoformat()
                    found.setdefault(name, []).append(Taking(f"{sha}^1", sha[:10], day))
            if not going:
                break
    return found


def _took_rows(blobs: Blobs, meta: list[str], rest: str) -> bool:
    """Whether a change of a file of a charter's folder (`meta`: git's raw line, modes,
    blobs and status) took rows out of a result file: some date, metric and variant of
    the old version is not in the new one (a new version that does not read holds none).
    An append, the old version a beginning of the new one, takes nothing."""
    if len(meta) != 5 or meta[4] not in ("M", "D", "T") or rest == "charter.yaml":
        return False
    if reader_for(rest) is None:
        return False
    old, new = blobs.read(meta[2]), blobs.read(meta[3])
    if old is None or (new is not None and new.startswith(old)):
        return False
    was = raw_rows(old, rest) or {}
    now = (raw_rows(new, rest) if new is not None else None) or {}
    return not was.keys() <= now.keys()
