"""``gauntlet validate``'s logic: which kind a file is, the one-line summaries, and the errors a
run would have refused with before it started."""

from __future__ import annotations

from pathlib import Path

import pytest

from gauntlet.contract import load_contract
from gauntlet.errors import ConfigError
from gauntlet.validate import detect_kind, validate_file

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("doc", "kind"), [
    ({"name": "x", "claims": {}}, "contract"),
    ({"name": "x", "extends": "base.toml"}, "contract"),
    ({"name": "x", "services": {}, "slo": {}}, "contract"),
    ({"name": "x", "load": {}}, "suite"),
    ({"name": "x", "contract": "c.toml", "experiments": []}, "suite"),
])
def test_the_kind_comes_from_the_keys(doc: dict[str, object], kind: str) -> None:
    assert detect_kind(doc, "", "f.toml") == kind


def test_a_schema_directive_decides_what_the_keys_cannot() -> None:
    doc = {"name": "x"}
    assert detect_kind(doc, "#:schema ./.gauntlet/suite.schema.json\n", "f") == "suite"
    assert detect_kind(doc, "#:schema ../contract.schema.json\n", "f") == "contract"
    with pytest.raises(ConfigError, match="cannot tell a contract from a suite"):
        detect_kind(doc, "", "f.toml")


def test_keys_of_both_kinds_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"keys of a contract \(claims\) and of a suite "
                                          r"\(load\)"):
        detect_kind({"name": "x", "claims": {}, "load": {}}, "", "f.toml")


def test_contract_summary_counts_claims_per_kind() -> None:
    result = validate_file(ROOT / "stack" / "contract.toml")
    contract = load_contract(ROOT / "stack" / "contract.toml")
    assert result.kind == "contract" and result.name == contract.name
    n = len(contract.claims.instances())
    assert result.summary.startswith(f"contract {contract.name}: {n} claims (breaker ")
    assert f"{len(contract.services)} services" in result.summary


def test_suite_summary_names_load_and_experiment_runs() -> None:
    result = validate_file(ROOT / "suites" / "resilience.toml")
    assert result.kind == "suite"
    assert "(contract reference-stack, local backend)" in result.summary
    assert "load closed 30 users for 30 s" in result.summary
    assert "experiment runs (breaker[upstream]" in result.summary


def test_an_unknown_experiment_is_found_without_running(tmp_path: Path) -> None:
    suite = tmp_path / "suite.toml"
    suite.write_text(f'name = "s"\ncontract = "{ROOT / "stack" / "contract.toml"}"\n'
                     '[[experiments]]\nname = "no-such-experiment"\n')
    with pytest.raises(ConfigError, match="no-such-experiment"):
        validate_file(suite)
    assert list(tmp_path.iterdir()) == [suite]


def test_a_remote_target_is_refused_as_a_run_would(tmp_path: Path) -> None:
    suite = tmp_path / "suite.toml"
    suite.write_text('name = "s"\n[stack]\nbackend = "external"\n'
                     'base_url = "http://192.0.2.1:8080"\n'
                     '[load]\nscenario = "declared"\nusers = 1\nduration_s = 1\n')
    with pytest.raises(ConfigError, match="not a loopback address"):
        validate_file(suite)


def test_not_toml_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text("name = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        validate_file(path)


def test_contract_findings_are_said_as_a_run_says_them() -> None:
    """A claim the contract's own numbers make unreachable is said by validate too, once per
    claim, exactly as the run would plan it."""
    from gauntlet.chaos.planning import plan_experiments
    from gauntlet.config import load_suite

    said = 0
    for path in sorted((ROOT / "suites" / "seeds").glob("*.toml")):
        planned = plan_experiments(load_suite(path))
        expected = tuple(dict.fromkeys(f"{f.claim}: {f.text}"
                                       for p in planned for f in p.findings))
        assert validate_file(path).findings == expected
        said += len(expected)
    assert said, "no seed suite has a contract finding: this test checks nothing"
