"""Build recipe: what a build after a small edit takes from the cache instead of redoing.

A build that is not a no-op (generator/cache.py) still has to give the bytes of a
cold build, but most of its work depends on one charter at a time. This module
keeps that work in the cache folder, keyed by content hashes (never by
modification times), so a build after an edit of one charter redoes that
charter, the pages and outputs made from every charter, and nothing else:

* **A charter, loaded and analysed** (`charters/…/<key>.pickle`): its
  `LoadedCharter`, its `CharterView` and the diagnostics loading it gave. The key
  is the hash of the charter's whole folder (every file by name and content, from
  the same walk as the input fingerprint), `metrics.yaml` (refs are resolved
  from it), the date results are judged by, the folder's name, the generator's
  own fingerprint and the Python version: everything `load._load_charter` and
  `analyze.analyze_charter` read (a relative link or result file that leads out
  of the folder, written so or through a symbolic link, is refused by the
  loader). What relates charters to each other (ids and aliases, connections,
  the catalogue's claims, teams, the finder) is computed over every charter on
  every build. A charter is kept only once it loaded without an error.
* **A charter's page** (`pages/…/<key>.html`): the key is the charter's key with
  everything else the page is given: its history and history note, its charts'
  keys, and the context every page shares (site.yaml as validated, the
  templates, the finder's choices, the team and metric pages, the live-reload
  token, the staleness date). The page is rendered with a `checks` that notes
  any look at another charter's check; a page that looked is not kept, since
  its bytes then depend on more than its key. A page is written once, into the
  build's spool; its entry is a hard link to that file, with its size and CRC-32
  beside it (`pages/…/<key>.sum`, with the key of the data tables it was made from),
  and one that does not match them is rendered again.
* **The data tables of a charter's page** (`tables/…/<key>.pickle`): each a fragment
  of the page (templates/_tables.html), rendered once and kept so that an edit of
  charter.html does not render every table again; a page's tables in one entry, under
  the charter's key, the targets its history moved, the page's path (links are relative
  to it) and the source of the fragment template with every template it imports or
  includes, and inside it each found by its own key: those and the name and arguments
  of the macro (pages.Fragments). A macro sees nothing of the page but its arguments
  and `url`.
* **A charter's row of a page made from every charter** (`fragments/…/<key>.html`
  too): its row of the portfolio, of its team's page and of the page of each
  catalogued metric it claims (templates/_rows.html), rendered once and kept so that
  an edit of one charter does not render every other charter's rows again. The key is
  the charter's key, the targets its history moved, the page's path, the name and
  arguments of the macro, what else the macro is given (the catalogued metrics'
  pages), and the source of the rows template with every template it imports
  (pages.Rows).
* **A charter's downloads** (`downloads/…/<key>.json|.csv`): the charter's key.
* **A charter's JSON pieces** (`check-json/…`, `api-json/…`): its entry in the
  report `charters check` prints (check.charter_json_text), under the key of its rule
  findings; its record in api/charters.json, under its key and `base_url`. Each is
  text dumped alone; the whole is put together from them (formatting.json_list).
* **A charter's feed entries** (`feed/…/<key>.pickle`): under its key and `base_url`.

A pickled entry says its size and CRC-32 first (`cache.summed`): one that cannot
be read, does not match them or does not unpickle to what is expected is ignored
and made again. A pickle runs code when read: the cache folder is
trusted like the installed generator (docs/cache.md).
"""

from __future__ import annotations

import contextlib
import copy
import copyreg
import dataclasses
import gc
import hashlib
import io
import os
import pickle
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache as memoized
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from .cache import (
    Cache,
    Context,
    digest,
    digest_after,
    generator_fingerprint,
    hashing,
    part_digests,
    sum_line,
    summed,
    unsummed,
)
from .diagnostics import Diagnostic, Diagnostics, SourceRef
from .spool import CHUNK, Content, Spool, Spooled
from .write import OwnSite, PreviousSite

if TYPE_CHECKING:
    from .analyze import CharterView
    from .charts import Described
    from .load import LoadedCharter, Project
    from .outputs import FeedEntry
    from .readers import Document
    from .rules import Judged

_FORMAT = "charters-reuse-3"
FREEZE_EVERY = 100  # charters read back between two gc.freeze() calls (Reuse._found)
LoadOne = Callable[[Path, Diagnostics], "LoadedCharter | None"]
# Kinds of entry whose value no build changes once read (a charter's charts as described,
# tuples; its feed entries, frozen; its rule findings, a sentence and frozen diagnostics):
# a process that builds again (Kept) keeps the value itself, so its next build neither
# unpickles nor checks it again.
KEPT_VALUES = frozenset({"charts-of", "feed", "rules"})


class Known(NamedTuple):
    """A charter as loaded and analysed, kept under its key (in the cache, or in `Kept`)."""

    diagnostics: list[Diagnostic]  # what loading it reported (warnings: it had no error)
    view: CharterView
    # load.dated_until: it is what a load gives on this day number or any later one.
    dated_until: int


@dataclass
class Kept:
    """What a long-running process (`charters serve`) keeps in memory between its builds:
    each charter as loaded and analysed, with what loading it reported, by its cache key.

    A save rebuilds every charter's pages from every charter, and reading a thousand
    charters back from the cache folder (unpickling them) is most of such a build. Found
    by the very key of the cache entry, a kept charter is as fresh as one read back. A
    build is given a shallow copy of each kept view and replaces a view's `metrics`
    (history.with_history), never the kept one's; templates only read what they
    are given (docs/cache.md). Only the charters of the last build that analysed its
    charters are kept, so memory follows the tree, not the number of saves.
    """

    charters: dict[str, Known] = field(default_factory=dict)
    # The small cache entries the last full build read or wrote (cache.Cache.memory).
    entries: dict[str, bytes] = field(default_factory=dict)
    # The cache entries the last full build saw in the folder (cache.Cache.holds).
    seen: set[str] = field(default_factory=set)
    # The entries of `KEPT_VALUES` kinds the last full build read or wrote, unpickled, by
    # kind and key (Reuse._value).
    values: dict[tuple[str, str], Any] = field(default_factory=dict)
    # Set by a process that manages the cyclic garbage collector itself (serve: it freezes
    # what is alive after each build), so a build need not (Reuse.freezing).
    collector_managed: bool = False
    # The site the last build wrote into the process's own folder (written in place), for
    # the next build to take as it was written (write.OwnSite); None while one writes it.
    site: OwnSite | None = None
    # The cache entries its builds wrote that its last successful build still used (and
    # those a failed build wrote since): removed once a build no longer uses them
    # (prune.superseded), so the cache holds no state the process left behind.
    # Each with the inode it was written as (Cache.written).
    written: dict[str, int] = field(default_factory=dict)
    # That removal, in a thread of its own: a served page hears of the build without
    # waiting for the disk to delete a thousand pages (0.1 to 1.3 s after a template's
    # save at 1,000 charters); the next build waits for it first (`removed`).
    removing: threading.Thread | None = None

    def remove(self, paths: list[tuple[str, int]], since: float) -> None:
        """Remove the cache entries at `paths` (each with the inode it was written as)
        unchanged since `since`, in a thread."""
        from .prune import remove_unchanged_since

        self.removed()
        if paths:
            thread = threading.Thread(
                target=remove_unchanged_since, args=(paths, since), daemon=True
            )
            try:
                thread.start()
            except RuntimeError:  # no thread to be had: remove them here, then
                remove_unchanged_since(paths, since)
                return
            # Kept only once started: joining one never started raises at every build.
            self.removing = thread

    def removed(self) -> None:
        """Wait for the removal `remove` started, if any (a build must not look for an
        entry while it may be removed)."""
        removing = self.removing  # read once: another thread may wait for it too
        if removing is not None:
            removing.join()
            self.removing = None


@dataclass
class Reuse:
    """The per-charter cache of one build: keys, what was found, what is to be stored."""

    cache: Cache
    parts: Mapping[str, str]  # the input's parts by name (cache.input_fingerprint)
    context: Context
    before: PreviousSite = field(default_factory=PreviousSite)  # the current site
    made: dict[str, str] = field(default_factory=dict)  # this build's site path → key
    keys: dict[str, str] = field(default_factory=dict)  # charter id → key, cacheable only
    views: dict[str, CharterView] = field(default_factory=dict)  # found in the cache
    pending: dict[str, tuple[str, list[Diagnostic]]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # hits and misses by kind
    rule_keys: dict[str, str] = field(default_factory=dict)  # charter id → key of its findings
    kept: Kept | None = None  # what the process keeps between builds (serve)
    # Whether charters read back are exempted from the cyclic garbage collector (`_found`).
    freezing: bool = False
    _kept_now: dict[str, Known] = field(default_factory=dict)
    anew: list[str] = field(default_factory=list)  # the charter folders read from the disk
    values_now: dict[tuple[str, str], Any] = field(default_factory=dict)  # for Kept.values

    def _count(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1

    def charter_key(self, root: Path, folder: Path) -> str | None:
        """The key of the charter in `folder`, or None when the walk did not hash it."""
        rel = folder.relative_to(root).as_posix()
        part = self.parts.get(rel)
        if part is None:
            return None
        catalogue = self.parts.get("metrics.yaml", "none")
        # The Python version too: a pickle is read back by the same kind of interpreter.
        # Not the build date: an entry says from which day on it holds (`_known_charter`).
        fields = (_FORMAT, "charter", generator_fingerprint(), sys.version, rel, part, catalogue)
        return digest(*fields)

    @property
    def charters(self) -> int:
        """How many entries charters/ holds (the walk's parts: folders, mostly)."""
        return sum(1 for rel in self.parts if rel.startswith("charters/"))

    def changed_since_walk(self, root: Path, skip: Sequence[Path]) -> list[str]:
        """The parts this build read from the disk (site.yaml, metrics.yaml, templates/ and
        each charter loaded anew) whose files no longer hash as the walk that made the
        keys hashed them: saved while the build read them. What the build made from them
        would be filed under the other version's key. Charters read back from the cache
        need no look: their content is the key's."""
        names = [
            n for n in ("site.yaml", "metrics.yaml", "templates", *self.anew) if n in self.parts
        ]
        now = part_digests(root, names, skip)
        return [name for name in names if now.get(name) != self.parts[name]]

    def count_anew(self, root: Path, limit: int) -> int:
        """How many charter folders have a key found neither in memory (Kept) nor in the
        cache, counted up to `limit`: those charters are loaded and analysed anew, and
        their charts may change."""
        found = 0
        for rel in self.parts:
            if not rel.startswith("charters/"):
                continue
            key = self.charter_key(root, root / rel)
            if key is None or (self.kept is not None and key in self.kept.charters):
                continue
            missing = self.cache.entry("charters", key, ".pickle", count=False) is None
            if missing and (root / rel).is_dir():
                found += 1
                if found >= limit:
                    break
        return found

    def _note_found(self, key: str, cid: str) -> None:
        """Note as used a charter found (read back, or kept in memory) for what removes the
        entries a build did not use: its entry, and its memos (read when it is analysed or
        its charts described again). For `--gc` (`Cache.collect`) every charter's; for a
        process that removes what its own builds left (`Kept.written`: prune.superseded),
        the memos only of a charter whose entry it wrote (working out a memo's key for
        each of a thousand charters at every save cost 10 ms): a memo it wrote for a
        charter then found as another build wrote it (an edit undone) goes, and is made
        again when that charter is next analysed."""
        own = self.kept.written if self.kept is not None else None
        if not self.cache.collect and own is None:
            return
        entry = self.cache.path("charters", key, ".pickle")
        if self.cache.collect or (own is not None and entry in own):
            from .memo import CHARTER_PARTS, charter_memo_key

            for part in CHARTER_PARTS:
                self.cache.path("memo", charter_memo_key(f"charters/{cid}", part), ".pickle")

    def load(
        self, root: Path, folder: Path, diags: Diagnostics, load_one: LoadOne
    ) -> LoadedCharter | None:
        """The charter in `folder` from the cache, or loaded by `load_one` (and kept for
        :meth:`analyze` to store with its view); its diagnostics go to `diags`."""
        key = self.charter_key(root, folder)
        found = self._known_charter(key) if key is not None else None
        if found is not None:
            self._count("charters cached")
            self._found()
            diagnostics, view, _ = found
            self._note_found(key, view.id)  # type: ignore[arg-type]  # found: not None
            diags.extend(diagnostics)
            self.views[view.id] = view = copy.copy(view)  # the build's own (Kept)
            self.keys[view.id] = key  # type: ignore[assignment]  # found, so not None
            return view.loaded
        own = Diagnostics()
        if key is not None:
            self.anew.append(folder.relative_to(root).as_posix())
        loaded = load_one(folder, own)
        diags.extend(own)
        if key is not None and loaded is not None:
            self.pending[loaded.id] = (key, list(own))
        return loaded

    def analyze(self, project: Project) -> list[CharterView]:
        """Every charter's view: the cached one, else analysed now and stored."""
        from .analyze import analyze_charter
        from .load import dated_until
        from .memo import charter_memo

        views: list[CharterView] = []
        for loaded in project.charters:
            view = self.views.get(loaded.id)
            if view is None or view.loaded is not loaded:
                with charter_memo(self.cache, f"charters/{loaded.id}", "analysis"):
                    view = analyze_charter(loaded)
                self._count("charters analysed")
                pending = self.pending.pop(loaded.id, None)
                if pending is not None:
                    key, diagnostics = pending
                    until = dated_until(loaded)
                    self._store("charters", key, (_FORMAT, diagnostics, view, until), ".pickle")
                    self.keys[loaded.id] = key
                    self._kept_now[key] = Known(diagnostics, view, until)
                    view = copy.copy(view)  # the build's own (Kept)
            views.append(view)
        if self.kept is not None:
            self.kept.charters = self._kept_now
        return views

    def _found(self) -> None:
        """With `freezing`, every `FREEZE_EVERY` charters read back, exempt what is alive
        from the cyclic garbage collector's later passes (gc.freeze; the build unfreezes
        it at its end). A charter read back lives to the end of the build and holds no
        garbage, yet each full pass of the collector walks every object of every charter
        read so far, and reading back a thousand triggers several (0.4 s of a one-charter
        edit). A build that loads charters anew leaves the collector as it is."""
        found = self.counts.get("charters cached", 0)
        if self.freezing and found % FREEZE_EVERY == 0:
            gc.freeze()

    def _known_charter(self, key: str) -> Known | None:
        """The charter kept in memory under `key` (Kept), else read back from the cache;
        None when neither has it, or when it holds a date after this build's (a result
        row, an agreement: `load.dated_until`), which a load on this day refuses: it is
        loaded anew, and fails as it would without the cache."""
        found = self.kept.charters.get(key) if self.kept is not None else None
        if found is None:
            found = self._read_charter(key)
        if found is None or found.dated_until > self.context.day.toordinal():
            return None
        if self.kept is not None:
            self._kept_now[key] = found
        return found

    def _read_charter(self, key: str) -> Known | None:
        from .analyze import CharterView

        entry = self._read("charters", key, ".pickle")
        if not (isinstance(entry, tuple) and len(entry) == 4 and entry[0] == _FORMAT):
            return None
        _, diagnostics, view, until = entry
        if not isinstance(view, CharterView) or not isinstance(diagnostics, list):
            return None
        if not all(isinstance(d, Diagnostic) for d in diagnostics):
            return None
        if not isinstance(until, int) or isinstance(until, bool):
            return None
        return Known(diagnostics, view, until)

    def _read(self, kind: str, key: str, suffix: str) -> Any:
        """The pickled entry, when it is whole (its size and CRC-32 match: a damaged one
        could unpickle to other numbers) and unpickles; else None (made again)."""
        body = unsummed(self.cache.get(kind, key, suffix))
        if body is None:
            return None
        try:
            return pickle.loads(body)
        except Exception:  # a foreign entry: made again
            return None

    def _value(self, kind: str, key: str, valid: Callable[[Any], bool]) -> Any:
        """The pickled entry `key` of `kind`, when `valid` says it is what is expected; else
        None (to be made again). Of a kind in `KEPT_VALUES`, the value the last build of
        this process read or wrote (Kept.values) is taken as it is, checked when it was
        first read. The cache is still asked whether it holds the entry, without reading
        it, so that the entry is counted and noted as used (`--gc`) as when it is read."""
        kept = self.kept.values.get((kind, key)) if self.kept is not None else None
        if kept is not None and self.cache.holds(kind, key, ".pickle"):
            found = kept
        else:
            found = self._read(kind, key, ".pickle")
            if not valid(found):
                return None
        self._keep_value(kind, key, found)
        return found

    def _store_value(self, kind: str, key: str, value: object) -> None:
        """Store a value made now (pickled) and keep it for the next build of this process."""
        self._store(kind, key, value, ".pickle")
        self._keep_value(kind, key, value)

    def _keep_value(self, kind: str, key: str, value: object) -> None:
        """Keep `value` for the next build of this process (see `_value`)."""
        if self.kept is not None and kind in KEPT_VALUES:
            self.values_now[(kind, key)] = value

    def _store(self, kind: str, key: str, value: object, suffix: str) -> None:
        try:
            pickled = _pickled(value)
        except Exception:  # something in it cannot be pickled: it is simply not kept
            return
        # Written from the buffer: a charter of a million rows is not copied whole.
        self.cache.put_summed(kind, key, pickled.getbuffer(), suffix)

    # --- rules, charts, pages and downloads --------------------------------------------

    def findings(
        self,
        view: CharterView,
        context: str,
        make: Callable[[], Judged],
        dated: Callable[[SourceRef | None], list[Diagnostic]],
    ) -> tuple[str, list[Diagnostic]]:
        """A charter's evidence sentence and rule findings (rules.check_views): what
        `make` gives, kept under the charter's key, the original targets its history
        gives it and the rules' `context` (the rules site.yaml switches off), else made
        and kept; with what `dated` finds, judged at every build (staleness, which the
        build date changes: not kept, and part of the key of check's JSON entry)."""
        key = self.keys.get(view.id)
        if key is None:
            said, found, judged = make()
            return said, _with(found, dated(judged))
        originals = view.moved_goalposts
        key = digest(_FORMAT, "rules", key, originals, context)
        kept = self._value("rules", key, _is_findings)
        if kept is not None:
            self._count("rules cached")
        else:
            kept = make()
            self._store_value("rules", key, kept)
        said, found, judged = kept
        more = dated(judged)
        self.rule_keys[view.id] = digest(key, repr(more)) if more else key
        return said, _with(found, more)

    def check_entry(self, cid: str, make: Callable[[], str]) -> str:
        """Charter `cid`'s entry in check's JSON report (check.charter_json_text) as made of
        its check as the rules gave it: kept under the key of its findings (:meth:`findings`),
        which is all the entry is made of (the view and the findings), else made and kept.
        Asked for only after `findings` for the same view in this build."""
        key = self.rule_keys.get(cid)
        if key is None:
            return make()
        return self._text("check-json", digest(_FORMAT, "check-json", key), make)

    def api_entry(self, cid: str, context: str, make: Callable[[], str]) -> str:
        """Charter `cid`'s record in api/charters.json (outputs.charters_api), dumped alone:
        kept under the charter's key (its view; metrics.yaml, which says which metrics have
        a catalogue page) and `context`, the rest it is made of (site.yaml's `base_url`, the
        record's url; the targets the history moved; whether its results are overdue at
        the build date), else made and kept."""
        key = self.keys.get(cid)
        if key is None:
            return make()
        return self._text("api-json", digest(_FORMAT, "api", key, context), make)

    def feed_of(
        self, cid: str, base_url: str, make: Callable[[], list[FeedEntry]]
    ) -> list[FeedEntry]:
        """Charter `cid`'s entries of feed.xml (outputs.charter_feed): kept under the
        charter's key (its view: each metric's newest rows, latest value and progress, its
        title, owner and decisions) and site.yaml's `base_url` (the entries' ids and
        links), else made and kept."""
        key = self.keys.get(cid)
        if key is None:
            return make()
        key = digest(_FORMAT, "feed", key, base_url)
        found = self._value("feed", key, _is_feed)
        if found is not None:
            self._count("feed cached")
            return found  # type: ignore[no-any-return]  # checked by _is_feed
        made = make()
        self._count("feed made")
        self._store_value("feed", key, made)
        return made

    def _text(self, kind: str, key: str, make: Callable[[], str]) -> str:
        data = _unframe(self.cache.get(kind, key, ".json"))
        if data is not None:
            self._count(f"{kind} cached")
            return data.decode("utf-8")
        text = make()
        self._count(f"{kind} made")
        self.cache.put(kind, key, _frame(text.encode("utf-8")), ".json")
        return text

    def _charts_key(self, view: CharterView) -> str | None:
        key = self.keys.get(view.id)
        if key is None:
            return None
        # The history gives a business metric its original target, which its chart shows.
        originals = view.moved_goalposts
        return digest(_FORMAT, "charts", key, originals)

    def charts_of(self, view: CharterView) -> list[Described] | None:
        """The charter's charts as described when last drawn (charts.Known)."""
        key = self._charts_key(view)
        if key is None:
            return None
        found = self._value("charts-of", key, partial(_is_described, len(view.outline.metric_ids)))
        if found is not None:
            self._count("charts described")
        return found  # type: ignore[no-any-return]  # checked by _is_described

    def keep_charts(self, view: CharterView, charts: list[Described]) -> None:
        key = self._charts_key(view)
        if key is not None:
            self._store_value("charts-of", key, charts)

    def page_key(self, cid: str, shared: str, *own: str) -> str | None:
        """The key of charter `cid`'s page: its charter's key, the context every page
        shares (`shared`) and what else the page is given (`own`: its history, its
        charts, what the rules said of it); None when the charter has no key. Not the
        build date: a page shows it only through the rules' findings (staleness), so a
        new day renders the pages whose findings it changed."""
        key = self.keys.get(cid)
        if key is None:
            return None
        templates = self.parts.get("templates", "none")
        return digest(_FORMAT, "page", key, templates, shared, *own)

    def from_site(self, rel: str, key: str, spool: Spool) -> Content | None:
        """The current site's file at `rel`, borrowed by `spool` without being read, when
        the previous build made it from `key` (its manifest says so) and it is as that
        build wrote it (a plain file of the size the manifest gives); else None."""
        path = self.before.file(rel, key)
        return spool.borrow(path, self.before.sizes[rel]) if path is not None else None

    def page(self, key: str, rel: str, spool: Spool | None) -> Content | None:
        """The page made from `key` for site path `rel`: the current site's file (when
        there is a `spool`), else the cache's entry when it is whole, else None (to be
        rendered)."""
        self.cache.path("pages", key, ".html")  # used, even when the site's file is taken
        data = self.from_site(rel, key, spool) if spool is not None else None
        if data is None:
            data = self._cached_page(key, spool)
        self._count("pages cached" if data is not None else "pages rendered")
        if data is not None:
            self.made[rel] = key
        return data

    def _cached_page(self, key: str, spool: Spool | None) -> Content | None:
        """The page kept under `key`, when it holds exactly what its sum (`.sum`, written
        beside it) says: linked into `spool` and checked there, so what is checked is what
        the site gets; without a spool, its bytes."""
        kept = self.cache.get("pages", key, ".sum")
        want = kept.partition(b"\n")[0] + b"\n" if kept else None  # then its tables' key
        entry = self.cache.entry("pages", key, ".html", count=False) if want else None
        if entry is None:
            return None
        try:
            content = spool.link(entry) if spool is not None else Path(entry).read_bytes()
        except OSError:
            return None
        if content is None:  # removed meanwhile by another process: rendered again
            return None
        if isinstance(content, bytes):
            return content if sum_line([content]) == want else None
        try:
            ok = sum_line(_chunks(content.path)) == want
        except OSError:
            ok = False
        if not ok:  # damaged (a spool's own link, never the site's file): made again
            with contextlib.suppress(OSError):
                os.unlink(content.path)
            return None
        return content

    def keep_page(
        self, key: str, data: bytes, content: Content, rel: str, tables: str | None = None
    ) -> None:
        """Keep the page made from `key` alone, for site path `rel`: its bytes `data`, as
        written to the spool (`content`). A spooled or borrowed file is not written again
        but linked into the cache; the page's sum is written beside it (`.sum`), followed
        by the key of the `tables` entry it was made from, if any (kept while the page
        is: prune.py)."""
        self.made[rel] = key
        if isinstance(content, bytes):
            self.cache.put("pages", key, content, ".html")
        else:
            self.cache.put_link("pages", key, content.path, ".html")
        made_from = f"{tables}\n".encode() if tables is not None else b""
        self.cache.put("pages", key, sum_line([data]) + made_from, ".sum")

    def fragment_key(self, cid: str, *parts: str) -> str | None:
        """The key of a fragment of charter `cid`'s page (pages.Fragments): its charter's
        key and `parts`, what else the fragment is made from; None when the charter has
        no key."""
        start = self.fragment_start(cid)
        return digest_after(start, *parts) if start is not None else None

    def fragment_start(self, cid: str, *parts: str) -> Any:
        """The hash of the first `parts` of the keys of charter `cid`'s fragments, for the
        keys of one page's fragments to share (`cache.digest_after(start, *rest)` is
        :meth:`fragment_key` of `parts` and `rest`); None when the charter has no key."""
        key = self.keys.get(cid)
        if key is None:
            return None
        return hashing(_FORMAT, "fragment", generator_fingerprint(), key, *parts)

    def tables(self, key: str) -> dict[str, str]:
        """The data tables of one charter page (pages.Fragments) kept under `key` by
        :meth:`keep_tables`, by each one's own key (made by :meth:`fragment_key`): read
        in one entry, checked by its sum; empty when not there or damaged."""
        body = unsummed(self.cache.get("tables", key, ".pickle"))
        if body is None:
            return {}
        try:
            found = pickle.loads(body)
        except Exception:  # a foreign entry: made again
            return {}
        if not isinstance(found, dict):
            return {}
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in found.items()):
            return {}
        return found

    def fragment(self, tables: Mapping[str, str], key: str) -> str | None:
        """The data table kept under `key` among a page's `tables`, else None (to be
        rendered)."""
        text = tables.get(key)
        self._count("fragments cached" if text is not None else "fragments rendered")
        return text

    def keep_tables(self, key: str, tables: Mapping[str, str]) -> None:
        """Keep the data tables one charter page used, by their own keys, in one entry."""
        body = pickle.dumps(dict(tables), protocol=pickle.HIGHEST_PROTOCOL)
        self.cache.put("tables", key, summed(body), ".pickle")

    def keep_fragment(self, key: str, text: str) -> None:
        self.cache.put("fragments", key, _frame(text.encode("utf-8")), ".html")

    def row(self, key: str) -> str | None:
        """A charter's row of a page made from every charter (pages.Rows), kept under
        `key` (made by :meth:`fragment_key`) by :meth:`keep_fragment`; None when not there."""
        data = _unframe(self.cache.get("fragments", key, ".html"))
        self._count("rows cached" if data is not None else "rows rendered")
        return data.decode("utf-8") if data is not None else None

    def download(
        self, cid: str, name: str, make: Callable[[], Iterable[bytes]], spool: Spool
    ) -> Content:
        """Charter `cid`'s download `name` (results.json, results.csv): copied from the
        cache into `spool`, else made by `make`, written to `spool` and kept."""
        rel = f"charters/{cid}/{name}"
        key = self.keys.get(cid)
        if key is None:
            return spool.write(make(), rel)
        key = digest(_FORMAT, "download", key, name)
        self.made[rel] = key
        self.cache.path("downloads", key, "")  # used, even when the site's file is taken
        found = self.from_site(rel, key, spool) or self._cached_download(key, spool, rel)
        if found is not None:
            self._count("downloads cached")
            return found
        content = spool.write(make(), rel)
        if isinstance(content, bytes):
            self.cache.put("downloads", key, _frame(content))
        else:
            h = hashlib.blake2b(digest_size=20)
            for chunk in _chunks(content.path):
                h.update(chunk)
            head = h.hexdigest().encode() + b"\n"
            self.cache.put_chunks("downloads", key, [head], _chunks(content.path))
        return content

    def _cached_download(self, key: str, spool: Spool, rel: str) -> Content | None:
        """The download kept under `key`, checked against its hash, written to `spool`
        (for site path `rel`)."""
        path = self.cache.path("downloads", key, "")
        if path is None:
            return None
        try:
            f = open(path, "rb")  # noqa: SIM115  # closed below
        except OSError:
            return None
        with f:
            want = f.read(HASH_HEX + 1)
            h = hashlib.blake2b(digest_size=20)

            def chunks() -> Iterator[bytes]:
                while chunk := f.read(CHUNK):
                    h.update(chunk)
                    yield chunk

            content = spool.write(chunks(), rel)
        if want == h.hexdigest().encode() + b"\n":
            return content
        if isinstance(content, Spooled) and not content.borrowed:  # damaged: made again
            with contextlib.suppress(OSError):  # (a borrowed file is the site's: kept)
                os.unlink(content.path)
        return None


@memoized
def _dispatch_table() -> dict[type, Callable[[Any], Any]]:
    """How the many small frozen records of a charter are pickled: as a call of their
    class with their fields. Unpickled so, each costs a third of what restoring a
    slotted dataclass's state costs (`dataclasses._dataclass_setstate`), which is most
    of the time of reading a charter back."""
    from .analyze import CharterView, DatedLift
    from .readers import Document, LazyDocument
    from .results import Row
    from .stats import Lift

    table: dict[type, Callable[[Any], Any]] = dict(copyreg.dispatch_table)
    for cls in (Row, SourceRef, DatedLift, Lift):
        fields = dataclasses.fields(cls)
        if hasattr(cls, "__post_init__") or not all(f.init for f in fields):
            continue  # its constructor would not give back the same record
        table[cls] = partial(_by_fields, cls, tuple(f.name for f in fields))
    table[Document] = table[LazyDocument] = _lazy_document
    table[CharterView] = _lazy_view  # (a LazyView pickles itself so: its __reduce__)
    return table


def _pickled(value: object) -> io.BytesIO:
    """`value` pickled as the cache keeps it (`_dispatch_table`), in a buffer; the pickler,
    and what its memo held (a view's inner pickle, `_lazy_view`), are gone on return."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _dispatch_table()
    pickler.dump(value)
    return buffer


def _dumps(value: object) -> bytes:
    return _pickled(value).getvalue()


def _lazy_document(doc: Document) -> tuple[Any, ...]:
    """A charter's `Document` pickled so that reading it back costs little until used
    (readers.LazyDocument): its fields in one inner pickle."""
    from .readers import LazyDocument

    fields = tuple(getattr(doc, name) for name in LazyDocument.FIELDS)
    return (LazyDocument, (doc.path, _dumps(fields)))


def _lazy_view(view: CharterView) -> tuple[Any, ...]:
    """A charter's view pickled so that reading it back costs little until its metrics,
    model or rows are used (analyze.LazyView): those in one inner pickle, beside the few
    fields a build reads of every charter."""
    from .analyze import lazy_view

    loaded, metrics = view.loaded, view.metrics
    originals = tuple(mv.originals for mv in metrics)
    inner = _dumps((loaded.charter, loaded.results, metrics))
    fields = (view.id, loaded.path, loaded.doc, loaded.outline, view.verdict)
    marks = (view.latest_date, view.judged_date, originals, view.any_breached)
    return (lazy_view, (*fields, *marks, inner))


def _by_fields(cls: type, names: tuple[str, ...], record: Any) -> tuple[Any, ...]:
    return (cls, tuple(getattr(record, name) for name in names))


HASH_HEX = 40  # a blake2b digest of 20 bytes, in hex


def _frame(data: bytes) -> bytes:
    """An entry that says its own hash first, so a damaged one is known and made again."""
    return hashlib.blake2b(data, digest_size=20).hexdigest().encode() + b"\n" + data


def _unframe(entry: bytes | None) -> bytes | None:
    if entry is None or len(entry) <= HASH_HEX:
        return None
    data = entry[HASH_HEX + 1 :]
    ok = entry[: HASH_HEX + 1] == hashlib.blake2b(data, digest_size=20).hexdigest().encode() + b"\n"
    return data if ok else None


def _chunks(path: str | Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def _is_findings(found: Any) -> bool:
    """Whether an entry read back is a charter's evidence sentence, rule findings and
    where a staleness finding stands (rules.Judged)."""
    if not (isinstance(found, tuple) and len(found) == 3 and isinstance(found[0], str)):
        return False
    if found[2] is not None and not isinstance(found[2], SourceRef):
        return False
    return isinstance(found[1], list) and all(isinstance(d, Diagnostic) for d in found[1])


def _with(found: list[Diagnostic], more: list[Diagnostic]) -> list[Diagnostic]:
    """`found` with `more`, in the order `rules.check_charter` gives (no two findings sort
    alike: each says where it is and what)."""
    return sorted([*found, *more], key=Diagnostic.sort_key) if more else found


def _is_feed(found: Any) -> bool:
    """Whether an entry read back is a charter's feed entries."""
    from .outputs import FeedEntry

    return isinstance(found, list) and all(isinstance(e, FeedEntry) for e in found)


def _is_described(metrics: int, found: Any) -> bool:
    """Whether an entry read back describes the charts of a charter with `metrics` metrics."""
    from .charts import Tolerance

    if not isinstance(found, list):
        return False
    for entry in found:
        if not (isinstance(entry, tuple) and len(entry) == 7):
            return False
        index, kind, path, spec, alt, tolerance, ck = entry
        ok = isinstance(index, int) and 0 <= index < metrics
        ok = ok and kind in ("values", "lift") and isinstance(tolerance, Tolerance | None)
        if not (ok and all(isinstance(x, str) for x in (path, spec, alt, ck))):
            return False
    return True
