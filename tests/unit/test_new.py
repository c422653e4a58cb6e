"""`charters new`: a starter charter that validates, and nothing overwritten."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import main
from generator.load import load_project
from generator.scaffold import SCHEMA_FILE, SCHEMA_LINE
from generator.schemas import schema_text


def new(source: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["new", *args, "--source", str(source)])
    return result.exit_code, result.stdout, result.stderr


def test_new_writes_a_valid_proposed_charter(tmp_path: Path) -> None:
    code, out, _ = new(tmp_path, "pricing-model")
    assert code == 0
    folder = tmp_path / "charters" / "pricing-model"
    text = (folder / "charter.yaml").read_text(encoding="utf-8")
    assert text.splitlines()[0] == SCHEMA_LINE
    assert "TODO" in text
    assert (folder / "results").is_dir()
    assert (folder / "results" / ".gitkeep").is_file()
    assert (tmp_path / SCHEMA_FILE).read_text(encoding="utf-8") == schema_text("charter")
    assert "charter.yaml" in out

    project, diags = load_project(tmp_path)
    assert [d.format_text() for d in diags] == []
    (charter,) = project.charters
    assert charter.id == "pricing-model"
    assert charter.charter.status == "proposed"
    assert charter.charter.title == "Pricing model"
    assert charter.results == []


def test_every_section_of_the_format_is_in_the_starter(tmp_path: Path) -> None:
    new(tmp_path, "x1")
    text = (tmp_path / "charters" / "x1" / "charter.yaml").read_text(encoding="utf-8")
    for key in (
        "title:",
        "summary:",
        "status:",
        "owner:",
        "objective:",
        "business_metrics:",
        "ml_metrics:",
        "measurement:",
        "guardrails:",
        "decision_rule:",
        "human_baseline:",
        "results:",
        "decisions:",
        "agreed:",
    ):
        assert key in text, key


def test_new_refuses_to_overwrite(tmp_path: Path) -> None:
    assert new(tmp_path, "routing")[0] == 0
    target = tmp_path / "charters" / "routing" / "charter.yaml"
    target.write_text("edited\n", encoding="utf-8")
    code, _, err = new(tmp_path, "routing")
    assert code == 1
    assert "already exists" in err
    assert target.read_text(encoding="utf-8") == "edited\n"


def test_an_existing_empty_folder_is_not_reused(tmp_path: Path) -> None:
    (tmp_path / "charters" / "routing").mkdir(parents=True)
    assert new(tmp_path, "routing")[0] == 1
    assert not (tmp_path / "charters" / "routing" / "charter.yaml").exists()


def test_a_charters_folder_no_build_reads_is_not_written_to(tmp_path: Path) -> None:
    # `new` wrote through a charters/ link to a folder outside the source, where `check`
    # and `build` then refused to read it; and a file named charters is no folder.
    source, elsewhere = tmp_path / "source", tmp_path / "elsewhere"
    source.mkdir()
    elsewhere.mkdir()
    (source / "charters").symlink_to(elsewhere)
    code, _, err = new(source, "routing")
    assert (code, err) == (
        1,
        "error: charters/ is a symbolic link that leaves the source folder; it is not read;"
        " nothing was written\n",
    )
    assert list(elsewhere.iterdir()) == [] and not (source / SCHEMA_FILE).exists()
    (source / "charters").unlink()
    (source / "charters").write_text("", encoding="utf-8")
    code, _, err = new(source, "routing")
    assert code == 1 and err.startswith("error: charters is a file, not a folder")


def test_an_existing_schema_file_is_kept(tmp_path: Path) -> None:
    (tmp_path / SCHEMA_FILE).write_text("{}\n", encoding="utf-8")
    code, out, _ = new(tmp_path, "routing")
    assert code == 0
    assert (tmp_path / SCHEMA_FILE).read_text(encoding="utf-8") == "{}\n"
    assert SCHEMA_FILE not in out


def test_an_invalid_id_is_a_usage_error_that_shows_the_pattern(tmp_path: Path) -> None:
    for bad in ("Routing", "-routing", "routing_v2", "a" * 64, "routing\n"):
        result = CliRunner().invoke(main, ["new", "--source", str(tmp_path), "--", bad])
        assert result.exit_code == 2, bad
        assert "^[a-z0-9][a-z0-9-]{0,62}$" in result.output
    assert not (tmp_path / "charters").exists()


def test_new_refuses_an_id_that_is_another_charters_former_id(tmp_path: Path) -> None:
    """`new search-reranker` beside a charter that lists it in `aliases` was written, and
    the tree then failed `check` (an alias may not be a charter's id)."""
    assert new(tmp_path, "search-ranking")[0] == 0
    charter = tmp_path / "charters" / "search-ranking" / "charter.yaml"
    charter.write_text(
        charter.read_text(encoding="utf-8") + "aliases: [search-reranker]\n", encoding="utf-8"
    )
    code, _, err = new(tmp_path, "search-reranker")
    assert code == 1
    assert (
        "'search-reranker' is a former id of charter 'search-ranking' (in its aliases: its old"
        " address redirects there); choose another id, nothing was written"
    ) in err
    assert not (tmp_path / "charters" / "search-reranker").exists()


def test_the_next_command_names_the_source_it_was_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Run from another folder, "then run `charters check`" failed there: no charters/.
    source = tmp_path / "with space"
    source.mkdir()
    _, out, _ = new(source, "x1")
    assert out.splitlines()[-1] == (
        f"Fill in the TODOs, then run `charters check --source '{source}'`."
    )
    monkeypatch.chdir(source)
    result = CliRunner().invoke(main, ["new", "x2"], catch_exceptions=False)
    assert (source / "charters" / "x2" / "charter.yaml").is_file()
    assert result.stdout.splitlines()[-1] == "Fill in the TODOs, then run `charters check`."
