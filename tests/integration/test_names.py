"""A team or a tag written two ways across charters is a located error, not two teams.

The Teams page listed `Growth Analytics` and `growth analytics` as two teams with two
pages, and a zero-width space made two that looked the same; the portfolio's tag
filter offered `NLP` and `nlp`. The charter that strays from the spelling most
charters use is told which one they use, and how its own differs.
"""

from __future__ import annotations

import unicodedata

import pytest
from helpers import ScratchProject, at, minimal_charter, run_cli

from generator.names import how_it_differs, looks


def _three(scratch_project: ScratchProject, odd: str, **odd_overrides: object) -> str:
    """Charters `a` and `b` of team Growth Analytics, tagged nlp; `c` as given."""
    for cid in ("a", "b"):
        scratch_project.charter(cid, team="Growth Analytics", tags=["nlp", "churn"])
    return scratch_project.charter("c", text=minimal_charter(team=odd, **odd_overrides))


@pytest.mark.parametrize(
    ("odd", "written", "why"),
    [
        ("growth analytics", "growth analytics", "its case differs"),
        ("'Growth  Analytics'", "Growth  Analytics", "its spaces differ"),
        ("'growth  analytics '", "growth  analytics ", "its case and spaces differ"),
        ('"Growth Analytics\\u200b"', "Growth Analytics\u200b", "U+200B"),
        ('"Growth\\u00a0Analytics"', "Growth\xa0Analytics", "U+00A0"),
        ("Ｇrowth Analytics", "Ｇrowth Analytics", "compatibility characters"),
        ('"Growth Analytics\\u3164"', "Growth Analytics\u3164", "U+3164"),
        ('"Growth Analytics\\ufe0f"', "Growth Analytics\ufe0f", "U+FE0F"),
    ],
    ids=[
        *("case", "spaces", "case-and-spaces", "zero-width-space", "no-break-space"),
        *("fullwidth", "hangul-filler", "variation-selector"),
    ],
)
def test_a_team_written_otherwise_than_by_most_charters_is_an_error_at_it(
    scratch_project: ScratchProject, odd: str, written: str, why: str
) -> None:
    text = _three(scratch_project, odd)
    assert scratch_project.errors() == [
        f"charters/c/charter.yaml:{at(text, 'team: ', odd[0])}: team:"
        f" team {written!r} looks like 'Growth Analytics', the team of 2 charters (first: 'a'),"
        f" but {how_it_differs(written, 'Growth Analytics')}; write it one way (a team"
        " written two ways is listed as two)"
    ]
    assert why in how_it_differs(written, "Growth Analytics")


def test_an_accent_written_apart_is_told_as_such_not_as_compatibility_characters() -> None:
    composed = "Équipe données"
    apart = unicodedata.normalize("NFD", composed)
    assert looks(apart) == looks(composed)
    why = "one of them writes an accent as a separate character (NFD), the other not"
    assert how_it_differs(apart, composed) == why
    assert how_it_differs(composed, apart) == why
    assert how_it_differs(unicodedata.normalize("NFD", "Équipe café"), "équipe café") == why


def test_a_tag_written_two_ways_is_an_error_at_that_tag(scratch_project: ScratchProject) -> None:
    text = _three(scratch_project, "Growth Analytics", tags=["churn", "NLP"])
    (error,) = scratch_project.errors()
    assert error.startswith(
        f"charters/c/charter.yaml:{at(text, '- ', 'NLP')}:"
        " tags[1]: tag 'NLP' looks like 'nlp', the tag of 2 charters (first: 'a'), but its case"
        " differs;"
    ), error


def test_a_tie_goes_to_the_first_charter_and_the_build_refuses(
    scratch_project: ScratchProject,
) -> None:
    scratch_project.charter("a", team="Search")
    text = scratch_project.charter("b", team="search")
    (error,) = scratch_project.errors()
    assert error.startswith(f"charters/b/charter.yaml:{at(text, 'team: ', 'search')}:")
    assert "the team of charter 'a'" in error
    result = run_cli("build", "--source", scratch_project.root, "--out", scratch_project.out)
    assert result.exit_code == 1
    assert "team 'search' looks like 'Search'" in result.output
    assert not scratch_project.out.exists()


def test_names_written_one_way_or_genuinely_different_are_fine(
    scratch_project: ScratchProject,
) -> None:
    """Different names stay different teams; a name whose spelling needs an invisible
    character (Persian's zero-width non-joiner) is fine when every charter writes it so."""
    persian = "\u062a\u06cc\u0645\u200c\u0647\u0627"
    scratch_project.charter("a", team="Growth", tags=["nlp"])
    scratch_project.charter("b", team="Growth Analytics", tags=["nlp-ops"])
    scratch_project.charter("c", team=persian, tags=[persian])
    scratch_project.charter("d", team=persian, tags=[persian, "nlp"])
    assert scratch_project.errors() == []
    assert scratch_project.build().ok
    teams = sorted(p.name for p in (scratch_project.out / "teams").iterdir() if p.is_dir())
    assert len(teams) == 3


def test_looks_folds_what_a_reader_cannot_tell_apart() -> None:
    assert looks("Growth\u200b  ANALYTICS ") == looks("growth analytics")
    assert looks("ﬁnance") == looks("finance")  # a ligature
    assert looks("Growth") != looks("Growth Analytics")


@pytest.mark.parametrize(
    ("odd", "word", "scripts"),
    [
        ("Gr\u043ewth Analytics", "Gr\u043ewth", "Cyrillic and Latin"),  # a Cyrillic 'о'
        ("Growth Analytic\u03bd", "Analytic\u03bd", "Greek and Latin"),  # a Greek 'ν'
        # Invisible characters around the look-alike letter do not make it a word.
        ("Gr\u200d\u043e\u200dwth Analytics", "Gr\u043ewth", "Cyrillic and Latin"),
        ("Growt\u04ba Analytics", "Growt\u04ba", "Cyrillic and Latin"),  # a capital 'Һ'
    ],
    ids=["cyrillic-o", "greek-nu", "zero-width-joiners", "cyrillic-capital-shha"],
)
def test_a_team_with_a_look_alike_letter_is_an_error_at_it(
    scratch_project: ScratchProject, odd: str, word: str, scripts: str
) -> None:
    # `Grоwth Analytics` with a Cyrillic 'о' folds to no other spelling, so it was listed
    # as a second team of the same name, with its own page and its own count.
    text = _three(scratch_project, odd)
    assert scratch_project.errors() == [
        f"charters/c/charter.yaml:{at(text, 'team: ', odd[0])}: team: team {odd!r} mixes"
        f" {scripts} letters in the word {word!r}; write each word in one alphabet (a"
        " look-alike letter, such as a Cyrillic 'о' in 'Growth', makes a team that reads as"
        " another and is listed apart)"
    ]
    result = run_cli("build", "--source", scratch_project.root, "--out", scratch_project.out)
    assert result.exit_code == 1
    assert not scratch_project.out.exists()


def test_a_tag_with_a_look_alike_letter_is_an_error_at_that_tag(
    scratch_project: ScratchProject,
) -> None:
    text = _three(scratch_project, "Growth Analytics", tags=["churn", "n\u04cfp"])  # 'ӏ'
    (error,) = scratch_project.errors()
    assert error.startswith(
        f"charters/c/charter.yaml:{at(text, '- ', 'n')}: tags[1]: tag 'n\u04cfp' mixes Cyrillic"
        " and Latin letters in the word 'n\u04cfp';"
    ), error


@pytest.mark.parametrize(
    "name",
    [
        *("ML Команда", "ML-Команда", "AIチーム", "Hawaiʻi Ops", "データ分析", "Ａnalytics"),
        *("佐々木AIラボ", "ฝ่ายIT", "µLab", "Ελληνική Ομάδα", "ΔNPS", "βVAE", "❤️ Ops"),
    ],
    ids=[
        *("words-apart", "hyphenated", "prolonged-sound-mark", "okina", "japanese"),
        *("fullwidth", "iteration-mark", "thai", "micro-sign", "greek", "delta-symbol"),
        *("beta-symbol", "emoji"),
    ],
)
def test_words_each_in_one_alphabet_are_a_team_as_written(
    scratch_project: ScratchProject, name: str
) -> None:
    # Two alphabets in two words is how such names are written; the Japanese mark `ー`
    # and the ʻokina are letters of every script. (A fullwidth letter is the same team
    # as its plain form only when every charter writes it so; here only one does.)
    scratch_project.charter("a", team=name, tags=[name])
    scratch_project.charter("b", team=name)
    assert scratch_project.errors() == []


@pytest.mark.parametrize(
    ("usual", "odd", "why"),
    [
        (
            "Squad B",
            "Squad \u0412",
            "its '\u0412' is a Cyrillic letter that looks like the Latin 'B'",
        ),
        (
            "AI Lab",
            "\u0391\u0399 Lab",
            "its '\u0391' is a Greek letter that looks like the Latin 'A'",
        ),
        (
            "Squad A",
            "Squad \u13aa",
            "its '\u13aa' is a Cherokee letter that looks like the Latin 'A'",
        ),
        ("v2 Ops", "\u03bd2 Ops", "its '\u03bd' is a Greek letter that looks like the Latin 'v'"),
        (
            "Ops A",
            "Ops \u15e9",
            "its '\u15e9' is a Canadian syllabics letter that looks like the Latin 'A'",
        ),
        ("Squad N", "Squad \u039d", "its '\u039d' is a Greek letter that looks like the Latin 'N'"),
    ],
    ids=[
        *("cyrillic-word", "greek-word", "cherokee-word", "greek-nu", "canadian-syllabics"),
        "greek-capital-nu",
    ],
)
def test_a_word_in_letters_that_copy_latin_ones_is_the_latin_spelling_written_otherwise(
    scratch_project: ScratchProject, usual: str, odd: str, why: str
) -> None:
    # Each word is in one alphabet, so no word mixes two; but `Squad В` reads as
    # `Squad B` on the Teams page, where it was listed as a second team.
    for cid in ("a", "b"):
        scratch_project.charter(cid, team=usual)
    text = scratch_project.charter("c", text=minimal_charter(team=odd))
    assert scratch_project.errors() == [
        f"charters/c/charter.yaml:{at(text, 'team: ', odd[0])}: team: team {odd!r} looks like"
        f" {usual!r}, the team of 2 charters (first: 'a'), but {why}; write it one way (a"
        " team written two ways is listed as two)"
    ]


@pytest.mark.parametrize(
    ("usual", "odd"),
    [("Команда роста", "команда роста"), ("Ομάδα", "ΟΜΆΔΑ"), ("Հայ", "հայ")],
    ids=["cyrillic", "greek", "armenian"],
)
def test_names_in_other_alphabets_that_differ_by_case_are_one_name_written_otherwise(
    scratch_project: ScratchProject, usual: str, odd: str
) -> None:
    # Folding look-alike letters before the case left `К` and `к` apart.
    for cid in ("a", "b"):
        scratch_project.charter(cid, team=usual)
    scratch_project.charter("c", team=odd)
    (error,) = scratch_project.errors()
    assert f"team {odd!r} looks like {usual!r}" in error
    assert "its case differs" in error


@pytest.mark.parametrize(("one", "other"), [("latency-µs", "latency-ms"), ("µLab", "mLab")])
def test_letters_alike_in_another_case_only_are_different_names(
    scratch_project: ScratchProject, one: str, other: str
) -> None:
    # Greek `Μ` looks like `M`, but `μ` (and the micro sign) does not look like `m`:
    # microseconds and milliseconds are two tags.
    scratch_project.charter("a", team="Data", tags=[one])
    scratch_project.charter("b", team="Data", tags=[other])
    assert scratch_project.errors() == []


def _team_errors(scratch_project: ScratchProject, teams: dict[str, str]) -> list[str]:
    """The errors of a tree of charters with these teams (by charter id); the files they
    are in are asserted by the caller, the errors shown when they differ."""
    for cid, team in teams.items():
        scratch_project.charter(cid, team=team)
    return scratch_project.errors()


def _files(errors: list[str]) -> list[str]:
    return [e.split(":", 1)[0] for e in errors]


def test_a_look_alike_is_blamed_and_never_ties_two_names_through_it(
    scratch_project: ScratchProject,
) -> None:
    # `ВОТ` (Cyrillic capitals) reads as `Bot`; `вот` reads as no Latin name, and is
    # `ВОТ` in another case. It was told it "looks like 'Bot'", through `ВОТ`.
    errors = _team_errors(scratch_project, {"a1": "Bot", "a2": "Bot", "a3": "ВОТ", "a4": "вот"})
    assert _files(errors) == ["charters/a3/charter.yaml", "charters/a4/charter.yaml"], errors
    assert "team 'ВОТ' looks like 'Bot', the team of 2 charters (first: 'a1')" in errors[0]
    assert (
        "team 'вот' looks like 'ВОТ', the team of charter 'a3', but its case differs" in (errors[1])
    )


def test_the_latin_spelling_is_kept_however_many_charters_use_the_look_alike(
    scratch_project: ScratchProject,
) -> None:
    errors = _team_errors(scratch_project, {"a1": "ΑΙ", "a2": "ΑΙ", "a3": "AI"})  # Greek, Latin
    assert _files(errors) == ["charters/a1/charter.yaml", "charters/a2/charter.yaml"], errors
    assert all("team 'ΑΙ' looks like 'AI', the team of charter 'a3'" in e for e in errors)


def test_a_bad_tag_ties_no_good_ones_together(scratch_project: ScratchProject) -> None:
    # `latency-Μs` (Greek capital mu) mixes alphabets; through it, `latency-µs` had been
    # told it looks like `latency-ms`.
    tags = (("a1", "latency-ms"), ("a2", "latency-ms"), ("a3", "latency-µs"))
    for cid, tag in (*tags, ("a4", "latency-\u039cs")):
        scratch_project.charter(cid, team="Data", tags=[tag])
    errors = scratch_project.errors()
    assert len(errors) == 1, errors
    assert errors[0].startswith("charters/a4/charter.yaml:")
    assert "mixes Greek and Latin letters in the word" in errors[0]
