"""Load stage, result rows held as columns: a million rows in some 60 MB, not some 300 MB.

A charter's rows are kept in one `RowStore` of typed arrays (dates as day numbers,
numbers as float64 with NaN for a missing one, metric ids, variants and file paths as
small codes into a table of strings, the position of each row as file, line and
column), and read through `ResultTable`s: sequences of `Result`s that select rows of
a store by position. A `Result` (and its `Row`) is made only when one is asked for:
the 1,000 rows of a page's table, a row an error names. What reads every row (the
analysis, the charts, the downloads) reads the columns.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, overload

from .diagnostics import SourceRef

if TYPE_CHECKING:
    from . import model as m
    from .results import Result, Row

_NAN = math.nan
_NUMBERS = ("value", "lower", "upper", "std")


def _optional(number: float) -> float | None:
    return None if number != number else number  # NaN: no value


class RowStore:
    """The columns of a charter's rows, in the order they were added.

    Strings (metric ids, variants, file paths) are held once each and coded by small
    numbers; code 0 is "none". `n` is 0 where a row has none (a sample size is at
    least 1, and at most 10^15, the model's limit, so it fits 64 bits). A row's note
    and `x-` columns are kept in dictionaries by row, as few rows have them.
    """

    def __init__(self) -> None:
        self.strings: list[str | None] = [None]
        self._codes: dict[str | None, int] = {None: 0}
        self.date = array("i")
        self.metric = array("I")
        self.variant = array("I")
        self.value = array("d")
        self.lower = array("d")
        self.upper = array("d")
        self.std = array("d")
        self.n = array("q")
        self.file = array("I")
        self.line = array("I")
        self.col = array("I")
        self.notes: dict[int, str] = {}
        self.extensions: dict[int, Mapping[str, Any]] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_codes"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._codes = {s: i for i, s in enumerate(self.strings)}

    def __len__(self) -> int:
        return len(self.date)

    def code(self, text: str | None) -> int:
        """The code of `text`, given one if it has none yet."""
        found = self._codes.get(text)
        if found is None:
            found = self._codes[text] = len(self.strings)
            self.strings.append(text)
        return found

    def find(self, text: str | None) -> int | None:
        """The code of `text`, or None when no row holds it."""
        return self._codes.get(text)

    def add(self, row: Row | m.ResultRow, ref: SourceRef) -> int:
        """Add one validated row and where it stands; return its position."""
        at = len(self.date)
        self.date.append(row.date.toordinal())
        self.metric.append(self.code(row.metric))
        self.variant.append(self.code(row.variant))
        self.value.append(row.value)
        self.lower.append(_NAN if row.lower is None else row.lower)
        self.upper.append(_NAN if row.upper is None else row.upper)
        self.std.append(_NAN if row.std is None else row.std)
        self.n.append(row.n or 0)
        self.file.append(self.code(ref.path))
        self.line.append(ref.line)
        self.col.append(ref.col)
        if row.note is not None:
            self.notes[at] = row.note
        extensions = getattr(row, "extensions", None)
        if extensions:
            self.extensions[at] = dict(extensions)
        return at

    def n_at(self, i: int) -> int | None:
        return self.n[i] or None

    def row(self, i: int) -> Row:
        from .results import Row

        strings = self.strings
        return Row(
            date.fromordinal(self.date[i]),
            strings[self.metric[i]],  # type: ignore[arg-type]
            self.value[i],
            _optional(self.lower[i]),
            _optional(self.upper[i]),
            strings[self.variant[i]],
            self.n_at(i),
            _optional(self.std[i]),
            self.notes.get(i),
            self.extensions.get(i, _NO_EXTENSIONS),
        )

    def ref(self, i: int) -> SourceRef:
        return SourceRef(self.strings[self.file[i]] or "", self.line[i], self.col[i])

    def result(self, i: int) -> Result:
        from .results import Result

        return Result(self.row(i), self.ref(i))


_NO_EXTENSIONS: Mapping[str, Any] = {}


class ResultTable(Sequence["Result"]):
    """Rows of a `RowStore`, selected by position, read as `Result`s or by column.

    Slicing and grouping give tables that share the store; nothing is copied but the
    positions. Pickles with its store (a store shared by several tables once).
    """

    __slots__ = ("positions", "store")

    def __init__(self, store: RowStore, index: Sequence[int] | None = None) -> None:
        self.store = store
        self.positions: Sequence[int] = range(len(store)) if index is None else index

    @classmethod
    def of(cls, results: Iterable[Result]) -> ResultTable:
        """A table holding `results`, in their order (rows made elsewhere, e.g. tests)."""
        if isinstance(results, ResultTable):
            return results
        store = RowStore()
        for result in results:
            store.add(result.row, result.ref)
        return cls(store)

    def __len__(self) -> int:
        return len(self.positions)

    @overload
    def __getitem__(self, i: int) -> Result: ...
    @overload
    def __getitem__(self, i: slice) -> ResultTable: ...
    def __getitem__(self, i: int | slice) -> Result | ResultTable:
        if isinstance(i, slice):
            return ResultTable(self.store, self.positions[i])
        return self.store.result(self.positions[i])

    def __iter__(self) -> Iterator[Result]:
        result = self.store.result
        for i in self.positions:
            yield result(i)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ResultTable({len(self)} rows)"

    def take(self, positions: Iterable[int]) -> ResultTable:
        """The rows at `positions` (of this table), in that order."""
        index = self.positions
        return ResultTable(self.store, array("I", (index[p] for p in positions)))

    # --- columns: one value per row of this table ------------------------------------

    def ordinals(self) -> list[int]:
        column = self.store.date
        return [column[i] for i in self.positions]

    def dates(self) -> list[date]:
        """Each row's date; one `date` object per distinct day."""
        made: dict[int, date] = {}
        out: list[date] = []
        for day in self.ordinals():
            found = made.get(day)
            if found is None:
                found = made[day] = date.fromordinal(day)
            out.append(found)
        return out

    def numbers(self, name: str) -> list[float | None]:
        """The column `name` (value, lower, upper or std), None where a row has none."""
        column: array[float] = getattr(self.store, name)
        return [None if (x := column[i]) != x else x for i in self.positions]

    def values(self) -> list[float]:
        column = self.store.value
        return [column[i] for i in self.positions]

    def counts(self) -> list[int | None]:
        n_at = self.store.n_at
        return [n_at(i) for i in self.positions]

    def variants(self) -> list[str | None]:
        strings, column = self.store.strings, self.store.variant
        return [strings[column[i]] for i in self.positions]

    def keys(self) -> set[tuple[str, int, str]]:
        """Each row's metric id, day number and variant ("" for none): what tells one
        row from another."""
        strings, store = self.store.strings, self.store
        metric, day, variant = store.metric, store.date, store.variant
        return {
            (strings[metric[i]] or "", day[i], strings[variant[i]] or "") for i in self.positions
        }

    def variant_codes(self) -> list[int]:
        column = self.store.variant
        return [column[i] for i in self.positions]

    def max_date(self) -> date | None:
        days = self._days()
        return date.fromordinal(max(days)) if days else None

    def min_date(self) -> date | None:
        days = self._days()
        return date.fromordinal(min(days)) if days else None

    def _days(self) -> Sequence[int]:
        """The day numbers of these rows: the store's column itself when they are all of it."""
        column, positions = self.store.date, self.positions
        if isinstance(positions, range) and positions == range(len(column)):
            return column
        return list(map(column.__getitem__, positions))

    def variant_names(self) -> set[str | None]:
        strings, column = self.store.strings, self.store.variant
        return {strings[code] for code in {column[i] for i in self.positions}}

    def group(self, by: str) -> dict[str, ResultTable]:
        """The rows by metric id (`by="metric"`) or by variant ("" for none), in order."""
        column: array[int] = getattr(self.store, by)
        key = [text or "" for text in self.store.strings]
        groups: dict[str, array[int]] = {}
        for i in self.positions:
            name = key[column[i]]
            found = groups.get(name)
            if found is None:
                found = groups[name] = array("I")
            found.append(i)
        return {name: ResultTable(self.store, idx) for name, idx in groups.items()}


def as_table(rows: Sequence[Result]) -> ResultTable:
    """`rows` as a table: itself when it is one, else its rows copied into one."""
    return rows if isinstance(rows, ResultTable) else ResultTable.of(rows)
