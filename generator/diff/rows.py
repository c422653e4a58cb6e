"""Diff stage: result rows as git's history had them, read raw (without loading a charter).

`raw_rows` reads one version of a result file into its rows by date, metric and variant,
as the charters' history compares them commit by commit. `taken_out_before` finds, in
BASE's recent history, the commits that took rows out of a charter's result files: rows
taken out in one change and put back with other numbers in the next would otherwise be
rows added, and the versions before those commits are what `charters diff` compares
them with.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from ..diagnostics import Diagnostics
from ..gitrepo import Blobs, filtered_paths, utc_time
from ..readers import MAX_ROWS, parse_csv, parse_yaml, reader_for
from ..vocabulary import arm_of
from .sides import Side, _git

RowKey = tuple[str, str, str]  # date, metric, variant, as written
ROW_NUMBERS = ("value", "lower", "upper", "n", "std")
CSV_READER = reader_for("results.csv")
# A first line that is surely the header: words, no quote, no line break but its end (a
# blank first line, or one of commas, is skipped by the reader, whose header comes later).
_HEADER = re.compile(rb"(\xef\xbb\xbf)?[^\r\n\"]*[A-Za-z][^\r\n\"]*\r?")

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
    # A byte order mark (Excel's "CSV UTF-8") is not text: the loader reads past it too.
    text = blob.decode("utf-8-sig", "replace")
    doc = (
        parse_csv(text, rel, Diagnostics(), keep=True)
        if reader is CSV_READER
        else reader.parse(text, rel, Diagnostics())
    )
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
    if len(rows) and not out:
        # Lines, none of them a row with a date and a metric: no file of results the loader
        # takes (a Git LFS pointer a filter did not replace, say), not one emptied.
        return None
    return out


def appended_rows(
    old_blob: bytes, old: Mapping[RowKey, tuple[Any, ...]], new_blob: bytes, rel: str
) -> dict[RowKey, tuple[Any, ...]] | None:
    """`raw_rows(new_blob, rel)` of a CSV file whose version `new_blob` only appends whole
    lines to `old_blob` (whose rows are `old`), reading only the lines appended (under
    the old version's header): a history of weekly pulls read every version whole, so
    a year of rows took a year of years. None when it is not such an append (nor a CSV
    file, a header with a quote in it, or a file near the rows' limit): then read the
    new version whole."""
    if (
        reader_for(rel) is not CSV_READER
        or not old_blob.endswith(b"\n")
        or not new_blob.startswith(old_blob)
    ):
        return None
    header, _, _ = old_blob.partition(b"\n")
    tail = new_blob[len(old_blob) :]
    if not _HEADER.fullmatch(header) or old_blob.count(b"\n") + tail.count(b"\n") >= MAX_ROWS:
        return None
    more = raw_rows(header + b"\n" + tail, rel)
    return {**old, **more} if more is not None else None


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
    name: str  # the charter's folder there: its id, or one it lists in `aliases`


ArmKey = tuple[str, str, str]  # date (ISO), metric, arm (`vocabulary.arm_of`)


def arm_key(key: RowKey) -> ArmKey:
    """A raw row's date, metric and arm: `Treatment ` is `treatment`."""
    return (key[0], key[1], arm_of(key[2]))


class Wanted(NamedTuple):
    """What `taken_out_before` looks for, for one charter of BASE."""

    rows: Collection[ArmKey]  # the rows HEAD adds, under BASE's metric ids
    aliases: Sequence[str] = ()  # its former ids: the folders it had before a rename


def taken_out_before(base: Side, wanted: Mapping[str, Wanted]) -> dict[str, list[Taking]]:
    """For each charter of `wanted` (by id), the commits among the last `DELETIONS_BEFORE`
    on BASE's first-parent line that changed any charter (a merge by what it changed
    against its first parent) that took out of its result files rows HEAD adds (a file
    removed, rows of it deleted; appending takes nothing) or changed its `results`
    globs (which may leave files out), newest first, back to the commit that made its
    charter.yaml, and on through the folders of the ids its `aliases` list when that
    commit renamed it. None unless BASE is a revision."""
    if base.revision is None or base.repository is None or not wanted:
        return {}
    top, prefix = base.repository
    args = ["log", "--first-parent", "--no-renames", "--diff-merges=first-parent", "--raw"]
    args += ["--no-abbrev", "-z", "--format=%H%x01%aI", f"-n{DELETIONS_BEFORE}"]
    shown = _git([*args, base.revision, "--", f"{prefix}charters/"], top)
    text = shown.stdout.decode("utf-8", "surrogateescape") if shown.returncode == 0 else ""
    charters = f"{prefix}charters/"
    going = {f"{charters}{cid}/": (cid, cid) for cid in wanted}
    found: dict[str, list[Taking]] = {}
    days = {cid: {key[0].encode() for key in w.rows} for cid, w in wanted.items()}
    records = list(log_records(text))
    paths = {path for _, _, changed in records for _, path in changed}
    with Blobs(top, filtered_paths(top, paths)) as blobs:
        read = _Reader(blobs)
        for sha, stamp, changed in records:
            by_folder: dict[str, list[tuple[list[str], str, str]]] = {}
            for meta, path in changed:
                folder, _, rest = path[len(charters) :].partition("/")
                by_folder.setdefault(f"{charters}{folder}/", []).append((meta, rest, path))
            for folder, (cid, name) in list(going.items()):
                mine = by_folder.get(folder, [])
                if any(meta[-1] == "A" and rest == "charter.yaml" for meta, rest, _ in mine):
                    del going[folder]  # made here: what was before is another's, or its alias
                    aliases = [a for a in wanted[cid].aliases if a != name]
                    going |= {f"{charters}{a}/": (cid, a) for a in aliases}
                    # Rows the renaming commit itself took out of the old folder.
                    mine = [x for a in aliases for x in by_folder.get(f"{charters}{a}/", [])]
                    name = next((a for a in aliases if by_folder.get(f"{charters}{a}/")), name)
                rows, on = wanted[cid].rows, days[cid]
                if any(read.took(meta, rest, path, rows, on) for meta, rest, path in mine):
                    day = (utc_time(stamp) or _EPOCH).date().isoformat()
                    taking = Taking(f"{sha}^1", sha[:10], day, name)
                    found.setdefault(cid, []).append(taking)
            if not going:
                break
    return found


def log_records(text: str) -> Iterator[tuple[str, str, list[tuple[list[str], str]]]]:
    """`git log --raw -z --format=%H%x01%aI` read record by record: each commit's hash,
    date and changes (git's raw fields, the path). A path is whatever follows a raw
    line's fields, so no name of a file can pass for a commit."""
    fields = text.split("\0")
    commit: tuple[str, str, list[tuple[list[str], str]]] | None = None
    i = 0
    while i < len(fields):
        field = fields[i].lstrip("\n")
        if field.startswith(":") and commit is not None and i + 1 < len(fields):
            commit[2].append((field.split(), fields[i + 1]))
            i += 2
            continue
        if field:
            if commit is not None:
                yield commit
            sha, _, stamp = field.partition("\x01")
            commit = (sha, stamp, []) if _COMMIT.fullmatch(sha) and stamp else None
        i += 1
    if commit is not None:
        yield commit


_EPOCH = datetime.fromtimestamp(0, tz=UTC)
_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # a SHA-1 or SHA-256 object name


class _Reader:
    """Result files' versions read as a checkout writes them (through a smudge filter where
    the attributes give one: `Blobs`); the last few blobs' rows kept (a commit's new
    version is often the next one's old)."""

    def __init__(self, blobs: Blobs) -> None:
        self.blobs = blobs
        self.rows: dict[str, set[ArmKey] | None] = {}

    def keys(self, blob: str, rest: str, path: str) -> set[ArmKey] | None:
        if blob not in self.rows:
            found = raw_rows(self.blobs.read(blob, path), rest)
            if len(self.rows) >= 256:  # bounded: 1,000 charters' history held 4 GB
                self.rows.pop(next(iter(self.rows)))
            self.rows[blob] = {arm_key(k) for k in found} if found is not None else None
        return self.rows[blob]

    def took(
        self,
        meta: list[str],
        rest: str,
        path: str,
        rows: Collection[ArmKey],
        days: Collection[bytes],
    ) -> bool:
        """Whether a change of a file of a charter's folder (`meta`: git's raw fields,
        modes, blobs and status) took out one of `rows` (a new version that does not read
        holds none), or changed charter.yaml's `results` globs. An append, the old
        version a beginning of the new one, takes nothing."""
        if len(meta) != 5 or meta[4] not in ("M", "D", "T"):
            return False
        if rest == "charter.yaml":
            old_globs = _globs(self.blobs.read(meta[2], path))
            return bool(old_globs != _globs(self.blobs.read(meta[3], path)))
        if reader_for(rest) is None:
            return False
        old, new = self.blobs.read(meta[2], path), self.blobs.read(meta[3], path)
        if old is None or (new is not None and new.startswith(old)):
            return False
        if new is None and meta[3].strip("0"):  # a version its smudge filter cannot give
            return False
        if not any(day in old for day in days):  # none of the rows wanted was there (`days`)
            return False
        was = self.keys(meta[2], rest, path) or set()
        now = (self.keys(meta[3], rest, path) if new is not None else None) or set()
        return any(key in rows for key in was - now)


def _globs(blob: bytes | None) -> Any:
    """The `results` of a version of charter.yaml, as written."""
    if blob is None:
        return None
    doc = parse_yaml(blob.decode("utf-8", "replace"), "charter.yaml", Diagnostics())
    data = doc.data if doc is not None else None
    return data.get("results") if isinstance(data, dict) else None
