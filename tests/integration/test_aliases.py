"""Renamed charters: `aliases` write a redirect page at each old address, and every
alias that would give one address two pages is an error located at the alias."""

from __future__ import annotations

import re

from helpers import ScratchProject, at, parse_html, run_cli

from generator.load import load_project


def test_each_alias_gets_a_redirect_page_that_works_without_javascript(
    scratch_project: ScratchProject,
) -> None:
    scratch_project.charter("ticket-routing", aliases=["routing-v1", "support-routing"])
    scratch_project.charter("other", title="Other <project>")
    result = scratch_project.build()
    assert result.ok, result
    site = scratch_project.out
    for old in ("routing-v1", "support-routing"):
        path = site / "charters" / old / "index.html"
        doc = parse_html(path)
        refresh = doc.find("meta", **{"http-equiv": "refresh"})
        assert refresh.attrs["content"] == "0; url=../ticket-routing/index.html"
        # Without a base_url the canonical link is relative, resolved like the refresh.
        assert doc.find("link", rel="canonical").attrs["href"] == "../ticket-routing/index.html"
        link = doc.find("a")
        assert link.attrs["href"] == "../ticket-routing/index.html"
        assert link.text() == "Ticket routing"
        assert "<script" not in path.read_text(encoding="utf-8")
        # The target exists where the link points.
        assert (path.parent / link.attrs["href"]).resolve().is_file()
    # Only aliases get a page: the other charter has no redirect, and the API does not
    # list old ids as charters.
    pages = sorted(p.parent.name for p in (site / "charters").glob("*/index.html"))
    assert pages == ["other", "routing-v1", "support-routing", "ticket-routing"]
    api = (site / "api/charters.json").read_text(encoding="utf-8")
    assert "routing-v1" not in api and "support-routing" not in api


def test_a_full_base_url_makes_the_canonical_link_absolute(
    scratch_project: ScratchProject,
) -> None:
    scratch_project.write("site.yaml", "title: T\nbase_url: https://ml.example.com/charters/\n")
    scratch_project.charter("ticket-routing", aliases=["routing-v1"])
    assert scratch_project.build().ok
    doc = parse_html(scratch_project.out / "charters/routing-v1/index.html")
    canonical = doc.find("link", rel="canonical").attrs["href"]
    assert canonical == "https://ml.example.com/charters/charters/ticket-routing/"
    # Redirects are not pages of their own: the sitemap does not list them.
    sitemap = (scratch_project.out / "sitemap.xml").read_text(encoding="utf-8")
    assert "routing-v1" not in sitemap and "charters/ticket-routing/" in sitemap


def test_a_title_with_markup_is_escaped_on_the_redirect_page(
    scratch_project: ScratchProject,
) -> None:
    scratch_project.charter("new-id", title="'\"><script>alert(1)</script>'", aliases=["old-id"])
    assert scratch_project.build().ok
    text = (scratch_project.out / "charters/old-id/index.html").read_text(encoding="utf-8")
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_an_alias_that_is_another_charters_id_is_located_at_the_alias(
    scratch_project: ScratchProject,
) -> None:
    scratch_project.charter("churn")
    text = scratch_project.charter("routing", aliases=["routing-v1", "churn"])
    errors = scratch_project.errors()
    assert errors == [
        f"charters/routing/charter.yaml:{at(text, '- ', 'churn')}: aliases[1]: alias 'churn'"
        " is the id of a charter (charters/churn/): an alias is a former id that no charter"
        " uses any more; remove it or rename that charter"
    ]


def test_an_alias_that_is_the_charters_own_id_is_an_error(
    scratch_project: ScratchProject,
) -> None:
    text = scratch_project.charter("routing", aliases=["routing"])
    (error,) = scratch_project.errors()
    assert error.startswith(f"charters/routing/charter.yaml:{at(text, '- ', 'routing')}:")
    assert "aliases[0]: alias 'routing' is this charter's own id" in error


def test_an_alias_of_two_charters_is_located_at_the_second(
    scratch_project: ScratchProject,
) -> None:
    scratch_project.charter("alpha", aliases=["old-routing"])
    text = scratch_project.charter("beta", aliases=["old-routing"])
    (error,) = scratch_project.errors()
    assert error == (
        f"charters/beta/charter.yaml:{at(text, '- ', 'old-routing')}: aliases[0]: alias"
        " 'old-routing' is already an alias of charter 'alpha': one old address can"
        " redirect to one charter only"
    )


def test_an_alias_repeated_in_one_charter_is_an_error(scratch_project: ScratchProject) -> None:
    scratch_project.charter("routing", aliases=["old-a", "old-a"])
    (error,) = scratch_project.errors()
    assert "aliases[1]: alias 'old-a' is already an alias of this charter" in error


def test_an_alias_that_is_not_a_valid_id_is_located_with_the_rule(
    scratch_project: ScratchProject,
) -> None:
    text = scratch_project.charter("routing", aliases=["ok-alias", "Old_Routing", "../etc"])
    errors = scratch_project.errors()
    assert errors == [
        f"charters/routing/charter.yaml:{at(text, '- ', 'Old_Routing')}: aliases[1]:"
        " 'Old_Routing' is not a valid charter id: use lowercase letters, digits and '-',"
        " starting with a letter or digit, at most 63 characters",
        f"charters/routing/charter.yaml:{at(text, '- ', '../etc')}: aliases[2]:"
        " '../etc' is not a valid charter id: use lowercase letters, digits and '-',"
        " starting with a letter or digit, at most 63 characters",
    ]


def test_a_bad_alias_fails_the_build_and_keeps_the_previous_site(
    scratch_project: ScratchProject,
) -> None:
    scratch_project.charter("churn")
    scratch_project.charter("routing")
    assert scratch_project.build().ok
    before = (scratch_project.out / "index.html").read_bytes()
    scratch_project.charter("routing", aliases=["churn"])
    result = run_cli("build", "--source", scratch_project.root, "--out", scratch_project.out)
    assert result.exit_code == 1
    assert re.search(r"charters/routing/charter\.yaml:\d+:\d+: aliases\[0\]", result.output)
    assert "Traceback" not in result.output
    assert (scratch_project.out / "index.html").read_bytes() == before
    assert (
        not (scratch_project.out / "charters/churn/index.html")
        .read_text(encoding="utf-8")
        .count("http-equiv")
    )


def test_valid_aliases_load_without_a_diagnostic(scratch_project: ScratchProject) -> None:
    scratch_project.charter("routing", aliases=["routing-v1"])
    scratch_project.charter("churn", aliases=["churn-v1"])
    project, diags = load_project(scratch_project.root)
    assert diags.sorted() == []
    assert [c.charter.aliases for c in project.charters] == [["churn-v1"], ["routing-v1"]]
