"""The spool: files taken unread from the current site, and how they are put in place."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from generator.spool import COMPARED, Spool, Spooled, place
from generator.write import write_site


def test_an_unchanged_site_file_is_borrowed_and_linked_into_place(tmp_path: Path) -> None:
    site, spool_dir, new = tmp_path / "site", tmp_path / "spool", tmp_path / "new"
    site.mkdir()
    new.mkdir()
    (site / "page.html").write_bytes(b"<p>same</p>")
    content = Spool(spool_dir, site=site).write([b"<p>sa", b"me</p>"], "page.html")
    assert isinstance(content, Spooled) and content.borrowed
    assert content.path == f"{site}{os.sep}page.html" and content.size == 11
    assert not spool_dir.exists()  # nothing was written or linked into the spool
    place(content, new / "page.html")
    assert os.path.samestat(os.stat(site / "page.html"), os.stat(new / "page.html"))


def test_a_link_in_the_site_is_never_borrowed(tmp_path: Path) -> None:
    # A symbolic link of the user's in the site, to a file with the very bytes the build
    # makes, must not be published as that link: the new site gets a plain file.
    site, outside, new = tmp_path / "site", tmp_path / "outside.html", tmp_path / "new"
    site.mkdir()
    new.mkdir()
    outside.write_bytes(b"<p>same</p>")
    (site / "page.html").symlink_to(outside)
    content = Spool(tmp_path / "spool", site=site).write([b"<p>same</p>"], "page.html")
    assert isinstance(content, Spooled) and not content.borrowed
    place(content, new / "page.html")
    assert not (new / "page.html").is_symlink()
    assert (new / "page.html").read_bytes() == b"<p>same</p>"


def test_placing_a_borrowed_file_where_the_same_file_already_is_is_done(tmp_path: Path) -> None:
    # On a file system that folds names (case, say) two site paths can be one file: the
    # second link finds the first, which is the same file, and nothing is to be done.
    lent, target = tmp_path / "a.csv", tmp_path / "b.csv"
    lent.write_bytes(b"x,y\n")
    os.link(lent, target)
    place(Spooled(str(lent), 4, borrowed=True), target)
    assert target.read_bytes() == b"x,y\n"
    other = tmp_path / "c.csv"
    other.write_bytes(b"other\n")
    with pytest.raises(FileExistsError):  # another file there is never overwritten
        place(Spooled(str(lent), 4, borrowed=True), other)
    assert other.read_bytes() == b"other\n"


def test_a_page_of_another_size_than_the_site_file_is_written_without_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # After a template edit every page is rendered again; a page given whole whose size
    # differs from the current site's file cannot be the same, so that file is not read.
    site = tmp_path / "site"
    site.mkdir()
    (site / "page.html").write_bytes(b"<p>old page</p>")
    compared: list[str] = []
    write_unless_same = Spool._write_unless_same

    def noting(self: Spool, chunks: object, path: str, old: object) -> object:
        compared.append(path)
        return write_unless_same(self, chunks, path, old)  # type: ignore[arg-type]

    monkeypatch.setattr(Spool, "_write_unless_same", noting)
    spool = Spool(tmp_path / "spool", site=site)
    longer = spool.write([b"<p>a new, longer page</p>"], "page.html")
    assert isinstance(longer, Spooled) and not longer.borrowed and compared == []
    assert Path(longer.path).read_bytes() == b"<p>a new, longer page</p>"
    same_size = spool.write([b"<p>new page</p>"], "page.html")
    assert len(compared) == 1  # the same size: compared, and it differs
    assert isinstance(same_size, Spooled) and not same_size.borrowed
    assert Path(same_size.path).read_bytes() == b"<p>new page</p>"
    streamed = spool.write(iter([b"<p>streamed, longer</p>"]), "page.html")
    assert len(compared) == 2  # chunks of unknown length: compared as they come
    assert isinstance(streamed, Spooled) and Path(streamed.path).read_bytes().startswith(b"<p>str")


@pytest.mark.parametrize("at", [0, COMPARED - 1, COMPARED, 3 * COMPARED + 5])
def test_a_page_that_differs_is_written_whole_and_not_compared_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, at: int
) -> None:
    # A page is compared with the current site's file a piece at a time: the bytes before
    # the first difference (in any piece) are copied from the old file, the rest written,
    # and the write stage takes the page as changed without reading both files again.
    site = tmp_path / "site"
    old = bytes(range(256)) * (4 * COMPARED // 256)
    write_site(site, {"page.html": old}, {"input": "before"})
    new = old[:at] + b"!" + old[at + 1 :]
    content = Spool(tmp_path / "spool", site=site).write([new], "page.html")
    assert isinstance(content, Spooled) and content.changed and not content.borrowed
    assert Path(content.path).read_bytes() == new
    assert (site / "page.html").read_bytes() == old  # the current site is never written

    def no_compare(*args: object) -> bool:
        raise AssertionError("compared again")

    monkeypatch.setattr("generator.write.same_bytes", no_compare)
    write_site(site, {"page.html": content}, {"input": "after"})
    assert (site / "page.html").read_bytes() == new


def test_an_unchanged_page_over_many_pieces_is_borrowed(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    page = b"<tr><td>1</td></tr>" * (3 * COMPARED // 19)
    (site / "page.html").write_bytes(page)
    content = Spool(tmp_path / "spool", site=site).write([page], "page.html")
    assert isinstance(content, Spooled) and content.borrowed and not content.changed
    longer = Spool(tmp_path / "spool2", site=site).write(iter([page, b"<p>"]), "page.html")
    assert isinstance(longer, Spooled) and longer.changed
    assert Path(longer.path).read_bytes() == page + b"<p>"


def test_linking_an_entry_removed_meanwhile_is_a_miss(tmp_path: Path) -> None:
    # Another process may remove a cache entry between the build's look and the link.
    entry = tmp_path / "entry.svg"
    for spool in (Spool(tmp_path / "spool"), Spool(None)):
        assert spool.link(entry) is None
    assert list((tmp_path / "spool").iterdir()) == []  # no partial file left
    entry.write_bytes(b"<svg/>")
    linked = Spool(tmp_path / "spool").link(entry)
    assert isinstance(linked, Spooled) and Path(linked.path).read_bytes() == b"<svg/>"


def test_a_spool_that_cannot_be_written_is_still_an_error(tmp_path: Path) -> None:
    entry, blocked = tmp_path / "entry.svg", tmp_path / "blocked"
    entry.write_bytes(b"<svg/>")
    blocked.write_bytes(b"a file where the spool folder would be")
    with pytest.raises(OSError):
        Spool(blocked / "spool").link(entry)
