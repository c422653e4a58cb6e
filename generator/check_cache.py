"""Commands, `charters check`'s cache: the report of an unchanged tree printed again.

A check loads, validates and analyses every charter; on a tree that has not
changed since the last check that is wasted work. Its report is kept in the
build's cache folder (cache.py), keyed by content, never by modification times:

* the key is one hash of every file `check` reads (site.yaml, metrics.yaml,
  everything under charters/ — charters, result files, linked files — and
  templates/, whose links check refuses when they leave the tree), the
  generator's fingerprint (its code and libraries), the Python version, the
  date the check judges by, and the charters it was asked about (`PATHS`);
* the entry holds the report in all three formats, byte for byte as printed,
  and the severity and code of every finding (for the exit status under any
  `--strict` / `--fail-on`).

A tree with a symbolic link that leaves it is checked every time: whether the
file at the link's end exists can change the report, and that file is not part
of the tree's hash.

An entry that cannot be read, is cut short or was changed (its blake2b digest
is checked), or is of another format, is ignored and the check runs. A cache
folder that cannot be written costs nothing: the check runs as without one
(the pre-commit hook may check a read-only tree). This module imports no model,
YAML parser or statistics: a hit hashes files and prints.
"""

from __future__ import annotations

import hashlib
import json
import sys
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from .cache import Cache, SourceTree, open_cache, source_tree, tree_key
from .check import (
    FORMATS,
    CheckReport,
    Format,
    JsonEntries,
    fails,
    format_report,
    run_check,
)

KIND = "checks"
SUFFIX = ".check"
_FORMAT = "charters-check-1"
_SEVERITIES = ("error", "warning", "info", "alert")


@dataclass(frozen=True)
class Checked:
    """A check's report as printed in each format, and what decides its exit status."""

    outputs: Mapping[Format, str]  # format → the exact text printed
    findings: tuple[tuple[str, str], ...]  # (severity, code) of every finding and error
    cached: bool = False  # printed again from the cache

    @classmethod
    def of(cls, report: CheckReport, entries: JsonEntries | None = None) -> Checked:
        """`report` formatted; `entries`: charters' JSON entries a build kept (check.py)."""
        outputs = {fmt: format_report(report, fmt, entries) for fmt in FORMATS}
        return cls(outputs, tuple((d.severity, d.code) for d in report.findings))

    def output(self, fmt: Format) -> str:
        return self.outputs[fmt]

    def failed(self, strict: bool, fail_on: Iterable[str] = ()) -> bool:
        return fails(self.findings, strict, fail_on)


def checked(
    source: Path, today: date, only: Iterable[str] | None = None, cache_dir: Path | None = None
) -> Checked:
    """`run_check(source, today, only)`, formatted, or the same printed again from the cache."""
    scope = None if only is None else sorted(set(only))
    cache = open_cache(source, cache_dir)
    key = check_key(source, today, scope, cache)
    if key is not None and (hit := load_checked(cache, key)) is not None:
        return hit
    report = run_check(source, today, scope)
    result = Checked.of(report)
    # Kept only when the tree is still the one the key was made from: a file saved while
    # the check read it would file its report under the other version's key.
    if key is not None and check_key(source, today, scope, cache) == key:
        save_checked(cache, key, result)
    return result


def check_key(
    source: Path,
    today: date,
    scope: list[str] | None,
    cache: Cache,
    tree: SourceTree | None = None,
) -> str | None:
    """The key of a check of `source` on `today` about `scope` (None: every charter), or
    None: without a usable cache folder (the tree is then not hashed at all), or when a
    link in the tree leaves it (see :func:`cache.tree_key`). `tree` is the
    source as a build walked it (skipping the cache folder, as here), else it is walked."""
    if cache.root is None:
        return None
    salt = json.dumps([_FORMAT, sys.version, today.isoformat(), scope])
    if tree is None:
        tree = source_tree(source, [cache.root])
    return tree_key(tree, salt)


def save_checked(cache: Cache, key: str, result: Checked) -> None:
    """Store a report under `key`: a header line with a digest of the body, then the body
    (JSON, compressed)."""
    body = json.dumps(
        {
            "outputs": dict(result.outputs),
            "findings": [list(pair) for pair in result.findings],
        },
        sort_keys=True,
    ).encode("ascii")
    packed = zlib.compress(body, 1)  # a tenth of the size, for a fraction of the time
    header = f"{_FORMAT} {hashlib.blake2b(packed, digest_size=20).hexdigest()}\n".encode()
    cache.put(KIND, key, header + packed, SUFFIX)


def load_checked(cache: Cache, key: str) -> Checked | None:
    """The report stored under `key`, when its entry is whole."""
    raw = cache.get(KIND, key, SUFFIX)
    if raw is None:
        return None
    header, _, packed = raw.partition(b"\n")
    if header != f"{_FORMAT} {hashlib.blake2b(packed, digest_size=20).hexdigest()}".encode():
        return None  # cut short, changed, or of another format: check instead
    try:
        data = json.loads(zlib.decompress(packed).decode("ascii"))
        return _parsed(data)
    except (ValueError, TypeError, KeyError, AttributeError, zlib.error):
        return None


def _parsed(data: Any) -> Checked:
    outputs = data["outputs"]
    if not all(isinstance(outputs.get(fmt), str) for fmt in FORMATS):
        raise TypeError("an output is missing")
    findings: list[tuple[str, str]] = []
    for pair in data["findings"]:
        if not (isinstance(pair, list) and len(pair) == 2 and pair[0] in _SEVERITIES):
            raise TypeError("not a finding")
        findings.append((pair[0], str(pair[1])))
    return Checked({fmt: outputs[fmt] for fmt in FORMATS}, tuple(findings), cached=True)
