"""`readers.inside`: the one check that a file or folder the generator reads stays in the
tree, links followed; a name it cannot resolve is outside, never an error."""

from __future__ import annotations

from pathlib import Path

from generator.readers import inside


def test_inside_follows_links_and_refuses_what_it_cannot_resolve(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "a").mkdir(parents=True)
    outside.mkdir()
    (root / "a" / "f.csv").write_text("x")
    (root / "out").symlink_to(outside)
    (root / "loop").symlink_to(root / "loop")
    assert inside(root, root / "a" / "f.csv")
    assert not inside(root, root / "out" / "f.csv")  # a link out of the tree
    assert not inside(root, root / "loop" / "f.csv")  # a link loop
    assert not inside(root, root / "a" / "f\0.csv")  # a NUL: no such file anywhere
