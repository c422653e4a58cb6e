"""The field reference in docs/ is generated from the model and must be current."""

from pathlib import Path

from generator import model as m
from generator.reference import SECTIONS, reference_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_reference_file_is_current() -> None:
    on_disk = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    assert on_disk == reference_markdown(), "run: python -m generator.reference > docs/reference.md"


def test_every_model_block_is_documented() -> None:
    documented = {cls for _, cls in SECTIONS}
    # Bases are not blocks of their own: their fields are documented with each block.
    bases = {m.Model, m.Metric}
    blocks = {
        obj
        for obj in vars(m).values()
        if isinstance(obj, type) and issubclass(obj, m.Model) and obj not in bases
    }
    assert blocks <= documented, sorted(b.__name__ for b in blocks - documented)


def test_reference_names_every_field_with_its_type() -> None:
    text = reference_markdown()
    assert "| `direction` | `increase` \\| `decrease` | yes |" in text
    assert "| `drives` | list of metric id | yes |" in text
    assert "| `value` | number | yes |" in text


def test_a_default_the_words_do_not_give_is_shown() -> None:
    # `pull[].timeout` said nothing of its 300 seconds, which only docs/pull.md gave.
    text = reference_markdown()
    assert "Seconds a query may run before it is cancelled (at most a day). Default: `300`." in text
    assert "Site title. Default: `ML Metric Charters`. |" in text  # not also as an example
    assert "default results/*. Example" in text  # said in words: not twice
