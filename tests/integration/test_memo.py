"""Results of pure functions kept from one build for the next (generator/memo.py): a build
after a summary edit converts only the new Markdown and does not import scipy,
and its site is byte for byte that of a cold build."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO_ROOT

from generator.cache import digest, generator_fingerprint, summed, unsummed

from .test_build import tree_files

EPOCH = "1797292800"  # 2026-12-15


@pytest.fixture
def examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    root = tmp_path / "src"
    shutil.copytree(REPO_ROOT / "charters", root / "charters")
    for name in ("site.yaml", "metrics.yaml"):
        if (REPO_ROOT / name).is_file():
            shutil.copy(REPO_ROOT / name, root / name)
    return root


def build_in_child(
    root: Path, out: Path, cache: Path, converted: list[int] | None = None
) -> list[str]:
    """Build in a fresh interpreter; the heavy modules the build imported (and, appended to
    `converted`, how many Markdown texts it converted)."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from generator.build import Settings, build\n"
        f"result = build(Settings(Path({str(root)!r}), Path({str(out)!r}),"
        f" cache_dir=Path({str(cache)!r})))\n"
        "assert result.ok and not result.unchanged, [d.format_text() for d in result.diagnostics]\n"
        "pages = sys.modules.get('generator.markup')\n"
        "misses = pages._sanitised_html.cache_info().misses if pages else 0\n"
        "print(sorted(m for m in ('scipy', 'markdown') if m in sys.modules), misses)\n"
    )
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    modules, misses = eval(done.stdout.strip().replace("] ", "], "))  # printed above
    if converted is not None:
        converted.append(misses)
    return list(modules)


def site_pages(out: Path) -> dict[str, bytes]:
    """The site's files but its manifest, which names the input's fingerprint."""
    return {k: v for k, v in tree_files(out).items() if k != ".charters-site.json"}


def memo_entry(cache: Path, *scope: str) -> dict[object, object]:
    return memo_with_idle(cache, *scope)[0]


def memo_with_idle(cache: Path, *scope: str) -> tuple[dict[object, object], dict[object, int]]:
    key = digest("charters-memo-2", generator_fingerprint(), *(scope or ("site",)))
    raw = unsummed((cache / "memo" / key[:2] / f"{key}.pickle").read_bytes())
    assert raw is not None  # whole: its size and CRC-32 match
    form, table, idle = pickle.loads(raw)
    assert form == "charters-memo-2"
    assert isinstance(table, dict) and isinstance(idle, dict)
    return table, idle


def test_a_summary_edit_imports_no_scipy_and_converts_only_the_new_text(
    examples: Path, tmp_path: Path
) -> None:
    out, cache = tmp_path / "site", tmp_path / "cache"
    first = build_in_child(examples, out, cache)
    assert first == ["markdown", "scipy"]  # a cold build converts and computes
    routing = "charters/support-ticket-routing"
    kept = memo_entry(cache, "charter", routing, "analysis")
    assert any(k[0] == "t.ppf" for k in kept if isinstance(k, tuple))
    assert any(k[0] == "markdown" for k in memo_entry(cache) if isinstance(k, tuple))
    charter = examples / routing / "charter.yaml"
    text = charter.read_text(encoding="utf-8")
    summary = next(line for line in text.splitlines() if line.startswith("summary:"))

    # The edited summary is new Markdown; everything else was kept by the first build.
    charter.write_text(text.replace(summary, "summary: Route each ticket to its queue."))
    second = build_in_child(examples, out, cache)
    assert "scipy" not in second  # the edited charter's lifts: the same t quantiles
    after, idle = memo_with_idle(cache)
    assert ("markdown", "Route each ticket to its queue.") in after
    # The other pages were taken from the cache: their texts are kept, idle for one build
    # (and so is the old summary, until KEEP_IDLE builds have passed it by).
    old = ("markdown", summary.removeprefix("summary: "))
    assert idle[old] == 1 and ("markdown", "Route each ticket to its queue.") not in idle

    cold_out, cold_cache = tmp_path / "cold", tmp_path / "cold-cache"
    build_in_child(examples, cold_out, cold_cache)
    assert tree_files(out) == tree_files(cold_out)
    assert "Route each ticket to its queue." in tree_files(out)["index.html"].decode()


def summary_edit(examples: Path, charter_id: str, words: str) -> None:
    charter = examples / "charters" / charter_id / "charter.yaml"
    text = charter.read_text(encoding="utf-8")
    summary = next(line for line in text.splitlines() if line.startswith("summary:"))
    charter.write_text(text.replace(summary, f"summary: {words}"), encoding="utf-8")


def test_summary_edits_of_two_charters_in_turn_import_no_scipy(
    examples: Path, tmp_path: Path
) -> None:
    """Each point of a chart with `n` and `std` has an interval from Student's t: the
    charter's charts keep the values they used in their own memo, so a summary edit of
    one charter after another's needs none of them computed again."""
    out, cache = tmp_path / "site", tmp_path / "cache"
    build_in_child(examples, out, cache)
    agent = "charters/agent-reply-suggestions"
    assert any(k[0] == "t.ppf" for k in memo_entry(cache, "charter", agent, "charts"))
    summary_edit(examples, "support-ticket-routing", "Route each ticket to its queue.")
    assert "scipy" not in build_in_child(examples, out, cache)
    summary_edit(examples, "agent-reply-suggestions", "Suggest a reply.")
    assert "scipy" not in build_in_child(examples, out, cache)

    cold_out, cold_cache = tmp_path / "cold", tmp_path / "cold-cache"
    build_in_child(examples, cold_out, cold_cache)
    assert tree_files(out) == tree_files(cold_out)


def test_a_template_edit_after_a_summary_edit_converts_no_markdown(
    examples: Path, tmp_path: Path
) -> None:
    # The summary edit's build used one charter's texts; the others stay in the site's
    # memo, so the template edit that renders every page again converts none of them.
    out, cache = tmp_path / "site", tmp_path / "cache"
    converted: list[int] = []
    build_in_child(examples, out, cache, converted)
    summary_edit(examples, "support-ticket-routing", "Route each ticket to its queue.")
    build_in_child(examples, out, cache, converted)
    (examples / "templates").mkdir()
    charter_html = REPO_ROOT / "templates" / "charter.html"
    marker = "{% block content %}"
    edited = charter_html.read_text(encoding="utf-8").replace(marker, marker + "<!-- edited -->")
    (examples / "templates" / "charter.html").write_text(edited, encoding="utf-8")
    assert "scipy" not in build_in_child(examples, out, cache, converted)
    assert converted[0] > 50 and converted[1:] == [1, 0]  # the new summary, then none
    idle = memo_with_idle(cache)[1]
    markdown = {k: n for k, n in idle.items() if isinstance(k, tuple) and k[0] == "markdown"}
    assert list(markdown.values()) == [2]  # the old summary, unused since the edit
    page = out / "charters" / "support-ticket-routing" / "index.html"
    assert "<!-- edited -->" in page.read_text(encoding="utf-8")


def test_a_foreign_or_damaged_memo_is_computed_again(examples: Path, tmp_path: Path) -> None:
    out, cache = tmp_path / "site", tmp_path / "cache"
    build_in_child(examples, out, cache)
    expected = tree_files(out)
    charter = examples / "charters" / "support-ticket-routing" / "charter.yaml"
    charter.write_text(charter.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    edited = build_in_child(examples, out, cache)
    assert "scipy" not in edited
    expected = site_pages(out)
    entries = sorted((cache / "memo").rglob("*.pickle"))
    assert len(entries) > 1  # the site's and one per charter
    foreign = (pickle.dumps(("someone else", {})), pickle.dumps(("charters-memo-2",)))
    for damaged in (b"", *(summed(body) for body in foreign), pickle.dumps({})):
        for entry in entries:
            entry.write_bytes(damaged)
        charter.write_text(charter.read_text(encoding="utf-8") + "# again\n", encoding="utf-8")
        assert "scipy" in build_in_child(examples, out, cache)  # computed again
        assert site_pages(out) == expected  # a YAML comment changes no page
        assert memo_entry(cache)  # written again, whole
        assert memo_entry(cache, "charter", "charters/support-ticket-routing", "analysis")
