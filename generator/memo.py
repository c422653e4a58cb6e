"""Build recipe: results of a few pure functions, kept from one build for the next.

A build after an edit redoes one charter, yet some of its cost is paid for every
charter or is out of proportion to the edit: each summary goes through Markdown and
the sanitiser for the portfolio's search words, and analysing the edited charter
needs Student's t, whose first use imports much of scipy. These functions' results
depend on their arguments and the installed libraries alone, so a build keeps the
ones it used in the cache folder, keyed by the generator's fingerprint (its code
and library versions), and the next build reads them back:

* the site's memo, ``("markdown", text)``: the sanitised HTML of a Markdown text
  (pages.py), for every text the build converted or found here;
* the site's memo too, ``("referenced templates", source)``: the templates a
  template's source imports, includes or extends (pages.FragmentSources), which
  otherwise means parsing the fragment templates on every build;
* two memos per charter folder, ``("t.ppf", df)`` and ``("t.sf", df, x)``: Student's t
  quantile and tail (stats.py), as the charter's last analysis used them (read when
  it is analysed again), and as the specs of its charts used them for the interval
  of each point (read when its charts are described again). An edit that leaves a
  charter's rows alone (a summary, a target) then needs no scipy.

A charter's memo keeps what its last run used. The site's memo keeps what the build
used and, for `KEEP_IDLE` builds more, what it read and did not use: a build after an
edit renders one charter's page and takes the others' from the cache, and the texts
of those pages are still the site's (a template edit, the next build that renders
every page, needs them); an entry that no build has used for that long goes, so no
memo grows without end. A memo is written only when that differs from what was read.
A missing, damaged or foreign memo means computing again. Like the other pickles of
the cache folder, the memos are trusted as the installed generator is (docs/cache.md).
"""

from __future__ import annotations

import pickle
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    from .cache import Cache

_FORMAT = "charters-memo-2"
_MISSING = object()
#: How many builds in a row an entry of the site's memo stays without being used.
KEEP_IDLE = 50


class Memo:
    """The results read from the cache (`known`), those used since (`used`), and for
    each known one how many builds in a row have not used it (`idle`)."""

    def __init__(self) -> None:
        self.known: dict[Hashable, Any] = {}
        self.used: dict[Hashable, Any] = {}
        self.idle: dict[Hashable, int] = {}

    def get(self, key: Hashable) -> Any:
        """The kept result for `key`, or None (no function kept here returns None)."""
        found = self.known.get(key, _MISSING)
        if found is _MISSING:
            return None
        self.used[key] = found
        return found

    def put(self, key: Hashable, value: Any) -> None:
        """Note `value` as the result for `key`, computed or found in a faster place."""
        self.used[key] = value


#: The memo in use in this process: the site's during a build, a charter's while it
#: is analysed (:func:`charter_memo`).
MEMO = Memo()


def _key(*scope: str) -> str:
    from .cache import digest, generator_fingerprint

    return digest(_FORMAT, generator_fingerprint(), *scope)


def _read(cache: Cache, key: str) -> tuple[dict[Hashable, Any], dict[Hashable, int]]:
    """The entries of a memo and how long each has been idle; nothing when it cannot be
    read."""
    from .cache import unsummed

    body = unsummed(cache.get("memo", key, ".pickle"))  # checked: it holds t quantiles
    if body is None:
        return {}, {}
    try:
        entry = pickle.loads(body)
    except Exception:  # a foreign entry: computed again
        return {}, {}
    ok = isinstance(entry, tuple) and len(entry) == 3 and entry[0] == _FORMAT
    if not (ok and isinstance(entry[1], dict) and isinstance(entry[2], dict)):
        return {}, {}
    return entry[1], entry[2]


def _write(cache: Cache, key: str, entries: dict[Hashable, Any], idle: dict[Hashable, int],
           memo: Memo) -> None:  # fmt: skip
    if entries != memo.known or idle != memo.idle:
        from .cache import summed

        data = pickle.dumps((_FORMAT, entries, idle), protocol=pickle.HIGHEST_PROTOCOL)
        cache.put("memo", key, summed(data), ".pickle")


def load_memo(cache: Cache) -> None:
    """Start the site's memo of a build from what the last build kept."""
    MEMO.known, MEMO.idle = _read(cache, _key("site"))
    MEMO.used = {}


def save_memo(cache: Cache) -> None:
    """Keep what this build used of the site's memo for the next build, and what it did
    not use for `KEEP_IDLE` builds in a row."""
    entries, idle = dict(MEMO.used), {}
    for key, value in MEMO.known.items():
        if key not in entries and (n := MEMO.idle.get(key, 0) + 1) <= KEEP_IDLE:
            entries[key], idle[key] = value, n
    _write(cache, _key("site"), entries, idle, MEMO)


#: The parts of a charter's work that keep a memo each: its analysis and its charts' specs.
CharterPart = Literal["analysis", "charts"]
CHARTER_PARTS: tuple[CharterPart, ...] = get_args(CharterPart)


def charter_memo_key(folder: str, part: CharterPart) -> str:
    """The key of the memo of a part of a charter's work (its folder, relative to the
    source)."""
    return _key("charter", folder, part)


@contextmanager
def charter_memo(cache: Cache, folder: str, part: CharterPart) -> Iterator[None]:
    """While a part of a charter's work (its folder, relative to the source) is done, use
    its own memo (as that part's last run left it); keep what this run used."""
    key = charter_memo_key(folder, part)
    outer = MEMO.known, MEMO.used, MEMO.idle
    MEMO.known, MEMO.idle = _read(cache, key)
    MEMO.used = {}
    try:
        yield
        _write(cache, key, MEMO.used, {}, MEMO)
    finally:
        MEMO.known, MEMO.used, MEMO.idle = outer
