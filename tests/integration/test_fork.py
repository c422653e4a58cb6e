"""Half of a long run of charter pages rendered by a forked copy of the build (fork.py):
the same site, the same state of the build after it, the same errors, whatever becomes
of the copy."""

from __future__ import annotations

import errno
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import copy_examples

import generator.fork as fork
import generator.pages as pages
from generator.assets import BUILTIN_TEMPLATES
from generator.build import BuildResult, Settings, build
from generator.cache import Cache
from generator.charts import draw
from generator.memo import MEMO
from generator.pages import Templates

from .test_build import tree_files

EPOCH = "1797292800"  # 2026-12-15, after every example result


class Forks:
    """How many times the build forked (and the copies' pids), the state of the build after
    its charter pages, and the charter pages the build's own process rendered, in order."""

    def __init__(self) -> None:
        self.count = 0
        self.pids: list[int] = []
        self.states: list[dict[str, Any]] = []
        self.rendered: list[str] = []

    def reaped(self) -> bool:
        """Whether every copy has ended and been waited for (none is left running)."""
        for pid in self.pids:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                continue
            return False
        return True


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> Iterator[Forks]:
    """Forking from two pages (the examples have nine), the forks counted, and the build's
    state noted after each run of charter pages, by what a second look would compare."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.setattr(fork, "FORK_FROM", 2)
    seen = Forks()
    real_fork, charter_pages, render = os.fork, pages.charter_pages, Templates.render
    build_pid = os.getpid()

    def counting() -> int:
        seen.count += 1
        pid = real_fork()
        if pid:
            seen.pids.append(pid)
        return pid

    def noted(self: Templates, template: str, page: str, **context: object) -> bytes:
        if os.getpid() == build_pid and page.startswith("charters/"):
            seen.rendered.append(page)
        return render(self, template, page, **context)

    def noting(*args: Any, **kwargs: Any) -> Any:
        made = charter_pages(*args, **kwargs)
        reuse = args[5]
        seen.states.append(state(reuse))
        return made

    monkeypatch.setattr(fork.os, "fork", counting)
    monkeypatch.setattr(pages, "charter_pages", noting)
    monkeypatch.setattr(Templates, "render", noted)
    # Threads alive before the test are another test's (a browser test's server and
    # Playwright's loop, kept for the session): with them, no test here could fork, as
    # every earlier browser test in the same process made these fail. The build's own
    # threads, and a test's, still rule a copy out.
    others = {t.ident for t in threading.enumerate()} - {threading.get_ident()}

    def can_fork() -> bool:
        theirs = sum(1 for t in threading.enumerate() if t.ident in others)
        return fork._forks_here() and threading.active_count() - theirs == 1

    monkeypatch.setattr(fork, "can_fork", can_fork)
    yield seen


def state(reuse: Any) -> dict[str, Any]:
    """What the build knows after its charter pages, paths relative to the cache folder."""
    cache = reuse.cache
    root = str(cache.root)

    def rel(paths: Any) -> list[str]:
        return sorted(p.replace(root, "CACHE") for p in paths)

    return {
        "made": dict(sorted(reuse.made.items())),  # in the site's order, not the making's
        "counts": dict(reuse.counts),
        "hits": dict(cache.hits),
        "used": rel(cache.used),
        "written": rel(cache.written),
        "folders": rel(cache.folders),
        "seen": rel(cache.seen),
        "memo": sorted(map(repr, MEMO.used)),
        "cache on": cache.root is not None,
    }


def slow_own_pages(monkeypatch: pytest.MonkeyPatch, seconds: float = 0.5) -> None:
    """Each charter page the build renders itself after its first takes `seconds` longer:
    the copy, done with the pages after the charters' and the outputs, takes some of the
    rest (with nine pages, the build would otherwise take them all first)."""
    build_pid, render = os.getpid(), Templates.render
    own: list[str] = []

    def slowed(self: Templates, template: str, page: str, **context: object) -> bytes:
        if os.getpid() == build_pid and page.startswith("charters/"):
            own.append(page)
            if len(own) > 1:
                time.sleep(seconds)
        return render(self, template, page, **context)

    monkeypatch.setattr(Templates, "render", slowed)


def edit_template(source: Path, text: str) -> None:
    """A copy of the built-in charter.html with `text` at the start of its content."""
    marker = "{% block content %}"
    page = (BUILTIN_TEMPLATES / "charter.html").read_text(encoding="utf-8")
    (source / "templates").mkdir(exist_ok=True)
    (source / "templates" / "charter.html").write_text(
        page.replace(marker, marker + text, 1), encoding="utf-8"
    )


def without_workers() -> None:
    """The chart workers of an earlier build stopped, with the threads that feed them: a
    process with another thread never forks (a drawing build keeps its workers)."""
    if draw._POOL is not None:
        draw._POOL.shutdown(wait=True)
        draw._POOL = None


def built(source: Path, out: Path) -> BuildResult:
    without_workers()
    result = build(Settings(source, out))
    assert result.ok, [d.format_text() for d in result.diagnostics]
    return result


def builds(tmp_path: Path, name: str) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """The examples built, then built again after a template edit: both sites."""
    source = copy_examples(tmp_path / name)
    out = tmp_path / f"{name}-site"
    built(source, out)
    first = tree_files(out)
    edit_template(source, "<!-- edited -->")
    built(source, out)
    return first, tree_files(out)


def test_a_template_edit_renders_half_its_pages_in_a_copy_with_the_same_site_and_state(
    forks: Forks, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_own_pages(monkeypatch)
    forked = builds(tmp_path, "forked")
    # Both builds: the first drew its charts in workers, and stopped them before its
    # pages (their threads rule a fork out while they run).
    assert forks.count == 2
    assert forks.reaped()
    assert draw._POOL is None
    # Each build rendered some of its nine charter pages, the copy the others, after the
    # pages that follow them and the outputs.
    assert 2 <= len(forks.rendered) <= 8 + 8, forks.rendered
    forks.rendered = []
    forked_states = forks.states
    forks.states = []
    monkeypatch.setattr(fork, "FORK_FROM", 10**9)
    alone = builds(tmp_path, "alone")
    assert forks.count == 2  # none more
    assert len(forks.rendered) == 9 + 9
    assert forked == alone
    assert b"<!-- edited -->" in forked[1]["charters/search-ranking/index.html"]
    # What the cache was asked for and given, the pages made, the counts and the memo:
    # as if the build had rendered every page itself (the next build and --gc rely on it).
    assert forked_states == forks.states
    assert forks.states[1]["counts"]["pages rendered"] == 9
    assert len([p for p in forks.states[1]["written"] if p.endswith(".html")]) == 9


def template_error_at(
    forks: Forks, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, index: int
) -> tuple[list[list[str]], list[str], list[str]]:
    """The examples built, then a template edit that fails on the page of the charter at
    `index` (folders by name), with a copy and without: each build's report (nothing
    written by either), the charter pages the forked build rendered itself and the
    charters."""
    reports, rendered, charters = [], [], []
    for name, from_ in (("forked", 2), ("alone", 10**9)):
        monkeypatch.setattr(fork, "FORK_FROM", from_)
        source = copy_examples(tmp_path / name)
        out = tmp_path / f"{name}-site"
        built(source, out)
        site = tree_files(out)
        charters = sorted(p.name for p in (source / "charters").iterdir())
        failing = charters[index]
        edit_template(source, f"{{% if view.id == '{failing}' %}}{{{{ 1 // 0 }}}}{{% endif %}}")
        without_workers()
        forks.rendered = []
        result = build(Settings(source, out))
        assert not result.ok
        reports.append([d.format_text().replace(name, "NAME") for d in result.diagnostics])
        assert tree_files(out) == site  # nothing written
        rendered = rendered or list(forks.rendered)
    assert forks.count == 2  # the first build's pages, then the template edit's
    assert forks.reaped()
    return reports, rendered, charters


def test_a_template_error_in_the_copys_share_is_reported_as_without_the_copy(
    forks: Forks, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The last charter's page is among the copy's share: the build's own are slow.
    slow_own_pages(monkeypatch)
    reports, rendered, charters = template_error_at(forks, tmp_path, monkeypatch, -1)
    # The copy stopped at it; the build rendered its own pages, then the copy's share in
    # order, up to that page, which failed again here.
    pages = [f"charters/{n}/index.html" for n in charters]
    assert sorted(rendered) == pages
    assert rendered[-1] == pages[-1]
    assert reports[0] == reports[1]
    error = "ZeroDivisionError: integer division or modulo by zero"
    assert reports[0] == [f"templates/charter.html:6:1: template error: {error}"]


def test_a_copy_killed_midway_leaves_its_share_to_the_build(
    forks: Forks, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_pid, render = os.getpid(), Templates.render
    pages_in_copy = [0]

    def dying(self: Templates, template: str, page: str, **context: object) -> bytes:
        if os.getpid() != build_pid and page.startswith("charters/"):
            pages_in_copy[0] += 1  # the copy's own count: the build's stays 0
            if pages_in_copy[0] == 2:  # after the first page of its share was kept
                os.kill(os.getpid(), signal.SIGKILL)  # as the out-of-memory killer would
        return render(self, template, page, **context)

    monkeypatch.setattr(Templates, "render", dying)
    slow_own_pages(monkeypatch, 0.3)  # the copy takes pages before the build is done
    forked = builds(tmp_path, "forked")
    assert forks.count == 2
    # Each build rendered every charter page itself, the copy's share after its own.
    assert len(forks.rendered) == 18
    forked_states, forks.states = forks.states, []
    monkeypatch.setattr(fork, "FORK_FROM", 10**9)
    assert forked == builds(tmp_path, "alone")
    # The entries the copy wrote before it was killed (those of the pages after the
    # charters' and of the outputs, which it makes first) are the build's as written,
    # not as found: one the build must discard (a source saved while it read) is known.
    for was_forked, alone in zip(forked_states, forks.states, strict=True):
        assert was_forked["written"] == alone["written"]


def test_no_copy_is_forked_beside_another_thread(forks: Forks, tmp_path: Path) -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        _, edited = builds(tmp_path, "threads")
    finally:
        stop.set()
        other.join()
    assert forks.count == 0
    assert b"<!-- edited -->" in edited["charters/search-ranking/index.html"]


def test_an_error_in_the_builds_own_half_stops_the_copy(
    forks: Forks, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The second charter's page is the build's own (the first is rendered before it
    # forks; the copy makes the pages after the charters' and the outputs first); the
    # copy is killed and waited for, not left rendering (template_error_at).
    reports, rendered, charters = template_error_at(forks, tmp_path, monkeypatch, 1)
    assert rendered == [f"charters/{n}/index.html" for n in charters[:2]]
    assert reports[0] == reports[1]
    assert len(reports[0]) == 1 and "ZeroDivisionError" in reports[0][0]


def test_a_copy_that_does_not_answer_in_time_leaves_its_share_to_the_build(
    forks: Forks, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_pid, render = os.getpid(), pages.CharterPage.render

    def stuck(self: Any, *args: Any) -> Any:
        if os.getpid() != build_pid:
            time.sleep(3600)  # the copy, waiting for a lock another thread held
        return render(self, *args)

    monkeypatch.setattr(fork, "COPY_WAIT", 0.5)
    monkeypatch.setattr(fork, "COPY_WAIT_TIMES", 1)
    monkeypatch.setattr(pages.CharterPage, "render", stuck)
    forked = builds(tmp_path, "forked")
    assert forks.count == 2
    assert forks.reaped()
    assert len(forks.rendered) == 9 + 9  # all of the first build's, then all of the edit's
    monkeypatch.setattr(fork, "FORK_FROM", 10**9)
    assert forked == builds(tmp_path, "alone")


def test_a_cache_stopped_in_the_builds_own_half_leaves_the_cache_as_one_process_would(
    forks: Forks, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_pid, install = os.getpid(), Cache._install
    failing = {"on": False, "pages": 0}

    def full(self: Cache, kind: str, key: str, suffix: str, make: Any) -> str | None:
        """The disk full at the build's second page of the template edit (its third entry
        of a page: each page is kept with its sum), after the copy was forked."""
        if failing["on"] and kind == "pages" and os.getpid() == build_pid:
            failing["pages"] += 1
            if failing["pages"] == 3:
                self.fail(OSError(errno.ENOSPC, "No space left on device"))
                return None
        return install(self, kind, key, suffix, make)

    monkeypatch.setattr(Cache, "_install", full)
    outcomes = []
    for name, from_ in (("forked", 2), ("alone", 10**9)):
        monkeypatch.setattr(fork, "FORK_FROM", from_)
        source = copy_examples(tmp_path / name)
        out = tmp_path / f"{name}-site"
        failing.update(on=False, pages=0)
        built(source, out)
        edit_template(source, "<!-- edited -->")
        failing["on"] = True
        forks.states = []
        result = built(source, out)
        cache = source / ".charters-cache"
        # (Jinja's compiled templates, named by their file's path, left out.)
        entries = sorted(
            rel
            for p in cache.rglob("*")
            if p.is_file() and not (rel := str(p.relative_to(cache))).startswith("templates/")
        )
        warnings = [d.format_text().replace(name, "NAME") for d in result.diagnostics]
        # (The state's paths are not made relative once the cache has stopped.)
        states = repr(forks.states).replace(str(tmp_path / name), "ROOT")
        outcomes.append((tree_files(out), entries, states, warnings))
    assert forks.count == 2
    assert forks.reaped()
    forked, alone = outcomes
    assert forked[1] == alone[1]  # the entries the copy wrote were removed
    assert forked == alone
    assert any("cannot write the cache folder" in w for w in alone[3]), alone[3]


def test_a_build_that_loads_every_charter_anew_renders_their_pages_in_two(
    forks: Forks, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An edit of metrics.yaml (or a generator upgrade) loads every charter anew and may
    leave every chart as it was: such a build starts no drawing worker before loading
    (charts.warm_up: its threads would keep the build from forking) and renders half its
    pages in a copy. A build with no chart to reuse starts every worker at once; an edit
    of one charter starts one."""
    import generator.build as build_stage
    import generator.charts as charts

    monkeypatch.setattr(build_stage, "WARM_FROM", 0)
    started: list[bool] = []
    monkeypatch.setattr(charts, "warm_up", lambda every=False: started.append(every))
    source = copy_examples(tmp_path / "anew")
    out = tmp_path / "anew-site"
    built(source, out)
    # Nine charters anew (FORK_FROM two) and nothing drawn to reuse: every worker at once.
    assert started == [True]
    started.clear()
    catalogue = source / "metrics.yaml"
    catalogue.write_text(catalogue.read_text("utf-8") + "# edited\n", "utf-8")
    forks.count = 0
    result = built(source, out)
    assert (result.charts_drawn, started, forks.count) == (0, [], 1)
    cold = tmp_path / "cold-site"
    assert build(Settings(source, cold, cache_dir=tmp_path / "cold-cache")).ok
    assert tree_files(out) == tree_files(cold)
    assert started == [True]  # an empty cache folder: nothing drawn to reuse
    started.clear()
    charter = source / "charters/search-ranking/charter.yaml"
    text = charter.read_text("utf-8")
    charter.write_text(text.replace("summary: ", "summary: Edited. ", 1), "utf-8")
    built(source, out)
    assert started == [False]  # one worker, for the edit's charts


def test_the_threads_are_made_way_for_only_where_a_copy_can_be_forked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`make_way` (a build stopping its drawing workers) runs for a long run of items on a
    machine that forks, never for a short run, nor where no copy would be forked."""
    calls: list[int] = []
    items = list(range(fork.FORK_FROM))
    done, _ = fork.in_two(items[:-1], lambda i: i * 2, {}, make_way=lambda: calls.append(1))
    assert done == [i * 2 for i in items[:-1]] and calls == []
    monkeypatch.setattr(fork.sys, "platform", "darwin")
    done, _ = fork.in_two(items, lambda i: i * 2, {}, make_way=lambda: calls.append(1))
    assert done == [i * 2 for i in items] and calls == []
    monkeypatch.setattr(fork.sys, "platform", "linux")
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)  # no copy: the items are made here
    other.start()
    try:
        done, _ = fork.in_two(items, lambda i: i * 2, {}, make_way=lambda: calls.append(1))
    finally:
        stop.set()
        other.join()
    assert done == [i * 2 for i in items] and calls == [1]
