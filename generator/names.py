"""Load stage: each team and tag written one way across the charters.

The portfolio lists a team (and offers a tag in its filter) by the name as written,
so `Growth Analytics` in one charter and `growth analytics`, `Growth  Analytics` or
`Growth Analytics` with a zero-width space in another made two teams, two pages and
two filter entries, the last two looking the same. `check_names` reports every name
that looks like another charter's but is written otherwise (`looks`), at the charter
that strays from the spelling most charters use; every name written with letters that
look like Latin ones that reads as another's in Latin letters (`Squad В` with a
Cyrillic 'В', `latin_twin`), at the look-alike; and every name with a word whose
letters mix alphabets the way look-alikes do (`Grоwth` with a Cyrillic 'о',
`mixed_word`). A result row's variant keeps the same rules (results.py).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from .diagnostics import Diagnostics, excerpt, unseen
from .readers import FieldPath

if TYPE_CHECKING:
    from .load import LoadedCharter

# Letters of the alphabets that copy Latin's, by the Latin letter they look like: a
# word written in them reads as a Latin word (`Squad В` with a Cyrillic 'В' as
# `Squad B`, `ΑΙ Lab` in Greek as `AI Lab`). Unicode's confusables (UTS #39) for
# Cyrillic, Greek, Armenian, Cherokee, Lisu and Canadian syllabics, where the two are
# alike in common fonts.
LOOKS_LATIN: dict[str, str] = dict(
    zip(
        "АВЕЅІЈКМНОРСТХУҮѴӀԚԜҺԌаеіјорсхуѕԁԛԝһӏүѵѡ"  # Cyrillic
        "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧϹϜͿοναικρυχϲϳ"  # Greek
        "ՕՍՏԼօսհոզ"  # Armenian
        "ᎪᏴᏟᎬᏀᎻᏗᏦᏞᎷᏢᏚᎢᏙᏔᏃᎠᎡᏒ"  # Cherokee
        "ⲀⲂⲈⲌⲎⲒⲔⲘⲚⲞⲢⲤⲦⲨⲬⲁⲟⲣⲥⲭ"  # Coptic
        "ꓮꓐꓚꓓꓰꓝꓖꓧꓲꓙꓗꓡꓟꓠꓑꓣꓢꓔꓴꓦꓪꓫꓬꓜ"  # Lisu
        "ᗩᗷᑕᗪᕮᖴᕼᒍᒪᗰᑎᑭᖇᔕᑌᐯᗯᘔ",  # Canadian syllabics
        "ABESIJKMHOPCTXYYVIQWHGaeijopcxysdqwhlyvw"
        "ABEZHIKMNOPTYXCFJovaikpuxcj"
        "OUSLouhnq"
        "ABCEGHJKLMPSTVWZDRR"
        "ABEZHIKMNOPCTYXaopcx"
        "ABCDEFGHIJKLMNPRSTUVWXYZ"
        "ABCDEFHJLMNPRSUVWZ",
        strict=True,
    )
)
_AS_LATIN = str.maketrans(LOOKS_LATIN)


@lru_cache(maxsize=4096)  # a team is named by many charters, a tag by more
def looks(name: str) -> str:
    """What `name` looks like on a page, as a key: compatibility characters as their
    plain forms, invisible characters and selectors left out, any run of spaces one
    space, no case."""
    if name.isascii():  # its controls but tabs and line breaks are refused (model.Text)
        return " ".join(name.split()).casefold()
    plain = unicodedata.normalize("NFKC", name)
    shown = "".join(ch for ch in plain if not unseen(ch))
    return " ".join(shown.split()).casefold()


@lru_cache(maxsize=4096)
def reads_as(name: str) -> str:
    """`looks(name)` with each letter that looks like a Latin one taken as that letter,
    in the case it is written: `Squad В` (Cyrillic) reads as `Squad B`. Not after case
    is dropped, as a letter can look like a Latin one in one case only (Greek `Μ` and
    `M`, but not `μ` and `m`)."""
    if name.isascii():
        return looks(name)
    plain = unicodedata.normalize("NFKC", name)
    shown = "".join(ch for ch in plain if not unseen(ch)).translate(_AS_LATIN)
    return " ".join(shown.split()).casefold()


def latin_twin(name: str, latin: Mapping[str, Sequence[str]]) -> str | None:
    """The name in Latin letters that `name`, written with letters that look like Latin
    ones, reads as: the first of `latin` (names holding no such letter, by `reads_as`)
    that does not merely look like it (`looks`: case, spaces, invisible characters,
    which the spelling rules say); else None. Only such a pair is alike this way: a
    name is never tied to another through a third."""
    if not copies_latin(name):
        return None
    shown = looks(name)
    return next((twin for twin in latin.get(reads_as(name), ()) if looks(twin) != shown), None)


def by_reading(names: Iterable[str]) -> dict[str, list[str]]:
    """The names that hold no letter looking like a Latin one, by `reads_as`, in order."""
    found: dict[str, list[str]] = {}
    for name in names:
        if not copies_latin(name):
            found.setdefault(reads_as(name), []).append(name)
    return found


def copies_latin(text: str) -> bool:
    """Whether `text` holds a letter that looks like a Latin one (`LOOKS_LATIN`)."""
    return not text.isascii() and any(ch in LOOKS_LATIN for ch in text)


def how_it_differs(name: str, usual: str) -> str:
    """In words, why `name` is not written as `usual`, which looks like it."""
    for one, other, verb in ((name, usual, "holds"), (usual, name, "lacks")):
        for ch in one:
            hidden = unicodedata.category(ch) == "Zs" or unseen(ch)
            if ch != " " and hidden and ch not in other:
                return f"it {verb} the invisible character U+{ord(ch):04X}"
    for one, other in ((name, usual), (usual, name)):
        # A letter the other lacks in any case: not only case, a look-alike.
        others = unicodedata.normalize("NFKC", other).casefold()
        for ch in unicodedata.normalize("NFKC", one):
            latin = LOOKS_LATIN.get(ch)
            if latin is not None and ch.casefold() not in others:
                whose = "its" if one is name else "the other's"
                script = _named(_script(ch))
                article = "an" if script[0] in "AEIOU" else "a"
                return (
                    f"{whose} {ch!r} is {article} {script} letter that looks like the Latin"
                    f" {latin!r}"
                )
    composed = [unicodedata.normalize("NFC", text) for text in (name, usual)]
    if composed != [name, usual] and looks(composed[0]) == looks(composed[1]):
        # The same letters, an accent written apart in one (NFD, as macOS names files).
        return "one of them writes an accent as a separate character (NFD), the other not"
    if any(unicodedata.normalize("NFKC", text) != text for text in (name, usual)):
        return "one of them is written in compatibility characters (fullwidth letters, ligatures)"
    # Left: case and runs of plain spaces (the words are the same but for case).
    case = name.split() != usual.split()
    spaces = name.casefold() != usual.casefold()
    if case and spaces:
        return "its case and spaces differ"
    return "its spaces differ" if spaces else "its case differs"


# The alphabets whose letters copy Latin ones (Cyrillic 'а' 'с' 'о', Greek 'Α' 'ο',
# Armenian 'օ' 'ս', Cherokee 'Ꭺ', Coptic, Lisu, Canadian syllabics 'ᑕ'): one of them
# beside Latin letters in one word, or two of them, make a name that reads as another
# when a letter of theirs looks like a Latin one. Any other alphabet beside Latin in
# one word is how names are written where words are not spaced (`佐々木AIラボ`,
# `ทีมAI`): UTS #39's "moderately restrictive" profile, with Armenian, Cherokee,
# Coptic, Lisu and Canadian syllabics counted as it counts Cyrillic and Greek.
_COPIES_LATIN = frozenset(
    {"CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE", "COPTIC", "LISU", "CANADIAN"}
)


def _named(script: str) -> str:
    """A script as a message names it: `CYRILLIC` is Cyrillic."""
    return "Canadian syllabics" if script == "CANADIAN" else script.capitalize()


def _script(ch: str) -> str:
    """The alphabet a letter's name starts with (`FULLWIDTH LATIN …` is Latin); the
    letters of every script (`々`, `ー`, modifier letters) name none of these."""
    name = unicodedata.name(ch, "").removeprefix("FULLWIDTH ").removeprefix("HALFWIDTH ")
    return name.partition(" ")[0]


@lru_cache(maxsize=4096)  # per row of every result file, per team and tag of every charter
def look_alike_scripts(text: str) -> tuple[str, ...]:
    """The alphabets of the letters of `text`, capitalised, when they mix the way
    look-alikes do (a Cyrillic 'с', an Armenian 'օ' among Latin letters; two alphabets
    that copy Latin's); else ()."""
    found = {_script(ch) for ch in text if ch.isalpha()}
    copies = found & _COPIES_LATIN
    if copies and ("LATIN" in found or len(copies) > 1):
        return tuple(_named(script) for script in sorted(copies | (found & {"LATIN"})))
    return ()


# A word: a run of letters. Words in two alphabets side by side ("ML Команда",
# "ML-Команда") are a name as written; one word in two alphabets is a look-alike.
_WORD = re.compile(r"[^\W\d_]+")
# Inside a word, what splits no word for a reader: invisible characters (a zero-width
# joiner, a soft hyphen, a variation selector, an unassigned code point) and the marks
# on letters (Thai's vowels).
_IN_WORD = frozenset({"Cf", "Cn", "Mn", "Me"})


def mixed_word(name: str) -> tuple[str, tuple[str, ...]] | None:
    """The first word of `name` whose letters mix alphabets as look-alikes do, one of
    them a letter that looks like a Latin one (marks and invisible characters left out;
    a Greek symbol beside Latin letters, `ΔNPS`, `βVAE`, is none), with its alphabets;
    else None."""
    if name.isascii():
        return None
    letters = "".join(ch for ch in name if unicodedata.category(ch) not in _IN_WORD)
    for word in _WORD.findall(letters):
        scripts = look_alike_scripts(word)
        if scripts and copies_latin(word):
            return word, scripts
    return None


def _written(charters: Sequence[LoadedCharter]) -> Iterator[tuple[str, FieldPath, str, int]]:
    """Every team and tag: (what, where in its charter, the name, the charter's index)."""
    for index, loaded in enumerate(charters):
        if loaded.outline.team:
            yield "team", ("team",), loaded.outline.team, index
        for i, tag in enumerate(loaded.outline.tags):
            yield "tag", ("tags", i), tag, index


def check_names(charters: Sequence[LoadedCharter], diags: Diagnostics) -> None:
    """Report each team or tag that looks like one written otherwise by more charters
    (ties: by the first charter, in the order of `charters`), located at the name."""
    spellings: dict[tuple[str, str], dict[str, list[int]]] = {}
    places: list[tuple[str, FieldPath, str, int]] = list(_written(charters))
    for what, _, name, index in places:
        users = spellings.setdefault((what, looks(name)), {}).setdefault(name, [])
        if not users or users[-1] != index:
            users.append(index)
    latin = {
        what: by_reading(name for kind, _, name, _ in places if kind == what)
        for what in ("team", "tag")
    }
    for what, where, name, index in places:
        mixed = mixed_word(name)
        if mixed is not None:
            word, scripts = mixed
            message = (
                f"{what} {excerpt(name)} mixes {' and '.join(scripts)} letters in the word"
                f" {excerpt(word)}; write each word in one alphabet (a look-alike letter, such"
                f" as a Cyrillic 'о' in 'Growth', makes a {what} that reads as another and is"
                f" listed apart)"
            )
            diags.add(charters[index].doc.at(where, message, "mixed-script"))
            continue
        twin = latin_twin(name, latin[what])
        written = spellings[(what, looks(name))]
        if twin is not None:  # the look-alike is blamed, however many charters use it
            usual, written = twin, spellings[(what, looks(twin))]
        elif len(written) == 1:
            continue
        else:
            usual = max(written, key=lambda one: (len(written[one]), -written[one][0]))
        if name == usual:
            continue
        count = len(written[usual])
        first = charters[written[usual][0]].id
        by = f"charter {first!r}" if count == 1 else f"{count} charters (first: {first!r})"
        message = (
            f"{what} {excerpt(name)} looks like {excerpt(usual)}, the {what} of {by}, but"
            f" {how_it_differs(name, usual)}; write it one way (a {what} written two ways"
            f" is listed as two)"
        )
        diags.add(charters[index].doc.at(where, message, f"inconsistent-{what}"))
