"""The JSON Schema of charter.yaml: generated from the model, shipped, and right about examples."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from helpers import REPO_ROOT, minimal_charter
from jsonschema import Draft202012Validator

from generator import schemas
from generator.cli import main


class Yaml12Loader(yaml.SafeLoader):
    """YAML as editors read it (1.2): only true/false are booleans, so `on:` is a key."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load(text: str) -> Any:
    """YAML as JSON data: dates become the ISO strings the schema expects."""
    return _iso(yaml.load(text, Loader=Yaml12Loader))  # a SafeLoader subclass


def _iso(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _iso(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_iso(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def validator(kind: schemas.SchemaKind = "charter") -> Draft202012Validator:
    schema = schemas.generate(kind)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def messages(data: Any, kind: schemas.SchemaKind = "charter") -> list[str]:
    return sorted(e.message for e in validator(kind).iter_errors(data))


EXAMPLES = sorted((REPO_ROOT / "charters").glob("*/charter.yaml"))


def test_the_schema_is_draft_2020_12_with_an_id_and_title() -> None:
    schema = schemas.generate()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].startswith("urn:metric-charters:")
    assert schema["title"]
    assert list(schema)[:2] == ["$schema", "$id"]
    Draft202012Validator.check_schema(schema)
    Draft202012Validator.check_schema(schemas.generate("result-row"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.parent.name)
def test_every_example_charter_is_valid(path: Path) -> None:
    assert messages(load(path.read_text(encoding="utf-8"))) == []


def test_the_example_catalogue_is_valid_and_a_ref_needs_no_definition() -> None:
    catalogue = load((REPO_ROOT / "metrics.yaml").read_text(encoding="utf-8"))
    assert messages(catalogue, "metrics") == []
    assert messages([{"id": "x", "name": "X"}], "metrics") == [
        "'definition' is a required property",
        "'direction' is a required property",
        "'unit' is a required property",
    ]
    # A charter's business metric: either `ref`, or id, name, definition, unit, direction.
    charter = load((REPO_ROOT / "charters/search-ranking/charter.yaml").read_text("utf-8"))
    assert "ref" in charter["business_metrics"][0] and messages(charter) == []
    charter["business_metrics"][0].pop("ref")
    assert len(messages(charter)) == 1
    assert "is not valid under any of the given schemas" in messages(charter)[0]


def test_every_example_result_row_is_valid() -> None:
    files = [
        p
        for p in sorted((REPO_ROOT / "charters").glob("*/results/*"))
        if p.suffix in (".json", ".yaml", ".yml")
    ]
    assert files
    for path in files:
        for row in load(path.read_text(encoding="utf-8")):
            assert messages(row, "result-row") == [], path


def test_the_minimal_charter_and_the_starter_of_new_are_valid() -> None:
    from generator.scaffold import starter

    assert messages(load(minimal_charter())) == []
    assert messages(load(starter("pricing"))) == []


def test_an_unknown_key_is_rejected_at_every_level() -> None:
    data = load(minimal_charter())
    top = {**data, "tittle": "typo"}
    assert messages(top) == ["'tittle' does not match any of the regexes: '^x-'"]
    nested = copy.deepcopy(data)
    nested["business_metrics"][0]["target"]["valeu"] = 1
    assert len(messages(nested)) == 1
    assert messages({"date": "2026-01-01", "metric": "x", "value": 1, "vlaue": 2}, "result-row")


def test_extension_keys_are_allowed_everywhere() -> None:
    data = load(minimal_charter())
    data["x-team-code"] = "SUP-1"
    data["owner"]["x-slack"] = "@ana"
    data["business_metrics"][0]["x-dashboard"] = {"url": "https://example.com"}
    assert messages(data) == []


def test_every_object_forbids_unknown_keys_but_x_keys() -> None:
    for kind in ("charter", "result-row", "site"):
        for node in _objects(schemas.generate(kind)):
            assert node["additionalProperties"] is False
            if "properties" in node:
                assert node["patternProperties"] == {"^x-": {}}
            else:  # a map (pull params, MLflow metrics): keys must match its pattern
                assert len(node["patternProperties"]) == 1


def _objects(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if node.get("type") == "object":
            yield node
        for key, value in node.items():
            if key != "examples":
                yield from _objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from _objects(item)


def test_wrong_values_are_rejected() -> None:
    data = load(minimal_charter())
    data["status"] = "done"
    data["business_metrics"][0]["id"] = "Time"
    data["business_metrics"][0]["baseline"]["as_of"] = "2026-02-30"
    data["business_metrics"][0]["direction"] = "up"
    assert len(messages(data)) == 4
    bad = {"date": "2026-01-01", "metric": "ttfr", "value": "six", "n": 0, "std": -1}
    assert len(messages(bad, "result-row")) == 3


def test_dates_are_strings_with_the_date_format() -> None:
    schema = schemas.generate()
    decision = schema["$defs"]["Decision"]["properties"]["date"]
    assert (decision["type"], decision["format"]) == ("string", "date")
    row = schemas.generate("result-row")["properties"]["date"]
    assert (row["type"], row["format"]) == ("string", "date")


def test_agreed_by_accepts_one_name_or_a_list() -> None:
    data = load(minimal_charter())
    data["business_metrics"][0]["agreed"] = {"by": "Head of Support", "on": "2026-02-15"}
    assert messages(data) == []
    data["business_metrics"][0]["agreed"]["by"] = ["Head of Support", "CFO"]
    assert messages(data) == []


def test_every_field_has_a_description_and_an_example_that_fits() -> None:
    for kind in ("charter", "result-row", "site"):
        schema = schemas.generate(kind)
        defs = schema.get("$defs", {})
        for owner, node in [("root", schema), *defs.items()]:
            for name, prop in node.get("properties", {}).items():
                where = f"{kind} {owner}.{name}"
                assert prop.get("description"), f"{where} has no description"
                assert prop.get("examples"), f"{where} has no example"
                check = Draft202012Validator(
                    {**prop, "$defs": defs}, format_checker=Draft202012Validator.FORMAT_CHECKER
                )
                for example in prop["examples"]:
                    errors = [e.message for e in check.iter_errors(example)]
                    assert errors == [], f"{where}: example {example!r}: {errors}"


@pytest.mark.parametrize("kind", ["charter", "result-row", "metrics", "site"])
def test_the_shipped_schema_is_current(kind: schemas.SchemaKind) -> None:
    flag = "" if kind == "charter" else f" --{kind}"
    refresh = f"charters schema{flag} --out"
    assert schemas.shipped(kind) == schemas.schema_text(kind), (
        f"run: {refresh} generator/schema/{schemas.FILES[kind]}"
    )


def test_the_command_prints_the_schema() -> None:
    runner = CliRunner()
    charter = runner.invoke(main, ["schema"])
    assert charter.exit_code == 0
    assert json.loads(charter.stdout) == schemas.generate("charter")
    row = runner.invoke(main, ["schema", "--result-row"])
    assert row.exit_code == 0
    assert json.loads(row.stdout)["title"] == schemas.TITLES["result-row"]


def test_the_command_writes_the_schema(tmp_path: Path) -> None:
    out = tmp_path / "charter.schema.json"
    result = CliRunner().invoke(main, ["schema", "--out", str(out)])
    assert result.exit_code == 0
    assert out.read_text(encoding="utf-8") == schemas.schema_text("charter")
    missing = CliRunner().invoke(main, ["schema", "--out", str(tmp_path / "no" / "x.json")])
    assert missing.exit_code == 1
    assert "cannot write" in missing.stderr


def test_the_example_site_yaml_is_valid_and_a_typo_or_wrong_value_is_not() -> None:
    site = load((REPO_ROOT / "site.yaml").read_text(encoding="utf-8"))
    assert messages(site, "site") == []
    assert messages({}, "site") == []  # every setting is optional
    assert messages({"titel": "x"}, "site") == ["'titel' does not match any of the regexes: '^x-'"]
    wrong = {"connections": {"Warehouse": {"url": "${W}"}}, "lint": {"disable": "MC101"}}
    assert len(messages(wrong, "site")) == 2


def test_the_command_prints_the_site_schema_and_refuses_two_kinds() -> None:
    runner = CliRunner()
    site = runner.invoke(main, ["schema", "--site"])
    assert site.exit_code == 0
    assert json.loads(site.stdout) == schemas.generate("site")
    both = runner.invoke(main, ["schema", "--site", "--metrics"])
    assert both.exit_code == 2
    assert "--metrics and --site name two schemas; give one of them" in both.stderr
