"""The observed claims through the judge stage: planned by no experiment, judged once over every
part of a run dir (the load's, each experiment's), each part's answers against its own log,
and re-derived the same from the run dir alone."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from gauntlet.chaos.planning import unverified
from gauntlet.contract import Contract, parse_contract
from gauntlet.errors import ConfigError
from gauntlet.observed import observed_verdicts, run_parts
from tests.unit.checks.factory import LIST, ask, frame

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "stack" / "contract.toml"


def contract(**claims: Any) -> Contract:
    data = tomllib.loads(REFERENCE.read_text())
    data["claims"] = {**data.get("claims", {}), **claims}
    return parse_contract(data, base_dir=REFERENCE.parent)


OBSERVED = {"header": [{"name": "request-id", "header": "x-request-id"}],
            "logs": [{"name": "json", "fields": ["level"], "request_id": "request_id"}]}


def write_part(where: Path, ids: list[str], *, logged: list[str], status: int = 200) -> None:
    where.mkdir(parents=True, exist_ok=True)
    rows = [ask(i * 0.01, status=status, name=LIST, headers={"x-request-id": rid})
            for i, rid in enumerate(ids)]
    frame(rows).to_parquet(where / "samples.parquet", index=False)
    (where / "logs").mkdir(exist_ok=True)
    (where / "logs" / "api.log").write_text("".join(
        json.dumps({"level": "info", "request_id": rid}) + "\n" for rid in logged))


def test_observed_claims_are_owed_no_experiment() -> None:
    owed = {v.claim for v in unverified(contract(**OBSERVED), [])}
    assert "header.request-id" not in owed and "logs.json" not in owed
    assert "breaker.upstream" in owed  # the rest still are


def test_judged_once_over_the_load_and_every_experiment(tmp_path: Path) -> None:
    ids = [f"id-{i}" for i in range(60)]
    write_part(tmp_path, ids[:30], logged=ids[:30])
    write_part(tmp_path / "experiments" / "01-breaker-upstream", ids[30:], logged=ids[30:50],
               status=503)
    assert run_parts(tmp_path) == [tmp_path, tmp_path / "experiments" / "01-breaker-upstream"]
    verdicts = {v.claim + " " + v.name: v for v in observed_verdicts(contract(**OBSERVED),
                                                                      tmp_path)}
    header = verdicts["header.request-id every answer carries x-request-id [request-id]"]
    assert header.passed and "over 60 answers (30 of them 4xx/5xx)" in header.reason
    ids_verdict = verdicts["logs.json every answer's x-request-id is in the log [json]"]
    assert ids_verdict.failed
    assert "10 of 60" in ids_verdict.reason
    assert "experiments/01-breaker-upstream" in ids_verdict.reason


def test_a_contract_without_observed_claims_reads_nothing(tmp_path: Path) -> None:
    assert observed_verdicts(contract(), tmp_path / "no-such-dir") == []
    assert observed_verdicts(None, tmp_path) == []


def test_a_logs_claim_naming_no_service_of_the_contract_is_refused() -> None:
    with pytest.raises(ConfigError, match="service 'worker' is not one of"):
        contract(logs=[{"name": "json", "service": "worker"}])

