"""Diff stage: what a change does to the charters, for a pull-request review (`charters diff`).

Three steps, one module each:

- `sides`: read a side (a git revision, a folder or the working tree), load it as
  `charters check` would, and analyse and check every charter that loaded;
- `compare`: compare the two analysed sides charter by charter into a `DiffReport`,
  a list of `Change`s of the kinds in `KINDS` (one function per kind of comparison);
- `report`: write the report as a Markdown pull-request comment or as JSON
  (`report.format_markdown`, `report.format_json`).

    base = load_side("origin/main", source, "BASE")
    head = load_side(None, source, "HEAD")          # the working tree
    text = report.format_markdown(diff_sides(base, head))

The change kinds and the JSON shape are documented in docs/diff.md.
"""

from __future__ import annotations

from . import report
from .compare import KINDS, PSEUDO_KINDS, Change, DiffReport, diff_sides
from .report import MARKER
from .sides import DiffError, Side, load_side, missing_revision_message

__all__ = [
    "KINDS",
    "MARKER",
    "PSEUDO_KINDS",
    "Change",
    "DiffError",
    "DiffReport",
    "Side",
    "diff_sides",
    "load_side",
    "missing_revision_message",
    "report",
]
