"""The editor schemas: pydantic's schema of the models, less what is no TOML key, plus
``extends``; they accept every contract and suite of this repository (what an editor would
show a team editing them) and flag a misspelt key."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gauntlet.schema import contract_schema, suite_schema, write_schemas

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = sorted([ROOT / "stack" / "contract.toml", *(ROOT / "contracts").rglob("*.toml"),
                    *(ROOT / "tests" / "services").rglob("contract*.toml")])
SUITES = sorted((ROOT / "suites").rglob("*.toml"))


def _errors(schema: dict[str, Any], doc: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(doc)]


def _toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def test_the_schemas_are_valid_json_schema() -> None:
    for schema in (contract_schema(), suite_schema()):
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["$schema"].endswith("/2020-12/schema")


def test_what_is_no_toml_key_is_left_out() -> None:
    contract, suite = contract_schema(), suite_schema()
    assert "base_dir" not in contract["properties"]
    assert "base_dir" not in suite["properties"]
    assert "resolved_contract" not in suite["properties"]
    # the suite's resolved contract took the contract's definitions along; none is left
    assert "BreakerClaim" not in suite.get("$defs", {})
    assert "extends" in contract["properties"]


@pytest.mark.parametrize("path", CONTRACTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_contract_here_matches_the_schema(path: Path) -> None:
    assert _errors(contract_schema(), _toml(path)) == []


@pytest.mark.parametrize("path", SUITES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_suite_here_matches_the_schema(path: Path) -> None:
    assert _errors(suite_schema(), _toml(path)) == []


def test_a_misspelt_key_is_flagged() -> None:
    contract = {"name": "x", "claims": {"breaker": [{"name": "a", "open_sec": 3}]}}
    assert any("open_sec" in e for e in _errors(contract_schema(), contract))
    suite = {"name": "s", "laod": {}}
    assert any("laod" in e for e in _errors(suite_schema(), suite))


def test_an_extending_contract_restates_only_what_it_changes() -> None:
    doc = {"extends": "base.toml", "name": "x",
           "claims": {"breaker": [{"name": "upstream", "drop": True}],
                      "retries": [{"name": "db", "replace": True, "attempts": 3}]}}
    assert _errors(contract_schema(), doc) == []
    assert CONTRACTS  # the repository's own extending contracts are among those above


def test_write_schemas(tmp_path: Path) -> None:
    paths = write_schemas(tmp_path / "out")
    assert [p.name for p in paths] == ["contract.schema.json", "suite.schema.json"]
    assert json.loads(paths[0].read_text()) == contract_schema()
