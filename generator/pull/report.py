"""Pull stage: what a pull changes, rows added, changed and removed, and what it does to verdicts.

The verdict part is `charters diff` between the working tree and a copy of it with
the pulled files in place, through the diff module's public functions (one call
site, `verdict_lines`), so the meaning of a change is the one a reviewer sees.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import stat
import tempfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path

from ..cache import INPUT_FILES
from ..diagnostics import Diagnostics
from ..formatting import plural
from ..readers import parse_yaml, read_text
from ..results import DEFAULT_RESULTS, glob_matches
from ..vocabulary import ChangeKind

KEY = ("date", "metric", "variant")
# The kinds of change a pull can cause (results only): reported after the files.
REPORTED: tuple[ChangeKind, ...] = (
    "verdict-changed",
    "results-added",
    "results-rewritten",
    "finding-added",
    "finding-resolved",
)


@dataclass(frozen=True)
class FileChange:
    """How one pulled file differs from the file on disk."""

    rel: str
    rows: int
    added: int
    changed: int
    removed: int
    created: bool
    # The same rows written otherwise (their order, `5.50` for `5.5`): the file is written
    # again in the pull's form, no row changed.
    respelled: bool = False

    @property
    def unchanged(self) -> bool:
        return not (self.created or self.added or self.changed or self.removed or self.respelled)

    def line(self, dry_run: bool) -> str:
        if self.unchanged:
            return f"{self.rel}: unchanged ({plural(self.rows, 'row')})"
        verb = "would be " if dry_run else ""
        if self.respelled:
            return (
                f"{self.rel}: the same {plural(self.rows, 'row')}, {verb}written again in"
                " the pull's form (order, spelling of numbers)"
            )
        what = (
            f"{verb}created with {plural(self.rows, 'row')}"
            if self.created
            else f"{self.added} added, {self.changed} changed, {self.removed} removed"
        )
        return f"{self.rel}: {what}"


def _keyed(text: str) -> Counter[tuple[tuple[str, ...], tuple[tuple[str, str], ...]]]:
    """Rows as (key, the rest) pairs; a missing or unreadable file has none."""
    out: Counter[tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = Counter()
    for row in csv.DictReader(io.StringIO(text)):
        key = tuple((row.get(k) or "").strip() for k in KEY)
        rest = tuple(sorted((k, _cell(k, v)) for k, v in row.items() if k and k not in KEY))
        out[(key, rest)] += 1
    return out


# The columns of numbers: a row whose numbers are the same written otherwise (`5.50` in
# the file, `5.5` pulled) is the same row.
NUMBERS = frozenset({"value", "lower", "upper", "n", "std"})


def _cell(column: str, text: str | None) -> str:
    """A cell as compared: stripped, and a number by its value."""
    cell = (text or "").strip()
    if column in NUMBERS and cell:
        try:
            return repr(float(cell.replace(",", "")) + 0.0)  # + 0.0: -0 is 0
        except ValueError:
            pass
    return cell


def compare(rel: str, old: bytes | None, new: bytes) -> FileChange:
    """Rows added, changed (same date, metric and variant, other values) and removed."""
    after = _keyed(new.decode())
    rows = sum(after.values())
    if old is None:
        return FileChange(rel, rows, rows, 0, 0, True)
    if old == new:
        return FileChange(rel, rows, 0, 0, 0, False)
    before = _keyed(old.decode("utf-8", errors="replace"))
    gone, came = before - after, after - before
    gone_keys = Counter(k for k, _ in gone.elements())
    came_keys = Counter(k for k, _ in came.elements())
    changed = sum((gone_keys & came_keys).values())
    added = sum(came_keys.values()) - changed
    removed = sum(gone_keys.values()) - changed
    # Same rows, other bytes (order, spelling): rewritten, no row changed.
    return FileChange(rel, rows, added, changed, removed, False, not (added or changed or removed))


def verdict_lines(
    source: Path,
    files: Mapping[str, bytes],
    today: date,
    written: Mapping[str, bytes | None] | None = None,
) -> list[str]:
    """What writing `files` (source-relative) does to each charter, as `charters diff` says it.

    `written`: files among them already written into `source`, with the bytes each had
    before (None: it was not there); the comparison starts from those bytes."""
    from ..diff import diff_sides, load_side

    with tempfile.TemporaryDirectory(prefix="charters-pull-") as tmp:
        head = _copy_inputs(source, Path(tmp) / "head", files)
        if written:
            before = _copy_inputs(source, Path(tmp) / "before", written)
            base = load_side(str(before), source, "BASE", today)
            base.label = "the working tree"  # as it was before the pull
        else:
            base = load_side(None, source, "BASE", today)
        after = load_side(str(head), source, "HEAD", today)
        after.label = "the pulled files"  # not the temporary folder's path
        report = diff_sides(base, after)
    lines = [
        f"{c.charter}: {c.message.replace('`', '')}" for c in report.changes if c.kind in REPORTED
    ]
    lines += [f"{x['charter']}: {x['message']}" for x in report.not_compared]
    compared = lines and not report.not_compared
    if compared and not any(c.kind == "verdict-changed" for c in report.changes):
        lines.append("no verdict changes")
    return lines


def _copy_inputs(source: Path, into: Path, files: Mapping[str, bytes | None]) -> Path:
    """What a load of `source` reads (`_copied`), copied into the new folder `into`, with
    `files` (source-relative) put in place: their bytes, or removed where None."""
    into.mkdir()
    if (source / "charters").is_dir():
        shutil.copytree(
            source / "charters",
            into / "charters",
            symlinks=True,
            ignore=_not_regular,
            copy_function=partial(_copied, source / "charters", {}),
        )
    for name in INPUT_FILES:  # site.yaml and the metric catalogue
        if (source / name).is_file():
            shutil.copy2(source / name, into / name)
    for rel, data in files.items():
        target = into / rel
        if data is None:
            target.unlink(missing_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return into


def _copied(charters: Path, globs: dict[str, list[str]], src: str, dst: str) -> None:
    """Copy a file of charters/ whose bytes a load reads (a charter.yaml, a file one of its
    `results` globs matches); any other is made empty: a load asks only whether it is
    there (a `.sql` file, a linked one). A charter's raw data (a 1 GB export beside its
    query) was copied on every pull, dry runs too, and a full disk then stopped the pull."""
    rel = Path(src).relative_to(charters).as_posix()
    charter, _, inside = rel.partition("/")
    if charter not in globs:
        globs[charter] = _results_globs(charters, charter)
    if inside == "charter.yaml" or any(glob_matches(g, inside) for g in globs[charter]):
        shutil.copy2(src, dst)
    else:
        Path(dst).touch()


def _results_globs(charters: Path, charter: str) -> list[str]:
    """The `results` globs of a charter.yaml, read as a load reads it (the default when it
    gives none it can use: it loads in neither the copy nor the source then)."""
    rel = f"{charter}/charter.yaml"
    text = read_text(charters, rel, Diagnostics()) if (charters / rel).is_file() else None
    doc = parse_yaml(text, rel, Diagnostics()) if text is not None else None
    globs = doc.data.get("results") if doc is not None and isinstance(doc.data, dict) else None
    if isinstance(globs, list) and all(isinstance(g, str) for g in globs):
        return globs
    return list(DEFAULT_RESULTS)


def _not_regular(folder: str, names: list[str]) -> list[str]:
    """What a copy of charters/ leaves out: a named pipe, a socket or a device, which
    `copytree` cannot copy (and which no build reads); links are copied as links."""
    kept = (stat.S_ISLNK, stat.S_ISDIR, stat.S_ISREG)
    left = []
    for name in names:
        try:
            mode = os.lstat(os.path.join(folder, name)).st_mode
        except OSError:
            continue  # gone since it was listed: copytree says so itself
        if not any(kind(mode) for kind in kept):
            left.append(name)
    return left
