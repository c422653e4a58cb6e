"""write._folders_of: the folders above a site's files, as the union of each file's
ancestors (the write stage keeps them and removes every other folder of the standby)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from generator.write import _ancestors, _folders_of

names = st.lists(
    st.lists(st.sampled_from(["a", "b", "charters", "x.html", "é"]), min_size=1, max_size=5).map(
        "/".join
    ),
    max_size=30,
)


@given(names)
def test_the_folders_of_a_site_are_every_files_ancestors(files: list[str]) -> None:
    assert _folders_of(files) == {folder for rel in files for folder in _ancestors(rel)}


def test_a_file_at_the_top_has_no_folder_and_a_deep_one_has_each_above_it() -> None:
    assert _folders_of(["index.html"]) == set()
    assert _folders_of(["charters/a/index.html", "charters/b/c/d.svg"]) == {
        "charters",
        "charters/a",
        "charters/b",
        "charters/b/c",
    }
